"""Time ``scclast.tl.score`` against its peers on the same matrix, in one run.

Usage::

    python benchmarks/bench_scoring.py                       # 20k and 100k cells, peers
    python benchmarks/bench_scoring.py --cells 20000 --backed-cells 1000000
    python benchmarks/bench_scoring.py --cells 2000 --out /tmp/B.md  # a quick smoke run

The matrix is the peers' anchor matrix (``make_matrix`` below, copied verbatim from
``shared/bench/anchor_peers.py``): N cells x 20,000 genes, 5% non-zero per cell, values
``log1p(Poisson(2) + 1)`` as float32 CSR, and 30 gene sets of 5-30 genes (seed 0).

Every measurement runs in its own subprocess, so that its peak memory is its own:
the worker loads the matrix (an h5ad written once per size), runs a warm-up on a tiny
matrix (numba compilation or cache loading is not timed), then times the scoring call.
Peak RSS is the worker's ``VmHWM`` (it includes the loaded matrix; the RSS after
loading is reported too) and, for peers that start helper processes (pyucell's joblib
workers), the sampled RSS of the whole process tree.

The 1M-cell backed file (``--backed-cells``) is the 20k matrix repeated row-wise
(written by appending to the on-disk CSR), so that every cell's score can be checked
against the in-memory 20k run; it is read with ``anndata.read_h5ad(path, backed="r")``.

Results go to BENCHMARKS.md (``--out``) with the machine, versions, command and load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

METHODS = ("seurat", "ucell", "aucell", "mean")
PEERS = {  # peer job -> (our method, label, target speed-up)
    "scanpy": ("seurat", "scanpy.tl.score_genes, one call per set", 30),
    "pyucell": ("ucell", "pyucell.compute_ucell_scores(n_jobs=2)", 5),
    "decoupler": ("aucell", "decoupler dc.mt.aucell(tmin=3)", 10),
}
RSS_LIMIT_MB = 2048
N_JOBS = [1]  # threads of scclast's kernels (--n-jobs), set by main()


def make_matrix(n_cells, n_genes=20000, density=0.05, seed=0):
    """Verbatim from shared/bench/anchor_peers.py (same numbers for the same seed)."""
    import anndata as ad
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    per_cell = int(n_genes * density)
    popularity = rng.gamma(0.5, 1, n_genes)
    popularity /= popularity.sum()
    indptr = np.arange(0, (n_cells + 1) * per_cell, per_cell)
    indices = np.empty(n_cells * per_cell, dtype=np.int32)
    for i in range(n_cells):
        indices[i * per_cell : (i + 1) * per_cell] = np.sort(
            rng.choice(n_genes, per_cell, replace=False, p=popularity)
        )
    data = np.log1p(rng.poisson(2, n_cells * per_cell) + 1).astype(np.float32)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_cells, n_genes))
    genes = [f"g{i}" for i in range(n_genes)]
    sets = {f"s{k}": list(rng.choice(genes, rng.integers(5, 30), replace=False)) for k in range(30)}
    adata = ad.AnnData(X)
    adata.var_names = genes
    return adata, sets


def write_anchor(n_cells: int, workdir: Path) -> tuple[Path, Path]:
    """The anchor matrix as h5ad plus its gene sets as JSON (made once per size)."""
    path, sets_path = workdir / f"anchor_{n_cells}.h5ad", workdir / f"anchor_{n_cells}.json"
    if not path.exists():
        started = time.perf_counter()
        adata, sets = make_matrix(n_cells)
        adata.obs_names = [f"c{i}" for i in range(n_cells)]
        adata.write_h5ad(path)
        sets_path.write_text(json.dumps({k: [str(g) for g in v] for k, v in sets.items()}))
        print(f"  wrote {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path, sets_path


def write_tiled(source: Path, n_cells: int, workdir: Path) -> Path:
    """``source`` repeated row-wise to ``n_cells`` cells, appended block by block on disk."""
    import anndata as ad
    import h5py
    import pandas as pd
    from anndata.io import sparse_dataset, write_elem

    path = workdir / f"tiled_{n_cells}.h5ad"
    if path.exists():
        return path
    started = time.perf_counter()
    block = ad.read_h5ad(source)
    repeats = n_cells // block.n_obs
    block.write_h5ad(path)
    with h5py.File(path, "r+") as handle:
        matrix = sparse_dataset(handle["X"])
        for _ in range(repeats - 1):
            matrix.append(block.X)
        del handle["obs"]
        write_elem(handle, "obs", pd.DataFrame(index=[f"c{i}" for i in range(matrix.shape[0])]))
    size = path.stat().st_size / 2**30
    print(f"  wrote {path.name} ({size:.1f} GiB) in {time.perf_counter() - started:.0f} s")
    return path


def worker(job: str, data: Path, sets_path: Path, result: Path, repeat: int, n_jobs: int) -> None:
    """Run one timed job in this process and print a JSON line of timings and memory."""
    import anndata as ad

    warnings.filterwarnings("ignore")
    sets = json.loads(sets_path.read_text())
    backed = job.startswith("backed:")
    if job.startswith(("ours:", "backed:")):
        _warm_up(job.split(":", 1)[1], n_jobs)
    adata = ad.read_h5ad(data, backed="r" if backed else None)
    rss_loaded = _rss_mb()
    run = _job(job, adata, sets, n_jobs)
    walls, cpus = [], []
    for _ in range(repeat):
        cpu_before, started = _cpu_s(), time.perf_counter()
        scores = run()
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu_s() - cpu_before)
    np.save(result, np.asarray(scores, dtype=np.float64))
    peak = _rss_mb()
    memory = {"rss_loaded_mb": rss_loaded, "rss_peak_mb": peak}
    print(json.dumps({"wall_s": walls, "cpu_s": cpus, **memory}))


def _cpu_s() -> float:
    """CPU seconds of this process (all threads) and its live helper processes."""
    import psutil

    total = time.process_time()
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _job(job: str, adata, sets: dict, n_jobs: int = 1):
    """A callable returning the cells x sets score matrix of ``job``."""
    names = list(sets)
    if job.startswith(("ours:", "backed:")):
        from scclast._keys import Keys
        from scclast.tl import score

        method, _, variant = job.split(":", 1)[1].partition("-")
        options = {"n_jobs": n_jobs, **({"ties": "ordinal"} if variant == "ordinal" else {})}
        if variant == "ordinal":  # decoupler's input: its column order, no all-zero genes
            nonempty = set(adata.var_names[np.diff(adata.X.tocsc().indptr) > 0])
            sets = {k: [g for g in genes if g in nonempty] for k, genes in sets.items()}
            adata = adata[:, _decoupler_column_order(adata)].copy()
            options["n_up"] = _decoupler_n_up(adata)

        def ours():
            score(adata, sets, method, progress=False, **options)
            return adata.obs[[Keys().score(n) for n in names]].to_numpy()

        return ours
    if job == "scanpy":
        import scanpy as sc

        def peer_scanpy():
            for name, genes in sets.items():
                sc.tl.score_genes(adata, genes, score_name=name)
            return adata.obs[names].to_numpy()

        return peer_scanpy
    if job == "pyucell":
        import pyucell

        def peer_pyucell():
            pyucell.compute_ucell_scores(adata, signatures=sets, n_jobs=2)
            return adata.obs[[f"{n}_UCell" for n in names]].to_numpy()

        return peer_pyucell
    if job == "decoupler":
        import decoupler as dc
        import pandas as pd

        net = pd.DataFrame(
            [(k, g) for k, genes in sets.items() for g in genes], columns=["source", "target"]
        )

        def peer_decoupler():
            dc.mt.aucell(adata, net, tmin=3, verbose=False)
            return adata.obsm["score_aucell"][names].to_numpy()

        return peer_decoupler
    raise ValueError(f"unknown job {job!r}")


def _decoupler_column_order(adata) -> np.ndarray:
    """decoupler's tie-breaking order: its shuffle of the non-empty columns, empty last."""
    counts = np.diff(adata.X.tocsc().indptr)
    nonempty = np.flatnonzero(counts > 0)
    shuffled = np.random.default_rng(0).choice(np.arange(nonempty.size), nonempty.size, False)
    return np.concatenate([nonempty[shuffled], np.flatnonzero(counts == 0)])


