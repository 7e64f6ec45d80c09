"""Values as the report writes them: plain text, p-values, numbers, lists in words.

Examples
--------
>>> and_join(["a", "b", "c"]), p_text(3.2e-11), plain(["Slit3", "Lif"])
('a, b and c', '3.2e-11', 'Slit3, Lif')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def plain(value: Any) -> str:
    """Text of a value: ``""`` for missing, lists and arrays joined with ``", "``."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set)) or (
        hasattr(value, "tolist") and not isinstance(value, (str, bytes))
    ):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        if not isinstance(items, list):
            return str(items)
        return ", ".join(map(str, items))
    return str(value)


def cell_text(column: str, value: Any) -> str:
    """A table cell: yes/no for flags, p-values and FDRs short, counts with commas.

    Examples
    --------
    >>> cell_text("fdr", 0.01234), cell_text("n_cells", 1200), cell_text("auroc", 0.9)
    ('0.0123', '1,200', '0.900')
    """
    if isinstance(value, (bool,)) or column == "flagged":
        return "yes" if bool(value) else "no"
    if not is_number(value):
        return plain(value)
    number = float(value)
    if column in ("pvalue", "fdr") or column.endswith(("_pvalue", "_fdr")):
        return p_text(number)
    if column == "n_cells":
        return f"{int(number):,}"
    return f"{number:.3f}"


def p_text(value: float) -> str:
    """A p-value or FDR: two significant digits below 0.001, three above."""
    if math.isnan(value):
        return ""
    if value == 0:
        return "0"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3g}"


def is_number(value: Any) -> bool:
    """A finite-or-infinite real number (not text, not a bool, not NaN)."""
    try:
        return (
            value is not None
            and not isinstance(value, (str, bool))
            and not math.isnan(float(value))
        )
    except (TypeError, ValueError):
        return False


def number(value: Any) -> float | None:
    """The value as a float, or ``None`` when it is not a number."""
    return float(value) if is_number(value) else None


def as_float(value: Any, default: float) -> float:
    """The value as a float, or ``default`` when it cannot be one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def and_join(items: Sequence[Any]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


__all__ = ["and_join", "as_float", "cell_text", "is_number", "number", "p_text", "plain"]
