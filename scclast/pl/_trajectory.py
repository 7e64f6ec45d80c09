"""Coupling factors along the pseudotime, grouped by Figure 4 phase, anabolic and inhibitory apart.

Rows are the phases the review's Figure 4 legend gives the factors (initiation,
transition; putative clastokines are not placed), then the gene sets, then the lineage
programmes that check the axis' direction beside the lineage-state composition along
it. The left column holds pro-formation factors (▲ anabolic, ◆ controversial), the right
one inhibitory factors (▼). Each line is a factor's fitted curve (standardised units)
over the cells' order along the pseudotime; factors that change (FDR below the level)
are drawn solid and labelled at their peak, the others thin and grey. Flagged groups'
spans (5th-95th percentile of their cells' order) are shaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from scclast._docs import doc_params, doc_plot_io
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._style import (
    EFFECT_STYLE,
    FLAG_MARK,
    FLAG_SHADE,
    GRID_COLOUR,
    MISSING_COLOUR,
    OKABE_ITO,
    RULE_COLOUR,
)

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

TITLE = "Coupling factors along the osteoclast-lineage pseudotime, by Figure 4 phase"

ROWS = (
    ("initiation", "Initiation (Figure 4)"),
    ("transition", "Transition (Figure 4)"),
    ("not placed", "Not placed in a phase (putative)"),
    ("sets", "Gene sets"),
)
"""Panel rows of the factor grid: phase key and heading."""

TERMINATION_NOTE = (
    "no factor here.\nThe termination phase has no transcript score:\nvesicular RANK is "
    "not measurable from transcripts."
)

SIDES = (
    ("anabolic", "pro-formation (▲ anabolic, ◆ controversial)"),
    ("inhibitory", "▼ inhibitory"),
)

STATE_COLOURS = {
    "macrophage": "#56B4E9",
    "oc_precursor": "#009E73",
    "osteoclast": "#E69F00",
    "osteomorph": "#CC79A7",
}
"""Lineage states in the composition strip."""

_LINE_COLOURS = (*OKABE_ITO[:6], "#000000", "#8C564B", "#7F7F7F", "#17BECF")


def trajectory_results(adata: AnnData, key_added: str = DEFAULT_KEY) -> dict[str, Any]:
    """The stored trajectory: table, curves, composition, flagged spans, level."""
    from scclast import get

    record = Keys(key_added).require(adata, Step.TRAJECTORY, "scclast.tl.trajectory")
    fdr = record.get("parameters", {}).get("fdr", 0.05)
    return {
        "table": get.trajectory_table(adata, key_added),
        "curves": pd.DataFrame(record["curves"]),
        "composition": pd.DataFrame(record.get("composition", pd.DataFrame())),
        "spans": pd.DataFrame(record.get("flagged_spans", pd.DataFrame())),
        "fdr": float(fdr),
        "pseudotime": str(record.get("parameters", {}).get("pseudotime", "")),
    }


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def trajectory(
    adata: AnnData,
    *,
    features: Sequence[str] | None = None,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Factors and gene sets along the pseudotime, grouped by phase and effect.

    On its own figure: one panel per Figure 4 phase and side (anabolic, inhibitory),
    the gene sets, and the lineage programmes beside the lineage-state composition.
    Into a caller's Axes (``ax=``): one panel with the curves of ``features``
    (default: every factor that changes).

    Parameters
    ----------
    adata
        Annotated data analysed by :func:`scclast.tl.trajectory`.
    features
        Names (``trajectory.tsv``'s ``feature``) drawn into ``ax``; ignored otherwise.
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=600, n_genes=500, seed=1, continuous=True)
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> scclast.tl.pseudotime(adata)
    >>> scclast.tl.trajectory(adata, n_permutations=49)
    >>> fig = scclast.pl.trajectory(adata, return_fig=True)
    >>> fig.axes[0].get_title(loc="left")
    'Initiation (Figure 4): pro-formation (▲ anabolic, ◆ controversial)'
    """
    results = trajectory_results(adata, key_added)
    table = results["table"]
    where = canvas(ax, figsize, (11.0, 2.35 * (len(ROWS) + 1) + 0.6))
    if where.ax is not None:
        chosen = list(features) if features is not None else _changing(table, "factor")
        check_features(table, chosen)
        rows = table[table["feature"].isin(chosen)]
        draw_panel(where.ax, rows, results)
        where.ax.set_xlabel("order along the pseudotime (0 = root)")
        return finish(where.fig, return_fig=return_fig, save=save)
    grid = where.fig.add_gridspec(len(ROWS) + 1, 2)
    panels = []
    for r, (phase, heading) in enumerate(ROWS):
        for c, (side, side_label) in enumerate(SIDES):
            panel = where.fig.add_subplot(grid[r, c])
            panels.append(panel)
            rows = _panel_rows(table, phase, side)
            note = TERMINATION_NOTE if phase == "not placed" else "no factor here"
            draw_panel(panel, rows, results, empty_note=note)
            panel.set_title(f"{heading}: {side_label}", loc="left", fontsize=9)
    # one scale for every factor and set: a flat factor's noise must look flat
    limits = np.array([p.get_ylim() for p in panels if p.lines and p.get_legend()])
    if limits.size:
        for panel in panels:
            panel.set_ylim(limits[:, 0].min(), limits[:, 1].max())
    orientation = where.fig.add_subplot(grid[len(ROWS), 0])
    draw_panel(orientation, table[table["kind"] == "state"], results)
    orientation.set_title("Orientation check: lineage programmes", loc="left", fontsize=9)
    orientation.set_xlabel("order along the pseudotime (0 = root)")
    strip = where.fig.add_subplot(grid[len(ROWS), 1])
    _composition(strip, results)
    where.title(TITLE)
    where.fig.legend(
        handles=_legend_handles(results),
        loc="outside lower center",
        ncol=4,
        frameon=False,
        fontsize=8,
    )
    return finish(where.fig, return_fig=return_fig, save=save)


