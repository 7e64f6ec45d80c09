"""`scclast run` end to end, as a user runs it: subprocesses on the bundled example and on
real bone-marrow counts, every bad input, and interrupted runs.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import signal
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.io

import scclast
from scclast import _pipeline as pipeline
from scclast._pipeline import _outputs, _run
from scclast._pipeline._sections._flagging import FIGURES
from scclast._provenance import file_sha256
from scclast.cli import main
from tests._paths import TEST_DATA

FIGURE_NAMES = [spec.name for spec in FIGURES]
EXAMPLE_H5AD = (
    Path(scclast.__file__).parent / "datasets" / "data" / "example_osteoclastogenesis.h5ad"
)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCCLAST_NO_PROGRESS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "scclast", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=cwd,
    )


def leftovers(folder: Path) -> list[str]:
    """Temporary or moved-aside folders a run could leave behind."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


class Report(HTMLParser):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.images: dict[str, str] = {}
        self.groups: list[str] = []
        self.urls: list[str] = []
        self.text_parts: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))
        self.text = " ".join(" ".join(self.text_parts).split())

    def handle_starttag(self, tag, attrs):
        values = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images[values.get("id", "")] = values.get("src", "")
        self.urls += [values[k] for k in ("src", "href") if k in values]
        if "data-group" in values:
            self.groups.append(values["data-group"])

    def handle_data(self, data):
        self.text_parts.append(data)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """`scclast run --example -o OUT`, once for every test of the example."""
    workdir = tmp_path_factory.mktemp("example")
    before = file_sha256(EXAMPLE_H5AD)
    result = run_cli("run", "--example", "-o", "out", cwd=workdir)
    assert result.returncode == 0, result.stderr
    return workdir, workdir / "out", result, before


def _planted_cluster(annotated: ad.AnnData, state: str) -> str:
    cells = annotated.obs.loc[annotated.obs["state_true"] == state, "cluster"]
    return str(cells.astype(str).mode().iloc[0])


def test_example_flags_the_planted_population(example):
    _, out, result, _ = example
    groups = pd.read_csv(out / "groups.tsv", sep="\t", dtype={"group": str})
    annotated = ad.read_h5ad(out / "annotated.h5ad")
    planted = _planted_cluster(annotated, "osteoclast_secretory")
    flagged = set(groups.loc[groups["flagged"], "group"])
    assert flagged == {planted}
    cells = annotated.obs["scclast_flagged"].astype(bool)
    assert (annotated.obs.loc[cells, "state_true"] == "osteoclast_secretory").mean() > 0.9
    assert re.search(rf"1 group\(s\) flagged( \([^\n]*\))?: {planted};", result.stderr)


def test_example_stromal_decoys_are_non_lineage(example):
    _, out, _, _ = example
    groups = pd.read_csv(out / "groups.tsv", sep="\t", dtype={"group": str})
    annotated = ad.read_h5ad(out / "annotated.h5ad", backed="r")
    stromal = _planted_cluster(annotated.to_memory(), "stromal")
    rows = groups[groups["group"] == stromal]
    assert set(rows["lineage_state"]) == {"non-lineage"}
    assert not rows["flagged"].any()


