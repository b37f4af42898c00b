"""The command line through click's runner: listing, exit codes 0/1/2, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scenarios import LIBRARY
from v2x.cli import main

BASE = (LIBRARY / "xiqing-south-station" / "scenario.toml").read_text(encoding="utf-8")


def test_list_shows_the_library_with_tags() -> None:
    res = CliRunner().invoke(main, ["list"])
    assert res.exit_code == 0
    assert "xiqing-south-station" in res.output and "xiqing" in res.output
    # one column each: the durations' "s" and the titles start at the same place on every line
    import scenarios

    lines = res.output.splitlines()
    assert len({line.index(" s  [") for line in lines}) == 1
    titles = [sc.title for sc in scenarios.library_scenarios()]
    assert len({line.rindex(title) for line, title in zip(lines, titles, strict=True)}) == 1


def test_unknown_scenario_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["run", "no-such-scenario"])
    assert res.exit_code == 2
    assert "no scenario named 'no-such-scenario'" in res.output
    assert "Traceback" not in res.output


def test_bad_bus_spec_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["run", "xiqing-south-station", "--bus", "carrier-pigeon"])
    assert res.exit_code == 2
    assert "mqtt://host:port" in res.output


@pytest.mark.parametrize(("args", "text"), [
    (["--duration", "nan"], "positive number of seconds"),
    (["--duration", "inf"], "positive number of seconds"),
    (["--duration", "-1"], "positive number of seconds"),
    (["--duration", "7.05"], "multiple of the step"),
    (["--duration", "1000"], "longer than the scenario (300 s)"),
    (["--duration", "17 min"], "longer than the scenario (300 s)"),  # 1020 s, with a unit
    (["--duration", "7.05s"], "multiple of the step"),
    (["--duration", "30 parsecs"], "seconds (30) or a duration with a unit"),
    (["--out", ""], "an empty path"),
    (["--seed", "-1"], "seed must be an integer in 0..2147483647"),
    (["--seed", str(2**40)], "seed must be an integer in 0..2147483647"),
])
def test_bad_run_options_are_usage_errors(args: list[str], text: str) -> None:
    res = CliRunner().invoke(main, ["run", "xiqing-south-station", "--bus", "memory", *args])
    assert res.exit_code == 2, res.output
    assert text in res.output and "Traceback" not in res.output


def test_unknown_criterion_kpi_is_caught_before_the_run(tmp_path: Path) -> None:
    bad = BASE.replace('kpi = "vehicles"', 'kpi = "vehicels"', 1)
    (tmp_path / "scenario.toml").write_text(bad)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", str(tmp_path), "--out", str(out)])
    assert res.exit_code == 2
    assert "criteria[0].kpi" in res.output and "did you mean vehicles" in res.output
    assert str(tmp_path / "scenario.toml") in res.output
    assert not out.exists()  # nothing ran


def test_list_with_an_unknown_tag_says_so() -> None:
    res = CliRunner().invoke(main, ["list", "--tag", "no-such-tag"])
    assert res.exit_code == 0 and "no scenario in the library has the tag" in res.output


def test_bad_scenario_value_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "scenario.toml").write_text(BASE.replace("lanes = 2", "lanes = 0"))
    res = CliRunner().invoke(main, ["run", str(tmp_path)])
    assert res.exit_code == 2
    assert "network.lanes" in res.output and str(tmp_path / "scenario.toml") in res.output


@pytest.mark.sumo
def test_exit_1_when_a_criterion_fails_and_0_when_all_pass(tmp_path: Path) -> None:
    failing = BASE.replace('kpi = "vehicles"\nop = ">="\nvalue = 300',
                           'kpi = "vehicles"\nop = ">="\nvalue = 100000')
    assert failing != BASE
    (tmp_path / "fail").mkdir()
    (tmp_path / "fail" / "scenario.toml").write_text(failing)
    out = tmp_path / "out-fail"
    res = CliRunner().invoke(main, ["run", str(tmp_path / "fail"), "--bus", "memory",
                                    "--duration", "5s", "--out", str(out), "-q"])
    assert res.exit_code == 1, res.output
    assert "[FAIL] all vehicles on the road" in res.output
    assert (out / "report.html").is_file() and (out / "junit.xml").is_file()
    # keep only criteria a 5 s run meets: RSUs and SPAT transmissions
    passing = BASE.split("[[criteria]]")[0] + (
        '[[criteria]]\nkpi = "rsus"\nop = "=="\nvalue = 16\n'
        '[[criteria]]\nkpi = "tx.SPAT"\nop = "=="\nvalue = 800\n')
    (tmp_path / "pass").mkdir()
    (tmp_path / "pass" / "scenario.toml").write_text(passing)
    res = CliRunner().invoke(main, ["run", str(tmp_path / "pass"), "--bus", "memory",
                                    "--duration", "5", "--out", str(tmp_path / "out-pass"),
                                    "-q"])
    assert res.exit_code == 0, res.output
    assert "PASSED" in res.output


@pytest.mark.sumo
def test_a_failed_run_says_so_in_run_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", "xiqing-south-station", "--bus", "mqtt://127.0.0.1:1",
                                    "--duration", "1", "--out", str(out), "-q"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "mqtt://127.0.0.1:1" in res.output
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed" and "BusError" in run["error"]


@pytest.mark.sumo
def test_report_rerenders_and_compare_lists_differences(tmp_path: Path) -> None:
    runner = CliRunner()
    for name, seed in (("a", "1"), ("b", "2")):
        res = runner.invoke(main, ["run", "xiqing-south-station", "--bus", "memory",
                                   "--duration", "5", "--seed", seed, "--out",
                                   str(tmp_path / name), "-q", "--no-pipeline"])
        assert res.exit_code == 1, res.output  # 5 s cannot reach 300 vehicles
    (tmp_path / "a" / "report.html").unlink()
    res = runner.invoke(main, ["report", str(tmp_path / "a"), "--format", "html",
                               "--lang", "zh"])
    assert res.exit_code == 1 and "[FAIL] all vehicles on the road" in res.output
    html = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert "xiqing-south-station" in html and 'lang="zh' in html
    same = runner.invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "a")])
    assert same.exit_code == 0 and "no KPI differs" in same.output
    diff = runner.invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert diff.exit_code == 0
    # another seed gives other routes and other channel draws: the number of BSM receptions
    # differs (departures are periodic, so the transmission counts of 5 s are equal)
    assert any(line.startswith("latency.BSM.n ") for line in diff.output.splitlines())
    # distance bins in distance order (as text, "bin_100_120" would come before "bin_20_40")
    everything = runner.invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                      "--all"])
    bins = [line.split()[0] for line in everything.output.splitlines()
            if line.startswith("prr.BSM.bin_")]
    lows = [float(b.split("_")[1].replace("p", ".")) for b in bins]
    assert len(lows) > 10 and lows == sorted(lows)
    # runs whose KPIs count different shares of the receivers: said before the differences
    import shutil

    shutil.copytree(tmp_path / "a", tmp_path / "c")
    run = json.loads((tmp_path / "c" / "run.json").read_text())
    run["kpi_sample"] = {"fraction": 0.05, "receivers": "seeded sample of OBUs and RSUs"}
    (tmp_path / "c" / "run.json").write_text(json.dumps(run))
    sampled = runner.invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "c")])
    assert sampled.output.startswith("note: the delivery KPIs of A count 1 of the receivers, "
                                     "of B 0.05 (recording.kpi_sample)"), sampled.output


@pytest.mark.broker
def test_broker_command_serves_mqtt(tmp_path: Path) -> None:
    import asyncio
    import signal
    import subprocess
    import sys

    from v2x.bus import MqttBus, Tap

    # SIGINT restored in the child: pytest run as a background job inherits it ignored
    proc = subprocess.Popen([sys.executable, "-c", "from v2x.cli import main; main()",
                             "broker", "--port", "0"], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        assert "v2x broker listening on mqtt://127.0.0.1:" in line
        port = int(line.rsplit(":", 1)[1])

        async def roundtrip() -> list[bytes]:
            async with MqttBus("127.0.0.1", port) as bus, Tap(bus, "v2x/t/#") as tap:
                await bus.publish_many([("v2x/t/a", b"\x01"), ("v2x/t/b", b"\x02")])
                await tap.wait_for(2, timeout_s=10.0)
                return [m.payload for m in tap.drain()]

        assert asyncio.run(roundtrip()) == [b"\x01", b"\x02"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)  # generous: a loaded machine; a hang still fails
        finally:
            if proc.poll() is None:  # never leave the broker running into later tests
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()
    assert proc.returncode == 0


def test_line_progress_prints_once_per_30_s_mark_whatever_the_window(
        capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from v2x.cli import _LineProgress

    line = _LineProgress()
    for t_s in (14, 28, 42, 56, 70):  # windows of 14 s: they end past 30 s and 60 s
        line(SimpleNamespace(t_ns=t_s * 10**9, vehicles=3, messages=10, wall_s=0.5))
    err = capsys.readouterr().err
    assert [ln.split()[0] for ln in err.splitlines()] == ["t=", "t="]
    assert "t=   42 s" in err and "t=   70 s" in err


@pytest.mark.sumo
@pytest.mark.parametrize(("signame", "sigint_ignored"), [
    ("SIGINT", False), ("SIGTERM", False),
    ("SIGTERM", True),  # a background job of a shell: SIGINT ignored, SIGTERM still stops it
])
def test_a_signal_mid_run_interrupts_it_cleanly(tmp_path: Path, signame: str,
                                                sigint_ignored: bool) -> None:
    # Ctrl-C or a cancelled CI job: exit 130, run.json "interrupted", no traceback
    import json
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    disposition = signal.SIG_IGN if sigint_ignored else signal.SIG_DFL
    proc = subprocess.Popen([sys.executable, "-c", "from v2x.cli import main; main()", "run",
                             "xiqing-south-station", "--bus", "memory", "-q", "--out",
                             str(out)], stderr=subprocess.PIPE, text=True,
                            # as a shell's background job (ignored) or a terminal's (default,
                            # also when pytest itself runs as a background job)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, disposition))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the loop runs: a few tables written
            if (out / "run.json").is_file() and (out / "trajectories.parquet").exists():
                break
            time.sleep(0.05)
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "interrupted" and run["start"]  # a partial run keeps its start
    assert run["recorded_ns"] % run["step_ns"] == 0  # how far every table goes
    assert (out / "trajectories.parquet").is_file()  # the recorder closed its tables


@pytest.mark.parametrize(("args", "texts"), [
    (["--set", "penetration"], ["use KEY=VALUE"]),
    (["--set", "demand.penetration=1.5"],
     ["demand.penetration", "must be <= 1.0", "--set demand.penetration=1.5"]),
    (["--set", "applications.fcw.enabled=maybe"],
     ["applications.fcw.enabled", "expected true or false"]),
    (["--set", "applications.nope.enabled=true"],
     ["unknown application (known: ", "ebw, evw, fcw", "applications.nope"]),
])
def test_bad_set_options_are_usage_errors(args: list[str], texts: list[str]) -> None:
    res = CliRunner().invoke(main, ["run", "xiqing-south-station", "--bus", "memory", *args])
    assert res.exit_code == 2, res.output
    assert all(t in res.output for t in texts), res.output
    assert "Traceback" not in res.output


@pytest.mark.sumo
def test_set_overrides_reach_the_run(tmp_path: Path) -> None:
    # one RSU instead of 16 (with the perception there: rsm.at names RSUs), another seed:
    # both show in run.json
    res = CliRunner().invoke(main, ["run", "xiqing-south-station", "--bus", "memory",
                                    "--duration", "2", "--set", "rsu.at=['A0']",
                                    "--set", "rsm.at=['A0']",
                                    "--set", "seed=7", "--set", "recording.kpi_sample=0.5",
                                    "--out", str(tmp_path / "r"), "-q", "--no-pipeline"])
    assert res.exit_code == 1, res.output  # 2 s cannot reach 300 vehicles
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["seed"] == 7 and run["counts"]["rsus"] == 1
    assert run["kpi_sample"]["fraction"] == 0.5


@pytest.mark.sumo
def test_a_comparing_run_shortened_before_its_events_runs_its_twin_too(tmp_path: Path) -> None:
    # xiqing-fcw-lead-brakes compares with a run without V2X ([benefit] compare) and has an
    # event at 5 s: cut to 1.1 s, both runs run (the event never fires); the twin's own
    # changes are never reported as the user's --set
    res = CliRunner().invoke(main, ["run", "xiqing-fcw-lead-brakes", "--bus", "memory",
                                    "--duration", "1.1", "--out", str(tmp_path / "r"), "-q",
                                    "--no-pipeline"])
    assert res.exit_code == 1, res.output  # its criteria need the whole case
    assert "with --set" not in res.output
    twin = json.loads((tmp_path / "r" / "without-v2x" / "run.json").read_text())
    assert twin["status"] == "complete" and twin["applications"] == []
    assert twin["duration_ns"] == 1_100_000_000
