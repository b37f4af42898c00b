"""The 3GPP TR 37.885 channel: formulas by hand, wiring, statistics, determinism, speed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from v2x.channel import (
    LinkBatch,
    Tr37885Channel,
    make_channel,
    noise_floor_dbm,
    reception_probability,
    tr37885_los_probability,
    tr37885_path_loss_db,
)

LOG_FC = math.log10(5.9)  # 0.770852...


def _states(name: str, **params: object):
    """The channel drawing every link's LOS state, shadowing and SNR (``snr_db`` reported):
    the tests of those draws. The default ``"marginal"`` sampling is tested against these
    draws in test_marginal.py."""
    return make_channel(name, sampling="link-state", **params)


def _evaluate(ch, distance_m, *, h_tx=1.5, h_rx=1.5, size=300, seed=0, n_tx=1):
    """Links from sender k % n_tx to its own receiver, all at the given 2-D distances."""
    d = np.atleast_1d(np.asarray(distance_m, dtype=np.float64))
    m = d.shape[0]
    links = LinkBatch(
        (np.arange(m) % n_tx).astype(np.int64), np.arange(m, dtype=np.int64), d
    )
    return ch.evaluate(
        links,
        tx_height_m=np.full(n_tx, h_tx),
        rx_height_m=np.full(m, h_rx),
        size_bytes=np.full(n_tx, size),
        rng=np.random.default_rng(seed),
    )


# --- formulas, by hand ----------------------------------------------------------------------


def test_path_loss_by_hand() -> None:
    # urban LOS, d = 100 m: 38.77 + 16.7*2 + 18.2*0.770852 = 38.77 + 33.4 + 14.0295 = 86.1995
    assert tr37885_path_loss_db(np.array([100.0]))[0] == pytest.approx(86.1995, abs=1e-4)
    # urban LOS, d = 10 m: 38.77 + 16.7 + 14.0295 = 69.4995
    assert tr37885_path_loss_db(np.array([10.0]))[0] == pytest.approx(69.4995, abs=1e-4)
    # NLOS, d = 100 m: 36.85 + 30*2 + 18.9*0.770852 = 36.85 + 60 + 14.5691 = 111.4191
    nlos = tr37885_path_loss_db(np.array([100.0, 200.0]), los=False)
    assert nlos[0] == pytest.approx(111.4191, abs=1e-4)
    # NLOS, d = 200 m: 36.85 + 30*2.30103 + 14.5691 = 36.85 + 69.0309 + 14.5691 = 120.4500
    assert nlos[1] == pytest.approx(120.4500, abs=1e-4)
    # highway LOS, d = 100 m: 32.4 + 20*2 + 20*0.770852 = 32.4 + 40 + 15.4170 = 87.8170
    hw = tr37885_path_loss_db(np.array([100.0]), scenario="highway")
    assert hw[0] == pytest.approx(87.8170, abs=1e-4)
    with pytest.raises(ValueError):
        tr37885_path_loss_db(np.array([1.0]), scenario="rural")


def test_noise_floor_20_mhz() -> None:
    # -174 + 10 log10(20e6) + 9 = -174 + 73.0103 + 9 = -91.9897 dBm
    assert noise_floor_dbm(20.0, 9.0) == pytest.approx(-91.9897, abs=1e-4)
    # 10 MHz: 3.0103 dB less noise
    assert noise_floor_dbm(10.0, 9.0) == pytest.approx(-95.0000, abs=1e-4)


def test_los_probability_urban() -> None:
    p = tr37885_los_probability(np.array([0.0, 4.0, 100.0, 200.0, 1000.0]))
    # d = 0: min(1, 1.05) = 1; stays 1 up to ln(1.05)/0.0114 = 4.28 m
    assert p[0] == 1.0 and p[1] == 1.0
    # d = 100: 1.05 exp(-1.14) = 1.05 * 0.319819 = 0.335810
    assert p[2] == pytest.approx(0.335810, abs=1e-6)
    # d = 200: 1.05 exp(-2.28) = 1.05 * 0.102284 = 0.107398
    assert p[3] == pytest.approx(0.107398, abs=1e-6)
    d = np.linspace(0.0, 2000.0, 2001)
    assert np.all(np.diff(tr37885_los_probability(d)) <= 0.0)


def test_los_probability_highway() -> None:
    d = np.array([0.0, 100.0, 475.0, 476.0, 1015.0, 2000.0])
    p = tr37885_los_probability(d, scenario="highway")
    assert p[0] == 1.0  # min(1, 1.0193)
    # d = 100: 2.1013e-6*1e4 - 0.2 + 1.0193 = 0.021013 + 0.8193 = 0.840313
    assert p[1] == pytest.approx(0.840313, abs=1e-6)
    # d = 475: 2.1013e-6*225625 - 0.95 + 1.0193 = 0.474106 + 0.0693 = 0.543406
    assert p[2] == pytest.approx(0.543406, abs=1e-6)
    # d = 476: 0.54 - 0.001 = 0.539; 1015 m and beyond: 0
    assert p[3] == pytest.approx(0.539, abs=1e-9)
    assert p[4] == pytest.approx(0.0, abs=1e-12) and p[5] == 0.0


def test_reception_probability_curve() -> None:
    snr = np.array([0.0, 2.0 * math.log(9.0), -1e6, 1e6])
    p = reception_probability(snr, snr50_db=0.0, snr_scale_db=2.0)
    # at snr50: 1/2; at snr50 + scale*ln 9: 1/(1 + 1/9) = 0.9; saturates without warnings
    np.testing.assert_allclose(p, [0.5, 0.9, 0.0, 1.0], atol=1e-12)


# --- the model, deterministic cases ---------------------------------------------------------


def test_snr_and_latency_by_hand() -> None:
    ch = _states(
        "tr37885-urban",
        shadowing_los_db=0.0,
        shadowing_nlos_db=0.0,
        selection_t1="5 ms",
        selection_t2="5 ms",
    )
    # 4 m apart, both antennas 1.5 m: d3 = 4 m, P_LOS(4 m) = min(1, 1.05 e^-0.0456) = 1.
    # PL = 38.77 + 16.7*0.60206 + 14.0295 = 62.8540; SNR = 23 + 6 + 91.9897 - 62.8540 = 58.1357
    out = _evaluate(ch, [4.0])
    assert out.snr_db[0] == pytest.approx(58.1357, abs=1e-4)
    # latency = 2 ms base + 5 ms (T1 = T2) + 4 m / c = 13.3 ns -> 7_000_013 ns
    assert out.received[0] and out.latency_ns.tolist() == [7_000_013]

    # RSU antenna 5.5 m, vehicle 1.5 m, 3 m apart: d3 = sqrt(9 + 16) = 5 m.
    # PL = 38.77 + 16.7*0.69897 + 14.0295 = 64.4723; SNR = 120.9897 - 64.4723 = 56.5174
    out = _evaluate(ch, [3.0], h_tx=5.5)
    assert out.snr_db[0] == pytest.approx(56.5174, abs=1e-4)
    assert out.latency_ns.tolist() == [7_000_017]  # 5 m / c = 16.7 ns


def test_min_distance_floor() -> None:
    ch = _states("tr37885-urban", shadowing_los_db=0.0)
    # 0.5 m is evaluated at the 3 m floor: PL = 38.77 + 16.7*0.477121 + 14.0295 = 60.7674
    out = _evaluate(ch, [0.5])
    assert out.snr_db[0] == pytest.approx(120.9897 - 60.7674, abs=1e-4)


def test_message_size_shifts_threshold() -> None:
    # LOS at 4 m gives SNR 58.1357 (above); put snr50 5 dB below it and make the curve a step.
    # 300 bytes: margin +5 dB -> received; 3000 bytes: threshold +10 log10(10) = +10 dB,
    # margin -5 dB -> lost.
    ch = make_channel(
        "tr37885-urban", shadowing_los_db=0.0, snr50_db=58.1357 - 5.0, snr_scale_db=1e-3
    )
    assert _evaluate(ch, np.full(50, 4.0), size=300).received.all()
    assert not _evaluate(ch, np.full(50, 4.0), size=3000).received.any()


def test_range_cut_and_lost_sentinel() -> None:
    ch = make_channel("tr37885-urban", range_m=50.0)
    out = _evaluate(ch, [10.0, 60.0])
    assert ch.max_range_m == 50.0
    # 10 m: LOS (P_LOS = 0.94 .. 1) with SNR ~ 51 dB, far above the threshold
    assert out.received.tolist() == [True, False]
    assert out.latency_ns[1] == -1
    # a wider sweep: -1 exactly where lost, plausible latencies where received
    many = _evaluate(make_channel("tr37885-urban"), np.linspace(1.0, 900.0, 5000), seed=4)
    assert 0 < many.received.sum() < len(many)
    assert np.all(many.latency_ns[~many.received] == -1)
    assert np.all(many.latency_ns[many.received] >= 3_000_000)


# --- statistics -----------------------------------------------------------------------------


def test_los_state_drawn_with_tr_probability() -> None:
    # no shadowing: SNR takes two values at 100 m, LOS 120.9897 - 86.1995 = 34.7902 and
    # NLOS 120.9897 - 111.4191 = 9.5706; the LOS share must be P_LOS(100 m) = 0.3358.
    ch = _states("tr37885-urban", shadowing_los_db=0.0, shadowing_nlos_db=0.0)
    out = _evaluate(ch, np.full(100_000, 100.0), seed=1)
    # d3 = 100 m since both antennas are at 1.5 m
    is_los = np.isclose(out.snr_db, 34.7902, atol=1e-3)
    is_nlos = np.isclose(out.snr_db, 9.5706, atol=1e-3)
    assert np.all(is_los | is_nlos)
    # binomial sd = sqrt(0.336*0.664/1e5) = 0.0015: 0.006 is 4 sd
    assert is_los.mean() == pytest.approx(0.335810, abs=0.006)


def test_shadowing_spread() -> None:
    # 2 m apart: always LOS; SNR = 120.9897 - (38.77 + 16.7 log10(3) + 14.0295) + N(0, 3)
    out = _evaluate(_states("tr37885-urban"), np.full(100_000, 2.0), seed=2)
    assert out.snr_db.mean() == pytest.approx(120.9897 - 60.7674, abs=0.05)
    assert out.snr_db.std() == pytest.approx(3.0, abs=0.05)


def test_nlosv_blockage_mean() -> None:
    # highway at 2 km: P_LOS = 0, every link NLOSv. LOS PL = 32.4 + 20*3.30103 + 15.4170 =
    # 113.8376; both antennas 1.5 m < 1.6 m blocker: blockage mean 9 + (15*3.30103 - 41) =
    # 17.5155, sd 4.5 (clipping at 0 is 3.9 sd away). Mean SNR = 120.9897 - 113.8376 -
    # 17.5155 = -10.3634; sd sqrt(3^2 + 4.5^2) = 5.408.
    ch = _states("tr37885-highway")
    out = _evaluate(ch, np.full(100_000, 2000.0), seed=3)
    assert out.snr_db.mean() == pytest.approx(-10.3634, abs=0.1)
    assert out.snr_db.std() == pytest.approx(5.408, abs=0.1)
    # one antenna above the blocker (RSU 5.5 m): mean 5 + 8.5155 = 13.5155, d3 ~ 2000.004 m
    out = _evaluate(ch, np.full(100_000, 2000.0), h_tx=5.5, seed=3)
    assert out.snr_db.mean() == pytest.approx(120.9897 - 113.8376 - 13.5155, abs=0.1)
    # both above: no blockage, plain LOS
    hi = _states("tr37885-highway", shadowing_los_db=0.0)
    out = _evaluate(hi, [2000.0], h_tx=6.0, h_rx=6.0)
    assert out.snr_db[0] == pytest.approx(120.9897 - 113.8376, abs=1e-4)


def test_prr_decreases_with_distance_urban() -> None:
    ch = make_channel("tr37885-urban")
    prr = {
        d: _evaluate(ch, np.full(20_000, float(d)), seed=d).received.mean() for d in (50, 200, 450)
    }
    # expected about 1.0 / 0.60 / 0.02 with the defaults
    assert prr[50] > 0.99
    assert prr[50] > prr[200] > prr[450]
    assert 0.5 < prr[200] < 0.7 and prr[450] < 0.05


def test_prr_curve_monotone_both_scenarios() -> None:
    for name in ("tr37885-urban", "tr37885-highway"):
        ch = make_channel(name)
        dist = np.arange(20.0, 1000.0, 40.0)
        prr = np.array(
            [_evaluate(ch, np.full(20_000, d), seed=i).received.mean() for i, d in enumerate(dist)]
        )
        # allow sampling noise: sd <= sqrt(0.25/20000) = 0.0035
        assert np.all(np.diff(prr) <= 0.012), (name, prr)


@pytest.mark.parametrize(
    ("name", "range_m"), [("tr37885-urban", 1000.0), ("tr37885-highway", 4000.0)]
)
def test_default_range_cuts_where_prr_is_negligible(name: str, range_m: float) -> None:
    ch = make_channel(name)
    assert ch.max_range_m == range_m
    uncut = make_channel(name, range_m=math.inf)
    prr = _evaluate(uncut, np.full(200_000, range_m), seed=5).received.mean()
    assert prr < 3e-4


def test_latency_resource_wait_is_shared_per_sender() -> None:
    # 200 senders, 5 links each at 100 m; defaults: 2 ms + T1 1 ms + k ms, k in 0..19,
    # + 100 m / c = 333.6 ns -> 334 ns
    ch = make_channel("tr37885-urban", range_m=math.inf)
    out = _evaluate(ch, np.full(1000, 100.0), n_tx=200, seed=6, h_tx=1.5)
    links_tx = np.arange(1000) % 200
    wait = out.latency_ns - 334
    ok = out.received
    assert set(np.unique(wait[ok]).tolist()) == {3_000_000 + k * 1_000_000 for k in range(20)}
    for s in range(200):
        w = wait[ok & (links_tx == s)]
        assert np.all(w == w[0]) if w.size else True


# --- determinism and speed ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tr37885-urban", "tr37885-highway"])
def test_same_seed_same_reception(name: str) -> None:
    ch = make_channel(name)
    d = np.linspace(1.0, 1200.0, 3000)
    a = _evaluate(ch, d, seed=42, n_tx=30)
    b = _evaluate(ch, d, seed=42, n_tx=30)
    c = _evaluate(ch, d, seed=43, n_tx=30)
    np.testing.assert_array_equal(a.received, b.received)
    np.testing.assert_array_equal(a.latency_ns, b.latency_ns)
    np.testing.assert_array_equal(a.snr_db, b.snr_db)
    assert not np.array_equal(a.snr_db, c.snr_db)


def test_empty_batch() -> None:
    out = _evaluate(make_channel("tr37885-highway"), np.empty(0))
    assert len(out) == 0 and out.latency_ns.dtype == np.int64 and out.received.dtype == bool


def test_constructor_is_usable_directly() -> None:
    ch = Tr37885Channel(scenario="highway", carrier_ghz=5.9)
    assert ch.name == "tr37885-highway" and ch.blocked == "nlosv"


def _reference_urban(ch: Tr37885Channel, links: LinkBatch, h_tx: np.ndarray, h_rx: np.ndarray,
                     size: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The module docstring's formulas written plainly (urban, blocked = "nlos"), one
    expression per step, with the draws in the documented order."""
    d2 = links.distance_m
    m = d2.shape[0]
    dh = h_tx[links.tx] - h_rx[links.rx]
    d3 = np.maximum(np.sqrt(dh * dh + d2 * d2), ch.min_distance_m)
    logd = np.log10(d3)
    with np.errstate(divide="ignore"):
        los = np.log(rng.random(m)) < math.log(1.05) - 0.0114 * d2
    z = rng.standard_normal(m)
    loss = (np.where(los, ch._a_los + ch._b_los * logd, ch._a_nlos + ch._b_nlos * logd)
            + np.where(los, ch.shadowing_los_db, ch.shadowing_nlos_db) * z)
    u_rx = rng.random(m)
    slot = rng.integers(ch._n_slots, size=size.shape[0])
    snr = ch.budget_db - loss
    threshold = ch.snr50_db + 10.0 * np.log10(np.maximum(size.astype(np.float64), 1.0)
                                              / ch.ref_size_bytes)
    with np.errstate(divide="ignore"):
        logit_u = np.log(u_rx / (1.0 - u_rx)) * ch.snr_scale_db
    received = ((snr - threshold[links.tx]) > logit_u) & (d2 <= ch.max_range_m)
    latency = (np.rint(d3 * (1e9 / 299_792_458.0)).astype(np.int64)
               + (slot * 1_000_000 + ch._lat0_ns)[links.tx])
    return received, np.where(received, latency, -1), snr


