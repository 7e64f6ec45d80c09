"""Per-sample forest plot: each animal's effect beside the pooled estimate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scclast import get
from scclast._docs import doc_params, doc_plot_io
from scclast._keys import DEFAULT_KEY
from scclast.pl._base import canvas, doc_canvas, finish
from scclast.pl._style import EDGE_COLOUR, FLAG_MARK, OKABE_ITO, RULE_COLOUR

if TYPE_CHECKING:
    from anndata import AnnData
    from matplotlib.axes import Axes

TITLE = "Per-sample effects of flagged and near-flagged groups"

_SAMPLE_COLOUR = OKABE_ITO[3]
_POOLED_COLOUR = "#000000"
_CONTROL_COLOUR = OKABE_ITO[0]
_PANEL_HEIGHT = 0.32


@doc_params(doc_plot_io=doc_plot_io, doc_canvas=doc_canvas)
def forest(
    adata: AnnData,
    *,
    rows: int = 4,
    key_added: str = DEFAULT_KEY,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    return_fig: bool = False,
    save: str | Path | None = None,
) -> Figure | None:
    """Forest plot of the replicate-level effects: one dot per sample, the pooled estimate.

    One panel per group x flagging set: the flagged rows, then the osteoclast-lineage
    rows closest to a flag (largest fold change), ``rows`` in all. Each sample's dot is
    its normalised pseudobulk log2 fold change of the set, group over reference (dot
    area: the group's cells in the sample); the diamond is the pooled estimate (mean
    over samples) with its 95% t interval. Dashed: the 95th percentile of the matched
    control sets (a random set of genes rises this much); dotted: the
    ``min_fold_change`` a flag needs; grey: no change.

    Parameters
    ----------
    adata
        Annotated data flagged by :func:`scclast.tl.flag` with a ``sample_key``.
    rows
        Panels (group x set rows) at most.
    {doc_canvas}
    {doc_plot_io}

    Returns
    -------
    The figure with ``return_fig=True``, else ``None``. Without per-sample effects (no
    sample key) the figure says so.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", sample_key="sample", enrichment=False)
    >>> fig = scclast.pl.forest(adata, return_fig=True)
    >>> fig.axes[0].get_title(loc="left")
    '★ 3 · clastokines_secreted (replicated)'
    """
    table = get.flag_table(adata, key_added)
    samples = get.sample_effects(adata, key_added)
    threshold = _threshold(adata, key_added)
    chosen = forest_rows(table, samples, rows)
    n_samples = [_n_samples(samples, g, s) for g, s in chosen]
    height = sum(_PANEL_HEIGHT * (n + 2) + 0.5 for n in n_samples) + 0.9
    where = canvas(ax, figsize, (6.4, max(2.4, height)))
    if not chosen:
        text = (
            "No per-sample effects: flag with a sample key (sample_key= / --sample-key) "
            "to see each sample's effect."
        )
        return finish(where.message(text), return_fig=return_fig, save=save)
    if where.owned:
        axes = where.fig.subplots(
            len(chosen), 1, squeeze=False, height_ratios=[n + 2 for n in n_samples]
        )[:, 0]
    else:
        axes = [where.ax]
        chosen = chosen[:1]
    limits = _x_limits(table, samples, chosen, threshold)
    for panel, (group, gene_set) in zip(axes, chosen, strict=False):
        row = table[(table["group"].astype(str) == group) & (table["gene_set"] == gene_set)].iloc[0]
        _panel(panel, row, _rows_of(samples, group, gene_set), threshold, limits)
    axes[-1].set_xlabel("log2 fold change, group vs reference (normalised pseudobulk)")
    if where.owned:
        where.fig.legend(
            handles=_handles(), loc="outside lower center", ncols=4, fontsize=7, frameon=False
        )
    else:
        axes[0].legend(handles=_handles(), loc="best", fontsize=7, frameon=False)
    where.title(TITLE)
    return finish(where.fig, return_fig=return_fig, save=save)


def forest_rows(table: pd.DataFrame, samples: pd.DataFrame, rows: int = 4) -> list[tuple[str, str]]:
    """``(group, gene_set)`` of the panels: flagged rows, then the nearest misses.

    Only flagging-set rows of osteoclast-lineage groups with per-sample effects qualify.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["a", "b", "c"], "gene_set": ["s"] * 3,
    ...                   "set_role": ["flagging"] * 3, "flagged": [False, True, False],
    ...                   "fdr": [0.2, 0.01, float("nan")], "fold_change": [1.4, 3.0, 2.0]})
    >>> s = pd.DataFrame({"group": ["a", "b", "c"], "gene_set": ["s"] * 3})
    >>> forest_rows(t, s)
    [('b', 's'), ('a', 's')]
    """
    if table.empty or samples.empty:
        return []
    have = set(zip(samples["group"].astype(str), samples["gene_set"].astype(str), strict=True))
    frame = table.assign(group=table["group"].astype(str))
    frame = frame[
        (frame["set_role"] == "flagging")
        & np.isfinite(pd.to_numeric(frame["fdr"], errors="coerce"))
        & np.array(
            [(g, s) in have for g, s in zip(frame["group"], frame["gene_set"], strict=True)],
            dtype=bool,
        )
    ]
    frame = frame.assign(
        _flag=frame["flagged"].astype(bool),
        _fold=pd.to_numeric(frame["fold_change"], errors="coerce").fillna(0.0),
    ).sort_values(["_flag", "_fold"], ascending=[False, False], kind="stable")
    return [(str(g), str(s)) for g, s in zip(frame["group"], frame["gene_set"], strict=True)][:rows]


def _n_samples(samples: pd.DataFrame, group: str, gene_set: str) -> int:
    return len(_rows_of(samples, group, gene_set))


def _rows_of(samples: pd.DataFrame, group: str, gene_set: str) -> pd.DataFrame:
    keep = (samples["group"].astype(str) == group) & (samples["gene_set"] == gene_set)
    return samples[keep].reset_index(drop=True)


def _threshold(adata: AnnData, key_added: str) -> float:
    from scclast._keys import Keys, Step

    thresholds = Keys(key_added).record(adata, Step.FLAG).get("parameters", {}).get("thresholds")
    value = (thresholds or {}).get("min_fold_change", 1.5)
    return float(np.log2(float(value)))


def _x_limits(
    table: pd.DataFrame, samples: pd.DataFrame, chosen: list[tuple[str, str]], threshold: float
) -> tuple[float, float]:
    values = [0.0, threshold]
    for group, gene_set in chosen:
        values += list(_rows_of(samples, group, gene_set)["log2fc"].astype(float))
        row = table[(table["group"].astype(str) == group) & (table["gene_set"] == gene_set)]
        for column in ("fold_change_low", "fold_change_high", "control_fold_95", "fold_change"):
            value = pd.to_numeric(row[column], errors="coerce").iloc[0]
            if np.isfinite(value) and value > 0:
                values.append(float(np.log2(value)))
    finite = np.asarray([v for v in values if np.isfinite(v)])
    span = max(finite.max() - finite.min(), 0.5)
    return float(finite.min() - 0.08 * span), float(finite.max() + 0.08 * span)


def _panel(
    ax: Axes,
    row: pd.Series,
    samples: pd.DataFrame,
    threshold: float,
    limits: tuple[float, float],
) -> None:
    n = len(samples)
    y = np.arange(n)
    sizes = 12 + 80 * np.sqrt(samples["n_cells"].to_numpy(dtype=float) / 100.0)
    ax.axvline(0.0, color=RULE_COLOUR, linewidth=0.8, zorder=1)
    ax.axvline(threshold, color=EDGE_COLOUR, linestyle=":", linewidth=1.0, zorder=1)
    control = float(row.get("control_fold_95", np.nan))
    if np.isfinite(control) and control > 0:
        ax.axvline(np.log2(control), color=_CONTROL_COLOUR, linestyle="--", linewidth=1.0)
    ax.scatter(
        samples["log2fc"].to_numpy(dtype=float),
        y,
        s=sizes,
        color=_SAMPLE_COLOUR,
        edgecolors="white",
        linewidths=0.5,
        zorder=3,
    )
    pooled_y = n + 0.6
    fold = float(row.get("fold_change", np.nan))
    low, high = (
        float(row.get("fold_change_low", np.nan)),
        float(row.get("fold_change_high", np.nan)),
    )
    if np.isfinite(low) and np.isfinite(high) and low > 0:
        ax.plot([np.log2(low), np.log2(high)], [pooled_y] * 2, color=_POOLED_COLOUR, lw=1.4)
    if np.isfinite(fold) and fold > 0:
        ax.scatter([np.log2(fold)], [pooled_y], marker="D", s=60, color=_POOLED_COLOUR, zorder=4)
    labels = [
        f"{s} (n={int(c)})"
        for s, c in zip(samples["sample"].astype(str), samples["n_cells"], strict=True)
    ]
    ax.set_yticks([*y, pooled_y], [*labels, "pooled"], fontsize=8)
    ax.set_ylim(pooled_y + 0.8, -0.8)
    ax.set_xlim(*limits)
    ax.grid(axis="x", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    mark = f"{FLAG_MARK} " if bool(row.get("flagged")) else ""
    mode = str(row.get("evidence", ""))
    short = "replicated" if mode.startswith("replicated") else "exploratory"
    ax.set_title(f"{mark}{row['group']} · {row['gene_set']} ({short})", loc="left", fontsize=9)
    agree = row.get("samples_agree")
    if pd.notna(agree):
        ax.text(
            1.0,
            1.02,
            f"{fold:.2f}-fold, up in {int(agree)}/{n} samples",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
        )


def _handles() -> list[Line2D]:
    return [
        Line2D([], [], marker="o", ls="", color=_SAMPLE_COLOUR, label="sample"),
        Line2D([], [], marker="D", ls="-", color=_POOLED_COLOUR, label="pooled, 95% CI"),
        Line2D([], [], ls="--", color=_CONTROL_COLOUR, label="control sets, 95th pct"),
        Line2D([], [], ls=":", color=EDGE_COLOUR, label="min. fold change"),
    ]


__all__ = ["TITLE", "forest", "forest_rows"]
