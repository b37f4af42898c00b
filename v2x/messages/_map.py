"""MAP (map data) value classes, T/CSAE 53-2020 / YD/T 3709-2020, in SI units.

The codec converts these to the standard units (1e-7 degree, 1 cm, 0.02 m/s, position offsets
from the node's reference position); nothing here knows about bits.

Structure (STANDARDS.md section 1)::

    MapData {msgCnt, timeStamp?, nodes (1..63)}
      MapNode {id (NodeReferenceId), refPos, inLinks (1..32)}
        MapLink {upstreamNodeId, speedLimits?, linkWidth?, points?, movements?, lanes (1..32)}
          MapLane {laneID, laneWidth?, maneuvers?, connectsTo? (1..8 or 1..16), points?}
            Connection {remoteIntersection, connectingLane? {lane, maneuver?}, phaseId?}
          Movement {remoteIntersection, phaseId?}

Point lists (``MapLink.points``, ``MapLane.points``) are ordered **from upstream to downstream**
(the standard's ``PointList`` comment: "points need to be listed sequentially from upstream to
downstream"), so the last point of an incoming lane lies on its stop line.

``connectsTo`` is ``SIZE (1..8)`` in one family of public module sets and ``(1..16)`` in
another: the conformance profile (:data:`v2x.msgset.PROFILES`) picks the bound when a MAP is
encoded; a :class:`MapLane` holds up to the larger one.
"""

from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass

from v2x.errors import EncodeError
from v2x.msgset import PROFILES

__all__ = [
    "AllowedManeuvers",
    "ConnectingLane",
    "Connection",
    "MapData",
    "MapLane",
    "MapLink",
    "MapNode",
    "Movement",
    "NodeReferenceId",
    "Position3D",
    "SpeedLimit",
    "SpeedLimitType",
]


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not lo <= int(value) <= hi):
        raise EncodeError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


#: the most lane connections any conformance profile allows (ConnectsToList 1..16)
_CONNECTS_TO_MAX = max(p.connects_to_max for p in PROFILES.values())


def _check_size(name: str, items: tuple[object, ...], lo: int, hi: int) -> None:
    if not isinstance(items, tuple):
        raise EncodeError(f"{name} must be a tuple, got {type(items).__name__}")
    if not lo <= len(items) <= hi:
        raise EncodeError(f"{name} must hold {lo}..{hi} items, got {len(items)}")


def _check_nonneg(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0.0):
        raise EncodeError(f"{name} must be a finite value >= 0, got {value!r}")


class AllowedManeuvers(enum.IntFlag):
    """``AllowedManeuvers ::= BIT STRING (SIZE(12))``: flag ``1 << k`` is the standard's bit k.

    Bit numbers as in the public CSAE 53 / J2735 modules (read in ``zyjohn0822/asn1-uper-v2x``
    and the CSAE field notes): 0 straight, 1 left, 2 right, 3 U-turn, 4 left turn on red,
    5 right turn on red, 6 lane change, 7 no stopping, 8 yield always, 9 go with halt,
    10 caution, 11 reserved. ASN.1 bit 0 is the first (leftmost) bit on the wire; that
    ordering is the codec's business. 0 means unknown / no maneuver.
    """

    NONE = 0
    STRAIGHT = 1 << 0
    LEFT = 1 << 1
    RIGHT = 1 << 2
    U_TURN = 1 << 3
    LEFT_TURN_ON_RED = 1 << 4
    RIGHT_TURN_ON_RED = 1 << 5
    LANE_CHANGE = 1 << 6
    NO_STOPPING = 1 << 7
    YIELD_ALWAYS = 1 << 8
    GO_WITH_HALT = 1 << 9
    CAUTION = 1 << 10
    RESERVED = 1 << 11


