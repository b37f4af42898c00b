"""The sections of ``scenario.toml`` other than the network, the applications and the events.

Defaults and their sources are in each field's description and in the key table of
:mod:`scenarios._model`.

Rule for a section that configures a component (``[driver]``, ``[rsi]``, ``[rsm]``,
``[[rsus]]``): the component's own definition states each default once and the section takes
it from there (``[driver]`` from :class:`v2x.apps.DriverConfig`); the section only gives it the
file's form (a duration string, a key name). Roadside components live in a package the scenario
model does not import (SUMO, the codec), so ``[rsi]`` and ``[rsm]`` still repeat their
defaults; ``tests/v2x/test_wiring_defaults.py`` holds them equal. :mod:`v2x.cli._wiring` is
the one place a section becomes a component's configuration.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from scenarios._fields import (
    AS_TUPLE,
    DURATION_SCHEMA,
    DURATION_TEXT,
    Duration,
    DurationOrZero,
    FieldProblem,
    RouteFile,
    Section,
    duration_parser,
)
from scenarios._limits import (
    MAX_DEPARTURES,
    MAX_OBU_ANTENNA_M,
    MAX_PER_HOUR,
    MAX_PRR_RANGE_M,
    MAX_RSU_ANTENNA_M,
    MAX_SENSOR_RANGE_M,
)
from scenarios._vtypes import VEHICLE_CLASSES
from v2x.apps import DriverConfig as _DriverModel
from v2x.criteria import OPS, Criterion, parse_criterion
from v2x.errors import ConfigError, CriteriaError
from v2x.units import format_duration

__all__ = [
    "PEDESTRIAN",
    "VEHICLE_CLASSES",
    "BenefitConfig",
    "CloudConfig",
    "ChannelConfig",
    "Criterion",
    "CriterionItem",
    "DemandConfig",
    "DriverConfig",
    "GeoConfig",
    "ObuConfig",
    "Participant",
    "RecordingConfig",
    "RsiConfig",
    "RsiEvent",
    "RsiSign",
    "RsmConfig",
    "RsuConfig",
    "RsuSite",
    "start_instant",
]

#: Vehicle classes a scenario's demand may name, with their SUMO vType and message-set
#: class (J2735 VehicleType classification values used by T/CSAE 53 ``vehicleClass``).

#: the driver model's own settings: the ``[driver]`` defaults are its defaults (one statement
#: of each; the section only gives them the file's form, a duration string for the time)
_DRIVER = _DriverModel()

#: the participant class of a pedestrian (a SUMO person)
PEDESTRIAN = "pedestrian"

_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2261, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
_LANE_ID = re.compile(r"^.+_[0-9]+$")
#: recording.latency_bin: 1 us .. 10 ms
_LatencyBin = Annotated[int, duration_parser(lo_ns=1_000, hi_ns=10_000_000), DURATION_TEXT,
                        DURATION_SCHEMA]
#: between recording checkpoints: at least one second (each writes a part file per table),
#: at most an hour
_Checkpoint = Annotated[int, duration_parser(lo_ns=1_000_000_000, hi_ns=3_600_000_000_000),
                        DURATION_TEXT, DURATION_SCHEMA]


def _start(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            start = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not an ISO 8601 instant") from None
    elif isinstance(value, dt.datetime):
        start = value
    else:
        raise ValueError(  # noqa: TRY004 (pydantic maps ValueError)
            f"expected an ISO 8601 instant, got {value!r}")
    if start.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. '2026-06-01T08:00:00+08:00'")
    if not _EARLIEST <= start <= _LATEST:  # secMark, MinuteOfTheYear: int64 ns since 1970
        raise ValueError("must lie between 1970 and 2261")
    return start


#: ``start``: an ISO 8601 instant with a UTC offset (a TOML offset date-time or a string)
start_instant = Annotated[dt.datetime, BeforeValidator(_start),
                          WithJsonSchema({"type": "string", "format": "date-time"})]


class GeoConfig(Section):
    """Geo anchor of a generated network: its centre sits at (anchor_lat, anchor_lon) [deg]."""

    anchor_lat: float = Field(ge=-90.0, le=90.0, description="[deg]")
    anchor_lon: float = Field(ge=-180.0, le=180.0, description="[deg]")
    crs: str = Field("EPSG:32650", description="projected CRS in metres (UTM 50N)")

    @field_validator("crs")
    @classmethod
    def _projected_in_metres(cls, crs: str) -> str:
        """SUMO x/y are metres: the CRS must be projected, in metres."""
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            c = CRS.from_user_input(crs)
        except CRSError as exc:
            raise ValueError(f"not a coordinate reference system pyproj knows: {exc}") \
                from None
        unit = c.axis_info[0].unit_name if c.axis_info else ""
        if not c.is_projected or unit not in ("metre", "meter"):
            raise ValueError("must be a projected CRS in metres, e.g. EPSG:32650 (UTM 50N)")
        return crs

    @model_validator(mode="after")
    def _anchor_in_the_crs_area(self) -> GeoConfig:
        """The anchor lies where the CRS is meant to be used (its EPSG area of use): far
        outside it a transverse Mercator projection distorts lengths without bound, and
        SUMO's x/y would not be metres on the ground."""
        from pyproj import CRS

        crs = CRS.from_user_input(self.crs)
        area = crs.area_of_use
        if area is None:  # a CRS from a PROJ string: it must at least project the anchor
            from v2x.geo import GeoFrame

            try:
                GeoFrame(crs=self.crs).project(self.anchor_lat, self.anchor_lon)
            except ConfigError as exc:
                raise FieldProblem(f"{self.crs} cannot project the anchor: {exc.message}",
                                   key="anchor_lon") from None
            return self
        west, south, east, north = area.bounds
        lon = self.anchor_lon
        inside_lon = west <= lon <= east if west <= east else (lon >= west or lon <= east)
        where = (f"outside the area of use of {self.crs} ({crs.name}: longitude "
                 f"{west:g}..{east:g}, latitude {south:g}..{north:g} degrees); choose the "
                 f"CRS of the anchor's UTM zone or move the anchor")
        if not inside_lon:
            raise FieldProblem(f"lies {where}", key="anchor_lon")
        if not south <= self.anchor_lat <= north:
            raise FieldProblem(f"lies {where}", key="anchor_lat")
        return self


