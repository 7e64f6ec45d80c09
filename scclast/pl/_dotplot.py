"""Dot plot of the clastokine genes by group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast import get
from scclast._docs import doc_params, doc_plot_io
from scclast._keys import DEFAULT_KEY
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._data import flag_results, present_genes, scale_0_1
from scclast.pl._layout import grid_size, row_layout, shade_flagged, style_grid
from scclast.pl._legends import effect_handles, flag_handles, main_and_legends
from scclast.pl._style import EDGE_COLOUR, LEVEL_CMAP

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

TITLE = "Clastokine genes by group"
NO_GENES = "None of the catalogue's clastokine genes is in the data."
MAX_DOT = 160.0
"""Dot area (points²) of a gene every cell of a group expresses."""


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def dotplot(
    adata: AnnData,
    *,
    groupby: str | None = None,
    species: str | None = None,
    genes: pd.DataFrame | None = None,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Dot plot of the clastokine genes by group.

    Rows are genes, grouped under their catalogue category and marked by the factor's
    effect on bone formation (anabolic ▲, inhibitory ▼, controversial ◆); columns are
    groups, flagged groups shaded and starred. Dot area is the fraction of cells
    expressing the gene, colour its mean log-normalised level scaled to 0-1 across
    groups.

    Parameters
    ----------
    adata
        Annotated data flagged by :func:`scclast.tl.flag` (counts or log-normalised;
        backed works).
    groupby
        Grouping column; default: the one recorded by flagging.
    species
        Catalogue species; default: the one the data's symbols look like, else the one
        recorded by flagging, else ``"mouse"``.
    genes
        A frame like :func:`scclast.genesets.factor_genes` (``gene``, ``label``,
        ``category``, ``effect``); default: the catalogue's coupling-factor genes.
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import os, tempfile, scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> path = os.path.join(tempfile.mkdtemp(), "dotplot.png")
    >>> scclast.pl.dotplot(adata, save=path)
    >>> os.path.getsize(path) > 10_000
    True
    >>> fig = scclast.pl.dotplot(adata, return_fig=True)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['0', '1', '2', '★ 3', '4', '5', '6', '7']
    """
    results = flag_results(adata, key_added, groupby)
    view, genes = present_genes(adata, genes, species, results)
    order, flagged = results.order, results.flagged
    layout = list(row_layout(genes))
    where = canvas(ax, figsize, grid_size(len(order), len(layout)))
    if genes.empty:
        return finish(where.message(NO_GENES), return_fig=return_fig, save=save)
    mean, fraction = get.group_expression(adata, list(genes["gene"]), results.groupby, view=view)
    mean, fraction = mean.reindex(order), fraction.reindex(order)
    scaled = scale_0_1(mean)
    main, legends = main_and_legends(where, len(order))
    shade_flagged(main, order, flagged)
    xs, ys, sizes, values = [], [], [], []
    for y, row in enumerate(layout):
        if row.gene is None:
            continue
        for x, group in enumerate(order):
            xs.append(x)
            ys.append(y)
            sizes.append(np.nan_to_num(fraction.at[group, row.gene]))
            values.append(np.nan_to_num(scaled.at[group, row.gene]))
    points = main.scatter(
        xs,
        ys,
        s=np.asarray(sizes) * MAX_DOT + 0.5,
        c=values,
        cmap=LEVEL_CMAP,
        vmin=0,
        vmax=1,
        edgecolors=EDGE_COLOUR,
        linewidths=0.3,
        zorder=3,
    )
    style_grid(main, order, layout, flagged)
    main.set_xlabel(results.groupby)
    where.title(TITLE)
    legends.draw(
        points,
        "mean expression\n(scaled 0-1 across groups)",
        [(size_handles(), "cells expressing"), (effect_handles() + flag_handles(), "marks")],
    )
    return finish(where.fig, return_fig=return_fig, save=save)


def size_handles() -> list[Line2D]:
    """Dots of 10, 25, 50 and 100 % of cells expressing."""
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            color="#777777",
            markersize=np.sqrt(frac * MAX_DOT + 0.5),
            label=f"{int(frac * 100)} %",
        )
        for frac in (0.1, 0.25, 0.5, 1.0)
    ]


__all__ = ["TITLE", "dotplot"]
