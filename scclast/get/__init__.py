"""Tables out of an AnnData that scclast analysed (as ``scanpy.get``).

Every analysis of :mod:`scclast.tl` writes into the AnnData and returns ``None``; the
tables come from here, read back from ``uns[key_added]`` (also from an
``annotated.h5ad`` written by ``scclast run``), with their column types restored.

=============================  =============================================================
:func:`flag_table`             one row per group x flagging set (:func:`scclast.tl.flag`)
:func:`lineage_table`          one row per group: lineage state and its evidence
:func:`drivers`                per group x set x gene: the genes carrying a score
:func:`sample_effects`         per group x set x sample: the replicate-level effects
:func:`composition`            per group x sample: cells, and share of the sample
:func:`enrichment_table`       gseapy prerank per group x set (:func:`scclast.tl.prerank`)
:func:`scores`                 per cell: every score, z, p, state and flag column
:func:`flagged_groups`         the flagged groups, in table order
:func:`groupby`                the grouping column a flag used (given or built)
:func:`group_expression`       per group x gene: mean expression and fraction expressing
:func:`trajectory_table`       per factor and set: change along the pseudotime, peak
:func:`timecourse_table`       per factor and set: trend over a bulk time course
:func:`timecourse_scores`      per sample of a time course: every factor and set score
:func:`condition_table`        per group x catalogue gene and set: change between conditions
:func:`abundance_table`        per group: change of its share of cells between conditions
:func:`receiver_table`         one row per group: osteoblast-lineage receiver state, evidence
:func:`communication_table`    per sender x receiver x catalogue pair: coupling statistics
=============================  =============================================================

Examples
--------
>>> import scclast
>>> adata = scclast.datasets.example()
>>> scclast.tl.flag(adata, "cluster", enrichment=False)
>>> scclast.get.flagged_groups(adata)
['3']
>>> scclast.get.scores(adata).columns[:2].tolist()
['scclast_clastokines_secreted', 'scclast_clastokines_putative']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast._groups import group_codes
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._matrix import expression_view
from scclast._stats import summarise_groups

if TYPE_CHECKING:
    from anndata import AnnData

    from scclast._matrix import ExpressionView

_BOOL_COLUMNS = ("flagged", "loo_survives", "osteoclast_lineage")
_RUN_FLAG = "scclast.tl.flag"
_RUN_CONDITIONS = "scclast.tl.compare_conditions"


def flag_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """The flagging table: one row per group x set (flagging sets, then descriptive ones).

    Columns (stable names; :data:`scclast.tl.FLAG_TABLE_COLUMNS` in order):

    * ``group``, ``n_cells``: the group and its size.
    * ``lineage_state``: the group's lineage call (``macrophage``, ``oc_precursor``,
      ``osteoclast``, ``osteomorph``, ``neutrophil``, ``dendritic_cell``,
      ``myeloid (no osteoclast-lineage program)``, ``non-lineage``,
      ``undetermined (low coverage)``).
    * ``gene_set``, ``set_role`` (``flagging``, or ``descriptive``: a catalogue set that
      is not a flagging set, tested but never flagged), ``coverage`` ("measured/total"
      genes), ``n_factors`` (measured).
    * ``reference``: ``"other lineage groups"`` or ``"all other cells"``.
    * ``evidence``: how the row was tested: ``replicated: N samples (paired pseudobulk
      t-test)``, ``exploratory (cells treated as independent)``, ``descriptive (not a
      flagging set)`` or ``not tested``.
    * ``n_samples``: samples with enough cells of the group and of its reference.
    * ``fold_change``: normalised pseudobulk fold change of the set's genes, group over
      reference (geometric mean over samples when replicated, else cells pooled);
      ``fold_change_low``/``_high``: its 95% t interval over samples;
      ``control_fold_95``: the 95th percentile of the same for the matched control sets.
    * ``pvalue``, ``fdr``: the decision test (paired t over samples when replicated,
      else the cell-level Mann-Whitney p) and its Benjamini-Hochberg q-value over the
      flagging rows.
    * ``mc_pvalue``, ``mc_fdr``: control-set Monte Carlo p-value of the same statistic
      (floor ``1 / (n_control_sets + 1)``) and its q-value.
    * ``samples_agree``, ``sample_log2fc``, ``sample_auroc``: in how many samples the
      effect is positive; per sample the adjusted log2 fold change and the AUROC.
    * ``mean_score`` (mean calibrated ``z`` in the group), ``mean_raw_score``,
      ``frac_significant`` (share of cells with a per-cell empirical p below
      ``cell_alpha``).
    * ``auroc``, ``cell_pvalue``: AUROC and one-sided Mann-Whitney p of ``z`` against
      the reference (cells as units); ``auroc_all``, ``pvalue_all``: the same against
      all other cells.
    * ``loo_min_fold_change``, ``loo_max_pvalue``, ``loo_weakest``, ``loo_survives``:
      the weakest leave-one-factor-out variant and whether every variant holds.
    * ``drivers``, ``driver_detail``: up to three genes carrying the signal.
    * ``inhibitory_*``, ``machinery_*``: inhibitory factors and secretory machinery
      against the same reference (reported, never counted in the flag).
    * ``nes``, ``nes_pvalue``, ``nes_fdr``, ``enrichment_note``: gseapy prerank
      (descriptive; the note says which ranking).
    * ``flagged``: the group is a candidate secretory osteoclast-lineage population for
      the set; ``call``: ``candidate``, ``macrophage (reported apart)``, ``descriptive
      set`` or ``not flagged``; ``reasons``: why, in words; ``lineage_evidence``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> flag_table(adata).shape[0]  # 8 groups x 2 flagging sets
    16
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    return _restore(block["table"])


