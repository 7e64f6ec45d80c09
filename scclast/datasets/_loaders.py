"""Readers: from downloaded files to one AnnData per dataset, with standard fields.

Every reader returns raw counts in ``X`` (``float32``; CSR for single-cell data) with

* ``obs["sample"]`` (GEO sample accession where known), ``obs["dataset"]`` (set by the
  caller), ``obs["time_point"]`` where the sample names carry one;
* ``var_names`` = gene symbols (made unique), ``var["gene_ids"]`` = Ensembl IDs (empty
  string where unknown);
* for single-cell data, QC metrics ``obs["total_counts"]``, ``obs["n_genes_by_counts"]``,
  ``obs["pct_counts_mt"]`` and ``var["mt"]`` (genes starting ``mt-``/``MT-``);
* ``uns["scclast"]["dataset"]``: the reader, the source files and what was filtered.

Formats: 10x MatrixMarket triplets (v2 ``genes.tsv`` or v3 ``features.tsv``, gzipped or
not), 10x HDF5 (v2 and v3 layouts), GEO ``_RAW.tar`` archives of per-sample files (grouped
by their ``GSMxxx`` prefix; nested per-sample ``.tar.gz`` are opened), loose per-sample
GEO files, and plain genes x samples count tables.

Unfiltered 10x matrices (every barcode of the whitelist) are reduced to cells by an
empty-droplet filter: barcodes with fewer than ``min_genes`` (default 200) detected genes
are dropped. This is the threshold used by common 10x tutorials, not a statistical test
such as EmptyDrops; cells with very few genes (e.g. some granulocytes) may be lost.
"""

from __future__ import annotations

import functools
import gzip
import io
import logging
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from scclast._errors import ScclastDataError, ScclastInputError

log = logging.getLogger("scclast")

DEFAULT_MIN_GENES = 200
"""Empty-droplet filter: minimum detected genes for a barcode to count as a cell."""

AUTO_UNFILTERED_BARCODES = 100_000
"""With ``filter_empty="auto"``, a 10x matrix with at least this many barcodes (or a file
name saying ``raw``/``unfiltered``) is treated as unfiltered."""

_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{6,}(?:\.\d+)?$")
_PART = re.compile(r"(?i)(?:^|[._/-])(barcodes|genes|features|matrix)\.(tsv|mtx)(?:\.gz)?$")
_H5 = re.compile(r"(?i)\.h5$")
_TABLE = re.compile(r"(?i)\.(?:txt|tsv|csv)(?:\.gz)?$")
_ARCHIVE = re.compile(r"(?i)\.(?:tar|tar\.gz|tgz)$")
_GSM = re.compile(r"^(GSM\d+)[._-]?")
_UNFILTERED_NAME = re.compile(r"(?i)(?:^|[._/-])(?:raw|unfiltered)(?:[._/-]|$)")
_FILTERED_NAME = re.compile(r"(?i)filtered")
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

GeneMap = Mapping[str, str] | pd.DataFrame | str | Path | None


# --------------------------------------------------------------------------- members


@dataclass(frozen=True)
class Member:
    """A named file to read: a local file or a member of an archive."""

    name: str
    read: Callable[[], bytes]


def local_member(path: str | Path) -> Member:
    """A :class:`Member` for a file on disk."""
    path = Path(path)
    return Member(path.name, path.read_bytes)


def _payload(member: Member) -> bytes:
    data = member.read()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise ScclastDataError(
                f"{member.name} is a damaged gzip file ({err}): delete it to download it again"
            ) from err
    return data


def _lines(member: Member) -> list[str]:
    text = _payload(member).decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------- genes


def _split_features(
    rows: list[list[str]], name: str
) -> tuple[list[str | None], list[str | None], np.ndarray]:
    """Gene IDs, symbols and a keep-mask (Gene Expression features only) from a
    genes/features table."""
    if not rows:
        raise ScclastDataError(f"{name} lists no genes: the file is empty or damaged")
    width = min(len(r) for r in rows)
    first = [r[0] for r in rows]
    ids: list[str | None]
    symbols: list[str | None]
    if width >= 2:
        second = [r[1] for r in rows]
        if _mostly_ensembl(first):
            ids = list(first)
            symbols = [None if _ENSEMBL.match(s) else s for s in second]
        else:
            ids, symbols = [None] * len(rows), list(second)
    elif _mostly_ensembl(first):
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


