"""Helpers for tests of scclast and of code built on it (as ``anndata.tests.helpers``).

Small, seeded, deterministic inputs and a loopback file server, so that tests are short,
exact and never touch the network:

=============================  =============================================================
:func:`simulate_counts`        Poisson counts with realistic ties and gene means (scoring)
:func:`log_normalised`         the log1p(count / total * 1e4) copy scanpy would make
:func:`random_sets`            random gene sets of given sizes
:func:`jitter`                 a tie-free copy of log-normalised data
:func:`simulate_groups`        groups with a planted clastokine programme (flagging)
:func:`simulate_replicates`    animals with noise: null, one-animal and consistent effects
:func:`simulate_timecourse`    a bulk time course with donors and planted trends
:func:`homer_table`            that time course written in the HOMER count-table layout
:class:`FixtureServer`         serve a folder of fixture files on 127.0.0.1
=============================  =============================================================

The osteoclastogenesis simulator with lineage states, animals and decoys is
:func:`scclast.datasets.simulate_osteoclastogenesis`.
"""

from scclast.testing._expression import (
    gene_names,
    jitter,
    log_normalised,
    obs_frame,
    random_sets,
    simulate_counts,
)
from scclast.testing._flagging import simulate as simulate_groups
from scclast.testing._flagging import simulate_replicates
from scclast.testing._http import FixtureServer
from scclast.testing._timecourse import homer_table, simulate_timecourse

__all__ = [
    "FixtureServer",
    "gene_names",
    "homer_table",
    "jitter",
    "log_normalised",
    "obs_frame",
    "random_sets",
    "simulate_counts",
    "simulate_groups",
    "simulate_replicates",
    "simulate_timecourse",
]
