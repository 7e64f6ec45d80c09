"""Condition comparisons: the design checks, pseudobulk sums, the tests' plumbing, tables
and figures (:func:`scclast.tl.compare_conditions`). The statistical claims (planted
changes found, null data within the FDR) are in ``test_conditions_calibration.py``; the
run, the CLI and the workflow in ``test_conditions_run.py``.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import scclast
from scclast._errors import ScclastInputError
from scclast._matrix import expression_view
from scclast.tl._conditions import _expression
from scclast.tl._conditions._abundance import abundance_tests, transformed_shares
from scclast.tl._conditions._design import group_samples, read_design
from scclast.tl._conditions._pseudobulk import counts_view, pseudobulk_sums

SMALL = {"n_cells": 900, "n_genes": 400, "n_samples": 6, "conditions": 2}
FAST = {"groupby": "cluster", "n_background": 60}


def _obs(samples, conditions):
    return pd.DataFrame({"animal": samples, "treatment": conditions})


@pytest.fixture(scope="module")
def compared() -> ad.AnnData:
    """Small 3 vs 3 data, 2x clastokines in the treated osteoclasts, compared once."""
    adata = scclast.datasets.simulate_osteoclastogenesis(
        **SMALL,
        seed=3,
        sample_gene_sd=0.1,
        condition_effects=[{"programme": "clastokines", "states": ["osteoclast"], "fold": 2.0,
                            "condition": "treated"}],
    )  # fmt: skip
    scclast.tl.compare_conditions(
        adata, "condition", sample_key="sample", groups=["1", "2"], **FAST
    )
    return adata


def test_design_reads_samples_levels_and_reference():
    obs = _obs(["a1", "a1", "a2", "a3", "a4", None], ["sham", "sham", "sham", "ovx", "ovx", "ovx"])
    with pytest.warns(scclast.ScclastWarning, match="1 cells have no 'animal'"):
        design = read_design(obs, "animal", "treatment")
    assert design.levels == ("ovx", "sham")  # sorted: the first level is the default
    design = read_design(obs.dropna(), "animal", "treatment", reference="sham")
    assert design.levels == ("sham", "ovx") and design.compared == ("ovx",)
    assert design.samples["n_cells"].to_dict() == {"a1": 2, "a2": 1, "a3": 1, "a4": 1}
    assert design.cell_condition.tolist() == [0, 0, 0, 1, 1]
    assert design.as_record()["samples_per_level"] == {"sham": 2, "ovx": 2}


def test_design_keeps_category_order_and_reads_numbers_as_text():
    obs = _obs(["a", "b", "c", "d"], pd.Categorical(["wt", "wt", "ko", "ko"], ["wt", "ko"]))
    assert read_design(obs, "animal", "treatment").reference == "wt"
    obs = _obs([1, 2, 3, 4], [0.0, 0.0, 1.0, 1.0])
    design = read_design(obs, "animal", "treatment", reference="1")
    assert design.levels == ("1", "0") and list(design.samples.index) == ["1", "2", "3", "4"]


@pytest.mark.parametrize(
    ("obs", "arguments", "message"),
    [
        (_obs(["a", "b"], ["x", "y"]), (None, "treatment"), "needs the samples: give sample_key"),
        (_obs(["a", "b"], ["x", "y"]), ("mouse", "treatment"), "sample_key='mouse' is not a col"),
        (_obs(["a", "b"], ["x", "y"]), ("animal", "animal"), "both 'animal'"),
        (_obs(["a", "a", "b"], ["x", "y", "y"]), ("animal", "treatment"), "not constant within"),
        (_obs(["a", "b"], ["x", "x"]), ("animal", "treatment"), "one level ('x')"),
        (_obs(["a", "b"], ["x", "y"]), ("animal", "treatment", "z"), "reference 'z' is not a lev"),
        (_obs(["a", "b"], ["x", "y"]), ("animal", "treatment"), "'x' has 1; 'y' has 1 sample"),
        (_obs(list("abcd"), list("xxxy")), ("animal", "treatment"), "'y' has 1 sample(s)"),
    ],
    ids=["no-sample-key", "missing-column", "same-column", "mixed-sample", "one-level",
         "unknown-reference", "one-sample-each", "unbalanced"],
)  # fmt: skip
def test_designs_that_cannot_be_tested_say_why_in_one_line(obs, arguments, message):
    with pytest.raises(ScclastInputError, match=None) as caught:
        read_design(obs, *arguments)
    text = str(caught.value)
    assert message in text and "\n" not in text


def test_a_group_with_too_few_samples_is_reported_not_tested():
    design = read_design(_obs(list("abcd"), list("xxyy")), "animal", "treatment")
    cells = pd.Series({"a": 50, "b": 50, "c": 50, "d": 9})
    used, untested = group_samples(design, cells, min_cells=10, min_samples=2)
    assert used == [] and "1 sample of 'y'" in untested["y"]
    used, untested = group_samples(design, cells, min_cells=5, min_samples=2)
    assert used == ["a", "b", "c", "d"] and untested == {}


@pytest.mark.parametrize("kind", ["dense", "csr", "csc", "backed"])
def test_pseudobulk_sums_equal_a_direct_sum(kind, tmp_path):
    rng = np.random.default_rng(0)
    counts = rng.poisson(2.0, size=(60, 7)).astype(np.float32)
    stored = {"dense": counts, "csc": sparse.csc_matrix(counts)}.get(
        kind, sparse.csr_matrix(counts)
    )
    adata = ad.AnnData(stored)
    adata.var_names = [f"G{i}" for i in range(7)]
    if kind == "backed":
        adata.write_h5ad(tmp_path / "x.h5ad")
        adata = ad.read_h5ad(tmp_path / "x.h5ad", backed="r")
    codes = rng.integers(-1, 4, size=60)
    view = expression_view(adata, normalize="none", chunk_size=16)
    expected = np.vstack([counts[codes == u].sum(axis=0) for u in range(4)])
    np.testing.assert_allclose(pseudobulk_sums(view, codes, 4), expected)


def test_pseudobulk_refuses_normalised_values():
    adata = ad.AnnData(np.array([[0.5, 1.2], [0.0, 2.3]], dtype=np.float32))
    adata.var_names = ["Acp5", "Ctsk"]
    with pytest.raises(ScclastInputError, match=r"holds log values.*--layer counts"):
        counts_view(adata)


def test_abundance_shares_transforms_and_effects():
    counts = pd.DataFrame({"oc": [10, 12, 11, 25, 22, 24], "mac": [90, 88, 89, 75, 78, 76]},
                          index=list("abcdef"))  # fmt: skip
    conditions = pd.Series(["ctl"] * 3 + ["trt"] * 3, index=counts.index)
    logit = transformed_shares(counts)
    expected = np.log((10.5 / 101) / (1 - 10.5 / 101))  # propeller's +0.5 per group
    assert logit.loc["a", "oc"] == pytest.approx(expected)
    table = abundance_tests(counts, conditions, ["ctl", "trt"]).set_index("group")
    assert table.loc["oc", "share_ratio"] == pytest.approx((71 / 300) / (33 / 300))
    assert table.loc["oc", "estimate"] > 0 > table.loc["mac", "estimate"]
    assert table.loc["oc", "ci_low"] < table.loc["oc", "estimate"] < table.loc["oc", "ci_high"]
    asin = abundance_tests(counts, conditions, ["ctl", "trt"], transform="asin")
    assert set(asin["scale"]) == {"difference of asin(sqrt(share))"}
    assert bool((asin["pvalue"] < 0.01).all())


def test_set_score_is_the_mean_log_expression_of_expressed_genes():
    counts = pd.DataFrame({"a": [3, 7], "b": [0, 0], "c": [1, 3]}, index=["s1", "s2"])
    scores, used = _expression.set_scores(counts, pd.Series([1.0, 2.0], index=counts.index),
                                          ["a", "b", "c", "missing"])  # fmt: skip
    assert used == ["a", "c"]
    np.testing.assert_allclose(scores, [(2 + 1) / 2, (np.log2(4.5) + np.log2(2.5)) / 2])


def test_background_genes_skip_the_catalogue_and_cover_the_range():
    counts = pd.DataFrame(np.arange(1, 61).reshape(3, 20), columns=[f"g{i}" for i in range(20)])
    counts["zero"] = [0, 1, 2]  # not counted everywhere: no median-of-ratios use
    picked = _expression.background_genes(counts, {"g19"}, n=4)
    assert picked == ["g18", "g12", "g6", "g0"]


def test_compare_conditions_writes_tables_with_stable_columns(compared):
    table = scclast.get.condition_table(compared)
    assert list(table.columns) == list(scclast.tl._conditions.COLUMNS)
    assert set(table["group"]) == {"1", "2"}
    assert set(table["feature_type"]) == {"gene", "gene_set"}
    assert table["tested"].dtype == bool and table["tested"].all()
    genes = table[table["feature_type"] == "gene"]
    assert {"Slit3", "Sema4d"} <= set(genes["feature"])
    assert genes.set_index(["group", "feature"]).loc[("2", "Sema4d"), "effect"] == "inhibitory"
    finite = genes.dropna(subset=["pvalue"])
    assert (finite["ci_low"] <= finite["log2fc"]).all() and (
        finite["log2fc"] <= finite["ci_high"]
    ).all()
    assert (finite["fdr"] >= finite["pvalue"]).all()
    abundance = scclast.get.abundance_table(compared)
    assert list(abundance.columns) == list(scclast.tl._conditions.ABUNDANCE_COLUMNS)
    assert sorted(abundance["group"]) == sorted(map(str, compared.obs["cluster"].unique()))
    shares = scclast.get.abundance_table(compared, per_sample=True)
    totals = shares.groupby("sample")["share"].sum()
    np.testing.assert_allclose(totals, 1.0)
    record = compared.uns["scclast"]["conditions"]
    assert record["libraries"]["pydeseq2"] == __import__("pydeseq2").__version__
    assert record["design"]["reference"] == "control"


def test_tables_survive_h5ad(compared, tmp_path):
    compared.write_h5ad(tmp_path / "c.h5ad")
    back = ad.read_h5ad(tmp_path / "c.h5ad")
    pd.testing.assert_frame_equal(
        scclast.get.condition_table(back), scclast.get.condition_table(compared), check_dtype=False
    )
    assert scclast.get.abundance_table(back)["osteoclast_lineage"].dtype == bool


@pytest.mark.filterwarnings("ignore:The dispersion trend curve fitting:UserWarning")
def test_pydeseq2_is_called_and_its_numbers_are_reported(compared, monkeypatch):
    """The gene tests are PyDESeq2's own (called, not re-implemented): same numbers."""
    import pydeseq2.dds

    calls = []
    original = pydeseq2.dds.DeseqDataSet

    class Spy(original):
        def __init__(self, *args, **kwargs):
            calls.append(kwargs["counts"].shape)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pydeseq2.dds, "DeseqDataSet", Spy)
    adata = compared.copy()
    scclast.tl.compare_conditions(adata, "condition", sample_key="sample", groups=["2"], **FAST)
    assert len(calls) == 1 and calls[0][0] == 6
    table = scclast.get.condition_table(adata).set_index("feature")
    # the same pseudobulk fitted directly
    cells = adata[adata.obs["cluster"] == "2"]
    samples = sorted(cells.obs["sample"].unique())
    counts = pd.DataFrame(
        np.vstack([np.asarray(cells[cells.obs["sample"] == s].X.sum(axis=0)).ravel()
                   for s in samples]),
        index=samples, columns=cells.var_names,
    ).round().astype(int)  # fmt: skip
    condition = adata.obs.drop_duplicates("sample").set_index("sample")["condition"].astype(str)
    genes = [g for g in table.index if table.loc[g, "feature_type"] == "gene"]
    background = _expression.background_genes(counts, set(genes) | set(_all_set_genes(adata)), 60)
    fitted = list(dict.fromkeys([*(g for g in genes if g in counts), *background]))
    direct = original(
        counts=counts[fitted],
        metadata=pd.DataFrame({"condition": condition.loc[samples].to_numpy()}, index=samples),
        design="~condition", control_genes=background, quiet=True, n_cpus=1,
    )  # fmt: skip
    direct.deseq2()
    from pydeseq2.ds import DeseqStats

    result = DeseqStats(direct, contrast=["condition", "treated", "control"],
                        independent_filter=False, quiet=True, n_cpus=1)  # fmt: skip
    result.summary()
    ours = table.loc["Slit3"]
    assert ours["log2fc"] == pytest.approx(result.results_df.loc["Slit3", "log2FoldChange"])
    assert ours["pvalue"] == pytest.approx(result.results_df.loc["Slit3", "pvalue"])


