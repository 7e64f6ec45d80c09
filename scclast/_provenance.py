"""Provenance records: what produced a result, so a figure can be traced back.

Every analysis stores :func:`provenance` (versions, catalogue version, parameters)
under its step of ``adata.uns[key_added]`` through :class:`scclast._keys.Keys`, which
owns the key names; input files are fingerprinted with :func:`file_sha256`.

Examples
--------
>>> block = provenance(method="ucell", gene_sets=["coupling_contact"], layer=None)
>>> block["parameters"]
{'method': 'ucell', 'gene_sets': ['coupling_contact'], 'layer': 'None'}
>>> sorted(block)
['catalogue_version', 'created', 'parameters', 'python', 'versions']
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from scclast.genesets import catalogue_version

_TRACKED_PACKAGES = (
    "scclast",
    "scanpy",
    "anndata",
    "numpy",
    "scipy",
    "pandas",
    "gseapy",
    "statsmodels",
    "pydeseq2",
    "liana",
)


def package_versions(packages: tuple[str, ...] = _TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape scclast's numbers.

    Looked up once per process (metadata queries cost milliseconds each).

    Examples
    --------
    >>> "numpy" in package_versions()
    True
    """
    return dict(_installed_versions(packages))


@functools.cache
def _installed_versions(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    versions: dict[str, str] = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return tuple(versions.items())


def provenance(**parameters: Any) -> dict[str, Any]:
    """A provenance block: versions, catalogue version, Python, time and parameters.

    Examples
    --------
    >>> block = provenance(method="ucell")
    >>> block["parameters"]["method"]
    'ucell'
    """
    return {
        "versions": package_versions(),
        "catalogue_version": catalogue_version(),
        "python": platform.python_version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "parameters": {k: to_jsonable(v) for k, v in parameters.items()},
    }


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks so large files need little memory.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
    ...     _ = fh.write(b"abc")
    >>> file_sha256(fh.name)[:12]
    'ba7816bf8f01'
    >>> os.remove(fh.name)
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def to_jsonable(value: Any) -> Any:
    """``value`` as plain types that h5ad and JSON can store.

    Paths become strings, tuples and sets lists, other objects their ``repr``.

    Examples
    --------
    >>> to_jsonable({"out": Path("a/b"), "sets": ("x", "y"), "seed": None})
    {'out': 'a/b', 'sets': ['x', 'y'], 'seed': 'None'}
    """
    if value is None:
        # h5ad cannot store None inside uns; keep the fact that it was unset.
        return "None"
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return repr(value)


__all__ = ["file_sha256", "package_versions", "provenance", "to_jsonable"]
