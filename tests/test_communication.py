"""The coupling map: planted and unplanted pairs, per-sample support, no receivers."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pytest

import scclast
from scclast._warnings import DataWarning
from scclast.tl._coupling import COLUMNS

N_PERMS = 100
RECEIVERS = {"osteoprogenitor": 0.07, "osteoblast": 0.07, "osteocyte": 0.07}
PLANTED = [
    # Slit3 up in the secretory osteoclasts, Robo1 in one receiver group only
    {"genes": ["Slit3"], "states": ["osteoclast_secretory"], "fold": 4.0},
    {"genes": ["Robo1"], "states": ["osteocyte"], "fold": 6.0},
    {"genes": ["Robo1"], "states": ["osteoblast", "osteoprogenitor"], "fold": 0.2},
]


def _simulate(effects=None, seed: int = 0) -> ad.AnnData:
    adata = scclast.datasets.simulate_osteoclastogenesis(
        n_cells=1500,
        n_genes=600,
        seed=seed,
        n_samples=4,
        extra_states=RECEIVERS,
        programme_effects=effects,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scclast.ScclastWarning)
        scclast.tl.flag(adata, "cluster", enrichment=False)
    scclast.tl.receiver_states(adata, "cluster")
    return adata


def _states(adata: ad.AnnData) -> dict[str, str]:
    return dict(zip(adata.obs["cluster"].astype(str), adata.obs["state_true"], strict=True))


@pytest.fixture(scope="module")
def planted() -> ad.AnnData:
    return _simulate(PLANTED)


@pytest.fixture(scope="module")
def pooled(planted):
    adata = planted.copy()
    scclast.tl.communication(adata, n_perms=N_PERMS)
    return adata, scclast.get.communication_table(adata)


@pytest.fixture(scope="module")
def per_sample(planted):
    adata = planted.copy()
    scclast.tl.communication(adata, sample_key="sample", n_perms=N_PERMS)
    return adata, scclast.get.communication_table(adata)


def _top(table, adata):
    """The flagged sender's rank-1 row as (receiver state, ligand, receptor)."""
    states = _states(adata)
    top = table[table["sender_flagged"] & (table["rank"] == 1)]
    return [(states[r.receiver], r.ligand, r.receptor) for r in top.itertuples()]


@pytest.mark.parametrize("run", ["pooled", "per_sample"])
def test_planted_pair_ranks_first_for_the_flagged_sender(run, request):
    adata, table = request.getfixturevalue(run)
    flagged = scclast.get.flagged_groups(adata)
    assert [_states(adata)[g] for g in flagged] == ["osteoclast_secretory"]
    assert _top(table, adata) == [("osteocyte", "Slit3", "Robo1")]
    row = table[table["sender_flagged"] & (table["rank"] == 1)].iloc[0]
    assert row["supported"] and row["status"] == "scored"
    assert row["effect"] == "anabolic" and row["citation"] == "Kim et al., 2018"
    # the same ligand towards a receiver without Robo1 is far down the list
    states = _states(adata)
    other = table[
        table["sender_flagged"]
        & (table["ligand"] == "Slit3")
        & (table["receptor"] == "Robo1")
        & (table["receiver"].map(states) == "osteoblast")
    ]
    assert other.empty or (other["rank"].isna() | (other["rank"] > 3)).all()


def test_without_the_plant_the_pair_does_not_rank_first():
    adata = _simulate(None)
    scclast.tl.communication(adata, n_perms=N_PERMS)
    table = scclast.get.communication_table(adata)
    top = _top(table, adata)
    assert len(top) == 1 and top[0] != ("osteocyte", "Slit3", "Robo1")


def test_one_row_per_sender_receiver_and_catalogue_pair(pooled):
    adata, table = pooled
    assert tuple(table.columns) == COLUMNS
    senders = table["sender"].unique()
    receivers = table["receiver"].unique()
    states = _states(adata)
    assert sorted(states[r] for r in receivers) == sorted(RECEIVERS)
    assert sorted(states[s] for s in senders) == [
        "macrophage",
        "oc_precursor",
        "osteoclast",
        "osteoclast_secretory",
    ]
    n_pairs = len(scclast.genesets.coupling_resource("mouse"))
    assert len(table) == len(senders) * len(receivers) * n_pairs
    assert not table.duplicated(["sender", "receiver", "ligand", "receptor"]).any()
    # every row says whether it was scored, and why not
    assert (table["status"] != "").all()
    unscored = table[table["status"] != "scored"]
    assert unscored["rank"].isna().all() and not unscored["supported"].any()
    assert unscored["status"].str.match(r"(not measured|not expressed|group too small)").all()
    assert table.loc[table["ligand"] == "Tgfb1", "status"].str.contains("Tgfb1").all()
    scored = table[table["status"] == "scored"]
    assert (scored["pvalue"] >= 1 / (N_PERMS + 1)).all()  # never a p of 0
    assert scored["basis"].str.startswith("pooled").all()
    assert scored["n_samples_tested"].isna().all()
    # the reverse pair is marked in the table
    rank = table[table["factor"] == "vesicular_rank"]
    assert (rank["direction"] == "reverse").all() and (rank["ligand"] == "Tnfrsf11a").all()


