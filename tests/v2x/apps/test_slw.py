"""SLW's rule with hand-computed values and its configuration by name."""

from __future__ import annotations

import numpy as np
import pytest

from v2x.apps import SlwConfig, SpeedLimitWarning, app_config_model, make_app
from v2x.errors import ConfigError


def test_slw_rule_by_hand() -> None:
    # limit 40 km/h = 11.111 m/s; hosts heading north
    slw = SpeedLimitWarning()
    r = slw.evaluate(
        host_x=0.0, host_y=0.0, host_heading_deg=np.array([0, 0, 0, 180, 0, 0, 0.0]),
        host_speed=np.array([12.0, 11.0, 12.0, 12.0, 12.0, 12.0, 12.0]),
        sign_x=0.0, sign_y=np.array([0, 0, 0, 0, 0, 29.0, 31.0]),
        limit_kmh=np.array([40, 40, 40, 40, np.nan, 40, 40]),
        path_distance_m=np.array([2.0, 2.0, 6.0, 2.0, 2.0, np.inf, np.inf]),
        path_radius_m=np.array([5.0, 5.0, 5.0, 5.0, 5.0, np.nan, np.nan]),
        path_heading_deg=np.array([30.0, 0, 0, 0, 0, np.nan, np.nan]))
    # 0: on the path (2 <= 5 m, 30 deg <= 45), 0.889 m/s too fast: warn; 1: 11 m/s: no;
    # 2: 6 m from the path: no; 3: the opposite direction: no; 4: no limit: no;
    # 5: a sign without a path 29 m away (<= 30 m): warn; 6: 31 m away: no
    assert r.warn.tolist() == [True, False, False, False, False, True, False]
    assert r.in_section.tolist() == [True, True, False, False, True, True, False]
    assert r.excess_mps[0] == pytest.approx(12.0 - 40 / 3.6)
    # a tolerance of 5 km/h (1.389 m/s) lets 12 m/s pass
    tolerant = SpeedLimitWarning(SlwConfig(tolerance_kmh=5.0))
    assert not tolerant.evaluate(host_x=0.0, host_y=0.0, host_speed=12.0, host_heading_deg=0.0,
                                 sign_x=0.0, sign_y=10.0, limit_kmh=40.0).warn.any()


def test_slw_is_configured_by_name() -> None:
    assert app_config_model("slw") is SlwConfig
    app = make_app("slw", {"tolerance_kmh": 3.0})
    assert isinstance(app, SpeedLimitWarning) and app.consumes == ("RSI",)
    assert app.hold_ns == 2_000_000_000
    with pytest.raises(ConfigError) as err:
        make_app("slw", {"tolerance_kmh": "3"})
    assert err.value.key == "applications.slw.tolerance_kmh"
