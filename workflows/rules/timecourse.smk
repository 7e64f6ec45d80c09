# timecourse: a bulk time course (a registry entry with data_type: bulk, or a local count
# table, series matrix or pseudobulk h5ad) scored per sample and tested for trends with
# the donor as a block, in one job; its folder then looks like a `scclast timecourse`
# OUTDIR. Bulk inputs skip prepare, analyse, report and the single-cell summary.


rule timecourse:
    input:
        data=source_h5ad,
    output:
        table=result("{name}", "timecourse.tsv"),
        scores=result("{name}", "timecourse_scores.tsv"),
        h5ad=result("{name}", "annotated.h5ad"),
        html=result("{name}", "report.html"),
        manifest=result("{name}", "run.json"),
        figures=directory(result("{name}", "figures")),
    wildcard_constraints:
        name=one_of(BULK),
    params:
        kind=setting("kind"),
        time=setting("time"),
        donor=setting("donor"),
        sample_fields=setting("sample_fields"),
        species=setting("species"),
        gene_sets=PARAMS["gene_sets"],
        fdr=PARAMS["fdr"],
    log:
        log_file("timecourse"),
    conda:
        "../envs/scclast.yaml"
    threads: RESOURCES["timecourse"]["threads"]
    resources:
        mem_mb=RESOURCES["timecourse"]["mem_mb"],
        runtime=RESOURCES["timecourse"]["runtime"],
    script:
        "../scripts/timecourse.py"
