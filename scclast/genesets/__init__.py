"""The clastokine gene-set catalogue: cited factor records and named gene sets.

The catalogue's source of truth is two YAML files (``gene_sets/catalogue.yaml`` and
``gene_sets/gene_sets.yaml``), shipped inside the package. This package reads them into
typed records and turns them into the shapes other tools want: lists of symbols,
``{name: [genes]}`` dictionaries (what :func:`scanpy.tl.score_genes` and gseapy take),
GMT, TSV and JSON.

==============================  ===========================================================
``_records``                    typed records: :class:`Factor`, :class:`GeneSet`, ...
``_build``                      YAML to checked records (a malformed file is a bug)
``_catalogue``                  :func:`load` once, then :func:`names`, :func:`get`,
                                :func:`as_dict`, :func:`members`, :func:`factor_genes`,
                                :func:`flagging_sets`, :func:`gene_caveats`,
                                :func:`ligand_receptor_pairs`
``_receptors``                  receptor complexes for pairing; LIANA+-style pair rows;
                                :func:`coupling_resource`, :func:`compare_resources`,
                                :func:`unpaired_factors`
``_resolve``                    :func:`resolve_gene_sets`: every ``gene_sets=`` argument
``_gmt``                        :func:`to_gmt`, :func:`read_gmt`, :func:`export`
``_signatures``                 :func:`read_signature`, :func:`translate`,
                                :func:`guess_symbol_species`
==============================  ===========================================================

Examples
--------
>>> import scclast
>>> "Slit3" in scclast.genesets.get("clastokines_secreted", species="mouse")
True
>>> sets = scclast.genesets.as_dict("human")
>>> "SLIT3" in sets["clastokines_secreted"]
True
>>> scclast.genesets.flagging_sets()
['clastokines_secreted', 'clastokines_putative']
"""

from __future__ import annotations

# Kept importable from here because the CLI and scripts used it as
# `scclast.genesets.write_text_atomically`; it lives in scclast._io.
from scclast._io import write_text_atomically
from scclast.genesets._catalogue import (
    as_dict,
    catalogue_dir,
    catalogue_version,
    factor_genes,
    flagging_sets,
    gene_caveats,
    get,
    ligand_receptor_pairs,
    load,
    members,
    names,
)
from scclast.genesets._gmt import export, read_gmt, to_gmt
from scclast.genesets._receptors import (
    COMPARISON_STATUSES,
    LigandReceptorPair,
    compare_resources,
    coupling_resource,
    unpaired_factors,
)
from scclast.genesets._records import (
    EFFECTS,
    OSTEOMORPH_SET,
    PHASES,
    SPECIES,
    Catalogue,
    ExtraReceptor,
    Factor,
    GenePair,
    GeneSet,
    Member,
    ReceptorComplex,
    Reference,
    Species,
)
from scclast.genesets._resolve import resolve_gene_sets
from scclast.genesets._signatures import guess_symbol_species, read_signature, translate

__all__ = [
    "COMPARISON_STATUSES",
    "EFFECTS",
    "OSTEOMORPH_SET",
    "PHASES",
    "SPECIES",
    "Catalogue",
    "ExtraReceptor",
    "Factor",
    "GenePair",
    "GeneSet",
    "LigandReceptorPair",
    "Member",
    "ReceptorComplex",
    "Reference",
    "Species",
    "as_dict",
    "catalogue_dir",
    "catalogue_version",
    "compare_resources",
    "coupling_resource",
    "export",
    "factor_genes",
    "flagging_sets",
    "gene_caveats",
    "get",
    "guess_symbol_species",
    "ligand_receptor_pairs",
    "load",
    "members",
    "names",
    "read_gmt",
    "read_signature",
    "resolve_gene_sets",
    "to_gmt",
    "translate",
    "unpaired_factors",
    "write_text_atomically",
]
