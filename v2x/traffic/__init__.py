"""Traffic backends: SUMO (libsumo or TraCI) and a scripted fake, behind one interface;
actions on the traffic and triggered events."""

from v2x.traffic._actions import ACTION_KINDS, RSI_ACTION_KINDS, Action, check_action
from v2x.traffic._base import (
    Collision,
    PersonStates,
    SignalCrossing,
    Teleport,
    TrafficBackend,
    VehicleStates,
)
from v2x.traffic._events import TRIGGER_KINDS, EventEngine, Trigger, TriggeredEvent
from v2x.traffic._pipelined import (
    PipelinedTraffic,
    SideStep,
    TrafficSide,
    drop_prestarted,
    prestart,
)
from v2x.traffic._scripted import ScriptedTraffic, ScriptedVehicle
from v2x.traffic._side import SignalState, SumoTrafficSide
from v2x.traffic._sumo import PERSON_VARS, SUBSCRIBED_VARS, SumoTraffic, sumo_command

__all__ = [
    "ACTION_KINDS",
    "PERSON_VARS",
    "RSI_ACTION_KINDS",
    "SUBSCRIBED_VARS",
    "TRIGGER_KINDS",
    "Action",
    "Collision",
    "EventEngine",
    "PersonStates",
    "PipelinedTraffic",
    "ScriptedTraffic",
    "ScriptedVehicle",
    "SideStep",
    "SignalCrossing",
    "SignalState",
    "SumoTraffic",
    "SumoTrafficSide",
    "Teleport",
    "TrafficBackend",
    "TrafficSide",
    "Trigger",
    "TriggeredEvent",
    "VehicleStates",
    "check_action",
    "drop_prestarted",
    "prestart",
    "sumo_command",
]
