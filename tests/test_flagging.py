"""scclast.tl.flag(): power, robustness, lineage gate, outputs and bad input."""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from scclast import get, tl
from scclast._errors import ScclastInputError
from scclast._keys import Keys
from scclast.testing import simulate_groups as simulate
from scclast.tl import FLAG_TABLE_COLUMNS, FlagThresholds
from scclast.tl._flag._replicates import EXPLORATORY

PLANTED = ["Wnt10b", "Cthrc1", "Slit3", "Lif", "C3"]
STATES = {
    "macrophage": 150,
    "oc_precursor": 150,
    "osteoclast": 200,
    "osteoclast_secretory": 80,
    "stromal": 100,
}
FAST = {"enrichment": False}
KEYS = Keys()


def _data(program: dict[str, list[str]] | None, seed: int = 1, **kw) -> ad.AnnData:
    return simulate(
        kw.pop("states", STATES),
        seed=seed,
        n_background=kw.pop("n_background", 1000),
        lineage_of={"osteoclast_secretory": "osteoclast"},
        program=program,
        **kw,
    )


def _flag(adata: ad.AnnData, groupby: str | None = "state_true", **kwargs) -> pd.DataFrame:
    """Flag in place (the return rule: ``None``) and read the table back."""
    assert tl.flag(adata, groupby, **kwargs) is None
    return get.flag_table(adata)


def _row(table: pd.DataFrame, group: str, gene_set: str = "clastokines_secreted") -> pd.Series:
    match = table[(table["group"] == group) & (table["gene_set"] == gene_set)]
    assert len(match) == 1
    return match.iloc[0]


@pytest.fixture(scope="module")
def planted():
    adata = _data({"osteoclast_secretory": PLANTED})
    table = _flag(adata, enrichment=True, enrichment_permutations=100)
    return adata, table


def test_planted_program_is_flagged_with_the_right_drivers(planted):
    _, table = planted
    row = _row(table, "osteoclast_secretory")
    assert row["flagged"]
    assert row["lineage_state"] == "osteoclast"
    assert row["auroc"] > 0.8 and row["fdr"] < 1e-6 and row["fold_change"] > 2
    assert row["mc_pvalue"] == pytest.approx(1 / 1001) and row["mc_fdr"] < 0.05
    assert row["loo_survives"] and row["loo_min_fold_change"] >= 1.5
    assert row["evidence"] == EXPLORATORY and row["call"] == "candidate"
    drivers = row["drivers"].split(", ")
    assert len(drivers) == 3 and set(drivers) <= set(PLANTED)
    assert row["reasons"].startswith("flagged (exploratory): clastokines_secreted")
    assert "survives leave-one-out" in row["reasons"]
    assert all(gene in row["reasons"] for gene in drivers)
    assert row["nes"] > 0
    others = table[(table["group"] != "osteoclast_secretory")]
    assert not others["flagged"].any()
    assert table.loc[table["flagged"], "gene_set"].tolist() == ["clastokines_secreted"]
    assert get.flagged_groups(table) == ["osteoclast_secretory"]


def test_a_program_carried_by_one_gene_fails_leave_one_out():
    adata = _data({"osteoclast_secretory": ["Slit3"]}, program_fold=15.0)
    sets = {"mine": ["Slit3", "Lif", "Wnt10b"]}  # a set of the user's: each gene a factor
    table = _flag(adata, gene_sets=sets, **FAST)
    row = _row(table, "osteoclast_secretory", "mine")
    assert row["fold_change"] > 1.5 and row["fdr"] < 0.05  # the raw signal is there ...
    assert row["mc_fdr"] < 0.05
    assert not row["flagged"]  # ... but rests on a single factor
    assert not row["loo_survives"] and row["loo_weakest"] == "Slit3"
    assert row["loo_min_fold_change"] < 1.5
    assert "leave-one-out" in row["reasons"] and "without Slit3" in row["reasons"]
    assert not table["flagged"].any()


def test_stromal_cells_with_osteoclast_genes_and_the_program_are_never_flagged():
    adata = _data({"stromal": PLANTED})
    table = _flag(adata, **FAST)
    row = _row(table, "stromal")
    assert row["lineage_state"] == "non-lineage"
    assert row["auroc"] > 0.8  # the program is there, the lineage is not
    assert not row["flagged"]
    assert row["reasons"] == "not flagged: non-lineage (no myeloid identity)"
    assert not table["flagged"].any()


