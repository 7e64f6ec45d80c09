"""``scclast run``: one h5ad file to flagged populations, figures and a report.

A thin layer over :func:`scclast.run`: it parses the options, keeps the
progress display in line with ``--quiet``/``--verbose`` and turns SIGTERM into a clean
stop (the temporary output folder is removed, no half-written OUTDIR is left).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from scclast._run_options import OPTIONS
from scclast._types import SCORE_METHODS, SPECIES

_EPILOG = """\
examples:
  scclast run --example -o scclast_out
  scclast run cells.h5ad -o results --groupby cell_type --species mouse
  scclast run cells.h5ad -o results --groupby cell_type --sample-key mouse
  scclast run big.h5ad -o results --groupby leiden --backed
  scclast run --dataset bone_marrow_baccin2020 -o bm_results
  scclast run pbmc_processed.h5ad -o results --groupby louvain --use-raw
  scclast run big.h5ad -o results --groupby cell_type --no-embedding

OUTDIR receives groups.tsv, scores.tsv.gz, annotated.h5ad, figures/ (PNG and PDF),
report.html and run.json. It is written to a temporary folder next to it and moved
into place only when complete; an existing OUTDIR is replaced only with --force.
Exit status: 0 success (also when no population is flagged), 2 bad input, 1 internal
error. -q/--quiet and -v/--verbose work before or after `run`.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``scclast run``."""
    parser = subparsers.add_parser(
        "run",
        help="one h5ad file to flagged populations, figures and an HTML report",
        description=(
            "Score every cell for the clastokine catalogue, call osteoclast-lineage states\n"
            "and flag candidate secretory populations; write the table, per-cell scores,\n"
            "the annotated data, figures and a self-contained HTML report to OUTDIR."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", nargs="?", type=Path, metavar="INPUT.h5ad", help="AnnData file (not modified)"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset", metavar="KEY", help="a registry dataset instead of INPUT (fetched, cached)"
    )
    source.add_argument(
        "--example", action="store_true", help="the bundled synthetic example (offline)"
    )
    parser.add_argument(
        "-o", "--outdir", type=Path, required=True, metavar="OUTDIR", help="output folder"
    )
    parser.add_argument(
        "--groupby",
        metavar="COLUMN",
        help="obs column of clusters or cell types (default: Leiden clusters are built)",
    )
    parser.add_argument(
        "--sample-key",
        metavar="COLUMN",
        help="obs column of the biological replicate (animal, donor): groups are tested "
        "per sample, not per cell (without it flags are exploratory; --example: sample)",
    )
    parser.add_argument(
        "--species",
        choices=SPECIES,
        default="auto",
        help="species of the gene symbols (default: told from their letter case)",
    )
    parser.add_argument(
        "--method", choices=SCORE_METHODS, default="seurat", help="per-cell score (default: seurat)"
    )
    parser.add_argument(
        "--gene-sets",
        nargs="+",
        metavar="NAME|FILE.gmt",
        help="gene sets that can flag a group (default: clastokines_secreted "
        "clastokines_putative); see `scclast genesets list`",
    )
    parser.add_argument(
        "--osteomorph-signature",
        type=Path,
        metavar="FILE",
        help="osteomorph genes (McDonald et al. 2021): enables osteomorph calls",
    )
    parser.add_argument(
        "--fdr", type=_fraction, default=0.05, help="FDR level of a flag (default 0.05)"
    )
    parser.add_argument("--seed", type=_seed, default=0, help="seed of every random step")
    parser.add_argument(
        "--backed",
        action="store_true",
        help="score from disk in row chunks (large files; bounded memory)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing scclast OUTDIR")
    matrix = parser.add_mutually_exclusive_group()
    matrix.add_argument(
        "--use-raw",
        action="store_true",
        help="analyse adata.raw (e.g. scanpy files whose X is scaled)",
    )
    matrix.add_argument("--layer", metavar="LAYER", help="analyse adata.layers[LAYER] instead of X")
    parser.add_argument(
        "--no-embedding",
        dest="embedding",
        action="store_false",
        help="compute no UMAP (a stored one is still used); the embedding figure says so",
    )
    _add_section_options(parser)
    # Also accepted after `run`; SUPPRESS keeps the top-level value when absent here.
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # imported when the command runs, so `scclast --help` does not load scanpy and numba
    from scclast import _pipeline as pipeline

    quiet = bool(getattr(args, "quiet", False))
    with _progress_display(enabled=not quiet), _terminate_cleanly():
        pipeline.run(
            args.input,
            args.outdir,
            dataset=args.dataset,
            example=args.example,
            groupby=args.groupby,
            sample_key=args.sample_key,
            species=args.species,
            method=args.method,
            gene_sets=args.gene_sets,
            osteomorph_signature=args.osteomorph_signature,
            fdr=args.fdr,
            seed=args.seed,
            backed=args.backed,
            force=args.force,
            use_raw=args.use_raw,
            layer=args.layer,
            embedding=args.embedding,
            **_section_options(args),
        )
    return 0


def _add_section_options(parser: argparse.ArgumentParser) -> None:
    """One flag per option of the run's further analyses (scclast._run_options)."""
    for section in dict.fromkeys(option.section for option in OPTIONS):
        group = parser.add_argument_group(f"{section} options")
        for option in (o for o in OPTIONS if o.section == section):
            if option.is_switch:
                group.add_argument(option.flag, dest=option.name, action="store_true",
                                   help=option.help)  # fmt: skip
                continue
            group.add_argument(
                option.flag,
                dest=option.name,
                type=option.type,
                default=option.default,
                metavar=option.metavar,
                choices=option.choices,
                help=option.help,
            )


def _section_options(args: argparse.Namespace) -> dict[str, object]:
    return {option.name: getattr(args, option.name) for option in OPTIONS}


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError("give a seed >= 0")
    return value


@contextlib.contextmanager
def _progress_display(enabled: bool) -> Iterator[None]:
    """``--quiet`` hides progress bars (scclast shows them on a terminal otherwise)."""
    key = "SCCLAST_NO_PROGRESS"
    previous = os.environ.get(key)
    if not enabled:
        os.environ[key] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = previous


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM raises SystemExit(143), so temporary outputs are removed on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
