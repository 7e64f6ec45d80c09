"""``scclast.tl.flag``: candidate secretory osteoclast-lineage populations, calibrated.

A group is a *candidate secretory population* for a set when

1. it is osteoclast-lineage and not macrophage (:mod:`scclast.tl._lineage`: myeloid
   identity gate first),
2. its clastokine genes rise over the other osteoclast-lineage groups more than matched
   random gene sets do, by a pseudobulk fold change of at least ``min_fold_change``,
   significantly with the biological replicate as the unit when there are enough
   samples, and consistently across them, and
3. the call survives leaving out any single factor of the set
   (:mod:`~scclast.tl._flag._decision` lists the rule in full).

The stages, one module each: :mod:`~scclast.tl._flag._plan` (which sets, which role),
:mod:`~scclast.tl._flag._replicates` (the sample key and the groups x samples design),
:mod:`~scclast.tl._flag._calibrate` (matched control sets; per-cell scores against
them), :mod:`~scclast.tl._flag._effects` (per-sample pseudobulk effects, paired test,
control-set Monte Carlo p), :mod:`~scclast.tl._flag._group_stats` (the table, with the
cell-level statistics), :mod:`~scclast.tl._flag._decision` (the rule),
:mod:`~scclast.tl._flag._reasons` (the decision in words) and
:mod:`~scclast.tl._flag._rankings` (rankings for the descriptive enrichment). This
module runs them in order behind one call of :func:`flag`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast._adata import copy_or_self
from scclast._docs import (
    doc_adata,
    doc_copy,
    doc_key_added,
    doc_matrix,
    doc_params,
    doc_returns_copy,
    doc_seed,
    doc_species,
)
from scclast._errors import ScclastInputError
from scclast._groups import (
    check_view,
    group_codes,
    resolve_species,
    table_for_uns,
)
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view, normalised_anndata
from scclast._provenance import provenance
from scclast._stats import GroupGeneSummary, Pseudobulk, pseudobulk
from scclast._types import RANK_METHODS, SCORE_METHODS, RankMethod, ScoreMethod, Species
from scclast.tl._cluster import leiden_clusters, store_clusters
from scclast.tl._enrichment import prerank_rankings
from scclast.tl._flag._calibrate import Calibrated, calibrate
from scclast.tl._flag._effects import composition, effects_by_group
from scclast.tl._flag._group_stats import (
    GroupInputs,
    add_lineage_scores,
    finish_table,
    group_table,
    references,
)
from scclast.tl._flag._plan import (
    DEFAULT_GENE_SETS,
    SetPlan,
    add_lineage_plans,
    plan_sets,
)
from scclast.tl._flag._rankings import group_rankings
from scclast.tl._flag._record import (
    calibration_note,
    describe,
    lineage_message,
    replicate_record,
    set_records,
    write_obs,
)
from scclast.tl._flag._replicates import Design, make_design
from scclast.tl._flag._thresholds import FlagThresholds
from scclast.tl._lineage import LineageRules, call_states, lineage_gene_sets, record_states
from scclast.tl._lineage import write_states as write_lineage_states
from scclast.tl._score import score

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView

log = logging.getLogger("scclast")

N_CONTROL_SETS = 1000
"""Control sets per set by default.

