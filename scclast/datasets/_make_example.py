"""Regenerate the bundled SYNTHETIC example, ``data/example_osteoclastogenesis.h5ad``.

Run ``python -m scclast.datasets._make_example`` after a deliberate change to the
simulator (tests compare the shipped file with a fresh simulation from the parameters
it records, so it cannot drift silently).

The example ships with its 2-D embedding, as scanpy ships its processed datasets:
``obsm["X_umap"]`` is computed here by :func:`scclast.tl.umap` (seeded; its record is in
``uns["scclast"]["embedding"]``), so ``scclast run --example`` uses it instead of
spending most of its time computing (and numba-compiling) a UMAP in every new process.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import anndata as ad

from scclast.datasets._simulate import simulate_osteoclastogenesis

EXAMPLE_NAME = "example_osteoclastogenesis"
EXAMPLE_SETTINGS = {
    "n_cells": 3000,
    "n_genes": 2500,
    "seed": 0,
    "dataset": EXAMPLE_NAME,
    # four animals, so the example's flags are replicate-backed (samples are the unit)
    "n_samples": 4,
    "sample_gene_sd": 0.1,
    # osteoblast-lineage receivers, so the coupling map has someone to talk to
    "extra_states": {"osteoprogenitor": 0.05, "osteoblast": 0.05, "osteocyte": 0.04},
    # a continuous macrophage -> osteoclast axis, so the differentiation section has an order
    "continuous": True,
}
"""Arguments of :func:`simulate_osteoclastogenesis` for the bundled example."""

EMBEDDING_SETTINGS = {"seed": 0}
"""Arguments of :func:`scclast.tl.umap` for the bundled example's stored embedding."""


def example_path() -> Path:
    """Where the bundled example lives inside the package."""
    return Path(str(resources.files("scclast.datasets").joinpath("data", f"{EXAMPLE_NAME}.h5ad")))


def make_example(
    path: str | Path | None = None,
    settings: Mapping[str, Any] = EXAMPLE_SETTINGS,
    embedding: Mapping[str, Any] | None = EMBEDDING_SETTINGS,
) -> Path:
    """Simulate the example, store its UMAP, and write it as a gzip-compressed h5ad.

    Parameters
    ----------
    path
        Where to write; default: the bundled file (:func:`example_path`).
    settings
        Arguments of :func:`scclast.datasets.simulate_osteoclastogenesis`.
    embedding
        Arguments of :func:`scclast.tl.umap`; ``None``: no stored embedding.

    Examples
    --------
    >>> import tempfile
    >>> small = {**EXAMPLE_SETTINGS, "n_cells": 300, "n_genes": 600}
    >>> out = make_example(Path(tempfile.mkdtemp()) / "ex.h5ad", small, embedding=None)
    >>> ad.read_h5ad(out).uns["scclast_simulation"]["seed"] == EXAMPLE_SETTINGS["seed"]
    True
    """
    target = Path(path) if path is not None else example_path()
    adata: ad.AnnData = simulate_osteoclastogenesis(**settings)
    if embedding is not None:
        from scclast.tl import umap

        umap(adata, **embedding)
    target.parent.mkdir(parents=True, exist_ok=True)
    adata.write_h5ad(target, compression="gzip")
    return target


if __name__ == "__main__":  # pragma: no cover
    written = make_example(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")
