"""``--set KEY=VALUE``: TOML values applied to the file's keys before validation, so each
override is checked like the file; errors name --set, the key and the value."""

from __future__ import annotations

import datetime as dt

import pytest

from scenarios import LIBRARY, apply_overrides, load_scenario, resolve_scenario
from v2x.errors import ConfigError

SOUTH = LIBRARY / "xiqing-south-station"


def test_overrides_parse_toml_values_and_fall_back_to_text() -> None:
    sc = resolve_scenario("xiqing-south-station", overrides=[
        "applications.fcw.enabled=false", "demand.penetration=0.5", "seed=3",
        "duration=60 s",                          # not TOML: the text "60 s"
        'title="quoted"', "rsu.at=['A0', 'B1']",   # a TOML string and array
        "start=2026-06-02T09:00:00+08:00",         # a TOML offset date-time
        "applications.ebw.range_m=250",            # a table the file does not have
        "demand.vehicles_per_hour.bus=0",
    ])
    assert not sc.fcw.enabled and sc.demand.penetration == 0.5 and sc.seed == 3
    assert sc.duration_ns == 60 * 10**9 and sc.title == "quoted"
    assert sc.rsu.at == ("A0", "B1")
    assert sc.start == dt.datetime(2026, 6, 2, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert sc.applications["ebw"].range_m == 250.0
    assert sc.demand.vehicles_per_hour["bus"] == 0.0
    assert sc.demand.vehicles_per_hour["passenger"] == 3000.0  # the rest of the table stays


def test_with_set_on_a_scenario_equals_the_overridden_file() -> None:
    sc = load_scenario(SOUTH)
    items = ["applications.fcw.ttc_threshold_s=3.5", "recording.prr_bin_m=10.0",
             "criteria[1].value=0.7"]
    changed = sc.with_set(*items)
    assert changed == load_scenario(SOUTH, overrides=items)
    assert changed.fcw.ttc_threshold_s == 3.5 and changed.criteria[1].value == 0.7
    assert sc.fcw.ttc_threshold_s == 2.7  # the original is untouched (frozen)
    assert apply_overrides(sc, []) == sc


@pytest.mark.parametrize(("item", "key", "value", "text"), [
    ("demand.penetration=1.5", "demand.penetration", 1.5, "must be <= 1.0"),
    ("applications.fcw.enabled=maybe", "applications.fcw.enabled", "maybe",
     "expected true or false"),
    ("applications.fcw.enabeld=false", "applications.fcw.enabeld", False, "unknown key"),
    ("applications.acme.enabled=true", "applications.acme", {"enabled": True},
     "unknown application"),
    ("seed=-1", "seed", -1, "must be >= 0"),
    ("rsu.spat_period=150 ms", "rsu.spat_period", "150 ms", "multiple of the step"),
    ("network.lanes=2.5", "network.lanes", 2.5, "expected an integer"),
])
def test_a_bad_override_names_set_the_key_and_the_value(item: str, key: str, value: object,
                                                        text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(SOUTH, overrides=[item])
    err = info.value
    assert (err.key, err.value) == (key, value)
    assert f"--set {item}" in str(err) and text in str(err)
    assert err.file == str(SOUTH / "scenario.toml")


def test_a_consequence_of_an_override_names_the_overrides() -> None:
    # step 300 ms: the 300 s duration is fine, the 100 ms SPAT period is not
    with pytest.raises(ConfigError, match=r"with --set step=300 ms") as info:
        load_scenario(SOUTH, overrides=["step=300 ms"])
    assert info.value.key == "rsu.spat_period"


@pytest.mark.parametrize(("item", "text"), [
    ("seed", "expected KEY=VALUE"),
    ("=3", "expected KEY=VALUE"),
    ("seed.x=1", "seed is not a table"),
    ("criteria[9].value=1", "no item 9 here (the file has 4)"),
    ("a..b=1", "not a dotted key"),
])
def test_malformed_overrides(item: str, text: str) -> None:
    with pytest.raises(ConfigError, match=r"--set") as info:
        load_scenario(SOUTH, overrides=[item])
    assert text in str(info.value)
