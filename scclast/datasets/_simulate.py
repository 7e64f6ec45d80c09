"""A seeded simulator of osteoclastogenesis single-cell counts (synthetic data).

The simulated cells are NOT measurements. The gene "programmes" below are simulation
settings that decide which genes go up in which simulated state; they are not claims
about biology (the cited biology lives in ``gene_sets/``). By default the programme
gene lists are taken at run time from the scclast catalogue where it has the named set,
and fall back to the lists written here when it does not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast import genesets
from scclast._errors import ScclastError, ScclastInputError
from scclast._version import __version__
from scclast.datasets._loaders import add_qc_metrics

log = logging.getLogger("scclast")

STATES: tuple[str, ...] = (
    "macrophage",
    "oc_precursor",
    "osteoclast",
    "osteoclast_secretory",
    "stromal",
)
"""Simulated states, in the order of ``obs["cluster"]`` labels ``"0"`` .. ``"4"``."""

LINEAGE_STATES: tuple[str, ...] = STATES[:4]
"""The osteoclast-lineage (myeloid) states; ``stromal`` is the non-lineage state."""

SYNTHETIC_STATEMENT = (
    "SYNTHETIC DATA: simulated by scclast.datasets.simulate_osteoclastogenesis "
    "(negative-binomial counts from seeded random numbers); not measured from any cell. "
    "Gene programmes are simulation settings, not biological claims."
)

# Simulation programmes, not biology claims: programme -> (catalogue set used when
# present, fallback genes). The fallbacks mirror the catalogue's sets of the same name.
DEFAULT_PROGRAMMES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "myeloid_identity": (
        "lineage_myeloid",
        ("Ptprc", "Spi1", "Csf1r", "Lyz2", "Cd68", "Tyrobp", "Fcer1g"),
    ),
    "macrophage": ("state_macrophage", ("Adgre1", "C1qa", "Mrc1", "Cx3cr1")),
    "oc_precursor": ("state_oc_precursor", ("Tnfrsf11a", "Itgax", "Nfatc1")),
    "osteoclast": (
        "state_osteoclast",
        (
            "Acp5",
            "Ctsk",
            "Mmp9",
            "Nfatc1",
            "Dcstamp",
            "Ocstamp",
            "Atp6v0d2",
            "Calcr",
            "Oscar",
            "Itgb3",
        ),
    ),
    "clastokines": (
        "clastokines_secreted",
        ("Sphk1", "Spns2", "Wnt10b", "C3", "Cthrc1", "Wnt5a", "Slit3", "Ctf1", "Lif"),
    ),
    "stromal": (None, ("Col1a1", "Col1a2", "Col3a1", "Sparc", "Cxcl12", "Lepr", "Pdgfra")),
}

# Fold change of each programme's genes in each state (columns follow STATES). The
# secretory state's clastokine fold is multiplied by ``clastokine_fold`` on top.
PROGRAMME_ACTIVITY: dict[str, tuple[float, float, float, float, float]] = {
    "myeloid_identity": (6.0, 6.0, 5.0, 5.0, 0.0),
    "macrophage": (8.0, 3.0, 0.7, 0.7, 0.05),
    "oc_precursor": (1.5, 8.0, 3.0, 3.0, 0.05),
    "osteoclast": (0.3, 2.5, 12.0, 12.0, 0.1),
    "clastokines": (1.0, 1.0, 1.5, 1.5, 1.0),
    "stromal": (0.05, 0.05, 0.05, 0.05, 10.0),
}

STROMAL_SHARED_GENES: tuple[str, ...] = ("Ctsk", "Mmp9", "Acp5")
"""Genes the simulated stromal cells express although they are not osteoclast-lineage
(to exercise a lineage gate that must not trust these genes alone)."""

MT_GENES: tuple[str, ...] = (
    "mt-Co1",
    "mt-Co2",
    "mt-Co3",
    "mt-Atp6",
    "mt-Nd1",
    "mt-Nd2",
    "mt-Nd4",
    "mt-Cytb",
)
"""Real mouse mitochondrial gene symbols, used for a simulated mitochondrial fraction."""

_STATE_DEPTH = (1.0, 1.1, 1.4, 1.5, 0.9)


def simulate_osteoclastogenesis(
    n_cells: int = 3000,
    n_genes: int = 2500,
    seed: int = 0,
    *,
    secretory_fraction: float = 0.08,
    clastokine_fold: float = 4.0,
    clastokine_genes: int | None = None,
    stromal_fraction: float = 0.15,
    lineage_weights: Sequence[float] = (0.4, 0.3, 0.3),
    stromal_marker_fold: float = 8.0,
    mean_library_size: float = 1500.0,
    library_size_sdlog: float = 0.5,
    dispersion: float = 4.0,
    mito_fraction: float = 0.04,
    de_fraction: float = 0.05,
    n_samples: int = 2,
    cluster_noise: float = 0.0,
    programmes: Mapping[str, Sequence[str]] | None = None,
    extra_genes: Sequence[str] | None = None,
    use_catalogue: bool = True,
    dataset: str = "simulated_osteoclastogenesis",
) -> ad.AnnData:
    """Simulate synthetic osteoclastogenesis single-cell counts (not real data).

    Cells are drawn in five states (``obs["state_true"]``): ``macrophage``,
    ``oc_precursor``, ``osteoclast``, ``osteoclast_secretory`` (an osteoclast-lineage
    subpopulation whose clastokine programme is raised ``clastokine_fold``-fold, spread
    over several factor genes) and ``stromal`` (non-lineage cells that express Ctsk,
    Mmp9 and Acp5 but no myeloid identity gene). Counts are negative binomial around
    per-cell library sizes that vary log-normally, so most entries are zero (about
    85-95% with the defaults), as in droplet data.

    Parameters
    ----------
    n_cells, n_genes
        Size of the matrix. Genes are the programme genes, real mouse mitochondrial
        genes, ``extra_genes`` and synthetic background genes named ``Bg00001``, ...
    seed
        Seed of the only random generator used: the same seed gives the same data.
    secretory_fraction
        Fraction of all cells in the planted ``osteoclast_secretory`` state.
    clastokine_fold
        Fold raise of the clastokine programme in the secretory state (1 = none).
    clastokine_genes
        How many clastokine-programme genes are raised (None: all of them).
    stromal_fraction
        Fraction of non-lineage stromal cells.
    lineage_weights
        Relative sizes of the macrophage, precursor and (non-secretory) osteoclast states.
    stromal_marker_fold
        Fold of Ctsk, Mmp9 and Acp5 in stromal cells.
    mean_library_size, library_size_sdlog
        Mean UMI count per cell and the log-normal spread of library sizes.
    dispersion
        Mean negative-binomial size parameter (smaller: more overdispersed).
    mito_fraction
        Mean fraction of counts on the mitochondrial genes.
    de_fraction
        Fraction of background genes given a random per-state fold (cluster structure).
    n_samples
        Replicate samples (``obs["sample"]``), each with its own depth factor.
    cluster_noise
        Fraction of cells whose ``obs["cluster"]`` label is reassigned at random, for a
        harder grouping than the true states.
    programmes
        Gene lists per programme (``myeloid_identity``, ``macrophage``, ``oc_precursor``,
        ``osteoclast``, ``clastokines``, ``stromal``); given lists win over the catalogue.
    extra_genes
        Further named genes at background expression (default: every mouse gene of the
        catalogue when ``use_catalogue``, so that all catalogue sets have coverage).
    use_catalogue
        Take programme genes from :func:`scclast.genesets.as_dict` where it has the set.
    dataset
        Value of ``obs["dataset"]``.

    Returns
    -------
    AnnData with integer-valued ``float32`` counts in ``X`` (CSR), ``obs`` columns
    ``state_true``, ``lineage_true``, ``cluster``, ``sample``, ``dataset`` and QC metrics,
    ``var`` columns ``gene_ids`` (empty: no real IDs), ``programme`` and ``mt``, and the
    parameters, seed and a synthetic-data statement in ``uns["scclast_simulation"]``.

    Examples
    --------
    >>> from scclast.datasets import simulate_osteoclastogenesis
    >>> adata = simulate_osteoclastogenesis(n_cells=500, n_genes=800, seed=1)
    >>> adata.uns["scclast_simulation"]["synthetic"]
    True
    >>> sorted(adata.obs["state_true"].unique())[:2]
    ['macrophage', 'oc_precursor']
    """
    _check_args(n_cells, n_genes, secretory_fraction, stromal_fraction, lineage_weights, n_samples)
    resolved, sources = resolve_programmes(programmes, use_catalogue)
    extra = _extra_genes(extra_genes, use_catalogue)
    genes, gene_programmes = _gene_list(resolved, extra, n_genes)
    rng = np.random.default_rng(seed)

    state_idx = _draw_states(rng, n_cells, secretory_fraction, stromal_fraction, lineage_weights)
    profile = _state_profiles(
        rng, genes, resolved, clastokine_fold, clastokine_genes, stromal_marker_fold, de_fraction
    )
    mu = _cell_means(
        rng,
        state_idx,
        profile,
        genes,
        resolved,
        mean_library_size,
        library_size_sdlog,
        mito_fraction,
        n_samples,
    )
    sample_idx = mu.pop("sample_idx")
    means = mu["means"]
    theta = rng.lognormal(np.log(dispersion), 0.5, size=len(genes))
    counts = rng.negative_binomial(theta, theta / (theta + means)).astype(np.float32)

    clusters = _clusters(rng, state_idx, cluster_noise)
    parameters = {
        "n_cells": int(n_cells),
        "n_genes": int(n_genes),
        "seed": int(seed),
        "secretory_fraction": float(secretory_fraction),
        "clastokine_fold": float(clastokine_fold),
        "clastokine_genes": -1 if clastokine_genes is None else int(clastokine_genes),
        "stromal_fraction": float(stromal_fraction),
        "lineage_weights": [float(w) for w in lineage_weights],
        "stromal_marker_fold": float(stromal_marker_fold),
        "mean_library_size": float(mean_library_size),
        "library_size_sdlog": float(library_size_sdlog),
        "dispersion": float(dispersion),
        "mito_fraction": float(mito_fraction),
        "de_fraction": float(de_fraction),
        "n_samples": int(n_samples),
        "cluster_noise": float(cluster_noise),
        "programmes": {k: list(v) for k, v in resolved.items()},
        "extra_genes": list(extra),
        "use_catalogue": bool(use_catalogue),
        "dataset": dataset,
    }
    return _assemble(
        counts,
        genes,
        gene_programmes,
        state_idx,
        clusters,
        sample_idx,
        dataset,
        parameters,
        sources,
    )


def resolve_programmes(
    programmes: Mapping[str, Sequence[str]] | None = None, use_catalogue: bool = True
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Programme gene lists: given ones, else the catalogue's set, else the defaults.

    Returns the lists and where each came from (``given``, ``catalogue:<set>`` or
    ``default``). A missing catalogue set or an unreadable catalogue falls back to the
    defaults with a log message; it never fails.

    Examples
    --------
    >>> lists, sources = resolve_programmes(use_catalogue=False)
    >>> lists["stromal"][:2], sources["stromal"]
    (['Col1a1', 'Col1a2'], 'default')
    """
    given = dict(programmes or {})
    unknown = set(given) - set(DEFAULT_PROGRAMMES)
    if unknown:
        raise ScclastInputError(
            f"unknown simulation programme(s) {sorted(unknown)}: use {sorted(DEFAULT_PROGRAMMES)}"
        )
    catalogue = _catalogue_sets() if use_catalogue else {}
    lists, sources = {}, {}
    for name, (set_name, fallback) in DEFAULT_PROGRAMMES.items():
        if name in given:
            lists[name], sources[name] = [str(g) for g in given[name]], "given"
        elif set_name and catalogue.get(set_name):
            lists[name], sources[name] = list(catalogue[set_name]), f"catalogue:{set_name}"
        else:
            lists[name], sources[name] = list(fallback), "default"
        if not lists[name]:
            raise ScclastInputError(
                f"simulation programme {name!r} has no genes: give at least one"
            )
    return lists, sources


