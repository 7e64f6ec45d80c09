"""The :func:`score` entry: checks, gene sets, dispatch to the method, outputs.

Everything that does not depend on the method lives here: argument checks, the
expression view, resolving and species-checking the gene sets, which sets have enough
genes, and writing the ``obs`` columns and the ``uns`` record. The scores themselves
come from the method's record in :data:`~scclast.tl._score._registry.REGISTRY`.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import genesets
from scclast._adata import copy_or_self, set_obs_columns
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
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import DEFAULT_CHUNK_SIZE, ExpressionView, detect_species, expression_view
from scclast._provenance import provenance
from scclast._types import SCORE_METHODS, TIES, Normalize, ScoreMethod, Species, Ties
from scclast._warnings import LowCoverageWarning, warn
from scclast.tl._score._base import Members, Method
from scclast.tl._score._registry import REGISTRY

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

METHODS = SCORE_METHODS
"""Scoring methods of :func:`score` (the names of the registry)."""


def _method_doc() -> str:
    """The ``method`` parameter's documentation, one item per registered method."""
    lines = ["method", "    The scoring method (defined in :mod:`scclast.tl._score`):", ""]
    for record in REGISTRY.values():
        peer = f" (as ``{record.peer}``)" if record.peer else ""
        item = f'``"{record.name}"``: {record.description}{peer}.'
        lines.append(textwrap.fill(item, 84, initial_indent="    * ", subsequent_indent="      "))
    return "\n".join(lines)


