"""Writing the outputs of a run: all of OUTDIR appears, or none of it.

Everything is written to a hidden temporary folder next to OUTDIR and renamed into place
only when complete; ``run.json`` marks a folder as written by scclast, so ``force``
never deletes a folder scclast did not write. What goes in is read from the run's
sections (:mod:`scclast._pipeline._sections`): each one's tables, figures and report
block; beside them ``annotated.h5ad``, ``report.html`` and ``run.json``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import genesets, get
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY, Keys, Step
from scclast._pipeline._report import write_report
from scclast._pipeline._sections import SECTIONS, Results, Section, output_tables
from scclast._pipeline._writers import write_annotated, write_table, write_tsv_gz
from scclast._provenance import package_versions
from scclast.pl._base import default_style, save_figure

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")


MANIFEST = "run.json"
"""Parameters, input fingerprint and versions; marks a folder written by scclast."""

RUN_FILES = ("annotated.h5ad", "report.html", MANIFEST, "figures/")
"""What every run writes beside its sections' tables."""

OUTPUT_FILES = (*output_tables(), "annotated.h5ad", "report.html", MANIFEST)
"""Files of a complete OUTDIR, beside the ``figures/`` folder."""


def check_outdir(
    outdir: str | Path, force: bool = False, protect: Sequence[str | Path] = ()
) -> Path:
    """Check OUTDIR before any work: refuse an existing one without ``force``.

    With ``force`` an existing OUTDIR is replaced only when it is empty or was written
    by scclast (holds ``run.json``), so a mistyped ``-o`` cannot delete unrelated files.
    An OUTDIR that holds (or is) a ``protect`` path (the input file) is always refused:
    replacing it would delete the input. The parent folder is created if needed and must
    be writable (tried, not guessed from permission bits).

    Examples
    --------
    >>> import tempfile
    >>> check_outdir(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: output folder ... already exists: ...
    """
    outdir = Path(outdir).expanduser().absolute()
    for path in protect:
        if _inside(Path(path), outdir):
            raise ScclastInputError(
                f"output folder {outdir} holds the input {path}: choose an -o outside it "
                "(the input is never modified or deleted, so --force cannot replace it)"
            )
    if outdir.exists() or outdir.is_symlink():
        if not outdir.is_dir() or outdir.is_symlink():
            raise ScclastInputError(
                f"output {outdir} exists and is not a folder: choose another -o"
            )
        if not force:
            raise ScclastInputError(
                f"output folder {outdir} already exists: choose another -o, or pass --force "
                "to replace it"
            )
        if any(outdir.iterdir()) and not (outdir / MANIFEST).is_file():
            raise ScclastInputError(
                f"output folder {outdir} exists and was not written by scclast run (no "
                f"{MANIFEST}): --force only replaces scclast outputs; remove it yourself or "
                "choose another -o"
            )
    parent = outdir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ScclastInputError(
            f"cannot create the folder {parent} for the output: {err.strerror}"
        ) from err
    if not parent.is_dir():
        raise ScclastInputError(f"{parent} is not a folder: choose another -o")
    check_writable(parent, f"output folder {outdir}")
    return outdir


def check_writable(folder: Path, what: str) -> None:
    """Create and delete a file in ``folder``; a one-line error naming ``what`` if it fails.

    Permission bits do not tell (root ignores them; read-only mounts and immutable
    folders refuse root too), so a file is made.

    Examples
    --------
    >>> import tempfile
    >>> check_writable(Path(tempfile.mkdtemp()), "output")
    """
    try:
        handle, probe = tempfile.mkstemp(prefix=".scclast-write-test.", dir=folder)
    except OSError as err:
        raise ScclastInputError(
            f"{what} cannot be written: {folder} refuses new files ({err.strerror or err}); "
            "choose a folder you can write"
        ) from err
    os.close(handle)
    os.remove(probe)


def _inside(path: Path, folder: Path) -> bool:
    try:
        resolved = path.expanduser().resolve()
        return resolved == folder.resolve() or resolved.is_relative_to(folder.resolve())
    except OSError:
        return False


