"""Seeded simulations for the flagging tests (synthetic counts, not biology).

:func:`simulate` is a small simulator kept apart from
:func:`scclast.datasets.simulate_osteoclastogenesis`, so that cell-level flagging tests
control exactly what is planted where: lineage programs per state, per-state sequencing
depth, and a clastokine program on chosen genes in one state. Counts are negative
binomial around per-cell library sizes.

:func:`simulate_replicates` sets up the replicate-level scenarios (animals with their
own depth, composition and gene noise) on the package simulator: a null, the
simulator's osteoclast baseline, a programme in one animal only and a consistent one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from scclast import genesets

# Expected counts (at the reference depth) of each lineage program's genes per state.
# Simulation settings for the tests, not claims about biology.
_PROGRAM_RATES: dict[str, dict[str, float]] = {
    "lineage_myeloid": {"macrophage": 3.0, "oc_precursor": 3.0, "osteoclast": 2.5},
    "state_macrophage": {"macrophage": 3.0, "oc_precursor": 0.6, "osteoclast": 0.1},
    "state_oc_precursor": {"macrophage": 0.3, "oc_precursor": 3.0, "osteoclast": 1.0},
    "state_osteoclast": {"macrophage": 0.05, "oc_precursor": 0.5, "osteoclast": 4.0},
}
_STROMAL_SHARED = ("Ctsk", "Mmp9", "Acp5")
_LINEAGE_STATES = ("macrophage", "oc_precursor", "osteoclast")


def simulate(
    n_per_state: Mapping[str, int],
    seed: int = 0,
    *,
    n_background: int = 400,
    depth: Mapping[str, float] | None = None,
    program: Mapping[str, Sequence[str]] | None = None,
    program_fold: float = 3.0,
    lineage_of: Mapping[str, str] | None = None,
    library_size: float = 2000.0,
    dispersion: float = 5.0,
) -> ad.AnnData:
    """Simulated counts with ``obs["state_true"]`` = the keys of ``n_per_state``.

    Parameters
    ----------
    n_per_state
        Cells per state, e.g. ``{"macrophage": 150, "osteoclast": 200, "stromal": 80}``.
        A state not in :data:`~scclast.testing._flagging._LINEAGE_STATES` (and not mapped
        by ``lineage_of``) is
        non-lineage: no myeloid identity genes, but Ctsk, Mmp9 and Acp5 high.
    seed
        Seed of the only random generator.
    n_background
        Background genes (``Bg0001`` ...), besides the catalogue genes.
    depth
        Library-size factor per state (default 1).
    program
        ``{state: genes}``: genes raised ``program_fold``-fold in that state.
    lineage_of
        Lineage profile of extra states, e.g. ``{"osteoclast_secretory": "osteoclast"}``.
    program_fold
        Fold change of the ``program`` genes.
    library_size, dispersion
        Mean library size at depth 1, and the negative binomial dispersion.

    Examples
    --------
    >>> adata = simulate({"osteoclast": 30, "stromal": 20}, seed=0, n_background=50,
    ...                  program={"osteoclast": ["Slit3", "Lif"]})
    >>> adata.obs["state_true"].value_counts().sort_index().to_dict()
    {'osteoclast': 30, 'stromal': 20}
    >>> bool(adata.X.sum() > 0), adata.var_names[-1]
    (True, 'Bg0050')
    """
    rng = np.random.default_rng(seed)
    genes = _genes(n_background)
    base = np.clip(rng.lognormal(np.log(0.4), 1.2, size=len(genes)), 0.005, 20.0)
    states = [s for s, n in n_per_state.items() for _ in range(n)]
    lineage_of = dict(lineage_of or {})
    profiles = {
        s: _profile(s, lineage_of.get(s, s), genes, base, program, program_fold)
        for s in n_per_state
    }
    depth = dict(depth or {})
    rows = []
    for state in states:
        library = rng.lognormal(np.log(library_size * depth.get(state, 1.0)), 0.4)
        rows.append(profiles[state] * library / library_size)
    means = np.vstack(rows)
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + means))
    obs = pd.DataFrame(
        {"state_true": pd.Categorical(states)},
        index=[f"cell{i:05d}" for i in range(len(states))],
    )
    return ad.AnnData(
        X=sparse.csr_matrix(counts.astype(np.float32)),
        obs=obs,
        var=pd.DataFrame(index=genes),
    )


def _genes(n_background: int) -> list[str]:
    named = [
        g
        for name in (
            *_PROGRAM_RATES,
            "clastokines_secreted",
            "clastokines_putative",
            "coupling_inhibitory",
            "secretory_machinery",
        )
        for g in genesets.get(name, "mouse")
    ]
    named = list(dict.fromkeys(named))
    return named + [f"Bg{i:04d}" for i in range(1, n_background + 1)]


def _profile(
    state: str,
    lineage: str,
    genes: list[str],
    base: np.ndarray,
    program: Mapping[str, Sequence[str]] | None,
    fold: float,
) -> np.ndarray:
    rates = base.copy()
    where = {g: i for i, g in enumerate(genes)}
    for name, per_state in _PROGRAM_RATES.items():
        for gene in genesets.get(name, "mouse"):
            if lineage in _LINEAGE_STATES:
                rates[where[gene]] = per_state[lineage]
            else:
                rates[where[gene]] = 0.01
    if lineage not in _LINEAGE_STATES:
        for gene in _STROMAL_SHARED:
            rates[where[gene]] = 4.0
    for gene in (program or {}).get(state, ()):
        rates[where[gene]] = max(rates[where[gene]], 0.3) * fold
    return rates


REPLICATE_SCENARIOS: tuple[str, ...] = ("null", "baseline", "one_animal", "consistent")
"""Scenarios of :func:`simulate_replicates`."""

SECRETORY_GROUP = "3"
"""The ``cluster`` of the ``osteoclast_secretory`` state (where effects are planted)."""

ANIMAL_NOISE: dict[str, float] = {
    "sample_depth_sd": 0.3,
    "sample_gene_sd": 0.3,
    "composition_concentration": 20.0,
}
"""Animal-level structure of every scenario: depth factors (log-normal sd 0.3), per-gene
expression factors (log-normal sd 0.3) and Dirichlet composition (concentration 20)."""


def simulate_replicates(
    scenario: str,
    seed: int = 0,
    *,
    n_cells: int = 1500,
    n_genes: int = 800,
    n_samples: int = 4,
    fold: float | None = None,
    animal: str = "animal2",
    **kwargs: Any,
) -> ad.AnnData:
    """Four animals (by default) with animal-level noise, and one of four scenarios.

    Every scenario has state-dependent background expression (the simulator's
    ``de_fraction``), animal-level depth, composition and gene noise
    (:data:`~scclast.testing._flagging.ANIMAL_NOISE`), and no secretory state programme
    (``clastokine_fold=1``,
    so ``osteoclast_secretory`` cells are osteoclasts in a cluster of their own, ``"3"``).

    * ``"null"``: the clastokine genes are expressed alike in every lineage state (the
      simulator's 1.5-fold osteoclast baseline is removed): nothing should be flagged.
    * ``"baseline"``: the simulator's states as they are: osteoclasts (clusters 2 and 3)
      carry clastokines 1.5-fold over macrophages and precursors.
    * ``"one_animal"``: the null, plus the clastokine programme raised ``fold``-fold
      (default 4) in cluster 3 of ``animal`` only.
    * ``"consistent"``: the null, plus the programme raised ``fold``-fold (default 2)
      in cluster 3 of every animal.

    ``kwargs`` go to :func:`~scclast.datasets.simulate_osteoclastogenesis`
    (``programme_effects`` given there are added to the scenario's).

    Examples
    --------
    >>> adata = simulate_replicates("consistent", seed=0, n_cells=600, n_genes=600)
    >>> sorted(adata.obs["sample"].unique()), adata.uns["scclast_scenario"]
    (['animal1', 'animal2', 'animal3', 'animal4'], 'consistent')
    """
    from scclast.datasets import simulate_osteoclastogenesis

    if scenario not in REPLICATE_SCENARIOS:
        raise ValueError(f"scenario {scenario!r}: use one of {', '.join(REPLICATE_SCENARIOS)}")
    effects: list[dict[str, Any]] = []
    if scenario != "baseline":
        # the osteoclast states' 1.5-fold clastokine activity, undone
        effects.append(
            {
                "programme": "clastokines",
                "states": ["osteoclast", "osteoclast_secretory"],
                "fold": 1 / 1.5,
            }
        )
    if scenario == "one_animal":
        effects.append(
            {
                "programme": "clastokines",
                "states": ["osteoclast_secretory"],
                "fold": fold or 4.0,
                "samples": [animal],
            }
        )
    if scenario == "consistent":
        effects.append(
            {"programme": "clastokines", "states": ["osteoclast_secretory"], "fold": fold or 2.0}
        )
    effects += list(kwargs.pop("programme_effects", None) or [])
    settings = {**ANIMAL_NOISE, **kwargs}
    adata = simulate_osteoclastogenesis(
        n_cells=n_cells,
        n_genes=n_genes,
        seed=seed,
        n_samples=n_samples,
        clastokine_fold=1.0,
        programme_effects=effects or None,
        **settings,
    )
    adata.uns["scclast_scenario"] = scenario
    return adata
