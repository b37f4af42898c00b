"""The closed loop: actions a loop applies after taking step k, due ``ahead`` steps later,
land at the same step whether SUMO runs in this process or in the traffic process, which never
runs more than ``ahead`` steps beyond the loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.v2x.traffic.conftest import STEP_NS, cmd, routes, vehicle, vtype
from tests.v2x.traffic.test_pipelined import _Scripted
from v2x.errors import SumoError
from v2x.traffic import (
    Action,
    PersonStates,
    PipelinedTraffic,
    SideStep,
    SumoTraffic,
    SumoTrafficSide,
    VehicleStates,
)

_PERSON = """<person id="ped" depart="0.5" departPos="300">
    <stop lane="we_0" duration="100000" startPos="290" endPos="300"/>
    <walk edges="we" arrivalPos="500"/>
</person>"""


def _road_traffic(tmp_path: Path) -> Path:
    return routes(tmp_path, vtype("slow", 50), vtype("fast", 70), vtype("mid", 60),
                  vehicle("lead", "slow", 0, 100.0), vehicle("host", "fast", 0, 40.0),
                  vehicle("left", "mid", 1, 20.0, depart=0.3), _PERSON,
                  vehicle("late", "slow", 0, 0.0, depart=2.0))  # sorted by departure


def _policy(st: VehicleStates, k: int, delay_ns: int, done: set[str]) -> list[Action]:
    """A loop's decisions from what it sees at step k (deterministic in the states)."""
    at = st.t_ns + delay_ns
    out = []
    names = list(st.names)
    if k == 3:
        out.append(Action(at, "lead", "brake", speed=5.0, decel=4.0))
    if k == 6:
        out.append(Action(at, "ped", "cross"))
    if k == 10:  # behind the (faster) host, with room to merge
        out.append(Action(at, "left", "change_lane", lane=0))
    if "host" in names and "lead" in names and "stop" not in done:
        h, ld = names.index("host"), names.index("lead")
        if st.x[ld] - st.length[ld] - st.x[h] <= 25.0:  # a "driver" reacting to the gap
            done.add("stop")
            out.append(Action(at, "host", "stop_in_lane", decel=5.0, hold_s=1.0))
    if k == 40:
        out += [Action(at, "lead", "release"), Action(at, "gone", "release")]
    if k == 55:
        out.append(Action(at, "late", "set_speed", speed=3.0, decel=1.5))
    return out


def _run(tr: SumoTraffic | PipelinedTraffic, delay_ns: int, steps: int,
         ahead: int | None = None) -> tuple[list[VehicleStates], list[PersonStates]]:
    done: set[str] = set()
    states, persons = [], []
    for k in range(1, steps + 1):
        st = tr.step()
        states.append(st)
        persons.append(tr.persons())
        if ahead is not None:  # the traffic process may compute at most `ahead` steps more
            assert tr._granted <= k + ahead  # type: ignore[union-attr]
        tr.apply(_policy(st, k, delay_ns, done))
    assert done == {"stop"}
    return states, persons


_COLS = ("names", "index", "x", "y", "speed", "accel", "heading_deg", "lane", "lane_pos",
         "brake", "length", "width", "height", "classification")
_PCOLS = ("names", "index", "x", "y", "speed", "heading_deg", "length", "width", "edge")


@pytest.mark.sumo
@pytest.mark.parametrize(("ahead", "batch"), [(4, 2), (3, 3)])
def test_a_pipelined_closed_loop_gives_the_in_process_states_bit_for_bit(
        road: Path, tmp_path: Path, ahead: int, batch: int) -> None:
    c = cmd(road, _road_traffic(tmp_path))
    delay = ahead * STEP_NS  # the shortest reaction the pipelining allows
    with SumoTraffic(c) as tr:
        want, want_p = _run(tr, delay, 90)
        assert tr.skipped() == ["gone"]
    side = SumoTrafficSide(cmd=c, classification={}, tls_ids=[])
    with PipelinedTraffic(side, ahead=ahead, batch=batch) as pt:
        got, got_p = _run(pt, delay, 90, ahead)
        assert pt.skipped() == ["gone"] and pt.person_names() == ["ped"]
        assert pt.vehicle_names() == ["lead", "host", "left", "late"]
    for a, b in zip(want, got, strict=True):
        assert a.t_ns == b.t_ns
        for col in _COLS:
            assert np.array_equal(getattr(a, col), getattr(b, col)), col
            assert getattr(a, col).dtype == getattr(b, col).dtype, col
    for a, b in zip(want_p, got_p, strict=True):
        assert a.t_ns == b.t_ns
        for col in _PCOLS:
            assert np.array_equal(getattr(a, col), getattr(b, col)), col
    # the actions acted: the lead braked to 5 m/s, the pedestrian walked, "left" changed lanes
    last = want[-1]
    assert last.speed[0] == pytest.approx(50 / 3.6)  # released at step 44: back at 50 km/h
    assert min(float(s.speed[0]) for s in want) == pytest.approx(5.0)
    assert want_p[-1].n == 1 and want_p[-1].x[0] > 301.0
    assert last.lane[2] == "we_0"


@pytest.mark.sumo
def test_an_action_due_before_the_lookahead_is_refused(road: Path, tmp_path: Path) -> None:
    side = SumoTrafficSide(cmd=cmd(road, _road_traffic(tmp_path)), classification={},
                           tls_ids=[])
    with PipelinedTraffic(side, ahead=4, batch=2) as pt:
        for _ in range(4):
            st = pt.step()
        # after step 4 the process may have computed step 8: an action due by step 7 is late
        with pytest.raises(SumoError, match="closed loop ran ahead"):
            pt.apply([Action(st.t_ns + 3 * STEP_NS, "lead", "release")])
        pt.apply([Action(st.t_ns + 3 * STEP_NS + 1, "lead", "release")])  # by step 8: fine
        for _ in range(5):
            pt.step()
        assert pt.skipped() == []


class _Counting(_Scripted):
    """Says in each step how many actions it had received before computing it."""

    def __call__(self) -> _Counting:
        super().__call__()
        self.received = 0
        return self

    def apply(self, actions: list[Action]) -> None:
        self.received += len(actions)

    def step(self) -> SideStep:
        out = super().step()
        return SideStep(states=out.states, collisions=(), new_names=out.new_names,
                        side={"k": self.k, "received": self.received})


@pytest.mark.parametrize(("ahead", "batch"), [(6, 3), (5, 2), (1, 1)])
def test_the_traffic_process_never_runs_more_than_ahead_steps_beyond_the_loop(
        ahead: int, batch: int) -> None:
    sent = []  # actions sent after taking step k
    with PipelinedTraffic(_Counting(), ahead=ahead, batch=batch) as tr:
        for k in range(1, 40):
            tr.step()
            side = tr.side
            assert side["k"] == k
            # every action sent after step k - ahead - 1 was there before step k was computed
            assert side["received"] >= sum(sent[:max(0, k - ahead - 1)])
            tr.apply([Action(10**15, "a", "release")])
            sent.append(1)
    with pytest.raises(ValueError, match="ahead must be >= batch"):
        PipelinedTraffic(_Counting(), ahead=2, batch=3)
