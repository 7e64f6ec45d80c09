"""Time ``scclast run`` as users run it, beside the same steps done with plain scanpy.

Usage::

    python benchmarks/bench_run.py example                    # warm: README's main command
    python benchmarks/bench_run.py cold                       # the first run after install
    python benchmarks/bench_run.py cells --n-cells 100000     # stored embedding, in memory
    python benchmarks/bench_run.py backed --n-cells 1000000   # stored embedding, --backed
    python benchmarks/bench_run.py first-score                # first tl.score vs a warm one
    python benchmarks/bench_run.py all --out benchmarks/RUN_BENCHMARK.md

Every measurement is a fresh process (``python -m scclast ...``), so imports, numba
cache loading or compilation, reading the input, the analysis, figures, report and
``annotated.h5ad`` all count; the median of ``--repeats`` runs (default 3) is reported
with the wall and CPU time, the child's peak RSS (``ru_maxrss`` from ``os.wait4``) and
the 1-minute load average before and after each run (the machine may be shared).

Beside each scclast run, in the same benchmark run and on the same input, a fresh
process does the same analysis steps with plain scanpy calls: read the h5ad,
``normalize_total``, ``log1p``, ``score_genes`` for each gene set a default scclast run
scores, and the per-group statistics (mean score and a one-sided Mann-Whitney U / AUROC
of each group against the other cells, per set). It draws no figure and writes nothing,
so the ratio favours scanpy. scanpy cannot score backed files (scanpy issue 883), so for
``backed`` its process reads the matrix into memory; its peak RSS says what that costs.

Inputs (made once, under ``benchmarks/_data/``, git-ignored):

* ``cells``: ``simulate_osteoclastogenesis(n_cells=N, n_samples=4, seed=0)`` with a
  stored 2-D embedding (random coordinates: a run keeps any usable stored embedding, so
  its values do not change the timing);
* ``backed``: the ``cells`` file of 100,000 cells tiled row-wise to ``N`` cells,
  appended block by block on disk (cell names made unique);
* ``first-score``: the 20,000 x 20,000 anchor matrix of ``bench_scoring.py``.

``cold`` emulates the first run after ``pip install``: a fresh copy of the package
without bytecode, an empty numba cache (``NUMBA_CACHE_DIR``) and an empty matplotlib
cache (``MPLCONFIGDIR``), in each run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
PACKAGES = ("scclast", "scanpy", "anndata", "numba", "numpy", "scipy", "gseapy", "matplotlib")
TARGETS = {
    "example": ("scclast run --example (warm)", 5.0),
    "cold": ("scclast run --example, first run after install", 30.0),
    "cells": ("scclast run, stored embedding, in memory", 60.0),
    "backed": ("scclast run --backed, stored embedding", 15 * 60.0),
}
RSS_TARGET_MIB = {"backed": 4096.0}

PEER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
started = time.perf_counter()
import anndata as ad, numpy as np, scanpy as sc
from scipy.stats import mannwhitneyu
path, sets_path, groupby = sys.argv[1:4]
adata = ad.read_h5ad(path)
sets = json.loads(open(sets_path).read())
loaded = time.perf_counter()
sc.pp.normalize_total(adata, target_sum=1e4)
sc.pp.log1p(adata)
for name, genes in sets.items():
    sc.tl.score_genes(adata, genes, score_name=name, random_state=0)
scored = time.perf_counter()
labels = adata.obs[groupby].astype(str).to_numpy()
rows = 0
for name in sets:
    values = adata.obs[name].to_numpy()
    for group in np.unique(labels):
        inside = labels == group
        u = mannwhitneyu(values[inside], values[~inside], alternative="greater").statistic
        auroc = u / (inside.sum() * (~inside).sum())
        rows += 1
done = time.perf_counter()
print(json.dumps({"read_s": loaded - started, "score_s": scored - loaded,
                  "stats_s": done - scored, "rows": rows}))
"""

FIRST_SCORE = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import anndata as ad
adata = ad.read_h5ad(sys.argv[1])
sets = json.loads(open(sys.argv[2]).read())
import scclast
first = time.perf_counter()
scclast.tl.score(adata, sets, method="seurat")
first = time.perf_counter() - first
warm = []
for _ in range(3):
    started = time.perf_counter()
    scclast.tl.score(adata, sets, method="seurat")
    warm.append(time.perf_counter() - started)
