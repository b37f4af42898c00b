"""MemoryBus, Subscription, Tap and open_bus without a broker."""

from __future__ import annotations

import asyncio

import pytest

import v2x.bus
from v2x.bus import Bus, BusMessage, MemoryBus, Tap, open_bus, rsu_down_rsi, rsu_up, sim_topic
from v2x.errors import BusError, ConfigError


def _isort_key(name: str) -> tuple[int, str]:
    # ruff RUF022 order: CONSTANTS, then Classes, then functions
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_public_surface_is_sorted_and_complete() -> None:
    assert v2x.bus.__all__ == sorted(v2x.bus.__all__, key=_isort_key)
    for name in v2x.bus.__all__:
        assert getattr(v2x.bus, name) is not None
    public = {n for n in dir(v2x.bus) if not n.startswith("_")}
    assert public == set(v2x.bus.__all__)


def test_memory_bus_delivers_in_publish_order_with_wildcard_filtering() -> None:
    async def main() -> tuple[list[str], list[str], list[str]]:
        async with MemoryBus() as bus:
            assert isinstance(bus, Bus)
            async with (
                bus.subscribe("v2x/#") as everything,
                bus.subscribe("v2x/+/rsu/+/up/#") as uplinks,
                bus.subscribe("v2x/xq/rsu/R1/up/bsm") as exact,
            ):
                topics = [
                    rsu_up("xq", "R1", "BSM"),  # all three
                    rsu_up("xq", "R2", "SPAT"),  # everything, uplinks
                    rsu_down_rsi("xq", "R1"),  # everything
                    sim_topic("xq", "clock"),  # everything
                    "other/x",  # nobody
                    rsu_up("xq", "R1", "BSM"),  # all three
                ]
                for i, topic in enumerate(topics):
                    await bus.publish(topic, bytes([i]))
                out = []
                for sub in (everything, uplinks, exact):
                    got = []
                    while len(got) < sub.delivered:
                        got.append(await sub.get(timeout_s=1.0))
                    out.append([f"{m.topic}:{m.payload[0]}" for m in got])
                return out[0], out[1], out[2]

    everything, uplinks, exact = asyncio.run(main())
    assert everything == [
        "v2x/xq/rsu/R1/up/bsm:0",
        "v2x/xq/rsu/R2/up/spat:1",
        "v2x/xq/rsu/R1/down/rsi:2",
        "v2x/xq/sim/clock:3",
        "v2x/xq/rsu/R1/up/bsm:5",
    ]
    assert uplinks == [
        "v2x/xq/rsu/R1/up/bsm:0",
        "v2x/xq/rsu/R2/up/spat:1",
        "v2x/xq/rsu/R1/up/bsm:5",
    ]
    assert exact == ["v2x/xq/rsu/R1/up/bsm:0", "v2x/xq/rsu/R1/up/bsm:5"]


def test_memory_bus_message_fields_and_publish_many() -> None:
    async def main() -> list[BusMessage]:
        async with MemoryBus() as bus, bus.subscribe("a/#") as sub:
            await bus.publish_many([("a/1", b"x"), ("b/2", b"y"), ("a/3", b"z")])
            await bus.flush()
            return [await sub.get(timeout_s=1.0), await sub.get(timeout_s=1.0)]

    m1, m3 = asyncio.run(main())
    assert (m1.topic, m1.payload, m3.topic, m3.payload) == ("a/1", b"x", "a/3", b"z")
    # memory delivery is immediate: publish and delivery wall times are the same instant
    assert m1.published_wall_ns == m1.delivered_wall_ns > 0
    assert m1.wall_latency_ns == 0
    assert m1.published_wall_ns <= m3.published_wall_ns


def test_subscription_iteration_ends_after_close_and_buffered_messages() -> None:
    async def main() -> list[bytes]:
        async with MemoryBus() as bus:
            sub = bus.subscribe("t")
            async with sub:
                await bus.publish("t", b"1")
                await bus.publish("t", b"2")
            await bus.publish("t", b"3")  # after close: not delivered
            return [m.payload async for m in sub]

    assert asyncio.run(main()) == [b"1", b"2"]


def test_take_ready_takes_what_is_delivered_and_leaves_the_close() -> None:
    async def main() -> tuple[list[bytes], list[bytes], list[bytes]]:
        async with MemoryBus() as bus:
            sub = bus.subscribe("t/#")
            async with sub:
                assert sub.take_ready() == []
                await bus.publish_many([("t/a", b"1"), ("t/b", b"2"), ("x", b"no")])
                first = [m.payload for m in sub.take_ready()]
                await bus.publish("t/c", b"3")
            # closed with one message still queued: it comes first, then the end
            second = [m.payload for m in sub.take_ready()]
            return first, second, [m.payload async for m in sub]

    assert asyncio.run(main()) == ([b"1", b"2"], [b"3"], [])


