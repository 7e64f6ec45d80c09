"""Pseudobulk totals: every used gene summed per class of cells, in one pass.

A *class* is any integer code per cell; flagging uses one class per group x sample (the
biological replicate), so that the sample, not the cell, can be the unit of a test.
One pass over the matrix (:meth:`~scclast._matrix.ExpressionView.reduce_rows`, so
backed and dask matrices work in row chunks) gives, per class and gene: the number of
cells, the sum and the sum of squares of normalised expression (``log1p`` of counts per
10,000), the sum on the linear scale (counts per 10,000, ``expm1`` of it) and the number
of cells with the gene detected.

From these totals come, without another pass: per-gene mean and variance over all cells
(the matching of control genes), per-group detection (the lineage calls), pseudobulk
fold changes per sample (the replicate-level flag) and Welch t statistics per gene (the
cell-level ranking of the enrichment).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView, RawChunk

PSEUDOCOUNT = 0.5
"""Counts per 10,000 added to both means of a pseudobulk fold change.

About edgeR's prior count of 2 for a pseudobulk of 40 cells of 1,000 UMIs (0.5 counts per
10,000 = 2 of its 40,000 UMIs): genes seen a handful of times in a group get fold changes
shrunk towards 1 instead of ratios of sampling noise.
"""


@dataclass
class Pseudobulk:
    """Per-class totals of every used gene (classes x genes), from one pass.

    Attributes
    ----------
    n_cells
        Cells per class.
    sums, squares
        Sum and sum of squares of normalised expression (``log1p`` scale).
    linear
        Sum of ``expm1`` of normalised expression (counts per 10,000 for counts).
    detected
        Cells with the gene detected (value > 0).

    Examples
    --------
    >>> p = Pseudobulk(np.array([2.0, 1.0]), np.array([[1.0], [3.0]]),
    ...                np.array([[1.0], [9.0]]), np.array([[2.0], [19.0]]),
    ...                np.array([[1.0], [1.0]]))
    >>> [m.round(3).tolist() for m in p.moments()]
    [[1.333], [2.333]]
    >>> p.combine([np.array([0, 1])]).n_cells.tolist()
    [3.0]
    """

    n_cells: np.ndarray
    sums: np.ndarray
    squares: np.ndarray
    linear: np.ndarray
    detected: np.ndarray

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance (ddof=1) of each gene over every cell of every class."""
        n = float(self.n_cells.sum())
        sums, squares = self.sums.sum(axis=0), self.squares.sum(axis=0)
        mean = sums / max(n, 1.0)
        if n < 2:
            return mean, np.zeros_like(mean)
        return mean, np.maximum(squares - n * mean * mean, 0.0) / (n - 1)

    def combine(self, members: list[np.ndarray]) -> Pseudobulk:
        """Totals of unions of classes: one row per array of class codes in ``members``."""

        def total(values: np.ndarray) -> np.ndarray:
            return np.vstack([values[m].sum(axis=0) for m in members])

        return Pseudobulk(
            n_cells=np.array([self.n_cells[m].sum() for m in members], dtype=float),
            sums=total(self.sums),
            squares=total(self.squares),
            linear=total(self.linear),
            detected=total(self.detected),
        )

    def linear_means(self) -> np.ndarray:
        """Mean counts per 10,000 of each gene per class (``nan`` for empty classes)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.linear / self.n_cells[:, None]


def pseudobulk(view: ExpressionView, codes: np.ndarray, n_codes: int) -> Pseudobulk:
    """Totals of every used gene per class of cells, in one pass over the matrix.

    Parameters
    ----------
    view
        The expression view (its used columns, in its order).
    codes
        Class of every cell, ``0 .. n_codes - 1`` (every cell must have one).
    n_codes
        Number of classes.

    Examples
    --------
    >>> import anndata as ad
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]], dtype=np.float32))
    >>> p = pseudobulk(expression_view(a), np.array([0, 0, 1]), 2)
    >>> p.n_cells.tolist(), p.detected.tolist()
    ([2.0, 1.0], [[1.0, 1.0], [1.0, 1.0]])
    """
    codes = np.asarray(codes, dtype=np.intp)
    if codes.size != view.n_obs or (codes.size and (codes.min() < 0 or codes.max() >= n_codes)):
        raise ValueError("every cell needs a class code in 0 .. n_codes - 1")
    n_vars = view.n_vars
    func = partial(_chunk_totals, codes=codes, n_codes=n_codes, columns=view.columns)
    flat = view.reduce_rows(func, 4 * n_codes * n_vars)
    parts = flat.reshape(4, n_codes, n_vars)
    return Pseudobulk(
        n_cells=np.bincount(codes, minlength=n_codes).astype(float),
        sums=parts[0],
        squares=parts[1],
        linear=parts[2],
        detected=parts[3],
    )


def _chunk_totals(
    chunk: RawChunk, parallel: bool, codes: np.ndarray, n_codes: int, columns: np.ndarray
) -> np.ndarray:
    """The four totals of one row chunk, flattened (sums, squares, linear, detected)."""
    values = chunk.normalised(columns)
    chunk_codes = codes[chunk.rows]
    n_rows = values.shape[0]
    membership = sparse.csr_matrix(
        (np.ones(n_rows), (chunk_codes, np.arange(n_rows))), shape=(n_codes, n_rows)
    )
    if sparse.issparse(values):
        values = sparse.csr_matrix(values)
        data = values.data

        def times(transformed: np.ndarray) -> np.ndarray:
            matrix = sparse.csr_matrix((transformed, values.indices, values.indptr), values.shape)
            return np.asarray((membership @ matrix).toarray())

        out = [times(data), times(data * data), times(np.expm1(data)), times((data != 0) * 1.0)]
    else:
        dense = np.asarray(values, dtype=float)
        out = [
            membership @ dense,
            membership @ (dense * dense),
            membership @ np.expm1(dense),
            membership @ (dense != 0).astype(float),
        ]
    return np.concatenate([np.asarray(o).ravel() for o in out])


def log2_fold_change(
    mean_in: np.ndarray, mean_ref: np.ndarray, pseudocount: float = PSEUDOCOUNT
) -> np.ndarray:
    """``log2((mean_in + c) / (mean_ref + c))`` of linear-scale means (``c`` a pseudocount).

    Examples
    --------
    >>> log2_fold_change(np.array([2.0, 0.0]), np.array([1.0, 0.0]), pseudocount=0.0001).round(6)
    array([0.999928, 0.      ])
    """
    return np.log2((np.asarray(mean_in) + pseudocount) / (np.asarray(mean_ref) + pseudocount))


def moderated_t(differences: np.ndarray) -> np.ndarray:
    """Per-column paired t of ``differences`` (samples x genes) with a variance floor.

    ``mean / sqrt((var + s0) / n)``, ``s0`` the median variance over the columns (the
    "fudge factor" of SAM, Tusher et al. 2001): with 3-8 samples a raw t divides by a
    variance estimated from a few values, and genes with a near-zero spread would
    top the ranking by chance.

    Examples
    --------
    >>> d = np.array([[1.0, 0.1, 0.0], [1.2, -0.1, 0.0], [0.8, 0.0, 0.0]])
    >>> moderated_t(d).round(2).tolist()
    [6.79, 0.0, 0.0]
    """
    d = np.asarray(differences, dtype=float)
    if d.shape[0] < 2:
        return np.full(d.shape[1], np.nan)
    var = d.var(axis=0, ddof=1)
    positive = var[np.isfinite(var) & (var > 0)]
    floor = float(np.median(positive)) if positive.size else 1.0
    return d.mean(axis=0) / np.sqrt((var + floor) / d.shape[0])


def welch_t(
    first: Pseudobulk, second: Pseudobulk, row_first: int = 0, row_second: int = 0
) -> np.ndarray:
    """Welch t of normalised expression per gene, one class against another (cells as units).

    As scanpy's ``rank_genes_groups(method="t-test")``: variances with ddof=1; genes
    without variance in both classes get 0.

    Examples
    --------
    >>> a = Pseudobulk(np.array([2.0]), np.array([[3.0]]), np.array([[5.0]]),
    ...                np.array([[0.0]]), np.array([[2.0]]))
    >>> b = Pseudobulk(np.array([2.0]), np.array([[1.0]]), np.array([[1.0]]),
    ...                np.array([[0.0]]), np.array([[1.0]]))
    >>> welch_t(a, b).round(3).tolist()
    [1.414]
    """
    n1, n2 = first.n_cells[row_first], second.n_cells[row_second]
    if n1 < 2 or n2 < 2:
        return np.full(first.sums.shape[1], np.nan)
    m1, m2 = first.sums[row_first] / n1, second.sums[row_second] / n2
    v1 = np.maximum(first.squares[row_first] - n1 * m1 * m1, 0.0) / (n1 - 1)
    v2 = np.maximum(second.squares[row_second] - n2 * m2 * m2, 0.0) / (n2 - 1)
    se = np.sqrt(v1 / n1 + v2 / n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (m1 - m2) / se
    return np.where(se > 0, t, 0.0)


__all__ = [
    "PSEUDOCOUNT",
    "Pseudobulk",
    "log2_fold_change",
    "moderated_t",
    "pseudobulk",
    "welch_t",
]
