"""Every example in examples/ runs as a user would run it, so none of them can rot.

Each runs in a subprocess inside its own temporary working directory (so it writes
nowhere else), offline (``SCCLAST_OFFLINE=1``), with this Python's ``bin`` folder first
on ``PATH`` so that ``scclast`` and ``snakemake`` are the ones under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests._paths import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


def run_example(name: str, cwd: Path, *args: str, timeout: int = 600):
    script = EXAMPLES / name
    command = [sys.executable, str(script)] if name.endswith(".py") else ["bash", str(script)]
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "SCCLAST_OFFLINE": "1",
        "SCCLAST_NO_PROGRESS": "1",
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result


def test_every_example_is_tested_and_listed_in_the_readme():
    scripts = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".sh"))
    tested = {"01_notebook_api.py", "02_cli.sh", "03_workflow.sh", "04_dask_large_file.py"}
    assert set(scripts) == tested
    readme = (EXAMPLES / "README.md").read_text()
    for name in scripts:
        assert name in readme, name


@pytest.mark.slow
def test_01_notebook_api(tmp_path):
    result = run_example("01_notebook_api.py", tmp_path)
    out = result.stdout
    assert "AnnData object with n_obs" in out
    # the secretory osteoclast cluster of the example is flagged, with its reasons
    assert "group 3 (osteoclast), clastokines_secreted: flagged" in out, out
    for name in ("dotplot", "effect_sizes", "factor_heatmap"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / "figures" / f"{name}.pdf").is_file()


@pytest.mark.slow
def test_02_cli(tmp_path):
    result = run_example("02_cli.sh", tmp_path)
    outdir = tmp_path / "scclast_example"
    assert (outdir / "report.html").is_file()
    table = pd.read_csv(outdir / "groups.tsv", sep="\t", dtype={"group": str})
    assert table.loc[table["flagged"], "group"].unique().tolist() == ["3"]
    flagged_lines = [line for line in result.stdout.splitlines() if line.endswith(" True")]
    assert len(flagged_lines) == 1 and flagged_lines[0].startswith("3 ")
    assert "clastokines_secreted" in result.stdout  # the `genesets show` part ran too


@pytest.mark.slow
def test_03_workflow(tmp_path):
    result = run_example("03_workflow.sh", tmp_path)
    results = tmp_path / "results"
    assert (results / "example" / "report.html").is_file()
    summary = pd.read_csv(results / "summary" / "summary.tsv", sep="\t")
    flagged = summary.loc[summary["flagged"], "lineage_state"].tolist()
    assert flagged == ["osteoclast"], summary.to_string()
    assert "osteoclast" in result.stdout  # the summary is shown
    # the wrapper part: a config was written and only planned (dry run)
    assert (tmp_path / "my_run" / "config.yaml").is_file()
    assert not (tmp_path / "my_run" / "results").exists()
    assert "Job stats" in result.stdout + result.stderr


def test_04_dask_large_file(tmp_path):
    result = run_example("04_dask_large_file.py", tmp_path, "--cells", "3000")
    out = result.stdout
    assert "dask cluster: 2 workers" in out
    assert "X is <class 'dask.array.core.Array'>" in out
    line = next(x for x in out.splitlines() if x.startswith("largest difference"))
    assert float(line.rsplit(" ", 1)[1]) <= 1e-10
    scores = pd.read_csv(tmp_path / "dask_scores.tsv.gz", sep="\t", index_col=0)
    assert scores.shape == (3000, 3)
    assert "osteoclast" in out  # flagging ran on the lazy matrix too
