"""What a section of a run declares, and the results every section reads.

A :class:`Section` is one analysis carried by ``scclast run``: how it analyses the
data, the tables it writes into OUTDIR, its figures (each with a title and a caption)
and its block of the report. The pipeline only iterates over the registered sections
(:data:`scclast._pipeline._sections.SECTIONS`); nothing in ``_run``, ``_outputs`` or
``_report`` names a particular analysis.

Examples
--------
>>> import pandas as pd
>>> results = Results(adata=None, table=pd.DataFrame({"group": ["a"], "flagged": [True]}))
>>> results.keys.flagged
'scclast_flagged'
>>> section = Section(
...     name="demo", title="Demo", files=("demo.tsv",),
...     tables=lambda r: {"demo.tsv": r.table},
...     report=lambda r, figures: "<section id='demo'></section>")
>>> list(section.tables(results)), section.skip_reason(results) is None
(['demo.tsv'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast._keys import DEFAULT_KEY, Keys

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Results:
    """What the sections of a run read once the analyses are done.

    Attributes
    ----------
    adata
        The analysed AnnData (``None`` only when a report is rendered from tables alone).
    table
        The flagging table, the result every later analysis builds on (its senders,
        its lineage groups).
    key_added
        The ``key_added`` of the analyses.
    parameters
        The run's parameters, as ``run.json`` records them; also what the sections'
        ``analyse`` read their options from.
    input_fingerprint
        Path, shape and sha256 of the input.
    warnings
        The user-facing warnings of the run (coverage notes first).
    """

    adata: AnnData | None
    table: pd.DataFrame
    key_added: str = DEFAULT_KEY
    parameters: Mapping[str, Any] = field(default_factory=dict)
    input_fingerprint: Mapping[str, Any] = field(default_factory=dict)
    warnings: Sequence[str] = ()

    @property
    def keys(self) -> Keys:
        """The ``obs``/``uns`` names of the analyses."""
        return Keys(self.key_added)


@dataclass(frozen=True)
class FigureSpec:
    """One figure of a section: ``figures/{name}.png|pdf`` and ``id="fig-{name}"``.

    Attributes
    ----------
    name
        File stem and report anchor; unique over all sections.
    title
        Shown in the report's caption (the figure draws its own title).
    caption
        What the figure shows, in plain words, under it in the report.
    draw
        Draws the figure from the results and returns it (drawn in matplotlib's default
        style, saved by the pipeline).
    skip_reason
        ``results -> str | None``: one line saying why the figure cannot be drawn for
        this run (e.g. no embedding), else ``None``; the pipeline then shows the reason
        in its place.
    """

    name: str
    title: str
    caption: str
    draw: Callable[[Results], Figure]
    skip_reason: Callable[[Results], str | None] = field(default=lambda results: None)


def _never_skipped(results: Results) -> str | None:
    return None


def _nothing_to_analyse(adata: AnnData, parameters: Mapping[str, Any], key_added: str) -> None:
    return None


def _nothing_to_check(adata: AnnData, parameters: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class Section:
    """One analysis of a run, declared once; the pipeline does the rest.

    Attributes
    ----------
    name
        Short name (logs; the ``id`` of its block when skipped).
    title
        Heading of its report block.
    files
        Names of the tables it writes into OUTDIR, in order.
    tables
        ``results -> {file name: DataFrame}`` for the names in ``files`` (``.tsv``:
        plain TSV; ``.tsv.gz``: gzipped without a timestamp).
    report
        ``(results, figures) -> HTML``: its block(s) of the report; ``figures`` maps
        each of its figure names to the ``<figure>`` markup, already lettered.
    figures
        Its figures, in the order the report shows them.
    analyse
        ``(adata, parameters, key_added) -> None``: runs its analysis, writing into
        ``adata``; called by :func:`scclast.run` after the sections before it.
    skip_reason
        ``results -> str | None``: one line saying why the section does not apply to
        this data (it then writes no table and no figure), else ``None``.
    check
        ``(adata, parameters) -> None``: the section's cheap input checks (columns,
        design), run by :func:`scclast.run` before any analysis, so that a setting that
        cannot work fails in seconds with one line (``ScclastInputError``), not after
        the expensive steps.
    """

    name: str
    title: str
    files: tuple[str, ...]
    tables: Callable[[Results], Mapping[str, pd.DataFrame]]
    report: Callable[[Results, Mapping[str, str]], str]
    figures: tuple[FigureSpec, ...] = ()
    analyse: Callable[[AnnData, Mapping[str, Any], str], None] = _nothing_to_analyse
    skip_reason: Callable[[Results], str | None] = _never_skipped
    check: Callable[[AnnData, Mapping[str, Any]], None] = _nothing_to_check


__all__ = ["FigureSpec", "Results", "Section"]
