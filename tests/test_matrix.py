"""The expression view: matrix choice, symbols, species, kind, normalisation, chunks."""

from __future__ import annotations

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from scclast._errors import ScclastInputError
from scclast._matrix import (
    detect_kind,
    detect_species,
    expression_view,
    gene_moments,
    matmul,
)
from scclast.testing import log_normalised, simulate_counts


@pytest.fixture(scope="module")
def counts() -> ad.AnnData:
    return simulate_counts(90, 60, seed=3)


@pytest.fixture(scope="module")
def lognorm(counts: ad.AnnData) -> ad.AnnData:
    return log_normalised(counts)


def stacked(view, dense: bool = True) -> np.ndarray:
    parts = [c.toarray() if sp.issparse(c) else c for _, c in view.iter_chunks()]
    return np.vstack(parts)


@pytest.mark.parametrize("fmt", ["csr", "csc", "dense"])
def test_counts_are_normalised_on_the_fly_in_every_format(fmt, lognorm):
    adata = simulate_counts(90, 60, seed=3, fmt=fmt)
    before = adata.X.copy()
    view = expression_view(adata, chunk_size=17)
    assert view.kind == "counts" and view.normalised
    np.testing.assert_allclose(stacked(view), lognorm.X.toarray(), rtol=1e-12, atol=1e-12)
    after = adata.X
    if sp.issparse(before):
        assert (before != after).nnz == 0
    else:
        np.testing.assert_array_equal(before, after)
    assert "on the fly" in view.record["normalisation"]


def test_normalisation_matches_scanpy(counts):
    import scanpy as sc

    reference = counts.copy()
    reference.X = reference.X.astype(np.float64)
    sc.pp.normalize_total(reference, target_sum=1e4)
    sc.pp.log1p(reference)
    view = expression_view(counts)
    np.testing.assert_allclose(stacked(view), reference.X.toarray(), rtol=1e-10, atol=1e-12)


def test_chunks_are_row_slices_in_order(lognorm):
    view = expression_view(lognorm, chunk_size=25)
    slices = [rows for rows, _ in view.iter_chunks()]
    assert [(s.start, s.stop) for s in slices] == [(0, 25), (25, 50), (50, 75), (75, 90)]
    assert all(sp.isspmatrix_csr(c) and c.dtype == np.float64 for _, c in view.iter_chunks())


def test_unsorted_duplicate_csr_entries_are_summed_in_a_copy():
    matrix = sp.csr_matrix(
        (np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]), np.array([0, 3, 3])), shape=(2, 2)
    )
    matrix.has_canonical_format = False
    adata = ad.AnnData(matrix)
    adata.var_names = ["Acp5", "Ctsk"]
    view = expression_view(adata, normalize="none")
    np.testing.assert_array_equal(stacked(view), [[2.0, 4.0], [0.0, 0.0]])
    assert adata.X.nnz == 3  # the stored matrix is left as it was
    assert "summed in a copy" in view.record["note"]


def test_kind_detection():
    assert detect_kind(np.array([0, 1, 5])) == "counts"
    assert detect_kind(np.array([0.0, 1.0, 5.0])) == "counts"
    assert detect_kind(np.array([0.0, 0.69, 1.1])) == "log"
    assert detect_kind(np.array([-1.2, 0.3])) == "scaled"
    with pytest.raises(ScclastInputError, match=r"NaN or infinite"):
        detect_kind(np.array([0.0, np.nan]))
    with pytest.raises(ScclastInputError, match=r"NaN or infinite"):
        detect_kind(np.array([0.0, np.inf]))


def test_log_data_used_as_stored(lognorm):
    view = expression_view(lognorm)
    assert view.kind == "log" and not view.normalised
    np.testing.assert_array_equal(stacked(view), lognorm.X.toarray())


def test_scaled_data_detected_and_not_normalisable(lognorm):
    scaled = lognorm.copy()
    scaled.X = scaled.X.toarray() - 0.5
    assert expression_view(scaled).kind == "scaled"
    with pytest.raises(ScclastInputError, match=r"negative values"):
        expression_view(scaled, normalize="counts")


