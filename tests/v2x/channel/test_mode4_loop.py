"""The mode4 channel in the simulation loop (scripted traffic, no SUMO): its load reaches the
run summary, and with per-step channel draws the recording does not depend on the window."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from v2x.bus import MemoryBus
from v2x.channel import Mode4Channel, make_channel
from v2x.geo import GeoFrame
from v2x.messages._uper import BSM_BATCH_FRAME_BYTES
from v2x.recorder import Recorder
from v2x.sim import RunSummary, SimConfig, Simulation
from v2x.traffic import ScriptedTraffic, ScriptedVehicle

START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _run(out: Path, *, window: int, step_exact: bool) -> RunSummary:
    """Two vehicles 50 m apart in one lane for 3 s, every OBU sending a BSM each 100 ms."""
    e0, n0 = GeoFrame().project(39.05583, 117.055)
    vehicles = [ScriptedVehicle("a", 0.0, 0.0, 0.0, 10.0),
                ScriptedVehicle("b", 0.0, 50.0, 0.0, 10.0)]
    cfg = SimConfig(start=START, duration_ns=3_000_000_000, reception_sample=1.0,
                    window_steps=window, step_exact_channel=step_exact)

    async def go() -> RunSummary:
        with Recorder(out) as rec:
            sim = Simulation(traffic=ScriptedTraffic(vehicles), roadside=[],
                             channel=make_channel("mode4"),
                             geo=GeoFrame(offset_x=-e0, offset_y=-n0), recorder=rec,
                             config=cfg, seed=3)
            async with MemoryBus() as bus:
                return await sim.run(bus)

    return asyncio.run(go())


def test_channel_load_in_the_summary(tmp_path: Path) -> None:
    s = _run(tmp_path, window=20, step_exact=False)
    load = s.channel_load
    # each vehicle hears one BSM per 100 ms step: (frame + 72 B) on n sub-channels of the 8
    # of 20 MHz, at about -50 dBm (far above -94 dBm): CBR = n / (100 subframes * 8)
    n = int(Mode4Channel().subchannels_needed([BSM_BATCH_FRAME_BYTES])[0])
    assert load["cbr_mean"] == pytest.approx(n / 800)
    assert load["dropped"] == 0 and load["transmissions"] == 2 * 30
    # CR: n sub-channels per 100 ms, at most 11 transmissions in 1000 ms, over 8000
    assert n / 8000 <= load["cr_mean"] <= 11 * n / 8000
    # 50 m, SINR far above the PER table, no collision possible except half duplex (both
    # in one subframe): every BSM is received or lost to half duplex only
    rx = pd.read_parquet(tmp_path / "receptions.parquet")
    assert len(rx) == 2 * 30 and rx["received"].mean() > 0.5


def test_per_step_draws_make_the_window_irrelevant(tmp_path: Path) -> None:
    one = tmp_path / "one"
    many = tmp_path / "many"
    _run(one, window=1, step_exact=True)
    _run(many, window=7, step_exact=True)
    for table in ("transmissions", "receptions", "prr_bins", "latency_hist"):
        pd.testing.assert_frame_equal(pd.read_parquet(one / f"{table}.parquet"),
                                      pd.read_parquet(many / f"{table}.parquet"),
                                      check_categorical=False, obj=table)
