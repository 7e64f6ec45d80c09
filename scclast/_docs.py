"""Parameter documentation written once and shared by every public function.

A docstring names a fragment as ``{doc_matrix}`` on a line of its own, at the indent of
the parameter list; :func:`doc_params` puts the fragment there, indented to match. Only
the named placeholders are replaced, so other braces in a docstring (``{name: genes}``)
are left alone.

Examples
--------
>>> @doc_params(doc_copy=doc_copy)
... def f(adata, copy=False):
...     '''Do something.
...
...     Parameters
...     ----------
...     {doc_copy}
...     '''
>>> "Return a modified copy" in f.__doc__
True
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

doc_adata = """\
adata
    Cells x genes. In memory (numpy, scipy CSR/CSC), backed (``read_h5ad(path,
    backed="r")``: read in row chunks, bounded memory) or with a dask ``X``
    (``anndata.experimental.read_lazy``). The matrix is never modified."""

doc_matrix = """\
layer
    Use ``adata.layers[layer]`` instead of ``X``.
use_raw
    Use ``adata.raw.X`` (and ``adata.raw.var`` for gene symbols), e.g. the
    log-normalised values of a scanpy file whose ``X`` is scaled.
gene_symbols
    ``var`` column of gene symbols. ``None``: ``var_names``, unless they look like
    Ensembl IDs, in which case the first of ``gene_symbols``, ``gene_symbol``,
    ``feature_name``, ``gene_name``, ``gene_names``, ``symbol``, ``symbols``,
    ``features`` present is used. ``"var_names"`` forces ``var_names``."""

doc_species = """\
species
    ``"auto"`` (told from the gene symbols' letter case), ``"mouse"`` or ``"human"``;
    picks the catalogue's symbols and is checked against the data."""

doc_key_added = """\
key_added
    Root of every ``obs``/``uns`` name written (default ``"scclast"``); see
    :mod:`scclast._keys` for the full list. Tables are read back with
    :mod:`scclast.get` using the same ``key_added``."""

doc_copy = """\
copy
    Return a modified copy instead of writing into ``adata`` (not possible for a
    backed AnnData)."""

doc_seed = """\
seed
    Seed of every random choice of this step; the same input and seed give the same
    output."""

doc_groupby = """\
groupby
    ``obs`` column of cluster or cell-type labels. Cells without a label belong to no
    group (a warning says how many)."""

doc_plot_io = """\
key_added
    The ``key_added`` of the analysis whose results are drawn (default ``"scclast"``).
return_fig
    Return the :class:`~matplotlib.figure.Figure` (default: ``None``).
save
    Write the figure: a path with a suffix (``.png``, ``.pdf``, ``.svg``) writes that
    file; a path without one writes ``.png`` and ``.pdf``. No timestamp is embedded."""

doc_returns_copy = """\
``None``, or the modified copy when ``copy=True``."""

_FRAGMENTS = {
    name: value
    for name, value in dict(globals()).items()
    if name.startswith("doc_") and isinstance(value, str)
}


def doc_params(**fragments: str) -> Callable[[F], F]:
    """Fill ``{name}`` placeholders of a docstring with the given fragments.

    Each placeholder must stand alone on its line; the fragment is indented like the
    placeholder. Unknown placeholders are an error at import time, so a typo cannot
    ship.
    """

    def decorate(func: F) -> F:
        doc = func.__doc__
        if doc is None:
            return func
        lines = []
        for line in doc.splitlines():
            stripped = line.strip()
            if stripped.startswith("{") and stripped.endswith("}") and stripped[1:-1] in fragments:
                indent = line[: len(line) - len(line.lstrip())]
                lines.append(textwrap.indent(fragments[stripped[1:-1]], indent))
            elif stripped.startswith("{doc_") and stripped.endswith("}"):
                raise KeyError(f"{func.__qualname__}: unknown doc fragment {stripped}")
            else:
                lines.append(line)
        func.__doc__ = "\n".join(lines)
        return func

    return decorate


def shared_docs() -> dict[str, str]:
    """Every fragment by name (for :func:`doc_params`).

    Examples
    --------
    >>> shared_docs()["doc_copy"].splitlines()[0]
    'copy'
    """
    return dict(_FRAGMENTS)


__all__ = [
    "doc_adata",
    "doc_copy",
    "doc_groupby",
    "doc_key_added",
    "doc_matrix",
    "doc_params",
    "doc_plot_io",
    "doc_returns_copy",
    "doc_seed",
    "doc_species",
    "shared_docs",
]
