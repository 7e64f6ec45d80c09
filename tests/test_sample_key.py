"""The sample key from every entry point: scclast.run, `scclast run --sample-key`, the workflow.

The statistics behind it are tested in ``test_flagging_replicates.py``; here: the column
is checked before any work, recorded in run.json, passed to the flag, and the report
labels an unreplicated answer, explains "calibrated" and shows the per-sample results.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scclast
from scclast import _workflow as workflow
from scclast._pipeline._sections._flagging import CALIBRATED
from scclast.cli import main
from scclast.tl._flag._replicates import EXPLORATORY


class Page(HTMLParser):
    """Ids, image ids and the text of a report."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.chunks: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v or "" for k, v in attrs if k == "id"]

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    """``scclast.run(example=True)``: the example's sample column is passed by default."""
    out = tmp_path_factory.mktemp("run") / "out"
    return scclast.run(example=True, outdir=out, embedding=False)


def test_the_example_passes_its_sample_column(example_run):
    parameters = json.loads((example_run.outdir / "run.json").read_text())["parameters"]
    assert parameters["sample_key"] == "sample"
    table = pd.read_csv(example_run.outdir / "groups.tsv", sep="\t", dtype={"group": str})
    assert {"evidence", "n_samples", "fold_change", "mc_pvalue", "call"} <= set(table.columns)
    tested = table[np.isfinite(table["fdr"])]
    n_animals = scclast.datasets.example().obs["sample"].nunique()
    if n_animals >= 3:
        assert tested["evidence"].str.startswith("replicated").any()
    else:  # today's example has two animals: every flag carries the exploratory label
        assert (table.loc[table["flagged"], "evidence"] == EXPLORATORY).all()
        assert table.loc[table["flagged"], "n_samples"].eq(2).all()


def test_the_report_labels_explains_and_shows_the_samples(example_run):
    page = Page(example_run.report)
    n_animals = scclast.datasets.example().obs["sample"].nunique()
    answer = page.text[page.text.index("Answer") : page.text.index("Figures")]
    assert " ".join(CALIBRATED.split()) in answer
    if n_animals < 3:
        assert page.ids.index("exploratory") < page.ids.index("calibrated")
        assert answer.startswith("Answer Exploratory (cells treated as independent):")
        assert "obs['sample'] has 2 samples" in answer
    assert "fig-forest" in page.ids and "img-forest" in page.ids
    assert "composition-table" in page.ids
    header = " ".join(f"animal{i}" for i in range(1, n_animals + 1))
    assert re.search(header + r" 0 \d+ \(\d+%\)", page.text)
    assert (example_run.outdir / "figures" / "forest.png").stat().st_size > 5000


def test_unreplicated_run_says_so_at_the_end(example_run, caplog, tmp_path):
    adata = scclast.datasets.example()[::3].copy()
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    with caplog.at_level("INFO", logger="scclast"):
        result = scclast.run(path, tmp_path / "out", groupby="cluster", embedding=False)
    table = result.table
    assert (table.loc[table["flagged"], "evidence"] == EXPLORATORY).all()
    done = [m for m in caplog.messages if m.startswith("done in")]
    assert done and "(exploratory: cells treated as independent)" in done[-1]
    named = [m for m in caplog.messages if "--sample-key sample" in m]
    assert named, "the message names the replicate-like column and the option"
    parameters = json.loads((result.outdir / "run.json").read_text())["parameters"]
    assert parameters["sample_key"] is None


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda obs: obs, "sample_key='mouse' is not a column of adata.obs; replicate-like"),
        (
            lambda obs: obs.assign(mouse=np.linspace(0, 1, len(obs))),
            r"obs\['mouse'\] holds continuous numbers",
        ),
        (lambda obs: obs.assign(mouse="m1"), r"obs\['mouse'\] has 1 sample\(s\)"),
    ],
)
def test_cli_refuses_a_bad_sample_key_in_one_line(tmp_path, capsys, make, match):
    adata = scclast.datasets.example()[:300].copy()
    adata.obs = make(adata.obs)
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    code = main(["run", str(path), "-o", str(tmp_path / "out"), "--groupby", "cluster",
                 "--sample-key", "mouse", "--no-embedding"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert re.search(match, err[-1]), err  # one line, the last, after the progress lines
    assert not [line for line in err if "Traceback" in line or "internal error" in line]
    assert not (tmp_path / "out").exists()


def test_cli_passes_the_sample_key(monkeypatch, tmp_path):
    seen = {}

    def fake_run(*args, **kwargs):
        seen.update(kwargs)

    monkeypatch.setattr("scclast._pipeline.run", fake_run)
    main(["run", "--example", "-o", str(tmp_path / "o"), "--sample-key", "sample"])
    assert seen["sample_key"] == "sample"
    main(["run", "--example", "-o", str(tmp_path / "o")])
    assert seen["sample_key"] is None  # run() then takes the example's own column


def test_workflow_inputs_carry_a_sample_key_and_analyse_uses_it(tmp_path):
    config = {
        "datasets": [{"key": "example", "sample_key": "sample"}],
        "samples": {"mine": {"path": "x.h5ad"}},
        "params": {"sample_key": "donor"},
    }
    inputs = workflow.inputs_from_config(config)
    assert inputs["example"]["sample_key"] == "sample"
    assert inputs["mine"]["sample_key"] == "donor"  # params: the shared default
    assert workflow.INPUT_SETTINGS["sample_key"] is None
    sample = workflow.write_h5ad(scclast.datasets.example()[::6].copy(), tmp_path / "s.h5ad")
    table = workflow.analyse_input(
        sample,
        table=tmp_path / "groups.tsv",
        scores=tmp_path / "scores.tsv.gz",
        annotated=tmp_path / "annotated.h5ad",
        groupby="cluster",
        sample_key="sample",
    )
    n_animals = scclast.datasets.example().obs["sample"].nunique()
    assert "evidence" in table and table["n_samples"].max() == n_animals
    with pytest.raises(scclast.ScclastInputError, match="sample_key='donor'"):
        workflow.analyse_input(
            sample,
            table=tmp_path / "g2.tsv",
            scores=tmp_path / "s2.tsv.gz",
            annotated=tmp_path / "a2.h5ad",
            groupby="cluster",
            sample_key="donor",
        )
