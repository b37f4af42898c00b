"""Embedded MQTT 3.1.1 broker on ``amqtt``: the zero-set-up default for ``--bus embedded``."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import tempfile
from types import TracebackType
from typing import Self

from v2x.errors import BusError, ConfigError

__all__ = ["BrokerProcess", "EmbeddedBroker"]

_LISTENER = "default"


class EmbeddedBroker:
    """An ``amqtt`` broker in this process and event loop, anonymous, on a TCP port.

    ::

        async with EmbeddedBroker(host="127.0.0.1", port=0) as broker:
            broker.url     # "mqtt://127.0.0.1:40123": port 0 picks a free port
            broker.port    # 40123

    The broker runs with only the anonymous-authentication plugin: no ``$SYS`` publisher,
    no packet logging, no persistence on disk. The TCP server is ours (amqtt's ``external``
    listener), so port 0 works and the bound port is read from the socket. amqtt's loggers
    are set to ``log_level`` (default WARNING) while it runs, as they log every connection at
    INFO.

    Args:
        host: address to listen on (loopback by default).
        port: TCP port; 0 picks a free one.
        log_level: level for the ``amqtt`` and ``transitions`` loggers while the broker runs.

    Raises ConfigError for a bad port; BusError when the broker cannot start (port taken,
    amqtt error) or stop.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, log_level: int = logging.WARNING
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise ConfigError(
                f"broker port must be an int in 0..65535, got {port!r}", key="port", value=port
            )
        self._host = host
        self._port_req = port
        self._port: int | None = None
        self._log_level = log_level
        self._broker: object | None = None
        self._server: asyncio.Server | None = None
        self._saved_levels: dict[str, int] = {}

    @property
    def host(self) -> str:
        """The address listened on."""
        return self._host

    @property
    def port(self) -> int:
        """The bound TCP port. Raises BusError before the broker has started."""
        if self._port is None:
            raise BusError("embedded broker is not running; use 'async with EmbeddedBroker()'")
        return self._port

    @property
    def url(self) -> str:
        """``"mqtt://host:port"`` with the bound port. Raises BusError before start."""
        return _mqtt_url(self._host, self.port)

    async def __aenter__(self) -> Self:
        if self._broker is not None:
            raise BusError("embedded broker is already running")
        self._quiet_loggers()
        try:
            from amqtt.adapters import (  # type: ignore[import-untyped]
                StreamReaderAdapter,
                StreamWriterAdapter,
            )
            from amqtt.broker import Broker  # type: ignore[import-untyped]

            config = {
                "listeners": {_LISTENER: {"type": "external"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
                },
            }
            try:
                broker = Broker(config)
                await broker.start()
            except Exception as exc:  # amqtt raises BrokerError, PluginError, dacite errors...
                raise BusError(f"cannot start the embedded amqtt broker: {exc}") from exc

            async def on_connect(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter
            ) -> None:
                await broker.external_connected(
                    StreamReaderAdapter(reader), StreamWriterAdapter(writer), _LISTENER
                )

            try:
                server = await asyncio.start_server(on_connect, self._host, self._port_req)
            except OSError as exc:
                await _shutdown(broker)
                raise BusError(
                    f"embedded broker cannot listen on {self._host}:{self._port_req}: {exc}"
                ) from exc
        except BaseException:
            self._restore_loggers()
            raise
        self._port = server.sockets[0].getsockname()[1]
        self._server = server
        self._broker = broker
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, self._server = self._server, None
        broker, self._broker = self._broker, None
        self._port = None
        try:
            if server is not None:
                server.close()
            if broker is not None:
                await _shutdown(broker)
            if server is not None:
                await server.wait_closed()
        finally:
            self._restore_loggers()

    def _quiet_loggers(self) -> None:
        for name in ("amqtt", "transitions"):
            logger = logging.getLogger(name)
            self._saved_levels[name] = logger.level
            if logger.getEffectiveLevel() < self._log_level:
                logger.setLevel(self._log_level)

    def _restore_loggers(self) -> None:
        for name, level in self._saved_levels.items():
            logging.getLogger(name).setLevel(level)
        self._saved_levels.clear()


def _mqtt_url(host: str, port: int) -> str:
    """``mqtt://host:port``, an IPv6 host in brackets."""
    return f"mqtt://[{host}]:{port}" if ":" in host else f"mqtt://{host}:{port}"


async def _shutdown(broker: object) -> None:
    try:
        await broker.shutdown()  # type: ignore[attr-defined]
    except Exception as exc:  # any amqtt failure while stopping
        raise BusError(f"the embedded amqtt broker failed to stop: {exc}") from exc


class BrokerProcess:
    """The embedded amqtt broker in a process of its own, on 127.0.0.1 and a free port.

    amqtt is pure Python: in the simulation's process and event loop it competes with the
    loop for one core (a 300 s ``xiqing-south-station`` run: ~100 k messages); in its own
    process it works on the other core. The process starts with ``python -m
    v2x.bus._broker_main``, prints its port, and stops when this object closes its standard
    input (or when this process dies, which closes it too)::

        async with BrokerProcess() as broker:
            broker.port  # the bound port

    Raises BusError when the broker does not start within ``timeout_s`` [s] or exits (with
    what it printed on stderr).
    """

    def __init__(self, *, host: str = "127.0.0.1", timeout_s: float = 30.0) -> None:
        self.host = host
        self._timeout_s = timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound TCP port. Raises BusError before the broker has started."""
        if self._port is None:
            raise BusError("broker process is not running; use 'async with BrokerProcess()'")
        return self._port

    @property
    def url(self) -> str:
        """``"mqtt://host:port"`` with the bound port. Raises BusError before start."""
        return _mqtt_url(self.host, self.port)

    async def __aenter__(self) -> Self:
        errors = tempfile.TemporaryFile()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-P", "-m", "v2x.bus._broker_main", self.host,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                start_new_session=True)  # a Ctrl-C reaches the run, which stops the broker
        except OSError as exc:
            errors.close()
            raise BusError(f"cannot start the embedded broker's process: {exc}") from exc
        try:
            assert self._proc.stdout is not None
            line = await asyncio.wait_for(self._proc.stdout.readline(), self._timeout_s)
            self._port = int(line)
        except (TimeoutError, ValueError) as exc:
            await self._stop()
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            said = lines[-1][-1500:] if lines else ""
            raise BusError("the embedded broker's process did not start"
                           + (f": {said}" if said else "")) from exc
        finally:
            errors.close()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stop()

    async def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._port = None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the broker serves until its stdin ends
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            proc.kill()
            await proc.wait()
