"""Tests on arrays already in memory: AUROC, paired t, BH, empirical (Monte Carlo) p.

Plain numpy/scipy: AUROC with a one-sided Mann-Whitney test (cells as observations),
the one-sided one-sample t-test on per-sample differences (animals as observations),
Benjamini-Hochberg FDR and its rejection bar, and the empirical p-value of a statistic
against the same statistic of control draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


def _scipy_stats() -> Any:
    """``scipy.stats``, imported on first use.

    It costs about 1.5 s to import, which a process that only scores cells
    (``scclast.tl.score``) should not pay.
    """
    from scipy import stats

    return stats


def auroc_mannwhitney(
    x: np.ndarray, y: np.ndarray, alternative: str = "greater"
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC of ``x`` against ``y`` and the Mann-Whitney p-value, column by column.

    The AUROC is ``U / (n_x * n_y)``: the probability that a random value of ``x``
    exceeds a random value of ``y`` (ties count one half). The p-value uses the
    normal approximation with tie and continuity correction, one-sided by default
    (``x`` larger than ``y``).

    Parameters
    ----------
    x, y
        Samples, 1-D or 2-D (observations x variables); 2-D inputs are tested
        column by column in one vectorised call.
    alternative
        ``"greater"``, ``"less"`` or ``"two-sided"``.

    Returns
    -------
    auroc, pvalue
        Arrays with one value per column (0-d arrays for 1-D input). ``nan`` when
        either sample is empty.

    Examples
    --------
    >>> a, p = auroc_mannwhitney(np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0]))
    >>> float(a), bool(p < 0.05)
    (1.0, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    shape = x.shape[1:]
    if x.shape[0] == 0 or y.shape[0] == 0:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    result = _scipy_stats().mannwhitneyu(x, y, alternative=alternative, method="asymptotic", axis=0)
    auroc = np.asarray(result.statistic, dtype=float) / (x.shape[0] * y.shape[0])
    pvalue = np.asarray(result.pvalue, dtype=float)
    constant = _constant_columns(x, y)
    if np.any(constant):
        # Every value equal: no evidence either way (scipy would return nan).
        auroc = np.where(constant, 0.5, auroc)
        pvalue = np.where(constant, 1.0, pvalue)
    return auroc, pvalue


@dataclass
class Ranked:
    """Ranks of values within one subset of cells, for many Mann-Whitney tests on it.

    When many groups are each tested against the rest of one fixed subset (every
    osteoclast-lineage group against the other lineage groups), the ranks of the subset
    are computed once instead of once per group; :meth:`test` then gives exactly what
    :func:`auroc_mannwhitney` gives for the group against the rest of the subset.
    """

    ranks: np.ndarray
    position: np.ndarray
    tie_term: np.ndarray
    constant: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, subset: np.ndarray) -> Ranked:
        """Rank ``values`` (cells x variables) within the cells where ``subset`` is true.

        Examples
        --------
        >>> values = np.array([[3.0], [1.0], [2.0], [9.0]])
        >>> ranked = Ranked.of(values, np.array([True, True, True, False]))
        >>> auroc, p = ranked.test(np.array([True, False, False, False]))
        >>> float(auroc[0])
        1.0
        """
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        inside = values[subset]
        ranks = _scipy_stats().rankdata(inside, axis=0) if len(inside) else inside
        tie_term = np.zeros(values.shape[1])
        for j in range(values.shape[1]):
            _, counts = np.unique(inside[:, j], return_counts=True)
            tie_term[j] = float(np.sum(counts.astype(float) ** 3 - counts))
        position = np.full(values.shape[0], -1, dtype=np.intp)
        position[subset] = np.arange(int(subset.sum()))
        constant = (
            np.all(inside == inside[:1], axis=0) if len(inside) else np.ones(values.shape[1], bool)
        )
        return cls(ranks, position, tie_term, constant)

    def test(self, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """AUROC and one-sided ("greater") p of ``group`` (cells of the subset) vs the rest.

        The normal approximation with tie and continuity correction, as scipy's
        ``mannwhitneyu(method="asymptotic")``.
        """
        rows = self.position[group]
        rows = rows[rows >= 0]
        n = self.ranks.shape[0]
        n1 = rows.size
        n2 = n - n1
        k = self.ranks.shape[1]
        if n1 == 0 or n2 == 0:
            return np.full(k, np.nan), np.full(k, np.nan)
        u1 = self.ranks[rows].sum(axis=0) - n1 * (n1 + 1) / 2.0
        auroc = u1 / (n1 * n2)
        sigma = np.sqrt(n1 * n2 / 12.0 * ((n + 1) - self.tie_term / (n * (n - 1))))
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (u1 - n1 * n2 / 2.0 - 0.5) / sigma
        pvalue = _scipy_stats().norm.sf(z)
        auroc = np.where(self.constant, 0.5, auroc)
        pvalue = np.where(self.constant, 1.0, pvalue)
        return auroc, pvalue


def _constant_columns(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    both = np.concatenate([x, y], axis=0)
    return np.all(both == both[:1], axis=0)


def benjamini_hochberg(pvalues: Iterable[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); ``nan`` entries stay ``nan``.

    Only the finite p-values form the family, so untested rows neither count as
    tests nor receive a q-value.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, np.nan, 0.03]).round(3).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    p = np.asarray(list(pvalues), dtype=float)
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    m = int(finite.sum())
    if m == 0:
        return q
    values = p[finite]
    order = np.argsort(values, kind="stable")
    ranked = values[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    q[finite] = adjusted
    return q


def bh_threshold(pvalues: Iterable[float], alpha: float) -> float:
    """The Benjamini-Hochberg cut-off: ``alpha * k / m`` for the ``k`` rejections.

    A p-value at or under the cut-off is rejected by the procedure (with ``k``
    rejections among ``m`` finite p-values); ``0.0`` when nothing is rejected. Used so
    that a leave-one-out variant is held to the same bar as the test it stands in for.

    Examples
    --------
    >>> bh_threshold([0.001, 0.02, 0.5], alpha=0.06)
    0.04
    >>> bh_threshold([0.2, 0.5], alpha=0.05)
    0.0
    """
    p = np.asarray(list(pvalues), dtype=float)
    p = np.sort(p[np.isfinite(p)])
    if p.size == 0:
        return 0.0
    passing = np.nonzero(p <= alpha * np.arange(1, p.size + 1) / p.size)[0]
    if not passing.size:
        return 0.0
    return float(alpha * (passing[-1] + 1) / p.size)


def empirical_pvalue(observed: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Per-row empirical p-value ``(1 + #{controls >= observed}) / (n_controls + 1)``.

    The Monte Carlo p-value of Davison and Hinkley (1997, eq. 4.11): valid when the
    observed statistic and the controls' are exchangeable under the null, and never
    below ``1 / (n_controls + 1)`` (its floor).

    Parameters
    ----------
    observed
        Shape ``(n,)``.
    controls
        Shape ``(n, n_controls)``.

    Examples
    --------
    >>> empirical_pvalue(np.array([5.0, 0.0]), np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
    array([0.25, 1.  ])
    """
    exceed = (controls >= observed[:, None]).sum(axis=1)
    return (1.0 + exceed) / (controls.shape[1] + 1.0)


