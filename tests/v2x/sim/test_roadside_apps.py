"""The RSI and RSM chain on scripted traffic: real RSU sources encode UPER frames, the ideal
channel delivers them, the loop decodes them for the applications (HLW, SLW, FCW on RSM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from roadside import RoadsideUnit, RsiConfig, RsiEvent, RsiSign, RsiSource, RsmConfig, RsmSource
from roadside._sources import RsuContext
from tests.v2x.sim.test_loop import START, _geo, _simulate
from v2x.apps import RSM_TARGET_BASE, make_app
from v2x.sim import RSU_NODE_BASE, SimConfig
from v2x.traffic import ScriptedVehicle


def _rsu(x: float, y: float, *, rsi: RsiConfig | None = None,
         rsm: RsmConfig | None = None) -> RoadsideUnit:
    """RSU 0 (node RSU_NODE_BASE) at x, y with the real RSI / RSM sources."""

    def ctx(seed: int) -> RsuContext:
        return RsuContext(name="R1", index=0, station_id=RSU_NODE_BASE.to_bytes(8, "big"),
                          x=x, y=y, junction=None, tls=None, conn=None, net=None, geo=_geo(),
                          intersection_ids={}, payload="uper", msg_cnt=5,
                          rng=np.random.default_rng(seed))

    sources: list = []
    if rsi is not None:
        sources.append(RsiSource(rsi, ctx(1)))
    if rsm is not None:
        sources.append(RsmSource(rsm, ctx(2)))
    return RoadsideUnit(name="R1", x=x, y=y, antenna_height_m=6.0, sources=sources,
                        start=START)


def _warnings(tmp_path: Path, vehicles: list[ScriptedVehicle], seconds: float, apps: tuple,
              rsu: RoadsideUnit, **cfg: object) -> pd.DataFrame:
    config = SimConfig(start=START, duration_ns=int(seconds * 1e9), apps=apps,
                       reception_sample=1.0, **cfg)  # type: ignore[arg-type]
    _simulate(tmp_path, vehicles, config, roadside=(rsu,))
    return pd.read_parquet(tmp_path / "warnings.parquet")


# ---------------------------------------------------------------------------------- HLW


def _works(period_ns: int = 100_000_000) -> RsiConfig:
    return RsiConfig(events=(RsiEvent(id="works", event_type=401, x=0.0, y=201.0,
                                      radius_m=20.0, period_ns=period_ns,
                                      description="road works"),))


def test_hlw_warns_a_host_approaching_the_event_and_one_in_its_zone(tmp_path: Path) -> None:
    # road works at (0, 201) with a 20 m radius, an RSI every 100 ms from an RSU there.
    # host: front bumper at (0, 2k) after step k (20 m/s north): the event is dead ahead at
    #   d = 201 - 2k; within warn_distance 150 m from k >= 25.5 -> k = 26, t = 2.6 s,
    #   gap 149 m, TTC 149 / 20 = 7.45 s.
    # inside: at (0, 215 + 2k) driving away: in the 20 m disc at k = 1 (d = 16 m, TTC 0.8 s)
    #   and k = 2 (18 m), out from k = 3: one warning at t = 0.1 s.
    # behind: at (3.5, 250 + 2k) driving away: the event is behind, d >= 49 m: none.
    # side: at (200, 2k) north: bearing to the event -45 deg (beyond 30), d >= 200 m: none.
    vehicles = [ScriptedVehicle("host", 0.0, 0.0, 0.0, 20.0),
                ScriptedVehicle("inside", 0.0, 215.0, 0.0, 20.0),
                ScriptedVehicle("behind", 3.5, 250.0, 0.0, 20.0),
                ScriptedVehicle("side", 200.0, 0.0, 0.0, 20.0)]
    w = _warnings(tmp_path, vehicles, 3.0, (make_app("hlw"),), _rsu(0.0, 201.0, rsi=_works()))
    assert w["app"].tolist() == ["HLW", "HLW"]
    w = w.set_index("vehicle")
    assert sorted(w.index) == [0, 1]
    host, inside = w.loc[0], w.loc[1]
    assert host["t_ns"] == 2_600_000_000 and host["remote"] == RSU_NODE_BASE
    assert host["gap_m"] == pytest.approx(149.0, abs=0.02)
    assert host["ttc_s"] == pytest.approx(7.45, abs=0.002)
    assert host["info_age_ms"] == pytest.approx(1.0)  # sent this step, the ideal 1 ms
    assert inside["t_ns"] == 100_000_000
    assert inside["gap_m"] == pytest.approx(16.0, abs=0.02)
    assert inside["ttc_s"] == pytest.approx(0.8, abs=0.002)
    # the RSI frames that raised them are marked as used by HLW
    rx = pd.read_parquet(tmp_path / "receptions.parquet")
    assert set(rx.loc[rx["used_by"] == "HLW", "msg_type"]) == {"RSI"}


def test_hlw_waits_for_the_next_rsi_of_a_semi_static_event(tmp_path: Path) -> None:
    # the same event every 500 ms: the host is within 150 m from k = 26 (2.6 s) but hears
    # the event at t = 3.0 s first: d = 201 - 60 = 141 m, TTC 7.05 s
    vehicles = [ScriptedVehicle("host", 0.0, 0.0, 0.0, 20.0)]
    w = _warnings(tmp_path, vehicles, 3.5, (make_app("hlw"),),
                  _rsu(0.0, 201.0, rsi=_works(500_000_000)))
    assert w["t_ns"].tolist() == [3_000_000_000]
    assert w["gap_m"].iloc[0] == pytest.approx(141.0, abs=0.02)
    assert w["ttc_s"].iloc[0] == pytest.approx(7.05, abs=0.002)


def test_hlw_off_and_an_rsi_of_signs_alone_give_no_warning(tmp_path: Path) -> None:
    vehicles = [ScriptedVehicle("host", 0.0, 0.0, 0.0, 20.0)]
    w = _warnings(tmp_path / "off", vehicles, 3.0, (), _rsu(0.0, 201.0, rsi=_works()))
    assert len(w) == 0
    signs = RsiConfig(signs=(RsiSign(sign_type=38, x=0.0, y=100.0,
                                     description="speed limit 40"),))
    w = _warnings(tmp_path / "signs", vehicles, 3.0, (make_app("hlw"),),
                  _rsu(0.0, 100.0, rsi=signs))
    assert len(w) == 0


# ------------------------------------------------------------------------------ FCW on RSM


def _lead_brakes(tmp_path: Path, *, use_rsm: bool, rsm: bool) -> pd.DataFrame:
    # the host (with an OBU) at 20 m/s; the lead without an OBU, front bumper 45.5 m ahead,
    # 5 m long, at 10 m/s braking at 4 m/s²; an RSU beside the road perceives the lead
    # (detection probability 1, no position noise) and lists it in an RSM every 100 ms
    vehicles = [ScriptedVehicle("host", 0.0, 0.0, 0.0, 20.0),
                ScriptedVehicle("lead", 0.0, 45.5, 0.0, 10.0, accel=-4.0, length=5.0)]
    perception = RsmConfig(range_m=150.0, detection_probability=1.0, position_sigma_m=0.0,
                           which="unequipped")
    return _warnings(tmp_path, vehicles, 1.5, (make_app("fcw", {"use_rsm": use_rsm}),),
                     _rsu(3.5, 60.0, rsm=perception if rsm else None),
                     equipped={"lead": False})


def test_fcw_warns_of_an_unequipped_lead_the_rsu_perceives(tmp_path: Path) -> None:
    # no BSM from the lead: only the RSM tells the host. The RSM reports the lead's centre
    # (front bumper - 2.5 m), the host adds half the decoded length back: the same rule as
    # on a BSM. gap(t) = 40.5 - 10 t - 2 t², closing 10 + 4 t:
    # t = 0.6 s: 33.78 / 12.4 = 2.724 s (not below 2.7); t = 0.7 s: 32.52 / 12.8 = 2.5406 s
    w = _lead_brakes(tmp_path, use_rsm=True, rsm=True)
    assert len(w) == 1
    row = w.iloc[0]
    assert (row["app"], row["vehicle"], row["t_ns"]) == ("FCW", 0, 700_000_000)
    # the lead is vehicle 1: ptcId 1 + 1 = 2 (roadside numbering), target RSM_TARGET_BASE + 2
    assert row["remote"] == RSM_TARGET_BASE + 2
    assert row["gap_m"] == pytest.approx(32.52, abs=0.02)
    assert row["ttc_s"] == pytest.approx(2.5406, abs=0.002)
    rx = pd.read_parquet(tmp_path / "receptions.parquet")
    assert set(rx.loc[rx["used_by"] == "FCW", "msg_type"]) == {"RSM"}
    tx = pd.read_parquet(tmp_path / "transmissions.parquet")
    assert set(tx["msg_type"]) == {"BSM", "RSM"} and set(tx.loc[tx["msg_type"] == "BSM",
                                                                "sender"]) == {0}


def test_no_fcw_of_an_unequipped_lead_without_rsm_or_without_use_rsm(tmp_path: Path) -> None:
    assert len(_lead_brakes(tmp_path / "no_rsm", use_rsm=True, rsm=False)) == 0
    assert len(_lead_brakes(tmp_path / "off", use_rsm=False, rsm=True)) == 0


# ---------------------------------------------------------------------------------- SLW


def test_slw_warns_a_host_above_the_limit_in_the_signs_section(tmp_path: Path) -> None:
    # "限速40" (40 km/h = 11.11 m/s) on a reference path (0, 0) -> (0, 300), pathRadius 5 m,
    # an RSI with the sign once a second (static, t = 1.0, 2.0, ... s).
    # fast: front bumper at (0, -20 + 1.2 k) (12 m/s north): at t = 1.0 s at y = -8 (8 m
    #   from the path's start: not yet in the section), at t = 2.0 s at y = 4: in it, 0.89 m/s
    #   too fast: SLW at 2.0 s, gap = 4 m to the sign (the path's first point).
    # slow: 10 m/s in the section from the start: below the limit, none.
    # oncoming: 15 m/s southbound 1 m beside the path: in its radius, heading 180 deg off: none.
    vehicles = [ScriptedVehicle("fast", 0.0, -20.0, 0.0, 12.0),
                ScriptedVehicle("slow", -1.0, 10.0, 0.0, 10.0),
                ScriptedVehicle("oncoming", 1.0, 250.0, 180.0, 15.0)]
    sign = RsiConfig(signs=(RsiSign(sign_type=38, path=((0.0, 0.0), (0.0, 300.0)),
                                    radius_m=5.0, description="限速40"),))
    w = _warnings(tmp_path, vehicles, 2.5, (make_app("slw"),), _rsu(0.0, 150.0, rsi=sign))
    assert w["app"].tolist() == ["SLW"] and w["vehicle"].tolist() == [0]
    row = w.iloc[0]
    assert row["t_ns"] == 2_000_000_000 and row["remote"] == RSU_NODE_BASE
    assert row["gap_m"] == pytest.approx(4.0, abs=0.02)
    assert np.isnan(row["ttc_s"])
