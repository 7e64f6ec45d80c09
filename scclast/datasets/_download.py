"""Downloads through pooch: one file at a time, then every file of a dataset.

:func:`ensure_file` returns the cached, checked copy of one URL (downloading it once,
with retries, an exact-size check where GEO's listing gives one, and the hash recorded
or compared, :mod:`scclast.datasets._cache`); :func:`fetch` does that for every file of
a registry entry, named or discovered from GEO's listing
(:mod:`scclast.datasets._listing`).

Environment variables (besides those of :mod:`scclast.datasets._cache`)
---------------------------------------------------------------------------
``SCCLAST_DOWNLOAD_RETRIES``
    Extra attempts after a failed download (default 2; pooch waits 1 s, 2 s, ...).
``SCCLAST_NO_PROGRESS``
    Any non-empty value hides the download progress bar (shown on a terminal otherwise).

Examples
--------
Bundled datasets need no download:

>>> [(spec.name, path.is_file()) for spec, path in fetch("example_osteoclastogenesis")]
[('example_osteoclastogenesis.h5ad', True)]
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from scclast._errors import ScclastDataError, ScclastInputError
from scclast._provenance import file_sha256
from scclast.datasets._cache import (
    FILELIST_NAME,
    OFFLINE_ENV,
    cache_dir,
    cache_relpath,
    check_cache_writable,
    check_file,
    file_url,
    geo_url,
    is_offline,
    mismatch_message,
    now,
    package_path,
    read_lock,
    update_lock,
)
from scclast.datasets._listing import GSM_PREFIX, confirm_with_listing, discover_files
from scclast.datasets._registry import DatasetEntry, FileSpec, get_entry

log = logging.getLogger("scclast")

RETRIES_ENV = "SCCLAST_DOWNLOAD_RETRIES"
NO_PROGRESS_ENV = "SCCLAST_NO_PROGRESS"
DEFAULT_RETRIES = 2
TIMEOUT_S = 60


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
    check_cache_writable()
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
        raise ScclastDataError(mismatch_message(target, url, key, actual, record["sha256"], False))
    if not record or not record.get("sha256") or pinned:
        update_lock(
            relpath,
            sha256=actual,
            url=url,
            size=size,
            first_seen=now(),
            pinned=bool(pinned),
        )
    log.info("downloaded %s (%d bytes, sha256 %s)", relpath, size, actual[:12])
    return target


def _download(url: str, target: Path, pinned: str | None, progressbar: bool | None) -> None:
    import pooch
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
    except PermissionError as err:
        raise ScclastInputError(
            f"cannot write {target} ({err.strerror}): set SCCLAST_DATA_DIR to a folder you "
            "can write"
        ) from err


def _retries() -> int:
    value = os.environ.get(RETRIES_ENV, "").strip()
    if not value:
        return DEFAULT_RETRIES
    try:
        return max(0, int(value))
    except ValueError as err:
        raise ScclastInputError(f"{RETRIES_ENV}={value!r} is not a whole number") from err


def dataset_files(entry: DatasetEntry, *, network: bool = True) -> list[FileSpec]:
    """The entry's files: named ones plus those discovered (from the cache if offline)."""
    specs = list(entry.files)
    if entry.discover is None:
        return specs
    if network and not is_offline():
        return specs + discover_files(entry, ensure_file)
    relpath = f"{entry.discover.accession}/{FILELIST_NAME}"
    listing = cache_dir() / relpath
    if listing.exists():
        return specs + discover_files(entry, ensure_file)
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
        Only the files of these GSM accessions (for datasets split by sample); default:
        the entry's ``default_samples`` if it names some, else all.
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
    """
    entry = get_entry(key)
    if entry.status == "unavailable":
        raise ScclastDataError(
            f"dataset {key!r} is unavailable: {entry.raw.get('status_note', '').strip()} "
            f"(see `scclast datasets info {key}`)"
        )
    if entry.status == "bundled":
        return [(spec, package_path(spec)) for spec in entry.files]
    if samples is None:  # an entry may load a subset of its samples by default
        samples = entry.raw.get("default_samples") or None
    specs = _select_samples(dataset_files(entry), samples, key)
    if not is_offline():
        specs = confirm_with_listing(entry, specs, ensure_file, progressbar)
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
    if not samples or not any(GSM_PREFIX.match(s.name) for s in specs):
        return specs  # an archive: samples are picked when it is read
    wanted = set(samples)
    picked = [s for s in specs if (m := GSM_PREFIX.match(s.name)) and m.group(1) in wanted]
    found = {GSM_PREFIX.match(s.name).group(1) for s in picked}  # type: ignore[union-attr]
    missing = sorted(wanted - found)
    if missing:
        raise ScclastInputError(
            f"dataset {key!r} has no files for sample(s) {', '.join(missing)}: see "
            f"`scclast datasets info {key}` for its samples"
        )
    return picked


__all__ = ["dataset_files", "ensure_file", "fetch"]
