"""Roadside units: a list of message sources each (SPAT/MAP from SUMO signals and geometry,
RSI signs and events, RSM from roadside perception, registered by name), RSU forwarding, and
the RSUs of a run reading SUMO's signals in this process or in the traffic process
(:class:`SignalMirror`)."""

from roadside._downlink import DOWNLINK_SOURCE, DownlinkRsiConfig, DownlinkRsiSource
from roadside._map import (
    DIRECTION_MANEUVERS,
    build_junction_map_node,
    build_map_node,
    junction_numbers,
)
from roadside._rsi import RSI_PERIODS_NS, RsiConfig, RsiEvent, RsiSign, RsiSource, set_rsi_event
from roadside._rsm import RsmConfig, RsmSource, perceive
from roadside._rsu import RoadsideUnit, RsuSite, build_rsus, rsu_positions, rsu_signal_ids
from roadside._side import SignalMirror, make_rsus, read_signal_plans
from roadside._signals import (
    SUMO_LIGHT_STATES,
    GroupTiming,
    SignalPlan,
    light_state,
    signal_groups,
)
from roadside._sources import (
    MESSAGE_SOURCES,
    MapSource,
    MessageSource,
    MsgCount,
    QueuingSource,
    RsuContext,
    SourceFactory,
    SpatSource,
    register_source,
)
from roadside._spat import SpatBuilder
from roadside._vnfp import PaymentRsiSource

__all__ = [
    "DIRECTION_MANEUVERS",
    "DOWNLINK_SOURCE",
    "DownlinkRsiConfig",
    "DownlinkRsiSource",
    "GroupTiming",
    "MESSAGE_SOURCES",
    "MapSource",
    "MessageSource",
    "MsgCount",
    "PaymentRsiSource",
    "QueuingSource",
    "RSI_PERIODS_NS",
    "RoadsideUnit",
    "RsiConfig",
    "RsiEvent",
    "RsiSign",
    "RsiSource",
    "RsmConfig",
    "RsmSource",
    "RsuContext",
    "RsuSite",
    "SUMO_LIGHT_STATES",
    "SignalMirror",
    "SignalPlan",
    "SourceFactory",
    "SpatBuilder",
    "SpatSource",
    "build_junction_map_node",
    "build_map_node",
    "build_rsus",
    "junction_numbers",
    "light_state",
    "make_rsus",
    "perceive",
    "read_signal_plans",
    "register_source",
    "rsu_positions",
    "rsu_signal_ids",
    "set_rsi_event",
    "signal_groups",
]
