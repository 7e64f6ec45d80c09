"""A differentiation axis over the osteoclast-lineage cells: scanpy's diffusion pseudotime.

Which cells: those whose group the lineage gate called ``macrophage``,
``oc_precursor``, ``osteoclast`` or ``osteomorph`` (:func:`scclast.tl.lineage_states`
or :func:`scclast.tl.flag` first); every other cell gets NaN. Neutrophils, dendritic
cells, stromal and osteoblast-lineage cells would otherwise pull the diffusion
components toward their own branches.

How: log-normalised expression (``log1p`` of counts per 10,000, as everywhere in
scclast), the ``n_top_genes`` most variable genes (scanpy's ``seurat`` flavour) when
there are more, PCA, an exact k-nearest-neighbour graph with a Gaussian kernel, diffusion
map (``sc.tl.diffmap``) and diffusion pseudotime (``sc.tl.dpt``; Haghverdi et al., 2016,
Nat Methods 13:845). Every random step takes ``seed``.

Large data: the diffusion map is computed on at most ``max_cells`` lineage cells drawn at
random (seeded; :data:`MAX_CELLS` by default) and every other lineage cell gets the mean
pseudotime of its ``n_neighbors`` nearest drawn cells in the same PCA space. Written by
hand because scanpy has no out-of-sample diffusion pseudotime; without it, 85,000 lineage
cells spent about 110 s building the neighbour graph alone (pynndescent compiles its
numba code in every new process), against about 10 s with 20,000 drawn cells.

Root: a macrophage cell. Among the first three non-trivial diffusion components the
one that best separates the macrophage cells from the most mature lineage state present
is chosen (largest difference of medians over the spread), and the root is the
macrophage cell at its macrophage end. Without macrophage cells the earliest state
present is used and the record says so. Diffusion pseudotime is scaled to [0, 1]; cells
the graph cannot reach from the root get NaN (counted in the record).

What it is not: a clock. Pseudotime orders cells by transcriptional similarity; equal
steps of pseudotime are not equal times, and a cell's position says nothing about how
long it stayed there. The record keeps the rank correlation between pseudotime and the
lineage calls' state order (macrophage < precursor < osteoclast < osteomorph) as a check
of the direction.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast._adata import copy_or_self, set_obs_columns
from scclast._docs import (
    doc_adata,
    doc_copy,
    doc_key_added,
    doc_matrix,
    doc_params,
    doc_returns_copy,
    doc_seed,
)
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._neighbors import knn_transformer
from scclast._provenance import provenance
from scclast._warnings import DataWarning, warn
from scclast.tl._lineage_rules import MACROPHAGE, OSTEOCLAST_LINEAGE

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

MIN_LINEAGE_CELLS = 30
"""Fewer osteoclast-lineage cells than this give no meaningful diffusion map."""

MAX_CELLS = 20_000
"""Diffusion map on at most this many lineage cells (the rest placed by their neighbours):
the exact neighbour graph of 20,000 cells takes seconds, and 20,000 cells sample a
lineage's states densely (a state of 1 % still has about 200 drawn cells)."""

MIN_STATE_RHO = 0.7
"""Below this rank correlation with the lineage state order the axis is flagged as not
following the lineage (a continuum simulated with known order gives 0.93-0.94; separate
clusters give anything from -0.4 to 0.95)."""

METHOD = (
    "diffusion pseudotime (scanpy sc.tl.diffmap + sc.tl.dpt; Haghverdi et al. 2016) over "
    "the osteoclast-lineage cells, rooted in the macrophage state"
)


