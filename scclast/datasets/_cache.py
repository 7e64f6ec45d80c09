"""Where registry files live, and whether a cached file is still the one first seen.

No network here: the cache folder and the addresses of each file, the trust-on-first-use
lock file, the hash check every use goes through and ``scclast datasets verify``.

GEO and Ensembl publish no checksums for these files, so a registry entry with
``sha256: null`` is checked at its first download only against the size in GEO's
``filelist.txt`` (when GEO lists it): its sha256 is then recorded in
``scclast.lock.json`` in the cache folder and every later use re-hashes the file and
compares. That first download is trusted as it came (trust on first use); a sha256
pinned in the registry always wins over the lock file.

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
``SCCLAST_ENSEMBL_BASE_URL``
    Ensembl's FTP base (default ``https://ftp.ensembl.org/pub``), for gene annotations.

Examples
--------
>>> from unittest import mock
>>> with mock.patch.dict("os.environ", {"SCCLAST_GEO_BASE_URL": "http://127.0.0.1:8000"}):
...     geo_url("GSE246769", "GSE246769_RNAcounts_Differentiation.txt.gz")
'http://127.0.0.1:8000/series/GSE246nnn/GSE246769/suppl/GSE246769_RNAcounts_Differentiation.txt.gz'
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from scclast._errors import ScclastDataError, ScclastInputError
from scclast._provenance import file_sha256
from scclast.datasets._registry import DatasetEntry, FileSpec, get_entry, load_registry

DATA_DIR_ENV = "SCCLAST_DATA_DIR"
OFFLINE_ENV = "SCCLAST_OFFLINE"
GEO_BASE_ENV = "SCCLAST_GEO_BASE_URL"
ENSEMBL_BASE_ENV = "SCCLAST_ENSEMBL_BASE_URL"
DEFAULT_GEO_BASE_URL = "https://ftp.ncbi.nlm.nih.gov/geo"
DEFAULT_ENSEMBL_BASE_URL = "https://ftp.ensembl.org/pub"
LOCK_NAME = "scclast.lock.json"
FILELIST_NAME = "filelist.txt"

TRUST_ON_FIRST_USE = (
    "no sha256 is pinned for this file (the source publishes none): its first download "
    "is checked at most against the size in GEO's file listing, then trusted and its "
    "sha256 recorded in the lock file (trust on first use); every later use is checked "
    "against that record"
)
"""What ``scclast datasets info`` says about files with ``sha256: null``."""

_TRUE = ("1", "true", "yes", "on")


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
    if override:
        return Path(override).expanduser()
    import pooch

    return Path(pooch.os_cache("scclast"))


def check_cache_writable(folder: Path | None = None) -> Path:
    """The cache folder, created if needed; a one-line error when it cannot be written.

    Called before a download starts, so that a read-only ``SCCLAST_DATA_DIR`` is a user
    error naming the folder and the variable, not a failure after the download.

    Examples
    --------
    >>> import tempfile
    >>> check_cache_writable(Path(tempfile.mkdtemp()) / "cache").name
    'cache'
    """
    folder = cache_dir() if folder is None else Path(folder)
    hint = f"set {DATA_DIR_ENV} to a folder you can write"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".scclast-write-test.", dir=folder)
        os.close(handle)
        os.remove(probe)
    except OSError as err:
        raise ScclastInputError(
            f"the dataset cache {folder} cannot be written ({err.strerror or err}): {hint}"
        ) from err
    return folder


def lock_path() -> Path:
    """Path of the trust-on-first-use lock file inside the cache."""
    return cache_dir() / LOCK_NAME


def is_offline() -> bool:
    """True when ``SCCLAST_OFFLINE`` asks for no network access."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def geo_base_url() -> str:
    """GEO's base URL, ``$SCCLAST_GEO_BASE_URL`` if set."""
    return (os.environ.get(GEO_BASE_ENV, "").strip() or DEFAULT_GEO_BASE_URL).rstrip("/")


def ensembl_base_url() -> str:
    """Ensembl's FTP base URL, ``$SCCLAST_ENSEMBL_BASE_URL`` if set."""
    value = os.environ.get(ENSEMBL_BASE_ENV, "").strip() or DEFAULT_ENSEMBL_BASE_URL
    return value.rstrip("/")


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
    """Where a registry file is downloaded from (None for files inside the package).

    Examples
    --------
    >>> file_url(FileSpec(name="x.gtf.gz", ensembl="release-93/gtf/mus_musculus/x.gtf.gz"))
    'https://ftp.ensembl.org/pub/release-93/gtf/mus_musculus/x.gtf.gz'
    """
    if spec.geo:
        return geo_url(spec.geo, spec.name)
    if spec.ensembl:
        return f"{ensembl_base_url()}/{spec.ensembl.lstrip('/')}"
    return spec.url


def cache_relpath(spec: FileSpec, key: str) -> str:
    """The file's path inside the cache (and its key in the lock file)."""
    if spec.geo:
        return f"{spec.geo}/{spec.name}"
    if spec.ensembl:
        return f"ensembl/{spec.ensembl.lstrip('/')}"
    return f"{key}/{spec.name}"


def package_path(spec: FileSpec) -> Path:
    """Absolute path of a file or folder bundled in ``scclast/datasets/``."""
    return Path(str(resources.files("scclast.datasets").joinpath(spec.path or "")))


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".scclast.lock.", dir=path.parent)
    except OSError as err:
        raise ScclastInputError(
            f"cannot write the lock file {path} ({err.strerror or err}): set {DATA_DIR_ENV} "
            "to a folder you can write"
        ) from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return record


def now() -> str:
    """The current UTC time, as the lock file records it."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


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
            first_seen=now(),
            pinned=False,
        )
        return actual
    if actual != expected:
        raise ScclastDataError(mismatch_message(path, url, key, actual, expected, bool(pinned)))
    return actual


def mismatch_message(
    path: Path, url: str | None, key: str, actual: str, expected: str, pinned: bool
) -> str:
    """One line: which file, both hashes, and what to do about it."""
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
    relpaths = sorted(lock) if key is None else _entry_relpaths(get_entry(key), lock)
    return [
        _verify_one(relpath, lock.get(relpath, {}), pins.get(relpath), accept_new_hash)
        for relpath in relpaths
    ]


def _verify_one(
    relpath: str, record: dict[str, Any], pinned: str | None, accept: bool
) -> VerifyResult:
    path = cache_dir() / relpath
    expected = pinned or record.get("sha256")
    if not path.exists():
        return VerifyResult(relpath, "missing", expected, None, bool(pinned))
    actual = file_sha256(path)
    if expected is None:
        update_lock(relpath, sha256=actual, size=path.stat().st_size, first_seen=now())
        return VerifyResult(relpath, "recorded", None, actual)
    if actual == expected:
        return VerifyResult(relpath, "ok", expected, actual, bool(pinned))
    if accept and not pinned:
        update_lock(
            relpath,
            sha256=actual,
            size=path.stat().st_size,
            accepted=now(),
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


__all__ = [
    "TRUST_ON_FIRST_USE",
    "VerifyResult",
    "cache_dir",
    "cache_relpath",
    "check_cache_writable",
    "check_file",
    "ensembl_base_url",
    "file_url",
    "geo_base_url",
    "geo_folder",
    "geo_url",
    "is_offline",
    "lock_path",
    "mismatch_message",
    "now",
    "package_path",
    "read_lock",
    "update_lock",
    "verify",
]
