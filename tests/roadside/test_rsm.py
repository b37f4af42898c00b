"""The RSM source: roadside perception of a large synthetic set of road users, checked end to
end by decoding the UPER frames and comparing them with the truth."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
import sumolib

from roadside import RoadsideUnit, RsmConfig, RsuSite, make_rsus
from tests.roadside.conftest import GridFiles
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import ParticipantType, Rsm, SourceType, decode_frame
from v2x.sim import PERSON_NODE_BASE, RoadUsers

pytestmark = pytest.mark.sumo
START = dt.datetime(2026, 6, 1, 8, 0, 12, 345000, tzinfo=dt.timezone(dt.timedelta(hours=8)))
EPOCH_NS = int(START.timestamp() * 1000) * 1_000_000
KW = {"antenna_height_m": 6.0, "start": START, "spat_period_ns": 100_000_000,
      "map_period_ns": 1_000_000_000}
X0, Y0 = 500.0, 500.0


def _users(n: int, seed: int = 11, half: float = 200.0) -> RoadUsers:
    """``n`` users uniform in a square of side 2 ``half`` around the RSU: every 4th a
    pedestrian, half of the vehicles equipped; nodes 0 .. n-1 (persons at PERSON_NODE_BASE +)."""
    g = np.random.default_rng(seed)
    ped = np.arange(n) % 4 == 3
    node = np.where(ped, PERSON_NODE_BASE + np.arange(n), np.arange(n)).astype(np.int64)
    return RoadUsers(
        node=node, ptc_type=np.where(ped, 3, 1).astype(np.int8),
        x=X0 + g.uniform(-half, half, n), y=Y0 + g.uniform(-half, half, n),
        speed=np.where(ped, 1.3, 12.0), heading_deg=g.uniform(0, 360, n),
        accel=np.where(ped, np.nan, -1.5), length=np.where(ped, 0.3, 4.5),
        width=np.where(ped, 0.5, 1.8), classification=np.where(ped, 82, 10).astype(np.int16),
        equipped=~ped & (np.arange(n) % 2 == 0))


def _rsu(grid: GridFiles, net: sumolib.net.Net, cfg: RsmConfig, seed: int = 3,
         x: float = X0) -> RoadsideUnit:
    (rsu,) = make_rsus(None, net, [RsuSite(x=x, y=Y0, name="r")],
                       geo=GeoFrame.from_net(str(grid.net)), seed=seed, rsm=cfg, **KW)
    return rsu


def _decoded(out: list, t_ns: int) -> list[Rsm]:
    ms = [decode_frame(o.payload, now_ns=EPOCH_NS + t_ns) for o in out]
    assert all(isinstance(m, Rsm) for m in ms)
    return ms  # type: ignore[return-value]


def _node_of(ptc_id: np.ndarray, users: RoadUsers) -> np.ndarray:
    """The user row of each ptcId (ptcId = 1 + node mod 65535, unique here)."""
    key = 1 + users.node % 65535
    order = np.argsort(key)
    return order[np.searchsorted(key[order], ptc_id)]


def test_perception_statistics_end_to_end(grid: GridFiles, grid_net: sumolib.net.Net) -> None:
    p, sigma, rng_m = 0.8, 0.7, 150.0
    users = _users(20_000)
    rsu = _rsu(grid, grid_net, RsmConfig(range_m=rng_m, detection_probability=p,
                                         position_sigma_m=sigma))
    t = 7 * 100_000_000
    out = rsu.transmit(t, users)
    ms = _decoded(out, t)
    assert all(o.msg_type == "RSM" and o.size_bytes == len(o.payload) for o in out)
    # at most 16 participants per RSM, all full but the last; consecutive msgCnt
    assert [len(m.participants) for m in ms[:-1]] == [16] * (len(ms) - 1)
    assert 1 <= len(ms[-1].participants) <= 16
    assert [o.msg_cnt for o in out] == [(out[0].msg_cnt + k) % 128 for k in range(len(out))]
    parts = [q for m in ms for q in m.participants]
    rows = _node_of(np.array([q.ptc_id for q in parts]), users)
    # candidates: unequipped users within range_m (true position)
    d = np.hypot(users.x - X0, users.y - Y0)
    cand = (d <= rng_m) & ~users.equipped
    n_cand = int(cand.sum())
    assert n_cand > 4000
    assert cand[rows].all() and len(set(rows.tolist())) == len(rows)
    # detection rate within 3 sigma of binomial sampling error of p
    rate = len(rows) / n_cand
    assert abs(rate - p) <= 3 * math.sqrt(p * (1 - p) / n_cand)
    # position error per axis: decoded lat/lon back to x/y minus the truth
    geo = GeoFrame.from_net(str(grid.net))
    ex, ey = geo.to_xy(np.array([q.pos.lat_deg for q in parts]),
                       np.array([q.pos.lon_deg for q in parts]))
    err = np.stack([ex - users.x[rows], ey - users.y[rows]])
    n = len(rows)
    # the sample std of n normals has a standard error of about sigma / sqrt(2 n); the
    # 1e-7 degree quantization (about 1 cm) adds nothing visible at this tolerance
    assert np.abs(err.std(axis=1, ddof=1) - sigma).max() <= 3 * sigma / math.sqrt(2 * n)
    assert np.abs(err.mean(axis=1)).max() <= 3 * sigma / math.sqrt(n)
    # the rest of each participant: the user's own values, quantized by the standard
    ptc = users.ptc_type[rows]
    assert [int(q.ptc_type) for q in parts] == ptc.tolist()
    assert {q.source for q in parts} == {SourceType.INTEGRATED}
    assert {q.pos_confidence for q in parts} == {8}  # a2m: 2.45 x 0.7 m = 1.7 m <= 2 m
    assert {q.sec_mark_s for q in parts} == {13.045}  # 08:00:12.345 + 0.7 s
    assert [q.speed_mps for q in parts] == pytest.approx(users.speed[rows].tolist(), abs=0.01)
    assert [q.heading_deg for q in parts] == pytest.approx(users.heading_deg[rows].tolist(),
                                                           abs=0.0125 / 2 + 1e-9)
    assert {(q.length_m, q.width_m, q.classification) for q in parts} == {
        (4.5, 1.8, 10), (0.3, 0.5, 82)}
    assert {q.accel[0] if q.accel else None for q in parts} == {-1.5, None}
    assert all((q.accel is None) == (q.ptc_type == ParticipantType.PEDESTRIAN) for q in parts)
    # the same seed perceives the same; another RSU of the run draws its own numbers
    again = _rsu(grid, grid_net, RsmConfig(range_m=rng_m, detection_probability=p,
                                           position_sigma_m=sigma))
    assert [o.payload for o in again.transmit(t, users)] == [o.payload for o in out]


def test_range_cut_is_exact_and_which_selects_users(grid: GridFiles,
                                                    grid_net: sumolib.net.Net) -> None:
    # along 8 directions: users at 99.99 m (in) and 100.01 m (out), equipped or not
    ang = np.repeat(np.arange(8) * 45.0, 4)
    r = np.tile([99.99, 100.01, 99.99, 100.01], 8)
    eq = np.tile([False, False, True, True], 8)
    n = ang.size
    users = RoadUsers(
        node=np.arange(n, dtype=np.int64), ptc_type=np.ones(n, np.int8),
        x=X0 + r * np.sin(np.radians(ang)), y=Y0 + r * np.cos(np.radians(ang)),
        speed=np.full(n, 5.0), heading_deg=ang, accel=np.zeros(n), length=np.full(n, 4.0),
        width=np.full(n, 1.7), classification=np.full(n, -1, np.int16), equipped=eq)
    geo = GeoFrame.from_net(str(grid.net))
    for which, want in (("unequipped", np.flatnonzero((r < 100) & ~eq)),
                        ("all", np.flatnonzero(r < 100))):
        rsu = _rsu(grid, grid_net, RsmConfig(range_m=100.0, detection_probability=1.0,
                                             position_sigma_m=0.0, which=which))
        parts = [q for m in _decoded(rsu.transmit(0, users), 0) for q in m.participants]
        assert [q.ptc_id - 1 for q in parts] == want.tolist()  # ascending node
        ex, ey = geo.to_xy(np.array([q.pos.lat_deg for q in parts]),
                           np.array([q.pos.lon_deg for q in parts]))
        # no noise: the true position within the 1e-7 degree quantization (< 1.2 cm)
        assert np.hypot(ex - users.x[want], ey - users.y[want]).max() < 0.012
        assert {q.pos_confidence for q in parts} == {15}  # a1cm
        assert {q.classification for q in parts} == {None}  # -1: vehicleClass absent


def test_rsm_period_ids_and_empty_steps(grid: GridFiles, grid_net: sumolib.net.Net) -> None:
    users = _users(400, half=40.0)
    rsu = _rsu(grid, grid_net, RsmConfig(detection_probability=1.0, which="all"))
    # RSM every 100 ms (T/CSAE 159): nothing at 50 ms, nothing without users
    assert rsu.transmit(50_000_000, users) == []
    assert rsu.transmit(100_000_000, RoadUsers.empty()) == []
    out = rsu.transmit(200_000_000, users)
    assert len(out) == 25  # 400 users, 16 per RSM
    ids = [q.ptc_id for m in _decoded(out, 200_000_000) for q in m.participants]
    # ptcId = 1 + node mod 65535 (0 is the RSU itself): persons too, stable per node
    assert ids == [1 + int(v) % 65535 for v in np.sort(users.node)]  # ascending node
    assert 1 + (PERSON_NODE_BASE + 3) % 65535 in ids
    # users out of range: no RSM at all
    far = _rsu(grid, grid_net, RsmConfig(which="all"), x=X0 + 1000.0)
    assert far.transmit(0, users) == []


@pytest.mark.parametrize(("kw", "key"), [
    ({"range_m": 0.0}, "rsm.range_m"),
    ({"detection_probability": 1.5}, "rsm.detection_probability"),
    ({"position_sigma_m": -1.0}, "rsm.position_sigma_m"),
    ({"which": "some"}, "rsm.which"),
    ({"source": "radar"}, "rsm.source"),
    ({"period_ns": 0}, "rsm.period"),
])
def test_bad_rsm_settings_are_config_errors(kw: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        RsmConfig(**kw)
    assert err.value.key == key


def test_road_users_columns_must_agree() -> None:
    u = RoadUsers.empty()
    assert u.n == 0 and u.equipped.dtype == np.bool_ and u.ptc_type.dtype == np.int8
    cols = {k: getattr(u, k) for k in u.__dataclass_fields__}
    with pytest.raises(ConfigError, match="RoadUsers.x has 1 rows"):
        RoadUsers(**{**cols, "x": np.zeros(1)})
