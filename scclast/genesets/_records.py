"""Typed records of the catalogue: factors, references, gene sets and their members.

Frozen dataclasses, one per kind of YAML entry, so code reads ``factor.effect`` or
``member.references`` instead of dictionary keys; :mod:`._build` fills them and checks
the YAML on the way.

Examples
--------
>>> pair = GenePair("Slit3", "SLIT3", role="ligand")
>>> pair.symbol("human")
'SLIT3'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scclast._errors import ScclastInputError
from scclast._types import KNOWN_SPECIES, KnownSpecies

Species = KnownSpecies
"""The catalogue's species: ``"mouse"`` or ``"human"`` (no ``"auto"``: a symbol list
has to be in one of them)."""

SPECIES: tuple[str, ...] = KNOWN_SPECIES
PHASES: tuple[str, ...] = ("initiation", "transition", "termination")
"""Remodeling phases a factor acts in (Daponte et al. 2024, Fig. 1)."""
EFFECTS: tuple[str, ...] = ("anabolic", "inhibitory", "controversial")
"""Effect of a factor on osteoblasts."""
OSTEOMORPH_SET = "osteomorph"
"""Name of the user-supplied osteomorph signature (never bundled)."""


def check_species(species: str) -> Species:
    """``species`` if it is ``"mouse"`` or ``"human"``, else a one-line input error.

    Examples
    --------
    >>> check_species("rat")
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: unknown species 'rat': use 'mouse' or 'human'
    """
    if species not in SPECIES:
        raise ScclastInputError(f"unknown species {species!r}: use 'mouse' or 'human'")
    return species  # type: ignore[return-value]


@dataclass(frozen=True)
class GenePair:
    """One gene in both species, with its role for the factor or set."""

    mouse: str
    human: str
    role: str = ""

    def symbol(self, species: Species) -> str:
        """The symbol in ``species`` ("mouse" or "human")."""
        return self.mouse if check_species(species) == "mouse" else self.human


@dataclass(frozen=True)
class Reference:
    """A reference as the review cites it."""

    key: str
    cited_as: str
    citation: str
    doi: str | None = None


@dataclass(frozen=True)
class Factor:
    """One osteoclast-to-osteoblast coupling factor (a row of the catalogue)."""

    id: str
    name: str
    abbreviation: str
    category: str
    effect: str
    phases: tuple[str, ...]
    producing_state: str | None
    in_table1: bool
    genes: tuple[GenePair, ...]
    measured_via: str | None
    receptors: tuple[GenePair, ...]
    evidence: tuple[str, ...]
    references: tuple[str, ...]
    description: str
    notes: str | None = None


@dataclass(frozen=True)
class Member:
    """A gene in a named set, traced to the factor or the source that put it there."""

    mouse: str
    human: str
    role: str
    factor: str | None = None
    evidence: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    go: str | None = None

    def symbol(self, species: Species) -> str:
        """The symbol in ``species`` ("mouse" or "human")."""
        return self.mouse if check_species(species) == "mouse" else self.human


@dataclass(frozen=True)
class GeneSet:
    """A named gene set with its members in both species.

    Examples
    --------
    >>> s = GeneSet("pair", "demo", "", (Member("Efnb2", "EFNB2", "ligand"),))
    >>> s.genes("human")
    ['EFNB2']
    """

    name: str
    category: str
    description: str
    members: tuple[Member, ...]

    def genes(self, species: Species = "mouse") -> list[str]:
        """Unique member symbols in ``species``, in catalogue order."""
        return list(dict.fromkeys(m.symbol(species) for m in self.members))


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue: version, source, references, factors and named sets."""

    version: str
    source: dict[str, Any]
    references: dict[str, Reference]
    factors: dict[str, Factor]
    sets: dict[str, GeneSet] = field(default_factory=dict)

    def ortholog_table(self) -> dict[str, dict[str, str]]:
        """Mouse-to-human and human-to-mouse symbol maps from every curated pair.

        Examples
        --------
        >>> from scclast import genesets
        >>> genesets.load().ortholog_table()["mouse_to_human"]["Slit3"]
        'SLIT3'
        """
        pairs: list[tuple[str, str]] = []
        for factor in self.factors.values():
            pairs += [(g.mouse, g.human) for g in (*factor.genes, *factor.receptors)]
        for gene_set in self.sets.values():
            pairs += [(m.mouse, m.human) for m in gene_set.members]
        return {
            "mouse_to_human": dict(pairs),
            "human_to_mouse": {h: m for m, h in pairs},
        }


__all__ = [
    "EFFECTS",
    "OSTEOMORPH_SET",
    "PHASES",
    "SPECIES",
    "Catalogue",
    "Factor",
    "GenePair",
    "GeneSet",
    "Member",
    "Reference",
    "Species",
    "check_species",
]
