"""Triggered events: actions that fire when a condition on the traffic becomes true.

A scenario says e.g. "when the gap from host to lead is 30 m or less, the lead brakes at
6 m/s²". The traffic side (:class:`~v2x.traffic.SumoTraffic` in this process, or the same
inside the traffic process of :class:`~v2x.traffic.PipelinedTraffic`) evaluates every event on
every step's states, so an event fires at the same step whatever the pipelining; its actions
take effect right after that step (like an :class:`~v2x.traffic.Action` applied with ``at_ns``
= the step's time). Evaluation gathers the few named participants' rows by their run-stable
index (a binary search in the step's sorted ``index`` column), never one Python object per
vehicle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from v2x.criteria import OPS
from v2x.errors import ConfigError
from v2x.traffic._actions import APPLIED, EVENT, Action, ActionQueue, check_action
from v2x.traffic._base import PersonStates, VehicleStates

__all__ = ["TRIGGER_KINDS", "EventEngine", "Trigger", "TriggeredEvent"]

#: the trigger kinds
TRIGGER_KINDS = ("distance", "gap", "reach", "time", "ttc")
#: a condition compares a continuous measurement: the order comparisons of the criteria's
#: operators (:data:`v2x.criteria.OPS`), never equality
_OPS: dict[str, Callable[[float, float], bool]] = {op: OPS[op] for op in ("<", "<=", ">", ">=")}
_NAN = math.nan


class Trigger(NamedTuple):
    """When a :class:`TriggeredEvent` fires.

    Kinds:
        - ``time``: at the first step with ``t_ns >= at_ns``.
        - ``gap``: ``gap(a, b) op value`` [m]: the distance from a's front bumper to b's rear
          bumper along a's direction of travel: the projection of (b's front - a's front) on
          a's heading, less b's length (on a curve: the chord, a little shorter than along
          the lane). Undefined (never fires) while b's front is behind a's front (b not
          ahead).
        - ``distance``: straight-line distance between a's and b's positions (SUMO's: front
          bumper centre of a vehicle) ``op value`` [m].
        - ``ttc``: time to collision ``gap / closing speed`` [s], closing speed = ``v_a - v_b
          cos(heading_b - heading_a)``; infinite when not closing; undefined when the gap is.
        - ``reach``: participant ``a`` is within ``radius_m`` of (``x``, ``y``) [m, network
          coordinates], or (``lane_pos`` given) a vehicle's position on its lane is
          ``>= lane_pos`` [m] (on lane ``lane`` only, when given).

    A condition is false while a participant it names is not in the simulation.

    Attributes:
        kind: one of :data:`TRIGGER_KINDS`.
        at_ns: ``time``: when [ns].
        a, b: participant names (SUMO vehicle or person ids).
        op: ``<``, ``<=``, ``>`` or ``>=``.
        value: threshold [m] (gap, distance) or [s] (ttc).
        x, y, radius_m: ``reach`` by position [m].
        lane_pos: ``reach`` by position on the lane [m].
        lane: ``reach`` by ``lane_pos``: only on this SUMO lane ("" = its current lane).
    """

    kind: str
    at_ns: int = -1
    a: str = ""
    b: str = ""
    op: str = "<="
    value: float = _NAN
    x: float = _NAN
    y: float = _NAN
    radius_m: float = _NAN
    lane_pos: float = _NAN
    lane: str = ""


class TriggeredEvent(NamedTuple):
    """A named event: when ``trigger`` becomes true, ``actions`` take effect.

    Attributes:
        name: unique name (recorded when it fires).
        trigger: the condition.
        actions: what to do; each one's ``at_ns`` is a delay [ns] after the firing step (0:
            right after it). ``rsi_*`` actions go to the loop (``fired_actions()``).
        once: fire at most once (default); otherwise fire each time the condition turns
            true again after having been false.
    """

    name: str
    trigger: Trigger
    actions: tuple[Action, ...] = ()
    once: bool = True


def _check(ev: TriggeredEvent) -> None:
    tr = ev.trigger
    where = f"events.{ev.name}.trigger"

    def need(ok: bool, key: str, why: str) -> None:
        if not ok:
            raise ConfigError(f"{tr.kind} trigger {why}", key=f"{where}.{key}",
                              value=getattr(tr, key))

    if not ev.name:
        raise ConfigError("an event needs a name", key="events.name", value=ev.name)
    need(tr.kind in TRIGGER_KINDS, "kind", f"kind must be one of {TRIGGER_KINDS}")
    if tr.kind == "time":
        need(tr.at_ns >= 0, "at_ns", "needs at_ns >= 0")
    else:
        need(bool(tr.a), "a", "needs participant a")
    if tr.kind in ("gap", "distance", "ttc"):
        need(bool(tr.b), "b", "needs participant b")
        need(tr.op in _OPS, "op", f"op must be one of {tuple(_OPS)}")
        need(math.isfinite(tr.value), "value", "needs a finite value")
    if tr.kind == "reach":
        by_xy = math.isfinite(tr.x) and math.isfinite(tr.y) and math.isfinite(tr.radius_m)
        need(by_xy or math.isfinite(tr.lane_pos), "lane_pos",
             "needs x, y and radius_m, or lane_pos")
    for a in ev.actions:
        check_action(a)
        if a.at_ns < 0:
            raise ConfigError("an event's action delay must be >= 0",
                              key=f"events.{ev.name}.actions.at_ns", value=a.at_ns)


class EventEngine:
    """Evaluates :class:`TriggeredEvent` s on each step's states.

    Args:
        events: the events (names unique).

    Raises:
        ConfigError: a malformed event or trigger, or a repeated name.
    """

    def __init__(self, events: Sequence[TriggeredEvent]) -> None:
        names = [e.name for e in events]
        for ev in events:
            _check(ev)
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError("event names must be unique", key="events.name", value=dup[0])
        self.events = list(events)
        n = len(self.events)
        self._armed = [True] * n
        self._was = [False] * n
        parts = sorted({p for e in self.events for p in (e.trigger.a, e.trigger.b) if p})
        self._slot = {p: k for k, p in enumerate(parts)}
        self._parts = parts
        self._veh = np.full(len(parts), -1, np.int64)  # run-stable vehicle index, once seen
        self._per = np.full(len(parts), -1, np.int64)  # person index, once seen
        self._need_states = any(e.trigger.kind != "time" for e in self.events)

    def __len__(self) -> int:
        return len(self.events)

    def _gather(self, vs: VehicleStates, ps: PersonStates | None,
                vehicle_index: Mapping[str, int], person_index: Mapping[str, int]
                ) -> list[tuple[float, ...] | None]:
        """Per participant: (x, y, speed, heading_deg, length, lane_pos, lane) or None."""
        for k, p in enumerate(self._parts):  # a few dict look-ups until each one is seen
            if self._veh[k] < 0:
                self._veh[k] = vehicle_index.get(p, -1)
            if self._per[k] < 0 and ps is not None:
                self._per[k] = person_index.get(p, -1)
        out: list[tuple[float, ...] | None] = [None] * len(self._parts)
        for idx, st, is_veh in ((self._veh, vs, True), (self._per, ps, False)):
            if st is None or st.n == 0:
                continue
            known = np.flatnonzero(idx >= 0)
            if known.size == 0:
                continue
            rows = np.minimum(np.searchsorted(st.index, idx[known]), st.n - 1)
            hit = st.index[rows] == idx[known]
            for k, r in zip(known[hit].tolist(), rows[hit].tolist(), strict=True):
                if out[k] is not None:
                    continue
                if is_veh:
                    out[k] = (float(st.x[r]), float(st.y[r]), float(st.speed[r]),
                              float(st.heading_deg[r]), float(st.length[r]),
                              float(st.lane_pos[r]), st.lane[r])  # type: ignore[union-attr]
                else:
                    out[k] = (float(st.x[r]), float(st.y[r]), float(st.speed[r]),
                              float(st.heading_deg[r]), float(st.length[r]), _NAN,
                              st.edge[r])  # type: ignore[union-attr]
        return out

    def evaluate(self, vs: VehicleStates, ps: PersonStates | None,
                 vehicle_index: Mapping[str, int],
                 person_index: Mapping[str, int]) -> list[TriggeredEvent]:
        """The events that fire at this step (``vs.t_ns``), in definition order.

        Args:
            vs: the step's vehicles (``index`` ascending, as every backend gives them).
            ps: the step's persons (``index`` ascending), or None.
            vehicle_index, person_index: name -> run-stable index of every one seen so far.
        """
        if not self.events:
            return []
        got = self._gather(vs, ps, vehicle_index, person_index) if self._need_states else []
        t = vs.t_ns
        fired = []
        for i, ev in enumerate(self.events):
            if not self._armed[i]:
                continue
            cond = _condition(ev.trigger, t, got, self._slot)
            if cond and not self._was[i]:
                fired.append(ev)
                if ev.once:
                    self._armed[i] = False
            self._was[i] = cond
        return fired


def _condition(tr: Trigger, t_ns: int, got: list[tuple[float, ...] | None],
               slot: Mapping[str, int]) -> bool:
    if tr.kind == "time":
        return t_ns >= tr.at_ns
    a = got[slot[tr.a]]
    if a is None:
        return False
    if tr.kind == "reach":
        xa, ya, *_ = a
        if math.isfinite(tr.radius_m) and math.hypot(xa - tr.x, ya - tr.y) <= tr.radius_m:
            return True
        lp, lane = a[5], a[6]
        return bool(math.isfinite(tr.lane_pos) and lp >= tr.lane_pos
                    and (not tr.lane or lane == tr.lane))
    b = got[slot[tr.b]]
    if b is None:
        return False
    if tr.kind == "distance":
        metric = math.hypot(b[0] - a[0], b[1] - a[1])
    else:
        gap = _gap(a, b)
        if tr.kind == "gap":
            metric = gap
        else:
            closing = a[2] - b[2] * math.cos(math.radians(b[3] - a[3]))
            metric = (_NAN if math.isnan(gap) else math.inf if closing <= 0
                      else max(gap, 0.0) / closing)
    return bool(_OPS[tr.op](metric, tr.value))  # nan compares false


def _gap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """a's front bumper to b's rear bumper along a's heading [m]; nan when b is not ahead."""
    xa, ya, _, ha, *_ = a
    xb, yb, _, _, lb, *_ = b
    h = math.radians(ha)
    d = (xb - xa) * math.sin(h) + (yb - ya) * math.cos(h)
    return _NAN if d < 0 else d - lb


