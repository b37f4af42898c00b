"""A scripted traffic backend: straight-line kinematics, no SUMO needed.

Ships in the library so that users' own tests (and ours) can drive OBUs and applications with
exactly known trajectories: each vehicle moves along its heading with constant acceleration
(speed clamped at zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from v2x.traffic._base import Collision, VehicleStates

__all__ = ["ScriptedTraffic", "ScriptedVehicle"]


@dataclass(frozen=True)
class ScriptedVehicle:
    """A vehicle of :class:`ScriptedTraffic`: initial state at t = 0 and constant ``accel``."""

    name: str
    x: float
    y: float
    heading_deg: float
    speed: float
    accel: float = 0.0
    lane: str = "lane_0"
    length: float = 4.8
    width: float = 1.8
    height: float = 1.5
    classification: int = 10


class ScriptedTraffic:
    """Moves :class:`ScriptedVehicle` s in straight lines, one step of ``step_ns`` at a time."""

    conn: Any = None

    def __init__(self, vehicles: list[ScriptedVehicle], *, step_ns: int = 100_000_000) -> None:
        self._v = list(vehicles)
        self._step_ns = step_ns
        self._t_ns = 0
        n = len(vehicles)
        self._x = np.array([v.x for v in vehicles], np.float64)
        self._y = np.array([v.y for v in vehicles], np.float64)
        self._speed = np.array([v.speed for v in vehicles], np.float64)
        self._accel = np.array([v.accel for v in vehicles], np.float64)
        self._heading = np.array([v.heading_deg for v in vehicles], np.float64)
        self._dist = np.zeros(n)
        self._holds: list[tuple[int, int, float]] = []

    def step(self) -> VehicleStates:
        """Advance one step with constant acceleration; speeds never go negative."""
        dt = self._step_ns / 1e9
        v0 = self._speed
        v1 = np.maximum(v0 + self._accel * dt, 0.0)
        ds = (v0 + v1) / 2 * dt
        h = np.radians(self._heading)
        self._x = self._x + ds * np.sin(h)
        self._y = self._y + ds * np.cos(h)
        self._dist = self._dist + ds
        accel = (v1 - v0) / dt
        self._speed = v1
        self._t_ns += self._step_ns
        vs = self._v
        n = len(vs)
        return VehicleStates(
            t_ns=self._t_ns,
            names=np.array([v.name for v in vs], dtype=object),
            index=np.arange(n, dtype=np.int64),
            x=self._x.copy(), y=self._y.copy(), speed=v1.copy(), accel=accel,
            heading_deg=self._heading.copy(),
            lane=np.array([v.lane for v in vs], dtype=object), lane_pos=self._dist.copy(),
            brake=accel < -0.1,
            length=np.array([v.length for v in vs]), width=np.array([v.width for v in vs]),
            height=np.array([v.height for v in vs]),
            classification=np.array([v.classification for v in vs], np.int16),
        )

    def collisions(self) -> list[Collision]:
        """Scripted vehicles never report collisions."""
        return []

    def vehicle_names(self) -> list[str]:
        """Names in index order."""
        return [v.name for v in self._v]

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Set the vehicle's constant acceleration to ``-decel`` (it stops and stays)."""
        names = self.vehicle_names()
        if name not in names:
            return False
        self._accel[names.index(name)] = -abs(decel)
        return True

    def close(self) -> None:
        """Nothing to close."""
