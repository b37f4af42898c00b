"""Intersection collision warning and the crossing-path prediction it shares with LTA and
VRUCW (:mod:`v2x.apps._conflict`): hand-computed times, crossings, PETs; the assessment of a
hand-built window; the library's ICW cases run in SUMO."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from v2x.apps import (
    AppWindow,
    DecodedBsm,
    IcwConfig,
    IntersectionCollisionWarning,
    ReceivedLinks,
    make_app,
)
from v2x.apps._conflict import crossing_point, occupancy, predicted_pet, time_to_travel, to_frame
from v2x.errors import ConfigError
from v2x.msgset import MSG_TYPES

INF = math.inf
V50 = 50 / 3.6  # 13.889 m/s


# -- the prediction ------------------------------------------------------------------------


def test_time_to_travel_by_hand() -> None:
    t = time_to_travel([20.0, 20.0, 30.0, 0.0, -5.0, 20.0, 20.0, 20.0],
                       [10.0, 10.0, 10.0, 10.0, 10.0, 0.0, 10.0, math.nan],
                       [0.0, -2.0, -2.0, -2.0, 0.0, 0.0, 3.0, 0.0])
    # 20 m at 10 m/s: 2 s. Braking at 2 m/s²: 10 t - t² = 20, t = (10 - sqrt(20)) / 2 = 2.764 s.
    # 30 m > the stopping distance 10² / 4 = 25 m: never. Nothing to travel: 0. Standing: never.
    # A positive acceleration is not extrapolated: 2 s again. NaN speed: never.
    assert t.tolist() == pytest.approx([2.0, (10 - math.sqrt(20)) / 2, INF, 0.0, 0.0, INF, 2.0,
                                        INF])


def test_crossing_point_and_frame_by_hand() -> None:
    # a at (0, 0) heading east, b at (10, -20) heading north: they cross at (10, 0), 10 m
    # ahead of a and 20 m ahead of b, at right angles
    c = crossing_point(0.0, 0.0, 90.0, 10.0, -20.0, 0.0)
    assert (c.a_m[()], c.b_m[()], c.sin_angle[()], c.found[()]) == pytest.approx(
        (10.0, 20.0, 1.0, True))
    # b heading north-east (45 deg): b + t (0.707, 0.707) meets y = 0 at t = 28.28, x = 30
    c = crossing_point(0.0, 0.0, 90.0, 10.0, -20.0, 45.0)
    assert (c.a_m[()], c.b_m[()]) == pytest.approx((30.0, 20.0 * math.sqrt(2)))
    # 10 deg apart (< 30): following traffic, no crossing; 180 deg: oncoming, none either
    assert not crossing_point(0.0, 0.0, 90.0, 10.0, -20.0, 80.0).found[()]
    assert not crossing_point(0.0, 0.0, 90.0, 10.0, -20.0, 270.0).found[()]
    # (3, 4) seen from heading 0 (north): 4 m ahead, 3 m to the right
    assert [a[()] for a in to_frame(3.0, 4.0, 0.0)] == pytest.approx([4.0, 3.0])


def test_occupancy_and_pet_by_hand() -> None:
    # a 4.8 m car 10 m before the crossing at 10 m/s, the other 1.8 m wide: it occupies it
    # from 10 - 0.9 = 9.1 m (0.91 s) until 10 + 4.8 + 0.9 = 15.7 m (1.57 s)
    a = occupancy(10.0, 4.8, 0.9, 10.0)
    assert (a.t_in[()], a.t_out[()], a.gone[()]) == pytest.approx((0.91, 1.57, False))
    # the other from 1.91 s to 2.5 s: PET = 1.91 - 1.57 = 0.34 s; swapped, the same
    b = occupancy(20.0, 4.1, 0.9, 10.0)
    assert (b.t_in[()], b.t_out[()]) == pytest.approx((1.91, 2.5))
    assert predicted_pet(a, b)[()] == pytest.approx(0.34)
    assert predicted_pet(b, a)[()] == pytest.approx(0.34)
    # overlapping occupancies: negative PET
    assert predicted_pet(a, occupancy(10.0, 4.8, 0.9, 9.0))[()] < 0.0
    # past the crossing (rear + 0.9 m beyond it) or stopping before it: gone, PET inf
    assert occupancy(-6.0, 4.8, 0.9, 10.0).gone[()]
    stopping = occupancy(20.0, 4.8, 0.9, 10.0, -3.0)  # stops after 16.7 m < 19.1 m
    assert stopping.gone[()] and predicted_pet(a, stopping)[()] == INF


# -- the rule ------------------------------------------------------------------------------


def _eval(icw: IntersectionCollisionWarning | None = None, **kw: Any) -> Any:
    base: dict[str, Any] = dict(
        host_x=0.0, host_y=0.0, host_heading_deg=90.0, host_speed=V50, host_accel=0.0,
        host_length=4.8, host_width=1.8, remote_x=10.0, remote_y=-20.0, remote_heading_deg=0.0,
        remote_speed=10.0, remote_accel=0.0, remote_length=4.8, remote_width=1.8)
    base.update(kw)
    return (icw or IntersectionCollisionWarning()).evaluate(**base)


def test_the_rule_by_hand() -> None:
    # host eastbound 10 m before the crossing at 13.889 m/s: in from 9.1 / 13.889 = 0.655 s,
    # out at 15.7 / 13.889 = 1.130 s; remote northbound 20 m before it at 10 m/s: in 1.91 s,
    # out 2.57 s. PET = 1.91 - 1.130 = 0.780 s <= 2.0 and the host is 0.655 s <= 4.0 s away
    r = _eval()
    assert r.crossing.tolist() == [True]
    assert (r.host_to_crossing_m[0], r.remote_to_crossing_m[0]) == pytest.approx((10.0, 20.0))
    assert r.host_time_s[0] == pytest.approx(9.1 / V50)
    assert r.remote_time_s[0] == pytest.approx(1.91)
    assert r.pet_s[0] == pytest.approx(1.91 - 15.7 / V50)
    assert r.warn.tolist() == [True]


def test_timing_and_conflict_limits() -> None:
    # the host 60 m before the crossing: 59.1 / 13.889 = 4.255 s > 4.0 s: not yet, even on a
    # collision course (remote 43 m before it: in 4.21 s)
    assert not _eval(host_x=-50.0, remote_y=-43.0).warn[0]
    # 56 m: 55.1 / 13.889 = 3.967 s: warned
    assert _eval(host_x=-46.0, remote_y=-43.0).warn[0]
    # the remote 60 m away at 10 m/s comes 5.91 s in; the host has left at 1.13 s: PET 4.8 s
    assert _eval(remote_y=-60.0).pet_s[0] == pytest.approx(5.91 - 15.7 / V50)
    assert not _eval(remote_y=-60.0).warn[0]
    # the threshold is inclusive: with pet_threshold_s = PET it warns, just below it does not
    pet = 1.91 - 15.7 / V50
    assert _eval(IntersectionCollisionWarning(IcwConfig(pet_threshold_s=pet + 1e-9))).warn[0]
    assert not _eval(IntersectionCollisionWarning(IcwConfig(pet_threshold_s=pet - 1e-3))
                     ).warn[0]


def test_braking_remote_and_passed_remote() -> None:
    # braking at 3 m/s² the remote stops after 10² / 6 = 16.7 m, before the crossing's near
    # edge at 19.1 m: no conflict; at 2 m/s² (25 m) it gets in at
    # 2 x 19.1 / (10 + sqrt(100 - 76.4)) = 2.571 s and stops in it: PET = 2.571 - 1.130 s
    assert not _eval(remote_accel=-3.0).warn[0]
    r = _eval(remote_accel=-2.0)
    assert r.remote_time_s[0] == pytest.approx(38.2 / (10 + math.sqrt(23.6)))
    assert r.pet_s[0] == pytest.approx(38.2 / (10 + math.sqrt(23.6)) - 15.7 / V50)
    assert r.warn[0]
    # remote 3 m past the crossing: its rear + 0.9 m clears at 2.7 m, 0.27 s; the host comes
    # 0.655 s in: PET 0.385 s, warned; 6 m past (beyond 5.7 m): gone, no conflict
    assert _eval(remote_y=3.0).pet_s[0] == pytest.approx(9.1 / V50 - 0.27)
    assert _eval(remote_y=6.0).pet_s[0] == INF
    # a host braking at 10 m/s² stops after 13.889² / 20 = 9.65 m, in the crossing (its near
    # edge at 9.1 m): still a conflict; at 11 m/s² it stops after 8.77 m, before it: none
    assert _eval(host_accel=-10.0).warn[0]
    assert _eval(host_accel=-10.0).host_time_s[0] == pytest.approx(
        18.2 / (V50 + math.sqrt(V50**2 - 182.0)))
    assert not _eval(host_accel=-11.0).warn[0]


def test_parallel_opposite_and_unavailable_never_warn() -> None:
    r = _eval(remote_heading_deg=np.array([90.0, 270.0, 0.0, 0.0]),
              remote_speed=np.array([10.0, 10.0, math.nan, 10.0]),
              remote_x=np.array([10.0, 10.0, 10.0, math.nan]))
    assert r.crossing.tolist() == [False, False, True, False]
    assert r.warn.tolist() == [False, False, False, False]


def test_config_is_validated_by_the_registry() -> None:
    app = make_app("icw", {"warn_time_s": 3.0})
    assert isinstance(app, IntersectionCollisionWarning)
    assert app.config.warn_time_s == 3.0 and app.hold_ns == 500_000_000
    with pytest.raises(ConfigError) as info:
        make_app("icw", {"min_angle_deg": 120.0})
    assert info.value.key == "applications.icw.min_angle_deg"
    with pytest.raises(ConfigError):
        make_app("icw", {"warn_time": 3.0})


# -- a hand-built window -------------------------------------------------------------------


def bsm_window(hosts: dict[str, np.ndarray], bsm: dict[str, np.ndarray],
               link_host: list[int], link_bsm: list[int], distance_m: list[float],
               extra: dict[str, Any] | None = None) -> AppWindow:
    """One step: vehicle rows ``hosts`` (x, y, heading_deg, speed, accel, length, width,
    index), BSM rows ``bsm`` (DecodedBsm fields, sender), BSM links host row -> BSM row."""
    m = len(link_host)
    i64 = np.zeros(m, np.int64)
    links = ReceivedLinks(host=np.array(link_host, np.int64), tx=np.array(link_bsm, np.int64),
                          msg=np.array(link_bsm, np.int64),
                          msg_type=np.full(m, MSG_TYPES.index("BSM"), np.int8),
                          sender=bsm["sender"][link_bsm], step=i64,
                          distance_m=np.array(distance_m, np.float64), latency_ns=i64,
                          link=np.arange(m, dtype=np.int64))
    n_b = bsm["sender"].size
    nan = np.full(n_b, np.nan)
    decoded = DecodedBsm(sender=bsm["sender"], x=bsm["x"], y=bsm["y"], speed=bsm["speed"],
                         heading_deg=bsm["heading_deg"], accel=bsm.get("accel", nan),
                         length=bsm["length"], width=bsm["width"],
                         hard_braking=np.zeros(n_b, bool), brake=np.zeros(n_b, bool),
                         sec_mark=np.zeros(n_b, np.int64), t_ns=np.zeros(n_b, np.int64))
    return AppWindow(t_ns=np.zeros(1, np.int64), hosts=SimpleNamespace(**hosts),
                     host_step=np.zeros(hosts["x"].size, np.int64), links=links, bsm=decoded,
                     decoded=(extra or {}).get("decoded", lambda kind, rows: []),
                     sec_mark=np.zeros(1, np.int64), start_utc_ns=0, geo=(extra or {}).get("geo"))


def test_assess_a_hand_built_window() -> None:
    # vehicle 0 (host) eastbound 10 m before the crossing; vehicle 1 northbound 20 m before
    # it (the rule's reference pair); vehicle 2 far away (200 m): out of range, not assessed
    f = np.array
    hosts = dict(x=f([0.0, 10.0]), y=f([0.0, -20.0]), heading_deg=f([90.0, 0.0]),
                 speed=f([V50, 10.0]), accel=f([0.0, 0.0]), length=f([4.8, 4.8]),
                 width=f([1.8, 1.8]), index=f([0, 1]))
    bsm = dict(sender=f([1, 0, 2]), x=f([10.0, 0.0, 200.0]), y=f([-20.0, 0.0, 0.0]),
               speed=f([10.0, V50, 10.0]), heading_deg=f([0.0, 90.0, 0.0]),
               accel=f([math.nan, 0.0, 0.0]), length=f([4.8, 4.8, 4.8]),
               width=f([1.8, 1.8, 1.8]))
    # links: host 0 hears vehicle 1; host 1 hears vehicle 0; host 0 hears vehicle 2 at 200 m
    w = bsm_window(hosts, bsm, [0, 1, 0], [0, 1, 2], [22.4, 22.4, 200.0])
    a = IntersectionCollisionWarning().assess(w)
    assert a.link.tolist() == [0, 1] and a.target.tolist() == [1, 0]
    assert a.warn.tolist() == [True, True]
    # host 0: 9.1 / 13.889 s to the crossing; host 1: 19.1 / 10 = 1.91 s
    assert a.ttc_s.tolist() == pytest.approx([9.1 / V50, 1.91])
    assert a.criticality.tolist() == a.ttc_s.tolist()
    assert a.gap_m.tolist() == pytest.approx([10.0, 20.0])


# -- the library's cases in SUMO -------------------------------------------------------------


@pytest.mark.sumo
@pytest.mark.parametrize("case", ["xiqing-icw-crossing-50kmh", "xiqing-icw-no-action-stopped"])
def test_icw_cases_pass_in_sumo(case: str, tmp_path: Path) -> None:
    from v2x.cli import run_scenario

    res = run_scenario(case, out_dir=tmp_path, bus="memory")
    assert [v.passed for v in res.evaluation.verdicts] == [True] * len(res.evaluation.verdicts)
    k = res.evaluation.kpis
    if case.endswith("50kmh"):  # the hand values of the case's header
        assert (k["apps.ICW.first_warning_s"], k["apps.ICW.hosts_warned"]) == (3.2, 2)
        assert k["safety.collisions"] == 1
    else:
        assert k["apps.ICW.warnings"] == 0 and k["safety.collisions"] == 0


# -- rule 5: a vehicle that stops for its red ------------------------------------------------


def _spat_window(w: AppWindow, node: Any, spat: Any, frame: Any, t0: int) -> AppWindow:
    """``w`` plus a MAP (transmission 99) and a SPAT (transmission 98) from RSU node
    1_000_000 to host row 0 at step 0."""
    lk = w.links
    types = [MSG_TYPES.index("MAP"), MSG_TYPES.index("SPAT")]
    cat = np.concatenate
    links = ReceivedLinks(
        host=cat([lk.host, [0, 0]]), tx=cat([lk.tx, [99, 98]]), msg=cat([lk.msg, [99, 98]]),
        msg_type=cat([lk.msg_type, np.array(types, np.int8)]),
        sender=cat([lk.sender, [1_000_000, 1_000_000]]), step=cat([lk.step, [0, 0]]),
        distance_m=cat([lk.distance_m, [30.0, 30.0]]), latency_ns=cat([lk.latency_ns, [0, 0]]),
        link=np.arange(lk.n + 2, dtype=np.int64))
    from v2x.messages import MapData

    def decoded(kind: str, rows: np.ndarray) -> list[Any]:
        return [MapData(msg_cnt=0, nodes=(node,)) if kind == "MAP" else spat for _ in rows]

    return AppWindow(t_ns=w.t_ns, hosts=w.hosts, host_step=w.host_step, links=links, bsm=w.bsm,
                     decoded=decoded, sec_mark=w.sec_mark, start_utc_ns=t0, geo=frame)


def test_a_remote_that_can_stop_for_its_red_is_no_threat(node: Any, frame: Any) -> None:
    """Conftest node 7: the host eastbound on lane 1 of the west link (y = -1.75, straight
    phase 2), the remote northbound on the south link's lane (x = 1.75, phase 1, stop line
    y = -10)."""
    from tests.v2x.apps.test_rlvw import T0, _spat
    from v2x.messages import LightState

    f = np.array
    # the host 47.75 m before the crossing (1.75, -1.75): in at 46.85 / 13.889 = 3.37 s; the
    # remote 48.25 m before it, in at 47.35 / 13.889 = 3.41 s: a collision course (rules 1-4)
    hosts = dict(x=f([-46.0]), y=f([-1.75]), heading_deg=f([90.0]), speed=f([V50]),
                 accel=f([0.0]), length=f([4.8]), width=f([1.8]), index=f([0]))

    def remote_at(speed: float) -> AppWindow:
        bsm = dict(sender=f([1]), x=f([1.75]), y=f([-50.0]), speed=f([speed]),
                   heading_deg=f([0.0]), accel=f([0.0]), length=f([4.8]), width=f([1.8]))
        return bsm_window(hosts, bsm, [0], [0], [64.0])

    red = _spat({1: (LightState.RED, 30.0), 2: (LightState.PROTECTED_GREEN, 30.0)}, T0)
    green = _spat({1: (LightState.PROTECTED_GREEN, 30.0), 2: (LightState.PROTECTED_GREEN, 30.0)},
                  T0)
    # without MAP and SPAT: warned
    assert IntersectionCollisionWarning().assess(remote_at(V50)).warn.tolist() == [True]
    # the remote's light is red for 30 s more; 40 m before its line (y = -10) at 13.889 m/s it
    # needs 13.889² / 80 = 2.41 m/s² <= 3.0 to stop: expected to stop, no warning
    w = _spat_window(remote_at(V50), node, red, frame, T0)
    assert IntersectionCollisionWarning().assess(w).warn.tolist() == [False]
    # ... unless rule 5 is off
    off = IntersectionCollisionWarning(IcwConfig(use_map_spat=False))
    assert off.assess(_spat_window(remote_at(V50), node, red, frame, T0)).warn.tolist() == [True]
    # at 16 m/s it needs 256 / 80 = 3.2 m/s² > 3.0: a red-light runner, warned
    w = _spat_window(remote_at(16.0), node, red, frame, T0)
    assert IntersectionCollisionWarning().assess(w).warn.tolist() == [True]
    # green for the remote: it goes, warned
    w = _spat_window(remote_at(V50), node, green, frame, T0)
    assert IntersectionCollisionWarning().assess(w).warn.tolist() == [True]
    # the host's own light red (phase 2), 36 m before its line (x = -10) at 13.889 m/s:
    # 13.889² / 72 = 2.68 m/s² <= 3.0, the host is expected to stop: no warning
    host_red = _spat({1: (LightState.PROTECTED_GREEN, 30.0), 2: (LightState.RED, 30.0)}, T0)
    w = _spat_window(remote_at(V50), node, host_red, frame, T0)
    assert IntersectionCollisionWarning().assess(w).warn.tolist() == [False]
