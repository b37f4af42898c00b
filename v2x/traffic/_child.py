"""Entry point of the traffic child process of :class:`~v2x.traffic.PipelinedTraffic`.

``python -P -m v2x.traffic._child FD``: FD is this end of a socket pair; the parent sends its
``sys.path``, then the factory, then asks for steps until it says stop.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from v2x.traffic._pipelined import _serve


def main(fd: int) -> None:
    """Serve the parent on socket ``fd``."""
    conn = Connection(fd)
    sys.path[:] = conn.recv()  # before the factory: unpickling it imports its module
    _serve(conn, conn.recv())


if __name__ == "__main__":
    main(int(sys.argv[1]))
