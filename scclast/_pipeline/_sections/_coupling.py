"""The coupling section: who listens? Clastokine pairs from osteoclast to osteoblast groups.

After flagging, the receiver gate (:func:`scclast.tl.receiver_states`) calls the
osteoblast-lineage groups, or ``--receivers`` names them, and
:func:`scclast.tl.communication` scores the catalogue's ligand-receptor pairs from
every osteoclast-lineage group to every receiver through LIANA+ (per sample with
``--sample-key``). The section writes ``communication.tsv`` (one row per sender x
receiver x pair), draws :func:`scclast.pl.coupling_map` and names, in sentences, the
top pairs of each flagged sender, with what the transcripts cannot show. Data without
osteoblast-lineage cells skip it with a one-line reason; receivers are never invented.

Examples
--------
>>> COUPLING.skip_reason(Results(adata=None, table=None))
'no analysed data to pair'
>>> parse_groups("5, 6,7"), parse_groups(None), parse_groups(["5", 6])
(['5', '6', '7'], None, ['5', '6'])
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import get, pl, tl
from scclast._keys import Keys, Step
from scclast._pipeline._html import e, table_markup
from scclast._pipeline._sections._base import FigureSpec, Results, Section
from scclast._pipeline._text import and_join, as_float, p_text
from scclast._warnings import DataWarning
from scclast.pl import _coupling as _figure

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

NAME = "coupling"
TOP_PAIRS = 3
"""Pairs named per sender in the report."""

REPORT_COLUMNS = (
    "sender",
    "receiver",
    "receiver_state",
    "factor_name",
    "pair",
    "effect",
    "rank",
    "magnitude",
    "specificity",
    "fdr",
    "samples",
    "citation",
)
"""Columns of the report's table (all columns are in communication.tsv)."""

LIMITS = (
    "What the map can and cannot say: a pair is scored from transcripts of the ligand in "
    "the sender and of every receptor subunit in the receiver, so it shows who could "
    "signal to whom, not that the protein is secreted, reaches the receiver or is active. "
    "Cells are the units of a permutation, so without a sample key the p-values treat "
    "cells as independent (exploratory); with one, each sample is permuted on its own and "
    "a pair counts as supported only when most samples show it."
)


