"""MAP nodes of the 3x3 grid, checked by hand and against libsumo."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest

from roadside import SpatBuilder, build_map_node, junction_numbers
from tests.roadside.conftest import ANCHOR_LAT, ANCHOR_LON, TLS_IDS, GridFiles
from v2x.errors import ConfigError, EncodeError
from v2x.geo import GeoFrame
from v2x.messages._map import (
    AllowedManeuvers,
    MapLane,
    MapLink,
    NodeReferenceId,
    Position3D,
)

M_PER_DEG_LAT = 111_000.0  # rough, for distances of centimetres


def _dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat1 - lat2) * M_PER_DEG_LAT
    dx = (lon1 - lon2) * M_PER_DEG_LAT * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


@pytest.fixture(scope="module")
def ids(grid_net: Any) -> dict[str, int]:
    return junction_numbers(grid_net)


@pytest.fixture(scope="module")
def geo(grid: GridFiles) -> GeoFrame:
    return GeoFrame.from_net(str(grid.net))


def test_junction_numbers_are_sorted_ids(ids: dict[str, int]) -> None:
    # 9 grid junctions + 12 fringe ends (3 per side), numbered in sorted id order from 1:
    # uppercase grid ids sort first: A0..C2 -> 1..9
    assert len(ids) == 21
    assert [ids[t] for t in TLS_IDS] == list(range(1, 10))
    assert ids["bottom0"] == 10


def test_map_node_of_B1_by_hand(grid_net: Any, ids: dict[str, int], geo: GeoFrame) -> None:
    node = build_map_node(grid_net, "B1", intersection_ids=ids, geo=geo)
    assert node.id == NodeReferenceId(id=5)
    assert node.name == "B1"
    # B1 is at network (500, 500) = 200 m east and north of the anchor at (300, 300):
    # 200 m / 111 km per degree of latitude = 0.0018 degree north
    assert node.ref_pos.lat_deg == pytest.approx(ANCHOR_LAT + 200 / 111_000, abs=2e-5)
    assert node.ref_pos.lon_deg == pytest.approx(
        ANCHOR_LON + 200 / (111_320 * math.cos(math.radians(ANCHOR_LAT))), abs=2e-5)
    links = {lk.name: lk for lk in node.in_links}
    assert sorted(links) == ["A1B1", "B0B1", "B2B1", "C1B1"]
    west = links["A1B1"]  # from A1, heading east
    assert west.upstream_node_id == NodeReferenceId(id=2)
    assert west.link_width_m == pytest.approx(7.0)  # 2 lanes x 3.5 m
    assert west.speed_limits[0].speed_mps == pytest.approx(13.89)
    lane1, lane2 = west.lanes
    assert (lane1.lane_id, lane2.lane_id) == (1, 2)
    # SUMO connections of A1B1 (grid.net.xml): lane 0 -> B1B0_0 (r, link 15), B1C1_0 (s, 16);
    # lane 1 -> B1C1_1 (s, 17), B1B2_1 (l, 18), B1A1_1 (t, 19)
    assert lane1.maneuvers == AllowedManeuvers.STRAIGHT | AllowedManeuvers.RIGHT
    assert lane2.maneuvers == (AllowedManeuvers.STRAIGHT | AllowedManeuvers.LEFT
                               | AllowedManeuvers.U_TURN)
    # links 15, 16, 17 have column "rrGy" like 5..7 (group 3); 18, 19 "rrgy" (group 4)
    assert [c.phase_id for c in lane1.connects_to] == [3, 3]
    assert [c.phase_id for c in lane2.connects_to] == [3, 4, 4]
    # right turn leads to B0 (4), straight to C1 (8), left to B2 (6), U-turn back to A1 (2)
    assert [c.remote_intersection.id for c in lane1.connects_to] == [4, 8]
    assert [c.remote_intersection.id for c in lane2.connects_to] == [8, 6, 2]
    assert [(c.connecting_lane.lane, c.connecting_lane.maneuver)
            for c in lane2.connects_to if c.connecting_lane] == [
        (2, AllowedManeuvers.STRAIGHT), (2, AllowedManeuvers.LEFT), (2, AllowedManeuvers.U_TURN)]
    assert {(m.remote_intersection.id, m.phase_id) for m in west.movements} == {
        (4, 3), (8, 3), (6, 4), (2, 4)}
    # lane shape upstream -> downstream: lane 0 of A1B1 runs east at y = 494.75 from x = 211
    # to the stop line at x = 489 (11 m = half the junction short of B1's centre)
    first, last = lane1.points[0], lane1.points[-1]
    assert first.lon_deg < last.lon_deg
    assert _dist_m(last.lat_deg, last.lon_deg, node.ref_pos.lat_deg,
                   node.ref_pos.lon_deg) == pytest.approx(math.hypot(11.0, 5.25), abs=0.05)


@pytest.mark.sumo
def test_map_agrees_with_libsumo_and_spat(sim: ModuleType, grid_net: Any, ids: dict[str, int],
                                          geo: GeoFrame) -> None:
    for tls in TLS_IDS:
        node = build_map_node(grid_net, tls, intersection_ids=ids, geo=geo)
        spat = SpatBuilder(sim, tls, ids[tls]).build()
        # (4) refPos = SUMO's own geo-conversion of the junction centre, to < 0.1 m
        x, y = sim.junction.getPosition(tls)
        lon, lat = sim.simulation.convertGeo(x, y)
        assert _dist_m(node.ref_pos.lat_deg, node.ref_pos.lon_deg, lat, lon) < 0.1
        # lane counts and widths as libsumo reports them
        for link in node.in_links:
            assert link.name is not None
            assert len(link.lanes) == sim.edge.getLaneNumber(link.name) == 2
            for lane in link.lanes:
                lane_id = f"{link.name}_{lane.lane_id - 1}"
                assert lane.lane_width_m == pytest.approx(sim.lane.getWidth(lane_id)) == 3.5
                # the last point is the lane's stop-line end in libsumo, to < 0.1 m
                sx, sy = sim.lane.getShape(lane_id)[-1]
                elon, elat = sim.simulation.convertGeo(sx, sy)
                end = lane.points[-1]
                assert _dist_m(end.lat_deg, end.lon_deg, elat, elon) < 0.1
        # (3) every MAP phaseId is a SPAT phase, and every SPAT group with an incoming lane
        # (libsumo getControlledLinks) appears in the MAP
        map_phases = {c.phase_id for lk in node.in_links for ln in lk.lanes
                      for c in ln.connects_to}
        spat_phases = {p.id for p in spat.phases}
        assert None not in map_phases
        assert map_phases <= spat_phases
        controlled = sim.trafficlight.getControlledLinks(tls)
        builder_groups = SpatBuilder(sim, tls, ids[tls]).groups
        with_lane = {g + 1 for g, links in enumerate(builder_groups)
                     if any(controlled[i] for i in links)}
        assert with_lane == spat_phases == map_phases
        assert {m.phase_id for lk in node.in_links for m in lk.movements} == map_phases


def test_bad_inputs_are_config_errors(grid_net: Any, ids: dict[str, int],
                                      geo: GeoFrame) -> None:
    with pytest.raises(ConfigError):
        build_map_node(grid_net, "nope", intersection_ids=ids, geo=geo)
    with pytest.raises(ConfigError):
        build_map_node(grid_net, "B1", intersection_ids=ids, geo=geo, program_id="x")
    partial = {k: v for k, v in ids.items() if k != "A1"}
    with pytest.raises(ConfigError) as err:
        build_map_node(grid_net, "B1", intersection_ids=partial, geo=geo)
    assert err.value.value == "A1"


def test_value_classes_validate_ranges() -> None:
    with pytest.raises(EncodeError):
        NodeReferenceId(id=70000)
    with pytest.raises(EncodeError):
        Position3D(lat_deg=91.0, lon_deg=0.0)
    with pytest.raises(EncodeError):
        MapLane(lane_id=1, points=(Position3D(39.0, 117.0),))  # one point is no line
    with pytest.raises(EncodeError):
        MapLink(upstream_node_id=NodeReferenceId(1), lanes=())
    assert AllowedManeuvers.U_TURN == 1 << 3


def test_map_json_writers_give_the_same_bytes(grid_net: Any, ids: dict[str, int],
                                              geo: GeoFrame) -> None:
    # once map_to_json wrote every point as position-LatLon while frame_to_json (and the UPER
    # frame) took the shortest OffsetLL form: one MAP, two JSON forms. Now frame_to_json is
    # the one writer; map_to_json and the RSU's StaticMapJson payload are its bytes.
    from v2x.messages import (
        MapData,
        StaticMapJson,
        decode_frame,
        encode_frame,
        frame_from_json,
        frame_to_json,
        map_to_json,
        to_json_bytes,
    )

    nodes = tuple(build_map_node(grid_net, t, intersection_ids=ids, geo=geo)
                  for t in ("B1", "A0"))
    utc = 1_780_000_020_000_000_000  # a whole minute plus 20 s
    for node in nodes:
        for stamp in (utc, None):
            m = MapData(msg_cnt=5, nodes=(node,), timestamp_ns=stamp)
            one = to_json_bytes(frame_to_json(m)["mapFrame"])
            assert to_json_bytes(map_to_json(m)) == one
            assert StaticMapJson((node,)).encode(5, stamp) == one
            lane = map_to_json(m)["nodes"][0]["inLinks"][0]["lanes"][0]
            forms = {next(iter(p["posOffset"]["offsetLL"])) for p in lane["points"]}
            assert "position-LatLon" not in forms  # offsets of 100s of m fit shorter forms
            # the JSON and the UPER frame carry the same MAP
            assert frame_from_json({"mapFrame": map_to_json(m)}, now_ns=utc) == decode_frame(
                encode_frame(m), now_ns=utc)
