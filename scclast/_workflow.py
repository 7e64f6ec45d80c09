"""Helpers of the Snakemake workflow: locate it, read its config, summarise its runs.

The workflow (``workflows/`` in a source checkout, ``scclast/workflows`` inside an
installed wheel) runs every input through fetch -> prepare -> analyse (score and flag)
-> report, then writes one cross-dataset summary. Its rule scripts are thin calls into
this module, which calls :mod:`scclast._pipeline` (the steps of ``scclast run``). The
only logic that lives here is the workflow's own: which inputs a config names, where
the workflow is, how a step's outputs travel to the next, and the cross-dataset summary
(:func:`summarise_runs`, :func:`plot_summary`, :func:`write_summary`).

Examples
--------
>>> from scclast import _workflow as workflow
>>> workflow.snakefile().name
'Snakefile'
>>> sorted(workflow.inputs_from_config({"datasets": ["example"]}))
['example']
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import textwrap
import traceback
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scclast._errors import ScclastInputError

log = logging.getLogger("scclast")

EXAMPLE_KEY = "example"
"""Input key of the bundled synthetic example (offline)."""

RESERVED_NAMES = ("summary", "logs")
"""Folder names under the results folder that no input may take."""

SUMMARY_COLUMNS = (
    "dataset",
    "lineage_state",
    "n_groups",
    "n_cells",
    "flagged",
    "n_flagged_groups",
    "flagged_groups",
    "gene_set",
    "auroc",
    "nes",
    "fdr",
)
"""Columns of :func:`summarise_runs`' table, in order."""

_INPUT_DEFAULTS = ("groupby", "species", "backed")


# --------------------------------------------------------------------------- location


def workflow_dir() -> Path:
    """Folder of the Snakemake workflow (the one holding ``Snakefile``).

    An installed wheel carries the workflow as ``scclast/workflows``; a source checkout
    (editable install) uses the repository's ``workflows/`` folder.

    Examples
    --------
    >>> (workflow_dir() / "config" / "schema.yaml").is_file()
    True
    """
    packaged = resources.files("scclast") / "workflows"
    if packaged.is_dir() and (packaged / "Snakefile").is_file():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[1] / "workflows"
    if (source_tree / "Snakefile").is_file():
        return source_tree
    raise FileNotFoundError(
        "scclast's Snakemake workflow is missing from this installation; reinstall scclast"
    )


def snakefile() -> Path:
    """Path of the workflow's ``Snakefile``.

    Examples
    --------
    >>> snakefile().parent == workflow_dir()
    True
    """
    return workflow_dir() / "Snakefile"


def profile_dir(name: str) -> Path:
    """Folder of a profile shipped with the workflow (e.g. ``"slurm"``), or ``name`` itself.

    A name that is an existing folder is returned as it is, so users can pass their own
    profile.

    Examples
    --------
    >>> profile_dir("slurm").name
    'slurm'
    """
    own = Path(name).expanduser()
    if own.is_dir():
        return own
    shipped = workflow_dir() / "profiles" / name
    if shipped.is_dir():
        return shipped
    known = sorted(p.name for p in (workflow_dir() / "profiles").iterdir() if p.is_dir())
    raise ScclastInputError(
        f"unknown profile {name!r}: use a profile folder or one of {', '.join(known)}"
    )


# --------------------------------------------------------------------------- config


