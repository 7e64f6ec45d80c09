"""flag() on real mouse bone-marrow counts: background data without osteoclasts.

Fixtures (MIT, see their README files): ``tests/data/tapseq_baccin_bm`` (Baccin et al.
2020 via TAPseq; 9,891 genes x 180 cells) and ``tests/data/tradeseq_paul15`` (Paul et
al. 2015 via tradeSeq; 240 genes x 2,660 cells).
"""

from __future__ import annotations

import pytest
from scclast.flagging import TABLE_COLUMNS, flag
from scclast.lineage import OSTEOCLAST, OSTEOMORPH, UNDETERMINED

from tests._paths import TEST_DATA


def _read(name: str):
    from scclast.datasets import read_mtx_folder

    return read_mtx_folder(TEST_DATA / name)


@pytest.fixture(scope="module")
def bone_marrow():
    return _read("tapseq_baccin_bm")


def test_bone_marrow_has_no_osteoclast_and_no_flag(bone_marrow):
    adata = bone_marrow.copy()
    table = flag(adata, "celltype", enrichment=True, enrichment_permutations=100)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert set(table["group"]) == set(adata.obs["celltype"].astype(str))
    assert OSTEOCLAST not in set(table["lineage_state"])
    assert OSTEOMORPH not in set(table["lineage_state"])
    assert not table["flagged"].any()
    assert not adata.obs["scclast_flagged"].any()
    erythroblasts = table[table["group"] == "Erythroblasts"].iloc[0]
    assert erythroblasts["lineage_state"] == "non-lineage"
    assert erythroblasts["reasons"] == "not flagged: non-lineage (no myeloid identity)"
    assert table["coverage"].tolist()[:2] == ["3/9", "0/5"]


def test_bone_marrow_stays_unflagged_without_the_coverage_guard(bone_marrow):
    adata = bone_marrow.copy()
    table = flag(adata, "celltype", enrichment=False, min_coverage=0.0, min_cells=5)
    assert not table["flagged"].any()


def test_paul15_completes_and_reports_low_coverage():
    adata = _read("tradeseq_paul15")
    table = flag(adata, "celltype", enrichment=True, enrichment_permutations=100)
    assert not table["flagged"].any()
    assert set(table["lineage_state"]) == {UNDETERMINED}
    secreted = table[table["gene_set"] == "clastokines_secreted"]
    putative = table[table["gene_set"] == "clastokines_putative"]
    assert set(secreted["coverage"]) == {"1/9"} and set(putative["coverage"]) == {"0/5"}
    assert putative["mean_score"].isna().all()
    assert putative["enrichment_note"].str.startswith("not computed: 0 of 5").all()
    assert table["reasons"].str.contains("low coverage").all()
    message = adata.uns["scclast"]["flag"]["message"]
    assert "no osteoclast-lineage group" in message
