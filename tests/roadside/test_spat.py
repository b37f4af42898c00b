"""SPAT from the running 3x3 grid, checked against what SUMO actually shows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType

import pytest

from roadside import SUMO_LIGHT_STATES, SpatBuilder
from tests.roadside.conftest import STEP_S, TLS_IDS
from v2x.errors import SumoError
from v2x.messages import Spat, decode_frame, spat_to_json, to_json_bytes
from v2x.messages._spat import IntersectionStatus, LightState
from v2x.units import s_to_ns

STEP_NS = s_to_ns(STEP_S)
#: netgenerate's static program on every grid junction: 42 s green, 3 s yellow, twice
CYCLE_S = 90.0


@dataclass
class _Prediction:
    """One sampled SPAT phase, followed until its light ends, returns and ends again."""

    t_ns: int
    light: int
    likely_end_ns: int
    next_start_ns: int
    next_duration_ns: int
    end: int | None = None  # absolute time [ns] the light was first seen changed
    back: int | None = None  # ... first seen the same as sampled again
    end_again: int | None = None  # ... first seen changed again after that

    def see(self, t_ns: int, light: int) -> None:
        """Record a change of the group's light to ``light`` seen at ``t_ns``."""
        if self.end is None:
            self.end = t_ns
        elif self.back is None:
            if light == self.light:
                self.back = t_ns
        elif self.end_again is None:
            self.end_again = t_ns

    @property
    def done(self) -> bool:
        return self.end_again is not None


@pytest.mark.sumo
def test_spat_light_and_timing_match_sumo(sim: ModuleType) -> None:
    tl = sim.trafficlight
    builders = {tls: SpatBuilder(sim, tls, i + 1) for i, tls in enumerate(TLS_IDS)}
    # B1's program (read with sumolib in test_map): 4 groups of the 20 links, by hand from
    # "GGGggrrrrrGGGggrrrrr" / "yyyyy..." / "rrrrrGGGgg..." / "rrrrryyyyy..."
    assert builders["B1"].groups == ((0, 1, 2, 10, 11, 12), (3, 4, 13, 14),
                                     (5, 6, 7, 15, 16, 17), (8, 9, 18, 19))
    pending: dict[tuple[str, int], list[_Prediction]] = {}
    last: dict[tuple[str, int], int] = {}
    checked_lights = 0
    resolved: list[_Prediction] = []
    n_sample = int(round(2 * CYCLE_S / STEP_S))  # sample over two full cycles
    n_total = n_sample + int(round(1.2 * CYCLE_S / STEP_S))  # then follow pending ones
    for step in range(n_total):
        now_ns = s_to_ns(sim.simulation.getTime())
        for tls, b in builders.items():
            state = tl.getRedYellowGreenState(tls)
            # observed change of each group's light since the previous step
            for g, links in enumerate(b.groups):
                light = int(SUMO_LIGHT_STATES[state[links[0]]])
                key = (tls, g)
                if key in last and last[key] != light:
                    for p in pending.get(key, []):
                        p.see(now_ns, light)
                last[key] = light
            if step % 7 == 0 and step < n_sample:  # every 0.7 s: a grid of phase offsets
                spat = b.build()
                assert spat.intersection_id.id == TLS_IDS.index(tls) + 1
                assert spat.status == IntersectionStatus.FIXED_TIME_OPERATION
                assert [p.id for p in spat.phases] == list(range(1, len(b.groups) + 1))
                for g, (phase, links) in enumerate(zip(spat.phases, b.groups, strict=True)):
                    (ps,) = phase.states
                    # (1) the SPAT light equals SUMO's state char of every link of the group
                    for link in links:
                        assert ps.light == SUMO_LIGHT_STATES[state[link]], (tls, g, link)
                        checked_lights += 1
                    t = ps.timing
                    assert t is not None and t.likely_end_time_ns is not None
                    assert t.start_time_ns == 0
                    # static program: min = max = likely
                    assert t.min_end_time_ns == t.max_end_time_ns == t.likely_end_time_ns
                    assert t.next_start_time_ns is not None and t.next_duration_ns is not None
                    pending.setdefault((tls, g), []).append(_Prediction(
                        now_ns, int(ps.light), t.likely_end_time_ns, t.next_start_time_ns,
                        t.next_duration_ns))
        for preds in pending.values():
            resolved += [p for p in preds if p.done]
            preds[:] = [p for p in preds if not p.done]
        sim.simulationStep()

    # 9 lights x 20 links x (1800 / 7 + 1 = 258 samples)
    assert checked_lights == 9 * 20 * 258
    assert len(resolved) > 9 * 4 * 200
    for p in resolved:
        assert p.end is not None and p.back is not None and p.end_again is not None
        end, back, end_again = p.end - p.t_ns, p.back - p.t_ns, p.end_again - p.t_ns
        # (2) SUMO switches at the start of the step at the switch time, so getRedYellowGreenState
        # shows the change exactly one step after the predicted end (0 <= diff <= one step).
        assert 0 <= end - p.likely_end_ns <= STEP_NS, p
        assert 0 <= back - p.next_start_ns <= STEP_NS, p
        assert end_again - back == p.next_duration_ns, p


