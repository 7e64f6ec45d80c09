"""Tables out of an AnnData that scclast analysed (as ``scanpy.get``).

Every analysis of :mod:`scclast.tl` writes into the AnnData and returns ``None``; the
tables come from here, read back from ``uns[key_added]`` (also from an
``annotated.h5ad`` written by ``scclast run``), with their column types restored.

=============================  =============================================================
:func:`flag_table`             one row per group x flagging set (:func:`scclast.tl.flag`)
:func:`lineage_table`          one row per group: lineage state and its evidence
:func:`drivers`                per group x set x gene: the genes carrying a score
:func:`enrichment_table`       gseapy prerank per group x set (:func:`scclast.tl.prerank`)
:func:`scores`                 per cell: every score, z, p, state and flag column
:func:`flagged_groups`         the flagged groups, in table order
:func:`groupby`                the grouping column a flag used (given or built)
:func:`group_expression`       per group x gene: mean expression and fraction expressing
=============================  =============================================================

Examples
--------
>>> import scclast
>>> adata = scclast.datasets.example()
>>> scclast.tl.flag(adata, "cluster", enrichment=False)
>>> scclast.get.flagged_groups(adata)
['3']
>>> scclast.get.scores(adata).columns[:2].tolist()
['scclast_clastokines_secreted', 'scclast_clastokines_putative']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast._groups import group_codes
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view
from scclast._stats import summarise_groups

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView

_BOOL_COLUMNS = ("flagged", "loo_survives", "osteoclast_lineage")
_RUN_FLAG = "scclast.tl.flag"


def flag_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """The flagging table: one row per group x flagging set.

    Columns (stable names; :data:`scclast.tl.FLAG_TABLE_COLUMNS` in order):

    * ``group``, ``n_cells``: the group and its size.
    * ``lineage_state``: the group's lineage call (``macrophage``, ``oc_precursor``,
      ``osteoclast``, ``osteomorph``, ``myeloid (no osteoclast-lineage program)``,
      ``non-lineage``, ``undetermined (low coverage)``).
    * ``gene_set``, ``coverage`` ("measured/total" genes), ``n_factors`` (measured).
    * ``mean_score``: mean calibrated ``z`` in the group; ``mean_raw_score``: mean of
      the uncalibrated score; ``frac_significant``: share of the group's cells with a
      per-cell empirical p below ``cell_alpha``.
    * ``reference``: ``"other lineage groups"`` or ``"all other cells"``.
    * ``auroc``, ``pvalue``: AUROC and one-sided Mann-Whitney p of ``z`` against the
      reference; ``fdr``: Benjamini-Hochberg q-value over all groups x sets;
      ``auroc_all``, ``pvalue_all``: the same against all other cells.
    * ``loo_min_auroc``, ``loo_max_pvalue``, ``loo_weakest``, ``loo_survives``: the
      weakest leave-one-factor-out variant and whether every variant holds.
    * ``drivers``, ``driver_detail``: up to three genes carrying the signal.
    * ``inhibitory_*``, ``machinery_*``: inhibitory factors and secretory machinery
      against the same reference (reported, never counted in the flag).
    * ``nes``, ``nes_pvalue``, ``nes_fdr``, ``enrichment_note``: gseapy prerank
      (descriptive).
    * ``flagged``, ``reasons``: the call and why, in words; ``lineage_evidence``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> flag_table(adata).shape[0]  # 5 groups x 2 sets
    10
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    return _restore(block["table"])


def lineage_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """One row per group: lineage state, per-programme detection and the evidence.

    Written by :func:`scclast.tl.lineage_states` and by :func:`scclast.tl.flag`.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.lineage_states(adata, "cluster")
    >>> lineage_table(adata)["lineage_state"].tolist()[:2]
    ['macrophage', 'oc_precursor']
    """
    block = Keys(key_added).require(adata, Step.LINEAGE, "scclast.tl.lineage_states")
    return _restore(block["table"])


