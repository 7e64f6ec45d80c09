"""Condition comparisons: catalogue genes per group, and each group's share per sample.

:func:`condition_genes` is a dot plot of the log2 fold change of every catalogue gene
(rows, marked ▲ anabolic, ▼ inhibitory, ◆ controversial) and gene set in each tested
group (columns); :func:`condition_abundance` shows each sample's share of cells per
group, by condition, with the ratio of mean shares and its FDR. Both read the results of
:func:`scclast.tl.compare_conditions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast import get
from scclast._docs import doc_params, doc_plot_io
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._effects import fdr_handles, fdr_size
from scclast.pl._layout import grid_size, row_layout, style_grid
from scclast.pl._legends import effect_handles, main_and_legends
from scclast.pl._style import EDGE_COLOUR, MISSING_COLOUR, OKABE_ITO, SIGNED_CMAP

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

GENES_TITLE = "Catalogue genes and sets between conditions"
ABUNDANCE_TITLE = "Share of each sample's cells per group, by condition"
SETS_HEADER = "gene sets"


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def condition_genes(
    adata: AnnData,
    *,
    fdr: float = 0.05,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Dot plot: log2 fold change of each catalogue gene and set in each tested group.

    Colour is the log2 fold change against the reference condition (red up, blue
    down), dot area the FDR; a black ring marks FDR ≤ ``fdr``. Rows are genes under their
    catalogue category, marked by the factor's effect on bone formation (▲ anabolic,
    ▼ inhibitory, ◆ controversial), then the gene sets; columns are groups (and levels,
    when more than one is compared). A grey × marks a group not tested (too few samples),
    a small grey dot a gene not expressed there.

    Parameters
    ----------
    adata
        Annotated data compared by :func:`scclast.tl.compare_conditions`.
    fdr
        The FDR threshold drawn as a ring.
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example_conditions()
    >>> scclast.tl.compare_conditions(adata, "condition", sample_key="sample",
    ...     groupby="cluster", groups=["2"], n_background=100)
    >>> fig = scclast.pl.condition_genes(adata, return_fig=True)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['2']
    """
    table = get.condition_table(adata, key_added)
    record = Keys(key_added).record(adata, Step.CONDITIONS)
    columns = _columns(table)
    items = _items(table)
    layout = list(row_layout(items))
    where = canvas(ax, figsize, grid_size(len(columns), len(layout)))
    if table.empty or not columns:
        return finish(where.message("No group was compared."), return_fig=return_fig, save=save)
    main, legends = main_and_legends(where, len(columns))
    labels = [label for _, _, label in columns]
    cells = table.set_index(["group", "condition", "feature"])
    limit = _colour_limit(table)
    norm = mcolors.TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    xs, ys, sizes, values, rings, skipped, silent = [], [], [], [], [], [], []
    for y, row in enumerate(layout):
        if row.gene is None:
            continue
        for x, (group, level, _) in enumerate(columns):
            key = (group, level, row.gene)
            if key not in cells.index:
                continue
            cell = cells.loc[key]
            cell = cell.iloc[0] if isinstance(cell, pd.DataFrame) else cell
            if not bool(cell["tested"]):
                skipped.append((x, y))
            elif not np.isfinite(cell["log2fc"]):
                silent.append((x, y))
            else:
                xs.append(x)
                ys.append(y)
                sizes.append(float(cell["fdr"]) if np.isfinite(cell["fdr"]) else 1.0)
                values.append(float(cell["log2fc"]))
                rings.append(np.isfinite(cell["fdr"]) and cell["fdr"] <= fdr)
    points = main.scatter(
        xs,
        ys,
        s=fdr_size(np.asarray(sizes, dtype=float)),
        c=values,
        cmap=SIGNED_CMAP,
        norm=norm,
        edgecolors=EDGE_COLOUR,
        linewidths=0.3,
        zorder=3,
    )
    hit = np.asarray(rings, dtype=bool)
    if hit.any():
        size = fdr_size(np.asarray(sizes, dtype=float))[hit] + 70
        main.scatter(
            np.asarray(xs)[hit],
            np.asarray(ys)[hit],
            s=size,
            facecolors="none",
            edgecolors="black",
            linewidths=1.4,
            zorder=4,
        )
    for marks, style in ((skipped, {"marker": "x", "s": 18}), (silent, {"marker": ".", "s": 8})):
        if marks:
            mx, my = zip(*marks, strict=True)
            main.scatter(mx, my, color=MISSING_COLOUR, zorder=2, **style)
    style_grid(main, labels, layout, set())
    main.set_xlabel(str(record.get("groupby", "group")))
    where.title(f"{GENES_TITLE}: {_contrast_text(table)}")
    marks = [
        Line2D(
            [],
            [],
            marker="o",
            markersize=9,
            markerfacecolor="none",
            markeredgecolor="black",
            markeredgewidth=1.4,
            linestyle="none",
            label=f"FDR ≤ {fdr:g}",
        ),
        Line2D([], [], marker="x", color=MISSING_COLOUR, linestyle="none", label="not tested"),
        Line2D([], [], marker=".", color=MISSING_COLOUR, linestyle="none", label="not expressed"),
    ]
    legends.draw(
        points,
        "log2 fold change",
        [(fdr_handles(fdr), "FDR (dot size)"), (effect_handles() + marks, "marks")],
    )
    return finish(where.fig, return_fig=return_fig, save=save)


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def condition_abundance(
    adata: AnnData,
    *,
    fdr: float = 0.05,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Each sample's share of cells per group, by condition, with the test's result.

    One dot per sample (colour and shape by condition), a bar at each condition's mean
    share; above each group, the ratio of mean shares against the reference and its FDR
    (bold at FDR ≤ ``fdr``). Groups are named with their lineage state.

    Parameters
    ----------
    adata
        Annotated data compared by :func:`scclast.tl.compare_conditions`.
    fdr
        The FDR threshold (ratios at or below it are bold).
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example_conditions()
    >>> scclast.tl.compare_conditions(adata, "condition", sample_key="sample",
    ...     groupby="cluster", groups=[])
    >>> fig = scclast.pl.condition_abundance(adata, return_fig=True)
    >>> fig.axes[0].get_ylabel()
    "share of the sample's cells"
    """
    tests = get.abundance_table(adata, key_added)
    shares = get.abundance_table(adata, key_added, per_sample=True)
    record = Keys(key_added).record(adata, Step.CONDITIONS)
    design = record.get("design", {})
    levels = [str(v) for v in _as_list(design.get("levels"))] or sorted(
        shares["condition"].unique()
    )
    groups = list(dict.fromkeys(tests["group"].astype(str)))
    width = 1.6 + 0.9 * max(len(groups), 2)
    where = canvas(ax, figsize, (width, 4.2))
    if shares.empty:
        return finish(where.message("No sample was counted."), return_fig=return_fig, save=save)
    main = where.ax if where.ax is not None else where.fig.add_subplot()
    step = 0.7 / max(len(levels), 1)
    markers = ("o", "s", "^", "D", "v", "P")
    for i, level in enumerate(levels):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        offset = (i - (len(levels) - 1) / 2) * step
        for x, group in enumerate(groups):
            values = shares.loc[
                (shares["group"] == group) & (shares["condition"] == level), "share"
            ]
            jitter = np.linspace(-0.25, 0.25, len(values)) * step if len(values) > 1 else [0.0]
            main.scatter(
                x + offset + np.asarray(jitter),
                values,
                color=colour,
                s=22,
                zorder=3,
                marker=markers[i % len(markers)],
                edgecolors=EDGE_COLOUR,
                linewidths=0.3,
                label=level if x == 0 else None,
            )
            if len(values):
                main.hlines(
                    float(values.mean()),
                    x + offset - step * 0.4,
                    x + offset + step * 0.4,
                    color=colour,
                    linewidth=2,
                    zorder=2,
                )
    top = float(np.nanmax(shares["share"].to_numpy(dtype=float))) if len(shares) else 1.0
    for x, group in enumerate(groups):
        main.text(
            x,
            top * 1.04,
            _ratio_text(tests[tests["group"] == group], fdr),
            ha="center",
            va="bottom",
            fontsize=7,
            fontweight="bold" if _significant(tests, group, fdr) else "normal",
        )
    main.set_ylim(0, top * 1.25 + 1e-9)
    main.set_xticks(range(len(groups)), [_group_label(tests, g) for g in groups], fontsize=8)
    main.set_xlim(-0.6, len(groups) - 0.4)
    main.set_ylabel("share of the sample's cells")
    main.set_xlabel(str(record.get("groupby", "group")))
    main.grid(axis="y", color="#EEEEEE", zorder=0)
    main.set_axisbelow(True)
    main.legend(
        title=str(design.get("condition", "condition")),
        fontsize=8,
        title_fontsize=8,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    where.title(ABUNDANCE_TITLE)
    return finish(where.fig, return_fig=return_fig, save=save)


def _columns(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(group, level, label) per column: the group with its lineage state, and the level
    when several are compared."""
    pairs = list(dict.fromkeys(zip(table["group"], table["condition"], strict=True)))
    several = len({level for _, level in pairs}) > 1
    states = dict(zip(table["group"], table["lineage_state"].astype(str), strict=True))
    columns = []
    for group, level in pairs:
        state = states.get(group, "").replace("_", " ")
        label = f"{group} ({state})" if state else group
        columns.append((group, level, f"{label}: {level}" if several else label))
    return columns


def _items(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the grid: genes by category (anabolic first), then the gene sets."""
    genes = table[table["feature_type"] == "gene"].drop_duplicates("feature")
    order = {"anabolic": 0, "controversial": 1, "inhibitory": 2}
    genes = genes.assign(
        _effect=genes["effect"].map(order).fillna(3), _first=np.arange(len(genes))
    ).sort_values(["_effect", "_first"], kind="stable")
    genes = genes.assign(category=genes["category"].replace("", "other"))
    sets = table[table["feature_type"] == "gene_set"].drop_duplicates("feature")
    rows = [
        pd.DataFrame(
            {"gene": genes["feature"], "category": genes["category"], "effect": genes["effect"]}
        ),
        pd.DataFrame({"gene": sets["feature"], "category": SETS_HEADER, "effect": ""}),
    ]
    return pd.concat(rows, ignore_index=True)


def _colour_limit(table: pd.DataFrame) -> float:
    """Symmetric colour range: the largest well-estimated |log2 FC| (standard error below
    1; barely expressed genes saturate instead), between 1 and 3."""
    settled = table["tested"] & (pd.to_numeric(table["lfc_se"], errors="coerce") < 1.0)
    values = pd.to_numeric(table.loc[settled, "log2fc"], errors="coerce").abs()
    finite = values[np.isfinite(values)]
    return float(np.clip(finite.max() if len(finite) else 1.0, 1.0, 3.0))


def _contrast_text(table: pd.DataFrame) -> str:
    levels = list(dict.fromkeys(table["condition"].astype(str)))
    reference = str(table["reference"].iloc[0]) if len(table) else ""
    return f"{' / '.join(levels)} vs {reference}"


def _ratio_text(rows: pd.DataFrame, fdr: float) -> str:
    lines = []
    several = rows["condition"].nunique() > 1
    for row in rows.itertuples(index=False):
        ratio = f"×{row.share_ratio:.2f}" if np.isfinite(row.share_ratio) else "×∞"
        q = f"FDR {row.fdr:.2g}" if np.isfinite(row.fdr) else "not tested"
        lines.append(f"{row.condition}: {ratio}, {q}" if several else f"{ratio}\n{q}")
    return "\n".join(lines)


def _significant(tests: pd.DataFrame, group: str, fdr: float) -> bool:
    values = pd.to_numeric(tests.loc[tests["group"] == group, "fdr"], errors="coerce")
    return bool((values <= fdr).any())


def _group_label(tests: pd.DataFrame, group: str) -> str:
    states = tests.loc[tests["group"] == group, "lineage_state"].astype(str)
    state = states.iloc[0] if len(states) else ""
    return f"{group}\n({state.replace('_', ' ')})" if state else group


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


__all__ = ["ABUNDANCE_TITLE", "GENES_TITLE", "condition_abundance", "condition_genes"]
