"""Reports of a suite of runs (``v2x suite``): JUnit across cases, a summary page, a baseline.

* :class:`CaseResult`: what one case's run gives back (verdicts, KPIs, wall time, or the error
  that stopped it); small and picklable, so a case can run on another machine (Dask).
* :func:`write_suite_junit`: ``<testsuites>`` with one ``<testsuite>`` per case (name
  ``v2x.<case>``, ``time`` = the case's run time) and one ``<testcase>`` per criterion carrying
  the measured value (``<properties>``: kpi, op, threshold, actual; for a criterion on an
  application also that application's warning scoring, ``apps.<A>.true_positives`` ...,
  which the case's ``<properties>`` hold for every scored application) and the case's run
  time; a
  baseline comparison adds one ``<testcase name="baseline">`` per case, failing with every
  KPI that drifted past its tolerance; a case that could not run is one ``<testcase>`` with an
  ``<error>``.
* :func:`write_suite_html`: one self-contained page, a row per case linking its
  ``report.html``.
* Baseline: a JSON file ``{"version": 1, "tolerances": {PATTERN: {"abs": A, "rel": R} or
  "ignore"}, "cases": {CASE: {KPI: value}}}``. A KPI passes when ``|now - then| <= A + R
  |then|`` (NaN equals NaN, inf equals inf); the first pattern (``fnmatch``, in file order)
  matching a KPI name gives its tolerance, then :data:`DEFAULT_TOLERANCES`. Runs are
  deterministic (same scenario and seed, same recording), so the default is equality; wall-clock
  KPIs are ignored. A KPI in the baseline that the run no longer has drifts ("missing"); KPIs new
  in the run are not judged until the baseline is updated (``--update-baseline``).
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from analysis._criteria import Verdict
from analysis._kpi import kpi_order
from analysis._scoring import scoring_properties
from v2x.errors import ConfigError

__all__ = [
    "DEFAULT_TOLERANCES",
    "CaseResult",
    "Drift",
    "baseline_document",
    "compare_baseline",
    "load_baseline",
    "write_suite_html",
    "write_suite_junit",
]

#: tolerances used after a baseline file's own: wall-clock KPIs vary from run to run; every
#: other KPI of a deterministic run is expected to stay equal
DEFAULT_TOLERANCES: dict[str, dict[str, float] | str] = {
    "bus.wall_latency_*": "ignore",
    "realtime.*": "ignore",
    "*": {"abs": 0.0, "rel": 1e-9},
}


@dataclass(frozen=True)
class CaseResult:
    """One case of a suite.

    Attributes:
        case_id: the scenario id. title: its title. tags: its tags.
        out_dir: the run folder (recording and reports), as the machine that ran it sees it.
        passed: every criterion passed (False when the run failed).
        verdicts: one per criterion. kpis: every KPI of the run.
        wall_s: the case's run time [s] (simulation, recording, analysis and reports).
        error: why the case could not run (None when it ran); ``error_kind`` ``"config"`` (a
            scenario or configuration error) or ``"run"`` (anything else).
    """

    case_id: str
    title: str
    tags: tuple[str, ...]
    out_dir: str
    passed: bool
    verdicts: tuple[Verdict, ...] = ()
    kpis: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    error: str | None = None
    error_kind: str | None = None


@dataclass(frozen=True)
class Drift:
    """A KPI of a case past its baseline tolerance (``now`` NaN and ``missing`` when the run no
    longer has it)."""

    case_id: str
    kpi: str
    then: float
    now: float
    tolerance: str
    missing: bool = False

    @property
    def message(self) -> str:
        """One line naming the KPI, e.g. ``prr.BSM.within_300m: 0.91 -> 0.87 (abs 0.02)``."""
        if self.missing:
            return f"{self.kpi}: {self.then:.6g} in the baseline, not measured now"
        return f"{self.kpi}: {self.then:.6g} -> {self.now:.6g} ({self.tolerance})"


# ------------------------------------------------------------------------------- baseline
def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read and check a baseline file (see the module docstring).

    Raises:
        ConfigError: the file cannot be read, is not JSON, or has the wrong shape (names the
            file and the key).
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the baseline: {exc.strerror or exc}", file=p) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"the baseline is not JSON: {exc}", file=p) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), dict):
        raise ConfigError("a baseline is an object with a 'cases' object", file=p, key="cases")
    tolerances = doc.get("tolerances", {})
    if not isinstance(tolerances, dict):
        raise ConfigError("must be an object", file=p, key="tolerances", value=tolerances)
    for pattern, tol in tolerances.items():
        _check_tolerance(p, pattern, tol)
    for case, kpis in doc["cases"].items():
        if not isinstance(kpis, dict):
            raise ConfigError("must be an object of KPI values", file=p, key=f"cases.{case}")
        for kpi, value in kpis.items():
            if value is not None and not isinstance(value, int | float | str):
                raise ConfigError("must be a number", file=p, key=f"cases.{case}.{kpi}",
                                  value=value)
    return doc


def _check_tolerance(path: Path, pattern: str, tol: Any) -> None:
    if tol == "ignore":
        return
    ok = isinstance(tol, dict) and set(tol) <= {"abs", "rel"} and all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in tol.values())
    if not ok:
        raise ConfigError('must be "ignore" or {"abs": A, "rel": R} with A, R >= 0', file=path,
                          key=f"tolerances.{pattern}", value=tol)


def baseline_document(results: Sequence[CaseResult],
                      tolerances: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A baseline of these results (cases that ran), keeping ``tolerances`` (a previous
    baseline's) or none. KPI values are JSON-safe: NaN is ``null``, +/-inf ``"inf"``/``"-inf"``."""
    return {
        "version": 1,
        "tolerances": dict(tolerances or {}),
        "cases": {r.case_id: {k: _to_json(v) for k, v in sorted(r.kpis.items(),
                                                                   key=lambda kv: kpi_order(kv[0]))}
                  for r in sorted(results, key=lambda r: r.case_id) if r.error is None},
    }


def compare_baseline(results: Sequence[CaseResult],
                     baseline: Mapping[str, Any]) -> dict[str, list[Drift]]:
    """The drifts of every case that ran and is in ``baseline`` (case id -> drifts, empty when
    within tolerance). Cases not in the baseline are not in the result."""
    tolerances = list(baseline.get("tolerances", {}).items()) + list(DEFAULT_TOLERANCES.items())
    out: dict[str, list[Drift]] = {}
    for r in results:
        then = baseline["cases"].get(r.case_id)
        if r.error is not None or then is None:
            continue
        drifts = []
        for kpi, old in then.items():
            tol = next(t for pattern, t in tolerances if fnmatch.fnmatchcase(kpi, pattern))
            if tol == "ignore":
                continue
            a = _from_json(old)
            if kpi not in r.kpis:
                drifts.append(Drift(r.case_id, kpi, a, math.nan, _describe(tol), missing=True))
                continue
            b = float(r.kpis[kpi])
            if not _within(a, b, tol):
                drifts.append(Drift(r.case_id, kpi, a, b, _describe(tol)))
        out[r.case_id] = drifts
    return out


def _within(a: float, b: float, tol: Mapping[str, float]) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(b - a) <= tol.get("abs", 0.0) + tol.get("rel", 0.0) * abs(a)


def _describe(tol: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in tol.items()) or "equal"


def _to_json(x: float) -> float | str | None:
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _from_json(x: Any) -> float:
    return math.nan if x is None else float(x)


# ---------------------------------------------------------------------------------- JUnit
def write_suite_junit(results: Sequence[CaseResult], path: str | Path,
                      drifts: Mapping[str, Sequence[Drift]] | None = None) -> Path:
    """Write the suite's JUnit XML (see the module docstring) to ``path``; returns it."""
    drifts = drifts or {}
    root = ET.Element("testsuites", {"name": "v2x suite"})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    wall = 0.0
    for r in results:
        suite = _junit_case(root, r, drifts.get(r.case_id))
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        wall += r.wall_s
    root.attrib.update({k: str(v) for k, v in totals.items()} | {"time": f"{wall:.3f}"})
    ET.indent(root)
    out = Path(path)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return out


