"""The SUMO bridge: libsumo and TraCI give the same state columns; scripted stops act."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from v2x.traffic import ScriptedTraffic, ScriptedVehicle, SumoTraffic, sumo_command

pytestmark = pytest.mark.sumo


def _cmd(built: scenarios.BuiltScenario, sc: scenarios.Scenario) -> list[str]:
    return sumo_command(built.net_file, built.route_files, built.additional_files,
                        step_ns=sc.step_ns, seed=sc.seed)


def _states(traci: bool, built: scenarios.BuiltScenario, sc: scenarios.Scenario,
            steps: int) -> list:
    cls = {k: v["classification"] for k, v in scenarios.VEHICLE_CLASSES.items()}
    with SumoTraffic(_cmd(built, sc), classification=cls, use_traci=traci) as tr:
        return [tr.step() for _ in range(steps)]


def test_libsumo_and_traci_agree(south_station: scenarios.Scenario,
                                 south_station_built: scenarios.BuiltScenario) -> None:
    a = _states(False, south_station_built, south_station, 150)
    b = _states(True, south_station_built, south_station, 150)
    assert a[-1].n > 0
    for sa, sb in zip(a, b, strict=True):
        assert sa.t_ns == sb.t_ns
        assert list(sa.names) == list(sb.names)
        np.testing.assert_array_equal(sa.index, sb.index)
        for col in ("x", "y", "speed", "accel", "heading_deg", "lane_pos", "length"):
            np.testing.assert_allclose(getattr(sa, col), getattr(sb, col), atol=1e-6)
        assert list(sa.lane) == list(sb.lane)
    last = a[-1]
    # 15 s in: time is exact integer ns; classes come from the vehicle types
    assert last.t_ns == 15_000_000_000
    cls = dict(zip(last.names, last.classification, strict=True))
    assert all(cls[n] == 10 for n in cls if n.startswith("passenger."))
    assert all(cls[n] == 50 for n in cls if n.startswith("bus."))


def test_brake_to_stop_holds_the_vehicle(south_station: scenarios.Scenario,
                                         south_station_built: scenarios.BuiltScenario) -> None:
    cls = {k: v["classification"] for k, v in scenarios.VEHICLE_CLASSES.items()}
    with SumoTraffic(_cmd(south_station_built, south_station), classification=cls) as tr:
        for _ in range(100):
            st = tr.step()
        name = str(st.names[int(np.argmax(st.speed))])
        v0 = float(st.speed[int(np.argmax(st.speed))])
        assert v0 > 5.0
        assert tr.brake_to_stop(name, 5.0, 3.0)
        assert not tr.brake_to_stop("no-such-vehicle", 5.0, 3.0)
        speeds = []
        for _ in range(int(v0 / 5.0 / 0.1) + 25):  # braking time + 2.5 s of the hold
            st = tr.step()
            i = list(st.names).index(name)
            speeds.append(float(st.speed[i]))
        # v0 / 5 m/s^2 seconds of braking, then standing still
        assert speeds[-1] == 0.0 and speeds[-20] == 0.0
        decel = -np.diff([v0, *speeds]) / 0.1  # [m/s^2], 0.1 s steps
        assert decel.max() == pytest.approx(5.0, abs=0.6)


def test_scripted_traffic_kinematics() -> None:
    tr = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 90.0, 10.0, accel=-2.0)])
    for _ in range(10):
        st = tr.step()
    # after 1 s: v = 10 - 2 = 8 m/s, s = 10 - 1 = 9 m east (heading 90)
    assert st.speed[0] == pytest.approx(8.0)
    assert st.x[0] == pytest.approx(9.0) and st.y[0] == pytest.approx(0.0, abs=1e-9)
    for _ in range(100):
        st = tr.step()
    assert st.speed[0] == 0.0 and st.x[0] == pytest.approx(25.0)  # 10^2 / (2*2) m


def _teleport_cmd(built: scenarios.BuiltScenario, sc: scenarios.Scenario) -> list[str]:
    # vehicles waiting 5 s at a red light are teleported across the junction
    return sumo_command(built.net_file, built.route_files, built.additional_files,
                        step_ns=sc.step_ns, seed=sc.seed, time_to_teleport_s=5)


def test_teleports_are_reported_with_the_jump_they_make(
        south_station: scenarios.Scenario,
        south_station_built: scenarios.BuiltScenario) -> None:
    seen = []
    before: dict[str, tuple[float, float, float]] = {}
    with SumoTraffic(_teleport_cmd(south_station_built, south_station)) as tr:
        for _ in range(300):
            st = tr.step()
            now = {n: (float(x), float(y), float(v))
                   for n, x, y, v in zip(st.names, st.x, st.y, st.speed, strict=True)}
            for tp in tr.teleports():
                seen.append((st.t_ns, tp, before.get(tp.vehicle), now.get(tp.vehicle)))
            before.update(now)
    assert seen, "no vehicle waited 5 s at a red light in 30 s"
    ends = [(t, tp, a, b) for t, tp, a, b in seen if tp.phase == "end"]
    assert len(ends) == sum(tp.phase == "start" for _, tp, _, _ in seen)
    for _, tp, a, b in ends:
        # it stood at the light (speed 0) and is back on the road beyond the junction, moving:
        # a jump no vehicle can drive in one 0.1 s step
        assert a is not None and b is not None and a[2] < 0.1
        assert np.hypot(b[0] - a[0], b[1] - a[1]) > 10.0 and b[2] > 5.0


def test_the_traffic_process_passes_teleports_on(
        south_station: scenarios.Scenario,
        south_station_built: scenarios.BuiltScenario) -> None:
    from v2x.traffic import PipelinedTraffic, SumoTrafficSide

    cmd = _teleport_cmd(south_station_built, south_station)
    with SumoTraffic(cmd) as here:
        expected = [(here.step().t_ns, here.teleports()) for _ in range(300)]
    with PipelinedTraffic(SumoTrafficSide(cmd=cmd, classification={}, tls_ids=()),
                          ahead=20, batch=10) as piped:
        got = [(piped.step().t_ns, piped.teleports()) for _ in range(300)]
    assert got == expected and any(tps for _, tps in got)
