"""``seurat``: a set's mean expression minus that of control genes from its expression bins.

As ``scanpy.tl.score_genes`` (``ctrl_as_ref=True``): genes are cut into expression bins
by the rank (``method="min"``) of their mean, integer-divided by
``round(n_genes / (n_bins - 1))``; from each bin holding a set gene, ``ctrl_size`` genes
are drawn (all of them when the bin is smaller) and set genes are removed. The draw uses
a random generator seeded by ``seed`` and a stable hash of the set's name, so a set's
controls do not depend on the other sets, their order or the chunking. Gene means are
rounded to 12 significant digits before ranking, so that bins do not depend on the
floating-point summation order.

All sets are scored in two passes over the data: one for the gene means, one for the
product ``X @ W`` with ``W`` holding ``1/n`` for the set's genes and ``-1/m`` for its
controls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scclast._errors import ScclastInputError
from scclast._matrix import gene_means, matmul
from scclast._warnings import DataWarning, LowCoverageWarning, warn
from scclast.tl._score._base import Members, Method, MethodResult, WeightBuilder, nan_for_unscored

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView


def compute(
    view: ExpressionView,
    members: Members,
    scorable: dict[str, bool],
    *,
    seed: int,
    n_bins: int,
    ctrl_size: int,
    control_genes: Mapping[str, Iterable[str]] | None,
    progress: bool | None,
) -> MethodResult:
    """Score - control score for all sets in one product ``X @ W`` (second pass).

    Sets without any control gene are set to unscored (NaN) with a warning.

    Examples
    --------
    >>> import anndata as ad
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[1.0, 3.0, 0.0], [2.0, 2.0, 1.0]]))
    >>> a.var_names = ["Acp5", "Ctsk", "Mmp9"]
    >>> view = expression_view(a, normalize="none")
    >>> members = {"s": view.index_of(["Acp5"])}
    >>> result = compute(
    ...     view, members, {"s": True}, seed=0, n_bins=2, ctrl_size=1,
    ...     control_genes={"s": ["Mmp9"]}, progress=False,
    ... )
    >>> result.scores.ravel().tolist(), result.controls
    ([1.0, 1.0], {'s': ['Mmp9']})
    """
    given = dict(control_genes or {})
    unknown = sorted(set(given) - set(members))
    if unknown:
        raise ScclastInputError(
            f"control_genes names unknown gene set(s) {', '.join(map(repr, unknown))}"
        )
    needs_bins = any(scorable[name] and name not in given for name in members)
    bins = expression_bins(gene_means(view, progress), n_bins) if needs_bins else None
    members_of_bin = bin_members(bins) if needs_bins else None
    weights = WeightBuilder(view.n_vars, len(members))
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
                stacklevel=5,
            )
            scorable[name] = False
            continue
        controls[name] = view.symbols[chosen].tolist()
        weights.add(genes, j, 1.0 / genes.size)
        weights.add(chosen, j, -1.0 / chosen.size)
    scores = nan_for_unscored(matmul(view, weights.tocsr(), progress), members, scorable)
    parameters = {"seed": seed, "n_bins": n_bins, "ctrl_size": ctrl_size}
    parameters["control_genes"] = "given for " + ", ".join(given) if given else "drawn"
    return MethodResult(scores, parameters, controls)


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
    # pandas' rank(method="min") is scipy.stats.rankdata(method="min"), without the
    # 1.5 s import of scipy.stats in a process that only scores
    ranks = pd.Series(rounded).rank(method="min").to_numpy()
    return ranks.astype(np.int64) // n_items


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
            stacklevel=6,
        )
    return np.unique(indices)


SEURAT = Method(
    name="seurat",
    description="mean(S) - mean(controls drawn per expression bin)",
    peer="scanpy.tl.score_genes",
    needs_non_negative=True,
    parameters=("seed", "n_bins", "ctrl_size", "control_genes"),
    compute=compute,
)
"""The ``seurat`` method record."""

__all__ = ["SEURAT", "bin_members", "compute", "draw_control_genes", "expression_bins"]
