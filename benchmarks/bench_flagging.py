"""False-flag rate and power of ``scclast.tl.flag`` on replicate scenarios.

Each seed simulates four animals (1,500 cells x 800 genes by default) with animal-level
depth, composition and gene noise and state-dependent background
(:func:`scclast.testing.simulate_replicates`), flags with the groups of the true states
(``cluster``), and counts the runs in which a group is flagged:

* ``null``: no clastokine difference between lineage states: any flag is false;
* ``baseline``: the simulator's osteoclast states carry clastokines 1.5-fold: the rate
  at which the osteoclast clusters are flagged;
* ``one_animal``: the programme 4-fold in the secretory cluster of one animal: any flag
  of that cluster is false (one animal is not a population);
* ``consistent``: the programme 2-fold in the secretory cluster of every animal
  (about 40 cells per animal): power.

Run: ``python benchmarks/bench_flagging.py --seeds 100`` (``--no-sample-key`` to see the
cell-level, exploratory answer on the same data).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from scclast import get, tl
from scclast.testing import simulate_replicates
from scclast.testing._flagging import REPLICATE_SCENARIOS, SECRETORY_GROUP


def flagged_groups(scenario: str, seed: int, sample_key: str | None, **kwargs) -> list[str]:
    """The groups flagged in one simulated run."""
    n_cells = 2000 if scenario in ("one_animal", "consistent") else 1500
    adata = simulate_replicates(scenario, seed=seed, n_cells=n_cells, **kwargs)
    tl.flag(adata, "cluster", sample_key=sample_key, enrichment=False, seed=seed)
    return get.flagged_groups(adata)


def rate(hits: int, n: int) -> str:
    """A rate with its exact (Clopper-Pearson) 95% interval."""
    low = stats.beta.ppf(0.025, hits, n - hits + 1) if hits else 0.0
    high = stats.beta.ppf(0.975, hits + 1, n - hits) if hits < n else 1.0
    return f"{hits}/{n} = {hits / n:.1%} (95% CI {low:.1%}-{high:.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--scenarios", nargs="+", default=list(REPLICATE_SCENARIOS))
    parser.add_argument("--no-sample-key", action="store_true")
    args = parser.parse_args()
    sample_key = None if args.no_sample_key else "sample"
    for scenario in args.scenarios:
        started = time.perf_counter()
        hits = 0
        secretory = 0
        for seed in range(args.seeds):
            groups = flagged_groups(scenario, seed, sample_key)
            hits += bool(groups)
            secretory += SECRETORY_GROUP in groups
        seconds = (time.perf_counter() - started) / args.seeds
        print(
            f"{scenario:>11}: any group flagged {rate(hits, args.seeds)}; "
            f"secretory cluster flagged {rate(secretory, args.seeds)}; {seconds:.2f} s/seed",
            flush=True,
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
