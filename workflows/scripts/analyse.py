"""Rule `analyse`: score and flag (scclast._pipeline.analyse); writes groups.tsv."""

from scclast import _workflow as workflow

smk = snakemake  # noqa: F821 (set by Snakemake's script directive)
with workflow.log_to(smk.log[0]), workflow.job_threads(smk.threads):
    workflow.analyse_input(
        smk.input.h5ad,
        table=smk.output.table,
        scores=smk.output.scores,
        annotated=smk.output.h5ad,
        **dict(smk.params.items()),
    )
