"""V2X messages per second carried end to end through Mosquitto: our bus against the C clients.

Both sides carry the same messages through the same Mosquitto (started here on a free
127.0.0.1 port, ``max_queued_messages 0`` so the broker drops nothing; ``max_inflight_messages``
at its default, 20 unacknowledged QoS 1 messages to a subscriber), publisher and subscriber in
processes of their own, at the same QoS (``--qos``, for publish and subscribe; ``--qos 0,1``
measures QoS 0, then QoS 1, and prints both ratios: the product publishes OBU BSMs at QoS 0,
``v2x/bus/_topics.py``):

* payloads: ``--obus`` real UPER BSM MessageFrames (``encode_bsm_batch`` of a seeded batch of
  OBUs, 39 bytes each), OBU ``i``'s on its V2N uplink topic ``v2x/bench/obu/{i}/up/bsm``
  (``v2x.bus.obu_up_bsm``), each sent ``--rounds`` times: N = obus x rounds messages, the
  same N messages of the same sizes on the same topics for both sides;
* ours: a publisher process (``MqttBus.publish_many`` of one round, every OBU once, as a
  simulation step publishes; ``flush`` (wait for the PUBACKs) after every ~256 messages, so
  at most ~256 await their PUBACK) and a subscriber process (``MqttBus.subscribe
  ("v2x/bench/#")``, counting what it takes per wake-up, ``Subscription.take_ready``);
* theirs: one ``mosquitto_pub -f frame_i --repeat rounds`` per OBU, all started together
  (mosquitto_pub sends one payload per process; its ``-l`` line mode cannot carry binary
  frames, which hold 0x00 and 0x0A bytes, and a file per message would be a process per
  message), and one ``mosquitto_sub -F "%t %U"`` writing topic and receive time (ns) of each
  message to a file. ``--repeat`` in mosquitto_pub is stop-and-wait (the next publish after
  the previous one's PUBACK at QoS 1: 4 OBUs = 4 in flight, where ours has up to ~256) and
  spins its loop meanwhile (``mosquitto_loop`` with timeout 0: its CPU time is not its
  cost); many OBUs mean many spinning processes on few cores, a weaker baseline (on 2 cores:
  32 OBUs gave 4,200 msg/s at QoS 1, 4 OBUs 21,000), so the default is 4.

The rate of each side is (N - 1) / (last delivery - first delivery), both delivery times
taken by the receiving process on the same wall clock: process start-up and connection set-up
are left out of both. The ratio ours / mosquitto's is the issue's target (>= 0.5). Rates
depend on what else runs on the machine (3 busy processes share the cores), so each run also
prints CPU time per message: ours as each process measures its own (first publish to last
PUBACK, first to last delivery), theirs from the ended processes' rusage. Last,
``paho_floor`` times paho-mqtt alone in this process, without broker or event loop, on the
same messages (``publish``: encode, queue, write; ``receive``: read and decode a PUBLISH,
call ``on_message``, at QoS 1 write its PUBACK; ``puback``: read a PUBACK): paho's whole
per-message path. Our bus uses paho's codec and framing but skips paho's bookkeeping around
them (``MQTTMessage`` objects, locks, MQTT 5 reason codes: ``v2x/bus/_inflight.py``,
``_receive.py``), so its figures can be below these.

Usage: ``python benchmarks/bench_bus.py [--obus 4] [--rounds 2400] [--qos 1|0|0,1] [--repeat 3]``
(internally also ``--role pub|sub``, the processes of our side).
"""


from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

ZONE = "bench"
FILTER = f"v2x/{ZONE}/#"
PROBE = "v2x/probe"
WINDOW = 256  # messages our publisher sends before it waits for their PUBACKs


