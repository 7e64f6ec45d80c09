"""``scclast.tl.communication``: which osteoclast population couples to which osteoblast one.

Senders are the osteoclast-lineage groups of the lineage gate (flagged ones marked);
receivers are the osteoblast-lineage groups of the receiver gate
(:func:`scclast.tl.receiver_states`), or groups the user names. The pairs are the
catalogue's (:func:`scclast.genesets.coupling_resource`: Table 1 receptors, complexes,
outside-the-review candidates, reverse signalling oriented by hand) and LIANA+ scores
them (:mod:`scclast.tl._coupling._liana`; statistics: :mod:`scclast.tl._coupling._table`).
Without a receiver (or a sender) nothing is invented: the record says why, in one line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
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
    doc_seed,
    doc_species,
)
from scclast._errors import ScclastInputError
from scclast._groups import check_view, group_codes, resolve_species, table_for_uns
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view
from scclast._provenance import package_versions, provenance
from scclast._stats import summarise_groups
from scclast._types import Species
from scclast._warnings import DataWarning, warn
from scclast.tl._coupling import _liana, _table
from scclast.tl._lineage_rules import OSTEOCLAST_LINEAGE
from scclast.tl._receivers import receiver_groups

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

NAMED = "named by the user"
"""Receiver (or sender) state of a group given by name."""


@doc_params(
    doc_adata=doc_adata,
    doc_species=doc_species,
    doc_matrix=doc_matrix,
    doc_seed=doc_seed,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def communication(
    adata: AnnData,
    groupby: str | None = None,
    *,
    senders: Sequence[str] | None = None,
    receivers: Sequence[str] | None = None,
    sample_key: str | None = None,
    species: Species = "auto",
    n_perms: int = 1000,
    expr_prop: float = 0.1,
    min_cells: int = 5,
    fdr: float = 0.05,
    seed: int = 0,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Coupling map: catalogue ligand-receptor pairs from senders to receivers, by LIANA+.

    Parameters
    ----------
    {doc_adata}
    groupby
        ``obs`` column of groups; default: the one the lineage calls used.
    senders
        Sender groups; default: the osteoclast-lineage groups of the lineage calls
        (:func:`scclast.tl.lineage_states` or :func:`scclast.tl.flag` must have run).
    receivers
        Receiver groups; default: the osteoblast-lineage groups of the receiver gate
        (:func:`scclast.tl.receiver_states` must have run).
    sample_key
        ``obs`` column of biological replicates (animals, donors): each sample is run
        on its own, so labels are permuted within samples, and each row says how many
        samples support it. Without it, cells are treated as independent
        (exploratory).
    {doc_species}
    n_perms
        Label permutations of CellPhoneDB's p-value (default 1000).
    expr_prop
        Fraction of a group's cells that must detect a ligand or receptor (every
        subunit) for the pair to be scored (default 0.1, LIANA+'s).
    min_cells
        Groups (per sample, with ``sample_key``) with fewer cells are not scored.
    fdr
        Benjamini-Hochberg level at which a row (or a sample's row) supports a pair.
    {doc_seed}
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Writes ``uns[key_added]["communication"]``: provenance, parameters, the table
    (:func:`scclast.get.communication_table`: one row per sender x receiver x pair,
    columns :data:`~scclast.tl._coupling.COLUMNS`), the factors no pair can score, and
    ``skip_reason`` (one
    line) when there is no receiver or no sender.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=1200, n_genes=600, seed=2, extra_states={"osteoblast": 0.15})
    >>> scclast.tl.lineage_states(adata, "state_true")
    >>> scclast.tl.receiver_states(adata, "state_true")
    >>> scclast.tl.communication(adata, n_perms=100)
    >>> table = scclast.get.communication_table(adata)
    >>> sorted(set(table["receiver"])), table.iloc[0]["sender"]
    (['osteoblast'], 'macrophage')
    """
    started = time.perf_counter()
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    settings = _liana.LianaSettings(n_perms, expr_prop, min_cells, seed)
    if not 0.0 < fdr <= 1.0:
        raise ScclastInputError(f"fdr={fdr!r}: give a level in (0, 1]")
    groupby = _groupby(adata, groupby, keys)
    codes, groups = group_codes(adata, groupby)
    samples = _samples(adata, sample_key)
    send, sender_states = _senders(adata, keys, groups, senders)
    receive, receiver_states = _receivers(adata, keys, groups, receivers)
    overlap = sorted(set(send) & set(receive))
    if overlap:
        raise ScclastInputError(
            f"group(s) {', '.join(overlap)} are both senders and receivers: name each "
            "group once (senders=/receivers=)"
        )
    flagged = _flagged(adata, keys) & set(send)
    parameters = {
        "groupby": groupby,
        "senders": list(send),
        "receivers": list(receive),
        "sample_key": sample_key,
        "species": species,
        "n_perms": int(n_perms),
        "expr_prop": float(expr_prop),
        "min_cells": int(min_cells),
        "fdr": float(fdr),
        "seed": int(seed),
        "layer": layer,
        "use_raw": use_raw,
    }
    reason = skip_reason(send, receive, receivers is not None, _undetermined(adata, keys))
    if reason is not None:
        warn(reason, DataWarning)
        _store(adata, keys, parameters, pd.DataFrame(columns=list(_table.COLUMNS)), reason)
        return adata if copy else None
    view = expression_view(
        adata, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols, species=species
    )
    check_view(view)
    species_used = resolve_species(view, species)
    resource = genesets.coupling_resource(species_used)
    genes = _liana.resource_genes(resource)
    labels = np.array([groups[c] if c >= 0 else None for c in codes], dtype=object)
    data = _liana.liana_anndata(view, genes, labels, samples)
    measured = set(data.var_names)
    # the per-group means and detection rates, from the same (small) matrix: one pass
    summary = summarise_groups(
        [(slice(0, data.n_obs), data.X)],
        codes[codes >= 0],
        groups,
        np.arange(data.n_vars),
        list(data.var_names),
    )
    pairs = pd.DataFrame([(s, r) for s in send for r in receive], columns=["source", "target"])
    log.info(
        "coupling map: %d sender(s) x %d receiver(s) x %d catalogue pair(s) through LIANA+%s ...",
        len(send),
        len(receive),
        len(resource),
        f", each of the samples in {sample_key!r} on its own" if sample_key else "",
    )
    stats, replicated, basis_note = _statistics(data, resource, pairs, settings, fdr, samples)
    rows = _table.base_rows(resource, send, receive, sender_states, receiver_states, flagged)
    rows = _table.add_expression(rows, summary, measured)
    sizes = dict(zip(groups, summary.n_cells, strict=True))
    table = _table.finish_table(
        rows,
        stats,
        measured=measured,
        group_sizes=sizes,
        expr_prop=expr_prop,
        min_cells=min_cells,
        replicated=replicated,
    )
    parameters["species"] = species_used
    _store(adata, keys, parameters, table, None, matrix=view.record, basis_note=basis_note)
    log.info(
        "coupling map done in %.1f s: %d of %d rows scored, %d supported",
        time.perf_counter() - started,
        int((table["status"] == _table.SCORED).sum()),
        len(table),
        int(table["supported"].sum()),
    )
    return adata if copy else None


