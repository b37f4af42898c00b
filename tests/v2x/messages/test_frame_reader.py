"""FrameReader: the same result as decode_frame for random SPATs of one shape with other
values (decoded on the fast path), for SPAT template frames as the RSUs send them, for
corrupted frames (the same DecodeError) and for other message types; its SPAT phase-state
columns equal those of the decoded message."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.v2x.messages.test_uper import NOW, maps, spats
from v2x.errors import DecodeError
from v2x.messages import (
    IntersectionStatus,
    NodeReferenceId,
    Spat,
    SpatPhaseStates,
    TimeCountingDown,
)
from v2x.messages._uper import FrameReader, SpatFrameTemplate, decode_frame, encode_frame

S = 1_000_000_000
_DS = 100_000_000


def _outcome(fn: Any, frame: bytes, now_ns: int) -> Any:
    try:
        return fn(frame, now_ns=now_ns)
    except DecodeError as exc:
        return ("DecodeError", str(exc))


def _columns(states: SpatPhaseStates) -> dict[str, tuple[str, list[Any]]]:
    """Every column of ``states`` as (dtype, values), for an exact comparison."""
    return {f: (str(getattr(states, f).dtype), getattr(states, f).tolist())
            for f in SpatPhaseStates.__dataclass_fields__}


def _states_outcome(reader: FrameReader, frame: bytes, now_ns: int) -> Any:
    try:
        return _columns(reader.spat_states(frame, now_ns=now_ns))
    except DecodeError as exc:
        return ("DecodeError", str(exc))


def _revalue(spat: Spat, rnd: random.Random) -> Spat:
    """The same shape (every optional field present or absent as in ``spat``) with other
    msgCnt, timestamps and TimeMarks."""
    def tm(v: int | None, *, required: bool) -> int | None:
        if v is None and not required:
            return None
        if required and rnd.random() < 0.2:
            return None  # an unknown likely end: TimeMark 36001, the same shape
        return rnd.randrange(0, 36001) * _DS

    def timing(t: TimeCountingDown | None) -> TimeCountingDown | None:
        if t is None:
            return None
        return dataclasses.replace(
            t, start_time_ns=tm(t.start_time_ns, required=False) or 0,
            likely_end_time_ns=tm(t.likely_end_time_ns, required=True),
            min_end_time_ns=tm(t.min_end_time_ns, required=False),
            max_end_time_ns=tm(t.max_end_time_ns, required=False),
            next_start_time_ns=tm(t.next_start_time_ns, required=False),
            next_duration_ns=tm(t.next_duration_ns, required=False))

    def ts(v: int | None) -> int | None:
        return None if v is None else NOW + rnd.randrange(-10**6, 10**6) * 10**6

    t0 = ts(spat.timestamp_ns)
    inters = tuple(dataclasses.replace(
        it, timestamp_ns=None if it.timestamp_ns is None else t0,
        phases=tuple(dataclasses.replace(p, states=tuple(
            dataclasses.replace(s, timing=timing(s.timing)) for s in p.states))
            for p in it.phases)) for it in spat.intersections)
    return dataclasses.replace(spat, msg_cnt=rnd.randrange(128), intersections=inters,
                               timestamp_ns=t0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=spats(), seed=st.integers(0, 2**32 - 1))
def test_random_spats_of_one_shape_equal_decode_frame(m: Spat, seed: int) -> None:
    rnd = random.Random(seed)
    reader = FrameReader()
    frames = [encode_frame(m)] + [encode_frame(_revalue(m, rnd)) for _ in range(8)]
    for f in frames:
        now = NOW + rnd.randrange(-10**5, 10**5) * 10**6
        assert reader.decode(f, now_ns=now) == decode_frame(f, now_ns=now)
    # every frame after the first of each length took the fast path
    assert reader.fast_decodes >= len(frames) - len({len(f) for f in frames})
    # corrupted frames: the same value, or the same DecodeError
    for f in frames:
        b = bytearray(f)
        for _ in range(rnd.randrange(1, 4)):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        bad = bytes(b)
        assert _outcome(reader.decode, bad, NOW) == _outcome(decode_frame, bad, NOW)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=spats(), seed=st.integers(0, 2**32 - 1))
def test_spat_states_equal_the_columns_of_the_decoded_message(m: Spat, seed: int) -> None:
    rnd = random.Random(seed)
    reader = FrameReader()
    frames = [encode_frame(m)] + [encode_frame(_revalue(m, rnd)) for _ in range(8)]
    for f in frames:
        now = NOW + rnd.randrange(-10**5, 10**5) * 10**6
        want = _columns(SpatPhaseStates.of([decode_frame(f, now_ns=now)]))
        assert _columns(reader.spat_states(f, now_ns=now)) == want
    assert reader.fast_decodes >= len(frames) - len({len(f) for f in frames})
    # the columns do not depend on whether decode or spat_states met a layout first
    for f in frames:
        now = NOW + rnd.randrange(-10**5, 10**5) * 10**6
        reader.decode(f, now_ns=now)
        assert _columns(reader.spat_states(f, now_ns=now)) == _columns(
            SpatPhaseStates.of([decode_frame(f, now_ns=now)]))
    for f in frames:  # corrupted frames: the same columns, or a DecodeError
        b = bytearray(f)
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        bad = bytes(b)
        got = _states_outcome(reader, bad, NOW)
        want = _outcome(decode_frame, bad, NOW)
        if isinstance(want, Spat):
            assert got == _columns(SpatPhaseStates.of([want]))
        else:
            assert isinstance(got, tuple) and got[0] == "DecodeError"


@pytest.mark.parametrize("fixed", [True, False])
def test_template_frames_as_rsus_send_them(fixed: bool) -> None:
    rnd = random.Random(7)
    reader = FrameReader()
    n_frames = 0
    for _ in range(6):  # six signal states of one intersection
        k = rnd.randrange(1, 9)
        t = SpatFrameTemplate(
            intersection_id=NodeReferenceId(rnd.randrange(65536)),
            status=int(IntersectionStatus.FIXED_TIME_OPERATION), lights=[
                rnd.choice([3, 5, 6, 7]) for _ in range(k)],
            likely_end_after_ns=[rnd.choice([-1, 0, rnd.randrange(90) * S]) for _ in range(k)],
            next_start_after_ns=[rnd.choice([-1, rnd.randrange(90) * S]) for _ in range(k)],
            next_duration_ns=[rnd.choice([-1, rnd.randrange(60) * S]) for _ in range(k)],
            fixed_time=fixed)
        for step in range(40):
            now = NOW + step * _DS
            ts = None if step % 13 == 0 else now
            f = t.encode(step % 128, ts, rnd.randrange(0, 80 * S))
            want = decode_frame(f, now_ns=now)
            assert reader.decode(f, now_ns=now) == want
            assert _columns(reader.spat_states(f, now_ns=now)) == _columns(
                SpatPhaseStates.of([want]))
            n_frames += 1
    # one slow decode per state and form; spat_states reads every frame on the fast path
    assert reader.fast_decodes >= 2 * n_frames - 6 * 2


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=maps())
def test_other_frames_go_to_decode_frame(m: Any) -> None:
    reader = FrameReader()
    f = encode_frame(m)
    assert reader.decode(f, now_ns=NOW) == decode_frame(f, now_ns=NOW)
    assert reader.decode(f, now_ns=NOW) == decode_frame(f, now_ns=NOW)
    assert reader.fast_decodes == 0
    with pytest.raises(DecodeError, match="a SPAT was expected, got a MapData"):
        reader.spat_states(f, now_ns=NOW)
    with pytest.raises(DecodeError):
        reader.decode(b"", now_ns=NOW)
    with pytest.raises(DecodeError):
        reader.decode("not bytes", now_ns=NOW)  # type: ignore[arg-type]
