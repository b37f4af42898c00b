"""SpatView: decoded SPAT phase states as arrays, looked up by (intersection, phaseId)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from v2x.apps import (
    AppWindow,
    ReceivedLinks,
    SpatView,
    node_key,
    received_spat_states,
    received_spat_view,
)
from v2x.messages import (
    IntersectionState,
    IntersectionStatus,
    LightState,
    NodeReferenceId,
    Phase,
    PhaseState,
    Spat,
    SpatPhaseStates,
    TimeCountingDown,
    decode_frame,
    encode_frame,
)
from v2x.messages._uper import FrameReader

#: 2024-05-01 00:00:00.300 UTC [ns]
T0 = 1_714_521_600_300_000_000
SEC = 1_000_000_000


def _phase(pid: int, light: LightState, end_s: float | None) -> Phase:
    end = None if end_s is None else round(end_s * SEC)
    return Phase(pid, (PhaseState(light, TimeCountingDown(0, end)),))


def _spat(phases: tuple[Phase, ...], ts: int | None, node: int = 7,
          region: int | None = None, msg_cnt: int = 0) -> Spat:
    return Spat(msg_cnt, (IntersectionState(NodeReferenceId(node, region),
                                            IntersectionStatus.FIXED_TIME_OPERATION, phases),),
                timestamp_ns=ts)


def test_node_key_packs_region_and_id() -> None:
    assert node_key(7).tolist() == 7
    assert node_key([7, 7], [-1, 0]).tolist() == [7, (1 << 16) | 7]
    assert int(node_key(65535, 65535)) == (65536 << 16) | 65535
    with pytest.raises(ValueError, match="0..65535"):
        node_key(65536)
    with pytest.raises(ValueError, match="0..65535"):
        node_key(1, -2)


def test_lookup_counts_down_from_the_message_time() -> None:
    view = SpatView.from_spats([_spat((_phase(1, LightState.PROTECTED_GREEN, 12.0),
                                       _phase(2, LightState.RED, 30.0),
                                       _phase(3, LightState.YELLOW, None)), T0)])
    assert view.n == 3 and view.key.tolist() == [7 << 8 | 1, 7 << 8 | 2, 7 << 8 | 3]
    # 1.5 s after the message: 30 - 1.5 s of red left; green 10.5 s; unknown end: inf;
    # phase 4 and node 8 are not in the view; -1 = no phase / no node
    got = view.lookup(np.array([7, 7, 7, 7, 8, -1]), np.array([2, 1, 3, 4, 2, 2]),
                      T0 + 3 * SEC // 2)
    assert got.found.tolist() == [True, True, True, False, False, False]
    assert got.light.tolist() == [3, 6, 7, 0, 0, 0]
    assert got.time_left_s[:3].tolist() == [28.5, 10.5, np.inf]
    assert np.isnan(got.time_left_s[3:]).all()
    # a stale message counts below zero
    late = view.lookup(np.array([7]), np.array([1]), T0 + 13 * SEC)
    assert late.time_left_s.tolist() == [-1.0]


def test_newest_message_wins_unless_one_is_asked_for() -> None:
    old = _spat((_phase(2, LightState.PROTECTED_GREEN, 5.0),), T0)
    new = _spat((_phase(2, LightState.YELLOW, 3.0),), T0 + SEC, msg_cnt=1)
    other = _spat((_phase(2, LightState.RED, 40.0),), T0, region=3)
    view = SpatView.from_spats([new, other, old])  # order of arrival does not matter
    got = view.lookup(np.array([7, int(node_key(7, 3))]), np.array([2, 2]), T0 + 2 * SEC)
    assert got.light.tolist() == [7, 3]
    assert got.time_left_s.tolist() == [2.0, 38.0]  # new: T0 + 1 + 3 s; other: T0 + 40 s
    # message 2 (old) for the first query; message 0 has no region-3 node
    got = view.lookup(np.array([7, int(node_key(7, 3))]), np.array([2, 2]), T0 + 2 * SEC,
                      msg=np.array([2, 0]))
    assert got.found.tolist() == [True, False]
    assert got.light.tolist() == [6, 0] and got.time_left_s[0] == 3.0
    with pytest.raises(ValueError, match="msg must"):
        view.lookup(np.array([7]), np.array([2]), T0, msg=np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        view.lookup(np.array([7]), np.array([2, 1]), T0)


def test_current_state_and_reference_time() -> None:
    # current = the state on now (startTime 0), whatever its place; future states unused
    later_first = Phase(5, (PhaseState(LightState.YELLOW, TimeCountingDown(4 * SEC, 7 * SEC)),
                            PhaseState(LightState.PROTECTED_GREEN, TimeCountingDown(0, 4 * SEC))))
    no_timing = Phase(6, (PhaseState(LightState.RED),))
    # without a timestamp the reception time is the reference; the intersection's own
    # timestamp comes before the message's
    inter = IntersectionState(NodeReferenceId(9), IntersectionStatus.NONE,
                              (later_first, no_timing), timestamp_ns=T0 + SEC)
    view = SpatView.from_spats([Spat(0, (inter,), timestamp_ns=T0)])
    got = view.lookup(np.array([9, 9]), np.array([5, 6]), T0 + SEC)
    assert got.light.tolist() == [6, 3] and got.time_left_s.tolist() == [4.0, np.inf]
    bare = _spat((_phase(1, LightState.RED, 10.0),), None)
    view = SpatView.from_spats([bare], received_ns=T0)
    assert view.lookup(np.array([7]), np.array([1]), T0).time_left_s.tolist() == [10.0]
    with pytest.raises(ValueError, match="no timestamp"):
        SpatView.from_spats([bare])
    with pytest.raises(ValueError, match="received_ns"):
        SpatView.from_spats([bare], received_ns=[T0, T0])


def test_decoded_uper_spat() -> None:
    spat = _spat((_phase(1, LightState.RED, 29.95), _phase(2, LightState.PROTECTED_GREEN, 7.0)),
                 T0)
    back = decode_frame(encode_frame(spat), now_ns=T0 + SEC)
    assert isinstance(back, Spat)
    view = SpatView.from_spats([back])
    got = view.lookup(np.array([7, 7]), np.array([1, 2]), T0 + 2 * SEC)
    # TimeMark is 0.1 s: 29.95 s is sent as 300 (rounded); the timestamp keeps its ms
    assert got.light.tolist() == [3, 6]
    np.testing.assert_allclose(got.time_left_s, [28.0, 5.0], atol=1e-9)


def test_empty_view() -> None:
    view = SpatView.from_spats([])
    got = view.lookup(np.array([7]), np.array([1]), T0)
    assert view.n == 0 and got.found.tolist() == [False] and np.isnan(got.time_left_s[0])


def test_from_states_as_the_frame_reader_gives_them() -> None:
    # two frames of node 7, the second without a timestamp: it counts from its reception
    reader = FrameReader()
    frames = [encode_frame(_spat((_phase(1, LightState.RED, 20.0),), T0)),
              encode_frame(_spat((_phase(1, LightState.PROTECTED_GREEN, 8.0),), None))]
    states = SpatPhaseStates.concat([reader.spat_states(f, now_ns=T0) for f in frames])
    view = SpatView.from_states(states, received_ns=[T0 - SEC, T0 + 2 * SEC])
    assert view.msg.tolist() == [0, 1]  # by key, then reference time
    assert view.end_ns.tolist() == [T0 + 20 * SEC, T0 + 10 * SEC]
    got = view.lookup(np.array([7, 7]), np.array([1, 1]), T0 + 4 * SEC, msg=np.array([0, 1]))
    assert got.light.tolist() == [3, 6] and got.time_left_s.tolist() == [16.0, 6.0]
    # the same view as from the decoded messages
    again = SpatView.from_spats([decode_frame(f, now_ns=T0) for f in frames],
                                received_ns=[T0 - SEC, T0 + 2 * SEC])
    for f in ("key", "msg", "light", "end_ns", "ref_ns"):
        assert getattr(view, f).tolist() == getattr(again, f).tolist()
    with pytest.raises(ValueError, match="message 1 has no timestamp"):
        SpatView.from_states(states)
    with pytest.raises(ValueError, match="1 times for 2 messages"):
        SpatView.from_states(states, received_ns=[T0])


def test_received_spat_states_from_the_loop_or_from_decoded_messages() -> None:
    spat = _spat((_phase(1, LightState.RED, 20.0),), T0)

    def decoded(msg_type: str, rows: np.ndarray) -> list[Spat | None]:
        assert msg_type == "SPAT"
        return [spat if r == 4 else None for r in rows.tolist()]

    def window(spat_states: Any) -> AppWindow:
        unread: Any = None  # what the look-up does not read
        return AppWindow(t_ns=np.zeros(1, np.int64), hosts=unread, host_step=unread,
                         links=unread, bsm=unread, decoded=decoded,
                         sec_mark=np.zeros(1, np.int64), start_utc_ns=T0, geo=unread,
                         spat_states=spat_states)

    got = received_spat_states(window(None), np.array([4, 5]))
    assert got[1] is None and got[0] is not None
    assert got[0].likely_end_ns.tolist() == [20 * SEC] and got[0].ref_ns.tolist() == [T0]
    offered = SpatPhaseStates.of([spat])
    got = received_spat_states(window(lambda rows: [offered] * rows.size), np.array([4, 5]))
    assert got == [offered, offered]


def test_received_spat_view_reads_each_frame_once() -> None:
    # links 0 and 2 carry SPAT frame 4 (phase 1 red, 20 s from T0), link 1 frame 5 (does not
    # decode); steps 0, 1, 1 at 0 and 0.1 s
    spat = _spat((_phase(1, LightState.RED, 20.0),), T0)
    read: list[int] = []

    def decoded(msg_type: str, rows: np.ndarray) -> list[Spat | None]:
        read.extend(rows.tolist())
        return [spat if r == 4 else None for r in rows.tolist()]

    n = 3
    links = ReceivedLinks(host=np.zeros(n, np.int64), tx=np.array([4, 5, 4]),
                          msg=np.array([4, 5, 4]), msg_type=np.full(n, 2, np.int8),
                          sender=np.zeros(n, np.int64), step=np.array([0, 1, 1]),
                          distance_m=np.zeros(n), latency_ns=np.zeros(n, np.int64),
                          link=np.arange(n))
    unread: Any = None
    w = AppWindow(t_ns=np.array([0, SEC // 10]), hosts=unread, host_step=unread, links=links,
                  bsm=unread, decoded=decoded, sec_mark=np.zeros(2, np.int64),
                  start_utc_ns=T0, geo=unread)
    view, msg, now = received_spat_view(w, np.arange(n))
    assert sorted(read) == [4, 5] and view.n == 1
    assert msg.tolist() == [0, -1, 0] and now.tolist() == [T0, T0 + SEC // 10, T0 + SEC // 10]
    found = view.lookup(np.full(n, 7), np.ones(n, np.int64), now, msg=msg)
    assert found.found.tolist() == [True, False, True]
    np.testing.assert_allclose(found.time_left_s[[0, 2]], [20.0, 19.9])
    # looked at from another step of the window (ICW: the BSM's)
    view, msg, now = received_spat_view(w, np.array([0]), np.array([1]))
    assert now.tolist() == [T0 + SEC // 10]
