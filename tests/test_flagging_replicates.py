"""Replicate-aware, control-calibrated flags: animals are the unit, random genes the bar.

The scenarios (:func:`scclast.testing.simulate_replicates`) have four animals with their
own depth, composition and gene noise, and state-dependent background expression:

* a null with no clastokine difference between lineage states (>= 50 seeds);
* a strong programme in the secretory cluster of one animal only;
* a programme doubled in the secretory cluster of every animal.

BENCHMARKS.md ("Flagging: false flags and power") gives the rates over 100 seeds.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import scclast
from scclast import get, tl
from scclast._errors import ScclastInputError
from scclast.testing import simulate_replicates
from scclast.testing._flagging import SECRETORY_GROUP
from scclast.tl import FlagThresholds
from scclast.tl._flag._replicates import EXPLORATORY

N_NULL_SEEDS = 50
FAST = {"enrichment": False}


def _row(table: pd.DataFrame, group: str, gene_set: str = "clastokines_secreted") -> pd.Series:
    match = table[(table["group"].astype(str) == group) & (table["gene_set"] == gene_set)]
    assert len(match) == 1
    return match.iloc[0]


@pytest.fixture(scope="module")
def null_runs():
    started = time.perf_counter()
    runs = []
    for seed in range(N_NULL_SEEDS):
        adata = simulate_replicates("null", seed=seed)  # 1,500 cells x 800 genes
        tl.flag(adata, "cluster", sample_key="sample", seed=seed, **FAST)
        runs.append(get.flag_table(adata))
    return runs, time.perf_counter() - started


def test_null_with_sample_structure_false_flag_rate(null_runs, record_property):
    runs, seconds = null_runs
    flagged = sum(bool(table["flagged"].any()) for table in runs)
    low, high = stats.binomtest(flagged, N_NULL_SEEDS).proportion_ci(method="exact")
    record_property("false_flag_rate", f"{flagged}/{N_NULL_SEEDS} (95% CI {low:.3f}-{high:.3f})")
    record_property("seconds_per_seed", round(seconds / N_NULL_SEEDS, 2))
    print(
        f"null false-flag rate {flagged}/{N_NULL_SEEDS} = {flagged / N_NULL_SEEDS:.1%} "
        f"(95% CI {low:.1%}-{high:.1%}); {seconds / N_NULL_SEEDS:.2f} s per seed"
    )
    assert flagged / N_NULL_SEEDS <= 0.05
    # most rows are tested on animals, and both calibrations are calibrated
    rows = pd.concat(runs, ignore_index=True)
    tested = rows[np.isfinite(rows["fdr"].to_numpy(dtype=float))]
    replicated = tested[tested["evidence"].str.startswith("replicated")]
    assert len(replicated) >= 0.8 * len(tested)
    assert np.mean(replicated["pvalue"] < 0.05) <= 0.10  # paired t under the null
    assert np.mean(tested["mc_pvalue"] < 0.05) <= 0.10  # control-set Monte Carlo p
    assert set(rows["set_role"]) == {"flagging"}


def test_null_samples_and_composition_are_recorded(null_runs):
    runs, _ = null_runs
    table = runs[0]
    assert table["n_samples"].max() == 4
    assert (table["samples_agree"] <= table["n_samples"]).all()
    secreted = table[(table["gene_set"] == "clastokines_secreted") & (table["n_samples"] > 0)]
    assert secreted["sample_log2fc"].str.count("animal").eq(secreted["n_samples"]).all()


@pytest.fixture(scope="module")
def one_animal():
    # clastokines 4-fold in the secretory cluster of animal2 only (seed chosen so that the
    # cell-level test flags it: pooled over animals the cluster reads 1.7-fold)
    return simulate_replicates("one_animal", seed=1, n_cells=2000, composition_concentration=50)


def test_one_animal_effect_is_not_flagged_with_sample_key(one_animal):
    adata = one_animal.copy()
    tl.flag(adata, "cluster", sample_key="sample", **FAST)
    table = get.flag_table(adata)
    row = _row(table, SECRETORY_GROUP)
    assert row["evidence"] == "replicated: 4 samples (paired pseudobulk t-test)"
    assert not row["flagged"] and not table["flagged"].any()
    effects = get.sample_effects(adata).query(
        f"group == '{SECRETORY_GROUP}' and gene_set == 'clastokines_secreted'"
    )
    by_sample = effects.set_index("sample")["log2fc"]
    assert by_sample.idxmax() == "animal2" and by_sample["animal2"] > 1.0
    assert row["fdr"] > 0.05  # the paired test over animals does not see a population


def test_the_same_cells_are_flagged_when_cells_are_the_unit(one_animal):
    # what the replicate-level test protects against: one animal's cells carry a call
    adata = one_animal.copy()
    tl.flag(adata, "cluster", **FAST)
    row = _row(get.flag_table(adata), SECRETORY_GROUP)
    assert row["flagged"] and row["evidence"] == EXPLORATORY
    assert row["reasons"].startswith("flagged (exploratory)")


def test_consistent_doubling_in_every_animal_is_flagged_with_sample_key():
    adata = simulate_replicates("consistent", seed=6, n_cells=2000, composition_concentration=50)
    per_animal = adata.obs.loc[adata.obs["cluster"] == SECRETORY_GROUP, "sample"].value_counts()
    assert per_animal.between(20, 65).all()  # about 40 cells per animal
    tl.flag(adata, "cluster", sample_key="sample", **FAST)
    table = get.flag_table(adata)
    row = _row(table, SECRETORY_GROUP)
    assert row["flagged"] and row["call"] == "candidate"
    assert row["evidence"] == "replicated: 4 samples (paired pseudobulk t-test)"
    assert row["samples_agree"] == 4 and row["fdr"] < 0.05 and row["mc_fdr"] < 0.05
    assert 1.5 <= row["fold_change"] <= 3.0
    assert row["fold_change_low"] < row["fold_change"] < row["fold_change_high"]
    assert row["control_fold_95"] < row["fold_change"]
    assert row["reasons"].startswith("flagged (replicated, 4 samples)")
    assert get.flagged_groups(table) == [SECRETORY_GROUP]
    record = adata.uns["scclast"]["flag"]
    assert record["parameters"]["sample_key"] == "sample"
    assert record["replicates"]["mode"] == "replicated" and record["replicates"]["note"] == ""


def test_example_non_secretory_osteoclasts_fail_the_control_sets():
    # holds for any bundled example: the osteoclast group without the secretory programme
    adata = scclast.datasets.example()
    states = adata.obs.groupby("cluster", observed=True)["state_true"].agg(
        lambda s: s.value_counts().idxmax()
    )
    group = str(states[states == "osteoclast"].index[0])
    sample_key = "sample" if "sample" in adata.obs else None
    # no effect floor at all: the control sets alone must hold the line
    loose = FlagThresholds(min_fold_change=1.0)
    tl.flag(adata, "cluster", sample_key=sample_key, thresholds=loose, **FAST)
    table = get.flag_table(adata)
    row = _row(table, group)
    assert row["mc_pvalue"] > 0.05
    assert not row["flagged"]
    assert "control-set p" in row["reasons"]
    secretory = str(states[states == "osteoclast_secretory"].index[0])
    assert get.flagged_groups(table) == [secretory]


def test_unreplicated_flags_are_exploratory_and_the_message_names_a_column(caplog):
    adata = scclast.datasets.example()
    adata.obs["mouse_id"] = adata.obs["sample"].astype(str)
    adata.obs = adata.obs.drop(columns=["sample"])
    with caplog.at_level(logging.WARNING, logger="scclast"):
        tl.flag(adata, "cluster", **FAST)
    table = get.flag_table(adata)
    flagged = table[table["flagged"]]
    assert len(flagged) and (flagged["evidence"] == EXPLORATORY).all()
    note = adata.uns["scclast"]["flag"]["replicates"]["note"]
    assert note.startswith("flags are exploratory (cells treated as independent)")
    assert "obs['mouse_id']" in note and "--sample-key mouse_id" in note
    assert "sample_key='mouse_id'" in note
    assert note in caplog.messages


def test_too_few_samples_keep_the_exploratory_label():
    adata = scclast.datasets.example()
    adata.obs["two"] = np.where(np.arange(adata.n_obs) % 2, "m1", "m2")
    tl.flag(adata, "cluster", sample_key="two", **FAST)
    table = get.flag_table(adata)
    assert (table.loc[table["flagged"], "evidence"] == EXPLORATORY).all()
    assert table.loc[table["flagged"], "n_samples"].eq(2).all()
    note = adata.uns["scclast"]["flag"]["replicates"]["note"]
    assert "obs['two'] has 2 samples; the replicate-level test needs 3" in note


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("nope", None, "sample_key='nope' is not a column of adata.obs"),
        ("depth", "continuous", r"obs\['depth'\] holds continuous numbers"),
        ("one", "single", r"obs\['one'\] has 1 sample\(s\)"),
        ("cell", "unique", r"obs\['cell'\] has 3,000 distinct labels"),
    ],
)
def test_bad_sample_keys_are_one_line_errors(column, values, match):
    adata = scclast.datasets.example()
    if values == "continuous":
        adata.obs[column] = np.linspace(0, 1, adata.n_obs)
    elif values == "single":
        adata.obs[column] = "m1"
    elif values == "unique":
        adata.obs[column] = adata.obs_names.astype(str)
    with pytest.raises(ScclastInputError, match=match) as err:
        tl.flag(adata, "cluster", sample_key=column, **FAST)
    assert "\n" not in str(err.value)


def test_only_flagging_sets_flag_and_macrophages_are_reported_apart():
    # clastokines tripled in the macrophages of every animal; every catalogue set asked for
    adata = simulate_replicates(
        "null",
        seed=0,
        n_cells=2000,
        composition_concentration=50,
        programme_effects=[{"programme": "clastokines", "states": ["macrophage"], "fold": 3.0}],
    )
    tl.flag(adata, "cluster", sample_key="sample", gene_sets="all", **FAST)
    table = get.flag_table(adata)
    flagging = set(scclast.genesets.flagging_sets())
    assert set(table.loc[table["set_role"] == "flagging", "gene_set"]) == flagging
    descriptive = table[table["set_role"] == "descriptive"]
    assert {"state_macrophage", "state_osteoclast", "lineage_myeloid"} <= set(
        descriptive["gene_set"]
    )
    assert not descriptive["flagged"].any() and set(descriptive["call"]) == {"descriptive set"}
    assert descriptive["evidence"].eq("descriptive (not a flagging set)").all()
    assert descriptive["fdr"].isna().all()
    # the state sets are strongly up in their own state: circular, so never a flag
    assert _row(table, "0", "state_macrophage")["fold_change"] > 2
    macrophage = _row(table, "0")
    assert macrophage["lineage_state"] == "macrophage" and macrophage["fold_change"] > 2
    assert not macrophage["flagged"] and macrophage["call"] == "macrophage (reported apart)"
    assert macrophage["reasons"].startswith("not flagged: macrophage group")
    assert not table["flagged"].any() and get.flagged_groups(table) == []


def test_leiden_clusters_leave_out_only_the_flagging_sets_genes():
    adata = simulate_replicates("null", seed=3, n_cells=600, n_genes=600)
    tl.flag(adata, None, gene_sets="all", **FAST)
    clustering = adata.uns["scclast"]["flag"]["clustering"]
    sets = adata.uns["scclast"]["flag"]["sets"]
    flagging_genes = {
        g for name, entry in sets.items() if entry["role"] == "flag" for g in entry["genes_found"]
    }
    assert clustering["n_scored_genes_excluded"] == len(flagging_genes)
    lineage_genes = set(sets["state_osteoclast"]["genes_found"]) - flagging_genes
    assert lineage_genes  # lineage markers are scored, and stay available to clustering
    assert sets["state_osteoclast"]["role"] == "descriptive"


def test_enrichment_ranking_follows_the_replicates(one_animal):
    adata = one_animal.copy()
    tl.flag(adata, "cluster", sample_key="sample", enrichment_permutations=50)
    notes = get.flag_table(adata)["enrichment_note"]
    assert notes.str.contains("replicate-aware ranking").any()
    assert notes.str.contains("descriptive").all()
    tl.flag(adata, "cluster", enrichment_permutations=50)
    notes = get.flag_table(adata)["enrichment_note"]
    assert notes.str.contains("cell-level ranking").all()


def test_too_few_control_sets_for_the_rows_are_said(caplog):
    adata = simulate_replicates("consistent", seed=2, n_cells=1500)
    with caplog.at_level(logging.WARNING, logger="scclast"):
        tl.flag(adata, "cluster", sample_key="sample", n_control_sets=50, **FAST)
    note = adata.uns["scclast"]["flag"]["replicates"]["control_note"]
    assert "raise n_control_sets to" in note and "floor 1/51" in note
    assert note in caplog.messages
    table = get.flag_table(adata)
    assert table["mc_pvalue"].min() >= 1 / 51
