"""One-pass operations over the chunks of an :class:`ExpressionView`.

:func:`gene_moments` and :func:`gene_means` (per-gene mean and variance) and
:func:`matmul` (normalised ``X @ W``) read each row chunk once; on a dask matrix they map
over its row blocks, so a ``dask.distributed`` cluster computes them.
:func:`normalised_anndata` materialises the view as an in-memory AnnData.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import anndata as ad
import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._kernels import (
    csr_moments_parallel,
    csr_moments_rows,
    csr_times_packed_parallel,
    csr_times_packed_rows,
    csr_times_w_parallel,
    csr_times_w_rows,
    n_parts,
    stored_moments,
    use_threads,
)
from scclast._matrix._view import ExpressionView, RawChunk

if TYPE_CHECKING:
    from anndata import AnnData


def _scale_or_empty(chunk: RawChunk) -> np.ndarray:
    return chunk.scale if chunk.scale is not None else np.empty(0, dtype=np.float64)


def gene_moments(view: ExpressionView, progress: bool | None = False) -> tuple[np.ndarray, ...]:
    """Mean and variance (ddof=1, as scanpy) of normalised expression per used gene.

    One pass over the data; float64 accumulation.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[0.5, 1.0], [1.5, 1.0]], dtype=np.float32))
    >>> mean, var = gene_moments(expression_view(a))
    >>> mean.tolist(), var.tolist()
    ([1.0, 1.0], [0.5, 0.0])
    """
    n_cols = view.n_stored_columns
    func = partial(_chunk_moments, n_cols=n_cols, with_squares=True)
    totals = view.reduce_rows(func, 2 * n_cols, progress)
    n = view.n_obs
    sums, squares = totals[:n_cols][view.columns], totals[n_cols:][view.columns]
    mean = sums / n
    if n < 2:
        return mean, np.zeros_like(mean)
    var = np.maximum(squares - n * mean * mean, 0.0) / (n - 1)
    return mean, var


def gene_means(view: ExpressionView, progress: bool | None = False) -> np.ndarray:
    """Mean of normalised expression per used gene (one pass; cheaper than moments).

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[0.5, 1.0], [1.5, 1.0]], dtype=np.float32))
    >>> gene_means(expression_view(a)).tolist()
    [1.0, 1.0]
    """
    n_cols = view.n_stored_columns
    func = partial(_chunk_moments, n_cols=n_cols, with_squares=False)
    return view.reduce_rows(func, n_cols, progress)[view.columns] / view.n_obs


def _chunk_moments(chunk: RawChunk, parallel: bool, n_cols: int, with_squares: bool) -> np.ndarray:
    """Per-column sums (and sums of squares, concatenated) of one chunk."""
    matrix = chunk.matrix
    if not chunk.is_sparse:
        x = chunk.normalised()
        return np.concatenate([x.sum(axis=0), (x * x).sum(axis=0)]) if with_squares else x.sum(0)
    scale = _scale_or_empty(chunk)
    if use_threads(parallel, matrix):
        parts = min(n_parts(matrix.shape[0]), numba.get_num_threads())
        sums, squares = csr_moments_parallel(
            matrix.indptr, matrix.indices, matrix.data, scale, n_cols, parts, with_squares
        )
    else:
        sums, squares = np.zeros(n_cols), np.zeros(n_cols if with_squares else 0)
        if scale.size:
            csr_moments_rows(
                0, matrix.shape[0], matrix.indptr, matrix.indices, matrix.data, scale, sums, squares
            )
        else:
            first, last = matrix.indptr[0], matrix.indptr[-1]
            stored_moments(first, last, matrix.indices, matrix.data, sums, squares)
    return np.concatenate([sums, squares]) if with_squares else sums


def matmul(
    view: ExpressionView, weights: np.ndarray | sp.spmatrix, progress: bool | None = False
) -> np.ndarray:
    """Normalised ``X @ W`` (n_obs x k), computed chunk by chunk in one pass.

    Parameters
    ----------
    view
        The expression view.
    weights
        ``W``, dense or sparse, with one row per used gene (``view.n_vars`` rows).

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[0.5, 1.0], [1.5, 0.0]], dtype=np.float32))
    >>> matmul(expression_view(a), np.array([[1.0], [-1.0]])).ravel().tolist()
    [-0.5, 1.5]
    """
    weights_csr = sp.csr_matrix(weights, dtype=np.float64)
    if weights_csr.shape[0] != view.n_vars:
        raise ValueError(f"W has {weights_csr.shape[0]} rows; the view has {view.n_vars} genes")
    stored = _StoredWeights.build(weights_csr, view.columns, view.n_stored_columns)
    func = partial(_chunk_times_w, weights=stored)
    return view.map_rows(func, weights_csr.shape[1], progress)


@dataclass(frozen=True)
class _StoredWeights:
    """``W`` re-indexed to all stored columns: CSR, plus the packed two-slot layout.

    The packed layout needs fewer than 65535 distinct weights and columns (scoring has
    two weights per set) and pays off when at least 10% of the genes carry a weight;
    otherwise the CSR kernel skips the unweighted genes.
    """

    csr: sp.csr_matrix
    packed: np.ndarray
    table: np.ndarray
    more_start: np.ndarray
    more_count: np.ndarray

    @property
    def branch_free(self) -> bool:
        return self.packed.size > 0

    @classmethod
    def build(cls, weights: sp.csr_matrix, columns: np.ndarray, n_stored: int) -> _StoredWeights:
        coo = weights.tocoo()
        csr = sp.csr_matrix(
            (coo.data, (columns[coo.row], coo.col)), shape=(n_stored, weights.shape[1])
        )
        csr.sum_duplicates()
        counts = np.diff(csr.indptr)
        values, codes = np.unique(csr.data, return_inverse=True)
        limit = 0xFFFF - 1
        if values.size > limit or csr.shape[1] > limit or np.count_nonzero(counts) < 0.1 * n_stored:
            empty = np.zeros(0, dtype=np.int64)
            return cls(csr, empty, np.zeros(0), empty, empty.astype(np.int32))
        starts = csr.indptr[:-1].astype(np.int64)
        fields = np.zeros(n_stored, dtype=np.int64)
        for slot in (0, 1):
            column = np.full(n_stored, csr.shape[1], dtype=np.int64)  # the sink
            code = np.full(n_stored, values.size, dtype=np.int64)  # weight 0
            has = counts > slot
            column[has] = csr.indices[starts[has] + slot]
            code[has] = codes[starts[has] + slot]
            fields |= (column | (code << 16)) << (32 * slot)
        return cls(
            csr=csr,
            packed=fields,
            table=np.append(values, 0.0),
            more_start=starts + np.minimum(counts, 2),
            more_count=np.maximum(counts - 2, 0).astype(np.int32),
        )


def _chunk_times_w(chunk: RawChunk, parallel: bool, weights: _StoredWeights) -> np.ndarray:
    matrix = chunk.matrix
    w = weights.csr
    if not chunk.is_sparse:
        return np.asarray(chunk.normalised() @ w.toarray())
    out = np.zeros((matrix.shape[0], w.shape[1]))
    threads = use_threads(parallel, matrix)
    if weights.branch_free and chunk.scale is None:
        args = (
            matrix.indptr,
            matrix.indices,
            matrix.data,
            weights.packed,
            weights.table,
            weights.more_start,
            weights.more_count,
            w.indices,
            w.data,
            out,
        )
        if threads:
            csr_times_packed_parallel(*args, n_parts(matrix.shape[0]))
        else:
            csr_times_packed_rows(0, matrix.shape[0], *args)
        return out
    args = (
        matrix.indptr,
        matrix.indices,
        matrix.data,
        _scale_or_empty(chunk),
        w.indptr,
        w.indices,
        w.data,
        out,
    )
    if threads:
        csr_times_w_parallel(*args, n_parts(matrix.shape[0]))
    else:
        csr_times_w_rows(0, matrix.shape[0], *args)
    return out


def normalised_anndata(view: ExpressionView, obs_names: Iterable[str] | None = None) -> AnnData:
    """An in-memory AnnData of the view's normalised expression (used genes only).

    Counts are log-normalised (``log1p`` of total-count 1e4) by
    :mod:`scclast._matrix`; log-normalised data are used as stored.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[1.0, 3.0], [0.0, 2.0]], dtype=np.float32))
    >>> a.var_names = ["Acp5", "Ctsk"]
    >>> normalised_anndata(expression_view(a)).X.toarray().round(2).tolist()
    [[7.82, 8.92], [0.0, 9.21]]
    """
    blocks = [sp.csr_matrix(chunk) for _, chunk in view.iter_chunks()]
    matrix = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0))
    matrix.eliminate_zeros()
    obs = pd.DataFrame(
        index=pd.Index([str(o) for o in obs_names])
        if obs_names is not None
        else pd.RangeIndex(view.n_obs).astype(str)
    )
    var = pd.DataFrame(index=pd.Index([str(s) for s in view.symbols]))
    out = ad.AnnData(X=matrix, obs=obs, var=var)
    out.uns["log1p"] = {"base": None}
    return out


__all__ = [
    "gene_means",
    "gene_moments",
    "matmul",
    "normalised_anndata",
]
