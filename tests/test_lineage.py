"""Lineage states per group: myeloid gate first, evidence, coverage, osteomorph."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from scclast import genesets, get, tl
from scclast._errors import ScclastInputError
from scclast._keys import Keys
from scclast._stats import GroupGeneSummary
from scclast.testing import simulate_groups as simulate
from scclast.tl import STATES, LineageRules
from scclast.tl._lineage import lineage_gene_sets
from scclast.tl._lineage_rules import (
    MYELOID_OTHER,
    NON_LINEAGE,
    OSTEOCLAST,
    OSTEOMORPH,
    UNDETERMINED,
    call_states,
)
from tests._paths import TEST_DATA

SETS = lineage_gene_sets("mouse")


def _summary(detection: dict[str, dict[str, float]], genes: list[str] | None = None):
    """A summary of 100 cells per group with the given per-gene detection rates."""
    groups = list(detection)
    genes = genes or sorted({g for s in SETS.values() for g in s})
    rates = np.array([[detection[gr].get(g, 0.0) for g in genes] for gr in groups])
    n = np.full(len(groups), 100.0)
    return GroupGeneSummary(genes, groups, n, rates * 100, rates * 100)


def _on(*names: str, rate: float = 0.9) -> dict[str, float]:
    return {g: rate for name in names for g in SETS[name]}


def _states(table):
    return dict(zip(table["group"], table["lineage_state"], strict=True))


def _lineage_states(adata, groupby: str, **kwargs) -> pd.DataFrame:
    """Call the states in place (the return rule: ``None``) and read the table back."""
    assert tl.lineage_states(adata, groupby, **kwargs) is None
    return get.lineage_table(adata, kwargs.get("key_added", "scclast"))


def test_osteoclast_genes_without_myeloid_identity_are_non_lineage():
    summary = _summary(
        {
            "stromal": {g: 0.95 for g in SETS["osteoclast"]},
            "osteoclasts": _on("myeloid", "osteoclast", "oc_precursor"),
        }
    )
    table = call_states(summary, SETS)
    assert _states(table) == {"stromal": NON_LINEAGE, "osteoclasts": OSTEOCLAST}
    stromal = table.set_index("group").loc["stromal"]
    assert not stromal["osteoclast_lineage"]
    assert "myeloid 7/7 in data, 0 detected: absent" in stromal["evidence"]


def test_each_state_is_called_from_its_program():
    summary = _summary(
        {
            "mac": {**_on("myeloid", "macrophage"), **_on("oc_precursor", rate=0.3)},
            "pre": {**_on("myeloid", "oc_precursor"), **_on("osteoclast", rate=0.4)},
            "oc": {**_on("myeloid", "osteoclast"), **_on("oc_precursor", rate=0.7)},
            "neutro": _on("myeloid"),
        }
    )
    assert _states(call_states(summary, SETS)) == {
        "mac": "macrophage",
        "pre": "oc_precursor",
        "oc": "osteoclast",
        "neutro": MYELOID_OTHER,
    }


def test_one_or_two_osteoclast_genes_are_not_a_mature_osteoclast():
    two = {"Acp5": 0.9, "Ctsk": 0.9}
    summary = _summary({"g": {**_on("myeloid"), **two}})
    assert _states(call_states(summary, SETS))["g"] == MYELOID_OTHER


def test_ambient_osteoclast_transcripts_do_not_make_a_second_osteoclast_group():
    summary = _summary(
        {
            "oc": _on("myeloid", "osteoclast", rate=0.95),
            "mac": {**_on("myeloid", "macrophage"), **_on("osteoclast", rate=0.3)},
        }
    )
    rules = LineageRules(min_program_fraction=0.5, relative_to_best=0.5)
    states = _states(call_states(summary, SETS, rules))
    assert states == {"oc": OSTEOCLAST, "mac": "macrophage"}


def test_low_coverage_is_undetermined_not_guessed():
    genes = ["Sphk1", "Acp5", "Ctsk", "Mmp9"]  # no myeloid gene measured
    summary = _summary({"g": {"Acp5": 1.0, "Ctsk": 1.0, "Mmp9": 1.0}}, genes=genes)
    table = call_states(summary, SETS, n_vars=240)
    assert _states(table)["g"] == UNDETERMINED
    assert "not assessable (low coverage)" in table["evidence"].iloc[0]
    assert table["myeloid_coverage"].iloc[0] == "0/7"


def test_missing_genes_of_a_whole_transcriptome_count_as_undetected():
    genes = [g for g in sorted({g for s in SETS.values() for g in s}) if g not in ("Ctsk",)]
    genes = [g for g in genes if g not in SETS["macrophage"]]
    detection = {"g": {**_on("myeloid"), **_on("oc_precursor")}}
    unmeasured = call_states(_summary(detection, genes), SETS, n_vars=300)
    undetected = call_states(_summary(detection, genes), SETS, n_vars=20000)
    assert "macrophage 0/5 in data: not assessable" in unmeasured["evidence"].iloc[0]
    assert "missing genes count as undetected" in undetected["evidence"].iloc[0]
    assert _states(undetected)["g"] == "oc_precursor"
    with pytest.raises(ScclastInputError, match="missing_genes"):
        LineageRules(missing_genes="maybe")


def test_osteomorph_only_with_a_signature_and_above_other_groups():
    signature = ["Ccl9", "Cd74", "Vcam1", "Tnfrsf11b"]
    sets = {**SETS, OSTEOMORPH: signature}
    genes = sorted({g for s in sets.values() for g in s})
    detection = {
        "oc": _on("myeloid", "osteoclast"),
        "om": {**_on("myeloid", "osteoclast"), **{g: 0.8 for g in signature}},
        "mac": _on("myeloid", "macrophage"),
    }
    assert OSTEOMORPH not in _states(call_states(_summary(detection, genes), SETS)).values()
    states = _states(call_states(_summary(detection, genes), sets))
    assert states == {"oc": OSTEOCLAST, "om": OSTEOMORPH, "mac": "macrophage"}
    assert lineage_gene_sets("mouse", {"a": signature[:2], "b": signature[1:]})[OSTEOMORPH] == (
        signature
    )
    with pytest.raises(ScclastInputError, match="single string"):
        lineage_gene_sets("mouse", {"a": "Ccl9"})


def test_rules_are_validated():
    with pytest.raises(ScclastInputError, match="detect_fraction"):
        LineageRules(detect_fraction=1.5)
    with pytest.raises(ScclastInputError, match="min_osteoclast_genes"):
        LineageRules(min_osteoclast_genes=0)


def test_lineage_states_on_simulated_cells_writes_obs_and_uns():
    adata = simulate(
        {"macrophage": 80, "oc_precursor": 80, "osteoclast": 80, "stromal": 60}, seed=3
    )
    table = _lineage_states(adata, "state_true")
    assert _states(table) == {
        "macrophage": "macrophage",
        "oc_precursor": "oc_precursor",
        "osteoclast": OSTEOCLAST,
        "stromal": NON_LINEAGE,
    }
    assert table["osteoclast_lineage"].dtype == bool
    assert table["osteoclast_lineage"].tolist() == [True, True, True, False]
    column = Keys().lineage_state
    assert column == "scclast_lineage_state"
    per_cell = adata.obs[column].astype(str)
    assert (per_cell == adata.obs["state_true"].astype(str).replace("stromal", NON_LINEAGE)).all()
    assert set(adata.obs[column].cat.categories) <= set(STATES)
    block = adata.uns["scclast"]["lineage"]
    assert block["rules"] == LineageRules().as_dict()
    assert block["parameters"]["groupby"] == "state_true"
    assert block["table"].shape[0] == 4
    assert get.scores(adata).columns.tolist() == [column]


def test_lineage_states_key_added_and_copy():
    adata = simulate({"macrophage": 40, "osteoclast": 40, "stromal": 30}, seed=4)
    before = adata.obs.copy()
    copy = tl.lineage_states(adata, "state_true", key_added="mine", copy=True)
    assert isinstance(copy, ad.AnnData) and copy is not adata
    pd.testing.assert_frame_equal(adata.obs, before)
    assert "mine" not in adata.uns
    assert "mine_lineage_state" in copy.obs and "scclast_lineage_state" not in copy.obs
    assert _states(get.lineage_table(copy, "mine")) == {
        "macrophage": "macrophage",
        "osteoclast": OSTEOCLAST,
        "stromal": NON_LINEAGE,
    }
    with pytest.raises(ScclastInputError, match="found under key_added='mine'"):
        get.lineage_table(copy)


def test_lineage_states_missing_groupby_lists_columns():
    adata = simulate({"osteoclast": 20}, seed=0)
    with pytest.raises(
        ScclastInputError, match=r"groupby='cluster'.*available columns: state_true"
    ):
        tl.lineage_states(adata, "cluster")


def test_real_bone_marrow_never_has_a_mature_osteoclast():
    from scclast.datasets import read_mtx_folder

    adata = read_mtx_folder(TEST_DATA / "tapseq_baccin_bm")
    for rules in (
        LineageRules(),
        LineageRules(missing_genes="unmeasured", min_coverage=0.0, min_measured=1),
    ):
        states = _states(_lineage_states(adata, "celltype", rules=rules))
        assert OSTEOCLAST not in states.values()
        assert OSTEOMORPH not in states.values()
        # Erythroblasts detect Acp5 in about half their cells but have no myeloid identity.
        assert states["Erythroblasts"] == NON_LINEAGE
    assert genesets.get("state_osteoclast")[0] == "Acp5"


def test_precursor_call_needs_rank_detected():
    without_rank = {g: 0.9 for g in SETS["oc_precursor"] if g != "Tnfrsf11a"}
    summary = _summary(
        {
            "neutrophil_like": {**_on("myeloid"), **without_rank},
            "precursors": _on("myeloid", "oc_precursor"),
        }
    )
    assert _states(call_states(summary, SETS)) == {
        "neutrophil_like": MYELOID_OTHER,
        "precursors": "oc_precursor",
    }
    loosened = call_states(summary, SETS, LineageRules(precursor_requires_rank=False))
    assert _states(loosened)["neutrophil_like"] == "oc_precursor"


def test_real_bone_marrow_has_no_osteoclast_lineage_group():
    from scclast.datasets import bone_marrow_baccin2020

    adata = bone_marrow_baccin2020()
    table = _lineage_states(adata, "celltype")
    assert set(table["lineage_state"]) == {MYELOID_OTHER, NON_LINEAGE}
    non_lineage = table.loc[table["lineage_state"] == NON_LINEAGE, "group"]
    assert sorted(non_lineage) == ["Erythroblasts", "pro-B"]
