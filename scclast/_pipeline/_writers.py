"""Writers of single output files: tables as TSV (gzipped reproducibly) and the h5ad.

Each writes one file and returns its path; the same input gives the same bytes (no
timestamps in gzip headers). :func:`h5ad_safe` turns the records scclast keeps in
``uns`` into values anndata can store.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import get
from scclast._keys import DEFAULT_KEY

if TYPE_CHECKING:
    from anndata import AnnData


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """A table as TSV (lists joined with ``;``, no index).

    Examples
    --------
    >>> import tempfile, os
    >>> p = write_table(pd.DataFrame({"group": ["a"], "drivers": [["Slit3", "Lif"]]}),
    ...                 os.path.join(tempfile.mkdtemp(), "groups.tsv"))
    >>> p.read_text().splitlines()[1]
    'a\\tSlit3;Lif'
    """
    path = Path(path)
    _flat(table).to_csv(path, sep="\t", index=False, lineterminator="\n")
    return path


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    flat = table.copy()
    for column in flat.columns:
        if flat[column].dtype == object:
            flat[column] = flat[column].map(_flat_text)
    return flat


def write_scores(adata: AnnData, path: str | Path, key_added: str = DEFAULT_KEY) -> Path:
    """Per-cell scores, calibrated z-scores, lineage state and flag as gzipped TSV.

    One row per cell (``cell`` = obs name); every ``obs`` column the analyses wrote
    under ``key_added`` (:func:`scclast.get.scores`). The gzip header carries no
    timestamp, so identical runs give identical files.

    Examples
    --------
    >>> import os, tempfile, scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False, key_added="run2")
    >>> path = write_scores(adata, os.path.join(tempfile.mkdtemp(), "s.tsv.gz"), "run2")
    >>> pd.read_csv(path, sep="\\t").columns[:3].tolist()
    ['cell', 'run2_clastokines_secreted', 'run2_clastokines_putative']
    """
    return write_tsv_gz(get.scores(adata, key_added).reset_index(), path)


FLOAT_FORMAT = "%.10g"
"""Numbers of the per-cell tables: ten significant digits (scores carry far fewer
meaningful ones), which writes 1,000,000 cells in about half the time of Python's
shortest round-trip repr."""


def write_tsv_gz(frame: pd.DataFrame, path: str | Path) -> Path:
    """A table as gzipped TSV without a name or time in the gzip header (same bytes each run).

    Lists are joined with ``;`` as in :func:`write_table`; no index is written; floats
    with :data:`FLOAT_FORMAT`. gzip level 1: several times faster than level 6 on
    per-cell tables, which are written once and read rarely.
    """
    path = Path(path)
    # no name and no time in the gzip header: identical runs give identical bytes
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as packed,
        io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
    ):
        _flat(frame).to_csv(
            text, sep="\t", index=False, lineterminator="\n", float_format=FLOAT_FORMAT
        )
    return path


def write_annotated(adata: AnnData, path: str | Path, key_added: str = DEFAULT_KEY) -> Path:
    """The input plus scores, states, flags and embedding, as h5ad.

    Values in ``uns[key_added]`` (and ``uns["scclast"]``) that h5ad cannot store
    (``None``, mixed lists, nested records) are converted first (``None`` becomes
    ``"None"``, records become JSON text); the caller's object is left as it was.

    Examples
    --------
    >>> import os, tempfile, anndata as ad, numpy as np
    >>> a = ad.AnnData(np.ones((3, 2), dtype=np.float32))
    >>> a.uns["scclast"] = {"flag": {"message": None}}
    >>> path = write_annotated(a, os.path.join(tempfile.mkdtemp(), "a.h5ad"))
    >>> ad.read_h5ad(path).uns["scclast"]["flag"]["message"], a.uns["scclast"]["flag"]["message"]
    ('None', None)
    """
    path = Path(path)
    originals = {
        key: adata.uns[key] for key in dict.fromkeys((DEFAULT_KEY, key_added)) if key in adata.uns
    }
    for key, value in originals.items():
        adata.uns[key] = h5ad_safe(value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            if getattr(adata, "isbacked", False):
                _write_backed(adata, path)
            else:
                adata.write_h5ad(path)
    finally:
        for key, value in originals.items():
            adata.uns[key] = value
    return path


def _write_backed(adata: AnnData, path: Path) -> None:
    """The backed input file copied byte for byte, with the analysed annotations.

    anndata would read each array of the on-disk matrix into memory to write it again;
    copying the file keeps memory flat (the matrix, layers and ``.raw`` are the input's,
    unchanged) and only the small annotation groups are rewritten.
    """
    import h5py

    try:
        from anndata.io import write_elem
    except ImportError:  # anndata < 0.11
        from anndata.experimental import write_elem

    shutil.copyfile(adata.filename, path)
    with h5py.File(path, "r+") as handle:
        for key, value in (
            ("obs", adata.obs),
            ("var", adata.var),
            ("obsm", dict(adata.obsm)),
            ("uns", dict(adata.uns)),
        ):
            if key in handle:
                del handle[key]
            write_elem(handle, key, value)


def h5ad_safe(value: Any) -> Any:
    """A copy of ``value`` that anndata can write to h5ad.

    Examples
    --------
    >>> h5ad_safe({"a": None, "b": [1, "x"], "c": [{"k": 1}], "d": (1, 2)})
    {'a': 'None', 'b': ['1', 'x'], 'c': '[{"k": 1}]', 'd': [1, 2]}
    """
    if value is None:
        return "None"
    if isinstance(value, Mapping):
        return {str(k): h5ad_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return _safe_frame(value)
    if isinstance(value, (str, bool, int, float, np.generic, np.ndarray)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            return np.array([], dtype=str)
        if all(isinstance(v, (bool, np.bool_)) for v in items):
            return list(items)
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items):
            return list(items)
        if all(isinstance(v, str) for v in items):
            return list(items)
        if any(isinstance(v, (Mapping, list, tuple)) for v in items):
            return json.dumps(items, default=str)
        return [str(v) for v in items]
    return str(value)


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(_flat_text)
    out.columns = [str(c) for c in out.columns]
    out.index = out.index.astype(str)
    return out


def _flat_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return ";".join(map(str, value))
    return str(value)


__all__ = ["h5ad_safe", "write_annotated", "write_scores", "write_table", "write_tsv_gz"]
