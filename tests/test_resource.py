"""The catalogue's ligand-receptor pairs as a LIANA+ resource, and the comparison page."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import scclast
from scclast import genesets
from scclast.genesets._receptors import RESOURCE_COLUMNS
from tests._paths import REPO_ROOT


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_resource_has_one_row_per_pair_with_the_catalogues_annotations(species):
    resource = genesets.coupling_resource(species)
    assert tuple(resource.columns) == RESOURCE_COLUMNS
    pairs = genesets.ligand_receptor_pairs(species)
    assert len(resource) == len(pairs)
    assert not resource.duplicated(["ligand", "receptor"]).any()
    for column in ("effect", "direction", "evidence", "citation", "references"):
        assert (resource[column].astype(str) != "").all(), column
    assert set(resource["effect"]) <= set(genesets.EFFECTS)
    by_factor = resource.set_index("factor")
    rank = by_factor.loc["vesicular_rank"]
    assert rank["direction"] == "reverse" and "oriented by hand" in rank["note"]
    assert not rank["ligand_measurable"]
    s1p = resource[resource["factor"] == "s1p"]
    assert set(s1p["ligand"]) == {"Sphk1_Spns2" if species == "mouse" else "SPHK1_SPNS2"}
    assert s1p["note"].str.contains("Gene proxy").all()
    assert "Contact route" in by_factor.loc["connexin43", "note"]
    assert by_factor.loc["slit3", "citation"].iloc[0] == "Kim et al., 2018"
    # the Table 1 N/A rows are paired only through outside sources, and say so
    assert set(by_factor.loc["wnt10b", "source"]) == {"outside_review"}


def test_unpaired_factors_say_why_they_cannot_be_scored():
    unpaired = genesets.unpaired_factors("mouse").set_index("factor")
    assert set(unpaired.index) == {"afamin", "mir324"}
    assert "no receptor" in unpaired.loc["afamin", "reason"]
    assert "poly(A)" in unpaired.loc["mir324", "reason"]


def test_annotations_off_gives_exactly_what_liana_reads():
    plain = genesets.coupling_resource("mouse", annotations=False)
    assert plain.columns.tolist() == ["ligand", "receptor"]
    assert plain.equals(genesets.coupling_resource("mouse")[["ligand", "receptor"]])


def test_exported_resource_runs_in_liana():
    """Round trip: the export, as is, is a resource LIANA+'s methods take."""
    li = pytest.importorskip("liana")
    adata = scclast.datasets.simulate_osteoclastogenesis(
        n_cells=600, n_genes=500, seed=5, extra_states={"osteoblast": 0.2}
    )
    adata.X = adata.X.copy()
    totals = np.asarray(adata.X.sum(axis=1)).ravel()
    adata.X = adata.X.multiply(1e4 / totals[:, None]).tocsr()
    adata.X.data = np.log1p(adata.X.data)
    resource = genesets.coupling_resource("mouse", annotations=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = li.mt.cellphonedb(
            adata,
            groupby="state_true",
            resource=resource,
            n_perms=20,
            seed=0,
            use_raw=False,
            inplace=False,
        )
    scored = set(zip(result["ligand_complex"], result["receptor_complex"], strict=True))
    assert ("Sphk1_Spns2", "S1pr3") in scored  # a ligand complex, all subunits required
    assert ("Ctf1", "Il6st_Lifr") in scored  # a receptor complex
    assert scored <= set(zip(resource["ligand"], resource["receptor"], strict=True))


def test_comparison_with_the_consensus_resource():
    li = pytest.importorskip("liana")
    consensus = li.resource.select_resource("consensus")
    table = genesets.compare_resources(genesets.coupling_resource("human"), consensus)
    status = table.set_index(["ligand", "receptor"])["status"]
    assert status[("SLIT3", "ROBO1")] == "has"
    assert status[("TNFRSF11A", "TNFSF11")] == "orients differently"
    assert status[("SPHK1_SPNS2", "S1PR1")] == "lacks"
    assert status[("GJA1", "GJA1")] == "lacks"
    assert status[("CTHRC1", "ROR2_TPBG")] == "has another complex"
    assert set(table["status"]) <= set(genesets.COMPARISON_STATUSES)


def test_compare_resources_statuses_on_a_small_case():
    ours = pd.DataFrame(
        {"ligand": ["A", "B", "C", "D", "E"], "receptor": ["R1", "R2_R3", "R4", "R5", "R6"]}
    )
    theirs = pd.DataFrame({"ligand": ["A", "R4", "B", "X"], "receptor": ["R1", "C", "R3_R9", "R5"]})
    table = genesets.compare_resources(ours, theirs)
    assert table["status"].tolist() == [
        "has",
        "has another complex",
        "orients differently",
        "lacks",
        "lacks",
    ]
    assert table.loc[1, "matches"] == "B -> R3_R9"


def test_the_comparison_page_in_the_docs_is_current():
    pytest.importorskip("liana")
    script = REPO_ROOT / "scripts" / "compare_liana_resource.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    page = (REPO_ROOT / "docs" / "coupling_liana_comparison.md").read_text(encoding="utf-8")
    assert "| orients differently | 1 | 1 |" in page
