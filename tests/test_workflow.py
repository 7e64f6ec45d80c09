"""The Snakemake workflow: config schema, helpers, cross-dataset summary, a real run.

The end-to-end run (one snakemake call over the bundled example and a small local
h5ad, offline) is shared by every test that checks outputs (module-scoped fixture).
Snakemake runs in a subprocess with ``SCCLAST_OFFLINE=1`` so nothing can download.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest
import yaml

from scclast import pipeline
from scclast import workflow as scw
from scclast._errors import ScclastInputError
from tests._paths import REPO_ROOT

pytest.importorskip("snakemake")

SNAKEFILE = REPO_ROOT / "workflows" / "Snakefile"
CONFIG_DIR = REPO_ROOT / "workflows" / "config"
EXAMPLE_CONFIG = CONFIG_DIR / "example.yaml"
SLURM_PROFILE = REPO_ROOT / "workflows" / "profiles" / "slurm"
RULES = ("fetch", "prepare", "analyse", "report")


def snakemake(*args: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m snakemake`` as a user runs it, offline, in ``cwd``."""
    env = {
        **os.environ,
        "SCCLAST_OFFLINE": "1",
        "SCCLAST_NO_PROGRESS": "1",
        "MPLBACKEND": "Agg",
        # the workflow's jobs import the scclast under test, also from an installed copy
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def validate(config: dict) -> dict:
    from snakemake.utils import validate as smk_validate

    smk_validate(config, str(CONFIG_DIR / "schema.yaml"))
    return config


def write_groups(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "groups.tsv", sep="\t", index=False)
    return folder


# --------------------------------------------------------------------------- config


def test_schema_fills_every_default():
    config = validate({"datasets": ["example"]})
    assert config["results"] == "results"
    assert config["samples"] == {}
    assert config["params"] == {
        "groupby": None,
        "species": "auto",
        "method": "seurat",
        "gene_sets": None,
        "osteomorph_signature": None,
        "fdr": 0.05,
        "seed": 0,
        "backed": False,
    }
    assert config["summary"] == {"formats": ["png", "pdf"]}


def test_template_and_example_configs_are_valid_and_template_holds_the_defaults():
    template = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    validate(example)
    assert example["datasets"] == ["example"]
    # the template documents exactly the schema's defaults
    assert validate(dict(template)) == validate({})


@pytest.mark.parametrize(
    "bad",
    [
        {"datasets": ["example"], "param": {}},  # misspelt key
        {"datasets": ["example"], "params": {"method": "gsva"}},
        {"datasets": ["example"], "params": {"fdr": 0}},
        {"datasets": ["example"], "params": {"species": "rat"}},
        {"samples": {"a": {"groupby": "x"}}},  # no path
        {"samples": {"bad name": {"path": "a.h5ad"}}},
        {"datasets": ["summary"]},  # reserved
        {"datasets": [{"name": "x"}]},  # no key
        {"datasets": ["example"], "summary": {"formats": ["jpg"]}},
    ],
)
def test_schema_rejects_bad_configs(bad):
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError):
        validate(bad)


def test_inputs_from_config_merges_per_input_settings():
    config = validate(
        {
            "datasets": ["example", {"key": "example", "name": "example_b", "species": "mouse"}],
            "samples": {"mine": {"path": "data/mine.h5ad", "groupby": "cell_type"}},
            "params": {"groupby": "leiden", "backed": True},
        }
    )
    inputs = scw.inputs_from_config(config)
    assert list(inputs) == ["example", "example_b", "mine"]
    assert inputs["example"] == {
        "kind": "dataset",
        "source": "example",
        "groupby": "leiden",
        "species": "auto",
        "backed": True,
    }
    assert inputs["example_b"]["source"] == "example"
    assert inputs["example_b"]["species"] == "mouse"
    assert inputs["mine"]["kind"] == "sample"
    assert inputs["mine"]["source"] == "data/mine.h5ad"
    assert inputs["mine"]["groupby"] == "cell_type"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "names no input"),
        ({"datasets": ["example"], "samples": {"example": {"path": "x.h5ad"}}}, "two inputs"),
        ({"samples": {"logs": {"path": "x.h5ad"}}}, "reserved"),
        ({"datasets": ["no_such_dataset"]}, "unknown dataset 'no_such_dataset'"),
    ],
)
def test_inputs_from_config_errors_name_the_problem(config, message):
    with pytest.raises(ScclastInputError, match=message):
        scw.inputs_from_config(config)


