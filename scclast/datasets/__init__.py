"""Public osteoclast-lineage datasets, a bundled offline example, and the simulator.

Every loader returns an :class:`~anndata.AnnData` with raw counts in ``X``,
``obs["sample"]`` and ``obs["dataset"]``, gene symbols as ``var_names`` (Ensembl IDs in
``var["gene_ids"]``) and its source in ``uns["scclast"]["dataset"]``.

* Offline, shipped in the package: :func:`example` (SYNTHETIC osteoclastogenesis data)
  and :func:`bone_marrow_baccin2020` (real mouse bone marrow, no osteoclasts).
* Downloaded once from GEO through pooch, then verified on every use (trust on first
  use, see ``scclast datasets verify``): :func:`tsukasaki2020_bmm_rankl`,
  :func:`zhong2020_endosteal_bm`, :func:`baryawno2019_bone_stroma`,
  :func:`qiu2021_femoral_head`, :func:`hansen2024_monocyte_osteoclast_bulk`; or any
  registry key through :func:`load`.
* :func:`simulate_osteoclastogenesis` makes larger or harder synthetic data.

The cache is ``pooch.os_cache("scclast")`` or ``$SCCLAST_DATA_DIR``; set
``SCCLAST_OFFLINE=1`` to forbid downloads.

Examples
--------
>>> import scclast.datasets as ds
>>> adata = ds.example()
>>> adata.uns["scclast"]["dataset"]["synthetic"]
True
>>> [key for key, status in ds.list_datasets()[["key", "status"]].values if status == "bundled"]
['example_osteoclastogenesis', 'bone_marrow_baccin2020']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from scclast._errors import ScclastDataError
from scclast._provenance import to_jsonable
from scclast.datasets._fetch import (
    cache_dir,
    cache_relpath,
    fetch,
    file_url,
    geo_url,
    lock_path,
    package_path,
    parse_filelist,
    read_lock,
    verify,
)
from scclast.datasets._loaders import (
    DEFAULT_MIN_GENES,
    add_qc_metrics,
    filter_empty_droplets,
    read_10x_h5,
    read_10x_mtx,
    read_count_table,
    read_gene_map,
    read_geo_files,
    read_geo_raw_tar,
    read_mtx_folder,
)
from scclast.datasets._registry import DatasetEntry, get_entry, load_registry
from scclast.datasets._simulate import (
    STATES,
    SYNTHETIC_STATEMENT,
    parameters_from_uns,
    simulate_osteoclastogenesis,
)

__all__ = [
    "DEFAULT_MIN_GENES",
    "STATES",
    "SYNTHETIC_STATEMENT",
    "add_qc_metrics",
    "baryawno2019_bone_stroma",
    "bone_marrow_baccin2020",
    "cache_dir",
    "example",
    "fetch",
    "filter_empty_droplets",
    "geo_url",
    "hansen2024_monocyte_osteoclast_bulk",
    "info",
    "list_datasets",
    "load",
    "lock_path",
    "parameters_from_uns",
    "parse_filelist",
    "qiu2021_femoral_head",
    "read_10x_h5",
    "read_10x_mtx",
    "read_count_table",
    "read_gene_map",
    "read_geo_files",
    "read_geo_raw_tar",
    "read_lock",
    "read_mtx_folder",
    "simulate_osteoclastogenesis",
    "tsukasaki2020_bmm_rankl",
    "verify",
    "zhong2020_endosteal_bm",
]

_READER_OPTIONS = ("filter_empty", "min_genes", "gene_map", "time_point_pattern")


# --------------------------------------------------------------------------- registry


def list_datasets() -> pd.DataFrame:
    """The registry as a table: key, status, organism, data type, citation, DOI, title.

    Examples
    --------
    >>> table = list_datasets()
    >>> table.set_index("key").loc["mcdonald2021_osteomorph", "status"]
    'unavailable'
    """
    rows = [
        {
            "key": e.key,
            "status": e.status,
            "organism": e.organism,
            "data_type": e.raw.get("data_type", ""),
            "system": e.raw.get("system", ""),
            "citation": e.citation(),
            "doi": e.doi or "",
            "accessions": ",".join(e.raw.get("accessions") or []),
            "title": e.title,
        }
        for e in load_registry().values()
    ]
    return pd.DataFrame(rows)


def info(key: str) -> dict[str, Any]:
    """Everything the registry says about ``key``, plus the state of its cached files.

    Examples
    --------
    >>> info("hansen2024_monocyte_osteoclast_bulk")["doi"]
    '10.1038/s41413-023-00312-6'
    """
    entry = get_entry(key)
    lock = read_lock()
    files = []
    for spec in entry.files:
        if spec.path:
            where, url, recorded = package_path(spec), None, None
        else:
            relpath = cache_relpath(spec, key)
            where, url = cache_dir() / relpath, file_url(spec)
            recorded = lock.get(relpath, {}).get("sha256")
        files.append(
            {
                "name": spec.name,
                "url": url,
                "local_path": str(where),
                "cached": where.exists(),
                "size": spec.size,
                "approx_size": spec.approx_size,
                "sha256_pinned": spec.sha256,
                "sha256_recorded": recorded,
            }
        )
    record = {**entry.raw, "files": files}
    if entry.discover is not None:
        listing = f"{entry.discover.accession}/filelist.txt"
        picked = lock.get(listing, {}).get("selected", {}).get(key)
        record["discovered_files"] = picked if picked else "not yet (run `scclast datasets fetch`)"
    return record


# --------------------------------------------------------------------------- loading


def load(key: str, *, samples: list[str] | None = None, **options: Any) -> ad.AnnData:
    """Load registry dataset ``key`` as one AnnData, downloading its files once.

    Parameters
    ----------
    key
        A registry key (``scclast datasets list``).
    samples
        Only these GSM accessions (datasets split into per-sample files).
    **options
        Reader options overriding the registry's ``loader_options``: ``filter_empty``
        (True/False/"auto"), ``min_genes`` (empty-droplet filter, default 200),
        ``gene_map`` (Ensembl ID -> symbol table or dict), ``time_point_pattern``.

    Examples
    --------
    >>> adata = load("bone_marrow_baccin2020")
    >>> adata.obs["dataset"].iloc[0]
    'bone_marrow_baccin2020'
    """
    unknown = set(options) - set(_READER_OPTIONS)
    if unknown:
        raise ScclastDataError(f"unknown loader option(s) {sorted(unknown)}: use {_READER_OPTIONS}")
    entry = get_entry(key)
    pairs = fetch(key, samples=samples)
    opts = {**entry.loader_options, **options}
    adata = _read(entry, [path for _, path in pairs], opts, samples)
    adata.obs["dataset"] = pd.Categorical([key] * adata.n_obs)
    block = adata.uns.setdefault("scclast", {}).setdefault("dataset", {})
    block.update(_source_block(entry, pairs, opts))
    return adata


def _read(
    entry: DatasetEntry, paths: list[Path], opts: dict[str, Any], samples: list[str] | None
) -> ad.AnnData:
    kind = entry.loader
    cells = {k: opts[k] for k in ("filter_empty", "min_genes", "gene_map") if k in opts}
    if kind == "bundled_h5ad":
        return ad.read_h5ad(paths[0])
    if kind == "mtx_folder":
        return read_mtx_folder(paths[0], gene_map=opts.get("gene_map"))
    if kind == "geo_raw_tar":
        tp = opts.get("time_point_pattern")
        parts = [
            read_geo_raw_tar(p, samples=samples, time_point_pattern=tp, **cells) for p in paths
        ]
        return parts[0] if len(parts) == 1 else ad.concat(parts, join="outer", merge="first")
    if kind == "geo_samples":
        return read_geo_files(paths, time_point_pattern=opts.get("time_point_pattern"), **cells)
    if kind == "tenx_triplet":
        matrix, features, barcodes = _triplet_order(paths)
        return read_10x_mtx(matrix, features, barcodes, **cells)
    if kind == "tenx_h5":
        return read_10x_h5(paths[0], **cells)
    if kind == "count_table":
        return read_count_table(
            paths[0],
            gene_map=opts.get("gene_map"),
            time_point_pattern=opts.get("time_point_pattern"),
        )
    raise ScclastDataError(
        f"dataset {entry.key!r} has no loader ({kind!r}): see its registry entry"
    )


def _triplet_order(paths: list[Path]) -> tuple[Path, Path, Path]:
    def pick(*words: str) -> Path:
        return next(p for p in paths if any(w in p.name for w in words))

    return pick("matrix"), pick("features", "genes"), pick("barcodes")


def _source_block(entry: DatasetEntry, pairs: list[Any], opts: dict[str, Any]) -> dict[str, Any]:
    lock = read_lock()
    # Keyed by file name, not a list of records: h5ad cannot store lists of mappings.
    files = {}
    for spec, path in pairs:
        relpath = None if spec.path else cache_relpath(spec, entry.key)
        files[spec.name] = {
            "url": file_url(spec) or "bundled",
            "sha256": (lock.get(relpath, {}).get("sha256") if relpath else None)
            or spec.sha256
            or "",
            "local_path": str(path),
        }
    block = {
        "key": entry.key,
        "title": entry.title,
        "citation": entry.citation(),
        "doi": entry.doi or "",
        "accessions": list(entry.raw.get("accessions") or []),
        "status": entry.status,
        "synthetic": entry.synthetic,
        "licence": entry.raw.get("licence") or "",
        "loader": entry.loader,
        "loader_options": {k: v for k, v in opts.items() if k != "gene_map"},
        "files": files,
    }
    return to_jsonable(block)


# --------------------------------------------------------------------------- bundled


def example() -> ad.AnnData:
    """A small SYNTHETIC osteoclastogenesis dataset shipped with scclast (no network).

    About 3,000 simulated mouse cells x 2,500 genes made by
    :func:`simulate_osteoclastogenesis` (seed 0): macrophages, osteoclast precursors,
    mature osteoclasts, a planted osteoclast-lineage subpopulation with a raised
    clastokine programme (``state_true == "osteoclast_secretory"``), and non-lineage
    stromal cells that express Ctsk, Mmp9 and Acp5 but no myeloid identity gene. The
    counts are simulated, not measured: ``uns["scclast_simulation"]`` holds the
    statement, the seed and every parameter. Group by ``obs["cluster"]``
    (``"0"``..``"4"``; ``uns["scclast_simulation"]["cluster_to_state"]`` maps them).

    Examples
    --------
    >>> adata = example()
    >>> adata.uns["scclast_simulation"]["synthetic"]
    True
    >>> "osteoclast_secretory" in set(adata.obs["state_true"])
    True
    """
    return load("example_osteoclastogenesis")


def bone_marrow_baccin2020() -> ad.AnnData:
    """Real mouse bone-marrow counts with no osteoclasts (a background reference).

    9,891 genes x 180 cells of eight haematopoietic populations from Baccin et al. 2020
    (Nat Cell Biol, doi 10.1038/s41556-019-0439-6), as subset in the MIT-licensed TAPseq
    R package: the top 5% cells by UMI of each population. ``obs["celltype"]`` holds the
    published labels. Ctsk, Mmp9, Dcstamp, Ocstamp, Calcr, Adgre1 and Tnfrsf11a were
    removed upstream (low counts). Shipped in the package: loads with no network.

    Examples
    --------
    >>> adata = bone_marrow_baccin2020()
    >>> adata.shape
    (180, 9891)
    >>> int((adata.obs["celltype"] == "Erythroblasts").sum())
    53
    """
    return load("bone_marrow_baccin2020")


# --------------------------------------------------------------------------- GEO


def tsukasaki2020_bmm_rankl(**options: Any) -> ad.AnnData:
    """Mouse bone-marrow macrophages + RANKL, day 0/1/3 (Tsukasaki et al. 2020, Nat Metab).

    GEO GSE147174 (10x; about 7,228 cells reported). The files are discovered from
    GEO's ``suppl/filelist.txt`` at first download. The matrices are reported to be
    unfiltered with Ensembl IDs only: barcodes with < 200 detected genes are dropped
    (``min_genes=``), and ``gene_map=`` (an Ensembl ID -> symbol table, for example an
    Ensembl BioMart export) gives symbol names. Registry status: unverified.

    Examples
    --------
    >>> # not run as a test: downloads the GEO files on first use
    >>> adata = tsukasaki2020_bmm_rankl(gene_map="mouse_biomart.tsv")  # doctest: +SKIP
    """
    return load("tsukasaki2020_bmm_rankl", **options)


def zhong2020_endosteal_bm(**options: Any) -> ad.AnnData:
    """Mouse endosteal bone marrow with monocyte-progenitor, macrophage and osteoclast
    clusters (Zhong et al. 2020 eLife; Yu et al. 2021 JCI), GEO GSE145477 ``_RAW.tar``.

    Registry status: unverified (about 73.7 MB; hashed on first download).

    Examples
    --------
    >>> # not run as a test: downloads about 74 MB from GEO on first use
    >>> adata = zhong2020_endosteal_bm()  # doctest: +SKIP

    Offline (``SCCLAST_OFFLINE=1``) with an empty cache, the error says what to download
    and where to put it:

    >>> import tempfile
    >>> from unittest import mock
    >>> offline = {"SCCLAST_OFFLINE": "1", "SCCLAST_DATA_DIR": tempfile.mkdtemp()}
    >>> with mock.patch.dict("os.environ", offline):  # doctest: +ELLIPSIS
    ...     zhong2020_endosteal_bm()
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastDataError: GSE145477_RAW.tar is not in the cache and SCCLAST_OFFLINE ...
    """
    return load("zhong2020_endosteal_bm", **options)


def baryawno2019_bone_stroma(samples: list[str] | None = None, **options: Any) -> ad.AnnData:
    """Mouse bone and marrow stroma (Baryawno et al. 2019, Cell), GEO GSE128423:
    a non-lineage reference. ``samples=["GSM3674224"]`` loads only some samples.

    Registry status: unverified (per-sample files discovered from GEO's listing).

    Examples
    --------
    >>> # not run as a test: downloads the sample's files from GEO on first use
    >>> adata = baryawno2019_bone_stroma(samples=["GSM3674224"])  # doctest: +SKIP
    """
    return load("baryawno2019_bone_stroma", samples=samples, **options)


def qiu2021_femoral_head(**options: Any) -> ad.AnnData:
    """Human femoral head single cells (Qiu et al. 2021, Aging), GEO GSE169396.

    The accession-to-paper link is inferred, not confirmed. Registry status: unverified.

    Examples
    --------
    >>> # not run as a test: downloads the GEO files on first use
    >>> adata = qiu2021_femoral_head()  # doctest: +SKIP
    """
    return load("qiu2021_femoral_head", **options)


def hansen2024_monocyte_osteoclast_bulk(**options: Any) -> ad.AnnData:
    """Human CD14+ monocytes to osteoclasts, bulk RNA-seq day 0/2/5/9 from 8 donors
    (Hansen et al. 2024, Bone Research), GEO GSE246769: one observation per sample.

    Registry status: unverified.

    Examples
    --------
    >>> # not run as a test: downloads the count table from GEO on first use
    >>> bulk = hansen2024_monocyte_osteoclast_bulk()  # doctest: +SKIP
    """
    return load("hansen2024_monocyte_osteoclast_bulk", **options)