@pytest.mark.parametrize("params", [{}, {"snr_scale_db": 1.5}, {"range_m": 400.0}])
def test_evaluate_equals_the_plain_formulas_exactly(params: dict[str, float]) -> None:
    # the in-place, table-driven evaluation gives the plain formulas' results bit for bit
    ch = Tr37885Channel(scenario="urban", sampling="link-state", **params)
    gen = np.random.default_rng(5)
    n_tx, n_rx, m = 200, 500, 40_000
    tx = np.sort(gen.integers(n_tx, size=m))
    links = LinkBatch(tx, gen.integers(n_rx, size=m), gen.uniform(0.0, 1000.0, m))
    h_tx, h_rx = gen.choice([1.5, 6.0], n_tx), gen.choice([1.5, 6.0], n_rx)
    size = gen.integers(100, 400, n_tx)
    got = ch.evaluate(links, tx_height_m=h_tx, rx_height_m=h_rx, size_bytes=size,
                      rng=np.random.default_rng(11))
    want = _reference_urban(ch, links, h_tx, h_rx, size, np.random.default_rng(11))
    np.testing.assert_array_equal(got.received, want[0])
    np.testing.assert_array_equal(got.latency_ns, want[1])
    np.testing.assert_array_equal(got.snr_db, want[2])
    assert 0.05 < got.received.mean() < 0.95
