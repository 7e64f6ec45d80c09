"""Per-group statistics of a flag: the table of one row per group x flagging set.

Per group and set: the AUROC of the group's calibrated ``z`` against the reference
cells and a one-sided Mann-Whitney test (``pvalue``). The reference is the cells of the
other osteoclast-lineage groups (with at least ``min_cells`` cells); when there is no
other lineage group, all other cells. The same against all other cells is reported as
``auroc_all``/``pvalue_all``. ``fdr`` is the Benjamini-Hochberg q-value over every
group x set with a p-value.

Leave-one-factor-out: each factor of a set (all genes of a catalogue factor, e.g. Sphk1
+ Spns2 for S1P; each gene of a user set) is dropped in turn; the variant keeps the same
matched controls of the remaining genes. A flag needs every variant to keep
``AUROC >= min_auroc`` and a p-value under the Benjamini-Hochberg cut-off of the main
tests; a set with a single measured factor cannot pass (a one-gene programme is not a
secretory programme).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scclast._stats import GroupGeneSummary, auroc_mannwhitney, benjamini_hochberg, bh_threshold
from scclast.tl._flag._calibrate import Calibrated
from scclast.tl._flag._plan import INHIBITORY_SET, MACHINERY_SET, SetPlan
from scclast.tl._flag._reasons import reasons
from scclast.tl._flag._thresholds import FlagThresholds

TABLE_COLUMNS: tuple[str, ...] = (
    "group",
    "n_cells",
    "lineage_state",
    "gene_set",
    "coverage",
    "n_factors",
    "mean_score",
    "mean_raw_score",
    "frac_significant",
    "reference",
    "auroc",
    "pvalue",
    "fdr",
    "auroc_all",
    "pvalue_all",
    "loo_min_auroc",
    "loo_max_pvalue",
    "loo_weakest",
    "loo_survives",
    "drivers",
    "driver_detail",
    "inhibitory_mean_score",
    "inhibitory_auroc",
    "inhibitory_pvalue",
    "machinery_mean_score",
    "machinery_auroc",
    "machinery_pvalue",
    "nes",
    "nes_pvalue",
    "nes_fdr",
    "enrichment_note",
    "flagged",
    "reasons",
    "lineage_evidence",
)
"""Columns of the table returned by :func:`flag`, in order (names are stable)."""


_N_DRIVERS = 3


def group_table(
    plans: Mapping[str, SetPlan],
    calibrated: Mapping[str, Calibrated],
    raw: Mapping[str, np.ndarray],
    codes: np.ndarray,
    summary: GroupGeneSummary,
    lineage_table: pd.DataFrame,
    limits: FlagThresholds | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Statistics, flags and reasons per group x flagging set (before enrichment).

    Returns
    -------
    table, drivers
        The table (without the enrichment columns) and per-gene driver statistics
        (one row per group x set x measured gene).
    """
    limits = limits or FlagThresholds()
    fdr, min_auroc = limits.fdr, limits.min_auroc
    big = summary.n_cells >= limits.min_cells
    lineage_ok = lineage_table["osteoclast_lineage"].to_numpy(dtype=bool) & big
    rows, driver_frames = [], []
    for g, group in enumerate(summary.groups):
        reference_groups, reference = _reference(g, lineage_ok)
        masks = _Masks(
            group=codes == g,
            reference=np.isin(codes, reference_groups),
            others=(codes >= 0) & (codes != g),
        )
        side = _side_columns(calibrated, masks, big[g])
        for plan in plans.values():
            if plan.role != "flag":
                continue
            row = {
                "group": group,
                "n_cells": int(summary.n_cells[g]),
                "lineage_state": str(lineage_table["lineage_state"].iloc[g]),
                "gene_set": plan.name,
                "coverage": plan.coverage,
                "n_factors": len(plan.factors()),
                "reference": reference,
                "lineage_evidence": str(lineage_table["evidence"].iloc[g]),
                "_lineage": bool(lineage_ok[g]),
                "_big": bool(big[g]),
                "_covered": len(plan.found) >= limits.min_coverage * len(plan.genes),
                **side,
            }
            row.update(
                _score_columns(
                    plan, calibrated.get(plan.name), raw.get(plan.name), masks, big[g], limits
                )
            )
            drivers, detail, frame = _drivers(plan, summary, g, reference_groups)
            row.update(drivers=drivers, driver_detail=detail)
            driver_frames.append(frame.assign(group=group, gene_set=plan.name))
            rows.append(row)
    table = pd.DataFrame(rows)
    table["fdr"] = benjamini_hochberg(table["pvalue"])
    cutoff = bh_threshold(table["pvalue"], fdr)
    table["loo_survives"] = (
        (table["n_factors"] >= 2)
        & (table["loo_min_auroc"] >= min_auroc)
        & (table["loo_max_pvalue"] <= cutoff)
    )
    table["flagged"] = (
        table["_lineage"]
        & table["_covered"]
        & (table["fdr"] <= fdr)
        & (table["auroc"] >= min_auroc)
        & table["loo_survives"]
    )
    table["reasons"] = [reasons(row, limits, cutoff) for row in table.to_dict("records")]
    drivers = pd.concat(driver_frames, ignore_index=True) if driver_frames else pd.DataFrame()
    return table.drop(columns=["_lineage", "_big", "_covered", "_loo_max_p_factor"]), drivers


