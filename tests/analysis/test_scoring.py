"""Warning scoring per application against the ground truth, by hand: true and false
positives, misses of equipped hosts, lead times, information age; the registry of truth
rules; the scoring in report.json, the HTML report and JUnit."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import CaseResult, evaluate, write_reports, write_suite_junit
from analysis._scoring import (
    SCORING_RULES,
    TRUTH_KINDS,
    TruthRule,
    TwinRun,
    counterfactual_truth,
    rule_of,
    score_warnings,
    scoring_kpis,
    scoring_properties,
    truth_table,
)

S = 1_000_000_000
WINDOW = 5 * S


def _truth(rows: list[tuple[str, int, int, float, float, float]]) -> pd.DataFrame:
    """(kind, host, other, start, end, instant [s]) rows as a truth table."""
    df = pd.DataFrame(rows, columns=["kind", "host", "other", "s", "e", "i"])
    return pd.DataFrame({"kind": df["kind"], "host": df["host"].astype(np.int64),
                         "other": df["other"].astype(np.int64),
                         "t_start_ns": (df["s"] * S).round().astype(np.int64),
                         "t_end_ns": (df["e"] * S).round().astype(np.int64),
                         "t_ns": (df["i"] * S).round().astype(np.int64)})


def _warnings(rows: list[tuple[float, str, int, int, float]]) -> pd.DataFrame:
    """(t [s], app, host, remote, info age [ms]) rows as a warnings table."""
    df = pd.DataFrame(rows, columns=["t", "app", "vehicle", "remote", "info_age_ms"])
    return pd.DataFrame({"t_ns": (df["t"] * S).round().astype(np.int64), "app": df["app"],
                         "vehicle": df["vehicle"].astype(np.int64),
                         "remote": df["remote"].astype(np.int64),
                         "info_age_ms": df["info_age_ms"].astype(np.float64)})


def test_true_false_positives_misses_lead_times_and_information_age() -> None:
    truth = _truth([
        ("rear_end", 1, 2, 10.0, 12.0, 11.5),   # host 1 behind 2, min TTC at 11.5 s
        ("rear_end", 3, 4, 20.0, 21.0, 20.5),   # host 3: nobody warns it -> a miss
        ("rear_end", 7, 4, 30.0, 31.0, 30.5),   # host 7 is not equipped: no miss
        ("red_light", 5, -1, 40.0, 40.0, 40.0),  # host 5 runs the red at 40 s
    ])
    warnings = _warnings([
        (9.0, "FCW", 1, 2, 12.0),    # 1 s before the episode: true, lead 11.5 - 9 = 2.5 s
        (11.0, "FCW", 1, 9, 20.0),   # inside it, about another remote: still true (any
                                     # conflict of the host), lead 0.5 s
        (2.0, "FCW", 1, 2, 8.0),     # [2, 7] s ends before the episode: false
        (37.7, "RLVW", 5, 1000, 30.0),  # 2.3 s before the violation: true
        (38.0, "HLW", 5, 1000, 50.0),   # not scored
    ])
    out, summary = score_warnings(warnings, truth, window_ns=WINDOW,
                                  applications=["FCW", "RLVW", "HLW", "EBW"],
                                  equipped=[1, 3, 5])
    assert out["true_warning"].tolist() == [True, True, False, True, None]
    assert out["lead_time_s"].tolist()[:2] == pytest.approx([2.5, 0.5])
    assert math.isnan(out["lead_time_s"].iloc[2]) and math.isnan(out["lead_time_s"].iloc[4])
    rows = summary.set_index("app")
    fcw = rows.loc["FCW"]
    assert (fcw.warnings, fcw.true_positives, fcw.false_positives, fcw.misses) == (3, 2, 1, 1)
    assert fcw.lead_time_min_s == pytest.approx(0.5)
    assert fcw.lead_time_p50_s == pytest.approx(0.5)  # nearest rank: 1st of 2 (0.5, 2.5)
    assert fcw.info_age_p50_ms == 12.0  # nearest rank of (8, 12, 20): the 2nd
    rlvw = rows.loc["RLVW"]
    assert (rlvw.true_positives, rlvw.false_positives, rlvw.misses) == (1, 0, 0)
    assert rlvw.lead_time_min_s == pytest.approx(2.3)
    hlw = rows.loc["HLW"]
    assert not hlw.scored and hlw.rule.startswith("not scored") and hlw.info_age_p50_ms == 50.0
    # EBW ran, never warned: scored against its own kind (no emergency-brake conflicts here)
    assert rows.loc["EBW"].rule == "rear_end_braking" and rows.loc["EBW"].misses == 0
    k = scoring_kpis(summary)
    assert (k["apps.FCW.true_warnings"], k["apps.FCW.false_warnings"]) == (2, 1)
    assert k["apps.FCW.misses"] == 1 and "apps.HLW.true_positives" not in k
    assert k["apps.HLW.info_age_p50_ms"] == 50.0
    assert math.isnan(k["apps.EBW.lead_time_p50_s"]) and k["apps.EBW.true_positives"] == 0


def _nodes(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"node": np.arange(len(names), dtype=np.int64), "name": names})


def test_a_closed_loop_warning_that_avoided_its_conflict_is_true_by_the_twin_run() -> None:
    # the run (with V2X): host "h" (node 0) warned of "r" (node 1) at 5 s, braked, and the
    # crossing conflict never happened; a rear-end conflict h -> r did happen (7-9 s)
    run = _truth([("rear_end", 0, 1, 7, 9, 8)])
    # the twin numbers its vehicles the other way round ("r" 0, "h" 1, "x" 2): its crossing at
    # 6-6.5 s (only there: counterfactual), the same rear-end conflict (7.5-10 s: overlaps the
    # run's, one conflict), a conflict of "x" the run never had (left out), and one starting
    # after the twin's collision of "h" at 10 s (aftermath, left out)
    twin = TwinRun(
        truth=_truth([("crossing", 1, 0, 6, 6.5, 6.5), ("rear_end", 1, 0, 7.5, 10, 9),
                      ("rear_end", 2, 1, 3, 4, 3.5), ("rear_end", 0, 1, 10.5, 11, 10.5)]),
        nodes=_nodes(["r", "h", "x"]),
        events=pd.DataFrame({"t_ns": [10 * S], "kind": ["collision"], "vehicle": [1],
                             "other": [0], "value": [12.0]}))
    truth = counterfactual_truth(run, _nodes(["h", "r"]), twin)
    assert truth[["kind", "host", "other", "t_start_ns", "counterfactual"]].values.tolist() == [
        ["crossing", 0, 1, 6 * S, True], ["rear_end", 0, 1, 7 * S, False]]
    w = _warnings([(5.0, "ICW", 0, 1, 10.0)])
    _, alone = score_warnings(w, run, window_ns=WINDOW)
    _, both = score_warnings(w, truth, window_ns=WINDOW)
    assert alone.iloc[0]["false_positives"] == 1  # judged on the run alone
    assert (both.iloc[0]["true_positives"], both.iloc[0]["false_positives"],
            both.iloc[0]["misses"]) == (1, 0, 0)
    assert both.iloc[0]["lead_time_min_s"] == pytest.approx(1.5)  # 6.5 s - 5 s


def test_every_equipped_host_counts_a_miss_when_equipage_is_not_given() -> None:
    truth = _truth([("rear_end", 3, 4, 20.0, 21.0, 20.5), ("rear_end", 7, 4, 30.0, 31.0, 30.5)])
    _, summary = score_warnings(_warnings([]), truth, window_ns=WINDOW, applications=["FCW"])
    assert summary["misses"].tolist() == [2]


def test_a_remote_rule_needs_the_warning_about_the_conflicts_other_road_user(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SCORING_RULES, "XYZ", TruthRule("crossing", counterpart="remote"))
    truth = _truth([("crossing", 1, 2, 5.0, 6.0, 6.0)])
    out, _ = score_warnings(_warnings([(4.0, "XYZ", 1, 2, 1.0), (4.0, "XYZ", 1, 3, 1.0)]),
                            truth, window_ns=WINDOW)
    assert out["true_warning"].tolist() == [True, False]


def test_the_registry_scores_the_day1_warnings_and_says_why_not_the_others() -> None:
    kinds = {a: r.kind for a, r in SCORING_RULES.items() if isinstance(r, TruthRule)}
    assert kinds == {"FCW": "rear_end", "EBW": "rear_end_braking", "ICW": "crossing",
                     "LTA": "crossing_left_turn", "VRUCW": "pedestrian", "RLVW": "red_light",
                     "SLW": "speeding", "BSW": "lane_change", "LCW": "lane_change"}
    assert set(kinds.values()) <= set(TRUTH_KINDS)
    for app in ("HLW", "IVS", "TJW", "GLOSA", "EVW", "AVW", "CLW", "DNPW", "VNFP", "NEW"):
        assert str(rule_of(app)).startswith("not scored: ")
    with pytest.raises(ValueError, match="unknown truth kind"):
        TruthRule("tailgating")


def test_truth_table_rows_per_kind_and_host() -> None:
    c = pd.DataFrame({"follower": [1], "leader": [2], "t_start_ns": [10 * S],
                      "t_end_ns": [12 * S], "t_min_ttc_ns": [11 * S]})
    o = pd.DataFrame({"follower": [3], "leader": [4], "t_start_ns": [20 * S],
                      "t_end_ns": [21 * S], "t_min_ttc_ns": [20 * S]})
    pet = pd.DataFrame({"kind": ["crossing", "pedestrian", "merging", "crossing",
                                 "lane_change"],
                        "first": [5, 2_000_000, 8, 9, 13], "second": [6, 7, 9, 10, 14],
                        "t_first_enter_s": [30.0, 40.0, 50.0, 60.0, 90.0],
                        "t_second_enter_s": [31.5, 41.0, 51.0, 64.0, 91.0],
                        "conflict": [True, True, True, False, True]})
    red = pd.DataFrame({"vehicle": [11], "t_ns": [70 * S]})
    fast = pd.DataFrame({"vehicle": [12], "t_start_ns": [80 * S], "t_end_ns": [85 * S]})
    hard = pd.DataFrame({"vehicle": [2], "t_ns": [6 * S]})  # leader 2 braked 4 s before
    t = truth_table(c, o, pet, red, fast, hard)
    got = sorted((r.kind, r.host, r.other, r.t_start_ns // S, r.t_end_ns // S, r.t_ns / S)
                 for r in t.itertuples())
    assert got == sorted([
        ("rear_end", 1, 2, 10, 12, 11.0), ("rear_end_braking", 1, 2, 10, 12, 11.0),
        ("lane_change", 3, 4, 20, 21, 20.0), ("lane_change", 4, 3, 20, 21, 20.0),
        ("crossing", 5, 6, 30, 31, 31.5), ("crossing", 6, 5, 30, 31, 31.5),
        ("pedestrian", 7, 2_000_000, 40, 41, 41.0),
        ("red_light", 11, -1, 70, 70, 70.0), ("speeding", 12, -1, 80, 85, 80.0),
        ("lane_change", 13, 14, 90, 91, 91.0), ("lane_change", 14, 13, 90, 91, 91.0)])
    # braking 6 s before the episode (more than 5 s): not an emergency-brake conflict
    late = truth_table(c, o, pet, red, fast, hard.assign(t_ns=[4 * S]))
    assert "rear_end_braking" not in set(late["kind"])
    # the hard braker 15 is ahead of leader 2 when the conflict begins (10 s), hidden by it:
    # an emergency-brake conflict of host 1 too; a braker ahead of 2 only at another step is not
    hidden = pd.DataFrame({"vehicle": [15], "t_ns": [7 * S]})
    pairs = pd.DataFrame({"t_ns": [10 * S, 10 * S, 9 * S], "follower": [1, 2, 2],
                          "leader": [2, 15, 16]})
    k = truth_table(c, o, pet, red, fast, hidden, pairs)
    assert k.loc[k["kind"] == "rear_end_braking", ["host", "other"]].values.tolist() == [[1, 2]]
    k = truth_table(c, o, pet, red, fast, hidden.assign(vehicle=[16]), pairs)
    assert "rear_end_braking" not in set(k["kind"])
    assert "rear_end_braking" not in set(truth_table(c, o, pet, red, fast, hidden)["kind"])


def test_the_host_turning_left_through_a_crossing_conflict_is_the_left_turn_truth() -> None:
    # crossing conflict of 5 and 6 at 30-31.5 s: 5 turns left (0 -> 270 deg, -90), 6 goes
    # straight (180 deg); and of 8 and 9 at 50-51 s: 8 turns right (0 -> 90 deg, +90), 9
    # turns left only 40 s later (outside 6 s of the span), so neither is a left turner
    none = pd.DataFrame({"follower": [], "leader": [], "t_start_ns": [], "t_end_ns": [],
                         "t_min_ttc_ns": []}, dtype=np.int64)
    pet = pd.DataFrame({"kind": ["crossing", "crossing"], "first": [5, 8], "second": [6, 9],
                        "t_first_enter_s": [30.0, 50.0], "t_second_enter_s": [31.5, 51.0],
                        "conflict": [True, True]})
    t = np.arange(20, 101) * S  # 1 s samples from 20 to 100 s
    heading = {5: np.where(t < 31 * S, 0.0, 270.0), 6: np.full(t.size, 180.0),
               8: np.where(t < 50 * S, 0.0, 90.0), 9: np.where(t < 90 * S, 0.0, 270.0)}
    traj = pd.DataFrame({"vehicle": np.repeat(list(heading), t.size), "t_ns": np.tile(t, 4),
                         "heading_deg": np.concatenate(list(heading.values()))})
    no_red = pd.DataFrame({"vehicle": [], "t_ns": []}, dtype=np.int64)
    no_fast = pd.DataFrame({"vehicle": [], "t_start_ns": [], "t_end_ns": []}, dtype=np.int64)
    k = truth_table(none, none, pet, no_red, no_fast, trajectories=traj)
    left = k[k["kind"] == "crossing_left_turn"]
    assert left[["host", "other", "t_start_ns", "t_end_ns"]].values.tolist() == [
        [5, 6, 30 * S, 31_500_000_000]]
    # a turn of 359 -> 269 deg wraps to -90: left; without trajectories no such rows
    traj.loc[traj["vehicle"] == 5, "heading_deg"] -= 1.0
    traj.loc[traj["vehicle"] == 5, "heading_deg"] %= 360.0
    k = truth_table(none, none, pet, no_red, no_fast, trajectories=traj)
    assert k.loc[k["kind"] == "crossing_left_turn", "host"].tolist() == [5]
    assert "crossing_left_turn" not in set(truth_table(none, none, pet, no_red, no_fast)["kind"])


def test_scoring_in_report_json_html_and_junit(run_dir: Path, tmp_path: Path) -> None:
    # the fixture's FCW: ego 0 warned about 1 at 0 s; its conflicts with 1 are steps 1-3
    # (min TTC 2.0 s at 0.3 s) and step 5: true, lead to the first one's instant 0.3 s; ego 2
    # warned at 0.3 s without a conflict (false); information ages 2.0 and 3.5 ms
    ev = evaluate(run_dir)
    paths = write_reports(ev, tmp_path / "out")
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    (fcw,) = [r for r in doc["scoring"] if r["app"] == "FCW"]
    assert (fcw["true_positives"], fcw["false_positives"], fcw["rule"]) == (1, 1, "rear_end")
    assert fcw["lead_time_min_s"] == pytest.approx(0.3) and fcw["info_age_p50_ms"] == 2.0
    assert [w["lead_time_s"] for w in doc["warnings"]] == [pytest.approx(0.3), None]
    html = paths["html"].read_text(encoding="utf-8")
    assert "<h3>FCW</h3>" in html and "rear_end: same-lane rear-end TTC conflict" in html
    props = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).iter("property")}
    assert (props["apps.FCW.true_positives"], props["apps.FCW.false_positives"]) == ("1", "1")
    assert props["apps.FCW.lead_time_min_s"] == "0.3"
    assert ("apps.FCW.misses", "0") in scoring_properties(ev.kpis)


def test_suite_junit_carries_each_cases_scoring(run_dir: Path, tmp_path: Path) -> None:
    ev = evaluate(run_dir)
    r = CaseResult(case_id="c", title="t", tags=("day1",), out_dir=str(run_dir),
                   passed=ev.passed, verdicts=ev.verdicts, kpis=ev.kpis, wall_s=1.0)
    root = ET.parse(write_suite_junit([r], tmp_path / "j.xml")).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    case_props = {p.get("name"): p.get("value")
                  for p in suite.findall("properties/property")}
    assert case_props["apps.FCW.true_positives"] == "1"
    assert case_props["apps.FCW.info_age_p50_ms"] == "2"
