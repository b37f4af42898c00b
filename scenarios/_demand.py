"""Demand beyond random vehicle trips: named participants placed exactly, random pedestrians.

* :func:`write_participants` writes ``[[participants]]`` as a SUMO route file: a vehicle of
  its class's vType (:data:`scenarios.VEHICLE_CLASSES`, loaded from the vTypes additional file)
  with ``departLane``, ``departPos`` and ``departSpeed`` set to the exact values, or a
  pedestrian as a SUMO ``<person>`` walking its edges. SUMO inserts such a vehicle at its depart
  step at ``pos_m`` [m from the lane start, front bumper] with ``speed_kmh`` on the lane;
  ``insertionChecks="none"`` (SUMO >= 1.14) so an unsafe placement the scenario asks for is
  not delayed or moved, and ``speedFactor = 1`` so its desired speed is the lane's limit
  (its speed changes after departure only by the car-following model or by events).
  SUMO inserts it in the simulation step that starts at ``depart``: it is first in the states
  of time ``depart + step`` (``simulation.getTime()`` after that step), at ``pos_m`` with
  ``speed_kmh``, not moved yet. A pedestrian starts walking from standstill.
  Whether it carries an OBU is written as the vehicle/person parameter ``v2x.equipped``
  (``"true"``/``"false"``); read it back with :func:`participants_equipped`.
* :func:`write_density` fills every lane at a density given in vehicles per km of road at
  t = 0 and keeps it with vehicles entering at the network's entry edges (the 3GPP evaluation
  layouts, TR 37.885 section 6.1.2: see the function).
* :func:`write_pedestrians` writes random pedestrians (``pedestrians_per_hour``): SUMO's
  ``randomTrips.py --pedestrians`` with walks routed by ``duarouter`` over the edges that allow
  pedestrians (sidewalks and crossings), seeded.
"""

from __future__ import annotations

import math
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sumolib

from scenarios._limits import MAX_DEPARTURES
from scenarios._networks import _run
from scenarios._vtypes import PEDESTRIAN, VEHICLE_CLASSES
from v2x.errors import ConfigError, SumoError

__all__ = ["DENSITY_PREFIX", "EQUIPPED_PARAM", "ParticipantSpec", "find_tool",
           "participants_equipped", "write_density", "write_participants", "write_pedestrians"]

#: SUMO vehicle/person parameter saying whether a participant carries an OBU.
EQUIPPED_PARAM = "v2x.equipped"


@dataclass(frozen=True)
class ParticipantSpec:
    """A named participant placed exactly.

    Attributes:
        id: SUMO vehicle or person id (unique in the scenario).
        cls: a vehicle class of :data:`scenarios.VEHICLE_CLASSES` or ``"pedestrian"``.
        lane: SUMO lane id where it departs (``"W_in_1"``); ``None``: the first edge of
            ``edges`` (a vehicle then departs on SUMO's ``"best"`` lane).
        pos_m: depart position [m] from the start of the lane (vehicles: the front bumper).
        speed_kmh: depart speed [km/h] (pedestrians: walking speed; ``None``: SUMO's default).
        depart_ns: departure time [ns] (a whole number of simulation steps).
        equipped: carries an OBU.
        edges: the route (edge ids, first one the lane's edge). Empty: from the lane's edge
            straight on (the ``"s"`` connection at every junction) until a dead end, which needs
            the network file.
    """

    id: str
    cls: str
    lane: str | None = None
    pos_m: float = 0.0
    speed_kmh: float | None = 0.0
    depart_ns: int = 0
    equipped: bool = True
    edges: tuple[str, ...] = ()


def _lane_edge(lane: str, pid: str) -> tuple[str, int]:
    edge, sep, index = lane.rpartition("_")
    if not sep or not edge or not index.isdigit() or edge.startswith(":"):
        raise ConfigError("not a SUMO lane id '<edge>_<index>' of a normal edge",
                          key=f"participants.{pid}.lane", value=lane)
    return edge, int(index)


