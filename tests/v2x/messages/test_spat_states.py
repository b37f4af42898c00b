"""SpatPhaseStates: decoded SPATs as one row per phase state, by hand."""

from __future__ import annotations

from v2x.messages import (
    NO_TIME,
    IntersectionState,
    IntersectionStatus,
    LightState,
    NodeReferenceId,
    Phase,
    PhaseState,
    Spat,
    SpatPhaseStates,
    TimeCountingDown,
    encode_frame,
)
from v2x.messages._uper import FrameReader

#: 2024-05-01 00:00:00.300 UTC [ns]
T0 = 1_714_521_600_300_000_000
SEC = 1_000_000_000

GREEN, RED, YELLOW = LightState.PROTECTED_GREEN, LightState.RED, LightState.YELLOW


def _two_intersections() -> Spat:
    """Node 7 (no region, its own timestamp T0 + 1 s): phase 2 green for 4 s then yellow in
    4 s for 3 s; phase 3 red without timing. Node 9 of region 4 (the message's timestamp T0):
    phase 1 red, likely end unknown."""
    seven = IntersectionState(NodeReferenceId(7), IntersectionStatus.NONE, (
        Phase(2, (PhaseState(GREEN, TimeCountingDown(0, 4 * SEC)),
                  PhaseState(YELLOW, TimeCountingDown(4 * SEC, 7 * SEC)))),
        Phase(3, (PhaseState(RED),))), timestamp_ns=T0 + SEC)
    nine = IntersectionState(NodeReferenceId(9, 4), IntersectionStatus.NONE, (
        Phase(1, (PhaseState(RED, TimeCountingDown(0, None)),)),))
    return Spat(5, (seven, nine), timestamp_ns=T0)


def test_one_row_per_phase_state_in_message_order() -> None:
    s = SpatPhaseStates.of([_two_intersections()])
    assert s.n == 4 and s.n_msgs == 1
    assert s.msg.tolist() == [0, 0, 0, 0]
    assert s.region.tolist() == [-1, -1, -1, 4]
    assert s.node_id.tolist() == [7, 7, 7, 9]
    assert s.phase_id.tolist() == [2, 2, 3, 1]
    assert s.state.tolist() == [0, 1, 0, 0]
    assert s.light.tolist() == [6, 7, 3, 3]
    assert s.timed.tolist() == [True, True, False, True]
    assert s.start_ns.tolist() == [0, 4 * SEC, 0, 0]
    assert s.likely_end_ns.tolist() == [4 * SEC, 7 * SEC, NO_TIME, NO_TIME]
    # the intersection's own timestamp before the message's
    assert s.ref_ns.tolist() == [T0 + SEC, T0 + SEC, T0 + SEC, T0]
    assert [str(getattr(s, f).dtype) for f in SpatPhaseStates.__dataclass_fields__] == [
        "int64", "int64", "int64", "int64", "int64", "int8", "bool", "int64", "int64", "int64"]


def test_no_timestamp_and_concat() -> None:
    bare = Spat(0, (IntersectionState(NodeReferenceId(7), IntersectionStatus.NONE, (
        Phase(1, (PhaseState(RED, TimeCountingDown(0, 10 * SEC)),)),)),))
    one = SpatPhaseStates.of([bare])
    assert one.ref_ns.tolist() == [NO_TIME]
    both = SpatPhaseStates.concat([SpatPhaseStates.of([_two_intersections(), bare]), one])
    assert both.n_msgs == 3 and both.msg.tolist() == [0, 0, 0, 0, 1, 2]
    assert both.likely_end_ns.tolist()[-2:] == [10 * SEC, 10 * SEC]
    empty = SpatPhaseStates.concat([])
    assert empty.n == 0 and empty.n_msgs == 0 and empty.light.dtype.name == "int8"


def test_read_from_the_frame_bits() -> None:
    # 29.95 s is sent as TimeMark 300 (0.1 s, rounded); the frame's timestamps are placed
    # nearest to the receiver's clock, a second later
    spat = Spat(1, (IntersectionState(NodeReferenceId(7), IntersectionStatus.NONE, (
        Phase(1, (PhaseState(RED, TimeCountingDown(0, 29_950_000_000)),)),
        Phase(2, (PhaseState(GREEN, TimeCountingDown(0, None)),))), timestamp_ns=T0),),
        timestamp_ns=T0)
    reader = FrameReader()
    frame = encode_frame(spat)
    first = reader.spat_states(frame, now_ns=T0 + SEC)  # decoded by asn1tools: learns
    again = reader.spat_states(frame, now_ns=T0 + SEC)  # read from the bits
    assert reader.fast_decodes == 1
    for s in (first, again):
        assert s.phase_id.tolist() == [1, 2] and s.light.tolist() == [3, 6]
        assert s.likely_end_ns.tolist() == [30 * SEC, NO_TIME]
        assert s.ref_ns.tolist() == [T0, T0]
