"""The traffic backend interface and the per-step vehicle state columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["Collision", "TrafficBackend", "VehicleStates"]


@dataclass(frozen=True)
class VehicleStates:
    """State of the vehicles present at one step, as numpy columns of length n.

    Positions are SUMO's: the *front bumper centre* in network coordinates.

    Attributes:
        t_ns: simulated time of the step [ns].
        names: (n,) object — SUMO vehicle ids.
        index: (n,) int64 — run-stable vehicle index (order of first appearance).
        x, y: (n,) float64 [m] network coordinates.
        speed: (n,) float64 [m/s].
        accel: (n,) float64 [m/s²] longitudinal, negative when braking.
        heading_deg: (n,) float64 [deg] clockwise from north (SUMO angle = message-set heading).
        lane: (n,) object — SUMO lane id.
        lane_pos: (n,) float64 [m] along the lane.
        brake: (n,) bool — brake lights on (SUMO signal bit 3).
        length, width, height: (n,) float64 [m].
        classification: (n,) int16 — J2735 / T/CSAE 53 vehicle classification.
    """

    t_ns: int
    names: np.ndarray
    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    speed: np.ndarray
    accel: np.ndarray
    heading_deg: np.ndarray
    lane: np.ndarray
    lane_pos: np.ndarray
    brake: np.ndarray
    length: np.ndarray
    width: np.ndarray
    height: np.ndarray
    classification: np.ndarray

    @property
    def n(self) -> int:
        """Number of vehicles present."""
        return int(self.index.shape[0])


@dataclass(frozen=True)
class Collision:
    """A collision reported by the traffic simulation."""

    collider: str
    victim: str
    speed: float


class TrafficBackend(Protocol):
    """What the simulation loop needs from a traffic simulation.

    ``conn`` exposes the SUMO API modules (``trafficlight``, ``junction``, ``simulation``,
    ``vehicle``) for roadside units; the scripted fake has none.
    """

    conn: Any

    def step(self) -> VehicleStates:
        """Advance one step and return the state after it."""
        ...

    def collisions(self) -> list[Collision]:
        """Collisions that happened in the last step."""
        ...

    def vehicle_names(self) -> list[str]:
        """Every vehicle name seen so far, position = vehicle index."""
        ...

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Make vehicle ``name`` brake to a standstill at ``decel`` [m/s²] and hold ``hold_s``
        [s]; False if the vehicle is not in the simulation."""
        ...

    def close(self) -> None:
        """Stop the simulation."""
        ...
