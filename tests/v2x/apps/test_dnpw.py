"""Do-not-pass warning: the rule on hand-computed links (host at the origin heading east,
the passing lane 3.5 m to its left, i.e. at y = +3.5 m)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic
import pytest

from tests.v2x.apps.v2v_cases import run_case
from v2x.apps import DnpwConfig, DoNotPassWarning, make_app

LEFT, RIGHT, HAZARD = 2, 1, 4


def test_config_defaults_and_validation() -> None:
    c = DnpwConfig()
    assert (c.range_m, c.pass_time_s, c.max_heading_diff_deg, c.half_lane_m,
            c.max_lateral_m) == (400.0, 8.0, 30.0, 1.75, 5.25)
    for bad in ({"pass_time_s": 0}, {"range_m": -1}, {"pass": 5}):
        with pytest.raises(pydantic.ValidationError):
            DnpwConfig.model_validate(bad)
    assert make_app("dnpw").name == "DNPW"


def test_the_rule_by_hand() -> None:
    # both at 13.89 m/s: closing 27.78 m/s; 8 s = 222.2 m
    rx = [200, 230, 200, 200, 200, -50, 200, 200, 200]
    ry = [3.5, 3.5, 3.5, 3.5, 0.0, 3.5, 7.0, 3.5, -3.5]
    rh = [270, 270, 270, 90, 270, 270, 270, 240, 270]
    sig = [LEFT, LEFT, RIGHT, LEFT, LEFT, LEFT, LEFT, LEFT, LEFT]
    r = DoNotPassWarning().evaluate(ego_x=0.0, ego_y=0.0, ego_heading_deg=90.0,
                                    ego_speed=13.89, ego_signals=sig, remote_x=rx, remote_y=ry,
                                    remote_heading_deg=rh, remote_speed=13.89)
    assert r.warn.tolist() == [
        True,   # oncoming 200 m ahead in the passing lane: meets in 7.2 s < 8 s
        False,  # 230 m: 8.28 s
        False,  # right blinker: no intent to pass on the left
        False,  # same direction (a vehicle to pass, not an oncoming one)
        False,  # oncoming in the host's own lane (FCW-like head-on, not DNPW's)
        False,  # behind the host
        False,  # two lanes to the left (7 m > 5.25 m)
        True,   # heading 30 deg off opposite: still oncoming
        False,  # on the right
    ]
    np.testing.assert_allclose(r.time_to_meet_s[:2], [200 / 27.78, 230 / 27.78])
    assert r.time_to_meet_s[5] == np.inf
    # hazard lights alone are no intent
    assert not DoNotPassWarning().evaluate(
        ego_x=0.0, ego_y=0.0, ego_heading_deg=90.0, ego_speed=13.89, ego_signals=HAZARD,
        remote_x=100.0, remote_y=3.5, remote_heading_deg=270.0, remote_speed=13.89).warn[0]


@pytest.mark.sumo
def test_library_cases(tmp_path: Path) -> None:
    """xiqing-dnpw-oncoming-50kmh: the host alone is warned about the oncoming
    at 2.7-3.0 s (hand computation in the case file);
    xiqing-dnpw-no-action-no-signal: nobody is warned."""
    pos = run_case("xiqing-dnpw-oncoming-50kmh", tmp_path / "pos")
    assert pos.passed
    assert pos.warnings[["app", "vehicle", "remote"]].values.tolist() == [["DNPW", "host",
                                                                          "oncoming"]]
    assert 2.7 <= pos.warnings["t_s"].iloc[0] <= 3.0
    # the time to meet had just fallen below 8 s
    assert 7.5 < pos.warnings["ttc_s"].iloc[0] < 8.0
    neg = run_case("xiqing-dnpw-no-action-no-signal", tmp_path / "neg")
    assert neg.passed and neg.warnings.empty
