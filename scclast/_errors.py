"""Error types shared by every scclast module.

A :class:`ScclastInputError` means the user's input is wrong and can be fixed by the
user: the command-line interface prints its message as one line and exits with
status 2, without a traceback. Any other exception is an internal error (status 1).
"""

from __future__ import annotations


class ScclastError(Exception):
    """Base class of all errors raised on purpose by scclast."""


class ScclastInputError(ScclastError, ValueError):
    """Bad input: a file, column, gene set, species or value the user can fix.

    The message must name the offending item and say what to do about it.

    Examples
    --------
    >>> raise ScclastInputError("unknown species 'rat': use 'mouse' or 'human'")
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: unknown species 'rat': use 'mouse' or 'human'
    """


class ScclastDataError(ScclastInputError):
    """A data file is missing, corrupt or does not match its recorded checksum."""
