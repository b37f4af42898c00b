"""Actions on the traffic: SUMO really brakes at the requested rate, holds, releases, changes
lanes and lets a waiting pedestrian cross; the scripted fake follows the same kinematics; an
action due by an earlier step than the last is refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.v2x.traffic.conftest import KMH, STEP_NS, cmd, routes, vehicle, vtype
from v2x.errors import ConfigError, SumoError
from v2x.traffic import Action, ScriptedTraffic, ScriptedVehicle, SumoTraffic, check_action

DT = STEP_NS / 1e9


def _col(steps: list, name: str, col: str) -> np.ndarray:
    return np.array([float(getattr(st, col)[list(st.names).index(name)]) for st in steps])


@pytest.mark.sumo
def test_brake_at_6_from_50_kmh_decelerates_at_6_and_stops_after_16_m(
        road: Path, tmp_path: Path) -> None:
    rou = routes(tmp_path, vtype("car", 50), vehicle("lead", "car", 0, 100.0))
    with SumoTraffic(cmd(road, rou)) as tr:
        for _ in range(10):
            st = tr.step()
        v0, x0 = float(st.speed[0]), float(st.lane_pos[0])
        assert v0 == pytest.approx(50 * KMH)
        # due now (the last step's time): acts between this step and the next
        assert tr.apply([Action(st.t_ns, "lead", "brake", speed=0.0, decel=6.0)]) == []
        steps = [tr.step() for _ in range(60)]
    v = _col(steps, "lead", "speed")
    decel = -np.diff([v0, *v]) / DT
    full = int(v0 / (6.0 * DT))  # 23 whole steps of 0.6 m/s, then the rest of 13.89 m/s
    assert full == 23
    np.testing.assert_allclose(decel[:full], 6.0, atol=0.1)
    np.testing.assert_allclose(_col(steps, "lead", "accel")[:full], -6.0, atol=0.1)
    # stopped after v0^2 / (2 a) = 13.89^2 / 12 = 16.08 m, and kept standing (no release)
    assert v[full + 1:].max() == 0.0
    assert _col(steps, "lead", "lane_pos")[-1] - x0 == pytest.approx(v0**2 / 12, abs=1.0)


@pytest.mark.sumo
def test_brake_to_a_speed_keeps_it_and_release_gives_control_back(
        road: Path, tmp_path: Path) -> None:
    rou = routes(tmp_path, vtype("car", 72), vehicle("a", "car", 0, 50.0))
    with SumoTraffic(cmd(road, rou)) as tr:
        st = tr.step()
        # 20 m/s -> 10 m/s at 2.5 m/s^2: 4 s, 40 steps of 0.25 m/s
        tr.apply([Action(st.t_ns, "a", "brake", speed=10.0, decel=2.5),
                  Action(st.t_ns + 6_000_000_000, "a", "release")])
        steps = [tr.step() for _ in range(110)]
    v = _col(steps, "a", "speed")
    np.testing.assert_allclose(v[:40], 20.0 - 0.25 * np.arange(1, 41), atol=1e-6)
    np.testing.assert_allclose(v[40:60], 10.0, atol=1e-9)  # kept until the release at 6.1 s
    # released: SUMO accelerates it back at the type's 2.6 m/s^2 to its 20 m/s
    assert v[60] == pytest.approx(10.26, abs=1e-6) and v[-1] == pytest.approx(20.0)


@pytest.mark.sumo
def test_set_speed_uses_the_given_deceleration_and_stop_in_lane_holds_then_releases(
        road: Path, tmp_path: Path) -> None:
    # b stops on the right lane, a passes it on the left (SUMO forbids passing on the right)
    rou = routes(tmp_path, vtype("car", 54), vehicle("a", "car", 1, 50.0),
                 vehicle("b", "car", 0, 50.0))
    with SumoTraffic(cmd(road, rou)) as tr:
        st = tr.step()
        t = st.t_ns
        tr.apply([Action(t, "a", "set_speed", speed=5.0, decel=2.0),
                  Action(t, "b", "stop_in_lane", decel=5.0, hold_s=2.0)])
        steps = [tr.step() for _ in range(80)]
    a, b = _col(steps, "a", "speed"), _col(steps, "b", "speed")
    # 15 m/s -> 5 m/s at 2 m/s^2 (SUMO's own approach to a set speed): 5 s
    np.testing.assert_allclose(-np.diff([15.0, *a])[:50] / DT, 2.0, atol=1e-6)
    np.testing.assert_allclose(a[50:], 5.0, atol=1e-9)
    # 15 m/s -> 0 at 5 m/s^2: 3 s (30 steps), stands 2 s (to 5.0 s after the order), goes on
    np.testing.assert_allclose(b[:30], 15.0 - 0.5 * np.arange(1, 31), atol=1e-6)
    np.testing.assert_allclose(b[29:50], 0.0, atol=1e-9)
    assert b[50] == pytest.approx(0.26)  # released: the type's 2.6 m/s^2


@pytest.mark.sumo
def test_change_lane(road: Path, tmp_path: Path) -> None:
    rou = routes(tmp_path, vtype("car", 50), vehicle("a", "car", 0, 50.0))
    with SumoTraffic(cmd(road, rou)) as tr:
        st = tr.step()
        assert st.lane[0] == "we_0"
        tr.apply([Action(st.t_ns, "a", "change_lane", lane=1)])
        lanes = [tr.step().lane[0] for _ in range(30)]
        assert lanes[-1] == "we_1" and lanes.count("we_0") <= 3
        with pytest.raises(SumoError, match="lane index 2 on an edge of 2 lanes"):
            tr.apply([Action(tr.step().t_ns, "a", "change_lane", lane=2)])


_PEDESTRIAN = """<person id="ped" depart="0" departPos="200">
    <stop lane="we_0" duration="100000" startPos="190" endPos="200"/>
    <walk edges="we" arrivalPos="400"/>
