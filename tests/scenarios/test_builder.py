"""ScenarioBuilder: the same Scenario from Python as from the TOML file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scenarios import LIBRARY, ScenarioBuilder, load_scenario
from v2x.errors import ConfigError

SOUTH = LIBRARY / "xiqing-south-station"


def _south_station() -> ScenarioBuilder:
    return (
        ScenarioBuilder("xiqing-south-station", folder=SOUTH,
                        title="Tianjin South Station arterial grid (Xiqing pilot zone)",
                        title_zh="天津南站干道路网（西青先导区）",
                        tags=["xiqing", "day1", "urban", "fcw", "ebw", "rlvw", "spat", "map",
                              "rsi", "rsm"],
                        start=dt.datetime(2026, 6, 1, 8, tzinfo=dt.timezone(
                            dt.timedelta(hours=8))),
                        duration=dt.timedelta(minutes=5), step="100 ms", seed=20200601)
        .geo(anchor_lat=39.05583, anchor_lon=117.055, crs="EPSG:32650")
        .network("grid", junctions_x=4, junctions_y=4, block_length_m=400.0,
                 attach_length_m=250.0, lanes=2, lane_width_m=3.5, speed_limit_kmh=60.0,
                 signal="static")
        .demand(begin="0 s", end="290 s", penetration=0.8,
                vehicles_per_hour={"passenger": 3000, "bus": 240, "sanitation_truck": 180,
                                   "logistics_van": 600})
        .rsu(at="signalized", antenna_height_m=6.0, spat_period="100 ms", map_period="1 s",
             forward=True)
        .obu(bsm_period="100 ms", antenna_height_m=1.5)
        .channel("tr37885-urban")
        .application("fcw", enabled=True, ttc_threshold_s=2.7)
        .application("ebw", enabled=True)
        .application("rlvw", enabled=True)
        .rsi(sign_period="1 s")
        .rsi_sign(sign_type=38, lane="A1B1_0", pos_m=100.0, radius_m=100.0,
                  description="speed limit 40")
        .rsi_event("roadworks-b1", event_type=401, x=650.0, y=650.0, radius_m=100.0,
                   priority=3, period="100 ms", description="road works")
        .rsm(enabled=True, at=["B1", "B2", "C1", "C2"], range_m=150.0,
             detection_probability=0.95, position_sigma_m=0.5, which="unequipped",
             period="100 ms")
        .recording(reception_sample=0.05, prr_bin_m=20.0, prr_max_m=500.0,
                   latency_bin="100 us")
        .criterion("vehicles", ">=", 300, name="all vehicles on the road")
        .criterion("prr.BSM.within_300m", ">=", 0.6, name="BSM PRR within 300 m")
        .criterion("latency.BSM.p99_ms", "<=", 100.0,
                   name="BSM latency p99 (TS 22.185: 100 ms)")
        .criterion("safety.collisions", "==", 0, name="no collisions")
    )


def test_the_builder_gives_the_library_scenario() -> None:
    built = _south_station().build()
    assert built == load_scenario(SOUTH)
    assert built.folder == SOUTH and built.file is None


def test_builder_overrides_and_closed_loop_sections() -> None:
    sc = (_south_station()
          .participant("host", lane="A0B0_0", pos_m=10.0, speed_kmh=50.0)
          .participant("lead", vehicle_class="bus", lane="A0B0_0", pos_m=50.0,
                       speed_kmh=50.0)
          .rsi_event("jam", event_type=707, x=300.0, y=0.0, active=False)
          .rsm(enabled=True)
          .driver(enabled=True)
          .event("lead brakes",
                 trigger={"kind": "gap", "a": "host", "b": "lead", "op": "<=", "value": 30},
                 actions=[{"kind": "brake", "target": "lead", "decel": 6.0}])
          .set("applications.fcw.enabled=false")
          .build())
    assert [p.id for p in sc.participants] == ["host", "lead"]
    assert sc.participants[1].vehicle_class == "bus"
    assert sc.events[0].trigger.value == 30.0 and not sc.fcw.enabled
    assert sc.rsi.events[-1].id == "jam" and sc.rsm.enabled and sc.driver.enabled


def test_builder_errors_name_the_builder_and_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _south_station().network("grid", lanes=0).build()
    assert info.value.file == "ScenarioBuilder(xiqing-south-station)"
    assert (info.value.key, info.value.value) == ("network.lanes", 0)
