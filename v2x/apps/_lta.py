"""Left turn assist (LTA), vectorized over the BSM receptions of a window.

T/CSAE 53-2020 Day-1 application LTA (test scenarios: T/CSAE 246-2022, the LTA annex): a host
turning left at an intersection is warned when an oncoming vehicle going straight, from the
BSMs it broadcasts, would meet it where the left turn crosses the oncoming lane (STANDARDS.md
sections 4 and 7). The standard describes the application, not a formula; the rule is ours,
with the prediction of :mod:`v2x.apps._conflict`. A host needs the intersection's MAP (its
RSU's, decoded from the frames it received), as a real OBU does:

1. **Left-turn intent**: the host is map-matched (:func:`v2x.apps.match`, on its own position
   and heading, never SUMO's lane) to an approach lane of a node whose MAP it received, that
   lane allows a left turn and not straight on (a left-turn lane: its ``maneuvers`` has bit 1
   and not bit 0), and the host is at most ``approach_m`` before its stop line (or just past
   it, within the matcher's 10 m). The driver's left blinker (BSM ``lights``) would tell the
   intent on a shared lane; the testbed's vehicle states do not carry it yet (to do).
2. **Oncoming**: the remote heads at least ``min_oncoming_deg`` (default 135 deg) away from
   the host's heading, within ``range_m`` (default 150 m, as ICW); its straight path passes
   the node's reference position (``refPos``, the junction centre) within the node's radius
   (the farthest stop point of the node from the centre of its stop points,
   :class:`~v2x.apps.StopCircles`); a remote matched to a left-turn lane of the same node
   turns left too (opposing left turns pass each other) and is left out.
3. **Conflict point**: the point of the remote's path nearest to the junction centre. The host
   reaches it after its distance to the stop line plus the straight line from its stop point
   to the conflict point (a chord of the turning arc: about 7 % short of the arc on a one-lane
   junction; to verify), or the straight line from where it is once past the stop line.
4. **Occupancy and PET**, as ICW: each occupies the conflict point from its front reaching it
   (less half the other's width) to its rear leaving it, at its speed, braking counted; warn
   when the host reaches it within ``warn_time_s`` (4.0 s) and the predicted PET is at most
   ``pet_threshold_s`` (2.0 s) (both to verify).

Each BSM link within range is an assessment of its sender (target = the remote; criticality
and ``ttc_s`` = the host's time to the conflict point [s]; ``gap_m`` = its distance [m]). A
host that stands (waiting to turn) has no time to the conflict point and is not warned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._conflict import occupancy, predicted_pet, to_frame
from v2x.apps._heard_maps import HeardMaps, maps_of
from v2x.apps._mapmatch import LaneTable, MatchResult, match
from v2x.messages._map import AllowedManeuvers
from v2x.msgset import MSG_TYPES

__all__ = ["LeftTurnAssist", "LtaConfig", "LtaResult"]

_BSM = MSG_TYPES.index("BSM")
_LEFT, _STRAIGHT = int(AllowedManeuvers.LEFT), int(AllowedManeuvers.STRAIGHT)


class LtaConfig(AppConfig):
    """``[applications.lta]``: the LTA rule's settings (pydantic v2, unknown keys refused).

    Attributes:
        enabled: run the application (default True).
        warn_time_s: the host reaches the conflict point within this [s]; default 4.0 (to
            verify).
        pet_threshold_s: warn when the predicted PET is at most this [s]; default 2.0 (SUMO
            SSM's PET threshold; to verify).
        min_oncoming_deg: smallest heading difference of an oncoming remote [deg], 90..180;
            default 135.
        approach_m: the host is at most this far before its stop line [m]; default 100.
        range_m: BSMs from farther senders are not assessed [m]; default 150 (to verify).
        lane_tolerance_m: added to half the lane width in map matching [m]; default 0.5.
        max_heading_diff_deg: largest heading difference from the lane [deg]; default 45.
    """

    warn_time_s: float = Field(4.0, gt=0, allow_inf_nan=False)
    pet_threshold_s: float = Field(2.0, ge=0, allow_inf_nan=False)
    min_oncoming_deg: float = Field(135.0, ge=90, le=180, allow_inf_nan=False)
    approach_m: float = Field(100.0, gt=0, allow_inf_nan=False)
    range_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    lane_tolerance_m: float = Field(0.5, ge=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(45.0, ge=0, le=180, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class LtaResult:
    """Per-link LTA evaluation of hosts that turn left; every field ``(m,)``.

    Attributes:
        oncoming: bool, rule 2 (heading and path through the junction).
        host_to_conflict_m, remote_to_conflict_m: float64 [m] from each front bumper to the
            conflict point (the remote's along its heading; negative: past it).
        host_time_s, remote_time_s: float64 [s] until each front reaches it (inf: never).
        pet_s: float64 [s] predicted PET (inf: no conflict).
        warn: bool, rules 2-4.
    """

    oncoming: np.ndarray
    host_to_conflict_m: np.ndarray
    remote_to_conflict_m: np.ndarray
    host_time_s: np.ndarray
    remote_time_s: np.ndarray
    pet_s: np.ndarray
    warn: np.ndarray


class LeftTurnAssist:
    """The LTA rule of this module with its settings (``config``, default
    :class:`LtaConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "LTA"
    consumes: ClassVar[tuple[str, ...]] = ("BSM", "MAP")

    def __init__(self, config: LtaConfig | None = None) -> None:
        self.config = config if config is not None else LtaConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)
        self._maps = HeardMaps()  # for windows that bring none (AppWindow.maps)
        self._nodes: _Nodes | None = None

    def __repr__(self) -> str:
        return f"LeftTurnAssist({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender;
        only hosts that turn left (rule 1) on a MAP they received can warn."""
        lk, st, bsm, cfg = window.links, window.hosts, window.bsm, self.config
        maps = maps_of(window, self._maps)
        cand = np.flatnonzero((lk.msg_type == _BSM) & (lk.distance_m <= cfg.range_m))
        warn = np.zeros(cand.size, bool)
        t_host = np.full(cand.size, np.inf)
        gap = np.full(cand.size, np.nan)
        nodes = self._node_table(maps) if cand.size and maps.known else None
        if nodes is not None and nodes.has_left_turn_lane:  # else nobody turns left (rule 1)
            turn, m = self._left_turners(window, maps, nodes, cand)
            if turn.size:
                host, b = lk.host[cand[turn]], lk.msg[cand[turn]]
                remote_lane = match(nodes.table, bsm.x[b], bsm.y[b], bsm.heading_deg[b],
                                    tolerance_m=cfg.lane_tolerance_m,
                                    max_heading_diff_deg=cfg.max_heading_diff_deg)
                opposing_left = ((remote_lane.node_key == m.node_key)
                                 & _turns_left(nodes.table, remote_lane.lane))
                k = np.searchsorted(nodes.keys, m.node_key)
                r = self.evaluate(
                    host_x=st.x[host], host_y=st.y[host], host_heading_deg=st.heading_deg[host],
                    host_speed=st.speed[host], host_accel=st.accel[host],
                    host_length=st.length[host], host_width=st.width[host],
                    host_to_stop_m=m.to_stop_m, stop_x=nodes.table.stop_x[m.lane],
                    stop_y=nodes.table.stop_y[m.lane], centre_x=nodes.centre_x[k],
                    centre_y=nodes.centre_y[k], junction_radius_m=nodes.radius_m[k],
                    remote_x=bsm.x[b], remote_y=bsm.y[b], remote_heading_deg=bsm.heading_deg[b],
                    remote_speed=bsm.speed[b], remote_accel=bsm.accel[b],
                    remote_length=bsm.length[b], remote_width=bsm.width[b])
                warn[turn] = r.warn & ~opposing_left
                t_host[turn] = r.host_time_s
                gap[turn] = r.host_to_conflict_m
        return Assessments(link=cand, target=lk.sender[cand], warn=warn, criticality=t_host,
                           ttc_s=t_host, gap_m=gap)

    def evaluate(self, *, host_x: npt.ArrayLike, host_y: npt.ArrayLike,
                 host_heading_deg: npt.ArrayLike, host_speed: npt.ArrayLike,
                 host_accel: npt.ArrayLike, host_length: npt.ArrayLike,
                 host_width: npt.ArrayLike, host_to_stop_m: npt.ArrayLike,
                 stop_x: npt.ArrayLike, stop_y: npt.ArrayLike, centre_x: npt.ArrayLike,
                 centre_y: npt.ArrayLike, junction_radius_m: npt.ArrayLike,
                 remote_x: npt.ArrayLike, remote_y: npt.ArrayLike,
                 remote_heading_deg: npt.ArrayLike, remote_speed: npt.ArrayLike,
                 remote_accel: npt.ArrayLike, remote_length: npt.ArrayLike,
                 remote_width: npt.ArrayLike) -> LtaResult:
        """Rules 2-4 for ``m`` links of hosts that turn left (rule 1 is the caller's).

        Args (keyword-only, each ``(m,)`` or a scalar broadcast; all scalars: m = 1):
        the host's front bumper
        [m, network], heading [deg], speed [m/s], acceleration [m/s²], length and width [m];
        its distance to its stop line along its lane [m] (negative past it) and its lane's
        stop point [m, network]; the junction centre (the node's refPos) [m, network] and
        radius [m]; the remote's front bumper, heading, speed, acceleration (NaN:
        unavailable), length and width from its BSM.

        Returns :class:`LtaResult`. Raises ValueError when the inputs do not broadcast to one
        1-d shape.
        """
        try:
            (hx, hy, hh, hv, ha, hl, hw, hd, sx, sy, cx, cy, rad, rx, ry, rh, rv, ra, rl,
             rw) = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, np.float64)) for a in (
                 host_x, host_y, host_heading_deg, host_speed, host_accel, host_length,
                 host_width, host_to_stop_m, stop_x, stop_y, centre_x, centre_y,
                 junction_radius_m, remote_x, remote_y, remote_heading_deg, remote_speed,
                 remote_accel, remote_length, remote_width)))
        except ValueError as exc:
            raise ValueError(f"LTA inputs do not share one shape (m,): {exc}") from exc
        if hx.ndim != 1:
            raise ValueError(f"LTA inputs must be 1-d (m,), got shape {hx.shape}")
        cfg = self.config
        # the junction centre seen from the remote: along its path and to its side
        along, side = to_frame(cx - rx, cy - ry, rh)
        h_r = np.radians(rh)
        px, py = rx + along * np.sin(h_r), ry + along * np.cos(h_r)  # the conflict point
        before = hd >= 0.0
        from_x, from_y = np.where(before, sx, hx), np.where(before, sy, hy)
        host_d = np.where(before, hd, 0.0) + np.hypot(px - from_x, py - from_y)
        dheading = np.abs((rh - hh + 180.0) % 360.0 - 180.0)
        with np.errstate(invalid="ignore"):
            oncoming = (dheading >= cfg.min_oncoming_deg) & (np.abs(side) <= rad)
        host = occupancy(host_d, hl, rw / 2.0, hv, ha)
        remote = occupancy(along, rl, hw / 2.0, rv, ra)
        pet = predicted_pet(host, remote)
        with np.errstate(invalid="ignore"):
            warn = (oncoming & ~host.gone & (host.t_in <= cfg.warn_time_s)
                    & (pet <= cfg.pet_threshold_s))
        return LtaResult(oncoming=oncoming, host_to_conflict_m=host_d,
                         remote_to_conflict_m=along,
                         host_time_s=np.where(oncoming, host.t_in, np.inf),
                         remote_time_s=np.where(oncoming, remote.t_in, np.inf), pet_s=pet,
                         warn=warn)

    def _left_turners(self, window: AppWindow, maps: HeardMaps, nodes: _Nodes,
                      cand: np.ndarray) -> tuple[np.ndarray, MatchResult]:
        """Positions in ``cand`` (k,) of the links whose host turns left (rule 1) on a node
        whose MAP it heard, and those hosts' matches (k,); each host row is matched once."""
        lk, st, cfg = window.links, window.hosts, self.config
        if nodes.keys.size == 0:  # MAPs without lanes
            return np.empty(0, np.int64), match(nodes.table, [], [], [])
        rows, row_of = np.unique(lk.host[cand], return_inverse=True)
        m = match(nodes.table, st.x[rows], st.y[rows], st.heading_deg[rows],
                  tolerance_m=cfg.lane_tolerance_m, max_heading_diff_deg=cfg.max_heading_diff_deg)
        with np.errstate(invalid="ignore"):
            left = _turns_left(nodes.table, m.lane) & (m.to_stop_m <= cfg.approach_m)
        sender = np.where(left, maps.sender_of(m.node_key), -1)
        row_turns = left & maps.heard(st.index[rows], sender)
        turn = np.flatnonzero(row_turns[row_of])
        return turn, m.take(row_of[turn])

    def _node_table(self, maps: HeardMaps) -> _Nodes:
        """The lanes of the MAPs heard and, per node (ascending key), its centre and
        radius (kept until the lane table changes: a node learned or changed). Raises
        RuntimeError before the first MAP."""
        table = maps.table
        if self._nodes is None or self._nodes.table is not table:
            circles = maps.stop_circles  # its nodes ascending, as np.unique
            keys = np.unique(table.node_key)
            centre = np.array([maps.centre[int(k)] for k in keys],
                              np.float64).reshape(-1, 2)
            self._nodes = _Nodes(table=table, keys=keys, centre_x=centre[:, 0],
                                 centre_y=centre[:, 1], radius_m=circles.radius_m,
                                 has_left_turn_lane=bool(_turns_left(
                                     table, np.arange(table.n_lanes)).any()))
        return self._nodes


@dataclass(frozen=True, slots=True)
class _Nodes:
    """The lanes of the MAP nodes heard, per node (ascending ``keys``) its centre and radius
    [m], and whether any lane is a left-turn lane (else no host can turn left: nothing to
    match)."""

    table: LaneTable
    keys: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray
    radius_m: np.ndarray
    has_left_turn_lane: bool


def _turns_left(lanes: LaneTable, lane: np.ndarray) -> np.ndarray:
    """``(n,)`` bool: the lanes ``lane`` (-1 none) are left-turn lanes (left, not straight)."""
    man = np.where(lane >= 0, lanes.maneuvers[np.maximum(lane, 0)], 0) if lanes.n_lanes else (
        np.zeros(np.shape(lane), np.int64))
    return ((man & _LEFT) != 0) & ((man & _STRAIGHT) == 0)  # type: ignore[no-any-return]

