"""What an OBU reads from received RSIs: their events and signs as numpy columns in the
network frame, and the geometry the RSI applications (HLW, SLW) share.

An RSI (T/CSAE 53-2020, STANDARDS.md section 1; decoded value classes in
:mod:`v2x.messages._rsi`) carries up to 8 road traffic events and 16 signs, each with an
optional position (absent: the RSI's ``refPos``, our reading), an optional radius (events:
``eventRadius``) and up to 8 reference paths (2..32 points with a ``pathRadius``). Positions
arrive as absolute lat/lon after decoding; :func:`rsi_items` projects every one of a window's
frames with one call of the window's projection.

The zone of an item is the union of its disc (``radius_m`` around its position; events only)
and the corridors of its reference paths (points within ``pathRadius`` of the polyline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from v2x.apps._base import AppWindow

__all__ = ["LinkItems", "PathDistance", "RsiItems", "link_items", "path_distance", "rsi_items",
           "speed_limit_kmh", "wrap_deg"]

_LIMIT = re.compile(
    r"(?:限速|speed\s*limit|max(?:imum)?\s*speed)\D{0,3}(\d{1,3}(?:\.\d+)?)"
    r"|(\d{1,3}(?:\.\d+)?)\s*(?:km/h|kmh|kph|公里)", re.IGNORECASE)


def speed_limit_kmh(description: str | None) -> float:
    """The speed limit a sign's description states [km/h], NaN if it states none.

    The RSI's ASN.1 has no typed field for a sign's value, so the testbed's roadside puts it
    in the description (:mod:`roadside._rsi`): "限速40", "限速 40", "speed limit 40",
    "40 km/h" (case-insensitive) all give 40."""
    if not description:
        return float("nan")
    m = _LIMIT.search(description)
    if m is None:
        return float("nan")
    return float(m.group(1) or m.group(2))


def wrap_deg(angle_deg: np.ndarray) -> np.ndarray:
    """Angles [deg] wrapped to [-180, 180)."""
    wrapped: np.ndarray = (np.asarray(angle_deg, np.float64) + 180.0) % 360.0 - 180.0
    return wrapped


@dataclass(frozen=True)
class RsiItems:
    """The events (or signs) of a set of received RSI frames: (k,) per item, in frame order
    then item order, and their reference-path segments: (s,) per segment.

    Attributes:
        frame: int64 index of the item's frame in the ``tx_rows`` given to :func:`rsi_items`.
        item_id: int64 rteId / rtsId. item_type: int64 eventType / signType.
        x, y: float64 [m] network position (the RSI's refPos when the item has none).
        radius_m: float64 [m] eventRadius, NaN where absent (always NaN for signs).
        start_utc_ns, end_utc_ns: int64 [ns since the Unix epoch] of timeDetails; the
            smallest / largest int64 where absent (always in force).
        priority: int64 0..7, -1 where absent.
        limit_kmh: float64 [km/h] speed limit from the description (:func:`speed_limit_kmh`),
            NaN where none.
        description: object, the item's description (str, or None where absent).
        seg_start, seg_count: int64 the item's segments are rows
            ``seg_start .. seg_start + seg_count - 1`` of the segment columns.
        ax, ay, bx, by: (s,) float64 [m] segment ends (each reference path's consecutive
            points). seg_radius_m: (s,) float64 [m] the pathRadius of the segment's path.
    """

    frame: np.ndarray
    item_id: np.ndarray
    item_type: np.ndarray
    x: np.ndarray
    y: np.ndarray
    radius_m: np.ndarray
    start_utc_ns: np.ndarray
    end_utc_ns: np.ndarray
    priority: np.ndarray
    limit_kmh: np.ndarray
    description: np.ndarray
    seg_start: np.ndarray
    seg_count: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    seg_radius_m: np.ndarray

    @property
    def n(self) -> int:
        return int(self.frame.shape[0])


_I64_MIN, _I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def rsi_items(window: AppWindow, tx_rows: np.ndarray,
              kind: Literal["events", "signs"]) -> RsiItems:
    """The events or signs of the RSI transmissions ``tx_rows`` (k,) int (distinct rows; each
    frame decoded once by ``window.decoded``, frames that do not decode contribute nothing),
    projected to the network frame with one call of ``window.geo.to_xy``."""
    msgs: list[Any] = window.decoded("RSI", np.asarray(tx_rows, np.int64))
    frame: list[int] = []
    ids: list[int] = []
    types: list[int] = []
    lat: list[float] = []
    lon: list[float] = []
    radius: list[float] = []
    start: list[int] = []
    end: list[int] = []
    prio: list[int] = []
    limit: list[float] = []
    text: list[str | None] = []
    n_seg: list[int] = []
    p_lat: list[float] = []  # every path point, paths one after the other
    p_lon: list[float] = []
    p_first: list[bool] = []  # the point starts a path (no segment ends there)
    p_radius: list[float] = []
    for f, msg in enumerate(msgs):
        if msg is None:
            continue
        for item in getattr(msg, kind):
            pos = item.pos if item.pos is not None else msg.ref_pos
            frame.append(f)
            ids.append(item.rte_id if kind == "events" else item.rts_id)
            types.append(item.event_type if kind == "events" else item.sign_type)
            lat.append(pos.lat_deg)
            lon.append(pos.lon_deg)
            r = getattr(item, "radius_m", None)
            radius.append(float("nan") if r is None else float(r))
            start.append(_I64_MIN if item.start_ns is None else int(item.start_ns))
            end.append(_I64_MAX if item.end_ns is None else int(item.end_ns))
            prio.append(-1 if item.priority is None else int(item.priority))
            limit.append(speed_limit_kmh(item.description) if kind == "signs"
                         else float("nan"))
            text.append(item.description)
            segs = 0
            for path in item.reference_paths:
                for j, p in enumerate(path.points):
                    p_lat.append(p.lat_deg)
                    p_lon.append(p.lon_deg)
                    p_first.append(j == 0)
                    p_radius.append(float(path.radius_m))
                segs += len(path.points) - 1
            n_seg.append(segs)
    k = len(frame)
    x, y = window.geo.to_xy(np.array(lat + p_lat, np.float64), np.array(lon + p_lon, np.float64))
    x, y = np.atleast_1d(x), np.atleast_1d(y)
    px, py = x[k:], y[k:]
    ends = np.flatnonzero(~np.array(p_first, bool))  # a segment ends at every non-first point
    count = np.array(n_seg, np.int64)
    seg_start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64) if k else \
        np.empty(0, np.int64)
    return RsiItems(
        frame=np.array(frame, np.int64), item_id=np.array(ids, np.int64),
        item_type=np.array(types, np.int64), x=x[:k], y=y[:k],
        radius_m=np.array(radius, np.float64), start_utc_ns=np.array(start, np.int64),
        end_utc_ns=np.array(end, np.int64), priority=np.array(prio, np.int64),
        limit_kmh=np.array(limit, np.float64), description=np.array(text, object),
        seg_start=seg_start, seg_count=count,
        ax=px[ends - 1], ay=py[ends - 1], bx=px[ends], by=py[ends],
        seg_radius_m=np.array(p_radius, np.float64)[ends])


@dataclass(frozen=True)
class PathDistance:
    """Distance of m points to the reference paths of their items: (m,) each.

    Attributes:
        distance_m: float64 [m] to the nearest segment of the item's paths (inf: no path).
        radius_m: float64 [m] the pathRadius of that segment's path (NaN: no path).
        heading_deg: float64 [deg] direction of that segment, clockwise from north (NaN: no
            path).
    """

    distance_m: np.ndarray
    radius_m: np.ndarray
    heading_deg: np.ndarray


def path_distance(items: RsiItems, item: np.ndarray, x: np.ndarray,
                  y: np.ndarray) -> PathDistance:
    """Distance of the points ``x``, ``y`` (m,) [m] to the reference paths of ``items``' rows
    ``item`` (m,) int, vectorized over every (point, segment of its item) pair."""
    item = np.asarray(item, np.int64)
    m = item.size
    count = items.seg_count[item]
    total = int(count.sum())
    dist = np.full(m, np.inf)
    rad = np.full(m, np.nan)
    head = np.full(m, np.nan)
    if total == 0:
        return PathDistance(dist, rad, head)
    pair = np.repeat(np.arange(m), count)
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])
    seg = items.seg_start[item][pair] + (np.arange(total) - offset[pair])
    ax, ay = items.ax[seg], items.ay[seg]
    ux, uy = items.bx[seg] - ax, items.by[seg] - ay
    vx, vy = x[pair] - ax, y[pair] - ay
    length2 = ux * ux + uy * uy
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.clip(np.where(length2 > 0, (vx * ux + vy * uy) / length2, 0.0), 0.0, 1.0)
    d = np.hypot(vx - u * ux, vy - u * uy)
    order = np.lexsort((d, pair))  # per point, its nearest segment first
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
    at = pair[first]
    dist[at] = d[first]
    rad[at] = items.seg_radius_m[seg[first]]
    head[at] = np.degrees(np.arctan2(ux[first], uy[first])) % 360.0
    return PathDistance(dist, rad, head)


# -- (received RSI link, item) pairs: what IVS and TJW read (added with them) ---------------


@dataclass(frozen=True)
class LinkItems:
    """Every pair of a received RSI link and one item (event or sign) of its frame: (p,) each.

    Attributes:
        items: the items of the window's distinct RSI frames (:func:`rsi_items`).
        link: int64 row of the pair's link in ``window.links``.
        item: int64 row of the pair's item in ``items``.
        host: int64 row of the receiving host in ``window.hosts``.
        in_force: bool, the item's timeDetails hold at the host's time of the link's step.
    """

    items: RsiItems
    link: np.ndarray
    item: np.ndarray
    host: np.ndarray
    in_force: np.ndarray

    @property
    def n(self) -> int:
        return int(self.link.shape[0])


def link_items(window: AppWindow, rsi_code: int, kind: Literal["events", "signs"],
               keep: Any = None) -> LinkItems | None:
    """The (link, item) pairs of every RSI link of ``window`` (``msg_type == rsi_code``) and
    every item of its frame, each distinct frame decoded and projected once; ``keep``: an
    optional function of the :class:`RsiItems` giving a (k,) bool of the items to pair
    (e.g. only speed limits). ``None`` when the window has no RSI link."""
    lk = window.links
    rsi = np.flatnonzero(lk.msg_type == rsi_code)
    if rsi.size == 0:
        return None
    tx, inverse = np.unique(lk.tx[rsi], return_inverse=True)
    items = rsi_items(window, tx, kind)
    kept = (np.arange(items.n) if keep is None
            else np.flatnonzero(np.asarray(keep(items), bool)))  # ascending frame
    per_frame = np.bincount(items.frame[kept], minlength=tx.size)
    first = np.concatenate([[0], np.cumsum(per_frame)[:-1]]).astype(np.int64)
    count = per_frame[inverse]  # kept items of each link's frame
    pair_link = np.repeat(np.arange(rsi.size), count)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    item = kept[first[inverse][pair_link] + (np.arange(pair_link.size) - start[pair_link])]
    links = rsi[pair_link]
    now = window.start_utc_ns + window.t_ns[lk.step[links]]
    return LinkItems(items=items, link=links, item=item.astype(np.int64),
                     host=lk.host[links],
                     in_force=(items.start_utc_ns[item] <= now) & (now <= items.end_utc_ns[item]))
