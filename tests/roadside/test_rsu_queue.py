"""RoadsideUnit.queue / drain: messages of queued steps come back per step in source order,
the RSM frames encoded at drain equal what transmit sends step by step; a unit without
queue / drain is adapted by v2x.sim.queuing. No SUMO."""

from __future__ import annotations

import datetime as dt

import numpy as np

from roadside import RoadsideUnit, RsmConfig, RsmSource
from tests.roadside.test_rsm_frames import UTC0_NS, _source, _users
from v2x.sim import Outgoing, RoadUsers
from v2x.sim._types import queuing

START_NS = UTC0_NS  # the RSU's start instant [ns]


class _Every:
    """A source sending one message ``tag`` at every multiple of ``period_ns``."""

    msg_type = "RSI"

    def __init__(self, tag: bytes, period_ns: int) -> None:
        self.tag, self.period_ns, self.sent = tag, period_ns, 0

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        if t_ns % self.period_ns:
            return []
        self.sent += 1
        return [Outgoing("RSI", self.sent % 128, self.tag + b"%d" % (utc_ns - START_NS), 3)]


def _unit(rsm: RsmSource) -> RoadsideUnit:
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=UTC0_NS // 1000)
    return RoadsideUnit(name="R1", x=10.0, y=-20.0, antenna_height_m=6.0,
                        sources=[_Every(b"a", 200_000_000), rsm, _Every(b"b", 300_000_000)],
                        start=start)


def test_queued_steps_drain_per_step_in_source_order() -> None:
    cfg = RsmConfig(range_m=300.0)
    now, later = _unit(_source(cfg)), _unit(_source(cfg))
    rng = np.random.default_rng(3)
    want, counts = [], []
    for step in range(6):
        users = _users(rng, 60)
        t_ns = step * 100_000_000
        want.append(now.transmit(t_ns, users))
        counts.append(later.queue(t_ns, users))
    got = later.drain()
    assert got == want
    assert counts == [len(m) for m in want]
    # step 0: a, the RSMs, b; step 1: RSMs only; step 2: a, RSMs; step 3: RSMs, b
    assert [[m.msg_type for m in msgs if m.msg_type != "RSM"] for msgs in got][:4] == [
        ["RSI", "RSI"], [], ["RSI"], ["RSI"]]
    assert got[0][0].payload == b"a0" and got[0][-1].payload == b"b0"
    assert got[3][-1].payload == b"b300000000"
    assert all(m.msg_type == "RSM" for m in got[1]) and got[1]
    assert later.drain() == []


def test_a_unit_without_queue_sends_at_every_step() -> None:
    class Plain:  # the Roadside protocol alone
        name, x, y, antenna_height_m = "P", 0.0, 0.0, 5.0

        def transmit(self, t_ns: int, users: RoadUsers, /) -> list[Outgoing]:
            return [Outgoing("MAP", t_ns // 100_000_000, b"m", 1)] * (t_ns // 100_000_000)

    q = queuing(Plain())
    assert [q.queue(t, RoadUsers.empty()) for t in (0, 100_000_000, 200_000_000)] == [0, 1, 2]
    assert q.drain() == [[], [Outgoing("MAP", 1, b"m", 1)], [Outgoing("MAP", 2, b"m", 1)] * 2]
    assert q.drain() == []
    unit = _unit(_source(RsmConfig()))
    assert queuing(unit) is unit
