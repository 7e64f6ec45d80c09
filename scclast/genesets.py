"""The clastokine gene-set catalogue: cited factor records and named gene sets.

The catalogue's source of truth is two YAML files (``gene_sets/catalogue.yaml`` and
``gene_sets/gene_sets.yaml``), shipped inside the package. This module reads them into
typed records and turns them into the shapes other tools want: lists of symbols,
``{name: [genes]}`` dictionaries (what :func:`scanpy.tl.score_genes` and gseapy take),
GMT, TSV and JSON.

Examples
--------
>>> import scclast
>>> "Slit3" in scclast.genesets.get("clastokines_secreted", species="mouse")
True
>>> sets = scclast.genesets.as_dict("human")
>>> "SLIT3" in sets["clastokines_secreted"]
True
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from scclast._errors import ScclastInputError
from scclast._warnings import DataWarning, warn

Species = Literal["mouse", "human"]
SPECIES: tuple[str, ...] = ("mouse", "human")
PHASES: tuple[str, ...] = ("initiation", "transition", "termination")
EFFECTS: tuple[str, ...] = ("anabolic", "inhibitory", "controversial")
OSTEOMORPH_SET = "osteomorph"

_OSTEOMORPH_HELP = (
    "the osteomorph signature (McDonald et al. 2021, Cell 184:1330, "
    "doi 10.1016/j.cell.2021.02.002) is not bundled: its gene list lives in the paper's "
    "supplementary tables. Pass it as a file (GMT, a one-column gene list, or a table "
    "with a 'Symbol' column) via scclast.genesets.read_signature(path) or "
    "--osteomorph-signature FILE"
)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class GenePair:
    """One gene in both species, with its role for the factor or set."""

    mouse: str
    human: str
    role: str = ""

    def symbol(self, species: str) -> str:
        """The symbol in ``species`` ("mouse" or "human")."""
        return self.mouse if _check_species(species) == "mouse" else self.human


@dataclass(frozen=True)
class Reference:
    """A reference as the review cites it."""

    key: str
    cited_as: str
    citation: str
    doi: str | None = None


@dataclass(frozen=True)
class Factor:
    """One osteoclast-to-osteoblast coupling factor (a row of the catalogue)."""

    id: str
    name: str
    abbreviation: str
    category: str
    effect: str
    phases: tuple[str, ...]
    producing_state: str | None
    in_table1: bool
    genes: tuple[GenePair, ...]
    measured_via: str | None
    receptors: tuple[GenePair, ...]
    evidence: tuple[str, ...]
    references: tuple[str, ...]
    description: str
    notes: str | None = None


@dataclass(frozen=True)
class Member:
    """A gene in a named set, traced to the factor or the source that put it there."""

    mouse: str
    human: str
    role: str
    factor: str | None = None
    evidence: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    go: str | None = None

    def symbol(self, species: str) -> str:
        """The symbol in ``species`` ("mouse" or "human")."""
        return self.mouse if _check_species(species) == "mouse" else self.human


@dataclass(frozen=True)
class GeneSet:
    """A named gene set with its members in both species."""

    name: str
    category: str
    description: str
    members: tuple[Member, ...]

    def genes(self, species: str = "mouse") -> list[str]:
        """Unique member symbols in ``species``, in catalogue order."""
        return list(dict.fromkeys(m.symbol(species) for m in self.members))


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue: version, source, references, factors and named sets."""

    version: str
    source: dict[str, Any]
    references: dict[str, Reference]
    factors: dict[str, Factor]
    sets: dict[str, GeneSet] = field(default_factory=dict)

    def ortholog_table(self) -> dict[str, dict[str, str]]:
        """Mouse-to-human and human-to-mouse symbol maps from every curated pair."""
        pairs: list[tuple[str, str]] = []
        for factor in self.factors.values():
            pairs += [(g.mouse, g.human) for g in (*factor.genes, *factor.receptors)]
        for gene_set in self.sets.values():
            pairs += [(m.mouse, m.human) for m in gene_set.members]
        return {
            "mouse_to_human": dict(pairs),
            "human_to_mouse": {h: m for m, h in pairs},
        }


