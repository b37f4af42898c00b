"""The RSU broadcasts SPAT/MAP at its periods; its fast JSON path equals the message classes'."""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType

import numpy as np
import pytest
import sumolib

from roadside import build_rsus, junction_numbers
from tests.roadside.conftest import TLS_IDS, GridFiles
from v2x.geo import GeoFrame
from v2x.messages import MapData, Spat, encode_frame, map_to_json, spat_to_json, to_json_bytes
from v2x.units import s_to_ns

pytestmark = pytest.mark.sumo
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
EPOCH_NS = int(START.timestamp()) * 1_000_000_000


def test_rsu_periods_msgcnt_and_payloads(sim: ModuleType, grid: GridFiles,
                                         grid_net: sumolib.net.Net) -> None:
    geo = GeoFrame.from_net(str(grid.net))
    ids = junction_numbers(grid_net)
    rsus = build_rsus(sim, grid_net, list(TLS_IDS), geo=geo, intersection_ids=ids,
                      antenna_height_m=6.0, start=START, spat_period_ns=100_000_000,
                      map_period_ns=1_000_000_000, rng=np.random.default_rng(3))
    assert [r.name for r in rsus] == sorted(TLS_IDS)
    b1 = rsus[[r.name for r in rsus].index("B1")]
    node = grid_net.getNode("B1")
    assert (b1.x, b1.y) == pytest.approx(node.getCoord()[:2])
    counts = {"SPAT": 0, "MAP": 0}
    cnts: dict[str, list[int]] = {"SPAT": [], "MAP": []}
    for _ in range(200):  # 20 s
        sim.simulationStep()
        t_ns = s_to_ns(sim.simulation.getTime())
        for o in b1.transmit(t_ns):
            counts[o.msg_type] += 1
            cnts[o.msg_type].append(o.msg_cnt)
            got = json.loads(o.payload)
            utc = EPOCH_NS + t_ns
            if o.msg_type == "SPAT":
                state = b1._spat.build(timestamp_ns=utc)
                want = spat_to_json(Spat(msg_cnt=o.msg_cnt, intersections=(state,),
                                         timestamp_ns=utc))
                assert got == want
                # ... and byte for byte (the template path vs the message classes)
                assert o.payload == to_json_bytes(want)
                # the on-air size is that of the real UPER frame of this SPAT
                frame = encode_frame(Spat(msg_cnt=o.msg_cnt, intersections=(state,),
                                          timestamp_ns=utc))
                assert o.size_bytes == len(frame) < len(o.payload)
                # the light of phase 1 is what SUMO shows for its links
                assert got["intersections"][0]["phases"][0]["phaseStates"][0]["light"] in (
                    "protected-green", "permissive-green", "yellow", "red")
            else:
                want_b = to_json_bytes(map_to_json(MapData(msg_cnt=o.msg_cnt,
                                                           nodes=(b1._map_node,),
                                                           timestamp_ns=utc)))
                assert o.payload == want_b
                frame = encode_frame(MapData(msg_cnt=o.msg_cnt, nodes=(b1._map_node,),
                                             timestamp_ns=utc))
                assert o.size_bytes == len(frame) < len(o.payload)
    # 20 s at SPAT 100 ms and MAP 1 s (T/CSAE 159 periods of the scenario)
    assert counts == {"SPAT": 200, "MAP": 20}
    # msgCnt increments by one per message of a type and wraps 127 -> 0
    for seq in cnts.values():
        assert all((b - a) % 128 == 1 for a, b in zip(seq, seq[1:], strict=False))
    assert any(b < a for a, b in zip(cnts["SPAT"], cnts["SPAT"][1:], strict=False))
