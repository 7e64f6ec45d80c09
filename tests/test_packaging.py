"""The built wheel, not the source tree, carries the catalogue and finds it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests._paths import REPO_ROOT

pytest.importorskip("hatchling")


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


def test_wheel_contains_catalogue_and_entry_point(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "scclast = scclast.cli:main" in archive.read(entry_points).decode()
    assert "scclast/gene_sets/catalogue.yaml" in names
    assert "scclast/gene_sets/gene_sets.yaml" in names
    assert "scclast/workflows/Snakefile" in names
    assert "scclast/workflows/config/schema.yaml" in names
    assert "scclast/datasets/data/example_osteoclastogenesis.h5ad" in names


def test_installed_wheel_finds_catalogue_without_source_tree(wheel: Path, tmp_path: Path):
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    code = (
        "import scclast, scclast.genesets as g; "
        "import scclast.workflow as w; "
        "print(g.catalogue_dir()); print(len(g.get('clastokines_secreted'))); "
        "print(w.workflow_dir())"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    folder, count, workflows = result.stdout.split()
    assert Path(folder) == target / "scclast" / "gene_sets"
    assert int(count) >= 9
    assert Path(workflows) == target / "scclast" / "workflows"
