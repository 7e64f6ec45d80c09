""":func:`compare_conditions`: catalogue genes, gene sets and abundance between conditions.

Reads the design (:mod:`._design`), sums raw counts per group and sample
(:mod:`._pseudobulk`), tests expression per osteoclast-lineage group (:mod:`._expression`)
and every group's share of cells (:mod:`._abundance`), then applies Benjamini-Hochberg
within each kind of test and stores everything under ``uns[key_added]["conditions"]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import genesets
from scclast._adata import copy_or_self
from scclast._docs import (
    doc_adata,
    doc_copy,
    doc_key_added,
    doc_matrix,
    doc_params,
    doc_returns_copy,
    doc_species,
)
from scclast._errors import ScclastInputError
from scclast._groups import group_codes, resolve_species
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._provenance import provenance
from scclast.tl._conditions import _abundance, _expression
from scclast.tl._conditions._design import (
    MIN_CELLS,
    MIN_SAMPLES,
    group_samples,
    read_design,
)
from scclast.tl._conditions._pseudobulk import counts_view, pseudobulk_sums
from scclast.tl._conditions._tables import (
    ABUNDANCE_COLUMNS,
    COLUMNS,
    abundance_table,
    finish_table,
    group_rows,
    untested_rows,
)

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

SET_CATEGORIES = ("clastokine", "coupling")
"""Catalogue set categories tested by default (the clastokine and coupling sets)."""

_LIBRARIES = ("pydeseq2", "statsmodels")


@doc_params(
    doc_adata=doc_adata,
    doc_species=doc_species,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def compare_conditions(
    adata: AnnData,
    condition: str,
    *,
    sample_key: str | None = None,
    reference: str | None = None,
    groupby: str | None = None,
    groups: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str] | None = None,
    species: str = "auto",
    min_cells: int = MIN_CELLS,
    min_samples: int = MIN_SAMPLES,
    n_background: int = 200,
    transform: str = "logit",
    n_jobs: int = 1,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Compare conditions with samples as replicates: clastokine expression and abundance.

    Two questions, both answered per group with the samples (animals, donors) as the
    unit, never the cells:

    * **Expression** (osteoclast-lineage groups): each sample's cells of the group are
      summed into a pseudobulk; every catalogue gene is tested with PyDESeq2 (Wald test,
      log2 fold change with its 95% interval) and every gene set with a linear model of
      its per-sample score (self-contained; the genes' correlation stays in the
      between-sample variance). A sample enters a group's test with at least
      ``min_cells`` cells of it; a group with fewer than ``min_samples`` such samples in
      a condition is reported, not tested.
    * **Abundance** (every group): each sample's share of the group's cells, transformed
      (logit, as propeller does) and modelled on the condition over samples; shares are
      relative, so one group's rise lowers the others'.

    FDR: Benjamini-Hochberg within genes, within sets and within abundance, each over all
    groups and compared levels.

    Parameters
    ----------
    {doc_adata}
    condition
        ``obs`` column of conditions (treatment, genotype); constant within a sample.
    sample_key
        ``obs`` column of samples (animals, donors): the replicates. Required.
    reference
        Level every other level is compared with (default: the first level).
    groupby
        ``obs`` column of groups; default: the grouping of the last
        :func:`scclast.tl.flag` under ``key_added``.
    groups
        Groups whose expression is tested; default: the osteoclast-lineage groups of the
        lineage calls (:func:`scclast.tl.lineage_states`), else every group.
    genes
        Genes tested one by one; default: the catalogue's coupling-factor genes and the
        members of the tested sets.
    gene_sets
        Sets tested as sets (names, ``{{name: genes}}`` or a GMT path); default: the
        catalogue's clastokine and coupling sets.
    {doc_species}
    min_cells, min_samples
        Cells a sample needs in a group; samples each condition needs.
    n_background
        Genes beside the tested ones that give PyDESeq2 its size factors and dispersion
        trend (spread over the range of expression).
    transform
        Scale of the abundance test: ``"logit"`` or ``"asin"``.
    n_jobs
        CPUs for PyDESeq2.
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Writes ``uns[key_added]["conditions"]``; read the tables with
    :func:`scclast.get.condition_table` and :func:`scclast.get.abundance_table`.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example_conditions()
    >>> scclast.tl.compare_conditions(adata, "condition", sample_key="sample",
    ...     reference="control", groupby="cluster", groups=["2"], n_background=100)
    >>> table = scclast.get.condition_table(adata)
    >>> sorted(table.query("feature_type == 'gene' and fdr <= 0.05")["feature"])
    ['C3', 'Ctf1', 'Cthrc1', 'Lif', 'Slit3', 'Sphk1', 'Spns2', 'Wnt10b', 'Wnt5a']
    >>> abundance = scclast.get.abundance_table(adata).set_index("group")
    >>> abundance.loc["2", ["share_ratio", "fdr"]].astype(float).round(3).tolist()
    [1.912, 0.001]
    """
    started = time.perf_counter()
    if transform not in _abundance.TRANSFORMS:
        raise ScclastInputError(
            f"transform={transform!r}: use one of {', '.join(_abundance.TRANSFORMS)}"
        )
    for name, value, low in (("min_cells", min_cells, 1), ("n_background", n_background, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ScclastInputError(f"{name}={value!r}: give a whole number of at least {low}")
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    groupby = _groupby(adata, groupby, keys)
    design = read_design(adata.obs, sample_key, condition, reference, min_samples)
    group_of_cell, group_names = group_codes(adata, groupby)
    view = counts_view(
        adata, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols, species=species
    )
    species_used = resolve_species(view, species)
    sets = _sets(gene_sets, species_used)
    annotation = _gene_annotation(genes, sets, species_used)
    lineage = _lineage(adata, keys, group_names)
    tested_groups = _expression_groups(groups, group_names, lineage)
    n_samples = len(design.samples)
    units = np.where(
        (group_of_cell >= 0) & (design.cell_sample >= 0),
        group_of_cell * n_samples + design.cell_sample,
        -1,
    )
    cells = np.bincount(units[units >= 0], minlength=len(group_names) * n_samples).reshape(
        len(group_names), n_samples
    )
    sums = pseudobulk_sums(view, units, len(group_names) * n_samples).reshape(
        len(group_names), n_samples, -1
    )
    symbols = [str(s) for s in view.symbols]
    present = set(symbols)
    not_measured = [g for g in annotation.index if g not in present]
    annotation = annotation.loc[[g for g in annotation.index if g in present]]
    log.info(
        "comparing %s (reference %r) over %d samples: expression in %d group(s), abundance "
        "in %d ...",
        " and ".join(map(repr, design.levels)),
        design.reference,
        n_samples,
        len(tested_groups),
        len(group_names),
    )
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    for g, group in enumerate(group_names):
        if group not in tested_groups:
            continue
        per_sample = pd.Series(cells[g], index=design.samples.index)
        used, untested = group_samples(design, per_sample, min_cells, min_samples)
        rows += untested_rows(group, design, untested, annotation, sets)
        if not used:
            continue
        at = design.samples.index.get_indexer(used)
        counts = _expression.pseudobulk_frame(sums[g, at], used, symbols)
        rows += group_rows(
            group, design, counts, untested, annotation, sets, n_background, n_jobs, notes
        )
    table = finish_table(rows, lineage)
    abundance, per_sample_shares = abundance_table(cells, group_names, design, lineage, transform)
    block = provenance(
        condition=condition,
        sample_key=sample_key,
        reference=design.reference,
        groupby=groupby,
        groups=tested_groups,
        species=species,
        min_cells=min_cells,
        min_samples=min_samples,
        n_background=n_background,
        transform=transform,
        layer=layer,
        use_raw=use_raw,
        key_added=key_added,
    )
    block.update(
        libraries=library_versions(),
        groupby=groupby,
        species_used=species_used,
        design=design.as_record(),
        gene_sets={name: list(members) for name, members in sets.items()},
        genes_not_measured=", ".join(not_measured),
        notes=notes,
        table=table,
        abundance=abundance,
        abundance_samples=per_sample_shares,
    )
    keys.store(adata, Step.CONDITIONS, block)
    log.info(
        "conditions compared in %.1f s: %d gene and %d set test(s), %d group(s) for abundance",
        time.perf_counter() - started,
        int(((table["feature_type"] == "gene") & table["tested"]).sum()),
        int(((table["feature_type"] == "gene_set") & table["tested"]).sum()),
        len(group_names),
    )
    return adata if copy else None


def library_versions() -> dict[str, str]:
    """Versions of the libraries doing the statistics (PyDESeq2, statsmodels).

    Examples
    --------
    >>> sorted(library_versions())
    ['pydeseq2', 'statsmodels']
    """
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _groupby(adata: AnnData, groupby: str | None, keys: Keys) -> str:
    if groupby is not None:
        return groupby
    if keys.record(adata, Step.FLAG):
        from scclast import get

        return get.groupby(adata, keys.key_added)
    raise ScclastInputError(
        "compare_conditions needs groupby (an obs column of groups), or a flag "
        f"(scclast.tl.flag) stored under key_added={keys.key_added!r} to take it from"
    )


def _sets(gene_sets: Any, species: str) -> dict[str, list[str]]:
    if gene_sets is None:
        catalogue = genesets.load()
        return {
            name: record.genes(species)
            for name, record in catalogue.sets.items()
            if record.category in SET_CATEGORIES
        }
    return {k: list(v) for k, v in genesets.resolve_gene_sets(gene_sets, species).items()}


def _gene_annotation(
    genes: Sequence[str] | None, sets: Mapping[str, Sequence[str]], species: str
) -> pd.DataFrame:
    """Tested genes with their catalogue category and effect on bone formation."""
    factors = genesets.factor_genes(species).drop_duplicates("gene").set_index("gene")
    if genes is None:
        wanted = [*factors.index, *(g for members in sets.values() for g in members)]
    else:
        wanted = [str(g) for g in genes]
    wanted = list(dict.fromkeys(wanted))
    first_set = {}
    for name, members in sets.items():
        for gene in members:
            first_set.setdefault(gene, name)
    category = [
        str(factors.loc[g, "category"]) if g in factors.index else first_set.get(g, "")
        for g in wanted
    ]
    effect = [str(factors.loc[g, "effect"]) if g in factors.index else "" for g in wanted]
    return pd.DataFrame({"category": category, "effect": effect}, index=pd.Index(wanted))


def _lineage(adata: AnnData, keys: Keys, groups: list[str]) -> pd.DataFrame:
    """Each group's lineage state and whether it is osteoclast lineage (if called)."""
    frame = pd.DataFrame(
        {"lineage_state": "", "osteoclast_lineage": True}, index=pd.Index(groups, dtype=object)
    )
    if not keys.record(adata, Step.LINEAGE):
        return frame
    from scclast import get

    table = get.lineage_table(adata, keys.key_added).astype({"group": str})
    table = table.drop_duplicates("group").set_index("group")
    known = frame.index.intersection(table.index)
    frame.loc[known, "lineage_state"] = table.loc[known, "lineage_state"].astype(str)
    frame.loc[known, "osteoclast_lineage"] = table.loc[known, "osteoclast_lineage"].astype(bool)
    return frame


def _expression_groups(
    groups: Sequence[str] | None, names: list[str], lineage: pd.DataFrame
) -> list[str]:
    if groups is None:
        return [g for g in names if bool(lineage.loc[g, "osteoclast_lineage"])]
    wanted = [str(g) for g in groups]
    unknown = [g for g in wanted if g not in names]
    if unknown:
        raise ScclastInputError(
            f"groups {unknown} are not groups of the data; groups: {', '.join(names)}"
        )
    return [g for g in names if g in wanted]


__all__ = [
    "ABUNDANCE_COLUMNS",
    "COLUMNS",
    "SET_CATEGORIES",
    "compare_conditions",
    "library_versions",
]
