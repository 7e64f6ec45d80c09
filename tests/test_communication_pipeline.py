"""The coupling section in ``scclast run``: communication.tsv, the map, the skip reason."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import anndata as ad
import pandas as pd
import pytest

import scclast
from scclast import _pipeline as pipeline
from scclast._pipeline._sections._coupling import COUPLING
from scclast._run_options import OPTIONS

RECEIVERS = {"osteoprogenitor": 0.08, "osteoblast": 0.08, "osteocyte": 0.08}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> str:
    adata = scclast.datasets.simulate_osteoclastogenesis(
        n_cells=1000, n_genes=500, seed=3, n_samples=3, extra_states=RECEIVERS
    )
    path = tmp_path_factory.mktemp("coupling") / "simulated.h5ad"
    adata.write_h5ad(path)
    return str(path)


@pytest.fixture(scope="module")
def run_dir(simulated, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scclast.ScclastWarning)
        scclast.run(simulated, out, groupby="cluster", embedding=False, coupling_permutations=100)
    return out


def _section(report: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', report, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def test_run_writes_communication_tsv_the_map_and_the_report_section(run_dir):
    table = pd.read_csv(
        run_dir / "communication.tsv", sep="\t", dtype={"sender": str, "receiver": str}
    )
    assert list(table.columns) == list(scclast.tl._coupling.COLUMNS)
    assert set(table["receiver_state"]) == set(RECEIVERS)
    assert (table["status"] == "scored").any()
    assert (run_dir / "figures" / "coupling_map.png").stat().st_size > 10_000
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    section = _section(report, "coupling")
    assert "Who listens" in section and 'id="img-coupling_map"' in section
    assert "Senders (osteoclast lineage)" in section
    flagged = scclast.get.flagged_groups(
        pd.read_csv(run_dir / "groups.tsv", sep="\t", dtype={"group": str})
    )
    for group in flagged:
        assert f"Group {group} (" in section  # the top pairs of each flagged sender
    assert "Cannot be scored: Afamin" in section
    assert "reverse signalling" in section
    manifest = (run_dir / "run.json").read_text()
    assert '"coupling_permutations": 100' in manifest


def test_named_receivers_through_the_run_option(simulated, tmp_path):
    adata = ad.read_h5ad(simulated)
    states = dict(zip(adata.obs["cluster"].astype(str), adata.obs["state_true"], strict=True))
    osteoblast = next(c for c, s in states.items() if s == "osteoblast")
    parameters = pipeline.run_parameters(
        simulated, groupby="cluster", species="auto", method="seurat", gene_sets=None,
        osteomorph_signature=None, fdr=0.05, seed=0, backed=False,
    )  # fmt: skip
    parameters.update(receivers=osteoblast, coupling_permutations=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scclast.ScclastWarning)
        pipeline.analyse_sections(adata, parameters, sections=pipeline.SECTIONS[:1])
        COUPLING.analyse(adata, parameters, "scclast")
    table = scclast.get.communication_table(adata)
    assert set(table["receiver"]) == {osteoblast}


def test_sample_key_runs_each_sample_on_its_own(simulated):
    adata = ad.read_h5ad(simulated)
    parameters = {"groupby": "cluster", "sample_key": "sample", "coupling_permutations": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scclast.ScclastWarning)
        scclast.tl.flag(adata, "cluster", enrichment=False)
        COUPLING.analyse(adata, parameters, "scclast")
    table = scclast.get.communication_table(adata)
    scored = table[table["status"] == "scored"]
    assert scored["basis"].str.startswith("per sample (3 samples").all()
    assert scored["n_samples_tested"].max() == 3


def test_real_marrow_skips_the_section_with_one_line(tmp_path):
    path = tmp_path / "marrow.h5ad"
    scclast.datasets.bone_marrow_baccin2020().write_h5ad(path)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scclast.ScclastWarning)
        result = scclast.run(path, out, groupby="celltype", embedding=False)
    assert not (out / "communication.tsv").exists()
    assert not (out / "figures" / "coupling_map.png").exists()
    section = _section(result.report.read_text(encoding="utf-8"), "coupling")
    reason = re.search(r'<p class="note">Not part of this run: (.*?)</p>', section).group(1)
    assert reason.startswith("No osteoblast-lineage group")
    assert "\n" not in reason


def test_cli_lists_the_coupling_options():
    names = {option.name for option in OPTIONS if option.section == "coupling"}
    assert names == {"receivers", "coupling_permutations"}
    done = subprocess.run(
        [sys.executable, "-m", "scclast", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--receivers GROUPS" in done.stdout and "--coupling-permutations N" in done.stdout
