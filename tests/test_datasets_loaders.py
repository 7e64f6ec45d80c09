"""Format readers on local files: 10x triplets and HDF5, GEO archives, count tables."""

from __future__ import annotations

import gzip
import io
import logging
import tarfile
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import scclast.datasets as ds
from scclast._errors import ScclastDataError, ScclastInputError
from tests._paths import TEST_DATA

GEO = TEST_DATA / "geo"
SAMPLE_DAY0 = GEO / "samples/GSM9990nnn/GSM9990031/suppl"
RAW_TAR = GEO / "series/GSE999nnn/GSE999001/suppl/GSE999001_RAW.tar"


def _extract(tar: Path, dest: Path) -> dict[str, Path]:
    with tarfile.open(tar) as archive:
        archive.extractall(dest, filter="data")
    return {p.name: p for p in dest.iterdir()}


def _write_h5_v3(
    path: Path, matrix: np.ndarray, ids: list[str], names: list[str], types: list[str]
):
    """A Cell Ranger 3 style HDF5 file: genes x cells CSC under /matrix."""
    csc = sp.csc_matrix(matrix)
    with h5py.File(path, "w") as handle:
        group = handle.create_group("matrix")
        group["barcodes"] = np.array([f"BC{i:03d}-1" for i in range(matrix.shape[1])], dtype="S")
        group["data"], group["indices"], group["indptr"] = csc.data, csc.indices, csc.indptr
        group["shape"] = np.array(matrix.shape)
        feats = group.create_group("features")
        feats["id"], feats["name"] = np.array(ids, dtype="S"), np.array(names, dtype="S")
        feats["feature_type"] = np.array(types, dtype="S")
        feats["genome"] = np.array(["mm10"] * len(ids), dtype="S")


def _write_h5_v2(path: Path, matrix: np.ndarray, ids: list[str], names: list[str]):
    csc = sp.csc_matrix(matrix)
    with h5py.File(path, "w") as handle:
        group = handle.create_group("mm10")
        group["barcodes"] = np.array([f"BC{i:03d}-1" for i in range(matrix.shape[1])], dtype="S")
        group["data"], group["indices"], group["indptr"] = csc.data, csc.indices, csc.indptr
        group["shape"] = np.array(matrix.shape)
        group["genes"], group["gene_names"] = np.array(ids, dtype="S"), np.array(names, dtype="S")


# --------------------------------------------------------------------------- 10x


def test_10x_v2_triplet_with_ensembl_ids_and_gene_map():
    files = {p.name: p for p in SAMPLE_DAY0.iterdir()}
    adata = ds.read_10x_mtx(
        files["GSM9990031_Day0_matrix.mtx.gz"],
        files["GSM9990031_Day0_genes.tsv.gz"],
        files["GSM9990031_Day0_barcodes.tsv.gz"],
        filter_empty=False,
        gene_map={"ENSMUSG99900000001": "Ptprc", "ENSMUSG99900000013": "Ptprc"},
    )
    assert adata.shape == (52, 20)
    assert adata.var_names[0] == "Ptprc" and "Ptprc-1" in adata.var_names
    assert adata.var["gene_ids"].iloc[0] == "ENSMUSG99900000001"
    assert adata.var_names[1] == "ENSMUSG99900000002"  # no symbol known: the ID stays
    assert adata.X.dtype == np.float32 and sp.issparse(adata.X)


def test_10x_v3_features_drop_non_gene_features(tmp_path: Path):
    files = _extract(RAW_TAR, tmp_path)
    adata = ds.read_10x_mtx(
        files["GSM9990012_d3_matrix.mtx.gz"],
        files["GSM9990012_d3_features.tsv.gz"],
        files["GSM9990012_d3_barcodes.tsv.gz"],
    )
    assert adata.shape == (12, 20)
    assert "CD45" not in adata.var_names
    assert not adata.uns["scclast"]["dataset"]["empty_droplet_filter"]["applied"]


def test_auto_filter_applies_to_raw_named_matrices(tmp_path: Path):
    files = _extract(RAW_TAR, tmp_path)
    adata = ds.read_10x_mtx(
        files["GSM9990011_d0_raw_matrix.mtx.gz"],
        files["GSM9990011_d0_raw_genes.tsv.gz"],
        files["GSM9990011_d0_raw_barcodes.tsv.gz"],
        min_genes=5,
    )
    assert adata.n_obs == 12
    assert adata.uns["scclast"]["dataset"]["empty_droplet_filter"]["n_barcodes"] == 52


