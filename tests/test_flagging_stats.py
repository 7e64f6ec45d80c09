"""Statistical helpers of the flagging layer: AUROC/Mann-Whitney, BH, empirical p."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats

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


def test_one_sided_t_and_interval_match_scipy():
    from scclast._stats import one_sided_t, t_interval

    values = np.array([0.4, 0.9, 0.2, 0.7, 0.5])
    ref = stats.ttest_1samp(values, 0.0, alternative="greater")
    t, p = one_sided_t(values)
    assert t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    low, high = t_interval(values)
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
    assert (low, high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    # one animal carrying the effect: t = 1 whatever its size, never significant
    for size in (1.0, 100.0):
        t, p = one_sided_t(np.array([size, 0.0, 0.0, 0.0]))
        assert t == pytest.approx(1.0) and p > 0.15
    assert np.isnan(one_sided_t(np.array([1.0]))[1])
    assert one_sided_t(np.array([0.5, 0.5, 0.5]))[1] == 0.0
    assert one_sided_t(np.array([-0.5, -0.5]))[1] == 1.0


def test_pseudobulk_totals_match_a_direct_computation():
    import anndata as ad

    from scclast._matrix import expression_view
    from scclast._stats import pseudobulk

    rng = np.random.default_rng(0)
    counts = rng.poisson(1.5, size=(40, 6)).astype(np.float32)
    adata = ad.AnnData(sparse.csr_matrix(counts))
    codes = rng.integers(0, 3, size=40)
    view = expression_view(adata, chunk_size=7)  # several chunks
    totals = pseudobulk(view, codes, 3)
    as64 = counts.astype(np.float64)
    normalised = np.log1p(as64 / as64.sum(axis=1, keepdims=True) * 1e4)
    for c in range(3):
        rows = normalised[codes == c]
        assert totals.n_cells[c] == rows.shape[0]
        np.testing.assert_allclose(totals.sums[c], rows.sum(axis=0), rtol=1e-10)
        np.testing.assert_allclose(totals.squares[c], (rows**2).sum(axis=0), rtol=1e-10)
        np.testing.assert_allclose(totals.linear[c], np.expm1(rows).sum(axis=0), rtol=1e-10)
        np.testing.assert_array_equal(totals.detected[c], (rows > 0).sum(axis=0))
    mean, var = totals.moments()
    np.testing.assert_allclose(mean, normalised.mean(axis=0))
    np.testing.assert_allclose(var, normalised.var(axis=0, ddof=1))
    dense = pseudobulk(expression_view(ad.AnnData(counts)), codes, 3)
    np.testing.assert_allclose(dense.linear, totals.linear)
    with pytest.raises(ValueError, match="class code"):
        pseudobulk(view, np.full(40, 3), 3)


def test_welch_t_matches_scipy_and_moderated_t_floors_the_variance():
    from scclast._stats import Pseudobulk, moderated_t, welch_t

    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 1.0, size=(30, 4)), rng.normal(0.0, 2.0, size=(50, 4))

    def totals(x: np.ndarray) -> Pseudobulk:
        return Pseudobulk(
            np.array([float(len(x))]), x.sum(0)[None], (x**2).sum(0)[None], x.sum(0)[None],
            (x > 0).sum(0)[None],
        )  # fmt: skip

    expected = stats.ttest_ind(a, b, equal_var=False).statistic
    np.testing.assert_allclose(welch_t(totals(a), totals(b)), expected)
    tight = np.array([[1.0, 0.2], [1.0, 1.8], [1.0, 1.0]])  # no spread vs a real one
    t = moderated_t(tight)
    assert np.isfinite(t).all() and t[0] < 10  # a zero variance does not explode


def test_normalised_fold_change_removes_the_composition_shift():
    from scclast.tl._flag._effects import normalised_fold_change

    mean_ref = np.full(100, 8.0)
    mean_in = mean_ref * 0.7  # the class spends 30% of its counts elsewhere
    mean_in[:5] = 8.0 * 0.7 * 4  # five genes truly 4-fold
    fold = normalised_fold_change(mean_in, mean_ref)
    assert np.allclose(fold[5:], 0.0)
    assert fold[:5] == pytest.approx(np.full(5, np.log2((22.4 + 0.5) / (5.6 + 0.5))))


def test_ranking_a_subset_once_gives_the_mann_whitney_of_each_group():
    from scclast._stats import Ranked

    rng = np.random.default_rng(5)
    values = np.round(rng.normal(size=(400, 3)), 1)  # ties, as calibrated z of sparse data
    values[:, 2] = 1.0  # a constant column: no evidence either way
    subset = rng.random(400) < 0.75
    codes = rng.integers(0, 4, 400)
    ranked = Ranked.of(values, subset)
    for g in range(4):
        group, rest = subset & (codes == g), subset & (codes != g)
        auroc, pvalue = ranked.test(group)
        expected_auroc, expected_p = auroc_mannwhitney(values[group], values[rest])
        np.testing.assert_allclose(auroc, expected_auroc, rtol=1e-12)
        np.testing.assert_allclose(pvalue, expected_p, rtol=1e-10)
    assert np.isnan(ranked.test(np.zeros(400, dtype=bool))[0]).all()
