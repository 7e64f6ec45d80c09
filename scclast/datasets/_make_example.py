"""Regenerate the bundled SYNTHETIC example, ``data/example_osteoclastogenesis.h5ad``.

Run ``python -m scclast.datasets._make_example`` after a deliberate change to the
simulator (tests compare the shipped file with a fresh simulation from the parameters
it records, so it cannot drift silently).
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import anndata as ad

from scclast.datasets._simulate import simulate_osteoclastogenesis

EXAMPLE_NAME = "example_osteoclastogenesis"
EXAMPLE_SETTINGS = {"n_cells": 3000, "n_genes": 2500, "seed": 0, "dataset": EXAMPLE_NAME}
"""Arguments of :func:`simulate_osteoclastogenesis` for the bundled example."""


def example_path() -> Path:
    """Where the bundled example lives inside the package."""
    return Path(str(resources.files("scclast.datasets").joinpath("data", f"{EXAMPLE_NAME}.h5ad")))


def make_example(path: str | Path | None = None) -> Path:
    """Simulate the example and write it as a gzip-compressed h5ad.

    Examples
    --------
    >>> import tempfile
    >>> out = make_example(Path(tempfile.mkdtemp()) / "ex.h5ad")
    >>> ad.read_h5ad(out).uns["scclast_simulation"]["seed"] == EXAMPLE_SETTINGS["seed"]
    True
    """
    target = Path(path) if path is not None else example_path()
    adata: ad.AnnData = simulate_osteoclastogenesis(**EXAMPLE_SETTINGS)
    target.parent.mkdir(parents=True, exist_ok=True)
    adata.write_h5ad(target, compression="gzip")
    return target


if __name__ == "__main__":  # pragma: no cover
    written = make_example(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")
