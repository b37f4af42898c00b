"""LTE-V2X sidelink Mode 4: sensing-based semi-persistent scheduling, SINR, PER table, CBR.

What the model does, one *period* at a time (all transmissions generated at one time, e.g.
one 100 ms simulation step), vectorized over flows, links and sub-channels:

1. **Time.** A transmission generated at ``t`` (the loop's step time) is sent in subframe
   ``floor(t / 1 ms) + offset``, ``offset`` in ``[T1, T2]`` (``selection_t1`` 1 ms,
   ``selection_t2`` = the reservation interval, at most 100 ms), the offset its flow has
   reserved; the air latency is ``offset`` ms + ``latency_base`` + propagation. With the
   loop's 100 ms steps and the default 100 ms reservation interval the subframes of one
   step's transmissions, ``(t, t + 100 ms]``, never overlap the next step's, so periods are
   independent given the scheduling state (no interference between steps is lost). Steps
   shorter than ``T2`` would lose the cross-step interference (not checked).
2. **Resources.** ``n_rb = 5 * bandwidth_mhz`` resource blocks (10 MHz: 50) in sub-channels of
   ``subchannel_rb`` (12: 4 sub-channels of 10 MHz, the Gonzalez-Martin et al. set-up). A
   packet of ``size + security_overhead_bytes`` bytes needs
   ``ceil((8 bytes + 24 CRC) / bits_per_rb)`` data RBs (154.4 bits/RB: 190 B in 10 RBs,
   QPSK r 0.7, MCS 7 of R1-160284) plus ``pscch_rb`` (2) for the SCI, i.e.
   ``ceil((data + 2) / subchannel_rb)`` adjacent sub-channels (capped at all of them).
3. **Flows and SPS** (TS 36.321 5.14.1.1, TS 36.213 14.1.1.6). A flow is a (sender node,
   message type, n-th message of that type in the period) and holds a reservation (offset,
   first sub-channel, sub-channels) and a reselection counter. A flow selects a new resource
   when it has none, when its packet needs more sub-channels than reserved, or when its
   counter has reached 0 and a uniform draw is >= ``keep_probability``; the counter is then
   drawn in [5, 15] (RRI >= 100 ms; [10, 30] at 50 ms, [25, 75] at 20 ms) and decremented per
   transmission. Selection uses what the node sensed during the previous period (the last
   reservation interval): every transmission it heard, its sub-channels and received power,
   projected one interval ahead (``subframe + RRI``). Step 2 excludes candidates whose
   projected reservation has RSRP above ``rsrp_threshold_dbm`` and the subframes the node
   transmitted in (not monitored), raising the threshold by 3 dB until 20 % of the candidates
   remain; step 3 keeps the 20 % of lowest S-RSSI and picks one at random
   (:func:`v2x.channel._sps.select_resources`). RSRP here is the received power of the whole
   transmission, the analytical model's convention (-90.5 dBm over 10 RBs is about
   -111 dBm per resource element, near the lowest configurable threshold (to verify)).
   The S-RSSI average spans the last interval only (3GPP: the 10 intervals of the 1000 ms
   window; with periodic traffic they differ only after reselections). It sums every
   transmission heard, however weak (3GPP); ``rssi_floor_dbm`` counts only those above a
   floor instead (the Gonzalez-Martin et al. analytical model senses nothing below its
   -90.5 dBm sensing threshold: the calibration sets the floor there). A reselection is not
   announced: neighbours see the old reservation until the first transmission on the new one.
4. **Congestion control** (``congestion = true``): a flow's channel occupancy ratio CR is the
   sub-channels it used in the last 1000 ms, this transmission included, over all
   sub-channels of 1000 subframes; when CR exceeds the limit of its node's last CBR range
   (``cbr_ranges``) and its priority group (``priority_groups``: message type -> row of
   ``cr_limits``), the packet is dropped (not sent: lost at every receiver). Default table
   from ETSI TS 103 574 (to verify): CBR <= 0.3 no limit; (0.3, 0.65] 1.0 / 0.03 / 0.02;
   (0.65, 0.8] 0.02 / 0.006 / 0.004; > 0.8 0.02 / 0.003 / 0.002 for priority groups 0 / 1 / 2;
   every message type in group 1 by default.
5. **Received power** ``P = P_tx + 2 G - PL(d3) - X``: path loss by name (``path_loss``:
   WINNER+ B1 by default, :mod:`v2x.channel._pathloss`), ``X ~ N(0, shadowing_db)`` drawn
   per link and period (no spatial correlation: not modelled). Links lost outright: beyond
   ``range_m``; below ``sensitivity_dbm`` (-90.5 dBm, the analytical model's sensing power
   threshold); half duplex (the receiving node transmits in that subframe).
6. **SINR** ``= P / (I + N)``: ``I`` the power of every other transmission heard by the same
   receiver in the same subframe on each of the wanted sub-channels
   (:func:`v2x.channel._sps.interference_mw`; no in-band emission), ``N = -174 dBm/Hz +
   10 log10(B) + NF + 10 log10(data RBs / n_rb)`` the noise over the data RBs (10 MHz, 9 dB,
   10 RBs: -102.0 dBm). Interferers beyond ``range_m`` (default 1000 m) of a receiver are
   not counted: with the defaults (WINNER+ B1, h_env 1 m, 5.9 GHz, 23 dBm, 2 x 3 dBi) the
   median power of one at 1000 m is -111.1 dBm, 9 dB under that noise -- a cut, not an
   exact sum: shadowing of 3 dB lifts 0.1 % of them within 0 dB of the noise. No shorter
   cut is taken for speed: at 600 m the median is -102.2 dBm, at the noise itself, and
   the links between 600 and 1000 m (about 40 % on a highway) count for SINR, CBR and
   the S-RSSI ranking.
7. **Reception**: a uniform draw >= PER(SINR) from the table ``per_table``
   (:mod:`v2x.channel._per`, R1-160284).
8. **Load.** Per receiving node and period the CBR: busy sub-channels (S-RSSI of one
   sub-channel above ``cbr_threshold_dbm``, -94 dBm) over the period's
   ``RRI x sub-channels`` (:func:`v2x.channel._sps.channel_busy_ratio`); per transmission
   its CR. :meth:`Mode4Channel.take_load` hands them to the loop's KPIs.

Not modelled: blind retransmissions, SCI decoding failures (a reservation is seen whenever
its RSRP is above the threshold), in-band emission, Doppler beyond the PER table (280 km/h
relative speed), spatially correlated shadowing, LOS/NLOS states (WINNER+ B1 is LOS).

Random draws per period, in this order: ``rng.random(k)`` keep draws; ``rng.integers`` new
counters (k); per group of selecting flows with the same sub-channel count (ascending) the
draws of :func:`~v2x.channel._sps.select_resources`; ``rng.standard_normal(m)``
shadowing; ``rng.random(m)`` reception.

Cost (one period, every array over its links at once, no Python loop per subframe, link or
receiver): the received power once per link (path loss with scalar antenna heights for
the vehicle-to-vehicle links, per-link heights only where an RSU is at either end, the
distances checked once); what links share with their transmission (subframe, first
sub-channel, sub-channels, half duplex, air time) read through the link's transmission from
per-transmission arrays, not expanded per link; one table of power per (subframe, receiver,
sub-channel) cell summed by ``np.add.at`` into a zeroed array kept across periods
(:func:`~v2x.channel._sps.cell_power` with ``link_tx`` and ``scratch``), shared by the
interference of every link (cell total minus its own share) and the CBR (busy cells per
receiver by summing rows of the table); SINR, PER and the reception draw only for links
that can be received (in range, above ``sensitivity_dbm``, receiver not transmitting:
about a third on the 3GPP highway), written straight into the window's outputs; sensing
kept as the period's own link arrays and read only for the UEs that reselect (about 1 in
10 a period); step 3 by sorted rows (``np.partition`` degrades 8x on the hundreds of equal
noise-only S-RSSI keys of a row), no sort when the pick falls among those. Measured
(``benchmarks/bench_mode4.py``, this loaded 2-core machine, loop-thread CPU per simulated
second, 3 runs each alternating with main at 3241cf8, 2026-12-04 08:49-08:53 UTC, medians):
3GPP highway, 1,000 vehicles, 119 k links a period: the model 132 -> 82 ms (real time x7.6
-> x12.2), the channel stage with the link search 235 -> 122 ms (x4.3 -> x8.2); urban grid,
940 vehicles, 681 k links: the model 543 -> 401 ms, the stage 676 -> 510 ms (x1.5 -> x2.0).
The same receptions, latencies, SINRs and CBR, bit for bit. With the loop's link search
through a neighbour list (:class:`~v2x.channel.NeighbourList`; 13:01-13:09 UTC, main at
9f265c5, medians of 3 sessions of 3 alternating runs) the highway stage is 79-81 ms (x12.3 to
x12.7), the model 57-59 ms. What is left on the highway is
about 8 ms a period: the shadowing and reception draws (1.4 ms, the same cost in float32),
the selection of the ~100 UEs that reselect (about a fifth), the path loss, the cell table
and some 25 more numpy passes over the links.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from v2x.errors import ConfigError
from v2x.msgset import MSG_TYPES

from ._base import LOST, Reception, check_choice, check_duration, check_number
from ._pairs import LinkBatch
from ._pathloss import PATH_LOSS_MODELS, check_carrier_ghz, check_distances, path_loss_db
from ._per import per_table
from ._sps import (
    DENSE_MAX_CELLS,
    Cells,
    cell_busy_ratio,
    cell_interference,
    cell_power,
    counter_range,
    select_resources,
)

__all__ = ["ChannelLoad", "ChannelLoadStats", "Mode4Channel", "ScheduledChannel"]

SUBFRAME_NS = 1_000_000
_NS_PER_M = 1e9 / 299_792_458.0
THERMAL_NOISE_DBM_HZ = -174.0
_FLOW_SLOTS = 64 * 16  # message type codes x n-th message of a type in one period
_NO_LIMIT = 1.0

#: default CR limits, rows = priority groups, columns = CBR ranges (ETSI TS 103 574, to verify)
DEFAULT_CBR_RANGES = (0.3, 0.65, 0.8)
DEFAULT_CR_LIMITS = ((1.0, 1.0, 0.02, 0.02), (1.0, 0.03, 0.006, 0.003),
                     (1.0, 0.02, 0.004, 0.002))


@dataclass(frozen=True)
class ChannelLoad:
    """Channel load measured since the last :meth:`Mode4Channel.take_load`.

    Attributes:
        cbr: (c,) float64 CBR in [0, 1], one per receiving node and period.
        cbr_node: (c,) int64 the node of each CBR sample.
        cr: (k,) float64 channel occupancy ratio of every transmission (sent or dropped).
        dropped: (k,) bool, the transmission was dropped by congestion control.
    """

    cbr: np.ndarray
    cbr_node: np.ndarray
    cr: np.ndarray
    dropped: np.ndarray


class ChannelLoadStats:
    """Run-wide aggregates of :class:`ChannelLoad` samples: a CBR histogram of 0.01 bins
    (exact mean, 95th percentile as the upper edge of its bin), mean CR, dropped count."""

    def __init__(self) -> None:
        self.cbr_counts = np.zeros(101, np.int64)  # bin i: [i / 100, (i + 1) / 100)
        self.cbr_sum = 0.0
        self.cr_sum = 0.0
        self.n_cr = 0
        self.dropped = 0

    def add(self, load: ChannelLoad) -> None:
        """Count one window's samples."""
        b = np.minimum((load.cbr * 100.0).astype(np.int64), 100)
        self.cbr_counts += np.bincount(b, minlength=101)
        self.cbr_sum += float(load.cbr.sum())
        self.cr_sum += float(load.cr.sum())
        self.n_cr += int(load.cr.size)
        self.dropped += int(np.count_nonzero(load.dropped))

    def summary(self) -> dict[str, float]:
        """``cbr_mean``, ``cbr_p95`` (NaN without samples), ``cr_mean``, ``dropped``,
        ``cbr_samples``, ``transmissions``."""
        n = int(self.cbr_counts.sum())
        if n:
            k = math.ceil(0.95 * n)
            p95 = (int(np.searchsorted(np.cumsum(self.cbr_counts), k)) + 1) / 100.0
        return {"cbr_mean": self.cbr_sum / n if n else math.nan,
                "cbr_p95": min(p95, 1.0) if n else math.nan,
                "cr_mean": self.cr_sum / self.n_cr if self.n_cr else math.nan,
                "dropped": self.dropped, "cbr_samples": n, "transmissions": self.n_cr}


