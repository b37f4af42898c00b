"""The RSU broadcasts SPAT/MAP at its periods; its fast template paths (UPER frames by default,
JSON on request) equal the message classes' encodings."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from types import ModuleType

import numpy as np
import pytest
import sumolib

from roadside import MapSource, SpatBuilder, SpatSource, build_rsus, junction_numbers
from tests.roadside.conftest import TLS_IDS, GridFiles
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import (
    MapData,
    Spat,
    decode_frame,
    encode_frame,
    map_to_json,
    spat_to_json,
    to_json_bytes,
)
from v2x.sim import RoadUsers
from v2x.units import s_to_ns

pytestmark = pytest.mark.sumo
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
EPOCH_NS = int(START.timestamp()) * 1_000_000_000


@pytest.mark.parametrize("payload", ["uper", "json"])
def test_rsu_periods_msgcnt_and_payloads(sim: ModuleType, grid: GridFiles,
                                         grid_net: sumolib.net.Net, payload: str) -> None:
    geo = GeoFrame.from_net(str(grid.net))
    ids = junction_numbers(grid_net)
    kw = {} if payload == "uper" else {"payload": payload}  # UPER is the default
    rsus = build_rsus(sim, grid_net, list(TLS_IDS), geo=geo, intersection_ids=ids,
                      antenna_height_m=6.0, start=START, spat_period_ns=100_000_000,
                      map_period_ns=1_000_000_000, rng=np.random.default_rng(3), **kw)
    assert [r.name for r in rsus] == sorted(TLS_IDS)
    b1 = rsus[[r.name for r in rsus].index("B1")]
    node = grid_net.getNode("B1")
    assert (b1.x, b1.y) == pytest.approx(node.getCoord()[:2])
    assert b1.msg_types == ("SPAT", "MAP")  # a signalized junction: SPAT and MAP only
    spat_src, map_src = b1.sources
    assert isinstance(spat_src, SpatSource) and isinstance(map_src, MapSource)
    no_users = RoadUsers.empty()
    counts = {"SPAT": 0, "MAP": 0}
    cnts: dict[str, list[int]] = {"SPAT": [], "MAP": []}
    for _ in range(200):  # 20 s
        sim.simulationStep()
        t_ns = s_to_ns(sim.simulation.getTime())
        for o in b1.transmit(t_ns, no_users):
            counts[o.msg_type] += 1
            cnts[o.msg_type].append(o.msg_cnt)
            utc = EPOCH_NS + t_ns
            if o.msg_type == "SPAT":
                state = spat_src.spat.build(timestamp_ns=utc)
                spat = Spat(msg_cnt=o.msg_cnt, intersections=(state,), timestamp_ns=utc)
                frame = encode_frame(spat)
                # the on-air size is that of the real UPER frame of this SPAT
                assert o.size_bytes == len(frame)
                if payload == "uper":
                    # the template path gives the message classes' frame byte for byte ...
                    assert o.payload == frame
                    # ... which decodes to the state build() gives: SUMO's times are whole
                    # 0.1 s steps (exact TimeMarks) and utc whole ms (exact DSecond)
                    assert decode_frame(o.payload, now_ns=utc) == spat
                    light = state.phases[0].states[0].light.name
                    assert light in ("PROTECTED_GREEN", "PERMISSIVE_GREEN", "YELLOW", "RED")
                else:
                    got = json.loads(o.payload)
                    assert got == spat_to_json(spat)
                    assert o.payload == to_json_bytes(spat_to_json(spat))
                    assert len(frame) < len(o.payload)
                    # the light of phase 1 is what SUMO shows for its links
                    assert got["intersections"][0]["phases"][0]["phaseStates"][0]["light"] in (
                        "protected-green", "permissive-green", "yellow", "red")
            else:
                m = MapData(msg_cnt=o.msg_cnt, nodes=(map_src.map_node,), timestamp_ns=utc)
                frame = encode_frame(m)
                assert o.size_bytes == len(frame)
                if payload == "uper":
                    assert o.payload == frame
                    # decoded: the same msgCnt, minute (utc is on a whole minute plus a whole
                    # number of seconds: the MAP carries the minute) and node
                    got_m = decode_frame(o.payload, now_ns=utc)
                    assert isinstance(got_m, MapData)
                    assert got_m.msg_cnt == o.msg_cnt
                    assert got_m.timestamp_ns == utc // 60_000_000_000 * 60_000_000_000
                    (n,) = got_m.nodes
                    assert n.id == map_src.map_node.id
                    assert [ln.lane_id for lk in n.in_links for ln in lk.lanes] == [
                        ln.lane_id for lk in map_src.map_node.in_links for ln in lk.lanes]
                    assert n.ref_pos.lat_deg == pytest.approx(map_src.map_node.ref_pos.lat_deg,
                                                              abs=1e-7)
                else:
                    assert o.payload == to_json_bytes(map_to_json(m))
                    assert len(frame) < len(o.payload)
    # 20 s at SPAT 100 ms and MAP 1 s (T/CSAE 159 periods of the scenario)
    assert counts == {"SPAT": 200, "MAP": 20}
    # msgCnt increments by one per message of a type and wraps 127 -> 0
    for seq in cnts.values():
        assert all((b - a) % 128 == 1 for a, b in itertools.pairwise(seq))
    assert any(b < a for a, b in itertools.pairwise(cnts["SPAT"]))


def test_rsu_rejects_an_unknown_payload(sim: ModuleType, grid_net: sumolib.net.Net) -> None:
    with pytest.raises(ConfigError, match="payload") as err:
        SpatSource(SpatBuilder(sim, "B1", 5), period_ns=100_000_000, msg_cnt=0, payload="xml")
    assert err.value.key == "rsu.payload"
    with pytest.raises(ConfigError, match="payload"):
        build_rsus(sim, grid_net, ["B1"], geo=GeoFrame(), intersection_ids={"B1": 5},
                   antenna_height_m=6.0, start=START, spat_period_ns=100_000_000,
                   map_period_ns=1_000_000_000, rng=np.random.default_rng(0), payload="xml")


def test_spat_frame_equals_build_through_a_program_change(sim: ModuleType) -> None:
    tl = sim.trafficlight
    b = SpatBuilder(sim, "B1", 5, region=7)
    ts = 1_780_000_000 * 10**9 + 123_000_000  # any UTC instant

    def check(n_steps: int) -> None:
        for step in range(n_steps):
            sim.simulationStep()
            now = s_to_ns(sim.simulation.getTime())
            cnt = step % 128
            got = b.spat_frame(cnt, ts, now_ns=now)
            assert got == encode_frame(Spat(msg_cnt=cnt, intersections=(
                b.build(timestamp_ns=ts),), timestamp_ns=ts))
            assert b.frame_size(ts) == len(got)
            got = b.spat_frame(cnt, None)
            assert got == encode_frame(Spat(msg_cnt=cnt, intersections=(b.build(),)))
            assert b.frame_size(None) == len(got)

    check(950)  # 95 s: more than one 90 s cycle, every phase of the program
    # a one-group program: 20 links G 30 s, y 5 s, r 10 s
    phases = [tl.Phase(30.0, "G" * 20, 30.0, 30.0), tl.Phase(5.0, "y" * 20, 5.0, 5.0),
              tl.Phase(10.0, "r" * 20, 10.0, 10.0)]
    tl.setProgramLogic("B1", tl.Logic("alt", 0, 0, phases))
    tl.setProgram("B1", "alt")
    tl.setPhase("B1", 0)
    # picked up without a step: one group, green for 30 s (TimeMark 300), again after 45 s
    spat = decode_frame(b.spat_frame(1, ts), now_ns=ts)
    assert isinstance(spat, Spat)
    (phase,) = spat.intersections[0].phases
    timing = phase.states[0].timing
    assert timing is not None
    assert (timing.likely_end_time_ns, timing.next_start_time_ns) == (30 * 10**9, 45 * 10**9)
    assert b.plan.program_id == "alt"
    check(500)  # 50 s: every phase of the new program


def test_signal_plans_are_read_before_the_run(sim: ModuleType) -> None:
    # SPAT builders read their plan at first use (SUMO may still be loading while RSUs are
    # built); read_signal_plans reads them all at once, so an unknown light fails up front
    from roadside import RoadsideUnit, read_signal_plans
    from v2x.errors import SumoError

    def rsu(tls: str) -> RoadsideUnit:
        return RoadsideUnit(name=tls, x=0.0, y=0.0, antenna_height_m=6.0, start=START,
                            sources=[SpatSource(SpatBuilder(sim, tls, 5),
                                                period_ns=100_000_000, msg_cnt=0)])

    good = rsu("B1")
    read_signal_plans([good])
    assert good.source("SPAT").spat.plan.program_id == sim.trafficlight.getProgram("B1")
    with pytest.raises(SumoError, match="no-such-light"):
        read_signal_plans([good, rsu("no-such-light")])
