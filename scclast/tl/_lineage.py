"""Osteoclast-lineage state per group (:func:`lineage_states`), myeloid gate first.

Reads an AnnData, sums the lineage genes per group in one pass over the matrix, calls
each group's state with the rules of :mod:`scclast.tl._lineage_rules` (myeloid identity
gate; neutrophil and dendritic-cell exclusion programmes; then the ordered early/late
osteoclast modules and the macrophage programme; ``"undetermined (low coverage)"``
rather than a guess) and writes the per-cell state and the table with its evidence into
the AnnData.
:func:`scclast.tl.flag` runs the same calls and adds each program's mean calibrated
score to the evidence.

Examples
--------
>>> import scclast
>>> adata = scclast.datasets.example()
>>> scclast.tl.lineage_states(adata, "cluster")
>>> scclast.get.lineage_table(adata)[["group", "lineage_state"]].head(2)
  group lineage_state
0     0    macrophage
1     1  oc_precursor
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from scclast._groups import (
    check_view,
    group_codes,
    per_cell,
    resolve_species,
    summarise_sets,
    table_for_uns,
)
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view
from scclast._provenance import provenance
from scclast._types import Species
from scclast.tl._lineage_rules import (
    DENDRITIC_CELL,
    LINEAGE_SETS,
    MYELOID_OTHER,
    NEUTROPHIL,
    NON_LINEAGE,
    OSTEOCLAST,
    OSTEOCLAST_LINEAGE,
    OSTEOMORPH,
    STATES,
    UNDETERMINED,
    LineageRules,
    call_states,
)

if TYPE_CHECKING:
    from anndata import AnnData


def lineage_gene_sets(
    species: str = "mouse",
    osteomorph_signature: Mapping[str, Iterable[str]] | Iterable[str] | str | Path | None = None,
) -> dict[str, list[str]]:
    """The lineage programs as ``{program: genes}``, with the osteomorph signature if given.

    Parameters
    ----------
    species
        ``"mouse"`` or ``"human"``.
    osteomorph_signature
        ``None`` (no osteomorph calls), a gene list, a ``{name: genes}`` mapping
        (the union of its sets is used) or a file read with
        :func:`scclast.genesets.read_signature`.

    Examples
    --------
    >>> sets = lineage_gene_sets("mouse")
    >>> sorted(sets)
    ['dendritic_cell', 'macrophage', 'myeloid', 'neutrophil', 'oc_precursor', 'osteoclast']
    >>> sets["oc_precursor"]
    ['Tnfrsf11a', 'Nfatc1', 'Dcstamp', 'Ocstamp', 'Itgax']
    >>> lineage_gene_sets("mouse", ["Ccl9", "Cd74"])["osteomorph"]
    ['Ccl9', 'Cd74']
    """
    sets = {program: genesets.get(name, species) for program, name in LINEAGE_SETS.items()}
    signature = read_osteomorph(osteomorph_signature, species)
    if signature is not None:
        sets[OSTEOMORPH] = signature
    return sets


def read_osteomorph(
    signature: Mapping[str, Iterable[str]] | Iterable[str] | str | Path | None, species: str
) -> list[str] | None:
    """Normalise any accepted osteomorph-signature argument to a gene list (or ``None``).

    Examples
    --------
    >>> read_osteomorph({"up": ["Ccl9"], "down": ["Cd74", "Ccl9"]}, "mouse")
    ['Ccl9', 'Cd74']
    >>> read_osteomorph(None, "mouse") is None
    True
    """
    if signature is None:
        return None
    if isinstance(signature, (str, Path)):
        signature = genesets.read_signature(signature, species=species)
    if isinstance(signature, Mapping):
        genes = [str(g) for values in signature.values() for g in _as_gene_list(values)]
    else:
        genes = [str(g) for g in _as_gene_list(signature)]
    genes = list(dict.fromkeys(genes))
    if not genes:
        raise ScclastInputError("the osteomorph signature has no genes: give a gene list or file")
    return genes


def _as_gene_list(values: Any) -> list[str]:
    if isinstance(values, str):
        raise ScclastInputError(
            f"osteomorph signature {values!r} is a single string: give a list of gene "
            "symbols or a file path"
        )
    return list(values)


@doc_params(
    doc_adata=doc_adata,
    doc_groupby=doc_groupby,
    doc_species=doc_species,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def lineage_states(
    adata: AnnData,
    groupby: str,
    *,
    species: Species = "auto",
    osteomorph_signature: Mapping[str, Iterable[str]] | Iterable[str] | str | Path | None = None,
    rules: LineageRules | None = None,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Lineage state of every group of ``adata.obs[groupby]`` (myeloid gate first).

    A group without myeloid identity is ``"non-lineage"`` whatever else it expresses
    (stromal cells express Ctsk, Mmp9 and Acp5 too); past that gate, a group showing
    the neutrophil or dendritic-cell programme is ``"neutrophil"`` or
    ``"dendritic_cell"`` (myeloid, not osteoclast-lineage), and otherwise the late
    osteoclast module, the early RANKL-response module (a precursor is early-high and
    late-low) or the macrophage programme, whichever is strongest relative to its best
    group, decides; too little coverage gives ``"undetermined (low coverage)"``, never
    a guess. The rules and their thresholds: :mod:`scclast.tl._lineage_rules`,
    :class:`LineageRules`.

    Parameters
    ----------
    {doc_adata}
    {doc_groupby}
    {doc_species}
    osteomorph_signature
        Enables osteomorph calls; see :func:`~scclast.tl._lineage.lineage_gene_sets`.
    rules
        Thresholds (:class:`LineageRules`).
    {doc_matrix}
    {doc_key_added}
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Writes ``obs[f"{key_added}_lineage_state"]`` (the group's state for each cell) and
    ``uns[key_added]["lineage"]`` (provenance, rules and the table of
    :func:`~scclast.tl._lineage_rules.call_states`, read back with
    :func:`scclast.get.lineage_table`).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.lineage_states(adata, "cluster")
    >>> scclast.get.lineage_table(adata)["lineage_state"].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['macrophage', 'oc_precursor', 'osteoclast', 'osteoclast', 'non-lineage', 'non-lineage',
     'non-lineage', 'non-lineage']
    """
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    codes, groups = group_codes(adata, groupby)
    view = expression_view(
        adata, layer=layer, use_raw=use_raw, gene_symbols=gene_symbols, species=species
    )
    check_view(view)
    sets = lineage_gene_sets(resolve_species(view, species), osteomorph_signature)
    summary = summarise_sets(view, codes, groups, sets.values())
    table = call_states(summary, sets, rules, n_vars=view.n_vars)
    write_states(adata, codes, table, keys)
    record_states(
        adata,
        table,
        rules,
        keys,
        matrix=view.record,
        parameters={"groupby": groupby, "species": species, "layer": layer, "use_raw": use_raw},
    )
    return adata if copy else None


