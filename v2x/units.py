"""Simulated time and units.

Inside the library simulated time is an integer count of nanoseconds (``int`` / ``np.int64``)
and every other quantity is SI (m, s, m/s, m/s², degrees where a name ends in ``_deg``).
Durations in scenario files are strings with a unit (``"100 ms"``, ``"5 s"``, ``"2 min"``),
parsed by :func:`parse_duration`. Standard message units (0.02 m/s, 1e-7 degree, secMark, ...)
live only in the codec layer (:mod:`v2x.messages`).
"""

from __future__ import annotations

import datetime as _dt
import re

from v2x.errors import ConfigError

__all__ = [
    "BEIJING",
    "G",
    "NS_PER_MS",
    "NS_PER_S",
    "format_duration",
    "ns_to_s",
    "parse_duration",
    "s_to_ns",
]

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
#: standard gravity [m/s²]
G = 9.80665
#: Beijing time, UTC+8, the zone in which scenario start instants are given
BEIJING = _dt.timezone(_dt.timedelta(hours=8), "CST")

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": NS_PER_MS,
    "s": NS_PER_S,
    "sec": NS_PER_S,
    "min": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
}
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zµ]+)\s*$")


def parse_duration(text: object, *, key: str | None = None, file: object | None = None) -> int:
    """Parse a duration string such as ``"100 ms"`` into integer nanoseconds.

    Accepted units: ns, us (µs), ms, s (sec), min, h. A bare number is refused, because its unit
    would be a guess.

    Raises:
        ConfigError: the text is not ``<non-negative number> <unit>``; names ``key``/``file``.
    """
    if not isinstance(text, str):
        raise ConfigError(
            f"expected a duration string with a unit such as '100 ms', got {text!r}",
            key=key, file=file, value=text,
        )
    m = _DURATION.match(text)
    if not m or m.group(2) not in _UNITS_NS:
        raise ConfigError(
            f"cannot read duration {text!r}: use '<number> <unit>' with unit one of "
            f"{', '.join(sorted(_UNITS_NS))}",
            key=key, file=file, value=text,
        )
    value = float(m.group(1)) * _UNITS_NS[m.group(2)]
    return int(round(value))


def format_duration(ns: int) -> str:
    """Format integer nanoseconds as the shortest exact ``"<n> <unit>"`` string."""
    for unit in ("h", "min", "s", "ms", "us"):
        if ns % _UNITS_NS[unit] == 0 and ns != 0:
            return f"{ns // _UNITS_NS[unit]} {unit}"
    return f"{ns} ns"


def s_to_ns(seconds: float) -> int:
    """Seconds (SUMO's clock) to integer nanoseconds, rounded to the nearest ns."""
    return int(round(seconds * NS_PER_S))


def ns_to_s(ns: int) -> float:
    """Integer nanoseconds to float seconds."""
    return ns / NS_PER_S