print(json.dumps({"first_s": first, "warm_s": sorted(warm)[1]}))
"""


def measure(
    cmd: Sequence[str], env: dict[str, str] | None = None, allow_failure: bool = False
) -> dict[str, object]:
    """Run ``cmd`` as a fresh process; wall, CPU, peak RSS, load, stdout and stderr.

    A failed process ends the benchmark, unless ``allow_failure``: its result then says
    ``failed`` with the last line of its stderr (a crash is a result too).
    """
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env or os.environ.copy())
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and not allow_failure:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed (exit {code}):\n{stderr[-3000:]}")
    last = (stderr.strip().splitlines() or [""])[-1]
    return {
        "failed": f"exit {code}: {last[:300]}" if code != 0 else "",
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024.0,  # Linux reports KiB
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "stdout": stdout,
        "stderr": stderr,
    }


def scclast_run(args: Sequence[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """``python -m scclast run ARGS -o <new folder>``, with the flagging time from its log."""
    workdir = Path(tempfile.mkdtemp(prefix="scclast-bench-"))
    try:
        env = {**(env or os.environ), "SCCLAST_NO_PROGRESS": "1"}
        result = measure([sys.executable, "-m", "scclast", "run", *args, "-o",
                          str(workdir / "out")], env, allow_failure=True)  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    found = re.search(r"flagging done in ([\d.]+) s", str(result["stderr"]))
    result["flagging_s"] = float(found.group(1)) if found else float("nan")
    return result


def peer_run(path: Path, groupby: str) -> dict[str, object]:
    """The same steps with plain scanpy, in a fresh process."""
    result = measure([sys.executable, "-c", PEER, str(path), str(write_sets()), groupby])
    result.update(json.loads(str(result["stdout"]).strip().splitlines()[-1]))
    return result


def write_sets() -> Path:
    """The gene sets a default scclast run scores (mouse symbols), for the scanpy peer."""
    import scclast
    from scclast.tl._flag._plan import INHIBITORY_SET, MACHINERY_SET
    from scclast.tl._lineage_rules import LINEAGE_SETS

    names = [*scclast.tl.DEFAULT_GENE_SETS, INHIBITORY_SET, MACHINERY_SET, *LINEAGE_SETS]
    sets = scclast.genesets.as_dict(
        "mouse", sets=[n for n in names if n in scclast.genesets.names()]
    )
    path = DATA / "default_sets_mouse.json"
    DATA.mkdir(exist_ok=True)
    path.write_text(json.dumps(sets))
    return path


def cells_file(n_cells: int) -> Path:
    """Simulated cells with a stored 2-D embedding (made once)."""
    path = DATA / f"cells_{n_cells}.h5ad"
    if path.exists():
        return path
    import numpy as np

    from scclast.datasets import simulate_osteoclastogenesis

    started = time.perf_counter()
    adata = simulate_osteoclastogenesis(n_cells=n_cells, n_samples=4, seed=0)
    adata.obsm["X_umap"] = np.random.default_rng(0).normal(size=(adata.n_obs, 2))
    DATA.mkdir(exist_ok=True)
    adata.write_h5ad(path)
    print(f"  made {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def tiled_file(n_cells: int, block_cells: int = 100_000) -> Path:
    """The ``block_cells`` file tiled row-wise to ``n_cells`` cells, appended on disk."""
    path = DATA / f"cells_{n_cells}_tiled.h5ad"
    if path.exists():
        return path
    import anndata as ad
    import h5py
    import numpy as np
    import pandas as pd
    from anndata.io import sparse_dataset, write_elem

    started = time.perf_counter()
    block = ad.read_h5ad(cells_file(block_cells))
    repeats = n_cells // block.n_obs
    obs = pd.concat([block.obs] * repeats)
    obs.index = [f"{name}-{k}" for k in range(repeats) for name in block.obs_names]
    umap = np.concatenate([block.obsm["X_umap"] + 10.0 * k for k in range(repeats)])
    partial = path.with_suffix(".partial")
    block.write_h5ad(partial)
    with h5py.File(partial, "r+") as handle:
        matrix = sparse_dataset(handle["X"])
        for _ in range(repeats - 1):
            matrix.append(block.X)
        for key, value in (("obs", obs), ("obsm", {"X_umap": umap})):
            del handle[key]
            write_elem(handle, key, value)
    partial.rename(path)
    size = path.stat().st_size / 2**30
    print(f"  made {path.name} ({size:.1f} GiB) in {time.perf_counter() - started:.0f} s")
    return path


def anchor_file() -> tuple[Path, Path]:
    """The 20k x 20k anchor matrix of bench_scoring.py and its 30 gene sets."""
    sys.path.insert(0, str(HERE))
    from bench_scoring import write_anchor

    DATA.mkdir(exist_ok=True)
    return write_anchor(20_000, DATA)


def cold_env(workdir: Path) -> dict[str, str]:
    """A fresh copy of the package without bytecode or numba cache; empty caches."""
    import scclast

    source = Path(scclast.__file__).parent
    shutil.copytree(source, workdir / "scclast", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("numba", "mpl"):
        (workdir / folder).mkdir()
    return {
        **os.environ,
        "PYTHONPATH": str(workdir),
        "NUMBA_CACHE_DIR": str(workdir / "numba"),
        "MPLCONFIGDIR": str(workdir / "mpl"),
        "PYTHONDONTWRITEBYTECODE": "",
    }


def scenario(
    name: str, repeats: int, n_cells: int, run_args: Sequence[str] = ()
) -> dict[str, object]:
    """Run one scenario; returns its runs, peers and a description of the input."""
    ours: list[dict[str, object]] = []
    peers: list[dict[str, object]] = []
    if name == "example":
        scclast_run(["--example"])  # untimed: the numba cache is filled once after install
        ours = [scclast_run(["--example"]) for _ in range(repeats)]
        import scclast

        path = DATA / "example.h5ad"
        DATA.mkdir(exist_ok=True)
        scclast.datasets.example().write_h5ad(path)
        peers = [peer_run(path, "cluster") for _ in range(repeats)]
        what = "the bundled example, 3,000 cells x 2,500 genes, stored embedding"
    elif name == "cold":
        for _ in range(repeats):
            workdir = Path(tempfile.mkdtemp(prefix="scclast-cold-"))
            try:
                ours.append(scclast_run(["--example"], env=cold_env(workdir)))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        what = "the bundled example from a fresh package copy, empty numba and matplotlib caches"
    elif name in ("cells", "backed"):
        path = cells_file(n_cells) if name == "cells" else tiled_file(n_cells)
        extra = ["--backed"] if name == "backed" else []
        args = [str(path), "--groupby", "cluster", *extra, *run_args]
        ours = [scclast_run(args) for _ in range(repeats)]
        peers = [peer_run(path, "cluster") for _ in range(1 if name == "backed" else repeats)]
        size = path.stat().st_size / 2**20
        what = f"{n_cells:,} simulated cells x 2,500 genes ({size:,.0f} MiB h5ad), stored embedding"
        if run_args:
            what += f"; scclast run also given `{' '.join(run_args)}`"
    elif name == "first-score":
        path, sets = anchor_file()
        ours = []
        for _ in range(repeats):
            run = measure([sys.executable, "-c", FIRST_SCORE, str(path), str(sets)])
            run.update(json.loads(str(run["stdout"]).strip().splitlines()[-1]))
            ours.append(run)
        what = "20,000 cells x 20,000 genes, 30 gene sets (bench_scoring.py's anchor matrix)"
    else:
        raise SystemExit(f"unknown scenario {name!r}")
    return {"name": name, "what": what, "ours": ours, "peers": peers}


def median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]


def summary(result: dict[str, object]) -> str:
    name = str(result["name"])
    ours = result["ours"]
    assert isinstance(ours, list)
    if name == "first-score":
        first, warm = median(ours, "first_s"), median(ours, "warm_s")
        verdict = "met" if first <= 2 * warm else f"MISSED by {first - 2 * warm:.2f} s"
        return (f"first call {first:.2f} s, warm call {warm:.2f} s (median of {len(ours)} "
                f"processes): ratio {first / warm:.1f}, target <= 2: {verdict}")  # fmt: skip
    label, target = TARGETS[name]
    failures = [str(r["failed"]) for r in ours if r.get("failed")]
    if failures:
        return f"{label}: {len(failures)} of {len(ours)} runs FAILED ({failures[0]})"
    wall = median(ours, "wall_s")
    rss = max(float(r["peak_rss_mib"]) for r in ours)  # type: ignore[arg-type]
    verdict = "met" if wall <= target else f"MISSED by {wall - target:.1f} s"
    text = (f"{label}: median {wall:.1f} s ({len(ours)} runs), target <= {target:.0f} s: "
            f"{verdict}; peak RSS {rss:,.0f} MiB")  # fmt: skip
    if name in RSS_TARGET_MIB:
        limit = RSS_TARGET_MIB[name]
        text += f" (target <= {limit:,.0f} MiB: {'met' if rss <= limit else 'MISSED'})"
    flagging = [float(r["flagging_s"]) for r in ours]  # type: ignore[arg-type]
    if name != "cold" and all(f == f for f in flagging):
        text += f"; flagging {statistics.median(flagging):.1f} s"
    peers = result["peers"]
    assert isinstance(peers, list)
    if peers:
        peer = median(peers, "wall_s")
        text += f"; plain scanpy {peer:.1f} s (ratio scclast/scanpy {wall / peer:.2f})"
    return text


def markdown(result: dict[str, object], info: dict[str, str], command: str) -> str:
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    lines = [
        f"## `{result['name']}` ({stamp})",
        "",
        f"- input: {result['what']}",
        f"- machine: {info['cpu']}; Python {info['python']}; {info['platform']}",
        f"- versions: {versions()}",
        f"- command: `{command}`",
        f"- result: {summary(result)}",
        "",
        "| process | run | wall (s) | CPU (s) | peak RSS (MiB) | detail | load before "
        "| load after |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for who in ("ours", "peers"):
        runs = result[who]
        assert isinstance(runs, list)
        for i, r in enumerate(runs, start=1):
            lines.append(
                f"| {'scclast' if who == 'ours' else 'scanpy'} | {i} | {r['wall_s']:.1f} "
                f"| {r['cpu_s']:.1f} | {r['peak_rss_mib']:,.0f} | {_detail(r)} "
                f"| {r['load_before']:.2f} | {r['load_after']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def _detail(run: dict[str, object]) -> str:
    if run.get("failed"):
        return f"FAILED ({run['failed'][:120]})"
    if "first_s" in run:
        return f"first {run['first_s']:.2f} s, warm {run['warm_s']:.2f} s"
    if "score_s" in run:
        return (f"read {run['read_s']:.1f} s, score_genes {run['score_s']:.1f} s, "
                f"group stats {run['stats_s']:.1f} s")  # fmt: skip
    flagging = run.get("flagging_s")
    return (
        f"flagging {flagging:.1f} s" if isinstance(flagging, float) and flagging == flagging else ""
    )


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        memory = ""
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores{memory}",
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenario", choices=["example", "cold", "cells", "backed", "first-score", "all"]
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (3)")
    parser.add_argument("--n-cells", type=int, help="cells (cells: 100000, backed: 1000000)")
    parser.add_argument("--out", type=Path, help="append a Markdown section to this file")
    parser.add_argument(
        "--run-args",
        default="",
        help="more `scclast run` options for cells/backed, e.g. '--pseudotime-key pseudotime_true'",
    )
    args = parser.parse_args(argv)
    names = ["example", "cold", "first-score", "cells", "backed"]
    names = names if args.scenario == "all" else [args.scenario]
    info = machine()
    for name in names:
        n_cells = args.n_cells or (1_000_000 if name == "backed" else 100_000)
        print(f"{name}: running ...", flush=True)
        result = scenario(name, args.repeats, n_cells, args.run_args.split())
        print(f"{name}: {summary(result)}", flush=True)
        if args.out:
            command = f"python benchmarks/bench_run.py {name} --repeats {args.repeats}"
            if name in ("cells", "backed"):
                command += f" --n-cells {n_cells}"
                if args.run_args:
                    command += f" --run-args '{args.run_args}'"
            separator = "\n" if args.out.exists() and args.out.stat().st_size else ""
            with open(args.out, "a", encoding="utf-8") as handle:
                handle.write(separator + markdown(result, info, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
