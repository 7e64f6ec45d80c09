"""Per-cell calibration against matched control gene sets (after scDRS).

For every set, ``n_control_sets`` control sets are drawn gene by gene: each set gene is
replaced by one of its ``n_match`` nearest genes by rank of mean and variance of
normalised expression (genes of every scored set excluded), with a random generator
seeded by ``seed`` and a stable hash of the set's name. The raw score of a set is the
mean normalised expression of its genes; the set, all its control sets and every
leave-one-factor-out variant are scored together as sparse products with
:func:`scclast._matrix.matmul`. Each score is centred over cells (as scDRS does), and
each cell's set score is expressed against *its own* control scores:

* ``z = (s - mean(controls)) / sd(controls)`` and
* ``p = (1 + #{controls >= s}) / (n_control_sets + 1)``.

Deep cells and highly expressed sets raise the set and its matched controls alike, so
depth and expression level cancel in ``z``. The steps follow scDRS (Zhang et al. 2022,
Nat Genet 54:1572) but are written here rather than called from scDRS: scDRS scores an
in-memory AnnData one disease set at a time, while here each set, its controls and its
leave-one-factor-out variants are one sparse product over row chunks, so backed and dask
matrices are calibrated with bounded memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.stats import rankdata

from scclast._errors import ScclastInputError
from scclast._matrix import gene_moments, matmul
from scclast._stats import empirical_pvalue

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView
    from scclast.tl._flag._plan import SetPlan

_MAX_BLOCK_ELEMENTS = 1 << 25
"""Cells x columns of one sparse product (256 MiB of float64)."""


@dataclass
class Calibrated:
    """Calibrated per-cell scores of one set (and its leave-one-factor-out variants)."""

    z: np.ndarray
    pvalue: np.ndarray
    raw: np.ndarray
    loo: dict[str, np.ndarray] = field(default_factory=dict)
    controls: np.ndarray | None = None


def default_n_match(n_genes: int) -> int:
    """Candidate controls per gene: ``n_genes / 20`` clipped to [10, 50].

    Examples
    --------
    >>> default_n_match(240), default_n_match(20000)
    (12, 50)
    """
    return int(np.clip(n_genes // 20, 10, 50))


def match_controls(
    index: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    n_control_sets: int,
    rng: np.random.Generator,
    n_match: int,
    exclude: np.ndarray,
) -> np.ndarray:
    """Control genes matched one by one on mean and variance of expression.

    Genes are placed by their rank of mean and of variance (scaled to [0, 1]); each set
    gene's candidates are its ``n_match`` nearest genes (Euclidean, ties broken by gene
    order) outside ``exclude``; the controls of the ``n_control_sets`` sets are drawn
    from them with replacement.

    Returns
    -------
    numpy.ndarray
        ``(n_control_sets, len(index))`` gene positions; column ``i`` matches
        ``index[i]``.

    Examples
    --------
    >>> mean = np.arange(100.0); var = np.arange(100.0)
    >>> excl = np.zeros(100, bool); excl[[10, 50]] = True
    >>> c = match_controls(np.array([10, 50]), mean, var, 5, np.random.default_rng(0), 4, excl)
    >>> c.shape, bool(np.all(np.abs(c[:, 1] - 50) <= 2))
    ((5, 2), True)
    """
    n = mean.size
    rank_mean = (rankdata(mean) - 1) / max(1, n - 1)
    rank_var = (rankdata(var) - 1) / max(1, n - 1)
    candidates = np.flatnonzero(~exclude)
    if candidates.size == 0:
        raise ScclastInputError("no control genes left: the data hold only scored genes")
    k = min(n_match, candidates.size)
    out = np.empty((n_control_sets, index.size), dtype=np.intp)
    for i, gene in enumerate(index):
        distance = (rank_mean[candidates] - rank_mean[gene]) ** 2 + (
            rank_var[candidates] - rank_var[gene]
        ) ** 2
        pool = candidates[np.argsort(distance, kind="stable")[:k]]
        out[:, i] = rng.choice(pool, size=n_control_sets, replace=True)
    return out


def set_rng(seed: int, name: str) -> np.random.Generator:
    """Random generator of one set: seed plus a stable hash of the set's name.

    Examples
    --------
    >>> int(set_rng(0, "a").integers(100)) == int(set_rng(0, "a").integers(100))
    True
    """
    digest = hashlib.sha256(f"flag:{name}".encode()).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


@dataclass
class _Variant:
    name: str
    dropped: str | None
    positions: np.ndarray


def calibrate(
    view: ExpressionView,
    plans: Mapping[str, SetPlan],
    n_control_sets: int,
    seed: int,
    n_match: int | None = None,
    min_genes: int = 1,
) -> dict[str, Calibrated]:
    """Calibrated per-cell scores of every set with a measured gene.

    Flagging sets also get one variant per measured factor with that factor left out.
    See the module documentation for the definition.

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view
    >>> from scclast.tl._flag._plan import plan_sets
    >>> view = expression_view(scclast.datasets.example())
    >>> plans = plan_sets(view, ["clastokines_secreted"], "mouse")
    >>> secreted = calibrate(view, plans, n_control_sets=20, seed=0)["clastokines_secreted"]
    >>> secreted.z.shape, secreted.controls.shape  # 3000 cells; 20 sets of 9 genes
    ((3000,), (20, 9))
    >>> len(secreted.loo) == len(plans["clastokines_secreted"].factors())
    True
    """
    mean, var = gene_moments(view)
    n_match = n_match or default_n_match(view.n_vars)
    exclude = np.zeros(view.n_vars, dtype=bool)
    for plan in plans.values():
        exclude[plan.index] = True
    controls = {
        name: match_controls(
            plan.index, mean, var, n_control_sets, set_rng(seed, name), n_match, exclude
        )
        for name, plan in plans.items()
        if len(plan.found) >= min_genes
    }
    variants = _variants(plans, controls)
    results: dict[str, Calibrated] = {}
    for batch in _batches(variants, view.n_obs, n_control_sets + 1):
        weights = sparse.hstack(
            [
                _weights(plans[v.name].index, controls[v.name], v.positions, view.n_vars)
                for v in batch
            ],
            format="csr",
        )
        raw = matmul(view, weights)
        centre = np.asarray(weights.T @ mean).ravel()
        width = n_control_sets + 1
        for j, variant in enumerate(batch):
            columns = slice(j * width, (j + 1) * width)
            _store(results, variant, raw[:, columns], centre[columns], controls[variant.name])
    return results


def _variants(plans: Mapping[str, SetPlan], controls: Mapping[str, np.ndarray]) -> list[_Variant]:
    variants = []
    for name in controls:
        plan = plans[name]
        every = np.arange(len(plan.found))
        variants.append(_Variant(name, None, every))
        if plan.role != "flag":
            continue
        factors = plan.factors()
        if len(factors) < 2:
            continue
        for factor, positions in factors.items():
            variants.append(_Variant(name, factor, np.setdiff1d(every, positions)))
    return variants


def _batches(variants: list[_Variant], n_obs: int, width: int) -> list[list[_Variant]]:
    per_batch = max(1, _MAX_BLOCK_ELEMENTS // max(1, n_obs * width))
    return [variants[i : i + per_batch] for i in range(0, len(variants), per_batch)]


def _weights(
    index: np.ndarray, controls: np.ndarray, positions: np.ndarray, n_vars: int
) -> sparse.csr_matrix:
    """Columns: the set (mean of its genes at ``positions``), then each control set."""
    n_controls, m = controls.shape[0], positions.size
    rows = np.concatenate([index[positions], controls[:, positions].ravel()])
    cols = np.concatenate([np.zeros(m, dtype=np.intp), np.repeat(np.arange(1, n_controls + 1), m)])
    data = np.full(rows.size, 1.0 / m)
    return sparse.coo_matrix((data, (rows, cols)), shape=(n_vars, n_controls + 1)).tocsr()


def _store(
    results: dict[str, Calibrated],
    variant: _Variant,
    raw: np.ndarray,
    centre: np.ndarray,
    controls: np.ndarray,
) -> None:
    centred = raw - centre
    score, control_scores = centred[:, 0], centred[:, 1:]
    z = calibrated_z(score, control_scores)
    if variant.dropped is None:
        results[variant.name] = Calibrated(
            z=z,
            pvalue=empirical_pvalue(score, control_scores),
            raw=raw[:, 0].copy(),
            controls=controls,
        )
    else:
        results[variant.name].loo[variant.dropped] = z


def calibrated_z(score: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Each cell's score as a z-score against its own control scores.

    Cells whose control scores are all equal get ``z = 0`` (no evidence either way).

    Examples
    --------
    >>> calibrated_z(np.array([3.0, 1.0]), np.array([[0.0, 2.0], [1.0, 1.0]])).round(3)
    array([1.414, 0.   ])
    """
    mu = controls.mean(axis=1)
    sd = controls.std(axis=1, ddof=1) if controls.shape[1] > 1 else np.zeros(score.shape)
    z = np.zeros_like(score)
    ok = sd > 1e-12
    z[ok] = (score[ok] - mu[ok]) / sd[ok]
    return z


__all__ = [
    "Calibrated",
    "calibrate",
    "calibrated_z",
    "default_n_match",
    "match_controls",
    "set_rng",
]
