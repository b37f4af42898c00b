"""Surrogate safety measures from trajectories, ground-truth events and warning truth.

Definitions (STANDARDS.md section 5):

* following TTC = gap / (v_follower - v_leader) while closing, +inf otherwise; gap <= 0 gives 0.
* DRAC = closing speed² / (2 gap) while closing, 0 otherwise; gap <= 0 gives +inf.
* same-lane pairs: at each step, vehicles in one lane sorted by ``lane_pos`` (front bumper); the
  leader of a vehicle is the next one ahead, gap = leader lane_pos - leader length - follower
  lane_pos [m]. Vehicles on different lanes (lane changes, junction lanes) are never paired.
* a TTC conflict is an episode of consecutive steps (t difference == ``step_ns``) of one
  (follower, leader) pair with TTC < threshold (3.0 s, SUMO SSM default); it keeps its min TTC
  and that time and the max DRAC. Serious when min TTC <= 1.5 s **(to verify)**.
* hard braking: ``events`` rows of kind ``hard_braking`` with deceleration > 0.4 g
  (3.92 m/s²); collisions: ``events`` rows of kind ``collision`` (one per collision: the
  recording writes one row at its onset, :mod:`v2x.events`); teleports: rows of kind
  ``teleport``.
* rear-end encounters with a lateral offset (:func:`offset_pairs`): follower and leader in
  different SUMO lanes (a lane change under way, a junction's internal lane, a vehicle astride
  two lanes) whose paths overlap laterally. In the follower's frame (heading h_f, front
  bumpers p_f, p_l): longitudinal offset lon = (p_l - p_f) . u_f, lateral offset
  lat = (p_l - p_f) . n_f. The leader is the nearest vehicle ahead (lon > 0, within
  :data:`OFFSET_RANGE_M`, 50 m: the SSM device's default range) heading the same way
  (cos(h_l - h_f) > 0) with |lat| < (w_f + w_l) / 2; beyond that it is not a rear-end
  encounter. gap = lon - L_l cos(h_l - h_f), the leader's speed counts along the follower's
  heading (v_l cos(h_l - h_f)), TTC and DRAC as above (opposite directions and not closing
  give +inf). When the nearest such leader is in the follower's own lane the same-lane pair
  stands and no offset pair is made, so the same-lane measures are unchanged.
* a vehicle whose SUMO teleport ended at ``t`` is left out of the same-lane pairs from ``t``
  to ``t + TELEPORT_SETTLE_NS`` (1 s): its jump to a new position and speed is not driving.
* a warning is *true* when a TTC conflict with the warned ego as follower and the warning's
  remote as leader overlaps [t, t + 5 s] (the episode starts no later than t + 5 s and ends no
  earlier than t); otherwise *false*. Missed warnings are not scored here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from v2x.events import HARD_BRAKING_MPS2, TELEPORT_SETTLE_NS
from v2x.nodes import PERSON_NODE_BASE
from v2x.units import NS_PER_S

if TYPE_CHECKING:
    from analysis._scoring import TwinRun

__all__ = [
    "DEFAULT_WIDTH_M",
    "HARD_BRAKING_MPS2",
    "OFFSET_RANGE_M",
    "SERIOUS_TTC_S",
    "SafetyResult",
    "TTC_THRESHOLD_S",
    "WARNING_WINDOW_NS",
    "classify_warnings",
    "drac",
    "follower_pairs",
    "offset_pairs",
    "rear_end_offset",
    "red_light_violations",
    "safety_evaluation",
    "same_road",
    "speeding_episodes",
    "safety_kpis",
    "settling_after_teleport",
    "ttc",
    "ttc_conflicts",
]

#: TTC conflict threshold [s] (SUMO SSM default)
TTC_THRESHOLD_S = 3.0
#: serious conflict when min TTC <= this [s] (to verify)
SERIOUS_TTC_S = 1.5
#: a warning is true if a conflict with its remote overlaps [t, t + this] [ns]
WARNING_WINDOW_NS = 5 * NS_PER_S
#: leaders of offset rear-end pairs are searched this far from the follower [m] (SUMO SSM
#: device default range, STANDARDS.md section 5)
OFFSET_RANGE_M = 50.0
#: width of a vehicle the ``nodes`` table does not give [m] (SUMO's passenger car default)
DEFAULT_WIDTH_M = 1.8

_ArrayLike = npt.ArrayLike
_F64 = npt.NDArray[np.float64]


def _broadcast(gap_m: _ArrayLike, v_f: _ArrayLike, v_l: _ArrayLike) -> tuple[_F64, _F64]:
    gap, vf, vl = np.broadcast_arrays(
        np.asarray(gap_m, dtype=np.float64),
        np.asarray(v_f, dtype=np.float64),
        np.asarray(v_l, dtype=np.float64),
    )
    return gap, vf - vl


def ttc(gap_m: _ArrayLike, v_follower: _ArrayLike, v_leader: _ArrayLike) -> _F64:
    """Following time-to-collision [s], element-wise (inputs broadcast; scalars give 0-d).

    ``gap_m`` [m] bumper-to-bumper, ``v_follower``, ``v_leader`` [m/s]. Returns
    gap / (v_follower - v_leader) when closing (v_follower > v_leader), +inf when not closing
    (equal speeds included), 0 when gap <= 0; NaN where an input is NaN.
    """
    gap, closing = _broadcast(gap_m, v_follower, v_leader)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(closing > 0, gap / closing, np.inf)
    out = np.where(gap <= 0, 0.0, out)
    return np.where(np.isnan(gap) | np.isnan(closing), np.nan, out)


def drac(gap_m: _ArrayLike, v_follower: _ArrayLike, v_leader: _ArrayLike) -> _F64:
    """Deceleration rate to avoid a crash [m/s²], element-wise (inputs broadcast).

    ``gap_m`` [m], ``v_follower``, ``v_leader`` [m/s]. Returns closing² / (2 gap) when closing
    (v_follower > v_leader) and gap > 0, 0 when not closing, +inf when gap <= 0 (the vehicles
    already touch); NaN where an input is NaN.
    """
    gap, closing = _broadcast(gap_m, v_follower, v_leader)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(closing > 0, closing * closing / (2.0 * gap), 0.0)
    out = np.where(gap <= 0, np.inf, out)
    return np.where(np.isnan(gap) | np.isnan(closing), np.nan, out)


_PAIR_COLUMNS = {
    "t_ns": np.int64, "follower": np.int64, "leader": np.int64,
    "gap_m": np.float64, "v_follower": np.float64, "v_leader": np.float64,
    "ttc_s": np.float64, "drac_mps2": np.float64,
}


def _rows(frame: pd.DataFrame, keep: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """``frame[keep]`` ((n,) bool), without copying the table when every row is kept (a
    trajectory table without pedestrians or teleports: 13 columns of 400,000 rows)."""
    return frame if bool(keep.all()) else frame[keep]


def _lane_codes(lane: pd.Series) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """(n,) int64 code of each SUMO lane id in ``lane`` (-1: none) and the lane ids by code.

    A categorical column (as read from Parquet) gives its own codes and categories: no string
    work per row; any other is factorized in sorted order.
    """
    if isinstance(lane.dtype, pd.CategoricalDtype):
        return (lane.cat.codes.to_numpy(dtype=np.int64),
                pd.Index(lane.cat.categories.astype(str)))
    codes, names = pd.factorize(lane.astype(object), sort=True)
    return codes.astype(np.int64), pd.Index(names)


def follower_pairs(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Same-lane (follower, leader) pairs at every step, with gap, TTC and DRAC.

    ``trajectories`` needs ``t_ns``, ``vehicle``, ``lane``, ``lane_pos`` [m], ``length`` [m],
    ``speed`` [m/s]; rows without a lane are skipped. Returns one row per follower and step:
    ``t_ns``, ``lane`` (categorical), ``follower``, ``leader``, ``gap_m``, ``v_follower``,
    ``v_leader``, ``ttc_s``, ``drac_mps2``, sorted by (t_ns, lane, position). Vectorized: one
    sort, no loop.
    """
    lane_codes, lane_names = _lane_codes(trajectories["lane"])
    ok = lane_codes >= 0
    t = trajectories["t_ns"].to_numpy(dtype=np.int64)[ok]
    code = lane_codes[ok]
    pos = trajectories["lane_pos"].to_numpy(dtype=np.float64)[ok]
    order = np.lexsort((pos, code, t))
    t, code, pos = t[order], code[order], pos[order]
    veh = trajectories["vehicle"].to_numpy(dtype=np.int64)[ok][order]
    length = trajectories["length"].to_numpy(dtype=np.float64)[ok][order]
    speed = trajectories["speed"].to_numpy(dtype=np.float64)[ok][order]

    f = np.flatnonzero((t[1:] == t[:-1]) & (code[1:] == code[:-1]))
    ld = f + 1
    gap = pos[ld] - length[ld] - pos[f]
    return pd.DataFrame({
        "t_ns": t[f],
        "lane": pd.Categorical.from_codes(code[f], categories=lane_names),
        "follower": veh[f],
        "leader": veh[ld],
        "gap_m": gap,
        "v_follower": speed[f],
        "v_leader": speed[ld],
        "ttc_s": ttc(gap, speed[f], speed[ld]),
        "drac_mps2": drac(gap, speed[f], speed[ld]),
    }).astype(_PAIR_COLUMNS)


