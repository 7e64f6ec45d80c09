"""``scclast score``: atomic output, input untouched, overwrite guard, backed mode."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import anndata as ad
import numpy as np
import pytest

from scclast._errors import ScclastInputError
from scclast.cli import _score
from scclast.testing import log_normalised, simulate_counts

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture
def h5ad(tmp_path: Path) -> Path:
    adata = log_normalised(simulate_counts(80, 120, seed=5))
    adata.obs["batch"] = ["a", "b"] * 40
    path = tmp_path / "in.h5ad"
    adata.write_h5ad(path)
    return path


@pytest.fixture
def gmt(tmp_path: Path) -> Path:
    path = tmp_path / "sets.gmt"
    path.write_text("up\tmine\tSimg1\tSimg2\tSimg3\tSimg4\nother\tmine\tSimg7\tSimg8\tSimg9\n")
    return path


def run(*argv: str) -> int:
    """Parse with a parser holding only ``score`` (as scclast.cli.main does) and run it."""
    parser = argparse.ArgumentParser(prog="scclast")
    _score.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["score", *map(str, argv)])
    return args.func(args)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_score_writes_a_new_file_and_leaves_the_input_alone(h5ad, gmt, tmp_path):
    before = digest(h5ad)
    out = tmp_path / "out.h5ad"
    assert run(h5ad, "-o", out, "--method", "ucell", "--gene-sets", gmt, "--no-progress") == 0
    assert digest(h5ad) == before
    scored = ad.read_h5ad(out)
    original = ad.read_h5ad(h5ad)
    assert {"scclast_up", "scclast_other", "batch"} <= set(scored.obs)
    assert scored.uns["scclast"]["score"]["method"] == "ucell"
    assert (scored.X != original.X).nnz == 0
    assert not list(tmp_path.glob(".*.tmp"))


def test_backed_output_equals_in_memory_output(h5ad, gmt, tmp_path):
    outputs = []
    for backed in ([], ["--backed"]):
        out = tmp_path / f"out{len(outputs)}.h5ad"
        args = [h5ad, "-o", out, "--gene-sets", gmt, "--chunk-size", "17", *backed]
        assert run(*args, "--method", "seurat", "--seed", "3") == 0
        outputs.append(ad.read_h5ad(out))
    np.testing.assert_array_equal(
        outputs[0].obs["scclast_up"].to_numpy(), outputs[1].obs["scclast_up"].to_numpy()
    )
    assert outputs[1].uns["scclast"]["score"]["input"]["storage"] == "backed"


def test_existing_output_needs_force(h5ad, gmt, tmp_path):
    out = tmp_path / "out.h5ad"
    out.write_bytes(b"keep me")
    with pytest.raises(ScclastInputError, match=r"exists: pass --force"):
        run(h5ad, "-o", out, "--gene-sets", gmt)
    assert out.read_bytes() == b"keep me"
    assert run(h5ad, "-o", out, "--gene-sets", gmt, "--method", "mean", "--force") == 0
    assert "scclast_up" in ad.read_h5ad(out).obs


def test_the_input_is_never_the_output(h5ad, gmt):
    before = digest(h5ad)
    with pytest.raises(ScclastInputError, match=r"is the input file"):
        run(h5ad, "-o", h5ad, "--gene-sets", gmt, "--force")
    assert digest(h5ad) == before


def test_user_errors_are_one_line_and_leave_no_file(h5ad, gmt, tmp_path):
    out = tmp_path / "out.h5ad"
    cases = [
        ((tmp_path / "missing.h5ad", "-o", out, "--gene-sets", gmt), "not found"),
        ((h5ad, "-o", tmp_path / "no" / "out.h5ad", "--gene-sets", gmt), "does not exist"),
        ((h5ad, "-o", out, "--gene-sets", gmt, "--layer", "spliced"), "layer 'spliced'"),
        ((h5ad, "-o", out, "--gene-sets", gmt, "--gene-symbols", "sym"), "gene_symbols='sym'"),
    ]
    for argv, message in cases:
        with pytest.raises(ScclastInputError, match=message) as info:
            run(*argv)
        assert "\n" not in str(info.value)
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    not_h5ad = tmp_path / "bad.h5ad"
    not_h5ad.write_text("not hdf5")
    with pytest.raises(ScclastInputError, match=r"is not an HDF5 file"):
        run(not_h5ad, "-o", out, "--gene-sets", gmt)


def test_main_exit_status(h5ad, gmt, tmp_path, capsys):
    from scclast import cli

    out = tmp_path / "out.h5ad"
    assert cli.main(["score", str(h5ad), "-o", str(out), "--gene-sets", str(gmt)]) == 0
    capsys.readouterr()
    assert cli.main(["score", str(h5ad), "-o", str(out), "--gene-sets", str(gmt)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("scclast: error: output") and "\n" not in error


def test_key_added_names_the_columns_and_the_record(h5ad, gmt, tmp_path):
    out = tmp_path / "out.h5ad"
    assert run(h5ad, "-o", out, "--gene-sets", gmt, "--method", "mean", "--key-added", "k2") == 0
    scored = ad.read_h5ad(out)
    assert {"k2_up", "k2_other"} <= set(scored.obs) and "scclast_up" not in scored.obs
    assert scored.uns["k2"]["score"]["parameters"]["key_added"] == "k2"


def test_parser_choices_and_defaults_match_the_api():
    """The CLI repeats the API's choices and chunk size (to stay light to import)."""
    import inspect

    from scclast import _matrix, _types
    from scclast.tl import METHODS, score

    subparsers = argparse.ArgumentParser(prog="scclast").add_subparsers(dest="command")
    _score.add_parser(subparsers)
    actions = {action.dest: action for action in subparsers.choices["score"]._actions}
    assert tuple(actions["method"].choices) == METHODS
    assert tuple(actions["normalize"].choices) == _types.NORMALIZE_OPTIONS
    assert tuple(actions["species"].choices) == _types.SPECIES
    assert tuple(actions["ties"].choices) == _types.TIES
    assert _score.DEFAULT_CHUNK_SIZE == _matrix.DEFAULT_CHUNK_SIZE
    assert actions["chunk_size"].default == _matrix.DEFAULT_CHUNK_SIZE
    defaults = inspect.signature(score).parameters
    for dest in ("method", "normalize", "species", "ties", "key_added", "min_genes", "seed"):
        assert actions[dest].default == defaults[dest].default, dest
    for dest in ("n_bins", "ctrl_size", "max_rank", "n_up", "n_jobs", "chunk_size"):
        assert actions[dest].default == defaults[dest].default, dest
