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
from scclast.genesets._receptors import LigandReceptorPair, factor_pairs
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


def flagging_sets() -> list[str]:
    """Names of the sets that may flag a group (``flags: true``), in catalogue order.

    Only clastokine sets flag; every other set (lineage, phase, receptor, coupling,
    machinery) is a descriptive readout and is reported, never flagged.

    Examples
    --------
    >>> flagging_sets()
    ['clastokines_secreted', 'clastokines_putative']
    """
    return [name for name, gene_set in load().sets.items() if gene_set.flags]


def gene_caveats(species: Species = "mouse") -> dict[str, str]:
    """``{gene: caveat}``: what to know before reading a gene as an osteoclast product.

    Collected from the factor records (``caveat`` on a factor gene, with its citations)
    and from set members that carry one. Show it wherever a driver gene is reported: in
    whole-bone data "driver Slit3" is read differently once one knows that osteoblasts
    express Slit3 strongly.

    Examples
    --------
    >>> "osteoblast" in gene_caveats("mouse")["Slit3"]
    True
    >>> "SLIT3" in gene_caveats("human")
    True
    """
    species = check_species(species)
    catalogue = load()
    notes: dict[str, list[str]] = {}
    for factor in catalogue.factors.values():
        for pair in factor.genes:
            symbol = pair.symbol(species)
            if symbol and pair.caveat:
                cited = "; ".join(catalogue.references[k].cited_as for k in pair.caveat_references)
                notes.setdefault(symbol, []).append(f"{pair.caveat} ({cited})")
    for gene_set in catalogue.sets.values():
        for member in gene_set.members:
            symbol = member.symbol(species)
            if symbol and member.caveat and member.factor is None:
                notes.setdefault(symbol, []).append(member.caveat)
    return {gene: " ".join(dict.fromkeys(texts)) for gene, texts in notes.items()}


def ligand_receptor_pairs(species: Species = "mouse") -> list[LigandReceptorPair]:
    """Every factor's ligand with each concrete receptor complex, LIANA+-style names.

    One :class:`~scclast.genesets._receptors.LigandReceptorPair` per ligand and complex,
    with the factor, effect, direction (``reverse`` for vesicular RANK on osteoblast
    RANKL), source (``table1``, ``review_text`` or ``outside_review``) and citations.
    ``pandas.DataFrame([p.as_row() for p in pairs])`` is a resource LIANA+ reads.

    Examples
    --------
    >>> pairs = ligand_receptor_pairs("human")
    >>> sorted({p.source for p in pairs})
    ['outside_review', 'review_text', 'table1']
    >>> next(p for p in pairs if p.factor == "vesicular_rank").direction
    'reverse'
    """
    species = check_species(species)
    return [row for factor in load().factors.values() for row in factor_pairs(factor, species)]


def get_set(name: str) -> GeneSet:
    """The :class:`GeneSet` called ``name``, or a one-line error listing the names.

    Examples
    --------
    >>> get_set("phase_termination")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scclast._errors.ScclastInputError: gene set 'phase_termination' was retired: ...
    """
    if name == OSTEOMORPH_SET:
        raise ScclastInputError(_OSTEOMORPH_HELP)
    catalogue = load()
    if name in catalogue.retired_sets:
        raise ScclastInputError(
            f"gene set {name!r} was retired: {' '.join(catalogue.retired_sets[name].split())}"
        )
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
    "flagging_sets",
    "gene_caveats",
    "get",
    "get_set",
    "ligand_receptor_pairs",
    "load",
    "members",
    "names",
]
