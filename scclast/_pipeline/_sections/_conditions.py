"""The conditions section: what changes between conditions, with samples as replicates.

Runs when a run names a condition column (``--condition COL``, with ``--sample-key COL``
and ``--reference LEVEL``): :func:`scclast.tl.compare_conditions` tests every catalogue
gene and gene set in each osteoclast-lineage group (pseudobulk, PyDESeq2) and every
group's share of cells (propeller-style). It writes ``conditions.tsv`` and
``abundance.tsv``, draws :func:`scclast.pl.condition_genes` and
:func:`scclast.pl.condition_abundance`, and answers both questions in sentences. Without
``--condition`` it is skipped with its reason; a design that cannot be tested (no sample
column, a condition that changes within a sample, an unknown reference, a level with
fewer than two samples) stops the run with one line (exit status 2 on the command line).

Examples
--------
>>> CONDITIONS.skip_reason(Results(adata=None, table=None))  # doctest: +ELLIPSIS
'no condition to compare: ...'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import get, pl, tl
from scclast._errors import ScclastInputError
from scclast._keys import Step
from scclast._pipeline._html import e, table_markup
from scclast._pipeline._sections._base import FigureSpec, Results, Section
from scclast._pipeline._text import and_join, as_float, p_text
from scclast.pl import _conditions as _figures
from scclast.tl._conditions._design import read_design

if TYPE_CHECKING:
    from anndata import AnnData

NAME = "conditions"

GENE_TABLE_COLUMNS = (
    "group",
    "lineage_state",
    "condition",
    "feature",
    "feature_type",
    "effect",
    "log2fc",
    "ci_low",
    "ci_high",
    "pvalue",
    "fdr",
    "note",
)
"""Columns of the expression rows shown in the report (all are in conditions.tsv)."""

ABUNDANCE_TABLE_COLUMNS = (
    "group",
    "lineage_state",
    "condition",
    "n_cells_reference",
    "n_cells_condition",
    "share_reference",
    "share_condition",
    "share_ratio",
    "pvalue",
    "fdr",
)
"""Columns of abundance.tsv shown in the report."""

_MARK = {"anabolic": "▲", "inhibitory": "▼", "controversial": "◆"}


def _given(value: Any) -> bool:
    """A set option (the workflow hands unset ones back as the text "None")."""
    return value is not None and str(value) not in ("", "None")


def _analyse(adata: AnnData, parameters: Mapping[str, Any], key_added: str) -> None:
    condition = parameters.get("condition")
    if not _given(condition):
        if _given(parameters.get("reference")):
            raise ScclastInputError(
                "--reference names a level of the condition, but no --condition was given: "
                "add --condition COL (and --sample-key COL)"
            )
        return
    groupby = parameters.get("groupby")
    tl.compare_conditions(
        adata,
        str(condition),
        sample_key=parameters.get("sample_key") if _given(parameters.get("sample_key")) else None,
        reference=str(parameters["reference"]) if _given(parameters.get("reference")) else None,
        groupby=str(groupby) if _given(groupby) else None,
        species=str(parameters.get("species") or "auto"),
        layer=parameters.get("layer") if _given(parameters.get("layer")) else None,
        use_raw=bool(parameters.get("use_raw", False)),
        key_added=key_added,
    )


def _check(adata: AnnData, parameters: Mapping[str, Any]) -> None:
    """The design, before any analysis: a run that cannot compare stops in seconds."""
    condition = parameters.get("condition")
    if not _given(condition):
        return
    sample_key = parameters.get("sample_key")
    read_design(
        adata.obs,
        str(sample_key) if _given(sample_key) else None,
        str(condition),
        str(parameters["reference"]) if _given(parameters.get("reference")) else None,
    )


def _skip_reason(results: Results) -> str | None:
    if not _given(results.parameters.get("condition")):
        return (
            "no condition to compare: give --condition COL (a column constant within each "
            "sample), --sample-key COL (the animals or donors) and --reference LEVEL"
        )
    if results.adata is None or not results.keys.record(results.adata, Step.CONDITIONS):
        return "the condition comparison was not run on this data"
    return None


def _fdr(results: Results) -> float:
    return as_float(results.parameters.get("fdr", 0.05), 0.05)


def _tables(results: Results) -> dict[str, pd.DataFrame]:
    return {
        "conditions.tsv": get.condition_table(results.adata, results.key_added),
        "abundance.tsv": get.abundance_table(results.adata, results.key_added),
    }


FIGURES = (
    FigureSpec(
        name="condition_genes",
        title=_figures.GENES_TITLE,
        caption=(
            "Each catalogue gene (rows, under its category; ▲ anabolic, ▼ inhibitory, "
            "◆ controversial effect on bone formation) and gene set (bottom rows) in each "
            "tested osteoclast-lineage group (columns). Colour: log2 fold change against the "
            "reference condition, from pseudobulk counts per sample (PyDESeq2 for genes, a "
            "linear model of per-sample set scores for sets); dot size: FDR; black rings: "
            "FDR at or below the run's threshold. Grey ×: group not tested (too few samples "
            "with enough of its cells); grey dot: gene not expressed there."
        ),
        draw=lambda r: pl.condition_genes(
            r.adata, fdr=_fdr(r), key_added=r.key_added, return_fig=True
        ),
    ),
    FigureSpec(
        name="condition_abundance",
        title=_figures.ABUNDANCE_TITLE,
        caption=(
            "Each dot is one sample's share of its cells in a group (colour and shape: "
            "condition); bars mark each condition's mean. Above each group: the ratio of "
            "mean shares against the reference and its FDR (propeller-style test of the "
            "logit shares over samples), bold when at or below the threshold. Shares are "
            "relative: when one group expands, the others' shares fall even if their cell "
            "numbers did not change."
        ),
        draw=lambda r: pl.condition_abundance(
            r.adata, fdr=_fdr(r), key_added=r.key_added, return_fig=True
        ),
    ),
)
"""The section's two figures, in the report's order."""


def _report(results: Results, figures: Mapping[str, str]) -> str:
    adata, key = results.adata, results.key_added
    record = results.keys.record(adata, Step.CONDITIONS)
    design = record.get("design", {})
    table = get.condition_table(adata, key)
    abundance = get.abundance_table(adata, key)
    fdr = _fdr(results)
    parts = [f'<section id="{NAME}">', "<h2>What changes between conditions</h2>"]
    parts.append(f"<p>{e(design_sentence(design))}</p>")
    parts.append("<h3>Does clastokine expression change?</h3>")
    parts += [f"<p>{e(s)}</p>" for s in expression_sentences(table, fdr)]
    parts.append("<h3>Does the population expand or shrink?</h3>")
    parts += [f"<p>{e(s)}</p>" for s in abundance_sentences(abundance, fdr)]
    parts.append(f'<p class="note">{e(method_note(record))}</p>')
    parts += list(figures.values())
    parts.append(
        f'<p class="note">Expression rows at FDR ≤ {fdr:g} (all rows, untested groups '
        "included, are in <code>conditions.tsv</code>):</p>"
    )
    hits = table[table["fdr"] <= fdr].sort_values("fdr")
    if hits.empty:
        parts.append("<p>None.</p>")
    else:
        parts.append(table_markup(hits, GENE_TABLE_COLUMNS, "conditions-table"))
    parts.append(
        '<p class="note">Abundance per group (all columns are in <code>abundance.tsv</code>); '
        "highlighted rows are at or below the FDR threshold:</p>"
    )
    shown = abundance.assign(flagged=abundance["fdr"] <= fdr)
    parts.append(table_markup(shown, ABUNDANCE_TABLE_COLUMNS, "abundance-table", "flagged"))
    parts.append("</section>")
    return "\n".join(parts)


def design_sentence(design: Mapping[str, Any]) -> str:
    """The design in one sentence: levels, reference, samples per level.

    Examples
    --------
    >>> design_sentence({"condition": "condition", "reference": "control",
    ...     "sample_key": "sample", "samples_per_level": {"control": 3, "treated": 3}})
    ... # doctest: +ELLIPSIS
    "Conditions (obs['condition']) compared with 'control' as the ...: 3 control and 3 treated."
    """
    counts = design.get("samples_per_level", {}) or {}
    listed = and_join([f"{int(n)} {level}" for level, n in counts.items()])
    return (
        f"Conditions (obs[{str(design.get('condition'))!r}]) compared with "
        f"{str(design.get('reference'))!r} as the reference, with the samples of "
        f"obs[{str(design.get('sample_key'))!r}] as replicates: {listed}."
    )


def expression_sentences(table: pd.DataFrame, fdr: float) -> list[str]:
    """The expression answer: which groups changed, in which genes and sets, which not.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["2", "2", "0"], "lineage_state": ["osteoclast"] * 2 + [""],
    ...     "condition": "treated", "reference": "control", "feature": ["Slit3", "s", "Slit3"],
    ...     "feature_type": ["gene", "gene_set", "gene"], "effect": ["anabolic", "", "anabolic"],
    ...     "log2fc": [1.0, 0.9, 0.1], "ci_low": [0.6, 0.7, -0.3], "ci_high": [1.4, 1.1, 0.5],
    ...     "fdr": [0.001, 0.01, 0.9], "tested": True, "note": ""})
    >>> expression_sentences(t, 0.05)[1]  # doctest: +ELLIPSIS
    'Group 2 (osteoclast), treated vs control: 1 of 1 catalogue genes changed at FDR ≤ 0.05 ...'
    """
    if table.empty:
        return ["No group was tested."]
    sentences = []
    tested = table[table["tested"]]
    changed_groups = []
    quiet = []
    for (_, level), rows in tested.groupby(["group", "condition"], sort=False):
        genes = rows[rows["feature_type"] == "gene"]
        sets = rows[rows["feature_type"] == "gene_set"]
        hit_genes = genes[genes["fdr"] <= fdr].sort_values("fdr")
        hit_sets = sets[sets["fdr"] <= fdr].sort_values("fdr")
        name = _group_name(rows)
        reference = str(rows["reference"].iloc[0])
        if hit_genes.empty and hit_sets.empty:
            short = name.removeprefix("Group ")
            quiet.append(short if tested["condition"].nunique() == 1 else f"{short}, {level}")
            continue
        changed_groups.append(name)
        text = f"{name}, {level} vs {reference}: "
        if hit_genes.empty:
            text += f"no single catalogue gene changed at FDR ≤ {fdr:g}"
        else:
            up = int((hit_genes["log2fc"] > 0).sum())
            direction = _direction(up, len(hit_genes))
            measured = int(np.isfinite(genes["log2fc"]).sum())
            shown = [_fold_text(row, with_mark=True) for _, row in hit_genes.head(6).iterrows()]
            more = f" and {len(hit_genes) - 6} more" if len(hit_genes) > 6 else ""
            effects = _effect_counts(hit_genes)
            text += (
                f"{len(hit_genes)} of {measured} catalogue genes changed at FDR ≤ {fdr:g} "
                f"({direction}; {effects}): {', '.join(shown)}{more}"
            )
        if not hit_sets.empty:
            listed = ", ".join(_fold_text(row) for _, row in hit_sets.iterrows())
            text += f". As whole sets: {listed}"
        sentences.append(text + ".")
    lead = (
        f"Catalogue expression changed in {len(changed_groups)} of "
        f"{tested['group'].nunique()} tested osteoclast-lineage group(s): "
        f"{and_join(changed_groups)}."
        if changed_groups
        else f"No catalogue gene or gene set changed at FDR ≤ {fdr:g} in any tested "
        "osteoclast-lineage group."
    )
    sentences.insert(0, lead)
    if quiet and changed_groups:
        sentences.append(f"No change at FDR ≤ {fdr:g} in group(s) {and_join(quiet)}.")
    untested = table[~table["tested"]].drop_duplicates(["group", "condition"])
    for _, row in untested.iterrows():
        reason = str(row["note"]).removeprefix("not tested: ")
        sentences.append(f"Group {row['group']} ({row['condition']}) was not tested: {reason}.")
    if tested.empty and untested.empty:
        sentences.append("No osteoclast-lineage group was found to test.")
    return sentences


def abundance_sentences(abundance: pd.DataFrame, fdr: float) -> list[str]:
    """The abundance answer: which groups' shares rose or fell, with the caveat.

    Examples
    --------
    >>> a = pd.DataFrame({"group": ["2", "4"], "lineage_state": ["osteoclast", "non-lineage"],
    ...     "condition": "treated", "reference": "control", "share_reference": [0.2, 0.13],
    ...     "share_condition": [0.48, 0.10], "share_ratio": [2.4, 0.77],
    ...     "fdr": [0.03, 0.7]})
    >>> abundance_sentences(a, 0.05)[0]  # doctest: +ELLIPSIS
    'Group 2 (osteoclast) rose from 20.0% of the ... to 48.0% in treated (×2.40, FDR 0.03).'
    """
    sentences = []
    steady = []
    for _, row in abundance.iterrows():
        name = _group_name(pd.DataFrame([row]))
        q = row["fdr"]
        if np.isfinite(q) and q <= fdr:
            verb = "rose" if row["share_ratio"] > 1 else "fell"
            sentences.append(
                f"{name} {verb} from {row['share_reference']:.1%} of the cells of "
                f"{row['reference']} samples to {row['share_condition']:.1%} in "
                f"{row['condition']} (×{row['share_ratio']:.2f}, FDR {p_text(q)})."
            )
        else:
            steady.append(name.removeprefix("Group "))
    if not sentences:
        sentences.append(f"No group's share of cells changed at FDR ≤ {fdr:g}.")
    elif steady:
        sentences.append(f"No change at FDR ≤ {fdr:g} in group(s) {and_join(steady)}.")
    sentences.append(
        "Shares are relative: they sum to one in every sample, so when one group expands the "
        "others' shares fall even if their numbers of cells did not change; a fall beside a "
        "rise may be that rise seen from the other side."
    )
    return sentences


def method_note(record: Mapping[str, Any]) -> str:
    """How the tests were made, with the libraries' versions."""
    libraries = record.get("libraries", {}) or {}
    parameters = record.get("parameters", {}) or {}
    return (
        "How: samples, not cells, are the replicates. Per group, each sample's raw counts "
        f"are summed (samples with at least {parameters.get('min_cells', 10)} cells of the "
        "group; a group needs at least "
        f"{parameters.get('min_samples', 2)} such samples per condition to be tested). "
        f"Genes: PyDESeq2 {libraries.get('pydeseq2', '?')} (negative binomial, Wald test; "
        "log2 fold changes with 95% intervals; size factors and dispersion trend from "
        f"{parameters.get('n_background', 200)} further genes). Gene sets: the mean "
        "log2 normalised expression of the set per sample, modelled on the condition "
        f"(statsmodels {libraries.get('statsmodels', '?')} OLS), so the genes' correlation "
        "is carried by the samples' variance. Abundance: logit of each group's share per "
        "sample, the same linear model (propeller-style). Benjamini-Hochberg FDR within "
        "genes, within sets and within abundance."
    )


