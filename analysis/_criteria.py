"""Pass/fail criteria: ``run.json`` ``criteria`` checked against the flat KPI dict.

A criterion is ``{"kpi": "latency.BSM.p99_ms", "op": "<=", "value": 100, "name": "..."}``;
``op`` is one of ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``; ``value`` a number; ``name``
optional (defaults to ``"<kpi> <op> <value>"``). KPI names are listed in :mod:`analysis._kpi`.
A KPI that is NaN (no data) fails its criterion and the reason says so; +inf compares as a number.
"""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from v2x.errors import CriteriaError

__all__ = ["OPS", "Criterion", "Verdict", "check_criteria", "parse_criteria"]

#: comparison operators a criterion may use
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Criterion:
    """One pass/fail criterion: ``kpi op value`` must hold."""

    kpi: str
    op: str
    value: float
    name: str


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


def _label(i: int, raw: object) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return f"criterion #{i}" + (f" '{name}'" if isinstance(name, str) and name else "")


def parse_criteria(raw: object) -> tuple[Criterion, ...]:
    """Parse ``run.json`` ``criteria`` (a list of dicts) into :class:`Criterion` values.

    Raises:
        CriteriaError: not a list, an item is not an object, ``kpi`` is not a non-empty string,
            ``op`` is unknown, ``value`` is not a number, or ``name`` is not a string; the message
            names the criterion (index and name).
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise CriteriaError(f"criteria must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        where = _label(i, item)
        if not isinstance(item, Mapping):
            raise CriteriaError(f"{where}: expected an object, got {type(item).__name__}")
        kpi: Any = item.get("kpi")
        if not isinstance(kpi, str) or not kpi:
            raise CriteriaError(f"{where}: 'kpi' must be a KPI name, got {kpi!r}")
        op: Any = item.get("op")
        if op not in OPS:
            raise CriteriaError(
                f"{where}: unknown op {op!r}; use one of {' '.join(OPS)}"
            )
        value: Any = item.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CriteriaError(f"{where}: 'value' must be a number, got {value!r}")
        name: Any = item.get("name", f"{kpi} {op} {value}")
        if not isinstance(name, str):
            raise CriteriaError(f"{where}: 'name' must be a string, got {name!r}")
        out.append(Criterion(kpi=kpi, op=op, value=float(value), name=name))
    return tuple(out)


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
