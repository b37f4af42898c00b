"""Speed limit warning (SLW), vectorized over every (received RSI, speed-limit sign) pair.

T/CSAE 53-2020 Day-1 application SLW: an RSU broadcasts the speed limit of a road section as
a road traffic sign of its RSI; a host in that section driving faster is warned (STANDARDS.md
sections 1 and 4; SLW 1 Hz, latency <= 500 ms, to verify). The RSI's ASN.1 has no typed field
for the value: the limit is read from the sign's description ("限速40", "speed limit 40",
"40 km/h": :func:`~v2x.apps.speed_limit_kmh`); a sign without one is not a speed limit. The
rule here is ours. For every such sign of every RSI a host received:

1. **In force**: the sign's timeDetails (if any) hold the host's time now.
2. **In its section**: the host's front bumper lies within the ``pathRadius`` of one of the
   sign's reference paths, heading within ``max_heading_diff_deg`` of the nearest segment's
   direction (default 45 deg: the opposite carriageway is not in the section); a sign
   without a reference path covers ``point_radius_m`` around its position (default 30 m,
   our choice), whatever the heading.
3. **Too fast**: the host's speed exceeds the limit by more than ``tolerance_kmh``
   (default 0).

Every received RSI with a speed-limit sign is one assessment of its RSU (target = the RSU
node), carrying its most critical sign: a warning one first, then the lowest ``limit - speed``
[m/s] (criticality); ``gap_m`` = distance to the sign's position [m], ``ttc_s`` NaN.
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

__all__ = ["SlwConfig", "SlwResult", "SpeedLimitWarning"]

_RSI = MSG_TYPES.index("RSI")
_KMH = 1.0 / 3.6  # [m/s] per km/h


class SlwConfig(AppConfig):
    """``[applications.slw]``: speed limit warning (T/CSAE 53-2020 Day-1 SLW).

    Attributes:
        enabled: run the application (default True).
        tolerance_kmh: warn above the limit plus this [km/h]; default 0 (warn at any excess).
        max_heading_diff_deg: largest difference between the host's heading and the sign's
            reference path [deg]; default 45.
        point_radius_m: the section of a sign without a reference path: this far around its
            position [m]; default 30 (our choice).
        hold_s: a warning assessment stays valid this long without a newer RSI from its RSU
            [s]; default 2.0 (two static RSI periods of 1 s, T/CSAE 159 (to verify)).
    """

    tolerance_kmh: float = Field(0.0, ge=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(45.0, ge=0, le=180, allow_inf_nan=False)
    point_radius_m: float = Field(30.0, ge=0, allow_inf_nan=False)
    hold_s: float = Field(2.0, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class SlwResult:
    """Per (host, sign) evaluation; every field ``(m,)``.

    Attributes:
        in_section: bool, rule 2. excess_mps: float64 [m/s] speed - limit (NaN: no limit).
        warn: bool, rules 1, 2 and 3.
    """

    in_section: np.ndarray
    excess_mps: np.ndarray
    warn: np.ndarray


class SpeedLimitWarning:
    """The SLW rule of this module with its settings (``config``, default
    :class:`SlwConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "SLW"
    consumes: ClassVar[tuple[str, ...]] = ("RSI",)

    def __init__(self, config: SlwConfig | None = None) -> None:
        self.config = config if config is not None else SlwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)

    def __repr__(self) -> str:
        return f"SpeedLimitWarning({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """The rule on every speed-limit sign of every RSI a host received (see the module
        docstring); each distinct RSI frame of the window is decoded and projected once."""
        lk, st = window.links, window.hosts
        rsi = np.flatnonzero(lk.msg_type == _RSI)
        if rsi.size == 0:
            return Assessments.empty()
        tx, inverse = np.unique(lk.tx[rsi], return_inverse=True)
        items = rsi_items(window, tx, "signs")
        limits = np.flatnonzero(np.isfinite(items.limit_kmh))  # ascending frame
        per_frame = np.bincount(items.frame[limits], minlength=tx.size)
        first = np.concatenate([[0], np.cumsum(per_frame)[:-1]])
        count = per_frame[inverse]
        pair_link = np.repeat(np.arange(rsi.size), count)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        sign = limits[first[inverse][pair_link] + (np.arange(pair_link.size)
                                                   - start[pair_link])]
        host = lk.host[rsi][pair_link]
        hx, hy = st.x[host], st.y[host]
        path = path_distance(items, sign, hx, hy)
        now = window.start_utc_ns + window.t_ns[lk.step[rsi][pair_link]]
        r = self.evaluate(host_x=hx, host_y=hy, host_speed=st.speed[host],
                          host_heading_deg=st.heading_deg[host], sign_x=items.x[sign],
                          sign_y=items.y[sign], limit_kmh=items.limit_kmh[sign],
                          path_distance_m=path.distance_m, path_radius_m=path.radius_m,
                          path_heading_deg=path.heading_deg,
                          in_force=(items.start_utc_ns[sign] <= now)
                          & (now <= items.end_utc_ns[sign]))
        links = rsi[pair_link]
        found = Assessments(link=links, target=lk.sender[links], warn=r.warn,
                            criticality=-r.excess_mps, ttc_s=np.full(links.size, np.nan),
                            gap_m=np.hypot(items.x[sign] - hx, items.y[sign] - hy))
        return one_per_target(found, st.index[lk.host[links]], lk.step[links])

    def evaluate(self, *, host_x: npt.ArrayLike, host_y: npt.ArrayLike,
                 host_speed: npt.ArrayLike, host_heading_deg: npt.ArrayLike,
                 sign_x: npt.ArrayLike, sign_y: npt.ArrayLike, limit_kmh: npt.ArrayLike,
                 path_distance_m: npt.ArrayLike = np.inf,
                 path_radius_m: npt.ArrayLike = np.nan,
                 path_heading_deg: npt.ArrayLike = np.nan,
                 in_force: npt.ArrayLike = True) -> SlwResult:
        """The rule for ``m`` (host, sign) pairs at once.

        Args (keyword-only, each ``(m,)`` or a scalar broadcast):
            host_x, host_y: the host's front bumper [m, network]; host_speed [m/s];
                host_heading_deg [deg clockwise from north].
            sign_x, sign_y: the sign's position [m, network]; limit_kmh [km/h] (NaN: none).
            path_distance_m: [m] host to the sign's nearest reference path (inf: none);
                path_radius_m: its pathRadius [m]; path_heading_deg: that segment's
                direction [deg].
            in_force: bool, the sign's timeDetails hold now.

        Returns :class:`SlwResult` (scalars give shape (1,)). Raises ValueError when the
        inputs do not broadcast to one shape of at most one dimension.
        """
        try:
            arrays = np.broadcast_arrays(
                *(np.asarray(a, np.float64) for a in (
                    host_x, host_y, host_speed, host_heading_deg, sign_x, sign_y, limit_kmh,
                    path_distance_m, path_radius_m, path_heading_deg)),
                np.asarray(in_force, bool))
        except ValueError as exc:
            raise ValueError(f"SLW inputs do not share one shape (m,): {exc}") from exc
        if arrays[0].ndim > 1:
            raise ValueError(f"SLW inputs must be 1-d (m,), got shape {arrays[0].shape}")
        hx, hy, v, h, sx, sy, lim, pd, pr, ph, force = (np.atleast_1d(a) for a in arrays)
        cfg = self.config
        with np.errstate(invalid="ignore"):
            on_path = (pd <= pr) & (np.abs(wrap_deg(h - ph)) <= cfg.max_heading_diff_deg)
            near_point = np.isinf(pd) & (np.hypot(sx - hx, sy - hy) <= cfg.point_radius_m)
            in_section = on_path | near_point
            excess = v - lim * _KMH
            warn = force & in_section & (excess > cfg.tolerance_kmh * _KMH)
        return SlwResult(in_section=in_section, excess_mps=excess, warn=warn)