def inputs_from_config(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The workflow's inputs: one settings mapping per input name, in config order.

    Registry datasets (``datasets:``) come first, then local files (``samples:``).
    Per-input ``groupby``, ``species`` and ``backed`` fall back to ``params:``.

    Parameters
    ----------
    config
        The workflow config (after :func:`snakemake.utils.validate`, or a plain mapping).

    Returns
    -------
    ``{name: {"kind": "dataset" | "sample", "source": key or path, "groupby": ...,
    "species": ..., "backed": ...}}``.

    Raises
    ------
    ScclastInputError
        Two inputs share a name, a name is reserved, a dataset key is not in the
        registry, or the config names no input.

    Examples
    --------
    >>> config = {
    ...     "datasets": ["example"],
    ...     "samples": {"mine": {"path": "data/mine.h5ad", "groupby": "cell_type"}},
    ...     "params": {"species": "mouse"},
    ... }
    >>> inputs = inputs_from_config(config)
    >>> inputs["example"]["kind"], inputs["mine"]["groupby"], inputs["mine"]["species"]
    ('dataset', 'cell_type', 'mouse')
    """
    params = dict(config.get("params") or {})
    defaults = {
        "groupby": params.get("groupby"),
        "species": params.get("species", "auto"),
        "backed": bool(params.get("backed", False)),
    }
    inputs: dict[str, dict[str, Any]] = {}

    def add(name: str, kind: str, source: str, item: Mapping[str, Any]) -> None:
        if name in RESERVED_NAMES:
            raise ScclastInputError(
                f"input name {name!r} is reserved for the workflow's own folders: rename it"
            )
        if name in inputs:
            raise ScclastInputError(
                f"two inputs are named {name!r}: give each dataset and sample its own name "
                "(a dataset takes `name:`)"
            )
        settings = {k: item[k] if item.get(k) is not None else defaults[k] for k in defaults}
        inputs[name] = {"kind": kind, "source": source, **settings}

    for item in config.get("datasets") or []:
        entry = {"key": item} if isinstance(item, str) else dict(item)
        if entry["key"] != EXAMPLE_KEY:
            from scclast.datasets import get_entry

            get_entry(str(entry["key"]))  # an unknown key fails now, listing the known ones
        add(str(entry.get("name") or entry["key"]), "dataset", str(entry["key"]), entry)
    for name, item in (config.get("samples") or {}).items():
        add(str(name), "sample", str(item["path"]), item)
    if not inputs:
        raise ScclastInputError(
            "the workflow config names no input: list registry keys under `datasets:` "
            "and/or h5ad files under `samples:` and pass it with --configfile (template: "
            "`scclast workflow init DIR`; keys: workflows/config/README.md)"
        )
    return inputs


def init_config(directory: str | Path, *, example: bool = False, force: bool = False) -> Path:
    """Copy the documented config template into ``directory`` as ``config.yaml``.

    Parameters
    ----------
    directory
        Folder to write into (created if missing).
    example
        Copy the runnable example config (bundled data, offline) instead of the template.
    force
        Overwrite an existing ``config.yaml``.

    Examples
    --------
    >>> import tempfile
    >>> path = init_config(tempfile.mkdtemp(), example=True)
    >>> "example" in path.read_text()
    True
    """
    target = Path(directory) / "config.yaml"
    if target.exists() and not force:
        raise ScclastInputError(f"{target} exists: edit it, or pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = workflow_dir() / "config" / ("example.yaml" if example else "config.yaml")
    shutil.copyfile(source, target)
    return target


def snakemake_command(
    *,
    configfile: str | Path | None = None,
    cores: int | str | None = None,
    directory: str | Path | None = None,
    profile: str | None = None,
    dry_run: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``snakemake`` command line that runs the shipped workflow.

    Snakemake runs under the current Python (``python -m snakemake``), so the workflow
    finds this scclast.

    Examples
    --------
    >>> cmd = snakemake_command(configfile="config.yaml", cores=2, dry_run=True)
    >>> cmd[1:3], cmd[-1]
    (['-m', 'snakemake'], '-n')
    """
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile())]
    if profile is not None:
        cmd += ["--profile", str(profile_dir(profile))]
    elif cores is None:
        cores = "all"
    if cores is not None:
        cmd += ["--cores", str(cores)]
    if configfile is not None:
        cmd += ["--configfile", str(Path(configfile).resolve())]
    if directory is not None:
        cmd += ["--directory", str(directory)]
    cmd += list(extra)
    if dry_run:
        cmd.append("-n")
    return cmd


# --------------------------------------------------------------------------- rule helpers


def looks_like_file(item: str) -> bool:
    """True when a ``gene_sets`` entry is a file (it has a suffix or a folder), not a set name.

    Examples
    --------
    >>> looks_like_file("clastokines_secreted"), looks_like_file("sets/mine.gmt")
    (False, True)
    """
    path = Path(item)
    return bool(path.suffix) or len(path.parts) > 1


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


