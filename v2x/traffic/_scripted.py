"""A scripted traffic backend: straight-line kinematics, no SUMO needed.

Ships in the library so that users' own tests (and ours) can drive OBUs and applications with
exactly known trajectories: each vehicle moves along its heading with constant acceleration
(speed clamped at zero). Actions change that acceleration (``brake``, ``set_speed``,
``stop_in_lane``, ``release``; ``change_lane`` only renames the lane; ``signal`` and
``vehicle_event`` set the vehicle's signal / event bits) and triggered events fire
on its states exactly as on SUMO's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from v2x.traffic._actions import Action
from v2x.traffic._base import Collision, PersonStates, SignalCrossing, Teleport, VehicleStates
from v2x.traffic._events import Scripting, TriggeredEvent

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
    """Moves :class:`ScriptedVehicle` s in straight lines, one step of ``step_ns`` at a time.

    Args:
        vehicles: the vehicles, all present from the first step (index = list position).
        step_ns: step length [ns].
        events: triggered events, evaluated on every step.
        accel, decel: what ``set_speed`` accelerates / decelerates with when its ``decel``
            is nan [m/s², positive] (SUMO's passenger car defaults, 2.6 and 4.5).
    """

    conn: Any = None

    def __init__(self, vehicles: list[ScriptedVehicle], *, step_ns: int = 100_000_000,
                 events: Sequence[TriggeredEvent] = (), accel: float = 2.6,
                 decel: float = 4.5) -> None:
        self._v = list(vehicles)
        self._step_ns = step_ns
        self._t_ns = 0
        n = len(vehicles)
        self._x = np.array([v.x for v in vehicles], np.float64)
        self._y = np.array([v.y for v in vehicles], np.float64)
        self._speed = np.array([v.speed for v in vehicles], np.float64)
        self._base_accel = np.array([v.accel for v in vehicles], np.float64)
        self._accel = self._base_accel.copy()
        self._target = np.full(n, np.nan)  # speed an action drives to, then keeps [m/s]
        self._hold_s = np.full(n, np.nan)  # stop_in_lane: hold once stopped [s]
        self._release_ns = np.full(n, np.iinfo(np.int64).max, np.int64)
        self._heading = np.array([v.heading_deg for v in vehicles], np.float64)
        self._lane = np.array([v.lane for v in vehicles], dtype=object)
        self._dist = np.zeros(n)
        self._signals = np.zeros(n, np.int64)  # SUMO signal bits set by ``signal``
        self._vevents = np.zeros(n, np.int64)  # VehicleEventFlags set by ``vehicle_event``
        self._index = {v.name: i for i, v in enumerate(vehicles)}
        self._set_accel, self._set_decel = accel, decel
        self._script = Scripting(events, self._act)

    def step(self) -> VehicleStates:
        """Advance one step with constant acceleration; speeds never go negative, and a
        vehicle driving to an action's target speed stops changing speed there."""
        dt = self._step_ns / 1e9
        t_next = self._t_ns + self._step_ns
        v0 = self._speed
        v1 = np.maximum(v0 + self._accel * dt, 0.0)
        tgt = self._target
        if np.any(np.isfinite(tgt)):
            down = np.isfinite(tgt) & (self._accel < 0)
            up = np.isfinite(tgt) & (self._accel > 0)
            v1 = np.where(down, np.maximum(v1, tgt), np.where(up, np.minimum(v1, tgt), v1))
            reached = (down | up) & (v1 == tgt)
            self._accel[reached] = 0.0
            stop = reached & np.isfinite(self._hold_s)
            self._release_ns[stop] = t_next + np.round(self._hold_s[stop] * 1e9).astype(np.int64)
            self._hold_s[stop] = np.nan
        ds = (v0 + v1) / 2 * dt
        h = np.radians(self._heading)
        self._x = self._x + ds * np.sin(h)
        self._y = self._y + ds * np.cos(h)
        self._dist = self._dist + ds
        accel = (v1 - v0) / dt
        self._speed = v1
        self._t_ns = t_next
        done = self._release_ns <= t_next
        if np.any(done):
            for i in np.flatnonzero(done).tolist():
                self._release(i)
        vs = self._v
        n = len(vs)
        st = VehicleStates(
            t_ns=self._t_ns,
            names=np.array([v.name for v in vs], dtype=object),
            index=np.arange(n, dtype=np.int64),
            x=self._x.copy(), y=self._y.copy(), speed=v1.copy(), accel=accel,
            heading_deg=self._heading.copy(),
            lane=self._lane.copy(), lane_pos=self._dist.copy(),
            brake=accel < -0.1,
            length=np.array([v.length for v in vs]), width=np.array([v.width for v in vs]),
            height=np.array([v.height for v in vs]),
            classification=np.array([v.classification for v in vs], np.int16),
            signals=self._signals.copy(), vehicle_events=self._vevents.copy(),
        )
        self._script.after_step(st, None, self._index, {})
        return st

    def persons(self) -> PersonStates:
        """Scripted traffic has no persons."""
        return PersonStates.empty(self._t_ns)

    def collisions(self) -> list[Collision]:
        """Scripted vehicles never report collisions."""
        return []

    def teleports(self) -> list[Teleport]:
        """Scripted vehicles never teleport."""
        return []

    def signal_crossings(self) -> list[SignalCrossing]:
        """Scripted traffic has no traffic lights."""
        return []

    def lane_speed_limits(self) -> dict[str, float]:
        """Scripted lanes have no speed limit."""
        return {}

    def vehicle_names(self) -> list[str]:
        """Names in index order."""
        return [v.name for v in self._v]

    def apply(self, actions: Sequence[Action]) -> list[str]:
        """Queue ``actions`` (as :meth:`v2x.traffic.SumoTraffic.apply`); ``brake``,
        ``set_speed``, ``stop_in_lane`` and ``release`` change the vehicle's acceleration,
        ``change_lane`` its lane name (``<edge>_<index>``); ``cross`` finds no person."""
        return self._script.apply(actions)

    def skipped(self) -> list[str]:
        """Targets of every action so far that was not in the simulation."""
        return list(self._script.skipped)

    def fired(self) -> list[tuple[int, str]]:
        """(t_ns, event name) of the events fired since the last call."""
        return self._script.fired()

    def fired_actions(self) -> list[Action]:
        """The ``rsi_*`` actions of the events fired since the last call."""
        return self._script.fired_actions()

    def _act(self, a: Action) -> bool:
        i = self._index.get(a.target)
        if i is None or a.kind == "cross":
            return False
        if a.kind in ("signal", "vehicle_event"):
            (self._signals if a.kind == "signal" else self._vevents)[i] = a.bits
            return True
        v = float(self._speed[i])
        if a.kind != "change_lane":
            self._hold_s[i] = np.nan
            self._release_ns[i] = np.iinfo(np.int64).max
        if a.kind in ("brake", "stop_in_lane"):
            target = 0.0 if a.kind == "stop_in_lane" else min(a.speed, v)
            self._target[i] = target
            self._accel[i] = -abs(a.decel) if v > target else 0.0
            if a.kind == "stop_in_lane" and math.isfinite(a.hold_s):
                if v > target:
                    self._hold_s[i] = a.hold_s
                else:
                    self._release_ns[i] = self._t_ns + round(a.hold_s * 1e9)
        elif a.kind == "set_speed":
            self._target[i] = a.speed
            decel = a.decel if math.isfinite(a.decel) else self._set_decel
            self._accel[i] = (-decel if a.speed < v else self._set_accel if a.speed > v
                              else 0.0)
        elif a.kind == "change_lane":
            self._lane[i] = f"{str(self._lane[i]).rsplit('_', 1)[0]}_{a.lane}"
        elif a.kind == "release":
            self._release(i)
        return True

    def _release(self, i: int) -> None:
        self._accel[i] = self._base_accel[i]
        self._target[i] = np.nan
        self._hold_s[i] = np.nan
        self._release_ns[i] = np.iinfo(np.int64).max

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Brake to a standstill at ``decel`` [m/s²] now, hold ``hold_s`` [s], then go on
        with the vehicle's own acceleration (a ``stop_in_lane`` action applied at once)."""
        return self._act(Action(self._t_ns, name, "stop_in_lane", decel=decel, hold_s=hold_s))

    def close(self) -> None:
        """Nothing to close."""
