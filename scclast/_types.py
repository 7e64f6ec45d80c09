"""Closed choices as ``Literal`` types, shared by signatures, checks and the CLI.

Each ``Literal`` has a tuple of its values beside it (``typing.get_args``), so argument
checks, ``argparse`` ``choices`` and the docs list the same options.

Examples
--------
>>> SPECIES
('auto', 'mouse', 'human')
>>> check_choice("species", "rat", SPECIES)
Traceback (most recent call last):
...
scclast._errors.ScclastInputError: species='rat' is not one of auto, mouse, human
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from scclast._errors import ScclastInputError

Species = Literal["auto", "mouse", "human"]
KnownSpecies = Literal["mouse", "human"]
ScoreMethod = Literal["seurat", "ucell", "aucell", "mean"]
Normalize = Literal["auto", "counts", "log", "none"]
Ties = Literal["average", "ordinal"]
RankMethod = Literal["wilcoxon", "t-test", "t-test_overestim_var"]

SPECIES: tuple[str, ...] = get_args(Species)
KNOWN_SPECIES: tuple[str, ...] = get_args(KnownSpecies)
SCORE_METHODS: tuple[str, ...] = get_args(ScoreMethod)
NORMALIZE_OPTIONS: tuple[str, ...] = get_args(Normalize)
TIES: tuple[str, ...] = get_args(Ties)
RANK_METHODS: tuple[str, ...] = get_args(RankMethod)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    """Refuse a value outside a closed choice, naming the parameter and the options."""
    if value not in allowed:
        raise ScclastInputError(f"{name}={value!r} is not one of {', '.join(allowed)}")


__all__ = [
    "KNOWN_SPECIES",
    "NORMALIZE_OPTIONS",
    "RANK_METHODS",
    "SCORE_METHODS",
    "SPECIES",
    "TIES",
    "KnownSpecies",
    "Normalize",
    "RankMethod",
    "ScoreMethod",
    "Species",
    "Ties",
    "check_choice",
]