def rear_end_offset(
    dx: _ArrayLike, dy: _ArrayLike, heading_f_deg: _ArrayLike, heading_l_deg: _ArrayLike,
    v_follower: _ArrayLike, v_leader: _ArrayLike, length_l: _ArrayLike,
    width_f: _ArrayLike, width_l: _ArrayLike,
) -> dict[str, _F64]:
    """Rear-end geometry of (follower, leader) pairs with any lateral offset, element-wise.

    ``dx``, ``dy`` [m] leader front bumper minus follower front bumper (network x east, y
    north); headings [deg] clockwise from north; speeds [m/s]; ``length_l`` the leader's
    length, ``width_f``, ``width_l`` [m]. Returns ``lon_m`` (ahead along the follower's
    heading), ``lat_m`` (to its right), ``gap_m`` = lon - L_l cos(dh), ``ttc_s`` and
    ``drac_mps2`` (:func:`ttc`, :func:`drac` with the leader's speed along the follower's
    heading) where the pair is a rear-end encounter: leader ahead (lon > 0), same way
    (cos(dh) > 0) and |lat| < (w_f + w_l) / 2; elsewhere ``ttc_s`` +inf and ``drac_mps2`` 0
    (module docstring).
    """
    dx, dy, hf, hl, vf, vl, ll, wf, wl = np.broadcast_arrays(*(
        np.asarray(a, dtype=np.float64) for a in (dx, dy, heading_f_deg, heading_l_deg,
                                                  v_follower, v_leader, length_l, width_f,
                                                  width_l)))
    hf_r = np.radians(hf)
    lon = dx * np.sin(hf_r) + dy * np.cos(hf_r)
    lat = dx * np.cos(hf_r) - dy * np.sin(hf_r)
    cos_dh = np.cos(np.radians(hl - hf))
    along = vl * cos_dh
    gap = lon - ll * cos_dh
    rear_end = (lon > 0) & (cos_dh > 0) & (np.abs(lat) < (wf + wl) / 2.0)
    return {"lon_m": lon, "lat_m": lat, "gap_m": gap,
            "ttc_s": np.where(rear_end, ttc(gap, vf, along), np.inf),
            "drac_mps2": np.where(rear_end, drac(gap, vf, along), 0.0)}