def _mostly_ensembl(values: list[str]) -> bool:
    sample = values[:500]
    return bool(sample) and sum(bool(_ENSEMBL.match(v)) for v in sample) > len(sample) / 2


def read_gene_map(gene_map: GeneMap) -> dict[str, str]:
    """An Ensembl-ID -> symbol mapping from a dict, a DataFrame or a two-column table file.

    A table needs one column of Ensembl IDs and one of symbols (for example an Ensembl
    BioMart export with ``Gene stable ID`` and ``Gene name``); version suffixes
    (``.12``) are ignored.

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
        frame = pd.read_csv(path, sep=None, engine="python", dtype=str)
        return read_gene_map(frame)
    if isinstance(gene_map, pd.DataFrame):
        id_col = next(
            (c for c in gene_map.columns if _mostly_ensembl(list(gene_map[c].astype(str)))), None
        )
        if id_col is None or gene_map.shape[1] < 2:
            raise ScclastInputError(
                "gene map needs a column of Ensembl IDs and a column of symbols"
            )
        symbol_col = next(c for c in gene_map.columns if c != id_col)
        pairs = zip(gene_map[id_col].astype(str), gene_map[symbol_col], strict=True)
        return {_strip_version(i): str(s) for i, s in pairs if isinstance(s, str) and s}
    return {_strip_version(str(k)): str(v) for k, v in gene_map.items() if v}


def _strip_version(gene_id: str) -> str:
    return gene_id.split(".", 1)[0] if _ENSEMBL.match(gene_id) else gene_id


def _gene_keys(ids: list[str | None], symbols: list[str | None]) -> list[str]:
    return [
        i if i else (s or f"gene{n}") for n, (i, s) in enumerate(zip(ids, symbols, strict=True))
    ]


def finalize_var(adata: ad.AnnData, gene_map: GeneMap = None) -> None:
    """Give ``adata`` symbol var names and an Ensembl ``gene_ids`` column, in place.

    Expects ``var["gene_ids"]`` and ``var["gene_symbols"]`` (empty strings where unknown);
    fills missing symbols from ``gene_map``; genes still without a symbol keep their ID.
    """
    mapping = read_gene_map(gene_map)
    ids = adata.var["gene_ids"].astype(str).to_numpy()
    symbols = adata.var["gene_symbols"].astype(str).to_numpy().copy()
    if mapping:
        for n, gene_id in enumerate(ids):
            if not symbols[n] and gene_id:
                symbols[n] = mapping.get(_strip_version(gene_id), "")
    names = np.where(symbols != "", symbols, ids)
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
            "(an Ensembl ID -> symbol table, e.g. from Ensembl BioMart) to get symbols",
            missing,
        )


# --------------------------------------------------------------------------- 10x


def _triplet_counts(
    matrix: Member, features: Member, barcodes: Member
) -> tuple[sp.csr_matrix, list[str], list[str | None], list[str | None]]:
    try:
        coo = scipy.io.mmread(io.BytesIO(_payload(matrix)))
    except (ValueError, OSError) as err:
        raise ScclastDataError(
            f"{matrix.name} is not a MatrixMarket file ({err}): delete it to download it again"
        ) from err
    genes_by_cells = sp.csr_matrix(coo, dtype=np.float32)
    rows = [line.split("\t") for line in _lines(features)]
    cells = [line.split("\t")[0] for line in _lines(barcodes)]
    n_genes, n_cells = genes_by_cells.shape
    if (n_genes, n_cells) == (len(cells), len(rows)) and n_genes != n_cells:
        genes_by_cells = genes_by_cells.T.tocsr()  # stored cells x genes
        n_genes, n_cells = n_cells, n_genes
    if n_genes != len(rows) or n_cells != len(cells):
        raise ScclastDataError(
            f"{matrix.name} is {n_genes} x {n_cells} but {features.name} lists {len(rows)} "
            f"genes and {barcodes.name} {len(cells)} barcodes: the files do not belong together"
        )
    ids, symbols, keep = _split_features(rows, features.name)
    counts = genes_by_cells[np.flatnonzero(keep)].T.tocsr()
    ids = [i for i, k in zip(ids, keep, strict=True) if k]
    symbols = [s for s, k in zip(symbols, keep, strict=True) if k]
    return counts, cells, ids, symbols


def _h5_counts(
    member: Member,
) -> tuple[sp.csr_matrix, list[str], list[str | None], list[str | None]]:
    import h5py

    try:
        handle = h5py.File(io.BytesIO(member.read()), "r")
    except OSError as err:
        raise ScclastDataError(
            f"{member.name} is not an HDF5 file ({err}): delete it to download it again"
        ) from err
    with handle:
        if "matrix" in handle:  # Cell Ranger >= 3
            group = handle["matrix"]
            feats = group["features"]
            ids = _decode(feats["id"][:])
            names = _decode(feats["name"][:])
            types = _decode(feats["feature_type"][:]) if "feature_type" in feats else None
        else:  # Cell Ranger 2: one group per genome
            genomes = [k for k in handle if isinstance(handle[k], h5py.Group)]
            if len(genomes) != 1:
                raise ScclastDataError(
                    f"{member.name} is not a 10x HDF5 file (groups {genomes}): load it by hand"
                )
            group = handle[genomes[0]]
            ids, names, types = _decode(group["genes"][:]), _decode(group["gene_names"][:]), None
        n_genes, n_cells = (int(v) for v in group["shape"][:])
        counts = sp.csr_matrix(
            (group["data"][:].astype(np.float32), group["indices"][:], group["indptr"][:]),
            shape=(n_cells, n_genes),
        )
        cells = _decode(group["barcodes"][:])
    rows = [
        [i, n, *([t] if types is not None else [])]
        for i, n, t in zip(ids, names, types or names, strict=True)
    ]
    gene_ids, symbols, keep = _split_features(rows, member.name)
    counts = counts[:, np.flatnonzero(keep)].tocsr()
    gene_ids = [i for i, k in zip(gene_ids, keep, strict=True) if k]
    symbols = [s for s, k in zip(symbols, keep, strict=True) if k]
    return counts, cells, gene_ids, symbols


def _decode(values: Iterable[Any]) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _cells_adata(
    counts: sp.csr_matrix,
    cells: list[str],
    ids: list[str | None],
    symbols: list[str | None],
) -> ad.AnnData:
    keys = pd.Index(_gene_keys(ids, symbols))
    var = pd.DataFrame(
        {"gene_ids": [i or "" for i in ids], "gene_symbols": [s or "" for s in symbols]},
        index=keys,
    )
    adata = ad.AnnData(
        X=counts, obs=pd.DataFrame({"barcode": cells}, index=pd.Index(cells)), var=var
    )
    if adata.var_names.duplicated().any():
        adata.var_names_make_unique()
    return adata


def filter_empty_droplets(adata: ad.AnnData, min_genes: int = DEFAULT_MIN_GENES) -> ad.AnnData:
    """Keep barcodes with at least ``min_genes`` detected genes (an empty-droplet filter).

    Examples
    --------
    >>> import anndata as ad, numpy as np, scipy.sparse as sp
    >>> a = ad.AnnData(sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=np.float32)))
    >>> filter_empty_droplets(a, min_genes=2).n_obs
    1
    """
    X = sp.csr_matrix(adata.X)
    X.eliminate_zeros()
    n_genes = np.diff(X.indptr)
    return adata[n_genes >= min_genes].copy()


def add_qc_metrics(adata: ad.AnnData) -> None:
    """Add ``total_counts``, ``n_genes_by_counts`` and ``pct_counts_mt`` to ``obs``, in place.

    Mitochondrial genes are those whose symbol starts with ``mt-`` (mouse) or ``MT-``
    (human); ``var["mt"]`` marks them.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[3.0, 1.0]], dtype=np.float32))
    >>> a.var_names = ["mt-Co1", "Actb"]
    >>> add_qc_metrics(a)
    >>> float(a.obs["pct_counts_mt"].iloc[0])
    75.0
    """
    X = adata.X
    mt = np.asarray(adata.var_names.str.startswith(("mt-", "MT-")))
    adata.var["mt"] = mt
    total = np.asarray(X.sum(axis=1)).ravel()
    detected = np.asarray((X > 0).sum(axis=1)).ravel()
    mt_total = np.asarray(X[:, mt].sum(axis=1)).ravel() if mt.any() else np.zeros_like(total)
    adata.obs["total_counts"] = total.astype(np.float64)
    adata.obs["n_genes_by_counts"] = detected.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        adata.obs["pct_counts_mt"] = np.where(total > 0, 100.0 * mt_total / total, 0.0)


def _should_filter(filter_empty: bool | str, name: str, n_barcodes: int) -> bool:
    if filter_empty == "auto":
        return bool(_UNFILTERED_NAME.search(name)) or n_barcodes >= AUTO_UNFILTERED_BARCODES
    if isinstance(filter_empty, bool):
        return filter_empty
    raise ScclastInputError(f"filter_empty={filter_empty!r}: use True, False or 'auto'")


def _finish_cells(
    adata: ad.AnnData,
    name: str,
    filter_empty: bool | str,
    min_genes: int,
) -> ad.AnnData:
    n_barcodes = adata.n_obs
    filtered = _should_filter(filter_empty, name, n_barcodes)
    if filtered:
        adata = filter_empty_droplets(adata, min_genes)
        log.info(
            "%s: kept %d of %d barcodes (>= %d genes)", name, adata.n_obs, n_barcodes, min_genes
        )
    adata.uns["empty_droplet_filter"] = {
        "applied": filtered,
        "min_genes": int(min_genes) if filtered else -1,
        "n_barcodes": int(n_barcodes),
        "n_cells": int(adata.n_obs),
    }
    return adata


# --------------------------------------------------------------------------- public readers


def read_10x_mtx(
    matrix: str | Path,
    features: str | Path,
    barcodes: str | Path,
    *,
    filter_empty: bool | str = "auto",
    min_genes: int = DEFAULT_MIN_GENES,
    gene_map: GeneMap = None,
) -> ad.AnnData:
    """Read one 10x MatrixMarket triplet (v2 ``genes.tsv`` or v3 ``features.tsv``).

    Parameters
    ----------
    matrix, features, barcodes
        The three files, gzipped or not.
    filter_empty
        Drop empty droplets: True, False, or ``"auto"`` (when the matrix looks
        unfiltered: a ``raw``/``unfiltered`` file name or >= 100,000 barcodes).
    min_genes
        Detected genes a barcode needs to count as a cell (default 200).
    gene_map
        Ensembl ID -> symbol mapping for files that carry only IDs.

    Examples
    --------
    The bone-marrow triplet shipped with scclast (v2 layout, ``genes.tsv``):

    >>> import scclast.datasets as ds
    >>> folder = Path(ds.__file__).parent / "data" / "tapseq_baccin_bm"
    >>> adata = read_10x_mtx(
    ...     folder / "matrix.mtx.gz", folder / "genes.tsv", folder / "barcodes.tsv"
    ... )
    >>> adata.shape, adata.uns["scclast"]["dataset"]["reader"]
    ((180, 9891), 'tenx_triplet')
    """
    counts, cells, ids, symbols = _triplet_counts(
        local_member(matrix), local_member(features), local_member(barcodes)
    )
    adata = _finish_cells(
        _cells_adata(counts, cells, ids, symbols), Path(matrix).name, filter_empty, min_genes
    )
    return _single(adata, "tenx_triplet", [matrix, features, barcodes], gene_map)


def read_10x_h5(
    path: str | Path,
    *,
    filter_empty: bool | str = "auto",
    min_genes: int = DEFAULT_MIN_GENES,
    gene_map: GeneMap = None,
) -> ad.AnnData:
    """Read a 10x HDF5 matrix (Cell Ranger 2 or >= 3 layout), Gene Expression only.

    Examples
    --------
    >>> # not run as a test: no Cell Ranger .h5 ships with scclast (the tests build
    >>> # small ones in both layouts: tests/test_datasets_loaders.py)
    >>> adata = read_10x_h5("filtered_feature_bc_matrix.h5")  # doctest: +SKIP
    """
    counts, cells, ids, symbols = _h5_counts(local_member(path))
    adata = _finish_cells(
        _cells_adata(counts, cells, ids, symbols), Path(path).name, filter_empty, min_genes
    )
    return _single(adata, "tenx_h5", [path], gene_map)


def _single(adata: ad.AnnData, reader: str, files: list[Any], gene_map: GeneMap) -> ad.AnnData:
    filt = adata.uns.pop("empty_droplet_filter")
    adata.obs["sample"] = pd.Categorical([Path(str(files[0])).name.split(".")[0]] * adata.n_obs)
    adata.uns["scclast"] = {
        "dataset": {
            "reader": reader,
            "source_files": [Path(str(f)).name for f in files],
            "empty_droplet_filter": filt,
        }
    }
    finalize_var(adata, gene_map)
    add_qc_metrics(adata)
    return adata


def read_mtx_folder(path: str | Path, *, gene_map: GeneMap = None) -> ad.AnnData:
    """Read a folder with ``matrix.mtx[.gz]``, ``genes.tsv``/``features.tsv`` and
    ``barcodes.tsv`` (gzipped or not), plus an optional ``cell_metadata.tsv``.

    ``cell_metadata.tsv`` (tab-separated, first column the cell id, for example
    ``cell``/``celltype``) is joined onto ``obs``. No empty-droplet filter is applied.

    Examples
    --------
    >>> import scclast.datasets as ds
    >>> from importlib import resources
    >>> folder = resources.files("scclast.datasets") / "data" / "tapseq_baccin_bm"
    >>> read_mtx_folder(str(folder)).shape
    (180, 9891)
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ScclastInputError(f"{folder} is not a folder: pass a folder holding matrix.mtx.gz")
    matrix = _first(folder, ("matrix.mtx.gz", "matrix.mtx"))
    features = _first(folder, ("features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"))
    barcodes = _first(folder, ("barcodes.tsv.gz", "barcodes.tsv"))
    counts, cells, ids, symbols = _triplet_counts(
        local_member(matrix), local_member(features), local_member(barcodes)
    )
    adata = _cells_adata(counts, cells, ids, symbols)
    adata.uns["empty_droplet_filter"] = {
        "applied": False,
        "min_genes": -1,
        "n_barcodes": adata.n_obs,
        "n_cells": adata.n_obs,
    }
    metadata = folder / "cell_metadata.tsv"
    if metadata.exists():
        table = pd.read_csv(metadata, sep="\t", dtype=str)
        table = table.set_index(table.columns[0])
        unknown = adata.obs_names.difference(table.index)
        if len(unknown):
            raise ScclastDataError(
                f"{metadata} lacks {len(unknown)} cells of the matrix (e.g. {unknown[0]}): "
                "fix the table"
            )
        for column in table.columns:
            adata.obs[column] = pd.Categorical(table.loc[adata.obs_names, column].to_numpy())
    adata = _single(adata, "mtx_folder", [matrix, features, barcodes], gene_map)
    adata.obs["sample"] = pd.Categorical([folder.name] * adata.n_obs)
    return adata


