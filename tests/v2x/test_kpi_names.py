"""check_criteria's KPI names: learnt from the analysis once, then from the cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

import scenarios
from v2x.cli import _kpi_names
from v2x.cli._run import run_json


def test_kpi_names_are_the_analysis_names_then_come_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2X_CACHE", str(tmp_path))
    monkeypatch.setattr(_kpi_names, "_memo", {})
    record = run_json(scenarios.resolve_scenario("xiqing-south-station"), "complete")
    names = _kpi_names.kpi_names(record)
    assert {"vehicles", "safety.collisions", "apps.FCW.warnings"} <= names
    (file,) = (tmp_path / "kpi-names").iterdir()
    # a new process (no memo): read from the file, the analysis is not run again
    monkeypatch.setattr(_kpi_names, "_memo", {})
    monkeypatch.setattr(_kpi_names, "_evaluate_empty", lambda settings: pytest.fail("ran"))
    assert _kpi_names.kpi_names({**record, "created": "another time"}) == names
    # an unreadable cache file is evaluated again and rewritten
    file.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(_kpi_names, "_memo", {})
    monkeypatch.setattr(_kpi_names, "_evaluate_empty", lambda settings: frozenset({"x"}))
    assert _kpi_names.kpi_names(record) == {"x"}
    assert file.read_text(encoding="utf-8") == '["x"]'
    # other settings, another entry
    monkeypatch.setattr(_kpi_names, "_memo", {})
    assert _kpi_names.kpi_names({**record, "prr_bin_m": 25.0}) == {"x"}
    assert len(list((tmp_path / "kpi-names").iterdir())) == 2
