"""The communication table: one row per sender x receiver x catalogue pair.

Every pair of the catalogue's resource appears for every sender -> receiver
combination, scored or not, with the reason when not (a gene not measured, a ligand or
receptor detected in too few cells, a group too small), so a missing factor is never
silent.

Statistics (from LIANA+, :mod:`scclast.tl._coupling._liana`):

``magnitude``
    CellPhoneDB's mean of the ligand's mean expression in the sender and the
    receptor's in the receiver (complexes: their lowest subunit), log-normalised units.
``pvalue``, ``fdr``
    CellPhoneDB's label-permutation p-value (is the pair's mean higher than with
    shuffled labels?) and its Benjamini-Hochberg q-value over every scored row of the
    run (per sample with a sample key).
``specificity_rank``, ``magnitude_rank``
    LIANA+'s robust rank aggregates (0-1, lower is stronger): specificity combines
    CellPhoneDB's p, NATMI's specificity weight, Connectome's z-scores and log2FC, so it
    favours a ligand specific to the sender *and* a receptor specific to the receiver.

Without replicates (or with fewer than 2 usable samples) the statistics are those of
one run over all cells, which treats cells as independent: ``basis`` says
``pooled (exploratory)`` and ``supported`` is ``fdr <= alpha``. With a sample key each
sample is run on its own; the row then reports medians over the samples that tested it
(both groups with ``min_cells`` cells; a sample where the pair was not expressed
counts as p = 1 and rank 1), ``n_samples_tested``, ``n_samples_support`` (samples with
the pair at that sample's FDR <= alpha) and ``supported``: at least two samples and at
least half of those tested support it. The median magnitude is over the samples that
scored the pair. Per-sample support is a count, not a combined test: it says how
consistently the pair is seen across animals or donors.

``rank`` orders each sender's scored rows: supported first, then by specificity rank,
magnitude rank and p-value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from scclast._stats import GroupGeneSummary, benjamini_hochberg

COLUMNS: tuple[str, ...] = (
    "sender",
    "receiver",
    "sender_state",
    "receiver_state",
    "sender_flagged",
    "factor",
    "factor_name",
    "ligand",
    "receptor",
    "effect",
    "direction",
    "category",
    "status",
    "rank",
    "supported",
    "magnitude",
    "pvalue",
    "fdr",
    "specificity_rank",
    "magnitude_rank",
    "n_samples_tested",
    "n_samples_support",
    "basis",
    "ligand_mean",
    "ligand_fraction",
    "receptor_mean",
    "receptor_fraction",
    "source",
    "evidence",
    "ligand_measurable",
    "note",
    "citation",
    "references",
)
"""Columns of the communication table, in order."""

SCORED = "scored"
POOLED = "pooled (cells as independent; exploratory)"

_KEY = ["sender", "receiver", "ligand", "receptor"]
_STATS = ["magnitude", "pvalue", "fdr", "specificity_rank", "magnitude_rank"]


def base_rows(
    resource: pd.DataFrame,
    senders: Sequence[str],
    receivers: Sequence[str],
    sender_states: Mapping[str, str],
    receiver_states: Mapping[str, str],
    flagged: set[str],
) -> pd.DataFrame:
    """Every sender x receiver x resource pair, with the catalogue's columns.

    Examples
    --------
    >>> resource = pd.DataFrame({"ligand": ["Slit3"], "receptor": ["Robo1"]})
    >>> rows = base_rows(resource, ["3"], ["5", "6"], {"3": "osteoclast"}, {}, {"3"})
    >>> rows[["sender", "receiver", "ligand", "sender_flagged", "receiver_state"]].values.tolist()
    [['3', '5', 'Slit3', True, ''], ['3', '6', 'Slit3', True, '']]
    """
    combos = pd.DataFrame(
        [(s, r) for s in senders for r in receivers], columns=["sender", "receiver"]
    )
    rows = combos.merge(resource, how="cross")
    rows["sender_state"] = rows["sender"].map(lambda g: sender_states.get(g, ""))
    rows["receiver_state"] = rows["receiver"].map(lambda g: receiver_states.get(g, ""))
    rows["sender_flagged"] = rows["sender"].isin(flagged)
    return rows


def add_expression(
    rows: pd.DataFrame, summary: GroupGeneSummary, measured: set[str]
) -> pd.DataFrame:
    """Ligand mean/fraction in the sender, receptor's in the receiver (lowest subunit).

    A subunit that is not measured makes the complex's values NaN.
    """
    means = pd.DataFrame(summary.means(), index=summary.groups, columns=summary.genes)
    fractions = pd.DataFrame(summary.detection(), index=summary.groups, columns=summary.genes)
    out = rows.copy()
    for side, group_column in (("ligand", "sender"), ("receptor", "receiver")):
        for what, table in (("mean", means), ("fraction", fractions)):
            out[f"{side}_{what}"] = [
                _complex_value(table, group, name, measured)
                for group, name in zip(out[group_column], out[side], strict=True)
            ]
    return out


def _complex_value(table: pd.DataFrame, group: str, name: str, measured: set[str]) -> float:
    units = str(name).split("_")
    if any(u not in measured or u not in table.columns for u in units):
        return float("nan")
    return float(min(table.at[group, u] for u in units))


def pooled_statistics(liana: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One LIANA+ run's rows in table terms, with BH over all of them.

    Examples
    --------
    >>> liana = pd.DataFrame({"source": ["3", "3"], "target": ["5", "5"],
    ...     "ligand_complex": ["A", "B"], "receptor_complex": ["R", "R"],
    ...     "lr_means": [2.0, 1.0], "cellphone_pvals": [0.001, 0.5],
    ...     "specificity_rank": [0.01, 0.4], "magnitude_rank": [0.1, 0.5]})
    >>> stats = pooled_statistics(liana, 0.05)
    >>> stats["fdr"].round(3).tolist(), stats["supported"].tolist()
    ([0.002, 0.5], [True, False])
    """
    stats = _renamed(liana)
    stats["fdr"] = benjamini_hochberg(stats["pvalue"].to_numpy()) if len(stats) else []
    stats["supported"] = stats["fdr"] <= alpha
    stats["n_samples_tested"] = np.nan
    stats["n_samples_support"] = np.nan
    stats["basis"] = POOLED
    return stats


