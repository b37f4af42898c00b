"""What the traffic side and the roadside hand to the loop: light types, importable without
the loop itself (the traffic process imports them, not numpy-heavy loop code)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

__all__ = ["Outgoing", "Roadside", "ScriptedStop"]


class Outgoing(NamedTuple):
    """A message an RSU transmits this step: type, msgCnt, bus payload, on-air size [bytes]
    and its UPER frame (``None`` when the payload is the UPER frame). A named tuple: it
    crosses from the traffic process every step, and tuples pickle cheaply."""

    msg_type: str
    msg_cnt: int
    payload: bytes
    size_bytes: int
    frame: bytes | None = None


class Roadside(Protocol):
    """What the loop needs of a roadside unit (implemented in :mod:`roadside`)."""

    name: str
    x: float
    y: float
    antenna_height_m: float

    def transmit(self, t_ns: int) -> Sequence[Outgoing]:
        """Messages due at ``t_ns`` (SPAT, MAP, ... at their periods)."""
        ...


@dataclass(frozen=True)
class ScriptedStop:
    """At ``at_ns`` vehicle ``vehicle`` brakes to a stop at ``decel`` [m/s²], holds ``hold_ns``."""

    at_ns: int
    vehicle: str
    decel: float
    hold_ns: int