def _catalogue_sets() -> dict[str, list[str]]:
    try:
        return dict(genesets.as_dict(species="mouse"))
    except (OSError, KeyError, TypeError, ValueError, ScclastError) as err:
        log.info("catalogue unavailable for the simulator (%s); using default programmes", err)
        return {}


def _extra_genes(extra_genes: Sequence[str] | None, use_catalogue: bool) -> list[str]:
    if extra_genes is not None:
        return [str(g) for g in extra_genes]
    if not use_catalogue:
        return []
    return sorted({g for genes in _catalogue_sets().values() for g in genes})


def _check_args(
    n_cells: int,
    n_genes: int,
    secretory_fraction: float,
    stromal_fraction: float,
    lineage_weights: Sequence[float],
    n_samples: int,
) -> None:
    if n_cells < 10:
        raise ScclastInputError(f"n_cells={n_cells}: simulate at least 10 cells")
    if not 0 <= secretory_fraction < 1 or not 0 <= stromal_fraction < 1:
        raise ScclastInputError("secretory_fraction and stromal_fraction must lie in [0, 1)")
    if secretory_fraction + stromal_fraction >= 1:
        raise ScclastInputError(
            f"secretory_fraction + stromal_fraction = {secretory_fraction + stromal_fraction}: "
            "leave room for macrophages, precursors and osteoclasts (sum below 1)"
        )
    if len(lineage_weights) != 3 or min(lineage_weights) < 0 or sum(lineage_weights) <= 0:
        raise ScclastInputError("lineage_weights: three non-negative weights, not all zero")
    if n_samples < 1:
        raise ScclastInputError(f"n_samples={n_samples}: use at least 1")