def write_outputs(
    adata: AnnData,
    table: pd.DataFrame | None,
    outdir: str | Path,
    *,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    force: bool = False,
    warnings_seen: Sequence[str] = (),
    key_added: str = DEFAULT_KEY,
    sections: Sequence[Section] = SECTIONS,
) -> Path:
    """Write every output atomically: all of OUTDIR appears, or none of it.

    Everything goes to a hidden temporary folder next to OUTDIR
    (``.OUTDIR.tmp-XXXXXXXX``), which is renamed to OUTDIR only when complete. On any
    error or interruption the temporary folder is removed. With ``force`` an existing
    scclast OUTDIR is moved aside, the new one moved in, then the old one deleted.

    Parameters
    ----------
    adata
        The analysed AnnData.
    table
        The flagging table; ``None`` reads it from ``adata``.
    outdir
        The folder to write.
    input_fingerprint, parameters
        Recorded in ``run.json`` and shown in the report.
    force
        Replace an existing OUTDIR written by scclast.
    warnings_seen
        User-facing warnings of the analysis, for the report.
    key_added
        The ``key_added`` of the analyses to write.
    sections
        The sections whose tables, figures and report blocks are written.

    Returns
    -------
    Path
        The completed OUTDIR.

    Examples
    --------
    >>> import os, tempfile, numpy as np, scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> adata.obsm["X_umap"] = np.random.default_rng(0).normal(size=(adata.n_obs, 2))
    >>> out = write_outputs(adata, None, os.path.join(tempfile.mkdtemp(), "out"),
    ...                     input_fingerprint={}, parameters={})
    >>> sorted(p.name for p in out.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['annotated.h5ad', 'figures', 'groups.tsv', 'report.html', 'run.json',
     'scores.tsv.gz']
    """
    outdir = check_outdir(outdir, force)
    results = _results(adata, table, input_fingerprint, parameters, warnings_seen, key_added)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.tmp-", dir=outdir.parent))
    except OSError as err:
        raise ScclastInputError(f"cannot write next to {outdir}: {err.strerror}") from err
    # mkdtemp makes the folder 0700; results are readable like any file the user writes
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        _write_all(staging, results, sections)
        move_into_place(staging, outdir, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return outdir


def render(
    adata: AnnData,
    table: pd.DataFrame | None,
    folder: str | Path,
    *,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    warnings_seen: Sequence[str] = (),
    key_added: str = DEFAULT_KEY,
    sections: Sequence[Section] = SECTIONS,
) -> dict[str, Path]:
    """Figures (``folder/figures/*.png|pdf``) and ``folder/report.html``.

    Used by :func:`write_outputs` and by the workflow's report rule (from the files
    alone: ``annotated.h5ad`` and ``groups.tsv``). ``table=None`` reads the flagging
    table from ``adata``.

    Returns
    -------
    dict
        ``{figure name: png path, "report": html path}``.

    Examples
    --------
    >>> import tempfile, numpy as np, scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> adata.obsm["X_umap"] = np.random.default_rng(0).normal(size=(adata.n_obs, 2))
    >>> written = render(adata, None, tempfile.mkdtemp(), input_fingerprint={},
    ...                  parameters={})
    >>> {"dotplot", "effect_sizes", "embedding", "factor_heatmap", "report"} <= set(written)
    True
    """
    results = _results(adata, table, input_fingerprint, parameters, warnings_seen, key_added)
    return _render(Path(folder), results, sections)


def _results(
    adata: AnnData,
    table: pd.DataFrame | None,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    warnings_seen: Sequence[str],
    key_added: str,
) -> Results:
    if table is None:
        table = get.flag_table(adata, key_added)
    notes = [*coverage_warnings(adata, table, key_added=key_added), *warnings_seen]
    results = Results(adata=adata, table=table, key_added=key_added, parameters=dict(parameters))
    for section in SECTIONS:
        for spec in section.figures:
            reason = spec.skip_reason(results)
            if reason:
                notes.append(f"figure {spec.name!r} not drawn: {reason}")
    return Results(
        adata=adata,
        table=table,
        key_added=key_added,
        parameters=dict(parameters),
        input_fingerprint=dict(input_fingerprint),
        warnings=list(dict.fromkeys(notes)),
    )


def _render(folder: Path, results: Results, sections: Sequence[Section]) -> dict[str, Path]:
    log.info("drawing figures ...")
    figures: dict[str, Path] = {}
    with default_style():
        # the tables step already logged each skipped section: say it once per run
        for section in applicable(results, sections, log_skipped=False):
            for spec in section.figures:
                reason = spec.skip_reason(results)
                if reason:
                    log.info("figure %s skipped: %s", spec.name, reason)
                    figure = _placeholder(spec.title, reason)
                else:
                    log.debug("drawing figure %s", spec.name)
                    figure = spec.draw(results)
                figures[spec.name] = save_figure(figure, folder / "figures", spec.name)["png"]
    html = write_report(folder / "report.html", results, figures, sections)
    return {**figures, "report": html}


def _placeholder(title: str, reason: str) -> Any:
    """A figure that says why the real one was not drawn (it keeps the report's place)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 1.6))
    figure.text(0.5, 0.62, f"{title}: not drawn", ha="center", va="center", fontsize=11)
    figure.text(0.5, 0.32, reason, ha="center", va="center", fontsize=9, color="#555555")
    return figure


def applicable(
    results: Results, sections: Sequence[Section] = SECTIONS, *, log_skipped: bool = True
) -> list[Section]:
    """The sections that apply to these results; each one skipped is logged with its reason."""
    kept = []
    for section in sections:
        reason = section.skip_reason(results)
        if reason:
            if log_skipped:
                log.info("%s: skipped: %s", section.name, reason)
        else:
            kept.append(section)
    return kept


def write_tables(
    results: Results, folder: str | Path, sections: Sequence[Section] = SECTIONS
) -> list[Path]:
    """Every table of the sections that apply, as ``folder/<file name>``; returns the paths.

    ``.tsv`` files are written by :func:`write_table`, ``.tsv.gz`` files by
    :func:`write_tsv_gz` (no timestamp: identical runs give identical bytes).
    """
    folder = Path(folder)
    written = []
    for section in applicable(results, sections):
        tables = section.tables(results)
        if set(tables) != set(section.files):
            raise RuntimeError(
                f"section {section.name!r} made tables {sorted(tables)} but declares "
                f"{list(section.files)}"
            )
        for name in section.files:
            path = folder / name
            (write_tsv_gz if name.endswith(".gz") else write_table)(tables[name], path)
            written.append(path)
    return written


def _write_all(folder: Path, results: Results, sections: Sequence[Section]) -> None:
    log.info("writing outputs ...")
    tables = write_tables(results, folder, sections)
    write_annotated(results.adata, folder / "annotated.h5ad", key_added=results.key_added)
    _render(folder, results, sections)
    outputs = [*(p.name for p in tables), *RUN_FILES]
    write_manifest(
        folder / MANIFEST, results.table, results.input_fingerprint, results.parameters, outputs
    )


def write_manifest(
    path: str | Path,
    table: pd.DataFrame,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    outputs: Sequence[str] | None = None,
) -> Path:
    """``run.json``: parameters, input fingerprint, versions, flagged groups, files.

    ``outputs`` lists what the folder holds; default: every file a complete run writes.

    Examples
    --------
    >>> import os, tempfile
    >>> t = pd.DataFrame({"group": ["a", "b"], "flagged": [True, False]})
    >>> path = write_manifest(os.path.join(tempfile.mkdtemp(), "run.json"), t, {}, {})
    >>> json.loads(path.read_text())["flagged_groups"]
    ['a']
    """
    path = Path(path)
    manifest = {
        "tool": "scclast run",
        "versions": package_versions(),
        "catalogue_version": genesets.catalogue_version(),
        "parameters": dict(parameters),
        "input": dict(input_fingerprint),
        "flagged_groups": get.flagged_groups(table),
        "outputs": list(outputs) if outputs is not None else [*OUTPUT_FILES, "figures/"],
    }
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def move_into_place(staging: Path, outdir: Path, force: bool) -> None:
    """Rename a finished staging folder to ``outdir``: outputs appear whole or not at all.

    An existing ``outdir`` (allowed only with ``force``) is set aside first and put back
    if the rename fails.
    """
    if not outdir.exists():
        os.rename(staging, outdir)
        return
    if not force:  # appeared while we were working
        raise ScclastInputError(f"output folder {outdir} appeared during the run: not replaced")
    old = outdir.parent / f".{outdir.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(outdir, old)
    try:
        os.rename(staging, outdir)
    except BaseException:
        os.rename(old, outdir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def coverage_warnings(
    adata: AnnData, table: pd.DataFrame, min_coverage: float = 0.5, key_added: str = DEFAULT_KEY
) -> list[str]:
    """Plain-text warnings about gene sets measured poorly in this data.

    Reads the per-set records of scoring and flagging (genes found and missing).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> scclast.tl.flag(adata, "cluster", enrichment=False)
    >>> coverage_warnings(adata, scclast.get.flag_table(adata))
    []
    >>> coverage_warnings(adata, None, min_coverage=1.01)[0]  # doctest: +ELLIPSIS
    'clastokines_secreted: ... genes measured (100%); missing: '
    """
    sets = _set_records(adata, Keys(key_added))
    messages = []
    for name, entry in sets.items():
        found = _as_list(entry.get("genes_found"))
        missing = _as_list(entry.get("genes_missing"))
        total = len(found) + len(missing)
        if total == 0:
            continue
        share = len(found) / total
        if share < min_coverage or not entry.get("scored", True):
            shown = ", ".join(map(str, missing[:12])) + (" ..." if len(missing) > 12 else "")
            state = "" if entry.get("scored", True) else " (not scored)"
            messages.append(
                f"{name}: {len(found)} of {total} genes measured ({share:.0%}){state}; "
                f"missing: {shown}"
            )
    return messages


def _as_list(value: Any) -> list[Any]:
    """A list from a list, tuple, array (h5ad gives lists back as arrays) or None."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _set_records(adata: AnnData, keys: Keys) -> dict[str, Mapping[str, Any]]:
    """Per-set found/missing genes from the flag record, else the score record."""
    merged: dict[str, Mapping[str, Any]] = {}
    for step in (Step.SCORE, Step.FLAG):
        sets = keys.record(adata, step).get("sets", {})
        for name, entry in (sets if isinstance(sets, Mapping) else {}).items():
            if isinstance(entry, Mapping) and ("genes_found" in entry or "genes_missing" in entry):
                merged[str(name)] = entry
    return merged


__all__ = [
    "MANIFEST",
    "OUTPUT_FILES",
    "RUN_FILES",
    "applicable",
    "check_outdir",
    "check_writable",
    "coverage_warnings",
    "move_into_place",
    "render",
    "write_manifest",
    "write_outputs",
    "write_tables",
]
