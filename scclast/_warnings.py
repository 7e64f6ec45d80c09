"""Warning classes: which warnings are scclast's own is decided by class, not by file path.

``scclast run`` shows every :class:`ScclastWarning` once (and lists it in the report);
warnings of other packages go to the debug log.

Examples
--------
>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     warn("gene set 'x': 1 of 5 genes present", LowCoverageWarning)
>>> issubclass(caught[0].category, ScclastWarning)
True
"""

from __future__ import annotations

import warnings


class ScclastWarning(UserWarning):
    """Base class of every warning scclast raises on purpose."""


class LowCoverageWarning(ScclastWarning):
    """A gene set is measured poorly in the data (scored NaN or flagged with caution)."""


class DataWarning(ScclastWarning):
    """Something about the input a user should know (duplicated symbols, dropped labels...)."""


def warn(
    message: str, category: type[ScclastWarning] = ScclastWarning, stacklevel: int = 3
) -> None:
    """Raise ``message`` as a scclast warning, attributed to the caller's caller."""
    warnings.warn(message, category, stacklevel=stacklevel)


__all__ = ["DataWarning", "LowCoverageWarning", "ScclastWarning", "warn"]
