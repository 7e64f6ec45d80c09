"""The embedding coloured by group and by the calibrated score, flagged groups outlined."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast._docs import doc_params, doc_plot_io
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY, EMBEDDING_BASIS
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._data import (
    FlagResults,
    as_str_categorical,
    flag_results,
    primary_gene_set,
    states_by_group,
)
from scclast.pl._legends import ring_handle
from scclast.pl._style import (
    FLAG_SHADE,
    MISSING_COLOUR,
    SIGNED_CMAP,
    group_colours,
    group_label,
)

if TYPE_CHECKING:
    from anndata import AnnData

TITLE = "Embedding: groups and calibrated clastokine score"
PANELS = ("groups", "score")
"""The panels :func:`embedding` can draw (its ``color``)."""
PANEL_SIZE = (5.75, 5.0)
"""Inches per panel on the function's own figure."""


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def embedding(
    adata: AnnData,
    *,
    color: str | Sequence[str] = PANELS,
    groupby: str | None = None,
    gene_set: str | None = None,
    basis: str = EMBEDDING_BASIS,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """The embedding coloured by group and by the calibrated score.

    Panel ``"groups"``: cells coloured by group, the legend naming each group's lineage
    state; panel ``"score"``: the calibrated z-score of ``gene_set`` on a diverging
    scale centred on 0. Cells of flagged groups are outlined in black and the flagged
    groups are labelled (bold, starred) on every panel.

    Parameters
    ----------
    adata
        Annotated data flagged by :func:`scclast.tl.flag`, with a 2-D embedding
        (:func:`scclast.tl.umap`).
    color
        The panels, in order: ``"groups"``, ``"score"`` or both (default).
    groupby
        Grouping column; default: the one recorded by flagging.
    gene_set
        Whose calibrated score to show; default: the set flagged most often, else the
        one with the highest AUROC.
    basis
        Key of ``obsm`` holding the 2-D coordinates.
    {doc_canvas}
        With ``ax``, ``color`` names one panel.
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Raises
    ------
    ScclastInputError
        ``obsm[basis]`` is missing, ``color`` names an unknown panel, or ``ax`` is given
        with more than one panel.

    Examples
    --------
    >>> import scclast
    >>> from matplotlib.figure import Figure
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> scclast.tl.umap(adata)
    >>> fig = scclast.pl.embedding(adata, return_fig=True)
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['groups (flagged groups outlined)', 'calibrated score: clastokines_secreted']

    One panel into an Axes of your own:

    >>> ax = Figure(layout="constrained").add_subplot()
    >>> fig = scclast.pl.embedding(adata, color="score", ax=ax, return_fig=True)
    >>> fig is ax.figure, ax.get_title()
    (True, 'calibrated score: clastokines_secreted')
    """
    panels = _panels(color, ax)
    results = flag_results(adata, key_added, groupby)
    if basis not in adata.obsm:
        raise ScclastInputError(
            f"obsm[{basis!r}] is missing: compute the embedding first "
            "(scclast.tl.umap), or name the one you have with basis="
        )
    coords = np.asarray(adata.obsm[basis])[:, :2]
    groups = as_str_categorical(adata.obs[results.groupby])
    is_flagged = np.isin(np.asarray(groups.astype(object)), list(results.flagged))
    size = float(np.clip(30_000 / max(len(coords), 1), 1.0, 25.0))
    default_size = (PANEL_SIZE[0] * len(panels), PANEL_SIZE[1])
    where = canvas(ax, figsize, default_size)
    axes = [ax] if ax is not None else list(np.atleast_1d(where.fig.subplots(1, len(panels))))
    for panel, target in zip(panels, axes, strict=True):
        if panel == "groups":
            _groups_panel(target, coords, groups, results, is_flagged, size)
        else:
            gene_set = gene_set or primary_gene_set(results.table)
            _score_panel(where.fig, target, adata, coords, is_flagged, size, gene_set, results)
        _label_groups(target, coords, groups, results.flagged)
    if where.owned:
        where.title(TITLE)
    return finish(where.fig, return_fig=return_fig, save=save)


def _panels(color: str | Sequence[str], ax: Axes | None) -> list[str]:
    panels = [color] if isinstance(color, str) else list(color)
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise ScclastInputError(
            f"color={color!r}: name the panels to draw, 'groups', 'score' or both"
        )
    if ax is not None and len(panels) != 1:
        raise ScclastInputError(
            f"ax= takes one panel but color={color!r} asks for {len(panels)}: pass "
            "color='groups' or color='score' with ax, or drop ax"
        )
    return panels


def _outline(ax: Axes, coords: np.ndarray, mask: np.ndarray, size: float) -> None:
    """Black ring under the flagged cells, drawn above all others (scanpy's outline)."""
    if mask.any():
        ax.scatter(*coords[mask].T, s=size * 3.2, c="black", linewidths=0, rasterized=True)
        ax.scatter(*coords[mask].T, s=size * 1.9, c="white", linewidths=0, rasterized=True)


def _groups_panel(
    ax: Axes,
    coords: np.ndarray,
    groups: pd.Categorical,
    results: FlagResults,
    is_flagged: np.ndarray,
    size: float,
) -> None:
    names = list(groups.categories)
    colours = group_colours(names)
    states = states_by_group(results.table)
    labels = np.asarray(groups.astype(object))
    colour_of = np.array([colours.get(g, MISSING_COLOUR) for g in labels], dtype=object)
    colour_of[pd.isna(labels)] = MISSING_COLOUR
    rest = ~is_flagged
    ax.scatter(*coords[rest].T, s=size, c=list(colour_of[rest]), linewidths=0, rasterized=True)
    _outline(ax, coords, is_flagged, size)
    ax.scatter(
        *coords[is_flagged].T, s=size, c=list(colour_of[is_flagged]), linewidths=0, rasterized=True
    )
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            color=colours[g],
            markersize=6,
            label=f"{group_label(g, results.flagged)}: {states.get(g, '?').replace('_', ' ')}",
        )
        for g in names
    ]
    handles.append(ring_handle())
    ax.legend(
        handles=handles,
        title="group: lineage state",
        fontsize=8,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        alignment="left",
        borderaxespad=0.0,
        ncols=2 if len(handles) > 16 else 1,
    )
    ax.set_title("groups (flagged groups outlined)", fontsize=10)
    _embedding_axes(ax)


