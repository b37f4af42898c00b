"""Warning scoring per application against the ground truth (independent of V2X).

Every application has one truth rule (:data:`SCORING_RULES`, keyed by application name: a new
application is scored by adding one line) naming the kind of ground-truth conflict that judges
its warnings, or saying why it is not scored. The ground truth is one table
(:func:`truth_table`): a row per conflict and host vehicle that should be warned of it, with
the conflict's span [``t_start_ns``, ``t_end_ns``] and its instant ``t_ns``:

* ``rear_end``: a same-lane TTC conflict, the host following; instant: its min TTC.
* ``rear_end_braking``: a ``rear_end`` row whose leader, or the vehicle ahead of that leader
  in its lane when the conflict began (an emergency brake hidden by the vehicle in between:
  the EBW situation of T/CSAE 53-2020 annex A), started braking hard (a ``hard_braking``
  event, > 0.4 g) at most :data:`BRAKING_LOOKBACK_NS` (5 s) before the conflict began, or
  during it: the emergency-brake situation.
* ``lane_change``: an offset rear-end TTC conflict between lanes side by side on one road
  (paths overlapping while a vehicle changes lanes), or a lane-change PET conflict (a vehicle
  merged into the lane beside, just ahead of or behind another); the host either vehicle;
  instant: the min TTC, or the second's entry.
* ``crossing``: a vehicle-vehicle crossing PET conflict, the host either vehicle; span from the
  first's entry into the conflict area to the second's; instant: the second's entry.
* ``crossing_left_turn``: a ``crossing`` row whose host turned left: its heading changed by
  45..135 degrees counter-clockwise from :data:`TURN_LOOKAROUND_NS` (6 s) before the span to
  6 s after it (within its trajectory): the left-turn-assist situation, where the vehicle
  going straight is not the one to warn.
* ``pedestrian``: a vehicle-pedestrian PET conflict, the host the vehicle; as ``crossing``.
* ``red_light``: a red-light violation, the host the violator; instant: its crossing.
* ``speeding``: a speeding episode, the host the speeder; span onset to end; instant: onset.

Scoring of application A with rule kind K (``window`` 5 s by default):

* a warning of A at t to host h is a **true positive** when a K row of host h (and, for a rule
  whose ``counterpart`` is ``"remote"``, other == the warning's remote) has a span overlapping
  [t, t + window]; otherwise a **false positive**;
* a **miss** is a K row of an equipped host (``nodes`` kind ``obu``) that no warning of A
  matches that way;
* with a twin (``[benefit] compare``: the same scenario and seed with every application off),
  the truth also holds the conflicts that happened only in the twin
  (:func:`counterfactual_truth`): in a closed loop the warning that made a driver brake and
  avoid a conflict is a true positive, and the conflict it avoided is not a miss;
* **lead time** of a true positive: the instant of its earliest matched row minus the warning
  time [s] (negative: the warning came after the instant, within the span);
* **information age** of every warning: ``warnings.info_age_ms`` (age of the message that
  triggered it when it was raised).

KPIs (names in :mod:`analysis._kpi`): ``apps.<A>.true_positives``, ``.false_positives``,
``.misses``, ``.lead_time_min_s``, ``.lead_time_p50_s`` (nearest rank), ``.info_age_p50_ms``
for a scored application; an application that is not scored gets ``.info_age_p50_ms`` only,
and its reason in the report. FCW keeps ``apps.FCW.true_warnings`` / ``.false_warnings``
(= its true and false positives).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._kpi import sample_percentile
from v2x.nodes import PERSON_NODE_BASE

__all__ = [
    "SCORING_RULES",
    "BRAKING_LOOKBACK_NS",
    "TRUTH_KINDS",
    "TruthRule",
    "TwinRun",
    "counterfactual_truth",
    "rule_of",
    "score_warnings",
    "scoring_kpis",
    "scoring_properties",
    "truth_table",
]

#: a leader's hard braking this long before a rear-end conflict began makes it an
#: emergency-brake conflict [ns] (our choice: the warning window)
BRAKING_LOOKBACK_NS = 5_000_000_000

#: a crossing host's heading is compared this long before and after the conflict's span [ns]
#: (a left turn at 15-30 km/h through a junction takes about 3-5 s)
TURN_LOOKAROUND_NS = 6_000_000_000
#: heading change [deg] (negative: counter-clockwise, SUMO and BSM headings growing clockwise
#: from north) of a left turn
LEFT_TURN_DEG = (-135.0, -45.0)

#: ground-truth kinds a rule can name, and what a row of each is
TRUTH_KINDS: dict[str, str] = {
    "rear_end": "same-lane rear-end TTC conflict, the host following",
    "rear_end_braking": "same-lane rear-end TTC conflict, the host following a vehicle that "
                        "braked hard (> 0.4 g), or one that was behind it, up to 5 s before "
                        "it or during it",
    "lane_change": "lane-change conflict: TTC across lanes side by side (paths overlapping) or "
                   "PET of a merge from the lane beside, the host either vehicle",
    "crossing": "crossing PET conflict between vehicles, the host either vehicle",
    "crossing_left_turn": "crossing PET conflict between vehicles, the host the one turning "
                          "left (heading 45-135 degrees counter-clockwise from 6 s before the "
                          "conflict to 6 s after)",
    "pedestrian": "vehicle-pedestrian PET conflict, the host the vehicle",
    "red_light": "red-light violation by the host",
    "speeding": "speeding episode of the host",
}


@dataclass(frozen=True)
class TruthRule:
    """Which ground truth judges an application's warnings.

    ``kind``: a key of :data:`TRUTH_KINDS`; ``counterpart``: ``"any"`` (any conflict of the
    host of that kind) or ``"remote"`` (only one with the warning's remote as the other road
    user).
    """

    kind: str
    counterpart: str = "any"

    def __post_init__(self) -> None:
        if self.kind not in TRUTH_KINDS:
            raise ValueError(f"unknown truth kind {self.kind!r}; known: {', '.join(TRUTH_KINDS)}")
        if self.counterpart not in ("any", "remote"):
            raise ValueError(f"counterpart must be 'any' or 'remote', got {self.counterpart!r}")


#: application name -> its truth rule, or the reason it is not scored (one line per
#: application: add one to score a new application)
SCORING_RULES: dict[str, TruthRule | str] = {
    # the target, or whatever vehicle is ahead: any rear-end conflict of the host following
    "FCW": TruthRule("rear_end"),
    # an emergency brake ahead: the rear-end conflicts whose leader braked hard
    "EBW": TruthRule("rear_end_braking"),
    "ICW": TruthRule("crossing"),
    # left turn assist warns the turning host: the oncoming vehicle's side is no miss
    "LTA": TruthRule("crossing_left_turn"),
    "VRUCW": TruthRule("pedestrian"),
    "RLVW": TruthRule("red_light"),
    "SLW": TruthRule("speeding"),
    "BSW": TruthRule("lane_change"),
    "LCW": TruthRule("lane_change"),
    "HLW": "not scored: a road hazard is the scenario's script, not a measured conflict",
    "IVS": "not scored: in-vehicle signage informs, it warns of no conflict",
    "TJW": "not scored: no ground truth of traffic jams",
    "GLOSA": "not scored: a speed advisory, not a warning",
    "EVW": "not scored: no ground truth of emergency-vehicle encounters",
    "AVW": "not scored: no ground truth of abnormal vehicles",
    "CLW": "not scored: no ground truth of control loss",
    "DNPW": "not scored: overtaking conflicts with oncoming traffic are not measured",
    "VNFP": "not scored: scored on the exchange's latency and completion, not on conflicts",
}


def rule_of(app: str) -> TruthRule | str:
    """The truth rule of application ``app``, or why it is not scored."""
    return SCORING_RULES.get(app, "not scored: no truth rule registered")


_TRUTH_COLUMNS = {"kind": object, "host": np.int64, "other": np.int64,
                  "t_start_ns": np.int64, "t_end_ns": np.int64, "t_ns": np.int64}


def _frame(kind: str, host: Iterable[int], other: Iterable[int], start: Iterable[int],
           end: Iterable[int], instant: Iterable[int]) -> pd.DataFrame:
    df = pd.DataFrame({"host": np.asarray(list(host) if not isinstance(host, np.ndarray)
                                          else host, np.int64),
                       "other": np.asarray(other, np.int64),
                       "t_start_ns": np.asarray(start, np.int64),
                       "t_end_ns": np.asarray(end, np.int64),
                       "t_ns": np.asarray(instant, np.int64)})
    df.insert(0, "kind", kind)
    return df


def truth_table(conflicts: pd.DataFrame, offset_conflicts: pd.DataFrame,
                pet: pd.DataFrame, red_light: pd.DataFrame,
                speeding: pd.DataFrame, hard_braking: pd.DataFrame | None = None,
                pairs: pd.DataFrame | None = None,
                trajectories: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ground truth as one table (module docstring): ``kind``, ``host``, ``other`` (-1:
    none), ``t_start_ns``, ``t_end_ns``, ``t_ns``.

    Inputs: the same-lane and the lane-change (offset, lanes side by side) TTC conflicts
    (:func:`~analysis.ttc_conflicts`), the PET encounters
    (:func:`~analysis._pet.pet_encounters`; conflicts only are used), the red-light
    violations (``vehicle``, ``t_ns``), the speeding episodes (``vehicle``, ``t_start_ns``,
    ``t_end_ns``), the starts of hard braking (``vehicle``, ``t_ns``; None: none) and the
    same-lane (follower, leader) pairs of every step (:func:`~analysis.follower_pairs`:
    ``t_ns``, ``follower``, ``leader``; who was ahead of a conflict's leader; None: only the
    leader's own braking counts) and the trajectories (``vehicle``, ``t_ns``,
    ``heading_deg``: who turned left through a crossing conflict; None: no
    ``crossing_left_turn`` rows).
    """
    c, o = conflicts, offset_conflicts
    braked = _braked(c, hard_braking, pairs)
    parts = [
        _frame("rear_end", c["follower"], c["leader"], c["t_start_ns"], c["t_end_ns"],
               c["t_min_ttc_ns"]),
        _frame("rear_end_braking", c["follower"][braked], c["leader"][braked],
               c["t_start_ns"][braked], c["t_end_ns"][braked], c["t_min_ttc_ns"][braked]),
        _frame("lane_change", o["follower"], o["leader"], o["t_start_ns"], o["t_end_ns"],
               o["t_min_ttc_ns"]),
        _frame("lane_change", o["leader"], o["follower"], o["t_start_ns"], o["t_end_ns"],
               o["t_min_ttc_ns"]),
    ]
    p = pet[pet["conflict"]]
    ns = {k: np.round(p[k].to_numpy(np.float64) * 1e9).astype(np.int64)
          for k in ("t_first_enter_s", "t_second_enter_s")}
    cross = (p["kind"] == "crossing").to_numpy()
    change = (p["kind"] == "lane_change").to_numpy()
    ped = (p["kind"] == "pedestrian").to_numpy()
    first, second = p["first"].to_numpy(np.int64), p["second"].to_numpy(np.int64)
    span = (ns["t_first_enter_s"], ns["t_second_enter_s"], ns["t_second_enter_s"])
    parts.append(_frame("crossing", first[cross], second[cross], *(s[cross] for s in span)))
    parts.append(_frame("crossing", second[cross], first[cross], *(s[cross] for s in span)))
    if trajectories is not None:
        both = pd.concat(parts[-2:], ignore_index=True)
        turned = _turned_left(both, trajectories)
        parts.append(both[turned].assign(kind="crossing_left_turn"))
    parts.append(_frame("lane_change", first[change], second[change],
                        *(s[change] for s in span)))
    parts.append(_frame("lane_change", second[change], first[change],
                        *(s[change] for s in span)))
    vehicle_first = first < PERSON_NODE_BASE
    host = np.where(vehicle_first, first, second)[ped]
    other = np.where(vehicle_first, second, first)[ped]
    parts.append(_frame("pedestrian", host, other, *(s[ped] for s in span)))
    r = red_light
    parts.append(_frame("red_light", r["vehicle"], np.full(len(r), -1), r["t_ns"], r["t_ns"],
                        r["t_ns"]))
    s = speeding
    parts.append(_frame("speeding", s["vehicle"], np.full(len(s), -1), s["t_start_ns"],
                        s["t_end_ns"], s["t_start_ns"]))
    out = pd.concat(parts, ignore_index=True)
    return out.astype(_TRUTH_COLUMNS).sort_values(["t_ns", "kind", "host"], kind="stable")\
        .reset_index(drop=True)