def record_states(
    adata: AnnData,
    table: pd.DataFrame,
    rules: LineageRules | None,
    keys: Keys,
    *,
    matrix: Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> None:
    """Store the lineage table and its provenance in ``uns[key_added]["lineage"]``.

    Examples
    --------
    >>> import anndata as ad
    >>> adata = ad.AnnData(np.zeros((2, 1)))
    >>> table = pd.DataFrame({"group": ["a"], "lineage_state": ["osteoclast"]})
    >>> record_states(adata, table, None, Keys(), matrix={"matrix": "X"},
    ...               parameters={"groupby": "g"})
    >>> block = adata.uns["scclast"]["lineage"]
    >>> block["parameters"], block["rules"]["detect_fraction"], len(block["table"])
    ({'groupby': 'g'}, 0.25, 1)
    """
    block = provenance(**parameters)
    block.update(
        rules=(rules or LineageRules()).as_dict(),
        matrix=dict(matrix),
        table=table_for_uns(table),
    )
    keys.store(adata, Step.LINEAGE, block)


def write_states(adata: AnnData, codes: np.ndarray, table: pd.DataFrame, keys: Keys) -> None:
    """Per-cell state column (categorical; cells without a group get NaN).

    Examples
    --------
    >>> import anndata as ad
    >>> obs = pd.DataFrame({"g": ["y", "x", None]}, index=["c1", "c2", "c3"])
    >>> adata = ad.AnnData(np.zeros((3, 1)), obs=obs)
    >>> codes, groups = group_codes(adata, "g")
    >>> table = pd.DataFrame({"group": groups, "lineage_state": ["osteoclast", "non-lineage"]})
    >>> write_states(adata, codes, table, Keys())
    >>> adata.obs["scclast_lineage_state"].tolist()
    ['non-lineage', 'osteoclast', nan]
    """
    states = table["lineage_state"].to_numpy(dtype=object)
    adata.obs[keys.lineage_state] = pd.Categorical(
        per_cell(codes, states), categories=[s for s in STATES if s in set(states)]
    )


__all__ = [
    "DENDRITIC_CELL",
    "LINEAGE_SETS",
    "MYELOID_OTHER",
    "NEUTROPHIL",
    "NON_LINEAGE",
    "OSTEOCLAST",
    "OSTEOCLAST_LINEAGE",
    "OSTEOMORPH",
    "STATES",
    "UNDETERMINED",
    "LineageRules",
    "call_states",
    "lineage_gene_sets",
    "lineage_states",
    "read_osteomorph",
    "record_states",
    "write_states",
]
