"""``scclast timecourse``: a bulk (or pseudobulk) time course in, one folder of results out.

The bulk counterpart of :func:`scclast.run`: read the input (:mod:`._bulk_inputs`, or a
registry entry with ``data_type: bulk``), run :func:`scclast.tl.timecourse`, and write

* ``timecourse.tsv``: one row per coupling factor, gene set and lineage programme;
* ``timecourse_scores.tsv``: one row per sample (time, donor, every score);
* ``annotated.h5ad``: the input with the analysis in ``uns``;
* ``figures/timecourse.png|pdf`` and a self-contained ``report.html``;
* ``run.json``: parameters, input fingerprint, versions.

All of OUTDIR appears or none of it, as for ``scclast run`` (a temporary folder next to
it is renamed into place when complete). The workflow's ``timecourse`` rule calls
:func:`write_timecourse` on its own folder.

Examples
--------
>>> import os, tempfile
>>> from scclast.testing._timecourse import homer_table, simulate_timecourse
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "counts.txt")
>>> _ = open(path, "w").write(homer_table(simulate_timecourse(rising=["SLIT3"], seed=2)))
>>> result = run_timecourse(path, os.path.join(folder, "out"))
>>> "slit3" in result.changed, sorted(p.name for p in result.outdir.iterdir())
... # doctest: +NORMALIZE_WHITESPACE
(True, ['annotated.h5ad', 'figures', 'report.html', 'run.json', 'timecourse.tsv',
 'timecourse_scores.tsv'])
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import genesets, get
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY
from scclast._pipeline._bulk_inputs import read_bulk
from scclast._pipeline._outputs import MANIFEST, check_outdir, move_into_place
from scclast._pipeline._report import write_report
from scclast._pipeline._run import collect_warnings
from scclast._pipeline._sections._base import Results
from scclast._pipeline._sections._timecourse import TIMECOURSE
from scclast._pipeline._writers import write_annotated, write_table
from scclast._provenance import file_sha256, package_versions
from scclast.pl._base import default_style, save_figure

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

OUTPUTS = (*TIMECOURSE.files, "annotated.h5ad", "report.html", MANIFEST, "figures/")
"""What a time-course OUTDIR holds."""


@dataclass(frozen=True)
class TimecourseResult:
    """What :func:`run_timecourse` produced.

    Attributes
    ----------
    outdir
        The completed output folder.
    table
        ``timecourse.tsv`` as a frame.
    changed
        Factors and sets (not the lineage programmes) that change over time, in table
        order.
    report
        Path of ``report.html``.
    """

    outdir: Path
    table: pd.DataFrame
    changed: list[str]
    report: Path


def timecourse_parameters(
    input_label: str,
    *,
    time: str = "time_point",
    donor: str | None = "donor",
    sample_fields: str | None = None,
    species: str = "auto",
    gene_sets: Sequence[str] | None = None,
    fdr: float = 0.05,
    layer: str | None = None,
) -> dict[str, Any]:
    """The parameters a time-course run records in ``run.json`` and its report.

    Examples
    --------
    >>> timecourse_parameters("counts.txt")["donor"]
    'donor'
    """
    return {
        "input": input_label,
        "analysis": "timecourse",
        "time": time,
        "donor": donor,
        "sample_fields": sample_fields,
        "species": species,
        "gene_sets": [str(g) for g in gene_sets] if gene_sets else "default",
        "fdr": fdr,
        "layer": layer,
    }


def run_timecourse(
    input: str | Path | None = None,
    outdir: str | Path = "scclast_timecourse",
    *,
    dataset: str | None = None,
    time: str = "time_point",
    donor: str | None = "donor",
    sample_fields: str | None = None,
    species: str = "auto",
    gene_sets: Sequence[str] | None = None,
    fdr: float = 0.05,
    layer: str | None = None,
    force: bool = False,
) -> TimecourseResult:
    """From a bulk time course (file or registry dataset) to OUTDIR.

    Parameters
    ----------
    input
        ``.h5ad``, HOMER or plain count table, or GEO series matrix (never modified).
    outdir
        Output folder; must not exist unless ``force``.
    dataset
        A registry key of a bulk dataset instead of ``input``
        (``hansen2024_monocyte_osteoclast_bulk``).
    time, donor
        ``obs`` columns of the time and the donor (``donor=None``: no blocking).
    sample_fields
        Regex splitting a count table's sample names into ``obs`` columns.
    species, gene_sets, fdr, layer
        As for :func:`scclast.tl.timecourse` (``gene_sets``: names or GMT files).
    force
        Replace an existing OUTDIR written by scclast.
    """
    started = perf_counter()
    if (input is None) == (dataset is None):
        raise ScclastInputError("give exactly one of INPUT or --dataset KEY")
    protect = [Path(input)] if input is not None else []
    outdir = check_outdir(outdir, force, protect=protect)
    adata, fingerprint = load_bulk(input, dataset, sample_fields)
    parameters = timecourse_parameters(
        str(input) if input is not None else str(dataset),
        time=time, donor=donor, sample_fields=sample_fields, species=species,
        gene_sets=gene_sets, fdr=fdr, layer=layer,
    )  # fmt: skip
    with collect_warnings() as seen:
        TIMECOURSE.analyse(adata, parameters, DEFAULT_KEY)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.tmp-", dir=outdir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        written = write_timecourse(adata, staging, parameters, fingerprint, seen)
        move_into_place(staging, outdir, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    table = get.timecourse_table(adata)
    hypotheses = table[table["kind"] != "state"]
    changed = hypotheses.loc[
        hypotheses["trend"].isin(("rising", "falling", "transient")), "feature"
    ].tolist()
    log.info(
        "done in %.1f s: %d factor(s) or set(s) change over time; report: %s",
        perf_counter() - started,
        len(changed),
        outdir / "report.html",
    )
    return TimecourseResult(outdir, table, changed, outdir / written["report"].name)


def load_bulk(
    input: str | Path | None, dataset: str | None, sample_fields: str | None = None
) -> tuple[AnnData, dict[str, Any]]:
    """The bulk data and its fingerprint (file path, shape, sha256; or the dataset)."""
    if dataset is not None:
        from scclast import datasets

        data_type = datasets.get_entry(dataset).data_type
        if data_type != "bulk":
            raise ScclastInputError(
                f"dataset {dataset!r} is {data_type or 'not bulk'} data: scclast timecourse "
                "takes registry entries with data_type: bulk (use scclast run for single cells)"
            )
        log.info("loading dataset %s ...", dataset)
        adata = datasets.load(dataset)
        return adata, {"dataset": dataset, "dimensions": _dimensions(adata)}
    path = Path(input)  # type: ignore[arg-type]
    log.info("reading %s ...", path)
    adata = read_bulk(path, sample_fields=sample_fields)
    return adata, {
        "path": str(path.resolve()),
        "dimensions": _dimensions(adata),
        "size_bytes": path.stat().st_size,
        "sha256": file_sha256(path),
    }


def _dimensions(adata: AnnData) -> str:
    return f"{adata.n_obs:,} samples x {adata.n_vars:,} genes"


def write_timecourse(
    adata: AnnData,
    folder: str | Path,
    parameters: Mapping[str, Any],
    input_fingerprint: Mapping[str, Any],
    warnings_seen: Sequence[str] = (),
) -> dict[str, Path]:
    """Tables, ``annotated.h5ad``, figure, ``report.html`` and ``run.json`` into ``folder``.

    Returns ``{"timecourse": figure png, "report": html, "manifest": run.json}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = get.timecourse_table(adata)
    results = Results(
        adata=adata,
        table=table,
        parameters=dict(parameters),
        input_fingerprint=dict(input_fingerprint),
        warnings=list(dict.fromkeys(warnings_seen)),
    )
    for name, frame in TIMECOURSE.tables(results).items():
        write_table(frame, folder / name)
    write_annotated(adata, folder / "annotated.h5ad")
    figures: dict[str, Path] = {}
    with default_style():
        for spec in TIMECOURSE.figures:
            figures[spec.name] = save_figure(spec.draw(results), folder / "figures", spec.name)[
                "png"
            ]
    report = write_report(folder / "report.html", results, figures, (TIMECOURSE,))
    manifest = folder / MANIFEST
    hypotheses = table[table["kind"] != "state"]
    record = {
        "tool": "scclast timecourse",
        "versions": package_versions(),
        "catalogue_version": genesets.catalogue_version(),
        "parameters": dict(parameters),
        "input": dict(input_fingerprint),
        "changing": hypotheses.loc[
            hypotheses["trend"].isin(("rising", "falling", "transient")), "feature"
        ].tolist(),
        "outputs": list(OUTPUTS),
    }
    manifest.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return {**figures, "report": report, "manifest": manifest}


__all__ = [
    "OUTPUTS",
    "TimecourseResult",
    "load_bulk",
    "run_timecourse",
    "timecourse_parameters",
    "write_timecourse",
]
