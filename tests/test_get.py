"""scclast.get: tables out of an analysed AnnData, under any key_added, after h5ad."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from scclast import get, tl
from scclast._errors import ScclastInputError
from scclast._keys import Keys
from scclast.get import _restore
from scclast.testing import simulate_groups
from scclast.tl import FLAG_TABLE_COLUMNS

PLANTED = ["Wnt10b", "Cthrc1", "Slit3", "Lif", "C3"]


@pytest.fixture(scope="module")
def run2():
    """Flagged under ``key_added="run2"`` only."""
    adata = simulate_groups(
        {"macrophage": 80, "osteoclast": 80, "osteoclast_secretory": 60, "stromal": 40},
        seed=3,
        n_background=400,
        lineage_of={"osteoclast_secretory": "osteoclast"},
        program={"osteoclast_secretory": PLANTED},
    )
    tl.flag(adata, "state_true", enrichment=False, key_added="run2")
    return adata


def test_key_added_round_trip(run2):
    adata = run2
    table = get.flag_table(adata, "run2")
    assert list(table.columns) == list(FLAG_TABLE_COLUMNS)
    assert get.flagged_groups(adata, "run2") == ["osteoclast_secretory"]
    assert get.groupby(adata, "run2") == "state_true"
    assert set(get.drivers(adata, "run2")["gene_set"]) == set(table["gene_set"])
    assert len(get.lineage_table(adata, "run2")) == 4
    written = get.scores(adata, "run2").columns.tolist()
    assert written and all(c.startswith("run2_") for c in written)
    keys = Keys("run2")
    for column in (keys.flagged, keys.lineage_state, keys.z("clastokines_secreted")):
        assert column in written
    assert not [c for c in adata.obs.columns if str(c).startswith("scclast")]
    assert "scclast" not in adata.uns and set(adata.uns["run2"]) >= {"flag", "lineage", "score"}
    assert adata.uns["run2"]["flag"]["parameters"]["key_added"] == "run2"


@pytest.mark.parametrize(
    ("reader", "step", "how"),
    [
        (get.flag_table, "flag", "scclast.tl.flag"),
        (get.lineage_table, "lineage", "scclast.tl.lineage_states"),
        (get.drivers, "flag", "scclast.tl.flag"),
        (get.flagged_groups, "flag", "scclast.tl.flag"),
        (get.groupby, "flag", "scclast.tl.flag"),
    ],
)
def test_the_default_key_says_where_the_results_are(run2, reader, step, how):
    with pytest.raises(ScclastInputError) as err:
        reader(run2)
    assert str(err.value) == (
        f"adata.uns['scclast'][{step!r}] is missing: run {how} first "
        "(with key_added='scclast'); found under key_added='run2'"
    )
    assert get.scores(run2).empty  # nothing was written under the default key


def test_enrichment_table_needs_prerank(run2):
    with pytest.raises(ScclastInputError, match=r"run scclast\.tl\.prerank first"):
        get.enrichment_table(run2, "run2")


def test_tables_survive_h5ad_with_their_types(run2, tmp_path):
    path = tmp_path / "run2.h5ad"
    run2.write_h5ad(path)
    back = ad.read_h5ad(path)
    for reader in (get.flag_table, get.lineage_table, get.drivers):
        before, after = reader(run2, "run2"), reader(back, "run2")
        pd.testing.assert_frame_equal(after, before)
    for reader in (get.sample_effects, get.composition):  # empty without a sample key
        assert reader(back, "run2").empty and reader(run2, "run2").empty
    table = get.flag_table(back, "run2")
    assert table["flagged"].dtype == bool and table["loo_survives"].dtype == bool
    assert get.lineage_table(back, "run2")["osteoclast_lineage"].dtype == bool
    assert get.flagged_groups(back, "run2") == ["osteoclast_secretory"]
    pd.testing.assert_frame_equal(get.scores(back, "run2"), get.scores(run2, "run2"))


def test_restore_makes_flags_bool_from_text_and_missing_values(tmp_path):
    table = pd.DataFrame(
        {
            "group": ["a", "b", "c", "d"],
            "flagged": ["True", "false", np.nan, "1"],
            "loo_survives": [1.0, 0.0, np.nan, 1.0],
            "osteoclast_lineage": [True, False, True, False],
            "n_cells": [10, 20, 30, 40],
        },
        index=["x", "y", "z", "w"],
    )
    restored = _restore(table)
    assert restored["flagged"].tolist() == [True, False, False, True]
    assert restored["loo_survives"].tolist() == [True, False, False, True]
    assert all(restored[c].dtype == bool for c in ("flagged", "loo_survives"))
    assert restored.index.tolist() == [0, 1, 2, 3]
    assert restored["n_cells"].tolist() == [10, 20, 30, 40]
    assert table["flagged"].tolist()[:2] == ["True", "false"]  # the stored table is untouched
    from_dict = _restore({"group": np.array(["a"]), "flagged": np.array([True])})
    assert from_dict["flagged"].tolist() == [True]
    # a table written to csv and read back comes back with its flags as bool
    table.to_csv(tmp_path / "t.csv", index=False)
    assert _restore(pd.read_csv(tmp_path / "t.csv"))["flagged"].dtype == bool


def test_flagged_groups_from_a_table():
    table = pd.DataFrame(
        {"group": ["b", "a", "b", "c"], "flagged": [True, True, True, False]},
    )
    assert get.flagged_groups(table) == ["b", "a"]
    assert get.flagged_groups(table.iloc[:0]) == []
    assert get.flagged_groups(table.assign(flagged=False)) == []


def test_group_expression_matches_a_direct_computation():
    counts = np.array([[0, 2, 8], [1, 0, 9], [3, 3, 4], [0, 0, 10]], dtype=np.float32)
    adata = ad.AnnData(sparse.csr_matrix(counts))
    adata.var_names = ["Acp5", "Ctsk", "Bg1"]
    adata.obs["grp"] = pd.Categorical(["x", "x", "y", "y"])
    mean, fraction = get.group_expression(adata, ["Ctsk", "NotAGene", "Acp5"], "grp")
    assert mean.columns.tolist() == fraction.columns.tolist() == ["Ctsk", "Acp5"]
    assert mean.index.name == "grp" and mean.index.tolist() == ["x", "y"]
    normalised = np.log1p(counts / counts.sum(axis=1, keepdims=True) * 1e4)
    expected = pd.DataFrame(normalised[:, [1, 0]], columns=["Ctsk", "Acp5"])
    expected["grp"] = ["x", "x", "y", "y"]
    np.testing.assert_allclose(
        mean.to_numpy(), expected.groupby("grp").mean().to_numpy(), rtol=1e-5
    )
    assert fraction.to_numpy().tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_sample_effects_and_composition_with_a_sample_key(tmp_path):
    adata = simulate_groups(
        {"macrophage": 120, "osteoclast": 120, "osteoclast_secretory": 90},
        seed=4,
        n_background=300,
        lineage_of={"osteoclast_secretory": "osteoclast"},
        program={"osteoclast_secretory": PLANTED},
    )
    adata.obs["mouse"] = np.resize(["m1", "m2", "m3"], adata.n_obs)
    tl.flag(adata, "state_true", sample_key="mouse", enrichment=False)
    effects = get.sample_effects(adata)
    assert list(effects.columns) == [
        "group", "gene_set", "sample", "n_cells", "n_reference", "log2fc", "auroc"
    ]  # fmt: skip
    secretory = effects.query(
        "group == 'osteoclast_secretory' and gene_set == 'clastokines_secreted'"
    )
    assert secretory["sample"].tolist() == ["m1", "m2", "m3"]
    assert secretory["n_cells"].tolist() == [30, 30, 30]
    assert (secretory["log2fc"] > 0.58).all() and (secretory["auroc"] > 0.7).all()
    row = (
        get.flag_table(adata)
        .query("group == 'osteoclast_secretory' and gene_set == 'clastokines_secreted'")
        .iloc[0]
    )
    assert np.log2(row["fold_change"]) == pytest.approx(secretory["log2fc"].mean())
    composition = get.composition(adata)
    assert composition.groupby("sample")["n_cells"].sum().tolist() == [110, 110, 110]
    assert composition.groupby("sample")["share"].sum().round(9).tolist() == [1.0, 1.0, 1.0]
    path = tmp_path / "samples.h5ad"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path)
    pd.testing.assert_frame_equal(get.sample_effects(back), effects)
    pd.testing.assert_frame_equal(get.composition(back), composition)
