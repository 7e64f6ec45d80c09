"""scclast: single-cell analysis of the osteoclast secretome.

Score every cell for a cited catalogue of osteoclast-derived coupling factors
("clastokines"), call osteoclast-lineage states, and flag candidate secretory
populations with calibrated statistics.

Examples
--------
>>> import scclast
>>> scclast.genesets.get("clastokines_secreted", species="mouse")[:2]
['Sphk1', 'Spns2']
"""

from scclast import genesets
from scclast._errors import ScclastDataError, ScclastError, ScclastInputError
from scclast._version import __version__

__all__ = [
    "ScclastDataError",
    "ScclastError",
    "ScclastInputError",
    "__version__",
    "genesets",
]
