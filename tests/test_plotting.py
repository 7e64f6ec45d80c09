"""Figures of `scclast run`: compared with committed reference images.

The figures are drawn from a small hand-made AnnData and flagging table (explicit genes,
fixed coordinates), so they change only when the drawing code does. To regenerate the
references after an intended change:

    SCCLAST_UPDATE_BASELINES=1 python -m pytest tests/test_plotting.py

then look at every PNG in tests/baseline_images/ before committing it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import anndata as ad
import matplotlib
import matplotlib.style
import matplotlib.testing
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from matplotlib.testing.compare import compare_images

from scclast import plotting

BASELINES = Path(__file__).resolve().parent / "baseline_images"
UPDATE = os.environ.get("SCCLAST_UPDATE_BASELINES", "") not in ("", "0")
TOLERANCE = 15  # RMS over 0-255 pixel values, as scanpy's image tests

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
GROUPS = {"macrophage": 60, "oc_precursor": 50, "oc_secretory": 40, "stromal": 50}
STATES = {
    "macrophage": "macrophage",
    "oc_precursor": "oc_precursor",
    "oc_secretory": "osteoclast",
    "stromal": "non-lineage",
}
CENTRES = {"macrophage": (0, 0), "oc_precursor": (4, 1), "oc_secretory": (8, 0), "stromal": (2, 7)}
SETS = ("clastokines_secreted", "clastokines_putative")


def make_run(seed: int = 0) -> tuple[ad.AnnData, pd.DataFrame]:
    """A scored and flagged AnnData (counts, UMAP, states, z-scores) and its table."""
    rng = np.random.default_rng(seed)
    genes = [*GENES["gene"], *(f"Bg{i}" for i in range(30))]
    counts, coords, labels = [], [], []
    for group, n in GROUPS.items():
        rate = np.full(len(genes), 1.0)
        if group == "oc_secretory":
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
    obs["scclast_lineage_state"] = pd.Categorical([STATES[g] for g in labels])
    adata = ad.AnnData(sp.csr_matrix(np.vstack(counts).astype(np.float32)), obs=obs)
    adata.var_names = genes
    adata.obsm["X_umap"] = np.vstack(coords)
    z = rng.normal(0.0, 1.0, adata.n_obs)
    z[(obs["cluster"] == "oc_secretory").to_numpy()] += 3.0
    for name in SETS:
        adata.obs[f"scclast_{name}"] = z * 0.1
        adata.obs[f"scclast_{name}_z"] = z
    adata.uns["scclast"] = {"flag": {"parameters": {"groupby": "cluster", "fdr": 0.05}}}
    rows = []
    for group, n in GROUPS.items():
        for name in SETS:
            hit = group == "oc_secretory" and name == SETS[0]
            auroc = 0.93 if hit else float(np.round(rng.uniform(0.3, 0.6), 3))
            rows.append(
                {
                    "group": group,
                    "n_cells": n,
                    "lineage_state": STATES[group],
                    "gene_set": name,
                    "mean_score": auroc - 0.5,
                    "auroc": auroc,
                    "pvalue": 1e-9 if hit else 0.4,
                    "fdr": 1e-8 if hit else 0.6,
                    "nes": 2.1 if hit else 0.1,
                    "flagged": hit,
                    "reasons": "flagged: AUROC 0.93" if hit else "not flagged",
                }
            )
    return adata, pd.DataFrame(rows)


@pytest.fixture(scope="module")
def run_data() -> tuple[ad.AnnData, pd.DataFrame]:
    return make_run()


@pytest.fixture
def stable_style():
    """Default style and the test font settings, so images do not depend on the machine."""
    with matplotlib.rc_context():
        matplotlib.style.use("default")
        matplotlib.testing.set_font_settings_for_testing()
        yield


DRAWERS = {
    "dotplot": lambda a, t: plotting.dotplot(a, t, genes=GENES),
    "embedding": lambda a, t: plotting.embedding(a, t),
    "factor_heatmap": lambda a, t: plotting.factor_heatmap(a, t, genes=GENES),
    "effect_sizes": lambda a, t: plotting.effect_sizes(a, t),
}


@pytest.mark.parametrize("name", list(DRAWERS))
def test_figure_matches_reference_image(name, run_data, stable_style, tmp_path):
    adata, table = run_data
    fig = DRAWERS[name](adata, table)
    actual = plotting.save_figure(fig, tmp_path, name, dpi=80)["png"]
    expected = BASELINES / f"{name}.png"
    if UPDATE:
        BASELINES.mkdir(exist_ok=True)
        shutil.copyfile(actual, expected)
    assert expected.exists(), f"no reference image {expected}: run with SCCLAST_UPDATE_BASELINES=1"
    result = compare_images(str(expected), str(actual), tol=TOLERANCE)
    assert result is None, result


def test_figures_mark_the_flagged_group(run_data):
    adata, table = run_data
    fig = plotting.dotplot(adata, table, genes=GENES)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert f"{plotting.FLAG_MARK} oc_secretory" in labels
    assert "macrophage" in labels
    effect = plotting.effect_sizes(adata, table)
    rows = [t.get_text() for t in effect.axes[0].get_yticklabels()]
    assert any(r.startswith(f"{plotting.FLAG_MARK} oc_secretory") for r in rows)
    emb = plotting.embedding(adata, table)
    texts = [t.get_text() for ax in emb.axes for t in ax.texts]
    assert f"{plotting.FLAG_MARK} oc_secretory" in texts
    assert not any("macrophage" == t for t in texts)  # only flagged groups are labelled


def test_save_figure_writes_identical_bytes(run_data, tmp_path):
    adata, table = run_data
    first = plotting.save_figure(plotting.effect_sizes(adata, table), tmp_path / "a", "x")
    second = plotting.save_figure(plotting.effect_sizes(adata, table), tmp_path / "b", "x")
    for kind in ("png", "pdf"):
        assert first[kind].read_bytes() == second[kind].read_bytes()
    assert b"CreationDate" not in first["pdf"].read_bytes()


def test_group_expression_is_mean_of_log_normalised_counts(run_data):
    adata, _ = run_data
    mean, fraction = plotting.group_expression(adata, ["Slit3", "Nope", "Lif"], "cluster")
    assert list(mean.columns) == ["Slit3", "Lif"]
    x = adata.X.toarray()
    norm = np.log1p(x / x.sum(axis=1, keepdims=True) * 1e4)
    col = list(adata.var_names).index("Slit3")
    in_group = (adata.obs["cluster"] == "stromal").to_numpy()
    assert mean.loc["stromal", "Slit3"] == pytest.approx(norm[in_group, col].mean())
    assert fraction.loc["stromal", "Slit3"] == pytest.approx((x[in_group, col] > 0).mean())


def test_flagged_groups_and_primary_gene_set(run_data):
    _, table = run_data
    assert plotting.flagged_groups(table) == ["oc_secretory"]
    assert plotting.primary_gene_set(table) == "clastokines_secreted"
    nothing = table.assign(flagged=False)
    assert plotting.flagged_groups(nothing) == []
    assert plotting.primary_gene_set(nothing) in SETS


def test_data_without_clastokine_genes_gives_a_message_figure(run_data):
    adata, table = run_data
    other = adata[:, [g for g in adata.var_names if g.startswith("Bg")]].copy()
    fig = plotting.dotplot(other, table, genes=GENES)
    assert "None of the catalogue's clastokine genes" in fig.axes[0].texts[0].get_text()


def test_embedding_needs_coordinates(run_data):
    adata, table = run_data
    bare = adata.copy()
    del bare.obsm["X_umap"]
    with pytest.raises(KeyError, match="X_umap"):
        plotting.embedding(bare, table)


def test_all_figures_writes_png_and_pdf(run_data, tmp_path):
    adata, table = run_data
    written = plotting.all_figures(adata, table, tmp_path, genes=GENES)
    assert list(written) == list(plotting.FIGURE_NAMES)
    for name, png in written.items():
        assert png == tmp_path / f"{name}.png" and png.stat().st_size > 10_000
        assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF")


def test_catalogue_genes_are_annotated():
    genes = plotting.catalogue_genes("human")
    assert list(genes.columns) == ["gene", "factor", "label", "category", "effect"]
    assert set(genes["effect"]) <= {"anabolic", "inhibitory", "controversial"}
    assert "SLIT3" in set(genes["gene"]) and genes["gene"].is_unique
