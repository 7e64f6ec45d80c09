"""The rules of the lineage calls: from per-group detection rates to one state per group.

A group (cluster or cell-type label) is called from the detection of the catalogue's
lineage sets in its cells:

1. ``lineage_myeloid`` is the identity gate. A group whose cells do not detect most
   myeloid identity genes is ``"non-lineage"``, whatever else it expresses: stromal and
   osteoblast-lineage cells also express Ctsk, Mmp9 and Acp5, erythroid cells Car2 and
   megakaryocytes Itgb3, and those genes alone must never make a group an osteoclast.
2. Past the gate, an ordered pair of osteoclast modules and the macrophage programme are
   checked for absolute presence (several genes detected in a good fraction of the
   cells) and compared with the best reference group: ``state_oc_precursor`` is the
   early RANKL-response module (RANK, NFATc1, DC-STAMP, OC-STAMP, transient CD11c),
   ``state_osteoclast`` the late/mature module (TRAP, cathepsin K, MMP-9, calcitonin
   receptor, V-ATPase subunits, OSCAR, integrin beta3, carbonic anhydrase II). The
   programme strongest relative to its best group wins, the most mature on a tie: a
   precursor is early-high and late-low, an osteoclast late-high.
3. Negative gates: neutrophils and conventional dendritic cells pass the myeloid gate,
   and dendritic cells express RANK, CD11c and DC-STAMP. A group with the
   ``exclusion_neutrophil`` or ``exclusion_dendritic_cell`` programme present is
   ``"neutrophil"`` or ``"dendritic_cell"`` instead of a precursor or macrophage (only a
   present late module, which neither expresses, overrides it), and such groups do not
   serve as the best group in the relative comparisons. A user-supplied osteomorph
   signature is checked next (only when given; never guessed). A myeloid group with no
   programme is ``"myeloid (no osteoclast-lineage program)"`` (progenitors, monocytes).
4. When too few genes of a set are measured (targeted panels), the set cannot be
   assessed; if that leaves no basis for a call the state is ``"undetermined (low
   coverage)"`` rather than a guess. In a whole-transcriptome matrix (5,000 genes or
   more by default) a missing gene was filtered for having (almost) no counts, and
   counts as not detected instead.

The thresholds are in :class:`LineageRules`, each with its reason. Every call carries
its evidence: per set, genes in the data / in the set, genes detected in the group with
their detection rates, and whether the program is present.

Known limitation: the calls use only the catalogue's genes. A precursor call also
requires RANK (``Tnfrsf11a``) to be detected (:attr:`LineageRules.precursor_requires_rank`).

This module is pure computation on a :class:`~scclast._stats.GroupGeneSummary`; reading
an AnnData and writing the results is :mod:`scclast.tl._lineage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from scclast._errors import ScclastInputError
from scclast._stats import GroupGeneSummary

MYELOID = "myeloid"
MACROPHAGE = "macrophage"
OC_PRECURSOR = "oc_precursor"
OSTEOCLAST = "osteoclast"
OSTEOMORPH = "osteomorph"
NEUTROPHIL = "neutrophil"
DENDRITIC_CELL = "dendritic_cell"
NON_LINEAGE = "non-lineage"
MYELOID_OTHER = "myeloid (no osteoclast-lineage program)"
UNDETERMINED = "undetermined (low coverage)"

LINEAGE_SETS: dict[str, str] = {
    MYELOID: "lineage_myeloid",
    MACROPHAGE: "state_macrophage",
    OC_PRECURSOR: "state_oc_precursor",
    OSTEOCLAST: "state_osteoclast",
    NEUTROPHIL: "exclusion_neutrophil",
    DENDRITIC_CELL: "exclusion_dendritic_cell",
}
"""Program name -> catalogue set used for it."""

EXCLUSIONS: tuple[str, ...] = (NEUTROPHIL, DENDRITIC_CELL)
"""Negative gates: myeloid programmes that are not on the osteoclast path (checked in
this order)."""

OSTEOCLAST_LINEAGE: tuple[str, ...] = (MACROPHAGE, OC_PRECURSOR, OSTEOCLAST, OSTEOMORPH)
"""States that count as osteoclast-lineage (candidates for flagging)."""

STATES: tuple[str, ...] = (
    *OSTEOCLAST_LINEAGE,
    *EXCLUSIONS,
    MYELOID_OTHER,
    NON_LINEAGE,
    UNDETERMINED,
)
"""Every state a group can receive, most mature lineage state first; ``neutrophil`` and
``dendritic_cell`` are myeloid but not osteoclast-lineage."""

MISSING_GENE_MODES: tuple[str, ...] = ("auto", "unmeasured", "undetected")


@dataclass(frozen=True)
class LineageRules:
    """Thresholds of the lineage calls (named, documented defaults).

    Attributes
    ----------
    detect_fraction
        A gene counts as *detected in a group* when at least this fraction of the
        group's cells have a non-zero value (default 0.25).
    min_program_fraction
        A program (set) is *present* in a group when at least this fraction of its
        measured genes are detected there (default 0.5).
    min_identity_genes
        ...and at least this many genes are detected, for the myeloid gate and the
        macrophage and precursor programs (default 2).
    min_osteoclast_genes
        Genes of ``state_osteoclast`` (and of an osteomorph signature) that must be
        detected for those calls: positive evidence of several osteoclast genes, not
        one (default 3).
    relative_to_best
        A state program's mean detection in a group must be at least this fraction of
        the highest among the myeloid groups (default 0.5), so that ambient osteoclast
        transcripts in another population do not make it an osteoclast.
    tie_margin
        Among the present programs, the one strongest *relative to the best group*
        wins; programs within this margin of the strongest count as tied and the most
        mature of them wins (default 0.1). Precursors that have started the
        osteoclast program are thus precursors while real osteoclasts exist, and a
        dataset of one state gets the most mature program it clearly shows.
    osteomorph_margin
        An osteomorph call also needs the signature's mean detection to exceed the
        other myeloid groups' (pooled) by this much (default 0.1); without another
        myeloid group to compare with, osteomorph is not called.
    min_coverage
        A set is *assessable* only when this fraction of its genes is measured
        (present in the data; default 0.5) ...
    min_measured
        ... and at least this many of its genes are measured (default 2).
    missing_genes
        How genes absent from the matrix are read. ``"unmeasured"``: not measured
        (targeted panels), so they lower coverage and can make a set not assessable.
        ``"undetected"``: measured as zero (a whole-transcriptome matrix drops genes
        only when they have (almost) no counts), so they count as not detected.
        ``"auto"`` (default): ``"undetected"`` when the matrix holds at least
        ``whole_transcriptome_genes`` genes, else ``"unmeasured"``.
    whole_transcriptome_genes
        Gene count from which ``"auto"`` treats a matrix as whole-transcriptome
        (default 5000).
    precursor_requires_rank
        A precursor call also needs RANK (``Tnfrsf11a``/``TNFRSF11A``) detected in the
        group (default True). Without the RANKL receptor a myeloid cell cannot enter
        osteoclastogenesis (Arai et al. 1999, in the catalogue), and the other early
        genes (NFATc1, CD11c) are also expressed by unrelated myeloid cells.
    exclusions
        Apply the negative gates (default True): a group showing the neutrophil or
        conventional dendritic-cell programme is called ``"neutrophil"`` or
        ``"dendritic_cell"`` rather than precursor or macrophage. Both pass the myeloid
        gate, neutrophils make Mmp9, and dendritic cells express RANK, CD11c and
        DC-STAMP (RANK was cloned from them).
    min_exclusion_genes
        An exclusion programme is present when this many of its genes are detected,
        or when at least ``min_program_fraction`` of its measured genes are (and never
        with fewer than ``min_identity_genes``). Default 3. The neutrophil programme
        spans granulopoiesis (granule-protein transcription factors early, secondary
        granule proteins later), so one maturation stage shows only part of it and a
        fraction rule would miss progenitors; 3 rather than 2 so that S100a8 and S100a9,
        the two chains of one protein (calprotectin), cannot call a group on their own.

    Examples
    --------
    >>> LineageRules().detect_fraction
    0.25
    >>> LineageRules(min_coverage=0.3).min_coverage
    0.3
    """

    detect_fraction: float = 0.25
    min_program_fraction: float = 0.5
    min_identity_genes: int = 2
    min_osteoclast_genes: int = 3
    relative_to_best: float = 0.5
    tie_margin: float = 0.1
    osteomorph_margin: float = 0.1
    min_coverage: float = 0.5
    min_measured: int = 2
    missing_genes: str = "auto"
    whole_transcriptome_genes: int = 5000
    precursor_requires_rank: bool = True
    exclusions: bool = True
    min_exclusion_genes: int = 3

    def __post_init__(self) -> None:
        check_rules(
            self,
            fractions=(
                "detect_fraction",
                "min_program_fraction",
                "relative_to_best",
                "tie_margin",
                "min_coverage",
            ),
            gene_counts=(
                "min_identity_genes",
                "min_osteoclast_genes",
                "min_measured",
                "min_exclusion_genes",
            ),
        )

    def missing_mode(self, n_vars: int | None) -> str:
        """``"unmeasured"`` or ``"undetected"`` for a matrix of ``n_vars`` genes.

        Examples
        --------
        >>> LineageRules().missing_mode(20000), LineageRules().missing_mode(240)
        ('undetected', 'unmeasured')
        """
        return missing_mode(self.missing_genes, self.whole_transcriptome_genes, n_vars)

    def as_dict(self) -> dict[str, Any]:
        """The thresholds as a plain dictionary (for the provenance record)."""
        return asdict(self)


def check_rules(rules: Any, fractions: Sequence[str], gene_counts: Sequence[str]) -> None:
    """Refuse a rules object's bad settings, one line naming the field.

    Shared by :class:`LineageRules` and the receiver gate's ``ReceiverRules``: each
    ``fractions`` field must lie in [0, 1], each ``gene_counts`` field be at least 1, and
    ``missing_genes`` be one of :data:`MISSING_GENE_MODES`.
    """
    owner = type(rules).__name__
    for name in fractions:
        value = getattr(rules, name)
        if not 0.0 <= value <= 1.0:
            raise ScclastInputError(f"{owner}.{name}={value!r}: give a value in [0, 1]")
    for name in gene_counts:
        if int(getattr(rules, name)) < 1:
            raise ScclastInputError(f"{owner}.{name}: give a positive number of genes")
    if rules.missing_genes not in MISSING_GENE_MODES:
        raise ScclastInputError(
            f"{owner}.missing_genes={rules.missing_genes!r}: use one of "
            + ", ".join(MISSING_GENE_MODES)
        )


def missing_mode(setting: str, whole_transcriptome_genes: int, n_vars: int | None) -> str:
    """How absent genes count: ``setting`` unless ``"auto"``, then by the matrix's size.

    Examples
    --------
    >>> missing_mode("auto", 5000, 20000), missing_mode("auto", 5000, None)
    ('undetected', 'unmeasured')
    """
    if setting != "auto":
        return setting
    if n_vars is not None and n_vars >= whole_transcriptome_genes:
        return "undetected"
    return "unmeasured"


@dataclass(frozen=True)
class Program:
    """How one lineage set looks in one group."""

    name: str
    n_genes: int
    n_in_data: int
    measured: tuple[str, ...]
    detected: tuple[str, ...]
    detection: tuple[float, ...]
    mean_detection: float
    assessable: bool
    present: bool

    @property
    def fraction(self) -> float:
        """Detected / measured genes (``nan`` when nothing is measured)."""
        return len(self.detected) / len(self.measured) if self.measured else float("nan")

    def describe(self) -> str:
        """One-line evidence, e.g. ``'myeloid 7/7 in data, 5 detected: present (Spi1 97%)'``."""
        head = f"{self.name} {self.n_in_data}/{self.n_genes} in data"
        if len(self.measured) > self.n_in_data:
            head += " (missing genes count as undetected)"
        if not self.assessable:
            return f"{head}: not assessable (low coverage)"
        ranked = sorted(zip(self.measured, self.detection, strict=True), key=lambda item: -item[1])
        genes = ", ".join(f"{g} {d:.0%}" for g, d in ranked if g in self.detected)
        verdict = "present" if self.present else "absent"
        return f"{head}, {len(self.detected)} detected: {verdict}" + (
            f" ({genes})" if genes else ""
        )


def call_states(
    summary: GroupGeneSummary,
    sets: Mapping[str, list[str]],
    rules: LineageRules | None = None,
    eligible: np.ndarray | None = None,
    n_vars: int | None = None,
) -> pd.DataFrame:
    """Call the lineage state of every group from per-group detection rates.

    Parameters
    ----------
    summary
        Per-group sums and detection counts covering the measured genes of ``sets``.
    sets
        ``{program: genes}`` as returned by :func:`lineage_gene_sets`.
    rules
        Thresholds; :class:`LineageRules` defaults when ``None``.
    eligible
        Boolean per group: groups that take part in the relative comparisons
        (default: all). Too-small groups are usually left out.
    n_vars
        Genes in the matrix, for ``LineageRules.missing_genes="auto"``.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group``, ``n_cells``, ``lineage_state``,
        ``osteoclast_lineage`` (bool), per program ``{program}_fraction`` (detected /
        measured), ``{program}_detection`` (mean detection of its measured genes) and
        ``{program}_coverage`` ("measured/total"), plus ``evidence`` (one line per
        program, joined by ``"; "``).

    Examples
    --------
    Osteoclast genes without myeloid identity do not make an osteoclast:

    >>> from scclast.tl._lineage import lineage_gene_sets
    >>> sets = lineage_gene_sets("mouse")
    >>> genes = sorted({g for s in sets.values() for g in s})
    >>> oc = [g in sets["myeloid"] or g in sets["osteoclast"] for g in genes]
    >>> stromal = [g in ("Ctsk", "Mmp9", "Acp5") for g in genes]
    >>> cells = np.array([oc, stromal], dtype=float) * 90  # 90 of 100 cells detect them
    >>> summary = GroupGeneSummary(genes, ["oc", "stromal"], np.full(2, 100.0), cells, cells)
    >>> call_states(summary, sets)["lineage_state"].tolist()
    ['osteoclast', 'non-lineage']
    """
    rules = rules or LineageRules()
    n = len(summary.groups)
    if eligible is None:
        eligible = np.ones(n, dtype=bool)
    missing = rules.missing_mode(n_vars)
    programs = {
        name: [
            _program(summary, name, genes, g, rules, missing) for g in range(len(summary.groups))
        ]
        for name, genes in sets.items()
    }
    myeloid_ok = np.array([p.present for p in programs[MYELOID]]) & eligible
    # Neutrophils and dendritic cells would otherwise set the bar for the early module
    # (dendritic cells express RANK, CD11c and DC-STAMP at high levels) and lower
    # every real precursor's relative strength.
    myeloid_ok &= ~np.array([_excluded(g, programs, rules) is not None for g in range(n)])
    rows = []
    for g, group in enumerate(summary.groups):
        state = _decide(g, programs, myeloid_ok, rules)
        rows.append(_state_row(group, summary.n_cells[g], state, programs, g))
    return pd.DataFrame(rows)


def _program(
    summary: GroupGeneSummary,
    name: str,
    genes: list[str],
    g: int,
    rules: LineageRules,
    missing: str = "unmeasured",
) -> Program:
    unique = list(dict.fromkeys(genes))
    positions = summary.gene_positions(unique)
    in_data = [summary.genes[i] for i in positions]
    rate_of = dict(zip(in_data, np.nan_to_num(summary.detection()[g, positions]), strict=True))
    measured = tuple(unique if missing == "undetected" else in_data)
    rates = np.array([rate_of.get(gene, 0.0) for gene in measured], dtype=float)
    detected = tuple(
        gene for gene, r in zip(measured, rates, strict=True) if r >= rules.detect_fraction
    )
    assessable = len(measured) >= rules.min_measured and (
        len(measured) >= rules.min_coverage * len(unique)
    )
    present = (
        assessable
        and _enough_detected(name, len(detected), len(measured), rules)
        and _anchor_detected(name, unique, detected, rules)
    )
    return Program(
        name=name,
        n_genes=len(unique),
        n_in_data=len(in_data),
        measured=measured,
        detected=detected,
        detection=tuple(float(r) for r in rates),
        mean_detection=float(rates.mean()) if rates.size else float("nan"),
        assessable=assessable,
        present=present,
    )


def _enough_detected(name: str, n_detected: int, n_measured: int, rules: LineageRules) -> bool:
    """Whether enough of a programme's genes are detected for it to be present."""
    if name in EXCLUSIONS:
        by_count = n_detected >= rules.min_exclusion_genes
        by_fraction = n_detected >= rules.min_program_fraction * n_measured
        return n_detected >= rules.min_identity_genes and (by_count or by_fraction)
    needed = (
        rules.min_osteoclast_genes if name in (OSTEOCLAST, OSTEOMORPH) else rules.min_identity_genes
    )
    return n_detected >= needed and n_detected >= rules.min_program_fraction * n_measured


