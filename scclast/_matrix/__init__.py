"""One view of the expression matrix for every analysis step.

:func:`expression_view` picks the matrix (``X``, a layer or ``.raw``), resolves one
gene symbol per column, detects the species from the symbols' letter case and the kind
of values (raw counts, log-normalised, scaled), and then hands out row chunks of
normalised expression without ever modifying the stored matrix. The same code serves
in-memory (dense, CSR, CSC), backed h5ad (``read_h5ad(path, backed="r")``) and dask
matrices (``anndata.experimental.read_lazy`` / ``read_elem_lazy``).

Two building blocks run over the chunks for the scoring and flagging steps:
:func:`gene_moments` (per-gene mean and variance, one pass) and :func:`matmul`
(normalised ``X @ W``, one pass). On a dask matrix both map over the row blocks, so a
``dask.distributed`` cluster computes them. Their numba kernels live in
:mod:`scclast._kernels`.

=============================  ============================================================
module                         holds
=============================  ============================================================
``_select``                    which matrix (``X``, layer, raw), its storage and checks
``_detect``                    gene symbols, species and kind of values
``_view``                      :class:`ExpressionView`, its row chunks, :func:`expression_view`
``_ops``                       :func:`gene_moments`, :func:`gene_means`, :func:`matmul`,
                               :func:`normalised_anndata`
=============================  ============================================================

Conventions
-----------
* Raw counts are normalised on the fly as ``log1p(x / total * 1e4)`` with ``total``
  the cell's count over *all* columns of the chosen matrix. A cell with zero counts
  has all-zero expression (it is not dropped and does not divide by zero).
* Duplicated symbols: the first column carrying a symbol (in ``var`` order) is used,
  later ones are ignored and listed in :attr:`ExpressionView.record`. Columns without a
  symbol (empty or missing) are ignored too. Ignored columns still count in a cell's
  total for the normalisation.

Examples
--------
>>> import anndata as ad, numpy as np
>>> a = ad.AnnData(np.array([[1.0, 3.0], [2.0, 2.0]], dtype=np.float32))
>>> a.var_names = ["Acp5", "Ctsk"]
>>> view = expression_view(a)
>>> view.kind, view.species, gene_means(view).round(3).tolist()
('counts', 'mouse', [8.171, 8.72])
"""

from scclast._matrix._detect import SYMBOL_COLUMNS, detect_kind, detect_species
from scclast._matrix._ops import gene_means, gene_moments, matmul, normalised_anndata
from scclast._matrix._view import (
    DEFAULT_CHUNK_SIZE,
    TARGET_SUM,
    ExpressionView,
    RawChunk,
    expression_view,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SYMBOL_COLUMNS",
    "TARGET_SUM",
    "ExpressionView",
    "RawChunk",
    "detect_kind",
    "detect_species",
    "expression_view",
    "gene_means",
    "gene_moments",
    "matmul",
    "normalised_anndata",
]
