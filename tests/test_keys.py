"""The API contract: one keys module, one return rule, shared docs, closed choices."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from scclast import get, tl
from scclast._adata import copy_or_self, set_obs_columns
from scclast._docs import doc_copy, doc_matrix, doc_params, shared_docs
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY, EMBEDDING_BASIS, Keys, Step
from scclast._types import SCORE_METHODS, SPECIES, check_choice
from scclast._warnings import DataWarning, LowCoverageWarning, ScclastWarning, warn
from scclast.testing import simulate_groups


def _small(n: int = 4) -> ad.AnnData:
    obs = pd.DataFrame({"g": ["a", "b"] * (n // 2)}, index=[f"c{i}" for i in range(n)])
    return ad.AnnData(np.ones((n, 3), dtype=np.float32), obs=obs)


def test_every_name_derives_from_key_added():
    keys = Keys()
    assert keys.key_added == DEFAULT_KEY == "scclast" == keys.uns
    assert keys.score("clastokines_secreted") == "scclast_clastokines_secreted"
    assert keys.z("clastokines_secreted") == "scclast_clastokines_secreted_z"
    assert keys.pval("clastokines_secreted") == "scclast_clastokines_secreted_pval"
    assert keys.lineage_state == "scclast_lineage_state"
    assert keys.flagged == "scclast_flagged"
    assert keys.leiden == "scclast_leiden"
    assert keys.embedding == EMBEDDING_BASIS == "X_umap"
    run2 = Keys("run2")
    assert (run2.uns, run2.score("s"), run2.z("s"), run2.pval("s")) == (
        "run2",
        "run2_s",
        "run2_s_z",
        "run2_s_pval",
    )
    assert (run2.lineage_state, run2.flagged, run2.leiden) == (
        "run2_lineage_state",
        "run2_flagged",
        "run2_leiden",
    )
    assert run2.embedding == "X_umap"  # shared with scanpy, not per key
    assert Keys("a.b-c_1").uns == "a.b-c_1"
    assert [str(s) for s in Step] == [
        "score",
        "lineage",
        "flag",
        "enrichment",
        "embedding",
        "cluster",
        "pseudotime",
        "trajectory",
        "timecourse",
        "conditions",
        "receivers",
        "communication",
        "workflow",
    ]


@pytest.mark.parametrize("bad", ["", "my run", "1run", "_run", "run/2", "run\n", None, 3])
def test_bad_keys_are_one_line_errors(bad):
    with pytest.raises(ScclastInputError, match="key_added=") as err:
        Keys(bad)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert "use letters, digits" in str(err.value)


def test_store_record_and_require():
    adata = _small()
    keys = Keys()
    assert keys.record(adata, Step.FLAG) == {}
    keys.store(adata, Step.SCORE, {"columns": {"s": "scclast_s"}})
    keys.store(adata, "flag", {"table": "t"})
    assert set(adata.uns["scclast"]) == {"score", "flag"}  # storing keeps the other steps
    assert keys.record(adata, "score") == {"columns": {"s": "scclast_s"}}
    assert keys.require(adata, Step.FLAG, "scclast.tl.flag") == {"table": "t"}
    with pytest.raises(ScclastInputError) as err:
        keys.require(adata, Step.LINEAGE, "scclast.tl.lineage_states")
    assert str(err.value) == (
        "adata.uns['scclast']['lineage'] is missing: run scclast.tl.lineage_states first "
        "(with key_added='scclast')"
    )
    Keys("run2").store(adata, Step.LINEAGE, {"table": "u"})
    with pytest.raises(ScclastInputError, match=r"; found under key_added='run2'$"):
        keys.require(adata, Step.LINEAGE, "scclast.tl.lineage_states")
    adata.uns["other"] = "not a mapping"
    assert Keys("other").record(adata, Step.FLAG) == {}
    adata.uns["scclast"]["cluster"] = "not a mapping"
    assert keys.record(adata, Step.CLUSTER) == {}


def test_score_columns_reads_records_not_prefixes():
    adata = simulate_groups({"macrophage": 30, "osteoclast": 30}, seed=0, n_background=50)
    adata.obs["scclast_mine"] = 1.0  # the user's column with the default prefix
    adata.obs["scclast_lineage_state"] = "user"  # and one with a name scclast would use
    keys = Keys()
    assert keys.score_columns(adata) == []
    assert get.scores(adata).columns.tolist() == []
    tl.score(adata, {"s": ["Slit3", "Lif", "C3"]}, method="mean")
    assert get.scores(adata).columns.tolist() == ["scclast_s"]
    tl.lineage_states(adata, "state_true")  # now the state column is scclast's
    assert get.scores(adata).columns.tolist() == ["scclast_lineage_state", "scclast_s"]
    assert "scclast_mine" not in get.scores(adata)
    scores = get.scores(adata)
    assert scores.index.name == "cell" and scores.index.tolist() == adata.obs_names.tolist()
    # columns recorded as a list (another writer) are read too
    keys.store(adata, Step.SCORE, {"columns": np.array(["scclast_mine"])})
    assert "scclast_mine" in keys.score_columns(adata)


def test_copy_or_self_and_set_obs_columns(tmp_path):
    adata = _small()
    assert copy_or_self(adata, False) is adata
    copied = copy_or_self(adata, True)
    assert copied is not adata and copied.obs.equals(adata.obs)
    adata.write_h5ad(tmp_path / "a.h5ad")
    backed = ad.read_h5ad(tmp_path / "a.h5ad", backed="r")
    try:
        assert copy_or_self(backed, False) is backed
        with pytest.raises(ScclastInputError, match="backed AnnData") as err:
            copy_or_self(backed, True)
        assert "\n" not in str(err.value)
    finally:
        backed.file.close()
    set_obs_columns(adata, pd.DataFrame({"g": ["x"] * 4, "new": [1, 2, 3, 4]}, index=range(4)))
    assert adata.obs.columns.tolist() == ["g", "new"]
    assert adata.obs["g"].tolist() == ["x"] * 4  # replaced, aligned by position
    assert adata.obs.index.tolist() == ["c0", "c1", "c2", "c3"]


@pytest.fixture(scope="module")
def backed_file(tmp_path_factory):
    adata = simulate_groups({"macrophage": 30, "osteoclast": 30}, seed=0, n_background=50)
    path = tmp_path_factory.mktemp("backed") / "small.h5ad"
    adata.write_h5ad(path)
    return path


@pytest.mark.parametrize(
    "call",
    [
        lambda a: tl.score(a, {"s": ["Slit3", "Lif"]}, copy=True),
        lambda a: tl.lineage_states(a, "state_true", copy=True),
        lambda a: tl.flag(a, "state_true", enrichment=False, copy=True),
        lambda a: tl.prerank(a, "state_true", copy=True),
        lambda a: tl.cluster(a, copy=True),
        lambda a: tl.umap(a, copy=True),
    ],
    ids=["score", "lineage_states", "flag", "prerank", "cluster", "umap"],
)
def test_backed_data_cannot_be_copied_by_any_tool(backed_file, call):
    backed = ad.read_h5ad(backed_file, backed="r")
    try:
        with pytest.raises(ScclastInputError, match="copy=True is not possible for a backed"):
            call(backed)
        assert "scclast" not in backed.uns
    finally:
        backed.file.close()


def test_copy_returns_a_modified_copy_and_leaves_the_input_alone():
    adata = simulate_groups({"macrophage": 30, "osteoclast": 30}, seed=1, n_background=50)
    obs, uns = adata.obs.copy(), dict(adata.uns)
    copy = tl.lineage_states(adata, "state_true", copy=True)
    assert isinstance(copy, ad.AnnData) and copy is not adata
    pd.testing.assert_frame_equal(adata.obs, obs)
    assert dict(adata.uns) == uns
    assert Keys().lineage_state in copy.obs and "lineage" in copy.uns["scclast"]
    assert tl.lineage_states(adata, "state_true") is None
    pd.testing.assert_frame_equal(adata.obs, copy.obs)


def test_doc_params_fills_named_fragments_with_their_indent():
    @doc_params(doc_copy=doc_copy, doc_matrix=doc_matrix)
    def func() -> None:
        """Do it.

        Parameters
        ----------
        genes
            A ``{name: genes}`` mapping (braces left alone).
        {doc_matrix}
        {doc_copy}
        """

    doc = func.__doc__
    assert "{doc_" not in doc and "{name: genes}" in doc
    assert "        copy\n            Return a modified copy" in doc
    assert "        layer\n            Use ``adata.layers[layer]``" in doc
    assert "        gene_symbols\n" in doc
    assert set(shared_docs()) >= {"doc_copy", "doc_matrix", "doc_adata", "doc_key_added"}


def test_doc_params_refuses_unknown_or_unpassed_placeholders():
    with pytest.raises(KeyError, match=r"unknown doc fragment \{doc_typo\}"):

        @doc_params(doc_copy=doc_copy)
        def typo() -> None:
            """Do it.

            {doc_typo}
            """

    with pytest.raises(KeyError, match=r"\{doc_matrix\}"):

        @doc_params(doc_copy=doc_copy)
        def unpassed() -> None:
            """Do it.

            {doc_matrix}
            """

    def undocumented() -> None:
        pass

    assert doc_params(doc_copy=doc_copy)(undocumented) is undocumented


def test_public_tools_carry_the_shared_docs():
    for func in (tl.flag, tl.lineage_states, tl.prerank, tl.cluster):
        assert "{doc_" not in func.__doc__, func.__name__
        assert "Return a modified copy" in func.__doc__, func.__name__
        assert "Root of every ``obs``/``uns`` name" in func.__doc__, func.__name__


def test_closed_choices_and_warning_classes():
    assert SPECIES == ("auto", "mouse", "human")
    assert "seurat" in SCORE_METHODS
    check_choice("species", "mouse", SPECIES)
    with pytest.raises(ScclastInputError, match="species='rat' is not one of auto, mouse, human"):
        check_choice("species", "rat", SPECIES)

    def caller() -> None:
        warn("dropped 3 cells", DataWarning, stacklevel=2)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        caller()
        warn("low", LowCoverageWarning)
    assert [w.category for w in caught] == [DataWarning, LowCoverageWarning]
    assert all(issubclass(w.category, ScclastWarning) for w in caught)
    assert issubclass(ScclastWarning, UserWarning)
    assert caught[0].filename == __file__  # attributed to the caller, not to _warnings.py
