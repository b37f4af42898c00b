"""The roadside unit: a list of message sources (:mod:`roadside._sources`) broadcast at their
periods, and a PC5 receiver whose uplink the loop forwards.

An RSU stands at a junction (signalized: SPAT and MAP; without a light: MAP, no SPAT) or at a
free position (no MAP, no SPAT); RSI and RSM do not need a junction. Periods (T/CSAE
159-2020 as cited in STANDARDS.md section 2, (to verify)): MAP <= 1 s, SPAT <= 500 ms,
RSM 100 ms, RSI 1 s / 500 ms / 100 ms, multiples of 100 ms; the scenario sets them. msgCnt
starts at a random value per RSU and message type (from the run's generator) and wraps
127 -> 0. Bus payloads are the messages' UPER MessageFrames (default, ``payload="uper"``:
exactly :func:`v2x.messages.encode_frame` of each message) or their JSON form
(``payload="json"``); ``size_bytes`` (what the channel model sees) is always the size of the
UPER frame.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from roadside._sources import (
    MESSAGE_SOURCES,
    MapSourceConfig,
    MessageSource,
    QueuingSource,
    RsuContext,
    SpatSourceConfig,
    check_payload,
    finite_xy,
    utc_ns_of,
)
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.sim import Outgoing, RoadUsers

__all__ = ["RoadsideUnit", "RsuSite", "build_rsus", "rsu_positions", "rsu_signal_ids"]

#: the loop's node id of RSU 0 (``v2x.sim.RSU_NODE_BASE``, not imported: the loop is heavy)
_RSU_NODE_BASE = 1_000_000


class RoadsideUnit:
    """An RSU: where it is and what it broadcasts.

    Args:
        name: the RSU id (bus topics): its junction / traffic-light id, or the site's name.
        x, y: antenna position [m, network coordinates].
        antenna_height_m: [m].
        sources: its message sources (:class:`roadside.MessageSource`), in the order their
            messages are listed within a step.
        start: scenario start instant (UTC time of the messages).
        junction: the SUMO junction it stands at, or ``None`` (a free position).
    """

    def __init__(self, *, name: str, x: float, y: float, antenna_height_m: float,
                 sources: Sequence[MessageSource], start: dt.datetime,
                 junction: str | None = None) -> None:
        self.name = name
        self.x = float(x)
        self.y = float(y)
        self.antenna_height_m = float(antenna_height_m)
        self.junction = junction
        self.sources: tuple[MessageSource, ...] = tuple(sources)
        self._start_ns = utc_ns_of(start)
        # the sources that encode at drain, by their position
        self._queuing = {i: s for i, s in enumerate(self.sources)
                         if isinstance(s, QueuingSource)}
        self._steps: list[list[Outgoing | int]] = []  # the queued steps' messages

    @property
    def msg_types(self) -> tuple[str, ...]:
        """The message types it broadcasts (in source order)."""
        return tuple(s.msg_type for s in self.sources)

    def source(self, msg_type: str) -> MessageSource | None:
        """Its source of ``msg_type`` ("SPAT", "MAP", "RSI", "RSM" ...) or ``None``."""
        return next((s for s in self.sources if s.msg_type == msg_type), None)

    def transmit(self, t_ns: int, users: RoadUsers, /) -> list[Outgoing]:
        """The messages due at simulated time ``t_ns`` [ns], every source in turn
        (:meth:`queue` and :meth:`drain` at once: messages queued before come first).

        ``t_ns`` must be SUMO's current simulation time (as the loop passes it): the SPAT's
        counting-down times are SUMO's next switch minus ``t_ns``. ``users`` are the road
        users present at ``t_ns`` (the RSM perceives them; the other sources ignore them).
        Each ``Outgoing`` carries the UPER frame (or the JSON form, see ``payload``) and the
        UPER frame's length.
        """
        self.queue(t_ns, users)
        return [o for step in self.drain() for o in step]

    def queue(self, t_ns: int, users: RoadUsers, /) -> int:
        """Decide the messages due at ``t_ns`` [ns] (as :meth:`transmit`) and return how
        many there are; sources that can (:class:`roadside.QueuingSource`: the RSM) take
        their draws and msgCnts now and encode at :meth:`drain`, the others send now. Call
        once per step, in step order; ``users`` must stay unchanged until :meth:`drain`."""
        utc_ns = self._start_ns + t_ns
        msgs: list[Outgoing | int] = []  # an int i: a message source i encodes at drain
        queuing = self._queuing
        for i, s in enumerate(self.sources):
            if i in queuing:
                msgs += [i] * queuing[i].queue(t_ns, utc_ns, users)
            else:
                msgs += s.transmit(t_ns, utc_ns, users)
        self._steps.append(msgs)
        return len(msgs)

    def drain(self) -> list[list[Outgoing]]:
        """The messages of every step queued since the last drain, one list per step (in
        source order within it); queued sources encode theirs now.

        Raises EncodeError as the sources' ``transmit``."""
        steps, self._steps = self._steps, []
        if not self._queuing:
            return cast(list[list[Outgoing]], steps)
        encoded = {i: iter(s.drain()) for i, s in self._queuing.items()}
        return [[next(encoded[o]) if isinstance(o, int) else o for o in msgs]
                for msgs in steps]

    # -- what it hears (sources that answer: the payment zone of roadside._vnfp) ----------
    @property
    def listens(self) -> bool:
        """A source of this RSU answers what it hears (it has a ``heard`` method): the loop
        hands it the BSMs the RSU decoded (:meth:`heard`)."""
        return any(getattr(s, "listens", False) for s in self.sources)

    def heard(self, **bsms: Any) -> None:
        """The BSMs this RSU decoded in a window (keyword columns ``(k,)``: ``sender``,
        ``x``, ``y`` [m], ``sec_mark`` [ms], ``received_ns`` [ns]), handed to every source
        that listens."""
        for s in self.sources:
            hear = getattr(s, "heard", None) if getattr(s, "listens", False) else None
            if hear is not None:
                hear(**bsms)

    def relay(self, msg: object, from_ns: int) -> bool:
        """Broadcast ``msg`` (a message value from the downlink, e.g. an
        :class:`~v2x.messages.Rsi`) from step ``from_ns`` [ns] on: handed to every source
        that relays (:class:`roadside.DownlinkRsiSource`, built when the run reads the
        downlink). False when none takes it (no such source, or another message type)."""
        taken = False
        for s in self.sources:
            fn = getattr(s, "relay", None)
            if fn is not None:
                taken = bool(fn(msg, from_ns)) or taken
        return taken

    def raise_event(self, event_id: str) -> bool:
        """Broadcast RSI event ``event_id`` from the next ``transmit`` on; False when this
        RSU has no RSI or the event is out of its reach. Raises ConfigError for an id that
        its RSI configuration does not have."""
        return self._set_event(event_id, True)

    def clear_event(self, event_id: str) -> bool:
        """Stop broadcasting RSI event ``event_id`` (as :meth:`raise_event`)."""
        return self._set_event(event_id, False)

    def _set_event(self, event_id: str, active: bool) -> bool:
        carried = False
        for s in self.sources:  # every source with events, not only the first that has it
            fn = getattr(s, "raise_event" if active else "clear_event", None)
            if fn is not None:
                carried = bool(fn(event_id)) or carried
        return carried


