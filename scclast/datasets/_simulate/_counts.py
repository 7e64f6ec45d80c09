"""Drawing the simulated counts: gene profiles per state, per-cell factors, NB counts.

The order of the draws from the main generator is fixed (states' uniforms, profiles,
animals, depths, libraries, mitochondrial fractions, programme activities, dispersions,
counts): the default call then draws exactly what simulator v1 drew. Features added
since draw from their own seeded streams (:func:`stream`), so that switching one on does
not reshuffle the others. Counts are drawn in blocks of :data:`CHUNK_CELLS` cells, which
keeps memory flat in the number of cells without changing a single draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from scclast._errors import ScclastInputError
from scclast.datasets._simulate._states import SimState

MT_GENES: tuple[str, ...] = (
    "mt-Co1",
    "mt-Co2",
    "mt-Co3",
    "mt-Atp6",
    "mt-Nd1",
    "mt-Nd2",
    "mt-Nd4",
    "mt-Cytb",
)
"""Real mouse mitochondrial gene symbols, used for a simulated mitochondrial fraction."""

CHUNK_CELLS = 4096
"""Cells per block of count draws (a memory bound; the draws do not depend on it)."""

TRANSIENT_WIDTH = 0.15
"""Standard deviation, in pseudotime units, of a ``transient`` trend's bump at t = 0.5."""

