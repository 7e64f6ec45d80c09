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


def test_list_shows_every_set_with_counts_and_which_can_flag():
    result = run_cli("genesets", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["name", "category", "flags", "n_mouse", "n_human"]
    flagging = set(genesets.flagging_sets())
    for name in genesets.names():
        row = next(line for line in lines if line.startswith(name + " "))
        fields = row.split()
        assert fields[2] == ("yes" if name in flagging else "no"), name
        assert int(fields[3]) == len(genesets.get(name, "mouse"))
        assert int(fields[4]) == len(genesets.get(name, "human"))
    assert sum(line.split()[2] == "yes" for line in lines[1:] if line.strip()) == 2
    assert genesets.catalogue_version() in result.stdout
    assert "only sets marked 'yes' can flag a group" in result.stdout


def test_show_lists_members_with_sources():
    result = run_cli("genesets", "show", "clastokines_secreted", "--species", "human")
    assert result.returncode == 0, result.stderr
    table, caveats = result.stdout.split("caveats (read before", 1)
    rows = table.split("\ngene ", 1)[1]  # the member table, after the set description
    assert "SLIT3" in rows and "Slit3" not in rows
    assert "  SLIT3: Osteoblast-high" in caveats
    slit3_row = next(line for line in table.splitlines() if line.startswith("SLIT3"))
    assert "Kim et al., 2018" in slit3_row
    assert "(clastokine; may flag a group)" in result.stdout


def test_show_prints_the_cell_of_origin_caveats():
    result = run_cli("genesets", "show", "clastokines_putative", "--species", "human")
    assert result.returncode == 0, result.stderr
    caveats = result.stdout.split("caveats (read before", 1)[1]
    flat = " ".join(caveats.split())
    assert "PDGFB: Pdgfb is high in endothelium and in megakaryocytes" in flat
    assert "PDGFRA" in flat and "(Hellstrom et al., 1999;" in flat
    assert "AFM: Afamin is a plasma protein made mainly by the liver" in flat
    descriptive = run_cli("genesets", "show", "coupling_matrix_release")
    assert "(coupling; descriptive; never flags)" in descriptive.stdout


def test_show_names_genes_without_an_ortholog():
    result = run_cli("genesets", "show", "exclusion_neutrophil", "--species", "human")
    assert result.returncode == 0, result.stderr
    assert "no human ortholog, left out: Ly6g, Ngp" in result.stdout
    assert not any(line.startswith("None") for line in result.stdout.splitlines())


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
