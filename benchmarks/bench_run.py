"""Time ``scclast run --example -o OUT``: wall time and peak memory, as a user runs it.

Usage::

    python benchmarks/bench_run.py                 # 3 runs, one line each on stdout
    python benchmarks/bench_run.py --repeats 5 --out benchmarks/RUN_BENCHMARK.md

Each run is a fresh ``python -m scclast run --example`` process writing into a new
temporary folder, exactly the README's main command: imports, numba compilation (UMAP's
kernels are compiled in every process), the embedding, scoring and flagging, figures
and the report all count. Peak RSS is the child's ``ru_maxrss`` (from ``os.wait4``).
The 1-minute load average before and after each run is recorded, because other work on
a shared machine slows a run down. The target (issue 6) is under 60 s on 2 cores.

``--out`` appends a section (machine, versions, per-run times, median) to a Markdown
file; nothing is written there otherwise.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

TARGET_S = 60.0
PACKAGES = ("scclast", "scanpy", "anndata", "umap-learn", "numba", "gseapy", "matplotlib")


def run_once(workdir: Path) -> dict[str, float]:
    """One ``scclast run --example`` in ``workdir``: wall seconds, peak RSS (MiB), load."""
    out = workdir / "out"
    env = {**os.environ, "SCCLAST_NO_PROGRESS": "1"}
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "scclast", "-q", "run", "--example", "-o", str(out)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stderr = child.stderr.read().decode() if child.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not (out / "report.html").is_file():
        raise SystemExit(f"scclast run failed (exit {code}):\n{stderr}")
    return {
        "wall_s": wall,
        "peak_rss_mib": usage.ru_maxrss / 1024.0,  # Linux reports KiB
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores" + (f", {memory}" if memory else ""),
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


def describe(runs: list[dict[str, float]]) -> str:
    walls = [r["wall_s"] for r in runs]
    return (
        f"median {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}; "
        f"{len(runs)} runs), peak RSS {max(r['peak_rss_mib'] for r in runs):.0f} MiB, "
        f"target < {TARGET_S:.0f} s: {'met' if statistics.median(walls) < TARGET_S else 'MISSED'}"
    )


def markdown(runs: list[dict[str, float]], info: dict[str, str]) -> str:
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    lines = [
        f"## `scclast run --example -o out` ({stamp})",
        "",
        f"- machine: {info['cpu']}; Python {info['python']}; {info['platform']}",
        f"- versions: {versions()}",
        "- command: `python benchmarks/bench_run.py` (each run a fresh process, "
        "`scclast -q run --example -o out`)",
        f"- result: {describe(runs)}",
        "",
        "| run | wall (s) | CPU (s) | peak RSS (MiB) | load before | load after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for i, r in enumerate(runs, start=1):
        lines.append(
            f"| {i} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mib']:.0f} "
            f"| {r['load_before']:.2f} | {r['load_after']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="number of runs (default 3)")
    parser.add_argument("--out", type=Path, help="append a Markdown section to this file")
    args = parser.parse_args(argv)
    runs = []
    for i in range(args.repeats):
        workdir = Path(tempfile.mkdtemp(prefix="scclast-bench-run-"))
        try:
            result = run_once(workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        runs.append(result)
        print(
            f"run {i + 1}: {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} s CPU, "
            f"peak RSS {result['peak_rss_mib']:.0f} MiB (load {result['load_before']:.2f})",
            flush=True,
        )
    print(f"scclast run --example: {describe(runs)}")
    if args.out:
        separator = "\n" if args.out.exists() and args.out.stat().st_size else ""
        with open(args.out, "a", encoding="utf-8") as handle:
            handle.write(separator + markdown(runs, machine()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
