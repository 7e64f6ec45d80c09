"""The time-course section of a bulk run (``scclast timecourse``, the workflow's bulk inputs).

Not one of the single-cell :data:`~scclast._pipeline._sections.SECTIONS`: a bulk input
has samples, not cells, so :mod:`scclast._pipeline._timecourse` renders a report of
this section alone. It runs :func:`scclast.tl.timecourse`, writes ``timecourse.tsv``
(one row per factor, set and lineage programme) and ``timecourse_scores.tsv`` (one row
per sample), draws :func:`scclast.pl.timecourse` and says in sentences what rises,
falls or peaks in between, with the lineage programmes as a check that the culture
differentiates.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"kind": ["factor", "factor"], "label": ["SLIT3", "C3a"],
...     "effect": ["anabolic"] * 2, "phase": ["transition", "initiation"],
...     "trend": ["rising", "flat"], "fdr": [1e-6, 0.4], "fdr_any": [1e-5, 0.5],
...     "peak_time": [9.0, 0.0]})
>>> trend_sentences(t, 0.05)[0]
'Rising over time (FDR ≤ 0.05): SLIT3 ▲ (highest at 9).'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import get, pl, tl
from scclast._keys import Step
from scclast._pipeline._html import e, table_markup
from scclast._pipeline._sections._base import FigureSpec, Results, Section
from scclast._pipeline._text import and_join, as_float, p_text
from scclast.pl import _timecourse as _figure

if TYPE_CHECKING:
    from anndata import AnnData

NAME = "timecourse"

TABLE_COLUMNS = (
    "feature",
    "kind",
    "label",
    "phase",
    "effect",
    "genes_measured",
    "slope",
    "pvalue",
    "fdr",
    "pvalue_any",
    "fdr_any",
    "peak_time",
    "trend",
)
"""Columns of timecourse.tsv shown in the report (all are in the file)."""

LIMITS = (
    "Bulk scores mix cell states: a factor that rises in a differentiating culture can mean "
    "more osteoclasts, more of the factor per osteoclast, or both, and a falling one may "
    "only be diluted. Donors are the replicates: the model compares each donor with itself "
    "(a donor with one time point adds nothing to the trend), and a missing donor-day is "
    "left missing, not imputed. Time enters once as a number (a linear trend) and once as "
    "levels (any change, which also catches a transient peak). A transcript says when "
    "cells could make a factor, not when it is secreted or active."
)

_MARK = {"anabolic": "▲", "inhibitory": "▼", "controversial": "◆"}


def _given(value: Any) -> bool:
    return value is not None and str(value) not in ("", "None")


def analyse(adata: AnnData, parameters: Mapping[str, Any], key_added: str) -> None:
    """:func:`scclast.tl.timecourse` with the run's parameters."""
    gene_sets = parameters.get("gene_sets")
    tl.timecourse(
        adata,
        time=str(parameters.get("time") or "time_point"),
        donor=str(parameters["donor"]) if _given(parameters.get("donor")) else None,
        gene_sets=_catalogue_sets(gene_sets, adata),
        species=str(parameters.get("species", "auto")),
        fdr=as_float(parameters.get("fdr", 0.05), 0.05),
        layer=str(parameters["layer"]) if _given(parameters.get("layer")) else None,
        key_added=key_added,
    )


def _catalogue_sets(gene_sets: Any, adata: AnnData) -> dict[str, list[str]] | None:
    """Named sets or GMT files as ``{name: genes}`` in the data's species; None: defaults."""
    if not _given(gene_sets) or gene_sets == "default":
        return None
    from scclast import genesets
    from scclast._groups import resolve_species
    from scclast._matrix import expression_view

    items = [gene_sets] if isinstance(gene_sets, str) else list(gene_sets)
    species = resolve_species(expression_view(adata), "auto")
    return genesets.resolve_gene_sets([str(i) for i in items], species=species)


def _tables(results: Results) -> dict[str, pd.DataFrame]:
    return {
        "timecourse.tsv": get.timecourse_table(results.adata, results.key_added),
        "timecourse_scores.tsv": get.timecourse_scores(results.adata, results.key_added),
    }


def _report(results: Results, figures: Mapping[str, str]) -> str:
    adata, keys = results.adata, results.keys
    table = get.timecourse_table(adata, results.key_added)
    record = keys.record(adata, Step.TIMECOURSE)
    fdr = as_float(record.get("parameters", {}).get("fdr", 0.05), 0.05)
    parts = [f'<section id="{NAME}">', "<h2>Coupling factors over the time course</h2>"]
    parts.append(f"<p>{e(design_sentence(record))}</p>")
    for sentence in trend_sentences(table, fdr):
        parts.append(f"<p>{e(sentence)}</p>")
    parts.append(f"<p>{e(orientation_sentence(table, fdr))}</p>")
    parts.extend(figures.values())
    parts.append(f'<p class="note">{e(LIMITS)}</p>')
    parts.append(
        '<p class="note">One row per coupling factor, gene set and lineage programme; rows '
        "that change over time are highlighted. All columns are in <code>timecourse.tsv</code>"
        "; each sample's scores are in <code>timecourse_scores.tsv</code>.</p>"
    )
    shown = table.assign(changes=table["trend"].isin(("rising", "falling", "transient")))
    parts.append(table_markup(shown, TABLE_COLUMNS, "timecourse-table", highlight="changes"))
    parts.append("</section>")
    return "\n".join(parts)