def _decoupler_n_up(adata) -> int:
    n_nonempty = int(np.count_nonzero(np.diff(adata.X.tocsc().indptr)))
    return int(np.clip(np.ceil(0.05 * n_nonempty), 2, n_nonempty))


def _warm_up(method: str, n_jobs: int) -> None:
    """Load (or compile) the numba kernels on a tiny matrix, so they are not timed."""
    import anndata as ad
    import scipy.sparse as sp

    from scclast import _kernels
    from scclast.tl import score

    x = sp.random(300, 50, density=0.3, format="csr", dtype=np.float32, random_state=0)
    tiny = ad.AnnData(x)
    tiny.var_names = [f"g{i}" for i in range(50)]
    threshold = _kernels.PARALLEL_MIN_NNZ
    _kernels.PARALLEL_MIN_NNZ = 0  # the threaded kernels too, when n_jobs > 1
    try:
        score(tiny, {"a": ["g1", "g2", "g3"]}, method.partition("-")[0], n_jobs=n_jobs)
    finally:
        _kernels.PARALLEL_MIN_NNZ = threshold


def _rss_mb() -> float:
    """Peak RSS of this process so far (MiB).

    Linux's ``VmHWM`` belongs to this process's own address space; ``ru_maxrss`` would
    also carry the driver's RSS at the time it forked this worker.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def launch(job: str, data: Path, sets: Path, workdir: Path, repeat: int) -> dict:
    """Run ``job`` in a subprocess; returns its timings, memory and result path."""
    import psutil

    result = workdir / f"{job.replace(':', '_')}_{data.stem}.npy"
    command = [sys.executable, __file__, "--worker", job, "--data", str(data)]
    command += ["--sets", str(sets), "--result", str(result), "--repeat", str(repeat)]
    command += ["--n-jobs", str(N_JOBS[0])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree_peak = [0.0]
    watcher = threading.Thread(target=_watch_tree, args=(psutil, process.pid, tree_peak))
    watcher.start()
    out, err = process.communicate()
    watcher.join()
    if process.returncode != 0:
        raise RuntimeError(f"{job} on {data.name} failed:\n{err[-3000:]}")
    entry = json.loads(out.strip().splitlines()[-1])
    entry.update(job=job, result=str(result), tree_peak_mb=tree_peak[0])
    entry["wall_median_s"] = float(np.median(entry["wall_s"]))
    entry["cpu_median_s"] = float(np.median(entry["cpu_s"]))
    print(
        f"  {job:<22s} {entry['wall_median_s']:8.3f} s (cpu {entry['cpu_median_s']:7.2f} s)"
        f"  peak RSS {entry['rss_peak_mb']:7.0f} MB"
        f" (tree {tree_peak[0]:.0f} MB)",
        flush=True,
    )
    return entry


def _watch_tree(psutil, pid: int, peak: list) -> None:
    try:
        root = psutil.Process(pid)
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.05)
    except psutil.Error:
        return


def agreement(ours: np.ndarray, peer: np.ndarray) -> dict:
    """Max |difference|, and the lowest per-set Spearman and Pearson correlations."""
    from scipy.stats import pearsonr, spearmanr

    rho = [spearmanr(ours[:, j], peer[:, j])[0] for j in range(ours.shape[1])]
    r = [pearsonr(ours[:, j], peer[:, j])[0] for j in range(ours.shape[1])]
    return {
        "max_abs_diff": float(np.nanmax(np.abs(ours - peer))),
        "min_spearman": float(np.nanmin(rho)),
        "min_pearson": float(np.nanmin(r)),
    }


def run_size(n_cells: int, workdir: Path, args) -> dict:
    """Each method, then its peer, alternately for a few rounds (the load drifts)."""
    print(f"{n_cells} cells", flush=True)
    data, sets = write_anchor(n_cells, workdir)
    entries = {}
    peers = [] if args.skip_peers else args.peers
    for method in METHODS:
        peer = next((p for p in peers if PEERS[p][0] == method), None)
        rounds = args.rounds if peer and n_cells <= args.round_cells_max else 1
        ours_runs, peer_runs = [], []
        for _ in range(rounds):
            ours_runs.append(launch(f"ours:{method}", data, sets, workdir, args.repeat))
            if peer:
                peer_runs.append(launch(peer, data, sets, workdir, args.peer_repeat))
        entries[method] = _merge(ours_runs)
        if peer:
            entries[peer] = _merge(peer_runs)
            entries[method]["round_ratios"] = [
                (p["wall_median_s"] / o["wall_median_s"], p["cpu_median_s"] / o["cpu_median_s"])
                for o, p in zip(ours_runs, peer_runs, strict=True)
            ]
    if "decoupler" in peers and n_cells <= args.ordinal_check_max:
        entries["aucell-ordinal"] = launch("ours:aucell-ordinal", data, sets, workdir, 1)
    return {"n_cells": n_cells, "entries": entries}


def _merge(runs: list[dict]) -> dict:
    """One entry for several rounds: median times, largest memory, the last scores."""
    merged = dict(runs[-1])
    merged["rounds"] = len(runs)
    for key in ("wall_median_s", "cpu_median_s"):
        merged[key] = float(np.median([run[key] for run in runs]))
    for key in ("rss_peak_mb", "rss_loaded_mb", "tree_peak_mb"):
        merged[key] = max(run[key] for run in runs)
    return merged


def run_backed(n_cells: int, workdir: Path, args) -> dict:
    print(f"{n_cells} cells, backed", flush=True)
    base, sets = write_anchor(args.tile_from, workdir)
    path = write_tiled(base, n_cells, workdir)
    entries = {}
    for method in METHODS:
        entries[method] = launch(f"backed:{method}", path, sets, workdir, 1)
        reference = workdir / f"ours_{method}_{base.stem}.npy"
        if not reference.exists():
            launch(f"ours:{method}", base, sets, workdir, 1)
        tiled = np.load(entries[method]["result"])
        expected = np.tile(np.load(reference), (n_cells // args.tile_from, 1))
        entries[method]["max_abs_diff_vs_in_memory"] = float(np.abs(tiled - expected).max())
        Path(entries[method]["result"]).unlink()  # 240 MB each
    return {"n_cells": n_cells, "entries": entries, "file_gib": path.stat().st_size / 2**30}


NOTES = [
    "## Notes",
    "",
    "* seurat: scclast draws each set's controls with its own generator (seed + hash of "
    "the set name), scanpy with the global NumPy state, so scores differ by their "
    "controls; with the same controls they agree within 1e-6 (tests/test_scoring.py "
    "feeds scanpy's drawn controls to scclast, and compares whole-bin controls).",
    "* aucell: the anchor matrix has about 10 distinct values, so most genes are tied; "
    "decoupler breaks ties by a random column shuffle, scclast (`ties='average'`) "
    "returns the expected AUC over random tie-breaks, hence Spearman < 1. With "
    "`ties='ordinal'` on decoupler's column order and its gene universe the scores are "
    "identical.",
    "* 1M cells: peak RSS includes the 1M-row obs index and the 1M x 30 float64 result "
    "(240 MB, twice while obs is rebuilt). Seurat reads the file twice (gene means, then "
    "the product), the other methods once; the first rows are also read once to detect "
    "the kind of values.",
    "* Single-threaded scclast (`n_jobs=1`, the default): on this shared 2-CPU machine "
    "numba threads lost time waiting for a second core; with idle cores `n_jobs=-1` "
    "is faster.",
    "",
]


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        ram = int(handle.readline().split()[1]) / 2**20
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(ram, 1),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict:
    names = ("scclast", "numpy", "scipy", "numba", "anndata", "scanpy", "pyucell", "decoupler")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def report(results: list, backed: list, info: dict) -> str:
    lines = [
        "# Benchmarks: `scclast.tl.score`",
        "",
        "Written by `benchmarks/bench_scoring.py` (see its docstring and benchmarks/README.md).",
        "",
        f"* Command: `{info['command']}`",
        f"* Date (UTC): {info['date']}; total run time {info['total_min']:.1f} min",
        f"* Machine: {info['machine']['nproc']} CPUs ({info['machine']['cpu']}), "
        f"{info['machine']['ram_gib']} GiB RAM, {info['machine']['platform']}, "
        f"Python {info['machine']['python']}",
        "* Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"* Load average (1 min) at start {info['load'][0]:.2f}, at end {info['load'][1]:.2f}. "
        "**The machine is shared with other engineers' jobs**, so absolute times are noisy; "
        "each ratio compares two runs made minutes apart in the same session.",
        "* Matrix: the peers' anchor matrix (N cells x 20,000 genes, 5% non-zero, "
        "log-normalised float32 CSR), 30 gene sets of 5-30 genes.",
        f"* scclast runs with `n_jobs={info['n_jobs']}` (numba threads); pyucell with "
        "`n_jobs=2` (joblib processes), as in the peers' anchor script.",
        f"* Rounds: up to {info['round_cells_max']:,} cells each method and its peer run "
        f"alternately {info['rounds']} times (fresh processes; the load drifts), above that "
        "once; the speed-up is the median of the per-round ratios.",
        f"* Times: scoring call only (matrix already loaded, numba warmed up); scclast: median "
        f"of {info['repeat']} runs per round, peers: {info['peer_repeat']} run per round, "
        "medians over rounds. Wall time is the "
        "target's measure; CPU time (all threads, plus pyucell's joblib workers) is shown in "
        "brackets because it is less sensitive to the other jobs on the machine (it can "
        "exceed the wall time for pyucell's 2 processes, or scclast with n_jobs > 1). "
        "Peak RSS: the "
        "worker process (matrix included; RSS after loading in brackets); pyucell's joblib "
        "workers are in the process-tree figure.",
        "",
    ]
    for result in results:
        lines += _size_table(result)
    for result in backed:
        lines += _backed_table(result)
    lines += NOTES
    return "\n".join(lines) + "\n"


def _size_table(result: dict) -> list[str]:
    entries = result["entries"]
    lines = [
        f"## {result['n_cells']:,} cells, in memory",
        "",
        "| method | scclast wall (cpu) s | peak RSS MB | peer | peer wall (cpu) s "
        "| peer peak RSS MB | speed-up wall (cpu) | target (wall) | agreement |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        ours = entries[method]
        peer_job = next((p for p, spec in PEERS.items() if spec[0] == method), None)
        peer = entries.get(peer_job) if peer_job else None
        row = [
            method,
            f"{ours['wall_median_s']:.3f} ({ours['cpu_median_s']:.3f})",
            f"{ours['rss_peak_mb']:.0f} ({ours['rss_loaded_mb']:.0f})",
        ]
        if peer is None:
            row += ["-", "-", "-", "-", "-", "-"]
        else:
            ratios = np.asarray(ours["round_ratios"])
            ratio, cpu_ratio = np.median(ratios[:, 0]), np.median(ratios[:, 1])
            target = PEERS[peer_job][2]
            row += [
                PEERS[peer_job][1],
                f"{peer['wall_median_s']:.2f} ({peer['cpu_median_s']:.2f})",
                f"{peer['rss_peak_mb']:.0f} (tree {peer['tree_peak_mb']:.0f})",
                f"**{ratio:.1f}x** ({cpu_ratio:.1f}x)",
                f">= {target}x: {'met' if ratio >= target else 'NOT met'}"
                + (
                    f" (rounds: {', '.join(f'{r:.1f}x' for r in ratios[:, 0])})"
                    if len(ratios) > 1
                    else ""
                ),
                _agreement_text(method, ours, peer, entries),
            ]
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


def _agreement_text(method: str, ours: dict, peer: dict, entries: dict) -> str:
    found = agreement(np.load(ours["result"]), np.load(peer["result"]))
    if method == "seurat":
        return (
            f"controls drawn by different generators: min Pearson {found['min_pearson']:.3f} "
            "(equal within 1e-6 with the same controls: tests/test_scoring.py)"
        )
    if method == "ucell":
        return f"max abs diff {found['max_abs_diff']:.1e}"
    text = (
        f"ties='average' (expected AUC over random tie-breaks): min Spearman "
        f"{found['min_spearman']:.3f}, max abs diff {found['max_abs_diff']:.3f}"
    )
    if "aucell-ordinal" in entries:
        exact = agreement(np.load(entries["aucell-ordinal"]["result"]), np.load(peer["result"]))
        text += (
            f"; ties='ordinal' in decoupler's column order, without the genes that have no "
            f"count in any cell (decoupler drops them): max abs diff {exact['max_abs_diff']:.1e}"
        )
    return text


def _backed_table(result: dict) -> list[str]:
    lines = [
        f"## {result['n_cells']:,} cells, backed h5ad ({result['file_gib']:.1f} GiB on disk)",
        "",
        "`anndata.read_h5ad(path, backed='r')`, default chunk of 10,000 rows, all 30 sets.",
        "",
        "| method | scclast wall (cpu) s | peak RSS MB | under 2 GB | max abs diff vs in-memory |",
        "|---|---|---|---|---|",
    ]
    for method in METHODS:
        entry = result["entries"][method]
        under = "yes" if entry["rss_peak_mb"] < RSS_LIMIT_MB else "NO"
        lines.append(
            f"| {method} | {entry['wall_median_s']:.1f} ({entry['cpu_median_s']:.1f}) "
            f"| {entry['rss_peak_mb']:.0f} | {under} "
            f"| {entry['max_abs_diff_vs_in_memory']:.1e} |"
        )
    return [*lines, ""]


def write_keeping_other_sections(path: Path, text: str) -> None:
    """Write this benchmark's report as the top of ``path``, keeping the file's later parts.

    BENCHMARKS.md holds other benchmarks' sections too (each a top-level ``# `` heading
    after this one, e.g. flagging's false flags and power): those are kept as they are.
    """
    kept = ""
    if path.exists():
        old = path.read_text()
        starts = [m.start() for m in re.finditer(r"(?m)^# ", old)]
        if len(starts) > 1:
            kept = "\n\n" + old[starts[1] :].rstrip() + "\n"
    path.write_text(text.rstrip() + "\n" + kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, nargs="*", default=[20000, 100000])
    parser.add_argument("--backed-cells", type=int, nargs="*", default=[])
    parser.add_argument("--tile-from", type=int, default=20000, help="rows of the tiled block")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of scclast")
    parser.add_argument("--peer-repeat", type=int, default=1, help="timed runs of each peer")
    parser.add_argument("--rounds", type=int, default=3, help="alternating scclast/peer rounds")
    parser.add_argument("--round-cells-max", type=int, default=20000, help="more cells: 1 round")
    parser.add_argument("--ordinal-check-max", type=int, default=20000)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--peers", nargs="*", choices=list(PEERS), default=list(PEERS))
    parser.add_argument("--workdir", type=Path, help="where matrices are cached (default: tmp)")
    parser.add_argument("--n-jobs", type=int, default=1, help="scclast threads (score n_jobs)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "BENCHMARKS.md")
    parser.add_argument("--report-from", type=Path, help="results.json of a run: report only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sets", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.sets, args.result, args.repeat, args.n_jobs)
        return
    if args.report_from:  # rewrite the report from a finished run's results.json
        results, backed, info = json.loads(args.report_from.read_text())
        write_keeping_other_sections(args.out, report(results, backed, info))
        return
    N_JOBS[0] = args.n_jobs
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scclast_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    started, load_start = time.time(), os.getloadavg()[0]
    results = [run_size(n, workdir, args) for n in args.cells]
    backed = [run_backed(n, workdir, args) for n in args.backed_cells]
    info = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)),
        "total_min": (time.time() - started) / 60,
        "machine": machine(),
        "versions": versions(),
        "load": (load_start, os.getloadavg()[0]),
        "repeat": args.repeat,
        "peer_repeat": args.peer_repeat,
        "n_jobs": args.n_jobs,
        "rounds": args.rounds,
        "round_cells_max": args.round_cells_max,
    }
    text = report(results, backed, info)
    write_keeping_other_sections(args.out, text)
    (workdir / "results.json").write_text(json.dumps([results, backed, info], indent=1))
    print(text)


if __name__ == "__main__":
    main()
