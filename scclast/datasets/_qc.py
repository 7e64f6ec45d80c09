"""From barcodes to cells: the empty-droplet filter, QC metrics and the cell QC rule.

Unfiltered 10x matrices list every barcode of the chemistry's whitelist (737,280 for
10x v2), almost all of them empty droplets. They are reduced to cells by a documented
rule, applied per sample, with the number kept after each step logged and recorded in
``uns["scclast"]["dataset"]["empty_droplet_filter"][sample]["steps"]``:

1. **empty droplets**: keep barcodes with at least ``min_genes`` detected genes
   (default 200, the threshold of common 10x tutorials; not a statistical test such as
   EmptyDrops, so cells with very few genes, e.g. some granulocytes, may be lost);
2. **cell QC** (optional, ``qc={...}``), on scanpy's QC metrics
   (:func:`scanpy.pp.calculate_qc_metrics`, mitochondrial genes = symbols starting
   ``mt-``/``MT-``): keep cells with ``n_genes_by_counts >= qc["min_genes"]``, then
   ``n_genes_by_counts <= qc["max_genes"]`` (doublets), then
   ``pct_counts_mt < qc["max_pct_mt"]`` (broken cells).

Examples
--------
>>> import anndata as ad, numpy as np, scipy.sparse as sp
>>> a = ad.AnnData(sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=np.float32)))
>>> filter_empty_droplets(a, min_genes=2).n_obs
1
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from scclast._errors import ScclastInputError
from scclast._warnings import DataWarning, warn
from scclast.datasets._genes import mito_mask

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

DEFAULT_MIN_GENES = 200
"""Empty-droplet filter: minimum detected genes for a barcode to count as a cell."""

AUTO_UNFILTERED_BARCODES = 100_000
"""With ``filter_empty="auto"``, a 10x matrix with at least this many barcodes (or a file
name saying ``raw``/``unfiltered``) is treated as unfiltered."""

QC_KEYS = ("min_genes", "max_genes", "max_pct_mt")
"""Keys of a cell QC rule (``qc=`` of the readers, ``loader_options.qc`` in the registry)."""

_UNFILTERED_NAME = re.compile(r"(?i)(?:^|[._/-])(?:raw|unfiltered)(?:[._/-]|$)")


def filter_empty_droplets(adata: AnnData, min_genes: int = DEFAULT_MIN_GENES) -> AnnData:
    """Keep barcodes with at least ``min_genes`` detected genes (an empty-droplet filter).

    Examples
    --------
    >>> import anndata as ad, numpy as np, scipy.sparse as sp
    >>> a = ad.AnnData(sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=np.float32)))
    >>> filter_empty_droplets(a, min_genes=2).n_obs
    1
    """
    return adata[detected_genes(adata.X) >= min_genes].copy()


def detected_genes(X: Any) -> np.ndarray:
    """Genes with a non-zero count, per row."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, copy=True)
        X.eliminate_zeros()  # stored zeros are not detections
        return np.diff(X.indptr)
    return np.count_nonzero(np.asarray(X), axis=1)


def add_qc_metrics(adata: AnnData) -> None:
    """Add ``total_counts``, ``n_genes_by_counts`` and ``pct_counts_mt`` to ``obs``, in place.

    The definitions of :func:`scanpy.pp.calculate_qc_metrics` (``qc_vars=["mt"]``),
    without importing scanpy. Mitochondrial genes are those whose symbol starts with
    ``mt-`` (mouse) or ``MT-`` (human); ``var["mt"]`` marks them.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[3.0, 1.0]], dtype=np.float32))
    >>> a.var_names = ["mt-Co1", "Actb"]
    >>> add_qc_metrics(a)
    >>> float(a.obs["pct_counts_mt"].iloc[0])
    75.0
    """
    X = adata.X
    mt = mito_mask(adata.var)
    adata.var["mt"] = mt
    total = np.asarray(X.sum(axis=1)).ravel()
    detected = np.asarray((X > 0).sum(axis=1)).ravel()
    mt_total = np.asarray(X[:, mt].sum(axis=1)).ravel() if mt.any() else np.zeros_like(total)
    adata.obs["total_counts"] = total.astype(np.float64)
    adata.obs["n_genes_by_counts"] = detected.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        adata.obs["pct_counts_mt"] = np.where(total > 0, 100.0 * mt_total / total, 0.0)