_RANK_SYMBOLS = ("Tnfrsf11a", "TNFRSF11A")


def _anchor_detected(
    name: str, genes: list[str], detected: tuple[str, ...], rules: LineageRules
) -> bool:
    """Whether a program's required gene (RANK, for precursors) is detected."""
    if name != OC_PRECURSOR or not rules.precursor_requires_rank:
        return True
    anchors = [gene for gene in _RANK_SYMBOLS if gene in genes]
    return not anchors or any(gene in detected for gene in anchors)


def _decide(
    g: int, programs: Mapping[str, list[Program]], myeloid_ok: np.ndarray, rules: LineageRules
) -> str:
    myeloid = programs[MYELOID][g]
    if not myeloid.assessable:
        return UNDETERMINED
    if not myeloid.present:
        return NON_LINEAGE
    excluded = _excluded(g, programs, rules)
    if excluded is not None:
        return excluded
    if _osteomorph(g, programs, myeloid_ok, rules):
        return OSTEOMORPH
    state = _strongest(g, programs, myeloid_ok, rules)
    if state is not None:
        return state
    state_sets = [programs[n][g] for n in (OSTEOCLAST, OC_PRECURSOR, MACROPHAGE)]
    if not any(p.assessable for p in state_sets):
        return UNDETERMINED
    return MYELOID_OTHER