def test_package_simulator_case():
    from scclast.datasets import simulate_osteoclastogenesis

    adata = simulate_osteoclastogenesis(n_cells=1200, n_genes=1200, seed=2)
    table = _flag(adata, **FAST)
    assert _row(table, "osteoclast_secretory")["flagged"]
    assert _row(table, "stromal")["lineage_state"] == "non-lineage"
    assert set(table.loc[table["flagged"], "group"]) == {"osteoclast_secretory"}
    single = simulate_osteoclastogenesis(n_cells=1200, n_genes=1200, seed=2, clastokine_genes=1)
    table = _flag(single, **FAST)
    assert not table["flagged"].any()
    reasons = _row(table, "osteoclast_secretory")["reasons"]
    assert "leave-one-out" in reasons or "-fold < 1.5" in reasons


def test_human_symbols_use_the_human_catalogue():
    from scclast import genesets

    adata = _data({"osteoclast_secretory": PLANTED}, seed=1)
    mouse_to_human = genesets.load().ortholog_table()["mouse_to_human"]
    adata.var_names = [mouse_to_human.get(g, g.upper()) for g in adata.var_names]
    table = _flag(adata, **FAST)
    assert adata.uns["scclast"]["flag"]["species_used"] == "human"
    row = _row(table, "osteoclast_secretory")
    assert row["flagged"] and set(row["drivers"].split(", ")) <= {g.upper() for g in PLANTED}
    assert set(table.loc[table["flagged"], "group"]) == {"osteoclast_secretory"}


def test_table_columns_obs_and_record(planted):
    adata, table = planted
    assert list(table.columns) == list(FLAG_TABLE_COLUMNS)
    assert len(table) == 5 * 2  # groups x flagging sets
    assert table["flagged"].dtype == bool and table["loo_survives"].dtype == bool
    for name in ("clastokines_secreted", "clastokines_putative"):
        for column in (KEYS.score(name), KEYS.z(name), KEYS.pval(name)):
            assert column in adata.obs
    assert KEYS.z("coupling_inhibitory") in adata.obs
    assert KEYS.z("secretory_machinery") in adata.obs
    flagged_cells = adata.obs[KEYS.flagged].to_numpy()
    assert flagged_cells.dtype == bool
    assert np.array_equal(flagged_cells, adata.obs["state_true"].eq("osteoclast_secretory"))
    states = adata.obs[KEYS.lineage_state].astype(str)
    assert (states[adata.obs["state_true"] == "stromal"] == "non-lineage").all()
    block = adata.uns["scclast"]["flag"]
    assert block["parameters"]["thresholds"] == FlagThresholds().as_dict()
    assert block["parameters"]["groupby"] == "state_true"
    assert block["clustering"]["method"] == "none"
    assert len(block["sets"]["clastokines_secreted"]["control_sets"]) == 1000
    assert set(table["set_role"]) == {"flagging"}
    every_gene = {g for s in block["sets"].values() for g in s["genes"]}
    assert set(get.drivers(adata)["gene"]) <= every_gene
    assert block["message"] == ""
    lineage = get.lineage_table(adata).set_index("group")
    assert (
        lineage.loc["osteoclast", "osteoclast_score"]
        > lineage.loc["macrophage", "osteoclast_score"]
    )
    evidence = _row(table, "osteoclast")["lineage_evidence"]
    assert "osteoclast " in evidence and " in data" in evidence
    assert "mean calibrated z" in evidence
    assert "score" in adata.uns["scclast"]  # uncalibrated scores via scclast.tl.score
    assert get.groupby(adata) == "state_true"
    written = get.scores(adata).columns
    assert {KEYS.flagged, KEYS.lineage_state, KEYS.z("clastokines_secreted")} <= set(written)


def test_thresholds_reach_the_decision_and_the_record():
    adata = _data({"osteoclast_secretory": PLANTED}, seed=5, states={**STATES, "stromal": 30})
    strict = FlagThresholds(min_fold_change=50.0, min_cells=5, fdr=0.01)
    table = _flag(adata, thresholds=strict, **FAST)
    assert adata.uns["scclast"]["flag"]["parameters"]["thresholds"] == strict.as_dict()
    row = _row(table, "osteoclast_secretory")
    assert 1.5 < row["fold_change"] < 50 and not row["flagged"]  # only the effect size fails
    assert row["fdr"] < 0.01 and row["mc_fdr"] < 0.05
    assert "-fold < 50 vs other lineage groups" in row["reasons"]
    assert not table["flagged"].any()


