"""Per-group totals of a few genes: :class:`GroupGeneSummary` and one pass to make it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse


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
