"""The answer of a run in sentences: which groups were flagged and why, or why none was.

Sentences are built from the flagging table's columns (fold change, tests, samples,
reference, leave-one-out, drivers; AUROC and FDR alone for tables of older runs); each
group's paragraph closes with its ``reasons``. Macrophage groups that pass the tests are
reported apart (:func:`macrophage_sentence`), never as candidates.

Examples
--------
>>> t = pd.DataFrame({"group": ["oc", "mac"], "n_cells": [40, 60],
...     "lineage_state": ["osteoclast", "macrophage"], "gene_set": ["s", "s"],
...     "reference": ["other lineage groups"] * 2,
...     "auroc": [0.91, 0.52], "fdr": [1e-6, 0.7], "flagged": [True, False],
...     "reasons": ["flagged: s AUROC 0.91", "not flagged: s AUROC 0.52 < 0.6"]})
>>> verdict, groups = answer_sentences(t)
>>> verdict
'Group oc is a candidate secretory osteoclast-lineage population (1 of 2 groups).'
>>> groups[0][1][0]
'Group oc (40 cells; lineage state: osteoclast) is flagged for s.'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from scclast import genesets
from scclast._pipeline._text import and_join, is_number, number, p_text, plain
from scclast.tl._lineage_rules import OSTEOCLAST_LINEAGE

TABLE_LINE = "In the table: "
"""Start of the sentence that quotes a row's ``reasons``."""


def answer_sentences(
    table: pd.DataFrame | None,
    fdr: float = 0.05,
    min_fold_change: float = 1.5,
    max_near_misses: int = 3,
) -> tuple[str, list[tuple[str, list[str]]]]:
    """The report's answer: a verdict and, per group, plain sentences.

    Parameters
    ----------
    table
        The flagging table.
    fdr, min_fold_change
        The thresholds of a flag (used to say which one a group missed).
    max_near_misses
        How many unflagged candidates to explain when nothing is flagged.

    Returns
    -------
    ``(verdict, [(group, [sentences])])``: the flagged groups when there are any, else
    the closest osteoclast-lineage candidates and why they fell short.
    """
    if table is None or table.empty:
        return "No group could be tested.", []
    frame = table.assign(group=table["group"].astype(str))
    if "set_role" in frame:
        frame = frame[frame["set_role"].astype(str) != "descriptive"]
    groups = list(dict.fromkeys(frame["group"]))
    hits = list(dict.fromkeys(frame.loc[frame["flagged"].astype(bool), "group"]))
    total = f"{len(groups)} group{'s' if len(groups) != 1 else ''}"
    if hits:
        if len(hits) == 1:
            verdict = (
                f"Group {hits[0]} is a candidate secretory osteoclast-lineage population "
                f"(1 of {total})."
            )
        else:
            verdict = (
                f"Groups {and_join(hits)} are candidate secretory osteoclast-lineage "
                f"populations ({len(hits)} of {total})."
            )
        return verdict, [(g, _flagged_sentences(frame[frame["group"] == g])) for g in hits]
    verdict = (
        f"No population was flagged: none of the {total} is a candidate secretory "
        f"osteoclast-lineage population at FDR {fdr:g}."
    )
    near = _near_misses(frame, max_near_misses)
    explained = [
        (g, _unflagged_sentences(frame[frame["group"] == g], fdr, min_fold_change)) for g in near
    ]
    return verdict, explained


def macrophage_sentence(table: pd.DataFrame | None) -> str:
    """Macrophage groups that pass every test, reported apart (or ``""``).

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["m"], "gene_set": ["s"], "fold_change": [2.4],
    ...                   "call": ["macrophage (reported apart)"]})
    >>> macrophage_sentence(t).split(":")[0]
    'Reported apart, not as candidates (clastokines are defined as osteoclast-lineage products)'
    """
    if table is None or table.empty or "call" not in table:
        return ""
    rows = table[table["call"].astype(str).str.startswith("macrophage")]
    if rows.empty:
        return ""
    parts = []
    for row in rows.to_dict("records"):
        fold = number(row.get("fold_change"))
        detail = f" ({fold:.2f}-fold)" if fold is not None else ""
        parts.append(
            f"macrophage group {row['group']} passes every test for {row['gene_set']}{detail}"
        )
    return (
        "Reported apart, not as candidates (clastokines are defined as osteoclast-lineage "
        f"products): {'; '.join(parts)}."
    )


