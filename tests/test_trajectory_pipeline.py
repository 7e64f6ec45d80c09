"""The differentiation section of ``scclast run``: tables, figure, report, options, skips."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import scclast
from scclast import cli
from scclast._pipeline._sections import SECTIONS
from scclast._pipeline._sections._differentiation import DIFFERENTIATION, peak_sentences
from scclast.datasets import simulate_osteoclastogenesis


@pytest.fixture(scope="module")
def simulated_h5ad(tmp_path_factory):
    adata = simulate_osteoclastogenesis(
        n_cells=900, n_genes=600, seed=5, continuous=True, n_samples=3,
        trend_genes={"Slit3": "late", "Wnt5a": "early"},
    )  # fmt: skip
    path = tmp_path_factory.mktemp("differentiation") / "lineage.h5ad"
    adata.write_h5ad(path)
    return path


@pytest.fixture(scope="module")
def run_out(simulated_h5ad, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("runs") / "out"
    scclast.run(
        simulated_h5ad, outdir, groupby="cluster", embedding=False, trajectory_permutations=199
    )
    return outdir


def test_section_is_registered_after_flagging():
    names = [section.name for section in SECTIONS]
    assert names[0] == "flagging" and "differentiation" in names
    assert DIFFERENTIATION.files == ("trajectory.tsv",)


def test_run_writes_the_table_figure_and_report_block(run_out):
    table = pd.read_csv(run_out / "trajectory.tsv", sep="\t")
    assert tuple(table.columns) == scclast.tl._differentiation.TRAJECTORY_COLUMNS
    slit3 = table.set_index("feature").loc["slit3"]
    assert bool(slit3["significant"]) and slit3["peak"] == "late"
    assert (run_out / "figures" / "trajectory.png").stat().st_size > 20_000
    report = (run_out / "report.html").read_text()
    block = report[report.index('<section id="differentiation">') :]
    block = block[: block.index("</section>")]
    assert "Diffusion pseudotime (scanpy) orders" in block and "Spearman rho" in block
    assert "Peak late" in block and "SLIT3 ▲" in block
    assert "Pseudotime is an order, not a clock" in block
    assert "exploratory: pass --sample-key" in block
    assert 'id="fig-trajectory"' in block and 'id="trajectory-table"' in block
    assert "Flagged groups along the order" in block  # the flagged secretory cluster
    manifest = json.loads((run_out / "run.json").read_text())
    assert "trajectory.tsv" in manifest["outputs"]
    assert manifest["parameters"]["trajectory_permutations"] == 199
    scores = pd.read_csv(run_out / "scores.tsv.gz", sep="\t")
    assert scores["scclast_pseudotime"].notna().sum() > 500
    assert scores["scclast_pseudotime"].isna().any()  # the stromal cells


def test_a_given_pseudotime_and_a_sample_key(simulated_h5ad):
    import anndata as ad

    from scclast._pipeline._sections._differentiation import axis_sentence

    adata = ad.read_h5ad(simulated_h5ad)
    scclast.tl.flag(adata, "cluster", enrichment=False)
    parameters = {"pseudotime_key": "pseudotime_true", "sample_key": "sample",
                  "trajectory_permutations": 99, "seed": 0}  # fmt: skip
    DIFFERENTIATION.analyse(adata, parameters, "scclast")
    record = adata.uns["scclast"]["trajectory"]
    assert record["n_samples"] == 3 and record["parameters"]["pseudotime"] == "pseudotime_true"
    assert "pseudotime" not in adata.uns["scclast"]  # none computed
    text = axis_sentence(adata, "scclast")
    assert text.startswith("The pseudotime given in obs['pseudotime_true'] orders")
    assert "3 samples of 'sample'" in text
    with pytest.raises(scclast._errors.ScclastInputError, match="no_such"):
        DIFFERENTIATION.analyse(adata, {"pseudotime_key": "no_such"}, "scclast")


def test_too_few_lineage_cells_skip_the_section_with_the_reason(tmp_path):
    adata = simulate_osteoclastogenesis(
        n_cells=300, n_genes=500, seed=1, states={"stromal": 0.92, "macrophage": 0.08}
    )
    path = tmp_path / "few.h5ad"
    adata.write_h5ad(path)
    out = scclast.run(path, tmp_path / "out", groupby="cluster", embedding=False).outdir
    assert not (out / "trajectory.tsv").exists()
    report = (out / "report.html").read_text()
    assert "Not part of this run: pseudotime needs at least 30 osteoclast-lineage cells" in report


def test_peak_sentences_group_factors_by_where_they_peak():
    table = pd.DataFrame(
        {
            "kind": ["factor"] * 4,
            "label": ["C3a", "SLIT3", "LIF", "SEMA4D"],
            "effect": ["anabolic", "anabolic", "anabolic", "inhibitory"],
            "phase": ["initiation", "transition", "transition", "initiation"],
            "peak": ["early", "late", "middle", "not measured"],
            "direction": ["falling", "rising", "transient", ""],
            "significant": [True, True, True, False],
        }
    )
    sentences = peak_sentences(table, 0.05)
    assert sentences == [
        "Peak early along the axis (FDR ≤ 0.05): C3a ▲ (falling).",
        "Peak in the middle: LIF ▲ (transient).",
        "Peak late: SLIT3 ▲ (rising).",
        "Not measured (no gene detected in these cells): SEMA4D ▼.",
    ]
    none = table.assign(peak="none", significant=False)
    assert peak_sentences(none, 0.05)[0] == "No coupling factor changes along the axis."


def test_cli_lists_the_section_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = capsys.readouterr().out
    assert "differentiation options" in text
    assert "--pseudotime-key COL" in text and "--trajectory-permutations N" in text
