"""Named files to read, wherever they are: on disk, inside a GEO ``_RAW.tar``, or nested.

GEO ships a series' per-sample files as one ``GSExxx_RAW.tar`` whose members are named
``GSMxxx_<label><sep><part>``: 10x triplets (``barcodes``, ``genes``/``features``,
``matrix``; ``<sep>`` is ``_`` or ``.``), 10x HDF5 files, text matrices or count
tables, sometimes per-sample ``.tar.gz`` archives of a Cell Ranger folder. This module
lists those members without unpacking anything to disk and groups them by sample.

Examples
--------
>>> names = ["GSM1_S1_barcodes.tsv.gz", "GSM1_S1_features.tsv.gz", "GSM1_S1_matrix.mtx.gz",
...          "GSM2_1M_matrix.txt", "GSM3_std1.genes.tsv.gz", "readme.pdf"]
>>> groups, skipped = group_members(Member(n, bytes) for n in names)
>>> [(g.prefix, sorted(g.parts)) for g in groups], skipped
... # doctest: +NORMALIZE_WHITESPACE
([('GSM1_S1', ['barcodes', 'features', 'matrix']), ('GSM2_1M', ['table']),
  ('GSM3_std1', ['features'])], ['readme.pdf'])
"""

from __future__ import annotations

import functools
import gzip
import io
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scclast._errors import ScclastDataError

PART = re.compile(r"(?i)(?:^|[._/-])(barcodes|genes|features|matrix)\.(tsv|mtx)(?:\.gz)?$")
H5 = re.compile(r"(?i)\.h5$")
TABLE = re.compile(r"(?i)\.(?:txt|tsv|csv)(?:\.gz)?$")
ARCHIVE = re.compile(r"(?i)\.(?:tar|tar\.gz|tgz)$")
GSM = re.compile(r"^(GSM\d+)[._-]?")
FILTERED_NAME = re.compile(r"(?i)filtered")
# "GSM4318799_1M_matrix.txt" is the 1M sample's matrix: the word names the file's kind,
# not the sample, so it is dropped from the sample label
_TABLE_KIND = re.compile(r"(?i)[._-](?:matrix|counts?|expression|umi|data)$")


@dataclass(frozen=True)
class Member:
    """A named file to read: a local file or a member of an archive."""

    name: str
    read: Callable[[], bytes]


def local_member(path: str | Path) -> Member:
    """A :class:`Member` for a file on disk."""
    path = Path(path)
    return Member(path.name, path.read_bytes)


def payload(member: Member) -> bytes:
    """The member's bytes, gunzipped when they are gzip data."""
    data = member.read()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise ScclastDataError(
                f"{member.name} is a damaged gzip file ({err}): delete it to download it again"
            ) from err
    return data


def lines(member: Member) -> list[str]:
    """The member's non-blank lines (UTF-8, undecodable bytes replaced)."""
    text = payload(member).decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


@contextmanager
def tar_members(path: str | Path, samples: Sequence[str] | None = None) -> Iterator[list[Member]]:
    """The files inside a (GEO ``_RAW.tar``) archive, read lazily while the context is open.

    Nested per-sample ``.tar.gz`` members are opened too; their files are named
    ``<outer stem>/<inner name>`` so that they keep the outer ``GSMxxx_`` prefix. With
    ``samples``, nested archives of other GSMs are not opened.

    Examples
    --------
    >>> import tempfile
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
            if ARCHIVE.search(name):
                if samples and gsm_of(name) not in samples:
                    continue  # not wanted: do not decompress it
                data = _extract(archive, info)
                members += _nested_members(data, ARCHIVE.sub("", name), path)
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
class SampleGroup:
    """The files of one sample: ``parts`` maps ``matrix``, ``features``, ``barcodes``,
    ``h5`` or ``table`` to its member."""

    prefix: str
    parts: dict[str, Member]

    @property
    def sample(self) -> str:
        """The GSM accession, or the prefix when the files carry none."""
        return gsm_of(self.prefix) or self.prefix

    @property
    def label(self) -> str:
        """The prefix without its GSM accession (``"S1"``, ``"1M"``, ``"Day0"``)."""
        return GSM.sub("", self.prefix) if gsm_of(self.prefix) else self.prefix


def group_members(members: Iterable[Member]) -> tuple[list[SampleGroup], list[str]]:
    """Group per-sample files by name prefix (``GSMxxx_label``); returns groups and
    the names of files no reader understands.

    Where a GSM has both ``filtered`` and other matrices, only the filtered ones are kept.
    """
    groups: dict[str, SampleGroup] = {}
    skipped = []
    for member in members:
        part_match = PART.search(member.name)
        if part_match:
            prefix, part = member.name[: part_match.start()], part_match.group(1).lower()
            part = "features" if part == "genes" else part
        elif H5.search(member.name):
            prefix, part = H5.sub("", member.name), "h5"
        elif TABLE.search(member.name):
            prefix, part = _TABLE_KIND.sub("", TABLE.sub("", member.name)), "table"
        else:
            skipped.append(member.name)
            continue
        prefix = prefix.rstrip("._/-") or member.name
        group = groups.setdefault(prefix, SampleGroup(prefix, {}))
        group.parts[part] = member
    return _prefer_filtered(list(groups.values())), skipped


def _prefer_filtered(groups: list[SampleGroup]) -> list[SampleGroup]:
    by_gsm: dict[str, list[SampleGroup]] = {}
    for group in groups:
        by_gsm.setdefault(group.sample, []).append(group)
    kept = []
    for family in by_gsm.values():
        filtered = [g for g in family if FILTERED_NAME.search(g.prefix)]
        kept += filtered if filtered and len(filtered) < len(family) else family
    return sorted(kept, key=lambda g: g.prefix)


def gsm_of(prefix: str) -> str | None:
    """The ``GSMxxx`` accession a name starts with, if any.

    Examples
    --------
    >>> gsm_of("GSM5201883_S1"), gsm_of("Day0")
    ('GSM5201883', None)
    """
    match = GSM.match(prefix)
    return match.group(1) if match else None


__all__ = [
    "Member",
    "SampleGroup",
    "group_members",
    "gsm_of",
    "lines",
    "local_member",
    "payload",
    "tar_members",
]
