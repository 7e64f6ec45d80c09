"""Write the local sample of the workflow's test config: ``data/bone_marrow.h5ad``.

The bundled bone-marrow data (Baccin et al. 2020; 180 cells, no osteoclasts), with a
stored 2-D embedding, as users' files often carry one, so that ``prepare`` keeps it
(the example input exercises the computed one).

    python workflows/.test/make_data.py [WORKDIR]    # default: the current folder
"""

from __future__ import annotations

import sys
from pathlib import Path

SAMPLE = Path("data") / "bone_marrow.h5ad"
"""Where the test config expects the sample, relative to the working directory."""

GROUPBY = "celltype"
"""The sample's groups column (the test config's ``groupby``)."""


def write_sample(workdir: str | Path = ".") -> Path:
    """Write the sample under ``workdir`` and return its path."""
    import numpy as np
    import scanpy as sc

    from scclast import _workflow, datasets

    adata = datasets.bone_marrow_baccin2020()
    if GROUPBY not in adata.obs:
        raise SystemExit(f"the bone-marrow data lost its {GROUPBY!r} column: update {__file__}")
    logged = sc.pp.log1p(adata.X.astype(np.float64), copy=True)
    adata.obsm["X_umap"] = sc.pp.pca(logged, n_comps=2, random_state=0)
    return _workflow.write_h5ad(adata, Path(workdir) / SAMPLE)


if __name__ == "__main__":
    print(write_sample(sys.argv[1] if len(sys.argv) > 1 else "."))