def test_example_writes_every_output(example):
    workdir, out, result, before = example
    required = ["group", "n_cells", "lineage_state", "gene_set", "mean_score", "auroc",
                "pvalue", "fdr", "nes", "flagged", "reasons"]  # fmt: skip
    groups = pd.read_csv(out / "groups.tsv", sep="\t")
    assert set(required) <= set(groups.columns)
    for name in FIGURE_NAMES:
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
        assert (out / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    with gzip.open(out / "scores.tsv.gz", "rt") as handle:
        scores = pd.read_csv(handle, sep="\t", index_col="cell")
    assert len(scores) == 3000
    assert {"scclast_clastokines_secreted", "scclast_clastokines_secreted_z"} <= set(scores)
    annotated = ad.read_h5ad(out / "annotated.h5ad")
    assert {"scclast_lineage_state", "scclast_flagged"} <= set(annotated.obs)
    assert annotated.obsm["X_umap"].shape == (3000, 2)
    assert {"flag", "score", "embedding"} <= set(annotated.uns["scclast"])
    assert file_sha256(EXAMPLE_H5AD) == before  # the input is never modified
    assert leftovers(workdir) == []
    assert "Traceback" not in result.stderr
    steps = [line for line in result.stderr.splitlines() if line.startswith("scclast: ")]
    # the example ships with its embedding: no UMAP is computed (or numba-compiled)
    assert any("using the embedding stored" in s for s in steps)
    assert not any("computing a UMAP" in s for s in steps)
    assert any("scoring and flagging" in s for s in steps)


def test_example_report_names_the_flagged_group_and_embeds_every_figure(example):
    _, out, _, _ = example
    page = Report(out / "report.html")
    groups = pd.read_csv(out / "groups.tsv", sep="\t", dtype={"group": str})
    flagged = list(dict.fromkeys(groups.loc[groups["flagged"], "group"]))
    assert page.groups == flagged
    assert f"Group {flagged[0]} is a candidate secretory osteoclast-lineage population" in page.text
    for name in FIGURE_NAMES:
        assert page.images[f"img-{name}"].startswith("data:image/png;base64,")
    assert all(url.startswith("data:") for url in page.urls)
    assert file_sha256(EXAMPLE_H5AD) in page.text


def test_outputs_can_be_rendered_again(example, tmp_path):
    """What the workflow's report rule does: figures and report from the files alone."""
    _, out, _, _ = example
    annotated = ad.read_h5ad(out / "annotated.h5ad")  # lists come back as arrays
    groups = pd.read_csv(out / "groups.tsv", sep="\t", dtype={"group": str})
    written = pipeline.render(
        annotated, groups, tmp_path, input_fingerprint={"path": "x"}, parameters={}
    )
    assert {*FIGURE_NAMES, "report"} <= set(written)  # and the figures of other sections
    assert Report(written["report"]).groups == list(
        dict.fromkeys(groups.loc[groups["flagged"], "group"])
    )
    assert isinstance(pipeline.coverage_warnings(annotated, groups), list)


def test_existing_outdir_needs_force(example):
    _, out, _, _ = example
    result = run_cli("run", "--example", "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"scclast: error: output folder {out} already exists: choose another -o, or pass "
        "--force to replace it"
    ]


@pytest.fixture(scope="module")
def bone_marrow(tmp_path_factory) -> Path:
    """The real TAPseq/Baccin bone-marrow counts (no osteoclasts) as an h5ad file."""
    folder = TEST_DATA / "tapseq_baccin_bm"
    counts = scipy.io.mmread(folder / "matrix.mtx.gz").T.tocsr().astype(np.float32)
    genes = (folder / "genes.tsv").read_text().split()
    cells = (folder / "barcodes.tsv").read_text().split()
    meta = pd.read_csv(folder / "cell_metadata.tsv", sep="\t", index_col="cell").loc[cells]
    adata = ad.AnnData(counts, obs=meta, var=pd.DataFrame(index=genes))
    path = tmp_path_factory.mktemp("bm") / "bone_marrow.h5ad"
    adata.write_h5ad(path)
    return path


def test_real_bone_marrow_runs_and_flags_nothing(bone_marrow, tmp_path):
    before = file_sha256(bone_marrow)
    result = run_cli(
        "run", str(bone_marrow), "--groupby", "celltype", "-o", str(tmp_path / "o"), "-q"
    )
    assert result.returncode == 0, result.stderr
    # -q after `run` silences progress; the one warning left is the answer itself:
    # no group of these real bone-marrow cells is osteoclast-lineage.
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if "no osteoclast-lineage group" in line
    ]
    assert len(result.stderr.splitlines()) == 1
    groups = pd.read_csv(tmp_path / "o" / "groups.tsv", sep="\t")
    assert not groups["flagged"].any()
    assert set(groups["group"]) == set(
        pd.read_csv(TEST_DATA / "tapseq_baccin_bm" / "cell_metadata.tsv", sep="\t")["celltype"]
    )
    assert (groups["lineage_state"] != "osteoclast").all()
    page = Report(tmp_path / "o" / "report.html")
    assert "No population was flagged" in page.text
    assert file_sha256(bone_marrow) == before


def _no_genes(folder: Path) -> Path:
    adata = ad.AnnData(np.random.default_rng(0).poisson(1, (40, 5)).astype(np.float32))
    adata.var_names = [f"Gene{i}" for i in range(5)]
    adata.obs["cluster"] = ["a", "b"] * 20
    adata.write_h5ad(folder / "nogenes.h5ad")
    return folder / "nogenes.h5ad"


def _tiny(folder: Path) -> Path:
    ad.AnnData(np.ones((8, 4), dtype=np.float32)).write_h5ad(folder / "tiny.h5ad")
    return folder / "tiny.h5ad"


