"""SUMO as the traffic process of :class:`~v2x.traffic.PipelinedTraffic`: the vehicles and
persons, the state of the traffic lights the RSUs describe, actions and triggered events.

The traffic process does only what must sit next to SUMO: stepping, reading the vehicle states
and each listed traffic light's phase, program and next switch. The RSUs themselves (SPAT and
MAP building, UPER encoding) live in the loop's process and read those signal states through
:class:`roadside.SignalMirror`. So this process imports numpy and SUMO's Python packages only
(not the message set, pyproj or asn1tools: ~0.15 s less start-up) and spends its time on SUMO.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from v2x.errors import SumoError
from v2x.sim._types import ScriptedStop
from v2x.traffic._actions import Action
from v2x.traffic._events import TriggeredEvent
from v2x.traffic._pipelined import SideStep
from v2x.traffic._sumo import SumoTraffic

__all__ = ["Logic", "Phase", "SignalState", "SumoTrafficSide"]

#: one traffic light now: (phase index, program id, next switch [s, simulation time])
SignalState = tuple[int, str, float]


class Phase(NamedTuple):
    """A phase of a traffic-light program, as libsumo / TraCI report it (the fields
    :class:`roadside.SignalPlan` reads, and the rest)."""

    duration: float
    state: str
    minDur: float  # noqa: N815 - SUMO's field names
    maxDur: float  # noqa: N815
    next: tuple[int, ...]
    name: str


class Logic(NamedTuple):
    """A traffic-light program as libsumo / TraCI report it (``getAllProgramLogics``), in a
    form that pickles (libsumo's are SWIG objects) without importing TraCI."""

    programID: str  # noqa: N815 - SUMO's field names
    type: int
    currentPhaseIndex: int  # noqa: N815
    phases: tuple[Phase, ...]


def _plain_logic(logic: Any) -> Logic:
    return Logic(str(logic.programID), int(logic.type), int(logic.currentPhaseIndex),
                 tuple(Phase(float(p.duration), str(p.state), float(p.minDur), float(p.maxDur),
                             tuple(p.next), str(p.name)) for p in logic.phases))


class SumoTrafficSide:
    """The traffic side in the child process (picklable until called).

    Args:
        cmd: the SUMO command line (:func:`v2x.traffic.sumo_command`).
        classification: vehicle type id -> T/CSAE 53 vehicle classification.
        tls_ids: traffic lights whose signal state every step carries (the RSUs' junctions).
        stops: scripted stops (``stop_in_lane`` actions queued before the first step).
        events: triggered events, evaluated on every step in this process.

    ``info()`` is ``{"logics": {tls: [Logic, ...]}, "signals": (SignalState, ...),
    "lane_limits": {lane: maxSpeed [m/s]}}``: every program of each light and their state
    before the first step, and every lane's speed limit; each step's ``side`` is
    ``{"signals": (SignalState, ...) in tls_ids order, "t_s": SUMO time [s], "skipped": targets
    of every action so far (scripted stops included) that was not in the simulation}``. The
    step also carries the persons, the events fired and their ``rsi_*`` actions.
    """

    def __init__(self, *, cmd: list[str], classification: dict[str, int],
                 tls_ids: list[str], stops: tuple[ScriptedStop, ...] = (),
                 events: Sequence[TriggeredEvent] = ()) -> None:
        self.cmd, self.classification = cmd, classification
        self.tls_ids = list(tls_ids)
        self.stops = sorted(stops, key=lambda s: s.at_ns)
        self.events = tuple(events)
        self.traffic: SumoTraffic | None = None
        self._known = 0
        self._known_persons = 0
        self._skipped: tuple[str, ...] = ()

    def __call__(self) -> SumoTrafficSide:
        self.traffic = SumoTraffic(self.cmd, classification=self.classification,
                                   events=self.events)
        self.traffic.apply([Action(s.at_ns, s.vehicle, "stop_in_lane", decel=s.decel,
                                   hold_s=s.hold_ns / 1e9) for s in self.stops])
        return self

    def _signals(self) -> tuple[SignalState, ...]:
        assert self.traffic is not None
        tl = self.traffic.conn.trafficlight
        return tuple((tl.getPhase(t), tl.getProgram(t), tl.getNextSwitch(t))
                     for t in self.tls_ids)

    def info(self) -> dict[str, Any]:
        if self.traffic is None:
            raise SumoError("the traffic side was not opened")
        tl = self.traffic.conn.trafficlight
        return {"logics": {t: [_plain_logic(lg) for lg in tl.getAllProgramLogics(t)]
                           for t in self.tls_ids},
                "signals": self._signals(), "lane_limits": self.traffic.lane_speed_limits()}

    def apply(self, actions: Sequence[Action]) -> list[str]:
        """Queue actions sent by the parent (:meth:`SumoTraffic.apply`)."""
        if self.traffic is None:
            raise SumoError("the traffic side was not opened")
        return self.traffic.apply(actions)

    def step(self) -> SideStep:
        traffic = self.traffic
        if traffic is None:
            raise SumoError("the traffic side was not opened")
        st = traffic.step()
        names = traffic.vehicle_names()
        new = tuple(names[self._known:])
        self._known = len(names)
        persons = None
        if traffic.n_persons_seen:
            persons = traffic.persons()
            pnames = traffic.person_names()
            new_persons = tuple(pnames[self._known_persons:])
            self._known_persons = len(pnames)
        else:
            new_persons = ()
        skipped = traffic.skipped()
        fresh = tuple(skipped[len(self._skipped):])
        if fresh:
            self._skipped = tuple(skipped)
        return SideStep(states=st, collisions=tuple(traffic.collisions()), new_names=new,
                        side={"signals": self._signals(), "t_s": st.t_ns / 1e9,
                              "skipped": self._skipped},
                        persons=persons, new_persons=new_persons,
                        fired=tuple(traffic.fired()), fired_actions=tuple(traffic.fired_actions()),
                        skipped=fresh, teleports=tuple(traffic.teleports()),
                        crossings=tuple(traffic.signal_crossings()))

    def close(self) -> None:
        if self.traffic is not None:
            self.traffic.close()
