"""The osteoclastogenesis simulator: seeded, realistic counts, planted structure."""

from __future__ import annotations

import re
from pathlib import Path

import anndata as ad
import numpy as np
import pytest

from scclast._errors import ScclastInputError
from scclast.datasets import STATES, parameters_from_uns, simulate_osteoclastogenesis
from scclast.datasets._simulate import DEFAULT_PROGRAMMES, MT_GENES, resolve_programmes

SMALL = {"n_cells": 600, "n_genes": 900}


def _mean(adata: ad.AnnData, state: str, genes: list[str]) -> np.ndarray:
    sub = adata[adata.obs["state_true"] == state, genes]
    return np.asarray(sub.X.mean(axis=0)).ravel()


@pytest.fixture(scope="module")
def sim() -> ad.AnnData:
    return simulate_osteoclastogenesis(seed=0)


def test_same_seed_same_data_other_seed_other_data():
    a = simulate_osteoclastogenesis(seed=7, **SMALL)
    b = simulate_osteoclastogenesis(seed=7, **SMALL)
    c = simulate_osteoclastogenesis(seed=8, **SMALL)
    assert (a.X != b.X).nnz == 0 and a.obs.equals(b.obs)
    assert (a.X != c.X).nnz > 0


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
    assert set(sim.obs.loc[sim.obs["state_true"] == "stromal", "lineage_true"]) == {"non_lineage"}


def test_stromal_cells_share_resorption_genes_but_not_myeloid_identity(sim: ad.AnnData):
    myeloid = list(DEFAULT_PROGRAMMES["myeloid_identity"][1])
    assert _mean(sim, "stromal", myeloid).sum() == 0
    assert (_mean(sim, "macrophage", myeloid) > 0.2).all()
    shared = ["Ctsk", "Mmp9", "Acp5"]
    assert (_mean(sim, "stromal", shared) > 3 * _mean(sim, "macrophage", shared)).all()


def test_secretory_population_raises_several_clastokines(sim: ad.AnnData):
    genes = sim.uns["scclast_simulation"]["parameters"]["programmes"]["clastokines"]
    genes = [str(g) for g in genes]
    ratio = _mean(sim, "osteoclast_secretory", genes) / _mean(sim, "osteoclast", genes)
    assert (ratio > 2).sum() >= 5
    osteoclast_genes = ["Ctsk", "Acp5", "Dcstamp"]
    assert (
        _mean(sim, "osteoclast_secretory", osteoclast_genes)
        > 0.5 * _mean(sim, "osteoclast", osteoclast_genes)
    ).all()


def test_clastokine_fold_and_gene_count_make_harder_versions():
    genes = list(DEFAULT_PROGRAMMES["clastokines"][1])
    kw = {"programmes": {"clastokines": genes}}
    flat = simulate_osteoclastogenesis(seed=1, clastokine_fold=1.0, **SMALL, **kw)
    ratio = (
        _mean(flat, "osteoclast_secretory", genes).sum() / _mean(flat, "osteoclast", genes).sum()
    )
    assert 0.6 < ratio < 1.6
    two = simulate_osteoclastogenesis(
        seed=1, clastokine_fold=6.0, clastokine_genes=2, **SMALL, **kw
    )
    per_gene = _mean(two, "osteoclast_secretory", genes) / _mean(two, "osteoclast", genes)
    assert (per_gene[:2] > 2.5).all() and (per_gene[2:] < 2.5).all()


def test_catalogue_programmes_are_used_and_missing_sets_fall_back(monkeypatch):
    import scclast.genesets as genesets

    monkeypatch.setattr(
        genesets,
        "as_dict",
        lambda species="mouse", sets=None: {"state_macrophage": ["Mrc1", "C1qa"]},
    )
    lists, sources = resolve_programmes()
    assert (
        lists["macrophage"] == ["Mrc1", "C1qa"]
        and sources["macrophage"] == "catalogue:state_macrophage"
    )
    assert sources["osteoclast"] == "default"
    assert lists["osteoclast"] == list(DEFAULT_PROGRAMMES["osteoclast"][1])

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


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_cells": 5}, "at least 10 cells"),
        ({"n_genes": 20}, "smaller than the"),
        ({"secretory_fraction": 0.5, "stromal_fraction": 0.6}, "leave room"),
        ({"lineage_weights": (1, 1)}, "three non-negative"),
        ({"n_samples": 0}, "at least 1"),
    ],
)
def test_bad_arguments_are_input_errors(kwargs: dict, match: str):
    with pytest.raises(ScclastInputError, match=match):
        simulate_osteoclastogenesis(**kwargs)


def test_samples_and_dataset_columns():
    adata = simulate_osteoclastogenesis(seed=3, n_samples=3, dataset="mine", **SMALL)
    assert set(adata.obs["sample"]) == {"sim_rep1", "sim_rep2", "sim_rep3"}
    assert set(adata.obs["dataset"]) == {"mine"}