_OFFSET_COLUMNS = {**_PAIR_COLUMNS, "lat_m": np.float64, "parallel": bool}


def same_road(lane_a: npt.ArrayLike, lane_b: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """(n,) bool: SUMO lanes ``lane_a`` and ``lane_b`` (ids ``<edge>_<index>``, (n,) each) are
    lanes of one road edge, neither inside a junction (``":..."``): side by side, a lane change
    apart. The ids are parsed once per distinct lane (a run has hundreds, pairs millions).
    """
    a = np.asarray(lane_a, dtype=object)
    both = np.concatenate([a, np.asarray(lane_b, dtype=object)])
    codes, lanes = pd.factorize(both, use_na_sentinel=False)
    names = [str(n) for n in lanes]
    edge, _ = pd.factorize(np.array([n.rsplit("_", 1)[0] for n in names], dtype=object))
    road = ~np.array([n.startswith(":") for n in names], dtype=bool)
    ca, cb = codes[:a.size], codes[a.size:]
    return (edge[ca] == edge[cb]) & road[ca] & road[cb]


def offset_pairs(trajectories: pd.DataFrame, widths: pd.Series | None = None, *,
                 range_m: float = OFFSET_RANGE_M) -> pd.DataFrame:
    """Rear-end pairs in different lanes whose paths overlap laterally, at every step.

    ``trajectories`` needs ``t_ns``, ``vehicle``, ``x``, ``y`` [m] (front bumper),
    ``heading_deg``, ``lane``, ``length`` [m], ``speed`` [m/s]; pedestrians (nodes from
    :data:`~v2x.nodes.PERSON_NODE_BASE`) are left out. ``widths`` [m] by vehicle (the
    ``nodes`` table's ``width_m``); a vehicle without one is :data:`DEFAULT_WIDTH_M` wide.
    Returns the columns of :func:`follower_pairs` (``lane``: the follower's), ``lat_m`` and
    ``parallel`` (the two lanes are side by side on one road: :func:`same_road`; else one is
    inside a junction or on another road), one row per follower and step whose nearest
    rear-end leader (:func:`rear_end_offset`, within ``range_m``) is in another lane.
    Vectorized: one k-d tree over every (step, position), no loop over steps.
    """
    tr = _rows(trajectories, trajectories["vehicle"].to_numpy() < PERSON_NODE_BASE)
    if tr.empty:
        return _no_offset_pairs()
    t = tr["t_ns"].to_numpy(dtype=np.int64)
    veh = tr["vehicle"].to_numpy(dtype=np.int64)
    x, y = tr["x"].to_numpy(dtype=np.float64), tr["y"].to_numpy(dtype=np.float64)
    lane_codes, lane_names = _lane_codes(tr["lane"])
    w = np.full(veh.size, DEFAULT_WIDTH_M)
    if widths is not None and len(widths):
        known = widths.reindex(veh).to_numpy(dtype=np.float64)
        w = np.where(np.isnan(known), DEFAULT_WIDTH_M, known)
    step = _step_index(t)
    # steps far apart in a third coordinate: the tree pairs rows of one step only
    pts = np.column_stack([x, y, step.astype(np.float64) * (4.0 * range_m + 1e6)])
    # leaves of 32 unbalanced: builds and queries faster here than the default 16 balanced
    ij = cKDTree(pts, leafsize=32, balanced_tree=False, compact_nodes=False).query_pairs(
        range_m, output_type="ndarray")
    head = tr["heading_deg"].to_numpy(dtype=np.float64)
    speed = tr["speed"].to_numpy(dtype=np.float64)
    length = tr["length"].to_numpy(dtype=np.float64)
    f, ld, dx, dy, lon = _rear_end_candidates(ij[:, 0], ij[:, 1], x, y, head, w)
    cand = np.flatnonzero(np.cos(np.radians(head[ld] - head[f])) > 0)
    # the nearest leader of each (step, follower); of equally near ones the first row (the
    # tree gives its pairs in no set order)
    cand = cand[np.lexsort((ld[cand], lon[cand], f[cand]))]
    first = np.ones(cand.size, bool)
    first[1:] = f[cand][1:] != f[cand][:-1]
    cand = cand[first]
    cand = cand[(lane_codes[f[cand]] != lane_codes[ld[cand]]) | (lane_codes[f[cand]] < 0)]
    cf, cl = f[cand], ld[cand]
    g = rear_end_offset(dx[cand], dy[cand], head[cf], head[cl], speed[cf], speed[cl],
                        length[cl], w[cf], w[cl])
    out = pd.DataFrame({
        "t_ns": t[cf],
        "lane": pd.Categorical.from_codes(lane_codes[cf], categories=lane_names),
        "follower": veh[cf], "leader": veh[cl], "gap_m": g["gap_m"],
        "v_follower": speed[cf], "v_leader": speed[cl], "ttc_s": g["ttc_s"],
        "drac_mps2": g["drac_mps2"], "lat_m": g["lat_m"],
        "parallel": same_road(lane_names[np.maximum(lane_codes[cf], 0)],
                              lane_names[np.maximum(lane_codes[cl], 0)]) & (lane_codes[cf] >= 0),
    })
    return out.sort_values(["t_ns", "follower"], kind="stable").reset_index(drop=True).astype(
        {k: v for k, v in _OFFSET_COLUMNS.items() if k != "lane"})


def _step_index(t_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """(n,) index of each row's step among the distinct ``t_ns`` (0 for the earliest): a
    running count when the rows are in time order (as recorded), else by sorting."""
    if t_ns.size and bool((t_ns[1:] >= t_ns[:-1]).all()):
        out = np.zeros(t_ns.size, np.int64)
        np.cumsum(t_ns[1:] != t_ns[:-1], out=out[1:])
        return out
    return np.unique(t_ns, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _rear_end_candidates(
    i: npt.NDArray[np.int64], j: npt.NDArray[np.int64], x: _F64, y: _F64, heading_deg: _F64,
    width_m: _F64,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], _F64, _F64, _F64]:
    """The directed (follower, leader) rows of the unordered pairs (``i``, ``j``), (m,) each,
    where the leader is ahead (lon > 0) and the paths overlap laterally
    (|lat| < (w_f + w_l) / 2), in either direction: (k,) ``follower``, ``leader``, ``dx``,
    ``dy`` [m] (leader minus follower) and ``lon`` [m], each value bit for bit as
    :func:`rear_end_offset` computes it from the directed pair. ``x``, ``y`` [m],
    ``heading_deg``, ``width_m``: (n,) per row. Each unordered pair's offsets and the two
    widths are gathered once for both directions."""
    hr = np.radians(heading_deg)
    sin_h, cos_h = np.sin(hr), np.cos(hr)
    dx, dy = x[j] - x[i], y[j] - y[i]
    half_w = (width_m[i] + width_m[j]) / 2.0
    si, ci = sin_h[i], cos_h[i]
    ahead_ij = dx * si + dy * ci  # j ahead of i, along i's heading
    beside_ij = dx * ci - dy * si
    sj, cj = sin_h[j], cos_h[j]
    ahead_ji = -(dx * sj + dy * cj)  # i ahead of j: (-dx) sin + (-dy) cos, the same bits
    beside_ji = dx * cj - dy * sj  # minus j's lateral offset of i: the same magnitude
    fw = np.flatnonzero((ahead_ij > 0) & (np.abs(beside_ij) < half_w))
    bw = np.flatnonzero((ahead_ji > 0) & (np.abs(beside_ji) < half_w))
    return (np.concatenate([i[fw], j[bw]]), np.concatenate([j[fw], i[bw]]),
            np.concatenate([dx[fw], -dx[bw]]), np.concatenate([dy[fw], -dy[bw]]),
            np.concatenate([ahead_ij[fw], ahead_ji[bw]]))


_CONFLICT_COLUMNS = {
    "follower": np.int64, "leader": np.int64, "lane": object, "t_start_ns": np.int64,
    "t_end_ns": np.int64, "n_steps": np.int64, "min_ttc_s": np.float64,
    "t_min_ttc_ns": np.int64, "max_drac_mps2": np.float64, "serious": bool,
}


def ttc_conflicts(
    pairs: pd.DataFrame,
    *,
    step_ns: int,
    threshold_s: float = TTC_THRESHOLD_S,
    serious_s: float = SERIOUS_TTC_S,
) -> pd.DataFrame:
    """Group pair-steps with TTC < ``threshold_s`` into conflict episodes.

    ``pairs`` as from :func:`follower_pairs`; ``step_ns`` the simulation step [ns]: steps of
    one pair more than ``step_ns`` apart start a new episode. Returns one row per episode:
    ``follower``, ``leader``, ``lane`` (at min TTC), ``t_start_ns``, ``t_end_ns``, ``n_steps``,
    ``min_ttc_s``, ``t_min_ttc_ns`` (first step at the min), ``max_drac_mps2``, ``serious``
    (min TTC <= ``serious_s``, to verify); sorted by start time, follower, leader.
    """
    c = pairs.loc[pairs["ttc_s"] < threshold_s, ["t_ns", "lane", "follower", "leader",
                                                  "ttc_s", "drac_mps2"]]
    if c.empty:
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in _CONFLICT_COLUMNS.items()})
    c = c.sort_values(["follower", "leader", "t_ns"], kind="stable").reset_index(drop=True)
    fol = c["follower"].to_numpy()
    lea = c["leader"].to_numpy()
    t = c["t_ns"].to_numpy()
    new = np.ones(len(c), dtype=bool)
    new[1:] = (fol[1:] != fol[:-1]) | (lea[1:] != lea[:-1]) | (t[1:] - t[:-1] > step_ns)
    c["episode"] = np.cumsum(new) - 1
    g = c.groupby("episode", sort=True)
    at_min = c.loc[g["ttc_s"].idxmin().to_numpy()]
    out = pd.DataFrame({
        "follower": g["follower"].first().to_numpy(),
        "leader": g["leader"].first().to_numpy(),
        "lane": at_min["lane"].astype(str).to_numpy(dtype=object),
        "t_start_ns": g["t_ns"].min().to_numpy(),
        "t_end_ns": g["t_ns"].max().to_numpy(),
        "n_steps": g.size().to_numpy(),
        "min_ttc_s": at_min["ttc_s"].to_numpy(),
        "t_min_ttc_ns": at_min["t_ns"].to_numpy(),
        "max_drac_mps2": g["drac_mps2"].max().to_numpy(),
    })
    out["serious"] = out["min_ttc_s"] <= serious_s
    out = out.astype(_CONFLICT_COLUMNS)
    return out.sort_values(["t_start_ns", "follower", "leader"], kind="stable").reset_index(
        drop=True
    )


