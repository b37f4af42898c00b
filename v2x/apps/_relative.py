"""Where a remote vehicle is, seen from a host: the geometry the V2V applications share (BSW,
LCW, DNPW, CLW, AVW, EVW), vectorized over links.

Network x east, y north [m]; headings in degrees clockwise from north (SUMO and the message
set), so the unit vector of heading ``h`` is ``(sin h, cos h)`` and the one to its right
``(cos h, -sin h)``. Positions are front-bumper centres (SUMO's convention, and what our OBUs
send). NaN in an input gives NaN offsets, and every comparison with NaN is False: such a link
never warns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from v2x.apps._base import AppWindow
from v2x.msgset import MSG_TYPES

__all__ = ["BsmLinks", "Relative", "bsm_links", "relative", "relative_of"]

_BSM = MSG_TYPES.index("BSM")


@dataclass(frozen=True, slots=True)
class Relative:
    """The remote's offsets in the host's frame; (m,) float64 each.

    Attributes:
        longitudinal_m: [m] the remote's front bumper ahead (> 0) or behind (< 0) the host's,
            along the host's heading.
        lateral_m: [m] to the host's right (> 0) or left (< 0).
        distance_m: [m] straight-line distance between the front bumpers.
        heading_diff_deg: [deg] 0..180, the wrapped difference of the headings (0 same
            direction, 180 oncoming).
        range_rate_mps: [m/s] d(distance)/dt from both velocities (< 0: approaching).
    """

    longitudinal_m: np.ndarray
    lateral_m: np.ndarray
    distance_m: np.ndarray
    heading_diff_deg: np.ndarray
    range_rate_mps: np.ndarray


def relative(*, ego_x: npt.ArrayLike, ego_y: npt.ArrayLike, ego_heading_deg: npt.ArrayLike,
             ego_speed: npt.ArrayLike, remote_x: npt.ArrayLike, remote_y: npt.ArrayLike,
             remote_heading_deg: npt.ArrayLike, remote_speed: npt.ArrayLike) -> Relative:
    """The remote's offsets from the host (each argument (m,) or a scalar; [m], [deg],
    [m/s]).

    Raises ValueError when the inputs do not broadcast to one 1-d shape.
    """
    try:
        ex, ey, eh, ev, rx, ry, rh, rv = np.broadcast_arrays(*(
            np.atleast_1d(np.asarray(a, np.float64)) for a in (
                ego_x, ego_y, ego_heading_deg, ego_speed, remote_x, remote_y,
                remote_heading_deg, remote_speed)))
    except ValueError as exc:
        raise ValueError(f"inputs do not share one shape (m,): {exc}") from exc
    if ex.ndim != 1:
        raise ValueError(f"inputs must be 1-d (m,), got shape {ex.shape}")
    h, hr = np.radians(eh), np.radians(rh)
    sin_h, cos_h = np.sin(h), np.cos(h)
    dx, dy = rx - ex, ry - ey
    distance = np.hypot(dx, dy)
    dvx = rv * np.sin(hr) - ev * sin_h
    dvy = rv * np.cos(hr) - ev * cos_h
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(distance > 0, (dx * dvx + dy * dvy) / distance, 0.0)
    return Relative(longitudinal_m=dx * sin_h + dy * cos_h, lateral_m=dx * cos_h - dy * sin_h,
                    distance_m=distance,
                    heading_diff_deg=np.abs((rh - eh + 180.0) % 360.0 - 180.0),
                    range_rate_mps=rate)


@dataclass(frozen=True, slots=True)
class BsmLinks:
    """The BSM links of a window within a range: ``link`` (k,) rows of ``window.links``,
    ``bsm`` (k,) rows of ``window.bsm``, ``host`` (k,) rows of ``window.hosts``."""

    link: np.ndarray
    bsm: np.ndarray
    host: np.ndarray


def bsm_links(window: AppWindow, range_m: float) -> BsmLinks:
    """The window's received BSM links whose sender was within ``range_m`` [m]."""
    lk = window.links
    cand = np.flatnonzero((lk.msg_type == _BSM) & (lk.distance_m <= range_m))
    return BsmLinks(link=cand, bsm=lk.msg[cand], host=lk.host[cand])


def relative_of(window: AppWindow, links: BsmLinks) -> Relative:
    """:func:`relative` of each link's sender (decoded BSM) from its host (own state)."""
    st, bsm = window.hosts, window.bsm
    e, b = links.host, links.bsm
    return relative(ego_x=st.x[e], ego_y=st.y[e], ego_heading_deg=st.heading_deg[e],
                    ego_speed=st.speed[e], remote_x=bsm.x[b], remote_y=bsm.y[b],
                    remote_heading_deg=bsm.heading_deg[b], remote_speed=bsm.speed[b])
