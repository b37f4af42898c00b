"""The RSI source: signs and events placed on a SUMO-generated grid, sent as real UPER frames
at their T/CSAE 159 periods, raised and cleared at run time."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
import sumolib

from roadside import (
    RSI_PERIODS_NS,
    RoadsideUnit,
    RsiConfig,
    RsiEvent,
    RsiSign,
    RsuSite,
    make_rsus,
    set_rsi_event,
)
from tests.roadside.conftest import GridFiles
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import EventSource, Rsi, decode_frame, frame_to_json, to_json_bytes

pytestmark = pytest.mark.sumo
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
EPOCH_NS = int(START.timestamp()) * 1_000_000_000
MINUTE_NS = 60_000_000_000
KW = {"antenna_height_m": 6.0, "start": START, "spat_period_ns": 100_000_000,
      "map_period_ns": 1_000_000_000}
STEP = 100_000_000

#: the RSU stands at (500, 500), junction B1's centre, but as a free position (RSI only)
SIGNS = (
    # a speed-limit sign on lane A1B1_0 ((211, 494.75) -> (489, 494.75), 3.5 m wide),
    # 10 m after the lane's start; 85 is the scenario's code (to verify against GB 5768.2)
    RsiSign(sign_type=85, lane="A1B1_0", lane_pos_m=10.0, description="限速50"),
    RsiSign(sign_type=2, x=480.0, y=520.0, description="stop", priority=3),
    RsiSign(sign_type=3, x=2000.0, y=2000.0),  # 2.1 km away: out of the RSU's reach
)
EVENTS = (
    RsiEvent(id="works", event_type=401, x=520.0, y=480.0, radius_m=25.3, priority=5,
             description="road works", source="government"),
    RsiEvent(id="jam", event_type=707, path=((505.25, 211.0), (505.25, 489.0)), radius_m=3.5,
             active=False, period_ns=RSI_PERIODS_NS["semi-static"]),
    RsiEvent(id="far", event_type=100, x=2000.0, y=2000.0),
)


def _rsu(grid: GridFiles, net: sumolib.net.Net, cfg: RsiConfig,
         payload: str = "uper") -> RoadsideUnit:
    (rsu,) = make_rsus(None, net, [RsuSite(x=500.0, y=500.0, name="r")],
                       geo=GeoFrame.from_net(str(grid.net)), seed=5, rsi=cfg,
                       payload=payload, **KW)
    return rsu


def _latlon(geo: GeoFrame, x: float, y: float) -> tuple[float, float]:
    lat, lon = geo.to_latlon(x, y)
    return float(lat), float(lon)


def _decode(payload: bytes, t_ns: int) -> Rsi:
    m = decode_frame(payload, now_ns=EPOCH_NS + t_ns)
    assert isinstance(m, Rsi)
    return m


def test_rsi_round_trip_of_the_configured_values(grid: GridFiles,
                                                 grid_net: sumolib.net.Net) -> None:
    from v2x.sim import RoadUsers

    geo = GeoFrame.from_net(str(grid.net))
    rsu = _rsu(grid, grid_net, RsiConfig(signs=SIGNS, events=EVENTS))
    assert rsu.msg_types == ("RSI",)
    t = 42 * 10**9
    (o,) = rsu.transmit(t, RoadUsers.empty())
    assert (o.msg_type, o.size_bytes, o.frame) == ("RSI", len(o.payload), None)
    m = _decode(o.payload, t)
    assert m.msg_cnt == o.msg_cnt
    assert m.id == (1_000_000).to_bytes(8, "big")  # the loop's node id of RSU 0
    assert (m.ref_pos.lat_deg, m.ref_pos.lon_deg) == pytest.approx(_latlon(geo, 500, 500),
                                                                    abs=1e-7)
    # MinuteOfTheYear: the minute of the step
    assert m.timestamp_ns == (EPOCH_NS + t) // MINUTE_NS * MINUTE_NS
    # the active event in reach ("jam" is not raised yet, "far" is out of reach)
    (ev,) = m.events
    assert (ev.rte_id, ev.event_type, ev.source, ev.priority, ev.description) == (
        0, 401, EventSource.GOVERNMENT, 5, "road works")
    assert ev.radius_m == 25.3  # 253 x 0.1 m
    assert ev.pos is not None
    assert (ev.pos.lat_deg, ev.pos.lon_deg) == pytest.approx(_latlon(geo, 520, 480), abs=1e-7)
    assert ev.reference_paths == ()
    # both signs in reach, in configuration order; rtsId = the position in the list
    s0, s1 = m.signs
    assert (s0.rts_id, s0.sign_type, s0.description) == (0, 85, "限速50")
    assert s0.pos is not None
    assert (s0.pos.lat_deg, s0.pos.lon_deg) == pytest.approx(_latlon(geo, 221.0, 494.75),
                                                             abs=1e-7)
    # the lane is the reference path, half its width (1.75 m = 17.5 x 0.1 m, rounded half
    # to even) its radius
    (path,) = s0.reference_paths
    assert path.radius_m == 1.8
    assert [(p.lat_deg, p.lon_deg) for p in path.points] == [
        pytest.approx(_latlon(geo, 211.0, 494.75), abs=1e-7),
        pytest.approx(_latlon(geo, 489.0, 494.75), abs=1e-7)]
    assert (s1.rts_id, s1.sign_type, s1.description, s1.priority) == (1, 2, "stop", 3)
    assert s1.pos is not None and s1.reference_paths == ()
    assert (s1.pos.lat_deg, s1.pos.lon_deg) == pytest.approx(_latlon(geo, 480, 520), abs=1e-7)


def test_rsi_periods_and_events_raised_and_cleared_at_run_time(
        grid: GridFiles, grid_net: sumolib.net.Net) -> None:
    from v2x.sim import RoadUsers

    rsu = _rsu(grid, grid_net, RsiConfig(signs=SIGNS, events=EVENTS))
    users = RoadUsers.empty()
    sent: dict[int, list[tuple[tuple[int, ...], tuple[int, ...]]]] = {}
    cnts = []
    for k in range(31):  # 0 .. 3 s in 100 ms steps
        t = k * STEP
        if t == 1_200_000_000:
            assert rsu.raise_event("jam") is True
        if t == 2_000_000_000:
            assert set_rsi_event([rsu], "works", False) == 1
        for o in rsu.transmit(t, users):
            m = _decode(o.payload, t)
            cnts.append(o.msg_cnt)
            sent.setdefault(k, []).append((tuple(e.rte_id for e in m.events),
                                           tuple(s.rts_id for s in m.signs)))
    signs = (0, 1)
    # hand-computed: signs every 1 s (static), "works" (0) every 100 ms until cleared at 2 s,
    # "jam" (1) every 500 ms once raised at 1.2 s: first at 1.5 s; nothing due -> no RSI
    want = {k: [((0,), ())] for k in range(20)}
    want[0] = want[10] = [((0,), signs)]
    want[15] = [((0, 1), ())]
    want[20] = want[30] = [((1,), signs)]
    want[25] = [((1,), ())]
    assert sent == want
    assert all((b - a) % 128 == 1 for a, b in itertools.pairwise(cnts))
    # the RSI of the jam carries its reference path (2 points, radius 3.5 m) and radius
    (o,) = rsu.transmit(35 * STEP, users)
    (jam,) = _decode(o.payload, 35 * STEP).events
    assert jam.event_type == 707 and jam.radius_m == 3.5
    assert [len(p.points) for p in jam.reference_paths] == [2]
    assert jam.reference_paths[0].radius_m == 3.5
    # an event out of reach is not carried; an unknown id is a configuration error
    assert rsu.raise_event("far") is False
    assert set_rsi_event([rsu], "far", True) == 0
    with pytest.raises(ConfigError, match="no RSI event 'nope'") as err:
        rsu.raise_event("nope")
    assert err.value.key == "rsi.events.id"
    with pytest.raises(ConfigError, match="no RSI event 'nope'"):
        set_rsi_event([rsu], "nope", False)


def test_too_many_items_are_split_over_several_rsis(grid: GridFiles,
                                                    grid_net: sumolib.net.Net) -> None:
    from v2x.sim import RoadUsers

    events = tuple(RsiEvent(id=f"e{i}", event_type=100 + i, x=500.0 + i, y=510.0)
                   for i in range(10))
    signs = tuple(RsiSign(sign_type=i, x=490.0, y=500.0 - i, period_ns=STEP) for i in range(17))
    rsu = _rsu(grid, grid_net, RsiConfig(signs=signs, events=events))
    out = rsu.transmit(0, RoadUsers.empty())
    ms = [_decode(o.payload, 0) for o in out]
    # 8 events and 16 signs per RSI (T/CSAE 53 RTEList / RTSList), configuration order
    assert [[e.event_type for e in m.events] for m in ms] == [
        list(range(100, 108)), [108, 109]]
    assert [[s.sign_type for s in m.signs] for m in ms] == [list(range(16)), [16]]
    assert out[1].msg_cnt == (out[0].msg_cnt + 1) % 128
    # at 100 ms only the dynamic items: events and the 100 ms signs again, same split
    assert len(rsu.transmit(STEP, RoadUsers.empty())) == 2


def test_rsi_json_payload_is_the_frame_s_json_form(grid: GridFiles,
                                                   grid_net: sumolib.net.Net) -> None:
    from v2x.sim import RoadUsers

    rsu = _rsu(grid, grid_net, RsiConfig(signs=SIGNS, events=EVENTS), payload="json")
    (o,) = rsu.transmit(0, RoadUsers.empty())
    assert o.frame is not None and o.size_bytes == len(o.frame)
    m = _decode(o.frame, 0)
    assert o.payload == to_json_bytes(frame_to_json(m)["rsiFrame"])
    assert json.loads(o.payload)["rtes"][0]["eventType"] == 401


def test_no_item_in_reach_means_no_rsi(grid: GridFiles, grid_net: sumolib.net.Net) -> None:
    from v2x.sim import RoadUsers

    cfg = RsiConfig(signs=SIGNS[2:], events=EVENTS[2:], range_m=100.0)
    rsu = _rsu(grid, grid_net, cfg)
    assert rsu.msg_types == ("RSI",)
    assert [rsu.transmit(k * STEP, RoadUsers.empty()) for k in range(11)] == [[]] * 11


def test_items_are_due_at_multiples_of_their_own_periods(grid: GridFiles,
                                                       grid_net: sumolib.net.Net) -> None:
    from v2x.sim import RoadUsers

    # periods of 300 ms and 500 ms: due at their multiples only (not at every multiple of
    # the shortest period), checked at every 50 ms for 3 s
    cfg = RsiConfig(signs=(RsiSign(sign_type=7, x=480.0, y=520.0, period_ns=500_000_000),),
                    events=(RsiEvent(id="e", event_type=401, x=520.0, y=480.0,
                                     period_ns=300_000_000),))
    rsu = _rsu(grid, grid_net, cfg)
    sent = {}
    for k in range(61):
        t = k * 50_000_000
        for o in rsu.transmit(t, RoadUsers.empty()):
            m = _decode(o.payload, t)
            sent[t // 1_000_000] = (len(m.events), len(m.signs))
    assert sent == {ms: (int(ms % 300 == 0), int(ms % 500 == 0))
                    for ms in range(0, 3001, 50) if ms % 300 == 0 or ms % 500 == 0}


@pytest.mark.parametrize(("kw", "key", "match"), [
    ({"signs": (RsiSign(sign_type=1, x=0.0, y=0.0, radius_m=5.0),)}, "rsi.signs[0].radius_m",
     "RTSData has no radius"),
    ({"signs": (RsiSign(sign_type=70000, x=0.0, y=0.0),)}, "rsi.signs[0]", "sign_type"),
    ({"signs": (RsiSign(sign_type=1),)}, "rsi.signs[0]", "needs x and y, a lane or a path"),
    ({"events": (RsiEvent(id="a", event_type=1, x=0.0, y=0.0, priority=8),)},
     "rsi.events[0]", "priority"),
    ({"events": (RsiEvent(id="a", event_type=1, x=0.0, y=0.0),
                 RsiEvent(id="a", event_type=2, x=0.0, y=0.0))}, "rsi.events.id", "unique"),
    ({"events": (RsiEvent(id="a", event_type=1, x=0.0, y=0.0, source="radio"),)},
     "rsi.events[0].source", "source"),
    ({"events": (RsiEvent(id="a", event_type=1, path=((0.0, 0.0),)),)},
     "rsi.events[0].path", "2..32 points"),
    ({"events": (RsiEvent(id="a", event_type=1, x=0.0, y=0.0, radius_m=7000.0),)},
     "rsi.events[0].radius_m", "0..6553.5"),
    ({"events": (RsiEvent(id="a", event_type=1, x=0.0, y=0.0, period_ns=0),)},
     "rsi.events[0].period", "positive"),
    ({"range_m": 0.0}, "rsi.range_m", "> 0"),
])
def test_bad_rsi_settings_are_config_errors(kw: dict, key: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        RsiConfig(**kw)
    assert err.value.key == key


def test_an_unknown_lane_is_a_config_error(grid: GridFiles, grid_net: sumolib.net.Net) -> None:
    cfg = RsiConfig(signs=(RsiSign(sign_type=1, lane="nowhere_0"),))
    with pytest.raises(ConfigError, match="no lane 'nowhere_0'") as err:
        _rsu(grid, grid_net, cfg)
    assert err.value.key == "rsi.signs[0].lane"
    cfg = RsiConfig(signs=(RsiSign(sign_type=1, lane="A1B1_0", lane_pos_m=300.0),))
    with pytest.raises(ConfigError, match="278.00 m long") as err:
        _rsu(grid, grid_net, cfg)
    assert err.value.key == "rsi.signs[0].lane_pos_m"
