"""Fixtures of the application tests: a hand-made MAP node in a known frame, and the roadside
tests' SUMO grid (re-exported so that a MAP built by roadside from a real SUMO network can be
matched here)."""

from __future__ import annotations

import pyproj
import pytest

from tests.roadside.conftest import grid, grid_net, sim  # noqa: F401  (fixtures re-exported)
from v2x.geo import GeoFrame
from v2x.messages import (
    AllowedManeuvers,
    ConnectingLane,
    Connection,
    MapLane,
    MapLink,
    MapNode,
    NodeReferenceId,
    Position3D,
)

#: Tianjin South Station (STANDARDS.md section 6) is network (0, 0) of the hand-made frame
ANCHOR_LON, ANCHOR_LAT = 117.055, 39.05583
NODE_ID = 7
S, L, R = AllowedManeuvers.STRAIGHT, AllowedManeuvers.LEFT, AllowedManeuvers.RIGHT


@pytest.fixture(scope="session")
def frame() -> GeoFrame:
    """UTM 50N with the anchor at network (0, 0)."""
    e0, n0 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True).transform(
        ANCHOR_LON, ANCHOR_LAT)
    return GeoFrame(offset_x=-e0, offset_y=-n0)


def _pts(geo: GeoFrame, xy: list[tuple[float, float]]) -> tuple[Position3D, ...]:
    out = []
    for x, y in xy:
        lat, lon = geo.to_latlon(x, y)
        out.append(Position3D(float(lat), float(lon)))
    return tuple(out)


def _conn(phase: int, maneuver: AllowedManeuvers, remote: int = 9) -> Connection:
    return Connection(NodeReferenceId(remote), ConnectingLane(1, maneuver), phase)


@pytest.fixture(scope="session")
def node(frame: GeoFrame) -> MapNode:
    """Node 7 at network (0, 0) with three incoming links (3.5 m lanes, stop lines 10 m from
    the centre):

    * link 0 from the west, eastbound (heading 90): lane 1 on y = -1.75 (x -200 -> -100 -> -10;
      straight phase 2, right phase 3), lane 2 on y = -5.25 (x -200 -> -10; straight 2, left 4).
    * link 1 from the south, northbound (heading 0): lane 1 on x = 1.75 (y -200 -> -10;
      straight phase 1).
    * link 2 from the east, westbound, kinked: lane 1 (150, 30) -> (60, 1.75) -> (10, 1.75),
      straight phase 5; no lane width (the link's 7 m over 2 lanes gives 3.5 m); lane 2 without
      points (never matched).
    """
    west = MapLink(NodeReferenceId(1), lanes=(
        MapLane(1, 3.5, S | R, (_conn(2, S), _conn(3, R)),
                _pts(frame, [(-200, -1.75), (-100, -1.75), (-10, -1.75)])),
        MapLane(2, 3.5, S | L, (_conn(2, S), _conn(4, L)),
                _pts(frame, [(-200, -5.25), (-10, -5.25)]))))
    south = MapLink(NodeReferenceId(2), lanes=(
        MapLane(1, 3.5, S, (_conn(1, S),), _pts(frame, [(1.75, -200), (1.75, -10)])),))
    east = MapLink(NodeReferenceId(3), link_width_m=7.0, lanes=(
        MapLane(1, None, S, (_conn(5, S),), _pts(frame, [(150, 30), (60, 1.75), (10, 1.75)])),
        MapLane(2, None, S)))
    lat, lon = frame.to_latlon(0.0, 0.0)
    return MapNode(NodeReferenceId(NODE_ID), Position3D(float(lat), float(lon)),
                   in_links=(west, south, east))
