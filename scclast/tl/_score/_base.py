"""What every scoring method is: a small metadata record and the pieces methods share.

A method is a :class:`Method` record (as decoupler's ``mt/_aucell.py`` ``_Method``):
its name, a one-line description, the published implementation it matches, whether it
needs non-negative expression, the names of its own parameters of
:func:`scclast.tl.score`, and the function that computes the scores. :func:`score`
dispatches through :data:`scclast.tl._score._registry.REGISTRY`; a new method is one
file with a compute function and a record, added to the registry and to
:data:`scclast._types.ScoreMethod`.

Every compute function has the signature ``compute(view, members, scorable, *,
progress, **parameters) -> MethodResult``, where ``members`` maps each set name to
``(positions among the view's genes, genes found, genes missing)`` and ``scorable``
says which sets have enough genes (a method may set more sets to ``False``).

Examples
--------
>>> def ones(view, members, scorable, *, progress):
...     return MethodResult(np.ones((view.n_obs, len(members))), {})
>>> Method("ones", "one for every cell", None, False, (), ones).peer_label
'--'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView

Members = dict[str, tuple[np.ndarray, list[str], list[str]]]
"""Per set: positions among the view's genes, genes found and genes missing."""


@dataclass(frozen=True)
class MethodResult:
    """Scores of one method: cells x sets, parameters for provenance, control genes.

    Examples
    --------
    >>> MethodResult(np.zeros((2, 1)), {"zscore": False}).controls
    {}
    """

    scores: np.ndarray
    parameters: dict[str, Any]
    controls: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    """Metadata of one scoring method and the function that computes its scores.

    Attributes
    ----------
    name
        The ``method=`` value of :func:`scclast.tl.score`.
    description
        One line: the score of a cell for a gene set S.
    peer
        The published implementation the scores match (``None``: no peer).
    needs_non_negative
        Whether scaled data (negative values) is refused.
    parameters
        Names of the method's own parameters of :func:`scclast.tl.score`.
    compute
        ``compute(view, members, scorable, *, progress, **parameters)``.
    rank_based
        Whether scores depend only on per-cell ranks (normalisation does not matter).

    Examples
    --------
    >>> from scclast.tl._score._registry import REGISTRY
    >>> REGISTRY["ucell"].peer, REGISTRY["ucell"].parameters
    ('pyucell.compute_ucell_scores', ('max_rank',))
    """

    name: str
    description: str
    peer: str | None
    needs_non_negative: bool
    parameters: tuple[str, ...]
    compute: Callable[..., MethodResult]
    rank_based: bool = False

    @property
    def peer_label(self) -> str:
        """The peer as the docs show it (``--`` when there is none)."""
        return f"``{self.peer}``" if self.peer else "--"

    def run(
        self,
        view: ExpressionView,
        members: Members,
        scorable: dict[str, bool],
        options: Mapping[str, Any],
        progress: bool | None = False,
    ) -> MethodResult:
        """Compute the scores, passing the method its own parameters from ``options``.

        Examples
        --------
        >>> import anndata as ad
        >>> from scclast._matrix import expression_view
        >>> from scclast.tl._score._registry import REGISTRY
        >>> a = ad.AnnData(np.array([[1.0, 3.0], [2.0, 2.0]]))
        >>> a.var_names = ["Acp5", "Ctsk"]
        >>> view = expression_view(a, normalize="none")
        >>> members = {"s": view.index_of(["Acp5", "Ctsk"])}
        >>> result = REGISTRY["mean"].run(view, members, {"s": True}, {"zscore": False})
        >>> result.scores.ravel().tolist(), result.parameters
        ([2.0, 2.0], {'zscore': False})
        """
        own = {name: options[name] for name in self.parameters}
        return self.compute(view, members, scorable, progress=progress, **own)


def methods_table(methods: Mapping[str, Method]) -> str:
    """The reStructuredText table of ``methods`` that the package docstring shows.

    Examples
    --------
    >>> def none(*args, **kwargs): ...
    >>> print(methods_table({"m": Method("m", "a score", "pkg.f", True, (), none)}))
    ======  ================================  =========
    method  score of a cell for a gene set S  matches
    ======  ================================  =========
    m       a score                           ``pkg.f``
    ======  ================================  =========
    """
    rows = [(m.name, m.description, m.peer_label) for m in methods.values()]
    head = ("method", "score of a cell for a gene set S", "matches")
    widths = [max(len(row[k]) for row in [head, *rows]) for k in range(3)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([rule, line(head), rule, *map(line, rows), rule])


class WeightBuilder:
    """Gene x set weight matrix ``W`` assembled column by column (COO, then CSR).

    Examples
    --------
    >>> builder = WeightBuilder(n_genes=3, n_sets=1)
    >>> builder.add(np.array([0, 2]), column=0, weight=0.5)
    >>> builder.tocsr().toarray().ravel().tolist()
    [0.5, 0.0, 0.5]
    """

    def __init__(self, n_genes: int, n_sets: int) -> None:
        self.shape = (n_genes, n_sets)
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.values: list[np.ndarray] = []

    def add(self, genes: np.ndarray, column: int, weight: float) -> None:
        """Give ``genes`` the weight ``weight`` in set ``column`` (repeats add up)."""
        self.rows.append(np.asarray(genes, dtype=np.intp))
        self.cols.append(np.full(len(genes), column, dtype=np.intp))
        self.values.append(np.full(len(genes), weight))

    def tocsr(self) -> sp.csr_matrix:
        """The weights as a CSR matrix (all zero when nothing was added)."""
        if not self.rows:
            return sp.csr_matrix(self.shape)
        coo = (np.concatenate(self.values), (np.concatenate(self.rows), np.concatenate(self.cols)))
        return sp.csr_matrix(coo, shape=self.shape)


def nan_for_unscored(
    scores: np.ndarray, members: Mapping[str, Any], scorable: Mapping[str, bool]
) -> np.ndarray:
    """Set the columns of unscored sets to NaN (in place) and return ``scores``.

    Examples
    --------
    >>> nan_for_unscored(np.zeros((1, 2)), {"a": 0, "b": 0}, {"a": True, "b": False})
    array([[ 0., nan]])
    """
    for j, name in enumerate(members):
        if not scorable[name]:
            scores[:, j] = np.nan
    return scores


__all__ = [
    "Members",
    "Method",
    "MethodResult",
    "WeightBuilder",
    "methods_table",
    "nan_for_unscored",
]
