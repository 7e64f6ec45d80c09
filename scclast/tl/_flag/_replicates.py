"""The biological replicates of a flag: the sample key, its checks, and the cell classes.

A *sample* is the biological replicate (an animal, a donor, a culture): with a sample
key the group decision is made on one pseudobulk value per sample x group, so the
sample, not the cell, is the unit of the test. Without one (or with too few samples)
cells are treated as independent and every flag is labelled exploratory; the message
then names an ``obs`` column that looks like a replicate column, if there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scclast._errors import ScclastInputError
from scclast._warnings import DataWarning, warn

if TYPE_CHECKING:
    from anndata import AnnData

EXPLORATORY = "exploratory (cells treated as independent)"
"""The ``evidence`` of a row tested with cells as the unit of replication."""

REPLICATE_WORDS = (
    "sample",
    "samples",
    "sample_id",
    "donor",
    "donor_id",
    "mouse",
    "mice",
    "animal",
    "animal_id",
    "individual",
    "patient",
    "subject",
    "replicate",
    "rep",
    "biological_replicate",
    "batch",
    "orig.ident",
    "library",
    "library_id",
    "culture",
    "specimen",
)
"""``obs`` column names that usually hold the biological replicate (case-insensitive)."""

_MAX_SAMPLE_SHARE = 0.2
"""A replicate column has far fewer labels than cells (a name per cell is not one)."""


def check_sample_key(adata: AnnData, sample_key: str) -> tuple[np.ndarray, list[str]]:
    """Integer sample code per cell (``-1``: no label) and the sample labels.

    Raises
    ------
    ScclastInputError
        The column is missing (the message lists replicate-like columns, or all),
        holds continuous numbers or a name per cell, or has a single sample.

    Examples
    --------
    >>> import anndata as ad
    >>> obs = pd.DataFrame({"mouse": ["m1", "m2", "m1", "m3"]}, index=list("abcd"))
    >>> codes, samples = check_sample_key(ad.AnnData(obs=obs), "mouse")
    >>> codes.tolist(), samples
    ([0, 1, 0, 2], ['m1', 'm2', 'm3'])
    >>> check_sample_key(ad.AnnData(obs=obs), "donor")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: sample_key='donor' is not a column of adata.obs; ...
    """
    obs = adata.obs
    if sample_key not in obs.columns:
        likely = candidate_columns(obs)
        listed = ", ".join(likely) if likely else ", ".join(map(str, obs.columns)) or "(none)"
        what = "replicate-like columns" if likely else "available columns"
        raise ScclastInputError(
            f"sample_key={sample_key!r} is not a column of adata.obs; {what}: {listed}"
        )
    labels = obs[sample_key]
    present = labels.dropna()
    n_labels = int(present.nunique())
    if pd.api.types.is_float_dtype(present.dtype):
        values = present.to_numpy(dtype=float)
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            raise ScclastInputError(
                f"obs[{sample_key!r}] holds continuous numbers ({n_labels:,} distinct "
                "values), not sample labels: give the column naming each cell's animal, "
                "donor or culture"
            )
    if n_labels > 50 and n_labels > _MAX_SAMPLE_SHARE * max(1, present.size):
        raise ScclastInputError(
            f"obs[{sample_key!r}] has {n_labels:,} distinct labels for {present.size:,} "
            "cells (a name per cell, not a replicate): give the column naming each "
            "cell's animal, donor or culture"
        )
    if n_labels < 2:
        raise ScclastInputError(
            f"obs[{sample_key!r}] has {n_labels} sample(s): replicate-level tests need "
            "at least 2 (3 or more for a paired test); leave the sample key out"
        )
    missing = int(labels.isna().sum())
    if missing:
        warn(
            f"obs[{sample_key!r}] has no sample for {missing:,} of {labels.size:,} cells: "
            "they count in the cell-level statistics but in no sample's pseudobulk",
            DataWarning,
            stacklevel=1,
        )
    categorical = labels.astype("category").cat.remove_unused_categories()
    samples = [str(c) for c in categorical.cat.categories]
    if len(set(samples)) != len(samples):
        raise ScclastInputError(f"obs[{sample_key!r}] has labels that collide as text: rename them")
    return categorical.cat.codes.to_numpy().astype(np.intp), samples


def candidate_columns(obs: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """``obs`` columns that look like a biological replicate column, best first.

    A column qualifies by name (:data:`REPLICATE_WORDS`, case-insensitive, also as a
    prefix or suffix such as ``mouse_id`` or ``donor.id``) and by content: 2 or more
    labels, far fewer than cells.

    Examples
    --------
    >>> obs = pd.DataFrame({"cluster": list("aabb"), "Mouse_ID": list("xyxy"),
    ...                     "orig.ident": list("pppp")})
    >>> candidate_columns(obs)
    ['Mouse_ID']
    """
    found = []
    for column in obs.columns:
        name = str(column)
        if name in exclude or not _replicate_name(name):
            continue
        values = obs[column].dropna()
        n_labels = int(values.nunique())
        if n_labels < 2 or n_labels > max(2, _MAX_SAMPLE_SHARE * len(values)):
            continue
        if pd.api.types.is_float_dtype(values.dtype) and not np.all(
            values.to_numpy(dtype=float) == np.round(values.to_numpy(dtype=float))
        ):
            continue
        found.append(name)
    return sorted(found, key=lambda n: _rank(n))


def _replicate_name(name: str) -> bool:
    lowered = name.lower()
    if lowered in REPLICATE_WORDS:
        return True
    parts = [p for p in re.split(r"[^a-z0-9]+", lowered) if p]
    return bool(parts) and (parts[0] in REPLICATE_WORDS or parts[-1] in REPLICATE_WORDS)


def _rank(name: str) -> int:
    lowered = name.lower()
    for position, word in enumerate(REPLICATE_WORDS):
        if lowered == word or lowered.startswith(word) or lowered.endswith(word):
            return position
    return len(REPLICATE_WORDS)


@dataclass
class Design:
    """Groups x samples: which class of cells each cell belongs to.

    Class ``g * (n_samples + 1) + s`` holds the cells of group ``g`` in sample ``s``;
    slot ``s = n_samples`` holds the group's cells without a sample; the last class holds
    the cells without a group.

    Examples
    --------
    >>> design = Design("mouse", ["m1", "m2"], np.array([0, 1, -1, 0]))
    >>> codes, n = design.class_codes(np.array([0, 0, 1, -1]), n_groups=2)
    >>> codes.tolist(), n
    ([0, 1, 5, 6], 7)
    """

    sample_key: str | None
    samples: list[str]
    sample_codes: np.ndarray

    @property
    def n_samples(self) -> int:
        """Number of samples (0 without a sample key)."""
        return len(self.samples)

    @property
    def slots(self) -> int:
        """Classes per group: one per sample, plus the cells without a sample."""
        return self.n_samples + 1

    def class_codes(self, group_codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, int]:
        """Class of every cell, and the number of classes."""
        slot = np.where(self.sample_codes >= 0, self.sample_codes, self.n_samples)
        outside = n_groups * self.slots
        codes = np.where(group_codes >= 0, group_codes * self.slots + slot, outside)
        return codes.astype(np.intp), outside + 1

    def classes_of(self, group: int) -> np.ndarray:
        """Every class of one group (its samples, then its cells without a sample)."""
        return group * self.slots + np.arange(self.slots)


def make_design(adata: AnnData, sample_key: str | None) -> Design:
    """The design of a flag: samples from ``obs[sample_key]``, or none.

    Examples
    --------
    >>> import anndata as ad
    >>> make_design(ad.AnnData(obs=pd.DataFrame(index=["a", "b"])), None).n_samples
    0
    """
    if sample_key is None:
        return Design(None, [], np.full(adata.n_obs, -1, dtype=np.intp))
    codes, samples = check_sample_key(adata, sample_key)
    return Design(sample_key, samples, codes)


def exploratory_note(
    design: Design,
    obs: pd.DataFrame,
    min_samples: int,
    exclude: tuple[str, ...] = (),
    min_cells: int = 10,
) -> str:
    """Why a run's flags are exploratory, and what to pass instead (one line).

    Examples
    --------
    >>> obs = pd.DataFrame({"animal": ["a1", "a2", "a3", "a1"] * 5})
    >>> note = exploratory_note(Design(None, [], np.full(20, -1)), obs, 3)
    >>> note.split(";")[0]
    'flags are exploratory (cells treated as independent): no sample key was given'
    >>> "--sample-key animal" in note
    True
    """
    if design.sample_key is None:
        why = "no sample key was given"
    elif design.n_samples < min_samples:
        why = (
            f"obs[{design.sample_key!r}] has {design.n_samples} samples; the "
            f"replicate-level test needs {min_samples}"
        )
    else:
        why = (
            f"fewer than {min_samples} samples of obs[{design.sample_key!r}] hold "
            f"{min_cells} cells of the group and of its reference"
        )
    text = f"flags are {EXPLORATORY}: {why}"
    if design.sample_key is None:
        candidates = candidate_columns(obs, exclude)
        if candidates:
            column = candidates[0]
            n = int(obs[column].nunique())
            text += (
                f"; obs[{column!r}] looks like the biological replicate ({n} values): pass "
                f"--sample-key {column} (sample_key={column!r}) to test animals, not cells"
            )
        else:
            text += (
                "; give the obs column of the biological replicate (animal, donor, culture) "
                "with --sample-key COLUMN (sample_key=) to test samples, not cells"
            )
    return text


__all__ = [
    "EXPLORATORY",
    "REPLICATE_WORDS",
    "Design",
    "candidate_columns",
    "check_sample_key",
    "exploratory_note",
    "make_design",
]
