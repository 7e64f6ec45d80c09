"""The ``scclast`` command: a thin argparse layer over the import API.

Each command group lives in its own module exposing ``add_parser(subparsers)``, which
registers the subcommand and sets ``func`` (a callable taking the parsed arguments and
returning an exit status). User errors (:class:`scclast._errors.ScclastInputError`)
become one line on stderr and exit status 2; anything else is an internal error
(status 1; the traceback is shown with ``--verbose``). scclast's own warnings
(:class:`scclast.ScclastWarning`) are printed once each, as one line without a file
path; other packages' warnings go to the debug log (``--verbose``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from scclast._errors import ScclastInputError
from scclast._version import __version__

# Command-group modules, in the order their commands appear in ``scclast --help``.
_COMMAND_MODULES = ("_genesets", "_score", "_run", "_timecourse", "_datasets", "_workflow")

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2

log = logging.getLogger("scclast")


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors already exit 2; keep them on one line, with a hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``scclast`` argument parser (used by :func:`main` and the docs).

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.parse_args(["genesets", "list"]).command
    'genesets'
    """
    parser = _Parser(
        prog="scclast",
        description=(
            "Single-cell analysis of the osteoclast secretome: score cells for a cited "
            "clastokine catalogue and flag candidate secretory osteoclast-lineage populations."
        ),
    )
    parser.add_argument("--version", action="version", version=f"scclast {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging and tracebacks"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in _COMMAND_MODULES:
        importlib.import_module(f"scclast.cli.{name}").add_parser(subparsers)
    return parser


def configure_logging(quiet: bool = False, verbose: bool = False) -> None:
    """Send scclast's log records to stderr at the level the user chose."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("scclast: %(message)s"))
    handler.addFilter(_OncePerWarning())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


class _OncePerWarning(logging.Filter):
    """Drop a warning line already shown: a step that runs twice warns twice, a user
    needs it once."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        text = record.getMessage()
        if text in self.shown:
            return False
        self.shown.add(text)
        return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``scclast`` command; returns the exit status.

    Examples
    --------
    >>> main(["genesets", "show", "coupling_contact"])  # doctest: +ELLIPSIS
    coupling_contact (coupling...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(getattr(args, "quiet", False), getattr(args, "verbose", False))
    try:
        with one_line_warnings():
            return int(args.func(args) or EXIT_OK)
    except ScclastInputError as err:
        print(f"scclast: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("scclast: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:  # an internal error: say so plainly, keep details for -v
        if getattr(args, "verbose", False):
            raise
        print(
            f"scclast: internal error: {type(err).__name__}: {err} "
            "(rerun with --verbose for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Show each scclast warning once, as ``scclast: warning: ...`` on one line.

    Python's default shows the file and source line of every warning, and repeats one
    raised from several places; a user needs the message once. Warnings of other
    packages go to the debug log.

    Examples
    --------
    >>> from scclast._warnings import DataWarning, warn
    >>> configure_logging()
    >>> with one_line_warnings():
    ...     warn("gene set 'x': 1 of 5 genes present", DataWarning)
    ...     warn("gene set 'x': 1 of 5 genes present", DataWarning)
    """
    from scclast._warnings import ScclastWarning

    seen: set[str] = set()

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        text = " ".join(str(message).split())
        if not issubclass(category, ScclastWarning):
            log.debug("%s: %s", category.__name__, text)
        elif text not in seen:
            seen.add(text)
            log.warning("warning: %s", text)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.showwarning = show
        yield


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