</person>"""


@pytest.mark.sumo
def test_a_waiting_pedestrian_walks_when_told_to_cross(road: Path, tmp_path: Path) -> None:
    rou = routes(tmp_path, vtype("car", 50), vehicle("a", "car", 1, 0.0), _PEDESTRIAN)
    with SumoTraffic(cmd(road, rou)) as tr:
        for _ in range(20):
            st = tr.step()
        ps = tr.persons()
        assert ps.t_ns == st.t_ns == 2_000_000_000 and ps.n == 1
        assert list(ps.names) == ["ped"] and ps.index.tolist() == [0]
        assert list(ps.edge) == ["we"] and ps.x[0] == pytest.approx(200.0)
        assert ps.speed[0] == 0.0  # waiting in its <stop> stage
        # SUMO's pedestrian type: 0.215 m long, 0.478 m wide
        assert (ps.length[0], ps.width[0]) == pytest.approx((0.215, 0.478))
        assert tr.apply([Action(st.t_ns, "ped", "cross")]) == []
        walked = [tr.persons() for _ in range(30) if tr.step()]
    speeds = [float(p.speed[0]) for p in walked]
    assert min(speeds[1:]) > 0.5  # walking (SUMO pedestrians: ~1.2-1.4 m/s)
    assert walked[-1].x[0] > 202.0 and tr.person_names() == ["ped"]


def test_absent_targets_are_skipped_now_and_later() -> None:
    tr = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 90.0, 10.0)])
    st = tr.step()
    assert tr.apply([Action(st.t_ns, "ghost", "brake", speed=0.0, decel=3.0),
                     Action(st.t_ns, "a", "brake", speed=0.0, decel=3.0)]) == ["ghost"]
    assert tr.apply([Action(st.t_ns + 200_000_000, "nobody", "release")]) == []
    tr.step()
    assert tr.skipped() == ["ghost"]
    tr.step()
    assert tr.skipped() == ["ghost", "nobody"]


def test_an_action_due_by_an_earlier_step_than_the_last_is_refused() -> None:
    tr = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 90.0, 10.0)])
    for _ in range(5):
        st = tr.step()
    assert st.t_ns == 500_000_000
    # due by the step at 0.4 s: SUMO has already made the step after it
    with pytest.raises(SumoError, match="closed loop ran ahead"):
        tr.apply([Action(400_000_000, "a", "brake", speed=0.0, decel=3.0)])
    # due by the last step (0.4 s < at <= 0.5 s): takes effect now
    tr.apply([Action(400_000_001, "a", "brake", speed=0.0, decel=5.0)])
    assert tr.step().speed[0] == pytest.approx(9.5)


def test_scripted_actions_follow_constant_acceleration_kinematics() -> None:
    tr = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 90.0, 10.0),
                          ScriptedVehicle("b", 0.0, 10.0, 90.0, 10.0, lane="e_0")])
    tr.apply([Action(0, "a", "stop_in_lane", decel=5.0, hold_s=1.0),
              Action(0, "b", "set_speed", speed=4.0, decel=2.0),
              Action(0, "b", "change_lane", lane=1)])
    first = tr.step()  # the actions take effect after the first step (at 0.1 s)
    assert first.speed.tolist() == [10.0, 10.0]
    steps = [first] + [tr.step() for _ in range(40)]
    a, b = _col(steps, "a", "speed"), _col(steps, "b", "speed")
    # a: 10 m/s at 5 m/s^2: stands still from step 21 (2.1 s) after 10^2 / 10 = 10 m
    assert a[20] == 0.0 and a[19] == pytest.approx(0.5)
    assert _col(steps, "a", "x")[20] == pytest.approx(1.0 + 10.0)
    # b: 10 -> 4 m/s at 2 m/s^2 in 3 s, then keeps 4 m/s on lane e_1
    assert b[30] == pytest.approx(4.0) and b[29] == pytest.approx(4.2) and b[-1] == 4.0
    assert steps[-1].lane[1] == "e_1"
    tr.apply([Action(steps[-1].t_ns, "b", "release")])
    assert tr.step().accel[1] == 0.0  # its own constant acceleration again


def test_stop_in_lane_holds_then_the_scripted_vehicle_goes_on() -> None:
    tr = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 0.0, 9.75, accel=2.5)])
    tr.apply([Action(0, "a", "stop_in_lane", decel=5.0, hold_s=0.5)])
    assert tr.step().speed[0] == 10.0  # 0.1 s; braking at 5 m/s^2 from here: 0.5 m/s a step
    v = [float(tr.step().speed[0]) for _ in range(30)]
    # stands still from 2.1 s, holds 0.5 s (to 2.6 s), then accelerates at its 2.5 m/s^2
    assert v[18] == 0.5 and v[19:25] == [0.0] * 6 and v[25] == pytest.approx(0.25)


@pytest.mark.parametrize(("action", "key"), [
    (Action(0, "a", "jump"), "kind"),
    (Action(0, "", "release"), "target"),
    (Action(0, "a", "brake", decel=3.0), "speed"),
    (Action(0, "a", "brake", speed=0.0), "decel"),
    (Action(0, "a", "stop_in_lane", decel=-1.0), "decel"),
    (Action(0, "a", "set_speed", speed=3.0, decel=0.0), "decel"),
    (Action(0, "a", "change_lane"), "lane"),
    (Action(0, "a", "stop_in_lane", decel=3.0, hold_s=-1.0), "hold_s"),
])
def test_malformed_actions_are_config_errors(action: Action, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_action(action)
    assert err.value.key == key


def test_an_action_is_a_small_picklable_tuple() -> None:
    import pickle

    a = Action(1, "lead", "brake", speed=0.0, decel=6.0)
    back = pickle.loads(pickle.dumps(a))
    assert repr(back) == repr(a) and math.isnan(back.hold_s) and back.lane == -1
