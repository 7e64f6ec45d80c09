"""Condition comparisons carried by ``scclast run``: the CLI on the two-condition example,
its tables, figures, report section and run.json; designs that cannot be tested (exit 2);
the section skipped without ``--condition``; the workflow's example config.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import anndata as ad
import pandas as pd
import pytest

import scclast
from scclast._errors import ScclastInputError
from scclast._pipeline._sections import Results
from scclast._pipeline._sections._conditions import CONDITIONS
from scclast.cli import main
from tests._paths import REPO_ROOT

RUN = ("--groupby", "cluster", "--sample-key", "sample")
CONDITION = ("--condition", "condition", "--reference", "control")
EXAMPLE_CONFIG = REPO_ROOT / "workflows" / "config" / "example_conditions.yaml"


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``scclast run --dataset example_conditions ...`` as a user runs it, once."""
    out = tmp_path_factory.mktemp("conditions") / "out"
    env = {**os.environ, "SCCLAST_NO_PROGRESS": "1", "SCCLAST_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "scclast", "run", "--dataset", "example_conditions", "-o", str(out),
         *RUN, *CONDITION],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def small_h5ad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every third cell of the example, plus columns that make designs untestable."""
    adata = scclast.datasets.example_conditions()[::3].copy()
    adata.obs["batch"] = ["b1", "b2"] * (adata.n_obs // 2) + ["b1"] * (adata.n_obs % 2)
    path = tmp_path_factory.mktemp("small") / "small.h5ad"
    adata.write_h5ad(path)
    return path


def test_cli_writes_the_tables_and_figures(cli_run):
    for name in ("conditions.tsv", "abundance.tsv"):
        assert (cli_run / name).is_file(), name
    for figure in ("condition_genes", "condition_abundance"):
        for kind in ("png", "pdf"):
            assert (cli_run / "figures" / f"{figure}.{kind}").stat().st_size > 5_000
    table = pd.read_csv(cli_run / "conditions.tsv", sep="\t", dtype={"group": str})
    stored = scclast.get.condition_table(ad.read_h5ad(cli_run / "annotated.h5ad"))
    pd.testing.assert_frame_equal(
        table.fillna(""), stored.fillna(""), check_dtype=False, check_exact=False
    )
    assert {"group", "feature", "feature_type", "log2fc", "pvalue", "fdr"} <= set(table.columns)
    hits = table[(table["fdr"] <= 0.05) & (table["feature_type"] == "gene")]
    planted = ["C3", "Ctf1", "Cthrc1", "Lif", "Slit3", "Sphk1", "Spns2", "Wnt10b", "Wnt5a"]
    assert sorted(hits["feature"]) == planted and set(hits["group"]) == {"2"}
    abundance = pd.read_csv(cli_run / "abundance.tsv", sep="\t", dtype={"group": str})
    assert abundance["group"].tolist() == ["0", "1", "2", "3", "4"]
    assert abundance.set_index("group").loc["2", "fdr"] <= 0.05


def test_report_answers_both_questions_in_sentences(cli_run):
    html = (cli_run / "report.html").read_text(encoding="utf-8")
    section = re.search(r'<section id="conditions">.*?</section>', html, re.S).group(0)
    text = re.sub(r"<[^>]+>", " ", section)
    assert "Does clastokine expression change?" in text
    assert "Catalogue expression changed in 1 of 4 tested osteoclast-lineage group(s)" in text
    assert re.search(r"Group 2 \(osteoclast\), treated vs control: 9 of \d+ catalogue genes", text)
    assert "Does the population expand or shrink?" in text
    assert re.search(r"Group 2 \(osteoclast\) rose from [\d.]+% of the cells", text)
    assert "Shares are relative" in text
    assert "PyDESeq2 " + __import__("pydeseq2").__version__ in text
    for figure in ("condition_genes", "condition_abundance"):
        assert f'id="img-{figure}"' in section


def test_run_json_records_the_options(cli_run):
    manifest = json.loads((cli_run / "run.json").read_text())
    parameters = manifest["parameters"]
    assert (parameters["condition"], parameters["reference"]) == ("condition", "control")
    assert parameters["sample_key"] == "sample"
    assert {"conditions.tsv", "abundance.tsv"} <= set(manifest["outputs"])
    record = ad.read_h5ad(cli_run / "annotated.h5ad").uns["scclast"]["conditions"]
    assert record["libraries"]["pydeseq2"] == __import__("pydeseq2").__version__


def test_run_json_records_the_pydeseq2_version(cli_run):
    versions = json.loads((cli_run / "run.json").read_text())["versions"]
    assert versions["pydeseq2"] == __import__("pydeseq2").__version__


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--condition", "condition", "--reference", "sham"), "reference 'sham' is not a level"),
        (("--condition", "batch"), "is not constant within samples"),
        (("--reference", "control"), "no --condition was given"),
    ],
    ids=["missing-reference-level", "condition-varies-within-sample", "reference-alone"],
)
def test_designs_that_cannot_be_tested_exit_2(small_h5ad, tmp_path, capsys, extra, message):
    status = main(["run", str(small_h5ad), "-o", str(tmp_path / "out"), *RUN, *extra])
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_one_sample_per_condition_exits_2(small_h5ad, tmp_path, capsys):
    adata = ad.read_h5ad(small_h5ad)
    pair = adata[adata.obs["sample"].isin(["animal1", "animal4"]).to_numpy()].copy()
    pair.write_h5ad(tmp_path / "pair.h5ad")
    status = main(["run", str(tmp_path / "pair.h5ad"), "-o", str(tmp_path / "out"), *RUN,
                   *CONDITION])  # fmt: skip
    assert status == 2
    assert "'control' has 1; 'treated' has 1 sample(s)" in capsys.readouterr().err


def test_a_condition_needs_the_sample_key():
    adata = scclast.datasets.example_conditions()
    with pytest.raises(ScclastInputError, match="needs the samples: give sample_key"):
        CONDITIONS.analyse(adata, {"condition": "condition", "groupby": "cluster"}, "scclast")


def test_the_section_is_skipped_without_a_condition():
    for parameters in ({}, {"condition": None}, {"condition": "None"}):
        reason = CONDITIONS.skip_reason(Results(adata=None, table=None, parameters=parameters))
        assert reason.startswith("no condition to compare: give --condition COL")
    adata = scclast.datasets.example_conditions()
    CONDITIONS.analyse(adata, {"groupby": "cluster"}, "scclast")  # nothing asked, nothing done
    assert "scclast" not in adata.uns or "conditions" not in adata.uns["scclast"]


def test_the_workflow_example_config_is_valid_and_plans_the_run(tmp_path):
    pytest.importorskip("snakemake")
    import yaml
    from snakemake.utils import validate

    from scclast._workflow import inputs_from_config

    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    validate(config, str(REPO_ROOT / "workflows" / "schemas" / "config.schema.yaml"))
    inputs = inputs_from_config(config)
    settings = inputs["example_conditions"]
    assert settings["sample_key"] == "sample" and settings["groupby"] == "cluster"
    assert settings["options"]["condition"] == "condition"
    assert settings["options"]["reference"] == "control"
    env = {
        **os.environ,
        "SCCLAST_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    planned = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "workflows" / "Snakefile"),
         "--configfile", str(EXAMPLE_CONFIG), "--directory", str(tmp_path), "-n", "--cores", "1"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert "example_conditions" in planned.stdout + planned.stderr
