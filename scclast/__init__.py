"""scclast: single-cell analysis of the osteoclast secretome.

Score every cell for a cited catalogue of osteoclast-derived coupling factors
("clastokines"), call osteoclast-lineage states, and flag candidate secretory
populations with calibrated statistics.

=====================  ===================================================================
:mod:`scclast.tl`      analyses: ``score``, ``lineage_states``, ``flag``, ``cluster``, ...
:mod:`scclast.pl`      figures of a flagged AnnData
:mod:`scclast.get`     tables out of an analysed AnnData
:mod:`scclast.datasets`  public datasets (pooch), the simulator and bundled examples
:mod:`scclast.genesets`  the cited catalogue of coupling factors and gene sets
:func:`scclast.run`    one call from an h5ad file to a folder of tables, figures, report
=====================  ===================================================================

The namespaces load on first use, so ``import scclast`` (and ``scclast genesets``) stays
fast without importing scanpy.

Examples
--------
>>> import scclast
>>> scclast.genesets.get("clastokines_secreted", species="mouse")[:2]
['Sphk1', 'Spns2']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from scclast import genesets
from scclast._errors import ScclastDataError, ScclastError, ScclastInputError
from scclast._version import __version__
from scclast._warnings import ScclastWarning

if TYPE_CHECKING:
    from scclast import datasets, get, pl, tl
    from scclast._pipeline import RunResult, run

_LAZY_MODULES = ("datasets", "get", "pl", "tl")
_LAZY_ATTRIBUTES = {"run": "scclast._pipeline", "RunResult": "scclast._pipeline"}

__all__ = [
    "RunResult",
    "ScclastDataError",
    "ScclastError",
    "ScclastInputError",
    "ScclastWarning",
    "__version__",
    "datasets",
    "genesets",
    "get",
    "pl",
    "run",
    "tl",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"scclast.{name}")
    if name in _LAZY_ATTRIBUTES:
        return getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'scclast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
