"""Matched control gene sets, and per-cell calibration against them (after scDRS).

For every set, ``n_control_sets`` control sets are drawn gene by gene: each set gene is
replaced by one of its ``n_match`` nearest genes by rank of mean and variance of
normalised expression (genes of every scored set excluded), with a random generator
seeded by ``seed`` and a stable hash of the set's name. All of them serve the
group-level Monte Carlo test (:mod:`~scclast.tl._flag._effects`); each cell is
calibrated against the first :data:`CELL_CONTROL_SETS`.

The raw score of a set is the mean normalised expression of its genes. The set, its
controls and every leave-one-factor-out variant are scored in one pass over the matrix:
one sparse product per row chunk gives the sum of each factor's genes (and of the same
positions of each control set), from which the set (all factors) and each variant (all
but one) follow without scoring a gene twice. Each score is centred over cells (as scDRS
does), and each cell's set score is expressed against *its own* control scores:

* ``z = (s - mean(controls)) / sd(controls)`` and
* ``p = (1 + #{controls >= s}) / (n_controls + 1)``.

Deep cells and highly expressed sets raise the set and its matched controls alike, so
depth and expression level cancel in ``z``. The steps follow scDRS (Zhang et al. 2022,
Nat Genet 54:1572) but are written here rather than called from scDRS: scDRS scores an
in-memory AnnData one disease set at a time, while here every set, its controls and its
variants are one pass over row chunks, so backed and dask matrices are calibrated with
bounded memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from scclast._errors import ScclastInputError
from scclast._matrix import RawChunk, gene_moments
from scclast._matrix._ops import _chunk_times_w, _StoredWeights
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
    from scipy.stats import rankdata  # slow to import: only when flagging

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
class _Layout:
    """Where one set's columns sit in the product: one block per part of the set.

    A part is a factor of a flagging set (so that each leave-one-factor-out variant is
    the whole minus one part) or the whole of any other set. Each block holds the sum of
    the part's set genes, then the sum of the same positions of each control set.
    """

    name: str
    parts: list[str | None]
    sizes: list[int]
    start: int

    @property
    def n_genes(self) -> int:
        return sum(self.sizes)


def draw_controls(
    plans: Mapping[str, SetPlan],
    mean: np.ndarray,
    var: np.ndarray,
    n_control_sets: int,
    seed: int,
    n_match: int | None = None,
    min_genes: int = 1,
) -> dict[str, np.ndarray]:
    """Matched control genes of every set with at least ``min_genes`` measured genes.

    Returns ``{set: (n_control_sets, n_genes) gene positions}``; genes of every planned
    set are excluded from every control set.
    """
    n_match = n_match or default_n_match(mean.size)
    exclude = np.zeros(mean.size, dtype=bool)
    for plan in plans.values():
        exclude[plan.index] = True
    return {
        name: match_controls(
            plan.index, mean, var, n_control_sets, set_rng(seed, name), n_match, exclude
        )
        for name, plan in plans.items()
        if len(plan.found) >= min_genes
    }


def calibrate(
    view: ExpressionView,
    plans: Mapping[str, SetPlan],
    n_control_sets: int,
    seed: int,
    n_match: int | None = None,
    min_genes: int = 1,
    moments: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Calibrated]:
    """Calibrated per-cell scores of every set with a measured gene.

    Flagging sets also get one variant per measured factor with that factor left out.
    All ``n_control_sets`` controls are drawn (and kept in :attr:`Calibrated.controls`
    for the group-level Monte Carlo test); each cell is calibrated against the first
    :data:`CELL_CONTROL_SETS` of them. The set, its controls and its variants are scored
    in one pass over the matrix. ``moments``: per-gene mean and variance when already
    known (saves a pass). See the module documentation for the definition.

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
    mean, var = moments if moments is not None else gene_moments(view)
    controls = draw_controls(plans, mean, var, n_control_sets, seed, n_match, min_genes)
    if not controls:
        return {}
    per_cell = min(n_control_sets, CELL_CONTROL_SETS)
    layouts, blocks = [], []
    start = 0
    for name, drawn in controls.items():
        plan = plans[name]
        parts = _parts(plan)
        for positions in parts.values():
            blocks.append(_weights(plan.index, drawn[:per_cell], positions, view.n_vars))
        layouts.append(_Layout(name, list(parts), [p.size for p in parts.values()], start))
        start += len(parts) * (per_cell + 1)
    weights = sparse.hstack(blocks, format="csr")
    centre = np.asarray(weights.T @ mean).ravel()
    stored = _StoredWeights.build(weights, view.columns, view.n_stored_columns)
    n_out = sum(3 + len(layout.parts) * (len(layout.parts) > 1) for layout in layouts)
    func = partial(
        _calibrate_chunk, weights=stored, centre=centre, width=per_cell + 1, layouts=layouts
    )
    out = view.map_rows(func, n_out)
    results: dict[str, Calibrated] = {}
    column = 0
    for layout in layouts:
        results[layout.name] = Calibrated(
            z=out[:, column],
            pvalue=out[:, column + 1],
            raw=out[:, column + 2],
            controls=controls[layout.name],
        )
        column += 3
        if len(layout.parts) > 1:
            for factor in layout.parts:
                results[layout.name].loo[str(factor)] = out[:, column]
                column += 1
    return results


