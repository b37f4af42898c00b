"""Emergency brake warning (EBW), vectorized over the BSM receptions of one step.

T/CSAE 53-2020 Day-1 application EBW: a remote vehicle ahead that brakes hard says so in its
BSM (``safetyExt.events``, VehicleEventFlags bit 7 hardBraking, set by our OBUs when the
deceleration exceeds 0.4 g, :mod:`v2x.messages._bsm`); a host behind it is warned, also when
the braking vehicle is hidden by others or drives in a neighbouring lane (STANDARDS.md
section 4). The rule for every received BSM link (ego = receiver, remote = sender):

1. **Hard braking**: the hardBraking bit (:data:`v2x.messages.HARD_BRAKING_BIT`) is set in the
   decoded ``events`` (``BsmBatch.events``).
2. **Same direction**: wrapped ``|h_remote - h_ego| <= max_heading_diff_deg`` (default 30 deg,
   as FCW).
3. **Ahead**: the remote's front bumper is ahead of the ego's along the ego heading
   (longitudinal offset > 0).
4. **Ego lane or an adjacent lane**: ``|lateral offset| <= max_lateral_m``, default 5.25 m =
   1.5 lane widths of 3.5 m, i.e. a vehicle whose centre lies in the ego lane or in the lane on
   either side. Our choice: EBW is not limited to the ego lane (a vehicle braking hard in the
   next lane may cut in or make the ego lane brake), but two lanes away it is not the host's
   concern.
5. **In range**: straight-line distance ``<= range_m``, default 150 m (T/CSAE 53 performance
   requirement of EBW, communication range >= 150 m (to verify); FCW's is 300 m).
6. **Fresh**: the information's age, now minus the BSM's ``secMark`` (ms within the minute,
   wrapped at the minute), is within ``0 .. max_age_s`` (default 0.5 s: 5 BSM periods at
   10 Hz, the FCW hold; T/CSAE 53's latency bound is 100 ms (to verify)). A ``secMark`` ahead of
   now (a clock error) or unavailable (65535) is not fresh.

Geometry as :mod:`v2x.apps._fcw`: x east, y north [m], headings clockwise from north, positions
front-bumper centres. Links with NaN in a position or heading never warn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.messages._bsm import HARD_BRAKING_BIT
from v2x.msgset import MSG_TYPES

__all__ = ["EbwConfig", "EbwResult", "EmergencyBrakeWarning"]

_MS_PER_MINUTE = 60_000
_BSM = MSG_TYPES.index("BSM")


class EbwConfig(AppConfig):
    """``[applications.ebw]``: the EBW rule's settings (pydantic v2, unknown keys refused).

    Attributes:
        enabled: run the application (default True).
        range_m: largest distance to the braking vehicle [m]; default 150 (T/CSAE 53 EBW
            range >= 150 m (to verify)).
        max_heading_diff_deg: "same direction" [deg], 0..180; default 30.
        max_lateral_m: largest |lateral offset| [m]: ego and adjacent lanes; default 5.25
            (1.5 x 3.5 m).
        max_age_s: largest information age [s]; default 0.5.
    """

    range_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(30.0, ge=0, le=180, allow_inf_nan=False)
    max_lateral_m: float = Field(5.25, gt=0, allow_inf_nan=False)
    max_age_s: float = Field(0.5, ge=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class EbwResult:
    """Per-link EBW evaluation; every field ``(m,)``.

    Attributes:
        hard_braking: bool, rule 1.
        ahead: bool, rules 2-4 (same direction, ahead, ego or adjacent lane).
        distance_m: float64 [m] straight-line distance between the front bumpers.
        longitudinal_m, lateral_m: float64 [m] the remote's offset along the ego heading and
            to its right.
        age_s: float64 [s] information age (now - secMark, wrapped; NaN unavailable).
        warn: bool, all rules.
    """

    hard_braking: np.ndarray
    ahead: np.ndarray
    distance_m: np.ndarray
    longitudinal_m: np.ndarray
    lateral_m: np.ndarray
    age_s: np.ndarray
    warn: np.ndarray


class EmergencyBrakeWarning:
    """The EBW rule of this module with its settings (``config``, default :class:`EbwConfig`)."""

    name: ClassVar[str] = "EBW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM",)

    def __init__(self, config: EbwConfig | None = None) -> None:
        self.config = config if config is not None else EbwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def assess(self, window: AppWindow) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender
        (an :class:`~v2x.apps.Application`); only those with the hardBraking bit can warn, so
        the rule runs on them alone (target = the braking vehicle, criticality = distance)."""
        lk, st, bsm = window.links, window.hosts, window.bsm
        cand = np.flatnonzero((lk.msg_type == _BSM) & (lk.distance_m <= self.config.range_m))
        b, ego = lk.msg[cand], lk.host[cand]
        hard = np.flatnonzero(bsm.hard_braking[b])
        bh, eh = b[hard], ego[hard]
        sec = np.where(bsm.sec_mark[bh] >= 0, bsm.sec_mark[bh], 65535)
        r = self.evaluate(ego_x=st.x[eh], ego_y=st.y[eh], ego_heading_deg=st.heading_deg[eh],
                          remote_x=bsm.x[bh], remote_y=bsm.y[bh],
                          remote_heading_deg=bsm.heading_deg[bh],
                          remote_events=np.int64(1) << HARD_BRAKING_BIT, remote_sec_mark=sec,
                          now_sec_mark=window.sec_mark[lk.step[cand[hard]]])
        warn = np.zeros(cand.size, bool)
        warn[hard] = r.warn
        dist = np.full(cand.size, np.inf)
        dist[hard] = r.distance_m
        gap = np.full(cand.size, np.nan)
        gap[hard] = r.longitudinal_m
        return Assessments(link=cand, target=lk.sender[cand], warn=warn, criticality=dist,
                           ttc_s=np.full(cand.size, np.nan), gap_m=gap)

    def __repr__(self) -> str:
        return f"EmergencyBrakeWarning({self.config!r})"

    def evaluate(self, *, ego_x: npt.ArrayLike, ego_y: npt.ArrayLike,
                 ego_heading_deg: npt.ArrayLike, remote_x: npt.ArrayLike,
                 remote_y: npt.ArrayLike, remote_heading_deg: npt.ArrayLike,
                 remote_events: npt.ArrayLike, remote_sec_mark: npt.ArrayLike,
                 now_sec_mark: npt.ArrayLike) -> EbwResult:
        """Evaluate the rule for ``m`` links at once.

        Args (keyword-only, each ``(m,)`` or a scalar broadcast):
            ego_x, ego_y: ego front bumper [m, network] from its own sensors.
            ego_heading_deg: [deg clockwise from north].
            remote_x, remote_y, remote_heading_deg: the remote's decoded BSM position
                (projected to network x/y) and heading.
            remote_events: int VehicleEventFlags bits (``BsmBatch.events`` as decoded).
            remote_sec_mark: int BSM secMark [ms within the minute] (``BsmBatch.sec_mark``).
            now_sec_mark: int the receiver's time now as a secMark [ms within the minute]
                (:func:`v2x.messages.sec_mark` of the step time).

        Returns :class:`EbwResult`. Raises ValueError when the inputs do not broadcast to one
        1-d shape.
        """
        floats = (ego_x, ego_y, ego_heading_deg, remote_x, remote_y, remote_heading_deg)
        ints = (remote_events, remote_sec_mark, now_sec_mark)
        try:
            arrays = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in floats),
                                         *(np.asarray(a, np.int64) for a in ints))
        except ValueError as exc:
            raise ValueError(f"EBW inputs do not share one shape (m,): {exc}") from exc
        if arrays[0].ndim != 1:
            raise ValueError(f"EBW inputs must be 1-d (m,), got shape {arrays[0].shape}")
        ex, ey, eh, rx, ry, rh, ev, sm, now = arrays
        cfg = self.config
        hard = (ev >> HARD_BRAKING_BIT) & 1 == 1
        h = np.radians(eh)
        sin_h, cos_h = np.sin(h), np.cos(h)
        dx, dy = rx - ex, ry - ey
        longitudinal = dx * sin_h + dy * cos_h
        lateral = dx * cos_h - dy * sin_h
        distance = np.hypot(dx, dy)
        dheading = np.abs((rh - eh + 180.0) % 360.0 - 180.0)
        valid_mark = (sm >= 0) & (sm < _MS_PER_MINUTE) & (now >= 0) & (now < _MS_PER_MINUTE)
        age = np.where(valid_mark, np.mod(now - sm, _MS_PER_MINUTE) / 1000.0, np.nan)
        with np.errstate(invalid="ignore"):
            ahead = ((dheading <= cfg.max_heading_diff_deg) & (longitudinal > 0.0)
                     & (np.abs(lateral) <= cfg.max_lateral_m))
            # a secMark ahead of now wraps to an age near 60 s: not fresh
            fresh = valid_mark & (age <= cfg.max_age_s)
            warn = hard & ahead & (distance <= cfg.range_m) & fresh
        return EbwResult(hard_braking=hard, ahead=ahead, distance_m=distance,
                         longitudinal_m=longitudinal, lateral_m=lateral, age_s=age, warn=warn)
