"""Statistical helpers shared by lineage calls, flagging and enrichment.

==================  ==================================================================
``_tests``          AUROC with Mann-Whitney, one-sided t, BH FDR, empirical p-values
``_summary``        :class:`GroupGeneSummary`: per-group totals of a few genes
``_pseudobulk``     :class:`Pseudobulk`: per class (group x sample) totals of every gene
==================  ==================================================================
"""

from scclast._stats._pseudobulk import (
    PSEUDOCOUNT,
    Pseudobulk,
    log2_fold_change,
    moderated_t,
    pseudobulk,
    welch_t,
)
from scclast._stats._summary import GroupGeneSummary, summarise_groups
from scclast._stats._tests import (
    Ranked,
    auroc_mannwhitney,
    benjamini_hochberg,
    bh_threshold,
    empirical_pvalue,
    one_sided_t,
    t_interval,
)

__all__ = [
    "PSEUDOCOUNT",
    "GroupGeneSummary",
    "Pseudobulk",
    "Ranked",
    "auroc_mannwhitney",
    "benjamini_hochberg",
    "bh_threshold",
    "empirical_pvalue",
    "log2_fold_change",
    "moderated_t",
    "one_sided_t",
    "pseudobulk",
    "summarise_groups",
    "t_interval",
    "welch_t",
]
