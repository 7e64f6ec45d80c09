"""The core section: score and flag, ``groups.tsv``, ``scores.tsv.gz``, four figures, the answer.

:func:`analyse` is the analysis (a thin call of :func:`scclast.tl.flag`); the section
writes the flagging table and the per-cell scores, draws the four figures of
:mod:`scclast.pl` and opens the report with the answer (which groups are candidate
secretory osteoclast-lineage populations, and why), the figures and the groups table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import get, pl, tl
from scclast._keys import DEFAULT_KEY, Step
from scclast._pipeline._html import e, table_markup
from scclast._pipeline._inputs import check_gene_coverage
from scclast._pipeline._sections._answer import TABLE_LINE, answer_sentences, states_sentence
from scclast._pipeline._sections._base import FigureSpec, Results, Section
from scclast._pipeline._text import as_float
from scclast.pl import _dotplot, _effects, _embedding, _heatmap

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

TABLE_COLUMNS = (
    "group",
    "n_cells",
    "lineage_state",
    "gene_set",
    "coverage",
    "mean_score",
    "auroc",
    "pvalue",
    "fdr",
    "nes",
    "drivers",
    "flagged",
    "reasons",
)
"""Columns of the groups table shown in the report (all columns are in groups.tsv)."""


def analyse(
    adata: AnnData,
    *,
    groupby: str | None = None,
    species: str = "auto",
    method: str = "seurat",
    gene_sets: str | Path | Sequence[str | Path] | Mapping[str, Iterable[str]] | None = None,
    osteomorph_signature: str | Path | None = None,
    fdr: float = 0.05,
    seed: int = 0,
    backed: bool = False,
    key_added: str = DEFAULT_KEY,
) -> pd.DataFrame:
    """Score and flag: a thin call of :func:`scclast.tl.flag` (no statistics here).

    Before the (longer) analysis it checks that at least one gene of the gene sets is
    in the data, naming the species and the identifiers seen when none is.

    Parameters
    ----------
    groupby
        ``obs`` column of groups; ``None`` lets flagging build Leiden clusters.
    species, method, gene_sets, osteomorph_signature, fdr, seed, key_added
        As for :func:`scclast.tl.flag`; ``gene_sets=None`` uses its defaults.
    backed
        ``adata`` is backed: scoring reads the matrix from disk in row chunks.

    Returns
    -------
    pandas.DataFrame
        The flagging table, one row per (group, gene set).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> table = analyse(adata, groupby="cluster")
    >>> scclast.get.flagged_groups(table)
    ['3']
    """
    sets = gene_sets_argument(gene_sets)
    check_gene_coverage(adata, sets, species)
    started = time.perf_counter()
    log.info(
        "scoring and flagging %s on %s cells%s ...",
        _describe_sets(sets),
        f"{adata.n_obs:,}",
        " (matrix read from disk in chunks)" if backed else "",
    )
    tl.flag(
        adata,
        groupby,
        gene_sets=sets,
        species=species,
        method=method,
        seed=seed,
        thresholds=tl.FlagThresholds(fdr=fdr),
        osteomorph_signature=None if osteomorph_signature is None else str(osteomorph_signature),
        key_added=key_added,
    )
    table = get.flag_table(adata, key_added)
    log.info(
        "flagging done in %.1f s: %d group(s) flagged",
        time.perf_counter() - started,
        len(get.flagged_groups(table)),
    )
    return table


def gene_sets_argument(gene_sets: Any) -> Any:
    """The gene sets as :func:`scclast.tl.flag` takes them; ``None``: its defaults.

    Examples
    --------
    >>> gene_sets_argument("my.gmt"), gene_sets_argument(None) == list(tl.DEFAULT_GENE_SETS)
    (['my.gmt'], True)
    """
    if gene_sets is None:
        return list(tl.DEFAULT_GENE_SETS)
    if isinstance(gene_sets, (str, Path)):
        return [str(gene_sets)]
    if isinstance(gene_sets, Mapping):
        return gene_sets
    return [str(item) for item in gene_sets]


def _describe_sets(sets: Any) -> str:
    names = list(sets)
    return f"{len(names)} gene set(s) ({', '.join(map(str, names))})"


def _analyse_section(adata: AnnData, parameters: Mapping[str, Any], key_added: str) -> None:
    """The section's analysis, its options read from the run's parameters."""
    gene_sets = parameters.get("gene_sets", "default")
    analyse(
        adata,
        groupby=parameters.get("groupby"),
        species=parameters.get("species", "auto"),
        method=parameters.get("method", "seurat"),
        gene_sets=None if gene_sets == "default" else gene_sets,
        osteomorph_signature=parameters.get("osteomorph_signature"),
        fdr=parameters.get("fdr", 0.05),
        seed=parameters.get("seed", 0),
        backed=bool(parameters.get("backed", False)),
        key_added=key_added,
    )


def _tables(results: Results) -> dict[str, pd.DataFrame]:
    scores = get.scores(results.adata, results.key_added).reset_index()
    return {"groups.tsv": results.table, "scores.tsv.gz": scores}


FIGURES = (
    FigureSpec(
        name="dotplot",
        title=_dotplot.TITLE,
        caption=(
            "Clastokine genes (rows, grouped by catalogue category; ▲ anabolic, ▼ inhibitory, "
            "◆ controversial effect on bone formation) by group (columns). Dot size: share of "
            "cells expressing the gene; colour: mean expression scaled across groups. Flagged "
            "groups are shaded and starred."
        ),
        draw=lambda r: pl.dotplot(r.adata, key_added=r.key_added, return_fig=True),
    ),
    FigureSpec(
        name="embedding",
        title=_embedding.TITLE,
        caption=(
            "UMAP of all cells, coloured by group (left; the legend gives each group's "
            "lineage state) and by the calibrated clastokine score (right; z-score of each "
            "cell against matched control gene sets). Cells of flagged groups are outlined in "
            "black and labelled."
        ),
        draw=lambda r: pl.embedding(r.adata, key_added=r.key_added, return_fig=True),
    ),
    FigureSpec(
        name="factor_heatmap",
        title=_heatmap.TITLE,
        caption=(
            "Coupling factors (rows) by group (columns): each factor's genes' mean expression, "
            "z-scored across groups and averaged. Flagged groups are boxed."
        ),
        draw=lambda r: pl.factor_heatmap(r.adata, key_added=r.key_added, return_fig=True),
    ),
    FigureSpec(
        name="effect_sizes",
        title=_effects.TITLE,
        caption=(
            "Effect sizes per group and gene set: colour is the AUROC of the group's calibrated "
            "scores against the reference cells (0.5 = no difference), dot size the FDR. "
            "Rings mark flagged pairs."
        ),
        draw=lambda r: pl.effect_sizes(r.adata, key_added=r.key_added, return_fig=True),
    ),
)
"""The four figures of a run, in the report's order."""


