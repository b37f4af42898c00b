"""The pieces of LTE-V2X sidelink Mode 4 as pure, vectorized functions (no state).

:class:`v2x.channel.Mode4Channel` strings them together step by step; each is tested on its
own with hand-computed values. Facts: 3GPP TS 36.213 section 14.1.1.6 (resource selection),
TS 36.321 section 5.14.1.1 (reselection counter, keep probability), TS 36.214 (S-RSSI, CBR),
as summarised in STANDARDS.md section 3.

Terms: a *resource* is one subframe (1 ms) x ``L`` adjacent sub-channels starting at sub-channel
``start``; a *candidate* is a resource of the selection window ``[n + T1, n + T2]``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "cell_power",
    "channel_busy_ratio",
    "counter_range",
    "draw_reselection_counter",
    "half_duplex_lost",
    "interference_mw",
    "select_resources",
]


def counter_range(rri_ms: int) -> tuple[int, int]:
    """Inclusive range of the SPS reselection counter for a reservation interval [ms].

    TS 36.321 5.14.1.1: [5, 15] for RRI >= 100 ms, [10, 30] at 50 ms, [25, 75] at 20 ms.
    Raises ValueError for other intervals below 100 ms.
    """
    if rri_ms >= 100:
        return 5, 15
    if rri_ms == 50:
        return 10, 30
    if rri_ms == 20:
        return 25, 75
    raise ValueError(f"reservation interval must be 20, 50 or >= 100 ms, got {rri_ms}")


def draw_reselection_counter(rng: np.random.Generator, n: int, rri_ms: int) -> np.ndarray:
    """(n,) int64 counters drawn uniformly in :func:`counter_range` (one ``rng.integers``)."""
    lo, hi = counter_range(rri_ms)
    return rng.integers(lo, hi + 1, size=n).astype(np.int64)


def half_duplex_lost(rx: np.ndarray, link_sf: np.ndarray, tx_rx: np.ndarray,
                     tx_sf: np.ndarray) -> np.ndarray:
    """Which links the receiver cannot hear because it transmits in that subframe itself.

    Args:
        rx: (m,) int64 receiver of each link, a small non-negative index (a row);
            ``link_sf`` (m,) int64 the link's subframe.
        tx_rx: (k,) int64 the receiver index of the node of every transmission of the period
            (-1 for a sender that is not a receiver); ``tx_sf`` (k,) int64 its subframe.

    Returns (m,) bool, True where ``(rx, link_sf)`` is one of the transmissions. One dense
    (receivers x subframes) table, no sort.
    """
    keep = tx_rx >= 0
    if rx.size == 0 or not bool(keep.any()):
        return np.zeros(rx.shape, bool)
    tx_rx, tx_sf = tx_rx[keep], tx_sf[keep]
    lo = int(min(link_sf.min(), tx_sf.min()))
    span = int(max(link_sf.max(), tx_sf.max())) - lo + 1
    busy = np.zeros((int(max(rx.max(), tx_rx.max())) + 1, span), bool)
    busy[tx_rx, tx_sf - lo] = True
    return busy[rx, link_sf - lo]


def _subchannel_entries(start: np.ndarray, n_sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each item expanded to its sub-channels: (item index, sub-channel) of total sum(n_sub)."""
    if bool(np.all(n_sub == 1)):  # the common case: one sub-channel each, no expansion
        return np.arange(start.size, dtype=np.int64), start
    item = np.repeat(np.arange(start.size, dtype=np.int64), n_sub)
    first = np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
    sub = start[item] + (np.arange(item.size, dtype=np.int64) - first)
    return item, sub


#: up to this many (receiver, subframe, sub-channel) cells the sums use one dense bincount;
#: beyond, the occupied cells are found by sorting (np.unique)
DENSE_MAX_CELLS = 1 << 24


