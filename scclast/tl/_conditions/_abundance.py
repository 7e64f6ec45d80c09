"""Abundance between conditions: each group's share of a sample's cells, samples as units.

A propeller-style test (Phipson et al. 2022, Bioinformatics, doi
10.1093/bioinformatics/btac582): per sample, each group's share of the sample's cells;
the shares are transformed (``logit`` of ``(n + 0.5) / (total + 0.5 * groups)``, as
propeller does, or ``asin(sqrt(share))``), and each group's transformed shares are
modelled on the condition by ordinary least squares over samples (statsmodels), one
coefficient per level compared with the reference; p-values from its t statistic,
Benjamini-Hochberg over groups. The effect is reported as propeller does, as the ratio of
the mean shares, beside the coefficient (a log2 odds ratio on the logit scale) and its
95% interval. Unlike propeller, the group variances are not moderated by limma's empirical
Bayes (no maintained Python implementation; pertpy's would bring a large stack): with few
groups this costs power, not calibration.

Compositions are relative: shares sum to one in each sample, so one group's rise lowers
the shares of the others even when their numbers of cells did not change.

Examples
--------
>>> import pandas as pd
>>> counts = pd.DataFrame({"oc": [10, 12, 11, 25, 22, 24], "mac": [90, 88, 89, 75, 78, 76]},
...                       index=list("abcdef"))
>>> conditions = pd.Series(["ctl"] * 3 + ["trt"] * 3, index=counts.index)
>>> table = abundance_tests(counts, conditions, ["ctl", "trt"])
>>> oc = table.set_index("group").loc["oc"]
>>> round(float(oc["share_reference"]), 3), round(float(oc["share_condition"]), 3)
(0.11, 0.237)
>>> bool(table.set_index("group").loc["oc", "pvalue"] < 0.001)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["TRANSFORMS", "AbundanceTransform", "abundance_tests", "transformed_shares"]

AbundanceTransform = Literal["logit", "asin"]
TRANSFORMS: tuple[str, ...] = ("logit", "asin")

_SCALE = {"logit": "log2 odds ratio", "asin": "difference of asin(sqrt(share))"}

METHOD = "propeller-style OLS on transformed per-sample shares (statsmodels)"


def transformed_shares(counts: pd.DataFrame, transform: str = "logit") -> pd.DataFrame:
    """Samples x groups shares on the test's scale.

    Examples
    --------
    >>> c = pd.DataFrame({"a": [0, 5], "b": [10, 5]})
    >>> transformed_shares(c).round(3).to_numpy().tolist()
    [[-3.045, 3.045], [0.0, 0.0]]
    """
    counts = counts.astype(float)
    if transform == "logit":
        pseudo = (counts + 0.5).div((counts + 0.5).sum(axis=1), axis=0)
        return np.log(pseudo / (1.0 - pseudo))
    if transform == "asin":
        shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
        return np.arcsin(np.sqrt(shares))
    raise ValueError(f"transform {transform!r}: use one of {TRANSFORMS}")


def abundance_tests(
    counts: pd.DataFrame,
    conditions: pd.Series,
    levels: Sequence[str],
    transform: str = "logit",
) -> pd.DataFrame:
    """One row per group x compared level: shares, their ratio, the test (no FDR yet).

    Parameters
    ----------
    counts
        Samples x groups: cells of each group in each sample (all the sample's cells).
    conditions
        Each sample's level.
    levels
        Reference first, then the levels compared with it.
    transform
        ``"logit"`` (propeller's default) or ``"asin"``.
    """
    import statsmodels.api as sm  # on first use

    scaled = transformed_shares(counts, transform)
    shares = counts.div(counts.sum(axis=1), axis=0)
    labels = conditions.loc[counts.index].astype(str).to_numpy()
    design = np.column_stack(
        [np.ones(len(labels)), *((labels == level).astype(float) for level in levels[1:])]
    )
    reference = str(levels[0])
    in_reference = labels == reference
    rows = []
    for group in counts.columns:
        y = scaled[group].to_numpy(dtype=float)
        fit = sm.OLS(y, design).fit() if y.size > design.shape[1] else None
        degenerate = fit is None or not fit.ssr > 1e-12
        interval = None if degenerate else np.asarray(fit.conf_int(alpha=0.05))
        for i, level in enumerate(levels[1:], start=1):
            in_level = labels == str(level)
            ref_share = float(shares.loc[in_reference, group].mean())
            level_share = float(shares.loc[in_level, group].mean())
            ratio = level_share / ref_share if ref_share > 0 else np.inf
            to_log2 = 1.0 / np.log(2.0) if transform == "logit" else 1.0
            row = {
                "group": str(group),
                "condition": str(level),
                "reference": reference,
                "n_samples_reference": int(in_reference.sum()),
                "n_samples_condition": int(in_level.sum()),
                "n_cells_reference": int(counts.loc[in_reference, group].sum()),
                "n_cells_condition": int(counts.loc[in_level, group].sum()),
                "share_reference": ref_share,
                "share_condition": level_share,
                "share_ratio": ratio,
                "log2_share_ratio": float(np.log2(ratio)) if 0 < ratio < np.inf else np.nan,
                "estimate": np.nan if degenerate else float(fit.params[i]) * to_log2,
                "ci_low": np.nan if degenerate else float(interval[i, 0]) * to_log2,
                "ci_high": np.nan if degenerate else float(interval[i, 1]) * to_log2,
                "scale": _SCALE[transform],
                "pvalue": np.nan if degenerate else float(fit.pvalues[i]),
                "note": "no variation between samples" if degenerate else "",
            }
            rows.append(row)
    return pd.DataFrame(rows)
