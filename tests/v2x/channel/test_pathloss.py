"""Path loss by name and the input checks: WINNER+ B1, free space, TR 37.885, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from v2x.channel import (
    PER_TABLES,
    LinkBatch,
    free_space_path_loss_db,
    make_channel,
    path_loss_db,
    tr37885_path_loss_db,
    winner_b1_breakpoint_m,
    winner_b1_path_loss_db,
)
from v2x.errors import ConfigError


def test_winner_b1_by_hand() -> None:
    # h_env 0, 1.5 m antennas, 5.91 GHz: d_BP = 4 * 1.5 * 1.5 * 5.91e9 / 3e8 = 177.3 m
    assert winner_b1_breakpoint_m(carrier_ghz=5.91, h_env_m=0.0) == pytest.approx(177.3)
    # TR 36.885 h' = h - 1 m: 4 * 0.5 * 0.5 * 5.9e9 / 3e8 = 19.667 m
    assert winner_b1_breakpoint_m(carrier_ghz=5.9) == pytest.approx(19.6667, abs=1e-4)
    pl = winner_b1_path_loss_db(np.array([100.0, 300.0, 1.0]), carrier_ghz=5.91, h_env_m=0.0)
    # 100 m < d_BP: 22.7 * 2 + 27 + 20 log10(5.91) = 45.4 + 27 + 15.4317 = 87.8317, below
    # free space 20 * 2 + 46.4 + 20 log10(5.91 / 5) = 40 + 46.4 + 1.4524 = 87.8524, which wins
    assert pl[0] == pytest.approx(87.8524, abs=1e-4)
    # 300 m: 40 * 2.47712 + 7.56 - 2 * 17.3 * log10(1.5) + 2.7 log10(5.91)
    #      = 99.0849 + 7.56 - 6.0927 + 2.0833 = 102.6354
    assert pl[1] == pytest.approx(102.6354, abs=1e-4)
    # 1 m is floored to 3 m: 22.7 * 0.47712 + 27 + 15.4317 = 53.2624 (free space 57.39)
    assert pl[2] == pytest.approx(20 * math.log10(3) + 46.4 + 20 * math.log10(5.91 / 5),
                                  abs=1e-9)


def test_winner_b1_one_height_pair_equals_per_link_heights() -> None:
    # scalar heights take the far-branch shortcut beyond the breakpoint / free-space
    # crossing; per-link height arrays the full formula: the same values, bit for bit,
    # around both points (h_env 0: d_BP 177.3 m; h_env 1: 19.7 m, crossing near 24.5 m)
    d = np.concatenate([np.arange(0.0, 400.0, 0.01), [1000.0, 5000.0]])
    for h_env in (0.0, 1.0):
        for h in (1.5, 5.5):
            one = winner_b1_path_loss_db(d, h_tx_m=h, h_rx_m=1.5, h_env_m=h_env)
            per_link = winner_b1_path_loss_db(d, h_tx_m=np.full(d.size, h),
                                              h_rx_m=np.full(d.size, 1.5), h_env_m=h_env)
            assert np.array_equal(one, per_link)


def test_checked_distances_are_not_checked_again() -> None:
    # checked=True: the same values (87.8524 dB at 100 m as by hand above) without the
    # distance check; a negative distance then is the caller's bug, not seen here
    d = np.array([100.0, 300.0, 1.0])
    want = winner_b1_path_loss_db(d, carrier_ghz=5.91, h_env_m=0.0)
    got = path_loss_db("winner-b1", d, carrier_ghz=5.91, h_env_m=0.0, checked=True)
    assert np.array_equal(got, want) and got[0] == pytest.approx(87.8524, abs=1e-4)
    with pytest.raises(ValueError, match="distance"):
        path_loss_db("winner-b1", np.array([-5.0]))
    assert np.isfinite(path_loss_db("winner-b1", np.array([-5.0]), checked=True)).all()


def test_free_space_and_names() -> None:
    # 100 m, 5.9 GHz: 40 + 20 * 0.770852 + 32.45 = 87.8670
    assert free_space_path_loss_db(np.array([100.0]))[0] == pytest.approx(87.8670, abs=1e-4)
    d = np.array([50.0])
    assert path_loss_db("free-space", d)[0] == free_space_path_loss_db(d)[0]
    assert path_loss_db("tr37885-highway", d)[0] == tr37885_path_loss_db(
        d, scenario="highway")[0]
    with pytest.raises(ConfigError) as info:
        path_loss_db("okumura", d)
    assert info.value.key == "channel.path_loss"


def test_frequency_in_hz_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        make_channel("tr37885-highway", carrier_ghz=5.9e9)
    assert info.value.key == "channel.carrier_ghz"
    assert "Hz" in str(info.value) and "5.9 GHz" in str(info.value)
    with pytest.raises(ConfigError):
        make_channel("mode4", carrier_ghz=5.9e9)
    with pytest.raises(ConfigError):
        winner_b1_path_loss_db(np.array([10.0]), carrier_ghz=5.9e9)


@pytest.mark.parametrize("bad", [-5.0, math.nan])
def test_negative_or_nan_distance_is_an_error(bad: float) -> None:
    for f in (tr37885_path_loss_db, winner_b1_path_loss_db, free_space_path_loss_db):
        with pytest.raises(ValueError, match="distance"):
            f(np.array([10.0, bad]))
    with pytest.raises(ValueError, match=">= 0"):
        make_channel("tr37885-urban").evaluate(
            LinkBatch(np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([bad])),
            tx_height_m=np.ones(1), rx_height_m=np.ones(1), size_bytes=np.full(1, 100),
            rng=np.random.default_rng(0))


def test_zero_distance_has_no_tr37885_log() -> None:
    with pytest.raises(ValueError, match="> 0"):
        tr37885_path_loss_db(np.array([0.0]))


def test_per_table_r1_160284() -> None:
    t = PER_TABLES["qpsk-r0.7"]
    # table points, a midpoint (5 dB: (0.7 + 0.4) / 2 = 0.55), outside and NaN
    per = t.error_rate(np.array([0.0, 4.0, 5.0, 10.0, 16.0, -3.0, 25.0, math.nan]))
    np.testing.assert_allclose(per, [1.0, 0.7, 0.55, 0.045, 0.0, 1.0, 0.0, 1.0])
    # a caller that knows its SINRs are not NaN skips the NaN pass: the same values
    fin = t.error_rate(np.array([0.0, 4.0, 5.0, 10.0, 16.0, -3.0, 25.0]), nan_free=True)
    np.testing.assert_array_equal(fin, per[:7])
