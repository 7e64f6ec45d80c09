"""Every name scclast writes into an :class:`~anndata.AnnData`, owned here.

All analyses take one ``key_added`` (default ``"scclast"``) and derive every ``obs``,
``obsm`` and ``uns`` name from it through :class:`Keys`, so a custom ``key_added``
reaches the figures, the tables of :mod:`scclast.get` and the files of ``scclast run``
instead of being dropped on the way. Nothing else in the package spells these names.

=============================  ==========================================================
name                           what
=============================  ==========================================================
``obs[f"{key}_{set}"]``        uncalibrated score of a gene set (:func:`scclast.tl.score`)
``obs[f"{key}_{set}_z"]``      calibrated z-score against matched control sets
``obs[f"{key}_{set}_pval"]``   per-cell empirical p-value against the control sets
``obs[f"{key}_lineage_state"]`` lineage state of the cell's group
``obs[f"{key}_flagged"]``      cell belongs to a flagged group
``obs[f"{key}_leiden"]``       Leiden clusters built when no ``groupby`` is given
``obs[f"{key}_pseudotime"]``   diffusion pseudotime of osteoclast-lineage cells (NaN elsewhere)
``obs[f"{key}_receiver_state"]`` osteoblast-lineage receiver state of the cell's group
``obsm["X_umap"]``             2-D embedding (scanpy's own key, shared with scanpy)
``uns[key][step]``             provenance and results of one step (see :class:`Step`)
=============================  ==========================================================

Examples
--------
>>> keys = Keys()
>>> keys.score("clastokines_secreted"), keys.z("clastokines_secreted")
('scclast_clastokines_secreted', 'scclast_clastokines_secreted_z')
>>> Keys("run2").lineage_state
'run2_lineage_state'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from scclast._errors import ScclastInputError

if TYPE_CHECKING:
    from anndata import AnnData

DEFAULT_KEY = "scclast"
"""Default ``key_added`` of every scclast analysis."""

EMBEDDING_BASIS = "X_umap"
"""``obsm`` key of the 2-D embedding (scanpy's key: a stored UMAP is reused)."""

_VALID_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


class Step(StrEnum):
    """Blocks of ``uns[key_added]``: one per analysis step."""

    SCORE = "score"
    LINEAGE = "lineage"
    FLAG = "flag"
    ENRICHMENT = "enrichment"
    EMBEDDING = "embedding"
    CLUSTER = "cluster"
    PSEUDOTIME = "pseudotime"
    TRAJECTORY = "trajectory"
    TIMECOURSE = "timecourse"
    CONDITIONS = "conditions"
    RECEIVERS = "receivers"
    COMMUNICATION = "communication"
    WORKFLOW = "workflow"


@dataclass(frozen=True)
class Keys:
    """The ``obs``/``obsm``/``uns`` names derived from one ``key_added``.

    Parameters
    ----------
    key_added
        Root of every name (default ``"scclast"``): letters, digits, ``_``, ``.``, ``-``,
        starting with a letter.

    Examples
    --------
    >>> Keys().flagged, Keys().uns
    ('scclast_flagged', 'scclast')
    >>> Keys("my run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: key_added='my run': use letters, digits, ...
    """

    key_added: str = DEFAULT_KEY

    def __post_init__(self) -> None:
        if not isinstance(self.key_added, str) or not _VALID_KEY.fullmatch(self.key_added):
            raise ScclastInputError(
                f"key_added={self.key_added!r}: use letters, digits, '_', '.' or '-', "
                "starting with a letter"
            )

    @property
    def uns(self) -> str:
        """Key of the scclast record in ``adata.uns``."""
        return self.key_added

    def score(self, gene_set: str) -> str:
        """``obs`` column of a set's uncalibrated score."""
        return f"{self.key_added}_{gene_set}"

    def z(self, gene_set: str) -> str:
        """``obs`` column of a set's calibrated z-score."""
        return f"{self.key_added}_{gene_set}_z"

    def pval(self, gene_set: str) -> str:
        """``obs`` column of a set's per-cell empirical p-value."""
        return f"{self.key_added}_{gene_set}_pval"

    @property
    def lineage_state(self) -> str:
        """``obs`` column of the per-cell lineage state (its group's state)."""
        return f"{self.key_added}_lineage_state"

    @property
    def flagged(self) -> str:
        """``obs`` column: the cell's group is flagged for at least one set."""
        return f"{self.key_added}_flagged"

    @property
    def leiden(self) -> str:
        """``obs`` column of the Leiden clusters built when no ``groupby`` is given."""
        return f"{self.key_added}_leiden"

    @property
    def pseudotime(self) -> str:
        """``obs`` column of the diffusion pseudotime (osteoclast-lineage cells; NaN elsewhere)."""
        return f"{self.key_added}_pseudotime"

    @property
    def receiver_state(self) -> str:
        """``obs`` column of the per-cell receiver state (its group's osteoblast-lineage call)."""
        return f"{self.key_added}_receiver_state"

    @property
    def embedding(self) -> str:
        """``obsm`` key of the 2-D embedding."""
        return EMBEDDING_BASIS

    def record(self, adata: AnnData, step: Step | str) -> Mapping[str, Any]:
        """``adata.uns[key_added][step]``, or an empty mapping when the step has not run."""
        block = adata.uns.get(self.uns, {})
        if not isinstance(block, Mapping):
            return {}
        entry = block.get(str(step), {})
        return entry if isinstance(entry, Mapping) else {}

    def require(self, adata: AnnData, step: Step | str, how: str) -> Mapping[str, Any]:
        """Like :meth:`record`, but a missing step is a clear error saying ``how`` to run it."""
        entry = self.record(adata, step)
        if not entry:
            others = [
                str(key)
                for key, block in adata.uns.items()
                if key != self.uns and isinstance(block, Mapping) and str(step) in block
            ]
            found = f"; found under key_added={others[0]!r}" if others else ""
            raise ScclastInputError(
                f"adata.uns[{self.uns!r}][{str(step)!r}] is missing: run {how} first "
                f"(with key_added={self.key_added!r}){found}"
            )
        return entry

    def store(self, adata: AnnData, step: Step | str, block: dict[str, Any]) -> None:
        """Store ``block`` as ``adata.uns[key_added][step]``, keeping the other steps."""
        root = adata.uns.get(self.uns)
        if not isinstance(root, dict):
            root = dict(root) if isinstance(root, Mapping) else {}
            adata.uns[self.uns] = root
        root[str(step)] = block

    def score_columns(self, adata: AnnData) -> list[str]:
        """Every per-cell ``obs`` column scclast wrote under this key, in ``obs`` order.

        Read from the records of the steps that ran (not guessed from a prefix), so
        columns of the user's that merely start with the key are never taken.
        """
        written: list[str] = []
        for step in (Step.SCORE, Step.FLAG):
            columns = self.record(adata, step).get("columns", {})
            if isinstance(columns, Mapping):
                written.extend(str(c) for c in columns.values())
            elif columns is not None:
                written.extend(str(c) for c in _as_list(columns))
        if self.record(adata, Step.LINEAGE):
            written.append(self.lineage_state)
        if self.record(adata, Step.CLUSTER):
            written.append(self.leiden)
        if self.record(adata, Step.PSEUDOTIME):
            written.append(self.pseudotime)
        if self.record(adata, Step.RECEIVERS):
            written.append(self.receiver_state)
        wanted = set(written)
        return [str(c) for c in adata.obs.columns if str(c) in wanted]


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


__all__ = ["DEFAULT_KEY", "EMBEDDING_BASIS", "Keys", "Step"]
