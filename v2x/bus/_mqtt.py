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
- Hot path: aiomqtt connects, subscribes and watches the sockets; messages bypass its
  per-message objects. A batch goes to paho's encoder and is written at once, its
  PUBACKs matched by packet identifier (:class:`~v2x.bus._inflight.Inflight`, which also
  bounds what awaits a PUBACK: ``max_inflight``); each PUBLISH received, decoded by paho, goes
  to the subscription's ``_on_message``, and a read burst's messages to its reader at once,
  their PUBACKs in one write (:class:`~v2x.bus._receive.Receiver`); reads are buffered so one
  wake-up of the event loop takes every packet that arrived
  (:class:`~v2x.bus._socket.ReadBuffer`).
- Errors: ``aiomqtt.MqttError``, ``OSError`` and timeouts become :class:`v2x.errors.BusError`
  naming the broker URL, with the cause chained.
- Faults: a broker that cannot be reached when the bus opens is a BusError at once. A
  connection lost later (the broker restarted, a keep-alive missed) is re-established with
  back-off (0.1 s doubling to 2 s, for at most ``reconnect_s``), a fresh aiomqtt client per
  attempt, subscriptions subscribed again. While any connection is down nothing is sent:
  QoS 1 and 2 messages wait in the *outbox*, QoS 0 messages are lost (counted per topic).
  The outbox keeps every message until each of this bus's subscriptions that matches it
  has received it (or, matching none, until its PUBACK): once every connection is back, its
  QoS 1/2 messages are published again in their order, end to end, so none is lost even
  when the broker lost them with its restart; its QoS 0 ones are counted lost. A copy that
  reaches a subscription twice is dropped there (``stats()["duplicates"]``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
import socket
import ssl
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from v2x.errors import BusError, ConfigError

from ._base import UNKNOWN_WALL_NS, BusMessage, Subscription, now_ns
from ._inflight import Inflight
from ._receive import Receiver
from ._socket import buffer_reads
from ._topics import validate_topic

__all__ = ["MqttBus"]

_LOG = logging.getLogger("v2x.bus.mqtt")
# paho-mqtt logs every packet at DEBUG and aiomqtt warns when more than 10 calls are pending,
# which is the normal state of a batched publish; route both to a quiet logger of ours.
_PAHO_LOG = logging.getLogger("v2x.bus.mqtt.paho")

_FOREIGN_ERRORS = (aiomqtt.MqttError, OSError, TimeoutError)

_PUBLISHER = "publisher"  # the publishing connection, in the set of connections that are down
_BACKOFF_FIRST_S = 0.1
_BACKOFF_MAX_S = 2.0


@dataclass(slots=True)
class _Out:
    """One published message until it is safe: every own subscription that matches it has
    received it (``waiting`` empty), or, matching none, the broker acknowledged it."""

    topic: str
    payload: bytes
    qos: int
    waiting: list[_MqttSubscription] = field(default_factory=list)


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
        max_inflight: how many QoS>0 publishes may await their PUBACK at once (1..65535, the
            MQTT packet identifiers).
        username, password: credentials, if the broker wants them.
        tls_context: a TLS context (``ssl.create_default_context(cafile=...)``): the
            connections are TLS (``mqtts``); None: plain TCP.
        qos_of: the QoS of a topic (e.g. from the topic table); ``qos`` for every topic when
            None.
        reconnect_s: how long to try to re-establish a lost connection [s] before failing
            (BusError); 0 fails at once.

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
        qos_of: Callable[[str], int] | None = None,
        reconnect_s: float = 60.0,
        tls_context: ssl.SSLContext | None = None,
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
        if not (isinstance(max_inflight, int) and 0 < max_inflight <= 65_535):
            raise ConfigError(
                f"max_inflight must be an int in 1..65535, got {max_inflight!r}",
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
        self._tls_context = tls_context
        #: the broker's name and version, ``{"name": "mosquitto", "version": "2.0.11"}``, as
        #: :meth:`read_broker_version` found them; "unknown" before, or when the broker does
        #: not say
        self.broker: dict[str, str] = {"name": "unknown", "version": "unknown"}
        if not (isinstance(reconnect_s, (int, float)) and reconnect_s >= 0):
            raise ConfigError(f"reconnect_s must be >= 0, got {reconnect_s!r}",
                              key="reconnect_s", value=reconnect_s)
        self._qos_of = qos_of
        self._reconnect_s = float(reconnect_s)
        self._client: aiomqtt.Client | None = None
        self._open = False
        self._subs: list[_MqttSubscription] = []
        self._inflight: Inflight | None = None  # the publisher connection's publishes
        self._error: BusError | None = None
        self._sub_numbers = itertools.count(1)
        self._seq = 0  # messages published so far; the next one's sequence number
        self._outbox: dict[int, _Out] = {}  # seq -> message not yet safe, in publish order
        self._down: set[object] = set()  # _PUBLISHER and subscriptions whose connection is lost
        self._recovery: asyncio.Task[None] | None = None
        self._pub_watch: asyncio.Task[None] | None = None
        self._lost_qos0: Counter[str] = Counter()
        self._dup_keys: Counter[tuple[str, bytes]] = Counter()
        self._reconnects = 0
        self._duplicates = 0
        self._resent = 0

    @property
    def url(self) -> str:
        """``"mqtt://host:port"``, ``"mqtts://"`` with TLS, ``user@`` before the host with a
        user name (never the password); an IPv6 host in brackets."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        user = f"{quote(self._username, safe='')}@" if self._username else ""
        scheme = "mqtts" if self._tls_context is not None else "mqtt"
        return f"{scheme}://{user}{host}:{self._port}"

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
        """QoS of subscriptions, and of publishes when there is no ``qos_of``."""
        return self._qos

    @property
    def published(self) -> int:
        """Messages published so far; the i-th has ``BusMessage.seq`` i."""
        return self._seq

    @property
    def reconnecting(self) -> bool:
        """Whether a lost connection is being re-established now (within ``reconnect_s``)."""
        return bool(self._down) and self._recovery is not None and not self._recovery.done()

    def qos_for(self, topic: str) -> int:
        """The QoS a message on ``topic`` is published with."""
        return self._qos if self._qos_of is None else self._qos_of(topic)

    def stats(self) -> dict[str, Any]:
        """What the faults cost so far: ``reconnects`` (recoveries after a lost connection),
        ``resent`` (QoS 1/2 messages published again after one), ``duplicates`` (copies a
        subscription received twice and dropped), ``lost_qos0`` ({topic: QoS 0 messages
        lost}), ``dropped`` (messages subscriptions with a full queue dropped)."""
        return {"reconnects": self._reconnects, "resent": self._resent,
                "duplicates": self._duplicates, "lost_qos0": dict(self._lost_qos0),
                "dropped": sum(sub.dropped for sub in self._subs)}

    def _new_client(self, identifier: str, *, quickack: bool = False) -> aiomqtt.Client:
        """An aiomqtt client (not yet connected) whose reads are buffered
        (:func:`~v2x.bus._socket.buffer_reads`); ``quickack``: TCP ACK at once after every
        read (a subscriber's connection)."""
        client = aiomqtt.Client(
            self._host,
            self._port,
            identifier=identifier,
            username=self._username,
            password=self._password,
            logger=_PAHO_LOG,
            timeout=self._timeout_s,
            keepalive=self._keepalive_s,
            clean_session=True,
            max_inflight_messages=0,  # no bound in paho: Inflight bounds it (max_inflight)
            tls_context=self._tls_context,
            # paho writes one send() per packet; without TCP_NODELAY, Nagle's algorithm holds
            # small packets back until the peer's delayed ACK (about 40 ms on Linux)
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        client.pending_calls_threshold = math.inf  # type: ignore[assignment]
        if not _PAHO_LOG.isEnabledFor(logging.DEBUG):
            # paho formats a record for every packet it reads or writes (a tenth of the hot
            # path's CPU) and logs little else: its errors reach us as aiomqtt's exceptions
            client._client.disable_logger()
        buffer_reads(client, quickack=quickack)
        return client

    async def _connect(self, client: aiomqtt.Client, what: str) -> None:
        try:
            await client.__aenter__()
        except _FOREIGN_ERRORS as exc:
            # a refused CONNACK (wrong password) leaves paho's socket open: close it (paho
            # tells aiomqtt, which stops watching it)
            try:
                client._client._sock_close()
            except Exception:  # noqa: BLE001 - the refusal is the error that matters
                _LOG.debug("closing the refused connection failed", exc_info=True)
            raise BusError(f"cannot connect {what} to MQTT broker {self.url}: {exc}"
                           f"{_connect_hint(exc)}") from exc

    async def read_broker_version(self, *, timeout_s: float = 1.0) -> dict[str, str]:
        """Ask the broker its name and version, set :attr:`broker` and return it.

        Reads ``$SYS/broker/version``, which Mosquitto publishes retained (``"mosquitto
        version 2.0.11"`` -> ``{"name": "mosquitto", "version": "2.0.11"}``), on a connection
        of its own. A broker that publishes nothing there within ``timeout_s`` [s] after the
        SUBACK (or refuses the subscription) leaves ``"unknown"`` for both. Raises BusError
        when the broker cannot be reached.
        """
        client = self._new_client(f"{self._client_id}-v")
        await self._connect(client, "the broker-version reader")
        try:
            await client.subscribe(_SYS_VERSION, qos=0)
            async with asyncio.timeout(timeout_s):
                async for message in client.messages:
                    if isinstance(message.payload, bytes):
                        self.broker = _broker_of(message.payload.decode(errors="replace"))
                        break
        except TimeoutError:
            _LOG.info("MQTT broker %s published no %s", self.url, _SYS_VERSION)
        except aiomqtt.MqttError as exc:
            _LOG.info("cannot read %s from MQTT broker %s: %s", _SYS_VERSION, self.url, exc)
        finally:
            await _quiet_disconnect(client)
        return self.broker

    async def _disconnect(self, client: aiomqtt.Client, what: str) -> None:
        try:
            await client.__aexit__(None, None, None)
        except _FOREIGN_ERRORS as exc:
            raise BusError(
                f"error disconnecting {what} from MQTT broker {self.url}: {exc}"
            ) from exc

    # -- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._open:
            raise BusError(f"MQTT bus {self.url} is already open")
        check_event_loop()
        await self._connect_publisher()
        self._open = True
        return self

    async def _connect_publisher(self) -> None:
        client = self._new_client(self._client_id)
        await self._connect(client, f"publisher {self._client_id!r}")
        self._client = client
        self._inflight = Inflight(client, max_inflight=self._max_inflight,
                                  on_acked=self._acked)
        self._pub_watch = asyncio.get_running_loop().create_task(
            self._watch_publisher(client), name=f"v2x-bus-watch-{self._client_id}")

    async def _watch_publisher(self, client: aiomqtt.Client) -> None:
        exc = await _until_connection_lost(client)
        if exc is not None and self._client is client:
            self._client = None
            self._abandon_inflight()
            self._connection_lost(_PUBLISHER, exc)

    def _abandon_inflight(self) -> None:
        """The publisher's connection is gone: its unacknowledged QoS 1/2 messages stay in
        the outbox (sent again once it is back); ``publish`` calls waiting return."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.abandon()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        errors: list[BaseException] = []
        if self._client is not None and exc is None and not self._down:
            try:
                await self.flush()
            except BusError as err:
                errors.append(err)
        self._open = False
        for task in (self._recovery, self._pub_watch):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._recovery = self._pub_watch = None
        self._abandon_inflight()
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
        self._down.clear()
        self._outbox.clear()
        if errors and exc is None:
            raise errors[0]

    def _require_open(self) -> None:
        if not self._open:
            raise BusError(f"MQTT bus {self.url} is not open; use 'async with MqttBus(...) as bus'")
        self._expire_overdue()
        self._raise_error()

    # -- faults --------------------------------------------------------------------------------

    def _connection_lost(self, part: object, exc: BaseException) -> None:
        """A connection (the publisher's or a subscription's) broke: hold what is published
        and re-establish every broken connection in the background."""
        if not self._open:
            return
        if self._reconnect_s <= 0:
            self._give_up(exc)
            return
        _LOG.warning("lost the connection of %s to MQTT broker %s: %s; reconnecting",
                     "the publisher" if part is _PUBLISHER else "a subscription", self.url, exc)
        self._down.add(part)
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.get_running_loop().create_task(
                self._recover(), name=f"v2x-bus-recover-{self._client_id}")

    async def _recover(self) -> None:
        """Reconnect every broken connection with back-off, then publish the outbox again."""
        deadline = time.monotonic() + self._reconnect_s
        delay = _BACKOFF_FIRST_S
        last: BaseException | None = None
        while self._down:
            for part in sorted(self._down, key=lambda p: p is not _PUBLISHER):
                try:
                    if part is _PUBLISHER:
                        await self._connect_publisher()
                    else:
                        assert isinstance(part, _MqttSubscription)
                        await part._connect_and_subscribe()
                except BusError as err:
                    last = err
                    break
                self._down.discard(part)
            if not self._down:
                break
            if time.monotonic() + delay > deadline:
                self._give_up(last)
                return
            await asyncio.sleep(delay)
            delay = min(2 * delay, _BACKOFF_MAX_S)
        self._reconnects += 1
        self._resend()

    def _resend(self) -> None:
        """Every connection is back: the outbox's QoS 1/2 messages go out again in their
        order; its QoS 0 messages are lost."""
        inflight = self._inflight
        assert inflight is not None
        again: list[tuple[int, str, bytes, int]] = []
        for seq, out in list(self._outbox.items()):
            if out.qos == 0:
                self._lose(seq)
                continue
            got = sum(1 for sub in self._subs if sub.matches(out.topic)) - len(out.waiting)
            if got > 0:  # it reaches those subscriptions again: drop that copy there
                self._dup_keys[out.topic, out.payload] += got
            self._resent += 1
            again.append((seq, out.topic, out.payload, out.qos))
        inflight.send(again)
        self._note_refused(inflight)

    def _lose(self, seq: int) -> None:
        """A QoS 0 message that will not arrive: counted, and every subscription waiting for
        it stops waiting."""
        out = self._outbox.pop(seq)
        self._lost_qos0[out.topic] += 1
        for sub in out.waiting:
            sub._lose(out.topic, out.payload, seq)

    def _give_up(self, exc: BaseException | None) -> None:
        """The reconnect window ended without a broker: the bus and every subscription fail
        with one line naming the broker and how long the bus tried."""
        why = "" if exc is None else f" (last error: {exc.__cause__ or exc})"
        text = (f"MQTT broker {self.url} unreachable: lost the connection and could not "
                f"re-establish it within {self._reconnect_s:g} s{why}")
        if self._error is None:  # no __cause__: the text names it, and the CLI says one line
            self._error = BusError(text)
        for sub in self._subs:
            sub._fail(BusError(text))

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

    def _enter(self, topic: str, payload: bytes, qos: int) -> int:
        """Give the message its sequence number; stamp the publish wall time for each of this
        bus's subscriptions that will get it; keep it in the outbox until it is safe."""
        seq = self._seq
        self._seq += 1
        t = now_ns()
        waiting = [sub for sub in self._subs if sub.matches(topic)]
        for sub in waiting:
            sub._ledger_add(topic, payload, t, seq)
        if waiting or qos > 0:
            self._outbox[seq] = _Out(topic, payload, qos, waiting)
        return seq

    def _delivered(self, seq: int, sub: _MqttSubscription) -> None:
        out = self._outbox.get(seq)
        if out is not None:
            if sub in out.waiting:
                out.waiting.remove(sub)
            if not out.waiting:
                del self._outbox[seq]

    def _publish_error(self, topic: str, exc: BaseException) -> BusError:
        err = BusError(f"cannot publish to {topic!r} on MQTT broker {self.url}: {exc}")
        err.__cause__ = exc
        return err

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish at the topic's QoS; returns when the broker acknowledged it (QoS 1: PUBACK;
        QoS 0: once handed to the connection), or, while a lost connection is being
        re-established, once it is in the outbox.

        Raises ConfigError for an invalid topic, TypeError when ``payload`` is not bytes,
        BusError when the bus is not open, the broker fails or does not answer within
        ``timeout_s`` (or an earlier ``publish_many`` failed).
        """
        self._require_open()
        self._check(topic, payload)
        qos = self.qos_for(topic)
        seq = self._enter(topic, payload, qos)
        inflight = self._inflight
        if self._down or inflight is None:
            self._hold(seq, topic, qos)
            return
        inflight.send(((seq, topic, payload, qos),))
        if self._note_refused(inflight) or qos == 0:
            self._raise_error()
            return
        try:
            await asyncio.wait_for(inflight.waiter(seq), self._timeout_s)
        except TimeoutError:
            self._expire_overdue()
            self._raise_error()
            raise self._publish_error(topic, TimeoutError(
                f"no PUBACK within {self._timeout_s:g} s")) from None

    def _hold(self, seq: int, topic: str, qos: int) -> None:
        """Published while a connection is down: QoS 0 is lost, QoS 1/2 waits in the outbox."""
        if qos > 0:
            return
        if seq in self._outbox:
            self._lose(seq)
        else:  # no subscription of ours waits for it
            self._lost_qos0[topic] += 1

    def _acked(self, seq: int) -> None:
        out = self._outbox.get(seq)
        if out is not None and not out.waiting:
            del self._outbox[seq]

    async def publish_many(self, messages: Iterable[tuple[str, bytes]]) -> None:
        """Publish ``(topic, payload)`` pairs, pipelined: returns once all are written to the
        connection (or queued for it), in the order given, without waiting for their PUBACKs.

        Waiting for acknowledgements is what :meth:`flush` does; the simulation's barrier is a
        :class:`Tap` that waits until its subscription has them. Not waiting here is what makes
        a batch fast on Mosquitto: it answers a burst of PUBLISHes with one PUBACK and, Nagle's
        algorithm being on by default there, holds the rest until our delayed TCP ACK
        (about 40 ms) - waiting for all PUBACKs of every 16-message step measured 600 msg/s,
        pipelining 4,000-5,000 msg/s. At most ``max_inflight`` QoS 1/2 messages await their
        PUBACK; the others wait, in order, and leave as PUBACKs come back (while the caller
        awaits something: ``flush``, a barrier).
        A publish that fails at once (connection lost) raises BusError here; one that fails
        later (PUBACK timeout) makes the next ``publish``, ``publish_many`` or ``flush`` raise
        it (once; the first failure if several). Raises ConfigError / TypeError for a bad
        topic or payload before anything is sent.
        """
        self._require_open()
        items = list(messages)
        for topic, payload in items:
            self._check(topic, payload)
        entered = [(self._enter(topic, payload, q), topic, payload, q)
                   for topic, payload in items for q in (self.qos_for(topic),)]
        inflight = self._inflight
        if self._down or inflight is None:  # a connection is being re-established: hold
            for seq, topic, _, q in entered:
                self._hold(seq, topic, q)
            return
        inflight.send(entered)
        self._note_refused(inflight)
        self._raise_error()

    def _note_refused(self, inflight: Inflight) -> bool:
        """The messages paho refused at once: when the connection broke meanwhile, held as
        during any fault (the outbox keeps QoS 1/2); else the first one's error is raised by
        the next call. Returns whether there were any."""
        refused = inflight.take_failed()
        for seq, topic, qos, exc in refused:
            if self._broke(inflight.client):
                self._hold(seq, topic, qos)
            elif self._error is None:
                self._error = self._publish_error(topic, exc)
        return bool(refused)

    def _broke(self, client: aiomqtt.Client) -> bool:
        """Whether ``client``'s connection is lost (being re-established, if the bus may)."""
        # aiomqtt sets ``_disconnected`` when paho reports the connection closed
        return self._reconnect_s > 0 and (client is not self._client or bool(self._down)
                                          or client._disconnected.done())

    def _expire_overdue(self) -> None:
        """Messages whose PUBACK is more than ``timeout_s`` late: the first one's error is
        raised by the next call (unless the connection broke: the recovery sends them again)."""
        inflight = self._inflight
        if inflight is None:
            return
        oldest = inflight.oldest()
        if oldest is None or time.monotonic() - oldest[2] <= self._timeout_s:
            return
        gone = inflight.expire(self._timeout_s)
        if gone and self._error is None and not self._broke(inflight.client):
            self._error = self._publish_error(gone[0][1], TimeoutError(
                f"no PUBACK within {self._timeout_s:g} s"))

    async def flush(self, *, timeout_s: float | None = None) -> None:
        """Wait until every message from ``publish_many`` is acknowledged (QoS 1: PUBACK).

        ``timeout_s`` [s]: None waits at most the bus's ``timeout_s`` per message (from its
        publish). Raises BusError on timeout or when any publish failed.
        """
        inflight = self._inflight
        if inflight is not None and timeout_s is not None:
            if not await inflight.wait_idle(timeout_s):
                raise BusError(f"{len(inflight)} publishes to MQTT broker {self.url} not "
                               f"acknowledged within {timeout_s} s")
        while inflight is not None and inflight is self._inflight and self._error is None:
            oldest = inflight.oldest()
            if oldest is None:
                break
            due = oldest[2] + self._timeout_s - time.monotonic()
            if await inflight.wait_idle(max(due, 0.0) + 1e-3):
                break
            self._expire_overdue()
        self._raise_error()

    # -- subscribing ---------------------------------------------------------------------------

    def subscribe(self, pattern: str, *, max_queued: int | None = 10_000) -> Subscription:
        """A subscription to ``pattern`` on its own connection; ``async with`` it.

        ``max_queued``: messages it buffers unread at most; more are dropped and counted
        (``Subscription.dropped``); None: no bound. Raises ConfigError when ``pattern`` is
        not a valid MQTT filter; its ``__aenter__`` raises BusError when the bus is not open,
        the broker refuses (SUBACK 0x80) or does not answer within ``timeout_s``.
        """
        return _MqttSubscription(self, pattern, max_queued)


class _MqttSubscription(Subscription):
    def __init__(self, bus: MqttBus, pattern: str, max_queued: int | None) -> None:
        super().__init__(pattern, max_queued=max_queued)
        self._bus = bus
        self._ident = f"{bus.client_id}-s{next(bus._sub_numbers)}"
        self._client: aiomqtt.Client | None = None
        self._watch: asyncio.Task[None] | None = None
        # (topic, payload) -> (publish wall time [ns], sequence number) of each own publish
        # this subscription has not received yet, oldest first
        self._ledger: dict[tuple[str, bytes], deque[tuple[int, int]]] = {}
        self._burst: list[BusMessage] = []  # received in the current read burst

    def _ledger_add(self, topic: str, payload: bytes, t_ns: int, seq: int) -> None:
        key = (topic, payload)
        stamps = self._ledger.get(key)
        if stamps is None:
            self._ledger[key] = deque(((t_ns, seq),))
        else:
            stamps.append((t_ns, seq))

    def _lose(self, topic: str, payload: bytes, seq: int) -> None:
        """The bus declared an own message lost (QoS 0 during a fault): stop waiting for it."""
        stamps = self._ledger.get((topic, payload))
        if stamps:
            for item in stamps:
                if item[1] == seq:
                    stamps.remove(item)
                    break
            if not stamps:
                del self._ledger[topic, payload]
        self._count_lost()

    def _on_message(self, topic: str, payload: bytes) -> None:
        """A PUBLISH received (:class:`~v2x.bus._receive.Receiver`, inside paho's read, in the
        event loop thread): a BusMessage stamped with the arrival time, delivered with the
        rest of its read burst (:meth:`_on_burst`)."""
        t = now_ns()
        key = (topic, payload)
        stamps = self._ledger.get(key)
        bus = self._bus
        if stamps:
            published, seq = stamps.popleft()
            if not stamps:
                del self._ledger[key]
            bus._delivered(seq, self)
        else:
            if bus._dup_keys.get(key):  # a copy the recovery sent again, received before
                bus._dup_keys[key] -= 1
                bus._duplicates += 1
                return
            published, seq = UNKNOWN_WALL_NS, -1
        self._burst.append(BusMessage(topic, payload, published, t, seq))

    def _on_burst(self) -> None:
        """The end of a read burst: its messages go to the reader as one queue item."""
        burst, self._burst = self._burst, []
        self._deliver_many(burst)

    async def _start(self) -> None:
        bus = self._bus
        bus._require_open()
        await self._connect_and_subscribe()
        bus._subs.append(self)

    async def _connect_and_subscribe(self) -> None:
        """A fresh connection and SUBSCRIBE (at open, and after a lost connection)."""
        bus = self._bus
        client = bus._new_client(self._ident, quickack=True)
        # each PUBLISH received goes to ``_on_message`` directly, which turns it into a
        # BusMessage stamped with the arrival time (instead of aiomqtt's Message and queue)
        Receiver(client._client, on_message=self._on_message, on_burst=self._on_burst)
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

    async def _watch_connection(self, client: aiomqtt.Client) -> None:
        exc = await _until_connection_lost(client)
        if exc is not None and self._client is client:
            self._client = None
            self._bus._connection_lost(self, exc)

    async def _stop(self) -> None:
        bus = self._bus
        if self in bus._subs:
            bus._subs.remove(self)
        bus._down.discard(self)
        client, self._client = self._client, None
        self._ledger.clear()
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        if client is not None:
            await bus._disconnect(client, f"subscriber {self._ident!r}")


_SYS_VERSION = "$SYS/broker/version"
_VERSION_TEXT = re.compile(r"^\s*(?P<name>\S+)\s+(?:version\s+)?(?P<version>\S+)")


def _broker_of(text: str) -> dict[str, str]:
    """``"mosquitto version 2.0.11"`` -> ``{"name": "mosquitto", "version": "2.0.11"}``; a
    text of another form is the version of an "unknown" broker."""
    m = _VERSION_TEXT.match(text)
    if m is None:
        return {"name": "unknown", "version": text.strip() or "unknown"}
    return {"name": m["name"].lower(), "version": m["version"]}


def _connect_hint(exc: BaseException) -> str:
    """What to check when the broker refused the connection (CONNACK return code 4 or 5 of
    MQTT 3.1.1, reason codes 0x86 / 0x87 as paho reports them), else ""."""
    rc = getattr(exc, "rc", None)
    code = rc.value if isinstance(rc, ReasonCode) else rc
    if code in (4, 5, 0x86, 0x87):
        return " (check the user name and password of the bus URL, mqtt://user:password@host)"
    # aiomqtt raises MqttError(str(the ssl error)) from None: the text is what is left
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return (" (the broker's certificate is not trusted for this host: give its CA file, "
                "mqtts://host:port?ca=PATH)")
    return ""


def check_event_loop() -> None:
    """Raise BusError at once when the running event loop cannot watch sockets (no
    ``add_reader``: Windows' default ProactorEventLoop), which aiomqtt (paho) needs; without
    this check the connection would only time out."""
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    try:
        loop.add_reader(a, lambda: None)
        loop.remove_reader(a)
    except NotImplementedError:
        raise BusError(
            f"the event loop {type(loop).__name__} cannot watch sockets (no add_reader), "
            "which the MQTT client needs; on Windows run the bus under a selector event "
            "loop: asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy()) "
            "before asyncio.run (v2x run does this itself)") from None
    finally:
        a.close()
        b.close()


async def _quiet_disconnect(client: aiomqtt.Client) -> None:
    try:
        await client.__aexit__(None, None, None)
    except _FOREIGN_ERRORS:  # the error being raised is the one that matters
        _LOG.debug("disconnect after a failed subscribe failed too", exc_info=True)


async def _until_connection_lost(client: aiomqtt.Client) -> aiomqtt.MqttError | None:
    """Wait until ``client``'s connection drops and return aiomqtt's error (None: the
    iterator ended without one). aiomqtt's message iterator raises when the connection drops;
    its queue stays empty (messages go to paho's callback), so this only waits for that."""
    try:
        async for _ in client.messages:  # pragma: no cover - never yields
            pass
    except aiomqtt.MqttError as exc:
        return exc
    return None