def test_empty_droplet_filter_default_is_200_genes():
    rng = np.random.default_rng(0)
    dense = np.zeros((4, 400), dtype=np.float32)
    for row, n_genes in enumerate((250, 200, 199, 3)):
        dense[row, rng.choice(400, n_genes, replace=False)] = 1
    kept = ds.filter_empty_droplets(ad.AnnData(sp.csr_matrix(dense)))
    assert ds.DEFAULT_MIN_GENES == 200
    assert list(kept.obs_names) == ["0", "1"]


def test_mismatched_triplet_is_a_data_error(tmp_path: Path):
    files = {p.name: p for p in SAMPLE_DAY0.iterdir()}
    short = tmp_path / "barcodes.tsv"
    short.write_text("AAAC-1\n")
    with pytest.raises(ScclastDataError, match="do not belong together"):
        ds.read_10x_mtx(
            files["GSM9990031_Day0_matrix.mtx.gz"], files["GSM9990031_Day0_genes.tsv.gz"], short
        )


def test_10x_h5_v3_and_v2(tmp_path: Path):
    matrix = np.array([[0, 3, 1], [2, 0, 0], [5, 5, 5]], dtype=np.int32)  # genes x cells
    ids = ["ENSMUSG99900000001", "ENSMUSG99900000011", "TAG1"]
    _write_h5_v3(
        tmp_path / "v3.h5",
        matrix,
        ids,
        ["Ptprc", "mt-Co1", "CD45"],
        ["Gene Expression", "Gene Expression", "Antibody Capture"],
    )
    v3 = ds.read_10x_h5(tmp_path / "v3.h5")
    assert v3.shape == (3, 2) and list(v3.var_names) == ["Ptprc", "mt-Co1"]
    assert v3.obs_names[0] == "BC000-1"
    np.testing.assert_array_equal(v3.X.toarray(), matrix[:2].T)
    assert v3.obs["pct_counts_mt"].iloc[0] == pytest.approx(100.0)
    _write_h5_v2(tmp_path / "v2.h5", matrix[:2], ids[:2], ["Ptprc", "mt-Co1"])
    v2 = ds.read_10x_h5(tmp_path / "v2.h5")
    np.testing.assert_array_equal(v2.X.toarray(), v3.X.toarray())
    assert list(v2.var["gene_ids"]) == ids[:2]


# --------------------------------------------------------------------------- GEO archives


def test_raw_tar_groups_by_gsm(tmp_path: Path):
    adata = ds.read_geo_raw_tar(RAW_TAR, min_genes=5, time_point_pattern=r"(?i)(?<![a-z])d(\d+)")
    assert sorted(adata.obs["sample"].unique()) == ["GSM9990011", "GSM9990012"]
    assert sorted(adata.obs["sample_label"].unique()) == ["d0_raw", "d3"]
    assert sorted(adata.obs["time_point"].unique()) == ["day0", "day3"]
    assert adata.obs_names.is_unique


def test_raw_tar_with_nested_archives_prefers_filtered(tmp_path: Path):
    files = _extract(RAW_TAR, tmp_path / "x")
    inner = {}
    for kind in ("filtered", "raw"):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for part, source in (
                ("barcodes.tsv.gz", "barcodes"),
                ("features.tsv.gz", "features"),
                ("matrix.mtx.gz", "matrix"),
            ):
                archive.add(
                    files[f"GSM9990012_d3_{source}.{part.split('.', 1)[1]}"],
                    arcname=f"{kind}_feature_bc_matrix/{part}",
                )
        inner[f"GSM9990099_{kind}_feature_bc_matrix.tar.gz"] = buffer.getvalue()
    outer = tmp_path / "GSE999099_RAW.tar"
    with tarfile.open(outer, "w") as archive:
        for name, data in inner.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        note = tarfile.TarInfo("GSM9990099_notes.pdf")
        note.size = 3
        archive.addfile(note, io.BytesIO(b"pdf"))
    adata = ds.read_geo_raw_tar(outer)
    assert set(adata.obs["sample"]) == {"GSM9990099"}
    assert adata.n_obs == 12
    assert adata.uns["scclast"]["dataset"]["skipped_files"] == ["GSM9990099_notes.pdf"]
    assert all("filtered" in f for f in adata.uns["scclast"]["dataset"]["source_files"])


def test_incomplete_triplet_is_reported(tmp_path: Path):
    files = {p.name: p for p in SAMPLE_DAY0.iterdir()}
    with pytest.raises(ScclastDataError, match=r"only .* of a 10x triplet"):
        ds.read_geo_files(
            [files["GSM9990031_Day0_matrix.mtx.gz"], files["GSM9990031_Day0_genes.tsv.gz"]]
        )


