"""Rule `report`: figures, report.html and run.json of one input."""

from pathlib import Path

from scclast import _workflow as workflow

smk = snakemake  # noqa: F821 (set by Snakemake's script directive)
with workflow.log_to(smk.log[0]):
    workflow.report_input(smk.input.table, smk.input.h5ad, Path(smk.output.html).parent)