STREAMS = {"composition": 1, "gene_noise": 2, "pseudotime": 3}


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator for one feature, independent of the main one and of the others.

    Examples
    --------
    >>> a = stream(0, "composition").random()
    >>> a == stream(0, "composition").random(), a == stream(0, "pseudotime").random()
    (True, False)
    """
    return np.random.default_rng([seed, STREAMS[name]])


def gene_list(
    programmes: Mapping[str, list[str]], states: Sequence[SimState], extra: list[str], n_genes: int
) -> tuple[list[str], dict[str, list[str]]]:
    """Named genes (programmes, per-state overrides, mitochondrial, extra), then ``Bg*``."""
    membership: dict[str, list[str]] = {}
    for name, genes in programmes.items():
        for gene in genes:
            membership.setdefault(gene, []).append(name)
    overrides = [g for s in states for g in s.gene_folds]
    named = list(dict.fromkeys([*membership, *overrides, *MT_GENES, *extra]))
    if n_genes < len(named):
        raise ScclastInputError(
            f"n_genes={n_genes} is smaller than the {len(named)} named genes: "
            f"use n_genes >= {len(named)}"
        )
    background = [f"Bg{i:05d}" for i in range(1, n_genes - len(named) + 1)]
    return named + background, membership


def state_profiles(
    rng: np.random.Generator,
    genes: list[str],
    programmes: Mapping[str, list[str]],
    states: Sequence[SimState],
    clastokine_fold: float,
    clastokine_genes: int | None,
    stromal_marker_fold: float,
    de_fraction: float,
    max_gene_share: float | None,
) -> np.ndarray:
    """Relative abundance of each gene in each state (states x genes, rows sum to 1)."""
    n_genes, n_states = len(genes), len(states)
    index = {g: i for i, g in enumerate(genes)}
    names = [s.name for s in states]
    base = rng.lognormal(0.0, 3.0, size=n_genes)
    fold = np.ones((n_states, n_genes))
    background = np.array([g.startswith("Bg") for g in genes])
    # Background genes with a random fold per state: state-dependent background expression.
    de = background & (rng.random(n_genes) < de_fraction * n_states)
    fold[:, de] = rng.lognormal(0.0, 1.0, size=(n_states, int(de.sum())))

    named_fold = np.zeros((n_states, n_genes))
    touched = np.zeros(n_genes, dtype=bool)
    floor = np.quantile(base, 0.85)
    # With the cap on, structured genes also get a ceiling, so that their state folds
    # show instead of being flattened by the cap.
    ceiling = np.inf if max_gene_share is None else np.quantile(base, 0.95)
    for name, members in programmes.items():
        cols = [index[g] for g in members]
        base[cols] = np.minimum(np.maximum(base[cols], floor), ceiling)
        activity = np.asarray([s.activity(name) for s in states])[:, None]
        named_fold[:, cols] = np.maximum(named_fold[:, cols], activity)
        touched[cols] = True
    fold[:, touched] = named_fold[:, touched]

    if "osteoclast_secretory" in names:
        clastokines = [index[g] for g in programmes["clastokines"]]
        raised = (
            clastokines if clastokine_genes is None else clastokines[: max(0, clastokine_genes)]
        )
        jitter = rng.lognormal(0.0, 0.25, size=len(raised))
        fold[names.index("osteoclast_secretory"), raised] *= clastokine_fold * jitter

    for row, state in enumerate(states):
        for gene, value in state.gene_folds.items():
            base[index[gene]] = min(max(base[index[gene]], floor), ceiling)
            touched[index[gene]] = True
            fold[row, index[gene]] = stromal_marker_fold if state.name == "stromal" else value
        if state.activity("myeloid_identity") == 0:
            for gene in programmes["myeloid_identity"]:
                fold[row, index[gene]] = 0.0  # no myeloid identity outside the myeloid classes

    fold[:, [index[g] for g in MT_GENES]] = 0.0  # mitochondrial counts are added separately
    profile = base[None, :] * fold
    if max_gene_share is not None:
        profile = np.vstack([cap_abundance(row, max_gene_share, ~touched) for row in profile])
    return profile / profile.sum(axis=1, keepdims=True)


def cap_abundance(
    values: np.ndarray, share: float | None, cappable: np.ndarray | None = None
) -> np.ndarray:
    """Lower the largest ``cappable`` values so that none exceeds ``share`` of the total.

    Log-normal abundances with a spread of 3, times random per-state folds, let one
    background gene take a third of a state's counts in about half of all seeds; droplet
    data have no such gene. ``None`` leaves them as drawn (simulator v1). No random
    numbers are used.

    Examples
    --------
    >>> capped = cap_abundance(np.array([1000.0, 1.0, 1.0, 1.0] + [1.0] * 96), 0.05)
    >>> round(float(capped.max() / capped.sum()), 3)
    0.05
    """
    cappable = np.ones(len(values), dtype=bool) if cappable is None else cappable
    if share is None or share * int(cappable.sum()) <= 1:
        return values
    ordered = np.sort(values[cappable])[::-1]
    fixed = float(values[~cappable].sum())
    rest = fixed + np.cumsum(ordered[::-1])[::-1]  # rest[k]: all but the k largest
    k = np.arange(len(ordered))
    room = np.maximum(1 - share * k, 1e-12)  # k >= 1/share never fits: a tiny room
    cap = share * rest / room
    # the smallest number of capped genes for which the next one already fits
    first = int(np.argmax(ordered <= cap))
    if first == 0:
        return values
    out = values.copy()
    out[cappable] = np.minimum(values[cappable], cap[first])
    return out


def assign_states(u: np.ndarray, sample_idx: np.ndarray, compositions: np.ndarray) -> np.ndarray:
    """Each cell's state from its uniform draw and its animal's composition.

    Examples
    --------
    >>> assign_states(np.array([0.1, 0.9]), np.array([0, 1]), np.array([[0.5, 0.5], [1.0, 0]]))
    array([0, 0])
    """
    state_idx = np.empty(len(u), dtype=np.int64)
    for animal, shares in enumerate(compositions):
        cdf = np.cumsum(shares)
        cdf /= cdf[-1]
        mask = sample_idx == animal
        state_idx[mask] = cdf.searchsorted(u[mask], side="right")
    return state_idx


def lineage_bins(states: Sequence[SimState], shares: np.ndarray) -> dict[int, tuple[float, float]]:
    """Pseudotime bin ``(lo, hi)`` of each lineage state (by row), widths by share.

    Examples
    --------
    >>> from scclast.datasets._simulate._states import STATE_BY_NAME
    >>> rows = [STATE_BY_NAME[n] for n in ("stromal", "osteoclast", "macrophage")]
    >>> lineage_bins(rows, np.array([0.5, 0.25, 0.25]))
    {2: (0.0, 0.5), 1: (0.5, 1.0)}
    """
    rows = sorted(
        (i for i, s in enumerate(states) if s.order is not None and shares[i] > 0),
        key=lambda i: states[i].order or 0,
    )
    if not rows:
        return {}
    widths = shares[rows] / shares[rows].sum()
    edges = np.concatenate([[0.0], np.cumsum(widths)])
    edges[-1] = 1.0
    return {r: (float(edges[k]), float(edges[k + 1])) for k, r in enumerate(rows)}


@dataclass
class Trajectory:
    """Per-cell pseudotime and, in continuous mode, the two state rows it lies between."""

    t: np.ndarray
    left: np.ndarray | None = None
    right: np.ndarray | None = None
    frac: np.ndarray | None = None


def trajectory(
    state_idx: np.ndarray,
    bins: dict[int, tuple[float, float]],
    continuous: bool,
    rng: np.random.Generator,
) -> Trajectory:
    """``pseudotime_true`` (NaN off the lineage): bin midpoints, or uniform within the bin
    with profiles interpolated between neighbouring states' midpoints when ``continuous``."""
    t = np.full(len(state_idx), np.nan)
    lo = np.full(len(state_idx), np.nan)
    hi = np.full(len(state_idx), np.nan)
    for row, (a, b) in bins.items():
        lo[state_idx == row], hi[state_idx == row] = a, b
    lineage = ~np.isnan(lo)
    if not continuous or not bins:
        t[lineage] = (lo[lineage] + hi[lineage]) / 2
        return Trajectory(t)
    t[lineage] = lo[lineage] + (hi[lineage] - lo[lineage]) * rng.random(int(lineage.sum()))
    rows = np.asarray(list(bins))
    mids = np.asarray([(a + b) / 2 for a, b in bins.values()])
    pos = np.interp(t[lineage], mids, np.arange(len(rows), dtype=float))
    k = np.minimum(np.floor(pos).astype(np.int64), len(rows) - 1)
    left, right, frac = state_idx.copy(), state_idx.copy(), np.zeros(len(state_idx))
    left[lineage] = rows[k]
    right[lineage] = rows[np.minimum(k + 1, len(rows) - 1)]
    frac[lineage] = pos - k
    return Trajectory(t, left, right, frac)


