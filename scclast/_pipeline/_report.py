"""The self-contained HTML report of a scclast run.

:func:`write_report` writes one HTML page that opens offline: figures are embedded as
base64 PNG, styles are inline, and nothing is loaded from the network (no scripts, no
web fonts). The page gives the answer first (which populations are candidate secretory
osteoclast-lineage populations and why, in plain sentences built from the flagging
table's ``reasons``), then the figures, the groups table, gene-set coverage warnings,
the parameters, the versions of scclast, scanpy, anndata, gseapy and the catalogue, and
the input's fingerprint (path, shape, sha256).

Every piece of text taken from the data (group names, reasons, paths) is escaped.

Examples
--------
>>> from scclast._pipeline._report import write_report
>>> write_report("report.html", adata, table, {"dotplot": "figures/dotplot.png"},
...              parameters={"fdr": 0.05}, input_fingerprint={"path": "x.h5ad"},
...              coverage_warnings=[])  # doctest: +SKIP
PosixPath('report.html')
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast._keys import Keys, Step

if TYPE_CHECKING:
    from anndata import AnnData

REPORTED_VERSIONS = ("scclast", "scanpy", "anndata", "gseapy", "numpy", "scipy", "pandas")
"""Packages whose versions the report lists (plus the catalogue version)."""

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

FIGURE_CAPTIONS = {
    "dotplot": (
        "Clastokine genes (rows, grouped by catalogue category; ▲ anabolic, ▼ inhibitory, "
        "◆ controversial effect on bone formation) by group (columns). Dot size: share of "
        "cells expressing the gene; colour: mean expression scaled across groups. Flagged "
        "groups are shaded and starred."
    ),
    "embedding": (
        "UMAP of all cells, coloured by group (left; the legend gives each group's "
        "lineage state) and by the calibrated clastokine score (right; z-score of each "
        "cell against matched control gene sets). Cells of flagged groups are outlined in "
        "black and labelled."
    ),
    "factor_heatmap": (
        "Coupling factors (rows) by group (columns): each factor's genes' mean expression, "
        "z-scored across groups and averaged. Flagged groups are boxed."
    ),
    "effect_sizes": (
        "Effect sizes per group and gene set: colour is the AUROC of the group's calibrated "
        "scores against the reference cells (0.5 = no difference), dot size the FDR. "
        "Rings mark flagged pairs."
    ),
}

_CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 0 auto;
  max-width: 1100px; padding: 1.5em; color: #1a1a1a; line-height: 1.45; }
h1 { margin-bottom: 0.1em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em;
  margin-top: 2em; }
.sub { color: #555; margin-top: 0; }
.verdict { font-size: 1.15em; padding: 0.8em 1em; border-left: 6px solid #0072B2;
  background: #eef5fb; }
.verdict.none { border-left-color: #999; background: #f4f4f4; }
.group { margin: 0.8em 0; } .why { margin: 0.2em 0 0 1.2em; }
.note { color: #555; font-size: 0.92em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto;
  border: 1px solid #ddd; }
figcaption { font-size: 0.92em; color: #333; margin-top: 0.3em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left;
  vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
tr.flagged td { background: #fff1c2; font-weight: bold; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { max-height: 32em; overflow: auto; border: 1px solid #ddd; }
code, .mono { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.9em;
  word-break: break-all; }
ul.warnings li { margin: 0.2em 0; }
"""


# --------------------------------------------------------------------------- public API


def write_report(
    path: str | Path,
    adata: Any,
    table: pd.DataFrame,
    figures: Mapping[str, str | Path],
    parameters: Mapping[str, Any],
    input_fingerprint: Mapping[str, Any],
    coverage_warnings: Sequence[str] = (),
) -> Path:
    """Write the self-contained HTML report; returns its path.

    Parameters
    ----------
    path
        The ``.html`` file to write.
    adata
        The annotated data (for the flagging record: FDR, groupby, message, versions).
    table
        The flagging table (one row per group and gene set).
    figures
        ``{name: PNG path}``; each is embedded (base64) under ``id="fig-{name}"``.
    parameters
        The run's parameters, listed as given.
    input_fingerprint
        ``path``, ``shape``, ``sha256`` (and anything else) of the input.
    coverage_warnings
        Plain-text warnings about gene sets poorly covered by the data.

    Examples
    --------
    >>> import tempfile, os
    >>> t = pd.DataFrame({"group": ["a"], "n_cells": [50], "lineage_state": ["osteoclast"],
    ...                   "gene_set": ["s"], "auroc": [0.9], "fdr": [0.001],
    ...                   "flagged": [True], "reasons": ["flagged: AUROC 0.90"]})
    >>> out = write_report(os.path.join(tempfile.mkdtemp(), "r.html"), None, t, {}, {}, {})
    >>> "a" in out.read_text()
    True
    """
    path = Path(path)
    text = render_html(adata, table, figures, parameters, input_fingerprint, coverage_warnings)
    path.write_text(text, encoding="utf-8")
    return path


