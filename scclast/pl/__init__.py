"""Figures (as ``scanpy.pl``): each reads a flagged AnnData and draws one figure.

=============================  =============================================================
:func:`dotplot`                clastokine genes x groups: fraction expressing, mean level
:func:`embedding`              UMAP by group and by calibrated score, flagged groups outlined
:func:`factor_heatmap`         coupling factor x group, relative expression
:func:`effect_sizes`           group x gene set: AUROC and FDR, flags ringed
:func:`forest`                 per-sample effects of flagged and near-flagged groups
:func:`run_summary`            across runs (workflow): flagged lineage states per dataset
:func:`trajectory`             factors along the pseudotime, by Figure 4 phase and effect
:func:`timecourse`             bulk time course: per-donor lines and trends, by phase
:func:`condition_genes`        conditions: log2 fold change of catalogue genes and sets per group
:func:`condition_abundance`    conditions: each sample's share of cells per group
:func:`coupling_map`           sender -> receiver by catalogue ligand-receptor pair (LIANA+)
=============================  =============================================================

Every function takes ``key_added`` (the analysis to draw), ``ax`` (draw into an Axes of
your own figure; :func:`embedding` then draws one panel, chosen by ``color``),
``figsize``, ``return_fig`` and ``save``, handled in one place (:mod:`scclast.pl._base`).

==================  ==========================================================================
module              holds
==================  ==========================================================================
``_base``           new figure or the caller's Axes, saving, the return rule, default style
``_style``          colour-blind-safe palette, effect marks, the flag's star and shade
``_data``           what a figure reads from the AnnData (flag table, groups, genes)
``_layout``         the group x gene grid of the dot plot and heatmap
``_legends``        legend handles; colour bar and legends beside the panel
``_dotplot`` ...    one module per figure
==================  ==========================================================================
"""

from scclast.pl._conditions import condition_abundance, condition_genes
from scclast.pl._coupling import coupling_map
from scclast.pl._dotplot import dotplot
from scclast.pl._effects import effect_sizes
from scclast.pl._embedding import embedding
from scclast.pl._forest import forest
from scclast.pl._heatmap import factor_heatmap
from scclast.pl._summary import run_summary
from scclast.pl._timecourse import timecourse
from scclast.pl._trajectory import trajectory

__all__ = [
    "condition_abundance",
    "condition_genes",
    "coupling_map",
    "dotplot",
    "effect_sizes",
    "embedding",
    "factor_heatmap",
    "forest",
    "run_summary",
    "timecourse",
    "trajectory",
]
