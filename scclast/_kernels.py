"""Every numba kernel of scclast, and the rules for running them on threads.

The kernels walk CSR matrices row by row (or stored value by stored value) in float64.
Each has a serial form over rows ``lo..hi`` and, where it pays off, a threaded form
that cuts the rows into ``n_parts`` contiguous parts (``numba.prange``) and runs the
serial form on each; parts write disjoint rows (or their own partial sums), so the
threaded and serial forms give the same numbers.

=============================  ============================================================
kernel                         used by
=============================  ============================================================
:func:`csr_row_sums`           per-cell totals of the on-the-fly normalisation
:func:`all_integers`           telling raw counts from log-normalised values
:func:`csr_times_w_rows`       normalised ``X @ W`` (:func:`scclast._matrix.matmul`)
:func:`csr_times_packed_rows`  ``X @ W`` of stored values without a branch per value
:func:`csr_moments_rows`       per-gene sums and squares (:func:`scclast._matrix.gene_moments`)
:func:`stored_moments`         the same over stored values, one flat loop
:func:`rank_sums_rows`         per-cell rank sums of gene sets (ucell, aucell)
=============================  ============================================================

Threads: :func:`numba_threads` sets numba's thread count for a block of work and says
whether to use the threaded forms at all; :func:`use_threads` then decides per chunk
(chunks with fewer than :data:`PARALLEL_MIN_NNZ` stored values run serially) and
:func:`n_parts` says how many parts to cut a chunk into.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> x = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
>>> csr_row_sums(x.indptr, x.data).tolist()
[3.0, 3.0]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numba
import numpy as np
import scipy.sparse as sp

PARALLEL_MIN_NNZ = 200_000
"""Chunks with fewer stored values run the serial kernels (thread start-up costs more)."""

LINEAR_TARGETS = 48
"""Rows with at most this many expressed set genes count ranks by scanning the row
(vectorised, O(nnz) per gene); rows with more sort their values (O(nnz log nnz))."""


@contextlib.contextmanager
def numba_threads(n_jobs: int) -> Iterator[bool]:
    """Run numba's threaded kernels on ``n_jobs`` threads inside; yields whether to.

    Examples
    --------
    >>> with numba_threads(1) as parallel:
    ...     parallel
    False
    """
    if n_jobs <= 1:
        yield False
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(n_jobs)
    try:
        yield True
    finally:
        numba.set_num_threads(previous)


def use_threads(parallel: bool, matrix: sp.csr_matrix) -> bool:
    """Whether a chunk runs the threaded kernels: asked for, big enough, threads to use.

    Examples
    --------
    >>> use_threads(True, sp.csr_matrix(np.eye(3)))  # 3 stored values: serial
    False
    """
    return parallel and matrix.nnz >= PARALLEL_MIN_NNZ and numba.get_num_threads() > 1


def n_parts(n_rows: int) -> int:
    """Row parts of a threaded kernel: four per thread (load balance), at most one per row.

    Examples
    --------
    >>> n_parts(1)
    1
    """
    return max(1, min(n_rows, 4 * numba.get_num_threads()))


@numba.njit(cache=True, nogil=True)
def csr_row_sums(indptr: np.ndarray, data: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Sum of the stored values of each CSR row, in float64."""
    n_rows = indptr.size - 1
    totals = np.zeros(n_rows)
    for i in range(n_rows):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p]
        totals[i] = acc
    return totals


@numba.njit(cache=True, nogil=True)
def all_integers(values: np.ndarray) -> bool:  # pragma: no cover
    """Whether every (finite) value is a whole number; stops at the first that is not.

    Examples
    --------
    >>> all_integers(np.array([0.0, 2.0, 7.0])), all_integers(np.array([1.0, 0.5]))
    (True, False)
    """
    for v in values:
        if v != np.floor(v):
            return False
    return True


@numba.njit(cache=True, nogil=True)
def csr_times_w_rows(
    lo, hi, indptr, indices, data, scale, w_indptr, w_cols, w_vals, out
):  # pragma: no cover
    """``out[i] += f(x[i]) @ W`` for rows lo..hi, f = log1p(x * scale[i]) if scale given."""
    use_scale = scale.size > 0
    for i in range(lo, hi):
        factor = scale[i] if use_scale else 1.0
        for p in range(indptr[i], indptr[i + 1]):
            gene = indices[p]
            first, last = w_indptr[gene], w_indptr[gene + 1]
            if first == last:
                continue
            x = np.float64(data[p])
            if use_scale:
                x = np.log1p(x * factor)
            for q in range(first, last):
                out[i, w_cols[q]] += x * w_vals[q]


@numba.njit(parallel=True, cache=True, nogil=True)
def csr_times_w_parallel(
    indptr, indices, data, scale, w_indptr, w_cols, w_vals, out, parts
):  # pragma: no cover
    """:func:`csr_times_w_rows` over all rows, cut into ``parts`` threaded parts."""
    n_rows = indptr.size - 1
    for part in numba.prange(parts):
        lo = part * n_rows // parts
        hi = (part + 1) * n_rows // parts
        csr_times_w_rows(lo, hi, indptr, indices, data, scale, w_indptr, w_cols, w_vals, out)


