"""The application interface: the registry, configuration errors, the driver reaction."""

from __future__ import annotations

import numpy as np
import pytest

from v2x.apps import (
    AppConfig,
    Application,
    Assessments,
    DriverConfig,
    DriverReaction,
    FcwConfig,
    ForwardCollisionWarning,
    _base,
    app_config_model,
    app_names,
    make_app,
    register_app,
)
from v2x.errors import ConfigError


def test_fcw_is_registered_and_built_from_its_config() -> None:
    assert "fcw" in app_names()
    assert app_config_model("fcw") is FcwConfig
    app = make_app("fcw", {"ttc_threshold_s": 3.0, "hold_s": 0.3})
    assert isinstance(app, ForwardCollisionWarning) and isinstance(app, Application)
    assert (app.ttc_threshold_s, app.hold_ns, app.range_m) == (3.0, 300_000_000, 150.0)
    assert app.name == "FCW" and app.consumes == ("BSM",)


def test_bad_settings_name_the_key_and_value() -> None:
    with pytest.raises(ConfigError) as err:
        make_app("fcw", {"ttc_threshold_s": -1})
    assert err.value.key == "applications.fcw.ttc_threshold_s" and err.value.value == -1
    with pytest.raises(ConfigError) as err:
        make_app("fcw", {"ttc_treshold_s": 2.0})  # a typo is an unknown key
    assert err.value.key == "applications.fcw.ttc_treshold_s"
    with pytest.raises(ConfigError) as err:
        make_app("no-such-app")
    assert "known: " in str(err.value) and "fcw" in str(err.value)


def test_a_users_application_joins_the_registry() -> None:
    class Never:
        name = "NEVER"
        consumes = ("BSM",)
        hold_ns = 500_000_000

        def assess(self, window: object) -> Assessments:
            return Assessments.empty()

    class NeverConfig(AppConfig):
        pass

    register_app("never", lambda cfg: Never(), NeverConfig)
    try:
        assert "never" in app_names()
        assert make_app("never").name == "NEVER"
    finally:
        del _base._REGISTRY["never"]


def test_driver_reaction_brakes_after_whole_reaction_steps() -> None:
    # reaction 1.05 s on a 100 ms step rounds up to 1.1 s; braking at 6 m/s² from 15 m/s
    # lasts 2.5 s, then 2 s of hold: release 1.1 + 2.5 + 2.0 = 5.6 s after the warning
    d = DriverReaction(DriverConfig(enabled=True, reaction_s=1.05, decel_mps2=6.0, hold_s=2.0),
                       step_ns=100_000_000)
    assert d.delay_ns == 1_100_000_000 and d.lookahead_steps == 11
    r = d.react(np.array([3]), np.array([10_000_000_000]), np.array([15.0]))
    assert r.brake_at_ns.tolist() == [11_100_000_000]
    assert r.release_at_ns.tolist() == [15_600_000_000]
    assert r.decel_mps2.tolist() == [6.0]


def test_driver_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        DriverConfig(reaction_s=0.0)
    with pytest.raises(ValueError):
        DriverConfig(decel_mps2=20.0)
