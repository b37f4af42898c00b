"""The socket under paho-mqtt: reads buffered, so one wake-up of the event loop takes every
packet that arrived; what paho queued written as one burst.

paho reads a packet in three ``recv`` calls (the type byte, the remaining length byte by byte,
the rest), and aiomqtt's reader callback runs paho's ``loop_read``, which takes one packet
when nothing of ours is in flight (a subscriber), then returns to the event loop: per message
received, an ``epoll`` round and three system calls. :class:`ReadBuffer` stands between paho
and the socket: one ``recv`` of up to 64 KiB fills it, paho's reads are served from it, and
its ``pending()`` (the method paho and aiomqtt ask a TLS socket for the bytes it holds
decrypted) makes aiomqtt's reader callback run ``loop_read`` again until the buffer is empty:
every packet that arrived, in one wake-up. The MQTT codec stays paho's.

:func:`buffer_reads` installs it on an aiomqtt client, for every connection that client
opens (paho's ``on_socket_open``). :func:`write_queued` writes the packets paho queued (a batch
of PUBLISHes, the PUBACKs of a read burst) at once, in one ``send``: paho would ``send`` each
packet on its own (a system call, and on TCP a segment, per message).

Private paho 2.2 API used here: ``_sock``, ``_out_packet`` (paho-mqtt is pinned to 2.2.x in
pyproject.toml).
"""

from __future__ import annotations

import socket
from typing import Any

import aiomqtt
from paho.mqtt.client import DISCONNECT as _DISCONNECT

__all__ = ["ReadBuffer", "buffer_reads", "write_queued"]

#: bytes one ``recv`` asks the kernel for (a loopback burst of small MQTT packets fits)
READ_SIZE = 65_536

#: Linux: acknowledge what was read at once. A subscriber that receives QoS 0 messages sends
#: nothing back, so its kernel delays the TCP ACK (up to 40 ms), and a broker with Nagle's
#: algorithm on (Mosquitto's default, ``set_tcp_nodelay false``) holds the next small packet
#: until that ACK: 40 ms per paced step. Setting TCP_QUICKACK sends the pending ACK now
#: (Linux ``tcp(7)``); the setting is not permanent, so it is set after every read.
_QUICKACK = hasattr(socket, "TCP_QUICKACK")


class ReadBuffer:
    """A connected socket (plain or TLS) whose ``recv`` is served from a buffer.

    Args:
        sock: the socket paho opened (non-blocking).
        quickack: set TCP_QUICKACK after every ``recv`` from the kernel (Linux; ignored
            elsewhere and on a socket that is not TCP).

    ``recv(n)`` returns at most ``n`` bytes, from the buffer when it holds any, else from one
    ``sock.recv(READ_SIZE)`` (whose errors, ``BlockingIOError`` and the TLS ``SSLWant*``
    errors included, pass through unchanged, as does its ``b""`` at end of stream).
    ``pending()`` is the bytes buffered (plus, under TLS, those the TLS layer holds).
    Everything else (``send``, ``fileno``, ``close``, ``setsockopt``, ...) is the socket's.
    """

    __slots__ = ("_sock", "_buf", "_pos", "_quickack", "_tls_pending")

    def __init__(self, sock: Any, *, quickack: bool = False) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0
        self._quickack = quickack and _QUICKACK
        self._tls_pending = getattr(sock, "pending", None)

    def recv(self, n: int) -> bytes:
        pos = self._pos
        buf = self._buf
        if pos >= len(buf):
            data = self._sock.recv(READ_SIZE)
            if self._quickack:
                _quickack(self._sock)
            if len(data) <= n:
                return data
            self._buf = buf = data
            pos = 0
        end = min(pos + n, len(buf))
        self._pos = end
        return buf[pos:end]

    def pending(self) -> int:
        held = len(self._buf) - self._pos
        if self._tls_pending is not None:
            held += self._tls_pending()
        return held

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def buffer_reads(client: aiomqtt.Client, *, quickack: bool = False) -> None:
    """Put a :class:`ReadBuffer` under ``client``'s paho client on every connection it
    opens, before aiomqtt starts watching the socket."""
    paho = client._client
    opened = paho.on_socket_open  # aiomqtt's: watch the socket's file descriptor

    def on_socket_open(paho_client: Any, userdata: Any, sock: Any) -> None:
        wrapped = ReadBuffer(sock, quickack=quickack)
        paho_client._sock = wrapped  # what paho's reads, writes and close go through
        if opened is not None:
            opened(paho_client, userdata, wrapped)

    paho.on_socket_open = on_socket_open


def _quickack(sock: Any) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    except (OSError, AttributeError):  # closed meanwhile, or not a TCP socket (WebSocket)
        pass


def write_queued(paho: Any) -> None:
    """Write the packets ``paho`` (a connected ``paho.mqtt.client.Client`` of this bus) queued,
    now, in one ``send``; what the kernel does not take now paho leaves to aiomqtt's writer
    callback. Errors close the connection (paho), and aiomqtt reports the loss.

    The queued packets (paho 2.2's private ``_out_packet``, already encoded by paho) are
    joined into one entry that keeps the last packet's type, identifier and
    ``MQTTMessageInfo``: paho's ``_packet_write`` then does its after-write work (a DISCONNECT
    closes; a QoS 0 PUBLISH calls ``on_publish`` and marks its info published) for the last
    packet only. For this bus's clients that work is nothing for the others: their QoS 0
    PUBLISHes share one info nobody waits on, and ``on_publish`` ignores packet identifier 0
    (:class:`~v2x.bus._inflight.Inflight`). A queue holding a DISCONNECT is written as paho
    queued it.
    """
    out = paho._out_packet
    if len(out) > 1 and not any(p["command"] & 0xF0 == _DISCONNECT for p in out):
        last = out[-1]
        data = b"".join(p["packet"][p["pos"]:] if p["pos"] else p["packet"] for p in out)
        out.clear()
        out.append({**last, "pos": 0, "to_process": len(data), "packet": data})
    if out:
        paho.loop_write()
