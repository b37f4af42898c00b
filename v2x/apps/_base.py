"""The on-board application interface: what an application reads, what it returns, and the
registry that finds applications by name.

An application runs on every equipped vehicle (its *host*) and reads only what a real OBU has:
the messages its host received (decoded from their UPER frames) and the host's own state.
The loop hands it one :class:`AppWindow` per window of steps: every received link to an OBU
of the message types it consumes, the decoded content of those messages, and the hosts' own
state, all as numpy columns. The application returns :class:`Assessments`: one row per
(host, received message) that it assessed, saying whether that message shows a threat and
about whom (the *target*: the remote vehicle, or the RSU whose SPAT/RSI/RSM it was).

Warnings come from assessments in one place for every application (:class:`ThreatHold`): a
(host, target) pair threatens from a warning assessment until the next assessment of that
target or ``hold_ns`` after it; a host's warning starts where one of its pairs starts to
threaten, and the warning row carries that step's most critical assessment (smallest
``criticality``, e.g. TTC). A lost message therefore does not end a warning, and the result
does not depend on how steps are grouped into windows.

Applications are registered by name (:func:`register_app`) with a pydantic configuration
model; a scenario picks them under ``[applications.NAME]``; :func:`make_app` builds one from
its configuration. A user's package can add its own through the entry point group
``v2x.apps`` (an entry point's object is called once to register).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from v2x.errors import ConfigError
from v2x.messages._spat import SpatPhaseStates

if TYPE_CHECKING:
    from v2x.apps._heard_maps import HeardMaps

__all__ = [
    "AppConfig",
    "AppWindow",
    "Application",
    "Assessments",
    "DecodedBsm",
    "ReceivedLinks",
    "app_config_model",
    "app_names",
    "config_problem",
    "make_app",
    "register_app",
]


class AppConfig(BaseModel):
    """Settings every application has; an application's own model adds its keys (strict:
    ``"yes"`` is not a boolean, a string is not a number; unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    enabled: bool = True
    hold_s: float = 0.5
    """How long a threatening assessment stays valid without a newer message from its
    target [s]; 0.5 s = 5 BSM periods at 10 Hz (one lost BSM does not end a warning; our
    choice)."""


@dataclass(frozen=True)
class DecodedBsm:
    """What every OBU reads from the window's BSMs, decoded once from their UPER frames (PC5
    is a broadcast: every receiver gets the same bytes); (b,) per BSM, NaN where a frame did
    not decode or an element is 'unavailable'.

    Attributes:
        sender: int64 node id of the sender (vehicle index).
        x, y: float64 [m] network coordinates of the sender's front bumper, from the
            quantized lat/lon (1e-7 deg, T/CSAE 53-2020 Latitude/Longitude).
        speed: float64 [m/s] (0.02 m/s units on the air).
        heading_deg: float64 [deg] clockwise from north (0.0125 deg units on the air).
        accel: float64 [m/s²] longitudinal (0.01 m/s² units on the air).
        length, width: float64 [m] (1 cm units on the air).
        hard_braking: bool, the hardBraking bit (7) of the safetyExt VehicleEventFlags.
        brake: bool, brakePadel on.
        sec_mark: int64 [ms of the minute] (DSecond).
        t_ns: int64 [ns] simulated time the BSM was sent.
        events: int64 safetyExt.events, VehicleEventFlags bits (flag ``1 << k`` = bit k:
            hazardLights 0, ABSactivated 2, tractionControlLoss 3, stabilityControlActivated
            4, hardBraking 7, disabledVehicle 11, ...); -1 where the frame did not decode.
        classification: int64 vehicleClass.classification (BasicVehicleClass: 60..69
            emergency vehicles); -1 where the frame did not decode.
        lights: int64 safetyExt.lights, ExteriorLights bits (leftTurnSignalOn 2,
            rightTurnSignalOn 3, hazardSignalOn 4, ...); -1 absent.
        siren_use: int64 emergencyExt.sirenUse (0 unavailable, 1 notInUse, 2 inUse,
            3 reserved); -1 absent.
        lightbar_use: int64 emergencyExt.lightsUse (LightbarInUse: 1 notInUse, 2 inUse, ...);
            -1 absent.
        (The last five default to -1 for every row when not given.)
    """

    sender: np.ndarray
    x: np.ndarray
    y: np.ndarray
    speed: np.ndarray
    heading_deg: np.ndarray
    accel: np.ndarray
    length: np.ndarray
    width: np.ndarray
    hard_braking: np.ndarray
    brake: np.ndarray
    sec_mark: np.ndarray
    t_ns: np.ndarray
    events: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    classification: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    lights: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    siren_use: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    lightbar_use: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def __post_init__(self) -> None:
        n = int(self.sender.shape[0])
        for name in ("events", "classification", "lights", "siren_use", "lightbar_use"):
            if getattr(self, name).shape[0] != n:
                object.__setattr__(self, name, np.full(n, -1, np.int64))


