"""The traffic process: steps arrive in order with their side output; failures are SumoErrors."""

from __future__ import annotations

import pytest

from v2x.errors import SumoError
from v2x.traffic import PipelinedTraffic, ScriptedTraffic, ScriptedVehicle, SideStep


class _Scripted:
    """A picklable traffic side around the scripted backend (no SUMO needed)."""

    def __call__(self) -> _Scripted:
        self.traffic = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 0.0, 10.0)])
        self.k = 0
        return self

    def info(self) -> str:
        return "ready"

    def step(self) -> SideStep:
        self.k += 1
        return SideStep(states=self.traffic.step(), collisions=(),
                        new_names=("a",) if self.k == 1 else (), side={"k": self.k})

    def close(self) -> None:
        pass


class _Broken:
    def __call__(self) -> _Broken:
        raise RuntimeError("no SUMO here")


def test_steps_arrive_in_order_with_side_output() -> None:
    with PipelinedTraffic(_Scripted()) as tr:
        assert tr.info == "ready"
        for k in range(1, 6):
            st = tr.step()
            assert tr.side == {"k": k}
            # 10 m/s north: after k steps of 0.1 s the vehicle is k metres on
            assert st.t_ns == k * 100_000_000 and st.y[0] == pytest.approx(k * 1.0)
        assert tr.vehicle_names() == ["a"] and tr.collisions() == []
        with pytest.raises(SumoError, match="in the traffic process"):
            tr.brake_to_stop("a", 5.0, 1.0)


def test_a_failing_traffic_side_is_a_sumo_error() -> None:
    with pytest.raises(SumoError, match="RuntimeError: no SUMO here"):
        PipelinedTraffic(_Broken())


def _child_pid(tr: PipelinedTraffic) -> int:
    return tr._proc._proc.pid  # type: ignore[attr-defined]


def test_a_child_killed_mid_run_is_a_sumo_error_not_an_oserror() -> None:
    import os
    import signal

    tr = PipelinedTraffic(_Scripted(), ahead=4)
    tr.step()
    os.kill(_child_pid(tr), signal.SIGKILL)
    # the steps it had sent before may still be read; then the loop learns that it died
    with pytest.raises(SumoError, match="traffic process died"):
        for _ in range(50):
            tr.step()
    tr.close()


_TWO = [ScriptedVehicle("a", 1.0, 2.0, 90.0, 10.0, accel=-1.5, lane="e1_0", length=4.5,
                        width=1.9, height=1.6, classification=20),
        ScriptedVehicle("b", 5.0, 6.0, 180.0, 3.0, lane="e2_1")]


class _Two(_Scripted):
    """Two vehicles with every column set (module level: the child imports it)."""

    def __call__(self) -> _Two:
        self.traffic = ScriptedTraffic(_TWO)
        self.k = 0
        return self

    def step(self) -> SideStep:
        self.k += 1
        return SideStep(states=self.traffic.step(), collisions=(),
                        new_names=("a", "b") if self.k == 1 else (), side=None)


def test_the_wire_form_keeps_every_column() -> None:
    here = ScriptedTraffic(_TWO)
    with PipelinedTraffic(_Two()) as tr:
        for _ in range(3):
            got, want = tr.step(), here.step()
            assert got.t_ns == want.t_ns
            for name in ("names", "index", "x", "y", "speed", "accel", "heading_deg", "lane",
                         "lane_pos", "brake", "length", "width", "height", "classification"):
                assert list(getattr(got, name)) == list(getattr(want, name)), name
                assert getattr(got, name).dtype == getattr(want, name).dtype, name


def test_an_unclosed_traffic_process_is_stopped_when_collected() -> None:
    import gc

    tr = PipelinedTraffic(_Scripted())
    tr.step()
    proc = tr._proc
    del tr
    gc.collect()
    assert proc.join(timeout=5) and proc.exitcode is not None
