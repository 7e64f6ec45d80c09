"""Writing the outputs of a run: all of OUTDIR appears, or none of it.

Everything is written to a hidden temporary folder next to OUTDIR and renamed into place
only when complete; ``run.json`` marks a folder as written by scclast, so ``force``
never deletes a folder scclast did not write.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scclast import get
from scclast._errors import ScclastInputError
from scclast._pipeline._report import write_report
from scclast.pl._figures import all_figures

if TYPE_CHECKING:
    pass

log = logging.getLogger("scclast")


OUTPUT_FILES = ("groups.tsv", "scores.tsv.gz", "annotated.h5ad", "report.html", "run.json")
"""Files of a complete OUTDIR, beside the ``figures/`` folder."""


MANIFEST = "run.json"
"""Parameters, input fingerprint and versions; marks a folder written by scclast."""


def check_outdir(outdir: str | Path, force: bool = False) -> Path:
    """Check OUTDIR before any work: refuse an existing one without ``force``.

    With ``force`` an existing OUTDIR is replaced only when it is empty or was written
    by scclast (holds ``run.json``), so a mistyped ``-o`` cannot delete unrelated files.
    The parent folder is created if needed and must be writable.

    Examples
    --------
    >>> import tempfile
    >>> check_outdir(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: output folder ... already exists: ...
    """
    outdir = Path(outdir).expanduser().absolute()
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
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ScclastInputError(
            f"output folder {outdir} cannot be written: no write permission in {parent}"
        )
    return outdir


def write_outputs(
    adata: Any,
    table: pd.DataFrame,
    outdir: str | Path,
    *,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    force: bool = False,
    warnings_seen: Sequence[str] = (),
) -> Path:
    """Write every output atomically: all of OUTDIR appears, or none of it.

    Everything goes to a hidden temporary folder next to OUTDIR
    (``.OUTDIR.tmp-XXXXXXXX``), which is renamed to OUTDIR only when complete. On any
    error or interruption the temporary folder is removed. With ``force`` an existing
    scclast OUTDIR is moved aside, the new one moved in, then the old one deleted.

    Returns
    -------
    Path
        The completed OUTDIR.

    Examples
    --------
    >>> write_outputs(adata, table, "out", input_fingerprint={}, parameters={})  # doctest: +SKIP
    PosixPath('.../out')
    """
    outdir = check_outdir(outdir, force)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.tmp-", dir=outdir.parent))
    except OSError as err:
        raise ScclastInputError(f"cannot write next to {outdir}: {err.strerror}") from err
    try:
        _write_all(staging, adata, table, input_fingerprint, parameters, warnings_seen)
        _move_into_place(staging, outdir, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return outdir


def render(
    adata: Any,
    table: pd.DataFrame,
    folder: str | Path,
    *,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    warnings_seen: Sequence[str] = (),
) -> dict[str, Path]:
    """Figures (``folder/figures/*.png|pdf``) and ``folder/report.html``.

    Returns ``{figure name: png path, "report": html path}``. Used by
    :func:`write_outputs` and by the workflow's report rule.

    Examples
    --------
    >>> render(adata, table, "out", input_fingerprint={}, parameters={})  # doctest: +SKIP
    """
    folder = Path(folder)
    log.info("drawing figures ...")
    figures = all_figures(adata, folder / "figures")
    notes = list(dict.fromkeys([*coverage_warnings(adata, table), *warnings_seen]))
    html = write_report(
        folder / "report.html",
        adata,
        table,
        figures,
        parameters=parameters,
        input_fingerprint=input_fingerprint,
        coverage_warnings=notes,
    )
    return {**figures, "report": html}


def _write_all(
    folder: Path,
    adata: Any,
    table: pd.DataFrame,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
    warnings_seen: Sequence[str],
) -> None:
    log.info("writing outputs ...")
    write_table(table, folder / "groups.tsv")
    write_scores(adata, folder / "scores.tsv.gz")
    write_annotated(adata, folder / "annotated.h5ad")
    render(
        adata,
        table,
        folder,
        input_fingerprint=input_fingerprint,
        parameters=parameters,
        warnings_seen=warnings_seen,
    )
    write_manifest(folder / MANIFEST, table, input_fingerprint, parameters)


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """The flagging table as TSV (lists joined with ``;``, no index).

    Examples
    --------
    >>> import tempfile, os
    >>> p = write_table(pd.DataFrame({"group": ["a"], "drivers": [["Slit3", "Lif"]]}),
    ...                 os.path.join(tempfile.mkdtemp(), "groups.tsv"))
    >>> p.read_text().splitlines()[1]
    'a\\tSlit3;Lif'
    """
    path = Path(path)
    flat = table.copy()
    for column in flat.columns:
        if flat[column].dtype == object:
            flat[column] = flat[column].map(_flat_text)
    flat.to_csv(path, sep="\t", index=False, lineterminator="\n")
    return path


def write_scores(adata: Any, path: str | Path) -> Path:
    """Per-cell scores, calibrated z-scores, lineage state and flag as gzipped TSV.

    One row per cell (``cell`` = obs name); every ``obs`` column written by scclast
    (``scclast_*``). The gzip header carries no timestamp, so identical runs give
    identical files.

    Examples
    --------
    >>> write_scores(adata, "scores.tsv.gz")  # doctest: +SKIP
    """
    path = Path(path)
    frame = get.scores(adata)
    # no name and no time in the gzip header: identical runs give identical bytes
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as packed,
        io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
    ):
        frame.to_csv(text, sep="\t", lineterminator="\n")
    return path


def write_annotated(adata: Any, path: str | Path) -> Path:
    """The input plus scores, states, flags and embedding, as h5ad.

    Values in ``uns`` that h5ad cannot store (``None``, mixed lists, nested records)
    are converted first (``None`` becomes ``"None"``, records become JSON text).

    Examples
    --------
    >>> write_annotated(adata, "annotated.h5ad")  # doctest: +SKIP
    """
    path = Path(path)
    original = adata.uns.get("scclast")
    if original is not None:
        adata.uns["scclast"] = h5ad_safe(original)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            adata.write_h5ad(path)
    finally:
        if original is not None:
            adata.uns["scclast"] = original
    return path


def h5ad_safe(value: Any) -> Any:
    """A copy of ``value`` that anndata can write to h5ad.

    Examples
    --------
    >>> h5ad_safe({"a": None, "b": [1, "x"], "c": [{"k": 1}], "d": (1, 2)})
    {'a': 'None', 'b': ['1', 'x'], 'c': '[{"k": 1}]', 'd': [1, 2]}
    """
    if value is None:
        return "None"
    if isinstance(value, Mapping):
        return {str(k): h5ad_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return _safe_frame(value)
    if isinstance(value, (str, bool, int, float, np.generic, np.ndarray)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            return np.array([], dtype=str)
        if all(isinstance(v, (bool, np.bool_)) for v in items):
            return list(items)
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items):
            return list(items)
        if all(isinstance(v, str) for v in items):
            return list(items)
        if any(isinstance(v, (Mapping, list, tuple)) for v in items):
            return json.dumps(items, default=str)
        return [str(v) for v in items]
    return str(value)


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(_flat_text)
    out.columns = [str(c) for c in out.columns]
    out.index = out.index.astype(str)
    return out


def _flat_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return ";".join(map(str, value))
    return str(value)


def write_manifest(
    path: str | Path,
    table: pd.DataFrame,
    input_fingerprint: Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> Path:
    """``run.json``: parameters, input fingerprint, versions, flagged groups, files."""
    from scclast._provenance import package_versions
    from scclast.genesets import catalogue_version

    path = Path(path)
    manifest = {
        "tool": "scclast run",
        "versions": package_versions(),
        "catalogue_version": catalogue_version(),
        "parameters": dict(parameters),
        "input": dict(input_fingerprint),
        "flagged_groups": get.flagged_groups(table),
        "outputs": [*OUTPUT_FILES, "figures/"],
    }
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def _move_into_place(staging: Path, outdir: Path, force: bool) -> None:
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


def coverage_warnings(adata: Any, table: pd.DataFrame, min_coverage: float = 0.5) -> list[str]:
    """Plain-text warnings about gene sets measured poorly in this data.

    Reads the per-set records of scoring and flagging (genes found and missing).

    Examples
    --------
    >>> coverage_warnings(adata, table)  # doctest: +SKIP
    ['clastokines_putative: 2 of 6 genes measured (33%); missing: Afm, Bmp6, Hgf, Pdgfb']
    """
    sets = _set_records(adata)
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


def _set_records(adata: Any) -> dict[str, Mapping[str, Any]]:
    """Per-set found/missing genes from the flag record, else the score record."""
    uns = adata.uns.get("scclast", {})
    merged: dict[str, Mapping[str, Any]] = {}
    for step in ("score", "flag"):
        sets = uns.get(step, {}).get("sets", {}) if isinstance(uns.get(step), Mapping) else {}
        for name, entry in (sets or {}).items():
            if isinstance(entry, Mapping) and ("genes_found" in entry or "genes_missing" in entry):
                merged[str(name)] = entry
    return merged
