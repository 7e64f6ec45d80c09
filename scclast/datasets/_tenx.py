"""10x Genomics matrices: MatrixMarket triplets (v2 ``genes.tsv``, v3 ``features.tsv``),
HDF5 files (Cell Ranger 2 and >= 3 layouts) and plain triplet folders.

Only Gene Expression features are kept (antibody tags and CRISPR guides are dropped).
Unfiltered matrices go through the cell rule of :mod:`scclast.datasets._qc`.

Examples
--------
The bone-marrow triplet shipped with scclast (v2 layout, ``genes.tsv``):

>>> import scclast.datasets as ds
>>> folder = Path(ds.__file__).parent / "data" / "tapseq_baccin_bm"
>>> adata = read_10x_mtx(folder / "matrix.mtx.gz", folder / "genes.tsv", folder / "barcodes.tsv")
>>> adata.shape, adata.uns["scclast"]["dataset"]["reader"]
((180, 9891), 'tenx_triplet')
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._errors import ScclastDataError, ScclastInputError
from scclast.datasets._genes import (
    GeneMap,
    fill_symbols,
    finalize_var,
    gene_keys,
    read_gene_map,
    split_features,
)
from scclast.datasets._members import Member, lines, local_member, payload
from scclast.datasets._qc import DEFAULT_MIN_GENES, add_qc_metrics, cells_from_barcodes

Counts = tuple[sp.csr_matrix, list[str], list[str | None], list[str | None]]
"""Cells x genes counts, barcodes, gene IDs, gene symbols."""


def triplet_counts(matrix: Member, features: Member, barcodes: Member) -> Counts:
    """Cells x genes counts of a 10x MatrixMarket triplet (Gene Expression features)."""
    import scipy.io

    try:
        coo = scipy.io.mmread(io.BytesIO(payload(matrix)))
    except (ValueError, OSError) as err:
        raise ScclastDataError(
            f"{matrix.name} is not a MatrixMarket file ({err}): delete it to download it again"
        ) from err
    genes_by_cells = sp.csr_matrix(coo, dtype=np.float32)
    rows = [line.split("\t") for line in lines(features)]
    cells = [line.split("\t")[0] for line in lines(barcodes)]
    n_genes, n_cells = genes_by_cells.shape
    if (n_genes, n_cells) == (len(cells), len(rows)) and n_genes != n_cells:
        genes_by_cells = genes_by_cells.T.tocsr()  # stored cells x genes
        n_genes, n_cells = n_cells, n_genes
    if n_genes != len(rows) or n_cells != len(cells):
        raise ScclastDataError(
            f"{matrix.name} is {n_genes} x {n_cells} but {features.name} lists {len(rows)} "
            f"genes and {barcodes.name} {len(cells)} barcodes: the files do not belong together"
        )
    ids, symbols, keep = split_features(rows, features.name)
    counts = genes_by_cells[np.flatnonzero(keep)].T.tocsr()
    ids = [i for i, k in zip(ids, keep, strict=True) if k]
    symbols = [s for s, k in zip(symbols, keep, strict=True) if k]
    return counts, cells, ids, symbols


def h5_counts(member: Member) -> Counts:
    """Cells x genes counts of a 10x HDF5 file (Gene Expression features)."""
    import h5py

    try:
        handle = h5py.File(io.BytesIO(member.read()), "r")
    except OSError as err:
        raise ScclastDataError(
            f"{member.name} is not an HDF5 file ({err}): delete it to download it again"
        ) from err
    with handle:
        if "matrix" in handle:  # Cell Ranger >= 3
            group = handle["matrix"]
            feats = group["features"]
            ids = _decode(feats["id"][:])
            names = _decode(feats["name"][:])
            types = _decode(feats["feature_type"][:]) if "feature_type" in feats else None
        else:  # Cell Ranger 2: one group per genome
            genomes = [k for k in handle if isinstance(handle[k], h5py.Group)]
            if len(genomes) != 1:
                raise ScclastDataError(
                    f"{member.name} is not a 10x HDF5 file (groups {genomes}): load it by hand"
                )
            group = handle[genomes[0]]
            ids, names, types = _decode(group["genes"][:]), _decode(group["gene_names"][:]), None
        n_genes, n_cells = (int(v) for v in group["shape"][:])
        counts = sp.csr_matrix(
            (group["data"][:].astype(np.float32), group["indices"][:], group["indptr"][:]),
            shape=(n_cells, n_genes),
        )
        cells = _decode(group["barcodes"][:])
    rows = [
        [i, n, *([t] if types is not None else [])]
        for i, n, t in zip(ids, names, types or names, strict=True)
    ]
    gene_ids, symbols, keep = split_features(rows, member.name)
    counts = counts[:, np.flatnonzero(keep)].tocsr()
    gene_ids = [i for i, k in zip(gene_ids, keep, strict=True) if k]
    symbols = [s for s, k in zip(symbols, keep, strict=True) if k]
    return counts, cells, gene_ids, symbols


def _decode(values: Iterable[Any]) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def cells_adata(
    counts: sp.csr_matrix,
    cells: list[str],
    ids: list[str | None],
    symbols: list[str | None],
) -> ad.AnnData:
    """An AnnData of barcodes x genes with ``var["gene_ids"]`` and ``var["gene_symbols"]``."""
    keys = pd.Index(gene_keys(ids, symbols))
    var = pd.DataFrame(
        {"gene_ids": [i or "" for i in ids], "gene_symbols": [s or "" for s in symbols]},
        index=keys,
    )
    adata = ad.AnnData(
        X=counts, obs=pd.DataFrame({"barcode": cells}, index=pd.Index(cells)), var=var
    )
    if adata.var_names.duplicated().any():
        adata.var_names_make_unique()
    return adata


def cells_of(
    counts: Counts,
    name: str,
    *,
    filter_empty: bool | str,
    min_genes: int,
    qc: Mapping[str, Any] | None,
    mapping: Mapping[str, str],
) -> ad.AnnData:
    """Barcodes to cells: symbols filled from ``mapping`` first (the QC rule needs the
    mitochondrial genes), then :func:`scclast.datasets._qc.cells_from_barcodes`."""
    adata = cells_adata(*counts)
    fill_symbols(adata, mapping)
    return cells_from_barcodes(adata, name, filter_empty=filter_empty, min_genes=min_genes, qc=qc)


def read_10x_mtx(
    matrix: str | Path,
    features: str | Path,
    barcodes: str | Path,
    *,
    filter_empty: bool | str = "auto",
    min_genes: int = DEFAULT_MIN_GENES,
    qc: Mapping[str, Any] | None = None,
    gene_map: GeneMap = None,
) -> ad.AnnData:
    """Read one 10x MatrixMarket triplet (v2 ``genes.tsv`` or v3 ``features.tsv``).

    Parameters
    ----------
    matrix, features, barcodes
        The three files, gzipped or not.
    filter_empty
        Drop empty droplets: True, False, or ``"auto"`` (when the matrix looks
        unfiltered: a ``raw``/``unfiltered`` file name or >= 100,000 barcodes).
    min_genes
        Detected genes a barcode needs to count as a cell (default 200).
    qc
        Cell QC rule ``{"min_genes", "max_genes", "max_pct_mt"}`` (see
        :mod:`scclast.datasets._qc`); ``None``: none.
    gene_map
        Ensembl ID -> symbol mapping (table, GTF or dict) for files that carry only IDs.

    Examples
    --------
    >>> import scclast.datasets as ds
    >>> folder = Path(ds.__file__).parent / "data" / "tapseq_baccin_bm"
    >>> adata = read_10x_mtx(
    ...     folder / "matrix.mtx.gz", folder / "genes.tsv", folder / "barcodes.tsv"
    ... )
    >>> adata.shape, adata.uns["scclast"]["dataset"]["reader"]
    ((180, 9891), 'tenx_triplet')
    """
    mapping = read_gene_map(gene_map)
    counts = triplet_counts(local_member(matrix), local_member(features), local_member(barcodes))
    adata = cells_of(
        counts,
        Path(matrix).name,
        filter_empty=filter_empty,
        min_genes=min_genes,
        qc=qc,
        mapping=mapping,
    )
    return _single(adata, "tenx_triplet", [matrix, features, barcodes], mapping)


def read_10x_h5(
    path: str | Path,
    *,
    filter_empty: bool | str = "auto",
    min_genes: int = DEFAULT_MIN_GENES,
    qc: Mapping[str, Any] | None = None,
    gene_map: GeneMap = None,
) -> ad.AnnData:
    """Read a 10x HDF5 matrix (Cell Ranger 2 or >= 3 layout), Gene Expression only.

    Options as :func:`read_10x_mtx`.

    Examples
    --------
    >>> # not run as a test: no Cell Ranger .h5 ships with scclast (the tests build
    >>> # small ones in both layouts: tests/test_datasets_loaders.py)
    >>> adata = read_10x_h5("filtered_feature_bc_matrix.h5")  # doctest: +SKIP
    """
    mapping = read_gene_map(gene_map)
    adata = cells_of(
        h5_counts(local_member(path)),
        Path(path).name,
        filter_empty=filter_empty,
        min_genes=min_genes,
        qc=qc,
        mapping=mapping,
    )
    return _single(adata, "tenx_h5", [path], mapping)


def _single(
    adata: ad.AnnData, reader: str, files: list[Any], mapping: Mapping[str, str]
) -> ad.AnnData:
    filt = adata.uns.pop("empty_droplet_filter")
    adata.obs["sample"] = pd.Categorical([Path(str(files[0])).name.split(".")[0]] * adata.n_obs)
    adata.uns["scclast"] = {
        "dataset": {
            "reader": reader,
            "source_files": [Path(str(f)).name for f in files],
            "empty_droplet_filter": filt,
        }
    }
    finalize_var(adata, dict(mapping))
    add_qc_metrics(adata)
    return adata


def read_mtx_folder(path: str | Path, *, gene_map: GeneMap = None) -> ad.AnnData:
    """Read a folder with ``matrix.mtx[.gz]``, ``genes.tsv``/``features.tsv`` and
    ``barcodes.tsv`` (gzipped or not), plus an optional ``cell_metadata.tsv``.

    ``cell_metadata.tsv`` (tab-separated, first column the cell id, for example
    ``cell``/``celltype``) is joined onto ``obs``. No empty-droplet filter is applied.

    Examples
    --------
    >>> from importlib import resources
    >>> folder = resources.files("scclast.datasets") / "data" / "tapseq_baccin_bm"
    >>> read_mtx_folder(str(folder)).shape
    (180, 9891)
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ScclastInputError(f"{folder} is not a folder: pass a folder holding matrix.mtx.gz")
    matrix = _first(folder, ("matrix.mtx.gz", "matrix.mtx"))
    features = _first(folder, ("features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"))
    barcodes = _first(folder, ("barcodes.tsv.gz", "barcodes.tsv"))
    counts = triplet_counts(local_member(matrix), local_member(features), local_member(barcodes))
    adata = cells_of(
        counts, folder.name, filter_empty=False, min_genes=0, qc=None, mapping=read_gene_map(None)
    )
    metadata = folder / "cell_metadata.tsv"
    if metadata.exists():
        table = pd.read_csv(metadata, sep="\t", dtype=str)
        table = table.set_index(table.columns[0])
        unknown = adata.obs_names.difference(table.index)
        if len(unknown):
            raise ScclastDataError(
                f"{metadata} lacks {len(unknown)} cells of the matrix (e.g. {unknown[0]}): "
                "fix the table"
            )
        for column in table.columns:
            adata.obs[column] = pd.Categorical(table.loc[adata.obs_names, column].to_numpy())
    adata = _single(adata, "mtx_folder", [matrix, features, barcodes], read_gene_map(gene_map))
    adata.obs["sample"] = pd.Categorical([folder.name] * adata.n_obs)
    return adata


def _first(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).exists():
            return folder / name
    raise ScclastInputError(f"{folder} has none of {', '.join(names)}: add the file")


__all__ = [
    "Counts",
    "cells_adata",
    "cells_of",
    "h5_counts",
    "read_10x_h5",
    "read_10x_mtx",
    "read_mtx_folder",
    "triplet_counts",
]
