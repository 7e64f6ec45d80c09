"""The shipped registry entries, loaded through a loopback server from fixtures built to the
shapes public re-analysis code describes (tests/data/make_published_fixtures.py).

These run the real entries (keys, loader options, discovery, gene maps) end to end:
only the base URLs point at 127.0.0.1.
"""

from __future__ import annotations

import logging
import runpy
import tarfile

import numpy as np
import pytest

import scclast
import scclast.datasets as ds
from scclast._errors import ScclastInputError
from scclast.datasets._registry import get_entry
from scclast.testing import FixtureServer
from tests._paths import TEST_DATA

PUBLISHED = TEST_DATA / "published"
GENERATOR = runpy.run_path(str(TEST_DATA / "make_published_fixtures.py"))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FixtureServer(PUBLISHED) as srv:
        monkeypatch.setenv("SCCLAST_GEO_BASE_URL", srv.url + "/geo")
        monkeypatch.setenv("SCCLAST_ENSEMBL_BASE_URL", srv.url + "/ensembl")
        monkeypatch.setenv("SCCLAST_DOWNLOAD_RETRIES", "0")
        monkeypatch.delenv("SCCLAST_OFFLINE", raising=False)
        monkeypatch.delenv("SCCLAST_REGISTRY", raising=False)
        yield srv


