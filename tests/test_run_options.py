"""Section options: one declaration reaches the CLI, scclast.run and the workflow config."""

from __future__ import annotations

import argparse

import pytest

from scclast import _run_options
from scclast._errors import ScclastInputError
from scclast._run_options import Option, resolve_options

DEMO = (
    Option("demo", "reference", "level to compare against", metavar="LEVEL"),
    Option("demo", "n_perms", "permutations", type=int, default=100),
    Option("demo", "mode", "how", choices=("a", "b"), default="a"),
    Option("demo", "skip_demo", "do not run it", type=bool, default=False),
)


@pytest.fixture
def demo_options(monkeypatch):
    monkeypatch.setattr(_run_options, "OPTIONS", DEMO)
    from scclast.cli import _run as cli_run

    monkeypatch.setattr(cli_run, "OPTIONS", DEMO)
    return DEMO


def test_flag_names_follow_the_option_name():
    assert [o.flag for o in DEMO] == ["--reference", "--n-perms", "--mode", "--skip-demo"]
    assert [o.is_switch for o in DEMO] == [False, False, False, True]


def test_resolve_fills_defaults_and_refuses_unknown_names(demo_options):
    assert resolve_options({"reference": "sham"}) == {
        "reference": "sham",
        "n_perms": 100,
        "mode": "a",
        "skip_demo": False,
    }
    with pytest.raises(ScclastInputError, match=r"unknown run option 'colour'.*reference"):
        resolve_options({"colour": "red"})
    with pytest.raises(ScclastInputError, match="--mode 'c' is not one of a, b"):
        resolve_options({"mode": "c"})


def test_cli_gets_one_flag_per_option(demo_options):
    from scclast.cli import _run as cli_run

    parser = argparse.ArgumentParser()
    cli_run._add_section_options(parser)
    args = parser.parse_args(["--reference", "sham", "--n-perms", "7", "--skip-demo"])
    assert cli_run._section_options(args) == {
        "reference": "sham",
        "n_perms": 7,
        "mode": "a",
        "skip_demo": True,
    }
    assert "demo options" in parser.format_help()


def test_run_refuses_an_unknown_option_before_any_work(tmp_path):
    import scclast

    with pytest.raises(ScclastInputError, match="unknown run option 'colour'"):
        scclast.run(example=True, outdir=tmp_path / "out", colour="red")
    assert not (tmp_path / "out").exists()


def test_declared_options_are_unique_and_documented():
    names = [o.name for o in _run_options.OPTIONS]
    assert len(names) == len(set(names))
    for option in _run_options.OPTIONS:
        assert option.help.strip(), option.name
        assert option.name.isidentifier(), option.name
