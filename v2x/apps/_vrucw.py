"""Vulnerable road user collision warning (VRUCW), vectorized over the RSM receptions of a
window.

T/CSAE 53-2020 Day-1 application VRUCW (test scenarios: T/CSAE 246-2022, the VRUCW annex): a
host is warned when a pedestrian or a non-motor vehicle (bicycle, e-bike) is about to cross
its path (STANDARDS.md sections 4 and 7). Pedestrians carry no OBU in the testbed: the host
learns of them from the RSM of a roadside unit that perceives them (``[rsm]``, T/CSAE 53-2020
RSM: ptcType 2 non-motor, 3 pedestrian). The standard describes the application, not a
formula; the rule is ours, with the prediction of :mod:`v2x.apps._conflict`. For every
(host, participant of type 2 or 3 of a received RSM) pair:

1. **In range**: the participant is within ``range_m`` of the host (default 150 m, the RSU's
   sensor range and the Day-1 safety range; to verify).
2. **Crossing**: the participant's straight path (from its reported point, the testbed's
   roadside reporting a centre, moved half its length ahead, along its reported heading at
   its speed; the RSM's acceleration is not used) crosses the host's at ``min_angle_deg``
   (default 30 deg) or more. It occupies the host's swept band while within the host's half
   width plus ``lateral_margin_m`` (default 0.3 m; our choice, to verify: a pedestrian
   standing at the kerb 0.85 m from a car's side in a 3.5 m lane is outside it) of the host's
   path; the host occupies the crossing from its front reaching it to its rear leaving it.
   A participant standing still occupies the band for good if it stands in it, never if not
   (a pedestrian who stopped at the kerb).
3. **In the path** (paths that do not cross: walking along the road, or standing with a
   heading along it): the participant is ahead of the host's front and within the host's
   half width plus its own plus ``lateral_margin_m`` of the host's path; it occupies the
   point for good.
4. **Conflict**: the host reaches the crossing (or the participant in its path) within
   ``warn_time_s`` (default 4.0 s, as ICW; to verify) and the predicted PET is at most
   ``pet_threshold_s`` (default 2.0 s, SUMO SSM's; to verify).

Each pair is an assessment of the participant (target = :data:`~v2x.apps.RSM_TARGET_BASE` +
ptcId: a host does not know who the participant is; criticality and ``ttc_s`` = the host's
time to the conflict [s]; ``gap_m`` = its distance [m]); one per (host, participant, step)
when overlapping RSUs report the same participant (:func:`~v2x.apps.one_per_target`). A
bicycle with an OBU would send BSMs (vehicleClass 85); the testbed's decoded BSM columns do
not carry the class yet, so this application reads RSMs only (to do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._conflict import crossing_point, occupancy, predicted_pet, to_frame
from v2x.apps._rsm_view import rsm_links
from v2x.apps._targets import RSM_TARGET_BASE, one_per_target
from v2x.messages._rsm import ParticipantType

__all__ = ["VrucwConfig", "VrucwResult", "VulnerableRoadUserWarning"]

#: the participants VRUCW is about: non-motor vehicles and pedestrians
_VRU_TYPES = (int(ParticipantType.NON_MOTOR), int(ParticipantType.PEDESTRIAN))


class VrucwConfig(AppConfig):
    """``[applications.vrucw]``: the VRUCW rule's settings (pydantic v2, unknown keys
    refused).

    Attributes:
        enabled: run the application (default True).
        warn_time_s: the host reaches the conflict within this [s]; default 4.0 (to verify).
        pet_threshold_s: warn when the predicted PET is at most this [s]; default 2.0 (SUMO
            SSM's PET threshold; to verify).
        lateral_margin_m: added to the host's half width for the band a participant must
            enter [m]; default 0.3 (to verify).
        min_angle_deg: smallest angle between the paths for a crossing [deg], 0..90;
            default 30.
        range_m: participants farther from the host are not assessed [m]; default 150.
    """

    warn_time_s: float = Field(4.0, gt=0, allow_inf_nan=False)
    pet_threshold_s: float = Field(2.0, ge=0, allow_inf_nan=False)
    lateral_margin_m: float = Field(0.3, ge=0, allow_inf_nan=False)
    min_angle_deg: float = Field(30.0, gt=0, le=90, allow_inf_nan=False)
    range_m: float = Field(150.0, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class VrucwResult:
    """Per-pair VRUCW evaluation; every field ``(m,)``.

    Attributes:
        crossing: bool, the paths cross (rule 2).
        in_path: bool, rule 3 (paths that do not cross, the participant in the host's path).
        host_to_conflict_m: float64 [m] from the host's front to the crossing or to the
            participant's rear (NaN: neither).
        host_time_s: float64 [s] until the host's front reaches it (inf: never).
        pet_s: float64 [s] predicted PET (inf: no conflict).
        warn: bool, all rules.
    """

    crossing: np.ndarray
    in_path: np.ndarray
    host_to_conflict_m: np.ndarray
    host_time_s: np.ndarray
    pet_s: np.ndarray
    warn: np.ndarray


class VulnerableRoadUserWarning:
    """The VRUCW rule of this module with its settings (``config``, default
    :class:`VrucwConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "VRUCW"
    consumes: ClassVar[tuple[str, ...]] = ("RSM",)

    def __init__(self, config: VrucwConfig | None = None) -> None:
        self.config = config if config is not None else VrucwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def __repr__(self) -> str:
        return f"VulnerableRoadUserWarning({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """Every (host, pedestrian or non-motor participant of a received RSM) pair within
        ``range_m`` is an assessment of that participant."""
        lk, st = window.links, window.hosts
        pairs = rsm_links(window, _VRU_TYPES)
        if pairs.n == 0:
            return Assessments.empty()
        p, part = pairs.participants, pairs.participant
        e = lk.host[pairs.link]
        h = np.radians(p.heading_deg[part])
        half = np.nan_to_num(p.length[part], nan=0.0) / 2.0
        fx, fy = p.x[part] + half * np.sin(h), p.y[part] + half * np.cos(h)
        with np.errstate(invalid="ignore"):
            near = np.flatnonzero(np.hypot(fx - st.x[e], fy - st.y[e]) <= self.config.range_m)
        e, part, links = e[near], part[near], pairs.link[near]
        r = self.evaluate(
            host_x=st.x[e], host_y=st.y[e], host_heading_deg=st.heading_deg[e],
            host_speed=st.speed[e], host_accel=st.accel[e], host_length=st.length[e],
            host_width=st.width[e], vru_x=fx[near], vru_y=fy[near],
            vru_heading_deg=p.heading_deg[part], vru_speed=p.speed[part],
            vru_length=np.nan_to_num(p.length[part], nan=0.0),
            vru_width=np.nan_to_num(p.width[part], nan=0.0))
        found = Assessments(link=links, target=RSM_TARGET_BASE + p.ptc_id[part], warn=r.warn,
                            criticality=r.host_time_s, ttc_s=r.host_time_s,
                            gap_m=r.host_to_conflict_m)
        return one_per_target(found, st.index[e], lk.step[links])

    def evaluate(self, *, host_x: npt.ArrayLike, host_y: npt.ArrayLike,
                 host_heading_deg: npt.ArrayLike, host_speed: npt.ArrayLike,
                 host_accel: npt.ArrayLike, host_length: npt.ArrayLike,
                 host_width: npt.ArrayLike, vru_x: npt.ArrayLike, vru_y: npt.ArrayLike,
                 vru_heading_deg: npt.ArrayLike, vru_speed: npt.ArrayLike,
                 vru_length: npt.ArrayLike, vru_width: npt.ArrayLike) -> VrucwResult:
        """Rules 2-4 for ``m`` (host, participant) pairs.

        Args (keyword-only, each ``(m,)`` or a scalar broadcast; all scalars: m = 1):
        the host's front bumper
        [m, network], heading [deg], speed [m/s], longitudinal acceleration [m/s²], length
        and width [m]; the participant's front point [m, network], heading [deg], speed
        [m/s], length and width [m] (from the RSM).

        Returns :class:`VrucwResult`. Raises ValueError when the inputs do not broadcast to
        one 1-d shape.
        """
        try:
            (hx, hy, hh, hv, ha, hl, hw, px, py, ph, pv, pl, pw) = np.broadcast_arrays(
                *(np.atleast_1d(np.asarray(a, np.float64)) for a in (
                    host_x, host_y, host_heading_deg, host_speed, host_accel, host_length,
                    host_width, vru_x, vru_y, vru_heading_deg, vru_speed, vru_length,
                    vru_width)))
        except ValueError as exc:
            raise ValueError(f"VRUCW inputs do not share one shape (m,): {exc}") from exc
        if hx.ndim != 1:
            raise ValueError(f"VRUCW inputs must be 1-d (m,), got shape {hx.shape}")
        cfg = self.config
        band = hw / 2.0 + cfg.lateral_margin_m  # half the host's swept band [m]
        # rule 2: crossing paths
        c = crossing_point(hx, hy, hh, px, py, ph, min_angle_deg=cfg.min_angle_deg)
        sin_a = np.where(c.found, c.sin_angle, 1.0)
        host_c = occupancy(c.a_m, hl, pw / (2.0 * sin_a), hv, ha)
        vru_c = occupancy(c.b_m, pl, band / sin_a, pv)
        pet_x = np.where(c.found, predicted_pet(host_c, vru_c), np.inf)
        # rule 3: in the host's path now, paths not crossing
        along, lateral = to_frame(px - hx, py - hy, hh)
        with np.errstate(invalid="ignore"):
            in_path = (~c.found & (along > 0.0) & (np.abs(lateral) <= band + pw / 2.0)
                       & np.isfinite(pv))
        host_p = occupancy(np.where(in_path, along - pl, np.nan), hl, 0.0, hv, ha)
        pet_p = np.where(in_path & ~host_p.gone, -np.inf, np.inf)
        host_t = np.where(c.found, host_c.t_in, np.where(in_path, host_p.t_in, np.inf))
        host_gone = np.where(c.found, host_c.gone, host_p.gone)
        pet = np.where(c.found, pet_x, pet_p)
        with np.errstate(invalid="ignore"):
            warn = ((c.found | in_path) & ~host_gone & (host_t <= cfg.warn_time_s)
                    & (pet <= cfg.pet_threshold_s))
        gap = np.where(c.found, c.a_m, np.where(in_path, along - pl, np.nan))
        return VrucwResult(crossing=c.found, in_path=in_path, host_to_conflict_m=gap,
                           host_time_s=host_t, pet_s=pet, warn=warn)
