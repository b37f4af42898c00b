"""Run isolation: a run records only its own messages; foreign ones are counted, garbage
payloads are decode errors, and neither reaches the barrier, the ``bus`` table or the KPIs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from v2x.bus import MqttBus, Tap, obu_up_bsm, open_bus, payload_error, rsu_up, sim_topic
from v2x.cli import run_scenario
from v2x.messages import Bsm, encode_frame, pack_frames

from .conftest import OwnMosquitto

BSM_FRAME = encode_frame(Bsm(msg_cnt=1, id=bytes(8), sec_mark_s=1.0, lat_deg=39.0,
                             lon_deg=117.0, speed_mps=1.0, heading_deg=0.0, width_m=1.8,
                             length_m=4.5))


def test_payload_error_by_topic_and_format() -> None:
    up = rsu_up("z", "R1", "BSM")
    assert payload_error(up, pack_frames([BSM_FRAME, BSM_FRAME])) is None
    assert payload_error(up, b"garbage") is not None  # length prefix 0x6761 runs past the end
    assert payload_error(up, b"") == "no frame in the payload"
    assert payload_error(obu_up_bsm("z", 7), BSM_FRAME) is None
    assert payload_error(obu_up_bsm("z", 7), BSM_FRAME + b"\x00junk") is not None
    assert payload_error(rsu_up("z", "R1", "SPAT"), b"\xff" * 30) is not None
    assert payload_error(sim_topic("z", "clock"), b'{"t_ns": 0}') is None
    assert payload_error(sim_topic("z", "clock"), b"[1]") == "JSON list, not an object"
    assert payload_error(up, b'{"bsm": []}', payload_format="json") is None
    assert payload_error("v2x/z/somebody/else", b"\xff") is None  # not in the table: unknown


@pytest.mark.broker
def test_tap_counts_only_its_own_messages(own_mosquitto: Callable[..., OwnMosquitto]) -> None:
    broker = own_mosquitto()
    topic = rsu_up("zi", "R1", "BSM")

    async def main() -> tuple[list[bytes], int, list[bytes]]:
        async with open_bus(broker.url) as bus, Tap(bus, "v2x/zi/#") as tap:
            async with MqttBus("127.0.0.1", broker.port) as other:
                # the same topic and payloads as ours, and garbage, from another client first
                await other.publish_many([(topic, b"own%d" % i) for i in range(3)])
                await other.publish_many([(topic, b"junk%d" % i) for i in range(5)])
                await other.flush(timeout_s=5.0)
            for _ in range(500):  # until the tap has them all (a wait, not a timing assertion)
                if tap.foreign_count == 8:
                    break
                await asyncio.sleep(0.01)
            await bus.publish_many([(topic, b"own%d" % i) for i in range(3)])
            await tap.wait_for(3, timeout_s=5.0)
            await bus.publish(topic, b"marker")  # per-topic order: everything before is here
            await tap.wait_for(4, timeout_s=5.0)
            return ([m.payload for m in tap.drain()], tap.foreign_count,
                    [m.payload for m in tap.drain_foreign()])

    own, n_foreign, foreign = asyncio.run(main())
    # another client's copies arrive before ours were published: no ledger stamp, foreign
    assert own == [b"own0", b"own1", b"own2", b"marker"]
    assert n_foreign == 8 and foreign == [b"own0", b"own1", b"own2"] + [b"junk%d" % i
                                                                       for i in range(5)]


def _kpis(run: Path) -> dict[str, object]:
    kpis = json.loads((run / "report.json").read_text())["kpis"]
    return {k: v for k, v in kpis.items() if not k.startswith("bus.wall")}  # wall clock


@pytest.mark.broker
@pytest.mark.sumo
@pytest.mark.slow
def test_two_runs_on_one_broker_with_garbage_give_each_its_memory_kpis(
        own_mosquitto: Callable[..., OwnMosquitto], tmp_path: Path) -> None:
    """Two 10 s runs (seeds 7 and 8) at once on one Mosquitto, same zone and topics, while
    another process publishes garbage on an RSU uplink and valid JSON on the clock topic:
    each run's KPIs and ``bus`` table equal its memory-bus run's."""
    broker = own_mosquitto()
    runs = {}
    procs = {}
    for seed in (7, 8):
        runs[seed] = tmp_path / f"mqtt-{seed}"
        procs[seed] = subprocess.Popen(
            [str(Path(sys.executable).parent / "v2x"), "run", "xiqing-south-station", "--bus",
             broker.url, "--duration", "10", "--seed", str(seed), "--out", str(runs[seed]),
             "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pubs = [subprocess.Popen(["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-l"],
                             stdin=subprocess.PIPE)
            for topic in (rsu_up("xiqing", "A0", "BSM"), sim_topic("xiqing", "clock"))]
    done = threading.Event()

    def feed() -> None:  # garbage and valid JSON, every 20 ms, until both runs have ended
        i = 0
        while not done.wait(0.02):
            for p, line in zip(pubs, (b"garbage %d\n" % i, b'{"t": %d}\n' % i), strict=True):
                assert p.stdin is not None
                p.stdin.write(line)
                p.stdin.flush()
            i += 1

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        errors = {seed: p.communicate(timeout=300)[1].decode() for seed, p in procs.items()}
    finally:
        done.set()
        feeder.join()
        for p in pubs:
            assert p.stdin is not None
            p.stdin.close()
            p.wait(10)
    for seed in (7, 8):
        assert procs[seed].returncode in (0, 1), errors[seed]  # 1: a 10 s run fails criteria
        assert json.loads((runs[seed] / "run.json").read_text())["status"] == "complete"
        mem = tmp_path / f"memory-{seed}"
        run_scenario("xiqing-south-station", out_dir=mem, seed=seed, bus="memory",
                     duration_s=10.0)
        assert _kpis(runs[seed]) == _kpis(mem)
        key = ["t_ns", "topic", "size_bytes"]
        a, b = (pd.read_parquet(d / "bus.parquet")[key] for d in (mem, runs[seed]))
        pd.testing.assert_frame_equal(a.sort_values(key, ignore_index=True),
                                      b.sort_values(key, ignore_index=True))
        summary = json.loads((runs[seed] / "run.json").read_text())["summary"]
        events = pd.read_parquet(runs[seed] / "events.parquet")
        n_bad = int((events["kind"] == "bus_decode_error").sum())
        # the feeder ran through the whole run: garbage and foreign JSON both arrived
        assert summary["bus_decode_errors"] == n_bad > 0
        assert summary["bus_foreign"] > 0
