"""Shared fixtures: the generated SUMO inputs of the library scenario (cached by digest)."""

from __future__ import annotations

import pytest

import scenarios


@pytest.fixture(scope="session")
def south_station() -> scenarios.Scenario:
    return scenarios.resolve_scenario("xiqing-south-station")


@pytest.fixture(scope="session")
def south_station_built(south_station: scenarios.Scenario) -> scenarios.BuiltScenario:
    return scenarios.build(south_station)