@dataclass(frozen=True)
class RsuSite:
    """Where an RSU stands: at a SUMO ``junction`` (signalized or not) or at ``x``, ``y``.

    Args:
        junction: SUMO junction id (or the id of the traffic light controlling one junction).
        x, y: a free position [m, network coordinates] (NaN when ``junction`` is given).
        name: the RSU id; default the junction id, or ``"rsu_<x>_<y>"`` (rounded metres).

    Raises ConfigError unless exactly one of ``junction`` and (``x``, ``y``) is given.
    """

    junction: str | None = None
    x: float = math.nan
    y: float = math.nan
    name: str | None = None

    def __post_init__(self) -> None:
        has_xy = not (math.isnan(self.x) and math.isnan(self.y))
        if (self.junction is None) == (not has_xy):
            raise ConfigError("an RSU stands at a junction or at x, y (exactly one)",
                              key="rsus.junction", value=(self.junction, self.x, self.y))
        if has_xy:
            finite_xy("rsus.x", self.x, self.y)

    @property
    def id(self) -> str:
        """The RSU id."""
        if self.name is not None:
            return self.name
        if self.junction is not None:
            return self.junction
        return f"rsu_{round(self.x)}_{round(self.y)}"


@dataclass(frozen=True)
class _Place:
    name: str
    x: float
    y: float
    junction: str | None
    tls: str | None


