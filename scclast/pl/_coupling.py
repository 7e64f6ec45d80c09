"""The coupling map: sender -> receiver columns, one row per factor-receptor pair."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast import get
from scclast._docs import doc_params, doc_plot_io
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._layout import Row, grid_size, style_grid
from scclast.pl._legends import effect_handles, main_and_legends
from scclast.pl._style import EDGE_COLOUR, FLAG_MARK, FLAG_SHADE, LEVEL_CMAP, RULE_COLOUR

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

TITLE = "Coupling map: osteoclast-lineage senders to osteoblast-lineage receivers"
MAX_DOT = 170.0
"""Dot area (points²) at the strongest specificity shown (:data:`RANK_FLOOR`)."""
RANK_FLOOR = 1e-4
"""Specificity ranks below this are drawn at full size."""
REVERSE_MARK = "\u21c4"
"""Beside a pair whose signal runs into the 'receptor' cell (vesicular RANK -> RANKL)."""
_EFFECT_ORDER = ("anabolic", "controversial", "inhibitory")


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def coupling_map(
    adata: AnnData,
    *,
    max_pairs: int = 30,
    supported_only: bool = False,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Dot plot of the coupling map: sender -> receiver by factor-receptor pair.

    Columns are sender -> receiver combinations, grouped by sender; a flagged sender's
    columns are shaded and starred. Rows are the catalogue's ligand -> receptor pairs,
    under their effect on bone formation (▲ anabolic, ◆ controversial, ▼ inhibitory);
    ⇄ marks reverse signalling (vesicular RANK -> osteoblast RANKL). Dot area is the
    specificity (LIANA+'s specificity rank, ``-log10``; larger is more specific to
    this sender and receiver), colour the magnitude (mean of ligand and receptor
    expression). Pairs that are supported (FDR; with samples, by most samples) have a
    dark edge; others are faded.

    Parameters
    ----------
    adata
        Annotated data after :func:`scclast.tl.communication`.
    max_pairs
        At most this many pairs (rows), those ranked best for any sender.
    supported_only
        Show only pairs supported for at least one sender -> receiver.
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=1200, n_genes=600, seed=2, extra_states={"osteoblast": 0.15})
    >>> scclast.tl.lineage_states(adata, "state_true")
    >>> scclast.tl.receiver_states(adata, "state_true")
    >>> scclast.tl.communication(adata, n_perms=100)
    >>> fig = scclast.pl.coupling_map(adata, return_fig=True)
    >>> fig.axes[0].get_xticklabels()[0].get_text()
    'macrophage → osteoblast'
    """
    table = get.communication_table(adata, key_added)
    record = Keys(key_added).record(adata, Step.COMMUNICATION)
    columns, flagged = _columns(table)
    rows = _pairs(table, max_pairs, supported_only)
    layout = _layout(rows)
    where = canvas(ax, figsize, _size(len(columns), len(layout)))
    if table.empty or rows.empty:
        reason = str(record.get("skip_reason") or "") or "No catalogue pair was scored."
        return finish(where.message(reason), return_fig=return_fig, save=save)
    main, legends = main_and_legends(where, len(columns))
    for x, (sender, _) in enumerate(columns):
        if sender in flagged:
            main.axvspan(x - 0.5, x + 0.5, color=FLAG_SHADE, zorder=0)
    points = _draw(main, table, columns, layout)
    labels = column_labels(table, columns)
    starred = {label for label, (s, _) in zip(labels, columns, strict=True) if s in flagged}
    style_grid(main, labels, layout, starred)
    main.tick_params(axis="y", pad=20)  # room for the effect marks beside long pair labels
    _sender_rules(main, columns)
    main.set_xlabel("sender → receiver")
    where.title(TITLE)
    legends.draw(
        points,
        "magnitude\n(mean of ligand and\nreceptor expression)",
        [(_size_handles(), "specificity rank"), (_mark_handles(), "marks")],
    )
    return finish(where.fig, return_fig=return_fig, save=save)


