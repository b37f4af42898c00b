"""MqttBus against real brokers: Mosquitto on 127.0.0.1:1883 and the embedded amqtt broker.

Every test uses its own zone (``t<random>``) so tests sharing Mosquitto do not hear each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable

import aiomqtt
import paho.mqtt.client as mqtt
import pytest

from v2x.bus import (
    BrokerProcess,
    Bus,
    EmbeddedBroker,
    MqttBus,
    Tap,
    obu_up_bsm,
    open_bus,
    rsu_down_rsi,
    rsu_up,
    sim_topic,
    zone_filter,
)
from v2x.errors import BusError, ConfigError

pytestmark = pytest.mark.broker

MOSQUITTO = ("127.0.0.1", 1883)


def _zone() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def _mqtt(kind: str) -> AsyncIterator[MqttBus]:
    """An open MqttBus on Mosquitto or on a fresh embedded broker."""
    if kind == "mosquitto":
        async with MqttBus(*MOSQUITTO, timeout_s=5.0) as bus:
            yield bus
    else:
        async with (
            EmbeddedBroker() as broker,
            MqttBus(broker.host, broker.port, timeout_s=5.0) as bus,
        ):
            yield bus


KINDS = ["mosquitto", "embedded"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _step_messages(zone: str, n_steps: int) -> list[list[tuple[str, bytes]]]:
    """A fixed sequence: per step 4 RSU BSM uplinks, 1 OBU V2N BSM, every 3rd step SPAT+clock."""
    steps = []
    for k in range(n_steps):
        msgs = [(rsu_up(zone, f"R{r}", "BSM"), bytes([k, r]) * 20) for r in range(4)]
        msgs.append((obu_up_bsm(zone, 1000 + k % 2), bytes([k, 99])))
        if k % 3 == 0:
            msgs.append((rsu_up(zone, "R0", "SPAT"), b"spat" + bytes([k])))
            msgs.append((sim_topic(zone, "clock"), b'{"t_ns": %d}' % (k * 100_000_000)))
        steps.append(msgs)
    return steps


@pytest.mark.parametrize("kind", KINDS)
def test_messages_arrive_with_equal_bytes_and_wildcard_filtering(kind: str) -> None:
    zone = _zone()
    steps = _step_messages(zone, 30)
    sent = [m for step in steps for m in step]
    # 30 steps x 5 + 10 steps (k = 0, 3, ..., 27) x 2 = 170 messages
    assert len(sent) == 170

    async def main() -> tuple[list, list, list, list]:
        async with (
            _mqtt(kind) as bus,
            Tap(bus, zone_filter(zone)) as everything,
            Tap(bus, f"v2x/{zone}/rsu/+/up/bsm") as rsu_bsm,
            Tap(bus, f"v2x/{zone}/+/+/up/#") as uplinks,
            Tap(bus, f"v2x/{zone}/sim/clock") as clock,
        ):
            for step in steps:
                await bus.publish_many(step)
            await everything.wait_for(170, timeout_s=20.0)
            await rsu_bsm.wait_for(120, timeout_s=20.0)  # 30 x 4
            await uplinks.wait_for(160, timeout_s=20.0)  # 120 + 30 OBU + 10 SPAT
            await clock.wait_for(10, timeout_s=20.0)
            await bus.flush(timeout_s=10.0)
            await asyncio.sleep(0.2)  # anything extra would show up in the counts
            return everything.drain(), rsu_bsm.drain(), uplinks.drain(), clock.drain()

    t0 = time.time_ns()
    everything, rsu_bsm, uplinks, clock = asyncio.run(main())
    t1 = time.time_ns()
    assert [(m.topic, m.payload) for m in everything] == sent
    assert [(m.topic, m.payload) for m in rsu_bsm] == [
        m for m in sent if "/rsu/" in m[0] and m[0].endswith("/up/bsm")
    ]
    assert len(uplinks) == 160
    assert all("/up/" in m.topic for m in uplinks)
    assert [m.payload for m in clock] == [
        b'{"t_ns": %d}' % (k * 100_000_000) for k in range(0, 30, 3)
    ]
    for m in everything:
        # every message was published by this bus, so its publish time is known
        assert t0 <= m.published_wall_ns <= m.delivered_wall_ns <= t1


@pytest.mark.parametrize("kind", KINDS)
def test_single_publish_and_external_publisher_has_unknown_publish_time(kind: str) -> None:
    zone = _zone()
    topic = rsu_down_rsi(zone, "R1")

    async def main() -> tuple:
        async with _mqtt(kind) as bus, bus.subscribe(zone_filter(zone)) as sub:
            await bus.publish(topic, b"\x00\x01rsi")
            own = await sub.get(timeout_s=5.0)
            # a second bus object on the same broker is a foreign publisher for this one
            other = MqttBus(bus.host, bus.port)
            async with other:
                await other.publish(topic, b"external")
            foreign = await sub.get(timeout_s=5.0)
            return own, foreign

    own, foreign = asyncio.run(main())
    assert (own.topic, own.payload) == (topic, b"\x00\x01rsi")
    assert own.wall_latency_ns is not None and 0 <= own.wall_latency_ns < 5_000_000_000
    assert (foreign.payload, foreign.published_wall_ns, foreign.wall_latency_ns) == (
        b"external",
        -1,
        None,
    )


def test_same_publishes_give_the_same_record_on_memory_embedded_and_mosquitto() -> None:
    async def record(spec: str) -> list[tuple[str, bytes]]:
        zone = _zone()
        steps = _step_messages(zone, 20)
        out: list[tuple[str, bytes]] = []
        n = 0
        async with open_bus(spec) as bus, Tap(bus, zone_filter(zone)) as tap:
            for step in steps:
                await bus.publish_many(step)
                n += len(step)
                await tap.wait_for(n, timeout_s=10.0)
                # strip the zone so the three runs compare equal
                out += [(m.topic.replace(zone, "Z"), m.payload) for m in tap.drain()]
        return out

    async def main() -> list[list[tuple[str, bytes]]]:
        return [await record(spec) for spec in ("memory", "embedded", "mqtt://127.0.0.1:1883")]

    memory, embedded, mosquitto = asyncio.run(main())
    assert len(memory) == 20 * 5 + 7 * 2  # k = 0, 3, ..., 18 -> 7 steps with SPAT + clock
    assert embedded == memory
    assert mosquitto == memory


def test_open_bus_embedded_and_url() -> None:
    async def main() -> None:
        async with open_bus("embedded") as bus:
            assert isinstance(bus, MqttBus) and isinstance(bus, Bus)
            assert bus.url.startswith("mqtt://127.0.0.1:") and not bus.url.endswith(":1883")
        async with open_bus("mqtt://127.0.0.1:1883") as bus:
            assert bus.url == "mqtt://127.0.0.1:1883"
        async with open_bus("mqtt://localhost") as bus:  # port defaults to 1883
            assert bus.url == "mqtt://localhost:1883"

    asyncio.run(main())


def test_embedded_broker_picks_a_free_port_and_stops() -> None:
    async def main() -> int:
        async with EmbeddedBroker(host="127.0.0.1", port=0) as broker:
            port = broker.port
            assert broker.url == f"mqtt://127.0.0.1:{port}"
            assert port not in (0, 1883)
        with pytest.raises(BusError, match="not running"):
            _ = broker.url
        return port

    port = asyncio.run(main())
    with socket.socket() as s:  # stopped: the port can be bound again
        s.bind(("127.0.0.1", port))


def test_embedded_broker_on_a_taken_port_raises_bus_error() -> None:
    async def main() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            with pytest.raises(BusError, match=f"127.0.0.1:{port}") as info:
                async with EmbeddedBroker(port=port):
                    pass
            assert isinstance(info.value.__cause__, OSError)

    asyncio.run(main())
    with pytest.raises(ConfigError):
        EmbeddedBroker(port=70000)


def test_broker_process_serves_then_stops_with_its_owner() -> None:
    async def main() -> tuple[int, int]:
        async with BrokerProcess() as broker:
            proc = broker._proc
            assert proc is not None and proc.returncode is None
            async with MqttBus(broker.host, broker.port) as bus, Tap(bus, "v2x/t/#") as tap:
                await bus.publish("v2x/t/rsu/R1/up/spat", b"\x01\x02")
                await tap.wait_for(1, timeout_s=10.0)
                assert [m.payload for m in tap.drain()] == [b"\x01\x02"]
            port = broker.port
        assert proc.returncode is not None  # the broker's process ended with the block
        return port, proc.returncode

    port, _ = asyncio.run(main())
    # nobody listens on its port any more (binding it could still fail: the closed
    # connections may sit in TIME_WAIT on the broker's side)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2.0).close()


def test_broker_process_that_cannot_start_is_a_bus_error_with_its_reason() -> None:
    async def main() -> None:
        with pytest.raises(BusError, match="did not start.*cannot listen on 256.0.0.1"):
            async with BrokerProcess(host="256.0.0.1"):
                pass

    asyncio.run(main())


def test_connecting_to_a_closed_port_raises_bus_error() -> None:
    port = _free_port()

    async def main() -> None:
        with pytest.raises(BusError, match=f"mqtt://127.0.0.1:{port}") as info:
            async with MqttBus("127.0.0.1", port, timeout_s=2.0):
                pass
        assert isinstance(info.value.__cause__, aiomqtt.MqttError)
        with pytest.raises(BusError):
            async with open_bus(f"mqtt://127.0.0.1:{port}"):
                pass

    asyncio.run(main())


def test_a_publish_paho_refuses_at_once_is_a_bus_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """paho's encoder returning an error code (no connection: its socket is gone) becomes a
    BusError naming the topic and the broker, with aiomqtt's MqttCodeError as its cause."""

    def refusing_send_publish(self: mqtt.Client, *args: object,
                              **kwargs: object) -> mqtt.MQTTErrorCode:
        return mqtt.MQTT_ERR_NO_CONN

    async def main() -> None:
        async with _mqtt("embedded") as bus:
            monkeypatch.setattr(mqtt.Client, "_send_publish", refusing_send_publish)
            with pytest.raises(BusError, match=f"'x/y' on MQTT broker {bus.url}") as info:
                await bus.publish("x/y", b"1")
            assert isinstance(info.value.__cause__, aiomqtt.MqttCodeError)
            assert info.value.__cause__.rc == mqtt.MQTT_ERR_NO_CONN
            # pipelined: a failure at once is raised by publish_many itself, once
            with pytest.raises(BusError, match="'x/y'") as info:
                await bus.publish_many([("x/y", b"2"), ("x/y", b"3")])
            assert isinstance(info.value.__cause__, aiomqtt.MqttCodeError)
            await bus.flush(timeout_s=5.0)  # reported, so cleared
            monkeypatch.undo()
            await bus.publish_many([("x/y", b"5")])
            await bus.flush(timeout_s=5.0)

    asyncio.run(main())


