"""``scclast workflow``: find, configure and run the shipped Snakemake workflow.

The workflow glue (:mod:`scclast._workflow`) imports the whole pipeline, so it is
imported when a ``workflow`` command runs, not when the parser is built: every
``scclast`` call (``--help`` included) builds the parser.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

WORKFLOW_EXTRA = 'pip install "scclast[workflow]"'
"""What installs snakemake with scclast (the same text as
:data:`scclast._workflow.WORKFLOW_EXTRA`; a test checks they agree)."""


def _workflow() -> ModuleType:
    return importlib.import_module("scclast._workflow")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``scclast workflow {path,init,run}``."""
    parser = subparsers.add_parser(
        "workflow",
        help="the Snakemake workflow across datasets: where it is, a config, a run",
        description="The Snakemake workflow that runs every input through fetch, prepare, "
        "score, flag and report, then writes a cross-dataset summary. `run` calls "
        "snakemake with the shipped Snakefile; anything after `--` goes to snakemake.",
    )
    commands = parser.add_subparsers(dest="workflow_command", metavar="SUBCOMMAND")
    commands.required = True

    path = commands.add_parser("path", help="print the folder holding the Snakefile")
    path.add_argument("--snakefile", action="store_true", help="print the Snakefile's path instead")
    path.set_defaults(func=_path)

    init = commands.add_parser("init", help="write a config.yaml to edit into a folder")
    init.add_argument("directory", type=Path, nargs="?", default=Path("."))
    init.add_argument(
        "--example",
        action="store_true",
        help="the runnable example config (bundled data, offline) instead of the template",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing config.yaml")
    init.set_defaults(func=_init)

    run = commands.add_parser(
        "run",
        help="run the workflow with snakemake",
        description="Run the shipped workflow with `python -m snakemake` under this Python "
        f"(needs snakemake: {WORKFLOW_EXTRA}). Anything after `--` goes to "
        "snakemake.",
    )
    run.add_argument("--configfile", type=Path, required=True, help="the workflow config")
    run.add_argument("--cores", default=None, help="cores to use (default: all, or the profile's)")
    run.add_argument("--directory", type=Path, help="working directory (results go below it)")
    run.add_argument(
        "--profile", help="a snakemake profile folder, or a shipped one by name: slurm"
    )
    run.add_argument("-n", "--dry-run", action="store_true", help="show the jobs, run nothing")
    run.add_argument(
        "snakemake_args",
        nargs=argparse.REMAINDER,
        help="further snakemake options, after `--`",
    )
    run.set_defaults(func=_run)


def _path(args: argparse.Namespace) -> int:
    workflow = _workflow()
    print(workflow.snakefile() if args.snakefile else workflow.workflow_dir())
    return 0


def _init(args: argparse.Namespace) -> int:
    target = _workflow().init_config(args.directory, example=args.example, force=args.force)
    print(f"wrote {target}; edit it, then run:")
    print(f"  scclast workflow run --configfile {shlex.quote(str(target))} --cores 2")
    return 0


def _run(args: argparse.Namespace) -> int:
    workflow = _workflow()
    workflow.require_snakemake()
    extra = list(args.snakemake_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    cmd = workflow.snakemake_command(
        configfile=args.configfile,
        cores=args.cores,
        directory=args.directory,
        profile=args.profile,
        dry_run=args.dry_run,
        extra=extra,
    )
    print("scclast: running " + shlex.join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=False).returncode
