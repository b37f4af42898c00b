"""Pass/fail criteria: ``run.json`` ``criteria`` checked against the flat KPI dict.

The criterion itself, its operators and its parser are :mod:`v2x.criteria` (one definition,
shared with the scenario's ``[[criteria]]``); :class:`Criterion` and :func:`parse_criteria` are
re-exported here. KPI names are listed in :mod:`analysis._kpi`.
A KPI that is NaN (no data) fails its criterion and the reason says so; +inf compares as a number.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from v2x.criteria import OPS, Criterion, parse_criteria
from v2x.errors import CriteriaError

__all__ = ["Criterion", "Verdict", "check_criteria", "parse_criteria"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one criterion: ``actual`` is the KPI value (NaN if no data)."""

    name: str
    kpi: str
    op: str
    threshold: float
    actual: float
    passed: bool
    reason: str


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def check_criteria(
    criteria: Sequence[Criterion], kpis: Mapping[str, float]
) -> tuple[Verdict, ...]:
    """Check each criterion against ``kpis``; one :class:`Verdict` per criterion, in order.

    Raises:
        CriteriaError: a criterion names a KPI not in ``kpis`` or an unknown op (names the
            criterion, and suggests close KPI names).
    """
    verdicts = []
    for i, c in enumerate(criteria):
        where = f"criterion #{i} '{c.name}'"
        if c.op not in OPS:
            raise CriteriaError(f"{where}: unknown op {c.op!r}; use one of {' '.join(OPS)}")
        if c.kpi not in kpis:
            close = difflib.get_close_matches(c.kpi, list(kpis), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CriteriaError(f"{where}: unknown KPI '{c.kpi}'{hint}")
        actual = float(kpis[c.kpi])
        if math.isnan(actual):
            passed = False
            reason = f"{c.kpi} has no value (NaN: no data in the recording)"
        else:
            passed = bool(OPS[c.op](actual, c.value))
            if passed:
                reason = f"{c.kpi} = {_fmt(actual)} {c.op} {_fmt(c.value)}"
            else:
                reason = f"{c.kpi} = {_fmt(actual)}, required {c.op} {_fmt(c.value)}"
        verdicts.append(Verdict(name=c.name, kpi=c.kpi, op=c.op, threshold=c.value,
                                actual=actual, passed=passed, reason=reason))
    return tuple(verdicts)
