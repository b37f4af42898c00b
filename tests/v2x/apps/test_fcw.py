"""Forward collision warning: hand-computed geometry, TTC, reduction and rising edges."""

from __future__ import annotations

import math

import numpy as np
import pytest

import v2x.apps
from v2x.apps import ForwardCollisionWarning, ThreatHold, most_critical
from v2x.errors import ConfigError

INF = math.inf
NAN = math.nan


def _eval(fcw: ForwardCollisionWarning | None = None, **links: object):  # noqa: ANN202
    base = dict(
        ego_x=0.0, ego_y=0.0, ego_speed=15.0, ego_heading_deg=0.0,
        remote_x=0.0, remote_y=25.0, remote_speed=10.0, remote_heading_deg=0.0,
        remote_length=5.0,
    )
    base.update(links)
    return (fcw or ForwardCollisionWarning()).evaluate(**base)  # type: ignore[arg-type]


def test_public_surface_is_sorted() -> None:
    assert v2x.apps.__all__ == sorted(v2x.apps.__all__)
    for name in v2x.apps.__all__:
        assert hasattr(v2x.apps, name)


def test_reference_case_north() -> None:
    # ego (0,0) north 15 m/s; remote front at (0,25), 5 m long, 10 m/s
    # gap = 25 - 5 = 20 m; closing = 5 m/s; TTC = 4.0 s >= 2.7 -> no warning
    r = _eval()
    assert r.ahead.tolist() == [True]
    assert r.gap_m[0] == pytest.approx(20.0)
    assert r.closing_mps[0] == pytest.approx(5.0)
    assert r.ttc_s[0] == pytest.approx(4.0)
    assert r.required_decel_mps2[0] == pytest.approx(25.0 / 40.0)  # 5² / (2*20)
    assert r.warn.tolist() == [False]


def test_reference_case_warns_when_closer() -> None:
    # remote front at 15 m: gap 10 m, closing 5 m/s -> TTC 2.0 s < 2.7 -> warn
    r = _eval(remote_y=15.0)
    assert r.ttc_s[0] == pytest.approx(2.0)
    assert r.warn.tolist() == [True]
    # the threshold is strict: TTC exactly 2.7 s (gap 13.5 m) does not warn, 2.69 s does
    r = _eval(remote_y=18.5, ego_speed=15.0, remote_speed=10.0)
    assert r.ttc_s[0] == pytest.approx(2.7)
    assert r.warn.tolist() == [False]
    assert _eval(remote_y=18.45).warn.tolist() == [True]  # gap 13.45 -> 2.69 s


def test_remote_behind_is_not_ahead() -> None:
    # remote at (0,-25): longitudinal -25 m < 0
    r = _eval(remote_y=-25.0)
    assert r.ahead.tolist() == [False]
    assert r.ttc_s[0] == INF
    assert r.warn.tolist() == [False]


def test_opposite_direction_is_not_same_direction() -> None:
    # heading difference 180 deg > 30; also 31 deg is rejected and 30 accepted (wrapped: 330)
    assert _eval(remote_heading_deg=180.0, remote_y=15.0).ahead.tolist() == [False]
    assert _eval(remote_heading_deg=31.0, remote_y=15.0).ahead.tolist() == [False]
    assert _eval(remote_heading_deg=330.0, remote_y=15.0).warn.tolist() == [True]
    # ego heading 350, remote heading 10: difference 20 deg across north -> same direction.
    # remote front 15 m straight ahead of the ego: (15 sin 350°, 15 cos 350°) = (-2.605, 14.772)
    # -> longitudinal 15, lateral 0, gap 10, TTC 2.0 -> warn
    rx, ry = 15.0 * math.sin(math.radians(350.0)), 15.0 * math.cos(math.radians(350.0))
    r = _eval(ego_heading_deg=350.0, remote_heading_deg=10.0, remote_x=rx, remote_y=ry)
    assert r.ttc_s[0] == pytest.approx(2.0)
    assert r.warn.tolist() == [True]
    # the point (0, 15) seen from heading 350: lateral = 0*cos - 15*sin(350°) = +2.605 m > 1.75
    r = _eval(ego_heading_deg=350.0, remote_heading_deg=10.0, remote_x=0.0, remote_y=15.0)
    assert r.ahead.tolist() == [False]


