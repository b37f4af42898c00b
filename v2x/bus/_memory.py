"""In-process bus: same topic semantics as MQTT, no broker, deterministic."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from v2x.errors import BusError

from ._base import BusMessage, Subscription, now_ns
from ._topics import validate_topic

__all__ = ["MemoryBus"]


class MemoryBus:
    """A bus inside one process, for deterministic tests and the default of CI runs.

    ``publish`` hands the message to every open subscription whose filter matches before it
    returns (MQTT 3.1.1 section 4.7 matching), so each subscription sees messages in exactly
    the order they were published, across all topics; nothing is ever lost. Payloads are passed
    by reference (bytes are immutable). ``published_wall_ns`` is the wall clock at ``publish``
    and ``delivered_wall_ns`` the same instant.

    ::

        async with MemoryBus() as bus, bus.subscribe("v2x/#") as sub:
            await bus.publish("v2x/xq/sim/clock", b"{}")
            msg = await sub.get(timeout_s=1.0)
    """

    def __init__(self) -> None:
        self._subs: list[_MemorySubscription] = []
        self._open = False
        self._valid_topics: set[str] = set()
        self._seq = 0
        #: ``{"name": "memory", "version": v2x's version}``: the messages never leave v2x
        self.broker: dict[str, str] = {"name": "memory", "version": _v2x_version()}

    @property
    def published(self) -> int:
        """Messages published so far; the next one's ``BusMessage.seq``."""
        return self._seq

    @property
    def reconnecting(self) -> bool:
        """Always False: a memory bus has no connection to lose."""
        return False

    def stats(self) -> dict[str, Any]:
        """No faults in memory: every counter is zero (but ``dropped`` by slow readers)."""
        return {"reconnects": 0, "resent": 0, "duplicates": 0, "lost_qos0": {},
                "dropped": sum(sub.dropped for sub in self._subs)}

    @property
    def url(self) -> str:
        """Always ``"memory"``."""
        return "memory"

    async def __aenter__(self) -> Self:
        if self._open:
            raise BusError("memory bus is already open")
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        for sub in list(self._subs):
            await sub.__aexit__(None, None, None)
        self._subs.clear()

    def _check_open(self) -> None:
        if not self._open:
            raise BusError("memory bus is not open; use 'async with MemoryBus() as bus'")

    async def publish(self, topic: str, payload: bytes) -> None:
        """Deliver ``payload`` to every matching subscription, now.

        Raises BusError when the bus is not open, ConfigError for an invalid topic, TypeError
        when ``payload`` is not bytes.
        """
        self._check_open()
        _check(topic, payload)
        self._deliver(topic, payload)

    async def publish_many(self, messages: Iterable[tuple[str, bytes]]) -> None:
        """Publish ``(topic, payload)`` pairs in order, as ``publish`` one by one (each
        subscription gets its matching ones in that order as one batch: one wake-up of its
        reader, not one per message); nothing is delivered when any topic or payload is
        invalid (ConfigError, TypeError)."""
        self._check_open()
        items = list(messages)
        valid = self._valid_topics
        for topic, payload in items:
            if topic not in valid or not isinstance(payload, bytes):
                _check(topic, payload)
                if len(valid) < 65_536:  # topics repeat every step; bound the memory anyway
                    valid.add(topic)
        t = now_ns()  # one publish call, one instant
        seq = self._seq
        self._seq += len(items)
        msgs = [BusMessage(topic, payload, t, t, seq + i)
                for i, (topic, payload) in enumerate(items)]
        for sub in self._subs:  # each subscription gets its matching messages as one batch
            sub._deliver_many(sub._matching(msgs))

    async def flush(self, *, timeout_s: float | None = None) -> None:
        """Nothing to wait for: ``publish`` delivers before it returns."""
        self._check_open()

    def _deliver(self, topic: str, payload: bytes, t: int | None = None) -> None:
        if t is None:
            t = now_ns()
        msg = BusMessage(topic, payload, t, t, self._seq)
        self._seq += 1
        for sub in self._subs:
            if sub.matches(topic):
                sub._deliver(msg)

    def subscribe(self, pattern: str, *, max_queued: int | None = 10_000) -> Subscription:
        """A subscription to ``pattern``; it receives messages published after its ``__aenter__``.
        At most ``max_queued`` wait unread (None: no bound); more are dropped and counted.

        Raises ConfigError when ``pattern`` is not a valid MQTT filter.
        """
        return _MemorySubscription(self, pattern, max_queued)


def _check(topic: str, payload: bytes) -> None:
    validate_topic(topic)
    if not isinstance(payload, bytes):
        raise TypeError(f"payload must be bytes, got {type(payload).__name__}")


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, pattern: str, max_queued: int | None) -> None:
        super().__init__(pattern, max_queued=max_queued)
        self._bus = bus

    async def _start(self) -> None:
        self._bus._check_open()
        self._bus._subs.append(self)

    async def _stop(self) -> None:
        if self in self._bus._subs:
            self._bus._subs.remove(self)


def _v2x_version() -> str:
    from v2x import __version__

    return str(__version__)