def _turned_left(rows: pd.DataFrame, trajectories: pd.DataFrame) -> np.ndarray:
    """(n,) bool: whether each row's ``host`` turned left around [``t_start_ns``,
    ``t_end_ns``]: its heading at its first sample from :data:`TURN_LOOKAROUND_NS` before the
    span against its last sample up to that long after, the change wrapped to [-180, 180)
    within :data:`LEFT_TURN_DEG`."""
    if rows.empty:
        return np.zeros(0, bool)
    traj = trajectories[["vehicle", "t_ns", "heading_deg"]].sort_values("t_ns", kind="stable")
    ask = pd.DataFrame({"vehicle": rows["host"].to_numpy(np.int64),
                        "before": rows["t_start_ns"].to_numpy(np.int64) - TURN_LOOKAROUND_NS,
                        "after": rows["t_end_ns"].to_numpy(np.int64) + TURN_LOOKAROUND_NS,
                        "row": np.arange(len(rows))})

    def heading(at: str, direction: str) -> np.ndarray:
        q = ask.sort_values(at, kind="stable")
        got = pd.merge_asof(q, traj, left_on=at, right_on="t_ns", by="vehicle",
                            direction=direction)  # type: ignore[arg-type]
        out = np.full(len(rows), np.nan)
        out[got["row"].to_numpy()] = got["heading_deg"].to_numpy(np.float64)
        return out

    change = (heading("after", "backward") - heading("before", "forward") + 180.0) % 360.0 \
        - 180.0
    lo, hi = LEFT_TURN_DEG
    return (change >= lo) & (change <= hi)  # NaN (no sample): not a turn