def test_record_survives_h5ad_round_trip(planted, tmp_path):
    adata, table = planted
    path = tmp_path / "flagged.h5ad"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path)
    pd.testing.assert_frame_equal(get.flag_table(back), table)
    pd.testing.assert_frame_equal(get.lineage_table(back), get.lineage_table(adata))
    pd.testing.assert_frame_equal(get.drivers(back), get.drivers(adata))
    assert get.flag_table(back)["flagged"].dtype == bool
    assert get.flagged_groups(back) == ["osteoclast_secretory"]
    assert back.obs[KEYS.flagged].sum() == adata.obs[KEYS.flagged].sum() == 80
    assert get.scores(back).columns.tolist() == get.scores(adata).columns.tolist()


def test_inhibitory_factors_are_reported_apart_never_counted():
    adata = _data({"osteoclast_secretory": ["Sema4d", "Efna2"]}, seed=4)
    sets = {"mine": ["Slit3", "Lif", "Wnt10b", "Sema4d"], "coupling_inhibitory": ["Sema4d"]}
    table = _flag(adata, gene_sets=sets, **FAST)
    assert set(table["gene_set"]) == {"mine"}
    record = adata.uns["scclast"]["flag"]["sets"]
    assert record["mine"]["removed_inhibitory"] == ["Sema4d"]
    assert "Sema4d" not in record["mine"]["genes_found"]
    row = _row(table, "osteoclast_secretory", "mine")
    assert row["inhibitory_auroc"] > 0.7  # Sema4d/Efna2 up, in their own column
    assert not row["flagged"]


def test_deterministic_for_a_seed_and_copy_leaves_input_alone():
    adata = _data({"osteoclast_secretory": PLANTED}, seed=5, states={**STATES, "stromal": 30})
    obs_before, uns_before = adata.obs.copy(), dict(adata.uns)
    copy = tl.flag(adata, "state_true", copy=True, **FAST)
    assert isinstance(copy, ad.AnnData) and copy is not adata
    pd.testing.assert_frame_equal(adata.obs, obs_before)
    assert dict(adata.uns) == uns_before
    with pytest.raises(ScclastInputError, match=r"run scclast\.tl\.flag first"):
        get.flag_table(adata)
    first = get.flag_table(copy)
    second = _flag(adata, **FAST)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(copy.obs, adata.obs)
    other_seed = _flag(adata, seed=1, **FAST)
    assert not np.allclose(other_seed["mean_score"], first["mean_score"])
    assert other_seed["flagged"].tolist() == first["flagged"].tolist()


def test_backed_data_cannot_be_copied(tmp_path):
    adata = _data(None, seed=0, states={"osteoclast": 30})
    adata.write_h5ad(tmp_path / "small.h5ad")
    backed = ad.read_h5ad(tmp_path / "small.h5ad", backed="r")
    try:
        with pytest.raises(ScclastInputError, match="copy=True is not possible for a backed"):
            tl.flag(backed, "state_true", copy=True, **FAST)
    finally:
        backed.file.close()


def test_leiden_groups_when_no_groupby_is_given():
    adata = _data(
        None, seed=6, states={"macrophage": 80, "osteoclast": 80, "stromal": 60}, n_background=300
    )
    table = _flag(adata, None, **FAST)
    clustering = adata.uns["scclast"]["flag"]["clustering"]
    assert clustering["method"] == "leiden" and clustering["seed"] == 0
    assert clustering["n_scored_genes_excluded"] > 0
    assert clustering["groupby"] == KEYS.leiden == get.groupby(adata)
    assert adata.obs[KEYS.leiden].nunique() == clustering["n_clusters"] >= 3
    assert set(table["group"]) == set(adata.obs[KEYS.leiden].astype(str))
    assert KEYS.leiden in get.scores(adata).columns
    assert not table["flagged"].any()


def test_missing_groupby_lists_the_obs_columns():
    adata = _data(None, seed=0, states={"osteoclast": 30})
    with pytest.raises(ScclastInputError) as err:
        tl.flag(adata, "leiden", **FAST)
    message = str(err.value)
    assert "groupby='leiden'" in message and "state_true" in message and "\n" not in message


def test_small_groups_are_reported_too_small_never_flagged():
    states = {**STATES, "osteoclast_secretory": 8}
    adata = _data({"osteoclast_secretory": PLANTED}, seed=7, states=states)
    table = _flag(adata, **FAST)
    row = _row(table, "osteoclast_secretory")
    assert not row["flagged"] and np.isnan(row["pvalue"])
    assert row["reasons"] == "not flagged: too small (8 cells < 10)"


