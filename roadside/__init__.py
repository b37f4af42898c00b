"""Roadside units: SPAT/MAP from SUMO signals and geometry, RSU forwarding, and the RSUs of a
run reading SUMO's signals in this process or in the traffic process (:class:`SignalMirror`)."""

from roadside._map import DIRECTION_MANEUVERS, build_map_node, junction_numbers
from roadside._rsu import RoadsideUnit, build_rsus
from roadside._side import SignalMirror, make_rsus
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
    "SUMO_LIGHT_STATES",
    "SignalMirror",
    "SignalPlan",
    "SpatBuilder",
    "build_map_node",
    "build_rsus",
    "junction_numbers",
    "light_state",
    "make_rsus",
    "signal_groups",
]
