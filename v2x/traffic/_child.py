"""The traffic child process of :class:`~v2x.traffic.PipelinedTraffic`.

Started as ``python -P -c <boot> FD [MODULE ...]`` (see ``_BOOT`` in
:mod:`v2x.traffic._pipelined`): FD is this end of a socket pair, and the boot lines set the
parent's ``sys.path`` before anything of the project is imported, then call :func:`main`. The
parent then sends the state to take over (``sys.path``, working directory, environment), the
factory, and asks for steps until it says stop. The MODULEs are imported while the factory is
awaited (a prestarted process: :func:`v2x.traffic.prestart`).
"""

from __future__ import annotations

import importlib
import os
import sys
from multiprocessing.connection import Connection

from v2x._gc import fewer_collections
from v2x.traffic._pipelined import _serve


def main(conn: Connection, preload: list[str]) -> None:
    """Serve the parent on ``conn`` (its ``sys.path`` is already in place)."""
    try:
        for name in preload:
            try:
                importlib.import_module(name)
            except ImportError:  # only a head start: the factory's own import reports it
                pass
        msg = conn.recv()
        while isinstance(msg, dict):  # the parent's state now, before its factory unpickles
            sys.path[:] = msg["path"]
            os.chdir(msg["cwd"])
            os.environ.clear()
            os.environ.update(msg["env"])
            msg = conn.recv()
    except (EOFError, OSError):  # a prestarted process nobody took: the parent is done
        return
    with fewer_collections():  # SUMO's per-step result dicts are short-lived (v2x._gc)
        _serve(conn, msg)
