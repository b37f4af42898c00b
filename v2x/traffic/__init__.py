"""Traffic backends: SUMO (libsumo or TraCI) and a scripted fake, behind one interface."""

from v2x.traffic._base import Collision, TrafficBackend, VehicleStates
from v2x.traffic._pipelined import (
    PipelinedTraffic,
    SideStep,
    TrafficSide,
    drop_prestarted,
    prestart,
)
from v2x.traffic._scripted import ScriptedTraffic, ScriptedVehicle
from v2x.traffic._side import SignalState, SumoTrafficSide
from v2x.traffic._sumo import SUBSCRIBED_VARS, SumoTraffic, sumo_command

__all__ = [
    "SUBSCRIBED_VARS",
    "Collision",
    "PipelinedTraffic",
    "ScriptedTraffic",
    "ScriptedVehicle",
    "SideStep",
    "SignalState",
    "SumoTraffic",
    "SumoTrafficSide",
    "TrafficBackend",
    "TrafficSide",
    "VehicleStates",
    "drop_prestarted",
    "prestart",
    "sumo_command",
]
