"""Which matrix is read (``X``, a layer or ``.raw``), how it is stored, and its checks.

Storage kinds: ``dense`` (numpy), ``csr`` (in-memory sparse; CSC is converted once),
``backed`` (anndata's on-disk CSR/CSC), ``backed dense`` (an h5py/zarr dataset) and
``dask``.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> storage_of(np.ones((2, 2)), "X"), storage_of(sp.csc_matrix(np.eye(2)), "X")
('dense', 'csc')
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from scclast._errors import ScclastInputError

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")


def select_matrix(adata: AnnData, *, layer: str | None, use_raw: bool) -> tuple[Any, ...]:
    """The chosen matrix, its var table, var_names and a label for messages.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.ones((2, 2)), layers={"counts": np.ones((2, 2))})
    >>> select_matrix(a, layer="counts", use_raw=False)[-1]
    "layers['counts']"
    """
    if layer is not None and use_raw:
        raise ScclastInputError(f"layer={layer!r} and use_raw=True both given: choose one")
    if use_raw:
        if adata.raw is None:
            raise ScclastInputError(
                "use_raw=True but the AnnData has no .raw: drop use_raw or pass layer="
            )
        return adata.raw.X, adata.raw.var, adata.raw.var_names, "raw.X"
    if layer is not None:
        if layer not in adata.layers:
            available = ", ".join(map(repr, adata.layers.keys())) or "none"
            raise ScclastInputError(f"layer {layer!r} not found; available layers: {available}")
        return adata.layers[layer], adata.var, adata.var_names, f"layers[{layer!r}]"
    if adata.X is None:
        raise ScclastInputError("the AnnData has no X: pass layer= or use_raw=True")
    return adata.X, adata.var, adata.var_names, "X"


def matrix_for_rows(matrix: Any, source: str) -> tuple[Any, str, str]:
    """The matrix ready for row chunks, its storage kind and a note on any copy made.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> ready, storage, note = matrix_for_rows(sp.csc_matrix(np.eye(2)), "X")
    >>> ready.format, storage, note
    ('csr', 'csr', 'in-memory CSC converted to CSR (one copy) for row chunks')
    """
    storage = storage_of(matrix, source)
    check_shape_and_dtype(matrix, source)
    matrix, note = _in_memory_for_rows(matrix, storage)
    if storage == "backed" and matrix.format == "csc":
        log.warning(
            "%s is a backed CSC matrix: every row chunk reads most of the file; "
            "store it as CSR (adata.X = adata.X.tocsr()) for fast, bounded-memory scoring",
            source,
        )
    return matrix, "csr" if storage == "csc" else storage, note


def storage_of(matrix: Any, source: str) -> str:
    """``dense``, ``csr``, ``csc``, ``backed``, ``backed dense`` or ``dask``."""
    if is_dask_array(matrix):
        return "dask"
    if isinstance(matrix, np.ndarray):
        return "dense"
    if sp.issparse(matrix):
        return "csr" if matrix.format == "csr" else "csc"
    if hasattr(matrix, "format") and getattr(matrix, "format", None) in ("csr", "csc"):
        return "backed"  # anndata's on-disk CSR/CSC dataset
    if type(matrix).__module__.startswith("h5py") or type(matrix).__module__.startswith("zarr"):
        return "backed dense"
    if hasattr(matrix, "__array__") and hasattr(matrix, "shape"):
        return "dense"
    raise ScclastInputError(
        f"{source} is a {type(matrix).__name__}, which scclast cannot read: use a numpy "
        "array, a scipy sparse matrix, a backed h5ad or a dask array"
    )


def is_dask_array(matrix: Any) -> bool:
    """Whether ``matrix`` is a dask array (without importing dask when it is not loaded).

    Examples
    --------
    >>> import numpy as np
    >>> is_dask_array(np.ones(2))
    False
    """
    if "dask.array" not in sys.modules:
        return False
    import dask.array as da

    return isinstance(matrix, da.Array)


def check_shape_and_dtype(matrix: Any, source: str) -> None:
    """Refuse empty and non-numeric matrices, naming the matrix.

    Examples
    --------
    >>> import numpy as np
    >>> check_shape_and_dtype(np.zeros((0, 3)), "X")
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: X is empty (0 cells x 3 genes): nothing to score
    """
    n_obs, n_cols = matrix.shape
    if n_obs == 0 or n_cols == 0:
        raise ScclastInputError(
            f"{source} is empty ({n_obs} cells x {n_cols} genes): nothing to score"
        )
    dtype = np.dtype(matrix.dtype)
    if dtype.kind not in "biuf":
        raise ScclastInputError(
            f"{source} has non-numeric values (dtype {dtype}): store numbers, e.g. "
            "adata.X = adata.X.astype('float32')"
        )


def _in_memory_for_rows(matrix: Any, storage: str) -> tuple[Any, str]:
    """In-memory sparse matrices as canonical CSR (a copy only when needed)."""
    if storage == "dense":
        return np.asarray(matrix), ""
    if storage not in ("csr", "csc"):
        return matrix, ""
    note = ""
    if storage == "csc":
        matrix = matrix.tocsr()
        note = "in-memory CSC converted to CSR (one copy) for row chunks"
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
        note = (note + "; " if note else "") + "duplicate/unsorted CSR entries summed in a copy"
    return matrix, note
