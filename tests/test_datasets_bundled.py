"""The bundled examples: they load with no network at all and cannot drift silently."""

from __future__ import annotations

import runpy
import socket
from importlib import resources
from pathlib import Path

import anndata
import numpy as np
import pytest

import scclast.datasets as ds
from scclast.datasets._make_example import EXAMPLE_SETTINGS, example_path
from tests._paths import TEST_DATA

MYELOID = ("Ptprc", "Spi1", "Csf1r", "Lyz2", "Cd68", "Tyrobp", "Fcer1g")


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection of any kind, loopback included; and offline mode."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bundled dataset tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("SCCLAST_OFFLINE", "1")


def test_example_loads_offline_and_says_it_is_synthetic(no_sockets: None):
    adata = ds.example()
    assert adata.shape == (EXAMPLE_SETTINGS["n_cells"], EXAMPLE_SETTINGS["n_genes"])
    simulation = adata.uns["scclast_simulation"]
    assert simulation["synthetic"] is True or simulation["synthetic"] == np.True_
    assert "SYNTHETIC" in simulation["statement"]
    assert adata.uns["scclast"]["dataset"]["synthetic"]
    assert "SYNTHETIC" in ds.example.__doc__
    extra = set(EXAMPLE_SETTINGS.get("extra_states", {}))
    assert set(adata.obs["state_true"]) == set(ds.STATES) | extra
    assert set(adata.obs["dataset"]) == {"example_osteoclastogenesis"}
    assert {"sample", "cluster", "lineage_true"} <= set(adata.obs.columns)


def test_example_has_the_planted_structure(no_sockets: None):
    adata = ds.example()
    stromal = adata[adata.obs["state_true"] == "stromal"]
    macrophage = adata[adata.obs["state_true"] == "macrophage"]
    assert stromal[:, list(MYELOID)].X.sum() == 0
    for gene in ("Ctsk", "Mmp9", "Acp5"):
        assert stromal[:, gene].X.mean() > 5 * macrophage[:, gene].X.mean()


def test_shipped_example_equals_a_fresh_simulation(no_sockets: None):
    shipped = ds.example()
    fresh = ds.simulate_osteoclastogenesis(**ds.parameters_from_uns(shipped))
    assert (shipped.X != fresh.X).nnz == 0
    assert list(shipped.var_names) == list(fresh.var_names)
    assert list(shipped.obs["state_true"]) == list(fresh.obs["state_true"])
    assert list(shipped.obs["cluster"]) == list(fresh.obs["cluster"])
    for key in ("seed", "n_cells", "n_genes"):
        assert ds.parameters_from_uns(shipped)[key] == EXAMPLE_SETTINGS[key]


def test_example_ships_its_embedding_made_by_scclast_umap(no_sockets: None):
    from scclast.datasets._make_example import EMBEDDING_SETTINGS

    adata = ds.example()
    xy = adata.obsm["X_umap"]
    assert xy.shape == (adata.n_obs, 2) and np.isfinite(xy).all()
    record = adata.uns["scclast"]["embedding"]
    assert bool(record["computed"]) and record["parameters"]["seed"] == EMBEDDING_SETTINGS["seed"]
    # the planted states are islands of the stored embedding, as scclast.tl.umap makes them
    states = adata.obs["state_true"].astype(str).to_numpy()
    centres = {s: xy[states == s].mean(axis=0) for s in set(states)}
    spread = np.median([np.linalg.norm(xy[states == s] - c, axis=1).mean()
                        for s, c in centres.items()])  # fmt: skip
    stromal = centres["stromal"]
    assert min(np.linalg.norm(stromal - c) for s, c in centres.items() if s != "stromal") > spread


def test_make_example_is_parameterised(tmp_path: Path):
    from scclast.datasets._make_example import make_example

    settings = {**EXAMPLE_SETTINGS, "n_cells": 240, "n_genes": 500, "seed": 3}
    written = anndata.read_h5ad(make_example(tmp_path / "ex.h5ad", settings, embedding={"seed": 1}))
    assert written.shape == (240, 500)
    assert ds.parameters_from_uns(written)["seed"] == 3
    assert written.uns["scclast"]["embedding"]["parameters"]["seed"] == 1


def test_bone_marrow_baccin2020_offline(no_sockets: None):
    adata = ds.bone_marrow_baccin2020()
    assert adata.shape == (180, 9891)
    assert adata.obs["celltype"].value_counts().to_dict() == {
        "Erythroblasts": 53,
        "LMPPs": 33,
        "Gran/Mono prog.": 29,
        "Ery/Mk prog.": 15,
        "pro-B": 14,
        "Mono prog.": 13,
        "Neutrophils": 13,
        "Neutro prog.": 10,
    }
    assert set(adata.obs["dataset"]) == {"bone_marrow_baccin2020"}
    assert set(adata.obs["sample"]) == {"tapseq_baccin_bm"}
    assert "Ctsk" not in adata.var_names and "Acp5" in adata.var_names
    assert int((adata[:, "Acp5"].X > 0).sum()) == 36
    assert adata.uns["scclast"]["dataset"]["status"] == "bundled"
    assert np.all(adata.X.data == np.round(adata.X.data))


def test_bundled_data_keep_licence_and_stay_small():
    data = Path(str(resources.files("scclast.datasets").joinpath("data")))
    licence = (data / "tapseq_baccin_bm" / "LICENSE").read_text()
    assert "Andreas R. Gschwind" in licence and "Permission is hereby granted" in licence
    total = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    assert total < 10 * 1024 * 1024
    assert example_path().exists()


def test_geo_fixtures_match_their_generator(tmp_path: Path):
    generator = runpy.run_path(str(TEST_DATA / "make_geo_fixtures.py"))
    generator["write"](tmp_path)
    committed = sorted(
        p.relative_to(TEST_DATA / "geo") for p in (TEST_DATA / "geo").rglob("*") if p.is_file()
    )
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == fresh
    for rel in committed:
        assert (TEST_DATA / "geo" / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel
