"""Red light violation warning (RLVW), vectorized over host vehicles.

T/CSAE 53-2020 Day-1 application RLVW: a host approaching a signalized intersection is warned
when, from the MAP and SPAT the intersection's RSU broadcasts and its own position and speed,
it is at risk of passing the stop line against the signal (STANDARDS.md section 4). The
standard describes the application and its performance (host speed, range, rate, latency;
to verify), not one formula; the rule here is ours, in the required-deceleration form of the
CICAS-V violation warning (CAMP, 2008):

1. **On an approach**: the host is map-matched to an incoming lane of a MAP node
   (:func:`v2x.apps.match`: within the lane width and within 45 deg of the lane direction, so
   a host heading the other way is never on it) and is before its stop line:
   ``0 <= d <= warn_distance_m`` with ``d`` the distance along the lane [m].
2. **Its signal**: the phase of its movement is the ``phaseId`` of the lane's connection for
   the chosen maneuver (``maneuver``, straight by default; a lane without that maneuver falls
   back to its first connection's phaseId), looked up in the newest SPAT of that node.
3. **Red at arrival**: with ``t = d / v`` [s] the time to reach the stop line at the current
   speed ``v``, and ``left`` [s] the time until the current light likely ends
   (``likelyEndTime``, counting down from the SPAT's timestamp): the light says stop and
   ``t < left`` (it will still say so): LightState 3 red (stop-and-remain), 2 flashing red
   (J2735 stop-then-proceed: a stop at the line is required, SUMO's ``s``) or 4 (J2735
   pre-movement: red+yellow, green comes next but vehicles still stop, SUMO's ``u``); or the
   light is yellow (LightState 7, intersection clearance) and ``t >= left`` (it will have turned
   red; the red that follows is assumed to last beyond the arrival). An unknown end (TimeMark
   36001) never comes. Green, flashing yellow, dark and unavailable lights never warn.
4. **Cannot stop comfortably**: the deceleration needed to stop at the line,
   ``v² / (2 (d - v t_r))`` with an optional reaction time ``t_r`` (default 0: the plain
   ``v² / 2d``), exceeds ``decel_threshold_mps2`` (default 3.0 m/s²: ITE's comfortable
   deceleration of 10 ft/s² = 3.05 m/s² used for yellow intervals, and the DRAC threshold of
   SUMO's SSM device (STANDARDS.md section 5); (to verify) as a warning threshold). At
   ``d - v t_r <= 0`` with ``v > 0`` it is infinite.

A host that brakes early enough keeps the needed deceleration below the threshold and is never
warned; one that keeps its speed is warned once ``d <= v² / (2 * threshold)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._heard_maps import HeardMaps, maps_of
from v2x.apps._mapmatch import LaneTable, MatchResult, StopCircles
from v2x.apps._spat_view import SpatView, received_spat_view
from v2x.messages._map import AllowedManeuvers
from v2x.messages._spat import LightState
from v2x.msgset import MSG_TYPES

__all__ = ["RedLightViolationWarning", "RlvwConfig", "RlvwResult"]

_SPAT = MSG_TYPES.index("SPAT")
#: lights that say stop at the line: red, stop-then-proceed, pre-movement (rule 3)
_STOP = np.array([int(LightState.RED), int(LightState.FLASHING_RED),
                  int(LightState.FLASHING_GREEN)], np.int64)
_YELLOW = int(LightState.YELLOW)
_MANEUVERS = {"straight": AllowedManeuvers.STRAIGHT, "left": AllowedManeuvers.LEFT,
              "right": AllowedManeuvers.RIGHT, "u_turn": AllowedManeuvers.U_TURN}


class RlvwConfig(AppConfig):
    """``[applications.rlvw]``: the RLVW rule's settings (pydantic v2, unknown keys refused).

    Attributes:
        enabled: run the application (default True).
        decel_threshold_mps2: warn when stopping at the line needs more [m/s²]; default 3.0
            (ITE comfortable deceleration 3.05 m/s², SUMO SSM DRAC 3.0; (to verify)).
        warn_distance_m: only within this distance before the stop line [m]; default 150
            (T/CSAE 53 RLVW range >= 150 m (to verify)).
        reaction_time_s: driver reaction time in the needed deceleration [s]; default 0.
        maneuver: the movement assumed for the host, "straight" (default), "left", "right"
            or "u_turn" (an OBU seldom knows the driver's intention; straight is the usual
            assumption).
        lane_tolerance_m: added to half the lane width in map matching [m]; default 0.5.
        max_heading_diff_deg: largest heading difference from the lane [deg]; default 45.
    """

    decel_threshold_mps2: float = Field(3.0, gt=0, allow_inf_nan=False)
    warn_distance_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    reaction_time_s: float = Field(0.0, ge=0, allow_inf_nan=False)
    maneuver: Literal["straight", "left", "right", "u_turn"] = "straight"
    lane_tolerance_m: float = Field(0.5, ge=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(45.0, ge=0, le=180, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class RlvwResult:
    """Per-host RLVW evaluation; every field ``(n,)``.

    Attributes:
        phase_id: int64 phaseId of the host's movement (-1 none: not matched / unsignalized;
            only from :meth:`RedLightViolationWarning.assess`, else -1).
        light: int8 LightState now (0 where unknown).
        time_left_s: float64 [s] until the light likely ends (inf unknown end, NaN no SPAT).
        time_to_stop_s: float64 [s] ``d / v`` (inf when not moving, NaN no lane).
        required_decel_mps2: float64 [m/s²] to stop at the line (0 when not moving, inf when
            already too close, NaN no lane or past the line).
        red_at_arrival: bool, rule 3.
        warn: bool, all rules.
    """

    phase_id: np.ndarray
    light: np.ndarray
    time_left_s: np.ndarray
    time_to_stop_s: np.ndarray
    required_decel_mps2: np.ndarray
    red_at_arrival: np.ndarray
    warn: np.ndarray


class RedLightViolationWarning:
    """The RLVW rule of this module with its settings (``config``, default
    :class:`RlvwConfig`)."""

    name: ClassVar[str] = "RLVW"
    consumes: ClassVar[tuple[str, ...]] = ("MAP", "SPAT")

    def __init__(self, config: RlvwConfig | None = None) -> None:
        self.config = config if config is not None else RlvwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)
        self._maps = HeardMaps()  # for windows that bring none (AppWindow.maps)

    def assess(self, window: AppWindow) -> Assessments:
        """The rule on every SPAT a host received (an :class:`~v2x.apps.Application`).

        What a real OBU does: it learns an intersection's lanes from the MAP it received
        (decoded from the frame; a sender's MAP is decoded once, its geometry being static
        within a run), finds its own lane and the distance to the stop line by matching its
        own position and heading to that MAP (:func:`~v2x.apps.match`), never from SUMO's
        lane, and on each SPAT from the same RSU looks up its movement's light and time
        left. Each received SPAT is an assessment of its RSU (target = the RSU node;
        criticality and ``ttc_s`` = time to the stop line, ``gap_m`` = distance to it); a
        host without that MAP, not on an approach lane of the SPAT's intersection, beyond
        ``warn_distance_m`` or able to stop comfortably (:meth:`cannot_stop`, whatever the
        light) is assessed without a warning, and its SPAT need not be read.
        """
        lk = window.links
        maps = maps_of(window, self._maps)
        sp = np.flatnonzero(lk.msg_type == _SPAT)
        warn = np.zeros(sp.size, bool)
        t_stop = np.full(sp.size, np.inf)
        d_stop = np.full(sp.size, np.nan)
        if sp.size and maps.known:
            near, m = self._near_stop_lines(window, maps, sp)
            if near.size:
                warn[near], t_stop[near], d_stop[near] = self._judge(window, maps.table,
                                                                     sp[near], m)
        return Assessments(link=sp, target=lk.sender[sp], warn=warn, criticality=t_stop,
                           ttc_s=t_stop, gap_m=d_stop)

    def _near_stop_lines(self, window: AppWindow, maps: HeardMaps,
                         sp: np.ndarray) -> tuple[np.ndarray, MatchResult]:
        """Which of the SPAT links ``sp`` (m,) can warn whatever the light: the host heard the
        MAP of the SPAT's RSU, is on an approach lane of that RSU's intersection, within
        ``warn_distance_m`` before the stop line, and cannot stop comfortably. Returns their
        positions in ``sp`` (k,) and their hosts' matches (k,).

        Hosts that do not move, did not hear that MAP or are not
        :meth:`close_to_a_stop_line` cannot warn and are not matched; a host row is matched
        once for all the SPATs it received (:meth:`HeardMaps.match_heard`).
        """
        lk, st, cfg = window.links, window.hosts, self.config
        circles = maps.stop_circles

        def near(rows: np.ndarray) -> np.ndarray:
            return self.close_to_a_stop_line(circles, st.x[rows], st.y[rows], st.speed[rows])

        moving = np.flatnonzero(st.speed[lk.host[sp]] > 0.0)  # cannot_stop needs v > 0
        on, m = maps.match_heard(window, sp[moving], near, tolerance_m=cfg.lane_tolerance_m,
                                 max_heading_diff_deg=cfg.max_heading_diff_deg)
        on = moving[on]
        ok = np.flatnonzero((m.to_stop_m >= 0) & (m.to_stop_m <= cfg.warn_distance_m)
                            & self.cannot_stop(m.to_stop_m, st.speed[lk.host[sp[on]]]))
        return on[ok], m.take(ok)

    def close_to_a_stop_line(self, circles: StopCircles, x: np.ndarray, y: np.ndarray,
                             speed_mps: np.ndarray) -> np.ndarray:
        """Rules 1 and 4 from positions alone, a necessary condition of a warning: for
        ``(n,)`` hosts at ``x``, ``y`` [m, network] moving at ``speed_mps`` [m/s], ``(n,)``
        bool, False where no stop point of the lanes of ``circles``
        (:class:`~v2x.apps.StopCircles`, e.g. :attr:`HeardMaps.stop_circles`) is close
        enough to warn.

        Rules 1 and 4 need the distance ``d`` along the lane to the stop line to be at most
        ``min(v² / (2 a) + v t_r, warn_distance_m)``. A host matched to a lane before its stop
        line is within the lane's half width plus ``lane_tolerance_m`` of its projection on
        the centre line, and the centre line from there to the lane's stop point (its last
        point) is ``d`` long, so the host is within ``d`` + that reach of the stop point. A
        host farther from every stop point (at least its distance to the node's
        :class:`~v2x.apps.StopCircles`) cannot warn, whatever lane it matches (1 m is added
        for rounding).
        """
        cfg = self.config
        reach = circles.reach_m(cfg.lane_tolerance_m)
        v = np.maximum(speed_mps, 0.0)
        need = np.minimum(v * v / (2.0 * cfg.decel_threshold_mps2) + v * cfg.reaction_time_s,
                          cfg.warn_distance_m)
        nearest_at_least = circles.distance_at_least_m(x, y)
        return nearest_at_least <= need + reach  # type: ignore[no-any-return]

    def cannot_stop(self, to_stop_m: np.ndarray, speed_mps: np.ndarray) -> np.ndarray:
        """Rule 4 alone, a necessary condition of a warning: stopping at the line needs more
        than ``decel_threshold_mps2`` (``v² / (2 (d - v t_r)) >`` it, or no room left while
        moving). ``to_stop_m``, ``speed_mps`` (n,) [m], [m/s]; NaN: False."""
        cfg = self.config
        v = np.maximum(np.asarray(speed_mps, np.float64), 0.0)
        room = np.asarray(to_stop_m, np.float64) - v * cfg.reaction_time_s
        with np.errstate(invalid="ignore"):
            return (v > 0.0) & ((room <= 0.0) | (v * v > 2.0 * cfg.decel_threshold_mps2 * room))

    def _judge(self, window: AppWindow, lanes: LaneTable, links: np.ndarray,
               m: MatchResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rule for the SPAT links ``links`` (k,) that can warn and their hosts' matches
        ``m`` (k,) against ``lanes``: the phase states of each distinct SPAT frame read once
        (:func:`~v2x.apps.received_spat_view`); returns warn, time to the stop line [s]
        and distance to it [m], (k,) each."""
        view, msg, utc = received_spat_view(window, links)
        res = self.assess_hosts(lanes=lanes, match=m, spat=view,
                                speed_mps=window.hosts.speed[window.links.host[links]],
                                now_ns=utc, spat_msg=msg)
        return res.warn, res.time_to_stop_s, m.to_stop_m

    def __repr__(self) -> str:
        return f"RedLightViolationWarning({self.config!r})"

    @property
    def maneuver(self) -> AllowedManeuvers:
        """The AllowedManeuvers flag of the configured movement."""
        return _MANEUVERS[self.config.maneuver]

    def evaluate(self, *, to_stop_m: npt.ArrayLike, speed_mps: npt.ArrayLike,
                 light: npt.ArrayLike, time_left_s: npt.ArrayLike) -> RlvwResult:
        """Rules 1 (distance), 3 and 4 for ``(n,)`` hosts whose lane and phase are known.

        Args (each ``(n,)`` or a scalar broadcast):
            to_stop_m: [m] distance to the stop line (``MatchResult.to_stop_m``; NaN = not
                on an approach).
            speed_mps: host speed [m/s].
            light: LightState value of the host's phase now (0 = unknown).
            time_left_s: [s] until that light likely ends (inf unknown end).

        Returns :class:`RlvwResult` (``phase_id`` all -1). Raises ValueError when the inputs
        do not broadcast to one 1-d shape.
        """
        try:
            d, v, lt, left = np.broadcast_arrays(
                np.asarray(to_stop_m, np.float64), np.asarray(speed_mps, np.float64),
                np.asarray(light, np.int64), np.asarray(time_left_s, np.float64))
        except ValueError as exc:
            raise ValueError(f"RLVW inputs do not share one shape (n,): {exc}") from exc
        if d.ndim != 1:
            raise ValueError(f"RLVW inputs must be 1-d (n,), got shape {d.shape}")
        cfg = self.config
        v = np.maximum(v, 0.0)
        moving = v > 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            t_arr = np.where(moving, d / np.where(moving, v, 1.0), np.inf)
            t_arr = np.where(np.isnan(d), np.nan, t_arr)
            room = d - v * cfg.reaction_time_s
            decel = np.where(room > 0.0, v * v / (2.0 * np.where(room > 0.0, room, 1.0)),
                             np.where(moving, np.inf, 0.0))
            decel = np.where(np.isnan(d) | (d < 0.0), np.nan, decel)
            red_at_arrival = ((np.isin(lt, _STOP) & (t_arr < left))
                              | ((lt == _YELLOW) & (t_arr >= left)))
            warn = (red_at_arrival & (d >= 0.0) & (d <= cfg.warn_distance_m)
                    & (decel > cfg.decel_threshold_mps2))
        return RlvwResult(phase_id=np.full(d.shape, -1, np.int64),
                          light=lt.astype(np.int8), time_left_s=left.astype(np.float64),
                          time_to_stop_s=t_arr, required_decel_mps2=decel,
                          red_at_arrival=red_at_arrival, warn=warn)

    def assess_hosts(self, *, lanes: LaneTable, match: MatchResult, spat: SpatView,
               speed_mps: npt.ArrayLike, now_ns: npt.ArrayLike,
               spat_msg: npt.ArrayLike | None = None) -> RlvwResult:
        """The whole rule for ``(n,)`` hosts: phase of their movement (rule 2), SPAT look-up,
        then :meth:`evaluate`.

        Args:
            lanes: the lane table the hosts were matched against.
            match: :func:`v2x.apps.match` of the hosts (its lane, node, distance).
            spat: the SPAT phase states the hosts hold.
            speed_mps: ``(n,)`` host speeds [m/s].
            now_ns: UTC [ns] now, on the clock of the SPAT timestamps: one int or (n,).
            spat_msg: optional ``(n,)`` message index per host (see :meth:`SpatView.lookup`).

        Returns :class:`RlvwResult` with ``phase_id`` set; hosts not matched, on an
        unsignalized movement or without that phase in ``spat`` never warn.
        """
        phase = lanes.movement_phase(match.lane, self.maneuver)
        found = spat.lookup(np.where(phase >= 0, match.node_key, -1), phase, now_ns,
                            msg=spat_msg)
        res = self.evaluate(to_stop_m=np.where(found.found, match.to_stop_m, np.nan),
                            speed_mps=speed_mps, light=found.light,
                            time_left_s=found.time_left_s)
        return RlvwResult(phase_id=phase, light=res.light, time_left_s=res.time_left_s,
                          time_to_stop_s=res.time_to_stop_s,
                          required_decel_mps2=res.required_decel_mps2,
                          red_at_arrival=res.red_at_arrival & found.found,
                          warn=res.warn & found.found)