def classify_warnings(
    warnings: pd.DataFrame,
    conflicts: pd.DataFrame,
    *,
    window_ns: int = WARNING_WINDOW_NS,
) -> pd.DataFrame:
    """The ``warnings`` table with a bool column ``true_warning``, judged against the
    same-lane rear-end ``conflicts`` (:func:`ttc_conflicts`) alone.

    The truth rules are :data:`analysis._scoring.SCORING_RULES`: a warning of an application
    whose rule is the rear-end one (FCW) at ``t_ns`` to ego ``vehicle`` is true when a
    conflict with follower == vehicle overlaps [t, t + ``window_ns``]; the warnings of other
    applications get ``None`` (not judged here: :func:`safety_evaluation` judges them all).
    """
    from analysis._scoring import TruthRule, rule_of, score_warnings, truth_table

    none = _no_truth()
    truth = truth_table(conflicts, none["offset"], none["pet"], none["red_light"],
                        none["speeding"])
    out, _ = score_warnings(warnings, truth, window_ns=window_ns)
    rear = [isinstance(r := rule_of(str(a)), TruthRule) and r.kind == "rear_end"
            for a in out["app"].astype(str)]  # EBW's rule needs the hard braking too
    out["true_warning"] = out["true_warning"].where(pd.Series(rear, index=out.index, dtype=bool),
                                                    None)
    return out.drop(columns=["lead_time_s"])