def _end_optional(schema: dict[str, Any]) -> None:
    # the loader fills `end` in with the scenario's duration
    schema["required"] = [k for k in schema.get("required", []) if k != "end"]
    if not schema["required"]:
        del schema["required"]


class DemandConfig(Section):
    """Random traffic over the departure window ``[begin_ns, end_ns)``."""

    model_config = ConfigDict(json_schema_extra=_end_optional)

    begin_ns: DurationOrZero = Field("0 s", alias="begin",
                                               validate_default=True)
    end_ns: Duration = Field(alias="end", description="default: the scenario's duration")
    penetration: float = Field(1.0, ge=0.0, le=1.0, description="share of vehicles with an OBU")
    vehicles_per_hour: dict[str, Annotated[float, Field(ge=0.0, le=MAX_PER_HOUR)]] = Field(
        default_factory=dict,
        description="random trips per vehicle class [1/h], each at most 36000 (one every "
                    "100 ms); with pedestrians at most 100000 departures over [begin, end)",
        json_schema_extra={"propertyNames": {"enum": list(VEHICLE_CLASSES)}})
    route_files: Annotated[tuple[RouteFile, ...], AS_TUPLE] = Field(
        (), description="SUMO .rou.xml files")
    pedestrians_per_hour: float = Field(0.0, ge=0.0, le=MAX_PER_HOUR,
                                        description="random pedestrian walks and crossings "
                                                    "[1/h], at most 36000")
    density_per_km: float = Field(
        0.0, ge=0.0, le=2000.0,
        description="passenger cars per km of road (all lanes of both directions) filling "
                    "every lane at t=0 and entering at the network's entry edges to keep it "
                    "(3GPP TR 37.885 layouts; scenarios.write_density); 0: none")
    speed_kmh: float | None = Field(None, gt=0.0, le=250.0,
                                    description="mean desired speed of the density demand "
                                                "[km/h]; default each lane's limit")
    speed_sigma_kmh: float = Field(0.0, ge=0.0, le=50.0,
                                   description="standard deviation of that speed [km/h], "
                                               "cut at 2 sigma")
    inflow: bool = Field(True, description="density demand: vehicles enter at the entry "
                                           "edges to keep the density")

    @field_validator("vehicles_per_hour")
    @classmethod
    def _known_classes(cls, vph: dict[str, float]) -> dict[str, float]:
        for name, rate in vph.items():
            if name not in VEHICLE_CLASSES:
                raise FieldProblem(f"unknown vehicle class (known: {', '.join(VEHICLE_CLASSES)})",
                                   key=name)
        return vph

    @model_validator(mode="after")
    def _window(self) -> DemandConfig:
        if self.end_ns <= self.begin_ns:
            raise FieldProblem("must be after 'begin'", key="end")
        hours = (self.end_ns - self.begin_ns) / 3.6e12
        vehicles = sum(self.vehicles_per_hour.values()) * hours
        departures = vehicles + self.pedestrians_per_hour * hours
        if departures > MAX_DEPARTURES:
            key = "vehicles_per_hour" if vehicles >= departures / 2 else "pedestrians_per_hour"
            raise FieldProblem(
                f"asks for {departures:,.0f} departures over [begin, end) "
                f"({hours:g} h), more than the {MAX_DEPARTURES:,} a run takes; lower the "
                "rates or shorten the window", key=key)
        return self