def _changing(table: pd.DataFrame, kind: str) -> list[str]:
    rows = table[(table["kind"] == kind) & table["significant"]]
    return rows["feature"].astype(str).tolist()


def _panel_rows(table: pd.DataFrame, phase: str, side: str) -> pd.DataFrame:
    if phase == "sets":
        rows = table[table["kind"] == "set"]
        sides = rows["effect"].map(lambda e: "inhibitory" if e == "inhibitory" else "anabolic")
        return rows[sides == side]
    rows = table[(table["kind"] == "factor") & table["phase"].astype(str).str.contains(phase)]
    sides = rows["effect"].map(lambda e: "inhibitory" if e == "inhibitory" else "anabolic")
    return rows[sides == side]


def draw_panel(
    ax: Axes,
    rows: pd.DataFrame,
    results: dict[str, Any],
    empty_note: str = "no factor here",
) -> None:
    """One panel: the curves of ``rows``; changing ones solid, with a dot at their peak.

    Every factor is named in the panel's legend: changing ones by colour, unchanged ones
    (thin grey dashes) and unmeasured ones with a note after the name.
    """
    curves, spans = results["curves"], results["spans"]
    _shade_spans(ax, spans)
    for boundary in (1 / 3, 2 / 3):
        ax.axvline(boundary, color=RULE_COLOUR, linewidth=0.6, linestyle=":", zorder=1)
    ax.axhline(0.0, color=GRID_COLOUR, linewidth=0.8, zorder=0)
    colour_index = 0
    for row in rows.itertuples():
        name, label = str(row.feature), _label(row)
        if name not in curves:
            ax.plot([], [], linestyle="none", label=f"{label} (not measured)")
            continue
        x, y = curves["order"].to_numpy(), curves[name].to_numpy()
        y = y - np.nanmean(y)
        if bool(row.significant):
            colour = _LINE_COLOURS[colour_index % len(_LINE_COLOURS)]
            colour_index += 1
            ax.plot(x, y, color=colour, linewidth=1.8, zorder=3, label=label)
            peak = int(np.argmax(y))
            ax.plot(x[peak], y[peak], "o", color=colour, markersize=4, zorder=4)
        else:
            ax.plot(x, y, color=MISSING_COLOUR, linewidth=0.8, linestyle="--", zorder=2,
                    label=f"{label} (no change)")  # fmt: skip
    handles = ax.get_legend_handles_labels()[0]
    if handles:
        ax.legend(fontsize=6.5, frameon=False, ncol=2 if len(handles) > 4 else 1, loc="best",
                  handlelength=1.4, columnspacing=0.8)  # fmt: skip
    if rows.empty:
        ax.text(0.5, 0.5, empty_note, transform=ax.transAxes, ha="center",
                va="center", fontsize=8, color="#666666")  # fmt: skip
    ax.set_xlim(0.0, 1.0)
    ax.set_ylabel("fitted level (SD)", fontsize=8)
    ax.tick_params(labelsize=7)
    for position, word in ((1 / 6, "early"), (0.5, "middle"), (5 / 6, "late")):
        ax.text(position, 0.99, word, transform=ax.get_xaxis_transform(), ha="center",
                va="top", fontsize=6.5, color=RULE_COLOUR)  # fmt: skip