def lineage_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """One row per group: lineage state, per-programme detection and the evidence.

    Written by :func:`scclast.tl.lineage_states` and by :func:`scclast.tl.flag`.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.lineage_states(adata, "cluster")
    >>> lineage_table(adata)["lineage_state"].tolist()[:2]
    ['macrophage', 'oc_precursor']
    """
    block = Keys(key_added).require(adata, Step.LINEAGE, "scclast.tl.lineage_states")
    return _restore(block["table"])


def drivers(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per group x set x measured gene: means, detection and contribution to the score.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> top = drivers(adata).query("group == '3'").nlargest(3, "contribution")
    >>> set(top["gene"]) <= set(scclast.genesets.get("clastokines_secreted"))
    True
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    return _restore(block.get("drivers", pd.DataFrame()))


def sample_effects(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per group x set x sample: cells, the set's adjusted log2 fold change, the AUROC.

    Only samples with ``min_cells`` cells of the group and of its reference are listed
    (those the replicate-level test used); empty without a sample key.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", sample_key="sample", enrichment=False)
    >>> effects = sample_effects(adata).query("group == '3' and gene_set == 'clastokines_secreted'")
    >>> effects["sample"].tolist(), bool((effects["log2fc"] > 1).all())
    (['animal1', 'animal2', 'animal3', 'animal4'], True)
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    return _restore(block.get("samples", pd.DataFrame()))


def composition(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per group x sample: cells, and the group's share of the sample's grouped cells.

    Empty without a sample key.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", sample_key="sample", enrichment=False)
    >>> table = composition(adata)
    >>> int(table["n_cells"].sum()), table.groupby("sample")["share"].sum().round(6).tolist()
    (3000, [1.0, 1.0, 1.0, 1.0])
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    return _restore(block.get("composition", pd.DataFrame()))


def enrichment_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """gseapy prerank per group x set, from :func:`scclast.tl.prerank` (descriptive).

    Columns: :data:`scclast.tl._enrichment.COLUMNS` (``group``, ``gene_set``,
    ``n_genes``, ``n_in_ranking``, ``es``, ``nes``, ``nes_pvalue``, ``nes_fdr``,
    ``lead_genes``, ``enrichment_note``).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.prerank(adata, "cluster", "clastokines_secreted", permutation_num=100)
    >>> table = enrichment_table(adata)
    >>> table.shape, table.loc[table["nes"].idxmax(), "group"]
    ((8, 10), '3')
    """
    block = Keys(key_added).require(adata, Step.ENRICHMENT, "scclast.tl.prerank")
    return _restore(block["table"])


def scores(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per-cell table of every column scclast wrote under ``key_added``.

    Uncalibrated scores, calibrated z-scores and p-values, lineage state, flag and
    Leiden clusters, in ``obs`` order; the index is named ``cell``. Columns are taken
    from the steps' records, not matched by prefix, so the user's own columns never
    slip in.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> adata.obs["scclast_note"] = "mine"  # a user column: never taken
    >>> scclast.tl.score(adata, "clastokines_secreted", method="mean")
    >>> scclast.tl.lineage_states(adata, "cluster")
    >>> scores(adata).columns.tolist()
    ['scclast_clastokines_secreted', 'scclast_lineage_state']
    """
    columns = Keys(key_added).score_columns(adata)
    frame = adata.obs[columns].copy()
    frame.index = frame.index.astype(str)
    frame.index.name = "cell"
    return frame


def flagged_groups(adata: AnnData | pd.DataFrame, key_added: str = DEFAULT_KEY) -> list[str]:
    """Groups flagged for at least one gene set, in table order.

    Takes the AnnData or a flagging table.

    Examples
    --------
    >>> flagged_groups(pd.DataFrame({"group": ["a", "a", "b"], "flagged": [False, True, False]}))
    ['a']
    """
    table = adata if isinstance(adata, pd.DataFrame) else flag_table(adata, key_added)
    if table.empty:
        return []
    flagged = table.loc[table["flagged"].astype(bool), "group"].astype(str)
    return list(dict.fromkeys(flagged))


def groupby(adata: AnnData, key_added: str = DEFAULT_KEY) -> str:
    """The grouping column of the last flag: the one given, or the Leiden clusters built.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False, key_added="run2")
    >>> groupby(adata, "run2")
    'cluster'
    >>> groupby(adata)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: adata.uns['scclast']['flag'] is missing: run ...
    """
    block = Keys(key_added).require(adata, Step.FLAG, _RUN_FLAG)
    recorded = block.get("groupby")
    if isinstance(recorded, str) and recorded in adata.obs:
        return recorded
    return Keys(key_added).leiden


def group_expression(
    adata: AnnData,
    genes: Sequence[str],
    groupby: str,
    *,
    view: ExpressionView | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean normalised expression and fraction of expressing cells, group x gene.

    One pass over the matrix in row chunks, so backed AnnData objects work with bounded
    memory. Counts are normalised on the fly (``log1p`` of counts per 10,000);
    log-normalised data are used as stored. Genes not in the data are left out.

    Parameters
    ----------
    adata
        Cells x genes.
    genes
        Gene symbols.
    groupby
        ``obs`` column of groups.
    view
        A prebuilt expression view of ``adata`` (saves a pass over the symbols).

    Returns
    -------
    mean, fraction
        Two frames indexed by group (as text), one column per gene found.

    Examples
    --------
    >>> import anndata as ad
    >>> a = ad.AnnData(np.array([[0, 2], [1, 0], [3, 3]], dtype=np.float32))
    >>> a.var_names = ["Acp5", "Ctsk"]; a.obs["grp"] = pd.Categorical(["x", "x", "y"])
    >>> mean, frac = group_expression(a, ["Ctsk"], "grp")
    >>> frac["Ctsk"].tolist()
    [0.5, 1.0]
    """
    view = view if view is not None else expression_view(adata)
    codes, groups = group_codes(adata, groupby)
    indices, found, _ = view.index_of(genes)
    summary = summarise_groups(view.iter_chunks(), codes, groups, indices, found)
    index = pd.Index(groups, name=groupby)
    return (
        pd.DataFrame(summary.means(), index=index, columns=found),
        pd.DataFrame(summary.detection(), index=index, columns=found),
    )


def _restore(stored: Any) -> pd.DataFrame:
    """A stored table as a fresh DataFrame with boolean columns as ``bool``."""
    if isinstance(stored, Mapping):  # very old anndata wrote frames as dicts of arrays
        stored = pd.DataFrame(dict(stored))
    table = pd.DataFrame(stored).copy()
    for column in _BOOL_COLUMNS:
        if column in table.columns:
            table[column] = table[column].map(_as_bool).astype(bool)
    return table.reset_index(drop=True)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) if not (isinstance(value, float) and np.isnan(value)) else False


def trajectory_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per coupling factor, gene set and state programme: change along the pseudotime.

    Written by :func:`scclast.tl.trajectory`; columns
    :data:`scclast.tl._differentiation.TRAJECTORY_COLUMNS` (``feature``, ``kind``,
    ``phase``, ``effect``, ``statistic``, ``pvalue``, ``fdr``, ``significant``,
    ``amplitude``, ``peak_order``, ``peak``, ...).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=600, n_genes=500, seed=1, continuous=True)
    >>> scclast.tl.lineage_states(adata, "cluster")
    >>> scclast.tl.pseudotime(adata)
    >>> scclast.tl.trajectory(adata, n_permutations=49)
    >>> trajectory_table(adata)["kind"].unique().tolist()
    ['factor', 'set', 'state']
    """
    block = Keys(key_added).require(adata, Step.TRAJECTORY, "scclast.tl.trajectory")
    table = _restore(block["table"])
    table["significant"] = table["significant"].map(_as_bool).astype(bool)
    return table


def timecourse_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per coupling factor, gene set and state programme: trend over a bulk time course.

    Written by :func:`scclast.tl.timecourse`; columns
    :data:`scclast.tl._differentiation.TIMECOURSE_COLUMNS` (``feature``, ``slope``,
    ``pvalue``, ``fdr``, ``pvalue_any``, ``fdr_any``, ``peak_time``, ``trend``, ...).
    Per-sample scores: :func:`timecourse_scores`.

    Examples
    --------
    >>> import scclast
    >>> from scclast.testing._timecourse import simulate_timecourse
    >>> bulk = simulate_timecourse(rising=["SLIT3"], seed=1)
    >>> scclast.tl.timecourse(bulk, time="time_point", donor="donor")
    >>> timecourse_table(bulk).set_index("feature").loc["slit3", "trend"]
    'rising'
    """
    block = Keys(key_added).require(adata, Step.TIMECOURSE, "scclast.tl.timecourse")
    return _restore(block["table"])


def timecourse_scores(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per sample: its time, donor and score of every factor, set and state programme.

    Examples
    --------
    >>> import scclast
    >>> from scclast.testing._timecourse import simulate_timecourse
    >>> bulk = simulate_timecourse(seed=1)
    >>> scclast.tl.timecourse(bulk, time="time_point", donor="donor")
    >>> timecourse_scores(bulk).columns[:4].tolist()
    ['sample', 'time', 'donor', 'efnb2']
    """
    block = Keys(key_added).require(adata, Step.TIMECOURSE, "scclast.tl.timecourse")
    return _restore(block["scores"])


def condition_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """Per group x catalogue gene and gene set: the change between conditions.

    Written by :func:`scclast.tl.compare_conditions`; columns
    :data:`scclast.tl._conditions.COLUMNS` (``group``, ``condition``, ``reference``,
    ``feature``, ``feature_type`` (``gene`` or ``gene_set``), ``effect``, ``log2fc``,
    ``ci_low``, ``ci_high``, ``pvalue``, ``fdr``, ``tested``, ``note``, ...).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example_conditions()
    >>> scclast.tl.compare_conditions(adata, "condition", sample_key="sample",
    ...     groupby="cluster", groups=["2"], n_background=100)
    >>> condition_table(adata)["feature_type"].unique().tolist()
    ['gene', 'gene_set']
    """
    block = Keys(key_added).require(adata, Step.CONDITIONS, _RUN_CONDITIONS)
    table = _restore(block["table"])
    table["tested"] = table["tested"].map(_as_bool).astype(bool)
    return table


def abundance_table(
    adata: AnnData, key_added: str = DEFAULT_KEY, *, per_sample: bool = False
) -> pd.DataFrame:
    """Per group: its share of cells by condition and the test of the change.

    Written by :func:`scclast.tl.compare_conditions`; columns
    :data:`scclast.tl._conditions.ABUNDANCE_COLUMNS`. With ``per_sample=True``: one row
    per sample x group (``sample``, ``group``, ``n_cells``, ``condition``,
    ``sample_cells``, ``share``).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example_conditions()
    >>> scclast.tl.compare_conditions(adata, "condition", sample_key="sample",
    ...     groupby="cluster", groups=[])
    >>> bool(abundance_table(adata).set_index("group").loc["2", "share_ratio"] > 1.5)
    True
    """
    block = Keys(key_added).require(adata, Step.CONDITIONS, _RUN_CONDITIONS)
    table = _restore(block["abundance_samples" if per_sample else "abundance"])
    if "osteoclast_lineage" in table:
        table["osteoclast_lineage"] = table["osteoclast_lineage"].map(_as_bool).astype(bool)
    return table


def receiver_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """One row per group: receiver state (osteoblast lineage), programmes and evidence.

    Written by :func:`scclast.tl.receiver_states`; columns ``group``, ``n_cells``,
    ``receiver_state``, ``osteoblast_lineage``, per programme ``{p}_fraction``,
    ``{p}_detection``, ``{p}_coverage``, ``{p}_detected_genes``, and ``evidence``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=600, n_genes=500, seed=1, extra_states={"osteocyte": 0.2})
    >>> scclast.tl.receiver_states(adata, "state_true")
    >>> receiver_table(adata).set_index("group").loc["osteocyte", "receiver_state"]
    'osteocyte'
    """
    block = Keys(key_added).require(adata, Step.RECEIVERS, "scclast.tl.receiver_states")
    table = _restore(block["table"])
    table["osteoblast_lineage"] = table["osteoblast_lineage"].map(_as_bool).astype(bool)
    return table


def communication_table(adata: AnnData, key_added: str = DEFAULT_KEY) -> pd.DataFrame:
    """The coupling map: one row per sender x receiver x catalogue ligand-receptor pair.

    Written by :func:`scclast.tl.communication`; columns
    :data:`scclast.tl._coupling.COLUMNS` (``sender``, ``receiver``, their states,
    ``sender_flagged``, ``factor``, ``ligand``, ``receptor``, ``effect``,
    ``direction``, ``status``, ``rank``, ``supported``, ``magnitude``, ``pvalue``,
    ``fdr``, ``specificity_rank``, ``magnitude_rank``, per-sample support, expression,
    the catalogue's ``evidence``, ``note`` and ``citation``). Empty when the map was
    skipped (no receiver or no sender; the reason is in the record's ``skip_reason``).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.simulate_osteoclastogenesis(
    ...     n_cells=900, n_genes=500, seed=1, extra_states={"osteoblast": 0.15})
    >>> scclast.tl.lineage_states(adata, "state_true")
    >>> scclast.tl.receiver_states(adata, "state_true")
    >>> scclast.tl.communication(adata, n_perms=50)
    >>> table = communication_table(adata)
    >>> table.groupby(["sender", "receiver"]).size().unique().tolist()  # every pair, each time
    [47]
    """
    block = Keys(key_added).require(adata, Step.COMMUNICATION, "scclast.tl.communication")
    table = _restore(block["table"])
    for column in ("sender_flagged", "supported", "ligand_measurable"):
        if column in table:
            table[column] = table[column].map(_as_bool).astype(bool)
    return table


__all__ = [
    "abundance_table",
    "communication_table",
    "condition_table",
    "drivers",
    "enrichment_table",
    "flag_table",
    "flagged_groups",
    "group_expression",
    "groupby",
    "lineage_table",
    "receiver_table",
    "scores",
    "timecourse_scores",
    "timecourse_table",
    "trajectory_table",
]
