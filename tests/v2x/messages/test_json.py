"""The SPAT JSON template gives exactly the bytes of the message classes' JSON form."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from v2x.errors import EncodeError
from v2x.messages import (
    IntersectionState,
    IntersectionStatus,
    LightState,
    NodeReferenceId,
    Phase,
    PhaseState,
    Spat,
    TimeCountingDown,
    spat_to_json,
    to_json_bytes,
)
from v2x.messages import _units as u
from v2x.messages._json import SpatJsonTemplate, _moy_sec

S = 1_000_000_000  # ns per s
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _utc_ns(*args: int) -> int:
    return int((dt.datetime(*args, tzinfo=dt.UTC) - EPOCH).total_seconds()) * S


def test_template_bytes_by_hand() -> None:
    t = SpatJsonTemplate(intersection_id=NodeReferenceId(id=7, region=3),
                         status=IntersectionStatus.FIXED_TIME_OPERATION,
                         lights=[6, 3], likely_end_after_ns=[0, -1],
                         next_start_after_ns=[49 * S, -1], next_duration_ns=[41 * S, -1],
                         fixed_time=True)
    # 2026-06-01 00:00:30.25 UTC: minute of the year (2026 is a common year) =
    # (31 + 28 + 31 + 30 + 31) days * 1440 = 217440; DSecond = 30.25 s = 30250 ms.
    ts = _utc_ns(2026, 6, 1, 0, 0, 30) + 250_000_000
    # 2.34 s left of the phase: group 1 ends with it, TimeMark round(23.4) = 23, and is green
    # again after 49 + 2.34 = 51.34 s -> 513, for 41 s -> 410; group 2 never ends -> 36001
    # (unknown) and has no min/max/next fields.
    got = t.encode(9, ts, 2_340_000_000)
    assert got == (
        b'{"msgCnt":9,"moy":217440,"timeStamp":30250,"intersections":[{"intersectionId":'
        b'{"id":7,"region":3},"status":32,"timeStamp":30250,"phases":['
        b'{"id":1,"phaseStates":[{"light":"protected-green","timing":{"counting":{'
        b'"startTime":0,"likelyEndTime":23,"minEndTime":23,"maxEndTime":23,'
        b'"nextStartTime":513,"nextDuration":410}}}]},'
        b'{"id":2,"phaseStates":[{"light":"red","timing":{"counting":{'
        b'"startTime":0,"likelyEndTime":36001}}}]}]}]}')
    # without a timestamp the three time fields are absent; a negative remaining time is 0:
    # group 1 likely end 0 -> 0, next start 49 s -> 490
    assert t.encode(0, None, -5) == (
        b'{"msgCnt":0,"intersections":[{"intersectionId":{"id":7,"region":3},"status":32,'
        b'"phases":[{"id":1,"phaseStates":[{"light":"protected-green","timing":{"counting":{'
        b'"startTime":0,"likelyEndTime":0,"minEndTime":0,"maxEndTime":0,'
        b'"nextStartTime":490,"nextDuration":410}}}]},'
        b'{"id":2,"phaseStates":[{"light":"red","timing":{"counting":{'
        b'"startTime":0,"likelyEndTime":36001}}}]}]}]}')


def _reference(msg_cnt: int, ts: int | None, node: NodeReferenceId, status: int,
               lights: list[int], likely: list[int], nxt: list[int], dur: list[int],
               fixed: bool, remaining_ns: int) -> bytes:
    """The slow path: message objects and spat_to_json (as SpatBuilder.build does)."""
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
    return to_json_bytes(spat_to_json(Spat(msg_cnt=msg_cnt, intersections=(state,),
                                           timestamp_ns=ts)))


def test_template_equals_the_message_classes_on_random_states() -> None:
    rng = np.random.default_rng(7)
    t0 = _utc_ns(2026, 6, 1)

    def times(k: int) -> list[int]:
        # unknown (-1), whole 0.1 s, any ms, and up to 2 h (beyond the 1 h TimeMark cap)
        kind = rng.integers(0, 4, size=k)
        v = rng.integers(0, 7200 * 1000, size=k) * 1_000_000
        v = np.where(kind == 1, v // 100_000_000 * 100_000_000, v)
        v = np.where(kind == 2, v % (120 * S), v)
        return np.where(kind == 0, -1, v).tolist()

    for _ in range(400):
        k = int(rng.integers(1, 17))
        node = NodeReferenceId(id=int(rng.integers(0, 65536)),
                               region=None if rng.random() < 0.5 else int(rng.integers(0, 65536)))
        status = int(rng.choice([IntersectionStatus.FIXED_TIME_OPERATION,
                                 IntersectionStatus.TRAFFIC_DEPENDENT_OPERATION]))
        lights = rng.integers(0, 9, size=k).tolist()
        likely, nxt, dur = times(k), times(k), times(k)
        fixed = bool(rng.random() < 0.5)
        tpl = SpatJsonTemplate(intersection_id=node, status=status, lights=lights,
                               likely_end_after_ns=likely, next_start_after_ns=nxt,
                               next_duration_ns=dur, fixed_time=fixed)
        for _ in range(5):
            cnt = int(rng.integers(0, 128))
            ts = None if rng.random() < 0.2 else t0 + int(rng.integers(0, 400 * 86400 * S))
            # ties at 0.05 s (rounded up), negative (clamped to 0) and past an hour
            rem = int(rng.choice([int(rng.integers(0, 120 * S)), 50_000_000,
                                  int(rng.integers(0, 1000)) * 100_000_000 + 50_000_000,
                                  -int(rng.integers(1, S)), 3599 * S + 950_000_000]))
            assert tpl.encode(cnt, ts, rem) == _reference(cnt, ts, node, status, lights,
                                                          likely, nxt, dur, fixed, rem)


def test_template_rejects_malformed_input() -> None:
    node = NodeReferenceId(1)
    with pytest.raises(EncodeError):
        SpatJsonTemplate(intersection_id=node, status=0, lights=[3, 3],
                         likely_end_after_ns=[0], next_start_after_ns=[0, 0],
                         next_duration_ns=[0, 0], fixed_time=True)
    with pytest.raises(EncodeError):
        SpatJsonTemplate(intersection_id=node, status=0, lights=[9], likely_end_after_ns=[0],
                         next_start_after_ns=[0], next_duration_ns=[0], fixed_time=True)


def test_moy_sec_equals_the_unit_functions() -> None:
    # by hand: 2023-12-31 23:59:59.9995 UTC rounds (ties up) to 2024-01-01 00:00:00.000 ->
    # minute 0, DSecond 0; the last ms of leap year 2024 is minute 366 * 1440 - 1 = 527039,
    # DSecond 59999.
    assert _moy_sec(_utc_ns(2023, 12, 31, 23, 59, 59) + 999_500_000) == (0, 0)
    assert _moy_sec(_utc_ns(2024, 12, 31, 23, 59, 59) + 999_000_000) == (527039, 59999)
    rng = np.random.default_rng(11)
    instants = [0, _utc_ns(2024, 2, 29, 12, 0, 0) + 499_999, _utc_ns(2100, 1, 1) - 1]
    instants += rng.integers(0, _utc_ns(2100, 1, 1), size=300).tolist()
    for year in (1999, 2000, 2023, 2024, 2026):  # around new year, to the ns
        instants += (_utc_ns(year, 1, 1) + rng.integers(-S, S, size=20)).tolist()
    for ns in instants:
        assert _moy_sec(int(ns)) == (int(u.minute_of_year(EPOCH, ns)),
                                     int(u.sec_mark(EPOCH, ns))), ns
    with pytest.raises(ValueError):  # before 1970: the unit functions' error
        _moy_sec(-1)
