"""A bulk time course: per-donor lines and the fitted trend of every factor and set, by phase.

One small panel per coupling factor, gene set and lineage programme, in blocks by
Figure 4 phase (initiation, transition, not placed), then the gene sets, then the lineage
programmes (orientation check: macrophage genes should fall and osteoclast genes rise in
a monocyte-to-osteoclast culture). In each panel, thin coloured lines are the donors'
samples (a missing donor-day is a gap), the black line with dots the time-point means
averaged over donors (``y ~ C(donor) + C(time)``) and the dashed line the linear trend
within donors (``y ~ C(donor) + time``). The panel title gives the factor, its effect
mark (▲ anabolic, ▼ inhibitory, ◆ controversial) and the call (rising, falling,
transient, flat) with its FDR; a call that passes the FDR is bold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast._docs import doc_params, doc_plot_io
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._style import group_colours
from scclast.pl._trajectory import check_features

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

TITLE = "Coupling factors over the time course, by Figure 4 phase"

BLOCKS = (
    ("initiation", "Initiation (Figure 4)"),
    ("transition", "Transition (Figure 4)"),
    ("not placed", "Not placed in a phase (putative)"),
    ("set", "Gene sets"),
    ("state", "Lineage programmes (orientation check)"),
)
"""Blocks of panels, in order: phase key (or feature kind) and heading."""

COLUMNS = 6
"""Panels per row."""

PANEL_WIDTH, ROW, HEADING, TOP, BOTTOM = 2.1, 1.95, 0.3, 0.45, 0.75
"""Inches: a panel's width and row height (title and ticks included), a block heading,
the band above (figure title) and below (axis label, legend)."""

_MARKS = {"anabolic": "▲", "inhibitory": "▼", "controversial": "◆"}
_CALLED = ("rising", "falling", "transient")


def timecourse_results(adata: AnnData, key_added: str = DEFAULT_KEY) -> dict[str, Any]:
    """The stored time course: table, per-sample scores, fitted means and line."""
    from scclast import get

    record = Keys(key_added).require(adata, Step.TIMECOURSE, "scclast.tl.timecourse")
    return {
        "table": get.timecourse_table(adata, key_added),
        "scores": get.timecourse_scores(adata, key_added),
        "means": pd.DataFrame(record["means"]),
        "line": pd.DataFrame(record["line"]),
        "fdr": float(record.get("parameters", {}).get("fdr", 0.05)),
        "time": str(record.get("parameters", {}).get("time", "time")),
        "missing": [str(m) for m in record.get("missing_samples", [])],
    }


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def timecourse(
    adata: AnnData,
    *,
    features: Sequence[str] | None = None,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Per-donor lines and fitted trends over time, one panel per factor and set.

    On its own figure: every feature of the table (or ``features``), in blocks by
    phase. Into a caller's Axes (``ax=``): the first of ``features`` (default: the
    factor with the smallest FDR).

    Parameters
    ----------
    adata
        Samples x genes analysed by :func:`scclast.tl.timecourse`.
    features
        Names (``timecourse.tsv``'s ``feature``) to draw; default: all.
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> from scclast.testing._timecourse import simulate_timecourse
    >>> bulk = simulate_timecourse(rising=["SLIT3"], seed=1)
    >>> scclast.tl.timecourse(bulk, time="time_point", donor="donor")
    >>> fig = scclast.pl.timecourse(bulk, return_fig=True)
    >>> next(a.get_title() for a in fig.axes if a.get_title().startswith("SLIT3")).split(",")[0]
    'SLIT3 ▲\\nrising'
    """
    results = timecourse_results(adata, key_added)
    table = results["table"]
    if features is not None:
        check_features(table, list(features))
        table = table[table["feature"].isin(list(features))]
    donors = sorted(results["scores"]["donor"].astype(str).unique(), key=_natural)
    colours = group_colours(donors)
    if ax is not None:
        chosen = table if features is not None else _best(table)
        where = canvas(ax, figsize, (3.0, 2.4))
        draw_feature(where.ax, chosen.iloc[0], results, colours)
        return finish(where.fig, return_fig=return_fig, save=save)
    blocks = [(heading, _block_rows(table, key)) for key, heading in BLOCKS]
    blocks = [(heading, rows) for heading, rows in blocks if not rows.empty]
    heights = [-(-len(rows) // COLUMNS) for _, rows in blocks]
    size = (PANEL_WIDTH * COLUMNS, TOP + sum(HEADING + ROW * n for n in heights) + BOTTOM)
    where = canvas(None, figsize, size)
    if not blocks:
        return finish(where.message("No feature was tested."), return_fig=return_fig, save=save)
    # a fixed grid: constrained layout of 30-odd panels costs seconds per save
    where.fig.set_layout_engine("none")
    width, height = size  # positions as fractions of the default size: figsize scales them
    top = height - TOP
    for (heading, rows), n in zip(blocks, heights, strict=True):
        top -= HEADING
        where.fig.text(0.01, (top + 0.08) / height, heading, fontsize=9.5, fontweight="bold")
        for k, (_, item) in enumerate(rows.iterrows()):
            row, column = divmod(k, COLUMNS)
            left = (column * PANEL_WIDTH + 0.42) / width
            bottom = (top - (row + 1) * ROW + 0.28) / height
            panel = where.fig.add_axes(
                (left, bottom, (PANEL_WIDTH - 0.6) / width, (ROW - 0.78) / height)
            )
            draw_feature(panel, item, results, colours)
        top -= ROW * n
    where.title(TITLE)
    where.fig.text(0.5, (BOTTOM - 0.15) / height, f"{results['time']} (as a number)",
                   ha="center", fontsize=8)  # fmt: skip
    where.fig.legend(
        handles=_legend(donors, colours, results),
        loc="lower center",
        bbox_to_anchor=(0.5, 0.01),
        ncol=min(len(donors) + 2, 8),
        frameon=False,
        fontsize=7.5,
    )
    return finish(where.fig, return_fig=return_fig, save=save)


def _block_rows(table: pd.DataFrame, key: str) -> pd.DataFrame:
    if key in ("set", "state"):
        return table[table["kind"] == key]
    factors = table[table["kind"] == "factor"]
    return factors[factors["phase"].astype(str).str.contains(key)]


def _best(table: pd.DataFrame) -> pd.DataFrame:
    factors = table[table["kind"] == "factor"]
    pool = factors if not factors.empty else table
    return pool.sort_values("fdr", na_position="last").head(1)


def draw_feature(
    ax: Axes, item: pd.Series, results: dict[str, Any], colours: dict[str, str]
) -> None:
    """One panel: per-donor lines, marginal time means, linear trend, title with the call."""
    name = str(item["feature"])
    scores, means, line = results["scores"], results["means"], results["line"]
    mark = _MARKS.get(str(item["effect"]), "")
    title = f"{item['label']} {mark}".strip()
    if name not in means:
        ax.set_title(f"{title}\nnot measured", fontsize=8)
        ax.axis("off")
        return
    for donor, rows in scores.groupby(scores["donor"].astype(str), sort=False):
        rows = rows.sort_values("time")
        ax.plot(rows["time"], rows[name], color=colours[donor], linewidth=0.8, alpha=0.75,
                marker=".", markersize=3, zorder=2)  # fmt: skip
    ax.plot(means["time"], means[name], color="black", linewidth=1.8, marker="o",
            markersize=3.5, zorder=4)  # fmt: skip
    ax.plot(line["time"], line[name], color="black", linewidth=1.0, linestyle="--", zorder=3)
    called = str(item["trend"]) in _CALLED
    q = item["fdr"] if str(item["trend"]) != "transient" else item["fdr_any"]
    detail = f"{item['trend']}, q={_q(q)}" if called else f"flat, q={_q(item['fdr_any'])}"
    ax.set_title(f"{title}\n{detail}", fontsize=8, fontweight="bold" if called else "normal")
    ax.set_xticks(np.sort(means["time"].unique()))
    ax.tick_params(labelsize=6.5)
    ax.axhline(0.0, color="#EEEEEE", linewidth=0.8, zorder=0)


def _q(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "NA"
    if not np.isfinite(number):
        return "NA"
    return f"{number:.0e}" if number < 1e-3 else f"{number:.2g}"


def _legend(donors: list[str], colours: dict[str, str], results: dict[str, Any]) -> list[Any]:
    handles: list[Any] = [
        Line2D([], [], color=colours[d], linewidth=0.8, marker=".", label=d) for d in donors
    ]
    handles.append(Line2D([], [], color="black", linewidth=1.8, marker="o", markersize=3.5,
                          label="time means (donors averaged)"))  # fmt: skip
    handles.append(Line2D([], [], color="black", linewidth=1.0, linestyle="--",
                          label="linear trend within donors"))  # fmt: skip
    return handles


def _natural(text: str) -> tuple[str, int]:
    import re

    match = re.search(r"(\d+)$", text)
    return (text[: match.start()], int(match.group(1))) if match else (text, -1)


__all__ = ["BLOCKS", "TITLE", "draw_feature", "timecourse", "timecourse_results"]