def fetch_input(key: str, output: str | Path) -> Path:
    """Rule ``fetch``: a registry dataset (or the bundled example) written as h5ad.

    The download goes through :func:`scclast._pipeline.load_dataset` (pooch, cached and
    checksummed); the key :data:`EXAMPLE_KEY` is the bundled example
    (:func:`scclast._pipeline.load_example`, offline). The input's fingerprint travels
    with the data (``uns["scclast"]["workflow"]``) to the report.

    Examples
    --------
    >>> import tempfile
    >>> path = fetch_input("example", Path(tempfile.mkdtemp()) / "input.h5ad")
    >>> path.name
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

    ``kind="sample"`` fingerprints the user's file (path, size, sha256);
    a registry dataset keeps the fingerprint that ``fetch`` recorded.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = fetch_input("example", folder / "input.h5ad")
    >>> _ = prepare_input(folder / "input.h5ad", folder / "prepared.h5ad", kind="dataset",
    ...                   groupby="cluster")  # doctest: +SKIP
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
) -> pd.DataFrame:
    """Rule ``analyse``: score and flag with :func:`scclast._pipeline.analyse`.

    Writes the flagging table (``groups.tsv``), the per-cell scores
    (``scores.tsv.gz``) and the annotated h5ad, exactly as ``scclast run`` does; the
    parameters and the user-facing warnings are kept for the report.
    """
    from scclast import _pipeline as pipeline

    adata = pipeline.load_input(source, backed=backed)
    parameters = pipeline.run_parameters(
        _recalled(adata, "input") or str(source),  # registry key or the user's path
        groupby=groupby,
        species=species,
        method=method,
        gene_sets=gene_sets,
        osteomorph_signature=osteomorph_signature,
        fdr=fdr,
        seed=seed,
        backed=backed,
    )
    try:
        with pipeline.collect_warnings() as seen:  # the warnings `scclast run` reports
            result = pipeline.analyse(
                adata,
                groupby=groupby,
                species=species,
                method=method,
                gene_sets=gene_sets,
                osteomorph_signature=osteomorph_signature,
                fdr=fdr,
                seed=seed,
                backed=backed,
            )
        parameters["groupby"] = groupby or pipeline.recorded_groupby(adata)
        _remember(adata, parameters=parameters, warnings=seen)
        pipeline.write_table(result, table)
        pipeline.write_scores(adata, scores)
        write_h5ad(adata, annotated)
    finally:
        pipeline.close(adata)
    return result


def report_input(
    table: str | Path,
    annotated: str | Path,
    folder: str | Path,
) -> dict[str, Path]:
    """Rule ``report``: figures, ``report.html`` and ``run.json`` in ``folder``.

    Calls :func:`scclast._pipeline.render` and :func:`scclast._pipeline.write_manifest`
    on the outputs of ``analyse``, so ``folder`` ends up laid out like the OUTDIR of
    ``scclast run``.
    """
    import anndata

    from scclast import _pipeline as pipeline

    adata = anndata.read_h5ad(annotated)
    # h5ad gives lists back as arrays; the report code expects the lists it wrote
    adata.uns["scclast"] = _as_lists(adata.uns.get("scclast", {}))
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
    pipeline.write_manifest(Path(folder) / pipeline.MANIFEST, groups, fingerprint, parameters)
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
        table["flagged"] = _as_bool(table["flagged"])
    return table


def write_h5ad(adata: Any, path: str | Path) -> Path:
    """Write ``adata`` through a temporary file, so a crash leaves no half file.

    Values in ``uns["scclast"]`` that h5ad cannot store are converted first, as
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


_WORKFLOW_UNS = "workflow"
"""``uns["scclast"]`` block where the workflow keeps what travels between its rules."""


def _remember(adata: Any, **items: Any) -> None:
    """Keep ``items`` (as JSON text, which h5ad always stores) for later rules."""
    block = adata.uns.setdefault("scclast", {}).setdefault(_WORKFLOW_UNS, {})
    for key, value in items.items():
        block[key] = json.dumps(value, default=str)


def _recalled(adata: Any, key: str) -> Any:
    block = adata.uns.get("scclast", {}).get(_WORKFLOW_UNS, {})
    text = block.get(key) if isinstance(block, Mapping) else None
    return json.loads(text) if isinstance(text, str) else {}


