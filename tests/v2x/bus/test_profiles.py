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
    topic_qos,
)
from v2x.errors import ConfigError
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
    # 401 is in cerebrum's ABNORMAL_TRAFFIC_CODE; position absolute [1e-7 deg]
    assert (d["alertID"], d["eventType"], d["eventClass"], d["eventDescription"]) == (
        "0", 401, "AbnormalTraffic", "road works")
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