def test_no_lineage_group_is_a_valid_empty_answer(caplog):
    adata = _data({"stromal": PLANTED}, seed=8, states={"stromal": 60, "fibroblast": 60})
    with caplog.at_level(logging.WARNING, logger="scclast"):
        table = _flag(adata, **FAST)
    assert not table["flagged"].any() and len(table) == 4
    assert set(table["reasons"]) == {"not flagged: non-lineage (no myeloid identity)"}
    message = adata.uns["scclast"]["flag"]["message"]
    assert message == (
        "no osteoclast-lineage group (macrophage, precursor, osteoclast or osteomorph with "
        "enough cells) in these data: nothing can be flagged; group states: non-lineage 2"
    )
    assert message in caplog.messages
    assert not adata.obs[KEYS.flagged].any()
    assert get.flagged_groups(adata) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_control_sets": 5}, "n_control_sets=5"),
        ({"n_control_sets": 100.0}, "n_control_sets=100.0"),
        ({"n_match": 1}, "n_match=1"),
        ({"seed": "0"}, "seed='0'"),
        ({"enrichment": True, "enrichment_permutations": 5}, "enrichment_permutations=5"),
        ({"method": "gsva"}, "method='gsva'"),
        ({"enrichment": True, "enrichment_rank_method": "logreg"}, "enrichment_rank_method"),
        ({"gene_sets": ["coupling_inhibitory"]}, "no flagging gene set"),
        ({"gene_sets": {"x": ["NotAGene1", "NotAGene2"]}}, "none of the genes of x"),
        ({"key_added": "my run"}, "key_added='my run'"),
    ],
)
def test_bad_parameters_are_one_line_errors(kwargs, match):
    adata = _data(None, seed=0, states={"osteoclast": 30})
    with pytest.raises(ScclastInputError, match=match) as err:
        tl.flag(adata, "state_true", **{**FAST, **kwargs})
    assert "\n" not in str(err.value)
    assert "scclast" not in adata.uns and not any(str(c).startswith("scclast") for c in adata.obs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fdr": 0.0}, "FlagThresholds.fdr=0.0: give a value between 0 and 1"),
        ({"fdr": True}, "FlagThresholds.fdr=True"),
        ({"cell_alpha": 1.0}, "FlagThresholds.cell_alpha=1.0"),
        ({"min_fold_change": 0.5}, "FlagThresholds.min_fold_change=0.5: give a fold change"),
        ({"control_fdr": 0.0}, "FlagThresholds.control_fdr=0.0: give a value between 0 and 1"),
        ({"min_sign_agreement": 1.5}, "FlagThresholds.min_sign_agreement=1.5"),
        ({"min_samples": 1}, "FlagThresholds.min_samples=1: give an integer of at least 2"),
        ({"min_coverage": 1.5}, "FlagThresholds.min_coverage=1.5"),
        ({"min_cells": 0}, "FlagThresholds.min_cells=0: give a positive integer"),
        ({"min_genes": 2.5}, "FlagThresholds.min_genes=2.5"),
    ],
)
def test_bad_thresholds_are_one_line_errors(kwargs, match):
    with pytest.raises(ScclastInputError, match=match) as err:
        FlagThresholds(**kwargs)
    assert "\n" not in str(err.value)


def test_thresholds_are_a_frozen_record_with_documented_defaults():
    thresholds = FlagThresholds()
    assert thresholds.as_dict() == {
        "fdr": 0.05,
        "control_fdr": 0.05,
        "min_fold_change": 1.5,
        "min_sign_agreement": 0.75,
        "min_samples": 3,
        "min_cells": 10,
        "min_genes": 2,
        "min_coverage": 0.5,
        "cell_alpha": 0.05,
    }
    with pytest.raises(AttributeError):
        thresholds.fdr = 0.1  # type: ignore[misc]
    assert FlagThresholds(min_fold_change=1.0, min_coverage=0.0).min_coverage == 0.0
    assert thresholds.min_log2_fold_change == pytest.approx(np.log2(1.5))


def test_scaled_data_is_refused():
    adata = _data(None, seed=0, states={"osteoclast": 30})
    adata.X = adata.X.toarray() - 1.0
    with pytest.raises(ScclastInputError, match="scaled values"):
        tl.flag(adata, "state_true", **FAST)
