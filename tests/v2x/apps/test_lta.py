"""Left turn assist: the rule by hand, the host's intent from a hand-made MAP in a hand-built
window, and the library's LTA cases in SUMO."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.v2x.apps.conftest import L, R, S, _conn, _pts
from tests.v2x.apps.test_icw import bsm_window
from v2x.apps import AppWindow, LeftTurnAssist, LtaConfig, ReceivedLinks, make_app
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import MapData, MapLane, MapLink, MapNode, NodeReferenceId, Position3D
from v2x.msgset import MSG_TYPES

V30, V50 = 30 / 3.6, 50 / 3.6
CHORD = math.hypot(7.0, 11.0)  # stop point (1.75, -11) to the conflict point (-5.25, 0)


def _eval(lta: LeftTurnAssist | None = None, **kw: Any) -> Any:
    # the geometry of xiqing-lta-oncoming-50kmh: host in the left-turn lane x = 1.75, stop
    # line y = -11; the oncoming vehicle on x = -5.25 heading south; junction centre (0, 0),
    # radius 12.19 m (the farthest stop point, (5.25, -11) and the like)
    base: dict[str, Any] = dict(
        host_x=1.75, host_y=-32.19, host_heading_deg=0.0, host_speed=V30, host_accel=0.0,
        host_length=4.8, host_width=1.8, host_to_stop_m=21.19, stop_x=1.75, stop_y=-11.0,
        centre_x=0.0, centre_y=0.0, junction_radius_m=12.19, remote_x=-5.25, remote_y=40.0,
        remote_heading_deg=180.0, remote_speed=V50, remote_accel=0.0, remote_length=4.8,
        remote_width=1.8)
    base.update(kw)
    return (lta or LeftTurnAssist()).evaluate(**base)


def test_the_rule_by_hand() -> None:
    # conflict point (-5.25, 0): the host is 21.19 + hypot(7, 11) = 34.23 m from it, in at
    # (34.23 - 0.9) / 8.333 = 3.9994 s (<= 4.0), out at (34.23 + 5.7) / 8.333 = 4.791 s; the
    # oncoming vehicle 40 m from it, in at 39.1 / 13.889 = 2.815 s, out at 45.7 / 13.889 =
    # 3.290 s: PET = 3.9994 - 3.290 = 0.709 s <= 2.0: warn
    r = _eval()
    host_d = 21.19 + CHORD
    assert r.oncoming.tolist() == [True]
    assert (r.host_to_conflict_m[0], r.remote_to_conflict_m[0]) == pytest.approx((host_d, 40.0))
    assert r.host_time_s[0] == pytest.approx((host_d - 0.9) / V30)
    assert r.remote_time_s[0] == pytest.approx(39.1 / V50)
    assert r.pet_s[0] == pytest.approx((host_d - 0.9) / V30 - 45.7 / V50)
    assert r.warn.tolist() == [True]
    # 0.1 m farther back: (34.33 - 0.9) / 8.333 = 4.011 s > 4.0 s: not yet
    assert not _eval(host_y=-32.29, host_to_stop_m=21.29).warn[0]


def test_oncoming_and_junction_limits() -> None:
    # crossing traffic (heading 90: 90 deg from the host's) is ICW's, not LTA's
    assert not _eval(remote_heading_deg=90.0, remote_x=-40.0, remote_y=0.0).oncoming[0]
    # heading 134 / 135 deg from the host's, on a path through the junction centre (from
    # (-28.28, 28.28)): not oncoming / oncoming
    diagonal = dict(remote_x=-28.28, remote_y=28.28)
    assert not _eval(remote_heading_deg=134.0, **diagonal).oncoming[0]
    assert _eval(remote_heading_deg=135.0, **diagonal).oncoming[0]
    # an oncoming path 20 m to the side of the junction centre (> 12.19 m): another road
    assert not _eval(remote_x=-20.0).oncoming[0]
    # far: the oncoming vehicle 110 m from the conflict point comes 7.85 s in; the host has
    # left it at 4.79 s: PET 3.1 s > 2.0 s
    assert not _eval(remote_y=110.0).warn[0]
    # it has passed (its rear + 0.9 m beyond the conflict point): nothing to warn of
    assert _eval(remote_y=-6.0).pet_s[0] == math.inf
    # the host past its stop line: the straight line from where it is, (1.5, -8) to
    # (-5.25, 0): hypot(6.75, 8) = 10.47 m
    r = _eval(host_x=1.5, host_y=-8.0, host_to_stop_m=-3.0)
    assert r.host_to_conflict_m[0] == pytest.approx(math.hypot(6.75, 8.0))
    # a host standing at its stop line (waiting to turn) has no time to the conflict point
    assert _eval(host_speed=0.0, host_y=-11.0, host_to_stop_m=0.0).host_time_s[0] == math.inf


def test_config_is_validated_by_the_registry() -> None:
    app = make_app("lta", {"approach_m": 60.0})
    assert isinstance(app, LeftTurnAssist) and app.config.approach_m == 60.0
    with pytest.raises(ConfigError) as info:
        make_app("lta", {"min_oncoming_deg": 45.0})
    assert info.value.key == "applications.lta.min_oncoming_deg"


# -- a hand-made MAP in a hand-built window ----------------------------------------------------


def _node(frame: GeoFrame) -> MapNode:
    """Node 7 at (0, 0): from the south, lane 1 left only on x = 1.75 and lane 2 straight or
    right on x = 5.25; from the north, lane 1 straight on x = -5.25 and lane 2 left only on
    x = -1.75; stop lines 11 m from the centre."""
    south = MapLink(NodeReferenceId(2), lanes=(
        MapLane(1, 3.5, L, (_conn(1, L),), _pts(frame, [(1.75, -200.0), (1.75, -11.0)])),
        MapLane(2, 3.5, S | R, (_conn(1, S),), _pts(frame, [(5.25, -200.0), (5.25, -11.0)]))))
    north = MapLink(NodeReferenceId(3), lanes=(
        MapLane(1, 3.5, S, (_conn(1, S),), _pts(frame, [(-5.25, 200.0), (-5.25, 11.0)])),
        MapLane(2, 3.5, L, (_conn(1, L),), _pts(frame, [(-1.75, 200.0), (-1.75, 11.0)]))))
    lat, lon = frame.to_latlon(0.0, 0.0)
    return MapNode(NodeReferenceId(7), Position3D(float(lat), float(lon)),
                   in_links=(south, north))


def _with_map(w: AppWindow, map_hosts: list[int], frame: GeoFrame) -> AppWindow:
    """``w`` plus one MAP link from RSU node 1_000_000 to each of ``map_hosts`` (host rows);
    the MAP is transmission 99."""
    k, lk = len(map_hosts), w.links
    zeros = np.zeros(k, np.int64)
    links = ReceivedLinks(
        host=np.concatenate([lk.host, map_hosts]), tx=np.concatenate([lk.tx, zeros + 99]),
        msg=np.concatenate([lk.msg, zeros + 99]),
        msg_type=np.concatenate([lk.msg_type, np.full(k, MSG_TYPES.index("MAP"), np.int8)]),
        sender=np.concatenate([lk.sender, zeros + 1_000_000]),
        step=np.concatenate([lk.step, zeros]),
        distance_m=np.concatenate([lk.distance_m, zeros + 30.0]),
        latency_ns=np.concatenate([lk.latency_ns, zeros]),
        link=np.arange(lk.n + k, dtype=np.int64))
    node = _node(frame)

    def decoded(kind: str, rows: np.ndarray) -> list[Any]:
        assert kind == "MAP" and rows.tolist() == [99]
        return [MapData(msg_cnt=0, nodes=(node,))]

    return AppWindow(t_ns=w.t_ns, hosts=w.hosts, host_step=w.host_step, links=links,
                     bsm=w.bsm, decoded=decoded, sec_mark=w.sec_mark, start_utc_ns=0, geo=frame)


def test_intent_from_the_received_map(frame: GeoFrame) -> None:
    f = np.array
    # host rows: 0 in the left-turn lane (the reference position), 1 in the through lane
    # beside it, 2 in the left-turn lane but without the MAP; BSM rows: vehicle 10 oncoming
    # straight on x = -5.25 40 m north of the centre, vehicle 11 in the opposing left-turn
    # lane (x = -1.75)
    hosts = dict(x=f([1.75, 5.25, 1.75]), y=f([-32.19, -32.19, -32.19]),
                 heading_deg=f([0.0, 0.0, 0.0]), speed=f([V30, V30, V30]),
                 accel=f([0.0, 0.0, 0.0]), length=f([4.8, 4.8, 4.8]), width=f([1.8, 1.8, 1.8]),
                 index=f([0, 1, 2]))
    bsm = dict(sender=f([10, 11]), x=f([-5.25, -1.75]), y=f([40.0, 40.0]),
               speed=f([V50, V50]), heading_deg=f([180.0, 180.0]), accel=f([0.0, 0.0]),
               length=f([4.8, 4.8]), width=f([1.8, 1.8]))
    w = _with_map(bsm_window(hosts, bsm, [0, 0, 1, 2], [0, 1, 0, 0], [73.0] * 4), [0, 1],
                  frame)
    lta = LeftTurnAssist()
    a = lta.assess(w)
    assert a.link.tolist() == [0, 1, 2, 3] and a.target.tolist() == [10, 11, 10, 10]
    # only host 0 on vehicle 10: left-turn lane of a MAP it heard, oncoming going straight;
    # not on the opposing left turner, not host 1 (through lane), not host 2 (no MAP heard)
    assert a.warn.tolist() == [True, False, False, False]
    # its time to the conflict point, as the rule by hand (positions are quantized by the
    # 1e-7 deg MAP points: about 1 cm)
    assert a.ttc_s[0] == pytest.approx((21.19 + CHORD - 0.9) / V30, abs=0.01)
    assert a.gap_m[0] == pytest.approx(21.19 + CHORD, abs=0.05)
    assert math.isinf(a.ttc_s[2]) and math.isinf(a.ttc_s[3])
    # with the threshold lowered below the host's time: no warning
    late = LeftTurnAssist(LtaConfig(warn_time_s=3.9))
    assert not late.assess(w).warn.any()


# -- the library's cases in SUMO -------------------------------------------------------------


@pytest.mark.sumo
@pytest.mark.parametrize("case", ["xiqing-lta-oncoming-50kmh",
                                  "xiqing-lta-no-action-host-straight"])
def test_lta_cases_pass_in_sumo(case: str, tmp_path: Path) -> None:
    from v2x.cli import run_scenario

    res = run_scenario(case, out_dir=tmp_path, bus="memory")
    assert [v.passed for v in res.evaluation.verdicts] == [True] * len(res.evaluation.verdicts)
    k = res.evaluation.kpis
    if case.endswith("50kmh"):  # the hand values of the case's header
        assert (k["apps.LTA.first_warning_s"], k["apps.LTA.hosts_warned"]) == (2.3, 1)
        # scored against the host turning left: the oncoming car's side is no miss
        assert (k["apps.LTA.true_positives"], k["apps.LTA.misses"]) == (1, 0)
    else:
        assert k["apps.LTA.warnings"] == 0
