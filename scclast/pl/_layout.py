"""The group x row grid shared by the dot plot and the heatmap.

Rows are genes or factors under bold italic category headers, each marked by its
effect (▲ ▼ ◆) in the margin; columns are groups, flagged groups starred and bold.

Examples
--------
>>> items = pd.DataFrame({"gene": ["Slit3", "Sema4d"], "label": ["SLIT3", "SEMA4D"],
...                       "category": ["secreted", "inhibitory"],
...                       "effect": ["anabolic", "inhibitory"]})
>>> [row.text for row in row_layout(items)]
['secreted', 'Slit3', 'inhibitory', 'Sema4d']
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from scclast.pl._style import EFFECT_STYLE, FLAG_SHADE, GRID_COLOUR, RULE_COLOUR, group_label

COLUMN_WIDTH = 0.42
"""Inches per group column."""

LEGEND_WIDTH = 1.9
"""Inches of the legend column beside a grid."""


@dataclass(frozen=True)
class Row:
    """One row of a gene or factor grid: a category header (gene None) or an item."""

    text: str
    gene: str | None = None
    effect: str | None = None


def row_layout(items: pd.DataFrame) -> Iterator[Row]:
    """Header rows for categories, item rows under them, in first-seen order."""
    for category, block in items.groupby("category", sort=False):
        yield Row(text=str(category).replace("_", " "))
        for item in block.itertuples(index=False):
            label = str(item.label) if "label" in block else ""
            if label and label.upper() != str(item.gene).upper() and "(" not in label:
                text = f"{item.gene} ({label})"
            elif label.upper() == str(item.gene).upper():
                text = str(item.gene)  # the species' own symbol (Slit3, not SLIT3, in mouse)
            else:
                text = label or str(item.gene)
            yield Row(text=text, gene=str(item.gene), effect=str(item.effect))


def grid_size(n_groups: int, n_rows: int) -> tuple[float, float]:
    """Default size (inches) of a grid figure with its legend column."""
    width = 3.0 + COLUMN_WIDTH * max(n_groups, 2) + LEGEND_WIDTH + 0.4
    height = 2.2 + 0.24 * max(n_rows, 4)
    return (width, height)


def style_grid(
    ax: Axes, order: Sequence[str], layout: Sequence[Row], flagged: set[str], grid: bool = True
) -> None:
    """Axis labels: groups below (flagged bold, starred), rows left (headers bold)."""
    labels = [group_label(g, flagged) for g in order]
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
    _effect_marks(ax, layout)
    if grid:
        for y, row in enumerate(layout):
            if row.gene is not None:
                ax.axhline(y, color=GRID_COLOUR, linewidth=0.6, zorder=0)


def _effect_marks(ax: Axes, layout: Sequence[Row]) -> None:
    """Effect markers just left of the axis (axes-fraction x, data y); rules between blocks."""
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
            ax.axhline(y - 0.5, color=RULE_COLOUR, linewidth=0.6)


def shade_flagged(ax: Axes, order: Sequence[str], flagged: set[str]) -> None:
    """A pale column behind each flagged group."""
    for x, group in enumerate(order):
        if group in flagged:
            ax.axvspan(x - 0.5, x + 0.5, color=FLAG_SHADE, zorder=0)


def box_flagged(ax: Axes, order: Sequence[str], flagged: set[str], n_rows: int) -> None:
    """A black box around each flagged group's column."""
    for x, group in enumerate(order):
        if group in flagged:
            ax.add_patch(
                Rectangle(
                    (x - 0.5, -0.5),
                    1.0,
                    n_rows,
                    fill=False,
                    edgecolor="black",
                    linewidth=2.0,
                    zorder=4,
                )
            )


__all__ = [
    "COLUMN_WIDTH",
    "LEGEND_WIDTH",
    "Row",
    "box_flagged",
    "grid_size",
    "row_layout",
    "shade_flagged",
    "style_grid",
]
