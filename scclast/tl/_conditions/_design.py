"""The design of a condition comparison: samples, their condition, the reference level.

Samples (animals, donors) are the replicates of every claim about a condition, so the
design is read per sample, never per cell. :func:`read_design` checks it once and says in
one line why a design cannot be tested (no sample column, a condition that changes within
a sample, a missing reference level, a level with too few samples);
:func:`group_samples` says which samples carry enough cells of one group to enter its
pseudobulk, and why a group cannot be tested.

Examples
--------
>>> import pandas as pd
>>> obs = pd.DataFrame({"animal": ["a1", "a1", "a2", "a3", "a4"],
...                     "treatment": ["sham", "sham", "sham", "ovx", "ovx"]})
>>> design = read_design(obs, "animal", "treatment", "sham")
>>> design.levels, design.samples["condition"].to_dict()
(('sham', 'ovx'), {'a1': 'sham', 'a2': 'sham', 'a3': 'ovx', 'a4': 'ovx'})
>>> read_design(obs, "animal", "treatment", "control")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
scclast._errors.ScclastInputError: reference 'control' is not a level of obs['treatment']: ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scclast._errors import ScclastInputError
from scclast._warnings import DataWarning, warn

MIN_SAMPLES = 2
"""Samples each compared condition needs (with fewer, no variance between samples)."""

MIN_CELLS = 10
"""Cells of a group a sample needs for its pseudobulk to enter that group's test."""


@dataclass(frozen=True)
class Design:
    """Samples and conditions of a comparison, checked.

    Attributes
    ----------
    sample_key, condition
        The ``obs`` columns of samples and of conditions.
    reference
        The level every other level is compared against.
    levels
        Condition levels, reference first.
    samples
        One row per sample (index: the sample as text): its ``condition`` and ``n_cells``.
    cell_sample, cell_condition
        Per cell: the sample's position in :attr:`samples` and the condition's position
        in :attr:`levels`; ``-1`` for cells without a sample or a condition.
    """

    sample_key: str
    condition: str
    reference: str
    levels: tuple[str, ...]
    samples: pd.DataFrame
    cell_sample: np.ndarray
    cell_condition: np.ndarray

    @property
    def compared(self) -> tuple[str, ...]:
        """The levels compared with the reference."""
        return self.levels[1:]

    def n_samples(self, level: str) -> int:
        """Samples of one level."""
        return int((self.samples["condition"] == level).sum())

    def as_record(self) -> dict[str, object]:
        """The design as plain values (for ``uns`` and ``run.json``)."""
        return {
            "sample_key": self.sample_key,
            "condition": self.condition,
            "reference": self.reference,
            "levels": list(self.levels),
            "samples_per_level": {level: self.n_samples(level) for level in self.levels},
            "samples": {str(s): str(c) for s, c in self.samples["condition"].items()},
        }


