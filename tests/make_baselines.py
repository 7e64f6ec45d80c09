"""Regenerate the reference images of tests/test_plotting.py (an explicit, separate step).

    python -m tests.make_baselines            # every figure
    python -m tests.make_baselines dotplot    # one

Writes ``tests/baseline_images/NAME.png`` and the figure's texts (tick labels, titles,
legend entries, annotations) into ``tests/baseline_images/texts.json``. The tests only
ever compare against these files; run this after an intended change of a figure, then
look at every PNG before committing it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import matplotlib.style
import matplotlib.testing
from matplotlib.figure import Figure
from matplotlib.text import Text

import scclast
from scclast.pl._base import save_figure
from tests._flagged import GENES, flagged_adata

BASELINES = Path(__file__).resolve().parent / "baseline_images"
TEXTS = BASELINES / "texts.json"
DPI = 80

FIGURES: dict[str, Callable[..., Figure]] = {
    "dotplot": lambda a: scclast.pl.dotplot(a, genes=GENES, return_fig=True),
    "embedding": lambda a: scclast.pl.embedding(a, return_fig=True),
    "factor_heatmap": lambda a: scclast.pl.factor_heatmap(a, genes=GENES, return_fig=True),
    "effect_sizes": lambda a: scclast.pl.effect_sizes(a, return_fig=True),
}
"""How each reference figure is drawn from :func:`tests._flagged.flagged_adata`."""


@contextmanager
def stable_style() -> Iterator[None]:
    """Default style and matplotlib's test font settings: images independent of the machine."""
    with matplotlib.rc_context():
        matplotlib.style.use("default")
        matplotlib.testing.set_font_settings_for_testing()
        yield


def figure_texts(fig: Figure) -> list[str]:
    """Every visible, non-empty text of a figure, in drawing-tree order."""
    return [
        text.get_text()
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]


def main(names: Sequence[str] = ()) -> int:
    """Draw the figures named (default: all) and write their PNG and texts."""
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        print(f"unknown figure(s) {unknown}: choose from {sorted(FIGURES)}", file=sys.stderr)
        return 2
    adata = flagged_adata()
    texts = json.loads(TEXTS.read_text(encoding="utf-8")) if TEXTS.is_file() else {}
    with stable_style():
        for name in names or list(FIGURES):
            fig = FIGURES[name](adata)
            png = save_figure(fig, BASELINES, name, dpi=DPI)
            png["pdf"].unlink()
            texts[name] = figure_texts(fig)
            print(f"wrote {png['png']}")
    TEXTS.write_text(
        json.dumps(dict(sorted(texts.items())), indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {TEXTS}; look at every PNG before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
