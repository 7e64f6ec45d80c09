"""Per-group statistics of a flag: the table of one row per group x set.

Per group and set, two kinds of statistics (the reference is the cells of the other
osteoclast-lineage groups with at least ``min_cells`` cells; when there is no other
lineage group, all other cells):

* **group-level effects** (:mod:`~scclast.tl._flag._effects`): the normalised
  pseudobulk fold change of the set, per sample and pooled, the paired t-test over
  samples, and the Monte Carlo p-value against the set's matched control sets;
* **cell-level statistics**: the AUROC of the group's calibrated ``z`` against the
  reference cells with a one-sided Mann-Whitney p-value (``cell_pvalue``; cells as
  units), the same against all other cells (``auroc_all``/``pvalue_all``), per sample the
  AUROC within the sample, and the genes driving the score.

The decision on these columns is made in :mod:`~scclast.tl._flag._decision`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scclast._stats import GroupGeneSummary, Ranked, auroc_mannwhitney
from scclast.tl._flag._calibrate import Calibrated
from scclast.tl._flag._decision import decide
from scclast.tl._flag._effects import REPLICATED, SetEffect
from scclast.tl._flag._plan import INHIBITORY_SET, MACHINERY_SET, SetPlan
from scclast.tl._flag._replicates import Design
from scclast.tl._flag._thresholds import FlagThresholds

TABLE_COLUMNS: tuple[str, ...] = (
    "group",
    "n_cells",
    "lineage_state",
    "gene_set",
    "set_role",
    "coverage",
    "n_factors",
    "reference",
    "evidence",
    "n_samples",
    "fold_change",
    "fold_change_low",
    "fold_change_high",
    "control_fold_95",
    "pvalue",
    "fdr",
    "mc_pvalue",
    "mc_fdr",
    "samples_agree",
    "sample_log2fc",
    "sample_auroc",
    "mean_score",
    "mean_raw_score",
    "frac_significant",
    "auroc",
    "cell_pvalue",
    "auroc_all",
    "pvalue_all",
    "loo_min_fold_change",
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
    "call",
    "reasons",
    "lineage_evidence",
)
"""Columns of the table returned by :func:`flag`, in order (names are stable)."""


_N_DRIVERS = 3
_ROLE_NAMES = {"flag": "flagging", "descriptive": "descriptive"}


@dataclass
class GroupInputs:
    """What the table of a flag is built from (all computed before, none here)."""

    plans: Mapping[str, SetPlan]
    calibrated: Mapping[str, Calibrated]
    raw: Mapping[str, np.ndarray]
    codes: np.ndarray
    summary: GroupGeneSummary
    lineage_table: pd.DataFrame
    design: Design
    effects: Mapping[tuple[int, str], SetEffect]


def references(lineage_ok: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Per group: the reference groups and how the reference is described.

    Examples
    --------
    >>> [r[1] for r in references(np.array([True, True, False]))]
    ['other lineage groups', 'other lineage groups', 'other lineage groups']
    >>> references(np.array([True, False]))[0][1]
    'all other cells'
    """
    return [_reference(g, lineage_ok) for g in range(lineage_ok.size)]


