"""From the two catalogue YAML files to checked, typed records.

``catalogue.yaml`` holds the cited factor records and references; ``gene_sets.yaml``
builds named sets from them (``derive``: the genes or receptors of chosen factors, or of
every factor of a remodeling phase) plus explicit, cited members. A malformed file is a
:class:`ValueError` naming the file and the entry: it is a packaging bug, not user input.

Examples
--------
>>> raw = {"catalogue_version": "t", "references": {"r": {"citation": "R"}},
...        "factors": [{"id": "slit3", "name": "SLIT3", "category": "secreted",
...                     "effect": "anabolic", "genes": [{"mouse": "Slit3", "human": "SLIT3"}],
...                     "references": ["r"]}]}
>>> sets = {"sets": [{"name": "s", "derive": {"factors": ["slit3"]}}]}
>>> build_catalogue(raw, sets, Path("demo")).sets["s"].genes("human")
['SLIT3']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from scclast.genesets._records import (
    EFFECTS,
    PHASES,
    Catalogue,
    Factor,
    GenePair,
    GeneSet,
    Member,
    Reference,
)


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return data


def build_catalogue(raw: dict[str, Any], raw_sets: dict[str, Any], folder: Path) -> Catalogue:
    """Check the parsed YAML of both files and turn it into a :class:`Catalogue`."""
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
    # A gene reached twice (derived and listed, or through two factors) keeps its first
    # record, so the set's order and provenance follow the YAML.
    seen: dict[str, Member] = {}
    for member in found:
        seen.setdefault(member.mouse, member)
    return tuple(seen.values())


__all__ = ["build_catalogue", "read_yaml"]
