"""Node numbering of a run, shared by the loop (which numbers) and the analysis (which reads
the recording): light, nothing of the simulation is imported.

Vehicles are nodes 0, 1, ... (vehicle index, order of first appearance); RSUs are
``v2x.sim.RSU_NODE_BASE + r``; persons (pedestrians) ``PERSON_NODE_BASE + i``.
"""

from __future__ import annotations

__all__ = ["PERSON_NODE_BASE"]

#: node ids of persons (pedestrians) start here: person ``i`` is node ``PERSON_NODE_BASE + i``;
#: vehicles are nodes 0, 1, ... (vehicle index) and RSUs ``v2x.sim.RSU_NODE_BASE + r``
PERSON_NODE_BASE = 2_000_000
