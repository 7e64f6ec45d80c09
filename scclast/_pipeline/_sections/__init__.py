"""The analyses ``scclast run`` carries, one :class:`Section` each, in report order.

Every section declares, in its own module, its analysis, its output tables
(file name -> DataFrame), its figures (name -> draw function, title and caption) and its
report block (:mod:`scclast._pipeline._sections._base`). :func:`scclast.run`, the
output writers and the report iterate over :data:`SECTIONS`, so a new analysis (the
coupling map, the differentiation axis, condition comparisons) is one new module here
and one line in :data:`SECTIONS`; nothing else in :mod:`scclast._pipeline` changes.

======================  ====================================================================
module                  section
======================  ====================================================================
``_flagging``           score and flag; ``groups.tsv``, ``scores.tsv.gz``; the four figures
                        of :mod:`scclast.pl`; the answer, figures and groups table
``_conditions``         conditions with samples as replicates; ``conditions.tsv``,
                        ``abundance.tsv``; genes per group, shares per sample
``_differentiation``    pseudotime over the osteoclast lineage; factors and sets along it;
                        ``trajectory.tsv``; the figure by Figure 4 phase
``_coupling``           receiver gate and coupling map (LIANA+): catalogue pairs from
                        osteoclast- to osteoblast-lineage groups; ``communication.tsv``
======================  ====================================================================

A section that does not apply to the data (no osteoblast-lineage receivers, no
condition column) returns a one-line ``skip_reason``: it then writes nothing and the
report says why in its place.

Examples
--------
>>> [section.name for section in SECTIONS]
['flagging', 'conditions', 'differentiation', 'coupling']
>>> output_tables()  # doctest: +NORMALIZE_WHITESPACE
('groups.tsv', 'scores.tsv.gz', 'conditions.tsv', 'abundance.tsv',
 'trajectory.tsv', 'communication.tsv')
"""

from __future__ import annotations

from scclast._pipeline._sections._base import FigureSpec, Results, Section
from scclast._pipeline._sections._conditions import CONDITIONS
from scclast._pipeline._sections._coupling import COUPLING
from scclast._pipeline._sections._differentiation import DIFFERENTIATION
from scclast._pipeline._sections._flagging import FLAGGING

SECTIONS: tuple[Section, ...] = (FLAGGING, CONDITIONS, DIFFERENTIATION, COUPLING)
"""The registered sections, in the order they analyse and appear in the report."""


def output_tables(sections: tuple[Section, ...] = SECTIONS) -> tuple[str, ...]:
    """The table files the sections write into OUTDIR, in order."""
    return tuple(name for section in sections for name in section.files)


def _check_unique(sections: tuple[Section, ...]) -> None:
    """Two sections writing one file or one figure would overwrite each other."""
    names = [s.name for s in sections]
    files = list(output_tables(sections))
    figures = [f.name for s in sections for f in s.figures]
    for what, values in (("section", names), ("table file", files), ("figure", figures)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise RuntimeError(f"{what} names used twice by the run's sections: {repeated}")


_check_unique(SECTIONS)

__all__ = ["SECTIONS", "FigureSpec", "Results", "Section", "output_tables"]
