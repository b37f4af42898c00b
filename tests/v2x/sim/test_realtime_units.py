"""Real-time pacing (v2x.sim._realtime), the downlink RSI source (roadside._downlink) and the
OpenV2X RSI downlink JSON, without a simulation: hand-computed values on a fake clock."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from roadside import DownlinkRsiConfig, DownlinkRsiSource, RsuContext
from v2x.bus import openv2x_payload, rsi_from_openv2x
from v2x.errors import ConfigError, DecodeError
from v2x.geo import GeoFrame
from v2x.messages import (
    EventSource,
    Position3D,
    RoadTrafficEvent,
    Rsi,
    decode_frame,
    encode_frame,
    frame_to_json,
)
from v2x.sim import RealTimeClock, RoadUsers

NOW_NS = 1_780_000_000_000_000_000  # 2026-05-28 UTC: any time, MinuteOfTheYear of its year
EVENT = RoadTrafficEvent(rte_id=7, event_type=401, source=EventSource.POLICE,
                         pos=Position3D(39.0558, 117.0551), radius_m=20.0,
                         description="road works", priority=5)
#: an RSI as it arrives on the downlink: the value of a real frame (positions on the 1e-7
#: degree grid, as decoding gives them)
RSI = decode_frame(encode_frame(Rsi(msg_cnt=5, id=b"CLOUD001",
                                    ref_pos=Position3D(39.0559, 117.0550), events=(EVENT,))),
                   now_ns=NOW_NS)


class FakeClock:
    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def __call__(self) -> int:
        return self.ns


def test_realtime_clock_lag_and_factor() -> None:
    clock = FakeClock()
    rt = RealTimeClock(clock)
    rt.start()
    # steps of 100 ms: the messages of step 1 leave 5 ms late, step 2 on time, step 3 40 ms
    for t_ms, late_ms in ((100, 5), (200, 0), (300, 40)):
        clock.ns = 1_000_000_000 + (t_ms + late_ms) * 1_000_000
        assert rt.leaving(t_ms * 1_000_000) == pytest.approx(late_ms)
    s = rt.summary(300_000_000)
    # 0.3 s simulated over 0.34 s of wall time
    assert s["rtf"] == pytest.approx(0.3 / 0.34)
    assert s["lag_max_ms"] == pytest.approx(40.0)
    assert s["lag_mean_ms"] == pytest.approx(15.0)
    assert s["lag_p95_ms"] == pytest.approx(float(np.percentile([5, 0, 40], 95)))
    assert s["steps"] == 3


def test_realtime_clock_sleeps_until_the_step_is_due() -> None:
    rt = RealTimeClock()

    async def go() -> float:
        rt.start()
        await rt.until(50_000_000)  # 50 ms
        return rt.elapsed_s()

    assert asyncio.run(go()) >= 0.05
    with pytest.raises(RuntimeError, match="start"):
        RealTimeClock().due_ns(0)


def _source(payload: str = "uper", msg_cnt: int = 126) -> DownlinkRsiSource:
    ctx = RsuContext(name="R1", index=0, station_id=bytes(8), x=0.0, y=0.0, junction=None,
                     tls=None, conn=None, net=None, geo=GeoFrame(), intersection_ids={},
                     payload=payload, msg_cnt=msg_cnt, rng=np.random.default_rng(0))
    return DownlinkRsiSource(DownlinkRsiConfig(period_ns=100_000_000,
                                               hold_ns=300_000_000), ctx)


def test_downlink_source_broadcasts_from_the_step_for_the_hold_time() -> None:
    src = _source()
    users = RoadUsers.empty()
    assert src.transmit(100_000_000, NOW_NS, users) == []  # nothing relayed yet
    assert not src.relay("not an RSI", 200_000_000)
    assert src.relay(RSI, 200_000_000)
    # 200, 300, 400 ms (hold 300 ms), msgCnt 126, 127, 0 (wraps): the RSI as published
    out = {t: src.transmit(t * 1_000_000, NOW_NS, users) for t in range(100, 700, 100)}
    assert [t for t, o in out.items() if o] == [200, 300, 400]
    for (t, cnt) in ((200, 126), (300, 127), (400, 0)):
        (o,) = out[t]
        assert o.msg_type == "RSI" and o.msg_cnt == cnt and o.frame is None
        assert decode_frame(o.payload, now_ns=NOW_NS) == dataclasses.replace(RSI, msg_cnt=cnt)
        assert o.size_bytes == len(encode_frame(RSI))
    # a newer one replaces it
    newer = dataclasses.replace(RSI, events=(dataclasses.replace(EVENT, event_type=707),))
    src.relay(newer, 1_000_000_000)
    (o,) = src.transmit(1_000_000_000, NOW_NS, users)
    assert decode_frame(o.payload, now_ns=NOW_NS).events[0].event_type == 707


def test_downlink_source_json_payload_keeps_the_frame_for_the_air() -> None:
    src = _source("json")
    src.relay(RSI, 0)
    (o,) = src.transmit(0, NOW_NS, RoadUsers.empty())
    assert decode_frame(o.frame, now_ns=NOW_NS) == dataclasses.replace(RSI, msg_cnt=126)
    assert json.loads(o.payload)["msgCnt"] == 126


def test_downlink_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="downlink.hold"):
        DownlinkRsiConfig(hold_ns=0)


def test_openv2x_rsi_json_reads_back() -> None:
    payload = openv2x_payload("RSI", encode_frame(RSI), rsu="R1", t_utc_ns=NOW_NS)
    got = rsi_from_openv2x(payload, now_ns=NOW_NS)
    (ev,) = got.events
    assert (ev.rte_id, ev.event_type, ev.source, ev.radius_m, ev.description, ev.priority) == (
        7, 401, EventSource.POLICE, 20.0, "road works", 5)
    # positions travel as 1e-7 degree integers
    assert ev.pos == got.ref_pos
    assert abs(ev.pos.lat_deg - 39.0558) < 1e-7 and abs(ev.pos.lon_deg - 117.0551) < 1e-7
    for bad in (b"not json", b'{"rsiDatas": []}', b'{"rsiDatas": [{"eventType": 1}]}'):
        with pytest.raises(DecodeError):
            rsi_from_openv2x(bad, now_ns=NOW_NS)


def test_the_downlink_rsi_is_a_frame_the_codec_reads() -> None:
    # what a test publishes with mosquitto_pub: frame_to_json shows it is a real RSI frame
    assert frame_to_json(decode_frame(encode_frame(RSI), now_ns=NOW_NS))["rsiFrame"]["msgCnt"] \
        == 5
    assert dt.datetime.fromtimestamp(NOW_NS / 1e9, dt.UTC).year == 2026
