"""The steps of `scclast.pipeline`, one by one, on small data (fast, in-process)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from scclast import pipeline
from scclast._errors import ScclastInputError
from scclast._provenance import file_sha256
from tests.test_plotting import make_run


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A valid 200-cell h5ad with real gene symbols and a `cluster` column."""
    adata, _ = make_run()
    path = tmp_path_factory.mktemp("input") / "small.h5ad"
    bare = ad.AnnData(adata.X, obs=adata.obs[["cluster"]], var=adata.var)
    bare.write_h5ad(path)
    return path


@pytest.fixture
def run_data():
    return make_run()


def _damaged(small: Path, tmp_path: Path, how: str) -> Path:
    data = small.read_bytes()
    target = tmp_path / f"{how}.h5ad"
    if how == "truncated":
        target.write_bytes(data[: len(data) // 2])
    else:
        mangled = bytearray(data)
        mangled[100:4000] = bytes(range(256)) * 15 + bytes(range(60))
        target.write_bytes(bytes(mangled))
    return target


# --------------------------------------------------------------------------- load_input


@pytest.mark.parametrize("backed", [False, True])
def test_load_input_reads_h5ad(small, backed):
    adata = pipeline.load_input(small, backed=backed)
    assert adata.shape == (200, 41)
    assert adata.isbacked is backed
    if backed:
        adata.file.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, s: d / "missing.h5ad", "does not exist"),
        (lambda d, s: d, "is a folder"),
        (lambda d, s: _write(d / "empty.h5ad", b""), "is empty, so it is not an h5ad file"),
        (lambda d, s: _write(d / "table.h5ad", b"cell\tgene\n"), "is not an HDF5 file"),
        (lambda d, s: _damaged(s, d, "truncated"), "truncated or corrupt"),
        (lambda d, s: _damaged(s, d, "corrupt"), "truncated or corrupt"),
        (lambda d, s: _plain_hdf5(d / "plain.h5"), "not an AnnData h5ad"),
        (lambda d, s: _tiny(d / "tiny.h5ad"), "needs at least 20"),
    ],
    ids=["missing", "folder", "empty", "text", "truncated", "corrupt", "plain-hdf5", "tiny"],
)
def test_load_input_rejects_bad_files(tmp_path, small, make, message):
    path = make(tmp_path, small)
    with pytest.raises(ScclastInputError, match=message) as caught:
        pipeline.load_input(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value) or "cells" in str(caught.value)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _plain_hdf5(path: Path) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        handle["values"] = np.arange(5)
    return path


def _tiny(path: Path) -> Path:
    ad.AnnData(np.ones((10, 3), dtype=np.float32)).write_h5ad(path)
    return path


# --------------------------------------------------------------------------- checks


def test_check_groupby_lists_the_columns(run_data):
    adata, _ = run_data
    with pytest.raises(ScclastInputError) as caught:
        pipeline.check_groupby(adata, "celltype")
    assert "'celltype' is not a column" in str(caught.value)
    assert "cluster" in str(caught.value) and "scclast_lineage_state" in str(caught.value)
    pipeline.check_groupby(adata, "cluster")


def test_no_gene_present_names_species_and_identifiers():
    adata = ad.AnnData(np.ones((30, 3), dtype=np.float32))
    adata.var_names = ["Abc1", "Xyz2", "Foo3"]
    with pytest.raises(ScclastInputError) as caught:
        pipeline.check_gene_coverage(adata, ["clastokines_secreted"], "auto")
    text = str(caught.value)
    assert "no gene of the gene sets (clastokines_secreted)" in text
    assert "look mouse" in text and "Abc1, Xyz2, Foo3" in text


