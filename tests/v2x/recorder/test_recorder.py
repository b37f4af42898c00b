"""Recorder tables round-trip through Parquet; online aggregates count what they should."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from v2x.errors import RecordingError
from v2x.recorder import Histogram, PairClock, PrrBins, Recorder


def test_tables_round_trip_through_parquet(tmp_path: Path) -> None:
    with Recorder(tmp_path, flush_rows=3) as rec:
        for step in range(3):
            rec.append("transmissions", tx_id=np.arange(2) + 2 * step,
                       t_ns=np.full(2, step * 100_000_000), sender=np.array([0, 1_000_000]),
                       msg_type=np.array(["BSM", "SPAT"], dtype=object),
                       msg_cnt=np.array([step, 127]), size_bytes=np.array([40, 90]),
                       x=np.array([1.5, 2.5]), y=np.array([-3.0, 4.0]),
                       frame=[b"\x00\x01", bytes([step])])
        rec.write_json("run.json", {"seed": np.int64(3)})
    df = pd.read_parquet(tmp_path / "transmissions.parquet")
    assert len(df) == 6
    assert df["tx_id"].tolist() == [0, 1, 2, 3, 4, 5]
    assert df["msg_type"].astype(str).tolist() == ["BSM", "SPAT"] * 3
    assert df["msg_cnt"].tolist() == [0, 127, 1, 127, 2, 127]
    assert df["x"].tolist() == [1.5, 2.5] * 3
    assert df["frame"].tolist() == [b"\x00\x01", b"\x00", b"\x00\x01", b"\x01",
                                    b"\x00\x01", b"\x02"]
    # a table that got no rows is still written, empty, with its schema
    empty = pd.read_parquet(tmp_path / "warnings.parquet")
    assert len(empty) == 0 and "ttc_s" in empty.columns
    assert (tmp_path / "run.json").read_text().count('"seed": 3') == 1


def test_prr_bins_count_pairs_and_receptions() -> None:
    bins = PrrBins(20.0, 100.0)
    # BSM (code 0) links at 5, 15 (bin 0), 25 (bin 1), 99.9 (bin 4), 100 (out of range)
    bins.add(np.array([0, 0, 0, 0, 0], np.int8), np.array([5.0, 15.0, 25.0, 99.9, 100.0]),
             np.array([True, False, True, True, True]))
    t = bins.table()
    assert t["bin_lo_m"].tolist() == [0.0, 20.0, 80.0]
    assert t["n_pairs"].tolist() == [2, 1, 1]
    assert t["n_received"].tolist() == [1, 1, 1]


def test_prr_bins_drop_far_links_of_every_type() -> None:
    # MAP (code 1) at 450 m and BSM at 120 m are beyond 100 m: neither is counted, and
    # neither lands in the first bin of the next type
    bins = PrrBins(20.0, 100.0)
    bins.add(np.array([0, 1, 1, 0], np.int8), np.array([120.0, 450.0, 10.0, 30.0]),
             np.array([True, True, False, True]))
    t = bins.table()
    assert t["msg_type"].tolist() == ["BSM", "MAP"]
    assert t["bin_lo_m"].tolist() == [20.0, 0.0]
    assert t["n_pairs"].tolist() == [1, 1]
    assert t["n_received"].tolist() == [1, 0]


def test_histogram_bins_and_exact_max() -> None:
    h = Histogram(bin_ns=100_000, max_ns=1_000_000)  # 0.1 ms bins up to 1 ms + overflow
    h.add(np.array([0, 0, 0, 2], np.int8),
          np.array([50_000, 150_000, 5_000_000, 120_000], np.int64))
    t = h.table()
    rows = list(zip(t["msg_type"], t["bin_lo_ns"], t["bin_hi_ns"], t["count"], strict=True))
    assert rows == [("BSM", 0, 100_000, 1), ("BSM", 100_000, 200_000, 1),
                    ("BSM", 1_000_000, 5_000_001, 1), ("SPAT", 100_000, 200_000, 1)]


def test_pair_clock_gaps_per_pair_and_type() -> None:
    clock = PairClock()
    mt = np.array([0], np.int8)
    rx, tx = np.array([10]), np.array([20])
    assert clock.update(mt, rx, tx, np.array([100]))[1].size == 0  # first: no gap
    _, gap = clock.update(mt, rx, tx, np.array([350]))
    assert gap.tolist() == [250]
    # the other direction and another message type are pairs of their own
    assert clock.update(mt, tx, rx, np.array([400]))[1].size == 0
    assert clock.update(np.array([2], np.int8), rx, tx, np.array([400]))[1].size == 0
    assert len(clock) == 3
    for bad in (np.array([-1]), np.array([PairClock.MAX_NODE])):
        with pytest.raises(ValueError, match=r"rx_node ids must be in \[0, 2097152\)"):
            clock.update(mt, bad, tx, np.array([500]))


def test_pair_clock_takes_a_window_of_steps_in_one_call() -> None:
    # pair (rx 0 <- tx 1): BSMs received in steps 0, 1 and 3 of a window (at 100, 200, 400 ms)
    # and a SPAT in step 0; an earlier call at 50 ms makes the first BSM gap 50 ms, then 100
    # and 200 ms; the SPAT has no earlier reception
    ms = 1_000_000
    one = PairClock()
    s = np.array([10, 20])  # nodes: receiver 10, sender 20
    one.update(np.array([0], np.int8), s[:1], s[1:], np.array([50 * ms]))
    mt = np.array([0, 2, 0, 0], np.int8)
    rx, tx = np.full(4, s[0]), np.full(4, s[1])
    gtype, gap = one.update(mt, rx, tx, np.array([100, 150, 200, 400]) * ms,
                            step=np.array([0, 0, 1, 3]))
    assert list(zip(gtype.tolist(), gap.tolist(), strict=True)) == [(0, 50 * ms), (0, 100 * ms),
                                                        (0, 200 * ms)]
    # the same receptions one step at a time give the same gaps
    seq = PairClock()
    s2 = s
    gaps = []
    for m, t in ((0, 50), (0, 100), (2, 150), (0, 200), (0, 400)):
        gaps.extend(seq.update(np.array([m], np.int8), s2[:1], s2[1:], np.array([t * ms]))[1])
    assert gaps == gap.tolist()
    # and the clock remembers the latest time: the next BSM at 500 ms is 100 ms later
    assert one.update(np.array([0], np.int8), s[:1], s[1:], np.array([500 * ms]))[1].tolist() \
        == [100 * ms]
    with pytest.raises(ValueError, match="non-decreasing"):
        one.update(mt, rx, tx, np.arange(4) * ms, step=np.array([1, 0, 2, 3]))


def test_categorical_columns_are_written_as_strings(tmp_path: Path) -> None:
    from v2x.recorder import MSG_TYPES, categorical

    with Recorder(tmp_path) as rec:
        for codes in (np.array([0, 2]), np.array([1])):
            n = len(codes)
            rec.append("transmissions", tx_id=np.arange(n), t_ns=np.zeros(n, np.int64),
                       sender=np.zeros(n, np.int64), msg_type=categorical(codes, MSG_TYPES),
                       msg_cnt=np.zeros(n), size_bytes=np.zeros(n), x=np.zeros(n),
                       y=np.zeros(n), frame=[b""] * n)
    import pyarrow.parquet as pq

    # stored as a Parquet dictionary column of strings (pandas reads it as a category)
    field = pq.read_schema(tmp_path / "transmissions.parquet").field("msg_type")
    assert str(field.type) == "dictionary<values=string, indices=int32, ordered=0>"
    df = pd.read_parquet(tmp_path / "transmissions.parquet")
    assert df["msg_type"].astype(str).tolist() == ["BSM", "SPAT", "MAP"]


def test_binary_column_from_one_buffer(tmp_path: Path) -> None:
    from v2x.recorder import binary

    def row(n: int, frame: object) -> dict:
        return dict(tx_id=np.arange(n), t_ns=np.zeros(n, np.int64), sender=np.zeros(n, np.int64),
                    msg_type=["BSM"] * n, msg_cnt=np.zeros(n), size_bytes=np.zeros(n),
                    x=np.zeros(n), y=np.zeros(n), frame=frame)

    with Recorder(tmp_path) as rec:
        rec.append("transmissions", **row(3, binary(b"abcdefg", np.array([2, 0, 5]))))
        rec.append("transmissions", **row(1, [b"xyz"]))  # a list chunk beside it
    got = pd.read_parquet(tmp_path / "transmissions.parquet")["frame"].tolist()
    assert got == [b"ab", b"", b"cdefg", b"xyz"]
    with pytest.raises(RecordingError, match="lengths sum to 3"):
        binary(b"abcd", np.array([1, 2])).to_arrow()


def test_a_new_run_clears_the_outputs_of_an_earlier_one(tmp_path: Path) -> None:
    from v2x.recorder import RUN_FILES

    # a folder that holds no run of ours: nothing is removed
    (tmp_path / "report.html").write_text("someone else's")
    with Recorder(tmp_path):
        assert (tmp_path / "report.html").read_text() == "someone else's"
    for name in (*RUN_FILES, "warnings.parquet", "notes.txt"):
        (tmp_path / name).write_text("old")
    (tmp_path / "run.json").write_text('{"scenario_id": "x", "status": "complete"}')
    with Recorder(tmp_path) as rec:
        assert not any((tmp_path / n).exists() for n in RUN_FILES)
        assert not (tmp_path / "warnings.parquet").exists()
        rec.write_json("run.json", {"status": "running"})
    assert (tmp_path / "notes.txt").read_text() == "old"  # not ours: left alone
    assert pd.read_parquet(tmp_path / "warnings.parquet").empty  # written anew, empty


def test_pair_clock_orders_a_window_by_pair_then_step() -> None:
    # 5,000 receptions of 300 nodes over 4 steps (one per pair and step), in step order and
    # shuffled within each step: the gaps equal those of the steps fed one at a time
    gen = np.random.default_rng(7)
    step = np.sort(gen.integers(0, 4, 5_000))
    pair = np.concatenate([gen.choice(300 * 300 * 5, (step == k).sum(), replace=False)
                           for k in range(4)])
    mt, rx, tx = (pair // 90_000).astype(np.int8), pair // 300 % 300, pair % 300
    t = step * 100 + gen.integers(0, 50, step.size)
    window = PairClock()
    gtype, gap = window.update(mt, rx, tx, t, step=step)
    steps = PairClock()
    one = [steps.update(mt[step == k], rx[step == k], tx[step == k], t[step == k])
           for k in range(4)]
    # the same gaps, in input order (steps are contiguous, so per step in order)
    np.testing.assert_array_equal(gap, np.concatenate([g for _, g in one]))
    np.testing.assert_array_equal(gtype, np.concatenate([m for m, _ in one]))
    assert gap.size > 0 and len(window) == len(steps)


@pytest.mark.parametrize(("others", "kept"), [(17, 1), (64, 2)])
def test_pair_clock_drops_the_pairs_of_nodes_that_left_in_batches(others: int,
                                                                  kept: int) -> None:
    # pairs (0 <- 1) and (2 <- 3); nodes 2 and 3 leave. With 14 other nodes leaving too, 16
    # have left (the least batch): the pairs of 2 and 3 are dropped at once; leaving alone
    # among 66 present, 2 and 3 wait (their pair stays stored). Either way (0 <- 1) keeps
    # its clock and new nodes 5 and 6 start without a gap.
    clock = PairClock()
    mt = np.zeros(2, np.int8)
    every = np.arange(100, 100 + others)
    clock.release(np.concatenate([[0, 1, 2, 3], every]))
    clock.update(mt, np.array([0, 2]), np.array([1, 3]), np.array([100, 100]))
    assert len(clock) == 2
    leaving = every[:14] if kept == 1 else every[:0]  # with 2 and 3: 16 left, or 2
    clock.release(np.concatenate([[0, 1], np.setdiff1d(every, leaving)]))
    assert len(clock) == kept
    _, gap = clock.update(mt, np.array([0, 5]), np.array([1, 6]), np.array([300, 300]))
    assert gap.tolist() == [200]


def test_pair_clock_forgets_nodes_seen_only_within_a_window() -> None:
    # node 7 came and went within one window: never present at a release, only seen
    clock = PairClock()
    clock.release(np.arange(16))
    clock.update(np.zeros(1, np.int8), np.array([7 + 100]), np.array([0]), np.array([100]))
    clock.release(np.arange(16), seen=np.arange(200))  # 184 seen nodes left: a batch
    assert len(clock) == 0