def _all_set_genes(adata: ad.AnnData) -> list[str]:
    sets = adata.uns["scclast"]["conditions"]["gene_sets"]
    return [g for members in sets.values() for g in members]


def test_untested_groups_get_rows_with_the_reason(compared):
    obs = compared.obs
    gone = (obs["cluster"] == "2") & obs["sample"].isin(["animal4", "animal5"])
    adata = compared[~gone.to_numpy()].copy()
    scclast.tl.compare_conditions(
        adata, "condition", sample_key="sample", groups=["1", "2"], **FAST
    )
    table = scclast.get.condition_table(adata)
    untested = table[table["group"] == "2"]
    assert not untested["tested"].any() and untested["pvalue"].isna().all()
    assert (
        untested["note"]
        == (
            "not tested: 1 sample of 'treated' and 3 of 'control' have at least 10 cells of the "
            "group (need 2 each)"
        )
    ).all()
    assert set(untested["feature"]) == set(table.loc[table["group"] == "1", "feature"])
    assert table.loc[table["group"] == "1", "tested"].all()


def test_groups_default_to_the_osteoclast_lineage_and_unknown_ones_are_refused(compared):
    adata = compared.copy()
    scclast.tl.lineage_states(adata, "cluster")
    lineage = scclast.get.lineage_table(adata)
    # no expression test at all: only what decides the groups is checked
    with pytest.raises(ScclastInputError, match=r"groups \['9'\] are not groups"):
        scclast.tl.compare_conditions(adata, "condition", sample_key="sample", groups=["9"],
                                      **FAST)  # fmt: skip
    from scclast.tl._conditions._compare import _expression_groups, _lineage

    frame = _lineage(adata, scclast._keys.Keys(), sorted(lineage["group"]))
    expected = sorted(lineage.loc[lineage["osteoclast_lineage"], "group"])
    assert _expression_groups(None, sorted(lineage["group"]), frame) == expected
    assert "4" not in expected  # the stromal cells: no expression test


