"""`scclast genesets ...` and the CLI's error contract, run as a user would."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scclast import genesets
from scclast._version import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scclast", *args], capture_output=True, text=True, timeout=120
    )


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"scclast {__version__}"


@pytest.mark.parametrize("args", [["--help"], ["genesets", "--help"], ["genesets", "export", "-h"]])
def test_help_everywhere(args):
    result = run_cli(*args)
    assert result.returncode == 0
    assert "usage: scclast" in result.stdout


def test_list_shows_every_set_with_counts():
    result = run_cli("genesets", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["name", "category", "n_mouse", "n_human"]
    for name in genesets.names():
        row = next(line for line in lines if line.startswith(name + " "))
        fields = row.split()
        assert int(fields[2]) == len(genesets.get(name, "mouse"))
        assert int(fields[3]) == len(genesets.get(name, "human"))
    assert genesets.catalogue_version() in result.stdout


def test_show_lists_members_with_sources():
    result = run_cli("genesets", "show", "clastokines_secreted", "--species", "human")
    assert result.returncode == 0, result.stderr
    assert "SLIT3" in result.stdout and "Slit3" not in result.stdout
    slit3_row = next(line for line in result.stdout.splitlines() if line.startswith("SLIT3"))
    assert "Kim et al., 2018" in slit3_row


def test_export_gmt_to_stdout_is_every_set():
    result = run_cli("genesets", "export", "--species", "mouse", "--format", "gmt")
    assert result.returncode == 0
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert names == genesets.names()
    assert "osteomorph" not in names


def test_export_to_file(tmp_path):
    out = tmp_path / "sets.json"
    result = run_cli("genesets", "export", "--format", "json", "-o", str(out))
    assert result.returncode == 0
    assert '"catalogue_version"' in out.read_text()
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["genesets", "show", "nope"], "unknown gene set 'nope'; available: "),
        (["genesets", "show", "osteomorph"], "McDonald et al. 2021"),
        (["genesets", "show", "coupling_contact", "--species", "rat"], "invalid choice: 'rat'"),
        (["genesets", "export", "-o", "/nonexistent/dir/x.gmt"], "does not exist"),
        (["genesets"], "required"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needle):
    result = run_cli(*args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
