"""SUMO as the traffic backend: libsumo in-process (default) or TraCI (``--gui``, remote).

Vehicle state comes from TraCI variable subscriptions (position, speed, acceleration, angle,
lane, lane position, signals), made once per vehicle when it departs, and is handed to the
simulation as numpy columns (:class:`VehicleStates`); persons likewise (position, speed, angle,
edge: :class:`PersonStates`). SUMO seconds become integer nanoseconds here, at the bridge.
Actions (:class:`~v2x.traffic.Action`) and triggered events
(:class:`~v2x.traffic.TriggeredEvent`) act between two SUMO steps.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from v2x.errors import SumoError
from v2x.traffic._actions import Action
from v2x.traffic._base import Collision, PersonStates, SignalCrossing, Teleport, VehicleStates
from v2x.traffic._events import Scripting, TriggeredEvent
from v2x.units import s_to_ns

__all__ = ["PERSON_VARS", "SUBSCRIBED_VARS", "SumoTraffic", "sumo_command"]

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
#: the variables subscribed for every person (TraCI person variable ids; VAR_ROAD_ID = 0x50)
VAR_ROAD_ID = 0x50
PERSON_VARS = (VAR_POSITION, VAR_SPEED, VAR_ANGLE, VAR_ROAD_ID)
_P_SCALARS = itemgetter(VAR_SPEED, VAR_ANGLE)
_ROAD = itemgetter(VAR_ROAD_ID)
STAGE_WAITING = 1  # traci.constants.STAGE_WAITING: a person's <stop> stage
SPEED_MODE_SCRIPT = 0  # no safe-speed clamping, no acceleration / deceleration limits
SPEED_MODE_DEFAULT = 31  # SUMO's default: all checks on
_LANE_HOLD_S = 1e7  # change_lane without hold_s: for the rest of the trip


def sumo_command(net_file: Path, route_files: Sequence[Path], additional_files: Sequence[Path],
                 *, step_ns: int, seed: int, gui: bool = False,
                 time_to_teleport_s: float = 300.0,
                 extra: Sequence[str] = ()) -> list[str]:
    """The SUMO command line of a run (binary first).

    ``time_to_teleport_s`` [s]: SUMO teleports a vehicle stuck this long (``--time-to-teleport``;
    300 s, SUMO's default; 0 or negative: never). Collisions only warn
    (``--collision.action warn``): the vehicles go on and the loop records the collision."""
    import sumolib  # here: sumolib imports pyproj (~50 ms), which the traffic process skips

    cmd = [sumolib.checkBinary("sumo-gui" if gui else "sumo"),
           "--net-file", str(net_file),
           "--step-length", f"{step_ns / 1e9:.3f}",
           "--seed", str(seed),
           "--no-step-log", "true", "--no-warnings", "true",
           "--collision.action", "warn", "--collision.check-junctions", "true",
           "--time-to-teleport", f"{time_to_teleport_s:g}"]
    if route_files:
        cmd += ["--route-files", ",".join(str(p) for p in route_files)]
    if additional_files:
        cmd += ["--additional-files", ",".join(str(p) for p in additional_files)]
    if gui:
        cmd += ["--start", "true", "--quit-on-end", "true"]
    return cmd + list(extra)


def _signal_links(conn: Any) -> dict[tuple[str, str], tuple[str, int]]:
    """(incoming lane, lane entered past its stop line) -> (traffic light, link index) of
    every signalized link: its internal lanes through the junction (SUMO's ``via`` lane and
    the internal lanes that follow it, so a vehicle that skips a short one in a step is still
    seen) and its outgoing lane (networks without internal lanes)."""
    tl, lanes = conn.trafficlight, conn.lane
    out: dict[tuple[str, str], tuple[str, int]] = {}
    for tls in tl.getIDList():
        for i, links in enumerate(tl.getControlledLinks(tls)):
            for in_lane, out_lane, via in links:
                out.setdefault((in_lane, out_lane), (tls, i))
                lane, hops = via, 0
                while lane and lane.startswith(":") and hops < 4:
                    out.setdefault((in_lane, lane), (tls, i))
                    nxt = [lk[0] if lk[0].startswith(":") else lk[4]
                           for lk in lanes.getLinks(lane)]
                    lane, hops = next((n for n in nxt if n.startswith(":")), ""), hops + 1
    return out


class SumoTraffic:
    """A running SUMO simulation.

    Args:
        cmd: the SUMO command line (see :func:`sumo_command`).
        classification: vehicle type id -> J2735 classification (int); unknown types get 0.
        use_traci: use TraCI over a socket instead of libsumo (needed for ``sumo-gui``).
        events: triggered events, evaluated on every step (see :mod:`v2x.traffic._events`).

    Raises:
        SumoError: SUMO failed to start (bad network, missing file, ...), with SUMO's message.
        ConfigError: a malformed event.
    """

    def __init__(self, cmd: Sequence[str], *, classification: Mapping[str, int] | None = None,
                 use_traci: bool = False, events: Sequence[TriggeredEvent] = ()) -> None:
        self._classification = dict(classification or {})
        self._use_traci = use_traci
        self._script = Scripting(events, self._act)
        module = "traci" if use_traci else "libsumo"
        try:
            self.conn: Any = importlib.import_module(module)
            self.conn.start(list(cmd))
        except Exception as exc:  # libsumo raises TraCIException / FatalTraCIError / RuntimeError
            raise SumoError(f"SUMO did not start ({' '.join(map(str, cmd))}): {exc}") from exc
        self._open = True
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        # static per-vehicle attributes by index, rows [0, len(self._names)) in use; grown by
        # doubling, so a step gathers them with one index instead of converting lists
        self._dims = np.zeros((64, 3))  # length, width, height [m]
        self._class = np.zeros(64, np.int16)
        self._vevents = np.zeros(64, np.int64)  # VehicleEventFlags set by vehicle_event
        self._forced = np.full(64, -1, np.int64)  # signals set by ``signal`` (-1: SUMO's)
        self._forced_names: dict[str, int] = {}
        self._name_arr = np.empty(64, dtype=object)
        # persons: the same, numbered apart
        self._pnames: list[str] = []
        self._pindex: dict[str, int] = {}
        self._pdims = np.zeros((16, 2))  # length, width [m]
        self._pname_arr = np.empty(16, dtype=object)
        self._pres: Mapping[str, Mapping[int, Any]] = {}
        self._persons: PersonStates | None = PersonStates.empty()
        self._t_ns = 0
        # (time s, what, vehicle, speed): the second phase of brake / stop_in_lane
        self._holds: list[tuple[float, str, str, float]] = []
        self._decel: dict[str, float] = {}  # vehicles whose deceleration set_speed changed
        self._collisions: list[Collision] = []
        self._teleports: list[Teleport] = []
        # red-light ground truth: (incoming lane, lane after its stop line) -> (tls, link
        # index), and every vehicle's lane at the step before, by index
        self._tls_links = _signal_links(self.conn)
        self._prev_lane = np.full(64, None, dtype=object)
        self._crossings: list[SignalCrossing] = []
        self._limits: dict[str, float] | None = None

    # -- stepping -------------------------------------------------------------------------
    def step(self) -> VehicleStates:
        """Advance SUMO one step; return the state of the vehicles present after it. Then
        fire the triggered events on it and apply the actions due (they act on the next step).

        Raises:
            SumoError: SUMO failed during the step.
        """
        conn = self.conn
        try:
            conn.simulationStep()
            t = conn.simulation.getTime()
            for vid in conn.simulation.getDepartedIDList():
                self._on_depart(vid)
            for pid in conn.simulation.getDepartedPersonIDList():
                self._on_person_depart(pid)
            self._collisions = [Collision(c.collider, c.victim, float(c.colliderSpeed))
                                for c in conn.simulation.getCollisions()]
            self._teleports = (
                [Teleport(v, "start") for v in conn.simulation.getStartingTeleportIDList()]
                + [Teleport(v, "end") for v in conn.simulation.getEndingTeleportIDList()])
            if self._holds:
                self._apply_holds(t)
            if self._forced_names:
                self._force_signals()
            res = conn.vehicle.getAllSubscriptionResults()
            self._pres = conn.person.getAllSubscriptionResults() if self._pnames else {}
        except SumoError:
            raise
        except Exception as exc:
            raise SumoError(f"SUMO failed during a step: {exc}") from exc
        self._t_ns = t_ns = s_to_ns(t)
        self._persons = None  # built when asked for
        st = self._states(t_ns, res)
        if self._tls_links:
            self._crossings = self._signal_crossings(st)
        script = self._script
        if len(script.queue) or len(script.engine):
            ps = self.persons() if self._pnames else None
            script.after_step(st, ps, self._index, self._pindex)
        else:
            script.queue.stepped(t_ns)
        return st

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
            self._vevents = np.concatenate([self._vevents, np.zeros_like(self._vevents)])
            self._forced = np.concatenate([self._forced, np.full_like(self._forced, -1)])
            self._name_arr = np.concatenate([self._name_arr, np.empty_like(self._name_arr)])
            self._prev_lane = np.concatenate([self._prev_lane, np.full_like(self._prev_lane,
                                                                            None)])
        vtype = conn.vehicle.getTypeID(vid)
        self._dims[i] = (conn.vehicle.getLength(vid), conn.vehicle.getWidth(vid),
                         conn.vehicle.getHeight(vid))
        self._class[i] = self._classification.get(vtype, 0)
        self._name_arr[i] = vid

    def _on_person_depart(self, pid: str) -> None:
        person = self.conn.person
        person.subscribe(pid, PERSON_VARS)
        if pid in self._pindex:
            return
        i = self._pindex[pid] = len(self._pnames)
        self._pnames.append(pid)
        if i == self._pname_arr.size:
            self._pdims = np.concatenate([self._pdims, np.zeros_like(self._pdims)])
            self._pname_arr = np.concatenate([self._pname_arr, np.empty_like(self._pname_arr)])
        self._pdims[i] = (person.getLength(pid), person.getWidth(pid))
        self._pname_arr[i] = pid

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
        signals = table[:, 4].astype(np.int64)
        forced = self._forced[idx]
        signals = np.where(forced >= 0, forced, signals)
        return VehicleStates(
            t_ns=t_ns,
            names=self._name_arr[idx],
            index=idx,
            x=xy[:, 0], y=xy[:, 1],
            speed=table[:, 0], accel=table[:, 1], heading_deg=table[:, 2] % 360.0,
            lane=lane, lane_pos=table[:, 3],
            brake=(signals & _BRAKE_BIT) != 0,
            length=dims[:, 0], width=dims[:, 1], height=dims[:, 2],
            classification=self._class[idx], signals=signals,
            vehicle_events=self._vevents[idx],
        )

    def persons(self) -> PersonStates:
        """The persons present after the last step, in person index order."""
        if self._persons is not None:
            return self._persons
        res = self._pres
        vals = list(res.values())
        n = len(vals)
        if not n:
            self._persons = PersonStates.empty(self._t_ns)
            return self._persons
        idx = np.fromiter(map(self._pindex.__getitem__, res), dtype=np.int64, count=n)
        xy = np.fromiter(chain.from_iterable(map(_POSITION, vals)), np.float64,
                         count=2 * n).reshape(n, 2)
        table = np.fromiter(chain.from_iterable(map(_P_SCALARS, vals)), np.float64,
                            count=2 * n).reshape(n, 2)
        edge = np.array(list(map(_ROAD, vals)), dtype=object)
        if n > 1 and not bool(np.all(idx[1:] > idx[:-1])):
            order = np.argsort(idx, kind="stable")
            idx, xy, table, edge = idx[order], xy[order], table[order], edge[order]
        dims = self._pdims[idx]
        self._persons = PersonStates(
            t_ns=self._t_ns, names=self._pname_arr[idx], index=idx, x=xy[:, 0], y=xy[:, 1],
            speed=table[:, 0], heading_deg=table[:, 1] % 360.0, length=dims[:, 0],
            width=dims[:, 1], edge=edge)
        return self._persons

    # -- queries --------------------------------------------------------------------------
    def collisions(self) -> list[Collision]:
        """Collisions reported by SUMO in the last step."""
        return list(self._collisions)

    def teleports(self) -> list[Teleport]:
        """Teleports SUMO started or ended in the last step (starts first)."""
        return list(self._teleports)

    def vehicle_names(self) -> list[str]:
        """Every vehicle id seen so far; position = vehicle index."""
        return list(self._names)

    def signal_crossings(self) -> list[SignalCrossing]:
        """Stop lines of signalized links crossed in the last step (every state: the ground
        truth decides what is a violation), in vehicle index order."""
        return list(self._crossings)

    def lane_speed_limits(self) -> dict[str, float]:
        """Every lane's ``maxSpeed`` [m/s] (internal lanes included), read once."""
        if self._limits is None:
            lane = self.conn.lane
            self._limits = {lid: float(lane.getMaxSpeed(lid)) for lid in lane.getIDList()}
        return dict(self._limits)

    def _signal_crossings(self, st: VehicleStates) -> list[SignalCrossing]:
        """Vehicles whose lane changed in the step from a signalized link's incoming lane to
        its way through the junction (or its outgoing lane), with the link's state now. One
        object comparison per vehicle; TraCI calls only for the few crossings."""
        prev = self._prev_lane[st.index]
        moved = np.flatnonzero(prev != st.lane)
        self._prev_lane[st.index] = st.lane
        out = []
        for i in moved.tolist():
            hit = self._tls_links.get((prev[i], st.lane[i]))
            if hit is not None:
                tls, link = hit
                state = self.conn.trafficlight.getRedYellowGreenState(tls)[link]
                out.append(SignalCrossing(str(st.names[i]), tls, link, state))
        return out

    def person_names(self) -> list[str]:
        """Every person id seen so far; position = person index."""
        return list(self._pnames)

    @property
    def n_persons_seen(self) -> int:
        """How many persons have appeared so far."""
        return len(self._pnames)

    # -- actions and events ---------------------------------------------------------------
    def apply(self, actions: Sequence[Action]) -> list[str]:
        """Queue ``actions``; each takes effect right after the step with ``t_ns >= at_ns``
        (at once when that is the last step returned). Returns the targets of the actions
        that took effect in this call and were not in the simulation (later ones:
        :meth:`skipped`).

        Raises:
            ConfigError: a malformed action.
            SumoError: an action was due after an earlier step than the last one ("closed
                loop ran ahead"), or SUMO refused it.
        """
        return self._script.apply(actions)

    def skipped(self) -> list[str]:
        """Targets of every action so far that was not in the simulation when due."""
        return list(self._script.skipped)

    def fired(self) -> list[tuple[int, str]]:
        """(t_ns, event name) of the events fired since the last call."""
        return self._script.fired()

    def fired_actions(self) -> list[Action]:
        """The ``rsi_*`` actions of the events fired since the last call (``at_ns`` set)."""
        return self._script.fired_actions()

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Brake vehicle ``name`` to a standstill at ``decel`` [m/s²] now and hold ``hold_s``
        [s] (a ``stop_in_lane`` action applied at once). Returns False when the vehicle is
        not in the simulation."""
        return self._act(Action(self._t_ns, name, "stop_in_lane", decel=decel, hold_s=hold_s))

    def _act(self, a: Action) -> bool:
        """Apply one action now; False when its target is not in the simulation.

        ``brake`` / ``stop_in_lane``: ``vehicle.slowDown`` (linear speed reduction over
        ``(v - speed) / decel`` seconds, speed mode 0 so that SUMO neither limits nor
        overrides the deceleration), then ``setSpeed(speed)`` until ``release``
        (``stop_in_lane``: after ``hold_s``).
        """
        conn = self.conn
        name = a.target
        try:
            if a.kind == "cross":
                if name not in conn.person.getIDList():
                    return False
                if conn.person.getStage(name, 0).type == STAGE_WAITING:
                    conn.person.removeStage(name, 0)  # ends the wait: its walk begins
                return True
            veh = conn.vehicle
            if name not in veh.getIDList():
                return False
            t = conn.simulation.getTime()
            if a.kind == "signal":  # SUMO applies setSignals for one step: see _force_signals
                self._forced[self._index[name]] = a.bits
                self._forced_names[name] = a.bits
                veh.setSignals(name, a.bits)
                return True
            if a.kind == "vehicle_event":
                self._vevents[self._index[name]] = a.bits
                return True
            if a.kind != "change_lane":  # a new speed order replaces the pending phases
                self._holds = [h for h in self._holds if h[2] != name]
            if a.kind in ("brake", "stop_in_lane"):
                v = veh.getSpeed(name)
                target = 0.0 if a.kind == "stop_in_lane" else min(a.speed, v)
                brake_s = max((v - target) / a.decel, 0.0)
                veh.setSpeedMode(name, SPEED_MODE_SCRIPT)  # the brake is the script
                veh.slowDown(name, target, brake_s)
                self._holds.append((t + brake_s, "hold", name, target))
                if a.kind == "stop_in_lane" and math.isfinite(a.hold_s):
                    self._holds.append((t + brake_s + a.hold_s, "release", name, -1.0))
            elif a.kind == "set_speed":
                if math.isfinite(a.decel):
                    self._decel.setdefault(name, veh.getDecel(name))
                    veh.setDecel(name, a.decel)
                veh.setSpeedMode(name, SPEED_MODE_DEFAULT)
                veh.setSpeed(name, a.speed)
            elif a.kind == "change_lane":
                lanes = conn.edge.getLaneNumber(veh.getRoadID(name))
                if a.lane >= lanes:
                    raise SumoError(f"change_lane of {name!r}: lane index {a.lane} on an edge "
                                    f"of {lanes} lanes")
                veh.changeLane(name, a.lane, a.hold_s if math.isfinite(a.hold_s)
                               else _LANE_HOLD_S)
            elif a.kind == "release":
                self._release(name)
            else:  # pragma: no cover - check_action lets no other kind through
                raise SumoError(f"action kind {a.kind!r} is not for SUMO")
        except SumoError:
            raise
        except Exception as exc:
            raise SumoError(f"SUMO refused action {a.kind!r} on {name!r}: {exc}") from exc
        return True

    def _force_signals(self) -> None:
        """Set the scripted signals again after every step: SUMO's ``setSignals`` holds for
        one step only, then SUMO's own blinker and brake-light logic takes over again
        (measured with SUMO 1.2x). The states report the scripted value."""
        veh = self.conn.vehicle
        alive = set(veh.getIDList())
        for name, bits in self._forced_names.items():
            if name in alive:
                veh.setSignals(name, bits)

    def _release(self, name: str) -> None:
        veh = self.conn.vehicle
        veh.setSpeed(name, -1.0)
        veh.setSpeedMode(name, SPEED_MODE_DEFAULT)
        if name in self._decel:
            veh.setDecel(name, self._decel.pop(name))

    def _apply_holds(self, t: float) -> None:
        due = [h for h in self._holds if h[0] <= t + 1e-9]
        self._holds = [h for h in self._holds if h[0] > t + 1e-9]
        alive = set(self.conn.vehicle.getIDList())
        for _, what, name, speed in due:
            if name not in alive:
                continue
            if what == "hold":
                self.conn.vehicle.setSpeed(name, speed)
            else:
                self._release(name)

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
