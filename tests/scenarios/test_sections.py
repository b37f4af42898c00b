"""The sections added for closed-loop test cases: participants, events with triggers and
actions, extra RSUs, RSI, RSM, applications by name, driver. Every error names the file, the
dotted key and the bad value."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from scenarios import (
    LIBRARY,
    BrakeAction,
    PairTrigger,
    PathNetwork,
    ScriptedEvent,
    StopInLaneAction,
    TimeTrigger,
    load_scenario,
    validate_scenario,
)
from v2x.apps import EbwConfig, FcwConfig, app_names
from v2x.errors import ConfigError

_LIBRARY_TEXT = (LIBRARY / "xiqing-south-station" / "scenario.toml").read_text(encoding="utf-8")
#: the library scenario without its own ebw, rlvw, rsi and rsm tables (the tests add theirs)
BASE_TEXT = (_LIBRARY_TEXT[:_LIBRARY_TEXT.index("[applications.ebw]")]
             + _LIBRARY_TEXT[_LIBRARY_TEXT.index("[recording]"):])
BASE = tomllib.loads(BASE_TEXT)

#: a closed-loop test case: the lead at 50 km/h, 40 m ahead of the host, brakes at 6 m/s²
#: when the gap falls to 30 m
CLOSED_LOOP = """
[[participants]]
id = "host"
lane = "A0B0_0"
pos_m = 10.0
speed_kmh = 50.0

[[participants]]
id = "lead"
class = "bus"
lane = "A0B0_0"
pos_m = 50.0
speed_kmh = 50.0
equipped = false

[[participants]]
id = "walker"
class = "pedestrian"
edges = ["A0B0"]
depart = "2 s"

[[rsus]]
junction = "A1"

[[rsus]]
name = "gantry"
x = 120.0
y = -4.5
antenna_height_m = 7.5

[rsi]
[[rsi.signs]]
sign_type = 38
x = 100.0
y = 0.0
radius_m = 150.0
description = "speed limit 40"

[[rsi.events]]
id = "jam"
event_type = 707
x = 300.0
y = 0.0
active = false
priority = 5
period = "500 ms"

[rsm]
enabled = true
range_m = 120.0
detection_probability = 0.9
position_sigma_m = 0.3
which = "all"

[driver]
enabled = true
reaction_time = "1.2 s"

[applications.ebw]
enabled = true
range_m = 250.0

[[events]]
name = "lead brakes"
trigger = {kind = "gap", a = "host", b = "lead", op = "<=", value = 30}
actions = [{kind = "brake", target = "lead", decel = 6.0, speed_kmh = 0},
           {kind = "rsi_raise", target = "jam"}]

