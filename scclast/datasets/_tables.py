"""Text tables: dense genes x cells matrices, bulk count tables and HOMER count tables.

* **Dense text matrices** (GEO ``GSMxxx_<label>_matrix.txt`` in a ``_RAW.tar``): gene
  symbols as rows, cells as columns, space-, tab- or comma-separated, with R's
  ``write.table`` header (one field short, names quoted or not) or a full header. Read
  in row chunks straight into a sparse matrix, so a dense file never sits in memory as
  floats. Reporter rows (``tomato``) are moved to ``obs`` (:mod:`._genes`).
* **Bulk count tables**: genes x samples, the first column IDs or symbols, other
  text columns (``gene_name``...) kept in ``var``; one observation per sample.
* **HOMER count tables** (``analyzeRepeats.pl ... -count exons -condenseGenes``): eight
  annotation columns (``RefSeqID`` or ``Transcript/RepeatID``, ``Chr``, ``Start``,
  ``End``, ``Strand``, ``Length``, ``Copies``, ``Annotation/Divergence``) then one column
  per sample; the symbol is the first ``|``-separated field of ``Annotation/Divergence``.

Sample names become ``obs`` fields through ``time_point_pattern`` (first group; digits
become ``day<N>``) and ``sample_fields`` (a regex with named groups, one ``obs``
column per group: ``'^(?P<donor>[^_]+)_(?P<time_point>.+)$'`` splits ``Donor5_d2``).

Examples
--------
>>> import anndata as ad
>>> a = ad.AnnData(np.zeros((2, 1)), obs=pd.DataFrame(index=["Donor1_d0", "Donor5_d9"]))
>>> add_sample_fields(a, None, r"^(?P<donor>[^_]+)_(?P<time_point>.+)$", a.obs_names)
>>> a.obs[["donor", "time_point"]].values.tolist()
[['Donor1', 'day0'], ['Donor5', 'day9']]
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._errors import ScclastDataError, ScclastInputError
from scclast.datasets._genes import (
    GeneMap,
    finalize_var,
    gene_keys,
    mostly_ensembl,
    split_reporters,
)
from scclast.datasets._members import Member, local_member, payload

log = logging.getLogger("scclast")

CHUNK_ROWS = 2000
"""Rows of a dense text matrix parsed at a time."""

_SYMBOL_COLUMNS = (
    "gene_name",
    "gene_symbol",
    "symbol",
    "genename",
    "name",
    "gene",
    "external_gene_name",
)
_ANNOTATION_COLUMNS = ("length", "start", "end", "chr", "strand", "gene_length", "effective_length")
_HOMER_ANNOTATION = re.compile(r"(?i)^annotation[./ ]divergence$")
_DAY = re.compile(r"(?i)^(?:d|day)[ _.-]?(\d+)$")


def text_matrix(member: Member, *, reporters: Sequence[str] = ()) -> ad.AnnData:
    """A dense genes x cells text matrix as a cells x genes AnnData (sparse float32).

    Examples
    --------
    R's ``write.table`` layout: space-separated, quoted names, a header one field short:

    >>> text = b'"AAAC-1" "AAAG-1"\\n"Acp5" 0 3\\n"tomato" 5 0\\n"Ctsk" 1 0\\n'
    >>> adata = text_matrix(Member("GSM1_1M_matrix.txt", lambda: text), reporters=["tomato"])
    >>> adata.obs_names.tolist(), adata.var_names.tolist(), adata.obs["reporter_tomato"].tolist()
    (['AAAC-1', 'AAAG-1'], ['Acp5', 'Ctsk'], [5.0, 0.0])
    """
    data = payload(member)
    sep, header, n_fields = _layout(data, member.name)
    short_header = len(header) == n_fields - 1
    cells = header if short_header else header[1:]
    reader = pd.read_csv(
        io.BytesIO(data),
        sep=sep,
        header=None,
        skiprows=1,
        index_col=0,
        dtype={0: str},
        chunksize=CHUNK_ROWS,
        quotechar='"',
    )
    genes: list[str] = []
    blocks = []
    try:
        for chunk in reader:
            values = chunk.to_numpy(dtype=np.float32)
            blocks.append(sp.csr_matrix(values))
            genes += [str(g) for g in chunk.index]
    except (ValueError, pd.errors.ParserError) as err:
        raise ScclastDataError(
            f"{member.name} is not a numeric genes x cells matrix ({_first_line(err)})"
        ) from err
    if not blocks or blocks[0].shape[1] != len(cells):
        width = blocks[0].shape[1] if blocks else 0
        raise ScclastDataError(
            f"{member.name}: the header names {len(cells)} cells but the rows hold {width} "
            "values: the file is damaged"
        )
    X = sp.vstack(blocks, format="csr").T.tocsr()
    var = pd.DataFrame({"gene_ids": "", "gene_symbols": genes}, index=pd.Index(genes))
    if mostly_ensembl(genes):
        var["gene_ids"], var["gene_symbols"] = genes, ""
    adata = ad.AnnData(X=X, obs=pd.DataFrame({"barcode": cells}, index=pd.Index(cells)), var=var)
    if adata.var_names.duplicated().any():
        adata.var_names_make_unique()
    return split_reporters(adata, reporters) if reporters else adata


def _layout(data: bytes, name: str) -> tuple[str, list[str], int]:
    """Separator, header fields, and the number of fields of the first data row."""
    head = data[: 1 << 20].decode("utf-8", errors="replace").splitlines()
    head = [line for line in head if line.strip()][:2]
    if len(head) < 2:
        raise ScclastDataError(f"{name} has no data rows: the file is empty or damaged")
    if "\t" in head[0]:
        sep, delimiter = "\t", "\t"
    elif "," in head[0]:
        sep, delimiter = ",", ","
    else:
        sep, delimiter = r"\s+", " "
    parsed = list(csv.reader(head, delimiter=delimiter, quotechar='"', skipinitialspace=True))
    header = [field for field in parsed[0] if field != ""]
    row = [field for field in parsed[1] if field != ""]
    return sep, header, len(row)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def count_table_adata(member: Member) -> ad.AnnData:
    """A genes x samples table (numeric sample columns, text annotation columns) as
    samples x genes, with ``uns["integer_counts"]``."""
    text = payload(member).decode("utf-8", errors="replace")
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first else "," if "," in first else r"\s+"
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep)
    except (pd.errors.ParserError, ValueError) as err:
        raise ScclastDataError(f"{member.name} is not a readable count table ({err})") from err
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()  # R-style header one field short: first column = genes
    frame = frame.rename(columns={frame.columns[0]: "_gene"})
    numeric = [
        c
        for c in frame.columns[1:]
        if pd.api.types.is_numeric_dtype(frame[c]) and str(c).lower() not in _ANNOTATION_COLUMNS
    ]
    if not numeric:
        raise ScclastDataError(f"{member.name} has no numeric sample columns: is it a count table?")
    annotations = [c for c in frame.columns[1:] if c not in numeric]
    genes = frame["_gene"].astype(str).tolist()
    symbol_col = next((c for c in annotations if str(c).lower() in _SYMBOL_COLUMNS), None)
    if mostly_ensembl(genes):
        ids: list[str | None] = list(genes)
        symbols: list[str | None] = (
            [s if isinstance(s, str) and s else None for s in frame[symbol_col]]
            if symbol_col
            else [None] * len(genes)
        )
    else:
        ids, symbols = [None] * len(genes), list(genes)
    values = frame[numeric].to_numpy(dtype=np.float32)
    var = pd.DataFrame(
        {"gene_ids": [i or "" for i in ids], "gene_symbols": [s or "" for s in symbols]},
        index=pd.Index(gene_keys(ids, symbols)),
    )
    for column in annotations:
        if column != symbol_col:
            var[str(column)] = frame[column].astype(str).to_numpy()
    return _samples_adata(values, [str(c) for c in numeric], var)


def _samples_adata(values: np.ndarray, samples: list[str], var: pd.DataFrame) -> ad.AnnData:
    adata = ad.AnnData(
        X=sp.csr_matrix(values.T), obs=pd.DataFrame(index=pd.Index(samples)), var=var
    )
    if adata.var_names.duplicated().any():
        adata.var_names_make_unique()
    adata.uns["integer_counts"] = bool(np.all(np.mod(values, 1) == 0))
    return adata


def homer_adata(member: Member) -> ad.AnnData:
    """A HOMER ``analyzeRepeats.pl`` count table as samples x genes.

    Examples
    --------
    >>> text = (b"RefSeqID\\tChr\\tStart\\tEnd\\tStrand\\tLength\\tCopies\\t"
    ...         b"Annotation/Divergence\\tDonor1_d0\\tDonor1_d2\\n"
    ...         b"NM_001611\\tchr19\\t1\\t9\\t+\\t1700\\t1\\t"
    ...         b"ACP5|HPAP|-|19p13.2|protein-coding\\t3\\t40\\n")
    >>> bulk = homer_adata(Member("counts.txt", lambda: text))
    >>> bulk.var_names.tolist(), bulk.var["transcript_id"].tolist(), bulk.obs_names.tolist()
    (['ACP5'], ['NM_001611'], ['Donor1_d0', 'Donor1_d2'])
    """
    text = payload(member).decode("utf-8", errors="replace")
    try:
        frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str)
    except (pd.errors.ParserError, ValueError) as err:
        raise ScclastDataError(f"{member.name} is not a readable HOMER table ({err})") from err
    column = next((c for c in frame.columns if _HOMER_ANNOTATION.match(str(c))), None)
    if column is None:
        raise ScclastDataError(
            f"{member.name} has no Annotation/Divergence column: it is not a HOMER count table "
            f"(columns {', '.join(map(str, frame.columns[:9]))})"
        )
    position = list(frame.columns).index(column)
    samples = [str(c) for c in frame.columns[position + 1 :]]
    if not samples:
        raise ScclastDataError(f"{member.name} has no sample column after {column}")
    try:
        values = frame[samples].astype(np.float32).to_numpy()
    except ValueError as err:
        raise ScclastDataError(
            f"{member.name}: a sample column holds non-numbers ({_first_line(err)})"
        ) from err
    symbols = frame[column].fillna("").astype(str).str.split("|").str[0].str.strip()
    transcripts = frame[frame.columns[0]].astype(str).to_numpy()
    var = pd.DataFrame(
        {"gene_ids": "", "gene_symbols": symbols.to_numpy(), "transcript_id": transcripts},
        index=pd.Index(np.where(symbols.to_numpy() != "", symbols.to_numpy(), transcripts)),
    )
    for extra in frame.columns[1:position]:
        var[str(extra)] = frame[extra].astype(str).to_numpy()
    return _samples_adata(values, samples, var)


def add_sample_fields(
    adata: ad.AnnData,
    time_point_pattern: str | None,
    sample_fields: str | None,
    labels: Iterable[str],
) -> None:
    """Parse each observation's sample label into ``obs`` columns, in place.

    ``time_point_pattern``: its first group becomes ``obs["time_point"]`` (digits as
    ``day<N>``). ``sample_fields``: one column per named group; a ``time_point`` group
    written ``d2``/``day2`` becomes ``day2``. Labels that do not match get ``"unknown"``.
    """
    labels = pd.Series(list(labels), index=adata.obs_names, dtype=str)
    if time_point_pattern:
        regex = _compile(time_point_pattern, "time_point_pattern")

        def one(text: str) -> str:
            match = regex.search(text)
            if not match:
                return "unknown"
            value = next((g for g in match.groups() if g is not None), match.group(0))
            return f"day{int(value)}" if value.isdigit() else value

        values = labels.map(one)
        if (values != "unknown").any():
            adata.obs["time_point"] = pd.Categorical(values.to_numpy())
    if sample_fields:
        regex = _compile(sample_fields, "sample_fields")
        if not regex.groupindex:
            raise ScclastInputError(
                f"sample_fields={sample_fields!r} has no named group (?P<name>...)"
            )
        found = labels.str.extract(regex).fillna("unknown")
        for name in regex.groupindex:
            column = found[name].astype(str)
            if name == "time_point":
                column = column.map(_day)
            adata.obs[name] = pd.Categorical(column.to_numpy())


def _compile(pattern: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ScclastInputError(f"{what}={pattern!r} is not a regular expression: {err}") from err


def _day(value: str) -> str:
    match = _DAY.match(value)
    return f"day{int(match.group(1))}" if match else value


def missing_combinations(obs: pd.DataFrame, first: str, second: str) -> list[str]:
    """``first_second`` pairs of the full design absent from ``obs`` (missing samples).

    Examples
    --------
    >>> obs = pd.DataFrame({"donor": ["D1", "D1", "D2"], "time_point": ["day0", "day2", "day2"]})
    >>> missing_combinations(obs, "donor", "time_point")
    ['D2 day0']
    """
    if first not in obs or second not in obs:
        return []
    present = set(zip(obs[first].astype(str), obs[second].astype(str), strict=True))
    a_values = sorted(set(obs[first].astype(str)), key=_natural)
    b_values = sorted(set(obs[second].astype(str)), key=_natural)
    return [f"{a} {b}" for a in a_values for b in b_values if (a, b) not in present]


def _natural(text: str) -> tuple[str, int]:
    match = re.search(r"(\d+)$", text)
    return (text[: match.start()], int(match.group(1))) if match else (text, -1)


def read_count_table(
    path: str | Path,
    *,
    gene_map: GeneMap = None,
    time_point_pattern: str | None = None,
    sample_fields: str | None = None,
    homer: bool | None = None,
) -> ad.AnnData:
    """Read a genes x samples count table (tab, comma or space separated; gzipped or not).

    The first column holds gene IDs or symbols; other non-numeric columns (e.g.
    ``gene_name``) become ``var`` columns, and a symbol column is used for names when
    the first column holds Ensembl IDs. A HOMER table (with an ``Annotation/Divergence``
    column; ``homer=None`` tells it from the header) takes its symbols from there. Each
    sample column becomes an observation (``obs["sample"]``), with fields parsed from its
    name (``time_point_pattern``, ``sample_fields``); design cells without a sample
    (e.g. no day-0 sample for some donors) are logged and listed in
    ``uns["scclast"]["dataset"]["missing_samples"]``.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "counts.txt"
    >>> _ = path.write_text("gene\\tD1_day0\\tD1_day2\\nSlit3\\t5\\t9\\nLif\\t0\\t3\\n")
    >>> bulk = read_count_table(path, time_point_pattern=r"(?i)day[_ ]?(\\d+)")
    >>> bulk.obs["time_point"].tolist(), bulk.X.sum(axis=0).tolist()
    (['day0', 'day2'], [14.0, 3.0])
    """
    member = local_member(path)
    if homer is None:
        head = payload(member)[:65536].decode("utf-8", errors="replace").split("\n", 1)[0]
        homer = any(_HOMER_ANNOTATION.match(c.strip()) for c in head.split("\t"))
    adata = homer_adata(member) if homer else count_table_adata(member)
    integer = adata.uns.pop("integer_counts")
    adata.X = adata.X.toarray()
    adata.obs["sample"] = pd.Categorical(adata.obs_names)
    adata.obs["sample_label"] = adata.obs["sample"]
    add_sample_fields(adata, time_point_pattern, sample_fields, adata.obs_names)
    record = {
        "reader": "homer_counts" if homer else "count_table",
        "source_files": [member.name],
        "integer_counts": integer,
        "observations": "samples (bulk RNA-seq), not cells",
    }
    fields = [c for c in ("donor", "time_point") if c in adata.obs]
    if len(fields) == 2:
        record["missing_samples"] = missing_combinations(adata.obs, *fields)
        if record["missing_samples"]:
            log.info(
                "%s: %d samples; no sample for %s",
                member.name,
                adata.n_obs,
                ", ".join(record["missing_samples"]),
            )
    adata.uns["scclast"] = {"dataset": record}
    finalize_var(adata, gene_map)
    if not integer:
        log.warning("%s holds non-integer values: these may not be raw counts", member.name)
    return adata


__all__ = [
    "add_sample_fields",
    "count_table_adata",
    "homer_adata",
    "missing_combinations",
    "read_count_table",
    "text_matrix",
]
