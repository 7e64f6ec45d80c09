"""Small statistical helpers shared by lineage calls, flagging and enrichment.

Everything here is plain numpy/scipy on arrays that are already in memory: AUROC with
a one-sided Mann-Whitney test, Benjamini-Hochberg FDR, empirical p-values against a
control distribution, and per-group sums of a few genes (one pass over the matrix).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats


def auroc_mannwhitney(
    x: np.ndarray, y: np.ndarray, alternative: str = "greater"
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC of ``x`` against ``y`` and the Mann-Whitney p-value, column by column.

    The AUROC is ``U / (n_x * n_y)``: the probability that a random value of ``x``
    exceeds a random value of ``y`` (ties count one half). The p-value uses the
    normal approximation with tie and continuity correction, one-sided by default
    (``x`` larger than ``y``).

    Parameters
    ----------
    x, y
        Samples, 1-D or 2-D (observations x variables); 2-D inputs are tested
        column by column in one vectorised call.
    alternative
        ``"greater"``, ``"less"`` or ``"two-sided"``.

    Returns
    -------
    auroc, pvalue
        Arrays with one value per column (0-d arrays for 1-D input). ``nan`` when
        either sample is empty.

    Examples
    --------
    >>> a, p = auroc_mannwhitney(np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0]))
    >>> float(a), bool(p < 0.05)
    (1.0, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    shape = x.shape[1:]
    if x.shape[0] == 0 or y.shape[0] == 0:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    result = stats.mannwhitneyu(x, y, alternative=alternative, method="asymptotic", axis=0)
    auroc = np.asarray(result.statistic, dtype=float) / (x.shape[0] * y.shape[0])
    pvalue = np.asarray(result.pvalue, dtype=float)
    constant = _constant_columns(x, y)
    if np.any(constant):
        # Every value equal: no evidence either way (scipy would return nan).
        auroc = np.where(constant, 0.5, auroc)
        pvalue = np.where(constant, 1.0, pvalue)
    return auroc, pvalue


def _constant_columns(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    both = np.concatenate([x, y], axis=0)
    return np.all(both == both[:1], axis=0)


def benjamini_hochberg(pvalues: Iterable[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); ``nan`` entries stay ``nan``.

    Only the finite p-values form the family, so untested rows neither count as
    tests nor receive a q-value.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, np.nan, 0.03]).round(3).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    p = np.asarray(list(pvalues), dtype=float)
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    m = int(finite.sum())
    if m == 0:
        return q
    values = p[finite]
    order = np.argsort(values, kind="stable")
    ranked = values[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    q[finite] = adjusted
    return q


def bh_threshold(pvalues: Iterable[float], alpha: float) -> float:
    """The Benjamini-Hochberg cut-off: ``alpha * k / m`` for the ``k`` rejections.

    A p-value at or under the cut-off is rejected by the procedure (with ``k``
    rejections among ``m`` finite p-values); ``0.0`` when nothing is rejected. Used so
    that a leave-one-out variant is held to the same bar as the test it stands in for.

    Examples
    --------
    >>> bh_threshold([0.001, 0.02, 0.5], alpha=0.06)
    0.04
    >>> bh_threshold([0.2, 0.5], alpha=0.05)
    0.0
    """
    p = np.asarray(list(pvalues), dtype=float)
    p = np.sort(p[np.isfinite(p)])
    if p.size == 0:
        return 0.0
    passing = np.nonzero(p <= alpha * np.arange(1, p.size + 1) / p.size)[0]
    if not passing.size:
        return 0.0
    return float(alpha * (passing[-1] + 1) / p.size)


def empirical_pvalue(observed: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Per-row empirical p-value ``(1 + #{controls >= observed}) / (n_controls + 1)``.

    Parameters
    ----------
    observed
        Shape ``(n,)``.
    controls
        Shape ``(n, n_controls)``.

    Examples
    --------
    >>> empirical_pvalue(np.array([5.0, 0.0]), np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
    array([0.25, 1.  ])
    """
    exceed = (controls >= observed[:, None]).sum(axis=1)
    return (1.0 + exceed) / (controls.shape[1] + 1.0)


@dataclass
class GroupGeneSummary:
    """Per-group totals of a few genes, from one pass over the matrix.

    Attributes
    ----------
    genes
        Gene symbols (columns of ``sums`` and ``detected``).
    groups
        Group labels (rows).
    n_cells
        Cells per group.
    sums
        Sum of normalised expression, groups x genes.
    detected
        Number of cells with the gene detected (value > 0), groups x genes.
    """

    genes: list[str]
    groups: list[str]
    n_cells: np.ndarray
    sums: np.ndarray
    detected: np.ndarray

    def gene_positions(self, genes: Iterable[str]) -> list[int]:
        """Column positions of the genes that are in the summary, in the given order."""
        where = {g: i for i, g in enumerate(self.genes)}
        return [where[g] for g in genes if g in where]

    def detection(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Fraction of cells with each gene detected, for each group (or pooled rows)."""
        return self._rate(self.detected, rows)

    def means(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Mean normalised expression of each gene, for each group (or pooled rows)."""
        return self._rate(self.sums, rows)

    def _rate(self, values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        if rows is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                return values / self.n_cells[:, None]
        total = self.n_cells[rows].sum()
        if total == 0:
            return np.full(values.shape[1], np.nan)
        return values[rows].sum(axis=0) / total


def summarise_groups(
    chunks: Iterable[tuple[slice, object]],
    codes: np.ndarray,
    groups: list[str],
    gene_idx: np.ndarray,
    genes: list[str],
) -> GroupGeneSummary:
    """Sum and count detections of ``gene_idx`` per group over row chunks.

    Parameters
    ----------
    chunks
        ``(row_slice, normalised_chunk)`` pairs, as yielded by
        ``ExpressionView.iter_chunks()``.
    codes
        Group code of every cell (``-1`` for cells outside every group).
    groups
        Group labels, indexed by code.
    gene_idx
        Matrix columns to summarise.
    genes
        Their symbols.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
    >>> s = summarise_groups([(slice(0, 3), X)], np.array([0, 0, 1]), ["a", "b"],
    ...                      np.array([0, 1]), ["g1", "g2"])
    >>> s.detection().tolist()
    [[1.0, 0.5], [0.0, 1.0]]
    """
    n_groups, n_genes = len(groups), len(gene_idx)
    sums = np.zeros((n_groups, n_genes))
    detected = np.zeros((n_groups, n_genes))
    indicator_base = np.arange(n_groups)
    for rows, chunk in chunks:
        block = _dense_columns(chunk, gene_idx)
        chunk_codes = codes[rows]
        keep = chunk_codes >= 0
        if not np.any(keep):
            continue
        membership = sparse.csr_matrix(
            (np.ones(int(keep.sum())), (chunk_codes[keep], np.nonzero(keep)[0])),
            shape=(n_groups, block.shape[0]),
        )
        sums += membership @ block
        detected += membership @ (block > 0).astype(float)
    n_cells = np.bincount(codes[codes >= 0], minlength=n_groups)[indicator_base]
    return GroupGeneSummary(list(genes), list(groups), n_cells.astype(float), sums, detected)


def _dense_columns(chunk: object, columns: np.ndarray) -> np.ndarray:
    if sparse.issparse(chunk):
        return np.asarray(chunk[:, columns].toarray(), dtype=float)
    return np.asarray(chunk, dtype=float)[:, columns]
