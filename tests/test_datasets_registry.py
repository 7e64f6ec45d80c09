"""The shipped dataset registry: complete, honest about what is unverified, and listable."""

from __future__ import annotations

import argparse
from pathlib import Path

import pooch
import pytest
import yaml

import scclast.datasets as ds
from scclast._errors import ScclastDataError, ScclastInputError
from scclast.cli import _datasets as cli_datasets
from scclast.datasets._cache import geo_folder
from scclast.datasets._registry import STATUSES, load_registry, shipped_registry_path
from tests._paths import TEST_DATA

ISSUE_ACCESSIONS = {
    "tsukasaki2020_bmm_rankl": ("GSE147174", "10.1038/s42255-020-00318-y"),
    "zhong2020_endosteal_bm": ("GSE145477", "10.7554/eLife.54695"),
    "baryawno2019_bone_stroma": ("GSE128423", "10.1016/j.cell.2019.04.040"),
    "qiu2021_femoral_head": ("GSE169396", "10.18632/aging.203124"),
    "hansen2024_monocyte_osteoclast_bulk": ("GSE246769", "10.1038/s41413-023-00312-6"),
}
REQUIRED_FIELDS = (
    "key",
    "title",
    "first_author",
    "year",
    "journal",
    "doi",
    "organism",
    "system",
    "expected_states",
    "accessions",
    "files",
    "licence",
    "status",
    "status_note",
    "loader",
)


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli_datasets.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["datasets", *argv])
    return args.func(args)


def test_every_shipped_entry_has_the_issue_fields():
    raw = yaml.safe_load(shipped_registry_path().read_text())["datasets"]
    keys = [entry["key"] for entry in raw]
    assert len(keys) == len(set(keys))
    for entry in raw:
        missing = [f for f in REQUIRED_FIELDS if f not in entry]
        assert not missing, (entry["key"], missing)
        assert entry["status"] in STATUSES


def test_issue_candidates_are_registered_with_accession_and_doi():
    entries = load_registry()
    for key, (accession, doi) in ISSUE_ACCESSIONS.items():
        assert entries[key].raw["accessions"] == [accession]
        assert entries[key].doi == doi
    assert (
        entries["zhong2020_endosteal_bm"].raw["related_references"][0]["doi"] == "10.1172/JCI140214"
    )
    assert entries["qiu2021_femoral_head"].raw["accession_link"] == "inferred"


def test_no_checksum_or_size_is_invented_for_unverified_entries():
    for entry in load_registry().values():
        if entry.status == "verified":
            assert all(spec.sha256 for spec in entry.files), entry.key
        if entry.status == "unverified":
            assert all(spec.sha256 is None and spec.size is None for spec in entry.files), entry.key
    assert not [e for e in load_registry().values() if e.status == "verified"]


def test_osteomorph_entry_is_unavailable_without_accession():
    entry = load_registry()["mcdonald2021_osteomorph"]
    assert entry.status == "unavailable"
    assert entry.files == () and entry.raw["accessions"] == []
    assert entry.doi == "10.1016/j.cell.2021.02.002"
    with pytest.raises(ScclastDataError, match="unavailable: No confirmed public accession"):
        ds.load("mcdonald2021_osteomorph")


def test_geo_urls_follow_geo_folder_patterns():
    assert geo_folder("GSE147174") == "series/GSE147nnn/GSE147174"
    assert geo_folder("GSM3674224") == "samples/GSM3674nnn/GSM3674224"
    assert geo_folder("GSE999") == "series/GSEnnn/GSE999"
    info = ds.info("zhong2020_endosteal_bm")
    assert info["files"][0]["url"] == (
        "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE145nnn/GSE145477/suppl/GSE145477_RAW.tar"
    )
    assert ds.info("hansen2024_monocyte_osteoclast_bulk")["files"][0]["url"].endswith(
        "/series/GSE246nnn/GSE246769/suppl/GSE246769_RNAcounts_Differentiation.txt.gz"
    )
    with pytest.raises(ScclastInputError):
        geo_folder("SRP000001")


def test_geo_base_url_override(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCCLAST_GEO_BASE_URL", "http://127.0.0.1:9/geo/")
    assert ds.geo_url("GSE145477", "x.tar") == (
        "http://127.0.0.1:9/geo/series/GSE145nnn/GSE145477/suppl/x.tar"
    )


def test_cache_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SCCLAST_DATA_DIR", str(tmp_path / "c"))
    assert ds.cache_dir() == tmp_path / "c"
    assert ds.lock_path() == tmp_path / "c" / "scclast.lock.json"
    monkeypatch.delenv("SCCLAST_DATA_DIR")
    assert ds.cache_dir() == Path(pooch.os_cache("scclast"))


def test_cli_list_shows_every_entry_with_status_and_doi(capsys):
    assert _cli("list") == 0
    out = capsys.readouterr().out
    for entry in load_registry().values():
        line = next(row for row in out.splitlines() if row.startswith(entry.key + " "))
        assert entry.status in line
        if entry.doi:
            assert entry.doi in line


def test_cli_info_prints_entry_and_files(capsys):
    assert _cli("info", "zhong2020_endosteal_bm") == 0
    out = capsys.readouterr().out
    assert "GSE145477_RAW.tar [not cached]" in out and "about 73.7 MB" in out
    assert _cli("info", "tsukasaki2020_bmm_rankl", "--json") == 0
    assert '"accessions": [\n    "GSE147174"' in capsys.readouterr().out


def test_unknown_key_lists_known_keys():
    with pytest.raises(ScclastInputError, match=r"unknown dataset 'nope': use one of .*example"):
        ds.load("nope")


def test_registry_override_adds_entries(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCCLAST_REGISTRY", str(TEST_DATA / "test_registry.yaml"))
    entries = load_registry()
    assert "fx_raw_tar" in entries and "tsukasaki2020_bmm_rankl" in entries


def test_malformed_registry_entry_is_a_data_error(monkeypatch, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets:\n  - {key: x, title: t, organism: mouse, status: maybe, files: []}\n")
    monkeypatch.setenv("SCCLAST_REGISTRY", str(bad))
    with pytest.raises(ScclastDataError, match="status 'maybe'"):
        load_registry()
    bad.write_text(
        "datasets:\n  - {key: x, title: t, organism: mouse, status: unverified, "
        "loader: count_table,"
        " files: [{geo: GSE1, url: 'http://127.0.0.1/x'}]}\n"
    )
    with pytest.raises(ScclastDataError, match="exactly one of geo, ensembl, url, path"):
        load_registry()


def test_parse_filelist_reads_geo_format_and_rejects_others(tmp_path: Path):
    listing = ds.parse_filelist(TEST_DATA / "geo/series/GSE999nnn/GSE999001/suppl/filelist.txt")
    assert [row.kind for row in listing] == ["Archive"] + ["File"] * 6
    assert listing[1].name == "GSM9990011_d0_raw_barcodes.tsv.gz"
    assert listing[1].time == "03/16/2020 10:11:12"
    not_a_listing = tmp_path / "filelist.txt"
    not_a_listing.write_text("<html>Not Found</html>\n")
    with pytest.raises(ScclastDataError, match=r"not a GEO filelist\.txt"):
        ds.parse_filelist(not_a_listing)


def test_verify_with_empty_cache(capsys):
    assert ds.verify() == []
    assert _cli("verify") == 0
    assert "nothing cached" in capsys.readouterr().out
