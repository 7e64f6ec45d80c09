"""The dataset registry: ``_registry.yaml`` read into typed, validated entries.

The shipped registry can be extended (or, key by key, overridden) with YAML files of the
same schema named in ``SCCLAST_REGISTRY`` (paths separated by ``os.pathsep``): private
datasets, or test fixtures served from 127.0.0.1.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from scclast._errors import ScclastDataError, ScclastInputError

STATUSES: tuple[str, ...] = ("bundled", "verified", "unverified", "unavailable")
"""Allowed values of an entry's ``status``."""

LOADERS: tuple[str, ...] = (
    "bundled_h5ad",
    "mtx_folder",
    "geo_samples",
    "geo_raw_tar",
    "tenx_triplet",
    "tenx_h5",
    "count_table",
    "homer_counts",
    "ensembl_gtf",
)
"""Allowed values of an entry's ``loader`` (see :mod:`scclast.datasets._loaders`)."""

REGISTRY_ENV = "SCCLAST_REGISTRY"
# libyaml's loader when PyYAML was built with it (several times faster; same result)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REQUIRED = ("key", "title", "organism", "status", "files")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ACCESSION = re.compile(r"^(GSE|GSM)\d+$")
_SOURCES = ("geo", "ensembl", "url", "path")


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset: where it lives and what is known about it.

    Exactly one of ``geo`` (a GSE/GSM accession whose ``suppl/`` folder holds ``name``),
    ``ensembl`` (a path below Ensembl's FTP ``pub/`` folder), ``url`` (any other address)
    or ``path`` (inside the installed package) is set.
    """

    name: str
    geo: str | None = None
    ensembl: str | None = None
    url: str | None = None
    path: str | None = None
    format: str | None = None
    size: int | None = None
    sha256: str | None = None
    approx_size: str | None = None
    discovered_from: str | None = None


@dataclass(frozen=True)
class Discovery:
    """Pick a dataset's files from GEO's per-series ``suppl/filelist.txt``."""

    accession: str
    include: str
    fetch_from: str = "samples"


@dataclass(frozen=True)
class DatasetEntry:
    """One registry entry (see ``_registry.yaml`` for the meaning of each field)."""

    key: str
    title: str
    organism: str
    status: str
    files: tuple[FileSpec, ...]
    loader: str | None = None
    loader_options: dict[str, Any] = field(default_factory=dict)
    discover: Discovery | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def doi(self) -> str | None:
        """The DOI of the dataset's paper, if any."""
        return self.raw.get("doi")

    @property
    def data_type(self) -> str:
        """``single-cell``, ``bulk`` or ``annotation`` as the registry says; ``""`` if unsaid."""
        return str(self.raw.get("data_type", ""))

    @property
    def synthetic(self) -> bool:
        """True for simulated data."""
        return bool(self.raw.get("synthetic", False))

    def citation(self) -> str:
        """A short reference: ``"Tsukasaki et al. 2020, Nature Metabolism"``."""
        author, year, journal = (self.raw.get(k) for k in ("first_author", "year", "journal"))
        if not author:
            return "synthetic (scclast)" if self.synthetic else "-"
        return f"{author} et al. {year}, {journal}"


def shipped_registry_path() -> Path:
    """Path of the registry YAML shipped inside the package."""
    return Path(str(resources.files("scclast.datasets").joinpath("_registry.yaml")))


def load_registry() -> dict[str, DatasetEntry]:
    """All registry entries by key: the shipped file, then any ``SCCLAST_REGISTRY`` files.

    Examples
    --------
    >>> entries = load_registry()
    >>> entries["hansen2024_monocyte_osteoclast_bulk"].organism
    'human'
    """
    paths = [shipped_registry_path()]
    extra = os.environ.get(REGISTRY_ENV, "")
    paths += [Path(p).expanduser() for p in extra.split(os.pathsep) if p.strip()]
    entries: dict[str, DatasetEntry] = {}
    for path in paths:
        for raw in _read(path):
            entry = parse_entry(raw, where=str(path))
            entries[entry.key] = entry
    return entries


def get_entry(key: str) -> DatasetEntry:
    """The registry entry ``key``; a one-line error listing the known keys otherwise.

    Examples
    --------
    >>> get_entry("tsukasaki2020_bmm_rankl").raw["accessions"]
    ['GSE147174']
    """
    entries = load_registry()
    if key not in entries:
        known = ", ".join(sorted(entries))
        raise ScclastInputError(
            f"unknown dataset {key!r}: use one of {known} (see `scclast datasets list`)"
        )
    return entries[key]


def parse_entry(raw: dict[str, Any], where: str = "registry") -> DatasetEntry:
    """Validate one raw YAML mapping and turn it into a :class:`DatasetEntry`."""
    if not isinstance(raw, dict):
        raise ScclastDataError(f"{where}: a dataset entry is not a mapping: {raw!r}")
    missing = [k for k in _REQUIRED if k not in raw]
    key = raw.get("key", "?")
    if missing:
        raise ScclastDataError(f"{where}: entry {key!r} lacks {', '.join(missing)}: add them")
    if raw["status"] not in STATUSES:
        raise ScclastDataError(
            f"{where}: entry {key!r} has status {raw['status']!r}: use one of {STATUSES}"
        )
    loader = raw.get("loader")
    if raw["status"] != "unavailable" and loader not in LOADERS:
        raise ScclastDataError(
            f"{where}: entry {key!r} has loader {loader!r}: use one of {LOADERS}"
        )
    files = tuple(_parse_file(f, key, where) for f in raw.get("files") or [])
    discover = _parse_discovery(raw.get("discover"), key, where)
    if raw["status"] != "unavailable" and not files and discover is None:
        raise ScclastDataError(f"{where}: entry {key!r} names no files and no `discover` rule")
    return DatasetEntry(
        key=str(key),
        title=str(raw["title"]),
        organism=str(raw["organism"]),
        status=str(raw["status"]),
        files=files,
        loader=loader,
        loader_options=dict(raw.get("loader_options") or {}),
        discover=discover,
        raw=dict(raw),
    )


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_YAML_LOADER) or {}
    except OSError as err:
        raise ScclastInputError(
            f"cannot read dataset registry {path}: {err.strerror}; fix {REGISTRY_ENV}"
        ) from err
    except yaml.YAMLError as err:
        raise ScclastDataError(f"dataset registry {path} is not valid YAML: {err}") from err
    datasets = data.get("datasets") if isinstance(data, dict) else None
    if not isinstance(datasets, list):
        raise ScclastDataError(f"dataset registry {path} has no `datasets:` list")
    return datasets


