"""``scclast timecourse``: a bulk time course to trends per factor, a figure and a report.

A thin layer over :func:`scclast._pipeline._timecourse.run_timecourse`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scclast._types import SPECIES

_EPILOG = """\
examples:
  scclast timecourse GSE246769_RNAcounts_Differentiation.txt.gz -o hansen_tc
  scclast timecourse --dataset hansen2024_monocyte_osteoclast_bulk -o hansen_tc
  scclast timecourse pseudobulk.h5ad -o tc --time day --donor mouse
  scclast timecourse GSE1_series_matrix.txt.gz -o tc --time time --donor donor

INPUT is a samples x genes time course: an h5ad (samples or pseudobulks as
observations), a genes x samples count table (HOMER analyzeRepeats.pl tables are
recognised; sample names like Donor5_d2 are split into donor and time_point, or by
--sample-fields), or a GEO series matrix (sample characteristics become columns).
OUTDIR receives timecourse.tsv, timecourse_scores.tsv, annotated.h5ad, figures/,
report.html and run.json, all at once. Exit status: 0 success, 2 bad input, 1 internal
error.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``scclast timecourse``."""
    parser = subparsers.add_parser(
        "timecourse",
        help="a bulk time course: trend of every factor and set over time, donor blocked",
        description=(
            "Score every sample of a bulk (or pseudobulk) time course for each coupling\n"
            "factor and gene set and test a trend over time with the donor as a blocking\n"
            "factor (y ~ C(donor) + time, and any change y ~ C(donor) + C(time)); write\n"
            "the tables, a figure and a self-contained HTML report to OUTDIR."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", nargs="?", type=Path, metavar="INPUT", help="h5ad, count table or series matrix"
    )
    parser.add_argument(
        "--dataset", metavar="KEY", help="a registry entry with data_type: bulk instead of INPUT"
    )
    parser.add_argument(
        "-o", "--outdir", type=Path, required=True, metavar="OUTDIR", help="output folder"
    )
    parser.add_argument(
        "--time", default="time_point", metavar="COL",
        help="obs column of time: numbers or labels with one number (default time_point)",
    )  # fmt: skip
    parser.add_argument(
        "--donor", default="donor", metavar="COL",
        help="obs column of the donor (blocking factor; default donor; 'none': no donors)",
    )  # fmt: skip
    parser.add_argument(
        "--sample-fields", metavar="REGEX",
        help="split a count table's sample names into columns (named groups; default "
        "'^(?P<donor>[^_]+)_(?P<time_point>[^_]+)$')",
    )  # fmt: skip
    parser.add_argument("--species", choices=SPECIES, default="auto", help="default: auto")
    parser.add_argument(
        "--gene-sets", nargs="+", metavar="NAME|FILE.gmt",
        help="sets tested beside the phase sets (default: the flagging sets)",
    )  # fmt: skip
    parser.add_argument("--fdr", type=float, default=0.05, help="FDR of a trend (default 0.05)")
    parser.add_argument("--layer", metavar="LAYER", help="use adata.layers[LAYER] (h5ad input)")
    parser.add_argument("--force", action="store_true", help="replace an existing scclast OUTDIR")
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from scclast._errors import ScclastInputError
    from scclast._pipeline._timecourse import run_timecourse

    if not 0.0 < args.fdr < 1.0:
        raise ScclastInputError(f"--fdr {args.fdr} is not between 0 and 1")
    result = run_timecourse(
        args.input,
        args.outdir,
        dataset=args.dataset,
        time=args.time,
        donor=None if str(args.donor).lower() == "none" else args.donor,
        sample_fields=args.sample_fields,
        species=args.species,
        gene_sets=args.gene_sets,
        fdr=args.fdr,
        layer=args.layer,
        force=args.force,
    )
    changed = ", ".join(result.changed) or "none"
    print(f"changing over time (FDR <= {args.fdr:g}): {changed}")
    print(f"report: {result.report}")
    return 0
