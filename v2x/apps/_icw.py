"""Intersection collision warning (ICW), vectorized over the BSM receptions of a window.

T/CSAE 53-2020 Day-1 application ICW (test scenarios: T/CSAE 246-2022, the ICW annex): a host
approaching an intersection is warned when a remote vehicle on a crossing road, from the BSMs
it broadcasts, is about to reach the crossing of their paths at about the same time as the
host (STANDARDS.md sections 4 and 7; performance requirements quoted there: host speed 0..70
km/h, range >= 150 m, to verify). The standard describes the application, not a formula; the
rule is ours, with the prediction of :mod:`v2x.apps._conflict`. For every received BSM link
(host = receiver, remote = sender):

1. **Crossing paths**: the straight paths from the two front bumpers along their headings
   cross at ``min_angle_deg`` (default 30 deg) or more (following, merging and oncoming
   traffic are FCW's, LCW's and LTA's); the remote is within ``range_m`` (default 150 m,
   T/CSAE 53 ICW range >= 150 m, to verify).
2. **Occupancy**: each vehicle occupies the crossing from its front reaching it (less half the
   other's width along its path) until its rear has left it, moving at its speed with its
   longitudinal acceleration (the host's own; the remote's ``accelSet.long`` from its BSM)
   until a standstill: a remote braking to stop before the crossing (at its stop line, for
   a stop sign or a red light) never occupies it.
3. **Conflict**: the predicted post-encroachment time (PET) of the two occupancies is at most
   ``pet_threshold_s`` (default 2.0 s: SUMO's SSM PET threshold, STANDARDS.md section 5;
   to verify as a warning criterion); negative PET is a predicted collision.
4. **Time**: the host reaches the crossing within ``warn_time_s`` (default 4.0 s, to verify:
   at 70 km/h, 1 s of reaction and 6 m/s² of braking stop the host in 51 m < 4 s x 19.4 m/s =
   78 m).

5. **Signals** (``use_map_spat``, on by default; when the host received the junction's MAP
   and SPAT): a vehicle map-matched to an approach lane of that MAP (host or remote, each from
   its own position and heading, never SUMO's lane) whose straight-on signal will say stop
   when it arrives (red, or yellow turning red: the rule of
   :class:`~v2x.apps.RedLightViolationWarning`) and that can stop at its line with at most
   ``stop_decel_mps2`` (default 3.0 m/s², RLVW's threshold) is expected to stop: no warning.
   A vehicle that cannot stop comfortably on red (a red-light runner, which RLVW warns)
   stays a threat. Without a MAP and SPAT the rule is rules 1-4 alone: the BSMs say where
   two straight paths cross; a remote that turns is seen as soon as its heading changes.

Each link is an assessment of its sender (target = the remote; criticality and ``ttc_s`` =
the host's time to the crossing [s]; ``gap_m`` = its distance to the crossing [m]). Links with
an unavailable position, heading or speed never warn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._conflict import crossing_point, occupancy, predicted_pet
from v2x.apps._heard_maps import HeardMaps, maps_of
from v2x.apps._mapmatch import match
from v2x.apps._rlvw import RedLightViolationWarning, RlvwConfig
from v2x.apps._spat_view import received_spat_view
from v2x.msgset import MSG_TYPES

__all__ = ["IcwConfig", "IcwResult", "IntersectionCollisionWarning"]

_BSM, _SPAT = MSG_TYPES.index("BSM"), MSG_TYPES.index("SPAT")
#: bits of the (host, RSU, step) key of a SPAT reception: vehicle index, RSU node and step
#: each below 2**21
_B = 21


class IcwConfig(AppConfig):
    """``[applications.icw]``: the ICW rule's settings (pydantic v2, unknown keys refused).

    Attributes:
        enabled: run the application (default True).
        warn_time_s: the host reaches the crossing within this [s]; default 4.0 (to verify).
        pet_threshold_s: warn when the predicted PET is at most this [s]; default 2.0 (SUMO
            SSM's PET threshold; to verify).
        min_angle_deg: smallest angle between the headings for crossing paths [deg], 0..90;
            default 30.
        range_m: BSMs from farther senders are not assessed [m]; default 150 (T/CSAE 53 ICW
            range >= 150 m, to verify).
        use_map_spat: rule 5, a vehicle that stops for its red is no threat (needs the
            junction's MAP and SPAT); default True.
        stop_decel_mps2: the deceleration up to which a vehicle facing a stop light is
            expected to stop [m/s²]; default 3.0 (RLVW's ``decel_threshold_mps2``: ITE's
            comfortable deceleration; to verify).
    """

    warn_time_s: float = Field(4.0, gt=0, allow_inf_nan=False)
    pet_threshold_s: float = Field(2.0, ge=0, allow_inf_nan=False)
    min_angle_deg: float = Field(30.0, gt=0, le=90, allow_inf_nan=False)
    range_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    use_map_spat: bool = True
    stop_decel_mps2: float = Field(3.0, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class IcwResult:
    """Per-link ICW evaluation; every field ``(m,)``.

    Attributes:
        crossing: bool, the paths cross at ``min_angle_deg`` or more (rule 1).
        host_to_crossing_m, remote_to_crossing_m: float64 [m] from each front bumper along
            its heading to the crossing (NaN: none).
        host_time_s: float64 [s] until the host's front reaches the crossing (inf: never).
        remote_time_s: float64 [s] the same for the remote.
        pet_s: float64 [s] predicted PET (inf: no conflict).
        warn: bool, all rules.
    """

    crossing: np.ndarray
    host_to_crossing_m: np.ndarray
    remote_to_crossing_m: np.ndarray
    host_time_s: np.ndarray
    remote_time_s: np.ndarray
    pet_s: np.ndarray
    warn: np.ndarray


class IntersectionCollisionWarning:
    """The ICW rule of this module with its settings (``config``, default
    :class:`IcwConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "ICW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM", "MAP", "SPAT")

    def __init__(self, config: IcwConfig | None = None) -> None:
        self.config = config if config is not None else IcwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)
        self._maps = HeardMaps()  # for windows that bring none (AppWindow.maps)
        # rule 5 is RLVW's rule read the other way: who can stop comfortably for a red
        self._signal = RedLightViolationWarning(RlvwConfig(
            decel_threshold_mps2=self.config.stop_decel_mps2))

    def __repr__(self) -> str:
        return f"IntersectionCollisionWarning({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender
        (criticality = the host's time to the crossing)."""
        lk, st, bsm, cfg = window.links, window.hosts, window.bsm, self.config
        maps = maps_of(window, self._maps) if cfg.use_map_spat else None
        cand = np.flatnonzero((lk.msg_type == _BSM) & (lk.distance_m <= cfg.range_m))
        b, e = lk.msg[cand], lk.host[cand]
        r = self.evaluate(
            host_x=st.x[e], host_y=st.y[e], host_heading_deg=st.heading_deg[e],
            host_speed=st.speed[e], host_accel=st.accel[e], host_length=st.length[e],
            host_width=st.width[e], remote_x=bsm.x[b], remote_y=bsm.y[b],
            remote_heading_deg=bsm.heading_deg[b], remote_speed=bsm.speed[b],
            remote_accel=bsm.accel[b], remote_length=bsm.length[b], remote_width=bsm.width[b])
        warn = r.warn.copy()
        w = np.flatnonzero(warn)
        if maps is not None and w.size and maps.known:
            links = cand[w]
            b_w, e_w = lk.msg[links], lk.host[links]
            stops = self.stops_for_red(window, maps, links, bsm.x[b_w], bsm.y[b_w],
                                       bsm.heading_deg[b_w], bsm.speed[b_w])
            stops |= self.stops_for_red(window, maps, links, st.x[e_w], st.y[e_w],
                                        st.heading_deg[e_w], st.speed[e_w])
            warn[w[stops]] = False
        return Assessments(link=cand, target=lk.sender[cand], warn=warn,
                           criticality=r.host_time_s, ttc_s=r.host_time_s,
                           gap_m=r.host_to_crossing_m)

    def stops_for_red(self, window: AppWindow, maps: HeardMaps, links: np.ndarray,
                      x: np.ndarray, y: np.ndarray, heading_deg: np.ndarray,
                      speed: np.ndarray) -> np.ndarray:
        """Rule 5 for a vehicle seen on each of the received links ``links`` (k,) (rows of
        ``window.links``) at ``x``, ``y`` [m, network], ``heading_deg`` [deg], ``speed``
        [m/s] (k,) each: ``(k,)`` bool, it is on an approach lane of a MAP node whose MAP the
        link's host heard (``maps``: :func:`~v2x.apps.maps_of` the window), the newest SPAT
        of that node's RSU the host received up to the link's step says its straight-on
        light will say stop when it arrives, and it can stop at its line with at most
        ``stop_decel_mps2``."""
        lk = window.links
        stops = np.zeros(links.size, bool)
        if not maps.known:
            return stops
        lanes = maps.table
        m = match(lanes, x, y, heading_deg)
        sender = maps.sender_of(m.node_key)
        host = window.hosts.index[lk.host[links]]
        spat = self._newest_spat(window, host, sender, lk.step[links])
        ok = np.flatnonzero((m.lane >= 0) & (m.to_stop_m >= 0) & maps.heard(host, sender)
                            & (spat >= 0))
        if ok.size == 0:
            return stops
        view, msg, utc = received_spat_view(window, spat[ok], lk.step[links[ok]])
        res = self._signal.assess_hosts(lanes=lanes, match=m.take(ok), spat=view,
                                        speed_mps=speed[ok], now_ns=utc, spat_msg=msg)
        with np.errstate(invalid="ignore"):
            stops[ok] = (res.red_at_arrival
                         & (res.required_decel_mps2 <= self.config.stop_decel_mps2))
        return stops

    @staticmethod
    def _newest_spat(window: AppWindow, host: np.ndarray, sender: np.ndarray,
                     step: np.ndarray) -> np.ndarray:
        """``(k,)`` int64: the row in ``window.links`` of the newest SPAT that vehicle
        ``host`` (k,) received from RSU node ``sender`` (k,) at or before ``step`` (k,) of
        the window; -1 for none."""
        lk = window.links
        sp = np.flatnonzero(lk.msg_type == _SPAT)
        if sp.size == 0:
            return np.full(host.shape, -1, np.int64)
        code = ((window.hosts.index[lk.host[sp]] << 2 * _B) | (lk.sender[sp] << _B)
                | lk.step[sp])
        order = np.argsort(code, kind="stable")
        code, sp = code[order], sp[order]
        want = (host << 2 * _B) | (np.maximum(sender, 0) << _B) | step
        at = np.searchsorted(code, want, side="right") - 1
        same = (at >= 0) & ((code[np.maximum(at, 0)] >> _B) == (want >> _B)) & (sender >= 0)
        return np.where(same, sp[np.maximum(at, 0)], -1)

    def evaluate(self, *, host_x: npt.ArrayLike, host_y: npt.ArrayLike,
                 host_heading_deg: npt.ArrayLike, host_speed: npt.ArrayLike,
                 host_accel: npt.ArrayLike, host_length: npt.ArrayLike,
                 host_width: npt.ArrayLike, remote_x: npt.ArrayLike, remote_y: npt.ArrayLike,
                 remote_heading_deg: npt.ArrayLike, remote_speed: npt.ArrayLike,
                 remote_accel: npt.ArrayLike, remote_length: npt.ArrayLike,
                 remote_width: npt.ArrayLike) -> IcwResult:
        """The rule for ``m`` links at once.

        Args (keyword-only, each ``(m,)`` or a scalar broadcast; all scalars: m = 1):
        front-bumper positions
        [m, network], headings [deg clockwise from north], speeds [m/s], longitudinal
        accelerations [m/s²] (NaN: unavailable, taken as 0), lengths and widths [m]; the
        host's from its own sensors, the remote's decoded from its BSM.

        Returns :class:`IcwResult`. Raises ValueError when the inputs do not broadcast to
        one 1-d shape.
        """
        try:
            (hx, hy, hh, hv, ha, hl, hw, rx, ry, rh, rv, ra, rl, rw) = np.broadcast_arrays(
                *(np.atleast_1d(np.asarray(a, np.float64)) for a in (
                    host_x, host_y, host_heading_deg, host_speed, host_accel, host_length,
                    host_width, remote_x, remote_y, remote_heading_deg, remote_speed,
                    remote_accel, remote_length, remote_width)))
        except ValueError as exc:
            raise ValueError(f"ICW inputs do not share one shape (m,): {exc}") from exc
        if hx.ndim != 1:
            raise ValueError(f"ICW inputs must be 1-d (m,), got shape {hx.shape}")
        cfg = self.config
        c = crossing_point(hx, hy, hh, rx, ry, rh, min_angle_deg=cfg.min_angle_deg)
        sin_a = np.where(c.found, c.sin_angle, 1.0)
        host = occupancy(c.a_m, hl, rw / (2.0 * sin_a), hv, ha)
        remote = occupancy(c.b_m, rl, hw / (2.0 * sin_a), rv, ra)
        pet = predicted_pet(host, remote)
        with np.errstate(invalid="ignore"):
            warn = (c.found & ~host.gone & (host.t_in <= cfg.warn_time_s)
                    & (pet <= cfg.pet_threshold_s) & np.isfinite(rv))
        return IcwResult(crossing=c.found, host_to_crossing_m=c.a_m,
                         remote_to_crossing_m=c.b_m,
                         host_time_s=np.where(c.found, host.t_in, np.inf),
                         remote_time_s=np.where(c.found, remote.t_in, np.inf), pet_s=pet,
                         warn=warn)