def _first(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).exists():
            return folder / name
    raise ScclastInputError(f"{folder} has none of {', '.join(names)}: add the file")


# --------------------------------------------------------------------------- GEO


@contextmanager
def tar_members(path: str | Path, samples: Sequence[str] | None = None) -> Iterator[list[Member]]:
    """The files inside a (GEO ``_RAW.tar``) archive, read lazily while the context is open.

    Nested per-sample ``.tar.gz`` members are opened too; their files are named
    ``<outer stem>/<inner name>`` so that they keep the outer ``GSMxxx_`` prefix. With
    ``samples``, nested archives of other GSMs are not opened.

    Examples
    --------
    >>> import tarfile, tempfile
    >>> archive = Path(tempfile.mkdtemp()) / "GSE0_RAW.tar"
    >>> with tarfile.open(archive, "w") as tar:
    ...     tar.addfile(tarfile.TarInfo("GSM1_counts.txt"), io.BytesIO(b""))
    >>> with tar_members(archive) as members:
    ...     [m.name for m in members]
    ['GSM1_counts.txt']
    """
    path = Path(path)
    try:
        archive = tarfile.open(path)
    except (tarfile.TarError, OSError) as err:
        raise ScclastDataError(
            f"{path} is not a readable tar archive ({err}): delete it to download it again"
        ) from err
    with archive:
        members: list[Member] = []
        for info in archive.getmembers():
            name = Path(info.name).name
            if not info.isfile():
                continue
            if _ARCHIVE.search(name):
                if samples and _gsm(name) not in samples:
                    continue  # not wanted: do not decompress it
                data = _extract(archive, info)
                members += _nested_members(data, _ARCHIVE.sub("", name), path)
            else:
                members.append(Member(name, functools.partial(_extract, archive, info)))
        yield members