def test_check_outdir(tmp_path):
    fresh = pipeline.check_outdir(tmp_path / "a" / "b")
    assert fresh == tmp_path / "a" / "b" and fresh.parent.is_dir()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x.txt").write_text("mine")
    with pytest.raises(ScclastInputError, match="already exists: choose another -o, or pass"):
        pipeline.check_outdir(tmp_path / "taken")
    with pytest.raises(ScclastInputError, match="was not written by scclast run"):
        pipeline.check_outdir(tmp_path / "taken", force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ScclastInputError, match="is not a folder"):
        pipeline.check_outdir(tmp_path / "file")
    with pytest.raises(ScclastInputError, match="cannot create the folder"):
        pipeline.check_outdir(tmp_path / "file" / "out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_outdir_without_permission(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ScclastInputError, match="no write permission"):
        pipeline.check_outdir(locked / "out")


# --------------------------------------------------------------------------- embedding


def test_prepare_computes_a_seeded_umap_and_keeps_a_given_one(small):
    first = pipeline.load_input(small)
    pipeline.prepare(first, groupby="cluster", seed=3)
    second = pipeline.load_input(small, backed=True)
    pipeline.prepare(second, groupby="cluster", seed=3)
    second.file.close()
    assert first.obsm["X_umap"].shape == (200, 2)
    np.testing.assert_allclose(first.obsm["X_umap"], second.obsm["X_umap"], rtol=1e-5)
    assert first.uns["scclast"]["embedding"]["computed"] is True
    given = np.arange(400, dtype=float).reshape(200, 2)
    first.obsm["X_umap"] = given
    pipeline.prepare(first, seed=3)
    np.testing.assert_array_equal(first.obsm["X_umap"], given)
    assert first.uns["scclast"]["embedding"]["computed"] is False


def test_variable_genes_skips_unexpressed_genes():
    mean = np.array([0.0, 1.0, 1.0, 2.0, 0.5])
    var = np.array([0.0, 3.0, 1.0, 4.0, 0.1])
    assert pipeline.variable_genes(mean, var, 10).tolist() == [1, 2, 3, 4]
    assert pipeline.variable_genes(mean, var, 2, n_bins=1).tolist() == [1, 3]


# --------------------------------------------------------------------------- outputs


def test_write_outputs_writes_every_file(run_data, tmp_path):
    adata, table = run_data
    adata.uns["scclast"]["flag"]["note"] = None  # h5ad cannot store None: converted
    out = pipeline.write_outputs(
        adata,
        table,
        tmp_path / "out",
        input_fingerprint={"path": "x.h5ad", "shape": [200, 41], "sha256": "0" * 64},
        parameters={"groupby": "cluster", "fdr": 0.05},
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*pipeline.OUTPUT_FILES, "figures"])
    assert len(list((out / "figures").glob("*.png"))) == 4
    assert len(list((out / "figures").glob("*.pdf"))) == 4
    groups = pd.read_csv(out / "groups.tsv", sep="\t")
    assert list(groups.columns) == list(table.columns)
    scores = pd.read_csv(out / "scores.tsv.gz", sep="\t", index_col="cell")
    assert "scclast_clastokines_secreted_z" in scores.columns and len(scores) == 200
    annotated = ad.read_h5ad(out / "annotated.h5ad")
    assert annotated.uns["scclast"]["flag"]["note"] == "None"
    assert adata.uns["scclast"]["flag"]["note"] is None  # the caller's object is untouched
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["flagged_groups"] == ["oc_secretory"]
    assert not list(tmp_path.glob(".out.*"))


def test_scores_file_is_reproducible(run_data, tmp_path):
    adata, _ = run_data
    first = pipeline.write_scores(adata, tmp_path / "a.tsv.gz").read_bytes()
    second = pipeline.write_scores(adata, tmp_path / "b.tsv.gz").read_bytes()
    assert first == second
    assert gzip.decompress(first).startswith(b"cell\t")


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_nothing(run_data, tmp_path, monkeypatch, error):
    adata, table = run_data

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline, "write_annotated", fail)
    with pytest.raises(type(error)):
        pipeline.write_outputs(adata, table, tmp_path / "out", input_fingerprint={}, parameters={})
    assert list(tmp_path.iterdir()) == []


