"""A SYNTHETIC two-condition example: 3 control and 3 treated animals (simulated).

:func:`example_conditions` loads ``data/example_conditions.h5ad``, which
:func:`simulate_osteoclastogenesis` made with :data:`CONDITIONS_SETTINGS` (seeded; the
test suite compares the shipped file with a fresh simulation, so it cannot drift).
Regenerate it with :func:`write_example_conditions` after a deliberate change to the
simulator (``python -c "from scclast.datasets._example_conditions import
write_example_conditions as w; w()"``). Shipped as a file, like
:func:`scclast.datasets.example`, so that ``scclast run --dataset example_conditions`` and
the workflow's ``datasets:`` load it through the registry, with its stored UMAP.

What is planted (the answers a condition comparison should give):

* the clastokine programme is raised 2x in the osteoclasts (``cluster == "2"``) of the
  treated animals (``animal4``-``animal6``);
* the osteoclasts' expected share of cells is doubled in the treated animals;
* the clastokine programme is raised 3x in the precursors (``cluster == "1"``) of one
  treated animal only (``animal5``): not a condition effect, and not to be called one;
* animals differ in depth, composition (Dirichlet, concentration 100) and per-gene level
  (log-normal spread 0.1), so the samples carry real between-animal variance.

With six animals, chance differences between them can reach significance for a gene or set
that was not planted (seed 0 shows one: a 1.14x gene set). Seed 3 was chosen among seeds
0-3 as one whose animals show none and whose macrophages' share falls visibly beside the
osteoclasts' rise (shares are relative), so the example's answers are the planted ones;
the calibration tests measure how often chance calls happen.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from scclast.datasets._make_example import make_example

if TYPE_CHECKING:
    import anndata as ad

CONDITIONS_NAME = "example_conditions"

CONDITIONS_SETTINGS = {
    "n_cells": 3000,
    "n_genes": 1500,
    "seed": 3,
    "dataset": CONDITIONS_NAME,
    "n_samples": 6,
    "conditions": {
        "control": ["animal1", "animal2", "animal3"],
        "treated": ["animal4", "animal5", "animal6"],
    },
    "sample_gene_sd": 0.1,
    "composition_concentration": 100.0,
    "condition_effects": [
        {"programme": "clastokines", "states": ["osteoclast"], "fold": 2.0, "condition": "treated"}
    ],
    "composition_shift": {"treated": {"osteoclast": 2.0}},
    "programme_effects": [
        {
            "programme": "clastokines",
            "states": ["oc_precursor"],
            "fold": 3.0,
            "samples": ["animal5"],
        }
    ],
}
"""Arguments of :func:`simulate_osteoclastogenesis` for the two-condition example."""


def example_conditions_path() -> Path:
    """Where the two-condition example lives inside the package."""
    return Path(
        str(resources.files("scclast.datasets").joinpath("data", f"{CONDITIONS_NAME}.h5ad"))
    )


def example_conditions() -> ad.AnnData:
    """A SYNTHETIC two-condition dataset: 3 control and 3 treated animals (no network).

    3,000 simulated mouse cells x 1,500 genes from six animals (``obs["sample"]``,
    ``animal1``-``animal6``) in two conditions (``obs["condition"]``: ``control``,
    ``treated``), made by :func:`scclast.datasets.simulate_osteoclastogenesis` (seed 3).
    Planted: the clastokine programme 2x in the treated animals' osteoclasts
    (``obs["cluster"] == "2"``), the osteoclasts' share of cells doubled in the treated
    animals, and a 3x clastokine change in the precursors (cluster ``"1"``) of one treated
    animal only (not a condition effect). The counts are simulated, not measured:
    ``uns["scclast_simulation"]`` holds the statement, seed and every parameter.

    Compare the conditions with ``scclast run --dataset example_conditions --groupby
    cluster --sample-key sample --condition condition --reference control``, or
    :func:`scclast.tl.compare_conditions`.

    Examples
    --------
    >>> adata = example_conditions()
    >>> adata.uns["scclast_simulation"]["synthetic"]
    True
    >>> adata.obs.groupby("condition", observed=True)["sample"].nunique().to_dict()
    {'control': 3, 'treated': 3}
    """
    from scclast.datasets import load

    return load(CONDITIONS_NAME)


def write_example_conditions(path: str | Path | None = None) -> Path:
    """Simulate the two-condition example, store its UMAP and write it (gzip h5ad).

    ``path=None`` writes the bundled file (:func:`example_conditions_path`).
    """
    return make_example(path or example_conditions_path(), CONDITIONS_SETTINGS)
