"""Network kinds of ``[network]``: configuration models, builders and their registry.

A network kind is a pydantic model (frozen, unknown keys are errors) with a ``kind`` tag and a
builder that writes a SUMO ``.net.xml``. Built-in kinds:

=================  ==========================================================================
``grid``           :class:`GridNetwork`: SUMO ``netgenerate --grid``, every inner junction
                   signalized (ids ``A0`` .. ``D3``, see :func:`grid_junction_ids`)
``road``           :class:`RoadNetwork`: a straight road along +x (east), ``segments`` edges
                   each way
``intersection``   :class:`IntersectionNetwork`: one junction ``C`` with 3 or 4 arms
``highway``        :class:`HighwayNetwork`: the 3GPP TR 37.885 highway (a ``road`` with 3
                   lanes of 4 m each way, 5 km, 140 km/h by default)
``path``           :class:`PathNetwork`: an existing geo-referenced ``.net.xml``
                   (``kind = "file"`` is accepted as an alias)
=================  ==========================================================================

Generated networks are cartesian; :func:`build_network` geo-references them by writing their
``<location>``: the centre of the network's boundary is placed at the anchor projected to the
scenario CRS (default UTM 50N, EPSG:32650), ``netOffset = -(E0 - cx, N0 - cy)``, so SUMO's
``simulation.convertGeo`` and :class:`v2x.geo.GeoFrame` (pyproj) agree. They are cached under
``$V2X_CACHE/net/<digest>/`` by a SHA-256 digest of the kind's configuration, the anchor, the
builder version and the SUMO version.

Stable ids (scenario files name lanes by them, SUMO lane id = ``<edge>_<index>``, index 0 the
rightmost lane):

* ``road``: nodes ``R0`` (west end) .. ``R<segments>`` (east end) every ``length_m /
  segments``; eastbound edges ``fwd0`` .. ``fwd<segments-1>`` (``R<i> -> R<i+1>``), with
  ``opposing`` westbound edges ``bwd0`` .. (``R<i+1> -> R<i>``). E.g. ``fwd0_0`` is the rightmost
  eastbound lane of the first segment.
* ``intersection``: the junction ``C`` at the origin, arm ends ``N``, ``E``, ``S``, ``W`` at
  ``arm_length_m`` (3 arms: no ``N``); edges ``<arm>_in`` (towards ``C``) and ``<arm>_out`` (away
  from ``C``). ``W_in_0`` is the rightmost lane entering from the west. With ``left_turn_lane``
  each ``_in`` edge that has a left turn has one more lane, the leftmost (index ``lanes``), for
  left turns only (over the whole arm).
  With ``crosswalks`` or ``sidewalks``, lane 0 of every edge is a 2 m sidewalk and the vehicle
  lanes are 1 .. ``lanes``; crosswalks are SUMO crossings ``:C_c0`` .. (one per arm) on which
  pedestrians have priority (China's Road Traffic Safety Law, art. 47: vehicles yield to
  pedestrians on a crosswalk); at a traffic light the crossings get their own signal.
* ``grid``: netgenerate's junction ids ``A0`` .. and edge ids ``A0A1`` (from ``A0`` to ``A1``).
* ``highway``: the ids of ``road`` (``fwd0`` .. eastbound, ``bwd0`` .. westbound).

The 3GPP evaluation layouts (TR 37.885 section 6.1.2; TR 36.885 A.1.2) as kinds:

* highway: :class:`HighwayNetwork`, 3 lanes per direction, 4 m lanes, >= 2000 m. TR 37.885
  wraps vehicles around the road's ends; SUMO cannot, so the road is longer instead (5 km by
  default, the length of Gonzalez-Martin et al.'s highway) and the density demand keeps every
  lane filled with vehicles entering at both ends (``[demand] density_per_km``,
  :func:`scenarios.write_density`): measure in the central part, at least the interference
  range away from either end (with 5 km, the central 2 km have 1.5 km on each side).
* urban grid: the ``grid`` kind with ``block_length_m = 433``, ``block_length_y_m = 250``
  (TR 36.885 / TR 37.885 blocks of 433 x 250 m), 2 lanes per direction of 3.5 m. Deviations:
  its inner junctions are signalized (the 3GPP grid has no signals), and the density demand's
  vehicles go straight on at junctions (3GPP: straight 0.5, left 0.25, right 0.25).

Signal timing: SUMO's program for the ``signal`` type (``static``, ``actuated``,
``delay_based``) with the yellow interval of the ITE formula :func:`ite_yellow_s` at the speed
limit and the all-red interval of ITE's red clearance :func:`ite_red_clearance_s`, each rounded
up to whole seconds (netconvert takes integers), unless ``yellow_s`` / ``all_red_s`` are given.

Users add kinds with :func:`register_network`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import sumolib
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from scenarios._fields import AS_TUPLE, RouteFile, ScenarioFile, sumo_xml
from scenarios._limits import MAX_BLOCK_LENGTH_M, MAX_GRID_JUNCTIONS, MAX_GRID_LANES
from v2x._cache import cache_dir
from v2x.errors import ConfigError, SumoError
from v2x.geo import GeoFrame

__all__ = [
    "ARMS",
    "NETWORK_BUILDERS",
    "NETWORK_MODELS",
    "GeoAnchor",
    "GridNetwork",
    "HighwayNetwork",
    "IntersectionNetwork",
    "NetworkConfig",
    "PathNetwork",
    "RoadNetwork",
    "build_network",
    "grid_junction_ids",
    "ite_red_clearance_s",
    "ite_yellow_s",
    "parse_network",
    "register_network",
    "sumo_version",
]

_BUILDER_VERSION = "2"

#: Arms of an intersection clockwise from north; a 3-arm intersection has no ``N``.
ARMS: tuple[str, ...] = ("N", "E", "S", "W")
_ARM_VECTOR = {"N": (0.0, 1.0), "E": (1.0, 0.0), "S": (0.0, -1.0), "W": (-1.0, 0.0)}
_SIDEWALK_WIDTH_M = 2.0

#: ITE yellow change interval parameters: perception-reaction time [s], deceleration [m/s²]
ITE_REACTION_S = 1.0
ITE_DECEL_MPS2 = 3.05
_G = 9.80665


def ite_yellow_s(speed_mps: float, *, reaction_s: float = ITE_REACTION_S,
                 decel_mps2: float = ITE_DECEL_MPS2, grade: float = 0.0) -> float:
    """ITE yellow change interval ``t_y = t_r + v / (2a + 2Gg)`` [s].

    Args:
        speed_mps: approach speed ``v`` [m/s] (the speed limit of generated networks).
        reaction_s: perception-reaction time ``t_r`` [s], ITE 1 s.
        decel_mps2: deceleration ``a`` [m/s²], ITE 10 ft/s² = 3.05 m/s².
        grade: approach grade ``g`` [m/m], uphill positive.

    Source: ITE, "Guidelines for Determining Traffic Signal Change and Clearance Intervals"
    (2020); ITE Traffic Engineering Handbook. 60 km/h -> 3.73 s, 50 km/h -> 3.28 s.
    """
    return reaction_s + speed_mps / (2.0 * decel_mps2 + 2.0 * _G * grade)


#: ITE red clearance: the length of the clearing vehicle, 20 ft [m]
ITE_VEHICLE_LENGTH_M = 6.1


def ite_red_clearance_s(width_m: float, speed_mps: float, *,
                        vehicle_length_m: float = ITE_VEHICLE_LENGTH_M) -> float:
    """ITE red clearance (all-red) interval ``r = (W + L) / v`` [s].

    Args:
        width_m: ``W``, from the stop line to the far side of the last conflicting lane [m];
            generated networks take the cross road's width (all its lanes, both directions).
        speed_mps: approach speed ``v`` [m/s] (the speed limit).
        vehicle_length_m: ``L``, ITE 20 ft = 6.1 m.

    Source: ITE, "Guidelines for Determining Traffic Signal Change and Clearance Intervals"
    (2020). Two lanes each way of 3.5 m at 60 km/h: (14 + 6.1) / 16.67 = 1.21 s.
    """
    return (width_m + vehicle_length_m) / speed_mps


class _Network(BaseModel):
    # as every section (scenarios._fields.Section): nothing converted silently ("2" is no
    # lane count), no NaN or infinity
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class GridNetwork(_Network):
    """A generated grid of ``junctions_x x junctions_y`` signalized junctions (netgenerate)."""

    kind: Literal["grid"] = "grid"
    junctions_x: int = Field(4, ge=2, le=MAX_GRID_JUNCTIONS,
                             description="junctions along x (at most 16: 256 RSUs)")
    junctions_y: int = Field(4, ge=2, le=MAX_GRID_JUNCTIONS,
                             description="junctions along y (at most 16: 256 RSUs)")
    block_length_m: float = Field(400.0, ge=20.0, le=MAX_BLOCK_LENGTH_M,
                                  description="junction spacing [m] (along x, and y unless "
                                              "block_length_y_m)")
    block_length_y_m: float | None = Field(
        None, ge=20.0, le=MAX_BLOCK_LENGTH_M,
        description="junction spacing along y [m]; default block_length_m (3GPP urban grid: "
                    "433 x 250 m blocks)")
    attach_length_m: float = Field(250.0, ge=20.0, le=MAX_BLOCK_LENGTH_M,
                                   description="length of the fringe edges [m]")
    lanes: int = Field(2, ge=1, le=MAX_GRID_LANES, description="lanes per direction")
    lane_width_m: float = Field(3.5, ge=2.0, le=6.0, description="lane width [m]")
    speed_limit_kmh: float = Field(60.0, ge=5.0, le=200.0, description="speed limit [km/h]")
    signal: Literal["static", "actuated", "delay_based"] = Field(
        "static", description="SUMO tlLogic type of the signalized junctions")
    yellow_s: int | None = Field(None, ge=1, le=10, description="yellow time [s]; default ITE")
    all_red_s: int | None = Field(None, ge=0, le=10,
                                  description="all-red time [s]; default ITE red clearance")
    crosswalks: bool = Field(False, description="sidewalks (lane 0) and crossings everywhere")


class RoadNetwork(_Network):
    """A straight road of ``length_m`` along +x, optionally with opposing lanes."""

    kind: Literal["road"]
    length_m: float = Field(1000.0, ge=20.0, le=100_000.0, description="road length [m]")
    lanes: int = Field(2, ge=1, le=8, description="lanes in the forward (eastbound) direction")
    opposing: bool = Field(True, description="lanes in the other (westbound) direction too")
    opposing_lanes: int | None = Field(None, ge=1, le=8,
                                       description="westbound lanes; default = lanes")
    lane_width_m: float = Field(3.5, ge=2.0, le=6.0, description="lane width [m]")
    speed_limit_kmh: float = Field(80.0, ge=5.0, le=200.0, description="speed limit [km/h]")
    segments: int = Field(1, ge=1, le=100, description="edges per direction (equal lengths)")
    sidewalks: bool = Field(False, description="a sidewalk as lane 0 of every edge")


class HighwayNetwork(_Network):
    """The 3GPP TR 37.885 (section 6.1.2) highway: a straight road of ``length_m`` along +x with
    ``lanes`` lanes each way (TR 37.885: 3 lanes per direction, 4 m lanes, >= 2000 m, 140 km/h
    or 70 km/h; the speed is the lanes' limit, the density demand's drivers keep to it)."""

    kind: Literal["highway"]
    length_m: float = Field(5000.0, ge=200.0, le=100_000.0,
                            description="road length [m] (TR 37.885: >= 2000 m with "
                                        "wrap-around; without it, measure in the centre)")
    lanes: int = Field(3, ge=1, le=MAX_GRID_LANES, description="lanes per direction")
    lane_width_m: float = Field(4.0, ge=2.0, le=6.0, description="lane width [m]")
    speed_limit_kmh: float = Field(140.0, ge=5.0, le=200.0, description="speed limit [km/h]")
    segments: int = Field(1, ge=1, le=100, description="edges per direction (equal lengths)")


class IntersectionNetwork(_Network):
    """One junction ``C`` with 3 or 4 perpendicular arms."""

    kind: Literal["intersection"]
    arms: Literal[3, 4] = Field(4, description="4: N, E, S, W; 3 (T junction): E, S, W")
    arm_length_m: float = Field(200.0, ge=20.0, le=5000.0, description="arm length [m]")
    lanes: int = Field(2, ge=1, le=6, description="through lanes per direction and arm")
    left_turn_lane: bool = Field(False, description="an extra leftmost lane for left turns")
    lane_width_m: float = Field(3.5, ge=2.0, le=6.0, description="lane width [m]")
    speed_limit_kmh: float = Field(50.0, ge=5.0, le=200.0, description="speed limit [km/h]")
    signalized: bool = Field(True, description="a traffic light at C")
    signal: Literal["static", "actuated", "delay_based"] = Field(
        "static", description="SUMO tlLogic type when signalized")
    signal_layout: Literal["opposites", "incoming"] = Field(
        "opposites", description="phases: opposite arms together, or one arm at a time")
    yellow_s: int | None = Field(None, ge=1, le=10, description="yellow time [s]; default ITE")
    all_red_s: int | None = Field(None, ge=0, le=10,
                                  description="all-red time [s]; default ITE red clearance")
    priority: Literal["EW", "NS", "right_before_left", "allway_stop"] = Field(
        "EW", description="unsignalized: the major road (EW or NS), or the junction rule")
    crosswalks: bool = Field(False, description="sidewalks and a crossing on every arm")
    sidewalks: bool = Field(False, description="sidewalks (lane 0) without crossings")


def _geo_referenced(path: Path) -> Path:
    """A ``path`` network must say where it lies (its ``<location>`` projection)."""
    try:
        GeoFrame.from_net(str(path))
    except ConfigError as exc:
        raise ValueError(f"{exc.message}: {path}") from None
    return path


#: an existing SUMO network: a whole ``<net>`` XML file, geo-referenced
NetFile = Annotated[ScenarioFile, sumo_xml(("net",), "SUMO network"),
                    AfterValidator(_geo_referenced)]


class PathNetwork(_Network):
    """An existing, geo-referenced SUMO network. ``kind = "file"`` is an alias.

    ``route_files`` are SUMO route files (vehicles, persons, vTypes) loaded with it, in order;
    relative paths are resolved against the scenario folder (validation context ``folder``)
    and must exist.
    """

    kind: Literal["path", "file"]
    path: NetFile = Field(description="the .net.xml (relative to the scenario folder); "
                                      "whole, well-formed and geo-referenced")
    route_files: Annotated[tuple[RouteFile, ...], AS_TUPLE] = Field(
        (), description="SUMO route files loaded with it")

    @field_validator("kind")
    @classmethod
    def _alias(cls, value: str) -> str:
        return "path"


#: The ``[network]`` table: one of the built-in kinds, told apart by ``kind``.
NetworkConfig = Annotated[GridNetwork | RoadNetwork | HighwayNetwork | IntersectionNetwork
                          | PathNetwork, Field(discriminator="kind")]


class GeoAnchor(Protocol):
    """What a builder needs of ``[geo]``: the anchor [deg] and the projected CRS."""

    @property
    def anchor_lat(self) -> float: ...
    @property
    def anchor_lon(self) -> float: ...
    @property
    def crs(self) -> str: ...


#: A builder writes the (cartesian or geo-referenced) network of its configuration into the
#: given empty folder and returns its path.
Builder = Callable[[Any, Path], Path]


@dataclass(frozen=True)
class _Kind:
    model: type[BaseModel]
    builder: Builder
    cached: bool


_KINDS: dict[str, _Kind] = {}
#: kind name -> builder ``(config, folder) -> .net.xml`` (see :func:`register_network`)
NETWORK_BUILDERS: dict[str, Builder] = {}
#: kind name -> configuration model
NETWORK_MODELS: dict[str, type[BaseModel]] = {}


def register_network(kind: str, model: type[BaseModel], builder: Builder, *,
                     cached: bool = True) -> None:
    """Register a network kind: ``[network] kind = "<kind>"`` is validated by ``model`` and
    built by ``builder(config, folder) -> Path``.

    The builder writes into ``folder`` (empty, temporary) and returns the ``.net.xml``. A network
    without a projection (``projParameter="!"``) is geo-referenced at the anchor afterwards.
    ``cached=False`` for kinds that return an existing file (as ``path`` does).

    Raises:
        ValueError: ``kind`` is already registered.
    """
    if kind in _KINDS:
        raise ValueError(f"network kind {kind!r} is already registered")
    _KINDS[kind] = _Kind(model, builder, cached)
    NETWORK_BUILDERS[kind] = builder
    NETWORK_MODELS[kind] = model


def parse_network(data: Mapping[str, Any], *, file: object | None = None) -> BaseModel:
    """Validate a ``[network]`` table by its ``kind`` (default ``"grid"``; ``"file"`` =
    ``"path"``) with the registered model, user kinds included.

    Raises:
        ConfigError: unknown kind or invalid key; names ``file``, ``network.<key>``, value.
    """
    kind = data.get("kind", "grid")
    name = "path" if kind == "file" else kind
    if name not in NETWORK_MODELS:
        raise ConfigError(f"unknown network kind (known: {', '.join(sorted(NETWORK_MODELS))})",
                          file=file, key="network.kind", value=kind)
    try:
        return NETWORK_MODELS[name].model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(err["msg"], file=file, key=f"network.{loc}" if loc else "network",
                          value=err.get("input")) from exc


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


def build_network(cfg: Any, out_dir: Path | None, geo: GeoAnchor | None) -> Path:
    """Build (or take from the cache) the ``.net.xml`` of a network configuration.

    Args:
        cfg: a registered kind's model (e.g. :class:`IntersectionNetwork`), or the dataclass
            ``NetworkConfig`` of the pre-pydantic scenario model (kind ``grid`` / ``file``).
        out_dir: copy the network there as ``<kind>.net.xml`` and return that path; ``None``
            returns the cached file (``path``: the file itself).
        geo: the anchor ``[geo]``; needed by generated kinds.

    Raises:
        ConfigError: unknown kind, no ``geo`` for a generated kind, an existing network that is
            missing or not geo-referenced.
        SumoError: netgenerate / netconvert failed (their output is in the message).
    """
    cfg = _as_model(cfg)
    kind = _KINDS.get(cfg.kind)
    if kind is None:
        raise ConfigError(f"unknown network kind (known: {', '.join(sorted(_KINDS))})",
                          key="network.kind", value=cfg.kind)
    if not kind.cached:
        net = kind.builder(cfg, Path(tempfile.gettempdir()))
    else:
        if geo is None:
            raise ConfigError(f"a generated network ({cfg.kind}) needs [geo] anchor_lat, "
                              "anchor_lon", key="geo")
        net = _generated(cfg, kind.builder, geo)
    if out_dir is None:
        return net
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{cfg.kind}.net.xml"
    shutil.copyfile(net, target)
    return target


def _as_model(cfg: Any) -> BaseModel:
    """A network kind's validated model (a ConfigError for anything else)."""
    if isinstance(cfg, BaseModel):
        return cfg
    raise ConfigError(f"not a network configuration: {cfg!r}", key="network", value=cfg)