@dataclass(frozen=True, eq=False)
class TwinRun:
    """What scoring needs of a run's twin without V2X (``[benefit] compare``): its ground
    truth (:func:`truth_table`), ``nodes`` and ``events`` tables."""

    truth: pd.DataFrame
    nodes: pd.DataFrame
    events: pd.DataFrame


def counterfactual_truth(truth: pd.DataFrame, nodes: pd.DataFrame, twin: TwinRun
                         ) -> pd.DataFrame:
    """The ground truth of a run joined with its twin's: the same scenario and seed with every
    application off (``[benefit] compare``, :mod:`analysis._benefit`).

    In a closed loop a warned driver brakes, so the conflict a true warning foresaw may never
    happen in the run: judged on the run alone, the warning that prevented it would be a false
    positive. A twin row is a conflict that would have happened without V2X; it is added unless
    the run has a row of the same ``kind``, ``host`` and ``other`` whose span overlaps it (the
    conflict happened anyway: one conflict, not two), or it starts after the twin's first
    collision of its host or other (the crash's aftermath: SUMO leaves crashed vehicles
    standing, and their overlap is no conflict anyone could be warned of). The twin's
    vehicles are mapped to this run's nodes by their SUMO name (``nodes`` ``node``,
    ``name``); a twin row naming a vehicle the run never had is left out; pedestrian nodes
    (not in ``nodes``) and ``other`` -1 keep their ids (same seed, same persons).

    Returns the :func:`truth_table` columns plus ``counterfactual`` (bool: only in the twin),
    sorted as :func:`truth_table`.
    """
    here = dict(zip(nodes["name"].astype(str), nodes["node"].astype(np.int64), strict=True))
    to_here = {int(n): here.get(name, -2) for n, name in
               zip(twin.nodes["node"].to_numpy(np.int64), twin.nodes["name"].astype(str),
                   strict=True)}

    def mapped(ids: pd.Series) -> np.ndarray:
        v = ids.to_numpy(np.int64)
        return np.array([to_here.get(int(i), int(i)) for i in v], dtype=np.int64)

    crashed = _first_collision_ns(twin.events)
    rows = twin.truth
    after = np.minimum(rows["host"].map(crashed).fillna(np.inf).to_numpy(np.float64),
                       rows["other"].map(crashed).fillna(np.inf).to_numpy(np.float64))
    rows = rows[rows["t_start_ns"].to_numpy(np.float64) <= after]
    rows = rows.assign(host=mapped(rows["host"]), other=mapped(rows["other"]))
    rows = rows[(rows["host"] != -2) & (rows["other"] != -2)].reset_index(drop=True)
    rows = rows.assign(tid=np.arange(len(rows), dtype=np.int64))
    both = rows.merge(truth, on=["kind", "host", "other"], suffixes=("", "_run"))
    overlap = ((both["t_start_ns"] <= both["t_end_ns_run"])
               & (both["t_start_ns_run"] <= both["t_end_ns"]))
    avoided = rows[~rows["tid"].isin(both.loc[overlap, "tid"])].drop(columns="tid")
    out = pd.concat([truth.assign(counterfactual=False),
                     avoided.astype(_TRUTH_COLUMNS).assign(counterfactual=True)],
                    ignore_index=True)
    return out.sort_values(["t_ns", "kind", "host"], kind="stable").reset_index(drop=True)


