"""SUMO as the traffic backend: libsumo in-process (default) or TraCI (``--gui``, remote).

Vehicle state comes from TraCI variable subscriptions (position, speed, acceleration, angle,
lane, lane position, signals), made once per vehicle when it departs, and is handed to the
simulation as numpy columns (:class:`VehicleStates`). SUMO seconds become integer nanoseconds
here, at the bridge.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from v2x.errors import SumoError
from v2x.traffic._base import Collision, VehicleStates
from v2x.units import s_to_ns

__all__ = ["SUBSCRIBED_VARS", "SumoTraffic", "sumo_command"]

#: the variables subscribed for every vehicle (also used by the bare-SUMO benchmark baseline)
# TraCI vehicle variable ids (the protocol's, as in traci.constants; a test compares them):
# written out so that the traffic process does not import the traci package (~90 ms, it
# pulls in sumolib and pyproj)
VAR_SPEED, VAR_POSITION, VAR_ANGLE = 0x40, 0x42, 0x43
VAR_LANE_ID, VAR_LANEPOSITION, VAR_SIGNALS, VAR_ACCELERATION = 0x51, 0x56, 0x5B, 0x72
SUBSCRIBED_VARS = (VAR_POSITION, VAR_SPEED, VAR_ACCELERATION, VAR_ANGLE, VAR_LANE_ID,
                   VAR_LANEPOSITION, VAR_SIGNALS)
_POSITION = itemgetter(VAR_POSITION)
_SCALARS = itemgetter(VAR_SPEED, VAR_ACCELERATION, VAR_ANGLE, VAR_LANEPOSITION, VAR_SIGNALS)
_LANE = itemgetter(VAR_LANE_ID)
_BRAKE_BIT = 1 << 3  # VEH_SIGNAL_BRAKELIGHT


def sumo_command(net_file: Path, route_files: Sequence[Path], additional_files: Sequence[Path],
                 *, step_ns: int, seed: int, gui: bool = False,
                 extra: Sequence[str] = ()) -> list[str]:
    """The SUMO command line of a run (binary first)."""
    import sumolib  # here: sumolib imports pyproj (~50 ms), which the traffic process skips

    cmd = [sumolib.checkBinary("sumo-gui" if gui else "sumo"),
           "--net-file", str(net_file),
           "--step-length", f"{step_ns / 1e9:.3f}",
           "--seed", str(seed),
           "--no-step-log", "true", "--no-warnings", "true",
           "--collision.action", "warn", "--collision.check-junctions", "true",
           "--time-to-teleport", "300"]
    if route_files:
        cmd += ["--route-files", ",".join(str(p) for p in route_files)]
    if additional_files:
        cmd += ["--additional-files", ",".join(str(p) for p in additional_files)]
    if gui:
        cmd += ["--start", "true", "--quit-on-end", "true"]
    return cmd + list(extra)


class SumoTraffic:
    """A running SUMO simulation.

    Args:
        cmd: the SUMO command line (see :func:`sumo_command`).
        classification: vehicle type id -> J2735 classification (int); unknown types get 0.
        use_traci: use TraCI over a socket instead of libsumo (needed for ``sumo-gui``).

    Raises:
        SumoError: SUMO failed to start (bad network, missing file, ...), with SUMO's message.
    """

    def __init__(self, cmd: Sequence[str], *, classification: Mapping[str, int] | None = None,
                 use_traci: bool = False) -> None:
        self._classification = dict(classification or {})
        self._use_traci = use_traci
        module = "traci" if use_traci else "libsumo"
        try:
            self.conn: Any = importlib.import_module(module)
            self.conn.start(list(cmd))
        except Exception as exc:  # libsumo raises TraCIException / FatalTraCIError / RuntimeError
            raise SumoError(f"SUMO did not start ({' '.join(map(str, cmd))}): {exc}") from exc
        self._open = True
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        # static per-vehicle attributes by index
        # static per-vehicle attributes by index, rows [0, len(self._names)) in use; grown by
        # doubling, so a step gathers them with one index instead of converting lists
        self._dims = np.zeros((64, 3))  # length, width, height [m]
        self._class = np.zeros(64, np.int16)
        self._name_arr = np.empty(64, dtype=object)
        self._holds: list[tuple[float, str, str]] = []  # (time s, action, vehicle)
        self._collisions: list[Collision] = []

    # -- stepping -------------------------------------------------------------------------
    def step(self) -> VehicleStates:
        """Advance SUMO one step; return the state of the vehicles present after it.

        Raises:
            SumoError: SUMO failed during the step.
        """
        conn = self.conn
        try:
            conn.simulationStep()
            t = conn.simulation.getTime()
            for vid in conn.simulation.getDepartedIDList():
                self._on_depart(vid)
            self._collisions = [Collision(c.collider, c.victim, float(c.colliderSpeed))
                                for c in conn.simulation.getCollisions()]
            if self._holds:
                self._apply_holds(t)
            res = conn.vehicle.getAllSubscriptionResults()
        except SumoError:
            raise
        except Exception as exc:
            raise SumoError(f"SUMO failed during a step: {exc}") from exc
        return self._states(s_to_ns(t), res)

    def _on_depart(self, vid: str) -> None:
        conn = self.conn
        conn.vehicle.subscribe(vid, SUBSCRIBED_VARS)
        if vid in self._index:  # a re-inserted id (teleport) keeps its index
            return
        i = self._index[vid] = len(self._names)
        self._names.append(vid)
        if i == self._class.size:
            self._dims = np.concatenate([self._dims, np.zeros_like(self._dims)])
            self._class = np.concatenate([self._class, np.zeros_like(self._class)])
            self._name_arr = np.concatenate([self._name_arr, np.empty_like(self._name_arr)])
        vtype = conn.vehicle.getTypeID(vid)
        self._dims[i] = (conn.vehicle.getLength(vid), conn.vehicle.getWidth(vid),
                         conn.vehicle.getHeight(vid))
        self._class[i] = self._classification.get(vtype, 0)
        self._name_arr[i] = vid

    def _states(self, t_ns: int, res: Mapping[str, Mapping[int, Any]]) -> VehicleStates:
        vals = list(res.values())
        n = len(vals)
        idx = np.fromiter(map(self._index.__getitem__, res), dtype=np.int64, count=n)
        # C-level passes over the vehicles (itemgetter), no Python tuple per vehicle
        xy = np.fromiter(chain.from_iterable(map(_POSITION, vals)), np.float64,
                         count=2 * n).reshape(n, 2)
        table = np.fromiter(chain.from_iterable(map(_SCALARS, vals)), np.float64,
                            count=5 * n).reshape(n, 5)
        lane = np.array(list(map(_LANE, vals)), dtype=object)
        if n > 1 and not bool(np.all(idx[1:] > idx[:-1])):  # into vehicle index order
            order = np.argsort(idx, kind="stable")
            idx, xy, table, lane = idx[order], xy[order], table[order], lane[order]
        dims = self._dims[idx]
        return VehicleStates(
            t_ns=t_ns,
            names=self._name_arr[idx],
            index=idx,
            x=xy[:, 0], y=xy[:, 1],
            speed=table[:, 0], accel=table[:, 1], heading_deg=table[:, 2] % 360.0,
            lane=lane, lane_pos=table[:, 3],
            brake=(table[:, 4].astype(np.int64) & _BRAKE_BIT) != 0,
            length=dims[:, 0], width=dims[:, 1], height=dims[:, 2],
            classification=self._class[idx],
        )

    # -- queries and scripted actions -----------------------------------------------------
    def collisions(self) -> list[Collision]:
        """Collisions reported by SUMO in the last step."""
        return list(self._collisions)

    def vehicle_names(self) -> list[str]:
        """Every vehicle id seen so far; position = vehicle index."""
        return list(self._names)

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Brake vehicle ``name`` to a standstill at ``decel`` [m/s²], hold ``hold_s`` [s].

        Uses ``vehicle.slowDown`` (linear speed reduction over v/decel seconds), then
        ``setSpeed(0)`` until the hold ends, then gives control back to the car-following
        model. Returns False when the vehicle is not in the simulation.
        """
        conn = self.conn
        if name not in conn.vehicle.getIDList():
            return False
        t = conn.simulation.getTime()
        v = conn.vehicle.getSpeed(name)
        brake_s = max(v / decel, 0.0)
        conn.vehicle.setSpeedMode(name, 0)  # no safe-speed clamping: the brake is the script
        conn.vehicle.slowDown(name, 0.0, brake_s)
        self._holds.append((t + brake_s, "hold", name))
        self._holds.append((t + brake_s + hold_s, "release", name))
        return True

    def _apply_holds(self, t: float) -> None:
        due = [h for h in self._holds if h[0] <= t + 1e-9]
        self._holds = [h for h in self._holds if h[0] > t + 1e-9]
        alive = set(self.conn.vehicle.getIDList())
        for _, action, name in due:
            if name not in alive:
                continue
            if action == "hold":
                self.conn.vehicle.setSpeed(name, 0.0)
            else:
                self.conn.vehicle.setSpeed(name, -1.0)
                self.conn.vehicle.setSpeedMode(name, 31)

    def close(self) -> None:
        """Close the simulation (idempotent)."""
        if self._open:
            self._open = False
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a dead SUMO must not mask the real error
                pass

    def __enter__(self) -> SumoTraffic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
