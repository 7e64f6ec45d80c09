"""Which reader reads a registry entry's files, with which options.

Every registry entry names a ``loader`` (a file layout) and ``loader_options``; this
module maps them to the readers, one module per kind of file:

==================  ====================================  =================================
loader              files                                 reader (module)
==================  ====================================  =================================
``bundled_h5ad``    an h5ad inside the package            :func:`anndata.read_h5ad`
``mtx_folder``      a 10x triplet folder (+ metadata)     :func:`~._tenx.read_mtx_folder`
``tenx_triplet``    one 10x triplet                       :func:`~._tenx.read_10x_mtx`
``tenx_h5``         one 10x HDF5 file                     :func:`~._tenx.read_10x_h5`
``geo_raw_tar``     a GEO ``_RAW.tar`` of per-GSM files   :func:`~._geo.read_geo_raw_tar`
``geo_samples``     loose per-GSM files (discovered)      :func:`~._geo.read_geo_files`
``count_table``     a genes x samples table               :func:`~._tables.read_count_table`
``homer_counts``    a HOMER ``analyzeRepeats`` table      :func:`~._tables.read_count_table`
``ensembl_gtf``     an Ensembl GTF (a gene map, no data)  :func:`~._genes.read_gtf_gene_map`
==================  ====================================  =================================

Readers share :mod:`._members` (files in archives), :mod:`._genes` (IDs, symbols,
gene maps, reporters) and :mod:`._qc` (barcodes to cells). Every reader returns raw
counts in ``X`` (``float32``), ``obs["sample"]``, symbols as ``var_names`` with Ensembl
IDs in ``var["gene_ids"]``, QC metrics for single cells, and what it did in
``uns["scclast"]["dataset"]``.

Examples
--------
>>> sorted(READER_OPTIONS)[:3]
['filter_empty', 'gene_map', 'min_genes']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anndata as ad

from scclast._errors import ScclastDataError, ScclastInputError
from scclast.datasets._genes import GeneMap, read_gene_map
from scclast.datasets._geo import read_geo_files, read_geo_raw_tar
from scclast.datasets._qc import add_qc_metrics
from scclast.datasets._registry import DatasetEntry, load_registry
from scclast.datasets._tables import read_count_table
from scclast.datasets._tenx import read_10x_h5, read_10x_mtx, read_mtx_folder

READER_OPTIONS = (
    "filter_empty",
    "min_genes",
    "qc",
    "gene_map",
    "time_point_pattern",
    "sample_fields",
    "reporter_genes",
    "sample_annotations",
)
"""Options a registry entry's ``loader_options`` (or :func:`scclast.datasets.load`) sets."""

_CELL_OPTIONS = ("filter_empty", "min_genes", "qc")
_GEO_OPTIONS = (*_CELL_OPTIONS, "time_point_pattern", "sample_fields", "reporter_genes")


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse options no reader knows, naming the ones that exist."""
    unknown = set(options) - set(READER_OPTIONS)
    if unknown:
        raise ScclastInputError(
            f"unknown loader option(s) {sorted(unknown)}: use {', '.join(READER_OPTIONS)}"
        )


def resolve_gene_map(value: GeneMap, fetch: Any) -> dict[str, str]:
    """A gene map from a registry key (an ``ensembl_gtf`` entry, fetched and hashed like
    any registry file), a path, a table or a mapping.

    ``fetch`` is :func:`scclast.datasets.fetch` (passed in: this module reads files, it
    does not download them).
    """
    if isinstance(value, str) and not Path(value).exists():
        entry = load_registry().get(value)
        if entry is not None:
            if entry.loader != "ensembl_gtf":
                raise ScclastInputError(
                    f"gene_map={value!r} is a registry dataset, not a gene annotation: "
                    "give an ensembl_gtf entry, a table file or a mapping"
                )
            return read_gene_map(fetch(value)[0][1])
    return read_gene_map(value)


def read_entry(
    entry: DatasetEntry,
    paths: list[Path],
    options: Mapping[str, Any],
    samples: list[str] | None,
    gene_map: Mapping[str, str],
) -> ad.AnnData:
    """Read the fetched ``paths`` of ``entry`` with its loader and ``options``."""
    kind = entry.loader
    cells = {k: options[k] for k in _CELL_OPTIONS if k in options}
    geo = {k: options[k] for k in _GEO_OPTIONS if k in options}
    if kind == "bundled_h5ad":
        return ad.read_h5ad(paths[0])
    if kind == "mtx_folder":
        return read_mtx_folder(paths[0], gene_map=gene_map)
    if kind == "geo_raw_tar":
        annotations = options.get("sample_annotations")
        parts = [
            read_geo_raw_tar(
                p, samples=samples, gene_map=gene_map, sample_annotations=annotations, **geo
            )
            for p in paths
        ]
        return parts[0] if len(parts) == 1 else ad.concat(parts, join="outer", merge="first")
    if kind == "geo_samples":
        return read_geo_files(
            paths,
            gene_map=gene_map,
            sample_annotations=options.get("sample_annotations"),
            **geo,
        )
    if kind == "tenx_triplet":
        matrix, features, barcodes = _triplet_order(paths)
        return read_10x_mtx(matrix, features, barcodes, gene_map=gene_map, **cells)
    if kind == "tenx_h5":
        return read_10x_h5(paths[0], gene_map=gene_map, **cells)
    if kind in ("count_table", "homer_counts"):
        return read_count_table(
            paths[0],
            gene_map=gene_map,
            time_point_pattern=options.get("time_point_pattern"),
            sample_fields=options.get("sample_fields"),
            homer=kind == "homer_counts",
        )
    if kind == "ensembl_gtf":
        raise ScclastInputError(
            f"{entry.key!r} is a gene annotation, not data: pass it as gene_map={entry.key!r}"
        )
    raise ScclastDataError(
        f"dataset {entry.key!r} has no loader ({kind!r}): see its registry entry"
    )


def _triplet_order(paths: list[Path]) -> tuple[Path, Path, Path]:
    def pick(*words: str) -> Path:
        return next(p for p in paths if any(w in p.name for w in words))

    return pick("matrix"), pick("features", "genes"), pick("barcodes")


__all__ = ["READER_OPTIONS", "add_qc_metrics", "check_options", "read_entry", "resolve_gene_map"]
