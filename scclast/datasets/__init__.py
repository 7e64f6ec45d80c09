"""Public osteoclast-lineage datasets, a bundled offline example, and the simulator.

Every loader returns an :class:`~anndata.AnnData` with raw counts in ``X``,
``obs["sample"]`` and ``obs["dataset"]``, gene symbols as ``var_names`` (Ensembl IDs in
``var["gene_ids"]``) and its source in ``uns["scclast"]["dataset"]``.

* Offline, shipped in the package: :func:`example` (SYNTHETIC osteoclastogenesis data),
  :func:`example_conditions` (SYNTHETIC, 3 control and 3 treated animals) and
  :func:`bone_marrow_baccin2020` (real mouse bone marrow, no osteoclasts).
* Downloaded once from GEO through pooch, then verified on every use (trust on first
  use, see ``scclast datasets verify``): :func:`tsukasaki2020_bmm_rankl`,
  :func:`zhong2020_endosteal_bm`, :func:`baryawno2019_bone_stroma`,
  :func:`qiu2021_femoral_head`, :func:`hansen2024_monocyte_osteoclast_bulk`; or any
  registry key through :func:`load`.
* :func:`simulate_osteoclastogenesis` makes larger or harder synthetic data: animals,
  conditions, decoy and osteoblast-lineage states (:func:`state_table`), planted effects
  and a differentiation axis.

The cache is ``pooch.os_cache("scclast")`` or ``$SCCLAST_DATA_DIR``; set
``SCCLAST_OFFLINE=1`` to forbid downloads.

Examples
--------
>>> import scclast.datasets as ds
>>> adata = ds.example()
>>> adata.uns["scclast"]["dataset"]["synthetic"]
True
>>> [key for key, status in ds.list_datasets()[["key", "status"]].values if status == "bundled"]
['example_osteoclastogenesis', 'bone_marrow_baccin2020', 'example_conditions']
"""

from __future__ import annotations

from typing import Any

import anndata as ad
import pandas as pd

from scclast._provenance import to_jsonable
from scclast.datasets._cache import (
    TRUST_ON_FIRST_USE,
    cache_dir,
    cache_relpath,
    file_url,
    geo_url,
    lock_path,
    package_path,
    read_lock,
    verify,
)
from scclast.datasets._download import fetch
from scclast.datasets._example_conditions import example_conditions
from scclast.datasets._genes import read_gene_map, read_gtf_gene_map
from scclast.datasets._geo import read_geo_files, read_geo_raw_tar
from scclast.datasets._listing import parse_filelist
from scclast.datasets._loaders import check_options, read_entry, resolve_gene_map
from scclast.datasets._qc import DEFAULT_MIN_GENES, add_qc_metrics, filter_empty_droplets
from scclast.datasets._registry import DatasetEntry, get_entry, load_registry
from scclast.datasets._simulate import (
    STATES,
    SYNTHETIC_STATEMENT,
    parameters_from_uns,
    simulate_osteoclastogenesis,
    state_table,
)
from scclast.datasets._tables import read_count_table
from scclast.datasets._tenx import read_10x_h5, read_10x_mtx, read_mtx_folder

__all__ = [
    "DEFAULT_MIN_GENES",
    "STATES",
    "SYNTHETIC_STATEMENT",
    "add_qc_metrics",
    "baryawno2019_bone_stroma",
    "bone_marrow_baccin2020",
    "cache_dir",
    "example",
    "example_conditions",
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
    "read_gtf_gene_map",
    "read_lock",
    "read_mtx_folder",
    "simulate_osteoclastogenesis",
    "state_table",
    "tsukasaki2020_bmm_rankl",
    "verify",
    "zhong2020_endosteal_bm",
]


def list_datasets() -> pd.DataFrame:
    """The registry as a table: key, accession, status, organism, data type, citation, DOI.

    Examples
    --------
    >>> table = list_datasets().set_index("key")
    >>> table.loc["mcdonald2021_osteomorph", "status"]
    'unavailable'
    >>> table.loc["zhong2020_endosteal_bm", "accessions"]
    'GSE145477'
    """
    rows = [
        {
            "key": e.key,
            "accessions": ",".join(e.raw.get("accessions") or []),
            "status": e.status,
            "organism": e.organism,
            "data_type": e.data_type,
            "system": e.raw.get("system", ""),
            "citation": e.citation(),
            "doi": e.doi or "",
            "title": e.title,
        }
        for e in load_registry().values()
    ]
    return pd.DataFrame(rows)


