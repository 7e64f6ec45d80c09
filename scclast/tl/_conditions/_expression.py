"""Expression between conditions in one group: PyDESeq2 per gene, a linear model per set.

Genes: the group's pseudobulk counts (one profile per sample) go to PyDESeq2
(``DeseqDataSet(counts, metadata, design="~condition")``, then ``DeseqStats`` per
compared level): negative-binomial GLM, dispersions shrunk towards a fitted trend, Wald
test, Cook's-distance outlier filter. PyDESeq2 is called, not re-implemented. Catalogue
genes are fitted together with ``n_background`` other genes spread over the range of
expression, which give the size factors (median of ratios, catalogue genes left out so
that a change in them cannot move the normalisation) and the dispersion trend; only the
catalogue genes are reported. The log2 fold change is the maximum-likelihood estimate
with its Wald 95% interval (no shrinkage, so the interval and the test agree).

Gene sets: a self-contained test per set. Each sample's set score is the mean over the
set's expressed genes of ``log2(normalised count + 1)`` (normalised by the same size
factors), and the scores are compared between conditions with an ordinary least-squares
model over samples (statsmodels), whose coefficient is the set's log2 fold change (the
geometric mean of its genes' fold changes) with a t interval. Because the score is
formed within each sample before any test, the correlation between the set's genes
stays inside the sample-to-sample variance the model estimates: correlated genes move
the score together and widen its spread, and no correlation estimate is needed. A
competitive test (camera) would ask another question (are these genes more changed than
the rest of the genome), which depends on the background chosen.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> counts = pd.DataFrame(rng.poisson(50, size=(6, 40)), index=list("abcdef"),
...                       columns=[f"g{i}" for i in range(40)])
>>> conditions = pd.Series(["x"] * 3 + ["y"] * 3, index=counts.index)
>>> background_genes(counts, exclude={"g0"}, n=5)
['g9', 'g23', 'g11', 'g4', 'g35']
>>> fit = fit_group(counts, conditions, ("x", "y"), n_jobs=1)
>>> sorted(fit.results), bool(fit.results["y"].loc["g0", "pvalue"] > 0.01)
(['y'], True)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "GENE_METHOD",
    "SET_METHOD",
    "GroupFit",
    "background_genes",
    "fit_group",
    "fit_set",
    "set_scores",
]

GENE_METHOD = "PyDESeq2 Wald test, pseudobulk counts per sample"
SET_METHOD = "OLS on per-sample set scores (statsmodels)"

_Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975), without importing scipy.stats


@dataclass(frozen=True)
class GroupFit:
    """PyDESeq2's results for one group.

    Attributes
    ----------
    results
        ``{level: DeseqStats results}`` (genes x ``baseMean``, ``log2FoldChange``,
        ``lfcSE``, ``stat``, ``pvalue``) for each level compared with the reference.
    size_factors
        Per sample.
    notes
        Distinct warnings PyDESeq2 gave (e.g. on few residual degrees of freedom).
    """

    results: dict[str, pd.DataFrame]
    size_factors: pd.Series
    notes: list[str] = field(default_factory=list)


def background_genes(counts: pd.DataFrame, exclude: set[str], n: int) -> list[str]:
    """``n`` genes outside ``exclude``, spread evenly over the ranks of mean expression.

    Only genes counted in every sample qualify (the median-of-ratios size factors need
    them); the spread keeps the dispersion trend fitted over the whole range of
    expression, low-expressed catalogue genes included. Deterministic.
    """
    candidates = [g for g in counts.columns if g not in exclude]
    frame = counts[candidates]
    everywhere = frame.columns[(frame > 0).all(axis=0).to_numpy()]
    if n <= 0 or everywhere.empty:
        return []
    depth = counts.sum(axis=1).replace(0, 1)
    level = frame[everywhere].div(depth, axis=0).mean(axis=0)
    ranked = level.sort_values(ascending=False, kind="stable").index
    if len(ranked) <= n:
        return [str(g) for g in ranked]
    picks = np.unique(np.round(np.linspace(0, len(ranked) - 1, n)).astype(int))
    return [str(ranked[i]) for i in picks]


def fit_group(
    counts: pd.DataFrame,
    conditions: pd.Series,
    levels: Sequence[str],
    *,
    control_genes: Sequence[str] | None = None,
    n_jobs: int = 1,
) -> GroupFit:
    """Fit PyDESeq2 to one group's pseudobulk and test each level against the first.

    Parameters
    ----------
    counts
        Samples x genes, integer counts.
    conditions
        Each sample's level (index: the samples of ``counts``).
    levels
        Reference first, then the levels to compare with it (each present in
        ``conditions``).
    control_genes
        Genes that set the size factors (default: all).
    n_jobs
        PyDESeq2's ``n_cpus``.
    """
    from pydeseq2.dds import DeseqDataSet  # on first use: importing scclast.tl stays fast
    from pydeseq2.ds import DeseqStats

    # level names go into formulaic's column names: plain codes keep any label safe
    codes = {level: f"c{i}" for i, level in enumerate(levels)}
    metadata = pd.DataFrame(
        {"condition": [codes[str(c)] for c in conditions.loc[counts.index]]}, index=counts.index
    )
    matrix = counts.round().astype(np.int64)
    controls = [g for g in (control_genes or []) if g in matrix.columns]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dds = DeseqDataSet(
            counts=matrix,
            metadata=metadata,
            design="~condition",
            control_genes=controls or None,
            refit_cooks=True,
            n_cpus=n_jobs,
            quiet=True,
        )
        dds.deseq2()
        results = {}
        for level in levels[1:]:
            stats_ = DeseqStats(
                dds,
                contrast=["condition", codes[level], codes[levels[0]]],
                cooks_filter=True,
                independent_filter=False,
                quiet=True,
                n_cpus=n_jobs,
            )
            stats_.summary()
            results[str(level)] = stats_.results_df.copy()
    notes = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    size_factors = pd.Series(
        np.asarray(dds.obs["size_factors"], dtype=float), index=counts.index, name="size_factor"
    )
    return GroupFit(results=results, size_factors=size_factors, notes=notes)


def gene_row(result: pd.DataFrame, gene: str) -> dict[str, float | str]:
    """One gene's estimate, interval and p-value from a DeseqStats table."""
    nan = float("nan")
    if gene not in result.index:
        return {
            "base_mean": nan,
            "log2fc": nan,
            "ci_low": nan,
            "ci_high": nan,
            "lfc_se": nan,
            "pvalue": nan,
            "note": "not in the fit",
        }
    row = result.loc[gene]
    base_mean = float(row["baseMean"])
    lfc, se, p = float(row["log2FoldChange"]), float(row["lfcSE"]), float(row["pvalue"])
    note = ""
    if not base_mean > 0:
        note = "not expressed in these samples"
        lfc = se = p = nan
    elif np.isnan(p) and np.isfinite(lfc):
        note = "p-value removed by PyDESeq2's Cook's-distance filter (one sample dominates)"
    return {
        "base_mean": base_mean,
        "log2fc": lfc,
        "ci_low": lfc - _Z95 * se,
        "ci_high": lfc + _Z95 * se,
        "lfc_se": se,
        "pvalue": p,
        "note": note,
    }


