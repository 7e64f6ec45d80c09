"""LIANA+ runs for the coupling map: the matrix it reads, pooled and per-sample runs.

LIANA+ (``liana``, Dimitrov et al. 2022/2024) does the scoring: its
:func:`liana.mt.rank_aggregate` runs CellPhoneDB (mean of ligand and receptor
expression, complexes by their lowest subunit, and a label-permutation p-value),
Connectome, log2FC, NATMI and SingleCellSignalR over the catalogue's resource and
aggregates them into a ``magnitude_rank`` and a ``specificity_rank`` (robust rank
aggregation; lower is stronger). What is written here only hands LIANA+ the right
matrix and groups, and combines per-sample runs:

* The matrix holds the resource's genes only, log-normalised by
  :mod:`scclast._matrix` (counts per 10,000, ``log1p``, library size over all genes),
  read in row chunks, so backed data work and LIANA+ copies a few dozen columns
  instead of the whole matrix. LIANA+'s statistics are per gene, so the subset
  changes none of them.
* Every cell stays in the matrix (the permutation null shuffles labels over all of
  them); ``groupby_pairs`` limits the output to sender -> receiver combinations.
* With a sample key, each sample is run on its own (as ``rank_aggregate.by_sample``
  does), so labels are permuted only within a sample; a sample enters only for the
  sender/receiver groups with at least ``min_cells`` cells in it. The loop is written
  here rather than calling ``by_sample`` so that a sample lacking a group is skipped
  and recorded instead of failing the run.
* LIANA+ reports a permutation p of 0 when no shuffle reached the observed value;
  it is reported as ``(k + 1) / (n_perms + 1)`` (Phipson & Smyth 2010), never 0.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._errors import ScclastInputError

if TYPE_CHECKING:
    from scclast._matrix import ExpressionView

log = logging.getLogger("scclast")

GROUP = "_scclast_group"
SAMPLE = "_scclast_sample"
LIANA_COLUMNS = (
    "source",
    "target",
    "ligand_complex",
    "receptor_complex",
    "lr_means",
    "cellphone_pvals",
    "specificity_rank",
    "magnitude_rank",
)
"""Columns kept from LIANA+'s ``rank_aggregate`` output."""


@dataclass(frozen=True)
class LianaSettings:
    """What LIANA+ is called with (recorded in the provenance).

    Attributes
    ----------
    n_perms
        Label permutations of CellPhoneDB's p-value.
    expr_prop
        A ligand or receptor (every subunit) must be detected in this fraction of its
        group's cells for the pair to be scored.
    min_cells
        Groups (per sample, with a sample key) with fewer cells are left out.
    seed
        Seed of the permutations.
    """

    n_perms: int = 1000
    expr_prop: float = 0.1
    min_cells: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if int(self.n_perms) < 1:
            raise ScclastInputError(f"n_perms={self.n_perms!r}: give a positive number")
        if not 0.0 <= float(self.expr_prop) <= 1.0:
            raise ScclastInputError(f"expr_prop={self.expr_prop!r}: give a value in [0, 1]")
        if int(self.min_cells) < 1:
            raise ScclastInputError(f"min_cells={self.min_cells!r}: give a positive number")


def resource_genes(resource: pd.DataFrame) -> list[str]:
    """Every gene of a resource's ligand and receptor complexes, each once.

    Examples
    --------
    >>> resource_genes(pd.DataFrame({"ligand": ["A_B"], "receptor": ["C"]}))
    ['A', 'B', 'C']
    """
    names = [*resource["ligand"], *resource["receptor"]]
    return list(dict.fromkeys(g for name in names for g in str(name).split("_")))


def liana_anndata(
    view: ExpressionView,
    genes: Sequence[str],
    labels: np.ndarray,
    samples: np.ndarray | None = None,
) -> ad.AnnData:
    """Cells x measured ``genes``, log-normalised, with the group (and sample) labels.

    Cells without a group are dropped. ``labels`` and ``samples`` are per cell (text;
    ``None`` for no group).

    Examples
    --------
    >>> from scclast._matrix import expression_view
    >>> a = ad.AnnData(np.array([[1.0, 3.0], [2.0, 0.0]], dtype=np.float32))
    >>> a.var_names = ["Slit3", "Robo1"]
    >>> out = liana_anndata(expression_view(a), ["Robo1", "Efnb2"], np.array(["x", "y"]))
    >>> out.var_names.tolist(), out.obs[GROUP].tolist()
    (['Robo1'], ['x', 'y'])
    """
    positions, found, _ = view.index_of(genes)
    columns = view.columns[positions]
    blocks = [sp.csr_matrix(chunk.normalised(columns)) for chunk in view.iter_raw()]
    matrix = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, len(found)))
    keep = np.array([label is not None for label in labels], dtype=bool)
    obs = pd.DataFrame({GROUP: pd.Categorical(np.asarray(labels, dtype=object)[keep])})
    if samples is not None:
        obs[SAMPLE] = pd.Categorical(np.asarray(samples, dtype=object)[keep].astype(str))
    obs.index = obs.index.astype(str)
    out = ad.AnnData(
        X=matrix[keep].astype(np.float32), obs=obs, var=pd.DataFrame(index=list(found))
    )
    return out


