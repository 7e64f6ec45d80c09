"""Rule `timecourse`: a bulk time course to timecourse.tsv, figures, report.html, run.json."""

from pathlib import Path

from scclast import _workflow as workflow

smk = snakemake  # noqa: F821 (set by Snakemake's script directive)
with workflow.log_to(smk.log[0]):
    workflow.timecourse_input(
        smk.input.data, Path(smk.output.html).parent, **dict(smk.params.items())
    )
