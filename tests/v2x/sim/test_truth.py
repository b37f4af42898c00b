"""Ground truth from the traffic: one event per collision with its duration, teleports, and
hard braking with hysteresis (v2x.sim._truth), on hand-made steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis._safety import safety_kpis, settling_after_teleport
from v2x.events import COLLISION_GAP_NS, TELEPORT_SETTLE_NS
from v2x.sim._truth import GroundTruth
from v2x.traffic import Collision, Teleport, VehicleStates

STEP = 100_000_000
INDEX = {"a": 0, "b": 1, "c": 2}


def _states(k: int, accel: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> VehicleStates:
    f = np.zeros(3)
    return VehicleStates(
        t_ns=k * STEP, names=np.array(["a", "b", "c"], dtype=object),
        index=np.arange(3, dtype=np.int64), x=f, y=f, speed=np.full(3, 10.0),
        accel=np.array(accel, np.float64), heading_deg=f, length=np.full(3, 4.5),
        width=np.full(3, 1.8), height=np.full(3, 1.5), lane=np.array(["e_0"] * 3, dtype=object),
        lane_pos=f, brake=np.zeros(3, bool), classification=np.zeros(3, np.int16))


def _run(steps: dict[int, dict], n: int) -> pd.DataFrame:
    """Observe steps 1..n (``steps[k]``: keyword arguments of that step), then finish."""
    truth = GroundTruth(STEP)
    rows = []
    for k in range(1, n + 1):
        s = steps.get(k, {})
        rows += truth.observe(_states(k, s.get("accel", (0.0, 0.0, 0.0))),
                              s.get("collisions", []), s.get("teleports", []), INDEX)
    rows += truth.finish()
    if not rows:
        return pd.DataFrame(columns=["t_ns", "kind", "vehicle", "other", "value"])
    return pd.DataFrame({c: np.concatenate([r[c] for r in rows]) for c in rows[0]})


def test_a_collision_held_82_steps_is_one_event_with_its_duration() -> None:
    hit = [Collision("a", "b", 12.5)]
    ev = _run({k: {"collisions": hit} for k in range(10, 92)}, 120)  # steps 10..91
    assert ev["kind"].tolist() == ["collision", "collision_end"]
    onset, end = ev.iloc[0], ev.iloc[1]
    assert (onset["t_ns"], onset["vehicle"], onset["other"], onset["value"]) == (
        10 * STEP, 0, 1, 12.5)
    # last reported at step 91; it ends 1 s (10 steps) later, lasting 82 steps = 8.2 s
    assert end["t_ns"] == 91 * STEP + COLLISION_GAP_NS
    assert end["value"] == pytest.approx(8.2)


def test_a_pair_separating_briefly_or_swapping_roles_is_still_one_collision() -> None:
    steps = {k: {"collisions": [Collision("a", "b", 5.0)]} for k in range(1, 5)}
    steps.update({k: {"collisions": [Collision("b", "a", 4.0)]} for k in range(9, 12)})
    ev = _run(steps, 40)  # a gap of steps 5..8 (0.4 s) < 1 s
    assert ev["kind"].tolist() == ["collision", "collision_end"]
    assert ev["value"].iloc[1] == pytest.approx(1.1)  # steps 1..11


def test_two_collisions_more_than_a_second_apart_and_one_open_at_the_end() -> None:
    steps = {k: {"collisions": [Collision("a", "b", 5.0)]} for k in (1, 2)}
    steps.update({k: {"collisions": [Collision("a", "b", 6.0), Collision("c", "a", 7.0)]}
                  for k in (20, 21, 22)})
    ev = _run(steps, 25)
    col = ev[ev["kind"] == "collision"]
    assert col[["t_ns", "vehicle", "other"]].values.tolist() == [
        [1 * STEP, 0, 1], [20 * STEP, 0, 1], [20 * STEP, 2, 0]]
    ends = ev[ev["kind"] == "collision_end"]
    # the first ended 1 s after step 2; the two of steps 20..22 are cut by the run's end (25)
    assert ends["t_ns"].tolist() == [2 * STEP + COLLISION_GAP_NS, 25 * STEP, 25 * STEP]
    assert ends["value"].tolist() == pytest.approx([0.2, 0.3, 0.3])


def test_hard_braking_starts_above_0_4_g_and_needs_to_fall_below_0_3_g_to_end() -> None:
    # vehicle a: 4.0 (start), 3.5 (still braking: above 0.3 g = 2.94), 4.5 (same event),
    # 2.0 (ends), 4.2 (a new event)
    decel = {1: 4.0, 2: 3.5, 3: 4.5, 4: 2.0, 5: 4.2}
    ev = _run({k: {"accel": (-d, 0.0, 0.0)} for k, d in decel.items()}, 6)
    assert ev[["t_ns", "vehicle", "value"]].values.tolist() == [[1 * STEP, 0, 4.0],
                                                                 [5 * STEP, 0, 4.2]]


def test_teleports_are_events_and_the_second_after_one_is_not_hard_braking() -> None:
    steps = {5: {"teleports": [Teleport("b", "start"), Teleport("b", "end")]},
             6: {"accel": (0.0, -6.0, 0.0)},   # 0.1 s after the jump: SUMO's re-insertion
             20: {"accel": (0.0, -6.0, 0.0)}}  # 1.5 s after: driving again
    ev = _run(steps, 25)
    assert ev[["t_ns", "kind", "vehicle"]].values.tolist() == [
        [5 * STEP, "teleport", 1], [5 * STEP, "teleport_end", 1],
        [20 * STEP, "hard_braking", 1]]


def test_the_analysis_leaves_the_second_after_a_teleport_out_of_the_safety_measures() -> None:
    # b ends a teleport at 1.0 s just 5 m behind a at 20 m/s vs 10 m/s: a TTC of 0.5 s that is
    # SUMO's re-insertion, not driving; from 2.0 s on the same closing pair counts
    t = np.arange(10, 30, dtype=np.int64) * STEP  # a and b from the teleport's end on
    n = t.size
    traj = pd.DataFrame({
        "t_ns": np.concatenate([t, t]), "vehicle": np.repeat([0, 1], n),
        "lane": ["e_0"] * (2 * n),
        "lane_pos": np.concatenate([np.full(n, 100.0), np.full(n, 90.5)]),
        "length": np.full(2 * n, 4.5), "speed": np.concatenate([np.full(n, 10.0),
                                                                np.full(n, 20.0)])})
    events = pd.DataFrame({"t_ns": [10 * STEP, 10 * STEP], "kind": ["teleport", "teleport_end"],
                           "vehicle": [1, 1], "other": [-1, -1], "value": [np.nan, np.nan]})
    settling = settling_after_teleport(traj, events)
    assert settling.sum() == TELEPORT_SETTLE_NS // STEP  # b's rows at 1.0 .. 1.9 s
    warnings = pd.DataFrame({"t_ns": pd.Series(dtype=np.int64), "app": pd.Series(dtype=str),
                             "vehicle": pd.Series(dtype=np.int64),
                             "remote": pd.Series(dtype=np.int64)})
    kpis, conflicts, _ = safety_kpis(traj, events, warnings, step_ns=STEP)
    assert kpis["safety.teleports"] == 1
    assert conflicts["t_start_ns"].tolist() == [20 * STEP]  # not at 1.0 s
    assert kpis["safety.min_ttc_s"] == pytest.approx(0.5)


def test_every_event_kind_is_documented_in_the_recording_layout() -> None:
    from pathlib import Path

    from v2x.events import EVENT_KINDS

    doc = (Path(__file__).parents[3] / "docs" / "recording.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| `events.parquet`"))
    assert [k for k in EVENT_KINDS if f"`{k}`" not in row] == []