class Participant(Section):
    """A named participant placed exactly: where (``lane`` and ``pos_m``, and/or its
    ``route`` id or ``edges``), when (``depart``) and how fast (``speed_kmh``)."""

    id: str = Field(min_length=1, description="its SUMO vehicle or person id")
    vehicle_class: Literal["passenger", "bus", "sanitation_truck", "logistics_van",
                           "emergency", "pedestrian"] = Field("passenger", alias="class")
    lane: str | None = Field(None, description="SUMO lane id of the departure, <edge>_<index>")
    route: str | None = Field(None, description="id of a route of the route files")
    edges: Annotated[tuple[str, ...], AS_TUPLE] = Field((), description="the edges it follows")
    pos_m: float = Field(0.0, ge=0.0, description="departure position along the lane [m]")
    speed_kmh: float = Field(0.0, ge=0.0, le=300.0, description="departure speed [km/h]")
    depart_ns: DurationOrZero = Field("0 s", alias="depart",
                                                validate_default=True)
    equipped: bool = Field(True, description="carries an OBU (default: vehicles yes, "
                                             "pedestrians no)")

    @model_validator(mode="before")
    @classmethod
    def _pedestrians_unequipped(cls, data: Any) -> Any:
        if isinstance(data, dict) and "equipped" not in data and data.get("class") == PEDESTRIAN:
            return {**data, "equipped": False}
        return data

    @model_validator(mode="after")
    def _placed(self) -> Participant:
        if self.lane is not None and not _LANE_ID.match(self.lane):
            raise FieldProblem("must be a SUMO lane id, <edge id>_<lane index>", key="lane")
        if self.route is not None and self.edges:
            raise FieldProblem("give either route or edges", key="edges")
        if self.lane is None and self.route is None and not self.edges:
            raise FieldProblem("give lane, route or edges", key="lane", value=None)
        if self.is_pedestrian and self.equipped:
            raise FieldProblem("pedestrians carry no OBU in the testbed", key="equipped")
        return self

    @property
    def is_pedestrian(self) -> bool:
        """True for a SUMO person."""
        return self.vehicle_class == PEDESTRIAN

    @property
    def speed_mps(self) -> float:
        """Departure speed [m/s]."""
        return self.speed_kmh / 3.6


def _rsu_at(value: Any) -> Any:
    if isinstance(value, str):
        if value != "signalized":
            raise ValueError("must be 'signalized' or a list of junction ids")
        return value
    if isinstance(value, list | tuple):
        if not value or not all(isinstance(a, str) and a for a in value):
            raise ValueError("must be a non-empty list of junction id strings")
        if len(set(value)) != len(value):
            dup = next(a for a in value if list(value).count(a) > 1)
            raise ValueError(f"names junction {dup!r} twice (one RSU per junction)")
        return tuple(value)
    raise ValueError(f"must be 'signalized' or a list of junction ids, got {value!r}")