The group-level Monte Carlo p-value bottoms out at ``1 / (n_control_sets + 1)``, and it
is corrected over every tested group x set row: a single hit among ``m`` rows passes
``control_fdr`` only when ``m / (n_control_sets + 1) <= control_fdr``. With 1,000 sets
that holds for up to 50 rows (25 groups x 2 sets), where 200 (a floor of 0.005) would
allow 10. The group-level controls cost one small product per set; each cell is
calibrated against the first 200 only (:data:`~scclast.tl._flag._calibrate.CELL_CONTROL_SETS`).
"""


@doc_params(
    doc_adata=doc_adata,
    doc_species=doc_species,
    doc_seed=doc_seed,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def flag(
    adata: AnnData,
    groupby: str | None = None,
    *,
    sample_key: str | None = None,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str] = DEFAULT_GENE_SETS,
    species: Species = "auto",
    method: ScoreMethod = "seurat",
    thresholds: FlagThresholds | None = None,
    lineage_rules: LineageRules | None = None,
    osteomorph_signature: Mapping[str, Iterable[str]] | Iterable[str] | str | Path | None = None,
    n_control_sets: int = N_CONTROL_SETS,
    n_match: int | None = None,
    seed: int = 0,
    enrichment: bool = True,
    enrichment_permutations: int = 1000,
    enrichment_rank_method: RankMethod = "t-test",
    resolution: float = 1.0,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Flag candidate secretory osteoclast-lineage groups with calibrated statistics.

    *Calibrated* means two things. Each set is compared with random gene sets matched
    on expression level and variability (``n_control_sets`` of them), so a group is
    flagged only when its clastokine genes rise more than such genes do between the
    same cells. And with ``sample_key``, the biological replicates (animals, donors),
    not the cells, are the unit of the test, so one animal cannot carry a call.

    Per group and set (the reference is the cells of the other osteoclast-lineage
    groups): the normalised pseudobulk fold change of the set's genes, per sample and
    pooled; the paired t-test of the per-sample values
    (replicated) or the cell-level Mann-Whitney test of calibrated scores
    (exploratory); the control-set Monte Carlo p-value of the same statistic; sign
    agreement over samples; and leave-one-factor-out. The rule and its thresholds:
    :mod:`scclast.tl._flag._decision` and :class:`FlagThresholds`.

    Parameters
    ----------
    {doc_adata}
        Raw counts or log-normalised values (clustering loads a normalised copy into
        memory).
    groupby
        ``obs`` column of cluster or cell-type labels. ``None``: Leiden clusters are
        built (:func:`scclast.tl.cluster`) and stored as ``obs[f"{key_added}_leiden"]``;
        the genes of the flagging sets are kept out of the variable genes they are built
        from (lineage markers stay in: clusters should follow cell identity), so groups
        are not defined by the genes then tested on them. Clusters you supply should be
        made the same way (leave the tested sets' genes out of the variable genes before
        the PCA); scclast cannot check how given clusters were made.
    sample_key
        ``obs`` column of the biological replicate (animal, donor, culture). With at
        least ``thresholds.min_samples`` samples holding ``min_cells`` cells of a group
        (and of its reference), the group is tested on one pseudobulk value per sample,
        paired within sample. Without it, or with fewer samples, cells are treated as
        independent and every flag is labelled exploratory (``evidence``); the log
        then names an ``obs`` column that looks like a replicate column.
    gene_sets
        Sets to test: catalogue names, ``{name: genes}``, ``"all"`` or a GMT path
        (:func:`scclast.genesets.resolve_gene_sets`). Only catalogue sets marked as
        flagging sets (:func:`scclast.genesets.flagging_sets`, the clastokine sets) and
        sets of your own can flag a group; other catalogue sets (lineage, state,
        receptor, phase) are tested and reported as descriptive rows. Genes of
        inhibitory factors (Sema4d) are removed from flagging sets;
        ``coupling_inhibitory`` and ``secretory_machinery`` are always reported in their
        own columns instead.
    {doc_species}
    method
        Method of the uncalibrated scores written to ``obs[f"{key_added}_{set}"]``
        (:func:`scclast.tl.score`). The calibrated statistics always use the mean of
        normalised expression (linear, so it can be matched against controls in one
        product; a per-cell background as in ``seurat`` cancels in ``z``).
    thresholds
        Thresholds of a flag (:class:`FlagThresholds`, each with its reason).
    lineage_rules
        Thresholds of the lineage calls (:class:`scclast.tl.LineageRules`).
    osteomorph_signature
        Gene list, ``{name: genes}`` or signature file (McDonald et al. 2021);
        enables osteomorph calls. Without it no group is ever called osteomorph.
    n_control_sets
        Control gene sets per set (default 1,000). The Monte Carlo p-value bottoms out
        at ``1 / (n_control_sets + 1)`` and is corrected over the tested rows, so raise
        it for many groups: a lone hit among ``m`` rows needs ``n_control_sets + 1 >=
        m / control_fdr`` (the log says when it is too low). Cells are calibrated
        against the first 200.
    n_match
        Candidate control genes per set gene (nearest by mean and variance rank).
        Default: ``n_genes / 20`` clipped to [10, 50].
    {doc_seed}
        Used by the control draws, clustering and enrichment permutations.
    enrichment
        Run gseapy prerank per group as a descriptive line of evidence (never part of
        the flag): on a replicate-aware ranking with a sample key, else cell-level.
    enrichment_permutations
        gseapy permutations (gene-set permutation).
    enrichment_rank_method
        Checked for compatibility; the rankings of a flag come from its pseudobulk
        totals (:mod:`scclast.tl._flag._rankings`). :func:`scclast.tl.prerank` uses it.
    resolution
        Leiden resolution when ``groupby`` is ``None``.
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    The table, one row per group x set, is read with :func:`scclast.get.flag_table`
    (columns and their meaning listed there); per-sample effects with
    :func:`scclast.get.sample_effects`, cells per group and sample with
    :func:`scclast.get.composition`. Also written: ``obs[f"{key_added}_{set}"]``
    (uncalibrated), ``..._z``, ``..._pval``, ``obs[f"{key_added}_lineage_state"]``,
    ``obs[f"{key_added}_flagged"]`` (cell in a group flagged for any set),
    ``uns[key_added]["flag"]`` (provenance, thresholds, the tables, control genes,
    clustering, messages) and ``uns[key_added]["lineage"]``.

    Raises
    ------
    ScclastInputError
        Missing ``groupby`` or ``sample_key`` column (the message lists the columns), a
        sample key with one sample or continuous values, bad parameters, scaled data,
        or no measured gene in any set.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> table = scclast.get.flag_table(adata)
    >>> table.loc[table["flagged"], ["group", "gene_set"]].to_numpy().tolist()
    [['3', 'clastokines_secreted']]
    """
    thresholds = thresholds or FlagThresholds()
    lineage_rules = lineage_rules or LineageRules()
    _check_parameters(n_control_sets, n_match, enrichment_permutations, seed)
    _check_methods(method, enrichment, enrichment_rank_method)
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    matrix = {"layer": layer, "use_raw": use_raw, "gene_symbols": gene_symbols}
    if groupby is not None:
        group_codes(adata, groupby)  # fail fast on a missing column
    design = make_design(adata, sample_key)
    inputs = _read_inputs(adata, gene_sets, species, osteomorph_signature, matrix)
    groups = _make_groups(adata, groupby, inputs, resolution=resolution, seed=seed, keys=keys)
    class_codes, n_classes = design.class_codes(groups.codes, len(groups.labels))
    totals = pseudobulk(inputs.view, class_codes, n_classes)
    summary, lineage, big = _call_lineage(inputs, groups, design, totals, thresholds, lineage_rules)
    calibrated = calibrate(
        inputs.view,
        inputs.plans,
        n_control_sets,
        seed,
        n_match,
        min_genes=thresholds.min_genes,
        moments=totals.moments(),
    )
    add_lineage_scores(lineage, calibrated, groups.codes, inputs.lineage_plans)
    raw = _raw_scores(adata, inputs, method, matrix, keys, seed, thresholds)
    lineage_ok = lineage["osteoclast_lineage"].to_numpy(dtype=bool) & big
    reference_groups = [r for r, _ in references(lineage_ok)]
    controls = {name: c.controls for name, c in calibrated.items() if c.controls is not None}
    effects = effects_by_group(
        totals,
        design,
        inputs.plans,
        controls,
        reference_groups,
        big,
        thresholds.min_cells,
        thresholds.min_samples,
    )
    group_inputs = GroupInputs(
        inputs.plans, calibrated, raw, groups.codes, summary, lineage, design, effects
    )
    table, drivers, samples = group_table(group_inputs, thresholds)
    enrichment_table = None
    if enrichment:
        enrichment_table = _enrichment(
            inputs, groups, design, totals, reference_groups, big, thresholds,
            enrichment_permutations, seed,
        )  # fmt: skip
    table = finish_table(table, enrichment_table, enrichment)
    replicates = replicate_record(adata, design, groups.groupby, table, thresholds, n_control_sets)
    results = _Results(
        lineage=lineage,
        calibrated=calibrated,
        table=table,
        drivers=drivers,
        samples=samples,
        composition=composition(totals, design, groups.labels),
        message=lineage_message(lineage, big),
        replicates=replicates,
    )
    for text in (results.message, replicates["note"], replicates["control_note"]):
        if text:
            log.warning(text)
    parameters = {
        "groupby": groups.groupby,
        "sample_key": sample_key,
        "gene_sets": describe(gene_sets),
        "species": species,
        "method": method,
        "thresholds": thresholds.as_dict(),
        "lineage_rules": lineage_rules.as_dict(),
        "osteomorph_signature": describe(osteomorph_signature),
        "n_control_sets": n_control_sets,
        "n_match": n_match,
        "seed": seed,
        "enrichment": enrichment,
        "enrichment_permutations": enrichment_permutations,
        "enrichment_rank_method": enrichment_rank_method,
        "resolution": resolution,
        **matrix,
        "key_added": key_added,
    }
    _write_results(adata, keys, inputs, groups, results, lineage_rules, parameters)
    return adata if copy else None