@dataclass(frozen=True)
class _Masks:
    group: np.ndarray
    reference: np.ndarray
    others: np.ndarray


def _reference(g: int, lineage_ok: np.ndarray) -> tuple[np.ndarray, str]:
    """Other osteoclast-lineage groups, or all other groups when there is none."""
    lineage_groups = np.flatnonzero(lineage_ok)
    other_lineage = lineage_groups[lineage_groups != g]
    if other_lineage.size:
        return other_lineage, "other lineage groups"
    everyone = np.arange(lineage_ok.size)
    return everyone[everyone != g], "all other cells"


def _score_columns(
    plan: SetPlan,
    cal: Calibrated | None,
    raw: np.ndarray | None,
    masks: _Masks,
    big: bool,
    limits: FlagThresholds,
) -> dict[str, Any]:
    nan = float("nan")
    out: dict[str, Any] = dict.fromkeys(
        (
            "mean_score",
            "mean_raw_score",
            "frac_significant",
            "auroc",
            "pvalue",
            "auroc_all",
            "pvalue_all",
            "loo_min_auroc",
            "loo_max_pvalue",
        ),
        nan,
    )
    out["loo_weakest"] = ""
    out["_loo_max_p_factor"] = ""
    out["_scored"] = cal is not None
    if cal is None:
        return out
    out["mean_score"] = _mean(cal.z[masks.group])
    out["frac_significant"] = _mean(cal.pvalue[masks.group] < limits.cell_alpha)
    if raw is not None:
        out["mean_raw_score"] = _mean(raw[masks.group])
    if not big:
        return out
    stacked = np.column_stack([cal.z, *cal.loo.values()])
    auroc, pvalue = auroc_mannwhitney(stacked[masks.group], stacked[masks.reference])
    auroc_all, pvalue_all = auroc_mannwhitney(cal.z[masks.group], cal.z[masks.others])
    out.update(
        auroc=float(auroc[0]),
        pvalue=float(pvalue[0]),
        auroc_all=float(auroc_all),
        pvalue_all=float(pvalue_all),
    )
    if cal.loo:
        factors = list(cal.loo)
        out.update(
            loo_min_auroc=float(auroc[1:].min()),
            loo_max_pvalue=float(pvalue[1:].max()),
            loo_weakest=factors[int(np.argmin(auroc[1:]))],
            _loo_max_p_factor=factors[int(np.argmax(pvalue[1:]))],
        )
    return out


def _side_columns(
    calibrated: Mapping[str, Calibrated], masks: _Masks, big: bool
) -> dict[str, float]:
    """Inhibitory and machinery mean z, AUROC and p against the row's reference."""
    out = {}
    for prefix, name in (("inhibitory", INHIBITORY_SET), ("machinery", MACHINERY_SET)):
        cal = calibrated.get(name)
        mean_score = auroc = pvalue = float("nan")
        if cal is not None:
            mean_score = _mean(cal.z[masks.group])
            if big:
                auroc, pvalue = (
                    float(v) for v in auroc_mannwhitney(cal.z[masks.group], cal.z[masks.reference])
                )
        out[f"{prefix}_mean_score"] = mean_score
        out[f"{prefix}_auroc"] = auroc
        out[f"{prefix}_pvalue"] = pvalue
    return out


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else float("nan")


