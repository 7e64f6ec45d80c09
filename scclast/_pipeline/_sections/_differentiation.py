"""The differentiation section: when along macrophage -> osteoclast does each factor change?

After flagging, :func:`scclast.tl.pseudotime` orders the osteoclast-lineage cells
(diffusion pseudotime rooted in the macrophage state; ``--pseudotime-key COL`` uses a
pseudotime the user computed instead) and :func:`scclast.tl.trajectory` tests every
coupling factor and gene set for change along it (spline F test, permutations within
samples when the run has ``--sample-key``). The section writes ``trajectory.tsv``, draws
:func:`scclast.pl.trajectory` and says in sentences which factors peak early, in the
middle, late or not at all, set against the phases the review's Figure 4 gives them.
Data with too few lineage cells (or a single lineage state) skip it with the reason.

Examples
--------
>>> DIFFERENTIATION.skip_reason(Results(adata=None, table=None))
'no analysed data to order'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import get, pl, tl
from scclast._errors import ScclastInputError
from scclast._keys import Keys, Step
from scclast._pipeline._html import e, table_markup
from scclast._pipeline._sections._base import FigureSpec, Results, Section
from scclast._pipeline._text import and_join, as_float
from scclast.pl import _trajectory as _figure

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

NAME = "differentiation"

TABLE_COLUMNS = (
    "feature",
    "kind",
    "label",
    "phase",
    "effect",
    "genes_measured",
    "amplitude",
    "pvalue",
    "fdr",
    "peak_order",
    "peak_state",
    "peak",
    "direction",
)
"""Columns of trajectory.tsv shown in the report (all are in the file)."""

_MARK = {"anabolic": "▲", "inhibitory": "▼", "controversial": "◆"}

LIMITS = (
    "Pseudotime is an order, not a clock: it ranks cells by transcriptional similarity "
    "from the macrophage root, so 'early' and 'late' are positions among the cells "
    "analysed, not times, and a state that is sampled densely takes up more of the axis. "
    "Cells are the observations of the test; with a sample key the permutations keep each "
    "sample's cells together, without one they treat cells as exchangeable (exploratory). "
    "A transcript that changes along the axis says when a cell could make the factor, not "
    "when it is secreted or active."
)


def _given(value: Any) -> bool:
    """A set option (the workflow hands unset ones back as the text "None")."""
    return value is not None and str(value) not in ("", "None")


def _analyse(adata: AnnData, parameters: Mapping[str, Any], key_added: str) -> None:
    """Pseudotime (unless given), then the trajectory test; a data problem skips it."""
    keys = Keys(key_added)
    pseudotime = parameters.get("pseudotime_key")
    sample_key = parameters.get("sample_key")
    matrix = {
        "layer": parameters.get("layer") if _given(parameters.get("layer")) else None,
        "use_raw": bool(parameters.get("use_raw", False)),
    }
    seed = int(parameters.get("seed", 0) or 0)
    try:
        if not _given(pseudotime):
            tl.pseudotime(adata, seed=seed, key_added=key_added, **matrix)
            pseudotime = None
        tl.trajectory(
            adata,
            pseudotime=str(pseudotime) if pseudotime else None,
            sample_key=str(sample_key) if _given(sample_key) else None,
            species=str(parameters.get("species", "auto")),
            n_permutations=int(parameters.get("trajectory_permutations") or 1000),
            fdr=as_float(parameters.get("fdr", 0.05), 0.05),
            seed=seed,
            key_added=key_added,
            **matrix,
        )
    except ScclastInputError as err:
        if _given(pseudotime) or (_given(sample_key) and str(sample_key) in str(err)):
            raise  # the user named a column that cannot be used: say so, stop
        log.info("differentiation: skipped: %s", err)
        keys.store(adata, Step.TRAJECTORY, {"skipped": str(err)})


def _skip_reason(results: Results) -> str | None:
    if results.adata is None:
        return "no analysed data to order"
    record = results.keys.record(results.adata, Step.TRAJECTORY)
    if not record:
        return "the differentiation analysis did not run"
    if "skipped" in record:
        return str(record["skipped"])
    return None


def _tables(results: Results) -> dict[str, pd.DataFrame]:
    return {"trajectory.tsv": get.trajectory_table(results.adata, results.key_added)}


def _report(results: Results, figures: Mapping[str, str]) -> str:
    adata, keys = results.adata, results.keys
    table = get.trajectory_table(adata, results.key_added)
    record = keys.record(adata, Step.TRAJECTORY)
    fdr = as_float(record.get("parameters", {}).get("fdr", 0.05), 0.05)
    parts = [f'<section id="{NAME}">', "<h2>When in differentiation</h2>"]
    parts.append(f"<p>{e(axis_sentence(adata, results.key_added))}</p>")
    for sentence in peak_sentences(table, fdr):
        parts.append(f"<p>{e(sentence)}</p>")
    phase_text = phase_sentences(table)
    if phase_text:
        parts.append(f"<p>{e(' '.join(phase_text))}</p>")
    spans = pd.DataFrame(record.get("flagged_spans", pd.DataFrame()))
    if not spans.empty:
        parts.append(f"<p>{e(span_sentence(spans))}</p>")
    parts.extend(figures.values())
    parts.append(f'<p class="note">{e(LIMITS)}</p>')
    parts.append(
        '<p class="note">One row per coupling factor, gene set and lineage programme; rows '
        "that change along the axis are highlighted. All columns are in "
        "<code>trajectory.tsv</code>; the per-cell pseudotime is in "
        "<code>scores.tsv.gz</code> and <code>annotated.h5ad</code>.</p>"
    )
    parts.append(table_markup(table, TABLE_COLUMNS, "trajectory-table", highlight="significant"))
    parts.append("</section>")
    return "\n".join(parts)


def axis_sentence(adata: AnnData, key_added: str) -> str:
    """How the axis was built, on how many cells, and how well it follows the states."""
    keys = Keys(key_added)
    trajectory = keys.record(adata, Step.TRAJECTORY)
    parameters = trajectory.get("parameters", {})
    column = str(parameters.get("pseudotime", keys.pseudotime))
    n_cells = int(trajectory.get("n_cells", 0))
    n_samples = int(trajectory.get("n_samples", 1))
    permutations = int(parameters.get("n_permutations", 0))
    sample_key = parameters.get("sample_key")
    pseudotime = keys.record(adata, Step.PSEUDOTIME)
    if pseudotime and column == keys.pseudotime:
        states = [str(s).replace("_", " ") for s in pseudotime.get("states", [])]
        root = str(pseudotime.get("root_state_used", "macrophage")).replace("_", " ")
        text = (
            f"Diffusion pseudotime (scanpy) orders {n_cells:,} osteoclast-lineage cells "
            f"({and_join(states)}), rooted in {'an' if root[0] in 'aeiou' else 'a'} {root} cell"
        )
        text += (
            "." if root == "macrophage" else " (no macrophage cells: the earliest state present)."
        )
        rho = as_float(pseudotime.get("state_order_rho"), float("nan"))
        if rho == rho:
            text += (
                f" Its order agrees with the lineage calls' state order with Spearman rho = "
                f"{rho:.2f} (1 would be a perfect macrophage-to-osteoclast order)."
            )
        caution = str(pseudotime.get("warning", "") or "")
        if caution and caution != "None":
            text += " Caution: " + caution.removeprefix("pseudotime: ") + "."
    else:
        text = f"The pseudotime given in obs[{column!r}] orders {n_cells:,} cells."
    if sample_key not in (None, "None"):
        text += (
            f" Each factor was tested with a spline along the order, one level per sample "
            f"({n_samples} samples of {sample_key!r}), and {permutations:,} permutations of "
            "the order within samples."
        )
    else:
        text += (
            f" Each factor was tested with a spline along the order and {permutations:,} "
            "permutations of it; without a sample key the cells are treated as independent "
            "(exploratory: pass --sample-key)."
        )
    return text


def peak_sentences(table: pd.DataFrame, fdr: float) -> list[str]:
    """Which factors peak early, in the middle, late, or do not change.

    Examples
    --------
    >>> t = pd.DataFrame({"kind": ["factor"] * 3, "label": ["C3a", "SLIT3", "HGF"],
    ...     "effect": ["anabolic"] * 3, "phase": ["initiation", "transition", "not placed"],
    ...     "peak": ["early", "late", "none"], "direction": ["falling", "rising", "rising"],
    ...     "fdr": [0.001, 0.002, 0.6], "significant": [True, True, False]})
    >>> peak_sentences(t, 0.05)[:2]  # doctest: +NORMALIZE_WHITESPACE
    ['Peak early along the axis (FDR ≤ 0.05): C3a ▲ (falling).',
     'Peak late: SLIT3 ▲ (rising).']
    """
    factors = table[table["kind"] == "factor"]
    sentences = []
    first = True
    for peak, words in (("early", "Peak early"), ("middle", "Peak in the middle"),
                        ("late", "Peak late")):  # fmt: skip
        rows = factors[factors["peak"] == peak]
        if rows.empty:
            continue
        listed = and_join([f"{_named(r)} ({r.direction})" for r in rows.itertuples()])
        lead = f"{words} along the axis (FDR ≤ {fdr:g})" if first else words
        sentences.append(f"{lead}: {listed}.")
        first = False
    flat = factors[factors["peak"] == "none"]
    if not flat.empty:
        listed = and_join([_named(r) for r in flat.itertuples()])
        sentences.append(f"No change along the axis (FDR > {fdr:g}): {listed}.")
    unmeasured = factors[factors["peak"] == "not measured"]
    if not unmeasured.empty:
        sentences.append(
            f"Not measured (no gene detected in these cells): "
            f"{and_join([_named(r) for r in unmeasured.itertuples()])}."
        )
    if factors.empty or factors["peak"].isin(("none", "not measured")).all():
        sentences.insert(0, "No coupling factor changes along the axis.")
    return sentences


def phase_sentences(table: pd.DataFrame) -> list[str]:
    """Each Figure 4 phase against where its changing factors peak here (no test).

    Examples
    --------
    >>> t = pd.DataFrame({"kind": ["factor"] * 2, "label": ["C3a", "SEMA4D"],
    ...     "effect": ["anabolic", "inhibitory"], "phase": ["initiation"] * 2,
    ...     "peak": ["late", "early"], "significant": [True, True]})
    >>> phase_sentences(t)[0].split("; ")[1]
    'here C3a ▲ peaks late and SEMA4D ▼ early.'
    """
    factors = table[(table["kind"] == "factor") & table["significant"]]
    out = []
    for phase, expected in (("initiation", "early"), ("transition", "middle or late")):
        rows = factors[factors["phase"].astype(str).str.contains(phase)]
        if rows.empty:
            continue
        named = [_named(r) for r in rows.itertuples()]
        peaks = [f"{named[0]} peaks {rows['peak'].iloc[0]}"]
        peaks += [
            f"{name} {peak}" for name, peak in zip(named[1:], rows["peak"].iloc[1:], strict=True)
        ]
        out.append(
            f"Figure 4 places {and_join(named)} in {phase} (expected {expected}); "
            f"here {and_join(peaks)}."
        )
    return out


def span_sentence(spans: pd.DataFrame) -> str:
    """Where the flagged groups sit along the axis."""
    parts = [
        f"group {r.group} from {float(r.low):.2f} to {float(r.high):.2f} "
        f"(median {float(r.median):.2f})"
        for r in spans.itertuples()
    ]
    return (
        "Flagged groups along the order (5th to 95th percentile of their cells; 0 = root, "
        f"1 = most mature; shaded in the figure): {and_join(parts)}."
    )


def _named(row: Any) -> str:
    return f"{row.label} {_MARK.get(str(row.effect), '')}".strip()


FIGURES = (
    FigureSpec(
        name="trajectory",
        title=_figure.TITLE,
        caption=(
            "Fitted level (standardised) of each coupling factor along the order of the "
            "osteoclast-lineage cells on the pseudotime (0 = macrophage root, 1 = most "
            "mature), in panels by the Figure 4 phase the review gives it (rows) and by its "
            "effect on bone formation (▲ anabolic and ◆ controversial left, ▼ inhibitory "
            "right). Solid lines change along the axis (FDR at the run's level; dot: peak); "
            "grey dashes do not; all factor and set panels share one scale, so a flat factor "
            "looks flat. Flagged groups' spans are shaded. Bottom: lineage "
            "programmes as a check of the direction, and the lineage states along the axis."
        ),
        draw=lambda r: pl.trajectory(r.adata, key_added=r.key_added, return_fig=True),
    ),
)


DIFFERENTIATION = Section(
    name=NAME,
    title="When in differentiation",
    files=("trajectory.tsv",),
    tables=_tables,
    report=_report,
    figures=FIGURES,
    analyse=_analyse,
    skip_reason=_skip_reason,
)
"""Pseudotime over the osteoclast lineage; factors and sets along it."""

__all__ = [
    "DIFFERENTIATION",
    "LIMITS",
    "axis_sentence",
    "peak_sentences",
    "phase_sentences",
    "span_sentence",
]
