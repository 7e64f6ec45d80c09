"""AnnData handling every tool shares: the copy rule and writing ``obs`` columns.

One return rule for the whole API: with ``copy=True`` a tool works on a copy and
returns it, otherwise it writes into ``adata`` and returns ``None``. Tables are read
back with :mod:`scclast.get`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from scclast._errors import ScclastInputError

if TYPE_CHECKING:
    from anndata import AnnData


def copy_or_self(adata: AnnData, copy: bool) -> AnnData:
    """``adata.copy()`` when ``copy``, else ``adata``; a backed AnnData cannot be copied.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.ones((2, 2)))
    >>> copy_or_self(a, False) is a, copy_or_self(a, True) is a
    (True, False)
    """
    if not copy:
        return adata
    if getattr(adata, "isbacked", False):
        raise ScclastInputError(
            "copy=True is not possible for a backed AnnData: use copy=False (results go to "
            "the in-memory obs and uns; the file is not changed) or load it with read_h5ad"
        )
    return adata.copy()


def set_obs_columns(adata: AnnData, frame: pd.DataFrame) -> None:
    """Add (or replace) the columns of ``frame`` in ``adata.obs``, keeping the others.

    Works on the lazy ``obs`` of ``anndata.experimental.read_lazy`` too (it is loaded
    into memory first: it is one row per cell, small beside the matrix).

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.ones((2, 1)), obs=pd.DataFrame({"x": [1, 2]}, index=["c1", "c2"]))
    >>> set_obs_columns(a, pd.DataFrame({"y": [3.0, 4.0]}, index=a.obs_names))
    >>> list(a.obs.columns)
    ['x', 'y']
    """
    obs = adata.obs
    if not isinstance(obs, pd.DataFrame):
        obs = obs.to_memory() if hasattr(obs, "to_memory") else pd.DataFrame(obs)
    frame = frame.set_axis(adata.obs_names, axis=0)
    kept = obs.drop(columns=[c for c in frame.columns if c in obs.columns])
    adata.obs = pd.concat([kept, frame], axis=1)


__all__ = ["copy_or_self", "set_obs_columns"]
