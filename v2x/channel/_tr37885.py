"""3GPP TR 37.885 V2V sidelink channel: path loss, LOS state, shadowing, SNR -> reception, latency.

What the model does, per link of one step (all vectorized over the links):

1. **Distance.** 3-D distance ``d3 = sqrt(d2² + (h_tx - h_rx)²)`` from the 2-D distance and the
   antenna heights, floored at ``min_distance_m`` (3 m, the minimum distance of TR 36.885 B1,
   applied here to the TR 37.885 formulas too).
2. **LOS state.** Line of sight with the TR 37.885 V2V probability (Table 6.2-1, checked against
   the public ns-3 implementations ``ThreeGppV2vUrbanChannelConditionModel`` /
   ``ThreeGppV2vHighwayChannelConditionModel``, nsnam.org/doxygen
   three-gpp-v2v-channel-condition-model, and ns-3 millicar), of the 2-D distance d [m]:

   - urban: ``P_LOS = min(1, 1.05 exp(-0.0114 d))``
   - highway: ``min(1, 2.1013e-6 d² - 0.002 d + 1.0193)`` for d <= 475 m,
     ``max(0, 0.54 - 0.001 (d - 475))`` beyond.

   In TR 37.885 this probability separates LOS from **NLOSv** (blocked by vehicles); NLOS (blocked
   by buildings) is decided there from the building layout, which we do not have. The state a
   non-LOS link takes is the parameter ``blocked``: ``"nlos"`` (the default for urban: the
   building-NLOS path loss, a pessimistic stand-in for unknown buildings) or ``"nlosv"`` (the
   default for highway: LOS path loss plus the TR 37.885 vehicle-blockage loss).
3. **Path loss** (fc in GHz, d3 in m), TR 37.885 V2V:
   urban LOS ``38.77 + 16.7 log10(d3) + 18.2 log10(fc)``;
   highway LOS ``32.4 + 20 log10(d3) + 20 log10(fc)``;
   NLOS ``36.85 + 30 log10(d3) + 18.9 log10(fc)``;
   NLOSv = LOS + blockage ``max(0, N(mu, sigma))`` dB with ``mu = 9 + max(0, 15 log10(d3) - 41)``,
   sigma 4.5 when both antennas are below ``blocker_height_m`` (1.6 m, TR vehicle types 1/2),
   ``mu = 5 + max(0, 15 log10(d3) - 41)``, sigma 4 when one is above, 0 dB when both are above.
4. **Shadowing.** Log-normal, sigma ``shadowing_los_db`` 3 dB (LOS, NLOSv) /
   ``shadowing_nlos_db`` 4 dB (NLOS), drawn independently per link and per step: the spatial
   decorrelation of TR 37.885 (10 m LOS, 13 m NLOS/NLOSv) is **not modelled**, so losses of
   successive packets on one link are independent (bursts of losses, hence long inter-packet
   gaps, are underestimated).
5. **Link budget.** ``SNR = P_tx + 2 G_ant - PL - shadowing - N`` with
   ``N = -174 dBm/Hz + 10 log10(B) + NF``. Defaults: 23 dBm, 3 dBi each antenna, B = 20 MHz,
   NF = 9 dB **(to verify)**: N = -174 + 73.0 + 9 = -92.0 dBm. SNR is over the whole channel
   bandwidth B.
6. **Reception.** Probability ``1 / (1 + exp(-(SNR - snr50_eff) / snr_scale_db))`` (logistic),
   ``snr50_eff = snr50_db + 10 log10(size / ref_size_bytes)``. Defaults **(to verify)**:
   ``snr50_db = 0 dB``, ``snr_scale_db = 1 dB`` (10 % .. 90 % over ±2.2 dB),
   ``ref_size_bytes = 300``. They approximate a PC5 transport block of ~300 bytes at QPSK,
   code rate ~1/2: it occupies ~30 of the 100 resource blocks of 20 MHz and needs about 5 dB on
   its own resource blocks with a fading margin, i.e. about 0 dB over the whole band since the
   23 dBm are concentrated on the allocated blocks (10 log10(100/30) = 5.2 dB). With a fixed
   modulation and coding scheme a block occupies bandwidth in proportion to its size, hence the
   ``10 log10(size / ref)`` shift. One uniform draw per link decides.
7. **Latency** (received links only; -1 where lost): ``latency_base`` (2 ms processing)
   + a sidelink resource-selection wait drawn uniformly among the 1 ms subframes of the
   selection window ``[n + T1, n + T2]`` = [``selection_t1``, ``selection_t2``] =
   [1 ms, 20 ms] (Mode 4: T1 <= 4 ms, 20 ms <= T2 <= 100 ms), drawn **once per sender**
   (one transmission, shared by all its receivers), + propagation delay ``d3 / c``.
   Semi-persistent reservation (the same offset kept for 5..15 periods) is not modelled.

Not modelled: NLOSv for the ``"nlos"`` choice, fast fading beyond the logistic curve's slope,
interference and collisions between senders choosing the same resource, half duplex, congestion
control. Links farther than ``range_m`` (2-D) are lost outright (default: where the PRR with
the default parameters has fallen to about 1e-4, see ``DEFAULT_RANGE_M``).

Random draws, in this fixed order, per :meth:`Tr37885Channel.evaluate` call (m links, n_tx
senders): ``rng.random(m)`` LOS state; ``rng.standard_normal(m)`` shadowing;
``rng.standard_normal(k)`` blockage of the k non-LOS links in link order (only when
``blocked = "nlosv"``); ``rng.random(m)`` reception; ``rng.integers(n_slots, size=n_tx)``
resource-selection wait (n_slots = (T2 - T1) / 1 ms + 1). Every link draws, whatever its
distance, so one rng state and one batch give one result.

That is ``sampling = "link-state"``. The default for a finite range, ``"marginal"``, gives the
same distribution of received links and latencies with one draw per link against the exact
marginal reception probability of steps 2-6 (the states integrated out, tabulated:
:mod:`v2x.channel._marginal`), and no SNR.
"""

