"""Where the shipped workflow is, and the ``snakemake`` command that runs it.

What ``scclast workflow path|init|run`` needs: the folder holding the ``Snakefile``
(``workflows/`` in a source checkout, ``scclast/workflows`` inside an installed wheel),
its profiles and config templates, and one ``python -m snakemake`` command line.

Examples
--------
>>> snakefile().name
'Snakefile'
>>> (workflow_dir() / "schemas" / "config.schema.yaml").is_file()
True
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from scclast._errors import ScclastInputError

WORKFLOW_EXTRA = 'pip install "scclast[workflow]"'
"""What installs snakemake and the SLURM executor plugin together with scclast."""


def workflow_dir() -> Path:
    """Folder of the Snakemake workflow (the one holding ``Snakefile``).

    An installed wheel carries the workflow as ``scclast/workflows``; a source checkout
    (editable install) uses the repository's ``workflows/`` folder.

    Examples
    --------
    >>> (workflow_dir() / "config" / "config.yaml").is_file()
    True
    """
    packaged = resources.files("scclast") / "workflows"
    if packaged.is_dir() and (packaged / "Snakefile").is_file():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[2] / "workflows"
    if (source_tree / "Snakefile").is_file():
        return source_tree
    raise FileNotFoundError(
        "scclast's Snakemake workflow is missing from this installation; reinstall scclast"
    )


def snakefile() -> Path:
    """Path of the workflow's ``Snakefile``.

    Examples
    --------
    >>> snakefile().parent == workflow_dir()
    True
    """
    return workflow_dir() / "Snakefile"


def profile_dir(name: str) -> Path:
    """Folder of a profile shipped with the workflow (e.g. ``"slurm"``), or ``name`` itself.

    A name that is an existing folder is returned as it is, so users can pass their own
    profile.

    Raises
    ------
    ScclastInputError
        ``name`` is neither a folder nor a shipped profile (the message lists those).

    Examples
    --------
    >>> profile_dir("slurm").name
    'slurm'
    >>> profile_dir("pbs")
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: unknown profile 'pbs': use a profile folder or one of slurm
    """
    own = Path(name).expanduser()
    if own.is_dir():
        return own
    shipped = workflow_dir() / "profiles" / name
    if shipped.is_dir():
        return shipped
    known = sorted(p.name for p in (workflow_dir() / "profiles").iterdir() if p.is_dir())
    raise ScclastInputError(
        f"unknown profile {name!r}: use a profile folder or one of {', '.join(known)}"
    )


def init_config(directory: str | Path, *, example: bool = False, force: bool = False) -> Path:
    """Copy the documented config template into ``directory`` as ``config.yaml``.

    Parameters
    ----------
    directory
        Folder to write into (created if missing).
    example
        Copy the runnable example config (bundled data, offline) instead of the template.
    force
        Overwrite an existing ``config.yaml``.

    Raises
    ------
    ScclastInputError
        ``config.yaml`` exists there and ``force`` is not set.

    Examples
    --------
    >>> import tempfile
    >>> path = init_config(tempfile.mkdtemp(), example=True)
    >>> "example" in path.read_text()
    True
    """
    target = Path(directory) / "config.yaml"
    if target.exists() and not force:
        raise ScclastInputError(f"{target} exists: edit it, or pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = workflow_dir() / "config" / ("example.yaml" if example else "config.yaml")
    shutil.copyfile(source, target)
    return target


def require_snakemake() -> None:
    """Fail in one line, naming the extra to install, when snakemake is not importable.

    ``scclast workflow run`` calls it before building the command, so a missing
    snakemake is a user error (exit status 2), not a traceback from a subprocess.

    Examples
    --------
    >>> require_snakemake()  # snakemake is installed here (the test extra has it)
    """
    if importlib.util.find_spec("snakemake") is None:
        raise ScclastInputError(
            f"snakemake is not installed in this Python ({sys.executable}): "
            f"install the workflow extra with {WORKFLOW_EXTRA}"
        )


def snakemake_command(
    *,
    configfile: str | Path | None = None,
    cores: int | str | None = None,
    directory: str | Path | None = None,
    profile: str | None = None,
    dry_run: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``snakemake`` command line that runs the shipped workflow.

    Snakemake runs under the current Python (``python -m snakemake``), so the workflow's
    jobs import this scclast. Without a profile, ``cores`` defaults to ``"all"``; with
    one, the profile decides unless ``cores`` is given.

    Examples
    --------
    >>> cmd = snakemake_command(configfile="config.yaml", cores=2, dry_run=True)
    >>> cmd[1:3], cmd[-1]
    (['-m', 'snakemake'], '-n')
    """
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile())]
    if profile is not None:
        cmd += ["--profile", str(profile_dir(profile))]
    elif cores is None:
        cores = "all"
    if cores is not None:
        cmd += ["--cores", str(cores)]
    if configfile is not None:
        cmd += ["--configfile", str(Path(configfile).resolve())]
    if directory is not None:
        cmd += ["--directory", str(directory)]
    cmd += list(extra)
    if dry_run:
        cmd.append("-n")
    return cmd
