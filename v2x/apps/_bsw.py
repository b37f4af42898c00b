"""Blind spot warning (BSW) and lane change warning (LCW), vectorized over the BSM receptions
of a window.

T/CSAE 53-2020 Day-1 application BSW/LCW (test method: T/CSAE 246-2022, the BSW/LCW annex): a
remote vehicle driving the same way in a lane next to the host's is in the host's blind spot
(BSW), or is there or closing in from behind while the host signals a lane change toward that
lane (LCW). The zone follows ISO 17387 (lane change decision aid systems): alongside the host
from behind the driver's eye point back to some metres behind its rear bumper; its
dimensions below are our reading (to verify against T/CSAE 246-2022). Two applications, two
keys: ``[applications.bsw]`` (name "BSW", warns whenever a remote is in either blind zone)
and ``[applications.lcw]`` (name "LCW", warns only toward the side the host signals).

For every received BSM link (host = receiver, remote = sender; geometry of
:mod:`v2x.apps._relative`; the host's length and turn signals from its own state):

1. **Same direction**: heading difference ``<= max_heading_diff_deg`` (default 30 deg, as FCW).
2. **Adjacent lane**: ``half_lane_m < |lateral| <= max_lateral_m`` (defaults 1.75 m and
   5.25 m: the remote's centre line lies in the lane next to the host's, 3.5 m lanes); the
   side is the sign of the lateral offset (> 0 right, < 0 left).
3. **Blind zone** (BSW and LCW): the remote's body, from its rear bumper (front bumper minus
   its BSM length) to its front bumper, overlaps the stretch from ``zone_front_m`` behind the
   host's front bumper (default 2 m: about the driver's eye point of a car; the driver sees
   what is farther ahead) to ``zone_rear_m`` behind the host's rear bumper (default 3 m,
   ISO 17387's blind spot zone length behind the vehicle (to verify)).
4. **Closing** (LCW only): the remote's front bumper is behind the host's rear bumper and
   closes on it: ``TTC = gap / (v_remote - v_host) < ttc_threshold_s`` (default 3.5 s, the
   closing-vehicle time of ISO 17387 Type III (to verify)), gap = the host's rear bumper
   ahead of the remote's front bumper.
5. **Signal** (LCW only): the host's left blinker (SUMO signal bit 1) for a remote on its
   left, its right blinker (bit 0) for one on its right; hazard lights (bit 2) are not a lane
   change. The host's actual lateral motion is not used (its own yaw/lateral offset would
   come from its lane matching; the turn signal is what the standard's scenario sets).

BSW warns on 1-3, LCW on 1, 2, 5 and (3 or 4). Criticality: BSW the longitudinal distance
of the remote's front bumper behind the host's front bumper (smaller = more beside it); LCW
the TTC (0 when in the zone).
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

__all__ = ["BlindSpotWarning", "BswConfig", "BswResult", "LaneChangeWarning", "LcwConfig"]


class BswConfig(AppConfig):
    """``[applications.bsw]``: blind spot warning (T/CSAE 53-2020 BSW).

    Attributes:
        range_m: BSMs from farther senders are not assessed [m]; default 50 (the zone is
            within about 10 m; LCW's closing vehicle within 3.5 s at 50 km/h of closing
            speed, 49 m).
        max_heading_diff_deg: "same direction" [deg]; default 30.
        half_lane_m: smallest |lateral offset| of the adjacent lane [m]; default 1.75.
        max_lateral_m: largest |lateral offset| of the adjacent lane [m]; default 5.25.
        zone_front_m: the zone begins this far behind the host's front bumper [m]; default 2.
        zone_rear_m: and ends this far behind its rear bumper [m]; default 3 (ISO 17387
            (to verify)).
    """

    range_m: float = Field(50.0, gt=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(30.0, ge=0, le=180, allow_inf_nan=False)
    half_lane_m: float = Field(1.75, ge=0, allow_inf_nan=False)
    max_lateral_m: float = Field(5.25, gt=0, allow_inf_nan=False)
    zone_front_m: float = Field(2.0, allow_inf_nan=False)
    zone_rear_m: float = Field(3.0, ge=0, allow_inf_nan=False)


class LcwConfig(BswConfig):
    """``[applications.lcw]``: lane change warning (T/CSAE 53-2020 LCW): the keys of
    :class:`BswConfig` and ``ttc_threshold_s`` [s], the closing vehicle's TTC to the host's
    rear bumper below which it warns (default 3.5, ISO 17387 (to verify))."""

    ttc_threshold_s: float = Field(3.5, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class BswResult:
    """Per-link evaluation; every field ``(m,)``.

    Attributes:
        adjacent: bool, rules 1-2 (same direction, the lane next to the host's).
        side: int8, +1 right, -1 left (sign of the lateral offset), 0 where not adjacent.
        in_zone: bool, rule 3.
        ttc_s: float64 [s] the closing remote's TTC to the host's rear bumper (rule 4),
            inf where not behind or not closing.
        signalled: bool, the host signals toward the remote's side (rule 5).
        longitudinal_m: float64 [m] the remote's front bumper ahead of the host's.
        bsw: bool, BSW warns. lcw: bool, LCW warns.
    """

    adjacent: np.ndarray
    side: np.ndarray
    in_zone: np.ndarray
    ttc_s: np.ndarray
    signalled: np.ndarray
    longitudinal_m: np.ndarray
    bsw: np.ndarray
    lcw: np.ndarray


class BlindSpotWarning:
    """The BSW rule of this module with its settings (``config``, default
    :class:`BswConfig`)."""

    name: ClassVar[str] = "BSW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM",)

    def __init__(self, config: BswConfig | None = None) -> None:
        self.config = config if config is not None else self._default()
        self.hold_ns = round(self.config.hold_s * 1e9)

    @staticmethod
    def _default() -> BswConfig:
        return BswConfig()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def _warns(self, r: BswResult) -> tuple[np.ndarray, np.ndarray]:
        """(warn, criticality) of this application."""
        return r.bsw, np.where(r.bsw, -r.longitudinal_m, np.inf)

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender
        (target = the remote vehicle)."""
        links = bsm_links(window, self.config.range_m)
        st, bsm = window.hosts, window.bsm
        e, b = links.host, links.bsm
        r = self.evaluate(ego_x=st.x[e], ego_y=st.y[e], ego_heading_deg=st.heading_deg[e],
                          ego_speed=st.speed[e], ego_length=st.length[e],
                          ego_signals=st.signals[e], remote_x=bsm.x[b], remote_y=bsm.y[b],
                          remote_heading_deg=bsm.heading_deg[b], remote_speed=bsm.speed[b],
                          remote_length=bsm.length[b])
        warn, crit = self._warns(r)
        return Assessments(link=links.link, target=window.links.sender[links.link], warn=warn,
                           criticality=crit, ttc_s=r.ttc_s,
                           gap_m=np.where(r.adjacent, r.longitudinal_m, np.nan))

    def evaluate(self, *, ego_x: npt.ArrayLike, ego_y: npt.ArrayLike,
                 ego_heading_deg: npt.ArrayLike, ego_speed: npt.ArrayLike,
                 ego_length: npt.ArrayLike, ego_signals: npt.ArrayLike,
                 remote_x: npt.ArrayLike, remote_y: npt.ArrayLike,
                 remote_heading_deg: npt.ArrayLike, remote_speed: npt.ArrayLike,
                 remote_length: npt.ArrayLike) -> BswResult:
        """Evaluate rules 1-5 for ``m`` links at once (each argument (m,) or a scalar): the
        host's front bumper [m, network], heading [deg], speed [m/s], length [m] and SUMO
        signal bits (int); the remote's decoded BSM position, heading, speed and length.

        Returns :class:`BswResult`. Raises ValueError when the inputs do not broadcast to
        one 1-d shape.
        """
        cfg = self.config
        rel = relative(ego_x=ego_x, ego_y=ego_y, ego_heading_deg=ego_heading_deg,
                       ego_speed=ego_speed, remote_x=remote_x, remote_y=remote_y,
                       remote_heading_deg=remote_heading_deg, remote_speed=remote_speed)
        m = rel.distance_m.shape
        le, lr, ev, rv = (np.broadcast_to(np.asarray(a, np.float64), m)
                          for a in (ego_length, remote_length, ego_speed, remote_speed))
        sig = np.broadcast_to(np.asarray(ego_signals, np.int64), m)
        lon, lat = rel.longitudinal_m, rel.lateral_m
        with np.errstate(invalid="ignore", divide="ignore"):
            adjacent = ((rel.heading_diff_deg <= cfg.max_heading_diff_deg)
                        & (np.abs(lat) > cfg.half_lane_m) & (np.abs(lat) <= cfg.max_lateral_m))
            side = np.where(adjacent, np.sign(lat), 0).astype(np.int8)
            zone_front, zone_rear = -cfg.zone_front_m, -le - cfg.zone_rear_m
            in_zone = adjacent & (lon - lr <= zone_front) & (lon >= zone_rear)
            gap = -le - lon  # the host's rear bumper ahead of the remote's front bumper
            closing = rv - ev
            behind = adjacent & (gap > 0) & (closing > 0)
            ttc = np.where(behind, gap / np.where(behind, closing, 1.0), np.inf)
        ttc = np.where(in_zone, 0.0, ttc)
        left = (sig & SumoSignal.BLINKER_LEFT) != 0
        right = (sig & SumoSignal.BLINKER_RIGHT) != 0
        signalled = ((side < 0) & left) | ((side > 0) & right)
        threshold = getattr(cfg, "ttc_threshold_s", 0.0)
        lcw = signalled & (in_zone | (ttc < threshold))
        return BswResult(adjacent=adjacent, side=side, in_zone=in_zone, ttc_s=ttc,
                         signalled=signalled, longitudinal_m=lon, bsw=in_zone, lcw=lcw)


class LaneChangeWarning(BlindSpotWarning):
    """The LCW rule of this module (``config``, default :class:`LcwConfig`)."""

    name: ClassVar[str] = "LCW"

    def __init__(self, config: LcwConfig | None = None) -> None:
        super().__init__(config if config is not None else LcwConfig())

    def _warns(self, r: BswResult) -> tuple[np.ndarray, np.ndarray]:
        return r.lcw, r.ttc_s
