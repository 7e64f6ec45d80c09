# fetch: a registry dataset, downloaded once through scclast's pooch registry (cached,
# checksummed) and written as h5ad. The key "example" is the bundled synthetic example
# and needs no network. Local files (samples:) skip this rule.


rule fetch:
    output:
        h5ad=temp(result("{name}", "input.h5ad")),
    wildcard_constraints:
        name=one_of(DATASETS),
    params:
        key=setting("source"),
    log:
        log_file("fetch"),
    conda:
        "../envs/scclast.yaml"
    threads: RESOURCES["fetch"]["threads"]
    resources:
        mem_mb=RESOURCES["fetch"]["mem_mb"],
        runtime=RESOURCES["fetch"]["runtime"],
    script:
        "../scripts/fetch.py"
