"""Differentiation axis (single cell): pseudotime order, planted trends, calibration.

The simulator knows each cell's true state and position (``obs["state_true"]``,
``obs["pseudotime_true"]`` with ``continuous=True``) and can plant trends along it
(``trend_genes``), so the tests check what a user relies on: the recovered order agrees
with the truth, a factor planted late peaks late (and an early one early), and a
pseudotime carrying no information gives no more associations than the test's level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import scclast
from scclast._errors import ScclastInputError
from scclast._stats import benjamini_hochberg
from scclast.datasets import simulate_osteoclastogenesis

STATE_ORDER = {"macrophage": 0, "oc_precursor": 1, "osteoclast": 2, "osteoclast_secretory": 3}
PLANTED = {"Slit3": "late", "Wnt5a": "early", "Lif": "transient"}


def _lineage(seed: int, **kwargs):
    options = {
        "n_cells": 1000,
        "n_genes": 600,
        "continuous": True,
        "clastokine_fold": 1.0,
        "trend_genes": PLANTED,
        "n_samples": 3,
    }
    adata = simulate_osteoclastogenesis(seed=seed, **{**options, **kwargs})
    scclast.tl.lineage_states(adata, "cluster")
    scclast.tl.pseudotime(adata, seed=seed)
    return adata


@pytest.fixture(scope="module")
def lineage():
    return _lineage(seed=3)


@pytest.fixture(scope="module")
def analysed(lineage):
    adata = lineage.copy()
    scclast.tl.trajectory(adata, sample_key="sample", n_permutations=300, seed=1)
    return adata


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pseudotime_recovers_the_true_state_order(seed):
    adata = _lineage(seed)
    column = adata.obs["scclast_pseudotime"]
    inside = column.notna().to_numpy()
    truth = adata.obs["state_true"].map(STATE_ORDER).astype(float).to_numpy()
    rho_states = stats.spearmanr(column[inside], truth[inside])[0]
    rho_position = stats.spearmanr(column[inside], adata.obs["pseudotime_true"][inside])[0]
    # measured: 0.93-0.94 with the state order, 0.96-0.97 with the true position
    assert rho_states >= 0.8, f"Spearman rho with the true state order {rho_states:.3f}"
    assert rho_position >= 0.8, f"Spearman rho with the true position {rho_position:.3f}"
    record = adata.uns["scclast"]["pseudotime"]
    assert record["state_order_rho"] >= 0.8
    assert record["warning"] == ""  # no caution on a continuum
    root = record["root_cell"]
    assert adata.obs.loc[root, "state_true"] == "macrophage"
    # NaN outside the osteoclast lineage (the stromal cells)
    assert adata.obs.loc[adata.obs["state_true"] == "stromal", "scclast_pseudotime"].isna().all()
    assert column[inside].between(0, 1).all()


def test_large_data_drawn_cells_place_the_others(lineage):
    """Above max_cells the diffusion map is built on drawn cells and the others are placed
    by their neighbours: the order must match the full computation, every lineage cell
    gets a value, and the same seed gives the same values."""
    full = lineage.obs["scclast_pseudotime"].to_numpy()
    inside = np.isfinite(full)
    drawn = lineage.copy()
    scclast.tl.pseudotime(drawn, seed=3, max_cells=300)
    values = drawn.obs["scclast_pseudotime"].to_numpy()
    assert np.isfinite(values[inside]).all() and np.isnan(values[~inside]).all()
    assert stats.spearmanr(values[inside], full[inside])[0] >= 0.9
    truth = drawn.obs["pseudotime_true"].to_numpy()
    assert stats.spearmanr(values[inside], truth[inside])[0] >= 0.8
    record = drawn.uns["scclast"]["pseudotime"]
    assert record["n_cells_in_graph"] == 300 and record["n_cells"] == int(inside.sum())
    again = lineage.copy()
    scclast.tl.pseudotime(again, seed=3, max_cells=300)
    np.testing.assert_array_equal(again.obs["scclast_pseudotime"].to_numpy(), values)
    with pytest.raises(ScclastInputError, match="max_cells=5"):
        scclast.tl.pseudotime(lineage.copy(), max_cells=5)


def test_planted_trends_peak_where_they_were_planted(analysed):
    table = scclast.get.trajectory_table(analysed).set_index("feature")
    assert table.loc["slit3", "significant"] and table.loc["slit3", "peak"] == "late"
    assert table.loc["slit3", "direction"] == "rising"
    assert table.loc["wnt5a", "significant"] and table.loc["wnt5a", "peak"] == "early"
    assert table.loc["lif", "significant"] and table.loc["lif", "peak"] == "middle"
    assert table.loc["lif", "direction"] == "transient"
    # the orientation check: macrophage genes fall, osteoclast genes rise
    assert table.loc["state_macrophage", "peak"] == "early"
    assert table.loc["state_osteoclast", "peak"] == "late"
    assert table.loc["slit3", "peak_state"] in ("osteoclast", "oc_precursor")


def test_table_columns_fdr_families_and_unmeasured_factors(analysed):
    table = scclast.get.trajectory_table(analysed)
    assert tuple(table.columns) == scclast.tl._differentiation.TRAJECTORY_COLUMNS
    assert set(table["kind"]) == {"factor", "set", "state"}
    assert table["significant"].dtype == bool
    hypotheses = table[table["kind"] != "state"].dropna(subset=["pvalue"])
    expected = benjamini_hochberg(hypotheses["pvalue"])
    np.testing.assert_allclose(hypotheses["fdr"], expected)
    assert (table["pvalue"].dropna() >= 1 / 301).all()  # permutation floor
    unmeasured = table[table["genes_measured"].str.startswith("0/")]
    assert (unmeasured["peak"] == "not measured").all() and unmeasured["pvalue"].isna().all()
    record = analysed.uns["scclast"]["trajectory"]
    curves = pd.DataFrame(record["curves"])
    assert curves["order"].iloc[0] == 0 and curves["order"].iloc[-1] == 1
    assert record["n_samples"] == 3


def test_shuffled_pseudotime_gives_no_association(lineage):
    """Calibration: an axis without information, 40 shuffles over 2 data sets."""
    rates, any_hit = [], []
    for data_seed, adata in ((3, lineage), (4, _lineage(4))):
        rng = np.random.default_rng(data_seed)
        for shuffle in range(20):
            copy = adata.copy()
            values = copy.obs["scclast_pseudotime"].to_numpy().copy()
            inside = np.isfinite(values)
            values[inside] = rng.permutation(values[inside])
            copy.obs["shuffled"] = values
            scclast.tl.trajectory(
                copy, pseudotime="shuffled", n_permutations=99, seed=shuffle
            )  # fmt: skip
            table = scclast.get.trajectory_table(copy)
            tested = table[table["kind"] != "state"].dropna(subset=["pvalue"])
            rates.append((tested["pvalue"] <= 0.05).mean())
            any_hit.append(bool(tested["significant"].any()))
    false_positive_rate = float(np.mean(rates))
    # measured: 0.045 (100 shuffles of 5 data sets, 2,400 tests); a binomial 99% band for
    # the 960 tests here is about 0.033-0.069 (features are correlated: allow a little more)
    assert 0.02 <= false_positive_rate <= 0.08, false_positive_rate
    assert np.mean(any_hit) <= 0.15, np.mean(any_hit)


def test_a_sample_effect_is_not_a_trend_with_a_sample_key():
    """Samples that differ in level and sit at different positions fool a test that ignores
    them; permutations within samples and one level per sample do not."""
    from scclast.tl._differentiation._splines import spline_test

    rng = np.random.default_rng(0)
    blocks = np.repeat(["a", "b", "c", "d"], 150)
    centre = {"a": 0.2, "b": 0.4, "c": 0.6, "d": 0.8}
    t = np.clip([rng.normal(centre[b], 0.12) for b in blocks], 0, 1)
    level = {"a": 0.0, "b": 1.0, "c": 0.3, "d": 1.5}
    noise = rng.normal(size=(blocks.size, 40))
    y = np.array([level[b] for b in blocks])[:, None] + noise
    naive = spline_test(t, y, n_permutations=199, seed=1)
    blocked = spline_test(t, y, blocks=blocks, n_permutations=199, seed=1)
    assert (naive.pvalue <= 0.05).mean() > 0.9
    assert (blocked.pvalue <= 0.05).mean() <= 0.15


def test_spline_f_statistic_is_statsmodels_compare_f_test():
    import statsmodels.formula.api as smf

    from scclast.tl._differentiation._splines import spline_test

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "t": rng.uniform(size=200),
            "b": rng.choice(["x", "y", "z"], 200),
            "y": rng.normal(size=200),
        }
    )
    frame["y"] += np.sin(4 * frame["t"])
    full = smf.ols("y ~ C(b) + cr(t, df=4, constraints='center')", frame).fit()
    null = smf.ols("y ~ C(b)", frame).fit()
    f_value, p_value, _ = full.compare_f_test(null)
    fit = spline_test(frame["t"], frame["y"], blocks=frame["b"], n_permutations=0)
    assert fit.statistic[0] == pytest.approx(f_value, rel=1e-8)
    assert fit.pvalue_f[0] == pytest.approx(p_value, rel=1e-6)
    # the stored curve is that model's fit, blocks averaged by size
    grid = pd.DataFrame({"t": fit.grid})
    shares = frame["b"].value_counts(normalize=True)
    predicted = sum(
        full.predict(grid.assign(b=level)) * share for level, share in shares.items()
    )  # fmt: skip
    np.testing.assert_allclose(fit.curves[:, 0], predicted, atol=1e-8)


def test_needs_lineage_states_a_pseudotime_and_a_real_sample_column():
    adata = simulate_osteoclastogenesis(n_cells=300, n_genes=400, seed=2)
    with pytest.raises(ScclastInputError, match="lineage_states"):
        scclast.tl.pseudotime(adata)
    with pytest.raises(ScclastInputError, match=r"run scclast\.tl\.pseudotime first"):
        scclast.tl.trajectory(adata)
    adata.obs["mine"] = np.linspace(0, 1, adata.n_obs)
    with pytest.raises(ScclastInputError, match="sample_key='animal'"):
        scclast.tl.trajectory(adata, pseudotime="mine", sample_key="animal")
    adata.obs["text"] = "late"
    with pytest.raises(ScclastInputError, match="holds no number"):
        scclast.tl.trajectory(adata, pseudotime="text")


def test_too_few_lineage_cells_is_one_clear_line():
    adata = simulate_osteoclastogenesis(n_cells=200, n_genes=400, seed=2)
    scclast.tl.lineage_states(adata, "cluster")
    adata.obs["scclast_lineage_state"] = "non-lineage"
    with pytest.raises(ScclastInputError, match="at least 30 osteoclast-lineage cells"):
        scclast.tl.pseudotime(adata)


def test_copy_leaves_the_input_alone(lineage):
    before = set(lineage.uns["scclast"])
    out = scclast.tl.trajectory(lineage, n_permutations=19, copy=True)
    assert "trajectory" in out.uns["scclast"] and set(lineage.uns["scclast"]) == before
    again = scclast.tl.pseudotime(lineage, copy=True, seed=3)
    np.testing.assert_array_equal(
        again.obs["scclast_pseudotime"].to_numpy(), lineage.obs["scclast_pseudotime"].to_numpy()
    )  # same seed, same pseudotime


def test_pseudotime_is_in_the_per_cell_scores(lineage):
    assert "scclast_pseudotime" in scclast.get.scores(lineage).columns


def test_figure_grid_and_one_panel(analysed):
    from matplotlib.figure import Figure

    fig = scclast.pl.trajectory(analysed, return_fig=True)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:2] == [
        "Initiation (Figure 4): pro-formation (▲ anabolic, ◆ controversial)",
        "Initiation (Figure 4): ▼ inhibitory",
    ]
    assert "Lineage states along the pseudotime" in titles
    transition = fig.axes[2]
    labels = transition.get_legend_handles_labels()[1]
    assert "SLIT3 ▲" in labels and "LIF ▲" in labels
    table = scclast.get.trajectory_table(analysed)
    unchanged = table[(table["kind"] == "factor") & ~table["significant"]]
    quiet = unchanged.dropna(subset=["pvalue"]).iloc[0]
    panel = Figure().add_subplot()
    scclast.pl.trajectory(analysed, features=["slit3", quiet["feature"]], ax=panel)
    expected = ["SLIT3 ▲", f"{quiet['label']} ▲ (no change)"]
    assert sorted(panel.get_legend_handles_labels()[1]) == sorted(expected)
    with pytest.raises(ScclastInputError, match="not in the table"):
        scclast.pl.trajectory(analysed, features=["nope"], ax=Figure().add_subplot())


def test_an_axis_that_contradicts_the_lineage_calls_is_flagged():
    """Discrete simulated states (separate clusters, one profile each, no continuous
    axis): diffusion pseudotime then orders them arbitrarily, and the record and warning
    say so."""
    from scclast._warnings import DataWarning

    adata = scclast.datasets.simulate_osteoclastogenesis(n_cells=3000, seed=0)
    scclast.tl.lineage_states(adata, "cluster")
    with pytest.warns(DataWarning, match="does not follow the lineage calls"):
        scclast.tl.pseudotime(adata)
    record = adata.uns["scclast"]["pseudotime"]
    assert "sit before" in record["warning"] or record["state_order_rho"] < 0.7
