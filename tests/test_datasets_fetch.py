"""Downloads against a loopback HTTP server: cache, lock file, offline mode, failures.

The server on 127.0.0.1 serves the synthetic GEO-shaped fixtures of tests/data/geo/
(see tests/data/make_geo_fixtures.py); tests/data/test_registry.yaml names them and
SCCLAST_GEO_BASE_URL points the registry at the server.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import scclast.datasets as ds
from scclast._errors import ScclastDataError, ScclastInputError
from scclast._provenance import file_sha256
from scclast.cli import _datasets as cli_datasets
from scclast.testing import FixtureServer
from tests._paths import TEST_DATA

GEO = TEST_DATA / "geo"
REGISTRY = TEST_DATA / "test_registry.yaml"
TAR_URL_PATH = "/series/GSE999nnn/GSE999001/suppl/GSE999001_RAW.tar"
TABLE_URL_PATH = "/series/GSE999nnn/GSE999002/suppl/GSE999002_counts.txt.gz"
TAR_REL = "GSE999001/GSE999001_RAW.tar"
TABLE_REL = "GSE999002/GSE999002_counts.txt.gz"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FixtureServer(GEO) as srv:
        monkeypatch.setenv("SCCLAST_GEO_BASE_URL", srv.url)
        monkeypatch.setenv("SCCLAST_REGISTRY", str(REGISTRY))
        monkeypatch.setenv("SCCLAST_DOWNLOAD_RETRIES", "0")
        monkeypatch.delenv("SCCLAST_OFFLINE", raising=False)
        yield srv


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli_datasets.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["datasets", *argv])
    return args.func(args)


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------- download + load


def test_raw_tar_downloads_and_loads_with_standard_fields(server: FixtureServer):
    adata = ds.load("fx_raw_tar")
    assert adata.n_obs == 24  # 12 cells per sample; the raw sample's 40 empties dropped
    assert adata.obs.groupby("sample", observed=True).size().to_dict() == {
        "GSM9990011": 12,
        "GSM9990012": 12,
    }
    assert set(adata.obs["time_point"]) == {"day0", "day3"}
    assert set(adata.obs["dataset"]) == {"fx_raw_tar"}
    # v3 Antibody Capture row dropped; duplicate symbols made unique; IDs kept in a column
    assert adata.n_vars == 20
    assert {"Ptprc", "Ptprc-1", "Calcr", "Dcstamp"} <= set(adata.var_names)
    assert adata.var.loc["Spi1", "gene_ids"] == "ENSMUSG99900000002"
    assert np.all(adata.X.data == np.round(adata.X.data))  # raw counts
    assert (adata.obs["pct_counts_mt"] > 0).all()
    source = adata.uns["scclast"]["dataset"]
    assert next(iter(source["files"].values()))["sha256"] == file_sha256(
        GEO / TAR_URL_PATH.lstrip("/")
    )
    assert source["empty_droplet_filter"]["GSM9990011"]["applied"]
    assert not source["empty_droplet_filter"]["GSM9990012"]["applied"]


def test_second_use_reads_the_cache_without_a_request(server: FixtureServer):
    ds.load("fx_raw_tar")
    ds.load("fx_raw_tar")
    assert server.count("GSE999001_RAW.tar") == 1
    assert server.count("GSE999001/suppl/filelist.txt") == 1


def test_first_download_records_hash_in_lock_file(server: FixtureServer):
    ds.fetch("fx_count_table")
    lock = json.loads(ds.lock_path().read_text())
    record = lock[TABLE_REL]
    assert record["sha256"] == file_sha256(GEO / TABLE_URL_PATH.lstrip("/"))
    assert record["url"] == server.url + TABLE_URL_PATH
    assert record["size"] == (GEO / TABLE_URL_PATH.lstrip("/")).stat().st_size
    assert record["first_seen"]
    assert ds.lock_path().parent == ds.cache_dir()


def test_listing_size_is_checked_against_geo_filelist(server: FixtureServer):
    ds.fetch("fx_raw_tar")
    listing = ds.parse_filelist(ds.cache_dir() / "GSE999001" / "filelist.txt")
    archive = next(row for row in listing if row.kind == "Archive")
    assert archive.name == "GSE999001_RAW.tar"
    assert archive.size == (ds.cache_dir() / TAR_REL).stat().st_size


# --------------------------------------------------------------------------- lock file


def test_flipped_byte_is_detected_and_the_file_not_used(server: FixtureServer):
    ds.fetch("fx_count_table")
    cached = ds.cache_dir() / TABLE_REL
    recorded = file_sha256(cached)
    _flip_last_byte(cached)
    with pytest.raises(ScclastDataError) as err:
        ds.load("fx_count_table")
    message = str(err.value)
    assert "GSE999002_counts.txt.gz" in message
    assert recorded in message and file_sha256(cached) in message
    assert "scclast datasets verify fx_count_table --accept-new-hash" in message
    assert "\n" not in message
    assert server.count("GSE999002_counts.txt.gz") == 1  # not silently downloaded again


def test_verify_reports_and_accepts_a_changed_file(server: FixtureServer):
    ds.fetch("fx_count_table")
    assert [r.status for r in ds.verify("fx_count_table")] == ["ok"]
    cached = ds.cache_dir() / TABLE_REL
    _flip_last_byte(cached)
    assert [r.status for r in ds.verify("fx_count_table")] == ["changed"]
    with pytest.raises(ScclastDataError, match="--accept-new-hash"):
        _cli("verify", "fx_count_table")
    assert _cli("verify", "fx_count_table", "--accept-new-hash") == 0
    assert ds.read_lock()[TABLE_REL]["sha256"] == file_sha256(cached)
    assert [r.status for r in ds.verify()] == ["ok"] * len(ds.read_lock())
    ds.fetch("fx_count_table")  # the accepted file passes the check now


def test_redownload_that_differs_from_the_lock_is_an_error(server: FixtureServer):
    ds.fetch("fx_count_table")
    cached = ds.cache_dir() / TABLE_REL
    ds_lock = ds.read_lock()
    ds_lock[TABLE_REL]["sha256"] = "0" * 64  # as if upstream changed since first use
    ds.lock_path().write_text(json.dumps(ds_lock))
    cached.unlink()
    with pytest.raises(ScclastDataError, match="recorded at first download"):
        ds.fetch("fx_count_table")


def test_registry_pinned_hash_wins_over_the_lock(
    server: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    true_hash = file_sha256(GEO / TABLE_URL_PATH.lstrip("/"))
    registry = tmp_path / "pinned.yaml"

    def pin(sha: str) -> None:
        entry = {
            "key": "fx_pinned",
            "title": "pinned",
            "organism": "mouse",
            "status": "verified",
            "loader": "count_table",
            "files": [{"geo": "GSE999002", "name": "GSE999002_counts.txt.gz", "sha256": sha}],
        }
        registry.write_text(yaml.safe_dump({"version": 1, "datasets": [entry]}))

    monkeypatch.setenv("SCCLAST_REGISTRY", f"{REGISTRY}:{registry}")
    pin("f" * 64)
    with pytest.raises(ScclastDataError, match="pinned in the registry"):
        ds.fetch("fx_pinned")
    assert not (ds.cache_dir() / TABLE_REL).exists()  # nothing kept

    pin(true_hash)
    ds.fetch("fx_pinned")
    assert ds.read_lock()[TABLE_REL]["pinned"] is True

    pin("e" * 64)  # a later registry pins another hash: the pin wins over the cached file
    with pytest.raises(ScclastDataError, match="registry pins"):
        ds.fetch("fx_pinned")
    assert [r.status for r in ds.verify("fx_pinned", accept_new_hash=True)] == ["changed"]


# --------------------------------------------------------------------------- failures


def test_interrupted_download_leaves_no_partial_file(server: FixtureServer):
    server.truncate.add(TABLE_URL_PATH)
    with pytest.raises(ScclastDataError, match=r"could not download .*GSE999002_counts"):
        ds.fetch("fx_count_table")
    folder = ds.cache_dir() / "GSE999002"
    leftovers = [p.name for p in folder.iterdir()] if folder.exists() else []
    assert leftovers == []
    assert TABLE_REL not in ds.read_lock()


def test_failed_download_is_retried(server: FixtureServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCCLAST_DOWNLOAD_RETRIES", "1")
    server.fail_times[TABLE_URL_PATH] = 1
    ds.fetch("fx_count_table")
    assert server.count("GSE999002_counts.txt.gz") == 2


def test_missing_remote_file_names_the_url(server: FixtureServer):
    with pytest.raises(ScclastDataError, match=r"GSE999002_absent\.txt\.gz answered HTTP 404"):
        ds.fetch("fx_missing")


def test_unreachable_server_is_a_clear_error(server: FixtureServer, monkeypatch):
    with FixtureServer(GEO) as gone:
        url = gone.url
    monkeypatch.setenv("SCCLAST_GEO_BASE_URL", url)
    with pytest.raises(ScclastDataError) as err:
        ds.fetch("fx_count_table")
    assert "could not download" in str(err.value)
    assert str(ds.cache_dir() / "GSE999002") in str(err.value)


def test_offline_mode_names_file_url_and_folder(server: FixtureServer, monkeypatch):
    monkeypatch.setenv("SCCLAST_OFFLINE", "1")
    with pytest.raises(ScclastDataError) as err:
        ds.load("fx_count_table")
    message = str(err.value)
    assert "GSE999002_counts.txt.gz" in message
    assert server.url + TABLE_URL_PATH in message
    assert str(ds.cache_dir() / "GSE999002") in message
    assert "SCCLAST_OFFLINE" in message
    assert sum(server.requests.values()) == 0


def test_offline_mode_uses_cached_files(server: FixtureServer, monkeypatch):
    ds.load("fx_discovered")
    before = sum(server.requests.values())
    monkeypatch.setenv("SCCLAST_OFFLINE", "1")
    adata = ds.load("fx_discovered")
    assert adata.n_obs == 24
    assert sum(server.requests.values()) == before


def test_offline_discovery_without_cached_listing_names_it(server, monkeypatch):
    monkeypatch.setenv("SCCLAST_OFFLINE", "true")
    with pytest.raises(ScclastDataError, match=r"filelist\.txt of GSE999003 is not in the cache"):
        ds.fetch("fx_discovered")


# --------------------------------------------------------------------------- discovery


def test_discovery_picks_files_from_filelist_and_records_them(server: FixtureServer):
    pairs = ds.fetch("fx_discovered")
    names = sorted(spec.name for spec, _ in pairs)
    assert len(names) == 6 and all(n.startswith(("GSM9990031_", "GSM9990032_")) for n in names)
    assert server.count("/samples/GSM9990nnn/GSM9990031/suppl/GSM9990031_Day0_matrix.mtx.gz") == 1
    lock = ds.read_lock()
    selected = lock["GSE999003/filelist.txt"]["selected"]["fx_discovered"]
    assert sorted(selected) == sorted(f"{n[:10]}/{n}" for n in names)
    assert all(lock[rel]["sha256"] for rel in selected)
    assert {r.status for r in ds.verify("fx_discovered")} == {"ok"}
    assert len(ds.verify("fx_discovered")) == 7  # the listing and six files


def test_samples_selects_members_of_an_archive(server: FixtureServer):
    adata = ds.load("fx_raw_tar", samples=["GSM9990012"])
    assert set(adata.obs["sample"]) == {"GSM9990012"} and adata.n_obs == 12
    with pytest.raises(ScclastInputError, match="available GSM9990011, GSM9990012"):
        ds.load("fx_raw_tar", samples=["GSM9990013"])


def test_samples_selects_gsm_files(server: FixtureServer):
    pairs = ds.fetch("fx_discovered", samples=["GSM9990032"])
    assert {spec.name[:10] for spec, _ in pairs} == {"GSM9990032"}
    with pytest.raises(ScclastInputError, match="GSM0000001"):
        ds.fetch("fx_discovered", samples=["GSM0000001"])


def test_ensembl_only_genes_get_symbols_from_gene_map(server: FixtureServer, tmp_path: Path):
    table = tmp_path / "biomart.tsv"
    table.write_text(
        "Gene stable ID\tGene name\nENSMUSG99900000002.3\tSpi1\nENSMUSG99900000011\tmt-Co1\n"
    )
    adata = ds.load("fx_discovered", gene_map=table)
    assert "Spi1" in adata.var_names and "mt-Co1" in adata.var_names
    assert adata.var.loc["Spi1", "gene_ids"] == "ENSMUSG99900000002"
    assert "ENSMUSG99900000003" in adata.var_names  # unmapped IDs stay
    assert (adata.obs["pct_counts_mt"] > 0).any()
    assert adata.uns["scclast"]["dataset"]["genes_without_symbol"] == 18


def test_empty_droplets_are_filtered_from_unfiltered_matrices(server: FixtureServer):
    adata = ds.load("fx_discovered")
    filters = adata.uns["scclast"]["dataset"]["empty_droplet_filter"]
    assert {s: f["n_barcodes"] for s, f in filters.items()} == {"GSM9990031": 52, "GSM9990032": 52}
    assert adata.obs.groupby("sample", observed=True).size().tolist() == [12, 12]
    assert adata.obs["n_genes_by_counts"].min() >= 5
    everything = ds.load("fx_discovered", filter_empty=False)
    assert everything.n_obs == 104


def test_count_table_becomes_one_observation_per_sample(server: FixtureServer):
    bulk = ds.load("fx_count_table")
    assert list(bulk.obs_names) == ["D1_day0", "D1_day2", "D2_day0", "D2_day2"]
    assert list(bulk.obs["time_point"]) == ["day0", "day2", "day0", "day2"]
    assert bulk.var.loc["Csf1r", "gene_ids"] == "ENSMUSG99900000003"
    assert bulk.uns["scclast"]["dataset"]["integer_counts"] is True


def test_cli_fetch_prints_paths_and_path_prints_cache(server: FixtureServer, capsys):
    assert _cli("fetch", "fx_count_table") == 0
    out = capsys.readouterr().out
    assert out.strip() == str(ds.cache_dir() / TABLE_REL)
    assert _cli("path") == 0
    assert capsys.readouterr().out.strip() == str(ds.cache_dir())


def test_main_cli_exit_status(server: FixtureServer, capsys):
    from scclast import cli

    assert cli.main(["datasets", "list"]) == 0
    assert cli.main(["datasets", "fetch", "fx_count_table"]) == 0
    _flip_last_byte(ds.cache_dir() / TABLE_REL)
    capsys.readouterr()
    assert cli.main(["datasets", "verify", "fx_count_table"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--accept-new-hash" in err
    assert cli.main(["datasets", "verify", "--accept-new-hash"]) == 0
    assert cli.main(["datasets", "info", "no_such_key"]) == 2
