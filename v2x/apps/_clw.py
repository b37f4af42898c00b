"""Control loss warning (CLW), and the rule it shares with abnormal vehicle warning (AVW,
:mod:`v2x.apps._avw`): a remote vehicle ahead says in its BSM that something is wrong with
it; vectorized over the BSM receptions of a window.

Both follow the same rule on different signs (T/CSAE 53-2020 Day-1 applications; test methods:
T/CSAE 246-2022, the CLW and AVW annexes). For every received BSM link (host = receiver,
remote = sender; geometry of :mod:`v2x.apps._relative`):

1. **The sign** (decoded from the BSM):

   * CLW: ``safetyExt.events`` carries ABSactivated (bit 2), tractionControlLoss (bit 3) or
     stabilityControlActivated (bit 4) (T/CSAE 53 VehicleEventFlags): the remote's control
     systems are fighting a loss of grip.
   * AVW: ``safetyExt.events`` carries hazardLights (bit 0) or disabledVehicle (bit 11), or,
     with ``slow_speed_kmh`` set, the remote drives at most that fast (stopped or abnormally
     slow). The speed sign is off by default: a queue at a red light is slow without being
     abnormal, and a BSM cannot tell the two apart; a broken-down or stopped vehicle that
     matters turns its hazard lights on.

2. **Same direction**: heading difference ``<= max_heading_diff_deg`` (default 30 deg): a
   remote on the opposite carriageway is not in the host's way.
3. **Ahead**: the remote's front bumper is ahead of the host's (longitudinal > 0); one behind
   is not in the host's way.
4. **In the host's path**: ``|lateral| <= max_lateral_m`` (default 5.25 m: the host's lane or
   the one on either side, as EBW).
5. **In range**: distance ``<= range_m`` (default 150 m, as EBW (to verify)).

Criticality: the distance [m]; ``gap_m`` the longitudinal offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._relative import bsm_links, relative

__all__ = ["CONTROL_LOSS_EVENTS", "ClwConfig", "ControlLossWarning", "RemoteAheadResult"]

#: VehicleEventFlags of a control loss: ABSactivated 2, tractionControlLoss 3,
#: stabilityControlActivated 4
CONTROL_LOSS_EVENTS = (1 << 2) | (1 << 3) | (1 << 4)


class ClwConfig(AppConfig):
    """``[applications.clw]``: control loss warning (T/CSAE 53-2020 CLW).

    Attributes:
        range_m: largest distance to the remote [m]; default 150 (to verify).
        max_heading_diff_deg: "same direction" [deg]; default 30.
        max_lateral_m: largest |lateral offset| [m]: the host's and the adjacent lanes;
            default 5.25.
    """

    range_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(30.0, ge=0, le=180, allow_inf_nan=False)
    max_lateral_m: float = Field(5.25, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class RemoteAheadResult:
    """Per-link evaluation; every field ``(m,)``.

    Attributes:
        sign: bool, rule 1. ahead: bool, rules 2-4.
        distance_m, longitudinal_m, lateral_m: float64 [m]. warn: bool, all rules.
    """

    sign: np.ndarray
    ahead: np.ndarray
    distance_m: np.ndarray
    longitudinal_m: np.ndarray
    lateral_m: np.ndarray
    warn: np.ndarray


class ControlLossWarning:
    """The CLW rule of this module (``config``, default :class:`ClwConfig`)."""

    name: ClassVar[str] = "CLW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM",)
    events_mask: ClassVar[int] = CONTROL_LOSS_EVENTS

    def __init__(self, config: ClwConfig | None = None) -> None:
        self.config = config if config is not None else self._default()
        self.hold_ns = round(self.config.hold_s * 1e9)

    @staticmethod
    def _default() -> ClwConfig:
        return ClwConfig()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def sign(self, events: np.ndarray, speed_mps: np.ndarray) -> np.ndarray:
        """Rule 1 on decoded BSM columns: VehicleEventFlags ``events`` (m,) int (-1: not
        decoded) and ``speed_mps`` (m,) float -> (m,) bool."""
        ev = np.asarray(events, np.int64)
        return (ev >= 0) & ((ev & self.events_mask) != 0)

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender;
        only those with the sign can warn, so the rule runs on them alone (target = the
        remote, criticality = distance)."""
        links = bsm_links(window, self.config.range_m)
        st, bsm = window.hosts, window.bsm
        signed = np.flatnonzero(self.sign(bsm.events[links.bsm], bsm.speed[links.bsm]))
        e, b = links.host[signed], links.bsm[signed]
        r = self.evaluate(ego_x=st.x[e], ego_y=st.y[e], ego_heading_deg=st.heading_deg[e],
                          remote_x=bsm.x[b], remote_y=bsm.y[b],
                          remote_heading_deg=bsm.heading_deg[b], remote_events=bsm.events[b],
                          remote_speed=bsm.speed[b])
        k = links.link.size
        warn = np.zeros(k, bool)
        warn[signed] = r.warn
        dist = np.full(k, np.inf)
        dist[signed] = r.distance_m
        gap = np.full(k, np.nan)
        gap[signed] = r.longitudinal_m
        return Assessments(link=links.link, target=window.links.sender[links.link], warn=warn,
                           criticality=dist, ttc_s=np.full(k, np.nan), gap_m=gap)

    def evaluate(self, *, ego_x: npt.ArrayLike, ego_y: npt.ArrayLike,
                 ego_heading_deg: npt.ArrayLike, remote_x: npt.ArrayLike,
                 remote_y: npt.ArrayLike, remote_heading_deg: npt.ArrayLike,
                 remote_events: npt.ArrayLike,
                 remote_speed: npt.ArrayLike = np.nan) -> RemoteAheadResult:
        """Evaluate rules 1-5 for ``m`` links (each (m,) or a scalar): the host's front bumper
        [m, network] and heading [deg]; the remote's decoded BSM position, heading,
        VehicleEventFlags bits (int) and speed [m/s] (NaN: unavailable).

        Returns :class:`RemoteAheadResult`. Raises ValueError when the inputs do not
        broadcast to one 1-d shape.
        """
        cfg = self.config
        rel = relative(ego_x=ego_x, ego_y=ego_y, ego_heading_deg=ego_heading_deg, ego_speed=0.0,
                       remote_x=remote_x, remote_y=remote_y,
                       remote_heading_deg=remote_heading_deg, remote_speed=0.0)
        m = rel.distance_m.shape
        sign = self.sign(np.broadcast_to(np.asarray(remote_events, np.int64), m),
                         np.broadcast_to(np.asarray(remote_speed, np.float64), m))
        with np.errstate(invalid="ignore"):
            ahead = ((rel.heading_diff_deg <= cfg.max_heading_diff_deg)
                     & (rel.longitudinal_m > 0) & (np.abs(rel.lateral_m) <= cfg.max_lateral_m))
            warn = sign & ahead & (rel.distance_m <= cfg.range_m)
        return RemoteAheadResult(sign=sign, ahead=ahead, distance_m=rel.distance_m,
                                 longitudinal_m=rel.longitudinal_m, lateral_m=rel.lateral_m,
                                 warn=warn)