@pytest.mark.sumo
def test_spat_rereads_a_changed_program(sim: ModuleType) -> None:
    tl = sim.trafficlight
    b = SpatBuilder(sim, "B1", 5)
    assert len(b.build().phases) == 4
    # a new program: all 20 links green 30 s, yellow 5 s, red 10 s -> one group
    phases = [tl.Phase(30.0, "G" * 20, 30.0, 30.0), tl.Phase(5.0, "y" * 20, 5.0, 5.0),
              tl.Phase(10.0, "r" * 20, 10.0, 10.0)]
    tl.setProgramLogic("B1", tl.Logic("alt", 0, 0, phases))
    tl.setProgram("B1", "alt")
    tl.setPhase("B1", 0)  # restarts phase 0: 30 s left
    spat = b.build()
    assert b.plan.program_id == "alt"
    assert b.groups == (tuple(range(20)),)
    (phase,) = spat.phases
    (ps,) = phase.states
    assert ps.light == LightState.PROTECTED_GREEN
    assert ps.timing is not None
    # 30 s of green left; green again after 30 + 5 + 10 = 45 s, for 30 s
    assert ps.timing.likely_end_time_ns == 30 * 10**9
    assert ps.timing.next_start_time_ns == 45 * 10**9
    assert ps.timing.next_duration_ns == 30 * 10**9


@pytest.mark.sumo
def test_spat_json_equals_build_through_a_program_change(sim: ModuleType) -> None:
    tl = sim.trafficlight
    b = SpatBuilder(sim, "B1", 5)
    ts = 1_780_000_000 * 10**9  # any UTC instant

    def slow(cnt: int) -> bytes:
        return to_json_bytes(spat_to_json(Spat(msg_cnt=cnt, intersections=(
            b.build(timestamp_ns=ts),), timestamp_ns=ts)))

    def check(n_steps: int) -> None:
        for step in range(n_steps):
            sim.simulationStep()
            now = s_to_ns(sim.simulation.getTime())
            assert b.spat_json(step % 128, ts, now_ns=now) == slow(step % 128)
            assert b.spat_json(step % 128, None) == to_json_bytes(spat_to_json(Spat(
                msg_cnt=step % 128, intersections=(b.build(),))))

    check(950)  # 95 s: more than one 90 s cycle, every phase of the program
    # the program of test_spat_rereads_a_changed_program: 20 links G 30 s, y 5 s, r 10 s
    phases = [tl.Phase(30.0, "G" * 20, 30.0, 30.0), tl.Phase(5.0, "y" * 20, 5.0, 5.0),
              tl.Phase(10.0, "r" * 20, 10.0, 10.0)]
    tl.setProgramLogic("B1", tl.Logic("alt", 0, 0, phases))
    tl.setProgram("B1", "alt")
    tl.setPhase("B1", 0)
    # picked up without a step: one group, green for 30 s (TimeMark 300), again after 45 s
    got = json.loads(b.spat_json(1, ts))
    (phase,) = got["intersections"][0]["phases"]
    assert phase["phaseStates"][0]["light"] == "protected-green"
    assert phase["phaseStates"][0]["timing"]["counting"]["likelyEndTime"] == 300
    assert phase["phaseStates"][0]["timing"]["counting"]["nextStartTime"] == 450
    assert b.plan.program_id == "alt"
    check(500)  # 50 s: every phase of the new program