# --------------------------------------------------------------------------- loading


def catalogue_dir() -> Path:
    """Folder holding the catalogue YAML files.

    An installed wheel carries them as ``scclast/gene_sets``; a source checkout
    (editable install) reads the repository's ``gene_sets/`` folder.
    """
    packaged = resources.files("scclast") / "gene_sets"
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[1] / "gene_sets"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError(
        "scclast's gene-set catalogue is missing from this installation; reinstall scclast"
    )


@functools.cache
def load() -> Catalogue:
    """Load the catalogue shipped with scclast.

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
    raw_catalogue = _read_yaml(folder / "catalogue.yaml")
    raw_sets = _read_yaml(folder / "gene_sets.yaml")
    return _build_catalogue(raw_catalogue, raw_sets, folder)


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


def get(name: str, species: str = "mouse") -> list[str]:
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
    """
    return _get_set(name).genes(_check_species(species))


def as_dict(species: str = "mouse", sets: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The catalogue as ``{name: [genes]}`` for scanpy, gseapy or decoupler.

    Examples
    --------
    >>> d = as_dict("mouse", ["coupling_contact"])
    >>> sorted(d["coupling_contact"])
    ['Efnb2', 'Gja1']
    """
    species = _check_species(species)
    chosen = names() if sets is None else list(sets)
    return {name: get(name, species) for name in chosen}


def members(name: str) -> list[Member]:
    """Member records of a set (factor, role, evidence, references).

    Examples
    --------
    >>> members("clastokines_secreted")[0].factor is not None
    True
    """
    return list(_get_set(name).members)


def factor_genes(species: str = "mouse") -> Any:
    """The catalogue's coupling-factor genes as a table, one row per gene, in order.

    Columns: ``gene``, ``factor`` (record id), ``label`` (the factor's abbreviation),
    ``category`` and ``effect``. The figures take such a frame as ``genes=``.

    Examples
    --------
    >>> table = factor_genes("mouse")
    >>> list(table.columns)
    ['gene', 'factor', 'label', 'category', 'effect']
    >>> table.set_index("gene").loc["Slit3", "effect"]
    'anabolic'
    """
    import pandas as pd

    _check_species(species)
    rows = [
        {
            "gene": pair.symbol(species),
            "factor": factor.id,
            "label": factor.abbreviation,
            "category": factor.category,
            "effect": factor.effect,
        }
        for factor in load().factors.values()
        for pair in factor.genes
    ]
    columns = ["gene", "factor", "label", "category", "effect"]
    return pd.DataFrame(rows, columns=columns).drop_duplicates("gene").reset_index(drop=True)


def resolve_gene_sets(
    gene_sets: str | Path | Mapping[str, Iterable[str]] | Iterable[str] | None = "all",
    species: str = "mouse",
) -> dict[str, list[str]]:
    """Turn any accepted gene-set argument into ``{name: [genes]}``.

    Parameters
    ----------
    gene_sets
        ``"all"`` (every catalogue set), a catalogue set name, a list of names and/or
        GMT paths, a ``{name: [genes]}`` mapping, or a path to a ``.gmt`` file.
    species
        Species of the catalogue symbols to use.

    Examples
    --------
    >>> resolve_gene_sets({"mine": ["Slit3", "Lif"]})
    {'mine': ['Slit3', 'Lif']}
    >>> list(resolve_gene_sets("coupling_contact"))
    ['coupling_contact']
    """
    species = _check_species(species)
    if gene_sets is None or (isinstance(gene_sets, str) and gene_sets == "all"):
        return as_dict(species)
    if isinstance(gene_sets, Mapping):
        return _clean_mapping(gene_sets)
    if isinstance(gene_sets, (str, Path)):
        gene_sets = [gene_sets]
    resolved: dict[str, list[str]] = {}
    for item in gene_sets:
        resolved.update(_resolve_one(item, species))
    if not resolved:
        raise ScclastInputError("no gene sets given: pass a set name, 'all', a dict or a GMT file")
    return resolved


# --------------------------------------------------------------------------- GMT / export


def to_gmt(
    sets: Mapping[str, Iterable[str]] | None = None,
    path: str | Path | None = None,
    species: str = "mouse",
) -> str:
    """Write gene sets in GMT format (name, description, genes; tab-separated).

    Parameters
    ----------
    sets
        ``{name: [genes]}``; defaults to the whole catalogue in ``species``.
    path
        Where to write; the text is returned either way.

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
        description = _one_line(descriptions.get(name, "scclast"))
        lines.append("\t".join([name, description, *genes]))
    text = "\n".join(lines) + "\n"
    if path is not None:
        write_text_atomically(Path(path), text)
    return text


def read_gmt(path: str | Path) -> dict[str, list[str]]:
    """Read a GMT file into ``{name: [genes]}``.

    Examples
    --------
    >>> import tempfile, os
    >>> fh = tempfile.NamedTemporaryFile("w", suffix=".gmt", delete=False)
    >>> _ = fh.write("s1\\tdesc\\tA\\tB\\n"); fh.close()
    >>> read_gmt(fh.name)
    {'s1': ['A', 'B']}
    >>> os.remove(fh.name)
    """
    path = Path(path)
    text = _read_user_text(path)
    sets: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            raise ScclastInputError(
                f"{path}: line {number} is not GMT (need name<TAB>description<TAB>genes...)"
            )
        genes = [g.strip() for g in fields[2:] if g.strip()]
        sets[fields[0].strip()] = list(dict.fromkeys(genes))
    if not sets:
        raise ScclastInputError(f"{path}: no gene sets found in this GMT file")
    return sets


def export(species: str = "mouse", fmt: str = "gmt") -> str:
    """The catalogue's named sets as GMT, TSV (one row per member) or JSON text.

    Examples
    --------
    >>> export("mouse", "tsv").splitlines()[0].split("\\t")[:3]
    ['gene_set', 'category', 'gene']
    """
    species = _check_species(species)
    if fmt == "gmt":
        return to_gmt(species=species)
    if fmt == "tsv":
        return _export_tsv(species)
    if fmt == "json":
        return _export_json(species)
    raise ScclastInputError(f"unknown export format {fmt!r}: use gmt, tsv or json")


# --------------------------------------------------------------------------- signatures


_SYMBOL_COLUMNS = ("symbol", "gene_symbol", "gene", "genes", "gene_name", "feature_name", "name")


def read_signature(
    path: str | Path,
    name: str = OSTEOMORPH_SET,
    species: str | None = None,
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
    >>> import tempfile, os
    >>> fh = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    >>> _ = fh.write("Slit3\\nCthrc1\\n"); fh.close()
    >>> read_signature(fh.name)
    {'osteomorph': ['Slit3', 'Cthrc1']}
    >>> os.remove(fh.name)
    """
    path = Path(path)
    text = _read_user_text(path)
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
    species: str,
    orthologs: str | Path | Mapping[str, str] | None = None,
    what: str = "genes",
) -> list[str]:
    """Express ``genes`` in ``species``, translating only through an explicit table.

    Genes already in ``species`` are kept. Others are mapped through ``orthologs`` or
    the catalogue's curated mouse-human pairs; untranslatable genes are reported with
    a :class:`UserWarning` and left out of the result (never upper-cased or guessed).

    Examples
    --------
    >>> translate(["Slit3", "Lif"], "human")
    ['SLIT3', 'LIF']
    """

    species = _check_species(species)
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


def guess_symbol_species(symbols: Iterable[str]) -> str:
    """Guess "mouse", "human" or "unknown" from the letter case of gene symbols.

    Mouse symbols are capitalised (``Slit3``), human ones upper-case (``SLIT3``).

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


# --------------------------------------------------------------------------- internals


def _check_species(species: str) -> str:
    if species not in SPECIES:
        raise ScclastInputError(f"unknown species {species!r}: use 'mouse' or 'human'")
    return species


def _get_set(name: str) -> GeneSet:
    if name == OSTEOMORPH_SET:
        raise ScclastInputError(_OSTEOMORPH_HELP)
    catalogue = load()
    if name not in catalogue.sets:
        raise ScclastInputError(
            f"unknown gene set {name!r}; available: {', '.join(catalogue.sets)}"
        )
    return catalogue.sets[name]


def _resolve_one(item: str | Path, species: str) -> dict[str, list[str]]:
    text = str(item)
    if text.lower().endswith(".gmt") or (isinstance(item, Path) and item.exists()):
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


def _read_yaml(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return data


def _pairs(items: Iterable[Mapping[str, Any]] | None, where: str) -> tuple[GenePair, ...]:
    pairs = []
    for item in items or ():
        try:
            pairs.append(GenePair(str(item["mouse"]), str(item["human"]), item.get("role") or ""))
        except (KeyError, TypeError) as err:
            raise ValueError(f"{where}: gene entry {item!r} needs 'mouse' and 'human'") from err
    return tuple(pairs)


def _build_factor(raw: Mapping[str, Any], where: str) -> Factor:
    try:
        factor = Factor(
            id=str(raw["id"]),
            name=str(raw["name"]),
            abbreviation=str(raw.get("abbreviation") or raw["name"]),
            category=str(raw["category"]),
            effect=str(raw["effect"]),
            phases=tuple(raw.get("phases") or ()),
            producing_state=raw.get("producing_state"),
            in_table1=bool(raw.get("in_table1", False)),
            genes=_pairs(raw.get("genes"), f"{where} {raw.get('id')}"),
            measured_via=raw.get("measured_via"),
            receptors=_pairs(raw.get("receptors"), f"{where} {raw.get('id')}"),
            evidence=tuple(raw.get("evidence") or ()),
            references=tuple(raw.get("references") or ()),
            description=str(raw.get("description") or ""),
            notes=raw.get("notes"),
        )
    except KeyError as err:
        raise ValueError(f"{where}: factor {raw.get('id')!r} lacks field {err}") from err
    if factor.effect not in EFFECTS:
        raise ValueError(f"{where}: factor {factor.id!r} has effect {factor.effect!r}")
    bad_phases = set(factor.phases) - set(PHASES)
    if bad_phases:
        raise ValueError(f"{where}: factor {factor.id!r} has unknown phases {bad_phases}")
    return factor


def _derived_members(
    derive: Mapping[str, Any], factors: Mapping[str, Factor], where: str
) -> list[Member]:
    field_name = derive.get("field", "genes")
    if field_name not in ("genes", "receptors"):
        raise ValueError(f"{where}: derive.field must be 'genes' or 'receptors'")
    if "phase" in derive:
        chosen = [f for f in factors.values() if derive["phase"] in f.phases]
    else:
        unknown = [fid for fid in derive.get("factors", []) if fid not in factors]
        if unknown:
            raise ValueError(f"{where}: derive names unknown factors {unknown}")
        chosen = [factors[fid] for fid in derive.get("factors", [])]
    result = []
    for factor in chosen:
        for pair in getattr(factor, field_name):
            result.append(
                Member(
                    mouse=pair.mouse,
                    human=pair.human,
                    role=pair.role or ("receptor" if field_name == "receptors" else "ligand"),
                    factor=factor.id,
                    evidence=factor.evidence,
                    references=factor.references,
                )
            )
    return result


def _explicit_members(items: Iterable[Mapping[str, Any]], where: str) -> list[Member]:
    result = []
    for item in items or ():
        if not (item.get("references") or item.get("go")):
            raise ValueError(f"{where}: member {item.get('mouse')!r} has no references or go")
        result.append(
            Member(
                mouse=str(item["mouse"]),
                human=str(item["human"]),
                role=str(item.get("role") or ""),
                factor=item.get("factor"),
                evidence=tuple(item.get("evidence") or ()),
                references=tuple(item.get("references") or ()),
                go=item.get("go"),
            )
        )
    return result


def _unique_members(found: list[Member]) -> tuple[Member, ...]:
    seen: dict[str, Member] = {}
    for member in found:
        seen.setdefault(member.mouse, member)
    return tuple(seen.values())


def _build_catalogue(raw: dict[str, Any], raw_sets: dict[str, Any], folder: Path) -> Catalogue:
    where = str(folder / "catalogue.yaml")
    references = {
        key: Reference(
            key=key,
            cited_as=str(value.get("cited_as", key)),
            citation=str(value.get("citation", "unknown")),
            doi=value.get("doi"),
        )
        for key, value in (raw.get("references") or {}).items()
    }
    factors: dict[str, Factor] = {}
    for item in raw.get("factors") or ():
        factor = _build_factor(item, where)
        missing_refs = [r for r in factor.references if r not in references]
        if missing_refs:
            raise ValueError(f"{where}: factor {factor.id!r} cites unknown keys {missing_refs}")
        factors[factor.id] = factor
    sets_where = str(folder / "gene_sets.yaml")
    sets: dict[str, GeneSet] = {}
    for item in raw_sets.get("sets") or ():
        name = str(item["name"])
        found = []
        if item.get("derive"):
            found += _derived_members(item["derive"], factors, f"{sets_where} {name}")
        found += _explicit_members(item.get("members") or (), f"{sets_where} {name}")
        sets[name] = GeneSet(
            name=name,
            category=str(item.get("category", "")),
            description=str(item.get("description", "")),
            members=_unique_members(found),
        )
    return Catalogue(
        version=str(raw["catalogue_version"]),
        source=dict(raw.get("source") or {}),
        references=references,
        factors=factors,
        sets=sets,
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split()).replace("\t", " ")


def _export_tsv(species: str) -> str:
    header = ["gene_set", "category", "gene", "factor", "role", "evidence", "references", "go"]
    rows = ["\t".join(header)]
    for gene_set in load().sets.values():
        for m in gene_set.members:
            rows.append(
                "\t".join(
                    [
                        gene_set.name,
                        gene_set.category,
                        m.symbol(species),
                        m.factor or "",
                        _one_line(m.role),
                        ",".join(m.evidence),
                        ",".join(m.references),
                        m.go or "",
                    ]
                )
            )
    return "\n".join(rows) + "\n"


def _export_json(species: str) -> str:
    catalogue = load()
    payload = {
        "catalogue_version": catalogue.version,
        "species": species,
        "source": catalogue.source,
        "sets": {
            s.name: {
                "category": s.category,
                "description": s.description,
                "genes": s.genes(species),
            }
            for s in catalogue.sets.values()
        },
    }
    return json.dumps(payload, indent=2) + "\n"


def _read_user_text(path: Path) -> str:
    if not path.exists():
        raise ScclastInputError(f"{path}: file not found")
    if path.is_dir():
        raise ScclastInputError(f"{path}: is a folder; give a file")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ScclastInputError(f"{path}: not a text file (binary content); give GMT, TSV or CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScclastInputError(f"{path}: not UTF-8 text ({err.reason})") from err
    if not text.strip():
        raise ScclastInputError(f"{path}: file is empty; it should list gene symbols")
    return text


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


_TRUE = {"1", "true", "yes", "y", "x", "up"}
_FALSE = {"0", "false", "no", "n", "", "na", "nan"}


def _truthy(cell: str) -> bool:
    return cell.strip().lower() in _TRUE


def _flag_columns(header: list[str], rows: list[list[str]], symbol_index: int) -> list[int]:
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
    text = _read_user_text(path)
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


def write_text_atomically(path: Path, text: str) -> None:
    import os
    import tempfile

    folder = path.resolve().parent
    if not folder.is_dir():
        raise ScclastInputError(f"{path}: folder {folder} does not exist")
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
