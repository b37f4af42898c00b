"""Conformance check of captured V2X frames: ``v2x check FILE`` (project issue 3).

Reads UPER MessageFrames (T/CSAE 53-2020 Day 1, :func:`v2x.messages.decode_frame`) captured
from a device, or recorded by a run, and reports per sender and message type (a *stream*)
what a pilot-zone engineer checks before trusting the device::

    from analysis import check

    report = check("capture.jsonl")            # or a run directory
    print(report.to_text())
    report.ok, report.violations                # False, 3

Inputs
------
* **JSON lines**: one object per line, ``{"t": <capture time>, "sender": "<device id>",
  "frame": "<hex>"}``. ``t`` is ISO 8601 with a UTC offset (``"2024-05-01T08:00:00.123+08:00"``,
  read to the microsecond) or UTC epoch seconds as a JSON number (read exactly, as a decimal,
  to the ns). ``sender`` is optional:
  without it the sender is the decoded message's id (BSM, RSI, RSM ``id`` as 16 hex digits)
  or ``"intersection <id>"`` (``<region>/<id>`` with a region) of a MAP's first node or a
  SPAT's first intersection. Blank lines are skipped.
* **A run directory** (``docs/recording.md``): ``transmissions.parquet`` columns ``t_ns``,
  ``sender``, ``frame`` (binary, the UPER MessageFrame of each transmission) and, if present,
  ``msg_type`` and ``tx_id``; capture time = ``run.json`` ``start`` + ``t_ns``. The recording
  of a run that did not complete (killed, failed, interrupted, still running) is checked on
  every frame it holds, its part files included, and the report says it is partial
  (:attr:`CheckReport.partial`; the exit code is that of the findings).

Unreadable lines
----------------
A line that cannot be read as a captured frame is an *input problem* (:class:`InputProblem`):
it is counted, reported with its line number, the reason and the value at fault, left out of
the check, and the check goes on with the other lines (never a traceback). A line is
unreadable when it is not UTF-8, not JSON (a truncated last line included), nested deeper than
the JSON parser can follow, not an object, lacks ``t`` or ``frame``, has a ``t`` of the wrong
type or outside the accepted range, a ``frame`` that is not a string of an even number of hex
digits (or is empty), a bad ``sender``, or is longer than :data:`MAX_LINE_BYTES`.

Capture times must lie in [1970-01-01T00:00:00Z, 2100-01-01T00:00:00Z) (epoch seconds 0 up to
4102444800, :data:`TIME_RANGE_NS`). Times are held as int64 UTC ns, which end in 2262: the
bound keeps every time, and every difference of two times, exact in int64 (``1e20`` or
``"9999-12-31T23:59:59+00:00"`` would overflow it), and no equipment can have captured a frame
before the Unix epoch (a negative time is a clock fault) or after 2100. ``run.json``'s
``start`` obeys the same range.

Findings (``kind``, severity; counts are of messages unless said otherwise)
--------------------------------------------------------------------------
Violations (make ``ok`` False and ``v2x check`` exit 1):

``decode_error``
    the bytes are not a valid MessageFrame (ASN.1 UPER, constraints checked).
``type_mismatch``
    (recordings) the ``msg_type`` column differs from the decoded frame.
``position_unavailable``
    BSM ``pos.lat`` 900000001 or ``pos.long`` 1800000001: the BSM is useless to a receiver.
``sec_mark_unavailable``
    BSM ``secMark`` >= 60000 (65535 unavailable; CSAE reads 60000 and above as invalid).
``rate``
    the stream's median inter-arrival > period x (1 + rate tolerance); 1 per stream.
``msg_cnt_skip``
    messages are missing between two consecutive messages of a stream (rule below); 1 per
    gap, the example says how many (:attr:`StreamReport.missed` sums them).
``sec_mark_offset``
    BSM ``secMark`` (or SPAT ``timeStamp``) vs the capture time's ms of the minute: the
    circular distance (mod 60000 ms) exceeds the tolerance.
``map_phase_missing``
    a MAP node's movement / connection ``phaseId`` that no SPAT of that intersection in the
    capture carries (T/CSAE 159: every movement's phaseId must exist in the SPAT); 1 per
    (intersection, phaseId), on each stream that broadcast that MAP node.

Warnings (reported, do not fail the check):

``speed_unavailable``, ``heading_unavailable``
    BSM speed 8191 / heading 28800: allowed by the standard, but FCW cannot use the BSM.
``size_invalid``
    BSM ``size.width`` or ``size.length`` 0 (CSAE "0 = invalid").
``light_unavailable``
    a SPAT phase whose current light is ``unavailable`` (0).
``participant_unavailable``
    an RSM with a participant whose secMark, speed or heading is unavailable.
``msg_cnt_repeat``
    the same ``msgCnt`` twice in a row (a duplicate capture or a repetition).
``msg_cnt_time_mismatch``
    the msgCnt step and the time between two consecutive messages disagree (rule below): a
    sender that paused without advancing its counter, or skipped numbers without time passing.
``map_without_spat``
    a MAP node with phaseIds and no SPAT of that intersection in the capture (the capture
    may simply not have heard it, so the phases cannot be checked).

Streams are ordered by capture time (input order breaks ties) before the rate and msgCnt checks.
An undecodable frame belongs to no stream's sequence, so a corrupted frame in the middle of a
stream shows as a ``decode_error`` and, next to it, a ``msg_cnt_skip``. A frame on which the
decoder fails with any exception (not only :class:`~v2x.errors.DecodeError`) is a
``decode_error`` naming its line.

msgCnt: missing messages counted with time
------------------------------------------
T/CSAE 53-2020 ``MsgCount`` (0..127, STANDARDS.md section 1): a sender numbers the messages of
one type it sends one after the other, from a random start, 127 being followed by 0; it may
keep the same number when it sends the same frame again (the standard's definition of the data
element as quoted in public field guides and code of this message set, (to verify) against the
standard's own text; J2735 ``DE_MsgCount`` reads the same). The counter alone cannot tell 1
missing message from 129: at 10 Hz it wraps every 12.8 s. So, for two consecutive messages of
a stream, ``dt`` [s] apart, with counter step ``s = (msgCnt2 - msgCnt1) mod 128``:

* ``s = 0`` is a repeat (``msg_cnt_repeat``), nothing is inferred;
* the counter says ``s - 1`` missing, modulo 128; the time says about
  ``e = max(0, round(dt / period) - 1)``; the count reported is ``n = s - 1 + 128 w`` with
  the number of wraps ``w = max(0, round((e - (s - 1)) / 128))`` (the count of that residue
  nearest to the time's estimate). ``n >= 1`` is a ``msg_cnt_skip``. Example: 126 -> 0 after
  13 s of silence at 10 Hz: ``s = 2``, ``e = 130 - 1 = 129``, ``w = 1``, ``n = 129``.
* ``|n - e| > 1 + e // 10`` (one message for timing jitter, 10 % for the period's error over a
  long gap) is a ``msg_cnt_time_mismatch`` warning.

``period`` is the stream's observed period: the median interval between consecutive messages
whose counter advanced by exactly 1 (intervals known to hold no loss); when there is none, the
required period of its type (:data:`CHECK_PERIODS`: BSM 100 ms, 10 Hz). Time is used for
BSM streams only: a vehicle sends its BSM at its period for as long as it is on the road, and
never the same frame twice (its ``secMark`` changes, so every BSM takes a new number). Other
types are counted by their counter alone: an RSU may repeat a number for an unchanged MAP,
SPAT, RSI or RSM, and sends RSM only while its sensors perceive someone and RSI only while an
item is active, so a silence in those streams is not a loss. A vehicle that fell silent for
``dt`` and resumed counting where it stopped cannot be told from one whose BSMs were lost:
either way nothing was heard from it for ``dt``.

Exit codes (:attr:`CheckReport.exit_code`, :func:`main_check`, ``v2x check``)
---------------------------------------------------------------------------
* 0 (:data:`EXIT_CONFORMANT`): every line was read, no violation (warnings allowed).
* 1 (:data:`EXIT_VIOLATIONS`): every line was read, violations found.
* 2 (:data:`EXIT_UNREADABLE`): the input is unreadable, nothing was checked: no such file, a
  file that cannot be opened or read, a directory that is not a readable recording, or a file
  with no readable frame (empty, binary, every line unreadable); also a usage error (a bad
  option value).
* 3 (:data:`EXIT_PARTLY_UNREADABLE`): some lines (rows) were unreadable; they are listed, and
  every other line was checked (the report also gives its violations). It takes precedence over
  1: the verdict covers only part of the input.
* 70 (:data:`EXIT_INTERNAL_ERROR`, ``EX_SOFTWARE`` of BSD ``sysexits.h``): the checker itself
  failed, a bug; one line on stderr names the input and the exception, no traceback.

The codec (:mod:`v2x.messages`, with asn1tools and pyproj) is imported when :func:`check`
runs, not when :mod:`analysis` is imported (``tests/analysis/test_public.py`` keeps
``import analysis`` light).

Settings (keyword arguments of :func:`check`)
---------------------------------------------
* ``periods``: required period per message type, overriding :data:`CHECK_PERIODS`; values
  integer ns or duration strings (``"100 ms"``), ``None`` switches the rate check off for a
  type. Defaults from T/CSAE 159-2020 as cited in STANDARDS.md section 2 **(to verify)**: MAP
  1 s, SPAT 500 ms, RSM 100 ms, RSI 1 s (the static-RSI period: pass ``{"RSI": "100 ms"}``
  for dynamic events; a frame does not say which kind it is), BSM 100 ms (10 Hz, T/CSAE 53).
* ``rate_tolerance`` 0.10: a median interval up to 10 % over the period passes.
* ``sec_mark_tolerance`` 100 ms: one BSM period; a BSM heard more than one period after its
  secMark has been superseded. The capture time includes air latency and the capture clock's
  error, so a device whose clock is synchronised within a few ms passes.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import numpy as np

from v2x.errors import ConfigError, DecodeError, RecordingError, V2XError
from v2x.msgset import FRAME_CHOICES, MSG_TYPES, resolve_profile
from v2x.units import NS_PER_MS, NS_PER_S, format_duration, parse_duration

__all__ = [
    "CHECK_KINDS",
    "CHECK_PERIODS",
    "EXIT_CONFORMANT",
    "EXIT_INTERNAL_ERROR",
    "EXIT_PARTLY_UNREADABLE",
    "EXIT_UNREADABLE",
    "EXIT_VIOLATIONS",
    "MAX_LINE_BYTES",
    "TIME_RANGE_NS",
    "CheckReport",
    "Finding",
    "FindingExample",
    "InputProblem",
    "IntersectionCheck",
    "StreamReport",
    "check",
    "main_check",
]

#: required broadcast period [ns] per message type (T/CSAE 159-2020 via STANDARDS.md
#: section 2, (to verify); BSM 10 Hz). Override with ``check(..., periods=...)``.
CHECK_PERIODS: Mapping[str, int] = {
    "BSM": 100 * NS_PER_MS,
    "MAP": 1 * NS_PER_S,
    "RSI": 1 * NS_PER_S,
    "RSM": 100 * NS_PER_MS,
    "SPAT": 500 * NS_PER_MS,
}

#: kind -> severity ("violation" or "warning"); the module docstring says what each means
CHECK_KINDS: Mapping[str, str] = {
    "decode_error": "violation",
    "type_mismatch": "violation",
    "position_unavailable": "violation",
    "sec_mark_unavailable": "violation",
    "rate": "violation",
    "msg_cnt_skip": "violation",
    "sec_mark_offset": "violation",
    "map_phase_missing": "violation",
    "speed_unavailable": "warning",
    "heading_unavailable": "warning",
    "size_invalid": "warning",
    "light_unavailable": "warning",
    "participant_unavailable": "warning",
    "msg_cnt_repeat": "warning",
    "msg_cnt_time_mismatch": "warning",
    "map_without_spat": "warning",
}

#: exit codes of :func:`main_check` and ``v2x check`` (module docstring, "Exit codes")
EXIT_CONFORMANT = 0
EXIT_VIOLATIONS = 1
EXIT_UNREADABLE = 2
EXIT_PARTLY_UNREADABLE = 3
EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE, BSD sysexits.h: an internal software error

#: accepted capture times [UTC ns]: [1970-01-01T00:00:00Z, 2100-01-01T00:00:00Z), so that
#: times and their differences stay exact in int64 ns (module docstring, "Unreadable lines")
TIME_RANGE_NS: tuple[int, int] = (0, 4_102_444_800 * NS_PER_S)

#: longest capture line read [bytes] (1 MiB): a record is a frame of at most a few kB as hex;
#: a longer line is reported unreadable without being held in memory
MAX_LINE_BYTES = 1 << 20

_TYPES = FRAME_CHOICES  # MessageFrame root alternatives, in order
_NS_PER_MIN = 60 * NS_PER_S
_MS_PER_MIN = 60_000
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_UNKNOWN = "?"


# =========================================================================== report values


@dataclass(frozen=True)
class FindingExample:
    """Where a finding occurred (``"line 12"``, ``"row 40 (tx_id 40)"``,
    ``"intersection 17"``) and what was seen there."""

    where: str
    detail: str


@dataclass(frozen=True)
class Finding:
    """One kind of finding in a stream: ``kind`` (see :data:`CHECK_KINDS`), ``severity``
    (``"violation"`` or ``"warning"``), ``count`` and the first ``examples`` (input order,
    or capture-time order for the rate / msgCnt / secMark-offset checks)."""

    kind: str
    severity: str
    count: int
    examples: tuple[FindingExample, ...]


@dataclass(frozen=True)
class StreamReport:
    """The messages of one (``sender``, ``msg_type``).

    ``frames`` attributed to the stream (decoded + undecodable), ``decoded``; capture times
    ``first_ns`` / ``last_ns`` [UTC ns since the Unix epoch] of decoded messages (``None``
    when none); ``median_interval_ns`` [ns] and ``rate_hz`` [Hz] ((decoded - 1) / span) when
    at least two were decoded; ``period_ns`` the required period (``None``: not checked);
    ``findings`` sorted violations first, then by kind; ``missed`` the messages missing
    between decoded ones, by msgCnt with its wraps counted by time (module docstring).
    """

    sender: str
    msg_type: str
    frames: int
    decoded: int
    first_ns: int | None
    last_ns: int | None
    median_interval_ns: float | None
    rate_hz: float | None
    period_ns: int | None
    findings: tuple[Finding, ...]
    missed: int = 0

    @property
    def violations(self) -> int:
        """Total count of violation findings."""
        return sum(f.count for f in self.findings if f.severity == "violation")

    @property
    def warnings(self) -> int:
        """Total count of warning findings."""
        return sum(f.count for f in self.findings if f.severity == "warning")

    def finding(self, kind: str) -> Finding | None:
        """The finding of ``kind``, or ``None`` when there is none."""
        for f in self.findings:
            if f.kind == kind:
                return f
        return None

    def count(self, kind: str) -> int:
        """The count of ``kind`` (0 when absent)."""
        f = self.finding(kind)
        return 0 if f is None else f.count


@dataclass(frozen=True)
class IntersectionCheck:
    """MAP/SPAT consistency of one intersection (``node``: ``"<id>"`` or
    ``"<region>/<id>"``): the phaseIds its MAP movements use, those its SPATs carry, and the
    MAP phaseIds missing from the SPATs (empty when no SPAT was seen: ``spat_seen`` False)."""

    node: str
    map_phases: tuple[int, ...]
    spat_phases: tuple[int, ...]
    missing: tuple[int, ...]
    spat_seen: bool


@dataclass(frozen=True)
class InputProblem:
    """A line or row that could not be read as a captured frame (it is left out of the
    check): ``where`` (``"line 3"``) and ``message``, which gives the reason and the value at
    fault; or the whole input when it held no frame (``where`` is then its path)."""

    where: str
    message: str


@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check`.

    ``source`` the path; ``input_kind`` ``"jsonl"`` or ``"recording"``; ``records`` lines with
    content / rows read; ``frames`` of them that held a frame; ``streams`` sorted by message
    type then sender; ``intersections`` the MAP/SPAT consistency per MAP node;
    ``input_problems``; the settings used: ``periods_ns``, ``rate_tolerance``,
    ``sec_mark_tolerance_ns``; and ``partial``, for the recording of a run that did not
    complete, the line that says so (:attr:`analysis.Partial.reason`), else None.
    """

    source: str
    input_kind: str
    records: int
    frames: int
    streams: tuple[StreamReport, ...]
    intersections: tuple[IntersectionCheck, ...]
    input_problems: tuple[InputProblem, ...]
    periods_ns: Mapping[str, int | None]
    rate_tolerance: float
    sec_mark_tolerance_ns: int
    partial: str | None = None

    @property
    def violations(self) -> int:
        """Total count of violations over every stream."""
        return sum(s.violations for s in self.streams)

    @property
    def warnings(self) -> int:
        """Total count of warnings over every stream."""
        return sum(s.warnings for s in self.streams)

    @property
    def ok(self) -> bool:
        """True when there is no violation and no input problem."""
        return self.violations == 0 and not self.input_problems

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_UNREADABLE` (2) when no frame could be read, else
        :data:`EXIT_PARTLY_UNREADABLE` (3) when some lines could not, else
        :data:`EXIT_VIOLATIONS` (1) or :data:`EXIT_CONFORMANT` (0)."""
        if self.frames == 0:
            return EXIT_UNREADABLE
        if self.input_problems:
            return EXIT_PARTLY_UNREADABLE
        return EXIT_VIOLATIONS if self.violations else EXIT_CONFORMANT

    def stream(self, sender: str, msg_type: str) -> StreamReport:
        """The stream of (``sender``, ``msg_type``). Raises KeyError when there is none."""
        for s in self.streams:
            if s.sender == sender and s.msg_type == msg_type:
                return s
        raise KeyError((sender, msg_type))

    def counts(self) -> dict[str, int]:
        """Total count per finding kind over every stream (kinds with a count only)."""
        out: dict[str, int] = {}
        for s in self.streams:
            for f in s.findings:
                out[f.kind] = out.get(f.kind, 0) + f.count
        return dict(sorted(out.items()))

    # ------------------------------------------------------------------ rendering
    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (times [ns], rates [Hz])."""
        return {
            "source": self.source,
            "input_kind": self.input_kind,
            "partial": self.partial,
            "records": self.records,
            "frames": self.frames,
            "ok": self.ok,
            "violations": self.violations,
            "warnings": self.warnings,
            "exit_code": self.exit_code,
            "settings": {
                "periods_ns": dict(self.periods_ns),
                "rate_tolerance": self.rate_tolerance,
                "sec_mark_tolerance_ns": self.sec_mark_tolerance_ns,
            },
            "counts": self.counts(),
            "streams": [{
                "sender": s.sender, "msg_type": s.msg_type, "frames": s.frames,
                "decoded": s.decoded, "first_ns": s.first_ns, "last_ns": s.last_ns,
                "median_interval_ns": s.median_interval_ns, "rate_hz": s.rate_hz,
                "period_ns": s.period_ns, "missed": s.missed, "violations": s.violations,
                "warnings": s.warnings,
                "findings": [{"kind": f.kind, "severity": f.severity, "count": f.count,
                              "examples": [{"where": e.where, "detail": e.detail}
                                           for e in f.examples]} for f in s.findings],
            } for s in self.streams],
            "intersections": [{
                "node": i.node, "map_phases": list(i.map_phases),
                "spat_phases": list(i.spat_phases), "missing": list(i.missing),
                "spat_seen": i.spat_seen} for i in self.intersections],
            "input_problems": [{"where": p.where, "message": p.message}
                               for p in self.input_problems],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (UTF-8, indented)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        """A plain-text report for the terminal: one line per stream, then every finding
        with its first examples, the intersections, the input problems and the verdict."""
        kind = "JSON lines" if self.input_kind == "jsonl" else "recording"
        unit = "lines" if self.input_kind == "jsonl" else "rows"
        per = ", ".join(f"{t} {'-' if p is None else format_duration(p)}"
                        for t, p in self.periods_ns.items())
        title = (f"v2x check {self.source} ({kind}: {self.records} {unit}, "
                 f"{self.frames} frames)")
        settings = (f"periods: {per} (T/CSAE 159, to verify); rate tolerance "
                    f"{self.rate_tolerance:.0%}; secMark tolerance "
                    f"{format_duration(self.sec_mark_tolerance_ns)}")
        out = [title, *([self.partial] if self.partial else []), settings, ""]
        head = ("sender", "type", "frames", "decoded", "missed", "rate_Hz", "median_ms",
                "period_ms", "violations", "warnings")
        rows = [head]
        for s in self.streams:
            rows.append((s.sender, s.msg_type, str(s.frames), str(s.decoded), str(s.missed),
                         "-" if s.rate_hz is None else f"{s.rate_hz:.2f}",
                         "-" if s.median_interval_ns is None
                         else f"{s.median_interval_ns / NS_PER_MS:.1f}",
                         "-" if s.period_ns is None else f"{s.period_ns / NS_PER_MS:g}",
                         str(s.violations), str(s.warnings)))
        widths = [max(len(r[k]) for r in rows) for k in range(len(head))]
        for r in rows:
            out.append("  ".join(c.ljust(w) if k < 2 else c.rjust(w)
                                 for k, (c, w) in enumerate(zip(r, widths, strict=True))))
        for severity in ("violation", "warning"):
            lines = []
            for s in self.streams:
                for f in s.findings:
                    if f.severity != severity:
                        continue
                    lines.append(f"  {s.sender} {s.msg_type} {f.kind}: {f.count}")
                    lines.extend(f"      {e.where}: {e.detail}" for e in f.examples)
            if lines:
                out += ["", f"{severity}s:", *lines]
        if self.intersections:
            out += ["", "MAP/SPAT phases:"]
            for i in self.intersections:
                spat = ", ".join(map(str, i.spat_phases)) if i.spat_seen else "no SPAT seen"
                miss = f"; missing {', '.join(map(str, i.missing))}" if i.missing else ""
                out.append(f"  intersection {i.node}: MAP {', '.join(map(str, i.map_phases))}"
                           f" | SPAT {spat}{miss}")
        if self.input_problems:
            out += ["", f"input problems: {len(self.input_problems)} (unreadable {unit}, "
                        f"left out of the check)"]
            out += [f"  {self.source}: {p.message}" if p.where == self.source
                    else f"  {self.source}, {p.where}: {p.message}"
                    for p in self.input_problems]
        verdict = {EXIT_CONFORMANT: "PASS", EXIT_VIOLATIONS: "FAIL",
                   EXIT_PARTLY_UNREADABLE: "INCOMPLETE", EXIT_UNREADABLE: "UNREADABLE"}[
            self.exit_code]
        out += ["", (f"result: {verdict} ({self.violations} violations, "
                     f"{self.warnings} warnings, {len(self.input_problems)} input problems)")]
        return "\n".join(out)


# =========================================================================== inputs


@dataclass
class _Input:
    """Frames read from a file: one entry per record that held a frame."""

    kind: str
    records: int
    t_ns: np.ndarray  # (n,) int64 UTC capture time
    frames: list[bytes]
    sender: np.ndarray  # (n,) int64 code into senders, -1 = not given
    senders: list[str]
    recorded_type: list[str] | None  # (n,) msg_type column of a recording
    where: Callable[[int], str]
    problems: list[InputProblem]
    partial: str | None = None  # a recording of a run that did not complete: why, how far


_TIME_RANGE_TEXT = ("capture times must be from 1970-01-01T00:00:00Z up to 2100-01-01T00:00:00Z "
                    "(epoch seconds 0 up to 4102444800)")


def _show(value: object, limit: int = 60) -> str:
    """A JSON value as shown in a message: text quoted, numbers as written, containers by
    kind only (their repr could be huge or too deep to print), cut to about ``limit``."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return repr(value[:limit]) + (f"... ({len(value)} characters)"
                                      if len(value) > limit else "")
    try:
        text = str(value)
    except ValueError:  # an int too long to print (sys.int_info.str_digits_check_threshold)
        return f"a {type(value).__name__} too long to print"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _in_range(ns: int, shown: str) -> int:
    lo, hi = TIME_RANGE_NS
    if not lo <= ns < hi:
        raise ValueError(f"{shown} is out of range: {_TIME_RANGE_TEXT}")
    return ns


def _iso_ns(text: str) -> int:
    """UTC ns of an ISO 8601 time with a UTC offset, within :data:`TIME_RANGE_NS`; raises
    ValueError naming the value."""
    try:
        t = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {_show(text)}") from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"no UTC offset in {_show(text)} (add Z or +08:00)")
    try:
        ns = (t - _EPOCH) // _dt.timedelta(microseconds=1) * 1000
    except OverflowError:  # year 1 with a positive offset: before datetime.min in UTC
        ns = TIME_RANGE_NS[0] - 1
    return _in_range(ns, _show(text))


def _time_ns(t: object) -> int:
    """Capture time [UTC ns] of a JSON ``t``; raises ValueError naming the value (without
    the key)."""
    if isinstance(t, str):
        return _iso_ns(t)
    if isinstance(t, bool) or not isinstance(t, int | Decimal):
        raise ValueError(f"must be an ISO 8601 time or epoch seconds, got {_show(t)}")
    if isinstance(t, Decimal) and not t.is_finite():
        raise ValueError(f"must be finite, got {_show(t)}")
    lo, hi = TIME_RANGE_NS
    if not lo // NS_PER_S <= t < hi // NS_PER_S:  # exact for int and Decimal: no overflow
        raise ValueError(f"{_show(t)} is out of range: {_TIME_RANGE_TEXT}")
    if isinstance(t, int):
        return t * NS_PER_S
    with localcontext(prec=40):  # ns of a time before 2100 need 19 digits; any exponent is fine
        ns = int((t * NS_PER_S).to_integral_value(rounding=ROUND_HALF_EVEN))
    return _in_range(ns, _show(t))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number in JSON")


def _lines(fh: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | int]]:
    """(line number, line) of a binary file; a line longer than ``limit`` bytes is skipped
    without being held, and given as its length instead."""
    lineno = 0
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield lineno, raw
            continue
        size = len(raw)
        while raw and not raw.endswith(b"\n"):
            raw = fh.readline(1 << 16)
            size += len(raw)
        yield lineno, size


class _LineError(Exception):
    """A line that cannot be read: the message of its :class:`InputProblem`."""


def _parse_line(raw: bytes, *, first: bool) -> tuple[int, bytes, object]:
    """(capture time [ns], frame, sender) of one capture line (``first``: the file's first,
    where a UTF-8 byte order mark is skipped); raises _LineError."""
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        raise _LineError(f"not UTF-8 text ({exc.reason} at byte {exc.start} of the line): "
                         f"{_show(raw.decode('utf-8', 'replace').strip())}") from None
    try:
        # without its line break, an error at the end of the line has its column
        obj = json.loads(text.rstrip("\r\n"), parse_float=Decimal,
                         parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # only the last line can end without a newline (longer lines are cut off before)
        cut = ("; the last line has no newline: the file may be truncated"
               if not raw.endswith(b"\n") else "")
        at = exc.msg if exc.msg.endswith(" at") else f"{exc.msg} at"
        raise _LineError(f"not JSON ({at} column {exc.colno}{cut}): "
                         f"{_show(text.strip())}") from None
    except RecursionError:
        raise _LineError(f"not JSON that can be read: nested too deeply: "
                         f"{_show(text.strip())}") from None
    except ValueError as exc:  # NaN / Infinity; an integer of more than 4300 digits
        raise _LineError(f"not JSON ({exc}): {_show(text.strip())}") from None
    if not isinstance(obj, dict):
        raise _LineError(f'expected a JSON object {{"t", "frame", "sender"}}, got {_show(obj)}')
    missing = [k for k in ("t", "frame") if k not in obj]
    if missing:
        keys = ", ".join(_show(k) for k in list(obj)[:5]) + (", ..." if len(obj) > 5 else "")
        raise _LineError("key " + ", ".join(f"'{k}'" for k in missing) + " missing (keys: "
                         + (keys or "none") + ")")
    try:
        t_ns = _time_ns(obj["t"])
    except ValueError as exc:
        raise _LineError(f"'t' {exc}") from None
    hexed = obj["frame"]
    if not isinstance(hexed, str):
        raise _LineError(f"'frame' must be a hex string, got {_show(hexed)}")
    digits = sum(not c.isspace() for c in hexed)
    if digits == 0:
        raise _LineError(f"'frame' is empty: {_show(hexed)}")
    try:
        frame = bytes.fromhex(hexed)
    except ValueError as exc:
        what = ("an odd number of hex digits" if digits % 2 and all(
            c in "0123456789abcdefABCDEF" or c.isspace() for c in hexed) else str(exc))
        raise _LineError(f"'frame' is not hex ({what}): {_show(hexed)}") from None
    s = obj.get("sender")
    if s is not None and not (isinstance(s, str) and s
                              or isinstance(s, int) and not isinstance(s, bool)):
        raise _LineError(f"'sender' must be a non-empty string or an integer, got {_show(s)}")
    return t_ns, frame, s


def _read_jsonl(path: Path) -> _Input:
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot open: {exc}") from exc
    lines: list[int] = []
    times: list[int] = []
    frames: list[bytes] = []
    sender: list[int] = []
    senders: list[str] = []
    codes: dict[str, int] = {}
    problems: list[InputProblem] = []
    records = 0
    try:
        with fh:
            for lineno, raw in _lines(fh, MAX_LINE_BYTES):
                if isinstance(raw, int):
                    records += 1
                    problems.append(InputProblem(
                        f"line {lineno}", f"longer than {MAX_LINE_BYTES} bytes ({raw} bytes): "
                                          f"not a capture record"))
                    continue
                if not raw.strip():
                    continue
                records += 1
                try:
                    t_ns, frame, s = _parse_line(raw, first=lineno == 1)
                except _LineError as exc:
                    problems.append(InputProblem(f"line {lineno}", str(exc)))
                    continue
                if s is None:
                    code = -1
                else:
                    label = str(s)
                    code = codes.setdefault(label, len(codes))
                    if code == len(senders):
                        senders.append(label)
                lines.append(lineno)
                times.append(t_ns)
                frames.append(frame)
                sender.append(code)
    except OSError as exc:  # a read error part-way (a vanished mount, EIO)
        raise RecordingError(f"{path}: cannot read: {exc}") from exc
    line_arr = lines

    return _Input(kind="jsonl", records=records, t_ns=np.array(times, np.int64), frames=frames,
                  sender=np.array(sender, np.int64), senders=senders, recorded_type=None,
                  where=lambda i: f"line {line_arr[i]}", problems=problems)


def _read_recording(root: Path) -> _Input:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis._recording import partial_of
    from v2x.recorder._layout import table_files, table_path

    run_path = root / "run.json"
    try:
        run = json.loads(run_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RecordingError(f"{run_path}: file missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingError(f"{run_path}: cannot read JSON: {exc}") from exc
    if not isinstance(run, dict) or "start" not in run:
        status = run.get("status", "complete") if isinstance(run, dict) else "complete"
        if status != "complete":  # a partial recording written before runs kept 'start'
            raise RecordingError(f"{run_path}: the run did not complete (status {status!r}) "
                                 "and has no 'start' to time its frames by")
        raise RecordingError(f"{run_path}: key 'start' missing")
    try:
        start_ns = _iso_ns(str(run["start"]))
    except ValueError as exc:
        raise RecordingError(f"{run_path}: key 'start': {exc}") from exc
    partial = partial_of(root, run)
    path = table_path(root, "transmissions")
    files = table_files(root, "transmissions")
    if files is None and partial is None:
        raise RecordingError(f"{path}: file missing")
    names: list[str] = []
    for f in files or []:  # every part file: the one whose schema is off is named
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowException) as exc:
            raise RecordingError(f"{f}: not a readable Parquet file: {exc}") from exc
        if "frame" not in schema.names:
            raise RecordingError(f"{f}: column 'frame' missing (the UPER frame of each "
                                 f"transmission; this recording predates it, re-record the run)")
        for col in ("t_ns", "sender"):
            if col not in schema.names:
                raise RecordingError(f"{f}: column '{col}' missing")
            if not pa.types.is_integer(schema.field(col).type):
                raise RecordingError(f"{f}: column '{col}' has type "
                                     f"{schema.field(col).type}, expected int")
        ftype = schema.field("frame").type
        if not (pa.types.is_binary(ftype) or pa.types.is_large_binary(ftype)
                or pa.types.is_fixed_size_binary(ftype)):
            raise RecordingError(f"{f}: column 'frame' has type {ftype}, expected binary")
        names = schema.names
    cols = ["t_ns", "sender", "frame"] + [c for c in ("msg_type", "tx_id") if c in names]
    try:
        if files:
            table = pq.read_table(str(files[0]) if len(files) == 1 else [str(f) for f in files],
                                  columns=cols)
        else:  # a partial run that never wrote a transmission
            table = pa.table({"t_ns": pa.array([], pa.int64()),
                              "sender": pa.array([], pa.int64()),
                              "frame": pa.array([], pa.binary())})
    except (OSError, pa.ArrowException) as exc:
        raise RecordingError(f"{path}: cannot read: {exc}") from exc
    n = table.num_rows
    t_ns = table.column("t_ns").to_numpy(zero_copy_only=False).astype(np.int64) + start_ns
    raw_sender = table.column("sender").to_numpy(zero_copy_only=False).astype(np.int64)
    raw_frames = table.column("frame").to_pylist()
    tx_id = (table.column("tx_id").to_numpy(zero_copy_only=False).astype(np.int64)
             if "tx_id" in cols else None)
    rtype = ([str(x) for x in table.column("msg_type").to_pylist()]
             if "msg_type" in cols else None)

    def where_row(row: int) -> str:
        return f"row {row}" + ("" if tx_id is None else f" (tx_id {int(tx_id[row])})")

    keep = ~table.column("frame").is_null().to_numpy(zero_copy_only=False)
    problems = [InputProblem(where_row(i), "'frame' is null")
                for i in np.flatnonzero(~keep).tolist()]
    rows = np.flatnonzero(keep)
    uniq, code = np.unique(raw_sender[rows], return_inverse=True)
    return _Input(kind="recording", records=n, t_ns=t_ns[rows],
                  frames=[raw_frames[i] for i in rows], sender=code.astype(np.int64),
                  senders=[str(int(s)) for s in uniq],
                  recorded_type=None if rtype is None else [rtype[i] for i in rows],
                  where=lambda i: where_row(int(rows[i])), problems=problems,
                  partial=None if partial is None else partial.reason)


# =========================================================================== findings


class _Findings:
    """Counts and first examples per (stream key, kind)."""

    def __init__(self, n_examples: int, where: Callable[[int], str]) -> None:
        self.n_examples = n_examples
        self.where = where
        self.counts: dict[tuple[int, str], int] = {}
        self.examples: dict[tuple[int, str], list[FindingExample]] = {}

    def add(self, key: int, kind: str, where: str, detail: str, count: int = 1) -> None:
        k = (key, kind)
        self.counts[k] = self.counts.get(k, 0) + count
        ex = self.examples.setdefault(k, [])
        if len(ex) < self.n_examples:
            ex.append(FindingExample(where, detail))

    def add_items(self, keys: np.ndarray, kind: str, items: np.ndarray,
                  detail: Callable[[int], str]) -> None:
        """Items (input indices) with their stream keys; ``detail(j)`` of position j in
        ``items``, called for examples only. Examples keep the given order per key."""
        if items.size == 0:
            return
        order = np.argsort(keys, kind="stable")
        uniq, start, count = np.unique(keys[order], return_index=True, return_counts=True)
        for key, s, c in zip(uniq.tolist(), start.tolist(), count.tolist(), strict=True):
            k = (int(key), kind)
            self.counts[k] = self.counts.get(k, 0) + int(c)
            ex = self.examples.setdefault(k, [])
            for j in order[s:s + min(c, self.n_examples)].tolist():
                if len(ex) < self.n_examples:
                    ex.append(FindingExample(self.where(int(items[j])), detail(j)))


# =========================================================================== the check


def _periods(periods: Mapping[str, int | str | None] | None) -> dict[str, int | None]:
    out: dict[str, int | None] = dict(CHECK_PERIODS)
    for name, value in (periods or {}).items():
        key = f"periods.{name}"
        if name not in CHECK_PERIODS:
            raise ConfigError(f"unknown message type; use one of {', '.join(CHECK_PERIODS)}",
                              key=key, value=name)
        if value is None:
            out[name] = None
        elif isinstance(value, str):
            out[name] = parse_duration(value, key=key)
        elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
            out[name] = value
        else:
            raise ConfigError("expected a duration ('100 ms') or integer ns > 0", key=key,
                              value=value)
        if out[name] == 0:
            raise ConfigError("a period must be > 0", key=key, value=value)
    return out


def _tolerance_ns(value: int | str) -> int:
    if isinstance(value, str):
        return parse_duration(value, key="sec_mark_tolerance")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError("expected a duration ('100 ms') or integer ns >= 0",
                      key="sec_mark_tolerance", value=value)


def _node_label(node: Any) -> str:
    return str(node.id) if node.region is None else f"{node.region}/{node.id}"


class _Decoded:
    """Per frame (n,): stream key parts, msgCnt and secMark, filled by :func:`_decode`."""

    def __init__(self, n: int) -> None:
        self.ok = np.zeros(n, bool)
        self.type = np.full(n, -1, np.int64)  # index into types
        self.msg_cnt = np.full(n, -1, np.int64)
        self.sec_ms = np.full(n, -1, np.int64)  # checked against the capture time when >= 0
        self.types: list[str] = list(_TYPES)
        self.errors: list[tuple[int, str]] = []
        # per item detail for examples of vectorised findings
        self.bsm: dict[str, np.ndarray] = {}
        self.bsm_items = np.zeros(0, np.int64)
        self.other: list[tuple[int, str, str]] = []  # (item, kind, detail) of non-BSM findings
        self.map_phases: dict[str, set[int]] = {}
        self.map_items: dict[str, list[int]] = {}
        self.spat_phases: dict[str, set[int]] = {}

    def type_code(self, name: str) -> int:
        if name not in self.types:
            self.types.append(name)
        return self.types.index(name)


def _decode_one(inp: _Input, dec: _Decoded, i: int, decode_frame: Callable[..., Any],
                profile: str | None) -> Any:
    """Frame ``i`` decoded (MAPs under the conformance ``profile``), or None with its decode
    error recorded; any exception of the decoder is a decode error of that frame (its line is
    named by the finding), never the end of the check."""
    try:
        return decode_frame(inp.frames[i], now_ns=int(inp.t_ns[i]), profile=profile)
    except DecodeError as exc:
        dec.errors.append((i, str(exc)))
    except Exception as exc:  # noqa: BLE001 - a foreign error of the decoder (asn1tools)
        dec.errors.append((i, f"the decoder failed: {type(exc).__name__}: {exc}"))
    return None


def _decode(inp: _Input, dec: _Decoded, profile: str | None = None) -> np.ndarray:
    """Decode every frame (MAPs under the conformance ``profile``); returns (n,) int64 sender
    codes with derived senders filled in (senders appended to ``inp.senders``); -1 where
    unknown (undecodable, no sender)."""
    from v2x.messages import _units as u
    from v2x.messages._bsm_msg import Bsm
    from v2x.messages._map import MapData
    from v2x.messages._rsi import Rsi
    from v2x.messages._rsm import Rsm
    from v2x.messages._spat import LightState, Spat
    from v2x.messages._uper import FrameExt, decode_bsm_frames, decode_frame

    n = len(inp.frames)
    sender = inp.sender.copy()
    codes = {label: k for k, label in enumerate(inp.senders)}

    def code_of(label: str) -> int:
        if label not in codes:
            codes[label] = len(inp.senders)
            inp.senders.append(label)
        return codes[label]

    # MessageFrame: extension bit 0 and root alternative 0 of 5 (3 bits) -> a BSM
    head = np.fromiter((f[0] >> 4 if len(f) else 0xFF for f in inp.frames), np.int64, n)
    bsm_items = np.flatnonzero(head == 0)
    errors: list[tuple[int, Any]]
    try:
        batch, ok, errors = decode_bsm_frames([inp.frames[i] for i in bsm_items])
    except Exception:  # noqa: BLE001 - a foreign error in the batch: decode one by one below
        batch, ok, _ = decode_bsm_frames([])
        ok = np.zeros(bsm_items.size, bool)
        errors = [(j, None) for j in range(bsm_items.size)]
    good = bsm_items[ok]
    cols = {name: getattr(batch, name).astype(np.int64) for name in
            ("msg_cnt", "sec_mark", "lat", "lon", "speed", "heading", "width", "length")}
    ids = batch.sender.astype(np.uint64)
    # frames the batch decoder refused: decode_frame has the last word (e.g. an id >= 2**63)
    extra: list[tuple[int, Bsm]] = []
    for j, _exc in errors:
        i = int(bsm_items[j])
        msg = _decode_one(inp, dec, i, decode_frame, profile)
        if msg is None:
            continue
        if isinstance(msg, Bsm):
            extra.append((i, msg))
        else:  # cannot happen for a well-formed header; keep every frame accounted for
            dec.errors.append((i, f"header says bsmFrame, decoded {type(msg).__name__}"))
    if extra:
        good = np.concatenate([good, np.array([i for i, _ in extra], np.int64)])
        add = {
            "msg_cnt": [m.msg_cnt for _, m in extra],
            "sec_mark": [int(u.encode_dsecond(m.sec_mark_s)) for _, m in extra],
            "lat": [int(u.encode_latitude(m.lat_deg)) for _, m in extra],
            "lon": [int(u.encode_longitude(m.lon_deg)) for _, m in extra],
            "speed": [int(u.encode_speed(m.speed_mps)) for _, m in extra],
            "heading": [int(u.encode_heading(m.heading_deg)) for _, m in extra],
            "width": [int(u.encode_vehicle_width(m.width_m)) for _, m in extra],
            "length": [int(u.encode_vehicle_length(m.length_m)) for _, m in extra],
        }
        cols = {k: np.concatenate([v, np.array(add[k], np.int64)]) for k, v in cols.items()}
        ids = np.concatenate([ids, np.array([int.from_bytes(m.id, "big") for _, m in extra],
                                            np.uint64)])
    order = np.argsort(good, kind="stable")
    good = good[order]
    cols = {k: v[order] for k, v in cols.items()}
    ids = ids[order]
    dec.ok[good] = True
    dec.type[good] = 0
    dec.msg_cnt[good] = cols["msg_cnt"]
    dec.sec_ms[good] = np.where(cols["sec_mark"] < _MS_PER_MIN, cols["sec_mark"], -1)
    need = sender[good] < 0
    if need.any():
        uniq, inv = np.unique(ids[need], return_inverse=True)
        label_codes = np.array([code_of(f"{int(v):016x}") for v in uniq.tolist()], np.int64)
        sender[good[need]] = label_codes[inv]
    dec.bsm = cols
    dec.bsm_items = good

    # everything else, one by one (RSU messages: a few per second per RSU)
    for i in np.flatnonzero(head != 0).tolist():
        msg = _decode_one(inp, dec, i, decode_frame, profile)
        if msg is None:
            continue
        dec.ok[i] = True
        label = None
        if isinstance(msg, FrameExt):
            dec.type[i] = dec.type_code(f"EXT{msg.message_id}")
        else:
            dec.msg_cnt[i] = msg.msg_cnt
        if isinstance(msg, MapData):
            dec.type[i] = 1
            label = f"intersection {_node_label(msg.nodes[0].id)}"
            for node in msg.nodes:
                phases: set[int] = set()
                for link in node.in_links:
                    phases.update(m.phase_id for m in link.movements if m.phase_id is not None)
                    for lane in link.lanes:
                        phases.update(c.phase_id for c in lane.connects_to
                                      if c.phase_id is not None)
                if phases:
                    nl = _node_label(node.id)
                    dec.map_phases.setdefault(nl, set()).update(phases)
                    dec.map_items.setdefault(nl, []).append(i)
        elif isinstance(msg, Spat):
            dec.type[i] = 3
            label = f"intersection {_node_label(msg.intersections[0].intersection_id)}"
            for it in msg.intersections:
                dec.spat_phases.setdefault(_node_label(it.intersection_id), set()).update(
                    p.id for p in it.phases)
            dark = sorted(p.id for it in msg.intersections for p in it.phases
                          if p.states[0].light == LightState.UNAVAILABLE)
            if dark:
                dec.other.append((i, "light_unavailable",
                                  f"phase {', '.join(map(str, dark))} light unavailable"))
            ts = msg.timestamp_ns
            if ts is None:
                ts = next((it.timestamp_ns for it in msg.intersections
                           if it.timestamp_ns is not None), None)
            if ts is not None:
                dec.sec_ms[i] = (ts // NS_PER_MS) % _MS_PER_MIN
        elif isinstance(msg, Rsm):
            dec.type[i] = 2
            label = msg.id.hex()
            bad = []
            for p in msg.participants:
                what = [name for name, v in (("secMark", p.sec_mark_s), ("speed", p.speed_mps),
                                             ("heading", p.heading_deg)) if math.isnan(v)]
                if what:
                    bad.append(f"ptcId {p.ptc_id} {'/'.join(what)}")
            if bad:
                dec.other.append((i, "participant_unavailable",
                                  "; ".join(bad) + " unavailable"))
        elif isinstance(msg, Rsi):
            dec.type[i] = 4
            label = msg.id.hex()
        if label is not None and sender[i] < 0:
            sender[i] = code_of(label)
    return sender


def check(
    path: str | Path,
    *,
    periods: Mapping[str, int | str | None] | None = None,
    rate_tolerance: float = 0.10,
    sec_mark_tolerance: int | str = "100 ms",
    examples: int = 3,
    profile: str | None = None,
) -> CheckReport:
    """Check captured frames for conformance (see the module docstring for the findings).

    Args:
        path: a JSON-lines capture file, or a run directory (``docs/recording.md``) whose
            ``transmissions.parquet`` has the ``frame`` column.
        periods: required period per message type (``"BSM"``, ``"MAP"``, ``"SPAT"``,
            ``"RSI"``, ``"RSM"``) as integer ns or a duration string, ``None`` to skip the
            rate check of a type; merged over :data:`CHECK_PERIODS`.
        rate_tolerance: a stream violates its period when its median inter-arrival exceeds
            ``period * (1 + rate_tolerance)`` (default 10 %).
        sec_mark_tolerance: largest allowed circular distance between a BSM secMark (or a
            SPAT timeStamp) and the capture time's ms of the minute [ns or "100 ms"].
        examples: how many examples to keep per finding.
        profile: the conformance profile the frames were encoded with
            (:data:`v2x.msgset.PROFILES`; ``None``: :data:`v2x.msgset.DEFAULT_PROFILE`): MAP
            lanes' connectsTo lists are 1..8 or 1..16 long, which changes their bits.

    Returns the :class:`CheckReport`; bad lines are in ``input_problems``, never raised (an
    input with no frame at all is one too: nothing was checked).

    Raises:
        RecordingError: the file or directory is missing or unreadable, ``run.json`` has no
            ``start``, or ``transmissions.parquet`` lacks the ``frame`` column (or ``t_ns``,
            ``sender``); the message names the file and column.
        ConfigError: a bad ``periods`` entry or tolerance, or an unknown ``profile`` (names
            the key).
    """
    resolve_profile(profile)
    per = _periods(periods)
    if isinstance(rate_tolerance, bool) or not isinstance(rate_tolerance, int | float) or not (
            math.isfinite(rate_tolerance) and rate_tolerance >= 0):
        raise ConfigError("expected a number >= 0", key="rate_tolerance", value=rate_tolerance)
    tol_ns = _tolerance_ns(sec_mark_tolerance)
    p = Path(path)
    try:
        is_dir, exists = p.is_dir(), p.exists()
    except (OSError, ValueError) as exc:  # a NUL in the path, a path too long
        raise RecordingError(f"{p}: cannot be read: {exc}") from exc
    if is_dir:
        inp = _read_recording(p)
    elif exists:
        inp = _read_jsonl(p)
    else:
        raise RecordingError(f"{p}: no such file or directory")

    n = len(inp.frames)
    if n == 0 and not inp.problems:
        inp.problems.append(InputProblem(str(p), "no frames to check"))
    dec = _Decoded(n)
    sender = _decode(inp, dec, profile)

    # stream keys; undecodable frames go to (given sender or "?", recorded type or "?")
    unknown = -1
    if (sender < 0).any():
        inp.senders.append(_UNKNOWN)
        unknown = len(inp.senders) - 1
        sender = np.where(sender < 0, unknown, sender)
    for i, _msg in dec.errors:
        name = inp.recorded_type[i] if inp.recorded_type is not None else _UNKNOWN
        dec.type[i] = dec.type_code(name if name in _TYPES else _UNKNOWN)
    key = sender * (1 << 20) + dec.type
    found = _Findings(examples, inp.where)

    for i, msg in dec.errors:
        found.add(int(key[i]), "decode_error", inp.where(i), msg)
    if inp.recorded_type is not None and n:
        recorded = np.array(inp.recorded_type, object)
        decoded = np.array(dec.types, object)[dec.type]
        bad = np.flatnonzero(dec.ok & (recorded != decoded))
        found.add_items(key[bad], "type_mismatch", bad,
                        lambda j: f"msg_type {recorded[bad[j]]}, frame {decoded[bad[j]]}")

    # BSM fields, vectorised
    from v2x.messages import _units as u

    b, items = dec.bsm, dec.bsm_items
    bkeys = key[items]
    for kind, mask, text in (
        ("position_unavailable", (b["lat"] == u.LATITUDE_UNAVAILABLE)
         | (b["lon"] == u.LONGITUDE_UNAVAILABLE), "pos lat {lat} long {lon}"),
        ("sec_mark_unavailable", b["sec_mark"] >= _MS_PER_MIN, "secMark {sec_mark}"),
        ("speed_unavailable", b["speed"] == u.SPEED_UNAVAILABLE, "speed {speed}"),
        ("heading_unavailable", b["heading"] == u.HEADING_UNAVAILABLE,
         "heading {heading}"),
        ("size_invalid", (b["width"] == 0) | (b["length"] == 0),
         "size width {width} length {length}"),
    ):
        sel = np.flatnonzero(mask)
        if sel.size:
            def describe(j: int, sel: np.ndarray = sel, text: str = text) -> str:
                return text.format(**{c: int(v[sel[j]]) for c, v in b.items()})

            found.add_items(bkeys[sel], kind, items[sel], describe)
    for i, kind, detail in dec.other:
        found.add(int(key[i]), kind, inp.where(i), detail)

    # time order per stream: rate, msgCnt, secMark
    idx = np.flatnonzero(dec.ok)
    idx = idx[np.lexsort((idx, inp.t_ns[idx], key[idx]))]
    k, t, cnt = key[idx], inp.t_ns[idx], dec.msg_cnt[idx]
    seq = _msg_cnt_gaps(k, t, cnt, k % (1 << 20),
                         {code: per.get(name) for code, name in enumerate(dec.types)})
    skip = np.flatnonzero(seq.missed > 0)
    found.add_items(k[skip + 1], "msg_cnt_skip", idx[skip + 1],
                    lambda j: _skip_text(seq, cnt, int(skip[j])))
    rep = np.flatnonzero(seq.has & (seq.step == 0))
    found.add_items(k[rep + 1], "msg_cnt_repeat", idx[rep + 1],
                    lambda j: f"msgCnt {int(cnt[rep[j] + 1])} again")
    mis = np.flatnonzero(seq.mismatch)
    found.add_items(k[mis + 1], "msg_cnt_time_mismatch", idx[mis + 1],
                    lambda j: _mismatch_text(seq, cnt, int(mis[j])))
    sec = dec.sec_ms[idx]
    cap_ns = np.mod(t, _NS_PER_MIN)
    off = np.mod(sec * NS_PER_MS - cap_ns, _NS_PER_MIN)
    off = np.minimum(off, _NS_PER_MIN - off)
    late = np.flatnonzero((sec >= 0) & (off > tol_ns))
    found.add_items(k[late], "sec_mark_offset", idx[late],
                    lambda j: f"secMark {int(sec[late[j]])} ms, capture "
                              f"{cap_ns[late[j]] / NS_PER_MS:.3f} ms of the minute "
                              f"(off by {off[late[j]] / NS_PER_MS:.3f} ms)")

    # MAP/SPAT consistency
    inter = []
    for node in sorted(dec.map_phases, key=_natural):
        mp = dec.map_phases[node]
        seen = node in dec.spat_phases
        sp = dec.spat_phases.get(node, set())
        missing = sorted(mp - sp) if seen else []
        inter.append(IntersectionCheck(node, tuple(sorted(mp)), tuple(sorted(sp)),
                                       tuple(missing), seen))
        map_keys = sorted({int(key[i]) for i in dec.map_items[node]})
        for mk in map_keys:
            if not seen:
                found.add(mk, "map_without_spat", f"intersection {node}",
                          f"MAP phaseIds {', '.join(map(str, sorted(mp)))}, no SPAT of it")
            for ph in missing:
                found.add(mk, "map_phase_missing", f"intersection {node}",
                          f"MAP phaseId {ph} not in its SPAT phases "
                          f"{', '.join(map(str, sorted(sp)))}")

    # one report per stream
    all_keys = np.unique(key) if n else np.zeros(0, np.int64)
    bounds = {}
    if idx.size:
        uk, start, count = np.unique(k, return_index=True, return_counts=True)
        bounds = {int(a): (int(s), int(s + c)) for a, s, c in
                  zip(uk.tolist(), start.tolist(), count.tolist(), strict=True)}
    uk_all, n_all = np.unique(key, return_counts=True)
    frames_per = dict(zip(uk_all.tolist(), n_all.tolist(), strict=True))
    streams = []
    for sk in all_keys.tolist():
        s_code, t_code = divmod(int(sk), 1 << 20)
        mtype = dec.types[t_code]
        period = per.get(mtype)
        s, e = bounds.get(int(sk), (0, 0))
        missed = int(seq.missed[s:e - 1].sum()) if e - s >= 2 else 0
        median = rate = None
        if e - s >= 2:
            gaps = np.diff(t[s:e])
            median = float(np.median(gaps))
            span = int(t[e - 1] - t[s])
            rate = (e - s - 1) * NS_PER_S / span if span > 0 else None
            if period is not None and median > period * (1.0 + rate_tolerance):
                found.add(int(sk), "rate", inp.where(int(idx[s])),
                          f"median interval {median / NS_PER_MS:.1f} ms > period "
                          f"{period / NS_PER_MS:g} ms x {1 + rate_tolerance:g}")
        fs = sorted(
            (Finding(kind, CHECK_KINDS[kind], c, tuple(found.examples[(kk, kind)]))
             for (kk, kind), c in found.counts.items() if kk == sk),
            key=lambda f: (f.severity != "violation", f.kind))
        streams.append(StreamReport(
            sender=inp.senders[s_code], msg_type=mtype, frames=int(frames_per[sk]),
            decoded=e - s, first_ns=int(t[s]) if e > s else None,
            last_ns=int(t[e - 1]) if e > s else None, median_interval_ns=median,
            rate_hz=rate, period_ns=period, findings=tuple(fs), missed=missed))
    type_rank = {name: r for r, name in enumerate(MSG_TYPES)}
    streams.sort(key=lambda s: (type_rank.get(s.msg_type, 99), s.msg_type, _natural(s.sender)))
    return CheckReport(
        source=str(p), input_kind=inp.kind, records=inp.records, frames=n,
        streams=tuple(streams), intersections=tuple(inter),
        input_problems=tuple(inp.problems), periods_ns=per,
        rate_tolerance=float(rate_tolerance), sec_mark_tolerance_ns=tol_ns,
        partial=inp.partial)


@dataclass(frozen=True)
class _Gaps:
    """msgCnt between consecutive decoded messages j and j + 1 in capture-time order, one
    entry (m - 1,) per pair (module docstring, "msgCnt: missing messages counted with time")."""

    has: np.ndarray  # bool: one stream, both msgCnt known
    step: np.ndarray  # int64 (msgCnt[j + 1] - msgCnt[j]) mod 128
    dt_ns: np.ndarray  # int64 [ns]
    period_ns: np.ndarray  # float64 [ns] the stream's period; NaN: counted by msgCnt alone
    by_time: np.ndarray  # int64 max(0, round(dt / period) - 1); 0 without a period
    wraps: np.ndarray  # int64 wraps of the counter (128 messages each) the time implies
    missed: np.ndarray  # int64 messages missing; 0 for a repeat or across streams
    mismatch: np.ndarray  # bool: msgCnt and time disagree


def _msg_cnt_gaps(key: np.ndarray, t_ns: np.ndarray, cnt: np.ndarray, type_code: np.ndarray,
                  fallback_ns: Mapping[int, int | None]) -> _Gaps:
    """Missing messages between consecutive messages, by msgCnt with wraps counted by time.

    ``key``, ``t_ns`` [ns], ``cnt`` (-1 unknown), ``type_code`` (m,): decoded messages sorted
    by stream key, then capture time; ``fallback_ns``: type code -> required period [ns],
    used for a stream with no interval over which its counter advanced by exactly 1.
    """
    m = key.size
    if m < 2:
        z = np.zeros(0, np.int64)
        return _Gaps(z.astype(bool), z, z, z.astype(float), z, z, z, z.astype(bool))
    has = (key[1:] == key[:-1]) & (cnt[1:] >= 0) & (cnt[:-1] >= 0)
    step = np.mod(cnt[1:] - cnt[:-1], 128)
    dt = t_ns[1:] - t_ns[:-1]
    _, first, sid = np.unique(key, return_index=True, return_inverse=True)
    n_streams = first.size
    gsid = sid[1:]  # the stream of message j + 1 (that of the pair where has is True)
    # observed period: median interval over which the counter advanced by exactly 1
    period = np.full(n_streams, np.nan)
    ref = np.flatnonzero(has & (step == 1) & (dt > 0))
    if ref.size:
        ref = ref[np.argsort(gsid[ref], kind="stable")]
        ids, start = np.unique(gsid[ref], return_index=True)
        for s, chunk in zip(ids.tolist(), np.split(dt[ref], start[1:]), strict=True):
            period[s] = float(np.median(chunk))
    stype = type_code[first]
    for s in np.flatnonzero(np.isnan(period)).tolist():
        fb = fallback_ns.get(int(stype[s]))
        if fb:
            period[s] = float(fb)
    # time counts for BSM streams only (periodic while the vehicle drives, a new number every
    # time); RSU messages may repeat a number or pause (RSM with nobody perceived)
    timed = stype == _TYPES.index("BSM")
    p = np.where(timed, period, np.nan)[gsid]
    use = has & (step >= 1) & (p > 0)  # NaN > 0 is False
    per_gap = np.where(use, p, 1.0)
    by_time = np.where(use, np.maximum(np.rint(dt / per_gap) - 1, 0), 0).astype(np.int64)
    counter = step - 1
    wraps = np.where(use, np.maximum(np.rint((by_time - counter) / 128), 0), 0).astype(np.int64)
    missed = np.where(has & (step >= 1), counter + 128 * wraps, 0)
    mismatch = use & (np.abs(missed - by_time) > 1 + by_time // 10)
    return _Gaps(has, step, dt, np.where(use, p, np.nan), by_time, wraps, missed, mismatch)


def _skip_text(g: _Gaps, cnt: np.ndarray, j: int) -> str:
    a, b, n, w = int(cnt[j]), int(cnt[j + 1]), int(g.missed[j]), int(g.wraps[j])
    if w == 0:
        return f"msgCnt {a} -> {b} ({n} missing)"
    return (f"msgCnt {a} -> {b} after {g.dt_ns[j] / NS_PER_S:.3f} s: {n} missing "
            f"({int(g.step[j]) - 1} by msgCnt + {w} wrap{'s' if w > 1 else ''} of 128; about "
            f"{int(g.by_time[j])} by time at the {g.period_ns[j] / NS_PER_MS:g} ms period)")


def _mismatch_text(g: _Gaps, cnt: np.ndarray, j: int) -> str:
    return (f"msgCnt {int(cnt[j])} -> {int(cnt[j + 1])} after {g.dt_ns[j] / NS_PER_S:.3f} s: "
            f"{int(g.missed[j])} missing by msgCnt, about {int(g.by_time[j])} by time at the "
            f"{g.period_ns[j] / NS_PER_MS:g} ms period")


def _natural(label: str) -> tuple[int, int, str]:
    """Sort key: numeric labels by value, then the rest as text."""
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def main_check(
    path: str | Path,
    *,
    periods: Mapping[str, int | str | None] | None = None,
    rate_tolerance: float = 0.10,
    sec_mark_tolerance: int | str = "100 ms",
    json_output: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    profile: str | None = None,
) -> int:
    """``v2x check PATH``: run :func:`check`, print the text report (or JSON with
    ``json_output``) to ``out`` (stdout) and return the exit code (module docstring, "Exit
    codes"): 0 conformant, 1 violations, 2 nothing readable or a bad option, 3 some lines
    unreadable, 70 a bug of the checker. Errors go to ``err`` (stderr) as one line that names
    the input; never a traceback.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        report = check(path, periods=periods, rate_tolerance=rate_tolerance,
                       sec_mark_tolerance=sec_mark_tolerance, profile=profile)
        text = report.to_json() if json_output else report.to_text()
    except V2XError as exc:
        print(f"v2x check: error: {exc}", file=err)
        return EXIT_UNREADABLE
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, said as one
        print(f"v2x check: internal error while checking {path}: {_describe(exc)}. This is a "
              f"bug in v2x check, not a finding about the input; please report it with the "
              f"input file.", file=err)
        return EXIT_INTERNAL_ERROR
    print(text, file=out)
    if report.input_problems:
        what = "nothing could be checked" if report.frames == 0 else "the rest was checked"
        print(f"v2x check: {path}: {len(report.input_problems)} input problem"
              f"{'s' if len(report.input_problems) > 1 else ''} (listed in the report); "
              f"{what}", file=err)
    return report.exit_code


def _describe(exc: BaseException) -> str:
    """``Type: message (at file:line in function)``, the innermost frame of ``exc``'s
    traceback: enough to find the bug, in one line."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose message cannot be made
        text = "(no message)"
    text = text if len(text) <= 200 else f"{text[:200]}..."
    where = ""
    tb = exc.__traceback__
    if tb is not None:
        while tb.tb_next is not None:
            tb = tb.tb_next
        code = tb.tb_frame.f_code
        where = f" (at {Path(code.co_filename).name}:{tb.tb_lineno} in {code.co_name})"
    return f"{type(exc).__name__}: {text}{where}"
