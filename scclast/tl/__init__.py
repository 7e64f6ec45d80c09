"""Analyses (as ``scanpy.tl``): each takes an AnnData, writes into it, returns ``None``.

=============================  =============================================================
:func:`score`                  per-cell gene-set scores: seurat, ucell, aucell, mean
:func:`lineage_states`         osteoclast-lineage state per group (myeloid gate first)
:func:`flag`                   calibrated calls of candidate secretory populations
:func:`cluster`                Leiden clusters (seeded; tested genes kept out)
:func:`umap`                   a 2-D embedding computed in row chunks (backed data fit)
:func:`prerank`                gseapy prerank of the sets per group (descriptive)
:func:`pseudotime`             diffusion pseudotime of the osteoclast lineage (macrophage root)
:func:`trajectory`             factors and sets along the pseudotime: change, peak
:func:`timecourse`             bulk time courses: trend per factor and set, donor blocked
:func:`compare_conditions`     conditions with samples as replicates: genes, sets, abundance
:func:`receiver_states`        osteoblast-lineage receiver state per group (receiver gate)
:func:`communication`          coupling map: catalogue pairs, senders to receivers (LIANA+)
=============================  =============================================================

Every function takes ``key_added`` (default ``"scclast"``), from which every ``obs`` and
``uns`` name is derived (:mod:`scclast._keys`), and ``copy`` (return a modified copy
instead). Tables are read back with :mod:`scclast.get`.
"""

from scclast.tl._cluster import cluster
from scclast.tl._conditions import compare_conditions
from scclast.tl._coupling import communication
from scclast.tl._differentiation import pseudotime, timecourse, trajectory
from scclast.tl._embedding import umap
from scclast.tl._enrichment import prerank
from scclast.tl._flag import DEFAULT_GENE_SETS, FlagThresholds, flag
from scclast.tl._flag import TABLE_COLUMNS as FLAG_TABLE_COLUMNS
from scclast.tl._lineage import STATES, LineageRules, lineage_states
from scclast.tl._receivers import ReceiverRules, receiver_states
from scclast.tl._score import METHODS, score

__all__ = [
    "DEFAULT_GENE_SETS",
    "FLAG_TABLE_COLUMNS",
    "METHODS",
    "STATES",
    "FlagThresholds",
    "LineageRules",
    "ReceiverRules",
    "cluster",
    "communication",
    "compare_conditions",
    "flag",
    "lineage_states",
    "prerank",
    "pseudotime",
    "receiver_states",
    "score",
    "timecourse",
    "trajectory",
    "umap",
]
