"""Ground-truth events from the traffic itself, independent of V2X (the ``events`` table;
kinds and thresholds are defined in :mod:`v2x.events`).

* **Hard braking** starts when a vehicle's deceleration exceeds 0.4 g (3.92 m/s², the BSM
  hardBraking event, STANDARDS.md section 5) and ends when it falls below 0.3 g (hysteresis,
  our choice: one manoeuvre is one event, not one per dip around 0.4 g); row ``hard_braking``,
  ``value`` = the deceleration [m/s²] at its start.
* **Collisions**: one event per collision, not one per SUMO report. SUMO reports a colliding
  pair at every step the vehicles overlap (``--collision.action warn``: they drive on), so a
  collision held 8 s would be 80 rows. A pair (in either order) starts a collision at the first
  step SUMO reports it (row ``collision``: ``vehicle`` the collider, ``other`` the victim,
  ``value`` the collider's speed [m/s]); the collision ends once SUMO has not reported the pair
  for :data:`COLLISION_GAP_NS` (row ``collision_end`` at that step: ``value`` = its duration
  [s], from its first to its last reported step plus one step). Collisions still open when the
  run ends get their ``collision_end`` at the last step.
* **Teleports** (SUMO moves a vehicle stuck for ``--time-to-teleport`` seconds further along
  its route): rows ``teleport`` (it left the road) and ``teleport_end`` (it is back, at a new
  position and speed), ``value`` NaN. The jump is not driving: a vehicle is not judged for hard
  braking from the step its teleport ends until :data:`TELEPORT_SETTLE_NS` later, and the
  analysis leaves the same interval out of its surrogate safety measures.
* **Red-light violations**: a vehicle crosses the stop line of a signalized link (from the
  link's incoming lane onto its way through the junction, as the traffic backend reports it:
  :class:`~v2x.traffic.SignalCrossing`) while SUMO's state of that link after the step is red
  (``r``, or ``u`` red-yellow: :data:`~v2x.events.RED_STATES`); yellow and green are not.
  Row ``red_light_violation``: ``other`` -1, ``value`` the vehicle's speed [m/s] at that step.
  One per crossing: a vehicle crosses a stop line once.
* **Speeding** against the lane's limit (SUMO's lane ``maxSpeed``; lanes inside junctions,
  ``":..."``, have SUMO's derived turning speeds, not a posted limit: there an episode neither
  starts nor ends). An episode starts at the first step the speed exceeds the limit (row
  ``speeding``, ``value`` = the limit [m/s]) and ends at the first step it does not, or the
  vehicle is gone (row ``speeding_end``, ``value`` = the largest excess of the episode [m/s]);
  the duration is the time between the two rows. Episodes still open when the run ends get
  their ``speeding_end`` at the last step.

Vehicles are the run's vehicle indices (``other`` -1 where there is none). Everything is
vectorized over the vehicles of a step; collisions and teleports are few and handled per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from v2x.events import (
    COLLISION_GAP_NS,
    HARD_BRAKING_END_MPS2,
    HARD_BRAKING_MPS2,
    RED_STATES,
    TELEPORT_SETTLE_NS,
)

if TYPE_CHECKING:
    from v2x.traffic import Collision, SignalCrossing, Teleport, VehicleStates

__all__ = ["GroundTruth"]

EventRows = dict[str, np.ndarray]


@dataclass
class _OpenCollision:
    collider: int
    victim: int
    onset_ns: int
    last_ns: int


@dataclass
class GroundTruth:
    """The ground-truth event detector of one run (see the module docstring).

    Args:
        step_ns: the simulation step [ns] (a collision reported at one step lasts one step).
        lane_limits: lane id -> speed limit [m/s] (SUMO's lane ``maxSpeed``); lanes not in it
            and junction-internal lanes are not judged. Empty: no speeding events.
    """

    step_ns: int
    lane_limits: Mapping[str, float] = field(default_factory=dict)
    braking: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    settle_until_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    collisions: dict[frozenset[str], _OpenCollision] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {
        "hard_braking": 0, "collision": 0, "teleport": 0, "red_light_violation": 0,
        "speeding": 0})
    last_ns: int = 0
    speeding: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    max_excess: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seen_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lane_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    limit: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        self._limit_of = _Limits({k: float(v) for k, v in self.lane_limits.items()
                                  if not k.startswith(":")})

    def observe(self, st: VehicleStates, collisions: Sequence[Collision],
                teleports: Sequence[Teleport], index_of: Mapping[str, int],
                crossings: Sequence[SignalCrossing] = ()) -> list[EventRows]:
        """The events of one step, as column dicts of the ``events`` table (in this order:
        teleports, hard braking, red-light violations, speeding ends and starts, collision
        ends, collision onsets).

        Args:
            st: the vehicles present after the step.
            collisions: what SUMO reported in the step. teleports: the same for teleports.
            index_of: vehicle name -> run vehicle index (every vehicle seen so far); a name
                missing from it gives index -1.
            crossings: the stop lines of signalized links crossed in the step.
        """
        self.last_ns = st.t_ns
        self._grow(int(st.index.max()) + 1 if st.n else 0)
        out = [self._teleports(st.t_ns, teleports, index_of)] if teleports else []
        out.append(self._hard_braking(st))
        if crossings:
            out.append(self._red_light(st, crossings, index_of))
        if self._limit_of:
            out += self._speeding(st)
        if collisions or self.collisions:
            out += self._collisions(st.t_ns, collisions, index_of)
        return [rows for rows in out if rows["t_ns"].size]

    def finish(self) -> list[EventRows]:
        """``collision_end`` and ``speeding_end`` rows at the last step observed for
        collisions and speeding episodes still open."""
        ended = list(self.collisions.values())
        self.collisions.clear()
        out = [self._ends(self.last_ns, ended)] if ended else []
        fast = np.flatnonzero(self.speeding)
        if fast.size:
            self.speeding[fast] = False
            out.append(_rows(self.last_ns, "speeding_end", fast, np.full(fast.size, -1, np.int64),
                             self.max_excess[fast]))
        return out

    # ------------------------------------------------------------------------------------
    def _grow(self, n: int) -> None:
        k = n - self.braking.size
        if k > 0:
            self.braking = np.concatenate([self.braking, np.zeros(k, bool)])
            self.settle_until_ns = np.concatenate([self.settle_until_ns,
                                                   np.full(k, np.iinfo(np.int64).min)])
            self.speeding = np.concatenate([self.speeding, np.zeros(k, bool)])
            self.max_excess = np.concatenate([self.max_excess, np.zeros(k)])
            self.seen_ns = np.concatenate([self.seen_ns, np.zeros(k, np.int64)])
            self.lane_of = np.concatenate([self.lane_of, np.full(k, None, dtype=object)])
            self.limit = np.concatenate([self.limit, np.full(k, np.nan)])

    def _red_light(self, st: VehicleStates, crossings: Sequence[SignalCrossing],
                   index_of: Mapping[str, int]) -> EventRows:
        veh = np.array([index_of.get(c.vehicle, -1) for c in crossings
                        if c.state in RED_STATES], np.int64)
        row = np.clip(np.searchsorted(st.index, veh), 0, max(st.n - 1, 0))
        ok = (veh >= 0) & (st.index[row] == veh) if st.n else np.zeros(veh.size, bool)
        ok[ok] = self.settle_until_ns[veh[ok]] <= st.t_ns  # a teleport's jump is no crossing
        k = int(np.count_nonzero(ok))
        self.counts["red_light_violation"] += k
        return _rows(st.t_ns, "red_light_violation", veh[ok], np.full(k, -1, np.int64),
                     st.speed[row[ok]])

    def _speeding(self, st: VehicleStates) -> list[EventRows]:
        idx, t = st.index, st.t_ns
        # each vehicle's lane limit, looked up again only where its lane changed
        moved = np.flatnonzero(self.lane_of[idx] != st.lane)
        if moved.size:
            self.lane_of[idx[moved]] = st.lane[moved]
            self.limit[idx[moved]] = [self._limit_of[lane] for lane in st.lane[moved].tolist()]
        limit = self.limit[idx]
        excess = st.speed - limit
        judged = ~np.isnan(limit) & (self.settle_until_ns[idx] <= t)
        was = self.speeding[idx]
        over = np.where(judged, excess > 0, was)
        start, stop = over & ~was, was & ~over
        self.speeding[idx] = over
        self.seen_ns[idx] = t
        self.max_excess[idx[start]] = excess[start]
        grow = np.flatnonzero(over & judged)
        self.max_excess[idx[grow]] = np.maximum(self.max_excess[idx[grow]], excess[grow])
        ended = idx[stop]
        if self.speeding.any():  # open episodes of vehicles gone from the road end now
            gone = np.flatnonzero(self.speeding & (self.seen_ns < t))
            if gone.size:
                self.speeding[gone] = False
                ended = np.sort(np.concatenate([ended, gone]))
        k = int(np.count_nonzero(start))
        self.counts["speeding"] += k
        out = []
        if ended.size:
            out.append(_rows(t, "speeding_end", ended, np.full(ended.size, -1, np.int64),
                             self.max_excess[ended]))
        if k:
            out.append(_rows(t, "speeding", idx[start], np.full(k, -1, np.int64), limit[start]))
        return out

    def _hard_braking(self, st: VehicleStates) -> EventRows:
        idx = st.index
        was = self.braking[idx]
        hard = st.accel < -HARD_BRAKING_MPS2
        self.braking[idx] = hard | (was & (st.accel < -HARD_BRAKING_END_MPS2))
        new = hard & ~was & (self.settle_until_ns[idx] <= st.t_ns)
        k = int(np.count_nonzero(new))
        self.counts["hard_braking"] += k
        return _rows(st.t_ns, "hard_braking", idx[new], np.full(k, -1, np.int64),
                     -st.accel[new])

    def _teleports(self, t_ns: int, teleports: Sequence[Teleport],
                   index_of: Mapping[str, int]) -> EventRows:
        veh = np.array([index_of.get(tp.vehicle, -1) for tp in teleports], np.int64)
        ended = veh[[tp.phase == "end" and i >= 0 for tp, i in
                     zip(teleports, veh.tolist(), strict=True)]]
        self._grow(int(veh.max()) + 1)
        self.settle_until_ns[ended] = t_ns + TELEPORT_SETTLE_NS
        self.counts["teleport"] += sum(tp.phase == "start" for tp in teleports)
        kinds = np.array(["teleport" if tp.phase == "start" else "teleport_end"
                          for tp in teleports], dtype=object)
        return {"t_ns": np.full(veh.size, t_ns, np.int64), "kind": kinds, "vehicle": veh,
                "other": np.full(veh.size, -1, np.int64), "value": np.full(veh.size, np.nan)}

    def _collisions(self, t_ns: int, collisions: Sequence[Collision],
                    index_of: Mapping[str, int]) -> list[EventRows]:
        onsets: list[tuple[int, int, float]] = []
        for c in collisions:
            key = frozenset((c.collider, c.victim))
            open_ = self.collisions.get(key)
            if open_ is None:
                a, b = index_of.get(c.collider, -1), index_of.get(c.victim, -1)
                self.collisions[key] = _OpenCollision(a, b, t_ns, t_ns)
                onsets.append((a, b, c.speed))
            else:
                open_.last_ns = t_ns
        over = [k for k, c in self.collisions.items() if t_ns - c.last_ns >= COLLISION_GAP_NS]
        ended = [self.collisions.pop(k) for k in over]
        self.counts["collision"] += len(onsets)
        rows = [self._ends(t_ns, ended)] if ended else []
        if onsets:
            rows.append(_rows(t_ns, "collision", np.array([o[0] for o in onsets], np.int64),
                              np.array([o[1] for o in onsets], np.int64),
                              np.array([o[2] for o in onsets], np.float64)))
        return rows

    def _ends(self, t_ns: int, ended: Sequence[_OpenCollision]) -> EventRows:
        return _rows(t_ns, "collision_end",
                     np.array([c.collider for c in ended], np.int64),
                     np.array([c.victim for c in ended], np.int64),
                     np.array([(c.last_ns - c.onset_ns + self.step_ns) / 1e9 for c in ended]))



class _Limits(dict[str, float]):
    """Lane id -> limit [m/s]; NaN for a lane without one (not judged)."""

    def __missing__(self, key: str) -> float:
        return float("nan")


def _rows(t_ns: int, kind: str, vehicle: np.ndarray, other: np.ndarray,
          value: np.ndarray) -> EventRows:
    k = vehicle.size
    return {"t_ns": np.full(k, t_ns, np.int64), "kind": np.full(k, kind, dtype=object),
            "vehicle": vehicle, "other": other, "value": np.asarray(value, np.float64)}
