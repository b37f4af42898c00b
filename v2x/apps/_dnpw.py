"""Do-not-pass warning (DNPW), vectorized over the BSM receptions of a window.

T/CSAE 53-2020 Day-1 application DNPW (test method: T/CSAE 246-2022, the DNPW annex): on a
two-way road the host wants to overtake a slower vehicle by the lane of the oncoming traffic
(its left blinker on: traffic keeps right in China), and an oncoming remote in that lane is too
close for the overtaking to end in time. For every received BSM link (host = receiver,
remote = sender; geometry of :mod:`v2x.apps._relative`):

1. **Intent**: the host's left blinker is on (SUMO signal bit 1, from its own state; hazard
   lights alone are not an intent to pass).
2. **Oncoming**: heading difference ``>= 180 - max_heading_diff_deg`` (default 30 deg).
3. **Ahead, in the passing lane**: the remote's front bumper is ahead (longitudinal > 0) and
   its lateral offset lies in the lane to the host's left: ``-max_lateral_m <= lateral <
   -half_lane_m`` (defaults 5.25 m and 1.75 m, 3.5 m lanes).
4. **Too close**: the time until the two meet, ``longitudinal / (v_host + v_remote)``, is
   below ``pass_time_s`` (default 8 s, (to verify): the time an overtaking of a vehicle
   10 km/h slower needs, pulling out, passing and cutting back in, is commonly put at 6..10 s
   on a rural road; not read from the standard's text).

Criticality: the time to meet [s] (also ``ttc_s``); ``gap_m`` the longitudinal offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._relative import bsm_links, relative
from v2x.messages._bsm import SumoSignal

__all__ = ["DnpwConfig", "DnpwResult", "DoNotPassWarning"]


class DnpwConfig(AppConfig):
    """``[applications.dnpw]``: do-not-pass warning (T/CSAE 53-2020 DNPW).

    Attributes:
        range_m: BSMs from farther senders are not assessed [m]; default 400 (8 s at
            2 x 90 km/h of closing speed; the rule needs ``pass_time_s`` x closing speed).
        pass_time_s: warn while the oncoming remote is less than this far away in time [s];
            default 8 (to verify).
        max_heading_diff_deg: how far from exactly opposite an oncoming heading may be [deg];
            default 30.
        half_lane_m, max_lateral_m: the passing lane's lateral band to the host's left [m];
            defaults 1.75 and 5.25.
    """

    range_m: float = Field(400.0, gt=0, allow_inf_nan=False)
    pass_time_s: float = Field(8.0, gt=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(30.0, ge=0, le=180, allow_inf_nan=False)
    half_lane_m: float = Field(1.75, ge=0, allow_inf_nan=False)
    max_lateral_m: float = Field(5.25, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class DnpwResult:
    """Per-link evaluation; every field ``(m,)``.

    Attributes:
        intent: bool, rule 1. oncoming: bool, rules 2-3.
        time_to_meet_s: float64 [s] longitudinal / (v_host + v_remote) where oncoming, inf
            otherwise.
        longitudinal_m: float64 [m]. warn: bool, all rules.
    """

    intent: np.ndarray
    oncoming: np.ndarray
    time_to_meet_s: np.ndarray
    longitudinal_m: np.ndarray
    warn: np.ndarray


class DoNotPassWarning:
    """The DNPW rule of this module with its settings (``config``, default
    :class:`DnpwConfig`)."""

    name: ClassVar[str] = "DNPW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM",)

    def __init__(self, config: DnpwConfig | None = None) -> None:
        self.config = config if config is not None else DnpwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def __repr__(self) -> str:
        return f"DoNotPassWarning({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender;
        only hosts with their left blinker on can warn, so the rule runs on their links
        alone (target = the oncoming vehicle, criticality = time to meet)."""
        links = bsm_links(window, self.config.range_m)
        st, bsm = window.hosts, window.bsm
        intent = np.flatnonzero((st.signals[links.host] & SumoSignal.BLINKER_LEFT) != 0)
        e, b = links.host[intent], links.bsm[intent]
        r = self.evaluate(ego_x=st.x[e], ego_y=st.y[e], ego_heading_deg=st.heading_deg[e],
                          ego_speed=st.speed[e], ego_signals=st.signals[e],
                          remote_x=bsm.x[b], remote_y=bsm.y[b],
                          remote_heading_deg=bsm.heading_deg[b], remote_speed=bsm.speed[b])
        k = links.link.size
        warn = np.zeros(k, bool)
        warn[intent] = r.warn
        meet = np.full(k, np.inf)
        meet[intent] = r.time_to_meet_s
        gap = np.full(k, np.nan)
        gap[intent] = np.where(r.oncoming, r.longitudinal_m, np.nan)
        return Assessments(link=links.link, target=window.links.sender[links.link], warn=warn,
                           criticality=meet, ttc_s=meet, gap_m=gap)

    def evaluate(self, *, ego_x: npt.ArrayLike, ego_y: npt.ArrayLike,
                 ego_heading_deg: npt.ArrayLike, ego_speed: npt.ArrayLike,
                 ego_signals: npt.ArrayLike, remote_x: npt.ArrayLike, remote_y: npt.ArrayLike,
                 remote_heading_deg: npt.ArrayLike, remote_speed: npt.ArrayLike) -> DnpwResult:
        """Evaluate rules 1-4 for ``m`` links (each (m,) or a scalar): the host's front bumper
        [m, network], heading [deg], speed [m/s], SUMO signal bits; the remote's decoded BSM
        position, heading and speed.

        Returns :class:`DnpwResult`. Raises ValueError when the inputs do not broadcast to
        one 1-d shape.
        """
        cfg = self.config
        rel = relative(ego_x=ego_x, ego_y=ego_y, ego_heading_deg=ego_heading_deg,
                       ego_speed=ego_speed, remote_x=remote_x, remote_y=remote_y,
                       remote_heading_deg=remote_heading_deg, remote_speed=remote_speed)
        m = rel.distance_m.shape
        ev, rv = (np.broadcast_to(np.asarray(a, np.float64), m) for a in (ego_speed,
                                                                          remote_speed))
        sig = np.broadcast_to(np.asarray(ego_signals, np.int64), m)
        intent = (sig & SumoSignal.BLINKER_LEFT) != 0
        lon, lat = rel.longitudinal_m, rel.lateral_m
        with np.errstate(invalid="ignore", divide="ignore"):
            oncoming = ((rel.heading_diff_deg >= 180.0 - cfg.max_heading_diff_deg)
                        & (lon > 0) & (lat >= -cfg.max_lateral_m) & (lat < -cfg.half_lane_m))
            speed_sum = ev + rv
            meet = np.where(oncoming & (speed_sum > 0),
                            lon / np.where(speed_sum > 0, speed_sum, 1.0), np.inf)
            warn = intent & oncoming & (meet < cfg.pass_time_s)
        return DnpwResult(intent=intent, oncoming=oncoming, time_to_meet_s=meet,
                          longitudinal_m=lon, warn=warn)
