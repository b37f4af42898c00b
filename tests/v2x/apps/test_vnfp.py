"""Near-field payment: the answer's text, the RSU's end (zone, requests heard, answers sent),
the OBU's rule through real RSI frames, its configuration by name, and the library cases on
SUMO with their completion and round-trip KPIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from roadside import MESSAGE_SOURCES, PaymentRsiSource, RsiConfig, RsiSign, RsiSource
from roadside._sources import RsuContext
from tests.v2x.apps._rsi_window import RSU, hosts, path, pos, rsi_frame, window
from v2x.apps import (
    PAYMENT_ANSWER_EVENT_TYPE,
    PAYMENT_ZONE_SIGN_TYPE,
    NearFieldPayment,
    VnfpConfig,
    make_app,
    payment_answer_text,
    read_payment_answer,
)
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import RoadTrafficEvent, RoadTrafficSign, Rsi, decode_frame
from v2x.sim import RoadUsers

MS = 1_000_000


def test_answer_text_round_trips() -> None:
    text = payment_answer_text(5, 12345)
    assert text == "VNFP 0000000000000005 12345"
    assert read_payment_answer(text) == (5, 12345)
    assert read_payment_answer(None) is None
    assert read_payment_answer("VNFP 5 12345") is None  # not 16 hex digits
    assert read_payment_answer("road works") is None


def _ctx(frame: GeoFrame) -> RsuContext:
    return RsuContext(name="rsu-road", index=0, station_id=RSU.to_bytes(8, "big"), x=0.0,
                      y=10.0, junction=None, tls=None, conn=None, net=None, geo=frame,
                      intersection_ids={}, payload="uper", msg_cnt=0,
                      rng=np.random.default_rng(0))


def test_the_rsu_answers_the_requests_it_heard_in_its_zone(frame: GeoFrame) -> None:
    zone = RsiSign(sign_type=PAYMENT_ZONE_SIGN_TYPE, path=((-100.0, -1.75), (100.0, -1.75)),
                   radius_m=1.75, description="ETC")
    src = MESSAGE_SOURCES["RSI"](_ctx(frame), RsiConfig(signs=(zone,)))
    assert isinstance(src, PaymentRsiSource) and src.listens
    # a plain sign makes a plain RSI source
    plain = MESSAGE_SOURCES["RSI"](_ctx(frame), RsiConfig(signs=(RsiSign(sign_type=38, x=0.0,
                                                                            y=0.0),)))
    assert type(plain) is RsiSource
    # zone: within 1.75 m of y = -1.75 between x = -100 and 100 (and round its ends)
    assert src.in_zone(np.array([0.0, 0.0, -101.0, -102.0, 50.0]),
                       np.array([-1.75, 1.75, -1.75, -1.75, -3.4])).tolist() == [
        True, False, True, False, True]
    # vehicles 3 and 4 heard at 7.2 s + 1 ms; 4 is on the other carriageway (3.5 m off)
    src.heard(sender=np.array([3, 4]), x=np.array([-101.0, 0.0]), y=np.array([-1.75, 1.75]),
              sec_mark=np.array([7200, 7200]), received_ns=np.array([7201, 7201]) * MS)
    users = RoadUsers.empty()
    # the 7.2 s transmit has passed (reception at 7.201 s): nothing due then
    assert src.transmit(7200 * MS, 7200 * MS, users) == []
    out = src.transmit(7300 * MS, 7300 * MS, users)
    assert [o.msg_type for o in out] == ["RSI"] and src.answered == 1

    msg = decode_frame(out[0].payload, now_ns=7300 * MS)
    assert isinstance(msg, Rsi) and not msg.signs
    assert [(e.event_type, e.description) for e in msg.events] == [
        (PAYMENT_ANSWER_EVENT_TYPE, "VNFP 0000000000000003 7200")]
    assert src.transmit(7400 * MS, 7400 * MS, users) == []  # answered once per request
    # nine requests at once: two RSIs (8 events each at most), msgCnt one sequence
    src.heard(sender=np.arange(10, 19), x=np.zeros(9), y=np.full(9, -1.75),
              sec_mark=np.full(9, 7500), received_ns=np.full(9, 7501 * MS))
    out = src.transmit(7600 * MS, 7600 * MS, users)
    assert [len(decode_frame(o.payload, now_ns=7600 * MS).events) for o in out] == [8, 1]
    assert [o.msg_cnt for o in out] == [1, 2]  # the 7.3 s answer took 0
    assert src.answered == 10
    # the zone sign (every 1 s) continues the same msgCnt sequence
    sign = src.transmit(8000 * MS, 8000 * MS, users)
    assert [(o.msg_cnt, len(decode_frame(o.payload, now_ns=8000 * MS).signs)) for o in sign] \
        == [(3, 1)]


def test_the_obu_completes_on_an_answer_naming_it_in_a_zone_it_heard(frame: GeoFrame) -> None:
    zone = RoadTrafficSign(rts_id=0, sign_type=PAYMENT_ZONE_SIGN_TYPE, pos=pos(frame, 0.0, -1.75),
                           reference_paths=(path(frame, [(-100.0, -1.75), (100.0, -1.75)],
                                                 1.75),))
    answers = tuple(RoadTrafficEvent(rte_id=k, event_type=PAYMENT_ANSWER_EVENT_TYPE,
                                     description=payment_answer_text(v, 7200))
                    for k, v in enumerate((5, 7)))
    other = RoadTrafficEvent(rte_id=2, event_type=401, description=payment_answer_text(9, 1))
    f_zone = rsi_frame(frame, signs=(zone,))
    f_answer = rsi_frame(frame, events=(*answers, other))
    # nodes 5 and 7 are answered, node 9 is not (its "answer" is a road works event); node 5
    # heard the zone (frame 0, in this window), node 7 did not: only node 5 completes
    hs = hosts(x=[0.0, 0.0, 0.0], y=[-1.75] * 3, speed=[13.9] * 3, heading_deg=[90.0] * 3,
               index=[5, 7, 9])
    app = NearFieldPayment()
    a = app.assess(window(frame, hs, [f_zone, f_answer], [(0, 0), (0, 1), (1, 1), (2, 1)]))
    assert a.link.tolist() == [1, 2] and a.target.tolist() == [RSU, RSU]
    assert a.warn.tolist() == [True, False]
    assert np.isnan(a.ttc_s).all() and np.isnan(a.gap_m).all()
    # node 7 hears the zone later: its next answer completes it
    a = app.assess(window(frame, hs, [f_zone, f_answer], [(1, 0), (1, 1)]))
    assert a.warn.tolist() == [True]


def test_vnfp_is_configured_by_name() -> None:
    app = make_app("vnfp", {"zone_sign_type": 301})
    assert isinstance(app, NearFieldPayment) and app.config.zone_sign_type == 301
    assert VnfpConfig().answer_event_type == PAYMENT_ANSWER_EVENT_TYPE
    with pytest.raises(ConfigError, match="applications.vnfp.zone_sign_type"):
        make_app("vnfp", {"zone_sign_type": 70000})


@pytest.mark.sumo
def test_vnfp_cases_complete_with_the_hand_computed_round_trip(tmp_path: Path) -> None:
    """In the zone from 7.2 s, the RSU decodes that BSM (ideal channel, 1 ms), answers at the
    next step: completed at 7.3 s, round trip 100 ms + 1 ms. The host on the other
    carriageway is never served."""
    from v2x.cli import run_scenario

    res = run_scenario("xiqing-vnfp-pays-in-zone-50kmh", out_dir=tmp_path / "pay",
                       bus="memory")
    k = res.evaluation.kpis
    assert res.passed
    assert k["apps.VNFP.completed"] == 1
    assert k["apps.VNFP.first_warning_s"] == pytest.approx(7.3)
    assert k["apps.VNFP.latency_ms"] == pytest.approx(101.0)
    res = run_scenario("xiqing-vnfp-never-in-zone", out_dir=tmp_path / "none", bus="memory")
    assert res.passed and res.evaluation.kpis["apps.VNFP.completed"] == 0