class RsuConfig(Section):
    """Roadside units at junctions: ``at`` is ``"signalized"`` or a tuple of junction ids."""

    at: Annotated[str | tuple[str, ...], BeforeValidator(_rsu_at), WithJsonSchema(
        {"anyOf": [{"const": "signalized"},
                   {"type": "array", "items": {"type": "string"}, "minItems": 1,
                    "uniqueItems": True}]})] = "signalized"
    antenna_height_m: float = Field(6.0, ge=0.0, le=MAX_RSU_ANTENNA_M,
                                    description="[m], at most 100 (a tower; RSUs sit at 5-8)")
    spat_period_ns: Duration = Field("100 ms", alias="spat_period",
                                       validate_default=True,
                                       description="T/CSAE 159: SPAT <= 500 ms")
    map_period_ns: Duration = Field("1 s", alias="map_period",
                                      validate_default=True,
                                      description="T/CSAE 159: MAP <= 1 s")
    forward: bool = Field(True, description="RSUs forward what they hear to the bus")


class RsuSite(Section):
    """One more RSU (``[[rsus]]``) at a junction (signalized or not) or at ``x``, ``y``."""

    name: str = Field("", description="default: the junction id, or rsu-<i>")
    junction: str | None = Field(None, description="SUMO junction id")
    x: float | None = Field(None, description="[m] network coordinates")
    y: float | None = Field(None, description="[m] network coordinates")
    antenna_height_m: float | None = Field(None, ge=0.0, le=MAX_RSU_ANTENNA_M,
                                           description="default: [rsu]'s [m], at most 100")

    @model_validator(mode="after")
    def _one_place(self) -> RsuSite:
        has_xy = self.x is not None or self.y is not None
        if has_xy and (self.x is None or self.y is None):
            raise FieldProblem("give both x and y", key="y" if self.y is None else "x",
                               value=None)
        if has_xy == (self.junction is not None):
            raise FieldProblem("give either junction, or x and y", key="junction")
        return self


class ObuConfig(Section):
    """On-board units: BSM period and antenna height."""

    bsm_period_ns: Duration = Field("100 ms", alias="bsm_period",
                                      validate_default=True)
    antenna_height_m: float = Field(1.5, ge=0.0, le=MAX_OBU_ANTENNA_M,
                                    description="[m], at most 5 (a 4 m truck's roof)")


_Radius = Annotated[float, Field(ge=0.0, le=6553.5,
                                 description="[m] (RSI Radius: 0..65535 x 0.1 m)")]


class RsiSign(Section):
    """A static traffic sign an RSU announces in RSI ``rtss``, at ``x``, ``y`` or on ``lane``
    at ``pos_m``."""

    sign_type: int = Field(ge=0, le=65535, description="GB 5768.2 sign code")
    x: float | None = None
    y: float | None = None
    lane: str | None = Field(None, description="SUMO lane id")
    pos_m: float = Field(0.0, ge=0.0, description="position along the lane [m]")
    radius_m: _Radius = 100.0
    description: str = ""

    @model_validator(mode="after")
    def _one_place(self) -> RsiSign:
        has_xy = self.x is not None or self.y is not None
        if has_xy and (self.x is None or self.y is None):
            raise FieldProblem("give both x and y", key="y" if self.y is None else "x",
                               value=None)
        if has_xy == (self.lane is not None):
            raise FieldProblem("give either x and y, or lane", key="lane")
        if self.lane is not None and not _LANE_ID.match(self.lane):
            raise FieldProblem("must be a SUMO lane id, <edge id>_<lane index>", key="lane")
        return self


class RsiEvent(Section):
    """A road traffic event an RSU announces in RSI ``rtes`` while it is active."""

    id: str = Field(min_length=1, description="name used by rsi_raise / rsi_clear actions")
    event_type: int = Field(ge=0, le=65535, description="GB/T 29100 event code")
    x: float = Field(description="[m] network coordinates")
    y: float = Field(description="[m] network coordinates")
    radius_m: _Radius = 100.0
    active: bool = Field(True, description="active from the start")
    priority: int = Field(0, ge=0, le=7, description="RSIPriority, 0..7 (7 most urgent)")
    period_ns: Duration = Field("100 ms", alias="period",
                                  validate_default=True,
                                  description="T/CSAE 159: dynamic 100 ms, semi-static 500 ms")
    description: str = ""


