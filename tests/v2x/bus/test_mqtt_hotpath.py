"""The MQTT bus's hot path: buffered reads under paho, batches bounded by ``max_inflight``,
PUBACKs matched by packet identifier, a read burst delivered and acknowledged at once,
payloads larger than one read (Mosquitto on
127.0.0.1:1883, the embedded broker, or paho on a socket pair)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable

import aiomqtt
import paho.mqtt.client as mqtt
import pytest

from v2x.bus import EmbeddedBroker, MqttBus
from v2x.bus._inflight import Inflight
from v2x.bus._receive import Receiver
from v2x.bus._socket import READ_SIZE, ReadBuffer, write_queued
from v2x.errors import BusError

MOSQUITTO = ("127.0.0.1", 1883)


def test_read_buffer_serves_paho_reads_from_one_recv() -> None:
    """paho reads a PUBLISH as 1 byte (type), 1 byte (remaining length), the rest: all three
    come from one kernel read, and ``pending()`` says what is left for aiomqtt's loop."""
    a, b = socket.socketpair()
    with a, b:
        b.setblocking(False)
        buf = ReadBuffer(b, quickack=True)  # not TCP: the quick ACK is skipped, no error
        # two QoS 0 PUBLISH packets: 0x30, remaining length 5 = topic length (2) + "a/b"
        a.sendall(b"\x30\x05\x00\x03a/b" + b"\x30\x06\x00\x03a/bX")
        assert buf.pending() == 0
        assert buf.recv(1) == b"\x30"
        assert buf.pending() == 7 + 8 - 1
        assert buf.recv(1) == b"\x05"
        assert buf.recv(5) == b"\x00\x03a/b"
        assert buf.pending() == 8
        assert buf.recv(100) == b"\x30\x06\x00\x03a/bX"  # at most what is buffered
        assert buf.pending() == 0
        with pytest.raises(BlockingIOError):  # nothing more: as the socket itself
            buf.recv(1)
        assert buf.fileno() == b.fileno()  # everything else is the socket's
        a.shutdown(socket.SHUT_WR)
        assert buf.recv(1) == b""  # end of stream, as paho expects it


@pytest.mark.broker
def test_a_burst_beyond_max_inflight_waits_and_arrives_in_order() -> None:
    """50 QoS 1 messages with ``max_inflight=3``: 3 await their PUBACK, 47 wait in order;
    ``flush`` returns once all 50 are acknowledged and the subscription has them in order."""
    topic = f"t{uuid.uuid4().hex[:10]}/x"

    async def main() -> list[bytes]:
        async with MqttBus(*MOSQUITTO, qos=1, max_inflight=3, timeout_s=5.0) as bus, \
                bus.subscribe(topic) as sub:
            await bus.publish_many([(topic, b"%d" % i) for i in range(50)])
            inflight = bus._inflight
            assert inflight is not None
            assert (len(inflight), len(inflight._acks)) == (50, 3)
            await bus.flush()
            assert len(inflight) == 0
            return [(await sub.get(timeout_s=5.0)).payload for _ in range(50)]

    assert asyncio.run(main()) == [b"%d" % i for i in range(50)]