def states_sentence(table: pd.DataFrame) -> str:
    """Why nothing could be flagged when no group is osteoclast-lineage.

    Examples
    --------
    >>> states_sentence(pd.DataFrame({"group": ["b1", "t"],
    ...                               "lineage_state": ["non-lineage"] * 2})).split(". ")[-1]
    'Lineage states: non-lineage: b1 and t.'
    """
    per_group = table.drop_duplicates("group")[["group", "lineage_state"]].astype(str)
    by_state = per_group.groupby("lineage_state", sort=False)["group"].apply(list)
    described = "; ".join(f"{state}: {and_join(groups)}" for state, groups in by_state.items())
    return (
        "No group is osteoclast-lineage (macrophage, osteoclast precursor, osteoclast or "
        f"osteomorph), so none can be a candidate. Lineage states: {described}."
    )


def _flagged_sentences(rows: pd.DataFrame) -> list[str]:
    first = rows.iloc[0]
    hits = [dict(r) for r in rows[rows["flagged"].astype(bool)].to_dict(orient="records")]
    sentences = [f"{_who(first)} is flagged for {and_join([h['gene_set'] for h in hits])}."]
    for row in hits:
        sentences += _evidence(row)
        sentences += _robustness(row)
        drivers = plain(row.get("drivers"))
        if drivers:
            sentences.append(f"The genes carrying the {row['gene_set']} signal most: {drivers}.")
        side = _context(row)
        if side:
            sentences.append(side)
        if plain(row.get("reasons")):
            sentences.append(f"{TABLE_LINE}{plain(row.get('reasons'))}")
    return sentences


def _unflagged_sentences(rows: pd.DataFrame, fdr: float, min_fold_change: float) -> list[str]:
    first = rows.iloc[0]
    key = "fold_change" if "fold_change" in rows else "auroc"
    ranked = rows.assign(_a=pd.to_numeric(rows[key], errors="coerce"))
    best = dict(ranked.sort_values("_a", ascending=False, na_position="last").iloc[0])
    sentences = [f"{_who(first)} is not flagged."]
    name, reference = best["gene_set"], plain(best.get("reference")) or "the reference cells"
    fold, q = number(best.get("fold_change")), number(best.get("fdr"))
    auroc = number(best.get("auroc"))
    if fold is not None and q is not None:
        sentences.append(_fold_shortfall(best, fold, q, fdr, min_fold_change))
    elif auroc is None or q is None:
        sentences.append(f"Its {name} scores could not be tested.")
    elif q <= fdr:
        sentences.append(
            f"Its {name} scores are significantly higher than those of the {reference} "
            f"(AUROC {auroc:.2f}, FDR {p_text(q)}), but the call did not hold up (see below)."
        )
    else:
        sentences.append(
            f"Its {name} scores are not higher than those of the {reference} (AUROC "
            f"{auroc:.2f}, FDR {p_text(q)})."
        )
    if plain(best.get("reasons")):
        sentences.append(f"{TABLE_LINE}{plain(best.get('reasons'))}")
    return sentences


def _fold_shortfall(
    row: Mapping[str, Any], fold: float, q: float, fdr: float, min_fold_change: float
) -> str:
    reference = plain(row.get("reference")) or "the reference cells"
    mc_q, control = number(row.get("mc_fdr")), number(row.get("control_fold_95"))
    text = (
        f"Its {row['gene_set']} genes are {fold:.2f}-fold those of the {reference} "
        f"({_test_words(row)} FDR {p_text(q)}"
    )
    if mc_q is not None:
        text += f"; against matched control gene sets FDR {p_text(mc_q)}"
        if control is not None:
            text += f", their 95th percentile {control:.2f}-fold"
    text += ")"
    missed = []
    if fold < min_fold_change:
        missed.append(f"below the {min_fold_change:g}-fold required")
    if q > fdr:
        missed.append("not significant")
    if mc_q is not None and mc_q > fdr:
        missed.append("no higher than random genes of the same expression level")
    return text + (": " + ", and ".join(missed) + "." if missed else ".")


