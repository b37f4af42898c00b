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
* a vehicle whose SUMO teleport ended at ``t`` is left out of the same-lane pairs from ``t``
  to ``t + TELEPORT_SETTLE_NS`` (1 s): its jump to a new position and speed is not driving.
* a warning is *true* when a TTC conflict with the warned ego as follower and the warning's
  remote as leader overlaps [t, t + 5 s] (the episode starts no later than t + 5 s and ends no
  earlier than t); otherwise *false*. Missed warnings are not scored here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from v2x.events import HARD_BRAKING_MPS2, TELEPORT_SETTLE_NS
from v2x.units import NS_PER_S

__all__ = [
    "HARD_BRAKING_MPS2",
    "SERIOUS_TTC_S",
    "TTC_THRESHOLD_S",
    "WARNING_WINDOW_NS",
    "classify_warnings",
    "drac",
    "follower_pairs",
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


def follower_pairs(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Same-lane (follower, leader) pairs at every step, with gap, TTC and DRAC.

    ``trajectories`` needs ``t_ns``, ``vehicle``, ``lane``, ``lane_pos`` [m], ``length`` [m],
    ``speed`` [m/s]; rows without a lane are skipped. Returns one row per follower and step:
    ``t_ns``, ``lane`` (categorical), ``follower``, ``leader``, ``gap_m``, ``v_follower``,
    ``v_leader``, ``ttc_s``, ``drac_mps2``, sorted by (t_ns, lane, position). Vectorized: one
    sort, no loop.
    """
    lane = trajectories["lane"]
    if isinstance(lane.dtype, pd.CategoricalDtype):  # as read from Parquet: no string work
        lane_codes = lane.cat.codes.to_numpy(dtype=np.int64)
        lane_names = pd.Index(lane.cat.categories.astype(str))
    else:
        lane_codes, lane_names = pd.factorize(lane.astype(object), sort=True)
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
    """The ``warnings`` table with a bool column ``true_warning``.

    A warning at ``t_ns`` from ego ``vehicle`` about ``remote`` is true when a conflict in
    ``conflicts`` (from :func:`ttc_conflicts`) with follower == vehicle and leader == remote
    overlaps [t, t + ``window_ns``]. The rule is the FCW one (the remote is the leader ahead);
    warnings of other applications get ``None`` (not judged).
    """
    w = warnings.reset_index(drop=True)
    wid = pd.DataFrame({
        "wid": np.arange(len(w), dtype=np.int64),
        "follower": w["vehicle"].to_numpy(dtype=np.int64),
        "leader": w["remote"].to_numpy(dtype=np.int64),
        "t_ns": w["t_ns"].to_numpy(dtype=np.int64),
    })
    cand = conflicts[["follower", "leader", "t_start_ns", "t_end_ns"]].astype(np.int64)
    m = wid.merge(cand, on=["follower", "leader"], how="inner")
    hit = (m["t_end_ns"] >= m["t_ns"]) & (m["t_start_ns"] <= m["t_ns"] + window_ns)
    out = w.copy()
    true = np.isin(wid["wid"].to_numpy(), m.loc[hit, "wid"].to_numpy())
    # only FCW's rule is scored here: other applications' warnings are left unjudged (None)
    is_fcw = (out["app"].astype(str) == "FCW").to_numpy() if len(out) else np.zeros(0, bool)
    judged: list[bool | None] = [bool(t) if f else None
                                 for t, f in zip(true.tolist(), is_fcw.tolist(), strict=True)]
    out["true_warning"] = pd.Series(judged, index=out.index, dtype=object)
    return out


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
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """Safety and application KPIs (``safety.*``, ``apps.*``), conflicts and classified warnings.

    ``applications`` are the names of the applications the run's OBUs ran (``run.json``
    ``applications``): each gets ``apps.<NAME>.warnings``, 0 when it never warned, so a
    criterion can ask for a warning or for none.

    Returns ``(kpis, conflicts, warnings)``: the KPI dict (names in :mod:`analysis._kpi`), the
    :func:`ttc_conflicts` table and the :func:`classify_warnings` table.
    """
    pairs = follower_pairs(trajectories[~settling_after_teleport(trajectories, events)])
    conflicts = ttc_conflicts(pairs, step_ns=step_ns, threshold_s=threshold_s,
                              serious_s=serious_s)
    classified = classify_warnings(warnings, conflicts, window_ns=window_ns)

    kind = events["kind"].astype(str)
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
    }
    app = classified["app"].astype(str)
    fcw = classified[app == "FCW"]
    n_true = int(fcw["true_warning"].sum())
    kpis["apps.FCW.warnings"] = len(fcw)
    kpis["apps.FCW.true_warnings"] = n_true
    kpis["apps.FCW.false_warnings"] = len(fcw) - n_true
    for name in applications:
        kpis.setdefault(f"apps.{name}.warnings", 0)
    for name, n in app[app != "FCW"].value_counts().sort_index().items():
        kpis[f"apps.{name}.warnings"] = int(n)
    kpis.update(warning_timing_kpis(classified, applications))
    return kpis, conflicts, classified


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
