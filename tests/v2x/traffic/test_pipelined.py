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
