"""RSU message sources: what an RSU broadcasts, one source per message type, found by name.

An RSU (:class:`roadside.RoadsideUnit`) is a list of message sources. A source has a message
type, a broadcast period and its own msgCnt (0..127, starting at a random value per RSU and
type drawn from the run's generator, wrapping 127 -> 0; STANDARDS.md section 1), and returns
the messages due at a step. The built-in sources are ``"SPAT"`` and ``"MAP"`` (this module),
``"RSI"`` (:mod:`roadside._rsi`) and ``"RSM"`` (:mod:`roadside._rsm`); a user's package adds
one with :func:`register_source` (an extension point of DESIGN.md, "RSU message sources").

A source factory is called once per RSU with the RSU's :class:`RsuContext` and the source's
configuration (whatever object the caller of :func:`roadside.make_rsus` passed for that name)
and returns the source, or ``None`` when the RSU has none of that type (no SPAT without a
traffic light, no MAP without a junction).

Periods (T/CSAE 159-2020 as cited in STANDARDS.md section 2, (to verify)): MAP <= 1 s,
SPAT <= 500 ms, RSM 100 ms, RSI static 1 s / semi-static 500 ms / dynamic 100 ms; multiples
of 100 ms. A source sends at the steps whose time is a multiple of its period.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from roadside._map import build_junction_map_node, build_map_node
from roadside._spat import SpatBuilder
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages._json import StaticMapJson, to_json_bytes
from v2x.messages._map import Position3D
from v2x.messages._uper import MapFrameTemplate, frame_to_json
from v2x.sim import Outgoing, RoadUsers

__all__ = ["MESSAGE_SOURCES", "MapSource", "MessageSource", "MsgCount", "QueuingSource",
           "RsuContext", "SourceFactory", "SpatSource", "register_source"]

#: the bus payload forms an RSU can send
PAYLOADS = ("uper", "json")


class MessageSource(Protocol):
    """One message type an RSU broadcasts.

    Attributes:
        msg_type: the message type (one of ``v2x.bus.MSG_TYPES``: "SPAT", "MAP", "RSI", "RSM").
        period_ns: broadcast period [ns].
    """

    msg_type: str
    period_ns: int

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """The messages due at simulated time ``t_ns`` [ns] (UTC ``utc_ns`` [ns since the
        Unix epoch]) given the road users present then; ``[]`` when none is due."""
        ...


@runtime_checkable
class QueuingSource(Protocol):
    """A message source that decides at each step and encodes the frames of several steps
    at once (:class:`roadside.RsmSource`): :meth:`queue` per step, in step order, then
    :meth:`drain`; ``transmit`` is the two at once."""

    msg_type: str
    period_ns: int

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """:meth:`queue` then :meth:`drain`."""
        ...

    def queue(self, t_ns: int, utc_ns: int, users: RoadUsers) -> int:
        """Take the step's decisions and draws now; how many messages the step has."""
        ...

    def drain(self) -> list[Outgoing]:
        """The messages of the steps queued since the last drain, in order."""
        ...


class MsgCount:
    """A msgCnt sequence: ``start`` (0..127), then +1 per message, wrapping 127 -> 0."""

    __slots__ = ("_next",)

    def __init__(self, start: int) -> None:
        self._next = int(start) % 128

    def take(self) -> int:
        """The msgCnt of the next message (and advance)."""
        cnt = self._next
        self._next = (cnt + 1) % 128
        return cnt


def check_period(key: str, period_ns: int) -> int:
    """``period_ns`` as int, or ConfigError naming ``key`` when it is not a positive integer
    number of nanoseconds."""
    if (isinstance(period_ns, bool) or not isinstance(period_ns, int | np.integer)
            or period_ns <= 0):
        raise ConfigError("a broadcast period must be a positive integer [ns]", key=key,
                          value=period_ns)
    return int(period_ns)


def check_payload(payload: str) -> bool:
    """True for ``"json"``, False for ``"uper"``; ConfigError (key ``rsu.payload``) else."""
    if payload not in PAYLOADS:
        raise ConfigError(f"RSU payload must be one of {PAYLOADS}, got {payload!r}",
                          key="rsu.payload", value=payload)
    return payload == "json"


