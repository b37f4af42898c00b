import pytest

from v2x.errors import ConfigError
from v2x.units import NS_PER_MS, NS_PER_S, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("100 ms", 100 * NS_PER_MS),
        ("5 s", 5 * NS_PER_S),
        ("0.1 s", 100 * NS_PER_MS),
        ("2 min", 120 * NS_PER_S),
        ("1 h", 3600 * NS_PER_S),
        ("250us", 250_000),
        (" 7 ns ", 7),
    ],
)
def test_parse_duration_values(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["100", "ms", "-1 s", "5 parsecs", 100, None, "1.2.3 s"])
def test_parse_duration_rejects_and_names_key(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(bad, key="rsu.spat_period", file="scenario.toml")
    assert "rsu.spat_period" in str(info.value)
    assert "scenario.toml" in str(info.value)
    assert info.value.value == bad


def test_format_duration_round_trips() -> None:
    for ns in (100 * NS_PER_MS, 5 * NS_PER_S, 300 * NS_PER_S, 1500 * NS_PER_MS, 7):
        assert parse_duration(format_duration(ns)) == ns
    assert format_duration(300 * NS_PER_S) == "5 min"
