"""Control loss warning: the rule on hand-computed links (host at the origin heading north),
and the events decoded from real BSM frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic
import pytest

from tests.v2x.apps.v2v_cases import run_case
from v2x.apps import ClwConfig, ControlLossWarning, make_app

ABS, TCL, SCS, HAZARD, HARD = 1 << 2, 1 << 3, 1 << 4, 1 << 0, 1 << 7


def test_config_defaults_and_validation() -> None:
    c = ClwConfig()
    assert (c.range_m, c.max_heading_diff_deg, c.max_lateral_m) == (150.0, 30.0, 5.25)
    with pytest.raises(pydantic.ValidationError):
        ClwConfig.model_validate({"slow_speed_kmh": 10})  # AVW's key, not CLW's
    assert make_app("clw").name == "CLW"


def test_the_rule_by_hand() -> None:
    rx = [0, 3.5, 0, 0, 0, 0, 0, 0, 7, 0]
    ry = [60, 60, 60, 60, -20, 60, 151, 60, 60, 60]
    rh = [0, 0, 0, 0, 0, 180, 0, 0, 0, 0]
    ev = [ABS, TCL, SCS, HAZARD | HARD, ABS, ABS, ABS, -1, ABS, ABS | HARD]
    r = ControlLossWarning().evaluate(ego_x=0.0, ego_y=0.0, ego_heading_deg=0.0, remote_x=rx,
                                      remote_y=ry, remote_heading_deg=rh, remote_events=ev)
    assert r.warn.tolist() == [
        True,   # ABS activated 60 m ahead in the lane
        True,   # traction control loss in the adjacent lane
        True,   # stability control
        False,  # hazard lights and hard braking are not a control loss (AVW, EBW)
        False,  # behind the host
        False,  # oncoming (opposite direction)
        False,  # 151 m > 150 m
        False,  # frame did not decode (events -1)
        False,  # two lanes over
        True,   # ABS with other bits
    ]
    np.testing.assert_allclose(r.distance_m[:2], [60.0, np.hypot(3.5, 60.0)])


@pytest.mark.sumo
def test_library_cases(tmp_path: Path) -> None:
    """xiqing-clw-lead-abs-50kmh: the host alone is warned about the lead
    at 3.1 s (hand computation in the case file);
    xiqing-clw-no-action-behind: nobody is warned."""
    pos = run_case("xiqing-clw-lead-abs-50kmh", tmp_path / "pos")
    assert pos.passed
    assert pos.warnings[["app", "vehicle", "remote"]].values.tolist() == [["CLW", "host",
                                                                          "lead"]]
    assert 3.1 <= pos.warnings["t_s"].iloc[0] <= 3.1
    # the lead 60 m ahead (both held at the same speed)
    assert pos.warnings["gap_m"].iloc[0] == pytest.approx(60.0, abs=1.0)
    neg = run_case("xiqing-clw-no-action-behind", tmp_path / "neg")
    assert neg.passed and neg.warnings.empty