class Scripting:
    """What a backend needs to run actions and events (shared by :class:`SumoTraffic` and
    :class:`ScriptedTraffic`): the queue, the events, and the records of what fired and what
    was skipped.

    Args:
        events: the triggered events.
        act: applies one action now; False when its target is not in the simulation.
    """

    def __init__(self, events: Sequence[TriggeredEvent],
                 act: Callable[[Action], bool]) -> None:
        self.queue = ActionQueue()
        self.engine = EventEngine(events)
        self._act = act
        self._fired: list[tuple[int, str]] = []
        self._fired_actions: list[Action] = []
        self.skipped: list[str] = []

    def apply(self, actions: Sequence[Action]) -> list[str]:
        """Queue ``actions``, apply those due now; the skipped targets among those."""
        self.queue.add(actions, APPLIED)
        return self._run(self.queue.due())

    def after_step(self, vs: VehicleStates, ps: PersonStates | None,
                   vehicle_index: Mapping[str, int], person_index: Mapping[str, int]) -> None:
        """After a step: fire the events, apply what is due (events' actions first)."""
        t = vs.t_ns
        self.queue.stepped(t)
        if len(self.engine):
            for ev in self.engine.evaluate(vs, ps, vehicle_index, person_index):
                self._fired.append((t, ev.name))
                traffic = []
                for a in ev.actions:
                    a = a._replace(at_ns=t + a.at_ns)
                    if a.kind.startswith("rsi_"):
                        self._fired_actions.append(a)
                    else:
                        traffic.append(a)
                self.queue.add(traffic, EVENT)
        if len(self.queue):
            self._run(self.queue.due())

    def _run(self, due: list[Action]) -> list[str]:
        missed = [a.target for a in due if not self._act(a)]
        self.skipped.extend(missed)
        return missed

    def fired(self) -> list[tuple[int, str]]:
        """(t_ns, name) of the events fired since the last call."""
        out, self._fired = self._fired, []
        return out

    def fired_actions(self) -> list[Action]:
        """The ``rsi_*`` actions fired since the last call (``at_ns`` set)."""
        out, self._fired_actions = self._fired_actions, []
        return out
