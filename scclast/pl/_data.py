"""What the figures read from a flagged AnnData, read in one place.

:func:`flag_results` gathers the flagging table, the grouping column, the groups in
display order and the flagged groups (all through :mod:`scclast.get` and one
``key_added``); :func:`present_genes` the catalogue genes measured in the data.

Examples
--------
>>> t = pd.DataFrame({"gene_set": ["x", "y"], "flagged": [False, True], "auroc": [0.9, 0.6]})
>>> primary_gene_set(t)
'y'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import genesets, get
from scclast._groups import group_codes
from scclast._keys import Keys, Step
from scclast._matrix import expression_view

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView


@dataclass(frozen=True)
class FlagResults:
    """The flagging results a figure draws.

    Attributes
    ----------
    keys
        The names of the analysis (from its ``key_added``).
    table
        The flagging table (:func:`scclast.get.flag_table`).
    groupby
        The grouping column (given, else the one flagging used).
    order
        Groups as text, in the column's category order.
    flagged
        Groups flagged for at least one gene set.
    """

    keys: Keys
    table: pd.DataFrame
    groupby: str
    order: list[str]
    flagged: set[str]

    def recorded(self, adata: AnnData, key: str, default: Any) -> Any:
        """A value the flagging step recorded (also inside its ``parameters``)."""
        block = self.keys.record(adata, Step.FLAG)
        if key in block:
            return block[key]
        parameters = block.get("parameters", {})
        return parameters.get(key, default) if isinstance(parameters, dict) else default


def flag_results(adata: AnnData, key_added: str, groupby: str | None = None) -> FlagResults:
    """Read the flagging results of ``key_added`` (a clear error when flagging has not run)."""
    table = get.flag_table(adata, key_added)
    groupby = groupby or get.groupby(adata, key_added)
    return FlagResults(
        keys=Keys(key_added),
        table=table,
        groupby=groupby,
        order=group_order(adata, table, groupby),
        flagged=set(get.flagged_groups(table)),
    )


def group_order(adata: AnnData, table: pd.DataFrame, groupby: str) -> list[str]:
    """Groups as text, in the column's category order (sorted otherwise)."""
    groups = group_codes(adata, groupby)[1]
    in_table = set(table["group"].astype(str)) if not table.empty else set(groups)
    ordered = [g for g in groups if g in in_table]
    return ordered + sorted(in_table - set(ordered))


def primary_gene_set(table: pd.DataFrame) -> str | None:
    """The gene set a one-score figure shows: the most often flagged, else the strongest.

    Ties are broken by the highest AUROC, then by table order.
    """
    if table.empty:
        return None
    frame = table.assign(
        _order=np.arange(len(table)),
        _flagged=table["flagged"].astype(bool),
        _auroc=pd.to_numeric(table["auroc"], errors="coerce").fillna(0.0),
    )
    summary = frame.groupby("gene_set", sort=False).agg(
        n_flagged=("_flagged", "sum"), best=("_auroc", "max"), order=("_order", "min")
    )
    summary = summary.sort_values(["n_flagged", "best", "order"], ascending=[False, False, True])
    return str(summary.index[0])


def present_genes(
    adata: AnnData, genes: pd.DataFrame | None, species: str | None, results: FlagResults
) -> tuple[ExpressionView, pd.DataFrame]:
    """The expression view and the rows of ``genes`` measured in the data.

    ``genes=None`` takes the catalogue's coupling-factor genes of ``species``, else of
    the species the data's symbols look like, else of the one flagging used.
    """
    view = expression_view(adata)
    if genes is None:
        if species not in ("mouse", "human"):
            species = view.species
        if species not in ("mouse", "human"):
            species = results.recorded(adata, "species_used", "mouse")
        genes = genesets.factor_genes(species if species in ("mouse", "human") else "mouse")
    present = genes[genes["gene"].isin(set(map(str, view.symbols)))]
    return view, present.reset_index(drop=True)


def factor_rows(genes: pd.DataFrame) -> pd.DataFrame:
    """One row per factor (its id in ``gene``) with the genes measured for it."""
    grouped = genes.groupby("factor", sort=False).agg(
        label=("label", "first"),
        category=("category", "first"),
        effect=("effect", "first"),
        members=("gene", lambda g: ", ".join(g)),
    )
    rows = grouped.reset_index().rename(columns={"factor": "gene"})
    rows["label"] = rows["label"] + " (" + rows["members"] + ")"
    return rows


def states_by_group(table: pd.DataFrame) -> dict[str, str]:
    """Each group's lineage state, from the flagging table."""
    if not table.empty and "lineage_state" in table:
        pairs = table.drop_duplicates("group")[["group", "lineage_state"]]
        return {str(g): str(s) for g, s in pairs.itertuples(index=False)}
    return {}


def as_str_categorical(values: pd.Series) -> pd.Categorical:
    """Labels as text categories (category order kept; missing labels stay missing)."""
    categorical = values.astype("category")
    categories = [str(c) for c in categorical.cat.categories]
    codes = categorical.cat.codes.to_numpy()
    return pd.Categorical.from_codes(codes, categories=categories)


def scale_0_1(frame: pd.DataFrame) -> pd.DataFrame:
    """Each column scaled to 0-1 (a constant column becomes 0)."""
    low, high = frame.min(axis=0), frame.max(axis=0)
    span = (high - low).replace(0, np.nan)
    return ((frame - low) / span).fillna(0.0)


def zscore_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Each column z-scored (a constant column becomes 0)."""
    sd = frame.std(axis=0, ddof=0).replace(0, np.nan)
    return ((frame - frame.mean(axis=0)) / sd).fillna(0.0)


__all__ = [
    "FlagResults",
    "as_str_categorical",
    "factor_rows",
    "flag_results",
    "group_order",
    "present_genes",
    "primary_gene_set",
    "scale_0_1",
    "states_by_group",
    "zscore_columns",
]