@doc_params(
    doc_method=_method_doc(),
    doc_adata=doc_adata,
    doc_species=doc_species,
    doc_matrix=doc_matrix,
    doc_key_added=doc_key_added,
    doc_copy=doc_copy,
    doc_returns_copy=doc_returns_copy,
)
def score(
    adata: AnnData,
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str] = "all",
    method: ScoreMethod = "seurat",
    *,
    species: Species = "auto",
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    normalize: Normalize = "auto",
    key_added: str = DEFAULT_KEY,
    min_genes: int = 2,
    seed: int = 0,
    n_bins: int = 25,
    ctrl_size: int = 50,
    control_genes: Mapping[str, Iterable[str]] | None = None,
    max_rank: int = 1500,
    n_up: int | None = None,
    ties: Ties = "average",
    zscore: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_jobs: int = 1,
    progress: bool | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Score every cell for each gene set; one ``adata.obs`` column per set.

    Parameters
    ----------
    {doc_adata}
    gene_sets
        A catalogue set name, a list of names, ``"all"``, a ``{name: [genes]}`` mapping
        or a ``.gmt`` path (see :func:`scclast.genesets.resolve_gene_sets`).
    {doc_method}
    {doc_species}
    {doc_matrix}
    normalize
        ``"auto"`` (normalise raw counts on the fly, else use values as stored),
        ``"counts"`` (always normalise), ``"log"`` or ``"none"`` (never).
    {doc_key_added}
    min_genes
        Sets with fewer genes present get NaN scores and a warning.
    seed
        Seed for the control genes of ``seurat``.
    n_bins, ctrl_size
        ``seurat``: number of expression bins and control genes drawn per bin.
    control_genes
        ``seurat``: ``{set name: [genes]}`` to use instead of drawing controls.
    max_rank
        ``ucell``: rank cap.
    n_up
        ``aucell``: rank up to which the recovery curve is integrated (default: 5% of
        the genes, at least 2).
    ties
        ``aucell``: ``"average"`` (expected AUC over random tie-breaks) or ``"ordinal"``.
    zscore
        ``mean``: average per-gene z-scores instead of expression.
    chunk_size
        Rows per chunk for in-memory and backed matrices.
    n_jobs
        Threads for in-memory and backed matrices (``-1``: all cores; scanpy's default
        of 1 is the fastest on a busy machine). Dask parallelises over its blocks.
    progress
        Progress bar; ``None`` shows one on a terminal for runs of five chunks or more.
    {doc_copy}

    Returns
    -------
    {doc_returns_copy}
    Adds ``obs[f"{key_added}_{set}"]`` (float64) and ``uns[key_added]["score"]``:
    method, parameters, versions, catalogue version, input description (matrix, kind,
    normalisation, duplicated symbols) and per set the genes found, the genes missing
    and the control genes. The methods are defined in :mod:`scclast.tl._score`.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = ad.AnnData(rng.poisson(1.0, (50, 40)).astype(np.float32))
    >>> a.var_names = [f"Gene{i}" for i in range(40)]
    >>> score(a, {"set1": ["Gene1", "Gene2", "Gene3"]}, method="ucell")
    >>> bool(a.obs["scclast_set1"].between(0, 1).all())
    True
    >>> a.uns["scclast"]["score"]["sets"]["set1"]["genes_found"]
    ['Gene1', 'Gene2', 'Gene3']
    """
    _check_parameters(method, min_genes, seed, n_bins, ctrl_size, max_rank, ties)
    record = REGISTRY[method]
    keys = Keys(key_added)
    adata = copy_or_self(adata, copy)
    view = expression_view(
        adata,
        layer=layer,
        use_raw=use_raw,
        gene_symbols=gene_symbols,
        normalize=normalize,
        species=species,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
    )
    _check_kind_for_method(view, record, adata)
    sets = _resolve_sets(gene_sets, view)
    _check_set_species(sets, view)
    members = {name: view.index_of(genes) for name, genes in sets.items()}
    scorable = _scorable_sets(members, min_genes)

    options = {
        "seed": seed,
        "n_bins": n_bins,
        "ctrl_size": ctrl_size,
        "control_genes": control_genes,
        "max_rank": max_rank,
        "n_up": n_up,
        "ties": ties,
        "zscore": zscore,
    }
    result = record.run(view, members, scorable, options, progress)

    columns = _write_scores(adata, sets, result.scores, keys)
    block = provenance(
        method=method,
        gene_sets=_describe_gene_sets(gene_sets),
        species=species,
        layer=layer,
        use_raw=use_raw,
        gene_symbols=gene_symbols,
        normalize=normalize,
        key_added=key_added,
        min_genes=min_genes,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
        **result.parameters,
    )
    block.update(
        {
            "method": method,
            "input": _input_record(view, record),
            "columns": columns,
            "sets": _set_records(sets, members, scorable, result.controls),
        }
    )
    keys.store(adata, Step.SCORE, block)
    log.info(
        "scored %d gene set(s) with %s on %d cells x %d genes (%s)",
        len(sets),
        method,
        view.n_obs,
        view.n_vars,
        view.record["normalisation"],
    )
    return adata if copy else None


def _check_parameters(
    method: str,
    min_genes: int,
    seed: int,
    n_bins: int,
    ctrl_size: int,
    max_rank: int,
    ties: str,
) -> None:
    if method not in REGISTRY:
        raise ScclastInputError(f"method={method!r} is not one of {', '.join(REGISTRY)}")
    for name, value, low in (
        ("min_genes", min_genes, 1),
        ("seed", seed, 0),
        ("n_bins", n_bins, 2),
        ("ctrl_size", ctrl_size, 1),
        ("max_rank", max_rank, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ScclastInputError(f"{name}={value!r}: give an integer >= {low}")
    if ties not in TIES:
        raise ScclastInputError(f"ties={ties!r} is not one of {', '.join(TIES)}")


def _check_kind_for_method(view: ExpressionView, record: Method, adata: AnnData) -> None:
    if not record.needs_non_negative or view.kind != "scaled":
        return
    options = []
    if getattr(adata, "raw", None) is not None and view.record["matrix"] != "raw.X":
        options.append("use_raw=True")
    layers = [name for name in adata.layers.keys() if f"[{name!r}]" not in view.record["matrix"]]
    if layers:
        options.append("layer=" + " or layer=".join(map(repr, layers)))
    hint = " or ".join(options) if options else "a matrix of counts or log-normalised values"
    raise ScclastInputError(
        f"{view.record['matrix']} has negative values (scaled data) and method={record.name!r} "
        f"needs non-negative expression: score {hint} (--use-raw / --layer), "
        "or use method='mean'"
    )


def _resolve_sets(
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Sequence[str], view: ExpressionView
) -> dict[str, list[str]]:
    if isinstance(gene_sets, Mapping):
        return genesets.resolve_gene_sets(gene_sets)
    items = [gene_sets] if isinstance(gene_sets, (str, Path)) else list(gene_sets)
    uses_catalogue = any(not str(item).lower().endswith(".gmt") for item in items)
    if uses_catalogue and view.species not in ("mouse", "human"):
        raise ScclastInputError(
            f"could not tell the species from the gene symbols of {view.record['matrix']} "
            f"(e.g. {', '.join(map(str, view.symbols[:3]))}): pass species='mouse' or "
            "'human' (--species) to pick the catalogue's symbols"
        )
    species = view.species if view.species in ("mouse", "human") else "mouse"
    return genesets.resolve_gene_sets(gene_sets, species=species)


def _check_set_species(sets: dict[str, list[str]], view: ExpressionView) -> None:
    """Mouse sets on human data (or the reverse) fail instead of scoring nothing."""
    genes = [g for members in sets.values() for g in members]
    set_species = detect_species(genes)
    mismatch = (
        view.species in ("mouse", "human")
        and set_species in ("mouse", "human")
        and set_species != view.species
    )
    unique_genes = list(dict.fromkeys(genes))
    found = view.index_of(unique_genes)[1]
    case_only = False
    if len(found) < 0.5 * len(unique_genes):
        by_case = {str(s).upper() for s in view.symbols}
        found_ignoring_case = [g for g in unique_genes if g.upper() in by_case]
        case_only = len(found_ignoring_case) >= 2 and len(found) < 0.5 * len(found_ignoring_case)
    if mismatch or case_only:
        data_species = view.species if view.species != "unknown" else "of another case"
        # name the sets (and genes) that disagree with the data, not the first genes seen:
        # sets that match the data (catalogue sets in its species) are not the problem
        by_case = {str(s).upper() for s in view.symbols}
        off = [name for name, members in sets.items() if _case_mismatch(members, view, by_case)]
        off = off or list(sets)
        off_genes = [g for name in off for g in sets[name]]
        off_species = detect_species(off_genes)
        off_species = off_species if off_species != "unknown" else f"not {data_species}"
        present = set(map(str, view.symbols))
        shown = [g for g in off_genes if g not in present]
        data_shown = [s for s in map(str, view.symbols) if detect_species([s]) == view.species]
        raise ScclastInputError(
            f"gene set(s) {', '.join(map(repr, off[:4]))}{' ...' if len(off) > 4 else ''} "
            f"look {off_species} (e.g. {', '.join((shown or genes)[:3])}) but the data "
            f"symbols look {data_species} (e.g. "
            f"{', '.join((data_shown or list(map(str, view.symbols)))[:3])}): pass "
            f"species='{view.species if view.species != 'unknown' else 'human'}' "
            "(--species) for catalogue sets, or give sets in the data's species"
        )


def _case_mismatch(members: list[str], view: ExpressionView, by_case: set[str]) -> bool:
    """A set whose genes are in the data only when letter case is ignored."""
    found = len(view.index_of(list(dict.fromkeys(members)))[1])
    ignoring_case = sum(g.upper() in by_case for g in dict.fromkeys(members))
    return ignoring_case >= 2 and found < 0.5 * ignoring_case


def _scorable_sets(members: Members, min_genes: int) -> dict[str, bool]:
    scorable = {}
    for name, (_, found, missing) in members.items():
        scorable[name] = len(found) >= min_genes
        if not scorable[name]:
            total = len(found) + len(missing)
            warn(
                f"gene set {name!r}: {len(found)} of {total} genes present "
                f"(min_genes={min_genes}); its scores are NaN",
                LowCoverageWarning,
                stacklevel=4,
            )
    return scorable


def _write_scores(
    adata: AnnData, sets: dict[str, list[str]], scores: np.ndarray, keys: Keys
) -> dict[str, str]:
    columns = {name: keys.score(name) for name in sets}
    set_obs_columns(adata, pd.DataFrame(scores, columns=list(columns.values())))
    return columns


def _describe_gene_sets(gene_sets: Any) -> Any:
    if isinstance(gene_sets, Mapping):
        return f"{len(gene_sets)} user gene set(s) (mapping)"
    if isinstance(gene_sets, (str, Path)):
        return str(gene_sets)
    return [str(item) for item in gene_sets]


def _input_record(view: ExpressionView, record: Method) -> dict[str, Any]:
    entry = dict(view.record)
    if record.rank_based:
        entry["normalisation"] = (
            "not needed: per-cell ranks are the same for counts and log-normalised values"
            if view.normalised
            else entry["normalisation"]
        )
        entry["rank_universe"] = f"all {view.n_stored_columns} stored columns"
    return entry


def _set_records(
    sets: dict[str, list[str]],
    members: Members,
    scorable: dict[str, bool],
    controls: dict[str, list[str]],
) -> dict[str, dict[str, Any]]:
    records = {}
    for name, genes in sets.items():
        _, found, missing = members[name]
        entry: dict[str, Any] = {
            "n_genes": len(dict.fromkeys(genes)),
            "n_found": len(found),
            "coverage": len(found) / max(1, len(found) + len(missing)),
            "scored": bool(scorable[name]),
            "genes_found": found,
            "genes_missing": missing,
        }
        if name in controls:
            entry["control_genes"] = controls[name]
        records[name] = entry
    return records


__all__ = ["METHODS", "score"]
