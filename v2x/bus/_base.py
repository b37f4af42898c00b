"""The bus interface: :class:`BusMessage`, the :class:`Bus` protocol and :class:`Subscription`.

Lifetime is ``async with``, messages come by ``async for``::

    async with open_bus("embedded") as bus:
        async with bus.subscribe("v2x/+/rsu/#") as sub:   # SUBACK has arrived here
            await bus.publish("v2x/xq/rsu/R1/up/spat", payload)
            async for msg in sub:
                ...
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from v2x.errors import BusError, ConfigError

from ._topics import topic_matches, validate_filter

__all__ = ["Bus", "BusMessage", "Subscription"]

#: ``BusMessage.published_wall_ns`` when the publish time is unknown (a foreign publisher).
UNKNOWN_WALL_NS = -1


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One message as delivered to a subscription.

    Attributes:
        topic: the concrete topic it was published to.
        payload: the bytes published, unchanged.
        published_wall_ns: wall clock (``time.time_ns()``, Unix epoch) [ns] when ``publish`` was
            called for it, or ``-1`` when the publisher was not this bus object (an external
            process): MQTT 3.1.1 has no header to carry it (see ``MqttBus``).
        delivered_wall_ns: wall clock [ns] when it reached this process's subscription.
        seq: its sequence number on the bus object that published it (0, 1, ... in publish
            order: ``Bus.published`` before the publish), ``-1`` when foreign.
    """

    topic: str
    payload: bytes
    published_wall_ns: int
    delivered_wall_ns: int
    seq: int = -1

    @property
    def own(self) -> bool:
        """Whether this bus object published it (its publish time is known): a run's own
        message, as opposed to a foreign one (another client, another run)."""
        return self.published_wall_ns >= 0

    @property
    def wall_latency_ns(self) -> int | None:
        """Publish -> delivery wall-clock latency [ns], or None when the publish time is unknown."""
        if self.published_wall_ns < 0:
            return None
        return self.delivered_wall_ns - self.published_wall_ns


_CLOSED = object()


class Subscription:
    """Messages matching one filter, from ``Bus.subscribe(pattern)``.

    Use as ``async with bus.subscribe(pattern) as sub:``; when ``__aenter__`` returns the broker
    has confirmed the subscription (SUBACK), so every message published afterwards that matches
    is delivered. ``async for msg in sub`` yields :class:`BusMessage` in delivery order; once the
    subscription is closed it yields what was buffered and then ends. It raises BusError when
    the connection is lost for good. At most ``max_queued`` messages wait unread (None: no
    bound); a slow reader loses the ones beyond, counted in :attr:`dropped`.

    Subclasses (one per bus) implement ``_start`` and ``_stop``; they call ``_deliver`` for each
    message (or ``_deliver_many`` for several at once, as one queue item: one wake-up of the
    reader instead of one per message), ``_count_lost`` for an own message the bus declared
    lost, and ``_fail`` when the connection breaks for good.
    """

    def __init__(self, pattern: str, *, max_queued: int | None = None) -> None:
        self._pattern = validate_filter(pattern)
        if max_queued is not None and (isinstance(max_queued, bool)
                                       or not isinstance(max_queued, int) or max_queued < 1):
            raise ConfigError(f"max_queued must be an int >= 1 or None, got {max_queued!r}",
                              key="max_queued", value=max_queued)
        #: items: a BusMessage, a list of them (``_deliver_many``), ``_CLOSED`` or a BusError
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        #: the rest of the batch the reader is taking messages from, one by one
        self._pending: deque[BusMessage] = deque()
        self._unread = 0  # messages delivered and not yet read (queued or pending)
        self._max_queued = max_queued
        self._state = "new"  # new -> open -> closed
        self._count = 0
        self.dropped = 0  #: messages dropped because ``max_queued`` were waiting unread
        self.lost = 0  #: own messages the bus declared lost (QoS 0 during a fault)
        #: called (no arguments) whenever ``lost`` grows, e.g. to re-check a barrier
        self.on_lost: Callable[[], None] | None = None

    @property
    def pattern(self) -> str:
        """The subscription filter."""
        return self._pattern

    @property
    def delivered(self) -> int:
        """How many messages have been delivered to this subscription so far (read or not)."""
        return self._count

    def matches(self, topic: str) -> bool:
        """Whether ``topic`` matches this subscription's filter (MQTT 3.1.1 section 4.7)."""
        cache = self.__dict__.setdefault("_match_cache", {})
        hit = cache.get(topic)
        if hit is None:
            if len(cache) > 65_536:  # topics repeat every step; bound the memory anyway
                cache.clear()
            hit = cache[topic] = topic_matches(self._pattern, topic)
        return hit

    def _matching(self, msgs: list[BusMessage]) -> list[BusMessage]:
        """The messages of ``msgs`` whose topic matches, in order (:meth:`matches`, one dict
        look-up per message)."""
        cache = self.__dict__.setdefault("_match_cache", {})
        hits = [cache.get(m.topic) for m in msgs]
        if all(hits):  # the usual case: every topic seen before, all matching
            return msgs
        return [m for m, hit in zip(msgs, hits, strict=True)
                if (hit if hit is not None else self.matches(m.topic))]

    # -- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise BusError(f"subscription to {self._pattern!r} cannot be entered twice")
        await self._start()
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == "closed":
            return
        self._state = "closed"
        self._queue.put_nowait(_CLOSED)
        await self._stop()

    async def _start(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _stop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- delivery (called by the bus) ----------------------------------------------------------

    def _deliver(self, msg: BusMessage) -> None:
        if self._state == "closed":
            return
        self._count += 1
        if self._max_queued is not None and self._unread >= self._max_queued:
            self.dropped += 1
            return
        self._unread += 1
        self._queue.put_nowait(msg)

    def _deliver_many(self, msgs: Sequence[BusMessage]) -> None:
        """Deliver ``msgs`` in order, as that many ``_deliver`` calls would (the same counts
        and drops: beyond ``max_queued`` unread, the rest are dropped), as one queue item. A
        list is queued as it is: the caller does not change it afterwards."""
        if self._state == "closed" or not msgs:
            return
        self._count += len(msgs)
        if self._max_queued is not None:
            room = max(self._max_queued - self._unread, 0)
            if room < len(msgs):
                self.dropped += len(msgs) - room
                msgs = msgs[:room]
                if not msgs:
                    return
        self._unread += len(msgs)
        self._queue.put_nowait(msgs if isinstance(msgs, list) else list(msgs))

    def _count_lost(self) -> None:
        self.lost += 1
        if self.on_lost is not None:
            self.on_lost()

    def _fail(self, error: BusError) -> None:
        self._queue.put_nowait(error)

    # -- reading -------------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BusMessage:
        if self._state == "new":
            raise BusError(f"subscription to {self._pattern!r} is not open; use 'async with'")
        if not self._pending:
            self._unwrap(await self._queue.get())
        self._unread -= 1
        return self._pending.popleft()

    async def get(self, *, timeout_s: float | None = None) -> BusMessage:
        """The next message; waits at most ``timeout_s`` [s] (None: forever).

        Raises BusError on timeout, when the connection was lost, or when the subscription is
        closed and drained.
        """
        try:
            return await asyncio.wait_for(self.__anext__(), timeout_s)
        except TimeoutError:
            raise BusError(f"no message on {self._pattern!r} within {timeout_s} s") from None
        except StopAsyncIteration:
            raise BusError(f"subscription to {self._pattern!r} is closed") from None

    def take_ready(self) -> list[BusMessage]:
        """Every message already delivered, at once and without waiting (possibly none): for
        a reader that takes many messages per wake-up. A close or a lost connection queued
        behind them stays queued (nothing is delivered after either), so the next read raises
        it."""
        out = list(self._pending)
        self._pending.clear()
        q = self._queue
        while not q.empty():
            item = q.get_nowait()
            if isinstance(item, list):
                out.extend(item)
            elif isinstance(item, BusMessage):
                out.append(item)
            else:
                q.put_nowait(item)
                break
        self._unread -= len(out)
        return out

    def _unwrap(self, item: object) -> None:
        """Put the messages of queue ``item`` into ``_pending``; raise what a close or a
        lost connection means."""
        if isinstance(item, list):
            self._pending.extend(item)
            return
        if isinstance(item, BusMessage):
            self._pending.append(item)
            return
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)  # stay ended for further reads
            raise StopAsyncIteration
        if isinstance(item, BusError):
            self._queue.put_nowait(item)
            raise item
        raise AssertionError(f"unexpected queue item {item!r}")  # pragma: no cover


