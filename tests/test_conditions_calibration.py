"""What the condition comparison claims, on simulated 3 vs 3 animals.

* a planted 2x clastokine change in one group's cells of the treated animals is found
  (FDR <= 0.05), gene by gene and as a set;
* a change in one animal only is not;
* a composition shift (osteoclasts 2x in the treated animals) is found;
* null data (no condition effect; animals differ in depth, composition and gene level)
  give at most 5% false positives over 40 seeds, per kind of test.

Every simulation is seeded, so the figures are exact for given library versions. The null
figures (printed with ``-s``) at the time of writing (PyDESeq2 0.5.4, statsmodels 0.15.0),
one osteoclast group per seed, 40 seeds:

=========  =====  ===============  ==============================
test       tests  p < 0.05 (rate)  seeds with a call at FDR 0.05
=========  =====  ===============  ==============================
genes      1053   2.4%             2.5% (1 of 40)
sets        238   2.9%             5.0% (2 of 40)
abundance   200   5.5%             2.5% (1 of 40)
=========  =====  ===============  ==============================

A wider run (three groups per seed, same seeds) gave genes 2.5%, sets 3.4%, abundance
5.5% of p-values below 0.05, and a call in 2.5% of seeds for each kind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scclast

ANIMALS = {"n_samples": 6, "conditions": 2, "sample_gene_sd": 0.1}
OSTEOCLASTS = "2"
PRECURSORS = "1"
NULL_SEEDS = range(1000, 1040)
FDR = 0.05


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    adata = scclast.datasets.simulate_osteoclastogenesis(
        n_cells=1500,
        n_genes=500,
        seed=11,
        composition_concentration=100.0,
        condition_effects=[
            {"programme": "clastokines", "states": ["osteoclast"], "fold": 2.0,
             "condition": "treated"}
        ],
        programme_effects=[
            {"programme": "clastokines", "states": ["oc_precursor"], "fold": 2.0,
             "samples": ["animal5"]}
        ],
        composition_shift={"treated": {"osteoclast": 2.0}},
        **ANIMALS,
    )  # fmt: skip
    genes = list(adata.uns["scclast_simulation"]["effects"]["condition_effects"]["0"]["genes"])
    scclast.tl.compare_conditions(
        adata, "condition", sample_key="sample", groupby="cluster",
        groups=[PRECURSORS, OSTEOCLASTS], n_background=100,
    )  # fmt: skip
    return scclast.get.condition_table(adata), scclast.get.abundance_table(adata), genes


def test_a_planted_2x_change_in_the_treated_animals_osteoclasts_is_found(planted):
    table, _, genes = planted
    rows = table[(table["group"] == OSTEOCLASTS) & table["feature"].isin(genes)]
    assert len(rows) == len(genes) == 9
    assert (rows["fdr"] <= FDR).all(), rows[["feature", "log2fc", "fdr"]]
    # the estimate is a 2x change: every interval holds log2(2) = 1
    assert ((rows["ci_low"] < 1) & (rows["ci_high"] > 1)).mean() >= 0.8
    secreted = table.set_index(["group", "feature"]).loc[(OSTEOCLASTS, "clastokines_secreted")]
    assert secreted["fdr"] <= FDR and 0.7 < secreted["log2fc"] < 1.3


def test_a_change_in_one_animal_only_is_not_called(planted):
    table, _, genes = planted
    rows = table[table["group"] == PRECURSORS]
    assert rows["tested"].all()
    assert not (rows["fdr"] <= FDR).any(), rows.loc[rows["fdr"] <= FDR, ["feature", "fdr"]]
    # it is there to see, just not a condition effect: the planted genes lean up
    assert rows.loc[rows["feature"].isin(genes), "log2fc"].median() > 0


def test_a_composition_shift_is_found(planted):
    _, abundance, _ = planted
    osteoclasts = abundance.set_index("group").loc[OSTEOCLASTS]
    assert osteoclasts["fdr"] <= FDR
    assert 1.5 < osteoclasts["share_ratio"] < 3.0
    assert osteoclasts["estimate"] > 0 and osteoclasts["ci_low"] > 0


def _null_counts(seed: int) -> dict[str, int]:
    adata = scclast.datasets.simulate_osteoclastogenesis(
        n_cells=900, n_genes=400, seed=seed, composition_concentration=100.0, **ANIMALS
    )
    scclast.tl.compare_conditions(
        adata, "condition", sample_key="sample", groupby="cluster", groups=[OSTEOCLASTS],
        n_background=60,
    )  # fmt: skip
    table, abundance = scclast.get.condition_table(adata), scclast.get.abundance_table(adata)
    counts = {}
    for kind, rows in (
        ("gene", table[table["feature_type"] == "gene"]),
        ("set", table[table["feature_type"] == "gene_set"]),
        ("abundance", abundance),
    ):
        counts[f"{kind}_tests"] = int(rows["pvalue"].notna().sum())
        counts[f"{kind}_p05"] = int((rows["pvalue"] < 0.05).sum())
        counts[f"{kind}_calls"] = int((rows["fdr"] <= FDR).sum())
    return counts


@pytest.mark.slow
def test_null_data_stay_within_the_fdr_over_40_seeds(capsys):
    runs = pd.DataFrame([_null_counts(seed) for seed in NULL_SEEDS])
    lines = []
    for kind in ("gene", "set", "abundance"):
        with_call = float((runs[f"{kind}_calls"] > 0).mean())
        per_test = runs[f"{kind}_p05"].sum() / runs[f"{kind}_tests"].sum()
        lines.append(
            f"{kind}: {int(runs[f'{kind}_tests'].sum())} tests, p < 0.05 in {per_test:.1%}; "
            f"seeds with any call at FDR <= {FDR}: {with_call:.1%}"
        )
        assert with_call <= 0.05, lines[-1]
        assert per_test <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / runs[f"{kind}_tests"].sum())
    with capsys.disabled():
        print("\nnull calibration over", len(runs), "seeds:\n  " + "\n  ".join(lines))
