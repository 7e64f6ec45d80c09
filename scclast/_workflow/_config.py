"""The workflow's config, read once the schema has checked it: which inputs, which files.

``workflows/schemas/config.schema.yaml`` checks the config and fills in its defaults
(``snakemake.utils.validate``); this module turns it into what the rules need: one
settings mapping per input (:func:`inputs_from_config`) and the gene-set files whose
edits must rerun ``analyse`` (:func:`gene_set_files`).

An input's own settings (:data:`INPUT_SETTINGS`) fall back to ``params:``; a new
per-input setting is one entry there, one in the schema's ``input_settings`` and one
under its ``params``.

Examples
--------
>>> inputs = inputs_from_config({"datasets": ["example"], "params": {"groupby": "cluster"}})
>>> inputs["example"]["groupby"]
'cluster'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scclast._errors import ScclastInputError
from scclast._run_options import resolve_options

EXAMPLE_KEY = "example"
"""Config key of the bundled synthetic example (offline; no registry look-up)."""

RESERVED_NAMES = ("summary", "logs")
"""Folder names under the results folder that no input may take."""

INPUT_SETTINGS: dict[str, Any] = {
    "groupby": None,
    "sample_key": None,
    "species": "auto",
    "backed": False,
    "options": {},
}
"""Settings an input may set for itself, with the value used when neither the input nor
``params:`` sets one (the schema fills the same defaults into ``params:``)."""

RULES = ("fetch", "prepare", "analyse", "report", "summary", "timecourse")
"""The workflow's job rules; each has a block under ``resources:`` in the config."""

DATA_TYPES = ("single-cell", "bulk")
"""What an input holds: cells (fetch, prepare, analyse, report) or bulk samples of a time
course (fetch, timecourse)."""

BULK_SETTINGS: dict[str, Any] = {"time": "time_point", "donor": "donor", "sample_fields": None}
"""Settings of a bulk input (its ``obs`` columns of time and donor, the regex splitting a
count table's sample names), with their defaults; only bulk inputs carry them."""


def inputs_from_config(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The workflow's inputs: one settings mapping per input name, in config order.

    Registry datasets (``datasets:``) come first, then local files (``samples:``).
    Each of :data:`INPUT_SETTINGS` is the input's own value, else ``params:``'s.

    Parameters
    ----------
    config
        The workflow config (after :func:`snakemake.utils.validate`, or a plain mapping).

    Returns
    -------
    ``{name: {"kind": "dataset" | "sample", "source": key or path, **settings}}``.

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
    >>> inputs_from_config({"samples": {"logs": {"path": "x.h5ad"}}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: input name 'logs' is reserved for the workflow's ...
    """
    params = config.get("params") or {}
    defaults = {
        key: params[key] if params.get(key) is not None else fallback
        for key, fallback in INPUT_SETTINGS.items()
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
        settings = {k: item[k] if item.get(k) is not None else v for k, v in defaults.items()}
        # an input's options complete the shared ones; every name must be a run option
        settings["options"] = resolve_options(
            {**(defaults.get("options") or {}), **(item.get("options") or {})}
        )
        if data_type(kind, source, item) == "bulk":
            settings["data_type"] = "bulk"
            settings.update({k: item.get(k, v) for k, v in BULK_SETTINGS.items()})
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


def data_type(kind: str, source: str, item: Mapping[str, Any]) -> str:
    """``"bulk"`` or ``"single-cell"``: as the input says, else its registry entry's
    ``data_type``, else ``"single-cell"`` for an ``.h5ad`` file and ``"bulk"`` for a table.

    Examples
    --------
    >>> data_type("sample", "counts/GSE246769.txt.gz", {}), data_type("dataset", "example", {})
    ('bulk', 'single-cell')
    >>> data_type("dataset", "hansen2024_monocyte_osteoclast_bulk", {})
    'bulk'
    """
    given = item.get("data_type")
    if given:
        return str(given)
    if kind == "dataset":
        if source == EXAMPLE_KEY:
            return "single-cell"
        from scclast.datasets import get_entry

        return "bulk" if get_entry(source).data_type == "bulk" else "single-cell"
    return "single-cell" if source.endswith(".h5ad") else "bulk"


def looks_like_file(item: str) -> bool:
    """True when a ``gene_sets`` entry is a file (it has a suffix or a folder), not a set name.

    Examples
    --------
    >>> looks_like_file("clastokines_secreted"), looks_like_file("sets/mine.gmt")
    (False, True)
    """
    path = Path(item)
    return bool(path.suffix) or len(path.parts) > 1


def gene_set_files(params: Mapping[str, Any]) -> list[str]:
    """Files among ``gene_sets`` and the osteomorph signature, so editing one reruns ``analyse``.

    Examples
    --------
    >>> gene_set_files({"gene_sets": ["clastokines_secreted", "mine.gmt"],
    ...                 "osteomorph_signature": "osteomorph.txt"})
    ['mine.gmt', 'osteomorph.txt']
    """
    files = [str(g) for g in params.get("gene_sets") or [] if looks_like_file(str(g))]
    if params.get("osteomorph_signature"):
        files.append(str(params["osteomorph_signature"]))
    return files
