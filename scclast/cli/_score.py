"""``scclast score``: one ``obs`` column per gene set, written to a new h5ad.

The output is the input file plus the score columns in ``obs``
(``f"{key_added}_{set}"``) and the record in ``uns[key_added]["score"]``. It is written
to a temporary file in the output folder and moved into place (``os.replace``), so a
failed run never leaves a half-written file. The input is opened read-only and never
modified; an existing output is only replaced with ``--force``. With ``--backed`` the
matrix stays on disk and is read in row chunks.

Examples
--------
>>> import tempfile
>>> from scclast.testing import simulate_counts
>>> folder = tempfile.TemporaryDirectory()
>>> source, target = Path(folder.name, "in.h5ad"), Path(folder.name, "out.h5ad")
>>> simulate_counts(20, 30).write_h5ad(source)
>>> _ = Path(folder.name, "sets.gmt").write_text("up\\tmine\\tSimg1\\tSimg2\\tSimg3\\n")
>>> subparsers = argparse.ArgumentParser(prog="scclast").add_subparsers()
>>> add_parser(subparsers)
>>> gmt = str(Path(folder.name, "sets.gmt"))
>>> args = subparsers.choices["score"].parse_args(
...     [str(source), "-o", str(target), "--gene-sets", gmt, "--method", "ucell"]
... )
>>> args.func(args)
0
>>> import anndata as ad
>>> list(ad.read_h5ad(target).obs.columns)
['scclast_up']
>>> folder.cleanup()
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scclast._errors import ScclastInputError
from scclast._types import NORMALIZE_OPTIONS, SCORE_METHODS, SPECIES, TIES

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

# The matrix module imports numba; its chunk size is repeated here so that building the
# parser stays fast (tests/test_scoring_cli.py checks they agree).
DEFAULT_CHUNK_SIZE = 10_000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``scclast score``.

    Examples
    --------
    >>> subparsers = argparse.ArgumentParser(prog="scclast").add_subparsers()
    >>> add_parser(subparsers)
    >>> subparsers.choices["score"].parse_args(["in.h5ad", "-o", "out.h5ad"]).method
    'seurat'
    """
    parser = subparsers.add_parser(
        "score",
        help="score every cell for gene sets (seurat, ucell, aucell, mean)",
        description="Score every cell of an h5ad file for gene sets and write a new h5ad "
        "with one obs column per set (KEY_SET, KEY from --key-added) and the record of how "
        "the scores were made in uns[KEY]['score']. The input is never modified.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT.h5ad", help="cells x genes")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT.h5ad", help="file to write"
    )
    parser.add_argument("--method", choices=SCORE_METHODS, default="seurat")
    parser.add_argument(
        "--gene-sets",
        nargs="+",
        default=["all"],
        metavar="NAME|all|FILE.gmt",
        help="catalogue set names, 'all' (default) and/or GMT files",
    )
    parser.add_argument("--species", choices=SPECIES, default="auto")
    matrix = parser.add_mutually_exclusive_group()
    matrix.add_argument("--layer", help="score adata.layers[LAYER] instead of X")
    matrix.add_argument("--use-raw", action="store_true", help="score adata.raw.X")
    parser.add_argument(
        "--gene-symbols", metavar="COL", help="var column of gene symbols (default: auto)"
    )
    parser.add_argument(
        "--normalize",
        choices=NORMALIZE_OPTIONS,
        default="auto",
        help="auto: normalise raw counts on the fly; counts: always; log/none: never",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the seurat controls")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="ROWS")
    parser.add_argument("--n-jobs", type=int, default=1, help="threads (-1: all cores)")
    parser.add_argument(
        "--backed", action="store_true", help="keep the matrix on disk (bounded memory)"
    )
    parser.add_argument(
        "--key-added",
        default="scclast",
        help="root of the obs column names: KEY_SET (default scclast)",
    )
    parser.add_argument(
        "--min-genes", type=int, default=2, help="sets with fewer genes present get NaN"
    )
    options = parser.add_argument_group("method options")
    options.add_argument("--n-bins", type=int, default=25, help="seurat: expression bins")
    options.add_argument("--ctrl-size", type=int, default=50, help="seurat: controls per bin")
    options.add_argument("--max-rank", type=int, default=1500, help="ucell: rank cap")
    options.add_argument("--n-up", type=int, help="aucell: top ranks (default 5%% of genes)")
    options.add_argument("--ties", choices=TIES, default="average")
    options.add_argument("--zscore", action="store_true", help="mean: of per-gene z-scores")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT.h5ad")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score ``args.input`` and write ``args.output`` atomically; returns 0.

    The module's example runs it end to end.
    """
    import anndata as ad

    from scclast._pipeline._inputs import check_h5ad
    from scclast._pipeline._outputs import check_writable
    from scclast.tl import score

    source, target = _check_paths(args.input, args.output, args.force)
    check_h5ad(source)
    # before the work: a read-only or immutable folder fails now, not after scoring
    check_writable(target.parent, f"output {target}")
    adata = _read(ad, source, args.backed)
    try:
        score(
            adata,
            args.gene_sets[0] if len(args.gene_sets) == 1 else list(args.gene_sets),
            args.method,
            species=args.species,
            layer=args.layer,
            use_raw=args.use_raw,
            gene_symbols=args.gene_symbols,
            normalize=args.normalize,
            key_added=args.key_added,
            min_genes=args.min_genes,
            seed=args.seed,
            n_bins=args.n_bins,
            ctrl_size=args.ctrl_size,
            max_rank=args.max_rank,
            n_up=args.n_up,
            ties=args.ties,
            zscore=args.zscore,
            chunk_size=args.chunk_size,
            n_jobs=args.n_jobs,
            progress=False if args.no_progress else None,
        )
        try:
            write_scored_copy(adata, source, target)
        except OSError as err:
            raise ScclastInputError(
                f"cannot write {target} ({err.strerror or err}): choose another -o"
            ) from err
    finally:
        if getattr(adata, "isbacked", False):
            adata.file.close()
    n_sets = len(adata.uns[args.key_added]["score"]["sets"])
    log.info("wrote %s: %d cells, %d gene set(s), %s", target, adata.n_obs, n_sets, args.method)
    return 0


def _check_paths(source: Path, target: Path, force: bool) -> tuple[Path, Path]:
    if source.is_dir():
        raise ScclastInputError(f"input {source} is a folder: give an .h5ad file")
    if not source.is_file():
        raise ScclastInputError(f"input file {source} not found: check the path")
    if source.suffix.lower() != ".h5ad":
        raise ScclastInputError(f"input {source} is not an .h5ad file")
    if target.is_dir():
        raise ScclastInputError(
            f"output {target} is a folder: give a file name ending in .h5ad (--force only "
            "replaces a file)"
        )
    if target.suffix.lower() != ".h5ad":
        raise ScclastInputError(f"output {target} must end in .h5ad")
    if not target.parent.is_dir():
        raise ScclastInputError(f"output folder {target.parent} does not exist: create it first")
    if target.exists() and target.resolve() == source.resolve():
        raise ScclastInputError(
            f"output {target} is the input file: choose another -o (the input is never modified)"
        )
    if target.exists() and not force:
        raise ScclastInputError(f"output {target} exists: pass --force to replace it")
    return source, target


def _read(ad: Any, source: Path, backed: bool) -> Any:
    try:
        return ad.read_h5ad(source, backed="r" if backed else None)
    except (OSError, KeyError, ValueError) as err:
        raise ScclastInputError(f"cannot read {source} as h5ad: {err}") from err


def write_scored_copy(adata: AnnData, source: Path, target: Path) -> None:
    """Copy ``source`` and replace its ``obs`` and ``uns`` by ``adata``'s, atomically.

    The matrix is copied byte for byte, never loaded, so this works for backed data.

    Examples
    --------
    >>> import tempfile, anndata as ad, numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> source, target = Path(folder.name, "a.h5ad"), Path(folder.name, "b.h5ad")
    >>> adata = ad.AnnData(np.ones((2, 2)))
    >>> adata.write_h5ad(source)
    >>> adata.obs["score"] = [0.5, 1.5]
    >>> write_scored_copy(adata, source, target)
    >>> ad.read_h5ad(target).obs["score"].tolist(), ad.read_h5ad(source).obs.columns.size
    ([0.5, 1.5], 0)
    >>> folder.cleanup()
    """
    import h5py

    try:
        from anndata.io import write_elem
    except ImportError:  # anndata < 0.11
        from anndata.experimental import write_elem

    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, temporary)
        with h5py.File(temporary, "r+") as handle:
            for key, value in (("obs", adata.obs), ("uns", dict(adata.uns))):
                if key in handle:
                    del handle[key]
                write_elem(handle, key, value)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
