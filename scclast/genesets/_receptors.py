"""Receptors for pairing a factor with osteoblast-lineage cells, and the pairs as a table.

Table 1 gives each factor's osteoblast receptor as one flat column (``receptors``),
kept as the review wrote it. Pairing needs more: receptor *complexes* (LIFR with gp130,
a type I with a type II TGF-beta receptor, a Frizzled with LRP5 or LRP6) and, for Table 1
rows marked N/A, candidate receptors from sources outside the review. Those live in two
further fields of a factor record, ``receptors_extra`` (genes, each with ``source`` and
``references``) and ``receptor_complexes`` (subunits, ``source``, ``direction``), read
here; :func:`ligand_receptor_pairs` flattens them into one row per ligand and concrete
receptor complex, named the way LIANA+ resources name complexes (subunits joined by
``_``), so the catalogue can be handed to any LIANA+ method.

:func:`coupling_resource` adds what a reader of a coupling map needs beside each pair
(the factor's name, evidence and citations, and why a pair is special: reverse
signalling, a gene proxy, a contact route, a matrix-stored ligand), and
:func:`compare_resources` measures which pairs another resource (LIANA+'s consensus)
has, lacks or orients the other way.

Examples
--------
>>> from scclast import genesets
>>> rows = genesets.ligand_receptor_pairs("human")
>>> row = next(r for r in rows if r.factor == "tgfb1")
>>> row.ligand, row.receptor, row.source
('TGFB1', 'TGFBR1_TGFBR2', 'outside_review')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scclast.genesets._records import (
    DIRECTIONS,
    RECEPTOR_SOURCES,
    Catalogue,
    ExtraReceptor,
    Factor,
    GenePair,
    ReceptorComplex,
    Species,
    check_species,
)

if TYPE_CHECKING:
    # pandas only in the functions that build frames: `scclast genesets` stays light
    import pandas as pd

PAIR_COLUMNS: tuple[str, ...] = (
    "ligand",
    "receptor",
    "factor",
    "effect",
    "direction",
    "source",
    "ligand_measurable",
    "references",
)
"""Fields of :class:`LigandReceptorPair` in table order (``ligand``, ``receptor`` first,
as LIANA+ reads a custom resource)."""


@dataclass(frozen=True)
class LigandReceptorPair:
    """One ligand and one concrete receptor complex, LIANA+-style names.

    ``ligand`` joins the factor's genes with ``_`` (all are needed: S1P is made by SPHK1
    and exported by SPNS2); ``receptor`` joins the complex's subunits, sorted, with ``_``.
    ``ligand_measurable`` is False where the ligand's transcript does not measure the
    route (matrix-stored TGF-beta1 and IGF-1, vesicle-carried RANK).
    """

    ligand: str
    receptor: str
    factor: str
    effect: str
    direction: str
    source: str
    ligand_measurable: bool
    references: tuple[str, ...]
    complex_note: str = ""

    def as_row(self) -> dict[str, Any]:
        """The pair as a plain dictionary (references joined by ``,``)."""
        row = {name: getattr(self, name) for name in PAIR_COLUMNS}
        row["references"] = ",".join(self.references)
        return row


def build_receptor_fields(
    raw: Mapping[str, Any], receptors: Sequence[GenePair], where: str
) -> tuple[tuple[ExtraReceptor, ...], tuple[ReceptorComplex, ...]]:
    """``receptors_extra`` and ``receptor_complexes`` of one factor, checked.

    A complex may name only genes of the factor's Table 1 ``receptors`` or of its
    ``receptors_extra``; an extra receptor must say where it comes from and cite it.

    Examples
    --------
    >>> raw = {"receptors_extra": [{"mouse": "Tgfbr2", "human": "TGFBR2",
    ...        "source": "outside_review", "references": ["r"]}],
    ...        "receptor_complexes": [{"subunits": ["Tgfbr1", "Tgfbr2"],
    ...        "source": "outside_review", "references": ["r"]}]}
    >>> extra, complexes = build_receptor_fields(raw, [GenePair("Tgfbr1", "TGFBR1")], "x")
    >>> extra[0].gene.human, complexes[0].combinations()
    ('TGFBR2', [('Tgfbr1', 'Tgfbr2')])
    """
    extras = tuple(_extra(item, where) for item in raw.get("receptors_extra") or ())
    known = {p.mouse for p in receptors} | {e.gene.mouse for e in extras}
    complexes = tuple(_complex(item, known, where) for item in raw.get("receptor_complexes") or ())
    return extras, complexes


def _extra(item: Mapping[str, Any], where: str) -> ExtraReceptor:
    source = str(item.get("source", ""))
    references = tuple(item.get("references") or ())
    if source not in RECEPTOR_SOURCES or source == "table1":
        raise ValueError(f"{where}: receptors_extra {item.get('mouse')!r} needs a source")
    if not references:
        raise ValueError(f"{where}: receptors_extra {item.get('mouse')!r} cites nothing")
    try:
        gene = GenePair(str(item["mouse"]), str(item["human"]), str(item.get("role") or ""))
    except KeyError as err:
        raise ValueError(f"{where}: receptors_extra entry {item!r} lacks {err}") from err
    return ExtraReceptor(gene=gene, source=source, references=references)


def _complex(item: Mapping[str, Any], known: set[str | None], where: str) -> ReceptorComplex:
    subunits = tuple(
        tuple(str(g) for g in (unit if isinstance(unit, list) else [unit]))
        for unit in item.get("subunits") or ()
    )
    unknown = sorted({g for unit in subunits for g in unit} - known)
    if not subunits or unknown:
        raise ValueError(f"{where}: receptor complex {subunits!r} names unknown genes {unknown}")
    complex_ = ReceptorComplex(
        subunits=subunits,
        source=str(item.get("source", "")),
        references=tuple(item.get("references") or ()),
        direction=str(item.get("direction", "forward")),
        note=item.get("note"),
    )
    if complex_.source not in RECEPTOR_SOURCES or complex_.direction not in DIRECTIONS:
        raise ValueError(
            f"{where}: receptor complex {subunits!r} has source {complex_.source!r} / "
            f"direction {complex_.direction!r}"
        )
    if not complex_.references:
        raise ValueError(f"{where}: receptor complex {subunits!r} cites nothing")
    return complex_


def factor_pairs(factor: Factor, species: Species) -> list[LigandReceptorPair]:
    """The ligand-receptor rows of one factor (none without genes or receptors).

    Examples
    --------
    >>> from scclast import genesets
    >>> rows = factor_pairs(genesets.load().factors["bmp6"], "mouse")
    >>> [r.receptor for r in rows]
    ['Bmpr1a_Bmpr2', 'Bmpr1b_Bmpr2', 'Acvr1_Bmpr2']
    """
    species = check_species(species)
    ligand_genes = [g.symbol(species) for g in factor.genes]
    if not ligand_genes or not all(ligand_genes):
        return []
    rows = []
    for complex_ in factor.receptor_complexes:
        for combination in complex_.combinations():
            subunits = [_symbol(factor, gene, species) for gene in combination]
            rows.append(
                LigandReceptorPair(
                    ligand="_".join(g for g in ligand_genes if g),
                    receptor="_".join(sorted(subunits)),
                    factor=factor.id,
                    effect=factor.effect,
                    direction=complex_.direction,
                    source=complex_.source,
                    ligand_measurable=factor.measurable,
                    references=complex_.references,
                    complex_note=" ".join(str(complex_.note or "").split()),
                )
            )
    return rows


def _symbol(factor: Factor, mouse_symbol: str, species: Species) -> str:
    pair = factor.receptor_pair(mouse_symbol)
    symbol = pair.symbol(species) if pair else None
    if not symbol:  # pragma: no cover - _complex already refused unknown genes
        raise ValueError(f"factor {factor.id!r}: no {species} symbol for {mouse_symbol!r}")
    return symbol


RESOURCE_COLUMNS: tuple[str, ...] = (
    "ligand",
    "receptor",
    "factor",
    "factor_name",
    "category",
    "effect",
    "direction",
    "source",
    "evidence",
    "ligand_measurable",
    "note",
    "references",
    "citation",
)
"""Columns of :func:`coupling_resource`, ``ligand`` and ``receptor`` first."""

COMPARISON_STATUSES: tuple[str, ...] = (
    "has",
    "has another complex",
    "orients differently",
    "lacks",
)
"""How another resource holds a catalogue pair (:func:`compare_resources`)."""


def coupling_resource(species: Species = "mouse", *, annotations: bool = True) -> pd.DataFrame:
    """The catalogue's ligand-receptor pairs as a LIANA+ resource, one row per pair.

    ``ligand`` and ``receptor`` name complexes as LIANA+ does (subunits joined by
    ``_``; the ligand of S1P is its gene proxy ``Sphk1_Spns2``, both required). Vesicular
    RANK is oriented by hand, RANK as the ligand and RANKL as the receptor
    (``direction="reverse"``), which standard resources list only as RANKL -> RANK.
    Beside the pair: ``factor`` and ``factor_name``, ``category``, ``effect`` on bone
    formation, ``direction``, ``source`` of the receptor (``table1``, ``review_text``,
    ``outside_review``), ``evidence`` of the factor (``in_vitro``, ``in_vivo``; "not
    stated" for a factor the review names outside Table 1 without it),
    ``ligand_measurable``, ``note`` (why the pair is special, else empty),
    ``references`` (keys) and ``citation`` (as cited).

    LIANA+ splits *every* column of a resource on ``_``, so give its methods the two
    name columns only: ``resource[["ligand", "receptor"]]``, or
    ``annotations=False``.

    Examples
    --------
    >>> resource = coupling_resource("human")
    >>> rank = resource.set_index("factor").loc["vesicular_rank"]
    >>> rank["ligand"], rank["receptor"], rank["direction"]
    ('TNFRSF11A', 'TNFSF11', 'reverse')
    >>> coupling_resource("mouse", annotations=False).columns.tolist()
    ['ligand', 'receptor']
    """
    # imported here: _catalogue imports this module to build its pairs
    import pandas as pd

    from scclast.genesets._catalogue import load

    species = check_species(species)
    catalogue = load()
    rows = []
    for factor in catalogue.factors.values():
        for pair in factor_pairs(factor, species):
            rows.append(_resource_row(pair, factor, catalogue))
    frame = pd.DataFrame(rows, columns=list(RESOURCE_COLUMNS))
    return frame[["ligand", "receptor"]].copy() if not annotations else frame


def unpaired_factors(species: Species = "mouse") -> pd.DataFrame:
    """Catalogue factors with no ligand-receptor pair, and why none can be scored.

    A factor without a measured gene (miR-324: a mature miRNA that poly(A) capture
    misses) or without a known receptor (afamin: Table 1 gives none) has no pair, so
    no communication method can score it.

    Examples
    --------
    >>> unpaired_factors("human").set_index("factor").loc["afamin", "reason"]
    'no receptor is known (Table 1: N/A), so no pair can be scored'
    """
    import pandas as pd

    from scclast.genesets._catalogue import load

    species = check_species(species)
    rows = []
    for factor in load().factors.values():
        if factor_pairs(factor, species):
            continue
        if not factor.genes or not all(g.symbol(species) for g in factor.genes):
            why = "no transcript measures it"
            if factor.measured_via:
                why += ": " + " ".join(factor.measured_via.split()).split(". ")[0].rstrip(".")
        else:
            why = "no receptor is known (Table 1: N/A), so no pair can be scored"
        rows.append(
            {
                "factor": factor.id,
                "factor_name": factor.abbreviation,
                "effect": factor.effect,
                "reason": why,
            }
        )
    return pd.DataFrame(rows, columns=["factor", "factor_name", "effect", "reason"])


_NO_EVIDENCE = "not stated (not a Table 1 row)"


def _resource_row(pair: LigandReceptorPair, factor: Factor, catalogue: Catalogue) -> dict:
    row = pair.as_row()
    row.update(
        factor_name=factor.abbreviation,
        category=factor.category,
        evidence=",".join(factor.evidence) or _NO_EVIDENCE,
        note=pair_note(factor, pair.direction, pair.complex_note),
        citation="; ".join(
            catalogue.references[key].cited_as
            for key in pair.references
            if key in catalogue.references
        ),
    )
    return row


def pair_note(factor: Factor, direction: str = "forward", complex_note: str = "") -> str:
    """Why a pair of this factor is not an ordinary secreted ligand and receptor (or "").

    Joins, in this order: reverse signalling, a contact route, a gene proxy, a ligand
    whose transcript does not measure the route, how the factor is measured
    (``measured_via``) and the receptor complex's own note.

    Examples
    --------
    >>> from scclast import genesets
    >>> factors = genesets.load().factors
    >>> pair_note(factors["slit3"])
    ''
    >>> pair_note(factors["connexin43"]).split(":")[0]
    'Contact route'
    """
    notes = []
    if direction == "reverse":
        notes.append(
            "Reverse signalling, oriented by hand: the factor's gene product (ligand "
            "column) binds the receiver's 'receptor', which signals into the receiver; "
            "standard resources list the opposite direction."
        )
    if factor.category == "contact":
        notes.append(
            "Contact route: gap junctions need cells to touch, so co-expression cannot "
            "show coupling."
        )
    if len(factor.genes) > 1:
        symbols = " and ".join(g.key for g in factor.genes)
        notes.append(f"Gene proxy: the ligand is {symbols}, all required (the lowest counts).")
    if not factor.measurable:
        notes.append("The ligand transcript does not measure this route.")
    if factor.measured_via:
        notes.append(" ".join(factor.measured_via.split()))
    if complex_note:
        notes.append(complex_note.rstrip(".") + ".")
    return " ".join(notes)


def compare_resources(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Which of our pairs another resource has, lacks or orients the other way.

    Per pair of ``ours`` (``ligand``, ``receptor``; other columns kept), ``status`` is

    * ``"has"``: the same ligand and receptor complex;
    * ``"orients differently"``: a pair with our receptor's subunit(s) as ligand and our
      ligand as receptor (vesicular RANK -> RANKL is listed as RANKL -> RANK);
    * ``"has another complex"``: the same ligand with a receptor sharing a subunit
      (a subunit alone, or with other partners);
    * ``"lacks"``: none of these;

    and ``matches`` lists the other resource's rows behind the status.

    Examples
    --------
    >>> import pandas as pd
    >>> ours = pd.DataFrame({"ligand": ["A", "B", "C", "D"],
    ...                      "receptor": ["R1", "R2_R3", "R4", "R5"]})
    >>> theirs = pd.DataFrame({"ligand": ["A", "B", "R4", "E"],
    ...                        "receptor": ["R1", "R2", "C", "R5"]})
    >>> compare_resources(ours, theirs)["status"].tolist()
    ['has', 'has another complex', 'orients differently', 'lacks']
    """
    known = [
        (str(lig), str(rec), set(str(lig).split("_")), set(str(rec).split("_")))
        for lig, rec in zip(theirs["ligand"], theirs["receptor"], strict=True)
    ]
    statuses, matches = [], []
    for ligand, receptor in zip(ours["ligand"], ours["receptor"], strict=True):
        lig_units, rec_units = set(str(ligand).split("_")), set(str(receptor).split("_"))
        exact = [(a, b) for a, b, _, _ in known if a == ligand and b == receptor]
        reverse = [(a, b) for a, b, la, rb in known if la & rec_units and rb & lig_units]
        partial = [(a, b) for a, b, la, rb in known if la == lig_units and rb & rec_units]
        for status, found in (
            ("has", exact),
            ("orients differently", reverse),
            ("has another complex", partial),
        ):
            if found:
                statuses.append(status)
                matches.append("; ".join(f"{a} -> {b}" for a, b in dict.fromkeys(found)))
                break
        else:
            statuses.append("lacks")
            matches.append("")
    return ours.assign(status=statuses, matches=matches)


__all__ = [
    "COMPARISON_STATUSES",
    "PAIR_COLUMNS",
    "RESOURCE_COLUMNS",
    "LigandReceptorPair",
    "build_receptor_fields",
    "compare_resources",
    "coupling_resource",
    "factor_pairs",
    "pair_note",
    "unpaired_factors",
]
