"""What an adversarial pass over the command line found (issue 11, appendix): each case
is a user-fixable problem that must be one line and exit 2, a silent acceptance that
must warn or refuse, or a message that must add up.
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from scclast import cli
from scclast._provenance import file_sha256
from scclast.testing import FixtureServer
from tests._paths import TEST_DATA


@pytest.fixture
def read_only(tmp_path: Path) -> Path:
    """A folder nobody may write: a 0500 folder, or (root writes those) /sys."""
    if os.geteuid() == 0:
        return Path("/sys")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> Path:
    """600 simulated cells with clusters and a stored embedding (no UMAP to compute)."""
    from scclast.datasets import simulate_osteoclastogenesis

    adata = simulate_osteoclastogenesis(n_cells=600, n_genes=800, seed=1)
    adata.obsm["X_umap"] = np.random.default_rng(0).normal(size=(adata.n_obs, 2))
    path = tmp_path_factory.mktemp("cells") / "cells.h5ad"
    adata.write_h5ad(path)
    return path


def _main(capsys, *argv: object) -> tuple[int, list[str]]:
    status = cli.main([str(a) for a in argv])
    return status, capsys.readouterr().err.strip().splitlines()


def _one_error(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith("scclast: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    return errors[0]


# --------------------------------------------------------------------------- 2. --force


def test_force_never_replaces_an_outdir_holding_the_input(cells, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}")  # looks like an earlier scclast run
    inside = out / "cells.h5ad"
    inside.write_bytes(cells.read_bytes())
    before = file_sha256(inside)
    status, lines = _main(capsys, "run", inside, "-o", out, "--groupby", "cluster", "--force")
    assert status == 2
    assert "holds the input" in _one_error(lines)
    assert inside.exists() and file_sha256(inside) == before


# --------------------------------------------------------------------------- 3. scanpy files


@pytest.fixture(scope="module")
def pbmc(tmp_path_factory) -> Path:
    """scanpy's processed pbmc68k_reduced (shipped with scanpy): X scaled, log data in .raw."""
    import scanpy as sc

    path = tmp_path_factory.mktemp("pbmc") / "pbmc68k_reduced.h5ad"
    sc.datasets.pbmc68k_reduced().write_h5ad(path)
    return path


def test_run_takes_a_scanpy_file_with_use_raw(pbmc, tmp_path, capsys):
    status, lines = _main(capsys, "run", pbmc, "-o", tmp_path / "a", "--groupby", "louvain")
    assert status == 2
    error = _one_error(lines)
    assert "X holds scaled values" in error and "--use-raw" in error
    assert "use_raw=True" not in error  # names the option of this command
    gmt = tmp_path / "mono.gmt"
    gmt.write_text("monocyte\tmine\tLYZ\tS100A8\tS100A9\tCST3\tFCN1\n")
    argv = ("run", pbmc, "-o", tmp_path / "b", "--groupby", "louvain", "--use-raw")
    status, lines = _main(capsys, *argv, "--gene-sets", gmt)
    assert status == 0, lines
    run = pd.read_json(tmp_path / "b" / "run.json", typ="series")
    assert run["parameters"]["use_raw"] is True
    status, lines = _main(capsys, "run", pbmc, "-o", tmp_path / "c", "--layer", "nope")
    assert status == 2 and "nope" in _one_error(lines)


# --------------------------------------------------------------------------- 4. exit 2


def test_score_refuses_a_read_only_output_before_the_work(cells, read_only, capsys):
    status, lines = _main(capsys, "score", cells, "-o", read_only / "scored.h5ad")
    assert status == 2
    assert "cannot be written" in _one_error(lines)
    assert not any("scored" in line for line in lines[:-1])  # no work was done


