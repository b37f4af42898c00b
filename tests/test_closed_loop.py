"""Closed loop on SUMO: the library case ``xiqing-fcw-lead-brakes`` (a lead braking at 6 m/s²
in front of a distracted host, see its scenario.toml for the hand calculation), and its V2X
benefit: the case runs itself a second time with every application off (``[benefit]
compare``), in ``without-v2x/``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import analysis
from v2x.cli import run_scenario
from v2x.errors import ConfigError

pytestmark = [pytest.mark.sumo]

CASE = "xiqing-fcw-lead-brakes"
TABLES = ("trajectories", "transmissions", "receptions", "prr_bins", "latency_hist", "ipg_hist",
          "warnings", "events", "nodes")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name, kw in (("piped", {"pipeline": True}),
                     ("one-step", {"pipeline": False, "window_steps": 1})):
        d = tmp_path_factory.mktemp(f"closed-{name}")
        run_scenario(CASE, out_dir=d, bus="memory", **kw)
        out[name] = d
    out["fcw-off"] = out["piped"] / "without-v2x"  # the case's own run without V2X
    return out


def _events(run: Path, kind: str) -> pd.DataFrame:
    ev = pd.read_parquet(run / "events.parquet")
    return ev[ev["kind"] == kind].reset_index(drop=True)


def test_with_fcw_and_a_reacting_driver_the_host_stops_behind_the_lead(
        runs: dict[str, Path]) -> None:
    run = runs["piped"]
    w = pd.read_parquet(run / "warnings.parquet")
    first = w.iloc[0]
    # the lead brakes at 5.0 s; the host's TTC falls below 2.7 s 2.4-2.5 s later (hand
    # calculation in the scenario file, with the 13.76 m/s SUMO's dawdling left it)
    assert first["app"] == "FCW" and 7.3e9 <= first["t_ns"] <= 7.6e9
    assert first["ttc_s"] < 2.7
    # the driver brakes exactly 1 s (the reaction time) after the warning, at 6 m/s²
    brake = _events(run, "driver_brake").iloc[0]
    assert brake["t_ns"] == first["t_ns"] + 1_000_000_000 and brake["value"] == 6.0
    tr = pd.read_parquet(run / "trajectories.parquet")
    nodes = pd.read_parquet(run / "nodes.parquet").set_index("name")["node"]
    host, lead = nodes["host"], nodes["lead"]
    x = tr.pivot(index="t_ns", columns="vehicle", values="x")
    gap = x[lead] - 4.8 - x[host]  # eastbound: lead's rear minus host's front
    # it stops 6-9 m behind the stopped lead (hand: ~6.6 m); released 2 s later, SUMO's
    # car-following creeps closer but never touches it
    v = tr.pivot(index="t_ns", columns="vehicle", values="speed")[host]
    stopped = v[v.index > brake["t_ns"]].eq(0.0).idxmax()
    assert 6.0 <= gap[stopped] <= 9.0
    assert gap.min() > 2.0
    # the host braked at 6 m/s² (SUMO acceleration column): speed falls 0.6 m/s per step
    acc = tr[(tr["vehicle"] == host) & (tr["t_ns"] > brake["t_ns"] + 100_000_000)
             & (tr["t_ns"] < brake["t_ns"] + 2_000_000_000)]["accel"]
    assert acc.to_numpy() == pytest.approx(-6.0, abs=0.05)
    assert _events(run, "collision").empty


def test_with_fcw_off_the_host_runs_into_the_lead(runs: dict[str, Path]) -> None:
    run = runs["fcw-off"]
    meta = json.loads((run / "run.json").read_text())
    # the same scenario and seed, every application off, no criteria of its own
    assert meta["applications"] == [] and meta["criteria"] == [] and meta["seed"] == 1
    assert meta["title"].endswith("(without V2X)") and "benefit" not in meta
    assert pd.read_parquet(run / "warnings.parquet").empty
    col = _events(run, "collision")
    # the host (constant 13.76 m/s) reaches the stopped lead's rear about 5 s after its braking
    assert len(col) == 1 and 9.8e9 <= col["t_ns"].iloc[0] <= 10.3e9
    # SUMO reports the pair at every step until the run ends at 15 s (the host drives on
    # through the lead): one collision, its end cut by the run's end, lasting every step since
    end = _events(run, "collision_end")
    assert end["t_ns"].tolist() == [15_000_000_000]
    assert end["value"].iloc[0] == pytest.approx((15e9 - col["t_ns"].iloc[0] + 1e8) / 1e9)
    assert json.loads((run / "report.json").read_text())["kpis"]["safety.collisions"] == 1
    assert _events(run, "driver_brake").empty


def test_the_report_shows_fewer_collisions_with_v2x_than_without(runs: dict[str, Path]) -> None:
    run = runs["piped"]
    report = json.loads((run / "report.json").read_text())
    k = report["kpis"]
    # with FCW the driver stops 6-9 m behind the lead; without, the host hits it (above)
    assert (k["benefit.collisions_with"], k["benefit.collisions_without"]) == (0, 1)
    assert k["benefit.collisions_avoided"] == 1
    # both runs' conflicts: with V2X min TTC 1.5-1.6 s (the braking host, measured 1.549 s),
    # without it 0 (the collision); the serious ones (min TTC <= 1.5 s) are the crash's alone
    assert 1.5 < k["benefit.min_ttc_s_with"] < 1.6 and k["benefit.min_ttc_s_without"] == 0
    assert k["benefit.ttc_conflicts_serious_with"] == 0
    assert k["benefit.ttc_conflicts_serious_without"] >= 1
    # with V2X the host's driver brakes hard too (> 0.4 g): one more hard-braking vehicle
    assert k["benefit.hard_braking_with"] == k["benefit.hard_braking_without"] + 1
    assert report["benefit"]["without"] == "without-v2x"
    assert [r["measure"] for r in report["benefit"]["rows"]] == [
        "collisions", "ttc_conflicts", "ttc_conflicts_serious", "min_ttc_s", "hard_braking"]
    verdicts = {v["name"]: v["passed"] for v in report["verdicts"]}
    assert verdicts["V2X avoids the collision that happens without it"] and report["passed"]
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "V2X benefit" in page and 'href="without-v2x/report.html"' in page
    # re-scored offline (v2x report), the benefit comes back from the two recordings
    ev = analysis.evaluate(run)
    assert ev.kpis["benefit.collisions_without"] == 1
    # the FCW warning (7.5 s) foresaw the rear-end conflict that happened in both runs; the
    # twin's conflicts after its crash (10 s) are the crash's aftermath, not misses; the miss
    # is the run's own second conflict (13.8 s, creeping up to the stopped lead: no re-warning)
    assert (k["apps.FCW.true_positives"], k["apps.FCW.false_positives"],
            k["apps.FCW.misses"]) == (1, 0, 1)
    assert ev.truth is not None and ev.truth["counterfactual"].sum() == 0


@pytest.mark.parametrize("table", TABLES)
def test_closed_loop_recording_equals_the_step_by_step_run(runs: dict[str, Path],
                                                           table: str) -> None:
    # SUMO in the traffic process, windows of 5 steps, 6 steps ahead, against one process
    # and one step at a time: identical tables
    a = pd.read_parquet(runs["piped"] / f"{table}.parquet")
    b = pd.read_parquet(runs["one-step"] / f"{table}.parquet")
    pd.testing.assert_frame_equal(a, b, check_categorical=False, obj=table)


def test_a_benefit_criterion_without_the_comparison_is_a_configuration_error(
        tmp_path: Path) -> None:
    # refused before anything runs, naming the criterion and what it needs
    with pytest.raises(ConfigError, match=r"criteria\[5\]\.kpi.*benefit\.\* KPIs need "
                                          r"\[benefit\] compare = true"):
        run_scenario(CASE, out_dir=tmp_path, overrides=["benefit.compare=false"])
    assert not (tmp_path / "run.json").exists()


@pytest.mark.parametrize(("case", "app", "collision_s", "scored"), [
    # without V2X (hand and measured in the case files): the distracted EBW host runs into
    # the vehicle hiding the braking lead (8.8 s); the red-light runner hits the crossing
    # vehicle (13.0 s). Scored against both runs (analysis._scoring.counterfactual_truth),
    # the warning that avoided the crash is a true positive: the twin's rear-end conflict
    # behind the intermediate vehicle whose leader braked hard, the red light the twin ran,
    # the crossing conflict of both drivers (one warning each)
    ("xiqing-ebw-closed-loop-behind-intermediate", "EBW", 8.8, (1, 0, 0)),
    ("xiqing-rlvw-closed-loop-runs-red", "RLVW", 13.0, (1, 0, 0)),
    # the two drivers on a collision course at the crossing (xiqing-icw-crossing-closed-loop)
    ("xiqing-icw-crossing-closed-loop", "ICW", 7.4, (2, 0, 0)),
])
def test_each_closed_loop_case_avoids_the_collision_it_has_without_v2x(
        case: str, app: str, collision_s: float, scored: tuple[int, int, int],
        tmp_path: Path) -> None:
    result = run_scenario(case, out_dir=tmp_path, bus="memory")
    k = result.evaluation.kpis
    assert result.passed, [v.reason for v in result.evaluation.verdicts if not v.passed]
    assert (k["benefit.collisions_with"], k["benefit.collisions_without"]) == (0, 1)
    # with V2X the warned driver brakes 1 s (the reaction time) after the warning
    brake = _events(tmp_path, "driver_brake")
    assert brake["t_ns"].iloc[0] == round(k[f"apps.{app}.first_warning_s"] * 1e9) + 10**9
    crash = _events(tmp_path / "without-v2x", "collision")
    assert crash["t_ns"].tolist() == [round(collision_s * 1e9)]
    assert pd.read_parquet(tmp_path / "without-v2x" / "warnings.parquet").empty
    assert tuple(k[f"apps.{app}.{m}"] for m in ("true_positives", "false_positives",
                                                "misses")) == scored
