"""What the differentiation analyses test: coupling factors and gene sets, with their phase.

A *feature* is one coupling factor of the catalogue (its measurable genes), one gene set
(the flagging sets and the Figure 4 phase sets), or one lineage state programme, kept
as an orientation check (macrophage genes should fall and osteoclast genes rise along a
correctly rooted axis). Each carries the Figure 4 phase the catalogue gives it
(``initiation``, ``transition`` or ``not placed``) and its effect on bone formation
(``anabolic``, ``inhibitory``, ``controversial``), so tables and figures can group
factors by phase and keep anabolic and inhibitory factors apart.

A feature's value in a cell or sample is the mean of its measured genes, each gene first
standardised over the cells (or samples) analysed, so that one highly expressed gene
does not outweigh the others; a gene that is constant there (not detected) is left out
and the coverage says so.

Examples
--------
>>> features = catalogue_features("mouse")
>>> slit3 = next(f for f in features if f.name == "slit3")
>>> slit3.kind, slit3.label, slit3.phase, slit3.effect, slit3.genes
('factor', 'SLIT3', 'transition', 'anabolic', ('Slit3',))
>>> [f.name for f in features if f.kind == "state"]
['state_macrophage', 'state_oc_precursor', 'state_osteoclast']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scclast import genesets
from scclast.genesets._records import check_species

KINDS = ("factor", "set", "state")
"""Feature kinds: coupling factors, gene sets, lineage state programmes (orientation)."""

PHASES = ("initiation", "transition", "not placed")
"""Figure 4 phases a factor can have here. The termination phase has no transcript
score (vesicular RANK is not measurable from transcripts; catalogue 2027.1)."""

ANABOLIC_SIDE = ("anabolic", "controversial")
"""Effects drawn on the pro-formation side (the catalogue's phase sets put PDGF-BB,
controversial, there too)."""

STATE_SETS = ("state_macrophage", "state_oc_precursor", "state_osteoclast")
"""Lineage programmes tested beside the factors as a check of the axis' direction."""

NOT_PLACED = "not placed"

FEATURE_COLUMNS = ("feature", "kind", "label", "phase", "effect", "genes")
"""Descriptive columns every differentiation table starts with."""


@dataclass(frozen=True)
class Feature:
    """One thing to follow along differentiation.

    Attributes
    ----------
    name
        Factor id (``"slit3"``) or set name (``"phase_initiation_anabolic"``).
    kind
        ``"factor"``, ``"set"`` or ``"state"``.
    label
        Short label for figures (the factor's abbreviation, else the name).
    phase
        ``"initiation"``, ``"transition"``, ``"not placed"``; for sets the phase their
        name says, else ``""``.
    effect
        ``"anabolic"``, ``"inhibitory"``, ``"controversial"``, or ``""`` (sets mixing
        effects, state programmes).
    genes
        Member symbols in the data's species.
    """

    name: str
    kind: str
    label: str
    phase: str
    effect: str
    genes: tuple[str, ...]

    @property
    def side(self) -> str:
        """``"anabolic"`` (anabolic or controversial), ``"inhibitory"`` or ``""``."""
        if self.effect in ANABOLIC_SIDE:
            return "anabolic"
        return "inhibitory" if self.effect == "inhibitory" else ""


def catalogue_features(
    species: str,
    sets: Mapping[str, Sequence[str]] | None = None,
    *,
    states: bool = True,
) -> list[Feature]:
    """Every measurable coupling factor, the flagging and phase sets, the state programmes.

    Parameters
    ----------
    species
        ``"mouse"`` or ``"human"``.
    sets
        Gene sets to test besides the catalogue's phase sets, ``{name: genes}``;
        default: the catalogue's flagging sets (:func:`scclast.genesets.flagging_sets`).
    states
        Add the lineage state programmes (orientation check).

    Examples
    --------
    >>> names = [f.name for f in catalogue_features("human", states=False) if f.kind == "set"]
    >>> names[:3]
    ['clastokines_secreted', 'clastokines_putative', 'phase_initiation_anabolic']
    """
    species = check_species(species)
    catalogue = genesets.load()
    features: list[Feature] = []
    for factor in catalogue.factors.values():
        genes = tuple(dict.fromkeys(s for pair in factor.genes if (s := pair.symbol(species))))
        if not factor.measurable or not genes:
            continue
        phase = "+".join(factor.phases) if factor.phases else NOT_PLACED
        features.append(
            Feature(factor.id, "factor", factor.abbreviation, phase, factor.effect, genes)
        )
    chosen = dict(sets) if sets is not None else _flagging_sets(species)
    phase_sets = [n for n, s in catalogue.sets.items() if s.category == "phase"]
    for name in phase_sets:
        chosen.setdefault(name, genesets.get(name, species))
    for name, genes in chosen.items():
        phase, effect = _set_phase(name)
        features.append(Feature(str(name), "set", str(name), phase, effect, _unique(genes)))
    if states:
        for name in STATE_SETS:
            label = name.removeprefix("state_").replace("oc_", "OC ")
            features.append(
                Feature(name, "state", label, "", "", _unique(genesets.get(name, species)))
            )
    return features


