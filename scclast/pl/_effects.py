"""Per-group effect sizes: AUROC and FDR, group x gene set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast._docs import doc_params, doc_plot_io
from scclast._keys import DEFAULT_KEY
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._data import flag_results
from scclast.pl._layout import COLUMN_WIDTH, LEGEND_WIDTH
from scclast.pl._legends import main_and_legends, ring_handle
from scclast.pl._style import EDGE_COLOUR, SIGNED_CMAP, group_label

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

TITLE = "Per-group effect sizes (AUROC) and FDR"


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def effect_sizes(
    adata: AnnData,
    *,
    groupby: str | None = None,
    fdr: float | None = None,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Per-group effect sizes: AUROC (colour) and FDR (dot size), group x gene set.

    A ring marks each flagged (group, gene set) pair; rows name the group, its lineage
    state and its number of cells.

    Parameters
    ----------
    adata
        Annotated data flagged by :func:`scclast.tl.flag`.
    groupby
        Grouping column (sets the row order); default: the one recorded by flagging.
    fdr
        The FDR threshold of the run (drawn in the size legend); default: the one
        recorded by flagging, else 0.05.
    {doc_canvas}
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
    >>> fig.axes[0].get_yticklabels()[3].get_text()
    '★ 3  (osteoclast, n=212)'
    """
    results = flag_results(adata, key_added, groupby)
    table, order, flagged = results.table, results.order, results.flagged
    sets = list(dict.fromkeys(table["gene_set"].astype(str)))
    if fdr is None:
        fdr = results.recorded(adata, "thresholds", {}).get("fdr", 0.05)
    frame = table.assign(group=table["group"].astype(str), gene_set=table["gene_set"].astype(str))
    where = canvas(ax, figsize, _size(frame, order, sets, flagged))
    if frame.empty:
        return finish(where.message("No group was tested."), return_fig=return_fig, save=save)
    main, legends = main_and_legends(where, len(sets))
    x = frame["gene_set"].map({s: i for i, s in enumerate(sets)}).to_numpy()
    y = frame["group"].map({g: i for i, g in enumerate(order)}).to_numpy()
    auroc = pd.to_numeric(frame["auroc"], errors="coerce").to_numpy(dtype=float)
    size = fdr_size(pd.to_numeric(frame["fdr"], errors="coerce").to_numpy(dtype=float))
    hit = frame["flagged"].astype(bool).to_numpy()
    points = main.scatter(
        x,
        y,
        s=size,
        c=auroc,
        cmap=SIGNED_CMAP,
        norm=mcolors.TwoSlopeNorm(vcenter=0.5, vmin=0.0, vmax=1.0),
        edgecolors=EDGE_COLOUR,
        linewidths=0.3,
        zorder=3,
    )
    main.scatter(
        x[hit], y[hit], s=size[hit] + 90, facecolors="none", edgecolors="black", linewidths=1.6
    )
    main.set_xticks(range(len(sets)), sets, rotation=45, ha="right", rotation_mode="anchor")
    main.set_yticks(range(len(order)), [row_name(frame, g, flagged) for g in order])
    for label, group in zip(main.get_yticklabels(), order, strict=True):
        label.set_fontweight("bold" if group in flagged else "normal")
    main.set_xlim(-0.6, len(sets) - 0.4)
    main.set_ylim(len(order) - 0.5, -0.5)
    main.grid(color="#EEEEEE", zorder=0)
    main.set_axisbelow(True)
    main.set_xlabel("gene set")
    where.title(TITLE)
    legends.draw(
        points,
        "AUROC vs. reference cells\n(0.5 = no difference)",
        [(fdr_handles(fdr), "FDR (dot size)"), ([ring_handle()], "marks")],
    )
    return finish(where.fig, return_fig=return_fig, save=save)


def _size(
    frame: pd.DataFrame, order: list[str], sets: list[str], flagged: set[str]
) -> tuple[float, float]:
    """Wide enough for the longest row name, tall enough for the rotated set names."""
    label_chars = max((len(row_name(frame, g, flagged)) for g in order), default=10)
    width = 0.5 + 0.075 * label_chars + COLUMN_WIDTH * max(len(sets), 2) + LEGEND_WIDTH + 0.4
    longest_set = max((len(s) for s in sets), default=8)
    height = 1.6 + 0.34 * len(order) + 0.055 * longest_set
    return (width, max(height, 3.4))


def row_name(frame: pd.DataFrame, group: str, flagged: set[str]) -> str:
    """``★ group  (lineage state, n=cells)``."""
    rows = frame[frame["group"] == group]
    if rows.empty:
        return group_label(group, flagged)
    first = rows.iloc[0]
    state = str(first.get("lineage_state", "")).replace("_", " ")
    n_cells = int(first["n_cells"]) if "n_cells" in rows and pd.notna(first["n_cells"]) else None
    detail = ", ".join(p for p in (state, f"n={n_cells}" if n_cells is not None else "") if p)
    return f"{group_label(group, flagged)}  ({detail})" if detail else group_label(group, flagged)


def fdr_size(fdr: np.ndarray) -> np.ndarray:
    """Dot area from the FDR: larger for smaller FDR (log scale, capped at 1e-10)."""
    score = -np.log10(np.clip(np.nan_to_num(fdr, nan=1.0), 1e-10, 1.0))
    return 12.0 + 22.0 * score


def fdr_handles(threshold: float) -> list[Line2D]:
    """Dots of FDR 1, the threshold, 1e-3 and 1e-10 or below."""
    levels = sorted({1.0, float(threshold), 1e-3, 1e-10}, reverse=True)
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            color="#777777",
            markersize=np.sqrt(fdr_size(np.array([level]))[0]),
            label=(f"{level:g}" if level > 1e-10 else "≤ 1e-10")
            + (" (threshold)" if level == threshold else ""),
        )
        for level in levels
    ]


__all__ = ["TITLE", "effect_sizes"]
