"""Traffic jam warning (TJW), vectorized over received RSI events and received BSMs.

Day-1 application TJW (T/CSAE 53-2020; test method DB50/T 1572-2024, STANDARDS.md sections 4
and 7; TJW 1 Hz, latency <= 500 ms, to verify): a host driving towards a traffic jam ahead on
its road is warned, so its driver slows down in time. The standard leaves open where the
jam is known from; this module has both sources, each switched by a key, and the rule is
ours:

**From RSI** (``use_rsi``): an RSU announces the jam as a road traffic event whose eventType
(GB/T 29100 code) is one of ``event_types`` (default 707, the code the testbed's scenarios
use for a jam, to verify against GB/T 29100). For every such event of every RSI a host
received: the event is in force (timeDetails) and either the host's front bumper lies within
its ``eventRadius`` (or within the pathRadius of one of its reference paths) and the host is
still faster than ``jam_speed_kmh`` (it drives into the jam), or the event's position is
ahead, its bearing within ``max_bearing_deg`` (default 30 deg) of the host's heading, at most
``warn_distance_m`` away (default 300 m: the upper end of the Day-1 range, a jam needs more
room than a hazard; to verify). An event on another road that leaves the cone is not ahead.
A scenario's RSI event has a position and a radius but no direction, so an event on the
opposite carriageway of the same road would warn: cases put "another road" on a crossing
road.

**From BSMs** (``use_bsm``): the host detects the jam itself from the BSMs it received: a
remote vehicle is *queued ahead* when it is ahead along the host's heading
(``0 < longitudinal <= bsm_range_m``, default 300 m), within ``max_lateral_m`` of the host's
line (default 5.25 m: the host's lane and one lane on either side, as EBW), heading within
``max_heading_diff_deg`` (default 45 deg) of the host's (same direction) and slower than
``jam_speed_kmh`` (default 10 km/h; GB/T 33171 counts urban traffic below 10-20 km/h as
severe congestion, to verify). A host with at least ``min_queued`` (default 3, our choice:
one slow vehicle is a stopped vehicle, AVW's business) queued vehicles ahead in one step sees
a jam.

A host at or below ``jam_speed_kmh`` is in the jam already and is not warned. Assessments:
one per received RSI with a jam event (target = the RSU node; its most critical event: a
warning one first, then the nearest), and one per received BSM of a queued vehicle (target =
that vehicle; warn = the host sees a jam at that step); ``gap_m`` = distance to the event's
position or to the queued vehicle [m], ``ttc_s`` = that distance / the host's speed,
criticality = ``gap_m``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field, StrictInt

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._rsi_view import link_items, path_distance, wrap_deg
from v2x.apps._targets import one_per_target
from v2x.msgset import MSG_TYPES

__all__ = ["TjwConfig", "TjwResult", "TrafficJamWarning"]

_RSI, _BSM = MSG_TYPES.index("RSI"), MSG_TYPES.index("BSM")
_KMH = 1.0 / 3.6  # [m/s] per km/h


class TjwConfig(AppConfig):
    """``[applications.tjw]``: traffic jam warning (DB50/T 1572-2024 TJW).

    Attributes:
        enabled: run the application (default True).
        use_rsi: warn of RSI jam events (default True). use_bsm: detect jams from received
            BSMs (default True).
        event_types: GB/T 29100 eventType codes that mean a traffic jam; default (707,)
            (to verify).
        warn_distance_m: warn of a jam event ahead within this distance [m]; default 300
            (T/CSAE 53 Day-1 range 150..300 m, to verify).
        max_bearing_deg: "ahead" cone of an event [deg]; default 30 (as HLW).
        jam_speed_kmh: a vehicle slower than this is in a jam [km/h]; default 10 (GB/T 33171
            severe congestion, to verify).
        min_queued: queued vehicles ahead that make a jam (BSM source); default 3 (ours).
        bsm_range_m: how far ahead a queued vehicle counts [m]; default 300.
        max_lateral_m: lateral reach of "ahead" for BSMs [m]; default 5.25 (1.5 lanes of
            3.5 m, as EBW).
        max_heading_diff_deg: same direction = headings within this [deg]; default 45.
        hold_s: a warning assessment stays valid this long without a newer message from its
            sender [s]; default 1.0 (ten BSM periods; two semi-static RSI periods).
    """

    use_rsi: bool = True
    use_bsm: bool = True
    # a TOML list becomes the tuple (strict mode refuses lists); the codes stay strict ints
    event_types: Annotated[tuple[StrictInt, ...], Field(strict=False)] = Field(
        (707,), min_length=1)
    warn_distance_m: float = Field(300.0, gt=0, allow_inf_nan=False)
    max_bearing_deg: float = Field(30.0, ge=0, le=180, allow_inf_nan=False)
    jam_speed_kmh: float = Field(10.0, gt=0, allow_inf_nan=False)
    min_queued: int = Field(3, ge=1)
    bsm_range_m: float = Field(300.0, gt=0, allow_inf_nan=False)
    max_lateral_m: float = Field(5.25, ge=0, allow_inf_nan=False)
    max_heading_diff_deg: float = Field(45.0, ge=0, le=180, allow_inf_nan=False)
    hold_s: float = Field(1.0, gt=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class TjwResult:
    """Per (host, jam event) or (host, remote) evaluation; every field ``(m,)``.

    Attributes:
        distance_m: float64 [m] host front bumper to the event's position / the remote.
        ahead: bool, the jam lies ahead (event: in the cone and range, or the host inside
            its zone; remote: queued ahead, see the module docstring).
        ttc_s: float64 [s] distance / host speed (inf at standstill).
        warn: bool, the rule's outcome (for remotes: the host's count reaches min_queued).
    """

    distance_m: np.ndarray
    ahead: np.ndarray
    ttc_s: np.ndarray
    warn: np.ndarray


class TrafficJamWarning:
    """The TJW rule of this module with its settings (``config``, default
    :class:`TjwConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "TJW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM", "RSI")

    def __init__(self, config: TjwConfig | None = None) -> None:
        self.config = config if config is not None else TjwConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)
        self._types = np.array(sorted(set(self.config.event_types)), np.int64)

    def __repr__(self) -> str:
        return f"TrafficJamWarning({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """Both sources on every received RSI jam event and BSM (the module docstring)."""
        parts = []
        if self.config.use_rsi:
            parts.append(self._assess_rsi(window))
        if self.config.use_bsm:
            parts.append(self._assess_bsm(window))
        parts = [p for p in parts if p.n]
        if not parts:
            return Assessments.empty()
        return Assessments(*(np.concatenate([getattr(p, f) for p in parts])
                             for f in Assessments.__dataclass_fields__))

    def _assess_rsi(self, window: AppWindow) -> Assessments:
        pairs = link_items(window, _RSI, "events",
                           keep=lambda items: np.isin(items.item_type, self._types))
        if pairs is None or pairs.n == 0:
            return Assessments.empty()
        st, items, it = window.hosts, pairs.items, pairs.item
        hx, hy = st.x[pairs.host], st.y[pairs.host]
        path = path_distance(items, it, hx, hy)
        r = self.evaluate_events(
            host_x=hx, host_y=hy, host_speed=st.speed[pairs.host],
            host_heading_deg=st.heading_deg[pairs.host], event_x=items.x[it],
            event_y=items.y[it], event_radius_m=items.radius_m[it],
            path_distance_m=path.distance_m, path_radius_m=path.radius_m,
            in_force=pairs.in_force)
        found = Assessments(link=pairs.link, target=window.links.sender[pairs.link],
                            warn=r.warn, criticality=r.distance_m, ttc_s=r.ttc_s,
                            gap_m=r.distance_m)
        return one_per_target(found, st.index[pairs.host], window.links.step[pairs.link])

    def _assess_bsm(self, window: AppWindow) -> Assessments:
        lk, st, b = window.links, window.hosts, window.bsm
        rows = np.flatnonzero(lk.msg_type == _BSM)
        if rows.size == 0:
            return Assessments.empty()
        host, msg = lk.host[rows], lk.msg[rows]
        r = self.evaluate_queue(host=host, host_x=st.x[host], host_y=st.y[host],
                                host_speed=st.speed[host],
                                host_heading_deg=st.heading_deg[host], remote_x=b.x[msg],
                                remote_y=b.y[msg], remote_speed=b.speed[msg],
                                remote_heading_deg=b.heading_deg[msg])
        keep = np.flatnonzero(r.ahead)  # only queued vehicles are assessed
        return Assessments(link=rows[keep], target=lk.sender[rows[keep]], warn=r.warn[keep],
                           criticality=r.distance_m[keep], ttc_s=r.ttc_s[keep],
                           gap_m=r.distance_m[keep])

    def evaluate_events(self, *, host_x: npt.ArrayLike, host_y: npt.ArrayLike,
                        host_speed: npt.ArrayLike, host_heading_deg: npt.ArrayLike,
                        event_x: npt.ArrayLike, event_y: npt.ArrayLike,
                        event_radius_m: npt.ArrayLike = np.nan,
                        path_distance_m: npt.ArrayLike = np.inf,
                        path_radius_m: npt.ArrayLike = np.nan,
                        in_force: npt.ArrayLike = True) -> TjwResult:
        """The RSI rule for ``m`` (host, jam event) pairs (each ``(m,)`` or a scalar):
        host front bumper [m], speed [m/s], heading [deg]; the event's position [m] and
        eventRadius [m] (NaN: none); distance to its nearest reference path [m] (inf: none)
        and its pathRadius [m]; whether it is in force. Returns :class:`TjwResult`; raises
        ValueError when the inputs do not broadcast to one 1-d shape."""
        hx, hy, v, h, ex, ey, rad, pd, pr, force = _one_shape(
            "TJW", (host_x, host_y, host_speed, host_heading_deg, event_x, event_y,
                    event_radius_m, path_distance_m, path_radius_m), in_force)
        cfg = self.config
        dx, dy = ex - hx, ey - hy
        d = np.hypot(dx, dy)
        bearing = np.degrees(np.arctan2(dx, dy))
        with np.errstate(invalid="ignore"):
            inside = (d <= np.where(np.isnan(rad), 0.0, rad)) | (pd <= pr)
            ahead = ((np.abs(wrap_deg(bearing - h)) <= cfg.max_bearing_deg)
                     & (d <= cfg.warn_distance_m)) | inside
        moving = v > cfg.jam_speed_kmh * _KMH
        return TjwResult(distance_m=d, ahead=ahead, ttc_s=_ttc(d, v),
                         warn=force & ahead & moving)

    def evaluate_queue(self, *, host: npt.ArrayLike, host_x: npt.ArrayLike,
                       host_y: npt.ArrayLike, host_speed: npt.ArrayLike,
                       host_heading_deg: npt.ArrayLike, remote_x: npt.ArrayLike,
                       remote_y: npt.ArrayLike, remote_speed: npt.ArrayLike,
                       remote_heading_deg: npt.ArrayLike) -> TjwResult:
        """The BSM rule for ``m`` (host, received BSM) pairs (each ``(m,)``): ``host`` int,
        one value per host *and step* (e.g. the row in ``AppWindow.hosts``: the count of
        queued vehicles is taken per value); positions [m], speeds [m/s], headings [deg] of
        the host and of the BSM's sender. ``ahead`` = the sender is queued ahead; ``warn`` =
        ahead and the host's count reaches ``min_queued`` and the host is faster than
        ``jam_speed_kmh``. Returns :class:`TjwResult`."""
        hx, hy, v, h, rx, ry, rv, rh = _one_shape(
            "TJW", (host_x, host_y, host_speed, host_heading_deg, remote_x, remote_y,
                    remote_speed, remote_heading_deg), True)[:-1]
        who = np.broadcast_to(np.asarray(host, np.int64), hx.shape)
        cfg = self.config
        rad = np.radians(h)
        dx, dy = rx - hx, ry - hy
        along = dx * np.sin(rad) + dy * np.cos(rad)  # [m] ahead of the host
        lateral = dx * np.cos(rad) - dy * np.sin(rad)  # [m] to the host's right
        jam_v = cfg.jam_speed_kmh * _KMH
        with np.errstate(invalid="ignore"):
            ahead = ((along > 0.0) & (along <= cfg.bsm_range_m)
                     & (np.abs(lateral) <= cfg.max_lateral_m)
                     & (np.abs(wrap_deg(rh - h)) <= cfg.max_heading_diff_deg) & (rv < jam_v))
        _, inv = np.unique(who, return_inverse=True)
        queued: np.ndarray = np.bincount(inv, weights=ahead.astype(np.float64),
                                         minlength=1)[inv]
        d = np.hypot(dx, dy)
        return TjwResult(distance_m=d, ahead=ahead, ttc_s=_ttc(d, v),
                         warn=ahead & (queued >= cfg.min_queued) & (v > jam_v))


def _ttc(d: np.ndarray, v: np.ndarray) -> np.ndarray:
    """distance / speed [s]: 0 at the position, inf at standstill."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(d == 0.0, 0.0,
                                   np.where(v > 0.0, d / np.where(v > 0.0, v, 1.0), np.inf))
    return out


def _one_shape(app: str, floats: tuple[npt.ArrayLike, ...],
               flag: npt.ArrayLike) -> list[np.ndarray]:
    """``floats`` as float64 and ``flag`` as bool, broadcast to one (m,) shape."""
    try:
        arrays = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in floats),
                                     np.asarray(flag, bool))
    except ValueError as exc:
        raise ValueError(f"{app} inputs do not share one shape (m,): {exc}") from exc
    if arrays[0].ndim > 1:
        raise ValueError(f"{app} inputs must be 1-d (m,), got shape {arrays[0].shape}")
    return [np.atleast_1d(a) for a in arrays]
