"""Score one very large h5ad on a dask cluster, reading the matrix lazily in row blocks.

The matrix (``X``) is opened lazily as a dask array with
:func:`anndata.experimental.read_elem_lazy`; ``obs`` and ``var`` are small and read
into memory. :func:`scclast.tl.score` then maps over the row blocks, so the work
runs on whatever dask cluster the active :class:`dask.distributed.Client` points at
and no process ever holds the whole matrix. The scores are the same as in memory.

Here the cluster is a :class:`dask.distributed.LocalCluster` on this machine. On an HPC
system, start the workers as batch jobs with dask-jobqueue instead, and keep the rest::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, memory="32GB", walltime="02:00:00")
    cluster.scale(jobs=10)

Run it on your own file (by default it writes and scores a small simulated one, and
checks the scores against an in-memory run)::

    python examples/04_dask_large_file.py --input big.h5ad --groupby cell_type \\
        --workers 8 --chunk-rows 20000 --output big_scores.tsv.gz

It needs the ``dask`` extra: ``pip install "scclast[dask]"``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd

GENE_SETS = ["clastokines_secreted", "clastokines_putative", "coupling_inhibitory"]


def read_dask(path: str | Path, chunk_rows: int) -> tuple[ad.AnnData, h5py.File]:
    """An AnnData whose ``X`` is a lazy dask array of ``chunk_rows``-row blocks.

    Keep the returned file open while the AnnData is used (dask reads from it).
    """
    from anndata.experimental import read_elem_lazy

    handle = h5py.File(path, "r")
    var = ad.io.read_elem(handle["var"])
    adata = ad.AnnData(
        X=read_elem_lazy(handle["X"], chunks=(chunk_rows, len(var))),
        obs=ad.io.read_elem(handle["obs"]),
        var=var,
    )
    return adata, handle


def simulated_input(path: Path, n_cells: int, seed: int) -> Path:
    """A simulated osteoclastogenesis h5ad (stands in for a large real file)."""
    import scclast

    adata = scclast.datasets.simulate_osteoclastogenesis(n_cells=n_cells, seed=seed)
    adata.write_h5ad(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, help="h5ad file (default: simulate one)")
    parser.add_argument("--groupby", default="cluster", help="obs column of groups, for flag")
    parser.add_argument("--method", default="seurat", help="scoring method")
    parser.add_argument("--workers", type=int, default=2, help="dask workers")
    parser.add_argument("--chunk-rows", type=int, default=1000, help="cells per dask block")
    parser.add_argument("--cells", type=int, default=4000, help="cells of the simulated input")
    parser.add_argument("--output", type=Path, default=Path("dask_scores.tsv.gz"))
    parser.add_argument(
        "--processes",
        action="store_true",
        help="one process per worker (the default uses threads, which start faster here)",
    )
    parser.add_argument(
        "--no-check", action="store_true", help="skip the comparison with an in-memory run"
    )
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    import scclast

    path = args.input or simulated_input(Path("simulated_large.h5ad"), args.cells, seed=0)
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=args.processes,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"dask cluster: {len(client.scheduler_info()['workers'])} workers")
        adata, handle = read_dask(path, args.chunk_rows)
        with handle:
            print(f"{path}: {adata.n_obs:,} cells x {adata.n_vars:,} genes, X is", type(adata.X))
            started = time.perf_counter()
            scclast.tl.score(adata, GENE_SETS, method=args.method, seed=0)
            print(
                f"scored {len(GENE_SETS)} gene sets on the cluster in "
                f"{time.perf_counter() - started:.1f} s"
            )
            scclast.get.scores(adata).to_csv(args.output, sep="\t")
            print("wrote", args.output)

            # Flagging works on the same lazy matrix; its clustering and gseapy steps
            # would load a normalised copy, so give groups and leave enrichment off.
            scclast.tl.flag(adata, args.groupby, method=args.method, enrichment=False, seed=0)
            table = scclast.get.flag_table(adata)
            flagged = table.loc[table["flagged"], ["group", "lineage_state", "gene_set", "auroc"]]
            print("flagged:", "none" if flagged.empty else "")
            print(flagged.to_string(index=False))

    if not args.no_check:
        in_memory = ad.read_h5ad(path)
        scclast.tl.score(in_memory, GENE_SETS, method=args.method, seed=0)
        expected = scclast.get.scores(in_memory)
        on_cluster = pd.read_csv(args.output, sep="\t", index_col=0)
        largest = max(
            float(np.nanmax(np.abs(on_cluster[c].to_numpy() - expected[c].to_numpy())))
            for c in expected.columns
        )
        print(f"largest difference to the in-memory scores: {largest:.1e}")
        if not largest <= 1e-10:
            raise SystemExit("dask and in-memory scores differ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
