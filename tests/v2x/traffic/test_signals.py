"""The vehicle's signs: SUMO signal bits (blinkers, hazard, blue light) and scripted
VehicleEventFlags reach :class:`VehicleStates` from SUMO in this process and through the
traffic process alike; the ``signal`` and ``vehicle_event`` actions; the scripted fake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.v2x.traffic.conftest import STEP_NS, cmd, routes, vehicle, vtype
from v2x.errors import ConfigError
from v2x.messages import SumoSignal
from v2x.traffic import (
    Action,
    PipelinedTraffic,
    ScriptedTraffic,
    ScriptedVehicle,
    SumoTraffic,
    SumoTrafficSide,
    check_action,
)

HAZARD_LEFT = SumoSignal.BLINKER_EMERGENCY | SumoSignal.BLINKER_LEFT  # 2**2 + 2**1 = 6
ABS = 1 << 2


def _run(tr: object, n: int) -> list:
    st = tr.step()  # type: ignore[attr-defined]
    t = st.t_ns + STEP_NS  # due after step 1 (the traffic process may have made it already)
    tr.apply([Action(t, "a", "signal", bits=HAZARD_LEFT),  # type: ignore[attr-defined]
              Action(t, "a", "vehicle_event", bits=ABS),
              Action(t + 500_000_000, "a", "vehicle_event", bits=0),
              Action(t + 500_000_000, "a", "signal", bits=0)])
    return [st] + [tr.step() for _ in range(n)]  # type: ignore[attr-defined]


def _col(steps: list, col: str) -> list[int]:
    return [int(getattr(s, col)[list(s.names).index("a")]) for s in steps]


@pytest.mark.sumo
def test_signal_and_vehicle_event_through_sumo_in_process_and_pipelined(
        road: Path, tmp_path: Path) -> None:
    rou = routes(tmp_path, vtype("car", 50), vehicle("a", "car", 0, 50.0),
                 vehicle("b", "car", 1, 20.0))
    c = cmd(road, rou)
    with SumoTraffic(c) as tr:
        here = _run(tr, 10)
    with PipelinedTraffic(SumoTrafficSide(cmd=c, classification={}, tls_ids=[]), ahead=1,
                          batch=1) as pt:
        there = _run(pt, 10)
    for steps in (here, there):
        sig, ev = _col(steps, "signals"), _col(steps, "vehicle_events")
        # applied after step 1: steps 2..6 carry them (SUMO's setSignals holds one step; the
        # backend sets it again after every step), cleared after step 6
        assert sig[2:7] == [HAZARD_LEFT] * 5 and sig[7:] == [0] * 4
        assert ev == [0, 0] + [ABS] * 5 + [0] * 4
        # the other vehicle keeps SUMO's own signals (none while cruising) and no events
        b = [int(s.vehicle_events[list(s.names).index("b")]) for s in steps]
        assert b == [0] * 11
    for col in ("signals", "vehicle_events", "brake"):
        assert _col(here, col) == _col(there, col)


def test_scripted_traffic_carries_the_bits() -> None:
    tr = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 90.0, 10.0)])
    steps = _run(tr, 10)
    assert _col(steps, "signals") == [0, 0] + [HAZARD_LEFT] * 5 + [0] * 4
    assert _col(steps, "vehicle_events") == [0, 0] + [ABS] * 5 + [0] * 4
    # the actions do not disturb the motion (10 m/s, 0.1 s steps)
    np.testing.assert_allclose([float(s.x[0]) for s in steps], np.arange(1, 12) * 1.0)


def test_check_action_refuses_bad_bits() -> None:
    with pytest.raises(ConfigError, match="bits"):
        check_action(Action(0, "a", "signal", bits=-1))
    with pytest.raises(ConfigError, match="bits"):
        check_action(Action(0, "a", "vehicle_event", bits=1 << 13))
    check_action(Action(0, "a", "vehicle_event", bits=(1 << 13) - 1))
