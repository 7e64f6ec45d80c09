"""Coupling factors and gene sets along the pseudotime: when does each one change?

For every feature (:mod:`._features`: each measurable coupling factor, the flagging
and Figure 4 phase sets, and the lineage state programmes as an orientation check) over
the cells with a pseudotime:

* **position**: each cell's *order* along the pseudotime (its rank, scaled to 0-1).
  Pseudotime is an order, not a clock, so the analysis uses only the order; spline knots
  at quantiles then cover the cells evenly.
* **smoothed expression**: a natural cubic regression spline of the feature in the
  order (``df`` degrees of freedom), with one intercept per sample when a sample key is
  given (:mod:`._splines`).
* **association**: F test of the spline given the samples; p from ``n_permutations``
  permutations of the order within samples (cells' order shuffled inside each animal,
  keeping its composition), Benjamini-Hochberg over the factors and sets together (the
  state programmes, an orientation check, form their own family).
* **peak**: the order at which the fitted curve is highest, called ``early`` (first
  third of the cells), ``middle`` or ``late`` (last third); ``none`` when the
  association is not significant. ``amplitude`` is the curve's range in standard
  deviations of the feature.

Cells are the observations; with a sample key the permutations respect samples, but
the FDR still counts cells, so a tiny amplitude can be significant in a large data
set: read ``amplitude`` beside ``fdr``.

Examples
--------
>>> import scclast
>>> adata = scclast.datasets.simulate_osteoclastogenesis(
...     n_cells=800, n_genes=600, seed=1, continuous=True, trend_genes={"Slit3": "late"})
>>> scclast.tl.lineage_states(adata, "cluster")
>>> scclast.tl.pseudotime(adata)
>>> scclast.tl.trajectory(adata, n_permutations=99)
>>> table = scclast.get.trajectory_table(adata).set_index("feature")
>>> table.loc[["slit3", "state_macrophage", "state_osteoclast"], "peak"].tolist()
['late', 'early', 'late']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
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
    doc_species,
)
from scclast._errors import ScclastInputError
from scclast._groups import table_for_uns
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._provenance import provenance
from scclast._stats import benjamini_hochberg
from scclast.tl._differentiation._features import (
    Feature,
    catalogue_features,
    describe,
    feature_matrix,
)
from scclast.tl._differentiation._pseudotime import lineage_states_of_cells
from scclast.tl._differentiation._splines import DEFAULT_DF, spline_test
from scclast.tl._lineage_rules import OSTEOCLAST_LINEAGE

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

TABLE_COLUMNS = (
    "feature",
    "kind",
    "label",
    "phase",
    "effect",
    "genes",
    "genes_measured",
    "n_cells",
    "n_samples",
    "statistic",
    "pvalue",
    "pvalue_f",
    "fdr",
    "significant",
    "amplitude",
    "peak_order",
    "peak_pseudotime",
    "peak_state",
    "peak",
    "direction",
)
"""Columns of ``trajectory.tsv`` (:func:`scclast.get.trajectory_table`)."""

PEAK_LABELS = ("early", "middle", "late")
"""Thirds of the cells' order in which a curve's maximum lies."""

MIN_CELLS = 30
"""Fewer cells with a pseudotime than this are not tested."""


@doc_params(
    doc_adata=doc_adata,
    doc_species=doc_species,
    doc_seed=doc_seed,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def trajectory(
    adata: AnnData,
    *,
    pseudotime: str | None = None,
    sample_key: str | None = None,
    gene_sets: Mapping[str, Iterable[str]] | None = None,
    species: str = "auto",
    df: int = DEFAULT_DF,
    n_permutations: int = 1000,
    fdr: float = 0.05,
    seed: int = 0,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Test every coupling factor and gene set for change along the pseudotime.

    Writes ``uns[key_added]["trajectory"]``: the table
    (:data:`~scclast.tl._differentiation._trajectory.TABLE_COLUMNS`; read it
    with :func:`scclast.get.trajectory_table`), the fitted curves on a grid of orders,
    the lineage-state composition along the order and, after a flag, the span of each
    flagged group.

    Parameters
    ----------
    {doc_adata}
    pseudotime
        ``obs`` column of the axis (any tool's pseudotime: larger = later); default:
        the one :func:`scclast.tl.pseudotime` wrote. Cells with NaN are left out.
    sample_key
        ``obs`` column of the biological replicate: one intercept per sample and
        permutations within samples.
    gene_sets
        ``{name: genes}`` tested besides the catalogue's phase sets; default: the sets
        the flag used to flag (else the catalogue's flagging sets).
    {doc_species}
    df
        Spline degrees of freedom.
    n_permutations
        Permutations of the order (the smallest p is ``1 / (n_permutations + 1)``).
    fdr
        Level at which a change is called significant (Benjamini-Hochberg).
    {doc_seed}
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    """
    from scclast._groups import resolve_species
    from scclast._matrix import expression_view

    started = time.perf_counter()
    adata = copy_or_self(adata, copy)
    keys = Keys(key_added)
    column = pseudotime or keys.pseudotime
    values = _axis(adata, column, pseudotime is None)
    cells = np.flatnonzero(np.isfinite(values))
    if cells.size < MIN_CELLS:
        raise ScclastInputError(
            f"obs[{column!r}] has {cells.size} cells with a value; the trajectory test needs "
            f"at least {MIN_CELLS}"
        )
    blocks = _samples(adata, sample_key, cells)
    subset = adata[cells]
    if getattr(adata, "isbacked", False):
        subset = subset.to_memory()
    view = expression_view(subset, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols)
    species_used = resolve_species(view, species)
    features = catalogue_features(species_used, _sets(adata, keys, gene_sets))
    genes = list(dict.fromkeys(g for f in features for g in f.genes))
    expression, found = _dense(view, genes)
    matrix, measured = feature_matrix(expression, found, features)
    order = pd.Series(values[cells]).rank(method="average").to_numpy()
    order = (order - order.min()) / max(order.max() - order.min(), 1e-12)
    tested = [j for j in range(len(features)) if measured[j]]
    fit = spline_test(
        order,
        matrix[:, tested],
        blocks=blocks,
        df=df,
        n_permutations=n_permutations,
        seed=seed,
    )
    states = _cell_states(adata, keys, cells)
    table = _table(features, measured, tested, fit, values[cells], order, states, blocks, fdr)
    curves = pd.DataFrame(fit.curves, columns=[features[j].name for j in tested])
    curves.insert(0, "order", fit.grid)
    record = provenance(
        pseudotime=column,
        sample_key=sample_key,
        species=species,
        df=df,
        n_permutations=n_permutations,
        fdr=fdr,
        seed=seed,
        layer=layer,
        use_raw=use_raw,
        gene_symbols=gene_symbols,
        key_added=key_added,
    )
    record.update(
        table=table_for_uns(table),
        curves=curves,
        composition=_composition(order, states),
        flagged_spans=_flagged_spans(adata, keys, cells, order),
        species_used=species_used,
        n_cells=int(cells.size),
        n_samples=len(set(blocks)) if blocks is not None else 1,
        position="order along the pseudotime (ranks scaled to 0-1)",
    )
    keys.store(adata, Step.TRAJECTORY, record)
    log.info(
        "trajectory: %d feature(s) tested along %s over %d cells in %.1f s; %d change(s) at FDR %g",
        len(tested),
        column,
        cells.size,
        time.perf_counter() - started,
        int(table["significant"].sum()),
        fdr,
    )
    return adata if copy else None


