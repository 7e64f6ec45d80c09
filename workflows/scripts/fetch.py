"""Rule `fetch`: a registry dataset (or the bundled example) written as h5ad."""

from scclast import _workflow as workflow

smk = snakemake  # noqa: F821 (set by Snakemake's script directive)
with workflow.log_to(smk.log[0]):
    workflow.fetch_input(smk.params.key, smk.output.h5ad)
