"""GEO's per-series ``suppl/filelist.txt``: read it, pick files from it, check names with it.

A registry entry either names its files (checked against the listing before their first
download, which also gives each file's exact size) or says how to *discover* them from
the listing (``discover: {accession, include, fetch_from}``): per-sample files are then
fetched from each GSM's own folder. The listing itself is downloaded once and locked
like any other file.

Examples
--------
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "filelist.txt"
>>> _ = path.write_text("#Archive/File\\tName\\tTime\\tSize\\tType\\n"
...                     "File\\tGSM1_S1_matrix.mtx.gz\\t01/02/2020 10:00:00\\t2048\\tMTX\\n")
>>> [(row.kind, row.name, row.size) for row in parse_filelist(path)]
[('File', 'GSM1_S1_matrix.mtx.gz', 2048)]
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from scclast._errors import ScclastDataError
from scclast.datasets._cache import (
    FILELIST_NAME,
    cache_dir,
    cache_relpath,
    geo_url,
    read_lock,
    update_lock,
)
from scclast.datasets._registry import DatasetEntry, FileSpec

log = logging.getLogger("scclast")

GSM_PREFIX = re.compile(r"^(GSM\d+)")

EnsureFile = Callable[..., Path]
""":func:`scclast.datasets._download.ensure_file`, passed in (it downloads; this reads)."""


@dataclass(frozen=True)
class ListedFile:
    """One row of GEO's ``suppl/filelist.txt``."""

    kind: str  # "Archive" (the _RAW.tar) or "File" (a member of it)
    name: str
    time: str
    size: int | None
    type: str


def parse_filelist(path: str | Path) -> list[ListedFile]:
    """Read GEO's per-series ``suppl/filelist.txt``.

    GEO writes a tab-separated table with the header ``#Archive/File  Name  Time  Size
    Type``: one ``Archive`` row for ``GSExxx_RAW.tar`` and one ``File`` row per member
    (per-sample files named ``GSMxxx_...``, also served from the sample's own folder);
    ``Time`` is ``MM/DD/YYYY HH:MM:SS`` and ``Size`` is in bytes. Unknown row kinds are
    kept; blank lines are skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "filelist.txt"
    >>> _ = p.write_text("#Archive/File\\tName\\tTime\\tSize\\tType\\n"
    ...                  "Archive\\tGSE1_RAW.tar\\t01/02/2020 10:00:00\\t20480\\tTAR\\n")
    >>> parse_filelist(p)[0].size
    20480
    """
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows or not rows[0] or not rows[0][0].startswith("#Archive/File"):
        raise ScclastDataError(
            f"{path} is not a GEO filelist.txt (its header is not '#Archive/File<TAB>Name"
            "<TAB>Time<TAB>Size<TAB>Type'): delete it to download it again"
        )
    listed = []
    for row in rows[1:]:
        if not row or not any(cell.strip() for cell in row):
            continue
        row = [*row, "", "", "", ""][:5]
        size = int(row[3]) if row[3].strip().isdigit() else None
        listed.append(ListedFile(row[0].strip(), row[1].strip(), row[2].strip(), size, row[4]))
    return listed


def filelist(
    accession: str, key: str, ensure_file: EnsureFile, progressbar: bool | None = None
) -> list[ListedFile]:
    """GEO's listing of a series' supplementary files (downloaded once, then locked)."""
    relpath = f"{accession}/{FILELIST_NAME}"
    path = ensure_file(relpath, geo_url(accession, FILELIST_NAME), key, progressbar=progressbar)
    return parse_filelist(path)


def discover_files(
    entry: DatasetEntry, ensure_file: EnsureFile, progressbar: bool | None = None
) -> list[FileSpec]:
    """The files that the entry's ``discover`` rule picks from GEO's ``filelist.txt``.

    The selection is recorded in the lock file (under the listing's own record) so that
    ``scclast datasets verify KEY`` can find the files again without the network.
    """
    rule = entry.discover
    if rule is None:
        return []
    pattern = re.compile(rule.include)
    picked = []
    for row in filelist(rule.accession, entry.key, ensure_file, progressbar):
        if not pattern.search(row.name):
            continue
        gsm = GSM_PREFIX.match(row.name)
        if rule.fetch_from == "samples":
            if row.kind != "File" or gsm is None:
                continue
            folder = gsm.group(1)
        else:
            folder = rule.accession
        picked.append(
            FileSpec(
                name=row.name,
                geo=folder,
                size=row.size,
                discovered_from=f"{rule.accession}/{FILELIST_NAME}",
            )
        )
    if not picked:
        raise ScclastDataError(
            f"GEO's {geo_url(rule.accession, FILELIST_NAME)} lists no file matching "
            f"{rule.include!r} for dataset {entry.key!r}: the registry entry needs updating"
        )
    relpath = f"{rule.accession}/{FILELIST_NAME}"
    selected = dict(read_lock().get(relpath, {}).get("selected", {}))
    selected[entry.key] = [cache_relpath(spec, entry.key) for spec in picked]
    update_lock(relpath, selected=selected)
    return picked


def confirm_with_listing(
    entry: DatasetEntry,
    specs: list[FileSpec],
    ensure_file: EnsureFile,
    progressbar: bool | None = None,
) -> list[FileSpec]:
    """Check named GEO series files against GEO's listing before their first download.

    A listed file gains its exact size (checked after download). A ``_RAW.tar`` or
    GSM-prefixed name that the listing lacks means the registry is out of date (error).
    A series without a listing (HTTP 404) or other series files, which GEO does not list
    in ``filelist.txt``, are downloaded unconfirmed.
    """
    out = []
    listings: dict[str, dict[str, ListedFile] | None] = {}
    for spec in specs:
        series = spec.geo if spec.geo and spec.geo.startswith("GSE") else None
        if (
            series is None
            or spec.discovered_from
            or (cache_dir() / cache_relpath(spec, "")).exists()
        ):
            out.append(spec)
            continue
        if series not in listings:
            listings[series] = _listing_or_none(series, entry.key, ensure_file, progressbar)
        listing = listings[series]
        if listing is None:
            out.append(spec)
            continue
        row = listing.get(spec.name)
        if row is None and (spec.name.endswith("_RAW.tar") or GSM_PREFIX.match(spec.name)):
            raise ScclastDataError(
                f"{spec.name} is not in GEO's listing {geo_url(series, FILELIST_NAME)}: the "
                f"registry entry {entry.key!r} is out of date; check the series page"
            )
        if row is not None and row.size is not None and spec.size is None:
            spec = replace(spec, size=row.size)
        out.append(spec)
    return out


def _listing_or_none(
    accession: str, key: str, ensure_file: EnsureFile, progressbar: bool | None
) -> dict[str, ListedFile] | None:
    try:
        rows = filelist(accession, key, ensure_file, progressbar)
    except ScclastDataError as err:
        if "HTTP 404" not in str(err):
            raise
        log.info("GEO has no filelist.txt for %s; downloading without confirmation", accession)
        return None
    return {row.name: row for row in rows}


__all__ = [
    "GSM_PREFIX",
    "ListedFile",
    "confirm_with_listing",
    "discover_files",
    "filelist",
    "parse_filelist",
]