def _straight_on(net: sumolib.net.Net, lane: str, pid: str) -> list[str]:
    try:
        current = net.getLane(lane)
    except KeyError as exc:
        raise ConfigError("lane not in the network", key=f"participants.{pid}.lane",
                          value=lane) from exc
    edges = [current.getEdge().getID()]
    while True:
        nxt = [c for c in current.getOutgoing() if c.getDirection() == "s"]
        if not nxt:
            return edges
        current = nxt[0].getToLane()
        eid = current.getEdge().getID()
        if eid in edges:  # a ring: stop before repeating
            return edges
        edges.append(eid)


def _check_on_lane(net: sumolib.net.Net, lane: str, pos_m: float, key: str) -> None:
    """The lane exists and ``pos_m`` [m] lies on it (ConfigError naming ``key.lane`` /
    ``key.pos_m`` otherwise: SUMO would silently move the vehicle to the lane's end)."""
    try:
        length = net.getLane(lane).getLength()
    except KeyError:
        raise ConfigError("lane not in the network", key=f"{key}.lane", value=lane) from None
    if pos_m > length:
        raise ConfigError(f"is beyond the end of lane {lane!r} ({length:.1f} m long)",
                          key=f"{key}.pos_m", value=pos_m)


def _seconds(ns: int) -> str:
    return repr(ns / 1e9)


def write_participants(participants: Sequence[ParticipantSpec], path: Path, *,
                       net_file: Path | None = None) -> Path:
    """Write named participants as a SUMO route file (sorted by departure, then by id).

    The vTypes of the vehicle classes are not in this file: load it with the vTypes
    additional file (:func:`scenarios.write_vtypes`).

    Raises:
        ConfigError: duplicate id, unknown class, a lane that is not ``<edge>_<index>`` or not on
            the route's first edge, no route (neither ``edges`` nor a lane with ``net_file``),
            a negative position or speed; the key is ``participants.<id>.<field>``.
    """
    seen: set[str] = set()
    net = sumolib.net.readNet(str(net_file), withInternal=False) if net_file else None
    elements: list[tuple[int, str, ET.Element]] = []
    for p in participants:
        key = f"participants.{p.id}"
        if p.id in seen:
            raise ConfigError("participant id given twice", key=f"{key}.id", value=p.id)
        seen.add(p.id)
        if p.cls != PEDESTRIAN and p.cls not in VEHICLE_CLASSES:
            raise ConfigError(f"unknown class (known: {', '.join(VEHICLE_CLASSES)}, "
                              f"{PEDESTRIAN})", key=f"{key}.class", value=p.cls)
        if p.pos_m < 0 or not math.isfinite(p.pos_m):
            raise ConfigError("must be a finite position >= 0", key=f"{key}.pos_m", value=p.pos_m)
        if p.speed_kmh is not None and (p.speed_kmh < 0 or not math.isfinite(p.speed_kmh)):
            raise ConfigError("must be a finite speed >= 0", key=f"{key}.speed_kmh",
                              value=p.speed_kmh)
        edges = list(p.edges)
        index = None
        if p.lane is not None:
            edge, index = _lane_edge(p.lane, p.id)
            if net is not None:
                _check_on_lane(net, p.lane, p.pos_m, key)
            if edges and edges[0] != edge:
                raise ConfigError(f"the lane's edge {edge!r} is not the first edge of the route",
                                  key=f"{key}.lane", value=p.lane)
            if not edges:
                edges = _straight_on(net, p.lane, p.id) if net is not None else [edge]
        if not edges:
            raise ConfigError("needs a lane or edges", key=f"{key}.lane", value=None)
        param = {"key": EQUIPPED_PARAM, "value": "true" if p.equipped else "false"}
        if p.cls == PEDESTRIAN:
            el = ET.Element("person", {"id": p.id, "depart": _seconds(p.depart_ns),
                                       "departPos": repr(float(p.pos_m)), "speedFactor": "1"})
            walk = {"edges": " ".join(edges)}
            if p.speed_kmh:
                walk["speed"] = repr(p.speed_kmh / 3.6)
            ET.SubElement(el, "walk", walk)
        else:
            el = ET.Element("vehicle", {
                "id": p.id, "type": p.cls, "depart": _seconds(p.depart_ns),
                "departLane": "best" if index is None else str(index),
                "departPos": repr(float(p.pos_m)),
                "departSpeed": repr((p.speed_kmh or 0.0) / 3.6),
                "speedFactor": "1", "insertionChecks": "none"})
            ET.SubElement(el, "route", {"edges": " ".join(edges)})
        ET.SubElement(el, "param", param)
        elements.append((p.depart_ns, p.id, el))
    root = ET.Element("routes")
    for _, _, el in sorted(elements, key=lambda item: (item[0], item[1])):
        root.append(el)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def participants_equipped(route_file: Path) -> dict[str, bool]:
    """``{id: equipped}`` of the vehicles and persons of a route file with the
    ``v2x.equipped`` parameter (participants without it are left out)."""
    out = {}
    for el in ET.parse(route_file).getroot():
        for prm in el.iter("param"):
            if prm.get("key") == EQUIPPED_PARAM:
                out[el.get("id", "")] = prm.get("value") == "true"
    return out


