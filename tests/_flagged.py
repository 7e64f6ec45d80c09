"""A small flagged AnnData made by hand, stored the way :func:`scclast.tl.flag` stores it.

The figures and outputs drawn from it change only when the drawing or writing code
does, never when the statistics of flagging change: the flagging table, the per-cell
scores and the record are written directly (through :class:`scclast._keys.Keys`), and
read back by the code under test through :mod:`scclast.get`.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._groups import table_for_uns
from scclast._keys import DEFAULT_KEY, Keys, Step

GENES = pd.DataFrame(
    [
        ("Efnb2", "efnb2", "EFNB2", "membrane_bound", "anabolic"),
        ("Tgfb1", "tgfb1", "TGF-β1", "matrix_derived", "anabolic"),
        ("Igf1", "igf1", "IGF-1", "matrix_derived", "anabolic"),
        ("Sphk1", "s1p", "S1P", "secreted", "anabolic"),
        ("Spns2", "s1p", "S1P", "secreted", "anabolic"),
        ("Wnt10b", "wnt10b", "WNT10B", "secreted", "anabolic"),
        ("Slit3", "slit3", "SLIT3", "secreted", "anabolic"),
        ("Lif", "lif", "LIF", "secreted", "anabolic"),
        ("Pdgfb", "pdgfb", "PDGF-BB", "putative", "controversial"),
        ("Cxcl16", "cxcl16", "CXCL16", "putative", "anabolic"),
        ("Sema4d", "sema4d", "SEMA4D", "inhibitory", "inhibitory"),
    ],
    columns=["gene", "factor", "label", "category", "effect"],
)
"""The genes the grid figures draw (a subset of the catalogue, fixed here)."""

GROUPS = {"macrophage": 60, "oc_precursor": 50, "oc_secretory": 40, "stromal": 50}
STATES = {
    "macrophage": "macrophage",
    "oc_precursor": "oc_precursor",
    "oc_secretory": "osteoclast",
    "stromal": "non-lineage",
}
CENTRES = {"macrophage": (0, 0), "oc_precursor": (4, 1), "oc_secretory": (8, 0), "stromal": (2, 7)}
SETS = ("clastokines_secreted", "clastokines_putative")
FLAGGED = "oc_secretory"
N_CELLS = sum(GROUPS.values())


def flagged_adata(seed: int = 0, key_added: str = DEFAULT_KEY) -> ad.AnnData:
    """Counts, a UMAP, lineage states, scores and a flagging record under ``key_added``.

    ``oc_secretory`` is flagged for ``clastokines_secreted``; the other rows are not.
    """
    rng = np.random.default_rng(seed)
    keys = Keys(key_added)
    genes = [*GENES["gene"], *(f"Bg{i}" for i in range(30))]
    counts, coords, labels = [], [], []
    for group, n in GROUPS.items():
        rate = np.full(len(genes), 1.0)
        if group == FLAGGED:
            rate[: len(GENES)] = rng.uniform(3, 8, len(GENES))
        if group == "stromal":
            rate[[1, 2]] = 6.0
        counts.append(rng.poisson(rate, (n, len(genes))))
        coords.append(rng.normal(CENTRES[group], 0.8, (n, 2)))
        labels += [group] * n
    obs = pd.DataFrame(
        {"cluster": pd.Categorical(labels, categories=list(GROUPS))},
        index=[f"cell{i}" for i in range(len(labels))],
    )
    adata = ad.AnnData(sp.csr_matrix(np.vstack(counts).astype(np.float32)), obs=obs)
    adata.var_names = genes
    adata.obsm["X_umap"] = np.vstack(coords)
    z = rng.normal(0.0, 1.0, adata.n_obs)
    in_flagged = (obs["cluster"] == FLAGGED).to_numpy()
    z[in_flagged] += 3.0
    columns: dict[str, str] = {}
    for name in SETS:
        adata.obs[keys.score(name)] = z * 0.1
        adata.obs[keys.z(name)] = z
        columns[name] = keys.score(name)
        columns[f"{name}_z"] = keys.z(name)
    adata.obs[keys.lineage_state] = pd.Categorical([STATES[g] for g in labels])
    adata.obs[keys.flagged] = in_flagged
    columns["flagged"] = keys.flagged
    keys.store(
        adata,
        Step.FLAG,
        {
            "groupby": "cluster",
            "species_used": "mouse",
            "parameters": {
                "groupby": "cluster",
                "key_added": key_added,
                "thresholds": {"fdr": 0.05, "min_auroc": 0.6},
            },
            "table": table_for_uns(_table(rng)),
            "columns": columns,
            "sets": {
                name: {"genes_found": list(GENES["gene"]), "genes_missing": []} for name in SETS
            },
            "message": "",
        },
    )
    return adata


def _table(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for group, n in GROUPS.items():
        for name in SETS:
            hit = group == FLAGGED and name == SETS[0]
            auroc = 0.93 if hit else float(np.round(rng.uniform(0.3, 0.6), 3))
            rows.append(
                {
                    "group": group,
                    "n_cells": n,
                    "lineage_state": STATES[group],
                    "gene_set": name,
                    "reference": "other lineage groups",
                    "mean_score": auroc - 0.5,
                    "auroc": auroc,
                    "pvalue": 1e-9 if hit else 0.4,
                    "fdr": 1e-8 if hit else 0.6,
                    "nes": 2.1 if hit else 0.1,
                    "flagged": hit,
                    "reasons": "flagged: AUROC 0.93" if hit else "not flagged",
                }
            )
    return pd.DataFrame(rows)
