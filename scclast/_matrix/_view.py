"""The expression view: one read-only, chunked view of normalised expression.

:func:`expression_view` picks the matrix (:mod:`._select`), resolves one symbol per
column and detects the species and the kind of values (:mod:`._detect`), and returns an
:class:`ExpressionView` that hands out row chunks (:class:`RawChunk`) without ever
modifying the stored matrix. :meth:`ExpressionView.map_rows` and
:meth:`ExpressionView.reduce_rows` run a function over all chunks, on numba threads in
memory or over the row blocks of a dask matrix.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._docs import doc_adata, doc_matrix, doc_params
from scclast._errors import ScclastInputError
from scclast._kernels import csr_row_sums, numba_threads
from scclast._matrix._detect import (
    check_chunk_values,
    detect_species,
    kind_and_normalisation,
    settle_species,
    symbol_columns,
)
from scclast._matrix._select import matrix_for_rows, select_matrix
from scclast._types import NORMALIZE_OPTIONS, SPECIES, Normalize, Species, check_choice

if TYPE_CHECKING:
    from anndata import AnnData

TARGET_SUM = 1e4
"""Counts are scaled to this total per cell before ``log1p`` (as Seurat and scanpy do)."""

DEFAULT_CHUNK_SIZE = 10_000
"""Rows per chunk for in-memory and backed matrices."""

DENSE_CHUNK_ELEMENTS = 1 << 23
"""Dense chunks are cut so that one float64 copy stays under 64 MiB."""


@dataclass(frozen=True)
class ChunkPreparer:
    """Turns a block of stored rows into a :class:`RawChunk` (picklable for dask).

    Examples
    --------
    >>> prepare = ChunkPreparer("X", kind="counts", normalise=True, validate=True)
    >>> chunk = prepare(np.array([[1.0, 3.0]]), start=5)
    >>> chunk.rows, chunk.scale.tolist()
    (slice(5, 6, None), [2500.0])
    """

    source: str
    kind: str
    normalise: bool
    validate: bool

    def __call__(self, block: Any, start: int) -> RawChunk:
        matrix = _as_chunk_matrix(block, self.source)
        rows = slice(start, start + matrix.shape[0])
        if self.validate:
            check_chunk_values(matrix, rows, self.source, self.kind, self.normalise)
        scale = _row_scale(matrix) if self.normalise else None
        return RawChunk(rows=rows, matrix=matrix, scale=scale)


@dataclass
class RawChunk:
    """Stored rows (all columns) plus the per-row factor of the normalisation.

    ``scale`` is ``None`` when values are used as stored; otherwise expression is
    ``log1p(matrix * scale[:, None])``.

    Examples
    --------
    >>> chunk = RawChunk(slice(0, 1), np.array([[1.0, 3.0]]), scale=np.array([0.25]))
    >>> chunk.is_sparse, np.round(chunk.normalised(np.array([1])), 3).tolist()
    (False, [[0.56]])
    """

    rows: slice
    matrix: sp.csr_matrix | np.ndarray
    scale: np.ndarray | None

    @property
    def is_sparse(self) -> bool:
        """Whether the rows are CSR (else a dense array)."""
        return sp.issparse(self.matrix)

    def normalised(self, columns: np.ndarray | None = None) -> sp.csr_matrix | np.ndarray:
        """Float64 normalised expression of these rows, restricted to ``columns``."""
        if self.is_sparse:
            data = self.matrix.data.astype(np.float64)
            if self.scale is not None:
                data *= np.repeat(self.scale, np.diff(self.matrix.indptr))
                np.log1p(data, out=data)
            out = sp.csr_matrix(
                (data, self.matrix.indices, self.matrix.indptr), shape=self.matrix.shape
            )
        else:
            out = np.array(self.matrix, dtype=np.float64)
            if self.scale is not None:
                out *= self.scale[:, None]
                np.log1p(out, out=out)
        if columns is None or (columns.size == out.shape[1] and _is_identity(columns)):
            return out
        return out[:, columns]


class ExpressionView:
    """Read-only, chunked view of normalised expression with one symbol per column.

    Build it with :func:`expression_view`; never modifies the AnnData or its file.

    Attributes
    ----------
    symbols
        Resolved symbol of each used column (unique).
    columns
        Index of each used column in the stored matrix.
    species
        ``"mouse"``, ``"human"`` or ``"unknown"``.
    kind
        Detected kind of stored values: ``"counts"``, ``"log"`` or ``"scaled"``.
    normalised
        Whether counts are normalised on the fly (``log1p`` of total-count 1e4).
    record
        Provenance: matrix source and storage, kind, normalisation, symbol column,
        duplicated symbols and how they were resolved.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[1.0, 0.0], [3.0, 1.0]], dtype=np.float32))
    >>> a.var_names = ["Acp5", "Ctsk"]
    >>> view = expression_view(a)
    >>> view.kind, view.normalised, view.n_vars
    ('counts', True, 2)
    >>> for rows, chunk in view.iter_chunks():
    ...     print(rows, np.round(chunk[1], 3))
    slice(0, 2, None) [8.923 7.824]
    """

    def __init__(
        self,
        *,
        matrix: Any,
        storage: str,
        symbols: np.ndarray,
        columns: np.ndarray,
        species: str,
        kind: str,
        preparer: ChunkPreparer,
        chunk_size: int,
        record: dict[str, Any],
        n_jobs: int = 1,
    ) -> None:
        self._matrix = matrix
        self.storage = storage
        self.symbols = symbols
        self.columns = columns
        self.species = species
        self.kind = kind
        self._preparer = preparer
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.record = record
        self._index = pd.Index(symbols)

    @property
    def n_obs(self) -> int:
        """Number of cells (rows)."""
        return int(self._matrix.shape[0])

    @property
    def n_vars(self) -> int:
        """Number of used genes (columns with a unique symbol)."""
        return int(self.columns.size)

    @property
    def n_stored_columns(self) -> int:
        """Number of columns of the stored matrix (the universe for per-cell ranks)."""
        return int(self._matrix.shape[1])

    @property
    def normalised(self) -> bool:
        """Whether counts are normalised on the fly."""
        return self._preparer.normalise

    @property
    def is_dask(self) -> bool:
        """Whether the matrix is a dask array (scoring maps over its row blocks)."""
        return self.storage == "dask"

    def index_of(self, genes: Iterable[str]) -> tuple[np.ndarray, list[str], list[str]]:
        """Positions of ``genes`` among the used columns.

        Returns
        -------
        indices
            Positions (into :attr:`symbols`) of the genes found, in the order given.
        found, missing
            Genes found and not found (duplicates in ``genes`` counted once).

        Examples
        --------
        >>> import anndata as ad, numpy as np
        >>> a = ad.AnnData(np.ones((2, 3), dtype=np.float32))
        >>> a.var_names = ["Acp5", "Ctsk", "Mmp9"]
        >>> expression_view(a).index_of(["Mmp9", "Nfatc1", "Acp5"])
        (array([2, 0]), ['Mmp9', 'Acp5'], ['Nfatc1'])
        """
        wanted = list(dict.fromkeys(str(g) for g in genes))
        positions = self._index.get_indexer(wanted) if wanted else np.zeros(0, dtype=np.intp)
        present = positions >= 0
        found = [g for g, ok in zip(wanted, present, strict=True) if ok]
        missing = [g for g, ok in zip(wanted, present, strict=True) if not ok]
        return positions[present].astype(np.intp), found, missing

    def iter_chunks(
        self, progress: bool | None = False
    ) -> Iterator[tuple[slice, sp.csr_matrix | np.ndarray]]:
        """Yield ``(row_slice, chunk)`` of normalised float64 expression, used columns.

        ``chunk`` is CSR for sparse storage and a dense array otherwise.

        Examples
        --------
        >>> import anndata as ad, numpy as np
        >>> a = ad.AnnData(np.arange(6, dtype=np.float32).reshape(3, 2) / 10)
        >>> view = expression_view(a, chunk_size=2)
        >>> [rows.stop for rows, _ in view.iter_chunks()]
        [2, 3]
        """
        for chunk in self.iter_raw(progress):
            yield chunk.rows, chunk.normalised(self.columns)

    def iter_raw(self, progress: bool | None = False) -> Iterator[RawChunk]:
        """Yield stored rows (all columns) with their normalisation factors.

        Ranks need all stored columns, and kernels normalise values as they read them,
        so this is what :meth:`map_rows` and :meth:`reduce_rows` hand to their function.

        Examples
        --------
        >>> import anndata as ad
        >>> a = ad.AnnData(np.array([[1.0, 3.0], [2.0, 2.0]], dtype=np.float32))
        >>> [chunk.scale.tolist() for chunk in expression_view(a).iter_raw()]
        [[2500.0, 2500.0]]
        """
        bounds = self._row_bounds()
        for start, stop in _with_progress(bounds, progress, "scclast"):
            yield self._preparer(self._read_rows(start, stop), start)

    def _row_bounds(self) -> list[tuple[int, int]]:
        if self.is_dask:
            edges = np.cumsum((0, *self._matrix.chunks[0]))
            return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]
        step = self.chunk_size
        if self.storage == "dense" or self.storage == "backed dense":
            step = max(1, min(step, DENSE_CHUNK_ELEMENTS // max(1, self.n_stored_columns)))
        return [(s, min(s + step, self.n_obs)) for s in range(0, self.n_obs, step)]

    def _read_rows(self, start: int, stop: int) -> Any:
        matrix = self._matrix
        if self.storage == "csr":
            return _csr_row_view(matrix, start, stop)
        if self.is_dask:
            return matrix[start:stop].compute()
        return matrix[start:stop]

    def map_rows(
        self,
        func: Callable[[RawChunk, bool], np.ndarray],
        n_out: int,
        progress: bool | None = False,
    ) -> np.ndarray:
        """Stack ``func(chunk, parallel)`` (rows x n_out) over all row chunks.

        ``parallel`` says whether ``func`` may run numba's threaded kernels (``n_jobs``
        above 1; never inside a dask block, which dask already runs in parallel).

        Examples
        --------
        >>> import anndata as ad
        >>> a = ad.AnnData(np.array([[1.0, 3.0], [2.0, 2.0]], dtype=np.float32))
        >>> def totals(chunk, parallel):
        ...     return np.asarray(chunk.matrix.sum(axis=1)).reshape(-1, 1)
        >>> expression_view(a, chunk_size=1).map_rows(totals, 1).ravel().tolist()
        [4.0, 4.0]
        """
        if self.is_dask:
            blocks = self._dask_blocks(partial(_apply_to_block, self._preparer, func), n_out)
            return np.asarray(blocks.compute(), dtype=np.float64)
        out = np.empty((self.n_obs, n_out), dtype=np.float64)
        with numba_threads(self.n_jobs) as parallel:
            for chunk in self.iter_raw(progress):
                out[chunk.rows] = func(chunk, parallel)
        return out

    def reduce_rows(
        self,
        func: Callable[[RawChunk, bool], np.ndarray],
        n_out: int,
        progress: bool | None = False,
    ) -> np.ndarray:
        """Sum of ``func(chunk, parallel)`` (a 1-D array of n_out) over all row chunks.

        Examples
        --------
        >>> import anndata as ad
        >>> a = ad.AnnData(np.array([[1.0, 3.0], [2.0, 2.0]], dtype=np.float32))
        >>> def column_sums(chunk, parallel):
        ...     return np.asarray(chunk.matrix.sum(axis=0)).ravel()
        >>> expression_view(a, chunk_size=1).reduce_rows(column_sums, 2).tolist()
        [3.0, 5.0]
        """
        if self.is_dask:
            blocks = self._dask_blocks(
                partial(_apply_to_block, self._preparer, func, reduce=True), n_out, reduce=True
            )
            return np.asarray(blocks.sum(axis=0).compute(), dtype=np.float64)
        total = np.zeros(n_out, dtype=np.float64)
        with numba_threads(self.n_jobs) as parallel:
            for chunk in self.iter_raw(progress):
                total += func(chunk, parallel)
        return total

    def _dask_blocks(
        self, apply: Callable[..., np.ndarray], n_out: int, reduce: bool = False
    ) -> Any:
        matrix = self._matrix
        if len(matrix.chunks[1]) > 1:
            matrix = matrix.rechunk({1: -1})
        n_blocks = len(matrix.chunks[0])
        out_rows = (1,) * n_blocks if reduce else matrix.chunks[0]
        return matrix.map_blocks(
            apply,
            dtype=np.float64,
            chunks=(out_rows, (n_out,)),
            meta=np.empty((0, 0), dtype=np.float64),
        )


def _apply_to_block(
    preparer: ChunkPreparer,
    func: Callable[[RawChunk, bool], np.ndarray],
    block: Any,
    block_info: dict | None = None,
    reduce: bool = False,
) -> np.ndarray:
    """Run ``func`` on one dask block (serial numba kernels: dask already runs in parallel)."""
    start = 0 if not block_info else int(block_info[0]["array-location"][0][0])
    result = func(preparer(block, start), False)
    return result[None, :] if reduce else result


@doc_params(doc_adata=doc_adata, doc_matrix=doc_matrix)
def expression_view(
    adata: AnnData,
    *,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    normalize: Normalize = "auto",
    species: Species = "auto",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_jobs: int = 1,
) -> ExpressionView:
    """Build the :class:`ExpressionView` of an AnnData.

    Parameters
    ----------
    {doc_adata}
    {doc_matrix}
    normalize
        ``"auto"``: normalise raw counts (``log1p`` of total-count 1e4), use
        log-normalised or scaled values as stored. ``"counts"``: always normalise.
        ``"log"`` or ``"none"``: always use values as stored.
    species
        ``"auto"`` (detect from the symbols' case), ``"mouse"`` or ``"human"``; an explicit
        species that contradicts the symbols is an error.
    chunk_size
        Rows per chunk for in-memory and backed matrices (dask uses its own blocks).
    n_jobs
        Threads for the numba kernels of in-memory and backed matrices (``-1``: all
        cores). The default 1 is fastest on busy machines; dask parallelises over its
        blocks instead.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> a = ad.AnnData(np.ones((3, 2), dtype=np.float32) * 0.5)
    >>> a.var_names = ["ENSMUSG00000001", "ENSMUSG00000002"]
    >>> a.var["feature_name"] = ["Acp5", "Ctsk"]
    >>> view = expression_view(a)
    >>> list(view.symbols), view.species, view.kind
    (['Acp5', 'Ctsk'], 'mouse', 'log')
    """
    check_choice("normalize", normalize, NORMALIZE_OPTIONS)
    check_choice("species", species, SPECIES)
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ScclastInputError(f"chunk_size={chunk_size!r}: give a positive number of rows")
    n_jobs = _check_n_jobs(n_jobs)
    matrix, var, var_names, source = select_matrix(adata, layer=layer, use_raw=use_raw)
    matrix, storage, note = matrix_for_rows(matrix, source)
    symbols, columns, duplicated, n_unnamed, symbol_source = symbol_columns(
        var, var_names, gene_symbols, source
    )
    detected_species = detect_species(symbols)
    species = settle_species(species, detected_species, symbols, source)
    kind, normalise, sample_note = kind_and_normalisation(
        matrix, storage, chunk_size, normalize, source
    )
    validate = storage in ("backed", "backed dense", "dask")
    record = {
        "matrix": source,
        "storage": storage,
        "shape": [int(matrix.shape[0]), int(matrix.shape[1])],
        "kind_detected": kind,
        "kind_detected_from": sample_note,
        "normalize": normalize,
        "normalisation": (
            f"log1p(count / cell total * {TARGET_SUM:g}) computed on the fly per chunk; "
            "stored matrix unchanged"
            if normalise
            else "none: values used as stored"
        ),
        "gene_symbols": symbol_source,
        "n_genes_used": int(columns.size),
        "duplicated_symbols": sorted(duplicated),
        "duplicates_resolution": (
            f"first column in var order kept for each symbol; "
            f"{sum(duplicated.values())} later column(s) ignored"
        ),
        "n_columns_without_symbol": int(n_unnamed),
        "species_detected": detected_species,
        "species": species,
        **({"note": note} if note else {}),
    }
    return ExpressionView(
        matrix=matrix,
        storage=storage,
        symbols=symbols,
        columns=columns,
        species=species,
        kind=kind,
        preparer=ChunkPreparer(source, kind, normalise, validate),
        chunk_size=int(chunk_size),
        record=record,
        n_jobs=n_jobs,
    )


def _check_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` as a thread count numba can run (-1: all; more than numba has: capped)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ScclastInputError(f"n_jobs={n_jobs!r}: give a number of threads, or -1 for all")
    available = numba.config.NUMBA_NUM_THREADS
    return available if n_jobs < 0 else min(int(n_jobs), available)


def _as_chunk_matrix(block: Any, source: str) -> sp.csr_matrix | np.ndarray:
    """A canonical CSR or a dense ndarray, with a numeric dtype numba understands."""
    if sp.issparse(block):
        matrix = block if block.format == "csr" else block.tocsr()
        if not matrix.has_canonical_format:
            matrix = matrix.copy()
            matrix.sum_duplicates()
        if matrix.dtype.kind == "b":
            matrix = matrix.astype(np.float32)
        return matrix
    array = np.asarray(block)
    if array.dtype.kind not in "biuf":
        raise ScclastInputError(f"{source} has non-numeric values (dtype {array.dtype})")
    return array.astype(np.float32) if array.dtype.kind == "b" else array


def _csr_row_view(matrix: sp.csr_matrix, start: int, stop: int) -> sp.csr_matrix:
    """Rows ``start:stop`` of an in-memory CSR sharing its data (no copy)."""
    first, last = matrix.indptr[start], matrix.indptr[stop]
    view = sp.csr_matrix(
        (
            matrix.data[first:last],
            matrix.indices[first:last],
            matrix.indptr[start : stop + 1] - first,
        ),
        shape=(stop - start, matrix.shape[1]),
        copy=False,
    )
    view.has_canonical_format = True
    return view


def _row_scale(matrix: sp.csr_matrix | np.ndarray) -> np.ndarray:
    """Per-row factor ``1e4 / total``; 0 for cells with zero counts (all-zero expression)."""
    if sp.issparse(matrix):
        totals = csr_row_sums(matrix.indptr, matrix.data)
    else:
        totals = np.asarray(matrix, dtype=np.float64).sum(axis=1)
    scale = np.zeros_like(totals)
    np.divide(TARGET_SUM, totals, out=scale, where=totals > 0)
    return scale


def _is_identity(columns: np.ndarray) -> bool:
    return bool(np.array_equal(columns, np.arange(columns.size)))


def _with_progress(items: list, progress: bool | None, desc: str) -> Iterable:
    if not _show_progress(progress, len(items)):
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="chunk")


def _show_progress(progress: bool | None, n_chunks: int) -> bool:
    """``None``: a bar for runs of 5+ chunks on a terminal, unless SCCLAST_NO_PROGRESS."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("SCCLAST_NO_PROGRESS"):
        return False
    return n_chunks >= 5 and sys.stderr.isatty()


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "TARGET_SUM",
    "ChunkPreparer",
    "ExpressionView",
    "RawChunk",
    "expression_view",
]