def write_pedestrians(net_file: Path, path: Path, *, per_hour: float, begin_ns: int,
                      end_ns: int, seed: int, prefix: str = "ped.") -> Path:
    """Random pedestrians departing uniformly over ``[begin_ns, end_ns)``, ``per_hour`` an
    hour, each walking from a random edge to another one over the pedestrian network
    (sidewalks, crossings; on a network without sidewalks, the lanes that allow pedestrians).

    Uses SUMO's ``randomTrips.py --pedestrians`` (``--period 3600 / per_hour``, seeded) and
    ``duarouter`` for the walks. Person ids are ``<prefix><n>``.

    Raises:
        ConfigError: ``per_hour`` is not positive.
        SumoError: the tools failed, e.g. the network has no edge that allows pedestrians.
    """
    if not per_hour > 0:
        raise ConfigError("must be > 0", key="demand.pedestrians_per_hour", value=per_hour)
    tool = find_tool("randomTrips.py")
    with tempfile.TemporaryDirectory(prefix="v2x-peds-") as tmpd:
        trips = Path(tmpd) / "peds.trips.xml"
        routes = Path(tmpd) / "peds.rou.xml"
        _run([sys.executable, str(tool), "-n", str(net_file), "--pedestrians",
              "-o", str(trips), "-r", str(routes), "--seed", str(seed),
              "-b", repr(begin_ns / 1e9), "-e", repr(end_ns / 1e9),
              "--period", repr(3600.0 / per_hour), "--prefix", prefix,
              "--fringe-factor", "1", "--min-distance", "10"],
             what="randomTrips.py --pedestrians", cwd=Path(tmpd))
        if not routes.is_file():
            raise SumoError(f"randomTrips.py wrote no pedestrians for {net_file}")
        root = ET.parse(routes).getroot()
        persons = [el for el in root if el.tag == "person"]
        out = ET.Element("routes")
        out.extend(persons)
        ET.indent(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(out).write(path, encoding="utf-8", xml_declaration=True)
    return path


#: ids of the density demand's vehicles: ``dens.<n>``, numbered by departure
DENSITY_PREFIX = "dens."


@dataclass(frozen=True)
class _Lane:
    id: str
    edge: str
    index: int
    length_m: float
    speed_mps: float       # the lane's limit
    spacing_m: float       # between the fronts of two vehicles in the lane
    entry: bool            # on an edge no other edge leads into


def _density_lanes(net: sumolib.net.Net, density_per_km: float, vclass: str) -> list[_Lane]:
    """The lanes the class may use, each with the spacing that gives ``density_per_km``
    vehicles per km of road: a road's cross-section is an edge's lanes plus those of the edge
    going the other way between the same two junctions (if any)."""
    usable = {e.getID(): [ln for ln in e.getLanes() if ln.allows(vclass)]
              for e in net.getEdges(withInternal=False)}
    by_ends = {(e.getFromNode().getID(), e.getToNode().getID()): e.getID()
               for e in net.getEdges(withInternal=False)}
    out: list[_Lane] = []
    for e in sorted(net.getEdges(withInternal=False), key=lambda e: e.getID()):
        lanes = usable[e.getID()]
        if not lanes:
            continue
        back = by_ends.get((e.getToNode().getID(), e.getFromNode().getID()))
        cross = len(lanes) + (len(usable[back]) if back is not None else 0)
        spacing = 1000.0 * cross / density_per_km
        entry = not any(usable[i.getID()] for i in e.getIncoming())
        out.extend(_Lane(ln.getID(), e.getID(), ln.getIndex(), ln.getLength(), ln.getSpeed(),
                         spacing, entry) for ln in lanes)
    return out


def write_density(net_file: Path, path: Path, *, density_per_km: float, end_ns: int, seed: int,
                  speed_kmh: float | None = None, speed_sigma_kmh: float = 0.0,
                  inflow: bool = True, vehicle_class: str = "passenger") -> Path:
    """Vehicles that fill the network at ``density_per_km`` at t = 0 and keep it filled.

    The 3GPP evaluation layouts (TR 37.885 section 6.1.2, TR 36.885 A.1.2) drop vehicles on
    every lane at a density; here the density is vehicles per km of *road*: every lane of both
    directions together (as TR 37.885's highway densities and Gonzalez-Martin et al.'s beta
    [veh/m] count them), split equally over the lanes: on the 3 + 3 lane highway, 60 veh/km
    is 10 per km in each lane, a vehicle every 100 m. TR 37.885 spaces vehicles 2.5 s x speed
    apart in a lane: 140 km/h -> 97.2 m -> 61.7 veh/km on 6 lanes.

    * At t = 0 each lane holds a vehicle every ``spacing`` metres (1000 x lanes of the road /
      density), starting at a random offset in [0, spacing) per lane (seeded), each wholly on
      the lane (front bumper at >= its length).
    * Each vehicle's desired speed is drawn from a normal distribution, mean ``speed_kmh``
      (default the lane's limit), standard deviation ``speed_sigma_kmh``, cut at 2 sigma and
      at 1 km/h, given to SUMO as its ``speedFactor`` (speed / the lane's limit); it departs
      at the largest safe speed up to that (``departSpeed="max"``).
    * ``inflow``: on every lane of an entry edge (no edge leads into it; the highway's two
      ends, a grid's fringe) a vehicle enters every ``spacing / speed`` seconds (the flow
      q = k v that keeps the density at the mean speed) from a random phase, until ``end_ns``;
      this stands in for TR 37.885's wrap-around, which SUMO cannot do.
    * Every vehicle goes straight on from its lane at each junction until the network ends
      (3GPP's urban grid turns left or right with probability 0.25 each: not modelled).

    Vehicles are of ``vehicle_class`` (a :data:`scenarios.VEHICLE_CLASSES` name), ids
    ``dens.<n>`` in departure order. Randomness from ``seed`` only.

    Raises:
        ConfigError (key ``demand.density_per_km``): not > 0; more vehicles in a lane than it
            holds bumper to bumper (1000 / (length + minGap) per km: 137 for a passenger car);
            more than :data:`scenarios.MAX_DEPARTURES` vehicles.
    """
    key = "demand.density_per_km"
    if not (density_per_km > 0 and math.isfinite(density_per_km)):
        raise ConfigError("must be a number > 0", key=key, value=density_per_km)
    vt = VEHICLE_CLASSES[vehicle_class]
    veh_len, min_gap = float(vt["length"]), float(vt["minGap"])
    net = sumolib.net.readNet(str(net_file), withInternal=False)
    lanes = _density_lanes(net, density_per_km, vt["vClass"])
    if not lanes:
        raise ConfigError(f"the network has no lane for {vehicle_class} vehicles", key=key,
                          value=density_per_km)
    tight = min(lanes, key=lambda ln: ln.spacing_m)
    if tight.spacing_m < veh_len + min_gap:
        raise ConfigError(
            f"puts a vehicle every {tight.spacing_m:.1f} m in lane {tight.id}, closer than "
            f"bumper to bumper ({veh_len + min_gap:g} m: {vehicle_class} length + minGap)",
            key=key, value=density_per_km)
    rng = np.random.default_rng(seed)
    sigma = speed_sigma_kmh / 3.6
    routes: dict[str, list[str]] = {}
    rows: list[tuple[float, int, float, _Lane, float]] = []  # depart, order, pos, lane, speed
    for order, lane in enumerate(lanes):
        mean = lane.speed_mps if speed_kmh is None else speed_kmh / 3.6
        offset = float(rng.uniform(0.0, lane.spacing_m))
        first = offset + math.ceil(max(veh_len - offset, 0.0) / lane.spacing_m) * lane.spacing_m
        for pos in np.arange(first, lane.length_m, lane.spacing_m).tolist():
            rows.append((0.0, order, pos, lane, mean))
        if inflow and lane.entry:
            period = lane.spacing_m / mean
            t0 = float(rng.uniform(0.0, period))
            rows.extend((round(t, 3), order, -1.0, lane, mean)
                        for t in np.arange(t0, end_ns / 1e9, period).tolist() if t > 0)
        if len(rows) > MAX_DEPARTURES:
            raise ConfigError(f"asks for more than {MAX_DEPARTURES:,} vehicles (the most a run "
                              "takes); lower the density or shorten the run", key=key,
                              value=density_per_km)
    z = np.clip(rng.standard_normal(len(rows)), -2.0, 2.0)
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    root = ET.Element("routes")
    for n, ((depart, _, pos, lane, mean), dz) in enumerate(zip(rows, z.tolist(), strict=True)):
        speed = max(mean + sigma * dz, 1.0 / 3.6)
        if lane.id not in routes:
            routes[lane.id] = _straight_on(net, lane.id, lane.id)
        attrs = {"id": f"{DENSITY_PREFIX}{n}", "type": vehicle_class, "depart": repr(depart),
                 "departLane": str(lane.index),
                 "departPos": "base" if pos < 0 else repr(round(pos, 3)),
                 "departSpeed": "max", "speedFactor": repr(round(speed / lane.speed_mps, 6))}
        el = ET.SubElement(root, "vehicle", attrs)
        ET.SubElement(el, "route", {"edges": " ".join(routes[lane.id])})
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def find_tool(name: str) -> Path:
    """Locate a script of SUMO's ``tools`` folder (shipped inside the eclipse-sumo wheel).

    Raises:
        SumoError: not found in ``$SUMO_HOME/tools`` nor in the wheel.
    """
    import os

    candidates = []
    home = os.environ.get("SUMO_HOME")
    if home:
        candidates.append(Path(home) / "tools" / name)
    try:
        import sumo  # the eclipse-sumo wheel

        candidates.append(Path(sumo.__file__).resolve().parent / "tools" / name)
    except ImportError:  # pragma: no cover
        pass
    for c in candidates:
        if c.is_file():
            return c
    raise SumoError(f"SUMO tool {name} not found (looked in {', '.join(map(str, candidates))}); "
                    "install eclipse-sumo or set SUMO_HOME")
