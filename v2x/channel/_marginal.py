"""The exact marginal reception probability of the TR 37.885 channel, tabulated: one draw a link.

:class:`~v2x.channel.Tr37885Channel` draws, for every link of every step and independently of
every other link, a LOS state, a shadowing (and, for ``blocked = "nlosv"``, a vehicle blockage)
and a uniform against the logistic reception curve (module docstring of ``_tr37885``). What a
simulation keeps of a link is whether it was received and its latency, and the latency depends
only on the 3-D distance and the sender's resource wait, not on the drawn state. So the received
flag of a link is a Bernoulli draw with the model's marginal probability

    p(d) = P_LOS(d) G(c_LOS(d); σ_LOS) + (1 - P_LOS(d)) N(d)

with, for a sender of ``size`` bytes (threshold ``thr = snr50 + 10 log10(size / ref)``):

- ``c_state(d) = budget - A_state - B_state log10 d3 - thr`` [dB]: the median SNR's margin over
  the threshold (path loss of the state at the 3-D distance d3 of the 2-D distance d);
- ``G(c; σ) = E[expit((c - σ Z) / s)]``, Z ~ N(0, 1): the logistic curve (scale s) averaged over
  the shadowing, tabulated once per σ on a 0.005 dB grid as the convolution of the logistic
  curve with the normal density (numpy's FFT; a trapezoid rule on that grid, 600 points per
  σ of 3 dB: within 2e-8 of adaptive quadrature, tested);
- ``N(d)`` the non-LOS term: ``G(c_NLOS(d); σ_NLOS)`` for ``blocked = "nlos"``; for
  ``"nlosv"`` ``E[G(c_LOS(d) - max(0, μ(d) + σ_b W); σ_LOS)]``, W ~ N(0, 1), μ and σ_b of the
  antenna heights (TR 37.885: μ = 9 + max(0, 15 log10 d3 - 41), σ_b 4.5 dB below the
  blockers, 5 + ..., 4 dB when one antenna is above, no blockage when both are): the mass
  ``Φ(-μ/σ_b)`` of zero blockage plus a 48-node Gauss-Legendre rule over the positive
  blockage ``b`` in ``(0, μ + 9 σ_b]`` (density ``φ((b - μ)/σ_b)/σ_b``).

``p`` is tabulated per pair of antenna heights and per reception threshold on a 0.05 dB grid,
on a 0.25 m grid of the 2-D distance up to the model's range (tables computed when first
needed, then kept), and read per link by linear interpolation in distance and then in
threshold (max difference to the formula above: about 4e-6, checked by
``tests/v2x/channel/test_marginal.py``, which also checks the probability against the per-link
states drawn by the model). Drawing ``u < p(d)`` per link gives the same distribution of
(received, latency) as drawing the states, for less than half the work: one uniform, no
logarithm. What it cannot give is a link's SNR (``Reception.snr_db`` is NaN):
``sampling = "link-state"`` draws the states and reports it.

Random draws, in this order, per :meth:`MarginalReception.evaluate` call (m links, n_tx
senders): ``rng.random(m)`` reception; ``rng.integers(n_slots, size=n_tx)`` resource-selection
wait (as the link-state sampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._base import LOST, Reception

if TYPE_CHECKING:
    from ._pairs import LinkBatch
    from ._tr37885 import Tr37885Channel

__all__ = ["MarginalReception", "shadowed_reception"]

#: grid step of the margin c [dB] of the shadowed logistic curve G(c; σ)
C_STEP_DB = 0.005
#: G is tabulated for |c| <= C_SPAN_DB [dB] (beyond it, 0 or 1 to double precision for
#: σ <= 8 dB and s <= 2 dB: a margin of 80 dB is 10 σ plus 30 s)
C_SPAN_DB = 80.0
#: grid step of the 2-D distance [m] of the per-class tables
D_STEP_M = 0.25
#: Gauss-Legendre nodes of the NLOSv blockage integral
_BLOCKAGE_NODES = 48
#: grid step of the reception threshold [dB] (of the message size) of the tables
THR_STEP_DB = 0.05
#: classes whose segment tables are kept: beyond, the store starts again (a class's segments
#: at the 1000 m urban range are 128 kB, at the 4000 m highway 512 kB)
_MAX_CLASSES = 256
#: links read together (their temporaries of 128 kB and the 512 kB of their segment rows stay
#: in cache: measured 3-7 % faster than 65,536)
_BLOCK = 16_384


def shadowed_reception(margin_db: np.ndarray, *, shadowing_db: float,
                       scale_db: float) -> np.ndarray:
    """``G(c; σ) = E[expit((c - σ Z) / s)]``, Z ~ N(0, 1): the probability that a link whose
    median SNR exceeds the threshold by ``margin_db`` is received under log-normal shadowing of
    ``shadowing_db`` and the logistic reception curve of scale ``scale_db``.

    Args:
        margin_db: (m,) float64 median SNR minus the size's threshold [dB].
        shadowing_db: σ of the shadowing [dB], >= 0.
        scale_db: logistic scale s [dB], > 0.

    Returns:
        (m,) float64 probability in [0, 1], from the tabulated curve (0.005 dB grid, linear
        interpolation; 0 and 1 beyond ±80 dB).
    """
    c, g = _shadowed_curve(float(shadowing_db), float(scale_db))
    return np.interp(np.asarray(margin_db, np.float64), c, g, left=0.0, right=1.0)


_CURVES: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}


def _shadowed_curve(sigma: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The grid of margins [dB] and ``G`` on it for one (σ, s), computed once."""
    key = (sigma, scale)
    if key not in _CURVES:
        from scipy.special import expit

        c = np.arange(-round(C_SPAN_DB / C_STEP_DB), round(C_SPAN_DB / C_STEP_DB) + 1) * C_STEP_DB
        if sigma == 0.0:
            g = expit(c / scale)
        else:
            half = math.ceil(10.0 * sigma / C_STEP_DB)  # the normal kernel to ±10 σ
            z = np.arange(-half, half + 1) * C_STEP_DB
            kernel = np.exp(-0.5 * (z / sigma) ** 2)
            kernel /= kernel.sum()  # trapezoid weights of the density (ends ~1e-22)
            wide = np.arange(-half - c.size // 2, half + c.size // 2 + 1) * C_STEP_DB
            g = _convolve_valid(expit(wide / scale), kernel)
        _CURVES[key] = (c, np.clip(g, 0.0, 1.0))
    return _CURVES[key]


def _convolve_valid(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``np.convolve(a, kernel, "valid")`` through numpy's real FFT (milliseconds where the
    direct sum over 32,001 x 8,001 points takes a fifth of a second; scipy.signal's
    ``fftconvolve`` would do the same but its import costs a second)."""
    n = a.size + kernel.size - 1
    size = 1 << (n - 1).bit_length()
    full = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(kernel, size), size)
    return full[kernel.size - 1:a.size]


class MarginalReception:
    """The received flag and latency of links from the model's exact marginal reception
    probability (module docstring), for a :class:`~v2x.channel.Tr37885Channel` with a finite
    range.

    Args:
        model: the channel whose parameters define the probability.

    Raises ValueError when the model's range is infinite (no finite distance grid).
    """

    def __init__(self, model: Tr37885Channel) -> None:
        if not math.isfinite(model.max_range_m):
            raise ValueError("marginal sampling needs a finite range_m")
        self._model = model
        self._n_grid = int(math.ceil(model.max_range_m / D_STEP_M)) + 2
        self._d2_grid = np.arange(self._n_grid) * D_STEP_M
        # p on the distance grid per (h_tx, h_rx, threshold grid point), and the store of
        # segment tables (:meth:`_segments_at`) with the first row of each such class
        self._tables: dict[tuple[float, float, int], np.ndarray] = {}
        self._segments = np.empty((16 * self._n_grid, 4))
        self._segments_of: dict[tuple[float, float, int], int] = {}

    # -- the probability --------------------------------------------------------------------
    def probability(self, d2: np.ndarray, *, h_tx: float, h_rx: float,
                    size_bytes: float) -> np.ndarray:
        """The model's marginal reception probability ``p(d)`` (module docstring) of links of
        one class, computed from the formula (not the tables).

        Args:
            d2: (m,) float64 2-D distance [m], >= 0.
            h_tx, h_rx: sender and receiver antenna heights [m].
            size_bytes: the sender's message size [bytes].

        Returns:
            (m,) float64 probability in [0, 1]; 0 beyond the model's range.
        """
        thr = float(self._model.threshold_db(np.array([size_bytes]))[0])
        return self._probability_at(np.asarray(d2, np.float64), h_tx, h_rx, thr)

    def _probability_at(self, d2: np.ndarray, h_tx: float, h_rx: float,
                        thr: float) -> np.ndarray:
        """``p`` at 2-D distances ``d2`` [m] for a reception threshold ``thr`` [dB]."""
        from ._tr37885 import tr37885_los_probability

        ch = self._model
        d3 = np.maximum(np.sqrt(d2 * d2 + (h_tx - h_rx) ** 2), ch.min_distance_m)
        logd = np.log10(d3)
        c_los = ch.budget_db - ch._a_los - ch._b_los * logd - thr
        p_los = tr37885_los_probability(d2, scenario=ch.scenario)
        los = shadowed_reception(c_los, shadowing_db=ch.shadowing_los_db,
                                 scale_db=ch.snr_scale_db)
        if ch.blocked == "nlos":
            c_nlos = ch.budget_db - ch._a_nlos - ch._b_nlos * logd - thr
            blocked = shadowed_reception(c_nlos, shadowing_db=ch.shadowing_nlos_db,
                                         scale_db=ch.snr_scale_db)
        else:
            blocked = self._nlosv(c_los, logd, h_tx, h_rx)
        p = blocked + p_los * (los - blocked)
        p[d2 > ch.max_range_m] = 0.0
        return np.clip(p, 0.0, 1.0)

    def _nlosv(self, c_los: np.ndarray, logd: np.ndarray, h_tx: float,
               h_rx: float) -> np.ndarray:
        """The NLOSv term ``E[G(c_LOS - max(0, μ + σ_b W))]`` per link (module docstring)."""
        from scipy.special import ndtr

        ch = self._model

        def g(c: np.ndarray) -> np.ndarray:
            return shadowed_reception(c, shadowing_db=ch.shadowing_los_db,
                                      scale_db=ch.snr_scale_db)

        if min(h_tx, h_rx) > ch.blocker_height_m:  # both above the blockers: no blockage
            return g(c_los)
        below = max(h_tx, h_rx) < ch.blocker_height_m
        mu = np.maximum(0.0, 15.0 * logd - 41.0) + (9.0 if below else 5.0)
        sigma_b = 4.5 if below else 4.0
        out = ndtr(-mu / sigma_b) * g(c_los)  # zero blockage: max(0, N) = 0
        x, w = np.polynomial.legendre.leggauss(_BLOCKAGE_NODES)
        top = mu + 9.0 * sigma_b  # the blockage density beyond is < 1e-18
        for xk, wk in zip(x, w, strict=True):
            b = 0.5 * top * (xk + 1.0)  # node on (0, top)
            dens = np.exp(-0.5 * ((b - mu) / sigma_b) ** 2) / (sigma_b * math.sqrt(2 * math.pi))
            out += (0.5 * top * wk) * dens * g(c_los - b)
        return out

    def _table(self, h_tx: float, h_rx: float, k: int) -> np.ndarray:
        """``p`` on the distance grid for the threshold ``k * THR_STEP_DB``, computed when
        first needed."""
        key = (h_tx, h_rx, k)
        if key not in self._tables:
            self._tables[key] = self._probability_at(self._d2_grid, h_tx, h_rx,
                                                     k * THR_STEP_DB)
        return self._tables[key]

    def _segments_at(self, h_tx: float, h_rx: float, k: int) -> int:
        """First row in the segment store of the class (h_tx, h_rx, threshold grid point k):
        row ``i`` of its ``n_grid`` rows holds ``p_k(d_i)``, ``p_k(d_i+1) - p_k(d_i)``,
        ``p_k+1(d_i)``, ``p_k+1(d_i+1) - p_k+1(d_i)`` (the last row's differences 0, never
        read): a link reads the four numbers of its interpolation in one gather."""
        key = (h_tx, h_rx, k)
        at = self._segments_of.get(key)
        if at is None:
            n = self._n_grid
            at = len(self._segments_of) * n
            if at == self._segments.shape[0]:  # full: twice the rows
                self._segments = np.concatenate([self._segments,
                                                 np.empty_like(self._segments)])
            seg = self._segments[at:at + n]
            for col, kk in ((0, k), (2, k + 1)):
                p = self._table(h_tx, h_rx, kk)
                seg[:, col] = p
                np.subtract(p[1:], p[:-1], out=seg[:-1, col + 1])
                seg[-1, col + 1] = 0.0
            self._segments_of[key] = at
        return at

    # -- the draws --------------------------------------------------------------------------
    def evaluate(self, links: LinkBatch, *, tx_height_m: np.ndarray, rx_height_m: np.ndarray,
                 size_bytes: np.ndarray, rng: np.random.Generator) -> Reception:
        """Received and latency of every link (``snr_db`` NaN); the arguments as
        :meth:`v2x.channel.ChannelModel.evaluate`, ``links.distance_m`` checked by the caller.
        """
        ch = self._model
        m = len(links)
        u = rng.random(m)
        slot = np.asarray(rng.integers(ch._n_slots, size=np.asarray(size_bytes).shape[0]))
        if m == 0:
            return Reception(received=np.zeros(0, bool), latency_ns=np.zeros(0, np.int64),
                             snr_db=np.zeros(0))
        classes = self._classes(tx_height_m, rx_height_m, size_bytes)
        received = np.empty(m, bool)
        for a in range(0, m, _BLOCK):
            sl = slice(a, a + _BLOCK)
            p = self._read(classes, links.distance_m[sl], links.tx[sl], links.rx[sl])
            np.less(u[sl], p, out=received[sl])
        if bool(links.distance_m.max() > ch.max_range_m):
            received &= links.distance_m <= ch.max_range_m
        latency = np.full(m, LOST, np.int64)
        got = np.flatnonzero(received)
        latency[got] = ch.latency_ns(links.tx[got], links.rx[got], links.distance_m[got],
                                     tx_height_m, rx_height_m, ch.wait_ns(slot))
        return Reception(received=received, latency_ns=latency,
                         snr_db=np.broadcast_to(np.float64(np.nan), (m,)))  # read-only, no memory

    def _classes(self, tx_height_m: np.ndarray, rx_height_m: np.ndarray,
                 size_bytes: np.ndarray) -> _Classes:
        """The classes of the senders and receivers of one call and their tables' rows."""
        x = self._model.threshold_db(size_bytes) / THR_STEP_DB
        k_float = np.floor(x)
        k = k_float.astype(np.int64)  # threshold grid point of each sender
        k_min = int(k.min())
        span = int(k.max()) - k_min + 1
        h_tx_u, h_tx_code = _unique_inverse(np.asarray(tx_height_m, np.float64))
        key_u, tx_class = _small_unique_inverse(h_tx_code * span + (k - k_min))
        rx_u, rx_class = _unique_inverse(np.asarray(rx_height_m, np.float64))
        if len(self._segments_of) + key_u.size * rx_u.size > _MAX_CLASSES:
            self._segments_of.clear()  # start the store again (its rows are overwritten)
            self._tables.clear()
        first = np.array([self._segments_at(float(h_tx_u[key // span]), float(h_rx),
                                            key % span + k_min)
                          for key in key_u.tolist() for h_rx in rx_u], np.int64)
        return _Classes(tx_pair=tx_class * rx_u.size, rx_class=rx_class,
                        n_rx_classes=int(rx_u.size), tx_frac=x - k_float, first_row=first)

    def _read(self, classes: _Classes, d2: np.ndarray, tx: np.ndarray,
              rx: np.ndarray) -> np.ndarray:
        """``p`` of a block of links: linear interpolation in distance in the two tables of
        its class pair, then in threshold between them."""
        n = self._n_grid
        x = d2 * (1.0 / D_STEP_M)
        np.minimum(x, n - 1.001, out=x)  # beyond the range: cut by the caller
        i = x.astype(np.intp)
        x -= i  # the fraction of the distance step
        pair = classes.tx_pair.take(tx)
        if classes.n_rx_classes > 1:
            pair += classes.rx_class.take(rx)
        at = classes.first_row.take(pair)
        at += i
        seg = self._segments.take(at, axis=0)  # (m, 4): p_k, its step, p_k+1, its step
        lo = seg[:, 1] * x
        lo += seg[:, 0]  # p_k(d)
        hi = seg[:, 3] * x
        hi += seg[:, 2]  # p_k+1(d)
        hi -= lo
        hi *= classes.tx_frac.take(tx)
        lo += hi
        return lo


@dataclass(frozen=True)
class _Classes:
    """The classes of one call's links.

    Attributes:
        tx_pair: (n_tx,) int64 first class pair of each sender's class (antenna height,
            threshold grid point): ``class * n_rx_classes``; the class pair of a link is
            ``tx_pair[tx] + rx_class[rx]``.
        rx_class: (n_rx,) int64 class of each receiver (antenna height).
        n_rx_classes: receiver classes.
        tx_frac: (n_tx,) float64 each sender's threshold above its grid point [grid steps].
        first_row: (n_pairs,) int64 first row of each class pair in the segment store.
    """

    tx_pair: np.ndarray
    rx_class: np.ndarray
    n_rx_classes: int
    tx_frac: np.ndarray
    first_row: np.ndarray


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of (n,) values with few distinct ones: the
    sorted distinct values, then each value's index among them by a search (no sort of n)."""
    distinct = np.unique(values)
    return distinct, np.searchsorted(distinct, values)


def _small_unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` of (n,) small non-negative int64 keys by a
    count of each key (no sort)."""
    present = np.bincount(keys) > 0
    return np.flatnonzero(present), (np.cumsum(present) - 1)[keys]
