"""Gene-set scores per cell: ``scclast.score()`` with four methods.

=========  ===========================================================  ======================
method     score of a cell for a set S                                  matches
=========  ===========================================================  ======================
seurat     mean(S) - mean(controls); controls drawn per expression bin  ``scanpy.tl.score_genes``
ucell      Mann-Whitney U of S's per-cell ranks, ranks capped at         ``pyucell``
           ``max_rank``
aucell     area under the recovery curve of S in the top ``n_up``        ``decoupler`` ``aucell``
           genes of the cell
mean       mean of S's log-normalised expression (``zscore``: of          --
           per-gene z-scores)
=========  ===========================================================  ======================

All sets are scored together in one pass over the data (seurat: two passes, one for the
gene means that define the expression bins). The matrix can be in memory (dense, CSR,
CSC), a backed h5ad or a dask array; the numbers are the same, see :mod:`scclast._matrix`
for matrix choice, gene symbols, species and normalisation.

Definitions (documented choices)
--------------------------------
* **seurat**: as ``scanpy.tl.score_genes`` (``ctrl_as_ref=True``): genes are cut into
  expression bins by the rank (``method="min"``) of their mean, integer-divided by
  ``round(n_genes / (n_bins - 1))``; from each bin holding a set gene, ``ctrl_size``
  genes are drawn (all of them when the bin is smaller) and set genes are removed. The
  draw uses a random generator seeded by ``seed`` and a stable hash of the set's name,
  so a set's controls do not depend on the other sets, their order or the chunking.
  Gene means are rounded to 12 significant digits before ranking, so that bins do not
  depend on the floating-point summation order. Sums run in float64 (scanpy sums
  float32 data partly in float32: differences stay below 1e-6).
* **ucell**: as ``pyucell.compute_ucell_scores`` with ``missing_genes="skip"``:
  non-zero genes of a cell ranked by decreasing expression (ties: average rank) among
  all stored columns; ranks above ``max_rank`` and genes with zero expression count as
  ``max_rank``. Score ``1 - (sum(ranks) - n(n+1)/2) / (n * max_rank - n(n+1)/2)`` for
  the ``n`` genes of the set present in the data.
* **aucell**: as ``decoupler.mt.aucell``: AUC of the recovery curve up to rank ``n_up``
  (default 5% of the stored columns, at least 2), normalised by its maximum. Ties,
  including the block of zero-expressed genes, are broken at random by AUCell and
  decoupler; ``ties="average"`` (default) gives the expected AUC over those random
  tie-breaks, deterministic and equal to the reference wherever there are no ties.
  ``ties="ordinal"`` breaks ties by column order (decoupler after its column shuffle).
  A cell with no expressed gene gets the AUC expected from a random ranking. Unlike
  decoupler, genes without counts in any cell stay in the ranking and in the sets, so
  that a cell's score never depends on the other cells.
* **mean**: mean over the set's genes of normalised expression, or of per-gene
  z-scores (mean and ddof=1 standard deviation over all cells; genes with zero variance
  contribute 0) with ``zscore=True``.
* Cells with zero counts (when counts are normalised) have all-zero expression: seurat,
  ucell and mean give 0.
* Sets with fewer than ``min_genes`` genes present get NaN scores and a warning; they
  are never dropped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

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
from scclast._matrix import (
    DEFAULT_CHUNK_SIZE,
    ExpressionView,
    _n_parts,
    _RawChunk,
    _use_threads,
    detect_species,
    expression_view,
    gene_means,
    gene_moments,
    matmul,
)
from scclast._provenance import provenance
from scclast._types import SCORE_METHODS, TIES, Normalize, ScoreMethod, Species, Ties
from scclast._warnings import DataWarning, LowCoverageWarning, warn

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

METHODS = SCORE_METHODS
"""Scoring methods of :func:`score`."""

_NEEDS_NON_NEGATIVE = ("seurat", "ucell", "aucell")


@doc_params(
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
    method
        ``"seurat"``, ``"ucell"``, ``"aucell"`` or ``"mean"`` (see the module docs).
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
    method, parameters, versions,
    catalogue version, input description (matrix, kind, normalisation, duplicated
    symbols) and per set the genes found, the genes missing and the control genes.

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
    _check_kind_for_method(view, method, adata)
    sets = _resolve_sets(gene_sets, view)
    _check_set_species(sets, view)
    members = {name: view.index_of(genes) for name, genes in sets.items()}
    scorable = _scorable_sets(members, min_genes)

    parameters: dict[str, Any] = {}
    if method == "seurat":
        scores, controls, parameters = _score_seurat(
            view, members, scorable, seed, n_bins, ctrl_size, control_genes, progress
        )
    elif method == "mean":
        scores, parameters = _score_mean(view, members, scorable, zscore, progress)
        controls = {}
    else:
        scores, parameters = _score_by_rank(
            view, method, members, scorable, max_rank, n_up, ties, progress
        )
        controls = {}

    columns = _write_scores(adata, sets, scores, keys)
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
        **parameters,
    )
    block.update(
        {
            "method": method,
            "input": _input_record(view, method),
            "columns": columns,
            "sets": _set_records(sets, members, scorable, controls, view),
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


# --------------------------------------------------------------------------- checks


def _check_parameters(
    method: str,
    min_genes: int,
    seed: int,
    n_bins: int,
    ctrl_size: int,
    max_rank: int,
    ties: str,
) -> None:
    if method not in METHODS:
        raise ScclastInputError(f"method={method!r} is not one of {', '.join(METHODS)}")
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


def _check_kind_for_method(view: ExpressionView, method: str, adata: AnnData) -> None:
    if method not in _NEEDS_NON_NEGATIVE or view.kind != "scaled":
        return
    options = []
    if getattr(adata, "raw", None) is not None and view.record["matrix"] != "raw.X":
        options.append("use_raw=True")
    layers = [name for name in adata.layers.keys() if f"[{name!r}]" not in view.record["matrix"]]
    if layers:
        options.append("layer=" + " or layer=".join(map(repr, layers)))
    hint = " or ".join(options) if options else "a matrix of counts or log-normalised values"
    raise ScclastInputError(
        f"{view.record['matrix']} has negative values (scaled data) and method={method!r} "
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
        raise ScclastInputError(
            f"the gene sets look {set_species} (e.g. {', '.join(genes[:3])}) but the data "
            f"symbols look {data_species} (e.g. {', '.join(map(str, view.symbols[:3]))}): "
            f"pass species='{view.species if view.species != 'unknown' else 'human'}' "
            "(--species) for catalogue sets, or give sets in the data's species"
        )


def _scorable_sets(
    members: dict[str, tuple[np.ndarray, list[str], list[str]]], min_genes: int
) -> dict[str, bool]:
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


# --------------------------------------------------------------------------- seurat


def _score_seurat(
    view: ExpressionView,
    members: dict[str, tuple[np.ndarray, list[str], list[str]]],
    scorable: dict[str, bool],
    seed: int,
    n_bins: int,
    ctrl_size: int,
    control_genes: Mapping[str, Iterable[str]] | None,
    progress: bool | None,
) -> tuple[np.ndarray, dict[str, list[str]], dict[str, Any]]:
    """Score - control score for all sets in one product ``X @ W`` (second pass)."""
    given = dict(control_genes or {})
    unknown = sorted(set(given) - set(members))
    if unknown:
        raise ScclastInputError(
            f"control_genes names unknown gene set(s) {', '.join(map(repr, unknown))}"
        )
    needs_bins = any(scorable[name] and name not in given for name in members)
    bins = expression_bins(gene_means(view, progress), n_bins) if needs_bins else None
    members_of_bin = bin_members(bins) if needs_bins else None
    weights = _WeightBuilder(view.n_vars, len(members))
    controls: dict[str, list[str]] = {}
    for j, (name, (genes, _, _)) in enumerate(members.items()):
        if not scorable[name]:
            continue
        if name in given:
            chosen = _given_controls(view, name, given[name])
        else:
            chosen = draw_control_genes(
                genes, bins, ctrl_size, _set_rng(seed, name), members_of_bin
            )
        if chosen.size == 0:
            warn(
                f"gene set {name!r}: no control genes in its expression bins; scores are NaN",
                LowCoverageWarning,
                stacklevel=4,
            )
            scorable[name] = False
            continue
        controls[name] = view.symbols[chosen].tolist()
        weights.add(genes, j, 1.0 / genes.size)
        weights.add(chosen, j, -1.0 / chosen.size)
    scores = _nan_for_unscored(matmul(view, weights.tocsr(), progress), members, scorable)
    parameters = {"seed": seed, "n_bins": n_bins, "ctrl_size": ctrl_size}
    parameters["control_genes"] = "given for " + ", ".join(given) if given else "drawn"
    return scores, controls, parameters


def expression_bins(means: np.ndarray, n_bins: int = 25) -> np.ndarray:
    """Expression bin of each gene, as ``scanpy.tl.score_genes`` cuts them.

    ``rank(mean, method="min") // round(n_genes / (n_bins - 1))``, with means rounded
    to 12 significant digits so that the bins do not depend on summation order.

    Examples
    --------
    >>> expression_bins(np.array([0.1, 0.5, 0.2, 0.9, 0.0, 0.3]), n_bins=4).tolist()
    [1, 2, 1, 3, 0, 2]
    """
    rounded = _round_significant(np.asarray(means, dtype=np.float64), 12)
    n_items = max(1, int(np.round(rounded.size / (n_bins - 1))))
    return rankdata(rounded, method="min").astype(np.int64) // n_items


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    rounded = values.copy()
    nonzero = values != 0
    magnitude = np.floor(np.log10(np.abs(values[nonzero])))
    factor = 10.0 ** (digits - 1 - magnitude)
    rounded[nonzero] = np.round(values[nonzero] * factor) / factor
    return rounded


def bin_members(bins: np.ndarray) -> dict[int, np.ndarray]:
    """Genes (column positions, ascending) of each expression bin.

    Examples
    --------
    >>> {k: v.tolist() for k, v in bin_members(np.array([1, 0, 1])).items()}
    {0: [1], 1: [0, 2]}
    """
    order = np.argsort(bins, kind="stable")
    cuts, starts = np.unique(bins[order], return_index=True)
    return dict(zip(cuts.tolist(), np.split(order, starts[1:]), strict=True))


def draw_control_genes(
    genes: np.ndarray,
    bins: np.ndarray,
    ctrl_size: int,
    rng: np.random.Generator,
    members: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Control genes for one set: ``ctrl_size`` per bin of its genes, set genes removed.

    Candidates are taken in column order, so the draw depends only on the generator.
    ``members`` (from :func:`bin_members`) saves regrouping the bins for every set.

    Examples
    --------
    >>> bins = np.array([0, 0, 0, 1, 1, 1])
    >>> draw_control_genes(np.array([0]), bins, 10, np.random.default_rng(0)).tolist()
    [1, 2]
    """
    members = bin_members(bins) if members is None else members
    chosen = []
    for cut in np.unique(bins[genes]).tolist():
        candidates = members[cut]
        if ctrl_size < candidates.size:
            candidates = rng.choice(candidates, ctrl_size, replace=False)
        chosen.append(candidates)
    drawn = np.concatenate(chosen)  # bins are disjoint: no gene is drawn twice
    in_set = np.zeros(bins.size, dtype=bool)
    in_set[genes] = True
    return np.sort(drawn[~in_set[drawn]])