class ScheduledChannel:
    """Marker base of channel models that keep scheduling state across steps.

    Such a model also follows :class:`v2x.channel.ChannelModel` (``name``, ``max_range_m``)
    but the loop calls :meth:`evaluate_scheduled` (who sends, when, which message) instead of
    ``evaluate``, and :meth:`take_load` after each window.
    """

    name: str
    max_range_m: float

    def evaluate_scheduled(self, links: LinkBatch, *, tx_t_ns: np.ndarray,
                           tx_node: np.ndarray, tx_msg_type: np.ndarray,
                           rx_node: np.ndarray, tx_height_m: np.ndarray,
                           rx_height_m: np.ndarray, size_bytes: np.ndarray,
                           rng: np.random.Generator) -> Reception:
        raise NotImplementedError

    def take_load(self) -> ChannelLoad:
        raise NotImplementedError


def _check_table(name: str, value: object, n_cols: int) -> tuple[tuple[float, ...], ...]:
    rows = value if isinstance(value, (list, tuple)) else None
    if not rows or not all(isinstance(r, (list, tuple)) and len(r) == n_cols for r in rows):
        raise ConfigError(f"expected a list of rows of {n_cols} numbers, got {value!r}",
                          key=f"channel.{name}", value=value)
    out = tuple(tuple(check_number(name, x, positive=True) for x in r) for r in rows)
    return out