def set_scores(
    counts: pd.DataFrame, size_factors: pd.Series, genes: Sequence[str]
) -> tuple[pd.Series, list[str]]:
    """Per-sample set score: mean ``log2(normalised count + 1)`` over expressed genes.

    Returns the scores and the genes used (those of ``genes`` counted in any sample).
    """
    present = [g for g in dict.fromkeys(genes) if g in counts.columns]
    used = [g for g in present if float(counts[g].sum()) > 0]
    if not used:
        return pd.Series(np.nan, index=counts.index, dtype=float), []
    normalised = counts[used].div(size_factors.loc[counts.index], axis=0)
    return np.log2(normalised + 1.0).mean(axis=1), used


def fit_set(
    scores: pd.Series, conditions: pd.Series, levels: Sequence[str]
) -> dict[str, dict[str, float]]:
    """OLS of the scores on the condition: per compared level, its log2 FC, interval, p.

    Examples
    --------
    >>> s = pd.Series([1.0, 1.1, 0.9, 2.0, 2.1, 1.9], index=list("abcdef"))
    >>> c = pd.Series(["x"] * 3 + ["y"] * 3, index=s.index)
    >>> out = fit_set(s, c, ["x", "y"])["y"]
    >>> round(out["log2fc"], 3), bool(out["pvalue"] < 0.001)
    (1.0, True)
    """
    import statsmodels.api as sm  # on first use

    nan = float("nan")
    empty = {"log2fc": nan, "ci_low": nan, "ci_high": nan, "lfc_se": nan, "pvalue": nan}
    y = scores.to_numpy(dtype=float)
    labels = conditions.loc[scores.index].astype(str).to_numpy()
    design = np.column_stack(
        [np.ones(y.size), *((labels == level).astype(float) for level in levels[1:])]
    )
    if not np.all(np.isfinite(y)) or y.size <= design.shape[1]:
        return {str(level): dict(empty) for level in levels[1:]}
    fit = sm.OLS(y, design).fit()
    if not fit.ssr > 1e-12 * max(1.0, float(np.sum(y**2))):
        return {str(level): dict(empty) for level in levels[1:]}
    interval = np.asarray(fit.conf_int(alpha=0.05))
    out = {}
    for i, level in enumerate(levels[1:], start=1):
        out[str(level)] = {
            "log2fc": float(fit.params[i]),
            "ci_low": float(interval[i, 0]),
            "ci_high": float(interval[i, 1]),
            "lfc_se": float(fit.bse[i]),
            "pvalue": float(fit.pvalues[i]),
        }
    return out


