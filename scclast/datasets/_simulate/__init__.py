"""A seeded simulator of osteoclastogenesis single-cell counts (synthetic data).

The simulated cells are NOT measurements. The gene programmes are simulation settings
that decide which genes go up in which simulated state; they are not claims about
biology (the cited biology lives in ``gene_sets/``). Programme gene lists are taken at
run time from the scclast catalogue where it has a set of the same role, and fall back
to the lists written in ``_states.py`` when it does not.

Modules: ``_states`` (the state table and programmes), ``_design`` (animals,
conditions, compositions, planted effects), ``_counts`` (the draws), ``_record`` (the
``uns`` record and :func:`parameters_from_uns`), ``_core`` (the public function).
"""

from __future__ import annotations

from scclast.datasets._simulate._core import simulate_osteoclastogenesis
from scclast.datasets._simulate._counts import MT_GENES
from scclast.datasets._simulate._record import SYNTHETIC_STATEMENT, parameters_from_uns
from scclast.datasets._simulate._states import (
    DEFAULT_PROGRAMMES,
    STATE_TABLE,
    STATES,
    SimState,
    resolve_programmes,
    state_table,
)

__all__ = [
    "DEFAULT_PROGRAMMES",
    "MT_GENES",
    "STATES",
    "STATE_TABLE",
    "SYNTHETIC_STATEMENT",
    "SimState",
    "parameters_from_uns",
    "resolve_programmes",
    "simulate_osteoclastogenesis",
    "state_table",
]
