"""What the workflow's ``timecourse`` rule calls: a bulk input to its results folder.

A bulk input (a registry entry with ``data_type: bulk``, written as h5ad by ``fetch``;
or a local count table, series matrix or pseudobulk h5ad) is analysed by
:func:`scclast.tl.timecourse` and written like a ``scclast timecourse`` OUTDIR
(:func:`scclast._pipeline._timecourse.write_timecourse`).

Examples
--------
>>> import tempfile
>>> from scclast.testing._timecourse import homer_table, simulate_timecourse
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "counts.txt").write_text(homer_table(simulate_timecourse(seed=3)))
>>> written = timecourse_input(folder / "counts.txt", folder / "out")
>>> sorted(p.name for p in (folder / "out").iterdir())  # doctest: +NORMALIZE_WHITESPACE
['annotated.h5ad', 'figures', 'report.html', 'run.json', 'timecourse.tsv',
 'timecourse_scores.tsv']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scclast._keys import DEFAULT_KEY, Keys, Step


def timecourse_input(
    source: str | Path,
    folder: str | Path,
    *,
    kind: str = "sample",
    time: str = "time_point",
    donor: str | None = "donor",
    sample_fields: str | None = None,
    species: str = "auto",
    gene_sets: Sequence[str] | None = None,
    fdr: float = 0.05,
) -> dict[str, Path]:
    """Rule ``timecourse``: analyse one bulk input and write its folder.

    Parameters
    ----------
    source
        The input file: ``fetch``'s h5ad (``kind="dataset"``) or the user's file.
    folder
        The input's results folder.
    kind
        ``"dataset"`` (the fingerprint ``fetch`` recorded is kept) or ``"sample"``.
    time, donor, sample_fields, species, gene_sets, fdr
        As for ``scclast timecourse``.
    """
    from scclast import _pipeline as pipeline
    from scclast._pipeline import _timecourse as bulk
    from scclast._pipeline._sections._timecourse import TIMECOURSE

    if kind == "dataset":
        import anndata

        adata = anndata.read_h5ad(source)
        handover = Keys().record(adata, Step.WORKFLOW)
        label = _json(handover.get("input")) or str(source)
        fingerprint = _json(handover.get("input_fingerprint")) or {}
        fingerprint = {k: v for k, v in fingerprint.items() if k != "shape"}
        fingerprint["dimensions"] = f"{adata.n_obs:,} samples x {adata.n_vars:,} genes"
    else:
        adata, fingerprint = bulk.load_bulk(source, None, sample_fields)
        label = str(source)
    parameters = bulk.timecourse_parameters(
        label, time=time, donor=donor, sample_fields=sample_fields, species=species,
        gene_sets=gene_sets, fdr=fdr,
    )  # fmt: skip
    with pipeline.collect_warnings() as seen:
        TIMECOURSE.analyse(adata, parameters, DEFAULT_KEY)
    return bulk.write_timecourse(adata, folder, parameters, fingerprint, seen)


def _json(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else None


__all__ = ["timecourse_input"]