class SpeedLimitType(enum.IntEnum):
    """``SpeedLimitType`` ENUMERATED (root values in standard order)."""

    UNKNOWN = 0
    MAX_SPEED_IN_SCHOOL_ZONE = 1
    MAX_SPEED_IN_SCHOOL_ZONE_WHEN_CHILDREN_ARE_PRESENT = 2
    MAX_SPEED_IN_CONSTRUCTION_ZONE = 3
    VEHICLE_MIN_SPEED = 4
    VEHICLE_MAX_SPEED = 5
    VEHICLE_NIGHT_MAX_SPEED = 6
    TRUCK_MIN_SPEED = 7
    TRUCK_MAX_SPEED = 8
    TRUCK_NIGHT_MAX_SPEED = 9
    VEHICLES_WITH_TRAILERS_MIN_SPEED = 10
    VEHICLES_WITH_TRAILERS_MAX_SPEED = 11
    VEHICLES_WITH_TRAILERS_NIGHT_MAX_SPEED = 12


@dataclass(frozen=True)
class NodeReferenceId:
    """``NodeReferenceID {region?, id}``: a node (intersection) id, unique within its region.

    Args:
        id: NodeID 0..65535 (0..255 are reserved for testing by the standard).
        region: RoadRegulatorID 0..65535 or ``None`` (absent).

    Raises EncodeError when a value is out of range.
    """

    id: int
    region: int | None = None

    def __post_init__(self) -> None:
        _check_int("NodeReferenceId.id", self.id, 0, 65535)
        if self.region is not None:
            _check_int("NodeReferenceId.region", self.region, 0, 65535)


@dataclass(frozen=True)
class Position3D:
    """A WGS84 position: ``lat_deg``, ``lon_deg`` [degree], ``elevation_m`` [m] or ``None``
    (unknown).

    Raises EncodeError when latitude is outside [-90, 90] or longitude outside [-180, 180].
    """

    lat_deg: float
    lon_deg: float
    elevation_m: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat_deg) and -90.0 <= self.lat_deg <= 90.0):
            raise EncodeError(f"Position3D.lat_deg out of range: {self.lat_deg!r}")
        if not (math.isfinite(self.lon_deg) and -180.0 <= self.lon_deg <= 180.0):
            raise EncodeError(f"Position3D.lon_deg out of range: {self.lon_deg!r}")
        if self.elevation_m is not None and not math.isfinite(self.elevation_m):
            raise EncodeError(f"Position3D.elevation_m not finite: {self.elevation_m!r}")


@dataclass(frozen=True)
class SpeedLimit:
    """``RegulatorySpeedLimit {type, speed}``: ``speed_mps`` [m/s] >= 0."""

    type: SpeedLimitType
    speed_mps: float

    def __post_init__(self) -> None:
        _check_nonneg("SpeedLimit.speed_mps", self.speed_mps)


@dataclass(frozen=True)
class ConnectingLane:
    """``ConnectingLane {lane, maneuver?}``: the downstream lane (LaneID 0..255 on its link)
    and the maneuver from the enclosing lane to it."""

    lane: int
    maneuver: AllowedManeuvers | None = None

    def __post_init__(self) -> None:
        _check_int("ConnectingLane.lane", self.lane, 0, 255)


@dataclass(frozen=True)
class Connection:
    """``Connection {remoteIntersection, connectingLane?, phaseId?}``.

    ``remote_intersection`` is the downstream node the lane leads to; ``phase_id`` (1..255,
    ``None`` when un-signalized) is the SPAT phase that governs this movement.
    """

    remote_intersection: NodeReferenceId
    connecting_lane: ConnectingLane | None = None
    phase_id: int | None = None

    def __post_init__(self) -> None:
        if self.phase_id is not None:
            _check_int("Connection.phase_id", self.phase_id, 0, 255)


@dataclass(frozen=True)
class Movement:
    """``Movement {remoteIntersection, phaseId?}``: a link-level movement to a downstream node
    and the SPAT phase (1..255, ``None`` when un-signalized) that governs it."""

    remote_intersection: NodeReferenceId
    phase_id: int | None = None

    def __post_init__(self) -> None:
        if self.phase_id is not None:
            _check_int("Movement.phase_id", self.phase_id, 0, 255)