def info(key: str) -> dict[str, Any]:
    """Everything the registry says about ``key``, plus the state of its cached files.

    Files without a pinned sha256 say so in ``integrity`` (trust on first use).

    Examples
    --------
    >>> record = info("hansen2024_monocyte_osteoclast_bulk")
    >>> record["doi"], record["files"][0]["integrity"].startswith("no sha256 is pinned")
    ('10.1038/s41413-023-00312-6', True)
    """
    entry = get_entry(key)
    lock = read_lock()
    files = []
    for spec in entry.files:
        if spec.path:
            where, url, recorded = package_path(spec), None, None
            integrity = "bundled in the package"
        else:
            relpath = cache_relpath(spec, key)
            where, url = cache_dir() / relpath, file_url(spec)
            recorded = lock.get(relpath, {}).get("sha256")
            integrity = "sha256 pinned in the registry" if spec.sha256 else TRUST_ON_FIRST_USE
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
                "integrity": integrity,
            }
        )
    record = {**entry.raw, "files": files}
    if entry.discover is not None:
        listing = f"{entry.discover.accession}/filelist.txt"
        picked = lock.get(listing, {}).get("selected", {}).get(key)
        record["discovered_files"] = picked if picked else "not yet (run `scclast datasets fetch`)"
        record["integrity"] = f"discovered files: {TRUST_ON_FIRST_USE}"
    return record


def load(key: str, *, samples: list[str] | None = None, **options: Any) -> ad.AnnData:
    """Load registry dataset ``key`` as one AnnData, downloading its files once.

    Parameters
    ----------
    key
        A registry key (``scclast datasets list``).
    samples
        Only these GSM accessions (datasets split into per-sample files); default: the
        entry's ``default_samples`` if it names some, else all.
    **options
        Reader options overriding the registry's ``loader_options``: ``filter_empty``
        (True/False/"auto"), ``min_genes`` (empty-droplet filter, default 200), ``qc``
        (``{"min_genes", "max_genes", "max_pct_mt"}``), ``gene_map`` (an Ensembl GTF
        registry key, a table or GTF path, or a dict), ``time_point_pattern``,
        ``sample_fields``, ``reporter_genes``, ``sample_annotations``
        (:mod:`scclast.datasets._loaders`).

    Examples
    --------
    >>> adata = load("bone_marrow_baccin2020")
    >>> adata.obs["dataset"].iloc[0]
    'bone_marrow_baccin2020'
    """
    check_options(options)
    entry = get_entry(key)
    if samples is None:
        samples = entry.raw.get("default_samples") or None
    pairs = fetch(key, samples=samples)
    opts = {**entry.loader_options, **options}
    gene_map = resolve_gene_map(opts.get("gene_map"), fetch)
    adata = read_entry(entry, [path for _, path in pairs], opts, samples, gene_map)
    adata.obs["dataset"] = pd.Categorical([key] * adata.n_obs)
    block = adata.uns.setdefault("scclast", {}).setdefault("dataset", {})
    block.update(_source_block(entry, pairs, opts))
    return adata


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
        "loader_options": {
            k: (v if k != "gene_map" or isinstance(v, str) else "given") for k, v in opts.items()
        },
        "files": files,
    }
    return to_jsonable(block)


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


