"""Blind spot and lane change warning: the rules on hand-computed links (host at the origin
heading north, 4.8 m long: its blind zone spans longitudinal offsets -7.8 .. -2 m of a
remote's body), and the registry keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic
import pytest

from tests.v2x.apps.v2v_cases import run_case
from v2x.apps import BlindSpotWarning, BswConfig, LaneChangeWarning, LcwConfig, make_app

LEFT, RIGHT, HAZARD = 2, 1, 4  # SUMO signal bits: left blinker 1, right 0, hazard 2


def _eval(app: BlindSpotWarning, rx: list[float], ry: list[float], *, rh: float = 0.0,
          ev: float = 13.89, rv: float = 13.89, sig: int | list[int] = 0) -> object:
    return app.evaluate(ego_x=0.0, ego_y=0.0, ego_heading_deg=0.0, ego_speed=ev,
                        ego_length=4.8, ego_signals=sig, remote_x=rx, remote_y=ry,
                        remote_heading_deg=rh, remote_speed=rv, remote_length=4.8)


def test_config_defaults_and_validation() -> None:
    c = BswConfig()
    assert (c.range_m, c.max_heading_diff_deg, c.half_lane_m, c.max_lateral_m,
            c.zone_front_m, c.zone_rear_m) == (50.0, 30.0, 1.75, 5.25, 2.0, 3.0)
    assert LcwConfig().ttc_threshold_s == 3.5
    for bad in ({"range_m": 0}, {"zone_rear_m": -1}, {"max_heading_diff_deg": 181},
                {"ttc": 1}):
        with pytest.raises(pydantic.ValidationError):
            LcwConfig.model_validate(bad)
    assert make_app("bsw").name == "BSW" and make_app("lcw").name == "LCW"


def test_blind_zone_by_hand() -> None:
    # remote front bumper offsets (x = lateral: -3.5 left lane, +3.5 right lane)
    # zone: front c >= -7.8 (reaches the zone's rear end) and rear c - 4.8 <= -2 (c <= 2.8)
    rx = [-3.5, -3.5, -3.5, -3.5, -3.5, 3.5, -7.0, 0.0, -1.7, -5.3]
    ry = [-5.0, -7.8, -7.9, 2.8, 2.9, -5.0, -5.0, -5.0, -5.0, -5.0]
    r = _eval(BlindSpotWarning(), rx, ry)
    assert r.bsw.tolist() == [
        True,   # beside-behind, in the left lane: the classic blind spot
        True,   # front exactly at the zone's rear end (3 m behind the 4.8 m host)
        False,  # 0.1 m farther back
        True,   # rear exactly 2 m behind the host's front (front 2.8 m ahead)
        False,  # 0.1 m farther ahead: the driver sees it
        True,   # right lane
        False,  # two lanes over (7 m > 5.25 m)
        False,  # same lane (0 <= 1.75 m): FCW's business
        False,  # 1.7 m: still the host's lane
        False,  # 5.3 m > 5.25 m
    ]
    assert r.side.tolist() == [-1, -1, -1, -1, -1, 1, 0, 0, 0, 0]
    # an oncoming vehicle in the same place is not in the blind spot
    assert not _eval(BlindSpotWarning(), [-3.5], [-5.0], rh=180.0).bsw[0]


def test_lane_change_warning_by_hand() -> None:
    app = LaneChangeWarning()
    # car 25 m behind (front at -25) in the left lane, 5 m/s faster: gap to the host's rear
    # bumper 25 - 4.8 = 20.2 m, TTC 4.04 s (>= 3.5: no); 20 m behind: 15.2 / 5 = 3.04 s (< 3.5)
    r = _eval(app, [-3.5, -3.5, -3.5, -3.5, 3.5, -3.5], [-25, -20, -20, -5, -20, -20],
              ev=10.0, rv=15.0, sig=[LEFT, LEFT, RIGHT, LEFT, RIGHT, HAZARD])
    np.testing.assert_allclose(r.ttc_s, [20.2 / 5, 15.2 / 5, 15.2 / 5, 0.0, 15.2 / 5,
                                         15.2 / 5])
    assert r.signalled.tolist() == [True, True, False, True, True, False]
    assert r.lcw.tolist() == [
        False,  # TTC 4.04 s
        True,   # TTC 3.04 s, signalling toward it
        False,  # signalling right, the car is on the left
        True,   # in the zone (TTC 0)
        True,   # right lane, right blinker
        False,  # hazard lights are not a lane change
    ]
    # not closing: never a warning outside the zone
    assert not _eval(app, [-3.5], [-10.0], ev=15.0, rv=10.0, sig=LEFT).lcw[0]
    assert _eval(app, [-3.5], [-10.0], ev=15.0, rv=10.0, sig=LEFT).ttc_s[0] == np.inf


@pytest.mark.sumo
def test_library_cases(tmp_path: Path) -> None:
    """xiqing-bsw-blind-spot-50kmh: the host alone is warned about the car, at 6.2-6.3 s
    (hand computation in the case file); xiqing-bsw-no-action-two-lanes: nobody;
    xiqing-lcw-signals-left: LCW for the host about the car at about 2.9 s."""
    pos = run_case("xiqing-bsw-blind-spot-50kmh", tmp_path / "pos")
    assert pos.passed
    assert pos.warnings[["app", "vehicle", "remote"]].values.tolist() == [["BSW", "host", "car"]]
    assert 6.1 <= pos.warnings["t_s"].iloc[0] <= 6.5
    # the car's front bumper had just reached the zone's rear end, 7.8 m behind the host's
    assert -7.8 <= pos.warnings["gap_m"].iloc[0] <= -7.2
    neg = run_case("xiqing-bsw-no-action-two-lanes", tmp_path / "neg")
    assert neg.passed and neg.warnings.empty
    lcw = run_case("xiqing-lcw-signals-left", tmp_path / "lcw")
    assert lcw.passed
    assert lcw.warnings[["app", "vehicle", "remote"]].values.tolist() == [["LCW", "host", "car"]]
    assert lcw.warnings["ttc_s"].iloc[0] < 3.5