def test_publish_many_is_one_batch_with_the_same_bound_and_order_as_one_by_one() -> None:
    """A batch counts against ``max_queued`` message by message: with 2 unread and a bound of
    4, a batch of 4 keeps its first 2 and drops 2; reads mix ``get`` and ``take_ready``."""
    async def main() -> tuple[list[bytes], list[bytes], int, int, list[int]]:
        async with MemoryBus() as bus, bus.subscribe("a/#", max_queued=4) as sub:
            await bus.publish("a/x", b"0")
            await bus.publish_many([("a/x", b"1"), ("b/x", b"-")])
            await bus.publish_many([("a/y", b"%d" % i) for i in range(2, 6)])
            first = (await sub.get(timeout_s=1.0)).payload
            rest = sub.take_ready()
            await bus.publish_many([("a/z", b"6"), ("a/z", b"7")])  # room again: both kept
            more = [(await sub.get(timeout_s=1.0)).payload for _ in range(2)]
            return ([first, *(m.payload for m in rest)], more, sub.dropped, sub.delivered,
                    [m.seq for m in rest])

    got, more, dropped, delivered, seqs = asyncio.run(main())
    assert got == [b"0", b"1", b"2", b"3"] and more == [b"6", b"7"]
    assert dropped == 2 and delivered == 8  # 0..7 matched; 4 and 5 dropped
    assert seqs == [1, 3, 4]  # "b/x" took seq 2


def test_memory_bus_errors() -> None:
    async def main() -> None:
        bus = MemoryBus()
        with pytest.raises(BusError, match="not open"):
            await bus.publish("a", b"x")
        async with bus:
            with pytest.raises(ConfigError) as info:
                await bus.publish("a/+", b"x")
            assert info.value.key == "topic"
            with pytest.raises(TypeError):
                await bus.publish("a", "text")  # type: ignore[arg-type]
            with pytest.raises(ConfigError):
                bus.subscribe("a/#/b")
            async with bus.subscribe("a") as sub:
                with pytest.raises(BusError, match="no message on 'a' within 0.05 s"):
                    await sub.get(timeout_s=0.05)
                with pytest.raises(BusError, match="twice"):
                    await sub.__aenter__()
            with pytest.raises(BusError, match="not open"):
                await bus.subscribe("a").__anext__()

    asyncio.run(main())


def test_tap_barrier_counts_and_drains() -> None:
    async def main() -> None:
        async with MemoryBus() as bus, Tap(bus, "v2x/#") as tap:
            step1 = [(rsu_up("xq", f"R{r}", "BSM"), bytes([r])) for r in range(3)]
            await bus.publish_many([*step1, ("elsewhere/x", b"-")])  # 3 match
            await tap.wait_for(3, timeout_s=1.0)
            assert tap.count == 3
            assert [m.payload for m in tap.drain()] == [b"\x00", b"\x01", b"\x02"]
            assert tap.drain() == []
            await bus.publish(sim_topic("xq", "clock"), b"c")
            await tap.wait_for(4, timeout_s=1.0)  # totals count since the tap opened
            assert [m.topic for m in tap.drain()] == ["v2x/xq/sim/clock"]
            with pytest.raises(BusError, match="of 6 messages 4 delivered, 0 declared lost, "
                                               "2 still awaited"):
                await tap.wait_for(6, timeout_s=0.05)

    asyncio.run(main())


def test_open_bus_memory_and_bad_specs() -> None:
    async def main() -> None:
        async with open_bus("memory") as bus:
            assert isinstance(bus, MemoryBus) and bus.url == "memory"
        for bad in ("", "redis://x", "mqtt://", "mqtt://host:99999", "embedded2", "mqtt://a b:1"):
            with pytest.raises(ConfigError) as info:
                async with open_bus(bad):
                    pass
            assert info.value.key == "bus"
            assert info.value.value == bad

    asyncio.run(main())


def test_publish_many_checks_every_message_before_delivering_any() -> None:
    async def main() -> int:
        async with MemoryBus() as bus, bus.subscribe("#") as sub:
            with pytest.raises(ConfigError):
                await bus.publish_many([("ok/1", b"a"), ("bad/#", b"b")])
            with pytest.raises(TypeError):
                await bus.publish_many([("ok/1", b"a"), ("ok/2", bytearray(b"b"))])  # type: ignore[list-item]
            return sub.delivered

    assert asyncio.run(main()) == 0
