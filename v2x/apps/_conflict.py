"""Path and conflict-point prediction shared by the crossing-path applications (ICW, LTA,
VRUCW): where two road users' paths cross, when each occupies the crossing, and the
predicted post-encroachment time (PET) of the two.

Model (our choices; T/CSAE 53-2020 describes the applications, not a prediction formula):

* **Path**: a straight line from the road user's reference point along its heading (what its
  BSM or RSM says: position, heading, speed, longitudinal acceleration). Positions are
  front-bumper centres (SUMO's and the BSM's convention; an RSM participant's reported centre
  is moved half its length ahead by the caller).
* **Motion along the path**: the current speed, less any braking (a negative longitudinal
  acceleration, constant until a standstill; :func:`time_to_travel`), so a vehicle braking to
  stop before the crossing never reaches it: the BSM's ``accelSet.long`` tells a remote that
  stops at its stop line from one that runs through. A positive acceleration is not
  extrapolated (a vehicle pulling away from a stop would otherwise be predicted at the
  crossing within seconds; a speed limit ends any acceleration): constant speed, as the
  J2945/1 path prediction (to verify).
* **Conflict point**: where the two lines cross (:func:`crossing_point`); paths that cross at
  less than a given angle (following, merging, oncoming) have none here.
* **Occupancy**: a road user occupies the crossing from when its front reaches it, less half
  the other's width measured along its own path (``w / |sin angle|``), until its rear has
  left it, plus that half width: ``[d - e, d + L + e]`` along its path, ``e = w_other / (2
  |sin angle|)`` (:func:`occupancy`).
* **Predicted PET**: the time from one leaving the crossing to the other entering it,
  ``max(t_in_b - t_out_a, t_in_a - t_out_b)``; negative when the occupancies overlap (a
  predicted collision), ``+inf`` when one of them never gets there or has already left
  (:func:`predicted_pet`). STANDARDS.md section 5 defines PET on trajectories; this is its
  prediction from the received state.

What the applications know of a junction from the MAPs their hosts received is kept by
:class:`~v2x.apps.HeardMaps` (:mod:`v2x.apps._heard_maps`).

Geometry as :mod:`v2x.apps._fcw`: x east, y north [m]; headings [deg] clockwise from north,
direction ``(sin h, cos h)``. Every function takes and returns ``(m,)`` float64 arrays (or
scalars broadcast); NaN inputs give "no conflict" (inf times, NaN distances).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Crossing", "Occupancy", "crossing_point", "occupancy", "predicted_pet",
           "time_to_travel", "to_frame"]


def _f(a: npt.ArrayLike) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def time_to_travel(distance_m: npt.ArrayLike, speed_mps: npt.ArrayLike,
                   accel_mps2: npt.ArrayLike = 0.0) -> np.ndarray:
    """Time to travel ``distance_m`` along the path from ``speed_mps`` braking at a constant
    ``accel_mps2`` (< 0) until a standstill; a positive acceleration counts as 0 (constant
    speed; see the module docstring).

    ``t = 2 d / (v + sqrt(v² + 2 a d))`` (the root of ``d = v t + a t² / 2``, in the form that
    stays exact at ``a = 0``: ``d / v``): 0 where ``d <= 0``; ``+inf`` where the road user
    stops first (``v² + 2 a d < 0``) or stands. A negative speed is taken as 0; a NaN
    acceleration (unavailable) as 0. NaN distance or speed: ``+inf``.

    Returns ``(m,)`` float64 [s].
    """
    d, v, a = np.broadcast_arrays(_f(distance_m), np.maximum(_f(speed_mps), 0.0),
                                  np.minimum(np.nan_to_num(_f(accel_mps2), nan=0.0), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = v * v + 2.0 * a * d
        t = 2.0 * d / (v + np.sqrt(disc))
        t = np.where((disc < 0.0) | ~np.isfinite(t) | (t < 0.0), np.inf, t)
        t = np.where(d <= 0.0, 0.0, t)
    return np.where(np.isnan(d) | np.isnan(v), np.inf, t)


def to_frame(dx_m: npt.ArrayLike, dy_m: npt.ArrayLike,
             heading_deg: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """An offset ``(dx, dy)`` [m] seen from a road user heading ``heading_deg``:
    ``(longitudinal, lateral)`` [m], ahead positive and to its right positive."""
    h = np.radians(_f(heading_deg))
    s, c = np.sin(h), np.cos(h)
    dx, dy = _f(dx_m), _f(dy_m)
    return dx * s + dy * c, dx * c - dy * s


@dataclass(frozen=True, slots=True)
class Crossing:
    """Where two straight paths cross: ``(m,)`` each.

    Attributes:
        a_m: float64 [m] from road user a's reference point along its heading to the
            crossing (negative: behind it); NaN where there is none.
        b_m: float64 [m] the same for b.
        sin_angle: float64 ``|sin|`` of the angle between the headings (0 parallel).
        found: bool, the paths cross at ``|sin angle| >= min_sin`` (inputs finite).
    """

    a_m: np.ndarray
    b_m: np.ndarray
    sin_angle: np.ndarray
    found: np.ndarray


def crossing_point(ax: npt.ArrayLike, ay: npt.ArrayLike, a_heading_deg: npt.ArrayLike,
                   bx: npt.ArrayLike, by: npt.ArrayLike, b_heading_deg: npt.ArrayLike, *,
                   min_angle_deg: float = 30.0) -> Crossing:
    """The crossing of the lines through ``(ax, ay)`` along ``a_heading_deg`` and through
    ``(bx, by)`` along ``b_heading_deg`` (all ``(m,)``, [m], [deg]).

    With unit directions ``u_a``, ``u_b`` and ``r = b - a``: ``a + s u_a = b + t u_b``, so
    ``s = cross(r, u_b) / cross(u_a, u_b)`` and ``t = cross(r, u_a) / cross(u_a, u_b)``
    (``cross(p, q) = p_x q_y - p_y q_x``). Paths crossing at less than ``min_angle_deg``
    (0..90; near-parallel, following or oncoming) have none (``found`` False, NaN
    distances).
    """
    ha, hb = np.radians(_f(a_heading_deg)), np.radians(_f(b_heading_deg))
    uax, uay, ubx, uby = np.sin(ha), np.cos(ha), np.sin(hb), np.cos(hb)
    rx, ry = _f(bx) - _f(ax), _f(by) - _f(ay)
    den = uax * uby - uay * ubx  # sin of the angle from a to b (signed)
    sin_angle = np.abs(den)
    with np.errstate(invalid="ignore", divide="ignore"):
        found = (sin_angle >= np.sin(np.radians(min_angle_deg))) & np.isfinite(rx + ry)
        safe = np.where(found, den, 1.0)
        s = np.where(found, (rx * uby - ry * ubx) / safe, np.nan)
        t = np.where(found, (rx * uay - ry * uax) / safe, np.nan)
    return Crossing(a_m=s, b_m=t, sin_angle=sin_angle, found=found)


@dataclass(frozen=True, slots=True)
class Occupancy:
    """When a road user occupies a crossing: ``(m,)`` float64 [s] each, from now.

    Attributes:
        t_in: its front reaches the crossing (0: it is in it already).
        t_out: its rear has left it (``+inf``: it stops in it or never gets there).
        gone: bool, it has left the crossing already (or never gets there).
    """

    t_in: np.ndarray
    t_out: np.ndarray
    gone: np.ndarray


def occupancy(distance_m: npt.ArrayLike, length_m: npt.ArrayLike, extent_m: npt.ArrayLike,
              speed_mps: npt.ArrayLike, accel_mps2: npt.ArrayLike = 0.0) -> Occupancy:
    """When a road user whose front is ``distance_m`` before a crossing (``(m,)`` [m]; < 0
    past it) occupies it: from travelling ``distance_m - extent_m`` until ``distance_m +
    length_m + extent_m`` (``extent_m``: half the other's width along this path [m]), at
    ``speed_mps`` with ``accel_mps2`` (:func:`time_to_travel`).

    ``gone`` where its rear is past the far edge already (nothing ahead to predict), or where
    it never reaches the near edge (stops before the crossing)."""
    d, length, ext = _f(distance_m), _f(length_m), _f(extent_m)
    t_in = time_to_travel(d - ext, speed_mps, accel_mps2)
    t_out = time_to_travel(d + length + ext, speed_mps, accel_mps2)
    with np.errstate(invalid="ignore"):
        passed = (d + length + ext) <= 0.0
    gone = passed | np.isinf(t_in) | np.isnan(d)
    return Occupancy(t_in=t_in, t_out=t_out, gone=gone)


def predicted_pet(a: Occupancy, b: Occupancy) -> np.ndarray:
    """The predicted post-encroachment time of two occupancies of one crossing, ``(m,)``
    float64 [s]: ``max(b.t_in - a.t_out, a.t_in - b.t_out)``, negative when they overlap,
    ``+inf`` where either is gone. An occupancy without an end (``t_out`` inf: it stops in
    the crossing) overlaps every later one."""
    with np.errstate(invalid="ignore"):
        pet = np.maximum(b.t_in - a.t_out, a.t_in - b.t_out)
    return np.where(a.gone | b.gone, np.inf, pet)