#: the trajectory columns the offset pairs and PET need beyond the lane positions
_GEOMETRY = frozenset({"x", "y", "heading_deg"})


def _no_offset_pairs() -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in
                         {**_OFFSET_COLUMNS, "lane": "category"}.items()})


def _no_truth() -> dict[str, pd.DataFrame]:
    """Empty ground-truth tables of every kind."""
    from analysis._pet import pet_encounters

    return {"offset": ttc_conflicts(pd.DataFrame({k: pd.Series(dtype=v) for k, v in
                                                  {**_PAIR_COLUMNS, "lane": object}.items()}),
                                    step_ns=1),
            "pet": pet_encounters(pd.DataFrame({c: pd.Series(dtype=float) for c in (
                "t_ns", "vehicle", "x", "y", "heading_deg", "lane", "lane_pos", "length")})),
            "red_light": red_light_violations(_NO_EVENTS),
            "speeding": speeding_episodes(_NO_EVENTS)}


_NO_EVENTS = pd.DataFrame({"t_ns": pd.Series(dtype=np.int64), "kind": pd.Series(dtype=object),
                           "vehicle": pd.Series(dtype=np.int64),
                           "other": pd.Series(dtype=np.int64),
                           "value": pd.Series(dtype=np.float64)})


def red_light_violations(events: pd.DataFrame) -> pd.DataFrame:
    """The ``red_light_violation`` events (:mod:`v2x.sim._truth`): ``vehicle``, ``t_ns``
    (the step it crossed its stop line on red), ``speed_mps``; in time order."""
    e = events[events["kind"].astype(str) == "red_light_violation"]
    return pd.DataFrame({"vehicle": e["vehicle"].to_numpy(np.int64),
                         "t_ns": e["t_ns"].to_numpy(np.int64),
                         "speed_mps": e["value"].to_numpy(np.float64)})


