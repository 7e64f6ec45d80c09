"""gseapy prerank per group: offline, small catalogue sets kept, never dropped."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from scclast import genesets, get, tl
from scclast._errors import ScclastInputError
from scclast._matrix import expression_view, normalised_anndata
from scclast.testing import simulate_groups as simulate
from scclast.tl._enrichment import COLUMNS, prerank_groups

PLANTED = ["Wnt10b", "Cthrc1", "Slit3", "Lif", "C3"]


@pytest.fixture(scope="module")
def data():
    return simulate(
        {"macrophage": 80, "osteoclast": 80, "osteoclast_secretory": 60},
        seed=11,
        n_background=600,
        lineage_of={"osteoclast_secretory": "osteoclast"},
        program={"osteoclast_secretory": PLANTED},
    )


def test_prerank_runs_offline_on_every_catalogue_set(data):
    # conftest blocks every non-loopback connection: this would fail if gseapy
    # tried to fetch Enrichr libraries.
    adata = data.copy()
    assert tl.prerank(adata, "state_true", "all", permutation_num=100) is None
    table = get.enrichment_table(adata)
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 3 * len(genesets.names())  # every group x every set
    assert set(table["gene_set"]) == set(genesets.names())
    small = table[table["gene_set"] == "coupling_inhibitory"]  # 3 genes: gseapy drops it
    assert small["nes"].notna().all()  # by default (min_size=15); we do not
    absent = table[table["gene_set"] == "coupling_contact"]  # not in these data
    assert absent["nes"].isna().all()
    assert absent["enrichment_note"].str.startswith("not computed: 0 of 2 genes").all()
    parameters = adata.uns["scclast"]["enrichment"]["parameters"]
    assert parameters["permutation_num"] == 100 and parameters["groupby"] == "state_true"


def test_planted_program_is_enriched(data):
    normalised = normalised_anndata(expression_view(data), data.obs_names)
    normalised.obs["state_true"] = data.obs["state_true"].to_numpy()
    sets = {"clastokines_secreted": genesets.get("clastokines_secreted")}
    table = prerank_groups(normalised, "state_true", sets, permutation_num=200, seed=0)
    row = table[table["group"] == "osteoclast_secretory"].iloc[0]
    assert row["nes"] > 1.0 and row["nes_pvalue"] < 0.05
    assert set(row["lead_genes"].split(",")) & set(PLANTED)
    again = prerank_groups(normalised, "state_true", sets, permutation_num=200, seed=0)
    assert np.allclose(table["nes"], again["nes"])
    assert table["nes_pvalue"].equals(again["nes_pvalue"])


def test_sets_outside_the_ranking_are_reported_not_dropped(data):
    normalised = normalised_anndata(expression_view(data), data.obs_names)
    normalised.obs["g"] = data.obs["state_true"].to_numpy()
    sets = {"absent": ["NotAGene1", "NotAGene2"], "one": ["Slit3"], "two": ["Slit3", "Lif"]}
    table = prerank_groups(normalised, "g", sets, permutation_num=50, min_size=2)
    assert len(table) == 3 * 3
    absent = table[table["gene_set"] == "absent"]
    assert absent["nes"].isna().all()
    assert absent["enrichment_note"].str.contains("0 of 2 genes in the ranking").all()
    one = table[table["gene_set"] == "one"]
    assert one["nes"].isna().all() and one["enrichment_note"].str.contains("min_size 2").all()
    assert table[table["gene_set"] == "two"]["nes"].notna().all()


def test_small_groups_are_listed_untested(data):
    adata = data[:200].copy()
    adata.obs["g"] = ["a"] * 100 + ["b"] * 99 + ["c"]
    tl.prerank(adata, "g", ["clastokines_secreted"], permutation_num=50, min_cells=5)
    table = get.enrichment_table(adata)
    assert sorted(table["group"]) == ["a", "b", "c"]
    lone = table[table["group"] == "c"].iloc[0]
    assert np.isnan(lone["nes"]) and "fewer than 5 cells" in lone["enrichment_note"]
    assert table.loc[table["group"] != "c", "nes"].notna().all()


def test_prerank_copy_and_key_added(data):
    adata = data.copy()
    copy = tl.prerank(
        adata,
        "state_true",
        ["clastokines_secreted"],
        permutation_num=50,
        key_added="gsea",
        copy=True,
    )
    assert isinstance(copy, ad.AnnData) and copy is not adata
    assert "gsea" not in adata.uns and "scclast" not in adata.uns
    table = get.enrichment_table(copy, "gsea")
    assert len(table) == 3 and set(table["gene_set"]) == {"clastokines_secreted"}
    with pytest.raises(ScclastInputError, match=r"run scclast\.tl\.prerank first"):
        get.enrichment_table(copy)


def test_bad_enrichment_parameters_are_refused(data):
    normalised = normalised_anndata(expression_view(data), data.obs_names)
    normalised.obs["g"] = data.obs["state_true"].to_numpy()
    with pytest.raises(ScclastInputError, match="min_size=0"):
        prerank_groups(normalised, "g", {"s": ["Slit3"]}, min_size=0)
    with pytest.raises(ScclastInputError, match="rank method 'logreg'"):
        prerank_groups(normalised, "g", {"s": ["Slit3"]}, rank_method="logreg")
    with pytest.raises(ScclastInputError, match="groupby='nope'"):
        tl.prerank(data.copy(), "nope")


def test_prerank_of_given_rankings_says_what_was_ranked():
    from scclast.tl._enrichment import prerank_rankings

    genes = [f"G{i}" for i in range(60)]
    top = pd.Series(np.linspace(3.0, -3.0, 60), index=genes)
    table = prerank_rankings(
        {"up": top, "down": -top},
        {"lead": genes[:5], "absent": ["NotAGene"]},
        permutation_num=100,
        notes={"up": "descriptive; replicate-aware ranking", "down": "descriptive; cell-level"},
    )
    assert list(table.columns) == list(COLUMNS) and len(table) == 4
    lead = table[table["gene_set"] == "lead"].set_index("group")
    assert lead.loc["up", "nes"] > 0 > lead.loc["down", "nes"]
    assert lead.loc["up", "enrichment_note"].endswith("; descriptive; replicate-aware ranking")
    assert lead.loc["down", "enrichment_note"].endswith("; descriptive; cell-level")
    absent = table[table["gene_set"] == "absent"]
    assert absent["nes"].isna().all()
    with pytest.raises(ScclastInputError, match="min_size=0"):
        prerank_rankings({"up": top}, {"lead": genes[:5]}, min_size=0)
