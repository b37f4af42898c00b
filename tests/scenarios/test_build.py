"""Network and demand builders: geo-referencing against SUMO, grid shape, cache by digest."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import sumolib

import scenarios
from scenarios import build, grid_junction_ids, load_scenario
from scenarios._build import _digest
from v2x.errors import ConfigError
from v2x.geo import GeoFrame

pytestmark = pytest.mark.sumo


def test_grid_has_16_signalized_junctions(south_station_built: scenarios.BuiltScenario) -> None:
    net = sumolib.net.readNet(str(south_station_built.net_file))
    tls = sorted(t.getID() for t in net.getTrafficLights())
    assert tls == sorted(grid_junction_ids(4, 4))
    assert len(tls) == 16
    # block length 400 m between neighbouring junctions A0 -> A1
    a0, a1 = net.getNode("A0").getCoord(), net.getNode("A1").getCoord()
    assert np.hypot(a1[0] - a0[0], a1[1] - a0[1]) == pytest.approx(400.0)


def test_centre_is_the_anchor_and_pyproj_agrees_with_sumo(
        south_station: scenarios.Scenario, south_station_built: scenarios.BuiltScenario) -> None:
    import libsumo

    geo = south_station_built.geo
    libsumo.start([sumolib.checkBinary("sumo"), "-n", str(south_station_built.net_file),
                   "--no-step-log", "true"])
    try:
        xmin, ymin, xmax, ymax = libsumo.simulation.getNetBoundary()[0] + \
            libsumo.simulation.getNetBoundary()[1]
        rng = np.random.default_rng(7)
        xs = rng.uniform(xmin, xmax, 50)
        ys = rng.uniform(ymin, ymax, 50)
        lat, lon = geo.to_latlon(xs, ys)
        for x, y, la, lo in zip(xs, ys, lat, lon, strict=True):
            slo, sla = libsumo.simulation.convertGeo(float(x), float(y))
            # compare in metres: back through our inverse, distance to the SUMO point
            bx, by = geo.to_xy(sla, slo)
            assert np.hypot(bx - x, by - y) < 0.1
            assert abs(sla - la) < 1e-6 and abs(slo - lo) < 1e-6
            # and SUMO's inverse of our lat/lon lands on the same point
            sx, sy = libsumo.simulation.convertGeo(float(lo), float(la), fromGeo=True)
            assert np.hypot(sx - x, sy - y) < 0.1
        # the grid centre is the anchor (Tianjin South Station)
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        clon, clat = libsumo.simulation.convertGeo(cx, cy)
        assert clat == pytest.approx(south_station.geo.anchor_lat, abs=1e-6)
        assert clon == pytest.approx(south_station.geo.anchor_lon, abs=1e-6)
    finally:
        libsumo.close()


def test_from_net_reads_utm_zone_50(south_station_built: scenarios.BuiltScenario) -> None:
    geo = GeoFrame.from_net(str(south_station_built.net_file))
    assert "+zone=50" in geo.crs


@pytest.mark.parametrize(("text", "key", "match"), [
    ("not xml at all", "network.path", "cannot read the network: syntax error"),
    ('<net><location netOffset="1,2" projParameter="!"/></net>', "location.projParameter",
     "not geo-referenced"),
    ('<net><location netOffset="1;2" projParameter="+proj=utm"/></net>',
     "location.netOffset", "not two numbers"),
    ("<net></net>", "location", "no <location> element"),
])
def test_from_net_names_file_and_key_of_a_bad_network(tmp_path: Path, text: str, key: str,
                                                      match: str) -> None:
    net = tmp_path / "bad.net.xml"
    net.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        GeoFrame.from_net(str(net))
    assert info.value.key == key and info.value.file == str(net)


def test_demand_has_four_classes_sorted_by_depart(
        south_station_built: scenarios.BuiltScenario) -> None:
    root = ET.parse(south_station_built.route_files[0]).getroot()
    vehicles = list(root.iter("vehicle"))
    assert len(vehicles) >= 300
    departs = [float(v.get("depart", "nan")) for v in vehicles]
    assert departs == sorted(departs)
    # every class but the emergency vehicle (the scenario's demand has no emergency vehicles)
    assert {v.get("type") for v in vehicles} == set(scenarios.VEHICLE_CLASSES) - {"emergency"}


def test_cache_key_changes_with_inputs_and_hits_when_equal(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert _digest({"a": 1, "sumo": "1.28.0"}) != _digest({"a": 1, "sumo": "1.29.0"})
    monkeypatch.setenv("V2X_CACHE", str(tmp_path / "cache"))
    base = load_scenario(scenarios.LIBRARY / "xiqing-south-station")
    small = base.with_overrides(network=base.network.__class__(junctions_x=2, junctions_y=2))
    first = build(small, seed=1)
    mtime = first.net_file.stat().st_mtime_ns
    again = build(small, seed=1)
    assert again.net_file == first.net_file and again.net_file.stat().st_mtime_ns == mtime
    assert again.route_files == first.route_files
    other_seed = build(small, seed=2)
    assert other_seed.net_file == first.net_file          # network does not depend on the seed
    assert other_seed.route_files != first.route_files    # demand does
    bigger = build(small.with_overrides(
        network=base.network.__class__(junctions_x=3, junctions_y=2)), seed=1)
    assert bigger.net_file != first.net_file
    assert str(bigger.net_file).startswith(str(tmp_path / "cache"))
