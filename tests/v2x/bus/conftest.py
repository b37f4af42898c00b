"""A Mosquitto of the test's own, on a free port, with the settings a test needs.

``own_mosquitto`` (a factory fixture) starts ``mosquitto -c <conf>`` and stops it at the end
of the test; :meth:`OwnMosquitto.restart` stops and starts it again on the same port (a broker
lost mid-run). Skips the test when the ``mosquitto`` binary is not installed.

``drop_pubacks`` (a fixture) is a call that makes every paho client ignore the PUBACKs it
reads from then on (a broker that does not acknowledge), until ``monkeypatch.undo()``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnMosquitto:
    """One Mosquitto process on 127.0.0.1:``port`` with ``settings`` (config lines)."""

    def __init__(self, folder: Path, settings: tuple[str, ...]) -> None:
        self.port = free_port()
        self.conf = folder / f"mosquitto-{self.port}.conf"
        self.conf.write_text("\n".join((f"listener {self.port} 127.0.0.1",
                                        "allow_anonymous true", "persistence false",
                                        *settings)) + "\n")
        self.log = folder / f"mosquitto-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(200):  # until it listens (not a timing assertion: a wait for readiness)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.log.read_text()}") from None
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self, down_s: float = 0.0) -> None:
        """Stop, stay down ``down_s`` [s] (fault injection, not a measurement), start again."""
        self.stop()
        time.sleep(down_s)
        self.start()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Callable[..., OwnMosquitto]]:
    if shutil.which("mosquitto") is None:
        pytest.skip("the mosquitto binary is not installed")
    started: list[OwnMosquitto] = []

    def start(*settings: str) -> OwnMosquitto:
        m = OwnMosquitto(tmp_path, settings)
        m.start()
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


@pytest.fixture
def drop_pubacks(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    # paho reads the packet whole, then ``_packet_handle`` dispatches it by type: a PUBACK
    # stops there, before any handler (paho's or the bus's own) sees it
    handle = mqtt.Client._packet_handle

    def packet_handle(self: mqtt.Client) -> mqtt.MQTTErrorCode:
        if self._in_packet["command"] & 0xF0 == mqtt.PUBACK:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        return handle(self)

    return lambda: monkeypatch.setattr(mqtt.Client, "_packet_handle", packet_handle)