def _strongest(
    g: int, programs: Mapping[str, list[Program]], myeloid_ok: np.ndarray, rules: LineageRules
) -> str | None:
    """The osteoclast-lineage programme strongest relative to its best group, if any.

    The late module wins a tie, so a precursor is a group whose early module clearly
    outweighs its late one (early-high, late-low).
    """
    strength = {
        name: _relative_strength(g, programs[name], myeloid_ok)
        for name in (OSTEOCLAST, OC_PRECURSOR, MACROPHAGE)
        if programs[name][g].present
    }
    strength = {k: v for k, v in strength.items() if v >= rules.relative_to_best}
    if not strength:
        return None
    top = max(strength.values())
    for name in (OSTEOCLAST, OC_PRECURSOR, MACROPHAGE):  # most mature first
        if name in strength and strength[name] >= top - rules.tie_margin:
            return name
    return None  # pragma: no cover - the top programme always passes


def _excluded(g: int, programs: Mapping[str, list[Program]], rules: LineageRules) -> str | None:
    """``"neutrophil"`` or ``"dendritic_cell"`` when that programme vetoes the group.

    A present late osteoclast module overrides the veto: neither cell type expresses
    half of it, while a real osteoclast cluster with a few contaminating cells would
    otherwise be lost.
    """
    if not rules.exclusions or programs[OSTEOCLAST][g].present:
        return None
    for name in EXCLUSIONS:
        if name in programs and programs[name][g].present:
            return name
    return None


