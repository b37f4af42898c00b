"""Post-encroachment time (PET) of crossing, merging and vehicle-pedestrian encounters, from
the recorded trajectories (STANDARDS.md section 5: PET = entry time of the second road user
into the conflict area minus exit time of the first).

Road users are the ``trajectories`` rows: vehicles (reference point: SUMO's front bumper
centre, body ``length`` behind it along the path) and pedestrians (nodes from
:data:`~v2x.nodes.PERSON_NODE_BASE`, SUMO's person position, ``length`` likewise). Widths come
from the ``nodes`` table (vehicles) or are :data:`PERSON_WIDTH_M` (pedestrians). Each road
user's path is its reference point's polyline, with arc length s(t) (non-decreasing; a user
standing still keeps its s); times between steps are interpolated linearly in s.

* **Crossing** (vehicle-vehicle ``crossing``, vehicle-pedestrian ``pedestrian``): two paths
  whose strips overlap (centre lines closer than (w_a + w_b) / 2) where their headings differ
  by more than :data:`MERGE_ANGLE_DEG` and less than 180 deg minus it. Paths are thinned to one
  point per :data:`THIN_M` of travel (and one per :data:`HORIZON_S` / 2 standing) and searched
  with one k-d tree over (x, y, time) (of the points near a crossing heading only,
  :func:`crossing_candidates`): points passed more than :data:`HORIZON_S` apart are no
  encounter. At the pair's closest contact (of equally close pairs of points, the first) the
  conflict point P is where the two paths' lines intersect; the conflict area is the
  parallelogram where the two strips overlap, which spans h_a = (w_b / 2) / sin(theta) +
  (w_a / 2) |cot(theta)| either side of P along a's path
  (theta the crossing angle, :func:`conflict_extent`). a is in it from the time its front
  reaches s_P - h_a until its rear leaves s_P + h_a (front at s_P + h_a + L_a). A pair of
  pedestrians is not an encounter; neither is a pedestrian who stops at the kerb (its path
  never reaches the vehicle's strip).
* **Merging** (vehicles): a vehicle enters a lane (not a junction's internal lane) from
  another lane (a lane change, an on-ramp, the exit of a junction) next to a vehicle that came
  into that lane from a different lane or was on it from its first step: the vehicle just
  ahead of it and the one just behind it at that step (same-lane order, as
  :func:`~analysis.follower_pairs`). The conflict area is the point P of the lane where both
  are first on it (the farther of their entry lane positions); a vehicle is in it from its
  front reaching P until its rear leaves it (lane positions, SUMO's). Vehicles that came from
  the same lane follow one another: no encounter. Kind ``lane_change`` when the merging
  vehicle came from a lane beside it on the same road (:func:`~analysis._safety.same_road`),
  else ``merging``.
* **PET**: the *first* road user is the one that enters the conflict area first; PET =
  t_enter(second) - t_exit(first), 0 when they are in it at once. No PET when the second
  never enters (a pedestrian who stops at the kerb; a vehicle that stops before the junction)
  or the first never leaves within the recording. Times are interpolated linearly in s
  between steps.
* One encounter per pair of road users and kind (its closest contact for crossings). A *PET
  conflict* is an encounter with PET < :data:`PET_THRESHOLD_S` (2.0 s, SUMO SSM default);
  serious when PET <= :data:`SERIOUS_PET_S` (1.0 s, to verify).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from v2x.nodes import PERSON_NODE_BASE

__all__ = [
    "HORIZON_S",
    "MERGE_ANGLE_DEG",
    "PERSON_WIDTH_M",
    "PET_THRESHOLD_S",
    "SERIOUS_PET_S",
    "THIN_M",
    "conflict_extent",
    "crossing_candidates",
    "heading_sectors",
    "near_crossing_heading",
    "pet_encounters",
]

#: PET below this is a conflict [s] (SUMO SSM device default, STANDARDS.md section 5)
PET_THRESHOLD_S = 2.0
#: a PET conflict is serious at or below this [s] (to verify)
SERIOUS_PET_S = 1.0
#: paths whose headings differ by less than this merge, more (up to 180 minus it) cross [deg]
#: (our choice)
MERGE_ANGLE_DEG = 30.0
#: width of a pedestrian [m] (SUMO's default pedestrian vType, as libsumo reports it)
PERSON_WIDTH_M = 0.478
#: paths are thinned to one point per this much travel before the contact search [m]
THIN_M = 1.0
#: crossing contacts are searched among points passed at most this far apart in time [s]:
#: road users that pass a spot more than this apart are no encounter (our choice)
HORIZON_S = 10.0
#: width of a vehicle the nodes table does not give [m] (SUMO's passenger car default)
_DEFAULT_WIDTH_M = 1.8

_F64 = npt.NDArray[np.float64]
#: an encounter: kind, first, second, x, y, angle, first enters, first leaves, second enters,
#: PET
_Row = tuple[str, int, int, float, float, float, float, float, float, float]

_COLUMNS = {
    "kind": object, "first": np.int64, "second": np.int64, "x": np.float64, "y": np.float64,
    "angle_deg": np.float64, "t_first_enter_s": np.float64, "t_first_exit_s": np.float64,
    "t_second_enter_s": np.float64, "pet_s": np.float64, "conflict": bool, "serious": bool,
}


def conflict_extent(theta_deg: npt.ArrayLike, width_self_m: npt.ArrayLike,
                    width_other_m: npt.ArrayLike) -> _F64:
    """Half extent [m] along a road user's path of the area where its strip (width
    ``width_self_m``) and another's (``width_other_m``) overlap, crossing at ``theta_deg``
    (0 < theta < 180): (w_other / 2) / sin(theta) + (w_self / 2) |cot(theta)|."""
    th = np.radians(np.asarray(theta_deg, dtype=np.float64))
    s = np.abs(np.sin(th))
    return (np.asarray(width_other_m, np.float64) / 2.0 / s
            + np.asarray(width_self_m, np.float64) / 2.0 * np.abs(np.cos(th)) / s)


class _Path:
    """One road user's path: times [s], reference points, arc length, heading, length, width,
    and its thinned points' rows."""

    def __init__(self, t_s: _F64, x: _F64, y: _F64, heading: _F64, length: float,
                 width: float) -> None:
        self.t, self.x, self.y, self.heading = t_s, x, y, heading
        step = np.hypot(np.diff(x), np.diff(y))
        self.s = np.concatenate([[0.0], np.cumsum(step)])
        self.length, self.width = length, width

    def time_at(self, s_star: float) -> float:
        """First time the reference point reaches arc length ``s_star`` (linear between
        steps); NaN when it never does; the first time when it starts beyond it."""
        s = self.s
        i = int(np.searchsorted(s, s_star, side="left"))
        if i >= s.size:
            return float("nan")
        if i == 0:
            return float(self.t[0])
        ds = s[i] - s[i - 1]
        return float(self.t[i - 1] + (s_star - s[i - 1]) / ds * (self.t[i] - self.t[i - 1]))