def _truncated(folder: Path, source: Path) -> Path:
    data = source.read_bytes()
    (folder / "cut.h5ad").write_bytes(data[: len(data) // 3])
    return folder / "cut.h5ad"


def _corrupt(folder: Path, source: Path) -> Path:
    data = bytearray(source.read_bytes())
    data[100:3000] = bytes(2900)
    (folder / "corrupt.h5ad").write_bytes(bytes(data))
    return folder / "corrupt.h5ad"


def _text(folder: Path) -> Path:
    (folder / "cells.h5ad").write_text("cell,gene,count\nc1,Acp5,3\n")
    return folder / "cells.h5ad"


def _file(folder: Path) -> Path:
    (folder / "afile").write_text("x")
    return folder / "afile"


BAD_INPUTS = {
    "missing-file": (lambda d, bm: ["run", str(d / "nope.h5ad"), "-o", str(d / "o")],
                     "does not exist"),
    "not-h5ad": (lambda d, bm: ["run", str(_text(d)), "-o", str(d / "o")],
                 "is not an HDF5 file, so it is not an h5ad file"),
    "truncated": (lambda d, bm: ["run", str(_truncated(d, bm)), "-o", str(d / "o")],
                  "cannot be read as an h5ad file (truncated or corrupt)"),
    "corrupt": (lambda d, bm: ["run", str(_corrupt(d, bm)), "-o", str(d / "o")],
                "cannot be read as an h5ad file (truncated or corrupt)"),
    "groupby-absent": (lambda d, bm: ["run", str(bm), "--groupby", "cluster", "-o", str(d / "o")],
                       "--groupby 'cluster' is not a column of the input's obs; columns: celltype"),
    "no-gene-present": (lambda d, bm: ["run", str(_no_genes(d)), "-o", str(d / "o")],
                        "(e.g. Gene0, Gene1, Gene2, Gene3, Gene4); the symbols look mouse"),
    "unknown-dataset": (lambda d, bm: ["run", "--dataset", "nope", "-o", str(d / "o")],
                        "unknown dataset 'nope'"),
    "too-few-cells": (lambda d, bm: ["run", str(_tiny(d)), "-o", str(d / "o")],
                      "has 8 cells; scclast run needs at least 20"),
    "unwritable-outdir": (lambda d, bm: ["run", str(bm), "-o", str(_file(d) / "o")],
                          "cannot create the folder"),
    "no-input": (lambda d, bm: ["-q", "run", "-o", str(d / "o")],
                 "give exactly one of INPUT.h5ad, --dataset KEY or --example"),
    "unknown-gene-set": (lambda d, bm: ["run", str(bm), "--gene-sets", "nope", "-o", str(d / "o")],
                         "unknown gene set 'nope'"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, bone_marrow):
    make_args, message = BAD_INPUTS[case]
    result = run_cli(*make_args(tmp_path, bone_marrow))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("scclast: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # after progress lines
    assert message in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


@pytest.fixture(autouse=True)
def _restore_logging():
    """`main()` points scclast's logger at this test's stderr; undo that afterwards."""
    logger = logging.getLogger("scclast")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    from scclast.datasets import simulate_osteoclastogenesis

    adata = simulate_osteoclastogenesis(n_cells=600, n_genes=800, seed=1, secretory_fraction=0.15)
    path = tmp_path_factory.mktemp("sim") / "sim.h5ad"
    adata.write_h5ad(path)
    return path


def test_backed_run_gives_the_same_table(simulated, tmp_path, capsys):
    assert (
        main(["-q", "run", str(simulated), "--groupby", "cluster", "-o", str(tmp_path / "m")]) == 0
    )
    assert main(["run", str(simulated), "--groupby", "cluster", "--backed", "-q",
                 "-o", str(tmp_path / "b")]) == 0  # fmt: skip
    memory = pd.read_csv(tmp_path / "m" / "groups.tsv", sep="\t")
    backed = pd.read_csv(tmp_path / "b" / "groups.tsv", sep="\t")
    pd.testing.assert_frame_equal(memory, backed)
    assert memory["flagged"].any()
    # -q leaves warnings only: no progress line
    progress = ("read ", "scoring", "drawing", "writing outputs", "done in", "flagging done")
    assert not [line for line in capsys.readouterr().err.splitlines()
                if any(word in line for word in progress)]  # fmt: skip


def test_failure_mid_way_leaves_no_outdir(simulated, tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_outputs, "write_annotated", broken)
    status = main(["run", str(simulated), "--groupby", "cluster", "-o", str(tmp_path / "o")])
    assert status == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: disk on fire" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_sigterm_stops_cleanly(simulated, tmp_path, monkeypatch):
    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(_run, "prepare", terminated)
    with pytest.raises(SystemExit) as stopped:
        main(["-q", "run", str(simulated), "--groupby", "cluster", "-o", str(tmp_path / "o")])
    assert stopped.value.code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_interrupt_stops_cleanly(simulated, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_run, "prepare", interrupted)
    status = main(["run", str(simulated), "--groupby", "cluster", "-o", str(tmp_path / "o")])
    assert status == 130 and "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