def test_compare_conditions_copy_and_bad_arguments(compared):
    adata = compared.copy()
    del adata.uns["scclast"]
    with pytest.raises(ScclastInputError, match="needs groupby"):
        scclast.tl.compare_conditions(adata, "condition", sample_key="sample")
    with pytest.raises(ScclastInputError, match="transform='log'"):
        scclast.tl.compare_conditions(adata, "condition", sample_key="sample", transform="log")
    out = scclast.tl.compare_conditions(
        adata, "condition", sample_key="sample", groups=[], copy=True, **FAST
    )
    assert "scclast" not in adata.uns and "conditions" in out.uns["scclast"]


def test_gene_figure_marks_every_call(compared):
    fig = scclast.pl.condition_genes(compared, return_fig=True)
    main = fig.axes[0]
    assert [t.get_text() for t in main.get_xticklabels()] == ["1", "2"]
    table = scclast.get.condition_table(compared)
    rings = [c for c in main.collections if len(c.get_facecolors()) == 0]
    n_calls = int((table["fdr"] <= 0.05).sum())
    assert n_calls > 0 and sum(len(c.get_offsets()) for c in rings) == n_calls
    labels = [t.get_text() for t in main.get_yticklabels()]
    assert "clastokines_secreted" in labels and "gene sets" in labels


