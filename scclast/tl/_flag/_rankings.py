"""Gene rankings for the descriptive enrichment of a flag, from the pseudobulk totals.

Each tested group's genes are ranked against the group's reference (the same as the
flag's) without another pass over the matrix:

* **replicate-aware** (the group's flag is replicated): per gene, the moderated paired
  t of the per-sample pseudobulk log2 fold changes (:func:`scclast._stats.moderated_t`),
  so a gene high in one animal does not top the ranking;
* **cell-level** (otherwise): per gene, the Welch t of log-normalised expression, cells
  as units (what scanpy's ``rank_genes_groups(method="t-test")`` computes).

Genes detected in neither the group nor its reference are left out (they would tie).
The rankings go to gseapy prerank (:func:`scclast.tl._enrichment.prerank_rankings`);
the table says which ranking each row used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scclast._stats import Pseudobulk, moderated_t, welch_t
from scclast.tl._flag._effects import contrast
from scclast.tl._flag._replicates import Design

REPLICATE_NOTE = (
    "descriptive; replicate-aware ranking (moderated paired t of per-sample pseudobulk "
    "log2 fold changes, {n} samples)"
)
CELL_NOTE = "descriptive; cell-level ranking (Welch t, cells treated as independent)"


def group_rankings(
    pb: Pseudobulk,
    design: Design,
    symbols: list[str],
    groups: list[str],
    references: list[np.ndarray],
    tested: np.ndarray,
    min_cells: int,
    min_samples: int,
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """``{group: ranking}`` and ``{group: what the ranking is}`` of every tested group.

    Examples
    --------
    >>> rows = np.array([[4.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    >>> pb = Pseudobulk(np.array([20.0, 20.0, 0.0]), rows, rows * rows, rows, rows > 0)
    >>> design = Design(None, [], np.zeros(0, dtype=int))
    >>> rankings, notes = group_rankings(pb, design, ["Slit3", "Bg1"], ["a", "b"],
    ...                                  [np.array([1]), np.array([0])],
    ...                                  np.array([True, True]), 10, 3)
    >>> rankings["a"].idxmax(), notes["a"].split(";")[0]
    ('Slit3', 'descriptive')
    """
    rankings, notes = {}, {}
    index = pd.Index(symbols, name="gene")
    for g, group in enumerate(groups):
        reference = references[g]
        if not tested[g] or reference.size == 0:
            continue
        group_classes = design.classes_of(g)
        ref_classes = (reference[:, None] * design.slots + np.arange(design.slots)).ravel()
        pooled = pb.combine([group_classes, ref_classes])
        seen = pooled.detected.sum(axis=0) > 0
        fold = contrast(pb, design, g, reference, min_cells, min_samples)
        if fold.replicated:
            statistic = moderated_t(fold.per_sample)
            notes[group] = REPLICATE_NOTE.format(n=len(fold.samples))
        else:
            statistic = welch_t(pooled, pooled, 0, 1)
            notes[group] = CELL_NOTE
        rankings[group] = pd.Series(np.where(seen, statistic, np.nan), index=index).dropna()
    return rankings, notes


__all__ = ["CELL_NOTE", "REPLICATE_NOTE", "group_rankings"]
