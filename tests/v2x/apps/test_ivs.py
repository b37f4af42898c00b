"""In-vehicle signage: the rule with hand-computed values, the whole chain through real RSI
frames, its configuration by name, and its library cases on SUMO (with HLW's and SLW's)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.v2x.apps._rsi_window import RSU, hosts, path, pos, rsi_frame, window
from v2x.apps import InVehicleSignage, IvsConfig, make_app
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import RoadTrafficSign


def test_ivs_rule_by_hand() -> None:
    # host at the origin heading east (90 deg) at 10 m/s; display 150 m, cone 30 deg,
    # path heading within 45 deg
    ivs = InVehicleSignage()
    inf, nan = math.inf, math.nan
    r = ivs.evaluate(
        host_x=0.0, host_y=0.0, host_speed=10.0, host_heading_deg=90.0,
        sign_x=np.array([100.0, 160.0, 100.0, -50.0, 100.0, -50.0, 120.0]),
        sign_y=np.array([0.0, 0.0, 70.0, 0.0, 3.5, 0.0, 0.0]),
        path_distance_m=np.array([inf, inf, inf, inf, 3.5, 0.5, 50.0]),
        path_radius_m=np.array([nan, nan, nan, nan, 1.75, 1.75, 1.75]),
        path_heading_deg=np.array([nan, nan, nan, nan, 270.0, 90.0, 80.0]))
    # 0: dead ahead at 100 m: shown (10 s away); 1: 160 m > 150: no; 2: bearing
    # atan2(100, 70) = 55 deg, 35 deg off the heading > 30: no; 3: behind: no; 4: ahead but its
    # path runs west (180 deg off > 45): the other carriageway, no; 5: behind, but the host is
    # on its path (0.5 <= 1.75 m, heading along): shown; 6: 120 m ahead, off its path (50 m)
    # that runs 10 deg off the host's heading (<= 45): approaching, shown
    assert r.show.tolist() == [True, False, False, False, False, True, True]
    assert r.ahead.tolist() == [True, False, False, False, False, False, True]
    assert r.on_path.tolist() == [False, False, False, False, False, True, False]
    assert r.along.tolist() == [True] * 4 + [False, True, True]
    assert r.ttc_s[0] == pytest.approx(10.0) and r.distance_m[2] == pytest.approx(
        math.hypot(100, 70))
    assert not ivs.evaluate(host_x=0.0, host_y=0.0, host_speed=10.0, host_heading_deg=90.0,
                            sign_x=100.0, sign_y=0.0, in_force=False).show.any()
    # a wider display distance shows the 160 m sign
    wide = InVehicleSignage(IvsConfig(display_distance_m=200.0))
    assert wide.evaluate(host_x=0.0, host_y=0.0, host_speed=0.0, host_heading_deg=90.0,
                         sign_x=160.0, sign_y=0.0).show.tolist() == [True]
    with pytest.raises(ValueError, match="IVS inputs"):
        ivs.evaluate(host_x=np.zeros((2, 2)), host_y=0.0, host_speed=1.0, host_heading_deg=0.0,
                     sign_x=0.0, sign_y=0.0)


def test_ivs_through_rsi_frames(frame: GeoFrame) -> None:
    """One RSI of RSU 0 with two signs: a point sign at (0, -1.75) and a sign whose path is
    the westbound lane y = +1.75 (x 100 -> -100, pathRadius 1.75 m)."""
    point = RoadTrafficSign(rts_id=0, sign_type=38, pos=pos(frame, 0.0, -1.75),
                            description="限速40")
    other = RoadTrafficSign(rts_id=1, sign_type=38, pos=pos(frame, 0.0, 1.75),
                            reference_paths=(path(frame, [(100.0, 1.75), (-100.0, 1.75)],
                                                  1.75),))
    f = rsi_frame(frame, signs=(point, other))
    # host 0 eastbound 120 m before the point sign: shown (nearest: the point sign, 120 m);
    # host 1 eastbound 200 m before it: the point sign too far, the other sign not its way;
    # host 2 westbound on the westbound lane at x = 50: on the other sign's path: shown,
    # gap 50.1 m to that sign's position (0, 1.75)
    hs = hosts(x=[-120.0, -200.0, 50.0], y=[-1.75, -1.75, 1.75], speed=[10.0, 10.0, 10.0],
               heading_deg=[90.0, 90.0, 270.0], index=[4, 5, 6])
    a = InVehicleSignage().assess(window(frame, hs, [f], [(0, 0), (1, 0), (2, 0)]))
    assert a.link.tolist() == [0, 1, 2]  # one assessment per host and RSU
    assert a.target.tolist() == [RSU] * 3
    assert a.warn.tolist() == [True, False, True]
    np.testing.assert_allclose(a.gap_m[[0, 2]], [120.0, 50.0], atol=0.05)  # 1e-7 deg ~ 1 cm
    np.testing.assert_allclose(a.ttc_s[0], 12.0, atol=0.01)


def test_ivs_is_configured_by_name() -> None:
    app = make_app("ivs", {"display_distance_m": 250.0, "hold_s": 3.0})
    assert isinstance(app, InVehicleSignage) and app.hold_ns == 3_000_000_000
    assert InVehicleSignage().hold_ns == 2_000_000_000  # two static RSI periods
    with pytest.raises(ConfigError, match="applications.ivs.display_distance_m"):
        make_app("ivs", {"display_distance_m": -1.0})


# ------------------------------------------------------------------ library cases on SUMO

CASES = {  # case -> (KPI, value) its criteria hold on (the case files compute them)
    "xiqing-ivs-sign-ahead-50kmh": ("apps.IVS.first_warning_s", 4.0),
    "xiqing-ivs-other-carriageway": ("apps.IVS.warnings", 0),
    "xiqing-hlw-roadworks-ahead-50kmh": ("apps.HLW.first_warning_s", 7.3),
    "xiqing-hlw-hazard-behind": ("apps.HLW.warnings", 0),
    "xiqing-slw-over-limit-50kmh": ("apps.SLW.first_warning_s", 8.0),
    "xiqing-slw-below-limit-30kmh": ("apps.SLW.warnings", 0),
}


@pytest.mark.sumo
@pytest.mark.parametrize("case", sorted(CASES))
def test_rsi_sign_and_event_cases_pass(case: str, tmp_path: Path) -> None:
    """IVS, HLW and SLW positive and no-action cases: every criterion passes, and the first
    warning comes at the step the case's hand computation names (the next RSI after the
    host crosses the distance: signs every 1 s, events every 100 ms)."""
    from v2x.cli import run_scenario

    res = run_scenario(case, out_dir=tmp_path, bus="memory")
    assert res.passed, [v for v in res.evaluation.verdicts if not v.passed]
    kpi, want = CASES[case]
    assert res.evaluation.kpis[kpi] == pytest.approx(want)