def test_gene_set_entries_that_are_files():
    assert not scw.looks_like_file("clastokines_secreted")
    assert scw.looks_like_file("mine.gmt")
    assert scw.looks_like_file("sets/mine")


def test_workflow_is_found_with_its_config_and_profile():
    assert scw.snakefile() == SNAKEFILE
    assert scw.profile_dir("slurm") == SLURM_PROFILE
    with pytest.raises(ScclastInputError, match="unknown profile"):
        scw.profile_dir("pbs")


def test_init_config_copies_the_template(tmp_path):
    path = scw.init_config(tmp_path)
    assert path.read_text() == (CONFIG_DIR / "config.yaml").read_text()
    with pytest.raises(ScclastInputError, match="exists"):
        scw.init_config(tmp_path)
    example = scw.init_config(tmp_path, example=True, force=True)
    assert yaml.safe_load(example.read_text())["datasets"] == ["example"]


def test_snakemake_command():
    cmd = scw.snakemake_command(
        configfile="c.yaml", cores=2, directory="run", extra=["--forceall"], dry_run=True
    )
    assert cmd[:5] == [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE)]
    assert cmd[5:] == [
        "--cores",
        "2",
        "--configfile",
        str(Path("c.yaml").resolve()),
        "--directory",
        "run",
        "--forceall",
        "-n",
    ]
    with_profile = scw.snakemake_command(configfile="c.yaml", profile="slurm")
    assert with_profile[5:7] == ["--profile", str(SLURM_PROFILE)]
    assert "--cores" not in with_profile  # the profile decides
    assert scw.snakemake_command(configfile="c.yaml")[5:7] == ["--cores", "all"]


def test_log_to_keeps_the_traceback(tmp_path):
    log = tmp_path / "logs" / "step.log"
    with pytest.raises(ZeroDivisionError), scw.log_to(log) as logger:
        logger.info("about to fail")
        _ = 1 / 0
    text = log.read_text()
    assert "about to fail" in text
    assert "ZeroDivisionError" in text


# --------------------------------------------------------------------------- summary


def _groups(state_rows: list[tuple[str, str, str, float, float, bool]]) -> list[dict]:
    return [
        {
            "group": group,
            "n_cells": 50,
            "lineage_state": state,
            "gene_set": gene_set,
            "mean_score": 0.1,
            "auroc": auroc,
            "pvalue": fdr / 2,
            "fdr": fdr,
            "nes": 2 * (auroc - 0.5),
            "flagged": flagged,
            "reasons": "",
        }
        for group, state, gene_set, auroc, fdr, flagged in state_rows
    ]


def test_summarise_runs_one_row_per_dataset_and_state(tmp_path):
    a = write_groups(
        tmp_path / "a",
        _groups(
            [
                ("0", "osteoclast", "clastokines_secreted", 0.93, 1e-5, True),
                ("0", "osteoclast", "coupling_contact", 0.97, 0.2, False),  # stronger, not flagged
                ("1", "osteoclast", "clastokines_secreted", 0.60, 0.3, False),
                ("2", "macrophage", "clastokines_secreted", 0.40, 0.9, False),
                ("2", "macrophage", "coupling_contact", 0.55, 0.6, False),
            ]
        ),
    )
    b = write_groups(
        tmp_path / "b",
        _groups([("B cell", "non-lineage", "clastokines_secreted", 0.5, 1.0, False)]),
    )
    table = scw.summarise_runs({"a": a, "b": b})
    assert list(table.columns) == list(scw.SUMMARY_COLUMNS)
    assert table[["dataset", "lineage_state"]].values.tolist() == [
        ["a", "osteoclast"],
        ["a", "macrophage"],
        ["b", "non-lineage"],
    ]
    osteoclast = table.iloc[0]
    assert osteoclast["flagged"]
    assert osteoclast["n_groups"] == 2 and osteoclast["n_cells"] == 100
    assert osteoclast["n_flagged_groups"] == 1 and osteoclast["flagged_groups"] == "0"
    # the effect of a flagged state is that of its flagged evidence
    assert osteoclast["gene_set"] == "clastokines_secreted"
    assert osteoclast["auroc"] == pytest.approx(0.93)
    assert osteoclast["fdr"] == pytest.approx(1e-5)
    macrophage = table.iloc[1]
    assert not macrophage["flagged"] and macrophage["flagged_groups"] == ""
    assert macrophage["gene_set"] == "coupling_contact"  # best row when nothing is flagged
    assert macrophage["auroc"] == pytest.approx(0.55)


