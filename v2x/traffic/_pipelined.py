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
returns one :class:`SideStep`. Actions (:meth:`PipelinedTraffic.apply`) reach the child on the
pipe that grants it steps, and the child never runs more than ``ahead`` steps beyond the loop:
an action due at least ``ahead`` steps after the last step the loop took lands exactly where
it would in this process; one due earlier is refused (SumoError).
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
from v2x.traffic._actions import Action, check_action
from v2x.traffic._base import Collision, PersonStates, SignalCrossing, Teleport, VehicleStates

__all__ = ["PipelinedTraffic", "SideStep", "TrafficSide", "drop_prestarted", "prestart"]


@dataclass(frozen=True)
class SideStep:
    """What the child sends per step: the vehicle states, the step's collisions, the names of
    vehicles seen for the first time (in index order), a side output (e.g. the signal states),
    and optionally the persons (None: no persons), the names of persons seen for the first
    time (in person index order), the events fired at this step ``(t_ns, name)``, their
    ``rsi_*`` actions, the targets of actions skipped since the last step and the step's
    teleports."""

    states: VehicleStates
    collisions: tuple[Collision, ...]
    new_names: tuple[str, ...]
    side: Any
    persons: PersonStates | None = None
    new_persons: tuple[str, ...] = ()
    fired: tuple[tuple[int, str], ...] = ()
    fired_actions: tuple[Action, ...] = ()
    skipped: tuple[str, ...] = ()
    teleports: tuple[Teleport, ...] = ()
    crossings: tuple[SignalCrossing, ...] = ()  # stop lines of signalized links crossed


class TrafficSide(Protocol):
    """The part that runs in the child process (``apply`` only if the parent applies
    actions)."""

    def info(self) -> Any:
        """Static facts the parent needs before the first step (e.g. RSU positions)."""
        ...

    def step(self) -> SideStep:
        """Advance one step."""
        ...

    def apply(self, actions: Sequence[Action]) -> Any:
        """Queue actions (as :meth:`v2x.traffic.SumoTraffic.apply`)."""
        ...

    def close(self) -> None:
        """Release SUMO."""
        ...


_FLOATS = ("x", "y", "speed", "accel", "heading_deg", "lane_pos", "length", "width", "height")
_P_FLOATS = ("x", "y", "speed", "heading_deg", "length", "width")


class _StatesEncoder:
    """Child side of the wire form of a batch of :class:`SideStep`: the float columns of every
    step as one (9, N) array, index / classification / brake / signals / vehicle events as
    one (5, N) int64 array, lanes
    as int32 codes into a table sent incrementally, no names (the parent has them by index),
    plus per step its time, vehicle count, collisions, new names and side output. Pickling a
    few arrays per batch instead of fifteen per step, and no string per vehicle, is what keeps
    the transfer cheap. Persons travel the same way: their float columns as one (6, M) array,
their index as one int64 array, their edges as codes into the same string table as lanes; a
step without persons costs nothing."""

    def __init__(self) -> None:
        self._lanes: dict[str, int] = {}

    def _codes(self, values: list[str], new: list[str], codes: list[int]) -> None:
        lanes = self._lanes
        for lane in values:
            c = lanes.get(lane)
            if c is None:
                c = lanes[lane] = len(lanes)
                new.append(lane)
            codes.append(c)

    def encode(self, steps: Sequence[SideStep]) -> tuple[Any, ...]:
        new: list[str] = []
        states = [s.states for s in steps]
        codes: list[int] = []
        for st in states:
            self._codes(st.lane.tolist(), new, codes)
        n = sum(st.n for st in states)
        if n:
            floats = np.concatenate([np.stack([getattr(st, f) for f in _FLOATS])
                                     for st in states], axis=1)
            ints = np.concatenate([np.stack([st.index, st.classification.astype(np.int64),
                                             st.brake.astype(np.int64), st.signals,
                                             st.vehicle_events]) for st in states],
                                  axis=1)
        else:
            floats, ints = np.empty((9, 0)), np.empty((5, 0), np.int64)
        people = [s.persons for s in steps if s.persons is not None and s.persons.n]
        if people:
            pcodes: list[int] = []
            for ps in people:
                self._codes(ps.edge.tolist(), new, pcodes)
            persons: Any = (np.concatenate([np.stack([getattr(ps, f) for f in _P_FLOATS])
                                            for ps in people], axis=1),
                            np.concatenate([ps.index for ps in people]),
                            np.array(pcodes, np.int32))
        else:
            persons = None
        per_step = [(s.states.t_ns, s.states.n, s.collisions, s.new_names, s.side,
                     -1 if s.persons is None else s.persons.n, s.new_persons, s.fired,
                     s.fired_actions, s.skipped, s.teleports, s.crossings) for s in steps]
        return per_step, floats, ints, np.array(codes, np.int32), new, persons