def one_sided_t(values: np.ndarray) -> tuple[float, float]:
    """One-sample t-test of ``mean > 0`` on per-sample values (e.g. paired differences).

    Returns ``(t, p)``. Needs at least two values (``nan`` otherwise); values that are all
    equal give ``p = 0`` when positive and ``1`` otherwise (no spread to test against).

    Examples
    --------
    >>> t, p = one_sided_t(np.array([0.9, 1.1, 1.0, 0.8]))
    >>> round(t, 2), p < 0.001
    (14.72, True)
    >>> one_sided_t(np.array([2.0, 0.0, 0.0, 0.0]))[1] > 0.1  # one animal carries it
    True
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan"), float("nan")
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):
        # every sample agrees exactly: no spread to weigh the mean against
        return float(np.sign(mean) * np.inf) if mean else 0.0, 0.0 if mean > 0 else 1.0
    t = mean / (sd / np.sqrt(x.size))
    return float(t), float(_scipy_stats().t.sf(t, df=x.size - 1))


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Two-sided ``level`` confidence interval of the mean (t distribution).

    Examples
    --------
    >>> low, high = t_interval(np.array([1.0, 2.0, 3.0]))
    >>> round(low, 2), round(high, 2)
    (-0.48, 4.48)
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan"), float("nan")
    half = _scipy_stats().t.ppf(0.5 + level / 2, df=x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)