def sample_statistics(
    per_sample: pd.DataFrame, tested: pd.DataFrame, alpha: float, n_usable: int
) -> pd.DataFrame:
    """Per-sample LIANA+ runs combined per row: medians, support counts, ``supported``.

    ``tested`` lists the (sample, source, target) combinations each sample could test.

    Examples
    --------
    >>> per_sample = pd.DataFrame({"sample": ["a", "b", "c"], "source": ["3"] * 3,
    ...     "target": ["5"] * 3, "ligand_complex": ["A"] * 3, "receptor_complex": ["R"] * 3,
    ...     "lr_means": [2.0, 1.0, 3.0], "cellphone_pvals": [0.001, 0.002, 0.9],
    ...     "specificity_rank": [0.01, 0.02, 0.5], "magnitude_rank": [0.1, 0.2, 0.3]})
    >>> tested = pd.DataFrame({"sample": ["a", "b", "c", "d"], "source": ["3"] * 4,
    ...                        "target": ["5"] * 4})
    >>> row = sample_statistics(per_sample, tested, 0.05, 4).iloc[0]
    >>> int(row["n_samples_tested"]), int(row["n_samples_support"]), bool(row["supported"])
    (4, 2, True)
    >>> float(row["pvalue"]), float(row["magnitude"])
    (0.451, 2.0)
    """
    data = _renamed(per_sample.rename(columns={"sample": "sample_"}))
    data["fdr"] = np.nan
    for _, rows in data.groupby("sample_", sort=False):
        data.loc[rows.index, "fdr"] = benjamini_hochberg(rows["pvalue"].to_numpy())
    tested = tested.rename(columns={"source": "sender", "target": "receiver", "sample": "sample_"})
    keys = data[_KEY].drop_duplicates()
    # every (row, sample that tested its two groups); a missing result is "not expressed"
    grid = keys.merge(tested[["sender", "receiver", "sample_"]], on=["sender", "receiver"])
    grid = grid.merge(data, on=[*_KEY, "sample_"], how="left")
    present = grid["magnitude"].notna()
    filled = grid.assign(
        pvalue=grid["pvalue"].fillna(1.0),
        fdr=grid["fdr"].fillna(1.0),
        specificity_rank=grid["specificity_rank"].fillna(1.0),
        magnitude_rank=grid["magnitude_rank"].fillna(1.0),
        support=present & (grid["fdr"] <= alpha),
    )
    grouped = filled.groupby(_KEY, sort=False)
    stats = grouped[["pvalue", "fdr", "specificity_rank", "magnitude_rank"]].median()
    stats["magnitude"] = grid.loc[present].groupby(_KEY, sort=False)["magnitude"].median()
    stats["n_samples_tested"] = grouped.size()
    stats["n_samples_support"] = grouped["support"].sum()
    needed = stats["n_samples_tested"].map(lambda n: max(2, math.ceil(n / 2)))
    stats["supported"] = stats["n_samples_support"] >= needed
    stats["basis"] = f"per sample ({n_usable} samples; permutations within each)"
    return stats.reset_index()


