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

    Attributes
    ----------
    fdr
        Benjamini-Hochberg level of the group test over all group x set rows
        (default 0.05: the field's usual false discovery rate).
    min_auroc
        Effect size a flag needs: the AUROC of the group's calibrated scores against the
        reference (default 0.6, a modest shift: a p-value from thousands of cells is
        tiny for any difference, so significance alone would flag negligible effects).
        Required of the set and of every leave-one-factor-out variant.
    min_cells
        Groups with fewer cells are reported as too small and never flagged (default
        10: fewer cells give no stable detection rate or AUROC).
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
    min_auroc: float = 0.6
    min_cells: int = 10
    min_genes: int = 2
    min_coverage: float = 0.5
    cell_alpha: float = 0.05

    def __post_init__(self) -> None:
        for name in ("fdr", "cell_alpha"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 < float(value) < 1.0:
                raise ScclastInputError(
                    f"FlagThresholds.{name}={value!r}: give a value between 0 and 1"
                )
        if not _is_number(self.min_coverage) or not 0.0 <= float(self.min_coverage) <= 1.0:
            raise ScclastInputError(
                f"FlagThresholds.min_coverage={self.min_coverage!r}: give a value between 0 and 1"
            )
        if not _is_number(self.min_auroc) or not 0.5 <= float(self.min_auroc) <= 1.0:
            raise ScclastInputError(
                f"FlagThresholds.min_auroc={self.min_auroc!r}: give a value between 0.5 and 1"
            )
        for name in ("min_cells", "min_genes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ScclastInputError(f"FlagThresholds.{name}={value!r}: give a positive integer")

    def as_dict(self) -> dict[str, Any]:
        """The thresholds as a plain dictionary (for the provenance record)."""
        return asdict(self)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


__all__ = ["FlagThresholds"]
