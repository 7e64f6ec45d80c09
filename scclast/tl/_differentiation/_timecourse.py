"""Bulk (or pseudobulk) time courses: which factors and sets rise or fall over time?

Input: an AnnData with one observation per *sample* (a bulk library, or a pseudobulk of
cells), genes as variables, and ``obs`` columns giving each sample's time and donor.

* **expression**: raw counts become ``log2(CPM + 1)`` (counts per million over the
  sample's total); values already on a log scale are used as stored. A gene is measured
  when it is not constant across samples and, for counts, reaches 1 CPM in at least two
  samples.
* **scores**: each sample's value of each feature (:mod:`._features`: coupling factors,
  flagging and Figure 4 phase sets, lineage state programmes) is the mean of its
  measured genes, each standardised across samples.
* **trend**: per feature, ordinary least squares ``y ~ C(donor) + time`` (statsmodels
  formula API): the donor is a blocking factor, so each donor is compared with itself,
  and ``slope`` is the change per time unit within donors. A second model,
  ``y ~ C(donor) + C(time)`` against ``y ~ C(donor)`` (F test), asks whether the feature
  changes at all, catching a transient peak that a straight line misses.
  Benjamini-Hochberg over factors and sets (state programmes apart), for each test.
* **missing donor-days** (e.g. no day-0 sample for three donors) need no imputation:
  the donor effects are estimated from the samples each donor has, and the fitted
  time-point means are averaged over donors (marginal means), so a missing day does not
  shift its mean toward the donors that have it. Missing cells of the design are listed
  in the record and the report.

``trend`` is ``rising`` or ``falling`` when the linear test is significant, otherwise
``transient`` (highest at an inner time point) or ``rising``/``falling`` when only the
any-change test is, else ``flat``. Bulk scores mix cell states: a rising osteoclast
factor in a culture can mean more osteoclasts, more expression per osteoclast, or both.

Examples
--------
>>> import scclast
>>> from scclast.testing._timecourse import simulate_timecourse
>>> bulk = simulate_timecourse(rising=["SLIT3"], seed=0)
>>> timecourse(bulk, time="time_point", donor="donor")
>>> table = scclast.get.timecourse_table(bulk).set_index("feature")
>>> table.loc["slit3", "trend"], table.loc["wnt5a", "trend"]
('rising', 'flat')
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast._adata import copy_or_self
from scclast._docs import doc_key_added, doc_params, doc_returns_copy, doc_species
from scclast._errors import ScclastInputError
from scclast._groups import table_for_uns
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._provenance import provenance
from scclast._stats import benjamini_hochberg
from scclast._warnings import DataWarning, warn
from scclast.tl._differentiation._features import catalogue_features, describe, feature_matrix

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

TABLE_COLUMNS = (
    "feature",
    "kind",
    "label",
    "phase",
    "effect",
    "genes",
    "genes_measured",
    "n_samples",
    "n_donors",
    "slope",
    "slope_se",
    "pvalue",
    "fdr",
    "pvalue_any",
    "fdr_any",
    "change_sd",
    "peak_time",
    "trend",
)
"""Columns of ``timecourse.tsv`` (:func:`scclast.get.timecourse_table`)."""

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
__all__ = ["TABLE_COLUMNS", "time_values", "timecourse"]


@doc_params(
    doc_species=doc_species,
    doc_key_added=doc_key_added,
    doc_returns_copy=doc_returns_copy,
)
def timecourse(
    adata: AnnData,
    time: str = "time_point",
    donor: str | None = "donor",
    *,
    gene_sets: Mapping[str, Iterable[str]] | None = None,
    species: str = "auto",
    fdr: float = 0.05,
    layer: str | None = None,
    gene_symbols: str | None = None,
    key_added: str = DEFAULT_KEY,
    copy: bool = False,
) -> AnnData | None:
    """Test every coupling factor and gene set for a trend over time, donor as a block.

    Writes ``uns[key_added]["timecourse"]``: the table
    (:data:`~scclast.tl._differentiation._timecourse.TABLE_COLUMNS`, read with
    :func:`scclast.get.timecourse_table`), the per-sample scores
    (:func:`scclast.get.timecourse_scores`), the fitted time-point means and the
    missing donor-days.

    Parameters
    ----------
    adata
        Samples x genes: raw counts or log-scale values (``X`` or ``layers[layer]``).
    time
        ``obs`` column of time: numbers, or labels holding one (``day2``, ``d5``, ``24h``).
    donor
        ``obs`` column of the donor (animal, culture); ``None``: no blocking (one donor).
    gene_sets
        ``{name: genes}`` tested besides the catalogue's phase sets; default: the
        catalogue's flagging sets.
    {doc_species}
    fdr
        Level at which a trend is called (Benjamini-Hochberg).
    layer
        Use ``adata.layers[layer]`` instead of ``X``.
    gene_symbols
        ``var`` column of gene symbols (default: ``var_names``, or a symbol column when
        they are Ensembl IDs).
    {doc_key_added}
    copy
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    {doc_returns_copy}
    """
    adata = copy_or_self(adata, copy)
    samples = _design(adata, time, donor)
    expression, genes, kind, species_used = _log_expression(
        adata[samples.index.to_numpy()], layer, gene_symbols, species
    )
    features = catalogue_features(species_used, gene_sets)
    matrix, measured = feature_matrix(expression, genes, features)
    table = describe(features, measured)
    designs = _Designs(samples)
    fits = [
        _fit(matrix[:, j], designs) if measured[j] else None for j in range(len(features))
    ]  # fmt: skip
    table = _fill(table, fits, samples, fdr)
    scores = pd.DataFrame(matrix, columns=[f.name for f in features])
    scores.insert(0, "sample", adata.obs_names[samples.index.to_numpy()].astype(str))
    scores.insert(1, "time", samples["time"].to_numpy())
    scores.insert(2, "donor", samples["donor"].to_numpy())
    means, line = (
        pd.DataFrame(
            {f.name: fit[key] for f, fit in zip(features, fits, strict=True) if fit is not None}
        )
        .set_axis(np.sort(samples["time"].unique()), axis=0)
        .rename_axis("time")
        .reset_index()
        for key in ("means", "line")
    )
    record = provenance(
        time=time, donor=donor, species=species, fdr=fdr, layer=layer,
        gene_symbols=gene_symbols, key_added=key_added,
    )  # fmt: skip
    record.update(
        table=table_for_uns(table),
        scores=table_for_uns(scores),
        means=means,
        line=line,
        missing_samples=_missing(samples),
        values=kind,
        species_used=species_used,
        n_samples=len(samples),
        n_donors=int(samples["donor"].nunique()),
        time_points=[float(t) for t in np.sort(samples["time"].unique())],
        model="OLS y ~ C(donor) + time; any change: y ~ C(donor) + C(time) vs y ~ C(donor)",
    )
    Keys(key_added).store(adata, Step.TIMECOURSE, record)
    log.info(
        "time course: %d samples, %d donor(s), times %s; %d of %d features change at FDR %g",
        len(samples),
        samples["donor"].nunique(),
        ", ".join(f"{t:g}" for t in record["time_points"]),
        int((table["trend"].isin(("rising", "falling", "transient"))).sum()),
        int(sum(1 for m in measured if m)),
        fdr,
    )
    return adata if copy else None


def time_values(values: pd.Series, column: str = "time") -> pd.Series:
    """Numbers from a time column: numeric as is, labels by the number they hold.

    Examples
    --------
    >>> time_values(pd.Series(["day0", "d2", "Day 5", "9"])).tolist()
    [0.0, 2.0, 5.0, 9.0]
    >>> time_values(pd.Series(["early", "late"]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: obs['time'] value 'early' holds no number: ...
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    out = []
    for value in values.astype(object):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(np.nan)
            continue
        found = _NUMBER.findall(str(value))
        if len(found) != 1:
            raise ScclastInputError(
                f"obs[{column!r}] value {value!r} holds no number: give times as numbers or "
                "labels with one number (day2, d5, 24h)"
            )
        out.append(float(found[0]))
    return pd.Series(out, index=values.index, dtype=float)


def _design(adata: AnnData, time: str, donor: str | None) -> pd.DataFrame:
    """Time (number) and donor (text) per usable sample, indexed by position."""
    for name, what in ((time, "time"), (donor, "donor")):
        if name is not None and name not in adata.obs:
            listed = ", ".join(map(str, adata.obs.columns)) or "none"
            raise ScclastInputError(
                f"{what} column {name!r} is not in obs (columns: {listed}); pass --{what} COLUMN"
            )
    frame = pd.DataFrame(
        {
            "time": time_values(adata.obs[time].reset_index(drop=True), time),
            "donor": (
                adata.obs[donor].astype(object).reset_index(drop=True)
                if donor is not None
                else pd.Series(["all"] * adata.n_obs, dtype=object)
            ),
        }
    )
    unusable = frame["time"].isna() | frame["donor"].isna()
    if unusable.any():
        warn(
            f"time course: {int(unusable.sum())} sample(s) without a time or donor left out",
            DataWarning,
        )
    frame = frame[~unusable].copy()
    frame["donor"] = frame["donor"].astype(str)
    frame["label"] = adata.obs[time].astype(str).reset_index(drop=True)[frame.index]
    n_times, n_donors = frame["time"].nunique(), frame["donor"].nunique()
    if n_times < 2 or len(frame) - n_donors - 1 < 2:
        raise ScclastInputError(
            f"a time course needs at least 2 time points and 2 residual degrees of freedom; "
            f"got {len(frame)} sample(s), {n_times} time point(s), {n_donors} donor(s)"
        )
    lone = frame.groupby("donor")["time"].nunique()
    if (lone < 2).any():
        warn(
            f"time course: donor(s) {', '.join(lone.index[lone < 2])} have one time point only "
            "and add nothing to the trend within donors",
            DataWarning,
        )
    return frame


def _log_expression(
    adata: AnnData, layer: str | None, gene_symbols: str | None, species: str
) -> tuple[np.ndarray, list[str], str, str]:
    """log2(CPM + 1) of counts (values as stored when already log), used genes only."""
    from scclast._groups import resolve_species
    from scclast._matrix import expression_view

    view = expression_view(adata, layer=layer, gene_symbols=gene_symbols, normalize="none")
    blocks = [
        chunk.toarray() if hasattr(chunk, "toarray") else np.asarray(chunk)
        for _, chunk in view.iter_chunks()
    ]
    values = np.vstack(blocks).astype(float)
    genes = [str(s) for s in view.symbols]
    if view.kind == "counts":
        totals = values.sum(axis=1, keepdims=True)
        cpm = values / np.maximum(totals, 1.0) * 1e6
        expressed = (cpm >= 1.0).sum(axis=0) >= min(2, values.shape[0])
        values = np.log2(cpm + 1.0)
        values[:, ~expressed] = 0.0  # constant: left out as not measured
        kind = "counts -> log2(CPM + 1)"
    else:
        kind = f"{view.kind}: used as stored"
    return values, genes, kind, resolve_species(view, species)


class _Designs:
    """The three designs of the models, built once (patsy), and their prediction grid.

    ``linear``: ``C(donor) + time``; ``full``: ``C(donor) + C(time)``; ``null``:
    ``C(donor)`` (an intercept alone with one donor). The grid holds every donor at
    every time point, for the marginal (donor-averaged) time means.
    """

    def __init__(self, samples: pd.DataFrame) -> None:
        import patsy

        base = "C(donor)" if samples["donor"].nunique() > 1 else "1"
        self.times = np.sort(samples["time"].unique())
        donors = samples["donor"].unique()
        grid = pd.DataFrame(
            [(d, t) for t in self.times for d in donors], columns=["donor", "time"]
        )  # fmt: skip
        self.shape = (len(self.times), len(donors))
        self.matrices: dict[str, np.ndarray] = {}
        self.grids: dict[str, np.ndarray] = {}
        for name, formula in (("linear", f"{base} + time"), ("full", f"{base} + C(time)"),
                              ("null", base)):  # fmt: skip
            design = patsy.dmatrix(formula, samples)
            self.matrices[name] = np.asarray(design)
            (at_grid,) = patsy.build_design_matrices([design.design_info], grid)
            self.grids[name] = np.asarray(at_grid)
        self.slope = patsy.dmatrix(f"{base} + time", samples).design_info.column_names.index("time")


def _fit(y: np.ndarray, designs: _Designs) -> dict[str, Any]:
    """The linear and any-change models of one feature (statsmodels OLS), and its
    marginal time means."""
    import statsmodels.api as sm

    linear = sm.OLS(y, designs.matrices["linear"]).fit()
    full = sm.OLS(y, designs.matrices["full"]).fit()
    null = sm.OLS(y, designs.matrices["null"]).fit()
    _, p_any, _ = full.compare_f_test(null)
    k = designs.slope
    return {
        "slope": float(linear.params[k]),
        "slope_se": float(linear.bse[k]),
        "pvalue": float(linear.pvalues[k]),
        "pvalue_any": float(p_any),
        "means": (designs.grids["full"] @ full.params).reshape(designs.shape).mean(axis=1),
        "line": (designs.grids["linear"] @ linear.params).reshape(designs.shape).mean(axis=1),
        "times": designs.times,
    }


def _fill(
    table: pd.DataFrame, fits: list[dict[str, Any] | None], samples: pd.DataFrame, fdr: float
) -> pd.DataFrame:
    def column(key: str) -> np.ndarray:
        return np.array([np.nan if f is None else f[key] for f in fits], dtype=float)

    table["n_samples"] = len(samples)
    table["n_donors"] = samples["donor"].nunique()
    table["slope"], table["slope_se"] = column("slope"), column("slope_se")
    table["pvalue"], table["pvalue_any"] = column("pvalue"), column("pvalue_any")
    hypotheses = (table["kind"] != "state").to_numpy()
    for p, q in (("pvalue", "fdr"), ("pvalue_any", "fdr_any")):
        values = np.full(len(table), np.nan)
        values[hypotheses] = benjamini_hochberg(table[p].to_numpy()[hypotheses])
        values[~hypotheses] = benjamini_hochberg(table[p].to_numpy()[~hypotheses])
        table[q] = values
    span = float(samples["time"].max() - samples["time"].min())
    table["change_sd"] = table["slope"] * span
    table["peak_time"] = [
        float(f["times"][int(np.argmax(f["means"]))]) if f is not None else np.nan for f in fits
    ]
    table["trend"] = [
        _trend(row, fit, fdr) for row, fit in zip(table.itertuples(), fits, strict=True)
    ]
    return table[list(TABLE_COLUMNS)]


def _trend(row: Any, fit: dict[str, Any] | None, fdr: float) -> str:
    if fit is None:
        return "not measured"
    if np.isfinite(row.fdr) and row.fdr <= fdr:
        return "rising" if row.slope > 0 else "falling"
    if np.isfinite(row.fdr_any) and row.fdr_any <= fdr:
        means = fit["means"]
        peak = int(np.argmax(means))
        if 0 < peak < means.size - 1:
            return "transient"
        return "rising" if means[-1] > means[0] else "falling"
    return "flat"


def _missing(samples: pd.DataFrame) -> list[str]:
    """``donor time`` cells of the full design without a sample."""
    present = set(zip(samples["donor"], samples["time"], strict=True))
    labels = samples.drop_duplicates("time").set_index("time")["label"]
    return [
        f"{d} {labels[t]}"
        for d in sorted(samples["donor"].unique(), key=_natural)
        for t in np.sort(samples["time"].unique())
        if (d, t) not in present
    ]


def _natural(text: str) -> tuple[str, int]:
    """``Donor10`` after ``Donor9``."""
    match = re.search(r"(\d+)$", text)
    return (text[: match.start()], int(match.group(1))) if match else (text, -1)
