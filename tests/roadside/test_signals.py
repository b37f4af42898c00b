"""Signal groups and light timing from hand-written programs (no SUMO needed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from roadside import SUMO_LIGHT_STATES, SignalPlan, light_state, signal_groups
from v2x.errors import ConfigError
from v2x.messages._spat import LightState

S = 1_000_000_000  # ns per s


def test_light_table_matches_the_documented_mapping() -> None:
    # the table of roadside._signals, written out again by hand: SUMO's "s" (stop, then
    # proceed) is flashing red 2 (J2735 stop-then-proceed), "u" (red+yellow, green next) is 4
    # (J2735 pre-movement), not red 3 nor permissive green 5
    expected = {"G": 6, "g": 5, "s": 2, "y": 7, "Y": 7, "r": 3, "u": 4, "o": 8, "O": 1}
    assert {k: int(v) for k, v in SUMO_LIGHT_STATES.items()} == expected
    assert light_state("G") is LightState.PROTECTED_GREEN
    with pytest.raises(ConfigError):
        light_state("x")


def test_groups_of_a_two_approach_program() -> None:
    # columns: link0 "Gyrr", link1 "Gyrr", link2 "rrGy", link3 "rrGy" -> two groups
    assert signal_groups(["GGrr", "yyrr", "rrGG", "rryy"]) == ((0, 1), (2, 3))


def test_groups_are_ordered_by_first_link_and_split_by_any_difference() -> None:
    # link0 "Gyr", link1 "rGy", link2 "Gyr", link3 "gyr" (g differs from G) -> 3 groups
    assert signal_groups(["GrGg", "yGyy", "ryrr"]) == ((0, 2), (1,), (3,))


def test_groups_accept_libsumo_and_sumolib_shaped_programs() -> None:
    phases = [SimpleNamespace(state="Gr", duration=10.0), SimpleNamespace(state="rG",
                                                                          duration=5.0)]
    logic = SimpleNamespace(programID="x", type=0, phases=phases)  # libsumo Logic shape
    prog = SimpleNamespace(getPhases=lambda: phases, getType=lambda: "actuated", _id="p")
    assert signal_groups(logic) == signal_groups(prog) == ((0,), (1,))
    assert SignalPlan.from_program(logic).static is True
    plan = SignalPlan.from_program(prog)
    assert (plan.program_id, plan.static) == ("p", False)


def test_malformed_programs_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        signal_groups([])
    with pytest.raises(ConfigError):
        signal_groups(["GG", "G"])
    with pytest.raises(ConfigError):
        signal_groups(["Gq"])
    with pytest.raises(ConfigError):
        SignalPlan.from_states(["G", "r"], [1.0])
    with pytest.raises(ConfigError):
        SignalPlan.from_states(["G", "r"], [0.0, 0.0])


def test_a_light_spanning_several_phases() -> None:
    # phases: 0 "Gr" 30 s, 1 "yr" 3 s, 2 "rG" 20 s, 3 "rr" 2 s; cycle 55 s
    plan = SignalPlan.from_states(["Gr", "yr", "rG", "rr"], [30, 3, 20, 2])
    assert plan.groups == ((0,), (1,))
    assert plan.cycle_ns == 55 * S
    # 10 s into phase 0 (20 s left):
    t = plan.timing(0, 20 * S)
    assert t.lights.tolist() == [6, 3]
    # group 1 (link 1) is red in phases 0 and 1: 20 s left of phase 0 + 3 s of phase 1 = 23 s,
    # although the controller switches after 20 s
    assert t.likely_end_ns.tolist() == [20 * S, 23 * S]
    # group 0 is green again after 20 + 3 + 20 + 2 = 45 s for 30 s;
    # group 1 is red again after 23 + 20 = 43 s, for phases 3, 0, 1: 2 + 30 + 3 = 35 s
    assert t.next_start_ns.tolist() == [45 * S, 43 * S]
    assert t.next_duration_ns.tolist() == [30 * S, 35 * S]
    # 1 s left of phase 3 ("rr"): group 0 red through phase 3 only -> 1 s;
    # group 1 red through phase 3, 0, 1 -> 1 + 30 + 3 = 34 s
    t = plan.timing(3, 1 * S)
    assert t.lights.tolist() == [3, 3]
    assert t.likely_end_ns.tolist() == [1 * S, 34 * S]


def test_yellow_and_Yellow_are_one_light() -> None:
    # 'y' then 'Y' both map to 7: the yellow lasts 3 + 2 = 5 s from the start of phase 1
    plan = SignalPlan.from_states(["G", "y", "Y", "r"], [10, 3, 2, 5])
    assert plan.groups == ((0,),)
    assert plan.timing(1, 3 * S).likely_end_ns.tolist() == [5 * S]


def test_a_light_that_never_changes_has_an_unknown_end() -> None:
    # link 1 is red in every phase: walking one full cycle finds no change -> -1 (unknown)
    plan = SignalPlan.from_states(["Gr", "yr", "rr"], [10, 3, 10])
    t = plan.timing(0, 4 * S)
    assert t.likely_end_ns.tolist() == [4 * S, -1]
    assert t.next_start_ns.tolist() == [4 * S + 13 * S, -1]
    assert t.next_duration_ns.tolist() == [10 * S, -1]


def test_phase_to_link_mapping_and_bounds() -> None:
    plan = SignalPlan.from_states(["GGrr", "yyrr", "rrGG", "rryy"], [40, 3, 40, 3])
    assert [plan.phase_id_of_link(i) for i in range(4)] == [1, 1, 2, 2]
    assert plan.phase_id_of_link(4) is None
    assert plan.phase_id_of_link(-1) is None
    with pytest.raises(ConfigError):
        plan.timing(4, 0)
    # negative remaining (a late query) counts as 0: group 1 is still red through phase 1 (3 s)
    assert plan.timing(0, -5).likely_end_ns.tolist() == [0, 3 * S]


def test_plan_arrays_are_read_only() -> None:
    plan = SignalPlan.from_states(["Gr", "rG"], [1, 1])
    with pytest.raises(ValueError):
        plan.lights[0, 0] = 0
    assert isinstance(plan.durations_ns, np.ndarray)
