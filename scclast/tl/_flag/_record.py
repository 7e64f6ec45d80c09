"""What a flag records: ``obs`` columns, set records, replicate notes, messages.

Helpers of :func:`scclast.tl.flag` that turn its results into what it writes into the
AnnData and the log (see :mod:`~scclast.tl._flag._flag` for the stages).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast._adata import set_obs_columns
from scclast._groups import per_cell
from scclast._keys import Keys
from scclast.tl._flag._calibrate import CELL_CONTROL_SETS, Calibrated
from scclast.tl._flag._plan import SetPlan
from scclast.tl._flag._replicates import Design, exploratory_note
from scclast.tl._flag._thresholds import FlagThresholds

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView


def replicate_record(
    adata: AnnData,
    design: Design,
    groupby: str | None,
    table: pd.DataFrame,
    thresholds: FlagThresholds,
    n_control_sets: int,
) -> dict[str, Any]:
    """How replicated the run's tests were, and the notes the user must see."""
    flagging = table[table["set_role"] == "flagging"]
    tested = flagging[np.isfinite(flagging["fdr"].to_numpy(dtype=float))]
    replicated = tested["evidence"].str.startswith("replicated")
    exploratory = bool(len(tested)) and not bool(replicated.all())
    note = ""
    if exploratory:
        exclude = tuple(x for x in (groupby, design.sample_key) if x)
        note = exploratory_note(
            design, adata.obs, thresholds.min_samples, exclude, thresholds.min_cells
        )
        if design.sample_key is not None and replicated.any():
            rows = ", ".join(dict.fromkeys(tested.loc[~replicated.to_numpy(), "group"].astype(str)))
            note = note.replace("flags are", f"the tests of group(s) {rows} are", 1)
    control_note = ""
    needed = int(np.ceil(len(tested) / thresholds.control_fdr)) - 1
    if len(tested) and n_control_sets < needed:
        control_note = (
            f"{len(tested)} tested rows: the control-set Monte Carlo p (floor "
            f"1/{n_control_sets + 1}) cannot pass control FDR {thresholds.control_fdr:g} "
            f"for a lone group; raise n_control_sets to {needed} or more"
        )
    return {
        "sample_key": design.sample_key,
        "samples": list(design.samples),
        "mode": "exploratory" if exploratory else ("replicated" if len(tested) else "none"),
        "n_replicated_rows": int(replicated.sum()),
        "n_tested_rows": len(tested),
        "note": note,
        "control_note": control_note,
        "cell_control_sets": min(n_control_sets, CELL_CONTROL_SETS),
    }


def write_obs(
    adata: AnnData,
    plans: Mapping[str, SetPlan],
    calibrated: Mapping[str, Calibrated],
    codes: np.ndarray,
    table: pd.DataFrame,
    keys: Keys,
) -> dict[str, str]:
    """Calibrated z and p per set, and the flagged-group indicator; returns the columns."""
    new: dict[str, np.ndarray] = {}
    columns: dict[str, str] = {}
    for name in plans:
        if name in calibrated:
            new[keys.z(name)] = calibrated[name].z
            new[keys.pval(name)] = calibrated[name].pvalue
            columns[f"{name}_z"] = keys.z(name)
            columns[f"{name}_pval"] = keys.pval(name)
    flagged_groups = set(table.loc[table["flagged"], "group"])
    groups = list(dict.fromkeys(table["group"]))
    in_flagged = [g in flagged_groups for g in groups]
    new[keys.flagged] = per_cell(codes, in_flagged, fill=False).astype(bool)
    columns["flagged"] = keys.flagged
    set_obs_columns(adata, pd.DataFrame(new, index=adata.obs_names))
    return columns


def describe(value: Any) -> Any:
    if value is None or isinstance(value, (str, Path)):
        return value
    if isinstance(value, Mapping):
        return {str(k): list(map(str, v)) for k, v in value.items()}
    return [str(v) for v in value]


def set_records(
    plans: Mapping[str, SetPlan], calibrated: Mapping[str, Calibrated], view: ExpressionView
) -> dict[str, Any]:
    records = {}
    for name, plan in plans.items():
        entry: dict[str, Any] = {
            "role": plan.role,
            "genes": plan.genes,
            "genes_found": plan.found,
            "genes_missing": [g for g in plan.genes if g not in set(plan.found)],
            "coverage": plan.coverage,
            "factors": {f: [plan.found[i] for i in pos] for f, pos in plan.factors().items()},
            "removed_inhibitory": plan.removed_inhibitory,
            "scored": name in calibrated,
        }
        cal = calibrated.get(name)
        if cal is not None and cal.controls is not None:
            symbols = np.asarray(view.symbols, dtype=object)
            entry["control_sets"] = [",".join(symbols[row]) for row in cal.controls]
            entry["loo_variants"] = list(cal.loo)
        records[name] = entry
    return records


def calibration_note(n_control_sets: int, n_match: int | None) -> str:
    match = n_match if n_match is not None else "n_genes/20 clipped to [10, 50]"
    per_cell = min(n_control_sets, CELL_CONTROL_SETS)
    return (
        f"scDRS-style: {n_control_sets} control sets per set, each gene matched to one of "
        f"its {match} nearest genes by rank of mean and variance (scored genes excluded); "
        f"per cell (first {per_cell} controls): raw score = mean normalised expression, "
        "centred over cells, z = (s - mean(ctrl)) / sd(ctrl), p = (1 + #ctrl >= s) / "
        "(n + 1); per group: mean over the set's genes of the pseudobulk log2 fold change "
        "(median-of-ratios normalised), Monte Carlo p = (1 + #ctrl >= set) / "
        f"{n_control_sets + 1} against the same statistic of every control set"
    )


def lineage_message(lineage_table: pd.DataFrame, big: np.ndarray) -> str:
    lineage_ok = lineage_table["osteoclast_lineage"].to_numpy(dtype=bool) & big
    if lineage_ok.any():
        return ""
    counts = lineage_table["lineage_state"].value_counts()
    states = ", ".join(f"{state} {n}" for state, n in counts.items())
    return (
        "no osteoclast-lineage group (macrophage, precursor, osteoclast or osteomorph with "
        f"enough cells) in these data: nothing can be flagged; group states: {states}"
    )


__all__ = [
    "calibration_note",
    "describe",
    "lineage_message",
    "replicate_record",
    "set_records",
    "write_obs",
]