def parse_groups(value: Any) -> list[str] | None:
    """Group names from the option: a comma-separated text or a list; ``None`` if unset."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(item).strip() for item in items if str(item).strip()]
    return names or None


def _given(value: Any) -> bool:
    return value is not None and str(value) not in ("", "None")


def _count(value: Any, default: int) -> int:
    """An integer option; unset (``None``, or "None" from a workflow config) is the default."""
    return int(value) if _given(value) else default


def _analyse(adata: AnnData, parameters: Mapping[str, Any], key_added: str) -> None:
    """The receiver gate, then the coupling map; no receiver: the record says why."""
    keys = Keys(key_added)
    groupby = get.groupby(adata, key_added)
    matrix = {
        "layer": parameters.get("layer") if _given(parameters.get("layer")) else None,
        "use_raw": bool(parameters.get("use_raw", False)),
    }
    species = str(parameters.get("species", "auto"))
    sample_key = parameters.get("sample_key")
    tl.receiver_states(adata, groupby, species=species, key_added=key_added, **matrix)
    try:
        with warnings.catch_warnings():
            # a missing receiver is the section's skip reason, shown once in the report
            warnings.filterwarnings(
                "ignore", message="No (osteoblast|osteoclast)", category=DataWarning
            )
            tl.communication(
                adata,
                groupby,
                receivers=parse_groups(parameters.get("receivers")),
                sample_key=str(sample_key) if _given(sample_key) else None,
                species=species,
                n_perms=_count(parameters.get("coupling_permutations"), 1000),
                fdr=as_float(parameters.get("fdr", 0.05), 0.05),
                seed=int(parameters.get("seed", 0) or 0),
                key_added=key_added,
                **matrix,
            )
    except ImportError as err:  # liana is a dependency; a broken install still reports
        keys.store(
            adata,
            Step.COMMUNICATION,
            {"skip_reason": f"LIANA+ could not be imported ({err}): pip install liana"},
        )


def _skip_reason(results: Results) -> str | None:
    if results.adata is None:
        return "no analysed data to pair"
    record = results.keys.record(results.adata, Step.COMMUNICATION)
    if not record:
        return "the coupling map did not run"
    reason = str(record.get("skip_reason") or "")
    return reason or None


def _tables(results: Results) -> dict[str, pd.DataFrame]:
    return {"communication.tsv": get.communication_table(results.adata, results.key_added)}


def _report(results: Results, figures: Mapping[str, str]) -> str:
    table = get.communication_table(results.adata, results.key_added)
    record = results.keys.record(results.adata, Step.COMMUNICATION)
    parts = [f'<section id="{NAME}">', "<h2>Who listens: the coupling map</h2>"]
    parts.append(f"<p>{e(groups_sentence(table))}</p>")
    parts.append(f"<p>{e(method_sentence(table, record))}</p>")
    for sentence in sender_sentences(table):
        parts.append(f"<p>{e(sentence)}</p>")
    parts.append(f'<p class="note">{e(" ".join(caveat_sentences(table, record)))}</p>')
    parts.extend(figures.values())
    parts.append(f'<p class="note">{e(LIMITS)}</p>')
    parts.append(
        '<p class="note">The best-ranked pairs of each sender; supported rows are '
        "highlighted. Every sender x receiver x pair, scored or not (with the reason), is "
        "in <code>communication.tsv</code>.</p>"
    )
    parts.append(table_markup(report_table(table), REPORT_COLUMNS, "coupling-table", "supported"))
    parts.append("</section>")
    return "\n".join(parts)


def groups_sentence(table: pd.DataFrame) -> str:
    """Which groups send and which receive, with their states.

    Examples
    --------
    >>> t = pd.DataFrame({"sender": ["3", "2"], "receiver": ["6", "6"],
    ...     "sender_state": ["osteoclast"] * 2, "receiver_state": ["osteoblast"] * 2,
    ...     "sender_flagged": [True, False]})
    >>> groups_sentence(t).split(". ")[0]
    'Senders (osteoclast lineage): group 3 (osteoclast; flagged) and group 2 (osteoclast)'
    """
    senders = table.drop_duplicates("sender")
    receivers = table.drop_duplicates("receiver")
    receivers = receivers.iloc[
        sorted(range(len(receivers)), key=lambda i: _natural(str(receivers["receiver"].iloc[i])))
    ]
    send = [
        f"group {r.sender} ({r.sender_state}{'; flagged' if r.sender_flagged else ''})"
        for r in senders.itertuples()
    ]
    receive = [f"group {r.receiver} ({r.receiver_state})" for r in receivers.itertuples()]
    return f"Senders (osteoclast lineage): {and_join(send)}. Receivers: {and_join(receive)}."


def _natural(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def method_sentence(table: pd.DataFrame, record: Mapping[str, Any]) -> str:
    """How the pairs were scored, on what basis, and how many were."""
    parameters = record.get("parameters", {})
    n_pairs = table[["ligand", "receptor"]].drop_duplicates().shape[0]
    scored = table[table["status"] == "scored"]
    basis = next((b for b in table["basis"] if str(b)), "")
    text = (
        f"Each of the catalogue's {n_pairs} ligand-receptor pairs (Table 1 receptors as "
        "complexes, candidates from outside the review, vesicular RANK -> RANKL oriented "
        "by hand) was scored for every sender and receiver by LIANA+ (rank aggregate of "
        "CellPhoneDB, Connectome, log2FC, NATMI and SingleCellSignalR; "
        f"{int(parameters.get('n_perms', 1000)):,} label permutations for CellPhoneDB's "
        f"p-value), {basis or 'on all cells'}. {len(scored):,} of {len(table):,} rows could "
        f"be scored and {int(table['supported'].sum()):,} are supported "
        f"(FDR ≤ {float(parameters.get('fdr', 0.05)):g})."
    )
    note = str(record.get("basis_note") or "")
    if note:
        text += f" Note: {note}."
    return text


def sender_sentences(table: pd.DataFrame, top: int = TOP_PAIRS) -> list[str]:
    """The top pairs of each flagged sender (of every sender when none is flagged).

    Examples
    --------
    >>> t = pd.DataFrame({"sender": ["3"] * 2, "receiver": ["6", "7"],
    ...     "sender_state": ["osteoclast"] * 2, "receiver_state": ["osteoblast", "osteocyte"],
    ...     "sender_flagged": [True] * 2, "status": ["scored"] * 2, "rank": [1.0, 2.0],
    ...     "supported": [True, False], "ligand": ["Slit3", "Sema4d"],
    ...     "receptor": ["Robo1", "Erbb2_Plxnb1"], "factor_name": ["SLIT3", "SEMA4D"],
    ...     "direction": ["forward"] * 2, "effect": ["anabolic", "inhibitory"],
    ...     "specificity_rank": [1e-4, 0.2], "magnitude": [2.1, 0.4], "fdr": [0.001, 0.3],
    ...     "n_samples_tested": [4, 4], "n_samples_support": [4, 1]})
    >>> sender_sentences(t)[0]  # doctest: +NORMALIZE_WHITESPACE
    'Group 3 (osteoclast; flagged): its best supported pair is ▲ Slit3 → Robo1 to group 6
     (osteoblast; specificity rank 0.0001, magnitude 2.10, 4 of 4 samples).'
    """
    if table.empty:
        return []
    flagged = list(dict.fromkeys(table.loc[table["sender_flagged"], "sender"]))
    senders = flagged or list(dict.fromkeys(table["sender"]))
    sentences = []
    if not flagged:
        sentences.append("No sender is flagged; the best pairs of each osteoclast-lineage group:")
    for sender in senders:
        rows = table[(table["sender"] == sender) & (table["status"] == "scored")]
        first = table[table["sender"] == sender].iloc[0]
        who = f"Group {sender} ({first['sender_state']}{'; flagged' if sender in flagged else ''})"
        supported = rows[rows["supported"]].sort_values("rank")
        if supported.empty:
            sentences.append(f"{who}: no pair is supported.")
            continue
        best = supported.head(top)
        noun = (
            "best supported pair is" if len(best) == 1 else f"{len(best)} best supported pairs are"
        )
        listed = and_join([_pair_text(r) for r in best.to_dict("records")])
        text = f"{who}: its {noun} {listed}."
        inhibitory = supported[
            (supported["effect"] == "inhibitory") & ~supported.index.isin(best.index)
        ]
        if not inhibitory.empty:
            also = [_pair_text(r) for r in inhibitory.head(2).to_dict("records")]
            text += f" Inhibitory pairs also supported: {and_join(also)}."
        sentences.append(text)
    return sentences


_MARK = {"anabolic": "▲", "inhibitory": "▼", "controversial": "◆"}


def _pair_text(row: Mapping[str, Any]) -> str:
    label = _figure.pair_label(pd.Series(row))
    support = ""
    tested = row.get("n_samples_tested")
    if tested == tested and tested is not None and pd.notna(tested):
        support = f", {int(row['n_samples_support'])} of {int(tested)} samples"
    else:
        support = f", FDR {p_text(float(row['fdr']))}"
    return (
        f"{_MARK.get(str(row['effect']), '')} {label} to group {row['receiver']} "
        f"({row['receiver_state']}; specificity rank {float(row['specificity_rank']):.2g}, "
        f"magnitude {float(row['magnitude']):.2f}{support})"
    ).strip()


def caveat_sentences(table: pd.DataFrame, record: Mapping[str, Any]) -> list[str]:
    """What the transcripts cannot show, for the pairs of this map."""
    factors = set(table["factor"])
    out = []
    if "vesicular_rank" in factors:
        out.append(
            "⇄ Vesicular RANK -> RANKL is reverse signalling, oriented by hand (standard "
            "resources list RANKL -> RANK only); the Tnfrsf11a transcript marks the "
            "lineage from precursors on, not vesicle release."
        )
    if "connexin43" in factors:
        out.append(
            "Connexin 43 (Gja1 on both sides) is scored as co-expression only: gap "
            "junctions need cells to touch, which expression data cannot show."
        )
    if "s1p" in factors:
        out.append(
            "S1P is a lipid: its synthesising kinase (Sphk1) and exporter (Spns2) stand in "
            "for it, the lower of the two counting, paired with S1pr1-3."
        )
    if factors & {"tgfb1", "igf1"}:
        out.append(
            "TGF-beta1 and IGF-1 are released from the bone matrix by resorption: their "
            "ligand transcripts do not measure that route."
        )
    unpaired = pd.DataFrame(record.get("unpaired", {}))
    if not unpaired.empty:
        listed = "; ".join(f"{r.factor_name}, {r.reason}" for r in unpaired.itertuples())
        out.append(f"Cannot be scored: {listed}.")
    return out


def report_table(table: pd.DataFrame, per_sender: int = 8) -> pd.DataFrame:
    """The best-ranked scored rows of each sender (flagged senders first), for display."""
    scored = table[table["status"] == "scored"].sort_values(["sender", "rank"], kind="stable")
    senders = list(dict.fromkeys(table["sender"]))
    flagged = set(table.loc[table["sender_flagged"], "sender"])
    order = {s: i + (0 if s in flagged else len(senders)) for i, s in enumerate(senders)}
    top = scored.groupby("sender", sort=False).head(per_sender)
    top = top.assign(_o=top["sender"].map(order)).sort_values(["_o", "rank"], kind="stable")
    out = top.copy()
    out["sender"] = [
        f"★ {s}" if f else str(s) for s, f in zip(top["sender"], top["sender_flagged"], strict=True)
    ]
    out["pair"] = [_figure.pair_label(r) for r in top.itertuples()]
    out["rank"] = top["rank"].map(lambda v: f"{int(v)}")
    out["specificity"] = top["specificity_rank"].map(lambda v: f"{float(v):.2g}")
    out["samples"] = [
        f"{int(s)}/{int(n)}" if pd.notna(n) else "pooled"
        for s, n in zip(top["n_samples_support"], top["n_samples_tested"], strict=True)
    ]
    return out


SUMMARY_COLUMNS = (
    "dataset",
    "sender",
    "sender_state",
    "sender_flagged",
    "receiver",
    "receiver_state",
    "factor_name",
    "ligand",
    "receptor",
    "effect",
    "direction",
    "rank",
    "specificity_rank",
    "magnitude",
    "n_samples_support",
    "n_samples_tested",
    "note",
)
"""Columns of :func:`summarise_coupling`."""


def summarise_coupling(run_dirs: Mapping[str, str | Path], top: int = TOP_PAIRS) -> pd.DataFrame:
    """Across runs: the top supported pairs of each flagged sender (else of every sender).

    For the workflow's cross-dataset summary: reads ``communication.tsv`` of each run
    folder; a run without one (no receivers, or the map skipped) gets one row saying so.

    Examples
    --------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"sender": ["3", "3"], "receiver": ["6", "7"],
    ...     "sender_state": ["osteoclast"] * 2, "sender_flagged": [True, True],
    ...     "receiver_state": ["osteoblast", "osteocyte"], "factor_name": ["SLIT3", "LIF"],
    ...     "ligand": ["Slit3", "Lif"], "receptor": ["Robo1", "Il6st_Lifr"],
    ...     "effect": ["anabolic"] * 2, "direction": ["forward"] * 2, "status": ["scored"] * 2,
    ...     "supported": [True, False], "rank": [1, 2], "specificity_rank": [1e-4, 0.3],
    ...     "magnitude": [2.0, 1.0]}).to_csv(run / "communication.tsv", sep="\\t", index=False)
    >>> table = summarise_coupling({"demo": run, "marrow": Path(tempfile.mkdtemp())})
    >>> table[["dataset", "ligand", "receptor", "note"]].values.tolist()
    [['demo', 'Slit3', 'Robo1', ''], ['marrow', '', '', 'no coupling map (no communication.tsv)']]
    """
    rows = []
    for name, folder in run_dirs.items():
        path = Path(folder) / "communication.tsv"
        if not path.is_file():
            rows.append({"dataset": str(name), "note": "no coupling map (no communication.tsv)"})
            continue
        table = pd.read_csv(path, sep="\t", dtype={"sender": str, "receiver": str})
        table["supported"] = table["supported"].map(lambda v: str(v).lower() == "true")
        table["sender_flagged"] = table["sender_flagged"].map(lambda v: str(v).lower() == "true")
        kept = table[(table["status"] == "scored") & table["supported"]]
        if kept["sender_flagged"].any():
            kept = kept[kept["sender_flagged"]]
        best = kept.sort_values(["sender", "rank"], kind="stable").groupby("sender").head(top)
        if best.empty:
            rows.append({"dataset": str(name), "note": "no supported pair"})
        for row in best.to_dict("records"):
            rows.append({**row, "dataset": str(name), "note": ""})
    out = pd.DataFrame(rows)
    for column in SUMMARY_COLUMNS:
        if column not in out:
            out[column] = ""
    return out[list(SUMMARY_COLUMNS)].fillna("")


FIGURES = (
    FigureSpec(
        name="coupling_map",
        title=_figure.TITLE,
        caption=(
            "Catalogue ligand -> receptor pairs (rows, under their effect on bone formation: "
            "▲ anabolic, ◆ controversial, ▼ inhibitory; ⇄ reverse signalling) by sender -> "
            "receiver group (columns, flagged senders shaded and starred). Dot area: "
            "specificity (LIANA+'s aggregate specificity rank; larger is more specific to "
            "that sender and receiver); colour: magnitude (mean of ligand and receptor "
            "expression). Supported pairs have a dark edge, the others are faded. Only "
            "scored pairs are drawn, the best-ranked first."
        ),
        draw=lambda r: pl.coupling_map(r.adata, key_added=r.key_added, return_fig=True),
    ),
)


COUPLING = Section(
    name=NAME,
    title="Who listens: the coupling map",
    files=("communication.tsv",),
    tables=_tables,
    report=_report,
    figures=FIGURES,
    analyse=_analyse,
    skip_reason=_skip_reason,
)
"""Receiver gate and coupling map: catalogue pairs from osteoclast to osteoblast groups."""

__all__ = [
    "COUPLING",
    "LIMITS",
    "caveat_sentences",
    "groups_sentence",
    "method_sentence",
    "parse_groups",
    "report_table",
    "sender_sentences",
    "summarise_coupling",
]
