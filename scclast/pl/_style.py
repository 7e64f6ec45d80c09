"""Colours, marks and labels every figure shares, so a mark means one thing everywhere.

Colours are colour-blind safe: Okabe & Ito (2008) for categories and effects,
``viridis`` for levels and ``RdBu_r`` (ColorBrewer) for signed values. Effects and flags
are also shown by shape and text (▲ ▼ ◆, ★), never by colour alone.

Examples
--------
>>> group_label("3", {"3"}), group_label("4", {"3"})
('★ 3', '4')
>>> EFFECT_STYLE["inhibitory"]
('#D55E00', 'v')
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib import colormaps
from matplotlib import colors as mcolors

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
"""Okabe & Ito's eight colours, safe for every common colour-vision deficiency."""

EFFECT_STYLE: dict[str, tuple[str, str]] = {
    "anabolic": ("#0072B2", "^"),
    "inhibitory": ("#D55E00", "v"),
    "controversial": ("#CC79A7", "D"),
}
"""Effect of a coupling factor on bone formation: ``(colour, marker)``."""

MISSING_COLOUR = "#BBBBBB"
"""Cells without a group or score."""

FLAG_MARK = "\u2605"
"""A black star, drawn beside flagged group names."""

FLAG_SHADE = "#FFF1C2"
"""Background of a flagged group's column and of its labels."""

LEVEL_CMAP = "viridis"
"""Colour map of levels (0 to 1)."""

SIGNED_CMAP = "RdBu_r"
"""Colour map of values centred on a neutral point (z = 0, AUROC = 0.5)."""

GRID_COLOUR = "#F2F2F2"
RULE_COLOUR = "#999999"
EDGE_COLOUR = "#555555"


def group_label(group: str, flagged: set[str]) -> str:
    """A group's name, starred when it is flagged."""
    return f"{FLAG_MARK} {group}" if group in flagged else group


def group_colours(groups: Sequence[str]) -> dict[str, str]:
    """Okabe-Ito for up to 8 groups (colour-blind safe), else tab20, then cycling.

    Examples
    --------
    >>> group_colours(["a", "b"])
    {'a': '#E69F00', 'b': '#56B4E9'}
    """
    if len(groups) <= 8:
        palette = [*OKABE_ITO[:7], "#999999"]
    else:
        tab20 = colormaps["tab20"]
        palette = [mcolors.to_hex(tab20(i % 20)) for i in range(len(groups))]
    return {g: palette[i % len(palette)] for i, g in enumerate(groups)}


__all__ = [
    "EDGE_COLOUR",
    "EFFECT_STYLE",
    "FLAG_MARK",
    "FLAG_SHADE",
    "GRID_COLOUR",
    "LEVEL_CMAP",
    "MISSING_COLOUR",
    "OKABE_ITO",
    "RULE_COLOUR",
    "SIGNED_CMAP",
    "group_colours",
    "group_label",
]