def test_summarise_runs_reads_text_flags_and_missing_effects(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "groups.tsv").write_text(
        "group\tlineage_state\tflagged\n7\tosteoclast\tTrue\n8\t\tFalse\n"
    )
    table = scw.summarise_runs({"run": folder})
    assert table["lineage_state"].tolist() == ["osteoclast", "unassigned"]
    assert table["flagged"].tolist() == [True, False]
    assert table["flagged_groups"].tolist() == ["7", ""]
    assert np.isnan(table["auroc"]).all()


def test_summarise_runs_errors_name_the_run(tmp_path):
    with pytest.raises(ScclastInputError, match="missing"):
        scw.summarise_runs({"gone": tmp_path / "gone"})
    write_groups(tmp_path / "old", [{"group": "0", "flagged": True}])
    with pytest.raises(ScclastInputError, match="lineage_state"):
        scw.summarise_runs({"old": tmp_path / "old"})


def test_write_summary_writes_table_and_figures(tmp_path):
    a = write_groups(
        tmp_path / "a", _groups([("0", "osteoclast", "clastokines_secreted", 0.9, 0.001, True)])
    )
    b = write_groups(
        tmp_path / "b", _groups([("x", "macrophage", "clastokines_secreted", 0.3, 0.9, False)])
    )
    figures = [tmp_path / "out" / "summary.png", tmp_path / "out" / "summary.pdf"]
    summary = scw.write_summary({"a": a, "b": b}, tmp_path / "out" / "summary.tsv", figures)
    written = pd.read_csv(tmp_path / "out" / "summary.tsv", sep="\t")
    assert written["dataset"].tolist() == ["a", "b"]
    assert written["flagged"].tolist() == [True, False]
    assert len(summary) == 2
    assert figures[0].read_bytes()[:4] == b"\x89PNG"
    assert figures[1].read_bytes()[:4] == b"%PDF"


def test_plot_summary_marks_flagged_states():
    table = pd.DataFrame(
        {
            "dataset": ["a", "a", "b"],
            "lineage_state": ["osteoclast", "macrophage", "oc_precursor"],
            "flagged": [True, False, False],
            "auroc": [0.91, 0.35, 0.6],
        }
    )
    fig = scw.plot_summary(table)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert set(labels) == {"osteoclast", "macrophage", "oc_precursor"}
    texts = {t.get_text() for t in ax.texts}
    assert "0.91*" in texts and "0.35" in texts and "absent" in texts
    import matplotlib.pyplot as plt

    plt.close(fig)


# --------------------------------------------------------------------------- snakemake