def _relative_strength(g: int, per_group: list[Program], myeloid_ok: np.ndarray) -> float:
    """Mean detection of a program in group ``g`` over the best myeloid group's."""
    own = per_group[g].mean_detection
    best = max([p.mean_detection for i, p in enumerate(per_group) if myeloid_ok[i]] + [own])
    return own / best if best > 0 else 0.0


def _osteomorph(
    g: int, programs: Mapping[str, list[Program]], myeloid_ok: np.ndarray, rules: LineageRules
) -> bool:
    if OSTEOMORPH not in programs or not programs[OSTEOMORPH][g].present:
        return False
    if not (programs[OSTEOCLAST][g].present or programs[OC_PRECURSOR][g].present):
        return False
    others = [i for i in np.nonzero(myeloid_ok)[0] if i != g]
    if not others:
        return False
    other_detection = np.mean([programs[OSTEOMORPH][i].mean_detection for i in others])
    return programs[OSTEOMORPH][g].mean_detection >= other_detection + rules.osteomorph_margin


def _state_row(
    group: str, n_cells: float, state: str, programs: Mapping[str, list[Program]], g: int
) -> dict[str, Any]:
    call = {"lineage_state": state, "osteoclast_lineage": state in OSTEOCLAST_LINEAGE}
    return program_row(group, n_cells, call, programs, g)


