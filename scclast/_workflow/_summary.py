"""The cross-dataset summary: which lineage states were flagged in which inputs.

:func:`summarise_runs` condenses the ``groups.tsv`` of each run into one row per input
and lineage state; :func:`write_summary` writes it as ``summary.tsv`` and draws it with
:func:`scclast.pl._summary.run_summary` (rule ``summary``).

Examples
--------
>>> summarise_runs({}).columns.tolist() == list(SUMMARY_COLUMNS)
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scclast._errors import ScclastInputError
from scclast._workflow._rules import as_bool

log = logging.getLogger("scclast")

SUMMARY_COLUMNS = (
    "dataset",
    "lineage_state",
    "n_groups",
    "n_cells",
    "flagged",
    "n_flagged_groups",
    "flagged_groups",
    "gene_set",
    "auroc",
    "nes",
    "fdr",
)
"""Columns of :func:`summarise_runs`' table, in order."""


def summarise_runs(run_dirs: Mapping[str, str | Path]) -> pd.DataFrame:
    """Which lineage states were flagged in which datasets, with effect sizes.

    Reads ``groups.tsv`` of each run (the OUTDIR of ``scclast run`` or of one workflow
    input) and condenses it to one row per dataset and lineage state.

    Parameters
    ----------
    run_dirs
        ``{dataset name: run folder}``, in the order the summary should list them.

    Returns
    -------
    One row per (dataset, lineage state) with the columns :data:`SUMMARY_COLUMNS`:
    ``n_groups`` and ``n_cells`` (the groups called that state), ``flagged`` (any of
    them flagged), ``n_flagged_groups`` and ``flagged_groups`` (their names, comma
    separated), and the effect size of the state's strongest evidence: the gene set,
    ``auroc`` (the flag's effect size: the group against its reference, the other
    osteoclast-lineage groups or else all other cells; 0.5 is no effect), ``nes`` and
    ``fdr`` of the best flagged row when the state was flagged, else of the best row.

    Raises
    ------
    ScclastInputError
        A run folder has no ``groups.tsv`` or it lacks a needed column.

    Examples
    --------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({
    ...     "group": ["0", "0", "1"], "n_cells": [40, 40, 60],
    ...     "lineage_state": ["osteoclast", "osteoclast", "macrophage"],
    ...     "gene_set": ["clastokines_secreted", "coupling_contact", "clastokines_secreted"],
    ...     "auroc": [0.91, 0.7, 0.42], "fdr": [0.001, 0.2, 0.9], "nes": [2.1, 1.0, -0.5],
    ...     "flagged": [True, False, False],
    ... }).to_csv(run / "groups.tsv", sep="\\t", index=False)
    >>> table = summarise_runs({"demo": run})
    >>> table[["lineage_state", "flagged", "flagged_groups", "auroc"]].values.tolist()
    [['osteoclast', True, '0', 0.91], ['macrophage', False, '', 0.42]]
    >>> table.loc[0, "gene_set"]
    'clastokines_secreted'
    """
    frames = [_summarise_one(str(name), Path(folder)) for name, folder in run_dirs.items()]
    if not frames:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SUMMARY_COLUMNS)]


def write_summary(
    run_dirs: Mapping[str, str | Path],
    table: str | Path,
    figures: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Write :func:`summarise_runs` as a TSV and its figure once per path in ``figures``.

    The format of each figure follows its suffix (``.png``, ``.pdf``, ``.svg``); it is
    drawn in matplotlib's default style and without a timestamp, so the same runs give
    the same files on every machine.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> write_summary({}, out / "summary.tsv", [out / "summary.png"]).shape[0]
    0
    >>> sorted(p.name for p in out.iterdir())
    ['summary.png', 'summary.tsv']
    """
    from scclast.pl._base import default_style, finish
    from scclast.pl._summary import run_summary

    summary = summarise_runs(run_dirs)
    table = Path(table)
    table.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(table, sep="\t", index=False, float_format="%.6g")
    flagged = summary.loc[summary["flagged"].astype(bool)]
    log.info(
        "summary of %d input(s): %d flagged lineage state(s)%s",
        summary["dataset"].nunique(),
        len(flagged),
        "".join(f"; {r.dataset}: {r.lineage_state}" for r in flagged.itertuples()),
    )
    if figures:
        with default_style():  # the same look whatever the user's matplotlibrc says
            fig = run_summary(summary, return_fig=True)
            for path in figures:
                finish(fig, return_fig=False, save=path)
    return summary


def _summarise_one(name: str, folder: Path) -> pd.DataFrame:
    path = folder / "groups.tsv"
    if not path.is_file():
        raise ScclastInputError(f"{path} is missing: run scclast on {name!r} first")
    groups = pd.read_csv(path, sep="\t", dtype={"group": str})
    missing = [c for c in ("group", "lineage_state", "flagged") if c not in groups]
    if missing:
        raise ScclastInputError(f"{path} lacks column(s) {', '.join(missing)}: rerun scclast")
    groups["flagged"] = as_bool(groups["flagged"])
    for column in ("auroc", "nes", "fdr", "n_cells"):
        if column not in groups:
            groups[column] = np.nan
    if "gene_set" not in groups:
        groups["gene_set"] = ""
    groups["lineage_state"] = groups["lineage_state"].fillna("unassigned").astype(str)

    rows = []
    for state, rows_of_state in groups.groupby("lineage_state", sort=False):
        per_group = rows_of_state.drop_duplicates("group")
        flagged_groups = list(dict.fromkeys(rows_of_state.loc[rows_of_state["flagged"], "group"]))
        evidence = rows_of_state.loc[rows_of_state["flagged"]] if flagged_groups else rows_of_state
        best = _strongest(evidence)
        rows.append(
            {
                "dataset": name,
                "lineage_state": state,
                "n_groups": len(per_group),
                "n_cells": int(np.nansum(per_group["n_cells"].to_numpy(dtype=float))),
                "flagged": bool(flagged_groups),
                "n_flagged_groups": len(flagged_groups),
                "flagged_groups": ",".join(flagged_groups),
                "gene_set": best.get("gene_set", ""),
                "auroc": best.get("auroc", np.nan),
                "nes": best.get("nes", np.nan),
                "fdr": best.get("fdr", np.nan),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _strongest(rows: pd.DataFrame) -> dict[str, Any]:
    """The row with the largest AUROC (ties: smallest FDR); empty when none is scored."""
    ordered = rows.assign(_auroc=rows["auroc"].fillna(-np.inf), _fdr=rows["fdr"].fillna(np.inf))
    ordered = ordered.sort_values(["_auroc", "_fdr"], ascending=[False, True], kind="stable")
    return ordered.iloc[0].to_dict() if len(ordered) else {}
