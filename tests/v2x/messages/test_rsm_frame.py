"""RSM frames from columns: byte-identical to ``encode_frame`` (asn1tools) of the equivalent
``Rsm`` on random and edge values, hand-derived bits, round trips through ``decode_frame``,
the SI conversion of ``RsmParticipants.from_si`` (fast path and ``_units`` fallback) and
the errors."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.v2x.messages.test_uper import NOW, _bits, _grid, _nan_or, _opt, ids
from v2x.errors import EncodeError
from v2x.messages import (
    Participant,
    ParticipantType,
    Position3D,
    Rsm,
    RsmFrameEncoder,
    RsmParticipants,
    SourceType,
    decode_frame,
    encode_frame,
)
from v2x.messages import _units as u
from v2x.messages._rsm_frame import _LINEAR, _LINEAR_HI, _LINEAR_LO, _LINEAR_LSB, _linear_units
from v2x.messages._uper import _ASN, _frame_value, compiled_spec
from v2x.units import G

NAN = math.nan
#: offsets [1e-7 deg] at and just beyond each PositionOffsetLL form's bounds (OffsetLL-B12
#: .. B24), and beyond the last one (position-LatLon)
_EDGES = [e for b in (12, 14, 16, 18, 22, 24)
          for e in (2 ** (b - 1) - 1, 2 ** (b - 1), -(2 ** (b - 1)), -(2 ** (b - 1)) - 1)]
deltas = st.one_of(st.sampled_from(_EDGES), st.integers(-2048, 2047),
                   st.integers(-8_388_608, 8_388_607), st.integers(-30_000_000, 30_000_000))


def _columns(parts: Sequence[Participant]) -> RsmParticipants:
    """The columns of roadside ``Participant`` values (no id, height nor elevation), each
    field converted by its own ``_units`` encoder, value by value (written independently of
    ``RsmParticipants.from_si``)."""
    accel = [p.accel if p.accel is not None else (0.0, 0.0, 0.0, 0.0) for p in parts]

    def col(values: Sequence[object]) -> np.ndarray:
        return np.array([int(v) for v in values], np.int64)  # type: ignore[call-overload]

    return RsmParticipants(
        ptc_type=col([p.ptc_type for p in parts]), ptc_id=col([p.ptc_id for p in parts]),
        source=col([p.source for p in parts]),
        sec_mark=col([u.encode_dsecond(p.sec_mark_s) for p in parts]),
        lat=col([u.encode_latitude(p.pos.lat_deg) for p in parts]),
        lon=col([u.encode_longitude(p.pos.lon_deg) for p in parts]),
        pos_confidence=col([p.pos_confidence for p in parts]),
        speed=col([u.encode_speed(p.speed_mps) for p in parts]),
        heading=col([u.encode_heading(p.heading_deg) for p in parts]),
        accel_set=np.array([p.accel is not None for p in parts], bool),
        accel_long=col([u.encode_acceleration(a[0]) for a in accel]),
        accel_lat=col([u.encode_acceleration(a[1]) for a in accel]),
        accel_vert=col([u.encode_vertical_acceleration(a[2]) for a in accel]),
        yaw_rate=col([u.encode_yaw_rate(a[3]) for a in accel]),
        width=col([u.encode_vehicle_width(p.width_m) for p in parts]),
        length=col([u.encode_vehicle_length(p.length_m) for p in parts]),
        vehicle_class=np.array([p.classification is not None for p in parts], bool),
        classification=col([p.classification or 0 for p in parts]))


@st.composite
def roadside_rsms(draw: st.DrawFn, max_participants: int = 16) -> Rsm:
    """RSMs as roadside perception sends them, every optional field present or absent, values
    on the standard's grids (so decoding gives them back exactly)."""
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
        width_m=draw(_nan_or(_grid(1, 1023, 0.01))),
        length_m=draw(_nan_or(_grid(1, 4095, 0.01))),
        accel=draw(_opt(st.tuples(_nan_or(_grid(-2000, 2000, 0.01)),
                                  _nan_or(_grid(-2000, 2000, 0.01)),
                                  _nan_or(_grid(-126, 127, 0.02 * G)),
                                  _grid(-32767, 32767, 0.01)))),
        classification=draw(_opt(st.integers(0, 255))))
        for _ in range(draw(st.integers(1, max_participants))))
    ref = Position3D(rlat * 1e-7, rlon * 1e-7, draw(_opt(_grid(-4095, 61439, 0.1))))
    return Rsm(draw(st.integers(0, 127)), draw(ids), ref, parts)


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(roadside_rsms())
def test_frame_equals_encode_frame_and_decodes_back(m: Rsm) -> None:
    frame = RsmFrameEncoder(m.id, m.ref_pos).encode(m.msg_cnt, _columns(m.participants))
    assert frame == encode_frame(m)
    assert repr(decode_frame(frame, now_ns=NOW)) == repr(m)  # repr: NaN equals itself


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(roadside_rsms(max_participants=1), min_size=1, max_size=40),
       st.integers(0, 127))