@pytest.fixture(scope="module")
def sample_h5ad(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small real local input: the bundled bone-marrow background data, as h5ad.

    It carries its own 2-D embedding, as users' files often do, so `prepare` keeps it
    (the example input exercises the computed one).
    """
    import scanpy as sc

    from scclast import datasets

    adata = datasets.bone_marrow_baccin2020()
    groupby = _annotation_column(adata)
    logged = sc.pp.log1p(adata.X.astype(np.float64), copy=True)
    adata.obsm["X_umap"] = sc.pp.pca(logged, n_comps=2, random_state=0)
    path = tmp_path_factory.mktemp("sample") / "bone_marrow.h5ad"
    scw.write_h5ad(adata, path)
    return path, groupby


def _annotation_column(adata) -> str:
    for column in ("cell_type", "celltype", "population", "cluster"):
        if column in adata.obs:
            return column
    raise AssertionError(f"no cell-type column in {list(adata.obs.columns)}")


@pytest.fixture(scope="module")
def two_input_config(tmp_path_factory: pytest.TempPathFactory, sample_h5ad) -> Path:
    path, groupby = sample_h5ad
    folder = tmp_path_factory.mktemp("config")
    config = {
        "results": "out",
        "datasets": ["example"],
        "samples": {"bone_marrow": {"path": str(path), "groupby": groupby, "species": "mouse"}},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder / "config.yaml"


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory: pytest.TempPathFactory, two_input_config: Path):
    """One real run of the whole workflow over both inputs."""
    workdir = tmp_path_factory.mktemp("workflow_run")
    start = time.perf_counter()
    result = snakemake(
        "--cores", "2", "--configfile", two_input_config, "--directory", workdir, cwd=workdir
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-6000:]
    return workdir / "out", result, elapsed


def test_dry_run_plans_every_step_for_every_input(tmp_path, two_input_config):
    result = snakemake(
        "-n", "--configfile", two_input_config, "--directory", tmp_path, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    counts = _job_counts(result.stdout + result.stderr)
    assert counts == {
        "fetch": 1,  # only the registry input; the local sample skips it
        "prepare": 2,
        "analyse": 2,
        "report": 2,
        "summary": 1,
        "all": 1,
        "total": 9,
    }
    assert not (tmp_path / "out").exists()


def _job_counts(text: str) -> dict[str, int]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats:"))
    counts = {}
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_lint_is_clean(tmp_path):
    result = snakemake("--lint", "--configfile", EXAMPLE_CONFIG, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Lints for" not in output
    assert "Congratulations" in output


def test_slurm_profile_plans_the_jobs_with_its_resources(tmp_path):
    result = snakemake(
        "-n", "--configfile", EXAMPLE_CONFIG, "--profile", SLURM_PROFILE, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert set(profile["set-resources"]) == {*RULES, "summary"}
    # the per-rule sizes reach the jobs
    analyse = output[output.index("rule analyse:") :]
    analyse = analyse[: analyse.index("rule ", 5)]
    assert "mem_mb=64000" in analyse and "cpus_per_task=8" in analyse


def test_registry_dataset_is_fetched_through_the_package_and_offline_fails_clearly(tmp_path):
    """A registry key plans a `fetch` job; offline, that job fails naming the file."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"datasets": ["tsukasaki2020_bmm_rankl"]}))
    plan = snakemake("-n", "--configfile", config, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert _job_counts(plan.stdout + plan.stderr)["fetch"] == 1
    result = snakemake("--cores", "1", "--configfile", config, "--until", "fetch", cwd=tmp_path)
    assert result.returncode != 0
    log = (tmp_path / "results" / "logs" / "fetch" / "tsukasaki2020_bmm_rankl.log").read_text()
    assert "SCCLAST_OFFLINE" in log, log


def test_no_input_is_a_clear_error(tmp_path):
    result = snakemake("-n", cwd=tmp_path)
    assert result.returncode != 0
    assert "names no input" in result.stdout + result.stderr


@pytest.mark.slow
def test_run_writes_per_input_outputs_and_logs(workflow_run, sample_h5ad):
    results, _, _ = workflow_run
    for name in ("example", "bone_marrow"):
        folder = results / name
        # each input's folder is laid out like a `scclast run` OUTDIR
        for output in ("prepared.h5ad", *pipeline.OUTPUT_FILES):
            assert (folder / output).is_file(), output
        html = (folder / "report.html").read_text()
        assert html.lstrip().lower().startswith("<!doctype html")
        assert any((folder / "figures").iterdir())
        manifest = json.loads((folder / "run.json").read_text())
        prepared = anndata.read_h5ad(folder / "prepared.h5ad", backed="r")
        embedding = prepared.uns["scclast"]["embedding"]
        prepared.file.close()
        assert bool(embedding["computed"]) == (name == "example")
        assert manifest["parameters"]["seed"] == 0
        assert manifest["parameters"]["input"] == (
            "example" if name == "example" else str(sample_h5ad[0])
        )
        assert manifest["input"]["shape"][0] > 0
        for rule in ("prepare", "analyse", "report"):
            assert (results / "logs" / rule / f"{name}.log").is_file()
    assert (results / "logs" / "fetch" / "example.log").is_file()
    assert not (results / "bone_marrow" / "input.h5ad").exists()  # samples are not copied
    assert not (results / "example" / "input.h5ad").exists()  # temp(), removed after prepare


@pytest.mark.slow
def test_run_summary_names_the_flagged_population(workflow_run):
    results, _, _ = workflow_run
    summary = pd.read_csv(
        results / "summary" / "summary.tsv", sep="\t", dtype={"flagged_groups": str}
    )
    assert list(summary.columns) == list(scw.SUMMARY_COLUMNS)
    assert set(summary["dataset"]) == {"example", "bone_marrow"}
    flagged = summary.loc[summary["flagged"]]
    # the bundled example carries a secretory osteoclast population; it is flagged
    # with a large effect, and nothing is flagged in the osteoclast-free bone marrow
    example = flagged.loc[flagged["dataset"] == "example"]
    assert "osteoclast" in set(example["lineage_state"]), summary.to_string()
    assert (example["auroc"] > 0.8).all() and (example["fdr"] < 0.05).all()
    assert "bone_marrow" not in set(flagged["dataset"]), summary.to_string()
    # the summary agrees with the per-input tables
    groups = pd.read_csv(results / "example" / "groups.tsv", sep="\t", dtype={"group": str})
    flagged_groups = set(groups.loc[groups["flagged"].astype(bool), "group"])
    named = {g for cell in example["flagged_groups"] for g in str(cell).split(",")}
    assert named == flagged_groups
    for fmt in ("png", "pdf"):
        assert (results / "summary" / f"summary.{fmt}").stat().st_size > 1000


@pytest.mark.slow
def test_second_run_has_nothing_to_do(workflow_run, two_input_config):
    results, _, _ = workflow_run
    workdir = results.parent
    result = snakemake("-n", "--configfile", two_input_config, "--directory", workdir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
def test_run_fits_the_time_budget(workflow_run):
    _, _, elapsed = workflow_run
    assert elapsed < 240, f"the two-input workflow took {elapsed:.0f} s"


# --------------------------------------------------------------------------- CLI


def run_workflow_cli(*args: str) -> int:
    """``scclast workflow ...`` through its own parser (what `scclast` registers)."""
    from scclast.cli import _workflow

    parser = argparse.ArgumentParser(prog="scclast")
    _workflow.add_parser(parser.add_subparsers(dest="command"))
    parsed = parser.parse_args(["workflow", *args])
    return parsed.func(parsed)


def test_cli_path_and_init(tmp_path, capsys):
    assert run_workflow_cli("path") == 0
    assert capsys.readouterr().out.strip() == str(SNAKEFILE.parent)
    assert run_workflow_cli("path", "--snakefile") == 0
    assert capsys.readouterr().out.strip() == str(SNAKEFILE)
    assert run_workflow_cli("init", str(tmp_path), "--example") == 0
    assert "scclast workflow run --configfile" in capsys.readouterr().out
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["datasets"] == ["example"]


def test_cli_run_dry_run_passes_options_to_snakemake(tmp_path, capfd):
    config = scw.init_config(tmp_path, example=True)
    status = run_workflow_cli(
        "run", "--configfile", str(config), "--directory", str(tmp_path), "-n", "--", "--quiet"
    )
    _, err = capfd.readouterr()
    assert status == 0, err
    assert "--quiet" in err and " -n" in err  # the command it ran is shown
    assert not (tmp_path / "results").exists()


def test_cli_is_registered():
    result = subprocess.run(
        [sys.executable, "-m", "scclast", "workflow", "path"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == scw.workflow_dir()


# --------------------------------------------------------------------------- dask path


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def distributed_task_count(client):
    """Count the tasks the cluster's workers ran inside the block."""
    from dask.distributed import get_task_stream

    with get_task_stream(client) as stream:
        yield lambda: len(stream.data)


@pytest.fixture(scope="module")
def example_h5ad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scclast import datasets

    return scw.write_h5ad(datasets.example(), tmp_path_factory.mktemp("dask") / "example.h5ad")


@pytest.mark.parametrize("method", ["seurat", "ucell", "aucell", "mean"])
def test_dask_path_on_a_local_cluster_gives_the_in_memory_scores(dask_client, example_h5ad, method):
    """The documented large-file path: lazy X in row blocks, scored on 2 dask workers."""
    import anndata as ad
    import h5py
    from anndata.experimental import read_elem_lazy
    from scclast.scoring import score

    sets = ["clastokines_secreted", "clastokines_putative", "coupling_inhibitory"]
    in_memory = ad.read_h5ad(example_h5ad)
    score(in_memory, sets, method=method, seed=0)

    with h5py.File(example_h5ad, "r") as handle:
        var = ad.io.read_elem(handle["var"])
        lazy = ad.AnnData(
            X=read_elem_lazy(handle["X"], chunks=(700, len(var))),  # 5 uneven row blocks
            obs=ad.io.read_elem(handle["obs"]),
            var=var,
        )
        assert lazy.X.numblocks[0] == 5
        with distributed_task_count(dask_client) as tasks:
            score(lazy, sets, method=method, seed=0)
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert tasks() > 0  # the blocks were computed by the cluster's workers
    assert lazy.uns["scclast"]["score"]["input"]["storage"] == "dask"
    for name in sets:
        column = f"scclast_{name}"
        np.testing.assert_allclose(
            lazy.obs[column].to_numpy(), in_memory.obs[column].to_numpy(), rtol=0, atol=1e-10
        )
