"""The scenario's sections and the components they configure state each default once, or,
where the component lives in a package the scenario model must not import (roadside: SUMO,
the codec), say the same: a section left at its defaults wires to the component's defaults."""

from __future__ import annotations

import roadside
from scenarios._sections import DriverConfig, RsiConfig, RsiEvent, RsmConfig
from v2x.apps import DriverConfig as DriverModel
from v2x.cli import _wiring as wiring


class _Sc:  # what the wiring functions read of a scenario
    def __init__(self, **sections: object) -> None:
        self.__dict__.update(sections, step_ns=100_000_000, file="s.toml")


def test_driver_defaults_are_the_driver_models() -> None:
    reaction = wiring.driver(_Sc(driver=DriverConfig(enabled=True)))  # type: ignore[arg-type]
    assert reaction is not None
    assert reaction.config == DriverModel(enabled=True)


def test_rsm_defaults_are_the_roadside_perceptions() -> None:
    got = wiring.rsm(_Sc(rsm=RsmConfig(enabled=True)), [])  # type: ignore[arg-type]
    assert got == roadside.RsmConfig()


def test_rsi_periods_are_the_roadside_ones() -> None:
    ev = RsiEvent.model_validate({"id": "w", "event_type": 1, "x": 0.0, "y": 0.0})
    assert ev.period_ns == roadside.RSI_PERIODS_NS["dynamic"]
    assert RsiConfig().sign_period_ns == roadside.RSI_PERIODS_NS["static"]