@dataclass(frozen=True)
class ReceivedLinks:
    """The window's links that an OBU received, of the message types an application
    consumes: (m,) each, in step order.

    Attributes:
        host: int64 row of the receiving vehicle in :attr:`AppWindow.hosts`.
        tx: int64 transmission of the window (row of its transmissions table).
        msg: int64 row of the message within its type (for BSMs: the row of
            :attr:`AppWindow.bsm`; for other types: the key of :meth:`AppWindow.decoded`).
        msg_type: int8 code into :data:`v2x.recorder.MSG_TYPES`.
        sender: int64 node id of the sender (vehicle index, or RSU node).
        step: int64 step within the window.
        distance_m: float64 [m] sender-receiver distance.
        latency_ns: int64 [ns] air latency of the reception.
        link: int64 index of the link in the window's channel links.
    """

    host: np.ndarray
    tx: np.ndarray
    msg: np.ndarray
    msg_type: np.ndarray
    sender: np.ndarray
    step: np.ndarray
    distance_m: np.ndarray
    latency_ns: np.ndarray
    link: np.ndarray

    def of_type(self, code: int) -> ReceivedLinks:
        """The links of one message type (code into ``MSG_TYPES``)."""
        return self.take(np.flatnonzero(self.msg_type == code))

    def take(self, rows: np.ndarray) -> ReceivedLinks:
        """The links at ``rows`` (m',) int."""
        return ReceivedLinks(**{f: getattr(self, f)[rows] for f in _LINK_FIELDS})

    @property
    def n(self) -> int:
        return int(self.host.shape[0])


_LINK_FIELDS = tuple(ReceivedLinks.__dataclass_fields__)


@dataclass(frozen=True)
class AppWindow:
    """What the hosts of a window of steps received, and their own state.

    Attributes:
        t_ns: (n_steps,) int64 [ns] the step times.
        hosts: the window's vehicle rows (:class:`v2x.traffic.VehicleStates`, every step's
            rows concatenated); a host reads only its own row.
        host_step: (n,) int64 step of each vehicle row within the window.
        links: the received links to OBUs of the types the application consumes (read-only
            columns: applications that consume the same types share them).
        bsm: the decoded BSMs of the window (rows referenced by ``links.msg``).
        decoded: ``decoded(msg_type, rows)`` returns the decoded message value objects
            (:mod:`v2x.messages`) of the transmissions ``rows`` of that type (decoded once
            per distinct frame, ``None`` where a frame did not decode).
        sec_mark: (n_steps,) int64 [ms of the minute] the hosts' clock at each step.
        start_utc_ns: int [ns since the Unix epoch] of simulated time 0 (UTC clock of the
            messages' timestamps: a step's UTC time is ``start_utc_ns + t_ns``).
        geo: the projection between lat/lon and the network x/y the hosts' own positions
            are in (:class:`v2x.geo.GeoFrame`).
        spat_states: optional ``spat_states(rows)``: the phase states
            (:class:`~v2x.messages.SpatPhaseStates`) of the SPAT transmissions ``rows``,
            read once per distinct frame straight from its bits, without building the value
            objects (``None`` where a frame did not decode); ``None``: not offered, an
            application takes them from ``decoded`` (:func:`v2x.apps.received_spat_states`
            does either).
        maps: optional :class:`~v2x.apps.HeardMaps`: what the hosts learned from the MAPs
            they received up to and including this window, one instance for every
            application of a run (the loop learns each window's MAPs once, before the
            applications assess it); ``None``: an application that reads MAP learns them
            itself (:func:`v2x.apps.maps_of` does either).
    """

    t_ns: np.ndarray
    hosts: Any  # VehicleStates (v2x.traffic; not imported here to keep apps light)
    host_step: np.ndarray
    links: ReceivedLinks
    bsm: DecodedBsm
    decoded: Callable[[str, np.ndarray], list[Any]]
    sec_mark: np.ndarray
    start_utc_ns: int
    geo: Any
    spat_states: Callable[[np.ndarray], list[SpatPhaseStates | None]] | None = None
    maps: HeardMaps | None = None


