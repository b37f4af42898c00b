"""The 3GPP evaluation layouts: the highway kind, the grid's 433 x 250 m blocks and the density
demand (vehicles per km of road at t = 0, kept by inflow), read back from the written files and
loaded into a real SUMO run."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sumolib

import scenarios
from scenarios import GeoConfig, GridNetwork, HighwayNetwork, build_network, write_density
from v2x.errors import ConfigError

pytestmark = pytest.mark.sumo

ANCHOR = GeoConfig(anchor_lat=39.05583, anchor_lon=117.05500)


@pytest.fixture(scope="module", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("V2X_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def highway() -> Path:
    """1 km of the 3GPP highway: 3 lanes of 4 m each way at 140 km/h."""
    return build_network(HighwayNetwork(kind="highway", length_m=1000.0), None, ANCHOR)


def test_highway_is_three_lanes_of_4_m_each_way(highway: Path) -> None:
    net = sumolib.net.readNet(str(highway))
    edges = {e.getID(): e for e in net.getEdges()}
    assert sorted(edges) == ["bwd0", "fwd0"]
    for e in edges.values():
        assert e.getLaneNumber() == 3
        assert {ln.getWidth() for ln in e.getLanes()} == {4.0}
        assert e.getSpeed() == pytest.approx(140 / 3.6, abs=0.01)  # the file keeps 2 digits
        assert e.getLength() == pytest.approx(1000.0, abs=0.5)


def test_grid_blocks_433_by_250_m() -> None:
    net = sumolib.net.readNet(str(build_network(
        GridNetwork(junctions_x=2, junctions_y=2, block_length_m=433.0,
                    block_length_y_m=250.0, attach_length_m=50.0), None, ANCHOR)))
    a0, b0, a1 = (np.array(net.getNode(j).getCoord()) for j in ("A0", "B0", "A1"))
    assert b0 - a0 == pytest.approx([433.0, 0.0])
    assert a1 - a0 == pytest.approx([0.0, 250.0])


def _vehicles(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("vehicle"))


def test_density_fills_every_lane_and_inflow_keeps_it(highway: Path, tmp_path: Path) -> None:
    # 60 vehicles per km of road on 6 lanes: 10 per km in a lane, one every 100 m; ~1000 m of
    # lane with the first front bumper at >= 4.8 m (the car's length): 9 or 10 a lane
    routes = write_density(highway, tmp_path / "d.rou.xml", density_per_km=60.0,
                           end_ns=10_000_000_000, seed=5)
    cars = _vehicles(routes)
    fill = [v for v in cars if v.get("depart") == "0.0"]
    by_lane: dict[tuple[str, str], list[float]] = {}
    for v in fill:
        edge = v.find("route").get("edges")  # type: ignore[union-attr]
        by_lane.setdefault((edge, v.get("departLane", "")), []).append(float(v.get("departPos")))
    assert sorted(by_lane) == [(e, str(i)) for e in ("bwd0", "fwd0") for i in range(3)]
    for pos in by_lane.values():
        assert 9 <= len(pos) <= 10 and min(pos) >= 4.8
        assert np.diff(sorted(pos)) == pytest.approx(100.0, abs=1e-3)
    # inflow: at 140 km/h (38.89 m/s) one car per 100 m of lane is one every 2.571 s; over
    # 10 s, 3 or 4 on each of the 6 lanes that begin a road (both directions enter)
    inflow = [v for v in cars if v.get("depart") != "0.0"]
    assert 18 <= len(inflow) <= 24
    lanes = {(v.find("route").get("edges"), v.get("departLane")) for v in inflow}  # type: ignore[union-attr]
    assert len(lanes) == 6
    one = sorted(float(v.get("depart")) for v in inflow
                 if (v.find("route").get("edges"), v.get("departLane")) == ("fwd0", "0"))  # type: ignore[union-attr]
    assert np.diff(one) == pytest.approx(100.0 / (140 / 3.6), abs=2e-3)
    # ids in departure order; every car at the limit (speedFactor 1) and straight on
    assert [v.get("id") for v in cars] == [f"dens.{n}" for n in range(len(cars))]
    assert {v.get("speedFactor") for v in cars} == {"1.0"}
    # SUMO inserts every car of t = 0 in the first step, at its position and at 140 km/h
    import libsumo

    vtypes = scenarios.write_vtypes(tmp_path / "vt.add.xml")
    libsumo.start([sumolib.checkBinary("sumo"), "-n", str(highway), "-r", str(routes),
                   "-a", str(vtypes), "--step-length", "0.1", "--no-step-log", "true",
                   "--no-warnings", "true"])
    try:
        libsumo.simulationStep()
        ids = libsumo.vehicle.getIDList()
        assert len(ids) == len(fill) + sum(float(v.get("depart")) <= 0.1 for v in inflow)
        assert libsumo.vehicle.getSpeed("dens.0") == pytest.approx(140 / 3.6, abs=0.01)
    finally:
        libsumo.close()


def test_density_speed_distribution_and_limits(highway: Path, tmp_path: Path) -> None:
    cars = _vehicles(write_density(highway, tmp_path / "s.rou.xml", density_per_km=60.0,
                                   end_ns=1_000_000_000, seed=5, speed_kmh=100.0,
                                   speed_sigma_kmh=10.0, inflow=False))
    # desired speed ~ N(100, 10) km/h cut at 2 sigma, as speedFactor = speed / 140 km/h
    v = np.array([float(c.get("speedFactor")) for c in cars]) * 140.0
    assert v.min() >= 80.0 - 1e-3 and v.max() <= 120.0 + 1e-3
    assert abs(v.mean() - 100.0) < 10.0 / np.sqrt(len(v)) * 4  # 4 standard errors
    # 6 lanes x 137 cars per km (bumper to bumper: 4.8 m + 2.5 m minGap = 7.3 m) is the most
    with pytest.raises(ConfigError, match="bumper to bumper") as err:
        write_density(highway, tmp_path / "x.rou.xml", density_per_km=6 * 140.0, end_ns=1,
                      seed=1)
    assert err.value.key == "demand.density_per_km"


def test_library_layouts_load_and_take_overrides() -> None:
    hw = scenarios.resolve_scenario("3gpp-highway", overrides=[
        "demand.density_per_km=100", "channel.tx_power_dbm=20"])
    assert isinstance(hw.network, HighwayNetwork) and hw.network.lanes == 3
    assert hw.demand.density_per_km == 100.0
    assert dict(hw.channel.params)["tx_power_dbm"] == 20
    grid = scenarios.resolve_scenario("3gpp-urban-grid")
    assert isinstance(grid.network, GridNetwork)
    assert (grid.network.block_length_m, grid.network.block_length_y_m) == (433.0, 250.0)
    for sc in (hw, grid):
        assert "3gpp" in sc.tags and "day1" not in sc.tags
    with pytest.raises(ConfigError) as err:
        scenarios.resolve_scenario("3gpp-highway", overrides=["demand.density_per_km=-1"])
    assert err.value.key == "demand.density_per_km"
