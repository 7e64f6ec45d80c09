"""The tables of a condition comparison: one row per group x level x feature, and abundance.

:func:`group_rows` turns one group's PyDESeq2 fit and set tests into rows,
:func:`untested_rows` reports a group that could not be tested, :func:`finish_table`
applies Benjamini-Hochberg within genes and within sets and fixes the column types, and
:func:`abundance_table` tests every group's share of cells.

Examples
--------
>>> import pandas as pd
>>> bh(pd.Series([0.01, float("nan"), 0.04])).round(3).tolist()
[0.02, nan, 0.04]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scclast.tl._conditions import _abundance, _expression
from scclast.tl._conditions._design import Design

log = logging.getLogger("scclast")

COLUMNS: tuple[str, ...] = (
    "group",
    "lineage_state",
    "condition",
    "reference",
    "feature",
    "feature_type",
    "category",
    "effect",
    "n_genes",
    "genes",
    "n_samples_reference",
    "n_samples_condition",
    "base_mean",
    "log2fc",
    "ci_low",
    "ci_high",
    "lfc_se",
    "pvalue",
    "fdr",
    "tested",
    "method",
    "note",
)
"""Columns of the expression table (``conditions.tsv``)."""

ABUNDANCE_COLUMNS: tuple[str, ...] = (
    "group",
    "lineage_state",
    "osteoclast_lineage",
    "condition",
    "reference",
    "n_samples_reference",
    "n_samples_condition",
    "n_cells_reference",
    "n_cells_condition",
    "share_reference",
    "share_condition",
    "share_ratio",
    "log2_share_ratio",
    "estimate",
    "ci_low",
    "ci_high",
    "scale",
    "pvalue",
    "fdr",
    "method",
    "note",
)
"""Columns of the abundance table (``abundance.tsv``)."""


def group_rows(
    group: str,
    design: Design,
    counts: pd.DataFrame,
    untested: Mapping[str, str],
    annotation: pd.DataFrame,
    sets: Mapping[str, Sequence[str]],
    n_background: int,
    n_jobs: int,
    notes: dict[str, str],
) -> list[dict[str, Any]]:
    levels = [design.reference, *(lv for lv in design.compared if lv not in untested)]
    conditions = design.samples["condition"].loc[counts.index]
    measured = [g for g in annotation.index if g in counts.columns]
    in_sets = {g for members in sets.values() for g in members}
    background = _expression.background_genes(counts, set(measured) | in_sets, n_background)
    fitted = list(dict.fromkeys([*measured, *background]))
    started = time.perf_counter()
    fit = _expression.fit_group(
        counts[fitted], conditions, levels, control_genes=background, n_jobs=n_jobs
    )
    if fit.notes:
        notes[group] = "; ".join(fit.notes)
    set_results = _expression.set_rows(counts, fit.size_factors, conditions, levels, sets)
    log.info(
        "group %s: PyDESeq2 on %d samples x %d genes in %.1f s",
        group,
        len(counts),
        len(fitted),
        time.perf_counter() - started,
    )
    rows = []
    for level in levels[1:]:
        shared = {
            "group": group,
            "condition": level,
            "reference": design.reference,
            "n_samples_reference": int((conditions == design.reference).sum()),
            "n_samples_condition": int((conditions == level).sum()),
            "tested": True,
        }
        for row in _expression.catalogue_rows(fit, measured, level):
            rows.append(
                {
                    **shared,
                    **row,
                    "feature_type": "gene",
                    "n_genes": 1,
                    "genes": row["feature"],
                    "category": annotation.loc[row["feature"], "category"],
                    "effect": annotation.loc[row["feature"], "effect"],
                    "method": _expression.GENE_METHOD,
                }
            )
        for row in set_results[level]:
            rows.append(
                {
                    **shared,
                    **row,
                    "feature_type": "gene_set",
                    "category": "",
                    "effect": "",
                    "method": _expression.SET_METHOD,
                }
            )
    return rows


def untested_rows(
    group: str,
    design: Design,
    untested: Mapping[str, str],
    annotation: pd.DataFrame,
    sets: Mapping[str, Sequence[str]],
) -> list[dict[str, Any]]:
    rows = []
    for level, reason in untested.items():
        shared = {
            "group": group,
            "condition": level,
            "reference": design.reference,
            "tested": False,
            "note": f"not tested: {reason}",
            "method": "",
        }
        for gene in annotation.index:
            rows.append(
                {
                    **shared,
                    "feature": gene,
                    "feature_type": "gene",
                    "n_genes": 1,
                    "genes": gene,
                    "category": annotation.loc[gene, "category"],
                    "effect": annotation.loc[gene, "effect"],
                }
            )
        for name, members in sets.items():
            rows.append(
                {
                    **shared,
                    "feature": name,
                    "feature_type": "gene_set",
                    "n_genes": len(members),
                    "genes": ", ".join(members),
                }
            )
    return rows


def finish_table(rows: list[dict[str, Any]], lineage: pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["lineage_state"] = table["group"].map(lineage["lineage_state"]).fillna("")
    table["fdr"] = np.nan
    for kind in ("gene", "gene_set"):
        rows_of_kind = table["feature_type"] == kind
        table.loc[rows_of_kind, "fdr"] = bh(table.loc[rows_of_kind, "pvalue"])
    table["tested"] = table["tested"].fillna(False).astype(bool)
    for column in (
        "group",
        "condition",
        "reference",
        "feature",
        "feature_type",
        "category",
        "effect",
        "genes",
        "method",
        "note",
        "lineage_state",
    ):
        table[column] = table[column].fillna("").astype(str)
    for column in ("n_genes", "n_samples_reference", "n_samples_condition"):
        table[column] = pd.to_numeric(table[column], errors="coerce").fillna(0).astype(int)
    for column in ("base_mean", "log2fc", "ci_low", "ci_high", "lfc_se", "pvalue", "fdr"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    return table


def abundance_table(
    cells: np.ndarray,
    groups: list[str],
    design: Design,
    lineage: pd.DataFrame,
    transform: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = pd.DataFrame(cells.T, index=design.samples.index, columns=groups)
    conditions = design.samples["condition"]
    table = _abundance.abundance_tests(counts, conditions, design.levels, transform)
    table["lineage_state"] = table["group"].map(lineage["lineage_state"]).fillna("")
    table["osteoclast_lineage"] = table["group"].map(lineage["osteoclast_lineage"]).astype(bool)
    table["fdr"] = bh(table["pvalue"])
    table["method"] = _abundance.METHOD
    per_sample = counts.stack().rename("n_cells").reset_index()
    per_sample.columns = ["sample", "group", "n_cells"]
    totals = counts.sum(axis=1)
    per_sample["condition"] = per_sample["sample"].map(conditions)
    per_sample["sample_cells"] = per_sample["sample"].map(totals).astype(int)
    per_sample["share"] = per_sample["n_cells"] / per_sample["sample_cells"].replace(0, np.nan)
    per_sample = per_sample.astype({"sample": str, "group": str, "condition": str})
    return table[list(ABUNDANCE_COLUMNS)], per_sample


def bh(pvalues: pd.Series) -> np.ndarray:
    """Benjamini-Hochberg q-values of the finite p-values; NaN stays NaN.

    Examples
    --------
    >>> bh(pd.Series([0.01, np.nan, 0.04])).round(3).tolist()
    [0.02, nan, 0.04]
    """
    values = pd.to_numeric(pvalues, errors="coerce").to_numpy(dtype=float)
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    if finite.any():
        from scipy import stats  # slow to import: only when used

        out[finite] = stats.false_discovery_control(values[finite], method="bh")
    return out


__all__ = [
    "ABUNDANCE_COLUMNS",
    "COLUMNS",
    "abundance_table",
    "bh",
    "finish_table",
    "group_rows",
    "untested_rows",
]