def test_fixtures_match_their_generator(tmp_path):
    GENERATOR["write"](tmp_path)
    committed = sorted(p.relative_to(PUBLISHED) for p in PUBLISHED.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == fresh
    for rel in committed:
        assert (PUBLISHED / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_zhong_raw_tar_holds_the_four_text_matrices_with_a_tomato_row(server):
    tar = PUBLISHED / "geo/series/GSE145nnn/GSE145477/suppl/GSE145477_RAW.tar"
    with tarfile.open(tar) as archive:
        names = archive.getnames()
    assert names == get_entry("zhong2020_endosteal_bm").raw["expected_members"]
    adata = ds.zhong2020_endosteal_bm()
    assert adata.obs["sample"].cat.categories.tolist() == list(GENERATOR["ZHONG"])
    assert set(adata.obs["age"]) == {"1M", "1.5M", "3M", "16M"}
    assert adata.obs.groupby("age", observed=True).size().to_dict() == {
        "1M": 15,
        "1.5M": 18,
        "3M": 21,
        "16M": 24,
    }
    assert "tomato" not in adata.var_names  # a reporter, not a gene
    assert (adata.obs["reporter_tomato"] >= 0).all()
    assert adata.obs.loc[adata.obs["age"] == "1.5M", "reporter_tomato"].mean() > 5
    assert {"Acp5", "Ctsk", "mt-Co1"} <= set(adata.var_names)
    assert (adata.obs["pct_counts_mt"] > 0).all()
    assert np.all(adata.X.data == np.round(adata.X.data))


def test_qiu_raw_tar_of_v3_triplets(server):
    tar = PUBLISHED / "geo/series/GSE169nnn/GSE169396/suppl/GSE169396_RAW.tar"
    with tarfile.open(tar) as archive:
        assert archive.getnames() == get_entry("qiu2021_femoral_head").raw["expected_members"]
    adata = ds.qiu2021_femoral_head()
    assert adata.obs.groupby("sample_label", observed=True).size().to_dict() == {
        "S1": 20,
        "S2": 22,
        "S3": 24,
        "S4": 26,
    }
    assert adata.var.loc["ACP5", "gene_ids"].startswith("ENSG")
    assert "MT-CO1" in adata.var_names and (adata.obs["pct_counts_mt"] > 0).mean() > 0.5
    filters = adata.uns["scclast"]["dataset"]["empty_droplet_filter"]
    assert not any(f["applied"] for f in filters.values())  # filtered matrices


def test_hansen_homer_table_parses_donors_days_and_missing_samples(server, caplog):
    with caplog.at_level(logging.INFO, logger="scclast"):
        bulk = ds.hansen2024_monocyte_osteoclast_bulk()
    assert bulk.n_obs == 29
    assert list(bulk.obs_names[:4]) == ["Donor1_d0", "Donor1_d2", "Donor1_d5", "Donor1_d9"]
    assert bulk.obs.loc["Donor5_d2", "donor"] == "Donor5"
    assert bulk.obs.loc["Donor5_d2", "time_point"] == "day2"
    days = bulk.obs.groupby("time_point", observed=True).size().to_dict()
    assert days == {"day0": 5, "day2": 8, "day5": 8, "day9": 8}
    record = bulk.uns["scclast"]["dataset"]
    assert list(record["missing_samples"]) == ["Donor5 day0", "Donor7 day0", "Donor8 day0"]
    assert "no sample for Donor5 day0, Donor7 day0, Donor8 day0" in caplog.text
    # symbols from Annotation/Divergence; the other annotation columns stay in var
    assert bulk.var.loc["ACP5", "transcript_id"].startswith("NM_")
    assert {"Chr", "Length", "Copies"} <= set(bulk.var.columns)
    assert "Length" not in bulk.obs_names and "Copies" not in bulk.obs_names
    assert record["reader"] == "homer_counts" and record["integer_counts"] is True


def test_tsukasaki_unfiltered_barcodes_become_cells_by_the_documented_rule(server, caplog):
    with caplog.at_level(logging.INFO, logger="scclast"):
        adata = ds.tsukasaki2020_bmm_rankl()
    filters = adata.uns["scclast"]["dataset"]["empty_droplet_filter"]
    expected = GENERATOR["TSUKASAKI_STEPS"]
    for day, gsm in GENERATOR["TSUKASAKI_GSM"].items():
        steps = filters[gsm]["steps"]
        assert list(steps) == [
            "barcodes",
            "n_genes_by_counts >= 201",
            "n_genes_by_counts >= 501",
            "n_genes_by_counts <= 5999",
            "pct_counts_mt < 10",
        ]
        assert list(steps.values()) == expected[day], day
        assert filters[gsm]["n_barcodes"] == 737_280
        assert f"{gsm}_{day}: 737,280 barcodes -> " in caplog.text
    sizes = adata.obs.groupby("time_point", observed=True).size().to_dict()
    assert sizes == {"day0": 8, "day1": 10, "day3": 9}
    assert adata.obs["n_genes_by_counts"].between(501, 5999).all()
    assert (adata.obs["pct_counts_mt"] < 10).all()


def test_tsukasaki_ensembl_ids_get_symbols_from_the_hashed_gtf_and_score(server):
    adata = ds.tsukasaki2020_bmm_rankl()
    assert {"Ptprc", "Acp5", "Slit3", "mt-Co1"} <= set(adata.var_names)
    assert adata.var.loc["Acp5", "gene_ids"].startswith("ENSMUSG")
    assert adata.uns["scclast"]["dataset"]["genes_without_symbol"] == 0
    gtf = "ensembl/release-93/gtf/mus_musculus/Mus_musculus.GRCm38.93.gtf.gz"
    assert server.count("Mus_musculus.GRCm38.93.gtf.gz") == 1
    assert ds.read_lock()[gtf]["sha256"]  # hashed on first use, like any registry file
    assert [r.status for r in ds.verify("ensembl_mus_musculus_grcm38_93_genes")] == ["ok"]
    scclast.tl.score(adata, "clastokines_secreted", method="mean")
    assert np.isfinite(adata.obs["scclast_clastokines_secreted"]).all()


def test_ensembl_only_without_a_map_keeps_ids_and_says_so(server, caplog):
    with caplog.at_level(logging.WARNING, logger="scclast"):
        adata = ds.load("tsukasaki2020_bmm_rankl", gene_map=None, qc=None)
    assert adata.var_names[0].startswith("ENSMUSG")
    assert "pass gene_map=" in caplog.text
    assert server.count("Mus_musculus.GRCm38.93.gtf.gz") == 0


def test_baryawno_default_samples_carry_their_tissue(server):
    adata = ds.baryawno2019_bone_stroma()
    tissue = adata.obs.groupby("sample", observed=True)["tissue"].first().to_dict()
    assert tissue == {
        "GSM3674239": "bone",
        "GSM3674240": "bone",
        "GSM3674241": "bone",
        "GSM3674242": "bone",
        "GSM3674243": "marrow",
        "GSM3674244": "marrow",
        "GSM3674246": "marrow",
    }
    assert server.count("GSM3674224_std1.matrix.mtx.gz") == 0  # not a default sample
    one = ds.baryawno2019_bone_stroma(samples=["GSM3674224"])
    assert set(one.obs["sample"]) == {"GSM3674224"} and set(one.obs["tissue"]) == {"unknown"}


def test_gene_map_must_be_an_annotation_entry(server):
    with pytest.raises(ScclastInputError, match="not a gene annotation"):
        ds.load("hansen2024_monocyte_osteoclast_bulk", gene_map="qiu2021_femoral_head")
    with pytest.raises(ScclastInputError, match="is a gene annotation, not data"):
        ds.load("ensembl_mus_musculus_grcm38_93_genes")


def test_info_and_list_say_trust_on_first_use_and_show_accessions(capsys):
    from scclast import cli

    for key in ("zhong2020_endosteal_bm", "ensembl_mus_musculus_grcm38_93_genes"):
        assert ds.info(key)["files"][0]["integrity"].startswith("no sha256 is pinned")
    assert "trust on first use" in ds.info("tsukasaki2020_bmm_rankl")["integrity"]
    assert cli.main(["datasets", "info", "hansen2024_monocyte_osteoclast_bulk"]) == 0
    assert "trust on first use" in capsys.readouterr().out
    assert cli.main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:2] == ["key", "accession"]
    line = next(row for row in out.splitlines() if row.startswith("qiu2021_femoral_head "))
    assert "GSE169396" in line
