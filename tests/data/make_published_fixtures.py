"""Write loopback fixtures shaped like the published datasets, under ``tests/data/published/``.

Run ``python tests/data/make_published_fixtures.py`` to regenerate; a test checks that
the committed files equal a fresh run, byte for byte. The *shapes* follow what public
re-analysis code says of the GEO files (file names, delimiters, header layout, archive
layout, reporter rows, missing donors; see each entry's ``status_note`` in
``scclast/datasets/_registry.yaml``); nothing here was checked against GEO itself.
The *contents* are synthetic and small: seeded random counts over real gene symbols
(chosen so that marker, mitochondrial and catalogue look-ups find something), with
placeholder Ensembl IDs (``ENSMUSG999...``, ``ENSG999...``) and RefSeq IDs
(``NM_999...``).

``published/geo/`` mirrors GEO's server (``series/GSE145nnn/GSE145477/suppl/...``) and
``published/ensembl/`` Ensembl's FTP ``pub/`` folder:

* **GSE145477** (Zhong 2020): ``GSE145477_RAW.tar`` of four dense space-separated text
  matrices ``GSM4318799_1M_matrix.txt``, ``GSM4318800_1.5M_matrix.txt``,
  ``GSM4318801_3M_matrix.txt``, ``GSM4318802_16M_matrix.txt``: gene symbols as rows,
  cells as columns, written as R's ``write.table`` writes (quoted names, a header one
  field short), with a ``tomato`` reporter row; plus ``filelist.txt``.
* **GSE169396** (Qiu 2021): ``GSE169396_RAW.tar`` of ``GSM5201883_S1`` ...
  ``GSM5201886_S4`` 10x v3 triplets (``_barcodes.tsv.gz``, ``_features.tsv.gz`` with
  Ensembl IDs, symbols and ``Gene Expression``, ``_matrix.mtx.gz``); plus ``filelist.txt``.
* **GSE246769** (Hansen 2024): ``GSE246769_RNAcounts_Differentiation.txt.gz``, a
  tab-separated HOMER table: ``RefSeqID Chr Start End Strand Length Copies
  Annotation/Divergence`` then 29 samples ``Donor<N>_d<day>`` (days 0, 2, 5, 9; no day 0
  for donors 5, 7 and 8). No ``filelist.txt`` (the series has no ``_RAW.tar``).
* **GSE147174** (Tsukasaki 2020): ``filelist.txt`` and three per-sample 10x v2 triplets
  ``<GSM>_Day0|Day1|Day3_{barcodes,genes,matrix}`` in the sample folders, UNFILTERED:
  each lists 737,280 barcodes (an enumeration standing in for the 10x v2 whitelist;
  the same file for the three days) of which only a few are non-empty, and genes as
  Ensembl IDs only. The GSM accessions (GSM9991470, GSM9991471, GSM9991473) are
  PLACEHOLDERS: the real ones were not seen. Per day, the cells are built so that the
  registry's rule keeps a known number after each step (:data:`TSUKASAKI_STEPS`).
* **GSE128423** (Baryawno 2019): ``filelist.txt`` and per-sample 10x v2 triplets
  ``GSM<id>_<label>.{barcodes.tsv.gz,genes.tsv.gz,matrix.mtx.gz}`` (the ``.`` naming of
  ``GSM3674224_std1``) for ``GSM3674224`` and the bone and marrow samples
  GSM3674239-42, -43, -44, -46; their labels (``bone_1``, ``marrow_1``...) are
  PLACEHOLDERS.
* **Ensembl release 93**: ``release-93/gtf/mus_musculus/Mus_musculus.GRCm38.93.gtf.gz``,
  a GTF (nine tab-separated columns, ``gene`` and ``transcript`` lines) mapping the
  placeholder mouse IDs of GSE147174 to symbols.
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE / "published"
TIME = "02/19/2020 11:12:13"
MTIME = 1582110733

MOUSE_GENES = [
    "Ptprc", "Spi1", "Csf1r", "Lyz2", "Cd68", "Tyrobp", "Fcer1g", "Adgre1", "C1qa", "Mrc1",
    "Tnfrsf11a", "Itgax", "Nfatc1", "Acp5", "Ctsk", "Mmp9", "Dcstamp", "Ocstamp", "Atp6v0d2",
    "Calcr", "Oscar", "Itgb3", "Sphk1", "Spns2", "Wnt10b", "C3", "Cthrc1", "Wnt5a", "Slit3",
    "Lif", "Col1a1", "Col1a2", "Sparc", "Cxcl12", "Lepr", "Actb", "Gapdh", "Malat1",
    "mt-Co1", "mt-Nd1", "mt-Atp6", "mt-Cytb",
]  # fmt: skip
HUMAN_GENES = [g.upper() for g in MOUSE_GENES]
N_MOUSE_FILLERS = 6100 - len(MOUSE_GENES)
"""GSE147174's gene list is long enough for a > 6,000-gene doublet (synthetic names)."""

