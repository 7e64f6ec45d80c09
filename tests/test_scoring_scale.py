"""Same scores from in-memory (dense, CSR, CSC), backed h5ad and dask matrices."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import anndata as ad
import h5py
import numpy as np
import pytest

from scclast._errors import ScclastInputError
from scclast.testing import random_sets, simulate_counts
from scclast.tl import METHODS, score

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def counts() -> ad.AnnData:
    return simulate_counts(230, 250, seed=7)


@pytest.fixture(scope="module")
def sets(counts: ad.AnnData) -> dict[str, list[str]]:
    gene_sets = random_sets(counts.var_names, n_sets=5, sizes=(4, 25), seed=8)
    gene_sets["wide"] = list(counts.var_names[:100])  # many expressed genes per cell
    return gene_sets


@pytest.fixture(scope="module")
def expected(counts, sets) -> dict[str, np.ndarray]:
    results = {}
    for method in METHODS:
        adata = counts.copy()
        score(adata, sets, method, chunk_size=10_000)
        results[method] = values(adata, sets)
    return results


@pytest.fixture(scope="module")
def h5ad_path(tmp_path_factory, counts) -> str:
    path = tmp_path_factory.mktemp("scale") / "counts.h5ad"
    counts.write_h5ad(path)
    return str(path)


def values(adata: ad.AnnData, sets) -> np.ndarray:
    return adata.obs[[f"scclast_{n}" for n in sets]].to_numpy(dtype=np.float64)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("method", METHODS)
def test_dense_and_csc_equal_csr(counts, sets, expected, fmt, method):
    adata = simulate_counts(230, 250, seed=7, fmt=fmt)
    score(adata, sets, method, chunk_size=64)
    np.testing.assert_allclose(values(adata, sets), expected[method], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_backed_equals_in_memory_and_leaves_the_file_alone(h5ad_path, sets, expected, method):
    with open(h5ad_path, "rb") as handle:
        before = handle.read()
    adata = ad.read_h5ad(h5ad_path, backed="r")
    score(adata, sets, method, chunk_size=50, progress=False)
    np.testing.assert_allclose(values(adata, sets), expected[method], rtol=1e-12, atol=1e-12)
    assert adata.uns["scclast"]["score"]["input"]["storage"] == "backed"
    adata.file.close()
    with open(h5ad_path, "rb") as handle:
        assert handle.read() == before


def test_backed_copy_is_refused(h5ad_path, sets):
    adata = ad.read_h5ad(h5ad_path, backed="r")
    with pytest.raises(ScclastInputError, match=r"copy=True is not possible for a backed"):
        score(adata, sets, "mean", copy=True)
    adata.file.close()


@pytest.mark.parametrize("method", METHODS)
def test_dask_equals_in_memory(h5ad_path, counts, sets, expected, method):
    from anndata.experimental import read_elem_lazy

    with h5py.File(h5ad_path) as handle:
        lazy = read_elem_lazy(handle["X"], chunks=(60, -1))
        adata = ad.AnnData(X=lazy, obs=counts.obs.copy(), var=counts.var.copy())
        score(adata, sets, method)
    np.testing.assert_allclose(values(adata, sets), expected[method], rtol=1e-12, atol=1e-12)
    assert adata.uns["scclast"]["score"]["input"]["storage"] == "dask"


def test_dask_from_read_lazy(h5ad_path, sets, expected):
    pytest.importorskip("xarray")
    from anndata.experimental import read_lazy

    adata = read_lazy(h5ad_path)  # lazy X (dask) and lazy obs
    for method in ("seurat", "ucell"):
        score(adata, sets, method)
        np.testing.assert_allclose(values(adata, sets), expected[method], rtol=1e-12)
    assert adata.uns["scclast"]["score"]["input"]["storage"] == "dask"


def test_dask_distributed_cluster_with_two_workers(h5ad_path, counts, sets, expected):
    from anndata.experimental import read_elem_lazy
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",  # loopback only: no lookup of our own address
            dashboard_address="127.0.0.1:0",  # any free port: never clash with a running one
        ) as cluster,
        Client(cluster),
        h5py.File(h5ad_path) as handle,
    ):
        lazy = read_elem_lazy(handle["X"], chunks=(40, -1))
        adata = ad.AnnData(X=lazy, obs=counts.obs.copy(), var=counts.var.copy())
        for method in ("seurat", "aucell"):
            score(adata, sets, method)
            np.testing.assert_allclose(
                values(adata, sets), expected[method], rtol=1e-12, atol=1e-12
            )


def test_chunk_size_does_not_change_any_score(counts, sets, expected):
    for method in METHODS:
        adata = counts.copy()
        score(adata, sets, method, chunk_size=1)
        np.testing.assert_array_equal(values(adata, sets), expected[method])


def test_progress_bar_on_request(counts, sets, capsys):
    score(counts.copy(), sets, "ucell", chunk_size=50, progress=True)
    assert "chunk" in capsys.readouterr().err
    score(counts.copy(), sets, "ucell", chunk_size=50, progress=False)
    assert capsys.readouterr().err == ""


THREADED_CHECK = textwrap.dedent(
    """
    import numba
    import numpy as np

    from scclast import _kernels
    from scclast._matrix import _ops
    from scclast.testing import log_normalised, random_sets, simulate_counts
    from scclast.tl import score
    from scclast.tl._score import _ranks

    assert numba.get_num_threads() == 4, numba.get_num_threads()
    calls = []

    def spy(module, name):
        kernel = getattr(module, name)

        def counted(*args):
            calls.append(name)
            return kernel(*args)

        setattr(module, name, counted)

    for module, name in [
        (_ops, "csr_moments_parallel"),
        (_ops, "csr_times_w_parallel"),
        (_ops, "csr_times_packed_parallel"),
        (_ranks, "rank_sums_parallel"),
    ]:
        spy(module, name)
    counts = simulate_counts(1500, 500, seed=7)
    lognorm = log_normalised(counts)
    assert counts.X.nnz >= _kernels.PARALLEL_MIN_NNZ, counts.X.nnz  # one chunk: threads
    sets = random_sets(counts.var_names, n_sets=5, sizes=(4, 25), seed=8)
    sets["wide"] = list(counts.var_names[:100])  # 20% of the genes: the packed kernel
    cases = [
        ("seurat", {}),
        ("ucell", {}),
        ("aucell", {}),
        ("aucell", {"ties": "ordinal"}),
        ("mean", {}),
        ("mean", {"zscore": True}),
    ]
    used = set()
    for data in (counts, lognorm):
        for method, options in cases:
            results = {}
            for n_jobs in (1, 4):
                calls.clear()
                adata = data.copy()
                score(adata, sets, method, n_jobs=n_jobs, **options)
                results[n_jobs] = adata.obs[[f"scclast_{n}" for n in sets]].to_numpy(float)
                assert bool(calls) == (n_jobs > 1), (method, options, n_jobs, calls)
                used.update(calls)
            np.testing.assert_allclose(results[4], results[1], rtol=1e-12, atol=1e-12)
    assert len(used) == 4, used  # every threaded kernel ran
    print("threaded kernels checked")
    """
)


def test_threaded_kernels_give_the_same_scores():
    """The threaded kernels, really on 4 numba threads, equal the serial ones.

    Runs in a fresh interpreter: numba's thread count is fixed at its import, and CI
    machines have 2 cores (numba runs more threads than cores when asked).
    """
    env = {**os.environ, "NUMBA_NUM_THREADS": "4"}
    done = subprocess.run(
        [sys.executable, "-c", THREADED_CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "threaded kernels checked" in done.stdout
