"""End to end: real SUMO runs of the library scenario through channel, bus, recording, analysis.

Assertions are on recorded values: the same seed gives the same recording; the memory bus and
the embedded MQTT broker give the same KPIs; the counts and PRR shape of the report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from v2x.cli import run_scenario

pytestmark = [pytest.mark.sumo, pytest.mark.slow]

TABLES = ("trajectories", "transmissions", "receptions", "prr_bins", "latency_hist", "ipg_hist",
          "warnings", "events", "nodes")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name, bus, pipeline, seed in (("a", "memory", False, 7), ("b", "memory", False, 7),
                                      ("mqtt", "embedded", False, 7),
                                      ("piped", "memory", True, 7),
                                      ("other-seed", "memory", False, 8)):
        d = tmp_path_factory.mktemp(f"run-{name}")
        run_scenario("xiqing-south-station", out_dir=d, seed=seed, bus=bus, duration_s=40.0,
                     pipeline=pipeline)
        out[name] = d
    return out


@pytest.mark.parametrize("other", ["b", "piped"])
def test_same_seed_same_recording(runs: dict[str, Path], other: str) -> None:
    # "b" repeats "a" in-process; "piped" runs SUMO and the RSUs in a child process
    for table in TABLES:
        a = pd.read_parquet(runs["a"] / f"{table}.parquet")
        b = pd.read_parquet(runs[other] / f"{table}.parquet")
        assert len(a) > 0 or table in ("warnings", "events")
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)
    # bus messages are identical too, except the wall-clock columns
    wall = ["wall_latency_ms", "wall_ns"]
    a = pd.read_parquet(runs["a"] / "bus.parquet").drop(columns=wall)
    b = pd.read_parquet(runs[other] / "bus.parquet").drop(columns=wall)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_another_seed_gives_another_run(runs: dict[str, Path]) -> None:
    # the seed drives the demand (departures) and the channel draws: both must change
    a = pd.read_parquet(runs["a"] / "trajectories.parquet")
    c = pd.read_parquet(runs["other-seed"] / "trajectories.parquet")
    assert not a[["t_ns", "vehicle", "x", "y"]].equals(c[["t_ns", "vehicle", "x", "y"]])
    pa_, pc = (pd.read_parquet(runs[k] / "prr_bins.parquet") for k in ("a", "other-seed"))
    assert not pa_["n_received"].equals(pc["n_received"])
    run_json = json.loads((runs["a"] / "run.json").read_text())
    assert run_json["seed"] == 7 and run_json["status"] == "complete"


def _kpis(run: Path) -> dict[str, object]:
    kpis = json.loads((run / "report.json").read_text())["kpis"]
    # bus wall-clock latency is measured, not simulated: it differs between brokers
    return {k: v for k, v in kpis.items() if not k.startswith("bus.wall")}


def test_memory_and_embedded_broker_give_the_same_kpis(runs: dict[str, Path]) -> None:
    mem, mqtt = _kpis(runs["a"]), _kpis(runs["mqtt"])
    assert mem == mqtt
    bus_mem = pd.read_parquet(runs["a"] / "bus.parquet")
    bus_mqtt = pd.read_parquet(runs["mqtt"] / "bus.parquet")
    assert len(bus_mem) == len(bus_mqtt) > 0
    # every message went through the broker and came back with the same topic and size
    key = ["t_ns", "topic", "size_bytes"]
    pd.testing.assert_frame_equal(bus_mem[key].sort_values(key).reset_index(drop=True),
                                  bus_mqtt[key].sort_values(key).reset_index(drop=True))
    assert bus_mqtt["wall_latency_ms"].notna().all()


def test_report_counts_and_prr_shape(runs: dict[str, Path]) -> None:
    report = json.loads((runs["a"] / "report.json").read_text())
    k = report["kpis"]
    assert k["rsus"] == 16
    # 40 s at 10 Hz: every RSU sends 400 SPAT and 40 MAP
    assert k["tx.SPAT"] == 16 * 400
    assert k["tx.MAP"] == 16 * 40
    tx = pd.read_parquet(runs["a"] / "transmissions.parquet")
    traj = pd.read_parquet(runs["a"] / "trajectories.parquet")
    # every equipped vehicle present in a step sends one BSM in it (100 ms = step); 80 %
    # of the vehicles are equipped
    nodes = pd.read_parquet(runs["a"] / "nodes.parquet")
    obu = set(nodes.loc[nodes["kind"] == "obu", "node"])
    equipped_rows = int(traj["vehicle"].isin(obu).sum())
    assert k["tx.BSM"] == equipped_rows == int((tx["msg_type"] == "BSM").sum()) > 0
    n = len(set(traj["vehicle"]))  # equipage drawn per vehicle: within 3 sigma of 80 %
    assert abs(len(obu) - 0.8 * n) <= 3 * math.sqrt(n * 0.8 * 0.2)
    # the sign on A1B1 is within reach of RSUs: RSIs every second
    assert k["tx.RSI"] > 0
    # the perceiving RSUs (B1, B2, C1, C2: 150 m range) send RSMs of the vehicles without an
    # OBU: some when such a vehicle comes well within range, none when none comes near
    unequipped = traj[~traj["vehicle"].isin(obu)]
    d = np.min([np.hypot(unequipped["x"] - x, unequipped["y"] - y)
                for x, y in ((650, 650), (650, 1050), (1050, 650), (1050, 1050))], axis=0)
    if (d < 140).sum() >= 10:
        assert k["tx.RSM"] > 0
    elif (d < 160).sum() == 0:
        assert k["tx.RSM"] == 0
    # msgCnt of every sender increments by one per BSM, mod 128
    bsm = tx[tx["msg_type"] == "BSM"].sort_values(["sender", "tx_id"])
    step = bsm.groupby("sender")["msg_cnt"].diff().dropna() % 128
    assert (step == 1).all()
    # PRR falls with distance: near bins beat far bins
    prr = pd.read_parquet(runs["a"] / "prr_bins.parquet")
    b = prr[prr["msg_type"] == "BSM"].set_index("bin_lo_m")
    ratio = b["n_received"] / b["n_pairs"]
    assert ratio.loc[0.0] > ratio.loc[200.0] > ratio.loc[400.0]
    assert 0.0 <= k["prr.BSM.within_300m"] <= 1.0
    # SPAT latency is recorded; the model's latency is 2 ms + 1..20 ms slot + flight time
    assert 3.0 <= k["latency.SPAT.p50_ms"] <= 23.0
    for f in ("report.json", "junit.xml", "report.html"):
        assert (runs["a"] / f).stat().st_size > 0


def test_nodes_table_names_vehicles_and_rsus(runs: dict[str, Path]) -> None:
    nodes = pd.read_parquet(runs["a"] / "nodes.parquet")
    rsu = nodes[nodes["kind"] == "rsu"]
    assert len(rsu) == 16 and set(rsu["name"]) == {f"{c}{i}" for c in "ABCD" for i in range(4)}
    veh = nodes[nodes["kind"].isin(["obu", "none"])]
    traj = pd.read_parquet(runs["a"] / "trajectories.parquet")
    assert set(veh["node"]) == set(traj["vehicle"])
    # passenger cars are 4.8 m long and class 10 (scenarios.VEHICLE_CLASSES)
    cars = veh[veh["name"].str.startswith("passenger.")]
    assert (cars["vclass"] == 10).all() and cars["length_m"].eq(4.8).all()
    assert not math.isnan(float(veh["width_m"].max()))


def test_recorded_bsm_frames_decode_to_the_vehicle_state(runs: dict[str, Path]) -> None:
    from v2x.messages import decode_frame

    tx = pd.read_parquet(runs["a"] / "transmissions.parquet")
    traj = pd.read_parquet(runs["a"] / "trajectories.parquet").set_index(["t_ns", "vehicle"])
    bsm = tx[tx["msg_type"] == "BSM"].sample(60, random_state=1)
    start_ns = int(pd.Timestamp(json.loads((runs["a"] / "run.json").read_text())["start"])
                   .value)
    for row in bsm.itertuples():
        assert len(row.frame) == row.size_bytes == 39
        msg = decode_frame(row.frame, now_ns=start_ns + row.t_ns)
        truth = traj.loc[(row.t_ns, row.sender)]
        assert msg.msg_cnt == row.msg_cnt
        # units of the message set: 1e-7 deg, 0.02 m/s, 0.0125 deg (half a unit of rounding)
        assert abs(msg.lat_deg - truth["lat"]) <= 0.5e-7 + 1e-12
        assert abs(msg.lon_deg - truth["lon"]) <= 0.5e-7 + 1e-12
        assert abs(msg.speed_mps - truth["speed"]) <= 0.01 + 1e-9
        heading_err = (msg.heading_deg - truth["heading_deg"] + 180.0) % 360.0 - 180.0
        assert abs(heading_err) <= 0.00625 + 1e-9



def test_v2x_check_passes_a_recording_and_catches_seeded_faults(
        runs: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from analysis import check

    clean = check(runs["a"])
    assert clean.ok and clean.violations == 0
    # every BSM, SPAT and MAP of the run was decoded; 16 intersections' MAP phases in SPAT
    tx = pd.read_parquet(runs["a"] / "transmissions.parquet")
    assert sum(sr.frames for sr in clean.streams) == len(tx)

    bad = tmp_path / "faulty"
    shutil.copytree(runs["a"], bad)
    tx = pd.read_parquet(bad / "transmissions.parquet")
    bsm = tx[tx["msg_type"] == "BSM"]
    first, second = bsm.groupby("sender").nth(50).index[:2]  # mid-run rows of two senders
    assert tx.loc[first, "sender"] != tx.loc[second, "sender"]
    tx.loc[second, "frame"] = b"\xff\x00\x13"  # a frame that does not decode
    tx = tx.drop(index=first)  # a skipped msgCnt for the first sender
    tx.to_parquet(bad / "transmissions.parquet")
    faulty = check(bad)
    counts = faulty.counts()
    assert not faulty.ok and faulty.exit_code == 1
    # the dropped BSM is one skip; the undecodable frame is one decode error, and since its
    # msgCnt cannot be read, the second sender's sequence shows one skip as well
    assert counts["decode_error"] == 1 and counts["msg_cnt_skip"] == 2


@pytest.mark.parametrize("pipeline", [True, False])
def test_a_sumo_that_cannot_start_leaves_the_earlier_run_in_the_folder(
        tmp_path: Path, pipeline: bool) -> None:
    # the traffic process loads SUMO while the RSUs are built; its failure is raised before
    # the recorder would clear the folder for the new run
    import shutil

    import scenarios
    from v2x.errors import SumoError

    built = scenarios.build(scenarios.resolve_scenario("xiqing-fcw-lead-brakes"))
    shutil.copy(built.net_file, tmp_path / "road.net.xml")
    (tmp_path / "bad.rou.xml").write_text(
        '<routes><vehicle id="v0" depart="0"><route edges="no_such_edge"/></vehicle></routes>')
    (tmp_path / "scenario.toml").write_text(
        'id = "bad-route"\ntitle = "a route on an edge the network lacks"\n'
        'start = "2026-06-01T08:00:00+08:00"\nduration = "2 s"\nstep = "100 ms"\nseed = 1\n'
        '[geo]\nanchor_lat = 39.05583\nanchor_lon = 117.055\ncrs = "EPSG:32650"\n'
        '[network]\nkind = "path"\npath = "road.net.xml"\nroute_files = ["bad.rou.xml"]\n')
    out = tmp_path / "out"
    out.mkdir()
    earlier = {"run.json": '{"scenario_id": "earlier", "status": "complete"}',
               "report.json": '{"kpis": {}}'}
    for name, text in earlier.items():
        (out / name).write_text(text)
    with pytest.raises(SumoError, match="no_such_edge"):
        run_scenario(tmp_path, out_dir=out, bus="memory", pipeline=pipeline)
    assert {p.name: p.read_text() for p in out.iterdir()} == earlier
