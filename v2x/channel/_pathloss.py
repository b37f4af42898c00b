"""Median path loss by model name, with checked inputs (SI units; carrier in GHz).

Models (distances in m, fc in GHz; every function takes and returns (m,) float64):

- ``winner-b1`` -- WINNER+ B1 as adopted by 3GPP TR 36.885 (Table A.1.4-1) for V2V, LOS:
  ``22.7 log10(d) + 27.0 + 20 log10(fc)`` for ``d < d_BP`` and
  ``40 log10(d) + 7.56 - 17.3 log10(h'1) - 17.3 log10(h'2) + 2.7 log10(fc)`` beyond the
  breakpoint ``d_BP = 4 h'1 h'2 fc / c`` (effective heights ``h' = h - h_env``; TR 36.885 uses
  ``h_env = 1 m``, the public Gonzalez-Martin et al. 2019 code ``h_env = 0``), never below free
  space, distance floored at 3 m. With 1.5 m antennas, ``h_env = 0`` and 5.91 GHz:
  d_BP = 4 * 1.5 * 1.5 * 5.91e9 / 3e8 = 177.3 m (c rounded to 3e8 m/s as in TR 36.885).
- ``free-space`` -- Friis: ``20 log10(d) + 20 log10(fc) + 32.45`` (fc in GHz, d in m;
  32.45 = 20 log10(4 pi 1e9 / c)).
- ``tr37885-urban`` / ``tr37885-highway`` -- TR 37.885 V2V LOS (see
  :func:`v2x.channel.tr37885_path_loss_db`).

Input checks: a distance that is negative or NaN raises ValueError (a caller bug: positions
come from the simulation); a carrier frequency given in Hz where GHz is expected (``> 100``)
raises ConfigError naming ``channel.carrier_ghz``.
"""

from __future__ import annotations

import math

import numpy as np

from v2x.errors import ConfigError

__all__ = [
    "PATH_LOSS_MODELS",
    "check_carrier_ghz",
    "check_distances",
    "free_space_path_loss_db",
    "path_loss_db",
    "winner_b1_breakpoint_m",
    "winner_b1_path_loss_db",
]

#: speed of light as TR 36.885 / WINNER+ round it [m/s]
C_ROUNDED = 3.0e8
#: minimum distance of WINNER+ B1 in TR 36.885 [m]
WINNER_MIN_DISTANCE_M = 3.0
#: carrier frequencies above this many GHz are taken for a value in Hz
_MAX_CARRIER_GHZ = 100.0


def check_carrier_ghz(value: object, *, key: str = "channel.carrier_ghz") -> float:
    """A carrier frequency in GHz, 0 < fc <= 100.

    Raises ConfigError naming ``key`` and the value when it is not a finite positive number,
    or above 100 GHz (with a hint when it looks like Hz: 5.9e9 -> "5.9 GHz?").
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"expected a frequency in GHz, got {value!r}", key=key, value=value)
    fc = float(value)
    if not (math.isfinite(fc) and fc > 0.0):
        raise ConfigError(f"must be > 0 (a finite frequency in GHz), got {value!r}", key=key,
                          value=value)
    if fc > _MAX_CARRIER_GHZ:
        hint = f" (given in Hz? {fc / 1e9:g} GHz)" if fc >= 1e6 else ""
        raise ConfigError(f"carrier frequency is in GHz, {value!r} GHz is out of range"
                          f"{hint}", key=key, value=value)
    return fc


def check_distances(distance_m: np.ndarray, *, name: str = "distance_m") -> np.ndarray:
    """The distances as (m,) float64, after checking none is negative or NaN.

    Raises ValueError naming ``name``, the count of bad values and the first one.
    """
    d = np.asarray(distance_m, dtype=np.float64)
    if d.size and not d.min() >= 0.0:  # (the min of an array with a NaN is NaN: one pass)
        bad = d[~(d >= 0.0)]
        raise ValueError(f"{name} must be >= 0 and not NaN; {bad.size} bad value(s), first "
                         f"{bad.flat[0]!r}")
    return d


def free_space_path_loss_db(distance_m: np.ndarray, *, carrier_ghz: float = 5.9) -> np.ndarray:
    """Free-space (Friis) path loss ``20 log10(d) + 20 log10(fc) + 32.45`` [dB].

    Args:
        distance_m: (m,) float64 3-D distance [m], >= 0 (floored at 1 m: no gain near field).
        carrier_ghz: fc [GHz].

    Raises ValueError for a negative or NaN distance, ConfigError for fc out of range.
    """
    fc = check_carrier_ghz(carrier_ghz)
    d = np.maximum(check_distances(distance_m), 1.0)
    return 20.0 * np.log10(d) + (20.0 * math.log10(fc) + 32.45)


def winner_b1_breakpoint_m(*, carrier_ghz: float = 5.9, h_tx_m: float = 1.5,
                           h_rx_m: float = 1.5, h_env_m: float = 1.0) -> float:
    """WINNER+ B1 breakpoint ``4 h'1 h'2 fc / c`` [m] with ``h' = h - h_env`` (TR 36.885)."""
    fc = check_carrier_ghz(carrier_ghz)
    return 4.0 * (h_tx_m - h_env_m) * (h_rx_m - h_env_m) * fc * 1e9 / C_ROUNDED


