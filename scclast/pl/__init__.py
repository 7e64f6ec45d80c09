"""Figures (as ``scanpy.pl``): each reads a flagged AnnData and draws one figure.

=============================  =============================================================
:func:`dotplot`                clastokine genes x groups: fraction expressing, mean level
:func:`embedding`              UMAP by group and by calibrated score, flagged groups outlined
:func:`factor_heatmap`         coupling factor x group, relative expression
:func:`effect_sizes`           group x gene set: AUROC and FDR, flags ringed
=============================  =============================================================

Every function takes ``key_added`` (the analysis to draw), ``return_fig`` and ``save``
(:mod:`scclast.pl._base`).
"""

from scclast.pl._figures import dotplot, effect_sizes, embedding, factor_heatmap

__all__ = ["dotplot", "effect_sizes", "embedding", "factor_heatmap"]
