"""Open a bus from its spec string, and the per-step delivery barrier :class:`Tap`."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Self

from v2x.errors import BusError, ConfigError

from ._base import Bus, BusMessage, Subscription
from ._broker import BrokerProcess
from ._memory import MemoryBus
from ._mqtt import MqttBus
from ._url import parse_broker_url

__all__ = ["Tap", "open_bus"]


@contextlib.asynccontextmanager
async def open_bus(spec: str, *, qos: int = 1, timeout_s: float = 10.0,
                   qos_of: Callable[[str], int] | None = None,
                   reconnect_s: float = 60.0) -> AsyncIterator[Bus]:
    """Open the bus named by ``spec`` for the duration of an ``async with``.

    ``spec`` (the ``--bus`` option; ``run.json`` key ``bus`` records it without the password):

    - ``"memory"``: a :class:`MemoryBus`;
    - ``"embedded"``: starts the amqtt broker in a process of its own (:class:`BrokerProcess`)
      on a free loopback port and connects an :class:`MqttBus` to it; both stop on exit;
    - ``"mqtt://[user:password@]host[:port]"``: an :class:`MqttBus` on that broker (port 1883
      by default), with those credentials;
    - ``"mqtts://[user:password@]host[:port][?ca=PATH]"``: the same over TLS (port 8883 by
      default), the broker's certificate checked against the CA file ``PATH`` or the
      system's CAs (:func:`parse_broker_url`).

    The bus's :attr:`~Bus.broker` names what carries the messages: ``memory``; ``amqtt`` and
    its package version; an external broker's ``$SYS/broker/version`` (Mosquitto publishes
    it), else ``unknown``.

    ``qos``, ``timeout_s`` [s], ``qos_of`` (a topic's QoS, e.g. :func:`topic_qos`) and
    ``reconnect_s`` [s] are passed to :class:`MqttBus`.
    Raises ConfigError (key ``bus``) for any other spec or an unreadable CA file; BusError
    when a broker fails or refuses the connection (wrong credentials, untrusted certificate).
    """
    if not isinstance(spec, str):
        raise ConfigError(f"bus must be a str, got {spec!r}", key="bus", value=spec)
    if spec == "memory":
        async with MemoryBus() as bus:
            yield bus
        return
    if spec == "embedded":
        async with (
            BrokerProcess(host="127.0.0.1") as broker,
            MqttBus(broker.host, broker.port, qos=qos, timeout_s=timeout_s, qos_of=qos_of,
                    reconnect_s=reconnect_s) as mbus,
        ):
            mbus.broker = {"name": "amqtt", "version": _package_version("amqtt")}
            yield mbus
        return
    if not spec.startswith(("mqtt://", "mqtts://")):
        raise ConfigError(f"bus {spec!r} is not 'memory', 'embedded', "
                          "'mqtt://[user:password@]host:port' or 'mqtts://...'",
                          key="bus", value=spec)
    url = parse_broker_url(spec)
    async with MqttBus(url.host, url.port, qos=qos, timeout_s=timeout_s, qos_of=qos_of,
                       reconnect_s=reconnect_s, username=url.username,
                       password=url.password, tls_context=url.tls_context()) as qbus:
        await qbus.read_broker_version()
        yield qbus


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        return "unknown"


class Tap:
    """Collects every message matching ``pattern`` in a background task: the step barrier.

    The simulation publishes all of a step's messages, then waits until the bus has delivered
    them all, so what is recorded does not depend on machine speed::

        async with Tap(bus, "v2x/#") as tap:       # subscribed (SUBACK) when this returns
            for step in steps:
                await bus.publish_many(step_messages)
                expected += len(step_messages)
                await tap.wait_for(expected, timeout_s=10.0)
                record(tap.drain())

    Only the bus's own messages (:attr:`BusMessage.own`: published by this bus object) are
    counted and drained: a run records only its own. Messages of other clients on the same
    topics (another run, an external application, garbage) are kept apart, in
    :meth:`drain_foreign` and :attr:`foreign_count`, so they never satisfy the barrier.

    Args:
        bus: an open bus.
        pattern: subscription filter (MQTT 3.1.1).
    """

    def __init__(self, bus: Bus, pattern: str = "v2x/#") -> None:
        self._bus = bus
        self._pattern = pattern
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._buffer: list[BusMessage] = []
        self._foreign: list[BusMessage] = []
        self._count = 0
        self._foreign_count = 0
        self._error: BusError | None = None
        self._waiter: tuple[int, asyncio.Future[None]] | None = None

    @property
    def pattern(self) -> str:
        """The subscription filter."""
        return self._pattern

    @property
    def count(self) -> int:
        """The bus's own messages delivered since the tap opened (drained or not)."""
        return self._count

    @property
    def foreign_count(self) -> int:
        """Foreign messages (not published by this bus object) since the tap opened."""
        return self._foreign_count

    async def __aenter__(self) -> Self:
        if self._sub is not None:
            raise BusError(f"tap on {self._pattern!r} is already open")
        sub = self._bus.subscribe(self._pattern, max_queued=None)  # read at once, never full
        await sub.__aenter__()
        sub.on_lost = self._wake
        self._sub = sub
        self._task = asyncio.get_running_loop().create_task(
            self._collect(sub), name=f"v2x-bus-tap-{self._pattern}"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sub, self._sub = self._sub, None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if sub is not None:
            await sub.__aexit__(exc_type, exc, tb)

    async def _collect(self, sub: Subscription) -> None:
        try:
            async for msg in sub:  # one wake-up takes every message delivered by then
                batch = [msg, *sub.take_ready()]
                own = [m for m in batch if m.published_wall_ns >= 0]  # m.own, inlined
                if len(own) < len(batch):
                    foreign = [m for m in batch if not m.own]
                    self._foreign.extend(foreign)
                    self._foreign_count += len(foreign)
                self._buffer.extend(own)
                self._count += len(own)
                self._wake()
        except BusError as err:
            self._error = err
            if self._waiter is not None and not self._waiter[1].done():
                self._waiter[1].set_exception(err)

    @property
    def lost(self) -> int:
        """Own messages the bus declared lost (QoS 0 during a fault) since the tap opened."""
        return self._sub.lost if self._sub is not None else 0

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and self._count + self.lost >= waiter[0] \
                and not waiter[1].done():
            waiter[1].set_result(None)

    async def wait_for(self, n_total: int, *, timeout_s: float = 10.0) -> None:
        """Wait until at least ``n_total`` of the bus's own messages have been delivered (or
        declared lost, QoS 0 during a fault) since the tap opened.

        While the bus is re-establishing a lost connection (:attr:`Bus.reconnecting`) the
        wait goes on: a broker outage is not a delivery failure; the bus fails the tap when its
        reconnect window ends.
        Raises BusError when ``timeout_s`` [s] passes first with the bus connected (naming
        how many messages arrived, were declared lost and are still awaited; the three add
        up to ``n_total``), when the connection was lost for good, or when the tap is not
        open.
        """
        if self._error is not None:
            raise self._error
        if self._count + self.lost >= n_total:
            return
        if self._task is None:
            raise BusError(f"tap on {self._pattern!r} is not open; use 'async with Tap(...)'")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = (n_total, fut)
        try:
            while not fut.done():
                reconnects = self._bus.stats()["reconnects"]
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can return normally
                # when the task is cancelled (Ctrl-C) just as fut completes, and the
                # interrupt is lost
                try:
                    async with asyncio.timeout(timeout_s):
                        await asyncio.shield(fut)
                except TimeoutError:
                    # a broker outage (now, or ended meanwhile: the outbox is being sent
                    # again) is not a delivery failure: wait another timeout_s
                    if not (self._bus.reconnecting
                            or self._bus.stats()["reconnects"] != reconnects):
                        raise self._timed_out(n_total, timeout_s) from None
        finally:
            self._waiter = None
        fut.result()

    def _timed_out(self, n_total: int, timeout_s: float) -> BusError:
        waiting = n_total - self._count - self.lost
        return BusError(
            f"bus barrier timed out after {timeout_s} s on {self._pattern!r} at "
            f"{self._bus.url}: of {n_total} messages {self._count} delivered, {self.lost} "
            f"declared lost, {waiting} still awaited (a broker may drop QoS 1 messages "
            "beyond its per-client queue, e.g. Mosquitto max_queued_messages, default 1000)")

    def drain(self) -> list[BusMessage]:
        """The bus's own messages delivered since the last drain, in delivery order; empties
        the buffer."""
        out, self._buffer = self._buffer, []
        return out

    def drain_foreign(self) -> list[BusMessage]:
        """The foreign messages delivered since the last call, in delivery order."""
        out, self._foreign = self._foreign, []
        return out
