"""A synthetic bulk time course shaped like Hansen 2024 (GSE246769), and its HOMER table.

:func:`simulate_timecourse` draws negative-binomial counts for donors x time points
(by default 8 donors, days 0/2/5/9, no day-0 sample for donors 5, 7 and 8, as in
GSE246769), with per-donor depth and per-donor gene levels, and planted trends in
chosen genes. :func:`homer_table` writes it in the layout of
``GSE246769_RNAcounts_Differentiation.txt``: eight HOMER annotation columns
(``RefSeqID Chr Start End Strand Length Copies Annotation/Divergence``), then one
column per sample named ``Donor<N>_d<day>`` (columns 9-37 for 29 samples); the symbol
is the first ``|``-separated field of ``Annotation/Divergence``.

Not real data: the values are synthetic.

Examples
--------
>>> bulk = simulate_timecourse(seed=0)
>>> bulk.n_obs, sorted(bulk.obs["time_point"].unique())
(29, ['day0', 'day2', 'day5', 'day9'])
>>> header = homer_table(bulk).splitlines()[0].split("\\t")
>>> header[7], header[8], len(header)
('Annotation/Divergence', 'Donor1_d0', 37)
"""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd

from scclast import genesets

HANSEN_MISSING = (("Donor5", 0), ("Donor7", 0), ("Donor8", 0))
"""Donor-days without a sample in GSE246769 (low RNA yield at day 0)."""

HOMER_ANNOTATION = (
    "RefSeqID", "Chr", "Start", "End", "Strand", "Length", "Copies", "Annotation/Divergence",
)  # fmt: skip
"""The eight annotation columns of a HOMER ``analyzeRepeats.pl`` count table."""


def simulate_timecourse(
    n_donors: int = 8,
    times: Sequence[float] = (0, 2, 5, 9),
    *,
    missing: Sequence[tuple[str, float]] = HANSEN_MISSING,
    rising: Sequence[str] = (),
    falling: Sequence[str] = (),
    transient: Sequence[str] = (),
    fold: float = 4.0,
    lineage: bool = True,
    donor_sd: float = 0.3,
    depth: float = 2e6,
    n_background: int = 300,
    dispersion: float = 20.0,
    species: str = "human",
    seed: int = 0,
) -> ad.AnnData:
    """Synthetic bulk RNA-seq counts of a differentiation time course (samples x genes).

    Parameters
    ----------
    n_donors, times
        Donors (``Donor1`` ...) and time points (days).
    missing
        ``(donor, time)`` pairs without a sample.
    rising, falling, transient
        Genes whose mean is multiplied by ``fold ** s`` with ``s`` the scaled time
        (0 at the first time point, 1 at the last), ``1 - s``, or a bump peaking at the
        middle of the time range.
    fold
        Fold change of a planted trend at its maximum.
    lineage
        Differentiate the culture: the osteoclast programme (``state_osteoclast``) rises
        and the macrophage programme (``state_macrophage``) falls, each ``fold``-fold.
    donor_sd
        Log-normal spread of each donor's gene levels (donor effects the model blocks).
    depth
        Mean reads per sample (each donor's depth varies by a log-normal 0.2).
    n_background
        Genes without any trend (``BG0001`` ...), beside every catalogue gene.
    dispersion
        Negative-binomial size parameter (bulk replicates are far less noisy than cells).
    species
        Symbols of the catalogue genes: ``"human"`` (GSE246769) or ``"mouse"``.
    seed
        Seed of every draw.

    Returns
    -------
    AnnData with integer counts in ``X``; ``obs`` columns ``donor``, ``time_point``
    (``day<N>``) and ``day``; sample names ``Donor<N>_d<day>``.
    """
    rng = np.random.default_rng(seed)
    if lineage:
        rising = [*rising, *genesets.get("state_osteoclast", species)]
        falling = [*falling, *genesets.get("state_macrophage", species)]
    catalogue = list(
        dict.fromkeys(g for genes in genesets.as_dict(species).values() for g in genes)
    )
    catalogue += [g for g in genesets.factor_genes(species)["gene"] if g and g not in catalogue]
    genes = [*catalogue, *(f"BG{i:04d}" for i in range(1, n_background + 1))]
    base = rng.lognormal(np.log(40.0), 1.2, size=len(genes))
    base /= base.sum()
    times = [float(t) for t in times]
    span = max(times) - min(times) or 1.0
    lost = {(str(d), float(t)) for d, t in missing}
    rows, obs = [], []
    for number in range(1, n_donors + 1):
        donor = f"Donor{number}"
        levels = rng.lognormal(0.0, donor_sd, size=len(genes))
        donor_depth = depth * rng.lognormal(0.0, 0.2)
        for t in times:
            if (donor, t) in lost:
                continue
            s = (t - min(times)) / span
            mean = base * levels * _trend_factor(genes, s, rising, falling, transient, fold)
            mean = mean / mean.sum() * donor_depth
            rows.append(rng.negative_binomial(dispersion, dispersion / (dispersion + mean)))
            obs.append((f"{donor}_d{t:g}", donor, f"day{t:g}", t))
    frame = pd.DataFrame(obs, columns=["sample", "donor", "time_point", "day"]).set_index("sample")
    adata = ad.AnnData(
        X=np.asarray(rows, dtype=np.float32), obs=frame, var=pd.DataFrame(index=pd.Index(genes))
    )
    adata.obs.index.name = None
    adata.uns["scclast_simulation"] = {
        "synthetic": True,
        "statement": "SYNTHETIC bulk time course (scclast.testing.simulate_timecourse)",
        "seed": seed,
        "lineage": lineage,
        "rising": list(rising),
        "falling": list(falling),
        "transient": list(transient),
        "fold": fold,
        "missing": [f"{d} day{t:g}" for d, t in sorted(lost)],
    }
    return adata


def _trend_factor(
    genes: list[str],
    s: float,
    rising: Sequence[str],
    falling: Sequence[str],
    transient: Sequence[str],
    fold: float,
) -> np.ndarray:
    factor = np.ones(len(genes))
    index = {g: i for i, g in enumerate(genes)}
    for names, exponent in (
        (rising, s),
        (falling, 1.0 - s),
        (transient, float(np.exp(-((s - 0.5) ** 2) / (2 * 0.15**2)))),
    ):
        for name in names:
            if name not in index:
                raise KeyError(f"planted gene {name!r} is not among the simulated genes")
            factor[index[name]] *= fold**exponent
    return factor


def homer_table(adata: ad.AnnData) -> str:
    """The samples x genes counts as a HOMER ``analyzeRepeats.pl`` table (tab-separated).

    Genes become rows with placeholder RefSeq IDs (``NM_999...``) and coordinates; the
    symbol is the first field of ``Annotation/Divergence``
    (``SYMBOL|ALIAS|-|band|protein-coding``).
    """
    counts = np.asarray(adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X)
    lines = ["\t".join([*HOMER_ANNOTATION, *map(str, adata.obs_names)])]
    for n, symbol in enumerate(map(str, adata.var_names)):
        start = 1_000_000 + 50_000 * n
        annotation = f"{symbol}|{symbol}L|-|{1 + n % 22}p1{n % 9}|protein-coding"
        row = [
            f"NM_999{n:05d}", f"chr{1 + n % 22}", str(start), str(start + 4_000),
            "+" if n % 2 else "-", str(1_500 + n), "1", annotation,
            *(str(int(v)) for v in counts[:, n]),
        ]  # fmt: skip
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


__all__ = ["HANSEN_MISSING", "HOMER_ANNOTATION", "homer_table", "simulate_timecourse"]
