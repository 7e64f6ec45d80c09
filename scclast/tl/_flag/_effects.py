"""The group-level effect of a set, per sample and pooled, against matched control sets.

The effect is a normalised pseudobulk fold change. For group ``g``, a sample ``s`` and
every gene, the cells' counts per 10,000 are averaged in ``g`` and in the reference (the
other osteoclast-lineage groups) within ``s``; the gene's ``log2`` fold change is
``log2((mean_g + c) / (mean_ref + c))`` (``c`` = :data:`~scclast._stats.PSEUDOCOUNT`),
minus the median of these over the well-expressed genes (at least
:data:`WELL_EXPRESSED` counts per 10,000 in both): the median-of-ratios normalisation of
pseudobulk DE (DESeq2), which removes the shift every gene shows when a class spends more
of its counts on its own programmes. The set's effect in ``s`` is the mean of its genes'
normalised fold changes.

* **Replicated** (a sample key, and at least ``min_samples`` samples with ``min_cells``
  cells of the group and of its reference): one value per sample, paired within the
  sample; the decision test is the one-sided t-test of these values (animals are the
  unit), the effect their mean (reported as ``fold_change = 2 ** mean``) with a t
  confidence interval. On nulls simulated with animal-level depth, composition and gene
  noise and state-dependent background, 7.4% of these tests fall under 0.05 and 1.3%
  under 0.01 (BENCHMARKS.md).
* **Exploratory** (otherwise): the same fold change on the cells of all samples pooled;
  the decision test is then cell-level (:mod:`~scclast.tl._flag._group_stats`).

In both modes the **Monte Carlo p-value** compares the statistic the decision uses (the
mean over samples of the set's fold change, or the pooled one) with the same statistic
of each of the ``n_control_sets`` control sets (genes of matched mean and variance)
drawn by :func:`~scclast.tl._flag._calibrate.calibrate`:
``p = (1 + #{control >= set}) / (n_control_sets + 1)``, as scDRS's
``downstream_group_analysis`` does for its group statistics. It asks whether the set
rises more than random genes of its expression level do between the same cells, which
is what lineage states with a different background look like. The statistic is linear
in the per-gene fold changes, so the controls cost one small product, not another pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scclast._stats import Pseudobulk, log2_fold_change, one_sided_t, t_interval
from scclast.tl._flag._plan import SetPlan
from scclast.tl._flag._replicates import Design

REPLICATED = "replicated"
EXPLORATORY_MODE = "exploratory"

WELL_EXPRESSED = 1.0
"""Counts per 10,000 a gene needs in both classes to enter the normalisation median
(about one UMI in every 5-10 cells at 1,000-2,000 UMIs per cell: below it, pseudocount
and sampling noise dominate the ratio)."""

_MIN_GENES_FOR_MEDIAN = 20


@dataclass
class VariantEffect:
    """The effect of one set (or one leave-one-factor-out variant) in one group."""

    log2fc: float
    pvalue: float = float("nan")
    sample_log2fc: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mc_pvalue: float = float("nan")
    control_q95: float = float("nan")
    ci: tuple[float, float] = (float("nan"), float("nan"))


@dataclass
class SetEffect:
    """Every effect statistic of one group x set (see the module documentation)."""

    mode: str
    samples: list[str]
    n_group: list[int]
    n_reference: list[int]
    main: VariantEffect
    loo: dict[str, VariantEffect] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Samples with enough cells of the group and of its reference."""
        return len(self.samples)

    @property
    def samples_agree(self) -> int:
        """Samples in which the set's adjusted fold change is positive."""
        return int(np.sum(self.main.sample_log2fc > 0))


@dataclass
class GroupContrast:
    """Per-gene log2 fold changes of one group against its reference."""

    samples: list[str]
    n_group: list[int]
    n_reference: list[int]
    per_sample: np.ndarray
    pooled: np.ndarray
    replicated: bool


