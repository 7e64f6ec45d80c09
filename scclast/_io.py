"""Small text files in and out: a user's file read with one-line errors, atomic writes.

Shared by the gene-set catalogue (GMT, signatures, ortholog tables) and the CLI, so
every command reports an unreadable file the same way and never leaves half a file.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "genes.txt"
>>> write_text_atomically(path, "Slit3\\nLif\\n")
>>> read_user_text(path).split()
['Slit3', 'Lif']
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from scclast._errors import ScclastInputError


def read_user_text(path: str | Path) -> str:
    """Text of a user-supplied file, or a one-line :class:`ScclastInputError`.

    Refuses a missing file, a folder, binary content, non-UTF-8 text and an empty
    file, naming the path each time. A UTF-8 byte-order mark is dropped.

    Examples
    --------
    >>> read_user_text("/nonexistent/genes.txt")
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: /nonexistent/genes.txt: file not found
    """
    path = Path(path)
    if not path.exists():
        raise ScclastInputError(f"{path}: file not found")
    if path.is_dir():
        raise ScclastInputError(f"{path}: is a folder; give a file")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ScclastInputError(f"{path}: not a text file (binary content); give GMT, TSV or CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScclastInputError(f"{path}: not UTF-8 text ({err.reason})") from err
    if not text.strip():
        raise ScclastInputError(f"{path}: file is empty; it should list gene symbols")
    return text


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``: the whole file appears, or none of it.

    The text goes to a hidden temporary file in the same folder, which then replaces
    ``path`` in one step (``os.replace``), so an interrupted write never leaves a
    truncated file behind.

    Examples
    --------
    >>> write_text_atomically("/nonexistent/dir/x.gmt", "")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: /nonexistent/dir/x.gmt: folder ... does not exist
    """
    path = Path(path)
    if path.is_dir():
        raise ScclastInputError(f"{path}: is a folder; give a file name to write")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ScclastInputError(f"{path}: folder {folder} does not exist")
    try:
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as err:
        raise ScclastInputError(
            f"{path}: cannot write in {folder} ({err.strerror or err}); choose another path"
        ) from err
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp_name, path)
    except OSError as err:
        Path(tmp_name).unlink(missing_ok=True)
        raise ScclastInputError(f"{path}: cannot write ({err.strerror or err})") from err
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


__all__ = ["read_user_text", "write_text_atomically"]