def _renamed(liana: pd.DataFrame) -> pd.DataFrame:
    out = liana.rename(
        columns={
            "source": "sender",
            "target": "receiver",
            "ligand_complex": "ligand",
            "receptor_complex": "receptor",
            "lr_means": "magnitude",
            "cellphone_pvals": "pvalue",
        }
    )
    return out.reset_index(drop=True)


def finish_table(
    rows: pd.DataFrame,
    stats: pd.DataFrame,
    *,
    measured: set[str],
    group_sizes: Mapping[str, float],
    expr_prop: float,
    min_cells: int,
    replicated: bool,
) -> pd.DataFrame:
    """Statistics merged in, a status for every row, each sender's rows ranked."""
    keep = [c for c in stats.columns if c in (*_KEY, *_STATS, "supported", "basis")] + [
        c for c in ("n_samples_tested", "n_samples_support") if c in stats.columns
    ]
    table = rows.merge(stats[keep], on=_KEY, how="left")
    scored = table["magnitude"].notna() | table["specificity_rank"].notna()
    table["status"] = [
        SCORED if ok else _why_not(row, measured, group_sizes, expr_prop, min_cells, replicated)
        for ok, row in zip(scored, table.to_dict("records"), strict=True)
    ]
    table["supported"] = table["supported"].astype("boolean").fillna(False).astype(bool)
    table.loc[~scored, "basis"] = ""
    table["basis"] = table["basis"].fillna("")
    table["rank"] = _ranks(table)
    for column in COLUMNS:
        if column not in table.columns:
            table[column] = np.nan
    order = {s: i for i, s in enumerate(dict.fromkeys(table["sender"]))}
    table = table.assign(_s=table["sender"].map(order)).sort_values(
        ["_s", "rank", "receiver"], na_position="last", kind="stable"
    )
    return table[list(COLUMNS)].reset_index(drop=True)


def _ranks(table: pd.DataFrame) -> pd.Series:
    ranks = pd.Series(np.nan, index=table.index)
    scored = table[table["status"] == SCORED]
    for _, rows in scored.groupby("sender", sort=False):
        ordered = rows.assign(_unsupported=~rows["supported"]).sort_values(
            ["_unsupported", "specificity_rank", "magnitude_rank", "pvalue"], kind="stable"
        )
        ranks.loc[ordered.index] = np.arange(1, len(ordered) + 1)
    return ranks


def _why_not(
    row: Mapping[str, object],
    measured: set[str],
    sizes: Mapping[str, float],
    expr_prop: float,
    min_cells: int,
    replicated: bool,
) -> str:
    genes = [*str(row["ligand"]).split("_"), *str(row["receptor"]).split("_")]
    missing = [g for g in genes if g not in measured]
    if missing:
        return f"not measured: {', '.join(missing)} not in the data"
    small = [
        f"{row[side]} ({int(sizes.get(str(row[side]), 0))} cells)"
        for side in ("sender", "receiver")
        if sizes.get(str(row[side]), 0) < min_cells
    ]
    if small:
        return f"group too small (< {min_cells} cells): {', '.join(small)}"
    low = [
        f"{row[name]} in {float(row[f'{name}_fraction']):.0%} of {side} cells"
        for name, side in (("ligand", "sender"), ("receptor", "receiver"))
        if float(row[f"{name}_fraction"]) < expr_prop
    ]
    if low:
        return f"not expressed (< {expr_prop:.0%} of cells): {'; '.join(low)}"
    if replicated:
        return f"not expressed in any sample with {min_cells} or more cells of both groups"
    return "not scored by LIANA+"


__all__ = [
    "COLUMNS",
    "POOLED",
    "SCORED",
    "add_expression",
    "base_rows",
    "finish_table",
    "pooled_statistics",
    "sample_statistics",
]