def test_frames_split_participants_16_per_rsm(ms: list[Rsm], first_cnt: int) -> None:
    # one RSU (the first message's id and refPos), participants of every message in order
    head = ms[0]
    parts = tuple(p for m in ms for p in m.participants)
    cnts = [(first_cnt + i) % 128 for i in range(-(-len(parts) // 16))]
    frames = RsmFrameEncoder(head.id, head.ref_pos).frames(cnts, _columns(parts))
    want = [encode_frame(Rsm(cnt, head.id, head.ref_pos, parts[16 * i:16 * i + 16]))
            for i, cnt in enumerate(cnts)]
    assert frames == want
    assert [len(decode_frame(f, now_ns=NOW).participants) for f in frames] == [  # type: ignore[union-attr]
        min(16, len(parts) - 16 * i) for i in range(len(cnts))]


def _edge_participants() -> tuple[Participant, ...]:
    """One participant per edge of every range the RSM encoder writes (SI values decoded from
    the standard's integers, so that decoding the frame gives them back exactly)."""
    accel, vert, yaw = (lambda v: float(u.decode_acceleration(v)),
                        lambda v: float(u.decode_vertical_acceleration(v)),
                        lambda v: float(u.decode_yaw_rate(v)))
    edges: list[dict[str, object]] = [
        dict(ptc_type=ParticipantType.UNKNOWN, ptc_id=0, source=SourceType.UNKNOWN,
             sec_mark_s=0.0, pos_confidence=0, speed_mps=0.0, heading_deg=0.0,
             width_m=float(u.decode_vehicle_width(1)),
             length_m=float(u.decode_vehicle_length(1)),
             accel=(accel(-2000), accel(-2000), vert(-126), yaw(-32767)), classification=0),
        dict(ptc_type=ParticipantType.RSU, ptc_id=65535, source=SourceType.INTEGRATED,
             sec_mark_s=float(u.decode_dsecond(59999)), pos_confidence=15,
             speed_mps=float(u.decode_speed(8190)), heading_deg=float(u.decode_heading(28799)),
             width_m=float(u.decode_vehicle_width(1023)),
             length_m=float(u.decode_vehicle_length(4095)),
             accel=(accel(2000), accel(2000), vert(127), yaw(32767)), classification=255),
        dict(ptc_type=ParticipantType.PEDESTRIAN, ptc_id=1, source=SourceType.VIDEO,
             sec_mark_s=NAN, pos_confidence=8, speed_mps=NAN, heading_deg=NAN, width_m=NAN,
             length_m=NAN, accel=(NAN, NAN, NAN, 0.0), classification=None),
        dict(ptc_type=ParticipantType.MOTOR, ptc_id=2, source=SourceType.LIDAR,
             sec_mark_s=1.0, pos_confidence=1, speed_mps=1.0, heading_deg=1.0, width_m=1.8,
             length_m=4.5, accel=None, classification=10),
    ]
    # every PositionOffsetLL form at its edges, lat and lon in turn; the others at 0
    offsets = [(d, 0) for d in _EDGES] + [(0, d) for d in _EDGES] + [(d, -d) for d in _EDGES]
    return tuple(Participant(pos=Position3D((390_000_000 + dlat) * 1e-7,
                                            (1_170_000_000 + dlon) * 1e-7),
                             **edges[i % len(edges)])  # type: ignore[arg-type]
                 for i, (dlat, dlon) in enumerate(offsets))


@pytest.mark.parametrize("ref", [
    Position3D(39.0, 117.0), Position3D(39.0, 117.0, float(u.decode_elevation(-4095))),
    Position3D(39.0, 117.0, float(u.decode_elevation(61439)))])
def test_range_edges_equal_encode_frame(ref: Position3D) -> None:
    parts = _edge_participants()
    rid = bytes(range(1, 9))
    cnts = [0, 127, 64, 1, 2, 3, 4][:-(-len(parts) // 16)]
    frames = RsmFrameEncoder(rid, ref).frames(cnts, _columns(parts))
    for i, (cnt, frame) in enumerate(zip(cnts, frames, strict=True)):
        m = Rsm(cnt, rid, ref, parts[16 * i:16 * i + 16])
        assert frame == encode_frame(m)
        assert repr(decode_frame(frame, now_ns=NOW)) == repr(m)


def test_positions_at_the_globes_edges_are_sent_absolute() -> None:
    # offsets from a refPos on the other side of the globe do not fit 24 bits
    ref = Position3D(0.0, 0.0)
    parts = tuple(Participant(ptc_type=ParticipantType.MOTOR, ptc_id=j, source=SourceType.V2X,
                              sec_mark_s=1.0, pos=pos, speed_mps=1.0, heading_deg=1.0,
                              width_m=1.8, length_m=4.5)
                  for j, pos in enumerate([Position3D(90.0, 180.0), Position3D(-90.0, -180.0),
                                           Position3D(-89.9999999, -179.9999999)]))
    frame = RsmFrameEncoder(bytes(8), ref).encode(5, _columns(parts))
    assert frame == encode_frame(Rsm(5, bytes(8), ref, parts))


def test_unavailable_position_is_sent_absolute() -> None:
    # Position3D has no "unavailable"; columns may carry the sentinel: compare with asn1tools
    # on the value with the position-LatLon alternative asn1tools' builder picks for it
    ref = Position3D(39.0, 117.0)
    part = Participant(ptc_type=ParticipantType.MOTOR, ptc_id=9, source=SourceType.V2X,
                       sec_mark_s=1.0, pos=Position3D(39.0, 117.0), speed_mps=1.0,
                       heading_deg=1.0, width_m=1.8, length_m=4.5)
    value = _frame_value(_ASN, Rsm(3, bytes(8), ref, (part,)))
    value[1]["participants"][0]["pos"]["offsetLL"] = (
        "position-LatLon", {"lon": 1_170_000_000, "lat": u.LATITUDE_UNAVAILABLE})
    cols = _columns((part,))
    cols.lat[0] = u.LATITUDE_UNAVAILABLE
    frame = RsmFrameEncoder(bytes(8), ref).encode(3, cols)
    assert frame == compiled_spec().encode("MessageFrame", value, check_constraints=True)


def test_one_participant_bits_by_hand() -> None:
    part = Participant(ptc_type=ParticipantType.PEDESTRIAN, ptc_id=0x1234,
                       source=SourceType.INTEGRATED, sec_mark_s=13.045,
                       pos=Position3D(39.0000001, 117.0000002), pos_confidence=8,
                       speed_mps=1.3, heading_deg=90.0, width_m=0.5, length_m=0.3,
                       accel=(-1.5, NAN, NAN, 0.0), classification=82)
    rid = (0x0102030405060708).to_bytes(8, "big")
    # MessageFrame: ext 0, rsmFrame = index 2 of 5 in 3 bits; RSM: ext 0, msgCnt 5, id
    # refPos: elevation absent, lat 39 deg + 900000000 in 31 bits, long 117 deg + 1799999999
    # in 32 bits; participants SIZE(1..16): 1 - 1 in 4 bits
    # ParticipantData: ext 0; id, transmission, angle, motionCfd absent, accelSet and
    #   vehicleClass present; ptcType pedestrian: ext 0 + 3; ptcId; source integrated: ext 0
    #   + 7; secMark 13045 ms
    #   pos: offsetV absent, position-LL1 (index 0): lon +2, lat +1 in 12 bits as value + 2048
    #   posConfidence: elevation absent, a2m = 8; speed 1.3 / 0.02 = 65; heading 90 / 0.0125
    #   accelSet: long -150 + 2000, lat 2001 + 2000 (unavailable), vert -127 + 127
    #     (unavailable), yaw 0 + 32767
    #   size: height absent, width 50 cm, length 30 cm
    #   vehicleClass: ext 0, fuelType absent, classification 82
    want = _bits((0, 1), (2, 3), (0, 1), (5, 7), (0x0102030405060708, 64),
                 (0, 1), (390_000_000 + 900_000_000, 31), (1_170_000_000 + 1_799_999_999, 32),
                 (0, 4),
                 (0, 1), (0, 4), (1, 1), (1, 1), (0, 1), (3, 3), (0x1234, 16), (0, 1), (7, 3),
                 (13045, 16),
                 (0, 1), (0, 3), (2 + 2048, 12), (1 + 2048, 12),
                 (0, 1), (8, 4), (65, 13), (7200, 15),
                 (1850, 12), (4001, 12), (0, 8), (32767, 16),
                 (0, 1), (50, 10), (30, 12),
                 (0, 1), (0, 1), (82, 8))
    frame = RsmFrameEncoder(rid, Position3D(39.0, 117.0)).encode(5, _columns((part,)))
    assert frame == want
    assert frame == encode_frame(Rsm(5, rid, Position3D(39.0, 117.0), (part,)))


# ======================================================================== from SI columns


def _policy_participants(si: dict[str, np.ndarray], source: SourceType, sec_mark_s: float,
                         conf: int) -> tuple[Participant, ...]:
    """Participant values of SI columns with the rules ``from_si`` documents: accelSet (long
    only) where the acceleration is finite, vehicleClass where the class is 0..255."""
    return tuple(Participant(
        ptc_type=ParticipantType(int(si["ptc_type"][j])), ptc_id=int(si["ptc_id"][j]),
        source=source, sec_mark_s=sec_mark_s,
        pos=Position3D(float(si["lat_deg"][j]), float(si["lon_deg"][j])),
        pos_confidence=conf, speed_mps=float(si["speed_mps"][j]),
        heading_deg=float(si["heading_deg"][j]), width_m=float(si["width_m"][j]),
        length_m=float(si["length_m"][j]),
        accel=(float(si["accel_mps2"][j]), NAN, NAN, 0.0)
        if math.isfinite(si["accel_mps2"][j]) else None,
        classification=int(si["classification"][j])
        if 0 <= si["classification"][j] <= 255 else None)
        for j in range(len(si["ptc_type"])))


def _random_si(rng: np.random.Generator, k: int, *, special: bool) -> dict[str, np.ndarray]:
    """Random SI columns around (39, 117) deg; ``special``: with values the fast path leaves
    to ``_units`` (NaN, saturating, wrapping, -180 deg)."""
    si = {
        "ptc_type": rng.integers(0, 5, k).astype(np.int8), "ptc_id": rng.integers(0, 65536, k),
        "lat_deg": 39.0 + rng.uniform(-0.01, 0.01, k),
        "lon_deg": 117.0 + rng.uniform(-0.01, 0.01, k),
        "speed_mps": rng.uniform(0, 40, k), "heading_deg": rng.uniform(0, 360, k),
        "accel_mps2": np.where(rng.random(k) < 0.3, NAN, rng.uniform(-8, 8, k)),
        "width_m": rng.uniform(0.3, 2.6, k), "length_m": rng.uniform(0.3, 18, k),
        "classification": rng.choice([-1, 0, 10, 82, 255, 256, 300], k).astype(np.int16),
    }
    # values on the grid's half steps: ties round to even, as _units rounds
    si["speed_mps"][::3] = (np.arange(len(si["speed_mps"][::3])) + 0.5) * 0.02
    if special:
        j = rng.integers(0, k)
        column, value = [("speed_mps", NAN), ("speed_mps", 200.0), ("heading_deg", NAN),
                         ("heading_deg", 359.9999), ("heading_deg", -0.001),
                         ("accel_mps2", 35.0), ("accel_mps2", -np.inf), ("width_m", 0.0),
                         ("width_m", NAN), ("length_m", 60.0), ("lon_deg", -180.0),
                         ("lon_deg", 180.0), ("lat_deg", -90.0)][rng.integers(0, 13)]
        si[column][j] = value
    return si


@pytest.mark.parametrize("special", [False, True])
def test_from_si_frames_equal_encode_frame_of_participants(special: bool) -> None:
    rng = np.random.default_rng(7 + special)
    enc = RsmFrameEncoder(bytes(range(8)), Position3D(39.0, 117.0))
    for k in [1, 2, 3, 15, 16, 17, 40, *rng.integers(1, 50, 30).tolist()]:
        si = _random_si(rng, k, special=special)
        source, sec, conf = SourceType(int(rng.integers(0, 8))), 59.9996, int(rng.integers(16))
        cols = RsmParticipants.from_si(source=source, sec_mark_s=sec, pos_confidence=conf,
                                       **si)
        parts = _policy_participants(si, source, sec, conf)
        cnts = [int(c) for c in rng.integers(0, 128, -(-k // 16))]
        want = [encode_frame(Rsm(c, bytes(range(8)), Position3D(39.0, 117.0),
                                 parts[16 * i:16 * i + 16])) for i, c in enumerate(cnts)]
        assert enc.frames(cnts, cols) == want


def test_linear_units_equal_each_units_encoder() -> None:
    # every linear element on values around its range's edges, its ties and its sentinels:
    # one pass when all are in range, the encoders otherwise; the same integers either way
    rng = np.random.default_rng(11)
    for _ in range(200):
        rows = []
        for _, _, lsb, lo, hi in _LINEAR:
            edge = np.array([lo, hi, lo - 1, hi + 1, lo + 0.5, hi - 0.5, 0.5, 1.5]) * lsb
            values = np.concatenate([rng.uniform(lo, hi, 6) * lsb, edge])
            keep = rng.random(values.size) < (0.98 if rng.random() < 0.5 else 0.6)
            rows.append(np.where(keep, values, rng.uniform(lo, hi, values.size) * lsb))
        si = np.array(rows)
        if rng.random() < 0.2:
            si[rng.integers(0, len(_LINEAR)), rng.integers(0, si.shape[1])] = NAN
        if rng.random() < 0.5:  # mostly in range: the one-pass path
            si = np.clip(si, _LINEAR_LO * _LINEAR_LSB, _LINEAR_HI * _LINEAR_LSB)
        try:
            want = np.array([np.asarray(encode(row)) for (_, encode, _, _, _), row
                             in zip(_LINEAR, si, strict=True)])
        except EncodeError as exc:  # e.g. a negative speed: the same error
            with pytest.raises(EncodeError, match=str(exc).split(":")[0]):
                _linear_units(si)
            continue
        assert np.array_equal(_linear_units(si), want)


@pytest.mark.parametrize(("column", "value", "match"), [
    ("speed_mps", -1.0, "Speed: negative value"),
    ("heading_deg", np.inf, "Heading: value"),
    ("width_m", -0.5, "VehicleWidth: negative size"),
    ("length_m", NAN, None),  # NaN is "invalid" (0), not an error: no raise
    ("lat_deg", 90.5, "Latitude: value"),
    ("lon_deg", 181.0, "Longitude: value"),
])
def test_from_si_refuses_what_encode_frame_refuses(column: str, value: float,
                                                   match: str | None) -> None:
    si = _random_si(np.random.default_rng(3), 4, special=False)
    si[column][2] = value
    kw = dict(source=SourceType.VIDEO, sec_mark_s=1.0, pos_confidence=8)
    if match is None:
        assert RsmParticipants.from_si(**kw, **si).length[2] == 0  # type: ignore[arg-type]
        return
    with pytest.raises(EncodeError, match=match):
        RsmParticipants.from_si(**kw, **si)  # type: ignore[arg-type]
    if column in ("lat_deg", "lon_deg"):
        return  # a Position3D off the globe cannot even be built
    # the object path refuses the same value with the same words
    fields: dict[str, object] = dict(speed_mps=1.0, heading_deg=1.0, width_m=1.8, length_m=4.5)
    part = Participant(ptc_type=ParticipantType.MOTOR, ptc_id=1, source=SourceType.VIDEO,
                       sec_mark_s=1.0, pos=Position3D(39.0, 117.0),
                       **{**fields, column: value})  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match=match):
        encode_frame(Rsm(0, bytes(8), Position3D(39.0, 117.0), (part,)))


# ======================================================================== errors


def _one(**kw: object) -> RsmParticipants:
    """One valid participant's columns, with ``kw`` columns replaced."""
    part = Participant(ptc_type=ParticipantType.MOTOR, ptc_id=1, source=SourceType.VIDEO,
                       sec_mark_s=1.0, pos=Position3D(39.0, 117.0), speed_mps=1.0,
                       heading_deg=1.0, width_m=1.8, length_m=4.5,
                       accel=(1.0, NAN, NAN, 0.0), classification=10)
    cols = _columns((part,))
    return RsmParticipants(**{**{f: getattr(cols, f) for f in cols.__dataclass_fields__},
                              **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("column", "value", "field"), [
    ("ptc_type", 5, "ptcType"), ("ptc_id", 65536, "ptcId"), ("ptc_id", -1, "ptcId"),
    ("source", 8, "source"), ("sec_mark", 65536, "secMark"),
    ("lat", -900_000_001, "pos.lat"), ("lon", 1_800_000_002, "pos.long"),
    ("pos_confidence", 16, "posConfidence.pos"), ("speed", 8192, "speed"),
    ("heading", 28801, "heading"), ("width", 1024, "size.width"),
    ("length", -1, "size.length"), ("accel_long", 2002, "accelSet.long"),
    ("accel_lat", -2001, "accelSet.lat"), ("accel_vert", -128, "accelSet.vert"),
    ("yaw_rate", 32768, "accelSet.yaw"), ("classification", 256, "vehicleClass.classification"),
])
def test_out_of_range_columns_name_the_field_and_value(column: str, value: int,
                                                       field: str) -> None:
    enc = RsmFrameEncoder(bytes(8), Position3D(39.0, 117.0))
    with pytest.raises(EncodeError, match=rf"RSM participants\.{field}: value {value} is "
                                          rf"outside"):
        enc.encode(0, _one(**{column: np.array([value])}))


def test_absent_optional_fields_are_not_checked() -> None:
    enc = RsmFrameEncoder(bytes(8), Position3D(39.0, 117.0))
    frame = enc.encode(0, _one(accel_set=np.array([False]), accel_long=np.array([99_999]),
                               vehicle_class=np.array([False]),
                               classification=np.array([-1])))
    m = decode_frame(frame, now_ns=NOW)
    assert isinstance(m, Rsm)
    assert (m.participants[0].accel, m.participants[0].classification) == (None, None)


def test_bad_counts_ids_and_columns_are_refused() -> None:
    enc = RsmFrameEncoder(bytes(8), Position3D(39.0, 117.0))
    one = _one()
    with pytest.raises(EncodeError, match=r"RSM msgCnt: value 128 is outside 0\.\.127"):
        enc.encode(128, one)
    with pytest.raises(EncodeError, match="RSM msgCnt: value -1"):
        enc.frames([-1], one)
    many = RsmParticipants(**{f: np.repeat(getattr(one, f), 17)
                              for f in one.__dataclass_fields__})
    with pytest.raises(EncodeError, match="17 participants; an RSM holds 1..16"):
        enc.encode(0, many)
    with pytest.raises(EncodeError, match="17 participants make 2 frames, got 1 msgCnt"):
        enc.frames([0], many)
    assert len(enc.frames([0, 1], many)) == 2
    empty = RsmParticipants(**{f: getattr(one, f)[:0] for f in one.__dataclass_fields__})
    with pytest.raises(EncodeError, match="RSM participants: none; an RSM holds 1..16"):
        enc.frames([], empty)
    with pytest.raises(EncodeError, match="Rsm.id must be 8 bytes"):
        RsmFrameEncoder(bytes(7), Position3D(39.0, 117.0))
    with pytest.raises(EncodeError, match=r"RsmParticipants.speed: expected a \(1,\) array "
                                          "of integers"):
        _one(speed=np.array([1.5]))
    with pytest.raises(EncodeError, match="RsmParticipants.width: expected a"):
        _one(width=np.array([1, 2]))
    with pytest.raises(EncodeError, match="RsmParticipants.accel_set: expected a .* "
                                          "booleans"):
        _one(accel_set=np.array([1]))


def _rows(cols: RsmParticipants, a: int, b: int) -> RsmParticipants:
    return RsmParticipants(**{f: getattr(cols, f)[a:b] for f in cols.__dataclass_fields__})


def test_frames_of_groups_never_share_a_frame() -> None:
    # 20 participants (ptcId 1..20) in groups of 1, 17 and 2: 1 + 2 + 1 = 4 frames, each
    # the frame of its own slice: [0:1], [1:17], [17:18], [18:20]
    enc = RsmFrameEncoder(bytes(8), Position3D(39.0, 117.0))
    one = _one()
    cols = RsmParticipants(**{**{f: np.repeat(getattr(one, f), 20)
                                 for f in one.__dataclass_fields__},
                              "ptc_id": np.arange(1, 21)})
    frames = enc.frames([5, 6, 7, 8], cols, groups=[1, 17, 2])
    assert frames == [enc.encode(5, _rows(cols, 0, 1)), enc.encode(6, _rows(cols, 1, 17)),
                      enc.encode(7, _rows(cols, 17, 18)), enc.encode(8, _rows(cols, 18, 20))]
    assert enc.frames([5, 6], cols, groups=[20]) == enc.frames([5, 6], cols)
    with pytest.raises(EncodeError, match="20 participants make 4 frames, got 3 msgCnt"):
        enc.frames([5, 6, 7], cols, groups=[1, 17, 2])
    with pytest.raises(EncodeError, match="groups of 19 participants, got 20"):
        enc.frames([5, 6, 7], cols, groups=[1, 16, 2])
    with pytest.raises(EncodeError, match="RSM participants: none"):
        enc.frames([5, 6, 7], cols, groups=[0, 18, 2])


def test_the_first_participant_out_of_range_is_named() -> None:
    # participant 0: heading 28801 (after its valid ptcType); participant 1: ptcType 5. The
    # error names participant 0's heading, as a participant-by-participant check would
    one = _one()
    two = RsmParticipants(**{**{f: np.repeat(getattr(one, f), 2)
                                for f in one.__dataclass_fields__},
                             "heading": np.array([28801, 1]), "ptc_type": np.array([1, 5])})
    enc = RsmFrameEncoder(bytes(8), Position3D(39.0, 117.0))
    with pytest.raises(EncodeError, match=r"participants\.heading: value 28801"):
        enc.frames([0], two)


def test_narrow_integer_columns_encode_as_int64_ones() -> None:
    # int8 / int16 / uint16 columns: the shifts are done in int64, not in the column's dtype
    one = _one()
    wide = {f: getattr(one, f) for f in one.__dataclass_fields__}
    narrow = {**wide, "ptc_type": wide["ptc_type"].astype(np.int8),
              "pos_confidence": wide["pos_confidence"].astype(np.int8),
              "speed": wide["speed"].astype(np.uint16), "width": wide["width"].astype(np.int16),
              "classification": wide["classification"].astype(np.uint8)}
    enc = RsmFrameEncoder(bytes(8), Position3D(39.0, 117.0))
    assert enc.encode(3, RsmParticipants(**narrow)) == enc.encode(3, RsmParticipants(**wide))