def test_score_output_folder_and_non_anndata_input_are_user_errors(cells, tmp_path, capsys):
    folder = tmp_path / "taken.h5ad"
    folder.mkdir()
    status, lines = _main(capsys, "score", cells, "-o", folder, "--force")
    assert status == 2 and "is a folder" in _one_error(lines)
    plain = tmp_path / "plain.h5ad"
    with h5py.File(plain, "w") as handle:
        handle["matrix"] = np.ones((3, 3))
    status, lines = _main(capsys, "score", plain, "-o", tmp_path / "o.h5ad")
    assert status == 2 and "not an AnnData h5ad" in _one_error(lines)
    status, lines = _main(capsys, "score", tmp_path, "-o", tmp_path / "o.h5ad")
    assert status == 2 and "is a folder" in _one_error(lines)


def test_score_accepts_upper_case_suffix(cells, tmp_path, capsys):
    upper = tmp_path / "CELLS.H5AD"
    upper.write_bytes(cells.read_bytes())
    status, lines = _main(capsys, "score", upper, "-o", tmp_path / "OUT.H5AD", "--method", "mean")
    assert status == 0, lines
    assert "scclast_clastokines_secreted" in ad.read_h5ad(tmp_path / "OUT.H5AD").obs


@pytest.mark.parametrize("line", ["\tdesc\tAcp5\tCtsk\n", "a\td\tAcp5\nb\td\tCtsk\na\td\tLif\n"])
def test_gmt_without_a_name_or_with_a_repeated_name_is_refused(cells, tmp_path, capsys, line):
    gmt = tmp_path / "sets.gmt"
    gmt.write_text(line)
    status, lines = _main(capsys, "run", cells, "-o", tmp_path / "o", "--gene-sets", gmt)
    assert status == 2
    error = _one_error(lines)
    assert ("empty set name" in error) or ("defined twice (lines 1 and 3)" in error)
    assert not (tmp_path / "o").exists()


def test_datasets_fetch_into_a_read_only_cache(read_only, monkeypatch, capsys):
    with FixtureServer(TEST_DATA / "geo") as server:
        monkeypatch.setenv("SCCLAST_GEO_BASE_URL", server.url)
        monkeypatch.setenv("SCCLAST_REGISTRY", str(TEST_DATA / "test_registry.yaml"))
        monkeypatch.setenv("SCCLAST_DATA_DIR", str(read_only / "scclast_cache"))
        status, lines = _main(capsys, "datasets", "fetch", "fx_count_table")
    assert status == 2
    assert "SCCLAST_DATA_DIR" in _one_error(lines)
    assert sum(server.requests.values()) == 0


def test_genesets_export_to_a_folder_or_a_read_only_place(tmp_path, read_only, capsys):
    status, lines = _main(capsys, "genesets", "export", "-o", tmp_path)
    assert status == 2 and "is a folder" in _one_error(lines)
    status, lines = _main(capsys, "genesets", "export", "-o", read_only / "sets.gmt")
    assert status == 2 and "cannot write" in _one_error(lines)


def test_workflow_run_without_snakemake_names_the_extra(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "snakemake" else real(name)
    )
    config = tmp_path / "config.yaml"
    config.write_text("datasets: [example]\n")
    status, lines = _main(capsys, "workflow", "run", "--configfile", config)
    assert status == 2 and "scclast[workflow]" in _one_error(lines)


# --------------------------------------------------------------------------- 5. silent


@pytest.fixture(scope="module")
def gappy_run(cells, tmp_path_factory) -> tuple[Path, list[str]]:
    """One full run for the findings that need one: 180 of 600 cells without a label,
    no stored embedding with --no-embedding, under umask 022 (a subprocess, as users run
    it); returns OUTDIR and the stderr lines."""
    folder = tmp_path_factory.mktemp("gappy")
    adata = ad.read_h5ad(cells)
    del adata.obsm["X_umap"]
    labels = adata.obs["cluster"].astype(object).to_numpy()
    labels[np.random.default_rng(0).choice(adata.n_obs, 180, replace=False)] = np.nan
    adata.obs["cluster"] = pd.Categorical(labels)
    adata.write_h5ad(folder / "gaps.h5ad")
    command = [sys.executable, "-m", "scclast", "run", str(folder / "gaps.h5ad"), "-o",
               str(folder / "out"), "--groupby", "cluster", "--no-embedding"]  # fmt: skip
    previous = os.umask(0o022)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    finally:
        os.umask(previous)
    assert done.returncode == 0, done.stderr
    return folder / "out", done.stderr.strip().splitlines()