@dataclass
class _Inputs:
    """What the matrix and the requested sets resolve to (stage 1)."""

    view: ExpressionView
    species: str
    plans: dict[str, SetPlan]
    lineage_sets: dict[str, list[str]]
    lineage_plans: dict[str, str]

    @property
    def tested_genes(self) -> set[str]:
        """Measured genes of the flagging sets (kept out of clustering)."""
        return {g for p in self.plans.values() if p.role == "flag" for g in p.found}


def _read_inputs(
    adata: AnnData,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str],
    species: str,
    osteomorph_signature: Mapping[str, Iterable[str]] | Iterable[str] | str | Path | None,
    matrix: Mapping[str, Any],
) -> _Inputs:
    """The expression view, the species and the plans of every set to score."""
    view = expression_view(adata, species=species, **matrix)
    check_view(view)
    species_used = resolve_species(view, species)
    plans = plan_sets(view, gene_sets, species_used)
    lineage_sets = lineage_gene_sets(species_used, osteomorph_signature)
    lineage_plans = add_lineage_plans(plans, view, lineage_sets, species_used)
    return _Inputs(view, species_used, plans, lineage_sets, lineage_plans)


@dataclass
class _Groups:
    """The groups a flag compares (stage 2): given, or Leiden clusters built here."""

    groupby: str
    codes: np.ndarray
    labels: list[str]
    clustering: dict[str, Any]
    normalised: AnnData | None = None

    def normalised_for(self, inputs: _Inputs, adata: AnnData) -> AnnData:
        """The log-normalised copy (built once, shared by clustering and enrichment)."""
        if self.normalised is None:
            self.normalised = normalised_anndata(inputs.view, obs_names=adata.obs_names)
        return self.normalised


