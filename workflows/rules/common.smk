# Config, inputs, paths and resources shared by every rule.

import os
import re

from snakemake.utils import validate

from scclast import _workflow as scw


validate(config, "../schemas/config.schema.yaml")

RESULTS = os.path.normpath(config["results"])
PARAMS = config["params"]
RESOURCES = config["resources"]  # the one home of job sizes: see workflows/README.md
INPUTS = scw.inputs_from_config(config)
DATASETS = [name for name, item in INPUTS.items() if item["kind"] == "dataset"]
BULK = [name for name, item in INPUTS.items() if item.get("data_type") == "bulk"]
SINGLE_CELL = [name for name in INPUTS if name not in BULK]
NEVER = "(?!)"  # a regex that matches nothing


def one_of(names):
    """A wildcard regex accepting exactly these input names."""
    return "|".join(re.escape(name) for name in names) or NEVER


wildcard_constraints:
    name=one_of(INPUTS),


def result(name, path):
    """A per-input output path: RESULTS/{name}/path."""
    return f"{RESULTS}/{name}/{path}"


def log_file(rule_name, name="{name}"):
    return f"{RESULTS}/logs/{rule_name}/{name}.log"


def setting(key):
    """Params function: the per-input setting ``key`` (kind, source, groupby, ...)."""
    return lambda wildcards: INPUTS[wildcards.name][key]


def source_h5ad(wildcards):
    """The h5ad a run starts from: a sample's own file, or what `fetch` wrote."""
    item = INPUTS[wildcards.name]
    if item["kind"] == "sample":
        return item["source"]
    return result(wildcards.name, "input.h5ad")


def gene_set_files(wildcards):
    """Files among the gene sets and the osteomorph signature, so edits rerun `analyse`."""
    return scw.gene_set_files(PARAMS)


def per_input_outputs():
    """Single-cell inputs end in groups.tsv, bulk time courses in timecourse.tsv."""
    return expand(
        [result("{name}", "report.html"), result("{name}", "groups.tsv")], name=SINGLE_CELL
    ) + expand(
        [result("{name}", "report.html"), result("{name}", "timecourse.tsv")], name=BULK
    )


def summary_outputs():
    """The cross-dataset summary of the single-cell inputs (none without one)."""
    if not SINGLE_CELL:
        return []
    formats = config["summary"]["formats"]
    return [f"{RESULTS}/summary/summary.tsv"] + [
        f"{RESULTS}/summary/summary.{fmt}" for fmt in formats
    ]
