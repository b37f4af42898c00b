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
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Cells",
    "cell_busy_ratio",
    "cell_interference",
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
    busy = np.zeros((int(max(rx.max(), tx_rx.max())) + 1) * span, bool)
    busy[tx_rx * span + (tx_sf - lo)] = True
    at = rx * span
    at += link_sf
    at -= lo
    return busy[at]


#: up to this many (subframe, receiver, sub-channel) cells the sums use one dense bincount;
#: beyond, the occupied cells are found by sorting (np.unique)
DENSE_MAX_CELLS = 1 << 24


@dataclass(frozen=True)
class Cells:
    """Received power per (subframe, receiver, sub-channel) cell (:func:`cell_power`).

    Attributes:
        key: (e,) int64 the cell of every (link, sub-channel) entry, links in order and each
            link's sub-channels ascending (e = sum of the links' sub-channels).
        share: (e,) float64 each entry's power [mW] (the link's power / its sub-channels).
        total: (c,) float64 power of every cell [mW], the entries summed in order.
        n_sub: (m,) int64 sub-channels of each link (a read-only broadcast view when built
            per transmission with one width); ``width`` > 0 when all links have that many
            (entries then are an (m, width) block), 0 otherwise.
        rx_lo, n_rx, n_s: dense layout (``total`` is (subframes, n_rx, n_s), receiver
            ``rx_lo + i`` at ``[:, i, :]``); ``cell_rx`` (c,) int64 the receiver of each
            occupied cell in the sorted layout (None when dense).
    """

    key: np.ndarray
    share: np.ndarray
    total: np.ndarray
    n_sub: np.ndarray
    width: int
    rx_lo: int
    n_rx: int
    n_s: int
    cell_rx: np.ndarray | None


