"""The RSM source's frames (columns -> RsmFrameEncoder) against the value path it replaced:
``encode_frame`` of the ``Rsm`` values of :meth:`RsmSource.messages`, step by step on the same
draws; the JSON payload; perception's draws. No SUMO: a free-standing RSU."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from roadside import RsmConfig, RsmSource, perceive
from roadside._rsm import Sensors, candidates
from roadside._sources import RsuContext
from v2x.geo import GeoFrame
from v2x.messages import Rsm, encode_frame, frame_to_json, to_json_bytes
from v2x.sim import PERSON_NODE_BASE, RSU_NODE_BASE, RoadUsers

#: 2026-06-01 00:00:12.345 UTC [ns]
UTC0_NS = 1_780_272_012_345_000_000


def _geo() -> GeoFrame:
    e0, n0 = GeoFrame().project(39.05583, 117.055)  # network (0, 0) at Tianjin South
    return GeoFrame(offset_x=-e0, offset_y=-n0)


def _source(cfg: RsmConfig, *, payload: str = "uper", seed: int = 2) -> RsmSource:
    return RsmSource(cfg, RsuContext(
        name="R1", index=0, station_id=(RSU_NODE_BASE + 3).to_bytes(8, "big"), x=10.0,
        y=-20.0, junction=None, tls=None, conn=None, net=None, geo=_geo(), intersection_ids={},
        payload=payload, msg_cnt=120, rng=np.random.default_rng(seed)))


def _users(rng: np.random.Generator, n: int, half: float = 160.0) -> RoadUsers:
    """``n`` road users around the RSU: vehicles of several classes (-1 unknown, 300 not a
    BasicVehicleClass), pedestrians (no acceleration), some stopped, half equipped; nodes in
    a shuffled order."""
    ped = rng.random(n) < 0.3
    node = np.where(ped, PERSON_NODE_BASE + rng.permutation(n), rng.permutation(n))
    return RoadUsers(
        node=node.astype(np.int64), ptc_type=np.where(ped, 3, rng.choice([1, 2], n)).astype(
            np.int8),
        x=10.0 + rng.uniform(-half, half, n), y=-20.0 + rng.uniform(-half, half, n),
        speed=np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0, 30, n)),
        heading_deg=rng.uniform(0, 360, n),
        accel=np.where(ped, math.nan, rng.uniform(-6, 3, n)),
        length=np.where(ped, 0.3, rng.uniform(3.5, 18, n)),
        width=np.where(ped, 0.5, rng.uniform(1.6, 2.6, n)),
        classification=np.where(ped, 82, rng.choice([-1, 10, 20, 60, 300], n)).astype(np.int16),
        equipped=~ped & (rng.random(n) < 0.5))


@pytest.mark.parametrize("cfg", [
    RsmConfig(),
    RsmConfig(which="all", detection_probability=1.0, source="lidar", position_sigma_m=0.0),
    RsmConfig(range_m=300.0, position_sigma_m=3.0, detection_probability=0.5),
])
def test_frames_equal_encode_frame_of_the_messages(cfg: RsmConfig) -> None:
    # two sources on the same seed draw the same: one sends frames, the other's messages go
    # through the value path (Participant objects + asn1tools) with the same msgCnt
    fast, slow = _source(cfg), _source(cfg)
    rng = np.random.default_rng(5)
    cnt = 120
    sent = 0
    for step in range(60):
        users = _users(rng, int(rng.choice([0, 1, 2, 5, 40, 400])))
        t_ns = step * 100_000_000
        utc_ns = UTC0_NS + t_ns + int(rng.integers(0, 60_000)) * 1_000_000
        out = fast.transmit(t_ns, utc_ns, users)
        msgs = slow.messages(t_ns, utc_ns, users)
        want = []
        for m in msgs:
            want.append(encode_frame(dataclasses.replace(m, msg_cnt=cnt)))
            cnt = (cnt + 1) % 128
        assert [o.payload for o in out] == want
        assert [(o.msg_type, o.msg_cnt, o.size_bytes, o.frame) for o in out] == [
            ("RSM", (cnt - len(want) + i) % 128, len(f), None) for i, f in enumerate(want)]
        sent += len(out)
    assert sent > 60  # RSMs were sent, of up to 16 participants each
    assert fast.transmit(50_000_000, UTC0_NS, _users(rng, 40)) == []  # not an RSM step


def test_json_payload_is_the_json_of_the_frames_message() -> None:
    cfg = RsmConfig(which="all")
    fast, slow = _source(cfg, payload="json"), _source(cfg)
    rng = np.random.default_rng(8)
    for step in range(10):
        users = _users(rng, 30)
        t_ns = step * 100_000_000
        out = fast.transmit(t_ns, UTC0_NS + t_ns, users)
        msgs = slow.messages(t_ns, UTC0_NS + t_ns, users)
        assert len(out) == len(msgs) > 0
        for o, m in zip(out, msgs, strict=True):
            m = dataclasses.replace(m, msg_cnt=o.msg_cnt)
            assert o.frame == encode_frame(m) and o.size_bytes == len(o.frame)
            assert o.payload == to_json_bytes(frame_to_json(m)["rsmFrame"])


def test_perception_without_candidates_draws_nothing() -> None:
    # no user within range_m: the generator is left as it was (the recording of a run depends
    # on every draw)
    rng = np.random.default_rng(4)
    users = _users(np.random.default_rng(1), 50, half=20.0)
    before = rng.bit_generator.state
    seen = perceive(users, 5000.0, 5000.0, RsmConfig(), rng)
    assert seen.rows.size == 0 and rng.bit_generator.state == before
    # with candidates: k uniforms, then 2 normals per detected user (x then y)
    ref = np.random.default_rng(4)
    cfg = RsmConfig(which="all", detection_probability=0.5, position_sigma_m=1.0)
    seen = perceive(users, 10.0, -20.0, cfg, rng)
    hit = ref.random(users.n) < 0.5
    det = np.flatnonzero(hit)[np.argsort(users.node[hit], kind="stable")]
    noise = ref.normal(0.0, 1.0, (det.size, 2))
    assert np.array_equal(seen.rows, det)
    assert np.array_equal(seen.x, users.x[det] + noise[:, 0])
    assert np.array_equal(seen.y, users.y[det] + noise[:, 1])
    assert rng.bit_generator.state == ref.bit_generator.state


def test_messages_are_values_of_the_perceived_users() -> None:
    # messages() keeps its public form: Rsm values with msgCnt 0, 16 participants each
    src = _source(RsmConfig(which="all", detection_probability=1.0))
    users = _users(np.random.default_rng(3), 40, half=50.0)
    msgs = src.messages(0, UTC0_NS, users)
    assert all(isinstance(m, Rsm) and m.msg_cnt == 0 for m in msgs)
    assert [len(m.participants) for m in msgs] == [16, 16, 8]
    ids = [p.ptc_id for m in msgs for p in m.participants]
    assert ids == [1 + int(v) % 65535 for v in np.sort(users.node)]
    assert {p.sec_mark_s for m in msgs for p in m.participants} == {12.345}


@pytest.mark.parametrize("payload", ["uper", "json"])
def test_queued_steps_drain_to_the_frames_sent_step_by_step(payload: str) -> None:
    # two sources on the same seed: one transmits every step, the other queues 7 steps at a
    # time and drains; the same draws, msgCnts and frames in the same order
    cfg = RsmConfig(range_m=300.0)
    now, later = _source(cfg, payload=payload), _source(cfg, payload=payload)
    rng = np.random.default_rng(9)
    want, got, counts = [], [], []
    for step in range(35):
        users = _users(rng, int(rng.choice([0, 3, 40, 400])))
        t_ns, utc_ns = step * 100_000_000, UTC0_NS + step * 100_000_000
        sent = now.transmit(t_ns, utc_ns, users)
        want += sent
        counts.append(later.queue(t_ns, utc_ns, users))
        assert counts[-1] == len(sent)
        if step % 7 == 6:
            got += later.drain()
    assert got == want
    assert sum(counts) > 35 and max(counts) > 1  # several frames in a step
    assert later.drain() == []


def test_candidates_of_several_sensors_in_one_pass() -> None:
    # users at x = 0, 100, 200, 300 on y = 0 (the second equipped); sensors at x = 0 and
    # x = 250 with range 120 m: sensor 0 reaches x = 0 and 100, sensor 1 x = 200 and 300
    # (|300 - 250| = 50); unequipped only, sensor 0 keeps x = 0; a sensor far away, none
    users = RoadUsers(
        node=np.arange(4, dtype=np.int64), ptc_type=np.ones(4, np.int8),
        x=np.array([0.0, 100.0, 200.0, 300.0]), y=np.zeros(4), speed=np.zeros(4),
        heading_deg=np.zeros(4), accel=np.zeros(4), length=np.full(4, 4.0),
        width=np.full(4, 2.0), classification=np.full(4, 10, np.int16),
        equipped=np.array([False, True, False, False]))
    xs, ys = np.array([0.0, 250.0, 5000.0]), np.zeros(3)
    got = candidates(users, xs, ys, RsmConfig(range_m=120.0, which="all"))
    assert [c.tolist() for c in got] == [[0, 1], [2, 3], []]
    got = candidates(users, xs, ys, RsmConfig(range_m=120.0))
    assert [c.tolist() for c in got] == [[0], [2, 3], []]
    assert all(c.dtype == np.int64 for c in got)
    # Sensors: the same per sensor, computed once for the same users value
    sensors = Sensors(RsmConfig(range_m=120.0))
    assert [sensors.add(x, 0.0) for x in xs] == [0, 1, 2]
    first = sensors.candidates(users, 1)
    assert first.tolist() == [2, 3] and sensors.candidates(users, 1) is first
    assert sensors.candidates(users, 0).tolist() == [0]


def test_sources_of_rsus_built_together_perceive_as_alone() -> None:
    # two RSUs' RSM sources sharing their sensors draw and send what each sends alone
    cfg = RsmConfig(range_m=200.0)
    shared: dict = {}

    def source(x: float, seed: int, shared: dict) -> RsmSource:
        return RsmSource(cfg, RsuContext(
            name="R", index=0, station_id=bytes(8), x=x, y=-20.0, junction=None, tls=None,
            conn=None, net=None, geo=_geo(), intersection_ids={}, payload="uper",
            msg_cnt=0, rng=np.random.default_rng(seed), shared=shared))

    together = [source(10.0, 1, shared), source(150.0, 2, shared)]
    alone = [source(10.0, 1, {}), source(150.0, 2, {})]
    rng = np.random.default_rng(8)
    for step in range(10):
        users = _users(rng, 200)
        for a, b in zip(together, alone, strict=True):
            t = step * 100_000_000
            assert a.transmit(t, UTC0_NS + t, users) == b.transmit(t, UTC0_NS + t, users)
