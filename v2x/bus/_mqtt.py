"""MQTT bus on ``aiomqtt`` 2.x (paho-mqtt underneath), MQTT 3.1.1.

Design:

- One MQTT connection publishes; each :class:`Subscription` opens its own connection (client id
  ``<client_id>-s<n>``) and subscribes on it. A message matching two overlapping filters is
  then delivered exactly once to each subscription (MQTT 3.1.1 section 3.3.5 lets a broker send
  one copy *or* one per filter to a single client, and amqtt and Mosquitto differ), and a
  subscription's ``__aenter__`` returns only after its SUBACK.
- Publish wall time: MQTT 3.1.1 has no user properties, and the payload stays the bare message
  (UPER bytes) so external applications read it unchanged. Instead the bus keeps a *ledger*:
  ``publish`` stamps ``time.time_ns()`` and appends it, for every open subscription of this
  bus whose filter matches, to a FIFO keyed by ``(topic, payload)``; on delivery the
  subscription pops the oldest stamp for that key. Equal keys carry equal content, so even a
  broker that reorders messages (amqtt dispatches each delivery as its own task) cannot pair
  a message with another message's stamp. Messages from other publishers (another process,
  another bus object) find no stamp and get ``published_wall_ns = -1``. A message published
  while a subscription is still waiting for its SUBACK may get -1 as well.
- Errors: ``aiomqtt.MqttError``, ``OSError`` and timeouts become :class:`v2x.errors.BusError`
  naming the broker URL, with the cause chained.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
import socket
import uuid
from collections import deque
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from v2x.errors import BusError, ConfigError

from ._base import UNKNOWN_WALL_NS, BusMessage, Subscription, now_ns
from ._topics import validate_topic

__all__ = ["MqttBus"]

_LOG = logging.getLogger("v2x.bus.mqtt")
# paho-mqtt logs every packet at DEBUG and aiomqtt warns when more than 10 calls are pending,
# which is the normal state of a batched publish; route both to a quiet logger of ours.
_PAHO_LOG = logging.getLogger("v2x.bus.mqtt.paho")

_FOREIGN_ERRORS = (aiomqtt.MqttError, OSError, TimeoutError)


class MqttBus:
    """A bus on an MQTT 3.1.1 broker (Mosquitto, EMQX, the embedded amqtt broker).

    Args:
        host: broker host name or address.
        port: broker TCP port.
        client_id: MQTT client id of the publishing connection; subscriptions use
            ``<client_id>-s1``, ``-s2``, ... Default: ``"v2x-"`` + 12 random hex digits.
        qos: QoS of publishes and subscriptions, 0, 1 (default: at least once, in order per
            topic) or 2.
        timeout_s: how long to wait for CONNACK, SUBACK, PUBACK or a disconnect [s].
        keepalive_s: MQTT keep-alive interval [s].
        max_inflight: how many QoS>0 publishes may await their PUBACK at once.
        username, password: credentials, if the broker wants them.

    Raises ConfigError for a bad option; BusError (from ``__aenter__``, ``publish``,
    ``subscribe(...).__aenter__``) when the broker cannot be reached or fails.

    ::

        async with MqttBus("127.0.0.1", 1883) as bus, bus.subscribe("v2x/#") as sub:
            await bus.publish_many(batch)      # pipelined, in order
            msg = await sub.get(timeout_s=5.0)

    Brokers bound what they queue per subscriber: Mosquitto drops QoS 1 messages beyond
    ``max_queued_messages`` (default 1000) waiting for one client, so keep one
    ``publish_many`` batch (one simulation step) well below that, or raise the limit.
    """

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        client_id: str | None = None,
        qos: int = 1,
        timeout_s: float = 10.0,
        keepalive_s: int = 60,
        max_inflight: int = 1000,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if not isinstance(host, str) or not host:
            raise ConfigError(
                f"broker host must be a non-empty str, got {host!r}", key="host", value=host
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(
                f"broker port must be an int in 1..65535, got {port!r}", key="port", value=port
            )
        if qos not in (0, 1, 2) or isinstance(qos, bool):
            raise ConfigError(f"qos must be 0, 1 or 2, got {qos!r}", key="qos", value=qos)
        if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise ConfigError(
                f"timeout_s must be > 0, got {timeout_s!r}", key="timeout_s", value=timeout_s
            )
        if not (isinstance(max_inflight, int) and max_inflight > 0):
            raise ConfigError(
                f"max_inflight must be a positive int, got {max_inflight!r}",
                key="max_inflight",
                value=max_inflight,
            )
        self._host = host
        self._port = port
        self._client_id = client_id or f"v2x-{uuid.uuid4().hex[:12]}"
        self._qos = qos
        self._timeout_s = float(timeout_s)
        self._keepalive_s = keepalive_s
        self._max_inflight = max_inflight
        self._username = username
        self._password = password
        self._client: aiomqtt.Client | None = None
        self._subs: list[_MqttSubscription] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._error: BusError | None = None
        self._sub_numbers = itertools.count(1)

    @property
    def url(self) -> str:
        """``"mqtt://host:port"`` (an IPv6 host in brackets)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"mqtt://{host}:{self._port}"

    @property
    def host(self) -> str:
        """Broker host name or address."""
        return self._host

    @property
    def port(self) -> int:
        """Broker TCP port."""
        return self._port

    @property
    def client_id(self) -> str:
        """MQTT client id of the publishing connection."""
        return self._client_id

    @property
    def qos(self) -> int:
        """QoS of publishes and subscriptions."""
        return self._qos

    def _new_client(
        self, identifier: str, queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None
    ) -> aiomqtt.Client:
        client = aiomqtt.Client(
            self._host,
            self._port,
            identifier=identifier,
            queue_type=queue_type,
            username=self._username,
            password=self._password,
            logger=_PAHO_LOG,
            timeout=self._timeout_s,
            keepalive=self._keepalive_s,
            clean_session=True,
            max_inflight_messages=self._max_inflight,
            # paho writes one send() per packet; without TCP_NODELAY, Nagle's algorithm holds
            # small packets back until the peer's delayed ACK (about 40 ms on Linux)
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        client.pending_calls_threshold = math.inf  # type: ignore[assignment]
        return client

    async def _connect(self, client: aiomqtt.Client, what: str) -> None:
        try:
            await client.__aenter__()
        except _FOREIGN_ERRORS as exc:
            raise BusError(f"cannot connect {what} to MQTT broker {self.url}: {exc}") from exc

    async def _disconnect(self, client: aiomqtt.Client, what: str) -> None:
        try:
            await client.__aexit__(None, None, None)
        except _FOREIGN_ERRORS as exc:
            raise BusError(
                f"error disconnecting {what} from MQTT broker {self.url}: {exc}"
            ) from exc

    # -- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise BusError(f"MQTT bus {self.url} is already open")
        client = self._new_client(self._client_id)
        await self._connect(client, f"publisher {self._client_id!r}")
        self._client = client
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        errors: list[BaseException] = []
        if self._client is not None and exc is None:
            try:
                await self.flush()
            except BusError as err:
                errors.append(err)
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        client, self._client = self._client, None
        for sub in list(self._subs):
            try:
                await sub.__aexit__(None, None, None)
            except BusError as err:
                errors.append(err)
        if client is not None:
            try:
                await self._disconnect(client, f"publisher {self._client_id!r}")
            except BusError as err:
                errors.append(err)
        self._error = None
        if errors and exc is None:
            raise errors[0]

    def _require_client(self) -> aiomqtt.Client:
        if self._client is None:
            raise BusError(f"MQTT bus {self.url} is not open; use 'async with MqttBus(...) as bus'")
        self._raise_error()
        return self._client

    def _raise_error(self) -> None:
        err, self._error = self._error, None
        if err is not None:
            raise err

    # -- publishing ----------------------------------------------------------------------------

    @staticmethod
    def _check(topic: str, payload: bytes) -> None:
        validate_topic(topic)
        if not isinstance(payload, bytes):
            raise TypeError(f"payload must be bytes, got {type(payload).__name__}")

    def _stamp(self, topic: str, payload: bytes) -> None:
        """Record the publish wall time for each of this bus's subscriptions that will get it."""
        t = now_ns()
        for sub in self._subs:
            if sub.matches(topic):
                sub._ledger_add(topic, payload, t)

    def _publish_error(self, topic: str, exc: BaseException) -> BusError:
        err = BusError(f"cannot publish to {topic!r} on MQTT broker {self.url}: {exc}")
        err.__cause__ = exc
        return err

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish at the bus's QoS; returns when the broker acknowledged it (QoS 1: PUBACK).

        Raises ConfigError for an invalid topic, TypeError when ``payload`` is not bytes,
        BusError when the bus is not open, the broker fails or does not answer within
        ``timeout_s`` (or an earlier ``publish_many`` failed).
        """
        client = self._require_client()
        self._check(topic, payload)
        self._stamp(topic, payload)
        try:
            await client.publish(topic, payload, qos=self._qos)
        except _FOREIGN_ERRORS as exc:
            raise self._publish_error(topic, exc) from exc

    async def publish_many(self, messages: Iterable[tuple[str, bytes]]) -> None:
        """Publish ``(topic, payload)`` pairs, pipelined: returns once all are queued on the
        connection, in the order given, without waiting for their PUBACKs.

        Waiting for acknowledgements is what :meth:`flush` does; the simulation's barrier is a
        :class:`Tap` that waits until its subscription has them. Not waiting here is what makes
        a batch fast on Mosquitto: it answers a burst of PUBLISHes with one PUBACK and, Nagle's
        algorithm being on by default there, holds the rest until our delayed TCP ACK
        (about 40 ms) - waiting for all PUBACKs of every 16-message step measured 600 msg/s,
        pipelining 4,000-5,000 msg/s.
        A publish that fails at once (connection lost) raises BusError here; one that fails
        later (PUBACK timeout) makes the next ``publish``, ``publish_many`` or ``flush`` raise
        it (once; the first failure if several). Raises ConfigError / TypeError for a bad
        topic or payload before anything is sent.
        """
        client = self._require_client()
        items = list(messages)
        for topic, payload in items:
            self._check(topic, payload)
        for topic, payload in items:
            self._stamp(topic, payload)
        qos = self._qos
        loop = asyncio.get_running_loop()
        for topic, payload in items:
            task = loop.create_task(client.publish(topic, payload, qos=qos))
            self._pending.add(task)
            task.add_done_callback(functools.partial(self._publish_done, topic))
        # let every task run to its first await: each hands its packet to paho synchronously,
        # in creation order, so after this the whole batch is queued in order; the second
        # turn runs the done-callbacks of publishes that failed at once (connection lost)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self._raise_error()

    def _publish_done(self, topic: str, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved, so asyncio does not warn about it
        if exc is not None and self._error is None:
            self._error = self._publish_error(topic, exc)

    async def flush(self, *, timeout_s: float | None = None) -> None:
        """Wait until every message from ``publish_many`` is acknowledged (QoS 1: PUBACK).

        ``timeout_s`` [s]: None waits at most the bus's ``timeout_s`` per message (aiomqtt's
        own PUBACK timeout). Raises BusError on timeout or when any publish failed.
        """
        if self._pending:
            _, pending = await asyncio.wait(set(self._pending), timeout=timeout_s)
            if pending:
                raise BusError(
                    f"{len(pending)} publishes to MQTT broker {self.url} not acknowledged "
                    f"within {timeout_s} s"
                )
        self._raise_error()

    # -- subscribing ---------------------------------------------------------------------------

    def subscribe(self, pattern: str) -> Subscription:
        """A subscription to ``pattern`` on its own connection; ``async with`` it.

        Raises ConfigError when ``pattern`` is not a valid MQTT filter; its ``__aenter__``
        raises BusError when the bus is not open, the broker refuses (SUBACK 0x80) or does not
        answer within ``timeout_s``.
        """
        return _MqttSubscription(self, pattern)


class _MqttSubscription(Subscription):
    def __init__(self, bus: MqttBus, pattern: str) -> None:
        super().__init__(pattern)
        self._bus = bus
        self._ident = f"{bus.client_id}-s{next(bus._sub_numbers)}"
        self._client: aiomqtt.Client | None = None
        self._watch: asyncio.Task[None] | None = None
        self._ledger: dict[tuple[str, bytes], deque[int]] = {}

    def _ledger_add(self, topic: str, payload: bytes, t_ns: int) -> None:
        key = (topic, payload)
        stamps = self._ledger.get(key)
        if stamps is None:
            self._ledger[key] = deque((t_ns,))
        else:
            stamps.append(t_ns)

    def _on_message(self, message: aiomqtt.Message) -> None:
        """Called by paho's reader callback, in the event loop thread, per PUBLISH received."""
        t = now_ns()
        topic = message.topic.value
        payload = message.payload
        key = (topic, payload)
        stamps = self._ledger.get(key)
        if stamps:
            published = stamps.popleft()
            if not stamps:
                del self._ledger[key]
        else:
            published = UNKNOWN_WALL_NS
        self._deliver(BusMessage(topic, payload, published, t))

    async def _start(self) -> None:
        bus = self._bus
        bus._require_client()
        sink = self._on_message

        class _SinkQueue(asyncio.Queue[aiomqtt.Message]):
            # aiomqtt puts each received message into a queue of this class (the documented
            # ``queue_type`` option); we turn it into a BusMessage right away, stamped with the
            # arrival time, instead of queueing it.
            def put_nowait(self, item: aiomqtt.Message) -> None:
                sink(item)

        client = bus._new_client(self._ident, _SinkQueue)
        await bus._connect(client, f"subscriber {self._ident!r}")
        try:
            granted = await client.subscribe(self._pattern, qos=bus.qos)
        except _FOREIGN_ERRORS as exc:
            await _quiet_disconnect(client)
            raise BusError(
                f"cannot subscribe to {self._pattern!r} on MQTT broker {bus.url}: {exc}"
            ) from exc
        codes = [c.value if isinstance(c, ReasonCode) else int(c) for c in granted]
        if not codes or any(c >= 0x80 for c in codes):
            await _quiet_disconnect(client)
            raise BusError(
                f"MQTT broker {bus.url} refused the subscription to {self._pattern!r} "
                f"(SUBACK return codes {codes})"
            )
        self._client = client
        self._watch = asyncio.get_running_loop().create_task(
            self._watch_connection(client), name=f"v2x-bus-watch-{self._ident}"
        )
        bus._subs.append(self)

    async def _watch_connection(self, client: aiomqtt.Client) -> None:
        # aiomqtt's message iterator raises when the connection drops; our queue never yields
        # (messages go to ``_on_message``), so this only waits for that.
        try:
            async for _ in client.messages:  # pragma: no cover - never yields
                pass
        except aiomqtt.MqttError as exc:
            if self._client is client:
                err = BusError(
                    f"lost the connection of subscription {self._pattern!r} to MQTT broker "
                    f"{self._bus.url}: {exc}"
                )
                err.__cause__ = exc
                self._fail(err)

    async def _stop(self) -> None:
        bus = self._bus
        if self in bus._subs:
            bus._subs.remove(self)
        client, self._client = self._client, None
        self._ledger.clear()
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        if client is not None:
            await bus._disconnect(client, f"subscriber {self._ident!r}")


async def _quiet_disconnect(client: aiomqtt.Client) -> None:
    try:
        await client.__aexit__(None, None, None)
    except _FOREIGN_ERRORS:  # the error being raised is the one that matters
        _LOG.debug("disconnect after a failed subscribe failed too", exc_info=True)
