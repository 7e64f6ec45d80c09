"""Flag candidate secretory osteoclast-lineage populations with calibrated statistics.

:func:`flag` turns gene-set scores into defensible calls, one row per group and gene
set. A group is a *candidate secretory population* for a set when

1. it is osteoclast-lineage (:mod:`scclast.lineage`: myeloid identity gate first),
2. its calibrated score beats the other osteoclast-lineage groups at the chosen FDR
   (Benjamini-Hochberg over groups x sets) and effect size (AUROC), and
3. the call is robust: it survives leaving out any single factor of the set.

Calibration (in the spirit of scDRS, Zhang et al. 2022, Nat Genet 54:1572)
-------------------------------------------------------------------------
For every set, ``n_control_sets`` control sets are drawn gene by gene: each set gene is
replaced by one of its ``n_match`` nearest genes by rank of mean and variance of
normalised expression (genes of every scored set excluded), with a random generator
seeded by ``seed`` and a stable hash of the set's name. The raw score of a set is the
mean normalised expression of its genes; the set and all its control sets (and every
leave-one-factor-out variant) are scored together as sparse products with
:func:`scclast._matrix.matmul`. Each score is centred over cells (scDRS), and each cell's
set score is expressed against *its own* control scores:

* ``z = (s - mean(controls)) / sd(controls)`` (obs ``{prefix}{set}_z``) and
* ``p = (1 + #{controls >= s}) / (n_control_sets + 1)`` (obs ``{prefix}{set}_pval``).

Deep cells and highly expressed sets raise the set and its matched controls alike, so
depth and expression level cancel in ``z``.

Group statistics
----------------
Per group and set: the AUROC of the group's ``z`` against the reference cells and a
one-sided Mann-Whitney test (``pvalue``). The reference is the cells of the other
osteoclast-lineage groups (with at least ``min_cells`` cells); when there is no other
lineage group, all other cells. The same against all other cells is reported as
``auroc_all``/``pvalue_all``. ``fdr`` is the Benjamini-Hochberg q-value over every
group x set with a p-value.

Leave-one-factor-out
--------------------
Each factor of a set (all genes of a catalogue factor, e.g. Sphk1 + Spns2 for S1P; each
gene of a user set) is dropped in turn; the variant keeps the same matched controls of
the remaining genes. A flag needs every variant to keep ``AUROC >= min_auroc`` and a
p-value under the Benjamini-Hochberg cut-off of the main tests; a set with a single
measured factor cannot pass (a one-gene program is not a secretory program).

Examples
--------
>>> import scclast
>>> table = scclast.flag(adata, groupby="cluster")  # doctest: +SKIP
>>> table.loc[table.flagged, ["group", "gene_set", "auroc", "fdr", "reasons"]]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import rankdata

from scclast import lineage as _lineage
from scclast._errors import ScclastInputError
from scclast._neighbors import knn_transformer
from scclast._stats import (
    GroupGeneSummary,
    auroc_mannwhitney,
    benjamini_hochberg,
    bh_threshold,
    empirical_pvalue,
)

log = logging.getLogger("scclast")

STEP = "flag"
"""Key of the flagging record in ``adata.uns["scclast"]``."""

DEFAULT_GENE_SETS: tuple[str, ...] = ("clastokines_secreted", "clastokines_putative")
"""Sets that can flag a group by default (pro-anabolic clastokines)."""

INHIBITORY_SET = "coupling_inhibitory"
"""Reported in its own columns; never part of a pro-anabolic score."""

MACHINERY_SET = "secretory_machinery"
"""Capacity to secrete, reported beside what a group secretes; never flags."""

TABLE_COLUMNS: tuple[str, ...] = (
    "group",
    "n_cells",
    "lineage_state",
    "gene_set",
    "coverage",
    "n_factors",
    "mean_score",
    "mean_raw_score",
    "frac_significant",
    "reference",
    "auroc",
    "pvalue",
    "fdr",
    "auroc_all",
    "pvalue_all",
    "loo_min_auroc",
    "loo_max_pvalue",
    "loo_weakest",
    "loo_survives",
    "drivers",
    "driver_detail",
    "inhibitory_mean_score",
    "inhibitory_auroc",
    "inhibitory_pvalue",
    "machinery_mean_score",
    "machinery_auroc",
    "machinery_pvalue",
    "nes",
    "nes_pvalue",
    "nes_fdr",
    "enrichment_note",
    "flagged",
    "reasons",
    "lineage_evidence",
)
"""Columns of the table returned by :func:`flag`, in order (names are stable)."""

_MAX_BLOCK_ELEMENTS = 1 << 25
"""Cells x columns of one sparse product (256 MiB of float64)."""

_N_DRIVERS = 3


# --------------------------------------------------------------------------- plans


@dataclass
class SetPlan:
    """One gene set as scored: its measured genes, their factors and its role."""

    name: str
    role: str
    genes: list[str]
    found: list[str]
    index: np.ndarray
    factor_of: list[str]
    removed_inhibitory: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> str:
        """``"measured/total"`` genes."""
        return f"{len(self.found)}/{len(self.genes)}"

    def factors(self) -> dict[str, list[int]]:
        """Factor -> positions of its measured genes (in :attr:`found`)."""
        out: dict[str, list[int]] = {}
        for position, factor in enumerate(self.factor_of):
            out.setdefault(factor, []).append(position)
        return out


@dataclass
class Calibrated:
    """Calibrated per-cell scores of one set (and its leave-one-factor-out variants)."""

    z: np.ndarray
    pvalue: np.ndarray
    raw: np.ndarray
    loo: dict[str, np.ndarray] = field(default_factory=dict)
    controls: np.ndarray | None = None


# --------------------------------------------------------------------------- public API


def flag(
    adata: Any,
    groupby: str | None = None,
    *,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str] = DEFAULT_GENE_SETS,
    species: str = "auto",
    method: str = "seurat",
    n_control_sets: int = 200,
    n_match: int | None = None,
    seed: int = 0,
    fdr: float = 0.05,
    min_auroc: float = 0.6,
    min_cells: int = 10,
    min_genes: int = 2,
    min_coverage: float = 0.5,
    cell_alpha: float = 0.05,
    osteomorph_signature: Mapping[str, Iterable[str]] | Iterable[str] | str | Path | None = None,
    lineage_rules: _lineage.LineageRules | None = None,
    enrichment: bool = True,
    enrichment_permutations: int = 1000,
    enrichment_rank_method: str = "t-test",
    resolution: float = 1.0,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_prefix: str = "scclast_",
    copy: bool = False,
    return_table: bool = True,
) -> pd.DataFrame | Any | None:
    """Flag candidate secretory osteoclast-lineage groups with calibrated statistics.

    Parameters
    ----------
    adata
        Cells x genes, raw counts or log-normalised (in memory, backed or dask; the
        optional clustering and enrichment steps load a normalised copy into memory).
    groupby
        ``obs`` column of cluster or cell-type labels. ``None``: clusters are built with
        scanpy's standard path (log-normalise counts, 2,000 highly variable genes
        chosen *without* the scored genes, PCA, 15-neighbour graph, Leiden, all seeded
        with ``seed``), stored as ``obs[key_prefix + "leiden"]`` and recorded.
    gene_sets
        Sets that can flag a group: catalogue names, ``{name: genes}``, ``"all"`` or a
        GMT path (:func:`scclast.genesets.resolve_gene_sets`). Genes of inhibitory
        factors (Sema4d) are removed from them; ``coupling_inhibitory`` and
        ``secretory_machinery`` are always reported in their own columns instead.
    species
        ``"auto"``, ``"mouse"`` or ``"human"``.
    method
        Method of the uncalibrated scores written to ``obs[key_prefix + set]``
        (:func:`scclast.scoring.score`). The calibrated statistics always use the mean
        of normalised expression (linear, so it can be matched against controls in one
        product; a per-cell background as in ``seurat`` cancels in ``z``).
    n_control_sets
        Control gene sets per set (default 200; empirical p-values bottom out at
        ``1 / (n_control_sets + 1)``).
    n_match
        Candidate control genes per set gene (nearest by mean and variance rank).
        Default: ``n_genes / 20`` clipped to [10, 50].
    seed
        Seed of control draws, clustering and enrichment permutations.
    fdr
        Benjamini-Hochberg level for a flag (default 0.05).
    min_auroc
        Effect size for a flag: AUROC against the reference (default 0.6), required
        of the set and of every leave-one-factor-out variant.
    min_cells
        Groups with fewer cells are reported as too small and never flagged (default 10).
    min_genes
        Sets with fewer measured genes are reported with low coverage, not scored.
    min_coverage
        A set with less than this fraction of its genes in the data is scored and
        reported but cannot flag a group: the call would rest on too few of its
        genes (default 0.5).
    cell_alpha
        Per-cell empirical p-value counted as significant in ``frac_significant``.
    osteomorph_signature
        Gene list, ``{name: genes}`` or signature file (McDonald et al. 2021);
        enables osteomorph calls. Without it no group is ever called osteomorph.
    lineage_rules
        Thresholds of the lineage calls (:class:`scclast.lineage.LineageRules`).
    enrichment
        Run gseapy prerank per group as a second line of evidence
        (:func:`scclast.enrichment.prerank_groups`).
    enrichment_permutations
        gseapy permutations (gene-set permutation).
    enrichment_rank_method
        scanpy ``rank_genes_groups`` method for the per-group ranking: ``"t-test"``
        (default; fast on large data) or ``"wilcoxon"``.
    resolution
        Leiden resolution when ``groupby`` is ``None``.
    layer, use_raw, gene_symbols
        Matrix and symbol choice (:func:`scclast._matrix.expression_view`).
    key_prefix
        Prefix of the ``obs`` columns written.
    copy
        Work on a copy; returns ``(copy, table)`` (or the copy when ``return_table``
        is ``False``).
    return_table
        Return the table (default) or ``None``.

    Returns
    -------
    pandas.DataFrame
        One row per group x flagging set, columns :data:`TABLE_COLUMNS`:

        * ``group``, ``n_cells``: the group and its size.
        * ``lineage_state``: :mod:`scclast.lineage` call (``macrophage``,
          ``oc_precursor``, ``osteoclast``, ``osteomorph``, ``myeloid (no
          osteoclast-lineage program)``, ``non-lineage``, ``undetermined (low
          coverage)``).
        * ``gene_set``, ``coverage`` ("measured/total" genes), ``n_factors`` (measured).
        * ``mean_score``: mean calibrated ``z`` in the group; ``mean_raw_score``: mean
          of the uncalibrated ``method`` score; ``frac_significant``: fraction of the
          group's cells with empirical p < ``cell_alpha``.
        * ``reference``: ``"other lineage groups"`` or ``"all other cells"``.
        * ``auroc``, ``pvalue``: AUROC and one-sided Mann-Whitney p of ``z`` against the
          reference; ``fdr``: BH q-value over all groups x sets;
          ``auroc_all``, ``pvalue_all``: the same against all other cells.
        * ``loo_min_auroc``, ``loo_max_pvalue``, ``loo_weakest``: the weakest
          leave-one-factor-out variant; ``loo_survives``: every variant keeps
          ``AUROC >= min_auroc`` and ``p <=`` the BH cut-off.
        * ``drivers``: up to three genes carrying the signal (largest contribution to
          the group's mean score over the reference); ``driver_detail``: gene
          [factor], detection in the group vs outside it.
        * ``inhibitory_*``, ``machinery_*``: ``coupling_inhibitory`` and
          ``secretory_machinery`` mean ``z``, AUROC and p against the same reference
          (reported, never counted in the flag).
        * ``nes``, ``nes_pvalue``, ``nes_fdr``, ``enrichment_note``: gseapy prerank of the
          group's ranking (NaN with a note when not computed).
        * ``flagged``: candidate secretory population for this set; ``reasons``: why
          (or why not), in words; ``lineage_evidence``: the lineage call's evidence.

        Also written: ``obs[key_prefix + set]`` (uncalibrated), ``..._z``,
        ``..._pval``, ``obs[key_prefix + "lineage_state"]``,
        ``obs[key_prefix + "flagged"]`` (cell in a group flagged for any set), and
        ``uns["scclast"]["flag"]`` (provenance, parameters, the table, the lineage
        table, per-gene driver statistics, control genes, clustering, message).

    Raises
    ------
    ScclastInputError
        Missing ``groupby`` column (lists the ``obs`` columns), bad parameters, scaled
        data, or no measured gene in any set.

    Examples
    --------
    >>> from scclast.datasets import simulate_osteoclastogenesis  # doctest: +SKIP
    >>> adata = simulate_osteoclastogenesis(n_cells=1500, seed=0)  # doctest: +SKIP
    >>> table = flag(adata, "cluster", enrichment=False)  # doctest: +SKIP
    >>> table.query("flagged")[["group", "gene_set", "auroc", "fdr", "reasons"]]  # doctest: +SKIP
    """
    from scclast import _matrix
    from scclast._provenance import provenance, record

    params = _check_parameters(
        n_control_sets,
        n_match,
        fdr,
        min_auroc,
        min_cells,
        min_genes,
        min_coverage,
        cell_alpha,
        enrichment_permutations,
        seed,
    )
    _check_methods(method, enrichment, enrichment_rank_method)
    adata = adata.copy() if copy else adata
    if groupby is not None:
        _lineage.group_codes(adata, groupby)  # fail fast on a missing column
    view = _matrix.expression_view(
        adata, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols, species=species
    )
    _lineage.check_view(view)
    species_used = _lineage.resolve_species(view, species)
    plans = plan_sets(view, gene_sets, species_used)
    lineage_sets = _lineage.lineage_gene_sets(species_used, osteomorph_signature)
    lineage_plans = _add_lineage_plans(plans, view, lineage_sets, species_used)

    clustering: dict[str, Any] = {}
    normalised = None
    if groupby is None:
        normalised = _normalised(view, adata)
        groupby, clustering = cluster(
            adata,
            normalised,
            exclude=_all_genes(plans),
            seed=seed,
            resolution=resolution,
            key=f"{key_prefix}leiden",
        )
    codes, groups = _lineage.group_codes(adata, groupby)

    all_genes = [p.found for p in plans.values()] + list(lineage_sets.values())
    summary = _lineage.summarise_sets(view, codes, groups, all_genes)
    big = summary.n_cells >= min_cells
    lineage_table = _lineage.call_states(
        summary, lineage_sets, lineage_rules, eligible=big, n_vars=view.n_vars
    )

    calibrated = calibrate(view, plans, n_control_sets, seed, params["n_match"], min_genes)
    _add_lineage_scores(lineage_table, calibrated, codes, lineage_plans)
    raw = _raw_scores(
        adata,
        plans,
        method,
        species_used,
        layer,
        use_raw,
        gene_symbols,
        key_prefix,
        seed,
        min_genes,
    )
    table, drivers = group_table(
        plans,
        calibrated,
        raw,
        codes,
        summary,
        lineage_table,
        fdr=fdr,
        min_auroc=min_auroc,
        min_cells=min_cells,
        cell_alpha=cell_alpha,
        min_coverage=min_coverage,
    )
    enrichment_table = None
    if enrichment:
        normalised = normalised if normalised is not None else _normalised(view, adata)
        enrichment_table = _enrichment(
            normalised,
            codes,
            groups,
            plans,
            big,
            enrichment_permutations,
            enrichment_rank_method,
            seed,
        )
    table = finish_table(table, enrichment_table, enrichment)
    message = _message(lineage_table, big, table)
    if message:
        log.warning(message)

    _write_obs(adata, plans, calibrated, codes, lineage_table, table, key_prefix)
    block = provenance(
        groupby=groupby,
        gene_sets=_describe(gene_sets),
        species=species,
        method=method,
        n_control_sets=n_control_sets,
        n_match=params["n_match"],
        seed=seed,
        fdr=fdr,
        min_auroc=min_auroc,
        min_cells=min_cells,
        min_genes=min_genes,
        min_coverage=min_coverage,
        cell_alpha=cell_alpha,
        osteomorph_signature=_describe(osteomorph_signature),
        enrichment=enrichment,
        enrichment_permutations=enrichment_permutations,
        enrichment_rank_method=enrichment_rank_method,
        resolution=resolution,
        layer=layer,
        use_raw=use_raw,
        gene_symbols=gene_symbols,
        key_prefix=key_prefix,
    )
    block.update(
        species_used=species_used,
        matrix=view.record,
        lineage_rules=(lineage_rules or _lineage.LineageRules()).as_dict(),
        table=_lineage.table_for_uns(table),
        lineage=_lineage.table_for_uns(lineage_table),
        drivers=_lineage.table_for_uns(drivers),
        sets=_set_records(plans, calibrated, view),
        clustering=clustering or {"method": "none", "groupby": groupby},
        message=message,
        calibration=_calibration_note(n_control_sets, params["n_match"]),
    )
    record(adata, STEP, block)
    table.attrs["message"] = message
    log.info(
        "flagged %d of %d group x set rows (%d groups, %d sets)",
        int(table["flagged"].sum()),
        len(table),
        len(groups),
        len(plans),
    )
    if copy:
        return (adata, table) if return_table else adata
    return table if return_table else None


# --------------------------------------------------------------------------- parameters


def _check_parameters(
    n_control_sets: int,
    n_match: int | None,
    fdr: float,
    min_auroc: float,
    min_cells: int,
    min_genes: int,
    min_coverage: float,
    cell_alpha: float,
    permutations: int,
    seed: int,
) -> dict[str, Any]:
    if not isinstance(n_control_sets, (int, np.integer)) or n_control_sets < 10:
        raise ScclastInputError(f"n_control_sets={n_control_sets!r}: give an integer >= 10")
    if n_match is not None and (not isinstance(n_match, (int, np.integer)) or n_match < 2):
        raise ScclastInputError(f"n_match={n_match!r}: give an integer >= 2 or None")
    for name, value in (("fdr", fdr), ("cell_alpha", cell_alpha)):
        if not 0.0 < float(value) < 1.0:
            raise ScclastInputError(f"{name}={value!r}: give a value between 0 and 1")
    if not 0.0 <= float(min_coverage) <= 1.0:
        raise ScclastInputError(f"min_coverage={min_coverage!r}: give a value between 0 and 1")
    if not 0.5 <= float(min_auroc) <= 1.0:
        raise ScclastInputError(f"min_auroc={min_auroc!r}: give a value between 0.5 and 1")
    for name, value in (("min_cells", min_cells), ("min_genes", min_genes)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ScclastInputError(f"{name}={value!r}: give a positive integer")
    if not isinstance(permutations, (int, np.integer)) or permutations < 10:
        raise ScclastInputError(f"enrichment_permutations={permutations!r}: give >= 10")
    if not isinstance(seed, (int, np.integer)):
        raise ScclastInputError(f"seed={seed!r}: give an integer")
    return {"n_match": n_match}


def _check_methods(method: str, enrichment: bool, rank_method: str) -> None:
    from scclast.enrichment import RANK_METHODS
    from scclast.scoring import METHODS

    if method not in METHODS:
        raise ScclastInputError(f"method={method!r}: use one of {', '.join(METHODS)}")
    if enrichment and rank_method not in RANK_METHODS:
        raise ScclastInputError(
            f"enrichment_rank_method={rank_method!r}: use one of {', '.join(RANK_METHODS)}"
        )


def _describe(value: Any) -> Any:
    if value is None or isinstance(value, (str, Path)):
        return value
    if isinstance(value, Mapping):
        return {str(k): list(map(str, v)) for k, v in value.items()}
    return [str(v) for v in value]


# --------------------------------------------------------------------------- sets


def plan_sets(
    view: Any,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str],
    species: str,
) -> dict[str, SetPlan]:
    """The sets to score: flagging sets, then the inhibitory and machinery sets.

    Genes of inhibitory catalogue factors are removed from flagging sets (they are
    reported in the ``inhibitory_*`` columns, never counted as pro-anabolic);
    ``coupling_inhibitory`` and ``secretory_machinery`` requested as flagging sets are
    moved to their own roles.

    Examples
    --------
    >>> plans = plan_sets(view, ["clastokines_secreted"], "mouse")  # doctest: +SKIP
    >>> plans["clastokines_secreted"].factors()  # doctest: +SKIP
    """
    from scclast import genesets

    requested = genesets.resolve_gene_sets(gene_sets, species)
    inhibitory_genes = _inhibitory_genes(species)
    plans: dict[str, SetPlan] = {}
    for name, genes in requested.items():
        if name in (INHIBITORY_SET, MACHINERY_SET):
            log.info("%s is reported in its own columns, not as a flagging set", name)
            continue
        kept = [g for g in genes if g not in inhibitory_genes]
        removed = [g for g in genes if g in inhibitory_genes]
        if removed:
            log.info("%s: inhibitory factor genes %s reported separately", name, removed)
        plans[name] = _plan(view, name, "flag", kept, species, removed=removed)
    if not plans:
        raise ScclastInputError(
            "no flagging gene set left: give clastokine sets (e.g. 'clastokines_secreted'); "
            f"{INHIBITORY_SET} and {MACHINERY_SET} are reported in their own columns"
        )
    catalogue = set(genesets.names())
    for name, role in ((INHIBITORY_SET, "inhibitory"), (MACHINERY_SET, "machinery")):
        if name in catalogue:
            plans[name] = _plan(view, name, role, genesets.get(name, species), species)
    if not any(len(p.found) for p in plans.values() if p.role == "flag"):
        names = ", ".join(p.name for p in plans.values() if p.role == "flag")
        raise ScclastInputError(
            f"none of the genes of {names} is in the data: check species/gene symbols "
            "(gene_symbols=) or choose other sets"
        )
    return plans


def _plan(
    view: Any,
    name: str,
    role: str,
    genes: list[str],
    species: str,
    removed: list[str] | None = None,
) -> SetPlan:
    index, found, _ = view.index_of(genes)
    factor_map = _factor_map(name, species)
    return SetPlan(
        name=name,
        role=role,
        genes=list(dict.fromkeys(genes)),
        found=found,
        index=index,
        factor_of=[factor_map.get(g, g) for g in found],
        removed_inhibitory=list(removed or []),
    )


def _factor_map(name: str, species: str) -> dict[str, str]:
    """Gene -> catalogue factor id of a catalogue set (genes of user sets stand alone)."""
    from scclast import genesets

    if name not in genesets.names():
        return {}
    return {m.symbol(species): m.factor for m in genesets.members(name) if m.factor}


def _inhibitory_genes(species: str) -> set[str]:
    from scclast import genesets

    catalogue = genesets.load()
    return {
        pair.symbol(species)
        for factor in catalogue.factors.values()
        if factor.effect == "inhibitory"
        for pair in factor.genes
    }


def _add_lineage_plans(
    plans: dict[str, SetPlan], view: Any, lineage_sets: Mapping[str, list[str]], species: str
) -> dict[str, str]:
    """Score the lineage programs too (evidence only); returns program -> set name."""
    names = {}
    for program, genes in lineage_sets.items():
        name = _lineage.LINEAGE_SETS.get(program, program)
        if name not in plans:
            plans[name] = _plan(view, name, "lineage", genes, species)
        names[program] = name
    return names


def _add_lineage_scores(
    lineage_table: pd.DataFrame,
    calibrated: Mapping[str, Calibrated],
    codes: np.ndarray,
    names: Mapping[str, str],
) -> None:
    """``{program}_score``: mean calibrated z of each lineage program per group.

    The scores are evidence beside the detection-based call (appended to ``evidence``);
    they do not change it.
    """
    parts = [[] for _ in range(len(lineage_table))]
    for program, name in names.items():
        cal = calibrated.get(name)
        scores = np.full(len(lineage_table), np.nan)
        if cal is not None:
            for g in range(len(lineage_table)):
                scores[g] = _mean(cal.z[codes == g])
                parts[g].append(f"{program} {scores[g]:.2f}")
        lineage_table[f"{program}_score"] = scores
    lineage_table["evidence"] = [
        evidence + ("; mean calibrated z: " + ", ".join(p) if p else "")
        for evidence, p in zip(lineage_table["evidence"], parts, strict=True)
    ]


def _all_genes(plans: Mapping[str, SetPlan]) -> set[str]:
    return {g for p in plans.values() for g in p.found}


# --------------------------------------------------------------------------- calibration


def default_n_match(n_genes: int) -> int:
    """Candidate controls per gene: ``n_genes / 20`` clipped to [10, 50].

    Examples
    --------
    >>> default_n_match(240), default_n_match(20000)
    (12, 50)
    """
    return int(np.clip(n_genes // 20, 10, 50))


def match_controls(
    index: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    n_control_sets: int,
    rng: np.random.Generator,
    n_match: int,
    exclude: np.ndarray,
) -> np.ndarray:
    """Control genes matched one by one on mean and variance of expression.

    Genes are placed by their rank of mean and of variance (scaled to [0, 1]); each set
    gene's candidates are its ``n_match`` nearest genes (Euclidean, ties broken by gene
    order) outside ``exclude``; the controls of the ``n_control_sets`` sets are drawn
    from them with replacement.

    Returns
    -------
    numpy.ndarray
        ``(n_control_sets, len(index))`` gene positions; column ``i`` matches
        ``index[i]``.

    Examples
    --------
    >>> mean = np.arange(100.0); var = np.arange(100.0)
    >>> excl = np.zeros(100, bool); excl[[10, 50]] = True
    >>> c = match_controls(np.array([10, 50]), mean, var, 5, np.random.default_rng(0), 4, excl)
    >>> c.shape, bool(np.all(np.abs(c[:, 1] - 50) <= 2))
    ((5, 2), True)
    """
    n = mean.size
    rank_mean = (rankdata(mean) - 1) / max(1, n - 1)
    rank_var = (rankdata(var) - 1) / max(1, n - 1)
    candidates = np.flatnonzero(~exclude)
    if candidates.size == 0:
        raise ScclastInputError("no control genes left: the data hold only scored genes")
    k = min(n_match, candidates.size)
    out = np.empty((n_control_sets, index.size), dtype=np.intp)
    for i, gene in enumerate(index):
        distance = (rank_mean[candidates] - rank_mean[gene]) ** 2 + (
            rank_var[candidates] - rank_var[gene]
        ) ** 2
        pool = candidates[np.argsort(distance, kind="stable")[:k]]
        out[:, i] = rng.choice(pool, size=n_control_sets, replace=True)
    return out


def set_rng(seed: int, name: str) -> np.random.Generator:
    """Random generator of one set: seed plus a stable hash of the set's name.

    Examples
    --------
    >>> int(set_rng(0, "a").integers(100)) == int(set_rng(0, "a").integers(100))
    True
    """
    digest = hashlib.sha256(f"flag:{name}".encode()).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


@dataclass
class _Variant:
    name: str
    dropped: str | None
    positions: np.ndarray


def calibrate(
    view: Any,
    plans: Mapping[str, SetPlan],
    n_control_sets: int,
    seed: int,
    n_match: int | None = None,
    min_genes: int = 1,
) -> dict[str, Calibrated]:
    """Calibrated per-cell scores of every set with a measured gene.

    Flagging sets also get one variant per measured factor with that factor left out.
    See the module documentation for the definition.
    """
    from scclast import _matrix

    mean, var = _matrix.gene_moments(view)
    n_match = n_match or default_n_match(view.n_vars)
    exclude = np.zeros(view.n_vars, dtype=bool)
    for plan in plans.values():
        exclude[plan.index] = True
    controls = {
        name: match_controls(
            plan.index, mean, var, n_control_sets, set_rng(seed, name), n_match, exclude
        )
        for name, plan in plans.items()
        if len(plan.found) >= min_genes
    }
    variants = _variants(plans, controls)
    results: dict[str, Calibrated] = {}
    for batch in _batches(variants, view.n_obs, n_control_sets + 1):
        weights = sparse.hstack(
            [
                _weights(plans[v.name].index, controls[v.name], v.positions, view.n_vars)
                for v in batch
            ],
            format="csr",
        )
        raw = _matrix.matmul(view, weights)
        centre = np.asarray(weights.T @ mean).ravel()
        width = n_control_sets + 1
        for j, variant in enumerate(batch):
            columns = slice(j * width, (j + 1) * width)
            _store(results, variant, raw[:, columns], centre[columns], controls[variant.name])
    return results


def _variants(plans: Mapping[str, SetPlan], controls: Mapping[str, np.ndarray]) -> list[_Variant]:
    variants = []
    for name in controls:
        plan = plans[name]
        every = np.arange(len(plan.found))
        variants.append(_Variant(name, None, every))
        if plan.role != "flag":
            continue
        factors = plan.factors()
        if len(factors) < 2:
            continue
        for factor, positions in factors.items():
            variants.append(_Variant(name, factor, np.setdiff1d(every, positions)))
    return variants


def _batches(variants: list[_Variant], n_obs: int, width: int) -> list[list[_Variant]]:
    per_batch = max(1, _MAX_BLOCK_ELEMENTS // max(1, n_obs * width))
    return [variants[i : i + per_batch] for i in range(0, len(variants), per_batch)]


def _weights(
    index: np.ndarray, controls: np.ndarray, positions: np.ndarray, n_vars: int
) -> sparse.csr_matrix:
    """Columns: the set (mean of its genes at ``positions``), then each control set."""
    n_controls, m = controls.shape[0], positions.size
    rows = np.concatenate([index[positions], controls[:, positions].ravel()])
    cols = np.concatenate([np.zeros(m, dtype=np.intp), np.repeat(np.arange(1, n_controls + 1), m)])
    data = np.full(rows.size, 1.0 / m)
    return sparse.coo_matrix((data, (rows, cols)), shape=(n_vars, n_controls + 1)).tocsr()


def _store(
    results: dict[str, Calibrated],
    variant: _Variant,
    raw: np.ndarray,
    centre: np.ndarray,
    controls: np.ndarray,
) -> None:
    centred = raw - centre
    score, control_scores = centred[:, 0], centred[:, 1:]
    z = calibrated_z(score, control_scores)
    if variant.dropped is None:
        results[variant.name] = Calibrated(
            z=z,
            pvalue=empirical_pvalue(score, control_scores),
            raw=raw[:, 0].copy(),
            controls=controls,
        )
    else:
        results[variant.name].loo[variant.dropped] = z


def calibrated_z(score: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Each cell's score as a z-score against its own control scores.

    Cells whose control scores are all equal get ``z = 0`` (no evidence either way).

    Examples
    --------
    >>> calibrated_z(np.array([3.0, 1.0]), np.array([[0.0, 2.0], [1.0, 1.0]])).round(3)
    array([1.414, 0.   ])
    """
    mu = controls.mean(axis=1)
    sd = controls.std(axis=1, ddof=1) if controls.shape[1] > 1 else np.zeros(score.shape)
    z = np.zeros_like(score)
    ok = sd > 1e-12
    z[ok] = (score[ok] - mu[ok]) / sd[ok]
    return z


