"""The core section: score and flag, ``groups.tsv``, ``scores.tsv.gz``, five figures, the answer.

:func:`analyse` is the analysis (a thin call of :func:`scclast.tl.flag`); the section
writes the flagging table and the per-cell scores, draws the five figures of
:mod:`scclast.pl` and opens the report with the answer (which groups are candidate
secretory osteoclast-lineage populations, and why; labelled exploratory when cells were
the unit of the test), what "calibrated" means, the figures (with the per-sample forest
plot), the groups table and the cells per group and sample.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import get, pl, tl
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._pipeline._html import e, table_markup
from scclast._pipeline._inputs import check_gene_coverage
from scclast._pipeline._sections._answer import (
    TABLE_LINE,
    answer_sentences,
    macrophage_sentence,
    states_sentence,
)
from scclast._pipeline._sections._base import FigureSpec, Results, Section
from scclast._pipeline._text import as_float
from scclast.pl import _dotplot, _effects, _embedding, _forest, _heatmap
from scclast.tl._embedding import has_embedding

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

TABLE_COLUMNS = (
    "group",
    "n_cells",
    "lineage_state",
    "gene_set",
    "evidence",
    "fold_change",
    "pvalue",
    "fdr",
    "mc_pvalue",
    "samples_agree",
    "n_samples",
    "auroc",
    "nes",
    "drivers",
    "flagged",
    "call",
    "reasons",
)
"""Columns of the groups table shown in the report (all columns are in groups.tsv)."""


def analyse(
    adata: AnnData,
    *,
    groupby: str | None = None,
    sample_key: str | None = None,
    species: str = "auto",
    method: str = "seurat",
    gene_sets: str | Path | Sequence[str | Path] | Mapping[str, Iterable[str]] | None = None,
    osteomorph_signature: str | Path | None = None,
    fdr: float = 0.05,
    seed: int = 0,
    backed: bool = False,
    layer: str | None = None,
    use_raw: bool = False,
    key_added: str = DEFAULT_KEY,
) -> pd.DataFrame:
    """Score and flag: a thin call of :func:`scclast.tl.flag` (no statistics here).

    Before the (longer) analysis it checks that at least one gene of the gene sets is
    in the data, naming the species and the identifiers seen when none is.

    Parameters
    ----------
    groupby
        ``obs`` column of groups; ``None`` lets flagging build Leiden clusters.
    sample_key
        ``obs`` column of the biological replicate (as for :func:`scclast.tl.flag`).
    species, method, gene_sets, osteomorph_signature, fdr, seed, key_added
        As for :func:`scclast.tl.flag`; ``gene_sets=None`` uses its defaults.
    backed
        ``adata`` is backed: scoring reads the matrix from disk in row chunks.
    layer, use_raw
        The matrix to analyse (``X`` by default), as for :func:`scclast.tl.flag`.

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
    check_gene_coverage(adata, sets, species, layer=layer, use_raw=use_raw)
    started = time.perf_counter()
    log.info(
        "scoring and flagging on %s cells%s: %s can flag a group; lineage and reported "
        "sets are scored beside them ...",
        f"{adata.n_obs:,}",
        " (matrix read from disk in chunks)" if backed else "",
        _describe_sets(sets),
    )
    tl.flag(
        adata,
        groupby,
        sample_key=sample_key,
        gene_sets=sets,
        species=species,
        method=method,
        seed=seed,
        thresholds=tl.FlagThresholds(fdr=fdr),
        osteomorph_signature=None if osteomorph_signature is None else str(osteomorph_signature),
        layer=layer,
        use_raw=use_raw,
        key_added=key_added,
    )
    table = get.flag_table(adata, key_added)
    log.info("%s", sets_summary(adata, key_added))
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


_ROLES = (
    ("flag", "can flag a group"),
    ("descriptive", "descriptive (tested, never flag)"),
    ("inhibitory", "reported beside them"),
    ("machinery", "reported beside them"),
    ("lineage", "for the lineage calls"),
)


