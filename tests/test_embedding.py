"""tl.umap(): a seeded 2-D embedding, computed in row chunks, kept when already there."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest

from scclast import tl
from scclast._keys import Keys
from scclast.testing import simulate_groups
from scclast.tl._embedding import usable_embedding, variable_genes

BASIS = Keys().embedding


@pytest.fixture(scope="module")
def cells():
    return simulate_groups(
        {"macrophage": 100, "osteoclast": 100, "stromal": 100}, seed=5, n_background=300
    )


@pytest.fixture(scope="module")
def embedded(cells):
    return tl.umap(cells, seed=0, copy=True)


def test_umap_separates_the_groups_and_is_recorded(embedded):
    xy = embedded.obsm[BASIS]
    assert xy.shape == (300, 2) and np.isfinite(xy).all()
    record = embedded.uns["scclast"]["embedding"]
    assert record["computed"] is True and record["basis"] == "X_umap"
    assert record["parameters"]["seed"] == 0
    states = embedded.obs["state_true"].astype(str).to_numpy()
    centres = {s: xy[states == s].mean(axis=0) for s in set(states)}
    spread = max(np.linalg.norm(xy[states == s] - c, axis=1).mean() for s, c in centres.items())
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in centres for b in centres if a < b]
    assert min(gaps) > 2 * spread  # three separate islands


def test_umap_is_seeded_and_backed_data_give_the_same_embedding(cells, embedded, tmp_path):
    again = tl.umap(cells, seed=0, copy=True)
    np.testing.assert_array_equal(again.obsm[BASIS], embedded.obsm[BASIS])
    other = tl.umap(cells, seed=1, copy=True)
    assert not np.allclose(other.obsm[BASIS], embedded.obsm[BASIS])
    cells.write_h5ad(tmp_path / "cells.h5ad")
    backed = ad.read_h5ad(tmp_path / "cells.h5ad", backed="r")
    try:
        assert tl.umap(backed, seed=0) is None
        np.testing.assert_allclose(backed.obsm[BASIS], embedded.obsm[BASIS], rtol=1e-5)
    finally:
        backed.file.close()


def test_a_usable_stored_embedding_is_kept_unless_recompute(embedded):
    adata = embedded.copy()
    stored = np.arange(600, dtype=np.float32).reshape(300, 2)
    adata.obsm[BASIS] = stored
    tl.umap(adata, key_added="run2")
    assert adata.obsm[BASIS] is stored or np.array_equal(adata.obsm[BASIS], stored)
    assert adata.uns["run2"]["embedding"]["computed"] is False
    tl.umap(adata, recompute=True)
    assert not np.array_equal(adata.obsm[BASIS], stored)
    assert adata.uns["scclast"]["embedding"]["computed"] is True
    broken = stored.copy()
    broken[0, 0] = np.nan
    adata.obsm[BASIS] = broken
    tl.umap(adata)
    assert np.isfinite(adata.obsm[BASIS]).all()
    assert adata.uns["scclast"]["embedding"]["computed"] is True


def test_usable_embedding():
    assert usable_embedding(np.zeros((3, 2)), 3)
    assert usable_embedding(np.zeros((3, 5)), 3)
    assert not usable_embedding(np.zeros((3, 1)), 3)
    assert not usable_embedding(np.zeros((4, 2)), 3)
    assert not usable_embedding(np.full((3, 2), np.inf), 3)
    assert not usable_embedding(np.zeros(6), 3)


def test_variable_genes_normalise_dispersion_within_mean_bins():
    # Two bins of mean expression; dispersion is judged against genes of similar mean.
    mean = np.array([0.0, 0.1, 0.1, 0.1, 0.1, 5.0, 5.0, 5.0, 5.0])
    var = np.array([0.0, 0.1, 0.1, 0.1, 0.3, 30.0, 30.0, 30.0, 40.0])
    # raw dispersion (var / mean) would pick gene 8 (8.0) and one of genes 5-7 (6.0);
    # within their bins genes 4 and 8 stand out
    chosen = variable_genes(mean, var, n_top=2, n_bins=2)
    assert chosen.tolist() == [4, 8]
    assert variable_genes(mean, var, n_top=2, n_bins=1).tolist() == [5, 8]
    assert 0 not in variable_genes(mean, var, n_top=8, n_bins=2)  # zero mean: never
    assert variable_genes(mean, var, n_top=20).tolist() == list(range(1, 9))
