"""Triggered events fire at the hand-computed step, in SUMO, in the traffic process and in the
scripted fake, and their actions act right after that step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.v2x.traffic.conftest import KMH, STEP_NS, cmd, routes, vehicle, vtype
from v2x.errors import ConfigError
from v2x.traffic import (
    Action,
    EventEngine,
    PipelinedTraffic,
    ScriptedTraffic,
    ScriptedVehicle,
    SumoTraffic,
    SumoTrafficSide,
    Trigger,
    TriggeredEvent,
    VehicleStates,
)

S = 1_000_000_000


def _ev(name: str, trigger: Trigger, *actions: Action, once: bool = True) -> TriggeredEvent:
    return TriggeredEvent(name, trigger, tuple(actions), once)


# host at 70 km/h, lead 40.5 m ahead (bumper to bumper) at 50 km/h, both heading east: the
# gap closes at 20 km/h = 5.556 m/s, gap(t) = 40.5 - 5.556 t
_LEAD_LEN = 4.8
_SCRIPTED = [ScriptedVehicle("host", 0.0, 0.0, 90.0, 70 * KMH),
             ScriptedVehicle("lead", 40.5 + _LEAD_LEN, 0.0, 90.0, 50 * KMH)]


def _fired_at(tr: ScriptedTraffic | SumoTraffic | PipelinedTraffic, steps: int
              ) -> dict[str, int]:
    got: dict[str, int] = {}
    for _ in range(steps):
        tr.step()
        for t, name in tr.fired():
            assert name not in got  # once
            got[name] = t
    return got


def test_scripted_events_fire_at_the_hand_computed_steps() -> None:
    events = [
        # gap <= 30: 40.5 - 5.556 t <= 30 -> t >= 1.89 s: at 1.8 s 30.5 m, at 1.9 s 29.94 m
        _ev("gap", Trigger("gap", a="host", b="lead", op="<=", value=30.0)),
        # ttc <= 5 s: gap <= 27.78 m -> t >= 2.29 s: 2.2 s 5.09 s, 2.3 s 4.99 s
        _ev("ttc", Trigger("ttc", a="host", b="lead", op="<=", value=5.0)),
        # front to front 45.3 - 5.556 t <= 40 -> t >= 0.954 s
        _ev("distance", Trigger("distance", a="host", b="lead", op="<=", value=40.0)),
        # lead's front 45.3 + 13.889 t within 1 m of (100, 0): t >= 3.866 s
        _ev("reach", Trigger("reach", a="lead", x=100.0, y=0.0, radius_m=1.0)),
        # host has driven 19.444 t >= 50 m: t >= 2.571 s
        _ev("reach_pos", Trigger("reach", a="host", lane_pos=50.0)),
        _ev("time", Trigger("time", at_ns=1_050_000_000)),  # the first step at or after
        # the lead is never behind the host: a gap "b behind a" never exists
        _ev("never", Trigger("gap", a="lead", b="host", op=">=", value=-1e9)),
        _ev("ghost", Trigger("distance", a="host", b="nobody", op=">", value=0.0)),
    ]
    got = _fired_at(ScriptedTraffic(_SCRIPTED, events=events), 50)
    assert got == {"gap": 19 * S // 10, "ttc": 23 * S // 10, "distance": 1 * S,
                   "reach": 39 * S // 10, "reach_pos": 26 * S // 10, "time": 11 * S // 10}


def test_an_events_actions_act_right_after_its_step() -> None:
    events = [_ev("lead_brakes", Trigger("gap", a="host", b="lead", op="<=", value=30.0),
                  Action(0, "lead", "brake", speed=0.0, decel=6.0),
                  Action(500_000_000, "host", "brake", speed=0.0, decel=3.0),  # 0.5 s later
                  Action(0, "ev-1", "rsi_raise"))]
    tr = ScriptedTraffic(_SCRIPTED, events=events)
    speeds = []
    for _ in range(30):
        st = tr.step()
        speeds.append(st.speed.copy())
        if st.t_ns == 19 * S // 10:  # fired at this step
            assert tr.fired() == [(st.t_ns, "lead_brakes")]
            # the RSI action goes to the loop, with its time; not to the traffic
            assert tr.fired_actions() == [Action(st.t_ns, "ev-1", "rsi_raise")]
            assert tr.skipped() == []
    v = np.array(speeds)  # v[k] at (k + 1) * 0.1 s
    assert v[18, 1] == pytest.approx(50 * KMH)  # 1.9 s: the step that fired
    assert v[19, 1] == pytest.approx(50 * KMH - 0.6)  # 2.0 s: braking at 6 m/s^2
    assert v[23, 0] == pytest.approx(70 * KMH)  # 2.4 s: the host's brake waits 0.5 s
    assert v[24, 0] == pytest.approx(70 * KMH - 0.3)  # 2.5 s: and brakes at 3 m/s^2
    assert tr.fired() == [] and tr.fired_actions() == []


def _states(t_ns: int, ax: float, bx: float) -> VehicleStates:
    f = np.array
    return VehicleStates(
        t_ns=t_ns, names=f(["a", "b"], dtype=object), index=f([0, 1], np.int64),
        x=f([ax, bx]), y=f([0.0, 0.0]), speed=f([10.0, 0.0]), accel=f([0.0, 0.0]),
        heading_deg=f([90.0, 90.0]), lane=f(["l", "l"], dtype=object), lane_pos=f([ax, bx]),
        brake=f([False, False]), length=f([5.0, 5.0]), width=f([2.0, 2.0]),
        height=f([1.5, 1.5]), classification=f([10, 10], np.int16))


def test_once_false_fires_each_time_the_condition_turns_true_again() -> None:
    trig = Trigger("distance", a="a", b="b", op="<=", value=10.0)
    eng = EventEngine([_ev("every", trig, once=False), _ev("once", trig)])
    fired = []
    for k, ax in enumerate([0.0, 12.0, 15.0, 35.0, 14.0, 50.0]):  # b stands at x = 20
        fired.append([e.name for e in eng.evaluate(_states(k, ax, 20.0), None,
                                                    {"a": 0, "b": 1}, {})])
    assert fired == [[], ["every", "once"], [], [], ["every"], []]


def test_gap_and_ttc_by_hand() -> None:
    # a's front at x = 0 heading east at 10 m/s, b's front at 25 m (rear at 20 m), standing
    trig = {"gap": Trigger("gap", a="a", b="b", op="<", value=20.0001),
            "ttc": Trigger("ttc", a="a", b="b", op="<=", value=2.0)}
    for kind, want in (("gap", True), ("ttc", True)):  # gap 20 m, ttc 20 / 10 = 2 s
        eng = EventEngine([_ev(kind, trig[kind])])
        assert [e.name for e in eng.evaluate(_states(0, 0.0, 25.0), None,
                                             {"a": 0, "b": 1}, {})] == ([kind] if want else [])
    # at 20.5 m: gap 15.5, ttc 1.55 s; at 27 m: gap 22 m, ttc 2.2 s
    eng = EventEngine([_ev("t", Trigger("ttc", a="a", b="b", op=">", value=2.1))])
    assert eng.evaluate(_states(0, 0.0, 20.5), None, {"a": 0, "b": 1}, {}) == []
    assert len(eng.evaluate(_states(1, 0.0, 27.0), None, {"a": 0, "b": 1}, {})) == 1


@pytest.mark.parametrize(("event", "key"), [
    (_ev("x", Trigger("when")), "events.x.trigger.kind"),
    (_ev("x", Trigger("time")), "events.x.trigger.at_ns"),
    (_ev("x", Trigger("gap", a="h", op="<=", value=1.0)), "events.x.trigger.b"),
    (_ev("x", Trigger("gap", a="h", b="l", op="==", value=1.0)), "events.x.trigger.op"),
    (_ev("x", Trigger("ttc", a="h", b="l")), "events.x.trigger.value"),
    (_ev("x", Trigger("reach", a="h", x=1.0)), "events.x.trigger.lane_pos"),
    (_ev("", Trigger("time", at_ns=0)), "events.name"),
    (_ev("x", Trigger("time", at_ns=0), Action(0, "h", "brake")), "speed"),
    (_ev("x", Trigger("time", at_ns=0), Action(-1, "h", "release")),
     "events.x.actions.at_ns"),
])
def test_malformed_events_are_config_errors(event: TriggeredEvent, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        EventEngine([event])
    assert err.value.key == key


def test_event_names_are_unique() -> None:
    ev = _ev("same", Trigger("time", at_ns=0))
    with pytest.raises(ConfigError, match="unique"):
        EventEngine([ev, ev])


# -- SUMO: the road of conftest.py; host on the left lane we_1 (y = -1.6) from 55.5 m at
# 70 km/h, lead on the right lane we_0 (y = -4.8) from 100 m at 50 km/h, both 5 m long (SUMO's
# default), both present from the first step (0.1 s) on: gap(k) = 39.5 - 0.5556 (k - 1) at step
# k (t = k / 10 s); separate lanes, so SUMO keeps both speeds exactly

def _sumo_events() -> list[TriggeredEvent]:
    return [
        # 39.5 - 0.5556 (k - 1) <= 30 -> k - 1 >= 17.1: step 19 (30.06 m at 18, 29.5 at 19)
        _ev("gap", Trigger("gap", a="host", b="lead", op="<=", value=30.0),
            Action(0, "ev-1", "rsi_raise")),
        # gap / 5.556 <= 4 s -> gap <= 22.22 m -> k - 1 >= 31.1: step 33 (3.91 s; 4.01 at 32)
        _ev("ttc", Trigger("ttc", a="host", b="lead", op="<=", value=4.0)),
        # fronts: dx = 44.5 - 0.5556 (k - 1), dy = 3.2: sqrt(dx^2 + 3.2^2) <= 20
        # -> dx <= 19.74 -> k - 1 >= 44.56: step 46 (19.76 m; 20.31 m at 45)
        _ev("distance", Trigger("distance", a="host", b="lead", op="<=", value=20.0)),
        # lead's lane position 100 + 1.3889 (k - 1) >= 150.5 -> k - 1 >= 36.36: step 38
        _ev("reach_pos", Trigger("reach", a="lead", lane_pos=150.5, lane="we_0")),
        # lead within 5 m of (200, -4.8): x >= 195 -> k - 1 >= 68.4: step 70
        _ev("reach_xy", Trigger("reach", a="lead", x=200.0, y=-4.8, radius_m=5.0)),
        # the host is never on we_0
        _ev("wrong_lane", Trigger("reach", a="host", lane_pos=0.0, lane="we_0")),
    ]


_WANT = {"gap": 19, "ttc": 33, "distance": 46, "reach_pos": 38, "reach_xy": 70}


def _two_cars(tmp_path: Path) -> Path:
    return routes(tmp_path, vtype("slow", 50), vtype("fast", 70),
                  vehicle("lead", "slow", 0, 100.0), vehicle("host", "fast", 1, 55.5))


@pytest.mark.sumo
def test_sumo_events_fire_at_the_hand_computed_steps(road: Path, tmp_path: Path) -> None:
    with SumoTraffic(cmd(road, _two_cars(tmp_path)), events=_sumo_events()) as tr:
        got = _fired_at(tr, 80)
        assert tr.fired_actions() == [Action(19 * STEP_NS, "ev-1", "rsi_raise")]
    assert got == {k: v * STEP_NS for k, v in _WANT.items()}


@pytest.mark.sumo
def test_the_traffic_process_fires_them_at_the_same_steps(road: Path, tmp_path: Path) -> None:
    side = SumoTrafficSide(cmd=cmd(road, _two_cars(tmp_path)), classification={}, tls_ids=[],
                           events=_sumo_events())
    with PipelinedTraffic(side, ahead=20, batch=10) as tr:
        got = _fired_at(tr, 80)
        # (nan fields do not compare equal once they have crossed a pipe)
        assert [a[:3] for a in tr.fired_actions()] == [(19 * STEP_NS, "ev-1", "rsi_raise")]
    assert got == {k: v * STEP_NS for k, v in _WANT.items()}


@pytest.mark.sumo
def test_a_sumo_event_brakes_the_lead_right_after_its_step(road: Path, tmp_path: Path) -> None:
    ev = _ev("brake", Trigger("gap", a="host", b="lead", op="<=", value=30.0),
             Action(0, "lead", "brake", speed=0.0, decel=6.0))
    with SumoTraffic(cmd(road, _two_cars(tmp_path)), events=[ev]) as tr:
        lead = [float(tr.step().speed[0]) for _ in range(21)]  # lead is vehicle 0
        assert tr.fired() == [(19 * STEP_NS, "brake")]
    assert lead[18] == pytest.approx(50 * KMH)  # step 19 fired
    assert lead[19] == pytest.approx(50 * KMH - 0.6, abs=0.01)  # 6 m/s^2 from step 20 on
    assert lead[20] == pytest.approx(50 * KMH - 1.2, abs=0.02)