def test_a_missing_puback_is_a_bus_error_after_timeout_s(monkeypatch: pytest.MonkeyPatch,
                                                         drop_pubacks: Callable[[], None]) -> None:
    """A broker that does not acknowledge (paho drops every PUBACK here): ``flush`` raises
    once the oldest message is ``timeout_s`` (0.3 s) overdue, naming its topic, with a
    TimeoutError as the cause; ``flush(timeout_s=...)`` names how many are missing; a single
    ``publish`` raises after ``timeout_s``; once PUBACKs come again the bus works."""

    async def main() -> None:
        async with (EmbeddedBroker() as broker,
                    MqttBus(broker.host, broker.port, timeout_s=0.3) as bus):
            drop_pubacks()
            await bus.publish_many([("x/late", b"0"), ("x/later", b"1")])
            with pytest.raises(BusError, match="3 publishes .* not acknowledged within 0.1 s"):
                await bus.publish_many([("x/last", b"2")])  # not yet overdue: no error
                await asyncio.sleep(0.25)
                await bus.flush(timeout_s=0.1)
            t0 = time.monotonic()
            with pytest.raises(BusError, match="'x/late'") as info:
                await bus.flush()  # the first overdue one; the others are given up with it
            assert isinstance(info.value.__cause__, TimeoutError)
            assert time.monotonic() - t0 < 0.3
            await bus.flush()  # reported, so cleared
            with pytest.raises(BusError, match="'x/y'") as info:
                await bus.publish("x/y", b"3")
            assert isinstance(info.value.__cause__, TimeoutError)
            monkeypatch.undo()
            await bus.publish("x/y", b"4")
            await bus.publish_many([("x/y", b"5")])
            await bus.flush()

    asyncio.run(main())


