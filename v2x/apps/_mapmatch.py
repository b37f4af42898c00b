"""Map matching against decoded MAP messages: which approach lane a host is on, and how far
its stop line is.

What an OBU has is the decoded MAP (T/CSAE 53-2020 / YD/T 3709-2020; value classes of
:mod:`v2x.messages._map` as :func:`v2x.messages.decode_frame` returns them): nodes with a
reference position, incoming links, lanes with a width, allowed maneuvers, connections
(``connectsTo`` with the ``phaseId`` of the SPAT phase that governs the movement) and a centre
line of WGS84 points. :func:`lane_table` turns the lanes of some nodes into flat arrays once
(positions projected to network x/y [m] with a :class:`v2x.geo.GeoFrame`); :func:`match` then
matches ``(n,)`` hosts at once; :class:`MapCache` keeps one table per distinct node content so
that a MAP repeated every second (a new ``msgCnt`` or timestamp, the same nodes) costs one
equality check.

Conventions (those of :mod:`v2x.apps._fcw`): x east, y north [m]; headings [deg] clockwise from
north, so direction ``h`` is ``(sin h, cos h)`` and its right is ``(cos h, -sin h)``; host
positions are front-bumper centres (SUMO's), so the distance to the stop line is the front
bumper's. Lane points run upstream to downstream (the standard's PointList; see
:mod:`v2x.messages._map`): the **last point of an incoming lane lies on its stop line**
(:mod:`roadside._map` sends the SUMO lane shape, which ends at the junction border).

Matching rule (our choices; the standard leaves map matching to the implementation):

1. A host matches a lane segment when its distance to the segment is at most half the lane
   width plus ``tolerance_m`` (default 0.5 m: 1e-7 degree position quantization is ~1 cm, the
   rest absorbs a lane-level positioning error, T/CSAE 53's <= 1.5 m being an upper bound) and
   its heading is within ``max_heading_diff_deg`` (default 45) of the segment direction, so a
   vehicle on the lane in the opposite direction never matches.
2. The last segment of each lane continues ``past_stop_m`` (default 10 m) beyond the stop line,
   so a host that has just crossed it still matches, with a negative distance to the stop line;
   the first segment does not extend upstream of the lane's first point.
3. Among the segments a host matches, it takes the nearest centre line; ties go to a match on
   the lane proper before one on a stop-line extension (the extension of an incoming lane runs
   over the next node's lanes), then to the lowest lane index, then the lowest segment index. A
   host exactly on the boundary of two lanes of equal width is therefore matched to the lane
   listed first in the MAP (lowest link, then lane, in MAP order).
4. Distance to the stop line = lane length - arc length of the host's projection on the
   polyline: positive before the stop line, 0 on it, negative after it.

Cost: one ``(n, L)`` bounding-box test (``L`` lanes, done in chunks of hosts), then arithmetic on
the (host, segment) pairs that pass it only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from v2x.apps._spat_view import node_key
from v2x.geo import GeoFrame
from v2x.messages._map import AllowedManeuvers, MapData, MapNode

__all__ = ["LaneTable", "MapCache", "MatchResult", "StopCircles", "lane_table", "match"]

#: lane width used when neither the lane nor its link gives one [m] (3.5 m urban lanes)
DEFAULT_LANE_WIDTH_M = 3.5
#: number of AllowedManeuvers bits (BIT STRING SIZE(12))
_N_BITS = 12
#: (hosts x lanes) cells per bounding-box chunk
_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True, slots=True)
class LaneTable:
    """The lanes of some MAP nodes as flat arrays; build with :func:`lane_table`.

    Lanes ``(L,)`` (lanes without points are left out: nothing to match against):
        node_key: int64 :func:`~v2x.apps.node_key` of the node (region and id).
        node_id: int64 NodeID. link: int64 index of the link in its node's ``in_links``.
        lane_id: int64 LaneID. upstream_node_id: int64 NodeID the link comes from.
        width_m: float64 [m] (lane width; else link width / lanes; else 3.5 m).
        maneuvers: int64 AllowedManeuvers bits of the lane (0 = absent or none).
        stop_x, stop_y: float64 [m], the lane's last point (on the stop line).
        length_m: float64 [m], polyline length.
        phase_by_bit: int64 ``(L, 12)``: phaseId of the lane's first connection whose
            ``connectingLane.maneuver`` has bit k, -1 if none (or no phaseId).
        first_phase: int64 phaseId of the lane's first connection with one, -1 if none.
        seg_start: int64 ``(L + 1,)``: segments of lane i are ``seg_start[i]:seg_start[i+1]``.
        conn_start: int64 ``(L + 1,)``: connections of lane i likewise.
        box: float64 ``(L, 4)`` x min, x max, y min, y max of the points [m].

    Segments ``(S,)``: seg_lane int64; x0, y0 [m] start; ux, uy unit direction; seg_len [m];
    s0 [m] arc length at the start; heading_deg [deg clockwise from north]; last bool (the
    segment ending on the stop line).

    Connections ``(C,)``: conn_lane int64; conn_phase int64 phaseId (-1 absent);
    conn_maneuver int64 AllowedManeuvers bits of ``connectingLane.maneuver`` (0 absent);
    conn_remote int64 node_key of ``remoteIntersection``; conn_to_lane int64 connecting
    LaneID (-1 absent).
    """

    node_key: np.ndarray
    node_id: np.ndarray
    link: np.ndarray
    lane_id: np.ndarray
    upstream_node_id: np.ndarray
    width_m: np.ndarray
    maneuvers: np.ndarray
    stop_x: np.ndarray
    stop_y: np.ndarray
    length_m: np.ndarray
    phase_by_bit: np.ndarray
    first_phase: np.ndarray
    seg_start: np.ndarray
    conn_start: np.ndarray
    box: np.ndarray
    seg_lane: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    ux: np.ndarray
    uy: np.ndarray
    seg_len: np.ndarray
    s0: np.ndarray
    heading_deg: np.ndarray
    last: np.ndarray
    conn_lane: np.ndarray
    conn_phase: np.ndarray
    conn_maneuver: np.ndarray
    conn_remote: np.ndarray
    conn_to_lane: np.ndarray

    @property
    def n_lanes(self) -> int:
        """Number of lanes L."""
        return int(self.node_key.shape[0])

    @classmethod
    def concat(cls, tables: Sequence[LaneTable]) -> LaneTable:
        """One table of the lanes of several (e.g. one per node or per RSU), in order."""
        if not tables:
            return _build([], [])
        lane_off = np.cumsum([0] + [t.n_lanes for t in tables])
        seg_off = np.cumsum([0] + [t.seg_lane.shape[0] for t in tables])
        conn_off = np.cumsum([0] + [t.conn_lane.shape[0] for t in tables])
        cols = {}
        for name in (f.name for f in fields(cls)):
            parts = [getattr(t, name) for t in tables]
            if name in ("seg_start", "conn_start"):
                off = seg_off if name == "seg_start" else conn_off
                cols[name] = np.concatenate(
                    [parts[0][:1] * 0] + [p[1:] + off[i] for i, p in enumerate(parts)])
            elif name in ("seg_lane", "conn_lane"):
                cols[name] = np.concatenate([p + lane_off[i] for i, p in enumerate(parts)])
            else:
                cols[name] = np.concatenate(parts)
        return cls(**cols)

    def movement_phase(self, lane: npt.ArrayLike,
                       maneuver: AllowedManeuvers | npt.ArrayLike = AllowedManeuvers.STRAIGHT,
                       *, fallback: bool = True) -> np.ndarray:
        """The phaseId that governs a maneuver from each lane, vectorized.

        Args:
            lane: ``(n,)`` int lane indices (``MatchResult.lane``); -1 = no lane.
            maneuver: one AllowedManeuvers flag for all, or ``(n,)`` int flags; the lowest set
                bit is used (default straight ahead).
            fallback: where the lane has no connection of that maneuver (e.g. a left-turn-only
                lane asked for straight), take the phaseId of its first connection that has
                one.

        Returns ``(n,)`` int64 phaseId, -1 where there is no lane or no such phase.
        """
        ln = np.asarray(lane, dtype=np.int64)
        man = np.broadcast_to(np.asarray(maneuver, dtype=np.int64), ln.shape)
        low = man & -man  # lowest set bit
        bit = np.where(low > 0, np.log2(np.maximum(low, 1)).astype(np.int64), 0)
        ok = (ln >= 0) & (low > 0) & (bit < _N_BITS)
        lc = np.where(ok, ln, 0)
        if self.n_lanes == 0:
            return np.full(ln.shape, -1, np.int64)
        phase = np.where(ok, self.phase_by_bit[lc, np.minimum(bit, _N_BITS - 1)], -1)
        if fallback:
            phase = np.where((phase < 0) & (ln >= 0), self.first_phase[np.maximum(ln, 0)],
                             phase)
        return phase  # type: ignore[no-any-return]

    def connections(self, lane: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """All connections of ``(n,)`` lanes as pairs: ``(row, conn)`` (k,) int64 each, ``row``
        the query index, ``conn`` an index into the ``conn_*`` arrays (e.g.
        ``conn_phase[conn]`` are the phaseIds of row's lane). Lanes -1 have none."""
        ln = np.asarray(lane, dtype=np.int64)
        rows = np.flatnonzero(ln >= 0)
        start = self.conn_start[ln[rows]]
        count = self.conn_start[ln[rows] + 1] - start
        row = np.repeat(rows, count)
        first = np.repeat(np.cumsum(count) - count, count)
        conn = np.repeat(start, count) + np.arange(row.shape[0]) - first
        return row.astype(np.int64), conn.astype(np.int64)


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The lane each of ``(n,)`` hosts is on; all fields ``(n,)``.

    Attributes:
        lane: int64 index into the :class:`LaneTable`, -1 = no match.
        node_key: int64 :func:`~v2x.apps.node_key` of the lane's node, -1 no match.
        node_id: int64 NodeID, -1 no match. lane_id: int64 LaneID, -1 no match.
        lateral_m: float64 [m] distance from the centre line, positive to the right of the
            lane direction (NaN no match).
        to_stop_m: float64 [m] along the lane to the stop line: > 0 before it, < 0 past it
            (NaN no match).
        heading_diff_deg: float64 [deg] host heading minus lane direction, wrapped to
            [-180, 180) (NaN no match).
    """

    lane: np.ndarray
    node_key: np.ndarray
    node_id: np.ndarray
    lane_id: np.ndarray
    lateral_m: np.ndarray
    to_stop_m: np.ndarray
    heading_diff_deg: np.ndarray

    @property
    def matched(self) -> np.ndarray:
        """``(n,)`` bool, the host matched a lane."""
        return self.lane >= 0  # type: ignore[no-any-return]

    def take(self, rows: np.ndarray) -> MatchResult:
        """The matches at ``rows`` ``(k,)`` int (e.g. one per received message of a host
        matched once)."""
        return MatchResult(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


def _build(lanes: list[tuple[int, int, int, int, int, float, int, np.ndarray]],
           conns: list[tuple[int, int, int, int, int]]) -> LaneTable:
    """Assemble a table from per-lane rows ``(node_key, node_id, link, lane_id, upstream,
    width, maneuvers, xy (k, 2))`` and connection rows ``(lane, phase, maneuver, remote,
    to_lane)``."""
    n = len(lanes)
    xy = [ln[7] for ln in lanes]
    seg_count = np.array([len(p) - 1 for p in xy], np.int64)
    seg_start = np.concatenate([[0], np.cumsum(seg_count)]).astype(np.int64)
    if n:
        a = np.concatenate([p[:-1] for p in xy])
        b = np.concatenate([p[1:] for p in xy])
    else:
        a = b = np.zeros((0, 2))
    d = b - a
    seg_len = np.hypot(d[:, 0], d[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = np.where(seg_len > 0, d[:, 0] / seg_len, 0.0)
        uy = np.where(seg_len > 0, d[:, 1] / seg_len, 0.0)
    seg_lane = np.repeat(np.arange(n, dtype=np.int64), seg_count)
    cum = np.cumsum(seg_len)
    lane_end = cum[seg_start[1:] - 1] if n else np.zeros(0)
    lane_begin = np.concatenate([[0.0], lane_end[:-1]]) if n else np.zeros(0)
    s0 = cum - seg_len - np.repeat(lane_begin, seg_count)
    length = lane_end - lane_begin
    last = np.zeros(seg_lane.shape, bool)
    if n:
        last[seg_start[1:] - 1] = True
    box = (np.array([[p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()]
                     for p in xy]) if n else np.zeros((0, 4)))
    c = np.array(conns, np.int64).reshape(-1, 5)
    conn_lane = c[:, 0]
    conn_start = np.searchsorted(conn_lane, np.arange(n + 1)).astype(np.int64)
    phase_by_bit = np.full((n, _N_BITS), -1, np.int64)
    first_phase = np.full(n, -1, np.int64)
    # reversed so that the first connection of a lane wins
    for lane_i, phase, man, _, _ in reversed(conns):
        if phase < 0:
            continue
        first_phase[lane_i] = phase
        for k in range(_N_BITS):
            if man >> k & 1:
                phase_by_bit[lane_i, k] = phase
    return LaneTable(
        node_key=np.array([ln[0] for ln in lanes], np.int64),
        node_id=np.array([ln[1] for ln in lanes], np.int64),
        link=np.array([ln[2] for ln in lanes], np.int64),
        lane_id=np.array([ln[3] for ln in lanes], np.int64),
        upstream_node_id=np.array([ln[4] for ln in lanes], np.int64),
        width_m=np.array([ln[5] for ln in lanes], np.float64),
        maneuvers=np.array([ln[6] for ln in lanes], np.int64),
        stop_x=np.array([p[-1, 0] for p in xy], np.float64),
        stop_y=np.array([p[-1, 1] for p in xy], np.float64),
        length_m=length.astype(np.float64), phase_by_bit=phase_by_bit, first_phase=first_phase,
        seg_start=seg_start, conn_start=conn_start, box=box.reshape(-1, 4).astype(np.float64),
        seg_lane=seg_lane, x0=a[:, 0].copy(), y0=a[:, 1].copy(), ux=ux, uy=uy, seg_len=seg_len,
        s0=s0, heading_deg=np.degrees(np.arctan2(ux, uy)) % 360.0, last=last,
        conn_lane=conn_lane, conn_phase=c[:, 1], conn_maneuver=c[:, 2], conn_remote=c[:, 3],
        conn_to_lane=c[:, 4])


def lane_table(nodes: Iterable[MapNode] | MapData, geo: GeoFrame, *,
               default_lane_width_m: float = DEFAULT_LANE_WIDTH_M) -> LaneTable:
    """The lane table of MAP nodes (decoded value classes), positions projected with ``geo``.

    Args:
        nodes: the nodes (or a whole :class:`~v2x.messages.MapData`).
        geo: the frame of the network x/y the hosts are given in.
        default_lane_width_m: [m] for a lane without ``laneWidth`` whose link has no
            ``linkWidth`` either (with ``linkWidth``, it is shared equally by the lanes).

    Lanes are taken in MAP order (node, link, lane); lanes with fewer than 2 points are left
    out. One pyproj call for all points. Not a hot path: call it once per distinct node
    content (see :class:`MapCache`).
    """
    if isinstance(nodes, MapData):
        nodes = nodes.nodes
    rows: list[tuple[int, int, int, int, int, float, int]] = []
    pts: list[tuple[float, float]] = []
    counts: list[int] = []
    conns: list[tuple[int, int, int, int, int]] = []
    for node in nodes:
        nk = int(node_key(node.id.id, -1 if node.id.region is None else node.id.region))
        for li, link in enumerate(node.in_links):
            shared = (link.link_width_m / len(link.lanes)
                      if link.link_width_m is not None and link.link_width_m > 0 else None)
            for lane in link.lanes:
                if len(lane.points) < 2:
                    continue
                width = lane.lane_width_m if lane.lane_width_m else shared
                lane_index = len(rows)
                rows.append((nk, node.id.id, li, lane.lane_id, link.upstream_node_id.id,
                             float(width if width else default_lane_width_m),
                             int(lane.maneuvers or 0)))
                pts.extend((p.lat_deg, p.lon_deg) for p in lane.points)
                counts.append(len(lane.points))
                for c in lane.connects_to:
                    r = c.remote_intersection
                    cl = c.connecting_lane
                    conns.append((lane_index, -1 if c.phase_id is None else c.phase_id,
                                  0 if cl is None or cl.maneuver is None else int(cl.maneuver),
                                  int(node_key(r.id, -1 if r.region is None else r.region)),
                                  -1 if cl is None else cl.lane))
    if pts:
        ll = np.array(pts, np.float64)
        x, y = geo.to_xy(ll[:, 0], ll[:, 1])
        xy = np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])
        split: list[np.ndarray] = np.split(xy, np.cumsum(counts)[:-1])
    else:
        split = []
    kept: list[tuple[Any, ...]] = []
    kept_conns: list[tuple[Any, ...]] = []
    index = np.full(len(rows), -1, np.int64)
    for i, (row, line) in enumerate(zip(rows, split, strict=True)):
        step = np.any(np.diff(line, axis=0) != 0.0, axis=1)
        line = line[np.concatenate([[True], step])]  # repeated points make no segment
        if len(line) >= 2:
            index[i] = len(kept)
            kept.append((*row, line))
    for conn in conns:
        if index[conn[0]] >= 0:
            kept_conns.append((int(index[conn[0]]), *conn[1:]))
    return _build(kept, kept_conns)


def match(lanes: LaneTable, x: npt.ArrayLike, y: npt.ArrayLike, heading_deg: npt.ArrayLike,
          *, tolerance_m: float = 0.5, max_heading_diff_deg: float = 45.0,
          past_stop_m: float = 10.0) -> MatchResult:
    """Match ``(n,)`` hosts to the lanes of ``lanes`` (the rule in the module docstring).

    Args:
        lanes: the lane table.
        x, y: ``(n,)`` host front-bumper centres [m, network]; NaN never matches.
        heading_deg: ``(n,)`` host headings [deg clockwise from north].
        tolerance_m: [m] added to half the lane width; >= 0.
        max_heading_diff_deg: [deg] largest |host heading - lane direction|, 0..180.
        past_stop_m: [m] how far beyond its stop line a lane still matches, >= 0.

    Returns :class:`MatchResult`. Raises ValueError for mis-shaped input or a parameter out of
    range.
    """
    if not (tolerance_m >= 0 and past_stop_m >= 0 and 0 <= max_heading_diff_deg <= 180):
        raise ValueError("tolerance_m and past_stop_m must be >= 0 and max_heading_diff_deg "
                         "in 0..180")
    hx, hy, hh = (np.asarray(a, dtype=np.float64) for a in (x, y, heading_deg))
    if not (hx.shape == hy.shape == hh.shape) or hx.ndim != 1:
        raise ValueError(f"x, y and heading_deg must share one (n,) shape, got {hx.shape}, "
                         f"{hy.shape}, {hh.shape}")
    n = hx.shape[0]
    best_seg = np.full(n, -1, np.int64)
    best_dist = np.full(n, np.inf)
    best_t = np.zeros(n)
    best_lat = np.full(n, np.nan)
    L = lanes.n_lanes
    if L and n:
        reach = lanes.width_m / 2.0 + tolerance_m
        grow = np.maximum(reach, past_stop_m)  # the stop-line extension may leave the box
        bx0, bx1 = lanes.box[:, 0] - grow, lanes.box[:, 1] + grow
        by0, by1 = lanes.box[:, 2] - grow, lanes.box[:, 3] + grow
        chunk = max(1, _CHUNK_CELLS // L)
        for c0 in range(0, n, chunk):
            cx, cy = hx[c0:c0 + chunk, None], hy[c0:c0 + chunk, None]
            inside = (cx >= bx0) & (cx <= bx1) & (cy >= by0) & (cy <= by1)
            h, ln = np.nonzero(inside)
            h += c0
            start = lanes.seg_start[ln]
            count = lanes.seg_start[ln + 1] - start
            ph = np.repeat(h, count)
            first = np.repeat(np.cumsum(count) - count, count)
            seg = np.repeat(start, count) + np.arange(ph.shape[0]) - first
            _pairs(lanes, hx, hy, hh, ph, seg, reach, tolerance_m, max_heading_diff_deg,
                   past_stop_m, best_seg, best_dist, best_t, best_lat)
    hit = best_seg >= 0
    sc = np.where(hit, best_seg, 0)
    lane = np.where(hit, lanes.seg_lane[sc] if L else -1, -1)
    lc = np.maximum(lane, 0)
    nan = np.full(n, np.nan)
    if L:
        to_stop = np.where(hit, lanes.length_m[lc] - (lanes.s0[sc] + best_t), np.nan)
        dh = np.where(hit, (hh - lanes.heading_deg[sc] + 180.0) % 360.0 - 180.0, np.nan)
        nk = np.where(hit, lanes.node_key[lc], -1)
        nid = np.where(hit, lanes.node_id[lc], -1)
        lid = np.where(hit, lanes.lane_id[lc], -1)
    else:
        to_stop, dh = nan, nan.copy()
        nk = nid = lid = np.full(n, -1, np.int64)
    return MatchResult(lane=lane.astype(np.int64), node_key=nk.astype(np.int64),
                       node_id=nid.astype(np.int64), lane_id=lid.astype(np.int64),
                       lateral_m=np.where(hit, best_lat, np.nan), to_stop_m=to_stop,
                       heading_diff_deg=dh)


def _pairs(lanes: LaneTable, hx: np.ndarray, hy: np.ndarray, hh: np.ndarray, ph: np.ndarray,
           seg: np.ndarray, reach: np.ndarray, tolerance_m: float, max_dh: float,
           past_stop_m: float, best_seg: np.ndarray, best_dist: np.ndarray, best_t: np.ndarray,
           best_lat: np.ndarray) -> None:
    """Evaluate (host, segment) pairs and keep each host's best match (updates ``best_*`` in
    place)."""
    if ph.size == 0:
        return
    px = hx[ph] - lanes.x0[seg]
    py = hy[ph] - lanes.y0[seg]
    ux, uy = lanes.ux[seg], lanes.uy[seg]
    along = px * ux + py * uy
    hi = lanes.seg_len[seg] + np.where(lanes.last[seg], past_stop_m, 0.0)
    t = np.clip(along, 0.0, hi)
    ex, ey = px - t * ux, py - t * uy
    dist = np.hypot(ex, ey)
    cross = px * uy - py * ux  # > 0: right of the segment direction
    dh = np.abs((hh[ph] - lanes.heading_deg[seg] + 180.0) % 360.0 - 180.0)
    with np.errstate(invalid="ignore"):
        ok = (dist <= reach[lanes.seg_lane[seg]]) & (dh <= max_dh)
    if not ok.any():
        return
    ph, seg, dist, t, cross = ph[ok], seg[ok], dist[ok], t[ok], cross[ok]
    extended = t > lanes.seg_len[seg]
    # per host: nearest, then on the lane before on an extension, then lowest segment index
    # (segments are numbered lane by lane, so lowest lane first)
    o = np.lexsort((seg, extended, dist, ph))
    ph, seg, dist, t, cross = ph[o], seg[o], dist[o], t[o], cross[o]
    first = np.ones(ph.shape, bool)
    first[1:] = ph[1:] != ph[:-1]
    h = ph[first]
    better = dist[first] < best_dist[h]  # hosts are in one chunk only: always true
    h = h[better]
    sel = np.flatnonzero(first)[better]
    best_seg[h] = seg[sel]
    best_dist[h] = dist[sel]
    best_t[h] = t[sel]
    best_lat[h] = np.copysign(dist[sel], cross[sel])


@dataclass(frozen=True, slots=True)
class StopCircles:
    """For each node of a lane table, a circle around its lanes' stop points (each lane's last
    point, on its stop line): centred on their mean, reaching the farthest. A position's
    distance to any stop point of the node is at least its distance to the circle: a lower
    bound for ``(n,)`` positions in one ``(nodes, n)`` pass; build with :meth:`of`.

    Attributes:
        lanes: the lane table (to tell whether it is still current).
        x, y: ``(k,)`` float64 [m, network] the centres, one per node.
        radius_m: ``(k,)`` float64 [m].
    """

    lanes: LaneTable
    x: np.ndarray
    y: np.ndarray
    radius_m: np.ndarray

    @classmethod
    def of(cls, lanes: LaneTable) -> StopCircles:
        """The circles of the nodes of ``lanes``."""
        nodes, node_of_lane = np.unique(lanes.node_key, return_inverse=True)
        count = np.bincount(node_of_lane, minlength=nodes.size)
        cx = np.bincount(node_of_lane, lanes.stop_x, minlength=nodes.size) / np.maximum(count, 1)
        cy = np.bincount(node_of_lane, lanes.stop_y, minlength=nodes.size) / np.maximum(count, 1)
        radius = np.zeros(nodes.size)
        np.maximum.at(radius, node_of_lane, np.hypot(lanes.stop_x - cx[node_of_lane],
                                                     lanes.stop_y - cy[node_of_lane]))
        return cls(lanes=lanes, x=cx, y=cy, radius_m=radius)

    def reach_m(self, tolerance_m: float) -> float:
        """How far [m] from its lane's stop point a host matched (:func:`match` with
        ``tolerance_m``) at the stop line can be: half the widest lane plus ``tolerance_m``,
        plus 1 m for rounding. A host ``d`` [m] along its lane before the stop line is within
        ``d + reach_m`` of the stop point."""
        return float(self.lanes.width_m.max(initial=0.0)) / 2.0 + tolerance_m + 1.0

    def distance_at_least_m(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(n,)`` float64 [m]: a lower bound of the distance from each of ``(n,)``
        positions [m, network] to the nearest stop point (0 inside a circle); ``inf``
        without lanes or where a position is not finite."""
        if self.x.size == 0:
            return np.full(np.shape(x), np.inf)
        # (nodes, n), reduced over the nodes: numpy's fast direction; in place, one buffer
        to_circle = np.square(x - self.x[:, None])
        to_circle += np.square(y - self.y[:, None])
        np.sqrt(to_circle, out=to_circle)
        to_circle -= self.radius_m[:, None]
        with np.errstate(invalid="ignore"):
            nearest = np.maximum(to_circle.min(axis=0), 0.0)
        return np.where(np.isnan(nearest), np.inf, nearest)