@numba.njit(cache=True, nogil=True)
def csr_times_packed_rows(
    lo, hi, indptr, indices, data, packed, table, more_start, more_count, w_cols, w_vals, out
):  # pragma: no cover
    """``out[i] = x[i] @ W`` for rows lo..hi, values as stored, without a branch per value.

    ``packed[g]`` holds gene g's first two (column, weight code) pairs in 16-bit fields
    (column ``k`` is a sink for genes without weight; ``table`` maps codes to weights),
    so each stored value costs one small lookup and no data-dependent branch; further
    weights of a gene are read from CSR. Sums run in the same order as in
    :func:`csr_times_w_rows`, so both give the same numbers.
    """
    k = out.shape[1]
    acc = np.zeros(k + 1)
    for i in range(lo, hi):
        acc[:] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            gene = indices[p]
            x = np.float64(data[p])
            fields = packed[gene]
            acc[fields & 0xFFFF] += x * table[(fields >> 16) & 0xFFFF]
            acc[(fields >> 32) & 0xFFFF] += x * table[(fields >> 48) & 0xFFFF]
            extra = more_count[gene]
            if extra > 0:
                first = more_start[gene]
                for q in range(first, first + extra):
                    acc[w_cols[q]] += x * w_vals[q]
        for c in range(k):
            out[i, c] = acc[c]


@numba.njit(parallel=True, cache=True, nogil=True)
def csr_times_packed_parallel(
    indptr, indices, data, packed, table, more_start, more_count, w_cols, w_vals, out, parts
):  # pragma: no cover
    """:func:`csr_times_packed_rows` over all rows, cut into ``parts`` threaded parts."""
    n_rows = indptr.size - 1
    for part in numba.prange(parts):
        csr_times_packed_rows(
            part * n_rows // parts,
            (part + 1) * n_rows // parts,
            indptr,
            indices,
            data,
            packed,
            table,
            more_start,
            more_count,
            w_cols,
            w_vals,
            out,
        )


@numba.njit(cache=True, nogil=True)
def csr_moments_rows(lo, hi, indptr, indices, data, scale, sums, squares):  # pragma: no cover
    """Per-column sums (and squares, unless empty) of rows lo..hi, normalised if scaled."""
    use_scale = scale.size > 0
    use_squares = squares.size > 0
    for i in range(lo, hi):
        factor = scale[i] if use_scale else 1.0
        for p in range(indptr[i], indptr[i + 1]):
            x = np.float64(data[p])
            if use_scale:
                x = np.log1p(x * factor)
            sums[indices[p]] += x
            if use_squares:
                squares[indices[p]] += x * x


@numba.njit(cache=True, nogil=True)
def stored_moments(lo, hi, indices, data, sums, squares):  # pragma: no cover
    """Sums (and squares, unless empty) of stored values lo..hi: one flat loop."""
    if squares.size == 0:
        for p in range(lo, hi):
            sums[indices[p]] += data[p]
        return
    for p in range(lo, hi):
        x = np.float64(data[p])
        sums[indices[p]] += x
        squares[indices[p]] += x * x


@numba.njit(parallel=True, cache=True, nogil=True)
def csr_moments_parallel(
    indptr, indices, data, scale, n_cols, parts, with_squares
):  # pragma: no cover
    """Per-column sums and squares over all rows: one partial sum per threaded part."""
    n_rows = indptr.size - 1
    n_stored = indices.size
    sums = np.zeros((parts, n_cols))
    squares = np.zeros((parts, n_cols if with_squares else 0))
    for part in numba.prange(parts):
        if scale.size > 0:
            lo = part * n_rows // parts
            hi = (part + 1) * n_rows // parts
            csr_moments_rows(lo, hi, indptr, indices, data, scale, sums[part], squares[part])
        else:
            lo = indptr[0] + part * n_stored // parts
            hi = indptr[0] + (part + 1) * n_stored // parts
            stored_moments(lo, hi, indices, data, sums[part], squares[part])
    return sums.sum(axis=0), squares.sum(axis=0)


@numba.njit(cache=True, nogil=True)
def mean_capped_gain(first: float, last: float, cap: float) -> float:  # pragma: no cover
    """Mean of ``max(cap - r, 0)`` over the ranks ``r = first..last``.

    Examples
    --------
    >>> mean_capped_gain(1.0, 3.0, 3.0)  # (2 + 1 + 0) / 3
    1.0
    """
    top = min(last, cap - 1.0)
    if top < first:
        return 0.0
    count = top - first + 1.0
    return (count * cap - (first + top) * count / 2.0) / (last - first + 1.0)