@dataclass(frozen=True, eq=False)
class RsuContext:
    """What a source factory may use to build the source of one RSU.

    Attributes:
        name: the RSU id (bus topics). index: its position in the run's RSU list (the loop's
            node ``RSU_NODE_BASE + index``). station_id: the 8-byte RSU id of RSI / RSM
            (``RSU_NODE_BASE + index`` big-endian, the id the loop gives the RSU).
        x, y: antenna position [m, network coordinates].
        junction: the SUMO junction id of the RSU or ``None`` (a free position).
        tls: the SUMO traffic-light id of that junction or ``None`` (not signalized).
        conn: libsumo / TraCI module or a :class:`roadside.SignalMirror` (signal state).
        net: the ``sumolib.net.Net`` (read with programs).
        geo: network x/y <-> lat/lon. intersection_ids: SUMO junction id -> NodeID.
        payload: ``"uper"`` or ``"json"`` (bus payload form).
        msg_cnt: the first msgCnt of this source (drawn from the run's generator).
        rng: a generator of this RSU and source alone (e.g. perception noise).
        shared: one dict for the sources of all RSUs built together (e.g. the RSM sensors
            of every RSU, perceiving a step's road users in one pass); empty by default.
    """

    name: str
    index: int
    station_id: bytes
    x: float
    y: float
    junction: str | None
    tls: str | None
    conn: Any
    net: Any
    geo: GeoFrame
    intersection_ids: Mapping[str, int]
    payload: str
    msg_cnt: int
    rng: np.random.Generator
    shared: dict[Any, Any] = field(default_factory=dict)

    @property
    def ref_pos(self) -> Position3D:
        """The RSU position as the reference position of its RSI / RSM (no elevation)."""
        lat, lon = self.geo.to_latlon(self.x, self.y)
        return Position3D(lat_deg=float(lat), lon_deg=float(lon))


#: a source factory: (the RSU's context, the source's configuration) -> the source or None
SourceFactory = Callable[[RsuContext, Any], "MessageSource | None"]

#: message source factories by name (the order of registration is the order of the messages
#: of an RSU within a step)
MESSAGE_SOURCES: dict[str, SourceFactory] = {}


def register_source(name: str, factory: SourceFactory, *, replace: bool = False) -> None:
    """Register a message source factory under ``name`` (e.g. ``"RSI"``).

    Raises ConfigError when ``name`` is taken and ``replace`` is false."""
    if name in MESSAGE_SOURCES and not replace:
        raise ConfigError(f"an RSU message source {name!r} is already registered",
                          key="rsu.sources", value=name)
    MESSAGE_SOURCES[name] = factory


# ----------------------------------------------------------------------------- SPAT / MAP


@dataclass(frozen=True)
class SpatSourceConfig:
    """SPAT settings: ``period_ns`` [ns] (T/CSAE 159: <= 500 ms, (to verify))."""

    period_ns: int = 100_000_000


@dataclass(frozen=True)
class MapSourceConfig:
    """MAP settings: ``period_ns`` [ns] (T/CSAE 159: <= 1 s, (to verify))."""

    period_ns: int = 1_000_000_000


class SpatSource:
    """The SPAT of the RSU's traffic light, from the live SUMO signal (:class:`SpatBuilder`).

    The UPER frame comes from per-phase frame templates (exactly :func:`encode_frame` of the
    SPAT); with ``payload="json"`` the bus payload is its JSON form and the frame rides along.
    ``t_ns`` must be SUMO's current time: the counting-down times are SUMO's next switch minus
    ``t_ns``.
    """

    msg_type = "SPAT"

    def __init__(self, spat: SpatBuilder, *, period_ns: int, msg_cnt: int,
                 payload: str = "uper") -> None:
        self.spat = spat
        self.period_ns = check_period("rsu.spat_period", period_ns)
        self._json = check_payload(payload)
        self._cnt = MsgCount(msg_cnt)

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        if t_ns % self.period_ns:
            return []
        cnt = self._cnt.take()
        frame = self.spat.spat_frame(cnt, utc_ns, now_ns=t_ns)
        if self._json:  # JSON on the bus; the frame on the air (and in the recording)
            payload = self.spat.spat_json(cnt, utc_ns, now_ns=t_ns)
            return [Outgoing("SPAT", cnt, payload, len(frame), frame)]
        return [Outgoing("SPAT", cnt, frame, len(frame))]


