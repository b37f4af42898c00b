"""The ideal channel."""

from __future__ import annotations

import numpy as np

from v2x.channel import LinkBatch, make_channel


def _links(distances: list[float]) -> LinkBatch:
    m = len(distances)
    return LinkBatch(
        np.zeros(m, dtype=np.int64), np.arange(m, dtype=np.int64), np.asarray(distances)
    )


def test_ideal_receives_every_link_after_constant_latency() -> None:
    ch = make_channel("ideal")
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    out = ch.evaluate(
        _links([0.0, 10.0, 5000.0, 1e6]),
        tx_height_m=np.array([1.5]),
        rx_height_m=np.full(4, 1.5),
        size_bytes=np.array([300]),
        rng=rng,
    )
    assert out.received.tolist() == [True, True, True, True]
    assert out.latency_ns.dtype == np.int64
    assert out.latency_ns.tolist() == [1_000_000] * 4  # default "1 ms"
    assert np.isnan(out.snr_db).all()
    assert rng.bit_generator.state == before  # draws nothing
    assert ch.name == "ideal" and ch.max_range_m == np.inf


def test_ideal_range_and_lost_sentinel() -> None:
    ch = make_channel("ideal", latency="250 us", range_m=100)
    out = ch.evaluate(
        _links([99.0, 100.0, 100.5]),
        tx_height_m=np.array([1.5]),
        rx_height_m=np.full(3, 1.5),
        size_bytes=np.array([300]),
        rng=np.random.default_rng(0),
    )
    assert out.received.tolist() == [True, True, False]
    assert out.latency_ns.tolist() == [250_000, 250_000, -1]
    assert ch.max_range_m == 100.0


def test_ideal_empty_batch() -> None:
    out = make_channel("ideal").evaluate(
        LinkBatch.empty(),
        tx_height_m=np.empty(0),
        rx_height_m=np.empty(0),
        size_bytes=np.empty(0, dtype=np.int64),
        rng=np.random.default_rng(0),
    )
    assert len(out) == 0 and out.latency_ns.dtype == np.int64
