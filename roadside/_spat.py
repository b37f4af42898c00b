"""SPAT from a running SUMO traffic light (libsumo or TraCI).

One :class:`SpatBuilder` per traffic light. It reads the signal program once (and again only
when ``trafficlight.getProgram`` reports another program) and per call asks SUMO only for the
program id, the current phase, the next switch time and (unless the caller passes it) the
simulation time. :meth:`SpatBuilder.spat_frame` (UPER) and :meth:`SpatBuilder.spat_json` (JSON)
are the per-step paths: they fill one precompiled template per program phase
(:class:`~v2x.messages._uper.SpatFrameTemplate` / :class:`~v2x.messages._json.SpatJsonTemplate`,
built from the same tables when the phase first runs, again after a program change).

Timing semantics (checked against SUMO in ``tests/roadside/test_spat.py``): SUMO switches a
light at the *start* of the simulation step at time ``getNextSwitch()``, so the new state is
what vehicles see during the step ``[T, T + step)`` and what ``getRedYellowGreenState`` reports
after the step to ``T + step``. ``likely_end_time_ns`` is ``T - now`` (plus following phases of
the same light); the state TraCI shows therefore changes one step length later than that.
"""

from __future__ import annotations

import sys
from typing import Any

from roadside._signals import GroupTiming, SignalPlan
from v2x.errors import ConfigError, SumoError
from v2x.messages._json import SpatJsonTemplate
from v2x.messages._map import NodeReferenceId
from v2x.messages._spat import (
    IntersectionState,
    IntersectionStatus,
    LightState,
    Phase,
    PhaseState,
    Spat,
    TimeCountingDown,
)
from v2x.messages._uper import SpatFrameTemplate, encode_frame
from v2x.units import s_to_ns

__all__ = ["SpatBuilder"]

#: the standard's limit on phases per intersection (PhaseList SIZE(1..16))
MAX_PHASES = 16


