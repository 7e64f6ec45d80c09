"""``scclast.tl.flag``: candidate secretory osteoclast-lineage populations, calibrated.

A group is a *candidate secretory population* for a set when

1. it is osteoclast-lineage (:mod:`scclast.tl._lineage`: myeloid identity gate first),
2. its calibrated score beats the other osteoclast-lineage groups at the chosen FDR
   and effect size (:mod:`~scclast.tl._flag._group_stats`), and
3. the call survives leaving out any single factor of the set.

The stages, one module each: :mod:`~scclast.tl._flag._plan` (which sets, which role),
:mod:`~scclast.tl._flag._calibrate` (per-cell scores against matched control sets),
:mod:`~scclast.tl._flag._group_stats` (per-group statistics and the decision) and
:mod:`~scclast.tl._flag._reasons` (the decision in words). This module runs them in
order, each behind one call of :func:`flag`: read the inputs (matrix, species, set
plans), make the groups (given, or Leiden clusters), call the lineage states,
calibrate, score, build the table, optionally run enrichment, and write the results
into the AnnData.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast._adata import copy_or_self, set_obs_columns
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
    per_cell,
    resolve_species,
    summarise_sets,
    table_for_uns,
)
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view, normalised_anndata
from scclast._provenance import provenance
from scclast._stats import GroupGeneSummary
from scclast._types import RANK_METHODS, SCORE_METHODS, RankMethod, ScoreMethod, Species
from scclast.tl._cluster import leiden_clusters, store_clusters
from scclast.tl._enrichment import prerank_groups
from scclast.tl._flag._calibrate import Calibrated, calibrate
from scclast.tl._flag._group_stats import add_lineage_scores, finish_table, group_table
from scclast.tl._flag._plan import (
    DEFAULT_GENE_SETS,
    SetPlan,
    add_lineage_plans,
    plan_sets,
)
from scclast.tl._flag._thresholds import FlagThresholds
from scclast.tl._lineage import LineageRules, call_states, lineage_gene_sets, record_states
from scclast.tl._lineage import write_states as write_lineage_states
from scclast.tl._score import score

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView

log = logging.getLogger("scclast")


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
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str] = DEFAULT_GENE_SETS,
    species: Species = "auto",
    method: ScoreMethod = "seurat",
    thresholds: FlagThresholds | None = None,
    lineage_rules: LineageRules | None = None,
    osteomorph_signature: Mapping[str, Iterable[str]] | Iterable[str] | str | Path | None = None,
    n_control_sets: int = 200,
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

    Parameters
    ----------
    {doc_adata}
        Raw counts or log-normalised values (clustering and enrichment load a
        normalised copy into memory).
    groupby
        ``obs`` column of cluster or cell-type labels. ``None``: Leiden clusters are
        built (:func:`scclast.tl.cluster`, without the tested sets' genes) and stored as
        ``obs[f"{key_added}_leiden"]``.
    gene_sets
        Sets that can flag a group: catalogue names, ``{name: genes}``, ``"all"`` or a
        GMT path (:func:`scclast.genesets.resolve_gene_sets`). Genes of inhibitory
        factors (Sema4d) are removed from them; ``coupling_inhibitory`` and
        ``secretory_machinery`` are always reported in their own columns instead.
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
        Control gene sets per set (default 200; empirical p-values bottom out at
        ``1 / (n_control_sets + 1)``).
    n_match
        Candidate control genes per set gene (nearest by mean and variance rank).
        Default: ``n_genes / 20`` clipped to [10, 50].
    {doc_seed}
        Used by the control draws, clustering and enrichment permutations.
    enrichment
        Run gseapy prerank per group as a second, descriptive line of evidence.
    enrichment_permutations
        gseapy permutations (gene-set permutation).
    enrichment_rank_method
        scanpy ``rank_genes_groups`` method for the per-group ranking.
    resolution
        Leiden resolution when ``groupby`` is ``None``.
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    The table, one row per group x flagging set, is read with
    :func:`scclast.get.flag_table` (columns and their meaning listed there).
    Also written: ``obs[f"{key_added}_{set}"]`` (uncalibrated), ``..._z``,
    ``..._pval``, ``obs[f"{key_added}_lineage_state"]``,
    ``obs[f"{key_added}_flagged"]`` (cell in a group flagged for any set),
    ``uns[key_added]["flag"]`` (provenance, thresholds, the table, per-gene driver
    statistics, control genes, clustering, message) and ``uns[key_added]["lineage"]``.

    Raises
    ------
    ScclastInputError
        Missing ``groupby`` column (lists the ``obs`` columns), bad parameters, scaled
        data, or no measured gene in any set.

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
    inputs = _read_inputs(adata, gene_sets, species, osteomorph_signature, matrix)
    groups = _make_groups(adata, groupby, inputs, resolution=resolution, seed=seed, keys=keys)
    summary, lineage, big = _call_lineage(inputs, groups, thresholds, lineage_rules)
    calibrated = calibrate(
        inputs.view, inputs.plans, n_control_sets, seed, n_match, min_genes=thresholds.min_genes
    )
    add_lineage_scores(lineage, calibrated, groups.codes, inputs.lineage_plans)
    raw = _raw_scores(adata, inputs, method, matrix, keys, seed, thresholds)
    table, drivers = group_table(
        inputs.plans, calibrated, raw, groups.codes, summary, lineage, thresholds
    )
    enrichment_table = None
    if enrichment:
        enrichment_table = _enrichment(
            adata, inputs, groups, big, enrichment_permutations, enrichment_rank_method, seed
        )
    results = _Results(
        lineage=lineage,
        calibrated=calibrated,
        table=finish_table(table, enrichment_table, enrichment),
        drivers=drivers,
        message=_message(lineage, big),
    )
    if results.message:
        log.warning(results.message)
    parameters = {
        "groupby": groups.groupby,
        "gene_sets": _describe(gene_sets),
        "species": species,
        "method": method,
        "thresholds": thresholds.as_dict(),
        "lineage_rules": lineage_rules.as_dict(),
        "osteomorph_signature": _describe(osteomorph_signature),
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
    inputs: _Inputs, groups: _Groups, thresholds: FlagThresholds, rules: LineageRules
) -> tuple[GroupGeneSummary, pd.DataFrame, np.ndarray]:
    """One pass of per-group gene sums, then the lineage state of every group.

    Returns the summary, the lineage table and which groups are big enough to test.
    """
    gene_lists = [p.found for p in inputs.plans.values()] + list(inputs.lineage_sets.values())
    summary = summarise_sets(inputs.view, groups.codes, groups.labels, gene_lists)
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
    message: str


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
    columns = _write_obs(adata, inputs.plans, results.calibrated, groups.codes, table, keys)
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
        sets=_set_records(inputs.plans, results.calibrated, inputs.view),
        columns=columns,
        clustering=groups.clustering,
        message=results.message,
        calibration=_calibration_note(parameters["n_control_sets"], parameters["n_match"]),
    )
    keys.store(adata, Step.FLAG, block)
    log.info(
        "flagged %d of %d group x set rows (%d groups x %d flagging sets)",
        int(table["flagged"].sum()),
        len(table),
        len(groups.labels),
        sum(p.role == "flag" for p in inputs.plans.values()),
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
    adata: AnnData,
    inputs: _Inputs,
    groups: _Groups,
    big: np.ndarray,
    permutations: int,
    rank_method: str,
    seed: int,
) -> pd.DataFrame:
    """gseapy prerank of the flagging sets in every group big enough to test."""
    normalised = groups.normalised_for(inputs, adata)
    normalised.obs["_scclast_group"] = pd.Categorical(
        per_cell(groups.codes, groups.labels), categories=groups.labels
    )
    tested = [gr for gr, ok in zip(groups.labels, big, strict=True) if ok]
    sets = {p.name: p.genes for p in inputs.plans.values() if p.role == "flag"}
    return prerank_groups(
        normalised,
        "_scclast_group",
        sets,
        groups=tested,
        rank_method=rank_method,
        permutation_num=permutations,
        seed=seed,
    )


def _write_obs(
    adata: AnnData,
    plans: Mapping[str, SetPlan],
    calibrated: Mapping[str, Calibrated],
    codes: np.ndarray,
    table: pd.DataFrame,
    keys: Keys,
) -> dict[str, str]:
    """Calibrated z and p per set, and the flagged-group indicator; returns the columns."""
    new: dict[str, np.ndarray] = {}
    columns: dict[str, str] = {}
    for name in plans:
        if name in calibrated:
            new[keys.z(name)] = calibrated[name].z
            new[keys.pval(name)] = calibrated[name].pvalue
            columns[f"{name}_z"] = keys.z(name)
            columns[f"{name}_pval"] = keys.pval(name)
    flagged_groups = set(table.loc[table["flagged"], "group"])
    groups = list(dict.fromkeys(table["group"]))
    in_flagged = [g in flagged_groups for g in groups]
    new[keys.flagged] = per_cell(codes, in_flagged, fill=False).astype(bool)
    columns["flagged"] = keys.flagged
    set_obs_columns(adata, pd.DataFrame(new, index=adata.obs_names))
    return columns


def _describe(value: Any) -> Any:
    if value is None or isinstance(value, (str, Path)):
        return value
    if isinstance(value, Mapping):
        return {str(k): list(map(str, v)) for k, v in value.items()}
    return [str(v) for v in value]


def _set_records(
    plans: Mapping[str, SetPlan], calibrated: Mapping[str, Calibrated], view: ExpressionView
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


def _message(lineage_table: pd.DataFrame, big: np.ndarray) -> str:
    lineage_ok = lineage_table["osteoclast_lineage"].to_numpy(dtype=bool) & big
    if lineage_ok.any():
        return ""
    counts = lineage_table["lineage_state"].value_counts()
    states = ", ".join(f"{state} {n}" for state, n in counts.items())
    return (
        "no osteoclast-lineage group (macrophage, precursor, osteoclast or osteomorph with "
        f"enough cells) in these data: nothing can be flagged; group states: {states}"
    )


__all__ = ["flag"]
