"""TTC, DRAC, same-lane pairs, conflict episodes, events and warning truth, by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import (
    classify_warnings,
    drac,
    evaluate,
    follower_pairs,
    load_recording,
    ttc,
    ttc_conflicts,
)
from analysis._safety import HARD_BRAKING_MPS2, safety_kpis

STEP = 100_000_000


def test_ttc_cases() -> None:
    # closing: gap 20 m, 15 vs 10 m/s -> 20 / 5 = 4.0 s
    assert float(ttc(20.0, 15.0, 10.0)) == 4.0
    # not closing (leader faster) and equal speeds -> inf
    assert float(ttc(20.0, 10.0, 15.0)) == math.inf
    assert float(ttc(20.0, 12.0, 12.0)) == math.inf
    # touching or overlapping -> 0, whatever the speeds
    assert float(ttc(0.0, 15.0, 10.0)) == 0.0
    assert float(ttc(-1.0, 5.0, 10.0)) == 0.0
    assert math.isnan(float(ttc(np.nan, 15.0, 10.0)))


def test_ttc_vectorized_broadcast() -> None:
    gaps = np.array([20.0, 10.0, 5.0, 0.0])
    out = ttc(gaps, 15.0, np.array([10.0, 10.0, 20.0, 10.0]))
    # 20/5, 10/5, not closing, gap 0
    np.testing.assert_array_equal(out, [4.0, 2.0, np.inf, 0.0])
    assert out.dtype == np.float64


def test_drac_by_hand() -> None:
    # closing 5 m/s over 10 m: 5^2 / (2*10) = 1.25 m/s^2
    assert float(drac(10.0, 15.0, 10.0)) == 1.25
    # 20 m/s vs 0 over 25 m: 400 / 50 = 8.0 m/s^2
    assert float(drac(25.0, 20.0, 0.0)) == 8.0
    assert float(drac(10.0, 10.0, 15.0)) == 0.0  # not closing
    assert float(drac(0.0, 15.0, 10.0)) == math.inf  # already touching


def test_pairs_same_lane_only(run_dir: Path) -> None:
    pairs = follower_pairs(load_recording(run_dir).trajectories)
    # 6 steps, one pair each: vehicle 2 is alone in lane E1_0
    assert len(pairs) == 6
    assert set(pairs["follower"]) == {0}
    assert set(pairs["leader"]) == {1}
    assert set(pairs["lane"]) == {"E0_0"}
    # gap = leader pos - leader length - follower pos = the conftest GAPS_M
    np.testing.assert_allclose(pairs["gap_m"], [30.0, 14.0, 12.0, 10.0, 20.0, 7.5])
    # closing 5 m/s: TTC = gap / 5
    np.testing.assert_allclose(pairs["ttc_s"], [6.0, 2.8, 2.4, 2.0, 4.0, 1.5])


def test_pairs_order_by_position_in_unsorted_input() -> None:
    # one step, lane L: vehicles at 10, 50, 30 m (given out of order), all 4 m long
    traj = pd.DataFrame({
        "t_ns": [0, 0, 0, 0], "vehicle": [7, 8, 9, 10], "lane": ["L", "L", "L", "M"],
        "lane_pos": [10.0, 50.0, 30.0, 35.0], "length": [4.0, 4.0, 4.0, 4.0],
        "speed": [20.0, 10.0, 10.0, 1.0],
    })
    pairs = follower_pairs(traj)
    # 7 (at 10) follows 9 (at 30): gap 30 - 4 - 10 = 16, TTC 16 / 10 = 1.6
    # 9 (at 30) follows 8 (at 50): gap 50 - 4 - 30 = 16, equal speeds -> inf
    assert list(zip(pairs["follower"], pairs["leader"], strict=True)) == [(7, 9), (9, 8)]
    np.testing.assert_allclose(pairs["gap_m"], [16.0, 16.0])
    np.testing.assert_array_equal(pairs["ttc_s"], [1.6, np.inf])


def test_conflict_episodes_by_hand(run_dir: Path) -> None:
    pairs = follower_pairs(load_recording(run_dir).trajectories)
    c = ttc_conflicts(pairs, step_ns=STEP, threshold_s=3.0)
    # TTC per step 6.0, 2.8, 2.4, 2.0, 4.0, 1.5: below 3 s at steps 1-3 and 5 -> two episodes
    assert len(c) == 2
    first, second = c.iloc[0], c.iloc[1]
    assert (first.t_start_ns, first.t_end_ns, first.n_steps) == (STEP, 3 * STEP, 3)
    assert first.min_ttc_s == pytest.approx(2.0)  # 10 m / 5 m/s at step 3
    assert first.t_min_ttc_ns == 3 * STEP
    # DRAC 25/(2*14), 25/(2*12), 25/(2*10): max 1.25 m/s^2
    assert first.max_drac_mps2 == pytest.approx(1.25)
    assert not first.serious
    assert (second.t_start_ns, second.n_steps) == (5 * STEP, 1)
    assert second.min_ttc_s == pytest.approx(1.5)  # 7.5 / 5, = 1.5 -> serious (<=)
    assert second.max_drac_mps2 == pytest.approx(25.0 / 15.0)
    assert second.serious


def test_conflict_threshold_is_configurable(run_dir: Path) -> None:
    pairs = follower_pairs(load_recording(run_dir).trajectories)
    # threshold 2.5 s: steps 2 (2.4), 3 (2.0), 5 (1.5) -> episodes {2, 3} and {5}
    c = ttc_conflicts(pairs, step_ns=STEP, threshold_s=2.5)
    assert list(c["n_steps"]) == [2, 1]
    assert list(c["t_start_ns"]) == [2 * STEP, 5 * STEP]
    # threshold 1.5: TTC must be strictly below -> none
    assert ttc_conflicts(pairs, step_ns=STEP, threshold_s=1.5).empty


def test_no_conflicts_gives_typed_empty_table() -> None:
    pairs = follower_pairs(pd.DataFrame({
        "t_ns": [0, 0], "vehicle": [0, 1], "lane": ["L", "L"], "lane_pos": [0.0, 50.0],
        "length": [5.0, 5.0], "speed": [10.0, 10.0],
    }))
    c = ttc_conflicts(pairs, step_ns=STEP)
    assert c.empty
    assert c["min_ttc_s"].dtype == np.float64
    assert c["follower"].dtype == np.int64


def test_warning_truth(run_dir: Path) -> None:
    rec = load_recording(run_dir)
    c = ttc_conflicts(follower_pairs(rec.trajectories), step_ns=STEP)
    w = classify_warnings(rec.warnings, c)
    # ego 0 warned about 1 at 0 s; conflict (0, 1) from 0.1 s -> true.
    # ego 2 warned about 1 at 0.3 s; 2 never follows 1 in a lane -> false.
    assert list(w["true_warning"]) == [True, False]
    # a 1 ms window: [0, 0.001 s] ends before the episode starts at 0.1 s -> false
    w = classify_warnings(rec.warnings, c, window_ns=1_000_000)
    assert list(w["true_warning"]) == [False, False]


def test_warning_after_episode_is_false(run_dir: Path) -> None:
    rec = load_recording(run_dir)
    c = ttc_conflicts(follower_pairs(rec.trajectories), step_ns=STEP)
    late = rec.warnings.iloc[:1].assign(t_ns=[6 * STEP])  # last episode ended at 0.5 s
    assert list(classify_warnings(late, c)["true_warning"]) == [False]


def test_safety_kpis(run_dir: Path) -> None:
    rec = load_recording(run_dir)
    k, c, w = safety_kpis(rec.trajectories, rec.events, rec.warnings, step_ns=STEP)
    assert k["safety.collisions"] == 1
    # hard braking 5.0 > 3.92 counts, 3.0 does not
    assert pytest.approx(3.92266) == HARD_BRAKING_MPS2  # 0.4 * 9.80665
    assert k["safety.hard_braking"] == 1
    assert k["safety.ttc_conflicts"] == 2
    assert k["safety.ttc_conflicts_serious"] == 1
    assert k["safety.min_ttc_s"] == pytest.approx(1.5)
    assert k["safety.max_drac_mps2"] == pytest.approx(25.0 / 15.0)
    assert (k["apps.FCW.warnings"], k["apps.FCW.true_warnings"],
            k["apps.FCW.false_warnings"]) == (2, 1, 1)


def test_evaluate_ttc_threshold(run_dir: Path) -> None:
    assert evaluate(run_dir, ttc_threshold_s=2.5).kpis["safety.ttc_conflicts"] == 2
    assert evaluate(run_dir, ttc_threshold_s=1.0).kpis["safety.ttc_conflicts"] == 0
    # threshold 5 s: steps 1-5 (2.8 .. 1.5, 4.0 included) form one episode
    ev = evaluate(run_dir, ttc_threshold_s=5.0)
    assert ev.kpis["safety.ttc_conflicts"] == 1
    assert int(ev.conflicts["n_steps"].iloc[0]) == 5


def test_gap_in_steps_splits_episode() -> None:
    # the pair closes at steps 0, 1 and 3 (step 2 missing from the recording): two episodes
    rows = []
    for k in (0, 1, 3):
        rows += [(k * STEP, 1, "A", 100.0, 5.0, 10.0), (k * STEP, 0, "A", 85.0, 5.0, 15.0)]
    traj = pd.DataFrame(rows, columns=["t_ns", "vehicle", "lane", "lane_pos", "length", "speed"])
    c = ttc_conflicts(follower_pairs(traj), step_ns=STEP)
    # gap 100 - 5 - 85 = 10 m, TTC 2.0 s each step
    assert list(c["n_steps"]) == [2, 1]
    assert list(c["min_ttc_s"]) == [2.0, 2.0]


def test_warning_timing_kpis_first_warning_and_hosts() -> None:
    from analysis._safety import warning_timing_kpis

    # FCW warns host 3 at 6.2 s and 6.9 s and host 5 at 7.0 s; RLVW is configured, never warns
    w = pd.DataFrame({"t_ns": [6_900_000_000, 6_200_000_000, 7_000_000_000],
                      "app": ["FCW", "FCW", "FCW"], "vehicle": [3, 3, 5]})
    k = warning_timing_kpis(w, ["FCW", "RLVW"])
    assert k["apps.FCW.first_warning_s"] == 6.2
    assert k["apps.FCW.hosts_warned"] == 2
    assert math.isnan(k["apps.RLVW.first_warning_s"])
    assert k["apps.RLVW.hosts_warned"] == 0
