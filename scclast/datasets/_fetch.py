"""Downloads through pooch, with a trust-on-first-use lock file.

GEO publishes no checksums, so the first download of a file computes its sha256 and
records it in ``scclast.lock.json`` in the cache folder; every later use re-hashes the
file and compares. A sha256 pinned in the registry always wins over the lock file.

Environment variables
---------------------
``SCCLAST_DATA_DIR``
    Cache folder (default: ``pooch.os_cache("scclast")``).
``SCCLAST_OFFLINE``
    ``1``/``true``/``yes``: never touch the network; a file missing from the cache is an
    error naming the file, its URL and the folder to place it in.
``SCCLAST_GEO_BASE_URL``
    GEO's base URL (default ``https://ftp.ncbi.nlm.nih.gov/geo``); tests point it at
    127.0.0.1.
``SCCLAST_DOWNLOAD_RETRIES``
    Extra attempts after a failed download (default 2; pooch waits 1 s, 2 s, ...).
``SCCLAST_NO_PROGRESS``
    Any non-empty value hides the download progress bar (shown on a terminal otherwise).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import pooch

from scclast._errors import ScclastDataError, ScclastInputError
from scclast._provenance import file_sha256
from scclast.datasets._registry import DatasetEntry, FileSpec, get_entry, load_registry

log = logging.getLogger("scclast")

DATA_DIR_ENV = "SCCLAST_DATA_DIR"
OFFLINE_ENV = "SCCLAST_OFFLINE"
GEO_BASE_ENV = "SCCLAST_GEO_BASE_URL"
RETRIES_ENV = "SCCLAST_DOWNLOAD_RETRIES"
NO_PROGRESS_ENV = "SCCLAST_NO_PROGRESS"
DEFAULT_GEO_BASE_URL = "https://ftp.ncbi.nlm.nih.gov/geo"
LOCK_NAME = "scclast.lock.json"
FILELIST_NAME = "filelist.txt"
DEFAULT_RETRIES = 2
TIMEOUT_S = 60

_GSM_PREFIX = re.compile(r"^(GSM\d+)")
_TRUE = ("1", "true", "yes", "on")


# --------------------------------------------------------------------------- locations


def cache_dir() -> Path:
    """The download cache: ``$SCCLAST_DATA_DIR`` or ``pooch.os_cache("scclast")``.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"SCCLAST_DATA_DIR": "/data/scclast"}):
    ...     cache_dir()
    PosixPath('/data/scclast')
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(override).expanduser() if override else Path(pooch.os_cache("scclast"))


def lock_path() -> Path:
    """Path of the trust-on-first-use lock file inside the cache."""
    return cache_dir() / LOCK_NAME


def is_offline() -> bool:
    """True when ``SCCLAST_OFFLINE`` asks for no network access."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def geo_base_url() -> str:
    """GEO's base URL, ``$SCCLAST_GEO_BASE_URL`` if set."""
    return (os.environ.get(GEO_BASE_ENV, "").strip() or DEFAULT_GEO_BASE_URL).rstrip("/")


def geo_folder(accession: str) -> str:
    """GEO's folder for a series or sample, relative to the base URL.

    Examples
    --------
    >>> geo_folder("GSE147174")
    'series/GSE147nnn/GSE147174'
    >>> geo_folder("GSM3674224")
    'samples/GSM3674nnn/GSM3674224'
    >>> geo_folder("GSE100")
    'series/GSEnnn/GSE100'
    """
    match = re.fullmatch(r"(GSE|GSM)(\d+)", accession)
    if match is None:
        raise ScclastInputError(f"{accession!r} is not a GEO series (GSE) or sample (GSM)")
    prefix, digits = match.groups()
    stub = f"{prefix}{digits[:-3]}nnn"
    return f"{'series' if prefix == 'GSE' else 'samples'}/{stub}/{accession}"


