"""Plain-text tables for the command-line listings."""

from __future__ import annotations

from collections.abc import Sequence


def print_table(rows: Sequence[Sequence[object]]) -> None:
    """Print rows as left-aligned columns separated by two spaces (first row: header).

    Examples
    --------
    >>> print_table([("name", "n"), ("clastokines_secreted", 9)])
    name                  n
    clastokines_secreted  9
    """
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
