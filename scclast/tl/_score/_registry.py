"""The scoring methods by name: :func:`scclast.tl.score` dispatches through this.

A new method is a module beside this one with a compute function and a
:class:`~scclast.tl._score._base.Method` record, listed here and in
:data:`scclast._types.ScoreMethod`; the tests check that the two lists, the
docstring's table and :func:`scclast.tl.score`'s parameters agree.

Examples
--------
>>> list(REGISTRY)
['seurat', 'ucell', 'aucell', 'mean']
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from scclast.tl._score._aucell import AUCELL
from scclast.tl._score._base import Method
from scclast.tl._score._mean import MEAN
from scclast.tl._score._seurat import SEURAT
from scclast.tl._score._ucell import UCELL

REGISTRY: Mapping[str, Method] = MappingProxyType(
    {method.name: method for method in (SEURAT, UCELL, AUCELL, MEAN)}
)
"""Method name -> record, in the order of :data:`scclast._types.SCORE_METHODS`."""

__all__ = ["REGISTRY"]
