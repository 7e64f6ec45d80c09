"""Which sets a flag scores, and in which role.

A *plan* is one gene set as it will be scored: its measured genes, the catalogue factor
each gene belongs to (for leave-one-factor-out) and its role:

* ``"flag"``: can flag a group: catalogue sets marked ``flags: true`` (the clastokine
  sets, :func:`scclast.genesets.flagging_sets`) and every set of the user's own (a
  dictionary or GMT set whose name is not a catalogue set's);
* ``"descriptive"``: other catalogue sets asked for (lineage, state, receptor, phase,
  coupling-mode sets, e.g. with ``gene_sets="all"``): scored and tested the same way,
  reported in their own rows, never flagged (a macrophage cluster "flagged" for
  ``state_macrophage`` would be circular);
* ``"inhibitory"`` and ``"machinery"``: reported in their own columns, never flag;
* ``"lineage"``: the lineage programmes, scored as evidence for the lineage call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scclast import genesets
from scclast._errors import ScclastInputError
from scclast.tl._lineage_rules import LINEAGE_SETS

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView

log = logging.getLogger("scclast")

DEFAULT_GENE_SETS: tuple[str, ...] = ("clastokines_secreted", "clastokines_putative")
"""Sets that can flag a group by default (pro-anabolic clastokines)."""


def flagging_set_names() -> list[str]:
    """Catalogue sets that may flag a group (``flags: true``).

    Read from :func:`scclast.genesets.flagging_sets`; a catalogue without the ``flags``
    field falls back to :data:`DEFAULT_GENE_SETS`.

    Examples
    --------
    >>> "clastokines_secreted" in flagging_set_names(), "state_osteoclast" in flagging_set_names()
    (True, False)
    """
    listed = getattr(genesets, "flagging_sets", None)
    names = list(listed()) if callable(listed) else []
    return names or list(DEFAULT_GENE_SETS)


INHIBITORY_SET = "coupling_inhibitory"
"""Reported in its own columns; never part of a pro-anabolic score."""


MACHINERY_SET = "secretory_machinery"
"""Capacity to secrete, reported beside what a group secretes; never flags."""


@dataclass
class SetPlan:
    """One gene set as scored: its measured genes, their factors and its role."""

    name: str
    role: str
    genes: list[str]
    found: list[str]
    index: np.ndarray
    factor_of: list[str]
    removed_inhibitory: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> str:
        """``"measured/total"`` genes."""
        return f"{len(self.found)}/{len(self.genes)}"

    def factors(self) -> dict[str, list[int]]:
        """Factor -> positions of its measured genes (in :attr:`found`)."""
        out: dict[str, list[int]] = {}
        for position, factor in enumerate(self.factor_of):
            out.setdefault(factor, []).append(position)
        return out


def plan_sets(
    view: ExpressionView,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str],
    species: str,
) -> dict[str, SetPlan]:
    """The sets to score: flagging and descriptive sets, then the inhibitory and machinery sets.

    Catalogue sets not marked as flagging sets become descriptive (see the module
    documentation); the user's own sets flag. Genes of inhibitory catalogue factors are
    removed from flagging sets (they are reported in the ``inhibitory_*`` columns, never
    counted as pro-anabolic); ``coupling_inhibitory`` and ``secretory_machinery``
    requested as sets are moved to their own roles.

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view
    >>> view = expression_view(scclast.datasets.example())
    >>> plans = plan_sets(view, ["clastokines_secreted"], "mouse")
    >>> {name: plan.role for name, plan in plans.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'clastokines_secreted': 'flag', 'coupling_inhibitory': 'inhibitory',
     'secretory_machinery': 'machinery'}
    >>> plans["clastokines_secreted"].coverage
    '9/9'
    >>> list(plans["clastokines_secreted"].factors())[:2]
    ['s1p', 'wnt10b']
    """
    requested = genesets.resolve_gene_sets(gene_sets, species)
    inhibitory_genes = _inhibitory_genes(species)
    catalogue = set(genesets.names())
    may_flag = set(flagging_set_names())
    plans: dict[str, SetPlan] = {}
    for name, genes in requested.items():
        if name in (INHIBITORY_SET, MACHINERY_SET):
            log.info("%s is reported in its own columns, not as a flagging set", name)
            continue
        role = "flag" if name in may_flag or name not in catalogue else "descriptive"
        kept, removed = genes, []
        if role == "flag":
            kept = [g for g in genes if g not in inhibitory_genes]
            removed = [g for g in genes if g in inhibitory_genes]
        if removed:
            log.info("%s: inhibitory factor genes %s reported separately", name, removed)
        plans[name] = _plan(view, name, role, kept, species, removed=removed)
    if not any(p.role == "flag" for p in plans.values()):
        descriptive = ", ".join(plans) or "none"
        raise ScclastInputError(
            "no flagging gene set left: give clastokine sets (e.g. 'clastokines_secreted', "
            f"see scclast.genesets.flagging_sets()); descriptive sets given: {descriptive}; "
            f"{INHIBITORY_SET} and {MACHINERY_SET} are reported in their own columns"
        )
    for name, role in ((INHIBITORY_SET, "inhibitory"), (MACHINERY_SET, "machinery")):
        if name in catalogue:
            plans[name] = _plan(view, name, role, genesets.get(name, species), species)
    if not any(len(p.found) for p in plans.values() if p.role == "flag"):
        names = ", ".join(p.name for p in plans.values() if p.role == "flag")
        raise ScclastInputError(
            f"none of the genes of {names} is in the data: check species/gene symbols "
            "(gene_symbols=) or choose other sets"
        )
    return plans


def _plan(
    view: ExpressionView,
    name: str,
    role: str,
    genes: list[str],
    species: str,
    removed: list[str] | None = None,
) -> SetPlan:
    index, found, _ = view.index_of(genes)
    factor_map = _factor_map(name, species)
    return SetPlan(
        name=name,
        role=role,
        genes=list(dict.fromkeys(genes)),
        found=found,
        index=index,
        factor_of=[factor_map.get(g, g) for g in found],
        removed_inhibitory=list(removed or []),
    )


def _factor_map(name: str, species: str) -> dict[str, str]:
    """Gene -> catalogue factor id of a catalogue set (genes of user sets stand alone)."""
    if name not in genesets.names():
        return {}
    return {m.symbol(species): m.factor for m in genesets.members(name) if m.factor}


def _inhibitory_genes(species: str) -> set[str]:
    catalogue = genesets.load()
    return {
        pair.symbol(species)
        for factor in catalogue.factors.values()
        if factor.effect == "inhibitory"
        for pair in factor.genes
    }


def add_lineage_plans(
    plans: dict[str, SetPlan],
    view: ExpressionView,
    lineage_sets: Mapping[str, list[str]],
    species: str,
) -> dict[str, str]:
    """Score the lineage programs too (evidence only); returns program -> set name.

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view
    >>> from scclast.tl._lineage import lineage_gene_sets
    >>> view = expression_view(scclast.datasets.example())
    >>> plans = plan_sets(view, ["clastokines_secreted"], "mouse")
    >>> add_lineage_plans(plans, view, lineage_gene_sets("mouse"), "mouse")["osteoclast"]
    'state_osteoclast'
    >>> plans["state_osteoclast"].role
    'lineage'
    """
    names = {}
    for program, genes in lineage_sets.items():
        name = LINEAGE_SETS.get(program, program)
        if name not in plans:
            plans[name] = _plan(view, name, "lineage", genes, species)
        names[program] = name
    return names


__all__ = [
    "DEFAULT_GENE_SETS",
    "INHIBITORY_SET",
    "MACHINERY_SET",
    "SetPlan",
    "add_lineage_plans",
    "flagging_set_names",
    "plan_sets",
]
