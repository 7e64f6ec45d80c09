"""Gene sets as files: GMT in and out, and the catalogue exported as GMT, TSV or JSON.

GMT is what gseapy, GSEA, fgsea and decoupler read: one set per line, tab-separated
``name``, ``description``, then the genes.

Examples
--------
>>> from scclast import genesets
>>> text = genesets.to_gmt({"pair": ["Efnb2", "Ephb4"]})
>>> text.split("\\t")[:2]
['pair', 'scclast']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from scclast._errors import ScclastInputError
from scclast._io import read_user_text, write_text_atomically
from scclast.genesets._catalogue import as_dict, load
from scclast.genesets._records import Species, check_species

ExportFormat = Literal["gmt", "tsv", "json"]
EXPORT_FORMATS: tuple[str, ...] = ("gmt", "tsv", "json")

TSV_COLUMNS: tuple[str, ...] = (
    "gene_set",
    "category",
    "gene",
    "factor",
    "role",
    "evidence",
    "references",
    "go",
)
"""Columns of ``export(fmt="tsv")``: one row per set member."""


def to_gmt(
    sets: Mapping[str, Iterable[str]] | None = None,
    path: str | Path | None = None,
    species: Species = "mouse",
) -> str:
    """Write gene sets in GMT format (name, description, genes; tab-separated).

    Parameters
    ----------
    sets
        ``{name: [genes]}``; defaults to the whole catalogue in ``species``, with each
        set's description.
    path
        Where to write (atomically); the text is returned either way.
    species
        Species of the catalogue symbols, when ``sets`` is not given.

    Examples
    --------
    >>> to_gmt({"pair": ["Efnb2", "Ephb4"]}).split("\\t")
    ['pair', 'scclast', 'Efnb2', 'Ephb4\\n']
    """
    if sets is None:
        descriptions = {n: s.description for n, s in load().sets.items()}
        sets = as_dict(species)
    else:
        descriptions = {}
    lines = []
    for name, genes in sets.items():
        description = one_line(descriptions.get(name, "scclast"))
        lines.append("\t".join([name, description, *genes]))
    text = "\n".join(lines) + "\n"
    if path is not None:
        write_text_atomically(path, text)
    return text


def read_gmt(path: str | Path) -> dict[str, list[str]]:
    """Read a GMT file into ``{name: [genes]}`` (duplicate genes dropped, order kept).

    A line with an empty set name, or a set name used on two lines, is refused with
    the line numbers: which definition was meant cannot be guessed.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "mine.gmt"
    >>> _ = path.write_text("s1\\tdesc\\tA\\tB\\tA\\n")
    >>> read_gmt(path)
    {'s1': ['A', 'B']}
    >>> _ = path.write_text("s1 A B\\n")
    >>> read_gmt(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: ...mine.gmt: line 1 is not GMT (need name<TAB>...)
    """
    path = Path(path)
    text = read_user_text(path)
    sets: dict[str, list[str]] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            raise ScclastInputError(
                f"{path}: line {number} is not GMT (need name<TAB>description<TAB>genes...)"
            )
        name = fields[0].strip()
        if not name:
            raise ScclastInputError(
                f"{path}: line {number} has an empty set name: give every set a name in "
                "the first column"
            )
        if name in lines:
            raise ScclastInputError(
                f"{path}: gene set {name!r} is defined twice (lines {lines[name]} and "
                f"{number}): rename one of them or merge them"
            )
        lines[name] = number
        genes = [g.strip() for g in fields[2:] if g.strip()]
        sets[name] = list(dict.fromkeys(genes))
    if not sets:
        raise ScclastInputError(f"{path}: no gene sets found in this GMT file")
    return sets


def export(species: Species = "mouse", fmt: ExportFormat = "gmt") -> str:
    """The catalogue's named sets as GMT, TSV (one row per member) or JSON text.

    Parameters
    ----------
    species
        ``"mouse"`` or ``"human"`` symbols.
    fmt
        ``"gmt"``, ``"tsv"`` (with each member's factor, role, evidence and
        references) or ``"json"`` (with the catalogue version and source).

    Examples
    --------
    >>> export("mouse", "tsv").splitlines()[0].split("\\t")[:3]
    ['gene_set', 'category', 'gene']
    >>> import json
    >>> json.loads(export("human", "json"))["sets"]["coupling_contact"]["genes"]
    ['EFNB2', 'GJA1']
    """
    species = check_species(species)
    if fmt == "gmt":
        return to_gmt(species=species)
    if fmt == "tsv":
        return _export_tsv(species)
    if fmt == "json":
        return _export_json(species)
    raise ScclastInputError(f"unknown export format {fmt!r}: use gmt, tsv or json")


def one_line(text: str) -> str:
    """``text`` with runs of whitespace (tabs and newlines too) as single spaces."""
    return " ".join(str(text).split())


def _export_tsv(species: Species) -> str:
    rows = ["\t".join(TSV_COLUMNS)]
    for gene_set in load().sets.values():
        for m in gene_set.members:
            symbol = m.symbol(species)
            if symbol is None:  # no ortholog in this species (e.g. mouse Ly6g)
                continue
            cells = [
                gene_set.name,
                gene_set.category,
                symbol,
                m.factor or "",
                one_line(m.role),
                ",".join(m.evidence),
                ",".join(m.references),
                m.go or "",
            ]
            rows.append("\t".join(cells))
    return "\n".join(rows) + "\n"


def _export_json(species: Species) -> str:
    catalogue = load()
    payload = {
        "catalogue_version": catalogue.version,
        "species": species,
        "source": catalogue.source,
        "sets": {
            s.name: {
                "category": s.category,
                "flags": s.flags,
                "description": s.description,
                "genes": s.genes(species),
            }
            for s in catalogue.sets.values()
        },
    }
    return json.dumps(payload, indent=2) + "\n"


__all__ = ["EXPORT_FORMATS", "TSV_COLUMNS", "ExportFormat", "export", "read_gmt", "to_gmt"]