def _label(row: Any) -> str:
    mark = {"anabolic": "▲", "inhibitory": "▼", "controversial": "◆"}.get(str(row.effect), "")
    return f"{row.label} {mark}".strip()


def _shade_spans(ax: Axes, spans: pd.DataFrame) -> None:
    for row in spans.itertuples():
        ax.axvspan(float(row.low), float(row.high), color=FLAG_SHADE, zorder=0, linewidth=0)
        ax.text(
            float(row.median), 0.97, f"{FLAG_MARK} {row.group}", transform=ax.get_xaxis_transform(),
            ha="center", va="top", fontsize=7,
        )  # fmt: skip


def _composition(ax: Axes, results: dict[str, Any]) -> None:
    """Stacked share of each lineage state along the order."""
    frame = results["composition"]
    _shade_spans(ax, results["spans"])
    if frame.empty:
        ax.text(0.5, 0.5, "no lineage states", ha="center", va="center", transform=ax.transAxes)
        return
    states = [c for c in frame.columns if c not in ("start", "stop")]
    # each bin's shares drawn flat over the bin (a step), from order 0 to 1
    x = np.column_stack([frame["start"], frame["stop"]]).ravel()
    shares = [np.repeat(frame[s].to_numpy(dtype=float), 2) for s in states]
    colours = [STATE_COLOURS.get(s, "#BBBBBB") for s in states]
    labels = [s.replace("_", " ") for s in states]
    ax.stackplot(x, shares, colors=colours, labels=labels, alpha=0.85)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("share of cells", fontsize=8)
    ax.set_xlabel("order along the pseudotime (0 = root)")
    ax.tick_params(labelsize=7)
    ax.set_title("Lineage states along the pseudotime", loc="left", fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)


def _legend_handles(results: dict[str, Any]) -> list[Any]:
    handles: list[Any] = [
        Line2D([], [], color="#0072B2", linewidth=1.8,
               label=f"changes along the axis (FDR ≤ {results['fdr']:g})"),
        Line2D([], [], color=MISSING_COLOUR, linewidth=0.8, linestyle="--", label="no change"),
        Line2D([], [], color="#555555", marker="o", linestyle="none", markersize=4, label="peak"),
    ]  # fmt: skip
    if not results["spans"].empty:
        handles.append(Patch(facecolor=FLAG_SHADE, label=f"{FLAG_MARK} flagged group's span"))
    handles += [
        Line2D([], [], marker=m, color=c, linestyle="none", markersize=5, label=e)
        for e, (c, m) in EFFECT_STYLE.items()
    ]
    return handles


def check_features(table: pd.DataFrame, features: Sequence[str]) -> None:
    """Refuse feature names that are not in the table, listing the known ones."""
    unknown = sorted(set(features) - set(table["feature"].astype(str)))
    if unknown:
        raise ScclastInputError(
            f"features {unknown} are not in the table; known: {', '.join(table['feature'])}"
        )


__all__ = ["ROWS", "TITLE", "draw_panel", "trajectory", "trajectory_results"]
