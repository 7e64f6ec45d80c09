# report: figures, the self-contained HTML report and run.json per input (the input's
# folder then looks like a `scclast run` OUTDIR); summary: one table and figure across
# every input (which lineage states were flagged where, with effect sizes).


rule report:
    input:
        table=result("{name}", "groups.tsv"),
        h5ad=result("{name}", "annotated.h5ad"),
    output:
        html=result("{name}", "report.html"),
        manifest=result("{name}", "run.json"),
        figures=directory(result("{name}", "figures")),
    wildcard_constraints:
        name=one_of(SINGLE_CELL),
    log:
        log_file("report"),
    conda:
        "../envs/scclast.yaml"
    threads: RESOURCES["report"]["threads"]
    resources:
        mem_mb=RESOURCES["report"]["mem_mb"],
        runtime=RESOURCES["report"]["runtime"],
    script:
        "../scripts/report.py"


rule summary:
    input:
        tables=expand(result("{name}", "groups.tsv"), name=SINGLE_CELL),
    output:
        table=f"{RESULTS}/summary/summary.tsv",
        figures=expand(f"{RESULTS}/summary/summary.{{fmt}}", fmt=config["summary"]["formats"]),
    params:
        names=SINGLE_CELL,
    log:
        f"{RESULTS}/logs/summary.log",
    conda:
        "../envs/scclast.yaml"
    threads: RESOURCES["summary"]["threads"]
    resources:
        mem_mb=RESOURCES["summary"]["mem_mb"],
        runtime=RESOURCES["summary"]["runtime"],
    script:
        "../scripts/summarise.py"