def _columns(table: pd.DataFrame) -> tuple[list[tuple[str, str]], set[str]]:
    """Sender -> receiver combinations, senders and receivers each in first-seen order."""
    if table.empty:
        return [], set()
    senders = list(dict.fromkeys(table["sender"].astype(str)))
    receivers = sorted(set(table["receiver"].astype(str)), key=_natural)
    present = set(zip(table["sender"].astype(str), table["receiver"].astype(str), strict=True))
    combos = [(s, r) for s in senders for r in receivers if (s, r) in present]
    flagged = set(table.loc[table["sender_flagged"], "sender"].astype(str))
    return combos, flagged


def column_labels(table: pd.DataFrame, columns: list[tuple[str, str]]) -> list[str]:
    """``sender → receiver``, with the receiver's state when the name does not say it.

    Examples
    --------
    >>> t = pd.DataFrame({"receiver": ["6", "osteoblast"],
    ...                   "receiver_state": ["osteoblast", "osteoblast"]})
    >>> column_labels(t, [("3", "6"), ("oc", "osteoblast")])
    ['3 → 6 (osteoblast)', 'oc → osteoblast']
    """
    states = dict(
        zip(table["receiver"].astype(str), table["receiver_state"].astype(str), strict=True)
    )
    labels = []
    for sender, receiver in columns:
        state = states.get(receiver, "")
        plain = state and state != "named by the user" and state.lower() not in receiver.lower()
        shown = f" ({state})" if plain else ""
        labels.append(f"{sender} → {receiver}{shown}")
    return labels


def _natural(label: str) -> tuple[int, float | str]:
    """Numeric labels in number order, before text ones."""
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def _pairs(table: pd.DataFrame, max_pairs: int, supported_only: bool) -> pd.DataFrame:
    """The pairs to draw: best ranked for a flagged sender (else any sender) first,
    then grouped by effect."""
    scored = table[table["status"] == "scored"]
    if supported_only:
        scored = scored[scored["supported"]]
    if scored.empty:
        return scored
    # the flagged senders' ranking decides which pairs come first, when there are any
    ranked = scored[scored["sender_flagged"]] if scored["sender_flagged"].any() else scored
    best = ranked.groupby(["ligand", "receptor"], sort=False)["rank"].min()
    rest = scored.groupby(["ligand", "receptor"], sort=False)["rank"].min()
    best = pd.concat([best, rest.drop(best.index) + len(scored)]).sort_values(kind="stable")
    keep = set(best.index[: max(1, int(max_pairs))])
    first = scored.drop_duplicates(["ligand", "receptor"]).set_index(["ligand", "receptor"])
    chosen = first.loc[[k for k in best.index if k in keep]].reset_index()
    chosen["_effect"] = (
        chosen["effect"].map({e: i for i, e in enumerate(_EFFECT_ORDER)}).fillna(len(_EFFECT_ORDER))
    )
    return chosen.sort_values("_effect", kind="stable").reset_index(drop=True)


def _layout(rows: pd.DataFrame) -> list[Row]:
    layout: list[Row] = []
    for effect, block in rows.groupby("effect", sort=False):
        layout.append(Row(text=str(effect)))
        for row in block.itertuples(index=False):
            layout.append(Row(text=pair_label(row), gene=_key(row), effect=str(effect)))
    return layout


