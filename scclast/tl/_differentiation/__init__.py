"""When in differentiation: clastokines along pseudotime and across time courses.

Single cell (:func:`pseudotime`, then :func:`trajectory`): a diffusion pseudotime over
the osteoclast-lineage cells, rooted in the macrophage state, and per coupling factor and
gene set a spline fit along it, a permutation test of change and the position of the
peak. Bulk or pseudobulk time courses (:func:`timecourse`): every sample scored for every
factor and set, and a trend over time tested with the donor as a blocking factor.

==================  ==========================================================================
module              holds
==================  ==========================================================================
``_features``       what is tested: factors, sets and state programmes with their Figure 4 phase
``_splines``        the regression-spline F test with permutations within samples
``_pseudotime``     :func:`pseudotime` (scanpy diffusion pseudotime, rooted in macrophages)
``_trajectory``     :func:`trajectory` (factors and sets along the pseudotime)
``_timecourse``     :func:`timecourse` (bulk time courses, ``~ C(donor) + time``)
==================  ==========================================================================
"""

from scclast.tl._differentiation._features import Feature, catalogue_features
from scclast.tl._differentiation._pseudotime import pseudotime
from scclast.tl._differentiation._timecourse import TABLE_COLUMNS as TIMECOURSE_COLUMNS
from scclast.tl._differentiation._timecourse import timecourse
from scclast.tl._differentiation._trajectory import TABLE_COLUMNS as TRAJECTORY_COLUMNS
from scclast.tl._differentiation._trajectory import trajectory

__all__ = [
    "TIMECOURSE_COLUMNS",
    "TRAJECTORY_COLUMNS",
    "Feature",
    "catalogue_features",
    "pseudotime",
    "timecourse",
    "trajectory",
]