def test_equal_speeds_give_infinite_ttc() -> None:
    r = _eval(remote_speed=15.0, remote_y=10.0)
    assert r.ahead.tolist() == [True]
    assert r.ttc_s[0] == INF
    assert r.warn.tolist() == [False]


def test_adjacent_lane_is_ignored() -> None:
    # lateral offset 3.5 m > 1.75 m (both sides); 1.75 m exactly is still the same lane
    assert _eval(remote_x=3.5, remote_y=15.0).ahead.tolist() == [False]
    assert _eval(remote_x=-3.5, remote_y=15.0).ahead.tolist() == [False]
    assert _eval(remote_x=1.75, remote_y=15.0).warn.tolist() == [True]


def test_heading_east_geometry() -> None:
    # ego at (100, 50) heading 90 (east): unit (sin 90, cos 90) = (1, 0)
    # remote front at (115, 50.5): longitudinal 15, lateral (to the right = south) = -0.5
    # gap 15 - 4 = 11 m; closing 20 - 12 = 8 m/s; TTC 1.375 s -> warn
    r = _eval(
        ego_x=100.0, ego_y=50.0, ego_speed=20.0, ego_heading_deg=90.0,
        remote_x=115.0, remote_y=50.5, remote_speed=12.0, remote_heading_deg=90.0,
        remote_length=4.0,
    )
    assert r.gap_m[0] == pytest.approx(11.0)
    assert r.ttc_s[0] == pytest.approx(1.375)
    assert r.warn.tolist() == [True]
    # the same remote seen by an ego heading north is 15 m to the right: not in the lane
    assert _eval(ego_x=100.0, ego_y=50.0, remote_x=115.0, remote_y=50.5).ahead.tolist() == [False]


def test_overlap_does_not_warn() -> None:
    # remote front 3 m ahead, 5 m long: gap -2 m, TTC -0.4 s -> no warning
    r = _eval(remote_y=3.0)
    assert r.ahead.tolist() == [True]
    assert r.gap_m[0] == pytest.approx(-2.0)
    assert r.ttc_s[0] == pytest.approx(-0.4)
    assert r.warn.tolist() == [False]


def test_unavailable_remote_values_never_warn() -> None:
    for field in ("remote_speed", "remote_heading_deg", "remote_length", "remote_x"):
        r = _eval(remote_y=15.0, **{field: NAN})
        assert r.ahead.tolist() == [False], field
        assert r.warn.tolist() == [False], field


def test_vectorized_links() -> None:
    # the cases above as one batch of 4 links (ego scalars broadcast)
    fcw = ForwardCollisionWarning()
    r = fcw.evaluate(
        ego_x=0.0, ego_y=0.0, ego_speed=15.0, ego_heading_deg=0.0,
        remote_x=np.array([0.0, 0.0, 3.5, 0.0]),
        remote_y=np.array([25.0, 15.0, 15.0, -25.0]),
        remote_speed=np.array([10.0, 10.0, 10.0, 10.0]),
        remote_heading_deg=np.zeros(4),
        remote_length=np.full(4, 5.0),
    )
    np.testing.assert_array_equal(r.ahead, [True, True, False, False])
    np.testing.assert_allclose(r.ttc_s, [4.0, 2.0, INF, INF])
    np.testing.assert_array_equal(r.warn, [False, True, False, False])
    with pytest.raises(ValueError, match="shape"):
        fcw.evaluate(
            ego_x=np.zeros(3), ego_y=0.0, ego_speed=1.0, ego_heading_deg=0.0,
            remote_x=np.zeros(2), remote_y=1.0, remote_speed=0.0, remote_heading_deg=0.0,
            remote_length=1.0,
        )


