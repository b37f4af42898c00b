"""make_channel / available_channels and the public surface of v2x.channel."""

from __future__ import annotations

import math

import pytest

import v2x.channel as channel
from v2x.channel import ChannelModel, available_channels, make_channel
from v2x.errors import ConfigError


def test_available_channels() -> None:
    assert available_channels() == ["ideal", "mode4", "tr37885-highway", "tr37885-urban"]


@pytest.mark.parametrize("name", ["ideal", "tr37885-highway", "tr37885-urban"])
def test_every_model_follows_the_protocol(name: str) -> None:
    ch = make_channel(name)
    assert isinstance(ch, ChannelModel)
    assert ch.name == name


def test_toml_like_table_is_accepted() -> None:
    table = {
        "type": "tr37885-urban",
        "carrier_ghz": 5.9,
        "tx_power_dbm": 23,
        "bandwidth_mhz": 20,
        "noise_figure_db": 9,
        "antenna_gain_dbi": 3,
        "snr50_db": 1.5,
        "latency_base": "2 ms",
    }
    ch = make_channel(**table)
    assert ch.name == "tr37885-urban"
    # budget = 23 + 2*3 - (-174 + 73.0103 + 9) = 29 + 91.9897 = 120.9897 dB
    assert math.isclose(ch.budget_db, 120.98970004336019, abs_tol=1e-9)
    assert ch.params["snr50_db"] == 1.5


def test_unknown_type_names_key_and_lists_models() -> None:
    with pytest.raises(ConfigError) as info:
        make_channel("winner-b1")
    err = info.value
    assert err.key == "channel.type" and err.value == "winner-b1"
    for name in available_channels():
        assert name in str(err)


def test_non_string_type() -> None:
    with pytest.raises(ConfigError) as info:
        make_channel(3)  # type: ignore[arg-type]
    assert info.value.key == "channel.type"


@pytest.mark.parametrize(
    ("model", "param", "value"),
    [
        ("tr37885-urban", "carrier_gz", 5.9),  # unknown (typo)
        ("tr37885-urban", "scenario", "highway"),  # fixed by the name
        ("ideal", "snr50_db", 3.0),  # not a parameter of this model
        ("tr37885-urban", "carrier_ghz", -5.9),
        ("tr37885-urban", "bandwidth_mhz", 0),
        ("tr37885-urban", "tx_power_dbm", "23 dBm"),
        ("tr37885-urban", "tx_power_dbm", True),
        ("tr37885-urban", "snr_scale_db", float("nan")),
        ("tr37885-urban", "latency_base", "2"),
        ("tr37885-urban", "latency_base", 2),
        ("tr37885-urban", "selection_t1", "1.5 ms"),
        ("tr37885-urban", "blocked", "nlos2"),
        ("tr37885-highway", "range_m", -1.0),
        ("ideal", "latency", "fast"),
        ("ideal", "range_m", "far"),
    ],
)
def test_bad_parameter_names_key_and_value(model: str, param: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        make_channel(model, **{param: value})
    err = info.value
    assert err.key == f"channel.{param}"
    if not (isinstance(value, float) and math.isnan(value)):
        assert err.value == value
    assert f"channel.{param}" in str(err)


def test_t2_before_t1() -> None:
    with pytest.raises(ConfigError) as info:
        make_channel("tr37885-urban", selection_t1="4 ms", selection_t2="2 ms")
    assert info.value.key == "channel.selection_t2"


def test_public_surface_is_sorted_and_complete() -> None:
    assert channel.__all__ == sorted(channel.__all__)
    public = {n for n in dir(channel) if not n.startswith("_")}
    # private modules (_base, _pairs, ...) start with "_": every other name is exported
    assert public == set(channel.__all__)
    for name in channel.__all__:
        assert getattr(channel, name) is not None
