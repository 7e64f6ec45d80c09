"""Legends: the marks' handles and where the colour bar and legends go.

A one-panel figure has a colour bar and one or more legend blocks. On its own figure
they stack in a column to the right of the panel (:class:`LegendColumn`); drawn into a
caller's Axes, the colour bar takes its place beside that Axes (``fig.colorbar(ax=ax)``)
and the blocks follow under it as one legend (:class:`LegendBeside`).
:func:`main_and_legends` picks the one that fits the :class:`~scclast.pl._base.Canvas`.

Examples
--------
>>> [h.get_label() for h in effect_handles()]
['anabolic', 'inhibitory', 'controversial']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from scclast.pl._base import Canvas
from scclast.pl._layout import COLUMN_WIDTH, LEGEND_WIDTH
from scclast.pl._style import EFFECT_STYLE, FLAG_MARK, FLAG_SHADE

Block = tuple[list[Any], str]
"""A legend block: its handles and its title."""

_LEGEND_KWARGS = {
    "frameon": False,
    "fontsize": 8,
    "title_fontsize": 8,
    "alignment": "left",
    "borderaxespad": 0.0,
}


def effect_handles() -> list[Line2D]:
    """One handle per effect on bone formation (colour and shape)."""
    return [
        Line2D([], [], marker=marker, color=colour, linestyle="none", markersize=6, label=effect)
        for effect, (colour, marker) in EFFECT_STYLE.items()
    ]


def flag_handles(box: bool = False) -> list[Patch]:
    """The mark of a flagged group: a shaded column, or a black box."""
    if box:
        return [Patch(facecolor="none", edgecolor="black", linewidth=2, label="flagged group")]
    return [Patch(facecolor=FLAG_SHADE, edgecolor="none", label=f"{FLAG_MARK} flagged group")]


def ring_handle() -> Line2D:
    """The black ring around a flagged cell or (group, gene set) pair."""
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


class LegendArea(Protocol):
    """Where a panel's colour bar and legend blocks go."""

    def draw(
        self, mappable: ScalarMappable, label: str, blocks: Sequence[Block]
    ) -> None: ...  # pragma: no cover


class LegendColumn:
    """A column of the figure's own grid: colour bar on top, then each block, stacked."""

    def __init__(self, fig: Figure, spec: SubplotSpec) -> None:
        self.fig, self.spec = fig, spec

    def draw(self, mappable: ScalarMappable, label: str, blocks: Sequence[Block]) -> None:
        heights = [1.1] + [len(handles) + 1.6 for handles, _ in blocks] + [2.0]
        sub = self.spec.subgridspec(len(heights), 1, height_ratios=heights)
        cax = self.fig.add_subplot(sub[0])
        bar = self.fig.colorbar(mappable, cax=cax, orientation="horizontal")
        bar.ax.set_title(label, fontsize=8, loc="left")
        bar.ax.tick_params(labelsize=7)
        for i, (handles, title) in enumerate(blocks, start=1):
            ax = self.fig.add_subplot(sub[i])
            ax.axis("off")
            ax.legend(handles=handles, title=title, loc="upper left", **_LEGEND_KWARGS)
        self.fig.add_subplot(sub[len(heights) - 1]).axis("off")


class LegendBeside:
    """Beside a caller's Axes: a colour bar (``fig.colorbar(ax=ax)``), the blocks under it.

    The blocks become one legend whose later titles are bold entries, so they stay
    together whatever the size of the figure.
    """

    def __init__(self, fig: Figure, ax: Axes) -> None:
        self.fig, self.ax = fig, ax

    def draw(self, mappable: ScalarMappable, label: str, blocks: Sequence[Block]) -> None:
        bar = self.fig.colorbar(
            mappable, ax=self.ax, location="right", shrink=0.3, aspect=8, anchor=(0.0, 1.0)
        )
        bar.ax.set_title(label, fontsize=8, loc="left")
        bar.ax.tick_params(labelsize=7)
        if not blocks:
            return
        handles: list[Any] = []
        headers: set[int] = set()
        for i, (block, title) in enumerate(blocks):
            if i:
                headers.add(len(handles))
                handles.append(Line2D([], [], linestyle="none", label=title))
            handles.extend(block)
        legend = bar.ax.legend(
            handles=handles,
            title=blocks[0][1],
            loc="upper left",
            bbox_to_anchor=(0.0, -0.12),
            **_LEGEND_KWARGS,
        )
        for i, text in enumerate(legend.get_texts()):
            if i in headers:
                text.set_fontweight("bold")


def main_and_legends(canvas: Canvas, n_columns: int) -> tuple[Axes, LegendArea]:
    """The panel's Axes and its legend area.

    On the function's own figure: a grid of the panel (``n_columns`` wide) and a legend
    column; on a caller's Axes: that Axes, legends beside it.
    """
    if canvas.ax is not None:
        return canvas.ax, LegendBeside(canvas.fig, canvas.ax)
    grid = canvas.fig.add_gridspec(
        1, 2, width_ratios=[COLUMN_WIDTH * max(n_columns, 2), LEGEND_WIDTH]
    )
    return canvas.fig.add_subplot(grid[0]), LegendColumn(canvas.fig, grid[1])


__all__ = [
    "Block",
    "LegendArea",
    "LegendBeside",
    "LegendColumn",
    "effect_handles",
    "flag_handles",
    "main_and_legends",
    "ring_handle",
]
