"""Figures of a flagged AnnData (after :func:`scclast.tl.flag`).

Every function reads the flagging results from the AnnData (``key_added``), draws on a
new figure (pyplot's global state is never touched), saves it with ``save=`` and
returns it with ``return_fig=True`` (:mod:`scclast.pl._base`):

========================  ===============================================================
:func:`dotplot`           clastokine genes x groups: fraction expressing and mean level,
                          rows grouped by catalogue category, anabolic/inhibitory marked
:func:`embedding`         UMAP coloured by lineage state and by the calibrated score,
                          flagged groups outlined and labelled
:func:`factor_heatmap`    coupling factor x group, relative expression (z across groups)
:func:`effect_sizes`      group x gene set: AUROC (colour) and FDR (size), flags ringed
========================  ===============================================================

:func:`save_figure` writes PNG and PDF without timestamps (same input, same bytes), and
:func:`all_figures` draws and saves the four figures of ``scclast run``.

Colours are colour-blind safe: Okabe-Ito for categories and effects, ``viridis`` for
levels and ``RdBu_r`` (ColorBrewer) for signed values; effects and flags are also shown
by shape and text, never by colour alone.

Examples
--------
>>> import scclast
>>> adata = scclast.datasets.example()
>>> scclast.tl.flag(adata, "cluster", enrichment=False)
>>> fig = scclast.pl.dotplot(adata, return_fig=True)
>>> fig.get_axes()[0].get_xlabel()
'cluster'
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast import genesets, get
from scclast._docs import doc_params, doc_plot_io
from scclast._groups import group_codes
from scclast._keys import DEFAULT_KEY, EMBEDDING_BASIS, Keys, Step
from scclast._matrix import expression_view
from scclast.pl._base import DPI, finish, save_figure

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView

log = logging.getLogger("scclast")

# Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
EFFECT_STYLE: dict[str, tuple[str, str]] = {
    # effect: (colour, marker); shape and colour both carry the meaning
    "anabolic": ("#0072B2", "^"),
    "inhibitory": ("#D55E00", "v"),
    "controversial": ("#CC79A7", "D"),
}
MISSING_COLOUR = "#BBBBBB"
"""Cells without a group or score."""
FLAG_MARK = "\u2605"  # a black star, drawn beside flagged group names
FIGURE_NAMES = ("dotplot", "embedding", "factor_heatmap", "effect_sizes")
FIGURE_TITLES = {
    "dotplot": "Clastokine genes by group",
    "embedding": "Embedding: groups and calibrated clastokine score",
    "factor_heatmap": "Coupling factors by group",
    "effect_sizes": "Per-group effect sizes (AUROC) and FDR",
}


# --------------------------------------------------------------------------- public API


def all_figures(
    adata: AnnData,
    folder: str | Path,
    *,
    groupby: str | None = None,
    species: str | None = None,
    genes: pd.DataFrame | None = None,
    key_added: str = DEFAULT_KEY,
) -> dict[str, Path]:
    """Draw and save the four figures of a run; returns ``{name: png_path}``.

    Each figure is written as PNG and PDF (see :func:`save_figure`), drawn with
    matplotlib's default style whatever the user's ``matplotlibrc`` says.
    """
    common = {"groupby": groupby, "key_added": key_added, "return_fig": True}
    drawers = {
        "dotplot": lambda: dotplot(adata, species=species, genes=genes, **common),
        "embedding": lambda: embedding(adata, **common),
        "factor_heatmap": lambda: factor_heatmap(adata, species=species, genes=genes, **common),
        "effect_sizes": lambda: effect_sizes(adata, **common),
    }
    written: dict[str, Path] = {}
    # the report's figures look the same whatever the user's matplotlibrc says
    with matplotlib.style.context("default"):
        for name, draw in drawers.items():
            log.debug("drawing figure %s", name)
            written[name] = save_figure(draw(), folder, name)["png"]
    return written


def primary_gene_set(table: pd.DataFrame) -> str | None:
    """The gene set a one-score figure shows: the most often flagged, else the strongest.

    Ties are broken by the highest AUROC, then by table order.

    Examples
    --------
    >>> t = pd.DataFrame({"gene_set": ["x", "y"], "flagged": [False, True], "auroc": [0.9, 0.6]})
    >>> primary_gene_set(t)
    'y'
    """
    if table.empty:
        return None
    frame = table.assign(
        _order=np.arange(len(table)),
        _flagged=table["flagged"].astype(bool),
        _auroc=pd.to_numeric(table["auroc"], errors="coerce").fillna(0.0),
    )
    summary = frame.groupby("gene_set", sort=False).agg(
        n_flagged=("_flagged", "sum"), best=("_auroc", "max"), order=("_order", "min")
    )
    summary = summary.sort_values(["n_flagged", "best", "order"], ascending=[False, False, True])
    return str(summary.index[0])


@doc_params(doc_plot_io=doc_plot_io)
def dotplot(
    adata: AnnData,
    *,
    groupby: str | None = None,
    species: str | None = None,
    genes: pd.DataFrame | None = None,
    key_added: str = DEFAULT_KEY,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Dot plot of the clastokine genes by group.

    Rows are genes, grouped under their catalogue category and marked by the factor's
    effect on bone formation (anabolic ▲, inhibitory ▼, controversial ◆); columns are
    groups, flagged groups shaded and starred. Dot area is the fraction of cells
    expressing the gene, colour its mean log-normalised level scaled to 0-1 across
    groups.

    Parameters
    ----------
    adata
        Annotated data (counts or log-normalised; backed works).
    groupby
        Grouping column; default: the one recorded by flagging.
    species
        Catalogue species; default: the one recorded by scoring, else ``"mouse"``.
    genes
        A frame like :func:`scclast.genesets.factor_genes` (``gene``, ``label``, ``category``,
        ``effect``); default: the catalogue's coupling-factor genes.
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> scclast.pl.dotplot(adata, save="dotplot.png")  # doctest: +SKIP
    """
    keys = Keys(key_added)
    table = get.flag_table(adata, key_added)
    groupby = groupby or get.groupby(adata, key_added)
    view, genes = _present_genes(adata, genes, species, keys)
    order = group_order(adata, table, groupby)
    flagged = set(get.flagged_groups(table))
    layout = list(_row_layout(genes))
    fig = Figure(figsize=_grid_size(len(order), len(layout)), layout="constrained")
    if genes.empty:
        return finish(
            _empty(fig, "None of the catalogue's clastokine genes is in the data."),
            return_fig=return_fig,
            save=save,
        )
    mean, fraction = get.group_expression(adata, list(genes["gene"]), groupby, view=view)
    mean, fraction = mean.reindex(order), fraction.reindex(order)
    scaled = _scale_0_1(mean)
    ax, legend_spec = _main_and_legend(fig, len(order))
    _shade_flagged(ax, order, flagged)
    xs, ys, sizes, values = [], [], [], []
    for y, row in enumerate(layout):
        if row.gene is None:
            continue
        for x, group in enumerate(order):
            xs.append(x)
            ys.append(y)
            sizes.append(np.nan_to_num(fraction.at[group, row.gene]))
            values.append(np.nan_to_num(scaled.at[group, row.gene]))
    points = ax.scatter(
        xs,
        ys,
        s=np.asarray(sizes) * _MAX_DOT + 0.5,
        c=values,
        cmap="viridis",
        vmin=0,
        vmax=1,
        edgecolors="#555555",
        linewidths=0.3,
        zorder=3,
    )
    _style_grid(ax, order, layout, flagged)
    ax.set_xlabel(groupby)
    _title(fig, "dotplot")
    _legend_column(
        fig,
        legend_spec,
        points,
        "mean expression\n(scaled 0-1 across groups)",
        [(_size_handles(), "cells expressing"), (_effect_handles() + _flag_handles(), "marks")],
    )
    return finish(fig, return_fig=return_fig, save=save)


