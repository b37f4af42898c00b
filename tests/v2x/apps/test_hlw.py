"""HLW's rule with hand-computed values, the RSI columns it reads, its configuration by name,
and FCW's ``use_rsm`` switch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios import LIBRARY, load_scenario
from v2x.apps import (
    RSM_TARGET_BASE,
    Assessments,
    ForwardCollisionWarning,
    ForwardCollisionWarningRsm,
    HazardousLocationWarning,
    HlwConfig,
    app_config_model,
    make_app,
    one_per_target,
    speed_limit_kmh,
)
from v2x.cli._wiring import applications
from v2x.errors import ConfigError


def test_hlw_rule_by_hand() -> None:
    # host at the origin heading north at 10 m/s; warn distance 150 m, cone 30 deg
    hlw = HazardousLocationWarning()
    r = hlw.evaluate(
        host_x=0.0, host_y=0.0, host_speed=10.0, host_heading_deg=0.0,
        event_x=np.array([0.0, 0.0, 80.0, 100.0, 0.0, 0.0, 0.0]),
        event_y=np.array([120.0, 151.0, 100.0, 100.0, -12.0, -30.0, -30.0]),
        event_radius_m=np.array([5.0, 5.0, 5.0, 5.0, 15.0, np.nan, np.nan]),
        path_distance_m=np.array([np.inf] * 6 + [2.0]),
        path_radius_m=np.array([np.nan] * 6 + [3.5]))
    # 0: dead ahead at 120 m (TTC 12 s); 1: ahead at 151 m > 150: no; 2: bearing
    # atan(80/100) = 38.7 deg > 30: no; 3: 45 deg: no; 4: 12 m behind within its 15 m radius:
    # yes; 5: 30 m behind, no radius: no; 6: behind but 2 m from its reference path (radius
    # 3.5 m): yes
    assert r.warn.tolist() == [True, False, False, False, True, False, True]
    assert r.ahead.tolist() == [True, False, False, False, False, False, False]
    assert r.inside.tolist() == [False, False, False, False, True, False, True]
    assert r.distance_m[0] == pytest.approx(120.0) and r.ttc_s[0] == pytest.approx(12.0)
    assert r.distance_m[2] == pytest.approx(math.hypot(80, 100))
    # at standstill the TTC is infinite; at the event's position it is 0
    r = hlw.evaluate(host_x=0.0, host_y=0.0, host_speed=np.array([0.0, 0.0]),
                     host_heading_deg=90.0, event_x=np.array([50.0, 0.0]), event_y=0.0,
                     event_radius_m=np.nan)
    assert r.ttc_s.tolist() == [math.inf, 0.0] and r.warn.tolist() == [True, True]
    # an event not in force never warns
    assert not hlw.evaluate(host_x=0.0, host_y=0.0, host_speed=10.0, host_heading_deg=0.0,
                            event_x=0.0, event_y=10.0, event_radius_m=50.0,
                            in_force=False).warn.any()


def test_hlw_settings_change_the_rule() -> None:
    hlw = HazardousLocationWarning(HlwConfig(warn_distance_m=200.0, max_bearing_deg=45.0))
    r = hlw.evaluate(host_x=0.0, host_y=0.0, host_speed=10.0, host_heading_deg=0.0,
                     event_x=np.array([0.0, 100.0, 0.0]), event_y=np.array([151.0, 100.0, 201.0]),
                     event_radius_m=np.nan)
    assert r.warn.tolist() == [True, True, False]
    assert hlw.hold_ns == 1_000_000_000  # HLW's own default hold (RSI periods up to 500 ms)


def test_hlw_inputs_must_be_one_dimensional() -> None:
    with pytest.raises(ValueError, match="HLW inputs"):
        HazardousLocationWarning().evaluate(
            host_x=np.zeros((2, 2)), host_y=0.0, host_speed=1.0, host_heading_deg=0.0,
            event_x=0.0, event_y=0.0, event_radius_m=1.0)


@pytest.mark.parametrize(("text", "limit"), [
    ("speed limit 40", 40.0), ("限速40", 40.0), ("限速 60", 60.0), ("60 km/h", 60.0),
    ("Speed Limit: 80", 80.0), ("road works", math.nan), (None, math.nan)])
def test_speed_limit_from_a_signs_description(text: str | None, limit: float) -> None:
    got = speed_limit_kmh(text)
    assert got == limit or (math.isnan(got) and math.isnan(limit))


def test_one_assessment_per_host_target_and_step() -> None:
    # links 0..3: (host 7, target 5, step 0) twice (the warning one is kept), (7, 5, 1) twice
    # without warnings (the smaller criticality is kept), and (7, 6, 1)
    a = Assessments(link=np.arange(5), target=np.array([5, 5, 5, 5, 6]),
                    warn=np.array([False, True, False, False, False]),
                    criticality=np.array([1.0, 9.0, 4.0, 3.0, 1.0]),
                    ttc_s=np.zeros(5), gap_m=np.zeros(5))
    kept = one_per_target(a, host=np.full(5, 7), step=np.array([0, 0, 1, 1, 1]))
    assert kept.link.tolist() == [1, 3, 4]


def test_hlw_and_fcw_with_rsm_are_configured_by_name() -> None:
    assert app_config_model("hlw") is HlwConfig
    assert isinstance(make_app("hlw", {"warn_distance_m": 300.0}), HazardousLocationWarning)
    with pytest.raises(ConfigError) as err:
        make_app("hlw", {"warn_distance_m": -1.0})
    assert err.value.key == "applications.hlw.warn_distance_m"
    with pytest.raises(ConfigError):
        make_app("hlw", {"max_bearing_deg": 200.0})
    # FCW keeps reading BSMs only unless told to use the RSM
    plain, rsm = make_app("fcw"), make_app("fcw", {"use_rsm": True})
    assert type(plain) is ForwardCollisionWarning and plain.consumes == ("BSM",)
    assert isinstance(rsm, ForwardCollisionWarningRsm) and rsm.consumes == ("BSM", "RSM")
    assert rsm.name == "FCW" and repr(rsm).startswith("ForwardCollisionWarningRsm(ttc_")
    assert RSM_TARGET_BASE + 65535 < 2**31


def test_a_scenario_runs_hlw_and_fcw_on_rsm_from_its_applications_tables() -> None:
    sc = load_scenario(LIBRARY / "xiqing-south-station",
                       overrides=["applications.hlw.warn_distance_m=200.0",
                                  "applications.fcw.use_rsm=true"])
    apps = {a.name: a for a in applications(sc)}
    assert set(apps) == {"EBW", "FCW", "HLW", "RLVW"}
    assert isinstance(apps["FCW"], ForwardCollisionWarningRsm)
    assert apps["HLW"].config.warn_distance_m == 200.0  # type: ignore[attr-defined]