def _make_groups(
    adata: AnnData,
    groupby: str | None,
    inputs: _Inputs,
    *,
    resolution: float,
    seed: int,
    keys: Keys,
) -> _Groups:
    """The given grouping, or Leiden clusters without the tested genes."""
    clustering: dict[str, Any] = {"method": "none", "groupby": groupby}
    normalised = None
    if groupby is None:
        normalised = normalised_anndata(inputs.view, obs_names=adata.obs_names)
        labels, clustering = leiden_clusters(
            normalised, exclude_genes=inputs.tested_genes, resolution=resolution, seed=seed
        )
        groupby = store_clusters(adata, labels, clustering, keys)
        clustering["groupby"] = groupby
    codes, groups = group_codes(adata, groupby)
    return _Groups(groupby, codes, groups, clustering, normalised)


def _call_lineage(
    inputs: _Inputs,
    groups: _Groups,
    design: Design,
    totals: Pseudobulk,
    thresholds: FlagThresholds,
    rules: LineageRules,
) -> tuple[GroupGeneSummary, pd.DataFrame, np.ndarray]:
    """Per-group gene sums (from the pseudobulk totals), then every group's lineage state.

    Returns the summary, the lineage table and which groups are big enough to test.
    """
    gene_lists = [p.found for p in inputs.plans.values()] + list(inputs.lineage_sets.values())
    wanted = list(dict.fromkeys(g for genes in gene_lists for g in genes))
    positions, found, _ = inputs.view.index_of(wanted)
    per_group = totals.combine([design.classes_of(g) for g in range(len(groups.labels))])
    summary = GroupGeneSummary(
        genes=found,
        groups=list(groups.labels),
        n_cells=per_group.n_cells,
        sums=per_group.sums[:, positions],
        detected=per_group.detected[:, positions],
    )
    big = summary.n_cells >= thresholds.min_cells
    table = call_states(
        summary, inputs.lineage_sets, rules, eligible=big, n_vars=inputs.view.n_vars
    )
    return summary, table, big


@dataclass
class _Results:
    """Everything a flag writes back (stages 3 to 6)."""

    lineage: pd.DataFrame
    calibrated: dict[str, Calibrated]
    table: pd.DataFrame
    drivers: pd.DataFrame
    samples: pd.DataFrame
    composition: pd.DataFrame
    message: str
    replicates: dict[str, Any]


