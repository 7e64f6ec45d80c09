"""From the two catalogue YAML files to checked, typed records.

``catalogue.yaml`` holds the cited factor records and references; ``gene_sets.yaml``
builds named sets from them (``derive``: the genes or receptors of chosen factors, or of
every factor of a remodeling phase, optionally only those of given ``effects``) plus
explicit, cited members. A factor marked ``measurable: false`` (its transcript does not
measure the route) contributes no genes to a derived set. Each set says whether it may
flag a group (``flags``). A malformed file is a :class:`ValueError` naming the file and
the entry: it is a packaging bug, not user input.

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
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from scclast.genesets._receptors import build_receptor_fields
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

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (the same result, several times
faster: parsing the catalogue is part of every first call)."""


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_YAML_LOADER)
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
            note=value.get("note"),
        )
        for key, value in (raw.get("references") or {}).items()
    }
    factors: dict[str, Factor] = {}
    for item in raw.get("factors") or ():
        factor = _build_factor(item, where)
        missing_refs = [r for r in _cited(factor) if r not in references]
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
        if not isinstance(item.get("flags", False), bool):
            raise ValueError(f"{sets_where}: set {name!r} needs flags: true or false")
        sets[name] = GeneSet(
            name=name,
            category=str(item.get("category", "")),
            description=str(item.get("description", "")),
            members=_unique_members(found),
            flags=bool(item.get("flags", False)),
        )
    return Catalogue(
        version=str(raw["catalogue_version"]),
        source=dict(raw.get("source") or {}),
        references=references,
        factors=factors,
        sets=sets,
        retired_sets={str(k): str(v) for k, v in (raw_sets.get("retired") or {}).items()},
    )


def _cited(factor: Factor) -> list[str]:
    """Every reference key a factor record uses (record, caveats, receptors)."""
    keys = list(factor.references)
    keys += [k for pair in factor.genes for k in pair.caveat_references]
    keys += [k for extra in factor.receptors_extra for k in extra.references]
    keys += [k for complex_ in factor.receptor_complexes for k in complex_.references]
    return list(dict.fromkeys(keys))


def _pairs(items: Iterable[Mapping[str, Any]] | None, where: str) -> tuple[GenePair, ...]:
    pairs = []
    for item in items or ():
        try:
            pairs.append(
                GenePair(
                    str(item["mouse"]),
                    str(item["human"]),
                    item.get("role") or "",
                    caveat=item.get("caveat"),
                    caveat_references=tuple(item.get("caveat_references") or ()),
                )
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"{where}: gene entry {item!r} needs 'mouse' and 'human'") from err
        if pairs[-1].caveat and not pairs[-1].caveat_references:
            raise ValueError(f"{where}: the caveat on {item['mouse']!r} cites nothing")
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
            measurable=bool(raw.get("measurable", True)),
            phase_note=raw.get("phase_note"),
        )
    except KeyError as err:
        raise ValueError(f"{where}: factor {raw.get('id')!r} lacks field {err}") from err
    extras, complexes = build_receptor_fields(raw, factor.receptors, f"{where} {factor.id}")
    factor = replace(factor, receptors_extra=extras, receptor_complexes=complexes)
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
    effects = derive.get("effects")
    if effects is not None:
        if set(effects) - set(EFFECTS):
            raise ValueError(f"{where}: derive.effects must be among {EFFECTS}")
        chosen = [f for f in chosen if f.effect in effects]
    if field_name == "genes":
        # A transcript that does not measure the route (matrix-stored ligand, vesicle
        # cargo) must not stand for it in a score.
        chosen = [f for f in chosen if f.measurable]
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
                    caveat=pair.caveat,
                )
            )
    return result


def _explicit_members(items: Iterable[Mapping[str, Any]], where: str) -> list[Member]:
    result = []
    for item in items or ():
        if not (item.get("references") or item.get("go")):
            raise ValueError(f"{where}: member {item.get('mouse')!r} has no references or go")
        mouse, human = item.get("mouse"), item.get("human")
        if not (mouse or human) or "mouse" not in item or "human" not in item:
            raise ValueError(f"{where}: member {item!r} needs 'mouse' and 'human' (null: none)")
        result.append(
            Member(
                mouse=str(mouse) if mouse else None,
                human=str(human) if human else None,
                role=str(item.get("role") or ""),
                factor=item.get("factor"),
                evidence=tuple(item.get("evidence") or ()),
                references=tuple(item.get("references") or ()),
                go=item.get("go"),
                caveat=item.get("caveat"),
            )
        )
    return result


def _unique_members(found: list[Member]) -> tuple[Member, ...]:
    # A gene reached twice (derived and listed, or through two factors) keeps its first
    # record, so the set's order and provenance follow the YAML.
    seen: dict[str, Member] = {}
    for member in found:
        seen.setdefault(member.key, member)
    return tuple(seen.values())


__all__ = ["build_catalogue", "read_yaml"]
