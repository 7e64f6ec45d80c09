"""Figures of :mod:`scclast.pl`: compared with committed reference images and texts.

The figures are drawn from a small hand-made flagged AnnData (:mod:`tests._flagged`:
explicit genes, fixed coordinates), so they change only when the drawing code does.
Every test compares; none writes a reference. After an intended change regenerate the
references with the separate command

    python -m tests.make_baselines

then look at every PNG in tests/baseline_images/ before committing it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images

import scclast
from scclast._errors import ScclastInputError
from scclast.pl._base import save_figure
from scclast.pl._data import primary_gene_set
from scclast.pl._style import FLAG_MARK
from tests._flagged import FLAGGED, GENES, N_CELLS, SETS, flagged_adata
from tests.make_baselines import BASELINES, DPI, FIGURES, TEXTS, figure_texts, stable_style

TOLERANCE = 2
"""RMS over 0-255 pixel values. Changing one label moves a figure by RMS 3.5 to 7, so
this is below that; the texts are also compared exactly beside the image."""

STAR = f"{FLAG_MARK} {FLAGGED}"


@pytest.fixture(scope="module")
def adata():
    return flagged_adata()


@pytest.fixture
def style():
    with stable_style():
        yield


def draw_and_compare(fig: Figure, name: str, folder) -> tuple[str | None, list[str]]:
    """Save ``fig`` as the references were saved; the image verdict and the figure's texts."""
    actual = save_figure(fig, folder, name, dpi=DPI)["png"]
    expected = BASELINES / f"{name}.png"
    assert expected.is_file(), f"no reference {expected}: run python -m tests.make_baselines"
    return compare_images(str(expected), str(actual), tol=TOLERANCE), figure_texts(fig)


def reference_texts(name: str) -> list[str]:
    return json.loads(TEXTS.read_text(encoding="utf-8"))[name]


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_matches_reference_image_and_texts(name, adata, style, tmp_path):
    verdict, texts = draw_and_compare(FIGURES[name](adata), name, tmp_path)
    assert verdict is None, verdict
    assert texts == reference_texts(name)


def test_a_changed_label_is_detected(adata, style, tmp_path):
    """The old tolerance (RMS 15) let a label-only change through; these checks do not."""
    genes = GENES.assign(label=GENES["label"].replace("SLIT3", "SLIT2"))
    fig = scclast.pl.dotplot(adata, genes=genes, return_fig=True)
    verdict, texts = draw_and_compare(fig, "dotplot", tmp_path)
    assert verdict is not None and "RMS" in verdict
    changed = [(old, new) for old, new in zip(reference_texts("dotplot"), texts, strict=True)
               if old != new]  # fmt: skip
    assert changed == [("Slit3", "Slit3 (SLIT2)")]


def test_flagged_group_is_starred_on_every_figure(adata):
    fig = scclast.pl.dotplot(adata, genes=GENES, return_fig=True)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["macrophage", "oc_precursor", STAR, "stromal"]
    effect = scclast.pl.effect_sizes(adata, return_fig=True)
    rows = [t.get_text() for t in effect.axes[0].get_yticklabels()]
    assert rows[2] == f"{STAR}  (osteoclast, n=40)"
    emb = scclast.pl.embedding(adata, return_fig=True)
    texts = [t.get_text() for ax in emb.axes for t in ax.texts]
    assert texts == [STAR, STAR]  # only the flagged group is labelled, on both panels


def test_save_writes_identical_bytes_without_timestamps(adata, tmp_path):
    first = save_figure(scclast.pl.effect_sizes(adata, return_fig=True), tmp_path / "a", "x")
    second = save_figure(scclast.pl.effect_sizes(adata, return_fig=True), tmp_path / "b", "x")
    for kind in ("png", "pdf"):
        assert first[kind].read_bytes() == second[kind].read_bytes()
    assert b"CreationDate" not in first["pdf"].read_bytes()


