"""Calibration of tl.flag(): nothing planted, nothing flagged; calibrated scores are calibrated.

The null data have real structure that a naive score would mistake for a program:
three osteoclast-lineage states with different lineage programs and sequencing depths
(osteoclasts 1.8x, macrophages 0.7x the reference depth), plus a random split of the
osteoclasts. The groups are defined independently of the clastokine genes (true
states and random labels), so there is no double dipping.
"""

from __future__ import annotations

import numpy as np
import pytest

from scclast import get, tl
from scclast._keys import Keys
from scclast.testing import simulate_groups as simulate

N_RUNS = 20
NULL_STATES = {"macrophage": 150, "oc_precursor": 150, "osteoclast": 300}
DEPTH = {"osteoclast": 1.8, "macrophage": 0.7}


def _null(seed: int):
    adata = simulate(NULL_STATES, seed=seed, n_background=1000, depth=DEPTH)
    labels = adata.obs["state_true"].astype(str).to_numpy().copy()
    osteoclast = labels == "osteoclast"
    rng = np.random.default_rng(1000 + seed)
    labels[osteoclast] = np.where(rng.random(osteoclast.sum()) < 0.5, "oc_a", "oc_b")
    adata.obs["group"] = labels
    return adata


@pytest.fixture(scope="module")
def null_runs():
    runs = []
    for seed in range(N_RUNS):
        adata = _null(seed)
        tl.flag(adata, "group", enrichment=False, n_control_sets=100, seed=seed)
        runs.append((adata, get.flag_table(adata)))
    return runs


def test_nothing_is_flagged_in_at_least_95_percent_of_null_runs(null_runs):
    flagged_runs = sum(bool(table["flagged"].any()) for _, table in null_runs)
    assert flagged_runs <= 1, f"{flagged_runs} of {N_RUNS} null runs flagged a group"
    for _, table in null_runs:
        assert set(table["lineage_state"]) == {"macrophage", "oc_precursor", "osteoclast"}


def test_group_pvalues_are_not_inflated(null_runs):
    pvalues = np.concatenate([table["pvalue"].to_numpy() for _, table in null_runs])
    assert pvalues.size == N_RUNS * 4 * 2
    # One-sided tests under the null: about 5% below 0.05 (binomial sd ~1.7%).
    assert np.mean(pvalues < 0.05) <= 0.10
    effect = np.concatenate([table["auroc"].to_numpy() for _, table in null_runs])
    assert np.abs(effect - 0.5).max() < 0.15


def test_cell_level_pvalues_are_calibrated_and_depth_free(null_runs):
    fractions, correlations = [], []
    keys = Keys()
    for adata, _ in null_runs:
        pval = adata.obs[keys.pval("clastokines_secreted")].to_numpy()
        z = adata.obs[keys.z("clastokines_secreted")].to_numpy()
        depth = np.log(np.asarray(adata.X.sum(axis=1)).ravel())
        fractions.append(np.mean(pval < 0.05))
        correlations.append(np.corrcoef(depth, z)[0, 1])
    assert 0.03 <= np.mean(fractions) <= 0.08
    assert np.abs(np.mean(correlations)) < 0.05
    assert np.max(np.abs(correlations)) < 0.15