# --------------------------------------------------------------------------- raw scores


def _raw_scores(
    adata: Any,
    plans: Mapping[str, SetPlan],
    method: str,
    species: str,
    layer: str | None,
    use_raw: bool,
    gene_symbols: str | None,
    key_prefix: str,
    seed: int,
    min_genes: int,
) -> dict[str, np.ndarray]:
    """Uncalibrated scores with :func:`scclast.scoring.score` (obs ``key_prefix + set``)."""
    from scclast import scoring

    sets = {p.name: p.found for p in plans.values() if len(p.found) >= min_genes}
    if not sets:
        return {}
    scoring.score(
        adata,
        sets,
        method=method,
        species=species,
        layer=layer,
        use_raw=use_raw,
        gene_symbols=gene_symbols,
        key_prefix=key_prefix,
        min_genes=min_genes,
        seed=seed,
    )
    return {name: adata.obs[f"{key_prefix}{name}"].to_numpy(dtype=float) for name in sets}


# --------------------------------------------------------------------------- group table


@dataclass(frozen=True)
class _Thresholds:
    fdr: float
    min_auroc: float
    min_cells: int
    cell_alpha: float
    min_coverage: float = 0.5


def group_table(
    plans: Mapping[str, SetPlan],
    calibrated: Mapping[str, Calibrated],
    raw: Mapping[str, np.ndarray],
    codes: np.ndarray,
    summary: GroupGeneSummary,
    lineage_table: pd.DataFrame,
    *,
    fdr: float = 0.05,
    min_auroc: float = 0.6,
    min_cells: int = 10,
    cell_alpha: float = 0.05,
    min_coverage: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Statistics, flags and reasons per group x flagging set (before enrichment).

    Returns
    -------
    table, drivers
        The table (without the enrichment columns) and per-gene driver statistics
        (one row per group x set x measured gene).
    """
    limits = _Thresholds(fdr, min_auroc, min_cells, cell_alpha, min_coverage)
    big = summary.n_cells >= min_cells
    lineage_ok = lineage_table["osteoclast_lineage"].to_numpy(dtype=bool) & big
    rows, driver_frames = [], []
    for g, group in enumerate(summary.groups):
        reference_groups, reference = _reference(g, lineage_ok)
        masks = _Masks(
            group=codes == g,
            reference=np.isin(codes, reference_groups),
            others=(codes >= 0) & (codes != g),
        )
        side = _side_columns(calibrated, masks, big[g])
        for plan in plans.values():
            if plan.role != "flag":
                continue
            row = {
                "group": group,
                "n_cells": int(summary.n_cells[g]),
                "lineage_state": str(lineage_table["lineage_state"].iloc[g]),
                "gene_set": plan.name,
                "coverage": plan.coverage,
                "n_factors": len(plan.factors()),
                "reference": reference,
                "lineage_evidence": str(lineage_table["evidence"].iloc[g]),
                "_lineage": bool(lineage_ok[g]),
                "_big": bool(big[g]),
                "_covered": len(plan.found) >= min_coverage * len(plan.genes),
                **side,
            }
            row.update(
                _score_columns(
                    plan, calibrated.get(plan.name), raw.get(plan.name), masks, big[g], limits
                )
            )
            drivers, detail, frame = _drivers(plan, summary, g, reference_groups)
            row.update(drivers=drivers, driver_detail=detail)
            driver_frames.append(frame.assign(group=group, gene_set=plan.name))
            rows.append(row)
    table = pd.DataFrame(rows)
    table["fdr"] = benjamini_hochberg(table["pvalue"])
    cutoff = bh_threshold(table["pvalue"], fdr)
    table["loo_survives"] = (
        (table["n_factors"] >= 2)
        & (table["loo_min_auroc"] >= min_auroc)
        & (table["loo_max_pvalue"] <= cutoff)
    )
    table["flagged"] = (
        table["_lineage"]
        & table["_covered"]
        & (table["fdr"] <= fdr)
        & (table["auroc"] >= min_auroc)
        & table["loo_survives"]
    )
    table["reasons"] = [_reasons(row, limits, cutoff) for row in table.to_dict("records")]
    drivers = pd.concat(driver_frames, ignore_index=True) if driver_frames else pd.DataFrame()
    return table.drop(columns=["_lineage", "_big", "_covered", "_loo_max_p_factor"]), drivers


@dataclass(frozen=True)
class _Masks:
    group: np.ndarray
    reference: np.ndarray
    others: np.ndarray


def _reference(g: int, lineage_ok: np.ndarray) -> tuple[np.ndarray, str]:
    """Other osteoclast-lineage groups, or all other groups when there is none."""
    lineage_groups = np.flatnonzero(lineage_ok)
    other_lineage = lineage_groups[lineage_groups != g]
    if other_lineage.size:
        return other_lineage, "other lineage groups"
    everyone = np.arange(lineage_ok.size)
    return everyone[everyone != g], "all other cells"


def _score_columns(
    plan: SetPlan,
    cal: Calibrated | None,
    raw: np.ndarray | None,
    masks: _Masks,
    big: bool,
    limits: _Thresholds,
) -> dict[str, Any]:
    nan = float("nan")
    out: dict[str, Any] = dict.fromkeys(
        (
            "mean_score",
            "mean_raw_score",
            "frac_significant",
            "auroc",
            "pvalue",
            "auroc_all",
            "pvalue_all",
            "loo_min_auroc",
            "loo_max_pvalue",
        ),
        nan,
    )
    out["loo_weakest"] = ""
    out["_loo_max_p_factor"] = ""
    out["_scored"] = cal is not None
    if cal is None:
        return out
    out["mean_score"] = _mean(cal.z[masks.group])
    out["frac_significant"] = _mean(cal.pvalue[masks.group] < limits.cell_alpha)
    if raw is not None:
        out["mean_raw_score"] = _mean(raw[masks.group])
    if not big:
        return out
    stacked = np.column_stack([cal.z, *cal.loo.values()])
    auroc, pvalue = auroc_mannwhitney(stacked[masks.group], stacked[masks.reference])
    auroc_all, pvalue_all = auroc_mannwhitney(cal.z[masks.group], cal.z[masks.others])
    out.update(
        auroc=float(auroc[0]),
        pvalue=float(pvalue[0]),
        auroc_all=float(auroc_all),
        pvalue_all=float(pvalue_all),
    )
    if cal.loo:
        factors = list(cal.loo)
        out.update(
            loo_min_auroc=float(auroc[1:].min()),
            loo_max_pvalue=float(pvalue[1:].max()),
            loo_weakest=factors[int(np.argmin(auroc[1:]))],
            _loo_max_p_factor=factors[int(np.argmax(pvalue[1:]))],
        )
    return out


def _side_columns(
    calibrated: Mapping[str, Calibrated], masks: _Masks, big: bool
) -> dict[str, float]:
    """Inhibitory and machinery mean z, AUROC and p against the row's reference."""
    out = {}
    for prefix, name in (("inhibitory", INHIBITORY_SET), ("machinery", MACHINERY_SET)):
        cal = calibrated.get(name)
        mean_score = auroc = pvalue = float("nan")
        if cal is not None:
            mean_score = _mean(cal.z[masks.group])
            if big:
                auroc, pvalue = (
                    float(v) for v in auroc_mannwhitney(cal.z[masks.group], cal.z[masks.reference])
                )
        out[f"{prefix}_mean_score"] = mean_score
        out[f"{prefix}_auroc"] = auroc
        out[f"{prefix}_pvalue"] = pvalue
    return out


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else float("nan")


def _drivers(
    plan: SetPlan, summary: GroupGeneSummary, g: int, reference_groups: np.ndarray
) -> tuple[str, str, pd.DataFrame]:
    """Genes carrying the group's score: contribution to its mean over the reference."""
    positions = summary.gene_positions(plan.found)
    genes = [summary.genes[i] for i in positions]
    factor = dict(zip(plan.found, plan.factor_of, strict=True))
    outside = np.array([i for i in range(len(summary.groups)) if i != g], dtype=int)
    mean_in = summary.means()[g, positions]
    mean_ref = summary.means(reference_groups)[positions]
    frame = pd.DataFrame(
        {
            "gene": genes,
            "factor": [factor[x] for x in genes],
            "mean_in_group": mean_in,
            "mean_in_reference": mean_ref,
            "detection_in_group": summary.detection()[g, positions],
            "detection_outside": summary.detection(outside)[positions],
            "contribution": (mean_in - mean_ref) / max(1, len(plan.found)),
        }
    )
    top = frame[frame["contribution"] > 0].nlargest(_N_DRIVERS, "contribution")
    names = ", ".join(top["gene"])
    detail = "; ".join(
        f"{r.gene} [{r.factor}] {r.detection_in_group:.0%} in group vs {r.detection_outside:.0%} "
        "outside"
        for r in top.itertuples()
    )
    return names, detail, frame


# --------------------------------------------------------------------------- reasons


def _reasons(row: Mapping[str, Any], limits: _Thresholds, cutoff: float) -> str:
    """Why a row is (not) flagged, in one line."""
    state = row["lineage_state"]
    if not row["_big"]:
        return f"not flagged: too small ({row['n_cells']} cells < {limits.min_cells})"
    if not row["_lineage"]:
        return "not flagged: " + _state_reason(state)
    if not row["_scored"]:
        return (
            f"not flagged: low coverage of {row['gene_set']} ({row['coverage']} genes in the data)"
        )
    auroc_ok = row["auroc"] >= limits.min_auroc
    fdr_ok = row["fdr"] <= limits.fdr
    summary = (
        f"{row['gene_set']} AUROC {row['auroc']:.2f}"
        + ("" if auroc_ok else f" < {limits.min_auroc:g}")
        + f" vs {row['reference']}, FDR {_fmt_p(row['fdr'])}"
        + ("" if fdr_ok else f" > {limits.fdr:g}")
    )
    if row["flagged"]:
        text = f"flagged: {summary}, survives leave-one-out"
        text += f" (weakest without {row['loo_weakest']}: AUROC {row['loo_min_auroc']:.2f})"
        if row["drivers"]:
            text += f"; drivers {row['drivers']}"
        return text + _side_reason(row)
    problems = []
    if not row["_covered"]:
        problems.append(
            f"low coverage ({row['coverage']} genes in the data, need {limits.min_coverage:.0%})"
        )
    if auroc_ok and fdr_ok and not row["loo_survives"]:
        problems.append(_loo_reason(row, limits, cutoff))
    return f"not flagged: {summary}" + ("; " + "; ".join(problems) if problems else "")


def _state_reason(state: str) -> str:
    if state == _lineage.NON_LINEAGE:
        return "non-lineage (no myeloid identity)"
    if state == _lineage.UNDETERMINED:
        return "lineage undetermined (low coverage of the lineage genes)"
    if state == _lineage.MYELOID_OTHER:
        return "myeloid without an osteoclast-lineage program"
    return f"lineage state {state}"


def _loo_reason(row: Mapping[str, Any], limits: _Thresholds, cutoff: float) -> str:
    if row["n_factors"] < 2:
        return "fails leave-one-out: only one factor measured"
    if not row["loo_min_auroc"] >= limits.min_auroc:
        return (
            f"fails leave-one-out (without {row['loo_weakest']}: AUROC "
            f"{row['loo_min_auroc']:.2f} < {limits.min_auroc:g})"
        )
    return (
        f"fails leave-one-out (without {row['_loo_max_p_factor']}: p "
        f"{_fmt_p(row['loo_max_pvalue'])} above the BH cut-off {_fmt_p(cutoff)})"
    )


def _side_reason(row: Mapping[str, Any]) -> str:
    parts = []
    if np.isfinite(row.get("machinery_auroc", np.nan)):
        parts.append(f"secretory machinery AUROC {row['machinery_auroc']:.2f}")
    if np.isfinite(row.get("inhibitory_auroc", np.nan)):
        parts.append(f"inhibitory (reported apart) AUROC {row['inhibitory_auroc']:.2f}")
    return ("; " + ", ".join(parts)) if parts else ""


def _fmt_p(value: float) -> str:
    if not np.isfinite(value):
        return "NA"
    return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}".replace("e-0", "e-")