def design_sentence(record: Mapping[str, Any]) -> str:
    """Samples, donors, time points, missing donor-days and the model, in words."""
    parameters = record.get("parameters", {})
    times = ", ".join(f"{float(t):g}" for t in record.get("time_points", []))
    text = (
        f"{int(record.get('n_samples', 0))} samples from {int(record.get('n_donors', 0))} "
        f"donor(s) at times {times} (obs[{parameters.get('time', 'time')!r}]"
        + (f", donors obs[{parameters['donor']!r}]" if _given(parameters.get("donor")) else "")
        + f"); expression {record.get('values', '')}."
    )
    missing = [str(m) for m in record.get("missing_samples", [])]
    if missing:
        text += (
            f" No sample for {and_join(missing)}: those donor-days are left out, not imputed, "
            "and the time means are averaged over donors from the model."
        )
    text += (
        " Each factor and set was scored per sample (mean of its standardised genes) and "
        "fitted with y ~ C(donor) + time (trend within donors) and y ~ C(donor) + C(time) "
        "(any change), by ordinary least squares (statsmodels)."
    )
    return text


def trend_sentences(table: pd.DataFrame, fdr: float) -> list[str]:
    """Which factors rise, fall, peak in between, or stay flat."""
    factors = table[table["kind"] == "factor"]
    out = []
    first = True
    for trend, words in (("rising", "Rising over time"), ("falling", "Falling over time"),
                         ("transient", "Highest at an inner time point")):  # fmt: skip
        rows = factors[factors["trend"] == trend]
        if rows.empty:
            continue
        listed = and_join(
            [f"{_named(r)} (highest at {float(r.peak_time):g})" for r in rows.itertuples()]
        )
        lead = f"{words} (FDR ≤ {fdr:g})" if first else words
        out.append(f"{lead}: {listed}.")
        first = False
    flat = factors[factors["trend"] == "flat"]
    if not flat.empty:
        out.append(f"No change over time: {and_join([_named(r) for r in flat.itertuples()])}.")
    unmeasured = factors[factors["trend"] == "not measured"]
    if not unmeasured.empty:
        listed = and_join([_named(r) for r in unmeasured.itertuples()])
        out.append(f"Not measured (not expressed in these samples): {listed}.")
    if first:
        out.insert(0, "No coupling factor changes over the time course.")
    return out


def orientation_sentence(table: pd.DataFrame, fdr: float) -> str:
    """Do the lineage programmes move the way a monocyte-to-osteoclast culture should?"""
    states = table[table["kind"] == "state"].set_index("feature")
    if states.empty:
        return ""

    def said(name: str, label: str) -> str:
        if name not in states.index:
            return f"the {label} programme was not scored"
        row = states.loc[name]
        q = row["fdr"] if row["trend"] != "transient" else row["fdr_any"]
        return f"the {label} programme is {row['trend']} (q = {p_text(as_float(q, 1.0))})"

    text = (
        f"Orientation check: {said('state_osteoclast', 'osteoclast')}, "
        f"{said('state_macrophage', 'macrophage')}."
    )
    rising = "state_osteoclast" in states.index and states.loc["state_osteoclast", "trend"] in (
        "rising",
        "transient",
    )
    if not rising:
        text += (
            " The osteoclast programme does not rise: check that later time points hold "
            "more differentiated cells (and that time is numbered in that direction) before "
            "reading the factors."
        )
    return text


def _named(row: Any) -> str:
    return f"{row.label} {_MARK.get(str(row.effect), '')}".strip()


FIGURES = (
    FigureSpec(
        name="timecourse",
        title=_figure.TITLE,
        caption=(
            "One panel per coupling factor, gene set and lineage programme, in blocks by the "
            "Figure 4 phase the review gives the factor (▲ anabolic, ▼ inhibitory, ◆ "
            "controversial). Thin coloured lines: each donor's samples (a missing donor-day "
            "is a gap); black dots and line: time-point means averaged over donors; dashed: "
            "the linear trend within donors. Titles give the call and its FDR (bold: changes)."
        ),
        draw=lambda r: pl.timecourse(r.adata, key_added=r.key_added, return_fig=True),
    ),
)


TIMECOURSE = Section(
    name=NAME,
    title="Coupling factors over the time course",
    files=("timecourse.tsv", "timecourse_scores.tsv"),
    tables=_tables,
    report=_report,
    figures=FIGURES,
    analyse=analyse,
)
"""Bulk time courses: scores per sample, trends with the donor as a block."""

__all__ = [
    "LIMITS",
    "TIMECOURSE",
    "analyse",
    "design_sentence",
    "orientation_sentence",
    "trend_sentences",
]