def _parse_file(raw: dict[str, Any], key: str, where: str) -> FileSpec:
    sources = [k for k in _SOURCES if raw.get(k)]
    if len(sources) != 1:
        raise ScclastDataError(
            f"{where}: a file of {key!r} must set exactly one of {', '.join(_SOURCES)}: {raw!r}"
        )
    if raw.get("geo") and not _ACCESSION.match(str(raw["geo"])):
        raise ScclastDataError(f"{where}: {key!r} file has bad GEO accession {raw['geo']!r}")
    name = raw.get("name") or Path(str(raw.get(sources[0]))).name
    sha = raw.get("sha256")
    if sha is not None and not _SHA256.match(str(sha).lower()):
        raise ScclastDataError(f"{where}: {key!r} file {name} has a malformed sha256 {sha!r}")
    size = raw.get("size")
    return FileSpec(
        name=str(name),
        geo=raw.get("geo"),
        ensembl=raw.get("ensembl"),
        url=raw.get("url"),
        path=raw.get("path"),
        format=raw.get("format"),
        size=int(size) if size is not None else None,
        sha256=str(sha).lower() if sha else None,
        approx_size=raw.get("approx_size"),
    )


def _parse_discovery(raw: dict[str, Any] | None, key: str, where: str) -> Discovery | None:
    if raw is None:
        return None
    accession = str(raw.get("accession", ""))
    if not accession.startswith("GSE") or not _ACCESSION.match(accession):
        raise ScclastDataError(f"{where}: {key!r} `discover` needs a GSE accession")
    try:
        re.compile(raw.get("include", ""))
    except re.error as err:
        raise ScclastDataError(
            f"{where}: {key!r} `discover.include` is not a regex: {err}"
        ) from err
    fetch_from = raw.get("fetch_from", "samples")
    if fetch_from not in ("samples", "series"):
        raise ScclastDataError(f"{where}: {key!r} `discover.fetch_from` must be samples|series")
    return Discovery(
        accession=accession, include=str(raw.get("include", "")), fetch_from=fetch_from
    )