def _gene_list(
    programmes: dict[str, list[str]], extra: list[str], n_genes: int
) -> tuple[list[str], dict[str, list[str]]]:
    membership: dict[str, list[str]] = {}
    for name, genes in programmes.items():
        for gene in genes:
            membership.setdefault(gene, []).append(name)
    named = list(dict.fromkeys([*membership, *STROMAL_SHARED_GENES, *MT_GENES, *extra]))
    if n_genes < len(named):
        raise ScclastInputError(
            f"n_genes={n_genes} is smaller than the {len(named)} named genes: "
            f"use n_genes >= {len(named)}"
        )
    background = [f"Bg{i:05d}" for i in range(1, n_genes - len(named) + 1)]
    return named + background, membership


def _draw_states(
    rng: np.random.Generator,
    n_cells: int,
    secretory_fraction: float,
    stromal_fraction: float,
    lineage_weights: Sequence[float],
) -> np.ndarray:
    rest = 1.0 - secretory_fraction - stromal_fraction
    weights = np.asarray(lineage_weights, dtype=float)
    probs = np.concatenate([rest * weights / weights.sum(), [secretory_fraction, stromal_fraction]])
    return rng.choice(len(STATES), size=n_cells, p=probs)


def _state_profiles(
    rng: np.random.Generator,
    genes: list[str],
    programmes: dict[str, list[str]],
    clastokine_fold: float,
    clastokine_genes: int | None,
    stromal_marker_fold: float,
    de_fraction: float,
) -> np.ndarray:
    """Relative abundance of each gene in each state (states x genes, rows sum to 1)."""
    n_genes = len(genes)
    index = {g: i for i, g in enumerate(genes)}
    base = rng.lognormal(0.0, 3.0, size=n_genes)
    fold = np.ones((len(STATES), n_genes))
    background = np.array([g.startswith("Bg") for g in genes])
    de = background & (rng.random(n_genes) < de_fraction * len(STATES))
    fold[:, de] = rng.lognormal(0.0, 1.0, size=(len(STATES), int(de.sum())))

    named_fold = np.zeros((len(STATES), n_genes))
    touched = np.zeros(n_genes, dtype=bool)
    floor = np.quantile(base, 0.85)
    for name, members in programmes.items():
        cols = [index[g] for g in members]
        base[cols] = np.maximum(base[cols], floor)
        activity = np.asarray(PROGRAMME_ACTIVITY[name])[:, None]
        named_fold[:, cols] = np.maximum(named_fold[:, cols], activity)
        touched[cols] = True
    fold[:, touched] = named_fold[:, touched]

    clastokines = [index[g] for g in programmes["clastokines"]]
    raised = clastokines if clastokine_genes is None else clastokines[: max(0, clastokine_genes)]
    secretory = STATES.index("osteoclast_secretory")
    jitter = rng.lognormal(0.0, 0.25, size=len(raised))
    fold[secretory, raised] *= clastokine_fold * jitter

    stromal = STATES.index("stromal")
    for gene in STROMAL_SHARED_GENES:
        base[index[gene]] = max(base[index[gene]], floor)
        fold[stromal, index[gene]] = stromal_marker_fold
    for gene in programmes["myeloid_identity"]:
        fold[stromal, index[gene]] = 0.0  # no myeloid identity in non-lineage cells

    mt = [index[g] for g in MT_GENES]
    fold[:, mt] = 0.0  # mitochondrial counts are added separately
    profile = base[None, :] * fold
    return profile / profile.sum(axis=1, keepdims=True)