def _flagging_sets(species: str) -> dict[str, list[str]]:
    return {name: genesets.get(name, species) for name in genesets.flagging_sets()}


def _set_phase(name: str) -> tuple[str, str]:
    """A phase set's phase and side from its name (``phase_<phase>_<side>``)."""
    parts = name.split("_")
    if len(parts) == 3 and parts[0] == "phase" and parts[1] in PHASES:
        return parts[1], parts[2]
    return "", ""


def _unique(genes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(g) for g in genes if g))


def feature_matrix(
    expression: np.ndarray, genes: Sequence[str], features: Sequence[Feature]
) -> tuple[np.ndarray, list[list[str]]]:
    """Per observation, the mean of each feature's standardised measured genes.

    Parameters
    ----------
    expression
        Observations x genes (normalised, log scale), columns named by ``genes``.
    genes
        Symbols of the columns.
    features
        The features.

    Returns
    -------
    values
        Observations x features; a feature without a measured gene is all NaN.
    measured
        Per feature, the genes that entered (present and not constant).

    Examples
    --------
    >>> x = np.array([[0.0, 1.0, 5.0], [2.0, 1.0, 7.0], [4.0, 1.0, 9.0]])
    >>> f = [Feature("a", "set", "a", "", "", ("G1", "G2", "G3")),
    ...      Feature("b", "factor", "b", "", "", ("G2",))]
    >>> values, measured = feature_matrix(x, ["G1", "G2", "G3"], f)
    >>> values[:, 0].round(3).tolist(), measured
    ([-1.225, 0.0, 1.225], [['G1', 'G3'], []])
    """
    expression = np.asarray(expression, dtype=float)
    sd = expression.std(axis=0)
    variable = np.isfinite(sd) & (sd > 1e-12)
    z = np.zeros_like(expression)
    z[:, variable] = (expression[:, variable] - expression[:, variable].mean(axis=0)) / sd[variable]
    position = {g: i for i, g in enumerate(genes)}
    values = np.full((expression.shape[0], len(features)), np.nan)
    measured: list[list[str]] = []
    for j, feature in enumerate(features):
        used = [g for g in feature.genes if g in position and variable[position[g]]]
        measured.append(used)
        if used:
            values[:, j] = z[:, [position[g] for g in used]].mean(axis=1)
    return values, measured


def describe(features: Sequence[Feature], measured: Sequence[Sequence[str]]) -> pd.DataFrame:
    """The descriptive columns (:data:`FEATURE_COLUMNS`) plus ``genes_measured``.

    Examples
    --------
    >>> f = [Feature("slit3", "factor", "SLIT3", "transition", "anabolic", ("Slit3",))]
    >>> describe(f, [["Slit3"]]).iloc[0].tolist()
    ['slit3', 'factor', 'SLIT3', 'transition', 'anabolic', 'Slit3', '1/1']
    """
    rows = [
        (f.name, f.kind, f.label, f.phase, f.effect, ",".join(f.genes), f"{len(m)}/{len(f.genes)}")
        for f, m in zip(features, measured, strict=True)
    ]
    return pd.DataFrame(rows, columns=[*FEATURE_COLUMNS, "genes_measured"])


__all__ = [
    "ANABOLIC_SIDE",
    "FEATURE_COLUMNS",
    "KINDS",
    "PHASES",
    "STATE_SETS",
    "Feature",
    "catalogue_features",
    "describe",
    "feature_matrix",
]
