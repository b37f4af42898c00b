"""Faults: a broker restarted mid-run, slow consumers, an event loop without ``add_reader``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pandas as pd
import pytest

from v2x.bus import MemoryBus, MqttBus, Tap, topic_qos
from v2x.cli import run_scenario
from v2x.errors import BusError

from .conftest import OwnMosquitto


def test_a_slow_reader_drops_beyond_its_bound_and_counts() -> None:
    async def main() -> tuple[list[bytes], int, dict]:
        async with MemoryBus() as bus, bus.subscribe("a/#", max_queued=3) as sub:
            for i in range(5):  # nobody reads: 3 wait, the 4th and 5th are dropped
                await bus.publish("a/x", b"%d" % i)
            got = [(await sub.get(timeout_s=1.0)).payload for _ in range(3)]
            return got, sub.dropped, bus.stats()

    got, dropped, stats = asyncio.run(main())
    assert got == [b"0", b"1", b"2"] and dropped == 2 and stats["dropped"] == 2


def test_an_event_loop_without_add_reader_fails_at_once_naming_the_fix() -> None:
    class ProactorLike(asyncio.SelectorEventLoop):  # as Windows' default ProactorEventLoop
        def add_reader(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
            raise NotImplementedError

    async def main() -> None:
        async with MqttBus("127.0.0.1", 1):  # never connects: the loop check comes first
            pass

    loop = ProactorLike()
    try:
        with pytest.raises(BusError, match="WindowsSelectorEventLoopPolicy"):
            loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.broker
@pytest.mark.sumo
@pytest.mark.slow
def test_a_run_survives_a_mosquitto_restart_without_losing_qos1(
        own_mosquitto: Callable[..., OwnMosquitto], tmp_path: Path) -> None:
    """A 30 s run on our own Mosquitto, which is stopped for 1 s and started again once the
    run has published 800 SPATs (16 RSUs x 10 Hz: about 5 s into it). The run completes;
    every QoS 1 message (MAP, RSI, RSM uplinks) is recorded as on the memory bus; the QoS 0
    ones missing (BSM and SPAT uplinks) are exactly the losses the run reports, per topic."""
    broker = own_mosquitto()
    out, mem = tmp_path / "mqtt", tmp_path / "memory"
    watch = subprocess.Popen(["mosquitto_sub", "-p", str(broker.port), "-C", "800",
                              "-t", "v2x/xiqing/rsu/+/up/spat"], stdout=subprocess.DEVNULL)
    run = subprocess.Popen([str(Path(sys.executable).parent / "v2x"), "run",
                            "xiqing-south-station", "--bus", broker.url, "--duration", "30",
                            "--seed", "7", "--out", str(out), "-q"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        watch.wait(120)  # 800 SPATs seen: the run is under way
    finally:
        watch.kill()
    assert run.poll() is None, "the run ended before the broker could be restarted"
    broker.restart(down_s=1.0)
    err = run.communicate(timeout=300)[1].decode()
    assert run.returncode in (0, 1), err  # 1: a 30 s run fails the vehicles criterion
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["status"] == "complete"
    faults = run_json["summary"]["bus_faults"]
    assert faults["reconnects"] >= 1

    run_scenario("xiqing-south-station", out_dir=mem, seed=7, bus="memory", duration_s=30.0)
    key = ["t_ns", "topic", "size_bytes"]
    a, b = (pd.read_parquet(d / "bus.parquet")[key] for d in (mem, out))
    qos_a, qos_b = (x["topic"].map(topic_qos) for x in (a, b))
    # zero QoS 1 loss: the same rows as on the memory bus
    pd.testing.assert_frame_equal(a[qos_a == 1].reset_index(drop=True),
                                  b[qos_b == 1].reset_index(drop=True))
    # QoS 0: what is missing is exactly what the run reports lost, topic by topic
    missing = (a[qos_a == 0]["topic"].value_counts()
               .sub(b[qos_b == 0]["topic"].value_counts(), fill_value=0))
    assert {t: int(n) for t, n in missing.items() if n} == faults["lost_qos0"]
    assert sum(faults["lost_qos0"].values()) > 0  # 1 s down: the run published meanwhile
    # the PC5 side does not depend on the bus: those KPIs equal the memory run's
    kpis = [json.loads((d / "report.json").read_text())["kpis"] for d in (mem, out)]
    assert ({k: v for k, v in kpis[0].items() if not k.startswith("bus.")}
            == {k: v for k, v in kpis[1].items() if not k.startswith("bus.")})


@contextlib.asynccontextmanager
async def _broker_stopped_after_one_message(
        broker: OwnMosquitto, *, reconnect_s: float) -> AsyncIterator[tuple[MqttBus, Tap]]:
    """A bus (barrier timeout 2 s, reconnect window ``reconnect_s``) and a tap on ``a/#``
    that has received ``a/1``; then the broker is stopped."""
    async with (MqttBus("127.0.0.1", broker.port, timeout_s=2.0, reconnect_s=reconnect_s)
                as bus, Tap(bus, "a/#") as tap):
        await bus.publish("a/1", b"x")
        await tap.wait_for(1, timeout_s=5.0)
        broker.stop()
        yield bus, tap


def test_the_barrier_waits_while_the_bus_reconnects(
        own_mosquitto: Callable[..., OwnMosquitto]) -> None:
    """A broker down for longer than the barrier's timeout (1.5 s > 0.3 s) but within the
    bus's reconnect window is no delivery failure: the barrier waits, and the QoS 1 message
    published during the outage arrives once the broker is back."""
    broker = own_mosquitto()

    async def main() -> int:
        async with _broker_stopped_after_one_message(broker, reconnect_s=30.0) as (bus, tap):
            while not bus.reconnecting:  # the bus has noticed (a wait for readiness)
                await asyncio.sleep(0.01)
            await bus.publish_many([("a/2", b"y")])
            back = asyncio.create_task(asyncio.to_thread(broker.restart, down_s=1.5))
            await tap.wait_for(2, timeout_s=0.3)
            await back
            return len(tap.drain())

    assert asyncio.run(main()) == 2


def test_a_broker_lost_for_good_is_named_not_a_barrier_timeout(
        own_mosquitto: Callable[..., OwnMosquitto]) -> None:
    """The broker never comes back: the barrier (timeout 0.3 s) does not time out during the
    reconnect window (2 s); the error names the broker's URL and how long the bus tried."""
    broker = own_mosquitto()

    async def main() -> None:
        async with _broker_stopped_after_one_message(broker, reconnect_s=2.0) as (_, tap):
            with pytest.raises(BusError, match=(
                    f"^MQTT broker {broker.url} unreachable: lost the connection and could "
                    "not re-establish it within 2 s")):
                await tap.wait_for(2, timeout_s=0.3)

    asyncio.run(main())
