"""Where this checkout keeps its test data and its top-level folders."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The repository's root (the folder holding ``pyproject.toml``)."""

TEST_DATA = Path(__file__).resolve().parent / "data"
"""Fixture files: loopback GEO fixtures, the paul15 subset, a test registry."""
