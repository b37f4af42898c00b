"""Topic profiles: every topic of both tables round-trips through the real Mosquitto; the
``openv2x`` payloads carry that platform's field names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from v2x.bus import (
    OPENV2X_TOPICS,
    PROFILES,
    TOPICS,
    RunTopics,
    Tap,
    TopicSpec,
    open_bus,
    openv2x_payload,
    parse_topic,
    payload_error,
    rsi_from_openv2x,
    topic_qos,
)
from v2x.errors import ConfigError, DecodeError
from v2x.messages import (
    Bsm,
    EventSource,
    IntersectionState,
    IntersectionStatus,
    LightState,
    NodeReferenceId,
    Participant,
    ParticipantType,
    Phase,
    PhaseState,
    Position3D,
    RoadTrafficEvent,
    Rsi,
    Rsm,
    SourceType,
    Spat,
    TimeCountingDown,
    encode_frame,
    pack_frames,
)

from .conftest import OwnMosquitto

T0 = 1_780_272_000_000_000_000  # 2026-06-01T00:00:00Z [ns]
BSM = encode_frame(Bsm(msg_cnt=1, id=bytes(8), sec_mark_s=1.0, lat_deg=39.0, lon_deg=117.0,
                       speed_mps=1.0, heading_deg=0.0, width_m=1.8, length_m=4.5))
SPAT = encode_frame(Spat(3, (IntersectionState(
    NodeReferenceId(6), IntersectionStatus(32),
    (Phase(1, (PhaseState(LightState.RED, TimeCountingDown(0, 389 * 10**8)),)),)),), T0))
RSI = encode_frame(Rsi(5, bytes(8), Position3D(39.054, 117.052), (RoadTrafficEvent(
    "road works", rte_id=0, event_type=401, source=EventSource.UNKNOWN,
    pos=Position3D(39.0541, 117.0522), radius_m=100.0),), timestamp_ns=T0))
RSM = encode_frame(Rsm(7, bytes(8), Position3D(39.054, 117.052), (Participant(
    ptc_type=ParticipantType.MOTOR, ptc_id=16, source=SourceType.VIDEO, sec_mark_s=40.9,
    pos=Position3D(39.0539, 117.0521), speed_mps=17.68, heading_deg=90.0, width_m=1.8,
    length_m=4.8),)))


def _ids(spec: TopicSpec, k: int) -> dict[str, str]:
    return {name: {"zone": "zp4"}.get(name, f"N{k}") for name in spec.placeholders}


def _payload(spec: TopicSpec) -> bytes:
    """A valid payload of the row: telemetry and openv2x rows JSON, V2X rows UPER."""
    if spec.direction == "sim" or spec.pattern.startswith("V2X/"):
        return b'{"t_ns": 0}'
    if spec.pattern.endswith("rsu_id}/up/bsm"):
        return pack_frames([BSM, BSM])
    # MAP: any frame that decodes (payload_error checks decoding, not the type)
    return {"BSM": BSM, "SPAT": SPAT, "RSI": RSI, "RSM": RSM, "MAP": SPAT}[spec.msg_type]


@pytest.mark.broker
def test_every_topic_of_every_profile_round_trips_through_mosquitto(
        own_mosquitto: Callable[..., OwnMosquitto]) -> None:
    broker = own_mosquitto()
    sent = [(spec, spec.format(**_ids(spec, k)), _payload(spec))
            for k, spec in enumerate(TOPICS + OPENV2X_TOPICS)]

    async def main() -> list[tuple[str, bytes]]:
        async with (open_bus(broker.url, qos_of=topic_qos) as bus,
                    Tap(bus, "v2x/zp4/#") as ours, Tap(bus, "V2X/RSU/#") as theirs):
            await bus.publish_many([(topic, payload) for _, topic, payload in sent])
            await ours.wait_for(len(TOPICS), timeout_s=10.0)
            await theirs.wait_for(len(OPENV2X_TOPICS), timeout_s=10.0)
            return [(m.topic, m.payload) for m in ours.drain() + theirs.drain()]

    got = asyncio.run(main())
    assert sorted(got) == sorted((topic, payload) for _, topic, payload in sent)
    for spec, topic, payload in sent:
        info = parse_topic(topic)
        assert info is not None and info.spec == spec  # the topic names its row
        assert payload_error(topic, payload) is None
        assert topic_qos(topic) == spec.qos


def test_run_topics_of_both_profiles() -> None:
    ours, theirs = RunTopics("v2x", zone="xq"), RunTopics("openv2x", zone="xq")
    assert ours.rsu_up("B1", "spat") == "v2x/xq/rsu/B1/up/spat"
    assert ours.rsu_down_rsi("B1") == "v2x/xq/rsu/B1/down/rsi"
    assert ours.run_filter == "v2x/xq/#" and ours.payload == "run"
    assert theirs.rsu_up("B1", "RSM") == "V2X/RSU/B1/RSM/UP"
    assert theirs.rsu_down_rsi("B1") == "V2X/RSU/B1/RSI/DOWN"
    assert theirs.run_filter == "V2X/RSU/#" and theirs.payload == "openv2x"
    info = parse_topic("V2X/RSU/B1/SPAT/UP")
    assert info is not None and (info.zone, info.node_kind, info.node_id, info.msg_type) == (
        "", "rsu", "B1", "SPAT")
    assert set(PROFILES) == {"v2x", "openv2x"}
    with pytest.raises(ConfigError) as err:
        RunTopics("sae")
    assert err.value.key == "topics"


def test_openv2x_payloads_use_the_platform_field_names() -> None:
    spat = json.loads(openv2x_payload("SPAT", SPAT, rsu="B1", t_utc_ns=T0))
    # likelyEndTime 389 [0.1 s] after 2026-06-01T00:00:00Z -> 00:00:38.9, shown to the second
    assert spat == {"name": "B1", "intersections": [{"intersectionId": 6, "status": 32,
                    "phases": [{"phaseId": 1, "phaseStates": {
                        "light": "red", "timing": "2026-06-01 00:00:38"}}]}]}
    rsi = json.loads(openv2x_payload("RSI", RSI, rsu="B1", t_utc_ns=T0))
    assert (rsi["rsiSourceType"], rsi["rsiSourceId"]) == ("rsu", "B1")
    (d,) = rsi["rsiDatas"]
    # 401 is in cerebrum's ABNORMAL_TRAFFIC_CODE; position absolute [1e-7 deg]; alertID an
    # int as dandelion's RSIEventCreate has it
    assert (d["alertID"], d["eventType"], d["eventClass"], d["eventDescription"]) == (
        0, 401, "AbnormalTraffic", "road works")
    assert d["eventPosition"] == {"lat": 390541000, "lon": 1170522000}
    assert d["timeStamp"] == "2026-06-01T00:00:00.000Z"
    rsm = json.loads(openv2x_payload("RSM", RSM, rsu="B1", t_utc_ns=T0))
    (group,) = rsm["content"]["rsms"]
    assert group["refPos"] == {"lat": 390540000, "lon": 1170520000, "ele": None}
    (p,) = group["participants"]
    # speed 17.68 m/s / 0.02 = 884; heading 90 / 0.0125 = 7200; secMark 40.9 s = 40900 ms
    assert (p["ptcType"], p["ptcId"], p["speed"], p["heading"], p["secMark"]) == (
        "motor", 16, 884, 7200, 40900)
    assert p["pos"] == {"lat": 390539000, "lon": 1170521000, "ele": None}
    bsm = json.loads(openv2x_payload("BSM", pack_frames([BSM, BSM]), rsu="B1", t_utc_ns=T0))
    assert bsm["rsuEsn"] == "B1" and [b["msgCnt"] for b in bsm["bsms"]] == [1, 1]


def _rsi_payload(*rtes: RoadTrafficEvent) -> dict:
    rsi = encode_frame(Rsi(5, bytes(8), Position3D(39.054, 117.052), rtes, timestamp_ns=T0))
    return json.loads(openv2x_payload("RSI", rsi, rsu="B1", t_utc_ns=T0))


def test_openv2x_rsi_types_follow_the_platform_code() -> None:
    # dandelion schemas/rsi_event.py: alertID, eventType, eventPriority int; eventSource the
    # enum's name (models/rsi_event.py); cerebrum drivers.py: 301 is ADVERSE_WEATHER_CODE,
    # 901 in neither list -> AbnormalVehicle
    datas = _rsi_payload(
        RoadTrafficEvent(None, rte_id=7, event_type=301, source=EventSource.POLICE,
                         pos=Position3D(39.0541, 117.0522), priority=5),
        RoadTrafficEvent(None, rte_id=8, event_type=901, source=EventSource.DETECTION,
                         pos=Position3D(39.0541, 117.0522), priority=3))["rsiDatas"]
    assert [(d["alertID"], d["eventClass"], d["eventSource"], d["eventPriority"])
            for d in datas] == [(7, "AdverseWeather", "police", 5 << 5),  # 160 = 0xa0
                                (8, "AbnormalVehicle", "detection", 3 << 5)]


def _down(**event: object) -> bytes:
    base: dict[str, object] = {"alertID": 1, "eventType": 707, "eventSource": "detection",
                               "eventPosition": {"lat": 319353853, "lon": 1188218217}}
    return json.dumps({"rsiDatas": [{**base, **event}]}).encode()


def test_openv2x_downlink_reads_both_platform_forms() -> None:
    # cerebrum function_test/rsi.tavern: event_id "1" (text), position 319353853 [1e-7 deg]
    (e,) = rsi_from_openv2x(_down(alertID="1"), now_ns=T0).events
    assert (e.rte_id, e.event_type, e.source) == (1, 707, EventSource.DETECTION)
    assert e.pos is not None
    assert (e.pos.lat_deg, e.pos.lon_deg) == pytest.approx((31.9353853, 118.8218217))
    # the single "rsi" object dandelion's handler read before its commit 95d7085
    old = json.dumps({"rsi": json.loads(_down())["rsiDatas"][0]}).encode()
    assert rsi_from_openv2x(old, now_ns=T0).events == (e,)
    # eventPriority: level 0..7, the octet's value (96 = 0x60: level 3) or its hex text
    for prio, level in ((5, 5), (96, 3), ("60", 3), (0, 0), (224, 7)):
        (e,) = rsi_from_openv2x(_down(eventPriority=prio), now_ns=T0).events
        assert e.priority == level, prio


@pytest.mark.parametrize("event", [
    {"eventPosition": {"lat": 39.05, "lon": 117.05}},  # degrees as floats: not 3.9e-6 deg
    {"eventPosition": {"lat": 319353853.0, "lon": 1188218217}},
    {"eventPosition": {"lat": 900000001, "lon": 1188218217}},  # beyond 90 deg
    {"eventPosition": {"lat": 319353853, "lon": -1800000001}},
    {"eventPosition": {"lat": True, "lon": 1188218217}},
    {"eventPriority": 96.0}, {"eventPriority": 100}, {"eventPriority": 256},
    {"alertID": "a1"}, {"eventType": 707.5},
])
def test_openv2x_downlink_rejects_what_it_cannot_read_exactly(event: dict) -> None:
    with pytest.raises(DecodeError, match="OpenV2X RSI"):
        rsi_from_openv2x(_down(**event), now_ns=T0)
