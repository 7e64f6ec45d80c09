"""The coupling map: catalogue ligand-receptor pairs from osteoclast to osteoblast groups.

======================  ==================================================================
module                  holds
======================  ==================================================================
``_communication``      :func:`communication`: senders, receivers, the run, the record
``_liana``              the LIANA+ calls: matrix, pooled run, per-sample runs
``_table``              one row per sender x receiver x pair; statistics and ranks
======================  ==================================================================
"""

from scclast.tl._coupling._communication import COLUMNS, communication, skip_reason

__all__ = ["COLUMNS", "communication", "skip_reason"]
