"""SUMO signal programs as SPAT signal groups and their timing.

A SUMO traffic-light program is a cyclic list of phases, each a state string with one character
per *link index* (controlled connection) and a duration. The SPAT message speaks of *phases*
(signal groups) instead: a set of movements that always show the same light. We define:

* **signal group** = the set of link indices whose state character is equal in every phase of
  the program (the columns of the state strings grouped by their column string), in order of
  their first link index; the SPAT ``phaseId`` of group ``k`` (0-based) is ``k + 1``.
* **light** of a group in a phase = :data:`SUMO_LIGHT_STATES` of its state character.
* **time until a group's light changes** = the rest of the current phase plus the durations of
  the following phases in which the group's (mapped) light stays the same. A light may last
  through several program phases, so the controller's next switch is not necessarily its end.
  The walk is capped at one cycle: a light that is the same in every phase never ends, and its
  end is reported as unknown (``None``).

Everything here is pure (no SUMO connection): :class:`SignalPlan` precomputes, per program phase
and group, the time from the end of that phase until the light changes, so that a SPAT at each
step costs one table look-up plus the remaining time of the current phase.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from v2x.errors import ConfigError
from v2x.messages._spat import LightState
from v2x.units import s_to_ns

__all__ = [
    "SUMO_LIGHT_STATES",
    "GroupTiming",
    "SignalPlan",
    "light_state",
    "signal_groups",
]

#: SUMO link state character -> SPAT LightState. Sources: SUMO user documentation "Simulation/
#: Traffic Lights", signal state definitions; LightState values T/CSAE 53-2020 (STANDARDS.md
#: section 1), whose codes are SAE J2735 MovementPhaseState's (2 stop-then-proceed, 4
#: pre-movement).
#:
#: ====  ======================================  ==========================================
#: char  SUMO meaning                            LightState
#: ====  ======================================  ==========================================
#: G     green, priority                         6 protected-green
#: g     green, no priority (yield)              5 permissive-green
#: s     green right-turn arrow: stop, then go   2 flashing-red (J2735 stop-then-proceed)
#: y, Y  yellow (amber)                          7 yellow
#: r     red                                     3 red (stop-and-remain)
#: u     red+yellow: green comes next            4 flashing-green (J2735 pre-movement: still
#:                                                 stop)
#: o     off, blinking (yellow flashing)         8 flashing-yellow
#: O     off, no signal                          1 dark
#: ====  ======================================  ==========================================
SUMO_LIGHT_STATES: Mapping[str, LightState] = MappingProxyType({
    "G": LightState.PROTECTED_GREEN,
    "g": LightState.PERMISSIVE_GREEN,
    "s": LightState.FLASHING_RED,
    "y": LightState.YELLOW,
    "Y": LightState.YELLOW,
    "r": LightState.RED,
    "u": LightState.FLASHING_GREEN,
    "o": LightState.FLASHING_YELLOW,
    "O": LightState.DARK,
})


def light_state(char: str) -> LightState:
    """The SPAT LightState of one SUMO link state character (see :data:`SUMO_LIGHT_STATES`).

    Raises ConfigError for a character SUMO does not define.
    """
    try:
        return SUMO_LIGHT_STATES[char]
    except KeyError:
        raise ConfigError(f"unknown SUMO signal state character {char!r}",
                          key="tls.state", value=char) from None


def _phases(program: Any) -> list[Any]:
    """Phases of a libsumo/traci ``Logic`` (``.phases``) or a sumolib ``TLSProgram``
    (``getPhases()``)."""
    if hasattr(program, "phases"):
        return list(program.phases)
    if hasattr(program, "getPhases"):
        return list(program.getPhases())
    raise ConfigError(f"not a signal program: {type(program).__name__}", key="tls.program")


def _states(program: Any) -> list[str]:
    if isinstance(program, Sequence) and not isinstance(program, str) and all(
            isinstance(s, str) for s in program):
        states = list(program)
    else:
        states = [str(p.state) for p in _phases(program)]
    if not states:
        raise ConfigError("signal program has no phases", key="tls.phases")
    n_links = len(states[0])
    for i, s in enumerate(states):
        if len(s) != n_links:
            raise ConfigError(f"phase {i} has {len(s)} link states, phase 0 has {n_links}",
                              key="tls.phases.state", value=s)
        for ch in s:
            light_state(ch)
    return states


def signal_groups(program: Any) -> tuple[tuple[int, ...], ...]:
    """Signal groups of a signal program: link indices with identical state columns.

    Args:
        program: a libsumo/traci ``Logic`` (``trafficlight.getAllProgramLogics``), a sumolib
            ``TLSProgram`` (``net.getTLS(id).getPrograms()``) or a sequence of state strings.

    Returns:
        The groups in order of their first link index, each a sorted tuple of link indices;
        group ``k`` is SPAT phase ``k + 1``. Example: states ``"GGrr", "yyrr", "rrGG", "rryy"``
        give ``((0, 1), (2, 3))``.

    Raises:
        ConfigError: no phases, state strings of different lengths, or an unknown character.
    """
    states = _states(program)
    groups: dict[str, list[int]] = {}
    for link in range(len(states[0])):
        column = "".join(s[link] for s in states)
        groups.setdefault(column, []).append(link)
    return tuple(tuple(g) for g in groups.values())


@dataclass(frozen=True, eq=False)
class GroupTiming:
    """Light and timing of every signal group at one instant, arrays of shape (n_groups,).

    Attributes:
        lights: (n_groups,) int8, LightState values.
        likely_end_ns: (n_groups,) int64 [ns] from now until the light changes; -1 = unknown.
        next_start_ns: (n_groups,) int64 [ns] from now until the same light starts again;
            -1 = unknown.
        next_duration_ns: (n_groups,) int64 [ns] how long it lasts then; -1 = unknown.
    """

    lights: np.ndarray
    likely_end_ns: np.ndarray
    next_start_ns: np.ndarray
    next_duration_ns: np.ndarray


@dataclass(frozen=True, eq=False)
class SignalPlan:
    """One signal program as signal groups with precomputed light timing.

    Build it with :meth:`from_program` (a libsumo/traci ``Logic`` or sumolib ``TLSProgram``) or
    :meth:`from_states`.

    Attributes:
        program_id: SUMO program id.
        states: (n_phases,) state strings.
        durations_ns: (n_phases,) int64 phase durations [ns].
        groups: link indices of each signal group (see :func:`signal_groups`).
        static: the program is fixed-time (SUMO type ``static``), so its timing is certain.
        lights: (n_phases, n_groups) int8, the LightState of each group in each phase.
        end_after_ns: (n_phases, n_groups) int64 [ns], time from the *end* of phase p until the
            group's light changes (durations of the following phases with the same light);
            -1 when the light is the same in every phase (unknown end).
        next_start_after_ns, next_duration_ns: (n_phases, n_groups) int64 [ns], from the end of
            phase p until the group's current light starts again, and that run's length;
            -1 when unknown.
    """

    program_id: str
    states: tuple[str, ...]
    durations_ns: np.ndarray
    groups: tuple[tuple[int, ...], ...]
    static: bool = True
    lights: np.ndarray = field(init=False, repr=False)
    end_after_ns: np.ndarray = field(init=False, repr=False)
    next_start_after_ns: np.ndarray = field(init=False, repr=False)
    next_duration_ns: np.ndarray = field(init=False, repr=False)
    _link_group: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.states)
        durations = np.asarray(self.durations_ns, dtype=np.int64)
        if durations.shape != (n,) or np.any(durations < 0) or durations.sum() <= 0:
            raise ConfigError(f"signal program {self.program_id!r} needs one non-negative "
                              f"duration per phase and a cycle > 0, got {self.durations_ns!r}",
                              key="tls.phases.duration", value=self.durations_ns)
        durations.setflags(write=False)
        object.__setattr__(self, "durations_ns", durations)
        first = [g[0] for g in self.groups]
        lights = np.array([[light_state(s[link]) for link in first] for s in self.states],
                          dtype=np.int8).reshape(n, len(first))
        end_after = np.full(lights.shape, -1, dtype=np.int64)
        next_start = np.full(lights.shape, -1, dtype=np.int64)
        next_dur = np.full(lights.shape, -1, dtype=np.int64)
        for p in range(n):
            for g in range(lights.shape[1]):
                self._walk(lights[:, g], durations, p, g, end_after, next_start, next_dur)
        link_group = np.full(len(self.states[0]), -1, dtype=np.int64)
        for g, links in enumerate(self.groups):
            link_group[list(links)] = g
        for arr in (lights, end_after, next_start, next_dur, link_group):
            arr.setflags(write=False)
        object.__setattr__(self, "lights", lights)
        object.__setattr__(self, "end_after_ns", end_after)
        object.__setattr__(self, "next_start_after_ns", next_start)
        object.__setattr__(self, "next_duration_ns", next_dur)
        object.__setattr__(self, "_link_group", link_group)

    @staticmethod
    def _walk(light: np.ndarray, dur: np.ndarray, p: int, g: int, end_after: np.ndarray,
              next_start: np.ndarray, next_dur: np.ndarray) -> None:
        """Walk the cycle from the end of phase p (at most one cycle for the end, one more for
        the next occurrence)."""
        n = len(light)
        cur = light[p]
        t = 0
        j = 1
        while j < n and light[(p + j) % n] == cur:
            t += int(dur[(p + j) % n])
            j += 1
        if j == n:  # the same light in every phase: it never ends
            return
        end_after[p, g] = t
        # now phase (p + j) has another light: find where the current light starts again
        while light[(p + j) % n] != cur:  # terminates: phase p itself has the light
            t += int(dur[(p + j) % n])
            j += 1
        next_start[p, g] = t
        d = 0
        k = 0
        while k < n and light[(p + j + k) % n] == cur:
            d += int(dur[(p + j + k) % n])
            k += 1
        next_dur[p, g] = d

    @classmethod
    def from_states(cls, states: Sequence[str], durations_s: Sequence[float], *,
                    program_id: str = "0", static: bool = True) -> SignalPlan:
        """A plan from state strings and phase durations [s].

        Raises ConfigError for malformed states or durations.
        """
        st = _states(list(states))
        if len(durations_s) != len(st) or not all(math.isfinite(d) for d in durations_s):
            raise ConfigError("one finite duration per phase is needed",
                              key="tls.phases.duration", value=list(durations_s))
        return cls(program_id=program_id, states=tuple(st),
                   durations_ns=np.array([s_to_ns(d) for d in durations_s], dtype=np.int64),
                   groups=signal_groups(st), static=static)

    @classmethod
    def from_program(cls, program: Any) -> SignalPlan:
        """A plan from a libsumo/traci ``Logic`` or a sumolib ``TLSProgram``.

        SUMO type 0 / ``"static"`` counts as fixed-time; every other type (actuated,
        delay_based, NEMA, ...) as traffic dependent.

        Raises ConfigError for malformed programs.
        """
        phases = _phases(program)
        if hasattr(program, "programID"):  # libsumo / traci Logic
            pid, ptype = str(program.programID), program.type
        else:  # sumolib TLSProgram
            pid, ptype = str(getattr(program, "_id", "0")), program.getType()
        return cls.from_states([str(p.state) for p in phases],
                               [float(p.duration) for p in phases], program_id=pid,
                               static=ptype in (0, "static"))

    @property
    def n_phases(self) -> int:
        """Number of program phases."""
        return len(self.states)

    @property
    def cycle_ns(self) -> int:
        """Cycle length [ns]: the sum of phase durations."""
        return int(self.durations_ns.sum())

    def phase_id_of_link(self, link_index: int) -> int | None:
        """SPAT phaseId (1-based group) of a SUMO link index, ``None`` when out of range."""
        if 0 <= link_index < len(self._link_group):
            return int(self._link_group[link_index]) + 1
        return None

    def timing(self, phase_index: int, remaining_ns: int) -> GroupTiming:
        """Lights and timing of all groups while phase ``phase_index`` has ``remaining_ns``
        [ns] left (SUMO: ``getNextSwitch() - getTime()``).

        Raises ConfigError when the phase index is outside the program.
        """
        if not 0 <= phase_index < self.n_phases:
            raise ConfigError(f"phase {phase_index} outside program {self.program_id!r} "
                              f"of {self.n_phases} phases", key="tls.phase", value=phase_index)
        rem = max(int(remaining_ns), 0)

        def rel(a: np.ndarray) -> np.ndarray:
            return np.where(a >= 0, a + rem, -1)

        return GroupTiming(lights=self.lights[phase_index],
                           likely_end_ns=rel(self.end_after_ns[phase_index]),
                           next_start_ns=rel(self.next_start_after_ns[phase_index]),
                           next_duration_ns=self.next_duration_ns[phase_index].copy())