def _tls_of_junctions(net: Any) -> dict[str, str]:
    """junction id -> the id of the traffic light controlling it (one junction per light)."""
    out: dict[str, str] = {}
    for tls in net.getTrafficLights():
        junctions = {c[0].getEdge().getToNode().getID() for c in tls.getConnections()}
        if len(junctions) == 1:
            out.setdefault(junctions.pop(), tls.getID())
    return out


def _places(net: Any, sites: Sequence[RsuSite | str]) -> list[_Place]:
    """Resolve sites on the network, sorted by RSU name (names unique)."""
    tls_ids = {t.getID(): t for t in net.getTrafficLights()}
    tls_of = _tls_of_junctions(net)
    node_ids = {n.getID() for n in net.getNodes() if n.getType() != "internal"}
    places = []
    for s in sites:
        site = RsuSite(junction=s) if isinstance(s, str) else s
        if site.junction is None:
            places.append(_Place(site.id, float(site.x), float(site.y), None, None))
            continue
        j = site.junction
        if j in tls_ids and j not in node_ids:  # a light's id: the junction it controls
            junction = next((k for k, v in tls_of.items() if v == j), None)
            if junction is None:
                raise ConfigError(f"traffic light {j!r} controls several junctions; put the "
                                  "RSU at one of them", key="rsus.junction", value=j)
            j = junction
        elif j not in node_ids:
            raise ConfigError(f"the network has no junction {j!r}", key="rsus.junction",
                              value=j)
        x, y = net.getNode(j).getCoord()[:2]
        places.append(_Place(site.id, float(x), float(y), j, tls_of.get(j)))
    names = [p.name for p in places]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError("two RSUs have the same id", key="rsus.name", value=dup[0])
    return sorted(places, key=lambda p: p.name)


def rsu_signal_ids(net: Any, sites: Sequence[RsuSite | str]) -> list[str]:
    """The traffic lights the RSUs at ``sites`` read (the ``tls_ids`` a
    :class:`v2x.traffic.SumoTrafficSide` must report), in RSU order.

    Raises ConfigError as :func:`build_rsus` for a site that is not on the network."""
    return [p.tls for p in _places(net, sites) if p.tls is not None]


def rsu_positions(net: Any, sites: Sequence[RsuSite | str]) -> dict[str, tuple[float, float]]:
    """RSU id -> antenna position (x, y) [m, network coordinates] of the RSUs at ``sites``
    (what :func:`build_rsus` places them at), sorted by id.

    Raises ConfigError as :func:`build_rsus` for a site that is not on the network."""
    return {p.name: (p.x, p.y) for p in _places(net, sites)}


def _child(seq: np.random.SeedSequence, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(
        seq.entropy, spawn_key=(*seq.spawn_key, *key)))