class MapSource:
    """The MAP of the RSU's junction: one node, geometry static, so the UPER frame is encoded
    once and only msgCnt / timeStamp change (:class:`MapFrameTemplate`)."""

    msg_type = "MAP"

    def __init__(self, map_node: Any, *, period_ns: int, msg_cnt: int,
                 payload: str = "uper") -> None:
        self.map_node = map_node
        self.period_ns = check_period("rsu.map_period", period_ns)
        json_ = check_payload(payload)
        self._json = StaticMapJson((map_node,)) if json_ else None
        self._frame = MapFrameTemplate((map_node,))
        self._cnt = MsgCount(msg_cnt)

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        if t_ns % self.period_ns:
            return []
        cnt = self._cnt.take()
        frame = self._frame.encode(cnt, utc_ns)
        if self._json is not None:
            return [Outgoing("MAP", cnt, self._json.encode(cnt, utc_ns), len(frame), frame)]
        return [Outgoing("MAP", cnt, frame, len(frame))]


def _spat_factory(ctx: RsuContext, cfg: SpatSourceConfig) -> SpatSource | None:
    if ctx.tls is None or ctx.junction is None:
        return None
    return SpatSource(SpatBuilder(ctx.conn, ctx.tls, ctx.intersection_ids[ctx.junction]),
                      period_ns=cfg.period_ns, msg_cnt=ctx.msg_cnt, payload=ctx.payload)


def _map_factory(ctx: RsuContext, cfg: MapSourceConfig) -> MapSource | None:
    if ctx.junction is None:
        return None
    if ctx.tls is not None:
        node = build_map_node(ctx.net, ctx.tls, intersection_ids=ctx.intersection_ids,
                              geo=ctx.geo)
    else:
        node = build_junction_map_node(ctx.net, ctx.junction,
                                       intersection_ids=ctx.intersection_ids, geo=ctx.geo)
    return MapSource(node, period_ns=cfg.period_ns, msg_cnt=ctx.msg_cnt, payload=ctx.payload)


register_source("SPAT", _spat_factory)
register_source("MAP", _map_factory)


def outgoing(msg: Any, frame: bytes, *, json: bool) -> Outgoing:
    """The ``Outgoing`` of message value ``msg`` (its msgCnt set) whose UPER frame is
    ``frame``: the frame on the bus, or (``json``) its JSON form of
    :func:`v2x.messages.frame_to_json` with the frame kept for the air and the recording;
    ``size_bytes`` is always the frame's length."""
    msg_type = type(msg).__name__.upper()
    if json:
        body = to_json_bytes(frame_to_json(msg)[f"{msg_type.lower()}Frame"])
        return Outgoing(msg_type, msg.msg_cnt, body, len(frame), frame)
    return Outgoing(msg_type, msg.msg_cnt, frame, len(frame))


def utc_ns_of(start: dt.datetime) -> int:
    """``start`` as UTC [ns since the Unix epoch] (whole microseconds, as the RSU always did)."""
    return int((start - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()
               * 1_000_000) * 1000


def finite_xy(key: str, x: float, y: float) -> tuple[float, float]:
    """(x, y) as floats, or ConfigError naming ``key`` when either is not finite."""
    try:
        fx, fy = float(x), float(y)
    except (TypeError, ValueError):
        raise ConfigError("a position must be two numbers [m]", key=key,
                          value=(x, y)) from None
    if not (math.isfinite(fx) and math.isfinite(fy)):
        raise ConfigError("a position must be finite [m]", key=key, value=(x, y))
    return fx, fy
