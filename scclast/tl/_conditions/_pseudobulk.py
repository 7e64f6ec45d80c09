"""Pseudobulk counts: the raw counts of each (group, sample) summed, in one pass.

Summing a sample's cells of one group gives one count profile per sample and group,
which is what a replicate-aware test (PyDESeq2) takes. The matrix is read in row chunks
through :func:`scclast._matrix.expression_view` (in memory, backed or dask alike) and
never modified. Written here, not taken from scanpy's ``sc.get.aggregate``, because that
needs the whole matrix in memory and the ``obs`` of the AnnData; the replicate-aware flags
have their own sums in ``scclast._stats`` (one module for both is a later merge).

Examples
--------
>>> import anndata as ad, numpy as np
>>> a = ad.AnnData(np.array([[1, 0], [2, 5], [0, 1]], dtype=np.float32))
>>> a.var_names = ["Acp5", "Ctsk"]
>>> sums = pseudobulk_sums(expression_view(a, normalize="none"), np.array([0, 0, 1]), 2)
>>> sums.tolist()
[[3.0, 5.0], [0.0, 1.0]]
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from scclast._errors import ScclastInputError
from scclast._matrix import ExpressionView, expression_view

__all__ = ["counts_view", "pseudobulk_sums"]


def counts_view(
    adata: object,
    *,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    species: str = "auto",
) -> ExpressionView:
    """The matrix as stored, refused unless it holds raw counts.

    Raises
    ------
    ScclastInputError
        The chosen matrix holds log-normalised or scaled values.
    """
    view = expression_view(
        adata,
        layer=layer,
        use_raw=use_raw,
        gene_symbols=gene_symbols,
        species=species,
        normalize="none",
    )
    if view.kind != "counts":
        source = view.record.get("matrix", "X")
        raise ScclastInputError(
            f"{source} holds {view.kind} values, but a pseudobulk test of conditions sums raw "
            "counts: choose the matrix of counts (--layer counts, or --use-raw when "
            "adata.raw holds them)"
        )
    return view


def pseudobulk_sums(view: ExpressionView, codes: np.ndarray, n_units: int) -> np.ndarray:
    """Counts summed per unit: ``n_units`` x the view's genes (float64).

    Parameters
    ----------
    view
        A view of raw counts (:func:`counts_view`).
    codes
        Per cell, its unit (a group x sample) in ``0 .. n_units - 1``; ``-1`` leaves the
        cell out.
    n_units
        Number of units.
    """
    codes = np.asarray(codes, dtype=np.intp)
    if codes.shape != (view.n_obs,):
        raise ValueError(f"codes has shape {codes.shape}, expected ({view.n_obs},)")
    total = np.zeros((n_units, view.columns.size), dtype=np.float64)
    for chunk in view.iter_raw():
        rows = codes[chunk.rows]
        keep = np.flatnonzero(rows >= 0)
        if keep.size == 0:
            continue
        indicator = sparse.csr_matrix(
            (np.ones(keep.size), (rows[keep], keep)), shape=(n_units, rows.size)
        )
        summed = indicator @ chunk.matrix[:, view.columns]
        total += summed.toarray() if sparse.issparse(summed) else np.asarray(summed)
    return total
