"""The conformance checker (``v2x check``): a clean capture, each seeded fault counted exactly,
input problems by line number, a recording directory.

The capture the tests build (``_capture``), from which every expectation below is computed:

* generation instants g_k = 2024-05-01T08:00:58+08:00 + k x 100 ms, k = 0..29 (3 s, crossing
  the minute at k = 20); each frame is captured 2 ms after it is generated.
* BSM id 1, ``"sender": "obu-1"``, times as ISO 8601 text, msgCnt 120 + k mod 128 (wraps
  127 -> 0 at k = 8); BSM id 2, no sender (so ``0000000000000002``), times as epoch seconds,
  msgCnt 5 + k. secMark = ms of the minute of g_k.
* SPAT of intersection 17 from ``rsu-17`` every 100 ms, phases 1..4, msgCnt 100 + k mod 128,
  timeStamp g_k; MAP of node 17 from ``rsu-17`` at k = 0, 10, 20 (msgCnt 0, 1, 2) whose lanes
  connect with phaseIds 1, 2 and whose link movements use phaseIds 3, 4.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import CHECK_KINDS, CheckReport, check, main_check
from v2x.errors import ConfigError, DecodeError, RecordingError
from v2x.messages import (
    BsmBatch,
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
    TimeCountingDown,
    decode_frame,
    encode_bsm_batch,
    encode_frame,
)

MS = 1_000_000
S = 1_000_000_000
BEIJING = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2024, 5, 1, 8, 0, 58, tzinfo=BEIJING)
START_NS = (START - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000
N_STEPS = 30
CAPTURE_DELAY_NS = 2 * MS
BSM2 = "0000000000000002"


def _bsm(sender: int, msg_cnt: int, sec_mark: int, *, lat: int = 390_558_000,
         lon: int = 1_170_550_000, speed: int = 500, heading: int = 7200) -> bytes:
    """One BSM frame (standard units: 10 m/s, 90 deg, 1.8 x 4.8 m passenger car)."""
    def a(v: int) -> np.ndarray:
        return np.array([v], np.int64)
    batch = BsmBatch(sender=a(sender), msg_cnt=a(msg_cnt), sec_mark=a(sec_mark), lat=a(lat),
                     lon=a(lon), speed=a(speed), heading=a(heading), accel_long=a(0),
                     width=a(180), length=a(480), height=a(30), classification=a(10),
                     brake=np.array([False]), events=a(0))
    return encode_bsm_batch(batch)[0]


def _spat(msg_cnt: int, ts_ns: int, phases: tuple[int, ...] = (1, 2, 3, 4),
          light: LightState = LightState.RED) -> bytes:
    state = IntersectionState(
        intersection_id=NodeReferenceId(17), status=IntersectionStatus.FIXED_TIME_OPERATION,
        phases=tuple(Phase(p, (PhaseState(light, TimeCountingDown(0, 10 * S)),))
                     for p in phases))
    return encode_frame(Spat(msg_cnt=msg_cnt, intersections=(state,), timestamp_ns=ts_ns))


def _map(msg_cnt: int) -> bytes:
    def conn(node: int, phase: int) -> Connection:
        return Connection(NodeReferenceId(node), ConnectingLane(1), phase_id=phase)
    link = MapLink(
        upstream_node_id=NodeReferenceId(18),
        lanes=(MapLane(1, connects_to=(conn(19, 1),)), MapLane(2, connects_to=(conn(20, 2),))),
        movements=(Movement(NodeReferenceId(19), phase_id=3),
                   Movement(NodeReferenceId(21), phase_id=4)))
    node = MapNode(id=NodeReferenceId(17), ref_pos=Position3D(39.0558, 117.055),
                   in_links=(link,))
    return encode_frame(MapData(msg_cnt=msg_cnt, nodes=(node,)))


def _iso(ns: int) -> str:
    t = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)
    return t.astimezone(BEIJING).isoformat(timespec="milliseconds")


def _epoch(ns: int) -> Decimal:
    return Decimal(ns) / Decimal(S)


def _sec_mark(ns: int) -> int:
    return ns // MS % 60_000


def _capture(*, drop_bsm2: int | None = None, spat_phases: tuple[int, ...] = (1, 2, 3, 4),
             slow_sender: bool = False, sec_mark_shift_at: int | None = None,
             bad_frame: bytes | None = None) -> list[dict[str, Any]]:
    """The records of the module docstring's capture, with optional faults."""
    recs: list[dict[str, Any]] = []
    for k in range(N_STEPS):
        g = START_NS + k * 100 * MS
        cap = g + CAPTURE_DELAY_NS
        sm = _sec_mark(g)
        sm1 = (sm + 5000) % 60_000 if k == sec_mark_shift_at else sm
        recs.append({"t": _iso(cap), "sender": "obu-1",
                     "frame": _bsm(1, (120 + k) % 128, sm1).hex()})
        if k != drop_bsm2:
            recs.append({"t": _epoch(cap), "frame": _bsm(2, 5 + k, sm).hex()})
        if slow_sender and k % 5 == 0:  # 2 Hz
            recs.append({"t": _iso(cap), "sender": "obu-3",
                         "frame": _bsm(3, 40 + k // 5, sm).hex()})
        recs.append({"t": _iso(cap), "sender": "rsu-17",
                     "frame": _spat((100 + k) % 128, g, spat_phases).hex()})
        if k % 10 == 0:
            recs.append({"t": _iso(cap), "sender": "rsu-17", "frame": _map(k // 10).hex()})
        if bad_frame is not None and k == 7:
            recs.append({"t": _iso(cap), "frame": bad_frame.hex()})
    return recs


def _write(tmp_path: Path, recs: list[dict[str, Any]], name: str = "capture.jsonl") -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8") as fh:
        for r in recs:
            t = r["t"]
            # Decimal epoch seconds are written as a JSON number with all their digits
            text = json.dumps({**r, "t": "@T@"}).replace('"@T@"', str(t) if isinstance(
                t, Decimal) else json.dumps(t))
            fh.write(text + "\n")
    return path


def _bad_frame() -> bytes:
    """Random bytes from a seeded generator that are not a MessageFrame (checked)."""
    rng = np.random.default_rng(20240501)
    frame = rng.integers(0, 256, 23, dtype=np.uint8).tobytes()
    with pytest.raises(DecodeError):
        decode_frame(frame, now_ns=START_NS)
    return frame


# ================================================================ clean capture


def test_clean_capture_has_no_violation(tmp_path: Path) -> None:
    rep = check(_write(tmp_path, _capture()))
    # 30 BSM x 2 + 30 SPAT + 3 MAP = 93 lines, all frames
    assert (rep.records, rep.frames) == (93, 93)
    assert [(s.sender, s.msg_type, s.decoded) for s in rep.streams] == [
        (BSM2, "BSM", 30), ("obu-1", "BSM", 30), ("rsu-17", "MAP", 3), ("rsu-17", "SPAT", 30)]
    assert rep.violations == 0 and rep.warnings == 0
    assert rep.ok and rep.exit_code == 0 and rep.input_problems == ()
    bsm1 = rep.stream("obu-1", "BSM")
    # 29 gaps of exactly 100 ms (ISO times at ms resolution): median 100 ms, 29 / 2.9 s = 10 Hz
    assert bsm1.median_interval_ns == 100 * MS
    assert bsm1.rate_hz == pytest.approx(10.0, abs=1e-12)
    assert bsm1.period_ns == 100 * MS
    # epoch-second times (exact decimals) give the same: 100 ms
    assert rep.stream(BSM2, "BSM").median_interval_ns == 100 * MS
    # MAP every 1 s: median 1000 ms <= 1 s x 1.1; 2 gaps over 2 s -> 1 Hz
    m = rep.stream("rsu-17", "MAP")
    assert (m.median_interval_ns, m.rate_hz, m.period_ns) == (1000 * MS, 1.0, 1 * S)
    assert rep.stream("rsu-17", "SPAT").period_ns == 500 * MS
    (inter,) = rep.intersections
    assert (inter.node, inter.map_phases, inter.spat_phases, inter.missing, inter.spat_seen) \
        == ("17", (1, 2, 3, 4), (1, 2, 3, 4), (), True)


def test_capture_times_and_wraps_are_what_the_fixture_says(tmp_path: Path) -> None:
    # guards the fixture: obu-1 wraps 127 -> 0 between k = 7 and 8; secMark wraps at k = 20
    recs = _capture()
    obu1 = [decode_frame(bytes.fromhex(r["frame"]), now_ns=START_NS) for r in recs
            if r.get("sender") == "obu-1"]
    assert [b.msg_cnt for b in obu1[6:10]] == [126, 127, 0, 1]
    assert [round(b.sec_mark_s * 1000) for b in obu1[19:21]] == [59_900, 0]
    rep = check(_write(tmp_path, recs))
    bsm1 = rep.stream("obu-1", "BSM")
    # first capture 08:00:58.002 +08:00 = 00:00:58.002 UTC
    assert bsm1.first_ns == START_NS + 2 * MS
    assert bsm1.last_ns == START_NS + 2_902 * MS


# ================================================================ seeded faults


def test_bad_frame_is_a_decode_error_with_its_line(tmp_path: Path) -> None:
    recs = _capture(bad_frame=_bad_frame())
    rep = check(_write(tmp_path, recs))
    bad_line = 1 + next(i for i, r in enumerate(recs) if "sender" not in r
                        and r["frame"] == _bad_frame().hex())
    # no sender given and nothing decoded: the frame is filed under ("?", "?")
    s = rep.stream("?", "?")
    assert (s.frames, s.decoded, s.count("decode_error")) == (1, 0, 1)
    assert s.finding("decode_error").examples[0].where == f"line {bad_line}"
    assert rep.violations == 1 and rep.counts() == {"decode_error": 1}
    assert not rep.ok and rep.exit_code == 1


def test_skipped_msg_cnt_is_counted_once(tmp_path: Path) -> None:
    rep = check(_write(tmp_path, _capture(drop_bsm2=15)))
    s = rep.stream(BSM2, "BSM")
    # msgCnt 5 + k: k = 14 sends 19, k = 15 (dropped) 20, k = 16 sends 21 -> one gap, 1 missing
    assert s.count("msg_cnt_skip") == 1
    assert s.finding("msg_cnt_skip").examples[0].detail == "msgCnt 19 -> 21 (1 missing)"
    # 28 gaps of 100 ms and one of 200 ms: median still 100 ms, no rate violation
    assert s.median_interval_ns == 100 * MS
    assert rep.violations == 1 and rep.counts() == {"msg_cnt_skip": 1}


def test_spat_missing_a_map_phase(tmp_path: Path) -> None:
    rep = check(_write(tmp_path, _capture(spat_phases=(1, 2, 3))))
    # MAP phaseIds {1, 2, 3, 4} (lanes 1, 2; movements 3, 4), SPAT {1, 2, 3}: phase 4 missing
    assert rep.stream("rsu-17", "MAP").count("map_phase_missing") == 1
    (inter,) = rep.intersections
    assert (inter.map_phases, inter.spat_phases, inter.missing) == ((1, 2, 3, 4), (1, 2, 3), (4,))
    ex = rep.stream("rsu-17", "MAP").finding("map_phase_missing").examples[0]
    assert ex.where == "intersection 17"
    assert ex.detail == "MAP phaseId 4 not in its SPAT phases 1, 2, 3"
    assert rep.violations == 1 and rep.counts() == {"map_phase_missing": 1}


def test_map_without_any_spat_is_a_warning(tmp_path: Path) -> None:
    recs = [r for r in _capture() if "sender" not in r or r["sender"] != "rsu-17"
            or decode_frame(bytes.fromhex(r["frame"]), now_ns=START_NS).__class__ is MapData]
    rep = check(_write(tmp_path, recs))
    assert rep.stream("rsu-17", "MAP").count("map_without_spat") == 1
    assert rep.ok and rep.warnings == 1 and rep.violations == 0
    assert rep.intersections[0].spat_seen is False


def test_slow_bsm_sender_is_a_rate_violation(tmp_path: Path) -> None:
    rep = check(_write(tmp_path, _capture(slow_sender=True)))
    s = rep.stream("obu-3", "BSM")
    # k = 0, 5, ..., 25: 6 BSMs 500 ms apart; 500 ms > 100 ms x 1.1
    assert (s.decoded, s.median_interval_ns, s.rate_hz) == (6, 500 * MS, 2.0)
    assert s.count("rate") == 1
    assert rep.violations == 1 and rep.counts() == {"rate": 1}
    # a 500 ms BSM period makes it pass (500 <= 550), and a bad key is refused
    assert check(_write(tmp_path, _capture(slow_sender=True)), periods={"BSM": "500 ms"}).ok
    with pytest.raises(ConfigError, match="periods.CAM"):
        check(_write(tmp_path, _capture()), periods={"CAM": "100 ms"})


def test_rate_tolerance_boundary(tmp_path: Path) -> None:
    # a 110 ms BSM stream is exactly at 100 ms x 1.1: passes; 111 ms fails
    def stream(gap_ms: int) -> CheckReport:
        recs = [{"t": _iso(START_NS + k * gap_ms * MS), "sender": "x",
                 "frame": _bsm(9, k, _sec_mark(START_NS + k * gap_ms * MS)).hex()}
                for k in range(5)]
        return check(_write(tmp_path, recs, f"gap{gap_ms}.jsonl"))
    assert stream(110).ok
    assert stream(111).counts() == {"rate": 1}


def test_sec_mark_off_by_5_s(tmp_path: Path) -> None:
    rep = check(_write(tmp_path, _capture(sec_mark_shift_at=12)))
    s = rep.stream("obu-1", "BSM")
    assert s.count("sec_mark_offset") == 1
    # k = 12: g = 58 s + 1.2 s -> secMark 59200 + 5000 = 64200 -> wraps to 4200; the capture
    # is 59202 ms of its minute; circular distance (4200 - 59202) mod 60000 = 4998 ms
    assert s.finding("sec_mark_offset").examples[0].detail == (
        "secMark 4200 ms, capture 59202.000 ms of the minute (off by 4998.000 ms)")
    assert rep.violations == 1


def test_every_fault_at_once_is_counted_exactly(tmp_path: Path) -> None:
    recs = _capture(drop_bsm2=15, spat_phases=(1, 2, 3), slow_sender=True,
                    sec_mark_shift_at=12, bad_frame=_bad_frame())
    rep = check(_write(tmp_path, recs))
    assert rep.counts() == {"decode_error": 1, "map_phase_missing": 1, "msg_cnt_skip": 1,
                            "rate": 1, "sec_mark_offset": 1}
    assert rep.violations == 5 and rep.warnings == 0 and rep.exit_code == 1
    data = json.loads(rep.to_json())
    assert (data["violations"], data["ok"], data["exit_code"]) == (5, False, 1)
    assert {(s["sender"], s["msg_type"]) for s in data["streams"] if s["violations"]} == {
        ("?", "?"), (BSM2, "BSM"), ("obu-1", "BSM"), ("obu-3", "BSM"), ("rsu-17", "MAP")}
    text = rep.to_text()
    assert "result: FAIL (5 violations, 0 warnings, 0 input problems)" in text
    assert "obu-3 BSM rate: 1" in text


def test_sentinels_are_violations_or_warnings(tmp_path: Path) -> None:
    g = START_NS
    recs = [
        {"t": _iso(g), "sender": "a", "frame": _bsm(1, 0, _sec_mark(g), speed=8191).hex()},
        {"t": _iso(g + 100 * MS), "sender": "a",
         "frame": _bsm(1, 1, _sec_mark(g + 100 * MS), heading=28800).hex()},
        {"t": _iso(g + 200 * MS), "sender": "a",
         "frame": _bsm(1, 2, _sec_mark(g + 200 * MS), lat=900_000_001).hex()},
        {"t": _iso(g + 300 * MS), "sender": "a", "frame": _bsm(1, 3, 65535).hex()},
    ]
    rep = check(_write(tmp_path, recs))
    # speed / heading unavailable: warnings; position / secMark unavailable: violations; the
    # unavailable secMark is not also a secMark offset
    assert rep.counts() == {"heading_unavailable": 1, "position_unavailable": 1,
                            "sec_mark_unavailable": 1, "speed_unavailable": 1}
    assert (rep.violations, rep.warnings) == (2, 2)
    s = rep.stream("a", "BSM")
    assert s.finding("sec_mark_unavailable").examples[0].detail == "secMark 65535"
    assert s.finding("speed_unavailable").severity == CHECK_KINDS["speed_unavailable"] \
        == "warning"


def test_spat_light_unavailable_and_msg_cnt_repeat_are_warnings(tmp_path: Path) -> None:
    g = START_NS
    recs = [{"t": _iso(g + k * 100 * MS), "sender": "r",
             "frame": _spat(7 if k < 2 else 6 + k, g + k * 100 * MS,
                            light=LightState.UNAVAILABLE if k == 3 else LightState.RED).hex()}
            for k in range(4)]
    # msgCnt 7, 7, 8, 9: one repeat; light unavailable in the 4th SPAT
    rep = check(_write(tmp_path, recs))
    assert rep.counts() == {"light_unavailable": 1, "msg_cnt_repeat": 1}
    assert rep.ok


# ================================================================ input problems


def test_bad_lines_are_input_problems_by_line_number(tmp_path: Path) -> None:
    good = json.dumps({"t": _iso(START_NS), "sender": "a",
                       "frame": _bsm(1, 0, _sec_mark(START_NS)).hex()})
    lines = [
        good,                                                   # 1
        "not json",                                             # 2
        "[1, 2]",                                               # 3
        '{"t": 1714521658}',                                    # 4 frame missing
        "",                                                     # 5 blank: skipped
        '{"t": "2024-05-01T08:00:58", "frame": "00"}',          # 6 no UTC offset
        '{"t": 1714521658, "frame": "zz"}',                     # 7 bad hex
        '{"t": true, "frame": "00"}',                           # 8 t a boolean
        '{"t": 1714521658.5, "frame": "00", "sender": [1]}',    # 9 bad sender
        '{"t": NaN, "frame": "00"}',                            # 10 NaN
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep = check(path)
    assert [p.where for p in rep.input_problems] == [f"line {n}" for n in (2, 3, 4, 6, 7, 8,
                                                                           9, 10)]
    msgs = [p.message for p in rep.input_problems]
    assert msgs[0].startswith("not JSON")
    assert msgs[1] == 'expected a JSON object {"t", "frame", "sender"}, got a JSON array'
    assert msgs[2] == "key 'frame' missing (keys: 't')"
    assert msgs[3] == "'t' no UTC offset in '2024-05-01T08:00:58' (add Z or +08:00)"
    assert msgs[4] == ("'frame' is not hex (non-hexadecimal number found in fromhex() arg at "
                       "position 0): 'zz'")
    assert msgs[5] == "'t' must be an ISO 8601 time or epoch seconds, got true"
    assert msgs[6] == "'sender' must be a non-empty string or an integer, got a JSON array"
    assert msgs[7] == "not JSON (NaN is not a number in JSON): '{\"t\": NaN, \"frame\": \"00\"}'"
    assert (rep.records, rep.frames) == (9, 1)  # 10 lines, 1 blank; only line 1 held a frame
    # some lines unreadable, the rest checked (and clean): exit 3, not 0
    assert rep.violations == 0 and not rep.ok and rep.exit_code == 3
    out, err = io.StringIO(), io.StringIO()
    assert main_check(path, out=out, err=err) == 3
    assert f"{path}, line 7: 'frame' is not hex" in out.getvalue()


def test_epoch_seconds_are_read_exactly(tmp_path: Path) -> None:
    # 1714521658.1 s must be 1714521658100000000 ns, not the float's 1714521658099999...
    recs = [{"t": Decimal("1714521658.1") + Decimal(k) / 10, "sender": "a",
             "frame": _bsm(1, k, 58_100 + 100 * k).hex()} for k in range(3)]
    rep = check(_write(tmp_path, recs))
    s = rep.stream("a", "BSM")
    assert s.first_ns == 1_714_521_658_100_000_000
    assert s.median_interval_ns == 100 * MS and rep.ok


def test_main_check_exit_codes(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main_check(_write(tmp_path, _capture()), out=out, err=err) == 0
    assert "result: PASS (0 violations, 0 warnings, 0 input problems)" in out.getvalue()
    out = io.StringIO()
    assert main_check(_write(tmp_path, _capture(drop_bsm2=3)), out=out, json_output=True) == 1
    assert json.loads(out.getvalue())["counts"] == {"msg_cnt_skip": 1}
    err = io.StringIO()
    assert main_check(tmp_path / "nope.jsonl", out=io.StringIO(), err=err) == 2
    assert "nope.jsonl" in err.getvalue()


# ================================================================ unreadable input, exit codes

GOOD_LINE = json.dumps({"t": 1714521658, "sender": "a", "frame": _bsm(1, 0, 58_000).hex()})


def _lines_file(tmp_path: Path, *lines: str, name: str = "lines.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(("t", "shown"), [
    ("1e20", "1E+20"),                            # the OverflowError cases
    ("-99999999999999", "-99999999999999"),
    ('"9999-12-31T23:59:59+00:00"', "'9999-12-31T23:59:59+00:00'"),
    ("1e999999999", "1E+999999999"),              # decimal.Overflow when multiplied
    ("-1", "-1"),                                 # before the Unix epoch
    ('"1969-12-31T23:59:59.999Z"', "'1969-12-31T23:59:59.999Z'"),
    ('"0001-01-01T00:00:00+05:00"', "'0001-01-01T00:00:00+05:00'"),  # before datetime.min UTC
    ("4102444800", "4102444800"),                 # 2100-01-01T00:00:00Z: the end, excluded
    ('"2100-01-01T08:00:00+08:00"', "'2100-01-01T08:00:00+08:00'"),
])
def test_times_out_of_range_are_unreadable_lines(tmp_path: Path, t: str, shown: str) -> None:
    path = _lines_file(tmp_path, GOOD_LINE, f'{{"t": {t}, "frame": "00"}}')
    rep = check(path)
    assert [(p.where, p.message) for p in rep.input_problems] == [
        ("line 2", f"'t' {shown} is out of range: capture times must be from "
                   "1970-01-01T00:00:00Z up to 2100-01-01T00:00:00Z (epoch seconds 0 up to "
                   "4102444800)")]
    assert rep.frames == 1 and rep.exit_code == 3  # line 1 was checked


@pytest.mark.parametrize(("t", "ns"), [
    ("0", 0),
    ("4102444799.999999999", 4_102_444_799_999_999_999),
    ('"2099-12-31T23:59:59.999999+00:00"', 4_102_444_799_999_999_000),
    ("1e-999999999", 0),  # a tiny positive number: 0 ns (no decimal underflow error)
])
def test_times_at_the_ends_of_the_range_are_read(tmp_path: Path, t: str, ns: int) -> None:
    path = _lines_file(tmp_path, f'{{"t": {t}, "sender": "a", "frame": "{_bsm(1, 0, 0).hex()}"}}')
    rep = check(path)
    assert rep.input_problems == () and rep.stream("a", "BSM").first_ns == ns


def test_deep_json_nesting_is_an_unreadable_line(tmp_path: Path) -> None:
    # 100 000 nested arrays: json.loads raises RecursionError (the traceback)
    deep = "[" * 100_000 + "]" * 100_000
    inner = '{"t": 1714521658, "frame": "00", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    rep = check(_lines_file(tmp_path, deep, GOOD_LINE, inner))
    assert [p.where for p in rep.input_problems] == ["line 1", "line 3"]
    assert rep.input_problems[0].message == (
        "not JSON that can be read: nested too deeply: '" + "[" * 60 + "'... (200000 characters)")
    assert rep.input_problems[1].message.startswith("not JSON that can be read: nested too deeply")
    assert rep.frames == 1 and rep.exit_code == 3


def test_a_line_longer_than_the_limit_is_skipped_unread(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import _check

    monkeypatch.setattr(_check, "MAX_LINE_BYTES", 200)
    long = json.dumps({"t": 1714521658, "frame": "00" * 150})  # 28 + 300 + 2 characters
    rep = check(_lines_file(tmp_path, long, GOOD_LINE))
    assert [(p.where, p.message) for p in rep.input_problems] == [
        ("line 1", "longer than 200 bytes (331 bytes): not a capture record")]  # + newline
    assert rep.frames == 1 and rep.stream("a", "BSM").decoded == 1


def test_frame_and_key_problems_name_the_value(tmp_path: Path) -> None:
    rep = check(_lines_file(
        tmp_path, GOOD_LINE,
        '{"t": 1714521658, "frame": "0a1"}',             # 2 odd number of digits
        '{"t": 1714521658, "frame": ""}',                # 3 empty
        '{"t": 1714521658, "frame": 12}',                # 4 a number
        '{"sender": "x", "frame": "00"}',                # 5 no t
        '{"t": 1714521658, "sender": "", "frame": "00"}',  # 6 empty sender
        '{"t": [1], "frame": "00"}',                     # 7 t an array
        '{"t": "yesterday", "frame": "00"}',             # 8 not a time
        '{"t": 1714521658, "frame": "00"'))              # 9 truncated (with its newline)
    assert [(p.where, p.message) for p in rep.input_problems] == [
        ("line 2", "'frame' is not hex (an odd number of hex digits): '0a1'"),
        ("line 3", "'frame' is empty: ''"),
        ("line 4", "'frame' must be a hex string, got 12"),
        ("line 5", "key 't' missing (keys: 'sender', 'frame')"),
        ("line 6", "'sender' must be a non-empty string or an integer, got ''"),
        ("line 7", "'t' must be an ISO 8601 time or epoch seconds, got a JSON array"),
        ("line 8", "'t' not an ISO 8601 time: 'yesterday'"),
        ("line 9", "not JSON (Expecting ',' delimiter at column 32): "  # just past the end
                   "'{\"t\": 1714521658, \"frame\": \"00\"'"),
    ]
    assert rep.exit_code == 3


def test_truncated_last_line_says_so_and_a_bom_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_LINE.encode() + b"\n" + GOOD_LINE.encode()[:30])
    rep = check(path)
    (p,) = rep.input_problems
    assert p.where == "line 2"
    assert p.message.startswith("not JSON (Unterminated string starting at column 29; the last "
                                "line has no newline: the file may be truncated): ")
    assert rep.frames == 1  # the first line, after its UTF-8 byte order mark


def test_binary_or_all_unreadable_input_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(bytes(range(256)) * 4)  # NUL, control bytes, invalid UTF-8 (0x80)
    rep = check(path)
    assert rep.frames == 0 and rep.exit_code == 2
    assert [p.where for p in rep.input_problems] == ["line 1", "line 2", "line 3", "line 4",
                                                     "line 5"]
    # line 2 starts at byte 11 (after b"\n"); 0x80 is byte 128 of the file
    assert rep.input_problems[1].message.startswith("not UTF-8 text (invalid start byte at "
                                                    "byte 117 of the line): ")
    out, err = io.StringIO(), io.StringIO()
    assert main_check(path, out=out, err=err) == 2
    assert "result: UNREADABLE" in out.getvalue()
    assert err.getvalue() == (f"v2x check: {path}: 5 input problems (listed in the report); "
                              "nothing could be checked\n")


def test_exit_codes_in_order_of_precedence(tmp_path: Path) -> None:
    def code(*lines: str) -> int:
        out = io.StringIO()
        rc = main_check(_lines_file(tmp_path, *lines), out=out, err=io.StringIO())
        assert rc == json.loads(check(tmp_path / "lines.jsonl").to_json())["exit_code"]
        return rc

    bad_frame = json.dumps({"t": 1714521658, "frame": "ff0013"})
    assert code(GOOD_LINE) == 0
    assert code(GOOD_LINE, bad_frame) == 1                        # a decode error: violation
    assert code(GOOD_LINE, bad_frame, "not json") == 3            # unreadable line wins over 1
    assert code("not json", "") == 2                              # nothing readable
    assert main_check(tmp_path / "nope", out=io.StringIO(), err=io.StringIO()) == 2
    assert main_check(tmp_path / "lines.jsonl", rate_tolerance=-1, out=io.StringIO(),
                      err=io.StringIO()) == 2                     # a bad option


def test_a_bug_in_the_checker_exits_70_naming_the_input(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import _check

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(_check, "check", broken)
    path = _lines_file(tmp_path, GOOD_LINE)
    out, err = io.StringIO(), io.StringIO()
    assert main_check(path, out=out, err=err) == 70 == _check.EXIT_INTERNAL_ERROR
    assert out.getvalue() == ""
    assert err.getvalue() == (
        f"v2x check: internal error while checking {path}: ZeroDivisionError: division by "
        f"zero (at test_check.py:{broken.__code__.co_firstlineno + 1} in broken). This is a bug "
        "in v2x check, not a finding about the input; please report it with the input file.\n")


# ================================================================ decoder failures


def test_decoder_not_implemented_error_is_a_decode_error(tmp_path: Path) -> None:
    # a BSM with 1 bit flipped in its vehicle events (found by mutating _bsm frames):
    # asn1tools raises NotImplementedError ("BIT STRING extension is not yet implemented"),
    # which went out of `v2x check` as a traceback (issue 12 item 2)
    frame = "0020a000000000000000207d099d8b461621dfcdfc3e87081f43e8401fffe03298780f01488000"
    rep = check(_lines_file(tmp_path, GOOD_LINE,
                            json.dumps({"t": 1714521658, "sender": "b", "frame": frame})))
    s = rep.stream("b", "?")
    assert s.count("decode_error") == 1
    ex = s.finding("decode_error").examples[0]
    assert ex.where == "line 2" and "NotImplementedError" in ex.detail
    assert rep.stream("a", "BSM").decoded == 1 and rep.exit_code == 1


def test_any_decoder_exception_is_a_decode_error_of_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from v2x.messages import _uper

    real = _uper.decode_frame
    spat = _spat(1, START_NS)

    def flaky(data: bytes, *, now_ns: int | None = None, profile: str | None = None) -> Any:
        if data == spat:
            raise RuntimeError("boom")
        return real(data, now_ns=now_ns, profile=profile)

    def batch_fails(frames: Any) -> Any:
        if len(frames):
            raise IndexError("batch")
        return real_batch(frames)

    real_batch = _uper.decode_bsm_frames
    monkeypatch.setattr(_uper, "decode_frame", flaky)
    monkeypatch.setattr(_uper, "decode_bsm_frames", batch_fails)
    path = _lines_file(tmp_path, GOOD_LINE, json.dumps({"t": 1714521658, "sender": "r",
                                                        "frame": spat.hex()}))
    rep = check(path)
    # the BSM batch failed as a whole: its frames were decoded one by one instead
    assert rep.stream("a", "BSM").decoded == 1
    ex = rep.stream("r", "?").finding("decode_error").examples[0]
    assert (ex.where, ex.detail) == ("line 2", "the decoder failed: RuntimeError: boom")
    assert rep.exit_code == 1


def test_mutated_frames_and_lines_never_raise(tmp_path: Path) -> None:
    # 2000 frames of the fixture capture with bits flipped, cut or extended, and 500 lines
    # with bytes of their JSON text changed: every one is a frame checked or an input problem
    rng = np.random.default_rng(12)
    frames = [bytes.fromhex(r["frame"]) for r in _capture()[:12]]
    lines = []
    for n in range(2000):
        g = bytearray(frames[n % len(frames)])
        for i in rng.integers(0, len(g), rng.integers(1, 7)).tolist():
            g[i] ^= 1 << int(rng.integers(8))
        if n % 5 == 0:
            g = g[:int(rng.integers(1, len(g)))]
        elif n % 7 == 0:
            g += rng.integers(0, 256, 20, dtype=np.uint8).tobytes()
        lines.append(json.dumps({"t": (START_NS + n * 10 * MS) / S, "sender": f"s{n % 7}",
                                 "frame": bytes(g).hex()}).encode())
    for n in range(500):
        raw = bytearray(lines[n])
        for i in rng.integers(0, len(raw), 3).tolist():
            raw[i] = int(rng.integers(0, 256))
        lines.append(bytes(raw).replace(b"\n", b" "))
    path = tmp_path / "mutated.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rep = check(path)
    assert rep.records == 2500 and rep.frames + len(rep.input_problems) == 2500
    assert rep.counts()["decode_error"] > 500
    rep.to_text(), rep.to_json()


# ================================================================ msgCnt counted with time


def _bsm_stream(tmp_path: Path, steps: list[tuple[float, int]], *, name: str = "cnt.jsonl",
                sender: str = "v") -> CheckReport:
    """BSMs of one sender at (seconds after START, msgCnt), each captured as generated
    (secMark of its own instant, so no secMark offset)."""
    recs = []
    for t_s, cnt in steps:
        g = START_NS + round(t_s * 1000) * MS
        recs.append({"t": _iso(g), "sender": sender, "frame": _bsm(7, cnt, _sec_mark(g)).hex()})
    return check(_write(tmp_path, recs, name))


def test_msg_cnt_wrap_during_13_s_of_silence_is_129_missing(tmp_path: Path) -> None:
    # the case: 10 Hz, msgCnt 120..126 at 0.0..0.6 s, silence, then 0, 1, 2 from
    # 13.6 s. By hand: the observed period is the median of the 100 ms steps of +1 = 100 ms;
    # dt = 13.6 - 0.6 = 13 s -> round(13 / 0.1) - 1 = 129 missing by time; step
    # (0 - 126) mod 128 = 2 -> 1 missing by msgCnt, mod 128; wraps round((129 - 1) / 128) = 1;
    # missing = 1 + 128 = 129 (not the 1 that msgCnt alone gives)
    steps = [(k / 10, 120 + k) for k in range(7)] + [(13.6 + k / 10, k) for k in range(3)]
    rep = _bsm_stream(tmp_path, steps)
    s = rep.stream("v", "BSM")
    assert rep.counts() == {"msg_cnt_skip": 1} and s.missed == 129
    assert s.finding("msg_cnt_skip").examples[0].detail == (
        "msgCnt 126 -> 0 after 13.000 s: 129 missing (1 by msgCnt + 1 wrap of 128; about 129 "
        "by time at the 100 ms period)")
    assert rep.exit_code == 1
    assert json.loads(rep.to_json())["streams"][0]["missed"] == 129


def test_msg_cnt_without_an_observed_period_uses_10_hz(tmp_path: Path) -> None:
    # two BSMs only: no +1 step to observe a period, so the BSM period of CHECK_PERIODS
    # (100 ms, 10 Hz) is used: the same 129 (and a 13 s median interval violates the rate)
    rep = _bsm_stream(tmp_path, [(0.0, 126), (13.0, 0)])
    assert rep.stream("v", "BSM").missed == 129
    assert rep.counts() == {"msg_cnt_skip": 1, "rate": 1}


@pytest.mark.parametrize(("gap_s", "step", "missed", "counts"), [
    (0.2, 2, 1, {"msg_cnt_skip": 1}),        # 1 missing by msgCnt, round(2) - 1 = 1 by time
    (0.3, 2, 1, {"msg_cnt_skip": 1}),        # 1 by msgCnt, 2 by time: within 1, agree
    (12.8, 1, 128, {"msg_cnt_skip": 1}),     # 0 or 128 by msgCnt, 127 by time: one wrap
    (6.3, 1, 0, {"msg_cnt_time_mismatch": 1}),  # 0 or 128 by msgCnt, 62 by time: 0 is nearer
    (0.1, 4, 3, {"msg_cnt_skip": 1, "msg_cnt_time_mismatch": 1}),  # 3 by msgCnt, 0 by time
])
def test_msg_cnt_and_time(tmp_path: Path, gap_s: float, step: int, missed: int,
                          counts: dict[str, int]) -> None:
    # 10 Hz: msgCnt 0..8 at 0.0..0.8 s, then 8 + step at 0.8 s + gap_s and +1 each 100 ms
    t1 = 0.8 + gap_s
    steps = [(k / 10, k) for k in range(9)] + [(t1 + k / 10, 8 + step + k) for k in range(3)]
    rep = _bsm_stream(tmp_path, steps)
    assert rep.stream("v", "BSM").missed == missed
    assert rep.counts() == counts


def test_msg_cnt_mismatch_says_both_counts(tmp_path: Path) -> None:
    steps = [(k / 10, k) for k in range(9)] + [(1.8, 9), (1.9, 10)]  # +1 after 1 s
    rep = _bsm_stream(tmp_path, steps)
    f = rep.stream("v", "BSM").finding("msg_cnt_time_mismatch")
    # round(1.0 / 0.1) - 1 = 9 by time; 0 by msgCnt (the 128 candidate is further from 9)
    assert f.severity == "warning" and f.examples[0].detail == (
        "msgCnt 8 -> 9 after 1.000 s: 0 missing by msgCnt, about 9 by time at the 100 ms period")
    assert rep.exit_code == 0  # a warning only


def test_a_stream_that_repeats_its_msg_cnt_is_counted_by_msg_cnt_alone(tmp_path: Path) -> None:
    # a MAP may keep its msgCnt while its content is unchanged (T/CSAE 53 MsgCount): its numbers
    # do not follow time, so 3, 3, 3 then 4 after 200 s is no loss and no mismatch
    recs = [{"t": _iso(START_NS + k * S), "sender": "rsu", "frame": _map(3).hex()}
            for k in range(3)]
    recs.append({"t": _iso(START_NS + 202 * S), "sender": "rsu", "frame": _map(4).hex()})
    rep = check(_write(tmp_path, recs))
    s = rep.stream("rsu", "MAP")
    assert s.missed == 0 and s.count("msg_cnt_repeat") == 2
    assert s.count("msg_cnt_skip") == 0 and s.count("msg_cnt_time_mismatch") == 0


def test_an_rsu_stream_is_counted_by_its_counter_alone(tmp_path: Path) -> None:
    # SPAT every 100 ms, msgCnt 0..4, then 5 after 12.9 s of silence: an RSU pauses a stream
    # (RSM while nobody is perceived, RSI while no item is active), so only the counter
    # counts: nothing missing (a BSM stream would count 128 by time, see the BSM tests)
    ts = [k / 10 for k in range(5)] + [0.4 + 12.9]
    recs = [{"t": _iso(START_NS + round(t * 1000) * MS), "sender": "rsu",
             "frame": _spat(k, START_NS + round(t * 1000) * MS).hex()} for k, t in enumerate(ts)]
    rep = check(_write(tmp_path, recs))
    assert rep.stream("rsu", "SPAT").missed == 0
    assert rep.counts() == {}
    # a skipped number is still a skip
    recs[5]["frame"] = _spat(7, START_NS + 13_300 * MS).hex()
    rep = check(_write(tmp_path, recs))
    assert rep.stream("rsu", "SPAT").missed == 2 and rep.counts() == {"msg_cnt_skip": 1}


# ================================================================ recording directory


def _recording(root: Path, *, with_frame: bool = True, skip: bool = False) -> Path:
    """A run directory: nodes 0 and 1 send BSMs every 100 ms for 2 s (msgCnt from 126 and
    10, made with encode_bsm_batch one step at a time), RSU 1000000 a SPAT every 100 ms and a
    MAP every 1 s. ``skip`` drops node 1's BSM of step 5."""
    root.mkdir()
    (root / "run.json").write_text(json.dumps({"start": START.isoformat(), "status": "complete"}))
    rows: list[tuple[int, int, str, int, bytes]] = []
    for k in range(20):
        t = k * 100 * MS
        sm = _sec_mark(START_NS + t)
        def col(a: int, b: int) -> np.ndarray:
            return np.array([a, b], np.int64)
        batch = BsmBatch(sender=col(0, 1), msg_cnt=col((126 + k) % 128, 10 + k),
                         sec_mark=col(sm, sm), lat=col(390_558_000, 390_559_000),
                         lon=col(1_170_550_000, 1_170_551_000), speed=col(500, 600),
                         heading=col(7200, 7200), accel_long=col(0, 0), width=col(180, 180),
                         length=col(480, 480), height=col(30, 30),
                         classification=col(10, 10), brake=np.array([False, False]),
                         events=col(0, 0))
        for node, frame in zip((0, 1), encode_bsm_batch(batch), strict=True):
            if not (skip and node == 1 and k == 5):
                rows.append((t, node, "BSM", (126 + k) % 128 if node == 0 else 10 + k, frame))
        rows.append((t, 1_000_000, "SPAT", k, _spat(k, START_NS + t)))
        if k % 10 == 0:
            rows.append((t, 1_000_000, "MAP", k // 10, _map(k // 10)))
    cols: dict[str, Any] = {
        "tx_id": pa.array(range(len(rows)), pa.int64()),
        "t_ns": pa.array([r[0] for r in rows], pa.int64()),
        "sender": pa.array([r[1] for r in rows], pa.int64()),
        "msg_type": pa.array([r[2] for r in rows]).dictionary_encode(),
        "msg_cnt": pa.array([r[3] for r in rows], pa.int16()),
        "size_bytes": pa.array([len(r[4]) for r in rows], pa.int32()),
        "x": pa.array([0.0] * len(rows)), "y": pa.array([0.0] * len(rows)),
    }
    if with_frame:
        cols["frame"] = pa.array([r[4] for r in rows], pa.binary())
    pq.write_table(pa.table(cols), root / "transmissions.parquet")
    return root


def test_recording_directory(tmp_path: Path) -> None:
    rep = check(_recording(tmp_path / "run"))
    assert rep.input_kind == "recording"
    # 20 steps x (2 BSM + 1 SPAT) + 2 MAP = 62 rows
    assert (rep.records, rep.frames) == (62, 62)
    assert [(s.sender, s.msg_type, s.decoded) for s in rep.streams] == [
        ("0", "BSM", 20), ("1", "BSM", 20), ("1000000", "MAP", 2), ("1000000", "SPAT", 20)]
    # capture = start + t_ns exactly, secMark of the same instant: offset 0
    assert rep.ok and rep.violations == 0 and rep.warnings == 0
    assert rep.stream("0", "BSM").first_ns == START_NS
    assert rep.stream("1", "BSM").median_interval_ns == 100 * MS
    assert rep.intersections[0].missing == ()


def test_recording_faults_and_row_examples(tmp_path: Path) -> None:
    rep = check(_recording(tmp_path / "run", skip=True))
    s = rep.stream("1", "BSM")
    assert s.count("msg_cnt_skip") == 1
    ex = s.finding("msg_cnt_skip").examples[0]
    # rows per step k < 5: BSM 0, BSM 1, SPAT (+ MAP at k = 0) -> 16 rows before step 5;
    # step 5 has BSM 0 (row 16) and SPAT (row 17); step 6's BSM 1 is row 19 (after BSM 0)
    assert ex.where == "row 19 (tx_id 19)"
    assert ex.detail == "msgCnt 14 -> 16 (1 missing)"


def test_recording_without_frame_column_names_file_and_column(tmp_path: Path) -> None:
    root = _recording(tmp_path / "run", with_frame=False)
    with pytest.raises(RecordingError, match=r"transmissions\.parquet: column 'frame' missing"):
        check(root)
    err = io.StringIO()
    assert main_check(root, out=io.StringIO(), err=err) == 2
    assert "column 'frame' missing" in err.getvalue()


def test_recording_type_mismatch(tmp_path: Path) -> None:
    root = _recording(tmp_path / "run")
    table = pq.read_table(root / "transmissions.parquet")
    types = table.column("msg_type").to_pylist()
    types[2] = "MAP"  # row 2 is the SPAT of step 0
    table = table.set_column(table.schema.get_field_index("msg_type"), "msg_type",
                             pa.array(types))
    pq.write_table(table, root / "transmissions.parquet")
    rep = check(root)
    assert rep.counts() == {"type_mismatch": 1}
    ex = rep.stream("1000000", "SPAT").finding("type_mismatch").examples[0]
    assert (ex.where, ex.detail) == ("row 2 (tx_id 2)", "msg_type MAP, frame SPAT")


def test_an_empty_capture_is_an_input_problem(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    rep = check(path)
    assert rep.frames == 0 and [p.message for p in rep.input_problems] == ["no frames to check"]
    assert rep.exit_code == 2


def test_map_and_spat_senders_default_to_the_intersection(tmp_path: Path) -> None:
    # no "sender": MAP and SPAT of node 17 are filed under "intersection 17"; the SPAT's
    # timeStamp is 58.000 s of the minute, captured at 58.500 s: 500 ms > 100 ms
    recs = [{"t": 1714521658, "frame": _map(3).hex()},
            {"t": "2024-05-01T00:00:58.5Z", "frame": _spat(3, START_NS).hex()}]
    rep = check(_write(tmp_path, recs))
    assert [(s.sender, s.msg_type) for s in rep.streams] == [("intersection 17", "MAP"),
                                                             ("intersection 17", "SPAT")]
    spat = rep.stream("intersection 17", "SPAT")
    assert spat.count("sec_mark_offset") == 1
    assert spat.finding("sec_mark_offset").examples[0].detail == (
        "secMark 58000 ms, capture 58500.000 ms of the minute (off by 500.000 ms)")
    # a single message of a stream has no interval: no rate, no rate check
    assert (spat.median_interval_ns, spat.rate_hz) == (None, None)


def test_rsm_and_rsi(tmp_path: Path) -> None:
    from v2x.messages import (
        Participant,
        ParticipantType,
        RoadTrafficEvent,
        Rsi,
        Rsm,
        SourceType,
    )
    rsu_id = bytes(7) + b"\x09"
    ref = Position3D(39.0558, 117.055)

    def rsm(cnt: int) -> bytes:
        part = Participant(ptc_type=ParticipantType.MOTOR, ptc_id=5, source=SourceType.VIDEO,
                           sec_mark_s=float("nan"), pos=Position3D(39.0559, 117.0551),
                           speed_mps=float("nan"), heading_deg=10.0, width_m=1.8,
                           length_m=4.8)
        return encode_frame(Rsm(msg_cnt=cnt, id=rsu_id, ref_pos=ref, participants=(part,)))

    rsi = encode_frame(Rsi(msg_cnt=1, id=rsu_id, ref_pos=ref,
                           events=(RoadTrafficEvent(rte_id=1, event_type=100),)))
    recs = [{"t": _iso(START_NS + k * 100 * MS), "frame": rsm(k).hex()} for k in range(3)]
    recs.append({"t": _iso(START_NS), "frame": rsi.hex()})
    rep = check(_write(tmp_path, recs))
    # senders from the RSU id; 3 RSMs 100 ms apart meet the 100 ms period; each RSM's one
    # participant has secMark and speed unavailable: 3 warnings
    s = rep.stream("0000000000000009", "RSM")
    assert (s.decoded, s.median_interval_ns, s.period_ns) == (3, 100 * MS, 100 * MS)
    assert s.count("participant_unavailable") == 3
    assert s.finding("participant_unavailable").examples[0].detail == (
        "ptcId 5 secMark/speed unavailable")
    assert rep.stream("0000000000000009", "RSI").period_ns == 1 * S
    assert rep.ok and rep.warnings == 3


def test_a_killed_run_is_checked_on_the_frames_it_flushed(tmp_path: Path) -> None:
    # what a run killed outright leaves: transmissions.parquet a folder of closed part files
    # (plus the hidden, incomplete final file), run.json "running" and no live writer
    root = _recording(tmp_path / "run")
    table = pq.read_table(root / "transmissions.parquet")
    (root / "transmissions.parquet").unlink()
    (root / "transmissions.parquet").mkdir()
    pq.write_table(table.slice(0, 30), root / "transmissions.parquet" / "part-00000.parquet")
    pq.write_table(table.slice(30), root / "transmissions.parquet" / "part-00001.parquet")
    (root / ".transmissions.parquet.tmp").write_bytes(b"PAR1 no footer")
    (root / "run.json").write_text(json.dumps({
        "scenario_id": "x", "start": START.isoformat(), "duration_ns": 300 * 10**9,
        "status": "running", "recorded_ns": 2 * 10**9}))
    rep = check(root)
    assert (rep.records, rep.frames) == (62, 62) and rep.ok
    assert rep.partial == ("partial recording: the run stopped without finishing (killed, "
                           "crashed or lost power); recorded up to 2 s of 300 s of simulated "
                           "time")
    assert rep.to_dict()["partial"] == rep.partial
    out = io.StringIO()
    assert main_check(root, out=out, err=io.StringIO()) == 0
    assert rep.partial in out.getvalue().splitlines()[1]
    # a killed run that never flushed a transmission: nothing to check, said as such
    shutil.rmtree(root / "transmissions.parquet")
    err = io.StringIO()
    assert main_check(root, out=(out := io.StringIO()), err=err) == 2
    assert "no frames to check" in out.getvalue() and "partial recording" in out.getvalue()