def _as_lists(value: Any) -> Any:
    """``uns`` as written before an h5ad round trip: 1-D arrays back to lists."""
    if isinstance(value, Mapping):
        return {k: _as_lists(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    return value


# --------------------------------------------------------------------------- summary


def summarise_runs(run_dirs: Mapping[str, str | Path]) -> pd.DataFrame:
    """Which lineage states were flagged in which datasets, with effect sizes.

    Reads ``groups.tsv`` of each run (the OUTDIR of :func:`scclast._pipeline.run` or of
    one workflow input) and condenses it to one row per dataset and lineage state.

    Parameters
    ----------
    run_dirs
        ``{dataset name: run folder}``, in the order the summary should list them.

    Returns
    -------
    One row per (dataset, lineage state) with the columns :data:`SUMMARY_COLUMNS`:
    ``n_groups`` and ``n_cells`` (the groups called that state), ``flagged`` (any of
    them flagged), ``n_flagged_groups`` and ``flagged_groups`` (their names, comma
    separated), and the effect size of the state's strongest evidence: the gene set,
    ``auroc`` (the flag's effect size: the group against its reference, the other
    osteoclast-lineage groups or else all other cells; 0.5 is no effect), ``nes`` and
    ``fdr`` of the best flagged row when the state was flagged, else of the best row.

    Raises
    ------
    ScclastInputError
        A run folder has no ``groups.tsv`` or it lacks a needed column.

    Examples
    --------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({
    ...     "group": ["0", "0", "1"], "n_cells": [40, 40, 60],
    ...     "lineage_state": ["osteoclast", "osteoclast", "macrophage"],
    ...     "gene_set": ["clastokines_secreted", "coupling_contact", "clastokines_secreted"],
    ...     "auroc": [0.91, 0.7, 0.42], "fdr": [0.001, 0.2, 0.9], "nes": [2.1, 1.0, -0.5],
    ...     "flagged": [True, False, False],
    ... }).to_csv(run / "groups.tsv", sep="\\t", index=False)
    >>> table = summarise_runs({"demo": run})
    >>> table[["lineage_state", "flagged", "flagged_groups", "auroc"]].values.tolist()
    [['osteoclast', True, '0', 0.91], ['macrophage', False, '', 0.42]]
    >>> table.loc[0, "gene_set"]
    'clastokines_secreted'
    """
    frames = [_summarise_one(str(name), Path(folder)) for name, folder in run_dirs.items()]
    if not frames:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SUMMARY_COLUMNS)]


def plot_summary(summary: pd.DataFrame, *, title: str | None = None) -> Any:
    """Datasets x lineage states: colour is the best AUROC, a star marks a flagged state.

    Columns follow :data:`scclast.tl.STATES` (lineage states by maturity first);
    a state absent from a dataset is grey and labelled "absent".

    Parameters
    ----------
    summary
        The table of :func:`summarise_runs`.
    title
        Figure title (default: a description of the marks).

    Returns
    -------
    :class:`matplotlib.figure.Figure`

    Examples
    --------
    >>> table = pd.DataFrame({
    ...     "dataset": ["a", "a", "b"],
    ...     "lineage_state": ["osteoclast", "macrophage", "osteoclast"],
    ...     "flagged": [True, False, False],
    ...     "auroc": [0.9, 0.4, 0.55],
    ... })
    >>> fig = plot_summary(table)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['macrophage', 'osteoclast']
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    from scclast.tl import STATES

    datasets = list(dict.fromkeys(summary["dataset"]))
    seen = list(dict.fromkeys(summary["lineage_state"]))
    # the lineage module's order (lineage states by maturity, then the others)
    states = sorted(seen, key=lambda s: STATES.index(s) if s in STATES else len(STATES))
    auroc = summary.pivot_table(
        index="dataset", columns="lineage_state", values="auroc", aggfunc="max", sort=False
    ).reindex(index=datasets, columns=states)
    flagged = (
        summary.assign(flagged=summary["flagged"].astype(bool).astype(int))
        .pivot_table(
            index="dataset", columns="lineage_state", values="flagged", aggfunc="max", sort=False
        )
        .reindex(index=datasets, columns=states)
        .fillna(0)
        .astype(bool)
    )
    width = max(5.0, 1.25 * len(states) + 3.0)
    height = max(3.0, 0.6 * len(datasets) + 2.6)
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    values = np.ma.masked_invalid(auroc.to_numpy(dtype=float))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#eeeeee")
    image = ax.imshow(values, cmap=cmap, norm=TwoSlopeNorm(0.5, 0.0, 1.0), aspect="auto")
    for i in range(len(datasets)):
        for j in range(len(states)):
            value = auroc.iat[i, j]
            if np.isnan(value):
                ax.text(j, i, "absent", ha="center", va="center", fontsize=7, color="#777777")
                continue
            mark = "*" if flagged.iat[i, j] else ""
            ax.text(
                j,
                i,
                f"{value:.2f}{mark}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if abs(value - 0.5) > 0.3 else "black",
                fontweight="bold" if mark else "normal",
            )
            if mark:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5, ec="k"))
    labels = [textwrap.fill(state, 16) for state in states]
    ax.set_xticks(range(len(states)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(datasets)), datasets)
    ax.set_xlabel("lineage state")
    ax.set_ylabel("input")
    ax.set_title(title or "strongest AUROC per lineage state (* and box: flagged)", fontsize=9)
    bar = fig.colorbar(image, ax=ax, fraction=0.05, aspect=12)
    bar.set_label("AUROC (0.5: no effect)", fontsize=8)
    return fig


def write_summary(
    run_dirs: Mapping[str, str | Path],
    table: str | Path,
    figures: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Write :func:`summarise_runs` as a TSV and :func:`plot_summary` in each figure format.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> write_summary({}, out / "summary.tsv").shape[0]
    0
    """
    summary = summarise_runs(run_dirs)
    table = Path(table)
    table.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(table, sep="\t", index=False, float_format="%.6g")
    flagged = summary.loc[summary["flagged"].astype(bool)]
    log.info(
        "summary of %d input(s): %d flagged lineage state(s)%s",
        summary["dataset"].nunique(),
        len(flagged),
        "".join(f"; {r.dataset}: {r.lineage_state}" for r in flagged.itertuples()),
    )
    if figures:
        import matplotlib.pyplot as plt

        if summary.empty:
            fig, ax = plt.subplots(figsize=(4, 2))
            ax.axis("off")
            ax.text(0.5, 0.5, "no runs to summarise", ha="center", va="center")
        else:
            fig = plot_summary(summary)
        for path in figures:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=150)
        plt.close(fig)
    return summary