TSUKASAKI_GSM = {"Day0": "GSM9991470", "Day1": "GSM9991471", "Day3": "GSM9991473"}
TSUKASAKI_BARCODES = 737_280
# cells per day by kind: kept, 201-500 genes, > 5,999 genes (doublet), >= 10% mito
TSUKASAKI_CELLS = {
    "Day0": {"good": 8, "low": 2, "doublet": 1, "mito": 1},
    "Day1": {"good": 10, "low": 1, "doublet": 1, "mito": 2},
    "Day3": {"good": 9, "low": 3, "doublet": 0, "mito": 1},
}
TSUKASAKI_STEPS = {
    day: [
        TSUKASAKI_BARCODES,
        sum(kinds.values()),
        kinds["good"] + kinds["doublet"] + kinds["mito"],
        kinds["good"] + kinds["mito"],
        kinds["good"],
    ]
    for day, kinds in TSUKASAKI_CELLS.items()
}
"""Barcodes, > 200 genes, >= 501, <= 5,999, mito < 10%: what the rule keeps, per day."""

ZHONG = {"GSM4318799": "1M", "GSM4318800": "1.5M", "GSM4318801": "3M", "GSM4318802": "16M"}
QIU = {"GSM5201883": "S1", "GSM5201884": "S2", "GSM5201885": "S3", "GSM5201886": "S4"}
BARYAWNO = {
    "GSM3674224": "std1",
    "GSM3674239": "bone_1",
    "GSM3674240": "bone_2",
    "GSM3674241": "bone_3",
    "GSM3674242": "bone_4",
    "GSM3674243": "marrow_1",
    "GSM3674244": "marrow_2",
    "GSM3674246": "marrow_3",
}
HANSEN_SAMPLES = [
    f"Donor{donor}_d{day}"
    for donor in range(1, 9)
    for day in (0, 2, 5, 9)
    if not (day == 0 and donor in (5, 7, 8))
]


