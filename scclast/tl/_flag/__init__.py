"""Flagging of candidate secretory populations: one module per stage (see :mod:`._flag`)."""

from scclast.tl._flag._calibrate import calibrated_z, default_n_match, match_controls, set_rng
from scclast.tl._flag._flag import flag
from scclast.tl._flag._group_stats import TABLE_COLUMNS
from scclast.tl._flag._plan import DEFAULT_GENE_SETS, INHIBITORY_SET, MACHINERY_SET
from scclast.tl._flag._thresholds import FlagThresholds

__all__ = [
    "DEFAULT_GENE_SETS",
    "INHIBITORY_SET",
    "MACHINERY_SET",
    "TABLE_COLUMNS",
    "FlagThresholds",
    "calibrated_z",
    "default_n_match",
    "flag",
    "match_controls",
    "set_rng",
]