CELL_CONTROL_SETS = 200
"""Control sets each cell is calibrated against (the first ones drawn).

Per-cell ``z`` needs only a stable mean and spread of the controls, and the per-cell
p-value (floor 1/201) is descriptive; the group-level Monte Carlo p-value uses every
drawn control set, where the floor matters. Scoring every cell against 1,000 sets would
cost five times the time for no gain in the per-cell values.
"""


def _parts(plan: SetPlan) -> dict[str | None, np.ndarray]:
    """Positions of each factor of a flagging set with 2+ factors; else the whole set."""
    factors = plan.factors()
    if plan.role == "flag" and len(factors) >= 2:
        return {factor: np.asarray(positions) for factor, positions in factors.items()}
    return {None: np.arange(len(plan.found))}


def _calibrate_chunk(
    chunk: RawChunk,
    parallel: bool,
    weights: _StoredWeights,
    centre: np.ndarray,
    width: int,
    layouts: list[_Layout],
) -> np.ndarray:
    """Per-cell z, p and raw score of every set, and z of every variant, for one chunk.

    The chunk is cut so that one block of sums (rows x all columns) stays under
    :data:`_MAX_BLOCK_ELEMENTS`. A set's scores are the sums of its parts, a variant's
    the sums of all parts but one: each gene enters the product once.
    """
    n_rows = chunk.matrix.shape[0]
    n_out = sum(3 + len(layout.parts) * (len(layout.parts) > 1) for layout in layouts)
    out = np.empty((n_rows, n_out))
    step = max(1, _MAX_BLOCK_ELEMENTS // max(1, centre.size))
    for first in range(0, n_rows, step):
        last = min(n_rows, first + step)
        part = RawChunk(
            rows=slice(chunk.rows.start + first, chunk.rows.start + last),
            matrix=chunk.matrix[first:last],
            scale=None if chunk.scale is None else chunk.scale[first:last],
        )
        sums = _chunk_times_w(part, parallel, weights)
        sums -= centre
        column = 0
        for layout in layouts:
            blocks = [
                sums[:, layout.start + i * width : layout.start + (i + 1) * width]
                for i in range(len(layout.parts))
            ]
            total = blocks[0].copy()
            for block in blocks[1:]:
                total += block
            score, controls = total[:, 0], total[:, 1:]
            out[first:last, column] = calibrated_z(score, controls)
            out[first:last, column + 1] = empirical_pvalue(score, controls)
            raw_centre = sum(float(centre[layout.start + i * width]) for i in range(len(blocks)))
            out[first:last, column + 2] = (score + raw_centre) / layout.n_genes
            column += 3
            if len(blocks) > 1:
                squares = np.einsum("ij,ij->i", controls, controls)
                for block in blocks:
                    out[first:last, column] = _variant_z(total, block, squares)
                    column += 1
    return out


def _weights(
    index: np.ndarray, controls: np.ndarray, positions: np.ndarray, n_vars: int
) -> sparse.csr_matrix:
    """Columns: the sum of the set's genes at ``positions``, then of each control set's."""
    n_controls, m = controls.shape[0], positions.size
    rows = np.concatenate([index[positions], controls[:, positions].ravel()])
    cols = np.concatenate([np.zeros(m, dtype=np.intp), np.repeat(np.arange(1, n_controls + 1), m)])
    data = np.ones(rows.size)
    return sparse.coo_matrix((data, (rows, cols)), shape=(n_vars, n_controls + 1)).tocsr()


def _variant_z(total: np.ndarray, block: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """:func:`calibrated_z` of ``total - block`` without forming it.

    ``squares`` is the row-wise sum of squares of ``total``'s control columns; the
    variant's follows from ``sum((t - b)^2) = sum(t^2) - 2 sum(t b) + sum(b^2)``.
    """
    controls, part = total[:, 1:], block[:, 1:]
    k = controls.shape[1]
    score = total[:, 0] - block[:, 0]
    mu = controls.mean(axis=1) - part.mean(axis=1)
    if k < 2:
        return np.zeros_like(score)
    variant_squares = (
        squares - 2.0 * np.einsum("ij,ij->i", controls, part) + np.einsum("ij,ij->i", part, part)
    )
    sd = np.sqrt(np.maximum(variant_squares - k * mu * mu, 0.0) / (k - 1))
    z = np.zeros_like(score)
    ok = sd > 1e-12
    z[ok] = (score[ok] - mu[ok]) / sd[ok]
    return z


def calibrated_z(score: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Each cell's score as a z-score against its own control scores.

    Cells whose control scores are all equal get ``z = 0`` (no evidence either way).

    Examples
    --------
    >>> calibrated_z(np.array([3.0, 1.0]), np.array([[0.0, 2.0], [1.0, 1.0]])).round(3)
    array([1.414, 0.   ])
    """
    k = controls.shape[1]
    mu = controls.mean(axis=1)
    if k > 1:
        # sum of squares by einsum: one pass, no (cells x controls) temporary
        squares = np.einsum("ij,ij->i", controls, controls)
        sd = np.sqrt(np.maximum(squares - k * mu * mu, 0.0) / (k - 1))
    else:
        sd = np.zeros(score.shape)
    z = np.zeros_like(score)
    ok = sd > 1e-12
    z[ok] = (score[ok] - mu[ok]) / sd[ok]
    return z


__all__ = [
    "CELL_CONTROL_SETS",
    "Calibrated",
    "calibrate",
    "calibrated_z",
    "default_n_match",
    "draw_controls",
    "match_controls",
    "set_rng",
]