@pytest.mark.broker
def test_payloads_larger_than_one_read_arrive_whole_between_small_ones() -> None:
    """A 3.5-read payload (paho reads it across several buffer fills) between small ones:
    every payload arrives byte for byte, in order, with its publish time known."""
    topic = f"t{uuid.uuid4().hex[:10]}/big"
    big = bytes(range(256)) * (READ_SIZE * 7 // 2 // 256)
    sent = [b"first", big, b"last", big[::-1]]

    async def main() -> list[bytes]:
        async with MqttBus(*MOSQUITTO, qos=0, timeout_s=5.0) as bus, \
                bus.subscribe(topic) as sub:
            await bus.publish_many([(topic, p) for p in sent])
            got = [await sub.get(timeout_s=5.0) for _ in sent]
            assert all(m.own for m in got)
            return [m.payload for m in got]

    assert asyncio.run(main()) == sent


@pytest.mark.broker
def test_an_overdue_puback_lets_what_waited_behind_it_go(monkeypatch: pytest.MonkeyPatch,
                                                         drop_pubacks: Callable[[], None]) -> None:
    """``max_inflight=1`` and PUBACKs dropped: ``x/0`` is in flight, ``x/1`` and ``x/2`` wait.
    Once x/0's PUBACK is ``timeout_s`` (0.2 s) overdue, ``flush`` raises naming it and the
    other two go; with PUBACKs back, the next ``flush`` returns and all three arrived in
    order."""

    async def main() -> list[bytes]:
        async with (EmbeddedBroker() as broker,
                    MqttBus(broker.host, broker.port, max_inflight=1, timeout_s=0.2) as bus,
                    bus.subscribe("x/#") as sub):
            drop_pubacks()
            await bus.publish_many([(f"x/{i}", b"%d" % i) for i in range(3)])
            with pytest.raises(BusError, match="'x/0'"):
                await bus.flush()
            monkeypatch.undo()
            await bus.flush()
            return [(await sub.get(timeout_s=5.0)).payload for _ in range(3)]

    assert asyncio.run(main()) == [b"0", b"1", b"2"]


def _paho_on(sock: socket.socket, client: mqtt.Client) -> mqtt.Client:
    """``client`` as if connected (MQTT 3.1.1) over ``sock``, reads buffered as the bus's."""
    sock.setblocking(False)
    client._sock = ReadBuffer(sock)
    client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED
    return client


def test_pubacks_in_any_order_acknowledge_their_own_message() -> None:
    """``max_inflight=3``, 4 QoS 1 messages (seq 10..13) and a QoS 0 one: the first 3 go out
    with packet identifiers 1, 2, 3 (paho's, counting from 1), the 4th and the QoS 0 one
    wait behind them in order. The bytes written are the PUBLISH packets paho's own
    ``publish`` writes. PUBACKs for 2, 99 (no such message: ignored) and 1 acknowledge
    seq 11 then 10; the room they make sends seq 13 as identifier 4, then the QoS 0 one."""

    async def main() -> None:
        a, b = socket.socketpair()
        with a, b:
            client = aiomqtt.Client("127.0.0.1", max_inflight_messages=0)
            _paho_on(b, client._client)
            acked: list[int] = []
            inflight = Inflight(client, max_inflight=3, on_acked=acked.append)
            msgs = [(10 + i, f"v2x/t/{i}", b"m%d" % i, 1) for i in range(4)]
            inflight.send([*msgs, (14, "v2x/t/q0", b"zero", 0)])
            ref = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)  # what paho writes itself
            c, d = socket.socketpair()
            with c, d:
                _paho_on(c, ref)
                for _, topic, payload, qos in msgs[:3]:
                    ref.publish(topic, payload, qos)
                ref.loop_write()
                assert a.recv(4096) == d.recv(4096)
            assert (len(inflight), len(inflight._acks)) == (5, 3)
            a.sendall(b"\x40\x02\x00\x02" + b"\x40\x02\x00\x63" + b"\x40\x02\x00\x01")
            client._client.loop_read()
            while client._client._sock.pending():  # as aiomqtt's reader callback does
                client._client.loop_read()
            assert acked == [11, 10]
            await asyncio.sleep(0)  # the refill runs outside paho's callback
            # PUBLISH QoS 1 (0x32), remaining length 2 + 7 (topic) + 2 (identifier 4) + 2;
            # then QoS 0 (0x30), 2 + 8 (topic) + 4, no identifier
            assert a.recv(4096) == (b"\x32\x0d\x00\x07v2x/t/3\x00\x04m3"
                                    + b"\x30\x0e\x00\x08v2x/t/q0zero")
            assert sorted(inflight._acks) == [3, 4]
            assert not client._client._out_messages  # paho keeps nothing per message

    asyncio.run(main())