@numba.njit(cache=True, nogil=True)
def rank_sums_rows(
    lo,
    hi,
    indptr,
    indices,
    data,
    target_of_col,
    target_cols,
    t_indptr,
    t_sets,
    sizes,
    n_cols,
    cap,
    mode,
    out,
):  # pragma: no cover
    """Rows lo..hi. mode 0: ucell; 1: aucell, expected over random ties; 2: aucell ordinal.

    For each expressed set gene: ``above`` = genes with higher expression in the cell,
    ``tied`` = genes with equal expression (itself included), ``earlier`` = tied genes
    in earlier columns. Zero-expressed genes form one tie block after the ``nnz``
    expressed genes (closed form, no sorting).
    """
    n_sets = sizes.size
    expressed = np.zeros(n_sets, dtype=np.int64)
    positions = np.empty(0, dtype=np.int64)
    values = np.empty(0)
    for i in range(lo, hi):
        first, last = indptr[i], indptr[i + 1]
        n_stored = last - first
        if positions.size < n_stored:
            positions = np.empty(2 * n_stored, dtype=np.int64)
            values = np.empty(2 * n_stored)
        n_targets = 0
        nnz = 0
        for p in range(first, last):
            if data[p] != 0:
                nnz += 1
                if target_of_col[indices[p]] >= 0:
                    positions[n_targets] = p
                    n_targets += 1
        expressed[:] = 0
        sorted_row = n_targets > LINEAR_TARGETS
        if sorted_row:
            for p in range(first, last):
                values[p - first] = data[p]
            values[:n_stored].sort()
        for t in range(n_targets):
            p = positions[t]
            value = np.float64(data[p])
            if sorted_row:
                right = np.searchsorted(values[:n_stored], value, side="right")
                left = np.searchsorted(values[:n_stored], value, side="left")
                above = n_stored - right
                tied = right - left
            else:
                above = 0
                tied = 0
                for q in range(first, last):
                    other = np.float64(data[q])
                    above += other > value
                    tied += other == value
            if mode == 0:
                gain = max(cap - (above + (tied + 1) / 2.0), 0.0)
            elif mode == 1:
                gain = mean_capped_gain(above + 1.0, float(above + tied), cap)
            else:
                earlier = 0
                for q in range(first, p):
                    earlier += data[q] == data[p]
                gain = max(cap - (above + earlier + 1.0), 0.0)
            target = target_of_col[indices[p]]
            for k in range(t_indptr[target], t_indptr[target + 1]):
                out[i, t_sets[k]] += gain
                expressed[t_sets[k]] += 1
        if mode == 1:
            zero_gain = mean_capped_gain(nnz + 1.0, float(n_cols), cap)
            if zero_gain > 0:
                for s in range(n_sets):
                    out[i, s] += zero_gain * (sizes[s] - expressed[s])
        elif mode == 2 and nnz + 1 < cap:
            add_ordinal_zero_gains(
                i, first, last, indices, data, nnz, target_cols, t_indptr, t_sets, cap, out
            )


@numba.njit(cache=True, nogil=True)
def add_ordinal_zero_gains(
    i, first, last, indices, data, nnz, target_cols, t_indptr, t_sets, cap, out
):  # pragma: no cover
    """Zero genes ranked after the non-zero ones, in column order."""
    p = first
    expressed_before = 0
    for target in range(target_cols.size):
        column = target_cols[target]
        while p < last and indices[p] < column:
            if data[p] != 0:
                expressed_before += 1
            p += 1
        if p < last and indices[p] == column and data[p] != 0:
            continue
        rank = nnz + 1.0 + (column - expressed_before)
        if rank >= cap:
            break
        for k in range(t_indptr[target], t_indptr[target + 1]):
            out[i, t_sets[k]] += cap - rank


@numba.njit(parallel=True, cache=True, nogil=True)
def rank_sums_parallel(
    indptr,
    indices,
    data,
    target_of_col,
    target_cols,
    t_indptr,
    t_sets,
    sizes,
    n_cols,
    cap,
    mode,
    out,
    parts,
):  # pragma: no cover
    """:func:`rank_sums_rows` over all rows, cut into ``parts`` threaded parts."""
    n_rows = indptr.size - 1
    for part in numba.prange(parts):
        rank_sums_rows(
            part * n_rows // parts,
            (part + 1) * n_rows // parts,
            indptr,
            indices,
            data,
            target_of_col,
            target_cols,
            t_indptr,
            t_sets,
            sizes,
            n_cols,
            cap,
            mode,
            out,
        )


__all__ = [
    "LINEAR_TARGETS",
    "PARALLEL_MIN_NNZ",
    "add_ordinal_zero_gains",
    "all_integers",
    "csr_moments_parallel",
    "csr_moments_rows",
    "csr_row_sums",
    "csr_times_packed_parallel",
    "csr_times_packed_rows",
    "csr_times_w_parallel",
    "csr_times_w_rows",
    "mean_capped_gain",
    "n_parts",
    "numba_threads",
    "rank_sums_parallel",
    "rank_sums_rows",
    "stored_moments",
    "use_threads",
]