class MapCache:
    """Lane tables of decoded MAP nodes, rebuilt only when a node's content changes.

    The cache key is the node's reference id (region, id); the content compared is the whole
    :class:`~v2x.messages.MapNode` value (reference position, links, lanes, points ...), so a
    MAP repeated with a new ``msgCnt`` or timestamp (fields of ``MapData``, not of the node)
    reuses the table. One cache can serve every receiver of a simulation: decode each MAP frame
    once (every receiver gets the same bytes), :meth:`update` the cache with it, and match all
    hosts against :attr:`table`; mask the matches of hosts that have not received that node's
    MAP (``MatchResult.node_key``) if reception matters.

    Args:
        geo: the frame of the network x/y hosts are given in.
        default_lane_width_m: as :func:`lane_table`.
    """

    def __init__(self, geo: GeoFrame, *,
                 default_lane_width_m: float = DEFAULT_LANE_WIDTH_M) -> None:
        self._geo = geo
        self._width = default_lane_width_m
        self._nodes: dict[int, tuple[MapNode, LaneTable]] = {}
        self._table: LaneTable | None = None
        self.builds = 0  # number of node tables built (for tests and benchmarks)

    def update(self, map_data: MapData | Iterable[MapNode]) -> bool:
        """Take the nodes of a decoded MAP; returns True when a node was new or changed (the
        combined :attr:`table` is then rebuilt on its next use)."""
        nodes = map_data.nodes if isinstance(map_data, MapData) else tuple(map_data)
        changed = False
        for node in nodes:
            k = int(node_key(node.id.id, -1 if node.id.region is None else node.id.region))
            held = self._nodes.get(k)
            if held is not None and (held[0] is node or held[0] == node):
                continue
            self._nodes[k] = (node, lane_table((node,), self._geo,
                                               default_lane_width_m=self._width))
            self.builds += 1
            changed = True
        if changed:
            self._table = None
        return changed

    def node_table(self, node: MapNode) -> LaneTable:
        """The table of one node (updating the cache with it)."""
        self.update((node,))
        k = int(node_key(node.id.id, -1 if node.id.region is None else node.id.region))
        return self._nodes[k][1]

    @property
    def table(self) -> LaneTable:
        """All nodes held, concatenated in ascending node key order."""
        if self._table is None:
            self._table = LaneTable.concat([self._nodes[k][1] for k in sorted(self._nodes)])
        return self._table

    @property
    def node_keys(self) -> list[int]:
        """The node keys held, ascending."""
        return sorted(self._nodes)

    def node(self, key: int) -> MapNode:
        """The node held under node key ``key`` (one of :attr:`node_keys`; KeyError for
        another)."""
        return self._nodes[key][0]