def should_filter(filter_empty: bool | str, name: str, n_barcodes: int) -> bool:
    """Whether the empty-droplet filter applies to a matrix (``filter_empty="auto"``:
    a ``raw``/``unfiltered`` file name or at least 100,000 barcodes)."""
    if filter_empty == "auto":
        return bool(_UNFILTERED_NAME.search(name)) or n_barcodes >= AUTO_UNFILTERED_BARCODES
    if isinstance(filter_empty, bool):
        return filter_empty
    raise ScclastInputError(f"filter_empty={filter_empty!r}: use True, False or 'auto'")


def check_qc(qc: Mapping[str, Any] | None) -> dict[str, float]:
    """A cell QC rule with known keys and numeric values (``{}`` for none).

    Examples
    --------
    >>> check_qc({"min_genes": 501, "max_pct_mt": 10})
    {'min_genes': 501, 'max_pct_mt': 10}
    """
    if not qc:
        return {}
    if not isinstance(qc, Mapping):
        raise ScclastInputError(f"qc={qc!r}: give a mapping with keys {', '.join(QC_KEYS)}")
    unknown = sorted(set(qc) - set(QC_KEYS))
    if unknown:
        raise ScclastInputError(f"qc has unknown key(s) {unknown}: use {', '.join(QC_KEYS)}")
    for key, value in qc.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ScclastInputError(f"qc[{key!r}]={value!r}: give a number >= 0")
    return dict(qc)


def cells_from_barcodes(
    adata: AnnData,
    name: str,
    *,
    filter_empty: bool | str,
    min_genes: int = DEFAULT_MIN_GENES,
    qc: Mapping[str, Any] | None = None,
) -> AnnData:
    """Apply the empty-droplet filter (when it applies) and the QC rule (when given).

    Returns the kept cells; ``uns["empty_droplet_filter"]`` records the rule, whether
    it applied, and the cells kept after each step (also logged).
    """
    rule = check_qc(qc)
    n_barcodes = adata.n_obs
    steps: dict[str, int] = {"barcodes": int(n_barcodes)}
    filtered = should_filter(filter_empty, name, n_barcodes)
    if filtered:
        adata = filter_empty_droplets(adata, min_genes)
        steps[f"n_genes_by_counts >= {min_genes}"] = int(adata.n_obs)
    if rule:
        adata = _apply_qc(adata, rule, steps, name)
    if len(steps) > 1:
        log.info(
            "%s: %s",
            name,
            " -> ".join(f"{n:,} {what}" for what, n in steps.items()),
        )
    adata.uns["empty_droplet_filter"] = {
        "applied": filtered,
        "min_genes": int(min_genes) if filtered else -1,
        "qc": rule,
        "steps": steps,
        "n_barcodes": int(n_barcodes),
        "n_cells": int(adata.n_obs),
    }
    return adata


def _apply_qc(adata: AnnData, rule: dict[str, float], steps: dict[str, int], name: str) -> AnnData:
    import scanpy as sc  # only for data that ask for the QC rule

    adata.var["mt"] = mito_mask(adata.var)
    if "max_pct_mt" in rule and not adata.var["mt"].any():
        warn(
            f"{name}: no mitochondrial gene (symbols starting mt- or MT-) is known, so the "
            f"rule pct_counts_mt < {rule['max_pct_mt']:g} removes nothing; pass gene_map= "
            "to give Ensembl IDs their symbols",
            DataWarning,
        )
    metrics, _ = sc.pp.calculate_qc_metrics(
        adata, qc_vars=["mt"], percent_top=None, log1p=False, inplace=False
    )
    keep = np.ones(adata.n_obs, dtype=bool)
    genes = metrics["n_genes_by_counts"].to_numpy()
    if "min_genes" in rule:
        keep &= genes >= rule["min_genes"]
        steps[f"n_genes_by_counts >= {rule['min_genes']:g}"] = int(keep.sum())
    if "max_genes" in rule:
        keep &= genes <= rule["max_genes"]
        steps[f"n_genes_by_counts <= {rule['max_genes']:g}"] = int(keep.sum())
    if "max_pct_mt" in rule:
        keep &= metrics["pct_counts_mt"].fillna(0.0).to_numpy() < rule["max_pct_mt"]
        steps[f"pct_counts_mt < {rule['max_pct_mt']:g}"] = int(keep.sum())
    return adata[keep].copy()


__all__ = [
    "AUTO_UNFILTERED_BARCODES",
    "DEFAULT_MIN_GENES",
    "QC_KEYS",
    "add_qc_metrics",
    "cells_from_barcodes",
    "check_qc",
    "filter_empty_droplets",
    "should_filter",
]