def build_rsus(conn: Any, net: Any, sites: Sequence[RsuSite | str], *, geo: GeoFrame,
               intersection_ids: Mapping[str, int], antenna_height_m: float,
               start: dt.datetime, spat_period_ns: int, map_period_ns: int,
               rng: np.random.Generator, payload: str = "uper",
               sources: Mapping[str, Any] | None = None) -> list[RoadsideUnit]:
    """One RSU per site, sorted by RSU id.

    Args:
        conn: the running SUMO connection (libsumo module or TraCI) or a
            :class:`roadside.SignalMirror` (SPAT of signalized junctions).
        net: the ``sumolib.net.Net`` read with programs.
        sites: :class:`RsuSite` values, or junction / traffic-light ids (a signalized
            junction's light id, as before, is its RSU's name).
        geo: network x/y -> lat/lon. intersection_ids: SUMO junction id -> NodeID (see
            :func:`roadside.junction_numbers`).
        antenna_height_m: [m]. start: scenario start instant.
        spat_period_ns, map_period_ns: SPAT / MAP periods [ns].
        rng: the run's RSU generator: two msgCnt starts per RSU (SPAT, MAP, drawn whether
            the RSU has them or not), in RSU order, as the RSUs always drew them; the other
            sources draw their msgCnt start and randomness from generators derived from its
            seed sequence by RSU index and source name (independent of each other).
        payload: ``"uper"`` or ``"json"`` bus payloads for every message.
        sources: configurations of the other registered sources by name (``"RSI"``:
            :class:`roadside.RsiConfig`, ``"RSM"``: :class:`roadside.RsmConfig`, a user's
            own ...); ``None`` values are skipped.

    Raises:
        ConfigError: bad payload, a site not on the network, duplicate RSU ids, a source name
            that is not registered, or a source's own configuration error.
        EncodeError: a MAP node cannot be encoded.
    """
    check_payload(payload)
    configs: dict[str, Any] = {"SPAT": SpatSourceConfig(spat_period_ns),
                               "MAP": MapSourceConfig(map_period_ns)}
    for k, v in (sources or {}).items():
        if k not in MESSAGE_SOURCES:
            raise ConfigError(f"no RSU message source {k!r} (registered: "
                              f"{', '.join(MESSAGE_SOURCES)})", key="rsu.sources", value=k)
        if k in ("SPAT", "MAP"):
            raise ConfigError("SPAT and MAP take their periods as arguments",
                              key="rsu.sources", value=k)
        if v is not None:
            configs[k] = v
    seq = rng.bit_generator.seed_seq
    if not isinstance(seq, np.random.SeedSequence):
        raise ConfigError("the RSUs' generator must be seeded from a SeedSequence",
                          key="seed", value=repr(seq))
    rsus = []
    shared: dict[Any, Any] = {}  # what the sources of these RSUs share (RsuContext.shared)
    for r, p in enumerate(_places(net, sites)):
        first = rng.integers(0, 128, size=2)  # SPAT, MAP: the order the RSUs always drew
        built = []
        for name, factory in MESSAGE_SOURCES.items():
            if name not in configs:
                continue
            if name in ("SPAT", "MAP"):
                cnt, src_rng = int(first[0 if name == "SPAT" else 1]), _child(seq, r, 0)
            else:
                src_rng = _child(seq, r, zlib.crc32(name.encode()))
                cnt = int(src_rng.integers(0, 128))
            ctx = RsuContext(
                name=p.name, index=r,
                station_id=(_RSU_NODE_BASE + r).to_bytes(8, "big"), x=p.x, y=p.y,
                junction=p.junction, tls=p.tls, conn=conn, net=net, geo=geo,
                intersection_ids=intersection_ids, payload=payload, msg_cnt=cnt, rng=src_rng,
                shared=shared)
            src = factory(ctx, configs[name])
            if src is not None:
                built.append(src)
        rsus.append(RoadsideUnit(name=p.name, x=p.x, y=p.y, antenna_height_m=antenna_height_m,
                                 sources=built, start=start, junction=p.junction))
    return rsus