def _by_vehicle(trajectories: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``columns`` of ``trajectories`` in (vehicle, time) order (a stable sort: rows of one
    vehicle and step keep their order), with a fresh index: the order of
    ``sort_values(["vehicle", "t_ns"], kind="stable")``, taking only the columns needed."""
    order = np.lexsort((trajectories["t_ns"].to_numpy(), trajectories["vehicle"].to_numpy()))
    return trajectories[list(columns)].take(order).reset_index(drop=True)


def _paths(trajectories: pd.DataFrame, widths: pd.Series | None) -> dict[int, _Path]:
    if trajectories.empty:
        return {}
    tr = _by_vehicle(trajectories, ("vehicle", "t_ns", "x", "y", "heading_deg", "length"))
    veh = tr["vehicle"].to_numpy(dtype=np.int64)
    bounds = np.flatnonzero(np.diff(veh)) + 1
    cols = {c: tr[c].to_numpy(dtype=np.float64) for c in ("x", "y", "heading_deg", "length")}
    t_s = tr["t_ns"].to_numpy(dtype=np.int64) / 1e9
    out: dict[int, _Path] = {}
    for a, b in zip(np.concatenate([[0], bounds]).tolist(),
                    np.concatenate([bounds, [veh.size]]).tolist(), strict=True):
        v = int(veh[a])
        if v >= PERSON_NODE_BASE:
            w = PERSON_WIDTH_M
        else:
            w = float(widths.get(v, np.nan)) if widths is not None else np.nan
            w = _DEFAULT_WIDTH_M if not np.isfinite(w) else w
        out[v] = _Path(t_s[a:b], cols["x"][a:b], cols["y"][a:b], cols["heading_deg"][a:b],
                       float(cols["length"][a]), w)
    return out


def _thinned(paths: dict[int, _Path]) -> tuple[np.ndarray, ...]:
    """User, row, x, y, width, time and heading of every path's thinned points: its first
    point, one per THIN_M of travel, and one per HORIZON_S / 2 of standing (a road user
    waiting in a conflict area stays findable by the time window)."""
    cols: list[list[np.ndarray]] = [[] for _ in range(7)]
    for v, p in paths.items():
        cell = np.floor(p.s / THIN_M)
        tick = np.floor(p.t / (HORIZON_S / 2.0))
        keep = np.flatnonzero(np.concatenate([[True], (cell[1:] != cell[:-1])
                                              | (tick[1:] != tick[:-1])]))
        for c, col in zip(cols, (np.full(keep.size, v, np.int64), keep, p.x[keep], p.y[keep],
                                 np.full(keep.size, p.width), p.t[keep], p.heading[keep]),
                          strict=True):
            c.append(col)
    if not cols[0]:
        return (np.empty(0, np.int64),) * 2 + (np.empty(0),) * 5
    return tuple(np.concatenate(c) for c in cols)


def _wrap(d: _F64) -> _F64:
    """Angle difference folded to [0, 180] deg."""
    return np.abs((np.asarray(d) + 180.0) % 360.0 - 180.0)


def pet_encounters(trajectories: pd.DataFrame, widths: pd.Series | None = None,
                   pairs: pd.DataFrame | None = None, *,
                   threshold_s: float = PET_THRESHOLD_S,
                   serious_s: float = SERIOUS_PET_S) -> pd.DataFrame:
    """Crossing, merging and vehicle-pedestrian encounters with their PET (module docstring).

    ``trajectories`` needs ``t_ns``, ``vehicle`` (node), ``x``, ``y`` [m], ``heading_deg``,
    ``lane``, ``lane_pos`` [m], ``length`` [m], ``speed``; ``widths`` [m] by node (the
    ``nodes`` table's ``width_m``); ``pairs`` the same-lane pairs of these trajectories
    (:func:`~analysis.follower_pairs`; computed when not given). Returns one row per
    encounter: ``kind`` (``crossing``, ``merging``, ``lane_change``, ``pedestrian``),
    ``first``, ``second``
    (nodes, in the order they entered the conflict area), ``x``, ``y`` (the conflict point
    [m]), ``angle_deg`` (between the headings there), ``t_first_enter_s``,
    ``t_first_exit_s``, ``t_second_enter_s`` [s], ``pet_s`` [s], ``conflict``
    (PET < ``threshold_s``), ``serious`` (PET <= ``serious_s``); sorted by the second's entry.
    """
    rows = _crossings(trajectories, widths) + _merges(trajectories, pairs)
    if not rows:
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in _COLUMNS.items()})
    out = pd.DataFrame(rows, columns=[c for c in _COLUMNS if c not in ("conflict", "serious")])
    out["conflict"] = out["pet_s"] < threshold_s
    out["serious"] = out["pet_s"] <= serious_s
    return out.astype(_COLUMNS).sort_values(["t_second_enter_s", "first", "second"],
                                            kind="stable").reset_index(drop=True)


def _pet_row(kind: str, ua: int, ub: int, occ_a: tuple[float, float],
             occ_b: tuple[float, float], px: float, py: float,
             theta: float) -> _Row | None:
    """The encounter row from each user's (enter, exit) times of the conflict area; None when
    the second never enters or the first never leaves."""
    ea, eb = occ_a[0], occ_b[0]
    if np.isnan(ea) and np.isnan(eb):
        return None
    a_first = np.isnan(eb) or (not np.isnan(ea) and ea <= eb)
    (e1, x1), (e2, _), first, second = ((occ_a, occ_b, ua, ub) if a_first
                                        else (occ_b, occ_a, ub, ua))
    if np.isnan(e2) or np.isnan(x1):
        return None
    return (kind, first, second, px, py, theta, float(e1), float(x1), float(e2),
            max(0.0, float(e2 - x1)))


# ------------------------------------------------------------------------------- crossings
def heading_sectors(heading_deg: npt.ArrayLike, n_sectors: int) -> npt.NDArray[np.int64]:
    """(k,) sector of each heading [deg, clockwise from north]: ``n_sectors`` equal sectors,
    sector 0 centred on north (0 deg) and numbered clockwise, so the four road directions of a
    grid lie at sector centres when ``n_sectors`` is a multiple of 4; -1 for a non-finite
    heading. Any real heading is folded to [0, 360) first."""
    h = np.asarray(heading_deg, dtype=np.float64)
    width = 360.0 / n_sectors
    out = np.full(h.shape, -1, np.int64)
    ok = np.isfinite(h)
    out[ok] = (np.mod(h[ok] + width / 2.0, 360.0) // width).astype(np.int64) % n_sectors
    return out


#: heading sectors of the crossing search: 16 of 22.5 deg, so two headings of one sector
#: differ by less than 22.5 deg and two of opposite sectors by more than 157.5 deg, both
#: safely outside (MERGE_ANGLE_DEG, 180 - MERGE_ANGLE_DEG) (a float margin of 7.5 deg)
_SECTORS = 2 * int(np.ceil(180.0 / (0.75 * MERGE_ANGLE_DEG)))


def _crossing_sector_masks() -> npt.NDArray[np.int64]:
    """(_SECTORS,) bit mask per heading sector of the sectors whose headings can cross its
    own: d sectors apart hold headings (d - 1) to (d + 1) sector widths apart; sectors of
    headings at least 180 - MERGE_ANGLE_DEG apart (1 deg of float margin) and the sector itself
    (less than MERGE_ANGLE_DEG) are left out."""
    width = 360.0 / _SECTORS
    apart = [d for d in range(1, _SECTORS // 2 + 1)
             if (d - 1) * width < 180.0 - MERGE_ANGLE_DEG + 1.0]
    out = np.zeros(_SECTORS, np.int64)
    for k in range(_SECTORS):
        for d in apart:
            out[k] |= (1 << ((k + d) % _SECTORS)) | (1 << ((k - d) % _SECTORS))
    return out


def near_crossing_heading(x: npt.ArrayLike, y: npt.ArrayLike, heading_deg: npt.ArrayLike,
                          reach: float) -> npt.NDArray[np.bool_]:
    """(k,) bool: the row may have another within ``reach`` [m] in x and in y (``x``, ``y``
    (k,) [m]) whose heading crosses its own (``heading_deg`` (k,), differing by more than
    :data:`MERGE_ANGLE_DEG` and less than 180 deg minus it), whatever their times.

    A superset, cheap to find: the plane in square cells a little over ``reach`` wide, each
    cell with the heading sectors (:func:`heading_sectors`) of its rows; a row is kept when a
    sector that can cross its own (:func:`_crossing_sector_masks`) is in its cell or one of
    the 8 around it (two rows within ``reach`` lie in neighbouring cells). False for a
    non-finite heading (it crosses nothing). The cells are sorted, not allocated as a grid,
    so a network's extent costs nothing.
    """
    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    sector = heading_sectors(heading_deg, _SECTORS)
    ok = sector >= 0
    if not ok.any():
        return ok
    cell = reach * (1.0 + 1e-9)  # two rows within reach: cells at most 1 apart, float-safe
    cx = np.floor(xs[ok] / cell).astype(np.int64)
    cy = np.floor(ys[ok] / cell).astype(np.int64)
    cx -= cx.min() - 1
    cy -= cy.min() - 1  # from 1: a neighbour's key never wraps into another column
    ny = int(cy.max()) + 2
    key = cx * ny + cy
    order = np.argsort(key, kind="stable")
    ks = key[order]
    new = np.concatenate([[True], ks[1:] != ks[:-1]])
    start = np.flatnonzero(new)
    cells = ks[start]  # occupied cells, sorted
    present = np.bitwise_or.reduceat(np.left_shift(1, sector[ok][order]), start)
    around = np.zeros(cells.size, np.int64)  # sectors in each cell and its 8 neighbours
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            want = cells + (dx * ny + dy)
            at = np.minimum(np.searchsorted(cells, want), cells.size - 1)
            hit = cells[at] == want
            around[hit] |= present[at[hit]]
    cell_of = np.empty(key.size, np.int64)
    cell_of[order] = np.cumsum(new) - 1
    out = np.zeros(xs.shape, bool)
    out[ok] = (around[cell_of] & _crossing_sector_masks()[sector[ok]]) != 0
    return out


def crossing_candidates(points: npt.ArrayLike, heading_deg: npt.ArrayLike,
                        reach: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The pairs of rows of ``points`` ((k, d): x [m], y [m], then any coordinates) within
    Chebyshev distance ``reach`` of each other (every coordinate differs by at most
    ``reach``), among the rows whose headings (``heading_deg``, (k,) [deg]) may cross a
    neighbour's (:func:`near_crossing_heading`): (m,) indices ``a`` < ``b``, in no set order.

    Every pair of :func:`scipy.spatial.cKDTree.query_pairs` (``p=inf``, ``r=reach``) over all
    rows whose headings differ by more than :data:`MERGE_ANGLE_DEG` and less than 180 deg minus
    it is among them (the caller filters by the exact angle), from one k-d tree over the rows
    kept: on a recording of an urban network, those near a junction or a lane change (7 % of
    xiqing-south-station's thinned points).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[0] < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    kept = np.flatnonzero(near_crossing_heading(pts[:, 0], pts[:, 1], heading_deg, reach))
    ij = cKDTree(pts[kept]).query_pairs(reach, p=np.inf, output_type="ndarray")
    return kept[ij[:, 0]], kept[ij[:, 1]]


def _crossings(trajectories: pd.DataFrame, widths: pd.Series | None) -> list[_Row]:
    paths = _paths(trajectories, widths)
    user, row, x, y, width, t, head = _thinned(paths)
    if user.size < 2:
        return []
    reach = float(width.max())  # the largest (w_a + w_b) / 2
    # a box of +-reach in x and y and +-HORIZON_S in time (Chebyshev distance)
    pts = np.column_stack([x, y, t * (reach / HORIZON_S)])
    a, b = crossing_candidates(pts, head, reach)
    person = user >= PERSON_NODE_BASE
    dist = np.hypot(x[a] - x[b], y[a] - y[b])
    diff = _wrap(head[a] - head[b])
    keep = ((user[a] != user[b]) & ~(person[a] & person[b])
            & (dist < (width[a] + width[b]) / 2.0)
            & (diff > MERGE_ANGLE_DEG) & (diff < 180.0 - MERGE_ANGLE_DEG))
    a, b, dist = a[keep], b[keep], dist[keep]
    swap = user[a] > user[b]  # each pair of users as (lower node, higher node)
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    # each pair's closest contact; of equally close ones the first pair of thinned points
    order = np.lexsort((b, a, dist, user[b], user[a]))
    a, b = a[order], b[order]
    first = np.concatenate([[True], (user[a][1:] != user[a][:-1])
                            | (user[b][1:] != user[b][:-1])]) if a.size else np.zeros(0, bool)
    return _crossing_rows(paths, user, row, x, y, head, a[first], b[first])


def _crossing_rows(paths: dict[int, _Path], user: np.ndarray, row: np.ndarray, x: _F64,
                   y: _F64, head: _F64, i: np.ndarray, j: np.ndarray) -> list[_Row]:
    """The crossings of the (k,) pairs of thinned points ``i``, ``j`` (indices into the
    thinned ``user``, ``row`` (of its path), ``x``, ``y`` [m], ``head`` [deg]), each a pair of
    users' closest contact: the conflict point P where their lines there intersect (one 2x2
    solve per pair, all at once), the conflict area around it on each path
    (:func:`conflict_extent`), and when each user is in it."""
    if i.size == 0:
        return []
    ha, hb = np.radians(head[i]), np.radians(head[j])
    da = np.stack([np.sin(ha), np.cos(ha)], axis=-1)  # (k, 2) directions
    db = np.stack([np.sin(hb), np.cos(hb)], axis=-1)
    lam_mu = np.linalg.solve(np.stack([da, -db], axis=-1),  # (k, 2, 2): columns da, -db
                             np.stack([x[j] - x[i], y[j] - y[i]], axis=-1)[..., None])[..., 0]
    lam, mu = lam_mu[:, 0], lam_mu[:, 1]
    px, py = x[i] + lam * da[:, 0], y[i] + lam * da[:, 1]
    theta = _wrap(head[i] - head[j])
    users_a, users_b = user[i].tolist(), user[j].tolist()
    width_a = np.array([paths[u].width for u in users_a])
    width_b = np.array([paths[u].width for u in users_b])
    ext_a = conflict_extent(theta, width_a, width_b)  # (k,) half extents [m] along a's path
    ext_b = conflict_extent(theta, width_b, width_a)
    out = []
    for k, (ua, ub, ri, rj) in enumerate(zip(users_a, users_b, row[i].tolist(),
                                             row[j].tolist(), strict=True)):
        pa, pb = paths[ua], paths[ub]
        occ = []
        for p, s_p, ext in ((pa, pa.s[ri] + lam[k], ext_a[k]), (pb, pb.s[rj] + mu[k], ext_b[k])):
            occ.append((p.time_at(s_p - ext), p.time_at(s_p + ext + p.length)))
        kind = "pedestrian" if max(ua, ub) >= PERSON_NODE_BASE else "crossing"
        enc = _pet_row(kind, ua, ub, occ[0], occ[1], float(px[k]), float(py[k]),
                       float(theta[k]))
        if enc is not None:
            out.append(enc)
    return out


# --------------------------------------------------------------------------------- merges
def _merges(trajectories: pd.DataFrame, pairs: pd.DataFrame | None) -> list[_Row]:
    """Merging encounters: a vehicle entering a lane (not a junction's internal lane) from
    another lane, with the vehicle just ahead of it and the one just behind it in that lane at
    that step, when that neighbour came into the lane from a different lane (or was on it
    from its first step)."""
    from analysis._safety import _lane_codes, _rows, follower_pairs, same_road

    tr = _rows(trajectories, trajectories["vehicle"].to_numpy() < PERSON_NODE_BASE)
    if tr.empty:
        return []
    tr = _by_vehicle(tr, ("vehicle", "t_ns", "lane", "lane_pos", "x", "y", "heading_deg",
                          "length", "speed"))  # speed: for follower_pairs when not given
    veh = tr["vehicle"].to_numpy(dtype=np.int64)
    t = tr["t_ns"].to_numpy(dtype=np.int64)
    lane, lane_names = _lane_codes(tr["lane"])  # -1: no lane, a new lane at every row
    names = np.append(lane_names.to_numpy(dtype=object), np.nan)  # code -1: NaN
    junction = np.append([n.startswith(":") for n in lane_names], False)
    new_veh = np.concatenate([[True], veh[1:] != veh[:-1]])
    entry = new_veh | np.concatenate([[True], lane[1:] != lane[:-1]]) | (lane < 0)
    prev = np.concatenate([[_NO_LANE], lane[:-1]])  # the lane of the row before (code)
    prev[new_veh] = _NO_LANE
    # every row's entry into its current lane: its row, and where it came from
    entry_row = np.maximum.accumulate(np.where(entry, np.arange(veh.size), 0))
    merge = np.flatnonzero(entry & ~new_veh & ~junction[lane])
    if merge.size == 0:
        return []
    if pairs is None:
        pairs = follower_pairs(tr)
    cand, nb = _merge_neighbours(veh, t, merge, pairs)
    nb_row = _rows_of(veh, t, nb, t[cand])
    en = entry_row[nb_row]
    # from the same lane: one stream, no encounter
    other = ~((prev[en] >= 0) & (prev[en] == prev[cand]))
    cand, nb, nb_row, en = cand[other], nb[other], nb_row[other], en[other]
    beside = same_road(names[prev[cand]], names[lane[cand]])
    p_merge = np.maximum(tr["lane_pos"].to_numpy(dtype=np.float64)[cand],
                         tr["lane_pos"].to_numpy(dtype=np.float64)[en])
    lane_occupancy = _LaneOccupancy(tr, entry)
    x, y = tr["x"].to_numpy(dtype=np.float64), tr["y"].to_numpy(dtype=np.float64)
    head = tr["heading_deg"].to_numpy(dtype=np.float64)
    theta = _wrap(head[cand] - head[nb_row])
    out = []
    for k, (r, rn) in enumerate(zip(cand.tolist(), nb_row.tolist(), strict=True)):
        occ = [lane_occupancy(q, float(p_merge[k])) for q in (r, rn)]
        kind = "lane_change" if beside[k] else "merging"
        enc = _pet_row(kind, int(veh[r]), int(nb[k]), occ[0], occ[1], float(x[r]),
                       float(y[r]), float(theta[k]))
        if enc is not None:
            out.append(enc)
    # a pair met from both sides (each merged next to the other) is one encounter
    seen: set[tuple[int, int]] = set()
    unique = []
    for enc in out:
        key = (min(enc[1], enc[2]), max(enc[1], enc[2]))
        if key not in seen:
            seen.add(key)
            unique.append(enc)
    return unique


#: ``prev`` of a vehicle's first row: it came from no lane
_NO_LANE = -2


def _merge_neighbours(veh: np.ndarray, t_ns: np.ndarray, merge: np.ndarray,
                      pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The neighbours of the merging rows ``merge`` (indices into ``veh``, ``t_ns``): (k,)
    rows and (k,) vehicles, the one just ahead (``pairs`` leader of that follower at that
    step) then the one just behind (its follower), merge by merge; absent ones left out."""
    pf = pairs["follower"].to_numpy(dtype=np.int64)
    pl = pairs["leader"].to_numpy(dtype=np.int64)
    pt = pairs["t_ns"].to_numpy(dtype=np.int64)
    out = np.full((merge.size, 2), -1, np.int64)
    for side, (me, them) in enumerate(((pf, pl), (pl, pf))):  # ahead, behind
        at = _lookup(me, pt, veh[merge], t_ns[merge])
        out[at >= 0, side] = them[at[at >= 0]]
    rows = np.repeat(merge, 2)
    flat = out.ravel()
    return rows[flat >= 0], flat[flat >= 0]


def _lookup(keys_veh: np.ndarray, keys_t: np.ndarray, veh: np.ndarray,
            t_ns: np.ndarray) -> np.ndarray:
    """(m,) index of each (``veh``, ``t_ns``) among the (n,) keys (``keys_veh``,
    ``keys_t``), -1 where absent; a key given twice: its last (as a dict built from them).
    Vectorized: each (vehicle, time) becomes one int64 from the ranks of its vehicle and its
    time among the keys', then one search in the sorted keys."""
    order = np.lexsort((keys_t, keys_veh))
    kv, kt = keys_veh[order], keys_t[order]
    vehs, times = np.unique(kv), np.unique(kt)
    code = np.searchsorted(vehs, kv) * times.size + np.searchsorted(times, kt)  # sorted
    iv = np.minimum(np.searchsorted(vehs, veh), max(vehs.size - 1, 0))
    it = np.minimum(np.searchsorted(times, t_ns), max(times.size - 1, 0))
    known = (vehs[iv] == veh) & (times[it] == t_ns) if vehs.size else np.zeros(veh.size, bool)
    want = iv * times.size + it
    j = np.searchsorted(code, want, side="right") - 1  # the last of equal keys
    hit = known & (j >= 0)
    hit[hit] = code[j[hit]] == want[hit]
    out = np.full(veh.size, -1, np.int64)
    out[hit] = order[j[hit]]
    return out


def _rows_of(veh: np.ndarray, t_ns: np.ndarray, want_veh: np.ndarray,
             want_t: np.ndarray) -> np.ndarray:
    """(m,) row of each (``want_veh``, ``want_t``) in rows sorted by (vehicle, time)."""
    at = _lookup(veh, t_ns, want_veh, want_t)
    if (at < 0).any():
        raise AssertionError("a same-lane neighbour has no trajectory row at its step")
    return at


class _LaneOccupancy:
    """When a vehicle's front reaches, and its rear leaves, a point of the lane it is on."""

    def __init__(self, tr: pd.DataFrame, entry: np.ndarray) -> None:
        """``tr``: vehicle rows sorted by (vehicle, time); ``entry`` (n,) bool: the row enters
        a lane (a vehicle's first row included)."""
        self.pos = tr["lane_pos"].to_numpy(dtype=np.float64)
        self.t_s = tr["t_ns"].to_numpy(dtype=np.int64) / 1e9
        self.length = tr["length"].to_numpy(dtype=np.float64)
        starts = np.flatnonzero(entry)
        self.start = np.maximum.accumulate(np.where(entry, np.arange(entry.size), 0))
        self.end = np.empty(entry.size, np.int64)  # of each stay on a lane, at its start row
        self.end[starts] = np.append(starts[1:], entry.size)

    def __call__(self, r: int, p: float) -> tuple[float, float]:
        """(enter, exit) times [s] of the point ``p`` (lane position [m]) by the vehicle whose
        row ``r`` is on the lane: its front reaches ``p``, its rear leaves it (front at
        ``p + length``), along its rows on that lane (linear between steps; NaN when not
        within them)."""
        a = int(self.start[r])
        s, tt = self.pos[a:self.end[a]], self.t_s[a:self.end[a]]

        def at(q: float) -> float:
            i = int(np.searchsorted(s, q, side="left"))
            if i >= s.size:
                return float("nan")
            if i == 0:
                return float(tt[0]) if s[0] >= q else float("nan")
            return float(tt[i - 1] + (q - s[i - 1]) / (s[i] - s[i - 1]) * (tt[i] - tt[i - 1]))

        return at(p), at(p + float(self.length[r]))
