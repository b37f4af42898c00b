"""Traffic in a child process, steps ahead of the simulation loop.

libsumo holds the GIL while SUMO steps, so a thread cannot overlap SUMO with the loop's own
numpy work. :class:`PipelinedTraffic` runs the traffic side (SUMO and whatever must sit next to
it, e.g. :class:`~v2x.traffic.SumoTrafficSide`, which also reads the traffic lights' state for
the RSUs) in a child process and keeps it up to
``ahead`` steps ahead of the loop: SUMO steps on one core while the loop processes earlier steps
on the other. The child computes ``batch`` steps per request and sends them as one message (one
pickle, one write: per-step messages cost the child a third of its time beside SUMO). A reader
thread takes the child's answers off the pipe as they come (a pipe holds only a few steps; a
child blocked on a full pipe would stop stepping). Results are the same as in-process (same
inputs, same order of calls on the SUMO side; ``tests/test_end_to_end.py`` compares the
recordings).

The child side is any picklable factory returning a :class:`TrafficSide`; its ``step()``
returns one :class:`SideStep`. Scripted actions must be known in advance and applied by the
child side itself (a command sent mid-run would land one step late).
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import pickle
import queue
import socket
import subprocess
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

import numpy as np

from v2x._malloc import malloc_env
from v2x.errors import SumoError
from v2x.traffic._base import Collision, VehicleStates

__all__ = ["PipelinedTraffic", "SideStep", "TrafficSide", "drop_prestarted", "prestart"]


@dataclass(frozen=True)
class SideStep:
    """What the child sends per step: the vehicle states, the step's collisions, the names of
    vehicles seen for the first time (in index order) and a side output (e.g. RSU messages)."""

    states: VehicleStates
    collisions: tuple[Collision, ...]
    new_names: tuple[str, ...]
    side: Any


class TrafficSide(Protocol):
    """The part that runs in the child process."""

    def info(self) -> Any:
        """Static facts the parent needs before the first step (e.g. RSU positions)."""
        ...

    def step(self) -> SideStep:
        """Advance one step."""
        ...

    def close(self) -> None:
        """Release SUMO."""
        ...


_FLOATS = ("x", "y", "speed", "accel", "heading_deg", "lane_pos", "length", "width", "height")


class _StatesEncoder:
    """Child side of the wire form of a batch of :class:`SideStep`: the float columns of every
    step as one (9, N) array, index / classification / brake as one (3, N) int64 array, lanes
    as int32 codes into a table sent incrementally, no names (the parent has them by index),
    plus per step its time, vehicle count, collisions, new names and side output. Pickling a
    few arrays per batch instead of fifteen per step, and no string per vehicle, is what keeps
    the transfer cheap."""

    def __init__(self) -> None:
        self._lanes: dict[str, int] = {}

    def encode(self, steps: Sequence[SideStep]) -> tuple[Any, ...]:
        lanes = self._lanes
        new: list[str] = []
        states = [s.states for s in steps]
        codes = []
        for st in states:
            for lane in st.lane.tolist():
                c = lanes.get(lane)
                if c is None:
                    c = lanes[lane] = len(lanes)
                    new.append(lane)
                codes.append(c)
        n = sum(st.n for st in states)
        if n:
            floats = np.concatenate([np.stack([getattr(st, f) for f in _FLOATS])
                                     for st in states], axis=1)
            ints = np.concatenate([np.stack([st.index, st.classification.astype(np.int64),
                                             st.brake.astype(np.int64)]) for st in states],
                                  axis=1)
        else:
            floats, ints = np.empty((9, 0)), np.empty((3, 0), np.int64)
        per_step = [(s.states.t_ns, s.states.n, s.collisions, s.new_names, s.side)
                    for s in steps]
        return per_step, floats, ints, np.array(codes, np.int32), new


class _StatesDecoder:
    """Parent side of :class:`_StatesEncoder`: the batch back as one :class:`SideStep` per
    step (its columns are views into the batch's arrays)."""

    def __init__(self) -> None:
        self._lanes = np.empty(0, dtype=object)
        self._names = np.empty(0, dtype=object)

    def decode(self, wire: tuple[Any, ...]) -> list[SideStep]:
        per_step, floats, ints, codes, new = wire
        if new:
            self._lanes = np.concatenate([self._lanes, np.array(new, dtype=object)])
        added = [name for _, _, _, names, _ in per_step for name in names]
        if added:
            self._names = np.concatenate([self._names, np.array(added, dtype=object)])
        index = ints[0]
        names = self._names[index]
        lane = self._lanes[codes]
        brake = ints[2].astype(bool)
        cls = ints[1].astype(np.int16)
        out = []
        a = 0
        for t_ns, n, collisions, new_names, side in per_step:
            b = a + n
            cols = {f: floats[i, a:b] for i, f in enumerate(_FLOATS)}
            st = VehicleStates(t_ns=t_ns, names=names[a:b], index=index[a:b], lane=lane[a:b],
                               brake=brake[a:b], classification=cls[a:b], **cols)
            out.append(SideStep(states=st, collisions=collisions, new_names=new_names,
                                side=side))
            a = b
        return out


def _serve(conn: Any, factory: Callable[[], TrafficSide]) -> None:
    side: TrafficSide | None = None
    try:
        side = factory()
        conn.send(("ok", side.info()))
        wire = _StatesEncoder()
        asked: deque[int] = deque()  # batch sizes asked for and not yet sent
        while True:
            if not asked or conn.poll():  # a "close" behind queued batches ends the run now
                msg = conn.recv()
                if not isinstance(msg, int):
                    break
                asked.append(msg)
                continue
            steps: list[SideStep] = []
            try:
                for _ in range(asked.popleft()):
                    steps.append(side.step())
            finally:  # the steps done before a failure reach the parent ahead of the error
                if steps:
                    conn.send(("ok", wire.encode(steps)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises SumoError
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except (OSError, EOFError):
            pass
    finally:
        if side is not None:
            side.close()
        conn.close()


class _Child:
    """The child process, as a ``subprocess.Popen`` or a ``multiprocessing.Process``."""

    def __init__(self, proc: subprocess.Popen[bytes] | Any) -> None:
        self._proc = proc

    @property
    def exitcode(self) -> int | None:
        if isinstance(self._proc, subprocess.Popen):
            return self._proc.poll()
        return self._proc.exitcode  # type: ignore[no-any-return]

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` [s]; True when the child has ended."""
        if isinstance(self._proc, subprocess.Popen):
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        self._proc.join(timeout)
        return not self._proc.is_alive()

    def kill(self) -> None:
        self._proc.kill()
        if isinstance(self._proc, subprocess.Popen):
            self._proc.wait()
        else:
            self._proc.join()


#: the child's first lines: the parent's sys.path before anything of the project is imported
#: (``-m v2x.traffic._child`` would import the installed v2x first, whatever the parent runs)
_BOOT = ("import sys; from multiprocessing.connection import Connection; "
         "conn = Connection(int(sys.argv[1])); sys.path[:] = conn.recv(); "
         "from v2x.traffic._child import main; main(conn, sys.argv[2:])")


def _here() -> dict[str, Any]:
    """What the child takes over from this process when its factory arrives."""
    return {"path": list(sys.path), "cwd": os.getcwd(), "env": dict(os.environ)}


def _spawn(preload: Sequence[str]) -> tuple[Connection, _Child]:
    """A fresh interpreter running :mod:`v2x.traffic._child` on one end of a socket pair
    (POSIX), given the parent's ``sys.path`` first; it imports ``preload`` while it waits
    for its factory."""
    mine, theirs = socket.socketpair()
    fd = theirs.fileno()
    # its own session: a Ctrl-C in the terminal reaches the parent only, which stops the child
    # in order (a dead parent closes the socket, and the child ends at its next read)
    popen = subprocess.Popen([sys.executable, "-P", "-c", _BOOT, str(fd), *preload],
                             pass_fds=(fd,), stdin=subprocess.DEVNULL, start_new_session=True,
                             env={**os.environ, **malloc_env()})
    theirs.close()
    conn = Connection(mine.detach())
    conn.send(list(sys.path))
    return conn, _Child(popen)


#: a traffic process started by :func:`prestart`, waiting for its factory
_SPARE: list[tuple[Connection, _Child]] = []
_SPARE_LOCK = threading.Lock()

#: what a prestarted traffic process imports before its factory arrives (the SUMO side)
PRELOAD = ("libsumo", "v2x.traffic._side")


def prestart(preload: Sequence[str] = PRELOAD) -> None:
    """Start the next traffic process now, before its factory is known: Python, libsumo
    (~0.2 s alone) and ``preload`` load while the caller prepares the run (``v2x run``
    calls this before importing the analysis and building the scenario); the next
    :class:`PipelinedTraffic` takes it, with this process's ``sys.path``, working directory
    and environment as they are then. A no-op when one is waiting already, and off POSIX.
    One that is never taken ends with this process (its socket closes). Thread-safe."""
    if os.name != "posix":
        return
    with _SPARE_LOCK:
        if _SPARE:
            return
        if not _atexit_registered:
            atexit.register(drop_prestarted)
            _atexit_registered.append(True)
        _SPARE.append(_spawn(preload))


_atexit_registered: list[bool] = []


def drop_prestarted() -> None:
    """Stop a prestarted traffic process nobody took (at exit, or when no run follows)."""
    with _SPARE_LOCK:
        spares = list(_SPARE)
        _SPARE.clear()
    for conn, proc in spares:
        conn.close()  # the child ends at its next read
        if not proc.join(timeout=5):
            proc.kill()


def _take_spare() -> tuple[Connection, _Child] | None:
    """The prestarted traffic process if it is still alive (thread-safe: one taker)."""
    with _SPARE_LOCK:
        spare = _SPARE.pop() if _SPARE else None
    if spare is not None and spare[1].exitcode is not None:  # it died waiting
        spare[0].close()
        return None
    return spare


def _start_child(factory: Callable[[], TrafficSide]) -> tuple[Connection, _Child]:
    """Start the child: on POSIX a fresh interpreter running :mod:`v2x.traffic._child` (it
    imports only what the factory needs, not the parent's main module as
    ``multiprocessing``'s spawn would: ~1.5 s less start-up under ``v2x run``), the one
    :func:`prestart` started if it is still alive; elsewhere a ``multiprocessing`` spawn
    child. The child takes over the parent's ``sys.path``, working directory and
    environment of now (they may have changed since a prestart) before the factory."""
    if os.name != "posix":
        ctx = mp.get_context("spawn")
        pipe, child_end = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child_end, factory), daemon=True,
                           name="v2x-traffic")
        proc.start()
        child_end.close()
        return pipe, _Child(proc)
    spare = _take_spare()
    conn, child = spare if spare is not None else _spawn(())
    try:
        conn.send(_here())
        conn.send(factory)
    except OSError:  # it died waiting: start a fresh one
        conn.close()
        conn, child = _spawn(())
        conn.send(_here())
        conn.send(factory)
    return conn, child


def _read_into(pipe: Connection, inbox: queue.SimpleQueue[bytes | None]) -> None:
    """Reader thread: take every answer off the pipe as soon as it arrives (the read releases
    the GIL), so the child never blocks on a full pipe while the loop works; None at the end."""
    try:
        while True:
            inbox.put(pipe.recv_bytes())
    except (EOFError, OSError):
        inbox.put(None)


def _reap(pipe: Connection, proc: _Child) -> None:
    """Finalizer of a PipelinedTraffic that was never closed: stop and reap the child."""
    try:
        pipe.send("close")
    except OSError:
        pass
    if not proc.join(timeout=5):
        proc.kill()


class PipelinedTraffic:
    """A :class:`~v2x.traffic.TrafficBackend` whose traffic runs in a child process.

    Args:
        factory: picklable callable that builds the :class:`TrafficSide` in the child.
        timeout_s: how long to wait for the child's first answer [s] (SUMO start-up).
        ahead: how many steps the child may compute before the loop asks for them (it never
            waits on the loop while it is ahead; the last ``ahead`` steps it computes past the
            end of a run are discarded); rounded up to whole batches.
        batch: steps the child computes per request and sends as one message (the loop's
            window of steps is a good choice).

    Attributes:
        info: what the child side's ``info()`` returned.

    Raises:
        SumoError: the child could not start, failed, or died.
    """

    conn: Any = None

    def __init__(self, factory: Callable[[], TrafficSide], *, timeout_s: float = 120.0,
                 ahead: int = 3, batch: int = 1) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self._batch = int(batch)
        self._ready: deque[SideStep] = deque()
        self._pipe, self._proc = _start_child(factory)
        self._names: list[str] = []
        self._wire = _StatesDecoder()
        self._collisions: list[Collision] = []
        self.side: Any = None
        self._open = True
        self._joined = False
        self._inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        # the reader holds the pipe and the queue, not this object: an unclosed
        # PipelinedTraffic can be collected, and its finalizer stops the child
        self._reader = threading.Thread(target=_read_into, args=(self._pipe, self._inbox),
                                         daemon=True, name="v2x-traffic-reader")
        self._reader.start()
        self._finalizer = weakref.finalize(self, _reap, self._pipe, self._proc)
        try:
            first = self._inbox.get(timeout=timeout_s)
        except queue.Empty:
            self.close()
            raise SumoError(f"the traffic process did not start within {timeout_s} s") from None
        self.info = self._decode(first)
        # the child runs up to `ahead` steps (whole batches) ahead of the loop
        for _ in range(max(1, -(-ahead // self._batch))):
            self._ask()

    def _ask(self) -> None:
        """Ask the child for one more batch. When it is gone (it failed, or was killed), the
        reader still takes what it sent before: those steps come first, then its error or the
        end of the pipe, each a SumoError (never an OSError from here)."""
        try:
            self._pipe.send(self._batch)
        except OSError:  # BrokenPipeError, ConnectionResetError: the child is gone
            pass

    def _receive(self) -> Any:
        return self._decode(self._inbox.get())

    def _decode(self, data: bytes | None) -> Any:
        if data is None:
            self._inbox.put(None)  # every later call sees the end too
            self.close()
            raise SumoError(f"the traffic process died (exit code {self._proc.exitcode})")
        status, payload = pickle.loads(data)
        if status != "ok":
            self.close()
            raise SumoError(f"the traffic process failed: {payload}")
        return payload

    def step(self) -> VehicleStates:
        """The next step's states; on the first step of a batch, asks the child for the next
        batch before returning."""
        if not self._ready:
            self._ready.extend(self._wire.decode(self._receive()))
            self._ask()
        out = self._ready.popleft()
        self._names.extend(out.new_names)
        self._collisions = list(out.collisions)
        self.side = out.side
        return out.states

    def collisions(self) -> list[Collision]:
        """Collisions SUMO reported in the last step."""
        return list(self._collisions)

    def vehicle_names(self) -> list[str]:
        """Every vehicle name seen so far; position = vehicle index."""
        return list(self._names)

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Not available mid-run: give scripted stops to the child side in advance."""
        raise SumoError("PipelinedTraffic applies scripted stops in the traffic process; "
                        "pass them to the child side's factory")

    def close(self, *, wait: bool = True) -> None:
        """Stop the child (idempotent). ``wait=False`` only tells it to stop, so it winds
        down (SUMO closes) while the caller goes on; a later ``close()`` waits for it."""
        if self._open:
            self._open = False
            try:
                self._pipe.send("close")
            except (OSError, BrokenPipeError):
                pass
        if not wait or self._joined:
            return
        self._joined = True
        self._finalizer.detach()
        # the child reads "close" before its next step and exits; the reader thread takes
        # what it sent before and stops at the end of the pipe
        if not self._proc.join(timeout=10):
            self._proc.kill()
        self._reader.join(timeout=5)
        self._pipe.close()

    def __enter__(self) -> PipelinedTraffic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