def _set_rng(seed: int, name: str) -> np.random.Generator:
    """Generator of one set: seed plus a stable (process-independent) hash of its name."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


def _given_controls(view: ExpressionView, name: str, genes: Iterable[str]) -> np.ndarray:
    if isinstance(genes, str):
        raise ScclastInputError(f"control_genes[{name!r}] is a string; give a list of genes")
    indices, _, missing = view.index_of(genes)
    if missing:
        warn(
            f"control genes of {name!r} not in the data and ignored: {', '.join(missing[:10])}",
            DataWarning,
            stacklevel=5,
        )
    return np.unique(indices)


class _WeightBuilder:
    """Gene x set weight matrix ``W`` assembled column by column (COO, then CSR)."""

    def __init__(self, n_genes: int, n_sets: int) -> None:
        self.shape = (n_genes, n_sets)
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.values: list[np.ndarray] = []

    def add(self, genes: np.ndarray, column: int, weight: float) -> None:
        self.rows.append(np.asarray(genes, dtype=np.intp))
        self.cols.append(np.full(len(genes), column, dtype=np.intp))
        self.values.append(np.full(len(genes), weight))

    def tocsr(self) -> sp.csr_matrix:
        if not self.rows:
            return sp.csr_matrix(self.shape)
        coo = (np.concatenate(self.values), (np.concatenate(self.rows), np.concatenate(self.cols)))
        return sp.csr_matrix(coo, shape=self.shape)


# --------------------------------------------------------------------------- mean


def _score_mean(
    view: ExpressionView,
    members: dict[str, tuple[np.ndarray, list[str], list[str]]],
    scorable: dict[str, bool],
    zscore: bool,
    progress: bool | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    builder = _WeightBuilder(view.n_vars, len(members))
    for j, (name, (genes, _, _)) in enumerate(members.items()):
        if scorable[name]:
            builder.add(genes, j, 1.0 / genes.size)
    weights = builder.tocsr()
    offset = 0.0
    if zscore:
        mean, var = gene_moments(view, progress)
        std = np.sqrt(var)
        inverse_std = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
        weights = sp.diags(inverse_std) @ weights
        offset = -(mean @ weights)
    scores = matmul(view, weights, progress) + offset
    return _nan_for_unscored(scores, members, scorable), {"zscore": zscore}


# --------------------------------------------------------------------------- ucell, aucell


def _score_by_rank(
    view: ExpressionView,
    method: str,
    members: dict[str, tuple[np.ndarray, list[str], list[str]]],
    scorable: dict[str, bool],
    max_rank: int,
    n_up: int | None,
    ties: str,
    progress: bool | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One pass: per cell, only non-zero genes are sorted; zeros are one tie block."""
    n_stored = view.n_stored_columns
    sizes = np.asarray(
        [genes.size if scorable[name] else 0 for name, (genes, _, _) in members.items()]
    )
    targets = _rank_targets(view, members, scorable)
    if method == "ucell":
        cap, mode, parameters = max_rank, 0, {"max_rank": max_rank}
        norm = sizes * cap - sizes * (sizes + 1) / 2.0
    else:
        cap = _check_n_up(n_up, n_stored)
        mode = 1 if ties == "average" else 2
        parameters = {"n_up": cap, "ties": ties}
        top = np.minimum(sizes, cap - 1)
        norm = top * cap - top * (top + 1) / 2.0
    func = partial(_chunk_rank_sums, targets=targets, sizes=sizes, cap=cap, mode=mode)
    sums = view._map_rows(func, len(members), progress)
    scores = np.divide(sums, norm, out=np.zeros_like(sums), where=norm != 0)
    if method == "ucell":
        np.maximum(scores, 0.0, out=scores)
    return _nan_for_unscored(scores, members, scorable), parameters