def sets_summary(adata: AnnData, key_added: str = DEFAULT_KEY) -> str:
    """One line saying which sets a flag scored, in which role, and which it could not.

    Its counts add up: every set of the flag record is in exactly one place.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> sets_summary(adata)  # doctest: +ELLIPSIS
    'scored ... gene set(s): 2 can flag a group (clastokines_secreted, clastokines_putative); ...'
    """
    records = Keys(key_added).record(adata, Step.FLAG).get("sets", {})
    groups: dict[str, list[str]] = {}
    unscored = []
    for name, entry in records.items():
        if not entry.get("scored", True):
            unscored.append(str(name))
            continue
        label = dict(_ROLES).get(str(entry.get("role")), "other")
        groups.setdefault(label, []).append(str(name))
    parts = [f"{len(names)} {label} ({', '.join(names)})" for label, names in groups.items()]
    text = f"scored {sum(map(len, groups.values()))} gene set(s): {'; '.join(parts)}"
    if unscored:
        text += f"; not scored (too few genes measured): {', '.join(unscored)}"
    return text


def _describe_sets(sets: Any) -> str:
    names = list(sets)
    return f"{len(names)} gene set(s) ({', '.join(map(str, names))})"


def _analyse_section(adata: AnnData, parameters: Mapping[str, Any], key_added: str) -> None:
    """The section's analysis, its options read from the run's parameters."""
    gene_sets = parameters.get("gene_sets", "default")
    analyse(
        adata,
        groupby=parameters.get("groupby"),
        sample_key=parameters.get("sample_key"),
        species=parameters.get("species", "auto"),
        method=parameters.get("method", "seurat"),
        gene_sets=None if gene_sets == "default" else gene_sets,
        osteomorph_signature=parameters.get("osteomorph_signature"),
        fdr=parameters.get("fdr", 0.05),
        seed=parameters.get("seed", 0),
        backed=bool(parameters.get("backed", False)),
        layer=parameters.get("layer"),
        use_raw=bool(parameters.get("use_raw", False)),
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
        skip_reason=lambda r: (
            None
            if has_embedding(r.adata)
            else "no embedding: none was stored and none computed (--no-embedding)"
        ),
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
    FigureSpec(
        name="forest",
        title=_forest.TITLE,
        caption=(
            "Each sample's (animal's) effect for the flagged groups and those closest to a "
            "flag: the normalised pseudobulk log2 fold change of the set's genes, group over "
            "the other osteoclast-lineage groups of the same sample (dot area: the group's "
            "cells), and the pooled estimate with its 95% interval over samples. Dashed: "
            "the 95th percentile of matched random gene sets; dotted: the fold change a flag "
            "needs."
        ),
        draw=lambda r: pl.forest(r.adata, key_added=r.key_added, return_fig=True),
        skip_reason=lambda r: _forest_skip(r),
    ),
)
"""The five figures of a run, in the report's order."""


def _forest_skip(results: Results) -> str | None:
    if results.adata is None:
        return None
    samples = get.sample_effects(results.adata, results.key_added)
    if samples.empty:
        return (
            "no per-sample effects: the run had no sample key (--sample-key COLUMN), or no "
            "group had cells in two or more samples"
        )
    return None


def _report(results: Results, figures: Mapping[str, str]) -> str:
    return "\n".join(
        (
            _answer_block(results),
            _figures_block(figures),
            _groups_block(results.table, _composition(results)),
        )
    )


CALIBRATED = (
    "What \u201ccalibrated\u201d means: each gene set is compared with random sets of genes "
    "matched on expression level and variability, so a group is flagged only when its "
    "clastokine genes rise more than such genes do between the same cells. With a sample "
    "column (animals, donors) the animals, not the cells, are what is counted and "
    "compared, so one animal cannot make a call on its own."
)
"""Two sentences a biologist can follow (also in README.md)."""


