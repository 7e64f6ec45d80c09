"""The built wheel, not the source tree, carries every module and data file and finds them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from tests._paths import REPO_ROOT

pytest.importorskip("hatchling")

PACKAGE_DATA = (
    "scclast/gene_sets/catalogue.yaml",
    "scclast/gene_sets/gene_sets.yaml",
    "scclast/workflows/Snakefile",
    "scclast/workflows/schemas/config.schema.yaml",
    "scclast/workflows/config/config.yaml",
    "scclast/datasets/_registry.yaml",
    "scclast/datasets/data/example_osteoclastogenesis.h5ad",
    "scclast/datasets/data/tapseq_baccin_bm/matrix.mtx.gz",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return next(out.glob("scclast-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def _run_outside_tree(code: str, site: Path, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(site), "SCCLAST_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code, str(site)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_wheel_contains_data_and_entry_point(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "scclast = scclast.cli:main" in archive.read(entry_points).decode()
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert not missing


def test_wheel_contains_every_module_of_the_source_tree(wheel: Path):
    # Subpackages (genesets/, testing/, tl/_score/, _matrix/, ...) need their files,
    # __init__.py included, in the wheel; a module left out only fails once installed.
    source = {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "scclast").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert source, "no modules found in the source tree"
    assert sorted(source - names) == []


def test_installed_wheel_finds_catalogue_and_workflow_without_source_tree(
    installed: Path, tmp_path: Path
):
    code = (
        "import scclast, scclast.genesets as g; "
        "from scclast._workflow import workflow_dir; "
        "print(g.catalogue_dir()); print(len(g.get('clastokines_secreted'))); "
        "print(workflow_dir()); print(scclast.__file__)"
    )
    folder, count, workflows, module = _run_outside_tree(code, installed, tmp_path).split()
    assert Path(folder) == installed / "scclast" / "gene_sets"
    assert int(count) >= 9
    assert Path(workflows) == installed / "scclast" / "workflows"
    assert Path(module).is_relative_to(installed)


def test_installed_wheel_imports_every_module(installed: Path, tmp_path: Path):
    code = (
        "import importlib, pkgutil, sys, scclast\n"
        "names = [m.name for m in pkgutil.walk_packages(scclast.__path__, 'scclast.')\n"
        "         if not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.argv[1]), module.__file__\n"
        "for name in ('tl', 'pl', 'get', 'datasets', 'genesets'):\n"
        "    assert getattr(scclast, name).__all__, name\n"
        "print(len(names))\n"
        "print(scclast.datasets.bone_marrow_baccin2020().shape)\n"
    )
    lines = _run_outside_tree(code, installed, tmp_path).splitlines()
    assert int(lines[0]) > 40  # every subpackage's modules, not only the top level
    assert lines[1] == "(180, 9891)"


def test_ci_and_pre_commit_run_the_same_pinned_ruff():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["optional-dependencies"]["test"] if "ruff" in d]
    assert len(pins) == 1 and re.fullmatch(r"ruff==\d+\.\d+\.\d+", pins[0]), pins
    version = pins[0].split("==")[1]
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    (ruff,) = [r for r in config["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    assert ruff["rev"] == f"v{version}"
    assert [hook["id"] for hook in ruff["hooks"]] == ["ruff-check", "ruff-format"]
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert '"$venv/bin/ruff" check .\n' in ci
    assert '"$venv/bin/ruff" format --check .\n' in ci


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_plain_install_brings_everything_a_documented_path_imports():
    """`pip install .` alone must cluster (no --groupby): scanpy's igraph Leiden flavour
    needs python-igraph, which the core dependencies name; leidenalg is not needed."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    core = _requirement_names(pyproject["project"]["dependencies"])
    assert {"scanpy", "anndata", "igraph", "numba", "h5py", "pyyaml", "pooch"} <= core
    assert "leidenalg" not in _requirement_names(
        [r for extra in pyproject["project"]["optional-dependencies"].values() for r in extra]
    )
    cluster = (REPO_ROOT / "scclast" / "tl" / "_cluster.py").read_text()
    assert 'flavor="igraph"' in cluster and "leidenalg" not in cluster


def test_clustering_needs_no_leidenalg(monkeypatch: pytest.MonkeyPatch):
    import scclast

    monkeypatch.setitem(sys.modules, "leidenalg", None)  # import leidenalg now fails
    adata = scclast.datasets.example()[::6].copy()
    scclast.tl.cluster(adata, seed=0)
    assert adata.obs["scclast_leiden"].nunique() > 1


def test_ci_runs_the_plain_install_checks():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert 'pip" install --quiet .\n' in ci or 'pip" install .\n' in ci  # no extra
    assert 'scclast" run --example' in ci
    assert "nocluster.h5ad" in ci and "-q score " in ci
    assert ".[workflow]" in ci and "workflows/.test" in ci
