"""Simulation telemetry on the bus: ``v2x/{zone}/sim/{clock|warnings|events}`` (JSON).

:class:`Telemetry` sits between the simulation and its recorder (every call is passed on)
and keeps the ``warnings`` and ``events`` rows the simulation appends; :meth:`Telemetry.merge`
turns a window's rows into bus messages, each at its step, after that step's RSU uplinks:

- ``sim/clock`` every ``clock_period_ns`` of simulated time (default 1 s):
  ``{"t_ns": <simulated time [ns]>, "utc": "<ISO 8601 UTC>"}``;
- ``sim/warnings``, one per step with warnings: ``{"t_ns", "warnings": [{"app", "vehicle",
  "remote", "ttc_s", "gap_m"}]}`` (the ``warnings`` table's columns; vehicle node ids);
- ``sim/events``, one per step with ground-truth events: ``{"t_ns", "events": [{"kind",
  "vehicle", "other", "value"}]}`` (the ``events`` table's columns; an event timed after the
  window, e.g. a driver's braking to come, is published at the window's last step; the
  bus's own ``bus_decode_error`` events are left out, so foreign garbage is never echoed).

Payloads hold simulated values only, so a run's recording stays the same on every bus.
Non-finite numbers (an unknown TTC) are ``null``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._topics import sim_topic

__all__ = ["Telemetry"]

_WARNING_COLS = ("app", "vehicle", "remote", "ttc_s", "gap_m")
_EVENT_COLS = ("kind", "vehicle", "other", "value")


class Telemetry:
    """Telemetry of one run in ``zone``; wraps ``recorder`` (use it in its place).

    Args:
        recorder: the run's recorder (anything with ``append(table, **cols)``).
        zone: the run's zone (topic level).
        start_utc_ns: UTC of simulated time 0 [ns since the Unix epoch].
        clock_period_ns: how often ``sim/clock`` is published [ns of simulated time].
    """

    def __init__(self, recorder: Any, *, zone: str, start_utc_ns: int,
                 clock_period_ns: int = 1_000_000_000) -> None:
        self._rec = recorder
        self._start = start_utc_ns
        self._period = clock_period_ns
        self._topic = {name: sim_topic(zone, name) for name in ("clock", "warnings", "events")}
        self._rows: dict[str, list[Mapping[str, Any]]] = {"warnings": [], "events": []}

    def append(self, table: str, **cols: Any) -> None:
        """``recorder.append``; keeps a copy of ``warnings`` and ``events`` rows."""
        self._rec.append(table, **cols)
        if table in self._rows:
            self._rows[table].append(cols)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rec, name)

    def merge(self, pubs: Sequence[tuple[str, bytes]], pub_t: Sequence[int],
              steps_t_ns: np.ndarray) -> tuple[list[tuple[str, bytes]], list[int], list[int]]:
        """The window's messages ``pubs`` (step times ``pub_t`` [ns], non-decreasing) with
        the telemetry of the window's steps ``steps_t_ns`` (n_steps,) [ns] merged in: each
        telemetry message after its step's other messages. Returns the messages, their step
        times and where each comes from (``i < len(pubs)``: ``pubs[i]``; else telemetry).
        Empties the kept rows."""
        t0, t1 = int(steps_t_ns[0]), int(steps_t_ns[-1])
        extra: list[tuple[int, str, bytes]] = []
        for t in steps_t_ns.tolist():
            if t % self._period == 0:
                utc = dt.datetime.fromtimestamp((self._start + t) / 1e9, dt.UTC)
                extra.append((t, self._topic["clock"], _json(
                    {"t_ns": t, "utc": utc.isoformat(timespec="milliseconds")})))
        for table, cols in (("warnings", _WARNING_COLS), ("events", _EVENT_COLS)):
            for t, items in _by_step(self._rows[table], cols, t0, t1):
                items = [x for x in items if x.get("kind") != "bus_decode_error"]
                if not items:  # the bus's own events are not the simulation's: no echo
                    continue
                extra.append((t, self._topic[table], _json({"t_ns": t, table: items})))
            self._rows[table] = []
        n = len(pubs)
        if not extra:
            return list(pubs), list(pub_t), list(range(n))
        keyed = [(t, 0, i) for i, t in enumerate(pub_t)] + [
            (t, 1, i) for i, (t, _, _) in enumerate(extra)]
        keyed.sort()
        out = [pubs[i] if kind == 0 else extra[i][1:] for _, kind, i in keyed]
        return out, [t for t, _, _ in keyed], [i if kind == 0 else n + i for _, kind, i in keyed]


def _by_step(appended: list[Mapping[str, Any]], cols: tuple[str, ...], t0: int,
             t1: int) -> list[tuple[int, list[dict[str, Any]]]]:
    """Rows grouped by their step (``t_ns`` clipped to the window [t0, t1])."""
    steps: dict[int, list[dict[str, Any]]] = {}
    for block in appended:
        t = np.clip(np.asarray(block["t_ns"], np.int64), t0, t1).tolist()
        values = [np.asarray(block[c]).tolist() for c in cols]
        for k, tk in enumerate(t):
            steps.setdefault(tk, []).append({c: v[k] for c, v in zip(cols, values, strict=True)})
    return sorted(steps.items())


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _json(obj: Mapping[str, Any]) -> bytes:
    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return _finite(x)

    return json.dumps(clean(obj), separators=(",", ":")).encode()
