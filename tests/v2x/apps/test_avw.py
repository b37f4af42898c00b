"""Abnormal vehicle warning: the rule on hand-computed links (host at the origin heading
north)."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from tests.v2x.apps.v2v_cases import run_case
from v2x.apps import AbnormalVehicleWarning, AvwConfig, make_app

HAZARD, DISABLED, ABS = 1 << 0, 1 << 11, 1 << 2


def test_config_defaults_and_validation() -> None:
    c = AvwConfig()
    assert (c.range_m, c.max_lateral_m, c.slow_speed_kmh) == (150.0, 5.25, None)
    with pytest.raises(pydantic.ValidationError):
        AvwConfig.model_validate({"slow_speed_kmh": -1})
    assert make_app("avw").name == "AVW"
    assert make_app("avw", {"slow_speed_kmh": 10.0}).config.slow_speed_kmh == 10.0


def test_the_rule_by_hand() -> None:
    rx = [0, 0, 0, 0, -3.5, 0, 0]
    ry = [100, 100, 100, 100, 100, 100, -30]
    rh = [0, 0, 0, 0, 180, 0, 0]
    ev = [HAZARD, DISABLED, ABS, 0, HAZARD, 0, HAZARD]
    speed = [0.0, 0.0, 0.0, 1.0, 0.0, 3.0, 0.0]
    kw = dict(ego_x=0.0, ego_y=0.0, ego_heading_deg=0.0, remote_x=rx, remote_y=ry,
              remote_heading_deg=rh, remote_events=ev, remote_speed=speed)
    assert AbnormalVehicleWarning().evaluate(**kw).warn.tolist() == [
        True,   # hazard lights 100 m ahead
        True,   # disabled vehicle
        False,  # ABS is CLW's sign
        False,  # stopped-looking (1 m/s) but no sign: the speed rule is off by default
        False,  # hazard lights on the opposite carriageway
        False,  # 3 m/s, no sign
        False,  # behind the host
    ]
    # with slow_speed_kmh = 5 (1.39 m/s): 1 m/s (3.6 km/h) is abnormal, 3 m/s (10.8) not
    slow = AbnormalVehicleWarning(AvwConfig(slow_speed_kmh=5.0)).evaluate(**kw)
    assert slow.warn.tolist() == [True, True, True, True, False, False, False]


@pytest.mark.sumo
def test_library_cases(tmp_path: Path) -> None:
    """xiqing-avw-hazard-stopped-50kmh: the host alone is warned about the broken
    at 3.5-3.8 s (hand computation in the case file);
    xiqing-avw-no-action-opposite: nobody is warned."""
    pos = run_case("xiqing-avw-hazard-stopped-50kmh", tmp_path / "pos")
    assert pos.passed
    assert pos.warnings[["app", "vehicle", "remote"]].values.tolist() == [["AVW", "host",
                                                                          "broken"]]
    assert 3.5 <= pos.warnings["t_s"].iloc[0] <= 3.8
    # within 150 m of the broken-down vehicle for the first time
    assert 145.0 <= pos.warnings["gap_m"].iloc[0] <= 150.0
    neg = run_case("xiqing-avw-no-action-opposite", tmp_path / "neg")
    assert neg.passed and neg.warnings.empty