@doc_params(doc_plot_io=doc_plot_io)
def embedding(
    adata: AnnData,
    *,
    groupby: str | None = None,
    gene_set: str | None = None,
    basis: str = EMBEDDING_BASIS,
    key_added: str = DEFAULT_KEY,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """The embedding coloured by group and by the calibrated score.

    Left: cells coloured by group, the legend naming each group's lineage state;
    right: the calibrated z-score ``obs[f"{key_added}_{gene_set}_z"]`` on a diverging scale
    centred on 0. Cells of flagged groups are outlined in black and the flagged groups
    are labelled (bold, starred) on both panels.

    Parameters
    ----------
    gene_set
        Whose calibrated score to show; default :func:`primary_gene_set`.
    basis
        Key of ``obsm`` holding the 2-D coordinates.
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> scclast.tl.umap(adata)
    >>> fig = scclast.pl.embedding(adata, return_fig=True)
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['groups (flagged groups outlined)', 'calibrated score: clastokines_secreted']
    """
    keys = Keys(key_added)
    table = get.flag_table(adata, key_added)
    groupby = groupby or get.groupby(adata, key_added)
    if basis not in adata.obsm:
        raise KeyError(f"obsm[{basis!r}] is missing: compute the embedding first")
    coords = np.asarray(adata.obsm[basis])[:, :2]
    groups = _as_str_categorical(adata.obs[groupby])
    flagged = set(get.flagged_groups(table))
    is_flagged = np.isin(np.asarray(groups.astype(object)), list(flagged))
    gene_set = gene_set or primary_gene_set(table)
    size = float(np.clip(30_000 / max(len(coords), 1), 1.0, 25.0))
    fig = Figure(figsize=(11.5, 5.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    states = _states_by_group(adata, table)
    _groups_panel(left, coords, groups, states, flagged, is_flagged, size)
    _score_panel(fig, right, adata, coords, is_flagged, size, gene_set, keys)
    for ax in (left, right):
        _label_groups(ax, coords, groups, flagged)
    _title(fig, "embedding")
    return finish(fig, return_fig=return_fig, save=save)


@doc_params(doc_plot_io=doc_plot_io)
def factor_heatmap(
    adata: AnnData,
    *,
    groupby: str | None = None,
    species: str | None = None,
    genes: pd.DataFrame | None = None,
    key_added: str = DEFAULT_KEY,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Heatmap of coupling factors by group: relative expression across groups.

    Each gene's mean log-normalised level is z-scored across groups, and a factor's
    value is the mean over its genes (for example Sphk1 and Spns2 for S1P). Rows are
    grouped by category and marked by effect as in :func:`dotplot`; flagged groups
    are boxed and starred.

    Parameters
    ----------
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> fig = scclast.pl.factor_heatmap(adata, return_fig=True)
    """
    keys = Keys(key_added)
    table = get.flag_table(adata, key_added)
    groupby = groupby or get.groupby(adata, key_added)
    view, genes = _present_genes(adata, genes, species, keys)
    order = group_order(adata, table, groupby)
    flagged = set(get.flagged_groups(table))
    factors = _factor_rows(genes)
    layout = list(_row_layout(factors))
    fig = Figure(figsize=_grid_size(len(order), len(layout)), layout="constrained")
    if genes.empty:
        return finish(
            _empty(fig, "None of the catalogue's clastokine genes is in the data."),
            return_fig=return_fig,
            save=save,
        )
    mean, _ = get.group_expression(adata, list(genes["gene"]), groupby, view=view)
    z = _zscore_columns(mean.reindex(order))
    matrix = np.full((len(layout), len(order)), np.nan)
    for y, row in enumerate(layout):
        if row.gene is not None:
            members = list(genes.loc[genes["factor"] == row.gene, "gene"])
            matrix[y] = z[members].mean(axis=1).to_numpy()
    ax, legend_spec = _main_and_legend(fig, len(order))
    image = ax.imshow(
        np.ma.masked_invalid(matrix),
        cmap="RdBu_r",
        norm=mcolors.TwoSlopeNorm(vcenter=0.0, vmin=-2.0, vmax=2.0),
        aspect="auto",
        interpolation="nearest",
    )
    for x, group in enumerate(order):
        if group in flagged:
            ax.add_patch(
                _column_box(x, len(layout)),
            )
    _style_grid(ax, order, layout, flagged, grid=False)
    ax.set_xlabel(groupby)
    _title(fig, "factor_heatmap")
    _legend_column(
        fig,
        legend_spec,
        image,
        "relative expression\n(z across groups)",
        [(_effect_handles() + _flag_handles(box=True), "marks")],
    )
    return finish(fig, return_fig=return_fig, save=save)


@doc_params(doc_plot_io=doc_plot_io)
def effect_sizes(
    adata: AnnData,
    *,
    groupby: str | None = None,
    fdr: float | None = None,
    key_added: str = DEFAULT_KEY,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Per-group effect sizes: AUROC (colour) and FDR (dot size), group x gene set.

    A ring marks each flagged (group, gene set) pair; rows name the group, its lineage
    state and its number of cells.

    Parameters
    ----------
    fdr
        The FDR threshold of the run (drawn in the size legend); default: the one
        recorded by flagging, else 0.05.
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> fig = scclast.pl.effect_sizes(adata, return_fig=True)
    """
    keys = Keys(key_added)
    table = get.flag_table(adata, key_added)
    groupby = groupby or get.groupby(adata, key_added)
    order = group_order(adata, table, groupby)
    sets = list(dict.fromkeys(table["gene_set"].astype(str)))
    flagged = set(get.flagged_groups(table))
    if fdr is None:
        fdr = _recorded(adata, keys, Step.FLAG, "thresholds", {}).get("fdr", 0.05)
    frame = table.assign(group=table["group"].astype(str), gene_set=table["gene_set"].astype(str))
    label_chars = max((len(_row_name(frame, g, flagged)) for g in order), default=10)
    width = 0.5 + 0.075 * label_chars + 0.42 * max(len(sets), 2) + _LEGEND_WIDTH + 0.4
    longest_set = max((len(s) for s in sets), default=8)
    height = 1.6 + 0.34 * len(order) + 0.055 * longest_set
    fig = Figure(figsize=(width, max(height, 3.4)), layout="constrained")
    if frame.empty:
        return finish(_empty(fig, "No group was tested."), return_fig=return_fig, save=save)
    ax, legend_spec = _main_and_legend(fig, len(sets))
    x = frame["gene_set"].map({s: i for i, s in enumerate(sets)}).to_numpy()
    y = frame["group"].map({g: i for i, g in enumerate(order)}).to_numpy()
    auroc = pd.to_numeric(frame["auroc"], errors="coerce").to_numpy(dtype=float)
    size = _fdr_size(pd.to_numeric(frame["fdr"], errors="coerce").to_numpy(dtype=float))
    hit = frame["flagged"].astype(bool).to_numpy()
    points = ax.scatter(
        x,
        y,
        s=size,
        c=auroc,
        cmap="RdBu_r",
        norm=mcolors.TwoSlopeNorm(vcenter=0.5, vmin=0.0, vmax=1.0),
        edgecolors="#555555",
        linewidths=0.3,
        zorder=3,
    )
    ax.scatter(
        x[hit], y[hit], s=size[hit] + 90, facecolors="none", edgecolors="black", linewidths=1.6
    )
    ax.set_xticks(range(len(sets)), sets, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(order)), [_row_name(frame, g, flagged) for g in order])
    for label, group in zip(ax.get_yticklabels(), order, strict=True):
        label.set_fontweight("bold" if group in flagged else "normal")
    ax.set_xlim(-0.6, len(sets) - 0.4)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.grid(color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    ax.set_xlabel("gene set")
    _title(fig, "effect_sizes")
    _legend_column(
        fig,
        legend_spec,
        points,
        "AUROC vs. reference cells\n(0.5 = no difference)",
        [(_fdr_handles(fdr), "FDR (dot size)"), ([_ring_handle()], "marks")],
    )
    return finish(fig, return_fig=return_fig, save=save)


# --------------------------------------------------------------------------- groups


def group_order(adata: AnnData, table: pd.DataFrame, groupby: str) -> list[str]:
    """Groups as text, in the column's category order (sorted otherwise)."""
    groups = group_codes(adata, groupby)[1]
    in_table = set(table["group"].astype(str)) if not table.empty else set(groups)
    ordered = [g for g in groups if g in in_table]
    return ordered + sorted(in_table - set(ordered))


def _as_str_categorical(values: pd.Series) -> pd.Categorical:
    """Labels as text categories (category order kept; missing labels stay missing)."""
    categorical = values.astype("category")
    categories = [str(c) for c in categorical.cat.categories]
    codes = categorical.cat.codes.to_numpy()
    return pd.Categorical.from_codes(codes, categories=categories)


def _recorded(adata: AnnData, keys: Keys, step: Step, key: str, default: Any) -> Any:
    """A value recorded by a step (``uns[key_added][step]``, or its parameters)."""
    block = keys.record(adata, step)
    if key in block:
        return block[key]
    parameters = block.get("parameters", {})
    return parameters.get(key, default) if isinstance(parameters, dict) else default


# --------------------------------------------------------------------------- expression


_MAX_DOT = 160.0
_LEGEND_WIDTH = 1.9  # inches (relative to 0.42 per group column)


def _scale_0_1(frame: pd.DataFrame) -> pd.DataFrame:
    low, high = frame.min(axis=0), frame.max(axis=0)
    span = (high - low).replace(0, np.nan)
    return ((frame - low) / span).fillna(0.0)


def _zscore_columns(frame: pd.DataFrame) -> pd.DataFrame:
    sd = frame.std(axis=0, ddof=0).replace(0, np.nan)
    return ((frame - frame.mean(axis=0)) / sd).fillna(0.0)


def _present_genes(
    adata: AnnData, genes: pd.DataFrame | None, species: str | None, keys: Keys
) -> tuple[ExpressionView, pd.DataFrame]:
    """The expression view and the rows of ``genes`` measured in the data."""
    view = expression_view(adata)
    if genes is None:
        if species not in ("mouse", "human"):
            species = view.species
        if species not in ("mouse", "human"):
            species = _recorded(adata, keys, Step.FLAG, "species_used", "mouse")
        genes = genesets.factor_genes(species if species in ("mouse", "human") else "mouse")
    present = genes[genes["gene"].isin(set(map(str, view.symbols)))]
    return view, present.reset_index(drop=True)


def _factor_rows(genes: pd.DataFrame) -> pd.DataFrame:
    """One row per factor (its id in ``gene``) with the genes measured for it."""
    grouped = genes.groupby("factor", sort=False).agg(
        label=("label", "first"),
        category=("category", "first"),
        effect=("effect", "first"),
        members=("gene", lambda g: ", ".join(g)),
    )
    rows = grouped.reset_index().rename(columns={"factor": "gene"})
    rows["label"] = rows["label"] + " (" + rows["members"] + ")"
    return rows


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Row:
    """One row of a gene or factor grid: a category header (gene None) or an item."""

    text: str
    gene: str | None = None
    effect: str | None = None


def _row_layout(items: pd.DataFrame) -> Iterator[_Row]:
    """Header rows for categories, item rows under them, in first-seen order."""
    for category, block in items.groupby("category", sort=False):
        yield _Row(text=str(category).replace("_", " "))
        for item in block.itertuples(index=False):
            label = str(item.label) if "label" in block else ""
            if label and label.upper() != str(item.gene).upper() and "(" not in label:
                text = f"{item.gene} ({label})"
            elif label.upper() == str(item.gene).upper():
                text = str(item.gene)  # the species' own symbol (Slit3, not SLIT3, in mouse)
            else:
                text = label or str(item.gene)
            yield _Row(text=text, gene=str(item.gene), effect=str(item.effect))


def _grid_size(n_groups: int, n_rows: int) -> tuple[float, float]:
    width = 3.0 + 0.42 * max(n_groups, 2) + _LEGEND_WIDTH + 0.4
    height = 2.2 + 0.24 * max(n_rows, 4)
    return (width, height)


def _style_grid(
    ax: Axes, order: Sequence[str], layout: Sequence[_Row], flagged: set[str], grid: bool = True
) -> None:
    """Axis labels: groups below (flagged bold, starred), rows left (headers bold)."""
    labels = [_group_label(g, flagged) for g in order]
    if max((len(g) for g in order), default=0) <= 3:
        ax.set_xticks(range(len(order)), labels)
    else:
        ax.set_xticks(range(len(order)), labels, rotation=45, ha="right", rotation_mode="anchor")
    for label, group in zip(ax.get_xticklabels(), order, strict=True):
        label.set_fontweight("bold" if group in flagged else "normal")
    ax.set_yticks(range(len(layout)), [row.text for row in layout])
    for label, row in zip(ax.get_yticklabels(), layout, strict=True):
        if row.gene is None:
            label.set_fontweight("bold")
            label.set_fontstyle("italic")
    ax.tick_params(axis="y", length=0, pad=14)
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylim(len(layout) - 0.5, -0.5)
    # effect markers in the margin just left of the axis (axes-fraction x, data y)
    transform = ax.get_yaxis_transform()
    for y, row in enumerate(layout):
        if row.effect in EFFECT_STYLE:
            colour, marker = EFFECT_STYLE[row.effect]
            ax.plot(
                [-0.022],
                [y],
                marker=marker,
                color=colour,
                markersize=6,
                transform=transform,
                clip_on=False,
                linestyle="none",
            )
        elif row.gene is None and y > 0:
            ax.axhline(y - 0.5, color="#999999", linewidth=0.6)
    if grid:
        for y, row in enumerate(layout):
            if row.gene is not None:
                ax.axhline(y, color="#F2F2F2", linewidth=0.6, zorder=0)


def _group_label(group: str, flagged: set[str]) -> str:
    return f"{FLAG_MARK} {group}" if group in flagged else group


def _shade_flagged(ax: Axes, order: Sequence[str], flagged: set[str]) -> None:
    for x, group in enumerate(order):
        if group in flagged:
            ax.axvspan(x - 0.5, x + 0.5, color="#FFF1C2", zorder=0)


def _column_box(x: int, n_rows: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(
        (x - 0.5, -0.5), 1.0, n_rows, fill=False, edgecolor="black", linewidth=2.0, zorder=4
    )


def _title(fig: Figure, name: str) -> None:
    fig.suptitle(FIGURE_TITLES[name], x=0.01, ha="left", fontsize=11)


def _empty(fig: Figure, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return fig


# --------------------------------------------------------------------------- legends


def _effect_handles() -> list[Line2D]:
    return [
        Line2D([], [], marker=marker, color=colour, linestyle="none", markersize=6, label=effect)
        for effect, (colour, marker) in EFFECT_STYLE.items()
    ]


def _flag_handles(box: bool = False) -> list[Any]:
    from matplotlib.patches import Patch

    if box:
        return [Patch(facecolor="none", edgecolor="black", linewidth=2, label="flagged group")]
    return [Patch(facecolor="#FFF1C2", edgecolor="none", label=f"{FLAG_MARK} flagged group")]


def _main_and_legend(fig: Figure, n_columns: int) -> tuple[Axes, Any]:
    """The main axes (``n_columns`` wide) and the subplot spec of the legend column."""
    grid = fig.add_gridspec(1, 2, width_ratios=[0.42 * max(n_columns, 2), _LEGEND_WIDTH])
    return fig.add_subplot(grid[0]), grid[1]


def _legend_column(
    fig: Figure,
    spec: Any,
    mappable: Any,
    label: str,
    blocks: Sequence[tuple[list[Any], str]],
) -> None:
    """A horizontal colour bar on top, then one legend per block, stacked."""
    heights = [1.1] + [len(handles) + 1.6 for handles, _ in blocks] + [2.0]
    sub = spec.subgridspec(len(heights), 1, height_ratios=heights)
    cax = fig.add_subplot(sub[0])
    bar = fig.colorbar(mappable, cax=cax, orientation="horizontal")
    bar.ax.set_title(label, fontsize=8, loc="left")
    bar.ax.tick_params(labelsize=7)
    for i, (handles, title) in enumerate(blocks, start=1):
        ax = fig.add_subplot(sub[i])
        ax.axis("off")
        ax.legend(
            handles=handles,
            title=title,
            loc="upper left",
            frameon=False,
            fontsize=8,
            title_fontsize=8,
            alignment="left",
            borderaxespad=0.0,
        )
    fig.add_subplot(sub[len(heights) - 1]).axis("off")


def _size_handles() -> list[Line2D]:
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            color="#777777",
            markersize=np.sqrt(frac * _MAX_DOT + 0.5),
            label=f"{int(frac * 100)} %",
        )
        for frac in (0.1, 0.25, 0.5, 1.0)
    ]


def _fdr_size(fdr: np.ndarray) -> np.ndarray:
    score = -np.log10(np.clip(np.nan_to_num(fdr, nan=1.0), 1e-10, 1.0))
    return 12.0 + 22.0 * score


def _fdr_handles(threshold: float) -> list[Line2D]:
    levels = sorted({1.0, float(threshold), 1e-3, 1e-10}, reverse=True)
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            color="#777777",
            markersize=np.sqrt(_fdr_size(np.array([level]))[0]),
            label=(f"{level:g}" if level > 1e-10 else "≤ 1e-10")
            + (" (threshold)" if level == threshold else ""),
        )
        for level in levels
    ]


def _ring_handle() -> Line2D:
    return Line2D(
        [],
        [],
        marker="o",
        markersize=11,
        markerfacecolor="none",
        markeredgecolor="black",
        markeredgewidth=1.6,
        linestyle="none",
        label="flagged",
    )


def _row_name(frame: pd.DataFrame, group: str, flagged: set[str]) -> str:
    rows = frame[frame["group"] == group]
    if rows.empty:
        return _group_label(group, flagged)
    first = rows.iloc[0]
    state = str(first.get("lineage_state", "")).replace("_", " ")
    n_cells = int(first["n_cells"]) if "n_cells" in rows and pd.notna(first["n_cells"]) else None
    detail = ", ".join(p for p in (state, f"n={n_cells}" if n_cells is not None else "") if p)
    return f"{_group_label(group, flagged)}  ({detail})" if detail else _group_label(group, flagged)


# --------------------------------------------------------------------------- embedding


def _outline(ax: Axes, coords: np.ndarray, mask: np.ndarray, size: float) -> None:
    """Black ring under the flagged cells, drawn above all others (scanpy's outline)."""
    if mask.any():
        ax.scatter(*coords[mask].T, s=size * 3.2, c="black", linewidths=0, rasterized=True)
        ax.scatter(*coords[mask].T, s=size * 1.9, c="white", linewidths=0, rasterized=True)


def _group_colours(groups: Sequence[str]) -> dict[str, str]:
    """Okabe-Ito for up to 8 groups (colour-blind safe), else tab20, then cycling."""
    if len(groups) <= 8:
        palette = [*OKABE_ITO[:7], "#999999"]
    else:
        from matplotlib import colormaps

        tab20 = colormaps["tab20"]
        palette = [mcolors.to_hex(tab20(i % 20)) for i in range(len(groups))]
    return {g: palette[i % len(palette)] for i, g in enumerate(groups)}


def _states_by_group(adata: AnnData, table: pd.DataFrame) -> dict[str, str]:
    if not table.empty and "lineage_state" in table:
        pairs = table.drop_duplicates("group")[["group", "lineage_state"]]
        return {str(g): str(s) for g, s in pairs.itertuples(index=False)}
    return {}


def _groups_panel(
    ax: Axes,
    coords: np.ndarray,
    groups: pd.Categorical,
    states: dict[str, str],
    flagged: set[str],
    is_flagged: np.ndarray,
    size: float,
) -> None:
    names = list(groups.categories)
    colours = _group_colours(names)
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
            label=f"{_group_label(g, flagged)}: {states.get(g, '?').replace('_', ' ')}",
        )
        for g in names
    ]
    handles.append(_ring_handle())
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
    keys: Keys,
) -> None:
    key = keys.z(gene_set) if gene_set is not None else ""
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
    kwargs = {"s": size, "cmap": "RdBu_r", "norm": norm, "linewidths": 0, "rasterized": True}
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
        is_hit = group in flagged
        ax.annotate(
            _group_label(group, flagged),
            (x, high if compact else y),
            xytext=(0, 6 if compact else 0),
            textcoords="offset points",
            ha="center",
            va="bottom" if compact else "center",
            fontsize=9 if is_hit else 7.5,
            fontweight="bold" if is_hit else "normal",
            bbox={
                "boxstyle": "round,pad=0.2",
                "facecolor": "#FFF1C2" if is_hit else "white",
                "edgecolor": "black" if is_hit else "none",
                "alpha": 0.85,
            },
            zorder=5,
        )


__all__ = [
    "DPI",
    "FIGURE_NAMES",
    "FIGURE_TITLES",
    "all_figures",
    "dotplot",
    "effect_sizes",
    "embedding",
    "factor_heatmap",
    "group_order",
    "primary_gene_set",
    "save_figure",
]
