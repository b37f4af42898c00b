"""Pacing: a window's bus messages leave step by step, a bounded number in flight at a time.

The simulation computes a window of steps (2 s by default) at once, but its bus messages must
not leave as one burst: a broker bounds what it queues per subscriber (Mosquitto drops QoS 1
messages beyond ``max_queued_messages``, an MQTT 5 broker sends at most its Receive Maximum),
and the wall-clock latency of a message published with 400 others measures the burst, not the
hop. :class:`StepPublisher` publishes each step's messages in step order and waits at the
recording tap (the barrier) until they are delivered before the next step leaves; a step with
more than ``max_in_flight`` messages leaves in chunks of that size, each delivered before the
next.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from v2x.errors import BusError, ConfigError

from ._base import Bus, BusMessage
from ._open import Tap

__all__ = ["StepPublisher"]

#: default bound on messages published and not yet delivered at the tap: below Mosquitto's
#: ``max_inflight_messages`` (20) + ``max_queued_messages`` (whatever a deployment sets, 100 in
#: the issue's reproduction), with room to spare
MAX_IN_FLIGHT = 50


class StepPublisher:
    """Publishes a window's messages step by step through ``tap``'s barrier.

    Args:
        bus: an open bus.
        tap: the recording tap on ``bus`` (open; it must hear every message published here).
        max_in_flight: most messages published and not yet delivered at the tap (>= 1).
        timeout_s: how long one chunk may take to be delivered [s] (BusError after that).

    ``published`` counts every message published so far (the barrier's target).

    ::

        pacer = StepPublisher(bus, tap)
        delivered = await pacer.publish_steps(pubs, step_t_ns)   # this window's deliveries
    """

    def __init__(self, bus: Bus, tap: Tap, *, max_in_flight: int = MAX_IN_FLIGHT,
                 timeout_s: float = 30.0) -> None:
        if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) \
                or max_in_flight < 1:
            raise ConfigError(f"max_in_flight must be an int >= 1, got {max_in_flight!r}",
                              key="max_in_flight", value=max_in_flight)
        self._bus = bus
        self._tap = tap
        self._max = max_in_flight
        self._timeout_s = timeout_s
        self.published = 0

    async def publish_steps(self, pubs: Sequence[tuple[str, bytes]], step_t_ns: Sequence[int]
                            ) -> tuple[list[BusMessage], np.ndarray]:
        """Publish ``pubs`` (``(topic, payload)``, in step order) step by step: the messages of
        one step (equal ``step_t_ns`` [ns], non-decreasing) are published, in chunks of at
        most ``max_in_flight``, each chunk delivered at the tap before the next leaves.

        Returns the bus's own messages the tap received meanwhile (``tap.drain()``), in
        delivery order, and (n,) int64 the position of each in ``pubs`` (from its ``seq``:
        a message lost on the way shifts no other's).
        Raises BusError when a chunk is not delivered within ``timeout_s``; ValueError when
        the two sequences differ in length or ``step_t_ns`` decreases.
        """
        if len(pubs) != len(step_t_ns):
            raise ValueError(f"{len(pubs)} messages but {len(step_t_ns)} step times")
        base = self._bus.published
        for a, b in self._chunks(step_t_ns):
            await self._bus.publish_many(pubs[a:b])
            self.published += b - a
            await self._tap.wait_for(self.published, timeout_s=self._timeout_s)
        got = self._tap.drain()
        seq = np.fromiter((m.seq for m in got), np.int64, len(got)) - base
        if got and (seq.min() < 0 or seq.max() >= len(pubs)):
            raise BusError(f"the tap on {self._tap.pattern!r} received an own message this "
                           "window did not publish")
        return got, seq

    def _chunks(self, step_t_ns: Sequence[int]) -> list[tuple[int, int]]:
        """``[a, b)`` index ranges: one step's messages, cut every ``max_in_flight``."""
        out: list[tuple[int, int]] = []
        a = 0
        n = len(step_t_ns)
        while a < n:
            t = step_t_ns[a]
            b = a + 1
            while b < n and step_t_ns[b] == t and b - a < self._max:
                b += 1
            if b < n and step_t_ns[b] < t:
                raise ValueError(f"step times decrease at message {b}: {step_t_ns[b]} < {t}")
            out.append((a, b))
            a = b
        return out
