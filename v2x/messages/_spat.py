"""SPAT (signal phase and timing) value classes, T/CSAE 53-2020 / YD/T 3709-2020, in SI units.

Structure (STANDARDS.md section 1)::

    Spat {msgCnt, moy?, timeStamp?, intersections (1..32)}
      IntersectionState {intersectionId, status (16 bit), moy?, timeStamp?, phases (1..16)}
        Phase {id (PhaseID), phaseStates (1..16)}
          PhaseState {light (LightState), timing? (TimeCountingDown)}

Timing is in the standard's *counting mode*: every time is a duration **from now** (from the
instant the message was formed). Here they are integer nanoseconds; the codec converts them to
TimeMark units of 0.1 s, writing 36000 for durations >= 3600 s and 36001 for ``None`` (unknown).

Absolute instants (``timestamp_ns``) are UTC nanoseconds since the Unix epoch; the codec derives
MinuteOfTheYear (``moy``) and DSecond (``timeStamp``) from them.

:class:`SpatPhaseStates` is the columnar form of decoded SPATs (one row per phase state) that
applications look lights up in; the codec's frame reader gives it without building the value
objects.
"""

from __future__ import annotations

import enum
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2x.errors import EncodeError
from v2x.messages._map import NodeReferenceId

__all__ = [
    "IntersectionState",
    "IntersectionStatus",
    "LightState",
    "NO_TIME",
    "Phase",
    "PhaseState",
    "Spat",
    "SpatPhaseStates",
    "TimeCountingDown",
]


class LightState(enum.IntEnum):
    """``LightState`` ENUMERATED (CSAE 53 / J2735 MovementPhaseState values)."""

    UNAVAILABLE = 0
    DARK = 1
    FLASHING_RED = 2  # stop-then-proceed
    RED = 3  # stop-and-remain
    FLASHING_GREEN = 4  # pre-movement
    PERMISSIVE_GREEN = 5  # permissive-movement-allowed
    PROTECTED_GREEN = 6  # protected-movement-allowed
    YELLOW = 7  # intersection-clearance
    FLASHING_YELLOW = 8  # caution-conflicting-traffic


class IntersectionStatus(enum.IntFlag):
    """``IntersectionStatusObject ::= BIT STRING (SIZE(16))``: flag ``1 << k`` is bit k.

    Bit numbers as in the public CSAE 53 field notes and J2735 modules; bits 14 and 15 are
    reserved and zero.
    """

    NONE = 0
    MANUAL_CONTROL_IS_ENABLED = 1 << 0
    STOP_TIME_IS_ACTIVATED = 1 << 1
    FAILURE_FLASH = 1 << 2
    PREEMPT_IS_ACTIVE = 1 << 3
    SIGNAL_PRIORITY_IS_ACTIVE = 1 << 4
    FIXED_TIME_OPERATION = 1 << 5
    TRAFFIC_DEPENDENT_OPERATION = 1 << 6
    STANDBY_OPERATION = 1 << 7
    FAILURE_MODE = 1 << 8
    OFF = 1 << 9
    RECENT_MAP_MESSAGE_UPDATE = 1 << 10
    RECENT_CHANGE_IN_MAP_ASSIGNED_LANES_IDS_USED = 1 << 11
    NO_VALID_MAP_IS_AVAILABLE_AT_THIS_TIME = 1 << 12
    NO_VALID_SPAT_IS_AVAILABLE_AT_THIS_TIME = 1 << 13


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not lo <= int(value) <= hi):
        raise EncodeError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


