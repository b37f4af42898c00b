"""SUMO network and demand builders, on SUMO's own tools, cached by content digest.

* Networks: ``netgenerate --grid`` for generated grids. The generated network is cartesian;
  it is geo-referenced by writing its ``<location>`` element: the grid centre is placed at the
  scenario's anchor projected to UTM 50N (EPSG:32650), ``netOffset = -(E0 - cx, N0 - cy)``, so
  SUMO's ``simulation.convertGeo`` and :class:`v2x.geo.GeoFrame` (pyproj) agree.
* Demand: SUMO's ``randomTrips.py`` per vehicle class (validated routes through ``duarouter``),
  vehicle types in an additional file.

Every generated file is cached under ``$V2X_CACHE`` (default ``~/.cache/v2x-testbed``) in a
folder named by a SHA-256 digest of the inputs, the builder version and the SUMO version, so a
changed input or a new SUMO never reuses a stale file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sumolib

from scenarios._model import VEHICLE_CLASSES, Scenario
from v2x._cache import cache_dir
from v2x.errors import ConfigError, SumoError
from v2x.geo import GeoFrame

__all__ = ["BuiltScenario", "build", "cache_dir", "grid_junction_ids", "sumo_version"]

_BUILDER_VERSION = "1"


@dataclass(frozen=True)
class BuiltScenario:
    """The SUMO inputs of a scenario, ready to run."""

    net_file: Path
    route_files: tuple[Path, ...]
    additional_files: tuple[Path, ...]
    geo: GeoFrame
    sumo_version: str


def sumo_version() -> str:
    """The SUMO version of the installed ``eclipse-sumo`` wheel, e.g. ``"1.28.0"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eclipse-sumo")
    except PackageNotFoundError:  # pragma: no cover - SUMO from elsewhere
        out = _run([sumolib.checkBinary("sumo"), "--version"], what="sumo --version")
        m = re.search(r"Version (\S+)", out)
        return m.group(1) if m else "unknown"


def grid_junction_ids(nx: int, ny: int) -> list[str]:
    """netgenerate's ids of the ``nx x ny`` inner grid junctions: ``A0 .. <letter><ny-1>``."""
    letters = [_grid_letter(i) for i in range(nx)]
    return [f"{c}{j}" for c in letters for j in range(ny)]


def _grid_letter(i: int) -> str:
    # netgenerate names columns A..Z, then AA, AB, ... (sumolib/netgenerate convention)
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def build(scenario: Scenario, *, seed: int | None = None) -> BuiltScenario:
    """Build (or take from the cache) the network, vehicle types and routes of a scenario.

    Args:
        scenario: a validated scenario.
        seed: the demand seed; default the scenario's seed.

    Raises:
        SumoError: a SUMO tool failed (its output is in the message).
        ConfigError: an existing network is not geo-referenced.
    """
    seed = scenario.seed if seed is None else seed
    version = sumo_version()
    net_file = _network(scenario, version)
    geo = GeoFrame.from_net(str(net_file))
    vtypes = _vtypes(scenario, version)
    routes = list(scenario.demand.route_files)
    if scenario.demand.vehicles_per_hour:
        routes.append(_random_routes(scenario, net_file, vtypes, seed, version))
    return BuiltScenario(net_file=net_file, route_files=tuple(routes),
                         additional_files=(vtypes,), geo=geo, sumo_version=version)


