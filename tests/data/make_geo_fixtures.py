"""Write the tiny GEO-shaped fixtures under ``tests/data/geo/`` (deterministically).

Run ``python tests/data/make_geo_fixtures.py`` to regenerate; a test checks that the
committed files equal a fresh run, byte for byte. Everything here is synthetic: the
accessions (GSE999001...) are placeholders above any number GEO has issued, and the
Ensembl-style IDs (ENSMUSG999...) are placeholders too; the symbols are real mouse
symbols chosen only so that mitochondrial and marker look-ups have something to find.

Layout, as on GEO's server (``<base>/series/GSE999nnn/GSE999001/suppl/...``):

* GSE999001: ``GSE999001_RAW.tar`` with per-GSM 10x triplets: GSM9990011 (``d0_raw``,
  v2 ``genes.tsv``, unfiltered: 12 cells plus 40 near-empty barcodes) and GSM9990012
  (``d3``, v3 ``features.tsv`` with one Antibody Capture row, filtered); plus
  ``filelist.txt``.
* GSE999002: ``GSE999002_counts.txt.gz``, a genes x samples count table (gene_id,
  gene_name, then D1_day0, D1_day2, D2_day0, D2_day2).
* GSE999003: ``filelist.txt`` only; its per-sample files (GSM9990031 ``Day0``, GSM9990032
  ``Day3``; v2 triplets with Ensembl IDs in both gene columns, unfiltered) live in the
  sample folders ``samples/GSM9990nnn/GSM999003x/suppl/``, as GEO serves them.

``filelist.txt`` follows GEO's format: tab-separated, header ``#Archive/File  Name  Time
Size  Type``, one ``Archive`` row for the ``_RAW.tar`` and one ``File`` row per member,
``Time`` as ``MM/DD/YYYY HH:MM:SS``, ``Size`` in bytes. (The ``Type`` words are our
best reading of GEO's listings; scclast does not use them.)
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GEO_ROOT = HERE / "geo"
TIME = "03/16/2020 10:11:12"

# (placeholder Ensembl ID, real mouse symbol). Two IDs share "Ptprc" (duplicate symbols);
# the last two have no symbol in the v2 file (ID repeated), to test gene_map.
GENES = [
    ("ENSMUSG99900000001", "Ptprc"),
    ("ENSMUSG99900000002", "Spi1"),
    ("ENSMUSG99900000003", "Csf1r"),
    ("ENSMUSG99900000004", "Acp5"),
    ("ENSMUSG99900000005", "Ctsk"),
    ("ENSMUSG99900000006", "Mmp9"),
    ("ENSMUSG99900000007", "Nfatc1"),
    ("ENSMUSG99900000008", "Sphk1"),
    ("ENSMUSG99900000009", "Slit3"),
    ("ENSMUSG99900000010", "Actb"),
    ("ENSMUSG99900000011", "mt-Co1"),
    ("ENSMUSG99900000012", "mt-Nd1"),
    ("ENSMUSG99900000013", "Ptprc"),
    ("ENSMUSG99900000014", "Gapdh"),
    ("ENSMUSG99900000015", "Lyz2"),
    ("ENSMUSG99900000016", "Cd68"),
    ("ENSMUSG99900000017", "Tyrobp"),
    ("ENSMUSG99900000018", "Fcer1g"),
    ("ENSMUSG99900000019", "Calcr"),
    ("ENSMUSG99900000020", "Dcstamp"),
]
N_CELLS, N_EMPTY = 12, 40
CELL_MIN_GENES = 8  # every real cell detects >= 8 genes; every empty barcode <= 2


def gz(data: bytes) -> bytes:
    """gzip with a fixed timestamp, so the bytes are reproducible."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def counts_matrix(seed: int, n_cells: int, n_empty: int, extra_rows: int = 0) -> np.ndarray:
    """genes x barcodes integer counts: cells first, then near-empty droplets; then
    ``extra_rows`` of non-gene features (antibody tags) in every barcode."""
    rng = np.random.default_rng(seed)
    n_genes = len(GENES)
    cells = rng.poisson(3.0, size=(n_genes, n_cells))
    for j in range(n_cells):  # guarantee >= CELL_MIN_GENES detected genes
        cells[rng.choice(n_genes, CELL_MIN_GENES, replace=False), j] += 1
    empty = np.zeros((n_genes, n_empty), dtype=int)
    for j in range(n_empty):
        empty[rng.choice(n_genes, 1 + j % 2, replace=False), j] = 1
    genes = np.concatenate([cells, empty], axis=1)
    tags = rng.poisson(20.0, size=(extra_rows, genes.shape[1])) + 1
    return np.concatenate([genes, tags], axis=0)