from __future__ import annotations

import math

import numpy as np

from v2x.errors import ConfigError

from ._base import LOST, Reception, check_choice, check_duration, check_number
from ._marginal import MarginalReception
from ._pairs import LinkBatch
from ._pathloss import check_carrier_ghz, check_distances

__all__ = [
    "Tr37885Channel",
    "noise_floor_dbm",
    "reception_probability",
    "tr37885_los_probability",
    "tr37885_path_loss_db",
]

_SCENARIOS: tuple[str, ...] = ("urban", "highway")
_BLOCKED: tuple[str, ...] = ("nlos", "nlosv")
_SAMPLING: tuple[str, ...] = ("marginal", "link-state")

# path loss A + B log10(d3 [m]) + C log10(fc [GHz]), 3GPP TR 37.885 V2V
_LOS = {"urban": (38.77, 16.7, 18.2), "highway": (32.4, 20.0, 20.0)}
_NLOS = (36.85, 30.0, 18.9)

_LN_1_05 = math.log(1.05)

#: thermal noise density [dBm/Hz]
THERMAL_NOISE_DBM_HZ = -174.0
#: LTE sidelink subframe [ns]
SUBFRAME_NS = 1_000_000
#: propagation delay per metre [ns/m] = 1e9 / c
_NS_PER_M = 1e9 / 299_792_458.0

#: links computed together in :meth:`Tr37885Channel.evaluate` (temporaries of 512 kB each)
_BLOCK = 65_536

#: default 2-D cut-off [m] per scenario: there the PRR with default parameters (1.5 m antennas,
#: 300 bytes) is about 1e-4 or less: urban 5e-6 at 1000 m (P_LOS = 1.2e-5, NLOS SNR -33 dB);
#: highway 1.2e-4 at 4000 m (NLOSv only, mean SNR about -19 dB, the 3 dB shadowing and 4.5 dB
#: blockage spread leave a tail). Measured by tests/v2x/channel/test_tr37885.py.
DEFAULT_RANGE_M = {"urban": 1000.0, "highway": 4000.0}