def test_save_and_return_rule(adata, tmp_path):
    assert scclast.pl.effect_sizes(adata, save=tmp_path / "one.svg") is None
    assert (tmp_path / "one.svg").read_text().lstrip().startswith("<?xml")
    assert scclast.pl.effect_sizes(adata, save=tmp_path / "both") is None
    assert (tmp_path / "both.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "both.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("name", ["dotplot", "factor_heatmap", "effect_sizes"])
def test_one_panel_figures_draw_into_a_given_axes(name, adata):
    fig = Figure(figsize=(14, 6), layout="constrained")
    left, right = fig.subplots(1, 2)
    kwargs = {"genes": GENES} if name != "effect_sizes" else {}
    draw = getattr(scclast.pl, name)
    assert draw(adata, ax=right, **kwargs) is None
    assert draw(adata, ax=left, return_fig=True, **kwargs) is fig
    assert len(fig.axes) == 4  # the two panels and one colour bar beside each
    bar = fig.axes[3]
    assert bar.get_legend() is not None and "flagged" in " ".join(figure_texts(fig))
    assert not fig.get_suptitle()  # the caller's figure keeps its own title
    assert left.get_title(loc="left")
    own = draw(adata, return_fig=True, **kwargs)
    main = own.axes[0]
    assert [t.get_text() for t in left.get_yticklabels()] == [
        t.get_text() for t in main.get_yticklabels()
    ]


def test_embedding_panels_and_a_given_axes(adata):
    both = scclast.pl.embedding(adata, return_fig=True)
    assert [ax.get_title() for ax in both.axes[:2]] == [
        "groups (flagged groups outlined)",
        f"calibrated score: {SETS[0]}",
    ]
    groups_only = scclast.pl.embedding(adata, color="groups", return_fig=True)
    assert len(groups_only.axes) == 1 and groups_only.axes[0].get_legend() is not None
    ax = Figure(layout="constrained").add_subplot()
    fig = scclast.pl.embedding(adata, color=["score"], gene_set=SETS[1], ax=ax, return_fig=True)
    assert fig is ax.figure and len(fig.axes) == 2  # the panel and its colour bar
    assert ax.get_title() == f"calibrated score: {SETS[1]}"
    offsets = np.vstack([c.get_offsets() for c in ax.collections])
    assert len(offsets) > N_CELLS  # every cell, plus the outline of the flagged ones


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"color": "umap"}, "color='umap': name the panels to draw, 'groups', 'score' or both"),
        ({"ax": "AX"}, "ax= takes one panel but color=('groups', 'score') asks for 2: pass "
                       "color='groups' or color='score' with ax, or drop ax"),
        ({"ax": "AX", "color": "score", "figsize": (3, 3)}, "figsize= and ax= given together"),
    ],
    ids=["unknown-panel", "two-panels-one-axes", "figsize-and-ax"],
)  # fmt: skip
def test_embedding_rejects_bad_panel_requests(adata, kwargs, message):
    if kwargs.get("ax") == "AX":
        kwargs = {**kwargs, "ax": Figure().add_subplot()}
    with pytest.raises(ScclastInputError) as caught:
        scclast.pl.embedding(adata, **kwargs)
    assert str(caught.value).startswith(message)


def test_embedding_needs_coordinates(adata):
    bare = adata.copy()
    del bare.obsm["X_umap"]
    with pytest.raises(ScclastInputError) as caught:
        scclast.pl.embedding(bare)
    assert str(caught.value) == (
        "obsm['X_umap'] is missing: compute the embedding first (scclast.tl.umap), or name "
        "the one you have with basis="
    )


def test_figures_read_the_analysis_named_by_key_added(adata):
    """Two analyses in one AnnData: each figure draws the one its key_added names."""
    other = flagged_adata(seed=0, key_added="run2")
    both = adata.copy()
    for column in other.obs.columns.drop("cluster"):
        both.obs[column] = other.obs[column].to_numpy()
    both.obs["run2_clastokines_putative_z"] = -both.obs["run2_clastokines_putative_z"]
    both.uns["run2"] = other.uns["run2"]
    del both.obs["scclast_clastokines_putative_z"]
    fig = scclast.pl.embedding(both, gene_set=SETS[1], key_added="run2", return_fig=True)
    assert fig.axes[1].get_title() == f"calibrated score: {SETS[1]}"
    fig = scclast.pl.embedding(both, gene_set=SETS[1], return_fig=True)
    assert fig.axes[1].get_title() == "no calibrated score recorded"
    with pytest.raises(ScclastInputError) as caught:
        scclast.pl.dotplot(both, key_added="run3")
    assert str(caught.value).startswith(  # the rest (where else it was found) is _keys'
        "adata.uns['run3']['flag'] is missing: run scclast.tl.flag first (with key_added='run3')"
    )


def test_primary_gene_set():
    table = pd.DataFrame(
        {"gene_set": ["a", "b", "a", "b"], "flagged": [False, True, False, False],
         "auroc": [0.95, 0.7, 0.5, 0.6]}
    )  # fmt: skip
    assert primary_gene_set(table) == "b"  # flagged beats a higher AUROC
    assert primary_gene_set(table.assign(flagged=False)) == "a"  # then the highest AUROC
    assert primary_gene_set(table.iloc[:0]) is None


def test_data_without_clastokine_genes_gives_a_message_figure(adata):
    other = adata[:, [g for g in adata.var_names if g.startswith("Bg")]].copy()
    fig = scclast.pl.dotplot(other, genes=GENES, return_fig=True)
    assert fig.axes[0].texts[0].get_text() == (
        "None of the catalogue's clastokine genes is in the data."
    )
    ax = Figure().add_subplot()
    scclast.pl.factor_heatmap(other, genes=GENES, ax=ax)
    assert ax.texts[0].get_text().startswith("None of the catalogue's")


def test_default_genes_come_from_the_catalogue(adata):
    fig = scclast.pl.dotplot(adata, return_fig=True)
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "Slit3" in rows and "Sema4d" in rows
    assert "Bg0" not in rows
    assert fig.axes[0].get_xlabel() == "cluster"


def test_figures_show_inline_in_a_notebook_as_png(monkeypatch):
    """Figures are made without pyplot: in Jupyter they must be sent as PNG, not as a
    bare ``Figure`` object (which prints ``<Figure size ...>`` there)."""
    display_module = pytest.importorskip("IPython.display")
    from matplotlib.figure import Figure

    from scclast.pl import _base

    shown = []
    monkeypatch.setattr(_base, "_in_notebook", lambda: True)
    monkeypatch.setattr(display_module, "display", lambda obj: shown.append(obj))
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    assert _base.finish(fig, return_fig=False, save=None) is None
    assert len(shown) == 1 and isinstance(shown[0], display_module.Image)
    assert shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