def trend_exponent(t: np.ndarray, shape: str) -> np.ndarray:
    """Exponent ``s(t)`` of a trend's fold (``fold ** s``): 1 where the trend peaks.

    Examples
    --------
    >>> trend_exponent(np.array([0.0, 0.5, 1.0]), "late").tolist()
    [0.0, 0.5, 1.0]
    >>> trend_exponent(np.array([0.0, 0.5, 1.0]), "transient").round(3).tolist()
    [0.004, 1.0, 0.004]
    """
    if shape == "late":
        return t
    if shape == "early":
        return 1.0 - t
    return np.exp(-0.5 * ((t - 0.5) / TRANSIENT_WIDTH) ** 2)


@dataclass
class GeneEffect:
    """A fold on some genes in the cells of some states and animals."""

    cols: np.ndarray
    states: np.ndarray
    samples: np.ndarray
    fold: float


@dataclass
class CellPlan:
    """Everything the count draws need, per gene and per cell."""

    profile: np.ndarray
    state_idx: np.ndarray
    sample_idx: np.ndarray
    library: np.ndarray
    mito: np.ndarray
    activities: list[tuple[list[int], np.ndarray]]
    mt_cols: list[int]
    mt_weights: np.ndarray
    path: Trajectory
    gene_noise: np.ndarray | None = None
    effects: list[GeneEffect] = field(default_factory=list)
    trends: list[tuple[np.ndarray, str]] = field(default_factory=list)
    trend_fold: float = 4.0

    def means(self, sl: slice) -> np.ndarray:
        """Expected counts of the cells in ``sl`` (cells x genes)."""
        state = self.state_idx[sl]
        path = self.path
        if path.left is None or path.right is None or path.frac is None:
            profile = self.profile[state]
        else:
            frac = path.frac[sl][:, None]
            profile = self.profile[path.left[sl]] * (1 - frac) + self.profile[path.right[sl]] * frac
        library, mito = self.library[sl], self.mito[sl]
        means = profile * (library * (1 - mito))[:, None]
        for cols, activity in self.activities:
            means[:, cols] *= activity[sl][:, None]
        means[:, self.mt_cols] = (library * mito)[:, None] * self.mt_weights[None, :]
        if self.gene_noise is not None:
            means *= self.gene_noise[self.sample_idx[sl]]
        for effect in self.effects:
            rows = np.flatnonzero(
                np.isin(state, effect.states) & np.isin(self.sample_idx[sl], effect.samples)
            )
            means[np.ix_(rows, effect.cols)] *= effect.fold
        t = path.t[sl]
        rows = np.flatnonzero(~np.isnan(t))
        for cols, shape in self.trends:
            factor = self.trend_fold ** trend_exponent(t[rows], shape)
            means[np.ix_(rows, cols)] *= factor[:, None]
        return means


def draw_counts(rng: np.random.Generator, plan: CellPlan, theta: np.ndarray) -> sp.csr_matrix:
    """Negative-binomial counts, block by block, as a float32 CSR matrix."""
    n_cells = len(plan.state_idx)
    blocks = []
    for start in range(0, n_cells, CHUNK_CELLS):
        means = plan.means(slice(start, min(start + CHUNK_CELLS, n_cells)))
        counts = rng.negative_binomial(theta, theta / (theta + means))
        blocks.append(sp.csr_matrix(counts.astype(np.float32)))
        del means, counts
    return blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr")


def effect_columns(
    spec: Mapping[str, Any],
    where: str,
    index: Mapping[str, int],
    programmes: Mapping[str, list[str]],
) -> tuple[np.ndarray, list[str]]:
    """Column indices and genes of an effect's ``genes`` or ``programme``."""
    genes = list(programmes[spec["programme"]]) if "programme" in spec else list(spec["genes"])
    missing = [g for g in genes if g not in index]
    if missing:
        raise ScclastInputError(
            f"{where}: gene(s) {missing[:5]} are not simulated: add them with extra_genes= "
            "(or enable the states whose programme holds them)"
        )
    genes = list(dict.fromkeys(genes))
    return np.asarray([index[g] for g in genes], dtype=np.int64), genes