def program_row(
    group: str,
    n_cells: float,
    call: Mapping[str, Any],
    programs: Mapping[str, list[Program]],
    g: int,
) -> dict[str, Any]:
    """One row of a call table: the group, its ``call`` columns and each program's evidence.

    Shared by the lineage calls and the receiver gate (:mod:`scclast.tl._receivers`), so
    both tables describe a program the same way.
    """
    row: dict[str, Any] = {"group": group, "n_cells": int(n_cells), **call}
    for name, per_group in programs.items():
        program = per_group[g]
        row[f"{name}_fraction"] = program.fraction
        row[f"{name}_detection"] = program.mean_detection
        row[f"{name}_coverage"] = f"{program.n_in_data}/{program.n_genes}"
        row[f"{name}_detected_genes"] = ",".join(program.detected)
    row["evidence"] = "; ".join(per_group[g].describe() for per_group in programs.values())
    return row


__all__ = [
    "DENDRITIC_CELL",
    "EXCLUSIONS",
    "LINEAGE_SETS",
    "MACROPHAGE",
    "MYELOID",
    "MYELOID_OTHER",
    "NEUTROPHIL",
    "NON_LINEAGE",
    "OC_PRECURSOR",
    "OSTEOCLAST",
    "OSTEOCLAST_LINEAGE",
    "OSTEOMORPH",
    "STATES",
    "UNDETERMINED",
    "LineageRules",
    "Program",
    "call_states",
    "check_rules",
    "missing_mode",
    "program_row",
]