def test_force_replaces_a_previous_run_only(run_data, tmp_path):
    adata, table = run_data
    kwargs = {"input_fingerprint": {}, "parameters": {}}
    out = pipeline.write_outputs(adata, table, tmp_path / "out", **kwargs)
    (out / "old-marker.txt").write_text("from the first run")
    with pytest.raises(ScclastInputError, match="already exists"):
        pipeline.write_outputs(adata, table, out, **kwargs)
    assert (out / "old-marker.txt").exists()
    pipeline.write_outputs(adata, table, out, force=True, **kwargs)
    assert not (out / "old-marker.txt").exists() and (out / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_forced_run_keeps_the_previous_outdir(run_data, tmp_path, monkeypatch):
    adata, table = run_data
    kwargs = {"input_fingerprint": {}, "parameters": {}}
    out = pipeline.write_outputs(adata, table, tmp_path / "out", **kwargs)
    before = (out / "run.json").read_bytes()
    monkeypatch.setattr(pipeline, "render", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        pipeline.write_outputs(adata, table, out, force=True, **kwargs)
    assert (out / "run.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_h5ad_safe_and_write_table(tmp_path):
    value = {"a": None, "b": [1, "x"], "c": [{"k": 1}], "d": (1, 2), "e": {"f": None}}
    assert pipeline.h5ad_safe(value) == {
        "a": "None",
        "b": ["1", "x"],
        "c": '[{"k": 1}]',
        "d": [1, 2],
        "e": {"f": "None"},
    }
    frame = pd.DataFrame({"group": ["a"], "drivers": [["Slit3", "Lif"]], "flagged": [True]})
    text = pipeline.write_table(frame, tmp_path / "t.tsv").read_text()
    assert text == "group\tdrivers\tflagged\na\tSlit3;Lif\tTrue\n"


def test_run_needs_exactly_one_source(tmp_path):
    with pytest.raises(ScclastInputError, match="exactly one of"):
        pipeline.run(None, tmp_path / "out")
    with pytest.raises(ScclastInputError, match="INPUT and --example"):
        pipeline.run("x.h5ad", tmp_path / "out", example=True)


def test_unknown_gene_set_fails_before_reading(tmp_path, small):
    with pytest.raises(ScclastInputError, match="unknown gene set 'nope'"):
        pipeline.run(small, tmp_path / "out", gene_sets=["nope"])
    with pytest.raises(ScclastInputError, match="file not found"):
        pipeline.run(small, tmp_path / "out", osteomorph_signature=tmp_path / "missing.txt")


def test_fingerprint(small):
    adata = pipeline.load_input(small)
    record = pipeline.fingerprint(small, adata)
    assert record["sha256"] == file_sha256(small)
    assert record["shape"] == [200, 41] and record["path"] == str(small.resolve())


def test_sparse_gather_matches_dense(run_data):
    from scclast._matrix import expression_view

    adata, _ = run_data
    view = expression_view(adata)
    gathered = pipeline._gather_columns(view, np.array([0, 5, 7]))
    x = adata.X.toarray()
    norm = np.log1p(x / x.sum(axis=1, keepdims=True) * 1e4)[:, [0, 5, 7]]
    assert sp.issparse(gathered)
    np.testing.assert_allclose(gathered.toarray(), norm, rtol=1e-6)


def test_bundled_dataset_fingerprint():
    adata, record = pipeline.load_dataset("bone_marrow_baccin2020")
    assert record["dataset"] == "bone_marrow_baccin2020"
    assert record["shape"] == [180, 9891] == list(adata.shape)
    assert len(record["sha256"]) == 64
    assert record["sha256"] == pipeline.folder_sha256(record["path"])


def test_run_without_groupby_uses_the_leiden_clusters_flagging_built(tmp_path):
    import anndata as ad

    from scclast.datasets import simulate_osteoclastogenesis

    adata = simulate_osteoclastogenesis(n_cells=800, n_genes=1200, seed=2)
    del adata.obs["cluster"]
    path = tmp_path / "no_groups.h5ad"
    adata.write_h5ad(path)
    result = pipeline.run(path, tmp_path / "out", seed=0)
    annotated = ad.read_h5ad(result.outdir / "annotated.h5ad")
    assert "scclast_leiden" in annotated.obs
    assert set(result.table["group"].astype(str)) == set(
        annotated.obs["scclast_leiden"].astype(str)
    )
    assert pipeline.recorded_groupby(annotated) == "scclast_leiden"
    assert (result.outdir / "figures" / "embedding.png").is_file()