def geo_url(accession: str, name: str) -> str:
    """URL of a supplementary file of a GEO series or sample.

    Examples
    --------
    >>> geo_url("GSE145477", "GSE145477_RAW.tar")
    'https://ftp.ncbi.nlm.nih.gov/geo/series/GSE145nnn/GSE145477/suppl/GSE145477_RAW.tar'
    """
    return f"{geo_base_url()}/{geo_folder(accession)}/suppl/{name}"


def file_url(spec: FileSpec) -> str | None:
    """Where a registry file is downloaded from (None for files inside the package)."""
    if spec.geo:
        return geo_url(spec.geo, spec.name)
    return spec.url


def cache_relpath(spec: FileSpec, key: str) -> str:
    """The file's path inside the cache (and its key in the lock file)."""
    return f"{spec.geo}/{spec.name}" if spec.geo else f"{key}/{spec.name}"


def package_path(spec: FileSpec) -> Path:
    """Absolute path of a file or folder bundled in ``scclast/datasets/``."""
    return Path(str(resources.files("scclast.datasets").joinpath(spec.path or "")))


# --------------------------------------------------------------------------- lock file


def read_lock() -> dict[str, dict[str, Any]]:
    """The lock file as ``{relative path: {sha256, url, size, first_seen, ...}}``."""
    path = lock_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ScclastDataError(
            f"lock file {path} is unreadable ({err}): fix or delete it (hashes are then "
            "recorded again on next use)"
        ) from err
    if not isinstance(data, dict):
        raise ScclastDataError(f"lock file {path} is not a JSON object: fix or delete it")
    return data


def update_lock(relpath: str, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into the lock record of ``relpath``; written atomically."""
    data = read_lock()
    record = {**data.get(relpath, {}), **fields}
    data[relpath] = record
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".scclast.lock.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return record


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one file


def check_file(path: Path, relpath: str, url: str | None, key: str, pinned: str | None) -> str:
    """Hash ``path`` and compare with the pinned or recorded sha256; record it if new.

    Returns the sha256. Raises :class:`ScclastDataError` (naming the file, both hashes
    and the way to accept a deliberate change) when they differ.
    """
    actual = file_sha256(path)
    record = read_lock().get(relpath, {})
    expected = pinned or record.get("sha256")
    if expected is None:
        update_lock(
            relpath,
            sha256=actual,
            url=url,
            size=path.stat().st_size,
            first_seen=_now(),
            pinned=False,
        )
        return actual
    if actual != expected:
        raise ScclastDataError(_mismatch_message(path, url, key, actual, expected, bool(pinned)))
    return actual


def _mismatch_message(
    path: Path, url: str | None, key: str, actual: str, expected: str, pinned: bool
) -> str:
    source = f" from {url}" if url else ""
    if pinned:
        return (
            f"{path}{source} has sha256 {actual} but the registry pins {expected}: "
            "the file is corrupt or changed upstream; delete it to download it again"
        )
    return (
        f"{path}{source} has sha256 {actual} but {expected} was recorded at first download "
        f"(lock file {lock_path()}): if the change is deliberate, run "
        f"`scclast datasets verify {key} --accept-new-hash`; otherwise delete the file to "
        "download it again"
    )


def ensure_file(
    relpath: str,
    url: str,
    key: str,
    *,
    pinned: str | None = None,
    expected_size: int | None = None,
    progressbar: bool | None = None,
) -> Path:
    """The cached, verified copy of ``url`` at ``cache_dir()/relpath``, downloading once.

    Examples
    --------
    >>> # not run as a test: it would download from example.org
    >>> ensure_file("GSE1/x.txt", "https://example.org/x.txt", "demo")  # doctest: +SKIP
    PosixPath('.../GSE1/x.txt')

    A cached file is hashed against the lock file instead of downloaded; offline, a
    missing one is an error naming the URL and the folder to put it in:

    >>> import tempfile
    >>> from unittest import mock
    >>> offline = {"SCCLAST_OFFLINE": "1", "SCCLAST_DATA_DIR": tempfile.mkdtemp()}
    >>> with mock.patch.dict("os.environ", offline):  # doctest: +ELLIPSIS
    ...     ensure_file("GSE1/x.txt", "https://example.org/x.txt", "demo")
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastDataError: x.txt is not in the cache and SCCLAST_OFFLINE is set: ...
    """
    target = cache_dir() / relpath
    if target.exists():
        check_file(target, relpath, url, key, pinned)
        return target
    if is_offline():
        raise ScclastDataError(
            f"{target.name} is not in the cache and {OFFLINE_ENV} is set: download {url} "
            f"and place it in {target.parent}"
        )
    _download(url, target, pinned, progressbar)
    size = target.stat().st_size
    if expected_size is not None and size != expected_size:
        target.unlink()
        raise ScclastDataError(
            f"{url} gave {size} bytes but GEO's file listing says {expected_size}: the "
            "download was incomplete or the file changed; try again later"
        )
    actual = file_sha256(target)
    record = read_lock().get(relpath)
    if record and record.get("sha256") and record["sha256"] != actual and not pinned:
        raise ScclastDataError(_mismatch_message(target, url, key, actual, record["sha256"], False))
    if not record or not record.get("sha256") or pinned:
        update_lock(
            relpath,
            sha256=actual,
            url=url,
            size=size,
            first_seen=_now(),
            pinned=bool(pinned),
        )
    log.info("downloaded %s (%d bytes, sha256 %s)", relpath, size, actual[:12])
    return target


def _download(url: str, target: Path, pinned: str | None, progressbar: bool | None) -> None:
    import requests  # pooch depends on requests

    if progressbar is None:
        progressbar = sys.stderr.isatty() and not os.environ.get(NO_PROGRESS_ENV)
    retries = _retries()
    fetcher = pooch.create(
        path=target.parent,
        base_url="",
        registry={target.name: f"sha256:{pinned}" if pinned else None},
        urls={target.name: url},
        retry_if_failed=retries,
    )
    if url.startswith(("http://", "https://")):
        downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=TIMEOUT_S)
    else:
        downloader = pooch.downloaders.choose_downloader(url, progressbar=progressbar)
    where = f"download it by hand into {target.parent}"
    try:
        fetcher.fetch(target.name, downloader=downloader)
    except requests.exceptions.HTTPError as err:
        status = err.response.status_code if err.response is not None else "?"
        raise ScclastDataError(f"{url} answered HTTP {status}: check the URL, or {where}") from err
    except requests.exceptions.RequestException as err:
        raise ScclastDataError(
            f"could not download {url} ({type(err).__name__}) after {retries + 1} "
            f"attempt(s): check the network, or {where}"
        ) from err
    except ValueError as err:  # pooch: the download does not match the pinned hash
        raise ScclastDataError(
            f"{url} does not match the sha256 pinned in the registry ({pinned}): the file "
            "changed upstream or the download is corrupt; nothing was kept"
        ) from err


def _retries() -> int:
    value = os.environ.get(RETRIES_ENV, "").strip()
    if not value:
        return DEFAULT_RETRIES
    try:
        return max(0, int(value))
    except ValueError as err:
        raise ScclastInputError(f"{RETRIES_ENV}={value!r} is not a whole number") from err


# --------------------------------------------------------------------------- GEO listings


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


def filelist(accession: str, key: str, progressbar: bool | None = None) -> list[ListedFile]:
    """GEO's listing of a series' supplementary files (downloaded once, then locked)."""
    relpath = f"{accession}/{FILELIST_NAME}"
    path = ensure_file(relpath, geo_url(accession, FILELIST_NAME), key, progressbar=progressbar)
    return parse_filelist(path)


def discover_files(entry: DatasetEntry, progressbar: bool | None = None) -> list[FileSpec]:
    """The files that the entry's ``discover`` rule picks from GEO's ``filelist.txt``.

    The selection is recorded in the lock file (under the listing's own record) so that
    ``scclast datasets verify KEY`` can find the files again without the network.
    """
    rule = entry.discover
    if rule is None:
        return []
    pattern = re.compile(rule.include)
    picked = []
    for row in filelist(rule.accession, entry.key, progressbar):
        if not pattern.search(row.name):
            continue
        gsm = _GSM_PREFIX.match(row.name)
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
    entry: DatasetEntry, specs: list[FileSpec], progressbar: bool | None = None
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
            listings[series] = _listing_or_none(series, entry.key, progressbar)
        listing = listings[series]
        if listing is None:
            out.append(spec)
            continue
        row = listing.get(spec.name)
        if row is None and (spec.name.endswith("_RAW.tar") or _GSM_PREFIX.match(spec.name)):
            raise ScclastDataError(
                f"{spec.name} is not in GEO's listing {geo_url(series, FILELIST_NAME)}: the "
                f"registry entry {entry.key!r} is out of date; check the series page"
            )
        if row is not None and row.size is not None and spec.size is None:
            spec = replace(spec, size=row.size)
        out.append(spec)
    return out


def _listing_or_none(
    accession: str, key: str, progressbar: bool | None
) -> dict[str, ListedFile] | None:
    try:
        rows = filelist(accession, key, progressbar)
    except ScclastDataError as err:
        if "HTTP 404" not in str(err):
            raise
        log.info("GEO has no filelist.txt for %s; downloading without confirmation", accession)
        return None
    return {row.name: row for row in rows}


# --------------------------------------------------------------------------- datasets


def dataset_files(entry: DatasetEntry, *, network: bool = True) -> list[FileSpec]:
    """The entry's files: named ones plus those discovered (from the cache if offline)."""
    specs = list(entry.files)
    if entry.discover is None:
        return specs
    if network and not is_offline():
        return specs + discover_files(entry)
    relpath = f"{entry.discover.accession}/{FILELIST_NAME}"
    listing = cache_dir() / relpath
    if listing.exists():
        return specs + discover_files(entry)
    raise ScclastDataError(
        f"{listing.name} of {entry.discover.accession} is not in the cache and "
        f"{OFFLINE_ENV} is set: download "
        f"{geo_url(entry.discover.accession, FILELIST_NAME)} and place it in {listing.parent}"
    )


def fetch(
    key: str,
    *,
    samples: list[str] | None = None,
    progressbar: bool | None = None,
) -> list[tuple[FileSpec, Path]]:
    """Download (once) and verify every file of dataset ``key``.

    Parameters
    ----------
    key
        A registry key (``scclast datasets list``).
    samples
        Only the files of these GSM accessions (for datasets split by sample).
    progressbar
        Show a download progress bar; by default only on a terminal.

    Returns
    -------
    ``(file spec, local path)`` pairs, in registry order.

    Examples
    --------
    >>> # not run as a test: downloads the count table from GEO on first use
    >>> fetch("hansen2024_monocyte_osteoclast_bulk")  # doctest: +SKIP
    [(FileSpec(name='GSE246769_RNAcounts_Differentiation.txt.gz', ...), PosixPath(...))]

    Bundled datasets need no download:

    >>> [(spec.name, path.is_file()) for spec, path in fetch("example_osteoclastogenesis")]
    [('example_osteoclastogenesis.h5ad', True)]
    """
    entry = get_entry(key)
    if entry.status == "unavailable":
        raise ScclastDataError(
            f"dataset {key!r} is unavailable: {entry.raw.get('status_note', '').strip()} "
            f"(see `scclast datasets info {key}`)"
        )
    if entry.status == "bundled":
        return [(spec, package_path(spec)) for spec in entry.files]
    specs = _select_samples(dataset_files(entry), samples, key)
    if not is_offline():
        specs = confirm_with_listing(entry, specs, progressbar)
    out = []
    for spec in specs:
        url = file_url(spec)
        assert url is not None  # only bundled files have no URL
        relpath = cache_relpath(spec, key)
        path = ensure_file(
            relpath, url, key, pinned=spec.sha256, expected_size=spec.size, progressbar=progressbar
        )
        out.append((spec, path))
    return out


def _select_samples(specs: list[FileSpec], samples: list[str] | None, key: str) -> list[FileSpec]:
    if not samples or not any(_GSM_PREFIX.match(s.name) for s in specs):
        return specs  # an archive: samples are picked when it is read
    wanted = set(samples)
    picked = [s for s in specs if (m := _GSM_PREFIX.match(s.name)) and m.group(1) in wanted]
    found = {_GSM_PREFIX.match(s.name).group(1) for s in picked}  # type: ignore[union-attr]
    missing = sorted(wanted - found)
    if missing:
        raise ScclastInputError(
            f"dataset {key!r} has no files for sample(s) {', '.join(missing)}: see "
            f"`scclast datasets info {key}` for its samples"
        )
    return picked


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class VerifyResult:
    """The state of one cached file (``scclast datasets verify``)."""

    relpath: str
    status: str  # ok | changed | accepted | missing | recorded
    expected: str | None
    actual: str | None
    pinned: bool = False


def verify(key: str | None = None, accept_new_hash: bool = False) -> list[VerifyResult]:
    """Re-hash cached files against the lock file (and registry pins), without network.

    Parameters
    ----------
    key
        One dataset; all files in the lock file when None.
    accept_new_hash
        Record the current hash of changed files (not allowed for registry-pinned files).

    Examples
    --------
    >>> import tempfile
    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"SCCLAST_DATA_DIR": tempfile.mkdtemp()}):
    ...     verify()  # an empty cache has nothing to check
    []

    After a download, each cached file gets a result:
    ``[VerifyResult(relpath='GSE145477/GSE145477_RAW.tar', status='ok', ...)]``.
    """
    lock = read_lock()
    pins = _registry_pins()
    if key is None:
        relpaths = sorted(lock)
    else:
        relpaths = _entry_relpaths(get_entry(key), lock)
    results = []
    for relpath in relpaths:
        results.append(
            _verify_one(relpath, lock.get(relpath, {}), pins.get(relpath), accept_new_hash)
        )
    return results


def _verify_one(
    relpath: str, record: dict[str, Any], pinned: str | None, accept: bool
) -> VerifyResult:
    path = cache_dir() / relpath
    expected = pinned or record.get("sha256")
    if not path.exists():
        return VerifyResult(relpath, "missing", expected, None, bool(pinned))
    actual = file_sha256(path)
    if expected is None:
        update_lock(relpath, sha256=actual, size=path.stat().st_size, first_seen=_now())
        return VerifyResult(relpath, "recorded", None, actual)
    if actual == expected:
        return VerifyResult(relpath, "ok", expected, actual, bool(pinned))
    if accept and not pinned:
        update_lock(
            relpath,
            sha256=actual,
            size=path.stat().st_size,
            accepted=_now(),
            previous_sha256=expected,
        )
        return VerifyResult(relpath, "accepted", expected, actual)
    return VerifyResult(relpath, "changed", expected, actual, bool(pinned))


def _entry_relpaths(entry: DatasetEntry, lock: dict[str, dict[str, Any]]) -> list[str]:
    relpaths = [cache_relpath(spec, entry.key) for spec in entry.files if not spec.path]
    if entry.discover is not None:
        listing = f"{entry.discover.accession}/{FILELIST_NAME}"
        relpaths.append(listing)
        relpaths += lock.get(listing, {}).get("selected", {}).get(entry.key, [])
    return relpaths


def _registry_pins() -> dict[str, str]:
    pins = {}
    for entry in load_registry().values():
        for spec in entry.files:
            if spec.sha256 and not spec.path:
                pins[cache_relpath(spec, entry.key)] = spec.sha256
    return pins