def gz(data: bytes) -> bytes:
    """gzip with a fixed timestamp, so the bytes are reproducible."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(members[name]), MTIME, 0o644
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
        kind = "MTX" if ".mtx" in name else "TXT" if name.endswith(".txt") else "TSV"
        rows.append(f"File\t{name}\t{TIME}\t{len(members[name])}\t{kind}")
    return ("\n".join(rows) + "\n").encode()


def barcodes(n: int, offset: int = 0) -> list[str]:
    """``n`` distinct 16-base barcodes with the ``-1`` suffix of Cell Ranger."""
    index = np.arange(offset, offset + n, dtype=np.int64)
    digits = np.stack([(index >> (2 * k)) & 3 for k in range(15, -1, -1)], axis=1)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[digits]
    return [row.tobytes().decode() + "-1" for row in letters]


def whitelist_bytes() -> bytes:
    """737,280 barcodes, built as bytes in one go (joining strings is slow)."""
    index = np.arange(TSUKASAKI_BARCODES, dtype=np.int64)
    digits = np.stack([(index >> (2 * k)) & 3 for k in range(15, -1, -1)], axis=1)
    lines = np.empty((TSUKASAKI_BARCODES, 19), dtype=np.uint8)
    lines[:, :16] = np.frombuffer(b"ACGT", dtype=np.uint8)[digits]
    lines[:, 16:] = np.frombuffer(b"-1\n", dtype=np.uint8)
    return lines.tobytes()


def mtx_bytes(genes_by_cells: dict[tuple[int, int], int], shape: tuple[int, int]) -> bytes:
    """MatrixMarket coordinate text, entries sorted by column then row (as Cell Ranger)."""
    keys = sorted(genes_by_cells, key=lambda rc: (rc[1], rc[0]))
    lines = [
        "%%MatrixMarket matrix coordinate integer general",
        '%metadata_json: {"software_version": "fixture"}',
        f"{shape[0]} {shape[1]} {len(keys)}",
    ]
    lines += [f"{r + 1} {c + 1} {genes_by_cells[(r, c)]}" for r, c in keys]
    return ("\n".join(lines) + "\n").encode()


def dense_mtx(matrix: np.ndarray) -> bytes:
    rows, cols = np.nonzero(matrix)
    entries = {(int(r), int(c)): int(matrix[r, c]) for r, c in zip(rows, cols, strict=True)}
    return mtx_bytes(entries, matrix.shape)


def cell_counts(
    rng: np.random.Generator, n_genes: int, n_cells: int, n_mito: int = 4
) -> np.ndarray:
    """genes x cells counts: every cell detects >= 20 of the named genes, few mito counts."""
    counts = rng.poisson(1.2, size=(n_genes, n_cells))
    counts[: n_genes - n_mito] += rng.poisson(2.0, size=(n_genes - n_mito, n_cells))
    return counts


def zhong_files() -> dict[str, bytes]:
    rng = np.random.default_rng(145477)
    genes = [*MOUSE_GENES[:20], "tomato", *MOUSE_GENES[20:]]
    members = {}
    for n, (gsm, age) in enumerate(ZHONG.items()):
        n_cells = 15 + 3 * n
        counts = cell_counts(rng, len(genes), n_cells)
        counts[genes.index("tomato")] = rng.poisson(20 if n % 2 else 0.5, size=n_cells)
        cells = barcodes(n_cells, offset=1000 * n)
        lines = [" ".join(f'"{c}"' for c in cells)]
        lines += [f'"{g}" ' + " ".join(map(str, row)) for g, row in zip(genes, counts, strict=True)]
        members[f"{gsm}_{age}_matrix.txt"] = ("\n".join(lines) + "\n").encode()
    return members


def qiu_files() -> dict[str, bytes]:
    rng = np.random.default_rng(169396)
    members = {}
    features = "".join(
        f"ENSG999{n:08d}\t{symbol}\tGene Expression\n" for n, symbol in enumerate(HUMAN_GENES)
    ).encode()
    for n, (gsm, label) in enumerate(QIU.items()):
        n_cells = 20 + 2 * n
        prefix = f"{gsm}_{label}_"
        members[prefix + "barcodes.tsv.gz"] = gz(
            "".join(f"{b}\n" for b in barcodes(n_cells)).encode()
        )
        members[prefix + "features.tsv.gz"] = gz(features)
        members[prefix + "matrix.mtx.gz"] = gz(
            dense_mtx(cell_counts(rng, len(HUMAN_GENES), n_cells))
        )
    return members


def hansen_bytes() -> bytes:
    rng = np.random.default_rng(246769)
    header = ["RefSeqID", "Chr", "Start", "End", "Strand", "Length", "Copies",
              "Annotation/Divergence", *HANSEN_SAMPLES]  # fmt: skip
    lines = ["\t".join(header)]
    for n, symbol in enumerate(HUMAN_GENES):
        start = 1_000_000 + 50_000 * n
        annotation = f"{symbol}|{symbol}L|-|{1 + n % 22}p1{n % 9}|protein-coding"
        values = rng.poisson(30 + 10 * (n % 7), size=len(HANSEN_SAMPLES))
        strand = "+" if n % 2 else "-"
        row = [f"NM_999{n:04d}", f"chr{1 + n % 22}", str(start), str(start + 4_000), strand,
               str(1_500 + n), "1", annotation, *map(str, values)]  # fmt: skip
        lines.append("\t".join(row))
    return gz(("\n".join(lines) + "\n").encode())


def mouse_ids() -> list[str]:
    return [f"ENSMUSG999{n:08d}" for n in range(len(MOUSE_GENES) + N_MOUSE_FILLERS)]


def mouse_symbols() -> list[str]:
    return [*MOUSE_GENES, *(f"Synth{n:05d}" for n in range(N_MOUSE_FILLERS))]


def tsukasaki_matrix(day: str, rng: np.random.Generator) -> bytes:
    """One day's unfiltered genes x 737,280-barcodes matrix, cells at spread-out columns."""
    n_genes = len(mouse_ids())
    mito = [MOUSE_GENES.index(g) for g in MOUSE_GENES if g.startswith("mt-")]
    named = [i for i in range(len(MOUSE_GENES)) if i not in mito]
    entries: dict[tuple[int, int], int] = {}
    kinds = [k for k, n in TSUKASAKI_CELLS[day].items() for _ in range(n)]
    columns = rng.choice(TSUKASAKI_BARCODES, size=len(kinds) + 60, replace=False)
    n_detected = {
        "good": (700, 1500),
        "low": (260, 450),
        "doublet": (6020, 6060),
        "mito": (700, 900),
    }
    for kind, column in zip(kinds, columns, strict=False):
        low, high = n_detected[kind]
        genes = rng.choice(n_genes, size=int(rng.integers(low, high)), replace=False)
        if kind != "low":  # real cells detect the named genes; low ones stay under 500
            genes = np.union1d(named, genes)
        genes = np.setdiff1d(genes, mito)
        for gene in genes:
            entries[(int(gene), int(column))] = int(rng.integers(1, 6))
        total = sum(entries[(int(g), int(column))] for g in genes)
        share = 0.25 if kind == "mito" else 0.02  # mito counts, as a share of the cell's total
        for gene in mito:
            entries[(gene, int(column))] = max(1, int(share * total / len(mito)))
    for n, column in enumerate(columns[len(kinds) :]):  # empty droplets, one at 200 genes
        size = 200 if n == 0 else int(rng.integers(1, 150))
        for gene in rng.choice(n_genes, size=size, replace=False):
            entries[(int(gene), int(column))] = 1
    return gz(mtx_bytes(entries, (n_genes, TSUKASAKI_BARCODES)))


