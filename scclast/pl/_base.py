"""What every figure function shares: where it draws, how it saves, what it returns.

A figure function draws either on a new :class:`~matplotlib.figure.Figure` of its own
(pyplot's global state is never touched) or into an Axes the caller gives (``ax=``);
:func:`canvas` makes that choice in one place. :func:`finish` then applies the one rule
of :mod:`scclast.pl`: ``save=`` writes the figure (PNG and PDF when the path has no
suffix), and the figure is returned only with ``return_fig=True``. In a notebook a
returned figure displays itself, and a figure not returned is displayed by
:func:`finish` (no pyplot state is involved either way).

Examples
--------
>>> c = canvas(None, (3, 2), default_size=(6, 4))
>>> c.owned, c.fig.get_size_inches().tolist()
(True, [3.0, 2.0])
>>> ax = Figure().add_subplot()
>>> canvas(ax, None, default_size=(6, 4)).fig is ax.figure
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from scclast._errors import ScclastInputError

DPI = 150
"""Resolution of saved PNGs."""

_PNG_METADATA = {"Software": None}
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}

doc_canvas = """\
ax
    Draw into this Axes (its figure keeps its size; legends and colour bars go beside
    it on the same figure) instead of on a new figure.
figsize
    Size of the new figure in inches; default: sized to the content. Not with ``ax``."""


@dataclass(frozen=True)
class Canvas:
    """Where a figure function draws.

    Attributes
    ----------
    fig
        The figure drawn on: a new one, or the figure holding the caller's Axes.
    ax
        The caller's Axes, or ``None`` when the figure is the function's own.
    """

    fig: Figure
    ax: Axes | None = None

    @property
    def owned(self) -> bool:
        """The figure is the function's own (so it may title and lay it out)."""
        return self.ax is None

    def title(self, text: str) -> None:
        """The figure's title; on a caller's Axes, that Axes' title instead."""
        if self.ax is None:
            self.fig.suptitle(text, x=0.01, ha="left", fontsize=11)
        else:
            self.ax.set_title(text, loc="left", fontsize=10)

    def message(self, text: str) -> Figure:
        """A figure that says, in words, why there is nothing to draw."""
        ax = self.ax if self.ax is not None else self.fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
        return self.fig


def canvas(
    ax: Axes | None, figsize: tuple[float, float] | None, default_size: tuple[float, float]
) -> Canvas:
    """A new constrained-layout figure, or the caller's Axes and its figure.

    Raises
    ------
    ScclastInputError
        Both ``ax`` and ``figsize`` are given.
    """
    if ax is None:
        size = default_size if figsize is None else figsize
        return Canvas(Figure(figsize=size, layout="constrained"))
    if figsize is not None:
        raise ScclastInputError(
            "figsize= and ax= given together: a given Axes keeps its figure's size; "
            "drop figsize, or drop ax to get a new figure"
        )
    return Canvas(ax.get_figure(root=True), ax)


@contextlib.contextmanager
def default_style() -> Iterator[None]:
    """matplotlib's default style inside the block, whatever the user's matplotlibrc says.

    The figures of ``scclast run`` are drawn in it, so they look the same on every
    machine.

    Examples
    --------
    >>> import matplotlib
    >>> with matplotlib.rc_context({"lines.linewidth": 9}), default_style():
    ...     matplotlib.rcParams["lines.linewidth"]
    1.5
    """
    with matplotlib.style.context("default"):
        yield


def save_figure(fig: Figure, folder: str | Path, name: str, dpi: int = DPI) -> dict[str, Path]:
    """Write ``fig`` as ``folder/name.png`` and ``folder/name.pdf``, reproducibly.

    No timestamp or software version is embedded, so the same figure gives the same
    bytes on every run.

    Returns
    -------
    dict
        ``{"png": path, "pdf": path}``.

    Examples
    --------
    >>> import tempfile
    >>> fig = Figure(figsize=(2, 2)); _ = fig.add_subplot().plot([0, 1])
    >>> paths = save_figure(fig, tempfile.mkdtemp(), "line")
    >>> sorted(p.suffix for p in paths.values())
    ['.pdf', '.png']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"png": folder / f"{name}.png", "pdf": folder / f"{name}.pdf"}
    fig.savefig(paths["png"], dpi=dpi, metadata=_PNG_METADATA)
    fig.savefig(paths["pdf"], metadata=_PDF_METADATA)
    return paths


def finish(fig: Figure, *, return_fig: bool, save: str | Path | None) -> Figure | None:
    """Save (``save`` given) and return the figure (``return_fig``), else ``None``.

    ``save`` with a suffix (``.png``, ``.pdf``, ``.svg``) writes that one file; without
    one it writes ``save.png`` and ``save.pdf``.

    Examples
    --------
    >>> fig = Figure(); finish(fig, return_fig=True, save=None) is fig
    True
    """
    if not return_fig and _in_notebook():
        _display(fig)
    if save is not None:
        path = Path(save)
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            suffix = path.suffix.lower()
            metadata = {".pdf": _PDF_METADATA, ".png": _PNG_METADATA}.get(suffix)
            fig.savefig(path, dpi=DPI, metadata=metadata)
        else:
            save_figure(fig, path.parent, path.name)
    return fig if return_fig else None


def _in_notebook() -> bool:
    """Whether we run in a Jupyter kernel (where a figure can be shown inline)."""
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _display(fig: Figure) -> None:
    """Show the figure inline as PNG.

    Our figures are made without pyplot (no global state), so IPython has no formatter
    registered for them unless the user ran ``%matplotlib inline``; without one,
    ``display(fig)`` prints ``<Figure size ...>``. The PNG bytes always render.
    """
    import io

    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    display(Image(data=buffer.getvalue(), format="png"))


__all__ = [
    "DPI",
    "Canvas",
    "canvas",
    "default_style",
    "doc_canvas",
    "finish",
    "save_figure",
]
