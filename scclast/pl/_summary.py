"""The cross-dataset summary figure: inputs x lineage states, flagged states marked.

It draws the table of the workflow's ``summary`` rule (``summary/summary.tsv``; one
row per input and lineage state, with the state's strongest AUROC and whether any of
its groups was flagged), so it needs no AnnData.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from scclast._docs import doc_params
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._style import FLAG_MARK, SIGNED_CMAP
from scclast.tl import STATES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TITLE = f"Strongest AUROC per lineage state ({FLAG_MARK} and box: flagged)"

_ABSENT = "#EEEEEE"


@doc_params(doc_canvas=doc_canvas)
def run_summary(
    summary: pd.DataFrame,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Inputs x lineage states: colour is the strongest AUROC; a star and a box mark a flag.

    Columns follow :data:`scclast.tl.STATES` (lineage states by maturity first); a state
    absent from an input is grey and labelled "absent". Effects are written in every
    cell and flags are marked by a star, a box and bold type, never by colour alone.

    Parameters
    ----------
    summary
        One row per input and lineage state with the columns ``dataset``,
        ``lineage_state``, ``flagged`` and ``auroc`` (the workflow's ``summary.tsv``);
        several rows of one pair are merged (largest AUROC, any flag).
    title
        Title (default: a description of the marks).
    {doc_canvas}
    return_fig
        Return the :class:`~matplotlib.figure.Figure` (default: ``None``).
    save
        Write the figure: a path with a suffix (``.png``, ``.pdf``, ``.svg``) writes that
        file; a path without one writes ``.png`` and ``.pdf``. No timestamp is embedded.

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import pandas as pd, scclast.pl._summary as summary_pl
    >>> table = pd.DataFrame({
    ...     "dataset": ["a", "a", "b"],
    ...     "lineage_state": ["osteoclast", "macrophage", "osteoclast"],
    ...     "flagged": [True, False, False],
    ...     "auroc": [0.9, 0.4, 0.55],
    ... })
    >>> fig = summary_pl.run_summary(table, return_fig=True)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['macrophage', 'osteoclast']
    >>> sorted(t.get_text() for t in fig.axes[0].texts)
    ['0.40', '0.55', '0.90★', 'absent']
    """
    datasets = list(dict.fromkeys(summary["dataset"].astype(str)))
    seen = list(dict.fromkeys(summary["lineage_state"].astype(str)))
    # lineage states by maturity, then any others in the order they first appear
    states = sorted(seen, key=lambda s: STATES.index(s) if s in STATES else len(STATES))
    size = (max(5.0, 1.25 * len(states) + 3.0), max(3.0, 0.6 * len(datasets) + 2.6))
    where = canvas(ax, figsize, size)
    if summary.empty:
        return finish(where.message("No runs to summarise."), return_fig=return_fig, save=save)
    ax = where.ax if where.ax is not None else where.fig.add_subplot()

    frame = summary.assign(
        dataset=summary["dataset"].astype(str),
        lineage_state=summary["lineage_state"].astype(str),
        auroc=pd.to_numeric(summary["auroc"], errors="coerce"),
        flagged=summary["flagged"].astype(bool).astype(int),
    )
    cells = frame.groupby(["dataset", "lineage_state"], sort=False).agg(
        auroc=("auroc", "max"), flagged=("flagged", "max"), present=("flagged", "size")
    )
    grid = pd.MultiIndex.from_product([datasets, states])
    cells = cells.reindex(grid)
    auroc = cells["auroc"].to_numpy(dtype=float).reshape(len(datasets), len(states))
    flagged = cells["flagged"].fillna(0).to_numpy(dtype=bool).reshape(auroc.shape)
    present = cells["present"].notna().to_numpy().reshape(auroc.shape)

    cmap = matplotlib.colormaps[SIGNED_CMAP].with_extremes(bad=_ABSENT)
    image = ax.imshow(
        np.ma.masked_invalid(auroc), cmap=cmap, norm=TwoSlopeNorm(0.5, 0.0, 1.0), aspect="auto"
    )
    for i in range(len(datasets)):
        for j in range(len(states)):
            _annotate(ax, i, j, auroc[i, j], present[i, j], flagged[i, j])
    labels = [textwrap.fill(state, 16) for state in states]
    ax.set_xticks(range(len(states)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(datasets)), datasets)
    ax.set_xlabel("lineage state")
    ax.set_ylabel("input")
    ax.set_title(title or TITLE, loc="left", fontsize=10)
    bar = where.fig.colorbar(image, ax=ax, fraction=0.05, aspect=12)
    bar.set_label("AUROC (0.5: no effect)", fontsize=8)
    return finish(where.fig, return_fig=return_fig, save=save)


def _annotate(ax: Axes, i: int, j: int, value: float, present: bool, flagged: bool) -> None:
    """Write one cell's AUROC (or why there is none) and box it when flagged."""
    if not present:
        ax.text(j, i, "absent", ha="center", va="center", fontsize=7, color="#777777")
        return
    if np.isnan(value):
        text, colour = "n/a", "#555555"  # the state is there but no gene set was tested
    else:
        text = f"{value:.2f}"
        colour = "white" if abs(value - 0.5) > 0.3 else "black"
    if flagged:
        text += FLAG_MARK
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5, ec="black"))
    weight = "bold" if flagged else "normal"
    ax.text(j, i, text, ha="center", va="center", fontsize=9, color=colour, fontweight=weight)
