"""Reading a bulk time course: HOMER or plain count tables, GEO series matrices, h5ad.

:func:`read_bulk` tells the format from the file:

* ``.h5ad``: samples (or pseudobulks) x genes, read as is; time and donor are ``obs``
  columns.
* a GEO **series matrix** (``GSExxx_series_matrix.txt[.gz]``, lines starting with
  ``!Series_``): the table between ``!series_matrix_table_begin`` and ``_end``
  (``ID_REF`` rows, one column per GSM); each ``!Sample_characteristics_ch1`` line of
  ``key: value`` cells becomes an ``obs`` column named ``key`` (``time: day 2`` gives
  ``obs["time"] == "day 2"``), ``!Sample_title`` becomes ``obs["title"]``. RNA-seq
  series usually keep their counts in supplementary files and have an empty table:
  the error says to pass the supplementary count table instead.
* anything else: a genes x samples **count table** read by
  :func:`scclast.datasets.read_count_table` (a HOMER ``analyzeRepeats.pl`` table is told
  from its ``Annotation/Divergence`` column, its symbol the first ``|`` field), each
  sample name split into ``obs`` fields by ``sample_fields`` (default
  :data:`DEFAULT_SAMPLE_FIELDS`: ``Donor5_d2`` gives donor ``Donor5``, time point ``day2``).

Examples
--------
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "GSE1_series_matrix.txt"
>>> _ = path.write_text(
...     '!Series_title\\t"demo"\\n!Sample_title\\t"D1 day0"\\t"D1 day2"\\n'
...     '!Sample_geo_accession\\t"GSM1"\\t"GSM2"\\n'
...     '!Sample_characteristics_ch1\\t"donor: D1"\\t"donor: D1"\\n'
...     '!Sample_characteristics_ch1\\t"time: day 0"\\t"time: day 2"\\n'
...     '!series_matrix_table_begin\\n"ID_REF"\\t"GSM1"\\t"GSM2"\\n'
...     '"SLIT3"\\t5.1\\t7.9\\n"LIF"\\t3.0\\t3.2\\n!series_matrix_table_end\\n')
>>> bulk = read_bulk(path)
>>> bulk.obs[["donor", "time"]].values.tolist(), bulk.var_names.tolist()
([['D1', 'day 0'], ['D1', 'day 2']], ['SLIT3', 'LIF'])
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scclast._errors import ScclastDataError, ScclastInputError

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

DEFAULT_SAMPLE_FIELDS = r"^(?P<donor>[^_]+)_(?P<time_point>[^_]+)$"
"""Sample names ``Donor_Timepoint`` (GSE246769's ``Donor1_d0``) split into two columns."""

_TABLE_BEGIN = "!series_matrix_table_begin"
_TABLE_END = "!series_matrix_table_end"


def read_bulk(path: str | Path, *, sample_fields: str | None = None) -> AnnData:
    """A bulk time course as samples x genes (see the module for the formats).

    Parameters
    ----------
    path
        ``.h5ad``, GEO series matrix, HOMER or plain count table (gzipped or not).
    sample_fields
        For count tables: a regex with named groups splitting each sample name into
        ``obs`` columns; default :data:`DEFAULT_SAMPLE_FIELDS`.
    """
    path = Path(path)
    if not path.is_file():
        raise ScclastInputError(f"input {path} does not exist (or is not a file)")
    if path.suffix == ".h5ad":
        import anndata

        return anndata.read_h5ad(path)
    head = _head(path)
    if head.startswith("!Series_") or "series_matrix" in path.name:
        return read_series_matrix(path)
    from scclast.datasets import read_count_table

    return read_count_table(path, sample_fields=sample_fields or DEFAULT_SAMPLE_FIELDS)


def _head(path: Path) -> str:
    from scclast.datasets._members import local_member, payload

    return payload(local_member(path))[:4096].decode("utf-8", errors="replace").lstrip()


def read_series_matrix(path: str | Path) -> AnnData:
    """A GEO series matrix as samples x features, sample characteristics in ``obs``."""
    import anndata as ad

    from scclast.datasets._members import local_member, payload

    path = Path(path)
    text = payload(local_member(path)).decode("utf-8", errors="replace")
    meta: list[list[str]] = []
    table: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith(_TABLE_BEGIN):
            inside = True
        elif line.startswith(_TABLE_END):
            inside = False
        elif inside:
            table.append(line)
        elif line.startswith("!Sample_"):
            meta.append(next(csv.reader([line], delimiter="\t")))
    if len(table) < 2:
        raise ScclastDataError(
            f"{path.name} holds no expression table (RNA-seq series keep their counts in "
            "supplementary files): pass that count table to scclast timecourse instead"
        )
    frame = pd.read_csv(io.StringIO("\n".join(table)), sep="\t", index_col=0)
    frame.index = frame.index.astype(str)
    samples = [str(c) for c in frame.columns]
    obs = pd.DataFrame(index=pd.Index(samples))
    for row in meta:
        key, values = row[0].removeprefix("!Sample_"), row[1:]
        if len(values) != len(samples):
            continue
        if key.startswith("characteristics"):
            pairs = [v.split(":", 1) if ":" in v else ("", v) for v in values]
            names = {p[0].strip() for p in pairs}
            if len(names) == 1 and "" not in names:
                obs[names.pop()] = [p[1].strip() for p in pairs]
        elif key in ("title", "source_name_ch1"):
            obs[key.removesuffix("_ch1")] = values
    try:
        values = frame.to_numpy(dtype=np.float32).T
    except ValueError as err:
        raise ScclastDataError(f"{path.name}: the table holds non-numbers ({err})") from err
    adata = ad.AnnData(X=values, obs=obs, var=pd.DataFrame(index=frame.index))
    adata.var_names_make_unique()
    adata.uns["scclast"] = {"dataset": {"reader": "geo_series_matrix", "source_files": [path.name]}}
    log.info("%s: series matrix, %d samples x %d rows", path.name, *values.shape)
    return adata


__all__ = ["DEFAULT_SAMPLE_FIELDS", "read_bulk", "read_series_matrix"]