def pair_label(row: object) -> str:
    """``Slit3 → Robo1``; the factor when the ligand is a proxy; ⇄ for reverse signalling.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> pair_label(R(ligand="Sphk1_Spns2", receptor="S1pr1", factor_name="S1P",
    ...              direction="forward"))
    'S1P (Sphk1+Spns2) → S1pr1'
    >>> pair_label(R(ligand="Tnfrsf11a", receptor="Tnfsf11", factor_name="Vesicular RANK",
    ...              direction="reverse"))
    '⇄ Tnfrsf11a → Tnfsf11'
    """
    ligand = str(row.ligand).replace("_", "+")
    receptor = str(row.receptor).replace("_", "+")
    name = str(getattr(row, "factor_name", "") or "")
    if "+" in ligand and name:
        ligand = f"{name} ({ligand})"
    text = f"{ligand} → {receptor}"
    return f"{REVERSE_MARK} {text}" if str(row.direction) == "reverse" else text


def _key(row: object) -> str:
    return f"{row.ligand}|{row.receptor}"


def _draw(main: Axes, table: pd.DataFrame, columns: list[tuple[str, str]], layout: list[Row]):
    index = table.set_index(["sender", "receiver", "ligand", "receptor"])
    xs, ys, sizes, colours, edges = [], [], [], [], []
    for y, row in enumerate(layout):
        if row.gene is None:
            continue
        ligand, receptor = row.gene.split("|")
        for x, (sender, receiver) in enumerate(columns):
            key = (sender, receiver, ligand, receptor)
            if key not in index.index:
                continue
            entry = index.loc[key]
            if isinstance(entry, pd.DataFrame):
                entry = entry.iloc[0]
            if entry["status"] != "scored":
                continue
            xs.append(x)
            ys.append(y)
            sizes.append(specificity_size(entry["specificity_rank"]))
            colours.append(float(entry["magnitude"]))
            edges.append(bool(entry["supported"]))
    edges_arr = np.asarray(edges, dtype=bool)
    points = main.scatter(
        xs,
        ys,
        s=np.asarray(sizes) * MAX_DOT + 1.0,
        c=colours,
        cmap=LEVEL_CMAP,
        edgecolors=[EDGE_COLOUR if e else "#DDDDDD" for e in edges_arr],
        linewidths=[0.8 if e else 0.3 for e in edges_arr],
        alpha=[1.0 if e else 0.45 for e in edges_arr] if len(edges_arr) else None,
        zorder=3,
    )
    return points


def specificity_size(rank: float) -> float:
    """Dot size (0-1) from a specificity rank: ``-log10`` scaled to :data:`RANK_FLOOR`.

    Examples
    --------
    >>> specificity_size(1e-4), specificity_size(0.01), specificity_size(1.0)
    (1.0, 0.5, 0.0)
    """
    value = float(rank) if rank == rank else 1.0
    value = min(max(value, RANK_FLOOR), 1.0)
    return float(np.log10(value) / np.log10(RANK_FLOOR)) + 0.0  # + 0.0: no -0.0


def _sender_rules(main: Axes, columns: list[tuple[str, str]]) -> None:
    for x in range(1, len(columns)):
        if columns[x][0] != columns[x - 1][0]:
            main.axvline(x - 0.5, color=RULE_COLOUR, linewidth=0.6)


def _size(n_columns: int, n_rows: int) -> tuple[float, float]:
    width, height = grid_size(n_columns, n_rows)
    return (width + 1.2, height + 0.8)


def _size_handles() -> list[Line2D]:
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            color="#777777",
            markersize=np.sqrt(specificity_size(rank) * MAX_DOT + 1.0),
            label=f"{rank:g}",
        )
        for rank in (0.1, 0.01, 0.001, RANK_FLOOR)
    ]


def _mark_handles() -> list:
    from matplotlib.patches import Patch

    return [
        *effect_handles(),
        Patch(facecolor=FLAG_SHADE, edgecolor="none", label=f"{FLAG_MARK} flagged sender"),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="#BBBBBB",
            markeredgecolor=EDGE_COLOUR,
            markersize=7,
            label="supported",
        ),
        Line2D([], [], linestyle="none", label=f"{REVERSE_MARK} reverse signalling"),
    ]


__all__ = ["TITLE", "column_labels", "coupling_map", "pair_label", "specificity_size"]