def _axis(adata: AnnData, column: str, default: bool) -> np.ndarray:
    if column not in adata.obs:
        how = "run scclast.tl.pseudotime first" if default else "check the column name"
        raise ScclastInputError(f"obs[{column!r}] (the pseudotime) is missing: {how}")
    values = pd.to_numeric(adata.obs[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).any():
        raise ScclastInputError(f"obs[{column!r}] holds no number: it is not a pseudotime")
    return values


def _samples(adata: AnnData, sample_key: str | None, cells: np.ndarray) -> np.ndarray | None:
    if sample_key is None:
        return None
    if sample_key not in adata.obs:
        listed = ", ".join(map(str, adata.obs.columns[:12]))
        raise ScclastInputError(
            f"sample_key={sample_key!r} is not a column of obs (columns: {listed}); name the "
            "column of animals or donors"
        )
    labels = adata.obs[sample_key].iloc[cells].astype(object)
    if labels.isna().any():
        raise ScclastInputError(
            f"obs[{sample_key!r}] has {int(labels.isna().sum())} lineage cell(s) without a "
            "sample: fill them in or drop those cells"
        )
    return labels.astype(str).to_numpy()


def _sets(
    adata: AnnData, keys: Keys, gene_sets: Mapping[str, Iterable[str]] | None
) -> dict[str, list[str]] | None:
    """The given sets, else the sets the flag flagged with, else ``None`` (catalogue's)."""
    if gene_sets is not None:
        return {str(k): [str(g) for g in v] for k, v in gene_sets.items()}
    recorded = keys.record(adata, Step.FLAG).get("sets", {})
    chosen = {
        str(name): [str(g) for g in entry.get("genes", [])]
        for name, entry in recorded.items()
        if isinstance(entry, Mapping) and entry.get("role") == "flag"
    }
    return chosen or None


def _dense(view: Any, genes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Normalised expression of ``genes`` (those present) as a dense cells x genes array."""
    indices, found, _ = view.index_of(genes)
    blocks = []
    for _, chunk in view.iter_chunks():
        part = chunk[:, indices]
        blocks.append(part.toarray() if hasattr(part, "toarray") else np.asarray(part))
    expression = np.vstack(blocks) if blocks else np.zeros((0, len(found)))
    return expression, found


def _cell_states(adata: AnnData, keys: Keys, cells: np.ndarray) -> np.ndarray:
    if keys.lineage_state not in adata.obs:
        return np.full(cells.size, "", dtype=object)
    return lineage_states_of_cells(adata, keys).to_numpy()[cells]


def _table(
    features: list[Feature],
    measured: list[list[str]],
    tested: list[int],
    fit: Any,
    values: np.ndarray,
    order: np.ndarray,
    states: np.ndarray,
    blocks: np.ndarray | None,
    fdr: float,
) -> pd.DataFrame:
    table = describe(features, measured)
    n = len(features)
    columns = {name: np.full(n, np.nan) for name in ("statistic", "pvalue", "pvalue_f")}
    columns |= {name: np.full(n, np.nan) for name in ("amplitude", "peak_order")}
    for k, j in enumerate(tested):
        columns["statistic"][j] = fit.statistic[k]
        columns["pvalue"][j] = fit.pvalue[k]
        columns["pvalue_f"][j] = fit.pvalue_f[k]
        curve = fit.curves[:, k]
        columns["amplitude"][j] = float(curve.max() - curve.min())
        columns["peak_order"][j] = float(fit.grid[int(np.argmax(curve))])
    for name, values_ in columns.items():
        table[name] = values_
    table["n_cells"] = int(order.size)
    table["n_samples"] = len(set(blocks)) if blocks is not None else 1
    kinds = table["kind"].to_numpy()
    q = np.full(n, np.nan)
    hypotheses = kinds != "state"
    q[hypotheses] = benjamini_hochberg(table["pvalue"].to_numpy()[hypotheses])
    q[~hypotheses] = benjamini_hochberg(table["pvalue"].to_numpy()[~hypotheses])
    table["fdr"] = q
    table["significant"] = np.nan_to_num(q, nan=1.0) <= fdr
    table["peak_pseudotime"] = [
        float(np.quantile(values, p)) if np.isfinite(p) else np.nan for p in table["peak_order"]
    ]
    table["peak_state"] = [_state_near(order, states, p) for p in table["peak_order"]]
    table["peak"] = [
        _peak_label(p) if sig else "none"
        for p, sig in zip(table["peak_order"], table["significant"], strict=True)
    ]
    table["direction"] = [_direction(fit, tested, j) for j in range(n)]
    table.loc[table["genes_measured"].str.startswith("0/"), "peak"] = "not measured"
    return table[list(TABLE_COLUMNS)]


def _peak_label(position: float) -> str:
    if not np.isfinite(position):
        return "none"
    return PEAK_LABELS[min(int(position * 3), 2)]


def _direction(fit: Any, tested: list[int], j: int) -> str:
    """``rising``, ``falling`` or ``transient`` (highest inside, both ends lower)."""
    if j not in tested:
        return ""
    curve = fit.curves[:, tested.index(j)]
    peak = int(np.argmax(curve))
    span = float(curve.max() - curve.min()) or 1.0
    inside = 0 < peak < curve.size - 1
    if inside and min(curve.max() - curve[0], curve.max() - curve[-1]) > 0.25 * span:
        return "transient"
    return "rising" if curve[-1] >= curve[0] else "falling"


def _state_near(order: np.ndarray, states: np.ndarray, position: float, width: float = 0.05) -> str:
    """The most common lineage state among cells within ``width`` of ``position``."""
    if not np.isfinite(position):
        return ""
    near = np.abs(order - position) <= width
    if not near.any():
        return ""
    names, counts = np.unique(states[near].astype(str), return_counts=True)
    return str(names[int(np.argmax(counts))])


def _composition(order: np.ndarray, states: np.ndarray, bins: int = 20) -> pd.DataFrame:
    """Share of each lineage state per bin of the order (for the figure's state strip)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(order, edges[1:-1]), 0, bins - 1)
    names = [s for s in OSTEOCLAST_LINEAGE if (states == s).any()]
    others = sorted(set(states.astype(str)) - set(names) - {""})
    frame = pd.DataFrame({"start": edges[:-1], "stop": edges[1:]})
    counts = np.bincount(index, minlength=bins).astype(float)
    for name in [*names, *others]:
        share = np.bincount(index[states == name], minlength=bins) / np.maximum(counts, 1.0)
        frame[name] = share
    return frame


def _flagged_spans(
    adata: AnnData, keys: Keys, cells: np.ndarray, order: np.ndarray
) -> pd.DataFrame:
    """Per flagged group: its cells' order at the 5th, 50th and 95th percentile."""
    columns = ["group", "low", "median", "high", "n_cells"]
    flag = keys.record(adata, Step.FLAG)
    if not flag:
        return pd.DataFrame(columns=columns)
    from scclast import get

    groups = get.flagged_groups(adata, keys.key_added)
    groupby = get.groupby(adata, keys.key_added)
    labels = adata.obs[groupby].astype(object).astype(str).to_numpy()[cells]
    rows = []
    for group in groups:
        inside = order[labels == str(group)]
        if inside.size:
            low, median, high = np.quantile(inside, [0.05, 0.5, 0.95])
            rows.append((str(group), float(low), float(median), float(high), int(inside.size)))
    return pd.DataFrame(rows, columns=columns)


__all__ = ["MIN_CELLS", "PEAK_LABELS", "TABLE_COLUMNS", "trajectory"]
