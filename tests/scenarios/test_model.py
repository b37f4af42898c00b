"""Scenario loading and validation: every error names the file, the key and the bad value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scenarios import LIBRARY, load_scenario, resolve_scenario
from v2x.errors import ConfigError

BASE = (LIBRARY / "xiqing-south-station" / "scenario.toml").read_text(encoding="utf-8")


def test_library_scenario_loads_with_its_values() -> None:
    s = resolve_scenario("xiqing-south-station")
    assert s.id == "xiqing-south-station"
    assert s.duration_ns == 300 * 10**9
    assert s.step_ns == 100 * 10**6
    assert s.start == dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert (s.geo.anchor_lat, s.geo.anchor_lon) == (39.05583, 117.055)
    assert s.network.junctions_x * s.network.junctions_y == 16
    # 3000 + 240 + 180 + 600 vehicles/h over 290 s of departures = 323.9 expected vehicles
    assert sum(s.demand.vehicles_per_hour.values()) * 290 / 3600 > 300
    assert s.rsu.spat_period_ns == 100 * 10**6 and s.rsu.map_period_ns == 10**9
    assert {c.kpi for c in s.criteria} >= {"vehicles", "prr.BSM.within_300m"}


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "scenario.toml"
    f.write_text(text, encoding="utf-8")
    return f


@pytest.mark.parametrize(
    ("old", "new", "key", "value"),
    [
        ('duration = "300 s"', 'duration = "300 parsecs"', "duration", "300 parsecs"),
        ('duration = "300 s"', 'duration = "300.05 s"', "duration", "300.05 s"),
        ("junctions_x = 4", "junctions_x = 1", "network.junctions_x", 1),
        ("penetration = 0.8", "penetration = 1.5", "demand.penetration", 1.5),
        ("passenger = 3000", "hovercraft = 3000", "demand.vehicles_per_hour.hovercraft", 3000),
        ('spat_period = "100 ms"', 'spat_period = "150 ms"', "rsu.spat_period", "150 ms"),
        ('op = ">="', 'op = "=>"', "criteria[0].op", "=>"),
        ("lanes = 2", 'lanes = "two"', "network.lanes", "two"),
        ("anchor_lat = 39.05583", "anchor_lat = 99.0", "geo.anchor_lat", 99.0),
        ('start = "2026-06-01T08:00:00+08:00"', 'start = "2026-06-01T08:00:00"', "start",
         "2026-06-01T08:00:00"),
        ("forward = true", "forwrd = true", "rsu.forwrd", True),
        ("seed = 20200601", "seed = 4294967296", "seed", 4294967296),  # SUMO's is a C int
        ('start = "2026-06-01T08:00:00+08:00"', 'start = "2300-06-01T08:00:00+08:00"', "start",
         "2300-06-01T08:00:00+08:00"),  # beyond int64 ns since 1970
        ('start = "2026-06-01T08:00:00+08:00"', 'start = "1960-06-01T08:00:00+08:00"', "start",
         "1960-06-01T08:00:00+08:00"),
        ('latency_bin = "100 us"', 'latency_bin = "1 ns"', "recording.latency_bin", "1 ns"),
        ('latency_bin = "100 us"', 'latency_bin = "10 s"', "recording.latency_bin", "10 s"),
        ("prr_bin_m = 20.0", "prr_bin_m = 600.0", "recording.prr_bin_m", 600.0),
        ('crs = "EPSG:32650"', 'crs = "EPSG:4326"', "geo.crs", "EPSG:4326"),  # degrees
        ('crs = "EPSG:32650"', 'crs = "EPSG:nonsense"', "geo.crs", "EPSG:nonsense"),
        ('at = "signalized"', 'at = ["A0", "B1", "A0"]', "rsu.at", ["A0", "B1", "A0"]),
    ],
)
def test_bad_values_name_file_key_and_value(tmp_path: Path, old: str, new: str, key: str,
                                            value: object) -> None:
    assert old in BASE
    f = _write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_scenario(tmp_path)
    err = info.value
    assert err.file == str(f)
    assert err.key == key
    assert err.value == value
    assert str(f) in str(err) and key in str(err)


def test_missing_required_key(tmp_path: Path) -> None:
    _write(tmp_path, BASE.replace('id = "xiqing-south-station"\n', ""))
    with pytest.raises(ConfigError) as info:
        load_scenario(tmp_path)
    assert info.value.key == "id"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    _write(tmp_path, "id = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_scenario(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="xiqing-south-station"):
        resolve_scenario("no-such-scenario")