class _StatesDecoder:
    """Parent side of :class:`_StatesEncoder`: the batch back as one :class:`SideStep` per
    step (its columns are views into the batch's arrays)."""

    def __init__(self) -> None:
        self._lanes = np.empty(0, dtype=object)
        self._names = np.empty(0, dtype=object)
        self._pnames = np.empty(0, dtype=object)

    def decode(self, wire: tuple[Any, ...]) -> list[SideStep]:
        per_step, floats, ints, codes, new, persons = wire
        if new:
            self._lanes = np.concatenate([self._lanes, np.array(new, dtype=object)])
        added = [name for step in per_step for name in step[3]]
        if added:
            self._names = np.concatenate([self._names, np.array(added, dtype=object)])
        padded = [name for step in per_step for name in step[6]]
        if padded:
            self._pnames = np.concatenate([self._pnames, np.array(padded, dtype=object)])
        pfloats = pindex = pnames = pedge = np.empty(0)
        if persons is not None:
            pfloats, pindex, pcodes = persons
            pnames, pedge = self._pnames[pindex], self._lanes[pcodes]
        index = ints[0]
        names = self._names[index]
        lane = self._lanes[codes]
        brake = ints[2].astype(bool)
        cls = ints[1].astype(np.int16)
        out = []
        a = pa = 0
        for (t_ns, n, collisions, new_names, side, m, new_persons, fired, fired_actions,
             skipped, teleports, crossings) in per_step:
            b = a + n
            cols = {f: floats[i, a:b] for i, f in enumerate(_FLOATS)}
            st = VehicleStates(t_ns=t_ns, names=names[a:b], index=index[a:b], lane=lane[a:b],
                               brake=brake[a:b], classification=cls[a:b],
                               signals=ints[3, a:b], vehicle_events=ints[4, a:b], **cols)
            ps: PersonStates | None = None
            if m == 0:
                ps = PersonStates.empty(t_ns)
            elif m > 0:
                pb = pa + m
                pcols = {f: pfloats[i, pa:pb] for i, f in enumerate(_P_FLOATS)}
                ps = PersonStates(t_ns=t_ns, names=pnames[pa:pb], index=pindex[pa:pb],
                                  edge=pedge[pa:pb], **pcols)
                pa = pb
            out.append(SideStep(states=st, collisions=collisions, new_names=new_names,
                                side=side, persons=ps, new_persons=new_persons, fired=fired,
                                fired_actions=fired_actions, skipped=skipped,
                                teleports=teleports, crossings=crossings))
            a = b
        return out


def _serve(conn: Any, factory: Callable[[], TrafficSide]) -> None:
    side: TrafficSide | None = None
    try:
        side = factory()
        conn.send(("ok", side.info()))
        wire = _StatesEncoder()
        asked: deque[int] = deque()  # batch sizes asked for and not yet sent
        inbox: deque[Any] = deque()  # messages read during a batch, taken after it in order
        while True:
            # a "close" behind queued batches ends the run now
            if inbox or not asked or conn.poll():
                msg = inbox.popleft() if inbox else conn.recv()
                if isinstance(msg, tuple) and msg[0] == "apply":
                    # before any step granted after it: the parent sent it after those
                    side.apply(msg[1])
                    continue
                if not isinstance(msg, int):
                    break
                asked.append(msg)
                continue
            steps: list[SideStep] = []
            try:
                for _ in range(asked.popleft()):
                    if _closing(conn, inbox):  # the rest of the batch would be discarded
                        break
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