def _score_panel(
    fig: Figure,
    ax: Axes,
    adata: AnnData,
    coords: np.ndarray,
    is_flagged: np.ndarray,
    size: float,
    gene_set: str | None,
    results: FlagResults,
) -> None:
    key = results.keys.z(gene_set) if gene_set is not None else ""
    if gene_set is None or key not in adata.obs:
        ax.scatter(*coords.T, s=size, c=MISSING_COLOUR, linewidths=0, rasterized=True)
        ax.set_title("no calibrated score recorded", fontsize=10)
        _embedding_axes(ax)
        return
    z = pd.to_numeric(adata.obs[key], errors="coerce").to_numpy(dtype=float)
    limit = float(np.nanpercentile(np.abs(z), 99)) if np.isfinite(z).any() else 1.0
    limit = max(limit, 1.0)
    norm = mcolors.TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    order = np.argsort(np.nan_to_num(z, nan=-np.inf), kind="stable")  # high on top
    rest = order[~is_flagged[order]]
    top = order[is_flagged[order]]
    kwargs = {"s": size, "cmap": SIGNED_CMAP, "norm": norm, "linewidths": 0, "rasterized": True}
    ax.scatter(*coords[rest].T, c=z[rest], **kwargs)
    _outline(ax, coords, is_flagged, size)
    points = ax.scatter(*coords[top].T, c=z[top], **kwargs)
    bar = fig.colorbar(points, ax=ax, shrink=0.7, pad=0.01)
    bar.set_label("calibrated z-score")
    ax.set_title(f"calibrated score: {gene_set}", fontsize=10)
    _embedding_axes(ax)


def _embedding_axes(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_aspect("equal", adjustable="datalim")


def _label_groups(ax: Axes, coords: np.ndarray, groups: pd.Categorical, flagged: set[str]) -> None:
    """Label each flagged group: at its median, or just above it when it is compact.

    A label drawn over a small, tight group would hide it (and its outline).
    """
    names = np.asarray(groups.astype(object))
    span = np.ptp(coords, axis=0) if len(coords) else np.ones(2)
    for group in groups.categories:
        mask = names == group
        if group not in flagged or not mask.any():
            continue
        x, y = np.median(coords[mask], axis=0)
        low, high = np.percentile(coords[mask, 1], [5, 95])
        compact = (high - low) < 0.12 * max(float(span[1]), 1e-9)
        ax.annotate(
            group_label(group, flagged),
            (x, high if compact else y),
            xytext=(0, 6 if compact else 0),
            textcoords="offset points",
            ha="center",
            va="bottom" if compact else "center",
            fontsize=9,
            fontweight="bold",
            bbox={
                "boxstyle": "round,pad=0.2",
                "facecolor": FLAG_SHADE,
                "edgecolor": "black",
                "alpha": 0.85,
            },
            zorder=5,
        )


__all__ = ["PANELS", "TITLE", "embedding"]