def _test_words(row: Mapping[str, Any]) -> str:
    if plain(row.get("evidence")).startswith("replicated"):
        return f"paired test over {int(number(row.get('n_samples')) or 0)} samples,"
    return "cells treated as independent,"


def _evidence(row: Mapping[str, Any]) -> list[str]:
    auroc, q = number(row.get("auroc")), number(row.get("fdr"))
    reference = plain(row.get("reference")) or "the reference cells"
    sentences = []
    fold = number(row.get("fold_change"))
    if fold is not None:
        text = (
            f"Its {row['gene_set']} genes are {fold:.2f}-fold those of the {reference} "
            "(pseudobulk, normalised)"
        )
        control, mc = number(row.get("control_fold_95")), number(row.get("mc_pvalue"))
        if mc is not None:
            text += (
                ", more than random genes of the same expression level rise (control-set "
                f"p {p_text(mc)}"
                + (f"; their 95th percentile: {control:.2f}-fold)" if control else ")")
            )
        sentences.append(text + ".")
        n_samples = int(number(row.get("n_samples")) or 0)
        agree = int(number(row.get("samples_agree")) or 0)
        q_text = p_text(q) if q is not None else "NA"
        if plain(row.get("evidence")).startswith("replicated"):
            sentences.append(
                f"Replicated: up in {agree} of {n_samples} samples, paired test FDR {q_text}."
            )
        else:
            sentences.append(
                f"Exploratory: cells were treated as independent (cell-level FDR {q_text})"
                + (f"; up in {agree} of {n_samples} samples." if n_samples else ".")
            )
    if auroc is not None:
        sentences.append(
            f"A random cell of group {row['group']} outscores a random reference cell "
            f"{auroc:.0%} of the time (calibrated scores, AUROC {auroc:.2f}"
            + (f", FDR {p_text(q)})." if q is not None and fold is None else ").")
        )
    return sentences


def _robustness(row: Mapping[str, Any]) -> list[str]:
    factor = plain(row.get("loo_weakest"))
    fold = number(row.get("loo_min_fold_change"))
    if fold is not None and factor:
        return [
            f"The signal does not rest on a single factor: without its weakest link "
            f"({_factor_name(factor)}) the fold change is still {fold:.2f}."
        ]
    weakest = number(row.get("loo_min_auroc"))
    if weakest is None or not factor:
        return []
    return [
        f"The signal does not rest on a single factor: without its weakest link "
        f"({_factor_name(factor)}) the AUROC is still {weakest:.2f}."
    ]


def _context(row: Mapping[str, Any]) -> str:
    parts = []
    machinery = number(row.get("machinery_auroc"))
    if machinery is not None:
        parts.append(f"secretory machinery AUROC {machinery:.2f}")
    inhibitory = number(row.get("inhibitory_auroc"))
    if inhibitory is not None:
        parts.append(f"inhibitory coupling factors AUROC {inhibitory:.2f}")
    if not parts:
        return ""
    return "Reported alongside, never counted in the flag: " + "; ".join(parts) + "."


def _factor_name(factor_id: str) -> str:
    factor = genesets.load().factors.get(factor_id)
    return factor.abbreviation if factor is not None else factor_id


def _near_misses(frame: pd.DataFrame, limit: int) -> list[str]:
    # only osteoclast-lineage groups can be candidates; decoys (neutrophils, DCs) never
    pool = frame[frame["lineage_state"].astype(str).isin(OSTEOCLAST_LINEAGE)]
    key = "fold_change" if "fold_change" in pool else "auroc"
    best = (
        pool.assign(_auroc=pd.to_numeric(pool[key], errors="coerce"))
        .groupby("group", sort=False)["_auroc"]
        .max()
        .sort_values(ascending=False, na_position="last")
    )
    return [str(g) for g in best.index[:limit]]


def _who(row: Any) -> str:
    n_cells = row.get("n_cells")
    size = f"{int(n_cells):,} cells; " if is_number(n_cells) else ""
    state = plain(row.get("lineage_state", "")) or "unknown"
    return f"Group {row['group']} ({size}lineage state: {state})"


__all__ = ["TABLE_LINE", "answer_sentences", "macrophage_sentence", "states_sentence"]
