# %% [markdown]
# # scclast from Python: load, score, flag, plot
#
# A notebook-style walkthrough of the import API on the bundled example data set
# (SYNTHETIC osteoclastogenesis: macrophages, osteoclast precursors, osteoclasts, a
# secretory osteoclast population and stromal cells; offline, seeded). Each `# %%` cell
# runs in Jupyter (jupytext/VS Code "percent" format) or top to bottom as a script:
#
#     python examples/01_notebook_api.py
#
# It writes its figures to `figures/` in the working directory. As in scanpy, the
# analyses (`scclast.tl`) write into the AnnData and return `None`; tables come from
# `scclast.get`, figures from `scclast.pl`.

# %%
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; drop this line in a notebook

import scclast

print("scclast", scclast.__version__, "- catalogue", scclast.genesets.catalogue_version())

# %% [markdown]
# ## 1. Load a dataset
# `scclast.datasets.example()` is bundled; `scclast.datasets.load(KEY)` fetches a registry
# dataset once (`scclast datasets list`). Counts are raw; `obs["cluster"]` holds the groups.

# %%
adata = scclast.datasets.example()
print(adata)
print(adata.obs["cluster"].value_counts().sort_index().to_string())

# %% [markdown]
# ## 2. Score every cell for the clastokine gene sets
# One `obs` column per set (`scclast_<set>`; the root is `key_added`), with the
# parameters, versions and the genes found recorded in `adata.uns["scclast"]["score"]`.
# Raw counts are normalised on the fly.

# %%
sets = ["clastokines_secreted", "clastokines_putative", "coupling_inhibitory"]
scclast.tl.score(adata, sets, method="ucell", species="mouse")
scores = scclast.get.scores(adata)
print(scores.groupby(adata.obs["cluster"], observed=True).mean().round(3).to_string())

# %% [markdown]
# ## 3. Flag candidate secretory osteoclast-lineage populations
# `scclast.tl.flag` calls a lineage state per group (myeloid gate first), calibrates every
# cell's score against matched control gene sets, and tests each group at the chosen FDR,
# with a leave-one-factor-out robustness check and gseapy prerank as second evidence.
# It also writes the uncalibrated per-cell scores of its sets (`method`, as in step 2)
# and the calibrated ones (`scclast_<set>_z`, `scclast_<set>_pval`). The table, one row
# per group and gene set, comes from `scclast.get.flag_table`.

# %%
scclast.tl.flag(adata, groupby="cluster", species="mouse", method="ucell", seed=0)
table = scclast.get.flag_table(adata)
shown = ["group", "n_cells", "lineage_state", "gene_set", "auroc", "fdr", "flagged"]
print(table[shown].to_string(index=False, float_format=lambda x: f"{x:.3g}"))
for row in table.loc[table["flagged"]].itertuples():
    print(f"group {row.group} ({row.lineage_state}), {row.gene_set}: {row.reasons}")

# %% [markdown]
# ## 4. Plot
# Every figure reads the flag results from the AnnData. `save=` writes PNG and PDF
# (no suffix) or one file (`.png`, `.pdf`, `.svg`); `return_fig=True` returns the figure,
# and `ax=` draws into an Axes of your own figure.

# %%
figures = Path("figures")
for name, draw in {
    "dotplot": scclast.pl.dotplot,
    "effect_sizes": scclast.pl.effect_sizes,
    "factor_heatmap": scclast.pl.factor_heatmap,
}.items():
    draw(adata, save=figures / name)
    print("wrote", figures / f"{name}.png")

# %% [markdown]
# ## 5. The whole pipeline in one call
# `scclast.run` does all of the above (plus the embedding and the HTML report) and writes
# a folder: the same as `scclast run --example -o scclast_example` on the command line.
#
#     result = scclast.run(example=True, outdir="scclast_example", force=True)
#     result.flagged_groups  # ['3']
