"""Congestion on a road link, detected from the BSMs the RSUs forward: the cloud platform's
traffic-jam event.

What the platform sees: every BSM an RSU received (its uplink), each with the vehicle's id,
position, speed and heading. Every BSM is matched to a road link (a SUMO edge: the lane
centrelines of the edge) when it lies within ``match_m`` of one of its lanes and its heading is
within ``max_heading_diff_deg`` of that lane's direction there (so the two carriageways of a
road are told apart). A link is **congested** when, over the vehicles seen on it within the
last ``window_s`` (each by its latest BSM), at least ``min_vehicles`` are there and their mean
speed is below ``jam_speed_kmh``; a **jam** is a link congested without a break for
``hold_s``. Defaults: 10 km/h, 3 vehicles, 3 s (ours, after the TJW application's BSM rule:
GB/T 33171-2016 counts urban traffic below 10-20 km/h as severe congestion; T/CSAE 53-2020 TJW
and GB/T 29100 (event 707, traffic jam) set no threshold: to verify).

The jam's event (T/CSAE 53-2020 RTEData, eventType ``event_type`` default 707, GB/T 29100
traffic jam, to verify; source ``detection``) is centred on the queue (its slow vehicles,
below ``jam_speed_kmh``, from the most upstream to the most downstream along the link), its
radius half the queue's length plus ``margin_m`` (10 m). It goes down to every RSU within
``reach_m`` (default 300 m, the RSI range of :class:`roadside.RsiConfig`) of the queue's
tail and not past its head along the link: the RSUs *before* the jam (and beside it), whose
broadcasts reach the vehicles driving into it. While the jam lasts the event is sent again
every ``resend_s`` (1 s; an RSU holds a downlink RSI for 5 s, :mod:`roadside._downlink`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import BsmBatch, EventSource, Position3D, RoadTrafficEvent, Rsi

__all__ = ["CongestionConfig", "CongestionDetector", "Jam", "RoadLink"]

_KMH = 1.0 / 3.6  # [m/s] per km/h
_SPEED_UNIT = 0.02  # BSM speed [m/s] per unit
_HEADING_UNIT = 0.0125  # BSM heading [deg] per unit
_MAX_PAIRS = 1_000_000  # (BSM, lane segment) pairs matched at once (a few 10 MB of temporaries)


@dataclass(frozen=True)
class RoadLink:
    """A road link: ``id`` (e.g. the SUMO edge id) and its lanes' centrelines, each an
    ``(k, 2)`` array of network x, y [m] points (k >= 2) in the direction of travel.
    Raises ConfigError for a lane of fewer than 2 points."""

    id: str
    lanes: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        lanes = tuple(np.asarray(p, np.float64).reshape(-1, 2) for p in self.lanes)
        if not lanes or any(len(p) < 2 for p in lanes):
            raise ConfigError("a road link needs lanes of at least 2 points", key="cloud.links",
                              value=self.id)
        object.__setattr__(self, "lanes", lanes)


@dataclass(frozen=True)
class CongestionConfig:
    """Thresholds of the detector (see the module docstring for their sources)."""

    jam_speed_kmh: float = 10.0
    min_vehicles: int = 3
    hold_s: float = 3.0
    window_s: float = 1.0
    match_m: float = 3.0
    max_heading_diff_deg: float = 45.0
    reach_m: float = 300.0
    margin_m: float = 10.0
    resend_s: float = 1.0
    event_type: int = 707

    def __post_init__(self) -> None:
        for name in ("jam_speed_kmh", "hold_s", "window_s", "match_m", "reach_m", "resend_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"{name} must be a number > 0", key=f"cloud.{name}", value=v)
        if isinstance(self.min_vehicles, bool) or not isinstance(self.min_vehicles, int) \
                or self.min_vehicles < 1:
            raise ConfigError("min_vehicles must be an integer >= 1", key="cloud.min_vehicles",
                              value=self.min_vehicles)


@dataclass(frozen=True)
class Jam:
    """A jam on ``link``: the queue from ``tail`` to ``head`` (x, y [m]), its ``event`` and the
    RSUs it goes down to (names)."""

    link: str
    tail: tuple[float, float]
    head: tuple[float, float]
    event: RoadTrafficEvent
    rsus: tuple[str, ...]


@dataclass
class _Segments:
    """Every lane segment of every link as columns: start a (n, 2), direction u (n, 2) unit,
    length (n,), link index (n,), arc length along the lane at the start s0 (n,)."""

    a: np.ndarray
    u: np.ndarray
    length: np.ndarray
    link: np.ndarray
    s0: np.ndarray
    heading_deg: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.heading_deg = np.degrees(np.arctan2(self.u[:, 0], self.u[:, 1])) % 360.0


def _segments(links: Sequence[RoadLink]) -> _Segments:
    a, b, li, s0 = [], [], [], []
    for i, link in enumerate(links):
        for lane in link.lanes:
            seg = np.linalg.norm(np.diff(lane, axis=0), axis=1)
            a.append(lane[:-1])
            b.append(lane[1:])
            li.append(np.full(len(seg), i))
            s0.append(np.concatenate([[0.0], np.cumsum(seg)[:-1]]))
    pa, pb = np.concatenate(a), np.concatenate(b)
    d = pb - pa
    length = np.linalg.norm(d, axis=1)
    keep = length > 0
    return _Segments(pa[keep], d[keep] / length[keep, None], length[keep],
                     np.concatenate(li)[keep], np.concatenate(s0)[keep])


class CongestionDetector:
    """Detects jams on ``links`` from forwarded BSMs and says which RSUs to warn.

    Args:
        links: the road links watched.
        rsus: RSU name -> antenna position (x, y) [m, network coordinates].
        geo: network x/y <-> lat/lon (BSM positions are lat/lon).
        config: thresholds.

    Feed it with :meth:`observe` (BSMs as decoded, at a time in seconds of any monotonic
    clock), then ask :meth:`jams` at that time.
    """

    def __init__(self, links: Sequence[RoadLink], rsus: Mapping[str, tuple[float, float]], *,
                 geo: GeoFrame, config: CongestionConfig | None = None) -> None:
        if not links:
            raise ConfigError("the congestion detector needs at least one road link",
                              key="cloud.links")
        self.cfg = config or CongestionConfig()
        self.links = list(links)
        self.geo = geo
        self._seg = _segments(self.links)
        self._rsu_names = list(rsus)
        self._rsu_xy = np.array([rsus[n] for n in self._rsu_names], np.float64).reshape(-1, 2)
        # the window's observations: time [s], vehicle, link, arc length [m], x, y, speed
        self._obs = np.empty((0, 7))
        self._since = np.full(len(self.links), np.nan)  # congested without a break since [s]

    def observe(self, t_s: float, bsm: BsmBatch) -> int:
        """Add the BSMs ``bsm`` received at ``t_s`` [s]; returns how many matched a link."""
        if bsm.n == 0:
            return 0
        x, y = self.geo.to_xy(bsm.lat * 1e-7, bsm.lon * 1e-7)
        x, y = np.atleast_1d(x), np.atleast_1d(y)
        link, s = self._match(x, y, bsm.heading * _HEADING_UNIT)
        ok = link >= 0
        k = int(np.count_nonzero(ok))
        if k:
            rows = np.column_stack([np.full(k, t_s), bsm.sender[ok].astype(np.float64),
                                    link[ok], s[ok], x[ok], y[ok],
                                    bsm.speed[ok] * _SPEED_UNIT])
            self._obs = np.vstack([self._obs, rows])
        return k

    def _match(self, x: np.ndarray, y: np.ndarray,
               heading_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Link index (-1: none) and arc length [m] along the matched lane of every point,
        vectorized over (point, segment) pairs, in chunks of points of at most
        ``_MAX_PAIRS`` pairs (memory stays bounded on a city's network)."""
        link = np.full(len(x), -1, np.int64)
        s = np.zeros(len(x))
        step = max(1, _MAX_PAIRS // max(len(self._seg.length), 1))
        for a in range(0, len(x), step):
            b = a + step
            link[a:b], s[a:b] = self._match_chunk(x[a:b], y[a:b], heading_deg[a:b])
        return link, s

    def _match_chunk(self, x: np.ndarray, y: np.ndarray,
                     heading_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sg = self._seg
        px = np.column_stack([x, y])[:, None, :] - sg.a[None, :, :]  # (n, m, 2)
        along = np.clip(np.einsum("nmk,mk->nm", px, sg.u), 0.0, sg.length[None, :])
        foot = sg.a[None, :, :] + along[..., None] * sg.u[None, :, :]
        dist = np.hypot(x[:, None] - foot[..., 0], y[:, None] - foot[..., 1])
        dh = np.abs((heading_deg[:, None] - sg.heading_deg[None, :] + 180.0) % 360.0 - 180.0)
        dist[dh > self.cfg.max_heading_diff_deg] = np.inf
        best = np.argmin(dist, axis=1)
        n = np.arange(len(x))
        ok = dist[n, best] <= self.cfg.match_m
        link = np.where(ok, sg.link[best], -1)
        return link, sg.s0[best] + along[n, best]

    def jams(self, t_s: float) -> list[Jam]:
        """The jams at ``t_s`` [s]: links congested without a break for ``hold_s`` (checked
        at each call: call it at least every ``window_s``)."""
        cfg = self.cfg
        self._obs = self._obs[self._obs[:, 0] > t_s - cfg.window_s]
        obs = self._obs
        # each vehicle by its latest BSM (rows are in time order: keep the last per vehicle)
        _, last = np.unique(obs[::-1, 1], return_index=True)
        latest = obs[::-1][last]
        n_links = len(self.links)
        count = np.bincount(latest[:, 2].astype(np.int64), minlength=n_links)
        speed = np.bincount(latest[:, 2].astype(np.int64), weights=latest[:, 6],
                            minlength=n_links)
        mean = np.divide(speed, count, out=np.full(n_links, np.inf), where=count > 0)
        congested = (count >= cfg.min_vehicles) & (mean < cfg.jam_speed_kmh * _KMH)
        self._since[~congested] = np.nan
        self._since[congested & np.isnan(self._since)] = t_s
        out = []
        for li in np.flatnonzero(congested & (t_s - self._since >= cfg.hold_s - 1e-9)).tolist():
            q = latest[(latest[:, 2] == li) & (latest[:, 6] < cfg.jam_speed_kmh * _KMH)]
            if len(q):
                out.append(self._jam(li, q))
        return out

    def _jam(self, li: int, queue: np.ndarray) -> Jam:
        cfg = self.cfg
        tail, head = queue[np.argmin(queue[:, 3])], queue[np.argmax(queue[:, 3])]
        cx, cy = (tail[4] + head[4]) / 2.0, (tail[5] + head[5]) / 2.0
        half = float(np.hypot(head[4] - tail[4], head[5] - tail[5])) / 2.0
        lat, lon = self.geo.to_latlon(cx, cy)
        event = RoadTrafficEvent(rte_id=li % 256, event_type=cfg.event_type,
                                 source=EventSource.DETECTION,
                                 pos=Position3D(float(lat), float(lon)),
                                 radius_m=round(half + cfg.margin_m, 1),
                                 description="traffic jam")
        return Jam(self.links[li].id, (float(tail[4]), float(tail[5])),
                   (float(head[4]), float(head[5])), event, self._upstream(tail, head))

    def _upstream(self, tail: np.ndarray, head: np.ndarray) -> tuple[str, ...]:
        """RSUs within ``reach_m`` of the tail and not past the head along the queue."""
        if not self._rsu_names:
            return ()
        t, h = np.array(tail[4:6]), np.array(head[4:6])
        d = np.hypot(*(self._rsu_xy - t).T)
        axis = h - t
        norm = float(np.hypot(*axis))
        past = ((self._rsu_xy - h) @ (axis / norm) > 0) if norm > 0 else np.zeros(len(d), bool)
        keep = (d <= self.cfg.reach_m) & ~past
        return tuple(n for n, k in zip(self._rsu_names, keep.tolist(), strict=True) if k)

    def rsi(self, jam: Jam, rsu_xy: tuple[float, float]) -> Rsi:
        """The RSI carrying ``jam``'s event for an RSU at ``rsu_xy`` [m] (its refPos); msgCnt
        0 (the RSU numbers what it broadcasts), id 8 zero bytes (the platform's own), no
        timestamp (the platform's clock is not the simulation's)."""
        lat, lon = self.geo.to_latlon(*rsu_xy)
        return Rsi(msg_cnt=0, id=bytes(8), ref_pos=Position3D(float(lat), float(lon)),
                   events=(jam.event,))

    def rsu_xy(self, name: str) -> tuple[float, float]:
        """The position of RSU ``name`` [m]."""
        x, y = self._rsu_xy[self._rsu_names.index(name)]
        return float(x), float(y)
