"""Scenario format, SUMO network/demand builders and the scenario library."""

from scenarios._build import BuiltScenario, build, cache_dir, grid_junction_ids, sumo_version
from scenarios._library import LIBRARY, library_scenarios, resolve_scenario
from scenarios._model import (
    VEHICLE_CLASSES,
    ChannelConfig,
    Criterion,
    DemandConfig,
    FcwConfig,
    GeoConfig,
    NetworkConfig,
    ObuConfig,
    RecordingConfig,
    RsuConfig,
    Scenario,
    ScriptedEvent,
    load_scenario,
)

__all__ = [
    "LIBRARY",
    "VEHICLE_CLASSES",
    "BuiltScenario",
    "ChannelConfig",
    "Criterion",
    "DemandConfig",
    "FcwConfig",
    "GeoConfig",
    "NetworkConfig",
    "ObuConfig",
    "RecordingConfig",
    "RsuConfig",
    "Scenario",
    "ScriptedEvent",
    "build",
    "cache_dir",
    "grid_junction_ids",
    "library_scenarios",
    "load_scenario",
    "resolve_scenario",
    "sumo_version",
]