def render_html(
    adata: Any,
    table: pd.DataFrame,
    figures: Mapping[str, str | Path],
    parameters: Mapping[str, Any],
    input_fingerprint: Mapping[str, Any],
    coverage_warnings: Sequence[str] = (),
) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    flag_record = _flag_record(adata)
    title = f"scclast report: {_input_name(input_fingerprint)}"
    body = [
        f"<header><h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(_subtitle(flag_record))}</p></header>',
        _answer_section(table, flag_record, parameters),
        _figures_section(figures),
        _table_section(table),
        _warnings_section(coverage_warnings),
        _parameters_section(parameters),
        _versions_section(flag_record),
        _input_section(input_fingerprint),
        _footer(),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def answer_sentences(
    table: pd.DataFrame,
    fdr: float = 0.05,
    min_auroc: float = 0.6,
    max_near_misses: int = 3,
) -> tuple[str, list[tuple[str, list[str]]]]:
    """The report's answer: a verdict and, per group, plain sentences.

    Sentences are built from the table's columns (AUROC, FDR, reference, leave-one-out,
    drivers); the row's ``reasons`` closes each group's paragraph. Returns
    ``(verdict, [(group, [sentences])])``: the flagged groups when there are any, else
    the closest osteoclast-lineage candidates and why they fell short.

    Parameters
    ----------
    table
        The flagging table.
    fdr, min_auroc
        The thresholds of a flag (used to say which one a group missed).
    max_near_misses
        How many unflagged candidates to explain when nothing is flagged.

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
    if table is None or table.empty:
        return "No group could be tested.", []
    frame = table.assign(group=table["group"].astype(str))
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
                f"Groups {_and(hits)} are candidate secretory osteoclast-lineage "
                f"populations ({len(hits)} of {total})."
            )
        return verdict, [(g, _flagged_sentences(frame[frame["group"] == g])) for g in hits]
    verdict = (
        f"No population was flagged: none of the {total} is a candidate secretory "
        f"osteoclast-lineage population at FDR {fdr:g}."
    )
    near = _near_misses(frame, max_near_misses)
    explained = [
        (g, _unflagged_sentences(frame[frame["group"] == g], fdr, min_auroc)) for g in near
    ]
    return verdict, explained


# --------------------------------------------------------------------------- sections


def _answer_section(
    table: pd.DataFrame, flag_record: Mapping[str, Any], parameters: Mapping[str, Any]
) -> str:
    fdr = _as_float(parameters.get("fdr", _param(flag_record, "fdr", 0.05)), 0.05)
    min_auroc = _as_float(_param(flag_record, "min_auroc", 0.6), 0.6)
    verdict, groups = answer_sentences(table, fdr, min_auroc)
    flagged = bool(table is not None and not table.empty and table["flagged"].astype(bool).any())
    parts = ['<section id="answer">', "<h2>Answer</h2>"]
    parts.append(f'<p class="verdict{"" if flagged else " none"}">{_e(verdict)}</p>')
    if groups:
        if not flagged:
            parts.append(
                "<p>The closest osteoclast-lineage candidates, and why they fell short:</p>"
            )
        for group, sentences in groups:
            parts.append(f'<div class="group" data-group="{_e(group)}">')
            parts.append(f"<p><strong>{_e(sentences[0])}</strong></p>")
            body = [s for s in sentences[1:] if not s.startswith("In the table: ")]
            table_line = [s for s in sentences[1:] if s.startswith("In the table: ")]
            if body:
                parts.append(f'<p class="why">{_e(" ".join(body))}</p>')
            for line in table_line:
                parts.append(f'<p class="why note">{_e(line)}</p>')
            parts.append("</div>")
    if not flagged and not groups and table is not None and not table.empty:
        parts.append(f"<p>{_e(_states_sentence(table))}</p>")
    message = str(flag_record.get("message", "") or "")
    if message and message != "None":
        parts.append(f'<p class="note">{_e(message)}</p>')
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


def _figures_section(figures: Mapping[str, str | Path]) -> str:
    from scclast.pl._figures import FIGURE_TITLES

    parts = ['<section id="figures">', "<h2>Figures</h2>"]
    for letter, (name, png) in zip("abcdefghij", figures.items(), strict=False):
        title = FIGURE_TITLES.get(name, name.replace("_", " "))
        caption = FIGURE_CAPTIONS.get(name, "")
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        parts.append(
            f'<figure id="fig-{_e(name)}">'
            f'<img id="img-{_e(name)}" alt="Figure {letter}: {_e(title)}" '
            f'src="data:image/png;base64,{data}">'
            f"<figcaption><strong>({letter}) {_e(title)}.</strong> {_e(caption)} "
            f'<span class="note">Also as <code>figures/{_e(name)}.png</code> and '
            f"<code>figures/{_e(name)}.pdf</code>.</span></figcaption></figure>"
        )
    if not figures:
        parts.append("<p>No figures were drawn.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _table_section(table: pd.DataFrame) -> str:
    parts = ['<section id="groups">', "<h2>Groups</h2>"]
    if table is None or table.empty:
        parts.append("<p>No group was tested.</p></section>")
        return "\n".join(parts)
    columns = [c for c in TABLE_COLUMNS if c in table.columns]
    parts.append(
        '<p class="note">One row per group and gene set; flagged rows are highlighted. '
        "All columns are in <code>groups.tsv</code>.</p>"
    )
    parts.append('<div class="scroll"><table id="groups-table">')
    parts.append("<thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr></thead>")
    parts.append("<tbody>")
    for _, row in table.iterrows():
        css = ' class="flagged"' if bool(row.get("flagged", False)) else ""
        cells = []
        for column in columns:
            value = row[column]
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f"<td{' class=num' if numeric else ''}>{_e(_format(column, value))}</td>")
        parts.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div></section>")
    return "\n".join(parts)


def _warnings_section(warnings: Sequence[str]) -> str:
    parts = ['<section id="warnings">', "<h2>Gene-set coverage warnings</h2>"]
    if warnings:
        parts.append('<ul class="warnings">')
        parts += [f"<li>{_e(w)}</li>" for w in warnings]
        parts.append("</ul>")
    else:
        parts.append("<p>None: every gene set is well covered by the data.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _parameters_section(parameters: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(_plain(v))}</td></tr>" for k, v in parameters.items()
    )
    return (
        '<section id="parameters"><h2>Parameters</h2>'
        f'<table id="parameters-table">{rows}</table></section>'
    )


def _versions_section(flag_record: Mapping[str, Any]) -> str:
    from scclast._provenance import package_versions
    from scclast.genesets import catalogue_version, load

    versions = package_versions(REPORTED_VERSIONS)
    catalogue = load()
    source = catalogue.source
    rows = [(name, version) for name, version in versions.items()]
    rows.append(("gene-set catalogue", catalogue_version()))
    rows.append(
        (
            "catalogue source",
            f"{source.get('citation', '')} doi:{source.get('doi', '')}".strip(),
        )
    )
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return (
        '<section id="versions"><h2>Versions</h2>'
        f'<table id="versions-table">{body}</table></section>'
    )


def _input_section(input_fingerprint: Mapping[str, Any]) -> str:
    rows = []
    for key, value in input_fingerprint.items():
        shown = _plain(value)
        if key == "shape" and isinstance(value, (list, tuple)) and len(value) == 2:
            shown = f"{int(value[0]):,} cells x {int(value[1]):,} genes"
        css = ' class="mono"' if key in ("sha256", "path") else ""
        rows.append(f"<tr><th>{_e(key)}</th><td{css}>{_e(shown)}</td></tr>")
    return (
        '<section id="input"><h2>Input</h2>'
        f'<table id="input-table">{"".join(rows)}</table>'
        '<p class="note">The input file is read only; its sha256 identifies the exact file '
        "analysed.</p></section>"
    )


def _footer() -> str:
    return (
        '<footer><p class="note">Made by scclast. The clastokine catalogue follows Daponte, '
        "Henke &amp; Drissi (2024), eLife 13:e95083, doi:10.7554/eLife.95083. This page is "
        "self-contained: it loads nothing from the network.</p></footer>"
    )


# --------------------------------------------------------------------------- sentences


def _flagged_sentences(rows: pd.DataFrame) -> list[str]:
    first = rows.iloc[0]
    hits = _records(rows[rows["flagged"].astype(bool)])
    sentences = [f"{_who(first)} is flagged for {_and([h['gene_set'] for h in hits])}."]
    for row in hits:
        sentences += _evidence(row)
        sentences += _robustness(row)
        drivers = _plain(row.get("drivers"))
        if drivers:
            sentences.append(f"The genes carrying the {row['gene_set']} signal most: {drivers}.")
        side = _context(row)
        if side:
            sentences.append(side)
        if _plain(row.get("reasons")):
            sentences.append(f"In the table: {_plain(row.get('reasons'))}")
    return sentences


def _unflagged_sentences(rows: pd.DataFrame, fdr: float, min_auroc: float) -> list[str]:
    first = rows.iloc[0]
    ranked = rows.assign(_a=pd.to_numeric(rows["auroc"], errors="coerce"))
    best = dict(ranked.sort_values("_a", ascending=False, na_position="last").iloc[0])
    sentences = [f"{_who(first)} is not flagged."]
    auroc, q = _number(best.get("auroc")), _number(best.get("fdr"))
    name, reference = best["gene_set"], _plain(best.get("reference")) or "the reference cells"
    if auroc is None or q is None:
        sentences.append(f"Its {name} scores could not be tested.")
    elif auroc >= min_auroc and q <= fdr:
        sentences.append(
            f"Its {name} scores are higher than those of the {reference} (AUROC {auroc:.2f}, "
            f"FDR {_p(q)}), but the call did not hold up (see below)."
        )
    elif q <= fdr:
        sentences.append(
            f"Its {name} scores are significantly higher than those of the {reference} "
            f"(FDR {_p(q)}), but the difference is small: AUROC {auroc:.2f}, below the "
            f"{min_auroc:g} required."
        )
    elif auroc >= min_auroc:
        sentences.append(
            f"Its {name} scores tend to be higher than those of the {reference} (AUROC "
            f"{auroc:.2f}), but not significantly (FDR {_p(q)} > {fdr:g})."
        )
    else:
        sentences.append(
            f"Its {name} scores are not higher than those of the {reference} (AUROC "
            f"{auroc:.2f}, FDR {_p(q)})."
        )
    if _plain(best.get("reasons")):
        sentences.append(f"In the table: {_plain(best.get('reasons'))}")
    return sentences


def _states_sentence(table: pd.DataFrame) -> str:
    """Why nothing could be flagged when no group is osteoclast-lineage."""
    per_group = table.drop_duplicates("group")[["group", "lineage_state"]].astype(str)
    by_state = per_group.groupby("lineage_state", sort=False)["group"].apply(list)
    described = "; ".join(f"{state}: {_and(groups)}" for state, groups in by_state.items())
    return (
        "No group is osteoclast-lineage (macrophage, osteoclast precursor, osteoclast or "
        f"osteomorph), so none can be a candidate. Lineage states: {described}."
    )


def _evidence(row: Mapping[str, Any]) -> list[str]:
    auroc, q = _number(row.get("auroc")), _number(row.get("fdr"))
    if auroc is None:
        return []
    reference = _plain(row.get("reference")) or "the reference cells"
    return [
        f"Its cells' calibrated {row['gene_set']} scores are higher than those of the "
        f"{reference}: a random cell of group {row['group']} outscores a random reference "
        f"cell {auroc:.0%} of the time (AUROC {auroc:.2f}"
        + (f", FDR {_p(q)})." if q is not None else ").")
    ]


def _robustness(row: Mapping[str, Any]) -> list[str]:
    weakest = _number(row.get("loo_min_auroc"))
    factor = _plain(row.get("loo_weakest"))
    if weakest is None or not factor:
        return []
    return [
        f"The signal does not rest on a single factor: without its weakest link "
        f"({_factor_name(factor)}) the AUROC is still {weakest:.2f}."
    ]


def _context(row: Mapping[str, Any]) -> str:
    parts = []
    machinery = _number(row.get("machinery_auroc"))
    if machinery is not None:
        parts.append(f"secretory machinery AUROC {machinery:.2f}")
    inhibitory = _number(row.get("inhibitory_auroc"))
    if inhibitory is not None:
        parts.append(f"inhibitory coupling factors AUROC {inhibitory:.2f}")
    if not parts:
        return ""
    return "Reported alongside, never counted in the flag: " + "; ".join(parts) + "."


def _factor_name(factor_id: str) -> str:
    from scclast.genesets import load

    factor = load().factors.get(factor_id)
    return factor.abbreviation if factor is not None else factor_id


def _and(items: Sequence[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _near_misses(frame: pd.DataFrame, limit: int) -> list[str]:
    pool = frame[~frame["lineage_state"].astype(str).str.startswith(_NOT_CANDIDATE)]
    best = (
        pool.assign(_auroc=pd.to_numeric(pool["auroc"], errors="coerce"))
        .groupby("group", sort=False)["_auroc"]
        .max()
        .sort_values(ascending=False, na_position="last")
    )
    return [str(g) for g in best.index[:limit]]


_NOT_CANDIDATE = ("non-lineage", "myeloid (no", "undetermined")


def _who(row: Any) -> str:
    n_cells = row.get("n_cells")
    size = f"{int(n_cells):,} cells; " if _is_number(n_cells) else ""
    state = _plain(row.get("lineage_state", "")) or "unknown"
    return f"Group {row['group']} ({size}lineage state: {state})"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(r) for r in frame.to_dict(orient="records")]


# --------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set)) or (
        hasattr(value, "tolist") and not isinstance(value, (str, bytes))
    ):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        if not isinstance(items, list):
            return str(items)
        return ", ".join(map(str, items))
    return str(value)


def _format(column: str, value: Any) -> str:
    if isinstance(value, (bool,)) or column == "flagged":
        return "yes" if bool(value) else "no"
    if not _is_number(value):
        return _plain(value)
    number = float(value)
    if column in ("pvalue", "fdr") or column.endswith(("_pvalue", "_fdr")):
        return _p(number)
    if column == "n_cells":
        return f"{int(number):,}"
    return f"{number:.3f}"


def _p(value: float) -> str:
    if math.isnan(value):
        return ""
    if value == 0:
        return "0"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3g}"


def _is_number(value: Any) -> bool:
    try:
        return (
            value is not None
            and not isinstance(value, (str, bool))
            and not math.isnan(float(value))
        )
    except (TypeError, ValueError):
        return False


def _as_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _input_name(input_fingerprint: Mapping[str, Any]) -> str:
    if input_fingerprint.get("dataset"):
        return f"dataset {input_fingerprint['dataset']}"
    path = input_fingerprint.get("path")
    if path:
        return Path(str(path)).name
    return str(input_fingerprint.get("source", "input"))


def _subtitle(flag_record: Mapping[str, Any]) -> str:
    created = flag_record.get("created") or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    version = flag_record.get("versions", {}).get("scclast", "")
    return f"scclast {version} · {created}".strip(" ·")


def _flag_record(adata: AnnData | None) -> Mapping[str, Any]:
    return Keys().record(adata, Step.FLAG) if adata is not None else {}


def _param(record: Mapping[str, Any], key: str, default: Any) -> Any:
    """A flag parameter, also from inside its ``thresholds`` record."""
    parameters = record.get("parameters", {})
    if key in parameters:
        return parameters[key]
    thresholds = parameters.get("thresholds", {})
    return thresholds.get(key, default) if isinstance(thresholds, Mapping) else default


def embedded_images(text: str) -> Iterable[str]:
    """``id`` of every embedded ``<img>`` in a report (for tests and checks).

    Examples
    --------
    >>> list(embedded_images('<img id="img-a" src="data:image/png;base64,AAA">'))
    ['img-a']
    """
    from html.parser import HTMLParser

    found: list[str] = []

    class _Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if tag == "img" and str(values.get("src", "")).startswith("data:image/png;base64,"):
                found.append(str(values.get("id", "")))

    _Images().feed(text)
    return found


__all__ = [
    "FIGURE_CAPTIONS",
    "REPORTED_VERSIONS",
    "TABLE_COLUMNS",
    "answer_sentences",
    "embedded_images",
    "render_html",
    "write_report",
]
