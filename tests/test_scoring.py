"""scclast.score(): parity with the published implementations on the same input."""

from __future__ import annotations

import itertools
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import rankdata, spearmanr

from scclast._warnings import DataWarning, LowCoverageWarning
from scclast.testing import jitter, log_normalised, random_sets, simulate_counts
from scclast.tl import score
from scclast.tl._score._seurat import bin_members, draw_control_genes, expression_bins

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def lognorm() -> ad.AnnData:
    """150 cells x 400 genes, log-normalised float64 CSR (ties: many small counts)."""
    return log_normalised(simulate_counts(150, 400, seed=0))


@pytest.fixture(scope="module")
def sets(lognorm: ad.AnnData) -> dict[str, list[str]]:
    return random_sets(lognorm.var_names, n_sets=6, sizes=(5, 30), seed=1)


def scores_of(adata: ad.AnnData, names, prefix: str = "scclast_") -> np.ndarray:
    """The score columns of ``names`` (``prefix=""``: the peers' column names)."""
    return adata.obs[[f"{prefix}{n}" for n in names]].to_numpy(dtype=np.float64)


def test_seurat_equals_scanpy_when_controls_take_whole_bins(lognorm, sets):
    import scanpy as sc

    reference = lognorm.copy()
    for name, genes in sets.items():
        sc.tl.score_genes(reference, genes, ctrl_size=10_000, score_name=name)
    ours = lognorm.copy()
    score(ours, sets, "seurat", ctrl_size=10_000)
    np.testing.assert_allclose(scores_of(ours, sets), scores_of(reference, sets, ""), atol=1e-6)
    assert np.abs(scores_of(ours, sets) - scores_of(reference, sets, "")).max() < 1e-12


def test_seurat_equals_scanpy_with_scanpys_own_control_genes(monkeypatch):
    """Default ctrl_size=50 and n_bins=25: capture the genes scanpy drew, feed them to us."""
    import scanpy as sc
    from scanpy.tools import _score_genes

    adata = log_normalised(simulate_counts(120, 1500, seed=4))
    gene_sets = random_sets(adata.var_names, n_sets=4, sizes=(10, 40), seed=5)
    drawn: list[pd.Index] = []
    original = _score_genes._score_genes_bins

    def spy(*args, **kwargs):
        for genes in original(*args, **kwargs):
            drawn.append(genes)
            yield genes

    monkeypatch.setattr(_score_genes, "_score_genes_bins", spy)
    reference = adata.copy()
    controls = {}
    for name, genes in gene_sets.items():
        drawn.clear()
        sc.tl.score_genes(reference, genes, score_name=name, random_state=7)
        controls[name] = sorted(set().union(*drawn))
        assert all(len(genes) <= 50 for genes in drawn)  # 50 drawn from bins of ~62 genes
    ours = adata.copy()
    score(ours, gene_sets, "seurat", control_genes=controls)
    diff = np.abs(scores_of(ours, gene_sets) - scores_of(reference, gene_sets, ""))
    assert diff.max() < 1e-6
    recorded = ours.uns["scclast"]["score"]["sets"]
    assert all(sorted(recorded[n]["control_genes"]) == controls[n] for n in gene_sets)