def _group_name(rows: pd.DataFrame) -> str:
    group = str(rows["group"].iloc[0])
    state = str(rows["lineage_state"].iloc[0]) if "lineage_state" in rows else ""
    return f"Group {group} ({state.replace('_', ' ')})" if state else f"Group {group}"


def _direction(up: int, total: int) -> str:
    if up == total:
        return "all up"
    if up == 0:
        return "all down"
    return f"{up} up, {total - up} down"


def _effect_counts(rows: pd.DataFrame) -> str:
    counts = rows["effect"].replace("", "other").value_counts()
    return ", ".join(f"{n} {effect}" for effect, n in counts.items())


def _fold_text(row: pd.Series, with_mark: bool = False) -> str:
    mark = _MARK.get(str(row.get("effect", "")), "") if with_mark else ""
    low, high = 2.0 ** row["ci_low"], 2.0 ** row["ci_high"]
    return (
        f"{mark}{row['feature']} ×{2.0 ** row['log2fc']:.2f} "
        f"(95% CI {low:.2f}-{high:.2f}, FDR {p_text(row['fdr'])})"
    )


CONDITIONS = Section(
    name=NAME,
    title="What changes between conditions",
    files=("conditions.tsv", "abundance.tsv"),
    tables=_tables,
    report=_report,
    figures=FIGURES,
    analyse=_analyse,
    skip_reason=_skip_reason,
    check=_check,
)
"""Condition comparisons: expression and abundance, samples as replicates."""


__all__ = [
    "CONDITIONS",
    "FIGURES",
    "abundance_sentences",
    "design_sentence",
    "expression_sentences",
    "method_note",
]
