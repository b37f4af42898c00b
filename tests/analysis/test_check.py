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
    assert msgs[1] == "expected a JSON object, got list"
    assert msgs[2] == "key 'frame' missing"
    assert "no UTC offset" in msgs[3]
    assert msgs[4].startswith("'frame' is not hex")
    assert (rep.records, rep.frames) == (9, 1)  # 10 lines, 1 blank; only line 1 held a frame
    assert rep.violations == 0 and not rep.ok and rep.exit_code == 2
    out, err = io.StringIO(), io.StringIO()
    assert main_check(path, out=out, err=err) == 2
    assert "line 7: 'frame' is not hex" in out.getvalue()


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