def group_table(
    inputs: GroupInputs, limits: FlagThresholds | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Statistics, flags and reasons per group x set (before enrichment).

    Returns
    -------
    table, drivers, samples
        The table (without the enrichment columns), per-gene driver statistics (one
        row per group x set x measured gene) and per-sample effects (one row per
        group x set x sample).
    """
    limits = limits or FlagThresholds()
    summary, lineage_table = inputs.summary, inputs.lineage_table
    big = summary.n_cells >= limits.min_cells
    lineage_ok = lineage_table["osteoclast_lineage"].to_numpy(dtype=bool) & big
    rows, driver_frames, sample_frames = [], [], []
    tests = _Tests(inputs.calibrated, inputs.codes, lineage_ok)
    for g, (reference_groups, reference) in enumerate(references(lineage_ok)):
        group = summary.groups[g]
        masks = _Masks(
            group=inputs.codes == g,
            reference=np.isin(inputs.codes, reference_groups),
            others=(inputs.codes >= 0) & (inputs.codes != g),
            within_lineage=bool(lineage_ok[g]) and reference == "other lineage groups",
        )
        side = _side_columns(inputs.calibrated, masks, big[g], tests)
        for plan in inputs.plans.values():
            if plan.role not in _ROLE_NAMES:
                continue
            cal = inputs.calibrated.get(plan.name)
            effect = inputs.effects.get((g, plan.name))
            row = {
                "group": group,
                "n_cells": int(summary.n_cells[g]),
                "lineage_state": str(lineage_table["lineage_state"].iloc[g]),
                "gene_set": plan.name,
                "set_role": _ROLE_NAMES[plan.role],
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
                    cal, inputs.raw.get(plan.name), masks, big[g], limits, tests, plan.name
                )
            )
            row.update(_effect_columns(effect))
            per_sample = _sample_rows(effect, cal, inputs, g, reference_groups)
            row["sample_auroc"] = "; ".join(
                f"{r['sample']} {r['auroc']:.2f}" for r in per_sample if np.isfinite(r["auroc"])
            )
            sample_frames.append(pd.DataFrame(per_sample).assign(group=group, gene_set=plan.name))
            drivers, detail, frame = _drivers(plan, summary, g, reference_groups)
            row.update(drivers=drivers, driver_detail=detail)
            driver_frames.append(frame.assign(group=group, gene_set=plan.name))
            rows.append(row)
    table = decide(pd.DataFrame(rows), limits)
    drivers = pd.concat(driver_frames, ignore_index=True) if driver_frames else pd.DataFrame()
    samples = _samples_frame(sample_frames)
    return table, drivers, samples


_SAMPLE_COLUMNS = ("group", "gene_set", "sample", "n_cells", "n_reference", "log2fc", "auroc")


def _samples_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(_SAMPLE_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(_SAMPLE_COLUMNS)]


@dataclass(frozen=True)
class _Masks:
    group: np.ndarray
    reference: np.ndarray
    others: np.ndarray
    within_lineage: bool = False


class _Tests:
    """Mann-Whitney tests of calibrated scores, the cells ranked once per set and scope.

    Every osteoclast-lineage group is tested against the other lineage groups, i.e.
    within the same union of cells, and every group against all other grouped cells:
    ranking each union once (:class:`~scclast._stats.Ranked`) instead of once per group
    gives the same numbers for a fraction of the time on large data.
    """

    def __init__(
        self, calibrated: Mapping[str, Calibrated], codes: np.ndarray, lineage_ok: np.ndarray
    ) -> None:
        self.calibrated = calibrated
        self.lineage = np.isin(codes, np.flatnonzero(lineage_ok))
        self.grouped = codes >= 0
        self.cache: dict[tuple[str, str], Ranked] = {}

    def reference(self, name: str, masks: _Masks) -> tuple[np.ndarray, np.ndarray]:
        """AUROC and p of the set (and its variants) in the group against its reference."""
        cal = self.calibrated[name]
        if not masks.within_lineage:
            stacked = _stacked(cal)
            return auroc_mannwhitney(stacked[masks.group], stacked[masks.reference])
        return self._ranked(name, "lineage", self.lineage).test(masks.group)

    def others(self, name: str, masks: _Masks) -> tuple[float, float]:
        """AUROC and p of the set in the group against all other grouped cells."""
        auroc, pvalue = self._ranked(name, "all", self.grouped, main_only=True).test(masks.group)
        return float(auroc[0]), float(pvalue[0])

    def _ranked(self, name: str, scope: str, subset: np.ndarray, main_only: bool = False) -> Ranked:
        key = (name, scope + (":main" if main_only else ""))
        if key not in self.cache:
            cal = self.calibrated[name]
            self.cache[key] = Ranked.of(cal.z if main_only else _stacked(cal), subset)
        return self.cache[key]


def _stacked(cal: Calibrated) -> np.ndarray:
    return np.column_stack([cal.z, *cal.loo.values()])


def _reference(g: int, lineage_ok: np.ndarray) -> tuple[np.ndarray, str]:
    """Other osteoclast-lineage groups, or all other groups when there is none."""
    lineage_groups = np.flatnonzero(lineage_ok)
    other_lineage = lineage_groups[lineage_groups != g]
    if other_lineage.size:
        return other_lineage, "other lineage groups"
    everyone = np.arange(lineage_ok.size)
    return everyone[everyone != g], "all other cells"


def _score_columns(
    cal: Calibrated | None,
    raw: np.ndarray | None,
    masks: _Masks,
    big: bool,
    limits: FlagThresholds,
    tests: _Tests,
    name: str,
) -> dict[str, Any]:
    """Cell-level columns: mean z, raw score, AUROC and Mann-Whitney p (also per variant)."""
    nan = float("nan")
    out: dict[str, Any] = dict.fromkeys(
        (
            "mean_score",
            "mean_raw_score",
            "frac_significant",
            "auroc",
            "cell_pvalue",
            "auroc_all",
            "pvalue_all",
        ),
        nan,
    )
    out["_scored"] = cal is not None
    out["_loo_cell"] = {}
    if cal is None:
        return out
    out["mean_score"] = _mean(cal.z[masks.group])
    out["frac_significant"] = _mean(cal.pvalue[masks.group] < limits.cell_alpha)
    if raw is not None:
        out["mean_raw_score"] = _mean(raw[masks.group])
    if not big:
        return out
    auroc, pvalue = tests.reference(name, masks)
    auroc_all, pvalue_all = tests.others(name, masks)
    out.update(
        auroc=float(auroc[0]),
        cell_pvalue=float(pvalue[0]),
        auroc_all=float(auroc_all),
        pvalue_all=float(pvalue_all),
    )
    out["_loo_cell"] = {
        factor: (float(auroc[i + 1]), float(pvalue[i + 1])) for i, factor in enumerate(cal.loo)
    }
    return out


def _effect_columns(effect: SetEffect | None) -> dict[str, Any]:
    """Group-level columns from the pseudobulk effects (``nan`` when not computed)."""
    nan = float("nan")
    out: dict[str, Any] = {
        "_mode": "",
        "n_samples": 0,
        "fold_change": nan,
        "fold_change_low": nan,
        "fold_change_high": nan,
        "control_fold_95": nan,
        "_t_pvalue": nan,
        "mc_pvalue": nan,
        "samples_agree": 0,
        "sample_log2fc": "",
        "_loo_effects": {},
    }
    if effect is None:
        return out
    main = effect.main
    out.update(
        _mode=effect.mode,
        n_samples=effect.n_samples,
        fold_change=float(2.0**main.log2fc),
        fold_change_low=float(2.0 ** main.ci[0]),
        fold_change_high=float(2.0 ** main.ci[1]),
        control_fold_95=float(2.0**main.control_q95),
        _t_pvalue=main.pvalue if effect.mode == REPLICATED else nan,
        mc_pvalue=main.mc_pvalue,
        sample_log2fc="; ".join(
            f"{sample} {value:.2f}"
            for sample, value in zip(effect.samples, main.sample_log2fc, strict=True)
        ),
        _loo_effects={f: (v.log2fc, v.pvalue) for f, v in effect.loo.items()},
    )
    out["samples_agree"] = effect.samples_agree
    return out


def _sample_rows(
    effect: SetEffect | None,
    cal: Calibrated | None,
    inputs: GroupInputs,
    g: int,
    reference_groups: np.ndarray,
) -> list[dict[str, Any]]:
    """One row per sample used: cells, the adjusted log2 fold change, the AUROC of z."""
    if effect is None or not effect.n_samples:
        return []
    design = inputs.design
    rows = []
    for position, sample in enumerate(effect.samples):
        s = design.samples.index(sample)
        in_sample = design.sample_codes == s
        auroc = float("nan")
        if cal is not None:
            value, _ = auroc_mannwhitney(
                cal.z[in_sample & (inputs.codes == g)],
                cal.z[in_sample & np.isin(inputs.codes, reference_groups)],
            )
            auroc = float(value)
        rows.append(
            {
                "sample": sample,
                "n_cells": effect.n_group[position],
                "n_reference": effect.n_reference[position],
                "log2fc": float(effect.main.sample_log2fc[position]),
                "auroc": auroc,
            }
        )
    return rows


def _side_columns(
    calibrated: Mapping[str, Calibrated], masks: _Masks, big: bool, tests: _Tests
) -> dict[str, float]:
    """Inhibitory and machinery mean z, AUROC and p against the row's reference."""
    out = {}
    for prefix, name in (("inhibitory", INHIBITORY_SET), ("machinery", MACHINERY_SET)):
        cal = calibrated.get(name)
        mean_score = auroc = pvalue = float("nan")
        if cal is not None:
            mean_score = _mean(cal.z[masks.group])
            if big:
                values, pvalues = tests.reference(name, masks)
                auroc, pvalue = float(values[0]), float(pvalues[0])
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


__all__ = [
    "TABLE_COLUMNS",
    "GroupInputs",
    "add_lineage_scores",
    "finish_table",
    "group_table",
    "references",
]
