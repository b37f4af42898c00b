"""Simulation telemetry on v2x/{zone}/sim/{clock,warnings,events}."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from v2x.bus import Telemetry
from v2x.cli import run_scenario

from .conftest import OwnMosquitto


class _Rec:
    def __init__(self) -> None:
        self.tables: list[str] = []

    def append(self, table: str, **cols: object) -> None:
        self.tables.append(table)

    def rows(self, table: str) -> int:
        return 7


def test_merge_puts_each_message_after_its_step_uplinks() -> None:
    rec = _Rec()
    tel = Telemetry(rec, zone="z", start_utc_ns=0, clock_period_ns=200)
    tel.append("warnings", t_ns=np.array([100, 100]), app=np.array(["FCW", "FCW"], object),
               vehicle=np.array([1, 2]), remote=np.array([2, 1]),
               ttc_s=np.array([1.5, np.inf]), gap_m=np.array([10.0, 12.0]))
    tel.append("events", t_ns=np.array([500]), kind=np.array(["driver_brake"], object),
               vehicle=np.array([3]), other=np.array([-1]), value=np.array([4.0]))
    tel.append("trajectories", t_ns=np.array([100]))
    assert rec.tables == ["warnings", "events", "trajectories"] and tel.rows("x") == 7
    pubs, t, src = tel.merge([("up/a", b"a"), ("up/b", b"b")], [100, 200],
                             np.array([100, 200, 300]))
    # telemetry is built clock (2), warnings (3), events (4): up/a, warnings, up/b, clock, events
    assert src == [0, 3, 1, 2, 4]
    # step 100: uplink a, then the two warnings; step 200: uplink b, then the clock
    # (200 % 200 == 0); the event at 500 is after the window: at its last step, 300
    assert [topic for topic, _ in pubs] == ["up/a", "v2x/z/sim/warnings", "up/b",
                                           "v2x/z/sim/clock", "v2x/z/sim/events"]
    assert t == [100, 100, 200, 200, 300]
    assert json.loads(pubs[1][1]) == {"t_ns": 100, "warnings": [
        {"app": "FCW", "vehicle": 1, "remote": 2, "ttc_s": 1.5, "gap_m": 10.0},
        {"app": "FCW", "vehicle": 2, "remote": 1, "ttc_s": None, "gap_m": 12.0}]}
    assert json.loads(pubs[3][1]) == {"t_ns": 200, "utc": "1970-01-01T00:00:00.000+00:00"}
    assert tel.merge([], [], np.array([500])) == ([], [], [])  # rows taken; 500 % 200 != 0


@pytest.mark.broker
@pytest.mark.sumo
def test_a_run_publishes_its_warnings_and_events(own_mosquitto: Callable[..., OwnMosquitto],
                                                tmp_path: Path) -> None:
    broker = own_mosquitto()
    # a retained marker reaches the subscriber as it subscribes: once it prints it, it hears
    subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", "ready", "-r", "-m", "1"],
                   check=True)
    sub = subprocess.Popen(["mosquitto_sub", "-p", str(broker.port), "-v", "-t", "ready",
                            "-t", "v2x/xiqing/sim/#"], stdout=subprocess.PIPE)
    assert sub.stdout is not None
    watchdog = threading.Timer(300, sub.kill)  # a lost marker fails the test, never hangs it
    watchdog.start()
    assert sub.stdout.readline().startswith(b"ready")
    run_scenario("xiqing-fcw-lead-brakes", out_dir=tmp_path, bus=broker.url)
    subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", "v2x/xiqing/sim/end",
                    "-m", "end"], check=True)
    lines = []
    for line in sub.stdout:
        if line.startswith(b"v2x/xiqing/sim/end"):
            break
        lines.append(line.decode().split(" ", 1))
    watchdog.cancel()
    sub.kill()
    sub.wait()
    sub.stdout.close()
    got = {"clock": [], "warnings": [], "events": []}  # type: dict[str, list]
    for topic, payload in lines:
        got[topic.rsplit("/", 1)[1]].append(json.loads(payload))
    # 15 s scenario: one clock message per simulated second, t = 1 s .. 15 s
    assert [c["t_ns"] for c in got["clock"]] == [k * 10**9 for k in range(1, 16)]
    warnings = pd.read_parquet(tmp_path / "warnings.parquet")
    heard = [(w["app"], w["vehicle"], w["remote"], m["t_ns"])
             for m in got["warnings"] for w in m["warnings"]]
    assert heard == list(zip(warnings["app"], warnings["vehicle"].tolist(),
                             warnings["remote"].tolist(), warnings["t_ns"].tolist(),
                             strict=True))
    events = pd.read_parquet(tmp_path / "events.parquet")
    kinds = [e["kind"] for m in got["events"] for e in m["events"]]
    assert len(warnings) > 0 and kinds == events["kind"].tolist()
