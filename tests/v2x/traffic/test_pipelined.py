"""The traffic process: steps arrive in order with their side output; failures are SumoErrors."""

from __future__ import annotations

import pytest

from v2x.errors import SumoError
from v2x.traffic import PipelinedTraffic, ScriptedTraffic, ScriptedVehicle, SideStep


class _Scripted:
    """A picklable traffic side around the scripted backend (no SUMO needed)."""

    def __call__(self) -> _Scripted:
        self.traffic = ScriptedTraffic([ScriptedVehicle("a", 0.0, 0.0, 0.0, 10.0)])
        self.k = 0
        return self

    def info(self) -> str:
        return "ready"

    def step(self) -> SideStep:
        self.k += 1
        return SideStep(states=self.traffic.step(), collisions=(),
                        new_names=("a",) if self.k == 1 else (), side={"k": self.k})

    def close(self) -> None:
        pass


class _Broken:
    def __call__(self) -> _Broken:
        raise RuntimeError("no SUMO here")


def test_steps_arrive_in_order_with_side_output() -> None:
    with PipelinedTraffic(_Scripted()) as tr:
        assert tr.info == "ready"
        for k in range(1, 6):
            st = tr.step()
            assert tr.side == {"k": k}
            # 10 m/s north: after k steps of 0.1 s the vehicle is k metres on
            assert st.t_ns == k * 100_000_000 and st.y[0] == pytest.approx(k * 1.0)
        assert tr.vehicle_names() == ["a"] and tr.collisions() == []
        with pytest.raises(SumoError, match="in the traffic process"):
            tr.brake_to_stop("a", 5.0, 1.0)


def test_a_failing_traffic_side_is_a_sumo_error() -> None:
    # the constructor does not wait for the child (SUMO loads while the run is prepared):
    # its failure is raised by the first use, info or a step
    for first_use in ("info", "step"):
        tr = PipelinedTraffic(_Broken())
        try:
            with pytest.raises(SumoError, match="RuntimeError: no SUMO here"):
                tr.step() if first_use == "step" else tr.info  # noqa: B018
        finally:
            tr.close()


class _FailsAtFive(_Scripted):
    """Fails on its fifth step (module level: the child imports it)."""

    def step(self) -> SideStep:
        if self.k == 4:
            raise RuntimeError("SUMO gave up at step 5")
        return super().step()


def test_steps_before_a_failure_arrive_then_the_error() -> None:
    # a batch of 10 fails at its fifth step: the four steps done reach the loop (nothing
    # computed is lost), then the failure is a SumoError with the child's message
    with PipelinedTraffic(_FailsAtFive(), ahead=10, batch=10) as tr:
        got = [tr.step().t_ns for _ in range(4)]
        assert got == [k * 100_000_000 for k in range(1, 5)]
        assert tr.side == {"k": 4}
        with pytest.raises(SumoError, match="RuntimeError: SUMO gave up at step 5"):
            tr.step()


def test_batches_give_the_same_steps_as_single_steps() -> None:
    with PipelinedTraffic(_Two(), ahead=6, batch=3) as batched, \
            PipelinedTraffic(_Two()) as single:
        for _ in range(7):  # across batch boundaries
            a, b = batched.step(), single.step()
            assert a.t_ns == b.t_ns and list(a.names) == list(b.names)
            assert list(a.x) == list(b.x) and list(a.lane) == list(b.lane)
        assert batched.vehicle_names() == single.vehicle_names() == ["a", "b"]


def _child_pid(tr: PipelinedTraffic) -> int:
    return tr._proc._proc.pid  # type: ignore[attr-defined]


def test_a_child_killed_mid_run_is_a_sumo_error_not_an_oserror() -> None:
    import os
    import signal

    tr = PipelinedTraffic(_Scripted(), ahead=4)
    tr.step()
    os.kill(_child_pid(tr), signal.SIGKILL)
    # the steps it had sent before may still be read; then the loop learns that it died
    with pytest.raises(SumoError, match="traffic process died"):
        for _ in range(50):
            tr.step()
    tr.close()


_TWO = [ScriptedVehicle("a", 1.0, 2.0, 90.0, 10.0, accel=-1.5, lane="e1_0", length=4.5,
                        width=1.9, height=1.6, classification=20),
        ScriptedVehicle("b", 5.0, 6.0, 180.0, 3.0, lane="e2_1")]


