"""The Snakemake workflow: its config schema, glue, resources, environment and a real run.

The end-to-end run (one snakemake call with the test config ``workflows/.test``: the
bundled example and a small local h5ad, offline) is shared by every test that checks
outputs (module-scoped fixture). Snakemake runs in a subprocess with
``SCCLAST_OFFLINE=1`` so nothing can download.

Over 600 lines on purpose: it is the one place that checks the workflow's contract end
to end (schema, glue, one home for resources, pinned environment, a real run, the
summary, the CLI, the README's dask path). The summary and dask tests could move to
files of their own without changing anything here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest
import yaml

from scclast import _pipeline as pipeline
from scclast import _workflow as scw
from scclast._errors import ScclastInputError
from scclast._pipeline._sections import FLAGGING
from scclast._run_options import resolve_options
from scclast._version import __version__
from tests._paths import REPO_ROOT

pytest.importorskip("snakemake")

WORKFLOW = REPO_ROOT / "workflows"
SNAKEFILE = WORKFLOW / "Snakefile"
SCHEMA = WORKFLOW / "schemas" / "config.schema.yaml"
CONFIG_DIR = WORKFLOW / "config"
EXAMPLE_CONFIG = CONFIG_DIR / "example.yaml"
TEST_CONFIG = WORKFLOW / ".test" / "config" / "config.yaml"
MAKE_TEST_DATA = WORKFLOW / ".test" / "make_data.py"
SLURM_PROFILE = WORKFLOW / "profiles" / "slurm"
ENV_FILE = WORKFLOW / "envs" / "scclast.yaml"
JOB_RESOURCES = ("mem_mb", "runtime", "threads")
# every name under which snakemake or the SLURM plugin sizes a job
SIZE_NAMES = {*JOB_RESOURCES, "mem", "mem_mib", "mem_mb_per_cpu", "cpus_per_task", "nodes"}


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

    smk_validate(config, str(SCHEMA))
    return config


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def write_groups(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "groups.tsv", sep="\t", index=False)
    return folder


def test_schema_fills_every_default():
    config = validate({"datasets": ["example"]})
    assert config["results"] == "results"
    assert config["samples"] == {}
    assert config["params"] == {
        "groupby": None,
        "species": "auto",
        "backed": False,
        "sample_key": None,
        "options": {},
        "method": "seurat",
        "gene_sets": None,
        "osteomorph_signature": None,
        "fdr": 0.05,
        "seed": 0,
    }
    assert config["summary"] == {"formats": ["png", "pdf"]}
    assert list(config["resources"]) == list(scw.RULES)
    assert config["resources"]["analyse"] == {"mem_mb": 64000, "runtime": 240, "threads": 8}
    # a partial block keeps the other defaults of that rule
    partial = validate({"datasets": ["example"], "resources": {"analyse": {"mem_mb": 9000}}})
    assert partial["resources"]["analyse"] == {"mem_mb": 9000, "runtime": 240, "threads": 8}


def test_template_and_example_configs_are_valid_and_template_holds_the_defaults():
    template = load_yaml(CONFIG_DIR / "config.yaml")
    example = load_yaml(EXAMPLE_CONFIG)
    validate(example)
    assert example["datasets"] == ["example"]
    # the template documents exactly the schema's defaults
    assert validate(dict(template)) == validate({})


def test_test_config_is_its_own_and_sizes_every_rule():
    """The CI config is not the user example: both input kinds, small job sizes."""
    config = validate(load_yaml(TEST_CONFIG))
    assert config != validate(load_yaml(EXAMPLE_CONFIG))
    inputs = scw.inputs_from_config(config)
    assert {item["kind"] for item in inputs.values()} == {"dataset", "sample"}
    raw = load_yaml(TEST_CONFIG)["resources"]
    assert set(raw) == set(scw.RULES)
    assert all(set(sizes) == set(JOB_RESOURCES) for sizes in raw.values())
    assert config["resources"] != validate({})["resources"]


@pytest.mark.parametrize(
    "bad",
    [
        {"datasets": ["example"], "param": {}},  # misspelt key
        {"datasets": ["example"], "params": {"method": "gsva"}},
        {"datasets": ["example"], "params": {"fdr": 0}},
        {"datasets": ["example"], "params": {"species": "rat"}},
        {"samples": {"a": {"groupby": "x"}}},  # no path
        {"samples": {"a": {"path": "a.h5ad", "groupy": "x"}}},  # misspelt per-input key
        {"samples": {"bad name": {"path": "a.h5ad"}}},
        {"datasets": ["summary"]},  # reserved
        {"datasets": [{"name": "x"}]},  # no key
        {"datasets": [{"key": "example", "specis": "mouse"}]},
        {"datasets": ["example"], "summary": {"formats": ["jpg"]}},
        {"datasets": ["example"], "resources": {"analyse": {"mem": 4000}}},
        {"datasets": ["example"], "resources": {"analyse": {"mem_mb": 0}}},
        {"datasets": ["example"], "resources": {"score": {"mem_mb": 4000}}},  # no such rule
    ],
)
def test_schema_rejects_bad_configs(bad):
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError):
        validate(bad)


def test_per_input_settings_agree_between_schema_and_code():
    """A per-input setting (sample_key next) is declared once in the schema, once in code."""
    schema = load_yaml(SCHEMA)
    per_input = set(schema["definitions"]["input_settings"]["properties"])
    assert per_input == set(scw.INPUT_SETTINGS)
    params = validate({})["params"]
    assert {key: params[key] for key in per_input} == scw.INPUT_SETTINGS


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
        "sample_key": None,
        "options": resolve_options({}),
    }
    assert inputs["example_b"]["source"] == "example"
    assert inputs["example_b"]["species"] == "mouse"
    assert inputs["mine"]["kind"] == "sample"
    assert inputs["mine"]["source"] == "data/mine.h5ad"
    assert inputs["mine"]["groupby"] == "cell_type"


def test_input_options_must_be_run_options():
    """A per-input `options:` entry that no section declares fails when the config is read."""
    config = validate({"samples": {"mine": {"path": "x.h5ad", "options": {"colour": "red"}}}})
    with pytest.raises(ScclastInputError, match="unknown run option 'colour'"):
        scw.inputs_from_config(config)


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
    params = {"gene_sets": ["clastokines_secreted", "sets/mine.gmt"], "osteomorph_signature": None}
    assert scw.gene_set_files(params) == ["sets/mine.gmt"]


def test_workflow_is_found_with_its_config_and_profile():
    assert scw.snakefile() == SNAKEFILE
    assert scw.profile_dir("slurm") == SLURM_PROFILE
    assert scw.profile_dir(str(SLURM_PROFILE)) == SLURM_PROFILE  # a user's own folder
    with pytest.raises(ScclastInputError, match="unknown profile"):
        scw.profile_dir("pbs")


def test_init_config_copies_the_template(tmp_path):
    path = scw.init_config(tmp_path)
    assert path.read_text() == (CONFIG_DIR / "config.yaml").read_text()
    with pytest.raises(ScclastInputError, match="exists"):
        scw.init_config(tmp_path)
    example = scw.init_config(tmp_path, example=True, force=True)
    assert load_yaml(example)["datasets"] == ["example"]


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


def test_job_threads_limits_numba_and_restores_it():
    import numba

    before = numba.get_num_threads()
    with scw.job_threads(1) as n:
        assert n == numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with scw.job_threads(10_000) as n:  # never more than numba has
        assert n == numba.config.NUMBA_NUM_THREADS


def test_conda_env_pins_the_version_this_workflow_ships_with():
    env = load_yaml(ENV_FILE)
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    pins = [spec for spec in pip if spec.startswith("scclast")]
    assert pins == [f"scclast[workflow]=={__version__}"], pins


def _rule_resources() -> dict[str, set[str]]:
    """Resource names each rule sets, read from the rule files (``threads`` included)."""
    found: dict[str, set[str]] = {}
    for path in [SNAKEFILE, *sorted((WORKFLOW / "rules").glob("*.smk"))]:
        rule, block = None, False
        for line in path.read_text().splitlines():
            if match := re.match(r"rule (\w+):", line):
                rule, block = match.group(1), False
                found[rule] = set()
            elif rule and re.match(r" {4}threads:", line):
                found[rule].add("threads")
            elif rule and re.match(r" {4}resources:", line):
                block = True
            elif block and (match := re.match(r" {8}(\w+)=", line)):
                found[rule].add(match.group(1))
            elif re.match(r" {4}\w", line):
                block = False
    return found


def _profile_resources(profile: dict) -> dict[str, set[str]]:
    """Resource names a profile sets: ``"*"`` for every rule, else per rule."""
    found: dict[str, set[str]] = {"*": set(profile.get("default-resources") or {})}
    for rule, sizes in (profile.get("set-resources") or {}).items():
        found.setdefault(rule, set()).update(sizes)
    for rule in profile.get("set-threads") or {}:
        found.setdefault(rule, set()).add("threads")
    return found


def test_rules_and_profile_do_not_both_set_a_resource():
    """Job sizes have one home: the config's `resources:`, read by the rules."""
    rules = _rule_resources()
    assert set(rules) == {*scw.RULES, "all"}
    for rule in scw.RULES:
        assert rules[rule] == set(JOB_RESOURCES), rule
    assert rules["all"] == set()
    for path in [SNAKEFILE, *(WORKFLOW / "rules").glob("*.smk")]:  # from the config only
        assert not re.search(r"(mem_mb|runtime)=\d|threads: \d", path.read_text()), path
    profile = _profile_resources(load_yaml(SLURM_PROFILE / "config.yaml"))
    for rule, names in rules.items():
        both = (profile.get(rule, set()) | profile["*"]) & names
        assert not both, f"{rule}: {sorted(both)} set by the rules and the profile"
    assert not set().union(*profile.values()) & SIZE_NAMES  # the profile sizes nothing


