#!/usr/bin/env bash
# scclast from the command line, on the bundled example data set (offline).
#   bash examples/02_cli.sh            # writes scclast_example/ in the working directory
set -euo pipefail

# The catalogue: gene sets, their sizes, one set's members with their sources.
scclast genesets list
scclast genesets show clastokines_secreted --species mouse | head -n 8

# One run: score, call lineage states, flag candidate secretory populations; write the
# table, per-cell scores, annotated h5ad, figures and a self-contained HTML report.
scclast run --example --groupby cluster -o scclast_example --force

# What was flagged (groups.tsv: one row per group and gene set).
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i
               print "group  lineage_state  gene_set              auroc  fdr       flagged"; next }
  { printf "%-6s %-14s %-21s %.3f  %-9.3g %s\n", $col["group"], $col["lineage_state"],
    $col["gene_set"], $col["auroc"], $col["fdr"], $col["flagged"] }' scclast_example/groups.tsv
ls scclast_example scclast_example/figures

# Your own data: scclast run my_data.h5ad --groupby cell_type -o my_results
# A registry dataset (downloaded once, cached): scclast run --dataset KEY -o out
# The same run from Python:
#   scclast.run(example=True, outdir="scclast_example", groupby="cluster", force=True)