def tsukasaki2020_bmm_rankl(**options: Any) -> ad.AnnData:
    """Mouse bone-marrow macrophages + RANKL, day 0/1/3 (Tsukasaki et al. 2020, Nat Metab).

    GEO GSE147174 (10x v2; about 7,228 cells reported). The per-sample files (Day0,
    Day1, Day3) are discovered from GEO's ``suppl/filelist.txt`` at first download.
    Public re-analysis code (not checked against GEO here) reads them as *unfiltered*
    matrices of all 737,280 barcodes of the 10x v2 whitelist, with Ensembl IDs only.
    They are reduced to cells by the registry's rule (:mod:`scclast.datasets._qc`):
    more than 200 detected genes (2,385 / 6,188 / 5,708 barcodes in that re-analysis),
    then 500 < genes < 6,000 and under 10% mitochondrial counts (2,058 / 2,687 / 2,052
    cells); the counts kept at each step are logged and stored in
    ``uns["scclast"]["dataset"]["empty_droplet_filter"]``. Symbols come from the Ensembl
    GTF registry entry ``ensembl_mus_musculus_grcm38_93_genes`` (fetched and hashed like
    any registry file), or from ``gene_map=`` (a table or GTF of yours). Registry
    status: unverified.

    Examples
    --------
    >>> # not run as a test: downloads the GEO files and the Ensembl GTF on first use
    >>> adata = tsukasaki2020_bmm_rankl()  # doctest: +SKIP
    >>> adata.obs["time_point"].value_counts()  # doctest: +SKIP
    """
    return load("tsukasaki2020_bmm_rankl", **options)


def zhong2020_endosteal_bm(**options: Any) -> ad.AnnData:
    """Mouse endosteal bone marrow with monocyte-progenitor, macrophage and osteoclast
    clusters (Zhong et al. 2020 eLife; Yu et al. 2021 JCI), GEO GSE145477 ``_RAW.tar``.

    Public re-analysis code describes the archive (about 73.7 MB) as four dense,
    space-separated text matrices, ``GSM4318799_1M_matrix.txt`` ...
    ``GSM4318802_16M_matrix.txt`` (mice of 1, 1.5, 3 and 16 months): gene symbols as
    rows, cells as columns, with a ``tomato`` reporter row, which is moved to
    ``obs["reporter_tomato"]``; the age is in ``obs["age"]``. Registry status:
    unverified (hashed on first download).

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
    a non-lineage reference. ``samples=["GSM3674239"]`` loads only some samples.

    Per-GSM 10x triplets discovered from GEO's listing; public re-analysis code names
    bone samples GSM3674239-GSM3674242 and marrow samples GSM3674243, GSM3674244 and
    GSM3674246 (``obs["tissue"]``). Registry status: unverified.

    Examples
    --------
    >>> # not run as a test: downloads the sample's files from GEO on first use
    >>> adata = baryawno2019_bone_stroma(samples=["GSM3674239"])  # doctest: +SKIP
    """
    return load("baryawno2019_bone_stroma", samples=samples, **options)


def qiu2021_femoral_head(**options: Any) -> ad.AnnData:
    """Human femoral head single cells (Qiu et al. 2021, Aging), GEO GSE169396.

    ``GSE169396_RAW.tar`` (about 134.2 MB) holds, per public re-analysis code, four 10x
    v3 triplets ``GSM5201883_S1`` ... ``GSM5201886_S4`` (``_barcodes.tsv.gz``,
    ``_features.tsv.gz`` with Ensembl IDs and symbols, ``_matrix.mtx.gz``); one
    re-analysis kept 18,205 cells. The accession-to-paper link is inferred, not
    confirmed. Registry status: unverified.

    Examples
    --------
    >>> # not run as a test: downloads the GEO files on first use
    >>> adata = qiu2021_femoral_head()  # doctest: +SKIP
    """
    return load("qiu2021_femoral_head", **options)


def hansen2024_monocyte_osteoclast_bulk(**options: Any) -> ad.AnnData:
    """Human CD14+ monocytes to osteoclasts, bulk RNA-seq day 0/2/5/9 from 8 donors
    (Hansen et al. 2024, Bone Research), GEO GSE246769: one observation per sample.

    ``GSE246769_RNAcounts_Differentiation.txt.gz`` (about 2.0 MB) is, per the authors'
    public analysis code, a HOMER count table: eight annotation columns, then 29 samples
    named ``Donor_Timepoint`` (``Donor1_d0`` ...); the symbol is the first
    ``|``-separated field of ``Annotation/Divergence``. Donors 5, 7 and 8 have no day-0
    sample (``uns["scclast"]["dataset"]["missing_samples"]``). ``obs["donor"]`` and
    ``obs["time_point"]`` come from the sample names. Registry status: unverified.

    Examples
    --------
    >>> # not run as a test: downloads the count table from GEO on first use
    >>> bulk = hansen2024_monocyte_osteoclast_bulk()  # doctest: +SKIP
    """
    return load("hansen2024_monocyte_osteoclast_bulk", **options)
