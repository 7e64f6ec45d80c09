"""The simulation record in ``uns["scclast_simulation"]``, and reading it back.

h5ad stores neither ``None`` nor lists of mappings, so the record uses ``-1`` for "all
clastokine genes", leaves unset options out (a missing ``max_gene_share`` means None),
and keys effect lists by their position (``{"0": {...}, "1": {...}}``);
:func:`parameters_from_uns` undoes all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from anndata import AnnData

SYNTHETIC_STATEMENT = (
    "SYNTHETIC DATA: simulated by scclast.datasets.simulate_osteoclastogenesis "
    "(negative-binomial counts from seeded random numbers); not measured from any cell. "
    "Gene programmes are simulation settings, not biological claims."
)

_EFFECT_LISTS = ("programme_effects", "condition_effects")


def indexed(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A list of mappings as ``{"0": ..., "1": ...}`` (h5ad cannot store the list).

    Examples
    --------
    >>> indexed([{"fold": 2.0}])
    {'0': {'fold': 2.0}}
    """
    return {str(i): dict(item) for i, item in enumerate(items)}


def unindexed(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The list back from :func:`indexed` (in position order).

    Examples
    --------
    >>> unindexed({"1": {"fold": 3.0}, "0": {"fold": 2.0}})
    [{'fold': 2.0}, {'fold': 3.0}]
    """
    return [dict(block[k]) for k in sorted(block, key=int)]


def plain(value: Any) -> Any:
    """Python values from what h5ad hands back (numpy scalars and arrays, nested dicts).

    Examples
    --------
    >>> plain({"a": np.array(["x", "y"], dtype=object), "b": np.float64(2.5)})
    {'a': ['x', 'y'], 'b': 2.5}
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def record_parameters(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments in storable form: unset options dropped, effect lists indexed."""
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        if value is None or (key in _EFFECT_LISTS and not value):
            continue
        if key == "clastokine_genes":
            continue
        out[key] = indexed(value) if key in _EFFECT_LISTS else value
    clastokine_genes = arguments.get("clastokine_genes")
    out["clastokine_genes"] = -1 if clastokine_genes is None else int(clastokine_genes)
    return out


def parameters_from_uns(adata: AnnData) -> dict[str, Any]:
    """The keyword arguments that regenerate a simulated AnnData exactly.

    Works on a fresh simulation and after an h5ad round trip, and on records written by
    earlier versions of the simulator (options they lack take their defaults).

    Examples
    --------
    >>> from scclast.datasets import simulate_osteoclastogenesis
    >>> a = simulate_osteoclastogenesis(n_cells=200, n_genes=600, seed=3, n_samples=3)
    >>> b = simulate_osteoclastogenesis(**parameters_from_uns(a))
    >>> (a.X != b.X).nnz
    0
    """
    raw = plain(dict(adata.uns["scclast_simulation"]["parameters"]))
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "clastokine_genes":
            params[key] = None if int(value) < 0 else int(value)
        elif key in _EFFECT_LISTS:
            params[key] = unindexed(value)
        elif key == "lineage_weights":
            params[key] = [float(v) for v in value]
        elif key == "extra_genes":
            params[key] = [str(v) for v in value]
        elif key == "programmes":
            params[key] = {k: [str(g) for g in v] for k, v in value.items()}
        else:
            params[key] = value
    # Records without it predate the cap (v1) or had it off: both mean None.
    params.setdefault("max_gene_share", None)
    return params
