"""The receiver gate: osteoblast-lineage groups from cited marker programmes."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import scclast
from scclast import genesets
from scclast._stats import GroupGeneSummary
from scclast.tl._receivers import (
    NOT_RECEIVER,
    RECEIVER_SETS,
    UNDETERMINED,
    ReceiverRules,
    call_receivers,
    receiver_gene_sets,
)

RECEIVERS = ("osteoprogenitor", "osteoblast", "osteocyte")


@pytest.fixture(scope="module")
def every_receiver() -> ad.AnnData:
    return scclast.datasets.simulate_osteoclastogenesis(
        n_cells=1200,
        n_genes=600,
        seed=4,
        extra_states={"osteoprogenitor": 0.08, "osteoblast": 0.08, "osteocyte": 0.08},
    )


def test_receiver_sets_are_cited_descriptive_lineage_sets():
    catalogue = genesets.load()
    for name in ("receiver_osteoprogenitor", "receiver_osteoblast", "receiver_osteocyte"):
        gene_set = catalogue.sets[name]
        assert gene_set.category == "lineage" and gene_set.flags is False
        for member in gene_set.members:
            assert member.references, (name, member.mouse)
            assert set(member.references) <= set(catalogue.references), (name, member.mouse)
    assert receiver_gene_sets("mouse")["osteoprogenitor"] == ["Runx2", "Sp7", "Alpl"]
    assert receiver_gene_sets("mouse")["osteocyte"][:2] == ["Dmp1", "Sost"]
    assert {"Bglap", "Ibsp", "Col1a1"} == set(receiver_gene_sets("mouse")["osteoblast"])
    # no receiver gene may flag a group
    flagging = {g for s in genesets.flagging_sets() for g in genesets.get(s, "mouse")}
    receivers = {g for name in RECEIVER_SETS.values() for g in genesets.get(name, "mouse")}
    assert not flagging & (receivers - set(genesets.get("lineage_myeloid", "mouse")))


def test_simulated_receivers_are_called_and_other_states_are_not(every_receiver):
    scclast.tl.receiver_states(every_receiver, "state_true")
    table = scclast.get.receiver_table(every_receiver).set_index("group")
    for state in RECEIVERS:
        assert table.loc[state, "receiver_state"] == state, table.loc[state, "evidence"]
        assert table.loc[state, "osteoblast_lineage"]
    # stromal cells make Col1a1 (and Ctsk, Mmp9, Acp5) but are not osteoblasts
    assert table.loc["stromal", "receiver_state"] == NOT_RECEIVER
    for state in ("macrophage", "oc_precursor", "osteoclast", "osteoclast_secretory"):
        assert table.loc[state, "receiver_state"] == "myeloid"
    cells = every_receiver.obs["scclast_receiver_state"]
    assert (cells[every_receiver.obs["state_true"] == "osteocyte"] == "osteocyte").all()


def _summary(groups: dict[str, list[str]], genes: list[str]) -> GroupGeneSummary:
    detected = np.array([[90.0 if g in on else 0.0 for g in genes] for on in groups.values()])
    return GroupGeneSummary(genes, list(groups), np.full(len(groups), 100.0), detected, detected)


def test_collagen_needs_osteocalcin_or_bone_sialoprotein_for_an_osteoblast_call():
    sets = receiver_gene_sets("mouse")
    genes = sorted({g for s in sets.values() for g in s})
    groups = {
        "fibroblast": ["Col1a1", "Bglap2"],
        "collagen_and_bsp": ["Col1a1", "Ibsp"],
        "collagen_only_progenitor": ["Col1a1", "Runx2", "Sp7"],
    }
    called = call_receivers(_summary(groups, genes), sets).set_index("group")["receiver_state"]
    assert called["fibroblast"] == NOT_RECEIVER
    assert called["collagen_and_bsp"] == "osteoblast"
    assert called["collagen_only_progenitor"] == "osteoprogenitor"
    # with one gene enough, the anchor alone keeps collagen-only cells out
    one_gene = {"fibroblast": ["Col1a1"]}
    lenient = ReceiverRules(min_genes=1, min_program_fraction=0.3)
    assert call_receivers(_summary(one_gene, genes), sets, lenient)["receiver_state"].tolist() == [
        NOT_RECEIVER
    ]
    no_anchor = ReceiverRules(min_genes=1, min_program_fraction=0.3, osteoblast_anchors=())
    assert call_receivers(_summary(one_gene, genes), sets, no_anchor)[
        "receiver_state"
    ].tolist() == ["osteoblast"]


def test_myeloid_identity_vetoes_a_receiver_call():
    sets = receiver_gene_sets("mouse")
    genes = sorted({g for s in sets.values() for g in s})
    myeloid = sets["myeloid"][:4]
    groups = {
        "neutrophil_like": [*myeloid, "Alpl", "Runx2"],
        "macrophage": myeloid,
        "osteoprogenitor": ["Alpl", "Runx2"],
    }
    called = call_receivers(_summary(groups, genes), sets).set_index("group")["receiver_state"]
    assert called.to_dict() == {
        "neutrophil_like": "myeloid",
        "macrophage": "myeloid",
        "osteoprogenitor": "osteoprogenitor",
    }


def test_ubiquitous_transcripts_do_not_call_receivers():
    """A gene detected as often in myeloid cells (ambient, or a simulator's high
    background) is no evidence of an osteoblast-lineage programme."""
    sets = receiver_gene_sets("mouse")
    genes = sorted({g for s in sets.values() for g in s})
    myeloid = sets["myeloid"][:4]
    everywhere = ["Sost", "Dmp1"]
    groups = {"macrophage": [*myeloid, *everywhere], "stromal": ["Col1a1", *everywhere]}
    called = call_receivers(_summary(groups, genes), sets).set_index("group")["receiver_state"]
    assert called["stromal"] == NOT_RECEIVER
    no_gap = ReceiverRules(min_gap=0.0)
    assert (
        call_receivers(_summary(groups, genes), sets, no_gap)
        .set_index("group")
        .loc["stromal", "receiver_state"]
        == "osteocyte"
    )


def test_most_mature_programme_wins_a_tie_and_relative_strength_decides():
    sets = receiver_gene_sets("mouse")
    genes = sorted({g for s in sets.values() for g in s})
    groups = {
        "osteocyte": ["Bglap", "Ibsp", "Col1a1", "Dmp1", "Sost", "Phex", "Mepe"],
        "osteoblast": ["Bglap", "Ibsp", "Col1a1", "Runx2", "Sp7"],
    }
    called = call_receivers(_summary(groups, genes), sets).set_index("group")["receiver_state"]
    assert called.to_dict() == {"osteocyte": "osteocyte", "osteoblast": "osteoblast"}


def test_unmeasured_programmes_give_undetermined_not_a_guess():
    adata = ad.AnnData(np.ones((20, 3), dtype=np.float32))
    adata.var_names = ["Ptprc", "Gapdh", "Actb"]
    adata.obs["g"] = pd.Categorical(["a"] * 10 + ["b"] * 10)
    scclast.tl.receiver_states(adata, "g", species="mouse")
    states = set(scclast.get.receiver_table(adata)["receiver_state"])
    assert states == {UNDETERMINED}


def test_real_marrow_has_no_osteoblast_lineage_group():
    adata = scclast.datasets.bone_marrow_baccin2020()
    scclast.tl.receiver_states(adata, "celltype")
    table = scclast.get.receiver_table(adata)
    assert not table["osteoblast_lineage"].any(), table[["group", "receiver_state"]]
    assert set(table["receiver_state"]) <= {"myeloid", NOT_RECEIVER, UNDETERMINED}


def test_copy_and_key_added(every_receiver):
    fresh = every_receiver.copy()
    for column in [c for c in fresh.obs if "receiver_state" in c]:
        del fresh.obs[column]
    out = scclast.tl.receiver_states(fresh, "state_true", key_added="run2", copy=True)
    assert "run2_receiver_state" in out.obs and "run2_receiver_state" not in fresh.obs
    assert scclast.get.receiver_table(out, "run2")["osteoblast_lineage"].sum() == 3
    with pytest.raises(scclast.ScclastInputError, match="receiver_states"):
        scclast.get.receiver_table(fresh, "run3")


def test_rules_are_checked():
    with pytest.raises(scclast.ScclastInputError, match="detect_fraction"):
        ReceiverRules(detect_fraction=1.5)
    with pytest.raises(scclast.ScclastInputError, match="missing_genes"):
        ReceiverRules(missing_genes="guess")
    assert ReceiverRules().as_dict()["osteoblast_anchors"] == ["Bglap", "Ibsp", "BGLAP", "IBSP"]