@dataclass(frozen=True)
class Assessments:
    """An application's conclusions from the messages its hosts received: (m,) each.

    Attributes:
        link: int64 row of the assessed link in :attr:`AppWindow.links`.
        target: int64 node id the assessment is about (remote vehicle index, or the RSU's
            node for a SPAT / RSI), 0 <= target < 2**31.
        warn: bool, the assessment shows a threat.
        criticality: float64, lower is more critical (e.g. TTC [s]); the warning row
            carries the most critical warning assessment of its host and step.
        ttc_s: float64 [s] time to collision or to the conflict point, NaN if not relevant.
        gap_m: float64 [m] distance to the conflict (gap, distance to the stop line, ...),
            NaN if not relevant.
    """

    link: np.ndarray
    target: np.ndarray
    warn: np.ndarray
    criticality: np.ndarray
    ttc_s: np.ndarray
    gap_m: np.ndarray

    @classmethod
    def empty(cls) -> Assessments:
        i, f = np.empty(0, np.int64), np.empty(0, np.float64)
        return cls(i, i, np.empty(0, bool), f, f, f)

    @property
    def n(self) -> int:
        return int(self.link.shape[0])


@runtime_checkable
class Application(Protocol):
    """An on-board application, vectorized over every host and received message of a window.

    Attributes:
        name: its short name in warnings and reports ("FCW", "EBW", "RLVW", ...).
        consumes: the message types it reads (from ``MSG_TYPES``).
        hold_ns: validity of a warning assessment without a newer one [ns].
    """

    name: ClassVar[str]
    consumes: ClassVar[tuple[str, ...]]
    hold_ns: int

    def assess(self, window: AppWindow) -> Assessments:
        """Assess every received message of the window (see :class:`Assessments`)."""
        ...


@dataclass(frozen=True)
class _Entry:
    factory: Callable[[Any], Application]
    config: type[AppConfig]
    title: str


_REGISTRY: dict[str, _Entry] = {}
_PLUGINS_LOADED = False


def register_app(key: str, factory: Callable[[Any], Application], config: type[AppConfig],
                 *, title: str = "") -> None:
    """Make an application available as ``[applications.KEY]`` (lower-case key).

    ``factory(config)`` builds the application from a validated instance of ``config`` (a
    subclass of :class:`AppConfig`). Registering a key again replaces it.
    """
    if not key.isidentifier() or key != key.lower():
        raise ValueError(f"application key must be a lower-case identifier, got {key!r}")
    if not (isinstance(config, type) and issubclass(config, AppConfig)):
        raise TypeError(f"config must be a subclass of AppConfig, got {config!r}")
    _REGISTRY[key] = _Entry(factory, config, title)


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    for ep in entry_points(group="v2x.apps"):
        ep.load()()


def app_names() -> list[str]:
    """The registered application keys, sorted."""
    _load_plugins()
    return sorted(_REGISTRY)


def app_config_model(key: str) -> type[AppConfig]:
    """The configuration model of application ``key``.

    Raises ConfigError naming the key and the known applications.
    """
    _load_plugins()
    try:
        return _REGISTRY[key].config
    except KeyError:
        raise ConfigError(f"unknown application (known: {', '.join(sorted(_REGISTRY))})",
                          key=f"applications.{key}", value=key) from None


def make_app(key: str, settings: AppConfig | Mapping[str, Any] | None = None) -> Application:
    """Build application ``key`` from its settings (a validated config or a mapping).

    Raises ConfigError naming ``applications.KEY.FIELD`` and the bad value.
    """
    model = app_config_model(key)
    if settings is None or isinstance(settings, Mapping):
        try:
            settings = model.model_validate(dict(settings or {}))
        except ValidationError as exc:
            field, message, bad = config_problem(exc, model)
            raise ConfigError(message, key=f"applications.{key}.{field}", value=bad) from exc
    return _REGISTRY[key].factory(settings)


def config_problem(exc: ValidationError, model: type[BaseModel]) -> tuple[str, str, Any]:
    """The first error of an application's settings as ``(field, message, bad value)``, in
    the words of the scenario loader ("unknown key (known: ...)", "expected true or
    false")."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = f"unknown key (known: {', '.join(sorted(model.model_fields))})"
    elif err["type"] in ("bool_type", "bool_parsing"):
        message = f"expected true or false, got {err.get('input')!r}"
    return field, message, err.get("input")
