"""One reading of every ``gene_sets=`` argument the analyses accept.

:func:`scclast.tl.score`, :func:`scclast.tl.flag`, :func:`scclast.tl.prerank` and
:func:`scclast.run` all pass their ``gene_sets`` through :func:`resolve_gene_sets`, so
a name, a GMT file or a dictionary means the same thing everywhere.

Examples
--------
>>> from scclast import genesets
>>> genesets.resolve_gene_sets(["coupling_contact"], species="human")
{'coupling_contact': ['EFNB2', 'GJA1']}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from scclast._errors import ScclastInputError
from scclast._warnings import DataWarning, warn
from scclast.genesets._catalogue import as_dict, get, names
from scclast.genesets._gmt import read_gmt
from scclast.genesets._records import Species, check_species

GeneSetsArgument = str | Path | Mapping[str, Iterable[str]] | Iterable[str] | None
"""What ``gene_sets=`` accepts (see :func:`resolve_gene_sets`)."""


def resolve_gene_sets(
    gene_sets: GeneSetsArgument = "all",
    species: Species = "mouse",
) -> dict[str, list[str]]:
    """Turn any accepted gene-set argument into ``{name: [genes]}``.

    A set name given twice (by the catalogue and a GMT file, or by two files) is
    refused; a GMT set carrying a catalogue set's name is used, with a warning saying
    the file's genes replace the catalogue's.

    Parameters
    ----------
    gene_sets
        ``"all"`` or ``None`` (every catalogue set), a catalogue set name, a list of
        names and/or GMT paths, a ``{name: [genes]}`` mapping, or a path to a ``.gmt``
        file.
    species
        Species of the catalogue symbols to use.

    Examples
    --------
    >>> resolve_gene_sets({"mine": ["Slit3", "Lif"]})
    {'mine': ['Slit3', 'Lif']}
    >>> list(resolve_gene_sets("coupling_contact"))
    ['coupling_contact']
    >>> resolve_gene_sets({"mine": "Slit3"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: gene set 'mine' is a single string; give a list ...
    """
    species = check_species(species)
    if gene_sets is None or (isinstance(gene_sets, str) and gene_sets == "all"):
        return as_dict(species)
    if isinstance(gene_sets, Mapping):
        return _clean_mapping(gene_sets)
    if isinstance(gene_sets, (str, Path)):
        gene_sets = [gene_sets]
    resolved: dict[str, list[str]] = {}
    origin: dict[str, str] = {}
    for item in gene_sets:
        from_file = _is_gmt(item)
        source = str(item) if from_file else "the catalogue"
        for name, genes in _resolve_one(item, species).items():
            if name in resolved:
                raise ScclastInputError(
                    f"gene set {name!r} is given twice (by {origin[name]} and by {source}): "
                    "rename the set in the file, or give it once"
                )
            if from_file and name in names():
                # attributed to this line (stacklevel 1): Python shows it once per run
                warn(
                    f"gene set {name!r} of {source} has the name of a catalogue set: the "
                    f"file's {len(genes)} genes are used, not the catalogue's",
                    DataWarning,
                    stacklevel=1,
                )
            resolved[name] = genes
            origin[name] = source
    if not resolved:
        raise ScclastInputError("no gene sets given: pass a set name, 'all', a dict or a GMT file")
    return resolved


def _is_gmt(item: str | Path) -> bool:
    return str(item).lower().endswith(".gmt") or (isinstance(item, Path) and item.exists())


def _resolve_one(item: str | Path, species: Species) -> dict[str, list[str]]:
    text = str(item)
    if _is_gmt(item):
        return read_gmt(item)
    if text == "all":
        return as_dict(species)
    return {text: get(text, species)}


def _clean_mapping(gene_sets: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    cleaned: dict[str, list[str]] = {}
    for name, genes in gene_sets.items():
        if isinstance(genes, str):
            raise ScclastInputError(
                f"gene set {name!r} is a single string; give a list of gene symbols"
            )
        cleaned[str(name)] = list(dict.fromkeys(str(g) for g in genes))
    if not cleaned:
        raise ScclastInputError("the gene-set dictionary is empty")
    return cleaned


__all__ = ["GeneSetsArgument", "resolve_gene_sets"]
