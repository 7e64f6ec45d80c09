"""HTML pieces of the report: escaped text, embedded figures, tables.

Every piece of text taken from the data (group names, reasons, paths) goes through
:func:`e`; figures are embedded as base64 PNG, so the page loads nothing.

Examples
--------
>>> e('<b a="1">')
'&lt;b a=&quot;1&quot;&gt;'
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from scclast._pipeline._text import cell_text


def e(value: Any) -> str:
    """``value`` as escaped HTML text (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def figure_markup(name: str, title: str, caption: str, png: str | Path, letter: str) -> str:
    """A ``<figure>``: the PNG embedded (``id="img-{name}"``), lettered title and caption."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (
        f'<figure id="fig-{e(name)}">'
        f'<img id="img-{e(name)}" alt="Figure {letter}: {e(title)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption><strong>({letter}) {e(title)}.</strong> {e(caption)} "
        f'<span class="note">Also as <code>figures/{e(name)}.png</code> and '
        f"<code>figures/{e(name)}.pdf</code>.</span></figcaption></figure>"
    )


def table_markup(
    frame: pd.DataFrame, columns: Sequence[str], table_id: str, highlight: str | None = None
) -> str:
    """A scrolling table of ``columns`` (those present); rows true in ``highlight`` marked.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["a", "b"], "flagged": [True, False]})
    >>> "<tr class=\\"flagged\\">" in table_markup(t, ["group"], "t", highlight="flagged")
    True
    """
    shown = [c for c in columns if c in frame.columns]
    parts = [f'<div class="scroll"><table id="{e(table_id)}">']
    parts.append("<thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in shown) + "</tr></thead>")
    parts.append("<tbody>")
    for _, row in frame.iterrows():
        marked = highlight is not None and bool(row.get(highlight, False))
        css = f' class="{e(highlight)}"' if marked else ""
        cells = []
        for column in shown:
            value = row[column]
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f"<td{' class=num' if numeric else ''}>{e(cell_text(column, value))}</td>")
        parts.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div>")
    return "\n".join(parts)


def embedded_images(text: str) -> Iterable[str]:
    """``id`` of every embedded ``<img>`` in a report (for tests and checks).

    Examples
    --------
    >>> list(embedded_images('<img id="img-a" src="data:image/png;base64,AAA">'))
    ['img-a']
    """
    found: list[str] = []

    class _Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if tag == "img" and str(values.get("src", "")).startswith("data:image/png;base64,"):
                found.append(str(values.get("id", "")))

    _Images().feed(text)
    return found


__all__ = ["e", "embedded_images", "figure_markup", "table_markup"]
