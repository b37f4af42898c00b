"""SPAT / MAP UPER frame templates: hand-derived bits, byte-identical to ``encode_frame`` on
random states (unknown ends, past the 1 h cap, no timestamp), layout location checks, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.v2x.messages.test_uper import maps, rsis
from v2x.errors import EncodeError
from v2x.messages import (
    IntersectionState,
    IntersectionStatus,
    LightState,
    MapData,
    MapNode,
    NodeReferenceId,
    Phase,
    PhaseState,
    Position3D,
    Rsi,
    Spat,
    TimeCountingDown,
)
from v2x.messages._uper import (
    _ASN,
    MapFrameTemplate,
    RsiFrameTemplate,
    SpatFrameTemplate,
    _frame_value,
    _locate_fields,
    decode_frame,
    encode_frame,
)

S = 1_000_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _utc_ns(*args: int) -> int:
    return (dt.datetime(*args, tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1) * 1000


def _bits(*fields: tuple[int, int]) -> bytes:
    """(value, width) fields MSB first, padded with zero bits to whole octets (X.691 11.1)."""
    s = "".join(format(v, f"0{w}b") for v, w in fields)
    s += "0" * (-len(s) % 8)
    return int(s, 2).to_bytes(len(s) // 8, "big")


def _reference(msg_cnt: int, ts: int | None, node: NodeReferenceId, status: int,
               lights: list[int], likely: list[int], nxt: list[int], dur: list[int],
               fixed: bool, remaining_ns: int) -> bytes:
    """The slow path: message objects and encode_frame (as SpatBuilder.build does), written
    out here independently of SpatFrameTemplate.state."""
    rem = max(remaining_ns, 0)
    phases = []
    for g, light in enumerate(lights):
        le = likely[g] + rem if likely[g] >= 0 else None
        timing = TimeCountingDown(
            start_time_ns=0, likely_end_time_ns=le,
            min_end_time_ns=le if fixed else None, max_end_time_ns=le if fixed else None,
            next_start_time_ns=nxt[g] + rem if nxt[g] >= 0 else None,
            next_duration_ns=dur[g] if dur[g] >= 0 else None)
        phases.append(Phase(id=g + 1, states=(PhaseState(LightState(light), timing),)))
    state = IntersectionState(node, IntersectionStatus(status), tuple(phases), timestamp_ns=ts)
    return encode_frame(Spat(msg_cnt=msg_cnt, intersections=(state,), timestamp_ns=ts))


def _hand_template() -> SpatFrameTemplate:
    return SpatFrameTemplate(intersection_id=NodeReferenceId(1),
                             status=IntersectionStatus.FIXED_TIME_OPERATION,
                             lights=[3, 6], likely_end_after_ns=[0, -1],
                             next_start_after_ns=[49 * S, -1], next_duration_ns=[41 * S, -1],
                             fixed_time=True)


def test_spat_template_bits_by_hand() -> None:
    t = _hand_template()
    # 2026-06-01 00:00:30.25 UTC: moy = (31 + 28 + 31 + 30 + 31) days * 1440 = 217440,
    # DSecond 30250 (as in test_json.test_template_bytes_by_hand).
    ts = _utc_ns(2026, 6, 1, 0, 0, 30) + 250_000_000
    # 2.34 s left: group 1 (red) ends then -> TimeMark 23 (min = max = likely, fixed time),
    # red again after 49 + 2.34 s -> 513, for 41 s -> 410; group 2 (protected green) never
    # ends -> likelyEndTime 36001 and no optional timing fields.
    want = _bits(
        (0, 1), (3, 3),  # MessageFrame: ext 0, spatFrame = alternative 3 of 0..4
        (0, 1), (0b110, 3), (9, 7), (217440, 20), (30250, 16),  # SPAT: moy, timeStamp
        (0, 5),  # 1 intersection (SIZE 1..32)
        (0, 1), (0b010, 3),  # IntersectionState: only timeStamp of moy/timeStamp/confidence
        (0, 1), (1, 16), (0b0000010000000000, 16),  # id 1 without region; status bit 5
        (30250, 16), (1, 4),  # timeStamp; 2 phases (SIZE 1..16)
        (1, 8), (0, 4), (0, 1), (1, 1), (0, 1), (3, 4),  # phase 1: 1 state, timing, red
        (0, 1), (0, 1), (0b11011, 5),  # counting; min, max, next start, next duration
        (0, 16), (23, 16), (23, 16), (23, 16), (513, 16), (410, 16),
        (2, 8), (0, 4), (0, 1), (1, 1), (0, 1), (6, 4),  # phase 2: protected green
        (0, 1), (0, 1), (0, 5), (0, 16), (36001, 16))  # startTime 0, likelyEndTime unknown
    got = t.encode(9, ts, 2_340_000_000)
    assert got == want
    assert got == _reference(9, ts, NodeReferenceId(1), 32, [3, 6], [0, -1], [49 * S, -1],
                             [41 * S, -1], True, 2_340_000_000)
    assert t.size(stamped=True) == len(want)
    # decoded: the TimeMarks back in ns (0.1 s), unknown -> None
    spat = decode_frame(got, now_ns=ts)
    assert isinstance(spat, Spat)
    (inter,) = spat.intersections
    timing, timing2 = (p.states[0].timing for p in inter.phases)
    assert timing is not None and timing2 is not None
    assert (timing.likely_end_time_ns, timing.next_start_time_ns) == (23 * S // 10, 513 * S // 10)
    assert timing2.likely_end_time_ns is None


def test_spat_template_without_timestamp_and_caps() -> None:
    t = _hand_template()
    # no timestamp: moy/timeStamp absent in both SEQUENCEs (3 + 16 + 20 + 16 bits fewer);
    # a negative remaining time is 0: likely 0, next start 49 s -> 490
    got = t.encode(0, None, -5)
    assert got == _reference(0, None, NodeReferenceId(1), 32, [3, 6], [0, -1], [49 * S, -1],
                             [41 * S, -1], True, -5)
    assert t.size(stamped=False) == len(got)
    # 3599.95 s rounds to 36000 (tie up), next start 3648.95 s caps at 36000 ("1 h or more")
    got = t.encode(127, None, 3599 * S + 950_000_000)
    assert got == _reference(127, None, NodeReferenceId(1), 32, [3, 6], [0, -1], [49 * S, -1],
                             [41 * S, -1], True, 3599 * S + 950_000_000)
    spat = decode_frame(got, now_ns=0)
    assert isinstance(spat, Spat)
    timing = spat.intersections[0].phases[0].states[0].timing
    assert timing is not None
    assert timing.likely_end_time_ns == timing.next_start_time_ns == 3600 * S


times = st.one_of(st.just(-1), st.integers(0, 7200 * 1000).map(lambda k: k * 1_000_000),
                  st.integers(0, 72000).map(lambda k: k * 100_000_000))


@st.composite
def spat_states(draw: st.DrawFn) -> dict[str, Any]:
    k = draw(st.integers(1, 16))
    return {
        "intersection_id": NodeReferenceId(draw(st.integers(0, 65535)),
                                           draw(st.one_of(st.none(), st.integers(0, 65535)))),
        "status": draw(st.integers(0, 2**14 - 1)),
        "lights": draw(st.lists(st.integers(0, 8), min_size=k, max_size=k)),
        "likely_end_after_ns": draw(st.lists(times, min_size=k, max_size=k)),
        "next_start_after_ns": draw(st.lists(times, min_size=k, max_size=k)),
        "next_duration_ns": draw(st.lists(times, min_size=k, max_size=k)),
        "fixed_time": draw(st.booleans()),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=spat_states(), calls=st.lists(st.tuples(
    st.integers(0, 127),
    st.one_of(st.none(), st.integers(0, 2 * 365 * 86400 * 1000).map(
        lambda ms: _utc_ns(2025, 1, 1) + ms * 1_000_000 + 123)),
    st.one_of(st.integers(-5 * S, 130 * S), st.integers(0, 40000).map(
        lambda k: k * 100_000_000 + 50_000_000), st.just(3599 * S + 950_000_000))),
    min_size=1, max_size=4))
def test_spat_template_equals_encode_frame(args: dict[str, Any],
                                           calls: list[tuple[int, int | None, int]]) -> None:
    # random states: unknown likely end / next start / duration (-1), times past the 1 h
    # TimeMark cap, 0.05 s ties, negative remaining times, with and without a timestamp
    t = SpatFrameTemplate(**args)
    for cnt, ts, rem in calls:
        assert t.encode(cnt, ts, rem) == _reference(
            cnt, ts, args["intersection_id"], args["status"], args["lights"],
            args["likely_end_after_ns"], args["next_start_after_ns"], args["next_duration_ns"],
            args["fixed_time"], rem)
        assert len(t.encode(cnt, ts, rem)) == t.size(stamped=ts is not None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=maps(), cnt=st.integers(0, 127),
       ts=st.one_of(st.none(), st.integers(0, 3 * 365 * 86400).map(
           lambda s: _utc_ns(2024, 1, 1) + s * S + 499_999)))
def test_map_template_equals_encode_frame(m: MapData, cnt: int, ts: int | None) -> None:
    t = MapFrameTemplate(m.nodes)
    got = t.encode(cnt, ts)
    assert got == encode_frame(MapData(cnt, m.nodes, ts))
    assert len(got) == t.size(stamped=ts is not None)
    # the same template again with the other timestamp form and another count
    other = None if ts is not None else _utc_ns(2024, 12, 31, 23, 59, 59)
    assert t.encode(127 - cnt, other) == encode_frame(MapData(127 - cnt, m.nodes, other))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=rsis(), cnt=st.integers(0, 127),
       ts=st.one_of(st.none(), st.integers(0, 3 * 365 * 86400).map(
           lambda s: _utc_ns(2024, 1, 1) + s * S + 499_999)))
def test_rsi_template_equals_encode_frame(m: Rsi, cnt: int, ts: int | None) -> None:
    t = RsiFrameTemplate(m)
    got = t.encode(cnt, ts)
    assert got == encode_frame(dataclasses.replace(m, msg_cnt=cnt, timestamp_ns=ts))
    assert len(got) == t.size(stamped=ts is not None)
    other = None if ts is not None else _utc_ns(2024, 12, 31, 23, 59, 59)
    assert t.encode(127 - cnt, other) == encode_frame(
        dataclasses.replace(m, msg_cnt=127 - cnt, timestamp_ns=other))
    with pytest.raises(EncodeError):
        t.encode(128, ts)


def test_located_positions_by_hand() -> None:
    # SPAT of _hand_template: msgCnt starts after the MessageFrame's 4 bits and the SPAT's
    # ext + 3 presence bits -> bit 8; moy at 8 + 7 = 15; timeStamp at 35; the intersection's
    # timeStamp at 51 + 5 + 4 + 17 + 16 = 93; the first TimeMark (minEndTime, ASN.1 order)
    # at 93 + 16 + 4 + 8 + 4 + 7 + 2 + 5 + 16 (startTime) = 155.
    value = _frame_value(_ASN, Spat(0, (_hand_template().state(0, 0),), 0))
    tc = ("intersections", 0, "phases", 0, "phaseStates", 0, "timing", 1)
    fields = [(("msgCnt",), 7, 127), (("moy",), 20, 527040), (("timeStamp",), 16, 65535),
              (("intersections", 0, "timeStamp"), 16, 65535), ((*tc, "minEndTime"), 16, 36001)]
    layout = _locate_fields(value, fields)
    nbits = 8 * layout.nbytes
    assert [nbits - s - w for s, (_, w, _) in zip(layout.shifts, fields, strict=True)] == [
        8, 15, 35, 93, 155]
    # a too wide field is caught (msgCnt is 7 bits: the probe 2^7 is out of range), and so
    # are two fields on the same bits (their probe patterns merge into one unknown code)
    with pytest.raises(EncodeError):
        _locate_fields(value, [(("msgCnt",), 8, 127)])
    with pytest.raises(EncodeError):
        _locate_fields(value, [((*tc, "minEndTime"), 16, 36001),
                               ((*tc, "nextDuration"), 16, 36001),
                               ((*tc, "minEndTime"), 16, 36001)])


def test_templates_reject_bad_input() -> None:
    node = NodeReferenceId(1)
    kw: dict[str, Any] = {"intersection_id": node, "status": 0, "next_start_after_ns": [0],
          "next_duration_ns": [0], "fixed_time": False}
    with pytest.raises(EncodeError):
        SpatFrameTemplate(lights=[3, 3], likely_end_after_ns=[0], **kw)
    with pytest.raises(EncodeError):
        SpatFrameTemplate(lights=[9], likely_end_after_ns=[0], **kw)
    with pytest.raises(EncodeError):  # PhaseList is SIZE(1..16)
        SpatFrameTemplate(intersection_id=node, status=0, lights=[3] * 17,
                          likely_end_after_ns=[0] * 17, next_start_after_ns=[0] * 17,
                          next_duration_ns=[0] * 17, fixed_time=False)
    t = _hand_template()
    for cnt in (-1, 128):
        with pytest.raises(EncodeError):
            t.encode(cnt, None, 0)
    m = MapFrameTemplate(_map_one().nodes)
    with pytest.raises(EncodeError):
        m.encode(128, None)


def _map_one() -> MapData:
    return MapData(0, (MapNode(NodeReferenceId(3), Position3D(39.0, 117.0)),))


def test_map_template_bits_by_hand() -> None:
    # MessageFrame: ext 0, mapFrame = alternative 1 -> 0 001; MapData: ext 0, timeStamp
    # present 1, msgCnt 5 (7 bits), moy 217440 (20 bits); NodeList SIZE(1..63): 0 in 6 bits;
    # Node: ext 0, name absent 0, inLinks absent 0, id: region absent 0, 3 in 16 bits;
    # refPos: elevation absent 0, lat 39e7 + 9e8 in 31 bits, long 117e7 + 1799999999 in 32
    # bits
    t = MapFrameTemplate(_map_one().nodes)
    ts = _utc_ns(2026, 6, 1, 0, 0, 30)
    want = _bits((0, 1), (1, 3), (0, 1), (1, 1), (5, 7), (217440, 20), (0, 6), (0, 3),
                 (0, 1), (3, 16), (0, 1), (390_000_000 + 900_000_000, 31),
                 (1_170_000_000 + 1_799_999_999, 32))
    assert t.encode(5, ts) == want == encode_frame(MapData(5, _map_one().nodes, ts))
    assert t.size() == len(want)