def tsukasaki_files() -> dict[str, bytes]:
    rng = np.random.default_rng(147174)
    genes = gz("".join(f"{i}\t{i}\n" for i in mouse_ids()).encode())
    whitelist = gz(whitelist_bytes())
    files = {}
    for day, gsm in TSUKASAKI_GSM.items():
        files[f"{gsm}_{day}_barcodes.tsv.gz"] = whitelist
        files[f"{gsm}_{day}_genes.tsv.gz"] = genes
        files[f"{gsm}_{day}_matrix.mtx.gz"] = tsukasaki_matrix(day, rng)
    return files


def baryawno_files() -> dict[str, bytes]:
    rng = np.random.default_rng(128423)
    pairs = zip(mouse_ids(), MOUSE_GENES, strict=False)  # the named genes only
    genes = gz("".join(f"{i}\t{s}\n" for i, s in pairs).encode())
    files = {}
    for n, (gsm, label) in enumerate(BARYAWNO.items()):
        n_cells = 12 + n
        prefix = f"{gsm}_{label}."
        files[prefix + "barcodes.tsv.gz"] = gz(
            "".join(f"{b}\n" for b in barcodes(n_cells)).encode()
        )
        files[prefix + "genes.tsv.gz"] = genes
        files[prefix + "matrix.mtx.gz"] = gz(dense_mtx(cell_counts(rng, len(MOUSE_GENES), n_cells)))
    return files


def gtf_bytes() -> bytes:
    lines = ["#!genome-build GRCm38.p6", "#!genome-version GRCm38", "#!genebuild-last-updated 2018"]
    for n, (gene_id, symbol) in enumerate(zip(mouse_ids(), mouse_symbols(), strict=True)):
        start = 3_000_000 + 10_000 * n
        chrom = "MT" if symbol.startswith("mt-") else str(1 + n % 19)
        place = f"{chrom}\tensembl\t{{}}\t{start}\t{start + 999}\t.\t+\t."
        common = f'gene_id "{gene_id}"; gene_version "1"; gene_name "{symbol}"'
        lines.append(place.format("gene") + f'\t{common}; gene_biotype "protein_coding";')
        lines.append(
            place.format("transcript")
            + f'\t{common}; transcript_id "ENSMUST999{n:08d}"; transcript_name "{symbol}-201";'
        )
    return gz(("\n".join(lines) + "\n").encode())


def build() -> dict[str, bytes]:
    """Every fixture file, keyed by its path under ``published/``."""
    files: dict[str, bytes] = {}
    for accession, members in (("GSE145477", zhong_files()), ("GSE169396", qiu_files())):
        folder = f"geo/series/{accession[:6]}nnn/{accession}/suppl"
        archive = tar_bytes(members)
        files[f"{folder}/{accession}_RAW.tar"] = archive
        files[f"{folder}/filelist.txt"] = filelist_bytes(
            f"{accession}_RAW.tar", len(archive), members
        )
    files["geo/series/GSE246nnn/GSE246769/suppl/GSE246769_RNAcounts_Differentiation.txt.gz"] = (
        hansen_bytes()
    )
    for accession, per_sample in (
        ("GSE147174", tsukasaki_files()),
        ("GSE128423", baryawno_files()),
    ):
        # the archive itself is not served (the files come from the sample folders):
        # its size in the listing is what a tar of them would take
        size = sum(512 + 512 * -(-len(data) // 512) for data in per_sample.values()) + 1024
        listing = filelist_bytes(f"{accession}_RAW.tar", size, per_sample)
        files[f"geo/series/{accession[:6]}nnn/{accession}/suppl/filelist.txt"] = listing
        for name, data in per_sample.items():
            gsm = name.split("_", 1)[0]
            files[f"geo/samples/{gsm[:7]}nnn/{gsm}/suppl/{name}"] = data
    files["ensembl/release-93/gtf/mus_musculus/Mus_musculus.GRCm38.93.gtf.gz"] = gtf_bytes()
    return files


def write(root: Path = ROOT) -> list[Path]:
    written = []
    for relpath, data in sorted(build().items()):
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT):
        print(path.relative_to(HERE) if path.is_relative_to(HERE) else path)
