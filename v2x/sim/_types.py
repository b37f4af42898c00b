"""What the traffic side and the roadside hand to the loop: light types, importable without
the loop itself (the traffic process imports them, not numpy-heavy loop code)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple, Protocol, cast

import numpy as np

from v2x.errors import ConfigError
from v2x.nodes import PERSON_NODE_BASE  # defined there: the analysis reads it too

__all__ = ["PERSON_NODE_BASE", "Outgoing", "RoadUsers", "Roadside", "ScriptedStop"]



class Outgoing(NamedTuple):
    """A message an RSU transmits this step: type, msgCnt, bus payload, on-air size [bytes]
    and its UPER frame (``None`` when the payload is the UPER frame). A named tuple: it
    crosses from the traffic process every step, and tuples pickle cheaply."""

    msg_type: str
    msg_cnt: int
    payload: bytes
    size_bytes: int
    frame: bytes | None = None


_USER_DTYPES: dict[str, type] = {
    "node": np.int64, "ptc_type": np.int8, "x": np.float64, "y": np.float64,
    "speed": np.float64, "heading_deg": np.float64, "accel": np.float64,
    "length": np.float64, "width": np.float64, "classification": np.int16, "equipped": np.bool_,
}


@dataclass(frozen=True)
class RoadUsers:
    """What roadside sensors can see at one step: vehicles and persons, as (n,) columns.

    Attributes:
        node: (n,) int64 -- vehicles: the run-stable vehicle index; persons:
            :data:`PERSON_NODE_BASE` + the run-stable person index.
        ptc_type: (n,) int8 -- T/CSAE 53 ParticipantType: 1 motor, 2 non-motor, 3 pedestrian.
        x, y: (n,) float64 [m] network coordinates of the point the RSU reports (the builder
            of the columns chooses it; the vehicle centre is the natural one).
        speed: (n,) float64 [m/s]. heading_deg: (n,) float64 [deg] clockwise from north.
        accel: (n,) float64 [m/s²] longitudinal (NaN = unknown).
        length, width: (n,) float64 [m].
        classification: (n,) int16 -- BasicVehicleClass (J2735 values, 82 pedestrian; -1 =
            unknown).
        equipped: (n,) bool -- the user broadcasts its own V2X messages (an OBU).

    Raises ConfigError when the columns do not all have the same length.
    """

    node: np.ndarray
    ptc_type: np.ndarray
    x: np.ndarray
    y: np.ndarray
    speed: np.ndarray
    heading_deg: np.ndarray
    accel: np.ndarray
    length: np.ndarray
    width: np.ndarray
    classification: np.ndarray
    equipped: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.node)
        for f in fields(self):
            if len(getattr(self, f.name)) != n:
                raise ConfigError(f"RoadUsers.{f.name} has {len(getattr(self, f.name))} rows, "
                                  f"node has {n}", key=f"RoadUsers.{f.name}")

    @property
    def n(self) -> int:
        """Number of road users."""
        return len(self.node)

    @classmethod
    def empty(cls) -> RoadUsers:
        """No road user (zero-length columns of the documented dtypes)."""
        return cls(**{k: np.empty(0, dt) for k, dt in _USER_DTYPES.items()})


class Roadside(Protocol):
    """What the loop needs of a roadside unit (implemented in :mod:`roadside`)."""

    name: str
    x: float
    y: float
    antenna_height_m: float

    def transmit(self, t_ns: int, users: RoadUsers, /) -> Sequence[Outgoing]:
        """Messages due at ``t_ns`` [ns] (SPAT, MAP, RSI, RSM ... at their periods);
        ``users`` are the road users present at ``t_ns`` (what the RSM perceives; SPAT, MAP
        and RSI ignore them)."""
        ...


class QueuingRoadside(Protocol):
    """A roadside unit whose messages of a window are encoded together
    (:meth:`roadside.RoadsideUnit.queue` / ``drain``); any :class:`Roadside` becomes one
    through :func:`queuing`."""

    def queue(self, t_ns: int, users: RoadUsers, /) -> int:
        """Take the decisions and draws of step ``t_ns`` [ns] now (call once per step, in
        order; ``users`` unchanged until :meth:`drain`); returns how many messages it sends
        at that step."""
        ...

    def drain(self) -> list[list[Outgoing]]:
        """The messages of every step queued since the last drain, one list per step."""
        ...


class _SendsNow:
    """A :class:`Roadside` without ``queue`` / ``drain``: ``transmit`` at every step."""

    __slots__ = ("_unit", "_steps")

    def __init__(self, unit: Roadside) -> None:
        self._unit = unit
        self._steps: list[list[Outgoing]] = []

    def queue(self, t_ns: int, users: RoadUsers, /) -> int:
        msgs = list(self._unit.transmit(t_ns, users))
        self._steps.append(msgs)
        return len(msgs)

    def drain(self) -> list[list[Outgoing]]:
        steps, self._steps = self._steps, []
        return steps


def queuing(unit: Roadside) -> QueuingRoadside:
    """``unit`` itself when it has ``queue`` and ``drain``, else ``unit`` sending at every
    step through its ``transmit``."""
    if callable(getattr(unit, "queue", None)) and callable(getattr(unit, "drain", None)):
        return cast(QueuingRoadside, unit)
    return _SendsNow(unit)


@dataclass(frozen=True)
class ScriptedStop:
    """At ``at_ns`` vehicle ``vehicle`` brakes to a stop at ``decel`` [m/s²], holds ``hold_ns``."""

    at_ns: int
    vehicle: str
    decel: float
    hold_ns: int