def run_pooled(
    data: ad.AnnData,
    resource: pd.DataFrame,
    pairs: pd.DataFrame,
    settings: LianaSettings,
) -> pd.DataFrame:
    """LIANA+ ``rank_aggregate`` over all cells, for the sender -> receiver ``pairs``.

    Returns :data:`LIANA_COLUMNS` (empty when no pair is scored).
    """
    pairs = _present_pairs(data, pairs, settings.min_cells)
    return _rank_aggregate(data, resource, pairs, settings)


def run_per_sample(
    data: ad.AnnData,
    resource: pd.DataFrame,
    pairs: pd.DataFrame,
    settings: LianaSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LIANA+ on each sample on its own (permutations within the sample).

    Returns the per-sample results (:data:`LIANA_COLUMNS` plus ``sample``) and which
    sender -> receiver combinations each sample tested (``sample``, ``source``,
    ``target``): both groups had ``min_cells`` cells in it.
    """
    results, tested = [], []
    for sample in data.obs[SAMPLE].cat.categories:
        subset = data[(data.obs[SAMPLE] == sample).to_numpy()].copy()
        subset.obs[GROUP] = subset.obs[GROUP].cat.remove_unused_categories()
        present = _present_pairs(subset, pairs, settings.min_cells)
        if present.empty:
            continue
        tested.append(present.assign(sample=str(sample)))
        result = _rank_aggregate(subset, resource, present, settings)
        if not result.empty:
            results.append(result.assign(sample=str(sample)))
    columns = ["sample", *LIANA_COLUMNS]
    per_sample = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=columns)
    which = (
        pd.concat(tested, ignore_index=True)
        if tested
        else pd.DataFrame(columns=["source", "target", "sample"])
    )
    return per_sample[columns], which


def _present_pairs(data: ad.AnnData, pairs: pd.DataFrame, min_cells: int) -> pd.DataFrame:
    """The sender -> receiver pairs whose two groups have ``min_cells`` cells here."""
    sizes = data.obs[GROUP].value_counts()
    big = {str(g) for g, n in sizes.items() if n >= min_cells}
    keep = pairs["source"].isin(big) & pairs["target"].isin(big)
    return pairs.loc[keep].reset_index(drop=True)


def _rank_aggregate(
    data: ad.AnnData, resource: pd.DataFrame, pairs: pd.DataFrame, settings: LianaSettings
) -> pd.DataFrame:
    empty = pd.DataFrame(columns=list(LIANA_COLUMNS))
    if pairs.empty:
        return empty
    import liana  # heavy import (seconds): only when a map is computed

    groups = sorted(set(pairs["source"]) | set(pairs["target"]))
    try:
        with _quiet():
            result = liana.mt.rank_aggregate(
                data,
                groupby=GROUP,
                resource=resource[["ligand", "receptor"]],
                groupby_pairs=pairs[["source", "target"]],
                expr_prop=settings.expr_prop,
                min_cells=settings.min_cells,
                n_perms=settings.n_perms,
                seed=settings.seed,
                use_raw=False,
                inplace=False,
                verbose=False,
            )
    except ValueError as err:
        # LIANA+ refuses data that hold (almost) none of the resource's genes, and
        # groups left with no scorable pair; both mean "nothing scored here"
        log.debug("LIANA+ scored nothing for groups %s: %s", groups, err)
        return empty
    if result is None or result.empty:
        return empty
    out = result[list(LIANA_COLUMNS)].copy()
    out["source"] = out["source"].astype(str)
    out["target"] = out["target"].astype(str)
    out["cellphone_pvals"] = permutation_p(out["cellphone_pvals"], settings.n_perms)
    return out.reset_index(drop=True)


def permutation_p(p: pd.Series | np.ndarray, n_perms: int) -> np.ndarray:
    """LIANA+'s share of exceeding shuffles as ``(k + 1) / (n + 1)``, never zero.

    Examples
    --------
    >>> permutation_p(np.array([0.0, 0.5, 1.0]), 10).round(2).tolist()
    [0.09, 0.55, 1.0]
    """
    k = np.round(np.asarray(p, dtype=float) * n_perms)
    return (k + 1.0) / (n_perms + 1.0)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """LIANA+ and anndata warn about things of theirs (deprecations, views): not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


__all__ = [
    "GROUP",
    "LIANA_COLUMNS",
    "SAMPLE",
    "LianaSettings",
    "liana_anndata",
    "permutation_p",
    "resource_genes",
    "run_per_sample",
    "run_pooled",
]