def winner_b1_path_loss_db(distance_m: np.ndarray, *, carrier_ghz: float = 5.9,
                           h_tx_m: float | np.ndarray = 1.5, h_rx_m: float | np.ndarray = 1.5,
                           h_env_m: float = 1.0, checked: bool = False) -> np.ndarray:
    """WINNER+ B1 LOS path loss [dB] (3GPP TR 36.885 Table A.1.4-1 V2V; module docstring).

    Args:
        distance_m: (m,) float64 distance [m], >= 0; floored at 3 m.
        carrier_ghz: fc [GHz].
        h_tx_m, h_rx_m: antenna heights [m], scalars or (m,) per link; ``h_env_m`` the
            environment height subtracted
            (1 m in TR 36.885; 0 in the Gonzalez-Martin et al. MATLAB code); h - h_env > 0.
        checked: the distances are a float64 array already through
            :func:`check_distances` (not checked again: two passes less).

    Returns the larger of WINNER+ B1 and free space (as the MATLAB reference does: with
    1.5 m antennas free space is the larger below the breakpoint, e.g. 87.85 vs 87.83 dB at
    100 m and 5.91 GHz). Raises ValueError for a negative / NaN
    distance or effective heights <= 0, ConfigError for fc out of range.
    """
    fc = check_carrier_ghz(carrier_ghz)
    h1 = np.asarray(h_tx_m, dtype=np.float64) - h_env_m
    h2 = np.asarray(h_rx_m, dtype=np.float64) - h_env_m
    if not (bool(np.all(h1 > 0.0)) and bool(np.all(h2 > 0.0))):
        raise ValueError(f"effective antenna heights h - h_env must be > 0 (h_env_m "
                         f"{h_env_m!r}), got min {np.min(h1)!r}, {np.min(h2)!r}")
    d = np.maximum(distance_m if checked else check_distances(distance_m),
                   WINNER_MIN_DISTANCE_M)
    d_bp = 4.0 * h1 * h2 * fc * 1e9 / C_ROUNDED
    logd = np.log10(d)
    lfc = math.log10(fc)
    c_near = 27.0 + 20.0 * lfc
    c_far = 17.3 * (np.log10(h1) + np.log10(h2))
    # free space at 5 GHz reference as in the MATLAB code: 20 log10 d + 46.4 + 20 log10(fc/5)
    c_free = 46.4 + 20.0 * math.log10(fc / 5.0)
    if d_bp.ndim == 0:  # one pair of heights: beyond d_far every link is on the far branch
        return _winner_b1_far(d, logd, float(d_bp), c_near, 7.56 + 2.7 * lfc, float(c_far),
                              c_free)
    near = 22.7 * logd + c_near
    far = 40.0 * logd + (7.56 + 2.7 * lfc) - c_far
    pl = np.where(d < d_bp, near, far)
    free = 20.0 * logd + c_free
    return np.maximum(pl, free)


def _winner_b1_far(d: np.ndarray, logd: np.ndarray, d_bp: float, c_near: float,
                   c_far1: float, c_far2: float, c_free: float) -> np.ndarray:
    """:func:`winner_b1_path_loss_db` for scalar heights, the same values with fewer passes:
    at ``d >= d_far`` (the breakpoint, or where the far branch has overtaken free space, with
    0.1 % to spare: 0.017 dB, far above rounding) the result is the far branch itself; the
    full formula runs on the nearer links only."""
    d_cross = 10.0 ** ((c_free - c_far1 + c_far2) / 20.0)  # 40 log d + .. = 20 log d + ..
    d_far = max(d_bp, d_cross) * 1.001
    pl = 40.0 * logd
    pl += c_far1
    pl -= c_far2
    near = np.flatnonzero(d < d_far)
    if near.size:
        ld = logd[near]
        branch = np.where(d[near] < d_bp, 22.7 * ld + c_near, pl[near])
        pl[near] = np.maximum(branch, 20.0 * ld + c_free)
    return pl


#: names accepted by :func:`path_loss_db`
PATH_LOSS_MODELS: tuple[str, ...] = ("winner-b1", "free-space", "tr37885-urban",
                                     "tr37885-highway")


def path_loss_db(name: str, distance_m: np.ndarray, *, carrier_ghz: float = 5.9,
                 h_tx_m: float | np.ndarray = 1.5, h_rx_m: float | np.ndarray = 1.5,
                 h_env_m: float = 1.0, checked: bool = False) -> np.ndarray:
    """Median LOS path loss [dB] of the model ``name`` (one of :data:`PATH_LOSS_MODELS`).

    ``checked``: the distances are a float64 array already through :func:`check_distances`
    (WINNER+ B1 does not check them again). Raises ConfigError naming ``channel.path_loss``
    for an unknown name; see the models for the other errors.
    """
    if name == "winner-b1":
        return winner_b1_path_loss_db(distance_m, carrier_ghz=carrier_ghz, h_tx_m=h_tx_m,
                                      h_rx_m=h_rx_m, h_env_m=h_env_m, checked=checked)
    if name == "free-space":
        return free_space_path_loss_db(distance_m, carrier_ghz=carrier_ghz)
    if name in ("tr37885-urban", "tr37885-highway"):
        from ._tr37885 import tr37885_path_loss_db

        d = np.maximum(check_distances(distance_m), WINNER_MIN_DISTANCE_M)
        return tr37885_path_loss_db(d, carrier_ghz=check_carrier_ghz(carrier_ghz),
                                    scenario=name.split("-")[1])
    raise ConfigError(f"unknown path-loss model {name!r}; available: "
                      f"{', '.join(PATH_LOSS_MODELS)}", key="channel.path_loss", value=name)
