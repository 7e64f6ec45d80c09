"""Bulk inputs in the Snakemake workflow: routed to the ``timecourse`` rule, run end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scclast import _workflow as scw
from scclast.testing._timecourse import homer_table, simulate_timecourse
from tests._paths import REPO_ROOT

pytest.importorskip("snakemake")

SNAKEFILE = REPO_ROOT / "workflows" / "Snakefile"
SMALL = {"mem_mb": 1000, "runtime": 10, "threads": 1}


def _snakemake(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SCCLAST_OFFLINE": "1",
        "SCCLAST_NO_PROGRESS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture
def bulk_workdir(tmp_path):
    (tmp_path / "data").mkdir()
    counts = homer_table(simulate_timecourse(rising=["SLIT3"], seed=11))
    (tmp_path / "data" / "counts.txt").write_text(counts)
    config = {
        "datasets": ["example"],
        "samples": {"culture": {"path": "data/counts.txt"}},
        "resources": {rule: SMALL for rule in scw.RULES},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_inputs_are_routed_by_data_type():
    inputs = scw.inputs_from_config(
        {
            "datasets": ["example", "hansen2024_monocyte_osteoclast_bulk"],
            "samples": {
                "cells": {"path": "cells.h5ad"},
                "table": {"path": "counts.txt.gz", "donor": "mouse", "time": "day"},
                "pseudobulk": {"path": "pb.h5ad", "data_type": "bulk"},
            },
        }
    )
    assert "data_type" not in inputs["example"] and "data_type" not in inputs["cells"]
    hansen = inputs["hansen2024_monocyte_osteoclast_bulk"]
    assert hansen["data_type"] == "bulk" and hansen["time"] == "time_point"
    assert inputs["table"]["data_type"] == "bulk"
    assert (inputs["table"]["donor"], inputs["table"]["time"]) == ("mouse", "day")
    assert inputs["pseudobulk"]["data_type"] == "bulk"


def test_a_bulk_sample_plans_a_timecourse_job_and_no_single_cell_step(bulk_workdir):
    result = _snakemake("-n", "--configfile", "config.yaml", cwd=bulk_workdir)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "rule timecourse:" in output
    planned = [line.split()[0] for line in output.split("Job stats:")[1].splitlines()[3:10]]
    assert "timecourse" in planned and planned.count("prepare") == 1
    assert "results/culture/prepared.h5ad" not in output  # no single-cell step for it
    assert "results/culture/groups.tsv" not in output


def test_the_timecourse_rule_writes_a_scclast_timecourse_folder(bulk_workdir):
    target = "results/culture/report.html"
    result = _snakemake(target, "--cores", "1", "--configfile", "config.yaml", cwd=bulk_workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    folder = bulk_workdir / "results" / "culture"
    assert sorted(p.name for p in folder.iterdir()) == [
        "annotated.h5ad", "figures", "report.html", "run.json", "timecourse.tsv",
        "timecourse_scores.tsv",
    ]  # fmt: skip
    table = pd.read_csv(folder / "timecourse.tsv", sep="\t").set_index("feature")
    assert table.loc["slit3", "trend"] == "rising"
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["tool"] == "scclast timecourse"
    assert manifest["input"]["sha256"] and manifest["parameters"]["time"] == "time_point"
    log = (bulk_workdir / "results" / "logs" / "timecourse" / "culture.log").read_text()
    assert "time course: 29 samples, 8 donor(s)" in log


def test_timecourse_input_keeps_what_fetch_recorded(tmp_path):
    """A registry dataset reaches the rule as fetch's h5ad with its fingerprint."""
    from scclast._workflow._rules import _remember, write_h5ad

    adata = simulate_timecourse(n_donors=4, missing=(), seed=3)
    key = "hansen2024_monocyte_osteoclast_bulk"
    _remember(adata, input=key, input_fingerprint={"dataset": key, "shape": [16, 9]})
    source = write_h5ad(adata, tmp_path / "input.h5ad")
    scw.timecourse_input(source, tmp_path / "out", kind="dataset")
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["input"]["dataset"] == "hansen2024_monocyte_osteoclast_bulk"
    assert manifest["parameters"]["input"] == "hansen2024_monocyte_osteoclast_bulk"
    assert "shape" not in manifest["input"]  # samples, not cells: given as dimensions
    assert manifest["input"]["dimensions"].startswith("16 samples")