class RsiConfig(Section):
    """Road side information: static signs and events (``[rsi]``)."""

    sign_period_ns: Duration = Field("1 s", alias="sign_period",
                                       validate_default=True,
                                       description="T/CSAE 159: static RSI 1 s")
    signs: Annotated[tuple[RsiSign, ...], AS_TUPLE] = ()
    events: Annotated[tuple[RsiEvent, ...], AS_TUPLE] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> RsiConfig:
        seen: set[str] = set()
        for i, ev in enumerate(self.events):
            if ev.id in seen:
                raise FieldProblem(f"names RSI event {ev.id!r} twice", key=f"events[{i}].id")
            seen.add(ev.id)
        return self


class RsmConfig(Section):
    """Roadside perception sent as RSM (``[rsm]``): what every RSU's sensors see within
    ``range_m``, each participant detected with ``detection_probability`` per period, its
    position with Gaussian noise of ``position_sigma_m``."""

    enabled: bool = False
    range_m: float = Field(150.0, gt=0.0, le=MAX_SENSOR_RANGE_M,
                           description="sensor range [m], at most 1000 (placeholder, to "
                                       "verify)")
    detection_probability: float = Field(0.95, ge=0.0, le=1.0,
                                         description="per period (placeholder, to verify)")
    position_sigma_m: float = Field(0.5, ge=0.0, description="Gaussian position noise [m] "
                                                             "(placeholder, to verify)")
    which: Literal["unequipped", "all"] = Field(
        "unequipped", description="participants reported: without an OBU, or all")
    period_ns: Duration = Field("100 ms", alias="period",
                                  validate_default=True, description="T/CSAE 159: RSM 100 ms")
    at: Annotated[tuple[str, ...], AS_TUPLE] = Field(
        (), description="names of the RSUs with roadside sensors (default: every RSU)")


class ChannelConfig(Section):
    """A channel model chosen by name (``type``); its other keys are its parameters,
    checked by the model when the run makes it (:func:`v2x.channel.make_channel`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("tr37885-urban", min_length=1, description="a registered channel model")

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:  # every other key is a parameter
        return data

    @model_validator(mode="after")
    def _the_model_takes_them(self) -> ChannelConfig:
        """The model is made once here, so an unknown name, parameter or value is an error
        of the file when it is loaded (the run makes it again)."""
        from v2x.channel import make_channel

        try:
            make_channel(self.type, **self.params)
        except ConfigError as exc:
            key = (exc.key or "").removeprefix("channel.")
            raise FieldProblem(exc.message, key=key, value=exc.value) from None
        return self

    @property
    def params(self) -> dict[str, Any]:
        """The model's parameters: every key but ``type``."""
        return dict(self.model_extra or {})


class DriverConfig(Section):
    """Driver reaction to a warning (``[driver]``): after ``reaction_time`` the warned driver
    brakes at ``decel_mps2``.

    Sources: perception-brake time 0.7 s (expected), about 1.25 s (unexpected) and 1.5 s
    (surprise) -- M. Green, "How long does it take to stop? Methodological analysis of driver
    perception-brake times", Transportation Human Factors 2(3), 2000, pp. 195-216; 1.0 s is a
    warned driver expecting to brake (to verify against the apps' HMI). Deceleration: drivers'
    maximum decelerations in unexpected stops were 6.9-9.1 m/s², their mean steady
    deceleration about 0.55 g (5.4 m/s²) -- D. B. Fambro, K. Fitzpatrick, R. J. Koppa,
    "Determination of Stopping Sight Distances", NCHRP Report 400, 1997, and Fambro et al.,
    "Driver braking performance in stopping sight distance situations", TRR 1701, 2000;
    6.0 m/s² (0.61 g) lies between the two (to verify).
    """

    enabled: bool = False
    reaction_time_ns: Duration = Field(format_duration(round(_DRIVER.reaction_s * 1e9)),
                                       alias="reaction_time", validate_default=True,
                                       description="perception-brake time (Green 2000)")
    decel_mps2: float = Field(_DRIVER.decel_mps2, gt=0.0, le=12.0,
                              description="braking deceleration [m/s²] (NCHRP Report 400)")


class BenefitConfig(Section):
    """``[benefit]``: the closed-loop benefit of V2X (issue 9 item 6). With ``compare = true``
    the run is made twice, the same scenario and seed: first with every ``[applications.*]``
    off into ``OUT/without-v2x/`` (a full run with its own reports), then as written into
    ``OUT``; its report puts both sides side by side ("V2X benefit": collisions, TTC conflicts,
    serious ones, min TTC, hard braking) and as KPIs ``benefit.<measure>_with`` /
    ``_without`` / ``benefit.collisions_avoided`` that criteria can name
    (:mod:`analysis._benefit`)."""

    compare: bool = Field(False, description="run a second time with every application off "
                                             "and report the difference")


