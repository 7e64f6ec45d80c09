# prepare -> analyse for one input; each step reads the previous step's h5ad.
# `analyse` scores and flags in one job: scclast._pipeline.analyse (scclast.tl.flag)
# computes the per-cell scores together with their calibration, so a separate scoring
# job would only repeat work. Job sizes come from the config's `resources:` block.


rule prepare:
    input:
        h5ad=source_h5ad,
    output:
        h5ad=result("{name}", "prepared.h5ad"),
    wildcard_constraints:
        name=one_of(SINGLE_CELL),
    params:
        kind=setting("kind"),
        groupby=setting("groupby"),
        backed=setting("backed"),
        seed=PARAMS["seed"],
    log:
        log_file("prepare"),
    conda:
        "../envs/scclast.yaml"
    threads: RESOURCES["prepare"]["threads"]
    resources:
        mem_mb=RESOURCES["prepare"]["mem_mb"],
        runtime=RESOURCES["prepare"]["runtime"],
    script:
        "../scripts/prepare.py"


rule analyse:
    input:
        h5ad=result("{name}", "prepared.h5ad"),
        gene_set_files=gene_set_files,
    output:
        table=result("{name}", "groups.tsv"),
        scores=result("{name}", "scores.tsv.gz"),
        h5ad=result("{name}", "annotated.h5ad"),
    wildcard_constraints:
        name=one_of(SINGLE_CELL),
    params:
        groupby=setting("groupby"),
        sample_key=setting("sample_key"),
        species=setting("species"),
        backed=setting("backed"),
        options=setting("options"),
        method=PARAMS["method"],
        gene_sets=PARAMS["gene_sets"],
        osteomorph_signature=PARAMS["osteomorph_signature"],
        fdr=PARAMS["fdr"],
        seed=PARAMS["seed"],
    log:
        log_file("analyse"),
    conda:
        "../envs/scclast.yaml"
    threads: RESOURCES["analyse"]["threads"]
    resources:
        mem_mb=RESOURCES["analyse"]["mem_mb"],
        runtime=RESOURCES["analyse"]["runtime"],
    script:
        "../scripts/analyse.py"
