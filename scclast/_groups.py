"""Groups of cells: labels to integer codes, per-group gene summaries, tables for ``uns``.

Shared by the lineage calls, flagging, enrichment and the figures, so that every step
reads a grouping column, checks the matrix and settles the species the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import genesets
from scclast._errors import ScclastInputError
from scclast._stats import GroupGeneSummary, summarise_groups
from scclast._warnings import DataWarning, warn

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView

LINEAGE_SET_NAMES = (
    "lineage_myeloid",
    "state_macrophage",
    "state_oc_precursor",
    "state_osteoclast",
)
"""Catalogue sets that decide the species when the symbols' case cannot."""


def group_codes(adata: AnnData, groupby: str) -> tuple[np.ndarray, list[str]]:
    """Integer code per cell and the group labels, from ``adata.obs[groupby]``.

    Cells with a missing label get code ``-1`` (outside every group, said once in a
    :class:`~scclast._warnings.DataWarning`); categories without cells are dropped.

    Raises
    ------
    ScclastInputError
        When ``groupby`` is not an ``obs`` column (the message lists the columns), or
        holds no group labels (continuous numbers, or a label per cell): see
        :func:`check_labels`.

    Examples
    --------
    >>> import anndata as ad
    >>> obs = pd.DataFrame({"g": ["b", "a", None]}, index=["c1", "c2", "c3"])
    >>> a = ad.AnnData(np.ones((3, 1)), obs=obs)
    >>> codes, groups = group_codes(a, "g")
    >>> codes.tolist(), groups
    ([1, 0, -1], ['a', 'b'])
    """
    if groupby not in adata.obs.columns:
        available = ", ".join(map(str, adata.obs.columns)) or "(none)"
        raise ScclastInputError(
            f"groupby={groupby!r} is not a column of adata.obs; available columns: {available}"
        )
    labels = adata.obs[groupby]
    check_labels(labels, groupby)
    missing = int(labels.isna().sum())
    if missing:
        # attributed to this line (stacklevel 1), so Python shows it once per run
        warn(
            f"obs[{groupby!r}] has no label for {missing:,} of {labels.size:,} cells: they "
            "belong to no group and are left out of every comparison",
            DataWarning,
            stacklevel=1,
        )
    categorical = labels.astype("category").cat.remove_unused_categories()
    groups = [str(c) for c in categorical.cat.categories]
    if len(set(groups)) != len(groups):
        raise ScclastInputError(f"obs[{groupby!r}] has labels that collide as text: rename them")
    codes = categorical.cat.codes.to_numpy().astype(np.intp)
    return codes, groups


MAX_LABEL_SHARE = 0.5
"""A grouping column with more distinct labels than this share of its labelled cells
(and more than :data:`MIN_GROUPS_TO_CHECK` labels) names cells, not groups."""

MIN_GROUPS_TO_CHECK = 50


def check_labels(labels: pd.Series, groupby: str) -> None:
    """Refuse a column that cannot be a grouping: continuous numbers, or one label per cell.

    Examples
    --------
    >>> check_labels(pd.Series([0.0, 1.0, 1.0]), "leiden")  # whole numbers are labels
    >>> check_labels(pd.Series(np.linspace(0, 1, 500)), "pseudotime")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: obs['pseudotime'] holds continuous numbers (500 ...
    """
    present = labels.dropna()
    if present.empty:
        return
    n_labels = int(present.nunique())
    if pd.api.types.is_float_dtype(present.dtype):
        values = present.to_numpy(dtype=float)
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            example = next(v for v in values if not np.isfinite(v) or v != round(v))
            raise ScclastInputError(
                f"obs[{groupby!r}] holds continuous numbers ({n_labels:,} distinct values, "
                f"e.g. {example:g}), not group labels: choose a column of cluster or "
                "cell-type labels, or leave the grouping out to build clusters"
            )
    if n_labels > MIN_GROUPS_TO_CHECK and n_labels > MAX_LABEL_SHARE * present.size:
        raise ScclastInputError(
            f"obs[{groupby!r}] has {n_labels:,} distinct labels for {present.size:,} cells "
            "(a name per cell, not a grouping): choose a column of cluster or cell-type "
            "labels, or leave the grouping out to build clusters"
        )


def check_view(view: ExpressionView) -> None:
    """Refuse scaled data: detection (value > 0) needs counts or log expression.

    Examples
    --------
    >>> import anndata as ad
    >>> from scclast._matrix import expression_view
    >>> scaled = ad.AnnData(np.array([[-1.0, 2.0], [0.5, -0.3]]))
    >>> check_view(expression_view(scaled))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: X holds scaled values (negative numbers): ...
    """
    if view.kind == "scaled":
        raise ScclastInputError(
            f"{view.record.get('matrix', 'X')} holds scaled values (negative numbers): "
            "lineage calls and flags need counts or log-normalised expression; pass "
            "use_raw=True or layer='counts' (--use-raw / --layer)"
        )


def resolve_species(view: ExpressionView, species: str) -> str:
    """The species for catalogue symbols: the view's, or the better-covered one.

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view
    >>> resolve_species(expression_view(scclast.datasets.example()), "auto")
    'mouse'
    """
    if view.species in ("mouse", "human"):
        return view.species
    if species in ("mouse", "human"):
        return species
    hits = {}
    for candidate in ("mouse", "human"):
        genes = {g for name in LINEAGE_SET_NAMES for g in genesets.get(name, candidate)}
        hits[candidate] = len(view.index_of(genes)[0])
    if max(hits.values()) == 0:
        raise ScclastInputError(
            "cannot tell the species from the gene symbols and no lineage gene matches: "
            "pass species='mouse' or 'human' (--species)"
        )
    return max(hits, key=lambda s: hits[s])


def summarise_sets(
    view: ExpressionView,
    codes: np.ndarray,
    groups: list[str],
    gene_lists: Iterable[Iterable[str]],
) -> GroupGeneSummary:
    """One pass: per-group sums and detections of every measured gene of the lists.

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view
    >>> adata = scclast.datasets.example()
    >>> codes, groups = group_codes(adata, "cluster")
    >>> summary = summarise_sets(expression_view(adata), codes, groups, [["Acp5", "Spi1"]])
    >>> summary.genes, summary.detection()[:, 0].round(2).tolist()  # Acp5 per cluster
    (['Acp5', 'Spi1'], [0.11, 0.45, 0.81, 0.86, 0.66, 0.0, 0.0, 0.02])
    """
    wanted = list(dict.fromkeys(g for genes in gene_lists for g in genes))
    indices, found, _ = view.index_of(wanted)
    return summarise_groups(view.iter_chunks(), codes, groups, indices, found)


def table_for_uns(table: pd.DataFrame) -> pd.DataFrame:
    """A copy that h5ad can store: text columns as ``str``, no ``None``.

    Examples
    --------
    >>> table_for_uns(pd.DataFrame({"a": [None, "x"]}))["a"].tolist()
    ['', 'x']
    """
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: "" if v is None else str(v))
    out.index = out.index.astype(str)
    return out


def per_cell(codes: np.ndarray, values: Any, fill: Any = None) -> np.ndarray:
    """Spread one value per group to the cells (``fill`` for cells without a group).

    Examples
    --------
    >>> per_cell(np.array([1, -1, 0]), ["a", "b"]).tolist()
    ['b', None, 'a']
    """
    values = np.asarray(values, dtype=object)
    return np.where(codes >= 0, values[np.maximum(codes, 0)], fill)


__all__ = [
    "check_labels",
    "check_view",
    "group_codes",
    "per_cell",
    "resolve_species",
    "summarise_sets",
    "table_for_uns",
]
