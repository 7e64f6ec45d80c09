"""``scclast.run()``: one h5ad file in, one folder of results out.

The command ``scclast run`` and the Snakemake workflow share these steps; each is a
small public function so a workflow rule can call one of them:

==========================  =============================================================
:func:`load_input`          read an h5ad file (in memory or backed) with every check a
                            user needs: missing, not HDF5, truncated/corrupt, too small
:func:`load_example`        the bundled synthetic example (offline)
:func:`load_dataset`        a registry dataset (downloaded and cached through pooch)
:func:`prepare`             check the grouping column; compute a UMAP if none is stored
:func:`analyse`             score and flag (:func:`scclast.flagging.flag`); the table
:func:`render`              figures (PNG + PDF) and the HTML report into a folder
:func:`write_outputs`       every output, written to a temporary folder next to OUTDIR
                            and moved into place only when complete
:func:`run`                 all of the above; what ``scclast run`` calls
==========================  =============================================================

OUTDIR holds ``groups.tsv`` (the flagging table), ``scores.tsv.gz`` (per-cell scores and
calibrated z-scores), ``annotated.h5ad`` (the input plus scores, lineage states, flags
and the embedding), ``figures/`` (PNG and PDF), ``report.html`` (self-contained) and
``run.json`` (parameters, input fingerprint, versions; it also marks the folder as
written by scclast, so ``force=True`` never deletes a folder scclast did not write).

The input file is only ever opened read-only.

Examples
--------
>>> import scclast.pipeline as pipeline
>>> result = pipeline.run(example=True, outdir="scclast_out")  # doctest: +SKIP
>>> result.flagged_groups  # doctest: +SKIP
['osteoclast_secretory']
>>> (result.outdir / "report.html").exists()  # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scclast._errors import ScclastInputError
from scclast._neighbors import knn_transformer

log = logging.getLogger("scclast")

MIN_CELLS = 20
"""Fewest cells a run accepts (a 15-neighbour graph and two groups of ``min_cells``)."""

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
"""The first eight bytes of every HDF5 (and so every h5ad) file."""

OUTPUT_FILES = ("groups.tsv", "scores.tsv.gz", "annotated.h5ad", "report.html", "run.json")
"""Files of a complete OUTDIR, beside the ``figures/`` folder."""

MANIFEST = "run.json"
"""Parameters, input fingerprint and versions; marks a folder written by scclast."""

EXAMPLE_KEY = "example_osteoclastogenesis"
"""Registry key of the bundled synthetic example."""

EMBEDDING_KEY = "X_umap"
N_TOP_GENES = 2000
N_PCS = 30
N_NEIGHBORS = 15
"""Up to this many cells the embedding uses exact nearest neighbours (else pynndescent)."""


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    outdir
        The completed output folder.
    table
        The flagging table (also ``outdir / "groups.tsv"``).
    flagged_groups
        Groups flagged for at least one gene set, in table order (may be empty).
    report
        Path of ``report.html``.
    """

    outdir: Path
    table: pd.DataFrame
    flagged_groups: list[str]
    report: Path


# --------------------------------------------------------------------------- loading


