"""Statistical helpers of the flagging layer: AUROC/Mann-Whitney, BH, empirical p."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scclast._stats import (
    auroc_mannwhitney,
    benjamini_hochberg,
    bh_threshold,
    empirical_pvalue,
    summarise_groups,
)
from scclast.tl._flag import calibrated_z, default_n_match, match_controls, set_rng


def test_auroc_is_probability_of_superiority_with_ties_as_half():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0])
    auroc, _ = auroc_mannwhitney(x, y)
    pairs = [(a > b) + 0.5 * (a == b) for a in x for b in y]
    assert float(auroc) == pytest.approx(np.mean(pairs))


def test_mannwhitney_matches_scipy_and_is_vectorised():
    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 1.0, size=(40, 3))
    y = rng.normal(0.0, 1.0, size=(60, 3))
    auroc, pvalue = auroc_mannwhitney(x, y)
    for j in range(3):
        ref = stats.mannwhitneyu(x[:, j], y[:, j], alternative="greater", method="asymptotic")
        assert pvalue[j] == pytest.approx(ref.pvalue)
        assert auroc[j] == pytest.approx(ref.statistic / (40 * 60))


def test_constant_and_empty_samples_give_no_evidence():
    auroc, pvalue = auroc_mannwhitney(np.zeros(5), np.zeros(7))
    assert (float(auroc), float(pvalue)) == (0.5, 1.0)
    auroc, pvalue = auroc_mannwhitney(np.zeros(0), np.ones(3))
    assert np.isnan(auroc) and np.isnan(pvalue)


def test_benjamini_hochberg_matches_the_definition_and_skips_nan():
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.2])
    q = benjamini_hochberg(p)
    finite = p[np.isfinite(p)]
    m = finite.size
    order = np.argsort(finite)
    expected = np.minimum.accumulate((finite[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    assert np.allclose(np.sort(q[np.isfinite(q)]), np.sort(np.minimum(expected, 1)))
    assert np.isnan(q[2])
    assert np.all(np.isnan(benjamini_hochberg([np.nan])))


def test_bh_threshold_is_the_rejection_bar():
    p = [0.001, 0.02, 0.5]
    cut = bh_threshold(p, 0.06)
    q = benjamini_hochberg(p)
    assert cut == pytest.approx(0.04)
    assert all((pi <= cut) == (qi <= 0.06) for pi, qi in zip(p, q, strict=True))
    assert bh_threshold([0.9], 0.05) == 0.0


def test_empirical_pvalue_and_calibrated_z():
    controls = np.tile(np.arange(1.0, 100.0), (2, 1))
    p = empirical_pvalue(np.array([100.0, 50.0]), controls)
    assert p[0] == pytest.approx(1 / 100) and p[1] == pytest.approx(51 / 100)
    z = calibrated_z(np.array([2.0, 5.0, 4.0]), np.array([[1.0, 3.0], [5.0, 5.0], [1.0, 3.0]]))
    assert z[0] == pytest.approx(0.0) and z[1] == 0.0  # at the mean; constant controls
    assert z[2] == pytest.approx(2.0 / np.std([1.0, 3.0], ddof=1))
    rng = np.random.default_rng(0)
    controls = rng.normal(size=(5, 50))
    expected = (controls[:, 0] * 3 - controls.mean(axis=1)) / controls.std(axis=1, ddof=1)
    assert np.allclose(calibrated_z(controls[:, 0] * 3, controls), expected)


def test_controls_match_mean_and_variance_and_are_seeded():
    rng = np.random.default_rng(1)
    mean = rng.lognormal(0, 1, 2000)
    var = mean * rng.lognormal(0, 0.3, 2000)
    index = np.array([5, 500, 1500])
    exclude = np.zeros(2000, dtype=bool)
    exclude[index] = True
    a = match_controls(index, mean, var, 200, set_rng(0, "s"), 50, exclude)
    b = match_controls(index, mean, var, 200, set_rng(0, "s"), 50, exclude)
    assert np.array_equal(a, b)
    assert not np.isin(a, index).any()
    rank = stats.rankdata(mean) / mean.size
    for i, gene in enumerate(index):
        assert np.abs(rank[a[:, i]] - rank[gene]).max() < 0.05
    c = match_controls(index, mean, var, 200, set_rng(1, "s"), 50, exclude)
    assert not np.array_equal(a, c)
    assert default_n_match(100) == 10 and default_n_match(10**6) == 50


def test_group_summary_counts_detection_per_group():
    x = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 1.0], [3.0, 1.0, 0.0], [0.0, 5.0, 0.0]])
    codes = np.array([0, 0, 1, -1])
    summary = summarise_groups(
        [(slice(0, 2), x[:2]), (slice(2, 4), x[2:])],
        codes,
        ["a", "b"],
        np.array([0, 1]),
        ["g0", "g1"],
    )
    assert summary.n_cells.tolist() == [2, 1]
    assert summary.detection().tolist() == [[0.5, 0.0], [1.0, 1.0]]
    assert summary.means().tolist() == [[0.5, 0.0], [3.0, 1.0]]
    assert summary.detection(np.array([0, 1]))[0] == pytest.approx(2 / 3)
