"""Ground truth from the traffic: one event per collision with its duration, teleports, and
hard braking with hysteresis (v2x.sim._truth), on hand-made steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scenarios
from analysis._safety import safety_kpis, settling_after_teleport
from scenarios import ScenarioBuilder
from v2x.cli import run_scenario
from v2x.events import COLLISION_GAP_NS, TELEPORT_SETTLE_NS
from v2x.nodes import PERSON_NODE_BASE
from v2x.sim._truth import GroundTruth
from v2x.traffic import (
    Collision,
    SignalCrossing,
    SumoTraffic,
    Teleport,
    VehicleStates,
    sumo_command,
)

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
    traj = traj.assign(x=traj["lane_pos"], y=0.0, heading_deg=90.0)  # an eastbound lane
    events = pd.DataFrame({"t_ns": [10 * STEP, 10 * STEP], "kind": ["teleport", "teleport_end"],
                           "vehicle": [1, 1], "other": [-1, -1], "value": [np.nan, np.nan]})
    settling = settling_after_teleport(traj, events)
    assert settling.sum() == TELEPORT_SETTLE_NS // STEP  # b's rows at 1.0 .. 1.9 s
    warnings = pd.DataFrame({"t_ns": pd.Series(dtype=np.int64), "app": pd.Series(dtype=str),
                             "vehicle": pd.Series(dtype=np.int64),
                             "remote": pd.Series(dtype=np.int64),
                             "info_age_ms": pd.Series(dtype=np.float64)})
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


# ------------------------------------------------------------------ red light and speeding
def test_a_stop_line_crossed_on_red_or_red_yellow_is_a_violation_yellow_and_green_are_not(
        ) -> None:
    truth = GroundTruth(STEP)
    st = _states(7)  # 0.7 s, every vehicle at 10 m/s
    cross = [SignalCrossing("a", "C", 7, "r"), SignalCrossing("b", "C", 8, "y"),
             SignalCrossing("c", "C", 9, "G")]
    rows = truth.observe(st, [], [], INDEX, cross)
    got = [(int(t), k, int(v), float(x)) for r in rows for t, k, v, x in
           zip(r["t_ns"], r["kind"], r["vehicle"], r["value"], strict=True)]
    assert got == [(7 * STEP, "red_light_violation", 0, 10.0)]  # value: its speed
    rows = truth.observe(_states(8), [], [], INDEX, [SignalCrossing("b", "C", 8, "u"),
                                                     SignalCrossing("c", "C", 2, "g"),
                                                     SignalCrossing("a", "C", 1, "s")])
    assert [(r["kind"][0], int(r["vehicle"][0])) for r in rows] == [("red_light_violation", 1)]
    assert truth.counts["red_light_violation"] == 2


def test_a_teleport_landing_past_a_stop_line_is_no_violation() -> None:
    truth = GroundTruth(STEP)
    truth.observe(_states(3), [], [Teleport("a", "start"), Teleport("a", "end")], INDEX)
    rows = truth.observe(_states(4), [], [], INDEX, [SignalCrossing("a", "C", 7, "r")])
    assert rows == []


def _speeds(truth: GroundTruth, k: int, speed: tuple[float, float, float],
            lanes: tuple[str, str, str] = ("e_0", "e_0", "e_0"),
            present: tuple[int, ...] = (0, 1, 2)) -> list[tuple[int, str, int, float]]:
    st = _states(k)
    keep = list(present)
    st = VehicleStates(**{**{f: getattr(st, f)[keep] for f in (
        "names", "index", "x", "y", "accel", "heading_deg", "length", "width", "height",
        "lane_pos", "brake", "classification")}, "t_ns": st.t_ns,
        "speed": np.array(speed, np.float64)[keep],
        "lane": np.array(lanes, dtype=object)[keep]})
    rows = truth.observe(st, [], [], INDEX)
    return [(int(t), str(kd), int(v), round(float(x), 6)) for r in rows
            for t, kd, v, x in zip(r["t_ns"], r["kind"], r["vehicle"], r["value"],
                                   strict=True)]


def test_speeding_is_one_event_per_episode_with_its_largest_excess() -> None:
    # limit 10 m/s on e_0; the junction lane :j_0 (SUMO's turning speed 5) is not judged.
    # a: 9, 10 (at the limit: not speeding), 10.5 (starts: value the limit), 12, 11 on :j_0
    # (carried, not counted), 9.5 (ends: value the largest excess, 12 - 10 = 2.0)
    truth = GroundTruth(STEP, lane_limits={"e_0": 10.0, ":j_0": 5.0})
    seq = [(9.0, "e_0"), (10.0, "e_0"), (10.5, "e_0"), (12.0, "e_0"), (11.0, ":j_0"),
           (9.5, "e_0")]
    got = []
    for k, (v, lane) in enumerate(seq, start=1):
        got += _speeds(truth, k, (v, 0.0, 0.0), (lane, "e_0", "e_0"))
    assert got == [(3 * STEP, "speeding", 0, 10.0), (6 * STEP, "speeding_end", 0, 2.0)]
    assert truth.counts["speeding"] == 1


def test_an_episode_ends_when_its_vehicle_leaves_or_the_run_ends() -> None:
    truth = GroundTruth(STEP, lane_limits={"e_0": 10.0})
    assert _speeds(truth, 1, (11.0, 13.0, 0.0)) == [(STEP, "speeding", 0, 10.0),
                                                    (STEP, "speeding", 1, 10.0)]
    # b gone at step 2 (arrived): its episode ends there; a's stays open until the end
    assert _speeds(truth, 2, (11.5, 0.0, 0.0), present=(0, 2)) == [
        (2 * STEP, "speeding_end", 1, 3.0)]
    rows = truth.finish()
    assert [(int(r["t_ns"][0]), r["kind"][0], int(r["vehicle"][0]), float(r["value"][0]))
            for r in rows] == [(2 * STEP, "speeding_end", 0, pytest.approx(1.5))]


def test_without_lane_limits_nothing_is_speeding() -> None:
    assert _speeds(GroundTruth(STEP), 1, (50.0, 50.0, 50.0)) == []


# ------------------------------------------------------------------------ in SUMO
def _builder(id_: str, duration: str) -> ScenarioBuilder:
    return (ScenarioBuilder(id_, start="2026-06-01T10:00:00+08:00", duration=duration,
                            step="100 ms", seed=1)
            .geo(anchor_lat=39.05583, anchor_lon=117.055))


@pytest.mark.sumo
def test_the_red_light_runner_is_the_one_violation_and_rlvw_warned_it_in_time(
        tmp_path: Path) -> None:
    # scenarios/library/xiqing-rlvw-runs-red: the runner crosses its stop line on red at
    # about 12.5 s (its lane becomes the junction's internal lane at the 12.6 s step); the
    # green host crosses on green at about 6.7 s; the stopper stops at the line. Run through
    # the traffic process (the crossings travel the pipelined wire). RLVW warned the runner
    # at 10.3 s (the scenario's hand computation): lead time 12.6 - 10.3 = 2.3 s
    res = run_scenario("xiqing-rlvw-runs-red", out_dir=tmp_path / "run", pipeline=True)
    ev = pd.read_parquet(tmp_path / "run" / "events.parquet")
    names = pd.read_parquet(tmp_path / "run" / "nodes.parquet").set_index("node")["name"]
    red = ev[ev["kind"].astype(str) == "red_light_violation"]
    assert [(names[v], t) for v, t in zip(red["vehicle"], red["t_ns"], strict=True)] == [
        ("runner", 12_600_000_000)]
    assert red["value"].iloc[0] == pytest.approx(13.80, abs=0.01)  # its held speed [m/s]
    k = res.evaluation.kpis
    assert k["safety.red_light_violations"] == 1
    assert (k["apps.RLVW.true_positives"], k["apps.RLVW.false_positives"],
            k["apps.RLVW.misses"]) == (1, 0, 0)
    assert k["apps.RLVW.lead_time_min_s"] == pytest.approx(2.3)


@pytest.mark.sumo
def test_speeding_in_sumo_starts_above_the_lane_limit_and_ends_at_or_below_it() -> None:
    # one eastbound lane limited to 50 km/h (SUMO's maxSpeed 13.89 m/s); the car departs at
    # 50/3.6 = 13.8889 m/s (not above). At 1.0 s it may ignore limits (speed mode 31 + 64:
    # "disregard maximum speed") and is told 16 m/s: it accelerates at 2.6 m/s² and is above
    # 13.89 at the next step, 1.1 s (value: the limit). At 4.1 s it is told 12 m/s and
    # decelerates at 3.0 m/s² from 16: at or below 13.89 after (16 - 13.89) / 3 = 0.70 s,
    # i.e. at the 8th step, 4.9 s (value: the largest excess, 16 - 13.89 = 2.11 m/s)
    sc = (_builder("speeder", "6 s")
          .network("road", length_m=400.0, lanes=1, opposing=False, speed_limit_kmh=50.0)
          .participant("fast", lane="fwd0_0", pos_m=10.0, speed_kmh=50.0).build())
    built = scenarios.build(sc)
    with SumoTraffic(sumo_command(built.net_file, built.route_files, built.additional_files,
                                  step_ns=sc.step_ns, seed=1)) as tr:
        limits = tr.lane_speed_limits()
        assert limits["fwd0_0"] == pytest.approx(13.89)
        truth = GroundTruth(sc.step_ns, lane_limits=limits)
        rows = []
        for k in range(60):
            st = tr.step()
            if k == 9:
                tr.conn.vehicle.setSpeedMode("fast", 31 + 64)
                tr.conn.vehicle.setSpeed("fast", 16.0)
            if k == 40:
                tr.conn.vehicle.setSpeed("fast", 12.0)
            rows += truth.observe(st, [], [], {"fast": 0}, tr.signal_crossings())
    got = [(int(t), str(kd), round(float(x), 2)) for r in rows
           for t, kd, x in zip(r["t_ns"], r["kind"], r["value"], strict=True)]
    assert got == [(1_100_000_000, "speeding", 13.89), (4_900_000_000, "speeding_end", 2.11)]


@pytest.mark.sumo
def test_pedestrians_are_recorded_and_give_their_pet(tmp_path: Path) -> None:
    # an unsignalized crossroads (arms of 100 m): a pedestrian walks north across the
    # junction along x = 2.88 (SUMO's walking areas and crossing), a car drives east along
    # y = -1.75 (the eastbound lane's centre) at up to 50 km/h, 4.8 m long, 1.8 m wide. They
    # cross at right angles at (2.88, -1.75): the car's part of the area is 0.478 / 2 either
    # side of x = 2.88 (it leaves when its front is at 2.88 + 0.239 + 4.8 = 7.919), the
    # pedestrian's 1.8 / 2 either side of y = -1.75 (it enters at y = -2.65); the car passes
    # first, the pedestrian comes about 6 s later: an encounter, no conflict
    sc = (_builder("walker", "20 s")
          .network("intersection", arms=4, arm_length_m=100.0, lanes=1, speed_limit_kmh=50.0,
                   signalized=False)
          .participant("walker", vehicle_class="pedestrian", edges=["S_in", "N_out"],
                       pos_m=80.0)
          .participant("car", lane="W_in_0", edges=["W_in", "E_out"], pos_m=10.0,
                       speed_kmh=30.0).build())
    res = run_scenario(sc, out_dir=tmp_path / "run")
    tr = pd.read_parquet(tmp_path / "run" / "trajectories.parquet")
    ped = tr[tr["vehicle"] == PERSON_NODE_BASE]
    assert len(ped) == 200 and ped["accel"].isna().all()  # every step of 20 s
    assert set(ped["lane"].astype(str)) == {"S_in", ":C_7"}  # its edges: the crossing at 20 s
    (e,) = res.evaluation.pet.itertuples()
    assert (e.kind, e.first, e.second) == ("pedestrian", 0, PERSON_NODE_BASE)
    assert (e.x, e.y, e.angle_deg) == pytest.approx((2.88, -1.75, 90.0), abs=0.01)
    car = tr[tr["vehicle"] == 0].sort_values("t_ns")
    walker = ped.sort_values("t_ns")
    assert np.interp(e.t_first_exit_s, car["t_ns"] / 1e9, car["x"]) == pytest.approx(7.919,
                                                                                     abs=1e-6)
    assert np.interp(e.t_second_enter_s, walker["t_ns"] / 1e9, walker["y"]) == pytest.approx(
        -2.65, abs=1e-6)
    assert e.pet_s == pytest.approx(e.t_second_enter_s - e.t_first_exit_s)
    assert 4.0 < e.pet_s and not e.conflict
    assert res.evaluation.kpis["safety.pet_conflicts"] == 0