# --------------------------------------------------------------------------- enrichment


def _normalised(view: Any, adata: Any) -> Any:
    from scclast.enrichment import normalised_anndata

    return normalised_anndata(view, obs_names=adata.obs_names)


def _enrichment(
    normalised: Any,
    codes: np.ndarray,
    groups: list[str],
    plans: Mapping[str, SetPlan],
    big: np.ndarray,
    permutations: int,
    rank_method: str,
    seed: int,
) -> pd.DataFrame:
    from scclast.enrichment import prerank_groups

    labels = np.where(codes >= 0, np.asarray(groups, dtype=object)[np.maximum(codes, 0)], None)
    normalised.obs["_scclast_group"] = pd.Categorical(labels, categories=groups)
    tested = [gr for gr, ok in zip(groups, big, strict=True) if ok]
    sets = {p.name: p.genes for p in plans.values() if p.role == "flag"}
    return prerank_groups(
        normalised,
        "_scclast_group",
        sets,
        groups=tested,
        rank_method=rank_method,
        permutation_num=permutations,
        seed=seed,
    )


def finish_table(
    table: pd.DataFrame, enrichment_table: pd.DataFrame | None, enrichment: bool
) -> pd.DataFrame:
    """Add the enrichment columns and order the columns as :data:`TABLE_COLUMNS`."""
    table = table.drop(columns=["_scored"], errors="ignore")
    if enrichment_table is not None and len(enrichment_table):
        keep = ["group", "gene_set", "nes", "nes_pvalue", "nes_fdr", "enrichment_note"]
        table = table.merge(enrichment_table[keep], on=["group", "gene_set"], how="left")
        table["enrichment_note"] = table["enrichment_note"].fillna("not computed (group too small)")
    else:
        for column in ("nes", "nes_pvalue", "nes_fdr"):
            table[column] = np.nan
        table["enrichment_note"] = "not run (enrichment=False)" if not enrichment else ""
    table = table[list(TABLE_COLUMNS)].copy()
    table["flagged"] = table["flagged"].astype(bool)
    table["loo_survives"] = table["loo_survives"].astype(bool)
    return table.reset_index(drop=True)


