"""The cellular Uu uplink (V2N) of OBUs: its model and a run that uses it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from v2x.bus import UuUplink
from v2x.cli import run_scenario
from v2x.errors import ConfigError


def test_uu_loss_and_latency_follow_the_model_and_not_the_batching() -> None:
    uu = UuUplink(loss=0.01, base_ms=20.0, jitter_ms=15.0)
    ok, lat = uu.transfer(100_000, np.random.default_rng(5))
    # loss: 1 % +- 4 sigma, sigma = sqrt(0.01 * 0.99 / 1e5) = 0.00031
    assert abs((~ok).mean() - 0.01) < 4 * 0.00031
    # latency: 20 ms + Exp(mean 15 ms): mean 35 ms +- 4 x 15 / sqrt(99 000) = 0.19 ms
    assert abs(np.nanmean(lat) - 35.0) < 0.19 and np.nanmin(lat) >= 20.0
    assert np.isnan(lat[~ok]).all()
    # two uniform draws per message in message order: batches of 10 + 5 = one of 15
    a = [uu.transfer(n, rng) for rng in [np.random.default_rng(9)] for n in (10, 5)]
    b = uu.transfer(15, np.random.default_rng(9))
    np.testing.assert_array_equal(np.concatenate([a[0][1], a[1][1]]), b[1])
    with pytest.raises(ConfigError) as err:
        UuUplink(loss=1.0)
    assert err.value.key == "v2n.loss"


@pytest.mark.sumo
def test_a_run_sends_bsms_over_uu_with_their_simulated_latency(tmp_path: Path) -> None:
    run_scenario("xiqing-south-station", out_dir=tmp_path, bus="memory", duration_s=10.0,
                 v2n_period_s=1.0)
    bus = pd.read_parquet(tmp_path / "bus.parquet")
    tx = pd.read_parquet(tmp_path / "transmissions.parquet")
    lost = json.loads((tmp_path / "run.json").read_text())["summary"]["v2n_lost"]
    obu = bus[bus["topic"].str.contains("/obu/")]
    # every BSM sent at a whole second goes over Uu: delivered + lost = those BSMs
    bsm = tx[tx["msg_type"] == "BSM"]
    assert len(obu) + lost == int((bsm["t_ns"] % 1_000_000_000 == 0).sum()) > 0
    assert (obu["t_ns"] % 1_000_000_000 == 0).all() and (obu["msg_type"] == "BSM").all()
    lat = json.loads((tmp_path / "run.json").read_text())["summary"]["v2n_latency_ms"]
    assert lat["n"] == len(obu) and lat["p50"] >= 20.0  # 20 ms: the model's fixed part
    # each OBU topic names a vehicle that sent a BSM at that time
    senders = set(zip(bsm["t_ns"], bsm["sender"], strict=True))
    assert all((t, int(topic.split("/")[3])) in senders
               for t, topic in zip(obu["t_ns"], obu["topic"], strict=True))