def cell_power(rx: np.ndarray, sf: np.ndarray, start: np.ndarray, n_sub: np.ndarray,
                power_mw: np.ndarray, n_s: int) -> tuple[
                    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Received power per (receiver, subframe, sub-channel) cell.

    Returns ``(item, share, cell, total, cell_rx)``: the (link, sub-channel) entries (link
    index and power share), each entry's cell, the total power of every cell and each cell's
    receiver.
    """
    item, sub = _subchannel_entries(start, n_sub)
    share = power_mw / n_sub
    if item.size != start.size or not bool(np.all(n_sub == 1)):
        share = share[item]
    lo = int(sf.min())
    span = int(sf.max()) - lo + 1
    rx_lo = int(rx.min())
    n_rx = int(rx.max()) - rx_lo + 1
    key = ((rx[item] - rx_lo) * span + (sf[item] - lo)) * n_s + sub
    if n_rx * span * n_s <= DENSE_MAX_CELLS:
        total = np.bincount(key, weights=share, minlength=n_rx * span * n_s)
        cell_rx = np.repeat(np.arange(rx_lo, rx_lo + n_rx, dtype=np.int64), span * n_s)
        return item, share, key, total, cell_rx
    cells, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=share, minlength=cells.size)
    return item, share, inv, total, cells // (span * n_s) + rx_lo


def interference_mw(rx: np.ndarray, sf: np.ndarray, start: np.ndarray, n_sub: np.ndarray,
                    power_mw: np.ndarray, *, n_subchannels: int | None = None,
                    cells: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """Co-channel interference of every link over the wanted transmission's sub-channels.

    Every link is one transmission heard by one receiver with ``power_mw`` spread evenly over
    its ``n_sub`` sub-channels. The interference on link ``i`` is the power, at the same
    receiver and in the same subframe, of every *other* transmission on each sub-channel
    ``i`` occupies, summed over those sub-channels (an interferer sharing one of two
    sub-channels contributes half its power). No in-band emission: transmissions on other
    sub-channels of the subframe do not interfere.

    Args:
        rx: (m,) int64 receiver; ``sf`` (m,) int64 subframe of the transmission.
        start: (m,) int64 first sub-channel; ``n_sub`` (m,) int64 sub-channels (>= 1).
        power_mw: (m,) float64 received power [mW].
        n_subchannels: sub-channels of the pool (default: as many as the links use);
            ``cells`` the :func:`cell_power` of these arguments if already computed.

    Returns (m,) float64 interference [mW].
    """
    if rx.size == 0:
        return np.zeros(0)
    if cells is None:
        n_s = int((start + n_sub).max()) if n_subchannels is None else n_subchannels
        cells = cell_power(rx, sf, start, n_sub, power_mw, n_s)
    item, share, cell, total, _ = cells
    others = total[cell]
    others -= share
    np.maximum(others, 0.0, out=others)  # rounding of total - own
    if item.size == rx.size:
        return others
    return np.bincount(item, weights=others, minlength=rx.size)


def channel_busy_ratio(rx: np.ndarray, sf: np.ndarray, start: np.ndarray, n_sub: np.ndarray,
                       power_mw: np.ndarray, *, noise_subchannel_mw: float,
                       threshold_dbm: float, n_subchannels: int,
                       window_subframes: int,
                       cells: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """CBR of every receiver: busy sub-channels / all sub-channels of the window.

    A sub-channel of a subframe is busy at a receiver when its S-RSSI, the received power of
    every transmission on it plus the noise over one sub-channel, exceeds ``threshold_dbm``
    (TS 36.214 5.1.30; -94 dBm in STANDARDS.md section 3). Inputs as :func:`interference_mw`
    (``cells``: their :func:`cell_power` over ``n_subchannels``, if already computed).

    Returns ``(receivers, cbr)``: (r,) int64 sorted receivers that heard any transmission and
    (r,) float64 their CBR in [0, 1]; receivers that heard nothing have CBR 0 (not listed).
    """
    if rx.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    if cells is None:
        cells = cell_power(rx, sf, start, n_sub, power_mw, n_subchannels)
    total, cell_rx = cells[3], cells[4]
    busy = total > 10.0 ** (threshold_dbm / 10.0) - noise_subchannel_mw
    receivers = np.unique(rx)
    counts = np.bincount(cell_rx[busy] - receivers[0],
                         minlength=int(receivers[-1] - receivers[0]) + 1)
    return receivers, counts[receivers - receivers[0]] / float(window_subframes * n_subchannels)


def select_resources(rsrp_dbm: np.ndarray, rssi_mw: np.ndarray, blocked: np.ndarray, *,
                     threshold_dbm: float, step_db: float, share: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sensing-based selection for ``n`` UEs over ``M`` candidates each (TS 36.213 14.1.1.6).

    Step 2: a candidate is excluded when it is ``blocked`` (a subframe the UE did not monitor
    because it transmitted) or another UE's reservation seen on it has RSRP above the
    threshold; while fewer than ``ceil(share * M)`` candidates remain, the threshold is
    raised by ``step_db`` (3 dB). Step 3: the ``ceil(share * M)`` remaining candidates of
    lowest average S-RSSI are kept and one is chosen uniformly at random.

    Args:
        rsrp_dbm: (n, M) float64 largest RSRP of a reservation seen on each candidate [dBm];
            ``-inf`` where none.
        rssi_mw: (n, M) float64 S-RSSI of each candidate [mW] (ranking only).
        blocked: (n, M) bool not-monitored candidates (never available).
        threshold_dbm: initial RSRP threshold; ``share``: 0.2 in TS 36.213.
        rng: draws ``rng.random((n, M))`` (tie-break of equal S-RSSI) then
            ``rng.random(n)`` (choice among the best).

    Returns ``(chosen, threshold)``: (n,) int64 candidate index and (n,) float64 the
    threshold [dBm] that left enough candidates.
    """
    n, m = rsrp_dbm.shape
    need = max(1, math.ceil(share * m - 1e-9))
    tie = rng.random((n, m))
    pick = rng.random(n)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    measured = np.where(blocked, np.inf, rsrp_dbm)
    # the need-th smallest measured RSRP: the threshold must reach it
    kth = np.partition(measured, need - 1, axis=1)[:, need - 1]
    with np.errstate(invalid="ignore"):
        steps = np.ceil((kth - threshold_dbm) / step_db)
    steps = np.where(np.isfinite(steps), np.maximum(steps, 0.0), 0.0)
    steps[np.isposinf(kth)] = np.inf  # too many not-monitored candidates: take what remains
    threshold = threshold_dbm + steps * step_db
    available = ~blocked & (rsrp_dbm <= threshold[:, None])
    rank_key = np.where(available, rssi_mw, np.inf)
    order = np.lexsort((tie, rank_key), axis=1)  # by S-RSSI, ties at random
    n_best = np.minimum(available.sum(axis=1), need)
    col = np.minimum((pick * n_best).astype(np.int64), np.maximum(n_best - 1, 0))
    return order[np.arange(n), col], threshold
