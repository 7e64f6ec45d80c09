"""The simulator's states and gene programmes: one table, read by the drawing code.

Everything here is a SIMULATION SETTING, not a claim about biology: which genes a
simulated state raises, and by how much, is chosen so that the simulated data exercise
scclast's gates and tests (the cited biology lives in ``gene_sets/``). Programme gene
lists are taken from the scclast catalogue where it has a set of the same role, and
from the fallback lists written here otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import pandas as pd

from scclast import genesets
from scclast._errors import ScclastError, ScclastInputError

log = logging.getLogger("scclast")

Lineage = Literal["osteoclast_lineage", "myeloid_other", "osteoblast_lineage", "stromal"]
LINEAGES: tuple[str, ...] = get_args(Lineage)
MYELOID_LINEAGES: tuple[str, ...] = ("osteoclast_lineage", "myeloid_other")
"""Lineage classes whose states carry the myeloid identity programme."""

OFF = 0.05
"""Fold of a programme in a state that does not list it (a trace, not zero)."""

# programme -> (catalogue sets of the same role, first present wins; fallback genes).
# The first catalogue name is the one in use today; later names are what a renamed or
# split set may be called. A missing set falls back to the list here (and is logged).
DEFAULT_PROGRAMMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "myeloid_identity": (
        ("lineage_myeloid",),
        ("Ptprc", "Spi1", "Csf1r", "Lyz2", "Cd68", "Tyrobp", "Fcer1g"),
    ),
    "macrophage": (("state_macrophage",), ("Adgre1", "C1qa", "Mrc1", "Cx3cr1")),
    "oc_precursor": (
        ("state_oc_precursor", "state_oc_early", "state_oc_rankl_early"),
        ("Tnfrsf11a", "Itgax", "Nfatc1"),
    ),
    "osteoclast": (
        ("state_osteoclast", "state_oc_late", "state_oc_mature"),
        (
            "Acp5",
            "Ctsk",
            "Mmp9",
            "Nfatc1",
            "Dcstamp",
            "Ocstamp",
            "Atp6v0d2",
            "Calcr",
            "Oscar",
            "Itgb3",
        ),
    ),
    "clastokines": (
        ("clastokines_secreted",),
        ("Sphk1", "Spns2", "Wnt10b", "C3", "Cthrc1", "Wnt5a", "Slit3", "Ctf1", "Lif"),
    ),
    "stromal": ((), ("Col1a1", "Col1a2", "Col3a1", "Sparc", "Cxcl12", "Lepr", "Pdgfra")),
    "neutrophil": (
        ("exclusion_neutrophil", "state_neutrophil", "lineage_neutrophil"),
        ("S100a8", "S100a9", "Ly6g", "Retnlg", "Ngp", "Camp", "Ltf"),
    ),
    "dendritic_cell": (
        ("exclusion_dendritic_cell", "state_dendritic_cell", "lineage_dendritic_cell"),
        ("Flt3", "Zbtb46", "Xcr1"),
    ),
    "osteoprogenitor": (
        ("receiver_osteoprogenitor", "state_osteoprogenitor"),
        ("Runx2", "Sp7", "Alpl"),
    ),
    "osteoblast": (
        ("receiver_osteoblast", "state_osteoblast"),
        ("Col1a1", "Col1a2", "Bglap", "Ibsp", "Spp1"),
    ),
    "osteocyte": (
        ("receiver_osteocyte", "state_osteocyte"),
        ("Dmp1", "Sost", "Phex", "Pdpn"),
    ),
    # Receptor programmes: the catalogue's receptor set is flat (no per-receiver
    # structure), so these three lists are the simulator's own, split so that receptor
    # expression differs between the receiver states.
    "receptors_progenitor": (
        (),
        ("Pdgfrb", "Igf1r", "Met", "Tgfbr1", "Tgfbr2", "Bmpr1a", "Bmpr2", "S1pr1"),
    ),
    "receptors_osteoblast": (
        (),
        (
            "Robo1",
            "Ephb4",
            "S1pr3",
            "Lifr",
            "Il6st",
            "Fzd1",
            "Lrp5",
            "Lrp6",
            "C3ar1",
            "Plxnb1",
            "Epha2",
        ),
    ),
    "receptors_osteocyte": ((), ("Tnfsf11", "Cxcr6", "Ror2", "Fzd4")),
}


@dataclass(frozen=True)
class SimState:
    """One simulated state: a row of the simulator's state table.

    Attributes
    ----------
    name
        Value in ``obs["state_true"]``.
    lineage
        Lineage class, written to ``obs["lineage_true"]``.
    order
        Position along osteoclast differentiation (lineage states only, else None).
    weight
        Share of cells in the default call (0: only when asked for).
    activities
        Programme -> fold of its genes; programmes not listed get :data:`OFF`.
    gene_folds
        Gene -> fold that overrides the programmes for this state.
    depth
        Relative library size of the state's cells.
    """

    name: str
    lineage: Lineage
    order: int | None
    weight: float
    activities: Mapping[str, float]
    gene_folds: Mapping[str, float] = field(default_factory=dict)
    depth: float = 1.0

    def activity(self, programme: str) -> float:
        """Fold of ``programme`` in this state (myeloid identity is 0 outside myeloid)."""
        if programme == "myeloid_identity" and self.lineage not in MYELOID_LINEAGES:
            return 0.0
        return float(self.activities.get(programme, OFF))


_LINEAGE_BASE = {"myeloid_identity": 6.0, "clastokines": 1.0, "stromal": OFF}
_OSTEOCLAST = {
    **_LINEAGE_BASE,
    "myeloid_identity": 5.0,
    "macrophage": 0.7,
    "oc_precursor": 3.0,
    "osteoclast": 12.0,
    "clastokines": 1.5,
}

STATE_TABLE: tuple[SimState, ...] = (
    SimState(
        "macrophage",
        "osteoclast_lineage",
        0,
        0.308,
        {**_LINEAGE_BASE, "macrophage": 8.0, "oc_precursor": 1.5, "osteoclast": 0.3},
    ),
    SimState(
        "oc_precursor",
        "osteoclast_lineage",
        1,
        0.231,
        {**_LINEAGE_BASE, "macrophage": 3.0, "oc_precursor": 8.0, "osteoclast": 2.5},
        depth=1.1,
    ),
    SimState("osteoclast", "osteoclast_lineage", 2, 0.231, _OSTEOCLAST, depth=1.4),
    SimState("osteoclast_secretory", "osteoclast_lineage", 3, 0.08, _OSTEOCLAST, depth=1.5),
    SimState(
        "stromal",
        "stromal",
        None,
        0.15,
        {"osteoclast": 0.1, "clastokines": 1.0, "stromal": 10.0},
        gene_folds={"Ctsk": 8.0, "Mmp9": 8.0, "Acp5": 8.0},
        depth=0.9,
    ),
    SimState(
        "neutrophil",
        "myeloid_other",
        None,
        0.0,
        {"myeloid_identity": 6.0, "neutrophil": 10.0, "clastokines": 1.0},
        gene_folds={"Mmp9": 10.0, "Tnfrsf11a": 0.0, "Csf1r": 0.5},
        depth=0.6,
    ),
    SimState(
        "dendritic_cell",
        "myeloid_other",
        None,
        0.0,
        {"myeloid_identity": 5.0, "dendritic_cell": 10.0, "macrophage": 0.5, "clastokines": 1.0},
        gene_folds={"Itgax": 30.0, "Tnfrsf11a": 3.0, "Dcstamp": 3.0},
    ),
    SimState(
        "osteoprogenitor",
        "osteoblast_lineage",
        None,
        0.0,
        {
            "clastokines": 1.0,
            "stromal": 2.0,
            "osteoprogenitor": 8.0,
            "osteoblast": 2.0,
            "receptors_progenitor": 6.0,
            "receptors_osteoblast": 1.0,
            "receptors_osteocyte": 0.3,
        },
    ),
    SimState(
        "osteoblast",
        "osteoblast_lineage",
        None,
        0.0,
        {
            "clastokines": 1.0,
            "osteoprogenitor": 3.0,
            "osteoblast": 10.0,
            "osteocyte": 0.5,
            "receptors_progenitor": 1.0,
            "receptors_osteoblast": 6.0,
            "receptors_osteocyte": 1.0,
        },
        depth=1.1,
    ),
    SimState(
        "osteocyte",
        "osteoblast_lineage",
        None,
        0.0,
        {
            "clastokines": 1.0,
            "osteoprogenitor": 0.5,
            "osteoblast": 3.0,
            "osteocyte": 10.0,
            "receptors_progenitor": 0.3,
            "receptors_osteoblast": 1.0,
            "receptors_osteocyte": 6.0,
        },
        depth=0.8,
    ),
)
"""Every state the simulator knows, in the order of ``obs["cluster"]`` labels."""

STATE_BY_NAME: dict[str, SimState] = {s.name: s for s in STATE_TABLE}
BASE_STATES: tuple[str, ...] = tuple(s.name for s in STATE_TABLE if s.weight > 0)
OPTIONAL_STATES: tuple[str, ...] = tuple(s.name for s in STATE_TABLE if s.weight == 0)

STATES: tuple[str, ...] = BASE_STATES
"""States of the default call, in the order of ``obs["cluster"]`` labels ``"0"`` .. ``"4"``."""


def state_table() -> pd.DataFrame:
    """The simulator's state table: lineage class, order, default weight, programmes.

    One row per state; one column per programme holding its fold in that state (see
    :data:`~scclast.datasets._simulate._states.DEFAULT_PROGRAMMES`), and ``gene_folds``
    for per-gene overrides. States with
    weight 0 appear only when asked for (``states=`` or ``extra_states=``).

    Examples
    --------
    >>> table = state_table()
    >>> table.loc["neutrophil", "lineage"], float(table.loc["neutrophil", "weight"])
    ('myeloid_other', 0.0)
    >>> table.loc[table["order"].notna(), "order"].sort_values().index.tolist()
    ['macrophage', 'oc_precursor', 'osteoclast', 'osteoclast_secretory']
    """
    rows = []
    for state in STATE_TABLE:
        row: dict[str, object] = {
            "state": state.name,
            "lineage": state.lineage,
            "order": state.order,
            "weight": state.weight,
            "depth": state.depth,
        }
        row.update({p: state.activity(p) for p in DEFAULT_PROGRAMMES})
        row["gene_folds"] = ", ".join(f"{g}={v:g}" for g, v in state.gene_folds.items())
        rows.append(row)
    table = pd.DataFrame(rows).set_index("state")
    table["order"] = table["order"].astype("Int64")
    return table


def programmes_of(states: Sequence[SimState]) -> list[str]:
    """Programmes a run needs: the six default ones, then those the states list.

    Examples
    --------
    >>> programmes_of([STATE_BY_NAME["macrophage"]])[-1]
    'stromal'
    >>> programmes_of([STATE_BY_NAME["neutrophil"]])[-1]
    'neutrophil'
    """
    wanted = {p for s in states for p in s.activities}
    default = list(DEFAULT_PROGRAMMES)[:6]
    return default + [p for p in list(DEFAULT_PROGRAMMES)[6:] if p in wanted]


def resolve_programmes(
    programmes: Mapping[str, Sequence[str]] | None = None, use_catalogue: bool = True
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Programme gene lists: given ones, else the catalogue's set, else the defaults.

    Returns the lists for every programme the simulator knows and where each came from
    (``given``, ``catalogue:<set>`` or ``default``). A catalogue set that is missing (for
    example renamed) or an unreadable catalogue falls back to the defaults with a log
    message; it never fails.

    Examples
    --------
    >>> lists, sources = resolve_programmes(use_catalogue=False)
    >>> lists["stromal"][:2], sources["stromal"]
    (['Col1a1', 'Col1a2'], 'default')
    """
    given = dict(programmes or {})
    unknown = set(given) - set(DEFAULT_PROGRAMMES)
    if unknown:
        raise ScclastInputError(
            f"unknown simulation programme(s) {sorted(unknown)}: use {sorted(DEFAULT_PROGRAMMES)}"
        )
    catalogue = catalogue_sets() if use_catalogue else {}
    lists, sources = {}, {}
    for name, (set_names, fallback) in DEFAULT_PROGRAMMES.items():
        found = next((s for s in set_names if catalogue.get(s)), None)
        if name in given:
            lists[name], sources[name] = [str(g) for g in given[name]], "given"
        elif found is not None:
            lists[name], sources[name] = list(catalogue[found]), f"catalogue:{found}"
        else:
            if catalogue and set_names:
                log.info(
                    "simulator: no catalogue set %s for programme %r; using its default list",
                    " / ".join(set_names),
                    name,
                )
            lists[name], sources[name] = list(fallback), "default"
        if not lists[name]:
            raise ScclastInputError(f"programmes[{name!r}] has no genes: give at least one gene")
    return lists, sources


def catalogue_sets() -> dict[str, list[str]]:
    """The mouse catalogue as ``{set: genes}``, or ``{}`` when it cannot be read."""
    try:
        return dict(genesets.as_dict(species="mouse"))
    except (OSError, KeyError, TypeError, ValueError, ScclastError) as err:
        log.info("catalogue unavailable for the simulator (%s); using default programmes", err)
        return {}