def load_input(path: str | Path, backed: bool = False) -> Any:
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
    import anndata

    path = Path(path)
    _check_input_file(path)
    _check_anndata_layout(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata = anndata.read_h5ad(path, backed="r" if backed else None)
    except MemoryError:
        raise
    except Exception as err:  # h5py/anndata raise many types for a damaged file
        raise ScclastInputError(
            f"{path} cannot be read as an h5ad file (truncated, corrupt or not written by "
            f"anndata): {_first_line(err)}"
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


def load_example() -> tuple[Any, dict[str, Any]]:
    """The bundled synthetic example and its fingerprint (offline).

    Examples
    --------
    >>> adata, fingerprint = load_example()  # doctest: +SKIP
    >>> "state_true" in adata.obs  # doctest: +SKIP
    True
    """
    return load_dataset(EXAMPLE_KEY)


def load_dataset(key: str) -> tuple[Any, dict[str, Any]]:
    """A registry dataset (fetched through pooch and cached) and its fingerprint.

    The fingerprint names the dataset, its file(s) with their sha256 and the shape.

    Examples
    --------
    >>> adata, fingerprint = load_dataset("bone_marrow_baccin2020")  # doctest: +SKIP
    >>> fingerprint["shape"]  # doctest: +SKIP
    [180, 9891]
    """
    from scclast import datasets

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


def fingerprint(path: str | Path, adata: Any) -> dict[str, Any]:
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
    import hashlib

    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}\t{_sha256(path)}\n".encode())
    return digest.hexdigest()


def _check_input_file(path: Path) -> None:
    if not path.exists():
        raise ScclastInputError(f"input file {path} does not exist: check the path")
    if path.is_dir():
        raise ScclastInputError(f"input {path} is a folder: give an .h5ad file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(HDF5_SIGNATURE))
    except OSError as err:
        raise ScclastInputError(f"input file {path} cannot be read: {err.strerror}") from err
    if head != HDF5_SIGNATURE:
        what = "is empty" if not head else "is not an HDF5 file"
        raise ScclastInputError(
            f"input file {path} {what}, so it is not an h5ad file: give an AnnData .h5ad "
            "(convert other formats with anndata or scanpy first)"
        )


def _check_anndata_layout(path: Path) -> None:
    """The HDF5 file opens and has the groups every h5ad has (``obs``, ``var``)."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            missing = [key for key in ("obs", "var") if key not in handle]
    except Exception as err:  # h5py raises OSError, RuntimeError, ... for damaged files
        raise ScclastInputError(
            f"{path} cannot be read as an h5ad file (truncated or corrupt): {_first_line(err)}"
        ) from err
    if missing:
        raise ScclastInputError(
            f"{path} is an HDF5 file but not an AnnData h5ad (no {' or '.join(missing)} "
            "group): write it with anndata's write_h5ad"
        )


def _check_size(adata: Any, what: str) -> None:
    if adata.n_obs < MIN_CELLS:
        raise ScclastInputError(
            f"{what} has {adata.n_obs} cells; scclast run needs at least {MIN_CELLS} "
            "(two groups of at least 10 cells)"
        )
    if adata.n_vars == 0:
        raise ScclastInputError(f"{what} has no genes")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _sha256(path: Path) -> str:
    from scclast._provenance import file_sha256

    return file_sha256(path)


def _dataset_files(adata: Any) -> list[dict[str, str]]:
    """Local path and sha256 of each file a dataset loader recorded in ``uns``."""
    block = adata.uns.get("scclast", {}).get("dataset", {})
    files = block.get("files", []) if isinstance(block, Mapping) else []
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


# --------------------------------------------------------------------------- preparing


def prepare(
    adata: Any,
    groupby: str | None = None,
    seed: int = 0,
    *,
    n_top_genes: int = N_TOP_GENES,
    n_pcs: int = N_PCS,
    n_neighbors: int = N_NEIGHBORS,
) -> None:
    """Check the grouping column and make sure a 2-D embedding is stored.

    A UMAP already in ``obsm["X_umap"]`` is kept. Otherwise one is computed from a
    normalised copy of the ``n_top_genes`` most variable genes (binned normalised
    dispersion of log-normalised expression, as scanpy's ``seurat`` flavour), gathered
    in row chunks so that a backed matrix is never loaded whole and scaled to unit
    variance; then PCA, a ``n_neighbors`` graph (exact up to 20,000 cells) and UMAP,
    all seeded with ``seed``. The stored matrix is not
    changed; ``obsm["X_umap"]`` and ``uns["scclast"]["embedding"]`` are added.

    Raises
    ------
    ScclastInputError
        ``groupby`` is not a column of ``obs`` (the message lists the columns).

    Examples
    --------
    >>> prepare(adata, groupby="cluster", seed=0)  # doctest: +SKIP
    >>> adata.obsm["X_umap"].shape  # doctest: +SKIP
    (3000, 2)
    """
    if groupby is not None:
        check_groupby(adata, groupby)
    existing = adata.obsm.get(EMBEDDING_KEY) if EMBEDDING_KEY in adata.obsm else None
    if existing is not None and _usable_embedding(np.asarray(existing), adata.n_obs):
        log.info("using the embedding stored in obsm[%r]", EMBEDDING_KEY)
        _record_embedding(adata, computed=False, seed=seed)
        return
    compute_umap(adata, seed=seed, n_top_genes=n_top_genes, n_pcs=n_pcs, n_neighbors=n_neighbors)


def check_groupby(adata: Any, groupby: str) -> None:
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
            raise ScclastInputError(f"--groupby {groupby!r}: the column has no labels (all NA)")
        return
    columns = [str(c) for c in adata.obs.columns]
    shown = ", ".join(columns[:40]) + (
        f", ... ({len(columns)} in all)" if len(columns) > 40 else ""
    )
    raise ScclastInputError(
        f"--groupby {groupby!r} is not a column of the input's obs; columns: {shown or '(none)'}"
    )


def compute_umap(
    adata: Any,
    *,
    seed: int = 0,
    n_top_genes: int = N_TOP_GENES,
    n_pcs: int = N_PCS,
    n_neighbors: int = N_NEIGHBORS,
) -> None:
    """Compute ``obsm["X_umap"]`` without touching the stored matrix (see :func:`prepare`).

    Examples
    --------
    >>> compute_umap(adata, seed=0)  # doctest: +SKIP
    """
    import anndata
    import scanpy as sc

    from scclast._matrix import expression_view, gene_moments

    started = time.perf_counter()
    view = expression_view(adata)
    mean, var = gene_moments(view)
    chosen = variable_genes(mean, var, n_top_genes)
    log.info(
        "computing a UMAP embedding (%d variable genes, %d PCs, %d neighbours, seed %d) ...",
        chosen.size,
        n_pcs,
        n_neighbors,
        seed,
    )
    # unit variance per gene (sparsity kept; PCA centres implicitly), as sc.pp.scale would
    scale = 1.0 / np.sqrt(np.maximum(var[chosen], 1e-12))
    small = anndata.AnnData(_gather_columns(view, chosen).multiply(scale[None, :]).tocsr())
    n_comps = int(max(2, min(n_pcs, small.n_obs - 1, small.n_vars - 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        sc.pp.pca(small, n_comps=n_comps, random_state=seed)
        sc.pp.neighbors(
            small,
            n_neighbors=min(n_neighbors, small.n_obs - 1),
            random_state=seed,
            transformer=knn_transformer(small.n_obs, min(n_neighbors, small.n_obs - 1), seed),
        )
        sc.tl.umap(small, random_state=seed)
    adata.obsm[EMBEDDING_KEY] = np.asarray(small.obsm["X_umap"], dtype=np.float32)
    _record_embedding(
        adata,
        computed=True,
        seed=seed,
        n_top_genes=int(chosen.size),
        n_pcs=n_comps,
        n_neighbors=int(min(n_neighbors, small.n_obs - 1)),
        normalisation=view.record["normalisation"],
    )
    log.debug("UMAP computed in %.1f s", time.perf_counter() - started)


def variable_genes(mean: np.ndarray, var: np.ndarray, n_top: int, n_bins: int = 20) -> np.ndarray:
    """Indices of the ``n_top`` most variable genes, by binned normalised dispersion.

    Dispersion is ``var / mean`` of log-normalised expression; genes are cut into
    ``n_bins`` bins by mean and the dispersion is z-scored within its bin (scanpy's
    ``flavor="seurat"``). Genes with zero mean are never chosen.

    Examples
    --------
    >>> mean = np.array([0.0, 1.0, 1.0, 2.0]); var = np.array([0.0, 3.0, 1.0, 4.0])
    >>> variable_genes(mean, var, 2, n_bins=1).tolist()
    [1, 3]
    """
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    expressed = np.flatnonzero(mean > 0)
    if expressed.size <= n_top:
        return expressed
    dispersion = np.log(np.maximum(var[expressed], 1e-12) / mean[expressed])
    bins = pd.cut(mean[expressed], bins=n_bins, labels=False) if n_bins > 1 else None
    frame = pd.DataFrame({"d": dispersion, "bin": 0 if bins is None else bins})
    grouped = frame.groupby("bin")["d"]
    sd = grouped.transform("std").fillna(0.0).replace(0.0, 1.0)
    normalised = ((frame["d"] - grouped.transform("mean")) / sd).to_numpy()
    order = np.argsort(-normalised, kind="stable")[:n_top]
    return np.sort(expressed[order])


def _gather_columns(view: Any, columns: np.ndarray) -> Any:
    """The chosen used columns of normalised expression, as one CSR (row chunks)."""
    import scipy.sparse as sp

    blocks = []
    for _, chunk in view.iter_chunks(progress=None):
        part = chunk[:, columns]
        blocks.append(sp.csr_matrix(part, dtype=np.float32))
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, columns.size))


def _usable_embedding(values: np.ndarray, n_obs: int) -> bool:
    return (
        values.ndim == 2
        and values.shape[0] == n_obs
        and values.shape[1] >= 2
        and bool(np.isfinite(values[:, :2]).all())
    )


def _record_embedding(adata: Any, *, computed: bool, seed: int, **details: Any) -> None:
    from scclast._provenance import provenance, record

    block = provenance(seed=seed, **details)
    block.update(basis=EMBEDDING_KEY, computed=computed)
    record(adata, "embedding", block)


# --------------------------------------------------------------------------- analysis


def analyse(
    adata: Any,
    *,
    groupby: str | None = None,
    species: str = "auto",
    method: str = "seurat",
    gene_sets: str | Path | Sequence[str | Path] | Mapping[str, Iterable[str]] | None = None,
    osteomorph_signature: str | Path | None = None,
    fdr: float = 0.05,
    seed: int = 0,
    backed: bool = False,
) -> pd.DataFrame:
    """Score and flag: a thin call of :func:`scclast.flagging.flag` (no statistics here).

    Before the (longer) analysis it checks that at least one gene of the gene sets is
    in the data, naming the species and the identifiers seen when none is.

    Parameters
    ----------
    groupby
        ``obs`` column of groups; ``None`` lets flagging build Leiden clusters.
    species, method, gene_sets, osteomorph_signature, fdr, seed
        As for :func:`scclast.flagging.flag`; ``gene_sets=None`` uses its defaults.
    backed
        ``adata`` is backed: scoring reads the matrix from disk in row chunks.

    Returns
    -------
    pandas.DataFrame
        The flagging table, one row per (group, gene set).

    Examples
    --------
    >>> table = analyse(adata, groupby="cluster", seed=0)  # doctest: +SKIP
    >>> table.loc[table.flagged, "group"].unique()  # doctest: +SKIP
    """
    from scclast import flagging

    sets = _gene_sets_argument(gene_sets)
    check_gene_coverage(adata, sets, species)
    started = time.perf_counter()
    log.info(
        "scoring and flagging %s on %s cells%s ...",
        _describe_sets(sets),
        f"{adata.n_obs:,}",
        " (matrix read from disk in chunks)" if backed else "",
    )
    kwargs: dict[str, Any] = {
        "gene_sets": sets,
        "species": species,
        "method": method,
        "seed": seed,
        "fdr": fdr,
        "osteomorph_signature": None if osteomorph_signature is None else str(osteomorph_signature),
    }
    table = flagging.flag(adata, groupby, **kwargs)
    log.info(
        "flagging done in %.1f s: %d group(s) flagged",
        time.perf_counter() - started,
        len(flagged_groups(table)),
    )
    return table


def check_gene_coverage(adata: Any, gene_sets: Any, species: str = "auto") -> None:
    """Fail early, naming species and identifiers, when no gene of the sets is present.

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
    from scclast import genesets
    from scclast._matrix import expression_view

    view = expression_view(adata, species=species)
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


def flagged_groups(table: pd.DataFrame) -> list[str]:
    """Groups flagged for at least one gene set, in table order.

    Examples
    --------
    >>> flagged_groups(pd.DataFrame({"group": ["a", "b"], "flagged": [False, True]}))
    ['b']
    """
    from scclast.plotting import flagged_groups as _flagged

    return _flagged(table)


def coverage_warnings(adata: Any, table: pd.DataFrame, min_coverage: float = 0.5) -> list[str]:
    """Plain-text warnings about gene sets measured poorly in this data.

    Reads the per-set records of scoring and flagging (genes found and missing).

    Examples
    --------
    >>> coverage_warnings(adata, table)  # doctest: +SKIP
    ['clastokines_putative: 2 of 6 genes measured (33%); missing: Afm, Bmp6, Hgf, Pdgfb']
    """
    sets = _set_records(adata)
    messages = []
    for name, entry in sets.items():
        found = _as_list(entry.get("genes_found"))
        missing = _as_list(entry.get("genes_missing"))
        total = len(found) + len(missing)
        if total == 0:
            continue
        share = len(found) / total
        if share < min_coverage or not entry.get("scored", True):
            shown = ", ".join(map(str, missing[:12])) + (" ..." if len(missing) > 12 else "")
            state = "" if entry.get("scored", True) else " (not scored)"
            messages.append(
                f"{name}: {len(found)} of {total} genes measured ({share:.0%}){state}; "
                f"missing: {shown}"
            )
    return messages


def _as_list(value: Any) -> list[Any]:
    """A list from a list, tuple, array (h5ad gives lists back as arrays) or None."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _set_records(adata: Any) -> dict[str, Mapping[str, Any]]:
    """Per-set found/missing genes from the flag record, else the score record."""
    uns = adata.uns.get("scclast", {})
    merged: dict[str, Mapping[str, Any]] = {}
    for step in ("score", "flag"):
        sets = uns.get(step, {}).get("sets", {}) if isinstance(uns.get(step), Mapping) else {}
        for name, entry in (sets or {}).items():
            if isinstance(entry, Mapping) and ("genes_found" in entry or "genes_missing" in entry):
                merged[str(name)] = entry
    return merged


def _gene_sets_argument(gene_sets: Any) -> Any:
    from scclast import flagging

    if gene_sets is None:
        return list(flagging.DEFAULT_GENE_SETS)
    if isinstance(gene_sets, (str, Path)):
        return [str(gene_sets)]
    if isinstance(gene_sets, Mapping):
        return gene_sets
    return [str(item) for item in gene_sets]


def _describe_sets(sets: Any) -> str:
    names = list(sets)
    return f"{len(names)} gene set(s) ({', '.join(map(str, names))})"


# --------------------------------------------------------------------------- outputs


def check_outdir(outdir: str | Path, force: bool = False) -> Path:
    """Check OUTDIR before any work: refuse an existing one without ``force``.

    With ``force`` an existing OUTDIR is replaced only when it is empty or was written
    by scclast (holds ``run.json``), so a mistyped ``-o`` cannot delete unrelated files.
    The parent folder is created if needed and must be writable.

    Examples
    --------
    >>> import tempfile
    >>> check_outdir(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: output folder ... already exists: ...
    """
    outdir = Path(outdir).expanduser().absolute()
    if outdir.exists() or outdir.is_symlink():
        if not outdir.is_dir() or outdir.is_symlink():
            raise ScclastInputError(
                f"output {outdir} exists and is not a folder: choose another -o"
            )
        if not force:
            raise ScclastInputError(
                f"output folder {outdir} already exists: choose another -o, or pass --force "
                "to replace it"
            )
        if any(outdir.iterdir()) and not (outdir / MANIFEST).is_file():
            raise ScclastInputError(
                f"output folder {outdir} exists and was not written by scclast run (no "
                f"{MANIFEST}): --force only replaces scclast outputs; remove it yourself or "
                "choose another -o"
            )
    parent = outdir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ScclastInputError(
            f"cannot create the folder {parent} for the output: {err.strerror}"
        ) from err
    if not parent.is_dir():
        raise ScclastInputError(f"{parent} is not a folder: choose another -o")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ScclastInputError(
            f"output folder {outdir} cannot be written: no write permission in {parent}"
        )
    return outdir


def write_outputs(
    adata: Any,
    table: pd.DataFrame,
    outdir: str | Path,
    *,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    force: bool = False,
    warnings_seen: Sequence[str] = (),
) -> Path:
    """Write every output atomically: all of OUTDIR appears, or none of it.

    Everything goes to a hidden temporary folder next to OUTDIR
    (``.OUTDIR.tmp-XXXXXXXX``), which is renamed to OUTDIR only when complete. On any
    error or interruption the temporary folder is removed. With ``force`` an existing
    scclast OUTDIR is moved aside, the new one moved in, then the old one deleted.

    Returns
    -------
    Path
        The completed OUTDIR.

    Examples
    --------
    >>> write_outputs(adata, table, "out", input_fingerprint={}, parameters={})  # doctest: +SKIP
    PosixPath('.../out')
    """
    outdir = check_outdir(outdir, force)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.tmp-", dir=outdir.parent))
    except OSError as err:
        raise ScclastInputError(f"cannot write next to {outdir}: {err.strerror}") from err
    try:
        _write_all(staging, adata, table, input_fingerprint, parameters, warnings_seen)
        _move_into_place(staging, outdir, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return outdir


def render(
    adata: Any,
    table: pd.DataFrame,
    folder: str | Path,
    *,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    warnings_seen: Sequence[str] = (),
) -> dict[str, Path]:
    """Figures (``folder/figures/*.png|pdf``) and ``folder/report.html``.

    Returns ``{figure name: png path, "report": html path}``. Used by
    :func:`write_outputs` and by the workflow's report rule.

    Examples
    --------
    >>> render(adata, table, "out", input_fingerprint={}, parameters={})  # doctest: +SKIP
    """
    from scclast import plotting, report

    folder = Path(folder)
    log.info("drawing figures ...")
    figures = plotting.all_figures(adata, table, folder / "figures")
    notes = list(dict.fromkeys([*coverage_warnings(adata, table), *warnings_seen]))
    html = report.write_report(
        folder / "report.html",
        adata,
        table,
        figures,
        parameters=parameters,
        input_fingerprint=input_fingerprint,
        coverage_warnings=notes,
    )
    return {**figures, "report": html}


def _write_all(
    folder: Path,
    adata: Any,
    table: pd.DataFrame,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    warnings_seen: Sequence[str],
) -> None:
    log.info("writing outputs ...")
    write_table(table, folder / "groups.tsv")
    write_scores(adata, folder / "scores.tsv.gz")
    write_annotated(adata, folder / "annotated.h5ad")
    render(
        adata,
        table,
        folder,
        input_fingerprint=input_fingerprint,
        parameters=parameters,
        warnings_seen=warnings_seen,
    )
    write_manifest(folder / MANIFEST, table, input_fingerprint, parameters)


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """The flagging table as TSV (lists joined with ``;``, no index).

    Examples
    --------
    >>> import tempfile, os
    >>> p = write_table(pd.DataFrame({"group": ["a"], "drivers": [["Slit3", "Lif"]]}),
    ...                 os.path.join(tempfile.mkdtemp(), "groups.tsv"))
    >>> p.read_text().splitlines()[1]
    'a\\tSlit3;Lif'
    """
    path = Path(path)
    flat = table.copy()
    for column in flat.columns:
        if flat[column].dtype == object:
            flat[column] = flat[column].map(_flat_text)
    flat.to_csv(path, sep="\t", index=False, lineterminator="\n")
    return path


def write_scores(adata: Any, path: str | Path) -> Path:
    """Per-cell scores, calibrated z-scores, lineage state and flag as gzipped TSV.

    One row per cell (``cell`` = obs name); every ``obs`` column written by scclast
    (``scclast_*``). The gzip header carries no timestamp, so identical runs give
    identical files.

    Examples
    --------
    >>> write_scores(adata, "scores.tsv.gz")  # doctest: +SKIP
    """
    path = Path(path)
    columns = [c for c in adata.obs.columns if str(c).startswith("scclast_")]
    frame = adata.obs[columns].copy()
    frame.index = frame.index.astype(str)
    frame.index.name = "cell"
    # no name and no time in the gzip header: identical runs give identical bytes
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as packed,
        io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
    ):
        frame.to_csv(text, sep="\t", lineterminator="\n")
    return path


def write_annotated(adata: Any, path: str | Path) -> Path:
    """The input plus scores, states, flags and embedding, as h5ad.

    Values in ``uns`` that h5ad cannot store (``None``, mixed lists, nested records)
    are converted first (``None`` becomes ``"None"``, records become JSON text).

    Examples
    --------
    >>> write_annotated(adata, "annotated.h5ad")  # doctest: +SKIP
    """
    path = Path(path)
    original = adata.uns.get("scclast")
    if original is not None:
        adata.uns["scclast"] = h5ad_safe(original)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            adata.write_h5ad(path)
    finally:
        if original is not None:
            adata.uns["scclast"] = original
    return path


def h5ad_safe(value: Any) -> Any:
    """A copy of ``value`` that anndata can write to h5ad.

    Examples
    --------
    >>> h5ad_safe({"a": None, "b": [1, "x"], "c": [{"k": 1}], "d": (1, 2)})
    {'a': 'None', 'b': ['1', 'x'], 'c': '[{"k": 1}]', 'd': [1, 2]}
    """
    if value is None:
        return "None"
    if isinstance(value, Mapping):
        return {str(k): h5ad_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return _safe_frame(value)
    if isinstance(value, (str, bool, int, float, np.generic, np.ndarray)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            return np.array([], dtype=str)
        if all(isinstance(v, (bool, np.bool_)) for v in items):
            return list(items)
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items):
            return list(items)
        if all(isinstance(v, str) for v in items):
            return list(items)
        if any(isinstance(v, (Mapping, list, tuple)) for v in items):
            return json.dumps(items, default=str)
        return [str(v) for v in items]
    return str(value)


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(_flat_text)
    out.columns = [str(c) for c in out.columns]
    out.index = out.index.astype(str)
    return out


def _flat_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return ";".join(map(str, value))
    return str(value)


def write_manifest(
    path: str | Path,
    table: pd.DataFrame,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> Path:
    """``run.json``: parameters, input fingerprint, versions, flagged groups, files."""
    from scclast._provenance import package_versions
    from scclast.genesets import catalogue_version

    path = Path(path)
    manifest = {
        "tool": "scclast run",
        "versions": package_versions(),
        "catalogue_version": catalogue_version(),
        "parameters": dict(parameters),
        "input": dict(input_fingerprint),
        "flagged_groups": flagged_groups(table),
        "outputs": [*OUTPUT_FILES, "figures/"],
    }
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def _move_into_place(staging: Path, outdir: Path, force: bool) -> None:
    if not outdir.exists():
        os.rename(staging, outdir)
        return
    if not force:  # appeared while we were working
        raise ScclastInputError(f"output folder {outdir} appeared during the run: not replaced")
    old = outdir.parent / f".{outdir.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(outdir, old)
    try:
        os.rename(staging, outdir)
    except BaseException:
        os.rename(old, outdir)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- run


def run(
    input: str | Path | None = None,
    outdir: str | Path = "scclast_out",
    *,
    dataset: str | None = None,
    example: bool = False,
    groupby: str | None = None,
    species: str = "auto",
    method: str = "seurat",
    gene_sets: Sequence[str | Path] | None = None,
    osteomorph_signature: str | Path | None = None,
    fdr: float = 0.05,
    seed: int = 0,
    backed: bool = False,
    force: bool = False,
) -> RunResult:
    """From an h5ad file (or a registry dataset, or the bundled example) to OUTDIR.

    Exactly one of ``input``, ``dataset`` and ``example`` is given. For the example
    the grouping defaults to its ``cluster`` column.

    Parameters
    ----------
    input
        Path of an ``.h5ad`` file (never modified).
    outdir
        Output folder; must not exist unless ``force``.
    dataset
        A registry key (``scclast datasets list``), fetched through pooch.
    example
        Use the bundled synthetic example (offline).
    groupby
        ``obs`` column of groups; ``None`` builds Leiden clusters.
    species
        ``"auto"``, ``"mouse"`` or ``"human"``.
    method
        Uncalibrated score method: ``"seurat"``, ``"ucell"``, ``"aucell"`` or ``"mean"``.
    gene_sets
        Catalogue set names and/or GMT files; default: flagging's default sets.
    osteomorph_signature
        Signature file enabling osteomorph calls (McDonald et al. 2021).
    fdr
        Benjamini-Hochberg level of a flag.
    seed
        Seed of every random step (controls, clustering, embedding, permutations).
    backed
        Score a file input from disk in row chunks (bounded memory).
    force
        Replace an existing OUTDIR written by scclast.

    Returns
    -------
    RunResult

    Examples
    --------
    >>> result = run(example=True, outdir="scclast_out")  # doctest: +SKIP
    >>> result.flagged_groups  # doctest: +SKIP
    ['osteoclast_secretory']
    """
    started = time.perf_counter()
    _check_sources(input, dataset, example)
    outdir = check_outdir(outdir, force)
    _check_set_arguments(gene_sets, osteomorph_signature)
    adata, input_fingerprint = _load(input, dataset, example, backed)
    if example and groupby is None and "cluster" in adata.obs:
        groupby = "cluster"
    parameters = run_parameters(
        str(input) if input is not None else ("example" if example else dataset),
        groupby=groupby,
        species=species,
        method=method,
        gene_sets=gene_sets,
        osteomorph_signature=osteomorph_signature,
        fdr=fdr,
        seed=seed,
        backed=backed,
    )
    try:
        # the cheap checks first: a wrong column or species fails in seconds, not minutes
        if groupby is not None:
            check_groupby(adata, groupby)
        check_gene_coverage(adata, _gene_sets_argument(gene_sets), species)
        with collect_warnings() as seen, _reading(input if backed else None):
            prepare(adata, groupby=groupby, seed=seed)
            table = analyse(
                adata,
                groupby=groupby,
                species=species,
                method=method,
                gene_sets=gene_sets,
                osteomorph_signature=osteomorph_signature,
                fdr=fdr,
                seed=seed,
                backed=backed,
            )
        parameters["groupby"] = groupby or recorded_groupby(adata)
        write_outputs(
            adata,
            table,
            outdir,
            input_fingerprint=input_fingerprint,
            parameters=parameters,
            force=force,
            warnings_seen=seen,
        )
    finally:
        close(adata)
    flagged = flagged_groups(table)
    log.info(
        "done in %.1f s: %s; report: %s",
        time.perf_counter() - started,
        f"{len(flagged)} group(s) flagged: {', '.join(flagged)}"
        if flagged
        else "no population flagged",
        outdir / "report.html",
    )
    return RunResult(
        outdir=outdir, table=table, flagged_groups=flagged, report=outdir / "report.html"
    )


def _check_sources(input: Any, dataset: str | None, example: bool) -> None:
    given = [name for name, on in (("INPUT", input is not None), ("--dataset", dataset is not None),
                                   ("--example", bool(example))) if on]  # fmt: skip
    if len(given) != 1:
        what = "nothing" if not given else " and ".join(given)
        raise ScclastInputError(
            f"give exactly one of INPUT.h5ad, --dataset KEY or --example (got {what})"
        )


def _check_set_arguments(gene_sets: Any, osteomorph_signature: Any) -> None:
    """Unknown set names and unreadable files fail before any data is read."""
    from scclast import genesets

    if gene_sets is not None:
        genesets.resolve_gene_sets(_gene_sets_argument(gene_sets), species="mouse")
    if osteomorph_signature is not None:
        genesets.read_signature(osteomorph_signature)


def _load(input: Any, dataset: str | None, example: bool, backed: bool) -> tuple[Any, dict]:
    if example:
        if backed:
            log.info("--backed applies to file inputs; the example is small and read into memory")
        return load_example()
    if dataset is not None:
        return load_dataset(dataset)
    adata = load_input(input, backed=backed)
    log.info("fingerprinting %s (sha256) ...", input)
    return adata, fingerprint(input, adata)


def run_parameters(
    input_label: str,
    *,
    groupby: str | None,
    species: str,
    method: str,
    gene_sets: Any,
    osteomorph_signature: Any,
    fdr: float,
    seed: int,
    backed: bool,
) -> dict[str, Any]:
    """The parameters a run records in ``run.json`` and shows in its report.

    Shared by :func:`run` and the workflow's ``analyse`` rule so both record the same.

    Examples
    --------
    >>> run_parameters("example", groupby="cluster", species="auto", method="seurat",
    ...                gene_sets=None, osteomorph_signature=None, fdr=0.05, seed=0,
    ...                backed=False)["gene_sets"]
    'default'
    """
    return {
        "input": input_label,
        "groupby": groupby,
        "species": species,
        "method": method,
        "gene_sets": [str(g) for g in gene_sets] if gene_sets else "default",
        "osteomorph_signature": str(osteomorph_signature) if osteomorph_signature else None,
        "fdr": fdr,
        "seed": seed,
        "backed": backed,
    }


def recorded_groupby(adata: Any) -> str | None:
    """The groups column an analysis used (given, or the Leiden clusters it built)."""
    from scclast.plotting import resolve_groupby

    return resolve_groupby(adata, None)


def close(adata: Any) -> None:
    """Close the file behind a backed AnnData (a no-op for in-memory data)."""
    if getattr(adata, "isbacked", False):
        with contextlib.suppress(Exception):
            adata.file.close()


@contextlib.contextmanager
def _reading(path: Any) -> Iterator[None]:
    """With a backed input, a failed read of the file is a damaged input, not a bug."""
    if path is None:
        yield
        return
    try:
        yield
    except OSError as err:
        raise ScclastInputError(
            f"{path}: reading the matrix from disk failed (truncated or corrupt file?): "
            f"{_first_line(err)}"
        ) from err


@contextlib.contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Log the user-facing warnings of a step and keep them (for the report).

    Yields a list that is filled, when the block ends, with the text of each distinct
    ``UserWarning`` raised from scclast code; each is also logged once. Other warnings
    (deprecations in dependencies) go to the debug log.

    Examples
    --------
    >>> with collect_warnings() as seen:
    ...     analyse(adata, groupby="cluster")  # doctest: +SKIP
    >>> seen  # doctest: +SKIP
    ["gene set 'clastokines_putative': 1 of 5 genes present ..."]
    """
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            yield seen
        finally:
            for item in caught:
                text = " ".join(str(item.message).split())
                if issubclass(item.category, UserWarning) and _is_ours(item.filename):
                    if text not in seen:
                        seen.append(text)
                        log.warning("%s", text)
                else:
                    log.debug("%s: %s", item.category.__name__, text)


def _is_ours(filename: str) -> bool:
    return "scclast" in Path(filename).parts or "scclast" in filename


__all__ = [
    "MIN_CELLS",
    "RunResult",
    "analyse",
    "check_gene_coverage",
    "check_groupby",
    "check_outdir",
    "collect_warnings",
    "compute_umap",
    "coverage_warnings",
    "fingerprint",
    "flagged_groups",
    "folder_sha256",
    "h5ad_safe",
    "load_dataset",
    "load_example",
    "load_input",
    "prepare",
    "render",
    "run",
    "variable_genes",
    "write_annotated",
    "write_manifest",
    "write_outputs",
    "write_scores",
    "write_table",
]
