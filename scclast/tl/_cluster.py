"""Leiden clusters with scanpy's standard path, for data that come without groups.

Highly variable genes are chosen on log-normalised expression (``flavor="seurat"``) and
the genes of the tested gene sets are left out of them, so that groups are not defined
by the genes later tested on them (no double dipping). The lineage markers stay in:
they describe cell identity, which is what clusters should follow.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

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
from scclast._matrix import expression_view, normalised_anndata
from scclast._neighbors import knn_transformer
from scclast._provenance import provenance

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

N_TOP_GENES = 2000
"""Highly variable genes used for the PCA (scanpy's tutorial default)."""


@doc_params(
    doc_adata=doc_adata,
    doc_matrix=doc_matrix,
    doc_seed=doc_seed,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def cluster(
    adata: AnnData,
    *,
    exclude_genes: Iterable[str] = (),
    resolution: float = 1.0,
    n_top_genes: int = N_TOP_GENES,
    seed: int = 0,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Leiden clusters of the cells, seeded, written to ``obs[f"{key_added}_leiden"]``.

    Log-normalise (counts only), ``n_top_genes`` highly variable genes without
    ``exclude_genes``, PCA, a 15-neighbour graph and Leiden (igraph flavour), every
    step seeded with ``seed``. The stored matrix is not changed.

    Parameters
    ----------
    {doc_adata}
    exclude_genes
        Genes kept out of the variable genes: the genes of the sets that will be tested
        on the clusters.
    resolution
        Leiden resolution (higher: more clusters).
    n_top_genes
        Highly variable genes for the PCA.
    {doc_seed}
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Writes ``obs[f"{key_added}_leiden"]`` and ``uns[key_added]["cluster"]``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()[::3].copy()  # 1,000 cells: a quick example
    >>> scclast.tl.cluster(adata, seed=0)
    >>> adata.obs["scclast_leiden"].nunique(), adata.uns["scclast"]["cluster"]["seed"]
    (8, 0)
    """
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    view = expression_view(adata, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols)
    normalised = normalised_anndata(view, obs_names=adata.obs_names)
    labels, details = leiden_clusters(
        normalised,
        exclude_genes=exclude_genes,
        resolution=resolution,
        n_top_genes=n_top_genes,
        seed=seed,
    )
    store_clusters(adata, labels, details, keys)
    return adata if copy else None


def leiden_clusters(
    normalised: AnnData,
    *,
    exclude_genes: Iterable[str] = (),
    resolution: float = 1.0,
    n_top_genes: int = N_TOP_GENES,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Cluster labels of a log-normalised in-memory AnnData, and what was done.

    Returns
    -------
    labels, details
        One label (text) per cell, and the parameters and counts of every step.

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view, normalised_anndata
    >>> adata = scclast.datasets.example()[::3].copy()
    >>> normalised = normalised_anndata(expression_view(adata), obs_names=adata.obs_names)
    >>> labels, details = leiden_clusters(normalised, exclude_genes=["Slit3", "Sphk1"])
    >>> len(labels), details["n_clusters"], details["n_scored_genes_excluded"]
    (1000, 8, 2)
    """
    import scanpy as sc  # on first use: importing scclast.tl stays fast

    work = normalised.copy()
    n_top = min(n_top_genes, work.n_vars)
    sc.pp.highly_variable_genes(work, n_top_genes=n_top, flavor="seurat")
    excluded = work.var_names.isin(list(exclude_genes))
    mask = work.var["highly_variable"].to_numpy() & ~excluded
    n_comps = int(max(2, min(30, mask.sum() - 1, work.n_obs - 1)))
    sc.pp.pca(work, n_comps=n_comps, mask_var=mask, random_state=seed)
    n_neighbors = int(min(15, work.n_obs - 1))
    sc.pp.neighbors(
        work,
        n_neighbors=n_neighbors,
        random_state=seed,
        transformer=knn_transformer(work.n_obs, n_neighbors, seed),
    )
    sc.tl.leiden(
        work,
        resolution=resolution,
        random_state=seed,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        key_added="leiden",
    )
    labels = work.obs["leiden"].astype(str).to_numpy()
    details = {
        "method": "leiden",
        "steps": "log-normalised (scclast._matrix), highly_variable_genes(flavor='seurat'), "
        "pca, neighbors, leiden(flavor='igraph', n_iterations=2)",
        "n_top_genes": int(n_top),
        "n_hvg_used": int(mask.sum()),
        "n_scored_genes_excluded": int((work.var["highly_variable"].to_numpy() & excluded).sum()),
        "n_pcs": n_comps,
        "n_neighbors": n_neighbors,
        "resolution": float(resolution),
        "seed": int(seed),
        "n_clusters": len(set(labels)),
    }
    return labels, details


def store_clusters(adata: AnnData, labels: np.ndarray, details: dict[str, Any], keys: Keys) -> str:
    """Write the labels to ``obs`` and the record to ``uns``; returns the ``obs`` column.

    Examples
    --------
    >>> import anndata as ad
    >>> adata = ad.AnnData(np.zeros((3, 1)))
    >>> store_clusters(adata, np.array(["0", "1", "0"]), {"n_clusters": 2}, Keys("run2"))
    'run2_leiden'
    >>> adata.obs["run2_leiden"].tolist(), adata.uns["run2"]["cluster"]["n_clusters"]
    (['0', '1', '0'], 2)
    """
    adata.obs[keys.leiden] = pd.Categorical(labels)
    block = provenance(**{k: v for k, v in details.items() if k != "steps"})
    block.update(details, groupby=keys.leiden)
    keys.store(adata, Step.CLUSTER, block)
    log.info("built %d Leiden clusters (obs[%r])", details["n_clusters"], keys.leiden)
    return keys.leiden


__all__ = ["N_TOP_GENES", "cluster", "leiden_clusters", "store_clusters"]
