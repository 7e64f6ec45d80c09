"""Gene-set enrichment per group with gseapy prerank: descriptive, never a flag.

:func:`prerank` ranks genes per group against all other cells with scanpy's
``rank_genes_groups`` (t-test by default, Wilcoxon on request; on log-normalised
expression); each group's ranking (the test statistic, genes never expressed left out)
goes to ``gseapy.prerank`` with the gene sets given as a dictionary, so it runs offline.
:func:`scclast.tl.flag` ranks from its pseudobulk totals instead
(:func:`prerank_rankings`): with a sample key, a replicate-aware ranking (a moderated
paired t of per-sample pseudobulk fold changes); without one, a cell-level Welch t.

What it shows is descriptive: prerank's p-values come from permuting genes among 3-9
gene sets, its FDR runs over the few sets asked for, and a cell-level ranking treats
cells as replicates. Read it for which genes lead a set, not as a test of a population.

Small sets are the point here: the clastokine sets have a handful of genes, and
gseapy's default ``min_size=15`` would silently drop every one of them. We lower
``min_size`` (default 1) and report every set anyway: a set with fewer genes in the
ranking than ``min_size`` gets NaN with an explanation in ``enrichment_note``, never
a missing row.

See :func:`prerank` for an example.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import genesets
from scclast._adata import copy_or_self
from scclast._docs import (
    doc_adata,
    doc_copy,
    doc_groupby,
    doc_key_added,
    doc_matrix,
    doc_params,
    doc_returns_copy,
    doc_species,
)
from scclast._errors import ScclastInputError
from scclast._groups import check_view, group_codes, resolve_species
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view, normalised_anndata
from scclast._provenance import provenance
from scclast._types import RANK_METHODS, RankMethod, Species

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")


COLUMNS: tuple[str, ...] = (
    "group",
    "gene_set",
    "n_genes",
    "n_in_ranking",
    "es",
    "nes",
    "nes_pvalue",
    "nes_fdr",
    "lead_genes",
    "enrichment_note",
)
"""Columns of the enrichment table."""


def rank_genes(
    normalised: AnnData,
    groupby: str,
    groups: Sequence[str] | None = None,
    method: str = "t-test",
) -> pd.DataFrame:
    """Genes x groups ranking statistic of each group against all other cells.

    Genes with no expression in any cell are left out (they would tie at zero).

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view, normalised_anndata
    >>> adata = scclast.datasets.example()
    >>> normalised = normalised_anndata(expression_view(adata), adata.obs_names)
    >>> normalised.obs["cluster"] = adata.obs["cluster"].to_numpy()
    >>> ranking = rank_genes(normalised, "cluster")
    >>> sorted(ranking.columns), bool(ranking.loc["Slit3", "3"] > 10)  # Slit3 planted in 3
    (['0', '1', '2', '3', '4', '5', '6', '7'], True)
    """
    import scanpy as sc  # on first use: importing scclast.tl stays fast

    if method not in RANK_METHODS:
        raise ScclastInputError(f"rank method {method!r}: use one of {', '.join(RANK_METHODS)}")
    expressed = np.asarray((normalised.X != 0).sum(axis=0)).ravel() > 0
    work = normalised[:, expressed].copy()
    if groups is None:
        counts = work.obs[groupby].value_counts()
        groups = [str(g) for g, n in counts.items() if n >= 2]
    groups = [str(g) for g in groups]
    if not groups or work.n_vars < 2:
        return pd.DataFrame(index=pd.Index(work.var_names, name="gene"))
    sc.tl.rank_genes_groups(
        work,
        groupby,
        groups=groups,
        reference="rest",
        method=method,
        use_raw=False,
        n_genes=work.n_vars,
        tie_correct=True,
        key_added="_scclast_rank",
    )
    result = work.uns["_scclast_rank"]
    columns = {}
    for group in groups:
        names = np.asarray(result["names"][group], dtype=object)
        scores = np.asarray(result["scores"][group], dtype=float)
        columns[group] = pd.Series(scores, index=names)
    return pd.DataFrame(columns).reindex(work.var_names)


def prerank_groups(
    normalised: AnnData,
    groupby: str,
    gene_sets: Mapping[str, Iterable[str]],
    *,
    groups: Sequence[str] | None = None,
    rank_method: str = "t-test",
    permutation_num: int = 1000,
    min_size: int = 1,
    max_size: int = 5000,
    seed: int = 0,
    threads: int = 1,
) -> pd.DataFrame:
    """gseapy prerank of every group's ranking against the given sets (offline).

    Parameters
    ----------
    normalised
        Log-normalised AnnData (see :func:`normalised_anndata`).
    groupby
        ``obs`` column of group labels.
    gene_sets
        ``{name: genes}``; passed to gseapy as a dictionary (no download).
    groups
        Groups to test (default: all with at least 2 cells).
    rank_method
        scanpy ``rank_genes_groups`` method.
    permutation_num
        gseapy gene-set permutations (p-value resolution ``1 / permutation_num``).
    min_size, max_size
        Bounds on a set's genes *in the ranking*; sets outside them are reported
        with NaN and a note (gseapy would drop them silently).
    seed, threads
        gseapy seed and threads.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, one row per group x set (every set, every group).

    Examples
    --------
    >>> import scclast
    >>> from scclast._matrix import expression_view, normalised_anndata
    >>> adata = scclast.datasets.example()
    >>> normalised = normalised_anndata(expression_view(adata), adata.obs_names)
    >>> normalised.obs["cluster"] = adata.obs["cluster"].to_numpy()
    >>> sets = {"planted": ["Slit3", "Sphk1", "C3"], "absent": ["NotAGene"]}
    >>> table = prerank_groups(normalised, "cluster", sets, permutation_num=100)
    >>> table.loc[table["nes"].idxmax(), "group"]
    '3'
    >>> table.loc[table["gene_set"] == "absent", "enrichment_note"].iloc[0]
    'not computed: 0 of 1 genes in the ranking (min_size 1, max_size 5000)'
    """
    if min_size < 1 or max_size < min_size:
        raise ScclastInputError(f"min_size={min_size}, max_size={max_size}: need 1 <= min <= max")
    ranking = rank_genes(normalised, groupby, groups, rank_method)
    return prerank_rankings(
        {str(group): ranking[group].dropna() for group in ranking.columns},
        gene_sets,
        permutation_num=permutation_num,
        min_size=min_size,
        max_size=max_size,
        seed=seed,
        threads=threads,
    )


def prerank_rankings(
    rankings: Mapping[str, pd.Series],
    gene_sets: Mapping[str, Iterable[str]],
    *,
    permutation_num: int = 1000,
    min_size: int = 1,
    max_size: int = 5000,
    seed: int = 0,
    threads: int = 1,
    notes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """gseapy prerank of rankings computed elsewhere (one per group) against the sets.

    Parameters
    ----------
    rankings
        ``{group: statistic per gene}`` (genes as the index; higher = more in the group).
    gene_sets, permutation_num, min_size, max_size, seed, threads
        As for :func:`prerank_groups`.
    notes
        ``{group: text}`` appended to ``enrichment_note`` (what the ranking is).

    Examples
    --------
    >>> genes = [f"g{i}" for i in range(50)]
    >>> ranking = pd.Series(np.linspace(3, -3, 50), index=genes)
    >>> table = prerank_rankings({"a": ranking}, {"top": genes[:4]}, permutation_num=50,
    ...                          notes={"a": "a test ranking"})
    >>> bool(table.loc[0, "nes"] > 0), table.loc[0, "enrichment_note"]
    (True, 'gseapy prerank, 4/4 genes ranked; a test ranking')
    """
    if min_size < 1 or max_size < min_size:
        raise ScclastInputError(f"min_size={min_size}, max_size={max_size}: need 1 <= min <= max")
    sets = {str(k): list(dict.fromkeys(map(str, v))) for k, v in gene_sets.items()}
    rows = []
    for group, metric in rankings.items():
        rows += _prerank_one(
            metric.dropna(),
            str(group),
            sets,
            permutation_num,
            min_size,
            max_size,
            seed,
            threads,
            note=(notes or {}).get(group, ""),
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _prerank_one(
    metric: pd.Series,
    group: str,
    sets: Mapping[str, list[str]],
    permutation_num: int,
    min_size: int,
    max_size: int,
    seed: int,
    threads: int,
    note: str = "",
) -> list[dict[str, Any]]:
    import gseapy  # on first use, like scanpy

    in_ranking = {name: [g for g in genes if g in metric.index] for name, genes in sets.items()}
    usable = {
        name: genes
        for name, genes in in_ranking.items()
        if min_size <= len(genes) <= max_size and len(genes) < metric.size
    }
    results: dict[str, dict[str, Any]] = {}
    if usable:
        ordered = _strictly_ordered(metric)
        run = gseapy.prerank(
            rnk=ordered,
            gene_sets=usable,
            min_size=min_size,
            max_size=max_size,
            permutation_num=permutation_num,
            seed=seed,
            threads=threads,
            outdir=None,
            no_plot=True,
            verbose=False,
            ascending=False,
        )
        for record in run.res2d.to_dict("records"):
            results[str(record["Term"])] = record
    return [
        _row(group, name, sets[name], in_ranking[name], results.get(name), min_size, max_size, note)
        for name in sets
    ]


def _strictly_ordered(metric: pd.Series) -> pd.Series:
    """Sort decreasing, ties broken by gene name, then nudged apart by ~1e-12.

    gseapy warns that tied genes take an arbitrary order; the order is made
    deterministic here and the nudge keeps the values' effect on the ES negligible.
    """
    frame = pd.DataFrame({"value": metric.to_numpy(dtype=float), "gene": metric.index})
    frame = frame.sort_values(["value", "gene"], ascending=[False, True], kind="stable")
    scale = max(float(np.abs(frame["value"]).max()), 1.0) * 1e-12
    values = frame["value"].to_numpy() - scale * np.arange(len(frame))
    return pd.Series(values, index=frame["gene"].to_numpy(), name="metric")


def _row(
    group: str,
    name: str,
    genes: list[str],
    ranked: list[str],
    result: Mapping[str, Any] | None,
    min_size: int,
    max_size: int,
    note: str = "",
) -> dict[str, Any]:
    nan = float("nan")
    row: dict[str, Any] = {
        "group": group,
        "gene_set": name,
        "n_genes": len(genes),
        "n_in_ranking": len(ranked),
        "es": nan,
        "nes": nan,
        "nes_pvalue": nan,
        "nes_fdr": nan,
        "lead_genes": "",
        "enrichment_note": "",
    }
    if result is None:
        row["enrichment_note"] = (
            f"not computed: {len(ranked)} of {len(genes)} genes in the ranking "
            f"(min_size {min_size}, max_size {max_size})"
        )
        return row
    row.update(
        es=float(result["ES"]),
        nes=float(result["NES"]),
        nes_pvalue=float(result["NOM p-val"]),
        nes_fdr=float(result["FDR q-val"]),
        lead_genes=str(result.get("Lead_genes") or "").replace(";", ","),
        enrichment_note=f"gseapy prerank, {len(ranked)}/{len(genes)} genes ranked"
        + (f"; {note}" if note else ""),
    )
    return row


@doc_params(
    doc_adata=doc_adata,
    doc_groupby=doc_groupby,
    doc_species=doc_species,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def prerank(
    adata: AnnData,
    groupby: str,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str] = (
        "clastokines_secreted",
        "clastokines_putative",
    ),
    *,
    species: Species = "auto",
    rank_method: RankMethod = "t-test",
    permutation_num: int = 1000,
    min_size: int = 1,
    min_cells: int = 2,
    seed: int = 0,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Enrichment of catalogue (or user) sets in each group's ranking, offline.

    Descriptive: the ranking compares cells of one group with all other cells, so its
    p-values treat cells as replicates; use it to see which genes lead a set, not as a
    test of a population.

    Parameters
    ----------
    {doc_adata}
    {doc_groupby}
    gene_sets
        Catalogue names, ``{name: genes}``, ``"all"`` or a GMT path.
    {doc_species}
    rank_method, permutation_num, min_size, seed
        See :func:`~scclast.tl._enrichment.prerank_groups`.
    min_cells
        Groups with fewer cells are not tested (rows with NaN and a note).
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Writes ``uns[key_added]["enrichment"]`` (provenance and the table, read with
    :func:`scclast.get.enrichment_table`; columns
    :data:`~scclast.tl._enrichment.COLUMNS`).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.prerank(adata, "cluster", "clastokines_secreted", permutation_num=100)
    >>> table = scclast.get.enrichment_table(adata)
    >>> table.sort_values("nes").iloc[-1]["group"]
    '3'
    """
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    codes, groups = group_codes(adata, groupby)
    view = expression_view(
        adata, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols, species=species
    )
    check_view(view)
    sets = genesets.resolve_gene_sets(gene_sets, resolve_species(view, species))
    normalised = normalised_anndata(view, adata.obs_names)
    normalised.obs[groupby] = adata.obs[groupby].to_numpy()
    sizes = np.bincount(codes[codes >= 0], minlength=len(groups))
    tested = [g for g, n in zip(groups, sizes, strict=True) if n >= max(2, min_cells)]
    table = prerank_groups(
        normalised,
        groupby,
        sets,
        groups=tested,
        rank_method=rank_method,
        permutation_num=permutation_num,
        min_size=min_size,
        seed=seed,
    )
    table = _add_untested(table, groups, tested, sets, min_cells)
    block = provenance(
        groupby=groupby,
        gene_sets=sorted(sets),
        species=species,
        rank_method=rank_method,
        permutation_num=permutation_num,
        min_size=min_size,
        min_cells=min_cells,
        seed=seed,
        layer=layer,
        use_raw=use_raw,
        key_added=key_added,
    )
    block["table"] = table.astype({"lead_genes": str, "enrichment_note": str})
    keys.store(adata, Step.ENRICHMENT, block)
    return adata if copy else None


def _add_untested(
    table: pd.DataFrame,
    groups: list[str],
    tested: list[str],
    sets: Mapping[str, list[str]],
    min_cells: int,
) -> pd.DataFrame:
    missing = [g for g in groups if g not in set(tested)]
    if not missing:
        return table
    rows = [
        {
            "group": g,
            "gene_set": name,
            "n_genes": len(genes),
            "n_in_ranking": 0,
            "es": np.nan,
            "nes": np.nan,
            "nes_pvalue": np.nan,
            "nes_fdr": np.nan,
            "lead_genes": "",
            "enrichment_note": f"not computed: group has fewer than {max(2, min_cells)} cells",
        }
        for g in missing
        for name, genes in sets.items()
    ]
    return pd.concat([table, pd.DataFrame(rows, columns=list(COLUMNS))], ignore_index=True)


__all__ = ["COLUMNS", "prerank", "prerank_groups", "prerank_rankings", "rank_genes"]
