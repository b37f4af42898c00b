"""SignalMirror: the traffic process's signal states, read as SpatBuilder reads SUMO."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from roadside import SignalMirror
from v2x.errors import SumoError
from v2x.traffic import SumoTrafficSide
from v2x.traffic._side import Logic, Phase


def _traffic() -> SimpleNamespace:
    logic = Logic("0", 0, 0, (Phase(31.0, "GGrr", 31.0, 31.0, (), ""),
                              Phase(4.0, "yyrr", 4.0, 4.0, (), "")))
    return SimpleNamespace(info={"logics": {"J1": [logic], "J2": [logic]},
                                 "signals": ((0, "0", 31.0), (1, "0", 4.0))}, side=None)


def test_the_start_state_then_each_steps_state() -> None:
    traffic = _traffic()
    m = SignalMirror(traffic)  # type: ignore[arg-type]
    tl = m.trafficlight
    assert (tl.getPhase("J2"), tl.getProgram("J2"), tl.getNextSwitch("J2")) == (1, "0", 4.0)
    assert m.simulation.getTime() == 0.0
    assert tl.getAllProgramLogics("J1")[0].phases[1].state == "yyrr"
    traffic.side = {"signals": ((1, "0", 35.0), (0, "1", 40.5)), "t_s": 33.2, "skipped": ()}
    assert (tl.getPhase("J1"), tl.getNextSwitch("J1")) == (1, 35.0)
    assert (tl.getPhase("J2"), tl.getProgram("J2")) == (0, "1")
    assert tl.signal("J2") == (0, "1", 40.5)
    assert m.simulation.getTime() == 33.2


def test_an_unknown_traffic_light_is_a_sumo_error() -> None:
    m = SignalMirror(_traffic())  # type: ignore[arg-type]
    with pytest.raises(SumoError, match="'J9' is not reported"):
        m.trafficlight.getPhase("J9")
    with pytest.raises(SumoError, match="'J9'"):
        m.trafficlight.getAllProgramLogics("J9")


def test_the_traffic_side_pickles_before_it_opens() -> None:
    import pickle

    side = SumoTrafficSide(cmd=["sumo"], classification={}, tls_ids=["J1"])
    back = pickle.loads(pickle.dumps(side))
    assert back.tls_ids == ["J1"] and back.traffic is None
    with pytest.raises(SumoError, match="not opened"):
        back.step()
