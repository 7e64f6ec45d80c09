"""Condition comparisons (disease, treatment, genotype) with samples as replicates.

What changes between conditions, asked in two ways per group of cells, always with the
samples (animals, donors) as the unit of replication, so that thousands of cells of one
animal never count as thousands of replicates:

1. **Expression.** In each osteoclast-lineage group, does a clastokine (or any catalogue
   gene, or a gene set as a whole) change? Raw counts are summed per sample and group
   (pseudobulk); genes are tested with PyDESeq2 (negative binomial, Wald test, log2 fold
   change with a 95% interval), gene sets with a linear model of a per-sample set score,
   which keeps the genes' correlation inside the variance it estimates.
2. **Abundance.** Does the group's share of each sample's cells change? Propeller-style:
   logit-transformed shares, a linear model over samples (statsmodels). Shares are
   relative: a rise of one group lowers the others'.

Benjamini-Hochberg FDR within genes, within sets and within abundance tests, each over all
groups and levels compared. Designs that cannot be tested (no sample column, a condition
that changes within a sample, an unknown reference, a level with fewer than two samples)
are refused in one line; a group with too few samples carrying enough of its cells is
reported with the reason and not tested.

==================  ========================================================================
module              holds
==================  ========================================================================
``_design``         the checked design (:func:`read_design`), samples usable per group
``_pseudobulk``     counts summed per group x sample in row chunks (backed data fit)
``_expression``     PyDESeq2 per group; per-sample set scores and their linear model
``_abundance``      propeller-style shares, transform and linear model
``_tables``         rows per group x level x feature, Benjamini-Hochberg, abundance table
``_compare``        :func:`compare_conditions`: inputs, the steps in order, the ``uns`` record
==================  ========================================================================

Calibration and power are measured in ``tests/test_conditions_calibration.py`` (simulated
3 vs 3 animals: planted changes found, null data within the FDR).
"""

from scclast.tl._conditions._compare import SET_CATEGORIES, compare_conditions, library_versions
from scclast.tl._conditions._design import MIN_CELLS, MIN_SAMPLES, Design, read_design
from scclast.tl._conditions._tables import ABUNDANCE_COLUMNS, COLUMNS, bh

__all__ = [
    "ABUNDANCE_COLUMNS",
    "COLUMNS",
    "MIN_CELLS",
    "MIN_SAMPLES",
    "SET_CATEGORIES",
    "Design",
    "bh",
    "compare_conditions",
    "library_versions",
    "read_design",
]
