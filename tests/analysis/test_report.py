"""report.json, junit.xml and report.html from the fixture recording."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from analysis import Evaluation, evaluate, write_reports
from analysis._recording import TABLES
from tests.analysis.conftest import as_killed
from v2x.errors import ConfigError


@pytest.fixture
def ev(run_dir: Path) -> Evaluation:
    return evaluate(run_dir)


def test_report_json_round_trips(ev: Evaluation, tmp_path: Path) -> None:
    paths = write_reports(ev, tmp_path / "out", formats=("json",))
    assert set(paths) == {"json"}
    text = paths["json"].read_text(encoding="utf-8")
    doc = json.loads(text)  # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in text and "Infinity" not in text
    assert doc["scenario_id"] == "unit-fixture-001"
    assert doc["passed"] is False
    k = doc["kpis"]
    assert k["latency.BSM.p99_ms"] == pytest.approx(5.1)
    assert k["prr.BSM.within_300m"] == pytest.approx(0.875)
    assert k["latency.RSI.p99_ms"] is None  # NaN -> null
    assert k["safety.collisions"] == 1
    assert [v["passed"] for v in doc["verdicts"]] == [True, False]
    assert doc["verdicts"][1]["reason"] == "safety.collisions = 1, required == 0"
    bsm = [r for r in doc["prr"] if r["msg_type"] == "BSM"]
    assert bsm[1] == {"msg_type": "BSM", "bin_lo_m": 20.0, "bin_hi_m": 40.0, "n_pairs": 10,
                      "n_received": 9, "prr": 0.9}
    assert bsm[2]["prr"] is None  # 0 pairs
    assert [c["min_ttc_s"] for c in doc["conflicts"]] == pytest.approx([2.0, 1.5])
    assert [w["true_warning"] for w in doc["warnings"]] == [True, False]


def test_report_json_writes_inf_as_string(
    make_run: Callable[..., Path], tmp_path: Path
) -> None:
    # no trajectories: no pairs, min TTC is +inf
    d = make_run(trajectories=pd.DataFrame({c: [] for c in TABLES["trajectories.parquet"]}))
    ev = evaluate(d)
    assert ev.kpis["safety.min_ttc_s"] == math.inf
    doc = json.loads(write_reports(ev, tmp_path / "o", formats=["json"])["json"].read_text())
    assert doc["kpis"]["safety.min_ttc_s"] == "inf"
    assert doc["kpis"]["safety.ttc_conflicts"] == 0


# attributes the common JUnit XML schema (Jenkins junit-10.xsd, Ant) allows
_SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time", "timestamp",
                "hostname", "id", "package", "disabled"}
_CASE_ATTRS = {"name", "classname", "time", "assertions", "status"}


def test_junit_xml(ev: Evaluation, tmp_path: Path) -> None:
    path = write_reports(ev, tmp_path, formats=["junit"])["junit"]
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert set(suite.attrib) <= _SUITE_ATTRS
    assert suite.get("name") == "v2x.unit-fixture-001"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    assert float(suite.get("time", "")) == pytest.approx(1.25)
    assert suite.get("timestamp") == "2024-05-01T08:00:00"  # xs:dateTime without offset
    # properties first, then the testcases (the schema's element order)
    assert [c.tag for c in suite] == ["properties", "testcase", "testcase"]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["seed"] == "7"
    cases = suite.findall("testcase")
    for c in cases:
        assert set(c.attrib) <= _CASE_ATTRS
        assert c.get("classname") == "v2x.unit-fixture-001"
    assert [c.get("name") for c in cases] == ["BSM latency p99", "no collisions"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "safety.collisions = 1, required == 0"
    assert "safety.collisions = 1" in (failure.text or "")


def test_html_report(ev: Evaluation, tmp_path: Path) -> None:
    paths = write_reports(ev, tmp_path)
    assert set(paths) == {"json", "junit", "html"}
    html = paths["html"].read_text(encoding="utf-8")
    assert html.count('<img src="data:image/png;base64,') == 2
    assert "unit-fixture-001" in html
    assert '<html lang="en">' in html
    assert "Verdicts" in html and "FAIL" in html
    assert "(to verify)" in html
    # no external resources: self-contained
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html


def test_html_template_is_compiled_once_and_pages_repeat(ev: Evaluation, tmp_path: Path) -> None:
    from analysis._report import html_template

    assert html_template() is html_template()
    # the same evaluation gives the same page, in either language, whichever came first
    a = write_reports(ev, tmp_path / "a", formats=["html"])["html"].read_bytes()
    write_reports(ev, tmp_path / "zh", formats=["html"], lang="zh")
    b = write_reports(ev, tmp_path / "b", formats=["html"])["html"].read_bytes()
    assert a == b


def test_html_report_zh(ev: Evaluation, tmp_path: Path) -> None:
    html = write_reports(ev, tmp_path, formats=("html",), lang="zh")["html"].read_text("utf-8")
    assert '<html lang="zh-CN">' in html
    assert "判定结果" in html and "未通过" in html and "待核实" in html
    assert html.count('<img src="data:image/png;base64,') == 2


def test_html_escapes_run_text(make_run: Callable[..., Path], tmp_path: Path) -> None:
    d = make_run(run={"title": "<b>bold</b>"})
    html = write_reports(evaluate(d), tmp_path, formats=["html"])["html"].read_text()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_html_says_when_the_delivery_kpis_come_from_a_sample(
        make_run: Callable[..., Path], tmp_path: Path) -> None:
    every = write_reports(evaluate(make_run()), tmp_path / "all", formats=["html"])
    assert "recording.kpi_sample" not in every["html"].read_text("utf-8")
    d = make_run(name="sampled", run={"kpi_sample": {"fraction": 0.05, "receivers": "..."}})
    ev = evaluate(d)
    html = write_reports(ev, tmp_path / "en", formats=["html"])["html"].read_text("utf-8")
    assert "over a seeded sample of 5 % of the receivers (recording.kpi_sample)" in html
    zh = write_reports(ev, tmp_path / "zh", formats=["html"], lang="zh")["html"]
    assert "按随机抽取的 5% 接收端统计" in zh.read_text("utf-8")


def test_bad_format_and_lang(ev: Evaluation, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown report format 'pdf'"):
        write_reports(ev, tmp_path, formats=["pdf"])
    with pytest.raises(ConfigError, match="unknown report language 'fr'"):
        write_reports(ev, tmp_path, lang="fr")


def test_evaluate_rejects_bad_threshold(run_dir: Path) -> None:
    with pytest.raises(ConfigError, match="ttc_threshold_s"):
        evaluate(run_dir, ttc_threshold_s=0)


def test_a_partial_recording_is_scored_as_far_as_it_goes_and_marked(
        run_dir: Path, tmp_path: Path) -> None:
    ev = evaluate(as_killed(run_dir, 400_000_000))
    assert ev.partial is not None and ev.partial.recorded_ns == 400_000_000
    # the collision at 0.5 s is past the last checkpoint: not counted; the criterion on it
    # passes, and still the run does not pass
    assert ev.kpis["safety.collisions"] == 0 and ev.kpis["steps"] == 4
    assert [v.passed for v in ev.verdicts] == [True, True] and not ev.passed
    paths = write_reports(ev, tmp_path / "out")
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert doc["passed"] is False
    assert doc["partial"] == {
        "status": "running", "recorded_ns": 400_000_000, "duration_ns": 600_000_000,
        "writer_alive": False, "error": "", "reason": ev.partial.reason}
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("3", "1")
    case = suite.findall("testcase")[0]
    failure = case.find("failure")
    assert case.get("name") == "recording complete" and failure is not None
    assert failure.get("message") == ev.partial.reason
    html = paths["html"].read_text(encoding="utf-8")
    assert "Partial recording</strong>: the run stopped without finishing" in html
    assert "recorded up to 0.4 s of 0.6 s of simulated time" in html
    assert '<span class="badge fail">PARTIAL</span>' in html
    zh = write_reports(ev, tmp_path / "zh", formats=["html"], lang="zh")["html"]
    assert "不完整的记录" in zh.read_text(encoding="utf-8")


def test_a_complete_recording_says_it_is_not_partial(ev: Evaluation, tmp_path: Path) -> None:
    doc = json.loads(write_reports(ev, tmp_path, formats=["json"])["json"].read_text())
    assert ev.partial is None and doc["partial"] is None
    html = write_reports(ev, tmp_path, formats=["html"])["html"].read_text(encoding="utf-8")
    assert "Partial recording" not in html


def test_report_json_tables_have_one_row_per_line_with_plain_values() -> None:
    from analysis._report import _json_text, _plain

    table = pd.DataFrame({"f": [1.5, math.nan, math.inf], "i": [1, 2, 3],
                          "b": [True, False, True], "s": ["a", "b", None],
                          "n": pd.array([1, None, 3], dtype="Int64")})
    doc = {"kpis": {"x": 1.0}, "rows": table, "empty": table.head(0), "list": [1, 2]}
    text = _json_text(_plain(doc))
    assert text == (
        '{\n  "kpis": {\n    "x": 1.0\n  },\n  "rows": [\n'
        '    {"f": 1.5, "i": 1, "b": true, "s": "a", "n": 1},\n'
        '    {"f": null, "i": 2, "b": false, "s": "b", "n": null},\n'
        '    {"f": "inf", "i": 3, "b": true, "s": null, "n": 3}\n'
        '  ],\n  "empty": [],\n  "list": [\n    1,\n    2\n  ]\n}')
    assert json.loads(text)["rows"] == [{k: _plain(v) for k, v in r.items()}
                                        for r in table.to_dict(orient="records")]
