"""Gene-set scores per cell: :func:`scclast.tl.score` with four methods.

======  ========================================================  ================================
method  score of a cell for a gene set S                          matches
======  ========================================================  ================================
seurat  mean(S) - mean(controls drawn per expression bin)         ``scanpy.tl.score_genes``
ucell   Mann-Whitney U of S's per-cell ranks, capped at max_rank  ``pyucell.compute_ucell_scores``
aucell  area under S's recovery curve in a cell's top n_up genes  ``decoupler.mt.aucell``
mean    mean of S's expression (zscore: of per-gene z-scores)     --
======  ========================================================  ================================

All sets are scored together in one pass over the data (seurat: two passes, one for the
gene means that define the expression bins). The matrix can be in memory (dense, CSR,
CSC), a backed h5ad or a dask array; the numbers are the same, see :mod:`scclast._matrix`
for matrix choice, gene symbols, species and normalisation.

Each method is one module with its definition and a metadata record
(:class:`~scclast.tl._score._base.Method`); :func:`score` (``_score``) dispatches
through the registry (``_registry``):

=============================  ============================================================
module                         holds
=============================  ============================================================
``_score``                     :func:`score`: checks, gene sets, dispatch, ``obs``/``uns``
``_base``                      the :class:`Method` record and helpers shared by methods
``_registry``                  method name -> record
``_seurat``                    ``seurat`` (expression bins, control genes)
``_ucell``, ``_aucell``        ``ucell`` and ``aucell``, over ``_ranks`` (per-cell ranks)
``_mean``                      ``mean``
=============================  ============================================================

Definitions common to all methods (each method's own are in its module's docstring):

* Sums run in float64 (scanpy sums float32 data partly in float32: seurat differences
  stay below 1e-6).
* Cells with zero counts (when counts are normalised) have all-zero expression: seurat,
  ucell and mean give 0; aucell gives the AUC expected from a random ranking.
* Sets with fewer than ``min_genes`` genes present get NaN scores and a warning; they
  are never dropped.

Examples
--------
>>> import scclast
>>> a = scclast.datasets.example()
>>> score(a, ["clastokines_secreted"], method="mean")
>>> bool(a.obs["scclast_clastokines_secreted"].notna().all())
True
"""

from scclast.tl._score._score import METHODS, score

__all__ = ["METHODS", "score"]
