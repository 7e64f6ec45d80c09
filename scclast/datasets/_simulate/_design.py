"""The simulated study design: which states, which animals, which conditions, which effects.

Everything here turns the simulator's arguments into checked, canonical values (the form
recorded in ``uns["scclast_simulation"]``); the drawing code reads only these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scclast._errors import ScclastInputError
from scclast.datasets._simulate._states import (
    BASE_STATES,
    DEFAULT_PROGRAMMES,
    OPTIONAL_STATES,
    STATE_BY_NAME,
    STATE_TABLE,
    SimState,
)

TREND_SHAPES: tuple[str, ...] = ("late", "early", "transient")
_EFFECT_KEYS = {"genes", "programme", "state", "states", "fold", "sample", "samples"}
_CONDITION_KEYS = {"genes", "programme", "state", "states", "fold", "condition"}


def composition(
    states: Mapping[str, float] | None,
    extra_states: Mapping[str, float] | None,
    secretory_fraction: float,
    stromal_fraction: float,
    lineage_weights: Sequence[float],
) -> tuple[list[SimState], np.ndarray]:
    """The states of a run (table order) and their default shares of cells.

    Examples
    --------
    >>> active, shares = composition(None, {"neutrophil": 0.1}, 0.08, 0.15, (0.4, 0.3, 0.3))
    >>> [s.name for s in active][-1], round(float(shares[-1]), 3), round(float(shares.sum()), 6)
    ('neutrophil', 0.1, 1.0)
    """
    if states is not None and extra_states is not None:
        raise ScclastInputError(
            "states= and extra_states= were both given: use states= for the whole "
            "composition or extra_states= to add states to the default one"
        )
    if states is not None:
        weights = _weights("states", states, STATE_BY_NAME)
        total = sum(weights.values())
        if total <= 0:
            raise ScclastInputError("states: give at least one state a positive weight")
        active = [s for s in STATE_TABLE if s.name in weights]
        return active, np.array([weights[s.name] / total for s in active])
    _check_legacy(secretory_fraction, stromal_fraction, lineage_weights)
    rest = 1.0 - secretory_fraction - stromal_fraction
    weights_arr = np.asarray(lineage_weights, dtype=float)
    # Computed exactly as simulator v1 did, so that the default call draws the same cells.
    shares = np.concatenate(
        [rest * weights_arr / weights_arr.sum(), [secretory_fraction, stromal_fraction]]
    )
    active = [STATE_BY_NAME[name] for name in BASE_STATES]
    if not extra_states:
        return active, shares
    optional = {name: STATE_BY_NAME[name] for name in OPTIONAL_STATES}
    extra = _weights("extra_states", extra_states, optional)
    if sum(extra.values()) >= 1:
        raise ScclastInputError(
            f"extra_states: shares sum to {sum(extra.values()):g}; "
            "they are fractions of all cells, keep the sum below 1"
        )
    added = [s for s in STATE_TABLE if s.name in extra]
    shares = np.concatenate([shares * (1.0 - sum(extra.values())), [extra[s.name] for s in added]])
    return active + added, shares


def _weights(
    argument: str, given: Mapping[str, float], allowed: Mapping[str, SimState]
) -> dict[str, float]:
    if not isinstance(given, Mapping) or not given:
        raise ScclastInputError(f"{argument}: give a mapping of state name to weight")
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ScclastInputError(f"{argument}: unknown state(s) {unknown}: use {sorted(allowed)}")
    weights = {str(k): float(v) for k, v in given.items()}
    bad = {k: v for k, v in weights.items() if not (v >= 0 and math.isfinite(v))}
    if bad:
        raise ScclastInputError(f"{argument}: weights must be finite and >= 0, got {bad}")
    return weights


def _check_legacy(
    secretory_fraction: float, stromal_fraction: float, lineage_weights: Sequence[float]
) -> None:
    if not 0 <= secretory_fraction < 1 or not 0 <= stromal_fraction < 1:
        raise ScclastInputError("secretory_fraction and stromal_fraction must lie in [0, 1)")
    if secretory_fraction + stromal_fraction >= 1:
        raise ScclastInputError(
            f"secretory_fraction + stromal_fraction = {secretory_fraction + stromal_fraction}: "
            "leave room for macrophages, precursors and osteoclasts (sum below 1)"
        )
    if len(lineage_weights) != 3 or min(lineage_weights) < 0 or sum(lineage_weights) <= 0:
        raise ScclastInputError("lineage_weights: three non-negative weights, not all zero")


def sample_names(n_samples: int) -> list[str]:
    """Animal labels of ``obs["sample"]``: ``animal1``, ``animal2``, ...

    Examples
    --------
    >>> sample_names(3)
    ['animal1', 'animal2', 'animal3']
    """
    return [f"animal{i + 1}" for i in range(n_samples)]


def conditions_of(
    conditions: Mapping[str, Sequence[str]] | int | None, samples: list[str]
) -> dict[str, list[str]]:
    """``{condition: [animals]}`` from a mapping or a number of conditions (``{}``: none).

    A number ``k`` splits the animals in order into ``k`` near-equal blocks named
    ``control`` and ``treated`` (``treated1``, ``treated2``, ... when ``k > 2``).

    Examples
    --------
    >>> conditions_of(2, sample_names(4))
    {'control': ['animal1', 'animal2'], 'treated': ['animal3', 'animal4']}
    """
    if conditions is None:
        return {}
    if isinstance(conditions, bool) or not isinstance(conditions, (int, Mapping)):
        raise ScclastInputError("conditions: give a number of conditions or {condition: [animals]}")
    if isinstance(conditions, int):
        if not 2 <= conditions <= len(samples):
            raise ScclastInputError(
                f"conditions={conditions}: use 2 to n_samples={len(samples)} conditions"
            )
        names = (
            ["control", "treated"]
            if conditions == 2
            else ["control", *[f"treated{i}" for i in range(1, conditions)]]
        )
        blocks = np.array_split(np.arange(len(samples)), conditions)
        return {n: [samples[i] for i in block] for n, block in zip(names, blocks, strict=True)}
    mapping = {str(k): [str(s) for s in _as_list(v)] for k, v in conditions.items()}
    if len(mapping) < 2:
        raise ScclastInputError("conditions: give at least two conditions")
    seen = [s for members in mapping.values() for s in members]
    unknown = sorted(set(seen) - set(samples))
    twice = sorted({s for s in seen if seen.count(s) > 1})
    missing = [s for s in samples if s not in seen]
    if unknown or twice or missing:
        raise ScclastInputError(
            f"conditions: every animal ({samples[0]}..{samples[-1]}) must be in exactly one "
            f"condition (unknown {unknown}, listed twice {twice}, missing {missing})"
        )
    if any(not members for members in mapping.values()):
        raise ScclastInputError("conditions: every condition needs at least one animal")
    return mapping


def shifted_shares(
    shares: np.ndarray,
    states: list[str],
    conditions: dict[str, list[str]],
    composition_shift: Mapping[str, Any] | None,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, float]]]:
    """Expected shares per condition after ``composition_shift``, and the shift, canonical.

    A shift ``{condition: {state: fold}}`` multiplies that state's expected share of the
    condition's cells by ``fold``; the other states keep their ratios to one another.
    The short form ``{state: fold}`` applies to every condition but the first.

    Examples
    --------
    >>> per, shift = shifted_shares(
    ...     np.array([0.5, 0.3, 0.2]), ["a", "b", "c"], {"control": [], "treated": []}, {"c": 2}
    ... )
    >>> per["treated"].round(3).tolist(), shift
    ([0.375, 0.225, 0.4], {'treated': {'c': 2.0}})
    """
    if not composition_shift:
        return {c: shares for c in conditions}, {}
    if not conditions:
        raise ScclastInputError("composition_shift needs conditions= (which animals it applies to)")
    names = list(conditions)
    values = list(composition_shift.values())
    if all(isinstance(v, Mapping) for v in values):
        shift = {str(c): dict(v) for c, v in composition_shift.items()}
    elif not any(isinstance(v, Mapping) for v in values):
        shift = {c: dict(composition_shift) for c in names[1:]}
    else:
        raise ScclastInputError(
            "composition_shift: give {state: fold} or {condition: {state: fold}}, not a mix"
        )
    canonical: dict[str, dict[str, float]] = {}
    per = {c: shares for c in names}
    for condition, folds in shift.items():
        if condition not in conditions:
            raise ScclastInputError(
                f"composition_shift: unknown condition {condition!r}: use {names}"
            )
        unknown = sorted(set(folds) - set(states))
        if unknown:
            raise ScclastInputError(
                f"composition_shift[{condition!r}]: state(s) {unknown} are not simulated: "
                f"use {states}"
            )
        fold = np.ones(len(states))
        for state, value in folds.items():
            if not float(value) > 0:
                raise ScclastInputError(
                    f"composition_shift[{condition!r}][{state!r}]={value}: folds must be > 0"
                )
            fold[states.index(state)] = float(value)
        moved = fold != 1
        target = float((shares[moved] * fold[moved]).sum())
        left = float(shares[~moved].sum())
        if target >= 1 or left == 0:
            raise ScclastInputError(
                f"composition_shift[{condition!r}]: the shifted states would hold "
                f"{target:.2f} of the cells; keep it below 1"
            )
        new = shares * fold
        new[~moved] *= (1.0 - target) / left
        per[condition] = new
        canonical[condition] = {s: float(v) for s, v in folds.items()}
    return per, canonical


def animal_compositions(
    per_condition: dict[str, np.ndarray],
    conditions: dict[str, list[str]],
    samples: list[str],
    default: np.ndarray,
    concentration: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each animal's state shares (animals x states): Dirichlet around its condition's.

    ``concentration=inf`` gives every animal its condition's shares exactly.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> comp = animal_compositions({}, {}, ["a1", "a2"], np.array([0.7, 0.3, 0.0]), 20.0, rng)
    >>> comp.shape, bool(np.allclose(comp.sum(axis=1), 1)), bool((comp[:, 2] == 0).all())
    ((2, 3), True, True)
    """
    of_sample = {s: c for c, members in conditions.items() for s in members}
    rows = []
    for sample in samples:
        expected = per_condition.get(of_sample.get(sample, ""), default)
        if math.isinf(concentration):
            rows.append(expected)
            continue
        row = np.zeros_like(expected)
        positive = expected > 0
        row[positive] = rng.dirichlet(concentration * expected[positive])
        rows.append(row)
    return np.vstack(rows)


