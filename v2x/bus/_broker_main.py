"""Entry point of the embedded broker's process (:class:`~v2x.bus.BrokerProcess`).

``python -P -m v2x.bus._broker_main HOST``: starts the amqtt broker on HOST and a free port,
prints the port on a line of its own, and serves until its standard input ends (the parent
closed it, or died).
"""

from __future__ import annotations

import asyncio
import sys

from v2x.bus._broker import EmbeddedBroker
from v2x.errors import V2XError


async def _serve(host: str) -> None:
    async with EmbeddedBroker(host=host, port=0) as broker:
        print(broker.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)


if __name__ == "__main__":
    try:
        asyncio.run(_serve(sys.argv[1]))
    except V2XError as exc:  # one line for the parent's error message, no traceback
        print(f"{exc}".replace("\n", " "), file=sys.stderr)
        sys.exit(2)
