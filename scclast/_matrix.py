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
``dask.distributed`` cluster computes them.

Conventions
-----------
* Raw counts are normalised on the fly as ``log1p(x / total * 1e4)`` with ``total``
  the cell's count over *all* columns of the chosen matrix. A cell with zero counts
  has all-zero expression (it is not dropped and does not divide by zero).
* Duplicated symbols: the first column carrying a symbol (in ``var`` order) is used,
  later ones are ignored and listed in :attr:`ExpressionView.record`. Columns without a
  symbol (empty or missing) are ignored too. Ignored columns still count in a cell's
  total for the normalisation.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._errors import ScclastInputError

log = logging.getLogger("scclast")

TARGET_SUM = 1e4
"""Counts are scaled to this total per cell before ``log1p`` (as Seurat and scanpy do)."""

DEFAULT_CHUNK_SIZE = 10_000
"""Rows per chunk for in-memory and backed matrices."""

DENSE_CHUNK_ELEMENTS = 1 << 23
"""Dense chunks are cut so that one float64 copy stays under 64 MiB."""

SYMBOL_COLUMNS = (
    "gene_symbols",
    "gene_symbol",
    "feature_name",
    "gene_name",
    "gene_names",
    "symbol",
    "symbols",
    "features",
)
"""``var`` columns searched, in order, for symbols when ``var_names`` are Ensembl IDs."""

NORMALIZE_OPTIONS = ("auto", "counts", "log", "none")
SPECIES_OPTIONS = ("auto", "mouse", "human")
KINDS = ("counts", "log", "scaled")

_ENSEMBL = re.compile(r"^ENS[A-Z]{0,6}[GT]\d{6,}(\.\d+)?$")
_NOT_LETTER = re.compile(r"[^A-Za-z]")


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class _ChunkPreparer:
    """Turns a block of stored rows into a :class:`_RawChunk` (picklable for dask)."""

    source: str
    kind: str
    normalise: bool
    validate: bool

    def __call__(self, block: Any, start: int) -> _RawChunk:
        matrix = _as_chunk_matrix(block, self.source)
        rows = slice(start, start + matrix.shape[0])
        if self.validate:
            _check_chunk_values(matrix, rows, self.source, self.kind, self.normalise)
        scale = _row_scale(matrix) if self.normalise else None
        return _RawChunk(rows=rows, matrix=matrix, scale=scale)


@dataclass
class _RawChunk:
    """Stored rows (all columns) plus the per-row factor of the normalisation.

    ``scale`` is ``None`` when values are used as stored; otherwise expression is
    ``log1p(matrix * scale[:, None])``.
    """

    rows: slice
    matrix: sp.csr_matrix | np.ndarray
    scale: np.ndarray | None

    @property
    def is_sparse(self) -> bool:
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
        preparer: _ChunkPreparer,
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
        for chunk in self._iter_raw(progress):
            yield chunk.rows, chunk.normalised(self.columns)

    # -- internal chunk machinery (shared by gene_moments, matmul and scoring) -----------

    def _iter_raw(self, progress: bool | None = False) -> Iterator[_RawChunk]:
        """Yield stored rows (all columns) with their normalisation factors."""
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

    def _map_rows(
        self,
        func: Callable[[_RawChunk, bool], np.ndarray],
        n_out: int,
        progress: bool | None = False,
    ) -> np.ndarray:
        """Stack ``func(chunk, parallel)`` (rows x n_out) over all row chunks."""
        if self.is_dask:
            blocks = self._dask_blocks(partial(_apply_to_block, self._preparer, func), n_out)
            return np.asarray(blocks.compute(), dtype=np.float64)
        out = np.empty((self.n_obs, n_out), dtype=np.float64)
        with _numba_threads(self.n_jobs) as parallel:
            for chunk in self._iter_raw(progress):
                out[chunk.rows] = func(chunk, parallel)
        return out

    def _reduce_rows(
        self,
        func: Callable[[_RawChunk, bool], np.ndarray],
        n_out: int,
        progress: bool | None = False,
    ) -> np.ndarray:
        """Sum of ``func(chunk, parallel)`` (a 1-D array of n_out) over all row chunks."""
        if self.is_dask:
            blocks = self._dask_blocks(
                partial(_apply_to_block, self._preparer, func, reduce=True), n_out, reduce=True
            )
            return np.asarray(blocks.sum(axis=0).compute(), dtype=np.float64)
        total = np.zeros(n_out, dtype=np.float64)
        with _numba_threads(self.n_jobs) as parallel:
            for chunk in self._iter_raw(progress):
                total += func(chunk, parallel)
        return total

    def _dask_blocks(self, apply: Callable[..., np.ndarray], n_out: int, reduce: bool = False):
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
    preparer: _ChunkPreparer,
    func: Callable[[_RawChunk, bool], np.ndarray],
    block: Any,
    block_info: dict | None = None,
    reduce: bool = False,
) -> np.ndarray:
    """Run ``func`` on one dask block (serial numba kernels: dask already runs in parallel)."""
    start = 0 if not block_info else int(block_info[0]["array-location"][0][0])
    result = func(preparer(block, start), False)
    return result[None, :] if reduce else result


