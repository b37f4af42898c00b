"""The PUBLISH packets a subscription's connection receives: decoded by paho, handed over
message by message, delivered and acknowledged once per read burst.

paho reads a packet (its framing: type byte, remaining length, the rest) and hands a PUBLISH
to ``_handle_publish``, which decodes it (``paho.mqtt._packet.decode_publish``), builds an
``MQTTMessage``, logs it, looks the topic up in its per-filter callbacks under two locks,
calls ``on_message`` and, at QoS 1, queues the PUBACK and asks aiomqtt to watch the socket
for writing (an event loop round, then one ``send`` per PUBACK). :class:`Receiver` replaces
``_handle_publish`` on its client for MQTT 3.1.1 at QoS 0 and 1: the same decode (paho's),
the topic and payload straight to ``on_message``, the PUBACK queued by paho's
``_send_puback``; after the burst of packets one wake-up of the event loop read
(``loop.call_soon``: after aiomqtt's reader callback returns), ``on_burst`` is called once
and the PUBACKs are written at once (:func:`~v2x.bus._socket.write_queued`). A QoS 2 PUBLISH
(paho's PUBREC / PUBREL exchange), MQTT 5 or a topic that is not UTF-8 goes to paho's own
handler, whose ``on_message`` comes here too.

Private paho 2.2 API used here: ``_handle_publish``, ``_in_packet``, ``_protocol``,
``_send_puback``, ``_registered_write``, ``paho.mqtt._packet.decode_publish`` (paho-mqtt is
pinned to 2.2.x in pyproject.toml for them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho_mqtt
from paho.mqtt._packet import decode_publish

from ._socket import write_queued

__all__ = ["Receiver"]


class Receiver:
    """The PUBLISH packets received on one connection.

    Args:
        paho: the connection's paho client (``aiomqtt.Client._client``), before it connects;
            its ``on_message`` and ``_handle_publish`` are this object's from now on.
        on_message: called with the topic and payload of each PUBLISH received, in order,
            inside paho's read.
        on_burst: called (no arguments) once after the packets of one read burst, before
            their PUBACKs are written; a burst with a message always gets this call.
    """

    def __init__(self, paho: paho_mqtt.Client, *, on_message: Callable[[str, bytes], None],
                 on_burst: Callable[[], None]) -> None:
        self._paho = paho
        self._on_message = on_message
        self._on_burst = on_burst
        self._burst_due = False
        self._holds_write = False  # we set paho's _registered_write for this burst's PUBACKs
        paho.on_message = self._on_paho_message
        self._paho_handle = paho._handle_publish
        if paho._protocol != paho_mqtt.MQTTv5:
            paho._handle_publish = self._on_publish  # type: ignore[method-assign]

    def _on_publish(self) -> paho_mqtt.MQTTErrorCode:
        """paho's ``_handle_publish`` on this client (MQTT 3.1.1)."""
        paho = self._paho
        packet = paho._in_packet
        result = decode_publish(packet["command"], packet["packet"], paho._protocol)
        if result.qos == 2:
            return self._paho_handle()
        try:
            topic = result.topic.decode()
        except UnicodeDecodeError:
            return self._paho_handle()  # paho says so in its own way
        self._take(topic, result.payload)  # type: ignore[arg-type]  # bytes (struct.unpack)
        if result.qos == 0:
            return paho_mqtt.MQTT_ERR_SUCCESS
        if not paho._registered_write:  # queue the PUBACKs without a writer round per burst
            paho._registered_write = self._holds_write = True
        return paho._send_puback(result.mid)

    def _on_paho_message(self, _client: Any, _userdata: Any,
                         message: paho_mqtt.MQTTMessage) -> None:
        """paho's ``on_message`` (a PUBLISH its own handler took)."""
        self._take(message.topic, message.payload)  # type: ignore[arg-type]  # bytes

    def _take(self, topic: str, payload: bytes) -> None:
        self._on_message(topic, payload)
        if not self._burst_due:
            self._burst_due = True
            asyncio.get_running_loop().call_soon(self._end_burst)

    def _end_burst(self) -> None:
        self._burst_due = False
        self._on_burst()
        if self._holds_write:
            self._holds_write = False
            self._paho._registered_write = False
            write_queued(self._paho)