# --------------------------------------------------------------------------- clustering


def cluster(
    adata: Any,
    normalised: Any,
    *,
    exclude: Iterable[str] = (),
    seed: int = 0,
    resolution: float = 1.0,
    key: str = "scclast_leiden",
    n_top_genes: int = 2000,
) -> tuple[str, dict[str, Any]]:
    """Leiden clusters with scanpy's standard path, seeded; written to ``obs[key]``.

    Highly variable genes are chosen on the log-normalised data (``flavor="seurat"``)
    and the ``exclude`` genes (the scored sets) are left out of them, so groups are not
    defined by the genes later tested on them.

    Returns
    -------
    key, record
        The ``obs`` column and a description of the clustering for the provenance.
    """
    import scanpy as sc

    work = normalised.copy()
    n_top = min(n_top_genes, work.n_vars)
    sc.pp.highly_variable_genes(work, n_top_genes=n_top, flavor="seurat")
    excluded = work.var_names.isin(list(exclude))
    mask = work.var["highly_variable"].to_numpy() & ~excluded
    n_comps = int(max(2, min(30, mask.sum() - 1, work.n_obs - 1)))
    sc.pp.pca(work, n_comps=n_comps, mask_var=mask, random_state=seed)
    n_neighbors = int(min(15, work.n_obs - 1))
    sc.pp.neighbors(
        work,
        n_neighbors=n_neighbors,
        random_state=seed,
        transformer=knn_transformer(work.n_obs, n_neighbors, seed),
    )
    sc.tl.leiden(
        work,
        resolution=resolution,
        random_state=seed,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        key_added="leiden",
    )
    adata.obs[key] = pd.Categorical(work.obs["leiden"].astype(str).to_numpy())
    record = {
        "method": "leiden",
        "groupby": key,
        "steps": "log-normalised (scclast._matrix), highly_variable_genes(flavor='seurat'), "
        "pca, neighbors, leiden(flavor='igraph', n_iterations=2)",
        "n_top_genes": int(n_top),
        "n_hvg_used": int(mask.sum()),
        "n_scored_genes_excluded": int((work.var["highly_variable"].to_numpy() & excluded).sum()),
        "n_pcs": n_comps,
        "n_neighbors": n_neighbors,
        "resolution": float(resolution),
        "seed": int(seed),
        "n_clusters": int(adata.obs[key].nunique()),
    }
    log.info("no groupby given: built %d Leiden clusters (obs[%r])", record["n_clusters"], key)
    return key, record