def test_per_sample_support_counts_samples(per_sample):
    _, table = per_sample
    scored = table[table["status"] == "scored"]
    assert scored["basis"].str.startswith("per sample (4 samples").all()
    assert set(scored["n_samples_tested"]) == {4}
    supported = scored[scored["supported"]]
    assert not supported.empty
    needed = scored["n_samples_tested"].map(lambda n: max(2, -(-n // 2)))
    assert (scored["supported"] == (scored["n_samples_support"] >= needed)).all()


def test_a_pair_in_one_animal_only_is_not_supported_with_samples():
    """Permutations within samples: one animal's signal is not a replicated pair."""
    one_animal = [
        {"genes": ["Robo2"], "states": ["osteocyte"], "fold": 400.0, "samples": ["animal1"]},
        {"genes": ["Slit3"], "states": ["osteoclast_secretory"], "fold": 4.0},
    ]
    adata = _simulate(one_animal, seed=0)
    states = _states(adata)

    def robo2(sample_key):
        scclast.tl.communication(adata, sample_key=sample_key, n_perms=N_PERMS)
        table = scclast.get.communication_table(adata)
        rows = table[
            table["sender_flagged"]
            & (table["receptor"] == "Robo2")
            & (table["receiver"].map(states) == "osteocyte")
        ]
        assert len(rows) == 1
        return rows.iloc[0]

    pooled = robo2(None)
    assert pooled["status"] == "scored" and pooled["supported"]
    replicated = robo2("sample")
    assert replicated["n_samples_support"] <= 1
    assert not replicated["supported"]


def test_no_osteoblast_lineage_cells_skip_with_one_line():
    adata = scclast.datasets.bone_marrow_baccin2020()
    scclast.tl.lineage_states(adata, "celltype")
    scclast.tl.receiver_states(adata, "celltype")
    with pytest.warns(DataWarning, match="No osteoblast-lineage group"):
        scclast.tl.communication(adata)
    assert scclast.get.communication_table(adata).empty
    record = adata.uns["scclast"]["communication"]
    assert record["skip_reason"].startswith("No osteoblast-lineage group")
    assert "\n" not in record["skip_reason"]


def test_named_receivers_and_senders(planted):
    adata = planted.copy()
    states = _states(adata)
    by_state = {v: k for k, v in states.items()}
    chosen = [by_state["osteoblast"]]
    scclast.tl.communication(adata, receivers=chosen, senders=[by_state["osteoclast"]], n_perms=20)
    table = scclast.get.communication_table(adata)
    assert set(table["receiver"]) == set(chosen) and set(table["receiver_state"]) == {"osteoblast"}
    assert set(table["sender"]) == {by_state["osteoclast"]}
    with pytest.raises(scclast.ScclastInputError, match="not in the grouping"):
        scclast.tl.communication(adata, receivers=["nope"])
    with pytest.raises(scclast.ScclastInputError, match="both senders and receivers"):
        scclast.tl.communication(adata, receivers=[by_state["osteoclast"]])
    with pytest.raises(scclast.ScclastInputError, match="sample_key='donor'"):
        scclast.tl.communication(adata, sample_key="donor")


def test_receiver_gate_must_run_first_unless_receivers_are_named(planted):
    adata = planted.copy()
    del adata.uns["scclast"]["receivers"]
    with pytest.raises(scclast.ScclastInputError, match="receiver_states"):
        scclast.tl.communication(adata)


def test_table_survives_h5ad(pooled, tmp_path):
    adata, table = pooled
    path = tmp_path / "annotated.h5ad"
    adata.write_h5ad(path)
    back = scclast.get.communication_table(ad.read_h5ad(path))
    assert back["supported"].dtype == bool and back["sender_flagged"].dtype == bool
    assert back["supported"].tolist() == table["supported"].tolist()
    np.testing.assert_allclose(back["magnitude"], table["magnitude"])


def test_copy_leaves_the_input_alone(planted):
    adata = planted.copy()
    out = scclast.tl.communication(adata, copy=True, n_perms=20)
    assert "communication" in out.uns["scclast"]
    assert "communication" not in adata.uns["scclast"]