@doc_params(
    doc_adata=doc_adata,
    doc_matrix=doc_matrix,
    doc_seed=doc_seed,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def pseudotime(
    adata: AnnData,
    *,
    root_state: str = MACROPHAGE,
    n_top_genes: int = 2000,
    n_pcs: int = 30,
    n_neighbors: int = 15,
    n_dcs: int = 10,
    max_cells: int | None = MAX_CELLS,
    seed: int = 0,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Diffusion pseudotime of the osteoclast-lineage cells, rooted in the macrophage state.

    Needs the lineage states (:func:`scclast.tl.lineage_states` or
    :func:`scclast.tl.flag`). Writes ``obs[f"{{key_added}}_pseudotime"]`` (NaN outside
    the lineage) and ``uns[key_added]["pseudotime"]`` (parameters, root cell, the
    diffusion component used, state medians and the rank correlation with the lineage
    state order).

    Parameters
    ----------
    {doc_adata}
    root_state
        Lineage state holding the root (default ``"macrophage"``).
    n_top_genes
        Most variable genes kept before PCA (all genes when fewer).
    n_pcs, n_neighbors, n_dcs
        PCA components, neighbours of the kNN graph, diffusion components for DPT.
    max_cells
        Diffusion map on at most this many lineage cells drawn at random (seeded); the
        others get the mean pseudotime of their ``n_neighbors`` nearest drawn cells in
        PCA space. ``None``: all cells (slow beyond a few tens of thousands).
    {doc_seed}
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}

    Examples
    --------
    A simulated continuum from macrophages to osteoclasts:

    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=800, n_genes=600, seed=1, continuous=True)
    >>> scclast.tl.lineage_states(adata, "cluster")
    >>> scclast.tl.pseudotime(adata)
    >>> by_state = adata.obs.groupby("state_true", observed=True)["scclast_pseudotime"]
    >>> by_state.median().round(2).to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'macrophage': 0.13, 'oc_precursor': 0.44, 'osteoclast': 0.74,
     'osteoclast_secretory': 0.92, 'stromal': nan}
    """
    import scanpy as sc

    adata = copy_or_self(adata, copy)
    keys = Keys(key_added)
    keys.require(adata, Step.LINEAGE, "scclast.tl.lineage_states (or scclast.tl.flag)")
    states = lineage_states_of_cells(adata, keys)
    mask = states.isin(OSTEOCLAST_LINEAGE).to_numpy()
    present = [s for s in OSTEOCLAST_LINEAGE if (states == s).any()]
    if mask.sum() < MIN_LINEAGE_CELLS or len(present) < 2:
        raise ScclastInputError(
            f"pseudotime needs at least {MIN_LINEAGE_CELLS} osteoclast-lineage cells in two "
            f"states or more; the lineage gate found {int(mask.sum())} cells in "
            f"{', '.join(present) or 'no lineage state'}"
        )
    root = root_state if root_state in present else present[0]
    if root != root_state:
        warn(
            f"pseudotime: no {root_state} cells among the lineage cells; rooted in the "
            f"earliest state present ({root})",
            DataWarning,
        )
    lineage = _normalised_lineage(adata, mask, layer, use_raw, gene_symbols)
    n_genes_used = int(lineage.n_vars)
    if lineage.n_vars > n_top_genes:
        sc.pp.highly_variable_genes(lineage, n_top_genes=n_top_genes, flavor="seurat")
        lineage = lineage[:, lineage.var["highly_variable"].to_numpy()].copy()
    n_comps = max(2, min(n_pcs, lineage.n_obs - 1, lineage.n_vars - 1))
    sc.pp.pca(lineage, n_comps=n_comps, random_state=seed)
    cell_states = states[mask].to_numpy()
    drawn = _draw_cells(lineage.n_obs, max_cells, seed)
    graph = lineage[drawn].copy() if drawn is not None else lineage
    graph_states = cell_states[drawn] if drawn is not None else cell_states
    k = min(n_neighbors, graph.n_obs - 1)
    # method="gauss": the Gaussian kernel of diffusion pseudotime (Haghverdi et al.
    # 2016), and no umap-learn connectivities, whose numba code would be compiled again
    # in every new process (about 20 s on 2 cores)
    sc.pp.neighbors(
        graph, n_neighbors=k, use_rep="X_pca", random_state=seed, method="gauss",
        transformer=knn_transformer(graph.n_obs, k, seed),
    )  # fmt: skip
    n_diffusion = max(2, min(n_dcs, graph.n_obs - 2))
    sc.tl.diffmap(graph, n_comps=n_diffusion + 1)
    component, root_index = _root(graph.obsm["X_diffmap"], graph_states, root, present)
    graph.uns["iroot"] = int(root_index)
    sc.tl.dpt(graph, n_dcs=n_diffusion)
    values = graph.obs["dpt_pseudotime"].to_numpy(dtype=float)
    values[~np.isfinite(values)] = np.nan
    if drawn is not None:
        values = _place_others(lineage.obsm["X_pca"], drawn, values, k)
    unreachable = ~np.isfinite(values)
    if unreachable.any():
        warn(
            f"pseudotime: {int(unreachable.sum())} lineage cell(s) are not connected to the "
            "root in the neighbour graph; their pseudotime is NaN",
            DataWarning,
        )
    column = np.full(adata.n_obs, np.nan)
    column[mask] = values
    set_obs_columns(adata, pd.DataFrame({keys.pseudotime: column}, index=adata.obs_names))
    rho = _state_order_rho(values, cell_states)
    medians = {s: float(np.nanmedian(values[cell_states == s])) for s in present}
    disagreement = _disagreement(rho, medians)
    if disagreement:
        warn(disagreement, DataWarning)
    record = provenance(
        root_state=root_state,
        n_top_genes=n_top_genes,
        n_pcs=n_pcs,
        n_neighbors=n_neighbors,
        n_dcs=n_dcs,
        max_cells=max_cells,
        seed=seed,
        layer=layer,
        use_raw=use_raw,
        gene_symbols=gene_symbols,
        key_added=key_added,
    )
    record.update(
        method=METHOD,
        column=keys.pseudotime,
        states=present,
        root_state_used=root,
        root_cell=str(graph.obs_names[root_index]),
        n_cells_in_graph=int(graph.n_obs),
        root_component=int(component),
        n_cells=int(mask.sum()),
        n_unreachable=int(unreachable.sum()),
        n_genes=n_genes_used,
        n_genes_used=int(lineage.n_vars),
        state_medians=medians,
        state_order_rho=rho,
        warning=disagreement or "",
    )
    keys.store(adata, Step.PSEUDOTIME, record)
    log.info(
        "pseudotime over %d osteoclast-lineage cells (%s), rooted in %s; Spearman rho with "
        "the state order %.2f",
        int(mask.sum()),
        ", ".join(present),
        root,
        rho,
    )
    return adata if copy else None


def _draw_cells(n_obs: int, max_cells: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of the cells the diffusion map is built on; ``None``: all cells."""
    if max_cells is None or n_obs <= max_cells:
        return None
    if max_cells < MIN_LINEAGE_CELLS:
        raise ScclastInputError(
            f"max_cells={max_cells}: give at least {MIN_LINEAGE_CELLS} (or None for all cells)"
        )
    return np.sort(np.random.default_rng(seed).choice(n_obs, size=max_cells, replace=False))


