"""SPAT from a running SUMO traffic light (libsumo or TraCI).

One :class:`SpatBuilder` per traffic light. It reads the signal program once (and again only
when ``trafficlight.getProgram`` reports another program) and per call asks SUMO only for the
current phase, the next switch time and the simulation time.

Timing semantics (checked against SUMO in ``tests/roadside/test_spat.py``): SUMO switches a
light at the *start* of the simulation step at time ``getNextSwitch()``, so the new state is
what vehicles see during the step ``[T, T + step)`` and what ``getRedYellowGreenState`` reports
after the step to ``T + step``. ``likely_end_time_ns`` is ``T - now`` (plus following phases of
the same light); the state TraCI shows therefore changes one step length later than that.
"""

from __future__ import annotations

import functools
from typing import Any

from v2x.errors import ConfigError, SumoError
from v2x.messages._map import NodeReferenceId
from v2x.messages._spat import (
    IntersectionState,
    IntersectionStatus,
    LightState,
    Phase,
    PhaseState,
    TimeCountingDown,
)
from v2x.units import s_to_ns

from roadside._signals import SignalPlan

__all__ = ["SpatBuilder"]

#: the standard's limit on phases per intersection (PhaseList SIZE(1..16))
MAX_PHASES = 16


@functools.cache
def _sumo_errors() -> tuple[type[BaseException], ...]:
    """The exception classes libsumo and TraCI raise (mapped to SumoError at our boundary)."""
    errors: list[type[BaseException]] = []
    try:
        import traci.exceptions as te

        errors += [te.TraCIException, te.FatalTraCIError]
    except ImportError:  # pragma: no cover - traci is a dependency
        pass
    try:
        import libsumo

        errors.append(libsumo.TraCIException)
    except ImportError:  # pragma: no cover - libsumo is a dependency
        pass
    return tuple(dict.fromkeys(errors))


class SpatBuilder:
    """Builds the SPAT ``IntersectionState`` of one SUMO traffic light.

    Args:
        conn: the ``libsumo`` module or a ``traci`` connection (same ``trafficlight`` and
            ``simulation`` API).
        tls_id: SUMO traffic-light id.
        intersection_id: NodeID of the intersection (0..65535), the same as its MAP node's.
        region: RoadRegulatorID or ``None``.

    Phases are the signal groups of the current program (see :mod:`roadside._signals`): phase
    ``k + 1`` is group ``k``. Each phase carries one state, the current light, with timing in
    counting mode: ``start_time_ns = 0``, ``likely_end_time_ns`` until the light changes
    (``None`` = never within a cycle), ``min_end_time_ns = max_end_time_ns = likely`` for
    fixed-time programs (absent otherwise), ``next_start_time_ns`` / ``next_duration_ns`` of
    the same light's next occurrence. The status is ``FIXED_TIME_OPERATION`` for static
    programs and ``TRAFFIC_DEPENDENT_OPERATION`` for all other types; for the latter the
    timing walks the nominal phase durations and is only a likely value.

    Raises:
        SumoError: SUMO does not know ``tls_id`` or the connection failed.
        ConfigError: the program has more than 16 signal groups or is malformed.
    """

    def __init__(self, conn: Any, tls_id: str, intersection_id: int, *,
                 region: int | None = None) -> None:
        self._conn = conn
        self._tls_id = tls_id
        self._node_id = NodeReferenceId(id=intersection_id, region=region)
        self._plan = self._read_plan(self._call(conn.trafficlight.getProgram, tls_id))

    @property
    def tls_id(self) -> str:
        """The SUMO traffic-light id."""
        return self._tls_id

    @property
    def intersection_id(self) -> NodeReferenceId:
        """The intersection's node reference id."""
        return self._node_id

    @property
    def plan(self) -> SignalPlan:
        """The signal plan of the program last read."""
        return self._plan

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """Link indices of each signal group; phase ``k + 1`` is ``groups[k]``."""
        return self._plan.groups

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except _sumo_errors() as exc:
            raise SumoError(f"traffic light {self._tls_id!r}: {exc}") from exc

    def _read_plan(self, program_id: str) -> SignalPlan:
        logics = self._call(self._conn.trafficlight.getAllProgramLogics, self._tls_id)
        for logic in logics:
            if str(logic.programID) == program_id:
                break
        else:
            raise SumoError(f"traffic light {self._tls_id!r}: current program "
                            f"{program_id!r} not among its programs")
        plan = SignalPlan.from_program(logic)
        if len(plan.groups) > MAX_PHASES:
            raise ConfigError(f"traffic light {self._tls_id!r} program {program_id!r} has "
                              f"{len(plan.groups)} signal groups; SPAT allows {MAX_PHASES}",
                              key="tls.program", value=program_id)
        return plan

    def build(self, *, timestamp_ns: int | None = None) -> IntersectionState:
        """The intersection state now (SUMO's current simulation time).

        Args:
            timestamp_ns: UTC [ns since the Unix epoch] to stamp the state with, or ``None``.

        Raises:
            SumoError: the SUMO call failed.
        """
        tl = self._conn.trafficlight
        program_id = self._call(tl.getProgram, self._tls_id)
        if program_id != self._plan.program_id:
            self._plan = self._read_plan(program_id)
        plan = self._plan
        phase = self._call(tl.getPhase, self._tls_id)
        remaining = (s_to_ns(self._call(tl.getNextSwitch, self._tls_id))
                     - s_to_ns(self._call(self._conn.simulation.getTime)))
        t = plan.timing(phase, remaining)
        phases = []
        for g in range(len(plan.groups)):
            likely = int(t.likely_end_ns[g])
            likely_ns = likely if likely >= 0 else None
            bound = likely_ns if plan.static else None
            nxt = int(t.next_start_ns[g])
            dur = int(t.next_duration_ns[g])
            timing = TimeCountingDown(
                start_time_ns=0,
                likely_end_time_ns=likely_ns,
                min_end_time_ns=bound,
                max_end_time_ns=bound,
                next_start_time_ns=nxt if nxt >= 0 else None,
                next_duration_ns=dur if dur >= 0 else None,
            )
            phases.append(Phase(id=g + 1, states=(
                PhaseState(light=LightState(int(t.lights[g])), timing=timing),)))
        status = (IntersectionStatus.FIXED_TIME_OPERATION if plan.static
                  else IntersectionStatus.TRAFFIC_DEPENDENT_OPERATION)
        return IntersectionState(intersection_id=self._node_id, status=status,
                                 phases=tuple(phases), timestamp_ns=timestamp_ns)
