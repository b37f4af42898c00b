"""The TR 37.885 channel's marginal sampling: its probability by hand and by quadrature, against
the per-link state draws, its tables, its draws and its configuration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import expit
from scipy.stats import norm

from v2x.channel import LinkBatch, make_channel
from v2x.channel._marginal import (
    MarginalReception,
    _small_unique_inverse,
    _unique_inverse,
    shadowed_reception,
)
from v2x.errors import ConfigError


def _links(distance_m: np.ndarray, n_tx: int = 1) -> LinkBatch:
    m = distance_m.shape[0]
    return LinkBatch((np.arange(m) % n_tx).astype(np.int64), np.arange(m, dtype=np.int64),
                     np.asarray(distance_m, np.float64))


def _received_share(ch, d: float, *, h_tx: float, h_rx: float, size: int, m: int,
                    seed: int) -> float:
    out = ch.evaluate(_links(np.full(m, d)), tx_height_m=np.array([h_tx]),
                      rx_height_m=np.full(m, h_rx), size_bytes=np.array([size]),
                      rng=np.random.default_rng(seed))
    return float(out.received.mean())


@pytest.mark.parametrize(("sigma", "scale"), [(3.0, 1.0), (4.0, 1.0), (3.0, 1.5)])
def test_shadowed_curve_equals_quadrature(sigma: float, scale: float) -> None:
    # G(c) = integral of expit((c - sigma z) / s) phi(z) dz, by scipy's adaptive quadrature
    for c in (-25.0, -9.0, -3.0, 0.0, 1.7, 6.0, 14.0):
        want, _ = quad(lambda z: expit((c - sigma * z) / scale) * norm.pdf(z), -12, 12,
                       epsabs=1e-13, limit=200)
        got = shadowed_reception(np.array([c]), shadowing_db=sigma, scale_db=scale)[0]
        assert got == pytest.approx(want, abs=2e-8)
    # symmetric about a zero margin; no shadowing is the logistic curve itself
    assert shadowed_reception(np.array([0.0]), shadowing_db=sigma, scale_db=scale)[0] == \
        pytest.approx(0.5, abs=1e-12)
    c = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(shadowed_reception(c, shadowing_db=0.0, scale_db=scale),
                               expit(c / scale), atol=1e-6)


def test_probability_by_hand_without_shadowing() -> None:
    # no shadowing, a near-step curve, threshold 20 dB: at 100 m the LOS SNR 34.79 dB is above
    # it and the NLOS SNR 9.57 dB below (test_tr37885), so p = P_LOS(100 m) = 1.05 e^-1.14
    ch = make_channel("tr37885-urban", shadowing_los_db=0.0, shadowing_nlos_db=0.0,
                      snr50_db=20.0, snr_scale_db=0.01)
    p = ch._marginal.probability(np.array([100.0]), h_tx=1.5, h_rx=1.5, size_bytes=300)
    assert p[0] == pytest.approx(1.05 * math.exp(-1.14), abs=1e-9)  # 0.335810
    # and the draws give that share (binomial sd 0.0015 for 1e5 links: 0.006 is 4 sd)
    assert _received_share(ch, 100.0, h_tx=1.5, h_rx=1.5, size=300, m=100_000,
                           seed=1) == pytest.approx(0.335810, abs=0.006)


@pytest.mark.parametrize(("name", "h_tx", "h_rx", "size", "distances"), [
    ("tr37885-urban", 1.5, 1.5, 39, (200.0, 300.0, 500.0, 800.0)),  # V2V BSM, NLOS
    ("tr37885-urban", 6.0, 1.5, 300, (100.0, 200.0, 300.0, 500.0)),  # RSU -> OBU
    ("tr37885-highway", 1.5, 1.5, 190, (500.0, 1200.0, 2000.0, 3000.0)),  # NLOSv, below
    ("tr37885-highway", 5.0, 1.5, 190, (800.0, 1200.0, 2000.0)),  # one antenna above
])
def test_marginal_equals_the_state_draws(name: str, h_tx: float, h_rx: float, size: int,
                                         distances: tuple[float, ...]) -> None:
    # the share of links received when every link draws LOS, shadowing (and blockage) and its
    # reception is the marginal probability, within 4.5 binomial sd of 200,000 links
    states = make_channel(name, sampling="link-state")
    marginal = make_channel(name)
    m = 200_000
    for k, d in enumerate(distances):
        p = marginal._marginal.probability(np.array([d]), h_tx=h_tx, h_rx=h_rx,
                                           size_bytes=size)[0]
        assert 0.002 < p < 0.998  # a distance where the check has power
        share = _received_share(states, d, h_tx=h_tx, h_rx=h_rx, size=size, m=m, seed=k)
        assert abs(share - p) < 4.5 * math.sqrt(p * (1 - p) / m), (d, share, p)


@pytest.mark.parametrize("name", ["tr37885-urban", "tr37885-highway"])
def test_tables_interpolate_the_formula(name: str) -> None:
    # links of 16 senders (vehicles 1.5 m, RSUs 6 m) of sizes 20 .. 1500 bytes to 1.5 m
    # receivers at random distances: the tables read as evaluate reads them give the formula
    ch = make_channel(name)
    rng = np.random.default_rng(0)
    n, n_tx = 4_000, 16
    d = rng.uniform(0.0, ch.max_range_m, n)
    tx = rng.integers(0, n_tx, n)
    h_tx = np.where(np.arange(n_tx) < 12, 1.5, 6.0)
    sizes = rng.integers(20, 1500, n_tx)
    classes = ch._marginal._classes(h_tx, np.full(n, 1.5), sizes)
    got = ch._marginal._read(classes, d.copy(), tx, np.arange(n))
    want = np.empty(n)
    for s in range(n_tx):
        mine = tx == s
        want[mine] = ch._marginal.probability(d[mine], h_tx=h_tx[s], h_rx=1.5,
                                              size_bytes=sizes[s])
    assert np.abs(got - want).max() < 2e-5


def test_draws_follow_the_probability_per_class_and_latency_by_hand() -> None:
    # two senders of two classes (a vehicle's 39-byte BSM, an RSU's 300-byte frame) to
    # receivers of two heights, 40,000 links each at 250 m: each class's received share is its
    # probability; latency = 2 ms + 5 ms (T1 = T2) + d3 / c
    ch = make_channel("tr37885-urban", selection_t1="5 ms", selection_t2="5 ms")
    m = 160_000
    tx = np.repeat(np.arange(2), m // 2)
    rx = np.arange(m)
    h_tx, size = np.array([1.5, 6.0]), np.array([39, 300])
    h_rx = np.where(rx % 2 == 0, 1.5, 6.0)
    out = ch.evaluate(LinkBatch(tx, rx, np.full(m, 250.0)), tx_height_m=h_tx,
                      rx_height_m=h_rx, size_bytes=size, rng=np.random.default_rng(7))
    for s in (0, 1):
        for hr in (1.5, 6.0):
            sel = (tx == s) & (h_rx == hr)
            p = ch._marginal.probability(np.array([250.0]), h_tx=h_tx[s], h_rx=hr,
                                         size_bytes=size[s])[0]
            n = int(sel.sum())
            assert abs(out.received[sel].mean() - p) < 4.5 * math.sqrt(p * (1 - p) / n)
    got = out.received
    d3 = np.sqrt(250.0 ** 2 + (h_tx[tx] - h_rx) ** 2)
    want = 7_000_000 + np.rint(d3 * 1e9 / 299_792_458.0).astype(np.int64)
    np.testing.assert_array_equal(out.latency_ns[got], want[got])
    assert np.all(out.latency_ns[~got] == -1)
    assert np.isnan(out.snr_db).all()


def test_same_seed_same_draws_and_the_range_cut() -> None:
    ch = make_channel("tr37885-urban", range_m=300.0)
    d = np.linspace(0.0, 400.0, 50_000)
    args = dict(tx_height_m=np.array([1.5]), rx_height_m=np.full(d.size, 1.5),
                size_bytes=np.array([39]))
    a = ch.evaluate(_links(d), rng=np.random.default_rng(3), **args)
    b = ch.evaluate(_links(d), rng=np.random.default_rng(3), **args)
    c = ch.evaluate(_links(d), rng=np.random.default_rng(4), **args)
    np.testing.assert_array_equal(a.received, b.received)
    np.testing.assert_array_equal(a.latency_ns, b.latency_ns)
    assert not np.array_equal(a.received, c.received)
    assert not a.received[d > 300.0].any() and a.received[d <= 100.0].all()


def test_sampling_configuration() -> None:
    assert make_channel("tr37885-urban").sampling == "marginal"
    assert make_channel("tr37885-urban").params["sampling"] == "marginal"
    # no finite range, no distance grid: the states are drawn, or a clear error when asked
    assert make_channel("tr37885-urban", range_m=math.inf).sampling == "link-state"
    with pytest.raises(ConfigError, match="finite range_m") as e:
        make_channel("tr37885-urban", range_m=math.inf, sampling="marginal")
    assert e.value.key == "channel.sampling"
    with pytest.raises(ConfigError, match="'marginal', 'link-state'"):
        make_channel("tr37885-highway", sampling="exact")


def test_unique_inverse_helpers_equal_np_unique() -> None:
    heights = np.array([6.0, 1.5, 1.5, 6.0, 3.0])
    distinct, code = _unique_inverse(heights)
    np.testing.assert_array_equal(distinct, [1.5, 3.0, 6.0])
    np.testing.assert_array_equal(code, [2, 0, 0, 2, 1])
    keys, cls = _small_unique_inverse(np.array([7, 2, 7, 0, 2], np.int64))
    np.testing.assert_array_equal(keys, [0, 2, 7])
    np.testing.assert_array_equal(cls, [2, 1, 2, 0, 1])


def test_segment_rows_hold_each_step_of_two_thresholds() -> None:
    mr = MarginalReception(make_channel("tr37885-urban"))
    at = mr._segments_at(1.5, 1.5, 60)  # thresholds 3.00 and 3.05 dB
    seg = mr._segments[at:at + mr._n_grid]
    lo, hi = mr._table(1.5, 1.5, 60), mr._table(1.5, 1.5, 61)
    np.testing.assert_array_equal(seg[:, 0], lo)
    np.testing.assert_array_equal(seg[:, 2], hi)
    np.testing.assert_array_equal(seg[:3, 1], [lo[1] - lo[0], lo[2] - lo[1], lo[3] - lo[2]])
    np.testing.assert_array_equal(seg[-1, [1, 3]], [0.0, 0.0])
    assert mr._segments_at(1.5, 1.5, 60) == at  # built once