def skip_reason(
    senders: Sequence[str], receivers: Sequence[str], named: bool, undetermined: int = 0
) -> str | None:
    """One line saying why there is no coupling map, or ``None`` when there is one.

    ``undetermined``: groups the receiver gate could not assess (markers not measured).

    Examples
    --------
    >>> skip_reason(["3"], [], named=False)  # doctest: +ELLIPSIS
    'No osteoblast-lineage group (osteoprogenitor, osteoblast or osteocyte) in the data: ...'
    >>> skip_reason(["3"], [], named=False, undetermined=2).split("; ")[1]  # doctest: +ELLIPSIS
    '2 group(s) could not be assessed ...'
    >>> skip_reason(["3"], ["5"], named=False) is None
    True
    """
    if not receivers:
        if named:
            return "No receiver group was named, so there is no coupling map."
        unknown = (
            f"; {undetermined} group(s) could not be assessed (too few receiver markers measured)"
            if undetermined
            else ""
        )
        return (
            "No osteoblast-lineage group (osteoprogenitor, osteoblast or osteocyte) in the "
            "data: no cell can receive the clastokines here, so there is no coupling map "
            f"(name receiver groups to pair with others){unknown}."
        )
    if not senders:
        return (
            "No osteoclast-lineage group (macrophage, precursor, osteoclast or osteomorph) "
            "in the data: nothing sends the clastokines here, so there is no coupling map."
        )
    return None


def _statistics(
    data: Any,
    resource: pd.DataFrame,
    pairs: pd.DataFrame,
    settings: _liana.LianaSettings,
    alpha: float,
    samples: np.ndarray | None,
) -> tuple[pd.DataFrame, bool, str]:
    """Per-sample statistics with two or more usable samples; else one pooled run."""
    note = ""
    if samples is not None:
        per_sample, tested = _liana.run_per_sample(data, resource, pairs, settings)
        usable = tested["sample"].nunique() if not tested.empty else 0
        if usable >= 2:
            return _table.sample_statistics(per_sample, tested, alpha, usable), True, note
        note = (
            f"only {usable} sample(s) hold {settings.min_cells} or more cells of a sender "
            "and a receiver, so one pooled run treats cells as independent (exploratory)"
        )
        warn(f"coupling map: {note}", DataWarning)
    pooled = _liana.run_pooled(data, resource, pairs, settings)
    return _table.pooled_statistics(pooled, alpha), False, note


def _groupby(adata: AnnData, groupby: str | None, keys: Keys) -> str:
    if groupby is not None:
        return groupby
    for step in (Step.FLAG, Step.LINEAGE, Step.RECEIVERS):
        record = keys.record(adata, step)
        recorded = record.get("groupby") or record.get("parameters", {}).get("groupby")
        if isinstance(recorded, str) and recorded in adata.obs:
            return recorded
    if keys.record(adata, Step.CLUSTER):
        return keys.leiden
    raise ScclastInputError(
        "communication: give groupby= (no lineage call or flag recorded which column "
        "holds the groups)"
    )


