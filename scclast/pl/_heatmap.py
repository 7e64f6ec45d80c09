"""Heatmap of the coupling factors by group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.figure import Figure

from scclast import get
from scclast._docs import doc_params, doc_plot_io
from scclast._keys import DEFAULT_KEY
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._data import factor_rows, flag_results, present_genes, zscore_columns
from scclast.pl._dotplot import NO_GENES
from scclast.pl._layout import box_flagged, grid_size, row_layout, style_grid
from scclast.pl._legends import effect_handles, flag_handles, main_and_legends
from scclast.pl._style import SIGNED_CMAP

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

TITLE = "Coupling factors by group"
Z_LIMIT = 2.0
"""The colour scale's ends (z across groups)."""


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def factor_heatmap(
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
    """Heatmap of coupling factors by group: relative expression across groups.

    Each gene's mean log-normalised level is z-scored across groups, and a factor's
    value is the mean over its genes (for example Sphk1 and Spns2 for S1P). Rows are
    grouped by category and marked by effect as in :func:`scclast.pl.dotplot`; flagged
    groups are boxed and starred.

    Parameters
    ----------
    adata
        Annotated data flagged by :func:`scclast.tl.flag`.
    groupby, species, genes
        As for :func:`scclast.pl.dotplot`.
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> from matplotlib.figure import Figure
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> fig = scclast.pl.factor_heatmap(adata, return_fig=True)
    >>> fig.axes[0].get_yticklabels()[0].get_text()
    'membrane bound'

    Into an Axes of your own figure (the colour bar and legend go beside it):

    >>> mine = Figure(figsize=(12, 8), layout="constrained")
    >>> left, right = mine.subplots(1, 2)
    >>> scclast.pl.factor_heatmap(adata, ax=right)
    >>> len(mine.axes)  # left, right and the colour bar
    3
    """
    results = flag_results(adata, key_added, groupby)
    view, genes = present_genes(adata, genes, species, results)
    order, flagged = results.order, results.flagged
    factors = factor_rows(genes)
    layout = list(row_layout(factors))
    where = canvas(ax, figsize, grid_size(len(order), len(layout)))
    if genes.empty:
        return finish(where.message(NO_GENES), return_fig=return_fig, save=save)
    mean, _ = get.group_expression(adata, list(genes["gene"]), results.groupby, view=view)
    z = zscore_columns(mean.reindex(order))
    matrix = np.full((len(layout), len(order)), np.nan)
    for y, row in enumerate(layout):
        if row.gene is not None:
            members = list(genes.loc[genes["factor"] == row.gene, "gene"])
            matrix[y] = z[members].mean(axis=1).to_numpy()
    main, legends = main_and_legends(where, len(order))
    image = main.imshow(
        np.ma.masked_invalid(matrix),
        cmap=SIGNED_CMAP,
        norm=mcolors.TwoSlopeNorm(vcenter=0.0, vmin=-Z_LIMIT, vmax=Z_LIMIT),
        aspect="auto",
        interpolation="nearest",
    )
    box_flagged(main, order, flagged, len(layout))
    style_grid(main, order, layout, flagged, grid=False)
    main.set_xlabel(results.groupby)
    where.title(TITLE)
    legends.draw(
        image,
        "relative expression\n(z across groups)",
        [(effect_handles() + flag_handles(box=True), "marks")],
    )
    return finish(where.fig, return_fig=return_fig, save=save)


__all__ = ["TITLE", "factor_heatmap"]