def test_unreadable_archive_is_a_data_error(tmp_path: Path):
    bad = tmp_path / "GSE1_RAW.tar"
    bad.write_bytes(b"not a tar at all" * 10)
    with pytest.raises(ScclastDataError, match="not a readable tar archive"):
        ds.read_geo_raw_tar(bad)


# --------------------------------------------------------------------------- tables


def test_count_table_r_style_header_and_csv(tmp_path: Path):
    tsv = tmp_path / "counts.txt"
    tsv.write_text("day0_A\tday5_A\nAcp5\t1\t20\nCtsk\t0\t31\n")  # header one field short
    bulk = ds.read_count_table(tsv, time_point_pattern=r"day(\d+)")
    assert bulk.shape == (2, 2) and list(bulk.var_names) == ["Acp5", "Ctsk"]
    assert list(bulk.obs["time_point"]) == ["day0", "day5"]
    csv = tmp_path / "counts.csv.gz"
    csv.write_bytes(gzip.compress(b"gene_id,gene_name,Length,s1\nENSG00000111111,ACP5,900,4\n"))
    human = ds.read_count_table(csv)
    assert list(human.var_names) == ["ACP5"] and human.var["Length"].iloc[0] == "900"
    assert human.shape == (1, 1)


def test_count_table_with_fractional_values_warns(tmp_path: Path, caplog):
    table = tmp_path / "tpm.tsv"
    table.write_text("gene\ta\tb\nAcp5\t1.5\t2.25\n")
    with caplog.at_level(logging.WARNING, logger="scclast"):
        bulk = ds.read_count_table(table)
    assert bulk.uns["scclast"]["dataset"]["integer_counts"] is False
    assert "may not be raw counts" in caplog.text


def test_gene_map_from_dict_frame_and_file(tmp_path: Path):
    assert ds.read_gene_map({"ENSMUSG00000000001.4": "Gnai3"}) == {"ENSMUSG00000000001": "Gnai3"}
    frame = pd.DataFrame({"symbol": ["A1", "B2"], "id": ["ENSG00000000001", "ENSG00000000002"]})
    assert ds.read_gene_map(frame) == {"ENSG00000000001": "A1", "ENSG00000000002": "B2"}
    path = tmp_path / "map.csv"
    path.write_text("id,name\nENSG00000000003,C3\n")
    assert ds.read_gene_map(path) == {"ENSG00000000003": "C3"}
    with pytest.raises(ScclastInputError, match="does not exist"):
        ds.read_gene_map(tmp_path / "absent.tsv")


# --------------------------------------------------------------------------- real data folders


def test_read_mtx_folder_on_paul15():
    adata = ds.read_mtx_folder(TEST_DATA / "tradeseq_paul15")
    assert adata.shape == (2660, 240)
    counts = adata.obs["celltype"].value_counts()
    assert counts["Erythrocyte"] == 1095 and counts["Monocytes"] == 559
    assert set(adata.obs["sample"]) == {"tradeseq_paul15"}
    assert np.all(adata.X.data == np.round(adata.X.data))
    assert (TEST_DATA / "tradeseq_paul15" / "LICENSE").read_text().startswith("MIT License")


def test_read_mtx_folder_errors(tmp_path: Path):
    with pytest.raises(ScclastInputError, match="is not a folder"):
        ds.read_mtx_folder(tmp_path / "nothing")
    with pytest.raises(ScclastInputError, match=r"has none of matrix\.mtx\.gz"):
        ds.read_mtx_folder(tmp_path)


def test_qc_metrics_on_human_symbols():
    adata = ad.AnnData(np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 2.0]], dtype=np.float32))
    adata.var_names = ["MT-CO1", "ACTB", "CTSK"]
    ds.add_qc_metrics(adata)
    assert list(adata.obs["pct_counts_mt"]) == [25.0, 0.0]
    assert list(adata.obs["n_genes_by_counts"]) == [2, 1]
    assert list(adata.var["mt"]) == [True, False, False]


# --------------------------------------------------------------------------- published shapes


def _member(name: str, text: str) -> object:
    from scclast.datasets._members import Member

    return Member(name, text.encode)


