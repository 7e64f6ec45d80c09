"""``aucell``: the area under a set's recovery curve in a cell's top ``n_up`` genes.

As ``decoupler.mt.aucell``: AUC of the recovery curve up to rank ``n_up`` (default 5% of
the stored columns, at least 2), normalised by its maximum. Ties, including the block
of zero-expressed genes, are broken at random by AUCell and decoupler;
``ties="average"`` (default) gives the expected AUC over those random tie-breaks,
deterministic and equal to the reference wherever there are no ties.
``ties="ordinal"`` breaks ties by column order (decoupler after its column shuffle). A
cell with no expressed gene gets the AUC expected from a random ranking. Unlike
decoupler, genes without counts in any cell stay in the ranking and in the sets, so
that a cell's score never depends on the other cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scclast._errors import ScclastInputError
from scclast.tl._score._base import Members, Method, MethodResult, nan_for_unscored
from scclast.tl._score._ranks import RankMode, rank_sums

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView


def compute(
    view: ExpressionView,
    members: Members,
    scorable: dict[str, bool],
    *,
    n_up: int | None,
    ties: str,
    progress: bool | None,
) -> MethodResult:
    """AUCell scores of all sets in one pass.

    Examples
    --------
    >>> import anndata as ad
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[3.0, 1.0, 0.0, 2.0], [0.0, 1.0, 2.0, 3.0]]))
    >>> a.var_names = ["Acp5", "Ctsk", "Mmp9", "Nfatc1"]
    >>> view = expression_view(a)
    >>> members = {"s": view.index_of(["Acp5", "Nfatc1"])}
    >>> result = compute(view, members, {"s": True}, n_up=3, ties="average", progress=False)
    >>> result.scores.ravel().round(3).tolist(), result.parameters
    ([1.0, 0.667], {'n_up': 3, 'ties': 'average'})
    """
    cap = check_n_up(n_up, view.n_stored_columns)
    mode = RankMode.AUCELL_AVERAGE if ties == "average" else RankMode.AUCELL_ORDINAL
    sums, sizes = rank_sums(view, members, scorable, cap=cap, mode=mode, progress=progress)
    top = np.minimum(sizes, cap - 1)
    norm = top * cap - top * (top + 1) / 2.0
    scores = np.divide(sums, norm, out=np.zeros_like(sums), where=norm != 0)
    parameters = {"n_up": cap, "ties": ties}
    return MethodResult(nan_for_unscored(scores, members, scorable), parameters)


def check_n_up(n_up: int | None, n_genes: int) -> int:
    """``n_up`` checked against the number of genes; ``None``: 5% of them, at least 2.

    Examples
    --------
    >>> check_n_up(None, 1000), check_n_up(None, 10), check_n_up(7, 10)
    (50, 2, 7)
    """
    if n_up is None:
        return int(np.clip(np.ceil(0.05 * n_genes), 2, n_genes))
    if isinstance(n_up, bool) or not isinstance(n_up, (int, np.integer)):
        raise ScclastInputError(f"n_up={n_up!r}: give an integer between 2 and {n_genes}")
    if not 1 < n_up <= n_genes:
        raise ScclastInputError(f"n_up={n_up} must be between 2 and the {n_genes} genes")
    return int(n_up)


AUCELL = Method(
    name="aucell",
    description="area under S's recovery curve in a cell's top n_up genes",
    peer="decoupler.mt.aucell",
    needs_non_negative=True,
    parameters=("n_up", "ties"),
    compute=compute,
    rank_based=True,
)
"""The ``aucell`` method record."""

__all__ = ["AUCELL", "check_n_up", "compute"]
