"""RLVW through the loop on scripted traffic (no SUMO): a scripted RSU broadcasts a hand-made
MAP (every 1 s) and SPAT (every step) as UPER frames, the ideal channel delivers them, the
hosts' RLVW matches their own positions to the decoded MAP and warns into warnings.parquet.

The junction (node 7, network (0, 0), stop lines 10 m from the centre, 3.5 m lanes):

* from the west, eastbound: lane 1 on y = -1.75, lane 2 on y = -5.25, both ending at
  x = -10; straight phase 2, red for the whole run, likely to end 45 s after the start;
* from the south, northbound: lane 1 on x = 1.75 ending at y = -10; straight phase 1, green
  for the whole run (likely end 45 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from v2x.apps import make_app
from v2x.bus import MemoryBus
from v2x.channel import make_channel
from v2x.geo import GeoFrame
from v2x.messages import (
    AllowedManeuvers,
    ConnectingLane,
    Connection,
    IntersectionState,
    IntersectionStatus,
    LightState,
    MapData,
    MapLane,
    MapLink,
    MapNode,
    NodeReferenceId,
    Phase,
    PhaseState,
    Position3D,
    Spat,
    TimeCountingDown,
    encode_frame,
)
from v2x.recorder import Recorder
from v2x.sim import Outgoing, RoadUsers, RunSummary, SimConfig, Simulation
from v2x.traffic import ScriptedTraffic, ScriptedVehicle

START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
START_UTC_NS = int(START.timestamp()) * 1_000_000_000
SEC = 1_000_000_000
STEP_NS = 100_000_000
NODE_ID = 7
RED_ENDS_NS = 45 * SEC  # the west approach's red and the south approach's green end at 45 s
S = AllowedManeuvers.STRAIGHT


def _geo() -> GeoFrame:
    # network (0, 0) at Tianjin South Station, as tests/v2x/sim/test_loop.py
    e0, n0 = GeoFrame().project(39.05583, 117.055)
    return GeoFrame(offset_x=-e0, offset_y=-n0)


def _pts(geo: GeoFrame, xy: list[tuple[float, float]]) -> tuple[Position3D, ...]:
    return tuple(Position3D(*map(float, geo.to_latlon(x, y))) for x, y in xy)


def _map(geo: GeoFrame) -> MapData:
    def lane(lane_id: int, phase: int, xy: list[tuple[float, float]]) -> MapLane:
        return MapLane(lane_id, 3.5, S, (Connection(NodeReferenceId(9), ConnectingLane(1, S),
                                                    phase),), _pts(geo, xy))

    west = MapLink(NodeReferenceId(1), lanes=(lane(1, 2, [(-200, -1.75), (-10, -1.75)]),
                                              lane(2, 2, [(-200, -5.25), (-10, -5.25)])))
    south = MapLink(NodeReferenceId(2), lanes=(lane(1, 1, [(1.75, -200), (1.75, -10)]),))
    lat, lon = geo.to_latlon(0.0, 0.0)
    return MapData(msg_cnt=0, nodes=(MapNode(NodeReferenceId(NODE_ID),
                                             Position3D(float(lat), float(lon)),
                                             in_links=(west, south)),))


class ScriptedSignalRsu:
    """A roadside unit at the junction (the loop's :class:`~v2x.sim.Roadside` protocol): MAP
    every 1 s, SPAT every step with phase 1 green and phase 2 red until 45 s."""

    name = "C"
    x = 0.0
    y = 0.0
    antenna_height_m = 6.0

    def __init__(self, geo: GeoFrame) -> None:
        self._map = encode_frame(_map(geo))
        self._cnt = 0

    def transmit(self, t_ns: int, users: RoadUsers, /) -> Sequence[Outgoing]:
        del users
        self._cnt = (self._cnt + 1) % 128
        left = RED_ENDS_NS - t_ns
        phases = (Phase(1, (PhaseState(LightState.PROTECTED_GREEN, TimeCountingDown(0, left)),)),
                  Phase(2, (PhaseState(LightState.RED, TimeCountingDown(0, left)),)))
        spat = encode_frame(Spat(self._cnt, (IntersectionState(
            NodeReferenceId(NODE_ID), IntersectionStatus.FIXED_TIME_OPERATION, phases),),
            timestamp_ns=START_UTC_NS + t_ns))
        out = [Outgoing("SPAT", self._cnt, spat, len(spat))]
        if t_ns % SEC == 0:
            out.append(Outgoing("MAP", self._cnt, self._map, len(self._map)))
        return out


def _warnings(tmp_path: Path, vehicles: list[ScriptedVehicle], seconds: float) -> pd.DataFrame:
    cfg = SimConfig(start=START, duration_ns=int(seconds * SEC), apps=(make_app("rlvw"),),
                    reception_sample=1.0)

    async def go() -> RunSummary:
        with Recorder(tmp_path) as rec:
            sim = Simulation(traffic=ScriptedTraffic(vehicles),
                             roadside=[ScriptedSignalRsu(_geo())], channel=make_channel("ideal"),
                             geo=_geo(), recorder=rec, config=cfg, seed=1)
            async with MemoryBus() as bus:
                return await sim.run(bus)

    asyncio.run(go())
    return pd.read_parquet(tmp_path / "warnings.parquet")


def test_rlvw_warns_a_host_that_keeps_its_speed_towards_the_red(tmp_path: Path) -> None:
    # the host's front bumper at x = -200 + 14 t (states after each step, as SUMO's): d =
    # -10 - x = 190 - 14 t; v² / 2d > 3.0 <=> d < 196 / 6 = 32.67 m <=> t > 11.24 s: first
    # at 11.3 s with d = 31.8 m (3.08 m/s²; at 11.2 s d = 33.2 m needs 2.95 m/s²). Red for
    # 33.7 s more, arrival in 31.8 / 14 = 2.27 s: red at arrival.
    host = ScriptedVehicle("host", -200.0, -1.75, 90.0, 14.0)
    w = _warnings(tmp_path, [host], 12.0)
    assert len(w) == 1
    row = w.iloc[0]
    assert (row["app"], row["vehicle"], row["t_ns"]) == ("RLVW", 0, 11_300_000_000)
    assert row["gap_m"] == pytest.approx(31.8, abs=0.02)  # MAP points to 1e-7 deg
    assert row["ttc_s"] == pytest.approx(31.8 / 14.0, abs=0.01)
    assert row["info_age_ms"] == pytest.approx(1.0, abs=0.01)  # the ideal channel's 1 ms


def test_rlvw_does_not_warn_on_green_nor_a_host_that_brakes_in_time(tmp_path: Path) -> None:
    # green: the same motion northbound on the south approach (phase 1 green): within
    # 32.67 m of its line from 11.3 s, but no warning (with phase 1 red it would be warned at
    # 11.3 s, as the first test's host; checked by hand while writing this test).
    # braking: on lane 2 of the west approach (red), 39.2 m before the line at 14 m/s and
    # braking at 2.5 m/s² from the start: it stops exactly at the line (196 / 5 = 39.2 m) and
    # needs 2.5 m/s² all the way (< 3.0): no warning. (Starting 4 m later, at 35.2 m, 2.5 m/s²
    # is too little: it is warned at 1.3 s, 0.3 s after the first MAP.)
    green = ScriptedVehicle("green", 1.75, -200.0, 0.0, 14.0)
    braking = ScriptedVehicle("braking", -49.2, -5.25, 90.0, 14.0, accel=-2.5)
    assert _warnings(tmp_path, [green, braking], 12.0).empty
