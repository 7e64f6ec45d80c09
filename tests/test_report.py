"""The HTML report: parsed, never eyeballed."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from scclast._pipeline._report import write_report
from scclast._pipeline._sections import Results, Section
from scclast._pipeline._sections._answer import answer_sentences
from scclast._pipeline._sections._flagging import FIGURES, FLAGGING
from scclast.pl._base import save_figure

FIGURE_NAMES = [spec.name for spec in FIGURES]


class Page(HTMLParser):
    """Collects what the tests look at: text, images, links, sections, tags."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: dict[str, dict[str, str]] = {}
        self.urls: list[str] = []
        self.sections: list[str] = []
        self.tags: list[str] = []
        self.groups: list[str] = []
        self.chunks: list[str] = []
        self.feed(text)
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "img":
            self.images[values.get("id", "")] = values
        for key in ("src", "href"):
            if key in values:
                self.urls.append(values[key])
        if tag == "section":
            self.sections.append(values.get("id", ""))
        if "data-group" in values:
            self.groups.append(values["data-group"])

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def table(flagged: bool = True, group: str = "oc_secretory") -> pd.DataFrame:
    rows = []
    for name, state, n in (
        (group, "osteoclast", 250),
        ("mac", "macrophage", 900),
        ("stromal", "non-lineage", 400),
    ):
        hit = flagged and name == group
        near = name == "mac"
        rows.append(
            {
                "group": name,
                "n_cells": n,
                "lineage_state": state,
                "gene_set": "clastokines_secreted",
                "reference": "other lineage groups",
                "mean_score": 1.0,
                "auroc": 0.96 if hit else (0.58 if near else 0.4),
                "pvalue": 1e-12 if hit else (1e-9 if near else 0.7),
                "fdr": 3e-11 if hit else (2e-9 if near else 0.9),
                "nes": 1.9,
                "loo_min_auroc": 0.95 if hit else 0.5,
                "loo_weakest": "s1p",
                "drivers": "Slit3, Sphk1, C3" if hit else "",
                "machinery_auroc": 0.49,
                "inhibitory_auroc": 0.42,
                "flagged": hit,
                "reasons": "flagged: clastokines_secreted AUROC 0.96" if hit else "not flagged",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("figures")
    out = {}
    for name in FIGURE_NAMES:
        fig = Figure(figsize=(2, 1.5))
        fig.add_subplot().plot([0, 1], [1, 0])
        out[name] = save_figure(fig, folder, name, dpi=40)["png"]
    return out


FINGERPRINT = {"path": "/data/cells.h5ad", "shape": [3000, 2500], "sha256": "ab" * 32}
PARAMETERS = {"groupby": "cluster", "species": "auto", "method": "seurat", "fdr": 0.05}


CORE = (FLAGGING,)
"""The flagging section alone: the page these tests read (later sections have their own)."""


def render(tmp_path: Path, figures: dict[str, Path], sections=CORE, **kwargs) -> Page:
    results = Results(
        adata=None,
        table=kwargs.pop("table", table()),
        parameters=PARAMETERS,
        input_fingerprint=FINGERPRINT,
        warnings=kwargs.pop("warnings", ["clastokines_putative: 2 of 5 genes measured"]),
    )
    path = write_report(tmp_path / "report.html", results, figures, sections)
    return Page(path.read_text(encoding="utf-8"))


def test_answer_comes_first_and_names_the_flagged_group(tmp_path, figures):
    page = render(tmp_path, figures)
    assert page.sections[0] == "answer"
    assert page.groups == ["oc_secretory"]
    answer = page.text[: page.text.index("Figures")]
    assert "Group oc_secretory is a candidate secretory osteoclast-lineage population" in answer
    assert "AUROC 0.96" in answer and "FDR 3e-11" in answer
    assert "without its weakest link (S1P)" in answer  # factor id shown by its name
    assert "Slit3, Sphk1, C3" in answer


def test_every_figure_is_embedded_and_nothing_is_fetched(tmp_path, figures):
    page = render(tmp_path, figures)
    for name in FIGURE_NAMES:
        image = page.images[f"img-{name}"]
        assert image["src"].startswith("data:image/png;base64,")
        assert image["alt"]
    assert not [u for u in page.urls if not u.startswith("data:")]
    assert "script" not in page.tags and "link" not in page.tags


def test_sections_tables_versions_and_fingerprint(tmp_path, figures):
    page = render(tmp_path, figures)
    assert page.sections == [
        "answer",
        "figures",
        "groups",
        "warnings",
        "parameters",
        "versions",
        "input",
    ]
    for needle in ("scanpy", "anndata", "gseapy", "gene-set catalogue", "ab" * 32):
        assert needle in page.text
    assert "3,000 cells x 2,500 genes" in page.text
    assert "clastokines_putative: 2 of 5 genes measured" in page.text


def test_text_from_the_data_is_escaped(tmp_path, figures):
    evil = '<script>alert("x")</script>'
    page = render(tmp_path, figures, table=table(group=evil))
    assert "script" not in page.tags
    assert evil in page.text
    assert page.groups == [evil]


def test_no_flag_explains_the_closest_candidates(tmp_path, figures):
    page = render(tmp_path, figures, table=table(flagged=False), warnings=[])
    assert "No population was flagged" in page.text
    assert page.groups == ["mac", "oc_secretory"]  # lineage groups by AUROC; not stromal
    assert "significantly higher than those of the other lineage groups (AUROC 0.58" in page.text
    assert "but the call did not hold up" in page.text
    assert "None: every gene set is well covered" in page.text


def test_no_lineage_group_says_so(tmp_path, figures):
    frame = table(flagged=False).assign(lineage_state="non-lineage")
    page = render(tmp_path, figures, table=frame)
    assert page.groups == []
    assert "No group is osteoclast-lineage" in page.text


def test_answer_sentences_for_two_groups():
    frame = pd.concat([table(), table(group="oc2")]).drop_duplicates(["group", "gene_set"])
    verdict, groups = answer_sentences(frame)
    assert verdict.startswith("Groups oc_secretory and oc2 are candidate")
    assert [g for g, _ in groups] == ["oc_secretory", "oc2"]


def test_figures_are_lettered_in_page_order_with_their_captions(tmp_path, figures):
    page = render(tmp_path, figures)
    alts = [page.images[f"img-{name}"]["alt"] for name in FIGURE_NAMES]
    assert alts == [
        "Figure a: Clastokine genes by group",
        "Figure b: Embedding: groups and calibrated clastokine score",
        "Figure c: Coupling factors by group",
        "Figure d: Per-group effect sizes (AUROC) and FDR",
        "Figure e: Per-sample effects of flagged and near-flagged groups",
    ]
    assert "(b) Embedding: groups and calibrated clastokine score. UMAP of all cells" in page.text


def _extra_section(skip: str | None) -> Section:
    """A stand-in for a later analysis: one table, one figure, one block."""
    from scclast._pipeline._sections import FigureSpec

    return Section(
        name="demo",
        title="Demo map",
        files=("demo.tsv",),
        tables=lambda r: {"demo.tsv": r.table},
        figures=(FigureSpec("demo_map", "Demo map", "Senders x receivers.", Figure),),
        report=lambda r, figs: (
            '<section id="demo"><h2>Demo map</h2>' + "".join(figs.values()) + "</section>"
        ),
        skip_reason=lambda r: skip,
    )


def test_a_new_section_adds_its_block_after_the_sections_before_it(tmp_path, figures):
    extra = {**figures, "demo_map": figures["dotplot"]}
    page = render(tmp_path, extra, sections=(*CORE, _extra_section(None)))
    assert page.sections == [
        "answer", "figures", "groups", "demo", "warnings", "parameters", "versions", "input",
    ]  # fmt: skip
    assert page.images["img-demo_map"]["alt"] == "Figure f: Demo map"


def test_a_skipped_section_says_why_and_shows_no_figure(tmp_path, figures):
    reason = "nothing to compare in these data"
    page = render(tmp_path, figures, sections=(*CORE, _extra_section(reason)))
    assert "demo" in page.sections
    assert f"Demo map Not part of this run: {reason}" in page.text
    assert "img-demo_map" not in page.images
