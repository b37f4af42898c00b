"""Network KPIs from the histograms and bins of the fixture recording (see conftest)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import histogram_percentile, latency_cdf, load_recording, network_kpis, prr_table
from analysis._kpi import bin_key
from analysis._recording import TABLES


def test_histogram_percentile_by_hand() -> None:
    # bins (upper edges) 1.1, 1.2, 2.1, 5.1 ms with counts 10, 6, 3, 1: N = 20, cum 10 16 19 20
    hi = np.array([1.1, 1.2, 2.1, 5.1])
    cnt = np.array([10, 6, 3, 1])
    # p50: k = ceil(0.50*20) = 10 -> cum reaches 10 in bin 0 -> 1.1
    assert histogram_percentile(hi, cnt, 50) == 1.1
    # p80: k = 16 -> bin 1 (cum 16) -> 1.2; p81: k = ceil(16.2) = 17 -> bin 2 -> 2.1
    assert histogram_percentile(hi, cnt, 80) == 1.2
    assert histogram_percentile(hi, cnt, 81) == 2.1
    # p95: k = ceil(19.0) = 19 (not 20 through 0.95*20 rounding) -> bin 2 -> 2.1
    assert histogram_percentile(hi, cnt, 95) == 2.1
    # p99: k = ceil(19.8) = 20 -> bin 3 -> 5.1; p100 = max = last non-empty upper edge
    assert histogram_percentile(hi, cnt, 99) == 5.1
    assert histogram_percentile(hi, cnt, 100) == 5.1


def test_histogram_percentile_unsorted_and_empty_bins() -> None:
    # same histogram shuffled, with an empty bin at 9.9 that must not count as the max
    hi = np.array([5.1, 9.9, 1.1, 2.1, 1.2])
    cnt = np.array([1, 0, 10, 3, 6])
    assert histogram_percentile(hi, cnt, 50) == 1.1
    assert histogram_percentile(hi, cnt, 100) == 5.1
    assert math.isnan(histogram_percentile(np.array([]), np.array([]), 50))
    assert math.isnan(histogram_percentile(np.array([1.0]), np.array([0]), 50))


def test_latency_and_ipg_kpis(run_dir: Path) -> None:
    k = network_kpis(load_recording(run_dir))
    # BSM latency histogram of conftest = the hand case above, in ns / 1e6
    assert k["latency.BSM.n"] == 20
    assert k["latency.BSM.p50_ms"] == pytest.approx(1.1)
    assert k["latency.BSM.p95_ms"] == pytest.approx(2.1)
    assert k["latency.BSM.p99_ms"] == pytest.approx(5.1)
    assert k["latency.BSM.max_ms"] == pytest.approx(5.1)
    # SPAT: one bin [3.0, 3.1) ms x 2 -> every percentile 3.1
    assert k["latency.SPAT.p50_ms"] == pytest.approx(3.1)
    # no RSI receptions: NaN, but the key exists
    assert k["latency.RSI.n"] == 0
    assert math.isnan(k["latency.RSI.p99_ms"])
    # IPG: [100,101) ms x8, [200,201) x2: p50 k=5 -> 101; p99 k=ceil(9.9)=10 -> 201
    assert k["ipg.BSM.p50_ms"] == pytest.approx(101.0)
    assert k["ipg.BSM.p99_ms"] == pytest.approx(201.0)


def test_prr_bins_and_within_300m(run_dir: Path) -> None:
    rec = load_recording(run_dir)
    prr = prr_table(rec)
    bsm = prr[prr["msg_type"] == "BSM"]
    assert len(bsm) == 25  # 0..500 m in 20 m bins
    assert list(bsm["prr"].iloc[:2]) == [1.0, 0.9]  # 10/10, 9/10
    k = network_kpis(rec, prr)
    assert k["prr.BSM.bin_0_20"] == 1.0
    assert k["prr.BSM.bin_20_40"] == pytest.approx(0.9)
    assert k["prr.BSM.bin_280_300"] == pytest.approx(0.5)  # 2/4
    assert k["prr.BSM.bin_300_320"] == pytest.approx(0.2)  # 1/5, beyond 300 m
    assert math.isnan(k["prr.BSM.bin_40_60"])  # 0 pairs
    # within 300 m: bins with hi <= 300: (10 + 9 + 2) / (10 + 10 + 4) = 21/24 = 0.875
    assert k["prr.BSM.within_300m"] == pytest.approx(0.875)
    assert k["prr.SPAT.within_300m"] == 1.0
    # nominal bins from run.json exist for every type, NaN without data
    assert math.isnan(k["prr.RSM.bin_480_500"])
    assert math.isnan(k["prr.MAP.within_300m"])


def test_counts_tx_and_bus(run_dir: Path) -> None:
    k = network_kpis(load_recording(run_dir))
    assert (k["vehicles"], k["equipped"], k["rsus"], k["steps"]) == (3, 2, 1, 6)
    # BSM from 2 vehicles x 6 steps = 12; RSU SPAT x2, MAP x1; no RSI
    assert (k["tx.BSM"], k["tx.SPAT"], k["tx.MAP"], k["tx.RSI"]) == (12, 2, 1, 0)
    assert k["bus.messages"] == 4
    assert (k["bus.BSM.messages"], k["bus.SPAT.messages"]) == (3, 1)
    # wall latencies 1, 2, 3, 10 ms: p50 k=2 -> 2; p99 k=ceil(3.96)=4 -> 10
    assert k["bus.wall_latency_p50_ms"] == 2.0
    assert k["bus.wall_latency_p99_ms"] == 10.0


def test_empty_bus_gives_nan_latency(make_run: Callable[..., Path]) -> None:
    d = make_run(bus=pd.DataFrame({c: [] for c in TABLES["bus.parquet"]}))
    k = network_kpis(load_recording(d))
    assert k["bus.messages"] == 0
    assert math.isnan(k["bus.wall_latency_p99_ms"])


def test_latency_cdf(run_dir: Path) -> None:
    cdf = latency_cdf(load_recording(run_dir))
    bsm = cdf[cdf["msg_type"] == "BSM"]
    # cum 10, 16, 19, 20 of 20
    assert list(bsm["latency_ms"]) == pytest.approx([1.1, 1.2, 2.1, 5.1])
    assert list(bsm["cdf"]) == pytest.approx([0.5, 0.8, 0.95, 1.0])


def test_bin_key() -> None:
    assert bin_key(0.0, 20.0) == "bin_0_20"
    assert bin_key(12.5, 25.0) == "bin_12p5_25"


def test_kpi_order_sorts_numbers_as_numbers() -> None:
    from analysis import kpi_order

    names = ["prr.BSM.bin_100_120", "prr.BSM.bin_20_40", "prr.BSM.bin_12p5_25",
             "prr.BSM.bin_0_20", "latency.BSM.p99_ms", "latency.BSM.p50_ms"]
    assert sorted(names, key=kpi_order) == [
        "latency.BSM.p50_ms", "latency.BSM.p99_ms", "prr.BSM.bin_0_20", "prr.BSM.bin_12p5_25",
        "prr.BSM.bin_20_40", "prr.BSM.bin_100_120"]
