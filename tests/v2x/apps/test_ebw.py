"""Emergency brake warning: the rule on hand-computed links, then from real BSM frames (the
hardBraking bit set by the OBU's BSM fields, UPER-encoded and batch-decoded)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pydantic
import pytest

from v2x.apps import EbwConfig, EmergencyBrakeWarning
from v2x.geo import GeoFrame
from v2x.messages import (
    HARD_BRAKING_BIT,
    BsmBatch,
    BsmFields,
    decode_bsm_frames,
    decode_heading,
    encode_bsm_rows,
    sec_mark,
)

HB = 1 << HARD_BRAKING_BIT  # 128
NOW = 30_000  # ms within the minute


def test_config_defaults_and_validation() -> None:
    cfg = EbwConfig()
    assert (cfg.enabled, cfg.range_m, cfg.max_heading_diff_deg, cfg.max_lateral_m,
            cfg.max_age_s) == (True, 150.0, 30.0, 5.25, 0.5)
    for bad in ({"range_m": 0}, {"max_heading_diff_deg": 200}, {"max_lateral_m": -1},
                {"max_age_s": float("inf")}, {"range": 100}):
        with pytest.raises(pydantic.ValidationError):
            EbwConfig.model_validate(bad)


def test_the_rule_by_hand() -> None:
    # ego at the origin heading north; remotes described per column
    rx = np.array([0, 3.5, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    ry = np.array([50, 50, 50, -20, 50, 151, 150, 50, 50, 50, 50, 50])
    rh = np.array([0, 0, 0, 0, 180, 0, 0, 30, 31, 0, 0, 0])
    ev = np.array([HB, HB, HB, HB, HB, HB, HB, HB, HB, 1, HB | 1, HB])
    sm = np.array([NOW - 100] * 11 + [NOW - 600])
    r = EmergencyBrakeWarning().evaluate(ego_x=0.0, ego_y=0.0, ego_heading_deg=0.0,
                                         remote_x=rx, remote_y=ry, remote_heading_deg=rh,
                                         remote_events=ev, remote_sec_mark=sm,
                                         now_sec_mark=NOW)
    assert r.warn.tolist() == [
        True,   # hard braking 50 m ahead in the ego lane
        True,   # ... in the adjacent lane (3.5 m to the right)
        False,  # two lanes over (7 m > 5.25 m)
        False,  # behind
        False,  # oncoming (heading 180)
        False,  # 151 m: beyond range
        True,   # 150 m: at the range
        True,   # heading 30 deg off
        False,  # 31 deg off
        False,  # hazard lights only: no hard braking
        True,   # hard braking with other bits
        False,  # 0.6 s old: stale
    ]
    assert r.hard_braking.tolist() == [True] * 9 + [False, True, True]
    np.testing.assert_allclose(r.distance_m[:3], [50, np.hypot(3.5, 50), np.hypot(7, 50)])
    np.testing.assert_allclose(r.longitudinal_m[:4], [50, 50, 50, -20], atol=1e-12)
    np.testing.assert_allclose(r.lateral_m[:3], [0, 3.5, 7], atol=1e-12)
    np.testing.assert_allclose(r.age_s, [0.1] * 11 + [0.6])


def test_geometry_follows_the_ego_heading() -> None:
    # ego heading east at (100, 200): a remote at (150, 196.5) is 50 m ahead, 3.5 m right;
    # at (150, 206) 6 m left (beyond 5.25 m); at (60, 200) behind
    r = EmergencyBrakeWarning().evaluate(
        ego_x=100.0, ego_y=200.0, ego_heading_deg=90.0, remote_x=[150, 150, 60],
        remote_y=[196.5, 206, 200], remote_heading_deg=[95, 90, 90], remote_events=HB,
        remote_sec_mark=NOW, now_sec_mark=NOW)
    np.testing.assert_allclose(r.longitudinal_m, [50, 50, -40], atol=1e-9)
    np.testing.assert_allclose(r.lateral_m, [3.5, -6, 0], atol=1e-9)
    assert r.warn.tolist() == [True, False, False]
    # a wider lateral reach takes the lane two over
    wide = EmergencyBrakeWarning(EbwConfig(max_lateral_m=7.0)).evaluate(
        ego_x=100.0, ego_y=200.0, ego_heading_deg=90.0, remote_x=[150], remote_y=[206],
        remote_heading_deg=[90], remote_events=HB, remote_sec_mark=NOW, now_sec_mark=NOW)
    assert wide.warn.tolist() == [True]


def test_age_wraps_at_the_minute_and_refuses_the_future() -> None:
    # now 0.05 s into a minute: a secMark of 59.95 s is 0.1 s old; one 0.1 s ahead of now
    # (a clock error) is not fresh; 65535 (unavailable) neither; NaN positions never warn
    r = EmergencyBrakeWarning().evaluate(
        ego_x=0.0, ego_y=0.0, ego_heading_deg=0.0, remote_x=[0, 0, 0, np.nan],
        remote_y=[20, 20, 20, 20], remote_heading_deg=0.0, remote_events=HB,
        remote_sec_mark=[59_950, 150, 65_535, 50], now_sec_mark=50)
    np.testing.assert_allclose(r.age_s[:3], [0.1, 59.9, np.nan])
    assert r.warn.tolist() == [True, False, False, False]
    with pytest.raises(ValueError, match="shape"):
        EmergencyBrakeWarning().evaluate(
            ego_x=np.zeros(2), ego_y=0.0, ego_heading_deg=0.0, remote_x=np.zeros(3),
            remote_y=0.0, remote_heading_deg=0.0, remote_events=0, remote_sec_mark=0,
            now_sec_mark=0)


def test_from_real_bsm_frames() -> None:
    """Three vehicles northbound on x = 0: host at y = 0, a lead 40 m ahead braking at 5 m/s²
    (> 0.4 g = 3.92 m/s²: hardBraking), a second one 80 m ahead braking at 3 m/s² (not hard).
    Their BSMs go through the batch codec; the host evaluates the decoded fields."""
    geo = GeoFrame(offset_x=-500_000.0, offset_y=-4_320_000.0)  # UTM 50N near 39 N, 117 E
    start = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    t_ns = 12_300_000_000
    x = np.zeros(3)
    y = np.array([0.0, 40.0, 80.0])
    fields = BsmFields.encode(x=x, y=y, geo=geo, speed=np.full(3, 15.0),
                              heading_deg=np.zeros(3), accel=np.array([0.0, -5.0, -3.0]),
                              width=np.full(3, 1.8), length=np.full(3, 4.5),
                              height=np.full(3, 1.5), classification=np.full(3, 10),
                              brake=np.array([False, True, True]))
    sm = int(sec_mark(start, t_ns))
    batch = BsmBatch.assemble(fields, np.arange(3), sender=np.arange(3),
                              msg_cnt=np.zeros(3, np.int64), sec_mark=sm)
    dec, ok, errors = decode_bsm_frames(encode_bsm_rows(batch))
    assert ok.all() and not errors
    assert dec.events.tolist() == [0, HB, 0]  # the hardBraking bit survives the codec
    rx, ry = geo.to_xy(dec.lat * 1e-7, dec.lon * 1e-7)
    # the host receives the two others' BSMs 20 ms later
    now = int(sec_mark(start, t_ns + 20_000_000))
    r = EmergencyBrakeWarning().evaluate(
        ego_x=0.0, ego_y=0.0, ego_heading_deg=0.0, remote_x=rx[1:], remote_y=ry[1:],
        remote_heading_deg=decode_heading(dec.heading[1:]), remote_events=dec.events[1:],
        remote_sec_mark=dec.sec_mark[1:], now_sec_mark=now)
    assert r.warn.tolist() == [True, False]
    np.testing.assert_allclose(r.distance_m, [40, 80], atol=0.02)
    np.testing.assert_allclose(r.age_s, [0.02, 0.02])