def tr37885_los_probability(distance_m: np.ndarray, *, scenario: str = "urban") -> np.ndarray:
    """TR 37.885 V2V line-of-sight probability (vs. NLOSv) of a 2-D distance.

    Args:
        distance_m: (m,) float64 2-D distance [m].
        scenario: ``"urban"`` or ``"highway"``.

    Returns:
        (m,) float64 probability in [0, 1]. Urban ``min(1, 1.05 exp(-0.0114 d))``; highway
        ``min(1, 2.1013e-6 d² - 0.002 d + 1.0193)`` up to 475 m, ``max(0, 0.54 - 0.001 (d -
        475))`` beyond (3GPP TR 37.885 Table 6.2-1, as implemented in ns-3).

    Raises ValueError for an unknown scenario.
    """
    d = np.asarray(distance_m, dtype=np.float64)
    if scenario == "urban":
        return np.minimum(1.0, 1.05 * np.exp(-0.0114 * d))
    if scenario == "highway":
        near = np.minimum(1.0, (2.1013e-6 * d - 0.002) * d + 1.0193)
        far = np.maximum(0.0, 0.54 - 0.001 * (d - 475.0))
        return np.where(d <= 475.0, near, far)
    raise ValueError(f"scenario must be 'urban' or 'highway', got {scenario!r}")


def tr37885_path_loss_db(
    distance_3d_m: np.ndarray,
    *,
    carrier_ghz: float = 5.9,
    scenario: str = "urban",
    los: bool = True,
) -> np.ndarray:
    """TR 37.885 V2V median path loss [dB] (no shadowing, no distance floor).

    Args:
        distance_3d_m: (m,) float64 3-D distance [m], > 0.
        carrier_ghz: carrier frequency fc [GHz].
        scenario: ``"urban"`` (LOS 38.77 + 16.7 log10 d + 18.2 log10 fc) or ``"highway"``
            (LOS 32.4 + 20 log10 d + 20 log10 fc).
        los: False gives NLOS, 36.85 + 30 log10 d + 18.9 log10 fc, for either scenario.

    Raises ValueError for an unknown scenario or a distance <= 0 or NaN; ConfigError (key
    ``channel.carrier_ghz``) for a carrier frequency out of range, e.g. given in Hz.
    """
    if scenario not in _LOS:
        raise ValueError(f"scenario must be 'urban' or 'highway', got {scenario!r}")
    d = check_distances(distance_3d_m, name="distance_3d_m")
    if d.size and not bool(d.min() > 0.0):
        raise ValueError(f"distance_3d_m must be > 0 (log10), got {d.min()!r}")
    a, b, c = _LOS[scenario] if los else _NLOS
    return a + b * np.log10(d) + c * math.log10(check_carrier_ghz(carrier_ghz))


def noise_floor_dbm(bandwidth_mhz: float = 20.0, noise_figure_db: float = 9.0) -> float:
    """Receiver noise power ``-174 dBm/Hz + 10 log10(B) + NF`` [dBm] (B in MHz)."""
    return THERMAL_NOISE_DBM_HZ + 10.0 * math.log10(bandwidth_mhz * 1e6) + noise_figure_db


def reception_probability(
    snr_db: np.ndarray, *, snr50_db: float = 0.0, snr_scale_db: float = 1.0
) -> np.ndarray:
    """Logistic packet reception probability ``1 / (1 + exp(-(snr - snr50) / scale))``.

    Args:
        snr_db: (m,) float64 SNR [dB].
        snr50_db: SNR of 50 % reception [dB].
        snr_scale_db: logistic scale [dB]; 10 % .. 90 % spans ``snr50 ± 2.197 scale``.
    """
    from scipy.special import expit  # here: scipy.special takes ~0.2 s to import

    return expit((np.asarray(snr_db, dtype=np.float64) - snr50_db) / snr_scale_db)


