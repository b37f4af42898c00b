"""MAP nodes from SUMO junction geometry (sumolib) and its signal program.

One MAP node per junction (signalized, or without a light: no ``phaseId``): its centre is the
reference position, every incoming (non-internal) edge is a link, every lane of it a lane,
every SUMO connection of a lane a ``Connection`` whose ``phaseId`` is the SPAT phase (signal
group, :mod:`roadside._signals`) of the connection's link index. Positions are converted from
network x/y with a :class:`v2x.geo.GeoFrame`.

Choices (documented here because the standard leaves them open):

* ``laneID`` = SUMO lane index + 1 (index 0 is the rightmost lane), unique on its link;
  ``connectingLane.lane`` likewise for the downstream lane on its edge.
* lane ``points`` = the SUMO lane shape, upstream to downstream as the standard's PointList
  asks; the last point is on the stop line. Shapes with more than 31 points are thinned to 31
  (first and last kept).
* link ``points`` = the mean of the lane shapes (the road centre of the link) when all lanes
  have the same number of shape points; absent otherwise. ``linkWidth`` = sum of lane widths.
* ``speedLimits`` = one ``vehicleMaxSpeed`` with the edge speed.
* maneuvers from SUMO connection directions: ``s`` straight, ``l``/``L`` left, ``r``/``R``
  right, ``t`` U-turn; a lane's ``maneuvers`` is the union over its connections.
* ``remoteIntersection`` = the node id of the junction the connection's outgoing edge leads to.
* movements of a link = the distinct (remoteIntersection, phaseId) pairs of its lanes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from roadside._signals import SignalPlan
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages._map import (
    AllowedManeuvers,
    ConnectingLane,
    Connection,
    MapLane,
    MapLink,
    MapNode,
    Movement,
    NodeReferenceId,
    Position3D,
    SpeedLimit,
    SpeedLimitType,
)

__all__ = ["DIRECTION_MANEUVERS", "build_junction_map_node", "build_map_node", "junction_numbers"]

#: SUMO connection direction -> AllowedManeuvers bit
DIRECTION_MANEUVERS: Mapping[str, AllowedManeuvers] = {
    "s": AllowedManeuvers.STRAIGHT,
    "l": AllowedManeuvers.LEFT,
    "L": AllowedManeuvers.LEFT,
    "r": AllowedManeuvers.RIGHT,
    "R": AllowedManeuvers.RIGHT,
    "t": AllowedManeuvers.U_TURN,
}
#: PointList SIZE(2..31)
MAX_POINTS = 31


def junction_numbers(net: Any, *, start: int = 1) -> dict[str, int]:
    """A stable numbering of a network's junctions: SUMO junction ids in sorted order ->
    ``start``, ``start + 1``, ... (internal junctions excluded).

    Raises ConfigError when the numbers would exceed NodeID's 65535.
    """
    ids = sorted(n.getID() for n in net.getNodes() if n.getType() != "internal")
    if start < 0 or start + len(ids) - 1 > 65535:
        raise ConfigError(f"{len(ids)} junctions from {start} exceed NodeID 0..65535",
                          key="start", value=start)
    return {jid: start + i for i, jid in enumerate(ids)}


def _thin(shape: Sequence[Sequence[float]]) -> np.ndarray:
    xy = np.asarray([p[:2] for p in shape], dtype=np.float64)
    if len(xy) > MAX_POINTS:
        idx = np.unique(np.round(np.linspace(0, len(xy) - 1, MAX_POINTS)).astype(int))
        xy = xy[idx]
    return xy


def _points(xy: np.ndarray, geo: GeoFrame) -> tuple[Position3D, ...]:
    if len(xy) < 2:
        return ()
    lat, lon = geo.to_latlon(xy[:, 0], xy[:, 1])
    return tuple(Position3D(lat_deg=float(a), lon_deg=float(o))
                 for a, o in zip(lat.tolist(), lon.tolist(), strict=True))


def _node_ref(junction_id: str, ids: Mapping[str, int], region: int | None) -> NodeReferenceId:
    try:
        return NodeReferenceId(id=ids[junction_id], region=region)
    except KeyError:
        raise ConfigError(f"junction {junction_id!r} has no node number",
                          key="intersection_ids", value=junction_id) from None


def _name(text: str) -> str | None:
    return text if text.isascii() and 1 <= len(text) <= 63 else None


def build_map_node(net: Any, tls_id: str, *, intersection_ids: Mapping[str, int],
                   geo: GeoFrame, region: int | None = None,
                   program_id: str | None = None) -> MapNode:
    """The MAP node of the junction a SUMO traffic light controls.

    Args:
        net: a ``sumolib.net.Net`` read with ``withPrograms=True`` (and connections, the
            default).
        tls_id: SUMO traffic-light id.
        intersection_ids: SUMO junction id -> NodeID (0..65535) for this junction and every
            junction its links come from or lead to (see :func:`junction_numbers`).
        geo: network x/y -> lat/lon.
        region: RoadRegulatorID for all node references, or ``None``.
        program_id: the signal program whose groups give the phase ids; default the
            network's first program of this light (the one SUMO starts with).

    Returns:
        The node: ``ref_pos`` = junction centre (``junction.getCoord()``), one link per incoming
        edge, phase ids consistent with :class:`roadside.SpatBuilder` on the same program.

    Raises:
        ConfigError: unknown light or program, a light controlling several junctions, a
            junction without a number, or more links/lanes/connections than MAP allows.
    """
    try:
        tls = net.getTLS(tls_id)
    except KeyError:
        raise ConfigError(f"the network has no traffic light {tls_id!r}",
                          key="tls_id", value=tls_id) from None
    programs = tls.getPrograms()
    if not programs:
        raise ConfigError(f"traffic light {tls_id!r} has no program in the network (read it "
                          "with withPrograms=True)", key="tls_id", value=tls_id)
    pid = program_id if program_id is not None else next(iter(programs))
    if pid not in programs:
        raise ConfigError(f"traffic light {tls_id!r} has no program {pid!r}",
                          key="program_id", value=pid)
    plan = SignalPlan.from_program(programs[pid])

    junctions = {c[0].getEdge().getToNode() for c in tls.getConnections()}
    if len(junctions) != 1:
        raise ConfigError(f"traffic light {tls_id!r} controls {len(junctions)} junctions; "
                          "one MAP node per junction needs one light per junction",
                          key="tls_id", value=tls_id)
    (junction,) = junctions
    return _junction_node(junction, plan, tls_id, intersection_ids, geo, region)


def build_junction_map_node(net: Any, junction_id: str, *, intersection_ids: Mapping[str, int],
                            geo: GeoFrame, region: int | None = None) -> MapNode:
    """The MAP node of a junction without a traffic light: as :func:`build_map_node`, with no
    ``phaseId`` on any connection (there is no SPAT to link to).

    Raises:
        ConfigError: unknown junction, a junction without a number or without incoming
            lanes, or more links/lanes/connections than MAP allows.
    """
    try:
        junction = net.getNode(junction_id)
    except KeyError:
        raise ConfigError(f"the network has no junction {junction_id!r}",
                          key="junction", value=junction_id) from None
    if not [e for e in junction.getIncoming() if e.getFunction() != "internal"]:
        raise ConfigError(f"junction {junction_id!r} has no incoming road: a MAP node needs "
                          "at least one link", key="junction", value=junction_id)
    return _junction_node(junction, None, None, intersection_ids, geo, region)


def _junction_node(junction: Any, plan: SignalPlan | None, tls_id: str | None,
                   intersection_ids: Mapping[str, int], geo: GeoFrame,
                   region: int | None) -> MapNode:
    """The MAP node of ``junction`` (sumolib node); phase ids from ``plan`` for the
    connections of light ``tls_id`` (none when ``plan`` is ``None``)."""
    node_ref = _node_ref(junction.getID(), intersection_ids, region)
    coord = junction.getCoord()
    lat, lon = geo.to_latlon(coord[0], coord[1])
    ref_pos = Position3D(lat_deg=float(lat), lon_deg=float(lon),
                         elevation_m=float(coord[2]) if len(coord) > 2 else None)

    links = []
    for edge in junction.getIncoming():
        if edge.getFunction() == "internal":
            continue
        lanes = []
        movements: dict[tuple[int, int | None], Movement] = {}
        for lane in edge.getLanes():
            conns = []
            maneuvers = AllowedManeuvers.NONE
            for c in lane.getOutgoing():
                to_lane = c.getToLane()
                remote = _node_ref(to_lane.getEdge().getToNode().getID(), intersection_ids,
                                   region)
                maneuver = DIRECTION_MANEUVERS.get(c.getDirection(), AllowedManeuvers.NONE)
                maneuvers |= maneuver
                phase_id = (plan.phase_id_of_link(c.getTLLinkIndex())
                            if plan is not None and c.getTLSID() == tls_id else None)
                conns.append(Connection(
                    remote_intersection=remote,
                    connecting_lane=ConnectingLane(lane=to_lane.getIndex() + 1,
                                                   maneuver=maneuver),
                    phase_id=phase_id))
                movements.setdefault((remote.id, phase_id),
                                     Movement(remote_intersection=remote, phase_id=phase_id))
            if len(conns) > 8:
                raise ConfigError(f"lane {lane.getID()!r} has {len(conns)} connections; "
                                  "MAP allows 8", key="lane", value=lane.getID())
            lanes.append(MapLane(
                lane_id=lane.getIndex() + 1,
                lane_width_m=float(lane.getWidth()),
                maneuvers=maneuvers,
                connects_to=tuple(conns),
                points=_points(_thin(lane.getShape()), geo)))
        shapes = [np.asarray([p[:2] for p in ln.getShape()], dtype=np.float64)
                  for ln in edge.getLanes()]
        centre: tuple[Position3D, ...] = ()
        if shapes and all(s.shape == shapes[0].shape for s in shapes):
            centre = _points(_thin(np.mean(shapes, axis=0).tolist()), geo)
        if len(lanes) > 32 or len(movements) > 32:
            raise ConfigError(f"edge {edge.getID()!r} has more lanes or movements than MAP "
                              "allows (32)", key="edge", value=edge.getID())
        links.append(MapLink(
            upstream_node_id=_node_ref(edge.getFromNode().getID(), intersection_ids, region),
            lanes=tuple(lanes),
            speed_limits=(SpeedLimit(SpeedLimitType.VEHICLE_MAX_SPEED, float(edge.getSpeed())),),
            link_width_m=float(sum(ln.getWidth() for ln in edge.getLanes())),
            points=centre,
            movements=tuple(movements.values()),
            name=_name(edge.getID())))
    if len(links) > 32:
        raise ConfigError(f"junction {junction.getID()!r} has {len(links)} incoming links; "
                          "MAP allows 32", key="junction", value=junction.getID())
    return MapNode(id=node_ref, ref_pos=ref_pos, in_links=tuple(links),
                   name=_name(junction.getID()))