@pytest.mark.parametrize("choice", ["log", "none"])
def test_forced_no_normalisation_uses_counts_as_stored(counts, choice):
    view = expression_view(counts, normalize=choice)
    assert view.kind == "counts" and not view.normalised
    np.testing.assert_array_equal(stacked(view), counts.X.toarray())


def test_forced_normalisation_of_non_integer_values(lognorm):
    view = expression_view(lognorm, normalize="counts")
    assert view.normalised
    x = lognorm.X.toarray()
    expected = np.log1p(x / x.sum(axis=1, keepdims=True) * 1e4)
    np.testing.assert_allclose(stacked(view), expected, rtol=1e-12)


def test_zero_count_cells_have_all_zero_expression(counts):
    adata = counts.copy()
    x = adata.X.toarray()
    x[[0, 5]] = 0
    adata.X = sp.csr_matrix(x)
    values = stacked(expression_view(adata))
    assert np.isfinite(values).all()
    assert not values[[0, 5]].any() and values[1].any()


def test_nan_inf_non_numeric_and_empty_matrices_fail_clearly(counts):
    x = counts.X.toarray()
    x[3, 4] = np.nan
    with pytest.raises(ScclastInputError, match=r"X contains NaN or infinite"):
        expression_view(ad.AnnData(x))
    x[3, 4] = np.inf
    with pytest.raises(ScclastInputError, match=r"NaN or infinite"):
        expression_view(ad.AnnData(sp.csr_matrix(x)))
    with pytest.raises(ScclastInputError, match=r"non-numeric"):
        expression_view(ad.AnnData(np.array([["a", "b"]], dtype=object)))
    with pytest.raises(ScclastInputError, match=r"empty"):
        expression_view(ad.AnnData(np.zeros((0, 3), dtype=np.float32)))
    with pytest.raises(ScclastInputError, match=r"empty"):
        expression_view(ad.AnnData(np.zeros((3, 0), dtype=np.float32)))


def test_layer_and_raw_selection(counts, lognorm):
    adata = lognorm.copy()
    adata.raw = counts
    np.testing.assert_array_equal(
        stacked(expression_view(adata, layer="counts", normalize="none")), counts.X.toarray()
    )
    raw_view = expression_view(adata, use_raw=True)
    assert raw_view.record["matrix"] == "raw.X" and raw_view.normalised
    with pytest.raises(ScclastInputError, match=r"layer 'spliced' not found.*'counts'"):
        expression_view(adata, layer="spliced")
    with pytest.raises(ScclastInputError, match=r"choose one"):
        expression_view(adata, layer="counts", use_raw=True)
    with pytest.raises(ScclastInputError, match=r"no .raw"):
        expression_view(lognorm, use_raw=True)


def ensembl_adata(symbol_column: str = "feature_name") -> ad.AnnData:
    adata = simulate_counts(20, 6, seed=1)
    adata.var[symbol_column] = ["Acp5", "Ctsk", "Acp5", "Mmp9", np.nan, "Nfatc1"]
    adata.var_names = [f"ENSMUSG{i:011d}" for i in range(6)]
    return adata


@pytest.mark.parametrize("column", ["feature_name", "gene_symbols", "gene_name"])
def test_ensembl_var_names_use_a_symbol_column(column):
    view = expression_view(ensembl_adata(column))
    assert view.record["gene_symbols"] == f"var[{column!r}]"
    assert list(view.symbols) == ["Acp5", "Ctsk", "Mmp9", "Nfatc1"]
    assert view.columns.tolist() == [0, 1, 3, 5]
    assert view.record["duplicated_symbols"] == ["Acp5"]
    assert "first column" in view.record["duplicates_resolution"]
    assert view.record["n_columns_without_symbol"] == 1


def test_explicit_symbol_column_and_errors():
    adata = ensembl_adata()
    view = expression_view(adata, gene_symbols="feature_name")
    assert view.index_of(["Mmp9", "Acp5", "Dcstamp", "Mmp9"]) == (
        pytest.approx(np.array([2, 0])),
        ["Mmp9", "Acp5"],
        ["Dcstamp"],
    )
    with pytest.raises(ScclastInputError, match=r"gene_symbols='symbol' is not a var column"):
        expression_view(adata, gene_symbols="symbol")
    bare = ad.AnnData(adata.X, var=pd.DataFrame(index=adata.var_names))
    with pytest.raises(ScclastInputError, match=r"look like Ensembl IDs.*gene_symbols="):
        expression_view(bare)
    assert expression_view(bare, gene_symbols="var_names").n_vars == 6


