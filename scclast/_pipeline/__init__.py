"""``scclast.run()``: one h5ad file in, one folder of results out.

The command ``scclast run`` and the Snakemake workflow share these steps; the workflow's
rules call them one at a time:

============================  ===========================================================
``_inputs.load_input``        read an h5ad file (in memory or backed) with every check a
                              user needs: missing, not HDF5, truncated/corrupt, too small
``_inputs.load_example``      the bundled synthetic example (offline)
``_inputs.load_dataset``      a registry dataset (downloaded and cached through pooch)
``_run.prepare``              check the grouping column; compute a UMAP if none is stored
``_run.analyse_sections``     the analysis of every section, in order
``_outputs.write_tables``     every section's tables (``groups.tsv``, ``scores.tsv.gz``)
``_outputs.render``           figures (PNG + PDF) and the HTML report into a folder
``_outputs.write_outputs``    every output, written to a temporary folder next to OUTDIR
                              and moved into place only when complete
``_run.run``                  all of the above; what ``scclast run`` calls
============================  ===========================================================

What a run carries is a list of sections (:mod:`scclast._pipeline._sections`): each
declares its analysis, its tables, its figures (with captions) and its report block.
Today there is one, ``_sections/_flagging`` (score and flag: :func:`analyse`); a new
analysis is a new module there, not an edit of the steps above. The report page
(:mod:`._report`) is the sections' blocks in order, then the run's warnings,
parameters, versions and input; :mod:`._html` and :mod:`._text` hold its markup and
wording helpers.

OUTDIR holds ``groups.tsv`` (the flagging table), ``scores.tsv.gz`` (per-cell scores and
calibrated z-scores), ``annotated.h5ad`` (the input plus scores, lineage states, flags
and the embedding), ``figures/`` (PNG and PDF), ``report.html`` (self-contained) and
``run.json`` (parameters, input fingerprint, versions; it also marks the folder as
written by scclast, so ``force=True`` never deletes a folder scclast did not write).
"""

from scclast._pipeline._inputs import (
    EXAMPLE_KEY,
    MIN_CELLS,
    check_gene_coverage,
    check_groupby,
    close,
    fingerprint,
    folder_sha256,
    load_dataset,
    load_example,
    load_input,
)
from scclast._pipeline._outputs import (
    MANIFEST,
    OUTPUT_FILES,
    RUN_FILES,
    check_outdir,
    coverage_warnings,
    render,
    write_manifest,
    write_outputs,
    write_tables,
)
from scclast._pipeline._run import (
    RunResult,
    analyse_sections,
    collect_warnings,
    prepare,
    recorded_groupby,
    run,
    run_parameters,
)
from scclast._pipeline._sections import SECTIONS, FigureSpec, Results, Section, output_tables
from scclast._pipeline._sections._flagging import analyse
from scclast._pipeline._writers import h5ad_safe, write_annotated, write_scores, write_table

__all__ = [
    "EXAMPLE_KEY",
    "MANIFEST",
    "MIN_CELLS",
    "OUTPUT_FILES",
    "RUN_FILES",
    "SECTIONS",
    "FigureSpec",
    "Results",
    "RunResult",
    "Section",
    "analyse",
    "analyse_sections",
    "check_gene_coverage",
    "check_groupby",
    "check_outdir",
    "close",
    "collect_warnings",
    "coverage_warnings",
    "fingerprint",
    "folder_sha256",
    "h5ad_safe",
    "load_dataset",
    "load_example",
    "load_input",
    "output_tables",
    "prepare",
    "recorded_groupby",
    "render",
    "run",
    "run_parameters",
    "write_annotated",
    "write_manifest",
    "write_outputs",
    "write_scores",
    "write_table",
    "write_tables",
]
