"""The simulation kernel: the per-step loop that wires traffic, RSUs, channel, apps, bus and
recorder."""

from v2x.sim._loop import (
    RSU_NODE_BASE,
    Outgoing,
    Roadside,
    RunSummary,
    ScriptedStop,
    SimConfig,
    Simulation,
    StepProgress,
)

__all__ = [
    "RSU_NODE_BASE",
    "Outgoing",
    "Roadside",
    "RunSummary",
    "ScriptedStop",
    "SimConfig",
    "Simulation",
    "StepProgress",
]
