"""What the workflow's rule scripts call: one function per rule, on files.

Each rule is a thin call into :mod:`scclast._pipeline` (the steps of ``scclast run``),
reading the previous rule's h5ad and writing its own. What a later rule needs and the
h5ad does not already hold (the input's name and fingerprint, the run's parameters,
the warnings shown to the user) travels in ``uns[key]["workflow"]`` as JSON text, which
every h5ad writer stores unchanged.

==========================  =============================================================
:func:`fetch_input`         rule ``fetch``: a registry dataset (or the example) as h5ad
:func:`prepare_input`       rule ``prepare``: groups checked, embedding stored
:func:`analyse_input`       rule ``analyse``: scores and flags; ``groups.tsv``,
                            ``scores.tsv.gz``, ``annotated.h5ad``
:func:`report_input`        rule ``report``: figures, ``report.html``, ``run.json``
:func:`log_to`              one log file per job, a failing job's traceback included
:func:`job_threads`         numba's threads limited to the job's ``threads``
==========================  =============================================================

:mod:`scclast._pipeline` is imported inside the rule functions, not at the top: the
Snakefile imports this package on every parse (once per job on a cluster), and the
pipeline brings scanpy and matplotlib with it.

Examples
--------
The per-input rules on a local sample (every tenth cell of the bundled example):

>>> import scclast, tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> sample = write_h5ad(scclast.datasets.example()[::10].copy(), folder / "sample.h5ad")
>>> _ = prepare_input(sample, folder / "prepared.h5ad", groupby="cluster")
>>> table = analyse_input(folder / "prepared.h5ad", table=folder / "groups.tsv",
...                       scores=folder / "scores.tsv.gz", annotated=folder / "annotated.h5ad",
...                       groupby="cluster")
>>> written = report_input(folder / "groups.tsv", folder / "annotated.h5ad", folder)
>>> sorted(p.name for p in folder.iterdir() if p.suffix in (".html", ".json"))
['report.html', 'run.json']
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import get
from scclast._keys import Keys, Step
from scclast._run_options import resolve_options
from scclast._workflow._config import EXAMPLE_KEY

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")

HANDOVER = Step.WORKFLOW
"""Block of ``uns[key]`` where the workflow keeps what travels between its rules."""


@contextlib.contextmanager
def log_to(path: str | Path | None) -> Iterator[logging.Logger]:
    """Send scclast's log records, warnings and any traceback of a rule to ``path``.

    Rule scripts run inside it so that each job's log file says what happened, and a
    failing job's traceback lands in its log as well as on stderr.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "step.log"
    >>> with log_to(path) as logger:
    ...     logger.info("scored 3 gene sets")
    >>> "scored 3 gene sets" in path.read_text()
    True
    """
    if path is None:
        yield log
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    logging.captureWarnings(True)
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.addHandler(handler)
    try:
        yield log
    except BaseException:
        handler.stream.write(traceback.format_exc())
        raise
    finally:
        handler.flush()
        log.removeHandler(handler)
        warnings_logger.removeHandler(handler)
        logging.captureWarnings(False)
        log.setLevel(previous_level)
        handler.close()


@contextlib.contextmanager
def job_threads(threads: int) -> Iterator[int]:
    """Run numba's threaded kernels (UMAP, neighbour search) on at most ``threads`` threads.

    numba starts as many threads as the node has cores, not as the job was given (a
    SLURM job's cgroup); Snakemake already limits the BLAS and OpenMP pools through
    ``OMP_NUM_THREADS`` and friends. Yields the number of threads in use.

    Examples
    --------
    >>> import numba
    >>> with job_threads(1) as n:
    ...     n, numba.get_num_threads()
    (1, 1)
    """
    import numba

    previous = numba.get_num_threads()
    n = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)


def fetch_input(key: str, output: str | Path) -> Path:
    """Rule ``fetch``: a registry dataset (or the bundled example) written as h5ad.

    The download goes through :func:`scclast._pipeline.load_dataset` (pooch, cached and
    checksummed); the config key ``"example"`` is the bundled example
    (:func:`scclast._pipeline.load_example`, offline). The input's fingerprint travels
    with the data to the report.

    Examples
    --------
    >>> import tempfile
    >>> fetch_input("example", Path(tempfile.mkdtemp()) / "input.h5ad").name
    'input.h5ad'
    """
    from scclast import _pipeline as pipeline

    if key == EXAMPLE_KEY:
        adata, fingerprint = pipeline.load_example()
    else:
        adata, fingerprint = pipeline.load_dataset(key)
    _remember(adata, input=key, input_fingerprint=fingerprint)
    return write_h5ad(adata, output)


def prepare_input(
    source: str | Path,
    output: str | Path,
    *,
    kind: str = "sample",
    groupby: str | None = None,
    backed: bool = False,
    seed: int = 0,
) -> Path:
    """Rule ``prepare``: read the input and run :func:`scclast._pipeline.prepare`.

    ``kind="sample"`` fingerprints the user's file (path, size, sha256); a registry
    dataset keeps the fingerprint that ``fetch`` recorded.

    Parameters
    ----------
    source, output
        The input h5ad and the prepared h5ad to write.
    kind
        ``"sample"`` (a user's file) or ``"dataset"`` (written by ``fetch``).
    groupby, backed, seed
        As for ``scclast run``.

    Examples
    --------
    >>> import scclast, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> sample = write_h5ad(scclast.datasets.example()[::10].copy(), folder / "sample.h5ad")
    >>> prepare_input(sample, folder / "prepared.h5ad", groupby="cluster").name
    'prepared.h5ad'
    """
    from scclast import _pipeline as pipeline

    adata = pipeline.load_input(source, backed=backed)
    try:
        if kind == "sample":
            _remember(
                adata, input=str(source), input_fingerprint=pipeline.fingerprint(source, adata)
            )
        pipeline.prepare(adata, groupby=groupby, seed=seed)
        return write_h5ad(adata, output)
    finally:
        pipeline.close(adata)


def analyse_input(
    source: str | Path,
    *,
    table: str | Path,
    scores: str | Path,
    annotated: str | Path,
    groupby: str | None = None,
    species: str = "auto",
    method: str = "seurat",
    gene_sets: Sequence[str] | None = None,
    osteomorph_signature: str | None = None,
    fdr: float = 0.05,
    seed: int = 0,
    backed: bool = False,
    options: Mapping[str, Any] | None = None,
    sample_key: str | None = None,
) -> pd.DataFrame:
    """Rule ``analyse``: every analysis of ``scclast run`` (its sections), in one job.

    Writes the flagging table (``groups.tsv``), the per-cell scores (``scores.tsv.gz``)
    and the annotated h5ad, exactly as ``scclast run`` does; the further sections'
    tables are written by the ``report`` rule from the annotated h5ad. ``options`` are
    the input's run options (:mod:`scclast._run_options`); ``sample_key`` the input's
    replicate column, checked first (as ``scclast run --sample-key``). The parameters
    and the user-facing warnings are kept for the report. Returns the flagging table;
    the module's example runs it.
    """
    from scclast import _pipeline as pipeline
    from scclast.tl._flag._replicates import check_sample_key

    adata = pipeline.load_input(source, backed=backed)
    if sample_key is not None:
        check_sample_key(adata, sample_key)
    parameters = pipeline.run_parameters(
        _recalled(adata, "input") or str(source),  # registry key or the user's path
        groupby=groupby,
        sample_key=sample_key,
        species=species,
        method=method,
        gene_sets=gene_sets,
        osteomorph_signature=osteomorph_signature,
        fdr=fdr,
        seed=seed,
        backed=backed,
    )
    parameters.update(resolve_options(dict(options or {})))
    try:
        with pipeline.collect_warnings() as seen:  # the warnings `scclast run` reports
            pipeline.analyse_sections(adata, parameters)
            result = get.flag_table(adata)
        parameters["groupby"] = groupby or pipeline.recorded_groupby(adata)
        _remember(adata, parameters=parameters, warnings=seen)
        pipeline.write_table(result, table)
        pipeline.write_scores(adata, scores)
        write_h5ad(adata, annotated)
    finally:
        pipeline.close(adata)
    return result


def report_input(table: str | Path, annotated: str | Path, folder: str | Path) -> dict[str, Path]:
    """Rule ``report``: figures, ``report.html`` and ``run.json`` in ``folder``.

    Calls :func:`scclast._pipeline.render` and :func:`scclast._pipeline.write_manifest`
    on the outputs of ``analyse``, so ``folder`` ends up laid out like the OUTDIR of
    ``scclast run``. Returns ``{figure name: path, "report": path}``; the module's
    example runs it.
    """
    import anndata

    from scclast import _pipeline as pipeline

    adata = anndata.read_h5ad(annotated)
    root = Keys().uns
    # h5ad gives lists back as arrays; the report code expects the lists it wrote
    adata.uns[root] = _as_lists(adata.uns.get(root, {}))
    groups = read_table(table)
    fingerprint = _recalled(adata, "input_fingerprint")
    parameters = _recalled(adata, "parameters")
    written = pipeline.render(
        adata,
        groups,
        folder,
        input_fingerprint=fingerprint,
        parameters=parameters,
        warnings_seen=_recalled(adata, "warnings") or [],
    )
    # the `analyse` rule wrote the flagging tables (this rule's inputs); the further
    # sections' tables are written here, from the analyses stored in the h5ad
    results = pipeline.Results(adata=adata, table=groups, parameters=parameters)
    later = [section for section in pipeline.SECTIONS if section.name != "flagging"]
    pipeline.write_tables(results, folder, later)
    present = [name for name in pipeline.output_tables() if (Path(folder) / name).exists()]
    outputs = [*present, *pipeline.RUN_FILES]
    pipeline.write_manifest(
        Path(folder) / pipeline.MANIFEST, groups, fingerprint, parameters, outputs=outputs
    )
    return written


def read_table(path: str | Path) -> pd.DataFrame:
    """A ``groups.tsv`` read back (groups as text, flags as booleans).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "groups.tsv"
    >>> _ = path.write_text("group\\tflagged\\n01\\tTrue\\n")
    >>> read_table(path).to_dict("records")
    [{'group': '01', 'flagged': True}]
    """
    table = pd.read_csv(path, sep="\t", dtype={"group": str})
    if "flagged" in table:
        table["flagged"] = as_bool(table["flagged"])
    return table


def write_h5ad(adata: AnnData, path: str | Path) -> Path:
    """Write ``adata`` through a temporary file, so a crash leaves no half file.

    Values in ``uns`` that h5ad cannot store are converted first, as
    :func:`scclast._pipeline.write_annotated` does.

    Examples
    --------
    >>> import anndata as ad, tempfile
    >>> path = write_h5ad(ad.AnnData(np.ones((2, 2))), Path(tempfile.mkdtemp()) / "a.h5ad")
    >>> path.name
    'a.h5ad'
    """
    from scclast import _pipeline as pipeline

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    pipeline.write_annotated(adata, partial)
    os.replace(partial, path)
    return path


def as_bool(values: pd.Series) -> pd.Series:
    """Flags read from text (``True``/``False``, ``1``/``0``, ``yes``/``no``) as booleans.

    Examples
    --------
    >>> as_bool(pd.Series(["True", "false", "1", ""])).tolist()
    [True, False, True, False]
    """
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "yes", "y", "t"))


def _remember(adata: AnnData, **items: Any) -> None:
    """Keep ``items`` (as JSON text, which h5ad always stores) for later rules."""
    keys = Keys()
    block = dict(keys.record(adata, HANDOVER))
    block.update({key: json.dumps(value, default=str) for key, value in items.items()})
    keys.store(adata, HANDOVER, block)


def _recalled(adata: AnnData, key: str) -> Any:
    """What an earlier rule kept under ``key``; an empty mapping when nothing was."""
    text = Keys().record(adata, HANDOVER).get(key)
    return json.loads(text) if isinstance(text, str) else {}


def _as_lists(value: Any) -> Any:
    """``uns`` as written before an h5ad round trip: 1-D arrays back to lists."""
    if isinstance(value, Mapping):
        return {k: _as_lists(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    return value