def _check_n_up(n_up: int | None, n_genes: int) -> int:
    if n_up is None:
        return int(np.clip(np.ceil(0.05 * n_genes), 2, n_genes))
    if isinstance(n_up, bool) or not isinstance(n_up, (int, np.integer)):
        raise ScclastInputError(f"n_up={n_up!r}: give an integer between 2 and {n_genes}")
    if not 1 < n_up <= n_genes:
        raise ScclastInputError(f"n_up={n_up} must be between 2 and the {n_genes} genes")
    return int(n_up)


def _rank_targets(
    view: ExpressionView,
    members: dict[str, tuple[np.ndarray, list[str], list[str]]],
    scorable: dict[str, bool],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stored columns of set genes (sorted), column -> target, and target -> sets (CSR)."""
    rows, cols = [], []
    for j, (name, (genes, _, _)) in enumerate(members.items()):
        if scorable[name]:
            rows.append(view.columns[genes])
            cols.append(np.full(genes.size, j))
    stored = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
    sets = np.concatenate(cols) if cols else np.zeros(0, dtype=np.intp)
    target_cols, target_of_entry = np.unique(stored, return_inverse=True)
    membership = sp.csr_matrix(
        (np.ones(stored.size), (target_of_entry, sets)), shape=(target_cols.size, len(members))
    )
    target_of_col = np.full(view.n_stored_columns, -1, dtype=np.int64)
    target_of_col[target_cols] = np.arange(target_cols.size)
    return (
        target_of_col,
        target_cols.astype(np.int64),
        membership.indptr.astype(np.int64),
        membership.indices.astype(np.int64),
    )


def _chunk_rank_sums(
    chunk: _RawChunk,
    parallel: bool,
    targets: tuple[np.ndarray, ...],
    sizes: np.ndarray,
    cap: int,
    mode: int,
) -> np.ndarray:
    """Per cell and set, the sum over set genes of ``cap - rank`` (0 below the cap).

    Ranks are invariant to the per-cell normalisation, so stored values are used.
    """
    matrix = chunk.matrix if chunk.is_sparse else sp.csr_matrix(chunk.matrix)
    target_of_col, target_cols, t_indptr, t_sets = targets
    out = np.zeros((matrix.shape[0], sizes.size))
    args = (
        matrix.indptr,
        matrix.indices,
        matrix.data,
        target_of_col,
        target_cols,
        t_indptr,
        t_sets,
        sizes.astype(np.int64),
        np.int64(matrix.shape[1]),
        np.float64(cap),
        np.int64(mode),
        out,
    )
    if _use_threads(parallel, matrix):
        _rank_sums_parallel(*args, _n_parts(matrix.shape[0]))
    else:
        _rank_sums_rows(0, matrix.shape[0], *args)
    return out


@numba.njit(cache=True, nogil=True)
def _mean_capped_gain(first: float, last: float, cap: float) -> float:  # pragma: no cover
    """Mean of ``max(cap - r, 0)`` over the ranks ``r = first..last``."""
    top = min(last, cap - 1.0)
    if top < first:
        return 0.0
    count = top - first + 1.0
    return (count * cap - (first + top) * count / 2.0) / (last - first + 1.0)


_LINEAR_TARGETS = 48
"""Rows with at most this many expressed set genes count ranks by scanning the row
(vectorised, O(nnz) per gene); rows with more sort their values (O(nnz log nnz))."""


@numba.njit(cache=True, nogil=True)
def _rank_sums_rows(
    lo,
    hi,
    indptr,
    indices,
    data,
    target_of_col,
    target_cols,
    t_indptr,
    t_sets,
    sizes,
    n_cols,
    cap,
    mode,
    out,
):  # pragma: no cover
    """Rows lo..hi. mode 0: ucell; 1: aucell, expected over random ties; 2: aucell ordinal.

    For each expressed set gene: ``above`` = genes with higher expression in the cell,
    ``tied`` = genes with equal expression (itself included), ``earlier`` = tied genes
    in earlier columns. Zero-expressed genes form one tie block after the ``nnz``
    expressed genes (closed form, no sorting).
    """
    n_sets = sizes.size
    expressed = np.zeros(n_sets, dtype=np.int64)
    positions = np.empty(0, dtype=np.int64)
    values = np.empty(0)
    for i in range(lo, hi):
        first, last = indptr[i], indptr[i + 1]
        n_stored = last - first
        if positions.size < n_stored:
            positions = np.empty(2 * n_stored, dtype=np.int64)
            values = np.empty(2 * n_stored)
        n_targets = 0
        nnz = 0
        for p in range(first, last):
            if data[p] != 0:
                nnz += 1
                if target_of_col[indices[p]] >= 0:
                    positions[n_targets] = p
                    n_targets += 1
        expressed[:] = 0
        sorted_row = n_targets > _LINEAR_TARGETS
        if sorted_row:
            for p in range(first, last):
                values[p - first] = data[p]
            values[:n_stored].sort()
        for t in range(n_targets):
            p = positions[t]
            value = np.float64(data[p])
            if sorted_row:
                right = np.searchsorted(values[:n_stored], value, side="right")
                left = np.searchsorted(values[:n_stored], value, side="left")
                above = n_stored - right
                tied = right - left
            else:
                above = 0
                tied = 0
                for q in range(first, last):
                    other = np.float64(data[q])
                    above += other > value
                    tied += other == value
            if mode == 0:
                gain = max(cap - (above + (tied + 1) / 2.0), 0.0)
            elif mode == 1:
                gain = _mean_capped_gain(above + 1.0, float(above + tied), cap)
            else:
                earlier = 0
                for q in range(first, p):
                    earlier += data[q] == data[p]
                gain = max(cap - (above + earlier + 1.0), 0.0)
            target = target_of_col[indices[p]]
            for k in range(t_indptr[target], t_indptr[target + 1]):
                out[i, t_sets[k]] += gain
                expressed[t_sets[k]] += 1
        if mode == 1:
            zero_gain = _mean_capped_gain(nnz + 1.0, float(n_cols), cap)
            if zero_gain > 0:
                for s in range(n_sets):
                    out[i, s] += zero_gain * (sizes[s] - expressed[s])
        elif mode == 2 and nnz + 1 < cap:
            _add_ordinal_zero_gains(
                i, first, last, indices, data, nnz, target_cols, t_indptr, t_sets, cap, out
            )


@numba.njit(cache=True, nogil=True)
def _add_ordinal_zero_gains(
    i, first, last, indices, data, nnz, target_cols, t_indptr, t_sets, cap, out
):  # pragma: no cover
    """Zero genes ranked after the non-zero ones, in column order."""
    p = first
    expressed_before = 0
    for target in range(target_cols.size):
        column = target_cols[target]
        while p < last and indices[p] < column:
            if data[p] != 0:
                expressed_before += 1
            p += 1
        if p < last and indices[p] == column and data[p] != 0:
            continue
        rank = nnz + 1.0 + (column - expressed_before)
        if rank >= cap:
            break
        for k in range(t_indptr[target], t_indptr[target + 1]):
            out[i, t_sets[k]] += cap - rank


@numba.njit(parallel=True, cache=True, nogil=True)
def _rank_sums_parallel(
    indptr,
    indices,
    data,
    target_of_col,
    target_cols,
    t_indptr,
    t_sets,
    sizes,
    n_cols,
    cap,
    mode,
    out,
    n_parts,
):  # pragma: no cover
    n_rows = indptr.size - 1
    for part in numba.prange(n_parts):
        _rank_sums_rows(
            part * n_rows // n_parts,
            (part + 1) * n_rows // n_parts,
            indptr,
            indices,
            data,
            target_of_col,
            target_cols,
            t_indptr,
            t_sets,
            sizes,
            n_cols,
            cap,
            mode,
            out,
        )


# --------------------------------------------------------------------------- output


def _nan_for_unscored(
    scores: np.ndarray, members: dict[str, Any], scorable: dict[str, bool]
) -> np.ndarray:
    for j, name in enumerate(members):
        if not scorable[name]:
            scores[:, j] = np.nan
    return scores


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


def _input_record(view: ExpressionView, method: str) -> dict[str, Any]:
    entry = dict(view.record)
    if method in ("ucell", "aucell"):
        entry["normalisation"] = (
            "not needed: per-cell ranks are the same for counts and log-normalised values"
            if view.normalised
            else entry["normalisation"]
        )
        entry["rank_universe"] = f"all {view.n_stored_columns} stored columns"
    return entry


def _set_records(
    sets: dict[str, list[str]],
    members: dict[str, tuple[np.ndarray, list[str], list[str]]],
    scorable: dict[str, bool],
    controls: dict[str, list[str]],
    view: ExpressionView,
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


__all__ = ["METHODS", "bin_members", "draw_control_genes", "expression_bins", "score"]