def contrast(
    pb: Pseudobulk,
    design: Design,
    group: int,
    reference: np.ndarray,
    min_cells: int,
    min_samples: int,
) -> GroupContrast:
    """Per-gene fold changes of ``group`` over the ``reference`` groups, per sample and pooled.

    A sample is used when it has ``min_cells`` cells of the group and of the reference.

    Examples
    --------
    >>> linear = np.array([[40.0, 10, 10], [20, 10, 10], [0, 0, 0], [10, 10, 10],
    ...                    [10, 10, 10], [0, 0, 0], [0, 0, 0]])
    >>> pb = Pseudobulk(np.array([10.0, 10, 0, 10, 10, 0, 0]), linear * 0, linear * 0,
    ...                 linear, linear * 0)
    >>> design = Design("mouse", ["m1", "m2"], np.zeros(0, dtype=int))
    >>> c = contrast(pb, design, 0, np.array([1]), min_cells=5, min_samples=2)
    >>> c.replicated, c.per_sample[:, 0].round(2).tolist()
    (True, [1.58, 0.74])
    """
    slots = design.slots
    linear = pb.linear
    n = pb.n_cells
    ref_classes = (reference[:, None] * slots + np.arange(slots)[None, :]).reshape(-1)
    group_classes = design.classes_of(group)
    samples, n_group, n_reference, rows = [], [], [], []
    for s, sample in enumerate(design.samples):
        n_in = n[group * slots + s]
        ref_s = reference * slots + s
        n_ref = n[ref_s].sum()
        if n_in < min_cells or n_ref < min_cells:
            continue
        mean_in = linear[group * slots + s] / n_in
        mean_ref = linear[ref_s].sum(axis=0) / n_ref
        rows.append(normalised_fold_change(mean_in, mean_ref))
        samples.append(sample)
        n_group.append(int(n_in))
        n_reference.append(int(n_ref))
    n_in_all, n_ref_all = n[group_classes].sum(), n[ref_classes].sum()
    if n_in_all > 0 and n_ref_all > 0:
        pooled = normalised_fold_change(
            linear[group_classes].sum(axis=0) / n_in_all,
            linear[ref_classes].sum(axis=0) / n_ref_all,
        )
    else:
        pooled = np.full(linear.shape[1], np.nan)
    per_sample = np.vstack(rows) if rows else np.zeros((0, linear.shape[1]))
    return GroupContrast(
        samples, n_group, n_reference, per_sample, pooled, len(samples) >= min_samples
    )


def normalised_fold_change(mean_in: np.ndarray, mean_ref: np.ndarray) -> np.ndarray:
    """Per-gene log2 fold changes minus their median over the well-expressed genes.

    With fewer than 20 well-expressed genes, the median runs over every gene detected in
    both classes (none: no shift).

    Examples
    --------
    >>> mean_ref = np.full(40, 10.0)
    >>> mean_in = np.r_[np.full(39, 5.0), 40.0]  # every gene halves, one rises 4-fold
    >>> normalised_fold_change(mean_in, mean_ref)[[0, -1]].round(2).tolist()
    [0.0, 2.88]
    """
    fold = log2_fold_change(mean_in, mean_ref)
    both = np.minimum(mean_in, mean_ref)
    well = both >= WELL_EXPRESSED
    if well.sum() < _MIN_GENES_FOR_MEDIAN:
        well = both > 0
    return fold - (float(np.median(fold[well])) if well.any() else 0.0)


def set_effect(
    plan: SetPlan, controls: np.ndarray, fold: GroupContrast, loo: bool = True
) -> SetEffect:
    """The effect of a set and of its leave-one-factor-out variants in one group.

    Examples
    --------
    >>> plan = SetPlan("s", "flag", ["a", "b"], ["a", "b"], np.array([0, 1]), ["a", "b"])
    >>> lfc = np.array([[1.0, 1.2, 0.0, 0.1], [0.9, 1.1, 0.1, -0.1], [1.1, 0.8, 0.0, 0.0]])
    >>> fold = GroupContrast(["m1", "m2", "m3"], [20] * 3, [50] * 3, lfc, lfc.mean(0), True)
    >>> controls = np.array([[2, 3], [3, 2], [2, 2]])
    >>> effect = set_effect(plan, controls, fold)
    >>> effect.mode, round(effect.main.log2fc, 2), effect.main.mc_pvalue, effect.samples_agree
    ('replicated', 1.02, 0.25, 3)
    >>> sorted(effect.loo)
    ['a', 'b']
    """
    every = np.arange(len(plan.found))
    main = _variant(plan.index, controls, every, fold)
    variants = {}
    factors = plan.factors()
    if loo and plan.role == "flag" and len(factors) >= 2:
        for factor, positions in factors.items():
            kept = np.setdiff1d(every, positions)
            variants[factor] = _variant(plan.index, controls, kept, fold)
    return SetEffect(
        mode=REPLICATED if fold.replicated else EXPLORATORY_MODE,
        samples=list(fold.samples),
        n_group=list(fold.n_group),
        n_reference=list(fold.n_reference),
        main=main,
        loo=variants,
    )