def _answer_block(results: Results) -> str:
    record = results.keys.record(results.adata, Step.FLAG) if results.adata is not None else {}
    table = results.table
    fdr = as_float(results.parameters.get("fdr", _threshold(record, "fdr", 0.05)), 0.05)
    min_fold = as_float(_threshold(record, "min_fold_change", 1.5), 1.5)
    verdict, groups = answer_sentences(table, fdr, min_fold)
    flagged = bool(table is not None and not table.empty and table["flagged"].astype(bool).any())
    parts = ['<section id="answer">', "<h2>Answer</h2>"]
    parts += _exploratory_banner(table, record)
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
    apart = macrophage_sentence(table)
    if apart:
        parts.append(f'<p class="note" id="macrophage-apart">{e(apart)}</p>')
    if not flagged and not groups and table is not None and not table.empty:
        parts.append(f"<p>{e(states_sentence(table))}</p>")
    message = str(record.get("message", "") or "")
    if message and message != "None":
        parts.append(f'<p class="note">{e(message)}</p>')
    parts.append(f'<p id="calibrated">{e(CALIBRATED)}</p>')
    parts.append(
        '<p class="note">How a flag is made: the group must be osteoclast-lineage (myeloid '
        "identity first, then precursor, osteoclast or osteomorph programmes; macrophage "
        "groups are reported apart); the set's genes must be at least "
        f"{min_fold:g}-fold those of the other osteoclast-lineage groups (normalised "
        "pseudobulk), significantly (Benjamini-Hochberg FDR "
        f"{fdr:g} over groups and sets; with 3 or more samples a paired test over samples, "
        "else a cell-level test and the flag is exploratory), more than matched random "
        "gene sets rise (Monte Carlo test against the control sets), in most samples, and "
        "without resting on a single factor of the set. Gene-set enrichment (gseapy, "
        "<code>nes</code>) is descriptive and never part of a flag.</p>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def _exploratory_banner(table: pd.DataFrame | None, record: Mapping[str, Any]) -> list[str]:
    """The label a run's flags carry when cells, not samples, were the unit of the test."""
    if table is None or table.empty or "evidence" not in table:
        return []
    evidence = table["evidence"].astype(str)
    flagged = table["flagged"].astype(bool)
    exploratory = evidence.str.startswith("exploratory")
    if not exploratory.any():
        return []
    note = str((record.get("replicates") or {}).get("note", "") or "")
    if (flagged & exploratory).any():
        head = "Exploratory (cells treated as independent): "
        text = (
            "the flags below were tested with cells, not biological replicates, as the unit; "
            "p-values from thousands of cells of a few animals overstate the evidence."
        )
    else:
        head = "Cells treated as independent: "
        text = "no group was flagged, and the tests were cell-level."
    style = "border-left-color:#E69F00;background:#FDF3E1"
    parts = [
        f'<p class="verdict exploratory" id="exploratory" style="{style}">'
        f"<strong>{e(head)}</strong>{e(text)}"
    ]
    if note:
        # the note repeats the label before its first colon; keep what follows
        detail = note.split(": ", 1)[-1]
        parts.append(f" Why: {e(detail)}.")
    parts.append("</p>")
    return ["".join(parts)]


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


def _groups_block(table: pd.DataFrame | None, composition: pd.DataFrame | None = None) -> str:
    parts = ['<section id="groups">', "<h2>Groups</h2>"]
    if table is None or table.empty:
        parts.append("<p>No group was tested.</p></section>")
        return "\n".join(parts)
    parts.append(
        '<p class="note">One row per group and gene set; flagged rows are highlighted. '
        "<code>evidence</code> says how a row was tested (replicated over samples, or "
        "exploratory with cells treated as independent; descriptive sets are never "
        "flagged); <code>fold_change</code> is the normalised pseudobulk fold change, "
        "<code>pvalue</code>/<code>fdr</code> the decision test and "
        "<code>mc_pvalue</code> the test against matched control gene sets; "
        "<code>auroc</code> and <code>nes</code> (gseapy prerank) are descriptive. "
        "All columns are in <code>groups.tsv</code>.</p>"
    )
    parts.append(table_markup(table, TABLE_COLUMNS, "groups-table", highlight="flagged"))
    if composition is not None and not composition.empty:
        parts.append("<h3>Cells per group and sample</h3>")
        parts.append(
            '<p class="note">Cells of each group in each sample, and their share of the '
            "sample's cells: a group made by one animal shows here.</p>"
        )
        parts.append(table_markup(composition, list(composition.columns), "composition-table"))
    return "\n".join(parts) + "</section>"


def _composition(results: Results) -> pd.DataFrame | None:
    """Groups x samples: ``n (share%)`` per cell (``None`` without a sample key)."""
    if results.adata is None:
        return None
    try:
        long = get.composition(results.adata, results.key_added)
    except ScclastInputError:
        return None
    if long.empty:
        return None
    long = long.assign(
        text=[
            f"{int(n)} ({share:.0%})"
            for n, share in zip(long["n_cells"], long["share"], strict=True)
        ]
    )
    wide = long.pivot(index="group", columns="sample", values="text")
    wide = wide.reindex(list(dict.fromkeys(long["group"])))
    return wide.reset_index().rename_axis(columns=None)


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


__all__ = [
    "FIGURES",
    "FLAGGING",
    "TABLE_COLUMNS",
    "analyse",
    "gene_sets_argument",
    "sets_summary",
]
