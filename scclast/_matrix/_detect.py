"""Gene symbols, species and kind of values of the chosen matrix.

* Symbols: one per stored column, from ``var_names`` or a ``var`` column
  (:data:`SYMBOL_COLUMNS` are searched when ``var_names`` are Ensembl IDs). The first
  column carrying a symbol (in ``var`` order) is used; later duplicates and columns
  without a symbol are ignored and recorded.
* Species: from the symbols' letter case (:func:`detect_species`).
* Kind: ``counts``, ``log`` or ``scaled`` (:func:`detect_kind`), from all values in
  memory or from the first rows with non-zero values of backed and dask matrices,
  whose later chunks are checked as they are read (:func:`check_chunk_values`).

Examples
--------
>>> detect_species(["Acp5", "Ctsk"]), detect_kind(np.array([0.0, 3.0]))
('mouse', 'counts')
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._errors import ScclastInputError
from scclast._kernels import all_integers
from scclast._warnings import DataWarning, warn

log = logging.getLogger("scclast")

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

_ENSEMBL = re.compile(r"^ENS[A-Z]{0,6}[GT]\d{6,}(\.\d+)?$")
_NOT_LETTER = re.compile(r"[^A-Za-z]")


def symbol_columns(
    var: pd.DataFrame, var_names: pd.Index, gene_symbols: str | None, source: str
) -> tuple[np.ndarray, np.ndarray, dict[str, int], int, str]:
    """Unique symbols, their stored columns, duplicates, unnamed count, symbol source.

    Examples
    --------
    >>> names = pd.Index(["Acp5", "Ctsk", "Acp5", ""])
    >>> symbols, columns, duplicated, n_unnamed, where = symbol_columns(
    ...     pd.DataFrame(index=names), names, None, "X"
    ... )
    >>> list(symbols), columns.tolist(), duplicated, n_unnamed, where
    (['Acp5', 'Ctsk'], [0, 1], {'Acp5': 1}, 1, 'var_names')
    """
    symbol_per_column, symbol_source = _resolve_symbols(var, var_names, gene_symbols, source)
    columns, duplicated, n_unnamed = _unique_symbol_columns(symbol_per_column)
    if columns.size == 0:
        raise ScclastInputError(
            f"{source}: no column has a gene symbol in {symbol_source}; "
            "pass gene_symbols='COLUMN' naming a var column of symbols"
        )
    if duplicated:
        # a DataWarning, attributed to this line: shown once however many steps read the
        # matrix (the CLI and the run report print each scclast warning once)
        warn(
            f"{len(duplicated)} duplicated gene symbol(s) in {symbol_source} (e.g. "
            f"{', '.join(sorted(duplicated)[:3])}): the first column of each is used",
            DataWarning,
            stacklevel=1,
        )
    symbols = np.asarray(symbol_per_column[columns], dtype=object)
    return symbols, columns, duplicated, n_unnamed, symbol_source


def kind_and_normalisation(
    matrix: Any, storage: str, chunk_size: int, normalize: str, source: str
) -> tuple[str, bool, str]:
    """Detected kind, whether to normalise on the fly, and which values were looked at.

    Examples
    --------
    >>> kind_and_normalisation(np.array([[0.0, 2.0]]), "dense", 100, "auto", "X")
    ('counts', True, 'all values')
    """
    sample, sample_note = _value_sample(matrix, storage, chunk_size)
    if sample.size == 0 or not np.count_nonzero(sample):
        # every stored value was seen (in memory) or every row was read (backed, dask)
        raise ScclastInputError(
            f"{source} holds only zeros: there is no expression to score; check that the "
            "file holds the data (counts may be in a layer or in .raw: layer= / use_raw=, "
            "--layer / --use-raw)"
        )
    kind = detect_kind(sample, source)
    normalise = normalize == "counts" or (normalize == "auto" and kind == "counts")
    if normalise and kind == "scaled":
        raise ScclastInputError(
            f"{source} has negative values (scaled data), so it cannot be normalised as "
            "counts: use normalize='auto' or choose raw counts with use_raw=True or layer="
        )
    return kind, normalise, sample_note


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


def settle_species(requested: str, detected: str, symbols: np.ndarray, source: str) -> str:
    """The species to use: the detected one for ``"auto"``, else the requested one if the
    symbols do not contradict it.

    Examples
    --------
    >>> settle_species("auto", "mouse", np.array(["Acp5"]), "X")
    'mouse'
    >>> settle_species("human", "mouse", np.array(["Acp5"]), "X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: species='human' (--species) but ... look mouse ...
    """
    if requested == "auto":
        return detected
    if detected not in ("unknown", requested):
        examples = ", ".join(map(str, symbols[:3]))
        raise ScclastInputError(
            f"species={requested!r} (--species) but the gene symbols of {source} look "
            f"{detected} (e.g. {examples}): pass species={detected!r} or 'auto'"
        )
    return requested


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
    if all_integers(values[:100_000]) and all_integers(values):  # a non-integer early
        return "counts"
    if high > 50:
        log.warning(
            "%s has non-integer values up to %.1f: it looks normalised but not "
            "log-transformed; scores use it as stored",
            source,
            high,
        )
    return "log"


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


def check_chunk_values(
    matrix: sp.csr_matrix | np.ndarray, rows: slice, source: str, kind: str, normalise: bool
) -> None:
    """Chunk-wise checks for matrices whose values were not all seen up front.

    Examples
    --------
    >>> negative = np.array([[1.0, -2.0]])
    >>> check_chunk_values(negative, slice(0, 1), "X", "counts", True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: X rows 0-1 contain negative values although ...
    """
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


__all__ = [
    "SYMBOL_COLUMNS",
    "check_chunk_values",
    "detect_kind",
    "detect_species",
    "kind_and_normalisation",
    "settle_species",
    "symbol_columns",
]
