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

Each link is an assessment of its sender (target = the remote; criticality and ``ttc_s`` =
the host's time to the crossing [s]; ``gap_m`` = its distance to the crossing [m]). Links with
an unavailable position, heading or speed never warn. The MAP is not needed: the prediction
uses only what the BSMs say (an intersection's geometry does not change where two straight
paths cross); a remote that turns at the junction is seen as soon as its heading changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._conflict import crossing_point, occupancy, predicted_pet
from v2x.msgset import MSG_TYPES

__all__ = ["IcwConfig", "IcwResult", "IntersectionCollisionWarning"]

_BSM = MSG_TYPES.index("BSM")


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
    """

    warn_time_s: float = Field(4.0, gt=0, allow_inf_nan=False)
    pet_threshold_s: float = Field(2.0, ge=0, allow_inf_nan=False)
    min_angle_deg: float = Field(30.0, gt=0, le=90, allow_inf_nan=False)
    range_m: float = Field(150.0, gt=0, allow_inf_nan=False)


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
    consumes: ClassVar[tuple[str, ...]] = ("BSM",)

    def __init__(self, config: IcwConfig | None = None) -> None:
        self.config = config if config is not None else IcwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def __repr__(self) -> str:
        return f"IntersectionCollisionWarning({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender
        (criticality = the host's time to the crossing)."""
        lk, st, bsm = window.links, window.hosts, window.bsm
        cand = np.flatnonzero((lk.msg_type == _BSM) & (lk.distance_m <= self.config.range_m))
        b, e = lk.msg[cand], lk.host[cand]
        r = self.evaluate(
            host_x=st.x[e], host_y=st.y[e], host_heading_deg=st.heading_deg[e],
            host_speed=st.speed[e], host_accel=st.accel[e], host_length=st.length[e],
            host_width=st.width[e], remote_x=bsm.x[b], remote_y=bsm.y[b],
            remote_heading_deg=bsm.heading_deg[b], remote_speed=bsm.speed[b],
            remote_accel=bsm.accel[b], remote_length=bsm.length[b], remote_width=bsm.width[b])
        return Assessments(link=cand, target=lk.sender[cand], warn=r.warn,
                           criticality=r.host_time_s, ttc_s=r.host_time_s,
                           gap_m=r.host_to_crossing_m)

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