def read_design(
    obs: pd.DataFrame,
    sample_key: str | None,
    condition: str,
    reference: str | None = None,
    min_samples: int = MIN_SAMPLES,
) -> Design:
    """Check the design and return it; a one-line error when it cannot be tested.

    Parameters
    ----------
    obs
        The cells' annotations.
    sample_key
        Column naming each cell's sample (animal, donor): the unit of replication.
    condition
        Column naming each cell's condition; constant within a sample.
    reference
        The level compared against; ``None``: the first level (category order for a
        categorical column, else sorted).
    min_samples
        Samples each level needs.

    Raises
    ------
    ScclastInputError
        No sample column, a missing column, a condition that varies within a sample,
        fewer than two levels, an unknown reference, or a level with too few samples.
    """
    if sample_key is None:
        raise ScclastInputError(
            f"comparing conditions (obs[{condition!r}]) needs the samples: give sample_key "
            "(--sample-key), the obs column naming each cell's animal or donor, since "
            "samples, not cells, are the replicates"
        )
    for what, column in (("sample_key", sample_key), ("condition", condition)):
        if column not in obs.columns:
            available = ", ".join(map(str, obs.columns)) or "(none)"
            raise ScclastInputError(
                f"{what}={column!r} is not a column of adata.obs; available columns: {available}"
            )
    if sample_key == condition:
        raise ScclastInputError(
            f"sample_key and condition are both {condition!r}: the condition must be a column "
            "of its own, constant within each sample"
        )
    if min_samples < 2:
        raise ScclastInputError(f"min_samples={min_samples}: at least 2 samples per condition")
    samples_text = _as_text(obs[sample_key])
    conditions_text = _as_text(obs[condition])
    labelled = samples_text.notna() & conditions_text.notna()
    if not labelled.all():
        warn(
            f"{int((~labelled).sum()):,} cells have no {sample_key!r} or no {condition!r} label: "
            "they are left out of the condition comparison",
            DataWarning,
            stacklevel=1,
        )
    pairs = pd.DataFrame({"sample": samples_text[labelled], "condition": conditions_text[labelled]})
    per_sample = pairs.groupby("sample", sort=True, observed=True)["condition"].unique()
    mixed = {s: sorted(map(str, c)) for s, c in per_sample.items() if len(c) > 1}
    if mixed:
        sample, levels = next(iter(mixed.items()))
        raise ScclastInputError(
            f"obs[{condition!r}] is not constant within samples: {sample!r} has cells of "
            f"{' and '.join(map(repr, levels))} ({len(mixed)} such sample(s)); each sample "
            f"(obs[{sample_key!r}]) must belong to one condition"
        )
    levels = _levels(obs[condition], set(pairs["condition"]))
    if len(levels) < 2:
        found = f"one level ({levels[0]!r})" if levels else "no level"
        raise ScclastInputError(
            f"obs[{condition!r}] has {found} among the labelled cells: nothing to compare; "
            "a condition column needs at least two levels"
        )
    if reference is None:
        reference = levels[0]
    reference = str(reference)
    if reference not in levels:
        raise ScclastInputError(
            f"reference {reference!r} is not a level of obs[{condition!r}]: levels are "
            f"{', '.join(levels)} (--reference)"
        )
    levels = [reference, *(level for level in levels if level != reference)]
    table = pd.DataFrame(
        {
            "condition": per_sample.map(lambda c: str(c[0])),
            "n_cells": pairs.groupby("sample", sort=True, observed=True).size(),
        }
    )
    table.index = table.index.astype(str)
    table.index.name = "sample"
    short = [(level, int((table["condition"] == level).sum())) for level in levels]
    short = [(level, n) for level, n in short if n < min_samples]
    if short:
        described = "; ".join(f"{level!r} has {n}" for level, n in short)
        raise ScclastInputError(
            f"cannot compare obs[{condition!r}] with samples as replicates: {described} "
            f"sample(s) of obs[{sample_key!r}], and every level needs at least {min_samples}"
        )
    sample_position = pd.Series(np.arange(len(table)), index=table.index)
    level_position = pd.Series(np.arange(len(levels)), index=levels)
    cell_sample = samples_text.map(sample_position).where(labelled)
    cell_condition = conditions_text.map(level_position).where(labelled)
    return Design(
        sample_key=sample_key,
        condition=condition,
        reference=reference,
        levels=tuple(levels),
        samples=table,
        cell_sample=cell_sample.fillna(-1).to_numpy(dtype=np.intp),
        cell_condition=cell_condition.fillna(-1).to_numpy(dtype=np.intp),
    )


def group_samples(
    design: Design, cells_per_sample: pd.Series, min_cells: int, min_samples: int
) -> tuple[list[str], dict[str, str]]:
    """Which levels one group can be tested for, with the samples that enter its test.

    Parameters
    ----------
    design
        The checked design.
    cells_per_sample
        The group's cells per sample (index: samples of :attr:`Design.samples`).
    min_cells, min_samples
        Cells a sample needs in the group; samples a level needs.

    Returns
    -------
    samples, untested
        The samples used (those with enough cells, of the reference and of the levels
        that can be tested), and ``{level: reason}`` for each level that cannot.

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"s": ["a", "b", "c", "d"], "c": ["x", "x", "y", "y"]})
    >>> d = read_design(obs, "s", "c")
    >>> group_samples(d, pd.Series({"a": 30, "b": 25, "c": 40, "d": 3}), 10, 2)
    ([], {'y': "1 sample of 'y' and 2 of 'x' have at least 10 cells of the group (need 2 each)"})
    """
    cells = cells_per_sample.reindex(design.samples.index, fill_value=0)
    enough = cells >= min_cells
    condition = design.samples["condition"]
    count = {level: int((enough & (condition == level)).sum()) for level in design.levels}
    untested: dict[str, str] = {}
    for level in design.compared:
        if count[level] < min_samples or count[design.reference] < min_samples:
            untested[level] = (
                f"{_samples(count[level])} of {level!r} and {count[design.reference]} of "
                f"{design.reference!r} have at least {min_cells} cells of the group "
                f"(need {min_samples} each)"
            )
    tested = [design.reference, *(level for level in design.compared if level not in untested)]
    if len(tested) < 2:
        return [], untested
    used = enough & condition.isin(tested)
    return [str(s) for s in design.samples.index[used.to_numpy()]], untested


def _samples(n: int) -> str:
    return f"{n} sample" if n == 1 else f"{n} samples"


def _as_text(values: pd.Series) -> pd.Series:
    """Labels as text, missing labels kept missing (numbers and text compare as text)."""
    text = values.astype(object).where(values.notna())
    return text.map(lambda v: v if v is None or isinstance(v, str) else _label(v))


def _label(value: object) -> str | None:
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if value == int(value):
            return str(int(value))
    return str(value)


def _levels(column: pd.Series, present: set[str]) -> list[str]:
    """Levels in category order for a categorical column, else sorted as text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        ordered = [_label(c) for c in column.cat.categories]
        return [str(c) for c in ordered if c in present]
    return sorted(present)


__all__ = ["MIN_CELLS", "MIN_SAMPLES", "Design", "group_samples", "read_design"]
