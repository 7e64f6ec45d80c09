"""Genes of a downloaded matrix: IDs and symbols, Ensembl-to-symbol maps, reporter rows.

Every reader ends with :func:`finalize_var`: ``var_names`` are gene symbols (made
unique) and ``var["gene_ids"]`` holds Ensembl IDs (empty where unknown). Files that
carry only Ensembl IDs get their symbols from a *gene map*:

* an Ensembl GTF file (``gene_id`` -> ``gene_name`` of every ``gene`` line), fetched and
  hashed through the registry like any data file (for example the entry
  ``ensembl_mus_musculus_grcm38_93_genes``), or
* a table of the user's (two columns, Ensembl IDs and symbols; for example an Ensembl
  BioMart export), or a ``{id: symbol}`` mapping.

No symbol is ever made up: a gene without a mapped symbol keeps its ID as its name.

Reporter rows (a ``tomato`` row of a Cre-reporter mouse) are not genes: they are moved
to ``obs["reporter_<name>"]`` before anything else sees the matrix.

Examples
--------
>>> read_gene_map({"ENSMUSG00000000001.4": "Gnai3"})
{'ENSMUSG00000000001': 'Gnai3'}
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scclast._errors import ScclastDataError, ScclastInputError

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{6,}(?:\.\d+)?$")
MITO_PREFIXES = ("mt-", "MT-")
"""Mitochondrial genes: symbols starting ``mt-`` (mouse) or ``MT-`` (human)."""

GeneMap = Mapping[str, str] | pd.DataFrame | str | Path | None
"""What ``gene_map=`` accepts: a mapping, a table, or a path to a table or GTF file."""

_GTF = re.compile(r"(?i)\.gtf(?:\.gz)?$")
_GTF_ATTRIBUTE = re.compile(r'(\w+) "([^"]*)"')


def mostly_ensembl(values: Sequence[str]) -> bool:
    """Whether more than half of (the first 500 of) ``values`` are Ensembl gene IDs.

    Examples
    --------
    >>> mostly_ensembl(["ENSMUSG00000000001", "Acp5"]), mostly_ensembl(["Acp5"])
    (False, False)
    """
    sample = list(values[:500])
    return bool(sample) and sum(bool(ENSEMBL.match(v)) for v in sample) > len(sample) / 2


def split_features(
    rows: list[list[str]], name: str
) -> tuple[list[str | None], list[str | None], np.ndarray]:
    """Gene IDs, symbols and a keep-mask (Gene Expression features only) from the rows
    of a 10x ``genes.tsv``/``features.tsv``.

    Examples
    --------
    >>> rows = [["ENSG00000111111", "ACP5", "Gene Expression"],
    ...         ["ENSG00000222222", "CD45", "Antibody Capture"]]
    >>> ids, symbols, keep = split_features(rows, "features.tsv")
    >>> ids[0], symbols, keep.tolist()
    ('ENSG00000111111', ['ACP5', 'CD45'], [True, False])
    """
    if not rows:
        raise ScclastDataError(f"{name} lists no genes: the file is empty or damaged")
    width = min(len(r) for r in rows)
    first = [r[0] for r in rows]
    ids: list[str | None]
    symbols: list[str | None]
    if width >= 2:
        second = [r[1] for r in rows]
        if mostly_ensembl(first):
            ids = list(first)
            symbols = [None if ENSEMBL.match(s) else s for s in second]
        else:
            ids, symbols = [None] * len(rows), list(second)
    elif mostly_ensembl(first):
        ids, symbols = list(first), [None] * len(rows)
    else:
        ids, symbols = [None] * len(rows), list(first)
    if width >= 3:
        keep = np.array([r[2] == "Gene Expression" for r in rows])
        if not keep.any():
            keep = np.ones(len(rows), dtype=bool)
    else:
        keep = np.ones(len(rows), dtype=bool)
    return ids, symbols, keep


def read_gene_map(gene_map: GeneMap) -> dict[str, str]:
    """An Ensembl-ID -> symbol mapping from a dict, a DataFrame, a table file or a GTF.

    A table needs one column of Ensembl IDs and one of symbols (for example an Ensembl
    BioMart export with ``Gene stable ID`` and ``Gene name``); a ``.gtf``/``.gtf.gz``
    file is read with :func:`read_gtf_gene_map`. Version suffixes (``.12``) are ignored.

    Examples
    --------
    >>> read_gene_map({"ENSMUSG00000000001.4": "Gnai3"})
    {'ENSMUSG00000000001': 'Gnai3'}
    """
    if gene_map is None:
        return {}
    if isinstance(gene_map, (str, Path)):
        path = Path(gene_map)
        if not path.exists():
            raise ScclastInputError(f"gene map {path} does not exist: pass an existing table")
        if _GTF.search(path.name):
            return read_gtf_gene_map(path)
        frame = pd.read_csv(path, sep=None, engine="python", dtype=str)
        return read_gene_map(frame)
    if isinstance(gene_map, pd.DataFrame):
        id_col = next(
            (c for c in gene_map.columns if mostly_ensembl(list(gene_map[c].astype(str)))), None
        )
        if id_col is None or gene_map.shape[1] < 2:
            raise ScclastInputError(
                "gene map needs a column of Ensembl IDs and a column of symbols"
            )
        symbol_col = next(c for c in gene_map.columns if c != id_col)
        pairs = zip(gene_map[id_col].astype(str), gene_map[symbol_col], strict=True)
        return {strip_version(i): str(s) for i, s in pairs if isinstance(s, str) and s}
    return {strip_version(str(k)): str(v) for k, v in gene_map.items() if v}


def read_gtf_gene_map(path: str | Path) -> dict[str, str]:
    """``gene_id`` -> ``gene_name`` of every ``gene`` line of a GTF file (gzipped or not).

    Ensembl GTF files have nine tab-separated columns; the ninth holds attributes such
    as ``gene_id "ENSMUSG00000102693"; gene_version "1"; gene_name "4933401J01Rik";``.
    Genes without a ``gene_name`` are left out (they keep their ID in the data).

    Examples
    --------
    >>> import tempfile
    >>> gtf = Path(tempfile.mkdtemp()) / "x.gtf"
    >>> _ = gtf.write_text('#!genome-build GRCm38.p6\\n1\\thavana\\tgene\\t1\\t9\\t.\\t+\\t.\\t'
    ...                    'gene_id "ENSMUSG00000102693"; gene_name "4933401J01Rik";\\n')
    >>> read_gtf_gene_map(gtf)
    {'ENSMUSG00000102693': '4933401J01Rik'}
    """
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    mapping: dict[str, str] = {}
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("#"):
                    continue
                fields = line.split("\t", 8)
                if len(fields) < 9:
                    raise ScclastDataError(
                        f"{path} is not a GTF file (a line has {len(fields)} tab-separated "
                        "fields, GTF has 9): delete it to download it again"
                    )
                if fields[2] != "gene":
                    continue
                attributes = dict(_GTF_ATTRIBUTE.findall(fields[8]))
                if attributes.get("gene_id") and attributes.get("gene_name"):
                    mapping[strip_version(attributes["gene_id"])] = attributes["gene_name"]
    except (OSError, EOFError) as err:
        raise ScclastDataError(
            f"{path} cannot be read as a GTF file ({err}): delete it to download it again"
        ) from err
    if not mapping:
        raise ScclastDataError(f"{path} has no gene line with gene_id and gene_name")
    return mapping


def strip_version(gene_id: str) -> str:
    """An Ensembl ID without its version suffix (other names unchanged)."""
    return gene_id.split(".", 1)[0] if ENSEMBL.match(gene_id) else gene_id


def gene_keys(ids: list[str | None], symbols: list[str | None]) -> list[str]:
    """One provisional name per gene: its ID, else its symbol, else ``gene<N>``."""
    return [
        i if i else (s or f"gene{n}") for n, (i, s) in enumerate(zip(ids, symbols, strict=True))
    ]


def fill_symbols(adata: AnnData, mapping: Mapping[str, str]) -> int:
    """Fill empty ``var["gene_symbols"]`` from ``mapping`` (by ``var["gene_ids"]``), in
    place; returns how many were filled."""
    if not mapping:
        return 0
    ids = adata.var["gene_ids"].astype(str).to_numpy()
    symbols = adata.var["gene_symbols"].astype(str).to_numpy().copy()
    filled = 0
    for n, gene_id in enumerate(ids):
        if not symbols[n] and gene_id:
            symbol = mapping.get(strip_version(gene_id), "")
            if symbol:
                symbols[n] = symbol
                filled += 1
    adata.var["gene_symbols"] = symbols
    return filled


def mito_mask(var: pd.DataFrame) -> np.ndarray:
    """Mitochondrial genes, by symbol (``var["gene_symbols"]`` where present, else names)."""
    names = (
        var["gene_symbols"].astype(str)
        if "gene_symbols" in var
        else pd.Series(var.index.astype(str), index=var.index)
    )
    return np.asarray(names.str.startswith(MITO_PREFIXES))


def finalize_var(adata: AnnData, gene_map: GeneMap | Mapping[str, str] = None) -> None:
    """Give ``adata`` symbol var names and an Ensembl ``gene_ids`` column, in place.

    Expects ``var["gene_ids"]`` and ``var["gene_symbols"]`` (empty strings where unknown);
    fills missing symbols from ``gene_map``; genes still without a symbol keep their ID.
    """
    fill_symbols(adata, read_gene_map(gene_map))
    ids = adata.var["gene_ids"].astype(str).to_numpy()
    symbols = adata.var["gene_symbols"].astype(str).to_numpy()
    # a gene with neither symbol nor Ensembl ID keeps the name its reader gave it
    names = np.where(symbols != "", symbols, np.where(ids != "", ids, adata.var_names))
    adata.var_names = pd.Index(names.astype(str))
    adata.var["gene_ids"] = ids
    adata.var.drop(columns="gene_symbols", inplace=True)
    if adata.var_names.duplicated().any():
        adata.var_names_make_unique()
    missing = int((symbols == "").sum())
    adata.uns.setdefault("scclast", {}).setdefault("dataset", {})["genes_without_symbol"] = missing
    if missing and missing == adata.n_vars:
        log.warning(
            "no gene symbols: the %d genes keep their Ensembl IDs as names; pass gene_map= "
            "(an Ensembl GTF or an Ensembl ID -> symbol table) to get symbols",
            missing,
        )


def split_reporters(adata: AnnData, reporters: Iterable[str]) -> AnnData:
    """Move reporter rows (e.g. ``tomato``) from the genes to ``obs["reporter_<name>"]``.

    Matching ignores letter case; the reporter's counts stay with each cell and are
    recorded, but no gene statistic (species, QC, scores) sees them.

    Examples
    --------
    >>> import anndata as ad
    >>> a = ad.AnnData(np.array([[1.0, 5.0], [0.0, 2.0]], dtype=np.float32))
    >>> a.var_names = ["Acp5", "tomato"]
    >>> b = split_reporters(a, ["tomato"])
    >>> list(b.var_names), b.obs["reporter_tomato"].tolist()
    (['Acp5'], [5.0, 2.0])
    """
    wanted = {str(r).lower() for r in reporters}
    names = adata.var_names.astype(str)
    hits = np.flatnonzero(np.isin(names.str.lower(), list(wanted)))
    if hits.size == 0:
        return adata
    import scipy.sparse as sp

    for column in hits:
        values = adata.X[:, column]
        values = values.toarray() if sp.issparse(values) else np.asarray(values)
        adata.obs[f"reporter_{names[column]}"] = np.asarray(values, dtype=np.float64).ravel()
    kept = np.setdiff1d(np.arange(adata.n_vars), hits)
    return adata[:, kept].copy()


__all__ = [
    "ENSEMBL",
    "MITO_PREFIXES",
    "GeneMap",
    "fill_symbols",
    "finalize_var",
    "gene_keys",
    "mito_mask",
    "mostly_ensembl",
    "read_gene_map",
    "read_gtf_gene_map",
    "split_features",
    "split_reporters",
    "strip_version",
]