def cell_power(rx: np.ndarray, sf: np.ndarray, start: np.ndarray, n_sub: np.ndarray,
               power_mw: np.ndarray, n_s: int, *, link_tx: np.ndarray | None = None,
               scratch: np.ndarray | None = None) -> Cells:
    """Received power per (subframe, receiver, sub-channel) cell of every link's entries.

    Args: as :func:`interference_mw` (m links), ``n_s`` sub-channels of the pool.
        ``link_tx``: (m,) int64 non-decreasing, the transmission of each link; then ``sf``,
        ``start`` and ``n_sub`` are (k,) per transmission (links of one transmission share
        them), the table the same as with the per-link values ``sf[link_tx]``, ... but
        built from k-sized arrays (fewer passes over the links).
        ``scratch``: a float64 array of zeros to sum a dense table in (``total`` then is a
        view of it, summed by ``np.add.at``: the same order and bits as ``np.bincount``;
        the caller zeroes the cells ``key`` again after use); a dense table larger than it
        is a new array. A table of 400 k cells (3.2 MB) is otherwise new pages each period.

    Every (link, sub-channel) entry is keyed ``((sf - sf_min) * n_rx + rx - rx_min) * n_s +
    sub`` (subframe-major: the links of one transmission, sorted by receiver, touch one
    subframe's block of cells, which stays in cache; ``sf_min`` over the subframes of the
    links, not of transmissions without one): a dense table over subframes x receivers x
    sub-channels up to :data:`DENSE_MAX_CELLS` cells (one ``np.bincount``), the occupied
    cells only (sorted) beyond. All links of one width (the common case) are an (m, width)
    block, no expansion.
    """
    rx_lo = int(rx.min())
    n_rx = int(rx.max()) - rx_lo + 1
    if link_tx is None:
        lo = int(sf.min())
        span = int(sf.max()) - lo + 1
        base = (sf - lo) * n_rx
        base += rx
        base -= rx_lo
        base *= n_s
        base += start
        width = int(n_sub[0]) if bool(np.all(n_sub == n_sub[0])) else 0
    else:  # the same integers from per-transmission parts: (sf - lo) n_rx n_s + start
        linked = np.flatnonzero(np.diff(np.searchsorted(link_tx, np.arange(sf.size + 1))))
        t_sf, t_n = sf[linked], n_sub[linked]
        lo = int(t_sf.min())
        span = int(t_sf.max()) - lo + 1
        tx_base = (sf - lo) * (n_rx * n_s) + (start - rx_lo * n_s)
        base = rx * n_s
        base += tx_base[link_tx]
        width = int(t_n[0]) if bool(np.all(t_n == t_n[0])) else 0
        # per link: a view when all are one width (read only where widths differ)
        n_sub = n_sub[link_tx] if not width else np.broadcast_to(np.int64(width), rx.shape)
    if width == 1:  # (x / 1 is x)
        key, share = base, power_mw
    elif width:  # column by column: broadcasting over a narrow last axis is slow
        key2 = np.empty((base.size, width), np.int64)
        share2 = np.empty((base.size, width))
        one = power_mw / width
        for j in range(width):
            np.add(base, j, out=key2[:, j])
            share2[:, j] = one
        key, share = key2.reshape(-1), share2.reshape(-1)
    else:
        first = np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
        key = np.repeat(base, n_sub) + (np.arange(first.size, dtype=np.int64) - first)
        share = np.repeat(power_mw / n_sub, n_sub)
    n_cells = span * n_rx * n_s
    if n_cells <= DENSE_MAX_CELLS:
        if scratch is not None and scratch.size >= n_cells:
            total = scratch[:n_cells]
            np.add.at(total, key, share)
        else:
            total = np.bincount(key, weights=share, minlength=n_cells)
        return Cells(key, share, total, n_sub, width, rx_lo, n_rx, n_s, None)
    cells, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=share, minlength=cells.size)
    return Cells(inv, share, total, n_sub, width, rx_lo, n_rx, n_s,
                 (cells // n_s) % n_rx + rx_lo)


def interference_mw(rx: np.ndarray, sf: np.ndarray, start: np.ndarray, n_sub: np.ndarray,
                    power_mw: np.ndarray, *, n_subchannels: int | None = None,
                    cells: Cells | None = None, wanted: np.ndarray | None = None) -> np.ndarray:
    """Co-channel interference of every link over the wanted transmission's sub-channels.

    Every link is one transmission heard by one receiver with ``power_mw`` spread evenly over
    its ``n_sub`` sub-channels. The interference on link ``i`` is the power, at the same
    receiver and in the same subframe, of every *other* transmission on each sub-channel
    ``i`` occupies, summed over those sub-channels (an interferer sharing one of two
    sub-channels contributes half its power). No in-band emission: transmissions on other
    sub-channels of the subframe do not interfere. The sums run over every link of the
    period at once: one table of cell totals (:func:`cell_power`), then each link's cells
    minus its own share.

    Args:
        rx: (m,) int64 receiver; ``sf`` (m,) int64 subframe of the transmission.
        start: (m,) int64 first sub-channel; ``n_sub`` (m,) int64 sub-channels (>= 1).
        power_mw: (m,) float64 received power [mW].
        n_subchannels: sub-channels of the pool (default: as many as the links use);
            ``cells`` the :func:`cell_power` of these arguments if already computed.
        wanted: (w,) int64 indices of the links whose interference is wanted (default:
            all); every link still interferes with the others.

    Returns (m,) float64 interference [mW], or (w,) of the ``wanted`` links.
    """
    if rx.size == 0:
        return np.zeros(0)
    if cells is None:
        n_s = int((start + n_sub).max()) if n_subchannels is None else n_subchannels
        cells = cell_power(rx, sf, start, n_sub, power_mw, n_s)
    return cell_interference(cells, wanted)


def cell_interference(cells: Cells, wanted: np.ndarray | None = None) -> np.ndarray:
    """:func:`interference_mw` of the links of a :func:`cell_power` table: each link's cells
    minus its own share (floored at 0 against the rounding of total - own), summed over its
    sub-channels in order; (m,) float64 [mW], or (w,) of the ``wanted`` link indices."""
    if cells.width:  # (m, width) blocks of entries: take the wanted rows
        key = cells.key.reshape(-1, cells.width)
        share = cells.share.reshape(-1, cells.width)
        if wanted is not None:  # np.take: row fancy indexing is 10x slower
            key, share = np.take(key, wanted, axis=0), np.take(share, wanted, axis=0)
        others = np.take(cells.total, key)
        others -= share
        np.maximum(others, 0.0, out=others)  # rounding of total - own
        if cells.width == 1:
            return others.reshape(-1)
        out = others[:, 0].copy()
        for j in range(1, cells.width):  # sub-channels added in order
            out += others[:, j]
        return out
    m = cells.n_sub.size
    others = cells.total[cells.key]
    others -= cells.share
    np.maximum(others, 0.0, out=others)
    item = np.repeat(np.arange(m, dtype=np.int64), cells.n_sub)
    out = np.bincount(item, weights=others, minlength=m)
    return out if wanted is None else out[wanted]


def channel_busy_ratio(rx: np.ndarray, sf: np.ndarray, start: np.ndarray, n_sub: np.ndarray,
                       power_mw: np.ndarray, *, noise_subchannel_mw: float,
                       threshold_dbm: float, n_subchannels: int,
                       window_subframes: int,
                       cells: Cells | None = None) -> tuple[np.ndarray, np.ndarray]:
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
    return cell_busy_ratio(cells, rx, noise_subchannel_mw=noise_subchannel_mw,
                           threshold_dbm=threshold_dbm, window_subframes=window_subframes)


def cell_busy_ratio(cells: Cells, rx: np.ndarray, *, noise_subchannel_mw: float,
                    threshold_dbm: float,
                    window_subframes: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`channel_busy_ratio` from the :func:`cell_power` table of the links to receivers
    ``rx`` (m,): busy cells counted per receiver, over ``window_subframes`` x the table's
    sub-channels."""
    busy = cells.total > 10.0 ** (threshold_dbm / 10.0) - noise_subchannel_mw
    if cells.cell_rx is None:  # dense: (subframes, receivers x sub-channels) rows summed
        # (bytes summed as int32: 10x faster than the busy cells' indices // and %)
        per_cell = busy.view(np.uint8).reshape(-1, cells.n_rx * cells.n_s).sum(
            axis=0, dtype=np.int32)
        counts = per_cell.reshape(cells.n_rx, cells.n_s).sum(axis=1)
    else:
        counts = np.bincount(cells.cell_rx[busy] - cells.rx_lo, minlength=cells.n_rx)
    receivers = np.flatnonzero(np.bincount(rx - cells.rx_lo if cells.rx_lo else rx,
                                           minlength=cells.n_rx))
    return (receivers + cells.rx_lo,
            counts[receivers] / float(window_subframes * cells.n_s))


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
    threshold = np.full(n, float(threshold_dbm))
    # rows with fewer than `need` candidates at or below the threshold: raise it until the
    # need-th smallest measured RSRP is reached
    short = np.flatnonzero(np.count_nonzero(measured <= threshold_dbm, axis=1) < need)
    if short.size:
        kth = np.sort(measured[short], axis=1)[:, need - 1]  # (see _nth_by_key_then_tie)
        with np.errstate(invalid="ignore"):
            steps = np.maximum(np.ceil((kth - threshold_dbm) / step_db), 0.0)
        steps[np.isposinf(kth)] = np.inf  # too many not-monitored candidates: what remains
        threshold[short] = threshold_dbm + steps * step_db
    available = ~blocked & (rsrp_dbm <= threshold[:, None])
    rank_key = np.where(available, rssi_mw, np.inf)
    n_best = np.minimum(available.sum(axis=1), need)
    col = np.minimum((pick * n_best).astype(np.int64), np.maximum(n_best - 1, 0))
    return _nth_by_key_then_tie(rank_key, tie, col, need), threshold


def _nth_by_key_then_tie(key: np.ndarray, tie: np.ndarray, col: np.ndarray,
                         need: int) -> np.ndarray:
    """(n,) int64 column of the ``col``-th (< ``need``) smallest of each row of ``key``
    (n, M), equal keys ordered by ``tie`` (n, M): ``np.lexsort((tie, key), axis=1)[i,
    col[i]]`` without a lexsort: the chosen key ``v`` from the sorted rows, its rank among
    the keys equal to it, then that rank among their ties (sorted rows again). Equal ``tie``
    values within an equal-key group (random doubles: probability about M^2 / 2^54 per row)
    resolve to the lower column.

    Rows are sorted, not partitioned: S-RSSI rows hold many equal keys (every candidate
    nobody was heard on has the noise alone: about 270 of 400 on the 3GPP highway), where
    ``np.partition`` (introselect) was 8x slower than ``np.sort`` (measured 2.0 against 0.26
    ms for 100 rows of 400, numpy 2.4). The chosen key is the row minimum (no sort) when
    ``col`` is below the number of keys equal to it, as for those noise-only candidates."""
    rows = np.arange(key.shape[0])
    v = key.min(axis=1)  # the chosen key: the row minimum while col < its count (common)
    beyond = np.flatnonzero(col >= np.count_nonzero(key == v[:, None], axis=1))
    if beyond.size:
        v[beyond] = np.sort(key[beyond], axis=1)[np.arange(beyond.size), col[beyond]]
    v = v[:, None]
    r = col - np.count_nonzero(key < v, axis=1)  # its rank among the keys equal to it
    group_tie = np.where(key == v, tie, np.inf)
    t = np.sort(group_tie, axis=1)[rows, r][:, None]
    return np.argmax(group_tie == t, axis=1)