def test_abundance_figure_shows_every_sample(compared, tmp_path):
    fig = scclast.pl.condition_abundance(compared, return_fig=True)
    main = fig.axes[0]
    from matplotlib.collections import PathCollection

    n_points = sum(len(c.get_offsets()) for c in main.collections if isinstance(c, PathCollection))
    n_groups = compared.obs["cluster"].nunique()
    assert n_points == 6 * n_groups
    assert {t.get_text() for t in main.get_legend().get_texts()} == {"control", "treated"}
    scclast.pl.condition_abundance(compared, save=tmp_path / "ab.png")
    assert (tmp_path / "ab.png").stat().st_size > 10_000


def test_shipped_two_condition_example_equals_a_fresh_simulation():
    from scclast.datasets._example_conditions import CONDITIONS_SETTINGS

    shipped = scclast.datasets.example_conditions()
    fresh = scclast.datasets.simulate_osteoclastogenesis(**CONDITIONS_SETTINGS)
    assert (shipped.X != fresh.X).nnz == 0
    assert list(shipped.var_names) == list(fresh.var_names)
    for column in ("sample", "condition", "cluster", "state_true"):
        assert list(shipped.obs[column]) == list(fresh.obs[column]), column
    assert scclast.datasets.parameters_from_uns(shipped)["seed"] == CONDITIONS_SETTINGS["seed"]
    assert shipped.uns["scclast"]["dataset"]["synthetic"]
    assert "X_umap" in shipped.obsm
    entry = scclast.datasets.list_datasets().set_index("key").loc["example_conditions"]
    assert entry["status"] == "bundled" and entry["citation"] == "synthetic (scclast)"
    assert "SYNTHETIC" in scclast.datasets.example_conditions.__doc__
