"""Offline analysis: reads a recording, computes KPIs and verdicts, writes reports.

``analysis`` reads one run directory (schema: ``docs/recording.md``) and imports no simulation
code, so a report can be re-rendered from a recording alone::

    from analysis import evaluate, write_reports

    ev = evaluate("runs/xiqing-south-station-0001")   # KPIs + verdicts of run.json criteria
    write_reports(ev, "runs/xiqing-south-station-0001/report", lang="zh")

A run that did not complete (killed, failed, interrupted, or still running) is evaluated as far
as its recording goes; ``ev.partial`` (:class:`Partial`) says why and how far, and the reports
mark it (a partial run never passes).

KPI names (the ``kpi`` of a criterion) are tabled in :mod:`analysis._kpi`; safety definitions
(TTC, DRAC, conflicts, warning truth) in :mod:`analysis._safety`; report formats in
:mod:`analysis._report`. The conformance check of captured UPER frames (``v2x check``:
decode failures, sentinels, rates, msgCnt, secMark, MAP/SPAT phases) is :func:`check`, in
:mod:`analysis._check`. The reports of a suite of runs (``v2x suite``: JUnit across cases, a
summary page, a baseline with per-KPI tolerances) are in :mod:`analysis._suite`.
"""

from analysis._check import (
    CHECK_KINDS,
    CHECK_PERIODS,
    CheckReport,
    Finding,
    FindingExample,
    InputProblem,
    IntersectionCheck,
    StreamReport,
    check,
    main_check,
)
from analysis._criteria import Criterion, Verdict, check_criteria, parse_criteria
from analysis._evaluate import Evaluation, evaluate
from analysis._kpi import (
    histogram_percentile,
    kpi_order,
    latency_cdf,
    network_kpis,
    prr_table,
)
from analysis._recording import Partial, Recording, load_recording
from analysis._report import write_reports
from analysis._safety import classify_warnings, drac, follower_pairs, ttc, ttc_conflicts
from analysis._suite import (
    CaseResult,
    Drift,
    baseline_document,
    compare_baseline,
    load_baseline,
    write_suite_html,
    write_suite_junit,
)

__all__ = [
    "CHECK_KINDS",
    "CHECK_PERIODS",
    "CaseResult",
    "CheckReport",
    "Criterion",
    "Drift",
    "Evaluation",
    "Finding",
    "FindingExample",
    "InputProblem",
    "IntersectionCheck",
    "Partial",
    "Recording",
    "StreamReport",
    "Verdict",
    "baseline_document",
    "check",
    "check_criteria",
    "classify_warnings",
    "compare_baseline",
    "drac",
    "evaluate",
    "follower_pairs",
    "histogram_percentile",
    "kpi_order",
    "latency_cdf",
    "load_baseline",
    "load_recording",
    "main_check",
    "network_kpis",
    "parse_criteria",
    "prr_table",
    "ttc",
    "ttc_conflicts",
    "write_reports",
    "write_suite_html",
    "write_suite_junit",
]
