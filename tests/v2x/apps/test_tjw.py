"""Traffic jam warning: both rules (RSI events, queued vehicles in BSMs) with hand-computed
values, the whole chain through real RSI frames and decoded BSM columns, its configuration
by name, and its library cases on SUMO."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.v2x.apps._rsi_window import RSU, empty_bsm, hosts, pos, rsi_frame, window
from v2x.apps import DecodedBsm, TjwConfig, TrafficJamWarning, make_app
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import RoadTrafficEvent


def test_jam_events_by_hand() -> None:
    # host at the origin heading east at 10 m/s; warn within 300 m, cone 30 deg, jam speed
    # 10 km/h = 2.78 m/s
    tjw = TrafficJamWarning()
    r = tjw.evaluate_events(
        host_x=0.0, host_y=0.0, host_speed=10.0, host_heading_deg=90.0,
        event_x=np.array([250.0, 350.0, 0.0, -20.0, 200.0]),
        event_y=np.array([0.0, 0.0, -250.0, 0.0, 150.0]),
        event_radius_m=np.array([50.0, 40.0, 50.0, 50.0, 50.0]))
    # 0: 250 m dead ahead: warn (TTC 25 s); 1: 350 m > 300 and 350 - 40 > 0 outside its
    # radius: no; 2: on the crossing road, bearing 180 deg, 90 deg off: no; 3: 20 m behind
    # but within its 50 m radius (the host drives in it): warn; 4: bearing atan2(200, 150) =
    # 53 deg, 37 deg off > 30, 250 m away: no
    assert r.warn.tolist() == [True, False, False, True, False]
    assert r.ttc_s[0] == pytest.approx(25.0) and r.distance_m[4] == pytest.approx(250.0)
    # the host already crawls in the jam (2 m/s <= 2.78): no warning
    assert not tjw.evaluate_events(host_x=0.0, host_y=0.0, host_speed=2.0,
                                   host_heading_deg=90.0, event_x=250.0, event_y=0.0).warn.any()
    assert not tjw.evaluate_events(host_x=0.0, host_y=0.0, host_speed=10.0,
                                   host_heading_deg=90.0, event_x=250.0, event_y=0.0,
                                   in_force=False).warn.any()


def test_queued_vehicles_by_hand() -> None:
    # host 0 at the origin heading east at 15 m/s; remotes (x, y, speed, heading)
    rem = np.array([
        [50.0, 0.0, 1.0, 90.0],    # queued: ahead 50 m, on its line, 3.6 km/h
        [60.0, 3.5, 0.0, 90.0],    # queued: lateral 3.5 <= 5.25
        [70.0, -3.5, 2.0, 90.0],   # queued: 7.2 km/h < 10
        [80.0, 0.0, 5.0, 90.0],    # 18 km/h: moving, not queued
        [90.0, 0.0, 0.0, 270.0],   # heading the other way: not queued
        [-20.0, 0.0, 0.0, 90.0],   # behind: not queued
        [100.0, 10.0, 0.0, 90.0],  # lateral 10 m > 5.25: not queued
        [301.0, 0.0, 0.0, 90.0],   # beyond 300 m: not queued
    ])
    tjw = TrafficJamWarning()
    r = tjw.evaluate_queue(host=np.zeros(8, np.int64), host_x=0.0, host_y=0.0,
                           host_speed=15.0, host_heading_deg=90.0, remote_x=rem[:, 0],
                           remote_y=rem[:, 1], remote_speed=rem[:, 2],
                           remote_heading_deg=rem[:, 3])
    assert r.ahead.tolist() == [True, True, True] + [False] * 5
    assert r.warn.tolist() == [True, True, True] + [False] * 5  # 3 queued >= min_queued
    assert r.distance_m[1] == pytest.approx(math.hypot(60, 3.5))
    # host 1 sees only the first two: 2 < 3, no jam; a host in the jam (2 m/s) is not warned
    r = tjw.evaluate_queue(host=np.array([0, 0, 0, 1, 1]), host_x=0.0, host_y=0.0,
                           host_speed=np.array([2.0, 2.0, 2.0, 15.0, 15.0]),
                           host_heading_deg=90.0, remote_x=rem[[0, 1, 2, 0, 1], 0],
                           remote_y=rem[[0, 1, 2, 0, 1], 1], remote_speed=0.0,
                           remote_heading_deg=90.0)
    assert r.ahead.all() and not r.warn.any()
    two = TrafficJamWarning(TjwConfig(min_queued=2))
    assert two.evaluate_queue(host=np.array([1, 1]), host_x=0.0, host_y=0.0, host_speed=15.0,
                              host_heading_deg=90.0, remote_x=rem[:2, 0], remote_y=rem[:2, 1],
                              remote_speed=0.0, remote_heading_deg=90.0).warn.all()


def _bsm(x: list[float], y: list[float], speed: list[float], heading: list[float],
         sender: list[int]) -> DecodedBsm:
    n = len(x)
    z = np.zeros(n)
    return DecodedBsm(sender=np.array(sender, np.int64), x=np.array(x), y=np.array(y),
                      speed=np.array(speed), heading_deg=np.array(heading), accel=z,
                      length=z + 4.8, width=z + 1.8, hard_braking=np.zeros(n, bool),
                      brake=np.zeros(n, bool), sec_mark=np.zeros(n, np.int64),
                      t_ns=np.zeros(n, np.int64))


def test_tjw_through_rsi_frames_and_bsms(frame: GeoFrame) -> None:
    """An RSI of RSU 0 with a jam (707) at (200, -1.75) and road works (401) at (50, -1.75);
    three queued BSMs ahead of host 1."""
    jam = RoadTrafficEvent(rte_id=0, event_type=707, pos=pos(frame, 200.0, -1.75),
                           radius_m=50.0)
    works = RoadTrafficEvent(rte_id=1, event_type=401, pos=pos(frame, 50.0, -1.75),
                             radius_m=20.0)
    f = rsi_frame(frame, events=(jam, works))
    bsm = _bsm([100.0, 108.0, 116.0], [-1.75] * 3, [0.0] * 3, [90.0] * 3, [7, 8, 9])
    # host 0 (node 4) eastbound at x = -50: the jam 250 m ahead (the road works are not a
    # jam: ignored); host 1 (node 5) eastbound at x = -150 hears no RSI but three queued
    # BSMs 250..266 m ahead; host 2 (node 6) westbound at x = 100 hears all of it: the jam
    # (100 m east, outside its 50 m radius) and the queue are behind it. (At x = 300 the jam
    # would be 100 m ahead of it: a position-only event cannot tell carriageways apart.)
    hs = hosts(x=[-50.0, -150.0, 100.0], y=[-1.75, -1.75, 1.75], speed=[14.0, 14.0, 14.0],
               heading_deg=[90.0, 90.0, 270.0], index=[4, 5, 6])
    w = window(frame, hs, [f], [(0, 0), (2, 0)], bsm=bsm,
               bsm_links=[(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)])
    a = TrafficJamWarning().assess(w)
    # the RSI assessments (host 0, host 2), then one per queued BSM of host 1 (host 2's BSMs
    # are behind it: not assessed)
    assert a.link.tolist() == [0, 1, 2, 3, 4]
    assert a.target.tolist() == [RSU, RSU, 7, 8, 9]
    assert a.warn.tolist() == [True, False, True, True, True]
    np.testing.assert_allclose(a.gap_m, [250.0, math.hypot(100, 3.5), 250.0, 258.0, 266.0],
                               atol=0.05)
    # RSI off: only the BSM source; BSM off: only the RSI source
    assert TrafficJamWarning(TjwConfig(use_rsi=False)).assess(w).target.tolist() == [7, 8, 9]
    assert TrafficJamWarning(TjwConfig(use_bsm=False)).assess(w).target.tolist() == [RSU, RSU]
    empty = window(frame, hs, [], [], bsm=empty_bsm())
    assert TrafficJamWarning().assess(empty).n == 0


def test_tjw_is_configured_by_name() -> None:
    app = make_app("tjw", {"event_types": [707, 708], "min_queued": 5})
    assert isinstance(app, TrafficJamWarning) and app.config.min_queued == 5
    assert app.config.event_types == (707, 708)
    with pytest.raises(ConfigError, match="applications.tjw.min_queued"):
        make_app("tjw", {"min_queued": 0})


CASES = {
    "xiqing-tjw-rsi-jam-ahead-50kmh": ("apps.TJW.first_warning_s", 3.7),
    "xiqing-tjw-jam-on-crossing-road": ("apps.TJW.warnings", 0),
}


@pytest.mark.sumo
@pytest.mark.parametrize("case", sorted(CASES))
def test_tjw_cases_pass(case: str, tmp_path: Path) -> None:
    """The positive case warns at the hand-computed step (the jam 300 m ahead at 3.7 s, the
    RSI event every 100 ms); the jam on the crossing road warns nobody."""
    from v2x.cli import run_scenario

    res = run_scenario(case, out_dir=tmp_path, bus="memory")
    assert res.passed, [v for v in res.evaluation.verdicts if not v.passed]
    kpi, want = CASES[case]
    assert res.evaluation.kpis[kpi] == pytest.approx(want)
