"""The publishes of one MQTT connection: handed to paho in order, written at once, the QoS 1/2
ones kept until their PUBACK (PUBCOMP at QoS 2).

aiomqtt's ``Client.publish`` is one coroutine per message, with an ``asyncio.Event``, a
``wait_for`` (a task of its own) and a scan of every pending call; run as a task per message
that is most of a publisher's CPU time. :class:`Inflight` hands a whole batch to paho's
encoder, writes it to the socket in one go, and matches the PUBACKs to the messages by their
packet identifier. At most ``max_inflight`` wait for their PUBACK; more wait here, in order, and
go out as acknowledgements come back (paho's own bound rescans every queued message per PUBACK).

The MQTT codec is paho's; what paho keeps per message around it is skipped where this class
keeps the same itself:

* QoS 0 and 1 PUBLISH packets are encoded and queued by paho's ``_send_publish`` (what its
  ``publish`` calls) with a packet identifier from paho's ``_mid_generate``; paho's
  ``publish`` would also build an ``MQTTMessage`` with an ``MQTTMessageInfo`` (a
  ``threading.Condition``) and keep it in ``_out_messages`` under a lock, to send again after
  a reconnect of the same client, which never happens here (a lost connection gets a fresh
  client; :class:`~v2x.bus.MqttBus` sends its outbox again) and which ``self._acks`` tracks
  anyway. QoS 2 goes through ``publish``: its PUBREC / PUBREL exchange is paho's.
* A PUBACK is read by paho (its framing: type byte, remaining length, the rest) and handed to
  ``_handle_pubackcomp``, which this class replaces on its client (:meth:`Inflight._on_puback`)
  for MQTT 3.1.1: there a PUBACK is its 2-byte packet identifier and nothing else (MQTT 3.1.1
  section 3.4.2), which paho decodes into an MQTT 5 ``ReasonCode`` and ``Properties`` (whose
  constructor builds two tables: 30 of the 55 us paho spends per PUBACK) before calling
  ``on_publish`` under two locks. A PUBCOMP (QoS 2), an MQTT 5 PUBACK or one of another length
  goes to paho's own handler.

Private paho 2.2 API used here: ``_send_publish``, ``_mid_generate``, ``_handle_pubackcomp``,
``_in_packet``, ``_registered_write``, ``_protocol`` (paho-mqtt is pinned to 2.2.x in
pyproject.toml for them).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import aiomqtt
import paho.mqtt.client as paho_mqtt

from ._socket import write_queued

__all__ = ["Inflight"]


class Inflight:
    """Publishes on one connection, and the QoS 1/2 ones not yet acknowledged.

    Args:
        client: the connected aiomqtt client (its paho client publishes; paho's own in-flight
            bound must be off, ``max_inflight_messages=0``).
        max_inflight: most messages awaiting their PUBACK at once (>= 1).
        on_acked: called with a message's ``seq`` when its PUBACK arrives.

    A message is ``(seq, topic, payload, qos)``; ``seq`` is the caller's sequence number.
    """

    def __init__(self, client: aiomqtt.Client, *, max_inflight: int,
                 on_acked: Callable[[int], None]) -> None:
        self._client = client
        self._paho: paho_mqtt.Client = client._client
        self._max = max_inflight
        self._on_acked = on_acked
        self._acks: dict[int, tuple[int, str, float]] = {}  # mid -> (seq, topic, monotonic s)
        self._backlog: deque[tuple[int, str, bytes, int]] = deque()
        self._idle = asyncio.Event()
        self._idle.set()
        self._refill_due = False
        self._waiters: dict[int, asyncio.Future[None]] = {}  # seq -> a publish() waiting
        self._failed: list[tuple[int, str, int, BaseException]] = []
        # paho's on_publish (aiomqtt's, for its own publish, unused here) is set only while a
        # PUBCOMP is awaited: for every QoS 0 message written paho builds a ReasonCode and a
        # Properties object to call it with, a third of a QoS 0 publisher's CPU time
        self._paho.on_publish = None
        # paho's _packet_write marks a QoS 0 PUBLISH written on its MQTTMessageInfo (which
        # nobody waits on here): one for all of them
        self._written = paho_mqtt.MQTTMessageInfo(0)
        self._paho_handle_ack = self._paho._handle_pubackcomp
        if self._paho._protocol != paho_mqtt.MQTTv5:
            self._paho._handle_pubackcomp = self._on_puback  # type: ignore[method-assign]

    def __len__(self) -> int:
        """Messages not yet acknowledged (awaiting their PUBACK or waiting to be sent)."""
        return len(self._acks) + len(self._backlog)

    @property
    def client(self) -> aiomqtt.Client:
        """The aiomqtt client whose connection this is."""
        return self._client

    def send(self, messages: Iterable[tuple[int, str, bytes, int]]) -> None:
        """Hand ``messages`` to paho in order and write them to the socket now (what the
        kernel does not take now, aiomqtt's writer callback writes when it can).

        A message paho refuses at once (its ``rc``: the connection is gone, its queue is full)
        is in :meth:`take_failed`, with an ``aiomqtt.MqttCodeError``.
        """
        backlog = self._backlog
        now: list[tuple[int, str, bytes, int]] = []
        room = self._max - len(self._acks)
        for item in messages:  # behind a backlog everything waits, to keep the order
            if backlog or (item[3] > 0 and room <= 0):
                backlog.append(item)
            else:
                now.append(item)
                room -= item[3] > 0
        self._publish(now)

    def _publish(self, items: list[tuple[int, str, bytes, int]]) -> None:
        """paho encodes and queues each, then the whole batch is written."""
        paho = self._paho
        acks = self._acks
        # queueing a packet, paho asks aiomqtt to watch the socket for writability (a
        # call_soon_threadsafe, then an event loop round per batch); the batch is written
        # right after instead, and paho asks only for what is left then
        hold = not paho._registered_write
        if hold:
            paho._registered_write = True
        t = time.monotonic()
        try:
            for seq, topic, payload, qos in items:
                if qos == 2:
                    rc, mid = self._publish_qos2(topic, payload)
                elif qos == 1:
                    mid = paho._mid_generate()
                    while mid in acks:  # still unacknowledged from 65,535 identifiers ago
                        mid = paho._mid_generate()
                    rc = paho._send_publish(mid, topic.encode(), payload, 1)
                else:  # a QoS 0 PUBLISH has no packet identifier
                    rc = paho._send_publish(0, topic.encode(), payload, 0, info=self._written)
                    mid = 0
                if rc != paho_mqtt.MQTT_ERR_SUCCESS:
                    self._failed.append((seq, topic, qos, aiomqtt.MqttCodeError(
                        rc, "Could not publish message")))
                elif qos > 0:
                    acks[mid] = (seq, topic, t)
        finally:
            if hold:
                paho._registered_write = False
        if acks:
            self._idle.clear()
        write_queued(paho)

    def _publish_qos2(self, topic: str, payload: bytes) -> tuple[int, int]:
        """paho's ``publish`` (it keeps the message for PUBREC / PUBREL); ``(rc, mid)``."""
        paho = self._paho
        if paho.on_publish is None:
            paho.on_publish = self._on_publish
        info = paho.publish(topic, payload, 2)
        return info.rc, info.mid

    def _on_puback(self, cmd: str) -> paho_mqtt.MQTTErrorCode:
        """paho's ``_handle_pubackcomp`` on this client (MQTT 3.1.1): a PUBACK's packet
        identifier is its 2 bytes (MQTT 3.1.1 section 3.4.2); the rest goes to paho's own."""
        packet = self._paho._in_packet["packet"]
        if cmd != "PUBACK" or len(packet) != 2:
            return self._paho_handle_ack(cmd)  # type: ignore[arg-type]
        self._on_publish(None, None, (packet[0] << 8) | packet[1])
        return paho_mqtt.MQTT_ERR_SUCCESS

    def _on_publish(self, _client: Any, _userdata: Any, mid: int, *_: Any) -> None:
        """A PUBACK (:meth:`_on_puback`), or paho's on_publish: a PUBCOMP (or, while set, a
        QoS 0 message written, packet identifier 0: none awaits it)."""
        item = self._acks.pop(mid, None)
        if item is not None:
            self._acked(item[0])

    def _acked(self, seq: int) -> None:
        self._on_acked(seq)
        if self._waiters:
            waiter = self._waiters.pop(seq, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if self._backlog:
            self._refill_soon()
        elif not self._acks:
            self._idle.set()
            self._paho.on_publish = None

    def _refill_soon(self) -> None:
        if not self._refill_due:
            self._refill_due = True
            asyncio.get_running_loop().call_soon(self._refill)

    def _refill(self) -> None:
        """Send from the backlog as far as acknowledgements made room (outside paho's
        callback, which holds its locks)."""
        self._refill_due = False
        backlog = self._backlog
        now: list[tuple[int, str, bytes, int]] = []
        room = self._max - len(self._acks)
        while backlog and (room > 0 or backlog[0][3] == 0):
            item = backlog.popleft()
            now.append(item)
            room -= item[3] > 0
        self._publish(now)
        if not self._acks and not backlog:
            self._idle.set()

    def waiter(self, seq: int) -> asyncio.Future[None]:
        """A future done when the message ``seq`` (sent, QoS > 0) is acknowledged."""
        fut = asyncio.get_running_loop().create_future()
        self._waiters[seq] = fut
        return fut

    def take_failed(self) -> list[tuple[int, str, int, BaseException]]:
        """``(seq, topic, qos, error)`` of each message paho refused since the last call."""
        failed, self._failed = self._failed, []
        return failed

    def oldest(self) -> tuple[int, str, float] | None:
        """``(seq, topic, monotonic send time [s])`` of the longest-waiting unacknowledged
        message (a backlogged one counts from now), or None."""
        for item in self._acks.values():
            return item
        if self._backlog:
            seq, topic, _, _ = self._backlog[0]
            return seq, topic, time.monotonic()
        return None

    def expire(self, older_than_s: float) -> list[tuple[int, str]]:
        """Stop waiting for the messages sent more than ``older_than_s`` [s] ago (their PUBACK
        is overdue); returns their ``(seq, topic)``, oldest first."""
        limit = time.monotonic() - older_than_s
        gone = [(mid, seq, topic) for mid, (seq, topic, t) in self._acks.items() if t < limit]
        for mid, _, _ in gone:
            del self._acks[mid]
        if self._backlog:
            self._refill_soon()  # what waited behind them may go now
        elif not self._acks:
            self._idle.set()
        return [(seq, topic) for _, seq, topic in gone]

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every message is acknowledged, at most ``timeout_s`` [s]; whether they
        are."""
        if self._idle.is_set():
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def abandon(self) -> None:
        """The connection is gone: stop waiting for anything (publish() waiters return)."""
        self._acks.clear()
        self._backlog.clear()
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()
        self._idle.set()

