"""A corpus of valid frames and the mutations that fuzz the decoders with it.

Used by the suite's bounded fuzz test (``tests/v2x/messages/test_fuzz_codec.py``) and by
``benchmarks/fuzz_codec.py`` (a million inputs); a user can fuzz a decoder of their own with
it. Everything is drawn from a caller's :class:`random.Random`, so a seed gives the same
inputs on every machine.

* :func:`sample_messages`: valid messages of every MessageFrame alternative (BSM, MAP, SPAT,
  RSI, RSM and a Day-2 ``msgFrameExt``) with optional elements present or absent, list sizes
  from their lower bound up, every OffsetLL form, sentinels;
* :func:`mutate`: one of :data:`MUTATIONS` applied to a frame: bit flips, truncation,
  extension with random or zero bytes, byte insertion and deletion, a run of 0xFF (length
  determinants), a splice of two frames, random bytes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from v2x.messages._bsm_msg import (
    BrakeSystemStatus,
    Bsm,
    EmergencyExtensions,
    TransmissionState,
    VehicleEventFlags,
)
from v2x.messages._map import (
    AllowedManeuvers,
    ConnectingLane,
    Connection,
    MapData,
    MapLane,
    MapLink,
    MapNode,
    Movement,
    NodeReferenceId,
    Position3D,
    SpeedLimit,
    SpeedLimitType,
)
from v2x.messages._rsi import (
    EventSource,
    ReferenceLink,
    ReferencePath,
    RoadTrafficEvent,
    RoadTrafficSign,
    Rsi,
)
from v2x.messages._rsm import Participant, ParticipantType, Rsm, SourceType
from v2x.messages._spat import (
    IntersectionState,
    IntersectionStatus,
    LightState,
    Phase,
    PhaseState,
    Spat,
    TimeCountingDown,
)
from v2x.messages._uper import FrameExt, Message

__all__ = ["MUTATIONS", "mutate", "sample_messages"]

_S = 1_000_000_000
_DS = 100_000_000
#: 2024-06-01 12:00 UTC [ns]: timestamps are drawn within months of it
NOW_NS = 1_717_243_200 * _S
_NAN = math.nan
_T = TypeVar("_T")


def _opt(rng: random.Random, make: Callable[[], _T], p: float = 0.5) -> _T | None:
    """``make()`` with probability ``p``, else ``None``."""
    return make() if rng.random() < p else None


def _nan_or(rng: random.Random, value: float) -> float:
    return _NAN if rng.random() < 0.1 else value


def _node_id(rng: random.Random) -> NodeReferenceId:
    return NodeReferenceId(rng.randrange(65536), rng.randrange(65536) if rng.random() < 0.5
                           else None)


def _offset(rng: random.Random) -> int:
    """An offset [1e-7 deg] of one of the OffsetLL sizes, or beyond (position-LatLon)."""
    bits = rng.choice((11, 13, 15, 17, 21, 23, 25))
    return rng.randrange(-(1 << bits), 1 << bits)


def _bsm(rng: random.Random) -> Bsm:
    return Bsm(
        msg_cnt=rng.randrange(128), id=rng.randbytes(8),
        sec_mark_s=_nan_or(rng, rng.randrange(60000) / 1000.0),
        lat_deg=_nan_or(rng, rng.randrange(-900_000_000, 900_000_001) * 1e-7),
        lon_deg=_nan_or(rng, rng.randrange(-1_799_999_999, 1_800_000_001) * 1e-7),
        speed_mps=_nan_or(rng, rng.randrange(8191) * 0.02),
        heading_deg=_nan_or(rng, rng.randrange(28800) * 0.0125),
        width_m=_nan_or(rng, rng.randrange(1, 1024) * 0.01),
        length_m=_nan_or(rng, rng.randrange(1, 4096) * 0.01),
        accel_long_mps2=_nan_or(rng, rng.randrange(-2000, 2001) * 0.01),
        accel_lat_mps2=_nan_or(rng, rng.randrange(-2000, 2001) * 0.01),
        accel_vert_mps2=_nan_or(rng, rng.randrange(-126, 128) * 0.02 * 9.80665),
        yaw_rate_dps=rng.randrange(-32767, 32768) * 0.01,
        height_m=_opt(rng, lambda: rng.randrange(1, 128) * 0.05),
        classification=rng.randrange(256),
        elevation_m=_opt(rng, lambda: rng.randrange(-4095, 61440) * 0.1),
        transmission=TransmissionState(rng.randrange(8)),
        brakes=BrakeSystemStatus(*[rng.randrange(hi + 1) if rng.random() < 0.5 else None
                                   for hi in (2, 31, 3, 3, 3, 2, 3)]),
        fuel_type=_opt(rng, lambda: rng.randrange(16)),
        events=_opt(rng, lambda: VehicleEventFlags(rng.randrange(8192))),
        lights=_opt(rng, lambda: rng.randrange(512)),
        emergency=_opt(rng, lambda: EmergencyExtensions(
            _opt(rng, lambda: rng.randrange(7)), _opt(rng, lambda: rng.randrange(4)),
            _opt(rng, lambda: rng.randrange(8))), 0.2))


def _ref(rng: random.Random) -> tuple[int, int, int | None]:
    return (rng.randrange(-800_000_000, 800_000_001), rng.randrange(-1_700_000_000, 1_700_000_001),
            rng.randrange(-4095, 61440) if rng.random() < 0.5 else None)


def _points(rng: random.Random, ref: tuple[int, int, int | None], n: int) -> tuple[Position3D, ...]:
    out = []
    for _ in range(n):
        elev = None
        if rng.random() < 0.4:
            e = rng.randrange(-4095, 61440) if ref[2] is None or rng.random() < 0.5 else \
                min(61439, max(-4095, ref[2] + rng.randrange(-2048, 2048)))
            elev = e * 0.1
        out.append(Position3D((ref[0] + _offset(rng)) * 1e-7, (ref[1] + _offset(rng)) * 1e-7,
                              elev))
    return tuple(out)


def _map(rng: random.Random, max_connections: int) -> MapData:
    nodes = []
    for _ in range(rng.randint(1, 2)):
        ref = _ref(rng)
        links = []
        for _ in range(rng.randint(0, 3)):
            lanes = tuple(MapLane(
                lane_id=rng.randrange(256),
                lane_width_m=_opt(rng, lambda: rng.randrange(32768) / 100.0),
                maneuvers=_opt(rng, lambda: AllowedManeuvers(rng.randrange(4096))),
                connects_to=tuple(Connection(
                    _node_id(rng),
                    _opt(rng, lambda: ConnectingLane(
                        rng.randrange(256),
                        _opt(rng, lambda: AllowedManeuvers(rng.randrange(4096))))),
                    _opt(rng, lambda: rng.randrange(256)))
                    for _ in range(rng.randint(0, max_connections))),
                points=_points(rng, ref, rng.choice((0, 2, 3, 5))))
                for _ in range(rng.randint(1, 3)))
            links.append(MapLink(
                upstream_node_id=_node_id(rng), lanes=lanes,
                speed_limits=tuple(SpeedLimit(SpeedLimitType(rng.randrange(13)),
                                              rng.randrange(8191) * 0.02)
                                   for _ in range(rng.randint(0, 2))),
                link_width_m=_opt(rng, lambda: rng.randrange(32768) / 100.0),
                points=_points(rng, ref, rng.choice((0, 2, 4))),
                movements=tuple(Movement(_node_id(rng), _opt(rng, lambda: rng.randrange(256)))
                                for _ in range(rng.randint(0, 2))),
                name=_opt(rng, lambda: f"link {rng.randrange(1000)}")))
        nodes.append(MapNode(
            id=_node_id(rng),
            ref_pos=Position3D(ref[0] * 1e-7, ref[1] * 1e-7, None if ref[2] is None
                               else ref[2] * 0.1),
            in_links=tuple(links), name=_opt(rng, lambda: f"node {rng.randrange(100)}")))
    ts = _opt(rng, lambda: NOW_NS // (60 * _S) * 60 * _S + rng.randrange(-200_000, 200_000)
              * 60 * _S)
    return MapData(rng.randrange(128), tuple(nodes), ts)


def _timing(rng: random.Random) -> TimeCountingDown:
    def tm() -> int | None:
        return rng.randrange(36001) * _DS if rng.random() < 0.7 else None

    return TimeCountingDown(
        start_time_ns=rng.randrange(36001) * _DS, likely_end_time_ns=tm(),
        min_end_time_ns=tm(), max_end_time_ns=tm(), next_start_time_ns=tm(),
        next_duration_ns=tm(),
        time_confidence=_opt(rng, lambda: rng.randrange(201)))


def _spat(rng: random.Random) -> Spat:
    ts = _opt(rng, lambda: NOW_NS + rng.randrange(-10**9, 10**9) * 10**6, 0.7)
    inters = []
    for _ in range(rng.randint(1, 2)):
        ids = rng.sample(range(256), rng.randint(1, 16))
        inters.append(IntersectionState(
            _node_id(rng), IntersectionStatus(rng.randrange(1 << 14)),
            tuple(Phase(i, tuple(PhaseState(LightState(rng.randrange(9)),
                                            _opt(rng, lambda: _timing(rng), 0.8))
                                 for _ in range(rng.randint(1, 3)))) for i in ids),
            timestamp_ns=ts if ts is not None and rng.random() < 0.5 else None))
    return Spat(rng.randrange(128), tuple(inters), ts,
                _opt(rng, lambda: f"SPAT {rng.randrange(100)}", 0.3))


def _rsi(rng: random.Random) -> Rsi:
    ref = _ref(rng)
    ref_pos = Position3D(ref[0] * 1e-7, ref[1] * 1e-7)

    def pos() -> Position3D:
        return Position3D((ref[0] + _offset(rng)) * 1e-7, (ref[1] + _offset(rng)) * 1e-7)

    def common() -> dict[str, Any]:
        return dict(
            description=_opt(rng, lambda: rng.choice(("road works", "施工", "前方拥堵 500 m",
                                                      "x" * rng.randint(1, 300)))),
            start_ns=_opt(rng, lambda: NOW_NS + rng.randrange(-1000, 1000) * 60 * _S),
            end_ns=_opt(rng, lambda: NOW_NS + rng.randrange(-1000, 1000) * 60 * _S),
            priority=_opt(rng, lambda: rng.randrange(8)),
            reference_paths=tuple(ReferencePath(tuple(pos() for _ in range(rng.randint(2, 4))),
                                                rng.randrange(65536) / 10.0)
                                  for _ in range(rng.randint(0, 2))),
            reference_links=tuple(ReferenceLink(_node_id(rng), _node_id(rng),
                                                _opt(rng, lambda: rng.randrange(1 << 16)))
                                  for _ in range(rng.randint(0, 2))))

    events = tuple(RoadTrafficEvent(
        rte_id=rng.randrange(256), event_type=rng.randrange(65536),
        source=EventSource(rng.randrange(6)), pos=_opt(rng, pos),
        radius_m=_opt(rng, lambda: rng.randrange(65536) / 10.0),
        confidence=_opt(rng, lambda: rng.randrange(201)), **common())
        for _ in range(rng.randint(0, 3)))
    signs = tuple(RoadTrafficSign(
        rts_id=rng.randrange(256), sign_type=rng.randrange(65536), pos=_opt(rng, pos),
        **common()) for _ in range(rng.randint(0, 3)))
    return Rsi(rng.randrange(128), rng.randbytes(8), ref_pos, events, signs,
               _opt(rng, lambda: NOW_NS + rng.randrange(-1000, 1000) * 60 * _S))


def _rsm(rng: random.Random) -> Rsm:
    ref = _ref(rng)
    parts = tuple(Participant(
        ptc_type=ParticipantType(rng.randrange(5)), ptc_id=rng.randrange(65536),
        source=SourceType(rng.randrange(8)),
        sec_mark_s=_nan_or(rng, rng.randrange(60000) / 1000.0),
        pos=Position3D((ref[0] + _offset(rng)) * 1e-7, (ref[1] + _offset(rng)) * 1e-7),
        pos_confidence=rng.randrange(16), speed_mps=_nan_or(rng, rng.randrange(8191) * 0.02),
        heading_deg=_nan_or(rng, rng.randrange(28800) * 0.0125),
        width_m=_nan_or(rng, rng.randrange(1, 1024) * 0.01),
        length_m=_nan_or(rng, rng.randrange(1, 4096) * 0.01),
        height_m=_opt(rng, lambda: rng.randrange(1, 128) * 0.05),
        accel=_opt(rng, lambda: (rng.randrange(-2000, 2001) * 0.01,
                                 rng.randrange(-2000, 2001) * 0.01,
                                 rng.randrange(-126, 128) * 0.02 * 9.80665,
                                 rng.randrange(-32767, 32768) * 0.01)),
        classification=_opt(rng, lambda: rng.randrange(256)),
        id=_opt(rng, lambda: rng.randbytes(8)))
        for _ in range(rng.randint(1, 16)))
    return Rsm(rng.randrange(128), rng.randbytes(8),
               Position3D(ref[0] * 1e-7, ref[1] * 1e-7, None if ref[2] is None else ref[2] * 0.1),
               parts)


def _ext(rng: random.Random) -> FrameExt:
    return FrameExt(rng.choice((11, 12, 13, 14, 15, rng.randrange(32768))),
                    rng.randbytes(rng.randint(0, 60)))


def sample_messages(rng: random.Random, per_type: int, *,
                    max_connections: int = 8) -> list[Message]:
    """``per_type`` valid messages of each MessageFrame alternative (BSM, MAP, SPAT, RSI, RSM,
    Day-2 ``FrameExt``), in that order, drawn from ``rng``; MAP lanes get
    0..``max_connections`` connections (8: the default profile's bound)."""
    makers: Sequence[Callable[[random.Random], Message]] = (
        _bsm, lambda r: _map(r, max_connections), _spat, _rsi, _rsm, _ext)
    return [make(rng) for make in makers for _ in range(per_type)]


#: the mutations of :func:`mutate`, by name
MUTATIONS = ("bit_flip", "truncate", "extend_random", "extend_zero", "insert", "delete",
             "ones_run", "splice", "random_bytes")


def mutate(frame: bytes, rng: random.Random, corpus: Sequence[bytes] = ()) -> tuple[str, bytes]:
    """One random mutation of ``frame``: ``(its name in MUTATIONS, the mutated bytes)``.
    ``splice`` joins the head of ``frame`` to the tail of another frame of ``corpus``."""
    kind = rng.choice(MUTATIONS)
    b = bytearray(frame)
    n = len(b)
    if kind == "bit_flip" and n:
        for _ in range(rng.choice((1, 1, 2, 3, 8))):
            i = rng.randrange(8 * n)
            b[i // 8] ^= 0x80 >> (i % 8)
    elif kind == "truncate":
        del b[rng.randrange(n + 1) if n else 0:]
    elif kind == "extend_random":
        b += rng.randbytes(rng.choice((1, 2, 7, 64, 200)))
    elif kind == "extend_zero":
        b += bytes(rng.choice((1, 3, 100)))
    elif kind == "insert":
        i = rng.randrange(n + 1)
        b[i:i] = rng.randbytes(rng.randint(1, 8))
    elif kind == "delete" and n:
        i = rng.randrange(n)
        del b[i:i + rng.randint(1, 8)]
    elif kind == "ones_run" and n:
        i = rng.randrange(n)
        b[i:i + rng.randint(1, 4)] = b"\xff" * len(b[i:i + 4])
    elif kind == "splice" and corpus:
        other = rng.choice(corpus)
        b = b[:rng.randrange(n + 1)] + other[rng.randrange(len(other) + 1):]
    elif kind == "random_bytes":
        b = bytearray(rng.randbytes(rng.randint(0, 120)))
    return kind, bytes(b)
