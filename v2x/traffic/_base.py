"""The traffic backend interface and the per-step vehicle and person state columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from v2x.traffic._actions import Action

__all__ = ["Collision", "PersonStates", "SignalCrossing", "Teleport", "TrafficBackend",
           "VehicleStates"]


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
        signals: (n,) int64 — SUMO signal bits (``vehicle.getSignals()``: blinker right 0,
            left 1, hazard 2, brake 3, ... blue light 11; :class:`v2x.messages.SumoSignal`);
            zeros when not given.
        vehicle_events: (n,) int64 — VehicleEventFlags bits a script set on the vehicle
            (action ``vehicle_event``: ABSactivated 2, tractionControlLoss 3, ...); zeros when
            not given.
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
    signals: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    vehicle_events: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def __post_init__(self) -> None:
        n = int(self.index.shape[0])
        for name in ("signals", "vehicle_events"):
            if getattr(self, name).shape[0] != n:
                object.__setattr__(self, name, np.zeros(n, np.int64))

    @property
    def n(self) -> int:
        """Number of vehicles present."""
        return int(self.index.shape[0])


@dataclass(frozen=True)
class PersonStates:
    """State of the persons (pedestrians) present at one step, as numpy columns of length n,
    in person index order.

    Positions are SUMO's person positions in network coordinates.

    Attributes:
        t_ns: simulated time of the step [ns].
        names: (n,) object — SUMO person ids.
        index: (n,) int64 — run-stable person index (order of first appearance; numbered apart
            from the vehicles).
        x, y: (n,) float64 [m] network coordinates.
        speed: (n,) float64 [m/s].
        heading_deg: (n,) float64 [deg] clockwise from north (SUMO angle).
        length, width: (n,) float64 [m].
        edge: (n,) object — SUMO edge id (``":..."`` for a junction's internal edge, e.g. a
            crossing or walking area).
    """

    t_ns: int
    names: np.ndarray
    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    speed: np.ndarray
    heading_deg: np.ndarray
    length: np.ndarray
    width: np.ndarray
    edge: np.ndarray

    @property
    def n(self) -> int:
        """Number of persons present."""
        return int(self.index.shape[0])

    @classmethod
    def empty(cls, t_ns: int = 0) -> PersonStates:
        """No persons at ``t_ns``."""
        f = np.empty(0, np.float64)
        o = np.empty(0, dtype=object)
        return cls(t_ns=t_ns, names=o, index=np.empty(0, np.int64), x=f, y=f, speed=f,
                   heading_deg=f, length=f, width=f, edge=o)


@dataclass(frozen=True)
class Collision:
    """A collision reported by the traffic simulation."""

    collider: str
    victim: str
    speed: float


@dataclass(frozen=True)
class Teleport:
    """A vehicle SUMO teleported in the last step (SUMO user documentation, "Teleporting": a
    vehicle stuck for ``--time-to-teleport`` seconds leaves the road and is put back further
    along its route, or arrives).

    ``phase`` is ``"start"`` (it left the road) or ``"end"`` (it is back on the road, at a new
    position and speed: its trajectory jumps). Both can happen in one step.
    """

    vehicle: str
    phase: str


@dataclass(frozen=True)
class SignalCrossing:
    """A vehicle that crossed the stop line of a signalized link in the last step: it was on
    the link's incoming lane at the step before and is now on the link's way through the
    junction (its internal lane(s)) or its outgoing lane.

    ``tls`` the traffic light, ``link`` its link index, ``state`` the link's state character
    after the step (SUMO's ``getRedYellowGreenState``: ``r`` red, ``y`` yellow, ``G``/``g``
    green, ``u`` red-yellow, ``s`` green right turn after stopping, ``o``/``O`` off)."""

    vehicle: str
    tls: str
    link: int
    state: str


class TrafficBackend(Protocol):
    """What the simulation loop needs from a traffic simulation.

    ``conn`` exposes the SUMO API modules (``trafficlight``, ``junction``, ``simulation``,
    ``vehicle``) for roadside units; the scripted fake has none.
    """

    conn: Any

    def step(self) -> VehicleStates:
        """Advance one step and return the state after it."""
        ...

    def persons(self) -> PersonStates:
        """Persons present after the last ``step()`` (empty before the first)."""
        ...

    def apply(self, actions: Sequence[Action]) -> list[str]:
        """Queue ``actions``: each takes effect right after the step whose ``t_ns >= at_ns``
        has been returned (at once when that is the last step returned). Returns the targets
        of the actions that took effect during this call and were not in the simulation
        (skipped, never an exception; later skips: ``skipped()``).

        Raises:
            ConfigError: a malformed action.
            SumoError: an action should have taken effect after a step that is not the last
                one the backend has produced ("closed loop ran ahead").
        """
        ...

    def skipped(self) -> list[str]:
        """Targets of every action so far that was skipped (not in the simulation)."""
        ...

    def fired(self) -> list[tuple[int, str]]:
        """(t_ns, event name) of the triggered events fired since the last call."""
        ...

    def fired_actions(self) -> list[Action]:
        """The ``rsi_*`` actions of the events fired since the last call, ``at_ns`` set,
        for the loop to hand to the roadside."""
        ...

    def collisions(self) -> list[Collision]:
        """Collisions that happened in the last step."""
        ...

    def teleports(self) -> list[Teleport]:
        """Teleports that started or ended in the last step (starts first)."""
        ...

    def vehicle_names(self) -> list[str]:
        """Every vehicle name seen so far, position = vehicle index."""
        ...

    def signal_crossings(self) -> list[SignalCrossing]:
        """Stop lines of signalized links crossed in the last step, with the link's state."""
        ...

    def lane_speed_limits(self) -> dict[str, float]:
        """Every lane's maximum speed [m/s] (SUMO's lane ``maxSpeed``), by lane id."""
        ...

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Make vehicle ``name`` brake to a standstill at ``decel`` [m/s²] and hold ``hold_s``
        [s]; False if the vehicle is not in the simulation."""
        ...

    def close(self) -> None:
        """Stop the simulation."""
        ...