def _junit_case(root: ET.Element, r: CaseResult, drifts: Sequence[Drift] | None) -> ET.Element:
    name = f"v2x.{r.case_id}"
    time = f"{r.wall_s:.3f}"
    suite = ET.SubElement(root, "testsuite", {"name": name, "time": time})
    props = ET.SubElement(suite, "properties")
    for key, value in (("case", r.case_id), ("title", r.title), ("tags", ",".join(r.tags)),
                       ("out_dir", r.out_dir)):
        ET.SubElement(props, "property", {"name": key, "value": value})
    scores = scoring_properties(r.kpis)  # the warning scoring of each scored application
    for key, value in scores:
        ET.SubElement(props, "property", {"name": key, "value": value})
    tests = failures = errors = 0
    if r.error is not None:
        case = ET.SubElement(suite, "testcase", {"name": "run", "classname": name, "time": time})
        err = ET.SubElement(case, "error", {"message": r.error,
                                             "type": "ConfigError" if r.error_kind == "config"
                                             else "RunError"})
        err.text = r.error
        tests, errors = 1, 1
    for v in r.verdicts:
        case = ET.SubElement(suite, "testcase", {"name": v.name, "classname": name, "time": time})
        cprops = ET.SubElement(case, "properties")
        for key, value in (("kpi", v.kpi), ("op", v.op), ("threshold", f"{v.threshold:.6g}"),
                           ("actual", f"{v.actual:.6g}")):
            ET.SubElement(cprops, "property", {"name": key, "value": value})
        app = v.kpi.split(".")[1] if v.kpi.startswith("apps.") else None
        for key, value in scores:  # a criterion on an application carries its scoring
            if app is not None and key.startswith(f"apps.{app}."):
                ET.SubElement(cprops, "property", {"name": key, "value": value})
        ET.SubElement(case, "system-out").text = f"{v.kpi} = {v.actual:.6g}"
        tests += 1
        if not v.passed:
            fail = ET.SubElement(case, "failure", {"message": v.reason, "type": "CriterionFailed"})
            fail.text = f"{v.name}: {v.reason}"
            failures += 1
    if drifts is not None:
        case = ET.SubElement(suite, "testcase", {"name": "baseline", "classname": name,
                                                 "time": "0"})
        tests += 1
        if drifts:
            lines = [d.message for d in drifts]
            fail = ET.SubElement(case, "failure", {
                "message": f"{len(drifts)} KPI(s) past their baseline tolerance: "
                           + "; ".join(lines[:3]) + ("; ..." if len(lines) > 3 else ""),
                "type": "BaselineDrift"})
            fail.text = "\n".join(lines)
            failures += 1
    suite.attrib.update({"tests": str(tests), "failures": str(failures), "errors": str(errors),
                         "skipped": "0"})
    return suite


# ----------------------------------------------------------------------------------- HTML
def write_suite_html(results: Sequence[CaseResult], path: str | Path,
                     drifts: Mapping[str, Sequence[Drift]] | None = None) -> Path:
    """Write the suite's summary page to ``path`` (one row per case: result, criteria passed,
    baseline drifts, run time, a link to its ``report.html`` relative to the page); returns
    it."""
    from analysis._report import _fmt  # the report's number format, one definition

    out = Path(path)
    drifts = drifts or {}
    rows = []
    for r in results:
        report = Path(r.out_dir) / "report.html"
        try:
            link: str | None = os.path.relpath(report, out.parent)
        except ValueError:  # another drive (Windows): an absolute link
            link = report.as_uri() if report.is_absolute() else str(report)
        d = drifts.get(r.case_id)
        rows.append({
            "id": r.case_id, "title": r.title, "tags": ", ".join(r.tags),
            "passed": r.passed and not d, "error": r.error,
            "n_pass": sum(v.passed for v in r.verdicts), "n": len(r.verdicts),
            "failed": [f"{v.name}: {v.reason}" for v in r.verdicts if not v.passed],
            "drifts": [x.message for x in d or ()], "wall_s": r.wall_s,
            "link": link if r.error is None else None})
    env = Environment(loader=PackageLoader("analysis", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    html = env.get_template("suite.html.j2").render(
        rows=rows, n_pass=sum(r["passed"] for r in rows), n=len(rows),
        wall_s=sum(r.wall_s for r in results))
    out.write_text(html, encoding="utf-8")
    return out
