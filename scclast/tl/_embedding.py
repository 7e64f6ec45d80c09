"""A 2-D embedding for the figures, computed in row chunks so backed data fit in memory.

Variable genes are chosen by binned normalised dispersion of log-normalised expression
(scanpy's ``flavor="seurat"``) from one pass of per-gene moments; only those columns are
gathered, scaled to unit variance, and passed to scanpy's PCA, neighbour graph and UMAP,
each seeded. The stored matrix is never loaded whole or changed.

UMAP starts from a spectral layout of the neighbour graph. That start stalls (tens of
minutes on 200,000 cells) when the graph falls apart into many pieces, which is what
exact duplicate cells do: their neighbours are copies of themselves. When more than
:data:`MAX_DUPLICATE_SHARE` of the cells repeat another one, or the graph has more than
:data:`MAX_COMPONENTS` components, UMAP starts from the first two principal components
instead (the start umap-learn also offers), and the record says so.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import TYPE_CHECKING, Any

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._adata import copy_or_self
from scclast._docs import (
    doc_adata,
    doc_copy,
    doc_key_added,
    doc_matrix,
    doc_params,
    doc_returns_copy,
    doc_seed,
)
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view, gene_moments
from scclast._neighbors import knn_transformer
from scclast._provenance import provenance

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView

log = logging.getLogger("scclast")

N_TOP_GENES = 2000
"""Variable genes of the embedding (scanpy's tutorial default)."""

N_PCS = 30
"""Principal components of the neighbour graph."""

N_NEIGHBORS = 15
"""Neighbours of the graph (scanpy's default)."""

MAX_DUPLICATE_SHARE = 0.01
"""Share of cells that repeat another cell exactly above which UMAP starts from PCA."""

MAX_COMPONENTS = 20
"""Connected components of the neighbour graph above which UMAP starts from PCA."""


@doc_params(
    doc_adata=doc_adata,
    doc_seed=doc_seed,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def umap(
    adata: AnnData,
    *,
    seed: int = 0,
    n_top_genes: int = N_TOP_GENES,
    n_pcs: int = N_PCS,
    n_neighbors: int = N_NEIGHBORS,
    recompute: bool = False,
    compute: bool = True,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Make sure a 2-D UMAP is in ``obsm["X_umap"]``, computing it when needed.

    A usable UMAP already stored (the right shape, finite) is kept unless
    ``recompute``. Otherwise one is computed from a normalised copy of the
    ``n_top_genes`` most variable genes, gathered in row chunks and scaled to unit
    variance; then PCA, a ``n_neighbors`` graph (exact up to 20,000 cells) and UMAP.

    Parameters
    ----------
    {doc_adata}
    {doc_seed}
    n_top_genes, n_pcs, n_neighbors
        Variable genes, principal components and neighbours.
    recompute
        Compute a new UMAP even when one is stored.
    compute
        ``False``: never compute one (``scclast run --no-embedding``); a usable stored
        UMAP is still used, otherwise the record says the embedding was skipped and
        figures that need it say so.
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Writes ``obsm["X_umap"]`` and ``uns[key_added]["embedding"]`` (whether it was
    computed, and how: ``init`` is ``"spectral"``, or ``"pca"`` with its reason when
    duplicate cells or a graph in many pieces would stall the spectral start).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()[::5].copy()  # 600 cells: a quick example
    >>> del adata.obsm["X_umap"]  # the example ships with one
    >>> scclast.tl.umap(adata)
    >>> adata.obsm["X_umap"].shape, adata.uns["scclast"]["embedding"]["computed"]
    ((600, 2), True)
    >>> scclast.tl.umap(adata)  # a usable stored UMAP is kept
    >>> adata.uns["scclast"]["embedding"]["computed"]
    False
    """
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    existing = adata.obsm[keys.embedding] if keys.embedding in adata.obsm else None
    if not recompute and existing is not None and usable_embedding(existing, adata.n_obs):
        log.info("using the embedding stored in obsm[%r]", keys.embedding)
        _record_embedding(adata, keys, computed=False, seed=seed)
        return adata if copy else None
    if not compute:
        log.info("no embedding computed (asked not to): figures that need one are left out")
        _record_embedding(adata, keys, computed=False, seed=seed, skipped=True)
        return adata if copy else None
    matrix = {"layer": layer, "use_raw": use_raw, "gene_symbols": gene_symbols}
    _compute_umap(adata, keys, seed=seed, n_top_genes=n_top_genes, n_pcs=n_pcs,
                  n_neighbors=n_neighbors, matrix=matrix)  # fmt: skip
    return adata if copy else None


def usable_embedding(values: Any, n_obs: int) -> bool:
    """Whether ``values`` is a finite ``n_obs`` x >=2 array.

    Examples
    --------
    >>> usable_embedding(np.zeros((3, 2)), 3), usable_embedding(np.full((3, 2), np.nan), 3)
    (True, False)
    """
    values = np.asarray(values)
    return (
        values.ndim == 2
        and values.shape[0] == n_obs
        and values.shape[1] >= 2
        and bool(np.isfinite(values[:, :2]).all())
    )


def _compute_umap(
    adata: AnnData,
    keys: Keys,
    *,
    seed: int,
    n_top_genes: int,
    n_pcs: int,
    n_neighbors: int,
    matrix: dict[str, Any],
) -> None:
    import scanpy as sc  # on first use: importing scclast.tl stays fast

    started = time.perf_counter()
    view = expression_view(adata, **matrix)
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
        init, reason = umap_start(small.X, small.obsp["connectivities"], seed=seed)
        if reason:
            log.info("UMAP starts from the first two principal components: %s", reason)
        # the graph's pieces are expected here; sklearn warns about them for the spectral start
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        start = small.obsm["X_pca"][:, :2].copy() if init == "pca" else "spectral"
        sc.tl.umap(small, random_state=seed, init_pos=start)
    adata.obsm[keys.embedding] = np.asarray(small.obsm["X_umap"], dtype=np.float32)
    _record_embedding(
        adata,
        keys,
        computed=True,
        seed=seed,
        n_top_genes=int(chosen.size),
        n_pcs=n_comps,
        n_neighbors=int(min(n_neighbors, small.n_obs - 1)),
        normalisation=view.record["normalisation"],
        matrix=view.record["matrix"],
        init=init,
        init_reason=reason or "default",
    )
    log.debug("UMAP computed in %.1f s", time.perf_counter() - started)


def umap_start(matrix: Any, connectivities: Any, seed: int = 0) -> tuple[str, str]:
    """``("spectral", "")``, or ``("pca", reason)`` when a spectral start would stall.

    ``matrix`` holds the cells' expression as the embedding sees it; exact duplicate
    rows are found from two seeded random projections (identical rows project
    identically; distinct rows practically never coincide on both).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> cells = np.repeat(np.arange(10.0).reshape(5, 2), 4, axis=0)  # every cell 4 times
    >>> umap_start(cells, sp.identity(20, format="csr"))
    ('pca', '15 of 20 cells (75%) repeat another cell exactly')
    >>> umap_start(np.arange(40.0).reshape(20, 2), sp.csr_matrix(np.ones((20, 20))))
    ('spectral', '')
    """
    from scipy.sparse.csgraph import connected_components

    n_obs = matrix.shape[0]
    probes = np.random.default_rng(seed).standard_normal((matrix.shape[1], 2))
    projected = np.asarray(matrix @ probes, dtype=np.float64)
    repeats = n_obs - np.unique(projected, axis=0).shape[0]
    if repeats > MAX_DUPLICATE_SHARE * n_obs:
        share = repeats / n_obs
        return "pca", f"{repeats:,} of {n_obs:,} cells ({share:.0%}) repeat another cell exactly"
    n_components = connected_components(connectivities, directed=False)[0]
    if n_components > MAX_COMPONENTS:
        return "pca", f"the neighbour graph has {n_components:,} separate components"
    return "spectral", ""


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


def _gather_columns(view: ExpressionView, columns: np.ndarray) -> Any:
    """The chosen used columns of normalised expression, as one CSR (row chunks)."""
    blocks = []
    for _, chunk in view.iter_chunks(progress=None):
        part = chunk[:, columns]
        blocks.append(sp.csr_matrix(part, dtype=np.float32))
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, columns.size))


def _record_embedding(
    adata: AnnData, keys: Keys, *, computed: bool, seed: int, skipped: bool = False, **details: Any
) -> None:
    block = provenance(seed=seed, **details)
    block.update(basis=keys.embedding, computed=computed, skipped=skipped)
    keys.store(adata, Step.EMBEDDING, block)


def has_embedding(adata: AnnData | None, key_added: str = DEFAULT_KEY) -> bool:
    """Whether ``adata`` holds a usable 2-D embedding for the figures.

    Examples
    --------
    >>> import anndata as ad
    >>> has_embedding(ad.AnnData(np.zeros((3, 1))))
    False
    """
    if adata is None:
        return False
    basis = Keys(key_added).embedding
    return basis in adata.obsm and usable_embedding(adata.obsm[basis], adata.n_obs)


__all__ = [
    "MAX_COMPONENTS",
    "MAX_DUPLICATE_SHARE",
    "N_NEIGHBORS",
    "N_PCS",
    "N_TOP_GENES",
    "has_embedding",
    "umap",
    "umap_start",
    "usable_embedding",
    "variable_genes",
]
