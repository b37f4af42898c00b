"""Roadside units: SPAT/MAP from SUMO signals and geometry, RSU forwarding, and the traffic
side that runs SUMO with its RSUs."""

from roadside._map import DIRECTION_MANEUVERS, build_map_node, junction_numbers
from roadside._rsu import RoadsideUnit, build_rsus
from roadside._side import RsuProxy, SumoSide
from roadside._signals import (
    SUMO_LIGHT_STATES,
    GroupTiming,
    SignalPlan,
    light_state,
    signal_groups,
)
from roadside._spat import SpatBuilder

__all__ = [
    "DIRECTION_MANEUVERS",
    "GroupTiming",
    "RoadsideUnit",
    "RsuProxy",
    "SUMO_LIGHT_STATES",
    "SignalPlan",
    "SpatBuilder",
    "SumoSide",
    "build_map_node",
    "build_rsus",
    "junction_numbers",
    "light_state",
    "signal_groups",
]
