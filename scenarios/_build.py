"""SUMO network and demand builders, on SUMO's own tools, cached by content digest.

* Networks: :func:`scenarios.build_network` (kinds ``grid``, ``road``, ``intersection``,
  ``path`` and registered ones; see :mod:`scenarios._networks`), geo-referenced at the anchor.
* Demand: SUMO's ``randomTrips.py`` per vehicle class (validated routes through ``duarouter``),
  random pedestrians and named participants (:mod:`scenarios._demand`), vehicle types
  (:mod:`scenarios._vtypes`) in an additional file.

Every generated file is cached under ``$V2X_CACHE`` (default ``~/.cache/v2x-testbed``) in a
folder named by a SHA-256 digest of the inputs, the builder version and the SUMO version, so a
changed input or a new SUMO never reuses a stale file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios._demand import (
    ParticipantSpec,
    find_tool,
    write_density,
    write_participants,
    write_pedestrians,
)
from scenarios._networks import (
    _run,
    build_network,
    grid_junction_ids,
    publish,
    sumo_version,
)
from scenarios._vtypes import VEHICLE_CLASSES, VTYPE_ATTRIBUTES, write_vtypes
from v2x._cache import cache_dir
from v2x.errors import ConfigError
from v2x.geo import GeoFrame

__all__ = ["BuiltScenario", "build", "cache_dir", "grid_junction_ids", "sumo_version"]

_BUILDER_VERSION = "2"


@dataclass(frozen=True)
class BuiltScenario:
    """The SUMO inputs of a scenario, ready to run."""

    net_file: Path
    route_files: tuple[Path, ...]
    additional_files: tuple[Path, ...]
    geo: GeoFrame
    sumo_version: str


def build(scenario: Any, *, seed: int | None = None) -> BuiltScenario:
    """Build (or take from the cache) the network, vehicle types and routes of a scenario.

    Route files, in this order: the network's own (``path`` kind ``route_files``), the
    demand's ``route_files``, random vehicles (``vehicles_per_hour``), the density demand
    (``density_per_km``, :func:`scenarios.write_density`), random pedestrians
    (``pedestrians_per_hour``, when the scenario model has it), named participants
    (``participants``, when the scenario model has them: objects with the fields of
    :class:`scenarios.ParticipantSpec`, ``cls`` also read as ``class_``).

    Args:
        scenario: a validated scenario (its ``network`` any registered network kind's model
            or the dataclass ``NetworkConfig``).
        seed: the demand seed; default the scenario's seed.

    Raises:
        SumoError: a SUMO tool failed (its output is in the message).
        ConfigError: an existing network is not geo-referenced.
    """
    seed = scenario.seed if seed is None else seed
    version = sumo_version()
    net_file = build_network(scenario.network, None, scenario.geo)
    geo = GeoFrame.from_net(str(net_file))
    vtypes = _vtypes(version)
    d = scenario.demand
    routes = [Path(p) for p in getattr(scenario.network, "route_files", ())]
    routes += list(d.route_files)
    if d.vehicles_per_hour:
        routes.append(_random_routes(d, net_file, vtypes, seed, version))
    if float(getattr(d, "density_per_km", 0.0) or 0.0) > 0:
        routes.append(_density_routes(d, net_file, seed, version))
    pph = float(getattr(d, "pedestrians_per_hour", 0.0) or 0.0)
    if pph > 0:
        routes.append(_pedestrians(d, pph, net_file, seed, version))
    participants = [_spec(p) for p in getattr(scenario, "participants", ())]
    if participants:
        routes.append(_participants(participants, net_file, version))
    return BuiltScenario(net_file=net_file, route_files=tuple(routes),
                         additional_files=(vtypes,), geo=geo, sumo_version=version)


def _spec(p: Any) -> ParticipantSpec:
    """A ``[[participants]]`` entry (:class:`scenarios.Participant`) as the route writer's
    spec. Raises ConfigError for ``route`` (a route id of the route files: not supported by
    the writer yet; give ``edges``)."""
    if isinstance(p, ParticipantSpec):
        return p
    if p.route is not None:
        raise ConfigError("a participant's route id is not supported yet; give its edges",
                          key=f"participants.{p.id}.route", value=p.route)
    return ParticipantSpec(id=p.id, cls=p.vehicle_class, lane=p.lane, pos_m=float(p.pos_m),
                           speed_kmh=float(p.speed_kmh), depart_ns=int(p.depart_ns),
                           equipped=bool(p.equipped), edges=tuple(p.edges))


def _digest(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _cached(kind: str, payload: dict[str, Any], filename: str) -> tuple[Path, bool]:
    folder = cache_dir() / kind / _digest(payload)
    target = folder / filename
    return target, target.is_file()


def _vtypes(version: str) -> Path:
    table = {k: {a: v[a] for a in VTYPE_ATTRIBUTES} for k, v in VEHICLE_CLASSES.items()}
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "classes": table}
    target, hit = _cached("vtypes", payload, "vtypes.add.xml")
    if hit:
        return target
    with tempfile.TemporaryDirectory(prefix="v2x-vtypes-") as tmpd:
        out = write_vtypes(Path(tmpd) / "vtypes.add.xml")
        publish(out, target)
    return target


def _pedestrians(d: Any, per_hour: float, net_file: Path, seed: int, version: str) -> Path:
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "net": _file_digest(net_file),
               "seed": seed, "begin": d.begin_ns, "end": d.end_ns, "pph": per_hour}
    target, hit = _cached("routes", payload, "pedestrians.rou.xml")
    if hit:
        return target
    with tempfile.TemporaryDirectory(prefix="v2x-peds-") as tmpd:
        out = write_pedestrians(net_file, Path(tmpd) / "pedestrians.rou.xml", per_hour=per_hour,
                                begin_ns=d.begin_ns, end_ns=d.end_ns, seed=seed * 31 + 997)
        publish(out, target)
    return target


def _density_routes(d: Any, net_file: Path, seed: int, version: str) -> Path:
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "net": _file_digest(net_file),
               "seed": seed, "end": d.end_ns, "density": d.density_per_km,
               "speed": d.speed_kmh, "sigma": d.speed_sigma_kmh, "inflow": d.inflow,
               "vtype": VEHICLE_CLASSES["passenger"]}
    target, hit = _cached("routes", payload, "density.rou.xml")
    if hit:
        return target
    with tempfile.TemporaryDirectory(prefix="v2x-density-") as tmpd:
        out = write_density(net_file, Path(tmpd) / "density.rou.xml",
                            density_per_km=d.density_per_km, end_ns=d.end_ns,
                            seed=seed * 31 + 499, speed_kmh=d.speed_kmh,
                            speed_sigma_kmh=d.speed_sigma_kmh, inflow=d.inflow)
        publish(out, target)
    return target


def _participants(specs: list[ParticipantSpec], net_file: Path, version: str) -> Path:
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "net": _file_digest(net_file),
               "participants": [s.__dict__ for s in specs]}
    target, hit = _cached("routes", payload, "participants.rou.xml")
    if hit:
        return target
    with tempfile.TemporaryDirectory(prefix="v2x-participants-") as tmpd:
        out = write_participants(specs, Path(tmpd) / "participants.rou.xml", net_file=net_file)
        publish(out, target)
    return target


def _random_routes(d: Any, net_file: Path, vtypes: Path, seed: int, version: str) -> Path:
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "net": _file_digest(net_file),
               "vtypes": _file_digest(vtypes), "seed": seed, "begin": d.begin_ns,
               "end": d.end_ns, "vph": dict(d.vehicles_per_hour)}
    target, hit = _cached("routes", payload, "demand.rou.xml")
    if hit:
        return target
    random_trips = find_tool("randomTrips.py")
    begin_s, end_s = d.begin_ns / 1e9, d.end_ns / 1e9
    vehicles: list[tuple[float, int, ET.Element]] = []
    with tempfile.TemporaryDirectory(prefix="v2x-demand-") as tmpd:
        for k, (cls, vph) in enumerate(sorted(d.vehicles_per_hour.items())):
            if vph <= 0:
                continue
            spec = VEHICLE_CLASSES[cls]
            period = 3600.0 / vph
            trips = Path(tmpd) / f"{cls}.trips.xml"
            routes = Path(tmpd) / f"{cls}.rou.xml"
            _run([sys.executable, str(random_trips), "-n", str(net_file),
                  "-o", str(trips), "-r", str(routes),
                  "--additional-files", str(vtypes),
                  "--seed", str(seed * 31 + k), "-b", repr(begin_s), "-e", repr(end_s),
                  "--period", repr(period), "--fringe-factor", "max",
                  "--min-distance", "600",
                  "--edge-permission", spec["vClass"], "--prefix", f"{cls}.",
                  "--trip-attributes", f'type="{cls}" departLane="best" departSpeed="max"',
                  "--validate"],
                 what=f"randomTrips.py ({cls})", cwd=Path(tmpd))
            for veh in ET.parse(routes).getroot().iter("vehicle"):
                vehicles.append((float(veh.get("depart", "0")), k, veh))
        vehicles.sort(key=lambda item: (item[0], item[1], item[2].get("id", "")))
        root = ET.Element("routes")
        for _, _, veh in vehicles:
            root.append(veh)
        ET.indent(root)
        out = Path(tmpd) / "demand.rou.xml"
        ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
        publish(out, target)
    return target


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def clear_cache() -> None:
    """Delete every cached generated file."""
    shutil.rmtree(cache_dir(), ignore_errors=True)
