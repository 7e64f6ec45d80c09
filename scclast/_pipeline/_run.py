"""``scclast.run``: the one-call pipeline, and the steps the workflow rules call."""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scclast import genesets, get, tl
from scclast._errors import ScclastInputError
from scclast._keys import DEFAULT_KEY
from scclast._pipeline._inputs import (
    check_gene_coverage,
    check_groupby,
    close,
    fingerprint,
    load_dataset,
    load_example,
    load_input,
    reading_errors,
)
from scclast._pipeline._outputs import check_outdir, write_outputs
from scclast._pipeline._sections import SECTIONS, Section
from scclast._pipeline._sections._flagging import gene_sets_argument
from scclast._run_options import resolve_options
from scclast._warnings import ScclastWarning
from scclast.tl._flag._replicates import check_sample_key

if TYPE_CHECKING:
    from anndata import AnnData

log = logging.getLogger("scclast")


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    outdir
        The completed output folder.
    table
        The flagging table (also ``outdir / "groups.tsv"``).
    flagged_groups
        Groups flagged for at least one gene set, in table order (may be empty).
    report
        Path of ``report.html``.
    """

    outdir: Path
    table: pd.DataFrame
    flagged_groups: list[str]
    report: Path


def prepare(
    adata: AnnData,
    groupby: str | None = None,
    seed: int = 0,
    *,
    embedding: bool = True,
    layer: str | None = None,
    use_raw: bool = False,
) -> None:
    """Check the grouping column and make sure a 2-D embedding is stored.

    The embedding is :func:`scclast.tl.umap` (a stored UMAP is kept); with
    ``embedding=False`` none is computed (a stored one is still used), and the figures
    that need one say so instead. ``layer``/``use_raw`` pick the matrix as for scoring.

    Raises
    ------
    ScclastInputError
        ``groupby`` is not a column of ``obs`` (the message lists the columns).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> prepare(adata, groupby="cluster")
    >>> adata.obsm["X_umap"].shape
    (3000, 2)
    """
    if groupby is not None:
        check_groupby(adata, groupby)
    tl.umap(adata, seed=seed, compute=embedding, layer=layer, use_raw=use_raw)


def analyse_sections(
    adata: AnnData,
    parameters: Mapping[str, Any],
    *,
    key_added: str = DEFAULT_KEY,
    sections: Sequence[Section] = SECTIONS,
) -> None:
    """Run the analysis of every section, in order, reading options from ``parameters``.

    ``parameters`` is what :func:`run_parameters` records (the workflow's rules pass
    the same), so a section's options live in one record from the command line to
    ``run.json``.

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> analyse_sections(adata, run_parameters(
    ...     "example", groupby="cluster", species="auto", method="seurat", gene_sets=None,
    ...     osteomorph_signature=None, fdr=0.05, seed=0, backed=False))
    >>> scclast.get.flagged_groups(adata)
    ['3']
    """
    for section in sections:
        section.analyse(adata, parameters, key_added)


def check_sections(
    adata: AnnData, parameters: Mapping[str, Any], sections: Sequence[Section] = SECTIONS
) -> None:
    """Every section's cheap input checks, before any analysis (one clear line on failure).

    Examples
    --------
    >>> import scclast
    >>> adata = scclast.datasets.example()
    >>> check_sections(adata, {"condition": "treatment", "sample_key": "sample"})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: condition='treatment' is not a column of adata.obs; ...
    """
    for section in sections:
        section.check(adata, parameters)


def run(
    input: str | Path | None = None,
    outdir: str | Path = "scclast_out",
    *,
    dataset: str | None = None,
    example: bool = False,
    groupby: str | None = None,
    sample_key: str | None = None,
    species: str = "auto",
    method: str = "seurat",
    gene_sets: Sequence[str | Path] | None = None,
    osteomorph_signature: str | Path | None = None,
    fdr: float = 0.05,
    seed: int = 0,
    backed: bool = False,
    force: bool = False,
    use_raw: bool = False,
    layer: str | None = None,
    embedding: bool = True,
    **options: Any,
) -> RunResult:
    """From an h5ad file (or a registry dataset, or the bundled example) to OUTDIR.

    Exactly one of ``input``, ``dataset`` and ``example`` is given. For the example
    the grouping defaults to its ``cluster`` column and the sample key to its
    ``sample`` column (the simulated animals).

    Parameters
    ----------
    input
        Path of an ``.h5ad`` file (never modified).
    outdir
        Output folder; must not exist unless ``force``.
    dataset
        A registry key (``scclast datasets list``), fetched through pooch.
    example
        Use the bundled synthetic example (offline).
    groupby
        ``obs`` column of groups; ``None`` builds Leiden clusters.
    sample_key
        ``obs`` column of the biological replicate (animal, donor, culture): groups are
        then tested on one pseudobulk value per sample (:func:`scclast.tl.flag`);
        without it flags are labelled exploratory. Checked before any work: it must
        exist, hold labels (not continuous numbers) and name at least two samples.
    species
        ``"auto"``, ``"mouse"`` or ``"human"``.
    method
        Uncalibrated score method: ``"seurat"``, ``"ucell"``, ``"aucell"`` or ``"mean"``.
    gene_sets
        Catalogue set names and/or GMT files; default: flagging's default sets.
    osteomorph_signature
        Signature file enabling osteomorph calls (McDonald et al. 2021).
    fdr
        Benjamini-Hochberg level of a flag.
    seed
        Seed of every random step (controls, clustering, embedding, permutations).
    backed
        Score a file input from disk in row chunks (bounded memory).
    force
        Replace an existing OUTDIR written by scclast (never one holding the input).
    use_raw, layer
        Analyse ``adata.raw`` or ``adata.layers[layer]`` instead of ``X`` (for files
        whose ``X`` is scaled, as scanpy's processed files are).
    embedding
        ``False`` (``--no-embedding``): compute no UMAP; a stored one is still used, and
        the figures that need one say so instead.
    **options
        Settings of the further analyses a run carries (coupling map, differentiation,
        condition comparisons), as listed by ``scclast run --help`` and declared in
        :mod:`scclast._run_options`; an unknown name is refused.

    Returns
    -------
    RunResult

    Examples
    --------
    >>> import os, tempfile
    >>> result = run(example=True, outdir=os.path.join(tempfile.mkdtemp(), "out"))
    >>> result.flagged_groups, result.report.name
    (['3'], 'report.html')
    >>> sorted(p.name for p in result.outdir.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['annotated.h5ad', 'communication.tsv', 'figures', 'groups.tsv', 'report.html',
     'run.json', 'scores.tsv.gz', 'trajectory.tsv']
    """
    started = time.perf_counter()
    _check_sources(input, dataset, example)
    outdir = check_outdir(outdir, force, protect=_protected(input, dataset))
    section_options = resolve_options(options)
    _check_set_arguments(gene_sets, osteomorph_signature)
    adata, input_fingerprint = _load(input, dataset, example, backed)
    if example and groupby is None and "cluster" in adata.obs:
        groupby = "cluster"
    if example and sample_key is None and "sample" in adata.obs:
        sample_key = "sample"
    parameters = run_parameters(
        str(input) if input is not None else ("example" if example else dataset),
        groupby=groupby,
        sample_key=sample_key,
        species=species,
        method=method,
        gene_sets=gene_sets,
        osteomorph_signature=osteomorph_signature,
        fdr=fdr,
        seed=seed,
        backed=backed,
        layer=layer,
        use_raw=use_raw,
        embedding=embedding,
    )
    parameters.update(section_options)
    try:
        with collect_warnings() as seen, reading_errors(input if backed else None):
            # the cheap checks first: a wrong column or species fails in seconds, not minutes
            if groupby is not None:
                check_groupby(adata, groupby)
            if sample_key is not None:
                check_sample_key(adata, sample_key)
            check_gene_coverage(
                adata, gene_sets_argument(gene_sets), species, layer=layer, use_raw=use_raw
            )
            check_sections(adata, parameters)
            prepare(
                adata, groupby=groupby, seed=seed, embedding=embedding, layer=layer,
                use_raw=use_raw,
            )  # fmt: skip
            analyse_sections(adata, parameters)
        parameters["groupby"] = groupby or recorded_groupby(adata)
        table = get.flag_table(adata)
        write_outputs(
            adata,
            table,
            outdir,
            input_fingerprint=input_fingerprint,
            parameters=parameters,
            force=force,
            warnings_seen=seen,
        )
    finally:
        close(adata)
    flagged = get.flagged_groups(table)
    log.info(
        "done in %.1f s: %s; report: %s",
        time.perf_counter() - started,
        f"{len(flagged)} group(s) flagged{_exploratory_label(table)}: {', '.join(flagged)}"
        if flagged
        else "no population flagged",
        outdir / "report.html",
    )
    return RunResult(
        outdir=outdir, table=table, flagged_groups=flagged, report=outdir / "report.html"
    )


def _exploratory_label(table: pd.DataFrame) -> str:
    """`` (exploratory: ...)`` when a flagged row was tested with cells as the unit."""
    if "evidence" not in table:
        return ""
    flagged = table[table["flagged"].astype(bool)]
    exploratory = flagged["evidence"].astype(str).str.startswith("exploratory")
    return " (exploratory: cells treated as independent)" if exploratory.any() else ""


def _check_sources(input: Any, dataset: str | None, example: bool) -> None:
    given = [name for name, on in (("INPUT", input is not None), ("--dataset", dataset is not None),
                                   ("--example", bool(example))) if on]  # fmt: skip
    if len(given) != 1:
        what = "nothing" if not given else " and ".join(given)
        raise ScclastInputError(
            f"give exactly one of INPUT.h5ad, --dataset KEY or --example (got {what})"
        )


def _protected(input: Any, dataset: str | None) -> list[Path]:
    """What ``--force`` must never delete: the input file (and a dataset's cache)."""
    if input is not None:
        return [Path(input)]
    if dataset is not None:
        from scclast.datasets import cache_dir

        return [cache_dir()]
    return []


def _check_set_arguments(gene_sets: Any, osteomorph_signature: Any) -> None:
    """Unknown set names and unreadable files fail before any data is read."""
    if gene_sets is not None:
        # only errors matter here: the analysis resolves the sets again and reports
        # their warnings once, in the log and the report
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScclastWarning)
            genesets.resolve_gene_sets(gene_sets_argument(gene_sets), species="mouse")
    if osteomorph_signature is not None:
        genesets.read_signature(osteomorph_signature)


def _load(
    input: Any, dataset: str | None, example: bool, backed: bool
) -> tuple[AnnData, dict[str, Any]]:
    if example:
        if backed:
            log.info("--backed applies to file inputs; the example is small and read into memory")
        return load_example()
    if dataset is not None:
        return load_dataset(dataset)
    adata = load_input(input, backed=backed)
    log.info("fingerprinting %s (sha256) ...", input)
    return adata, fingerprint(input, adata)


def run_parameters(
    input_label: str,
    *,
    groupby: str | None,
    species: str,
    method: str,
    gene_sets: Any,
    osteomorph_signature: Any,
    fdr: float,
    seed: int,
    backed: bool,
    layer: str | None = None,
    use_raw: bool = False,
    embedding: bool = True,
    sample_key: str | None = None,
) -> dict[str, Any]:
    """The parameters a run records in ``run.json`` and shows in its report.

    Shared by :func:`run` and the workflow's ``analyse`` rule so both record the same.

    Examples
    --------
    >>> run_parameters("example", groupby="cluster", species="auto", method="seurat",
    ...                gene_sets=None, osteomorph_signature=None, fdr=0.05, seed=0,
    ...                backed=False)["gene_sets"]
    'default'
    """
    return {
        "input": input_label,
        "groupby": groupby,
        "sample_key": sample_key,
        "species": species,
        "method": method,
        "gene_sets": [str(g) for g in gene_sets] if gene_sets else "default",
        "osteomorph_signature": str(osteomorph_signature) if osteomorph_signature else None,
        "fdr": fdr,
        "seed": seed,
        "backed": backed,
        "layer": layer,
        "use_raw": use_raw,
        "embedding": embedding,
    }


def recorded_groupby(adata: AnnData) -> str:
    """The groups column an analysis used (given, or the Leiden clusters it built)."""
    return get.groupby(adata)


@contextlib.contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Log the user-facing warnings of a step and keep them (for the report).

    Yields a list that is filled, when the block ends, with the text of each distinct
    :class:`~scclast._warnings.ScclastWarning`; each is also logged once. Other warnings
    (those of other packages) go to the debug log.

    Examples
    --------
    >>> from scclast._warnings import DataWarning, warn
    >>> with collect_warnings() as seen:
    ...     warn("duplicated symbol Acp5", DataWarning)
    ...     warn("duplicated symbol Acp5", DataWarning)
    >>> seen
    ['duplicated symbol Acp5']
    """
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            yield seen
        finally:
            for item in caught:
                text = " ".join(str(item.message).split())
                if issubclass(item.category, ScclastWarning):
                    if text not in seen:
                        seen.append(text)
                        log.warning("warning: %s", text)
                else:
                    log.debug("%s: %s", item.category.__name__, text)