# --------------------------------------------------------------------------- outputs


def _write_obs(
    adata: Any,
    plans: Mapping[str, SetPlan],
    calibrated: Mapping[str, Calibrated],
    codes: np.ndarray,
    lineage_table: pd.DataFrame,
    table: pd.DataFrame,
    key_prefix: str,
) -> None:
    new = {}
    for name in plans:
        if name in calibrated:
            new[f"{key_prefix}{name}_z"] = calibrated[name].z
            new[f"{key_prefix}{name}_pval"] = calibrated[name].pvalue
    flagged_groups = set(table.loc[table["flagged"], "group"])
    groups = lineage_table["group"].tolist()
    in_flagged = np.array([g in flagged_groups for g in groups] + [False], dtype=bool)
    new[f"{key_prefix}flagged"] = in_flagged[np.where(codes >= 0, codes, len(groups))]
    frame = pd.DataFrame(new, index=adata.obs_names)
    kept = adata.obs.drop(columns=[c for c in frame.columns if c in adata.obs.columns])
    adata.obs = pd.concat([kept, frame], axis=1)
    _lineage.write_states(adata, codes, lineage_table, f"{key_prefix}lineage_state")


def _set_records(
    plans: Mapping[str, SetPlan], calibrated: Mapping[str, Calibrated], view: Any
) -> dict[str, Any]:
    records = {}
    for name, plan in plans.items():
        entry: dict[str, Any] = {
            "role": plan.role,
            "genes": plan.genes,
            "genes_found": plan.found,
            "genes_missing": [g for g in plan.genes if g not in set(plan.found)],
            "coverage": plan.coverage,
            "factors": {f: [plan.found[i] for i in pos] for f, pos in plan.factors().items()},
            "removed_inhibitory": plan.removed_inhibitory,
            "scored": name in calibrated,
        }
        cal = calibrated.get(name)
        if cal is not None and cal.controls is not None:
            symbols = np.asarray(view.symbols, dtype=object)
            entry["control_sets"] = [",".join(symbols[row]) for row in cal.controls]
            entry["loo_variants"] = list(cal.loo)
        records[name] = entry
    return records