def test_seurat_bins_match_scanpys_cut():
    rng = np.random.default_rng(0)
    means = np.round(rng.gamma(0.5, 1.0, 1000), 3)  # ties on purpose
    series = pd.Series(means)
    n_items = int(np.round(len(series) / 24))
    expected = (series.rank(method="min") // n_items).to_numpy()
    np.testing.assert_array_equal(expression_bins(means, 25), expected)


def test_seurat_controls_come_from_the_bins_of_the_set():
    bins = np.repeat(np.arange(5), 40)
    genes = np.array([3, 45, 46])
    controls = draw_control_genes(genes, bins, 10, np.random.default_rng(0), bin_members(bins))
    assert np.isin(bins[controls], [0, 1]).all()
    per_bin = np.bincount(bins[controls])
    assert 9 <= per_bin[0] <= 10 and 8 <= per_bin[1] <= 10  # 10 drawn, set genes removed
    assert not np.isin(controls, genes).any()


def test_seurat_is_deterministic_and_independent_of_set_order_and_chunks(lognorm, sets):
    first = lognorm.copy()  # bins of ~17 genes: ctrl_size=5 makes the draw matter
    score(first, sets, "seurat", seed=3, ctrl_size=5)
    reordered = lognorm.copy()
    reversed_sets = dict(reversed(list(sets.items())))
    score(reordered, reversed_sets, "seurat", seed=3, ctrl_size=5, chunk_size=7)
    subset = lognorm.copy()
    score(subset, {"set2": sets["set2"]}, "seurat", seed=3, ctrl_size=5)
    np.testing.assert_array_equal(scores_of(first, sets), scores_of(reordered, sets))
    np.testing.assert_array_equal(scores_of(first, ["set2"]), scores_of(subset, ["set2"]))
    controls = first.uns["scclast"]["score"]["sets"]["set2"]["control_genes"]
    assert controls == subset.uns["scclast"]["score"]["sets"]["set2"]["control_genes"]
    other_seed = lognorm.copy()
    score(other_seed, sets, "seurat", seed=4, ctrl_size=5)
    assert other_seed.uns["scclast"]["score"]["sets"]["set2"]["control_genes"] != controls


def test_seurat_control_gene_option_is_checked(lognorm, sets):
    with pytest.raises(ValueError, match=r"unknown gene set"):
        score(lognorm.copy(), sets, "seurat", control_genes={"nope": ["Simg1"]})
    with pytest.warns(DataWarning, match=r"not in the data"):
        score(lognorm.copy(), sets, "seurat", control_genes={"set0": ["Simg1", "Absent1"]})


@pytest.mark.parametrize("max_rank", [1500, 40])
def test_ucell_equals_pyucell(lognorm, sets, max_rank):
    import pyucell

    gene_sets = dict(sets)
    gene_sets["big"] = list(lognorm.var_names[:120])  # > 48 expressed per cell: sorting path
    reference = lognorm.copy()
    pyucell.compute_ucell_scores(
        reference, signatures=gene_sets, max_rank=max_rank, n_jobs=1, missing_genes="skip"
    )
    ours = lognorm.copy()
    score(ours, gene_sets, "ucell", max_rank=max_rank)
    expected = reference.obs[[f"{n}_UCell" for n in gene_sets]].to_numpy(dtype=np.float64)
    assert np.abs(scores_of(ours, gene_sets) - expected).max() < 1e-6
    assert scores_of(ours, sets).std(axis=0).min() > 0


def test_ucell_is_the_same_on_counts_and_log_normalised_values(lognorm, sets):
    counts = ad.AnnData(lognorm.layers["counts"], var=lognorm.var, obs=lognorm.obs)
    score(counts, sets, "ucell")
    log_scored = lognorm.copy()
    score(log_scored, sets, "ucell")
    np.testing.assert_allclose(scores_of(counts, sets), scores_of(log_scored, sets), atol=1e-12)


def decoupler_aucell(adata: ad.AnnData, gene_sets: dict, **kwargs) -> pd.DataFrame:
    import decoupler as dc

    net = pd.DataFrame(
        [(k, g) for k, genes in gene_sets.items() for g in genes], columns=["source", "target"]
    )
    reference = adata.copy()
    dc.mt.aucell(reference, net, tmin=2, verbose=False, **kwargs)
    return reference.obsm["score_aucell"][list(gene_sets)]


def test_aucell_equals_decoupler_where_there_are_no_ties(lognorm, sets):
    adata = jitter(lognorm)  # no ties among expressed genes; zeros rank below n_up
    n_up = int(np.ceil(0.05 * adata.n_vars))
    assert adata.X.getnnz(axis=1).min() >= n_up
    expected = decoupler_aucell(adata, sets).to_numpy()
    ours = adata.copy()
    score(ours, sets, "aucell")
    got = scores_of(ours, sets)
    assert np.abs(got - expected).max() < 1e-12
    assert min(spearmanr(got[:, j], expected[:, j])[0] for j in range(len(sets))) >= 0.999


def test_aucell_zero_block_counts_when_few_genes_are_expressed(lognorm, sets):
    """With n_up above a cell's expressed genes, zeros enter the curve (random order in
    decoupler, expected value here): cells with enough expressed genes still agree exactly."""
    adata = jitter(lognorm)
    n_up = 150
    enough = adata.X.getnnz(axis=1) >= n_up
    assert 0 < enough.sum() < adata.n_obs
    expected = decoupler_aucell(adata, sets, n_up=n_up).to_numpy()
    ours = adata.copy()
    score(ours, sets, "aucell", n_up=n_up)
    got = scores_of(ours, sets)
    assert np.abs(got[enough] - expected[enough]).max() < 1e-12
    assert np.abs(got[~enough] - expected[~enough]).max() < 0.1


@pytest.mark.parametrize("n_up", [None, 150])
def test_aucell_ordinal_ties_equal_decoupler_in_its_column_order(lognorm, sets, n_up):
    """decoupler shuffles columns with default_rng(0), then ranks ordinally: same order here."""
    order = np.random.default_rng(0).choice(
        np.arange(lognorm.n_vars), lognorm.n_vars, replace=False
    )
    expected = decoupler_aucell(lognorm, sets, **({} if n_up is None else {"n_up": n_up}))
    shuffled = lognorm[:, order].copy()
    score(shuffled, sets, "aucell", ties="ordinal", n_up=n_up)
    assert np.abs(scores_of(shuffled, sets) - expected.to_numpy()).max() < 1e-12


def test_aucell_average_ties_are_the_expected_auc_over_random_tie_breaks():
    """Brute force over every order of a small cell with ties, zeros included."""
    row = np.array([3.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0, 0.0])
    genes = [f"Simg{i}" for i in range(row.size)]
    gene_set = {"s": ["Simg1", "Simg3", "Simg4"]}
    n_up = 5
    index = [1, 3, 4]
    aucs = []
    for order in itertools.permutations(range(row.size)):
        ranks = rankdata(-row[list(order)], method="ordinal")[np.argsort(order)]
        hits = np.sort(ranks[index][ranks[index] <= n_up])
        aucs.append(np.sum(n_up - hits))
    max_auc = sum(n_up - k for k in range(1, min(len(index), n_up - 1) + 1))
    adata = ad.AnnData(row[None, :])
    adata.var_names = genes
    score(adata, gene_set, "aucell", n_up=n_up, normalize="none")
    assert adata.obs["scclast_s"].iloc[0] == pytest.approx(np.mean(aucs) / max_auc, abs=1e-12)


def test_mean_and_zscored_mean(lognorm, sets):
    x = lognorm.X.toarray()
    adata = lognorm.copy()
    score(adata, sets, "mean")
    index = {g: i for i, g in enumerate(lognorm.var_names)}
    expected = np.column_stack(
        [x[:, [index[g] for g in genes]].mean(axis=1) for genes in sets.values()]
    )
    np.testing.assert_allclose(scores_of(adata, sets), expected, atol=1e-12)
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    score(adata, sets, "mean", zscore=True)
    expected = np.column_stack(
        [z[:, [index[g] for g in genes]].mean(axis=1) for genes in sets.values()]
    )
    np.testing.assert_allclose(scores_of(adata, sets), expected, atol=1e-10)
    assert adata.uns["scclast"]["score"]["parameters"]["zscore"] is True


@pytest.mark.parametrize("method", ["seurat", "mean"])
def test_counts_are_scored_like_their_log_normalisation(lognorm, sets, method):
    counts = ad.AnnData(lognorm.layers["counts"].copy(), var=lognorm.var, obs=lognorm.obs)
    score(counts, sets, method)
    log_scored = lognorm.copy()
    score(log_scored, sets, method)
    np.testing.assert_allclose(scores_of(counts, sets), scores_of(log_scored, sets), atol=1e-9)
    record = counts.uns["scclast"]["score"]["input"]
    assert record["kind_detected"] == "counts" and "log1p" in record["normalisation"]
    assert log_scored.uns["scclast"]["score"]["input"]["kind_detected"] == "log"


@pytest.mark.parametrize("method", ["seurat", "ucell", "aucell"])
def test_scaled_data_is_refused_with_a_hint(lognorm, sets, method):
    adata = lognorm.copy()
    adata.raw = adata
    adata.X = adata.X.toarray() - adata.X.toarray().mean(axis=0)
    with pytest.raises(ValueError, match=r"negative values.*use_raw=True.*layer='counts'"):
        score(adata, sets, method)
    score(adata, sets, method, use_raw=True)
    score(adata, sets, "mean")  # a mean of scaled values is defined


def test_sets_with_too_few_genes_get_nan_and_a_warning(lognorm):
    gene_sets = {"ok": ["Simg1", "Simg2", "Simg3"], "thin": ["Simg4", "Absent1", "Absent2"]}
    for method in ("seurat", "ucell", "aucell", "mean"):
        adata = lognorm.copy()
        with pytest.warns(
            LowCoverageWarning, match=r"'thin': 1 of 3 genes present \(min_genes=2\)"
        ):
            score(adata, gene_sets, method)
        assert adata.obs["scclast_thin"].isna().all()
        assert adata.obs["scclast_ok"].notna().all()
        entry = adata.uns["scclast"]["score"]["sets"]["thin"]
        assert entry["scored"] is False and entry["genes_missing"] == ["Absent1", "Absent2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score(lognorm.copy(), gene_sets, "mean", min_genes=1)


def test_zero_count_cells_score_as_all_zero_expression(lognorm, sets):
    counts = lognorm.layers["counts"].toarray()
    counts[[0, 1]] = 0
    for method in ("seurat", "ucell", "mean"):
        adata = ad.AnnData(sp.csr_matrix(counts), var=lognorm.var)
        score(adata, sets, method)
        values = scores_of(adata, sets)
        assert np.isfinite(values).all() and not values[:2].any()
    adata = ad.AnnData(sp.csr_matrix(counts), var=lognorm.var)
    score(adata, sets, "aucell")
    n_up = adata.uns["scclast"]["score"]["parameters"]["n_up"]
    expected_random = np.mean(np.maximum(n_up - np.arange(1, adata.n_vars + 1), 0))
    sizes = [len(g) for g in sets.values()]
    max_auc = [sum(n_up - k for k in range(1, min(s, n_up - 1) + 1)) for s in sizes]
    np.testing.assert_allclose(
        scores_of(adata, sets)[0], expected_random * np.array(sizes) / max_auc
    )


def test_ensembl_ids_with_symbol_column_and_duplicates(lognorm, sets):
    adata = lognorm.copy()
    adata.var["feature_name"] = list(lognorm.var_names)
    adata.var_names = [f"ENSMUSG{i:011d}" for i in range(adata.n_vars)]
    score(adata, sets, "ucell")
    reference = lognorm.copy()
    score(reference, sets, "ucell")
    np.testing.assert_array_equal(scores_of(adata, sets), scores_of(reference, sets))
    duplicated = adata.copy()
    duplicated.var["feature_name"] = ["Simg0", *lognorm.var_names[:-1]]
    score(duplicated, {"s": ["Simg0", "Simg5"]}, "mean")
    record = duplicated.uns["scclast"]["score"]["input"]
    assert record["duplicated_symbols"] == ["Simg0"]
    x = lognorm.X.toarray()
    np.testing.assert_allclose(duplicated.obs["scclast_s"], (x[:, 0] + x[:, 6]) / 2)  # Simg5


def test_mouse_sets_on_human_data_name_the_species_option():
    human = log_normalised(simulate_counts(30, 60, seed=2, species="human"))
    with pytest.raises(ValueError, match=r"look mouse.*look human.*species='human'"):
        score(human.copy(), {"s": ["Simg1", "Simg2", "Simg3"]}, "mean")
    with pytest.raises(ValueError, match=r"species='mouse'.*look human"):
        score(human.copy(), {"s": ["SIMG1", "SIMG2"]}, "mean", species="mouse")
    score(human, {"s": ["SIMG1", "SIMG2"]}, "mean")


def test_catalogue_sets_by_name_gmt_and_species(tmp_path):
    from scclast import genesets

    name = genesets.names()[0]
    mouse_genes = genesets.get(name, "mouse")
    human_genes = genesets.get(name, "human")
    mouse = log_normalised(simulate_counts(40, 120, seed=3, genes=mouse_genes))
    score(mouse, name, "ucell")
    found = mouse.uns["scclast"]["score"]["sets"][name]["genes_found"]
    assert set(found) == set(mouse_genes) & set(mouse.var_names) and len(found) >= 2
    human = log_normalised(simulate_counts(40, 120, seed=3, species="human", genes=human_genes))
    score(human, name, "ucell")
    assert human.uns["scclast"]["score"]["input"]["species"] == "human"
    with pytest.raises(ValueError, match=r"species='human'"):
        score(human, name, "ucell", species="mouse")
    gmt = tmp_path / "mine.gmt"
    gmt.write_text("mine\tdescription\tSimg1\tSimg2\tSimg3\n")
    score(mouse, str(gmt), "mean")
    assert "scclast_mine" in mouse.obs
    unknown = log_normalised(simulate_counts(20, 30, seed=3, species="other"))
    with pytest.raises(ValueError, match=r"could not tell the species.*--species"):
        score(unknown, name, "mean")


def test_record_outputs_and_input_left_untouched(lognorm, sets):
    adata = lognorm.copy()
    before = adata.X.copy()
    result = score(adata, sets, "seurat", key_added="sig", seed=2)
    assert result is None
    assert (adata.X != before).nnz == 0
    assert [c for c in adata.obs if c.startswith("sig_")] == [f"sig_{n}" for n in sets]
    assert "scclast" not in adata.uns
    block = adata.uns["sig"]["score"]
    assert block["method"] == "seurat" and block["parameters"]["seed"] == 2
    assert {"scanpy", "anndata", "numpy"} <= set(block["versions"])
    assert isinstance(block["catalogue_version"], str)
    entry = block["sets"]["set0"]
    assert entry["genes_found"] == sets["set0"] and entry["genes_missing"] == []
    assert len(entry["control_genes"]) > 0
    copied = score(lognorm, sets, "mean", copy=True)
    assert "scclast" not in lognorm.uns and "scclast_set0" not in lognorm.obs
    assert "scclast_set0" in copied.obs
    score(adata, sets, "mean", key_added="sig")  # re-scoring replaces the columns
    assert sum(c.startswith("sig_") for c in adata.obs) == len(sets)


def test_bad_parameters_fail_clearly(lognorm, sets):
    for kwargs, message in [
        ({"method": "gsva"}, "method='gsva'"),
        ({"min_genes": 0}, "min_genes=0"),
        ({"seed": -1}, "seed=-1"),
        ({"method": "aucell", "n_up": 1}, "n_up=1"),
        ({"ties": "random"}, "ties='random'"),
        ({"normalize": "tpm"}, "normalize='tpm'"),
        ({"n_jobs": 0}, "n_jobs=0"),
    ]:
        with pytest.raises(ValueError, match=message):
            score(lognorm.copy(), sets, **kwargs)


def test_every_registered_method_is_documented():
    import scclast.tl._score as package
    from scclast._types import SCORE_METHODS
    from scclast.tl import METHODS
    from scclast.tl._score._base import methods_table
    from scclast.tl._score._registry import REGISTRY

    assert tuple(REGISTRY) == METHODS == SCORE_METHODS
    table = methods_table(REGISTRY)
    assert table in package.__doc__, f"update the table in scclast/tl/_score/__init__.py:\n{table}"
    documented = " ".join(score.__doc__.split())
    for name, record in REGISTRY.items():
        assert record.name == name
        assert f'``"{name}"``: {record.description}' in documented
        assert record.peer is None or f"(as ``{record.peer}``)" in documented


def test_method_parameters_are_keywords_of_score_and_of_the_compute_function():
    import inspect

    from scclast.tl._score._registry import REGISTRY

    def keywords(func) -> set[str]:
        parameters = inspect.signature(func).parameters.values()
        return {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}

    own = [name for record in REGISTRY.values() for name in record.parameters]
    assert len(own) == len(set(own))  # each parameter belongs to one method
    assert set(own) <= keywords(score)
    for record in REGISTRY.values():
        assert keywords(record.compute) == {*record.parameters, "progress"}, record.name


def test_score_dispatches_through_the_registry(lognorm, sets, monkeypatch):
    """A record added to the registry is scored, checked and recorded like the others."""
    from scclast.tl._score import _score as entry
    from scclast.tl._score._base import Method, MethodResult

    seen = []

    def compute(view, members, scorable, *, seed, progress):
        seen.append(seed)
        return MethodResult(np.full((view.n_obs, len(members)), 7.0), {"seed": seed})

    fake = Method("fake", "seven everywhere", None, True, ("seed",), compute)
    monkeypatch.setattr(entry, "REGISTRY", {**entry.REGISTRY, "fake": fake})
    adata = lognorm.copy()
    score(adata, sets, "fake", seed=3)
    assert seen == [3]
    assert (scores_of(adata, sets) == 7.0).all()
    block = adata.uns["scclast"]["score"]
    assert block["method"] == "fake" and block["parameters"]["seed"] == 3
    scaled = lognorm.copy()
    scaled.X = scaled.X.toarray() - 1.0
    with pytest.raises(ValueError, match=r"method='fake' needs non-negative"):
        score(scaled, sets, "fake")
    with pytest.raises(ValueError, match=r"method='gsva' is not one of .*fake"):
        score(lognorm.copy(), sets, "gsva")
