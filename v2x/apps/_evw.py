"""Emergency vehicle warning (EVW), vectorized over the BSM receptions of a window.

T/CSAE 53-2020 Day-1 application EVW (test method: DB50/T 1572-2024, which adds EVW to the
T/CSAE 246 set): an emergency vehicle on a call (ambulance, fire engine, police) approaches
the host, which should make way. For every received BSM link (host = receiver, remote =
sender; geometry of :mod:`v2x.apps._relative`):

1. **Emergency vehicle on a call**: ``vehicleClass.classification`` in 60..69 (J2735
   BasicVehicleClass emergency vehicles) and its ``emergencyExt`` says the siren
   (``sirenUse``) or the light bar (``lightsUse``) is in use (value 2, inUse). An emergency
   vehicle without them is ordinary traffic.
2. **Approaching**: the distance between the two shrinks, ``d(distance)/dt <=
   -min_closing_mps`` (default 0.5 m/s), from both velocities (the host's own, the remote's
   decoded speed and heading): from behind faster than the host, oncoming, or crossing
   toward it. One going away, or keeping its distance, is not a threat.
3. **In range**: distance ``<= range_m`` (default 300 m (to verify): an emergency vehicle at
   60 km/h more than the host covers it in 18 s, time for the host to make way).

Criticality: the time until the two would meet, distance / closing speed [s] (also ``ttc_s``);
``gap_m`` the distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._relative import bsm_links, relative
from v2x.messages._bsm import is_emergency

__all__ = ["EmergencyVehicleWarning", "EvwConfig", "EvwResult"]

_IN_USE = 2  # SirenInUse.inUse, LightbarInUse.inUse


class EvwConfig(AppConfig):
    """``[applications.evw]``: emergency vehicle warning (T/CSAE 53-2020 EVW).

    Attributes:
        range_m: largest distance to the emergency vehicle [m]; default 300 (to verify).
        min_closing_mps: smallest closing speed that counts as approaching [m/s]; default
            0.5.
    """

    range_m: float = Field(300.0, gt=0, allow_inf_nan=False)
    min_closing_mps: float = Field(0.5, ge=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class EvwResult:
    """Per-link evaluation; every field ``(m,)``.

    Attributes:
        on_call: bool, rule 1. closing_mps: float64 [m/s] -d(distance)/dt.
        distance_m: float64 [m]. time_to_meet_s: float64 [s] distance / closing where
            closing > 0, inf otherwise. warn: bool, all rules.
    """

    on_call: np.ndarray
    closing_mps: np.ndarray
    distance_m: np.ndarray
    time_to_meet_s: np.ndarray
    warn: np.ndarray


class EmergencyVehicleWarning:
    """The EVW rule of this module (``config``, default :class:`EvwConfig`)."""

    name: ClassVar[str] = "EVW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM",)

    def __init__(self, config: EvwConfig | None = None) -> None:
        self.config = config if config is not None else EvwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def __repr__(self) -> str:
        return f"EmergencyVehicleWarning({self.config!r})"

    @staticmethod
    def on_call(classification: npt.ArrayLike, siren_use: npt.ArrayLike,
                lightbar_use: npt.ArrayLike) -> np.ndarray:
        """Rule 1 on decoded BSM columns (m,) int (-1: absent) -> (m,) bool."""
        return is_emergency(np.asarray(classification)) & (
            (np.asarray(siren_use) == _IN_USE) | (np.asarray(lightbar_use) == _IN_USE))

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender;
        only emergency vehicles on a call can warn, so the rule runs on them alone (target =
        the emergency vehicle, criticality = time to meet)."""
        links = bsm_links(window, self.config.range_m)
        st, bsm = window.hosts, window.bsm
        b_all = links.bsm
        calls = np.flatnonzero(self.on_call(bsm.classification[b_all], bsm.siren_use[b_all],
                                            bsm.lightbar_use[b_all]))
        e, b = links.host[calls], b_all[calls]
        r = self.evaluate(ego_x=st.x[e], ego_y=st.y[e], ego_heading_deg=st.heading_deg[e],
                          ego_speed=st.speed[e], remote_x=bsm.x[b], remote_y=bsm.y[b],
                          remote_heading_deg=bsm.heading_deg[b], remote_speed=bsm.speed[b],
                          remote_classification=bsm.classification[b],
                          remote_siren_use=bsm.siren_use[b],
                          remote_lightbar_use=bsm.lightbar_use[b])
        k = links.link.size
        warn = np.zeros(k, bool)
        warn[calls] = r.warn
        meet = np.full(k, np.inf)
        meet[calls] = r.time_to_meet_s
        gap = np.full(k, np.nan)
        gap[calls] = r.distance_m
        return Assessments(link=links.link, target=window.links.sender[links.link], warn=warn,
                           criticality=meet, ttc_s=meet, gap_m=gap)

    def evaluate(self, *, ego_x: npt.ArrayLike, ego_y: npt.ArrayLike,
                 ego_heading_deg: npt.ArrayLike, ego_speed: npt.ArrayLike,
                 remote_x: npt.ArrayLike, remote_y: npt.ArrayLike,
                 remote_heading_deg: npt.ArrayLike, remote_speed: npt.ArrayLike,
                 remote_classification: npt.ArrayLike, remote_siren_use: npt.ArrayLike,
                 remote_lightbar_use: npt.ArrayLike) -> EvwResult:
        """Evaluate rules 1-3 for ``m`` links (each (m,) or a scalar): the host's front bumper
        [m, network], heading [deg] and speed [m/s]; the remote's decoded BSM position,
        heading, speed, classification, sirenUse and lightsUse (-1: absent).

        Returns :class:`EvwResult`. Raises ValueError when the inputs do not broadcast to
        one 1-d shape.
        """
        cfg = self.config
        rel = relative(ego_x=ego_x, ego_y=ego_y, ego_heading_deg=ego_heading_deg,
                       ego_speed=ego_speed, remote_x=remote_x, remote_y=remote_y,
                       remote_heading_deg=remote_heading_deg, remote_speed=remote_speed)
        m = rel.distance_m.shape
        on_call = self.on_call(*(np.broadcast_to(np.asarray(a, np.int64), m) for a in (
            remote_classification, remote_siren_use, remote_lightbar_use)))
        closing = -rel.range_rate_mps
        with np.errstate(invalid="ignore", divide="ignore"):
            approaching = closing >= max(cfg.min_closing_mps, 1e-9)
            meet = np.where(approaching, rel.distance_m / np.where(approaching, closing, 1.0),
                            np.inf)
            warn = on_call & approaching & (rel.distance_m <= cfg.range_m)
        return EvwResult(on_call=on_call, closing_mps=closing, distance_m=rel.distance_m,
                         time_to_meet_s=meet, warn=warn)
