"""scclast: single-cell analysis of the osteoclast secretome.

Score every cell for a cited catalogue of osteoclast-derived coupling factors
("clastokines"), call osteoclast-lineage states, and flag candidate secretory
populations with calibrated statistics.

The analysis functions are imported on first use, so ``import scclast`` (and the
``scclast genesets`` command) stays fast without loading scanpy.

Examples
--------
>>> import scclast
>>> scclast.genesets.get("clastokines_secreted", species="mouse")[:2]
['Sphk1', 'Spns2']
"""

from __future__ import annotations

import importlib
from typing import Any

from scclast import genesets
from scclast._errors import ScclastDataError, ScclastError, ScclastInputError
from scclast._version import __version__

_LAZY_FUNCTIONS = {
    "score": ("scclast.scoring", "score"),
    "flag": ("scclast.flagging", "flag"),
    "run": ("scclast.pipeline", "run"),
}
_LAZY_MODULES = (
    "datasets",
    "scoring",
    "lineage",
    "flagging",
    "enrichment",
    "plotting",
    "report",
    "pipeline",
    "workflow",
)

__all__ = [
    "ScclastDataError",
    "ScclastError",
    "ScclastInputError",
    "__version__",
    "flag",
    "genesets",
    "run",
    "score",
    *_LAZY_MODULES,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_FUNCTIONS:
        module, attribute = _LAZY_FUNCTIONS[name]
        return getattr(importlib.import_module(module), attribute)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"scclast.{name}")
    raise AttributeError(f"module 'scclast' has no attribute {name!r}")