[[events]]
at = "12 s"
kind = "stop"
vehicle = "passenger.3"
decel = 4.5
"""

#: the least a path network must be: whole XML, a <net> root, geo-referenced
TINY_NET = ('<net><location netOffset="0,0" '
            'projParameter="+proj=utm +zone=50 +datum=WGS84 +units=m"/></net>')


def _scenario(tmp_path: Path, extra: str = CLOSED_LOOP) -> Path:
    text = BASE_TEXT.split("[[criteria]]")[0] + extra
    (tmp_path / "scenario.toml").write_text(text, encoding="utf-8")
    return tmp_path / "scenario.toml"


def test_closed_loop_sections_are_read_with_their_values(tmp_path: Path) -> None:
    sc = load_scenario(_scenario(tmp_path))
    host, lead, walker = sc.participants
    assert (host.id, host.vehicle_class, host.lane, host.pos_m) == ("host", "passenger",
                                                                   "A0B0_0", 10.0)
    assert host.speed_mps == pytest.approx(50 / 3.6) and host.equipped
    assert lead.vehicle_class == "bus" and not lead.equipped
    assert walker.is_pedestrian and not walker.equipped  # pedestrians carry no OBU
    assert walker.edges == ("A0B0",) and walker.depart_ns == 2 * 10**9
    assert [s.junction for s in sc.rsus] == ["A1", None]
    assert (sc.rsus[1].x, sc.rsus[1].y, sc.rsus[1].antenna_height_m) == (120.0, -4.5, 7.5)
    sign, = sc.rsi.signs
    assert (sign.sign_type, sign.radius_m, sign.description) == (38, 150.0, "speed limit 40")
    assert sc.rsi.sign_period_ns == 10**9  # T/CSAE 159: static RSI 1 s
    jam, = sc.rsi.events
    assert (jam.id, jam.event_type, jam.active, jam.priority, jam.period_ns) == (
        "jam", 707, False, 5, 500 * 10**6)
    assert sc.rsm.enabled and sc.rsm.which == "all" and sc.rsm.range_m == 120.0
    assert sc.rsm.period_ns == 100 * 10**6
    assert sc.driver.enabled and sc.driver.reaction_time_ns == 1_200_000_000
    assert sc.driver.decel_mps2 == 6.0
    assert sc.applications["ebw"] == EbwConfig(enabled=True, range_m=250.0)
    assert sc.applications["fcw"] == FcwConfig() and sc.fcw.enabled  # defaults
    gap, stop = sc.events
    assert gap.name == "lead brakes" and gap.once
    assert gap.trigger == PairTrigger(kind="gap", a="host", b="lead", op="<=", value=30.0)
    brake, raise_jam = gap.actions
    assert brake == BrakeAction(kind="brake", target="lead", decel=6.0, speed_kmh=0.0)
    assert (raise_jam.kind, raise_jam.target) == ("rsi_raise", "jam")
    # today's stop form: a time trigger with one stop_in_lane action, hold 5 s by default
    assert stop.name == "events[1]"
    assert stop.trigger == TimeTrigger(kind="time", at="12 s")
    assert stop.actions == (StopInLaneAction(kind="stop_in_lane", target="passenger.3",
                                             decel=4.5, hold="5 s"),)
    assert stop.actions[0].hold_ns == 5 * 10**9


def test_defaults_of_the_new_sections() -> None:
    sc = validate_scenario(BASE)
    assert sc.participants == () and sc.rsus == () and sc.events == ()
    assert sc.rsi.signs == () and sc.rsi.events == ()
    assert not sc.rsm.enabled and sc.rsm.which == "unequipped"
    assert (sc.rsm.range_m, sc.rsm.detection_probability, sc.rsm.position_sigma_m) == (
        150.0, 0.95, 0.5)
    assert not sc.driver.enabled and sc.driver.reaction_time_ns == 10**9
    # the file names fcw only: the others do not run
    assert sorted(sc.applications) == ["fcw"]
    assert sc.fcw.ttc_threshold_s == 2.7 and sc.fcw.hold_s == 0.5
    assert sc.demand.pedestrians_per_hour == 0.0


def test_a_scenario_of_named_participants_needs_no_demand_table() -> None:
    raw = {k: v for k, v in BASE.items() if k not in ("demand", "criteria")}
    raw["participants"] = [{"id": "host", "lane": "A0B0_0", "speed_kmh": 30}]
    sc = validate_scenario(raw)
    assert sc.demand.end_ns == sc.duration_ns and sc.demand.vehicles_per_hour == {}


def test_old_network_kind_file_is_the_path_kind(tmp_path: Path) -> None:
    (tmp_path / "my.net.xml").write_text(TINY_NET, encoding="utf-8")
    raw = copy.deepcopy(BASE)
    for net in ({"kind": "file", "path": "my.net.xml"}, {"path": "my.net.xml"},
                {"kind": "path", "path": "my.net.xml"}):
        raw["network"] = net
        sc = validate_scenario(raw, file=tmp_path / "scenario.toml")
        assert sc.network == PathNetwork(kind="path", path=tmp_path / "my.net.xml")


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "scenario.toml").write_bytes(b"\xef\xbb\xbf" + BASE_TEXT.encode("utf-8"))
    assert load_scenario(tmp_path).id == "xiqing-south-station"


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    *path, last = key.split(".")
    for p in path:
        raw = raw[int(p)] if isinstance(raw, list) else raw[p]
    if isinstance(raw, list):
        raw[int(last)] = value
    else:
        raw[last] = value


@pytest.mark.parametrize(("change", "value", "key"), [
    # (dotted path into the TOML dict, new value, the key the error must name)
    ("participants.1.id", "host", "participants[1].id"),  # twice
    ("participants.0.lane", "A0B0", "participants[0].lane"),  # not <edge>_<index>
    ("participants.0.class", "horse", "participants[0].class"),
    ("participants.0.speed_kmh", -5.0, "participants[0].speed_kmh"),
    ("participants.2.depart", "300 s", "participants[2].depart"),  # after the end
    ("participants.2.equipped", True, "participants[2].equipped"),  # a pedestrian's OBU
    ("rsus.1.junction", "A1", "rsus[1].junction"),  # junction and x, y
    ("rsus.0.junction", "A1 ", "rsus[0].junction"),  # fine: another junction id
    ("rsi.signs.0.sign_type", 65536, "rsi.signs[0].sign_type"),  # SignType 0..65535
    ("rsi.signs.0.radius_m", 7000.0, "rsi.signs[0].radius_m"),  # Radius 0..6553.5 m
    ("rsi.events.0.priority", 8, "rsi.events[0].priority"),  # RSIPriority 0..7
    ("rsi.events.0.period", "250 ms", "rsi.events[0].period"),  # not a multiple of 100 ms
    ("rsm.which", "some", "rsm.which"),
    ("rsm.detection_probability", 1.5, "rsm.detection_probability"),
    ("rsm.period", "50 ms", "rsm.period"),
    ("driver.reaction_time", "1.25 s", "driver.reaction_time"),
    ("driver.decel_mps2", 0.0, "driver.decel_mps2"),
    ("applications.ebw.range", 250.0, "applications.ebw.range"),  # unknown key
    ("applications.ebw.enabled", "yes", "applications.ebw.enabled"),
    ("events.0.trigger.op", "==", "events[0].trigger.op"),
    ("events.0.trigger.b", "host", "events[0].trigger.b"),  # a = b
    ("events.0.trigger.kind", "gapp", "events[0].trigger.kind"),
    ("events.0.actions.0.decel", 13.0, "events[0].actions[0].decel"),
    ("events.0.actions.0.kind", "teleport", "events[0].actions[0].kind"),
    ("events.0.actions.1.target", "fog", "events[0].actions[1].target"),  # no RSI event
    ("events.0.name", "events[1]", "events[1].name"),  # the stop event's name, twice
    ("events.1.at", "5 min", "events[1].at"),  # after the end
    ("events.1.hold", "0 s", "events[1].hold"),
])
def test_bad_values_of_new_sections_name_file_key_and_value(
        tmp_path: Path, change: str, value: Any, key: str) -> None:
    raw = tomllib.loads(_scenario(tmp_path).read_text(encoding="utf-8"))
    _set(raw, change, value)
    if change == "rsus.0.junction":  # a valid change: loads
        validate_scenario(raw, file=tmp_path / "scenario.toml")
        return
    with pytest.raises(ConfigError) as info:
        validate_scenario(raw, file=tmp_path / "scenario.toml")
    err = info.value
    assert (err.file, err.key) == (str(tmp_path / "scenario.toml"), key), str(err)
    bad = value if change != "events.0.name" else "events[1]"
    if change == "rsus.1.junction":
        bad = "A1"
    assert err.value == bad
    assert key in str(err)


def test_unknown_application_lists_the_known_ones() -> None:
    raw = copy.deepcopy(BASE)
    raw["applications"]["acme"] = {"enabled": True}  # no such application
    known = re.escape(", ".join(app_names()))  # every registered one, sorted
    with pytest.raises(ConfigError, match=rf"unknown application \(known: {known}\)") as info:
        validate_scenario(raw, file="f.toml")
    assert (info.value.key, info.value.value) == ("applications.acme", {"enabled": True})


def test_an_event_without_actions_or_trigger_is_refused() -> None:
    raw = copy.deepcopy(BASE)
    raw["events"] = [{"name": "nothing", "trigger": {"kind": "time", "at": "1 s"},
                      "actions": []}]
    with pytest.raises(ConfigError) as info:
        validate_scenario(raw)
    assert info.value.key == "events[0].actions"
    raw["events"] = [{"name": "no trigger", "actions": [{"kind": "release", "target": "a"}]}]
    with pytest.raises(ConfigError, match="required key is missing") as info:
        validate_scenario(raw)
    assert info.value.key == "events[0].trigger"


def test_reach_trigger_needs_one_place() -> None:
    raw = copy.deepcopy(BASE)
    raw["participants"] = [{"id": "host", "lane": "A0B0_0"},
                           {"id": "walker", "class": "pedestrian", "edges": ["A0B0"]}]
    ev = {"name": "arrive", "actions": [{"kind": "cross", "target": "walker"}]}
    raw["events"] = [{**ev, "trigger": {"kind": "reach", "participant": "host", "x": 1.0}}]
    with pytest.raises(ConfigError, match="give both x and y") as info:
        validate_scenario(raw)
    assert info.value.key == "events[0].trigger.y"
    raw["events"] = [{**ev, "trigger": {"kind": "reach", "participant": "host",
                                        "lane_pos_m": 80.0}}]
    trig = validate_scenario(raw).events[0].trigger
    assert (trig.participant, trig.lane_pos_m, trig.radius_m) == ("host", 80.0, 2.0)


def test_scenarios_are_frozen_and_round_trip_through_their_toml_form(tmp_path: Path) -> None:
    sc = load_scenario(_scenario(tmp_path))
    with pytest.raises(ValueError, match="frozen"):
        sc.seed = 3  # type: ignore[misc]
    again = validate_scenario(sc.to_toml_dict(), file=sc.file)
    assert again == sc and again.folder == sc.folder
    assert isinstance(again.events[1], ScriptedEvent)
    assert sc.with_overrides(seed=3).seed == 3 and sc.with_overrides(seed=3).folder == sc.folder


@pytest.mark.parametrize(("key", "value", "where", "text"), [
    ("network", "grid", "network", "expected a table, got 'grid'"),
    ("events", {}, "events", "expected an array"),
    ("events", [3], "events[0]", "expected a table, got 3"),
    ("participants", [{"id": "a", "lane": "E_0", "speed_kmh": "fast"}],
     "participants[0].speed_kmh", "expected a number"),
    ("applications", {"fcw": 3}, "applications.fcw", "expected a table, got 3"),
    ("rsi", {"events": [{"id": "a"}]}, "rsi.events[0].event_type", "required key is missing"),
    ("tags", ["a", 1], "tags[1]", "expected a string, got 1"),
])
def test_values_of_the_wrong_type_name_the_key(key: str, value: Any, where: str,
                                               text: str) -> None:
    raw = copy.deepcopy(BASE)
    raw[key] = value
    with pytest.raises(ConfigError) as info:
        validate_scenario(raw, file="s.toml")
    assert info.value.key == where and text in str(info.value)


@pytest.mark.parametrize(("event", "key", "value"), [
    ({"trigger": {"kind": "time", "at": "5 s"},
      "actions": [{"kind": "brake", "target": "leed"}]}, "events[0].actions[0].target", "leed"),
    ({"trigger": {"kind": "gap", "a": "host", "b": "nobody", "op": "<", "value": 20.0},
      "actions": [{"kind": "brake", "target": "host"}]}, "events[0].trigger.b", "nobody"),
    ({"trigger": {"kind": "time", "at": "5 s"},
      "actions": [{"kind": "brake", "target": "passenger.x"}]},
     "events[0].actions[0].target", "passenger.x"),
])
def test_an_event_naming_no_vehicle_is_refused(event: dict[str, Any], key: str,
                                               value: str) -> None:
    # a typo must not leave an event silently unfired: names are participants or the
    # generated demand's <class>.<n>
    raw = copy.deepcopy(BASE)
    raw["participants"] = [{"id": "host", "lane": "A0B0_0"}]
    raw["events"] = [{"name": "e", **event}]
    with pytest.raises(ConfigError, match="no such vehicle or person") as info:
        validate_scenario(raw)
    assert (info.value.key, info.value.value) == (key, value)
    assert "host" in str(info.value) and "passenger.<n>" in str(info.value)
    raw["events"][0]["actions"] = [{"kind": "brake", "target": "passenger.12"}]
    if "b" in event["trigger"]:
        raw["events"][0]["trigger"]["b"] = "bus.3"
    validate_scenario(raw)  # generated names are fine