def test_rules_and_profile_helpers_see_what_they_should():
    """The two readers above find resources when they are there (so the test can fail)."""
    profile = _profile_resources(
        {"default-resources": {"mem_mb": 1}, "set-resources": {"analyse": {"runtime": 5}}}
    )
    assert profile == {"*": {"mem_mb"}, "analyse": {"runtime"}}
    assert _profile_resources({"set-threads": {"prepare": 8}})["prepare"] == {"threads"}


@pytest.fixture(scope="module")
def test_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory holding the test config's local sample (a real h5ad)."""
    workdir = tmp_path_factory.mktemp("workflow_run")
    runpy.run_path(str(MAKE_TEST_DATA))["write_sample"](workdir)
    return workdir


def _jobs(text: str) -> list[dict[str, str]]:
    """The jobs of a dry run: rule, threads and resources of each."""
    jobs, job = [], None
    for line in text.splitlines():
        if match := re.match(r"(?:local)?rule (\w+):", line):
            job = {"rule": match.group(1), "threads": "1"}
            jobs.append(job)
        elif job is not None and (match := re.match(r"\s+threads: (\d+)", line)):
            job["threads"] = match.group(1)
        elif job is not None and (match := re.match(r"\s+resources: (.*)", line)):
            job.update(dict(item.split("=", 1) for item in match.group(1).split(", ")))
    return jobs


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


