"""Topic table, builders, id validation and MQTT 3.1.1 matching (section 4.7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from v2x.bus import (
    MSG_TYPES,
    PROFILES,
    SIM_TOPICS,
    TOPICS,
    obu_up_bsm,
    parse_topic,
    rsu_down_rsi,
    rsu_up,
    sim_topic,
    topic_matches,
    validate_filter,
    validate_topic,
    zone_filter,
)
from v2x.errors import ConfigError

# (filter, topic, expected). Cases from MQTT 3.1.1 section 4.7.1.2/4.7.1.3/4.7.2, by hand:
MATCH_CASES = [
    # '#' matches the parent level and any number of children (4.7.1.2)
    ("sport/tennis/player1/#", "sport/tennis/player1", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
    ("sport/#", "sport", True),
    ("sport/#", "sport/", True),  # "sport/" has an empty second level, still a child
    ("sport/#", "sports", False),  # levels are compared whole, not as prefixes
    ("#", "sport/tennis/player1", True),
    ("#", "/", True),
    ("+/#", "a", True),  # '+' takes "a", '#' the (absent) children
    # '+' matches exactly one level, possibly empty (4.7.1.3)
    ("sport/tennis/+", "sport/tennis/player1", True),
    ("sport/tennis/+", "sport/tennis/player1/ranking", False),
    ("sport/+", "sport", False),  # no second level at all
    ("sport/+", "sport/", True),  # the second level exists and is empty
    ("+/+", "/finance", True),  # levels "" and "finance"
    ("/+", "/finance", True),
    ("+", "/finance", False),  # two levels, '+' covers one
    ("a/+/c", "a//c", True),  # empty middle level
    ("sport/+/player1", "sport/tennis/player1", True),
    ("+/+/+", "a/b", False),
    # no wildcard: exact, case-sensitive
    ("a/b", "a/b", True),
    ("a/b", "a/b/", False),
    ("ACCOUNTS", "Accounts", False),
    # '$' topics are not matched by a leading wildcard (4.7.2)
    ("#", "$SYS/broker/load", False),
    ("+/broker/load", "$SYS/broker/load", False),
    ("$SYS/#", "$SYS/broker/load", True),
    ("$SYS/+/load", "$SYS/broker/load", True),
    ("$SYS/broker/load", "$SYS/broker/load", True),
    ("a/#", "a/$b", True),  # '$' only matters in the first level
    # the testbed's own scheme
    ("v2x/+/rsu/+/up/#", "v2x/xq/rsu/R1/up/bsm", True),
    ("v2x/+/rsu/+/up/#", "v2x/xq/rsu/R1/down/rsi", False),
    ("v2x/xq/+/+/up/bsm", "v2x/xq/obu/17/up/bsm", True),
]


@pytest.mark.parametrize(("pattern", "topic", "expected"), MATCH_CASES)
def test_topic_matches(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


@pytest.mark.parametrize(
    "pattern", ["", "sport/tennis#", "sport/tennis/#/ranking", "#/a", "sport+", "a/+b/c", "a\x00b"]
)
def test_invalid_filters_raise_config_error(pattern: str) -> None:
    with pytest.raises(ConfigError) as info:
        topic_matches(pattern, "sport/tennis")
    assert info.value.key == "pattern"
    with pytest.raises(ConfigError):
        validate_filter(pattern)


@pytest.mark.parametrize("topic", ["", "a/+/b", "a/#", "a\x00"])
def test_invalid_topics_raise_config_error(topic: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_topic(topic)
    assert info.value.key == "topic"


def test_valid_filters_and_topics_pass_through() -> None:
    assert validate_filter("v2x/+/rsu/#") == "v2x/+/rsu/#"
    assert validate_topic("v2x/xq/sim/clock") == "v2x/xq/sim/clock"


def test_builders_produce_the_documented_scheme() -> None:
    assert rsu_up("xq", "R1", "BSM") == "v2x/xq/rsu/R1/up/bsm"
    assert rsu_up("xq", 7, "spat") == "v2x/xq/rsu/7/up/spat"  # int ids, lower-case level
    assert [rsu_up("z", "r", m) for m in MSG_TYPES] == [
        "v2x/z/rsu/r/up/bsm",
        "v2x/z/rsu/r/up/map",
        "v2x/z/rsu/r/up/spat",
        "v2x/z/rsu/r/up/rsi",
        "v2x/z/rsu/r/up/rsm",
    ]
    assert rsu_down_rsi("xq", "R1") == "v2x/xq/rsu/R1/down/rsi"
    assert obu_up_bsm("xq", 1_000_003) == "v2x/xq/obu/1000003/up/bsm"
    assert [sim_topic("xq", n) for n in SIM_TOPICS] == [
        "v2x/xq/sim/clock",
        "v2x/xq/sim/warnings",
        "v2x/xq/sim/events",
    ]
    assert zone_filter("xq") == "v2x/xq/#"
    assert zone_filter() == "v2x/#"


@pytest.mark.parametrize(
    ("call", "key", "bad"),
    [
        (lambda: rsu_up("a/b", "R1", "BSM"), "zone", "a/b"),
        (lambda: rsu_up("xq", "R+1", "BSM"), "rsu_id", "R+1"),
        (lambda: rsu_up("xq", "R1", "CAM"), "msg_type", "CAM"),
        (lambda: rsu_down_rsi("xq", "#"), "rsu_id", "#"),
        (lambda: obu_up_bsm("xq", "v/1"), "vehicle_id", "v/1"),
        (lambda: obu_up_bsm("", 1), "zone", ""),
        (lambda: obu_up_bsm("xq", True), "vehicle_id", True),
        (lambda: sim_topic("xq", "score"), "name", "score"),
        (lambda: zone_filter("x#"), "zone", "x#"),
    ],
)
def test_bad_ids_raise_config_error_naming_the_value(call, key: str, bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.key == key
    assert info.value.value == bad
    assert repr(bad) in str(info.value) or key in str(info.value)


def test_topic_table_is_consistent() -> None:
    patterns = [spec.pattern for spec in TOPICS]
    assert len(patterns) == len(set(patterns)) == 10  # 5 RSU uplinks + downlink + OBU + 3 sim
    for spec in TOPICS:
        assert spec.pattern.startswith("v2x/{zone}/")
        assert spec.direction in ("up", "down", "sim")
        assert spec.publishers and spec.subscribers and spec.description
        ids = {name: f"id{i}" for i, name in enumerate(spec.placeholders)}
        topic = spec.format(**ids)
        validate_topic(topic)
        # the all-wildcard filter of a row matches its concrete topics
        assert topic_matches(spec.filter(), topic)
        info = parse_topic(topic)
        assert info is not None and info.spec == spec
        assert info.zone == "id0"
        assert (info.direction, info.msg_type) == (spec.direction, spec.msg_type)


def test_spec_filter_and_format() -> None:
    spec = next(s for s in TOPICS if s.pattern == "v2x/{zone}/rsu/{rsu_id}/up/bsm")
    assert spec.placeholders == ("zone", "rsu_id")
    assert spec.filter(zone="xq") == "v2x/xq/rsu/+/up/bsm"
    assert spec.filter() == "v2x/+/rsu/+/up/bsm"
    with pytest.raises(ConfigError) as info:
        spec.format(zone="xq")
    assert info.value.key == "rsu_id"
    with pytest.raises(ConfigError) as info:
        spec.format(zone="xq", rsu_id="R1", lane="2")
    assert info.value.key == "lane"


def test_parse_topic() -> None:
    info = parse_topic("v2x/xq/rsu/R7/up/spat")
    assert info is not None
    assert (info.zone, info.node_kind, info.node_id, info.direction, info.msg_type) == (
        "xq",
        "rsu",
        "R7",
        "up",
        "SPAT",
    )
    info = parse_topic("v2x/xq/rsu/R7/down/rsi")
    assert info is not None and (info.direction, info.msg_type) == ("down", "RSI")
    info = parse_topic("v2x/xq/obu/42/up/bsm")
    assert info is not None and (info.node_kind, info.node_id, info.msg_type) == (
        "obu",
        "42",
        "BSM",
    )
    info = parse_topic("v2x/xq/sim/warnings")
    assert info is not None and (info.node_kind, info.node_id, info.direction) == (
        "sim",
        None,
        "sim",
    )
    # not in the table
    assert parse_topic("v2x/xq/rsu/R7/up/cam") is None
    assert parse_topic("v2x/xq/rsu/R7/up/bsm/extra") is None
    assert parse_topic("v2x//sim/clock") is None  # empty zone level
    assert parse_topic("other/topic") is None


def _readme_topic_rows() -> list[tuple[str, int, set[str], set[str]]]:
    """(pattern, QoS, publishers, subscribers) of the README's topic tables, a row with a
    ``{a,b}`` group expanded into one per member."""
    text = (Path(__file__).parents[3] / "README.md").read_text()
    section = text.split("### The bus: topics", 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not line.startswith("| `") or len(cells) != 5:
            continue
        pattern = cells[0].strip("`")
        names = [{n.strip().lower() for n in cells[i].split(",")} for i in (3, 4)]
        group = re.search(r"\{(\w+(?:,\w+)+)\}", pattern)
        for member in group[1].split(",") if group else [None]:
            p = pattern if member is None else pattern.replace(group[0], member)
            rows.append((p, int(cells[2]), names[0], names[1]))
    return rows


def test_the_readme_topic_tables_say_what_the_profiles_say() -> None:
    specs = {s.pattern: s for profile in PROFILES.values() for s in profile}
    rows = _readme_topic_rows()
    assert {p for p, *_ in rows} == set(specs)
    for pattern, qos, pubs, subs in rows:
        spec = specs[pattern]
        assert (qos, pubs, subs) == (spec.qos, set(spec.publishers),
                                     set(spec.subscribers)), pattern