def _digest(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _cached(kind: str, payload: dict[str, Any], filename: str) -> tuple[Path, bool]:
    folder = cache_dir() / kind / _digest(payload)
    target = folder / filename
    return target, target.is_file()


def _publish(tmp: Path, target: Path) -> None:
    """Move a finished file into the cache atomically (parallel runs may race).

    Raises ConfigError naming the cache folder when it cannot be written."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigError(f"cannot write the cache folder {cache_dir()} ({exc}); set V2X_CACHE "
                          "to a writable folder", key="V2X_CACHE", value=str(cache_dir())) \
            from exc


def _run(cmd: list[str], *, what: str, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SumoError(f"{what} could not run: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise SumoError(f"{what} failed with exit code {proc.returncode}:\n{tail}")
    return proc.stdout


def _network(scenario: Scenario, version: str) -> Path:
    net = scenario.network
    if net.kind == "path":
        GeoFrame.from_net(str(net.path))  # raises ConfigError if not geo-referenced
        return net.path
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "network": net.__dict__,
               "geo": scenario.geo.__dict__}
    target, hit = _cached("net", payload, "grid.net.xml")
    if hit:
        return target
    tls = grid_junction_ids(net.junctions_x, net.junctions_y)
    with tempfile.TemporaryDirectory(prefix="v2x-net-") as tmpd:
        raw = Path(tmpd) / "raw.net.xml"
        _run([sumolib.checkBinary("netgenerate"), "--grid",
              "--grid.x-number", str(net.junctions_x), "--grid.y-number", str(net.junctions_y),
              "--grid.length", str(net.block_length_m),
              "--grid.attach-length", str(net.attach_length_m),
              "--default.lanenumber", str(net.lanes),
              "--default.lanewidth", str(net.lane_width_m),
              "--default.speed", f"{net.speed_limit_kmh / 3.6:.4f}",
              "--default.junctions.type", "priority",
              "--tls.set", ",".join(tls), "--tls.default-type", net.signal,
              "--no-turnarounds", "true",
              "--seed", "1", "--output-file", str(raw)], what="netgenerate")
        out = Path(tmpd) / "grid.net.xml"
        _georeference(raw, out, scenario)
        _publish(out, target)
    return target


def _georeference(raw: Path, out: Path, scenario: Scenario) -> None:
    """Write ``<location>`` so the grid centre lands on the anchor in the scenario's CRS."""
    text = raw.read_text(encoding="utf-8")
    m = re.search(r"<location [^>]*/>", text)
    if m is None:
        raise SumoError(f"netgenerate wrote no <location> element in {raw}")
    conv = re.search(r'convBoundary="([^"]+)"', m.group(0))
    if conv is None:
        raise SumoError(f"no convBoundary in {m.group(0)}")
    x0, y0, x1, y1 = (float(v) for v in conv.group(1).split(","))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    frame = GeoFrame(crs=scenario.geo.crs)
    e0, n0 = frame.project(scenario.geo.anchor_lat, scenario.geo.anchor_lon)
    ox, oy = -(e0 - cx), -(n0 - cy)
    proj = _proj4(scenario.geo.crs)
    lat0, lon0 = frame.to_latlon(x0 - ox, y0 - oy)
    lat1, lon1 = frame.to_latlon(x1 - ox, y1 - oy)
    loc = (f'<location netOffset="{ox!r},{oy!r}" convBoundary="{conv.group(1)}" '
           f'origBoundary="{float(lon0)!r},{float(lat0)!r},{float(lon1)!r},{float(lat1)!r}" '
           f'projParameter="{proj}"/>')
    out.write_text(text.replace(m.group(0), loc), encoding="utf-8")


def _proj4(crs: str) -> str:
    import pyproj

    try:
        with warnings.catch_warnings():  # "lose projection information": fine for UTM / TM
            warnings.simplefilter("ignore", UserWarning)
            return pyproj.CRS.from_user_input(crs).to_proj4()
    except pyproj.exceptions.CRSError as exc:
        raise ConfigError(f"unknown CRS {crs!r}", key="geo.crs", value=crs) from exc


def _vtypes(scenario: Scenario, version: str) -> Path:
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "classes": VEHICLE_CLASSES}
    target, hit = _cached("vtypes", payload, "vtypes.add.xml")
    if hit:
        return target
    root = ET.Element("additional")
    for name, spec in VEHICLE_CLASSES.items():
        attrs = {"id": name}
        for k in ("vClass", "length", "width", "height", "accel", "decel", "emergencyDecel",
                  "maxSpeed", "color"):
            attrs[k] = str(spec[k])
        attrs["sigma"] = "0.5"
        ET.SubElement(root, "vType", attrs)
    ET.indent(root)
    fd, tmp = tempfile.mkstemp(suffix=".xml", dir=cache_dir() if cache_dir().exists() else None)
    os.close(fd)
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    _publish(Path(tmp), target)
    return target


def _random_routes(scenario: Scenario, net_file: Path, vtypes: Path, seed: int,
                   version: str) -> Path:
    d = scenario.demand
    payload = {"builder": _BUILDER_VERSION, "sumo": version, "net": _file_digest(net_file),
               "vtypes": _file_digest(vtypes), "seed": seed, "begin": d.begin_ns,
               "end": d.end_ns, "vph": dict(d.vehicles_per_hour)}
    target, hit = _cached("routes", payload, "demand.rou.xml")
    if hit:
        return target
    random_trips = _find_tool("randomTrips.py")
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
        _publish(out, target)
    return target


def _find_tool(name: str) -> Path:
    """Locate a script of SUMO's ``tools`` folder (shipped inside the eclipse-sumo wheel)."""
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


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def clear_cache() -> None:
    """Delete every cached generated file."""
    shutil.rmtree(cache_dir(), ignore_errors=True)