def pseudobulk_frame(
    sums: np.ndarray, samples: Sequence[str], genes: Sequence[str]
) -> pd.DataFrame:
    """Samples x genes counts as a frame (rounded to whole counts)."""
    return pd.DataFrame(np.rint(sums), index=list(samples), columns=list(genes))


def catalogue_rows(fit: GroupFit, genes: Sequence[str], level: str) -> list[dict[str, float | str]]:
    """Per catalogue gene, the row of one compared level."""
    return [{"feature": gene, **gene_row(fit.results[level], gene)} for gene in genes]


def set_rows(
    counts: pd.DataFrame,
    size_factors: pd.Series,
    conditions: pd.Series,
    levels: Sequence[str],
    sets: Mapping[str, Sequence[str]],
) -> dict[str, list[dict[str, object]]]:
    """Per compared level, one row per set: its test, the genes it used."""
    rows: dict[str, list[dict[str, object]]] = {str(level): [] for level in levels[1:]}
    for name, members in sets.items():
        scores, used = set_scores(counts, size_factors, members)
        tested = fit_set(scores, conditions, levels) if used else {}
        for level in levels[1:]:
            result = tested.get(str(level))
            row: dict[str, object] = {
                "feature": name,
                "n_genes": len(used),
                "genes": ", ".join(used),
                "base_mean": float(scores.mean()) if used else float("nan"),
            }
            if result is None:
                row.update(
                    log2fc=np.nan,
                    ci_low=np.nan,
                    ci_high=np.nan,
                    lfc_se=np.nan,
                    pvalue=np.nan,
                    note="no gene of the set expressed in these samples",
                )
            else:
                no_p = np.isnan(result["pvalue"])
                row.update(result, note="no variation between samples" if no_p else "")
            rows[str(level)].append(row)
    return rows