def test_mqtt_bus_option_and_state_errors() -> None:
    for kwargs, key in [
        ({"qos": 3}, "qos"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"max_inflight": 0}, "max_inflight"),
    ]:
        with pytest.raises(ConfigError) as info:
            MqttBus("127.0.0.1", 1883, **kwargs)  # type: ignore[arg-type]
        assert info.value.key == key
    with pytest.raises(ConfigError) as info:
        MqttBus("127.0.0.1", 0)
    assert info.value.key == "port"

    async def main() -> None:
        bus = MqttBus(*MOSQUITTO)
        with pytest.raises(BusError, match="not open"):
            await bus.publish("a", b"x")
        with pytest.raises(BusError, match="not open"):
            async with bus.subscribe("a"):
                pass

    asyncio.run(main())


def test_tap_timeout_names_how_many_arrived_on_a_broker() -> None:
    zone = _zone()

    async def main() -> None:
        async with _mqtt("mosquitto") as bus, Tap(bus, zone_filter(zone)) as tap:
            await bus.publish_many([(sim_topic(zone, "events"), b"e%d" % i) for i in range(3)])
            await tap.wait_for(3, timeout_s=5.0)
            # the three counts add up to the five awaited
            with pytest.raises(BusError, match="of 5 messages 3 delivered, 0 declared lost, "
                                               "2 still awaited"):
                await tap.wait_for(5, timeout_s=0.2)

    asyncio.run(main())


def test_losing_the_broker_for_good_raises_bus_error_from_tap_and_publish() -> None:
    async def main() -> tuple[BusError, BusError]:
        broker = EmbeddedBroker()
        await broker.__aenter__()
        async with (MqttBus(broker.host, broker.port, timeout_s=2.0, reconnect_s=0.5) as bus,
                    Tap(bus, "a/#") as tap):
            await bus.publish("a/1", b"x")
            await tap.wait_for(1, timeout_s=5.0)
            await broker.__aexit__(None, None, None)  # the broker goes away under the bus
            unreachable = (f"^MQTT broker {bus.url} unreachable: "
                           "lost the connection and could not re-establish it within 0.5 s")
            with pytest.raises(BusError, match=unreachable) as lost:
                await tap.wait_for(2, timeout_s=5.0)
            with pytest.raises(BusError, match=unreachable) as failed:
                await bus.publish("a/2", b"y")
        return lost.value, failed.value

    lost, failed = asyncio.run(main())
    for err in (lost, failed):  # one line, the last connect error in it
        assert "\n" not in str(err) and "last error" in str(err)
