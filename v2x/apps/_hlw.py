"""Hazardous location warning (HLW), vectorized over every (received RSI, event) pair.

T/CSAE 53-2020 Day-1 application HLW: an RSU announces a hazard (road works, a slippery
section, an accident, ...) as a road traffic event of its RSI (STANDARDS.md sections 1 and 4);
a host in the hazard's zone, or driving towards it, is warned. The standard describes the
application and its performance (range 150..300 m, 10 Hz, latency <= 100 ms; to verify), not
one formula; the rule here is ours. For every event of every RSI a host received:

1. **In force**: the event's timeDetails (if any) hold the host's time now.
2. **In the zone**: the host's front bumper lies within ``eventRadius`` of the event's
   position, or within the ``pathRadius`` of one of its reference paths (an event without a
   position is at the RSI's ``refPos``, our reading).
3. **Or approaching**: the event's position is ahead, its bearing from the host within
   ``max_bearing_deg`` of the host's heading (default 30 deg, our choice: a hazard on a
   gently bending road stays in the cone), and at most ``warn_distance_m`` away (default
   150 m: the lower end of the 150..300 m range of the Day-1 safety applications,
   STANDARDS.md section 4, to verify).
4. **Warn** on 1 and (2 or 3).

Every received RSI with at least one event is one assessment of its RSU (target = the RSU
node), carrying its most critical event: a warning one first, then the nearest;
``gap_m`` = the distance to the event's position [m], ``ttc_s`` = that distance / the host's
speed (inf at standstill), criticality = the distance. An RSI without events assesses nothing
(a frame of signs alone does not end a hazard of the same RSU). Several RSIs of one RSU in one
step (more than 8 events) give one assessment, the most critical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._rsi_view import path_distance, rsi_items, wrap_deg
from v2x.apps._targets import one_per_target
from v2x.msgset import MSG_TYPES

__all__ = ["HazardousLocationWarning", "HlwConfig", "HlwResult"]

_RSI = MSG_TYPES.index("RSI")


class HlwConfig(AppConfig):
    """``[applications.hlw]``: hazardous location warning (T/CSAE 53-2020 Day-1 HLW).

    Attributes:
        enabled: run the application (default True).
        warn_distance_m: warn of an event ahead within this distance of its position [m];
            default 150 (T/CSAE 53 Day-1 range 150..300 m, STANDARDS.md section 4, to verify).
        max_bearing_deg: "ahead" = the event's bearing within this of the host's heading
            [deg]; default 30 (our choice).
        hold_s: a warning assessment stays valid this long without a newer RSI from its RSU
            [s]; default 1.0 (two semi-static RSI periods of 500 ms, T/CSAE 159 (to verify):
            one lost RSI does not end a warning; our choice).
    """

    warn_distance_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    max_bearing_deg: float = Field(30.0, ge=0, le=180, allow_inf_nan=False)
    hold_s: float = Field(1.0, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class HlwResult:
    """Per (host, event) evaluation; every field ``(m,)``.

    Attributes:
        distance_m: float64 [m] host front bumper to the event's position.
        inside: bool, rule 2 (in the event's disc or reference-path corridor).
        ahead: bool, rule 3 (approaching within ``warn_distance_m``).
        ttc_s: float64 [s] distance / host speed (inf at standstill, 0 at the position).
        warn: bool, rules 1 and (2 or 3).
    """

    distance_m: np.ndarray
    inside: np.ndarray
    ahead: np.ndarray
    ttc_s: np.ndarray
    warn: np.ndarray


class HazardousLocationWarning:
    """The HLW rule of this module with its settings (``config``, default
    :class:`HlwConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "HLW"
    consumes: ClassVar[tuple[str, ...]] = ("RSI",)

    def __init__(self, config: HlwConfig | None = None) -> None:
        self.config = config if config is not None else HlwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def __repr__(self) -> str:
        return f"HazardousLocationWarning({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """The rule on every event of every RSI a host received (see the module docstring);
        each distinct RSI frame of the window is decoded and projected once."""
        lk, st = window.links, window.hosts
        rsi = np.flatnonzero(lk.msg_type == _RSI)
        if rsi.size == 0:
            return Assessments.empty()
        tx, inverse = np.unique(lk.tx[rsi], return_inverse=True)
        items = rsi_items(window, tx, "events")
        per_frame = np.bincount(items.frame, minlength=tx.size)
        first_item = np.concatenate([[0], np.cumsum(per_frame)[:-1]])
        count = per_frame[inverse]  # events of each link's frame
        pair_link = np.repeat(np.arange(rsi.size), count)  # (p,) row into rsi
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        item = first_item[inverse][pair_link] + (np.arange(pair_link.size) - start[pair_link])
        host = lk.host[rsi][pair_link]
        hx, hy = st.x[host], st.y[host]
        path = path_distance(items, item, hx, hy)
        now = window.start_utc_ns + window.t_ns[lk.step[rsi][pair_link]]
        r = self.evaluate(host_x=hx, host_y=hy, host_speed=st.speed[host],
                          host_heading_deg=st.heading_deg[host], event_x=items.x[item],
                          event_y=items.y[item], event_radius_m=items.radius_m[item],
                          path_distance_m=path.distance_m, path_radius_m=path.radius_m,
                          in_force=(items.start_utc_ns[item] <= now)
                          & (now <= items.end_utc_ns[item]))
        links = rsi[pair_link]
        found = Assessments(link=links, target=lk.sender[links], warn=r.warn,
                            criticality=r.distance_m, ttc_s=r.ttc_s, gap_m=r.distance_m)
        return one_per_target(found, st.index[lk.host[links]], lk.step[links])

    def evaluate(self, *, host_x: npt.ArrayLike, host_y: npt.ArrayLike,
                 host_speed: npt.ArrayLike, host_heading_deg: npt.ArrayLike,
                 event_x: npt.ArrayLike, event_y: npt.ArrayLike,
                 event_radius_m: npt.ArrayLike, path_distance_m: npt.ArrayLike = np.inf,
                 path_radius_m: npt.ArrayLike = np.nan,
                 in_force: npt.ArrayLike = True) -> HlwResult:
        """The rule for ``m`` (host, event) pairs at once.

        Args (keyword-only, each ``(m,)`` or a scalar broadcast):
            host_x, host_y: the host's front bumper [m, network]; host_speed [m/s];
                host_heading_deg [deg clockwise from north].
            event_x, event_y: the event's position [m, network]; event_radius_m: its
                eventRadius [m] (NaN: absent, a point: only its position is in it).
            path_distance_m: [m] host to the event's nearest reference path (inf: none);
                path_radius_m: that path's pathRadius [m] (NaN: none).
            in_force: bool, the event's timeDetails hold now.

        Returns :class:`HlwResult` (scalars give shape (1,)). Raises ValueError when the
        inputs do not broadcast to one shape of at most one dimension.
        """
        try:
            hx, hy, v, h, ex, ey, rad, pd, pr, force = np.broadcast_arrays(
                *(np.asarray(a, np.float64) for a in (
                    host_x, host_y, host_speed, host_heading_deg, event_x, event_y,
                    event_radius_m, path_distance_m, path_radius_m)),
                np.asarray(in_force, bool))
        except ValueError as exc:
            raise ValueError(f"HLW inputs do not share one shape (m,): {exc}") from exc
        if hx.ndim > 1:
            raise ValueError(f"HLW inputs must be 1-d (m,), got shape {hx.shape}")
        hx, hy, v, h, ex, ey, rad, pd, pr, force = (
            np.atleast_1d(a) for a in (hx, hy, v, h, ex, ey, rad, pd, pr, force))
        cfg = self.config
        dx, dy = ex - hx, ey - hy
        d = np.hypot(dx, dy)
        bearing = np.degrees(np.arctan2(dx, dy))  # clockwise from north
        with np.errstate(invalid="ignore", divide="ignore"):
            inside = (d <= np.where(np.isnan(rad), 0.0, rad)) | (pd <= pr)
            ahead = ((np.abs(wrap_deg(bearing - h)) <= cfg.max_bearing_deg)
                     & (d <= cfg.warn_distance_m))
            ttc = np.where(d == 0.0, 0.0, np.where(v > 0.0, d / np.where(v > 0.0, v, 1.0),
                                                   np.inf))
        return HlwResult(distance_m=d, inside=inside, ahead=ahead, ttc_s=ttc,
                         warn=force & (inside | ahead))
