"""The RSI message source: static road signs and road traffic events an RSU broadcasts.

T/CSAE 53-2020 RSI (2020 form; STANDARDS.md section 1): ``rtes`` 1..8 events (eventType a
GB/T 29100 code, eventPos, eventRadius [0.1 m], priority 0..7, description, referencePaths)
and ``rtss`` 1..16 signs (signType a GB 5768.2 code, signPos, description, priority,
referencePaths). Sign and event type codes are the scenario's numbers, passed through: the
testbed has not checked any code against the standards' tables (to verify). The RSI's
ASN.1 has no typed field for a sign's value: a speed-limit sign carries its limit in its
``description`` (e.g. ``"限速60"`` or ``"60 km/h"``).

Periods (T/CSAE 159-2020 as cited in STANDARDS.md section 2, (to verify)): static 1 s,
semi-static 500 ms, dynamic 100 ms (:data:`RSI_PERIODS_NS`). Each item has its own period
(signs default static, events default dynamic); at a step whose time is a multiple of an
item's period the item is due, and the RSU sends one RSI with every due item of its reach
(signs, and events that are active). More than 8 due events or 16 due signs are split over
several RSIs of the same step, each with the next msgCnt (frame ``k`` carries events
``8k..8k+7`` and signs ``16k..16k+15``, in configuration order). No due item: no RSI.

Placement of an item (network x/y [m], converted to WGS84 with the run's GeoFrame):

* ``x``, ``y``: the item's position;
* ``lane`` (a SUMO lane id) and ``lane_pos_m``: the position on the lane's shape, and the
  lane (its whole shape, thinned to 32 points) as the item's reference path, with
  ``radius_m`` as pathRadius (default half the lane width);
* ``path``: 2..32 (x, y) points as the reference path, ``radius_m`` its pathRadius; the
  position is ``x``, ``y`` or else the first point.

An RSU carries the items whose position or any reference path point lies within
``RsiConfig.range_m`` of it. Events are raised and cleared at run time
(:meth:`RsiSource.raise_event` / :meth:`RsiSource.clear_event`, or :func:`set_rsi_event`
over all RSUs); a change takes effect from the next ``transmit``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sumolib.geomhelper import positionAtShapeOffset

from roadside._sources import (
    MsgCount,
    RsuContext,
    check_payload,
    check_period,
    finite_xy,
    outgoing,
    register_source,
)
from v2x.errors import ConfigError, EncodeError
from v2x.geo import GeoFrame
from v2x.messages._map import Position3D
from v2x.messages._rsi import EventSource, ReferencePath, RoadTrafficEvent, RoadTrafficSign, Rsi
from v2x.messages._uper import RsiFrameTemplate, encode_frame
from v2x.sim import Outgoing, RoadUsers

__all__ = ["RSI_PERIODS_NS", "RsiConfig", "RsiEvent", "RsiSign", "RsiSource", "set_rsi_event"]

#: RSI broadcast periods [ns] by kind of information, T/CSAE 159-2020 (to verify)
RSI_PERIODS_NS = {"static": 1_000_000_000, "semi-static": 500_000_000,
                  "dynamic": 100_000_000}
#: RTEList / RTSList SIZE of one RSI (T/CSAE 53-2020)
MAX_EVENTS, MAX_SIGNS = 8, 16
#: ReferencePath activePath SIZE(2..32)
MAX_PATH_POINTS = 32
_EVENT_SOURCES = {s.name.lower(): s for s in EventSource}


@dataclass(frozen=True, kw_only=True)
class _Placed:
    """Where an RSI item is (see the module docstring)."""

    x: float = math.nan
    y: float = math.nan
    lane: str | None = None
    lane_pos_m: float = 0.0
    path: tuple[tuple[float, float], ...] = ()
    radius_m: float | None = None
    description: str | None = None
    priority: int | None = None

    def _check_place(self, key: str) -> None:
        has_xy = not (math.isnan(self.x) and math.isnan(self.y))
        if has_xy:
            finite_xy(f"{key}.x", self.x, self.y)
        if self.lane is not None and self.path:
            raise ConfigError("give a lane or a path, not both", key=f"{key}.path",
                              value=self.path)
        if not (has_xy or self.lane is not None or self.path):
            raise ConfigError("an RSI item needs x and y, a lane or a path", key=key)
        if self.path and not 2 <= len(self.path) <= MAX_PATH_POINTS:
            raise ConfigError(f"a reference path has 2..{MAX_PATH_POINTS} points",
                              key=f"{key}.path", value=self.path)
        for p in self.path:
            finite_xy(f"{key}.path", *p)
        if not (isinstance(self.lane_pos_m, numbers.Real) and math.isfinite(self.lane_pos_m)
                and self.lane_pos_m >= 0):
            raise ConfigError("lane_pos_m must be >= 0 [m]", key=f"{key}.lane_pos_m",
                              value=self.lane_pos_m)
        if self.radius_m is not None and not (
                isinstance(self.radius_m, numbers.Real) and 0 <= self.radius_m <= 6553.5):
            raise ConfigError("radius_m must be in 0..6553.5 [m] (Radius, 0.1 m)",
                              key=f"{key}.radius_m", value=self.radius_m)


@dataclass(frozen=True, kw_only=True)
class RsiSign(_Placed):
    """A static road sign (RTSData).

    Args:
        sign_type: GB 5768.2 sign code 0..65535 (the scenario's number; (to verify)).
        x, y: position [m, network coordinates]; or ``lane`` (SUMO lane id) with
            ``lane_pos_m`` [m] along it; or ``path`` ((x, y) [m], 2..32 points).
        radius_m: [m] 0..6553.5, the pathRadius of the reference path (lane or path);
            default half the lane width for a lane. RTSData has no radius of its own, so a
            sign placed by x, y only cannot carry one (ConfigError).
        description: text (ASCII, or GB2312 Chinese), e.g. a speed limit's value.
        priority: 0..7 (higher is more urgent) or ``None``.
        period_ns: [ns] default 1 s, static information (T/CSAE 159, (to verify)).
        rts_id: rtsId 0..255; default the sign's position in ``RsiConfig.signs``.
    """

    sign_type: int
    period_ns: int = RSI_PERIODS_NS["static"]
    rts_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class RsiEvent(_Placed):
    """A road traffic event (RTEData), raised and cleared by id at run time.

    Args:
        id: the event's name (what ``rsi_raise`` / ``rsi_clear`` actions target).
        event_type: GB/T 29100 event code 0..65535 (the scenario's number; (to verify)).
        x, y / lane, lane_pos_m / path: placement as :class:`RsiSign`.
        radius_m: eventRadius [m] 0..6553.5 (sent in 0.1 m) and the pathRadius of a
            reference path; ``None`` = absent (a lane's path then gets half its width).
        active: broadcast from the start of the run (else only once raised).
        priority: 0..7 or ``None``. description: text or ``None``.
        source: EventSource name ("unknown", "police", "government", "meteorological",
            "internet", "detection").
        period_ns: [ns] default 100 ms, dynamic information (T/CSAE 159, (to verify)); use
            :data:`RSI_PERIODS_NS` ``["semi-static"]`` (500 ms) for long-lived events such as
            road works.
        rte_id: rteId 0..255; default the event's position in ``RsiConfig.events``.
    """

    id: str
    event_type: int
    active: bool = True
    source: str = "unknown"
    period_ns: int = RSI_PERIODS_NS["dynamic"]
    rte_id: int | None = None


@dataclass(frozen=True)
class RsiConfig:
    """The RSI of a run: signs and events, and how far an RSU reaches.

    Args:
        signs: the static signs (at most 256: rtsId 0..255).
        events: the events (at most 256: rteId 0..255), ids unique.
        range_m: an RSU broadcasts the items within this distance of it [m] (default 300 m,
            the upper end of the 150..300 m range of the Day-1 applications, STANDARDS.md
            section 4, (to verify)).

    Raises ConfigError naming the key (``rsi.signs[i].field`` ...) and value of a bad item.
    """

    signs: tuple[RsiSign, ...] = ()
    events: tuple[RsiEvent, ...] = ()
    range_m: float = 300.0
    _values: tuple[tuple[RoadTrafficSign, ...], tuple[RoadTrafficEvent, ...]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signs", tuple(self.signs))
        object.__setattr__(self, "events", tuple(self.events))
        if not (isinstance(self.range_m, numbers.Real) and self.range_m > 0):
            raise ConfigError("range_m must be > 0 [m]", key="rsi.range_m", value=self.range_m)
        for name, items, hi in (("signs", self.signs, 256), ("events", self.events, 256)):
            if len(items) > hi:
                raise ConfigError(f"at most {hi} RSI {name} (ids 0..255)", key=f"rsi.{name}",
                                  value=len(items))
        ids = [e.id for e in self.events]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ConfigError("RSI event ids must be unique", key="rsi.events.id", value=dup[0])
        signs = tuple(_sign_value(f"rsi.signs[{i}]", s, i) for i, s in enumerate(self.signs))
        events = tuple(_event_value(f"rsi.events[{i}]", e, i)
                       for i, e in enumerate(self.events))
        for key, vals, attr in (("rsi.signs", signs, "rts_id"), ("rsi.events", events, "rte_id")):
            nums = [getattr(v, attr) for v in vals]
            if len(set(nums)) != len(nums):
                raise ConfigError(f"{attr} values must be unique", key=f"{key}.{attr}",
                                  value=nums)
        object.__setattr__(self, "_values", (signs, events))


def _check_value(key: str, build: Any) -> Any:
    """Build a value class and encode it once in an RSI: every range check of the codec,
    mapped to a ConfigError naming ``key``."""
    try:
        v = build()
        kw = ({"signs": (v,)} if isinstance(v, RoadTrafficSign) else {"events": (v,)})
        encode_frame(Rsi(0, bytes(8), Position3D(39.0, 117.0), **kw))
    except EncodeError as exc:
        raise ConfigError(str(exc), key=key) from exc
    return v


def _sign_value(key: str, s: RsiSign, i: int) -> RoadTrafficSign:
    s._check_place(key)
    check_period(f"{key}.period", s.period_ns)
    if s.radius_m is not None and s.lane is None and not s.path:
        raise ConfigError("RTSData has no radius: a sign's radius_m is the pathRadius of its "
                          "lane or path; give one, or no radius", key=f"{key}.radius_m",
                          value=s.radius_m)
    return _check_value(key, lambda: RoadTrafficSign(
        rts_id=i if s.rts_id is None else s.rts_id, sign_type=s.sign_type,
        description=s.description, priority=s.priority))


def _event_value(key: str, e: RsiEvent, i: int) -> RoadTrafficEvent:
    e._check_place(key)
    check_period(f"{key}.period", e.period_ns)
    if not isinstance(e.id, str) or not e.id:
        raise ConfigError("an RSI event needs an id (text)", key=f"{key}.id", value=e.id)
    if e.source not in _EVENT_SOURCES:
        raise ConfigError(f"source must be one of {list(_EVENT_SOURCES)}",
                          key=f"{key}.source", value=e.source)
    return _check_value(key, lambda: RoadTrafficEvent(
        rte_id=i if e.rte_id is None else e.rte_id, event_type=e.event_type,
        source=_EVENT_SOURCES[e.source], radius_m=e.radius_m, description=e.description,
        priority=e.priority))


# ---------------------------------------------------------------------------- placement


def _thin(xy: np.ndarray, n: int) -> np.ndarray:
    if len(xy) > n:
        xy = xy[np.unique(np.round(np.linspace(0, len(xy) - 1, n)).astype(int))]
    return xy


@dataclass(frozen=True)
class _Where:
    """An item resolved on the network: position and reference path [m], path radius [m]."""

    x: float
    y: float
    path: np.ndarray  # (k, 2), k = 0 or 2..32
    path_radius_m: float | None


def _resolve(key: str, item: _Placed, net: Any) -> _Where:
    path = np.asarray(item.path, np.float64).reshape(-1, 2)
    radius = item.radius_m
    x, y = float(item.x), float(item.y)
    if item.lane is not None:
        try:
            lane = net.getLane(item.lane)
        except (KeyError, ValueError, IndexError):
            raise ConfigError(f"the network has no lane {item.lane!r}", key=f"{key}.lane",
                              value=item.lane) from None
        shape = [tuple(p[:2]) for p in lane.getShape()]
        if item.lane_pos_m > lane.getLength():
            raise ConfigError(f"lane {item.lane!r} is {lane.getLength():.2f} m long",
                              key=f"{key}.lane_pos_m", value=item.lane_pos_m)
        if math.isnan(x):
            x, y = (float(v) for v in positionAtShapeOffset(shape, item.lane_pos_m)[:2])
        path = _thin(np.asarray(shape, np.float64), MAX_PATH_POINTS)
        if radius is None:
            radius = float(lane.getWidth()) / 2.0
    elif len(path) and math.isnan(x):
        x, y = float(path[0, 0]), float(path[0, 1])
    return _Where(x, y, path, radius)


def _within(where: _Where, x0: float, y0: float, range_m: float) -> bool:
    pts = np.vstack([[where.x, where.y], where.path]) if len(where.path) else \
        np.array([[where.x, where.y]])
    return bool((np.hypot(pts[:, 0] - x0, pts[:, 1] - y0) <= range_m).any())


def _latlon(geo: GeoFrame, xy: np.ndarray) -> tuple[Position3D, ...]:
    lat, lon = geo.to_latlon(xy[:, 0], xy[:, 1])
    return tuple(Position3D(lat_deg=a, lon_deg=o)
                 for a, o in zip(np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist(),
                                 strict=True))


def _placed(value: Any, where: _Where, geo: GeoFrame) -> Any:
    """``value`` (RoadTrafficSign / Event) with its position and reference path set."""
    (pos,) = _latlon(geo, np.array([[where.x, where.y]]))
    kw: dict[str, Any] = {"pos": pos}
    if len(where.path):
        kw["reference_paths"] = (ReferencePath(_latlon(geo, where.path),
                                               where.path_radius_m or 0.0),)
    return dataclasses.replace(value, **kw)


# ------------------------------------------------------------------------------- source


class RsiSource:
    """The RSI of one RSU: the configured signs and events within its reach.

    Args:
        cfg: the run's RSI configuration. ctx: the RSU (position, station id, geo, net,
            first msgCnt, payload form).

    Raises ConfigError for an unknown lane or a lane position beyond the lane's end.
    """

    msg_type = "RSI"

    def __init__(self, cfg: RsiConfig, ctx: RsuContext) -> None:
        self._json = check_payload(ctx.payload)
        self._id = ctx.station_id
        self._ref = ctx.ref_pos
        self._cnt = MsgCount(ctx.msg_cnt)
        sign_vals, event_vals = cfg._values
        self._signs: list[tuple[int, RoadTrafficSign]] = []
        self._events: dict[str, tuple[int, RoadTrafficEvent]] = {}
        self._known = frozenset(e.id for e in cfg.events)
        self._active: set[str] = set()
        # ids of the due events, -1, ids of the due signs (items this source holds for the
        # run) -> the frame template of that content (the rest of an RSI is fixed)
        self._templates: dict[tuple[int, ...], RsiFrameTemplate] = {}
        for i, (s, v) in enumerate(zip(cfg.signs, sign_vals, strict=True)):
            where = _resolve(f"rsi.signs[{i}]", s, ctx.net)
            if _within(where, ctx.x, ctx.y, cfg.range_m):
                self._signs.append((s.period_ns, _placed(v, where, ctx.geo)))
        for i, (e, ev) in enumerate(zip(cfg.events, event_vals, strict=True)):
            where = _resolve(f"rsi.events[{i}]", e, ctx.net)
            if _within(where, ctx.x, ctx.y, cfg.range_m):
                self._events[e.id] = (e.period_ns, _placed(ev, where, ctx.geo))
                if e.active:
                    self._active.add(e.id)
        periods = [p for p, _ in self._signs] + [p for p, _ in self._events.values()]
        self.period_ns = min(periods) if periods else RSI_PERIODS_NS["static"]
        # an item is due when t_ns is a multiple of its period, so of this common divisor of
        # them all: any other step has nothing due (0: no item within reach, never)
        self._due_every_ns = math.gcd(*periods)

    @property
    def event_ids(self) -> tuple[str, ...]:
        """The ids of the events within this RSU's reach (configuration order)."""
        return tuple(self._events)

    @property
    def active_events(self) -> tuple[str, ...]:
        """The ids of this RSU's events that are active now (configuration order)."""
        return tuple(i for i in self._events if i in self._active)

    def _set(self, event_id: str, active: bool) -> bool:
        if event_id not in self._known:
            raise ConfigError(f"no RSI event {event_id!r} (known: {sorted(self._known)})",
                              key="rsi.events.id", value=event_id)
        if event_id not in self._events:
            return False
        (self._active.add if active else self._active.discard)(event_id)
        return True

    def raise_event(self, event_id: str) -> bool:
        """Broadcast event ``event_id`` from the next ``transmit`` on. False when the event is
        out of this RSU's reach; ConfigError when no event of the configuration has that id."""
        return self._set(event_id, True)

    def clear_event(self, event_id: str) -> bool:
        """Stop broadcasting event ``event_id`` (as :meth:`raise_event`)."""
        return self._set(event_id, False)

    def messages(self, t_ns: int, utc_ns: int) -> list[Rsi]:
        """The RSIs due at ``t_ns`` [ns] without msgCnt taken (``msg_cnt`` 0): the due items
        in configuration order, split by 8 events / 16 signs."""
        return [self._rsi(events, signs, utc_ns) for events, signs in self._due(t_ns)]

    def _due(self, t_ns: int) -> list[tuple[tuple[RoadTrafficEvent, ...],
                                            tuple[RoadTrafficSign, ...]]]:
        """The (events, signs) of every RSI due at ``t_ns`` [ns] (see :meth:`messages`)."""
        if not self._due_every_ns or t_ns % self._due_every_ns:
            return []
        signs = [v for p, v in self._signs if t_ns % p == 0]
        events = [v for i, (p, v) in self._events.items()
                  if t_ns % p == 0 and i in self._active]
        n = max(-(-len(events) // MAX_EVENTS), -(-len(signs) // MAX_SIGNS))
        return [(tuple(events[k * MAX_EVENTS:(k + 1) * MAX_EVENTS]),
                 tuple(signs[k * MAX_SIGNS:(k + 1) * MAX_SIGNS])) for k in range(n)]

    def _rsi(self, events: tuple[RoadTrafficEvent, ...], signs: tuple[RoadTrafficSign, ...],
             utc_ns: int, msg_cnt: int = 0) -> Rsi:
        return Rsi(msg_cnt=msg_cnt, id=self._id, ref_pos=self._ref, events=events,
                   signs=signs, timestamp_ns=utc_ns)

    def _template(self, events: tuple[RoadTrafficEvent, ...],
                  signs: tuple[RoadTrafficSign, ...], utc_ns: int) -> RsiFrameTemplate:
        """The frame template of an RSI of these items (their set rarely changes: one
        template per set, kept for the run)."""
        key = (*map(id, events), -1, *map(id, signs))  # the source's own items
        tpl = self._templates.get(key)
        if tpl is None:
            tpl = self._templates[key] = RsiFrameTemplate(self._rsi(events, signs, utc_ns))
        return tpl

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """The RSI frames due at ``t_ns`` [ns]; ``size_bytes`` = the UPER frame's length."""
        out = []
        for events, signs in self._due(t_ns):
            cnt = self._cnt.take()
            # = encode_frame of the RSI with this msgCnt and timestamp
            frame = self._template(events, signs, utc_ns).encode(cnt, utc_ns)
            if self._json:
                out.append(outgoing(self._rsi(events, signs, utc_ns, cnt), frame, json=True))
            else:
                out.append(Outgoing("RSI", cnt, frame, len(frame)))
        return out


def _rsi_factory(ctx: RsuContext, cfg: RsiConfig | None) -> RsiSource | None:
    if cfg is None or not (cfg.signs or cfg.events):
        return None
    return RsiSource(cfg, ctx)


register_source("RSI", _rsi_factory)


def set_rsi_event(rsus: Iterable[Any], event_id: str, active: bool) -> int:
    """Raise (``active``) or clear event ``event_id`` at every RSU that carries it (the
    ``rsi_raise`` / ``rsi_clear`` actions of triggered events); effective from the next
    ``transmit``. Returns how many RSUs carry it (0: out of every RSU's reach).

    Raises ConfigError when no RSU has an RSI configuration with such an event."""
    sources: Sequence[RsiSource] = [s for r in rsus for s in getattr(r, "sources", ())
                                    if isinstance(s, RsiSource)]
    if not any(event_id in s._known for s in sources):
        raise ConfigError(f"no RSI event {event_id!r}", key="rsi.events.id", value=event_id)
    return sum(s._set(event_id, active) for s in sources)