class _Two(_Scripted):
    """Two vehicles with every column set (module level: the child imports it)."""

    def __call__(self) -> _Two:
        self.traffic = ScriptedTraffic(_TWO)
        self.k = 0
        return self

    def step(self) -> SideStep:
        self.k += 1
        return SideStep(states=self.traffic.step(), collisions=(),
                        new_names=("a", "b") if self.k == 1 else (), side=None)


def test_the_wire_form_keeps_every_column() -> None:
    here = ScriptedTraffic(_TWO)
    with PipelinedTraffic(_Two()) as tr:
        for _ in range(3):
            got, want = tr.step(), here.step()
            assert got.t_ns == want.t_ns
            for name in ("names", "index", "x", "y", "speed", "accel", "heading_deg", "lane",
                         "lane_pos", "brake", "length", "width", "height", "classification"):
                assert list(getattr(got, name)) == list(getattr(want, name)), name
                assert getattr(got, name).dtype == getattr(want, name).dtype, name


def test_an_unclosed_traffic_process_is_stopped_when_collected() -> None:
    import gc

    tr = PipelinedTraffic(_Scripted())
    tr.step()
    proc = tr._proc
    del tr
    gc.collect()
    assert proc.join(timeout=5) and proc.exitcode is not None


def test_the_written_out_variable_ids_are_tracis() -> None:
    import traci.constants as tc

    from v2x.traffic import SUBSCRIBED_VARS

    assert SUBSCRIBED_VARS == (tc.VAR_POSITION, tc.VAR_SPEED, tc.VAR_ACCELERATION, tc.VAR_ANGLE,
                               tc.VAR_LANE_ID, tc.VAR_LANEPOSITION, tc.VAR_SIGNALS)


def test_the_traffic_process_imports_neither_traci_nor_the_message_set() -> None:
    # what the child imports is what it must load before SUMO starts
    import subprocess
    import sys

    code = ("import sys, v2x.traffic._side, v2x.traffic._child; "
            "print(' '.join(sorted(sys.modules)))")
    mods = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                          check=True).stdout.split()
    assert not [m for m in mods if m.split(".")[0] in ("traci", "sumolib", "pyproj",
                                                          "asn1tools", "roadside", "pyarrow")]
    assert "v2x.messages" not in mods and "v2x.sim._loop" not in mods


def test_a_prestarted_traffic_process_is_taken_by_the_next_run() -> None:
    from v2x.traffic import _pipelined as P

    P.prestart(preload=())
    spare = P._SPARE[-1][1]
    with PipelinedTraffic(_Scripted()) as tr:
        assert tr._proc is spare and not P._SPARE  # the same process, no second one
        assert tr.step().t_ns == 100_000_000


