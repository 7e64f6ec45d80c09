"""scclast.pl.forest: each sample's effect beside the pooled estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from scclast import get, pl, tl
from scclast.pl._forest import forest_rows
from scclast.testing import simulate_replicates
from scclast.testing._flagging import SECRETORY_GROUP


@pytest.fixture(scope="module")
def replicated():
    adata = simulate_replicates("consistent", seed=6, n_cells=2000, composition_concentration=50)
    tl.flag(adata, "cluster", sample_key="sample", enrichment=False)
    return adata


def test_forest_draws_each_sample_and_the_pooled_estimate(replicated, tmp_path):
    fig = pl.forest(replicated, rows=2, return_fig=True)
    assert isinstance(fig, Figure)
    first = fig.axes[0]
    assert (
        first.get_title(loc="left")
        == f"\u2605 {SECRETORY_GROUP} · clastokines_secreted (replicated)"
    )
    labels = [t.get_text() for t in first.get_yticklabels()]
    assert labels[-1] == "pooled" and len(labels) == 5
    assert all(label.startswith("animal") for label in labels[:4])
    effects = get.sample_effects(replicated).query(
        f"group == '{SECRETORY_GROUP}' and gene_set == 'clastokines_secreted'"
    )
    dots = first.collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(dots[:, 0]), np.sort(effects["log2fc"].to_numpy()))
    row = (
        get.flag_table(replicated)
        .query(f"group == '{SECRETORY_GROUP}' and gene_set == 'clastokines_secreted'")
        .iloc[0]
    )
    pooled = first.collections[1].get_offsets()[0]
    assert pooled[0] == pytest.approx(np.log2(row["fold_change"]))
    lines = [line.get_xdata()[0] for line in first.get_lines()]
    assert pytest.approx(np.log2(1.5)) in lines  # the threshold
    assert pytest.approx(np.log2(row["control_fold_95"])) in lines  # the control sets
    assert len(fig.axes) == 2
    pl.forest(replicated, save=tmp_path / "forest.png")
    assert (tmp_path / "forest.png").stat().st_size > 5000


def test_forest_rows_prefer_flags_then_the_nearest_misses():
    table = pd.DataFrame(
        {
            "group": ["a", "b", "c", "d"],
            "gene_set": ["s"] * 4,
            "set_role": ["flagging", "flagging", "descriptive", "flagging"],
            "flagged": [False, True, False, False],
            "fdr": [0.3, 0.01, np.nan, 0.5],
            "fold_change": [1.4, 2.0, 9.0, 1.1],
        }
    )
    samples = pd.DataFrame({"group": ["a", "b", "c", "d"], "gene_set": ["s"] * 4})
    assert forest_rows(table, samples, 2) == [("b", "s"), ("a", "s")]
    assert forest_rows(table, samples.iloc[:0]) == []


def test_forest_without_samples_says_why():
    adata = simulate_replicates("null", seed=0, n_cells=600, n_genes=600)
    tl.flag(adata, "cluster", enrichment=False)
    fig = pl.forest(adata, return_fig=True)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("flag with a sample key" in t for t in texts)
