"""The simulation loop on scripted traffic: no SUMO, exactly known trajectories."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from v2x.apps import ForwardCollisionWarning, make_app
from v2x.bus import MemoryBus
from v2x.channel import make_channel
from v2x.geo import GeoFrame
from v2x.recorder import Recorder
from v2x.sim import RunSummary, SimConfig, Simulation
from v2x.traffic import ScriptedTraffic, ScriptedVehicle

START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _geo() -> GeoFrame:
    # network (0, 0) at Tianjin South Station
    e0, n0 = GeoFrame().project(39.05583, 117.055)
    return GeoFrame(offset_x=-e0, offset_y=-n0)


def _simulate(tmp_path: Path, vehicles: list[ScriptedVehicle], cfg: SimConfig, *,
              roadside: tuple = (), seed: int = 1) -> RunSummary:
    """One run on scripted traffic, the ideal channel and the memory bus, into tmp_path."""

    async def go() -> RunSummary:
        with Recorder(tmp_path) as rec:
            sim = Simulation(traffic=ScriptedTraffic(vehicles), roadside=list(roadside),
                             channel=make_channel("ideal"), geo=_geo(), recorder=rec,
                             config=cfg, seed=seed)
            async with MemoryBus() as bus:
                return await sim.run(bus)

    return asyncio.run(go())


def _run(tmp_path: Path, vehicles: list[ScriptedVehicle], seconds: float) -> Path:
    cfg = SimConfig(start=START, duration_ns=int(seconds * 1e9), apps=(ForwardCollisionWarning(),),
                    reception_sample=1.0)
    _simulate(tmp_path, vehicles, cfg)
    return tmp_path


def test_fcw_fires_when_ttc_drops_below_threshold(tmp_path: Path) -> None:
    # ego at 20 m/s, remote 45.5 m ahead (front bumpers) at 10 m/s, 5 m long:
    # gap after step k (0.1 s each) = 45.5 - 5 - (20 - 10) * 0.1 k = 40.5 - k [m]
    # TTC = gap / 10 m/s < 2.7 s  <=>  gap < 27 m  <=>  k > 13.5  ->  first at k = 14, t = 1.4 s,
    # gap 26.5 m, TTC 2.65 s (5 cm away from the threshold: lat/lon quantization is ~1 cm)
    vehicles = [ScriptedVehicle("ego", 0.0, 0.0, 0.0, 20.0),
                ScriptedVehicle("lead", 0.0, 45.5, 0.0, 10.0, length=5.0)]
    run = _run(tmp_path, vehicles, 2.0)
    w = pd.read_parquet(run / "warnings.parquet")
    assert len(w) == 1  # one rising edge, the warning stays on while closing
    row = w.iloc[0]
    assert row["t_ns"] == 1_400_000_000
    assert (row["vehicle"], row["remote"]) == (0, 1)
    assert row["gap_m"] == pytest.approx(26.5, abs=0.02)
    assert row["ttc_s"] == pytest.approx(2.65, abs=0.002)
    # the BSM that raised it was sent by the lead vehicle in that same step
    tx = pd.read_parquet(run / "transmissions.parquet").set_index("tx_id")
    assert tx.loc[row["tx_id"], "sender"] == 1 and tx.loc[row["tx_id"], "t_ns"] == row["t_ns"]
    # receptions the application used are marked
    rx = pd.read_parquet(run / "receptions.parquet")
    assert (rx.loc[rx["tx_id"] == row["tx_id"], "used_by"] == "FCW").all()


def test_no_warning_when_not_closing_and_exact_prr(tmp_path: Path) -> None:
    # equal speeds: TTC infinite, never a warning; ideal channel: every pair received
    vehicles = [ScriptedVehicle("a", 0.0, 0.0, 0.0, 15.0),
                ScriptedVehicle("b", 0.0, 20.0, 0.0, 15.0),
                ScriptedVehicle("c", 400.0, 0.0, 90.0, 10.0)]
    run = _run(tmp_path, vehicles, 1.0)
    assert len(pd.read_parquet(run / "warnings.parquet")) == 0
    prr = pd.read_parquet(run / "prr_bins.parquet")
    # 10 steps x 3 senders x 2 receivers = 60 BSM links, all within 500 m, all received
    assert prr["n_pairs"].sum() == 60 and prr["n_received"].sum() == 60
    # a and b are 20 m apart: 2 links x 10 steps in the [20, 40) bin
    assert prr.set_index("bin_lo_m").loc[20.0, "n_pairs"] == 20
    ipg = pd.read_parquet(run / "ipg_hist.parquet")
    # 6 ordered pairs, 10 receptions each: 9 gaps of exactly 100 ms per pair
    assert ipg["count"].sum() == 54
    assert set(ipg["bin_lo_ns"]) == {100_000_000}


class _QuietRsu:
    """A roadside unit that only listens (the loop forwards what it hears)."""

    name, x, y, antenna_height_m = "R1", 0.0, 50.0, 6.0

    def transmit(self, t_ns: int, users: object) -> list:
        return []


@pytest.mark.parametrize("payload", ["uper", "json"])
def test_rsu_uplink_carries_exactly_the_bsm_frames_it_heard(tmp_path: Path,
                                                             payload: str) -> None:
    import json

    from v2x.bus import Tap
    from v2x.messages import decode_frame, frame_to_json, unpack_frames

    vehicles = [ScriptedVehicle("a", 0.0, 0.0, 0.0, 10.0),
                ScriptedVehicle("b", 3.5, 30.0, 180.0, 8.0)]
    cfg = SimConfig(start=START, duration_ns=300_000_000, reception_sample=1.0,
                    payload=payload)
    payloads: list[tuple[str, bytes]] = []

    async def go() -> None:
        with Recorder(tmp_path) as rec:
            sim = Simulation(traffic=ScriptedTraffic(vehicles), roadside=[_QuietRsu()],
                             channel=make_channel("ideal"), geo=_geo(), recorder=rec,
                             config=cfg, seed=1)
            async with MemoryBus() as bus, Tap(bus, "v2x/xiqing/#") as tap:
                await sim.run(bus)
                payloads.extend((m.topic, m.payload) for m in tap.drain())

    asyncio.run(go())
    tx = pd.read_parquet(tmp_path / "transmissions.parquet")
    assert [t for t, _ in payloads] == ["v2x/xiqing/rsu/R1/up/bsm"] * 3  # one per step
    for step, (_, body) in enumerate(payloads, start=1):
        sent = tx[tx["t_ns"] == step * 100_000_000]
        if payload == "uper":
            # the ideal channel delivers both BSMs of the step to the RSU, bytes unchanged
            frames = unpack_frames(body)
            assert frames == sent["frame"].tolist()
            assert [decode_frame(f).msg_cnt for f in frames] == sent["msg_cnt"].tolist()
        else:  # the JSON form of the very same frames
            assert json.loads(body) == {"bsm": [frame_to_json(decode_frame(f))
                                                for f in sent["frame"]]}


class _BeaconRsu:
    """An RSU that sends a SPAT every step and a MAP every 5th step (opaque payloads)."""

    name, x, y, antenna_height_m = "R2", 10.0, 120.0, 6.0

    def __init__(self) -> None:
        self.n = 0

    def transmit(self, t_ns: int, users: object) -> list:
        from v2x.sim import Outgoing

        self.n += 1
        out = [Outgoing("SPAT", self.n % 128, b"spat%d" % self.n, 70)]
        if self.n % 5 == 1:
            out.append(Outgoing("MAP", self.n % 128, b"map%d" % self.n, 231))
        return out


def _run_window(tmp_path: Path, window: int, bsm_period_ns: int = 100_000_000,
                max_window_pairs: int = 2_000_000) -> dict[str, pd.DataFrame]:
    # a closing pair in one lane (FCW fires), a braking car (hard-braking event at -5 m/s²),
    # a car 400 m away (only some links in range) and an RSU near the pair
    vehicles = [ScriptedVehicle("ego", 0.0, 0.0, 0.0, 20.0),
                ScriptedVehicle("lead", 0.0, 45.5, 0.0, 10.0, length=5.0),
                ScriptedVehicle("brake", 3.5, 80.0, 0.0, 15.0, accel=-5.0, lane="lane_1"),
                ScriptedVehicle("far", 400.0, 300.0, 90.0, 12.0, lane="lane_9")]
    cfg = SimConfig(start=START, duration_ns=2_300_000_000, apps=(ForwardCollisionWarning(),),
                    reception_sample=0.5, window_steps=window, bsm_period_ns=bsm_period_ns,
                    max_window_pairs=max_window_pairs)

    _simulate(tmp_path, vehicles, cfg, roadside=(_BeaconRsu(),), seed=3)
    return {p.stem: pd.read_parquet(p) for p in sorted(tmp_path.glob("*.parquet"))}


@pytest.mark.parametrize("bsm_period_ms", [100, 200])
def test_window_size_does_not_change_the_recording(tmp_path: Path, bsm_period_ms: int) -> None:
    # with the ideal channel nothing is random per link: one step at a time, 10 steps and 7
    # steps (23 steps: the last window is short) must record the same run; with a 200 ms BSM
    # period every other step has no BSM, and the FCW state is held across those steps
    period = bsm_period_ms * 1_000_000
    one = _run_window(tmp_path / "w1", 1, period)
    assert len(one["warnings"]) == 1 and (one["events"]["kind"] == "hard_braking").sum() == 1
    assert set(one["transmissions"]["msg_type"]) == {"BSM", "SPAT", "MAP"}
    steps_with_bsm = 23 if bsm_period_ms == 100 else 12
    # BSM uplinks, SPAT each step, 5 MAP; telemetry: sim/clock at 1 s and 2 s, one
    # sim/warnings (the FCW warning's step) and one sim/events (the hard braking's step)
    assert len(one["bus"]) == steps_with_bsm + 23 + 5 + 2 + 1 + 1
    for window in (10, 7):
        other = _run_window(tmp_path / f"w{window}", window, period)
        assert other.keys() == one.keys()
        for table, a in one.items():
            b = other[table]
            if table == "bus":
                a, b = (t.drop(columns=["wall_latency_ms", "wall_ns"]) for t in (a, b))
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{table} w{window}")


def test_a_window_ends_at_its_pair_budget_and_records_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # per step 4 BSMs + 1 SPAT (+ 1 MAP in steps 1, 6, 11, ...) to 4 OBUs + 1 RSU: 25 sender x
    # receiver pairs (30 with a MAP); a budget of 60 ends a window after the step that reaches
    # it: 30 + 25 = 55 < 60, + 25 = 80 -> windows of 3 steps (of the 20 asked for); a window
    # with more than 60 links in range is evaluated in chunks of senders (the ideal channel
    # draws nothing, so the recording is the one-step run's all the same)
    lengths: list[int] = []
    traffic = Simulation._traffic

    def counted(self: Simulation, n_steps: int) -> object:
        win = traffic(self, n_steps)
        lengths.append(win.n_steps)
        return win

    monkeypatch.setattr(Simulation, "_traffic", counted)
    small = _run_window(tmp_path / "budget", 20, max_window_pairs=60)
    assert lengths == [3] * 7 + [2]  # 23 steps
    one = _run_window(tmp_path / "w1", 1)
    for table, a in one.items():
        b = small[table]
        if table == "bus":
            a, b = (t.drop(columns=["wall_latency_ms", "wall_ns"]) for t in (a, b))
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)


@pytest.mark.parametrize("window", [1, 10])
def test_a_frame_that_does_not_decode_is_counted_and_recorded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int) -> None:
    # every frame vehicle 1 sends is corrupted (its extension bit set); receivers cannot
    # decode it, the run goes on; vehicle 2 brakes hard at 0.5 s: events come in step order
    import v2x.sim._loop as loop

    real = loop.encode_bsm_rows

    def corrupt(batch):  # type: ignore[no-untyped-def]
        rows = real(batch)
        rows[batch.sender == 1, 0] |= 0x80
        return rows

    monkeypatch.setattr(loop, "encode_bsm_rows", corrupt)
    vehicles = [ScriptedVehicle("a", 0.0, 0.0, 0.0, 15.0),
                ScriptedVehicle("b", 0.0, 20.0, 0.0, 15.0),
                ScriptedVehicle("c", 3.5, 60.0, 0.0, 15.0, accel=-5.0, lane="lane_1")]
    cfg = SimConfig(start=START, duration_ns=1_500_000_000, apps=(ForwardCollisionWarning(),),
                    reception_sample=1.0, window_steps=window)

    assert _simulate(tmp_path, vehicles, cfg).decode_errors == 15
    ev = pd.read_parquet(tmp_path / "events.parquet")
    bad = ev[ev["kind"] == "decode_error"]
    # one per step (15 steps of 100 ms), vehicle 1, the second BSM of its step (row 1)
    assert bad["t_ns"].tolist() == [k * 100_000_000 for k in range(1, 16)]
    assert set(bad["vehicle"]) == {1} and set(bad["value"]) == {1.0}
    # hard braking (-5 m/s² > 0.4 g) from the first step, in time order with the rest
    assert ev["kind"].iloc[0] == "hard_braking" and ev["t_ns"].iloc[0] == 100_000_000
    assert ev["t_ns"].is_monotonic_increasing
    # the corrupt frames are what was sent: recorded as they went on air
    tx = pd.read_parquet(tmp_path / "transmissions.parquet")
    assert all(f[0] & 0x80 for f in tx[tx["sender"] == 1]["frame"])
    assert not any(f[0] & 0x80 for f in tx[tx["sender"] != 1]["frame"])


@pytest.mark.parametrize("bad", [0, -3, 2.5, "3", True])
def test_window_steps_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ValueError, match="window_steps must be an integer >= 1"):
        SimConfig(start=START, duration_ns=1_000_000_000, window_steps=bad)  # type: ignore[arg-type]


def _run_apps(tmp_path: Path, vehicles: list[ScriptedVehicle], seconds: float,
              apps: tuple) -> pd.DataFrame:
    cfg = SimConfig(start=START, duration_ns=int(seconds * 1e9), apps=apps,
                    reception_sample=1.0)
    _simulate(tmp_path, vehicles, cfg)
    return pd.read_parquet(tmp_path / "warnings.parquet")


def test_ebw_warns_of_a_hard_braking_vehicle_ahead_and_not_of_one_behind(
        tmp_path: Path) -> None:
    # the lead, 60 m ahead (front bumpers), brakes at 5 m/s² (> 0.4 g = 3.92 m/s²): its first
    # BSM (step 1, t = 0.1 s: SUMO-style states after the first step) carries hardBraking;
    # the host, in the next lane (3.5 m to the right), gets an EBW in that step. A vehicle
    # 60 m behind the braking one, and one driving the other way, get none.
    vehicles = [ScriptedVehicle("host", 3.5, 0.0, 0.0, 15.0),
                ScriptedVehicle("lead", 0.0, 60.0, 0.0, 15.0, accel=-5.0),
                ScriptedVehicle("ahead", 0.0, 120.0, 0.0, 15.0),
                ScriptedVehicle("oncoming", -3.5, 90.0, 180.0, 15.0)]
    w = _run_apps(tmp_path, vehicles, 1.0, (make_app("ebw"),))
    assert w["app"].tolist() == ["EBW"]
    row = w.iloc[0]
    assert (row["vehicle"], row["remote"], row["t_ns"]) == (0, 1, 100_000_000)
    # gap_m is the longitudinal offset: 60 m - (15 - 15) x 0.1 - 5 x 0.1² / 2 = 59.975 m
    assert row["gap_m"] == pytest.approx(59.975, abs=0.02)
    assert row["info_age_ms"] == pytest.approx(1.0, abs=0.01)  # the ideal channel's 1 ms


def test_ebw_and_fcw_run_side_by_side(tmp_path: Path) -> None:
    # a lead 45.5 m ahead at 10 m/s braking at 4 m/s², host at 20 m/s behind: EBW at once
    # (hardBraking in the first BSM), FCW when the TTC falls below 2.7 s; each recorded once
    vehicles = [ScriptedVehicle("host", 0.0, 0.0, 0.0, 20.0),
                ScriptedVehicle("lead", 0.0, 45.5, 0.0, 10.0, accel=-4.0, length=5.0)]
    w = _run_apps(tmp_path, vehicles, 1.5, (make_app("fcw"), make_app("ebw")))
    assert sorted(w["app"]) == ["EBW", "FCW"]
    assert w.set_index("app").loc["EBW", "t_ns"] == 100_000_000
    # FCW: gap(t) = 40.5 - 10 t - 2 t² (lead decelerating at 4 m/s²), closing 10 + 4 t:
    # t = 0.6 s: 33.78 / 12.4 = 2.72 s (not below 2.7), t = 0.7 s: 32.52 / 12.8 = 2.54 s
    assert w.set_index("app").loc["FCW", "t_ns"] == 700_000_000


def _closed_loop(tmp_path: Path, *, window: int, driver: bool, channel: str) -> Path:
    """A lead braking at 6 m/s² from 20 m/s, 50 m ahead (front bumpers) of a host at
    20 m/s: FCW and EBW on, and (``driver``) a warned driver braking after 1 s at 6 m/s²."""
    from v2x.apps import DriverConfig, DriverReaction

    vehicles = [ScriptedVehicle("host", 0.0, 0.0, 0.0, 20.0),
                ScriptedVehicle("lead", 0.0, 50.0, 0.0, 20.0, accel=-6.0)]
    reaction = (DriverReaction(DriverConfig(enabled=True, reaction_s=1.0, decel_mps2=6.0,
                                            hold_s=2.0), step_ns=100_000_000)
                if driver else None)
    cfg = SimConfig(start=START, duration_ns=6_000_000_000, reception_sample=1.0,
                    apps=(make_app("fcw"), make_app("ebw")), driver=reaction,
                    window_steps=window, step_exact_channel=True)

    async def go() -> None:
        with Recorder(tmp_path) as rec:
            sim = Simulation(traffic=ScriptedTraffic(vehicles), roadside=[],
                             channel=make_channel(channel), geo=_geo(), recorder=rec,
                             config=cfg, seed=7)
            async with MemoryBus() as bus:
                await sim.run(bus)

    asyncio.run(go())
    return tmp_path


def _min_gap(run: Path) -> float:
    tr = pd.read_parquet(run / "trajectories.parquet")
    host = tr[tr["vehicle"] == 0].set_index("t_ns")["y"]
    lead = tr[tr["vehicle"] == 1].set_index("t_ns")["y"] - 4.8
    return float((lead - host).min())


def test_closed_loop_a_warned_driver_stops_behind_a_braking_lead(tmp_path: Path) -> None:
    # EBW warns at the first BSM (t = 0.1 s, hardBraking: 6 > 3.92 m/s²); the driver brakes
    # after 1.0 s, at t = 1.1 s, from 20 m/s at 6 m/s²: host front at 22 + 33.3 = 55.3 m;
    # the lead stops with its front at 50 + 20²/12 = 83.3 m, rear at 78.5 m: 23.2 m apart
    # (the scripted kinematics integrate per 0.1 s step: within 0.5 m)
    with_v2x = _closed_loop(tmp_path / "on", window=11, driver=True, channel="ideal")
    assert _min_gap(with_v2x) == pytest.approx(78.5 - 55.3, abs=0.5)
    ev = pd.read_parquet(with_v2x / "events.parquet")
    brakes = ev[ev["kind"] == "driver_brake"]
    assert brakes["t_ns"].tolist()[0] == 1_100_000_000 and brakes["vehicle"].tolist()[0] == 0
    # without the driver reacting, the host drives into the stopped lead (the gap goes
    # negative: 20 m/s for 6 s covers 120 m, the lead's rear is at 78.5 m)
    without = _closed_loop(tmp_path / "off", window=11, driver=False, channel="ideal")
    assert _min_gap(without) < -30.0


@pytest.mark.parametrize("window", [4, 11])
def test_closed_loop_recording_equals_the_step_by_step_run(tmp_path: Path,
                                                            window: int) -> None:
    # the TR 37.885 channel draws per step in a closed loop: windows of 4 and 11 steps give
    # the recording of the run processed one step at a time, table for table
    one = _closed_loop(tmp_path / "one", window=1, driver=True, channel="tr37885-urban")
    many = _closed_loop(tmp_path / "many", window=window, driver=True,
                        channel="tr37885-urban")
    for table in ("trajectories", "transmissions", "receptions", "warnings", "events",
                  "prr_bins", "latency_hist", "ipg_hist"):
        a = pd.read_parquet(one / f"{table}.parquet")
        b = pd.read_parquet(many / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b, check_categorical=False, obj=table)
    assert len(pd.read_parquet(one / "warnings.parquet")) >= 1


def test_a_window_longer_than_the_reaction_time_is_refused() -> None:
    from v2x.apps import DriverConfig, DriverReaction

    reaction = DriverReaction(DriverConfig(enabled=True, reaction_s=0.5), step_ns=100_000_000)
    with pytest.raises(ValueError, match="reaction time"):
        SimConfig(start=START, duration_ns=1_000_000_000, driver=reaction, window_steps=7)


def _sampled_run(tmp_path: Path, *, kpi_sample: float, apps: tuple = (),
                 seed: int = 2, independent: bool = True) -> tuple[Path, int]:
    """Ten vehicles 30 m apart on one road for 1 s, the ideal channel (every link within
    range received), the KPIs over ``kpi_sample`` of the receivers and the same share of
    reception rows; returns the run and the links the channel decided."""
    vehicles = [ScriptedVehicle(f"v{i}", 0.0, 30.0 * i, 0.0, 10.0) for i in range(10)]
    cfg = SimConfig(start=START, duration_ns=1_000_000_000, reception_sample=kpi_sample,
                    kpi_sample=kpi_sample, apps=apps)
    channel = make_channel("ideal")
    channel.links_independent = independent  # type: ignore[attr-defined]
    evaluate, decided = channel.evaluate, []

    def counting(part, **kw):  # type: ignore[no-untyped-def]
        decided.append(len(part))
        return evaluate(part, **kw)

    channel.evaluate = counting  # type: ignore[method-assign]

    async def go() -> None:
        with Recorder(tmp_path) as rec:
            sim = Simulation(traffic=ScriptedTraffic(vehicles), roadside=[], channel=channel,
                             geo=_geo(), recorder=rec, config=cfg, seed=seed)
            async with MemoryBus() as bus:
                await sim.run(bus)

    asyncio.run(go())
    return tmp_path, sum(decided)


def test_kpis_count_only_the_links_of_the_sampled_receivers(tmp_path: Path) -> None:
    run, decided = _sampled_run(tmp_path / "s", kpi_sample=0.4)
    # the sampled receivers: those with reception rows (the same draw at the same share)
    rx = pd.read_parquet(run / "receptions.parquet")
    sampled = set(rx["receiver"])
    c = len(sampled)
    assert sampled == {2, 4, 8, 9}  # a real sample: seed 2 draws these 4 of 10
    # 10 steps x 10 senders x c receivers, less each receiver's own BSM: all received
    prr = pd.read_parquet(run / "prr_bins.parquet")
    assert prr["n_pairs"].sum() == prr["n_received"].sum() == 10 * 9 * c
    # the [20, 40) m bin: the neighbours 30 m away, 2 each for vehicles 2, 4 and 8, 1 for
    # vehicle 9 at the end of the line: 7 links a step
    assert prr.set_index("bin_lo_m").loc[20.0, "n_pairs"] == 10 * 7
    # 9 ordered pairs per sampled receiver, 10 receptions each: 9 gaps of 100 ms
    ipg = pd.read_parquet(run / "ipg_hist.parquet")
    assert ipg["count"].sum() == 9 * 9 * c and set(ipg["bin_lo_ns"]) == {100_000_000}
    # no application: the other vehicles were not receivers at all
    assert decided == 10 * 9 * c
    # every BSM was still sent, and a run over every receiver counts all 900 links
    assert len(pd.read_parquet(run / "transmissions.parquet")) == 100
    full, decided_full = _sampled_run(tmp_path / "all", kpi_sample=1.0)
    assert pd.read_parquet(full / "prr_bins.parquet")["n_pairs"].sum() == 900 == decided_full


def test_applications_still_hear_everything_when_the_kpis_are_sampled(tmp_path: Path) -> None:
    # with an application every equipped vehicle receives: only the counting is sampled
    run, decided = _sampled_run(tmp_path, kpi_sample=0.0, apps=(make_app("fcw"),))
    assert decided == 900
    assert len(pd.read_parquet(run / "prr_bins.parquet")) == 0  # no receiver counted
    assert len(pd.read_parquet(run / "receptions.parquet")) == 0


def test_a_channel_whose_links_interfere_keeps_every_vehicle_a_receiver(tmp_path: Path) -> None:
    # a model that is not link by link (as mode4, whose receptions interfere): every
    # vehicle still receives (all 900 links decided), the KPIs count the 4 sampled ones
    run, decided = _sampled_run(tmp_path, kpi_sample=0.4, independent=False)
    assert decided == 900
    assert pd.read_parquet(run / "prr_bins.parquet")["n_pairs"].sum() == 10 * 9 * 4
