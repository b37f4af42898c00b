"""Scenario format, SUMO network/demand builders and the scenario library."""

from scenarios._build import BuiltScenario, build, cache_dir, grid_junction_ids, sumo_version
from scenarios._demand import (
    EQUIPPED_PARAM,
    ParticipantSpec,
    participants_equipped,
    write_participants,
    write_pedestrians,
)
from scenarios._library import LIBRARY, library_scenarios, resolve_scenario
from scenarios._model import (
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
from scenarios._networks import (
    ARMS,
    NETWORK_BUILDERS,
    NETWORK_MODELS,
    GeoAnchor,
    GridNetwork,
    IntersectionNetwork,
    PathNetwork,
    RoadNetwork,
    build_network,
    ite_yellow_s,
    parse_network,
    register_network,
)
from scenarios._vtypes import (
    PEDESTRIAN,
    VEHICLE_CLASSES,
    VTYPE_ATTRIBUTES,
    vtype_attributes,
    write_vtypes,
)

# NetworkConfig: the dataclass of scenarios._model until the pydantic scenario model lands;
# then scenarios._networks.NetworkConfig (the discriminated union of the network kinds).

__all__ = [
    "ARMS",
    "EQUIPPED_PARAM",
    "LIBRARY",
    "NETWORK_BUILDERS",
    "NETWORK_MODELS",
    "PEDESTRIAN",
    "VEHICLE_CLASSES",
    "VTYPE_ATTRIBUTES",
    "BuiltScenario",
    "ChannelConfig",
    "Criterion",
    "DemandConfig",
    "FcwConfig",
    "GeoAnchor",
    "GeoConfig",
    "GridNetwork",
    "IntersectionNetwork",
    "NetworkConfig",
    "ObuConfig",
    "ParticipantSpec",
    "PathNetwork",
    "RecordingConfig",
    "RoadNetwork",
    "RsuConfig",
    "Scenario",
    "ScriptedEvent",
    "build",
    "build_network",
    "cache_dir",
    "grid_junction_ids",
    "ite_yellow_s",
    "library_scenarios",
    "load_scenario",
    "parse_network",
    "participants_equipped",
    "register_network",
    "resolve_scenario",
    "sumo_version",
    "vtype_attributes",
    "write_participants",
    "write_pedestrians",
    "write_vtypes",
]