def _place_others(pcs: np.ndarray, drawn: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Pseudotime of every cell: the drawn cells' own, the others' from their neighbours.

    A cell not drawn gets the mean over its ``k`` nearest drawn cells (Euclidean, PCA
    space) that the graph reached; NaN when none did.
    """
    from sklearn.neighbors import NearestNeighbors

    out = np.full(pcs.shape[0], np.nan)
    out[drawn] = values
    others = np.setdiff1d(np.arange(pcs.shape[0]), drawn)
    index = NearestNeighbors(n_neighbors=k).fit(pcs[drawn])
    neighbours = index.kneighbors(pcs[others], return_distance=False)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neighbours give NaN
        out[others] = np.nanmean(values[neighbours], axis=1)
    return out


def lineage_states_of_cells(adata: AnnData, keys: Keys) -> pd.Series:
    """The per-cell lineage state (text; ``""`` where there is none)."""
    column = keys.lineage_state
    if column not in adata.obs:
        raise ScclastInputError(
            f"obs[{column!r}] is missing: run scclast.tl.lineage_states or scclast.tl.flag "
            f"(key_added={keys.key_added!r}) first"
        )
    return adata.obs[column].astype(object).fillna("").astype(str)


def _normalised_lineage(
    adata: AnnData, mask: np.ndarray, layer: str | None, use_raw: bool, gene_symbols: str | None
) -> AnnData:
    """Log-normalised expression of the lineage cells, in memory."""
    from scclast._matrix import expression_view, normalised_anndata

    subset = adata[mask]
    if getattr(adata, "isbacked", False):
        subset = subset.to_memory()
    view = expression_view(subset, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols)
    return normalised_anndata(view, subset.obs_names)


def _root(
    diffmap: np.ndarray, states: np.ndarray, root: str, present: list[str]
) -> tuple[int, int]:
    """The diffusion component separating root and mature cells best, and the root cell."""
    mature = present[-1] if present[-1] != root else present[-2]
    is_root, is_mature = states == root, states == mature
    best, best_score, sign = 1, -np.inf, 1.0
    for component in range(1, min(4, diffmap.shape[1])):
        values = diffmap[:, component]
        spread = np.std(values) or 1.0
        gap = (np.median(values[is_root]) - np.median(values[is_mature])) / spread
        if abs(gap) > best_score:
            best, best_score, sign = component, abs(gap), np.sign(gap) or 1.0
    candidates = np.flatnonzero(is_root)
    index = candidates[np.argmax(sign * diffmap[candidates, best])]
    return best, int(index)


def _disagreement(rho: float, medians: dict[str, float]) -> str | None:
    """A warning when the pseudotime does not follow the lineage calls' order: a low rank
    correlation, or a state whose median lies before an earlier state's."""
    swapped = [
        f"{later} cells sit before {earlier} cells"
        for i, earlier in enumerate(medians)
        for later in list(medians)[i + 1 :]
        if medians[later] < medians[earlier]
    ]
    if (not np.isfinite(rho) or rho >= MIN_STATE_RHO) and not swapped:
        return None
    detail = f"Spearman rho = {rho:.2f}" + (f"; {', '.join(swapped)}" if swapped else "")
    return (
        f"pseudotime: its order does not follow the lineage calls ({detail}); the lineage "
        "groups may be separate clusters rather than a continuum, and the order between "
        "clusters is then not set by the data. Read peaks within groups only, or give a "
        "pseudotime of your own (--pseudotime-key)"
    )


def _state_order_rho(values: np.ndarray, states: np.ndarray) -> float:
    """Spearman correlation of pseudotime with the lineage state order."""
    rank = {s: i for i, s in enumerate(OSTEOCLAST_LINEAGE)}
    order = np.array([rank.get(s, np.nan) for s in states], dtype=float)
    finite = np.isfinite(values) & np.isfinite(order)
    if finite.sum() < 3 or np.unique(order[finite]).size < 2:
        return float("nan")
    from scipy import stats  # slow to import: only when used

    return float(stats.spearmanr(values[finite], order[finite])[0])


def pseudotime_record(adata: AnnData, key_added: str = DEFAULT_KEY) -> dict[str, Any]:
    """The pseudotime record (empty when :func:`pseudotime` has not run)."""
    return dict(Keys(key_added).record(adata, Step.PSEUDOTIME))


__all__ = ["METHOD", "MIN_LINEAGE_CELLS", "lineage_states_of_cells", "pseudotime"]
