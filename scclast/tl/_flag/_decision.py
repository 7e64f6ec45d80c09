"""The decision: which rows are flagged, by which evidence, and who is reported apart.

A row (group x flagging set) is **flagged**, i.e. the group is a *candidate secretory
osteoclast-lineage population* for the set, when all of these hold
(:class:`~scclast.tl.FlagThresholds` gives each threshold and its reason):

1. the group is osteoclast-lineage, big enough, and not a macrophage group;
2. the set is a flagging set with enough of its genes measured;
3. the group test passes at ``fdr`` (Benjamini-Hochberg over the rows that can lead to
   a call: osteoclast-lineage groups x flagging sets): the paired t-test of per-sample
   effects when the row is replicated, the cell-level Mann-Whitney test otherwise
   (``evidence`` says which);
4. the control-set Monte Carlo p-value passes at ``control_fdr`` (BH over the same
   rows);
5. the normalised pseudobulk fold change, group over reference, is at least
   ``min_fold_change``;
6. the effect is positive in at least ``min_sign_agreement`` of the samples (when two or
   more samples have enough cells);
7. leaving out any one factor of the set keeps 5 and keeps the test of 3 under ``fdr``
   (uncorrected: a check of a row already significant after correction, not a new
   discovery; the fold change is what catches a call carried by one factor). A set
   with one measured factor cannot pass.

A macrophage group passing 2-7 is reported apart (``call``), not flagged: clastokines
are defined as osteoclast-lineage products. Descriptive sets are tested the same way but
never flagged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from scclast._stats import benjamini_hochberg
from scclast.tl._flag._effects import REPLICATED
from scclast.tl._flag._reasons import reasons
from scclast.tl._flag._replicates import EXPLORATORY
from scclast.tl._flag._thresholds import FlagThresholds
from scclast.tl._lineage_rules import MACROPHAGE

CANDIDATE = "candidate"
MACROPHAGE_APART = "macrophage (reported apart)"
DESCRIPTIVE = "descriptive set"
NOT_FLAGGED = "not flagged"
CALLS: tuple[str, ...] = (CANDIDATE, MACROPHAGE_APART, DESCRIPTIVE, NOT_FLAGGED)
"""Values of the ``call`` column."""

_PRIVATE = (
    "_lineage",
    "_big",
    "_covered",
    "_scored",
    "_mode",
    "_t_pvalue",
    "_loo_cell",
    "_loo_effects",
    "_loo_max_p_factor",
    "_passes",
)


def decide(table: pd.DataFrame, limits: FlagThresholds) -> pd.DataFrame:
    """Decision columns of the table: tests, FDRs, leave-one-out, flag, call, reasons.

    ``table`` holds the statistics of :func:`~scclast.tl._flag._group_stats.group_table`
    (with its private columns, dropped here).

    Examples
    --------
    >>> row = {"group": "oc", "lineage_state": "osteoclast", "gene_set": "s",
    ...        "set_role": "flagging", "n_cells": 120, "n_factors": 2, "coverage": "2/2",
    ...        "reference": "other lineage groups", "_lineage": True, "_big": True,
    ...        "_covered": True, "_scored": True, "_mode": "replicated",
    ...        "_t_pvalue": 1e-4, "cell_pvalue": 1e-9, "mc_pvalue": 0.001,
    ...        "fold_change": 3.0, "fold_change_low": 2.0, "fold_change_high": 4.5,
    ...        "control_fold_95": 1.3, "n_samples": 4, "samples_agree": 4,
    ...        "auroc": 0.8, "drivers": "", "_loo_cell": {},
    ...        "_loo_effects": {"a": (1.2, 1e-3), "b": (1.4, 1e-4)}}
    >>> out = decide(pd.DataFrame([row]), FlagThresholds())
    >>> bool(out.loc[0, "flagged"]), out.loc[0, "call"], out.loc[0, "evidence"]
    (True, 'candidate', 'replicated: 4 samples (paired pseudobulk t-test)')
    """
    table = table.copy()
    flagging = (table["set_role"] == "flagging").to_numpy()
    replicated = (table["_mode"] == REPLICATED).to_numpy()
    decision_p = np.where(replicated, table["_t_pvalue"], table["cell_pvalue"]).astype(float)
    table["pvalue"] = decision_p
    # the family: the hypotheses that can lead to a call (lineage groups, flagging sets)
    in_family = flagging & table["_lineage"].to_numpy(dtype=bool) & np.isfinite(decision_p)
    table["fdr"] = _bh(decision_p, in_family)
    mc = table["mc_pvalue"].to_numpy(dtype=float)
    table["mc_fdr"] = _bh(mc, in_family & np.isfinite(mc))
    loo = [_leave_one_out(row, limits, limits.fdr) for row in table.to_dict("records")]
    table["loo_min_fold_change"] = [item[0] for item in loo]
    table["loo_max_pvalue"] = [item[1] for item in loo]
    table["loo_weakest"] = [item[2] for item in loo]
    table["_loo_max_p_factor"] = [item[3] for item in loo]
    table["loo_survives"] = [item[4] for item in loo]
    sign_ok = [_signs_agree(row, limits) for row in table.to_dict("records")]
    passes = (
        flagging
        & table["_covered"].to_numpy(dtype=bool)
        & (table["fdr"].to_numpy(dtype=float) <= limits.fdr)
        & (table["mc_fdr"].to_numpy(dtype=float) <= limits.control_fdr)
        & (table["fold_change"].to_numpy(dtype=float) >= limits.min_fold_change)
        & np.asarray(sign_ok, dtype=bool)
        & table["loo_survives"].to_numpy(dtype=bool)
        & table["_lineage"].to_numpy(dtype=bool)
    )
    macrophage = (table["lineage_state"] == MACROPHAGE).to_numpy()
    table["_passes"] = passes
    table["flagged"] = passes & ~macrophage
    table["call"] = np.select(
        [table["flagged"], passes & macrophage, ~flagging],
        [CANDIDATE, MACROPHAGE_APART, DESCRIPTIVE],
        NOT_FLAGGED,
    )
    table["evidence"] = [_evidence(row) for row in table.to_dict("records")]
    table["reasons"] = [
        reasons(row, limits, limits.fdr, sign_ok=ok)
        for row, ok in zip(table.to_dict("records"), sign_ok, strict=True)
    ]
    return table.drop(columns=[c for c in _PRIVATE if c in table.columns])


def _bh(pvalues: np.ndarray, family: np.ndarray) -> np.ndarray:
    q = np.full(pvalues.shape, np.nan)
    if family.any():
        q[family] = benjamini_hochberg(pvalues[family])
    return q


def _leave_one_out(
    row: dict[str, Any], limits: FlagThresholds, cutoff: float
) -> tuple[float, float, str, str, bool]:
    """Weakest fold change, largest test p, their factors, and whether every variant holds.

    Replicated rows judge a variant by its paired t-test and fold change; exploratory
    rows by its cell-level Mann-Whitney p and pooled fold change.
    """
    effects: dict[str, tuple[float, float]] = row.get("_loo_effects") or {}
    cells: dict[str, tuple[float, float]] = row.get("_loo_cell") or {}
    if not effects:
        return float("nan"), float("nan"), "", "", False
    replicated = row.get("_mode") == REPLICATED
    folds = {f: float(2.0**log2fc) for f, (log2fc, _) in effects.items()}
    if replicated:
        pvalues = {f: p for f, (_, p) in effects.items()}
    else:
        pvalues = {f: cells.get(f, (math.nan, math.nan))[1] for f in effects}
    weakest = min(folds, key=lambda f: (np.nan_to_num(folds[f], nan=-np.inf), f))
    worst = max(pvalues, key=lambda f: (np.nan_to_num(pvalues[f], nan=np.inf), f))
    survives = (
        row.get("n_factors", 0) >= 2
        and all(np.isfinite(v) and v >= limits.min_fold_change for v in folds.values())
        and all(np.isfinite(p) and p <= cutoff for p in pvalues.values())
    )
    return folds[weakest], float(pvalues[worst]), weakest, worst, bool(survives)


def _signs_agree(row: dict[str, Any], limits: FlagThresholds) -> bool:
    n = int(row.get("n_samples") or 0)
    if n < 2:
        return True
    return float(row.get("samples_agree") or 0) >= needed_samples(n, limits)


def _evidence(row: dict[str, Any]) -> str:
    if row["set_role"] != "flagging":
        return "descriptive (not a flagging set)"
    if not np.isfinite(float(row.get("fdr", np.nan))):
        return "not tested"
    if row.get("_mode") == REPLICATED:
        return f"replicated: {int(row['n_samples'])} samples (paired pseudobulk t-test)"
    return EXPLORATORY


def needed_samples(n_samples: int, limits: FlagThresholds) -> int:
    """Samples that must agree in sign, of ``n_samples``.

    Examples
    --------
    >>> [needed_samples(n, FlagThresholds()) for n in (2, 3, 4, 5, 8)]
    [2, 3, 3, 4, 6]
    """
    return math.ceil(limits.min_sign_agreement * n_samples - 1e-9)


__all__ = [
    "CALLS",
    "CANDIDATE",
    "DESCRIPTIVE",
    "MACROPHAGE_APART",
    "NOT_FLAGGED",
    "decide",
    "needed_samples",
]
