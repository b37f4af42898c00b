"""Red light violation warning: the rule on hand-computed cases, then the whole chain (MAP and
SPAT through UPER, map matching, SPAT look-up)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pydantic
import pytest

from v2x.apps import (
    RedLightViolationWarning,
    RlvwConfig,
    SpatView,
    StopCircles,
    lane_table,
    match,
)
from v2x.geo import GeoFrame
from v2x.messages import (
    IntersectionState,
    IntersectionStatus,
    LightState,
    MapData,
    MapNode,
    NodeReferenceId,
    Phase,
    PhaseState,
    Spat,
    TimeCountingDown,
    decode_frame,
    encode_frame,
)

RED, YELLOW, GREEN = int(LightState.RED), int(LightState.YELLOW), int(LightState.PROTECTED_GREEN)
T0 = 1_714_521_600_300_000_000  # 2024-05-01 00:00:00.300 UTC [ns]
SEC = 1_000_000_000


def test_every_light_that_says_stop_warns_like_red() -> None:
    # the host of the rule's hand example (14 m/s, 30 m: needs 3.27 m/s²), the light lasting
    # 30 s more: LightState 3 red, 2 stop-then-proceed (SUMO "s") and 4 pre-movement (SUMO
    # "u", red+yellow) say stop; 5/6 green, 8 flashing yellow, 1 dark, 0 unavailable do not
    lights = np.array([3, 2, 4, 5, 6, 8, 1, 0])
    r = RedLightViolationWarning().evaluate(to_stop_m=np.full(8, 30.0),
                                            speed_mps=np.full(8, 14.0), light=lights,
                                            time_left_s=np.full(8, 30.0))
    assert r.warn.tolist() == [True, True, True, False, False, False, False, False]


def test_config_defaults_and_validation() -> None:
    cfg = RlvwConfig()
    assert (cfg.enabled, cfg.decel_threshold_mps2, cfg.warn_distance_m, cfg.reaction_time_s,
            cfg.maneuver, cfg.lane_tolerance_m, cfg.max_heading_diff_deg) == (
        True, 3.0, 150.0, 0.0, "straight", 0.5, 45.0)
    assert RlvwConfig.model_validate({"enabled": False, "decel_threshold_mps2": 4}).enabled is False
    for bad in ({"decel_threshold_mps2": 0}, {"warn_distance_m": -1},
                {"reaction_time_s": float("nan")}, {"maneuver": "reverse"},
                {"max_heading_diff_deg": 181}, {"ttc": 1}):
        with pytest.raises(pydantic.ValidationError):
            RlvwConfig.model_validate(bad)


def test_the_rule_by_hand() -> None:
    # v = 14 m/s; d = 30 m: t = 30/14 = 2.142857 s, needed decel 14²/60 = 3.2667 m/s² > 3
    d = np.array([30, 30, 30, 30, 200, 100, 30, 30, 30, 5, 0, -1, 24])
    v = np.array([14, 14, 14, 14, 14, 14, 14, 14, 14, 0, 10, 14, 12])
    light = np.array([GREEN, RED, RED, RED, RED, RED, YELLOW, YELLOW, RED, RED, RED, RED, RED])
    left = np.array([20, 30, 2.0, np.inf, 30, 30, 1.0, 3.0, 2.2, 30, 30, 30, 30])
    r = RedLightViolationWarning().evaluate(to_stop_m=d, speed_mps=v, light=light,
                                            time_left_s=left)
    assert r.warn.tolist() == [
        False,  # green: never
        True,   # red for 30 s more, arrives in 2.14 s, needs 3.27 m/s²
        False,  # red ends in 2.0 s, before the arrival at 2.14 s: green on arrival
        True,   # red with an unknown end
        False,  # red but 200 m away (beyond 150 m)
        False,  # red, 100 m: 196/200 = 0.98 m/s² is enough: the driver can stop
        True,   # yellow ends in 1 s, arrival at 2.14 s: red on arrival
        False,  # yellow for 3 s more: passes on yellow
        True,   # red ends in 2.2 s, arrival 2.14 s: still red
        False,  # stopped 5 m before the line: needs nothing
        True,   # on the line at 10 m/s: needs an infinite deceleration
        False,  # 1 m past the line: too late for a warning
        False,  # 144/48 = 3.0 m/s² exactly: not above the threshold
    ]
    np.testing.assert_allclose(r.time_to_stop_s[[1, 9]], [30 / 14, np.inf])
    np.testing.assert_allclose(r.required_decel_mps2[[1, 5, 9, 10, 12]],
                               [196 / 60, 0.98, 0.0, np.inf, 3.0])
    assert np.isnan(r.required_decel_mps2[11])
    assert r.red_at_arrival.tolist()[:9] == [False, True, False, True, True, True, True, False,
                                             True]
    assert (r.phase_id == -1).all() and r.light.dtype == np.int8


def test_reaction_time_and_thresholds() -> None:
    # d = 50, v = 14: plain 196/100 = 1.96; with 1 s reaction 196/(2*36) = 2.72 (no);
    # with 1.5 s 196/(2*29) = 3.38 (warn); with 4 s (56 m > 50 m) infinite
    kw: dict[str, list[float]] = {"to_stop_m": [50.0], "speed_mps": [14.0], "light": [RED],
                                  "time_left_s": [30.0]}
    for t_r, decel, warn in ((0.0, 1.96, False), (1.0, 196 / 72, False),
                             (1.5, 196 / 58, True), (4.0, np.inf, True)):
        r = RedLightViolationWarning(RlvwConfig(reaction_time_s=t_r)).evaluate(**kw)
        assert r.required_decel_mps2[0] == pytest.approx(decel)
        assert r.warn.tolist() == [warn]
    r = RedLightViolationWarning(RlvwConfig(decel_threshold_mps2=1.5)).evaluate(**kw)
    assert r.warn.tolist() == [True]
    r = RedLightViolationWarning(RlvwConfig(warn_distance_m=40)).evaluate(
        **{**kw, "to_stop_m": [45.0], "speed_mps": [20.0]})
    assert r.warn.tolist() == [False]  # 400/90 = 4.4 m/s² but beyond 40 m
    with pytest.raises(ValueError, match="1-d"):
        RedLightViolationWarning().evaluate(to_stop_m=1.0, speed_mps=1.0, light=3,
                                            time_left_s=1.0)


def _spat(lights: dict[int, tuple[LightState, float | None]], ts: int) -> Spat:
    phases = tuple(Phase(pid, (PhaseState(light, TimeCountingDown(
        0, None if end is None else round(end * SEC))),)) for pid, (light, end) in
        sorted(lights.items()))
    return Spat(0, (IntersectionState(NodeReferenceId(7), IntersectionStatus.FIXED_TIME_OPERATION,
                                      phases),), timestamp_ns=ts)


def test_whole_chain_through_uper(node: MapNode, frame: GeoFrame) -> None:
    """Hand-made node 7 (conftest): eastbound lane 1 (straight phase 2, right 3) ends at
    x = -10; northbound lane (phase 1) at y = -10. Hosts at 14 m/s, 30 m before the line."""
    decoded_map = decode_frame(encode_frame(MapData(msg_cnt=5, nodes=(node,))))
    assert isinstance(decoded_map, MapData)
    lanes = lane_table(decoded_map, frame)
    spat = decode_frame(encode_frame(_spat({1: (LightState.PROTECTED_GREEN, 20.0),
                                            2: (LightState.RED, 30.0),
                                            3: (LightState.PROTECTED_GREEN, 20.0),
                                            4: (LightState.RED, 2.5),
                                            5: (LightState.RED, None)}, T0)), now_ns=T0)
    assert isinstance(spat, Spat)
    view = SpatView.from_spats([spat])
    now = T0 + SEC // 2  # half a second after the SPAT: phase 4 has 2 s of red left
    x = np.array([-40, -40, -40, 1.75, -40, 40, 40])
    y = np.array([-1.75, -1.75, -5.25, -40, -1.75, 1.75, 1.75])
    h = np.array([90, 270, 90, 0, 90, 270, 270])
    v = np.array([14, 14, 14, 14, 14, 14, 5])
    m = match(lanes, x, y, h)
    rule = RedLightViolationWarning()
    r = rule.assess_hosts(lanes=lanes, match=m, spat=view, speed_mps=v, now_ns=now)
    assert r.phase_id.tolist() == [2, -1, 2, 1, 2, 5, 5]
    assert r.light.tolist() == [RED, 0, RED, GREEN, RED, RED, RED]
    np.testing.assert_allclose(r.time_left_s[[0, 3]], [29.5, 19.5], atol=1e-9)
    assert r.warn.tolist() == [
        True,   # red, 30 m at 14 m/s (3.27 m/s² needed)
        False,  # the same place heading west: not on the eastbound lane
        True,   # lane 2 straight is phase 2 too
        False,  # northbound: phase 1 is green
        True,   # (same as the first)
        True,   # westbound, kinked lane, 30 m: phase 5 red, unknown end
        False,  # the same at 5 m/s: 25/60 m/s² is enough to stop
    ]
    np.testing.assert_allclose(r.required_decel_mps2[0], 196 / 60, atol=0.01)
    # turning left from lane 2 is phase 4: 2 s of red left, arrival in 2.14 s -> no warning
    left = RedLightViolationWarning(RlvwConfig(maneuver="left"))
    r = left.assess_hosts(lanes=lanes, match=m, spat=view, speed_mps=v, now_ns=now)
    assert r.phase_id[2] == 4 and r.time_left_s[2] == pytest.approx(2.0)
    assert not r.warn[2]
    # a second later 1 s of red is left: a host 16 m from the line at 14 m/s arrives in
    # 1.14 s, after the red (no warning); one 12 m away arrives in 0.86 s, in the red, and
    # needs 196/24 = 8.2 m/s² (warning)
    r = left.assess_hosts(lanes=lanes, match=match(lanes, [-26.0, -22.0], [-5.25, -5.25], [90, 90]),
                    spat=view, speed_mps=np.array([14.0, 14.0]), now_ns=now + SEC)
    assert r.time_left_s.tolist() == [1.0, 1.0] and r.warn.tolist() == [False, True]
    # no SPAT of that node: no warning
    r = rule.assess_hosts(lanes=lanes, match=m, spat=SpatView.from_spats([]), speed_mps=v,
                    now_ns=now)
    assert not r.warn.any() and (r.light == 0).all()


def test_cannot_stop_is_a_necessary_condition_of_a_warning() -> None:
    # the loop decodes a SPAT only for hosts that cannot stop comfortably: wherever the rule
    # warns, cannot_stop holds (random hosts, lights and times)
    rng = np.random.default_rng(3)
    n = 20_000
    rule = RedLightViolationWarning(RlvwConfig(reaction_time_s=0.5))
    d = rng.uniform(-5.0, 200.0, n)
    v = rng.uniform(0.0, 25.0, n)
    r = rule.evaluate(to_stop_m=d, speed_mps=v, light=rng.choice([3, 5, 7], n),
                      time_left_s=rng.uniform(0.0, 30.0, n))
    assert r.warn.any()
    assert not (r.warn & ~rule.cannot_stop(d, v)).any()
    # by hand: 13.89 m/s, 0.5 s reaction, 3.0 m/s²: room needed v² / 6 = 32.15 m beyond the
    # 6.94 m driven while reacting: cannot stop below 39.1 m, can above
    assert rule.cannot_stop(np.array([39.0, 39.2]), np.array([13.89, 13.89])).tolist() == [
        True, False]


def test_close_to_a_stop_line_by_hand(node: MapNode, frame: GeoFrame) -> None:
    # the west link alone: stop points (-10, -1.75) and (-10, -5.25), a circle of 1.75 m
    # around (-10, -3.5); default rule: 3 m/s², no reaction time, 0.5 m tolerance on 3.5 m
    # lanes: close when the circle is within v²/6 + 1.75 + 0.5 + 1 m (rounding)
    lanes = lane_table((dataclasses.replace(node, in_links=node.in_links[:1]),), frame)
    rule = RedLightViolationWarning()
    x = np.array([-50.0, -40.0, -40.0, np.nan, -40.0])
    y = np.full(5, -1.75)
    v = np.array([14.0, 14.0, 10.0, 14.0, 0.0])
    # hypot(40, 1.75) - 1.75 = 38.3 m > 196/6 + 3.25 = 35.9 m; 28.3 m < 35.9 m; at 10 m/s
    # 28.3 m > 100/6 + 3.25 = 19.9 m; no position; standing
    circles = StopCircles.of(lanes)
    assert rule.close_to_a_stop_line(circles, x, y, v).tolist() == [False, True, False, False,
                                                                     False]
    # 1 s of reaction adds v * 1 s: 38.3 m < 32.7 + 14 + 3.25 m, 28.3 m < 16.7 + 10 + 3.25 m
    far = RedLightViolationWarning(RlvwConfig(reaction_time_s=1.0))
    assert far.close_to_a_stop_line(circles, x, y, v).tolist() == [True, True, True, False,
                                                                    False]


@pytest.mark.parametrize("reaction_time_s", [0.0, 0.8])
def test_close_to_a_stop_line_is_a_necessary_condition(node: MapNode, frame: GeoFrame,
                                                       reaction_time_s: float) -> None:
    # the loop matches only hosts close to a stop line: every host that is on an approach
    # lane within warn_distance_m and cannot stop is close to one (random hosts around the
    # node, heading along or near the lanes)
    lanes = lane_table((node,), frame)
    rule = RedLightViolationWarning(RlvwConfig(reaction_time_s=reaction_time_s))
    rng = np.random.default_rng(11)
    n = 40_000
    lane = rng.integers(0, lanes.n_lanes, n)
    seg = lanes.seg_start[lane] + rng.integers(0, 2, n) % (
        lanes.seg_start[lane + 1] - lanes.seg_start[lane])
    along = rng.uniform(-5.0, lanes.seg_len[seg] + 12.0)
    side = rng.uniform(-2.5, 2.5, n)
    x = lanes.x0[seg] + along * lanes.ux[seg] + side * lanes.uy[seg]
    y = lanes.y0[seg] + along * lanes.uy[seg] - side * lanes.ux[seg]
    h = lanes.heading_deg[seg] + rng.uniform(-50.0, 50.0, n)
    v = rng.uniform(0.0, 25.0, n)
    m = match(lanes, x, y, h)
    can_warn = ((m.lane >= 0) & (m.to_stop_m >= 0) & (m.to_stop_m <= 150.0)
                & rule.cannot_stop(m.to_stop_m, v))
    close = rule.close_to_a_stop_line(StopCircles.of(lanes), x, y, v)
    assert can_warn.sum() > 1000 and (~close).sum() > 1000
    assert not (can_warn & ~close).any()

