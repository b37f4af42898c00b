"""In-vehicle signage (IVS), vectorized over every (received RSI, road traffic sign) pair.

T/CSAE 53-2020 Day-1 application IVS (test method: T/CSAE 246-2022 annex on IVS; STANDARDS.md
sections 4 and 7): an RSU broadcasts the road signs of its section as the ``rtss`` of its RSI
(signType a GB 5768.2 code, a position, optional reference paths); the OBU shows a sign to
its driver while the host is on the sign's reference path or approaching the sign, ahead on
its own path (IVS 1 Hz, latency <= 500 ms, to verify). The standard describes the
application, not one formula; the rule here is ours. For every sign of every RSI a host
received (positions and paths from :func:`~v2x.apps.rsi_items`):

1. **In force**: the sign's timeDetails (if any) hold the host's time now.
2. **Direction**: a sign with reference paths applies to traffic along them: the host's
   heading is within ``max_heading_diff_deg`` (default 45 deg) of the direction of the path
   segment nearest to it, so a sign on the opposite carriageway never shows; a sign without
   a path applies to every direction.
3. **On its path**: the host's front bumper lies within the ``pathRadius`` of one of the
   sign's reference paths and rule 2 holds (the host is in the sign's zone: a speed-limit
   section, a school zone ...).
4. **Or approaching**: the sign's position is ahead, its bearing from the host within
   ``max_bearing_deg`` of the host's heading (default 30 deg, as HLW), at most
   ``display_distance_m`` away (default 150 m: the lower end of the Day-1 range 150..300 m,
   STANDARDS.md section 4, to verify), and rule 2 holds. A sign behind the host (passed, or
   on a road it drives away from) does not show unless the host is on its path.
5. **Show** (a warning row of IVS) on 1 and (3 or 4).

Every received RSI with at least one sign is one assessment of its RSU (target = the RSU
node), carrying its most critical sign: a shown one first, then the nearest (criticality =
distance to the sign's position [m], ``gap_m`` the same, ``ttc_s`` = that distance / the
host's speed, inf at standstill). Speed-limit signs show here too (IVS displays them); SLW
warns only a host driving faster than the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._rsi_view import link_items, path_distance, wrap_deg
from v2x.apps._targets import one_per_target
from v2x.msgset import MSG_TYPES

__all__ = ["InVehicleSignage", "IvsConfig", "IvsResult"]

_RSI = MSG_TYPES.index("RSI")


class IvsConfig(AppConfig):
    """``[applications.ivs]``: in-vehicle signage (T/CSAE 53-2020 Day-1 IVS).

    Attributes:
        enabled: run the application (default True).
        display_distance_m: show a sign ahead within this distance of its position [m];
            default 150 (T/CSAE 53 Day-1 range 150..300 m, STANDARDS.md section 4, to verify).
        max_bearing_deg: "ahead" = the sign's bearing within this of the host's heading
            [deg]; default 30 (our choice, as HLW).
        max_heading_diff_deg: largest difference between the host's heading and the sign's
            reference path [deg]; default 45 (as SLW).
        hold_s: a shown sign stays valid this long without a newer RSI from its RSU [s];
            default 2.0 (two static RSI periods of 1 s, T/CSAE 159 (to verify)).
    """

    display_distance_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    max_bearing_deg: float = Field(30.0, ge=0, le=180, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(45.0, ge=0, le=180, allow_inf_nan=False)
    hold_s: float = Field(2.0, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class IvsResult:
    """Per (host, sign) evaluation; every field ``(m,)``.

    Attributes:
        distance_m: float64 [m] host front bumper to the sign's position.
        along: bool, rule 2 (the host drives in the sign's direction).
        on_path: bool, rule 3. ahead: bool, rule 4.
        ttc_s: float64 [s] distance / host speed (inf at standstill, 0 at the position).
        show: bool, rules 1 and (3 or 4).
    """

    distance_m: np.ndarray
    along: np.ndarray
    on_path: np.ndarray
    ahead: np.ndarray
    ttc_s: np.ndarray
    show: np.ndarray


class InVehicleSignage:
    """The IVS rule of this module with its settings (``config``, default
    :class:`IvsConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "IVS"
    consumes: ClassVar[tuple[str, ...]] = ("RSI",)

    def __init__(self, config: IvsConfig | None = None) -> None:
        self.config = config if config is not None else IvsConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def __repr__(self) -> str:
        return f"InVehicleSignage({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """The rule on every sign of every RSI a host received (the module docstring); each
        distinct RSI frame of the window is decoded and projected once."""
        pairs = link_items(window, _RSI, "signs")
        if pairs is None or pairs.n == 0:
            return Assessments.empty()
        st, items, it = window.hosts, pairs.items, pairs.item
        hx, hy = st.x[pairs.host], st.y[pairs.host]
        path = path_distance(items, it, hx, hy)
        r = self.evaluate(host_x=hx, host_y=hy, host_speed=st.speed[pairs.host],
                          host_heading_deg=st.heading_deg[pairs.host], sign_x=items.x[it],
                          sign_y=items.y[it], path_distance_m=path.distance_m,
                          path_radius_m=path.radius_m, path_heading_deg=path.heading_deg,
                          in_force=pairs.in_force)
        found = Assessments(link=pairs.link, target=window.links.sender[pairs.link],
                            warn=r.show, criticality=r.distance_m, ttc_s=r.ttc_s,
                            gap_m=r.distance_m)
        return one_per_target(found, st.index[pairs.host], window.links.step[pairs.link])

    def evaluate(self, *, host_x: npt.ArrayLike, host_y: npt.ArrayLike,
                 host_speed: npt.ArrayLike, host_heading_deg: npt.ArrayLike,
                 sign_x: npt.ArrayLike, sign_y: npt.ArrayLike,
                 path_distance_m: npt.ArrayLike = np.inf,
                 path_radius_m: npt.ArrayLike = np.nan,
                 path_heading_deg: npt.ArrayLike = np.nan,
                 in_force: npt.ArrayLike = True) -> IvsResult:
        """The rule for ``m`` (host, sign) pairs at once.

        Args (keyword-only, each ``(m,)`` or a scalar broadcast):
            host_x, host_y: the host's front bumper [m, network]; host_speed [m/s];
                host_heading_deg [deg clockwise from north].
            sign_x, sign_y: the sign's position [m, network].
            path_distance_m: [m] host to the sign's nearest reference path segment (inf:
                the sign has no path); path_radius_m: that path's pathRadius [m];
                path_heading_deg: that segment's direction [deg].
            in_force: bool, the sign's timeDetails hold now.

        Returns :class:`IvsResult` (scalars give shape (1,)). Raises ValueError when the
        inputs do not broadcast to one shape of at most one dimension.
        """
        try:
            arrays = np.broadcast_arrays(
                *(np.asarray(a, np.float64) for a in (
                    host_x, host_y, host_speed, host_heading_deg, sign_x, sign_y,
                    path_distance_m, path_radius_m, path_heading_deg)),
                np.asarray(in_force, bool))
        except ValueError as exc:
            raise ValueError(f"IVS inputs do not share one shape (m,): {exc}") from exc
        if arrays[0].ndim > 1:
            raise ValueError(f"IVS inputs must be 1-d (m,), got shape {arrays[0].shape}")
        hx, hy, v, h, sx, sy, pd, pr, ph, force = (np.atleast_1d(a) for a in arrays)
        cfg = self.config
        dx, dy = sx - hx, sy - hy
        d = np.hypot(dx, dy)
        bearing = np.degrees(np.arctan2(dx, dy))  # clockwise from north
        has_path = np.isfinite(pd)
        with np.errstate(invalid="ignore", divide="ignore"):
            along = ~has_path | (np.abs(wrap_deg(h - ph)) <= cfg.max_heading_diff_deg)
            on_path = has_path & (pd <= pr) & along
            ahead = ((np.abs(wrap_deg(bearing - h)) <= cfg.max_bearing_deg)
                     & (d <= cfg.display_distance_m) & along)
            ttc = np.where(d == 0.0, 0.0, np.where(v > 0.0, d / np.where(v > 0.0, v, 1.0),
                                                   np.inf))
        return IvsResult(distance_m=d, along=along, on_path=on_path, ahead=ahead, ttc_s=ttc,
                         show=force & (on_path | ahead))