def _drivers(
    plan: SetPlan, summary: GroupGeneSummary, g: int, reference_groups: np.ndarray
) -> tuple[str, str, pd.DataFrame]:
    """Genes carrying the group's score: contribution to its mean over the reference."""
    positions = summary.gene_positions(plan.found)
    genes = [summary.genes[i] for i in positions]
    factor = dict(zip(plan.found, plan.factor_of, strict=True))
    outside = np.array([i for i in range(len(summary.groups)) if i != g], dtype=int)
    mean_in = summary.means()[g, positions]
    mean_ref = summary.means(reference_groups)[positions]
    frame = pd.DataFrame(
        {
            "gene": genes,
            "factor": [factor[x] for x in genes],
            "mean_in_group": mean_in,
            "mean_in_reference": mean_ref,
            "detection_in_group": summary.detection()[g, positions],
            "detection_outside": summary.detection(outside)[positions],
            "contribution": (mean_in - mean_ref) / max(1, len(plan.found)),
        }
    )
    top = frame[frame["contribution"] > 0].nlargest(_N_DRIVERS, "contribution")
    names = ", ".join(top["gene"])
    detail = "; ".join(
        f"{r.gene} [{r.factor}] {r.detection_in_group:.0%} in group vs {r.detection_outside:.0%} "
        "outside"
        for r in top.itertuples()
    )
    return names, detail, frame


def add_lineage_scores(
    lineage_table: pd.DataFrame,
    calibrated: Mapping[str, Calibrated],
    codes: np.ndarray,
    names: Mapping[str, str],
) -> None:
    """``{program}_score``: mean calibrated z of each lineage program per group.

    The scores are evidence beside the detection-based call (appended to ``evidence``);
    they do not change it.

    Examples
    --------
    >>> from scclast.tl._flag._calibrate import Calibrated
    >>> table = pd.DataFrame({"evidence": ["osteoclast 11/11 in data", "osteoclast 0/11"]})
    >>> z = np.array([1.0, 3.0, -1.0])
    >>> calibrated = {"state_osteoclast": Calibrated(z=z, pvalue=z * 0, raw=z)}
    >>> add_lineage_scores(table, calibrated, np.array([0, 0, 1]),
    ...                    {"osteoclast": "state_osteoclast"})
    >>> table["osteoclast_score"].tolist()
    [2.0, -1.0]
    >>> table["evidence"].iloc[0]
    'osteoclast 11/11 in data; mean calibrated z: osteoclast 2.00'
    """
    parts = [[] for _ in range(len(lineage_table))]
    for program, name in names.items():
        cal = calibrated.get(name)
        scores = np.full(len(lineage_table), np.nan)
        if cal is not None:
            for g in range(len(lineage_table)):
                scores[g] = _mean(cal.z[codes == g])
                parts[g].append(f"{program} {scores[g]:.2f}")
        lineage_table[f"{program}_score"] = scores
    lineage_table["evidence"] = [
        evidence + ("; mean calibrated z: " + ", ".join(p) if p else "")
        for evidence, p in zip(lineage_table["evidence"], parts, strict=True)
    ]


def finish_table(
    table: pd.DataFrame, enrichment_table: pd.DataFrame | None, enrichment: bool
) -> pd.DataFrame:
    """Add the enrichment columns and order the columns as :data:`TABLE_COLUMNS`.

    Examples
    --------
    >>> enrichment_columns = ("nes", "nes_pvalue", "nes_fdr", "enrichment_note")
    >>> core = [c for c in TABLE_COLUMNS if c not in enrichment_columns]
    >>> table = pd.DataFrame([dict.fromkeys(core, 0)]).assign(group="3", flagged=1)
    >>> done = finish_table(table, None, enrichment=False)
    >>> list(done.columns) == list(TABLE_COLUMNS), done["flagged"].dtype.name
    (True, 'bool')
    >>> done.loc[0, "enrichment_note"]
    'not run (enrichment=False)'
    """
    table = table.drop(columns=["_scored"], errors="ignore")
    if enrichment_table is not None and len(enrichment_table):
        keep = ["group", "gene_set", "nes", "nes_pvalue", "nes_fdr", "enrichment_note"]
        table = table.merge(enrichment_table[keep], on=["group", "gene_set"], how="left")
        table["enrichment_note"] = table["enrichment_note"].fillna("not computed (group too small)")
    else:
        for column in ("nes", "nes_pvalue", "nes_fdr"):
            table[column] = np.nan
        table["enrichment_note"] = "not run (enrichment=False)" if not enrichment else ""
    table = table[list(TABLE_COLUMNS)].copy()
    table["flagged"] = table["flagged"].astype(bool)
    table["loo_survives"] = table["loo_survives"].astype(bool)
    return table.reset_index(drop=True)


__all__ = ["TABLE_COLUMNS", "add_lineage_scores", "finish_table", "group_table"]