def _check_duration(name: str, value: object, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise EncodeError(f"{name} must be a duration >= 0 [ns] (int), got {value!r}")


@dataclass(frozen=True)
class TimeCountingDown:
    """``TimeCountingDown``: phase-state timing in counting mode, all durations from now [ns].

    Args:
        start_time_ns: until this light state starts; 0 when it is already on.
        likely_end_time_ns: until it most likely ends; ``None`` = unknown (the light never
            changes within one signal cycle; the codec sends TimeMark 36001).
        min_end_time_ns, max_end_time_ns: earliest / latest end, or ``None`` (absent).
        next_start_time_ns: until this light state starts again after it ends, or ``None``.
        next_duration_ns: how long it will last then, or ``None``.
        time_confidence: ``Confidence`` 0..200 [0.5 %] of the likely end, or ``None``.

    Raises EncodeError when a duration is negative or not an integer.
    """

    start_time_ns: int
    likely_end_time_ns: int | None
    min_end_time_ns: int | None = None
    max_end_time_ns: int | None = None
    next_start_time_ns: int | None = None
    next_duration_ns: int | None = None
    time_confidence: int | None = None

    def __post_init__(self) -> None:
        _check_duration("TimeCountingDown.start_time_ns", self.start_time_ns, optional=False)
        _check_duration("TimeCountingDown.likely_end_time_ns", self.likely_end_time_ns)
        _check_duration("TimeCountingDown.min_end_time_ns", self.min_end_time_ns)
        _check_duration("TimeCountingDown.max_end_time_ns", self.max_end_time_ns)
        _check_duration("TimeCountingDown.next_start_time_ns", self.next_start_time_ns)
        _check_duration("TimeCountingDown.next_duration_ns", self.next_duration_ns)
        if self.time_confidence is not None:
            _check_int("TimeCountingDown.time_confidence", self.time_confidence, 0, 200)


@dataclass(frozen=True)
class PhaseState:
    """``PhaseState {light, timing?}``: one light state of a phase and when it ends."""

    light: LightState
    timing: TimeCountingDown | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.light, LightState):
            try:
                object.__setattr__(self, "light", LightState(self.light))
            except ValueError as exc:
                raise EncodeError(f"PhaseState.light must be a LightState 0..8, "
                                  f"got {self.light!r}") from exc


@dataclass(frozen=True)
class Phase:
    """``Phase {id, phaseStates}``: a signal group (PhaseID 1..255; 0 means unknown) and its
    1..16 light states, the current one first, then (optionally) future ones."""

    id: int
    states: tuple[PhaseState, ...]

    def __post_init__(self) -> None:
        _check_int("Phase.id", self.id, 0, 255)
        if not isinstance(self.states, tuple) or not 1 <= len(self.states) <= 16:
            raise EncodeError(f"Phase.states must be a tuple of 1..16 PhaseState, "
                              f"got {self.states!r}")


@dataclass(frozen=True)
class IntersectionState:
    """``IntersectionState``: the signal state of one intersection.

    Args:
        intersection_id: the node id, the same as the MAP node's.
        status: controller status flags.
        phases: 1..16 phases (signal groups), ids unique.
        timestamp_ns: UTC [ns since the Unix epoch] when formed, or ``None`` (absent).

    Raises EncodeError when the phase count is out of range or a phase id repeats.
    """

    intersection_id: NodeReferenceId
    status: IntersectionStatus
    phases: tuple[Phase, ...]
    timestamp_ns: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.phases, tuple) or not 1 <= len(self.phases) <= 16:
            raise EncodeError(f"IntersectionState.phases must be a tuple of 1..16 Phase, "
                              f"got {len(self.phases)} items")
        ids = [p.id for p in self.phases]
        if len(set(ids)) != len(ids):
            raise EncodeError(f"IntersectionState.phases ids repeat: {ids}")

    def phase(self, phase_id: int) -> Phase:
        """The phase with id ``phase_id``. Raises KeyError when there is none."""
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(phase_id)


@dataclass(frozen=True)
class Spat:
    """The SPAT message: ``msg_cnt`` 0..127, 1..32 ``intersections``, optional
    ``timestamp_ns`` (UTC [ns since the Unix epoch]) and ``name`` (1..63 characters)."""

    msg_cnt: int
    intersections: tuple[IntersectionState, ...]
    timestamp_ns: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        _check_int("Spat.msg_cnt", self.msg_cnt, 0, 127)
        if not isinstance(self.intersections, tuple) or not 1 <= len(self.intersections) <= 32:
            raise EncodeError("Spat.intersections must be a tuple of 1..32 IntersectionState")
        if self.name is not None and not 1 <= len(self.name) <= 63:
            raise EncodeError(f"Spat.name must have 1..63 characters, got {self.name!r}")


#: :class:`SpatPhaseStates` ``likely_end_ns`` / ``ref_ns`` where the message gives no time
NO_TIME = -1


