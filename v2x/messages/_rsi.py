"""RSI (road side information, 2020 form) value classes, T/CSAE 53-2020, in SI units.

Structure (STANDARDS.md section 1)::

    Rsi {msgCnt, moy?, id (8 octets), refPos, rtes (1..8)?, rtss (1..16)?}
      RoadTrafficEvent {rteId, eventType (GB/T 29100), eventSource, eventPos?, eventRadius?,
                        description?, timeDetails?, priority?, referencePaths?,
                        referenceLinks?, eventConfidence?}
      RoadTrafficSign {rtsId, signType (GB 5768.2), signPos?, description?, timeDetails?,
                       priority?, referencePaths?, referenceLinks?}

Positions are absolute here; the codec sends them as offsets from ``ref_pos``. Times are UTC
[ns since the Unix epoch] on the wire's minute grid (MinuteOfTheYear).
"""

from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass

from v2x.errors import EncodeError
from v2x.messages._map import NodeReferenceId, Position3D

__all__ = ["EventSource", "ReferenceLink", "ReferencePath", "RoadTrafficEvent",
           "RoadTrafficSign", "Rsi"]


def _check_int(name: str, value: object, lo: int, hi: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not lo <= int(value) <= hi):
        raise EncodeError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


def _check_size(name: str, items: object, lo: int, hi: int) -> None:
    if not isinstance(items, tuple) or not lo <= len(items) <= hi:
        raise EncodeError(f"{name} must be a tuple of {lo}..{hi} items, got {items!r}")


def _check_text(name: str, text: str | None) -> None:
    if text is not None and not (isinstance(text, str) and 1 <= len(text) <= 512):
        raise EncodeError(f"{name} must be a text of 1..512 characters, got {text!r}")


class EventSource(enum.IntEnum):
    """``EventSource`` ENUMERATED."""

    UNKNOWN = 0
    POLICE = 1
    GOVERNMENT = 2
    METEOROLOGICAL = 3
    INTERNET = 4
    DETECTION = 5


@dataclass(frozen=True)
class ReferencePath:
    """``ReferencePath {activePath (2..32 points), pathRadius}``: ``radius_m`` [m] 0..6553.5."""

    points: tuple[Position3D, ...]
    radius_m: float

    def __post_init__(self) -> None:
        _check_size("ReferencePath.points", self.points, 2, 32)
        if not (math.isfinite(self.radius_m) and self.radius_m >= 0):
            raise EncodeError(f"ReferencePath.radius_m must be >= 0, got {self.radius_m!r}")


@dataclass(frozen=True)
class ReferenceLink:
    """``ReferenceLink {upstreamNodeId, downstreamNodeId, referenceLanes?}``; ``lanes`` is the
    ReferenceLanes bit string (flag ``1 << k`` = laneK, 16 bits) or ``None``."""

    upstream_node_id: NodeReferenceId
    downstream_node_id: NodeReferenceId
    lanes: int | None = None

    def __post_init__(self) -> None:
        _check_int("ReferenceLink.lanes", self.lanes, 0, 0xFFFF, optional=True)


@dataclass(frozen=True)
class _RsiItem:
    description: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    priority: int | None = None
    reference_paths: tuple[ReferencePath, ...] = ()
    reference_links: tuple[ReferenceLink, ...] = ()

    def _check_common(self, kind: str) -> None:
        _check_text(f"{kind}.description", self.description)
        _check_int(f"{kind}.priority", self.priority, 0, 7, optional=True)
        _check_size(f"{kind}.reference_paths", self.reference_paths, 0, 8)
        _check_size(f"{kind}.reference_links", self.reference_links, 0, 16)
        for name in ("start_ns", "end_ns"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
                raise EncodeError(f"{kind}.{name} must be UTC [ns] (int), got {v!r}")


@dataclass(frozen=True, kw_only=True)
class RoadTrafficEvent(_RsiItem):
    """``RTEData``: one road traffic event.

    Args:
        rte_id: 0..255. event_type: GB/T 29100 code 0..65535. source: EventSource.
        pos: event position (absolute) or ``None``. radius_m: [m] 0..6553.5 or ``None``.
        description: text (ASCII -> textString, otherwise GB2312) or ``None``.
        start_ns, end_ns: UTC [ns] (minute resolution) or ``None``.
        priority: 0..7 (higher is more urgent) or ``None``.
        reference_paths: 0..8; reference_links: 0..16 (empty = absent).
        confidence: Confidence 0..200 [0.5 %] or ``None``.
    """

    rte_id: int
    event_type: int
    source: EventSource = EventSource.UNKNOWN
    pos: Position3D | None = None
    radius_m: float | None = None
    confidence: int | None = None

    def __post_init__(self) -> None:
        _check_int("RoadTrafficEvent.rte_id", self.rte_id, 0, 255)
        _check_int("RoadTrafficEvent.event_type", self.event_type, 0, 65535)
        _check_int("RoadTrafficEvent.confidence", self.confidence, 0, 200, optional=True)
        if self.radius_m is not None and not (math.isfinite(self.radius_m)
                                              and self.radius_m >= 0):
            raise EncodeError(f"RoadTrafficEvent.radius_m must be >= 0, got {self.radius_m!r}")
        try:
            object.__setattr__(self, "source", EventSource(self.source))
        except ValueError as exc:
            raise EncodeError(f"RoadTrafficEvent.source must be 0..5, got {self.source!r}") from exc
        self._check_common("RoadTrafficEvent")


@dataclass(frozen=True, kw_only=True)
class RoadTrafficSign(_RsiItem):
    """``RTSData``: one road traffic sign. ``rts_id`` 0..255, ``sign_type`` GB 5768.2 code
    0..65535, ``pos`` absolute or ``None``; the rest as :class:`RoadTrafficEvent`."""

    rts_id: int
    sign_type: int
    pos: Position3D | None = None

    def __post_init__(self) -> None:
        _check_int("RoadTrafficSign.rts_id", self.rts_id, 0, 255)
        _check_int("RoadTrafficSign.sign_type", self.sign_type, 0, 65535)
        self._check_common("RoadTrafficSign")


@dataclass(frozen=True)
class Rsi:
    """The RSI message (2020 form): ``msg_cnt`` 0..127, RSU ``id`` (8 bytes), ``ref_pos``,
    0..8 ``events`` and 0..16 ``signs`` (empty = absent), ``timestamp_ns`` UTC [ns] (sent as
    MinuteOfTheYear) or ``None``. Raises EncodeError when a value is out of range."""

    msg_cnt: int
    id: bytes
    ref_pos: Position3D
    events: tuple[RoadTrafficEvent, ...] = ()
    signs: tuple[RoadTrafficSign, ...] = ()
    timestamp_ns: int | None = None

    def __post_init__(self) -> None:
        _check_int("Rsi.msg_cnt", self.msg_cnt, 0, 127)
        if not isinstance(self.id, bytes) or len(self.id) != 8:
            raise EncodeError(f"Rsi.id must be 8 bytes, got {self.id!r}")
        _check_size("Rsi.events", self.events, 0, 8)
        _check_size("Rsi.signs", self.signs, 0, 16)