def test_missing_group_labels_are_said_once(gappy_run):
    _, lines = gappy_run
    said = [line for line in lines if "no label for 180 of 600 cells" in line]
    assert len(said) == 1 and said[0].startswith("scclast: warning: ")


def test_outdir_is_readable_like_any_file_the_user_writes(gappy_run):
    out, _ = gappy_run
    assert stat.S_IMODE(out.stat().st_mode) == 0o755


def test_run_log_adds_up(gappy_run):
    _, lines = gappy_run
    summary = next(
        line for line in lines if line.startswith("scclast: scored ") and ":" in line[16:]
    )
    total = int(summary.split()[2])
    parts = summary.split(": ", 2)[2].split("; not scored")[0].split("; ")
    assert total == sum(int(part.split()[0]) for part in parts)
    rows = r"flagged \d+ of (\d+) group x [a-z -]*rows \((\d+) groups x (\d+) flagging sets\)"
    counts = next(m for m in map(re.compile(rows).search, lines) if m).groups()
    n_rows, n_groups, n_sets = map(int, counts)
    assert n_rows == n_groups * n_sets and n_sets == 2 == int(parts[0].split()[0])
    warnings = [line for line in lines if line.startswith("scclast: warning: ")]
    assert len(warnings) == len(set(warnings))  # each once


def test_score_warnings_are_one_line_once(cells, tmp_path, capsys):
    adata = ad.read_h5ad(cells)
    adata.var_names = [*adata.var_names[:-1], adata.var_names[0]]  # a duplicated symbol
    path = tmp_path / "dup.h5ad"
    adata.write_h5ad(path)
    status, lines = _main(capsys, "score", path, "-o", tmp_path / "s.h5ad", "--method", "mean")
    assert status == 0
    said = [line for line in lines if "duplicated gene symbol" in line]
    assert len(said) == 1 and said[0].startswith("scclast: warning: ")
    assert not any(".py:" in line for line in lines)


def test_no_embedding_skips_the_umap_and_the_figure_says_so(gappy_run):
    out, lines = gappy_run
    assert not any("computing a UMAP" in line for line in lines)
    assert any("figure embedding skipped" in line for line in lines)
    annotated = ad.read_h5ad(out / "annotated.h5ad")
    assert "X_umap" not in annotated.obsm
    assert annotated.uns["scclast"]["embedding"]["skipped"]
    report = (out / "report.html").read_text()
    assert "not drawn: no embedding" in report
    assert (out / "figures" / "embedding.png").exists()


def test_a_continuous_column_is_not_a_grouping(cells, tmp_path, capsys):
    adata = ad.read_h5ad(cells)
    adata.obs["pseudotime"] = np.random.default_rng(0).random(adata.n_obs)
    path = tmp_path / "pt.h5ad"
    adata.write_h5ad(path)
    status, lines = _main(capsys, "run", path, "-o", tmp_path / "o", "--groupby", "pseudotime")
    assert status == 2 and "holds continuous numbers (600 distinct values" in _one_error(lines)
    assert not any("scoring" in line for line in lines)  # refused before the work