def drivers(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per group x set x measured gene: means, detection and contribution to the score.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> top = drivers(adata).query("group == '3'").nlargest(1, "contribution")
    >>> top["gene"].tolist()
    ['Slit3']
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    return _restore(block.get("drivers", pd.DataFrame()))


def enrichment_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """gseapy prerank per group x set, from :func:`scclast.tl.prerank` (descriptive).

    Columns: :data:`scclast.tl._enrichment.COLUMNS` (``group``, ``gene_set``,
    ``n_genes``, ``n_in_ranking``, ``es``, ``nes``, ``nes_pvalue``, ``nes_fdr``,
    ``lead_genes``, ``enrichment_note``).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.prerank(adata, "cluster", "clastokines_secreted", permutation_num=100)
    >>> table = enrichment_table(adata)
    >>> table.shape, table.loc[table["nes"].idxmax(), "group"]
    ((5, 10), '3')
    """
    block = Keys(key_added).require(adata, Step.ENRICHMENT, "scclast.tl.prerank")
    return _restore(block["table"])


def scores(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per-cell table of every column scclast wrote under ``key_added``.

    Uncalibrated scores, calibrated z-scores and p-values, lineage state, flag and
    Leiden clusters, in ``obs`` order; the index is named ``cell``. Columns are taken
    from the steps' records, not matched by prefix, so the user's own columns never
    slip in.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> adata.obs["scclast_note"] = "mine"  # a user column: never taken
    >>> scclast.tl.score(adata, "clastokines_secreted", method="mean")
    >>> scclast.tl.lineage_states(adata, "cluster")
    >>> scores(adata).columns.tolist()
    ['scclast_clastokines_secreted', 'scclast_lineage_state']
    """
    columns = Keys(key_added).score_columns(adata)
    frame = adata.obs[columns].copy()
    frame.index = frame.index.astype(str)
    frame.index.name = "cell"
    return frame


def flagged_groups(adata: AnnData | pd.DataFrame, key_added: str = DEFAULT_KEY) -> list[str]:
    """Groups flagged for at least one gene set, in table order.

    Takes the AnnData or a flagging table.

    Examples
    --------
    >>> flagged_groups(pd.DataFrame({"group": ["a", "a", "b"], "flagged": [False, True, False]}))
    ['a']
    """
    table = adata if isinstance(adata, pd.DataFrame) else flag_table(adata, key_added)
    if table.empty:
        return []
    flagged = table.loc[table["flagged"].astype(bool), "group"].astype(str)
    return list(dict.fromkeys(flagged))


def groupby(adata: AnnData, key_added: str = DEFAULT_KEY) -> str:
    """The grouping column of the last flag: the one given, or the Leiden clusters built.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False, key_added="run2")
    >>> groupby(adata, "run2")
    'cluster'
    >>> groupby(adata)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: adata.uns['scclast']['flag'] is missing: run ...
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    recorded = block.get("groupby")
    if isinstance(recorded, str) and recorded in adata.obs:
        return recorded
    return Keys(key_added).leiden


def group_expression(
    adata: AnnData,
    genes: Sequence[str],
    groupby: str,
    *,
    view: ExpressionView | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean normalised expression and fraction of expressing cells, group x gene.

    One pass over the matrix in row chunks, so backed AnnData objects work with bounded
    memory. Counts are normalised on the fly (``log1p`` of counts per 10,000);
    log-normalised data are used as stored. Genes not in the data are left out.

    Parameters
    ----------
    adata
        Cells x genes.
    genes
        Gene symbols.
    groupby
        ``obs`` column of groups.
    view
        A prebuilt expression view of ``adata`` (saves a pass over the symbols).

    Returns
    -------
    mean, fraction
        Two frames indexed by group (as text), one column per gene found.

    Examples
    --------
    >>> import anndata as ad
    >>> a = ad.AnnData(np.array([[0, 2], [1, 0], [3, 3]], dtype=np.float32))
    >>> a.var_names = ["Acp5", "Ctsk"]; a.obs["grp"] = pd.Categorical(["x", "x", "y"])
    >>> mean, frac = group_expression(a, ["Ctsk"], "grp")
    >>> frac["Ctsk"].tolist()
    [0.5, 1.0]
    """
    view = view if view is not None else expression_view(adata)
    codes, groups = group_codes(adata, groupby)
    indices, found, _ = view.index_of(genes)
    summary = summarise_groups(view.iter_chunks(), codes, groups, indices, found)
    index = pd.Index(groups, name=groupby)
    return (
        pd.DataFrame(summary.means(), index=index, columns=found),
        pd.DataFrame(summary.detection(), index=index, columns=found),
    )


def _restore(stored: Any) -> pd.DataFrame:
    """A stored table as a fresh DataFrame with boolean columns as ``bool``."""
    if isinstance(stored, Mapping):  # very old anndata wrote frames as dicts of arrays
        stored = pd.DataFrame(dict(stored))
    table = pd.DataFrame(stored).copy()
    for column in _BOOL_COLUMNS:
        if column in table.columns:
            table[column] = table[column].map(_as_bool).astype(bool)
    return table.reset_index(drop=True)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) if not (isinstance(value, float) and np.isnan(value)) else False


__all__ = [
    "drivers",
    "enrichment_table",
    "flag_table",
    "flagged_groups",
    "group_expression",
    "groupby",
    "lineage_table",
    "scores",
]