@runtime_checkable
class Bus(Protocol):
    """A publish/subscribe message bus with MQTT 3.1.1 topic semantics.

    Implementations: ``MemoryBus`` (in-process, deterministic) and ``MqttBus`` (aiomqtt client).
    Use ``async with`` for the connection's lifetime; all methods raise BusError when the bus
    is not open or the broker fails, and ConfigError for an invalid topic or filter.
    """

    @property
    def url(self) -> str:
        """Where the bus is: ``"memory"``, ``"mqtt://host:port"`` or ``"mqtts://..."``."""
        ...

    @property
    def published(self) -> int:
        """Messages published so far; the next one's ``BusMessage.seq``."""
        ...

    @property
    def reconnecting(self) -> bool:
        """Whether a lost broker connection is being re-established now (its messages wait,
        they are not lost); always False on a bus without a network."""
        ...

    #: what carries the messages, ``{"name": ..., "version": ...}``: ``"memory"`` and v2x's
    #: version, ``"amqtt"`` and its package version (the embedded broker), or what an
    #: external broker says of itself (``"mosquitto"``, ``"2.0.11"``; ``"unknown"``)
    broker: dict[str, str]

    def stats(self) -> dict[str, Any]:
        """Fault counters (``reconnects``, ``resent``, ``duplicates``, ``lost_qos0`` per topic,
        ``dropped``); all zero on a bus without faults."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish ``payload`` to the concrete ``topic``; returns once the bus accepted it
        (MQTT QoS 1: PUBACK received)."""
        ...

    async def publish_many(self, messages: Iterable[tuple[str, bytes]]) -> None:
        """Publish ``(topic, payload)`` pairs in the order given, pipelined: returns once all
        are handed to the bus, possibly before the broker acknowledged them (see ``flush``).
        Messages keep their order at every subscriber (MQTT: per topic)."""
        ...

    async def flush(self, *, timeout_s: float | None = None) -> None:
        """Wait until everything published is acknowledged; raises BusError if any failed."""
        ...

    def subscribe(self, pattern: str, *, max_queued: int | None = 10_000) -> Subscription:
        """A subscription to the filter ``pattern``; enter it with ``async with``. At most
        ``max_queued`` messages wait unread (None: no bound), more are dropped and counted."""
        ...


def now_ns() -> int:
    """Wall clock [ns] since the Unix epoch (``time.time_ns``)."""
    return time.time_ns()
