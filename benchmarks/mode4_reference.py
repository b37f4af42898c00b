"""Reference: the analytical C-V2X Mode 4 PDR model of Gonzalez-Martin et al. (2019), in numpy.

M. Gonzalez-Martin, M. Sepulcre, R. Molina-Masegosa, J. Gozalvez, "Analytical Models of the
Performance of C-V2X Mode 4 Vehicular Communications", IEEE Trans. Veh. Technol. 68(2), 2019.
Formulas ported (not copied) from the authors' public MATLAB code, GitHub ``msepulcre/C-V2X``
commit 71d4c25 (``CV2XMode4.m``, ``CV2XMode4_common.m``, ``CV2XMode4_Step2.m``,
``CV2XMode4_Step3.m``, ``get_PL_SH.m``, ``get_SINRdistribution.m``, ``get_BLER.m``); equation
numbers are the paper's. Differences from the MATLAB code, all numerical: the SINR
distributions are integrated with 40-point Gauss-Hermite quadrature over the interference
instead of the 0.1 dB PDF cross-correlation, and the received-power PDF on a 0.1 dB grid
starting exactly at the sensing threshold.

Layout the model assumes: vehicles on a line, evenly spaced ``1 / beta``, interferers up to
``round(1000 beta) / beta`` metres each side of the receiver; one transmission per packet,
one sub-channel per packet (S = 4 sub-channels of 10 MHz for 190 B: 10 data RBs, QPSK r 0.7),
WINNER+ B1 LOS at 5.91 GHz with 1.5 m antennas and no environment height, shadowing 3 dB,
noise -95 dBm over 10 MHz, sensing threshold -90.5 dBm.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

__all__ = ["ReferenceResult", "reference_pdr", "reference_path_loss_db"]

PSEN_DBM = -90.5
SIGMA_DB = 3.0
STEP_DB = 0.1
FC_HZ = 5.91e9

# get_BLER.m coding 1 (190 B, QPSK r 0.7) and 2 (r 0.5), with its extension outside the table
_BLER = {
    1: (np.array([-1e3, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 20 + 1e-6, 1e3], float),
        np.array([1, 1, 0.9, 0.7, 0.4, 0.13, 0.045, 0.017, 0.007, 1e-3, 1e-3, 1e-3, 1e-4,
                  1e-4])),
    2: (np.array([-1e3, -2, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 20 + 1e-6, 1e3], float),
        np.array([1, 1, 0.9, 0.7, 0.3, 0.09, 0.02, 0.002, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-4,
                  1e-4])),
}


def reference_path_loss_db(distance_m: np.ndarray) -> np.ndarray:
    """WINNER+ B1 as get_PL_SH.m: |d| floored at 3 m, breakpoint 4 h h fc / c (h_env 0),
    never below free space (46.4 dB at 1 m and 5 GHz)."""
    d = np.maximum(np.abs(np.asarray(distance_m, float)), 3.0)
    d_bp = 4 * 1.5 * 1.5 * FC_HZ / 3e8
    lfc = math.log10(FC_HZ / 1e9)
    near = 22.7 * np.log10(d) + 27 + 20 * lfc
    far = 40 * np.log10(d) + 7.56 - 2 * 17.3 * math.log10(1.5) + 2.7 * lfc
    pl = np.where(d < d_bp, near, far)
    return np.maximum(pl, 20 * np.log10(d) + 46.4 + 20 * math.log10(FC_HZ * 1e-9 / 5))


def _psr(pt: float, pl: np.ndarray, threshold: float) -> np.ndarray:
    """Probability the received power exceeds ``threshold`` (eq. 11)."""
    return 0.5 * (1 + erf((pt - pl - threshold) / (SIGMA_DB * math.sqrt(2))))


def _excluded(spsr: float, n: float) -> float:
    """Excluded resources Ne (eq. 29 / 33)."""
    k = np.arange(1, int(math.floor(spsr / 2)) + 1)
    return spsr / 2 + float(np.maximum(1 - k / (n - spsr / 2), 0).sum())


class ReferenceResult:
    """PDR and its four error terms at ``distance_m``; ``cbr`` (eq. 34), ``alpha`` (eq. 22)."""

    def __init__(self, distance_m: np.ndarray, pdr: np.ndarray, hd: np.ndarray,
                 sen: np.ndarray, pro: np.ndarray, col: np.ndarray, cbr: float,
                 alpha: float) -> None:
        self.distance_m, self.pdr, self.cbr, self.alpha = distance_m, pdr, cbr, alpha
        self.hd, self.sen, self.pro, self.col = hd, sen, pro, col


def _received_power_pmf(mean_dbm: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(n_d, n_x) probability of each 0.1 dB cell of the received power, truncated below
    the sensing threshold and renormalised (get_SINRdistribution.m)."""
    z = (grid[None, :] - mean_dbm[:, None]) / SIGMA_DB
    pdf = np.exp(-0.5 * z * z)
    s = pdf.sum(axis=1, keepdims=True)
    return np.divide(pdf, s, out=np.zeros_like(pdf), where=s > 0)