@dataclass(frozen=True)
class MapLane:
    """``Lane`` of a link.

    Args:
        lane_id: LaneID 1..255, unique on its link (0 = unknown).
        lane_width_m: [m] or ``None``.
        maneuvers: allowed maneuvers at the stop line, or ``None`` (absent).
        connects_to: 0..16 connections (empty = absent); the encoding profile may allow
            fewer (``connects-8``: 8).
        points: 0 or 2..31 positions along the lane centre, upstream to downstream
            (the last point on the stop line); empty = absent.

    Raises EncodeError when a value or a list size is out of range.
    """

    lane_id: int
    lane_width_m: float | None = None
    maneuvers: AllowedManeuvers | None = None
    connects_to: tuple[Connection, ...] = ()
    points: tuple[Position3D, ...] = ()

    def __post_init__(self) -> None:
        _check_int("MapLane.lane_id", self.lane_id, 0, 255)
        _check_nonneg("MapLane.lane_width_m", self.lane_width_m)
        _check_size("MapLane.connects_to", self.connects_to, 0, _CONNECTS_TO_MAX)
        _check_size("MapLane.points", self.points, 0, 31)
        if len(self.points) == 1:
            raise EncodeError("MapLane.points needs 0 or at least 2 points, got 1")


@dataclass(frozen=True)
class MapLink:
    """``Link``: a directed road section from ``upstream_node_id`` into the enclosing node.

    Args:
        upstream_node_id: the node this link comes from.
        lanes: 1..32 lanes.
        speed_limits: 0..9 limits (empty = absent).
        link_width_m: [m] or ``None``.
        points: 0 or 2..31 positions along the link centre, upstream to downstream.
        movements: 0..32 movements (empty = absent).
        name: DescriptiveName (1..63 characters) or ``None``.

    Raises EncodeError when a value or a list size is out of range.
    """

    upstream_node_id: NodeReferenceId
    lanes: tuple[MapLane, ...]
    speed_limits: tuple[SpeedLimit, ...] = ()
    link_width_m: float | None = None
    points: tuple[Position3D, ...] = ()
    movements: tuple[Movement, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        _check_size("MapLink.lanes", self.lanes, 1, 32)
        _check_size("MapLink.speed_limits", self.speed_limits, 0, 9)
        _check_nonneg("MapLink.link_width_m", self.link_width_m)
        _check_size("MapLink.points", self.points, 0, 31)
        if len(self.points) == 1:
            raise EncodeError("MapLink.points needs 0 or at least 2 points, got 1")
        _check_size("MapLink.movements", self.movements, 0, 32)
        if self.name is not None and not 1 <= len(self.name) <= 63:
            raise EncodeError(f"MapLink.name must have 1..63 characters, got {self.name!r}")


@dataclass(frozen=True)
class MapNode:
    """``Node {id, refPos, inLinks?}``: an intersection (or road end) and the links into it.

    ``ref_pos`` is the node centre, the reference for all offsets of its points.
    ``in_links`` holds 0..32 links (empty = absent).
    """

    id: NodeReferenceId
    ref_pos: Position3D
    in_links: tuple[MapLink, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        _check_size("MapNode.in_links", self.in_links, 0, 32)
        if self.name is not None and not 1 <= len(self.name) <= 63:
            raise EncodeError(f"MapNode.name must have 1..63 characters, got {self.name!r}")


@dataclass(frozen=True)
class MapData:
    """The MAP message: ``msg_cnt`` 0..127, 1..63 ``nodes``, optional ``timestamp_ns``
    (absolute UTC time [ns since the Unix epoch]; the codec derives MinuteOfTheYear from it).
    """

    msg_cnt: int
    nodes: tuple[MapNode, ...]
    timestamp_ns: int | None = None

    def __post_init__(self) -> None:
        _check_int("MapData.msg_cnt", self.msg_cnt, 0, 127)
        _check_size("MapData.nodes", self.nodes, 1, 63)