def test_dry_run_plans_every_step_with_the_config_resources(tmp_path):
    sample = tmp_path / "data" / "bone_marrow.h5ad"
    sample.parent.mkdir()
    sample.touch()  # a plan only needs the file to exist
    threads = {"prepare": {"threads": 2}, "analyse": {"threads": 3}}
    more = tmp_path / "threads.yaml"  # merged key by key over the test config
    more.write_text(yaml.safe_dump({"resources": threads}))
    result = snakemake(
        "-n",
        "--cores",
        "4",
        "--configfile",
        TEST_CONFIG,
        more,
        "--directory",
        tmp_path,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert _job_counts(output) == {
        "fetch": 1,  # only the registry input; the local sample skips it
        "prepare": 2,
        "analyse": 2,
        "report": 2,
        "summary": 1,
        "all": 1,
        "total": 9,
    }
    sizes = load_yaml(TEST_CONFIG)["resources"]
    for rule, override in threads.items():
        sizes[rule].update(override)
    jobs = [job for job in _jobs(output) if job["rule"] != "all"]
    assert len(jobs) == 8
    for job in jobs:
        got = {key: int(job[key]) for key in JOB_RESOURCES}
        assert got == sizes[job["rule"]], job
    assert not (tmp_path / "results").exists()


def test_slurm_profile_plans_the_jobs_with_the_config_resources(tmp_path):
    sample = tmp_path / "data" / "bone_marrow.h5ad"
    sample.parent.mkdir()
    sample.touch()
    result = snakemake("-n", "--configfile", TEST_CONFIG, "--profile", SLURM_PROFILE, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert load_yaml(SLURM_PROFILE / "config.yaml")["executor"] == "slurm"
    sizes = load_yaml(TEST_CONFIG)["resources"]
    jobs = [job for job in _jobs(output) if job["rule"] != "all"]
    # the test config has no bulk time course, so no timecourse job
    assert {job["rule"] for job in jobs} == set(scw.RULES) - {"timecourse"}
    for job in jobs:  # the profile changes where jobs run, not their size
        want = sizes[job["rule"]]
        assert (int(job["mem_mb"]), int(job["runtime"])) == (want["mem_mb"], want["runtime"])


def test_lint_is_clean(tmp_path):
    for config in (TEST_CONFIG, EXAMPLE_CONFIG):
        result = snakemake("--lint", "--configfile", config, cwd=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "Lints for" not in output
        assert "Congratulations" in output


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


@pytest.fixture(scope="module")
def workflow_run(test_workdir: Path):
    """One real run of the whole workflow with the test config."""
    start = time.perf_counter()
    result = snakemake(
        "--cores", "2", "--configfile", TEST_CONFIG, "--directory", test_workdir, cwd=test_workdir
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-6000:]
    return test_workdir / "results", result, elapsed


@pytest.mark.slow
def test_run_writes_per_input_outputs_and_logs(workflow_run):
    results, _, _ = workflow_run
    sample_path = load_yaml(TEST_CONFIG)["samples"]["bone_marrow"]["path"]
    for name in ("example", "bone_marrow"):
        folder = results / name
        # each input's folder is laid out like a `scclast run` OUTDIR: the flagging
        # tables always, a section's tables when it applied (run.json lists them)
        manifest = json.loads((folder / "run.json").read_text())
        listed = {name.rstrip("/") for name in manifest["outputs"]}
        core = {*FLAGGING.files, "annotated.h5ad", "report.html", pipeline.MANIFEST}
        assert core <= listed
        for output in ("prepared.h5ad", *listed - {"figures"}):
            assert (folder / output).is_file(), output
        for output in set(pipeline.OUTPUT_FILES) - listed:
            assert not (folder / output).exists(), output
        html = (folder / "report.html").read_text()
        assert html.lstrip().lower().startswith("<!doctype html")
        assert any((folder / "figures").iterdir())
        prepared = anndata.read_h5ad(folder / "prepared.h5ad", backed="r")
        embedding = prepared.uns["scclast"]["embedding"]
        prepared.file.close()
        # both inputs ship a 2-D embedding (the example since it stores its UMAP)
        assert not bool(embedding["computed"])
        assert manifest["parameters"]["seed"] == 0
        assert manifest["parameters"]["input"] == ("example" if name == "example" else sample_path)
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
def test_second_run_has_nothing_to_do(workflow_run):
    results, _, _ = workflow_run
    workdir = results.parent
    result = snakemake("-n", "--configfile", TEST_CONFIG, "--directory", workdir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
def test_run_fits_the_time_budget(workflow_run):
    _, _, elapsed = workflow_run
    assert elapsed < 240, f"the two-input workflow took {elapsed:.0f} s"


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


def test_write_summary_writes_table_and_reproducible_figures(tmp_path):
    a = write_groups(
        tmp_path / "a", _groups([("0", "osteoclast", "clastokines_secreted", 0.9, 0.001, True)])
    )
    b = write_groups(
        tmp_path / "b", _groups([("x", "macrophage", "clastokines_secreted", 0.3, 0.9, False)])
    )
    out = tmp_path / "out"
    figures = [out / "summary.png", out / "summary.pdf", out / "summary.svg"]
    summary = scw.write_summary({"a": a, "b": b}, out / "summary.tsv", figures)
    written = pd.read_csv(out / "summary.tsv", sep="\t")
    assert written["dataset"].tolist() == ["a", "b"]
    assert written["flagged"].tolist() == [True, False]
    assert len(summary) == 2
    assert figures[0].read_bytes()[:4] == b"\x89PNG"
    assert figures[1].read_bytes()[:4] == b"%PDF"
    assert b"<svg" in figures[2].read_bytes()[:1000]
    first = [path.read_bytes() for path in figures[:2]]
    scw.write_summary({"a": a, "b": b}, out / "summary.tsv", figures)
    assert [path.read_bytes() for path in figures[:2]] == first  # no timestamps


def test_run_summary_marks_flagged_states_and_follows_the_pl_rules(tmp_path):
    from matplotlib.figure import Figure

    from scclast.pl._style import FLAG_MARK
    from scclast.pl._summary import run_summary

    table = pd.DataFrame(
        {
            "dataset": ["a", "a", "b", "b"],
            "lineage_state": ["osteoclast", "macrophage", "oc_precursor", "macrophage"],
            "flagged": [True, False, False, False],
            "auroc": [0.91, 0.35, 0.6, np.nan],
        }
    )
    assert run_summary(table) is None  # the return rule
    fig = run_summary(table, return_fig=True, save=tmp_path / "summary")
    assert (tmp_path / "summary.png").is_file() and (tmp_path / "summary.pdf").is_file()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["macrophage", "oc_precursor", "osteoclast"]  # by maturity
    texts = [t.get_text() for t in ax.texts]
    assert f"0.91{FLAG_MARK}" in texts and "0.35" in texts
    assert "n/a" in texts  # present in b, but without an AUROC
    assert texts.count("absent") == 2  # oc_precursor in a, osteoclast in b
    own = Figure().add_subplot()
    assert run_summary(table, ax=own, return_fig=True) is own.figure
    empty = run_summary(table.iloc[:0], return_fig=True)
    assert "No runs to summarise." in [t.get_text() for t in empty.axes[0].texts]


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
    assert load_yaml(tmp_path / "config.yaml")["datasets"] == ["example"]


def test_cli_run_dry_run_passes_options_to_snakemake(tmp_path, capfd):
    config = scw.init_config(tmp_path, example=True)
    status = run_workflow_cli(
        "run", "--configfile", str(config), "--directory", str(tmp_path), "-n", "--", "--quiet"
    )
    _, err = capfd.readouterr()
    assert status == 0, err
    assert "--quiet" in err and " -n" in err  # the command it ran is shown
    assert not (tmp_path / "results").exists()


def test_cli_run_without_snakemake_names_the_extra(tmp_path, monkeypatch, capsys):
    """Without snakemake, one line says what to install and the status is 2."""
    from scclast import cli

    config = scw.init_config(tmp_path, example=True)
    monkeypatch.setitem(sys.modules, "snakemake", None)  # find_spec: not installed

    def no_subprocess(*args, **kwargs):
        raise AssertionError("snakemake must not be started")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert cli.main(["workflow", "run", "--configfile", str(config), "-n"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert 'pip install "scclast[workflow]"' in err
    # path and init need no snakemake
    assert cli.main(["workflow", "path"]) == 0


def test_cli_is_registered():
    result = subprocess.run(
        [sys.executable, "-m", "scclast", "workflow", "path"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == scw.workflow_dir()


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
    """The README's large-file path: lazy X in row blocks, scored on 2 dask workers."""
    import anndata as ad
    import h5py
    from anndata.experimental import read_elem_lazy

    from scclast import tl
    from scclast._keys import Keys, Step

    sets = ["clastokines_secreted", "clastokines_putative", "coupling_inhibitory"]
    in_memory = ad.read_h5ad(example_h5ad)
    tl.score(in_memory, sets, method=method, seed=0)

    with h5py.File(example_h5ad, "r") as handle:
        var = ad.io.read_elem(handle["var"])
        lazy = ad.AnnData(
            X=read_elem_lazy(handle["X"], chunks=(700, len(var))),  # 5 uneven row blocks
            obs=ad.io.read_elem(handle["obs"]),
            var=var,
        )
        assert lazy.X.numblocks[0] == 5
        with distributed_task_count(dask_client) as tasks:
            tl.score(lazy, sets, method=method, seed=0)
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert tasks() > 0  # the blocks were computed by the cluster's workers
    keys = Keys()
    assert keys.record(lazy, Step.SCORE)["input"]["storage"] == "dask"
    for name in sets:
        column = keys.score(name)
        np.testing.assert_allclose(
            lazy.obs[column].to_numpy(), in_memory.obs[column].to_numpy(), rtol=0, atol=1e-10
        )