def test_text_matrix_layouts_read_the_same(tmp_path: Path):
    from scclast.datasets._tables import text_matrix

    r_style = '"c1" "c2" "c3"\n"Acp5" 0 3 1\n"tomato" 7 0 0\n"Ctsk" 2 0 0\n'
    full_tab = "gene\tc1\tc2\tc3\nAcp5\t0\t3\t1\ntomato\t7\t0\t0\nCtsk\t2\t0\t0\n"
    unquoted = "c1 c2 c3\nAcp5 0 3 1\ntomato 7 0 0\nCtsk 2 0 0\n"
    read = [text_matrix(_member("GSM1_1M_matrix.txt", t), reporters=["TOMATO"])
            for t in (r_style, full_tab, unquoted)]  # fmt: skip
    for adata in read:
        assert list(adata.obs_names) == ["c1", "c2", "c3"]
        assert list(adata.var_names) == ["Acp5", "Ctsk"]
        np.testing.assert_array_equal(adata.X.toarray(), [[0, 2], [3, 0], [1, 0]])
        assert adata.obs["reporter_tomato"].tolist() == [7.0, 0.0, 0.0]


def test_text_matrix_with_a_word_in_the_counts_is_a_data_error():
    from scclast.datasets._tables import text_matrix

    with pytest.raises(ScclastDataError, match="not a numeric genes x cells matrix"):
        text_matrix(_member("GSM1_x_matrix.txt", '"c1" "c2"\n"Acp5" 0 x\n'))


def test_text_matrix_sample_label_drops_the_word_matrix():
    from scclast.datasets._members import group_members

    groups, _ = group_members([_member("GSM4318800_1.5M_matrix.txt", "")])
    assert (groups[0].sample, groups[0].label) == ("GSM4318800", "1.5M")


def test_cell_qc_steps_and_a_missing_mito_gene_warns():
    from scclast._warnings import DataWarning
    from scclast.datasets._qc import cells_from_barcodes

    rng = np.random.default_rng(3)
    dense = np.zeros((6, 50), dtype=np.float32)
    for row, n_genes in enumerate((45, 30, 12, 3, 1, 0)):
        dense[row, rng.choice(50, n_genes, replace=False)] = 1
    adata = ad.AnnData(sp.csr_matrix(dense))
    adata.var["gene_symbols"] = [f"Gene{i}" for i in range(50)]
    with pytest.warns(DataWarning, match="no mitochondrial gene"):
        cells = cells_from_barcodes(
            adata, "s1", filter_empty=True, min_genes=10, qc={"max_genes": 40, "max_pct_mt": 10}
        )
    steps = cells.uns["empty_droplet_filter"]["steps"]
    assert steps == {
        "barcodes": 6,
        "n_genes_by_counts >= 10": 3,
        "n_genes_by_counts <= 40": 2,
        "pct_counts_mt < 10": 2,
    }
    with pytest.raises(ScclastInputError, match="unknown key"):
        cells_from_barcodes(adata, "s1", filter_empty=False, qc={"max_umi": 5})


def test_gtf_gene_map_and_a_file_that_is_not_gtf(tmp_path: Path):
    gtf = tmp_path / "genes.gtf.gz"
    gtf.write_bytes(
        gzip.compress(
            b"#!genome-build GRCm38\n"
            b'1\tensembl\tgene\t1\t9\t.\t+\t.\tgene_id "ENSMUSG00000000001"; '
            b'gene_version "4"; gene_name "Gnai3";\n'
            b'1\tensembl\ttranscript\t1\t9\t.\t+\t.\tgene_id "ENSMUSG00000000001"; '
            b'transcript_id "ENSMUST00000000001"; gene_name "Gnai3";\n'
            b'1\tensembl\tgene\t20\t29\t.\t+\t.\tgene_id "ENSMUSG00000000002";\n'
        )
    )
    assert ds.read_gene_map(gtf) == {"ENSMUSG00000000001": "Gnai3"}
    bad = tmp_path / "bad.gtf"
    bad.write_text("this is a table\twith two columns\n")
    with pytest.raises(ScclastDataError, match="is not a GTF file"):
        ds.read_gene_map(bad)


def test_homer_table_is_told_from_its_header(tmp_path: Path):
    table = tmp_path / "RNAcounts.txt"
    table.write_text(
        "Transcript/RepeatID (cmd=analyzeRepeats.pl rna hg38 -count exons)\tChr\tStart\tEnd"
        "\tStrand\tLength\tCopies\tAnnotation/Divergence\tDonor1_d0\tDonor1_d2\n"
        "NM_1\tchr1\t1\t9\t+\t900\t1\tSLIT3|-|5q34|protein-coding\t4\t9\n"
        "NR_2\tchr2\t1\t9\t+\t900\t1\t\t1\t1\n"
    )
    bulk = ds.read_count_table(table, sample_fields=r"^(?P<donor>[^_]+)_(?P<time_point>.+)$")
    assert list(bulk.var_names) == ["SLIT3", "NR_2"]  # no symbol: the transcript ID stays
    assert list(bulk.obs["time_point"]) == ["day0", "day2"]
    assert bulk.uns["scclast"]["dataset"]["reader"] == "homer_counts"
