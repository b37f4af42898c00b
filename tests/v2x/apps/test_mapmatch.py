"""Map matching against decoded MAP nodes: hand-computed cases on a hand-made node (see
``conftest.node``), the UPER chain, the cache, and a MAP built by roadside from a SUMO grid."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from tests.roadside.conftest import GridFiles
from v2x.apps import LaneTable, MapCache, lane_table, match, node_key
from v2x.apps._mapmatch import StopCircles, _build
from v2x.geo import GeoFrame
from v2x.messages import (
    AllowedManeuvers,
    MapData,
    MapNode,
    NodeReferenceId,
    decode_frame,
    encode_frame,
)

S, L, R, U = (AllowedManeuvers.STRAIGHT, AllowedManeuvers.LEFT, AllowedManeuvers.RIGHT,
              AllowedManeuvers.U_TURN)
#: projection round trip (pyproj) is exact to well below a micrometre
EXACT = 1e-6
#: UPER: 1e-7 degree is 1.1 cm north and 0.87 cm east here; a point moves by at most ~0.7 cm
QUANT = 0.02


def _match(table: LaneTable, xs: list[float], ys: list[float], hs: list[float],
           **kw: Any) -> Any:
    return match(table, np.array(xs, float), np.array(ys, float), np.array(hs, float), **kw)


@pytest.fixture(scope="module")
def table(node: MapNode, frame: GeoFrame) -> LaneTable:
    return lane_table((node,), frame)


def test_table_of_the_hand_made_node(table: LaneTable) -> None:
    # lane 2 of the east link has no points: 4 lanes; in MAP order
    assert table.n_lanes == 4
    assert table.node_key.tolist() == [7, 7, 7, 7]  # no region: (0 << 16) | 7
    assert table.link.tolist() == [0, 0, 1, 2] and table.lane_id.tolist() == [1, 2, 1, 1]
    assert table.upstream_node_id.tolist() == [1, 1, 2, 3]
    # the east lane has no laneWidth: its link's 7 m over 2 lanes
    np.testing.assert_allclose(table.width_m, [3.5, 3.5, 3.5, 3.5])
    # stop line = last point of each lane
    np.testing.assert_allclose(table.stop_x, [-10, -10, 1.75, 10], atol=EXACT)
    np.testing.assert_allclose(table.stop_y, [-1.75, -5.25, -10, 1.75], atol=EXACT)
    # lengths: 190, 190, 190, hypot(90, 28.25) + 50 = 94.3295... + 50
    np.testing.assert_allclose(table.length_m, [190, 190, 190, 144.32954203], atol=1e-6)
    assert table.seg_start.tolist() == [0, 2, 3, 4, 6]
    np.testing.assert_allclose(table.heading_deg[[0, 1, 2, 3, 5]], [90, 90, 90, 0, 270],
                               atol=1e-6)
    # the kinked segment from (150, 30) to (60, 1.75): 270 - atan(28.25 / 90) = 252.573 deg
    assert table.heading_deg[4] == pytest.approx(252.5735, abs=1e-4)


def test_on_the_centre_line_before_the_stop_line(table: LaneTable) -> None:
    r = _match(table, [-60, -150, 1.75, -100], [-1.75, -5.25, -40, -1.75], [90, 90, 0, 90])
    assert r.lane.tolist() == [0, 1, 2, 0]
    assert r.node_id.tolist() == [7, 7, 7, 7] and r.lane_id.tolist() == [1, 2, 1, 1]
    # along the lane to x = -10 (y = -10 for the northbound lane); -100 is a polyline vertex
    np.testing.assert_allclose(r.to_stop_m, [50, 140, 30, 90], atol=EXACT)
    np.testing.assert_allclose(r.lateral_m, [0, 0, 0, 0], atol=EXACT)
    np.testing.assert_allclose(r.heading_diff_deg, [0, 0, 0, 0], atol=1e-6)
    assert r.matched.all()


def test_arc_length_of_a_kinked_lane(table: LaneTable) -> None:
    # westbound: (35, 1.75) is 25 m before the stop line at x = 10 on the last segment; on the
    # first segment, its midpoint (105, 15.875) is 50 + 94.3295 / 2 before it
    r = _match(table, [35, 105], [1.75, 15.875], [270, 252.5735])
    assert r.lane.tolist() == [3, 3]
    np.testing.assert_allclose(r.to_stop_m, [25, 50 + 94.32954203 / 2], atol=1e-5)


def test_lane_boundary_half_width_plus_minus_epsilon(table: LaneTable) -> None:
    eps = 1e-4
    # the left edge of lane 1 (eastbound, centre y = -1.75, 3.5 m wide) is y = 0; nothing
    # eastbound lies north of it. Left of the direction is a negative lateral offset.
    r = _match(table, [-60, -60], [-eps, eps], [90, 90], tolerance_m=0.0)
    assert r.lane.tolist() == [0, -1]
    assert r.lateral_m[0] == pytest.approx(-(1.75 - eps), abs=EXACT)
    assert np.isnan(r.lateral_m[1]) and np.isnan(r.to_stop_m[1])
    assert r.node_key[1] == -1 and r.lane_id[1] == -1
    # with the default tolerance (0.5 m) the host matches up to 2.25 m from the centre
    r = _match(table, [-60, -60], [0.5 - eps, 0.5 + eps], [90, 90])
    assert r.lane.tolist() == [0, -1]
    # between lanes 1 and 2 (boundary y = -3.5): the nearer centre line wins ...
    r = _match(table, [-60, -60], [-3.5 + eps, -3.5 - eps], [90, 90])
    assert r.lane.tolist() == [0, 1]
    np.testing.assert_allclose(r.lateral_m, [1.75 - eps, -(1.75 - eps)], atol=EXACT)


def test_a_tie_goes_to_the_lane_listed_first() -> None:
    # two parallel eastbound lanes built exactly in x/y: y = 0 and y = -2, 2 m wide; a host
    # on y = -1 is 1 m from both
    xy = [np.array([[0.0, 0.0], [100.0, 0.0]]), np.array([[0.0, -2.0], [100.0, -2.0]])]
    t = _build([(7, 7, 0, 1, 1, 2.0, 1, xy[0]), (7, 7, 0, 2, 1, 2.0, 1, xy[1])], [])
    r = _match(t, [40.0], [-1.0], [90.0], tolerance_m=0.0)
    assert r.lane.tolist() == [0]
    assert r.lateral_m.tolist() == [1.0] and r.to_stop_m.tolist() == [60.0]
    t2 = _build([(7, 7, 0, 2, 1, 2.0, 1, xy[1]), (7, 7, 0, 1, 1, 2.0, 1, xy[0])], [])
    assert _match(t2, [40.0], [-1.0], [90.0], tolerance_m=0.0).lane_id.tolist() == [2]


def test_stop_line_and_past_it(table: LaneTable) -> None:
    # at the stop line: 0; 1 m past: -1; 9.99 m past: still matched (past_stop_m = 10);
    # 10.5 m past: no longer
    r = _match(table, [-10, -9, -0.01, 0.5], [-1.75] * 4, [90] * 4)
    assert r.lane.tolist() == [0, 0, 0, -1]
    np.testing.assert_allclose(r.to_stop_m[:3], [0, -1, -9.99], atol=EXACT)
    # without the extension the projection stops at the stop line: 1 m past it the host is
    # 1 m from the lane's last point (within 2.25 m) at distance 0; 3 m past, nothing
    r = _match(table, [-9, -7], [-1.75, -1.75], [90, 90], past_stop_m=0.0)
    assert r.lane.tolist() == [0, -1] and r.to_stop_m[0] == pytest.approx(0.0, abs=EXACT)
    # nor is there an extension upstream: 1 m before the first point (x = -200) the host is
    # 1 m from it and its projection is that point, so the distance is the lane length
    r = _match(table, [-201], [-1.75], [90])
    assert r.lane.tolist() == [0] and r.to_stop_m[0] == pytest.approx(190.0, abs=EXACT)
    r = _match(table, [-203], [-1.75], [90])
    assert r.lane.tolist() == [-1]


def test_extension_through_the_junction_does_not_take_the_next_lane() -> None:
    # lane A ends at x = 0 (stop line), lane B (the next node's incoming lane, same line)
    # starts at x = 5: a host at x = 6 is on B (on the lane) rather than on A's extension
    a = np.array([[-100.0, 0.0], [0.0, 0.0]])
    b = np.array([[5.0, 0.0], [100.0, 0.0]])
    t = _build([(1, 1, 0, 1, 9, 3.5, 1, a), (2, 2, 0, 1, 1, 3.5, 1, b)], [])
    r = _match(t, [6.0, 3.0], [0.0, 0.0], [90.0, 90.0])
    assert r.node_id.tolist() == [2, 1]
    assert r.to_stop_m.tolist() == [94.0, -3.0]


def test_heading_must_agree_with_the_lane(table: LaneTable) -> None:
    # reversed (westbound on an eastbound lane): no match; 44 deg off: match; 46: none;
    # NaN position or heading: none
    r = _match(table, [-60] * 5 + [np.nan], [-1.75] * 6, [270, 134, 136, 46, np.nan, 90])
    assert r.lane.tolist() == [-1, 0, -1, 0, -1, -1]
    np.testing.assert_allclose(r.heading_diff_deg[[1, 3]], [44, -44], atol=1e-6)
    r = _match(table, [-60], [-1.75], [136], max_heading_diff_deg=50.0)
    assert r.lane.tolist() == [0]


def test_movement_phases_and_connections(table: LaneTable) -> None:
    lanes = np.array([0, 0, 0, 1, 1, 2, -1])
    man = np.array([S, R, L, S, L, R, S])
    # lane 0: straight 2, right 3, no left (fallback: its first connection's phase, 2);
    # lane 1: straight 2, left 4; lane 2 has straight only (right falls back to 1)
    assert table.movement_phase(lanes, man).tolist() == [2, 3, 2, 2, 4, 1, -1]
    assert table.movement_phase(lanes, man, fallback=False).tolist() == [2, 3, -1, 2, 4, -1,
                                                                          -1]
    assert table.movement_phase(lanes).tolist() == [2, 2, 2, 2, 2, 1, -1]  # straight
    row, conn = table.connections(np.array([1, -1, 3]))
    assert row.tolist() == [0, 0, 2]
    assert table.conn_phase[conn].tolist() == [2, 4, 5]
    assert table.conn_maneuver[conn].tolist() == [int(S), int(L), int(S)]
    assert table.conn_remote[conn].tolist() == [9, 9, 9]


def test_uper_round_trip_is_within_quantization(node: MapNode, frame: GeoFrame) -> None:
    msg = decode_frame(encode_frame(MapData(msg_cnt=3, nodes=(node,))))
    assert isinstance(msg, MapData)
    t = lane_table(msg, frame)
    assert t.n_lanes == 4
    np.testing.assert_allclose(t.stop_x, [-10, -10, 1.75, 10], atol=QUANT)
    np.testing.assert_allclose(t.stop_y, [-1.75, -5.25, -10, 1.75], atol=QUANT)
    r = _match(t, [-10, -9, -60, -60], [-1.75, -1.75, -1.75, -1.75], [90, 90, 90, 270])
    assert r.lane.tolist() == [0, 0, 0, -1]
    np.testing.assert_allclose(r.to_stop_m[:3], [0, -1, 50], atol=QUANT)
    assert abs(r.lateral_m[0]) < QUANT
    assert t.movement_phase(np.array([0, 1]), L).tolist() == [2, 4]


def test_cache_rebuilds_only_changed_nodes(node: MapNode, frame: GeoFrame) -> None:
    cache = MapCache(frame)
    first = decode_frame(encode_frame(MapData(msg_cnt=1, nodes=(node,))))
    again = decode_frame(encode_frame(MapData(msg_cnt=2, nodes=(node,),
                                              timestamp_ns=1_700_000_000_000_000_000)))
    assert isinstance(first, MapData) and isinstance(again, MapData)
    assert cache.update(first) and cache.builds == 1
    assert not cache.update(again) and cache.builds == 1  # new msgCnt/timestamp, same node
    assert cache.table.n_lanes == 4 and cache.node_keys == [7]
    # another node (region 3): its own table, concatenated in key order after node 7
    other = dataclasses.replace(node, id=NodeReferenceId(7, region=3))
    assert cache.update((other,)) and cache.builds == 2
    assert cache.node_keys == [7, int(node_key(7, 3))] == [7, (4 << 16) | 7]
    both = cache.table
    assert both.n_lanes == 8 and both.node_key.tolist() == [7] * 4 + [(4 << 16) | 7] * 4
    assert both.seg_start.tolist() == [0, 2, 3, 4, 6, 8, 9, 10, 12]
    assert both.seg_lane[6:].tolist() == [4, 4, 5, 6, 7, 7]
    assert cache.node_table(other) is cache.node_table(other)
    # changed content under a known id: rebuilt
    moved = dataclasses.replace(node, in_links=node.in_links[:1])
    assert cache.update((moved,)) and cache.builds == 3
    assert cache.table.n_lanes == 6
    # hosts on both copies of the lane: the first in key order (node 7) wins the tie
    assert _match(cache.table, [-60], [-1.75], [90]).node_key.tolist() == [7]


def test_empty_table_and_bad_input(table: LaneTable) -> None:
    empty = LaneTable.concat([])
    r = _match(empty, [0.0], [0.0], [0.0])
    assert r.lane.tolist() == [-1] and np.isnan(r.to_stop_m[0])
    assert empty.movement_phase(np.array([-1])).tolist() == [-1]
    with pytest.raises(ValueError, match="shape"):
        match(table, np.zeros(2), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="tolerance_m"):
        match(table, np.zeros(1), np.zeros(1), np.zeros(1), tolerance_m=-1.0)


def test_many_hosts_in_chunks(table: LaneTable, monkeypatch: pytest.MonkeyPatch) -> None:
    # the bounding-box test runs in chunks of hosts: the result does not depend on them
    rng = np.random.default_rng(3)
    n = 500
    x = rng.uniform(-205, 0, n)  # around the west link
    y = rng.uniform(-9, 2, n)
    h = rng.choice([90.0, 270.0, 120.0], n)
    whole = match(table, x, y, h)
    import v2x.apps._mapmatch as mm

    monkeypatch.setattr(mm, "_CHUNK_CELLS", 7)
    chunked = match(table, x, y, h)
    for f in dataclasses.fields(whole):
        np.testing.assert_array_equal(getattr(whole, f.name), getattr(chunked, f.name))
    # the rule by hand for hosts along the straight stretch (x in -195..-15): eastbound or
    # 30 deg off, on the lane whose centre (y = -1.75 or -5.25) is nearer, within 2.25 m
    mid = (x > -195) & (x < -15)
    d0, d1 = np.abs(y + 1.75), np.abs(y + 5.25)
    want = np.where((h == 270.0) | (np.minimum(d0, d1) > 2.25), -1, np.where(d0 <= d1, 0, 1))
    assert whole.lane[mid].tolist() == want[mid].tolist()
    np.testing.assert_allclose(whole.to_stop_m[mid & (want >= 0)],
                               -10 - x[mid & (want >= 0)], atol=EXACT)
    assert {0, 1, -1} <= set(whole.lane[mid].tolist())


# ----------------------------------------------------------------- a MAP built by roadside

@pytest.mark.sumo
def test_roadside_map_of_a_sumo_junction_through_uper(grid: GridFiles, grid_net: Any) -> None:
    from roadside import build_map_node, junction_numbers

    ids = junction_numbers(grid_net)
    geo = GeoFrame.from_net(str(grid.net))
    built = build_map_node(grid_net, "B1", intersection_ids=ids, geo=geo)
    msg = decode_frame(encode_frame(MapData(msg_cnt=0, nodes=(built,))))
    assert isinstance(msg, MapData)
    t = lane_table(msg, geo)
    # B1 has 4 incoming edges x 2 lanes
    assert t.n_lanes == 8 and set(t.node_id.tolist()) == {5}
    # A1B1 lane 0 (eastbound, rightmost): its stop line is the end of the SUMO lane shape
    lane = grid_net.getLane("A1B1_0")
    shape = np.array(lane.getShape())
    i = int(np.flatnonzero((t.link == [lk.name for lk in built.in_links].index("A1B1"))
                           & (t.lane_id == 1))[0])
    assert (t.stop_x[i], t.stop_y[i]) == pytest.approx(tuple(shape[-1]), abs=QUANT)
    # a host 30 m before the stop line on the lane centre, heading east: lane 1 of A1B1,
    # 30 m to go, straight phase 3 (tests/roadside/test_map.py: lane 1's connections are in
    # group 3); reversed: nothing; U-turn from lane 2 is group 4
    x, y = shape[-1][0] - 30.0, shape[-1][1]
    r = _match(t, [x, x], [y, y], [90, 270])
    assert r.lane.tolist() == [i, -1] and r.node_id[0] == 5 and r.lane_id[0] == 1
    assert r.to_stop_m[0] == pytest.approx(30.0, abs=QUANT)
    assert t.movement_phase(r.lane[:1]).tolist() == [3]
    assert t.movement_phase(np.array([i + 1]), U).tolist() == [4]


@pytest.mark.sumo
def test_distance_to_stop_line_agrees_with_sumo(grid: GridFiles, grid_net: Any,
                                                sim: Any) -> None:
    """Every vehicle SUMO has on an incoming lane of B1 is matched to that lane with SUMO's
    own distance to the lane end (lane length - lane position), up to quantization."""
    from roadside import build_map_node, junction_numbers

    ids = junction_numbers(grid_net)
    geo = GeoFrame.from_net(str(grid.net))
    msg = decode_frame(encode_frame(MapData(msg_cnt=0, nodes=(
        build_map_node(grid_net, "B1", intersection_ids=ids, geo=geo),))))
    assert isinstance(msg, MapData)
    t = lane_table(msg, geo)
    names = [lk.name for lk in msg.nodes[0].in_links]
    seen = 0
    for _ in range(1200):  # 120 s
        sim.simulationStep()
        vids = [v for v in sim.vehicle.getIDList()
                if sim.vehicle.getRoadID(v) in names]
        if not vids:
            continue
        pos = np.array([sim.vehicle.getPosition(v) for v in vids])
        hdg = np.array([sim.vehicle.getAngle(v) for v in vids])
        r = match(t, pos[:, 0], pos[:, 1], hdg)
        for k, v in enumerate(vids):
            lane_id = sim.vehicle.getLaneID(v)
            edge, index = lane_id.rsplit("_", 1)
            want = sim.lane.getLength(lane_id) - sim.vehicle.getLanePosition(v)
            assert r.lane[k] >= 0, (v, lane_id, pos[k], hdg[k])
            assert (names[t.link[r.lane[k]]], t.lane_id[r.lane[k]]) == (edge, int(index) + 1)
            assert r.to_stop_m[k] == pytest.approx(want, abs=0.05)
            seen += 1
    assert seen > 100


def test_stop_circles_and_taking_matches(table: LaneTable) -> None:
    # stop points (-10, -1.75), (-10, -5.25), (1.75, -10), (10, 1.75) of node 7: their mean
    # (-2.0625, -3.8125); the farthest, (10, 1.75), hypot(12.0625, 5.5625) = 13.28327 m away
    circles = StopCircles.of(table)
    assert circles.x.tolist() == pytest.approx([-2.0625], abs=EXACT)
    assert circles.y.tolist() == pytest.approx([-3.8125], abs=EXACT)
    assert circles.radius_m.tolist() == pytest.approx([13.28327], abs=1e-5)
    got = circles.distance_at_least_m(np.array([0.0, 100.0, np.nan]),
                                      np.array([0.0, -3.8125, 0.0]))
    assert got.tolist() == pytest.approx([0.0, 102.0625 - 13.28327, np.inf], abs=1e-5)
    # a lower bound of the distance to the nearest stop point
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-300.0, 300.0, (2, 1000))
    nearest = np.hypot(x[:, None] - table.stop_x, y[:, None] - table.stop_y).min(axis=1)
    assert (circles.distance_at_least_m(x, y) <= nearest).all()
    empty = StopCircles.of(_build([], []))
    assert empty.distance_at_least_m(np.zeros(2), np.zeros(2)).tolist() == [np.inf] * 2
    # 3.5 m lanes: 1.75 m + 0.5 m tolerance + 1 m rounding; no lanes: 0 + 0.5 + 1
    assert circles.reach_m(0.5) == pytest.approx(3.25) and empty.reach_m(0.5) == 1.5
    m = _match(table, [-50.0, 1.75], [-1.75, -50.0], [90.0, 0.0])
    again = m.take(np.array([1, 1, 0]))
    assert again.lane.tolist() == [2, 2, 0]
    assert again.to_stop_m.tolist() == pytest.approx([40.0, 40.0, 40.0])
