"""Reading the input of a run: an h5ad file, a registry dataset or the bundled example.

Every way an input can be wrong (missing, a folder, unreadable, not HDF5, truncated,
not AnnData, too small, no usable grouping column, no gene of the sets) becomes one
clear line before the expensive work starts. The input file is only opened read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anndata
import h5py

from scclast import datasets, genesets
from scclast._errors import ScclastError, ScclastInputError
from scclast._groups import check_labels
from scclast._keys import Keys
from scclast._matrix import expression_view
from scclast._provenance import file_sha256

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")


MIN_CELLS = 20
"""Fewest cells a run accepts (a 15-neighbour graph and two groups of ``min_cells``)."""


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
"""The first eight bytes of every HDF5 (and so every h5ad) file."""


EXAMPLE_KEY = "example_osteoclastogenesis"
"""Registry key of the bundled synthetic example."""


def load_input(path: str | Path, backed: bool = False) -> AnnData:
    """Read an h5ad file, turning every way it can be wrong into one clear message.

    Parameters
    ----------
    path
        The ``.h5ad`` file. Opened read-only; never modified.
    backed
        Keep the matrix on disk (``read_h5ad(path, backed="r")``): scoring then reads
        it in row chunks, so memory stays bounded.

    Returns
    -------
    anndata.AnnData

    Raises
    ------
    ScclastInputError
        The file is missing, is a folder, is unreadable, is not HDF5, is truncated or
        corrupt, is not an AnnData, or has fewer than :data:`MIN_CELLS` cells or no genes.

    Examples
    --------
    >>> load_input("missing.h5ad")
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: input file missing.h5ad does not exist: check the path
    """
    path = Path(path)
    check_h5ad(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata = anndata.read_h5ad(path, backed="r" if backed else None)
    except MemoryError:
        raise
    except Exception as err:  # h5py/anndata raise many types for a damaged file
        raise ScclastInputError(
            f"{path} cannot be read as an h5ad file (truncated, corrupt or not written by "
            f"anndata): copy it again or rewrite it with anndata's write_h5ad "
            f"({_first_line(err)})"
        ) from err
    try:
        _check_size(adata, str(path))
    except ScclastInputError:
        close(adata)
        raise
    log.info(
        "read %s: %s cells x %s genes%s",
        path,
        f"{adata.n_obs:,}",
        f"{adata.n_vars:,}",
        " (backed: matrix stays on disk)" if backed else "",
    )
    return adata


def load_example() -> tuple[AnnData, dict[str, Any]]:
    """The bundled synthetic example and its fingerprint (offline).

    Examples
    --------
    >>> adata, fingerprint = load_example()
    >>> "state_true" in adata.obs, fingerprint["shape"]
    (True, [3000, 2500])
    """
    return load_dataset(EXAMPLE_KEY)


def load_dataset(key: str) -> tuple[AnnData, dict[str, Any]]:
    """A registry dataset (fetched through pooch and cached) and its fingerprint.

    The fingerprint names the dataset, its file(s) with their sha256 and the shape.

    Examples
    --------
    >>> adata, fingerprint = load_dataset("bone_marrow_baccin2020")  # bundled: offline
    >>> fingerprint["shape"]
    [180, 9891]
    """
    _refuse_bulk(key)
    log.info("loading dataset %s ...", key)
    adata = datasets.load(key)
    record: dict[str, Any] = {"dataset": key}
    files = _dataset_files(adata)
    if len(files) == 1:
        record["path"] = files[0]["path"]
        record["sha256"] = files[0]["sha256"]
    elif files:
        record["files"] = "; ".join(f"{f['path']} (sha256 {f['sha256']})" for f in files)
    record["shape"] = [int(adata.n_obs), int(adata.n_vars)]
    _check_size(adata, f"dataset {key!r}")
    return adata, record


def fingerprint(path: str | Path, adata: AnnData) -> dict[str, Any]:
    """Path, shape, size and sha256 of an input file (recorded in every output).

    Examples
    --------
    >>> import anndata as ad, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.h5ad")
    >>> a = ad.AnnData(np.ones((2, 3), dtype=np.float32)); a.write_h5ad(path)
    >>> fingerprint(path, a)["shape"]
    [2, 3]
    """
    path = Path(path)
    return {
        "path": str(path.resolve()),
        "shape": [int(adata.n_obs), int(adata.n_vars)],
        "size_bytes": path.stat().st_size,
        "sha256": _sha256(path),
    }


def folder_sha256(folder: str | Path) -> str:
    """sha256 over a folder's files: each relative path and its sha256, in sorted order.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("abc")
    >>> folder_sha256(d) == folder_sha256(d)
    True
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}\t{_sha256(path)}\n".encode())
    return digest.hexdigest()


