"""Per-cell rank sums of gene sets, shared by ``ucell`` and ``aucell``.

For each cell only the expressed (non-zero) genes are ranked, by decreasing value among
all stored columns; the zero-expressed genes form one tie block after them, handled in
closed form. Ranks do not change under the per-cell normalisation, so stored values
are used. The kernel is :func:`scclast._kernels.rank_sums_rows`.

Examples
--------
>>> import anndata as ad
>>> from scclast._matrix import expression_view
>>> a = ad.AnnData(np.array([[3.0, 1.0, 0.0, 2.0]]))
>>> a.var_names = ["Acp5", "Ctsk", "Mmp9", "Nfatc1"]
>>> view = expression_view(a)
>>> members = {"s": view.index_of(["Acp5", "Nfatc1"])}
>>> sums, sizes = rank_sums(view, members, {"s": True}, cap=4, mode=RankMode.UCELL)
>>> sums.tolist(), sizes.tolist()  # ranks 1 and 2: (4 - 1) + (4 - 2)
([[5.0]], [2])
"""

from __future__ import annotations

from enum import IntEnum
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from scclast._kernels import n_parts, rank_sums_parallel, rank_sums_rows, use_threads
from scclast.tl._score._base import Members

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView, RawChunk


class RankMode(IntEnum):
    """What the rank-sum kernel adds per set gene (its ``mode`` argument)."""

    UCELL = 0
    """``max(cap - rank, 0)``, ties given their average rank."""
    AUCELL_AVERAGE = 1
    """The mean of ``max(cap - rank, 0)`` over the ranks of the tie block."""
    AUCELL_ORDINAL = 2
    """``max(cap - rank, 0)``, ties broken by column order."""


def rank_sums(
    view: ExpressionView,
    members: Members,
    scorable: dict[str, bool],
    *,
    cap: int,
    mode: RankMode,
    progress: bool | None = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell and set, the sum of ``cap - rank`` over the set's genes, and set sizes.

    One pass over the data; unscorable sets have size 0 and sum 0.
    """
    sizes = np.asarray(
        [genes.size if scorable[name] else 0 for name, (genes, _, _) in members.items()],
        dtype=np.int64,
    )
    targets = rank_targets(view, members, scorable)
    func = partial(chunk_rank_sums, targets=targets, sizes=sizes, cap=cap, mode=int(mode))
    return view.map_rows(func, len(members), progress), sizes


def rank_targets(
    view: ExpressionView,
    members: Members,
    scorable: dict[str, bool],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column -> target, stored columns of set genes (sorted), and target -> sets (CSR).

    Examples
    --------
    >>> import anndata as ad
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.ones((1, 3)))
    >>> a.var_names = ["Acp5", "Ctsk", "Mmp9"]
    >>> view = expression_view(a)
    >>> members = {"s": view.index_of(["Mmp9", "Acp5"]), "t": view.index_of(["Mmp9"])}
    >>> [x.tolist() for x in rank_targets(view, members, {"s": True, "t": True})]
    [[0, -1, 1], [0, 2], [0, 1, 3], [0, 0, 1]]
    """
    rows, cols = [], []
    for j, (name, (genes, _, _)) in enumerate(members.items()):
        if scorable[name]:
            rows.append(view.columns[genes])
            cols.append(np.full(genes.size, j))
    stored = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
    sets = np.concatenate(cols) if cols else np.zeros(0, dtype=np.intp)
    target_cols, target_of_entry = np.unique(stored, return_inverse=True)
    membership = sp.csr_matrix(
        (np.ones(stored.size), (target_of_entry, sets)), shape=(target_cols.size, len(members))
    )
    target_of_col = np.full(view.n_stored_columns, -1, dtype=np.int64)
    target_of_col[target_cols] = np.arange(target_cols.size)
    return (
        target_of_col,
        target_cols.astype(np.int64),
        membership.indptr.astype(np.int64),
        membership.indices.astype(np.int64),
    )


def chunk_rank_sums(
    chunk: RawChunk,
    parallel: bool,
    targets: tuple[np.ndarray, ...],
    sizes: np.ndarray,
    cap: int,
    mode: int,
) -> np.ndarray:
    """Per cell and set, the sum over set genes of ``cap - rank`` (0 below the cap).

    Ranks are invariant to the per-cell normalisation, so stored values are used.
    ``mode`` is a :class:`RankMode`; threaded when the chunk is big enough
    (:func:`scclast._kernels.use_threads`).
    """
    matrix = chunk.matrix if chunk.is_sparse else sp.csr_matrix(chunk.matrix)
    target_of_col, target_cols, t_indptr, t_sets = targets
    out = np.zeros((matrix.shape[0], sizes.size))
    args = (
        matrix.indptr,
        matrix.indices,
        matrix.data,
        target_of_col,
        target_cols,
        t_indptr,
        t_sets,
        sizes.astype(np.int64),
        np.int64(matrix.shape[1]),
        np.float64(cap),
        np.int64(mode),
        out,
    )
    if use_threads(parallel, matrix):
        rank_sums_parallel(*args, n_parts(matrix.shape[0]))
    else:
        rank_sums_rows(0, matrix.shape[0], *args)
    return out


__all__ = ["RankMode", "chunk_rank_sums", "rank_sums", "rank_targets"]