def _first_collision_ns(events: pd.DataFrame) -> pd.Series:
    """Simulated time [ns] of each vehicle's first collision (either party), by node."""
    c = events[events["kind"].astype(str) == "collision"]
    t = pd.concat([pd.Series(c["t_ns"].to_numpy(np.int64), index=c["vehicle"].to_numpy()),
                   pd.Series(c["t_ns"].to_numpy(np.int64), index=c["other"].to_numpy())])
    return t.groupby(level=0).min()


def _braked(conflicts: pd.DataFrame, hard_braking: pd.DataFrame | None,
            pairs: pd.DataFrame | None = None) -> np.ndarray:
    """(n,) bool over ``conflicts``: its leader, or the vehicle ahead of its leader at the
    conflict's start (from ``pairs``), started braking hard within
    [t_start - BRAKING_LOOKBACK_NS, t_end]."""
    out = np.zeros(len(conflicts), bool)
    if hard_braking is None or hard_braking.empty or conflicts.empty:
        return out
    c = conflicts.reset_index(drop=True).assign(cid=np.arange(len(conflicts)))
    ahead = c[["cid", "leader", "t_start_ns", "t_end_ns"]].rename(columns={"leader": "braker"})
    if pairs is not None and len(pairs):
        beyond = c[["cid", "leader", "t_start_ns", "t_end_ns"]].merge(
            pd.DataFrame({"t_start_ns": pairs["t_ns"].to_numpy(np.int64),
                          "leader": pairs["follower"].to_numpy(np.int64),
                          "braker": pairs["leader"].to_numpy(np.int64)}),
            on=["t_start_ns", "leader"]).drop(columns="leader")
        ahead = pd.concat([ahead, beyond], ignore_index=True)
    m = ahead.merge(
        pd.DataFrame({"braker": hard_braking["vehicle"].to_numpy(np.int64),
                      "t_brake": hard_braking["t_ns"].to_numpy(np.int64)}), on="braker")
    hit = ((m["t_brake"] >= m["t_start_ns"] - BRAKING_LOOKBACK_NS)
           & (m["t_brake"] <= m["t_end_ns"]))
    out[m.loc[hit, "cid"].to_numpy()] = True
    return out