def check_h5ad(path: str | Path) -> None:
    """One line for every way ``path`` is not a readable AnnData file (before reading it).

    Missing, a folder, unreadable, empty, not HDF5, truncated, or HDF5 without the
    ``obs``/``var`` groups of an AnnData.

    Examples
    --------
    >>> import tempfile
    >>> check_h5ad(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: input ... is a folder: give an .h5ad file
    """
    path = Path(path)
    _check_input_file(path)
    _check_anndata_layout(path)


def _check_input_file(path: Path) -> None:
    if not path.exists():
        raise ScclastInputError(f"input file {path} does not exist: check the path")
    if path.is_dir():
        raise ScclastInputError(f"input {path} is a folder: give an .h5ad file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(HDF5_SIGNATURE))
    except OSError as err:
        raise ScclastInputError(
            f"input file {path} cannot be read ({err.strerror}): check its permissions"
        ) from err
    if head != HDF5_SIGNATURE:
        what = "is empty" if not head else "is not an HDF5 file"
        raise ScclastInputError(
            f"input file {path} {what}, so it is not an h5ad file: give an AnnData .h5ad "
            "(convert other formats with anndata or scanpy first)"
        )


def _check_anndata_layout(path: Path) -> None:
    """The HDF5 file opens and has the groups every h5ad has (``obs``, ``var``)."""
    try:
        with h5py.File(path, "r") as handle:
            missing = [key for key in ("obs", "var") if key not in handle]
    except Exception as err:  # h5py raises OSError, RuntimeError, ... for damaged files
        raise ScclastInputError(
            f"{path} cannot be read as an h5ad file (truncated or corrupt): copy it again or "
            f"rewrite it with anndata's write_h5ad ({_first_line(err)})"
        ) from err
    if missing:
        raise ScclastInputError(
            f"{path} is an HDF5 file but not an AnnData h5ad (no {' or '.join(missing)} "
            "group): write it with anndata's write_h5ad"
        )


def _check_size(adata: AnnData, what: str) -> None:
    if adata.n_obs < MIN_CELLS:
        raise ScclastInputError(
            f"{what} has {adata.n_obs} cells; scclast run needs at least {MIN_CELLS} "
            "(two groups of at least 10 cells)"
        )
    if adata.n_vars == 0:
        raise ScclastInputError(f"{what} has no genes (var is empty): give a cells x genes file")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _sha256(path: Path) -> str:
    return file_sha256(path)


def _refuse_bulk(key: str) -> None:
    """Refuse a registry entry that is not single cells, naming what takes it instead."""
    try:
        data_type = datasets.get_entry(key).data_type
    except ScclastError:
        return  # an unknown key: datasets.load says so, with the known keys
    if data_type == "bulk":
        raise ScclastInputError(
            f"dataset {key!r} is bulk RNA-seq, not single cells: run "
            f"`scclast timecourse --dataset {key}` instead"
        )
    if data_type not in ("", "single-cell"):
        raise ScclastInputError(
            f"dataset {key!r} is {data_type} data, not single cells: give a single-cell "
            "entry of `scclast datasets list`"
        )


def _dataset_files(adata: AnnData) -> list[dict[str, str]]:
    """Local path and sha256 of each file a dataset loader recorded in ``uns``."""
    files = Keys().record(adata, "dataset").get("files", [])
    if isinstance(files, Mapping):  # datasets keys its file records by file name
        files = [{"name": name, **dict(item)} for name, item in files.items()]
    out = []
    for item in files if isinstance(files, (list, tuple)) else []:
        if not isinstance(item, Mapping):
            continue
        path = str(item.get("local_path") or item.get("path") or item.get("name") or "")
        sha256 = str(item.get("sha256") or "")
        if not sha256 and path and Path(path).is_file():
            sha256 = _sha256(Path(path))
        elif not sha256 and path and Path(path).is_dir():
            sha256 = folder_sha256(Path(path))
        out.append({"path": path, "sha256": sha256})
    return out


def check_groupby(adata: AnnData, groupby: str) -> None:
    """Fail with the list of ``obs`` columns when ``groupby`` is not one of them.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> a = ad.AnnData(np.ones((2, 2)), obs=pd.DataFrame({"celltype": ["a", "b"]}))
    >>> try:
    ...     check_groupby(a, "cluster")
    ... except ScclastInputError as err:
    ...     print(err)
    --groupby 'cluster' is not a column of the input's obs; columns: celltype
    """
    if groupby in adata.obs.columns:
        labels = adata.obs[groupby]
        if labels.notna().sum() == 0:
            raise ScclastInputError(
                f"--groupby {groupby!r}: the column has no labels (all NA): choose a column "
                "with cluster or cell-type labels, or leave --groupby out to build clusters"
            )
        check_labels(labels, groupby)
        return
    columns = [str(c) for c in adata.obs.columns]
    shown = ", ".join(columns[:40]) + (
        f", ... ({len(columns)} in all)" if len(columns) > 40 else ""
    )
    raise ScclastInputError(
        f"--groupby {groupby!r} is not a column of the input's obs; columns: {shown or '(none)'}"
    )


def check_gene_coverage(
    adata: AnnData,
    gene_sets: Any,
    species: str = "auto",
    *,
    layer: str | None = None,
    use_raw: bool = False,
) -> None:
    """Fail early when the chosen matrix is scaled, or when no gene of the sets is in it.

    The messages name the species and identifiers seen, and, for scaled data, the
    options of this file that hold counts or log expression (``--use-raw``, ``--layer``).

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.ones((3, 2), dtype=np.float32))
    >>> a.var_names = ["Gene1", "Gene2"]
    >>> try:
    ...     check_gene_coverage(a, "clastokines_secreted", "mouse")
    ... except ScclastInputError as err:
    ...     print(str(err)[:40])
    no gene of the gene sets (clastokines_se
    """
    view = expression_view(adata, species=species, layer=layer, use_raw=use_raw)
    if view.kind == "scaled":
        raise ScclastInputError(scaled_message(adata, view.record.get("matrix", "X")))
    candidates = [view.species] if view.species in ("mouse", "human") else ["mouse", "human"]
    if species in ("mouse", "human"):
        candidates = [species]
    total = 0
    for candidate in candidates:
        resolved = genesets.resolve_gene_sets(gene_sets, species=candidate)
        wanted = {g for genes in resolved.values() for g in genes}
        found = view.index_of(wanted)[1]
        if found:
            return
        total = max(total, len(wanted))
    names = ", ".join(resolved)
    seen = ", ".join(map(str, view.symbols[:5]))
    source = view.record.get("gene_symbols", "var_names")
    species_text = (
        f"the symbols look {view.species}"
        if view.species in ("mouse", "human")
        else "the species could not be told from the symbols"
    )
    raise ScclastInputError(
        f"no gene of the gene sets ({names}) is in the data: none of their {total} "
        f"{'/'.join(candidates)} symbols matches the {view.n_vars:,} identifiers in "
        f"{source} (e.g. {seen}); {species_text}. Use gene symbols (a var column of symbols "
        "is found automatically for Ensembl IDs) and --species mouse|human"
    )


def scaled_message(adata: AnnData, matrix: str) -> str:
    """What to do when ``matrix`` holds scaled values, naming what this file offers.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[-1.0, 2.0]]))
    >>> a.layers["counts"] = np.array([[0.0, 3.0]])
    >>> scaled_message(a, "X")  # doctest: +ELLIPSIS
    "X holds scaled values (negative numbers): ... pass --layer counts (of this file's ..."
    """
    options = []
    if getattr(adata, "raw", None) is not None and matrix != "raw.X":
        options.append("--use-raw (adata.raw is present)")
    layers = [str(name) for name in adata.layers.keys() if f"[{name!r}]" not in matrix]
    if layers:
        options.append(f"--layer {layers[0]} (of this file's layers: {', '.join(layers)})")
    hint = (
        "pass " + ", or ".join(options)
        if options
        else "this file holds no raw counts or log expression elsewhere (no .raw, no layer): "
        "write one with counts or log-normalised values"
    )
    return (
        f"{matrix} holds scaled values (negative numbers): scores, lineage calls and flags "
        f"need counts or log-normalised expression; {hint}"
    )


def close(adata: AnnData) -> None:
    """Close the file behind a backed AnnData (a no-op for in-memory data)."""
    if getattr(adata, "isbacked", False):
        with contextlib.suppress(Exception):
            adata.file.close()


@contextlib.contextmanager
def reading_errors(path: Any) -> Iterator[None]:
    """With a backed input, a failed read of the file is a damaged input, not a bug."""
    if path is None:
        yield
        return
    try:
        yield
    except OSError as err:
        raise ScclastInputError(
            f"{path}: reading the matrix from disk failed (truncated or corrupt file?): copy "
            f"it again, or run without --backed to read it whole ({_first_line(err)})"
        ) from err