def _extract(archive: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(info)
    if handle is None:  # pragma: no cover - only regular files are listed
        raise ScclastDataError(f"{info.name} in {archive.name} is not a regular file")
    return handle.read()


def _nested_members(data: bytes, stem: str, outer: Path) -> list[Member]:
    try:
        inner = tarfile.open(fileobj=io.BytesIO(data))
    except tarfile.TarError as err:
        raise ScclastDataError(f"{outer}: member {stem} is a damaged archive ({err})") from err
    with inner:
        payloads = {
            info.name: _extract(inner, info) for info in inner.getmembers() if info.isfile()
        }
    return [
        Member(f"{stem}/{Path(name).name}", functools.partial(bytes, data))
        for name, data in payloads.items()
    ]


@dataclass
class _SampleGroup:
    prefix: str
    parts: dict[str, Member]


def group_members(members: Iterable[Member]) -> tuple[list[_SampleGroup], list[str]]:
    """Group per-sample files by name prefix (``GSMxxx_label``); returns groups and
    the names of files no reader understands."""
    groups: dict[str, _SampleGroup] = {}
    skipped = []
    for member in members:
        part_match = _PART.search(member.name)
        if part_match:
            prefix, part = member.name[: part_match.start()], part_match.group(1).lower()
            part = "features" if part == "genes" else part
        elif _H5.search(member.name):
            prefix, part = _H5.sub("", member.name), "h5"
        elif _TABLE.search(member.name):
            prefix, part = _TABLE.sub("", member.name), "table"
        else:
            skipped.append(member.name)
            continue
        prefix = prefix.rstrip("._/-") or member.name
        group = groups.setdefault(prefix, _SampleGroup(prefix, {}))
        group.parts[part] = member
    return _prefer_filtered(list(groups.values())), skipped


def _prefer_filtered(groups: list[_SampleGroup]) -> list[_SampleGroup]:
    by_gsm: dict[str, list[_SampleGroup]] = {}
    for group in groups:
        by_gsm.setdefault(_gsm(group.prefix) or group.prefix, []).append(group)
    kept = []
    for family in by_gsm.values():
        filtered = [g for g in family if _FILTERED_NAME.search(g.prefix)]
        kept += filtered if filtered and len(filtered) < len(family) else family
    return sorted(kept, key=lambda g: g.prefix)


def _gsm(prefix: str) -> str | None:
    match = _GSM.match(prefix)
    return match.group(1) if match else None


def read_geo_members(
    members: Iterable[Member],
    *,
    filter_empty: bool | str = "auto",
    min_genes: int = DEFAULT_MIN_GENES,
    gene_map: GeneMap = None,
    time_point_pattern: str | None = None,
    samples: Sequence[str] | None = None,
    source: str = "geo",
) -> ad.AnnData:
    """Read per-sample GEO files (10x triplets, 10x HDF5 or count tables) into one AnnData.

    Files are grouped by name prefix; ``obs["sample"]`` is the ``GSMxxx`` accession
    (or the prefix when there is none), ``obs["sample_label"]`` the rest of the prefix.
    Where a GSM has both ``filtered`` and other matrices, only the filtered ones are read.
    ``samples`` keeps only those GSM accessions.
    """
    groups, skipped = group_members(members)
    if samples:
        found = {_gsm(g.prefix) for g in groups}
        missing = sorted(set(samples) - found)
        if missing:
            available = ", ".join(sorted(str(f) for f in found if f)) or "none"
            raise ScclastInputError(
                f"{source} has no files for sample(s) {', '.join(missing)}: available {available}"
            )
        groups = [g for g in groups if _gsm(g.prefix) in samples]
    if not groups:
        raise ScclastDataError(
            f"{source} holds no file scclast can read (10x triplets, .h5, count tables); "
            f"found {', '.join(skipped[:5]) or 'nothing'}"
        )
    adatas, filters = [], {}
    for group in groups:
        adata = _read_group(group, filter_empty, min_genes, source)
        sample = _gsm(group.prefix) or group.prefix
        label = _GSM.sub("", group.prefix) if _gsm(group.prefix) else group.prefix
        if sum((_gsm(g.prefix) or g.prefix) == sample for g in groups) > 1:
            sample = group.prefix
        filters[sample] = adata.uns.pop("empty_droplet_filter", {"applied": False})
        adata.obs_names = [f"{sample}_{b}" for b in adata.obs_names]
        adata.obs["sample"] = sample
        adata.obs["sample_label"] = label
        adatas.append(adata)
    combined = _concat(adatas)
    _add_time_point(combined, time_point_pattern)
    combined.uns["scclast"] = {
        "dataset": {
            "reader": "geo_samples",
            "source_files": sorted(m.name for g in groups for m in g.parts.values()),
            "skipped_files": skipped,
            "empty_droplet_filter": filters,
        }
    }
    finalize_var(combined, gene_map)
    add_qc_metrics(combined)
    return combined


def _read_group(
    group: _SampleGroup, filter_empty: bool | str, min_genes: int, source: str
) -> ad.AnnData:
    parts = group.parts
    if {"matrix", "features", "barcodes"} <= parts.keys():
        counts, cells, ids, symbols = _triplet_counts(
            parts["matrix"], parts["features"], parts["barcodes"]
        )
        return _finish_cells(
            _cells_adata(counts, cells, ids, symbols), group.prefix, filter_empty, min_genes
        )
    if "h5" in parts:
        counts, cells, ids, symbols = _h5_counts(parts["h5"])
        return _finish_cells(
            _cells_adata(counts, cells, ids, symbols), group.prefix, filter_empty, min_genes
        )
    if "table" in parts:
        adata = _table_adata(parts["table"], cells_are_columns=True)
        adata.uns["empty_droplet_filter"] = {"applied": False}
        return adata
    raise ScclastDataError(
        f"{source}: sample {group.prefix} has only {sorted(parts)} of a 10x triplet "
        "(matrix, features/genes, barcodes): the download is incomplete"
    )


def _concat(adatas: list[ad.AnnData]) -> ad.AnnData:
    if len(adatas) == 1:
        combined = adatas[0]
    else:
        var = pd.concat([a.var for a in adatas])
        symbols = var.groupby(level=0, sort=False)["gene_symbols"].agg(
            lambda values: next((v for v in values if v), "")
        )
        var = var[~var.index.duplicated(keep="first")].copy()
        var["gene_symbols"] = symbols.loc[var.index].to_numpy()
        combined = ad.concat(adatas, join="outer", merge="first", fill_value=0)
        combined.var = var.loc[combined.var_names]
    combined.X = sp.csr_matrix(combined.X, dtype=np.float32)
    combined.obs["sample"] = pd.Categorical(combined.obs["sample"].astype(str))
    combined.obs["sample_label"] = pd.Categorical(combined.obs["sample_label"].astype(str))
    return combined


def _add_time_point(adata: ad.AnnData, pattern: str | None) -> None:
    if not pattern:
        return
    regex = re.compile(pattern)
    source = (
        adata.obs["sample_label"].astype(str)
        if "sample_label" in adata.obs
        else adata.obs_names.to_series()
    )

    def one(text: str) -> str:
        match = regex.search(text)
        if not match:
            return "unknown"
        value = next((g for g in match.groups() if g is not None), match.group(0))
        return f"day{int(value)}" if value.isdigit() else value

    values = source.map(one)
    if (values != "unknown").any():
        adata.obs["time_point"] = pd.Categorical(values.to_numpy())


def read_geo_raw_tar(
    path: str | Path, *, samples: Sequence[str] | None = None, **kwargs: Any
) -> ad.AnnData:
    """Read a GEO ``GSExxx_RAW.tar`` of per-sample files (see :func:`read_geo_members`).

    Members are read straight from the archive (nothing is unpacked on disk);
    ``samples`` reads only those GSM accessions.

    Examples
    --------
    An archive holding one sample's 10x triplet (the bone-marrow files shipped with
    scclast, named as GEO names them):

    >>> import tarfile, tempfile
    >>> import scclast.datasets as ds
    >>> folder = Path(ds.__file__).parent / "data" / "tapseq_baccin_bm"
    >>> archive = Path(tempfile.mkdtemp()) / "GSE0_RAW.tar"
    >>> with tarfile.open(archive, "w") as tar:
    ...     for name in ("matrix.mtx.gz", "genes.tsv", "barcodes.tsv"):
    ...         tar.add(folder / name, arcname=f"GSM1_bm_{name}")
    >>> adata = read_geo_raw_tar(archive)
    >>> adata.n_obs, adata.obs["sample"].unique().tolist()
    (180, ['GSM1'])
    """
    with tar_members(path, samples) as members:
        return read_geo_members(members, source=str(path), samples=samples, **kwargs)


def read_geo_files(paths: Iterable[str | Path], **kwargs: Any) -> ad.AnnData:
    """Read loose per-sample GEO files (``GSMxxx_...``) into one AnnData."""
    paths = list(paths)
    return read_geo_members(
        (local_member(p) for p in paths),
        source=", ".join(Path(p).name for p in paths[:3]),
        **kwargs,
    )


# --------------------------------------------------------------------------- tables


def _table_adata(member: Member, *, cells_are_columns: bool = True) -> ad.AnnData:
    text = _payload(member).decode("utf-8", errors="replace")
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first else "," if "," in first else r"\s+"
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, engine="python" if sep == r"\s+" else "c")
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
    if _mostly_ensembl(genes):
        ids: list[str | None] = list(genes)
        symbols: list[str | None] = (
            [s if isinstance(s, str) and s else None for s in frame[symbol_col]]
            if symbol_col
            else [None] * len(genes)
        )
    else:
        ids, symbols = [None] * len(genes), list(genes)
    values = frame[numeric].to_numpy(dtype=np.float32)
    X = values.T if cells_are_columns else values
    keys = pd.Index(_gene_keys(ids, symbols))
    var = pd.DataFrame(
        {"gene_ids": [i or "" for i in ids], "gene_symbols": [s or "" for s in symbols]}, index=keys
    )
    for column in annotations:
        if column != symbol_col:
            var[str(column)] = frame[column].astype(str).to_numpy()
    obs = pd.DataFrame(
        {"barcode": [str(c) for c in numeric]}, index=pd.Index([str(c) for c in numeric])
    )
    adata = ad.AnnData(X=sp.csr_matrix(X), obs=obs, var=var)
    if adata.var_names.duplicated().any():
        adata.var_names_make_unique()
    adata.uns["integer_counts"] = bool(np.all(np.mod(values, 1) == 0))
    return adata


