"""Rule `summary`: the cross-dataset table and figure of flagged lineage states."""

from pathlib import Path

from scclast import _workflow as workflow

smk = snakemake  # noqa: F821 (set by Snakemake's script directive)
with workflow.log_to(smk.log[0]):
    runs = {
        name: Path(table).parent
        for name, table in zip(smk.params.names, smk.input.tables, strict=True)
    }
    workflow.write_summary(runs, smk.output.table, smk.output.figures)
