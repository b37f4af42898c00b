"""UPER / JSON codec of the Day-1 MessageFrame: hand-derived bit vectors, sentinels and wraps,
property round trips of all five message types, out-of-range rejection, BSM batches."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from v2x.errors import DecodeError, EncodeError
from v2x.messages import (
    AllowedManeuvers,
    ConnectingLane,
    Connection,
    IntersectionState,
    IntersectionStatus,
    LightState,
    MapData,
    MapLane,
    MapLink,
    MapNode,
    Movement,
    NodeReferenceId,
    Phase,
    PhaseState,
    Position3D,
    Spat,
    SpeedLimit,
    SpeedLimitType,
    TimeCountingDown,
    spat_to_json,
    to_json_bytes,
)
from v2x.messages._bsm import BsmBatch
from v2x.messages._bsm_msg import (
    BrakeSystemStatus,
    Bsm,
    EmergencyExtensions,
    TransmissionState,
    VehicleEventFlags,
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
from v2x.messages._uper import (
    BSM_BATCH_FRAME_BYTES,
    FrameExt,
    compiled_spec,
    decode_bsm_frames,
    decode_frame,
    encode_bsm_batch,
    encode_bsm_rows,
    encode_frame,
    frame_from_json,
    frame_to_json,
)
from v2x.units import G

S = 1_000_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
NAN = math.nan


def _utc_ns(*args: int) -> int:
    return (dt.datetime(*args, tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1) * 1000


def _bits(*fields: tuple[int, int]) -> bytes:
    """(value, width) fields MSB first, padded with zero bits to whole octets (X.691 11.1)."""
    s = "".join(format(v, f"0{w}b") for v, w in fields)
    s += "0" * (-len(s) % 8)
    return int(s, 2).to_bytes(len(s) // 8, "big")


def _bsm(**kw: object) -> Bsm:
    base: dict[str, object] = dict(msg_cnt=0, id=bytes(8), sec_mark_s=0.0, lat_deg=0.0,
                                   lon_deg=0.0, speed_mps=0.0, heading_deg=0.0, width_m=NAN,
                                   length_m=NAN, accel_long_mps2=0.0, accel_lat_mps2=0.0,
                                   accel_vert_mps2=0.0, yaw_rate_dps=0.0, classification=0)
    base.update(kw)
    return Bsm(**base)  # type: ignore[arg-type]


# ================================================================ hand-derived byte vectors


def test_minimal_bsm_bits_by_hand() -> None:
    # X.691 unaligned, field by field:
    #   MessageFrame CHOICE with "...": ext bit 0, index 0 of 5 root alternatives in 3 bits
    #   BSM SEQUENCE with "...": ext bit 0, 7 OPTIONAL presence bits all 0
    #   msgCnt 0..127: 7 bits; id OCTET STRING (SIZE(8)): 64 bits, no length
    #   secMark 0..65535: 16 bits
    #   pos: elevation absent (1 bit); lat 0 -> 0 - (-900000000) = 900000000 in 31 bits
    #        (1800000002 values); long 0 -> 1799999999 in 32 bits (3600000001 values)
    #   transmission unavailable = index 7 of 8: 3 bits 111
    #   speed 0: 13 bits; heading 0: 15 bits (28801 values)
    #   accelSet: long 0 -> 2000, lat 0 -> 2000 in 12 bits (4002 values); vert 0 -> 127 in
    #             8 bits (255 values); yaw 0 -> 32767 in 16 bits (65535 values)
    #   brakes: 7 presence bits 0
    #   size: height absent (1 bit); width NaN -> 0 (invalid) 10 bits; length 0 in 12 bits
    #   vehicleClass with "...": ext 0, fuelType absent, classification 0 in 8 bits
    # = 4+8+7+64+16+64+3+13+15+48+7+23+10 = 282 bits -> 36 octets (6 padding bits): the
    # "minimal BSM frame of about 36 bytes" of STANDARDS.md section 1.
    expected = _bits((0, 1), (0, 3), (0, 1), (0, 7), (0, 7), (0, 64), (0, 16),
                     (0, 1), (900000000, 31), (1799999999, 32), (7, 3), (0, 13), (0, 15),
                     (2000, 12), (2000, 12), (127, 8), (32767, 16), (0, 7),
                     (0, 1), (0, 10), (0, 12), (0, 1), (0, 1), (0, 8))
    assert expected.hex() == ("00000000000000000000000006b49d200d693a3ffc0000001f41f41fdfffc0"
                              "0000000000")
    frame = encode_frame(_bsm())
    assert frame == expected
    assert len(frame) == 36


def test_spat_bits_by_hand() -> None:
    spat = Spat(msg_cnt=1, intersections=(IntersectionState(
        intersection_id=NodeReferenceId(1), status=IntersectionStatus.FIXED_TIME_OPERATION,
        phases=(Phase(1, (PhaseState(LightState.RED, TimeCountingDown(0, 30 * S)),)),)),))
    # MessageFrame: ext 0, spatFrame = index 3 in 3 bits -> 0 011
    # SPAT: ext 0, moy/timeStamp/name absent 000; msgCnt 1 in 7 bits
    # intersections SIZE(1..32): count 1 -> 1-1 = 0 in 5 bits
    # IntersectionState: ext 0, moy/timeStamp/timeConfidence absent 000
    #   intersectionId: region absent 0, id 1 in 16 bits
    #   status BIT STRING (SIZE(16)): fixedTimeOperation is bit 5 -> 0000010000000000
    #   phases SIZE(1..16): 0 in 4 bits; Phase: id 1 in 8 bits; phaseStates: 0 in 4 bits
    #   PhaseState with "...": ext 0, timing present 1; light red: extensible ENUMERATED of 9
    #     root values: ext 0 + index 3 in 4 bits
    #   timing CHOICE {counting, utcTiming, ...}: ext 0, index 0 in 1 bit
    #   TimeCountingDown: 5 OPTIONAL bits 00000; startTime 0, likelyEndTime 30 s = 300
    #     TimeMark in 16 bits each (36002 values)
    # = 4+4+7+5+4+17+16+4+8+4+2+5+2+5+16+16 = 119 bits -> 15 octets. Octet by octet:
    #   0011 0000 | 0000001 0 | 0000 0000 | 00000000 | 00000000 | 1 0000010 | 00000000 |
    #   0 0000 000 | 00001 000 | 0 01 00011 | 00 00000 0 | 00000000 | 0000000 0 |
    #   00000010 | 0101100 + 1 padding bit
    #   = 30 02 00 00 00 82 00 00 08 23 00 00 00 02 58
    expected = _bits((0, 1), (3, 3), (0, 1), (0, 3), (1, 7), (0, 5), (0, 1), (0, 3),
                     (0, 1), (1, 16), (0b0000010000000000, 16), (0, 4), (1, 8), (0, 4),
                     (0, 1), (1, 1), (0, 1), (3, 4), (0, 1), (0, 1), (0, 5), (0, 16), (300, 16))
    assert expected.hex() == "300200000082000008230000000258"
    assert encode_frame(spat) == expected
    assert decode_frame(expected) == spat


def test_extension_frame_bits_by_hand() -> None:
    # msgFrameExt is the first extension addition of the MessageFrame CHOICE:
    #   ext bit 1; addition index 0 as a normally small number: 0 + 000000 (X.691 23.8)
    #   then an open type: length in octets (8 bits) + the inner value's own encoding:
    #     MessageFrameExt with "...": ext 0; messageId 12 in 15 bits (0..32767);
    #     value OCTET STRING, unconstrained: length 1 in 8 bits, then 0xAB
    #     = 1+15+8+8 = 32 bits = 00 0c 01 ab
    #   -> 1 0000000 | 00000100 | 00 0c 01 ab = 80 04 00 0c 01 ab
    frame = encode_frame(FrameExt(message_id=12, value=b"\xab"))
    assert frame.hex() == "8004000c01ab"
    assert decode_frame(frame) == FrameExt(12, b"\xab")


def test_offset_choice_picks_shortest_form() -> None:
    # A lane point 2047 units (2.047e-4 deg) north of the node fits OffsetLL-B12, 2048 does
    # not and needs B14 (alternatives position-LL1 / position-LL2).
    ref = Position3D(39.0, 117.0)
    for dlat, form in ((2047, "position-LL1"), (2048, "position-LL2"),
                       (-2048, "position-LL1"), (8388607, "position-LL6"),
                       (8388608, "position-LatLon")):
        pts = (Position3D((390000000 + dlat) * 1e-7, 117.0),
               Position3D(390000000 * 1e-7, 117.0))
        m = MapData(0, (MapNode(NodeReferenceId(9), ref, (MapLink(
            NodeReferenceId(8), (MapLane(1, points=pts),)),)),))
        lane = frame_to_json(m)["mapFrame"]["nodes"][0]["inLinks"][0]["lanes"][0]
        assert list(lane["points"][0]["posOffset"]["offsetLL"]) == [form]
        assert decode_frame(encode_frame(m)) == m


# ================================================================ sentinels and wraps


def _field(frame: bytes, offset: int, width: int) -> int:
    bits = "".join(format(b, "08b") for b in frame)
    return int(bits[offset:offset + width], 2)


def test_msg_cnt_edges() -> None:
    # msgCnt sits at bits 12..18 of a BSM frame (4 frame + 8 BSM preamble bits); the sender
    # wraps 127 -> (127 + 1) % 128 = 0
    assert _field(encode_frame(_bsm(msg_cnt=127)), 12, 7) == 127
    assert _field(encode_frame(_bsm(msg_cnt=(127 + 1) % 128)), 12, 7) == 0
    with pytest.raises(EncodeError, match="msg_cnt"):
        _bsm(msg_cnt=128)
    with pytest.raises(EncodeError, match="msg_cnt"):
        Spat(msg_cnt=-1, intersections=())


@pytest.mark.parametrize(("sec", "units", "back"), [
    (59.9994, 59999, 59.999),    # last ms of the minute
    (59.9996, 0, 0.0),           # rounds to 60000 ms: the next minute's 0
    (60.0, 0, 0.0),
    (NAN, 65535, NAN),           # unavailable
])
def test_sec_mark_at_the_minute(sec: float, units: int, back: float) -> None:
    frame = encode_frame(_bsm(sec_mark_s=sec))
    assert _field(frame, 83, 16) == units  # secMark at bits 12+7+64 = 83
    got = decode_frame(frame).sec_mark_s  # type: ignore[union-attr]
    assert (math.isnan(got) and math.isnan(back)) or got == back


def test_sec_mark_leap_second_range_decodes_unavailable() -> None:
    d = {"msgCnt": 0, "id": bytes(8), "secMark": 60500, "pos": {"lat": 0, "long": 0},
         "transmission": "unavailable", "speed": 0, "heading": 0,
         "accelSet": {"long": 0, "lat": 0, "vert": 0, "yaw": 0}, "brakes": {},
         "size": {"width": 0, "length": 0}, "vehicleClass": {"classification": 0}}
    frame = compiled_spec().encode("MessageFrame", ("bsmFrame", d))
    assert math.isnan(decode_frame(frame).sec_mark_s)  # type: ignore[union-attr]
    with pytest.raises(EncodeError, match="DSecond"):
        encode_frame(_bsm(sec_mark_s=61.0))


def _likely(ns: int | None) -> int:
    spat = Spat(0, (IntersectionState(NodeReferenceId(1), IntersectionStatus.NONE,
                                      (Phase(1, (PhaseState(LightState.RED,
                                                            TimeCountingDown(0, ns)),)),)),))
    d = frame_to_json(spat)["spatFrame"]
    return d["intersections"][0]["phases"][0]["phaseStates"][0]["timing"]["counting"][
        "likelyEndTime"]


def test_time_mark_at_the_hour() -> None:
    assert _likely(3599_900_000_000) == 35999          # 3599.9 s
    assert _likely(3599_949_999_999) == 35999          # rounds down
    assert _likely(3599_950_000_000) == 36000          # ties up to a full hour
    assert _likely(7200 * S) == 36000                  # "an hour or more" saturates
    assert _likely(None) == 36001                      # unknown
    spat = Spat(0, (IntersectionState(NodeReferenceId(1), IntersectionStatus.NONE,
                                      (Phase(1, (PhaseState(LightState.RED, TimeCountingDown(
                                          0, None, max_end_time_ns=3600 * S)),)),)),))
    back = decode_frame(encode_frame(spat))
    t = back.intersections[0].phases[0].states[0].timing  # type: ignore[union-attr]
    assert t.likely_end_time_ns is None and t.max_end_time_ns == 3600 * S


@pytest.mark.parametrize(("when", "moy"), [
    ((2023, 12, 31, 23, 59, 59), 525599),   # last minute of a common year: 365*1440 - 1
    ((2024, 1, 1, 0, 0, 0), 0),
    ((2024, 12, 31, 23, 59, 30), 527039),   # last minute of a leap year: 366*1440 - 1
    ((2025, 1, 1, 0, 0, 0), 0),
    ((2024, 2, 29, 12, 0, 0), (31 + 28) * 1440 + 720),
])
def test_minute_of_the_year_at_the_year(when: tuple[int, ...], moy: int) -> None:
    ts = _utc_ns(*when)
    spat = Spat(3, (IntersectionState(NodeReferenceId(1), IntersectionStatus.NONE,
                                      (Phase(1, (PhaseState(LightState.RED),)),)),),
                timestamp_ns=ts)
    assert frame_to_json(spat)["spatFrame"]["moy"] == moy
    # a receiver a few seconds later (possibly in the next year) places it back exactly
    assert decode_frame(encode_frame(spat), now_ns=ts + 5 * S) == spat
    assert decode_frame(encode_frame(spat), now_ns=ts - 5 * S) == spat


def test_minute_of_the_year_invalid_decodes_to_none() -> None:
    d = {"msgCnt": 0, "moy": 527040, "intersections": [
        {"intersectionId": {"id": 1}, "status": (b"\0\0", 16),
         "phases": [{"id": 1, "phaseStates": [{"light": "red"}]}]}]}
    frame = compiled_spec().encode("MessageFrame", ("spatFrame", d))
    assert decode_frame(frame, now_ns=0).timestamp_ns is None  # type: ignore[union-attr]


def test_bsm_sentinels() -> None:
    m = _bsm(lat_deg=NAN, lon_deg=NAN, speed_mps=NAN, heading_deg=NAN, accel_long_mps2=NAN,
             accel_lat_mps2=NAN, accel_vert_mps2=NAN, elevation_m=NAN, height_m=NAN)
    d = frame_to_json(m)["bsmFrame"]
    assert d["pos"] == {"lat": 900000001, "long": 1800000001, "elevation": -4096}
    assert (d["speed"], d["heading"]) == (8191, 28800)
    assert d["accelSet"] == {"long": 2001, "lat": 2001, "vert": -127, "yaw": 0}
    assert d["size"] == {"width": 0, "length": 0, "height": 0}
    assert repr(decode_frame(encode_frame(m))) == repr(m)


def test_heading_wraps() -> None:
    assert frame_to_json(_bsm(heading_deg=360.0))["bsmFrame"]["heading"] == 0
    assert frame_to_json(_bsm(heading_deg=-0.0125))["bsmFrame"]["heading"] == 28799


# ================================================================ rejection of bad values


@pytest.mark.parametrize(("make", "match"), [
    (lambda: encode_frame(_bsm(lat_deg=90.5)), "Latitude"),
    (lambda: encode_frame(_bsm(speed_mps=-1.0)), "Speed"),
    (lambda: encode_frame(_bsm(yaw_rate_dps=NAN)), "YawRate"),
    (lambda: _bsm(id=b"1234567"), "id"),
    (lambda: _bsm(classification=256), "classification"),
    (lambda: encode_frame(MapData(0, (MapNode(NodeReferenceId(1), Position3D(39, 117), (
        MapLink(NodeReferenceId(2), (MapLane(1, lane_width_m=400.0),)),)),))), "laneWidth"),
    (lambda: Phase(256, (PhaseState(LightState.RED),)), "Phase.id"),
    (lambda: encode_frame(Rsi(0, bytes(8), Position3D(39, 117), events=(RoadTrafficEvent(
        rte_id=1, event_type=100, radius_m=7000.0),))), "eventRadius"),
    (lambda: encode_frame(Rsi(0, bytes(8), Position3D(39, 117), events=(RoadTrafficEvent(
        rte_id=1, event_type=100, description="x" * 513),))), "description"),
    (lambda: encode_frame("not a message"), "cannot encode"),  # type: ignore[arg-type]
])
def test_out_of_range_is_rejected(make, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EncodeError, match=match):
        make()


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff" * 3, b"\x20" + b"\xff" * 40,
                                  bytes(5), b"\xe0\x01"])
def test_bad_bytes_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_frame(data)


def test_decode_error_chains_the_asn1tools_error() -> None:
    with pytest.raises(DecodeError) as info:
        decode_frame(b"\x00")
    assert type(info.value.__cause__).__module__.startswith("asn1tools")


def test_bad_json_raises_decode_error() -> None:
    for obj in ({"nope": {}}, {"bsmFrame": {}}, [], {"spatFrame": {"msgCnt": 500,
                                                                    "intersections": []}}):
        with pytest.raises(DecodeError):
            frame_from_json(obj)


# ================================================================ property round trips

lat_u = st.integers(-900_000_000, 900_000_000)
lon_u = st.integers(-1_799_999_999, 1_800_000_000)


def _nan_or(s: st.SearchStrategy[float]) -> st.SearchStrategy[float]:
    return st.one_of(st.just(NAN), s)


def _grid(lo: int, hi: int, lsb: float) -> st.SearchStrategy[float]:
    return st.integers(lo, hi).map(lambda k: k * lsb)


positions = st.builds(lambda a, o, e: Position3D(a * 1e-7, o * 1e-7, e),
                      lat_u, lon_u, st.one_of(st.none(), _grid(-4095, 61439, 0.1)))
node_ids = st.builds(NodeReferenceId, st.integers(0, 65535),
                     st.one_of(st.none(), st.integers(0, 65535)))
ids = st.binary(min_size=8, max_size=8)

bsms = st.builds(
    Bsm, msg_cnt=st.integers(0, 127), id=ids,
    sec_mark_s=_nan_or(st.integers(0, 59999).map(lambda k: k / 1000.0)),
    lat_deg=_nan_or(lat_u.map(lambda k: k * 1e-7)),
    lon_deg=_nan_or(lon_u.map(lambda k: k * 1e-7)),
    speed_mps=_nan_or(_grid(0, 8190, 0.02)), heading_deg=_nan_or(_grid(0, 28799, 0.0125)),
    width_m=_nan_or(_grid(1, 1023, 0.01)), length_m=_nan_or(_grid(1, 4095, 0.01)),
    accel_long_mps2=_nan_or(_grid(-2000, 2000, 0.01)),
    accel_lat_mps2=_nan_or(_grid(-2000, 2000, 0.01)),
    accel_vert_mps2=_nan_or(_grid(-126, 127, 0.02 * G)),
    yaw_rate_dps=_grid(-32767, 32767, 0.01),
    height_m=st.one_of(st.none(), _nan_or(_grid(1, 127, 0.05))),
    classification=st.integers(0, 255),
    elevation_m=st.one_of(st.none(), _nan_or(_grid(-4095, 61439, 0.1))),
    transmission=st.sampled_from(TransmissionState),
    brakes=st.builds(BrakeSystemStatus, *[st.one_of(st.none(), st.integers(0, hi))
                                          for hi in (2, 31, 3, 3, 3, 2, 3)]),
    fuel_type=st.one_of(st.none(), st.integers(0, 15)),
    events=st.one_of(st.none(), st.integers(0, 8191).map(VehicleEventFlags)),
    lights=st.one_of(st.none(), st.integers(0, 511)),
    emergency=st.one_of(st.none(), st.builds(
        EmergencyExtensions, st.one_of(st.none(), st.integers(0, 6)),
        st.one_of(st.none(), st.integers(0, 3)), st.one_of(st.none(), st.integers(0, 7)))),
)

# offsets of every OffsetLL size, and some beyond (position-LatLon)
deltas = st.one_of(st.integers(-2048, 2047), st.integers(-131072, 131071),
                   st.integers(-8388608, 8388607), st.integers(-20_000_000, 20_000_000))


@st.composite
def maps(draw: st.DrawFn) -> MapData:
    nodes = []
    for _ in range(draw(st.integers(1, 2))):
        rlat = draw(st.integers(-800_000_000, 800_000_000))
        rlon = draw(st.integers(-1_700_000_000, 1_700_000_000))
        relev = draw(st.one_of(st.none(), st.integers(-4095, 61439)))

        def points(n: int, rlat: int = rlat, rlon: int = rlon,
                   relev: int | None = relev) -> tuple[Position3D, ...]:
            out = []
            for _ in range(n):
                e = None
                if draw(st.booleans()):
                    e = draw(st.integers(-4095, 61439)) * 0.1 if relev is None or draw(
                        st.booleans()) else (relev + draw(st.integers(-2048, 2047))) * 0.1
                    e = None if e is not None and not -409.5 <= e <= 6143.9 else e
                out.append(Position3D((rlat + draw(deltas)) * 1e-7,
                                      (rlon + draw(deltas)) * 1e-7, e))
            return tuple(out)

        links = []
        for _ in range(draw(st.integers(0, 2))):
            lanes = tuple(MapLane(
                lane_id=draw(st.integers(0, 255)),
                lane_width_m=draw(st.one_of(st.none(), st.integers(0, 32767).map(
                    lambda k: k / 100.0))),
                maneuvers=draw(st.one_of(st.none(), st.integers(0, 4095).map(AllowedManeuvers))),
                connects_to=tuple(Connection(
                    draw(node_ids),
                    draw(st.one_of(st.none(), st.builds(ConnectingLane, st.integers(0, 255),
                                                        st.one_of(st.none(), st.integers(
                                                            0, 4095).map(AllowedManeuvers))))),
                    draw(st.one_of(st.none(), st.integers(0, 255))))
                    for _ in range(draw(st.integers(0, 2)))),
                points=points(draw(st.sampled_from([0, 2, 3]))))
                for _ in range(draw(st.integers(1, 3))))
            links.append(MapLink(
                upstream_node_id=draw(node_ids), lanes=lanes,
                speed_limits=tuple(SpeedLimit(draw(st.sampled_from(SpeedLimitType)),
                                              draw(_grid(0, 8190, 0.02)))
                                   for _ in range(draw(st.integers(0, 2)))),
                link_width_m=draw(st.one_of(st.none(), st.integers(0, 32767).map(
                    lambda k: k / 100.0))),
                points=points(draw(st.sampled_from([0, 2]))),
                movements=tuple(Movement(draw(node_ids), draw(st.one_of(
                    st.none(), st.integers(0, 255)))) for _ in range(draw(st.integers(0, 2)))),
                name=draw(st.one_of(st.none(), st.text("abcXYZ 0-9", min_size=1,
                                                        max_size=63)))))
        nodes.append(MapNode(
            id=draw(node_ids),
            ref_pos=Position3D(rlat * 1e-7, rlon * 1e-7, None if relev is None else relev * 0.1),
            in_links=tuple(links),
            name=draw(st.one_of(st.none(), st.text("abc", min_size=1, max_size=5)))))
    # within half a year of NOW, where a receiver can place MinuteOfTheYear in its year
    ts = draw(st.one_of(st.none(), st.integers(-250_000, 250_000).map(
        lambda k: NOW // (60 * S) * 60 * S + k * 60 * S)))
    return MapData(draw(st.integers(0, 127)), tuple(nodes), ts)


NOW = _utc_ns(2024, 6, 1, 12)

timings = st.builds(
    TimeCountingDown,
    start_time_ns=st.integers(0, 36000).map(lambda k: k * 100_000_000),
    likely_end_time_ns=st.one_of(st.none(), st.integers(0, 36000).map(lambda k: k * 10**8)),
    min_end_time_ns=st.one_of(st.none(), st.integers(0, 36000).map(lambda k: k * 10**8)),
    max_end_time_ns=st.one_of(st.none(), st.integers(0, 36000).map(lambda k: k * 10**8)),
    next_start_time_ns=st.one_of(st.none(), st.integers(0, 36000).map(lambda k: k * 10**8)),
    next_duration_ns=st.one_of(st.none(), st.integers(0, 36000).map(lambda k: k * 10**8)),
    time_confidence=st.one_of(st.none(), st.integers(0, 200)))


@st.composite
def spats(draw: st.DrawFn) -> Spat:
    ts = draw(st.one_of(st.none(), st.integers(-10**9, 10**9).map(lambda k: NOW + k * 10**6)))
    inters = []
    for _ in range(draw(st.integers(1, 3))):
        ids_ = draw(st.lists(st.integers(0, 255), min_size=1, max_size=16, unique=True))
        inters.append(IntersectionState(
            draw(node_ids), IntersectionStatus(draw(st.integers(0, 2**14 - 1))),
            tuple(Phase(i, tuple(PhaseState(draw(st.sampled_from(LightState)),
                                            draw(st.one_of(st.none(), timings)))
                                 for _ in range(draw(st.integers(1, 3))))) for i in ids_),
            timestamp_ns=ts if ts is not None and draw(st.booleans()) else None))
    return Spat(draw(st.integers(0, 127)), tuple(inters), ts,
                draw(st.one_of(st.none(), st.text("SPAT-1", min_size=1, max_size=63))))


def _opt(s: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), s)


@st.composite
def rsis(draw: st.DrawFn) -> Rsi:
    rlat = draw(st.integers(-800_000_000, 800_000_000))
    rlon = draw(st.integers(-1_700_000_000, 1_700_000_000))
    ref = Position3D(rlat * 1e-7, rlon * 1e-7)

    def pos() -> Position3D:
        return Position3D((rlat + draw(deltas)) * 1e-7, (rlon + draw(deltas)) * 1e-7)

    def common() -> dict[str, object]:
        return dict(
            description=draw(_opt(st.one_of(st.text("abc XYZ", min_size=1, max_size=20),
                                            st.sampled_from(["施工", "前方拥堵 500 m"])))),
            start_ns=draw(_opt(st.integers(-1000, 1000).map(lambda k: NOW + k * 60 * S))),
            end_ns=draw(_opt(st.integers(-1000, 1000).map(lambda k: NOW + k * 60 * S))),
            priority=draw(_opt(st.integers(0, 7))),
            reference_paths=tuple(ReferencePath(tuple(pos() for _ in range(2)),
                                                draw(st.integers(0, 65535)) / 10.0)
                                  for _ in range(draw(st.integers(0, 2)))),
            reference_links=tuple(ReferenceLink(draw(node_ids), draw(node_ids),
                                                draw(_opt(st.integers(0, 0xFFFF))))
                                  for _ in range(draw(st.integers(0, 2)))))

    events = tuple(RoadTrafficEvent(
        rte_id=draw(st.integers(0, 255)), event_type=draw(st.integers(0, 65535)),
        source=draw(st.sampled_from(EventSource)), pos=pos() if draw(st.booleans()) else None,
        radius_m=draw(_opt(st.integers(0, 65535).map(lambda k: k / 10.0))),
        confidence=draw(_opt(st.integers(0, 200))), **common())
        for _ in range(draw(st.integers(0, 3))))
    signs = tuple(RoadTrafficSign(
        rts_id=draw(st.integers(0, 255)), sign_type=draw(st.integers(0, 65535)),
        pos=pos() if draw(st.booleans()) else None, **common())
        for _ in range(draw(st.integers(0, 3))))
    return Rsi(draw(st.integers(0, 127)), draw(ids), ref, events, signs,
               draw(_opt(st.integers(-1000, 1000).map(lambda k: NOW + k * 60 * S))))


@st.composite
def rsms(draw: st.DrawFn) -> Rsm:
    rlat = draw(st.integers(-800_000_000, 800_000_000))
    rlon = draw(st.integers(-1_700_000_000, 1_700_000_000))
    parts = tuple(Participant(
        ptc_type=draw(st.sampled_from(ParticipantType)), ptc_id=draw(st.integers(0, 65535)),
        source=draw(st.sampled_from(SourceType)),
        sec_mark_s=draw(_nan_or(st.integers(0, 59999).map(lambda k: k / 1000.0))),
        pos=Position3D((rlat + draw(deltas)) * 1e-7, (rlon + draw(deltas)) * 1e-7),
        pos_confidence=draw(st.integers(0, 15)),
        speed_mps=draw(_nan_or(_grid(0, 8190, 0.02))),
        heading_deg=draw(_nan_or(_grid(0, 28799, 0.0125))),
        width_m=draw(_nan_or(_grid(1, 1023, 0.01))), length_m=draw(_nan_or(_grid(1, 4095, 0.01))),
        height_m=draw(_opt(_grid(1, 127, 0.05))),
        accel=draw(_opt(st.tuples(_nan_or(_grid(-2000, 2000, 0.01)),
                                  _nan_or(_grid(-2000, 2000, 0.01)),
                                  _nan_or(_grid(-126, 127, 0.02 * G)),
                                  _grid(-32767, 32767, 0.01)))),
        classification=draw(_opt(st.integers(0, 255))), id=draw(_opt(ids)))
        for _ in range(draw(st.integers(1, 4))))
    return Rsm(draw(st.integers(0, 127)), draw(ids),
               Position3D(rlat * 1e-7, rlon * 1e-7, draw(_opt(_grid(-4095, 61439, 0.1)))), parts)


messages = st.one_of(bsms, maps(), spats(), rsis(), rsms())
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(messages)
def test_uper_round_trip_is_exact(msg: object) -> None:
    frame = encode_frame(msg)  # type: ignore[arg-type]
    back = decode_frame(frame, now_ns=NOW)
    assert repr(back) == repr(msg)  # repr: NaN (unavailable) compares equal to itself
    assert encode_frame(back) == frame


@SETTINGS
@given(messages)
def test_json_round_trip_is_exact(msg: object) -> None:
    text = json.dumps(frame_to_json(msg), ensure_ascii=False)  # type: ignore[arg-type]
    back = frame_from_json(json.loads(text), now_ns=NOW)
    assert repr(back) == repr(msg)


@SETTINGS
@given(spats())
def test_spat_json_is_the_platform_json(spat: Spat) -> None:
    assert to_json_bytes(frame_to_json(spat)["spatFrame"]) == to_json_bytes(spat_to_json(spat))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_out_of_range_bsm_values_are_rejected(data: st.DataObject) -> None:
    field, value, match = data.draw(st.one_of(
        st.tuples(st.just("lat_deg"), st.floats(90.00000006, 1e6), st.just("Latitude")),
        st.tuples(st.just("lon_deg"), st.floats(180.00000006, 1e6), st.just("Longitude")),
        st.tuples(st.just("speed_mps"), st.floats(-1e6, -0.011), st.just("Speed")),
        st.tuples(st.just("sec_mark_s"), st.floats(60.0006, 1e6), st.just("DSecond")),
        st.tuples(st.just("width_m"), st.floats(-1e6, -1e-3), st.just("VehicleWidth")),
    ))
    with pytest.raises(EncodeError, match=match):
        encode_frame(_bsm(**{field: value}))
    bad_int = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=128)))
    with pytest.raises(EncodeError, match="msg_cnt"):
        _bsm(msg_cnt=bad_int)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    try:
        decode_frame(data, now_ns=NOW)
    except DecodeError:
        pass


# ================================================================ BSM batches


def _batch(rng: np.random.Generator, n: int) -> BsmBatch:
    return BsmBatch(
        sender=rng.integers(0, 2**40, n), msg_cnt=rng.integers(0, 128, n),
        sec_mark=rng.integers(0, 60000, n), lat=rng.integers(-900_000_000, 900_000_002, n),
        lon=rng.integers(-1_799_999_999, 1_800_000_002, n), speed=rng.integers(0, 8192, n),
        heading=rng.integers(0, 28801, n), accel_long=rng.integers(-2000, 2002, n),
        width=rng.integers(0, 1024, n), length=rng.integers(0, 4096, n),
        height=rng.integers(0, 128, n), classification=rng.integers(0, 256, n),
        brake=rng.random(n) < 0.5, events=rng.integers(0, 8192, n))


def _asn1_dict(b: BsmBatch, i: int) -> dict[str, object]:
    ev = int(b.events[i])
    wire = sum(1 << (12 - k) for k in range(13) if ev >> k & 1)
    return {"msgCnt": int(b.msg_cnt[i]), "id": int(b.sender[i]).to_bytes(8, "big"),
            "secMark": int(b.sec_mark[i]), "pos": {"lat": int(b.lat[i]), "long": int(b.lon[i])},
            "transmission": "unavailable", "speed": int(b.speed[i]), "heading": int(b.heading[i]),
            "accelSet": {"long": int(b.accel_long[i]), "lat": 2001, "vert": -127, "yaw": 0},
            "brakes": {"brakePadel": "on" if b.brake[i] else "off"},
            "size": {"width": int(b.width[i]), "length": int(b.length[i]),
                     "height": int(b.height[i])},
            "vehicleClass": {"classification": int(b.classification[i])},
            "safetyExt": {"events": ((wire << 3).to_bytes(2, "big"), 13)}}


def test_bsm_batch_is_bit_identical_to_asn1tools() -> None:
    rng = np.random.default_rng(7)
    batch = _batch(rng, 200)
    frames = encode_bsm_batch(batch)
    spec = compiled_spec()
    for i, f in enumerate(frames):
        assert f == spec.encode("MessageFrame", ("bsmFrame", _asn1_dict(batch, i)),
                                check_constraints=True)
    # 310 bits of layout (see _uper.py) -> 39 octets: a BSM with height and safetyExt.events
    assert {len(f) for f in frames} == {BSM_BATCH_FRAME_BYTES} == {39}
    back, ok, errors = decode_bsm_frames(frames)
    assert ok.all() and not errors
    for name in ("sender", "msg_cnt", "sec_mark", "lat", "lon", "speed", "heading",
                 "accel_long", "width", "length", "height", "classification", "brake",
                 "events"):
        np.testing.assert_array_equal(getattr(back, name), getattr(batch, name))


def test_bsm_rows_are_the_frames_as_one_array() -> None:
    batch = _batch(np.random.default_rng(11), 50)
    frames = encode_bsm_batch(batch)
    rows = encode_bsm_rows(batch)
    assert rows.shape == (50, BSM_BATCH_FRAME_BYTES) and rows.dtype == np.uint8
    assert [r.tobytes() for r in rows] == frames
    # decoding the array gives exactly what decoding the frames gives
    a, ok_a, err_a = decode_bsm_frames(rows)
    b, ok_b, err_b = decode_bsm_frames(frames)
    assert ok_a.all() and ok_b.all() and not err_a and not err_b
    for name in ("sender", "msg_cnt", "lat", "lon", "speed", "heading", "events", "brake"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(getattr(a, name), getattr(batch, name))
    # a corrupted row in the array is reported like a corrupted frame
    bad = rows.copy()
    bad[3, 0] |= 0x80
    _, ok, errors = decode_bsm_frames(bad)
    assert ok.tolist() == [True] * 3 + [False] + [True] * 46 and [i for i, _ in errors] == [3]
    with pytest.raises(DecodeError, match="uint8"):  # the testbed's error, not ValueError
        decode_bsm_frames(rows.astype(np.int16))


def test_bsm_frames_mixed_layouts_and_bad_frames() -> None:
    rng = np.random.default_rng(1)
    batch = _batch(rng, 3)
    frames = encode_bsm_batch(batch)
    other = encode_frame(_bsm(msg_cnt=9, id=(5).to_bytes(8, "big"), speed_mps=2.0,
                              brakes=BrakeSystemStatus(brake_pedal=2)))  # 36+ bytes, no ext
    bad = frames[0][:20]
    spat = encode_frame(Spat(0, (IntersectionState(NodeReferenceId(1), IntersectionStatus.NONE,
                                                   (Phase(1, (PhaseState(3),)),)),)))
    corrupt = bytearray(frames[1])
    corrupt[0] |= 0x80  # extension bit of the frame set: no longer the batch layout
    back, ok, errors = decode_bsm_frames([frames[0], other, bad, spat, frames[2],
                                          bytes(corrupt)])
    assert ok.tolist() == [True, True, False, False, True, False]
    assert [i for i, _ in errors] == [2, 3, 5]
    assert all(isinstance(e, DecodeError) for _, e in errors)
    assert back.sender.tolist() == [int(batch.sender[0]), 5, int(batch.sender[2])]
    assert back.speed.tolist() == [int(batch.speed[0]), 100, int(batch.speed[2])]  # 2/0.02
    assert back.brake.tolist() == [bool(batch.brake[0]), True, bool(batch.brake[2])]


def test_bsm_batch_out_of_range_names_field() -> None:
    batch = _batch(np.random.default_rng(2), 4)
    bad = BsmBatch(**{**batch.__dict__, "heading": np.array([0, 1, 28801, 3])})
    with pytest.raises(EncodeError, match=r"heading: value 28801"):
        encode_bsm_batch(bad)


def test_bsm_batch_matches_value_class_frame() -> None:
    # the same BSM through the value class: bits equal the batch path
    m = Bsm(msg_cnt=5, id=(123).to_bytes(8, "big"), sec_mark_s=12.345, lat_deg=39.0558,
            lon_deg=117.055, speed_mps=13.9, heading_deg=90.0, width_m=1.8, length_m=4.5,
            height_m=1.5, accel_long_mps2=-1.0, brakes=BrakeSystemStatus(brake_pedal=2),
            events=VehicleEventFlags.HARD_BRAKING)
    one = BsmBatch(sender=np.array([123]), msg_cnt=np.array([5]), sec_mark=np.array([12345]),
                   lat=np.array([390558000]), lon=np.array([1170550000]),
                   speed=np.array([695]), heading=np.array([7200]), accel_long=np.array([-100]),
                   width=np.array([180]), length=np.array([450]), height=np.array([30]),
                   classification=np.array([10]), brake=np.array([True]),
                   events=np.array([128]))
    assert encode_bsm_batch(one)[0] == encode_frame(m)


# ======================================================= rejection, the other four types


def _participant(**kw: object) -> Participant:
    base: dict[str, object] = dict(
        ptc_type=ParticipantType(1), ptc_id=7, source=SourceType(1), sec_mark_s=12.0,
        pos=Position3D(39.0558, 117.0551), speed_mps=5.0, heading_deg=90.0, width_m=1.8,
        length_m=4.5)
    base.update(kw)
    return Participant(**base)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_out_of_range_spat_map_rsi_rsm_values_are_rejected(data: st.DataObject) -> None:
    # each case builds a message with one value just outside its ASN.1 range (or far out)
    # and must raise EncodeError naming the field, never encode silently
    case = data.draw(st.sampled_from(["spat_cnt", "phase_id", "lane_width", "node_id",
                                      "rsi_radius", "rsm_ptc_id", "rsm_pos_conf",
                                      "rsm_sec_mark", "rsm_cnt", "rsm_count"]))
    if case == "spat_cnt":
        v = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=128)))
        with pytest.raises(EncodeError, match="msg_cnt"):
            Spat(msg_cnt=v, intersections=())
    elif case == "phase_id":
        v = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=256)))
        with pytest.raises(EncodeError, match="Phase.id"):
            Phase(v, (PhaseState(LightState.RED),))
    elif case == "lane_width":
        w = data.draw(st.floats(327.68, 1e6))  # LaneWidth 0..32767 cm
        with pytest.raises(EncodeError, match="laneWidth|LaneWidth"):
            encode_frame(MapData(0, (MapNode(NodeReferenceId(1), Position3D(39, 117), (
                MapLink(NodeReferenceId(2), (MapLane(1, lane_width_m=w),)),)),)))
    elif case == "node_id":
        v = data.draw(st.integers(min_value=65536))
        with pytest.raises(EncodeError, match="NodeReferenceId.id"):
            NodeReferenceId(v)
    elif case == "rsi_radius":
        r = data.draw(st.floats(6553.6, 1e7))  # Radius 0..65535 x 0.1 m
        with pytest.raises(EncodeError, match="eventRadius"):
            encode_frame(Rsi(0, bytes(8), Position3D(39, 117), events=(RoadTrafficEvent(
                rte_id=1, event_type=100, radius_m=r),)))
    elif case == "rsm_ptc_id":
        v = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=65536)))
        with pytest.raises(EncodeError, match="ptc_id"):
            _participant(ptc_id=v)
    elif case == "rsm_pos_conf":
        v = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=16)))
        with pytest.raises(EncodeError, match="pos_confidence"):
            _participant(pos_confidence=v)
    elif case == "rsm_sec_mark":
        s = data.draw(st.floats(60.0006, 1e6))
        with pytest.raises(EncodeError, match="DSecond"):
            encode_frame(Rsm(0, bytes(8), Position3D(39.0558, 117.0551),
                             (_participant(sec_mark_s=s),)))
    elif case == "rsm_cnt":
        v = data.draw(st.integers(min_value=128))
        with pytest.raises(EncodeError, match="msg_cnt"):
            Rsm(v, bytes(8), Position3D(39.0558, 117.0551), (_participant(),))
    else:  # 17 participants, SIZE(1..16)
        n = data.draw(st.integers(17, 40))
        with pytest.raises(EncodeError, match="participants"):
            Rsm(0, bytes(8), Position3D(39.0558, 117.0551), (_participant(),) * n)


def test_compiled_spec_is_cached_on_disk_and_a_bad_cache_is_ignored(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = ("from v2x.messages import *\n"
            "spat = Spat(0, (IntersectionState(NodeReferenceId(1), IntersectionStatus.NONE, "
            "(Phase(1, (PhaseState(3),)),)),))\n"
            "frame = encode_frame(spat)\n"
            "assert decode_frame(frame) == spat\n"
            "print(frame.hex())\n")
    env = {**os.environ, "V2X_CACHE": str(tmp_path)}

    def run() -> str:
        return subprocess.run([sys.executable, "-c", code], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    first = run()
    assert first == encode_frame(Spat(0, (IntersectionState(
        NodeReferenceId(1), IntersectionStatus.NONE, (Phase(1, (PhaseState(3),)),)),))).hex()
    files = list((tmp_path / "asn1").glob("uper-*.pickle"))
    assert len(files) == 1 and files[0].stat().st_size > 10_000
    assert run() == first  # loaded from the file: the same codec, the same decoded speed
    files[0].write_bytes(b"not a pickle")  # a damaged cache is compiled over, not fatal
    assert run() == first
    assert files[0].read_bytes()[:1] == b"\x80"  # rewritten as a pickle