def _closing(conn: Any, inbox: deque[Any]) -> bool:
    """Whether the parent has said "close" (read between two steps of a batch: a batch of
    20 steps at 10,000 vehicles is 3 s of SUMO); other messages it sent meanwhile wait in
    ``inbox`` for the batch's end (an action applies from the steps granted after it)."""
    while conn.poll():
        inbox.append(conn.recv())
    return any(not isinstance(m, (int, tuple)) for m in inbox)


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
        ahead: the child never runs more than ``ahead`` steps beyond the steps the loop has
            taken with :meth:`step` (it computes them while the loop works, and never waits
            on the loop while it is ahead; the last ones it computes past the end of a run
            are discarded). It asks for whole batches, so it is ahead by ``ahead - batch + 1``
            to ``ahead`` steps. In a closed loop this is the shortest reaction: after taking
            step k, the loop may apply actions with ``at_ns > t(k + ahead - 1)``.
        batch: steps the child computes per request and sends as one message (the loop's
            window of steps is a good choice); at most ``ahead``.
        steps: the run's steps, if known: the child is never asked for more (otherwise it
            computes up to ``ahead`` steps past the end, which at 10,000 vehicles was 40
            SUMO steps, about 6 s of CPU, after a 30-step run); :meth:`step` beyond them
            raises SumoError.

    Actions given to :meth:`apply` go to the child on the same pipe as the step requests, so
    it reads them before any step granted later: they take effect at exactly the step they
    would in this process (``tests/v2x/traffic/test_actions.py`` compares the states bit for
    bit).

    Attributes:
        info: what the child side's ``info()`` returned.
        side: the side output of the last step taken.

    Raises:
        SumoError: the child could not start, failed, or died.
        ValueError: ``batch < 1``, ``ahead < batch`` or ``steps < 0``.
    """

    conn: Any = None

    def __init__(self, factory: Callable[[], TrafficSide], *, timeout_s: float = 120.0,
                 ahead: int = 3, batch: int = 1, steps: int | None = None) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        if ahead < batch:
            raise ValueError(f"ahead must be >= batch ({batch}), got {ahead}")
        if steps is not None and steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self._batch = int(batch)
        self._ahead = int(ahead)
        self._steps = steps
        self._granted = 0  # steps asked of the child
        self._consumed = 0  # steps taken by the loop
        self._received = 0  # steps that arrived (taken or in _ready)
        self._recent: deque[int] = deque(maxlen=2)  # times of the last two that arrived [ns]
        self._ready: deque[SideStep] = deque()
        self._pipe, self._proc = _start_child(factory)
        self._names: list[str] = []
        self._pnames: list[str] = []
        self._wire = _StatesDecoder()
        self._collisions: list[Collision] = []
        self._teleports: list[Teleport] = []
        self._crossings: list[SignalCrossing] = []
        self._persons: PersonStates = PersonStates.empty()
        self._fired: list[tuple[int, str]] = []
        self._fired_actions: list[Action] = []
        self._skipped: list[str] = []
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
        self._timeout_s = float(timeout_s)
        self._info: Any = None  # the child's first answer, taken when first needed
        self._started = False
        self._grant()  # the child reads these once it has started

    def ready(self) -> None:
        """Wait until the child has started (SUMO loaded its inputs).

        Raises:
            SumoError: as :attr:`info`.
        """
        self.info  # noqa: B018 - its first use waits

    @property
    def info(self) -> Any:
        """What the child side's ``info()`` returned. The constructor does not wait for the
        child to start (SUMO loading the network): the caller prepares the rest of the run
        meanwhile, and the first use of ``info`` (or :meth:`step`) waits for it.

        Raises:
            SumoError: the child did not start within ``timeout_s``, or failed to.
        """
        if not self._started:
            try:
                first = self._inbox.get(timeout=self._timeout_s)
            except queue.Empty:
                self.close()
                raise SumoError(f"the traffic process did not start within "
                                f"{self._timeout_s:g} s") from None
            self._info = self._decode(first)
            self._started = True
        return self._info

    def _grant(self) -> None:
        """Ask for batches while the child stays within ``ahead`` steps of the loop and
        within the run's ``steps`` (the last batch cut to them)."""
        while self._granted + self._batch <= self._consumed + self._ahead:
            n = self._batch if self._steps is None else min(self._batch,
                                                            self._steps - self._granted)
            if n <= 0:
                return
            self._ask(n)

    def _ask(self, n: int) -> None:
        """Ask the child for ``n`` more steps. When it is gone (it failed, or was killed), the
        reader still takes what it sent before: those steps come first, then its error or the
        end of the pipe, each a SumoError (never an OSError from here)."""
        self._granted += n
        try:
            self._pipe.send(n)
        except OSError:  # BrokenPipeError, ConnectionResetError: the child is gone
            pass

    def _receive(self) -> None:
        """Wait for the next batch; queue its steps."""
        steps = self._wire.decode(self._decode(self._inbox.get()))
        self._ready.extend(steps)
        self._received += len(steps)
        self._recent.extend(s.states.t_ns for s in steps[-2:])

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
        """The next step's states; then asks the child for more steps as the ``ahead``
        rule allows."""
        if self._steps is not None and self._consumed >= self._steps:
            raise SumoError(f"the run's {self._steps} steps are all taken")
        if not self._ready:
            if not self._started:
                _ = self.info  # its answer comes first
            self._receive()
        out = self._ready.popleft()
        self._consumed += 1
        self._names.extend(out.new_names)
        self._pnames.extend(out.new_persons)
        self._collisions = list(out.collisions)
        self._teleports = list(out.teleports)
        self._crossings = list(out.crossings)
        self._persons = out.persons if out.persons is not None else PersonStates.empty(
            out.states.t_ns)
        if out.fired:
            self._fired.extend(out.fired)
        if out.fired_actions:
            self._fired_actions.extend(out.fired_actions)
        if out.skipped:
            self._skipped.extend(out.skipped)
        self.side = out.side
        self._grant()
        return out.states

    def persons(self) -> PersonStates:
        """Persons present at the last step taken."""
        return self._persons

    def collisions(self) -> list[Collision]:
        """Collisions SUMO reported in the last step."""
        return list(self._collisions)

    def teleports(self) -> list[Teleport]:
        """Teleports SUMO started or ended in the last step."""
        return list(self._teleports)

    def vehicle_names(self) -> list[str]:
        """Every vehicle name seen so far; position = vehicle index."""
        return list(self._names)

    def signal_crossings(self) -> list[SignalCrossing]:
        """Stop lines of signalized links crossed in the last step taken."""
        return list(self._crossings)

    def lane_speed_limits(self) -> dict[str, float]:
        """Every lane's ``maxSpeed`` [m/s], as the child side's ``info()`` gave it
        (``"lane_limits"``; empty when it gives none)."""
        info = self.info
        return dict(info.get("lane_limits", {})) if isinstance(info, dict) else {}

    def person_names(self) -> list[str]:
        """Every person name seen so far; position = person index."""
        return list(self._pnames)

    def _produced_before_last(self) -> int | None:
        """Time [ns] of step ``granted - 1``: the child may have computed up to step
        ``granted``, so an action due by that step would land late. SUMO's steps are
        uniform, so it follows from the last two steps that arrived (waits for two)."""
        g = self._granted - 1
        if g < 1:
            return None
        while self._received < min(2, g):
            self._receive()
        r, recent = self._received, self._recent
        if g <= r:
            return recent[-1] - (r - g) * (recent[-1] - recent[0]) if g < r else recent[-1]
        return recent[-1] + (g - r) * (recent[-1] - recent[0])

    def apply(self, actions: Sequence[Action]) -> list[str]:
        """Send ``actions`` to the child; each takes effect right after the step with
        ``t_ns >= at_ns``, as in this process. Returns [] (they take effect in the child;
        targets that were not in the simulation: :meth:`skipped`).

        Raises:
            ConfigError: a malformed action.
            SumoError: an action is due by a step the child may already have passed (at or
                before step ``granted - 1``, granted <= taken + ``ahead``): "closed loop ran
                ahead".
        """
        actions = tuple(actions)
        if not actions:
            return []
        for a in actions:
            check_action(a)
        t = self._produced_before_last()
        late = [a for a in actions if t is not None and a.at_ns <= t]
        if late:
            a = late[0]
            raise SumoError(
                f"closed loop ran ahead: action {a.kind!r} on {a.target!r} at {a.at_ns} ns "
                f"is due by the step at {t} ns, which the traffic process may have passed "
                f"(it runs up to {self._ahead} steps ahead; apply actions at least that far "
                f"after the last step taken)")
        try:
            self._pipe.send(("apply", actions))
        except OSError:  # the child is gone: the next step() says why
            pass
        return []

    def skipped(self) -> list[str]:
        """Targets of actions the child skipped (not in the simulation), up to the last step
        taken."""
        return list(self._skipped)

    def fired(self) -> list[tuple[int, str]]:
        """(t_ns, event name) of the events fired in the steps taken since the last call."""
        out, self._fired = self._fired, []
        return out

    def fired_actions(self) -> list[Action]:
        """The ``rsi_*`` actions of the events fired in the steps taken since the last
        call."""
        out, self._fired_actions = self._fired_actions, []
        return out

    def brake_to_stop(self, name: str, decel: float, hold_s: float) -> bool:
        """Not available mid-run: give scripted stops to the child side in advance, or
        :meth:`apply` a ``stop_in_lane`` action far enough ahead."""
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
