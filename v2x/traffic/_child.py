"""Entry point of the traffic child process of :class:`~v2x.traffic.PipelinedTraffic`.

``python -P -m v2x.traffic._child FD [MODULE ...]``: FD is this end of a socket pair. The
parent sends its ``sys.path`` (again before the factory, when it has changed), then the
factory, then asks for steps until it says stop. The MODULEs are imported while the factory
is awaited (a prestarted process: :func:`v2x.traffic.prestart`).
"""

from __future__ import annotations

import importlib
import sys
from multiprocessing.connection import Connection

from v2x.traffic._pipelined import _serve


def main(fd: int, preload: list[str]) -> None:
    """Serve the parent on socket ``fd``."""
    conn = Connection(fd)
    try:
        sys.path[:] = conn.recv()
        for name in preload:
            try:
                importlib.import_module(name)
            except ImportError:  # only a head start: the factory's own import reports it
                pass
        msg = conn.recv()
        while isinstance(msg, list):  # sys.path, before unpickling the factory imports
            sys.path[:] = msg
            msg = conn.recv()
    except (EOFError, OSError):  # a prestarted process nobody took: the parent is done
        return
    _serve(conn, msg)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