@dataclass(frozen=True, slots=True)
class SpatPhaseStates:
    """The phase states of decoded SPAT messages as columns: one row per (message,
    intersection, phase, phase state) in message order; every field ``(k,)``.

    What an application looks lights up in (:class:`v2x.apps.SpatView`), built from value
    objects (:meth:`of`) or read straight from a frame's bits by the codec's frame reader
    (``FrameReader.spat_states``, the same columns). Kept: which light each state shows and
    when it starts and likely ends (counting mode, STANDARDS.md section 1); left out: status,
    msgCnt, name, min/max end, next start and duration, confidence.

    Attributes:
        msg: int64 index of the message (in the sequence given to :meth:`of`; see
            :meth:`concat`); every message has at least one row.
        region: int64 RoadRegulatorID of the intersection, -1 absent.
        node_id: int64 NodeID of the intersection.
        phase_id: int64 PhaseID 0..255.
        state: int64 index of the state in its phase (0: the first).
        light: int8 :class:`LightState` value.
        timed: bool, the state has a timing (``TimeCountingDown``).
        start_ns: int64 [ns] until the state starts, counted from ``ref_ns`` (0: on now; 0
            where not timed).
        likely_end_ns: int64 [ns] until the state likely ends, counted from ``ref_ns``;
            :data:`NO_TIME` where unknown (TimeMark 36001) or not timed.
        ref_ns: int64 UTC [ns since the Unix epoch] the timing counts from: the
            intersection's timestamp, else the message's; :data:`NO_TIME` when neither is
            present.
    """

    msg: np.ndarray
    region: np.ndarray
    node_id: np.ndarray
    phase_id: np.ndarray
    state: np.ndarray
    light: np.ndarray
    timed: np.ndarray
    start_ns: np.ndarray
    likely_end_ns: np.ndarray
    ref_ns: np.ndarray

    @property
    def n(self) -> int:
        """Number of phase-state rows."""
        return int(self.msg.shape[0])

    @property
    def n_msgs(self) -> int:
        """Number of messages (``msg.max() + 1``; 0 without rows)."""
        return int(self.msg[-1]) + 1 if self.n else 0

    @classmethod
    def of(cls, spats: Sequence[Spat]) -> SpatPhaseStates:
        """The columns of decoded :class:`Spat` values (message ``i`` is ``spats[i]``)."""
        rows: list[tuple[int, ...]] = []
        for i, spat in enumerate(spats):
            for it in spat.intersections:
                ref = it.timestamp_ns if it.timestamp_ns is not None else spat.timestamp_ns
                node = it.intersection_id
                region = -1 if node.region is None else node.region
                for ph in it.phases:
                    for k, st in enumerate(ph.states):
                        t = st.timing
                        likely = None if t is None else t.likely_end_time_ns
                        rows.append((i, region, node.id, ph.id, k, int(st.light),
                                     t is not None, 0 if t is None else t.start_time_ns,
                                     NO_TIME if likely is None else likely,
                                     NO_TIME if ref is None else ref))
        cols = list(zip(*rows, strict=True)) if rows else [()] * 10
        return cls(*(np.array(c, dtype) for c, dtype in zip(cols, _COLUMN_DTYPES, strict=True)))

    @classmethod
    def concat(cls, parts: Sequence[SpatPhaseStates]) -> SpatPhaseStates:
        """The rows of ``parts`` one after another; the messages of a part are numbered after
        those of the parts before it (so parts of one message each get ``msg`` = the part's
        index)."""
        if not parts:
            return cls.of(())
        first_msg = np.cumsum([0] + [p.n_msgs for p in parts[:-1]])  # of each part
        msg = np.concatenate([p.msg for p in parts]) + np.repeat(first_msg,
                                                                 [p.n for p in parts])
        return cls(msg, *(np.concatenate([getattr(p, f) for p in parts])
                          for f in _COLUMNS[1:]))


_COLUMNS = tuple(SpatPhaseStates.__dataclass_fields__)
_COLUMN_DTYPES = (np.int64, np.int64, np.int64, np.int64, np.int64, np.int8, np.bool_,
                  np.int64, np.int64, np.int64)