def _senders(
    adata: AnnData, keys: Keys, groups: list[str], named: Sequence[str] | None
) -> tuple[list[str], dict[str, str]]:
    lineage = keys.record(adata, Step.LINEAGE)
    table = pd.DataFrame(lineage.get("table", {})) if lineage else pd.DataFrame()
    states = (
        dict(zip(table["group"].astype(str), table["lineage_state"].astype(str), strict=True))
        if not table.empty
        else {}
    )
    if named is not None:
        chosen = _check_named(named, groups, "senders")
        return chosen, {g: states.get(g, NAMED) for g in chosen}
    keys.require(adata, Step.LINEAGE, "scclast.tl.lineage_states (or scclast.tl.flag)")
    _check_same_groups(states, groups, "lineage calls", "scclast.tl.lineage_states")
    chosen = [g for g in groups if states.get(g) in OSTEOCLAST_LINEAGE]
    return chosen, {g: states[g] for g in chosen}


def _receivers(
    adata: AnnData, keys: Keys, groups: list[str], named: Sequence[str] | None
) -> tuple[list[str], dict[str, str]]:
    record = keys.record(adata, Step.RECEIVERS)
    table = pd.DataFrame(record.get("table", {})) if record else pd.DataFrame()
    states = (
        dict(zip(table["group"].astype(str), table["receiver_state"].astype(str), strict=True))
        if not table.empty
        else {}
    )
    if named is not None:
        chosen = _check_named(named, groups, "receivers")
        return chosen, {g: states.get(g, NAMED) for g in chosen}
    keys.require(adata, Step.RECEIVERS, "scclast.tl.receiver_states")
    _check_same_groups(states, groups, "receiver calls", "scclast.tl.receiver_states")
    found = set(receiver_groups(table))
    chosen = [g for g in groups if g in found]
    return chosen, {g: states[g] for g in chosen}


def _check_named(named: Sequence[str], groups: list[str], what: str) -> list[str]:
    if isinstance(named, str):
        named = [named]
    chosen = list(dict.fromkeys(str(g) for g in named))
    unknown = [g for g in chosen if g not in groups]
    if unknown:
        raise ScclastInputError(
            f"{what}: group(s) {', '.join(unknown)} are not in the grouping; groups: "
            f"{', '.join(groups)}"
        )
    return chosen


def _check_same_groups(states: Mapping[str, str], groups: list[str], what: str, how: str) -> None:
    if states and not set(groups) <= set(states):
        raise ScclastInputError(
            f"the {what} were made on another grouping (groups {', '.join(sorted(states)[:5])}"
            f"...): run {how} with the same groupby first"
        )


def _undetermined(adata: AnnData, keys: Keys) -> int:
    table = pd.DataFrame(keys.record(adata, Step.RECEIVERS).get("table", {}))
    if table.empty or "receiver_state" not in table:
        return 0
    return int(table["receiver_state"].astype(str).str.startswith("undetermined").sum())


def _flagged(adata: AnnData, keys: Keys) -> set[str]:
    record = keys.record(adata, Step.FLAG)
    table = pd.DataFrame(record.get("table", {})) if record else pd.DataFrame()
    if table.empty or "flagged" not in table:
        return set()
    hits = table["flagged"].map(lambda v: str(v).strip().lower() in ("true", "1"))
    return set(table.loc[hits, "group"].astype(str))


def _samples(adata: AnnData, sample_key: str | None) -> np.ndarray | None:
    if sample_key is None:
        return None
    if sample_key not in adata.obs.columns:
        raise ScclastInputError(
            f"sample_key={sample_key!r} is not a column of adata.obs; available columns: "
            f"{', '.join(map(str, adata.obs.columns))}"
        )
    values = adata.obs[sample_key]
    if values.isna().any():
        raise ScclastInputError(
            f"sample_key={sample_key!r}: {int(values.isna().sum())} cells have no sample; "
            "give every cell its sample"
        )
    return values.astype(str).to_numpy(dtype=object)


def _store(
    adata: AnnData,
    keys: Keys,
    parameters: dict[str, Any],
    table: pd.DataFrame,
    reason: str | None,
    *,
    matrix: Mapping[str, Any] | None = None,
    basis_note: str = "",
) -> None:
    block = provenance(**{k: v for k, v in parameters.items() if v is not None})
    unpaired = genesets.unpaired_factors(
        parameters["species"] if parameters["species"] in ("mouse", "human") else "mouse"
    )
    block["versions"] = {**block["versions"], **package_versions(("liana",))}
    block.update(
        groupby=parameters["groupby"],
        method="liana.mt.rank_aggregate (CellPhoneDB, Connectome, log2FC, NATMI, "
        "SingleCellSignalR)",
        skip_reason=reason or "",
        basis_note=basis_note,
        matrix=dict(matrix or {}),
        table=table_for_uns(table),
        unpaired=table_for_uns(unpaired),
    )
    keys.store(adata, Step.COMMUNICATION, block)


COLUMNS = _table.COLUMNS

__all__ = ["COLUMNS", "NAMED", "communication", "skip_reason"]
