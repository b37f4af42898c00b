"""run.json is built in one place (v2x.cli._run.run_json) for every status: what the analysis
needs (RUN_KEYS), what docs/recording.md describes, and nothing more for a partial run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import analysis
import scenarios
from analysis._recording import PARTIAL_RUN_KEYS, RUN_KEYS
from v2x.cli._run import RUN_STATUSES, run_json
from v2x.recorder import Recorder
from v2x.sim import RunSummary

DOC = Path(__file__).parents[2] / "docs" / "recording.md"


@pytest.fixture(scope="module")
def sc() -> scenarios.Scenario:
    return scenarios.resolve_scenario("xiqing-south-station")


def _documented_keys() -> set[str]:
    row = next(line for line in DOC.read_text(encoding="utf-8").splitlines()
               if line.startswith("| `run.json`"))
    return set(re.findall(r"`([a-z_]+)`", row.split("|")[3]))


def test_a_complete_run_has_every_key_the_analysis_reads_and_the_docs_describe(sc) -> None:
    run = run_json(sc, "complete", summary=RunSummary(steps=3, vehicles=2, equipped=1),
                   rsu_names=["A1", "B1"], bus="memory", pipeline=True)
    for key in RUN_KEYS:
        node = run
        for part in key.split("."):
            node = node[part]
    assert set(run) <= _documented_keys()
    assert run["status"] == "complete" and run["pipeline"] is True
    assert run["counts"] == {"vehicles": 2, "equipped": 1, "rsus": 2, "steps": 3}
    assert run["criteria"] == [c.as_dict() for c in sc.criteria]
    json.dumps(run)  # all of it is JSON


@pytest.mark.parametrize("status", [s for s in RUN_STATUSES if s != "complete"])
def test_a_partial_run_says_what_it_is_and_what_was_known_at_its_start(sc, status: str) -> None:
    err = RuntimeError("boom") if status != "running" else None
    rec_ns = 30_000_000_000 if status != "running" else None
    run = run_json(sc, status, error=err, recorded_ns=rec_ns, rsu_names=["A1"], bus="memory")
    assert run["status"] == status and run["start"] == sc.start.isoformat()
    assert run.get("error") == ("RuntimeError: boom" if err else None)
    assert run.get("recorded_ns") == rec_ns
    # what the analysis needs to score a partial recording; not the counts of a finished run
    for key in PARTIAL_RUN_KEYS:
        node = run
        for part in key.split("."):
            node = node[part]
    assert not {"counts", "tx_counts", "wall_s", "summary"} & set(run)
    assert run["criteria"] == [c.as_dict() for c in sc.criteria]
    assert set(run) <= _documented_keys() | {"error"}


def test_unknown_status_is_refused(sc) -> None:
    with pytest.raises(ValueError, match="status"):
        run_json(sc, "done")


def test_the_record_of_an_empty_run_is_evaluated(sc, tmp_path: Path) -> None:
    # what check_criteria writes to learn the KPI names: the analysis reads it as a recording
    with Recorder(tmp_path) as rec:
        rec.write_json("run.json", run_json(sc, "complete"))
    ev = analysis.evaluate(tmp_path)
    assert {c.kpi for c in sc.criteria} <= set(ev.kpis)
    assert len(ev.verdicts) == len(sc.criteria)
