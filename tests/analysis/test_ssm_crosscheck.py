"""Our rear-end TTC and DRAC (analysis.follower_pairs on the trajectories) against SUMO's own
SSM device (Surrogate Safety Measures, sumo.dlr.de/docs/Simulation/Output/SSM_Device.html) on
one encounter: the lead brakes at 6 m/s² to a stop, the host follows and brakes at 4.5 m/s²
when the gap is 25 m (tests/analysis/ssm_crosscheck/scenario.toml)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

import scenarios
from analysis import follower_pairs
from v2x.cli import _wiring as wiring
from v2x.traffic import SumoTraffic, sumo_command

pytestmark = pytest.mark.sumo

CASE = Path(__file__).parent / "ssm_crosscheck" / "scenario.toml"


def test_our_rear_end_ttc_and_drac_agree_with_sumo_ssm(tmp_path: Path) -> None:
    sc = scenarios.resolve_scenario(CASE)
    built = scenarios.build(sc)
    ssm = tmp_path / "ssm.xml"
    cmd = sumo_command(built.net_file, built.route_files, built.additional_files,
                       step_ns=sc.step_ns, seed=sc.seed, extra=[
                           "--device.ssm.probability", "1", "--device.ssm.measures", "TTC DRAC",
                           "--device.ssm.thresholds", "3.0 3.0", "--device.ssm.range", "100",
                           "--device.ssm.file", str(ssm)])
    rows = []
    with SumoTraffic(cmd, events=wiring.traffic_events(sc)) as tr:
        for _ in range(sc.duration_ns // sc.step_ns):
            st = tr.step()
            rows.append(pd.DataFrame({"t_ns": st.t_ns, "vehicle": st.index,
                                      "lane": st.lane.astype(str), "lane_pos": st.lane_pos,
                                      "length": st.length, "speed": st.speed}))
        host, lead = (tr.vehicle_names().index(n) for n in ("host", "lead"))
    pairs = follower_pairs(pd.concat(rows, ignore_index=True))
    ours = pairs[(pairs["follower"] == host) & (pairs["leader"] == lead)]
    (conflict,) = [c for c in ET.parse(ssm).getroot().iter("conflict")
                   if c.get("ego") == "host" and c.get("foe") == "lead"]
    min_ttc = conflict.find("minTTC")
    max_drac = conflict.find("maxDRAC")
    assert min_ttc is not None and max_drac is not None
    # SUMO writes two decimals; the encounter's minimum is about 1.25 s
    assert 1.0 < float(min_ttc.get("value", "nan")) < 1.5
    assert ours["ttc_s"].min() == pytest.approx(float(min_ttc.get("value", "nan")), abs=0.1)
    assert ours["drac_mps2"].max() == pytest.approx(float(max_drac.get("value", "nan")),
                                                    abs=0.05)
    # and at the same moment, within one step
    t_ours = ours.loc[ours["ttc_s"].idxmin(), "t_ns"] / 1e9
    assert t_ours == pytest.approx(float(min_ttc.get("time", "nan")), abs=0.1 + 1e-9)