def _report(results: Results, figures: Mapping[str, str]) -> str:
    return "\n".join(
        (_answer_block(results), _figures_block(figures), _groups_block(results.table))
    )


def _answer_block(results: Results) -> str:
    record = results.keys.record(results.adata, Step.FLAG) if results.adata is not None else {}
    table = results.table
    fdr = as_float(results.parameters.get("fdr", _threshold(record, "fdr", 0.05)), 0.05)
    min_auroc = as_float(_threshold(record, "min_auroc", 0.6), 0.6)
    verdict, groups = answer_sentences(table, fdr, min_auroc)
    flagged = bool(table is not None and not table.empty and table["flagged"].astype(bool).any())
    parts = ['<section id="answer">', "<h2>Answer</h2>"]
    parts.append(f'<p class="verdict{"" if flagged else " none"}">{e(verdict)}</p>')
    if groups and not flagged:
        parts.append("<p>The closest osteoclast-lineage candidates, and why they fell short:</p>")
    for group, sentences in groups:
        parts.append(f'<div class="group" data-group="{e(group)}">')
        parts.append(f"<p><strong>{e(sentences[0])}</strong></p>")
        body = [s for s in sentences[1:] if not s.startswith(TABLE_LINE)]
        if body:
            parts.append(f'<p class="why">{e(" ".join(body))}</p>')
        for line in (s for s in sentences[1:] if s.startswith(TABLE_LINE)):
            parts.append(f'<p class="why note">{e(line)}</p>')
        parts.append("</div>")
    if not flagged and not groups and table is not None and not table.empty:
        parts.append(f"<p>{e(states_sentence(table))}</p>")
    message = str(record.get("message", "") or "")
    if message and message != "None":
        parts.append(f'<p class="note">{e(message)}</p>')
    parts.append(
        '<p class="note">How a flag is made: the group must be osteoclast-lineage (myeloid '
        "identity first, then macrophage, precursor, osteoclast or osteomorph programmes), "
        "its calibrated clastokine scores must exceed those of the reference cells at the "
        f"chosen FDR ({fdr:g}, Benjamini-Hochberg over groups and gene sets) with an effect "
        f"size of at least AUROC {min_auroc:g}, and the call must survive leaving out any single "
        "factor of the set. Calibrated scores compare each cell with matched control gene "
        "sets, so sequencing depth and expression level cancel.</p>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def _threshold(record: Mapping[str, Any], key: str, default: Any) -> Any:
    """A flag parameter, also from inside its ``thresholds`` record."""
    parameters = record.get("parameters", {})
    if key in parameters:
        return parameters[key]
    thresholds = parameters.get("thresholds", {})
    return thresholds.get(key, default) if isinstance(thresholds, Mapping) else default


def _figures_block(figures: Mapping[str, str]) -> str:
    parts = ['<section id="figures">', "<h2>Figures</h2>", *figures.values()]
    if not figures:
        parts.append("<p>No figures were drawn.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _groups_block(table: pd.DataFrame | None) -> str:
    parts = ['<section id="groups">', "<h2>Groups</h2>"]
    if table is None or table.empty:
        parts.append("<p>No group was tested.</p></section>")
        return "\n".join(parts)
    parts.append(
        '<p class="note">One row per group and gene set; flagged rows are highlighted. '
        "All columns are in <code>groups.tsv</code>.</p>"
    )
    parts.append(table_markup(table, TABLE_COLUMNS, "groups-table", highlight="flagged"))
    return "\n".join(parts) + "</section>"


FLAGGING = Section(
    name="flagging",
    title="Candidate secretory osteoclast-lineage populations",
    files=("groups.tsv", "scores.tsv.gz"),
    tables=_tables,
    report=_report,
    figures=FIGURES,
    analyse=_analyse_section,
)
"""Score, flag and answer: the section every run has, and the one the others build on."""


__all__ = ["FIGURES", "FLAGGING", "TABLE_COLUMNS", "analyse", "gene_sets_argument"]
