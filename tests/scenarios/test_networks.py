"""Network kinds: each builds a real SUMO network (read back with sumolib), geo-referenced at
the anchor; the ITE yellow time; the registry and the validation of ``[network]``."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sumolib
from pydantic import BaseModel, ConfigDict, TypeAdapter

import scenarios
from scenarios import (
    GeoConfig,
    GridNetwork,
    IntersectionNetwork,
    PathNetwork,
    RoadNetwork,
    build_network,
    ite_yellow_s,
    parse_network,
)
from scenarios import _networks as networks
from v2x.errors import ConfigError
from v2x.geo import GeoFrame

pytestmark = pytest.mark.sumo

ANCHOR = GeoConfig(anchor_lat=39.05583, anchor_lon=117.05500)

#: the least a path network must be: whole XML, a <net> root, geo-referenced
TINY_NET = ('<net><location netOffset="0,0" '
            'projParameter="+proj=utm +zone=50 +datum=WGS84 +units=m"/></net>')


@pytest.fixture(scope="module", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("V2X_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


# netconvert writes speeds with 2 decimals (its default --precision): 50 km/h -> 13.89 m/s
SPEED_ABS = 0.005


def _read(path: Path) -> sumolib.net.Net:
    return sumolib.net.readNet(str(path), withPedestrianConnections=True)


def _normal_junctions(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return sorted(j.get("id", "") for j in root.iter("junction") if j.get("type") != "internal")


def _crossings(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return sorted(e.get("id", "") for e in root.iter("edge") if e.get("function") == "crossing")


def _yellow_durations(path: Path) -> set[float]:
    root = ET.parse(path).getroot()
    return {float(p.get("duration", "nan")) for p in root.iter("phase")
            if "y" in p.get("state", "") and "G" not in p.get("state", "")
            and "g" not in p.get("state", "")}


# -- ITE yellow --------------------------------------------------------------------------

def _all_red_durations(path: Path) -> set[float]:
    root = ET.parse(path).getroot()
    return {float(p.get("duration", "nan")) for p in root.iter("phase")
            if set(p.get("state", "")) == {"r"}}


def test_ite_red_clearance_by_hand() -> None:
    # r = (W + L) / v: (14 m + 6.1 m) / 16.667 m/s = 1.206 s
    assert scenarios.ite_red_clearance_s(14.0, 60 / 3.6) == pytest.approx(1.206, abs=1e-3)
    assert scenarios.ite_red_clearance_s(14.0, 10.0, vehicle_length_m=12.0) == 2.6


def test_ite_yellow_by_hand() -> None:
    # t_y = 1 s + v / (2 * 3.05 m/s²): 60 km/h = 16.667 m/s -> 1 + 16.667 / 6.1 = 3.7322 s
    assert ite_yellow_s(60 / 3.6) == pytest.approx(1 + 16.6667 / 6.1, abs=1e-4)
    assert ite_yellow_s(50 / 3.6) == pytest.approx(3.2768, abs=1e-4)
    # 3 % uphill: 1 + 16.667 / (6.1 + 2 * 9.80665 * 0.03) = 1 + 16.667 / 6.6884 = 3.4919 s
    assert ite_yellow_s(60 / 3.6, grade=0.03) == pytest.approx(3.4919, abs=1e-4)


# -- road --------------------------------------------------------------------------------

def test_road_with_opposing_lanes_and_segments() -> None:
    cfg = RoadNetwork(kind="road", length_m=600.0, lanes=3, opposing_lanes=1, segments=2,
                      lane_width_m=3.25, speed_limit_kmh=72.0)
    path = build_network(cfg, None, ANCHOR)
    net = _read(path)
    assert _normal_junctions(path) == ["R0", "R1", "R2"]
    assert sorted(e.getID() for e in net.getEdges(withInternal=False)) == [
        "bwd0", "bwd1", "fwd0", "fwd1"]
    for eid, lanes in (("fwd0", 3), ("fwd1", 3), ("bwd0", 1), ("bwd1", 1)):
        edge = net.getEdge(eid)
        assert edge.getLaneNumber() == lanes
        assert edge.getSpeed() == pytest.approx(20.0, abs=SPEED_ABS)          # 72 km/h
        assert all(lane.getWidth() == 3.25 for lane in edge.getLanes())
    # nodes every 300 m along +x (east); no traffic light, no crossing
    r0, r1, r2 = (np.array(net.getNode(n).getCoord()) for n in ("R0", "R1", "R2"))
    assert r1 - r0 == pytest.approx([300.0, 0.0]) and r2 - r1 == pytest.approx([300.0, 0.0])
    assert net.getTrafficLights() == [] and _crossings(path) == []
    # the first segment's eastbound lane 0 runs east
    shape = np.array(net.getLane("fwd0_0").getShape())
    assert shape[-1, 0] > shape[0, 0] and shape[-1, 1] == pytest.approx(shape[0, 1])


def test_one_way_road_with_sidewalks() -> None:
    path = build_network(RoadNetwork(kind="road", length_m=200.0, lanes=2, opposing=False,
                                     sidewalks=True), None, ANCHOR)
    net = _read(path)
    assert [e.getID() for e in net.getEdges(withInternal=False)] == ["fwd0"]
    edge = net.getEdge("fwd0")
    assert edge.getLaneNumber() == 3                      # sidewalk + 2 vehicle lanes
    assert edge.getLane(0).allows("pedestrian") and not edge.getLane(0).allows("passenger")
    assert edge.getLane(0).getWidth() == 2.0
    assert edge.getLane(1).allows("passenger") and not edge.getLane(1).allows("pedestrian")
    assert edge.getSpeed() == pytest.approx(80 / 3.6, abs=SPEED_ABS)          # default 80 km/h


# -- intersection ------------------------------------------------------------------------

def test_signalized_intersection_four_arms() -> None:
    cfg = IntersectionNetwork(kind="intersection", arm_length_m=150.0, lanes=2,
                              speed_limit_kmh=50.0)
    path = build_network(cfg, None, ANCHOR)
    net = _read(path)
    assert _normal_junctions(path) == ["C", "E", "N", "S", "W"]
    assert [t.getID() for t in net.getTrafficLights()] == ["C"]
    assert {e.getID() for e in net.getEdges(withInternal=False)} == {
        f"{a}_{d}" for a in "NESW" for d in ("in", "out")}
    for e in net.getEdges(withInternal=False):
        assert e.getLaneNumber() == 2
        assert e.getSpeed() == pytest.approx(50 / 3.6, abs=SPEED_ABS)
        assert all(lane.getWidth() == 3.5 for lane in e.getLanes())
    c, w = np.array(net.getNode("C").getCoord()), np.array(net.getNode("W").getCoord())
    assert c - w == pytest.approx([150.0, 0.0])
    # ITE yellow at 50 km/h: 3.28 s, rounded up to whole seconds -> 4 s
    assert _yellow_durations(path) == {4.0}
    # ITE red clearance across 4 lanes of 3.5 m: (14 + 6.1) / 13.89 = 1.45 s -> 2 s
    assert _all_red_durations(path) == {2.0}
    assert _crossings(path) == []
    # W_in_0 (rightmost) goes straight to E_out and turns right into S_out
    targets = {c.getTo().getID() for c in net.getLane("W_in_0").getOutgoing()}
    assert {"E_out", "S_out"} <= targets


def test_intersection_left_turn_lanes_and_crosswalks() -> None:
    cfg = IntersectionNetwork(kind="intersection", lanes=2, left_turn_lane=True,
                              crosswalks=True, yellow_s=5)
    path = build_network(cfg, None, ANCHOR)
    net = _read(path)
    assert _crossings(path) == [":C_c0", ":C_c1", ":C_c2", ":C_c3"]
    w_in = net.getEdge("W_in")
    # sidewalk 0, through lanes 1 and 2, left-turn lane 3
    assert w_in.getLaneNumber() == 4 and net.getEdge("W_out").getLaneNumber() == 3
    assert w_in.getLane(0).getWidth() == 2.0 and w_in.getLane(0).allows("pedestrian")

    def targets(lane: str) -> set[tuple[str, int]]:
        return {(c.getTo().getID(), c.getToLane().getIndex())
                for c in net.getLane(lane).getOutgoing()}

    assert targets("W_in_3") == {("N_out", 2)}                       # left only, leftmost lane
    assert targets("W_in_2") == {("E_out", 2)}                       # straight only
    assert targets("W_in_1") == {("E_out", 1), ("S_out", 1)}         # straight and right
    assert _yellow_durations(path) == {5.0}


def test_intersection_all_red_by_ite_or_given() -> None:
    # 3 lanes each way + a left-turn lane of 3.5 m at 30 km/h: (24.5 + 6.1) / 8.333 = 3.67 s
    cfg = IntersectionNetwork(kind="intersection", lanes=3, left_turn_lane=True,
                              speed_limit_kmh=30.0)
    assert _all_red_durations(build_network(cfg, None, ANCHOR)) == {4.0}
    # none when asked (at 50 km/h: at 30 km/h netconvert adds 1 s after its 3 s yellow)
    given = cfg.model_copy(update={"all_red_s": 0, "speed_limit_kmh": 50.0})
    assert _all_red_durations(build_network(given, None, ANCHOR)) == set()


def test_t_junction_unsignalized() -> None:
    cfg = IntersectionNetwork(kind="intersection", arms=3, signalized=False, lanes=1,
                              left_turn_lane=True)
    path = build_network(cfg, None, ANCHOR)
    net = _read(path)
    assert _normal_junctions(path) == ["C", "E", "S", "W"]
    assert net.getTrafficLights() == []
    root = ET.parse(path).getroot()
    assert next(j for j in root.iter("junction") if j.get("id") == "C").get("type") == "priority"
    # entering from W the left arm (N) is missing: no left-turn lane there
    assert net.getEdge("W_in").getLaneNumber() == 1
    assert net.getEdge("E_in").getLaneNumber() == 2 and net.getEdge("S_in").getLaneNumber() == 2
    # E-W is the major road
    assert net.getEdge("E_in").getPriority() > net.getEdge("S_in").getPriority()


def test_intersection_is_centred_on_the_anchor() -> None:
    import libsumo

    path = build_network(IntersectionNetwork(kind="intersection", arms=3), None, ANCHOR)
    geo = GeoFrame.from_net(str(path))
    assert "+zone=50" in geo.crs
    libsumo.start([sumolib.checkBinary("sumo"), "-n", str(path), "--no-step-log", "true"])
    try:
        (x0, y0), (x1, y1) = libsumo.simulation.getNetBoundary()
        lon, lat = libsumo.simulation.convertGeo((x0 + x1) / 2, (y0 + y1) / 2)
    finally:
        libsumo.close()
    ax, ay = geo.to_xy(ANCHOR.anchor_lat, ANCHOR.anchor_lon)
    bx, by = geo.to_xy(lat, lon)
    assert math.hypot(float(ax - bx), float(ay - by)) < 1.0


# -- grid and path -----------------------------------------------------------------------

def test_grid_with_crosswalks_and_ite_yellow() -> None:
    path = build_network(GridNetwork(junctions_x=2, junctions_y=2, crosswalks=True), None,
                         ANCHOR)
    net = _read(path)
    assert sorted(t.getID() for t in net.getTrafficLights()) == ["A0", "A1", "B0", "B1"]
    assert len(_crossings(path)) == 16                    # 4 arms at each of 4 junctions
    assert net.getEdge("A0A1").getLaneNumber() == 3       # sidewalk + 2 lanes
    assert _yellow_durations(path) == {4.0}               # ITE at 60 km/h: 3.73 s -> 4 s
    assert _all_red_durations(path) == {2.0}              # (14 + 6.1) / 16.67 = 1.21 -> 2 s


def test_path_network_is_the_file_itself(tmp_path: Path) -> None:
    grid = build_network(GridNetwork(junctions_x=2, junctions_y=2), None, ANCHOR)
    cfg = PathNetwork(kind="file", path=grid)
    assert cfg.kind == "path"                             # "file" is an alias
    assert build_network(cfg, None, None) == grid
    copied = build_network(cfg, tmp_path / "out", None)
    assert copied == tmp_path / "out" / "path.net.xml" and copied.read_bytes() == \
        grid.read_bytes()
    # a missing file is refused when the model is validated (the scenario loader names the
    # key network.path, tests/scenarios/test_sections.py), and again by the builder
    with pytest.raises(ValueError, match="file not found"):
        PathNetwork(kind="path", path=tmp_path / "nope.net.xml")
    missing = PathNetwork.model_construct(kind="path", path=tmp_path / "nope.net.xml",
                                          route_files=())
    with pytest.raises(ConfigError, match="not found") as info:
        build_network(missing, None, None)
    assert info.value.key == "network.path"
    # so is a network without a projection (by the model, and again by the builder)
    plain = tmp_path / "plain.net.xml"
    plain.write_text('<net><location netOffset="0,0" projParameter="!"/></net>')
    with pytest.raises(ValueError, match="not geo-referenced"):
        PathNetwork(kind="path", path=plain)
    unprojected = PathNetwork.model_construct(kind="path", path=plain, route_files=())
    with pytest.raises(ConfigError, match="not geo-referenced"):
        build_network(unprojected, None, None)


def test_cached_by_inputs() -> None:
    a = build_network(RoadNetwork(kind="road", length_m=300.0), None, ANCHOR)
    mtime = a.stat().st_mtime_ns
    again = build_network(RoadNetwork(kind="road", length_m=300.0), None, ANCHOR)
    assert again == a and again.stat().st_mtime_ns == mtime
    assert build_network(RoadNetwork(kind="road", length_m=301.0), None, ANCHOR) != a
    moved = GeoConfig(anchor_lat=39.1, anchor_lon=117.1)
    assert build_network(RoadNetwork(kind="road", length_m=300.0), None, moved) != a


def test_generated_kind_needs_an_anchor() -> None:
    with pytest.raises(ConfigError, match="needs \\[geo\\]"):
        build_network(RoadNetwork(kind="road"), None, None)


# -- validation and registry ---------------------------------------------------------------

def test_discriminated_union_picks_the_kind(tmp_path: Path) -> None:
    adapter = TypeAdapter(networks.NetworkConfig)
    assert isinstance(adapter.validate_python({"kind": "road"}), RoadNetwork)
    assert isinstance(adapter.validate_python({"kind": "intersection", "arms": 3}),
                      IntersectionNetwork)
    (tmp_path / "x.net.xml").write_text(TINY_NET, encoding="utf-8")
    assert isinstance(adapter.validate_python({"kind": "file", "path": "x.net.xml"},
                                              context={"folder": tmp_path}),
                      PathNetwork)
    assert adapter.validate_python({"kind": "grid"}) == GridNetwork()


@pytest.mark.parametrize(("data", "key", "value"), [
    ({"kind": "road", "lanes": 0}, "network.lanes", 0),
    ({"kind": "intersection", "arms": 5}, "network.arms", 5),
    ({"kind": "road", "lenght_m": 10}, "network.lenght_m", 10),
    ({"kind": "grid", "signal": "fancy"}, "network.signal", "fancy"),
    ({"kind": "roundabout"}, "network.kind", "roundabout"),
])
def test_parse_network_names_key_and_value(data: dict, key: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_network(data, file="s.toml")
    assert info.value.key == key and info.value.value == value and info.value.file == "s.toml"


def test_models_are_frozen() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        RoadNetwork(kind="road").lanes = 3  # type: ignore[misc]


class _Spider(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = "spider"
    arms: int = 5


def _build_spider(cfg: _Spider, folder: Path) -> Path:
    out = folder / "spider.net.xml"
    networks._run([sumolib.checkBinary("netgenerate"), "--spider", "--spider.arm-number",
                   str(cfg.arms), "--spider.circle-number", "1", "--spider.omit-center",
                   "false", "-o", str(out)], what="netgenerate --spider")
    return out


def test_user_kind_registered_and_geo_referenced(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_KINDS", "NETWORK_BUILDERS", "NETWORK_MODELS"):
        monkeypatch.setattr(networks, name, dict(getattr(networks, name)))
    networks.register_network("spider", _Spider, _build_spider)
    with pytest.raises(ValueError, match="already registered"):
        networks.register_network("spider", _Spider, _build_spider)
    cfg = networks.parse_network({"kind": "spider", "arms": 3})
    assert cfg == _Spider(arms=3)
    path = networks.build_network(cfg, None, ANCHOR)
    assert "+zone=50" in GeoFrame.from_net(str(path)).crs
    assert len(_normal_junctions(path)) == 4  # centre + 3 arm ends


def test_a_tool_traceback_is_cut_to_its_exception() -> None:
    # randomTrips.py on a truncated network printed 25 lines of its call stack
    out = ("Warning: slow\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
           "ValueError: inner\n\nDuring handling of the above exception, another exception "
           "occurred:\n\nTraceback (most recent call last):\n  File \"randomTrips.py\"\n"
           "xml.sax.SAXParseException: net.xml:901:8: unclosed token\n")
    assert networks._without_traceback(out) == (
        "Warning: slow\nxml.sax.SAXParseException: net.xml:901:8: unclosed token")
    assert networks._without_traceback("Error: no edges") == "Error: no edges"
