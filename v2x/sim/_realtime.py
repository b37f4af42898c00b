"""Real-time pacing: simulated time advances no faster than the wall clock.

A real-time run (``v2x run --realtime``) processes one step at a time and holds each step
until its wall instant: step ``t_ns`` of simulated time is due at ``wall0 + t_ns``, where
``wall0`` is the wall instant the loop started (simulated time 0). The loop then reads the
downlink (what external applications published meanwhile), computes the step and publishes
its messages. The *lag* of a step is how late its messages leave: the wall instant its
publishing starts minus its due instant (the step's computation, plus any backlog when a step
took longer than the step length). The *real-time factor* is simulated time over wall time:
``duration / (wall at the end - wall0)``; 1.0 when the loop keeps up (it never exceeds 1: the
loop waits), below 1 when it falls behind.

Wall times here are ``time.monotonic_ns`` (immune to clock adjustments); the bus's wall
latencies are ``time.time_ns`` (comparable across processes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

__all__ = ["RealTimeClock"]


class RealTimeClock:
    """Paces a run to the wall clock and measures how well it keeps up.

    Args:
        clock: monotonic wall clock [ns] (tests may pass their own).

    ::

        rt = RealTimeClock()
        rt.start()                      # wall instant of simulated time 0
        for t_ns in step_times:
            await rt.until(t_ns)        # sleep until the step's wall instant
            ...compute the step...
            rt.leaving(t_ns)            # its messages leave now: records the lag
        rt.summary(duration_ns)         # {"rtf": ..., "lag_max_ms": ..., ...}
    """

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock = clock
        self._wall0: int | None = None
        self._lags_ns: list[int] = []

    def start(self) -> None:
        """Take the current wall instant as simulated time 0."""
        self._wall0 = self._clock()

    def due_ns(self, t_ns: int) -> int:
        """The wall instant [ns, monotonic] step ``t_ns`` [ns of simulated time] is due at.
        Raises RuntimeError before :meth:`start`."""
        if self._wall0 is None:
            raise RuntimeError("RealTimeClock.start() was not called")
        return self._wall0 + int(t_ns)

    async def until(self, t_ns: int) -> None:
        """Sleep until step ``t_ns`` [ns] is due (at once when it is already)."""
        wait_ns = self.due_ns(t_ns) - self._clock()
        if wait_ns > 0:
            await asyncio.sleep(wait_ns / 1e9)

    def leaving(self, t_ns: int) -> float:
        """Step ``t_ns`` [ns]'s messages leave now: record and return its lag [ms] (>= 0
        when the loop is on time or late; a negative lag cannot happen after :meth:`until`)."""
        lag = self._clock() - self.due_ns(t_ns)
        self._lags_ns.append(lag)
        return lag / 1e6

    def elapsed_s(self) -> float:
        """Wall time since :meth:`start` [s]."""
        return (self._clock() - self.due_ns(0)) / 1e9

    def summary(self, duration_ns: int) -> dict[str, float]:
        """What ``run.json`` ``summary.realtime`` holds: ``rtf`` (simulated ``duration_ns``
        over the wall time since start), ``lag_mean_ms``, ``lag_p95_ms``, ``lag_max_ms`` over
        the steps (NaN-free: 0 with no step), ``steps`` and ``wall_s``."""
        wall_s = self.elapsed_s()
        lags = np.asarray(self._lags_ns, np.float64) / 1e6
        has = lags.size > 0
        return {"rtf": duration_ns / 1e9 / wall_s if wall_s > 0 else 0.0,
                "wall_s": wall_s, "steps": int(lags.size),
                "lag_mean_ms": float(lags.mean()) if has else 0.0,
                "lag_p95_ms": float(np.percentile(lags, 95)) if has else 0.0,
                "lag_max_ms": float(lags.max()) if has else 0.0}