def _calibration_note(n_control_sets: int, n_match: int | None) -> str:
    match = n_match if n_match is not None else "n_genes/20 clipped to [10, 50]"
    return (
        f"scDRS-style: {n_control_sets} control sets per set, each gene matched to one of "
        f"its {match} nearest genes by rank of mean and variance (scored genes excluded); "
        "raw score = mean normalised expression; scores centred over cells; per cell "
        "z = (s - mean(ctrl)) / sd(ctrl), p = (1 + #ctrl >= s) / (n + 1)"
    )


def _message(lineage_table: pd.DataFrame, big: np.ndarray, table: pd.DataFrame) -> str:
    lineage_ok = lineage_table["osteoclast_lineage"].to_numpy(dtype=bool) & big
    if lineage_ok.any():
        return ""
    counts = lineage_table["lineage_state"].value_counts()
    states = ", ".join(f"{state} {n}" for state, n in counts.items())
    return (
        "no osteoclast-lineage group (macrophage, precursor, osteoclast or osteomorph with "
        f"enough cells) in these data: nothing can be flagged; group states: {states}"
    )


__all__ = [
    "DEFAULT_GENE_SETS",
    "INHIBITORY_SET",
    "MACHINERY_SET",
    "TABLE_COLUMNS",
    "calibrate",
    "flag",
    "match_controls",
]
