"""Nearest-neighbour graphs shared by clustering (flagging) and the embedding (pipeline)."""

from __future__ import annotations

from typing import Any

import numpy as np

EXACT_KNN_MAX_CELLS = 20_000
"""Up to this many cells neighbours are exact (scikit-learn); above it, pynndescent."""


def knn_transformer(n_obs: int, n_neighbors: int, seed: int) -> Any:
    """The ``transformer`` argument for :func:`scanpy.pp.neighbors`.

    Exact neighbours up to :data:`EXACT_KNN_MAX_CELLS` cells, else pynndescent, wrapped
    so that it returns a ``csr_matrix``: scanpy 1.11 calls ``getnnz`` on the result,
    which scipy's ``csr_array`` (what pynndescent returns with recent scipy) lacks.

    Examples
    --------
    >>> knn_transformer(500, 15, seed=0)
    'sklearn'
    """
    if n_obs <= EXACT_KNN_MAX_CELLS:
        return "sklearn"
    import scipy.sparse as sp
    from pynndescent import PyNNDescentTransformer

    class _CsrMatrixTransformer(PyNNDescentTransformer):
        def fit_transform(self, X: Any, y: Any = None, **kwargs: Any) -> Any:
            return sp.csr_matrix(super().fit_transform(X, y, **kwargs))

        def transform(self, X: Any, y: Any = None) -> Any:
            return sp.csr_matrix(super().transform(X))

    return _CsrMatrixTransformer(
        n_neighbors=n_neighbors,
        metric="euclidean",
        random_state=seed,
        # UMAP's defaults, as scanpy uses them
        n_trees=min(64, 5 + round(n_obs**0.5 / 20.0)),
        n_iters=max(5, round(np.log2(n_obs))),
    )
