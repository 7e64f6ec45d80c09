"""Settings of the analyses ``scclast run`` carries, declared once for every entry point.

Each :class:`Option` belongs to one pipeline section (:mod:`scclast._pipeline._sections`)
and becomes, without further code, a flag of ``scclast run``, a keyword of
:func:`scclast.run`, a parameter in ``run.json`` and a per-input setting of the Snakemake
workflow (``options:`` of an input in the config). This module is plain data, so that
building the command-line parser stays fast (no scanpy import).

A section reads its settings from the run's parameters by :attr:`Option.name`.

Examples
--------
>>> [option.flag for option in OPTIONS if option.section == "demo"]
[]
>>> Option("demo", "reference", "level of --condition to compare against").flag
'--reference'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scclast._errors import ScclastInputError


@dataclass(frozen=True)
class Option:
    """One setting of a section.

    Attributes
    ----------
    section
        Name of the section that reads it.
    name
        Python keyword and ``run.json`` key (snake_case); the flag is ``--name-with-dashes``.
    help
        One line for ``scclast run --help`` and the docs.
    type
        Parses the command-line text (``str``, ``float``, ``int``; ``bool`` options are
        switches).
    default
        Value when not given.
    metavar
        Placeholder shown in ``--help``.
    choices
        Allowed values, if closed.
    """

    section: str
    name: str
    help: str
    type: Callable[[str], Any] = str
    default: Any = None
    metavar: str | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def flag(self) -> str:
        """The ``scclast run`` flag."""
        return "--" + self.name.replace("_", "-")

    @property
    def is_switch(self) -> bool:
        """A ``bool`` option is a flag without a value."""
        return self.type is bool


OPTIONS: tuple[Option, ...] = (
    Option("conditions", "condition", "obs column of conditions to compare", metavar="COL"),
    Option("conditions", "reference", "level of --condition to compare with", metavar="LEVEL"),
    Option(
        "differentiation",
        "pseudotime_key",
        "obs column of a pseudotime you computed (larger = later), used instead of scclast's "
        "diffusion pseudotime",
        metavar="COL",
    ),
    Option(
        "differentiation",
        "trajectory_permutations",
        "permutations of the test along the pseudotime (default 1000)",
        int,
        1000,
        metavar="N",
    ),
    Option(
        "coupling",
        "receivers",
        "groups to use as receivers of the coupling map, comma-separated (default: the "
        "osteoblast-lineage groups the receiver gate calls)",
        metavar="GROUPS",
    ),
    Option(
        "coupling",
        "coupling_permutations",
        "label permutations of the coupling map's CellPhoneDB p-value (default 1000)",
        int,
        1000,
        metavar="N",
    ),
)
"""Every section option, grouped by section in report order (one line per option)."""


def option_names() -> tuple[str, ...]:
    """The names of every option.

    Examples
    --------
    >>> isinstance(option_names(), tuple)
    True
    """
    return tuple(option.name for option in OPTIONS)


def resolve_options(given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option's value: the given ones, else the defaults; unknown names refused.

    Examples
    --------
    >>> sorted(resolve_options({})) == sorted(option_names())
    True
    >>> resolve_options({"colour": "red"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: unknown run option 'colour': scclast run has no such ...
    """
    known = {option.name: option for option in OPTIONS}
    for name in given:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none besides its own parameters"
            hint = f"; section options: {listed}" if known else ""
            raise ScclastInputError(
                f"unknown run option {name!r}: scclast run has no such setting "
                f"(see scclast run --help){hint}"
            )
    values = {}
    for name, option in known.items():
        value = given.get(name, option.default)
        if option.choices is not None and value is not None and value not in option.choices:
            raise ScclastInputError(
                f"{option.flag} {value!r} is not one of {', '.join(map(str, option.choices))}"
            )
        values[name] = value
    return values


def _check_unique() -> None:
    names = [option.name for option in OPTIONS]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RuntimeError(f"run options declared twice: {repeated}")


_check_unique()

__all__ = ["OPTIONS", "Option", "option_names", "resolve_options"]
