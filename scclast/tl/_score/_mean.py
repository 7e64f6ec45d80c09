"""``mean``: a set's mean normalised expression, or mean of per-gene z-scores.

With ``zscore=True`` each gene is centred and scaled by its mean and ddof=1 standard
deviation over all cells (one extra pass); genes with zero variance contribute 0. The
mean of scaled data is defined, so this method also takes scaled matrices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from scclast._matrix import gene_moments, matmul
from scclast.tl._score._base import (
    Members,
    Method,
    MethodResult,
    WeightBuilder,
    nan_for_unscored,
)

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView


def compute(
    view: ExpressionView,
    members: Members,
    scorable: dict[str, bool],
    *,
    zscore: bool,
    progress: bool | None,
) -> MethodResult:
    """Mean scores of all sets in one product ``X @ W`` (``W``: ``1/n`` per set gene).

    Examples
    --------
    >>> import anndata as ad
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[1.0, 3.0, 0.0], [2.0, 2.0, 1.0]]))
    >>> a.var_names = ["Acp5", "Ctsk", "Mmp9"]
    >>> view = expression_view(a, normalize="none")
    >>> members = {"s": view.index_of(["Acp5", "Mmp9"])}
    >>> compute(view, members, {"s": True}, zscore=False, progress=False).scores.tolist()
    [[0.5], [1.5]]
    >>> compute(view, members, {"s": True}, zscore=True, progress=False).scores.round(3).tolist()
    [[-0.707], [0.707]]
    """
    builder = WeightBuilder(view.n_vars, len(members))
    for j, (name, (genes, _, _)) in enumerate(members.items()):
        if scorable[name]:
            builder.add(genes, j, 1.0 / genes.size)
    weights = builder.tocsr()
    offset = 0.0
    if zscore:
        mean, var = gene_moments(view, progress)
        std = np.sqrt(var)
        inverse_std = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
        weights = sp.diags(inverse_std) @ weights
        offset = -(mean @ weights)
    scores = matmul(view, weights, progress) + offset
    return MethodResult(nan_for_unscored(scores, members, scorable), {"zscore": zscore})


MEAN = Method(
    name="mean",
    description="mean of S's expression (zscore: of per-gene z-scores)",
    peer=None,
    needs_non_negative=False,
    parameters=("zscore",),
    compute=compute,
)
"""The ``mean`` method record."""

__all__ = ["MEAN", "compute"]
