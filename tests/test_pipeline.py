"""The steps of :mod:`scclast._pipeline`, one by one, on small data (fast, in-process)."""

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
from matplotlib.figure import Figure

import scclast
from scclast import _pipeline as pipeline
from scclast import get
from scclast._errors import ScclastInputError
from scclast._pipeline import _outputs, _run
from scclast._provenance import file_sha256
from scclast.pl._base import save_figure
from tests._flagged import FLAGGED, N_CELLS, flagged_adata

N_GENES = 41
FINGERPRINT = {"path": "x.h5ad", "shape": [N_CELLS, N_GENES], "sha256": "0" * 64}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A valid 200-cell h5ad with real gene symbols and a `cluster` column."""
    adata = flagged_adata()
    path = tmp_path_factory.mktemp("input") / "small.h5ad"
    ad.AnnData(adata.X, obs=adata.obs[["cluster"]], var=adata.var).write_h5ad(path)
    return path


@pytest.fixture
def flagged() -> ad.AnnData:
    return flagged_adata()


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


@pytest.mark.parametrize("backed", [False, True])
def test_load_input_reads_h5ad(small, backed):
    adata = pipeline.load_input(small, backed=backed)
    assert adata.shape == (N_CELLS, N_GENES)
    assert adata.isbacked is backed
    pipeline.close(adata)


GIVE_H5AD = "give an AnnData .h5ad (convert other formats with anndata or scanpy first)"
REWRITE = "copy it again or rewrite it with anndata's write_h5ad (OSError: "

BAD_FILES = {
    "missing": (lambda d, s: d / "missing.h5ad",
                "input file {path} does not exist: check the path"),
    "folder": (lambda d, s: d, "input {path} is a folder: give an .h5ad file"),
    "empty": (lambda d, s: _write(d / "empty.h5ad", b""),
              "input file {path} is empty, so it is not an h5ad file: " + GIVE_H5AD),
    "text": (lambda d, s: _write(d / "table.h5ad", b"cell\tgene\n"),
             "input file {path} is not an HDF5 file, so it is not an h5ad file: " + GIVE_H5AD),
    "truncated": (lambda d, s: _damaged(s, d, "truncated"),
                  "{path} cannot be read as an h5ad file (truncated or corrupt): " + REWRITE),
    "corrupt": (lambda d, s: _damaged(s, d, "corrupt"),
                "{path} cannot be read as an h5ad file (truncated or corrupt): " + REWRITE),
    "plain-hdf5": (lambda d, s: _plain_hdf5(d / "plain.h5"),
                   "{path} is an HDF5 file but not an AnnData h5ad (no obs or var group): "
                   "write it with anndata's write_h5ad"),
    "tiny": (lambda d, s: _tiny(d / "tiny.h5ad"),
             "{path} has 10 cells; scclast run needs at least 20 (two groups of at least 10 "
             "cells)"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_load_input_rejects_bad_files_with_one_exact_line(tmp_path, small, case):
    make, expected = BAD_FILES[case]
    path = make(tmp_path, small)
    with pytest.raises(ScclastInputError) as caught:
        pipeline.load_input(path)
    message = str(caught.value)
    expected = expected.format(path=path)
    if expected.endswith("(OSError: "):  # then h5py's own words, which vary by version
        assert message.startswith(expected) and message.endswith(")"), message
    else:
        assert message == expected
    assert "\n" not in message


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


def test_check_groupby_lists_the_columns(flagged):
    with pytest.raises(ScclastInputError) as caught:
        pipeline.check_groupby(flagged, "celltype")
    assert str(caught.value) == (
        "--groupby 'celltype' is not a column of the input's obs; columns: cluster, "
        "scclast_clastokines_secreted, scclast_clastokines_secreted_z, "
        "scclast_clastokines_putative, scclast_clastokines_putative_z, "
        "scclast_lineage_state, scclast_flagged"
    )
    flagged.obs["empty"] = pd.Series(np.nan, index=flagged.obs_names, dtype=object)
    with pytest.raises(ScclastInputError) as caught:
        pipeline.check_groupby(flagged, "empty")
    assert str(caught.value) == (
        "--groupby 'empty': the column has no labels (all NA): choose a column with cluster "
        "or cell-type labels, or leave --groupby out to build clusters"
    )
    pipeline.check_groupby(flagged, "cluster")


def test_no_gene_present_names_species_and_identifiers():
    adata = ad.AnnData(np.ones((30, 3), dtype=np.float32))
    adata.var_names = ["Abc1", "Xyz2", "Foo3"]
    with pytest.raises(ScclastInputError) as caught:
        pipeline.check_gene_coverage(adata, ["clastokines_secreted"], "auto")
    n_symbols = len(scclast.genesets.get("clastokines_secreted", species="mouse"))
    assert str(caught.value) == (
        f"no gene of the gene sets (clastokines_secreted) is in the data: none of their "
        f"{n_symbols} mouse symbols matches the 3 identifiers in var_names (e.g. Abc1, Xyz2, "
        "Foo3); the symbols look mouse. Use gene symbols (a var column of symbols is found "
        "automatically for Ensembl IDs) and --species mouse|human"
    )


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


@pytest.fixture
def read_only(tmp_path: Path) -> Path:
    """A folder nobody may write: a 0500 folder, or (root writes those) /sys."""
    if os.geteuid() == 0:
        return Path("/sys")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked


def test_check_outdir_without_permission(read_only):
    with pytest.raises(ScclastInputError, match=r"cannot be written: .* refuses new files"):
        pipeline.check_outdir(read_only / "scclast_out")


def test_prepare_computes_a_seeded_umap_and_keeps_a_given_one(small):
    first = pipeline.load_input(small)
    pipeline.prepare(first, groupby="cluster", seed=3)
    second = pipeline.load_input(small, backed=True)
    pipeline.prepare(second, groupby="cluster", seed=3)
    pipeline.close(second)
    assert first.obsm["X_umap"].shape == (N_CELLS, 2)
    np.testing.assert_allclose(first.obsm["X_umap"], second.obsm["X_umap"], rtol=1e-5)
    assert first.uns["scclast"]["embedding"]["computed"] is True
    given = np.arange(2 * N_CELLS, dtype=float).reshape(N_CELLS, 2)
    first.obsm["X_umap"] = given
    pipeline.prepare(first, seed=3)
    np.testing.assert_array_equal(first.obsm["X_umap"], given)
    assert first.uns["scclast"]["embedding"]["computed"] is False


def test_variable_genes_skips_unexpressed_genes():
    from scclast.tl._embedding import variable_genes

    mean = np.array([0.0, 1.0, 1.0, 2.0, 0.5])
    var = np.array([0.0, 3.0, 1.0, 4.0, 0.1])
    assert variable_genes(mean, var, 10).tolist() == [1, 2, 3, 4]
    assert variable_genes(mean, var, 2, n_bins=1).tolist() == [1, 3]


def test_sparse_gather_matches_dense(flagged):
    from scclast._matrix import expression_view
    from scclast.tl._embedding import _gather_columns

    gathered = _gather_columns(expression_view(flagged), np.array([0, 5, 7]))
    x = flagged.X.toarray()
    norm = np.log1p(x / x.sum(axis=1, keepdims=True) * 1e4)[:, [0, 5, 7]]
    assert sp.issparse(gathered)
    np.testing.assert_allclose(gathered.toarray(), norm, rtol=1e-6)


def _outputs_of(adata, out, **kwargs):
    kwargs = {"input_fingerprint": FINGERPRINT, "parameters": {"fdr": 0.05}, **kwargs}
    return pipeline.write_outputs(adata, None, out, **kwargs)


def test_write_outputs_writes_every_file(flagged, tmp_path):
    flagged.uns["scclast"]["flag"]["note"] = None  # h5ad cannot store None: converted
    out = _outputs_of(flagged, tmp_path / "out")
    names = sorted(p.name for p in out.iterdir())
    # every run writes these; sections that do not apply to the data write nothing
    core = {"groups.tsv", "scores.tsv.gz", "annotated.h5ad", "report.html", "run.json"}
    assert core | {"figures"} <= set(names) <= {*pipeline.OUTPUT_FILES, "figures"}
    assert {
        f"{name}.{kind}"
        for name in ("dotplot", "embedding", "factor_heatmap", "effect_sizes")
        for kind in ("png", "pdf")
    } <= {p.name for p in (out / "figures").iterdir()}
    groups = pd.read_csv(out / "groups.tsv", sep="\t")
    pd.testing.assert_frame_equal(groups, get.flag_table(flagged), check_dtype=False)
    scores = pd.read_csv(out / "scores.tsv.gz", sep="\t", index_col="cell")
    assert list(scores.columns) == list(get.scores(flagged).columns)
    assert len(scores) == N_CELLS
    annotated = ad.read_h5ad(out / "annotated.h5ad")
    assert annotated.uns["scclast"]["flag"]["note"] == "None"
    assert flagged.uns["scclast"]["flag"]["note"] is None  # the caller's object is untouched
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["flagged_groups"] == [FLAGGED]
    assert sorted(manifest["outputs"]) == sorted([*(n for n in names if n != "figures"),
                                                  "figures/"])  # fmt: skip
    assert not list(tmp_path.glob(".out.*"))


def test_a_custom_key_added_keeps_the_score_panel_and_the_score_columns(tmp_path, monkeypatch):
    """Analysed under "scclast" and again under "custom": outputs of "custom" are its own.

    Before the keys module, a custom prefix silently dropped the score panel and the
    scores.tsv.gz columns (both looked for "scclast_" by hand).
    """
    adata = scclast.datasets.simulate_osteoclastogenesis(n_cells=500, n_genes=700, seed=3)
    scclast.tl.flag(adata, "cluster", enrichment=False, gene_sets=["clastokines_putative"])
    scclast.tl.flag(adata, "cluster", enrichment=False, key_added="custom")
    adata.obsm["X_umap"] = np.random.default_rng(0).normal(size=(adata.n_obs, 2))
    out = _outputs_of(adata, tmp_path / "out", key_added="custom")
    scores = pd.read_csv(out / "scores.tsv.gz", sep="\t", index_col="cell")
    assert list(scores.columns) == list(get.scores(adata, "custom").columns)
    assert {"custom_clastokines_secreted_z", "custom_clastokines_putative_z"} <= set(scores)
    assert not [c for c in scores.columns if c.startswith("scclast_")]
    groups = pd.read_csv(out / "groups.tsv", sep="\t", dtype={"group": str})
    assert list(dict.fromkeys(groups["gene_set"])) == ["clastokines_secreted",
                                                       "clastokines_putative"]  # fmt: skip
    drawn = {}

    def keep(fig, folder, name, **kwargs):
        drawn[name] = fig
        return save_figure(fig, folder, name, **kwargs)

    monkeypatch.setattr(_outputs, "save_figure", keep)
    for key, score_set in (("custom", "clastokines_secreted"), ("scclast", "clastokines_putative")):
        pipeline.render(
            adata, None, tmp_path / key, input_fingerprint={}, parameters={}, key_added=key
        )
        titles = [ax.get_title() for ax in drawn["embedding"].axes]
        assert titles[:2] == ["groups (flagged groups outlined)", f"calibrated score: {score_set}"]
        sets = [t.get_text() for t in drawn["effect_sizes"].axes[0].get_xticklabels()]
        assert sets == list(dict.fromkeys(get.flag_table(adata, key)["gene_set"]))
    annotated = ad.read_h5ad(out / "annotated.h5ad")
    assert get.flag_table(annotated, "custom").shape == get.flag_table(adata, "custom").shape


def test_scores_file_is_reproducible(flagged, tmp_path):
    first = pipeline.write_scores(flagged, tmp_path / "a.tsv.gz").read_bytes()
    second = pipeline.write_scores(flagged, tmp_path / "b.tsv.gz").read_bytes()
    assert first == second
    assert gzip.decompress(first).startswith(b"cell\tscclast_clastokines_secreted\t")


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_nothing(flagged, tmp_path, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(_outputs, "write_annotated", fail)
    with pytest.raises(type(error)):
        _outputs_of(flagged, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_force_replaces_a_previous_run_only(flagged, tmp_path):
    out = _outputs_of(flagged, tmp_path / "out")
    (out / "old-marker.txt").write_text("from the first run")
    with pytest.raises(ScclastInputError, match="already exists"):
        _outputs_of(flagged, out)
    assert (out / "old-marker.txt").exists()
    _outputs_of(flagged, out, force=True)
    assert not (out / "old-marker.txt").exists() and (out / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_forced_run_keeps_the_previous_outdir(flagged, tmp_path, monkeypatch):
    out = _outputs_of(flagged, tmp_path / "out")
    before = (out / "run.json").read_bytes()
    monkeypatch.setattr(_outputs, "write_report", lambda *a, **k: (_ for _ in ()).throw(OSError))
    with pytest.raises(OSError):
        _outputs_of(flagged, out, force=True)
    assert (out / "run.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _extra_section(skip: str | None) -> pipeline.Section:
    """A stand-in for a later analysis: one table, one figure, one report block."""

    def draw(results):
        fig = Figure(figsize=(2, 2))
        fig.add_subplot().plot([0, 1])
        return fig

    return pipeline.Section(
        name="coupling",
        title="Coupling map",
        files=("communication.tsv",),
        tables=lambda r: {"communication.tsv": r.table[["group", "flagged"]]},
        figures=(pipeline.FigureSpec("coupling_map", "Coupling map", "Pairs.", draw),),
        report=lambda r, figs: '<section id="coupling">' + "".join(figs.values()) + "</section>",
        skip_reason=lambda r: skip,
    )


def test_a_new_section_adds_its_table_figure_and_block_and_nothing_else(flagged, tmp_path):
    sections = (*pipeline.SECTIONS, _extra_section(None))
    out = _outputs_of(flagged, tmp_path / "out", sections=sections)
    pairs = pd.read_csv(out / "communication.tsv", sep="\t")
    assert list(pairs.columns) == ["group", "flagged"] and len(pairs) == 8
    assert (out / "figures" / "coupling_map.pdf").is_file()
    assert 'id="img-coupling_map"' in (out / "report.html").read_text()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["outputs"] == [
        "groups.tsv", "scores.tsv.gz", "communication.tsv",
        "annotated.h5ad", "report.html", "run.json", "figures/",
    ]  # fmt: skip


def test_a_section_that_does_not_apply_writes_nothing(flagged, tmp_path, caplog):
    reason = "no osteoblast-lineage group in the data"
    sections = (*pipeline.SECTIONS, _extra_section(reason))
    with caplog.at_level("INFO", logger="scclast"):
        out = _outputs_of(flagged, tmp_path / "out", sections=sections)
    assert not (out / "communication.tsv").exists()
    assert not (out / "figures" / "coupling_map.png").exists()
    assert f"Not part of this run: {reason}" in (out / "report.html").read_text()
    assert "communication.tsv" not in json.loads((out / "run.json").read_text())["outputs"]
    assert f"coupling: skipped: {reason}" in caplog.text


def test_a_section_must_make_the_tables_it_declares(flagged, tmp_path):
    broken = pipeline.Section(
        name="broken", title="Broken", files=("a.tsv",),
        tables=lambda r: {"b.tsv": r.table}, report=lambda r, f: "",
    )  # fmt: skip
    results = pipeline.Results(flagged, get.flag_table(flagged))
    with pytest.raises(RuntimeError) as caught:
        pipeline.write_tables(results, tmp_path, sections=(broken,))
    assert str(caught.value) == "section 'broken' made tables ['b.tsv'] but declares ['a.tsv']"


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
    with pytest.raises(ScclastInputError) as caught:
        pipeline.run(None, tmp_path / "out")
    assert str(caught.value) == (
        "give exactly one of INPUT.h5ad, --dataset KEY or --example (got nothing)"
    )
    with pytest.raises(ScclastInputError) as caught:
        pipeline.run("x.h5ad", tmp_path / "out", example=True)
    assert str(caught.value) == (
        "give exactly one of INPUT.h5ad, --dataset KEY or --example (got INPUT and --example)"
    )


def test_unknown_gene_set_fails_before_reading(tmp_path, small, monkeypatch):
    monkeypatch.setattr(_run, "load_input", lambda *a, **k: pytest.fail("input was read"))
    with pytest.raises(ScclastInputError) as caught:
        pipeline.run(small, tmp_path / "out", gene_sets=["nope"])
    assert str(caught.value).startswith(
        "unknown gene set 'nope'; available: clastokines_secreted, clastokines_putative, "
    )
    with pytest.raises(ScclastInputError) as caught:
        pipeline.run(small, tmp_path / "out", osteomorph_signature=tmp_path / "missing.txt")
    assert str(caught.value) == f"{tmp_path / 'missing.txt'}: file not found"


def test_fingerprint(small):
    adata = pipeline.load_input(small)
    record = pipeline.fingerprint(small, adata)
    assert record["sha256"] == file_sha256(small)
    assert record["shape"] == [N_CELLS, N_GENES] and record["path"] == str(small.resolve())


def test_bundled_dataset_fingerprint():
    adata, record = pipeline.load_dataset("bone_marrow_baccin2020")
    assert record["dataset"] == "bone_marrow_baccin2020"
    assert record["shape"] == [180, 9891] == list(adata.shape)
    assert len(record["sha256"]) == 64
    assert record["sha256"] == pipeline.folder_sha256(record["path"])


def test_run_without_groupby_uses_the_leiden_clusters_flagging_built(tmp_path):
    adata = scclast.datasets.simulate_osteoclastogenesis(n_cells=800, n_genes=1200, seed=2)
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
    manifest = json.loads((result.outdir / "run.json").read_text())
    assert manifest["parameters"]["groupby"] == "scclast_leiden"
    assert (result.outdir / "figures" / "embedding.png").is_file()


def test_annotated_h5ad_of_backed_data_copies_the_matrix_and_rewrites_annotations(small, tmp_path):
    from scclast._pipeline._writers import write_annotated

    backed = pipeline.load_input(small, backed=True)
    try:
        scclast.tl.flag(backed, "cluster", enrichment=False)
        backed.obsm["X_umap"] = np.zeros((backed.n_obs, 2), dtype=np.float32)
        write_annotated(backed, tmp_path / "annotated.h5ad")
    finally:
        pipeline.close(backed)
    written = ad.read_h5ad(tmp_path / "annotated.h5ad")
    source = ad.read_h5ad(small)
    assert (written.X != source.X).nnz == 0  # the input's matrix, byte for byte
    assert {"scclast_flagged", "scclast_lineage_state"} <= set(written.obs)
    assert written.obsm["X_umap"].shape == (source.n_obs, 2)
    assert "flag" in written.uns["scclast"]


def test_per_cell_table_is_written_fast_and_reproducibly(tmp_path):
    from scclast._pipeline._writers import write_tsv_gz

    frame = pd.DataFrame({"cell": ["a", "b"], "score": [1 / 3, 2.0]})
    first = write_tsv_gz(frame, tmp_path / "a.tsv.gz").read_bytes()
    assert first == write_tsv_gz(frame, tmp_path / "b.tsv.gz").read_bytes()
    assert first[:2] == b"\x1f\x8b" and first[8] == 4  # gzip XFL: the fastest level
    back = pd.read_csv(tmp_path / "a.tsv.gz", sep="\t")
    assert back["score"].tolist() == [0.3333333333, 2.0]
