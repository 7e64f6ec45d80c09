"""Every threshold of a flag, with its reason, in one place.

:class:`FlagThresholds` is passed to :func:`scclast.tl.flag` whole; its
:meth:`~FlagThresholds.as_dict` is what the provenance record stores, so the
parameters a result was made with are never re-listed by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from scclast._errors import ScclastInputError


@dataclass(frozen=True)
class FlagThresholds:
    """Thresholds of a secretory-population flag, each with the reason for its default.

    A group is flagged for a set when it is osteoclast-lineage (not macrophage) and
    every one of the following holds (see :func:`scclast.tl.flag` for the statistics).

    Attributes
    ----------
    fdr
        Benjamini-Hochberg level of the group test over all tested group x flagging-set
        rows (default 0.05, the field's usual false discovery rate). With a sample key
        and at least ``min_samples`` samples the test is the one-sided paired t-test of
        the per-sample pseudobulk effects (animals are the unit); otherwise the
        cell-level Mann-Whitney test of calibrated scores (cells are the unit, and the
        flag is labelled exploratory).
    control_fdr
        Benjamini-Hochberg level of the control-set Monte Carlo p-value over the same
        rows (default 0.05): the group's effect must also stand out against the same
        effect of random gene sets matched on expression, which differ between lineage
        states too (state-dependent background). Its floor is ``1 / (n_control_sets +
        1)``, so a single row among ``m`` can pass only when ``n_control_sets + 1 >= m /
        control_fdr``; :func:`~scclast.tl.flag` says so when it cannot.
    min_fold_change
        Minimum normalised pseudobulk fold change of the set's genes, group over
        reference (default 1.5: log2 fold change 0.58, a common floor of a marked
        difference in pseudobulk expression). Significance alone is not enough: with
        thousands of cells, or a tight group of animals, a set-wide shift of a few
        percent is significant, and is not a secretory programme. A doubling clears it
        with room for sampling noise (about 40 cells per animal), where a floor of 2
        would miss half of the true doublings. Required of the set and of every
        leave-one-factor-out variant. Raise it (2.0) to call only marked programmes:
        a lineage state whose clastokines sit a steady 1.5-fold above the others (the
        simulator's osteoclast baseline) is at this floor (BENCHMARKS.md).
    min_sign_agreement
        Share of the samples in which the group's effect must be positive (default
        0.75: three of four animals, all of three, six of eight). A mean carried by
        one animal is not a population-level finding; applied whenever two or more
        samples have enough cells.
    min_samples
        Samples (with ``min_cells`` cells of the group and of its reference each) needed
        for the replicate-level test (default 3: a paired t-test on two samples has one
        degree of freedom, and a signed-rank test on four can never reach p < 0.05).
        With fewer the test is cell-level and the flag exploratory.
    min_cells
        Groups with fewer cells are reported as too small and never flagged, and a
        sample counts for a group only with this many cells of it (default 10: fewer
        cells give no stable detection rate, pseudobulk mean or AUROC).
    min_genes
        Sets with fewer measured genes are reported with low coverage and not scored
        (default 2: a one-gene "programme" is a single transcript, not a programme).
    min_coverage
        A set with less than this fraction of its genes in the data is scored and
        reported but cannot flag a group (default 0.5: the call would rest on a minority
        of the set's genes).
    cell_alpha
        Per-cell empirical p-value counted as significant in ``frac_significant``
        (default 0.05; descriptive only, never part of the decision).

    Examples
    --------
    >>> FlagThresholds().fdr
    0.05
    >>> FlagThresholds(fdr=0.1).as_dict()["fdr"]
    0.1
    >>> FlagThresholds(fdr=2)
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: FlagThresholds.fdr=2: give a value between 0 and 1
    """

    fdr: float = 0.05
    control_fdr: float = 0.05
    min_fold_change: float = 1.5
    min_sign_agreement: float = 0.75
    min_samples: int = 3
    min_cells: int = 10
    min_genes: int = 2
    min_coverage: float = 0.5
    cell_alpha: float = 0.05

    def __post_init__(self) -> None:
        for name in ("fdr", "control_fdr", "cell_alpha"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 < float(value) < 1.0:
                raise ScclastInputError(
                    f"FlagThresholds.{name}={value!r}: give a value between 0 and 1"
                )
        for name in ("min_coverage", "min_sign_agreement"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
                raise ScclastInputError(
                    f"FlagThresholds.{name}={value!r}: give a value between 0 and 1"
                )
        if not _is_number(self.min_fold_change) or not 1.0 <= float(self.min_fold_change) < 1e6:
            raise ScclastInputError(
                f"FlagThresholds.min_fold_change={self.min_fold_change!r}: give a fold "
                "change of at least 1 (e.g. 1.5 or 2)"
            )
        for name in ("min_cells", "min_genes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ScclastInputError(f"FlagThresholds.{name}={value!r}: give a positive integer")
        value = self.min_samples
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
            raise ScclastInputError(
                f"FlagThresholds.min_samples={value!r}: give an integer of at least 2 "
                "(3 or more recommended)"
            )

    @property
    def min_log2_fold_change(self) -> float:
        """``log2(min_fold_change)``: the effect threshold on the scale it is tested on."""
        return float(np.log2(self.min_fold_change))

    def as_dict(self) -> dict[str, Any]:
        """The thresholds as a plain dictionary (for the provenance record)."""
        return asdict(self)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


__all__ = ["FlagThresholds"]