def _bler_given_interference(grid: np.ndarray, mean_i_dbm: np.ndarray, noise_dbm: float,
                             coding: int) -> np.ndarray:
    """(n_x, n_i) mean BLER of a packet received at each grid power when one interferer's
    power is N(mean_i, 3 dB) (Gauss-Hermite over the interference)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    i_dbm = mean_i_dbm[:, None] + SIGMA_DB * nodes[None, :]  # (n_i, q)
    in_dbm = 10 * np.log10(10 ** (i_dbm / 10) + 10 ** (noise_dbm / 10))
    sx, sy = _BLER[coding]
    out = np.zeros((grid.size, mean_i_dbm.size))
    for q in range(nodes.size):
        out += weights[q] * np.interp(grid[:, None] - in_dbm[None, :, q], sx, sy)
    return out


def reference_pdr(beta: float, lam: float, pt: float, s: int, distance_m: np.ndarray,
                  *, size_bytes: int = 190) -> ReferenceResult:
    """The analytical PDR (eq. 6) at each Tx-Rx distance.

    Args:
        beta: vehicle density [veh/m]; ``lam`` packets per second [Hz]; ``pt`` [dBm];
            ``s`` sub-channels (4 or 2); ``distance_m`` (n_d,) [m]; ``size_bytes`` 190 only.
    """
    if size_bytes != 190 or s not in (2, 4):
        raise ValueError("the reference covers 190-byte packets on 2 or 4 sub-channels")
    coding, rbs = (1, 10) if s == 4 else (2, 12)
    noise = -95 - 10 * math.log10(50 / rbs)
    d = np.asarray(distance_m, float)
    grid = np.arange(PSEN_DBM, 40.0 + STEP_DB / 2, STEP_DB)
    pl_er = reference_path_loss_db(d)
    # common errors (eq. 7, 10, 13)
    hd = np.full(d.size, lam / 1000)
    sen = 0.5 * (1 - erf((pt - pl_er - PSEN_DBM) / (SIGMA_DB * math.sqrt(2))))
    pmf = _received_power_pmf(pt - pl_er, grid)
    sx, sy = _BLER[coding]
    pro = pmf @ np.interp(grid - noise, sx, sy)

    n_res = s * 1000 / lam  # eq. 28
    n_c = 0.2 * n_res
    d_aux = np.arange(-1500, 1501)
    pl_aux = reference_path_loss_db(d_aux)
    psr = _psr(pt, pl_aux, PSEN_DBM)
    spsr = beta * psr.sum()
    ne2 = _excluded(spsr, n_res)
    cbr = ne2 / n_res
    alpha = 0.0 if cbr < 0.2 else (2 * cbr - 0.4 if cbr <= 0.7 else 1.0)
    r_psr = np.correlate(psr, psr, mode="full")[psr.size - 1:]  # lags 0..3000 m (eq. 30.2)

    l_max = round(1000 * beta) / beta
    d_ir = np.arange(-l_max, l_max + 1e-9, 1 / beta)
    d_ir = d_ir[np.abs(d_ir) > 1e-6]
    g = _bler_given_interference(grid, pt - reference_path_loss_db(d_ir), noise, coding)
    p_sinr = pmf @ g  # (n_d, n_i) eq. 17
    with np.errstate(invalid="ignore", divide="ignore"):
        p_int = np.where(pro[:, None] < 1, (p_sinr - pro[:, None]) / (1 - pro[:, None]), 0.0)
    d_it = np.abs(d_ir[None, :] + d[:, None])

    def collision(ne: float, na: float, threshold: float) -> np.ndarray:
        r0 = r_psr[0]
        ce = (r_psr / r0) * (beta * ne * r0 / spsr - ne * ne / n_res) + ne * ne / n_res
        cc = (n_res - 2 * ne + ce) * (n_c / na) ** 2  # eq. 26, 27, 30
        p_s = 1 - (1 - 1 / lam) * _psr(pt, reference_path_loss_db(d_it), threshold)  # eq. 24
        lag = np.minimum(np.rint(d_it).astype(np.int64), r_psr.size - 1)
        p_sim = p_s * cc[lag] / (n_c * n_c)  # eq. 23 / 31
        return 1 - np.prod(1 - p_sim * p_int, axis=1)  # eq. 14, 15

    col2 = collision(ne2, n_res - ne2, PSEN_DBM)
    if alpha < 1:
        th = PSEN_DBM - STEP_DB
        na = 0.0
        while na < n_c:  # raise the threshold until enough resources are available (eq. 32)
            th += STEP_DB
            ne3 = _excluded(2 * beta * _psr(pt, pl_aux, th).sum(), n_res)
            na = n_res - ne3
        col3 = collision(ne3, na, th)
    else:
        col3 = np.zeros(d.size)
    keep = (1 - hd) * (1 - sen) * (1 - pro)
    col = alpha * col2 * keep + (1 - alpha) * col3 * keep  # eq. 21
    sen_e = sen * (1 - hd)
    pro_e = pro * (1 - hd) * (1 - sen)
    pdr = 1 - hd - sen_e - pro_e - col  # eq. 6
    return ReferenceResult(d, pdr, hd, sen_e, pro_e, col, cbr, alpha)


#: The authors' own system-level simulation (their Veins implementation of Mode 4), PDR at
#: 0, 25, ..., 500 m: the "PDR Simulation" line of ``fig/CV2XMode4_beta<b>-lambda<l>-Pt<p>-
#: S4-B190_PDR.fig`` in msepulcre/C-V2X commit 71d4c25 (read with scipy.io.loadmat), keyed by
#: (beta, lambda, Pt). Published results, kept to show how far the analytical model itself is
#: from a simulation of the same set-up.
PUBLISHED_SIMULATION: dict[tuple[float, int, float], tuple[float, ...]] = {
    (0.1, 10, 20.0): (0.991, 0.988, 0.986, 0.982, 0.980, 0.977, 0.976, 0.973, 0.968, 0.960,
                      0.948, 0.935, 0.916, 0.891, 0.850, 0.794, 0.715, 0.622, 0.508, 0.403,
                      0.331),
    (0.2, 10, 20.0): (0.986, 0.976, 0.962, 0.952, 0.945, 0.937, 0.931, 0.922, 0.906, 0.883,
                      0.854, 0.821, 0.784, 0.742, 0.692, 0.633, 0.558, 0.476, 0.386, 0.304,
                      0.247),
    (0.3, 10, 20.0): (0.986, 0.969, 0.949, 0.936, 0.924, 0.912, 0.899, 0.880, 0.844, 0.804,
                      0.760, 0.716, 0.673, 0.626, 0.576, 0.517, 0.451, 0.377, 0.303, 0.235,
                      0.197),
    (0.1, 10, 23.0): (0.991, 0.988, 0.986, 0.982, 0.979, 0.978, 0.976, 0.974, 0.970, 0.965,
                      0.957, 0.949, 0.937, 0.922, 0.907, 0.885, 0.856, 0.817, 0.764, 0.695,
                      0.644),
    (0.2, 10, 23.0): (0.988, 0.977, 0.963, 0.953, 0.945, 0.938, 0.932, 0.925, 0.910, 0.889,
                      0.864, 0.833, 0.802, 0.768, 0.733, 0.701, 0.663, 0.622, 0.573, 0.516,
                      0.473),
    (0.3, 10, 23.0): (0.989, 0.976, 0.959, 0.945, 0.934, 0.924, 0.912, 0.899, 0.875, 0.845,
                      0.806, 0.765, 0.724, 0.678, 0.637, 0.594, 0.550, 0.502, 0.454, 0.400,
                      0.366),
    (0.1, 20, 20.0): (0.983, 0.978, 0.969, 0.965, 0.959, 0.956, 0.950, 0.942, 0.925, 0.901,
                      0.870, 0.835, 0.795, 0.755, 0.706, 0.645, 0.571, 0.489, 0.392, 0.309,
                      0.250),
    (0.2, 20, 20.0): (0.980, 0.969, 0.956, 0.945, 0.934, 0.920, 0.900, 0.872, 0.826, 0.771,
                      0.708, 0.649, 0.591, 0.531, 0.473, 0.412, 0.349, 0.287, 0.224, 0.171,
                      0.133),
    (0.3, 20, 20.0): (0.979, 0.961, 0.933, 0.906, 0.873, 0.831, 0.778, 0.718, 0.639, 0.557,
                      0.480, 0.413, 0.354, 0.297, 0.249, 0.206, 0.164, 0.129, 0.098, 0.070,
                      0.053),
}
