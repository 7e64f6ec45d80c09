"""scclast.flag(): power, robustness, lineage gate, outputs and bad input."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scclast.flagging import TABLE_COLUMNS, flag

from scclast._errors import ScclastInputError
from scclast.testing import simulate_groups as simulate

PLANTED = ["Wnt10b", "Cthrc1", "Slit3", "Lif", "C3"]
STATES = {
    "macrophage": 150,
    "oc_precursor": 150,
    "osteoclast": 200,
    "osteoclast_secretory": 80,
    "stromal": 100,
}
FAST = {"enrichment": False, "n_control_sets": 100}


def _data(program: dict[str, list[str]] | None, seed: int = 1, **kw) -> ad.AnnData:
    return simulate(
        kw.pop("states", STATES),
        seed=seed,
        n_background=kw.pop("n_background", 1000),
        lineage_of={"osteoclast_secretory": "osteoclast"},
        program=program,
        **kw,
    )


def _row(table: pd.DataFrame, group: str, gene_set: str = "clastokines_secreted") -> pd.Series:
    match = table[(table["group"] == group) & (table["gene_set"] == gene_set)]
    assert len(match) == 1
    return match.iloc[0]


@pytest.fixture(scope="module")
def planted():
    adata = _data({"osteoclast_secretory": PLANTED})
    table = flag(adata, "state_true", enrichment=True, enrichment_permutations=100)
    return adata, table


# --------------------------------------------------------------------------- power


def test_planted_program_is_flagged_with_the_right_drivers(planted):
    _, table = planted
    row = _row(table, "osteoclast_secretory")
    assert row["flagged"]
    assert row["lineage_state"] == "osteoclast"
    assert row["auroc"] > 0.8 and row["fdr"] < 1e-6
    assert row["loo_survives"] and row["loo_min_auroc"] >= 0.6
    drivers = row["drivers"].split(", ")
    assert len(drivers) == 3 and set(drivers) <= set(PLANTED)
    assert row["reasons"].startswith("flagged: clastokines_secreted AUROC")
    assert "survives leave-one-out" in row["reasons"]
    assert all(gene in row["reasons"] for gene in drivers)
    assert row["nes"] > 0
    others = table[(table["group"] != "osteoclast_secretory")]
    assert not others["flagged"].any()
    assert table.loc[table["flagged"], "gene_set"].tolist() == ["clastokines_secreted"]


def test_a_program_carried_by_one_gene_fails_leave_one_out():
    adata = _data({"osteoclast_secretory": ["Slit3"]}, program_fold=15.0)
    table = flag(adata, "state_true", **FAST)
    row = _row(table, "osteoclast_secretory")
    assert row["auroc"] > 0.6 and row["fdr"] < 0.05  # the raw signal is there ...
    assert not row["flagged"]  # ... but rests on a single factor
    assert not row["loo_survives"] and row["loo_weakest"] == "slit3"
    assert "leave-one-out" in row["reasons"] and "without slit3" in row["reasons"]
    assert not table["flagged"].any()


def test_stromal_cells_with_osteoclast_genes_and_the_program_are_never_flagged():
    adata = _data({"stromal": PLANTED})
    table = flag(adata, "state_true", **FAST)
    row = _row(table, "stromal")
    assert row["lineage_state"] == "non-lineage"
    assert row["auroc"] > 0.8  # the program is there, the lineage is not
    assert not row["flagged"]
    assert row["reasons"] == "not flagged: non-lineage (no myeloid identity)"
    assert not table["flagged"].any()


def test_package_simulator_case():
    from scclast.datasets import simulate_osteoclastogenesis

    adata = simulate_osteoclastogenesis(n_cells=1200, n_genes=1200, seed=2)
    table = flag(adata, "state_true", **FAST)
    assert _row(table, "osteoclast_secretory")["flagged"]
    assert _row(table, "stromal")["lineage_state"] == "non-lineage"
    assert set(table.loc[table["flagged"], "group"]) == {"osteoclast_secretory"}
    single = simulate_osteoclastogenesis(n_cells=1200, n_genes=1200, seed=2, clastokine_genes=1)
    table = flag(single, "state_true", **FAST)
    assert not table["flagged"].any()
    assert "leave-one-out" in _row(table, "osteoclast_secretory")["reasons"]


def test_human_symbols_use_the_human_catalogue():
    from scclast import genesets

    adata = _data({"osteoclast_secretory": PLANTED}, seed=1)
    mouse_to_human = genesets.load().ortholog_table()["mouse_to_human"]
    adata.var_names = [mouse_to_human.get(g, g.upper()) for g in adata.var_names]
    table = flag(adata, "state_true", **FAST)
    assert adata.uns["scclast"]["flag"]["species_used"] == "human"
    row = _row(table, "osteoclast_secretory")
    assert row["flagged"] and set(row["drivers"].split(", ")) <= {g.upper() for g in PLANTED}
    assert set(table.loc[table["flagged"], "group"]) == {"osteoclast_secretory"}


# --------------------------------------------------------------------------- outputs


def test_table_columns_obs_and_record(planted):
    adata, table = planted
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert len(table) == 5 * 2  # groups x flagging sets
    assert table["flagged"].dtype == bool
    for name in ("clastokines_secreted", "clastokines_putative"):
        for suffix in ("", "_z", "_pval"):
            assert f"scclast_{name}{suffix}" in adata.obs
    assert "scclast_coupling_inhibitory_z" in adata.obs
    assert "scclast_secretory_machinery_z" in adata.obs
    flagged_cells = adata.obs["scclast_flagged"].to_numpy()
    assert np.array_equal(flagged_cells, adata.obs["state_true"].eq("osteoclast_secretory"))
    states = adata.obs["scclast_lineage_state"].astype(str)
    assert (states[adata.obs["state_true"] == "stromal"] == "non-lineage").all()
    block = adata.uns["scclast"]["flag"]
    assert block["parameters"]["fdr"] == 0.05
    assert block["clustering"]["method"] == "none"
    assert len(block["sets"]["clastokines_secreted"]["control_sets"]) == 200
    assert set(block["drivers"]["gene"]) <= set(block["sets"]["clastokines_secreted"]["genes"]) | {
        g for s in block["sets"].values() for g in s["genes"]
    }
    assert block["message"] == ""
    lineage = block["lineage"].set_index("group")
    assert (
        lineage.loc["osteoclast", "osteoclast_score"]
        > lineage.loc["macrophage", "osteoclast_score"]
    )
    evidence = _row(table, "osteoclast")["lineage_evidence"]
    assert "osteoclast 11/11 in data" in evidence and "mean calibrated z" in evidence
    assert "score" in adata.uns["scclast"]  # uncalibrated scores via scclast.score


def test_record_survives_h5ad_round_trip(planted, tmp_path):
    adata, table = planted
    path = tmp_path / "flagged.h5ad"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path)
    stored = back.uns["scclast"]["flag"]["table"]
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True), table, check_dtype=False, check_index_type=False
    )
    assert back.obs["scclast_flagged"].sum() == adata.obs["scclast_flagged"].sum()


def test_inhibitory_factors_are_reported_apart_never_counted():
    adata = _data({"osteoclast_secretory": ["Sema4d", "Efna2"]}, seed=4)
    sets = {"mine": ["Slit3", "Lif", "Wnt10b", "Sema4d"], "coupling_inhibitory": ["Sema4d"]}
    table = flag(adata, "state_true", gene_sets=sets, **FAST)
    assert set(table["gene_set"]) == {"mine"}
    record = adata.uns["scclast"]["flag"]["sets"]
    assert record["mine"]["removed_inhibitory"] == ["Sema4d"]
    assert "Sema4d" not in record["mine"]["genes_found"]
    row = _row(table, "osteoclast_secretory", "mine")
    assert row["inhibitory_auroc"] > 0.7  # Sema4d/Efna2 up, in their own column
    assert not row["flagged"]


def test_deterministic_for_a_seed_and_copy_leaves_input_alone():
    adata = _data({"osteoclast_secretory": PLANTED}, seed=5, states={**STATES, "stromal": 30})
    before = adata.obs.copy()
    copy, first = flag(adata, "state_true", copy=True, **FAST)
    pd.testing.assert_frame_equal(adata.obs, before)
    second = flag(adata, "state_true", **FAST)
    pd.testing.assert_frame_equal(first, second)
    assert "scclast_flagged" in copy.obs and "scclast_flagged" in adata.obs
    assert flag(adata, "state_true", return_table=False, **FAST) is None


def test_leiden_groups_when_no_groupby_is_given():
    adata = _data(
        None, seed=6, states={"macrophage": 80, "osteoclast": 80, "stromal": 60}, n_background=300
    )
    table = flag(adata, None, **FAST)
    clustering = adata.uns["scclast"]["flag"]["clustering"]
    assert clustering["method"] == "leiden" and clustering["seed"] == 0
    assert clustering["n_scored_genes_excluded"] > 0
    assert clustering["groupby"] == "scclast_leiden"
    assert adata.obs["scclast_leiden"].nunique() == clustering["n_clusters"]
    assert set(table["group"]) == set(adata.obs["scclast_leiden"].astype(str))
    assert not table["flagged"].any()


# --------------------------------------------------------------------------- bad input


def test_missing_groupby_lists_the_obs_columns():
    adata = _data(None, seed=0, states={"osteoclast": 30})
    with pytest.raises(ScclastInputError) as err:
        flag(adata, "leiden", **FAST)
    message = str(err.value)
    assert "groupby='leiden'" in message and "state_true" in message and "\n" not in message


def test_small_groups_are_reported_too_small_never_flagged():
    states = {**STATES, "osteoclast_secretory": 8}
    adata = _data({"osteoclast_secretory": PLANTED}, seed=7, states=states)
    table = flag(adata, "state_true", **FAST)
    row = _row(table, "osteoclast_secretory")
    assert not row["flagged"] and np.isnan(row["pvalue"])
    assert row["reasons"] == "not flagged: too small (8 cells < 10)"


def test_no_lineage_group_is_a_valid_empty_answer():
    adata = _data({"stromal": PLANTED}, seed=8, states={"stromal": 60, "fibroblast": 60})
    table = flag(adata, "state_true", **FAST)
    assert not table["flagged"].any() and len(table) == 4
    message = adata.uns["scclast"]["flag"]["message"]
    assert message.startswith("no osteoclast-lineage group")
    assert table.attrs["message"] == message
    assert not adata.obs["scclast_flagged"].any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fdr": 0.0}, "fdr=0.0"),
        ({"min_auroc": 0.4}, "min_auroc=0.4"),
        ({"n_control_sets": 5}, "n_control_sets=5"),
        ({"min_cells": 0}, "min_cells=0"),
        ({"method": "gsva"}, "method='gsva'"),
        ({"enrichment": True, "enrichment_rank_method": "logreg"}, "enrichment_rank_method"),
        ({"gene_sets": ["coupling_inhibitory"]}, "no flagging gene set"),
        ({"gene_sets": {"x": ["NotAGene1", "NotAGene2"]}}, "none of the genes of x"),
    ],
)
def test_bad_parameters_are_one_line_errors(kwargs, match):
    adata = _data(None, seed=0, states={"osteoclast": 30})
    with pytest.raises(ScclastInputError, match=match):
        flag(adata, "state_true", **{**FAST, **kwargs})


def test_scaled_data_is_refused():
    adata = _data(None, seed=0, states={"osteoclast": 30})
    adata.X = adata.X.toarray() - 1.0
    with pytest.raises(ScclastInputError, match="scaled values"):
        flag(adata, "state_true", **FAST)
