"""The shipped catalogue, loaded once, and the questions asked of it.

Examples
--------
>>> from scclast import genesets
>>> genesets.get("coupling_contact", species="human")
['EFNB2', 'GJA1']
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from scclast._errors import ScclastInputError
from scclast.genesets._build import build_catalogue, read_yaml
from scclast.genesets._records import (
    OSTEOMORPH_SET,
    Catalogue,
    GeneSet,
    Member,
    Species,
    check_species,
)

if TYPE_CHECKING:
    import pandas as pd

_OSTEOMORPH_HELP = (
    "the osteomorph signature (McDonald et al. 2021, Cell 184:1330, "
    "doi 10.1016/j.cell.2021.02.002) is not bundled: its gene list lives in the paper's "
    "supplementary tables. Pass it as a file (GMT, a one-column gene list, or a table "
    "with a 'Symbol' column) via scclast.genesets.read_signature(path) or "
    "--osteomorph-signature FILE"
)

FACTOR_GENE_COLUMNS: tuple[str, ...] = ("gene", "factor", "label", "category", "effect")
"""Columns of :func:`factor_genes`."""


def catalogue_dir() -> Path:
    """Folder holding the catalogue YAML files.

    An installed wheel carries them as ``scclast/gene_sets``; a source checkout
    (editable install) reads the repository's ``gene_sets/`` folder.

    Examples
    --------
    >>> (catalogue_dir() / "catalogue.yaml").is_file()
    True
    """
    packaged = resources.files("scclast") / "gene_sets"
    if packaged.is_dir():
        return Path(str(packaged))
    # scclast/genesets/_catalogue.py -> the checkout's root, which holds gene_sets/
    source_tree = Path(__file__).resolve().parents[2] / "gene_sets"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError(
        "scclast's gene-set catalogue is missing from this installation; reinstall scclast"
    )


@functools.cache
def load() -> Catalogue:
    """Load the catalogue shipped with scclast (read once per process).

    Returns
    -------
    Catalogue
        Typed records; ``load().sets[name].genes("mouse")`` lists a set's genes.

    Examples
    --------
    >>> cat = load()
    >>> cat.factors["slit3"].genes[0].mouse
    'Slit3'
    """
    folder = catalogue_dir()
    raw_catalogue = read_yaml(folder / "catalogue.yaml")
    raw_sets = read_yaml(folder / "gene_sets.yaml")
    return build_catalogue(raw_catalogue, raw_sets, folder)


def catalogue_version() -> str:
    """Version string of the shipped catalogue (recorded by every scclast output).

    Examples
    --------
    >>> isinstance(catalogue_version(), str)
    True
    """
    return load().version


def names() -> list[str]:
    """Names of the catalogue's gene sets, in catalogue order.

    Examples
    --------
    >>> "clastokines_secreted" in names()
    True
    """
    return list(load().sets)


def get(name: str, species: Species = "mouse") -> list[str]:
    """Member symbols of one named set.

    Parameters
    ----------
    name
        A set name from :func:`names`.
    species
        ``"mouse"`` or ``"human"``.

    Examples
    --------
    >>> "Cxcl16" in get("clastokines_putative")
    True
    >>> get("osteomorph")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: the osteomorph signature (McDonald et al. 2021, ...
    """
    return get_set(name).genes(check_species(species))


def as_dict(species: Species = "mouse", sets: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The catalogue as ``{name: [genes]}`` for scanpy, gseapy or decoupler.

    Parameters
    ----------
    species
        ``"mouse"`` or ``"human"``.
    sets
        Set names to include (default: every set, in catalogue order).

    Examples
    --------
    >>> d = as_dict("mouse", ["coupling_contact"])
    >>> sorted(d["coupling_contact"])
    ['Efnb2', 'Gja1']
    """
    species = check_species(species)
    chosen = names() if sets is None else list(sets)
    return {name: get(name, species) for name in chosen}


def members(name: str) -> list[Member]:
    """Member records of a set (factor, role, evidence, references).

    Examples
    --------
    >>> members("clastokines_secreted")[0].factor is not None
    True
    """
    return list(get_set(name).members)


def factor_genes(species: Species = "mouse") -> pd.DataFrame:
    """The catalogue's coupling-factor genes as a table, one row per gene, in order.

    Columns: ``gene``, ``factor`` (record id), ``label`` (the factor's abbreviation),
    ``category`` and ``effect``. The figures of :mod:`scclast.pl` take such a frame as
    ``genes=``.

    Examples
    --------
    >>> table = factor_genes("mouse")
    >>> list(table.columns)
    ['gene', 'factor', 'label', 'category', 'effect']
    >>> table.set_index("gene").loc["Slit3", "effect"]
    'anabolic'
    """
    # pandas is imported here so that `import scclast` (and `scclast genesets`) stays fast.
    import pandas as pd

    check_species(species)
    rows = [
        (pair.symbol(species), factor.id, factor.abbreviation, factor.category, factor.effect)
        for factor in load().factors.values()
        for pair in factor.genes
    ]
    table = pd.DataFrame(rows, columns=list(FACTOR_GENE_COLUMNS))
    return table.drop_duplicates("gene").reset_index(drop=True)


def get_set(name: str) -> GeneSet:
    """The :class:`GeneSet` called ``name``, or a one-line error listing the names."""
    if name == OSTEOMORPH_SET:
        raise ScclastInputError(_OSTEOMORPH_HELP)
    catalogue = load()
    if name not in catalogue.sets:
        raise ScclastInputError(
            f"unknown gene set {name!r}; available: {', '.join(catalogue.sets)}"
        )
    return catalogue.sets[name]


__all__ = [
    "FACTOR_GENE_COLUMNS",
    "as_dict",
    "catalogue_dir",
    "catalogue_version",
    "factor_genes",
    "get",
    "get_set",
    "load",
    "members",
    "names",
]