def test_required_deceleration_alternative() -> None:
    # gap 20 m, closing 20 m/s: TTC 1.0 s warns anyway; pick a case TTC does not catch:
    # gap 45 m, closing 15 m/s -> TTC 3.0 s (no TTC warning), decel 225/90 = 2.5 m/s²
    kwargs = dict(remote_y=50.0, ego_speed=25.0, remote_speed=10.0)
    assert _eval(**kwargs).warn.tolist() == [False]
    assert _eval(ForwardCollisionWarning(required_decel_mps2=2.5), **kwargs).warn.tolist() == [
        True
    ]
    assert _eval(ForwardCollisionWarning(required_decel_mps2=2.6), **kwargs).warn.tolist() == [
        False
    ]


def test_configurable_thresholds() -> None:
    # TTC 4.0 s warns with a 5 s threshold; lateral 2 m accepted with a 2.5 m half lane
    assert _eval(ForwardCollisionWarning(ttc_threshold_s=5.0)).warn.tolist() == [True]
    assert _eval(ForwardCollisionWarning(half_lane_m=2.5), remote_x=2.0, remote_y=15.0).warn[0]
    assert not _eval(remote_x=2.0, remote_y=15.0).warn[0]
    fcw = ForwardCollisionWarning(max_heading_diff_deg=45.0)
    assert _eval(fcw, remote_heading_deg=40.0, remote_y=15.0).warn[0]


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"ttc_threshold_s": 0.0}, "ttc_threshold_s"),
        ({"ttc_threshold_s": -1.0}, "ttc_threshold_s"),
        ({"half_lane_m": float("nan")}, "half_lane_m"),
        ({"max_heading_diff_deg": 200.0}, "max_heading_diff_deg"),
        ({"required_decel_mps2": "fast"}, "required_decel_mps2"),
        ({"min_speed_kmh": -1.0}, "min_speed_kmh"),
        ({"min_speed_kmh": 30.0}, "rearm_speed_kmh"),  # re-arm (20) below standby (30)
    ],
)
def test_bad_configuration(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        ForwardCollisionWarning(**kwargs)  # type: ignore[arg-type]
    assert info.value.key == key


def test_most_critical_per_receiver() -> None:
    # links:        0    1    2    3    4    5
    receiver = [7, 3, 7, 3, 5, 7]
    ttc = [2.0, 1.5, 0.9, 2.5, 1.0, 0.9]
    warn = [True, True, True, True, False, True]
    c = most_critical(receiver, ttc, warn)
    # receiver 3: links 1 (1.5) and 3 (2.5) -> 1; receiver 5: no warning link;
    # receiver 7: links 0 (2.0), 2 (0.9), 5 (0.9) -> tie -> lowest link 2
    np.testing.assert_array_equal(c.receiver, [3, 7])
    np.testing.assert_array_equal(c.link, [1, 2])
    np.testing.assert_allclose(c.ttc_s, [1.5, 0.9])
    empty = most_critical(receiver, ttc, [False] * 6)
    assert empty.receiver.size == 0 and empty.link.size == 0
    with pytest.raises(ValueError, match="shape"):
        most_critical([1, 2], [1.0], [True, True])


def test_state_reports_rising_edges_only() -> None:
    state = ThreatHold(capacity=4)
    # step 1: 1 and 2 become active -> both new
    np.testing.assert_array_equal(state.update(np.array([1, 2])), [True, True])
    # step 2: 2 stays, 3 new
    np.testing.assert_array_equal(state.update(np.array([2, 3])), [False, True])
    # step 3: nobody
    assert state.update(np.array([], dtype=np.int64)).size == 0
    # step 4: 2 again -> new again after a gap; index 10 grows the state; duplicate 10 once
    np.testing.assert_array_equal(state.update(np.array([2, 10, 10])), [True, True, False])
    assert state.capacity >= 11
    np.testing.assert_array_equal(state.active, [2, 10])
    # clear forgets: 10 active next step counts as new
    state.clear([10])
    np.testing.assert_array_equal(state.update(np.array([2, 10])), [False, True])
    with pytest.raises(ValueError):
        state.update(np.array([-1]))
    with pytest.raises(ValueError):
        state.update(np.array([1.5]))


def test_threats_are_held_per_remote_and_windows_do_not_matter() -> None:
    # (step, ego, remote, warn); steps 100 ms apart, hold 500 ms
    ms = 1_000_000
    assessments = [(0, 1, 7, True),    # ego 1 warned by remote 7: starts at step 0
                   (1, 1, 8, False),   # a BSM of a third vehicle changes nothing
                   (2, 1, 7, False),   # 7's next BSM: no threat any more, warning ends
                   (3, 1, 7, True),    # starts again at step 3
                   # steps 4-8: no BSM from 7 (lost): held up to 500 ms after step 3
                   (5, 2, 7, True),    # another ego: starts at step 5
                   (10, 1, 7, True)]   # step 9 was past the hold: starts again at step 10
    want = [(0, 1), (3, 1), (5, 2), (10, 1)]
    t = np.arange(11) * 100 * ms
    for window in (11, 1, 3, 4):
        state = ThreatHold()
        got = []
        for w0 in range(0, 11, window):
            n = min(window, 11 - w0)
            part = [a for a in assessments if w0 <= a[0] < w0 + n]
            k, e, r, w = (np.array(c, dtype=d) for c, d in zip(
                zip(*part, strict=True) if part else ([], [], [], []),
                (np.int64, np.int64, np.int64, bool), strict=True))
            sk, se = state.update_pairs(e, r, k - w0, w, t[w0:w0 + n], 500 * ms)
            got.extend(zip((sk + w0).tolist(), se.tolist(), strict=True))
        assert got == want, window
        # after step 10: ego 1 warned then, ego 2's threat of step 5 is exactly 500 ms old
        np.testing.assert_array_equal(state.active, [1, 2])
    with pytest.raises(ValueError, match="shape"):
        ThreatHold().update_pairs(np.array([1]), np.array([2, 3]), np.array([0]),
                                np.array([True]), np.array([0]), 1)
    with pytest.raises(ValueError, match="0..n_steps-1"):
        ThreatHold().update_pairs(np.array([1]), np.array([2]), np.array([1]),
                                np.array([True]), np.array([0]), 1)
def test_holding_until_the_last_threat_has_expired() -> None:
    # the loop skips a window without warning assessments while nothing is held
    ms = 1_000_000
    state = ThreatHold()
    assert not state.holding
    t = np.arange(3) * 100 * ms
    one = np.array([1])
    sk, se = state.update_pairs(one, np.array([7]), np.array([0]), np.array([True]), t,
                                500 * ms)
    assert (sk.tolist(), se.tolist()) == ([0], [1]) and state.holding
    # 1 s later, a BSM of another remote: 7's threat of t = 0 is past its hold
    sk, _ = state.update_pairs(one, np.array([8]), np.array([0]), np.array([False]),
                               t + 1000 * ms, 500 * ms)
    assert sk.size == 0 and not state.holding and state.active.size == 0


def test_pipeline_one_step() -> None:
    # two egos (0 and 1) each hearing two remotes; ego 0 is warned by both, ego 1 by none
    fcw = ForwardCollisionWarning()
    receiver = np.array([0, 0, 1, 1])
    r = fcw.evaluate(
        ego_x=np.array([0.0, 0.0, 50.0, 50.0]), ego_y=0.0, ego_speed=15.0,
        ego_heading_deg=0.0,
        remote_x=np.array([0.0, 0.5, 50.0, 53.5]),
        remote_y=np.array([15.0, 10.0, 25.0, 10.0]),
        remote_speed=10.0, remote_heading_deg=0.0, remote_length=5.0,
    )
    # ego 0: link 0 gap 10 -> TTC 2.0; link 1 gap 5 -> TTC 1.0 (most critical)
    # ego 1: link 2 TTC 4.0; link 3 in the adjacent lane
    c = most_critical(receiver, r.ttc_s, r.warn)
    np.testing.assert_array_equal(c.receiver, [0])
    np.testing.assert_array_equal(c.link, [1])
    state = ThreatHold()
    np.testing.assert_array_equal(state.update(c.receiver), [True])
    np.testing.assert_array_equal(state.update(c.receiver), [False])


@pytest.mark.parametrize("decel", [None, 6.67])
def test_may_warn_holds_wherever_the_rule_warns(decel: float | None) -> None:
    # the trig-free prefilter is a necessary condition: on 200k random links (many of them
    # near the bounds) every warning link passes it, and it removes most of the others
    rng = np.random.default_rng(11)
    m = 200_000
    fcw = ForwardCollisionWarning(required_decel_mps2=decel)
    ex, ey = rng.uniform(-5, 5, m), rng.uniform(-5, 5, m)
    eh = rng.uniform(0, 360, m)
    dist = rng.uniform(0, 80, m)
    bearing = np.radians(eh + rng.normal(0, 3, m))
    rx, ry = ex + dist * np.sin(bearing), ey + dist * np.cos(bearing)
    ev, rv = rng.uniform(0, 20, m), rng.uniform(0, 20, m)
    rh = eh + rng.normal(0, 20, m)
    rlen = rng.uniform(3, 12, m)
    res = fcw.evaluate(ego_x=ex, ego_y=ey, ego_speed=ev, ego_heading_deg=eh, remote_x=rx,
                       remote_y=ry, remote_speed=rv, remote_heading_deg=rh, remote_length=rlen)
    may = fcw.may_warn(rx - ex, ry - ey, ev - rv, rlen)
    assert res.warn.sum() > 1000
    assert not np.any(res.warn & ~may)
    assert may.mean() < 0.5
    same = fcw.same_direction(eh, rh)
    assert not np.any(res.warn & ~same)
    assert not fcw.may_warn(np.array([np.nan]), np.array([0.0]), np.array([5.0]),
                            np.array([4.0]))[0]


def test_the_rewarn_rule_is_a_speed_hysteresis_per_host() -> None:
    # defaults: standby below 10 km/h (2.778 m/s), armed again from 20 km/h (5.556 m/s)
    # vehicle 0: 50 km/h (13.89 m/s) armed; 1.0 m/s = 3.6 km/h standby; 3.0 m/s = 10.8 km/h
    # (between) keeps standby -- the warned host creeping up to the stopped lead after its
    # release; 5.0 m/s = 18 km/h still standby; 5.6 m/s = 20.16 km/h armed; 3.0 m/s keeps it.
    # vehicle 1, first seen at 4.0 m/s = 14.4 km/h (between): armed (never disarmed);
    # vehicle 2, NaN speed (unavailable): keeps its state, armed.
    speeds0 = [13.89, 1.0, 3.0, 5.0, 5.6, 3.0]
    want0 = [True, False, False, False, True, True]
    for window in (6, 1, 2, 4):  # the same whatever the grouping of steps into windows
        fcw = ForwardCollisionWarning()
        got0: list[bool] = []
        for w0 in range(0, 6, window):
            ks = np.arange(w0, min(w0 + window, 6))
            # rows as the loop gives them: each step's vehicles, 2 then 0 then 1
            veh = np.tile([2, 0, 1], ks.size)
            step = np.repeat(ks - w0, 3)
            speed = np.column_stack([np.full(ks.size, NAN), np.array(speeds0)[ks],
                                     np.full(ks.size, 4.0)]).ravel()
            armed = fcw.armed(veh, step, speed)
            got0 += armed[veh == 0].tolist()
            assert armed[veh == 1].all() and armed[veh == 2].all()
        assert got0 == want0, window
    # 0 and 0: the rule is off, every host is armed (even at a standstill)
    off = ForwardCollisionWarning(min_speed_kmh=0.0, rearm_speed_kmh=0.0)
    assert off.armed(np.array([0, 0]), np.array([0, 1]), np.array([0.0, 1.0])).all()
    assert off.armed(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)).size == 0
