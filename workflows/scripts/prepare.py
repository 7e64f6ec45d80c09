"""Rule `prepare`: check the groups, compute an embedding (scclast._pipeline.prepare)."""

from scclast import _workflow as workflow

smk = snakemake  # noqa: F821 (set by Snakemake's script directive)
with workflow.log_to(smk.log[0]), workflow.job_threads(smk.threads):
    workflow.prepare_input(smk.input.h5ad, smk.output.h5ad, **dict(smk.params.items()))