def mtx_bytes(matrix: np.ndarray) -> bytes:
    rows, cols = np.nonzero(matrix)
    lines = [
        "%%MatrixMarket matrix coordinate integer general",
        "%",
        f"{matrix.shape[0]} {matrix.shape[1]} {len(rows)}",
    ]
    order = np.lexsort((rows, cols))
    lines += [f"{rows[k] + 1} {cols[k] + 1} {matrix[rows[k], cols[k]]}" for k in order]
    return ("\n".join(lines) + "\n").encode()


def barcodes_bytes(n: int, salt: int) -> bytes:
    bases = "ACGT"
    rng = np.random.default_rng(salt)
    codes = ["".join(bases[i] for i in rng.integers(0, 4, 16)) + "-1" for _ in range(n)]
    return ("\n".join(codes) + "\n").encode()


def genes_v2(ids_only_tail: int = 2) -> bytes:
    rows = [f"{i}\t{s}" for i, s in GENES[:-ids_only_tail]]
    rows += [f"{i}\t{i}" for i, _ in GENES[-ids_only_tail:]]
    return ("\n".join(rows) + "\n").encode()


def genes_ids_only() -> bytes:
    return ("\n".join(f"{i}\t{i}" for i, _ in GENES) + "\n").encode()


def features_v3() -> bytes:
    rows = [f"{i}\t{s}\tGene Expression" for i, s in GENES]
    rows.append("CD45_TotalSeqB\tCD45\tAntibody Capture")
    return ("\n".join(rows) + "\n").encode()


def triplet(prefix: str, sep: str, matrix: np.ndarray, genes: bytes, salt: int) -> dict[str, bytes]:
    kind = "features" if b"Gene Expression" in genes else "genes"
    return {
        f"{prefix}{sep}barcodes.tsv.gz": gz(barcodes_bytes(matrix.shape[1], salt)),
        f"{prefix}{sep}{kind}.tsv.gz": gz(genes),
        f"{prefix}{sep}matrix.mtx.gz": gz(mtx_bytes(matrix)),
    }


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(members[name]), 1584353472, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "geo"
            archive.addfile(info, io.BytesIO(members[name]))
    return buffer.getvalue()


def filelist_bytes(archive: str, archive_size: int, members: dict[str, bytes]) -> bytes:
    rows = [
        "#Archive/File\tName\tTime\tSize\tType",
        f"Archive\t{archive}\t{TIME}\t{archive_size}\tTAR",
    ]
    for name in sorted(members):
        kind = "MTX" if ".mtx" in name else "TSV"
        rows.append(f"File\t{name}\t{TIME}\t{len(members[name])}\t{kind}")
    return ("\n".join(rows) + "\n").encode()


def count_table_bytes() -> bytes:
    rng = np.random.default_rng(2)
    samples = ["D1_day0", "D1_day2", "D2_day0", "D2_day2"]
    lines = ["\t".join(["gene_id", "gene_name", *samples])]
    for gene_id, symbol in GENES:
        values = rng.poisson(50, size=len(samples))
        lines.append("\t".join([gene_id, symbol, *map(str, values)]))
    return gz(("\n".join(lines) + "\n").encode())


def build() -> dict[str, bytes]:
    """Every fixture file, keyed by its path under ``geo/``."""
    files: dict[str, bytes] = {}
    series = "series/GSE999nnn"

    raw = {
        **triplet("GSM9990011_d0_raw", "_", counts_matrix(11, N_CELLS, N_EMPTY), genes_v2(), 11),
        **triplet(
            "GSM9990012_d3", "_", counts_matrix(12, N_CELLS, 0, extra_rows=1), features_v3(), 12
        ),
    }
    archive = tar_bytes(raw)
    files[f"{series}/GSE999001/suppl/GSE999001_RAW.tar"] = archive
    files[f"{series}/GSE999001/suppl/filelist.txt"] = filelist_bytes(
        "GSE999001_RAW.tar", len(archive), raw
    )

    files[f"{series}/GSE999002/suppl/GSE999002_counts.txt.gz"] = count_table_bytes()

    per_sample = {
        "GSM9990031": triplet(
            "GSM9990031_Day0", "_", counts_matrix(31, N_CELLS, N_EMPTY), genes_ids_only(), 31
        ),
        "GSM9990032": triplet(
            "GSM9990032_Day3", "_", counts_matrix(32, N_CELLS, N_EMPTY), genes_ids_only(), 32
        ),
    }
    members = {name: data for group in per_sample.values() for name, data in group.items()}
    archive3 = tar_bytes(members)
    files[f"{series}/GSE999003/suppl/filelist.txt"] = filelist_bytes(
        "GSE999003_RAW.tar", len(archive3), members
    )
    for gsm, group in per_sample.items():
        for name, data in group.items():
            files[f"samples/GSM9990nnn/{gsm}/suppl/{name}"] = data
    return files


def write(root: Path = GEO_ROOT) -> list[Path]:
    written = []
    for relpath, data in sorted(build().items()):
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else GEO_ROOT):
        print(path.relative_to(HERE) if path.is_relative_to(HERE) else path)
