#!/usr/bin/env bash
# The Snakemake workflow on the bundled example (offline): per-input reports and the
# cross-dataset summary. Works from a source checkout and from an installed scclast.
#   bash examples/03_workflow.sh       # writes results/ and my_run/ in the working directory
set -euo pipefail

# Where the workflow lives (workflows/ in a checkout, inside the package once installed):
# Snakefile, rules/, scripts/, schemas/, config/, envs/, profiles/ (workflows/README.md).
workflow_dir=$(scclast workflow path)
echo "workflow: $workflow_dir"

# Run it with the example config; snakemake decides what to (re)build.
snakemake -s "$workflow_dir/Snakefile" --cores 2 \
  --configfile "$workflow_dir/config/example.yaml" --quiet rules

# Outputs: one folder per input (like a `scclast run` OUTDIR) and the summary.
ls results/example results/summary
cut -f1-5,8-9,11 results/summary/summary.tsv

# Your own run: `scclast workflow init DIR` writes the documented template to edit
# (`--example` the example config); its `resources:` block sizes each rule's jobs.
# `scclast workflow run` calls snakemake for you (it needs `pip install "scclast[workflow]"`).
# Here: the plan (dry run) of the same example in its own folder my_run/results/.
scclast workflow init my_run --example
scclast workflow run --configfile my_run/config.yaml --directory my_run --cores 2 --dry-run \
  -- --quiet rules
