"""The osteoclastogenesis simulator: seeded, realistic counts, planted structure.

Every feature is measured on the counts it produces, not on its own bookkeeping.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import scclast.datasets._simulate._counts as counts_module
from scclast._errors import ScclastInputError
from scclast.datasets import (
    STATES,
    parameters_from_uns,
    simulate_osteoclastogenesis,
    state_table,
)
from scclast.datasets._simulate import DEFAULT_PROGRAMMES, MT_GENES, resolve_programmes
from scclast.datasets._simulate._design import composition

SMALL = {"n_cells": 600, "n_genes": 900}
FAST = {"n_genes": 400, "use_catalogue": False}
CLASTOKINES = list(DEFAULT_PROGRAMMES["clastokines"][1])
MYELOID = list(DEFAULT_PROGRAMMES["myeloid_identity"][1])
RECEIVERS = ("osteoprogenitor", "osteoblast", "osteocyte")
EVERY_STATE = {
    "macrophage": 3,
    "oc_precursor": 2,
    "osteoclast": 2,
    "osteoclast_secretory": 1,
    "stromal": 1,
    "neutrophil": 1,
    "dendritic_cell": 1,
    "osteoprogenitor": 1,
    "osteoblast": 1,
    "osteocyte": 1,
}


def _mean(adata: ad.AnnData, state: str, genes: list[str]) -> np.ndarray:
    sub = adata[adata.obs["state_true"] == state, genes]
    return np.asarray(sub.X.mean(axis=0)).ravel()


def _share(adata: ad.AnnData, mask: np.ndarray, genes: list[str]) -> float:
    """Counts on ``genes`` per count of the cells in ``mask`` (depth-free)."""
    sub = adata[mask]
    return float(sub[:, genes].X.sum() / sub.X.sum())


@pytest.fixture(scope="module")
def sim() -> ad.AnnData:
    return simulate_osteoclastogenesis(seed=0)


@pytest.fixture(scope="module")
def every_state() -> ad.AnnData:
    return simulate_osteoclastogenesis(
        n_cells=3000, n_genes=600, seed=11, states=EVERY_STATE, use_catalogue=False
    )


def test_same_seed_same_data_other_seed_other_data():
    a = simulate_osteoclastogenesis(seed=7, **SMALL)
    b = simulate_osteoclastogenesis(seed=7, **SMALL)
    c = simulate_osteoclastogenesis(seed=8, **SMALL)
    assert (a.X != b.X).nnz == 0 and a.obs.equals(b.obs)
    assert (a.X != c.X).nnz > 0
    rich = {
        "n_samples": 4,
        "conditions": 2,
        "composition_concentration": 20.0,
        "sample_gene_sd": 0.3,
        "extra_states": {"neutrophil": 0.1, "osteoblast": 0.1},
        "continuous": True,
        **SMALL,
    }
    d = simulate_osteoclastogenesis(seed=7, **rich)
    e = simulate_osteoclastogenesis(seed=7, **rich)
    f = simulate_osteoclastogenesis(seed=8, **rich)
    assert (d.X != e.X).nnz == 0 and d.obs.equals(e.obs)
    assert (d.X != f.X).nnz > 0 and not d.obs["pseudotime_true"].equals(f.obs["pseudotime_true"])


def test_v1_draws_are_reproduced_when_the_abundance_cap_is_off():
    # sha256 of the counts simulator v1 (before states, animals, conditions and the
    # abundance cap) drew for this call; the catalogue is off so that catalogue edits
    # cannot move it. Records written by v1 lack max_gene_share and regenerate this way.
    adata = simulate_osteoclastogenesis(
        n_cells=300, n_genes=400, seed=0, use_catalogue=False, max_gene_share=None
    )
    dense = adata.X.toarray().astype(np.int32)
    assert hashlib.sha256(dense.tobytes()).hexdigest() == (
        "3f5303654b2490849ab12e1c1d985a2f7a6ef51d0067798e96ca6ba4f2736b41"
    )
    assert list(adata.obs["state_true"].cat.categories) == list(STATES)
    assert list(adata.obs["cluster"].cat.categories) == ["0", "1", "2", "3", "4"]
    assert set(adata.obs["sample"]) == {"animal1", "animal2"}
    assert "condition" not in adata.obs


def test_no_gene_takes_over_a_state():
    kw = {"seed": 1, "n_cells": 600, "n_genes": 900, "use_catalogue": False}
    capped = simulate_osteoclastogenesis(**kw)
    uncapped = simulate_osteoclastogenesis(max_gene_share=None, **kw)

    def top_share(adata: ad.AnnData) -> float:
        shares = []
        for state in STATES:
            sums = np.asarray(adata[adata.obs["state_true"] == state].X.sum(axis=0)).ravel()
            sums[adata.var["mt"].to_numpy()] = 0
            shares.append(sums.max() / sums.sum())
        return max(shares)

    assert top_share(uncapped) > 0.5  # v1: this seed has one background gene at > 50%
    assert top_share(capped) < 0.07
    record = capped.uns["scclast_simulation"]["parameters"]
    assert record["max_gene_share"] == 0.05
    assert "max_gene_share" not in uncapped.uns["scclast_simulation"]["parameters"]
    assert parameters_from_uns(uncapped)["max_gene_share"] is None


def test_counts_look_like_droplet_data(sim: ad.AnnData):
    X = sim.X
    assert X.dtype == np.float32
    assert np.all(X.data == np.round(X.data)) and X.data.min() > 0
    zeros = 1 - X.nnz / (X.shape[0] * X.shape[1])
    assert 0.85 <= zeros <= 0.95
    depth = sim.obs["total_counts"]
    assert depth.std() / depth.mean() > 0.3  # library sizes vary
    assert 0.5 < sim.obs["pct_counts_mt"].mean() < 10


def test_states_fractions_and_labels(sim: ad.AnnData):
    fractions = sim.obs["state_true"].value_counts(normalize=True)
    assert set(fractions.index) == set(STATES)
    assert fractions["stromal"] == pytest.approx(0.15, abs=0.03)
    assert fractions["osteoclast_secretory"] == pytest.approx(0.08, abs=0.03)
    mapping = sim.uns["scclast_simulation"]["cluster_to_state"]
    assert all(
        mapping[c] == s for c, s in zip(sim.obs["cluster"], sim.obs["state_true"], strict=True)
    )
    lineage = sim.obs.groupby("state_true", observed=True)["lineage_true"].unique()
    assert {s: list(v) for s, v in lineage.items()} == {
        "macrophage": ["osteoclast_lineage"],
        "oc_precursor": ["osteoclast_lineage"],
        "osteoclast": ["osteoclast_lineage"],
        "osteoclast_secretory": ["osteoclast_lineage"],
        "stromal": ["stromal"],
    }


def test_state_table_rows_and_default_weights():
    table = state_table()
    assert list(table.index[:5]) == list(STATES)
    assert set(table.index) == set(EVERY_STATE)
    assert table.loc[list(STATES), "weight"].sum() == pytest.approx(1.0)
    assert (table.drop(index=list(STATES))["weight"] == 0).all()
    _, shares = composition(None, None, 0.08, 0.15, (0.4, 0.3, 0.3))
    assert shares == pytest.approx(table.loc[list(STATES), "weight"].to_numpy())
    assert table.loc[list(RECEIVERS), "lineage"].eq("osteoblast_lineage").all()
    assert table.loc[["neutrophil", "dendritic_cell"], "lineage"].eq("myeloid_other").all()
    non_myeloid = table["lineage"].isin(["stromal", "osteoblast_lineage"])
    assert (table.loc[non_myeloid, "myeloid_identity"] == 0).all()
    assert table["order"].dropna().to_dict() == {
        "macrophage": 0,
        "oc_precursor": 1,
        "osteoclast": 2,
        "osteoclast_secretory": 3,
    }


def test_stromal_cells_share_resorption_genes_but_not_myeloid_identity(sim: ad.AnnData):
    programmes = sim.uns["scclast_simulation"]["parameters"]["programmes"]
    myeloid = [str(g) for g in programmes["myeloid_identity"]]
    assert _mean(sim, "stromal", myeloid).sum() == 0
    assert (_mean(sim, "macrophage", myeloid) > 0.2).all()
    shared = ["Ctsk", "Mmp9", "Acp5"]
    assert (_mean(sim, "stromal", shared) > 3 * _mean(sim, "macrophage", shared)).all()


def test_secretory_population_raises_several_clastokines(sim: ad.AnnData):
    genes = [
        str(g) for g in sim.uns["scclast_simulation"]["parameters"]["programmes"]["clastokines"]
    ]
    ratio = _mean(sim, "osteoclast_secretory", genes) / _mean(sim, "osteoclast", genes)
    assert (ratio > 2).sum() >= 5
    osteoclast_genes = ["Ctsk", "Acp5", "Dcstamp"]
    assert (
        _mean(sim, "osteoclast_secretory", osteoclast_genes)
        > 0.5 * _mean(sim, "osteoclast", osteoclast_genes)
    ).all()


def test_clastokine_fold_and_gene_count_make_harder_versions():
    kw = {"programmes": {"clastokines": CLASTOKINES}}
    flat = simulate_osteoclastogenesis(seed=1, clastokine_fold=1.0, **SMALL, **kw)
    ratio = (
        _mean(flat, "osteoclast_secretory", CLASTOKINES).sum()
        / _mean(flat, "osteoclast", CLASTOKINES).sum()
    )
    assert 0.6 < ratio < 1.6
    two = simulate_osteoclastogenesis(
        seed=1, clastokine_fold=6.0, clastokine_genes=2, **SMALL, **kw
    )
    per_gene = _mean(two, "osteoclast_secretory", CLASTOKINES) / _mean(
        two, "osteoclast", CLASTOKINES
    )
    assert (per_gene[:2] > 2.5).all() and (per_gene[2:] < 2.5).all()


def test_neutrophil_decoy_is_myeloid_with_granule_genes_and_no_rank(every_state: ad.AnnData):
    granule = ["S100a8", "S100a9", "Ly6g", "Retnlg", "Ngp", "Camp", "Ltf"]
    assert (_mean(every_state, "neutrophil", granule) > 0.3).all()
    for other in ("macrophage", "osteoclast", "dendritic_cell", "osteoblast"):
        assert (
            _mean(every_state, "neutrophil", granule) > 10 * _mean(every_state, other, granule)
        ).all()
    identity = ["Ptprc", "Spi1", "Lyz2", "Tyrobp", "Fcer1g"]
    assert (_mean(every_state, "neutrophil", identity) > 0.3).all()
    assert _mean(every_state, "neutrophil", ["Tnfrsf11a"]).sum() == 0
    assert (
        _mean(every_state, "neutrophil", ["Mmp9"])[0]
        > 3 * _mean(every_state, "macrophage", ["Mmp9"])[0]
    )


def test_dendritic_cell_decoy_looks_like_a_precursor_to_a_naive_gate(every_state: ad.AnnData):
    dc_genes = ["Flt3", "Zbtb46", "Xcr1"]
    assert (_mean(every_state, "dendritic_cell", dc_genes) > 0.3).all()
    assert (
        _mean(every_state, "dendritic_cell", dc_genes)
        > 10 * _mean(every_state, "oc_precursor", dc_genes)
    ).all()
    genes = ["Itgax", "Tnfrsf11a", "Dcstamp"]
    dc, mac, pre, oc = (
        _mean(every_state, s, genes)
        for s in ("dendritic_cell", "macrophage", "oc_precursor", "osteoclast")
    )
    assert dc[0] > 1.5 * pre[0]  # Itgax high, above the precursors'
    top = np.maximum(pre, oc)
    assert (mac[1:] < dc[1:]).all() and (dc[1:] < 0.75 * top[1:]).all()  # RANK, Dcstamp moderate
    assert (_mean(every_state, "dendritic_cell", MYELOID[:2]) > 0.3).all()


def test_receivers_have_no_myeloid_identity_and_differ_in_receptors(every_state: ad.AnnData):
    for state in RECEIVERS:
        assert _mean(every_state, state, MYELOID).sum() == 0
    markers = {"osteoprogenitor": "Runx2", "osteoblast": "Bglap", "osteocyte": "Dmp1"}
    for state, gene in markers.items():
        by_state = {s: _mean(every_state, s, [gene])[0] for s in EVERY_STATE}
        assert max(by_state, key=by_state.get) == state, gene
    top = {}
    for programme in ("receptors_progenitor", "receptors_osteoblast", "receptors_osteocyte"):
        genes = list(DEFAULT_PROGRAMMES[programme][1])
        level = {
            s: _share(every_state, every_state.obs["state_true"] == s, genes) for s in RECEIVERS
        }
        top[programme] = max(level, key=level.get)
        assert max(level.values()) > 2 * min(level.values()), programme
    assert top == {
        "receptors_progenitor": "osteoprogenitor",
        "receptors_osteoblast": "osteoblast",
        "receptors_osteocyte": "osteocyte",
    }


def test_one_animal_effect_raises_only_that_animals_state_cells():
    adata = simulate_osteoclastogenesis(
        n_cells=4000,
        seed=3,
        n_samples=4,
        clastokine_fold=1.0,
        programme_effects=[
            {"programme": "clastokines", "state": "osteoclast", "fold": 3.0, "sample": "animal2"}
        ],
        **FAST,
    )
    obs = adata.obs
    osteoclast = (obs["state_true"] == "osteoclast").to_numpy()
    macrophage = (obs["state_true"] == "macrophage").to_numpy()
    level = {
        (a, kind): _share(adata, mask & (obs["sample"] == a).to_numpy(), CLASTOKINES)
        for a in ("animal1", "animal2", "animal3", "animal4")
        for kind, mask in (("oc", osteoclast), ("mac", macrophage))
    }
    others = [level[(a, "oc")] for a in ("animal1", "animal3", "animal4")]
    assert level[("animal2", "oc")] > 2.2 * max(others)
    assert max(others) < 1.3 * min(others)
    macs = [level[(a, "mac")] for a in ("animal1", "animal2", "animal3", "animal4")]
    assert max(macs) < 1.3 * min(macs)
    effect = adata.uns["scclast_simulation"]["effects"]["programme_effects"]["0"]
    assert list(effect["samples"]) == ["animal2"] and list(effect["genes"]) == CLASTOKINES


def test_effect_in_every_animal_and_gene_list_effects():
    adata = simulate_osteoclastogenesis(
        n_cells=3000,
        seed=4,
        n_samples=3,
        clastokine_fold=1.0,
        programme_effects=[
            {"programme": "clastokines", "states": ["osteoclast"], "fold": 2.0},
            {"genes": ["Robo1"], "states": ["osteoblast"], "fold": 5.0},
        ],
        extra_states={"osteoblast": 0.1},
        **FAST,
    )
    obs = adata.obs
    for animal in ("animal1", "animal2", "animal3"):
        mine = (obs["sample"] == animal).to_numpy()
        oc = _share(adata, mine & (obs["state_true"] == "osteoclast").to_numpy(), CLASTOKINES)
        pre = _share(adata, mine & (obs["state_true"] == "oc_precursor").to_numpy(), CLASTOKINES)
        # osteoclasts carry 1.5x the precursors' clastokines by design; x2 on top
        assert 2.2 < oc / pre < 4.5, animal
    plain = simulate_osteoclastogenesis(
        n_cells=3000, seed=4, n_samples=3, extra_states={"osteoblast": 0.1}, **FAST
    )
    robo1 = _mean(adata, "osteoblast", ["Robo1"])[0] / _mean(plain, "osteoblast", ["Robo1"])[0]
    lrp5 = _mean(adata, "osteoblast", ["Lrp5"])[0] / _mean(plain, "osteoblast", ["Lrp5"])[0]
    assert 3.5 < robo1 < 7 and 0.75 < lrp5 < 1.33  # Lrp5: same programme, no effect


def test_conditions_and_condition_effect_in_treated_animals():
    adata = simulate_osteoclastogenesis(
        n_cells=4000,
        seed=5,
        n_samples=6,
        conditions=2,
        clastokine_fold=1.0,
        condition_effects=[
            {
                "programme": "clastokines",
                "states": ["osteoclast"],
                "fold": 2.0,
                "condition": "treated",
            }
        ],
        **FAST,
    )
    obs = adata.obs
    assert obs.groupby("condition", observed=True)["sample"].unique().map(sorted).to_dict() == {
        "control": ["animal1", "animal2", "animal3"],
        "treated": ["animal4", "animal5", "animal6"],
    }
    treated = (obs["condition"] == "treated").to_numpy()
    for state, low, high in (("osteoclast", 1.6, 2.6), ("macrophage", 0.75, 1.3)):
        cells = (obs["state_true"] == state).to_numpy()
        ratio = _share(adata, cells & treated, CLASTOKINES) / _share(
            adata, cells & ~treated, CLASTOKINES
        )
        assert low < ratio < high, state


def test_composition_shift_doubles_the_expected_share():
    shares = {"control": [], "treated": []}
    for seed in range(8):
        adata = simulate_osteoclastogenesis(
            n_cells=1500,
            seed=seed,
            n_samples=4,
            conditions=2,
            composition_concentration=30.0,
            composition_shift={"osteoclast": 2.0},
            **FAST,
        )
        oc = adata.obs["state_true"] == "osteoclast"
        for condition in shares:
            shares[condition].append(oc[adata.obs["condition"] == condition].mean())
    ratio = np.mean(shares["treated"]) / np.mean(shares["control"])
    assert 1.75 < ratio < 2.25
    expected = state_table().loc["osteoclast", "weight"]
    assert np.mean(shares["control"]) == pytest.approx(expected, abs=0.04)
    exact = simulate_osteoclastogenesis(
        n_cells=200,
        seed=0,
        n_samples=2,
        conditions=2,
        composition_shift={"osteoclast": 2.0},
        **FAST,
    )
    record = exact.uns["scclast_simulation"]["samples"]
    assert record["animal2"]["composition"]["osteoclast"] == pytest.approx(2 * expected)
    assert sum(record["animal2"]["composition"].values()) == pytest.approx(1.0)


def test_animals_differ_in_composition_depth_and_gene_levels():
    kw = {"n_cells": 3000, "seed": 6, "n_samples": 6, **FAST}
    same = simulate_osteoclastogenesis(sample_depth_sd=0.0, **kw)
    deep = simulate_osteoclastogenesis(sample_depth_sd=0.5, **kw)
    noisy = simulate_osteoclastogenesis(
        sample_depth_sd=0.0, composition_concentration=10.0, sample_gene_sd=0.5, **kw
    )

    def macrophage_depth(adata: ad.AnnData) -> pd.Series:
        cells = adata.obs[adata.obs["state_true"] == "macrophage"]
        return cells.groupby("sample", observed=True)["total_counts"].mean()

    def spread(adata: ad.AnnData) -> float:
        return float(np.log(macrophage_depth(adata)).std())

    animals = deep.uns["scclast_simulation"]["samples"]
    factors = [animals[a]["depth_factor"] for a in sorted(animals)]
    assert spearmanr(factors, macrophage_depth(deep)[sorted(animals)]).statistic > 0.8
    assert spread(deep) > 3 * spread(same)
    assert spread(noisy) < 0.2  # gene noise moves genes, not the library size

    def composition_spread(adata: ad.AnnData) -> float:
        table = adata.obs.groupby("sample", observed=True)["state_true"].value_counts(
            normalize=True
        )
        return float(table.unstack().std().mean())

    assert composition_spread(noisy) > 2 * composition_spread(same)

    def gene_spread(adata: ad.AnnData) -> float:
        macro = adata[adata.obs["state_true"] == "macrophage"]
        top = np.argsort(np.asarray(macro.X.sum(axis=0)).ravel())[-40:]
        per = [
            np.asarray(macro[macro.obs["sample"] == a].X[:, top].sum(axis=0)).ravel()
            for a in ("animal1", "animal2")
        ]
        per = [p / p.sum() for p in per]
        return float(np.std(np.log(per[0] / per[1])))

    assert gene_spread(noisy) > 2 * gene_spread(same)


def test_pseudotime_orders_the_lineage_states():
    adata = simulate_osteoclastogenesis(n_cells=1500, seed=7, **FAST)
    t = adata.obs["pseudotime_true"]
    state = adata.obs["state_true"]
    assert t[state == "stromal"].isna().all() and t[state != "stromal"].notna().all()
    order = ["macrophage", "oc_precursor", "osteoclast", "osteoclast_secretory"]
    per_state = [t[state == s] for s in order]
    for early, late in itertools.pairwise(per_state):
        assert early.max() < late.min()
    assert per_state[0].min() > 0 and per_state[-1].max() < 1


def test_continuous_axis_interpolates_and_plants_trends():
    adata = simulate_osteoclastogenesis(
        n_cells=4000,
        seed=8,
        continuous=True,
        trend_genes={"Lif": "late", "Wnt5a": "early", "Slit3": "transient"},
        trend_fold=6.0,
        clastokine_fold=1.0,
        **FAST,
    )
    lineage = adata[adata.obs["pseudotime_true"].notna()]
    t = lineage.obs["pseudotime_true"].to_numpy()
    bins = adata.uns["scclast_simulation"]["pseudotime_bins"]
    for state, (lo, hi) in bins.items():
        inside = t[(lineage.obs["state_true"] == state).to_numpy()]
        assert lo <= inside.min() and inside.max() <= hi
        assert len(np.unique(inside)) == len(inside)  # a continuum, not one value per state
    fifth = np.digitize(t, np.quantile(t, [0.2, 0.4, 0.6, 0.8]))

    def profile(genes: list[str]) -> np.ndarray:
        return np.array([_share(lineage, fifth == k, genes) for k in range(5)])

    osteoclast = profile(list(DEFAULT_PROGRAMMES["osteoclast"][1]))
    assert (np.diff(osteoclast) > 0).all()
    late, early, bump = profile(["Lif"]), profile(["Wnt5a"]), profile(["Slit3"])
    assert late[-1] > 2.5 * late[0] and early[0] > 2.5 * early[-1]
    assert bump[2] > 2 * bump[0] and bump[2] > 2 * bump[-1]


def test_counts_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch):
    kw = {"n_cells": 700, "seed": 9, "n_samples": 3, "continuous": True, **FAST}
    whole = simulate_osteoclastogenesis(**kw)
    monkeypatch.setattr(counts_module, "CHUNK_CELLS", 64)
    blocks = simulate_osteoclastogenesis(**kw)
    assert (whole.X != blocks.X).nnz == 0


def test_catalogue_programmes_are_used_and_renamed_sets_fall_back(monkeypatch, caplog):
    import scclast.genesets as genesets

    monkeypatch.setattr(
        genesets,
        "as_dict",
        lambda species="mouse", sets=None: {
            "state_macrophage": ["Mrc1", "C1qa"],
            "state_oc_early": ["Tnfrsf11a", "Dcstamp"],
        },
    )
    with caplog.at_level(logging.INFO, logger="scclast"):
        lists, sources = resolve_programmes()
    assert lists["macrophage"] == ["Mrc1", "C1qa"]
    assert sources["macrophage"] == "catalogue:state_macrophage"
    assert sources["oc_precursor"] == "catalogue:state_oc_early"  # a renamed set is followed
    assert sources["osteoclast"] == "default"
    assert lists["osteoclast"] == list(DEFAULT_PROGRAMMES["osteoclast"][1])
    assert "programme 'osteoclast'" in caplog.text

    def broken(species="mouse", sets=None):
        raise ScclastInputError("catalogue unreadable")

    monkeypatch.setattr(genesets, "as_dict", broken)
    adata = simulate_osteoclastogenesis(seed=2, **SMALL)
    assert set(adata.uns["scclast_simulation"]["programme_sources"].values()) == {"default"}


def test_given_programmes_win_and_unknown_names_are_rejected():
    lists, sources = resolve_programmes({"stromal": ["Col1a1"]}, use_catalogue=False)
    assert lists["stromal"] == ["Col1a1"] and sources["stromal"] == "given"
    with pytest.raises(ScclastInputError, match="unknown simulation programme"):
        resolve_programmes({"osteomorph": ["Xyz"]})


def test_gene_names_are_named_genes_or_synthetic_background(sim: ad.AnnData):
    params = sim.uns["scclast_simulation"]["parameters"]
    named = {str(g) for genes in params["programmes"].values() for g in genes}
    named |= {str(g) for g in params["extra_genes"]} | set(MT_GENES) | {"Ctsk", "Mmp9", "Acp5"}
    for gene in sim.var_names:
        assert gene in named or re.fullmatch(r"Bg\d{5}", gene), gene
    assert (sim.var["gene_ids"] == "").all()  # no invented Ensembl IDs


def test_parameters_are_recorded_and_regenerate_after_h5ad_roundtrip(tmp_path: Path):
    adata = simulate_osteoclastogenesis(seed=4, cluster_noise=0.1, clastokine_genes=3, **SMALL)
    record = adata.uns["scclast_simulation"]
    assert record["seed"] == 4 and record["parameters"]["cluster_noise"] == 0.1
    path = tmp_path / "sim.h5ad"
    adata.write_h5ad(path, compression="gzip")
    again = simulate_osteoclastogenesis(**parameters_from_uns(ad.read_h5ad(path)))
    assert (adata.X != again.X).nnz == 0
    assert (
        adata.obs["cluster"].astype(str)
        != adata.obs["state_true"].map({s: str(i) for i, s in enumerate(STATES)}).astype(str)
    ).any()


def test_every_new_argument_is_recorded_and_regenerates(tmp_path: Path):
    adata = simulate_osteoclastogenesis(
        n_cells=900,
        n_genes=700,
        seed=12,
        states={**EVERY_STATE, "osteocyte": 0},
        n_samples=4,
        conditions={"sham": ["animal1", "animal3"], "ovx": ["animal2", "animal4"]},
        composition_shift={"ovx": {"osteoclast": 1.5}},
        composition_concentration=25.0,
        sample_depth_sd=0.3,
        sample_gene_sd=0.2,
        programme_effects=[{"genes": ["Slit3"], "states": ["osteoclast"], "fold": 3}],
        condition_effects=[
            {"programme": "osteocyte", "state": "osteoblast", "fold": 2, "condition": "ovx"}
        ],
        continuous=True,
        trend_genes={"clastokines": "late"},
        cluster_noise=0.05,
    )
    record = adata.uns["scclast_simulation"]
    assert set(record["states"]) == set(EVERY_STATE)
    assert record["states"]["neutrophil"]["lineage"] == "myeloid_other"
    assert record["effects"]["condition_effects"]["0"]["samples"] == ["animal2", "animal4"]
    assert record["trends"]["clastokines"]["shape"] == "late"
    assert list(adata.obs["condition"].cat.categories) == ["sham", "ovx"]
    path = tmp_path / "sim.h5ad"
    adata.write_h5ad(path)
    params = parameters_from_uns(ad.read_h5ad(path))
    assert params["composition_shift"] == {"ovx": {"osteoclast": 1.5}}
    assert params["programme_effects"] == [
        {
            "genes": ["Slit3"],
            "states": ["osteoclast"],
            "fold": 3.0,
            "samples": ["animal1", "animal2", "animal3", "animal4"],
        }
    ]
    again = simulate_osteoclastogenesis(**params)
    assert (adata.X != again.X).nnz == 0 and adata.obs.equals(again.obs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_cells": 5}, "at least 10 cells"),
        ({"n_genes": 20}, "smaller than the"),
        ({"secretory_fraction": 0.5, "stromal_fraction": 0.6}, "leave room"),
        ({"lineage_weights": (1, 1)}, "three non-negative"),
        ({"n_samples": 0}, "n_samples=0"),
        ({"seed": -1}, "seed=-1"),
        ({"sample_gene_sd": -0.1}, "sample_gene_sd"),
        ({"composition_concentration": 0}, "composition_concentration"),
        ({"max_gene_share": 1.5}, "max_gene_share"),
        ({"states": {"osteoclast": 1, "osteomorph": 1}}, r"states: unknown state.*osteomorph"),
        ({"states": {"osteoclast": 0}}, "states: give at least one"),
        ({"extra_states": {"stromal": 0.1}}, "extra_states: unknown state"),
        ({"extra_states": {"neutrophil": 0.7, "osteoblast": 0.4}}, "extra_states: shares"),
        ({"states": {"osteoclast": 1}, "extra_states": {"neutrophil": 0.1}}, "both given"),
        ({"conditions": 5}, r"conditions=5"),
        ({"conditions": {"a": ["animal1"], "b": ["animal1"]}}, r"conditions: every animal"),
        ({"composition_shift": {"osteoclast": 2}}, "composition_shift needs conditions"),
        (
            {"conditions": 2, "composition_shift": {"osteoclast": 5}},
            r"composition_shift\['treated'\]: the shifted states",
        ),
        ({"programme_effects": [{"programme": "clastokines"}]}, r"programme_effects\[0\]: fold"),
        (
            {"programme_effects": [{"programme": "x", "fold": 2}]},
            r"programme_effects\[0\]: unknown programme",
        ),
        (
            {"programme_effects": [{"genes": ["Slit3"], "fold": 2, "samples": ["animal9"]}]},
            r"programme_effects\[0\]: samples",
        ),
        (
            {"programme_effects": [{"genes": ["Nope1"], "fold": 2}]},
            r"programme_effects\[0\]: gene\(s\) \['Nope1'\]",
        ),
        (
            {"programme_effects": [{"genes": ["Slit3"], "fold": 2, "state": "neutrophil"}]},
            r"programme_effects\[0\]: states",
        ),
        (
            {"condition_effects": [{"genes": ["Slit3"], "fold": 2, "condition": "x"}]},
            "condition_effects needs conditions",
        ),
        ({"trend_genes": {"Lif": "sideways"}}, r"trend_genes\['Lif'\]"),
        ({"trend_genes": {"Nope1": "late"}}, r"trend_genes\['Nope1'\]: gene"),
    ],
)
def test_bad_arguments_are_input_errors_naming_the_argument(kwargs: dict, match: str):
    with pytest.raises(ScclastInputError, match=match):
        simulate_osteoclastogenesis(**{"n_cells": 100, **FAST, **kwargs})


def test_samples_and_dataset_columns():
    adata = simulate_osteoclastogenesis(seed=3, n_samples=3, dataset="mine", **SMALL)
    assert set(adata.obs["sample"]) == {"animal1", "animal2", "animal3"}
    assert set(adata.obs["dataset"]) == {"mine"}
    assert math.isinf(adata.uns["scclast_simulation"]["parameters"]["composition_concentration"])
