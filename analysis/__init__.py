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
(TTC, DRAC, conflicts, offset pairs, red light, speeding) in :mod:`analysis._safety`, PET in
:mod:`analysis._pet`, the warning scoring per application and its registry of truth rules
(:data:`SCORING_RULES`) in :mod:`analysis._scoring`; report formats in
:mod:`analysis._report`. The conformance check of captured UPER frames (``v2x check``:
decode failures, sentinels, rates, msgCnt, secMark, MAP/SPAT phases) is :func:`check`, in
:mod:`analysis._check`. The reports of a suite of runs (``v2x suite``: JUnit across cases, a
summary page, a baseline with per-KPI tolerances) are in :mod:`analysis._suite`.

Names are imported on first use (``from analysis import check`` loads only what ``check``
needs): ``v2x check`` starts without pandas and matplotlib, which the evaluation and the
reports need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from analysis._criteria import (
        Criterion,
        Verdict,
        check_criteria,
        parse_criteria,
    )
    from analysis._evaluate import (
        Evaluation,
        evaluate,
    )
    from analysis._kpi import (
        histogram_percentile,
        kpi_order,
        latency_cdf,
        network_kpis,
        prr_table,
    )
    from analysis._pet import pet_encounters
    from analysis._recording import (
        Partial,
        Recording,
        load_recording,
    )
    from analysis._report import (
        write_reports,
    )
    from analysis._safety import (
        classify_warnings,
        drac,
        follower_pairs,
        offset_pairs,
        safety_evaluation,
        ttc,
        ttc_conflicts,
    )
    from analysis._scoring import SCORING_RULES, TruthRule, score_warnings
    from analysis._suite import (
        CaseResult,
        Drift,
        baseline_document,
        compare_baseline,
        load_baseline,
        write_suite_html,
        write_suite_junit,
    )

#: public name -> the module that defines it
_WHERE: dict[str, str] = {
    "CHECK_KINDS": "analysis._check",
    "CHECK_PERIODS": "analysis._check",
    "CaseResult": "analysis._suite",
    "CheckReport": "analysis._check",
    "Criterion": "analysis._criteria",
    "Drift": "analysis._suite",
    "Evaluation": "analysis._evaluate",
    "Finding": "analysis._check",
    "FindingExample": "analysis._check",
    "InputProblem": "analysis._check",
    "IntersectionCheck": "analysis._check",
    "Partial": "analysis._recording",
    "Recording": "analysis._recording",
    "SCORING_RULES": "analysis._scoring",
    "StreamReport": "analysis._check",
    "TruthRule": "analysis._scoring",
    "Verdict": "analysis._criteria",
    "baseline_document": "analysis._suite",
    "check": "analysis._check",
    "check_criteria": "analysis._criteria",
    "classify_warnings": "analysis._safety",
    "compare_baseline": "analysis._suite",
    "drac": "analysis._safety",
    "evaluate": "analysis._evaluate",
    "follower_pairs": "analysis._safety",
    "histogram_percentile": "analysis._kpi",
    "kpi_order": "analysis._kpi",
    "latency_cdf": "analysis._kpi",
    "load_baseline": "analysis._suite",
    "load_recording": "analysis._recording",
    "main_check": "analysis._check",
    "network_kpis": "analysis._kpi",
    "offset_pairs": "analysis._safety",
    "parse_criteria": "analysis._criteria",
    "pet_encounters": "analysis._pet",
    "prr_table": "analysis._kpi",
    "safety_evaluation": "analysis._safety",
    "score_warnings": "analysis._scoring",
    "ttc": "analysis._safety",
    "ttc_conflicts": "analysis._safety",
    "write_reports": "analysis._report",
    "write_suite_html": "analysis._suite",
    "write_suite_junit": "analysis._suite",
}

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
    "SCORING_RULES",
    "StreamReport",
    "TruthRule",
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
    "offset_pairs",
    "parse_criteria",
    "pet_encounters",
    "prr_table",
    "safety_evaluation",
    "score_warnings",
    "ttc",
    "ttc_conflicts",
    "write_reports",
    "write_suite_html",
    "write_suite_junit",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