def speeding_episodes(events: pd.DataFrame) -> pd.DataFrame:
    """Speeding episodes from the ``speeding`` / ``speeding_end`` events
    (:mod:`v2x.sim._truth`; a vehicle's k-th end closes its k-th onset): ``vehicle``,
    ``t_start_ns``, ``t_end_ns`` (its first step at or below the limit; an episode a partial
    recording cut has none: ``t_start_ns`` and a NaN duration), ``duration_s``, ``limit_mps``,
    ``max_excess_mps``; in onset order."""
    kind = events["kind"].astype(str)
    on = events[kind == "speeding"].sort_values(["vehicle", "t_ns"], kind="stable")
    end = events[kind == "speeding_end"].sort_values(["vehicle", "t_ns"], kind="stable")
    on = on.assign(k=on.groupby("vehicle").cumcount())
    end = end.assign(k=end.groupby("vehicle").cumcount())
    m = on.merge(end[["vehicle", "k", "t_ns", "value"]], on=["vehicle", "k"], how="left",
                 suffixes=("", "_end"))
    t_end = m["t_ns_end"].to_numpy(dtype=np.float64)
    t0 = m["t_ns"].to_numpy(np.int64)
    out = pd.DataFrame({
        "vehicle": m["vehicle"].to_numpy(np.int64), "t_start_ns": t0,
        "t_end_ns": np.where(np.isnan(t_end), t0, np.nan_to_num(t_end)).astype(np.int64),
        "duration_s": (t_end - t0) / 1e9,
        "limit_mps": m["value"].to_numpy(np.float64),
        "max_excess_mps": m["value_end"].to_numpy(np.float64)})
    return out.sort_values(["t_start_ns", "vehicle"], kind="stable").reset_index(drop=True)


