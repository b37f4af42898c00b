"""StepPublisher: a window's messages leave step by step, a bounded number in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from v2x.bus import MemoryBus, StepPublisher, Tap, open_bus, rsu_up
from v2x.errors import BusError, ConfigError

from .conftest import OwnMosquitto


def _window(zone: str, n_steps: int, per_step: int) -> tuple[list[tuple[str, bytes]], list[int]]:
    """``per_step`` messages per step over 8 RSUs, payload = (step, index) so each is unique."""
    pubs, t = [], []
    for k in range(n_steps):
        for i in range(per_step):
            pubs.append((rsu_up(zone, f"R{i % 8}", "BSM"), bytes([k, i]) * 10))
            t.append(k * 100_000_000)
    return pubs, t


def test_chunks_cut_at_steps_and_at_the_in_flight_bound() -> None:
    pacer = StepPublisher(MemoryBus(), None, max_in_flight=2)  # type: ignore[arg-type]
    # step 0: 3 messages -> [0, 2) and [2, 3); step 1: [3, 5); step 2: [5, 6)
    assert pacer._chunks([0, 0, 0, 1, 1, 2]) == [(0, 2), (2, 3), (3, 5), (5, 6)]
    with pytest.raises(ValueError, match="decrease at message 2"):
        pacer._chunks([0, 1, 0])
    with pytest.raises(ConfigError) as info:
        StepPublisher(MemoryBus(), None, max_in_flight=0)  # type: ignore[arg-type]
    assert info.value.key == "max_in_flight"


def test_memory_bus_messages_leave_in_step_order() -> None:
    pubs, t = _window("z", 3, 4)

    async def main() -> tuple[list[tuple[str, bytes]], int]:
        async with MemoryBus() as bus, Tap(bus, "v2x/z/#") as tap:
            pacer = StepPublisher(bus, tap, max_in_flight=3)
            got, at = await pacer.publish_steps(pubs, t)
            assert at.tolist() == list(range(12))  # each message's position, from its seq
            return [(m.topic, m.payload) for m in got], pacer.published

    got, published = asyncio.run(main())
    assert got == pubs and published == 12  # 3 steps x 4


@pytest.mark.broker
def test_a_window_paced_through_a_mosquitto_that_queues_100_messages(
        own_mosquitto: Callable[..., OwnMosquitto]) -> None:
    """The issue's reproduction: Mosquitto with ``max_queued_messages 100`` drops QoS 1
    messages beyond 20 in flight + 100 queued per subscriber. A 20-step window of 40 messages
    per step (800) published at once lost messages; paced, every one arrives, in order."""
    broker = own_mosquitto("max_queued_messages 100")
    pubs, t = _window("zp", 20, 40)

    async def paced() -> list[tuple[str, bytes]]:
        async with open_bus(broker.url) as bus, Tap(bus, "v2x/zp/#") as tap:
            got, at = await StepPublisher(bus, tap).publish_steps(pubs, t)
            assert sorted(at.tolist()) == list(range(len(pubs)))
            return [(m.topic, m.payload) for m in got]

    async def burst() -> None:
        async with open_bus(broker.url) as bus, Tap(bus, "v2x/zp/#") as tap:
            await bus.publish_many(pubs)
            await tap.wait_for(len(pubs), timeout_s=3.0)

    assert asyncio.run(paced()) == pubs
    with pytest.raises(BusError, match=r"of 800 messages \d+ delivered"):
        asyncio.run(burst())
