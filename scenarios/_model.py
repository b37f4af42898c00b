"""The scenario format: one folder per scenario with a ``scenario.toml``.

Loading validates every key and fails with a :class:`~v2x.errors.ConfigError` that names the
file, the dotted key and the bad value. Unknown keys are errors too (a typo must not silently
fall back to a default). The library's scenarios live in ``scenarios/library/<id>/``.

Keys (see ``scenarios/library/xiqing-south-station/scenario.toml`` for a full example):

=========================  ==================================================================
``id``, ``title``          stable scenario id (``[a-z0-9-]+``) and a title (``title_zh`` too)
``tags``                   list of strings, used by ``v2x list`` and ``v2x suite --tag``
``start``                  ISO 8601 instant with offset, Beijing time (``+08:00``)
``duration``, ``step``     durations with units (``"300 s"``, ``"100 ms"``)
``seed``                   integer; ``v2x run --seed`` overrides it
``[geo]``                  ``anchor_lat``, ``anchor_lon`` [deg], ``crs`` (default EPSG:32650)
``[network]``              ``kind = "grid"`` with grid parameters, or ``path`` to a ``.net.xml``
``[demand]``               ``begin``, ``end``, ``penetration``, ``[demand.vehicles_per_hour]``
``[rsu]``                  ``at = "signalized"`` or a list of junction ids, periods, height
``[obu]``                  ``bsm_period``, ``antenna_height_m``
``[channel]``              ``type`` (a registered model name) and its parameters
``[applications.fcw]``     ``enabled``, ``ttc_threshold_s``
``[recording]``            ``reception_sample``, ``prr_bin_m``, ``prr_max_m``, ``latency_bin``
``[[events]]``             scripted events: ``at``, ``kind = "stop"``, ``vehicle``, ``decel``,
                           ``hold``
``[[criteria]]``           ``name``, ``kpi``, ``op``, ``value`` (verdicts in the report)
=========================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scenarios._vtypes import VEHICLE_CLASSES
from v2x.errors import ConfigError
from v2x.units import format_duration, parse_duration

__all__ = [
    "ChannelConfig",
    "Criterion",
    "DemandConfig",
    "FcwConfig",
    "GeoConfig",
    "NetworkConfig",
    "ObuConfig",
    "RecordingConfig",
    "RsuConfig",
    "Scenario",
    "ScriptedEvent",
    "load_scenario",
]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_OPS = ("<", "<=", ">", ">=", "==", "!=")


@dataclass(frozen=True)
class GeoConfig:
    """Geo anchor of a generated network: its centre sits at (anchor_lat, anchor_lon) [deg]."""

    anchor_lat: float
    anchor_lon: float
    crs: str = "EPSG:32650"


@dataclass(frozen=True)
class NetworkConfig:
    """A generated grid (``kind = "grid"``) or an existing SUMO network (``path``)."""

    kind: str = "grid"
    path: Path | None = None
    junctions_x: int = 4
    junctions_y: int = 4
    block_length_m: float = 400.0
    attach_length_m: float = 250.0
    lanes: int = 2
    lane_width_m: float = 3.5
    speed_limit_kmh: float = 60.0
    signal: str = "static"


@dataclass(frozen=True)
class DemandConfig:
    """Random trips per vehicle class over the departure window ``[begin_ns, end_ns)``."""

    begin_ns: int
    end_ns: int
    penetration: float = 1.0
    vehicles_per_hour: Mapping[str, float] = field(default_factory=dict)
    route_files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RsuConfig:
    """Roadside units. ``at`` is ``"signalized"`` or a tuple of SUMO junction ids."""

    at: str | tuple[str, ...] = "signalized"
    antenna_height_m: float = 6.0
    spat_period_ns: int = 100_000_000
    map_period_ns: int = 1_000_000_000
    forward: bool = True


@dataclass(frozen=True)
class ObuConfig:
    """On-board units: BSM period and antenna height."""

    bsm_period_ns: int = 100_000_000
    antenna_height_m: float = 1.5


@dataclass(frozen=True)
class ChannelConfig:
    """A channel model chosen by name (``type``) with its parameters."""

    type: str = "tr37885-urban"
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FcwConfig:
    """Forward collision warning settings."""

    enabled: bool = True
    ttc_threshold_s: float = 2.7


@dataclass(frozen=True)
class RecordingConfig:
    """What the recorder keeps; see ``docs/recording.md``."""

    reception_sample: float = 0.05
    prr_bin_m: float = 20.0
    prr_max_m: float = 500.0
    latency_bin_ns: int = 100_000
    trajectories: bool = True


@dataclass(frozen=True)
class ScriptedEvent:
    """A scripted event: at ``at_ns`` vehicle ``vehicle`` brakes to a stop with ``decel``
    [m/s²] and holds for ``hold_ns``."""

    at_ns: int
    kind: str
    vehicle: str
    decel: float = 6.0
    hold_ns: int = 5_000_000_000


@dataclass(frozen=True)
class Criterion:
    """A pass/fail criterion on a KPI of the evaluation (see :mod:`analysis`)."""

    name: str
    kpi: str
    op: str
    value: float


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``folder`` is where relative paths are resolved."""

    id: str
    title: str
    folder: Path
    start: dt.datetime
    duration_ns: int
    step_ns: int
    seed: int
    geo: GeoConfig
    network: NetworkConfig
    demand: DemandConfig
    rsu: RsuConfig = RsuConfig()
    obu: ObuConfig = ObuConfig()
    channel: ChannelConfig = ChannelConfig()
    fcw: FcwConfig = FcwConfig()
    recording: RecordingConfig = RecordingConfig()
    events: tuple[ScriptedEvent, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    tags: tuple[str, ...] = ()
    title_zh: str = ""

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with top-level fields replaced (e.g. ``seed``)."""
        return replace(self, **changes)


def _check_crs(g: _Table, crs: str) -> None:
    """The network's projection must be a projected CRS in metres (SUMO x/y are metres)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        c = CRS.from_user_input(crs)
    except CRSError as exc:
        raise g.fail("crs", f"not a coordinate reference system pyproj knows: {exc}",
                     crs) from exc
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if not c.is_projected or unit not in ("metre", "meter"):
        raise g.fail("crs", "must be a projected CRS in metres, e.g. EPSG:32650 (UTM 50N)", crs)


_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2261, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


class _Table:
    """Reads one TOML table, checking types and remembering which keys were used."""

    def __init__(self, data: Mapping[str, Any], path: str, file: Path) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a table, got {type(data).__name__}",
                              file=file, key=path or None, value=data)
        self.data = data
        self.path = path
        self.file = file
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, message: str, value: Any) -> ConfigError:
        return ConfigError(message, file=self.file, key=self.key(name), value=value)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(name)
        if name not in self.data:
            if default is ...:
                raise ConfigError("required key is missing", file=self.file, key=self.key(name))
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(name, f"expected {names}, got {value!r}", value)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(name, f"expected a finite number, got {value!r}", value)
        return value

    def number(self, name: str, default: Any = ..., *, lo: float | None = None,
               hi: float | None = None, lo_open: bool = False) -> float:
        value = self.get(name, float, default)
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise self.fail(name, f"must be {'>' if lo_open else '>='} {lo}, got {value!r}", value)
        if hi is not None and value > hi:
            raise self.fail(name, f"must be <= {hi}, got {value!r}", value)
        return float(value)

    def integer(self, name: str, default: Any = ..., *, lo: int | None = None) -> int:
        value = self.get(name, int, default)
        if lo is not None and value < lo:
            raise self.fail(name, f"must be >= {lo}, got {value!r}", value)
        return int(value)

    def duration(self, name: str, default: Any = ..., *, positive: bool = True,
                 lo: int | None = None, hi: int | None = None) -> int:
        raw = self.get(name, str, default)
        if raw is default and not isinstance(raw, str):
            return int(raw)
        ns = parse_duration(raw, key=self.key(name), file=self.file)
        if positive and ns <= 0:
            raise self.fail(name, f"must be a positive duration, got {raw!r}", raw)
        if (lo is not None and ns < lo) or (hi is not None and ns > hi):
            raise self.fail(name, f"must lie between {format_duration(lo or 0)} and "
                            f"{format_duration(hi) if hi is not None else 'any'}, got {raw!r}",
                            raw)
        return ns

    def table(self, name: str) -> _Table:
        return _Table(self.get(name, dict, {}), self.key(name), self.file)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"unknown key (known: {', '.join(sorted(self.used))})",
                              file=self.file, key=self.key(unknown[0]),
                              value=self.data[unknown[0]])


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario from a folder or its ``scenario.toml``.

    Raises:
        ConfigError: the file is missing, is not valid TOML, or a key is missing, unknown or
            invalid; the message names the file, the dotted key and the bad value.
    """
    path = Path(path)
    file = path / "scenario.toml" if path.is_dir() else path
    if not file.is_file():
        raise ConfigError("scenario file not found", file=file)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc}", file=file) from exc
    return _parse(raw, file)


def _parse(raw: Mapping[str, Any], file: Path) -> Scenario:
    folder = file.parent
    top = _Table(raw, "", file)
    sid = top.get("id", str)
    if not _ID.match(sid):
        raise top.fail("id", "must match [a-z0-9][a-z0-9-]*", sid)
    title = top.get("title", str, sid)
    title_zh = top.get("title_zh", str, "")
    tags = top.get("tags", list, [])
    if not all(isinstance(t, str) for t in tags):
        raise top.fail("tags", "must be a list of strings", tags)
    start_raw = top.get("start", (str, dt.datetime))
    if isinstance(start_raw, str):
        try:
            start = dt.datetime.fromisoformat(start_raw)
        except ValueError as exc:
            raise top.fail("start", "not an ISO 8601 instant", start_raw) from exc
    else:
        start = start_raw
    if start.tzinfo is None:
        raise top.fail("start", "needs a UTC offset, e.g. '2026-06-01T08:00:00+08:00'", start_raw)
    if not _EARLIEST <= start <= _LATEST:  # secMark, MinuteOfTheYear: int64 ns since 1970
        raise top.fail("start", "must lie between 1970 and 2261", start_raw)
    duration_ns = top.duration("duration")
    step_ns = top.duration("step", "100 ms")
    if duration_ns % step_ns:
        raise top.fail("duration", "must be a whole number of steps", top.data["duration"])
    if step_ns % 1_000_000:
        raise top.fail("step", "must be a whole number of milliseconds", top.data.get("step"))
    seed = top.integer("seed", 0, lo=0)
    if seed > 2**31 - 1:  # SUMO's --seed is a C int
        raise top.fail("seed", "must be at most 2147483647", seed)

    g = top.table("geo")
    geo = GeoConfig(anchor_lat=g.number("anchor_lat", lo=-90, hi=90),
                    anchor_lon=g.number("anchor_lon", lo=-180, hi=180),
                    crs=g.get("crs", str, "EPSG:32650"))
    _check_crs(g, geo.crs)
    g.finish()

    network = _network(top.table("network"), folder)
    demand = _demand(top.table("demand"), folder)

    r = top.table("rsu")
    at = r.get("at", (str, list), "signalized")
    if isinstance(at, str) and at != "signalized":
        raise r.fail("at", "must be 'signalized' or a list of junction ids", at)
    if isinstance(at, list):
        if not at or not all(isinstance(a, str) for a in at):
            raise r.fail("at", "must be a non-empty list of junction id strings", at)
        if len(set(at)) != len(at):
            dup = next(a for a in at if at.count(a) > 1)
            raise r.fail("at", f"names junction {dup!r} twice (one RSU per junction)", at)
        at = tuple(at)
    rsu = RsuConfig(at=at, antenna_height_m=r.number("antenna_height_m", 6.0, lo=0.0),
                    spat_period_ns=_period(r, "spat_period", "100 ms", step_ns),
                    map_period_ns=_period(r, "map_period", "1 s", step_ns),
                    forward=r.get("forward", bool, True))
    r.finish()

    o = top.table("obu")
    obu = ObuConfig(bsm_period_ns=_period(o, "bsm_period", "100 ms", step_ns),
                    antenna_height_m=o.number("antenna_height_m", 1.5, lo=0.0))
    o.finish()

    c = top.table("channel")
    ctype = c.get("type", str, "tr37885-urban")
    channel = ChannelConfig(type=ctype, params={k: v for k, v in c.data.items() if k != "type"})

    apps = top.table("applications")
    f = apps.table("fcw")
    fcw = FcwConfig(enabled=f.get("enabled", bool, True),
                    ttc_threshold_s=f.number("ttc_threshold_s", 2.7, lo=0.0, lo_open=True))
    f.finish()
    apps.finish()

    rc = top.table("recording")
    recording = RecordingConfig(
        reception_sample=rc.number("reception_sample", 0.05, lo=0.0, hi=1.0),
        prr_bin_m=rc.number("prr_bin_m", 20.0, lo=0.0, lo_open=True),
        prr_max_m=rc.number("prr_max_m", 500.0, lo=0.0, lo_open=True),
        latency_bin_ns=rc.duration("latency_bin", "100 us", lo=1_000, hi=10_000_000),
        trajectories=rc.get("trajectories", bool, True),
    )
    if recording.prr_bin_m > recording.prr_max_m:
        raise rc.fail("prr_bin_m", f"is wider than prr_max_m ({recording.prr_max_m} m)",
                      recording.prr_bin_m)
    if recording.prr_max_m / recording.prr_bin_m > 10_000:
        raise rc.fail("prr_bin_m", "too many distance bins (prr_max_m / prr_bin_m > 10000)",
                      recording.prr_bin_m)
    rc.finish()

    events = tuple(_event(_Table(e, f"events[{i}]", file), duration_ns)
                   for i, e in enumerate(top.get("events", list, [])))
    criteria = tuple(_criterion(_Table(e, f"criteria[{i}]", file))
                     for i, e in enumerate(top.get("criteria", list, [])))
    top.finish()
    return Scenario(id=sid, title=title, title_zh=title_zh, folder=folder, start=start,
                    duration_ns=duration_ns, step_ns=step_ns, seed=seed, geo=geo,
                    network=network, demand=demand, rsu=rsu, obu=obu, channel=channel,
                    fcw=fcw, recording=recording, events=events, criteria=criteria,
                    tags=tuple(tags))


def _period(t: _Table, name: str, default: str, step_ns: int) -> int:
    ns = t.duration(name, default)
    if ns % step_ns:
        raise t.fail(name, f"must be a multiple of the step ({step_ns // 1_000_000} ms)",
                     t.data.get(name, default))
    return ns


def _network(t: _Table, folder: Path) -> NetworkConfig:
    path_raw = t.get("path", str, None)
    kind = t.get("kind", str, "file" if path_raw else "grid")
    if kind == "file":
        if path_raw is None:
            raise ConfigError("kind 'file' needs 'path'", file=t.file, key=t.key("path"))
        path = (folder / path_raw).resolve()
        if not path.is_file():
            raise t.fail("path", f"network file not found: {path}", path_raw)
        t.finish()
        return NetworkConfig(kind="file", path=path)
    if kind != "grid":
        raise t.fail("kind", "must be 'grid' (generated) or 'file' (with path)", kind)
    net = NetworkConfig(
        kind="grid",
        junctions_x=t.integer("junctions_x", 4, lo=2),
        junctions_y=t.integer("junctions_y", 4, lo=2),
        block_length_m=t.number("block_length_m", 400.0, lo=20.0),
        attach_length_m=t.number("attach_length_m", 250.0, lo=20.0),
        lanes=t.integer("lanes", 2, lo=1),
        lane_width_m=t.number("lane_width_m", 3.5, lo=2.0, hi=6.0),
        speed_limit_kmh=t.number("speed_limit_kmh", 60.0, lo=5.0, hi=200.0),
        signal=t.get("signal", str, "static"),
    )
    if net.signal not in ("static", "actuated", "delay_based"):
        raise t.fail("signal", "must be 'static', 'actuated' or 'delay_based'", net.signal)
    t.finish()
    return net


def _demand(t: _Table, folder: Path) -> DemandConfig:
    begin = t.duration("begin", "0 s", positive=False)
    end = t.duration("end")
    if end <= begin:
        raise t.fail("end", "must be after 'begin'", t.data.get("end"))
    vph_t = t.table("vehicles_per_hour")
    vph = {}
    for name in vph_t.data:
        if name not in VEHICLE_CLASSES:
            raise vph_t.fail(name, f"unknown vehicle class (known: {', '.join(VEHICLE_CLASSES)})",
                             vph_t.data[name])
        vph[name] = vph_t.number(name, lo=0.0)
    routes = []
    for i, rf in enumerate(t.get("route_files", list, [])):
        p = (folder / str(rf)).resolve()
        if not p.is_file():
            raise ConfigError(f"route file not found: {p}", file=t.file,
                              key=f"{t.key('route_files')}[{i}]", value=rf)
        routes.append(p)
    if not vph and not routes:
        raise ConfigError("no traffic: give vehicles_per_hour or route_files",
                          file=t.file, key=t.key("vehicles_per_hour"))
    demand = DemandConfig(begin_ns=begin, end_ns=end,
                          penetration=t.number("penetration", 1.0, lo=0.0, hi=1.0),
                          vehicles_per_hour=vph, route_files=tuple(routes))
    t.finish()
    return demand


def _event(t: _Table, duration_ns: int) -> ScriptedEvent:
    kind = t.get("kind", str)
    if kind != "stop":
        raise t.fail("kind", "must be 'stop' (brake to a standstill and hold)", kind)
    at = t.duration("at", positive=False)
    if at >= duration_ns:
        raise t.fail("at", "is after the end of the scenario", t.data.get("at"))
    ev = ScriptedEvent(at_ns=at, kind=kind, vehicle=t.get("vehicle", str),
                       decel=t.number("decel", 6.0, lo=0.0, lo_open=True, hi=12.0),
                       hold_ns=t.duration("hold", "5 s"))
    t.finish()
    return ev


def _criterion(t: _Table) -> Criterion:
    kpi = t.get("kpi", str)
    op = t.get("op", str)
    if op not in _OPS:
        raise t.fail("op", f"must be one of {' '.join(_OPS)}", op)
    value = t.get("value", (int, float))
    crit = Criterion(name=t.get("name", str, f"{kpi} {op} {value}"), kpi=kpi, op=op,
                     value=float(value))
    t.finish()
    return crit