def effects(
    specs: Sequence[Mapping[str, Any]] | None,
    argument: str,
    states: list[str],
    samples: list[str],
    conditions: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """Check planted effects and return them canonical (animals listed explicitly).

    ``programme_effects`` items: ``genes`` or ``programme``, ``state``/``states``,
    ``fold``, ``sample``/``samples`` (default: every animal). ``condition_effects``
    items: the same with ``condition`` instead of animals.

    Examples
    --------
    >>> effects([{"programme": "clastokines", "state": "osteoclast", "fold": 3,
    ...           "samples": "animal2"}], "programme_effects", ["osteoclast"],
    ...         ["animal1", "animal2"], {})
    [{'programme': 'clastokines', 'states': ['osteoclast'], 'fold': 3.0, 'samples': ['animal2']}]
    """
    if specs is None:
        return []
    if isinstance(specs, (Mapping, str)):
        raise ScclastInputError(f"{argument}: give a list of effects (mappings)")
    by_condition = argument == "condition_effects"
    if by_condition and specs and not conditions:
        raise ScclastInputError("condition_effects needs conditions= (which animals are treated)")
    allowed = _CONDITION_KEYS if by_condition else _EFFECT_KEYS
    out = []
    for i, spec in enumerate(specs):
        where = f"{argument}[{i}]"
        if not isinstance(spec, Mapping):
            raise ScclastInputError(f"{where}: each effect is a mapping (genes/programme, fold...)")
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ScclastInputError(f"{where}: unknown key(s) {unknown}: use {sorted(allowed)}")
        effect = _what(spec, where)
        effect["states"] = _pick(spec, "state", "states", where, states, default=states)
        fold = spec.get("fold")
        if fold is None or not float(fold) > 0 or not math.isfinite(float(fold)):
            raise ScclastInputError(f"{where}: fold={fold!r}: give a finite fold > 0")
        effect["fold"] = float(fold)
        if by_condition:
            condition = spec.get("condition")
            if condition not in conditions:
                raise ScclastInputError(
                    f"{where}: condition={condition!r}: use one of {list(conditions)}"
                )
            effect["condition"] = str(condition)
        else:
            effect["samples"] = _pick(spec, "sample", "samples", where, samples, default=samples)
        out.append(effect)
    return out


def _what(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    if ("genes" in spec) == ("programme" in spec):
        raise ScclastInputError(f"{where}: give exactly one of 'genes' or 'programme'")
    if "programme" in spec:
        name = str(spec["programme"])
        if name not in DEFAULT_PROGRAMMES:
            raise ScclastInputError(
                f"{where}: unknown programme {name!r}: use {sorted(DEFAULT_PROGRAMMES)}"
            )
        return {"programme": name}
    genes = [str(g) for g in _as_list(spec["genes"])]
    if not genes:
        raise ScclastInputError(f"{where}: genes is empty: give at least one gene")
    return {"genes": genes}


def _pick(
    spec: Mapping[str, Any],
    one: str,
    many: str,
    where: str,
    allowed: list[str],
    default: list[str],
) -> list[str]:
    if one in spec and many in spec:
        raise ScclastInputError(f"{where}: give {one!r} or {many!r}, not both")
    raw = spec.get(one, spec.get(many))
    if raw is None:
        return list(default)
    picked = [str(v) for v in _as_list(raw)]
    unknown = sorted(set(picked) - set(allowed))
    if unknown or not picked:
        raise ScclastInputError(f"{where}: {many} {unknown or picked} not simulated: use {allowed}")
    return [a for a in allowed if a in picked]


def trends(trend_genes: Mapping[str, str] | None) -> dict[str, str]:
    """Check ``trend_genes`` (``{gene or programme: "late"|"early"|"transient"}``).

    Examples
    --------
    >>> trends({"Slit3": "late"})
    {'Slit3': 'late'}
    """
    if not trend_genes:
        return {}
    if not isinstance(trend_genes, Mapping):
        raise ScclastInputError("trend_genes: give {gene or programme: 'late'|'early'|'transient'}")
    out = {}
    for key, shape in trend_genes.items():
        if shape not in TREND_SHAPES:
            raise ScclastInputError(
                f"trend_genes[{key!r}]={shape!r}: use one of {', '.join(TREND_SHAPES)}"
            )
        out[str(key)] = str(shape)
    return out


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    return list(value)