class Tr37885Channel:
    """3GPP TR 37.885 V2V sidelink channel (see the module docstring for every formula).

    Keyword arguments are the ``[channel]`` parameters of a scenario (numbers as numbers,
    durations as strings); defaults in brackets:

    - ``scenario``: ``"urban"`` or ``"highway"`` (fixed by the registry name).
    - ``carrier_ghz`` [5.9], ``tx_power_dbm`` [23], ``antenna_gain_dbi`` [3, each antenna],
      ``bandwidth_mhz`` [20], ``noise_figure_db`` [9, to verify].
    - ``snr50_db`` [0, to verify], ``snr_scale_db`` [1], ``ref_size_bytes`` [300].
    - ``shadowing_los_db`` [3], ``shadowing_nlos_db`` [4].
    - ``blocked``: state of a non-LOS link, ``"nlos"`` [urban] or ``"nlosv"`` [highway];
      ``blocker_height_m`` [1.6] for NLOSv blockage.
    - ``min_distance_m`` [3]; ``range_m`` [1000 urban, 4000 highway]: 2-D cut-off, also
      :attr:`max_range_m`.
    - ``latency_base`` ["2 ms"], ``selection_t1`` ["1 ms"], ``selection_t2`` ["20 ms"]; T1 and
      T2 whole 1 ms subframes, T1 <= T2.

    Raises ConfigError naming ``channel.<param>`` and the value for a malformed or out-of-range
    parameter.
    """

    def __init__(
        self,
        *,
        scenario: str = "urban",
        carrier_ghz: float = 5.9,
        tx_power_dbm: float = 23.0,
        antenna_gain_dbi: float = 3.0,
        bandwidth_mhz: float = 20.0,
        noise_figure_db: float = 9.0,
        snr50_db: float = 0.0,
        snr_scale_db: float = 1.0,
        ref_size_bytes: float = 300,
        shadowing_los_db: float = 3.0,
        shadowing_nlos_db: float = 4.0,
        blocked: str | None = None,
        blocker_height_m: float = 1.6,
        min_distance_m: float = 3.0,
        range_m: float | None = None,
        latency_base: str = "2 ms",
        selection_t1: str = "1 ms",
        selection_t2: str = "20 ms",
        sampling: str | None = None,
    ) -> None:
        self.scenario = check_choice("scenario", scenario, _SCENARIOS)
        self.name = f"tr37885-{self.scenario}"
        fc = check_carrier_ghz(carrier_ghz)
        p_tx = check_number("tx_power_dbm", tx_power_dbm)
        gain = check_number("antenna_gain_dbi", antenna_gain_dbi)
        bw = check_number("bandwidth_mhz", bandwidth_mhz, positive=True)
        nf = check_number("noise_figure_db", noise_figure_db, nonnegative=True)
        self.snr50_db = check_number("snr50_db", snr50_db)
        self.snr_scale_db = check_number("snr_scale_db", snr_scale_db, positive=True)
        self.ref_size_bytes = check_number("ref_size_bytes", ref_size_bytes, positive=True)
        self.shadowing_los_db = check_number("shadowing_los_db", shadowing_los_db, nonnegative=True)
        self.shadowing_nlos_db = check_number(
            "shadowing_nlos_db", shadowing_nlos_db, nonnegative=True
        )
        if blocked is None:
            blocked = "nlos" if self.scenario == "urban" else "nlosv"
        self.blocked = check_choice("blocked", blocked, _BLOCKED)
        self.blocker_height_m = check_number("blocker_height_m", blocker_height_m, nonnegative=True)
        self.min_distance_m = check_number("min_distance_m", min_distance_m, positive=True)
        if range_m is None:
            range_m = DEFAULT_RANGE_M[self.scenario]
        self.max_range_m = check_number("range_m", range_m, nonnegative=True, allow_inf=True)
        self.latency_base_ns = check_duration("latency_base", latency_base)
        t1 = check_duration("selection_t1", selection_t1)
        t2 = check_duration("selection_t2", selection_t2)
        for key, text, ns in (
            ("selection_t1", selection_t1, t1),
            ("selection_t2", selection_t2, t2),
        ):
            if ns % SUBFRAME_NS:
                raise ConfigError(
                    f"must be a whole number of 1 ms subframes, got {text!r}",
                    key=f"channel.{key}",
                    value=text,
                )
        if t2 < t1:
            raise ConfigError(
                f"selection_t2 {selection_t2!r} is shorter than selection_t1 {selection_t1!r}",
                key="channel.selection_t2",
                value=selection_t2,
            )
        self.selection_t1_ns = t1
        self.selection_t2_ns = t2
        if sampling is None:
            sampling = "marginal" if math.isfinite(self.max_range_m) else "link-state"
        self.sampling = check_choice("sampling", sampling, _SAMPLING)
        if self.sampling == "marginal" and not math.isfinite(self.max_range_m):
            raise ConfigError("sampling 'marginal' needs a finite range_m (the distance grid "
                              "of its tables); use sampling = 'link-state' with range_m = inf",
                              key="channel.sampling", value=sampling)

        # precomputed constants of the hot path
        self.carrier_ghz = fc
        self.noise_dbm = noise_floor_dbm(bw, nf)
        #: P_tx + 2 G - N [dB]: SNR = budget - path loss - shadowing
        self.budget_db = p_tx + 2.0 * gain - self.noise_dbm
        lfc = math.log10(fc)
        a, b, c = _LOS[self.scenario]
        self._a_los, self._b_los = a + c * lfc, b
        a, b, c = _NLOS
        self._a_nlos, self._b_nlos = a + c * lfc, b
        # (NLOS, LOS) values of A, B [dB] and the shadowing sigma [dB], indexed by the LOS flag
        self._a_table = np.array([self._a_nlos, self._a_los])
        self._b_table = np.array([self._b_nlos, self._b_los])
        self._sigma_table = np.array([self.shadowing_nlos_db, self.shadowing_los_db],
                                     np.float64)
        self._n_slots = (t2 - t1) // SUBFRAME_NS + 1
        self._lat0_ns = np.int64(self.latency_base_ns + t1)
        self._cut = math.isfinite(self.max_range_m)
        self.params: dict[str, object] = {
            "carrier_ghz": fc,
            "tx_power_dbm": p_tx,
            "antenna_gain_dbi": gain,
            "bandwidth_mhz": bw,
            "noise_figure_db": nf,
            "snr50_db": self.snr50_db,
            "snr_scale_db": self.snr_scale_db,
            "ref_size_bytes": self.ref_size_bytes,
            "shadowing_los_db": self.shadowing_los_db,
            "shadowing_nlos_db": self.shadowing_nlos_db,
            "blocked": self.blocked,
            "blocker_height_m": self.blocker_height_m,
            "min_distance_m": self.min_distance_m,
            "range_m": self.max_range_m,
            "latency_base": latency_base,
            "selection_t1": selection_t1,
            "selection_t2": selection_t2,
            "sampling": self.sampling,
        }
        self._marginal = MarginalReception(self) if self.sampling == "marginal" else None

    def __repr__(self) -> str:
        return f"Tr37885Channel(scenario={self.scenario!r}, blocked={self.blocked!r})"

    def _distance_3d(self, d2: np.ndarray, tx: np.ndarray, rx: np.ndarray, h_tx: np.ndarray,
                     h_rx: np.ndarray) -> np.ndarray:
        """(m,) 3-D distance ``max(sqrt(dh² + d2²), min_distance_m)`` [m] of every link.

        Where both antennas are at one height (every vehicle-to-vehicle link) dh is 0 and
        ``sqrt(0 + fl(d2²))`` is exactly d2 (a correctly rounded square root of a correctly
        rounded square, IEEE 754 binary64, no underflow above the 3 m floor), so only the
        links of an antenna at another height (RSUs) are computed in full: the same bits as
        the formula on every link."""
        d3 = np.maximum(d2, self.min_distance_m)
        if not (h_tx.size and h_rx.size):
            return d3
        h0 = h_tx[0]
        odd_tx, odd_rx = h_tx != h0, h_rx != h0
        any_tx, any_rx = bool(odd_tx.any()), bool(odd_rx.any())
        if not (any_tx or any_rx):
            return d3
        sel = odd_rx.take(rx) if any_rx else np.zeros(d2.shape[0], bool)
        if any_tx:
            sel |= odd_tx.take(tx)
        idx = np.flatnonzero(sel)
        dh = h_tx.take(tx[idx])
        dh -= h_rx.take(rx[idx])
        dh *= dh
        dd = d2[idx]
        dd *= dd
        dh += dd
        np.sqrt(dh, out=dh)
        np.maximum(dh, self.min_distance_m, out=dh)
        d3[idx] = dh
        return d3

    def evaluate(
        self,
        links: LinkBatch,
        *,
        tx_height_m: np.ndarray,
        rx_height_m: np.ndarray,
        size_bytes: np.ndarray,
        rng: np.random.Generator,
    ) -> Reception:
        """Evaluate every link of one step; see :class:`v2x.channel.ChannelModel`.

        With ``sampling = "link-state"``, ``snr_db`` is the drawn SNR (shadowing and blockage
        included) over the channel bandwidth; for links beyond ``range_m`` it is computed all
        the same but they are lost. With ``"marginal"`` (the default for a finite range) each
        link is one draw against the model's exact marginal reception probability
        (:mod:`v2x.channel._marginal`) and ``snr_db`` is NaN.
        """
        if self._marginal is not None:
            check_distances(links.distance_m, name="links.distance_m")
            return self._marginal.evaluate(links, tx_height_m=tx_height_m,
                                           rx_height_m=rx_height_m, size_bytes=size_bytes,
                                           rng=rng)
        # The draws come first, whole, in the order of the module docstring; then the links
        # are computed in blocks of _BLOCK (their temporaries stay in cache: measured 75 -> 64
        # ns a link against one pass over 2 M links). Operations are in place where they can
        # be, and each element sees the same floating-point operations in the same order as
        # the formulas of the module docstring (the results are exact, not approximations).
        tx = links.tx
        d2 = check_distances(links.distance_m, name="links.distance_m")
        m = tx.shape[0]
        sizes = np.asarray(size_bytes)
        h_tx = np.asarray(tx_height_m, dtype=np.float64)
        h_rx = np.asarray(rx_height_m, dtype=np.float64)

        u_los = np.asarray(rng.random(m))
        los = np.empty(m, bool)
        for a in range(0, m, _BLOCK):
            self._los(d2[a:a + _BLOCK], u_los[a:a + _BLOCK], out=los[a:a + _BLOCK])
        z_shadow = np.asarray(rng.standard_normal(m))
        z_block = (rng.standard_normal(m - int(np.count_nonzero(los)))
                   if self.blocked == "nlosv" else z_shadow[:0])
        u_rx = np.asarray(rng.random(m))
        slot = np.asarray(rng.integers(self._n_slots, size=sizes.shape[0]))

        threshold = self.threshold_db(sizes)
        wait_ns = self.wait_ns(slot)
        snr = np.empty(m)
        received = np.empty(m, bool)
        latency = np.full(m, LOST, np.int64)
        n_blocked = 0  # blockage draws used by the blocks before
        for a in range(0, m, _BLOCK):
            sl = slice(a, a + _BLOCK)
            block = LinkBatch(tx[sl], links.rx[sl], d2[sl])
            d3 = self._distance_3d(block.distance_m, block.tx, block.rx, h_tx, h_rx)
            loss = self._path_loss(block, d3, los[sl], z_shadow[sl], h_tx, h_rx,
                                   z_block[n_blocked:])
            if self.blocked == "nlosv":
                n_blocked += int(block.tx.shape[0] - np.count_nonzero(los[sl]))
            np.subtract(self.budget_db, loss, out=snr[sl])
            received[sl] = self._decide(block, snr[sl], u_rx[sl], threshold)
            self._latency(block, d3, received[sl], wait_ns, out=latency[sl])
        return Reception(received=received, latency_ns=latency, snr_db=snr)

    def _los(self, d2: np.ndarray, u_los: np.ndarray, *, out: np.ndarray) -> None:
        """LOS state (bool) of links at 2-D distances d2 from their uniform draws u_los
        (overwritten)."""
        if self.scenario == "urban":
            # u < min(1, 1.05 exp(-0.0114 d))  <=>  ln u < ln 1.05 - 0.0114 d  (for u < 1):
            # a (vectorized) log of u instead of a (scalar, 10x slower) exp of d
            with np.errstate(divide="ignore"):
                np.log(u_los, out=u_los)
            bound = np.multiply(d2, -0.0114)  # -(0.0114 d), + ln 1.05 next
            bound += _LN_1_05
            np.less(u_los, bound, out=out)
        else:
            np.less(u_los, tr37885_los_probability(d2, scenario=self.scenario), out=out)

    def _path_loss(self, links: LinkBatch, d3: np.ndarray, los: np.ndarray,
                   z_shadow: np.ndarray, h_tx: np.ndarray, h_rx: np.ndarray,
                   z_block: np.ndarray) -> np.ndarray:
        """Path loss with shadowing (and NLOSv blockage) [dB] of each link of a block, from its
        3-D distance, LOS state and normal draws (z_block: the blockage draws from this block's
        first non-LOS link on)."""
        logd = np.log10(d3)
        if self.blocked == "nlos":
            # per link B log10 d3 + A + sigma z with (A, B, sigma) of its state: every link as
            # NLOS, then the LOS ones (few beyond 100 m: P_LOS(100 m) = 0.34) again as LOS
            near = np.flatnonzero(los)
            loss = np.multiply(logd, self._b_nlos)
            loss += self._a_nlos
            loss += np.multiply(z_shadow, self.shadowing_nlos_db)
            los_loss = logd[near]
            los_loss *= self._b_los
            los_loss += self._a_los
            z_los = z_shadow[near]
            z_los *= self.shadowing_los_db
            los_loss += z_los
            loss[near] = los_loss
            return loss
        loss = self._b_los * logd
        loss += self._a_los
        loss += np.multiply(z_shadow, self.shadowing_los_db)
        idx = np.flatnonzero(~los)
        if idx.size:
            ht = h_tx.take(links.tx[idx])
            hr = h_rx.take(links.rx[idx])
            below = np.maximum(ht, hr) < self.blocker_height_m
            above = np.minimum(ht, hr) > self.blocker_height_m
            mu = np.maximum(0.0, 15.0 * logd[idx] - 41.0)
            mu += np.where(below, 9.0, 5.0)
            block = z_block[:idx.size] * np.where(below, 4.5, 4.0)
            block += mu
            np.maximum(block, 0.0, out=block)
            block[above] = 0.0
            loss[idx] += block
        return loss

    def _decide(self, links: LinkBatch, snr: np.ndarray, u_rx: np.ndarray,
                threshold: np.ndarray) -> np.ndarray:
        """Received (bool) per link of a block from its SNR and uniform draw (the logistic
        curve against the sender's size threshold), and the range cut."""
        # u < 1 / (1 + exp(-x))  <=>  x > logit(u): one log instead of a (slow) expit;
        # u = 0 gives logit -inf, i.e. received, as u < p does for any p > 0
        with np.errstate(divide="ignore"):
            logit_u = np.subtract(1.0, u_rx)
            np.divide(u_rx, logit_u, out=logit_u)
            np.log(logit_u, out=logit_u)
        if self.snr_scale_db != 1.0:  # x * 1.0 == x: the default scale needs no pass
            logit_u *= self.snr_scale_db
        margin = threshold.take(links.tx)
        np.subtract(snr, margin, out=margin)
        received = margin > logit_u
        d2 = links.distance_m
        if self._cut and d2.size and d2.max() > self.max_range_m:  # farther links found
            received &= d2 <= self.max_range_m
        return received

    @staticmethod
    def _latency(links: LinkBatch, d3: np.ndarray, received: np.ndarray, wait_ns: np.ndarray,
                 *, out: np.ndarray) -> None:
        """Latency [ns] of the received links of a block into ``out`` (left LOST elsewhere):
        the sender's wait (base + selection) + propagation d3 / c."""
        got = np.flatnonzero(received)
        out[got] = _propagation_ns(d3[got]) + wait_ns[links.tx[got]]

    def threshold_db(self, size_bytes: np.ndarray) -> np.ndarray:
        """(n,) float64 SNR [dB] of 50 % reception of messages of ``size_bytes`` (module
        docstring, step 6): ``snr50_db + 10 log10(max(size, 1) / ref_size_bytes)``."""
        sizes = np.maximum(np.asarray(size_bytes).astype(np.float64), 1.0)
        return self.snr50_db + 10.0 * np.log10(sizes / self.ref_size_bytes)

    def wait_ns(self, slot: np.ndarray) -> np.ndarray:
        """(n_tx,) int64 wait [ns] of each sender from generation to transmission:
        ``latency_base`` + ``selection_t1`` + its drawn ``slot`` (whole 1 ms subframes of the
        selection window; module docstring, step 7)."""
        return np.asarray(slot * SUBFRAME_NS + self._lat0_ns)

    def latency_ns(self, tx: np.ndarray, rx: np.ndarray, distance_m: np.ndarray,
                   tx_height_m: np.ndarray, rx_height_m: np.ndarray,
                   wait_ns: np.ndarray) -> np.ndarray:
        """(k,) int64 latency [ns] of k received links (sender index ``tx``, receiver index
        ``rx``, 2-D distance [m]): the sender's ``wait_ns`` + the propagation delay of the 3-D
        distance (antenna heights [m] per sender and receiver)."""
        d3 = self._distance_3d(distance_m, tx, rx, np.asarray(tx_height_m, np.float64),
                               np.asarray(rx_height_m, np.float64))
        return _propagation_ns(d3) + wait_ns[tx]


def _propagation_ns(d3: np.ndarray) -> np.ndarray:
    """(k,) int64 propagation delay [ns] of 3-D distances [m] (``d3`` overwritten):
    ``rint(d3 / c)``."""
    d3 *= _NS_PER_M
    np.rint(d3, out=d3)
    return d3.astype(np.int64)