class Mode4Channel(ScheduledChannel):
    """LTE-V2X sidelink Mode 4 (see the module docstring for every step and formula).

    Keyword arguments are the ``[channel]`` parameters of a scenario; defaults in brackets:
    ``path_loss`` ["winner-b1"], ``carrier_ghz`` [5.9], ``h_env_m`` [1.0, TR 36.885],
    ``tx_power_dbm`` [23], ``antenna_gain_dbi`` [3], ``bandwidth_mhz`` [20],
    ``noise_figure_db`` [9], ``subchannel_rb`` [12], ``pscch_rb`` [2], ``bits_per_rb``
    [154.4], ``per_table`` ["qpsk-r0.7"], ``security_overhead_bytes`` [72: a 64-byte
    signature and an 8-byte certificate digest (to verify)], ``shadowing_db`` [3],
    ``sensitivity_dbm`` [-90.5], ``rsrp_threshold_dbm`` [-90.5], ``threshold_step_db`` [3],
    ``candidate_share`` [0.2], ``rssi_floor_dbm`` [none: the S-RSSI ranking counts every
    transmission heard; a number counts only those received above it], ``rri`` ["100 ms"],
    ``selection_t1`` ["1 ms"],
    ``selection_t2`` [the RRI, at most "100 ms"], ``keep_probability`` [0, in 0..0.8],
    ``cbr_threshold_dbm`` [-94], ``congestion`` [true], ``cbr_ranges``, ``cr_limits``,
    ``priority_groups`` [every message type: 1], ``latency_base`` ["2 ms"],
    ``range_m`` [1000].

    Raises ConfigError naming ``channel.<param>`` and the value for a malformed or
    out-of-range parameter.
    """

    name = "mode4"

    def __init__(
        self,
        *,
        path_loss: str = "winner-b1",
        carrier_ghz: float = 5.9,
        h_env_m: float = 1.0,
        tx_power_dbm: float = 23.0,
        antenna_gain_dbi: float = 3.0,
        bandwidth_mhz: float = 20.0,
        noise_figure_db: float = 9.0,
        subchannel_rb: int = 12,
        pscch_rb: int = 2,
        bits_per_rb: float = 154.4,
        per_table: str = "qpsk-r0.7",
        security_overhead_bytes: int = 72,
        shadowing_db: float = 3.0,
        sensitivity_dbm: float = -90.5,
        rsrp_threshold_dbm: float = -90.5,
        threshold_step_db: float = 3.0,
        candidate_share: float = 0.2,
        rssi_floor_dbm: float | None = None,
        rri: str = "100 ms",
        selection_t1: str = "1 ms",
        selection_t2: str | None = None,
        keep_probability: float = 0.0,
        cbr_threshold_dbm: float = -94.0,
        congestion: bool = True,
        cbr_ranges: list[float] | tuple[float, ...] = DEFAULT_CBR_RANGES,
        cr_limits: list[list[float]] | tuple[tuple[float, ...], ...] = DEFAULT_CR_LIMITS,
        priority_groups: dict[str, int] | None = None,
        latency_base: str = "2 ms",
        range_m: float = 1000.0,
    ) -> None:
        self._init_radio(path_loss, carrier_ghz, h_env_m, tx_power_dbm, antenna_gain_dbi,
                         bandwidth_mhz, noise_figure_db, subchannel_rb, pscch_rb, bits_per_rb,
                         per_table, security_overhead_bytes, shadowing_db, sensitivity_dbm,
                         range_m)
        self._init_sps(rsrp_threshold_dbm, threshold_step_db, candidate_share, rri,
                       selection_t1, selection_t2, keep_probability, latency_base)
        self.rssi_floor_dbm = (-math.inf if rssi_floor_dbm is None
                               else check_number("rssi_floor_dbm", rssi_floor_dbm))
        self._init_congestion(cbr_threshold_dbm, congestion, cbr_ranges, cr_limits,
                              priority_groups)
        self.params: dict[str, object] = {
            "path_loss": path_loss, "carrier_ghz": carrier_ghz, "h_env_m": h_env_m,
            "tx_power_dbm": tx_power_dbm, "antenna_gain_dbi": antenna_gain_dbi,
            "bandwidth_mhz": bandwidth_mhz, "noise_figure_db": noise_figure_db,
            "subchannel_rb": subchannel_rb, "pscch_rb": pscch_rb, "bits_per_rb": bits_per_rb,
            "per_table": per_table, "security_overhead_bytes": security_overhead_bytes,
            "shadowing_db": shadowing_db, "sensitivity_dbm": sensitivity_dbm,
            "rsrp_threshold_dbm": rsrp_threshold_dbm, "threshold_step_db": threshold_step_db,
            "candidate_share": candidate_share, "rssi_floor_dbm": rssi_floor_dbm,
            "rri": rri, "selection_t1": selection_t1,
            "selection_t2": f"{self.t2} ms", "keep_probability": keep_probability,
            "cbr_threshold_dbm": cbr_threshold_dbm, "congestion": congestion,
            "cbr_ranges": list(self.cbr_ranges), "cr_limits": [list(r) for r in self.cr_limits],
            "priority_groups": dict(priority_groups or {}), "latency_base": latency_base,
            "range_m": range_m,
        }
        self._reset_state()

    # -- parameters ------------------------------------------------------------------------
    def _init_radio(self, path_loss: str, carrier_ghz: float, h_env_m: float,
                    tx_power_dbm: float, antenna_gain_dbi: float, bandwidth_mhz: float,
                    noise_figure_db: float, subchannel_rb: int, pscch_rb: int,
                    bits_per_rb: float, per_table_name: str, security_overhead_bytes: int,
                    shadowing_db: float, sensitivity_dbm: float, range_m: float) -> None:
        self.path_loss = check_choice("path_loss", path_loss, PATH_LOSS_MODELS)
        self.carrier_ghz = check_carrier_ghz(carrier_ghz)
        self.h_env_m = check_number("h_env_m", h_env_m, nonnegative=True)
        self.tx_power_dbm = check_number("tx_power_dbm", tx_power_dbm)
        self.antenna_gain_dbi = check_number("antenna_gain_dbi", antenna_gain_dbi)
        bw = check_number("bandwidth_mhz", bandwidth_mhz, positive=True)
        if bw not in (1.4, 3.0, 5.0, 10.0, 15.0, 20.0):
            raise ConfigError(f"LTE channel bandwidth must be 1.4, 3, 5, 10, 15 or 20 MHz, "
                              f"got {bandwidth_mhz!r}", key="channel.bandwidth_mhz",
                              value=bandwidth_mhz)
        self.n_rb = 6 if bw == 1.4 else int(round(5 * bw))
        nf = check_number("noise_figure_db", noise_figure_db, nonnegative=True)
        self.subchannel_rb = int(check_number("subchannel_rb", subchannel_rb, positive=True))
        if self.subchannel_rb > self.n_rb or self.subchannel_rb != subchannel_rb:
            raise ConfigError(f"sub-channel size must be a whole number of RBs <= {self.n_rb}",
                              key="channel.subchannel_rb", value=subchannel_rb)
        self.n_subchannels = self.n_rb // self.subchannel_rb
        self.pscch_rb = int(check_number("pscch_rb", pscch_rb, nonnegative=True))
        self.bits_per_rb = check_number("bits_per_rb", bits_per_rb, positive=True)
        self.per = per_table(per_table_name)
        self.security_overhead_bytes = int(check_number(
            "security_overhead_bytes", security_overhead_bytes, nonnegative=True))
        self.shadowing_db = check_number("shadowing_db", shadowing_db, nonnegative=True)
        self.sensitivity_dbm = check_number("sensitivity_dbm", sensitivity_dbm, allow_inf=True)
        self.max_range_m = check_number("range_m", range_m, nonnegative=True, allow_inf=True)
        #: noise over the whole channel [dBm]
        self.noise_channel_dbm = THERMAL_NOISE_DBM_HZ + 10.0 * math.log10(bw * 1e6) + nf
        self.noise_subchannel_mw = 10.0 ** (
            (self.noise_channel_dbm + 10.0 * math.log10(self.subchannel_rb / self.n_rb)) / 10)

    def _init_sps(self, rsrp_threshold_dbm: float, threshold_step_db: float,
                  candidate_share: float, rri: str, selection_t1: str,
                  selection_t2: str | None, keep_probability: float,
                  latency_base: str) -> None:
        self.rsrp_threshold_dbm = check_number("rsrp_threshold_dbm", rsrp_threshold_dbm)
        self.threshold_step_db = check_number("threshold_step_db", threshold_step_db,
                                              positive=True)
        self.candidate_share = check_number("candidate_share", candidate_share, positive=True)
        if self.candidate_share > 1.0:
            raise ConfigError("must be in (0, 1]", key="channel.candidate_share",
                              value=candidate_share)
        rri_ns = check_duration("rri", rri)
        self.rri = self._whole_ms("rri", rri, rri_ns)
        try:
            counter_range(self.rri)
        except ValueError as exc:
            raise ConfigError(str(exc), key="channel.rri", value=rri) from None
        self.t1 = self._whole_ms("selection_t1", selection_t1,
                                 check_duration("selection_t1", selection_t1))
        if selection_t2 is None:
            self.t2 = min(self.rri, 100)
        else:
            self.t2 = self._whole_ms("selection_t2", selection_t2,
                                     check_duration("selection_t2", selection_t2))
        if not (1 <= self.t1 <= 4):
            raise ConfigError("T1 must be 1..4 ms (TS 36.213)", key="channel.selection_t1",
                              value=selection_t1)
        if not (self.t1 < self.t2 <= min(self.rri, 100)):
            raise ConfigError(f"T2 must be in (T1, min(rri, 100 ms)] = ({self.t1}, "
                              f"{min(self.rri, 100)}] ms", key="channel.selection_t2",
                              value=selection_t2)
        self.keep_probability = check_number("keep_probability", keep_probability,
                                             nonnegative=True)
        if self.keep_probability > 0.8:
            raise ConfigError("must be in 0..0.8 (TS 36.321)", key="channel.keep_probability",
                              value=keep_probability)
        self.latency_base_ns = check_duration("latency_base", latency_base)

    def _init_congestion(self, cbr_threshold_dbm: float, congestion: bool,
                         cbr_ranges: object, cr_limits: object,
                         priority_groups: dict[str, int] | None) -> None:
        self.cbr_threshold_dbm = check_number("cbr_threshold_dbm", cbr_threshold_dbm)
        if not isinstance(congestion, bool):
            raise ConfigError("expected true or false", key="channel.congestion",
                              value=congestion)
        self.congestion = congestion
        if not isinstance(cbr_ranges, (list, tuple)) or not cbr_ranges:
            raise ConfigError("expected a list of CBR range upper bounds",
                              key="channel.cbr_ranges", value=cbr_ranges)
        ranges = tuple(check_number("cbr_ranges", x, positive=True) for x in cbr_ranges)
        if any(b <= a for a, b in zip(ranges, ranges[1:], strict=False)) or ranges[-1] >= 1:
            raise ConfigError("CBR range bounds must increase within (0, 1)",
                              key="channel.cbr_ranges", value=cbr_ranges)
        self.cbr_ranges = ranges
        self.cr_limits = _check_table("cr_limits", cr_limits, len(ranges) + 1)
        groups = np.ones(len(MSG_TYPES), np.int64)
        for msg, g in (priority_groups or {}).items():
            if msg not in MSG_TYPES or isinstance(g, bool) or not isinstance(g, int) or not (
                    0 <= g < len(self.cr_limits)):
                raise ConfigError(f"expected message type -> row 0..{len(self.cr_limits) - 1}"
                                  f" of cr_limits, got {msg!r} = {g!r}",
                                  key="channel.priority_groups", value=priority_groups)
            groups[MSG_TYPES.index(msg)] = g
        if len(self.cr_limits) < 2:
            groups[:] = 0
        self._group_of_type = groups
        self._limit_table = np.array(self.cr_limits, np.float64)

    @staticmethod
    def _whole_ms(key: str, text: object, ns: int) -> int:
        if ns % SUBFRAME_NS or ns <= 0:
            raise ConfigError(f"must be a whole number (> 0) of 1 ms subframes, got {text!r}",
                              key=f"channel.{key}", value=text)
        return ns // SUBFRAME_NS

    def __repr__(self) -> str:
        return (f"Mode4Channel(path_loss={self.path_loss!r}, n_subchannels="
                f"{self.n_subchannels}, rri={self.rri} ms)")

    # -- state -----------------------------------------------------------------------------
    def _reset_state(self) -> None:
        z = np.zeros(0, np.int64)
        self._key = z          # (f,) sorted flow keys
        self._offset = z       # reserved subframe offset from generation [ms], -1: none
        self._start = z        # first sub-channel
        self._nsub = z         # sub-channels reserved
        self._counter = z      # reselection counter
        self._last_sf = z      # subframe of the flow's last generation
        self._hist_k = max(1, -(-1000 // self.rri))  # transmissions kept for CR (1000 ms)
        self._hist_sf = np.zeros((0, self._hist_k), np.int64)
        self._hist_n = np.zeros((0, self._hist_k), np.int64)
        # what every node sensed in the previous period (the period's link arrays)
        self._sense = _Sensed(z, z, np.zeros(0, bool), z, z, z, z, np.zeros(0))
        self._own_node, self._own_sf = z, z  # the previous period's transmissions
        self._cbr_node, self._cbr = z, np.zeros(0)  # each node's last CBR
        self._cells = np.zeros(0)  # the dense cell table's scratch (zeros between periods)
        self._load: list[ChannelLoad] = []

    def take_load(self) -> ChannelLoad:
        """The CBR and CR samples since the last call (then forgotten)."""
        parts, self._load = self._load, []
        if not parts:
            z = np.zeros(0)
            return ChannelLoad(z, np.zeros(0, np.int64), z, np.zeros(0, bool))
        return ChannelLoad(*(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("cbr", "cbr_node", "cr", "dropped")))

    def subchannels_needed(self, size_bytes: np.ndarray) -> np.ndarray:
        """(k,) int64 sub-channels a packet of ``size_bytes`` (frame only) occupies."""
        bits = (np.asarray(size_bytes, np.int64) + self.security_overhead_bytes) * 8 + 24
        data_rb = np.ceil(bits / self.bits_per_rb - 1e-9).astype(np.int64)
        need = -(-(data_rb + self.pscch_rb) // self.subchannel_rb)
        return np.clip(need, 1, self.n_subchannels)

    def data_noise_mw(self, n_sub: np.ndarray) -> np.ndarray:
        """(k,) noise over the data RBs of transmissions of ``n_sub`` sub-channels [mW]."""
        data_rb = np.maximum(n_sub * self.subchannel_rb - self.pscch_rb, 1)
        return 10.0 ** ((self.noise_channel_dbm + 10.0 * np.log10(data_rb / self.n_rb)) / 10)

    # -- the ChannelModel method -----------------------------------------------------------
    def evaluate(self, links: LinkBatch, *, tx_height_m: np.ndarray,
                 rx_height_m: np.ndarray, size_bytes: np.ndarray,
                 rng: np.random.Generator) -> Reception:
        """Not available: Mode 4 needs who sends when; see :meth:`evaluate_scheduled`."""
        raise TypeError("mode4 keeps scheduling state across steps: call evaluate_scheduled "
                        "with the senders' nodes and times")

    # -- one window ------------------------------------------------------------------------
    def evaluate_scheduled(self, links: LinkBatch, *, tx_t_ns: np.ndarray,
                           tx_node: np.ndarray, tx_msg_type: np.ndarray,
                           rx_node: np.ndarray, tx_height_m: np.ndarray,
                           rx_height_m: np.ndarray, size_bytes: np.ndarray,
                           rng: np.random.Generator) -> Reception:
        """Evaluate every link of a window, one generation time (period) after the other.

        Args:
            links: candidate links, sorted by ``tx``; a link joins a transmission and a
                receiver of the same period.
            tx_t_ns: (k,) int64 generation time of each transmission [ns], non-decreasing.
            tx_node: (k,) int64 sender node; ``tx_msg_type`` (k,) int code into MSG_TYPES.
            rx_node: (r,) int64 receiver node (the ids senders use).
            tx_height_m, rx_height_m: antenna heights [m]; ``size_bytes`` (k,) frame sizes.
            rng: the only randomness (draws in the module docstring's order).

        Returns the :class:`Reception` of every link; ``snr_db`` holds the SINR [dB] of the
        links that reach their receiver (within ``range_m``, received power at or above
        ``sensitivity_dbm``, the receiver not transmitting in that subframe), NaN for the
        others (their SINR decides nothing) and for a transmission dropped by congestion
        control.
        """
        d2 = check_distances(links.distance_m, name="links.distance_m")
        t = np.asarray(tx_t_ns, np.int64)
        m = len(links)
        received = np.zeros(m, bool)
        latency = np.full(m, LOST, np.int64)
        sinr = np.full(m, np.nan)
        if t.size == 0:
            return Reception(received, latency, sinr)
        if bool(np.any(np.diff(t) < 0)):
            raise ValueError("tx_t_ns must be non-decreasing (transmissions in period order)")
        rx_nodes = np.asarray(rx_node, np.int64)
        rx_heights = np.asarray(rx_height_m, np.float64)
        bounds = np.flatnonzero(np.diff(t)) + 1
        t_lo = np.concatenate([[0], bounds])
        t_hi = np.concatenate([bounds, [t.size]])
        l_bnd = np.searchsorted(links.tx, np.concatenate([t_lo, [t.size]]))
        for a, b, la, lb in zip(t_lo.tolist(), t_hi.tolist(), l_bnd[:-1].tolist(),
                                l_bnd[1:].tolist(), strict=True):
            l_tx = links.tx[la:lb]
            self._period(
                int(t[a]) // SUBFRAME_NS, l_tx - a if a else l_tx, links.rx[la:lb], d2[la:lb],
                np.asarray(tx_node[a:b], np.int64), np.asarray(tx_msg_type[a:b], np.int64),
                np.asarray(size_bytes[a:b], np.int64),
                np.asarray(tx_height_m[a:b], np.float64), rx_nodes, rx_heights, rng,
                _Outcome(received[la:lb], latency[la:lb], sinr[la:lb]))
        return Reception(received, latency, sinr)

    # -- one period ------------------------------------------------------------------------
    def _period(self, gen_sf: int, l_tx: np.ndarray, r_rows: np.ndarray, d2: np.ndarray,
                node: np.ndarray, msg: np.ndarray, size: np.ndarray, h_tx: np.ndarray,
                rx_node: np.ndarray, rx_h: np.ndarray, rng: np.random.Generator,
                out: _Outcome) -> None:
        """One period's links (transmission ``l_tx``, receiver row ``r_rows``, distance
        ``d2``); the received ones, their latency and the SINRs written into ``out``
        (initially not received, LOST, NaN)."""
        flow = self._flows(gen_sf, node, msg)
        need = self.subchannels_needed(size)
        self._schedule(gen_sf, flow, node, need, rng)
        sent, cr = self._congestion(gen_sf, flow, node, msg, need)
        off = self._offset[flow]
        tx_sf = gen_sf + off
        start = self._start[flow]
        self._counter[flow] -= sent
        self._remember_tx(flow, tx_sf, need, sent)

        # links of the sent transmissions (every array below is over them)
        m = l_tx.size
        z_shadow = rng.standard_normal(m)
        u_rx = rng.random(m)
        r_lo = int(r_rows.min()) if m else 0
        row_node = rx_node[r_lo:int(r_rows.max()) + 1] if m else rx_node[:0]
        sel = None if bool(sent.all()) else np.flatnonzero(sent[l_tx])
        if sel is not None:
            l_tx, r_rows, d2 = l_tx[sel], r_rows[sel], d2[sel]
            z_shadow, u_rx = z_shadow[sel], u_rx[sel]
        rr = r_rows - r_lo if r_lo else r_rows
        d3, p_dbm = self._path_loss(d2, h_tx, l_tx, rx_h, r_rows)
        np.subtract(self.tx_power_dbm + 2.0 * self.antenna_gain_dbi, p_dbm, out=p_dbm)
        z_shadow *= self.shadowing_db
        p_dbm -= z_shadow
        p_mw = np.multiply(p_dbm, math.log(10.0) / 10.0, out=z_shadow)  # (its last use)
        np.exp(p_mw, out=p_mw)
        hd = self._half_duplex(rr, l_tx, row_node, node, tx_sf, sent)
        cells = (cell_power(rr, tx_sf, start, need, p_mw, self.n_subchannels, link_tx=l_tx,
                            scratch=self._cell_scratch(row_node.size)) if rr.size else None)
        got = p_dbm >= self.sensitivity_dbm
        if self.max_range_m < math.inf:
            got &= d2 <= self.max_range_m
        np.greater(got, hd, out=got)  # and heard: the receiver not transmitting (bools)
        g = np.flatnonzero(got)  # SINR and the PER draw only where it can be received
        if cells is not None:
            self._reception(g, sel, l_tx, p_mw, d3, u_rx, need, off, cells, out)
            rows, cbr = cell_busy_ratio(cells, rr, noise_subchannel_mw=self.noise_subchannel_mw,
                                        threshold_dbm=self.cbr_threshold_dbm,
                                        window_subframes=self.rri)
            if cells.total.base is self._cells:  # zeroed again for the next period
                cells.total.fill(0.0)  # (a memset: 2x faster than zeros scattered by key)
        else:
            rows, cbr = np.zeros(0, np.int64), np.zeros(0)
        # what every node measured this period: CBR, and the sensing for the next one
        cbr_node = row_node[rows]
        order = np.argsort(cbr_node, kind="stable")
        self._cbr_node, self._cbr = cbr_node[order], cbr[order]
        self._load.append(ChannelLoad(cbr, cbr_node, cr, ~sent))
        self._sense = _Sensed(row_node, rr, hd, l_tx, tx_sf, start, need, p_dbm)
        own = np.flatnonzero(sent)
        own = own[np.argsort(node[own], kind="stable")]
        self._own_node, self._own_sf = node[own], tx_sf[own]

    def _cell_scratch(self, n_rows: int) -> np.ndarray:
        """The zeroed dense cell table kept across periods, grown to the largest a period of
        ``n_rows`` receiver rows can need (window subframes x rows x sub-channels: the 3GPP
        highway at 1,000 vehicles 400 k cells, 3.2 MB, otherwise new pages each period),
        unless that is beyond :data:`~v2x.channel._sps.DENSE_MAX_CELLS`."""
        want = (self.t2 - self.t1 + 1) * n_rows * self.n_subchannels
        if self._cells.size < want <= DENSE_MAX_CELLS:
            self._cells = np.zeros(want)
        return self._cells

    def _reception(self, g: np.ndarray, sel: np.ndarray | None, l_tx: np.ndarray,
                   p_mw: np.ndarray, d3: np.ndarray, u_rx: np.ndarray, need: np.ndarray,
                   off: np.ndarray, cells: Cells, out: _Outcome) -> None:
        """SINR [dB], the PER draw and the latency of the links ``g`` that can be received
        (indices into the sent links; ``sel`` maps them to the period's links, None: the
        same), written into ``out``."""
        interference = cell_interference(cells, g)
        noise = self.data_noise_mw(need)  # per transmission
        if noise.size and noise.min() == noise.max():  # (one width) one value for all links
            interference += float(noise[0])
        else:
            interference += noise[l_tx[g]]
        s_g = np.log10(np.divide(p_mw[g], interference, out=interference))
        s_g *= 10.0
        at = g if sel is None else sel[g]
        out.sinr[at] = s_g
        # (power / (interference + noise) > 0 and finite: no NaN SINR)
        keep = np.flatnonzero(u_rx[g] >= self.per.error_rate(s_g, nan_free=True))
        g, at = g[keep], at[keep]
        out.received[at] = True
        air_ns = off * SUBFRAME_NS + self.latency_base_ns  # per transmission (integers)
        prop = np.rint(np.multiply(d3[g], _NS_PER_M)).astype(np.int64)
        prop += air_ns[l_tx[g]]
        out.latency[at] = prop

    def _path_loss(self, d2: np.ndarray, h_tx: np.ndarray, l_tx: np.ndarray,
                   rx_h: np.ndarray, r_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """3-D distance [m] and path loss [dB] of every link (links ``l_tx`` -> ``r_rows``,
        2-D distance ``d2``, antenna heights per sender ``h_tx`` and receiver row ``rx_h``).

        The links between the most common sender height and the most common receiver height
        (vehicles: 1.5 m) take scalar heights (fewer passes,
        :func:`~v2x.channel._pathloss.path_loss_db`); the others (an RSU at 5..6 m at
        either end: a few per cent) per-link heights; the same values as per-link heights
        for all. ``d3 = sqrt(d2^2 + dh^2)`` (``d2`` itself where ``dh = 0``: the square
        root of a rounded square is the number again).
        """
        if d2.size == 0:
            return d2, np.zeros(0)
        ht, hr = _most_common(h_tx), _most_common(rx_h)
        odd_tx, odd_rx = h_tx != ht, rx_h != hr
        dh = ht - hr
        d3 = np.sqrt(d2 * d2 + dh * dh) if dh else d2
        pl = self._pl(d3, ht, hr)
        if not (bool(odd_tx.any()) or bool(odd_rx.any())):  # no RSU: no per-link gathers
            return d3, pl
        odd = odd_tx[l_tx]
        odd |= odd_rx[r_rows]
        idx = np.flatnonzero(odd)
        if idx.size:
            h_t, h_r = h_tx[l_tx[idx]], rx_h[r_rows[idx]]
            dh_odd = h_t - h_r
            d = d2[idx]
            d = np.sqrt(d * d + dh_odd * dh_odd)
            d3 = d3.copy() if d3 is d2 else d3
            d3[idx] = d
            pl[idx] = self._pl(d, h_t, h_r)
        return d3, pl

    def _pl(self, d3: np.ndarray, h_t: np.ndarray | float,
            h_r: np.ndarray | float) -> np.ndarray:
        return path_loss_db(self.path_loss, d3, carrier_ghz=self.carrier_ghz, h_tx_m=h_t,
                            h_rx_m=h_r, h_env_m=self.h_env_m, checked=True)

    @staticmethod
    def _half_duplex(rr: np.ndarray, l_tx: np.ndarray, row_node: np.ndarray,
                     node: np.ndarray, tx_sf: np.ndarray, sent: np.ndarray) -> np.ndarray:
        """(m,) bool: the receiver of each link (row ``rr``, node ``row_node[rr]``)
        transmits in the subframe of the link's transmission ``l_tx`` itself:
        :func:`~v2x.channel._sps.half_duplex_lost` from the per-transmission subframes
        ``tx_sf`` of the period (``node``, ``sent``), one dense (rows x subframes) table
        read through each link's transmission (4 passes over the links, not 8)."""
        tx_node, sf_sent = node[sent], tx_sf[sent]
        if rr.size == 0 or tx_node.size == 0:
            return np.zeros(rr.shape, bool)
        order = np.argsort(row_node, kind="stable")
        pos = np.minimum(np.searchsorted(row_node[order], tx_node), row_node.size - 1)
        tx_row = np.where(row_node[order][pos] == tx_node, order[pos], -1)
        lo = int(tx_sf.min())
        span = int(tx_sf.max()) - lo + 1
        busy = np.zeros(row_node.size * span, bool)
        mine = tx_row >= 0
        busy[tx_row[mine] * span + (sf_sent[mine] - lo)] = True
        at = rr * span
        at += (tx_sf - lo)[l_tx]
        return busy[at]

    def _flows(self, gen_sf: int, node: np.ndarray, msg: np.ndarray) -> np.ndarray:
        """Index of every transmission's flow in the state arrays (new flows added, flows
        silent for more than 1100 ms dropped first)."""
        base = node * _FLOW_SLOTS + msg * 16
        order = np.argsort(base, kind="stable")
        sb = base[order]
        first = np.searchsorted(sb, sb)  # first row of each run of equal keys
        nth = np.empty_like(base)
        nth[order] = np.arange(sb.size) - first
        key = base + np.minimum(nth, 15)
        stale = self._last_sf < gen_sf - 1100
        if stale.any():
            self._keep_flows(~stale)
        idx = np.searchsorted(self._key, key)
        known = idx < self._key.size
        known[known] = self._key[idx[known]] == key[known]
        if not bool(known.all()):  # (np.setdiff1d sorts both sides: 10x slower)
            self._insert_flows(np.unique(key[~known]))
            idx = np.searchsorted(self._key, key)
        self._last_sf[idx] = gen_sf
        return idx

    def _keep_flows(self, keep: np.ndarray) -> None:
        for name in ("_key", "_offset", "_start", "_nsub", "_counter", "_last_sf", "_hist_sf",
                     "_hist_n"):
            setattr(self, name, getattr(self, name)[keep])

    def _insert_flows(self, new: np.ndarray) -> None:
        n = new.size
        key = np.concatenate([self._key, new])
        order = np.argsort(key, kind="stable")
        fill = {"_key": new, "_offset": np.full(n, -1), "_start": np.zeros(n, np.int64),
                "_nsub": np.zeros(n, np.int64), "_counter": np.zeros(n, np.int64),
                "_last_sf": np.zeros(n, np.int64),
                "_hist_sf": np.full((n, self._hist_k), -(10 ** 12), np.int64),
                "_hist_n": np.zeros((n, self._hist_k), np.int64)}
        for name, extra in fill.items():
            setattr(self, name, np.concatenate([getattr(self, name), extra])[order])

    def _schedule(self, gen_sf: int, flow: np.ndarray, node: np.ndarray, need: np.ndarray,
                  rng: np.random.Generator) -> None:
        """Keep or reselect every flow's reservation (module docstring, step 3)."""
        k = flow.size
        u_keep = rng.random(k)
        lo, hi = counter_range(self.rri)
        counters = rng.integers(lo, hi + 1, size=k).astype(np.int64)
        has = self._offset[flow] >= 0
        expired = has & (self._counter[flow] <= 0)
        too_small = has & (need > self._nsub[flow])
        reselect = ~has | too_small | (expired & (u_keep >= self.keep_probability))
        renew = expired | reselect
        self._counter[flow[renew]] = counters[renew]
        sel = np.flatnonzero(reselect)
        for n_sub in np.unique(need[sel]).tolist():
            rows = sel[need[sel] == n_sub]
            offset, start = self._select(gen_sf, node[rows], int(n_sub), rng)
            f = flow[rows]
            self._offset[f], self._start[f], self._nsub[f] = offset, start, n_sub

    def _sensed(self, gen_sf: int, nodes: np.ndarray, w_len: int) -> tuple[np.ndarray,
                                                                             np.ndarray]:
        """(n, w_len, s) largest RSRP [dBm] (-inf: nothing) and S-RSSI [mW] per window
        subframe and sub-channel that each UE at ``nodes`` sensed in the last period,
        projected one reservation interval ahead (module docstring, step 3)."""
        s = self.n_subchannels
        uniq, inv = np.unique(nodes, return_inverse=True)
        sense = self._sense
        # receiver row -> the UE's place in uniq (-1: not selecting); one pass over the links
        p = np.minimum(np.searchsorted(uniq, sense.row_node), uniq.size - 1)
        found = uniq[p] == sense.row_node
        e = np.flatnonzero(found[sense.rr] > sense.half_duplex)  # heard; in link order
        t = sense.l_tx[e]
        row = p[sense.rr[e]]
        w = sense.sf[t] + self.rri - (gen_sf + self.t1)
        ok = (w >= 0) & (w < w_len)
        if not bool(ok.all()):
            row, e, w, t = row[ok], e[ok], w[ok], t[ok]
        n_e = sense.nsub[t]
        dbm = sense.dbm[e]
        rsrp = np.full(uniq.size * w_len * s, -np.inf)
        energy = np.where(dbm >= self.rssi_floor_dbm, 10.0 ** (dbm / 10.0), 0.0)
        cell = row * w_len
        cell += w
        cell *= s
        cell += sense.start[t]
        if e.size and bool(np.all(n_e == 1)):  # one sub-channel each (x / 1 is x)
            np.maximum.at(rsrp, cell, dbm)  # fast in numpy >= 2
            summed = np.bincount(cell, weights=energy, minlength=rsrp.size)
        else:
            item = np.repeat(np.arange(e.size), n_e)
            first = np.repeat(np.cumsum(n_e) - n_e, n_e)
            cell = cell[item] + (np.arange(item.size) - first)
            np.maximum.at(rsrp, cell, dbm[item])
            summed = np.bincount(cell, weights=(energy / n_e)[item], minlength=rsrp.size)
        # each cell's entries summed in link order (bincount of empty weights is int64)
        rssi = summed.astype(np.float64, copy=False) if e.size else np.zeros(rsrp.size)
        shape = (uniq.size, w_len, s)
        if uniq.size == nodes.size and bool(np.all(uniq == nodes)):  # sorted, one flow each
            return rsrp.reshape(shape), rssi.reshape(shape)  # (as [inv]: no copies)
        return rsrp.reshape(shape)[inv], rssi.reshape(shape)[inv]

    def _select(self, gen_sf: int, nodes: np.ndarray, n_sub: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Sensing-based choice of (offset, first sub-channel) for UEs at ``nodes``."""
        n, s = nodes.size, self.n_subchannels
        w_len = self.t2 - self.t1 + 1
        rsrp, rssi = self._sensed(gen_sf, nodes, w_len)
        blocked = np.zeros((n, w_len), bool)
        lo = np.searchsorted(self._own_node, nodes)
        cnt = np.searchsorted(self._own_node, nodes, side="right") - lo
        if cnt.sum():
            row = np.repeat(np.arange(n), cnt)
            e = np.repeat(lo - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt) + np.arange(
                int(cnt.sum()))
            w = self._own_sf[e] + self.rri - (gen_sf + self.t1)
            ok = (w >= 0) & (w < w_len)
            blocked[row[ok], w[ok]] = True
        # candidates: (window subframe, first sub-channel) over n_sub adjacent sub-channels
        n_start = s - n_sub + 1
        if n_sub == 1:  # every sub-channel a candidate (the arrays are this call's own)
            c_rsrp, c_rssi = rsrp, rssi
        else:
            c_rsrp = rsrp[:, :, :n_start].copy()
            c_rssi = rssi[:, :, :n_start].copy()
        for j in range(1, n_sub):
            np.maximum(c_rsrp, rsrp[:, :, j:j + n_start], out=c_rsrp)
            c_rssi += rssi[:, :, j:j + n_start]
        c_rssi += n_sub * self.noise_subchannel_mw
        c_blocked = np.repeat(blocked[:, :, None], n_start, axis=2)
        chosen, _ = select_resources(
            c_rsrp.reshape(n, -1), c_rssi.reshape(n, -1), c_blocked.reshape(n, -1),
            threshold_dbm=self.rsrp_threshold_dbm, step_db=self.threshold_step_db,
            share=self.candidate_share, rng=rng)
        w_idx, first_sub = np.divmod(chosen, n_start)
        return w_idx + self.t1, first_sub

    def _congestion(self, gen_sf: int, flow: np.ndarray, node: np.ndarray, msg: np.ndarray,
                    need: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k,) bool sent and (k,) float64 CR of every transmission (module docstring 4)."""
        tx_sf = gen_sf + self._offset[flow]
        recent = self._hist_sf[flow] > (tx_sf - 1000)[:, None]
        used = (self._hist_n[flow] * recent).sum(axis=1) + need
        cr = used / (1000.0 * self.n_subchannels)
        if not self.congestion:
            return np.ones(flow.size, bool), cr
        cbr = np.zeros(flow.size)  # nodes that measured nothing yet: CBR 0
        if self._cbr_node.size:
            pos = np.minimum(np.searchsorted(self._cbr_node, node), self._cbr_node.size - 1)
            hit = self._cbr_node[pos] == node
            cbr[hit] = self._cbr[pos[hit]]
        cbr_range = np.searchsorted(np.array(self.cbr_ranges), cbr, side="left")
        limit = self._limit_table[self._group_of_type[msg], cbr_range]
        return (limit >= _NO_LIMIT) | (cr <= limit), cr

    def _remember_tx(self, flow: np.ndarray, tx_sf: np.ndarray, need: np.ndarray,
                     sent: np.ndarray) -> None:
        f = flow[sent]
        self._hist_sf[f] = np.roll(self._hist_sf[f], 1, axis=1)
        self._hist_n[f] = np.roll(self._hist_n[f], 1, axis=1)
        self._hist_sf[f, 0] = tx_sf[sent]
        self._hist_n[f, 0] = need[sent]


@dataclass(frozen=True)
class _Sensed:
    """What the receivers sensed in a period: its links (not copied): receiver row ``rr``
    (node ``row_node[rr]``), ``half_duplex`` where the receiver was transmitting itself (it
    heard nothing), transmission ``l_tx``, received power ``dbm``; per transmission its
    subframe ``sf``, first sub-channel ``start`` and sub-channels ``nsub``."""

    row_node: np.ndarray
    rr: np.ndarray
    half_duplex: np.ndarray
    l_tx: np.ndarray
    sf: np.ndarray
    start: np.ndarray
    nsub: np.ndarray
    dbm: np.ndarray


@dataclass(frozen=True)
class _Outcome:
    """Where a period writes its links' outcome: (m,) views of the window's output arrays."""

    received: np.ndarray
    latency: np.ndarray
    sinr: np.ndarray


def _most_common(values: np.ndarray) -> float:
    """The most common value of a non-empty (n,) array (the smallest of equally common)."""
    lo = values.min()
    if lo == values.max():  # one value (no RSU): no sort
        return float(lo)
    u, n = np.unique(values, return_counts=True)
    return float(u[int(np.argmax(n))])