def _write_results(
    adata: AnnData,
    keys: Keys,
    inputs: _Inputs,
    groups: _Groups,
    results: _Results,
    lineage_rules: LineageRules,
    parameters: dict[str, Any],
) -> None:
    """``obs`` columns, the lineage record and the flag record (``uns[key_added]``)."""
    table = results.table
    columns = write_obs(adata, inputs.plans, results.calibrated, groups.codes, table, keys)
    write_lineage_states(adata, groups.codes, results.lineage, keys)
    record_states(
        adata,
        results.lineage,
        lineage_rules,
        keys,
        matrix=inputs.view.record,
        parameters={k: parameters[k] for k in ("groupby", "species", "layer", "use_raw")},
    )
    block = provenance(**parameters)
    block.update(
        groupby=groups.groupby,
        species_used=inputs.species,
        matrix=inputs.view.record,
        table=table_for_uns(table),
        drivers=table_for_uns(results.drivers),
        samples=table_for_uns(results.samples),
        composition=table_for_uns(results.composition),
        sets=set_records(inputs.plans, results.calibrated, inputs.view),
        columns=columns,
        clustering=groups.clustering,
        message=results.message,
        replicates=results.replicates,
        calibration=calibration_note(parameters["n_control_sets"], parameters["n_match"]),
    )
    keys.store(adata, Step.FLAG, block)
    flagging = table["set_role"] == "flagging"
    log.info(
        "flagged %d of %d group x flagging-set rows (%d groups x %d flagging sets)%s",
        int(table["flagged"].sum()),
        int(flagging.sum()),
        len(groups.labels),
        sum(p.role == "flag" for p in inputs.plans.values()),
        f"; {int((~flagging).sum())} descriptive rows" if (~flagging).any() else "",
    )


def _check_parameters(
    n_control_sets: int, n_match: int | None, permutations: int, seed: int
) -> None:
    if not _is_int(n_control_sets) or n_control_sets < 10:
        raise ScclastInputError(f"n_control_sets={n_control_sets!r}: give an integer >= 10")
    if n_match is not None and (not _is_int(n_match) or n_match < 2):
        raise ScclastInputError(f"n_match={n_match!r}: give an integer >= 2 or None")
    if not _is_int(permutations) or permutations < 10:
        raise ScclastInputError(f"enrichment_permutations={permutations!r}: give >= 10")
    if not _is_int(seed):
        raise ScclastInputError(f"seed={seed!r}: give an integer")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_methods(method: str, enrichment: bool, rank_method: str) -> None:
    if method not in SCORE_METHODS:
        raise ScclastInputError(f"method={method!r}: use one of {', '.join(SCORE_METHODS)}")
    if enrichment and rank_method not in RANK_METHODS:
        raise ScclastInputError(
            f"enrichment_rank_method={rank_method!r}: use one of {', '.join(RANK_METHODS)}"
        )


def _raw_scores(
    adata: AnnData,
    inputs: _Inputs,
    method: str,
    matrix: Mapping[str, Any],
    keys: Keys,
    seed: int,
    thresholds: FlagThresholds,
) -> dict[str, np.ndarray]:
    """Uncalibrated scores with :func:`scclast.tl.score` (``obs[keys.score(set)]``)."""
    sets = {p.name: p.found for p in inputs.plans.values() if len(p.found) >= thresholds.min_genes}
    if not sets:
        return {}
    score(
        adata,
        sets,
        method=method,
        species=inputs.species,
        **matrix,
        key_added=keys.key_added,
        min_genes=thresholds.min_genes,
        seed=seed,
    )
    return {name: adata.obs[keys.score(name)].to_numpy(dtype=float) for name in sets}


def _enrichment(
    inputs: _Inputs,
    groups: _Groups,
    design: Design,
    totals: Pseudobulk,
    reference_groups: list[np.ndarray],
    big: np.ndarray,
    thresholds: FlagThresholds,
    permutations: int,
    seed: int,
) -> pd.DataFrame:
    """gseapy prerank of the flagging sets on every tested group's ranking (descriptive)."""
    rankings, notes = group_rankings(
        totals,
        design,
        list(inputs.view.symbols),
        groups.labels,
        reference_groups,
        big,
        thresholds.min_cells,
        thresholds.min_samples,
    )
    sets = {p.name: p.genes for p in inputs.plans.values() if p.role == "flag"}
    return prerank_rankings(rankings, sets, permutation_num=permutations, seed=seed, notes=notes)


__all__ = ["flag"]