def read_count_table(
    path: str | Path,
    *,
    gene_map: GeneMap = None,
    time_point_pattern: str | None = None,
) -> ad.AnnData:
    """Read a genes x samples count table (tab, comma or space separated; gzipped or not).

    The first column holds gene IDs or symbols; other non-numeric columns (e.g.
    ``gene_name``) become ``var`` columns, and a symbol column is used for names when
    the first column holds Ensembl IDs. Each sample column becomes an observation
    (``obs["sample"]``), with ``obs["time_point"]`` read from the column name by
    ``time_point_pattern`` (first group; digits become ``day<N>``).

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
    adata = _table_adata(member, cells_are_columns=True)
    integer = adata.uns.pop("integer_counts")
    adata.X = adata.X.toarray()
    adata.obs = adata.obs.drop(columns="barcode")
    adata.obs["sample"] = pd.Categorical(adata.obs_names)
    adata.obs["sample_label"] = adata.obs["sample"]
    _add_time_point(adata, time_point_pattern)
    adata.uns["scclast"] = {
        "dataset": {
            "reader": "count_table",
            "source_files": [member.name],
            "integer_counts": integer,
            "observations": "samples (bulk RNA-seq), not cells",
        }
    }
    finalize_var(adata, gene_map)
    if not integer:
        log.warning("%s holds non-integer values: these may not be raw counts", member.name)
    return adata
