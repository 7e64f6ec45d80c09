"""The receiver gate: which groups are osteoblast-lineage cells that can receive clastokines.

Built like the lineage gate (:mod:`scclast.tl._lineage_rules`), from the detection of
cited marker programmes in each group's cells (catalogue sets, ``gene_sets.yaml``):

1. ``lineage_myeloid`` vetoes: a group with myeloid identity is ``"myeloid"``, never a
   receiver. Osteoblast-lineage cells are mesenchymal, and neutrophils express
   alkaline phosphatase (Alpl), a gene of the osteoprogenitor programme. The myeloid
   cells also serve as the background: a receiver gene counts in a group only when it
   is detected clearly more often there than in them (ambient or ubiquitous
   transcripts do not call receivers).
2. Three ordered programmes are checked for presence (several genes detected in a
   good fraction of the group's cells): ``receiver_osteoprogenitor`` (Runx2, Sp7,
   Alpl), ``receiver_osteoblast`` (Col1a1, Bglap, Ibsp; present only with Bglap or
   Ibsp detected, because fibroblasts and stromal cells make Col1a1 too) and
   ``receiver_osteocyte`` (Dmp1, Sost, Phex, Mepe).
3. Each present programme's mean expression (log-normalised, over its genes) is
   compared with its best non-myeloid group's; the programme strongest relative to its
   best group wins. Expression rather than detection, because matrix genes are detected
   in nearly every cell of several stages. Among tied programmes (within
   ``tie_margin``; always the case in data with one receiver group) the one detected in
   more of the group's cells wins, and the most mature one when that ties too
   (osteoblasts keep part of the progenitor programme, osteocytes part of the
   osteoblast one).
4. A group with no programme is ``"not osteoblast-lineage"``; when too few genes of
   every programme are measured the call is ``"undetermined (low coverage)"``, never
   a guess.

The gate never invents receivers: data without osteoblast-lineage cells (most
haematopoietic atlases, sorted myeloid cells) get none, and the coupling map says so.
The thresholds are in :class:`ReceiverRules`.

Examples
--------
>>> import scclast
>>> adata = scclast.datasets.simulate_osteoclastogenesis(
...     n_cells=900, n_genes=600, seed=3, extra_states={"osteoblast": 0.1, "osteocyte": 0.1})
>>> scclast.tl.receiver_states(adata, "state_true")
>>> table = scclast.get.receiver_table(adata).set_index("group")
>>> table.loc[["osteoblast", "osteocyte", "stromal", "osteoclast"], "receiver_state"].tolist()
['osteoblast', 'osteocyte', 'not osteoblast-lineage', 'myeloid']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import genesets
from scclast._adata import copy_or_self
from scclast._docs import (
    doc_adata,
    doc_copy,
    doc_groupby,
    doc_key_added,
    doc_matrix,
    doc_params,
    doc_returns_copy,
    doc_species,
)
from scclast._groups import (
    check_view,
    group_codes,
    per_cell,
    resolve_species,
    summarise_sets,
    table_for_uns,
)
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view
from scclast._provenance import provenance
from scclast._stats import GroupGeneSummary
from scclast._types import Species
from scclast.tl._lineage_rules import Program, check_rules, missing_mode, program_row

if TYPE_CHECKING:
    from anndata import AnnData

MYELOID = "myeloid"
OSTEOPROGENITOR = "osteoprogenitor"
OSTEOBLAST = "osteoblast"
OSTEOCYTE = "osteocyte"
NOT_RECEIVER = "not osteoblast-lineage"
UNDETERMINED = "undetermined (low coverage)"

RECEIVER_SETS: dict[str, str] = {
    MYELOID: "lineage_myeloid",
    OSTEOPROGENITOR: "receiver_osteoprogenitor",
    OSTEOBLAST: "receiver_osteoblast",
    OSTEOCYTE: "receiver_osteocyte",
}
"""Programme -> catalogue set."""

RECEIVER_STATES: tuple[str, ...] = (OSTEOCYTE, OSTEOBLAST, OSTEOPROGENITOR)
"""Osteoblast-lineage states (the receivers), most mature first."""

STATES: tuple[str, ...] = (*RECEIVER_STATES, MYELOID, NOT_RECEIVER, UNDETERMINED)
"""Every receiver state a group can receive."""


@dataclass(frozen=True)
class ReceiverRules:
    """Thresholds of the receiver gate (named defaults, as :class:`~scclast.tl.LineageRules`).

    Attributes
    ----------
    detect_fraction
        A gene is *detected in a group* when at least this fraction of its cells have
        a non-zero value (default 0.25) ...
    min_gap
        ... and, when the data hold myeloid groups, at least this much more often than
        in the myeloid cells pooled (default 0.2): haematopoietic cells make none of the
        receiver genes, so a gene detected as often there is ambient or ubiquitous, not
        evidence of an osteoblast-lineage programme.
    min_program_fraction
        A programme is *present* when at least this fraction of its measured genes are
        detected (default 0.5) ...
    min_genes
        ... and at least this many (default 2): no single marker calls a group
        (Runx2 alone is also in hypertrophic chondrocytes and some T cells).
    osteoblast_anchors
        An osteoblast call also needs one of these detected (default: osteocalcin and
        bone sialoprotein, both species): Col1a1 is made by fibroblasts and stromal
        cells too. ``()`` drops the requirement.
    relative_to_best
        A programme's mean expression in a group must be at least this fraction of the
        best non-myeloid group's (default 0.5).
    tie_margin
        Programmes within this margin of the strongest (relative to their best group)
        tie; the one with the highest mean detection wins, the most mature of those
        within this margin of it (default 0.1).
    min_coverage, min_measured
        A programme is *assessable* only with this fraction (default 0.5) and this
        number (default 2) of its genes measured.
    missing_genes, whole_transcriptome_genes
        How genes absent from the matrix count, as for
        :class:`scclast.tl.LineageRules` (``"auto"``: as undetected from 5,000 genes
        on, else as unmeasured).

    Examples
    --------
    >>> ReceiverRules().osteoblast_anchors
    ('Bglap', 'Ibsp', 'BGLAP', 'IBSP')
    >>> ReceiverRules(min_genes=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: ReceiverRules.min_genes: give a positive number of genes
    """

    detect_fraction: float = 0.25
    min_gap: float = 0.2
    min_program_fraction: float = 0.5
    min_genes: int = 2
    osteoblast_anchors: tuple[str, ...] = ("Bglap", "Ibsp", "BGLAP", "IBSP")
    relative_to_best: float = 0.5
    tie_margin: float = 0.1
    min_coverage: float = 0.5
    min_measured: int = 2
    missing_genes: str = "auto"
    whole_transcriptome_genes: int = 5000

    def __post_init__(self) -> None:
        check_rules(
            self,
            fractions=(
                "detect_fraction",
                "min_gap",
                "min_program_fraction",
                "relative_to_best",
                "tie_margin",
                "min_coverage",
            ),
            gene_counts=("min_genes", "min_measured"),
        )

    def missing_mode(self, n_vars: int | None) -> str:
        """``"unmeasured"`` or ``"undetected"`` for a matrix of ``n_vars`` genes."""
        return missing_mode(self.missing_genes, self.whole_transcriptome_genes, n_vars)

    def as_dict(self) -> dict[str, Any]:
        """The thresholds as a plain dictionary (for the provenance record)."""
        out = asdict(self)
        out["osteoblast_anchors"] = list(self.osteoblast_anchors)
        return out


def receiver_gene_sets(species: str = "mouse") -> dict[str, list[str]]:
    """The receiver gate's programmes as ``{programme: genes}``.

    Examples
    --------
    >>> receiver_gene_sets("human")["osteoblast"]
    ['COL1A1', 'BGLAP', 'IBSP']
    """
    return {program: genesets.get(name, species) for program, name in RECEIVER_SETS.items()}


def call_receivers(
    summary: GroupGeneSummary,
    sets: Mapping[str, list[str]],
    rules: ReceiverRules | None = None,
    n_vars: int | None = None,
) -> pd.DataFrame:
    """Call every group's receiver state from per-group detection rates.

    Returns one row per group: ``group``, ``n_cells``, ``receiver_state``,
    ``osteoblast_lineage`` (bool), per programme ``{p}_fraction``, ``{p}_detection``,
    ``{p}_coverage`` and ``{p}_detected_genes``, and ``evidence`` (one line per
    programme).

    Examples
    --------
    >>> sets = receiver_gene_sets("mouse")
    >>> genes = sorted({g for s in sets.values() for g in s})
    >>> fibro = [g in ("Col1a1", "Runx2") for g in genes]  # collagen, no osteocalcin
    >>> ob = [g in sets["osteoblast"] or g in ("Sp7", "Runx2") for g in genes]
    >>> cells = np.array([fibro, ob], dtype=float) * 90
    >>> summary = GroupGeneSummary(genes, ["fibro", "ob"], np.full(2, 100.0), cells, cells)
    >>> call_receivers(summary, sets)["receiver_state"].tolist()
    ['not osteoblast-lineage', 'osteoblast']
    """
    rules = rules or ReceiverRules()
    missing = rules.missing_mode(n_vars)
    n = len(summary.groups)
    myeloid_sets = {k: v for k, v in sets.items() if k == MYELOID}
    programs = {
        name: [_program(summary, name, genes, g, rules, missing) for g in range(n)]
        for name, genes in myeloid_sets.items()
    }
    myeloid = np.array([_is_myeloid(programs, g) for g in range(n)])
    reference = _reference(summary, myeloid)
    for name, genes in sets.items():
        if name != MYELOID:
            programs[name] = [
                _program(summary, name, genes, g, rules, missing, reference) for g in range(n)
            ]
    programs = {name: programs[name] for name in sets}
    levels = {name: _levels(summary, genes, missing) for name, genes in sets.items()}
    rows = []
    for g, group in enumerate(summary.groups):
        state = MYELOID if myeloid[g] else _decide(g, programs, levels, ~myeloid, rules)
        rows.append(_row(group, summary.n_cells[g], state, programs, g))
    return pd.DataFrame(rows)


def _program(
    summary: GroupGeneSummary,
    name: str,
    genes: list[str],
    g: int,
    rules: ReceiverRules,
    missing: str,
    reference: Mapping[str, float] | None = None,
) -> Program:
    unique = list(dict.fromkeys(genes))
    positions = summary.gene_positions(unique)
    in_data = [summary.genes[i] for i in positions]
    rate_of = dict(zip(in_data, np.nan_to_num(summary.detection()[g, positions]), strict=True))
    measured = tuple(unique if missing == "undetected" else in_data)
    rates = np.array([rate_of.get(gene, 0.0) for gene in measured], dtype=float)
    floor = reference or {}
    detected = tuple(
        gene
        for gene, r in zip(measured, rates, strict=True)
        if r >= rules.detect_fraction and r >= floor.get(gene, 0.0) + rules.min_gap
    )
    assessable = len(measured) >= rules.min_measured and (
        len(measured) >= rules.min_coverage * len(unique)
    )
    enough = len(detected) >= rules.min_genes and (
        len(detected) >= rules.min_program_fraction * len(measured)
    )
    anchors = rules.osteoblast_anchors
    anchored = name != OSTEOBLAST or not anchors or any(gene in anchors for gene in detected)
    return Program(
        name=name,
        n_genes=len(unique),
        n_in_data=len(in_data),
        measured=measured,
        detected=detected,
        detection=tuple(float(r) for r in rates),
        mean_detection=float(rates.mean()) if rates.size else float("nan"),
        assessable=assessable,
        present=assessable and enough and anchored,
    )


def _reference(summary: GroupGeneSummary, myeloid: np.ndarray) -> dict[str, float] | None:
    """Each gene's detection pooled over the myeloid groups (``None`` without any)."""
    if not myeloid.any():
        return None
    pooled = np.nan_to_num(summary.detection(np.nonzero(myeloid)[0]))
    return dict(zip(summary.genes, pooled.tolist(), strict=True))


def _levels(summary: GroupGeneSummary, genes: list[str], missing: str) -> np.ndarray:
    """Per group, the mean expression over a programme's genes (missing ones as 0 when
    they count as undetected)."""
    unique = list(dict.fromkeys(genes))
    positions = summary.gene_positions(unique)
    if not positions:
        return np.zeros(len(summary.groups))
    means = np.nan_to_num(summary.means()[:, positions])
    n = len(unique) if missing == "undetected" else len(positions)
    return means.sum(axis=1) / n


def _is_myeloid(programs: Mapping[str, list[Program]], g: int) -> bool:
    return MYELOID in programs and programs[MYELOID][g].present


def _decide(
    g: int,
    programs: Mapping[str, list[Program]],
    levels: Mapping[str, np.ndarray],
    eligible: np.ndarray,
    rules: ReceiverRules,
) -> str:
    strength = {}
    for name in RECEIVER_STATES:
        if programs[name][g].present:
            own = float(levels[name][g])
            best = max(float(levels[name][eligible].max(initial=0.0)), own)
            strength[name] = own / best if best > 0 else 0.0
    strength = {k: v for k, v in strength.items() if v >= rules.relative_to_best}
    if strength:
        top = max(strength.values())
        tied = [
            n for n in RECEIVER_STATES if n in strength and strength[n] >= top - rules.tie_margin
        ]
        # With one receiver group every present programme is at its best (a tie); the
        # programme detected in most of the group's cells then decides, the most mature
        # one when detection ties too.
        detection = {n: programs[n][g].mean_detection for n in tied}
        best = max(detection.values())
        return next(n for n in tied if detection[n] >= best - rules.tie_margin)
    if not any(programs[name][g].assessable for name in RECEIVER_STATES):
        return UNDETERMINED
    return NOT_RECEIVER


def _row(
    group: str, n_cells: float, state: str, programs: Mapping[str, list[Program]], g: int
) -> dict[str, Any]:
    call = {"receiver_state": state, "osteoblast_lineage": state in RECEIVER_STATES}
    return program_row(group, n_cells, call, programs, g)


@doc_params(
    doc_adata=doc_adata,
    doc_groupby=doc_groupby,
    doc_species=doc_species,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def receiver_states(
    adata: AnnData,
    groupby: str,
    *,
    species: Species = "auto",
    rules: ReceiverRules | None = None,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Osteoblast-lineage receiver state of every group (the receiver gate).

    A myeloid group is ``"myeloid"``; otherwise the osteoprogenitor (Runx2, Sp7,
    Alpl), osteoblast (Col1a1 with Bglap or Ibsp) or osteocyte (Dmp1, Sost, Phex,
    Mepe) programme strongest relative to its best group decides, the most mature on a
    tie; a group with none is ``"not osteoblast-lineage"``, and too little coverage
    gives ``"undetermined (low coverage)"``. Rules: :class:`ReceiverRules`.

    Parameters
    ----------
    {doc_adata}
    {doc_groupby}
    {doc_species}
    rules
        Thresholds (:class:`ReceiverRules`).
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Writes ``obs[f"{key_added}_receiver_state"]`` and ``uns[key_added]["receivers"]``
    (provenance, rules and the table, read back with :func:`scclast.get.receiver_table`).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=600, n_genes=500, seed=1, extra_states={"osteoprogenitor": 0.2})
    >>> scclast.tl.receiver_states(adata, "state_true")
    >>> table = scclast.get.receiver_table(adata)
    >>> table.loc[table["osteoblast_lineage"], "group"].tolist()
    ['osteoprogenitor']
    """
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    codes, groups = group_codes(adata, groupby)
    view = expression_view(
        adata, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols, species=species
    )
    check_view(view)
    sets = receiver_gene_sets(resolve_species(view, species))
    summary = summarise_sets(view, codes, groups, sets.values())
    table = call_receivers(summary, sets, rules, n_vars=view.n_vars)
    states = table["receiver_state"].to_numpy(dtype=object)
    adata.obs[keys.receiver_state] = pd.Categorical(
        per_cell(codes, states), categories=[s for s in STATES if s in set(states)]
    )
    block = provenance(
        groupby=groupby, species=species, layer=layer, use_raw=use_raw, key_added=key_added
    )
    block.update(
        rules=(rules or ReceiverRules()).as_dict(),
        matrix=dict(view.record),
        table=table_for_uns(table),
    )
    keys.store(adata, Step.RECEIVERS, block)
    return adata if copy else None


def receiver_groups(table: pd.DataFrame) -> list[str]:
    """The groups a receiver table calls osteoblast-lineage, in table order.

    Examples
    --------
    >>> receiver_groups(pd.DataFrame({"group": ["a", "b"],
    ...                               "receiver_state": ["osteoblast", "myeloid"]}))
    ['a']
    """
    if table.empty:
        return []
    keep = table["receiver_state"].astype(str).isin(RECEIVER_STATES)
    return [str(g) for g in table.loc[keep, "group"]]


__all__ = [
    "NOT_RECEIVER",
    "RECEIVER_SETS",
    "RECEIVER_STATES",
    "STATES",
    "UNDETERMINED",
    "ReceiverRules",
    "call_receivers",
    "receiver_gene_sets",
    "receiver_groups",
    "receiver_states",
]
