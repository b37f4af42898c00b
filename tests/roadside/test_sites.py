"""RSUs at a junction without a traffic light (MAP, no SPAT) and at a free position (neither),
on SUMO-generated grids; how sites resolve and fail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import sumolib

from roadside import (
    MESSAGE_SOURCES,
    RsmConfig,
    RsuSite,
    build_rsus,
    junction_numbers,
    make_rsus,
    register_source,
    rsu_signal_ids,
)
from tests.roadside.conftest import GridFiles
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import MapData, decode_frame
from v2x.sim import Outgoing, RoadUsers

pytestmark = pytest.mark.sumo
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
EPOCH_NS = int(START.timestamp()) * 1_000_000_000
NO_USERS = RoadUsers.empty()
KW = {"antenna_height_m": 6.0, "start": START, "spat_period_ns": 100_000_000,
      "map_period_ns": 1_000_000_000}


def test_an_rsu_at_a_junction_without_a_light_sends_map_and_no_spat(plain_net: Path) -> None:
    net = sumolib.net.readNet(str(plain_net), withPrograms=True)
    geo = GeoFrame.from_net(str(plain_net))
    # no SUMO connection at all: nothing reads a signal
    (rsu,) = make_rsus(None, net, [RsuSite(junction="B1")], geo=geo, seed=1, **KW)
    assert (rsu.name, rsu.junction, rsu.x, rsu.y) == ("B1", "B1", 500.0, 500.0)
    assert rsu.msg_types == ("MAP",)
    sent = [(t, o) for t in range(0, 3_000_000_001, 100_000_000)
            for o in rsu.transmit(t, NO_USERS)]
    # 0..3 s in 100 ms steps: a MAP at 0, 1, 2, 3 s (period 1 s) and nothing else
    assert [(t, o.msg_type) for t, o in sent] == [(k * 10**9, "MAP") for k in range(4)]
    assert [o.msg_cnt for _, o in sent] == [(sent[0][1].msg_cnt + k) % 128 for k in range(4)]
    m = decode_frame(sent[0][1].payload, now_ns=EPOCH_NS)
    assert isinstance(m, MapData)
    (node,) = m.nodes
    assert node.id.id == junction_numbers(net)["B1"]
    lat, lon = (float(v) for v in geo.to_latlon(500.0, 500.0))
    assert (node.ref_pos.lat_deg, node.ref_pos.lon_deg) == pytest.approx((lat, lon), abs=1e-7)
    # the four incoming roads, from A1, B0, B2, C1; no connection names a SPAT phase
    ups = {lk.upstream_node_id.id for lk in node.in_links}
    assert ups == {junction_numbers(net)[j] for j in ("A1", "B0", "B2", "C1")}
    conns = [c for lk in node.in_links for ln in lk.lanes for c in ln.connects_to]
    assert conns and all(c.phase_id is None for c in conns)


def test_an_rsu_at_a_free_position_sends_neither_map_nor_spat(grid: GridFiles,
                                                              grid_net: sumolib.net.Net) -> None:
    geo = GeoFrame.from_net(str(grid.net))
    rsus = make_rsus(None, grid_net, [RsuSite(x=650.0, y=420.4),
                                      RsuSite(x=10.0, y=20.0, name="gantry")],
                     geo=geo, seed=1, rsm=RsmConfig(), **KW)
    assert [(r.name, r.junction, r.x, r.y) for r in rsus] == [
        ("gantry", None, 10.0, 20.0), ("rsu_650_420", None, 650.0, 420.4)]
    assert [r.msg_types for r in rsus] == [("RSM",), ("RSM",)]
    assert all(r.transmit(t, NO_USERS) == [] for r in rsus for t in (0, 10**9))


def test_sites_resolve_junctions_lights_and_positions(grid_net: sumolib.net.Net,
                                                      plain_net: Path) -> None:
    sites = [RsuSite(junction="C1"), "A0", RsuSite(x=1.0, y=2.0), RsuSite(junction="left0")]
    # only the signalized junctions need the traffic process's signal states; RSU order
    assert rsu_signal_ids(grid_net, sites) == ["A0", "C1"]
    plain = sumolib.net.readNet(str(plain_net), withPrograms=True)
    assert rsu_signal_ids(plain, ["A0", "B1"]) == []


@pytest.mark.parametrize(("site", "key", "match"), [
    (RsuSite(junction="Z9"), "rsus.junction", "no junction 'Z9'"),
    ("Z9", "rsus.junction", "no junction 'Z9'"),
])
def test_a_site_not_on_the_network_is_a_config_error(grid_net: sumolib.net.Net, site: object,
                                                      key: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        rsu_signal_ids(grid_net, [site])  # type: ignore[list-item]
    assert (err.value.key, err.value.value) == (key, "Z9")


def test_bad_sites_are_config_errors(grid_net: sumolib.net.Net) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        RsuSite(junction="B1", x=1.0, y=2.0)
    with pytest.raises(ConfigError, match="exactly one"):
        RsuSite()
    with pytest.raises(ConfigError, match="finite") as err:
        RsuSite(x=float("inf"), y=0.0)
    assert err.value.key == "rsus.x"
    with pytest.raises(ConfigError, match="same id") as err:
        rsu_signal_ids(grid_net, ["B1", RsuSite(x=0.0, y=0.0, name="B1")])
    assert err.value.value == "B1"


def test_a_registered_source_joins_every_rsu(grid: GridFiles,
                                             grid_net: sumolib.net.Net) -> None:
    class Beacon:
        msg_type, period_ns = "RSM", 500_000_000

        def __init__(self, first: int, station: bytes) -> None:
            self.cnt, self.station = first, station

        def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
            if t_ns % self.period_ns:
                return []
            self.cnt = (self.cnt + 1) % 128
            return [Outgoing("RSM", self.cnt, self.station + bytes([users.n]), 9)]

    register_source("beacon-test", lambda ctx, cfg: Beacon(ctx.msg_cnt, ctx.station_id))
    try:
        rsus = build_rsus(None, grid_net, [RsuSite(x=0.0, y=0.0, name="a"),
                                           RsuSite(x=5.0, y=0.0, name="b")],
                          geo=GeoFrame.from_net(str(grid.net)), intersection_ids={},
                          rng=np.random.default_rng(4), sources={"beacon-test": {}}, **KW)
        with pytest.raises(ConfigError, match="already registered"):
            register_source("beacon-test", lambda ctx, cfg: None)
    finally:
        del MESSAGE_SOURCES["beacon-test"]
    # RSU r has the loop's node id 1_000_000 + r as its 8-byte station id
    assert [r.transmit(500_000_000, NO_USERS)[0].payload for r in rsus] == [
        (1_000_000).to_bytes(8, "big") + b"\0", (1_000_001).to_bytes(8, "big") + b"\0"]
    assert rsus[0].transmit(600_000_000, NO_USERS) == []
    with pytest.raises(ConfigError, match="no RSU message source 'nope'") as err:
        build_rsus(None, grid_net, ["B1"], geo=GeoFrame(), intersection_ids={},
                   rng=np.random.default_rng(4), sources={"nope": 1}, **KW)
    assert err.value.key == "rsu.sources"


def test_station_ids_follow_the_loop_s_rsu_node_numbers() -> None:
    from roadside._rsu import _RSU_NODE_BASE
    from v2x.sim import RSU_NODE_BASE

    assert _RSU_NODE_BASE == RSU_NODE_BASE