def _cell_means(
    rng: np.random.Generator,
    state_idx: np.ndarray,
    profile: np.ndarray,
    genes: list[str],
    programmes: dict[str, list[str]],
    mean_library_size: float,
    library_size_sdlog: float,
    mito_fraction: float,
    n_samples: int,
) -> dict[str, np.ndarray]:
    n_cells = len(state_idx)
    index = {g: i for i, g in enumerate(genes)}
    sample_idx = rng.integers(0, n_samples, size=n_cells)
    sample_depth = rng.lognormal(0.0, 0.15, size=n_samples)
    library = rng.lognormal(
        np.log(mean_library_size) - library_size_sdlog**2 / 2, library_size_sdlog, size=n_cells
    )
    library *= sample_depth[sample_idx] * np.asarray(_STATE_DEPTH)[state_idx]
    mito = rng.beta(4.0, 4.0 * (1 - mito_fraction) / max(mito_fraction, 1e-6), size=n_cells)
    means = profile[state_idx] * (library * (1 - mito))[:, None]
    for members in programmes.values():
        cols = [index[g] for g in members]
        activity = rng.gamma(4.0, 0.25, size=n_cells)
        means[:, cols] *= activity[:, None]
    mt = [index[g] for g in MT_GENES]
    weights = rng.dirichlet(np.full(len(mt), 5.0))
    means[:, mt] = (library * mito)[:, None] * weights[None, :]
    return {"means": means, "sample_idx": sample_idx}