def settling_after_teleport(trajectories: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """(n,) bool over the ``trajectories`` rows: True where the vehicle's SUMO teleport ended
    at most ``TELEPORT_SETTLE_NS`` (1 s) before (``events`` rows of kind ``teleport_end``:
    ``vehicle``, ``t_ns``). Such rows are left out of the surrogate safety measures."""
    ends = events[events["kind"].astype(str) == "teleport_end"]
    out = np.zeros(len(trajectories), bool)
    if ends.empty:
        return out
    t = trajectories["t_ns"].to_numpy(dtype=np.int64)
    veh = trajectories["vehicle"].to_numpy(dtype=np.int64)
    for v, t0 in zip(ends["vehicle"].to_numpy(dtype=np.int64).tolist(),
                     ends["t_ns"].to_numpy(dtype=np.int64).tolist(), strict=True):
        out |= (veh == v) & (t >= t0) & (t < t0 + TELEPORT_SETTLE_NS)
    return out


@dataclass(frozen=True)
class SafetyResult:
    """Everything :func:`safety_evaluation` found.

    ``kpis``: the ``safety.*`` and ``apps.*`` KPIs; ``conflicts``: the rear-end TTC
    conflicts (:func:`ttc_conflicts`) with a column ``kind``, ``same_lane`` or ``offset``;
    ``pet``: :func:`~analysis._pet.pet_encounters`; ``red_light``:
    :func:`red_light_violations`; ``speeding``: :func:`speeding_episodes`; ``truth``:
    :func:`~analysis._scoring.truth_table`; ``warnings``: the warnings with ``true_warning``
    and ``lead_time_s``; ``scoring``: one row per application
    (:func:`~analysis._scoring.score_warnings`).
    """

    kpis: dict[str, float]
    conflicts: pd.DataFrame
    pet: pd.DataFrame
    red_light: pd.DataFrame
    speeding: pd.DataFrame
    truth: pd.DataFrame
    warnings: pd.DataFrame
    scoring: pd.DataFrame


def safety_evaluation(
    trajectories: pd.DataFrame,
    events: pd.DataFrame,
    warnings: pd.DataFrame,
    *,
    step_ns: int,
    nodes: pd.DataFrame | None = None,
    threshold_s: float = TTC_THRESHOLD_S,
    serious_s: float = SERIOUS_TTC_S,
    window_ns: int = WARNING_WINDOW_NS,
    applications: Sequence[str] = (),
    twin: TwinRun | None = None,
) -> SafetyResult:
    """Every ground-truth measure of a recording and the warnings scored against them.

    ``nodes``: the ``nodes`` table (vehicle widths ``width_m``; equipped vehicles, kind
    ``obu``, for the misses); None: every vehicle :data:`DEFAULT_WIDTH_M` wide and equipped.
    ``applications``: the applications the run's OBUs ran (``run.json`` ``applications``):
    each gets its KPIs even when it never warned. ``twin``: the same run without V2X
    (``[benefit] compare``): warnings are scored against both ground truths
    (:func:`~analysis._scoring.counterfactual_truth`; needs ``nodes``); ``truth`` of the
    result then has the column ``counterfactual``.

    Raises:
        ValueError: ``twin`` without ``nodes``.
    """
    from analysis._pet import pet_encounters
    from analysis._scoring import counterfactual_truth, score_warnings, scoring_kpis, truth_table

    if twin is not None and nodes is None:
        raise ValueError("scoring against a twin run needs this run's nodes table")

    widths = equipped = None
    if nodes is not None:
        veh = nodes[nodes["kind"].astype(str) != "rsu"]
        widths = pd.Series(veh["width_m"].to_numpy(np.float64),
                           index=veh["node"].to_numpy(np.int64))
        equipped = veh.loc[veh["kind"].astype(str) == "obu", "node"].to_numpy(np.int64)
    traj = _rows(trajectories, ~settling_after_teleport(trajectories, events))
    geometry = _GEOMETRY <= set(traj.columns)  # else a recording of lane positions only
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis-offset") as pool:
        # the offset pairs on a second thread while this one finds the same-lane pairs and
        # the PET encounters (which need them): the k-d tree queries and most numpy work run
        # without the GIL (the run's traffic process has ended: a core is free)
        offset_job = pool.submit(offset_pairs, traj, widths) if geometry else None
        pairs = follower_pairs(_rows(traj, traj["vehicle"].to_numpy() < PERSON_NODE_BASE))
        conflicts = ttc_conflicts(pairs, step_ns=step_ns, threshold_s=threshold_s,
                                  serious_s=serious_s)
        pet = pet_encounters(traj, widths, pairs) if geometry else _no_truth()["pet"]
        opairs = offset_job.result() if offset_job is not None else _no_offset_pairs()
    offset = ttc_conflicts(opairs, step_ns=step_ns, threshold_s=threshold_s,
                           serious_s=serious_s)
    changing = ttc_conflicts(opairs[opairs["parallel"].to_numpy(bool)], step_ns=step_ns,
                             threshold_s=threshold_s, serious_s=serious_s)
    red, fast = red_light_violations(events), speeding_episodes(events)
    kind = events["kind"].astype(str)
    hard = events[(kind == "hard_braking") & (events["value"] > HARD_BRAKING_MPS2)]
    truth = truth_table(conflicts, changing, pet, red, fast, hard, pairs, traj)
    if twin is not None and nodes is not None:
        truth = counterfactual_truth(truth, nodes, twin)
    scored, scoring = score_warnings(warnings, truth, window_ns=window_ns,
                                     applications=applications, equipped=equipped)

    pc = pet[pet["conflict"]]
    kpis: dict[str, float] = {
        "safety.collisions": int((kind == "collision").sum()),
        "safety.teleports": int((kind == "teleport").sum()),
        "safety.hard_braking": int(
            ((kind == "hard_braking") & (events["value"] > HARD_BRAKING_MPS2)).sum()
        ),
        "safety.ttc_conflicts": len(conflicts),
        "safety.ttc_conflicts_serious": int(conflicts["serious"].sum()),
        "safety.min_ttc_s": float(pairs["ttc_s"].min()) if len(pairs) else math.inf,
        "safety.max_drac_mps2": (
            float(conflicts["max_drac_mps2"].max()) if len(conflicts) else 0.0
        ),
        "safety.offset_ttc_conflicts": len(offset),
        "safety.min_offset_ttc_s": float(opairs["ttc_s"].min()) if len(opairs) else math.inf,
        "safety.pet_conflicts": len(pc),
        "safety.pet_conflicts_serious": int(pc["serious"].sum()),
        **{f"safety.pet_conflicts_{k}": int((pc["kind"] == k).sum())
           for k in ("crossing", "merging", "lane_change", "pedestrian")},
        "safety.min_pet_s": float(pet["pet_s"].min()) if len(pet) else math.inf,
        "safety.red_light_violations": len(red),
        "safety.speeding": len(fast),
        "safety.speeding_max_excess_mps": (float(np.nanmax(fast["max_excess_mps"]))
                                           if fast["max_excess_mps"].notna().any() else 0.0),
    }
    app = scored["app"].astype(str)
    kpis["apps.FCW.warnings"] = int((app == "FCW").sum())
    kpis["apps.FCW.true_warnings"] = kpis["apps.FCW.false_warnings"] = 0
    for name in applications:
        kpis.setdefault(f"apps.{name}.warnings", 0)
    for name, n in app.value_counts().sort_index().items():
        kpis[f"apps.{name}.warnings"] = int(n)
    kpis.update(scoring_kpis(scoring))
    kpis.update(warning_timing_kpis(scored, applications))
    both = pd.concat([conflicts.assign(kind="same_lane"), offset.assign(kind="offset")],
                     ignore_index=True)
    both = both.sort_values(["t_start_ns", "follower", "leader"], kind="stable")
    return SafetyResult(kpis=kpis, conflicts=both.reset_index(drop=True), pet=pet,
                        red_light=red, speeding=fast, truth=truth, warnings=scored,
                        scoring=scoring)


def safety_kpis(
    trajectories: pd.DataFrame,
    events: pd.DataFrame,
    warnings: pd.DataFrame,
    *,
    step_ns: int,
    threshold_s: float = TTC_THRESHOLD_S,
    serious_s: float = SERIOUS_TTC_S,
    window_ns: int = WARNING_WINDOW_NS,
    applications: Sequence[str] = (),
    nodes: pd.DataFrame | None = None,
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """Safety and application KPIs (``safety.*``, ``apps.*``), conflicts and classified
    warnings: :func:`safety_evaluation`'s ``(kpis, same-lane conflicts, warnings)``."""
    r = safety_evaluation(trajectories, events, warnings, step_ns=step_ns, nodes=nodes,
                          threshold_s=threshold_s, serious_s=serious_s, window_ns=window_ns,
                          applications=applications)
    same = r.conflicts[r.conflicts["kind"] == "same_lane"].drop(columns=["kind"])
    return r.kpis, same.reset_index(drop=True), r.warnings


def warning_timing_kpis(warnings: pd.DataFrame, applications: Sequence[str] = ()
                        ) -> dict[str, float]:
    """When and whom each application warned: ``apps.<A>.first_warning_s`` (simulated time
    of its first warning [s], NaN when it never warned) and ``apps.<A>.hosts_warned`` (distinct
    host vehicles warned), for every application in ``applications`` and every one in
    ``warnings``. A test case states its timing window with two criteria on
    ``first_warning_s`` (a NaN fails both)."""
    app = warnings["app"].astype(str)
    names = sorted(set(applications) | set(app.unique()))
    out: dict[str, float] = {}
    for name in names:
        rows = warnings[app == name]
        out[f"apps.{name}.first_warning_s"] = (
            float(rows["t_ns"].min()) / 1e9 if len(rows) else math.nan)
        out[f"apps.{name}.hosts_warned"] = int(rows["vehicle"].nunique())
    return out
