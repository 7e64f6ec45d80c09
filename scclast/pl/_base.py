"""What every figure function shares: saving reproducibly and the return rule.

Figure functions draw on a new :class:`~matplotlib.figure.Figure` (pyplot's global state
is never touched), then :func:`finish` applies the one rule of :mod:`scclast.pl`:
``save=`` writes the figure (PNG and PDF when the path has no suffix), and the figure is
returned only with ``return_fig=True``. In a notebook a returned figure displays itself.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

DPI = 150
"""Resolution of saved PNGs."""

_PNG_METADATA = {"Software": None}
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}


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
    if save is not None:
        path = Path(save)
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            metadata = _PDF_METADATA if path.suffix.lower() == ".pdf" else None
            if path.suffix.lower() == ".png":
                metadata = _PNG_METADATA
            fig.savefig(path, dpi=DPI, metadata=metadata)
        else:
            save_figure(fig, path.parent, path.name)
    return fig if return_fig else None


__all__ = ["DPI", "finish", "save_figure"]
