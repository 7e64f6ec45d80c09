"""The self-contained HTML report of a scclast run.

:func:`write_report` writes one HTML page that opens offline: figures are embedded as
base64 PNG, styles are inline, and nothing is loaded from the network (no scripts, no
web fonts). The page is the blocks of the run's sections in order (the first gives the
answer: which populations are candidate secretory osteoclast-lineage populations and
why), then what belongs to the whole run: warnings (gene-set coverage first), the
parameters, the versions of scclast, scanpy, anndata, gseapy and the catalogue, and the
input's fingerprint (path, shape, sha256). A section that does not apply says why in
its place.

Every piece of text taken from the data (group names, reasons, paths) is escaped.

Examples
--------
>>> import os, tempfile
>>> import pandas as pd
>>> t = pd.DataFrame({"group": ["a"], "n_cells": [50], "lineage_state": ["osteoclast"],
...                   "gene_set": ["s"], "auroc": [0.9], "fdr": [0.001],
...                   "flagged": [True], "reasons": ["flagged: AUROC 0.90"]})
>>> out = write_report(os.path.join(tempfile.mkdtemp(), "r.html"), Results(None, t), {})
>>> "Group a is a candidate" in out.read_text()
True
"""

from __future__ import annotations

import datetime as _dt
import itertools
import string
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from scclast import genesets
from scclast._keys import Step
from scclast._pipeline._html import e, figure_markup
from scclast._pipeline._sections import SECTIONS, Results, Section
from scclast._pipeline._text import plain
from scclast._provenance import package_versions

REPORTED_VERSIONS = ("scclast", "scanpy", "anndata", "gseapy", "numpy", "scipy", "pandas")
"""Packages whose versions the report lists (plus the catalogue version)."""

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


def write_report(
    path: str | Path,
    results: Results,
    figures: Mapping[str, str | Path],
    sections: Sequence[Section] = SECTIONS,
) -> Path:
    """Write the self-contained HTML report; returns its path.

    Parameters
    ----------
    path
        The ``.html`` file to write.
    results
        What the sections read: the annotated data (for the flagging record: FDR,
        message, versions), the flagging table, parameters, input fingerprint and
        warnings.
    figures
        ``{name: PNG path}`` of the figures drawn; each is embedded (base64) under
        ``id="fig-{name}"`` in its section's block, lettered in page order.
    sections
        The sections whose blocks make the page.
    """
    path = Path(path)
    path.write_text(render_html(results, figures, sections), encoding="utf-8")
    return path


def render_html(
    results: Results,
    figures: Mapping[str, str | Path],
    sections: Sequence[Section] = SECTIONS,
) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    title = f"scclast report: {_input_name(results.input_fingerprint)}"
    letters = _letters()
    body = [
        f"<header><h1>{e(title)}</h1>",
        f'<p class="sub">{e(_subtitle(results))}</p></header>',
    ]
    for section in sections:
        reason = section.skip_reason(results)
        if reason:
            body.append(_skipped(section, reason))
            continue
        markup = {
            spec.name: figure_markup(
                spec.name, spec.title, spec.caption, figures[spec.name], next(letters)
            )
            for spec in section.figures
            if spec.name in figures
        }
        body.append(section.report(results, markup))
    body += [
        _warnings_block(results.warnings),
        _parameters_block(results.parameters),
        _versions_block(),
        _input_block(results.input_fingerprint),
        _footer(),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _letters() -> Iterator[str]:
    """Figure letters in page order: a ... z, then aa, bb, ..."""
    for n in itertools.count():
        yield string.ascii_lowercase[n % 26] * (n // 26 + 1)


def _skipped(section: Section, reason: str) -> str:
    return (
        f'<section id="{e(section.name)}"><h2>{e(section.title)}</h2>'
        f'<p class="note">Not part of this run: {e(reason)}</p></section>'
    )


def _warnings_block(warnings: Sequence[str]) -> str:
    parts = ['<section id="warnings">', "<h2>Gene-set coverage warnings</h2>"]
    if warnings:
        parts.append('<ul class="warnings">')
        parts += [f"<li>{e(w)}</li>" for w in warnings]
        parts.append("</ul>")
    else:
        parts.append("<p>None: every gene set is well covered by the data.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _parameters_block(parameters: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(plain(v))}</td></tr>" for k, v in parameters.items())
    return (
        '<section id="parameters"><h2>Parameters</h2>'
        f'<table id="parameters-table">{rows}</table></section>'
    )


def _versions_block() -> str:
    rows = list(package_versions(REPORTED_VERSIONS).items())
    source = genesets.load().source
    rows.append(("gene-set catalogue", genesets.catalogue_version()))
    rows.append(
        ("catalogue source", f"{source.get('citation', '')} doi:{source.get('doi', '')}".strip())
    )
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return (
        '<section id="versions"><h2>Versions</h2>'
        f'<table id="versions-table">{body}</table></section>'
    )


def _input_block(input_fingerprint: Mapping[str, Any]) -> str:
    rows = []
    for key, value in input_fingerprint.items():
        shown = plain(value)
        if key == "shape" and isinstance(value, (list, tuple)) and len(value) == 2:
            shown = f"{int(value[0]):,} cells x {int(value[1]):,} genes"
        css = ' class="mono"' if key in ("sha256", "path") else ""
        rows.append(f"<tr><th>{e(key)}</th><td{css}>{e(shown)}</td></tr>")
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


def _input_name(input_fingerprint: Mapping[str, Any]) -> str:
    if input_fingerprint.get("dataset"):
        return f"dataset {input_fingerprint['dataset']}"
    path = input_fingerprint.get("path")
    if path:
        return Path(str(path)).name
    return str(input_fingerprint.get("source", "input"))


def _subtitle(results: Results) -> str:
    """``scclast VERSION · created``, from the flagging record (now when there is none)."""
    record = results.keys.record(results.adata, Step.FLAG) if results.adata is not None else {}
    created = record.get("created") or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    version = record.get("versions", {}).get("scclast", "")
    return f"scclast {version} · {created}".strip(" ·")


__all__ = ["REPORTED_VERSIONS", "render_html", "write_report"]
