"""JSON form of SPAT and MAP: ASN.1 field names and standard units, as platforms exchange.

Field names follow the T/CSAE 53-2020 ASN.1 modules (``msgCnt``, ``intersections``,
``phaseStates``, ``likelyEndTime``, ``inLinks``, ``connectsTo``, ``phaseId`` ...); values are
in the standard's units: TimeMark (0.1 s) for counting-mode timing, 1e-7 degree for positions,
1 cm for widths, 0.02 m/s for speeds; enumerations as their ASN.1 identifiers; bit strings as
integers (bit 0 = least significant). "Unknown" likelyEndTime is TimeMark 36001.
Positions of points are full ``position-LatLon`` offsets (the UPER codec picks the shortest
``OffsetLL`` form).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from v2x.messages import _units as u
from v2x.messages._map import MapData, MapLane, MapLink, MapNode, NodeReferenceId, Position3D
from v2x.messages._spat import LightState, Spat, TimeCountingDown

__all__ = ["LIGHT_STATE_NAMES", "map_to_json", "spat_to_json", "to_json_bytes"]

#: LightState -> ASN.1 identifier (J2735 MovementPhaseState, as used by T/CSAE 53)
LIGHT_STATE_NAMES = {
    LightState(0): "unavailable",
    LightState(1): "dark",
    LightState(2): "flashing-red",
    LightState(3): "red",
    LightState(4): "flashing-green",
    LightState(5): "permissive-green",
    LightState(6): "protected-green",
    LightState(7): "yellow",
    LightState(8): "flashing-yellow",
}
_NS_PER_DS = 100_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _tm(ns: int | None, *, unknown: int = u.TIME_MARK_UNKNOWN) -> int:
    """A duration [ns] from now as TimeMark (0.1 s), 36000 when >= 1 h, ``unknown`` if None."""
    if ns is None:
        return unknown
    return int(min((ns + _NS_PER_DS // 2) // _NS_PER_DS, u.TIME_MARK_BEYOND_HOUR))


def _node_id(n: NodeReferenceId) -> dict[str, int]:
    out = {"id": n.id}
    if n.region is not None:
        out["region"] = n.region
    return out


def _time_fields(timestamp_ns: int | None) -> dict[str, int]:
    """``moy`` (MinuteOfTheYear, UTC) and ``timeStamp`` (DSecond) of a UTC instant [ns]."""
    if timestamp_ns is None:
        return {}
    return {"moy": int(u.minute_of_year(_EPOCH, timestamp_ns)),
            "timeStamp": int(u.sec_mark(_EPOCH, timestamp_ns))}


def _timing(t: TimeCountingDown) -> dict[str, Any]:
    out: dict[str, Any] = {"startTime": _tm(t.start_time_ns),
                           "likelyEndTime": _tm(t.likely_end_time_ns)}
    if t.min_end_time_ns is not None:
        out["minEndTime"] = _tm(t.min_end_time_ns)
    if t.max_end_time_ns is not None:
        out["maxEndTime"] = _tm(t.max_end_time_ns)
    if t.time_confidence is not None:
        out["timeConfidence"] = t.time_confidence
    if t.next_start_time_ns is not None:
        out["nextStartTime"] = _tm(t.next_start_time_ns)
    if t.next_duration_ns is not None:
        out["nextDuration"] = _tm(t.next_duration_ns)
    return {"counting": out}


def spat_to_json(spat: Spat) -> dict[str, Any]:
    """The JSON form of a SPAT (T/CSAE 53-2020 SPAT field names and units)."""
    out: dict[str, Any] = {"msgCnt": spat.msg_cnt, **_time_fields(spat.timestamp_ns)}
    if spat.name is not None:
        out["name"] = spat.name
    inters = []
    for it in spat.intersections:
        d: dict[str, Any] = {"intersectionId": _node_id(it.intersection_id),
                             "status": int(it.status)}
        if it.timestamp_ns is not None:
            d["timeStamp"] = int(u.sec_mark(_EPOCH, it.timestamp_ns))
        d["phases"] = [{"id": p.id, "phaseStates": [
            {"light": LIGHT_STATE_NAMES[s.light],
             **({"timing": _timing(s.timing)} if s.timing is not None else {})}
            for s in p.states]} for p in it.phases]
        inters.append(d)
    out["intersections"] = inters
    return out


def _pos(p: Position3D) -> dict[str, int]:
    out = {"lat": int(u.encode_latitude(p.lat_deg)), "long": int(u.encode_longitude(p.lon_deg))}
    if p.elevation_m is not None:
        out["elevation"] = int(u.encode_elevation(p.elevation_m))
    return out


def _points(points: tuple[Position3D, ...]) -> list[dict[str, Any]]:
    return [{"posOffset": {"offsetLL": {"position-LatLon": {
        "lon": int(u.encode_longitude(p.lon_deg)), "lat": int(u.encode_latitude(p.lat_deg))}}}}
        for p in points]


def _cm(width_m: float | None) -> int | None:
    return None if width_m is None else int(round(width_m * 100))


def _lane(lane: MapLane) -> dict[str, Any]:
    d: dict[str, Any] = {"laneID": lane.lane_id}
    if lane.lane_width_m is not None:
        d["laneWidth"] = _cm(lane.lane_width_m)
    if lane.maneuvers is not None:
        d["maneuvers"] = int(lane.maneuvers)
    if lane.connects_to:
        conns = []
        for c in lane.connects_to:
            cd: dict[str, Any] = {"remoteIntersection": _node_id(c.remote_intersection)}
            if c.connecting_lane is not None:
                cl: dict[str, Any] = {"lane": c.connecting_lane.lane}
                if c.connecting_lane.maneuver is not None:
                    cl["maneuver"] = int(c.connecting_lane.maneuver)
                cd["connectingLane"] = cl
            if c.phase_id is not None:
                cd["phaseId"] = c.phase_id
            conns.append(cd)
        d["connectsTo"] = conns
    if lane.points:
        d["points"] = _points(lane.points)
    return d


def _link(link: MapLink) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if link.name is not None:
        d["name"] = link.name
    d["upstreamNodeId"] = _node_id(link.upstream_node_id)
    if link.speed_limits:
        d["speedLimits"] = [{"type": s.type.name.lower(), "speed": int(u.encode_speed(s.speed_mps))}
                            for s in link.speed_limits]
    if link.link_width_m is not None:
        d["linkWidth"] = _cm(link.link_width_m)
    if link.points:
        d["points"] = _points(link.points)
    if link.movements:
        d["movements"] = [{"remoteIntersection": _node_id(m.remote_intersection),
                           **({"phaseId": m.phase_id} if m.phase_id is not None else {})}
                          for m in link.movements]
    d["lanes"] = [_lane(lane) for lane in link.lanes]
    return d


def _node(node: MapNode) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if node.name is not None:
        d["name"] = node.name
    d["id"] = _node_id(node.id)
    d["refPos"] = _pos(node.ref_pos)
    if node.in_links:
        d["inLinks"] = [_link(link) for link in node.in_links]
    return d


def map_to_json(map_data: MapData) -> dict[str, Any]:
    """The JSON form of a MAP (T/CSAE 53-2020 MapData field names and units)."""
    out: dict[str, Any] = {"msgCnt": map_data.msg_cnt}
    ts = getattr(map_data, "timestamp_ns", None)
    if ts is not None:
        out["timeStamp"] = int(u.minute_of_year(_EPOCH, ts))
    out["nodes"] = [_node(n) for n in map_data.nodes]
    return out


def to_json_bytes(obj: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON bytes of a message's JSON form."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
