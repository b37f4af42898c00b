"""Scenario sections -> the settings of each component (part of the composition root).

Each function reads one part of a validated :class:`scenarios.Scenario` and returns what one
component takes: the on-board applications, the driver model, the traffic side's triggered
events, the RSU sites and their RSI / RSM sources, and the participants whose equipage the
scenario fixes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

import numpy as np

import scenarios
from roadside import RsiConfig, RsiEvent, RsiSign, RsmConfig, RsuSite
from v2x.apps import Application, DriverConfig, DriverReaction, make_app
from v2x.cloud import CongestionConfig, CongestionDetector, RoadLink
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.traffic import Action, Trigger, TriggeredEvent

__all__ = ["applications", "congestion_detector", "driver", "equipped_participants",
           "road_links", "rsi", "rsm", "rsu_sites", "traffic_events", "windows"]


def applications(sc: scenarios.Scenario) -> tuple[Application, ...]:
    """The enabled ``[applications.NAME]``, built by the registry (sorted by name)."""
    return tuple(make_app(name, cfg) for name, cfg in sorted(sc.applications.items())
                 if cfg.enabled)


def driver(sc: scenarios.Scenario) -> DriverReaction | None:
    """The ``[driver]`` reaction model, or None (open loop)."""
    d = sc.driver
    if not d.enabled:
        return None
    return DriverReaction(DriverConfig(enabled=True, reaction_s=d.reaction_time_ns / 1e9,
                                       decel_mps2=d.decel_mps2), step_ns=sc.step_ns)


def windows(reaction: DriverReaction | None, *, pipelined: bool,
            window_steps: int | None = None) -> tuple[int, int]:
    """``(window_steps, ahead)``: open loop, windows of 20 steps and the traffic process two
    windows ahead; closed loop, as large as the reaction delay D (in steps) allows: an action
    decided at the first step of a window lands D steps later, after the traffic side has run
    ``window - 1 + ahead`` steps past it, so ``window + ahead <= D + 1`` (in process: ahead 0).
    ``window_steps`` overrides the window (the traffic process then runs ahead by what is
    left, at least one window).

    Raises ConfigError naming ``window_steps`` when it is below 1 or longer than a closed
    loop allows."""
    if window_steps is not None and (isinstance(window_steps, bool)
                                     or not isinstance(window_steps, int) or window_steps < 1):
        raise ConfigError("must be an integer >= 1", key="window_steps", value=window_steps)
    if reaction is None:
        w = window_steps or 20
        return w, 2 * w
    d = reaction.lookahead_steps
    if not pipelined:
        w = window_steps or d + 1
        if w > d + 1:
            raise ConfigError(f"a closed loop with a {d}-step reaction allows windows of at "
                              f"most {d + 1} steps", key="window_steps", value=window_steps)
        return w, 0
    w = window_steps or max(1, (d + 1) // 2)
    if 2 * w > d + 1 and w > 1:
        raise ConfigError(f"a pipelined closed loop with a {d}-step reaction allows windows of "
                          f"at most {(d + 1) // 2} steps", key="window_steps", value=window_steps)
    return w, max(w, d + 1 - w)


def traffic_events(sc: scenarios.Scenario) -> tuple[TriggeredEvent, ...]:
    """``[[events]]`` as the traffic side's triggered events (evaluated by SUMO's side, so
    they fire at the same step whatever the pipelining)."""
    # the model converts the old ``kind = "stop"`` form into ScriptedEvent on validation
    events = cast(tuple[scenarios.ScriptedEvent, ...], sc.events)
    return tuple(TriggeredEvent(ev.name, _trigger(ev.trigger),
                                tuple(_action(a) for a in ev.actions), once=ev.once)
                 for ev in events)


def _trigger(t: Any) -> Trigger:
    if t.kind == "time":
        return Trigger("time", at_ns=int(t.at_ns))
    if t.kind == "reach":
        nan = math.nan
        return Trigger("reach", a=t.participant,
                       x=nan if t.x is None else float(t.x), y=nan if t.y is None else float(t.y),
                       radius_m=float(t.radius_m),
                       lane_pos=nan if t.lane_pos_m is None else float(t.lane_pos_m))
    return Trigger(t.kind, a=t.a, b=t.b, op=t.op, value=float(t.value))


def _action(a: Any) -> Action:
    """One scenario action; its ``at_ns`` is the delay after the firing step (0)."""
    if a.kind == "brake":
        return Action(0, a.target, "brake", speed=a.speed_mps, decel=a.decel)
    if a.kind == "set_speed":
        return Action(0, a.target, "set_speed", speed=a.speed_mps,
                      decel=math.nan if a.decel is None else a.decel)
    if a.kind == "change_lane":
        return Action(0, a.target, "change_lane", lane=a.lane)
    if a.kind == "stop_in_lane":
        return Action(0, a.target, "stop_in_lane", decel=a.decel, hold_s=a.hold_ns / 1e9)
    if a.kind in ("signal", "vehicle_event"):
        return Action(0, a.target, a.kind, bits=a.bits)
    return Action(0, a.target, a.kind)  # release, cross, rsi_raise, rsi_clear


def rsu_sites(sc: scenarios.Scenario, net: Any) -> list[RsuSite]:
    """``[rsu] at`` (every signalized junction, or the junctions listed) and ``[[rsus]]``.

    Raises ConfigError naming ``rsu.at`` for a listed junction that has no traffic light,
    and for more than :data:`scenarios.MAX_RSUS` RSUs in all (the model checks it where the
    network's configuration tells the count; a ``path`` network tells it here).
    """
    tls = sorted(t.getID() for t in net.getTrafficLights())
    if sc.rsu.at == "signalized":
        at = tls
    else:
        missing = [j for j in sc.rsu.at if j not in tls]
        if missing:
            raise ConfigError(f"no signalized junction {missing[0]!r} in the network "
                              f"(signalized: {', '.join(tls)})", file=sc.file,
                              key="rsu.at", value=missing[0])
        at = list(sc.rsu.at)
    most = scenarios.MAX_RSUS
    if len(at) + len(sc.rsus) > most:
        what = (f"the network's {len(at)} signalized junctions" if sc.rsu.at == "signalized"
                else f"{len(at)} junctions")
        raise ConfigError(f"{what} and {len(sc.rsus)} [[rsus]] make "
                          f"{len(at) + len(sc.rsus)} RSUs, more than the {most} a run sets up",
                          file=sc.file, key="rsu.at", value=sc.rsu.at)
    sites = [RsuSite(junction=j) for j in at]
    for r in sc.rsus:
        sites.append(RsuSite(junction=r.junction, x=math.nan if r.x is None else r.x,
                             y=math.nan if r.y is None else r.y, name=r.name or None))
    return sites


def rsi(sc: scenarios.Scenario) -> RsiConfig | None:
    """``[rsi]`` signs and events for the RSUs' RSI source (None without any)."""
    c = sc.rsi
    if not (c.signs or c.events):
        return None
    nan = math.nan
    signs = tuple(RsiSign(x=nan if s.x is None else s.x, y=nan if s.y is None else s.y,
                          lane=s.lane, lane_pos_m=s.pos_m,
                          radius_m=s.radius_m if s.lane is not None else None,
                          description=s.description or None, sign_type=s.sign_type,
                          period_ns=c.sign_period_ns)
                  for s in c.signs)
    events = tuple(RsiEvent(x=e.x, y=e.y, radius_m=e.radius_m,
                            description=e.description or None, priority=e.priority,
                            id=e.id, event_type=e.event_type, active=e.active,
                            period_ns=e.period_ns)
                   for e in c.events)
    return RsiConfig(signs=signs, events=events)


def rsm(sc: scenarios.Scenario, sites: list[RsuSite]) -> RsmConfig | None:
    """``[rsm]`` roadside perception (None when off).

    Raises ConfigError naming ``rsm.at`` for a name that is not one of the run's RSUs."""
    c = sc.rsm
    if not c.enabled:
        return None
    names = {s.name or s.junction for s in sites}
    unknown = [n for n in c.at if n not in names]
    if unknown:
        known = ", ".join(sorted(map(str, names)))
        raise ConfigError(f"no RSU named {unknown[0]!r} (RSUs: {known})", file=sc.file,
                          key="rsm.at", value=unknown[0])
    return RsmConfig(range_m=c.range_m, detection_probability=c.detection_probability,
                     position_sigma_m=c.position_sigma_m, which=c.which,
                     period_ns=c.period_ns, at=tuple(c.at))


def equipped_participants(sc: scenarios.Scenario) -> dict[str, bool]:
    """SUMO id -> has an OBU, for the named participants (they do not draw their equipage)."""
    return {p.id: bool(p.equipped) for p in sc.participants if not p.is_pedestrian}


def road_links(net: Any) -> list[RoadLink]:
    """Every edge of the ``sumolib`` network (no internal edge) as a road link: its lanes'
    centrelines [m]."""
    return [RoadLink(e.getID(), tuple(np.array([p[:2] for p in lane.getShape()], np.float64)
                                      for lane in e.getLanes()))
            for e in net.getEdges(withInternal=False)]


def congestion_detector(sc: scenarios.Scenario, net: Any, geo: GeoFrame,
                        rsu_xy: Mapping[str, tuple[float, float]]) -> CongestionDetector:
    """The ``[cloud]`` congestion detector over every edge of ``net`` and the RSUs at
    ``rsu_xy`` (name -> x, y [m])."""
    c = sc.cloud
    return CongestionDetector(road_links(net), rsu_xy, geo=geo, config=CongestionConfig(
        jam_speed_kmh=c.jam_speed_kmh, min_vehicles=c.min_vehicles, hold_s=c.hold_ns / 1e9,
        reach_m=c.reach_m, event_type=c.event_type))