def _clusters(rng: np.random.Generator, state_idx: np.ndarray, noise: float) -> np.ndarray:
    clusters = state_idx.copy()
    if noise > 0:
        flip = rng.random(len(clusters)) < noise
        clusters[flip] = rng.integers(0, len(STATES), size=int(flip.sum()))
    return clusters


def _assemble(
    counts: np.ndarray,
    genes: list[str],
    gene_programmes: dict[str, list[str]],
    state_idx: np.ndarray,
    clusters: np.ndarray,
    sample_idx: np.ndarray,
    dataset: str,
    parameters: dict[str, Any],
    sources: dict[str, str],
) -> ad.AnnData:
    n_cells = counts.shape[0]
    states = np.asarray(STATES)[state_idx]
    obs = pd.DataFrame(
        {
            "state_true": pd.Categorical(states, categories=list(STATES)),
            "lineage_true": pd.Categorical(
                np.where(state_idx < len(LINEAGE_STATES), "osteoclast_lineage", "non_lineage")
            ),
            "cluster": pd.Categorical(
                clusters.astype(str), categories=[str(i) for i in range(len(STATES))]
            ),
            "sample": pd.Categorical([f"sim_rep{i + 1}" for i in sample_idx]),
            "dataset": pd.Categorical([dataset] * n_cells),
        },
        index=pd.Index([f"cell{i:05d}" for i in range(n_cells)]),
    )
    programme_of = [
        ";".join(gene_programmes.get(g, []))
        or (
            "mitochondrial"
            if g in MT_GENES
            else "background"
            if g.startswith("Bg")
            else "named_background"
        )
        for g in genes
    ]
    var = pd.DataFrame(
        {"gene_ids": [""] * len(genes), "programme": programme_of}, index=pd.Index(genes)
    )
    adata = ad.AnnData(X=sp.csr_matrix(counts), obs=obs, var=var)
    add_qc_metrics(adata)
    adata.uns["scclast_simulation"] = {
        "synthetic": True,
        "statement": SYNTHETIC_STATEMENT,
        "function": "scclast.datasets.simulate_osteoclastogenesis",
        "scclast_version": __version__,
        "seed": parameters["seed"],
        "parameters": parameters,
        "programme_sources": sources,
        "cluster_to_state": {str(i): s for i, s in enumerate(STATES)},
    }
    return adata


def parameters_from_uns(adata: ad.AnnData) -> dict[str, Any]:
    """The keyword arguments that regenerate a simulated AnnData exactly.

    Examples
    --------
    >>> a = simulate_osteoclastogenesis(n_cells=200, n_genes=600, seed=3)
    >>> b = simulate_osteoclastogenesis(**parameters_from_uns(a))
    >>> (a.X != b.X).nnz
    0
    """
    raw = dict(adata.uns["scclast_simulation"]["parameters"])
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "programmes":
            params[key] = {k: [str(g) for g in v] for k, v in value.items()}
        elif key in ("extra_genes", "lineage_weights"):
            params[key] = (
                [str(v) for v in value] if key == "extra_genes" else [float(v) for v in value]
            )
        elif key == "clastokine_genes":
            params[key] = None if int(value) < 0 else int(value)
        elif isinstance(value, (np.generic,)):
            params[key] = value.item()
        else:
            params[key] = value
    return params