class CloudConfig(Section):
    """``[cloud]``: applications of the cloud control platform that run on the bus like an
    external one (their own MQTT client, only through the broker). ``congestion = true``
    runs the congestion detector of :mod:`v2x.cloud` on the RSUs' BSM uplinks: a link (SUMO
    edge) with at least ``min_vehicles`` vehicles whose mean speed stays below
    ``jam_speed_kmh`` for ``hold`` is a jam, and a traffic-jam RSI (eventType
    ``event_type``) goes down to the RSUs within ``reach_m`` before it. The run is then a
    real-time run (``v2x run --realtime``) on a broker (not ``--bus memory``). Defaults and
    their sources: :mod:`v2x.cloud._congestion`."""

    congestion: bool = Field(False, description="run the cloud congestion detector")
    jam_speed_kmh: float = Field(10.0, gt=0.0, description="mean speed below which a link "
                                                           "is congested [km/h]")
    min_vehicles: int = Field(3, ge=1, description="vehicles a congested link has at least")
    hold_ns: Duration = Field("3 s", alias="hold", validate_default=True,
                              description="how long a link stays congested before a jam")
    reach_m: float = Field(300.0, gt=0.0, description="RSUs within this of the jam's tail "
                                                      "get its RSI [m]")
    event_type: int = Field(707, ge=0, le=65535, description="eventType of the jam "
                                                             "(GB/T 29100, to verify)")


class RecordingConfig(Section):
    """What the recorder keeps; see ``docs/recording.md``."""

    reception_sample: float = Field(0.05, ge=0.0, le=1.0,
                                    description="share of receivers whose receptions are kept")
    kpi_sample: float = Field(
        1.0, ge=0.0, le=1.0,
        description="share of receivers (OBUs and RSUs, a seeded draw each) whose links the "
                    "delivery KPIs count (1: every one, exact); below 1, with no application "
                    "and a channel deciding each link on its own, OBUs outside this and the "
                    "reception sample are not simulated as receivers (city scale)")
    prr_bin_m: float = Field(20.0, gt=0.0, description="PRR distance bin [m]")
    prr_max_m: float = Field(500.0, gt=0.0, le=MAX_PRR_RANGE_M,
                             description="PRR largest distance [m], at most 10000")
    latency_bin_ns: _LatencyBin = Field(
        "100 us", alias="latency_bin", validate_default=True)
    checkpoint_ns: _Checkpoint = Field(
        "30 s", alias="checkpoint", validate_default=True,
        description="simulated time between checkpoints, 1 s .. 1 h: a killed run keeps every "
                    "row before its last one (docs/recording.md)")

    @model_validator(mode="after")
    def _bins(self) -> RecordingConfig:
        if self.prr_bin_m > self.prr_max_m:
            raise FieldProblem(f"is wider than prr_max_m ({self.prr_max_m} m)",
                               key="prr_bin_m")
        if self.prr_max_m / self.prr_bin_m > 10_000:
            raise FieldProblem("too many distance bins (prr_max_m / prr_bin_m > 10000)",
                               key="prr_bin_m")
        return self


def _criterion(raw: Any) -> Criterion:
    """A ``[[criteria]]`` item, parsed by the one parser (:func:`v2x.criteria.parse_criterion`)."""
    if isinstance(raw, Criterion):
        return raw
    try:
        return parse_criterion(raw)
    except CriteriaError as exc:
        raise FieldProblem(str(exc), key=exc.key or "") from None


#: a ``[[criteria]]`` item: the record of :mod:`v2x.criteria`, validated by its parser (the
#: JSON Schema says the same: the keys, the operators, a finite number)
CriterionItem = Annotated[
    Criterion, BeforeValidator(_criterion),
    PlainSerializer(Criterion.as_dict),
    WithJsonSchema({
        "type": "object", "additionalProperties": False, "required": ["kpi", "op", "value"],
        "properties": {
            "name": {"type": "string", "description": "default: '<kpi> <op> <value>'"},
            "kpi": {"type": "string", "minLength": 1},
            "op": {"enum": list(OPS)},
            "value": {"type": "number"},
        },
    })]