def _variant(
    index: np.ndarray, controls: np.ndarray, positions: np.ndarray, fold: GroupContrast
) -> VariantEffect:
    genes, control_genes = index[positions], controls[:, positions]
    per_sample = fold.per_sample
    set_s = per_sample[:, genes].mean(axis=1) if per_sample.size else np.zeros(0)
    if fold.replicated:
        statistic = float(set_s.mean())
        control_statistic = per_sample[:, control_genes].mean(axis=2).mean(axis=0)
        pvalue = one_sided_t(set_s)[1]
        ci = t_interval(set_s)
    else:
        statistic = float(fold.pooled[genes].mean())
        control_statistic = fold.pooled[control_genes].mean(axis=1)
        pvalue, ci = float("nan"), (float("nan"), float("nan"))
    if not np.isfinite(statistic):
        return VariantEffect(log2fc=float("nan"), sample_log2fc=set_s)
    exceed = int(np.sum(control_statistic >= statistic))
    return VariantEffect(
        log2fc=statistic,
        pvalue=float(pvalue),
        sample_log2fc=set_s,
        mc_pvalue=(1.0 + exceed) / (control_statistic.size + 1.0),
        control_q95=float(np.quantile(control_statistic, 0.95)),
        ci=ci,
    )


def composition(pb: Pseudobulk, design: Design, groups: list[str]) -> pd.DataFrame:
    """Cells per group and sample, and the group's share of the sample's grouped cells.

    Examples
    --------
    >>> pb = Pseudobulk(np.array([3.0, 1, 0, 1, 3, 0, 2]), *[np.zeros((7, 1))] * 4)
    >>> design = Design("mouse", ["m1", "m2"], np.zeros(0, dtype=int))
    >>> composition(pb, design, ["a", "b"])["share"].round(2).tolist()
    [0.75, 0.25, 0.25, 0.75]
    """
    if not design.n_samples:
        return pd.DataFrame(columns=["group", "sample", "n_cells", "share"])
    counts = pb.n_cells[: len(groups) * design.slots].reshape(len(groups), design.slots)
    counts = counts[:, : design.n_samples]
    totals = counts.sum(axis=0)
    rows = [
        {
            "group": group,
            "sample": sample,
            "n_cells": int(counts[g, s]),
            "share": float(counts[g, s] / totals[s]) if totals[s] else float("nan"),
        }
        for g, group in enumerate(groups)
        for s, sample in enumerate(design.samples)
    ]
    return pd.DataFrame(rows)


def effects_by_group(
    pb: Pseudobulk,
    design: Design,
    plans: Mapping[str, SetPlan],
    controls: Mapping[str, np.ndarray],
    references: list[np.ndarray],
    tested: np.ndarray,
    min_cells: int,
    min_samples: int,
) -> dict[tuple[int, str], SetEffect]:
    """:func:`set_effect` of every tested group x flagging or descriptive set."""
    out: dict[tuple[int, str], SetEffect] = {}
    for g, reference in enumerate(references):
        if not tested[g] or reference.size == 0:
            continue
        fold = contrast(pb, design, g, reference, min_cells, min_samples)
        for name, plan in plans.items():
            if plan.role in ("flag", "descriptive") and name in controls:
                out[(g, name)] = set_effect(plan, controls[name], fold)
    return out


__all__ = [
    "EXPLORATORY_MODE",
    "REPLICATED",
    "GroupContrast",
    "SetEffect",
    "VariantEffect",
    "composition",
    "contrast",
    "effects_by_group",
    "normalised_fold_change",
    "set_effect",
]
