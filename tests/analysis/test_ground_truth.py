"""Ground truth from trajectories, by hand: rear-end TTC and DRAC with a lateral offset, PET of
crossing, merging and vehicle-pedestrian encounters, red-light and speeding tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis._pet import (
    PERSON_WIDTH_M,
    _lookup,
    conflict_extent,
    crossing_candidates,
    heading_sectors,
    near_crossing_heading,
    pet_encounters,
)
from analysis._safety import (
    _rear_end_candidates,
    _step_index,
    offset_pairs,
    rear_end_offset,
    red_light_violations,
    speeding_episodes,
)
from v2x.nodes import PERSON_NODE_BASE

STEP = 100_000_000
PED = PERSON_NODE_BASE


# ------------------------------------------------------------------ rear-end with an offset
def _one(**kw: float) -> dict[str, float]:
    """rear_end_offset of one pair: follower front at (0, 0) heading east (90 deg) at 20 m/s,
    leader front at (25, 0) heading east at 10 m/s, 5 m long, both 1.8 m wide; ``kw``
    overrides."""
    args = dict(dx=25.0, dy=0.0, heading_f_deg=90.0, heading_l_deg=90.0, v_follower=20.0,
                v_leader=10.0, length_l=5.0, width_f=1.8, width_l=1.8)
    args.update(kw)
    return {k: float(v) for k, v in rear_end_offset(**args).items()}


def test_offset_ttc_in_line_is_the_following_ttc() -> None:
    # gap 25 - 5 = 20 m, closing 10 m/s: TTC 2.0 s, DRAC 10² / (2 * 20) = 2.5 m/s²
    r = _one()
    assert (r["lon_m"], r["lat_m"], r["gap_m"]) == pytest.approx((25.0, 0.0, 20.0))
    assert (r["ttc_s"], r["drac_mps2"]) == pytest.approx((2.0, 2.5))


def test_offset_ttc_equal_speeds_and_not_closing_are_infinite() -> None:
    assert _one(v_leader=20.0)["ttc_s"] == math.inf
    assert _one(v_leader=20.0)["drac_mps2"] == 0.0
    assert _one(v_follower=5.0)["ttc_s"] == math.inf


def test_offset_ttc_opposite_directions_is_infinite() -> None:
    # the leader faces the follower (heading west): closing at 30 m/s, but no rear-end
    r = _one(heading_l_deg=270.0)
    assert r["ttc_s"] == math.inf and r["drac_mps2"] == 0.0


def test_offset_ttc_counts_inside_the_lateral_overlap_only() -> None:
    # heading east, the follower's right is south: a leader 1.5 m north is 1.5 m to the left;
    # 1.5 < (1.8 + 1.8) / 2 = 1.8: the paths overlap, TTC 2.0 s as in line
    r = _one(dy=1.5)
    assert r["lat_m"] == pytest.approx(-1.5)
    assert r["ttc_s"] == pytest.approx(2.0)
    # 2.0 m beside: no overlap, no rear-end encounter
    assert _one(dy=2.0)["ttc_s"] == math.inf
    # a 2.5 m wide truck 2.0 m beside does overlap: 2.0 < (1.8 + 2.5) / 2 = 2.15
    assert _one(dy=2.0, width_l=2.5)["ttc_s"] == pytest.approx(2.0)


def test_offset_ttc_of_an_angled_leader_uses_its_speed_along_the_follower() -> None:
    # leader heading 150 (60 deg off): along the follower 10 cos 60 = 5 m/s, its rear
    # 5 cos 60 = 2.5 m back: gap 22.5 m, closing 15 m/s -> TTC 1.5 s, DRAC 225 / 45 = 5.0
    r = _one(heading_l_deg=150.0)
    assert r["gap_m"] == pytest.approx(22.5)
    assert (r["ttc_s"], r["drac_mps2"]) == pytest.approx((1.5, 5.0))


def _cars(rows: list[tuple[int, str, float, float, float]]) -> pd.DataFrame:
    """One step of eastbound cars: (vehicle, lane, x, y, speed), 5 m long."""
    df = pd.DataFrame(rows, columns=["vehicle", "lane", "x", "y", "speed"])
    return df.assign(t_ns=0, heading_deg=90.0, length=5.0, lane_pos=df["x"])


def test_offset_pairs_pair_across_lanes_only_when_the_nearest_leader_is_elsewhere() -> None:
    tr = _cars([
        (0, "A_0", 0.0, 0.0, 20.0),    # follower in lane A_0
        (1, "A_1", 25.0, 1.0, 10.0),   # changing lanes: 1 m left of 0, in lane A_1
        (2, "A_1", 40.0, 3.5, 10.0),   # in A_1 proper: 3.5 m left of 0, 2.5 m of 1
        (3, "A_0", 60.0, 0.0, 10.0),   # ahead in 0's lane
        (4, "A_0", -20.0, 0.0, 30.0),  # behind 0 in its lane: its leader is 0 (same lane)
    ])
    p = offset_pairs(tr, pd.Series({0: 1.8, 1: 1.8, 2: 1.8, 3: 1.8, 4: 1.8}))
    got = {(int(r.follower), int(r.leader)): r for r in p.itertuples()}
    # 0 -> 1 (1 m aside, the nearest ahead): gap 20 m, closing 10: TTC 2.0; 0 -> 3 is
    # farther; 1 -> 3 (lat 1.0, other lane): gap 30 m, no closing; 2 has nobody overlapping
    # ahead; 4's nearest leader is 0 in its own lane: the same-lane pair stands
    assert set(got) == {(0, 1), (1, 3)}
    assert got[0, 1].ttc_s == pytest.approx(2.0) and got[0, 1].gap_m == pytest.approx(20.0)
    assert got[0, 1].lat_m == pytest.approx(-1.0) and got[0, 1].lane == "A_0"
    assert got[0, 1].parallel  # A_0 and A_1: side by side on road A
    assert got[1, 3].ttc_s == math.inf and got[1, 3].gap_m == pytest.approx(30.0)


def test_offset_pairs_of_equally_near_leaders_take_the_first_row() -> None:
    tr = _cars([
        (0, "A_0", 0.0, 0.0, 20.0),   # follower
        (5, "A_1", 20.0, 1.0, 10.0),   # 20 m ahead, 1 m left: the first row of the two
        (4, "B_0", 20.0, -1.0, 10.0),  # as near, 1 m right (2 m from 5: no overlap)
    ])
    tr["lane"] = tr["lane"].astype("category")  # as read from Parquet
    p = offset_pairs(tr)
    # gap 20 - 5 = 15 m, closing 20 - 10 = 10 m/s: TTC 1.5 s; 5 and 4 lead nobody
    assert p[["follower", "leader"]].values.tolist() == [[0, 5]]
    assert p["ttc_s"].tolist() == [pytest.approx(1.5)] and p["lane"].tolist() == ["A_0"]
    assert p["parallel"].tolist() == [True]  # A_0 and A_1: side by side on road A


def test_rear_end_candidates_take_each_direction_of_a_pair() -> None:
    # 0 at (0, 0) and 1 at (25, 1), both heading east, 1.8 m wide: 1 is 25 m ahead of 0 and
    # 1 m to its left (|lat| 1 < 1.8): (0, 1) with dx 25, dy 1, lon 25; 0 is behind 1: not
    # a candidate that way. 2 at (10, 0) heads west, in line with 0: 10 m ahead of 0 and 0
    # 10 m ahead of 2 (which way each heads is the caller's test): (0, 2) and (2, 0); 1 is
    # behind 2 (15 m) and 2 behind 1 (15 m): neither
    x, y = np.array([0.0, 25.0, 10.0]), np.array([0.0, 1.0, 0.0])
    head, w = np.array([90.0, 90.0, 270.0]), np.full(3, 1.8)
    f, ld, dx, dy, lon = _rear_end_candidates(np.array([0, 1, 0]), np.array([1, 2, 2]),
                                              x, y, head, w)
    got = sorted(zip(f.tolist(), ld.tolist(), dx.tolist(), dy.tolist(), lon.tolist(),
                     strict=True))
    assert got == [(0, 1, 25.0, 1.0, pytest.approx(25.0)), (0, 2, 10.0, 0.0, 10.0),
                   (2, 0, -10.0, 0.0, pytest.approx(10.0))]
    # the same lon as rear_end_offset of the directed pair
    assert lon.tolist() == [float(rear_end_offset(a, b, head[i], head[j], 0, 0, 5, 1.8,
                                                  1.8)["lon_m"])
                            for a, b, i, j in zip(dx, dy, f, ld, strict=True)]


def test_step_index_counts_distinct_times_in_any_order() -> None:
    assert _step_index(np.array([0, 0, 100, 100, 300], np.int64)).tolist() == [0, 0, 1, 1, 2]
    assert _step_index(np.array([300, 0, 100, 0], np.int64)).tolist() == [2, 0, 1, 0]
    assert _step_index(np.array([], np.int64)).tolist() == []


def test_offset_pairs_leave_pedestrians_out() -> None:
    tr = _cars([(0, "A_0", 0.0, 0.0, 20.0), (PED, "A", 10.0, 0.0, 1.0)])
    assert offset_pairs(tr).empty


# ------------------------------------------------------------------------------------ PET
def _walk(v: int, x0: float, y0: float, heading: float, speed: float, n: int,
          lane: str = "L", length: float = 5.0, stop_after_m: float = math.inf) -> pd.DataFrame:
    """``n`` steps of 0.1 s of a road user going straight from (x0, y0) at ``speed``, its
    front (reference point) ``speed * t`` along its heading, standing still after
    ``stop_after_m``."""
    t = np.arange(n) * 0.1
    d = np.minimum(speed * t, stop_after_m)
    h = math.radians(heading)
    return pd.DataFrame({"t_ns": np.arange(n, dtype=np.int64) * STEP, "vehicle": v,
                         "x": x0 + d * math.sin(h), "y": y0 + d * math.cos(h),
                         "heading_deg": heading, "lane": lane, "lane_pos": d,
                         "length": length, "speed": speed})


def test_conflict_extent_of_a_right_angle_is_half_the_other_width() -> None:
    assert float(conflict_extent(90.0, 1.8, 2.0)) == pytest.approx(1.0)
    # 30 deg: (2.0 / 2) / sin 30 + (1.8 / 2) |cot 30| = 2 + 0.9 * 1.7321 = 3.5588
    assert float(conflict_extent(30.0, 1.8, 2.0)) == pytest.approx(3.5588, abs=1e-4)


def test_heading_sectors_centre_north_and_fold_any_heading() -> None:
    # 16 sectors of 22.5 deg, sector 0 from -11.25 to 11.25 deg: 11.24 is in 0, 11.25 in 1,
    # 90 (east) the centre of 4, 348.75 = -11.25 back in 0, -90 = 270 in 12, 720 = 0
    h = [0.0, 11.24, 11.25, 90.0, 348.75, -90.0, 720.0, math.nan, math.inf]
    assert heading_sectors(h, 16).tolist() == [0, 0, 1, 4, 0, 12, 0, -1, -1]


def test_near_crossing_heading_keeps_rows_beside_a_crossing_heading_only() -> None:
    # reach 2.5 m: cells a little over 2.5 m wide. 0 heads north at (0, 0) and 1 east at
    # (2, 2), in the same cell: 90 deg apart, both kept. 3 heads north at (1, 0) and 4 south
    # at (-1, 0) (the cell to the west): each has the eastbound 1 within a cell, kept (a
    # superset: the exact distance and angle are tested later). 2 heads east alone 20 m
    # away; 5 has no heading. 6 (40 deg) and 7 (north) share a cell at y = 30: sectors 2
    # apart (45 +- 22.5 deg), kept
    x = [0.0, 2.0, 20.0, 1.0, -1.0, 0.5, 0.0, 0.0]
    y = [0.0, 2.0, 20.0, 0.0, 0.0, 0.5, 30.0, 31.0]
    h = [0.0, 90.0, 90.0, 0.0, 180.0, math.nan, 40.0, 0.0]
    got = near_crossing_heading(x, y, h, 2.5).tolist()
    assert got == [True, True, False, True, True, False, True, True]
    # the same way or the opposite way only: nobody is kept
    assert not near_crossing_heading([0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 10.0, 180.0],
                                     2.5).any()


def test_crossing_candidates_are_the_query_pairs_of_crossing_headings() -> None:
    # random road users in a 60 m square over 20 s, headings in steps of 15 deg: the pairs
    # within Chebyshev 2.5 (time scaled by 2.5 / 10) whose headings differ by more than
    # 30 and less than 150 deg are the same as a brute-force search finds
    rng = np.random.default_rng(3)
    n = 600
    pts = np.column_stack([rng.uniform(0, 60, n), rng.uniform(0, 60, n),
                           rng.uniform(0, 20, n) * 0.25])
    head = rng.integers(0, 24, n) * 15.0
    a, b = crossing_candidates(pts, head, 2.5)
    assert (a < b).all()
    diff = np.abs((head[a] - head[b] + 180.0) % 360.0 - 180.0)
    got = {(int(i), int(j)) for i, j, d in zip(a, b, diff, strict=True) if 30.0 < d < 150.0}
    near = np.abs(pts[:, None, :] - pts[None, :, :]).max(axis=2) <= 2.5
    dh = np.abs((head[:, None] - head[None, :] + 180.0) % 360.0 - 180.0)
    want = {(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(
        near & (dh > 30.0) & (dh < 150.0), k=1)), strict=True)}
    assert want and got == want


def test_lookup_finds_the_last_row_of_each_vehicle_and_time() -> None:
    # keys: rows 0..4 = (7, 0), (3, 100), (7, 100), (3, 100) again, (9, 0)
    kv = np.array([7, 3, 7, 3, 9])
    kt = np.array([0, 100, 100, 100, 0])
    # (3, 100) is given twice: its last row, 3; (7, 0) row 0; (9, 100), (5, 0) and (7, 200)
    # are absent
    got = _lookup(kv, kt, np.array([3, 7, 9, 5, 7, 7]), np.array([100, 0, 100, 0, 200, 100]))
    assert got.tolist() == [3, 0, -1, -1, -1, 2]
    assert _lookup(kv[:0], kt[:0], np.array([1]), np.array([0])).tolist() == [-1]


def test_crossing_pet_from_two_hand_built_trajectories() -> None:
    # A eastbound along y = 0 from x = -20, B northbound along x = 0 from y = -40, both
    # 10 m/s, 5 m long, 1.8 m wide; they cross at right angles at (0, 0): each one's part of
    # the conflict area is 0.9 m either side of it. A enters when its front reaches x = -0.9
    # (t = 19.1 / 10 = 1.91 s) and leaves when its rear passes x = 0.9 (front at 5.9,
    # t = 2.59 s); B enters when its front reaches y = -0.9 (t = 3.91 s):
    # PET = 3.91 - 2.59 = 1.32 s < 2 s, a conflict, not serious (> 1 s)
    tr = pd.concat([_walk(0, -20.0, 0.0, 90.0, 10.0, 80, "A"),
                    _walk(1, 0.0, -40.0, 0.0, 10.0, 80, "B")])
    (e,) = pet_encounters(tr).itertuples()
    assert (e.kind, e.first, e.second) == ("crossing", 0, 1)
    assert (e.x, e.y, e.angle_deg) == pytest.approx((0.0, 0.0, 90.0))
    assert (e.t_first_enter_s, e.t_first_exit_s, e.t_second_enter_s) == pytest.approx(
        (1.91, 2.59, 3.91))
    assert e.pet_s == pytest.approx(1.32)
    assert e.conflict and not e.serious


def test_crossing_road_users_in_the_area_at_once_have_pet_zero() -> None:
    # B starts 20 m south: it enters at 1.91 s, while A is in the area until 2.59 s
    tr = pd.concat([_walk(0, -20.0, 0.0, 90.0, 10.0, 80, "A"),
                    _walk(1, 0.0, -20.0, 0.0, 10.0, 80, "B")])
    (e,) = pet_encounters(tr).itertuples()
    assert e.pet_s == 0.0 and e.serious


def test_a_vehicle_that_stops_before_the_crossing_gives_no_pet() -> None:
    # B stops 3 m before the crossing point (y = -3): its strip never reaches A's
    tr = pd.concat([_walk(0, -20.0, 0.0, 90.0, 10.0, 80, "A"),
                    _walk(1, 0.0, -40.0, 0.0, 10.0, 80, "B", stop_after_m=37.0)])
    assert pet_encounters(tr).empty


def test_pedestrian_crossing_in_front_of_a_vehicle() -> None:
    # a car eastbound along y = 0 from x = -30 at 10 m/s (5 m long, 1.8 m wide) and a
    # pedestrian northbound along x = 0 from y = -6 at 1 m/s (0.215 m long, 0.478 m wide).
    # The car's part of the area: 0.478 / 2 = 0.239 m either side of x = 0: it enters at
    # (30 - 0.239) / 10 = 2.9761 s and leaves (front at 0.239 + 5) at 3.5239 s. The
    # pedestrian enters at y = -0.9 (half the car's width): t = 5.1 s.
    # PET = 5.1 - 3.5239 = 1.5761 s: a conflict
    tr = pd.concat([_walk(0, -30.0, 0.0, 90.0, 10.0, 90, "E"),
                    _walk(PED, 0.0, -6.0, 0.0, 1.0, 90, "walk", length=0.215)])
    assert PERSON_WIDTH_M == pytest.approx(0.478)
    (e,) = pet_encounters(tr, pd.Series({0: 1.8})).itertuples()
    assert (e.kind, e.first, e.second) == ("pedestrian", 0, PED)
    assert (e.t_first_enter_s, e.t_first_exit_s, e.t_second_enter_s) == pytest.approx(
        (2.9761, 3.5239, 5.1))
    assert e.pet_s == pytest.approx(1.5761) and e.conflict


def test_a_pedestrian_who_stops_at_the_kerb_gives_no_pet_conflict() -> None:
    # the same pedestrian stops at y = -2.0 (4 m walked), on the pavement: 2.0 m from the
    # car's centre line > (1.8 + 0.478) / 2 = 1.139 m: the paths never touch
    tr = pd.concat([_walk(0, -30.0, 0.0, 90.0, 10.0, 90, "E"),
                    _walk(PED, 0.0, -6.0, 0.0, 1.0, 90, "walk", length=0.215,
                          stop_after_m=4.0)])
    assert pet_encounters(tr).empty


def test_two_pedestrians_are_no_encounter() -> None:
    tr = pd.concat([_walk(PED, -3.0, 0.0, 90.0, 1.0, 60, length=0.215),
                    _walk(PED + 1, 0.0, -3.0, 0.0, 1.0, 60, length=0.215)])
    assert pet_encounters(tr).empty


def test_lane_change_pet_of_a_vehicle_merging_ahead_of_a_follower() -> None:
    # v0 eastbound in lane M_0 along y = 0 from x = 0 at 10 m/s (lane position = x).
    # v1 beside it in M_1 (y = 3.5) from x = 15 at 10 m/s, and at t = 3.0 s (x = 45) it is
    # in M_0: it merged at lane position 45, 15 m ahead of v0's front (x = 30).
    # v1's rear leaves P = 45 when its front is at 50: t = 3.5 s; v0's front reaches 45 at
    # t = 4.5 s: PET = 1.0 s, serious (<= 1 s)
    v0 = _walk(0, 0.0, 0.0, 90.0, 10.0, 80, "M_0")
    v1 = _walk(1, 15.0, 3.5, 90.0, 10.0, 80, "M_1")
    v1["lane_pos"] = v1["x"]
    after = v1["t_ns"] >= 30 * STEP
    v1.loc[after, "lane"] = "M_0"
    v1.loc[after, "y"] = 0.0
    (e,) = pet_encounters(pd.concat([v0, v1])).itertuples()
    assert (e.kind, e.first, e.second) == ("lane_change", 1, 0)  # from M_1, beside M_0
    assert (e.t_first_enter_s, e.t_first_exit_s, e.t_second_enter_s) == pytest.approx(
        (3.0, 3.5, 4.5))
    assert e.pet_s == pytest.approx(1.0) and e.serious


def test_merging_pet_of_an_on_ramp() -> None:
    # main-road car v0 in lane main_0 along y = 0 at 10 m/s from x = 0; v1 comes up the ramp
    # (lane ramp_0, parallel 3.5 m south for simplicity) from x = 30 at 10 m/s and is in
    # main_0 from t = 2.0 s at lane position x = 50: it merged 30 m ahead of v0
    # (x = 20 then). P = 50: v1's rear leaves it at t = 2.5 s (front at 55), v0's front
    # reaches it at t = 5.0 s: PET = 2.5 s, an encounter but no conflict
    v0 = _walk(0, 0.0, 0.0, 90.0, 10.0, 80, "main_0")
    v1 = _walk(1, 30.0, -3.5, 90.0, 10.0, 80, "ramp_0")
    v1["lane_pos"] = v1["x"]
    after = v1["t_ns"] >= 20 * STEP
    v1.loc[after, "lane"] = "main_0"
    v1.loc[after, "y"] = 0.0
    (e,) = pet_encounters(pd.concat([v0, v1])).itertuples()
    assert (e.kind, e.first, e.second) == ("merging", 1, 0)
    assert (e.t_first_exit_s, e.t_second_enter_s, e.pet_s) == pytest.approx((2.5, 5.0, 2.5))
    assert not e.conflict


def test_vehicles_following_in_one_lane_do_not_merge() -> None:
    # two cars in lane M_0 from the start, then both into N_0 from M_0: one stream
    a = _walk(0, 0.0, 0.0, 90.0, 10.0, 60, "M_0")
    b = _walk(1, 20.0, 0.0, 90.0, 10.0, 60, "M_0")
    for df in (a, b):
        df.loc[df["x"] >= 40.0, "lane"] = "N_0"
        df["lane_pos"] = np.where(df["lane"] == "N_0", df["x"] - 40.0, df["x"])
    assert pet_encounters(pd.concat([a, b])).empty


# ------------------------------------------------------------------ red light, speeding
def _events(rows: list[tuple[int, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_ns", "kind", "vehicle", "value"]).assign(other=-1)


def test_red_light_violations_come_from_their_events() -> None:
    ev = _events([(5 * STEP, "hard_braking", 1, 4.0), (126 * STEP, "red_light_violation", 1,
                                                          13.8)])
    r = red_light_violations(ev)
    assert r.to_dict("records") == [{"vehicle": 1, "t_ns": 126 * STEP, "speed_mps": 13.8}]


def test_speeding_episodes_pair_each_onset_with_its_end() -> None:
    # vehicle 3: 1.0-2.5 s (max excess 2.0) and 4.0 s to the end of a cut recording;
    # vehicle 5: 2.0-3.0 s (max 0.5)
    ev = _events([(10 * STEP, "speeding", 3, 13.89), (20 * STEP, "speeding", 5, 8.33),
                  (25 * STEP, "speeding_end", 3, 2.0), (30 * STEP, "speeding_end", 5, 0.5),
                  (40 * STEP, "speeding", 3, 13.89)])
    s = speeding_episodes(ev)
    assert s[["vehicle", "t_start_ns", "t_end_ns"]].values.tolist() == [
        [3, 10 * STEP, 25 * STEP], [5, 20 * STEP, 30 * STEP], [3, 40 * STEP, 40 * STEP]]
    assert s["duration_s"].tolist()[:2] == pytest.approx([1.5, 1.0])
    assert math.isnan(s["duration_s"].iloc[2])
    assert s["max_excess_mps"].tolist()[:2] == [2.0, 0.5]
    assert s["limit_mps"].tolist() == [13.89, 8.33, 13.89]