def _generated(cfg: BaseModel, builder: Builder, geo: GeoAnchor) -> Path:
    payload = {"builder": _BUILDER_VERSION, "sumo": sumo_version(),
               "network": cfg.model_dump(mode="json"),
               "geo": {"lat": geo.anchor_lat, "lon": geo.anchor_lon, "crs": geo.crs}}
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    folder = cache_dir() / "net" / hashlib.sha256(blob).hexdigest()[:20]
    target = folder / f"{getattr(cfg, 'kind')}.net.xml"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="v2x-net-") as tmpd:
        raw = builder(cfg, Path(tmpd))
        out = Path(tmpd) / "georeferenced.net.xml"
        if _has_projection(raw):
            shutil.copyfile(raw, out)
        else:
            _georeference(raw, out, geo)
        publish(out, target)
    return target


def publish(tmp: Path, target: Path) -> None:
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
    import subprocess

    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SumoError(f"{what} could not run: {exc}") from exc
    if proc.returncode != 0:
        tail = _without_traceback((proc.stderr or proc.stdout).strip())[-2000:]
        raise SumoError(f"{what} failed with exit code {proc.returncode}:\n{tail}")
    return proc.stdout


def _without_traceback(output: str) -> str:
    """A SUMO tool's output with a Python traceback (``randomTrips.py`` and the other tools
    are Python scripts) cut down to its last line, the exception: the user reads what went
    wrong, not 25 lines of the tool's call stack."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if not starts:
        return output
    kept = [line for line in lines[:starts[0]] if line.strip()]
    last = next((line for line in reversed(lines) if line.strip()), "")
    return "\n".join([*kept, last])


def _has_projection(net: Path) -> bool:
    with open(net, encoding="utf-8") as fh:
        head = fh.read(1 << 16)
    m = re.search(r'<location [^>]*projParameter="([^"]*)"', head)
    return m is not None and m.group(1) != "!"


def _georeference(raw: Path, out: Path, geo: GeoAnchor) -> None:
    """Write ``<location>`` so the centre of the network boundary lands on the anchor."""
    text = raw.read_text(encoding="utf-8")
    m = re.search(r"<location [^>]*/>", text)
    if m is None:
        raise SumoError(f"SUMO wrote no <location> element in {raw}")
    conv = re.search(r'convBoundary="([^"]+)"', m.group(0))
    if conv is None:
        raise SumoError(f"no convBoundary in {m.group(0)}")
    x0, y0, x1, y1 = (float(v) for v in conv.group(1).split(","))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    frame = GeoFrame(crs=geo.crs)
    e0, n0 = frame.project(geo.anchor_lat, geo.anchor_lon)
    ox, oy = -(e0 - cx), -(n0 - cy)
    proj = _proj4(geo.crs)
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


def _yellow(cfg: Any) -> int:
    if cfg.yellow_s is not None:
        return int(cfg.yellow_s)
    return math.ceil(ite_yellow_s(cfg.speed_limit_kmh / 3.6) - 1e-9)


def _tls_options(cfg: Any, cross_width_m: float) -> list[str]:
    if cfg.all_red_s is not None:
        red = int(cfg.all_red_s)
    else:
        red = math.ceil(ite_red_clearance_s(cross_width_m, cfg.speed_limit_kmh / 3.6) - 1e-9)
    out = ["--tls.yellow.time", str(_yellow(cfg))]
    if red > 0:  # netconvert 1.28 turns an explicit 0 into a 1 s all-red phase
        out += ["--tls.allred.time", str(red)]
    return out


# -- built-in builders ----------------------------------------------------------------------

def _build_grid(cfg: GridNetwork, folder: Path) -> Path:
    tls = grid_junction_ids(cfg.junctions_x, cfg.junctions_y)
    raw = folder / "grid.net.xml"
    cmd = [sumolib.checkBinary("netgenerate"), "--grid",
           "--grid.x-number", str(cfg.junctions_x), "--grid.y-number", str(cfg.junctions_y),
           *(["--grid.length", str(cfg.block_length_m)] if cfg.block_length_y_m is None
             else ["--grid.x-length", str(cfg.block_length_m),
                   "--grid.y-length", str(cfg.block_length_y_m)]),
           "--grid.attach-length", str(cfg.attach_length_m),
           "--default.lanenumber", str(cfg.lanes),
           "--default.lanewidth", str(cfg.lane_width_m),
           "--default.speed", f"{cfg.speed_limit_kmh / 3.6:.4f}",
           "--default.junctions.type", "priority",
           "--tls.set", ",".join(tls), "--tls.default-type", cfg.signal,
           *_tls_options(cfg, 2 * cfg.lanes * cfg.lane_width_m),
           "--no-turnarounds", "true",
           "--seed", "1", "--output-file", str(raw)]
    if cfg.crosswalks:
        cmd += ["--sidewalks.guess", "true", "--sidewalks.guess.max-speed", "100",
                "--default.sidewalk-width", str(_SIDEWALK_WIDTH_M),
                "--crossings.guess", "true"]
    _run(cmd, what="netgenerate")
    return raw


def _edge(root: ET.Element, eid: str, src: str, dst: str, lanes: int, cfg: Any, *,
          sidewalk: bool, priority: int = 1) -> None:
    attrs = {"id": eid, "from": src, "to": dst, "numLanes": str(lanes + int(sidewalk)),
             "speed": f"{cfg.speed_limit_kmh / 3.6:.4f}", "width": str(cfg.lane_width_m),
             "priority": str(priority)}
    edge = ET.SubElement(root, "edge", attrs)
    if sidewalk:
        ET.SubElement(edge, "lane", {"index": "0", "allow": "pedestrian",
                                     "width": str(_SIDEWALK_WIDTH_M)})
        for i in range(1, lanes + 1):
            ET.SubElement(edge, "lane", {"index": str(i), "disallow": "pedestrian"})


def _netconvert(folder: Path, nodes: ET.Element, edges: ET.Element,
                connections: ET.Element | None, extra: list[str]) -> Path:
    files = {"nodes": nodes, "edges": edges}
    if connections is not None:
        files["connections"] = connections
    paths = {}
    for name, root in files.items():
        ET.indent(root)
        p = folder / f"plain.{name[:3]}.xml"
        ET.ElementTree(root).write(p, encoding="utf-8", xml_declaration=True)
        paths[name] = p
    out = folder / "generated.net.xml"
    cmd = [sumolib.checkBinary("netconvert"),
           "--node-files", str(paths["nodes"]), "--edge-files", str(paths["edges"]),
           "--no-turnarounds", "true", "--offset.disable-normalization", "true",
           "--output-file", str(out), *extra]
    if "connections" in paths:
        cmd += ["--connection-files", str(paths["connections"])]
    _run(cmd, what="netconvert")
    return out


def _build_road(cfg: RoadNetwork, folder: Path) -> Path:
    nodes = ET.Element("nodes")
    edges = ET.Element("edges")
    n = cfg.segments
    seg = cfg.length_m / n
    for i in range(n + 1):
        ET.SubElement(nodes, "node", {"id": f"R{i}", "x": repr(i * seg - cfg.length_m / 2),
                                      "y": "0.0", "type": "priority"})
    back = cfg.opposing_lanes or cfg.lanes
    for i in range(n):
        _edge(edges, f"fwd{i}", f"R{i}", f"R{i + 1}", cfg.lanes, cfg, sidewalk=cfg.sidewalks)
        if cfg.opposing:
            _edge(edges, f"bwd{i}", f"R{i + 1}", f"R{i}", back, cfg, sidewalk=cfg.sidewalks)
    return _netconvert(folder, nodes, edges, None, [])


def _build_highway(cfg: HighwayNetwork, folder: Path) -> Path:
    """The highway is a road with opposing lanes: the same nodes, edges and ids."""
    return _build_road(RoadNetwork(kind="road", length_m=cfg.length_m, lanes=cfg.lanes,
                                   opposing=True, lane_width_m=cfg.lane_width_m,
                                   speed_limit_kmh=cfg.speed_limit_kmh,
                                   segments=cfg.segments), folder)


def _build_intersection(cfg: IntersectionNetwork, folder: Path) -> Path:
    arms = ARMS if cfg.arms == 4 else ARMS[1:]
    nodes = ET.Element("nodes")
    edges = ET.Element("edges")
    if cfg.signalized:
        centre = {"type": "traffic_light", "tlType": cfg.signal}
    elif cfg.priority in ("right_before_left", "allway_stop"):
        centre = {"type": cfg.priority}
    else:
        centre = {"type": "priority"}
    ET.SubElement(nodes, "node", {"id": "C", "x": "0.0", "y": "0.0", **centre})
    sidewalk = cfg.sidewalks or cfg.crosswalks
    for arm in arms:
        dx, dy = _ARM_VECTOR[arm]
        ET.SubElement(nodes, "node", {"id": arm, "x": repr(dx * cfg.arm_length_m),
                                      "y": repr(dy * cfg.arm_length_m), "type": "priority"})
        major = (arm in "EW") == (cfg.priority != "NS")
        prio = 2 if major else 1
        lanes_in = cfg.lanes + int(cfg.left_turn_lane and _left_of(arm) in arms)
        _edge(edges, f"{arm}_in", arm, "C", lanes_in, cfg, sidewalk=sidewalk, priority=prio)
        _edge(edges, f"{arm}_out", "C", arm, cfg.lanes, cfg, sidewalk=sidewalk, priority=prio)
    connections = ET.Element("connections")  # written only when it holds something
    if cfg.left_turn_lane:
        _turn_lane_connections(connections, arms, cfg.lanes, int(sidewalk))
    if cfg.crosswalks:
        for arm in arms:
            ET.SubElement(connections, "crossing",
                          {"node": "C", "edges": f"{arm}_in {arm}_out", "priority": "true"})
    width = (2 * cfg.lanes + int(cfg.left_turn_lane)) * cfg.lane_width_m
    extra = ["--tls.layout", cfg.signal_layout, *_tls_options(cfg, width)] \
        if cfg.signalized else []
    return _netconvert(folder, nodes, edges, connections if len(connections) else None, extra)


def _left_of(arm: str) -> str:
    """The arm a vehicle entering from ``arm`` reaches by turning left."""
    return ARMS[(ARMS.index(arm) + 1) % 4]


def _turn_lane_connections(root: ET.Element, arms: tuple[str, ...], lanes: int,
                           off: int) -> None:
    """Lanes of ``<arm>_in`` with a left-turn lane: lane i (0 .. lanes-1) goes straight to lane
    i, the rightmost also turns right, the leftmost (``lanes``) turns left into the leftmost
    lane. Where the straight arm is missing (T junction), the through lanes turn right (lane 0)
    or left (the others). ``off`` is 1 when lane 0 is a sidewalk."""
    for arm in arms:
        k = ARMS.index(arm)
        right, straight, left = ARMS[(k - 1) % 4], ARMS[(k + 2) % 4], ARMS[(k + 1) % 4]

        def con(lane: int, to: str, to_lane: int, *, src: str = arm) -> None:
            ET.SubElement(root, "connection", {"from": f"{src}_in", "to": f"{to}_out",
                                               "fromLane": str(lane + off),
                                               "toLane": str(to_lane + off)})

        for i in range(lanes):
            if straight in arms:
                con(i, straight, i)
            elif i > 0 and left in arms:
                con(i, left, i)
        if right in arms:
            con(0, right, 0)
        if left in arms:
            con(lanes, left, lanes - 1)


def _build_path(cfg: PathNetwork, folder: Path) -> Path:
    del folder
    if not cfg.path.is_file():
        raise ConfigError(f"network file not found: {cfg.path}", key="network.path",
                          value=str(cfg.path))
    GeoFrame.from_net(str(cfg.path))  # raises ConfigError if not geo-referenced
    return cfg.path


register_network("grid", GridNetwork, _build_grid)
register_network("road", RoadNetwork, _build_road)
register_network("highway", HighwayNetwork, _build_highway)
register_network("intersection", IntersectionNetwork, _build_intersection)
register_network("path", PathNetwork, _build_path, cached=False)
