"""``simulate_osteoclastogenesis``: seeded synthetic osteoclastogenesis counts (not real data).

The simulated cells are NOT measurements. The gene programmes (``_states.py``) are
simulation settings that decide which genes go up in which simulated state; they are not
claims about biology (the cited biology lives in ``gene_sets/``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._errors import ScclastInputError
from scclast._version import __version__
from scclast.datasets._qc import add_qc_metrics
from scclast.datasets._simulate import _design as design
from scclast.datasets._simulate._counts import (
    MT_GENES,
    CellPlan,
    GeneEffect,
    Trajectory,
    assign_states,
    draw_counts,
    effect_columns,
    gene_list,
    lineage_bins,
    state_profiles,
    stream,
    trajectory,
)
from scclast.datasets._simulate._record import (
    SYNTHETIC_STATEMENT,
    indexed,
    record_parameters,
)
from scclast.datasets._simulate._states import (
    LINEAGES,
    SimState,
    catalogue_sets,
    programmes_of,
    resolve_programmes,
)

log = logging.getLogger("scclast")


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
    max_gene_share: float | None = 0.05,
    n_samples: int = 2,
    cluster_noise: float = 0.0,
    programmes: Mapping[str, Sequence[str]] | None = None,
    extra_genes: Sequence[str] | None = None,
    use_catalogue: bool = True,
    dataset: str = "simulated_osteoclastogenesis",
    states: Mapping[str, float] | None = None,
    extra_states: Mapping[str, float] | None = None,
    sample_depth_sd: float = 0.15,
    sample_gene_sd: float = 0.0,
    composition_concentration: float = math.inf,
    programme_effects: Sequence[Mapping[str, Any]] | None = None,
    conditions: Mapping[str, Sequence[str]] | int | None = None,
    condition_effects: Sequence[Mapping[str, Any]] | None = None,
    composition_shift: Mapping[str, Any] | None = None,
    continuous: bool = False,
    trend_genes: Mapping[str, str] | None = None,
    trend_fold: float = 4.0,
) -> ad.AnnData:
    """Simulate synthetic osteoclastogenesis single-cell counts (not real data).

    By default cells are drawn in five states (``obs["state_true"]``): ``macrophage``,
    ``oc_precursor``, ``osteoclast``, ``osteoclast_secretory`` (an osteoclast-lineage
    subpopulation whose clastokine programme is raised ``clastokine_fold``-fold, spread
    over several factor genes) and ``stromal`` (non-lineage cells that express Ctsk,
    Mmp9 and Acp5 but no myeloid identity gene). Counts are negative binomial around
    per-cell library sizes that vary log-normally, so most entries are zero (about
    85-95% with the defaults), as in droplet data. :func:`state_table` lists every state
    the simulator knows, including the optional decoys (``neutrophil``,
    ``dendritic_cell``) and osteoblast-lineage receivers (``osteoprogenitor``,
    ``osteoblast``, ``osteocyte``), and the programme folds of each.

    Every feature beyond the default call is off by default: animals with their own
    depth, composition and gene noise; planted effects in chosen states and animals;
    conditions with expression and composition changes; a continuous differentiation
    axis with planted trends.

    Parameters
    ----------
    n_cells, n_genes
        Size of the matrix. Genes are the programme genes, real mouse mitochondrial
        genes, ``extra_genes`` and synthetic background genes named ``Bg00001``, ...
    seed
        Seed of every random draw: the same arguments give the same data.
    secretory_fraction, stromal_fraction
        Fractions of all cells in the planted ``osteoclast_secretory`` state and in the
        non-lineage ``stromal`` state (ignored when ``states`` is given).
    clastokine_fold
        Fold raise of the clastokine programme in the secretory state (1 = none).
    clastokine_genes
        How many clastokine-programme genes are raised (None: all of them).
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
        About this fraction of background genes per state gets a random per-state fold
        (state-dependent background expression, and cluster structure).
    max_gene_share
        No gene (mitochondrial ones aside) takes more than this share of a state's
        expected counts (None: no cap, as simulator v1, where one background gene could
        take most of a state's counts).
    n_samples
        Animals (``obs["sample"]``: ``animal1``, ``animal2``, ...); cells are spread over
        them at random.
    cluster_noise
        Fraction of cells whose ``obs["cluster"]`` label is reassigned at random, for a
        harder grouping than the true states.
    programmes
        Gene lists per programme (names: ``DEFAULT_PROGRAMMES``); given lists win over
        the catalogue.
    extra_genes
        Further named genes at background expression (default: every mouse gene of the
        catalogue when ``use_catalogue``, so that all catalogue sets have coverage).
    use_catalogue
        Take programme genes from :func:`scclast.genesets.as_dict` where it has a set of
        the same role; a missing (renamed) set falls back to the simulator's list.
    dataset
        Value of ``obs["dataset"]``.
    states
        The whole composition, ``{state: weight}`` (weights are normalised); replaces
        ``secretory_fraction``, ``stromal_fraction`` and ``lineage_weights``.
    extra_states
        ``{state: share of all cells}`` added to the default composition (the default
        states shrink in proportion), e.g. ``{"neutrophil": 0.1}``.
    sample_depth_sd
        Log-normal spread of the animals' depth factors.
    sample_gene_sd
        Log-normal spread of per-animal, per-gene expression factors (0: none).
    composition_concentration
        Each animal's state shares are Dirichlet around the expected ones with this
        concentration (smaller: animals differ more; ``inf``: all the same).
    programme_effects
        Planted effects: a list of ``{"genes": [...]`` or ``"programme": name,
        "states": [...], "fold": f, "samples": [...]}`` (``state``/``sample`` also
        accepted; default every state and every animal). Example: ``[{"programme":
        "clastokines", "states": ["osteoclast"], "fold": 3, "samples": ["animal2"]}]``.
    conditions
        ``{condition: [animals]}``, or a number of conditions splitting the animals in
        order (2: ``control`` and ``treated``); adds ``obs["condition"]``.
    condition_effects
        Like ``programme_effects`` with ``"condition": name`` instead of animals: the
        fold applies to those states' cells in every animal of that condition.
    composition_shift
        ``{condition: {state: fold}}`` (or ``{state: fold}`` for every condition but the
        first): the state's expected share of the condition's cells is multiplied by
        ``fold``, the other states shrink in proportion.
    continuous
        Lineage cells get a pseudotime uniform within their state's bin and expression
        interpolated between neighbouring states (otherwise each state is one profile
        and ``pseudotime_true`` its bin's midpoint).
    trend_genes
        ``{gene or programme: "late" | "early" | "transient"}``: along pseudotime the
        genes' expression in lineage cells is multiplied by ``trend_fold ** s(t)`` with
        s = t, 1 - t, or a bump peaking at t = 0.5.
    trend_fold
        Fold at the peak of a planted trend.

    Returns
    -------
    AnnData with integer-valued ``float32`` counts in ``X`` (CSR); ``obs`` columns
    ``state_true``, ``lineage_true`` (the state's lineage class), ``cluster``,
    ``sample``, ``condition`` (when ``conditions``), ``pseudotime_true`` (osteoclast
    lineage: macrophage -> precursor -> osteoclast -> secretory osteoclast on [0, 1];
    NaN elsewhere), ``dataset`` and QC metrics; ``var`` columns ``gene_ids`` (empty: no
    real IDs), ``programme`` and ``mt``; and in ``uns["scclast_simulation"]`` the
    statement, seed, parameters, states table, animals and resolved effects.

    Examples
    --------
    >>> from scclast.datasets import simulate_osteoclastogenesis
    >>> adata = simulate_osteoclastogenesis(n_cells=500, n_genes=800, seed=1)
    >>> adata.uns["scclast_simulation"]["synthetic"]
    True
    >>> sorted(adata.obs["state_true"].unique())[:2]
    ['macrophage', 'oc_precursor']

    Four animals, two conditions, clastokines raised 2x in the treated animals'
    osteoclasts, and neutrophil decoys:

    >>> adata = simulate_osteoclastogenesis(
    ...     n_cells=800, n_genes=900, seed=1, n_samples=4, conditions=2,
    ...     extra_states={"neutrophil": 0.1},
    ...     condition_effects=[{"programme": "clastokines", "states": ["osteoclast"],
    ...                         "fold": 2.0, "condition": "treated"}])
    >>> adata.obs.groupby("condition", observed=True)["sample"].nunique().to_dict()
    {'control': 2, 'treated': 2}
    >>> "neutrophil" in set(adata.obs["state_true"])
    True
    """
    arguments = dict(locals())
    _check_numbers(arguments)
    active, shares = design.composition(
        states, extra_states, secretory_fraction, stromal_fraction, lineage_weights
    )
    names = [s.name for s in active]
    animals = design.sample_names(n_samples)
    condition_map = design.conditions_of(conditions, animals)
    per_condition, shift = design.shifted_shares(shares, names, condition_map, composition_shift)
    planted = design.effects(programme_effects, "programme_effects", names, animals, {})
    by_condition = design.effects(
        condition_effects, "condition_effects", names, animals, condition_map
    )
    trends = design.trends(trend_genes)

    resolved, sources = resolve_programmes(programmes, use_catalogue)
    used = {p: resolved[p] for p in programmes_of(active)}
    extra = _extra_genes(extra_genes, use_catalogue)
    genes, membership = gene_list(used, active, extra, n_genes)
    index = {g: i for i, g in enumerate(genes)}
    resolved_effects, gene_effects = _gene_effects(
        planted, by_condition, index, resolved, names, animals, condition_map
    )
    resolved_trends, trend_cols = _trend_columns(trends, index, resolved)

    rng = np.random.default_rng(seed)
    u = rng.random(n_cells)
    profile = state_profiles(
        rng,
        genes,
        used,
        active,
        clastokine_fold,
        clastokine_genes,
        stromal_marker_fold,
        de_fraction,
        max_gene_share,
    )
    sample_idx = rng.integers(0, n_samples, size=n_cells)
    sample_depth = rng.lognormal(0.0, sample_depth_sd, size=n_samples)
    compositions = design.animal_compositions(
        per_condition,
        condition_map,
        animals,
        shares,
        composition_concentration,
        stream(seed, "composition"),
    )
    state_idx = assign_states(u, sample_idx, compositions)
    bins = lineage_bins(active, shares)
    path = trajectory(state_idx, bins, continuous, stream(seed, "pseudotime"))
    plan = _cell_plan(
        rng,
        profile,
        state_idx,
        sample_idx,
        sample_depth,
        path,
        active,
        used,
        index,
        mean_library_size,
        library_size_sdlog,
        mito_fraction,
    )
    if sample_gene_sd > 0:
        plan.gene_noise = _gene_noise(
            stream(seed, "gene_noise"), sample_gene_sd, n_samples, profile, plan.mt_cols
        )
    plan.effects, plan.trends, plan.trend_fold = gene_effects, trend_cols, float(trend_fold)
    theta = rng.lognormal(np.log(dispersion), 0.5, size=len(genes))
    counts = draw_counts(rng, plan, theta)
    clusters = _clusters(rng, state_idx, cluster_noise, len(active))

    # Record every list the run read, so that regenerating never consults the catalogue.
    named = [e["programme"] for e in planted + by_condition if "programme" in e]
    named += [k for k in trends if k in resolved]
    recorded = {**used, **{p: resolved[p] for p in named}}
    arguments.update(
        states=None if states is None else {str(k): float(v) for k, v in states.items()},
        extra_states=(
            None if extra_states is None else {str(k): float(v) for k, v in extra_states.items()}
        ),
        programmes={k: list(v) for k, v in recorded.items()},
        extra_genes=list(extra),
        lineage_weights=[float(w) for w in lineage_weights],
        conditions=condition_map or None,
        composition_shift=shift or None,
        programme_effects=planted,
        condition_effects=by_condition,
        trend_genes=trends or None,
    )
    record = {
        "synthetic": True,
        "statement": SYNTHETIC_STATEMENT,
        "function": "scclast.datasets.simulate_osteoclastogenesis",
        "scclast_version": __version__,
        "seed": int(seed),
        "parameters": record_parameters(arguments),
        "programme_sources": {k: sources[k] for k in used},
        "cluster_to_state": {str(i): s for i, s in enumerate(names)},
        "states": _states_record(active, shares),
        "samples": _samples_record(animals, condition_map, sample_depth, compositions, names),
        "pseudotime_bins": {active[r].name: [lo, hi] for r, (lo, hi) in bins.items()},
        "effects": resolved_effects,
        "trends": resolved_trends,
    }
    obs = _obs(active, state_idx, clusters, sample_idx, animals, condition_map, path, dataset)
    return _assemble(counts, genes, membership, obs, record)


def _check_numbers(a: Mapping[str, Any]) -> None:
    seed = a["seed"]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScclastInputError(f"seed={seed!r}: use a non-negative integer")
    if a["n_cells"] < 10:
        raise ScclastInputError(f"n_cells={a['n_cells']}: simulate at least 10 cells")
    if a["n_samples"] < 1:
        raise ScclastInputError(f"n_samples={a['n_samples']}: use at least 1")
    positive = ("mean_library_size", "dispersion", "composition_concentration", "trend_fold")
    for name in positive:
        if not a[name] > 0:
            raise ScclastInputError(f"{name}={a[name]}: use a value > 0")
    for name in ("sample_depth_sd", "sample_gene_sd", "library_size_sdlog", "de_fraction"):
        if not (a[name] >= 0 and math.isfinite(a[name])):
            raise ScclastInputError(f"{name}={a[name]}: use a finite value >= 0")
    share = a["max_gene_share"]
    if share is not None and not 0 < share < 1:
        raise ScclastInputError(f"max_gene_share={share}: use a share in (0, 1) or None")
    for name in ("mito_fraction", "cluster_noise"):
        if not 0 <= a[name] < 1:
            raise ScclastInputError(f"{name}={a[name]}: use a value in [0, 1)")


def _extra_genes(extra_genes: Sequence[str] | None, use_catalogue: bool) -> list[str]:
    if extra_genes is not None:
        return [str(g) for g in extra_genes]
    if not use_catalogue:
        return []
    return sorted({g for genes in catalogue_sets().values() for g in genes})


def _gene_effects(
    planted: list[dict[str, Any]],
    by_condition: list[dict[str, Any]],
    index: dict[str, int],
    programmes: dict[str, list[str]],
    states: list[str],
    animals: list[str],
    conditions: dict[str, list[str]],
) -> tuple[dict[str, Any], list[GeneEffect]]:
    out: list[GeneEffect] = []
    record: dict[str, Any] = {}
    for argument, specs in (("programme_effects", planted), ("condition_effects", by_condition)):
        resolved = []
        for i, spec in enumerate(specs):
            cols, genes = effect_columns(spec, f"{argument}[{i}]", index, programmes)
            samples = conditions[spec["condition"]] if "condition" in spec else spec["samples"]
            out.append(
                GeneEffect(
                    cols,
                    np.asarray([states.index(s) for s in spec["states"]]),
                    np.asarray([animals.index(s) for s in samples]),
                    spec["fold"],
                )
            )
            resolved.append({**spec, "genes": genes, "samples": list(samples)})
        if resolved:
            record[argument] = indexed(resolved)
    return record, out


def _trend_columns(
    trends: dict[str, str], index: dict[str, int], programmes: dict[str, list[str]]
) -> tuple[dict[str, Any], list[tuple[np.ndarray, str]]]:
    record, cols = {}, []
    for key, shape in trends.items():
        spec = {"programme": key} if key in programmes else {"genes": [key]}
        columns, genes = effect_columns(spec, f"trend_genes[{key!r}]", index, programmes)
        cols.append((columns, shape))
        record[key] = {"shape": shape, "genes": genes}
    return record, cols


def _cell_plan(
    rng: np.random.Generator,
    profile: np.ndarray,
    state_idx: np.ndarray,
    sample_idx: np.ndarray,
    sample_depth: np.ndarray,
    path: Trajectory,
    states: list[SimState],
    programmes: dict[str, list[str]],
    index: dict[str, int],
    mean_library_size: float,
    library_size_sdlog: float,
    mito_fraction: float,
) -> CellPlan:
    n_cells = len(state_idx)
    depth = np.asarray([s.depth for s in states])
    if path.left is None or path.right is None or path.frac is None:
        cell_depth = depth[state_idx]
    else:
        cell_depth = depth[path.left] * (1 - path.frac) + depth[path.right] * path.frac
    library = rng.lognormal(
        np.log(mean_library_size) - library_size_sdlog**2 / 2, library_size_sdlog, size=n_cells
    )
    library *= sample_depth[sample_idx] * cell_depth
    mito = rng.beta(4.0, 4.0 * (1 - mito_fraction) / max(mito_fraction, 1e-6), size=n_cells)
    activities = []
    for members in programmes.values():
        activities.append(([index[g] for g in members], rng.gamma(4.0, 0.25, size=n_cells)))
    mt_cols = [index[g] for g in MT_GENES]
    mt_weights = rng.dirichlet(np.full(len(mt_cols), 5.0))
    return CellPlan(
        profile, state_idx, sample_idx, library, mito, activities, mt_cols, mt_weights, path
    )


def _gene_noise(
    rng: np.random.Generator, sd: float, n_samples: int, profile: np.ndarray, mt_cols: list[int]
) -> np.ndarray:
    """Per-animal, per-gene factors, scaled so that an animal's library size stays put."""
    noise = rng.lognormal(0.0, sd, size=(n_samples, profile.shape[1]))
    # A few genes carry most counts (log-normal abundances); without this rescaling
    # their noise would act as a second depth factor.
    average = profile.mean(axis=0)
    noise /= (noise @ average / average.sum())[:, None]
    noise[:, mt_cols] = 1.0
    return noise


def _clusters(
    rng: np.random.Generator, state_idx: np.ndarray, noise: float, n_states: int
) -> np.ndarray:
    clusters = state_idx.copy()
    if noise > 0:
        flip = rng.random(len(clusters)) < noise
        clusters[flip] = rng.integers(0, n_states, size=int(flip.sum()))
    return clusters


def _states_record(states: list[SimState], shares: np.ndarray) -> dict[str, Any]:
    return {
        s.name: {
            "lineage": s.lineage,
            "order": -1 if s.order is None else int(s.order),
            "share": float(share),
            "depth": float(s.depth),
            "activities": {p: float(v) for p, v in s.activities.items()},
            "gene_folds": {g: float(v) for g, v in s.gene_folds.items()},
        }
        for s, share in zip(states, shares, strict=True)
    }


def _samples_record(
    animals: list[str],
    conditions: dict[str, list[str]],
    depth: np.ndarray,
    compositions: np.ndarray,
    states: list[str],
) -> dict[str, Any]:
    of = {a: c for c, members in conditions.items() for a in members}
    return {
        a: {
            "condition": of.get(a, ""),
            "depth_factor": float(depth[i]),
            "composition": {s: float(v) for s, v in zip(states, compositions[i], strict=True)},
        }
        for i, a in enumerate(animals)
    }


def _obs(
    states: list[SimState],
    state_idx: np.ndarray,
    clusters: np.ndarray,
    sample_idx: np.ndarray,
    animals: list[str],
    conditions: dict[str, list[str]],
    path: Trajectory,
    dataset: str,
) -> pd.DataFrame:
    n_cells = len(state_idx)
    names = [s.name for s in states]
    lineage = np.asarray([s.lineage for s in states])[state_idx]
    columns: dict[str, Any] = {
        "state_true": pd.Categorical.from_codes(state_idx, categories=names),
        "lineage_true": pd.Categorical(
            lineage, categories=[c for c in LINEAGES if c in {s.lineage for s in states}]
        ),
        "cluster": pd.Categorical.from_codes(
            clusters, categories=[str(i) for i in range(len(states))]
        ),
        "sample": pd.Categorical.from_codes(sample_idx, categories=animals),
    }
    if conditions:
        of = {a: c for c, members in conditions.items() for a in members}
        columns["condition"] = pd.Categorical(
            [of[animals[i]] for i in sample_idx], categories=list(conditions)
        )
    columns["pseudotime_true"] = path.t
    columns["dataset"] = pd.Categorical([dataset] * n_cells)
    return pd.DataFrame(columns, index=pd.Index([f"cell{i:05d}" for i in range(n_cells)]))


def _assemble(
    counts: sp.csr_matrix,
    genes: list[str],
    gene_programmes: dict[str, list[str]],
    obs: pd.DataFrame,
    record: dict[str, Any],
) -> ad.AnnData:
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
    adata = ad.AnnData(X=counts, obs=obs, var=var)
    add_qc_metrics(adata)
    adata.uns["scclast_simulation"] = record
    return adata
