"""The command line through click's runner: listing, exit codes 0/1/2, clear errors."""

from __future__ import annotations

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
    assert CliRunner().invoke(main, ["list", "--tag", "no-such-tag"]).output == ""


def test_unknown_scenario_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["run", "no-such-scenario"])
    assert res.exit_code == 2
    assert "no scenario named 'no-such-scenario'" in res.output
    assert "Traceback" not in res.output


def test_bad_bus_spec_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["run", "xiqing-south-station", "--bus", "carrier-pigeon"])
    assert res.exit_code == 2
    assert "mqtt://host:port" in res.output


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
                                    "--duration", "5", "--out", str(out), "-q"])
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