def test_a_dead_spare_is_replaced_and_an_unused_one_is_stopped() -> None:
    import os
    import signal

    from v2x.traffic import _pipelined as P

    P.prestart(preload=())
    dead = P._SPARE[-1][1]
    os.kill(dead._proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    assert dead.join(timeout=5)
    with PipelinedTraffic(_Scripted()) as tr:  # starts a fresh process instead
        assert tr._proc is not dead and tr.step().t_ns == 100_000_000
    P.prestart(preload=())
    unused = P._SPARE[-1][1]
    P.drop_prestarted()  # what runs at exit: its socket closes, it ends on its own
    assert not P._SPARE and unused.exitcode == 0


class _Where(_Scripted):
    """Reports the working directory and an environment variable of the child."""

    def info(self) -> tuple[str, str | None]:
        import os

        return os.getcwd(), os.environ.get("V2X_TEST_MARK")


def test_a_prestarted_process_takes_the_callers_directory_and_environment_of_now(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from v2x.traffic import _pipelined as P

    P.prestart(preload=())  # started here, before the caller moves
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.setenv("V2X_TEST_MARK", "after the prestart")
    with PipelinedTraffic(_Where()) as tr:
        assert tr.info == (str(tmp_path), "after the prestart")


def test_two_threads_starting_at_once_share_no_spare() -> None:
    import threading

    from v2x.traffic import _pipelined as P

    P.prestart(preload=())
    got: list[object] = []
    barrier = threading.Barrier(2)

    def start() -> None:
        barrier.wait()
        with PipelinedTraffic(_Scripted()) as tr:
            got.append((tr._proc, tr.step().t_ns))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(got) == 2 and got[0][0] is not got[1][0]  # type: ignore[index]
    assert all(t_ns == 100_000_000 for _, t_ns in got)  # type: ignore[misc]


def test_the_wire_form_keeps_persons_fired_events_and_skips() -> None:
    import numpy as np

    from v2x.traffic import Action, PersonStates
    from v2x.traffic._pipelined import _StatesDecoder, _StatesEncoder

    here = ScriptedTraffic(_TWO)
    f = np.array

    def people(t_ns: int, idx: list[int], edges: list[str]) -> PersonStates:
        k = len(idx)
        return PersonStates(t_ns=t_ns, names=f([f"p{i}" for i in idx], dtype=object),
                            index=f(idx, np.int64), x=f([1.5 * i for i in idx], float),
                            y=f([2.5] * k, float), speed=f([1.25] * k, float),
                            heading_deg=f([90.0 + i for i in idx], float),
                            length=f([0.215] * k, float), width=f([0.478] * k, float),
                            edge=f(edges, dtype=object))

    act = Action(300_000_000, "ev", "rsi_raise")
    sent = [SideStep(states=here.step(), collisions=(), new_names=("a", "b"), side=1,
                     persons=people(100_000_000, [0], ["e1"]), new_persons=("p0",)),
            SideStep(states=here.step(), collisions=(), new_names=(), side=2, persons=None),
            SideStep(states=here.step(), collisions=(), new_names=(), side=3,
                     persons=people(300_000_000, [0, 1], [":j_w0", "e1"]),
                     new_persons=("p1",), fired=((300_000_000, "ev"),), fired_actions=(act,),
                     skipped=("ghost",)),
            SideStep(states=here.step(), collisions=(), new_names=(), side=4,
                     persons=PersonStates.empty(400_000_000))]
    enc, dec = _StatesEncoder(), _StatesDecoder()
    got = dec.decode(pickle_round(enc.encode(sent[:2]))) + dec.decode(
        pickle_round(enc.encode(sent[2:])))
    assert got[1].persons is None and got[3].persons is not None and got[3].persons.n == 0
    for g, s in ((got[0], sent[0]), (got[2], sent[2])):
        assert g.persons is not None and s.persons is not None
        for col in ("names", "index", "x", "y", "speed", "heading_deg", "length", "width",
                    "edge"):
            assert list(getattr(g.persons, col)) == list(getattr(s.persons, col)), col
            assert getattr(g.persons, col).dtype == getattr(s.persons, col).dtype, col
        assert g.persons.t_ns == s.persons.t_ns
    assert got[2].fired == ((300_000_000, "ev"),) and got[2].skipped == ("ghost",)
    assert [a[:3] for a in got[2].fired_actions] == [(300_000_000, "ev", "rsi_raise")]
    assert [s.side for s in got] == [1, 2, 3, 4]


def pickle_round(obj: object) -> object:
    import pickle

    return pickle.loads(pickle.dumps(obj))


class _CountsSteps(_Scripted):
    """Writes how many steps it computed to ``path`` when closed (optionally slow steps)."""

    def __init__(self, path: str, step_s: float = 0.0) -> None:
        self.path, self.step_s = path, step_s

    def step(self) -> SideStep:
        import time

        time.sleep(self.step_s)
        return super().step()

    def close(self) -> None:
        from pathlib import Path

        Path(self.path).write_text(str(self.k))


def test_the_traffic_process_computes_no_step_past_the_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 10 steps in batches of 4, 6 ahead: without ``steps`` the child would be asked for 16
    done = tmp_path / "steps"
    with PipelinedTraffic(_CountsSteps(str(done)), ahead=6, batch=4, steps=10) as tr:
        for k in range(1, 11):
            assert tr.step().t_ns == k * 100_000_000
        with pytest.raises(SumoError, match="10 steps are all taken"):
            tr.step()
    assert done.read_text() == "10"
    with pytest.raises(ValueError, match="steps must be >= 0"):
        PipelinedTraffic(_Scripted(), steps=-1)


def test_close_stops_the_traffic_process_within_a_batch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # batches of 20 steps of 20 ms: after the first, the child is into the second batch when
    # the loop closes; it stops at its next step instead of finishing the batch (40 steps)
    done = tmp_path / "steps"
    with PipelinedTraffic(_CountsSteps(str(done), step_s=0.02), ahead=40, batch=20) as tr:
        tr.step()
    assert 20 <= int(done.read_text()) <= 30
