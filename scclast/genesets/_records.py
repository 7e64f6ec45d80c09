"""Typed records of the catalogue: factors, references, gene sets and their members.

Frozen dataclasses, one per kind of YAML entry, so code reads ``factor.effect`` or
``member.references`` instead of dictionary keys; :mod:`._build` fills them and checks
the YAML on the way.

Examples
--------
>>> pair = GenePair("Slit3", "SLIT3", role="ligand")
>>> pair.symbol("human")
'SLIT3'
>>> GenePair("Ly6g", None, role="mouse only").symbol("human") is None
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
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
RECEPTOR_SOURCES: tuple[str, ...] = ("table1", "review_text", "outside_review")
"""Where a receptor or receptor complex comes from: the review's Table 1, the review's
text (factors that are not Table 1 rows), or a cited source outside the review."""
DIRECTIONS: tuple[str, ...] = ("forward", "reverse")
"""``reverse``: the factor's gene product is the ligand-like partner but the signal runs
into the cell carrying the "receptor" (vesicular RANK binding osteoblast RANKL)."""
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
    """One gene in both species, with its role for the factor or set.

    A symbol is ``None`` where the gene has no ortholog in that species (explicit set
    members only, e.g. mouse Ly6g); such a gene is simply absent from that species' list.
    ``caveat`` is what a reader must know before taking the gene's expression as the
    factor's (its cell of origin elsewhere), cited by ``caveat_references``.
    """

    mouse: str | None
    human: str | None
    role: str = ""
    caveat: str | None = None
    caveat_references: tuple[str, ...] = ()

    def symbol(self, species: Species) -> str | None:
        """The symbol in ``species`` ("mouse" or "human"); ``None`` without an ortholog."""
        return self.mouse if check_species(species) == "mouse" else self.human

    @property
    def key(self) -> str:
        """The identifier used for de-duplication (the mouse symbol, else the human one)."""
        return str(self.mouse or self.human)


@dataclass(frozen=True)
class Reference:
    """A reference as the review cites it (or a cited source outside the review)."""

    key: str
    cited_as: str
    citation: str
    doi: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ExtraReceptor:
    """A receptor gene not in Table 1, added for ligand-receptor pairing with its source."""

    gene: GenePair
    source: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class ReceptorComplex:
    """One receptor unit a factor signals through: its subunits and where it comes from.

    ``subunits`` holds one tuple of alternative genes per subunit position (mouse
    symbols), e.g. ``(("Bmpr1a", "Bmpr1b", "Acvr1"), ("Bmpr2",))`` for a type I plus a
    type II BMP receptor. :meth:`~ReceptorComplex.combinations` expands the alternatives
    into concrete complexes, the unit a LIANA+-style resource lists.

    Examples
    --------
    >>> rc = ReceptorComplex((("Bmpr1a", "Acvr1"), ("Bmpr2",)), "outside_review", ("r",))
    >>> rc.combinations()
    [('Bmpr1a', 'Bmpr2'), ('Acvr1', 'Bmpr2')]
    """

    subunits: tuple[tuple[str, ...], ...]
    source: str
    references: tuple[str, ...]
    direction: str = "forward"
    note: str | None = None

    def combinations(self) -> list[tuple[str, ...]]:
        """Every concrete complex (one gene per subunit position), in YAML order."""
        return [tuple(genes) for genes in product(*self.subunits)]

    def genes(self) -> list[str]:
        """Every subunit gene (mouse symbols), each once."""
        return list(dict.fromkeys(g for alternatives in self.subunits for g in alternatives))


@dataclass(frozen=True)
class Factor:
    """One osteoclast-to-osteoblast coupling factor (a row of the catalogue).

    ``measurable`` is False when the factor's gene transcripts in the producing cell do
    not measure the route (matrix-stored ligands, vesicle-carried RANK): such a factor
    keeps its record and receptors but contributes no genes to derived gene sets.
    ``receptors`` is Table 1's own receptor column, unchanged; ``receptors_extra`` and
    ``receptor_complexes`` add what pairing with osteoblast receptors needs.
    """

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
    measurable: bool = True
    phase_note: str | None = None
    receptors_extra: tuple[ExtraReceptor, ...] = ()
    receptor_complexes: tuple[ReceptorComplex, ...] = ()

    def receptor_pair(self, mouse_symbol: str) -> GenePair | None:
        """The receptor gene (Table 1 or extra) with this mouse symbol."""
        for pair in (*self.receptors, *(extra.gene for extra in self.receptors_extra)):
            if pair.mouse == mouse_symbol:
                return pair
        return None


@dataclass(frozen=True)
class Member:
    """A gene in a named set, traced to the factor or the source that put it there."""

    mouse: str | None
    human: str | None
    role: str
    factor: str | None = None
    evidence: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    go: str | None = None
    caveat: str | None = None

    def symbol(self, species: Species) -> str | None:
        """The symbol in ``species``; ``None`` where the gene has no ortholog there."""
        return self.mouse if check_species(species) == "mouse" else self.human

    @property
    def key(self) -> str:
        """The identifier used for de-duplication (the mouse symbol, else the human one)."""
        return str(self.mouse or self.human)


@dataclass(frozen=True)
class GeneSet:
    """A named gene set with its members in both species.

    ``flags`` says whether the set may flag a group (only clastokine sets do); every
    other set is a descriptive readout.

    Examples
    --------
    >>> s = GeneSet("pair", "demo", "", (Member("Efnb2", "EFNB2", "ligand"),))
    >>> s.genes("human"), s.flags
    (['EFNB2'], False)
    """

    name: str
    category: str
    description: str
    members: tuple[Member, ...]
    flags: bool = False

    def genes(self, species: Species = "mouse") -> list[str]:
        """Unique member symbols in ``species``, in catalogue order (no-ortholog genes out)."""
        symbols = (m.symbol(species) for m in self.members)
        return list(dict.fromkeys(s for s in symbols if s))


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue: version, source, references, factors and named sets."""

    version: str
    source: dict[str, Any]
    references: dict[str, Reference]
    factors: dict[str, Factor]
    sets: dict[str, GeneSet] = field(default_factory=dict)
    retired_sets: dict[str, str] = field(default_factory=dict)

    def ortholog_table(self) -> dict[str, dict[str, str]]:
        """Mouse-to-human and human-to-mouse symbol maps from every curated pair.

        Genes without an ortholog in one species are left out.

        Examples
        --------
        >>> from scclast import genesets
        >>> genesets.load().ortholog_table()["mouse_to_human"]["Slit3"]
        'SLIT3'
        """
        pairs: list[tuple[str | None, str | None]] = []
        for factor in self.factors.values():
            extras = (extra.gene for extra in factor.receptors_extra)
            pairs += [(g.mouse, g.human) for g in (*factor.genes, *factor.receptors, *extras)]
        for gene_set in self.sets.values():
            pairs += [(m.mouse, m.human) for m in gene_set.members]
        both = [(m, h) for m, h in pairs if m and h]
        return {
            "mouse_to_human": dict(both),
            "human_to_mouse": {h: m for m, h in both},
        }


__all__ = [
    "DIRECTIONS",
    "EFFECTS",
    "OSTEOMORPH_SET",
    "PHASES",
    "RECEPTOR_SOURCES",
    "SPECIES",
    "Catalogue",
    "ExtraReceptor",
    "Factor",
    "GenePair",
    "GeneSet",
    "Member",
    "ReceptorComplex",
    "Reference",
    "Species",
    "check_species",
]
