"""The scenario format: one folder per scenario with a ``scenario.toml``.

Loading validates every key (a pydantic v2 model, :class:`Scenario`) and fails with a
:class:`~v2x.errors.ConfigError` that names the file, the dotted key (``events[2].trigger.value``)
and the bad value. Unknown keys are errors too (a typo must not silently fall back to a
default), and nothing is converted silently (``lanes = "2"`` is an error). The library's
scenarios live in ``scenarios/library/<id>/``. The same :class:`Scenario` comes from Python
with :class:`~scenarios.ScenarioBuilder`; ``v2x run --set KEY=VALUE`` and
:meth:`Scenario.with_set` override any key (:func:`apply_overrides`).

Editors check ``scenario.toml`` as it is typed against the published JSON Schema
``scenarios/scenario.schema.json`` (written by ``python -m scenarios.schema``): with Taplo or
VS Code's "Even Better TOML", put ``#:schema ../../scenario.schema.json`` (a path relative to
the file, or a URL) on the first line of the file.

Keys (durations are strings with a unit, ``"300 s"``, ``"100 ms"``, each at most 24 h; see
``scenarios/library/xiqing-south-station/scenario.toml`` for a full example; upper bounds are
marked ``<=`` and explained under "Limits" below):

==============================  ===============================================================
``id``, ``title``               stable scenario id (``[a-z0-9-]+``) and a title (default the
                                id; ``title_zh`` too)
``tags``                        list of strings, used by ``v2x list`` and ``v2x suite --tag``
``start``                       ISO 8601 instant with offset, Beijing time (``+08:00``)
``duration``, ``step``          durations; duration a whole number of steps, step a whole
                                number of ms (default ``"100 ms"``)
``seed``                        integer 0..2147483647 (SUMO's C int); ``v2x run --seed``
``zone``                        pilot zone id of the bus topics ``v2x/{zone}/...`` (default
                                ``"xiqing"``)
``[geo]``                       ``anchor_lat``, ``anchor_lon`` [deg], ``crs`` (projected, in
                                metres; default EPSG:32650, UTM 50N); the anchor must lie in
                                the CRS's area of use (EPSG:32650: 114..120 E, 0..84 N)
``[network]``                   ``kind = "grid"`` (default): ``junctions_x``, ``junctions_y``
                                (2..16, default 4), ``block_length_m`` (400, <= 5000),
                                ``block_length_y_m`` (along y; default block_length_m),
                                ``attach_length_m`` (250, <= 5000), ``lanes`` (2, <= 8),
                                ``lane_width_m`` (3.5), ``speed_limit_kmh`` (60), ``signal``
                                (``static`` | ``actuated`` | ``delay_based``);
                                ``kind = "path"``: ``path`` to a geo-referenced ``.net.xml``,
                                read whole on load (truncated, not XML or a root other than
                                ``<net>``: an error), ``route_files`` likewise
                                (``kind = "file"`` is its old name); ``road`` and
                                ``intersection``, ``highway`` (3GPP TR 37.885: 3 lanes
                                of 4 m each way, 5 km): see :mod:`scenarios._networks`
``[demand]``                    ``begin`` ("0 s"), ``end`` (default: the duration),
                                ``penetration`` (share with an OBU, 1.0),
                                ``[demand.vehicles_per_hour]`` per vehicle class (each
                                <= 36000), ``route_files`` (SUMO ``.rou.xml``, relative to
                                the folder, read whole on load), ``pedestrians_per_hour`` (0,
                                <= 36000); at most 100000 departures over [begin, end);
                                ``density_per_km`` (0: none; passenger cars per km of road,
                                all lanes, at t=0 and entering to keep it, the 3GPP layouts:
                                :func:`scenarios.write_density`), ``speed_kmh`` (lane limit),
                                ``speed_sigma_kmh`` (0), ``inflow`` (true)
``[[participants]]``            named participants placed exactly: ``id``, ``class`` (a vehicle
                                class or ``"pedestrian"``), ``lane`` (``<edge>_<i>``) and/or
                                ``route`` (a route id) or ``edges`` (list), ``pos_m`` (0),
                                ``speed_kmh`` (0), ``depart`` ("0 s"), ``equipped`` (vehicles
                                true, pedestrians false)
``[rsu]``                       ``at = "signalized"`` or a list of junction ids,
                                ``antenna_height_m`` (6.0, <= 100), ``spat_period`` ("100 ms";
                                T/CSAE 159: <= 500 ms), ``map_period`` ("1 s"; <= 1 s),
                                ``forward``; with ``[[rsus]]`` at most 256 RSUs
``[[rsus]]``                    more RSUs: ``junction`` (any junction) or ``x``, ``y`` [m];
                                ``name``, ``antenna_height_m`` (default ``[rsu]``'s, <= 100)
``[obu]``                       ``bsm_period`` ("100 ms"), ``antenna_height_m`` (1.5, <= 5)
``[rsi]``                       ``sign_period`` ("1 s", T/CSAE 159 static RSI);
                                ``[[rsi.signs]]``: ``sign_type`` (GB 5768.2 code), ``x``, ``y``
                                or ``lane`` + ``pos_m``, ``radius_m`` (100), ``description``;
                                ``[[rsi.events]]``: ``id``, ``event_type`` (GB/T 29100 code),
                                ``x``, ``y``, ``radius_m`` (100), ``active`` (true),
                                ``priority`` (0..7, 0), ``period`` ("100 ms", dynamic),
                                ``description``
``[rsm]``                       roadside perception: ``enabled`` (false), ``range_m`` (150,
                                <= 1000),
                                ``detection_probability`` (0.95), ``position_sigma_m`` (0.5),
                                ``which`` (``unequipped`` | ``all``), ``period`` ("100 ms",
                                T/CSAE 159)
``[channel]``                   ``type`` (a registered model name, default ``tr37885-urban``);
                                every other key is a parameter of that model, checked by the
                                model on load
``[applications.NAME]``         an application the run's OBUs run (one not named does not
                                run): ``enabled`` (true), ``hold_s`` (0.5) + its own keys,
                                validated by the model it registered in :mod:`v2x.apps`
                                (each module documents its keys, defaults and sources):
                                the Day-1 set ``fcw`` (``ttc_threshold_s`` 2.7, ``range_m``
                                150, ...), ``icw``, ``lta``, ``bsw``, ``lcw``, ``dnpw``,
                                ``ebw`` (``range_m`` 150, ``max_lateral_m`` 5.25,
                                ``max_age_s`` 0.5), ``avw``, ``clw``, ``hlw``, ``slw``,
                                ``rlvw`` (``decel_threshold_mps2`` 3.0, ``warn_distance_m``
                                150, ``maneuver`` "straight", ...), ``vrucw``, ``glosa``,
                                ``ivs``, ``tjw``, ``evw``, ``vnfp``
``[driver]``                    reaction to a warning: ``enabled`` (false), ``reaction_time``
                                ("1 s", Green 2000), ``decel_mps2`` (6.0, NCHRP Report 400)
``[benefit]``                   ``compare`` (false): run the scenario a second time, same
                                seed, with every application off (into ``OUT/without-v2x/``)
                                and report both sides: table "V2X benefit" and KPIs
                                ``benefit.*`` (``collisions_with``, ``collisions_without``,
                                ``collisions_avoided``, ...; :mod:`analysis._benefit`)
``[cloud]``                     ``congestion`` (false): the cloud platform's congestion
                                detector runs on the bus (:mod:`v2x.cloud`), the run in
                                real time on a broker; ``jam_speed_kmh`` (10),
                                ``min_vehicles`` (3), ``hold`` ("3 s"), ``reach_m`` (300),
                                ``event_type`` (707)
``[recording]``                 ``reception_sample`` (0.05), ``kpi_sample`` (1.0: the
                                delivery KPIs over every receiver; docs/recording.md),
                                ``prr_bin_m`` (20), ``prr_max_m`` (500, <= 10000),
                                ``latency_bin`` ("100 us", 1 us..10 ms), ``checkpoint``
                                ("30 s", 1 s..1 h)
``[[events]]``                  ``name``, ``trigger = {kind = "time", at = "12 s"}`` or
                                ``{kind = "gap" | "distance" | "ttc", a, b, op, value}`` or
                                ``{kind = "reach", participant, x, y, radius_m}``, ``actions =
                                [{kind = "brake", target, decel, speed_kmh}, ...]`` (kinds:
                                :mod:`scenarios._events`), ``once`` (true); today's form
                                ``{at, kind = "stop", vehicle, decel, hold}`` still works
``[[criteria]]``                ``name`` (each its own: verdicts are reported by name),
                                ``kpi``, ``op`` (``< <= > >= == !=``), ``value`` (verdicts in
                                the report)
==============================  ===============================================================

Limits: a scenario never makes a run hang or exhaust memory, and a value no deployment has is
an error, not a silent extreme. The bounds and their reasons (:mod:`scenarios._limits`, also
``scenarios.MAX_*``): every duration <= 24 h (the longest test a pilot zone runs); demand
<= 36000 an hour per vehicle class and for pedestrians (one departure each 100 ms step) and
<= 100000 departures over the demand window (what ``randomTrips.py`` writes in well under a
minute; ``passenger = 1e12`` once hung it at 13.5 GB); a grid of <= 16 x 16 junctions and
<= 256 RSUs in all (measured: 256 RSUs set up in seconds, 1,024 in half a minute); grid
blocks <= 5 km, <= 8 lanes; antennas <= 100 m for RSUs (a tower; poles are 5-8 m) and <= 5 m
for OBUs (GB 1589: vehicles <= 4 m high); roadside sensors <= 1 km; PRR curves <= 10 km.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from scenarios._applications import (
    applications_json_schema,
    dump_applications,
    validate_applications,
)
from scenarios._demand import DENSITY_PREFIX
from scenarios._events import ScriptedEvent, StopEvent, TimeTrigger, event_item
from scenarios._fields import (
    AS_TUPLE,
    Duration,
    FieldProblem,
    Section,
    _lookup,
    _tokens,
    config_error,
)
from scenarios._limits import MAX_RSUS
from scenarios._networks import GridNetwork, NetworkConfig
from scenarios._sections import (
    VEHICLE_CLASSES,
    BenefitConfig,
    ChannelConfig,
    CloudConfig,
    CriterionItem,
    DemandConfig,
    DriverConfig,
    GeoConfig,
    ObuConfig,
    Participant,
    RecordingConfig,
    RsiConfig,
    RsmConfig,
    RsuConfig,
    RsuSite,
    start_instant,
)
from v2x.apps import AppConfig
from v2x.criteria import Criterion
from v2x.errors import ConfigError
from v2x.units import format_duration

__all__ = [
    "VEHICLE_CLASSES",
    "Scenario",
    "apply_overrides",
    "load_scenario",
    "validate_scenario",
]

_Applications = Annotated[
    dict[str, Any], BeforeValidator(validate_applications), PlainSerializer(dump_applications),
    WithJsonSchema(applications_json_schema()),
]


def _default_applications() -> dict[str, Any]:
    return validate_applications({}, None)


class Scenario(Section):
    """A validated scenario. ``folder`` is where relative paths were resolved.

    Attributes hold SI values and integer nanoseconds (``duration_ns``, ``step_ns``, every
    ``*_ns``); the file's keys are their aliases (``duration``, ``step``, ...). Sections:
    ``geo`` :class:`GeoConfig`, ``network`` (a network kind, :data:`NetworkConfig`),
    ``demand`` :class:`DemandConfig`, ``participants`` tuple of :class:`Participant`,
    ``rsu`` :class:`RsuConfig`, ``rsus`` tuple of :class:`RsuSite`, ``obu``
    :class:`ObuConfig`, ``rsi`` :class:`RsiConfig`, ``rsm`` :class:`RsmConfig`, ``channel``
    :class:`ChannelConfig`, ``applications`` dict name -> application config (every known
    application), ``driver`` :class:`DriverConfig`, ``benefit`` :class:`BenefitConfig`,
    ``cloud`` :class:`CloudConfig`, ``recording`` :class:`RecordingConfig`, ``events``
    tuple of :class:`ScriptedEvent`
    (today's stop form converted), ``criteria`` tuple of :class:`Criterion`.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="stable scenario id")
    title: str = Field("", description="default: the id")
    title_zh: str = ""
    tags: Annotated[tuple[str, ...], AS_TUPLE] = ()
    start: start_instant = Field(description="ISO 8601 with offset, Beijing time (+08:00)")
    duration_ns: Duration = Field(alias="duration")
    step_ns: Duration = Field("100 ms", alias="step", validate_default=True)
    seed: int = Field(0, ge=0, le=2**31 - 1, description="SUMO's --seed is a C int")
    zone: str = Field("xiqing", pattern=r"^[a-z0-9][a-z0-9_-]*$",
                      description="pilot zone: the {zone} level of the bus topics "
                                  "v2x/{zone}/...")
    geo: GeoConfig
    network: NetworkConfig = Field(default_factory=GridNetwork)
    demand: DemandConfig
    participants: Annotated[tuple[Participant, ...], AS_TUPLE] = ()
    rsu: RsuConfig = RsuConfig()
    rsus: Annotated[tuple[RsuSite, ...], AS_TUPLE] = ()
    obu: ObuConfig = ObuConfig()
    rsi: RsiConfig = RsiConfig()
    rsm: RsmConfig = RsmConfig()
    channel: ChannelConfig = ChannelConfig()
    applications: _Applications = Field(default_factory=_default_applications)
    driver: DriverConfig = DriverConfig()
    benefit: BenefitConfig = BenefitConfig()
    cloud: CloudConfig = CloudConfig()
    recording: RecordingConfig = RecordingConfig()
    # after validation every item is a ScriptedEvent (today's stop form is converted)
    events: Annotated[tuple[event_item, ...], AS_TUPLE] = ()
    criteria: Annotated[tuple[CriterionItem, ...], AS_TUPLE] = ()

    _folder: Path = PrivateAttr(default_factory=Path.cwd)
    _file: Path | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_other_keys(cls, data: Any) -> Any:
        return _normalize(data) if isinstance(data, Mapping) else data

    @field_validator("participants")
    @classmethod
    def _participants(cls, parts: tuple[Participant, ...],
                      info: ValidationInfo) -> tuple[Participant, ...]:
        seen: set[str] = set()
        duration_ns = info.data.get("duration_ns")
        for i, p in enumerate(parts):
            if p.id in seen:
                raise FieldProblem(f"names participant {p.id!r} twice", key=f"[{i}].id")
            seen.add(p.id)
            if duration_ns is not None and p.depart_ns >= duration_ns:
                raise FieldProblem("is after the end of the scenario", key=f"[{i}].depart")
        return parts

    @field_validator("rsus")
    @classmethod
    def _one_rsu_per_junction(cls, sites: tuple[RsuSite, ...],
                              info: ValidationInfo) -> tuple[RsuSite, ...]:
        rsu = info.data.get("rsu")
        taken = set(rsu.at) if rsu is not None and isinstance(rsu.at, tuple) else set()
        names: set[str] = set()
        for i, s in enumerate(sites):
            if s.junction is not None:
                if s.junction in taken:
                    raise FieldProblem(f"junction {s.junction!r} has an RSU already "
                                       "(one RSU per junction)", key=f"[{i}].junction")
                taken.add(s.junction)
            if s.name:
                if s.name in names:
                    raise FieldProblem(f"names RSU {s.name!r} twice", key=f"[{i}].name")
                names.add(s.name)
        return sites

    @field_validator("criteria")
    @classmethod
    def _criteria_named_once(cls, items: tuple[Criterion, ...]) -> tuple[Criterion, ...]:
        """Verdicts are reported by criterion name: two criteria of one name would report
        one under the other's KPI."""
        first: dict[str, int] = {}
        for i, c in enumerate(items):
            if c.name in first:
                raise FieldProblem(f"names criterion {c.name!r} twice (criteria[{first[c.name]}] "
                                   "has it); verdicts are reported by name: give each its own",
                                   key=f"[{i}].name", value=c.name)
            first[c.name] = i
        return items

    @field_validator("events")
    @classmethod
    def _events(cls, items: tuple[ScriptedEvent | StopEvent, ...],
                info: ValidationInfo) -> tuple[ScriptedEvent, ...]:
        duration_ns = info.data.get("duration_ns")
        rsi = info.data.get("rsi")
        rsi_ids = {e.id for e in rsi.events} if rsi is not None else set()
        out: list[ScriptedEvent] = []
        names: set[str] = set()
        for i, item in enumerate(items):
            at_ns: int | None
            if isinstance(item, StopEvent):
                at_key, at_ns = f"[{i}].at", item.at_ns
                item = item.to_event(f"events[{i}]")
            else:
                at_key = f"[{i}].trigger.at"
                at_ns = item.trigger.at_ns if isinstance(item.trigger, TimeTrigger) else None
            if duration_ns is not None and at_ns is not None and at_ns >= duration_ns:
                raise FieldProblem("is after the end of the scenario", key=at_key)
            if item.name in names:
                raise FieldProblem(f"names event {item.name!r} twice", key=f"[{i}].name",
                                   value=item.name)
            names.add(item.name)
            for j, act in enumerate(item.actions):
                if act.kind.startswith("rsi_") and act.target not in rsi_ids:
                    known = ", ".join(sorted(rsi_ids)) or "none"
                    raise FieldProblem(f"no [[rsi.events]] with this id (known: {known})",
                                       key=f"[{i}].actions[{j}].target")
            out.append(item)
        return tuple(out)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Scenario:
        ctx = info.context or {}
        self._folder = Path(ctx.get("folder") or Path.cwd())
        self._file = Path(ctx["file"]) if ctx.get("file") else None
        step = self.step_ns
        if step % 1_000_000:
            raise FieldProblem("must be a whole number of milliseconds", key="step")
        if self.duration_ns % step:
            raise FieldProblem("must be a whole number of steps", key="duration")
        periods = [("rsu.spat_period", self.rsu.spat_period_ns),
                   ("rsu.map_period", self.rsu.map_period_ns),
                   ("obu.bsm_period", self.obu.bsm_period_ns)]
        if self.rsi.signs:
            periods.append(("rsi.sign_period", self.rsi.sign_period_ns))
        periods += [(f"rsi.events[{i}].period", e.period_ns)
                    for i, e in enumerate(self.rsi.events)]
        if self.rsm.enabled:
            periods.append(("rsm.period", self.rsm.period_ns))
        if self.driver.enabled:
            periods.append(("driver.reaction_time", self.driver.reaction_time_ns))
        for key, ns in periods:
            if ns % step:
                raise FieldProblem(f"must be a multiple of the step ({step // 1_000_000} ms)",
                                   key=key, value=_raw_or(info, key, format_duration(ns)))
        d = self.demand
        if not (d.vehicles_per_hour or d.route_files or self.participants
                or d.pedestrians_per_hour > 0 or d.density_per_km > 0
                or getattr(self.network, "route_files", ())):
            raise FieldProblem("no traffic: give demand.vehicles_per_hour, "
                               "demand.density_per_km, demand.route_files, [[participants]] "
                               "or demand.pedestrians_per_hour", key="demand.vehicles_per_hour",
                               value=None)
        self._check_rsu_count()
        self._check_event_names()
        return self

    def _check_rsu_count(self) -> None:
        """At most :data:`~scenarios._limits.MAX_RSUS` RSUs, where the network's own
        configuration says how many signalized junctions it has (a grid: all of its
        junctions); for a ``path`` network the run checks it (:mod:`v2x.cli._wiring`)."""
        at = self.rsu.at
        if isinstance(at, tuple):
            listed = len(at)
        elif isinstance(self.network, GridNetwork):
            listed = self.network.junctions_x * self.network.junctions_y
        else:
            listed = 0
        total = listed + len(self.rsus)
        if total <= MAX_RSUS:
            return
        if listed > MAX_RSUS:
            raise FieldProblem(f"lists {listed} junctions, more than the {MAX_RSUS} RSUs a run "
                               "sets up", key="rsu.at", value=at)
        raise FieldProblem(f"{len(self.rsus)} [[rsus]] and {listed} RSUs of rsu.at make "
                           f"{total}, more than the {MAX_RSUS} a run sets up", key="rsus",
                           value=len(self.rsus))

    def _check_event_names(self) -> None:
        """Every vehicle or person an event names exists: a participant, or a name the
        generated demand gives (``<class>.<n>``, ``ped.<n>``); with route files of its own a
        scenario may name anything. A typo must not leave an event silently unfired."""
        d = self.demand
        if d.route_files or getattr(self.network, "route_files", ()):
            return
        known = {p.id for p in self.participants}
        prefixes = [f"{c}." for c, vph in d.vehicles_per_hour.items() if vph > 0]
        if d.pedestrians_per_hour > 0:
            prefixes.append("ped.")
        if d.density_per_km > 0:
            prefixes.append(DENSITY_PREFIX)

        def exists(name: str) -> bool:
            return name in known or any(
                name.startswith(p) and name[len(p):].isdigit() for p in prefixes)

        for i, ev in enumerate(self.events):
            if not isinstance(ev, ScriptedEvent):
                continue
            t = ev.trigger
            for field in ("a", "b", "participant"):
                name = getattr(t, field, None)
                if name is not None and not exists(name):
                    raise FieldProblem(_unknown_name(known, prefixes),
                                       key=f"events[{i}].trigger.{field}", value=name)
            for j, act in enumerate(ev.actions):
                if not act.kind.startswith("rsi_") and not exists(act.target):
                    raise FieldProblem(_unknown_name(known, prefixes),
                                       key=f"events[{i}].actions[{j}].target",
                                       value=act.target)

    # --- reading -------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """The scenario folder: relative paths of the file were resolved from here."""
        return self._folder

    @property
    def file(self) -> Path | None:
        """The ``scenario.toml`` it was loaded from (None when built in Python)."""
        return self._file

    @property
    def fcw(self) -> AppConfig | None:
        """``applications["fcw"]`` if the file names it (for callers of the former
        ``Scenario.fcw``)."""
        return self.applications.get("fcw")

    def __eq__(self, other: object) -> bool:
        """Equal values and folder (where the scenario came from, file or builder, aside)."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.__dict__ == other.__dict__ and self._folder == other._folder

    def __hash__(self) -> int:
        return hash((self.id, self.seed, self.duration_ns, self._folder))

    # --- changing ------------------------------------------------------------------------

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with attributes replaced as they are (e.g. ``seed=3``,
        ``duration_ns=...``), without validation; :meth:`with_set` validates."""
        return self.model_copy(update=changes)

    def with_set(self, *items: str) -> Scenario:
        """A copy with file keys overridden and validated like the file:
        ``sc.with_set("applications.fcw.enabled=false", "seed=3")`` (see
        :func:`apply_overrides`)."""
        return apply_overrides(self, items)

    def to_toml_dict(self) -> dict[str, Any]:
        """The scenario as a TOML document (dict): every key, defaults included, durations
        as strings, paths absolute. Validating it gives this scenario back."""
        return _deep_copy(self.model_dump(by_alias=True, mode="python"))


def _raw_or(info: ValidationInfo, key: str, default: Any) -> Any:
    raw = (info.context or {}).get("raw")
    return _lookup(raw, key, default=default) if raw is not None else default


def _unknown_name(known: set[str], prefixes: list[str]) -> str:
    parts = [", ".join(sorted(known))] if known else []
    parts += [f"{p}<n>" for p in prefixes]
    return f"no such vehicle or person (known: {', '.join(parts) or 'none'})"


def _normalize(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults that depend on other keys, and old spellings, applied to the TOML dict:
    ``title`` = id; ``[geo]`` and ``[demand]`` present (so their missing keys are named);
    ``demand.end`` = duration; ``network.kind`` = ``"path"`` when only ``path`` is given
    (``"grid"`` otherwise) and ``"file"`` -> ``"path"``."""
    out = dict(raw)
    if "title" not in out and isinstance(out.get("id"), str):
        out["title"] = out["id"]
    out.setdefault("geo", {})
    demand = out.setdefault("demand", {})
    if isinstance(demand, Mapping) and "end" not in demand and "duration" in out:
        out["demand"] = {**demand, "end": out["duration"]}
    net = out.get("network")
    if isinstance(net, Mapping):
        if "kind" not in net:
            out["network"] = {"kind": "path" if "path" in net else "grid", **net}
        elif net["kind"] == "file":
            out["network"] = {**net, "kind": "path"}
    return out


def validate_scenario(raw: Mapping[str, Any], *, file: str | Path | None = None,
                      folder: str | Path | None = None) -> Scenario:
    """Validate a scenario given as a TOML dict.

    Args:
        raw: the document (what ``tomllib`` reads from ``scenario.toml``).
        file: named in errors (the file, or e.g. ``"ScenarioBuilder"``).
        folder: where relative paths are resolved (default: the file's folder, else the
            working directory).

    Raises:
        ConfigError: naming ``file``, the dotted key and the bad value.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a table, got {type(raw).__name__}", file=file, value=raw)
    if folder is None:
        folder = Path(file).parent if isinstance(file, Path) else Path.cwd()
    norm = _normalize(raw)
    ctx = {"folder": Path(folder), "file": file if isinstance(file, Path) else None,
           "raw": norm}
    try:
        return Scenario.model_validate(norm, context=ctx)
    except ValidationError as exc:
        raise config_error(exc, norm, file=file) from None


def _read_toml(file: Path) -> dict[str, Any]:
    if not file.is_file():
        raise ConfigError("scenario file not found", file=file)
    try:
        return tomllib.loads(file.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc}", file=file) from exc


def load_scenario(path: str | Path, *, overrides: Iterable[str] = ()) -> Scenario:
    """Load and validate a scenario from a folder or its ``scenario.toml``.

    Args:
        path: the folder or the file.
        overrides: ``"KEY=VALUE"`` items applied to the file's keys before validation
            (:func:`apply_overrides`).

    Raises:
        ConfigError: the file is missing, is not valid TOML (or UTF-8), or a key is missing,
            unknown or invalid; the message names the file, the dotted key and the bad value
            (and the ``--set`` item when an override is at fault).
    """
    path = Path(path)
    file = path / "scenario.toml" if path.is_dir() else path
    raw = _read_toml(file)
    items = list(overrides)
    if not items:
        return validate_scenario(raw, file=file)
    return _validate_overridden(raw, items, file=file, folder=file.parent)


# --- --set KEY=VALUE ------------------------------------------------------------------------

def apply_overrides(scenario_or_raw: Scenario | Mapping[str, Any], items: Iterable[str], *,
                    file: str | Path | None = None,
                    folder: str | Path | None = None) -> Scenario:
    """Override keys of a scenario, as ``v2x run --set KEY=VALUE`` does, and validate.

    Each item is ``KEY=VALUE``: KEY is a dotted key of the file (``demand.penetration``,
    ``applications.fcw.enabled``, ``events[0].trigger.value``; missing tables are created),
    VALUE a TOML value (``0.5``, ``false``, ``"x"``, ``[1, 2]``, ``2026-06-01T08:00:00+08:00``)
    or else a plain string (``60 s``). The overrides are applied to the TOML document before
    validation, so each is checked like the file.

    Args:
        scenario_or_raw: a :class:`Scenario` (its :meth:`~Scenario.to_toml_dict`) or a TOML
            dict (then ``file`` and ``folder`` say where it came from).

    Raises:
        ConfigError: a malformed item, or a value the scenario refuses; names ``--set``, the
            item, the key and the value.
    """
    if isinstance(scenario_or_raw, Scenario):
        sc = scenario_or_raw
        raw = sc.to_toml_dict()
        file = sc.file if file is None else file
        folder = sc.folder if folder is None else folder
    else:
        raw = dict(scenario_or_raw)
    if folder is None:
        folder = Path(file).parent if isinstance(file, Path) else Path.cwd()
    return _validate_overridden(raw, list(items), file=file, folder=Path(folder))


def _validate_overridden(raw: Mapping[str, Any], items: list[str], *, file: Any,
                         folder: Path) -> Scenario:
    doc = _deep_copy(raw)
    keys: dict[str, str] = {}
    for item in items:
        key, value = _parse_item(item)
        _set_key(doc, key, value, item)
        keys[key] = item
    try:
        return validate_scenario(doc, file=file, folder=folder)
    except ConfigError as exc:
        k = exc.key or ""
        culprit = next((item for key, item in keys.items()
                        if k == key or k.startswith((f"{key}.", f"{key}["))
                        or key.startswith((f"{k}.", f"{k}["))), None)
        if culprit is not None:
            where = f"--set {culprit}"
        else:
            where = f"with --set {', '.join(items)}" if items else ""
        raise ConfigError(f"{_message_of(exc)} ({where})", file=exc.file or "--set", key=exc.key,
                          value=exc.value) from None


def _message_of(exc: ConfigError) -> str:
    """The message of a ConfigError without its "file, key 'k': " prefix."""
    where = [w for w in (exc.file, f"key '{exc.key}'" if exc.key else None) if w]
    prefix = ", ".join(where) + ": " if where else ""
    text = str(exc)
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep_copy(v) for v in value]
    return value


def _parse_item(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("expected KEY=VALUE, e.g. demand.penetration=0.5", file="--set",
                          value=item)
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    if isinstance(value, dt.time | dt.date) and not isinstance(value, dt.datetime):
        value = text  # a bare time or date is no scenario value: keep the text
    return key, value


def _set_key(doc: dict[str, Any], key: str, value: Any, item: str) -> None:
    try:
        tokens = _tokens(key) if all(key.split(".")) and " " not in key else []
    except ValueError:
        tokens = []
    if not tokens:
        raise ConfigError("not a dotted key (e.g. applications.fcw.enabled or "
                          "events[0].trigger.value)", file="--set", key=key, value=item)
    data: Any = doc
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        where = _key_of(tokens[:i + 1])
        if isinstance(tok, int):
            if not isinstance(data, list) or not -len(data) <= tok < len(data):
                n = len(data) if isinstance(data, list) else 0
                raise ConfigError(f"no item {tok} here (the file has {n})", file="--set",
                                  key=where, value=item)
            if last:
                data[tok] = value
            else:
                data = data[tok]
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{_key_of(tokens[:i]) or 'the document'} is not a table",
                              file="--set", key=where, value=item)
        if last:
            data[tok] = value
        else:
            nxt = tokens[i + 1]
            if tok not in data:
                data[tok] = [] if isinstance(nxt, int) else {}
            data = data[tok]


def _key_of(tokens: list[str | int]) -> str:
    out = ""
    for t in tokens:
        out = f"{out}[{t}]" if isinstance(t, int) else (f"{out}.{t}" if out else str(t))
    return out