# --------------------------------------------------------------------------- construction


def expression_view(
    adata: Any,
    *,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    normalize: str = "auto",
    species: str = "auto",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_jobs: int = 1,
) -> ExpressionView:
    """Build the :class:`ExpressionView` of an AnnData.

    Parameters
    ----------
    adata
        In-memory, backed (``backed="r"``) or dask-backed AnnData.
    layer
        Use ``adata.layers[layer]`` instead of ``X``.
    use_raw
        Use ``adata.raw.X`` (and ``adata.raw.var`` for symbols).
    gene_symbols
        ``var`` column holding gene symbols. ``None``: ``var_names``, unless they look
        like Ensembl IDs, in which case the first of :data:`SYMBOL_COLUMNS` present is
        used. ``"var_names"`` forces ``var_names``.
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
    _check_choice("normalize", normalize, NORMALIZE_OPTIONS)
    _check_choice("species", species, SPECIES_OPTIONS)
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ScclastInputError(f"chunk_size={chunk_size!r}: give a positive number of rows")
    n_jobs = _check_n_jobs(n_jobs)
    matrix, var, var_names, source = _select_matrix(adata, layer=layer, use_raw=use_raw)
    matrix, storage, note = _matrix_for_rows(matrix, source)
    symbols, columns, duplicated, n_unnamed, symbol_source = _symbol_columns(
        var, var_names, gene_symbols, source
    )
    detected_species = detect_species(symbols)
    species = _settle_species(species, detected_species, symbols, source)
    kind, normalise, sample_note = _kind_and_normalisation(
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
        preparer=_ChunkPreparer(source, kind, normalise, validate),
        chunk_size=int(chunk_size),
        record=record,
        n_jobs=n_jobs,
    )


def _check_n_jobs(n_jobs: int) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ScclastInputError(f"n_jobs={n_jobs!r}: give a number of threads, or -1 for all")
    available = numba.config.NUMBA_NUM_THREADS
    return available if n_jobs < 0 else min(int(n_jobs), available)


def _matrix_for_rows(matrix: Any, source: str) -> tuple[Any, str, str]:
    """The matrix ready for row chunks, its storage kind and a note on any copy made."""
    storage = _storage_of(matrix, source)
    _check_shape_and_dtype(matrix, source)
    matrix, note = _in_memory_for_rows(matrix, storage)
    if storage == "backed" and matrix.format == "csc":
        log.warning(
            "%s is a backed CSC matrix: every row chunk reads most of the file; "
            "store it as CSR (adata.X = adata.X.tocsr()) for fast, bounded-memory scoring",
            source,
        )
    return matrix, "csr" if storage == "csc" else storage, note


def _symbol_columns(
    var: pd.DataFrame, var_names: pd.Index, gene_symbols: str | None, source: str
) -> tuple[np.ndarray, np.ndarray, dict[str, int], int, str]:
    """Unique symbols, their stored columns, duplicates, unnamed count, symbol source."""
    symbol_per_column, symbol_source = _resolve_symbols(var, var_names, gene_symbols, source)
    columns, duplicated, n_unnamed = _unique_symbol_columns(symbol_per_column)
    if columns.size == 0:
        raise ScclastInputError(
            f"{source}: no column has a gene symbol in {symbol_source}; "
            "pass gene_symbols='COLUMN' naming a var column of symbols"
        )
    if duplicated:
        log.info(
            "%d duplicated symbol(s) in %s (e.g. %s): kept the first column of each",
            len(duplicated),
            symbol_source,
            ", ".join(sorted(duplicated)[:3]),
        )
    symbols = np.asarray(symbol_per_column[columns], dtype=object)
    return symbols, columns, duplicated, n_unnamed, symbol_source


def _kind_and_normalisation(
    matrix: Any, storage: str, chunk_size: int, normalize: str, source: str
) -> tuple[str, bool, str]:
    """Detected kind, whether to normalise on the fly, and which values were looked at."""
    sample, sample_note = _value_sample(matrix, storage, chunk_size)
    kind = detect_kind(sample, source)
    normalise = normalize == "counts" or (normalize == "auto" and kind == "counts")
    if normalise and kind == "scaled":
        raise ScclastInputError(
            f"{source} has negative values (scaled data), so it cannot be normalised as "
            "counts: use normalize='auto' or choose raw counts with use_raw=True or layer="
        )
    return kind, normalise, sample_note


def _check_choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ScclastInputError(f"{name}={value!r} is not one of {', '.join(allowed)}")


def _select_matrix(adata: Any, *, layer: str | None, use_raw: bool) -> tuple[Any, Any, Any, str]:
    """The chosen matrix, its var table, var_names and a label for messages."""
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


def _storage_of(matrix: Any, source: str) -> str:
    """``dense``, ``csr``, ``csc``, ``backed``, ``backed dense`` or ``dask``."""
    if _is_dask_array(matrix):
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


def _is_dask_array(matrix: Any) -> bool:
    if "dask.array" not in sys.modules:
        return False
    import dask.array as da

    return isinstance(matrix, da.Array)


def _check_shape_and_dtype(matrix: Any, source: str) -> None:
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


# --------------------------------------------------------------------------- symbols


def _resolve_symbols(
    var: pd.DataFrame, var_names: pd.Index, gene_symbols: str | None, source: str
) -> tuple[np.ndarray, str]:
    """One symbol (or ``None``) per stored column, and where the symbols came from."""
    if gene_symbols == "var_names":
        return _clean_symbols(var_names), "var_names"
    if gene_symbols is not None:
        if gene_symbols not in var.columns:
            available = ", ".join(map(repr, var.columns)) or "none"
            raise ScclastInputError(
                f"gene_symbols={gene_symbols!r} is not a var column of {source}; "
                f"available: {available}"
            )
        return _clean_symbols(var[gene_symbols]), f"var[{gene_symbols!r}]"
    names = np.asarray(var_names, dtype=str)
    if not _look_like_ensembl(names):
        return _clean_symbols(var_names), "var_names"
    for column in SYMBOL_COLUMNS:
        if column in var.columns:
            values = _clean_symbols(var[column])
            present = np.asarray([v for v in values[:2000] if v is not None], dtype=str)
            if present.size and not _look_like_ensembl(present):
                return values, f"var[{column!r}]"
    raise ScclastInputError(
        f"var_names of {source} look like Ensembl IDs (e.g. {names[0]}) and no symbol column "
        f"was found (looked for {', '.join(SYMBOL_COLUMNS)}): pass gene_symbols='COLUMN'"
    )


def _look_like_ensembl(names: np.ndarray) -> bool:
    sample = names[: min(names.size, 2000)]
    if not any(str(n).startswith("ENS") for n in sample):
        return False
    hits = sum(bool(_ENSEMBL.match(str(n))) for n in sample)
    return hits > 0.5 * sample.size


def _clean_symbols(values: Iterable[Any]) -> np.ndarray:
    """Symbols as stripped strings, ``None`` where missing or empty."""
    raw = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(raw, skipna=False) == "string":  # the usual case: all str
        missing = np.zeros(raw.size, dtype=bool)
        cleaned = np.asarray([text.strip() for text in raw], dtype=object)
    else:
        series = pd.Series(raw)
        missing = series.isna().to_numpy()
        cleaned = np.asarray([text.strip() for text in series.astype(str)], dtype=object)
    missing |= np.isin(cleaned, ["", "nan", "NaN", "NAN", "None", "none", "<NA>"])
    cleaned[missing] = None
    return cleaned


def _unique_symbol_columns(symbols: np.ndarray) -> tuple[np.ndarray, dict[str, int], int]:
    """First column of each symbol; ``{symbol: n ignored columns}``; n unnamed columns."""
    named = ~pd.isna(symbols)
    index = pd.Index(symbols[named])
    later = index.duplicated(keep="first")
    columns = np.flatnonzero(named)[~later]
    duplicated = pd.Series(index[later]).value_counts(sort=False).to_dict() if later.any() else {}
    return (
        columns.astype(np.intp),
        {str(k): int(v) for k, v in duplicated.items()},
        int((~named).sum()),
    )


def detect_species(symbols: Iterable[str]) -> str:
    """``"mouse"``, ``"human"`` or ``"unknown"`` from the letter case of gene symbols.

    Mouse symbols are capitalised (``Acp5``, ``mt-Co1``), human ones upper case (``ACP5``).
    A species is called when at least 80% of the symbols with two or more letters
    (Ensembl IDs ignored) agree.

    Examples
    --------
    >>> detect_species(["Acp5", "Ctsk", "mt-Co1"]), detect_species(["ACP5", "CTSK"])
    ('mouse', 'human')
    >>> detect_species(["g1", "g2"])
    'unknown'
    """
    symbols = list(symbols)
    if len(symbols) > 2000:  # a majority vote: an even sample of 2000 symbols is plenty
        symbols = [symbols[i] for i in np.linspace(0, len(symbols) - 1, 2000).astype(int)]
    upper = capitalised = 0
    for symbol in symbols:
        text = str(symbol)
        if _ENSEMBL.match(text):
            continue
        letters = _NOT_LETTER.sub("", text)
        if len(letters) < 2:
            continue
        if letters.isupper():
            upper += 1
        elif any(c.islower() for c in letters[1:]):
            capitalised += 1
    total = upper + capitalised
    if total == 0:
        return "unknown"
    if upper >= 0.8 * total:
        return "human"
    if capitalised >= 0.8 * total:
        return "mouse"
    return "unknown"


def _settle_species(requested: str, detected: str, symbols: np.ndarray, source: str) -> str:
    if requested == "auto":
        return detected
    if detected not in ("unknown", requested):
        examples = ", ".join(map(str, symbols[:3]))
        raise ScclastInputError(
            f"species={requested!r} (--species) but the gene symbols of {source} look "
            f"{detected} (e.g. {examples}): pass species={detected!r} or 'auto'"
        )
    return requested


# --------------------------------------------------------------------------- kind of values


def detect_kind(values: np.ndarray, source: str = "X") -> str:
    """``"scaled"`` (negative values), ``"counts"`` (all integers) or ``"log"``.

    Raises :class:`ScclastInputError` on NaN or infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> detect_kind(np.array([0.0, 3.0, 12.0])), detect_kind(np.array([0.0, 0.69]))
    ('counts', 'log')
    >>> detect_kind(np.array([-0.4, 1.2]))
    'scaled'
    """
    values = np.asarray(values).ravel()
    if values.size == 0:
        return "counts"
    if values.dtype.kind in "biu":
        return "scaled" if values.min() < 0 else "counts"
    low, high = float(values.min()), float(values.max())  # NaN and inf show up here
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ScclastInputError(
            f"{source} contains NaN or infinite values: replace them (e.g. np.nan_to_num) "
            "or choose another matrix with layer= or use_raw=True"
        )
    if low < 0:
        return "scaled"
    if _all_integers(values[:100_000]) and _all_integers(values):  # a non-integer early
        return "counts"
    if high > 50:
        log.warning(
            "%s has non-integer values up to %.1f: it looks normalised but not "
            "log-transformed; scores use it as stored",
            source,
            high,
        )
    return "log"


@numba.njit(cache=True, nogil=True)
def _all_integers(values: np.ndarray) -> bool:  # pragma: no cover
    """Whether every (finite) value is a whole number; stops at the first that is not."""
    for v in values:
        if v != np.floor(v):
            return False
    return True


def _value_sample(matrix: Any, storage: str, chunk_size: int) -> tuple[np.ndarray, str]:
    """Stored values used to detect the kind: all of them in memory, else leading rows."""
    if storage in ("csr", "csc"):
        return matrix.data, "all values"
    if storage == "dense":
        return matrix.ravel(), "all values"
    n_obs = int(matrix.shape[0])
    start = 0
    step = max(1, min(chunk_size, 2000))
    while start < n_obs:
        stop = min(start + step, n_obs)
        block = matrix[start:stop]
        block = block.compute() if storage == "dask" else block
        values = block.data if sp.issparse(block) else np.asarray(block).ravel()
        if np.count_nonzero(values) or stop == n_obs:
            return values, f"rows 0-{stop} (first rows with non-zero values)"
        start, step = stop, step * 2
    return np.zeros(0), "no rows"


def _check_chunk_values(
    matrix: sp.csr_matrix | np.ndarray, rows: slice, source: str, kind: str, normalise: bool
) -> None:
    """Chunk-wise checks for matrices whose values were not all seen up front."""
    values = matrix.data if sp.issparse(matrix) else matrix
    if values.size == 0:
        return
    where = f"{source} rows {rows.start}-{rows.stop}"
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ScclastInputError(
            f"{where} contain NaN or infinite values: replace them (e.g. np.nan_to_num) "
            "or choose another matrix with layer= or use_raw=True"
        )
    if kind != "scaled" and values.min() < 0:
        raise ScclastInputError(
            f"{where} contain negative values although the first rows looked like {kind}: "
            "scaled data cannot be scored by rank or as counts; use use_raw=True or a layer"
        )
    if normalise and kind == "counts" and not np.all(values == np.rint(values)):
        raise ScclastInputError(
            f"{where} contain non-integer values although the first rows looked like raw "
            "counts: pass normalize='log' (already normalised) or normalize='counts'"
        )


# --------------------------------------------------------------------------- chunk helpers


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
        totals = _csr_row_sums(matrix.indptr, matrix.data)
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


# --------------------------------------------------------------------------- numba kernels


@numba.njit(cache=True, nogil=True)
def _csr_row_sums(indptr: np.ndarray, data: np.ndarray) -> np.ndarray:  # pragma: no cover
    n_rows = indptr.size - 1
    totals = np.zeros(n_rows)
    for i in range(n_rows):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p]
        totals[i] = acc
    return totals


@numba.njit(cache=True, nogil=True)
def _csr_times_w_rows(
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
def _csr_times_w_parallel(
    indptr, indices, data, scale, w_indptr, w_cols, w_vals, out, n_parts
):  # pragma: no cover
    n_rows = indptr.size - 1
    for part in numba.prange(n_parts):
        lo = part * n_rows // n_parts
        hi = (part + 1) * n_rows // n_parts
        _csr_times_w_rows(lo, hi, indptr, indices, data, scale, w_indptr, w_cols, w_vals, out)


@numba.njit(cache=True, nogil=True)
def _csr_times_packed_rows(
    lo, hi, indptr, indices, data, packed, table, more_start, more_count, w_cols, w_vals, out
):  # pragma: no cover
    """``out[i] = x[i] @ W`` for rows lo..hi, values as stored, without a branch per value.

    ``packed[g]`` holds gene g's first two (column, weight code) pairs in 16-bit fields
    (column ``k`` is a sink for genes without weight; ``table`` maps codes to weights),
    so each stored value costs one small lookup and no data-dependent branch; further
    weights of a gene are read from CSR. Sums run in the same order as in
    ``_csr_times_w_rows``, so both give the same numbers.
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
def _csr_times_packed_parallel(
    indptr, indices, data, packed, table, more_start, more_count, w_cols, w_vals, out, parts
):  # pragma: no cover
    n_rows = indptr.size - 1
    for part in numba.prange(parts):
        _csr_times_packed_rows(
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
def _csr_moments_rows(lo, hi, indptr, indices, data, scale, sums, squares):  # pragma: no cover
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
def _stored_moments(lo, hi, indices, data, sums, squares):  # pragma: no cover
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
def _csr_moments_parallel(
    indptr, indices, data, scale, n_cols, n_parts, with_squares
):  # pragma: no cover
    n_rows = indptr.size - 1
    n_stored = indices.size
    sums = np.zeros((n_parts, n_cols))
    squares = np.zeros((n_parts, n_cols if with_squares else 0))
    for part in numba.prange(n_parts):
        if scale.size > 0:
            lo = part * n_rows // n_parts
            hi = (part + 1) * n_rows // n_parts
            _csr_moments_rows(lo, hi, indptr, indices, data, scale, sums[part], squares[part])
        else:
            lo = indptr[0] + part * n_stored // n_parts
            hi = indptr[0] + (part + 1) * n_stored // n_parts
            _stored_moments(lo, hi, indices, data, sums[part], squares[part])
    return sums.sum(axis=0), squares.sum(axis=0)


PARALLEL_MIN_NNZ = 200_000
"""Chunks with fewer stored values run the serial kernels (thread start-up costs more)."""


@contextlib.contextmanager
def _numba_threads(n_jobs: int) -> Iterator[bool]:
    """Run numba's threaded kernels on ``n_jobs`` threads inside; yields whether to."""
    if n_jobs <= 1:
        yield False
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(n_jobs)
    try:
        yield True
    finally:
        numba.set_num_threads(previous)


def _use_threads(parallel: bool, matrix: sp.csr_matrix) -> bool:
    return parallel and matrix.nnz >= PARALLEL_MIN_NNZ and numba.get_num_threads() > 1


def _n_parts(n_rows: int) -> int:
    return max(1, min(n_rows, 4 * numba.get_num_threads()))


def _scale_or_empty(chunk: _RawChunk) -> np.ndarray:
    return chunk.scale if chunk.scale is not None else np.empty(0, dtype=np.float64)


# --------------------------------------------------------------------------- moments, matmul


def gene_moments(view: ExpressionView, progress: bool | None = False) -> tuple[np.ndarray, ...]:
    """Mean and variance (ddof=1, as scanpy) of normalised expression per used gene.

    One pass over the data; float64 accumulation.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[0.5, 1.0], [1.5, 1.0]], dtype=np.float32))
    >>> mean, var = gene_moments(expression_view(a))
    >>> mean.tolist(), var.tolist()
    ([1.0, 1.0], [0.5, 0.0])
    """
    n_cols = view.n_stored_columns
    func = partial(_chunk_moments, n_cols=n_cols, with_squares=True)
    totals = view._reduce_rows(func, 2 * n_cols, progress)
    n = view.n_obs
    sums, squares = totals[:n_cols][view.columns], totals[n_cols:][view.columns]
    mean = sums / n
    if n < 2:
        return mean, np.zeros_like(mean)
    var = np.maximum(squares - n * mean * mean, 0.0) / (n - 1)
    return mean, var


def gene_means(view: ExpressionView, progress: bool | None = False) -> np.ndarray:
    """Mean of normalised expression per used gene (one pass; cheaper than moments).

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[0.5, 1.0], [1.5, 1.0]], dtype=np.float32))
    >>> gene_means(expression_view(a)).tolist()
    [1.0, 1.0]
    """
    n_cols = view.n_stored_columns
    func = partial(_chunk_moments, n_cols=n_cols, with_squares=False)
    return view._reduce_rows(func, n_cols, progress)[view.columns] / view.n_obs


def _chunk_moments(chunk: _RawChunk, parallel: bool, n_cols: int, with_squares: bool) -> np.ndarray:
    """Per-column sums (and sums of squares, concatenated) of one chunk."""
    matrix = chunk.matrix
    if not chunk.is_sparse:
        x = chunk.normalised()
        return np.concatenate([x.sum(axis=0), (x * x).sum(axis=0)]) if with_squares else x.sum(0)
    scale = _scale_or_empty(chunk)
    if _use_threads(parallel, matrix):
        n_parts = min(_n_parts(matrix.shape[0]), numba.get_num_threads())
        sums, squares = _csr_moments_parallel(
            matrix.indptr, matrix.indices, matrix.data, scale, n_cols, n_parts, with_squares
        )
    else:
        sums, squares = np.zeros(n_cols), np.zeros(n_cols if with_squares else 0)
        if scale.size:
            _csr_moments_rows(
                0, matrix.shape[0], matrix.indptr, matrix.indices, matrix.data, scale, sums, squares
            )
        else:
            first, last = matrix.indptr[0], matrix.indptr[-1]
            _stored_moments(first, last, matrix.indices, matrix.data, sums, squares)
    return np.concatenate([sums, squares]) if with_squares else sums


def matmul(
    view: ExpressionView, weights: np.ndarray | sp.spmatrix, progress: bool | None = False
) -> np.ndarray:
    """Normalised ``X @ W`` (n_obs x k), computed chunk by chunk in one pass.

    Parameters
    ----------
    view
        The expression view.
    weights
        ``W``, dense or sparse, with one row per used gene (``view.n_vars`` rows).

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[0.5, 1.0], [1.5, 0.0]], dtype=np.float32))
    >>> matmul(expression_view(a), np.array([[1.0], [-1.0]])).ravel().tolist()
    [-0.5, 1.5]
    """
    weights_csr = sp.csr_matrix(weights, dtype=np.float64)
    if weights_csr.shape[0] != view.n_vars:
        raise ValueError(f"W has {weights_csr.shape[0]} rows; the view has {view.n_vars} genes")
    stored = _StoredWeights.build(weights_csr, view.columns, view.n_stored_columns)
    func = partial(_chunk_times_w, weights=stored)
    return view._map_rows(func, weights_csr.shape[1], progress)


@dataclass(frozen=True)
class _StoredWeights:
    """``W`` re-indexed to all stored columns: CSR, plus the packed two-slot layout.

    The packed layout needs fewer than 65535 distinct weights and columns (scoring has
    two weights per set) and pays off when at least 10% of the genes carry a weight;
    otherwise the CSR kernel skips the unweighted genes.
    """

    csr: sp.csr_matrix
    packed: np.ndarray
    table: np.ndarray
    more_start: np.ndarray
    more_count: np.ndarray

    @property
    def branch_free(self) -> bool:
        return self.packed.size > 0

    @classmethod
    def build(cls, weights: sp.csr_matrix, columns: np.ndarray, n_stored: int) -> _StoredWeights:
        coo = weights.tocoo()
        csr = sp.csr_matrix(
            (coo.data, (columns[coo.row], coo.col)), shape=(n_stored, weights.shape[1])
        )
        csr.sum_duplicates()
        counts = np.diff(csr.indptr)
        values, codes = np.unique(csr.data, return_inverse=True)
        limit = 0xFFFF - 1
        if values.size > limit or csr.shape[1] > limit or np.count_nonzero(counts) < 0.1 * n_stored:
            empty = np.zeros(0, dtype=np.int64)
            return cls(csr, empty, np.zeros(0), empty, empty.astype(np.int32))
        starts = csr.indptr[:-1].astype(np.int64)
        fields = np.zeros(n_stored, dtype=np.int64)
        for slot in (0, 1):
            column = np.full(n_stored, csr.shape[1], dtype=np.int64)  # the sink
            code = np.full(n_stored, values.size, dtype=np.int64)  # weight 0
            has = counts > slot
            column[has] = csr.indices[starts[has] + slot]
            code[has] = codes[starts[has] + slot]
            fields |= (column | (code << 16)) << (32 * slot)
        return cls(
            csr=csr,
            packed=fields,
            table=np.append(values, 0.0),
            more_start=starts + np.minimum(counts, 2),
            more_count=np.maximum(counts - 2, 0).astype(np.int32),
        )


def _chunk_times_w(chunk: _RawChunk, parallel: bool, weights: _StoredWeights) -> np.ndarray:
    matrix = chunk.matrix
    w = weights.csr
    if not chunk.is_sparse:
        return np.asarray(chunk.normalised() @ w.toarray())
    out = np.zeros((matrix.shape[0], w.shape[1]))
    threads = _use_threads(parallel, matrix)
    if weights.branch_free and chunk.scale is None:
        args = (
            matrix.indptr,
            matrix.indices,
            matrix.data,
            weights.packed,
            weights.table,
            weights.more_start,
            weights.more_count,
            w.indices,
            w.data,
            out,
        )
        if threads:
            _csr_times_packed_parallel(*args, _n_parts(matrix.shape[0]))
        else:
            _csr_times_packed_rows(0, matrix.shape[0], *args)
        return out
    args = (
        matrix.indptr,
        matrix.indices,
        matrix.data,
        _scale_or_empty(chunk),
        w.indptr,
        w.indices,
        w.data,
        out,
    )
    if threads:
        _csr_times_w_parallel(*args, _n_parts(matrix.shape[0]))
    else:
        _csr_times_w_rows(0, matrix.shape[0], *args)
    return out


def normalised_anndata(view: ExpressionView, obs_names: Iterable[str] | None = None) -> Any:
    """An in-memory AnnData of the view's normalised expression (used genes only).

    Counts are log-normalised (``log1p`` of total-count 1e4) by
    :mod:`scclast._matrix`; log-normalised data are used as stored.

    Examples
    --------
    >>> import anndata as ad, numpy as np
        >>> a = ad.AnnData(np.array([[1.0, 3.0], [0.0, 2.0]], dtype=np.float32))
    >>> a.var_names = ["Acp5", "Ctsk"]
    >>> normalised_anndata(expression_view(a)).X.toarray().round(2).tolist()
    [[7.82, 8.92], [0.0, 9.21]]
    """
    import anndata as ad

    blocks = [sp.csr_matrix(chunk) for _, chunk in view.iter_chunks()]
    matrix = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0))
    matrix.eliminate_zeros()
    obs = pd.DataFrame(
        index=pd.Index([str(o) for o in obs_names])
        if obs_names is not None
        else pd.RangeIndex(view.n_obs).astype(str)
    )
    var = pd.DataFrame(index=pd.Index([str(s) for s in view.symbols]))
    out = ad.AnnData(X=matrix, obs=obs, var=var)
    out.uns["log1p"] = {"base": None}
    return out


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "TARGET_SUM",
    "ExpressionView",
    "detect_kind",
    "detect_species",
    "expression_view",
    "gene_means",
    "gene_moments",
    "matmul",
    "normalised_anndata",
]