def test_a_read_burst_is_handed_over_then_acknowledged_in_one_write() -> None:
    """Three QoS 1 PUBLISHes (packet identifiers 1, 2, 3) and a QoS 0 one, as paho encodes
    them, in one read: ``on_message`` gets all four in order inside the read, nothing is
    written yet; once the event loop turns, ``on_burst`` is called once and the three
    PUBACKs (0x40, remaining length 2, the identifier) arrive together."""

    async def main() -> None:
        a, b = socket.socketpair()
        c, d = socket.socketpair()
        with a, b, c, d:
            sender = _paho_on(c, mqtt.Client(mqtt.CallbackAPIVersion.VERSION2))
            for i, qos in enumerate((1, 1, 1, 0)):
                sender.publish(f"v2x/t/{i}", b"m%d" % i, qos)
            sender.loop_write()
            a.sendall(d.recv(4096))
            paho = _paho_on(b, aiomqtt.Client("127.0.0.1")._client)  # writes left to asyncio
            got: list[tuple[str, bytes]] = []
            bursts: list[int] = []
            Receiver(paho, on_message=lambda t, p: got.append((t, p)),
                     on_burst=lambda: bursts.append(len(got)))
            paho.loop_read()
            while paho._sock.pending():  # as aiomqtt's reader callback does
                paho.loop_read()
            assert got == [(f"v2x/t/{i}", b"m%d" % i) for i in range(4)]
            assert bursts == [] and paho.want_write()
            a.setblocking(False)
            with pytest.raises(BlockingIOError):
                a.recv(4096)
            await asyncio.sleep(0)
            assert bursts == [4]
            assert a.recv(4096) == b"\x40\x02\x00\x01\x40\x02\x00\x02\x40\x02\x00\x03"

    asyncio.run(main())


class _CountingSocket:
    """A socket that counts its ``send`` calls."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.sends = sock, 0

    def send(self, data: bytes) -> int:
        self.sends += 1
        return self.sock.send(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.sock, name)


def test_queued_packets_go_out_in_one_send_unless_a_disconnect_is_among_them() -> None:
    """Two PUBACKs (identifiers 1, 2) and a QoS 0 PUBLISH queued by paho: one ``send`` of the
    three packets back to back, paho's queue empty after. With a DISCONNECT queued (paho
    closes the socket after writing it), paho's own writes: one ``send`` per packet."""

    async def main() -> None:
        for disconnect, sends in ((False, 1), (True, 3)):
            a, b = socket.socketpair()
            with a, b:
                counting = _CountingSocket(b)
                paho = aiomqtt.Client("127.0.0.1")._client
                _paho_on(counting, paho)  # type: ignore[arg-type]
                paho._registered_write = True  # queue only, as the bus does in a burst
                paho._send_puback(1)
                paho._send_puback(2)
                if disconnect:
                    paho._send_disconnect()
                else:
                    paho._send_publish(0, b"v2x/t", b"x", 0, info=mqtt.MQTTMessageInfo(0))
                paho._registered_write = False
                write_queued(paho)
                assert counting.sends == sends
                assert not paho.want_write()
                # PUBACK: 0x40, remaining length 2, identifier; QoS 0 PUBLISH: 0x30,
                # 2 + 5 (topic) + 1 (payload); DISCONNECT: 0xE0, 0
                last = b"\xe0\x00" if disconnect else b"\x30\x08\x00\x05v2x/tx"
                assert a.recv(4096) == b"\x40\x02\x00\x01\x40\x02\x00\x02" + last

    asyncio.run(main())

@pytest.mark.broker
def test_qos2_goes_through_paho_and_arrives_once_in_order() -> None:
    """At QoS 2 (PUBREC / PUBREL / PUBCOMP, paho's own exchange) 20 messages are
    acknowledged (``flush`` returns, nothing awaits) and arrive once each, in order."""

    async def main() -> list[bytes]:
        async with EmbeddedBroker() as broker, \
                MqttBus(broker.host, broker.port, qos=2, timeout_s=5.0) as bus, \
                bus.subscribe("q2/#") as sub:
            await bus.publish_many([("q2/x", b"%d" % i) for i in range(20)])
            await bus.flush()
            assert bus._inflight is not None and len(bus._inflight) == 0
            got = [(await sub.get(timeout_s=5.0)).payload for _ in range(20)]
            await asyncio.sleep(0.2)  # a duplicate would be here by now
            assert not sub.take_ready()
            return got

    assert asyncio.run(main()) == [b"%d" % i for i in range(20)]
