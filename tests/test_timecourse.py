"""Bulk time courses: trends with donors as blocks, missing donor-days, the Hansen layout,
the inputs ``scclast timecourse`` reads, and the command end to end."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import scclast
from scclast import cli
from scclast._errors import ScclastInputError
from scclast._pipeline._bulk_inputs import read_bulk
from scclast.testing._timecourse import HANSEN_MISSING, homer_table, simulate_timecourse
from scclast.tl._differentiation._timecourse import time_values

RISING_SET = ["BMP6", "AFM", "PDGFB", "HGF", "CXCL16"]  # every gene of clastokines_putative


@pytest.fixture(scope="module")
def bulk():
    adata = simulate_timecourse(rising=["SLIT3", *RISING_SET], falling=["C3"],
                                transient=["WNT5A"], seed=4)  # fmt: skip
    scclast.tl.timecourse(adata, time="time_point", donor="donor")
    return adata


@pytest.fixture
def homer_file(tmp_path):
    path = tmp_path / "GSE246769_RNAcounts_Differentiation.txt"
    path.write_text(homer_table(simulate_timecourse(rising=["SLIT3"], seed=7)))
    return path


def test_planted_trends_are_found_and_flat_ones_are_not(bulk):
    table = scclast.get.timecourse_table(bulk).set_index("feature")
    assert table.loc["clastokines_putative", "trend"] == "rising"  # the planted rising set
    assert table.loc["clastokines_putative", "fdr"] < 1e-3
    assert table.loc["phase_initiation_inhibitory", "trend"] == "flat"  # SEMA4D: nothing planted
    assert table.loc["slit3", "trend"] == "rising" and table.loc["slit3", "peak_time"] == 9
    assert table.loc["c3a", "trend"] == "falling" and table.loc["c3a", "peak_time"] == 0
    assert table.loc["wnt5a", "trend"] == "transient" and table.loc["wnt5a", "peak_time"] == 5
    assert table.loc["wnt5a", "fdr"] > 0.05 > table.loc["wnt5a", "fdr_any"]  # a line misses it
    # the lineage programmes: the simulated culture differentiates
    assert table.loc["state_osteoclast", "trend"] == "rising"
    assert table.loc["state_macrophage", "trend"] == "falling"
    flat = table[(table["kind"] == "factor") & (table["trend"] == "flat")]
    assert {"efnb2", "wnt10b", "lif"} <= set(flat.index)


def test_flat_features_are_calibrated_over_seeds():
    """No planted trend: how often does a factor or set come out changing?"""
    called, tests = 0, 0
    for seed in range(8):
        adata = simulate_timecourse(lineage=False, seed=100 + seed)
        scclast.tl.timecourse(adata)
        table = scclast.get.timecourse_table(adata)
        hypotheses = table[(table["kind"] != "state") & (table["trend"] != "not measured")]
        called += int((hypotheses["pvalue"] <= 0.05).sum())
        tests += len(hypotheses)
    # measured: 0.050 of 960 linear tests (40 null data sets), 0.056 for any change
    assert called / tests <= 0.09, called / tests


def test_missing_donor_days_are_listed_and_do_not_bias_the_time_means():
    """Donors differ a lot in level; the donors without day 0 are the high ones. Raw means
    per day would drop at day 0; the donor-blocked means do not."""
    rng = np.random.default_rng(0)
    donors = [f"D{i}" for i in range(1, 7)]
    rows, obs = [], []
    for i, donor in enumerate(donors):
        for day in (0, 2, 5, 9):
            if day == 0 and i >= 3:
                continue
            level = 3.0 * (i >= 3)
            rows.append(5.0 + level + 0.2 * day + rng.normal(0, 0.05, 3))
            obs.append((f"{donor}_d{day}", donor, f"day{day}"))
    frame = pd.DataFrame(obs, columns=["name", "donor", "time_point"]).set_index("name")
    adata = ad.AnnData(np.array(rows), obs=frame)
    adata.var_names = ["SLIT3", "LIF", "ACP5"]  # log-scale values: used as stored
    scclast.tl.timecourse(adata, gene_sets={"trio": ["SLIT3", "LIF", "ACP5"]})
    record = adata.uns["scclast"]["timecourse"]
    assert record["missing_samples"] == ["D4 day0", "D5 day0", "D6 day0"]
    assert record["values"].startswith("log")
    means = pd.DataFrame(record["means"]).set_index("time")["slit3"]
    assert means.is_monotonic_increasing  # day 0 not pulled down by the missing donors
    line = pd.DataFrame(record["line"]).set_index("time")["slit3"]
    assert np.allclose(np.diff(line.to_numpy()) / np.diff(line.index), np.diff(line)[0] / 2)
    table = scclast.get.timecourse_table(adata).set_index("feature")
    assert table.loc["slit3", "trend"] == "rising" and table.loc["slit3", "n_donors"] == 6
    raw = pd.Series(adata[:, "SLIT3"].X.ravel(), index=adata.obs["time_point"].to_numpy())
    assert raw.groupby(level=0).mean()["day0"] < raw.groupby(level=0).mean()["day2"] - 1


def test_time_labels_and_bad_designs():
    assert time_values(pd.Series(["day0", "D2", "5h", 9])).tolist() == [0, 2, 5, 9]
    assert time_values(pd.Series([0, 2])).dtype == float
    with pytest.raises(ScclastInputError, match="'early' holds no number"):
        time_values(pd.Series(["early"]), "time")
    adata = simulate_timecourse(n_donors=2, seed=1)
    with pytest.raises(ScclastInputError, match="time column 'day_of' is not in obs"):
        scclast.tl.timecourse(adata, time="day_of")
    one_day = adata[adata.obs["time_point"] == "day2"].copy()
    with pytest.raises(ScclastInputError, match="at least 2 time points"):
        scclast.tl.timecourse(one_day)
    without = simulate_timecourse(n_donors=3, missing=(), seed=1)
    scclast.tl.timecourse(without, donor=None)  # no donors: no blocking, still a model
    assert scclast.get.timecourse_table(without)["n_donors"].iloc[0] == 1


def test_hansen_homer_layout_is_read_as_donors_and_days(homer_file):
    header = homer_file.read_text().splitlines()[0].split("\t")
    assert header[:8] == ["RefSeqID", "Chr", "Start", "End", "Strand", "Length", "Copies",
                          "Annotation/Divergence"]  # fmt: skip
    samples = header[8:37]  # columns 9-37
    assert len(header) == 37 and all(s.startswith("Donor") and "_d" in s for s in samples)
    assert "Donor5_d0" not in samples and "Donor5_d2" in samples
    bulk = read_bulk(homer_file)
    assert bulk.n_obs == 29 and bulk.obs_names.tolist() == samples
    assert bulk.obs.loc["Donor7_d5", "donor"] == "Donor7"
    assert bulk.obs.loc["Donor7_d5", "time_point"] == "day5"
    assert "SLIT3" in bulk.var_names and bulk.var.loc["SLIT3", "transcript_id"].startswith("NM_")
    assert bulk.uns["scclast"]["dataset"]["missing_samples"] == [
        f"{d} day{t}" for d, t in HANSEN_MISSING
    ]
    scclast.tl.timecourse(bulk)
    table = scclast.get.timecourse_table(bulk).set_index("feature")
    assert table.loc["slit3", "trend"] == "rising"


def test_series_matrix_and_h5ad_inputs(tmp_path):
    adata = simulate_timecourse(n_donors=3, missing=(), rising=["SLIT3"], seed=2)
    matrix = np.log2(adata.X / adata.X.sum(1, keepdims=True) * 1e6 + 1)
    lines = [
        '!Series_title\t"a time course"',
        "!Sample_title\t" + "\t".join(f'"{n}"' for n in adata.obs_names),
        "!Sample_characteristics_ch1\t" + "\t".join(f'"donor: {d}"' for d in adata.obs["donor"]),
        "!Sample_characteristics_ch1\t" + "\t".join(f'"day: {t}"' for t in adata.obs["day"]),
        "!series_matrix_table_begin",
        '"ID_REF"\t' + "\t".join(f'"GSM{i}"' for i in range(adata.n_obs)),
        *(
            f'"{gene}"\t' + "\t".join(f"{v:.4f}" for v in matrix[:, j])
            for j, gene in enumerate(adata.var_names)
        ),
        "!series_matrix_table_end",
    ]
    path = tmp_path / "GSE9_series_matrix.txt"
    path.write_text("\n".join(lines) + "\n")
    series = read_bulk(path)
    assert series.obs.columns.tolist() == ["title", "donor", "day"]
    scclast.tl.timecourse(series, time="day", donor="donor")
    assert scclast.get.timecourse_table(series).set_index("feature").loc["slit3", "trend"] == (
        "rising"
    )
    empty = tmp_path / "GSE8_series_matrix.txt"
    empty.write_text('!Series_title\t"x"\n!series_matrix_table_begin\n!series_matrix_table_end\n')
    with pytest.raises(ScclastInputError, match="supplementary"):
        read_bulk(empty)
    h5ad = tmp_path / "pseudobulk.h5ad"
    adata.write_h5ad(h5ad)
    assert read_bulk(h5ad).n_obs == adata.n_obs


def test_cli_writes_every_output_and_a_report(homer_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["timecourse", str(homer_file), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "slit3" in printed and "report.html" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "annotated.h5ad", "figures", "report.html", "run.json", "timecourse.tsv",
        "timecourse_scores.tsv",
    ]  # fmt: skip
    assert (out / "figures" / "timecourse.png").stat().st_size > 10_000
    report = (out / "report.html").read_text()
    assert 'id="timecourse"' in report and "No sample for Donor5 day0" in report
    assert "Bulk scores mix cell states" in report and "Orientation check" in report
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["tool"] == "scclast timecourse" and "slit3" in manifest["changing"]
    scores = pd.read_csv(out / "timecourse_scores.tsv", sep="\t")
    assert len(scores) == 29 and scores.columns[:3].tolist() == ["sample", "time", "donor"]
    # an existing OUTDIR needs --force; a bad column is one line, exit status 2
    assert cli.main(["timecourse", str(homer_file), "-o", str(out)]) == 2
    assert (
        cli.main(["timecourse", str(homer_file), "-o", str(tmp_path / "x"), "--donor", "mouse"])
        == 2
    )
    assert "donor column 'mouse' is not in obs" in capsys.readouterr().err


def test_cli_on_the_registry_entry_through_a_loopback_server(tmp_path, monkeypatch, capsys):
    """``--dataset hansen2024_monocyte_osteoclast_bulk`` downloads the HOMER table (here
    the issue-11 fixture of its layout, served on 127.0.0.1) and analyses it."""
    from scclast.testing import FixtureServer
    from tests._paths import TEST_DATA

    with FixtureServer(TEST_DATA / "published") as server:
        monkeypatch.setenv("SCCLAST_GEO_BASE_URL", server.url + "/geo")
        monkeypatch.setenv("SCCLAST_DOWNLOAD_RETRIES", "0")
        monkeypatch.delenv("SCCLAST_OFFLINE", raising=False)
        monkeypatch.delenv("SCCLAST_REGISTRY", raising=False)
        out = tmp_path / "hansen"
        code = cli.main(
            ["timecourse", "--dataset", "hansen2024_monocyte_osteoclast_bulk", "-o", str(out)]
        )
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out / "timecourse.tsv", sep="\t")
    assert table["n_samples"].iloc[0] == 29 and table["n_donors"].iloc[0] == 8
    assert json.loads((out / "run.json").read_text())["input"]["dataset"] == (
        "hansen2024_monocyte_osteoclast_bulk"
    )
    assert (
        cli.main(["timecourse", "--dataset", "bone_marrow_baccin2020", "-o", str(tmp_path / "b")])
        == 2
    )


def test_figure_panels_and_one_panel(bulk):
    from matplotlib.figure import Figure

    fig = scclast.pl.timecourse(bulk, return_fig=True)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert any(t.startswith("SLIT3 ▲\nrising") for t in titles)
    assert any(t.startswith("WNT5A ▲\ntransient") for t in titles)
    headings = [t.get_text() for t in fig.texts if t.get_fontweight() == "bold"]
    assert headings[0] == "Initiation (Figure 4)" and headings[-1].startswith("Lineage")
    panel = Figure().add_subplot()
    scclast.pl.timecourse(bulk, features=["c3a"], ax=panel)
    assert panel.get_title().startswith("C3a ▲\nfalling")
    # one line per donor, the time means, the linear trend (and the zero line)
    assert len(panel.lines) == 8 + 2 + 1