@pytest.mark.sumo
def test_red_yellow_and_stop_then_go_reach_the_frame_as_pre_movement_and_flashing_red(
        sim: ModuleType) -> None:
    tl = sim.trafficlight
    b = SpatBuilder(sim, "B1", 5)
    # links 0-9 show SUMO's "u" (red+yellow, green next) for 2 s, links 10-19 "s" (stop,
    # then go), then green: two groups
    phases = [tl.Phase(2.0, "u" * 10 + "s" * 10, 2.0, 2.0), tl.Phase(30.0, "G" * 20, 30.0, 30.0)]
    tl.setProgramLogic("B1", tl.Logic("us", 0, 0, phases))
    tl.setProgram("B1", "us")
    tl.setPhase("B1", 0)
    ts = 1_780_000_000 * 10**9
    spat = decode_frame(b.spat_frame(3, ts, now_ns=s_to_ns(sim.simulation.getTime())),
                        now_ns=ts)
    assert isinstance(spat, Spat)
    lights = [p.states[0].light for p in spat.intersections[0].phases]
    # T/CSAE 53 LightState (SAE J2735 codes): 4 pre-movement, 2 stop-then-proceed
    assert lights == [LightState.FLASHING_GREEN, LightState.FLASHING_RED]
    assert [int(x) for x in lights] == [4, 2]


@pytest.mark.sumo
def test_unknown_light_is_a_sumo_error(sim: ModuleType) -> None:
    # the plan is read at first use (a traffic process may still be loading SUMO when the
    # RSUs are built): that use names the light
    spat = SpatBuilder(sim, "no-such-light", 1)
    with pytest.raises(SumoError, match="no-such-light"):
        spat.plan  # noqa: B018
    with pytest.raises(SumoError, match="no-such-light"):
        spat.spat_frame(0, None)


def test_spat_value_classes_validate() -> None:
    from v2x.errors import EncodeError
    from v2x.messages._map import NodeReferenceId
    from v2x.messages._spat import (
        IntersectionState,
        Phase,
        PhaseState,
        Spat,
        TimeCountingDown,
    )

    with pytest.raises(EncodeError):
        TimeCountingDown(start_time_ns=-1, likely_end_time_ns=None)
    with pytest.raises(EncodeError):
        TimeCountingDown(start_time_ns=0, likely_end_time_ns=1.5)  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        PhaseState(light=9)  # type: ignore[arg-type]
    assert PhaseState(light=3).light is LightState.RED  # type: ignore[arg-type]
    state = PhaseState(LightState.RED)
    with pytest.raises(EncodeError):
        Phase(id=1, states=())
    with pytest.raises(EncodeError):  # phase ids must be unique
        IntersectionState(NodeReferenceId(1), IntersectionStatus.NONE,
                          (Phase(1, (state,)), Phase(1, (state,))))
    with pytest.raises(EncodeError):  # at most 16 phases
        IntersectionState(NodeReferenceId(1), IntersectionStatus.NONE,
                          tuple(Phase(i, (state,)) for i in range(1, 18)))
    ix = IntersectionState(NodeReferenceId(1), IntersectionStatus.FIXED_TIME_OPERATION,
                           (Phase(2, (state,)),))
    assert ix.phase(2).states == (state,)
    with pytest.raises(EncodeError):
        Spat(msg_cnt=128, intersections=(ix,))
    assert Spat(msg_cnt=127, intersections=(ix,)).intersections == (ix,)
    # bit 5 of IntersectionStatusObject is fixedTimeOperation
    assert IntersectionStatus.FIXED_TIME_OPERATION == 1 << 5


def test_roadside_exports_are_sorted_and_resolve() -> None:
    import roadside

    assert roadside.__all__ == sorted(roadside.__all__)
    for name in roadside.__all__:
        assert getattr(roadside, name) is not None
