"""``scclast genesets``: list, show and export the clastokine catalogue.

``list`` says which sets may flag a group (only clastokine sets); ``show`` prints a set's
members with their sources and, under the table, the cell-of-origin caveat of every
member gene that has one.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from scclast import genesets
from scclast._io import write_text_atomically
from scclast.cli._table import print_table
from scclast.genesets._gmt import EXPORT_FORMATS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``scclast genesets {list,show,export}``."""
    parser = subparsers.add_parser(
        "genesets",
        help="list, show and export the cited clastokine gene-set catalogue",
        description="The curated catalogue of osteoclast-derived coupling factors "
        "(Daponte, Henke & Drissi 2024, eLife 13:e95083) and the gene sets built from it.",
    )
    commands = parser.add_subparsers(dest="genesets_command", metavar="SUBCOMMAND")
    commands.required = True

    listing = commands.add_parser(
        "list", help="one row per gene set (flags: whether it may flag a group)"
    )
    listing.set_defaults(func=_list)

    show = commands.add_parser(
        "show", help="the members of one gene set, with their sources and caveats"
    )
    show.add_argument("name", help="a set name from `scclast genesets list`")
    show.add_argument("--species", choices=genesets.SPECIES, default="mouse")
    show.set_defaults(func=_show)

    export = commands.add_parser("export", help="write the gene sets as GMT, TSV or JSON")
    export.add_argument("--species", choices=genesets.SPECIES, default="mouse")
    export.add_argument("--format", dest="fmt", choices=EXPORT_FORMATS, default="gmt")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.set_defaults(func=_export)


def _list(args: argparse.Namespace) -> int:
    catalogue = genesets.load()
    rows = [("name", "category", "flags", "n_mouse", "n_human", "description")]
    for gene_set in catalogue.sets.values():
        rows.append(
            (
                gene_set.name,
                gene_set.category,
                "yes" if gene_set.flags else "no",
                str(len(gene_set.genes("mouse"))),
                str(len(gene_set.genes("human"))),
                _shorten(gene_set.description, 70),
            )
        )
    print_table(rows)
    print(
        f"\ncatalogue {catalogue.version}; source: {catalogue.source.get('citation', '')} "
        f"doi {catalogue.source.get('doi', '')}"
    )
    print("flags: only sets marked 'yes' can flag a group; the others are descriptive readouts")
    print(f"(the '{genesets.OSTEOMORPH_SET}' signature is user-supplied: see --help of `run`)")
    return 0


def _show(args: argparse.Namespace) -> int:
    catalogue = genesets.load()
    members = genesets.members(args.name)
    gene_set = catalogue.sets[args.name]
    role = "may flag a group" if gene_set.flags else "descriptive; never flags"
    print(f"{gene_set.name} ({gene_set.category}; {role}): {gene_set.description}\n")
    rows = [("gene", "factor", "role", "evidence", "references")]
    no_ortholog = []
    for member in members:
        symbol = member.symbol(args.species)
        if symbol is None:
            no_ortholog.append(member.key)
            continue
        cited = [catalogue.references[k].cited_as for k in member.references]
        if member.go:
            cited.append(member.go)
        rows.append(
            (
                symbol,
                _factor_label(catalogue, member.factor),
                _shorten(member.role, 40),
                ",".join(member.evidence) or "-",
                "; ".join(cited) or "-",
            )
        )
    print_table(rows)
    if no_ortholog:
        print(f"\nno {args.species} ortholog, left out: {', '.join(no_ortholog)}")
    _print_caveats(gene_set.genes(args.species), genesets.gene_caveats(args.species))
    return 0


def _print_caveats(genes: list[str], caveats: dict[str, str]) -> None:
    """The caveat of each listed gene that has one, wrapped, under a heading."""
    noted = [gene for gene in genes if gene in caveats]
    if not noted:
        return
    print("\ncaveats (read before taking the gene's expression as the factor's or state's):")
    for gene in noted:
        print(
            textwrap.fill(
                caveats[gene], width=100, initial_indent=f"  {gene}: ", subsequent_indent="    "
            )
        )


def _export(args: argparse.Namespace) -> int:
    text = genesets.export(args.species, args.fmt)
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_text_atomically(args.output, text)
    return 0


def _factor_label(catalogue: genesets.Catalogue, factor_id: str | None) -> str:
    if factor_id is None:
        return "-"
    factor = catalogue.factors.get(factor_id)
    return factor.abbreviation if factor else factor_id


def _shorten(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(str(text).split()), width=width, placeholder="...")
