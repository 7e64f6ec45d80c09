"""User-supplied signatures and the one way symbols cross between mouse and human.

A signature (e.g. the osteomorph genes of McDonald et al. 2021, which scclast cannot
ship) comes as GMT, a one-column gene list or a table with a symbol column. Symbols
change species only through an explicit ortholog table (the catalogue's curated pairs
by default): an untranslatable gene is reported, never upper-cased or guessed.

Examples
--------
>>> from scclast import genesets
>>> genesets.translate(["Slit3", "Lif"], "human")
['SLIT3', 'LIF']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from scclast._errors import ScclastInputError
from scclast._io import read_user_text
from scclast._warnings import DataWarning, warn
from scclast.genesets._catalogue import load
from scclast.genesets._gmt import read_gmt
from scclast.genesets._records import OSTEOMORPH_SET, Species, check_species

_SYMBOL_COLUMNS = ("symbol", "gene_symbol", "gene", "genes", "gene_name", "feature_name", "name")
_TRUE = {"1", "true", "yes", "y", "x", "up"}
_FALSE = {"0", "false", "no", "n", "", "na", "nan"}


def read_signature(
    path: str | Path,
    name: str = OSTEOMORPH_SET,
    species: Species | None = None,
    orthologs: str | Path | Mapping[str, str] | None = None,
    column: str | None = None,
) -> dict[str, list[str]]:
    """Import a user-supplied signature (e.g. the osteomorph genes of McDonald et al. 2021).

    Accepted files: GMT (``.gmt``), a one-column gene list, or a table (TSV/CSV) with a
    gene-symbol column (``Symbol``, ``gene``, ...) and optional per-population columns.
    For a table with per-population columns holding flags (1/0, true/false, yes/no),
    one set per population is returned (``{name}_{column}``); otherwise one set ``name``.

    Parameters
    ----------
    path
        The signature file.
    name
        Name of the returned set (ignored for GMT files, which carry their own names).
    species
        Target species. When the file's symbols are in the other species they are
        translated through ``orthologs`` (or the catalogue's curated pairs); genes that
        cannot be translated are reported in a warning, never guessed by upper-casing.
    orthologs
        An explicit ortholog table: a mapping ``{source_symbol: target_symbol}`` or a
        two-column TSV/CSV file.
    column
        The symbol column of a table, when it is not one of the usual names.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "omorph.txt").write_text("Slit3\\nCthrc1\\n")
    >>> read_signature(folder / "omorph.txt")
    {'osteomorph': ['Slit3', 'Cthrc1']}
    >>> _ = (folder / "omorph.tsv").write_text("Symbol\\tup\\nSlit3\\t1\\nCthrc1\\t0\\n")
    >>> read_signature(folder / "omorph.tsv", species="human")
    {'osteomorph_up': ['SLIT3']}
    """
    path = Path(path)
    text = read_user_text(path)
    if path.suffix.lower() == ".gmt":
        sets = read_gmt(path)
    else:
        sets = _parse_signature_table(path, text, name, column)
    if species is not None:
        sets = {
            set_name: translate(genes, species, orthologs=orthologs, what=f"{path}")
            for set_name, genes in sets.items()
        }
    return sets


def translate(
    genes: Iterable[str],
    species: Species,
    orthologs: str | Path | Mapping[str, str] | None = None,
    what: str = "genes",
) -> list[str]:
    """Express ``genes`` in ``species``, translating only through an explicit table.

    Genes already in ``species`` are kept. Others are mapped through ``orthologs`` or
    the catalogue's curated mouse-human pairs; untranslatable genes are reported with
    a :class:`~scclast._warnings.DataWarning` and left out of the result (never
    upper-cased or guessed).

    Parameters
    ----------
    genes
        Symbols to translate.
    species
        Target species.
    orthologs
        ``{source: target}`` or a two-column TSV/CSV file; default: the catalogue's
        curated pairs.
    what
        Name of the source in the warning (a file path, a set name).

    Examples
    --------
    >>> translate(["Slit3", "Lif"], "human")
    ['SLIT3', 'LIF']
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     translate(["Slit3", "Fake7"], "human")
    ['SLIT3']
    >>> str(caught[0].message)
    'genes: 1 of 2 genes have no human ortholog in the table and were not translated: Fake7'
    """
    species = check_species(species)
    genes = list(genes)
    if orthologs is None:
        table = load().ortholog_table()
        mapping = table["mouse_to_human" if species == "human" else "human_to_mouse"]
    elif isinstance(orthologs, Mapping):
        mapping = dict(orthologs)
    else:
        mapping = _read_ortholog_file(Path(orthologs))
    translated, missing = [], []
    for gene in genes:
        if guess_symbol_species([gene]) == species and gene not in mapping:
            translated.append(gene)
        elif gene in mapping:
            translated.append(mapping[gene])
        else:
            missing.append(gene)
    if missing:
        warn(
            f"{what}: {len(missing)} of {len(genes)} genes have no {species} ortholog in the "
            f"table and were not translated: {', '.join(missing[:20])}"
            + (" ..." if len(missing) > 20 else ""),
            DataWarning,
        )
    return list(dict.fromkeys(translated))


def guess_symbol_species(symbols: Iterable[str]) -> Literal["mouse", "human", "unknown"]:
    """Guess "mouse", "human" or "unknown" from the letter case of gene symbols.

    Mouse symbols are capitalised (``Slit3``), human ones upper-case (``SLIT3``); at
    least 80% of the symbols with two or more letters must agree.

    Examples
    --------
    >>> guess_symbol_species(["Slit3", "Lif", "mt-Co1"])
    'mouse'
    >>> guess_symbol_species(["SLIT3", "LIF"])
    'human'
    """
    upper = lower = 0
    for symbol in symbols:
        letters = re.sub(r"[^A-Za-z]", "", str(symbol))
        if len(letters) < 2:
            continue
        if letters.isupper():
            upper += 1
        elif any(c.islower() for c in letters[1:]):
            lower += 1
    total = upper + lower
    if total == 0:
        return "unknown"
    if upper / total >= 0.8:
        return "human"
    if lower / total >= 0.8:
        return "mouse"
    return "unknown"


def _split_row(line: str, delimiter: str | None) -> list[str]:
    return [cell.strip().strip('"') for cell in line.split(delimiter)]


def _parse_signature_table(
    path: Path, text: str, name: str, column: str | None
) -> dict[str, list[str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    delimiter = "\t" if "\t" in lines[0] else ("," if "," in lines[0] else None)
    if delimiter is None:
        genes = [line.strip().strip('"') for line in lines]
        genes = _drop_header_word(genes)
        return {name: _validated_genes(path, genes)}
    header = _split_row(lines[0], delimiter)
    rows = [_split_row(line, delimiter) for line in lines[1:]]
    symbol_index = _symbol_column(path, header, column)
    genes = [row[symbol_index] for row in rows if len(row) > symbol_index]
    flag_columns = _flag_columns(header, rows, symbol_index)
    if not flag_columns:
        return {name: _validated_genes(path, genes)}
    sets = {}
    for index in flag_columns:
        chosen = [row[symbol_index] for row in rows if len(row) > index and _truthy(row[index])]
        sets[f"{name}_{header[index]}"] = _validated_genes(path, chosen, header[index])
    return sets


def _drop_header_word(genes: list[str]) -> list[str]:
    if genes and genes[0].lower() in _SYMBOL_COLUMNS:
        return genes[1:]
    return genes


def _symbol_column(path: Path, header: list[str], column: str | None) -> int:
    lowered = [h.lower() for h in header]
    if column is not None:
        if column not in header:
            raise ScclastInputError(
                f"{path}: no column {column!r}; columns are: {', '.join(header)}"
            )
        return header.index(column)
    for candidate in _SYMBOL_COLUMNS:
        if candidate in lowered:
            return lowered.index(candidate)
    raise ScclastInputError(
        f"{path}: no gene-symbol column (looked for {', '.join(_SYMBOL_COLUMNS)}); "
        f"columns are: {', '.join(header)}; pass column=... (--signature-column)"
    )


def _truthy(cell: str) -> bool:
    return cell.strip().lower() in _TRUE


def _flag_columns(header: list[str], rows: list[list[str]], symbol_index: int) -> list[int]:
    # A column is a per-population flag when every value reads as true/false and at least
    # one is true; any other column (log fold changes, p-values) is ignored.
    flags = []
    for index in range(len(header)):
        if index == symbol_index:
            continue
        values = {row[index].strip().lower() for row in rows if len(row) > index}
        if values and values <= (_TRUE | _FALSE) and values & _TRUE:
            flags.append(index)
    return flags


def _validated_genes(path: Path, genes: list[str], population: str | None = None) -> list[str]:
    genes = list(dict.fromkeys(g for g in genes if g))
    if not genes:
        where = f" for population {population!r}" if population else ""
        raise ScclastInputError(f"{path}: no gene symbols found{where}")
    return genes


def _read_ortholog_file(path: Path) -> dict[str, str]:
    text = read_user_text(path)
    mapping = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = _split_row(line, "\t" if "\t" in line else ",")
        if len(cells) < 2:
            raise ScclastInputError(
                f"{path}: ortholog table needs two columns (source symbol, target symbol)"
            )
        mapping[cells[0]] = cells[1]
    return mapping


__all__ = ["guess_symbol_species", "read_signature", "translate"]
