"""The simulation kernel: the per-step loop that wires traffic, RSUs, channel, apps, bus and
recorder.

The light types (:class:`Outgoing`, :class:`Roadside`, :class:`RoadUsers`,
:class:`ScriptedStop`) load at once; the loop (:class:`Simulation` and its settings) on first
use, so the traffic process, which needs only the types, does not import the bus, the recorder
or the channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from v2x.sim._types import PERSON_NODE_BASE, Outgoing, Roadside, RoadUsers, ScriptedStop

if TYPE_CHECKING:
    from v2x.sim._loop import RSU_NODE_BASE, RunSummary, SimConfig, Simulation, StepProgress
    from v2x.sim._realtime import RealTimeClock

_LOOP = ("RSU_NODE_BASE", "RunSummary", "SimConfig", "Simulation", "StepProgress")


def __getattr__(name: str) -> Any:
    if name in _LOOP:
        from v2x.sim import _loop

        return getattr(_loop, name)
    if name == "RealTimeClock":
        from v2x.sim._realtime import RealTimeClock

        return RealTimeClock
    raise AttributeError(f"module 'v2x.sim' has no attribute {name!r}")


__all__ = [
    "PERSON_NODE_BASE",
    "RSU_NODE_BASE",
    "Outgoing",
    "RealTimeClock",
    "RoadUsers",
    "Roadside",
    "RunSummary",
    "ScriptedStop",
    "SimConfig",
    "Simulation",
    "StepProgress",
]