def test_duplicated_var_names_keep_first_occurrence():
    adata = simulate_counts(10, 4, seed=2, fmt="dense")
    adata.var_names = ["Acp5", "Ctsk", "Acp5", "Mmp9"]
    view = expression_view(adata, normalize="none")
    assert view.columns.tolist() == [0, 1, 3]
    np.testing.assert_array_equal(stacked(view), adata.X[:, [0, 1, 3]])


def test_species_detection():
    assert detect_species(["Acp5", "Ctsk", "mt-Co1", "Gm12345"]) == "mouse"
    assert detect_species(["ACP5", "CTSK", "MT-CO1", "C1orf112", "LINC00115"]) == "human"
    assert detect_species(["g1", "g2"]) == "unknown"
    assert detect_species(["ENSG00000100000"]) == "unknown"


def test_explicit_species_that_contradicts_the_symbols_fails():
    adata = simulate_counts(10, 30, seed=2, species="human")
    assert expression_view(adata).species == "human"
    assert expression_view(adata, species="human").species == "human"
    with pytest.raises(ScclastInputError, match=r"species='mouse'.*look human.*species='human'"):
        expression_view(adata, species="mouse")
    with pytest.raises(ScclastInputError, match=r"species='rat'"):
        expression_view(adata, species="rat")


def test_gene_moments_match_numpy_and_do_not_depend_on_chunks(lognorm):
    x = lognorm.X.toarray()
    for chunk_size in (7, 1000):
        mean, var = gene_moments(expression_view(lognorm, chunk_size=chunk_size))
        np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(var, x.var(axis=0, ddof=1), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("fmt", ["csr", "csc", "dense"])
@pytest.mark.parametrize("density", [0.6, 0.01])  # two-slot kernel / skip-the-others kernel
def test_matmul_matches_dense_product(fmt, density, counts, lognorm):
    weights = sp.random(60, 4, density=density, random_state=0, format="lil")
    weights[np.arange(3), 0] = 1.0  # at least a few weights
    weights = weights.tocsr()
    expected = lognorm.X.toarray() @ weights.toarray()
    log_data = ad.AnnData(lognorm.X.toarray() if fmt == "dense" else lognorm.X.asformat(fmt))
    for adata in (simulate_counts(90, 60, seed=3, fmt=fmt), log_data):
        for w in (weights, weights.toarray()):
            got = matmul(expression_view(adata, chunk_size=13), w)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_backed_and_dask_views_give_the_same_numbers(tmp_path, counts, lognorm):
    from anndata.experimental import read_elem_lazy

    path = tmp_path / "counts.h5ad"
    counts.write_h5ad(path)
    weights = sp.random(60, 3, density=0.4, random_state=1, format="csr")
    expected = lognorm.X.toarray() @ weights.toarray()
    backed = ad.read_h5ad(path, backed="r")
    view = expression_view(backed, chunk_size=20)
    assert view.storage == "backed" and view.normalised
    np.testing.assert_allclose(matmul(view, weights), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stacked(view), lognorm.X.toarray(), rtol=1e-12)
    backed.file.close()
    with h5py.File(path) as handle:
        lazy = ad.AnnData(
            X=read_elem_lazy(handle["X"], chunks=(32, -1)), obs=counts.obs, var=counts.var
        )
        view = expression_view(lazy)
        assert view.is_dask
        np.testing.assert_allclose(matmul(view, weights), expected, rtol=1e-12, atol=1e-12)
        mean, _ = gene_moments(view)
        np.testing.assert_allclose(mean, lognorm.X.toarray().mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(stacked(view), lognorm.X.toarray(), rtol=1e-12)


def test_backed_chunks_are_checked_for_bad_values(tmp_path, counts):
    x = counts.X.toarray()
    x[70, 2] = np.nan
    path = tmp_path / "bad.h5ad"
    ad.AnnData(sp.csr_matrix(x), var=counts.var).write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    view = expression_view(backed, chunk_size=20)
    with pytest.raises(ScclastInputError, match=r"rows 60-80 contain NaN"):
        list(view.iter_chunks())
    backed.file.close()
