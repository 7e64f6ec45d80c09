"""tl.cluster(): seeded Leiden clusters that keep the tested genes out (no double dipping)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from scclast import genesets, tl
from scclast._keys import Keys
from scclast.testing import simulate_groups

TESTED = genesets.get("clastokines_secreted") + genesets.get("clastokines_putative")


@pytest.fixture(scope="module")
def secretory_split():
    """Osteoclasts and secretory osteoclasts that differ only in the tested genes."""
    return simulate_groups(
        {"macrophage": 150, "osteoclast": 150, "osteoclast_secretory": 150},
        seed=2,
        n_background=800,
        lineage_of={"osteoclast_secretory": "osteoclast"},
        program={"osteoclast_secretory": TESTED},
        program_fold=8.0,
    )


def _osteoclast_ari(adata: ad.AnnData, column: str) -> float:
    """Agreement of the clusters with the osteoclast / secretory split, among osteoclasts."""
    osteoclasts = adata.obs["state_true"] != "macrophage"
    truth = adata.obs.loc[osteoclasts, "state_true"].astype(str)
    return adjusted_rand_score(truth, adata.obs.loc[osteoclasts, column].astype(str))


def test_tested_genes_are_kept_out_of_the_clusters(secretory_split):
    included = tl.cluster(secretory_split, seed=0, n_top_genes=500, copy=True)
    excluded = tl.cluster(secretory_split, exclude_genes=TESTED, seed=0, n_top_genes=500, copy=True)
    column = Keys().leiden
    # With the tested genes in, the clusters are the planted groups (double dipping) ...
    assert _osteoclast_ari(included, column) > 0.8
    # ... without them, the secretory cells cannot be told apart from other osteoclasts.
    assert _osteoclast_ari(excluded, column) < 0.1
    record = excluded.uns["scclast"]["cluster"]
    assert record["n_scored_genes_excluded"] == len(set(TESTED))
    assert record["n_hvg_used"] == 500 - len(set(TESTED))
    assert included.uns["scclast"]["cluster"]["n_scored_genes_excluded"] == 0
    # the identity of the cells is still what the clusters follow
    for adata in (included, excluded):
        macrophages = adata.obs["state_true"] == "macrophage"
        assert adata.obs.loc[macrophages, column].nunique() == 1
        assert not set(adata.obs.loc[macrophages, column]) & set(
            adata.obs.loc[~macrophages, column]
        )


def test_cluster_is_seeded_written_under_key_added_and_recorded(secretory_split):
    adata = secretory_split.copy()
    obs_before = adata.obs.copy()
    copy = tl.cluster(adata, seed=3, resolution=0.5, key_added="mine", copy=True)
    pd.testing.assert_frame_equal(adata.obs, obs_before)  # copy=True leaves the input alone
    assert "mine" not in adata.uns
    assert tl.cluster(adata, seed=3, resolution=0.5, key_added="mine") is None
    assert adata.obs["mine_leiden"].equals(copy.obs["mine_leiden"])  # same seed, same labels
    assert isinstance(adata.obs["mine_leiden"].dtype, pd.CategoricalDtype)
    assert "scclast_leiden" not in adata.obs
    record = adata.uns["mine"]["cluster"]
    assert record["groupby"] == "mine_leiden"
    assert record["seed"] == 3 and record["resolution"] == 0.5
    assert record["n_clusters"] == adata.obs["mine_leiden"].nunique()
    assert record["parameters"]["seed"] == 3
    finer = tl.cluster(adata, seed=3, resolution=3.0, key_added="fine", copy=True)
    assert finer.obs["fine_leiden"].nunique() > record["n_clusters"]
    assert np.array_equal(adata.X.toarray(), secretory_split.X.toarray())  # matrix untouched
