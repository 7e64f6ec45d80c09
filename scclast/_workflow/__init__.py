"""The glue of the Snakemake workflow (private: the workflow and the CLI call it).

The workflow (``workflows/`` in a source checkout, ``scclast/workflows`` inside an
installed wheel) runs every input through fetch -> prepare -> analyse (score and flag)
-> report, then writes one cross-dataset summary. Its rule scripts are thin calls into
this package, which calls :mod:`scclast._pipeline` (the steps of ``scclast run``). The
only logic here is the workflow's own:

==================  ================================================================
``_location``       where the workflow, its profiles and config templates are; the
                    ``snakemake`` command (``scclast workflow path|init|run``)
``_config``         the inputs a config names, the gene-set files ``analyse`` reads
``_rules``          one function per rule, on files; what travels between rules
``_summary``        the cross-dataset table (the figure: :mod:`scclast.pl._summary`)
``_timecourse``     the ``timecourse`` rule: a bulk time course to its results folder
==================  ================================================================

Examples
--------
>>> from scclast import _workflow as workflow
>>> workflow.snakefile().name
'Snakefile'
>>> sorted(workflow.inputs_from_config({"datasets": ["example"]}))
['example']
"""

from scclast._workflow._config import (
    EXAMPLE_KEY,
    INPUT_SETTINGS,
    RESERVED_NAMES,
    RULES,
    gene_set_files,
    inputs_from_config,
    looks_like_file,
)
from scclast._workflow._location import (
    WORKFLOW_EXTRA,
    init_config,
    profile_dir,
    require_snakemake,
    snakefile,
    snakemake_command,
    workflow_dir,
)
from scclast._workflow._rules import (
    analyse_input,
    as_bool,
    fetch_input,
    job_threads,
    log_to,
    prepare_input,
    read_table,
    report_input,
    write_h5ad,
)
from scclast._workflow._summary import SUMMARY_COLUMNS, summarise_runs, write_summary
from scclast._workflow._timecourse import timecourse_input

__all__ = [
    "EXAMPLE_KEY",
    "INPUT_SETTINGS",
    "RESERVED_NAMES",
    "RULES",
    "SUMMARY_COLUMNS",
    "WORKFLOW_EXTRA",
    "analyse_input",
    "as_bool",
    "fetch_input",
    "gene_set_files",
    "init_config",
    "inputs_from_config",
    "job_threads",
    "log_to",
    "looks_like_file",
    "prepare_input",
    "profile_dir",
    "read_table",
    "report_input",
    "require_snakemake",
    "snakefile",
    "snakemake_command",
    "summarise_runs",
    "timecourse_input",
    "workflow_dir",
    "write_h5ad",
    "write_summary",
]
