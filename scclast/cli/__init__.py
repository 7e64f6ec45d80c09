"""The ``scclast`` command: a thin argparse layer over the import API.

Each command group lives in its own module exposing ``add_parser(subparsers)``, which
registers the subcommand and sets ``func`` (a callable taking the parsed arguments and
returning an exit status). User errors (:class:`scclast._errors.ScclastInputError`)
become one line on stderr and exit status 2; anything else is an internal error
(status 1; the traceback is shown with ``--verbose``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from scclast._errors import ScclastInputError
from scclast._version import __version__

# Command-group modules, in the order their commands appear in ``scclast --help``.
_COMMAND_MODULES = ("_genesets", "_score", "_run", "_datasets", "_workflow")

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
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``scclast`` command; returns the exit status.

    Examples
    --------
    >>> main(["genesets", "show", "coupling_contact"])  # doctest: +ELLIPSIS
    coupling_contact (coupling): ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(getattr(args, "quiet", False), getattr(args, "verbose", False))
    try:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
