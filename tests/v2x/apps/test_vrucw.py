"""Vulnerable road user collision warning: the rule by hand (crossing, standing at the kerb,
in the path), the participants of hand-made RSMs in a hand-built window, and the library's
VRUCW cases in SUMO."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from v2x.apps import (
    RSM_TARGET_BASE,
    AppWindow,
    ReceivedLinks,
    VrucwConfig,
    VulnerableRoadUserWarning,
    make_app,
    rsm_links,
)
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import Participant, ParticipantType, Position3D, Rsm, SourceType
from v2x.msgset import MSG_TYPES

V50 = 50 / 3.6
PED_L, PED_W = 0.215, 0.478  # SUMO's pedestrian


def _eval(app: VulnerableRoadUserWarning | None = None, **kw: Any) -> Any:
    # host eastbound on y = 0 at 13.889 m/s; a pedestrian's front 30 m ahead, 3.3 m to the
    # right, walking north (across) at 1.1 m/s
    base: dict[str, Any] = dict(
        host_x=0.0, host_y=0.0, host_heading_deg=90.0, host_speed=V50, host_accel=0.0,
        host_length=4.8, host_width=1.8, vru_x=30.0, vru_y=-3.3, vru_heading_deg=0.0,
        vru_speed=1.1, vru_length=PED_L, vru_width=PED_W)
    base.update(kw)
    return (app or VulnerableRoadUserWarning()).evaluate(**base)


def test_a_crossing_pedestrian_by_hand() -> None:
    # paths cross at (30, 0): the host is 30 m from it, in at (30 - 0.239) / 13.889 = 2.143 s,
    # out at (30 + 4.8 + 0.239) / 13.889 = 2.523 s. The band is 0.9 + 0.3 = 1.2 m each side
    # of the host's path: the pedestrian (3.3 m from it) is in it from (3.3 - 1.2) / 1.1 =
    # 1.909 s to (3.3 + 0.215 + 1.2) / 1.1 = 4.286 s: PET = max(1.909 - 2.523, 2.143 - 4.286)
    # = -0.61 s (overlap): warn
    r = _eval()
    assert r.crossing.tolist() == [True] and r.in_path.tolist() == [False]
    assert r.host_to_conflict_m[0] == pytest.approx(30.0)
    assert r.host_time_s[0] == pytest.approx((30 - PED_W / 2) / V50)
    assert r.pet_s[0] == pytest.approx(1.9091 - (34.8 + PED_W / 2) / V50, abs=1e-4)
    assert r.warn.tolist() == [True]
    # 60 m ahead: (60 - 0.239) / 13.889 = 4.30 s > 4.0 s: not yet
    assert not _eval(vru_x=60.0).warn[0]
    # a pedestrian 8 m from the host's path: in the band from 6.8 / 1.1 = 6.18 s, long after
    # the host (out at 2.52 s): PET 3.7 s > 2.0 s
    assert not _eval(vru_y=-8.0).warn[0]


def test_a_pedestrian_standing_at_the_kerb_or_in_the_lane() -> None:
    # standing (speed 0) with its front 1.65 m from the host's path, 0.45 m outside the band:
    # it never enters it
    r = _eval(vru_y=-1.65, vru_speed=0.0)
    assert r.crossing.tolist() == [True] and r.pet_s[0] == math.inf and not r.warn[0]
    # standing 1.0 m from the path, inside the band: in it for good, PET = 0 - 2.523 s
    r = _eval(vru_y=-1.0, vru_speed=0.0)
    assert r.pet_s[0] == pytest.approx(-(34.8 + PED_W / 2) / V50) and r.warn[0]
    # a wider margin takes the kerb pedestrian in: 0.9 + 0.8 = 1.7 m > 1.65 m
    wide = VulnerableRoadUserWarning(VrucwConfig(lateral_margin_m=0.8))
    assert _eval(wide, vru_y=-1.65, vru_speed=0.0).warn[0]


def test_a_pedestrian_walking_along_the_lane() -> None:
    # walking east 0.5 m right of the host's path, 30 m ahead: paths parallel, in the path
    # (0.5 <= 1.2 + 0.239); the host reaches its rear, 30 - 0.215 m ahead, in 2.145 s: warn
    r = _eval(vru_y=-0.5, vru_heading_deg=90.0, vru_speed=1.0)
    assert r.crossing.tolist() == [False] and r.in_path.tolist() == [True]
    assert r.host_time_s[0] == pytest.approx((30 - PED_L) / V50)
    assert r.warn[0]
    # on the sidewalk 2.75 m to the right (> 1.44 m): not in the path
    r = _eval(vru_y=-2.75, vru_heading_deg=90.0, vru_speed=1.0)
    assert not r.in_path[0] and not r.warn[0]
    # behind the host: not in its path
    assert not _eval(vru_x=-10.0, vru_y=-0.5, vru_heading_deg=90.0).in_path[0]


def test_config_is_validated_by_the_registry() -> None:
    app = make_app("vrucw", {"lateral_margin_m": 0.5})
    assert isinstance(app, VulnerableRoadUserWarning) and app.config.lateral_margin_m == 0.5
    with pytest.raises(ConfigError) as info:
        make_app("vrucw", {"lateral_margin_m": -1.0})
    assert info.value.key == "applications.vrucw.lateral_margin_m"


# -- hand-made RSMs in a hand-built window -----------------------------------------------------


def _participant(frame: GeoFrame, ptc_type: ParticipantType, ptc_id: int, x: float, y: float,
                 speed: float, heading: float) -> Participant:
    lat, lon = frame.to_latlon(x, y)
    return Participant(ptc_type=ptc_type, ptc_id=ptc_id, source=SourceType.INTEGRATED,
                       sec_mark_s=0.0, pos=Position3D(float(lat), float(lon)),
                       speed_mps=speed, heading_deg=heading, width_m=PED_W, length_m=PED_L)


def test_assess_rsm_participants(frame: GeoFrame) -> None:
    # two RSUs (transmissions 0 and 1) report the same crossing pedestrian (ptcId 7, its
    # centre 0.1075 m behind the front of the hand case: y = -3.4075); RSM 0 also carries a
    # motor vehicle (FCW's, not VRUCW's) and a cyclist (non-motor, ptcId 9) standing far to
    # the side. Host 0 hears both RSMs, host 1 (far west, 200 m) hears RSM 0 only.
    ped = dict(ptc_id=7, x=30.0, y=-3.3 - PED_L / 2, speed=1.1, heading=0.0)
    rsm0 = Rsm(0, b"RSU00001", Position3D(0.0, 0.0), (
        _participant(frame, ParticipantType.MOTOR, 5, 10.0, 0.0, 10.0, 90.0),
        _participant(frame, ParticipantType.PEDESTRIAN, **ped),
        _participant(frame, ParticipantType.NON_MOTOR, 9, 30.0, -20.0, 0.0, 0.0)))
    rsm1 = Rsm(1, b"RSU00002", Position3D(0.0, 0.0), (
        _participant(frame, ParticipantType.PEDESTRIAN, **ped),))
    f = np.array
    hosts = SimpleNamespace(x=f([0.0, -200.0]), y=f([0.0, 0.0]), heading_deg=f([90.0, 90.0]),
                            speed=f([V50, V50]), accel=f([0.0, 0.0]), length=f([4.8, 4.8]),
                            width=f([1.8, 1.8]), index=f([0, 1]))
    code = MSG_TYPES.index("RSM")
    links = ReceivedLinks(host=f([0, 0, 1]), tx=f([0, 1, 0]), msg=f([0, 1, 0]),
                          msg_type=np.full(3, code, np.int8),
                          sender=f([1_000_000, 1_000_001, 1_000_000]), step=f([0, 0, 0]),
                          distance_m=f([30.0, 30.0, 230.0]), latency_ns=f([0, 0, 0]),
                          link=f([0, 1, 2]))
    frames = {0: rsm0, 1: rsm1}
    w = AppWindow(t_ns=np.zeros(1, np.int64), hosts=hosts, host_step=f([0, 0]), links=links,
                  bsm=None, decoded=lambda kind, rows: [frames[int(r)] for r in rows],
                  sec_mark=np.zeros(1, np.int64), start_utc_ns=0, geo=frame)
    pairs = rsm_links(w, (2, 3))
    # link 0: the pedestrian and the cyclist of RSM 0; link 1: RSM 1's pedestrian; link 2:
    # RSM 0's two again (the motor vehicle is left out)
    assert pairs.link.tolist() == [0, 0, 1, 2, 2]
    assert pairs.participants.ptc_id[pairs.participant].tolist() == [7, 9, 7, 7, 9]
    a = VulnerableRoadUserWarning().assess(w)
    # host 0: one assessment of the pedestrian (both RSMs' reports, one kept) and one of the
    # cyclist; host 1's participants are beyond range_m (230 m > 150 m)
    assert sorted(zip(a.target.tolist(), a.warn.tolist(), strict=True)) == [
        (RSM_TARGET_BASE + 7, True), (RSM_TARGET_BASE + 9, False)]
    warned = int(np.flatnonzero(a.warn)[0])
    # as by hand (1e-7 deg positions: about 1 cm)
    assert a.ttc_s[warned] == pytest.approx((30 - PED_W / 2) / V50, abs=0.002)


# -- the library's cases in SUMO -------------------------------------------------------------


@pytest.mark.sumo
@pytest.mark.parametrize("case", ["xiqing-vrucw-pedestrian-crosses",
                                  "xiqing-vrucw-no-action-kerb"])
def test_vrucw_cases_pass_in_sumo(case: str, tmp_path: Path) -> None:
    from v2x.cli import run_scenario

    res = run_scenario(case, out_dir=tmp_path, bus="memory")
    assert [v.passed for v in res.evaluation.verdicts] == [True] * len(res.evaluation.verdicts)
    k = res.evaluation.kpis
    if case.endswith("crosses"):  # the hand values of the case's header
        assert (k["apps.VRUCW.first_warning_s"], k["apps.VRUCW.hosts_warned"]) == (6.6, 1)
    else:
        assert k["apps.VRUCW.warnings"] == 0
