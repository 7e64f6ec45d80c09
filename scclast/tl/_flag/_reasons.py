"""Why a row is (not) flagged, in one line a biologist can read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from scclast.tl._flag._thresholds import FlagThresholds
from scclast.tl._lineage_rules import MYELOID_OTHER, NON_LINEAGE, UNDETERMINED


def reasons(row: Mapping[str, Any], limits: FlagThresholds, cutoff: float) -> str:
    """Why a row is (not) flagged, in one line.

    ``row`` is a row of the table being built by
    :func:`~scclast.tl._flag._group_stats.group_table` (with its private ``_big``,
    ``_lineage``, ``_scored`` and ``_covered`` columns); ``cutoff`` is the BH cut-off
    the leave-one-out variants are held to.

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
    auroc_ok = row["auroc"] >= limits.min_auroc
    fdr_ok = row["fdr"] <= limits.fdr
    summary = (
        f"{row['gene_set']} AUROC {row['auroc']:.2f}"
        + ("" if auroc_ok else f" < {limits.min_auroc:g}")
        + f" vs {row['reference']}, FDR {fmt_p(row['fdr'])}"
        + ("" if fdr_ok else f" > {limits.fdr:g}")
    )
    if row["flagged"]:
        text = f"flagged: {summary}, survives leave-one-out"
        text += f" (weakest without {row['loo_weakest']}: AUROC {row['loo_min_auroc']:.2f})"
        if row["drivers"]:
            text += f"; drivers {row['drivers']}"
        return text + _side_reason(row)
    problems = []
    if not row["_covered"]:
        problems.append(
            f"low coverage ({row['coverage']} genes in the data, need {limits.min_coverage:.0%})"
        )
    if auroc_ok and fdr_ok and not row["loo_survives"]:
        problems.append(_loo_reason(row, limits, cutoff))
    return f"not flagged: {summary}" + ("; " + "; ".join(problems) if problems else "")


def _state_reason(state: str) -> str:
    if state == NON_LINEAGE:
        return "non-lineage (no myeloid identity)"
    if state == UNDETERMINED:
        return "lineage undetermined (low coverage of the lineage genes)"
    if state == MYELOID_OTHER:
        return "myeloid without an osteoclast-lineage program"
    return f"lineage state {state}"


def _loo_reason(row: Mapping[str, Any], limits: FlagThresholds, cutoff: float) -> str:
    if row["n_factors"] < 2:
        return "fails leave-one-out: only one factor measured"
    if not row["loo_min_auroc"] >= limits.min_auroc:
        return (
            f"fails leave-one-out (without {row['loo_weakest']}: AUROC "
            f"{row['loo_min_auroc']:.2f} < {limits.min_auroc:g})"
        )
    return (
        f"fails leave-one-out (without {row['_loo_max_p_factor']}: p "
        f"{fmt_p(row['loo_max_pvalue'])} above the BH cut-off {fmt_p(cutoff)})"
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