def _summarise_one(name: str, folder: Path) -> pd.DataFrame:
    path = folder / "groups.tsv"
    if not path.is_file():
        raise ScclastInputError(f"{path} is missing: run scclast on {name!r} first")
    groups = pd.read_csv(path, sep="\t", dtype={"group": str})
    missing = [c for c in ("group", "lineage_state", "flagged") if c not in groups]
    if missing:
        raise ScclastInputError(f"{path} lacks column(s) {', '.join(missing)}: rerun scclast")
    groups["flagged"] = _as_bool(groups["flagged"])
    for column in ("auroc", "nes", "fdr", "n_cells"):
        if column not in groups:
            groups[column] = np.nan
    if "gene_set" not in groups:
        groups["gene_set"] = ""
    groups["lineage_state"] = groups["lineage_state"].fillna("unassigned").astype(str)

    rows = []
    for state, rows_of_state in groups.groupby("lineage_state", sort=False):
        per_group = rows_of_state.drop_duplicates("group")
        flagged_groups = list(dict.fromkeys(rows_of_state.loc[rows_of_state["flagged"], "group"]))
        evidence = rows_of_state.loc[rows_of_state["flagged"]] if flagged_groups else rows_of_state
        best = _strongest(evidence)
        rows.append(
            {
                "dataset": name,
                "lineage_state": state,
                "n_groups": len(per_group),
                "n_cells": int(np.nansum(per_group["n_cells"].to_numpy(dtype=float))),
                "flagged": bool(flagged_groups),
                "n_flagged_groups": len(flagged_groups),
                "flagged_groups": ",".join(flagged_groups),
                "gene_set": best.get("gene_set", ""),
                "auroc": best.get("auroc", np.nan),
                "nes": best.get("nes", np.nan),
                "fdr": best.get("fdr", np.nan),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _strongest(rows: pd.DataFrame) -> dict[str, Any]:
    """The row with the largest AUROC (ties: smallest FDR); empty when none is scored."""
    ordered = rows.assign(_auroc=rows["auroc"].fillna(-np.inf), _fdr=rows["fdr"].fillna(np.inf))
    ordered = ordered.sort_values(["_auroc", "_fdr"], ascending=[False, True], kind="stable")
    return ordered.iloc[0].to_dict() if len(ordered) else {}


def _as_bool(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "yes", "y", "t"))