def test_an_all_zero_matrix_is_refused(tmp_path, capsys):
    adata = ad.AnnData(sp.csr_matrix((60, 40), dtype=np.float32))
    adata.var_names = ["Acp5", "Ctsk", "Mmp9", "Slit3", "Sphk1", "Lif", "Ptprc", "Spi1"] + [
        f"Gene{i}" for i in range(32)
    ]
    adata.obs["cluster"] = ["a", "b", "c"] * 20
    path = tmp_path / "zeros.h5ad"
    adata.write_h5ad(path)
    status, lines = _main(capsys, "run", path, "-o", tmp_path / "o", "--groupby", "cluster")
    assert status == 2 and "holds only zeros" in _one_error(lines)


def test_a_gmt_set_named_like_a_catalogue_set_is_said(cells, tmp_path, capsys):
    gmt = tmp_path / "mine.gmt"
    gmt.write_text("clastokines_secreted\tmine\tSlit3\tSphk1\tLif\tWnt10b\n")
    argv = ("score", cells, "-o", tmp_path / "o.h5ad", "--gene-sets", gmt, "--method", "mean")
    status, lines = _main(capsys, *argv)
    assert status == 0
    said = [line for line in lines if "has the name of a catalogue set" in line]
    assert len(said) == 1 and said[0].startswith("scclast: warning: ")
    gmt2 = tmp_path / "again.gmt"
    gmt2.write_text("clastokines_secreted\tmine\tSlit3\tLif\n")
    status, lines = _main(
        capsys, "score", cells, "-o", tmp_path / "p.h5ad", "--gene-sets", gmt, gmt2
    )
    assert status == 2 and "is given twice" in _one_error(lines)


# --------------------------------------------------------------------------- 6-8. messages


def test_species_message_names_the_sets_that_disagree(cells, tmp_path, capsys):
    adata = ad.read_h5ad(cells)
    upper = [g.upper() for g in adata.var_names[:200]]
    gmt = tmp_path / "upper.gmt"
    gmt.write_text("".join(f"u{i}\tx\t" + "\t".join(upper[i * 20 : i * 20 + 20]) + "\n"
                           for i in range(10)))  # fmt: skip
    argv = ("score", cells, "-o", tmp_path / "o.h5ad", "--gene-sets", "all", gmt)
    status, lines = _main(capsys, *argv)
    assert status == 2
    error = _one_error(lines)
    assert "'u0'" in error and "look human" in error and "look mouse" in error
    quoted = error.split("(e.g. ")
    assert quoted[1].split(")")[0] != quoted[2].split(")")[0]  # no longer the same genes


# --------------------------------------------------------------------------- 9. embedding


def test_umap_of_many_duplicate_cells_starts_from_pca():
    from scclast import tl

    rng = np.random.default_rng(4)
    profiles = rng.poisson(2.0, size=(12, 300)).astype(np.float32)
    adata = ad.AnnData(sp.csr_matrix(np.repeat(profiles, 50, axis=0)))  # 600 cells, 12 distinct
    adata.var_names = [f"G{i}" for i in range(300)]
    tl.umap(adata, seed=0)
    record = adata.uns["scclast"]["embedding"]["parameters"]
    assert record["init"] == "pca"
    assert record["init_reason"].startswith("588 of 600 cells (98%) repeat another cell")
    assert np.isfinite(adata.obsm["X_umap"]).all()


# --------------------------------------------------------------------------- registry kinds


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("hansen2024_monocyte_osteoclast_bulk", "scclast timecourse --dataset"),
        ("ensembl_mus_musculus_grcm38_93_genes", "not single cells"),
    ],
)
def test_run_refuses_a_registry_entry_that_is_not_single_cells(
    key, expected, tmp_path, capsys, monkeypatch
):
    # refused before any download: with downloads forbidden, reaching pooch would
    # give a different error
    monkeypatch.setenv("SCCLAST_OFFLINE", "1")
    status, lines = _main(capsys, "run", "--dataset", key, "-o", tmp_path / "out")
    assert status == 2
    assert expected in _one_error(lines) and key in _one_error(lines)
    assert not (tmp_path / "out").exists()
