"""``ucell``: a Mann-Whitney U statistic of a set's per-cell ranks, ranks capped.

As ``pyucell.compute_ucell_scores`` with ``missing_genes="skip"``: non-zero genes of a
cell are ranked by decreasing expression (ties: average rank) among all stored columns;
ranks above ``max_rank`` and genes with zero expression count as ``max_rank``. The score
is ``1 - (sum(ranks) - n(n+1)/2) / (n * max_rank - n(n+1)/2)`` for the ``n`` genes of
the set present in the data, which is the mean of ``max_rank - rank`` over the set
divided by its maximum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scclast.tl._score._base import Members, Method, MethodResult, nan_for_unscored
from scclast.tl._score._ranks import RankMode, rank_sums

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView


def compute(
    view: ExpressionView,
    members: Members,
    scorable: dict[str, bool],
    *,
    max_rank: int,
    progress: bool | None,
) -> MethodResult:
    """UCell scores of all sets in one pass.

    Examples
    --------
    >>> import anndata as ad
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[3.0, 1.0, 0.0, 2.0], [0.0, 1.0, 2.0, 3.0]]))
    >>> a.var_names = ["Acp5", "Ctsk", "Mmp9", "Nfatc1"]
    >>> view = expression_view(a)
    >>> members = {"s": view.index_of(["Acp5", "Nfatc1"])}
    >>> result = compute(view, members, {"s": True}, max_rank=4, progress=False)
    >>> result.scores.ravel().tolist()  # top two genes; then ranks 1 and 4 (zero)
    [1.0, 0.6]
    """
    sums, sizes = rank_sums(
        view, members, scorable, cap=max_rank, mode=RankMode.UCELL, progress=progress
    )
    norm = sizes * max_rank - sizes * (sizes + 1) / 2.0
    scores = np.divide(sums, norm, out=np.zeros_like(sums), where=norm != 0)
    np.maximum(scores, 0.0, out=scores)
    return MethodResult(nan_for_unscored(scores, members, scorable), {"max_rank": max_rank})


UCELL = Method(
    name="ucell",
    description="Mann-Whitney U of S's per-cell ranks, capped at max_rank",
    peer="pyucell.compute_ucell_scores",
    needs_non_negative=True,
    parameters=("max_rank",),
    compute=compute,
    rank_based=True,
)
"""The ``ucell`` method record."""

__all__ = ["UCELL", "compute"]
