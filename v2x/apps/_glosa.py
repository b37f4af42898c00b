"""Green light optimal speed advisory (GLOSA), vectorized over the SPATs hosts received.

Day-1 application GLOSA (T/CSAE 53-2020; test method DB50/T 1572-2024, STANDARDS.md sections
4 and 7; GLOSA 2 Hz, latency <= 200 ms, to verify): a host approaching a signalized
intersection gets, from the MAP and SPAT of its RSU and its own position and speed, a speed
range that reaches the stop line while its light is green. The standard describes the
application, not one formula; the rule here is ours:

1. **On an approach**: as RLVW (:mod:`v2x.apps._rlvw`), the host is map-matched to an
   incoming lane of the MAP its RSU sent (:func:`v2x.apps.match`: within the lane width and
   45 deg of the lane direction), before the stop line, ``0 <= d <= advise_distance_m``
   (default 300 m, to verify), and moving (``v > 0``).
2. **Its light**: the phase of the lane's ``maneuver`` movement (straight by default) in the
   newest SPAT of that node: the light now and ``left`` [s] until it likely ends
   (``likelyEndTime``). Our SPAT sends the current light of each phase only (no future
   states), so the green that follows a red is assumed to start when the red ends and to
   last long enough; a yellow (what follows it is not sent) or an unknown end gives no advice.
3. **Arrival at the current speed** ``t = d / v``:

   * green (LightState 5, 6): on green if ``t <= left``; else the host can still make it
     at ``v >= d / left``: advice ``[max(d / left, v_min), v_max]`` if ``d / left <= v_max``;
   * red (3), stop-then-proceed (2), pre-movement (4): on green if ``t >= left`` (the red
     is over when it arrives); else slowing down to ``v <= d / left`` arrives on the green:
     advice ``[v_min, min(d / left, v_max)]`` if ``d / left >= v_min``.

   ``v_max`` is the lane's speed limit from the MAP link's ``speedLimits``
   (vehicleMaxSpeed), else ``max_speed_kmh`` (default 60 km/h, China's urban default);
   ``v_min`` is ``min_speed_kmh`` (default 20 km/h: slower crawling holds traffic up; our
   choice, to verify).
4. **Advise** (a warning row of GLOSA) when the host would arrive on red at its current
   speed and a speed within ``[v_min, v_max]`` makes the green (a host that arrives on green
   anyway, or cannot make it within the limits, gets no advisory).

Each received SPAT is one assessment of its RSU (target = the RSU node; criticality and
``ttc_s`` = the arrival time ``t`` [s], ``gap_m`` = ``d`` [m]); the advised range is in
:class:`GlosaResult` (:meth:`GreenLightOptimalSpeedAdvisory.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._heard_maps import HeardMaps, maps_of
from v2x.apps._mapmatch import LaneTable, MapCache
from v2x.apps._rlvw import _MANEUVERS
from v2x.apps._spat_view import received_spat_view
from v2x.messages._map import SpeedLimitType
from v2x.messages._spat import LightState
from v2x.msgset import MSG_TYPES

__all__ = ["GlosaConfig", "GlosaResult", "GreenLightOptimalSpeedAdvisory"]

_SPAT = MSG_TYPES.index("SPAT")
_GREEN = np.array([int(LightState.PERMISSIVE_GREEN), int(LightState.PROTECTED_GREEN)])
_STOP = np.array([int(LightState.RED), int(LightState.FLASHING_RED),
                  int(LightState.FLASHING_GREEN)])
_KMH = 1.0 / 3.6  # [m/s] per km/h


class GlosaConfig(AppConfig):
    """``[applications.glosa]``: green light optimal speed advisory (DB50/T 1572-2024).

    Attributes:
        enabled: run the application (default True).
        advise_distance_m: advise within this distance before the stop line [m]; default
            300 (to verify).
        min_speed_kmh: slowest advised speed [km/h]; default 20 (our choice, to verify).
        max_speed_kmh: fastest advised speed where the MAP gives no limit [km/h]; default
            60 (China's urban default limit).
        maneuver: the host's assumed movement, "straight" (default), "left", "right",
            "u_turn" (as RLVW).
        lane_tolerance_m: added to half the lane width in map matching [m]; default 0.5.
        max_heading_diff_deg: largest heading difference from the lane [deg]; default 45.
        hold_s: an advisory stays valid this long without a newer SPAT [s]; default 0.5.
    """

    advise_distance_m: float = Field(300.0, gt=0, allow_inf_nan=False)
    min_speed_kmh: float = Field(20.0, ge=0, allow_inf_nan=False)
    max_speed_kmh: float = Field(60.0, gt=0, allow_inf_nan=False)
    maneuver: Literal["straight", "left", "right", "u_turn"] = "straight"
    lane_tolerance_m: float = Field(0.5, ge=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(45.0, ge=0, le=180, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class GlosaResult:
    """Per-host GLOSA evaluation; every field ``(n,)``.

    Attributes:
        arrival_s: float64 [s] ``d / v`` at the current speed (inf when not moving).
        on_green: bool, the host arrives on green at its current speed.
        advice_low_mps, advice_high_mps: float64 [m/s] the advised speed range (NaN: none).
        advise: bool, rule 4 (arrives on red, and the advised range is not empty).
    """

    arrival_s: np.ndarray
    on_green: np.ndarray
    advice_low_mps: np.ndarray
    advice_high_mps: np.ndarray
    advise: np.ndarray


class GreenLightOptimalSpeedAdvisory:
    """The GLOSA rule of this module with its settings (``config``, default
    :class:`GlosaConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "GLOSA"
    consumes: ClassVar[tuple[str, ...]] = ("MAP", "SPAT")

    def __init__(self, config: GlosaConfig | None = None) -> None:
        self.config = config if config is not None else GlosaConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)
        self._maps = HeardMaps()  # for windows that bring none (AppWindow.maps)
        self._lane_limit: tuple[LaneTable, np.ndarray] | None = None  # [m/s] per lane

    def __repr__(self) -> str:
        return f"GreenLightOptimalSpeedAdvisory({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """The rule on every SPAT a host received (the module docstring): the MAP of each RSU
        is decoded once; hosts near a stop line of a MAP they heard are matched once per
        row; each distinct SPAT frame is read once."""
        lk, st, cfg = window.links, window.hosts, self.config
        maps = maps_of(window, self._maps)
        sp = np.flatnonzero(lk.msg_type == _SPAT)
        warn = np.zeros(sp.size, bool)
        t_arr = np.full(sp.size, np.inf)
        d_stop = np.full(sp.size, np.nan)
        if sp.size == 0 or maps.cache is None or not maps.known:
            return Assessments(link=sp, target=lk.sender[sp], warn=warn, criticality=t_arr,
                               ttc_s=t_arr, gap_m=d_stop)
        lanes, circles = maps.table, maps.stop_circles
        lane_limit = self._lane_limits(maps.cache)
        reach = circles.reach_m(cfg.lane_tolerance_m)

        def close(rows: np.ndarray) -> np.ndarray:
            return circles.distance_at_least_m(st.x[rows], st.y[rows]) <= (
                cfg.advise_distance_m + reach)

        moving = np.flatnonzero(st.speed[lk.host[sp]] > 0.0)  # rule 1
        on, m = maps.match_heard(window, sp[moving], close, tolerance_m=cfg.lane_tolerance_m,
                                 max_heading_diff_deg=cfg.max_heading_diff_deg)
        ok = (m.to_stop_m >= 0) & (m.to_stop_m <= cfg.advise_distance_m)
        near = moving[on[ok]]
        if near.size == 0:
            return Assessments(link=sp, target=lk.sender[sp], warn=warn, criticality=t_arr,
                               ttc_s=t_arr, gap_m=d_stop)
        lane = m.lane[ok]
        links = sp[near]
        light, left = self._lights(window, lanes, links, lane, m.node_key[ok])
        d = m.to_stop_m[ok]
        r = self.evaluate(to_stop_m=d, speed_mps=st.speed[lk.host[links]], light=light,
                          time_left_s=left, max_speed_mps=lane_limit[lane])
        warn[near], t_arr[near], d_stop[near] = r.advise, r.arrival_s, d
        return Assessments(link=sp, target=lk.sender[sp], warn=warn, criticality=t_arr,
                           ttc_s=t_arr, gap_m=d_stop)

    def _lights(self, window: AppWindow, lanes: LaneTable, links: np.ndarray,
                lane: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Light and time left [s] of each host's movement in the SPAT of its link (k,)."""
        view, msg, utc = received_spat_view(window, links)
        phase = lanes.movement_phase(lane, _MANEUVERS[self.config.maneuver])
        found = view.lookup(np.where(phase >= 0, node, -1), phase, utc, msg=msg)
        return found.light, np.where(found.found, found.time_left_s, np.nan)

    def _lane_limits(self, maps: MapCache) -> np.ndarray:
        """The speed limit [m/s] of each lane of ``maps.table`` (its link's vehicleMaxSpeed
        in the MAP, else ``max_speed_kmh``), kept until the table changes."""
        table = maps.table
        if self._lane_limit is None or self._lane_limit[0] is not table:
            default = self.config.max_speed_kmh * _KMH
            link_limit: dict[tuple[int, int], float] = {}  # (node key, link) -> [m/s]
            for key in maps.node_keys:
                for li, link in enumerate(maps.node(key).in_links):
                    for sl in link.speed_limits:
                        if sl.type == SpeedLimitType.VEHICLE_MAX_SPEED:
                            link_limit[(key, li)] = float(sl.speed_mps)
            limit = np.array([link_limit.get((int(k), int(li)), default)
                              for k, li in zip(table.node_key, table.link, strict=True)],
                             np.float64)
            self._lane_limit = (table, limit)
        return self._lane_limit[1]

    def evaluate(self, *, to_stop_m: npt.ArrayLike, speed_mps: npt.ArrayLike,
                 light: npt.ArrayLike, time_left_s: npt.ArrayLike,
                 max_speed_mps: npt.ArrayLike = np.nan) -> GlosaResult:
        """Rules 3 and 4 (and the distance of rule 1) for ``(n,)`` hosts whose lane and
        light are known.

        Args (each ``(n,)`` or a scalar broadcast):
            to_stop_m: [m] distance to the stop line (NaN: not on an approach).
            speed_mps: host speed [m/s].
            light: LightState value of the host's movement now (0 unknown).
            time_left_s: [s] until that light likely ends (inf: unknown end, NaN: no SPAT).
            max_speed_mps: the lane's limit [m/s] (NaN: ``max_speed_kmh``).

        Returns :class:`GlosaResult`. Raises ValueError when the inputs do not broadcast to
        one 1-d shape.
        """
        try:
            d, v, lt, left, vmax = np.broadcast_arrays(
                np.asarray(to_stop_m, np.float64), np.asarray(speed_mps, np.float64),
                np.asarray(light, np.int64), np.asarray(time_left_s, np.float64),
                np.asarray(max_speed_mps, np.float64))
        except ValueError as exc:
            raise ValueError(f"GLOSA inputs do not share one shape (n,): {exc}") from exc
        if d.ndim > 1:
            raise ValueError(f"GLOSA inputs must be 1-d (n,), got shape {d.shape}")
        d, v, lt, left, vmax = (np.atleast_1d(a) for a in (d, v, lt, left, vmax))
        cfg = self.config
        vmax = np.where(np.isnan(vmax), cfg.max_speed_kmh * _KMH, vmax)
        vmin = cfg.min_speed_kmh * _KMH
        green, stop = np.isin(lt, _GREEN), np.isin(lt, _STOP)
        moving = v > 0.0
        timed = np.isfinite(left) & (left > 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(moving, d / np.where(moving, v, 1.0), np.inf)
            need = np.where(timed, d / np.where(timed, left, 1.0), np.nan)  # d / left [m/s]
            on_green = (green & (t <= left)) | (stop & timed & (t >= left))
            low = np.where(green, np.maximum(need, vmin), vmin)
            high = np.where(green, vmax, np.minimum(need, vmax))
            can = timed & (green | stop) & (low <= high) & (need >= 0.0)
            advise = (can & ~on_green & moving & (d >= 0.0)
                      & (d <= cfg.advise_distance_m))
        return GlosaResult(arrival_s=t, on_green=on_green,
                           advice_low_mps=np.where(can, low, np.nan),
                           advice_high_mps=np.where(can, high, np.nan), advise=advise)