def frames(n: int) -> list[bytes]:
    """``n`` real BSM MessageFrames (UPER) of a seeded batch of OBUs."""
    from v2x.messages._bsm import BsmBatch
    from v2x.messages._uper import encode_bsm_batch

    rng = np.random.default_rng(2026)
    batch = BsmBatch(
        sender=np.arange(1, n + 1), msg_cnt=rng.integers(0, 128, n),
        sec_mark=np.full(n, 12_300), lat=390_558_300 + rng.integers(-20_000, 20_000, n),
        lon=1_170_550_000 + rng.integers(-20_000, 20_000, n), speed=rng.integers(0, 800, n),
        heading=rng.integers(0, 28800, n), accel_long=rng.integers(-300, 300, n),
        width=np.full(n, 180), length=np.full(n, 460), height=np.full(n, 30),
        classification=np.full(n, 10), brake=rng.random(n) < 0.2,
        events=np.zeros(n, np.int64))
    return encode_bsm_batch(batch)


def topics(n: int) -> list[str]:
    from v2x.bus import obu_up_bsm

    return [obu_up_bsm(ZONE, i) for i in range(1, n + 1)]


# -- our side: the two processes ---------------------------------------------------------------

async def publisher(port: int, n_obus: int, rounds: int, qos: int) -> None:
    from v2x.bus import MqttBus

    batch = list(zip(topics(n_obus), frames(n_obus), strict=True))
    every = max(1, WINDOW // n_obus)  # rounds between flushes: ~WINDOW awaiting PUBACK
    async with MqttBus("127.0.0.1", port, qos=qos) as bus:
        cpu = time.process_time()
        for r in range(rounds):
            await bus.publish_many(batch)
            if r % every == every - 1:
                await bus.flush()
        await bus.flush()
        cpu = time.process_time() - cpu
    print(json.dumps({"cpu_s": cpu}), flush=True)


async def subscriber(port: int, n: int, qos: int) -> None:
    from v2x.bus import MqttBus

    async with MqttBus("127.0.0.1", port, qos=qos) as bus, \
            bus.subscribe(FILTER, max_queued=None) as sub:
        print("ready", flush=True)
        got, first, last, cpu = 0, 0, 0, 0.0
        async for msg in sub:
            batch = [msg, *sub.take_ready()]
            if got == 0:
                first = batch[0].delivered_wall_ns
                cpu = time.process_time()
            got += len(batch)
            last = batch[-1].delivered_wall_ns
            if got >= n:
                break
        cpu = time.process_time() - cpu
        print(json.dumps({"messages": got, "first_ns": first, "last_ns": last, "cpu_s": cpu}),
              flush=True)


class Side(NamedTuple):
    """One side's run: messages delivered, first -> last delivery [s], CPU time [s] of the
    publisher(s) and of the subscriber."""

    messages: int
    span_s: float
    pub_cpu_s: float
    sub_cpu_s: float


def ours(port: int, n_obus: int, rounds: int, qos: int) -> Side:
    """Our publisher and subscriber processes; CPU as each measures its own (first publish
    to last PUBACK, first to last delivery: start-up and imports left out)."""
    me = [sys.executable, __file__, "--port", str(port), "--obus", str(n_obus),
          "--rounds", str(rounds), "--qos", str(qos)]
    sub = subprocess.Popen([*me, "--role", "sub"], stdout=subprocess.PIPE, text=True)
    assert sub.stdout is not None
    if sub.stdout.readline().strip() != "ready":
        raise SystemExit("our subscriber did not start")
    pub = json.loads(subprocess.run([*me, "--role", "pub"], check=True, capture_output=True,
                                    text=True).stdout)
    out = json.loads(sub.communicate(timeout=600)[0])
    return Side(out["messages"], (out["last_ns"] - out["first_ns"]) / 1e9, pub["cpu_s"],
                out["cpu_s"])


def children_cpu_s() -> float:
    """User + system CPU [s] of this process's ended and waited-for children so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# -- theirs: mosquitto_pub / mosquitto_sub ------------------------------------------------------

def theirs(port: int, n_obus: int, rounds: int, qos: int, folder: Path) -> Side:
    """mosquitto_pub / mosquitto_sub; CPU of the whole processes (start-up included, a few
    ms for these C clients)."""
    n = n_obus * rounds
    files = []
    for i, frame in enumerate(frames(n_obus), start=1):
        f = folder / f"frame{i}.uper"
        f.write_bytes(frame)
        files.append(f)
    stamps = folder / "stamps.txt"
    common = ["-h", "127.0.0.1", "-p", str(port), "-q", str(qos)]
    with stamps.open("w") as out:
        sub = subprocess.Popen(["mosquitto_sub", *common, "-t", FILTER, "-t", PROBE,
                                "-F", "%t %U"], stdout=out)
    try:
        while PROBE not in stamps.read_text():  # subscribed: it hears the probe
            subprocess.run(["mosquitto_pub", *common, "-t", PROBE, "-m", "x"], check=True)
            time.sleep(0.05)
        cpu0 = children_cpu_s()
        pubs = [subprocess.Popen(["mosquitto_pub", *common, "-t", topic, "-f", str(f),
                                  "--repeat", str(rounds)])
                for topic, f in zip(topics(n_obus), files, strict=True)]
        for p in pubs:
            if p.wait(600) != 0:
                raise SystemExit("mosquitto_pub failed")
        pub_cpu = children_cpu_s() - cpu0
        deadline = time.monotonic() + 60
        while True:
            lines = [ln for ln in stamps.read_text().splitlines() if ln.startswith("v2x/")
                     and not ln.startswith(PROBE)]
            if len(lines) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        cpu0 = children_cpu_s()
        sub.terminate()
        sub.wait(10)
        sub_cpu = children_cpu_s() - cpu0
    t = sorted(float(ln.split()[1]) for ln in lines)
    return Side(len(t), t[-1] - t[0], pub_cpu, sub_cpu)


# -- the floor: paho's own cost per message, without a broker --------------------------------

class _Wire:
    """A connected socket in memory: ``recv`` serves ``data``, ``send`` takes everything."""

    def __init__(self, data: bytes = b"") -> None:
        self.data, self.pos, self.sent = data, 0, bytearray()

    def recv(self, n: int) -> bytes:
        if self.pos >= len(self.data):
            raise BlockingIOError
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def send(self, b: bytes) -> int:
        self.sent += b
        return len(b)

    def setsockopt(self, *args: object) -> None:
        pass

    def close(self) -> None:
        pass


def _connected_paho(wire: _Wire) -> Any:
    """A paho client "connected" over ``wire`` (through our ReadBuffer), writes left to the
    caller's ``loop_write`` as under aiomqtt, no in-flight bound, no logger."""
    import paho.mqtt.client as mqtt

    from v2x.bus._socket import ReadBuffer

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(0)
    c._sock = ReadBuffer(wire)
    c._state = mqtt._ConnectionState.MQTT_CS_CONNECTED
    c.on_socket_register_write = lambda *a: None  # an event loop would write later
    return c


def _read_all(c: Any) -> None:
    while c._sock.pending() or c._sock._sock.pos < len(c._sock._sock.data):
        c.loop_read()
    c.loop_write()


def paho_floor(n_obus: int, rounds: int, qos: int) -> dict[str, float]:
    """paho-mqtt's own CPU per message [us] in this process, no broker, no event loop:
    ``publish`` (encode, queue, write), reading the PUBLISH as a subscriber (decode, the
    ``on_message`` call; at QoS 1 its PUBACK encoded and written) and, at QoS 1, reading its
    PUBACK as the publisher. Every read goes through our ReadBuffer (one buffered recv)."""
    items = list(zip(topics(n_obus), frames(n_obus), strict=True)) * rounds
    pub = _connected_paho(_Wire())
    t0 = time.process_time()
    for topic, payload in items:
        pub.publish(topic, payload, qos)
    pub.loop_write()
    out = {"publish": time.process_time() - t0}
    got = [0]

    def on_message(*args: object) -> None:
        got[0] += 1

    sub = _connected_paho(_Wire(bytes(pub._sock._sock.sent)))
    sub.on_message = on_message
    t0 = time.process_time()
    _read_all(sub)
    out["receive"] = time.process_time() - t0
    assert got[0] == len(items), (got, len(items))
    if qos:
        pub._sock = type(pub._sock)(_Wire(b"".join(b"\x40\x02" + mid.to_bytes(2, "big")
                                                   for mid in pub._out_messages)))
        t0 = time.process_time()
        _read_all(pub)
        out["puback"] = time.process_time() - t0
        assert not pub._out_messages
    return {k: v / len(items) * 1e6 for k, v in out.items()}


def start_mosquitto(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\n")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):  # until it listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("mosquitto did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--obus", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2400)
    ap.add_argument("--qos", type=_qos_list, default=(1,),
                    help="QoS of the run, or several in turn: 1, 0, 0,1")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of each side")
    ap.add_argument("--role", choices=("pub", "sub"), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "pub":
        asyncio.run(publisher(args.port, args.obus, args.rounds, args.qos[0]))
        return
    if args.role == "sub":
        asyncio.run(subscriber(args.port, args.obus * args.rounds, args.qos[0]))
        return
    for tool in ("mosquitto", "mosquitto_pub", "mosquitto_sub"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install mosquitto "
                             "mosquitto-clients)")
    ratios = {}
    with tempfile.TemporaryDirectory(prefix="v2x-bench-bus-") as tmp:
        broker, port = start_mosquitto(Path(tmp))
        try:
            for qos in args.qos:
                ratios[qos] = compare(args, qos, port, Path(tmp))
        finally:
            broker.terminate()
            broker.wait(10)
    if len(ratios) > 1:
        print("ratios v2x bus / mosquitto_pub/sub: " + ", ".join(
            f"QoS {qos} {r:.2f}" for qos, r in ratios.items())
              + f" (target >= 0.5); load average {os.getloadavg()[0]:.2f}")


def _qos_list(text: str) -> tuple[int, ...]:
    """``"0,1"`` -> ``(0, 1)``; each 0 or 1."""
    try:
        out = tuple(int(q) for q in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a QoS list: {text!r}") from None
    if not out or any(q not in (0, 1) for q in out):
        raise argparse.ArgumentTypeError(f"QoS must be 0 or 1: {text!r}")
    return out


def compare(args: argparse.Namespace, qos: int, port: int, folder: Path) -> float:
    """Both sides ``args.repeat`` times, alternating, at ``qos``; prints each run, the best
    of each side, their ratio and paho's floor; returns the ratio (NaN: a side failed)."""
    n = args.obus * args.rounds
    size = len(frames(1)[0])
    print(f"{n} BSM frames ({size} bytes UPER) = {args.obus} OBU topics x {args.rounds} rounds, "
          f"QoS {qos}, through Mosquitto on 127.0.0.1; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    best: dict[str, Side] = {}
    for k in range(args.repeat):
        for name, side in (
                ("v2x bus", ours(port, args.obus, args.rounds, qos)),
                ("mosquitto_pub/sub", theirs(port, args.obus, args.rounds, qos, folder))):
            print(f"  run {k + 1}: {name:17s} {_line(side)}")
            if side.messages == n and (name not in best or side.span_s < best[name].span_s):
                best[name] = side
    rate = {name: (side.messages - 1) / side.span_s for name, side in best.items()}
    ours_, theirs_ = rate.get("v2x bus", 0.0), rate.get("mosquitto_pub/sub", 0.0)
    ratio = ours_ / theirs_ if ours_ and theirs_ else float("nan")
    print(f"best: v2x bus {ours_:.0f} msg/s, mosquitto_pub/sub {theirs_:.0f} msg/s, "
          f"ratio {ratio:.2f} (target >= 0.5); load average {os.getloadavg()[0]:.2f}")
    floor = paho_floor(args.obus, args.rounds, qos)
    print("paho-mqtt alone (no broker, no event loop), CPU per message: "
          + ", ".join(f"{k} {v:.1f} us" for k, v in floor.items()))
    return ratio


def _line(side: Side) -> str:
    n = max(side.messages, 1)
    return (f"{side.messages:7d} msgs in {side.span_s:7.3f} s: "
            f"{(side.messages - 1) / side.span_s:9.0f} msg/s; CPU per message: publisher "
            f"{side.pub_cpu_s / n * 1e6:6.1f} us, subscriber {side.sub_cpu_s / n * 1e6:6.1f} us")

if __name__ == "__main__":
    main()
