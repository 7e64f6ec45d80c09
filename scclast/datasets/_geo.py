"""GEO series: per-sample files (in a ``_RAW.tar`` or loose) read into one AnnData.

Files are grouped by sample (:func:`scclast.datasets._members.group_members`); each
group is read by the reader of its layout (10x triplet, 10x HDF5, dense text matrix),
reduced to cells where it is unfiltered (:mod:`scclast.datasets._qc`), and the samples
are concatenated. ``obs["sample"]`` is the GSM accession, ``obs["sample_label"]`` the
rest of the name (``S1``, ``1M``, ``Day0``), plus fields parsed from the label and
per-GSM annotations from the registry (``sample_annotations``).

Examples
--------
An archive holding one sample's 10x triplet (the bone-marrow files shipped with
scclast, named as GEO names them):

>>> import tarfile, tempfile
>>> import scclast.datasets as ds
>>> folder = Path(ds.__file__).parent / "data" / "tapseq_baccin_bm"
>>> archive = Path(tempfile.mkdtemp()) / "GSE0_RAW.tar"
>>> with tarfile.open(archive, "w") as tar:
...     for name in ("matrix.mtx.gz", "genes.tsv", "barcodes.tsv"):
...         tar.add(folder / name, arcname=f"GSM1_bm_{name}")
>>> adata = read_geo_raw_tar(archive)
>>> adata.n_obs, adata.obs["sample"].unique().tolist()
(180, ['GSM1'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scclast._errors import ScclastDataError, ScclastInputError
from scclast.datasets._genes import GeneMap, fill_symbols, finalize_var, read_gene_map
from scclast.datasets._members import (
    SampleGroup,
    group_members,
    local_member,
    tar_members,
)
from scclast.datasets._qc import DEFAULT_MIN_GENES, add_qc_metrics, cells_from_barcodes
from scclast.datasets._tables import add_sample_fields, text_matrix
from scclast.datasets._tenx import cells_of, h5_counts, triplet_counts


def read_geo_members(
    members: Iterable[Any],
    *,
    filter_empty: bool | str = "auto",
    min_genes: int = DEFAULT_MIN_GENES,
    qc: Mapping[str, Any] | None = None,
    gene_map: GeneMap = None,
    time_point_pattern: str | None = None,
    sample_fields: str | None = None,
    reporter_genes: Sequence[str] = (),
    sample_annotations: Mapping[str, Mapping[str, str]] | None = None,
    samples: Sequence[str] | None = None,
    source: str = "geo",
) -> ad.AnnData:
    """Read per-sample GEO files (10x triplets, 10x HDF5, text matrices) into one AnnData.

    Parameters
    ----------
    members
        :class:`scclast.datasets._members.Member` objects (files or archive members).
    filter_empty, min_genes, qc
        The cell rule of unfiltered matrices (:mod:`scclast.datasets._qc`).
    gene_map
        Ensembl ID -> symbol map (GTF, table or dict) for files that carry only IDs.
    time_point_pattern, sample_fields
        ``obs`` fields parsed from each sample's label (:mod:`scclast.datasets._tables`).
    reporter_genes
        Rows that are reporters, not genes (``tomato``): moved to ``obs``.
    sample_annotations
        ``{GSM: {column: value}}`` added to ``obs`` (e.g. tissue of each sample).
    samples
        Only these GSM accessions.
    source
        Named in messages (the archive or files read).
    """
    mapping = read_gene_map(gene_map)
    groups, skipped = group_members(members)
    if samples:
        found = {g.sample for g in groups}
        missing = sorted(set(samples) - found)
        if missing:
            available = ", ".join(sorted(found)) or "none"
            raise ScclastInputError(
                f"{source} has no files for sample(s) {', '.join(missing)}: available {available}"
            )
        groups = [g for g in groups if g.sample in samples]
    if not groups:
        raise ScclastDataError(
            f"{source} holds no file scclast can read (10x triplets, .h5, text matrices); "
            f"found {', '.join(skipped[:5]) or 'nothing'}"
        )
    cell_rule = {"filter_empty": filter_empty, "min_genes": min_genes, "qc": qc}
    adatas, filters = [], {}
    for group in groups:
        adata = _read_group(group, cell_rule, mapping, reporter_genes, source)
        sample = group.sample
        if sum(g.sample == sample for g in groups) > 1:
            sample = group.prefix
        filters[sample] = adata.uns.pop("empty_droplet_filter", {"applied": False})
        adata.obs_names = [f"{sample}_{b}" for b in adata.obs_names]
        adata.obs["sample"] = sample
        adata.obs["sample_label"] = group.label
        adatas.append(adata)
    combined = _concat(adatas)
    add_sample_fields(
        combined, time_point_pattern, sample_fields, combined.obs["sample_label"].astype(str)
    )
    _annotate_samples(combined, sample_annotations)
    combined.uns["scclast"] = {
        "dataset": {
            "reader": "geo_samples",
            "source_files": sorted(m.name for g in groups for m in g.parts.values()),
            "skipped_files": skipped,
            "empty_droplet_filter": filters,
        }
    }
    finalize_var(combined, mapping)
    add_qc_metrics(combined)
    return combined


def _read_group(
    group: SampleGroup,
    cell_rule: dict[str, Any],
    mapping: Mapping[str, str],
    reporters: Sequence[str],
    source: str,
) -> ad.AnnData:
    parts = group.parts
    if {"matrix", "features", "barcodes"} <= parts.keys():
        counts = triplet_counts(parts["matrix"], parts["features"], parts["barcodes"])
        return cells_of(counts, group.prefix, mapping=mapping, **cell_rule)
    if "h5" in parts:
        return cells_of(h5_counts(parts["h5"]), group.prefix, mapping=mapping, **cell_rule)
    if "table" in parts:
        adata = text_matrix(parts["table"], reporters=reporters)
        fill_symbols(adata, mapping)
        return cells_from_barcodes(adata, group.prefix, **cell_rule)
    raise ScclastDataError(
        f"{source}: sample {group.prefix} has only {sorted(parts)} of a 10x triplet "
        "(matrix, features/genes, barcodes): the download is incomplete"
    )


def _concat(adatas: list[ad.AnnData]) -> ad.AnnData:
    if len(adatas) == 1:
        combined = adatas[0]
    else:
        var = pd.concat([a.var for a in adatas])
        symbols = var.groupby(level=0, sort=False)["gene_symbols"].agg(
            lambda values: next((v for v in values if v), "")
        )
        var = var[~var.index.duplicated(keep="first")].copy()
        var["gene_symbols"] = symbols.loc[var.index].to_numpy()
        combined = ad.concat(adatas, join="outer", merge="first", fill_value=0)
        combined.var = var.loc[combined.var_names]
    combined.X = sp.csr_matrix(combined.X, dtype=np.float32)
    for column in ("sample", "sample_label"):
        combined.obs[column] = pd.Categorical(combined.obs[column].astype(str))
    return combined


def _annotate_samples(
    adata: ad.AnnData, annotations: Mapping[str, Mapping[str, str]] | None
) -> None:
    if not annotations:
        return
    samples = adata.obs["sample"].astype(str)
    columns = sorted({column for fields in annotations.values() for column in fields})
    for column in columns:
        values = samples.map(lambda s, c=column: str(annotations.get(s, {}).get(c, "unknown")))
        adata.obs[column] = pd.Categorical(values.to_numpy())


def read_geo_raw_tar(
    path: str | Path, *, samples: Sequence[str] | None = None, **kwargs: Any
) -> ad.AnnData:
    """Read a GEO ``GSExxx_RAW.tar`` of per-sample files.

    Members are read straight from the archive (nothing is unpacked on disk) by
    :func:`~scclast.datasets._geo.read_geo_members`; ``samples`` reads only those GSM
    accessions.

    Examples
    --------
    >>> # the module's example builds and reads a one-sample archive
    >>> read_geo_raw_tar("GSE145477_RAW.tar", reporter_genes=["tomato"])  # doctest: +SKIP
    """
    with tar_members(path, samples) as members:
        return read_geo_members(members, source=str(path), samples=samples, **kwargs)


def read_geo_files(paths: Iterable[str | Path], **kwargs: Any) -> ad.AnnData:
    """Read loose per-sample GEO files (``GSMxxx_...``) into one AnnData."""
    paths = list(paths)
    return read_geo_members(
        (local_member(p) for p in paths),
        source=", ".join(Path(p).name for p in paths[:3]),
        **kwargs,
    )


__all__ = ["read_geo_files", "read_geo_members", "read_geo_raw_tar"]