_SUMMARY_COLUMNS = ("app", "scored", "rule", "warnings", "true_positives", "false_positives",
                    "misses", "lead_time_min_s", "lead_time_p50_s", "info_age_p50_ms")


def score_warnings(warnings: pd.DataFrame, truth: pd.DataFrame, *, window_ns: int,
                   applications: Sequence[str] = (),
                   equipped: Iterable[int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every warning against the ground truth (module docstring).

    ``warnings``: the ``warnings`` table; ``truth``: :func:`truth_table`; ``window_ns`` [ns];
    ``applications``: the applications the run ran (scored even when they never warned);
    ``equipped``: nodes with an OBU (misses count only their conflicts; None: every host).
    Returns ``(warnings, summary)``: the warnings with ``true_warning`` (bool, None for an
    application that is not scored) and ``lead_time_s`` (NaN unless a true positive), and one
    summary row per application (columns ``app``, ``scored``, ``rule`` (its truth kind, or
    why it is not scored), ``warnings``, ``true_positives``, ``false_positives``,
    ``misses``, ``lead_time_min_s``, ``lead_time_p50_s``, ``info_age_p50_ms``), by name.
    """
    w = warnings.reset_index(drop=True)
    app = w["app"].astype(str).to_numpy(dtype=object)
    names = sorted(set(applications) | set(app.tolist()))
    rules = {n: rule_of(n) for n in names}
    kind_of = {n: r.kind for n, r in rules.items() if isinstance(r, TruthRule)}
    remote_only = {n for n, r in rules.items() if isinstance(r, TruthRule)
                   and r.counterpart == "remote"}
    wk = pd.DataFrame({"wid": np.arange(len(w), dtype=np.int64), "app": app,
                       "kind": pd.Series([kind_of.get(a) for a in app.tolist()],
                                         dtype=object),
                       "host": w["vehicle"].to_numpy(dtype=np.int64),
                       "remote": w["remote"].to_numpy(dtype=np.int64),
                       "t_w": w["t_ns"].to_numpy(dtype=np.int64)})
    tr = truth.reset_index(drop=True).assign(eid=np.arange(len(truth), dtype=np.int64))
    m = wk.dropna(subset=["kind"]).merge(tr, on=["kind", "host"], how="inner")
    hit = (m["t_end_ns"] >= m["t_w"]) & (m["t_start_ns"] <= m["t_w"] + window_ns)
    hit &= ~m["app"].isin(remote_only) | (m["other"] == m["remote"])
    m = m[hit]
    lead = m.sort_values("t_ns", kind="stable").groupby("wid", sort=True)["t_ns"].first()
    true = np.isin(wk["wid"].to_numpy(), m["wid"].to_numpy())
    judged: list[bool | None] = [bool(t) if a in kind_of else None
                                 for t, a in zip(true.tolist(), app.tolist(), strict=True)]
    out = w.copy()
    out["true_warning"] = pd.Series(judged, index=out.index, dtype=object)
    lead_s = np.full(len(w), np.nan)
    lead_s[lead.index.to_numpy()] = (lead.to_numpy() - wk["t_w"].to_numpy()[lead.index]) / 1e9
    out["lead_time_s"] = lead_s
    eq = None if equipped is None else set(int(v) for v in equipped)
    rows = []
    for name in names:
        mine = app == name
        age = (w["info_age_ms"].to_numpy(dtype=np.float64)[mine] if "info_age_ms" in w
               else np.full(int(mine.sum()), np.nan))
        row: dict[str, object] = {"app": name, "warnings": int(mine.sum()),
                                  "info_age_p50_ms": sample_percentile(age, 50)}
        rule = rules[name]
        if isinstance(rule, TruthRule):
            events = tr[tr["kind"] == rule.kind]
            if eq is not None:
                events = events[events["host"].isin(eq)]
            matched = m.loc[m["app"] == name, "eid"].to_numpy()
            tp = int(np.count_nonzero(true & mine))
            leads = lead_s[mine & true]
            row.update(scored=True, rule=rule.kind, true_positives=tp,
                       false_positives=int(mine.sum()) - tp,
                       misses=int((~events["eid"].isin(matched)).sum()),
                       lead_time_min_s=float(leads.min()) if leads.size else math.nan,
                       lead_time_p50_s=sample_percentile(leads, 50))
        else:
            row.update(scored=False, rule=rule, true_positives=0, false_positives=0, misses=0,
                       lead_time_min_s=math.nan, lead_time_p50_s=math.nan)
        rows.append(row)
    summary = pd.DataFrame(rows, columns=list(_SUMMARY_COLUMNS))
    return out, summary


def scoring_kpis(summary: pd.DataFrame) -> dict[str, float]:
    """The ``apps.<A>.*`` scoring KPIs of a :func:`score_warnings` summary (module
    docstring)."""
    kpis: dict[str, float] = {}
    for r in summary.itertuples(index=False):
        a = f"apps.{r.app}"
        kpis[f"{a}.info_age_p50_ms"] = float(r.info_age_p50_ms)
        if not r.scored:
            continue
        kpis[f"{a}.true_positives"] = int(r.true_positives)
        kpis[f"{a}.false_positives"] = int(r.false_positives)
        kpis[f"{a}.misses"] = int(r.misses)
        kpis[f"{a}.lead_time_min_s"] = float(r.lead_time_min_s)
        kpis[f"{a}.lead_time_p50_s"] = float(r.lead_time_p50_s)
        if r.app == "FCW":  # the names FCW's criteria used before the scoring
            kpis["apps.FCW.true_warnings"] = int(r.true_positives)
            kpis["apps.FCW.false_warnings"] = int(r.false_positives)
    return kpis


_SCORE_KPI = re.compile(r"apps\.[^.]+\.(true_positives|false_positives|misses|lead_time_min_s"
                        r"|lead_time_p50_s|info_age_p50_ms)\Z")


def scoring_properties(kpis: Mapping[str, float]) -> list[tuple[str, str]]:
    """The scoring KPIs of ``kpis`` as (name, value) strings for JUnit ``<property>``
    elements (``%.6g``; NaN as ``nan``), in KPI order."""
    from analysis._kpi import kpi_order

    names = sorted((k for k in kpis if _SCORE_KPI.match(k)), key=kpi_order)
    return [(k, f"{float(kpis[k]):.6g}") for k in names]
