"""A small seeded simulator of single-cell counts for the scoring tests.

Counts are Poisson with a gamma gene popularity and a log-normal cell size, so that
they have realistic ties (many 0/1/2 counts) and a range of gene means for the
expression bins. Every gene and every cell has at least one count unless asked
otherwise (decoupler drops empty genes and cells, which would change its universe).
"""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

# The reference normalisation is written out here, independently of scclast._matrix,
# so that tests compare scclast's on-the-fly normalisation against a second spelling.
TARGET_SUM = 1e4


def gene_names(n_genes: int, species: str = "mouse", prefix: str = "Simg") -> list[str]:
    """Synthetic symbols with the letter case of ``species`` (``"other"``: ``g0, g1``).

    Examples
    --------
    >>> gene_names(2), gene_names(2, "human"), gene_names(2, "other")
    (['Simg0', 'Simg1'], ['SIMG0', 'SIMG1'], ['g0', 'g1'])
    """
    if species == "mouse":
        return [f"{prefix}{i}" for i in range(n_genes)]
    if species == "human":
        return [f"{prefix.upper()}{i}" for i in range(n_genes)]
    return [f"g{i}" for i in range(n_genes)]


def simulate_counts(
    n_cells: int = 120,
    n_genes: int = 300,
    *,
    seed: int = 0,
    species: str = "mouse",
    genes: Sequence[str] = (),
    popularity_shape: float = 0.7,
    fmt: str = "csr",
    dtype: type = np.float32,
) -> ad.AnnData:
    """Integer counts (cells x genes) as an AnnData; ``genes`` are placed first.

    ``fmt`` is ``"csr"``, ``"csc"`` or ``"dense"``.

    Examples
    --------
    >>> adata = simulate_counts(50, 20, seed=1, genes=["Acp5"])
    >>> adata.shape, adata.var_names[:2].tolist(), adata.X.format
    ((50, 20), ['Acp5', 'Simg0'], 'csr')
    >>> bool((adata.X.sum(axis=0) > 0).all() and (adata.X.sum(axis=1) > 0).all())
    True
    """
    rng = np.random.default_rng(seed)
    names = list(dict.fromkeys(genes))
    names += [g for g in gene_names(n_genes, species) if g not in set(names)]
    names = names[:n_genes]
    popularity = rng.gamma(popularity_shape, 1.0, n_genes)
    size = rng.lognormal(0.0, 0.5, n_cells)
    counts = rng.poisson(np.outer(size, popularity)).astype(dtype)
    empty_genes = np.flatnonzero(counts.sum(axis=0) == 0)
    counts[rng.integers(0, n_cells, empty_genes.size), empty_genes] = 1
    empty_cells = np.flatnonzero(counts.sum(axis=1) == 0)
    counts[empty_cells, rng.integers(0, n_genes, empty_cells.size)] = 1
    adata = ad.AnnData(_as_format(counts, fmt))
    adata.var_names = names
    adata.obs_names = [f"cell{i}" for i in range(n_cells)]
    return adata


def log_normalised(adata: ad.AnnData, dtype: type = np.float64) -> ad.AnnData:
    """A copy with ``log1p(count / total * 1e4)`` in ``X`` (same format), counts in a layer.

    Examples
    --------
    >>> counts = simulate_counts(5, 10, fmt="dense")
    >>> lognorm = log_normalised(counts)
    >>> bool(np.allclose(np.expm1(lognorm.X).sum(axis=1), 1e4))
    True
    >>> bool((lognorm.layers["counts"] == counts.X).all())
    True
    """
    counts = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    totals = counts.sum(axis=1, dtype=np.float64, keepdims=True)
    scale = np.divide(TARGET_SUM, totals, out=np.zeros_like(totals), where=totals > 0)
    values = np.log1p(counts * scale).astype(dtype)
    fmt = adata.X.format if sp.issparse(adata.X) else "dense"
    out = adata.copy()
    out.layers["counts"] = adata.X.copy()
    out.X = _as_format(values, fmt)
    return out


def random_sets(
    var_names: Sequence[str],
    n_sets: int = 6,
    sizes: tuple[int, int] = (5, 30),
    seed: int = 1,
) -> dict[str, list[str]]:
    """``n_sets`` random gene sets of ``sizes[0]`` to ``sizes[1]`` genes (seeded).

    Examples
    --------
    >>> sets = random_sets(gene_names(100), n_sets=2, sizes=(3, 6), seed=0)
    >>> list(sets), all(3 <= len(genes) < 6 for genes in sets.values())
    (['set0', 'set1'], True)
    """
    rng = np.random.default_rng(seed)
    names = np.asarray(var_names)
    return {
        f"set{k}": [str(g) for g in rng.choice(names, rng.integers(*sizes), replace=False)]
        for k in range(n_sets)
    }


def jitter(adata: ad.AnnData, seed: int = 2) -> ad.AnnData:
    """A copy whose non-zero values are multiplied by U(0.9, 1.1): no ties left.

    Examples
    --------
    >>> jittered = jitter(log_normalised(simulate_counts(20, 30)))
    >>> values = jittered.X.data
    >>> np.unique(values).size == values.size
    True
    """
    rng = np.random.default_rng(seed)
    out = adata.copy()
    if sp.issparse(out.X):
        out.X.data = out.X.data * rng.uniform(0.9, 1.1, out.X.data.size)
    else:
        out.X = out.X * rng.uniform(0.9, 1.1, out.X.shape)
    return out


def obs_frame(adata: ad.AnnData, columns: Sequence[str]) -> pd.DataFrame:
    """The listed ``obs`` columns as float64 (for comparisons).

    Examples
    --------
    >>> adata = simulate_counts(3, 4)
    >>> adata.obs["n"] = [1, 2, 3]
    >>> obs_frame(adata, ["n"]).dtypes.tolist()
    [dtype('float64')]
    """
    return adata.obs[list(columns)].astype(np.float64)


def _as_format(values: np.ndarray, fmt: str) -> np.ndarray | sp.spmatrix:
    if fmt == "dense":
        return values
    if fmt == "csr":
        return sp.csr_matrix(values)
    if fmt == "csc":
        return sp.csc_matrix(values)
    raise ValueError(f"unknown format {fmt!r}")
