"""Why a row is (not) flagged, in one line a biologist can read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from scclast.tl._flag._thresholds import FlagThresholds
from scclast.tl._lineage_rules import (
    DENDRITIC_CELL,
    MYELOID_OTHER,
    NEUTROPHIL,
    NON_LINEAGE,
    UNDETERMINED,
)


def reasons(
    row: Mapping[str, Any], limits: FlagThresholds, cutoff: float, sign_ok: bool = True
) -> str:
    """Why a row is (not) flagged, in one line.

    ``row`` is a row of the table being decided by
    :func:`~scclast.tl._flag._decision.decide` (with its private ``_big``, ``_lineage``,
    ``_scored``, ``_covered``, ``_mode`` and ``_passes`` columns); ``cutoff`` is the BH
    cut-off the leave-one-out variants are held to.

    Examples
    --------
    >>> reasons({"lineage_state": "osteoclast", "_big": False, "n_cells": 8},
    ...         FlagThresholds(), cutoff=0.01)
    'not flagged: too small (8 cells < 10)'
    >>> reasons({"lineage_state": "non-lineage", "_big": True, "_lineage": False},
    ...         FlagThresholds(), cutoff=0.01)
    'not flagged: non-lineage (no myeloid identity)'
    """
    state = row["lineage_state"]
    if not row["_big"]:
        return f"not flagged: too small ({row['n_cells']} cells < {limits.min_cells})"
    if not row["_lineage"]:
        return "not flagged: " + _state_reason(state)
    if not row["_scored"]:
        return (
            f"not flagged: low coverage of {row['gene_set']} ({row['coverage']} genes in the data)"
        )
    summary = _summary(row, limits, sign_ok)
    if row.get("set_role") == "descriptive":
        return f"descriptive set (never flagged): {summary}"
    if row["flagged"] or row.get("_passes"):
        text = f"{summary}, survives leave-one-out"
        text += f" (weakest without {row['loo_weakest']}: {_fold(row['loo_min_fold_change'])}-fold)"
        if row.get("drivers"):
            text += f"; drivers {row['drivers']}"
        text += _side_reason(row)
        if row["flagged"]:
            return f"flagged ({_mode_word(row)}): {text}"
        return (
            "not flagged: macrophage group (clastokines are osteoclast-lineage products; "
            f"reported apart): {text}"
        )
    problems = []
    if not row["_covered"]:
        problems.append(
            f"low coverage ({row['coverage']} genes in the data, need {limits.min_coverage:.0%})"
        )
    if _core_ok(row, limits) and sign_ok and not row["loo_survives"]:
        problems.append(_loo_reason(row, limits, cutoff))
    return f"not flagged: {summary}" + ("; " + "; ".join(problems) if problems else "")


def _core_ok(row: Mapping[str, Any], limits: FlagThresholds) -> bool:
    return bool(
        row["fdr"] <= limits.fdr
        and row["mc_fdr"] <= limits.control_fdr
        and row["fold_change"] >= limits.min_fold_change
    )


def _summary(row: Mapping[str, Any], limits: FlagThresholds, sign_ok: bool = True) -> str:
    """The set's effect and its three tests, each marked where it misses."""
    fold, q, mc_q = row["fold_change"], row.get("fdr", np.nan), row.get("mc_fdr", np.nan)
    descriptive = row.get("set_role") == "descriptive"
    test = "paired t" if row.get("_mode") == "replicated" else "cell-level"
    parts = [
        f"{row['gene_set']} {_fold(fold)}-fold"
        + ("" if fold >= limits.min_fold_change else f" < {limits.min_fold_change:g}")
        + f" vs {row['reference']}"
    ]
    if descriptive:
        parts.append(f"{test} p {fmt_p(row.get('pvalue', np.nan))}")
        parts.append(f"control-set p {fmt_p(row.get('mc_pvalue', np.nan))}")
    else:
        parts.append(f"{test} FDR {fmt_p(q)}" + ("" if q <= limits.fdr else f" > {limits.fdr:g}"))
        parts.append(
            f"control-set p {fmt_p(row.get('mc_pvalue', np.nan))} (FDR {fmt_p(mc_q)}"
            + (")" if mc_q <= limits.control_fdr else f" > {limits.control_fdr:g})")
        )
    n_samples = int(row.get("n_samples") or 0)
    if n_samples:
        agree = f"up in {int(row['samples_agree'])}/{n_samples} samples"
        if not sign_ok:
            agree += f" (need {limits.min_sign_agreement:.0%})"
        parts.append(agree)
    return ", ".join(parts)


def _mode_word(row: Mapping[str, Any]) -> str:
    if row.get("_mode") == "replicated":
        return f"replicated, {int(row['n_samples'])} samples"
    return "exploratory"


def _fold(value: float) -> str:
    """A fold change as text: two significant digits (``nan`` as NA)."""
    return f"{value:.2f}" if np.isfinite(value) else "NA"


def _state_reason(state: str) -> str:
    if state == NON_LINEAGE:
        return "non-lineage (no myeloid identity)"
    if state == UNDETERMINED:
        return "lineage undetermined (low coverage of the lineage genes)"
    if state == MYELOID_OTHER:
        return "myeloid without an osteoclast-lineage program"
    if state == NEUTROPHIL:
        return "neutrophil (granulocyte programme; not osteoclast-lineage)"
    if state == DENDRITIC_CELL:
        return "dendritic cell (conventional DC programme; not osteoclast-lineage)"
    return f"lineage state {state}"


def _loo_reason(row: Mapping[str, Any], limits: FlagThresholds, cutoff: float) -> str:
    if row["n_factors"] < 2:
        return "fails leave-one-out: only one factor measured"
    if not row["loo_min_fold_change"] >= limits.min_fold_change:
        return (
            f"fails leave-one-out (without {row['loo_weakest']}: "
            f"{_fold(row['loo_min_fold_change'])}-fold < {limits.min_fold_change:g})"
        )
    return (
        f"fails leave-one-out (without {row['_loo_max_p_factor']}: p "
        f"{fmt_p(row['loo_max_pvalue'])} > {cutoff:g})"
    )


def _side_reason(row: Mapping[str, Any]) -> str:
    parts = []
    if np.isfinite(row.get("machinery_auroc", np.nan)):
        parts.append(f"secretory machinery AUROC {row['machinery_auroc']:.2f}")
    if np.isfinite(row.get("inhibitory_auroc", np.nan)):
        parts.append(f"inhibitory (reported apart) AUROC {row['inhibitory_auroc']:.2f}")
    return ("; " + ", ".join(parts)) if parts else ""


def fmt_p(value: float) -> str:
    """A p-value as text: two significant digits, or ``1.5e-7`` style when small.

    Examples
    --------
    >>> fmt_p(0.0123), fmt_p(3.2e-7), fmt_p(float("nan"))
    ('0.012', '3.2e-7', 'NA')
    """
    if not np.isfinite(value):
        return "NA"
    return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}".replace("e-0", "e-")


__all__ = ["fmt_p", "reasons"]