def _sumo_errors() -> tuple[type[BaseException], ...]:
    """The exception classes libsumo and TraCI raise (mapped to SumoError at our boundary), of
    those already imported: a connection to SUMO has imported its module, and the RSUs of a
    run with the traffic process (:class:`~roadside.SignalMirror`) need neither (libsumo
    alone takes ~0.2 s to import)."""
    errors: list[type[BaseException]] = []
    te = sys.modules.get("traci.exceptions")
    if te is not None:
        errors += [te.TraCIException, te.FatalTraCIError]
    libsumo = sys.modules.get("libsumo")
    if libsumo is not None:
        errors.append(libsumo.TraCIException)
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
        self._tl = conn.trafficlight
        # (phase, program, next switch [s]) of a light in one call, where the connection has it
        self._signal = getattr(conn.trafficlight, "signal", None)
        self._errors = _sumo_errors()
        self._tls_id = tls_id
        self._node_id = NodeReferenceId(id=intersection_id, region=region)
        self._templates: list[SpatJsonTemplate] | None = None
        # UPER templates per phase of the current plan, each built when its phase first runs
        self._frames: list[SpatFrameTemplate | None] | None = None
        self._last_key: tuple[str, int] | None = None
        # the plan of the program in force, read at first use: a traffic process may still be
        # loading SUMO while the RSUs are built (v2x.traffic.PipelinedTraffic)
        self._plan: SignalPlan | None = None
        self._program_id: str | None = None

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
        """The signal plan of the program last read (the program in force when first asked).

        Raises SumoError / ConfigError as :meth:`spat_frame`."""
        if self._plan is None:
            return self._current_plan(self._call(self._tl.getProgram, self._tls_id))
        return self._plan

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """Link indices of each signal group; phase ``k + 1`` is ``groups[k]``."""
        return self.plan.groups

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self._errors as exc:
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
        self._templates = None  # built on demand by spat_json for this plan
        self._frames = None  # ... and by spat_frame
        return plan

    def _state(self) -> tuple[int, str, int]:
        """(phase index, program id, next switch [ns]) from SUMO; one ``try`` for the three
        calls (this is the per-step hot path)."""
        tl, tls = self._tl, self._tls_id
        try:
            return (tl.getPhase(tls), tl.getProgram(tls),
                    round(tl.getNextSwitch(tls) * 1_000_000_000))  # s_to_ns, inlined
        except self._errors as exc:
            raise SumoError(f"traffic light {tls!r}: {exc}") from exc

    def _current_plan(self, program_id: str) -> SignalPlan:
        if self._plan is None or program_id != self._program_id:  # first use, or switched
            self._plan = self._read_plan(program_id)  # by setProgram (or a WAUT)
            self._program_id = program_id
        return self._plan

    def timing(self) -> tuple[SignalPlan, GroupTiming]:
        """The signal plan in force and every group's light and timing now, as arrays.

        Four SUMO calls and one table look-up, no message objects.

        Raises:
            SumoError: the SUMO call failed.
        """
        phase, program_id, switch_ns = self._state()
        plan = self._current_plan(program_id)
        remaining = switch_ns - s_to_ns(self._call(self._conn.simulation.getTime))
        return plan, plan.timing(phase, remaining)

    def spat_json(self, msg_cnt: int, timestamp_ns: int | None, *,
                  now_ns: int | None = None) -> bytes:
        """The JSON bytes of a one-intersection SPAT now: exactly
        ``to_json_bytes(spat_to_json(Spat(msg_cnt, (self.build(timestamp_ns=timestamp_ns),),
        timestamp_ns)))``, for the per-step hot path (three SUMO calls, integer arithmetic and
        one ``bytes % tuple`` on a per-phase :class:`~v2x.messages._json.SpatJsonTemplate`).

        Args:
            msg_cnt: 0..127 (not checked).
            timestamp_ns: UTC [ns since the Unix epoch] of the message, or ``None``.
            now_ns: SUMO's current simulation time [ns] if the caller knows it (saves the
                ``simulation.getTime`` call); ``None`` asks SUMO.

        Raises:
            SumoError: the SUMO call failed.
            ConfigError: SUMO reports a phase outside the program, or a new program is
                malformed.
        """
        phase, remaining_ns = self._now(now_ns)
        templates = self._templates
        if templates is None:
            templates = self._templates = self._make_templates(self.plan)
        if not 0 <= phase < len(templates):
            raise ConfigError(f"traffic light {self._tls_id!r}: phase {phase} outside program "
                              f"{self._program_id!r} of {len(templates)} phases",
                              key="tls.phase", value=phase)
        return templates[phase].encode(msg_cnt, timestamp_ns, remaining_ns)

    def spat_frame(self, msg_cnt: int, timestamp_ns: int | None, *,
                   now_ns: int | None = None) -> bytes:
        """The UPER MessageFrame of a one-intersection SPAT now: exactly
        ``encode_frame(Spat(msg_cnt, (self.build(timestamp_ns=timestamp_ns),), timestamp_ns))``,
        for the per-step hot path (three SUMO calls and a per-phase
        :class:`~v2x.messages._uper.SpatFrameTemplate`; a phase's template is built, ~1 ms,
        the first time the phase runs under a program).

        Args:
            msg_cnt: 0..127.
            timestamp_ns: UTC [ns since the Unix epoch] of the message, or ``None``.
            now_ns: SUMO's current simulation time [ns] if the caller knows it (saves the
                ``simulation.getTime`` call); ``None`` asks SUMO.

        Raises:
            SumoError: the SUMO call failed.
            ConfigError: SUMO reports a phase outside the program, or a new program is
                malformed.
            EncodeError: ``msg_cnt`` is outside 0..127.
        """
        phase, remaining_ns = self._now(now_ns)
        return self._frame_template(phase).encode(msg_cnt, timestamp_ns, remaining_ns)

    def _now(self, now_ns: int | None) -> tuple[int, int]:
        """(phase index, time to the next switch [ns]) read from SUMO; follows a program
        change. Three SUMO calls (four without ``now_ns``): the per-step hot path."""
        tl, tls = self._tl, self._tls_id
        try:
            if self._signal is not None:  # all three in one call (SignalMirror)
                phase, program_id, next_s = self._signal(tls)
                switch_ns = round(next_s * 1_000_000_000)
            else:
                phase = tl.getPhase(tls)
                program_id = tl.getProgram(tls)
                switch_ns = round(tl.getNextSwitch(tls) * 1_000_000_000)
        except self._errors as exc:
            raise SumoError(f"traffic light {tls!r}: {exc}") from exc
        if program_id != self._program_id:
            self._current_plan(program_id)
        if now_ns is None:
            now_ns = s_to_ns(self._call(self._conn.simulation.getTime))
        self._last_key = (program_id, phase)
        return phase, switch_ns - now_ns

    def _frame_template(self, phase: int) -> SpatFrameTemplate:
        """The UPER template of ``phase`` of the current plan (built on first use)."""
        frames = self._frames
        if frames is None:
            frames = self._frames = [None] * self.plan.n_phases
        if not 0 <= phase < len(frames):
            raise ConfigError(f"traffic light {self._tls_id!r}: phase {phase} outside program "
                              f"{self._program_id!r} of {len(frames)} phases", key="tls.phase",
                              value=phase)
        tpl = frames[phase]
        if tpl is None:
            tpl = frames[phase] = SpatFrameTemplate(**self._template_args(self.plan, phase))
        return tpl

    def frame_size(self, timestamp_ns: int | None) -> int:
        """UPER size [bytes] of the SPAT :meth:`spat_json` (or :meth:`spat_frame`) last
        described, with (``timestamp_ns`` not ``None``) or without a timestamp.

        In UPER every SPAT field is a fixed-width constrained integer, so the size depends only
        on which optional fields are present, which is fixed per program phase: it is the
        length of the phase's :class:`~v2x.messages._uper.SpatFrameTemplate`. Call after
        :meth:`spat_json` in the same step; before any such call, one frame of the state now
        is encoded.
        """
        key = self._last_key
        if key is None or key[0] != self._program_id:
            return len(encode_frame(Spat(msg_cnt=0, intersections=(
                self.build(timestamp_ns=timestamp_ns),), timestamp_ns=timestamp_ns)))
        return self._frame_template(key[1]).size(stamped=timestamp_ns is not None)

    def _template_args(self, plan: SignalPlan, p: int) -> dict[str, Any]:
        """The template arguments of phase ``p`` (see :class:`SignalPlan` for the tables),
        shared by the JSON and UPER templates."""
        status = (IntersectionStatus.FIXED_TIME_OPERATION if plan.static
                  else IntersectionStatus.TRAFFIC_DEPENDENT_OPERATION)
        return {"intersection_id": self._node_id, "status": status,
                "lights": plan.lights[p].tolist(),
                "likely_end_after_ns": plan.end_after_ns[p].tolist(),
                "next_start_after_ns": plan.next_start_after_ns[p].tolist(),
                "next_duration_ns": plan.next_duration_ns[p].tolist(),
                "fixed_time": plan.static}

    def _make_templates(self, plan: SignalPlan) -> list[SpatJsonTemplate]:
        """One JSON template per program phase."""
        return [SpatJsonTemplate(**self._template_args(plan, p)) for p in range(plan.n_phases)]

    @property
    def node_id(self) -> NodeReferenceId:
        """The intersection's node id (the MAP node's)."""
        return self._node_id

    def build(self, *, timestamp_ns: int | None = None) -> IntersectionState:
        """The intersection state now (SUMO's current simulation time).

        Args:
            timestamp_ns: UTC [ns since the Unix epoch] to stamp the state with, or ``None``.

        Raises:
            SumoError: the SUMO call failed.
        """
        plan, t = self.timing()
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
