"""Criteria: parsing, the six ops, NaN and inf, and the errors that name the criterion."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from analysis import Criterion, check_criteria, evaluate, parse_criteria
from v2x.errors import CriteriaError

KPIS = {"latency.BSM.p99_ms": 5.1, "safety.collisions": 1, "prr.RSI.within_300m": math.nan,
        "safety.min_ttc_s": math.inf}


def _one(kpi: str, op: str, value: float) -> bool:
    (v,) = check_criteria(parse_criteria([{"kpi": kpi, "op": op, "value": value}]), KPIS)
    return v.passed


@pytest.mark.parametrize(("op", "value", "passed"), [
    ("<", 5.2, True), ("<", 5.1, False),
    ("<=", 5.1, True), ("<=", 5.0, False),
    (">", 5.0, True), (">", 5.1, False),
    (">=", 5.1, True), (">=", 5.2, False),
    ("==", 5.1, True), ("==", 5.0, False),
    ("!=", 5.0, True), ("!=", 5.1, False),
])
def test_ops(op: str, value: float, passed: bool) -> None:
    assert _one("latency.BSM.p99_ms", op, value) is passed


def test_verdict_fields_and_reasons() -> None:
    crit = parse_criteria([
        {"kpi": "latency.BSM.p99_ms", "op": "<=", "value": 100, "name": "BSM p99"},
        {"kpi": "safety.collisions", "op": "==", "value": 0},
    ])
    assert crit[1] == Criterion(kpi="safety.collisions", op="==", value=0.0,
                                name="safety.collisions == 0")
    ok, bad = check_criteria(crit, KPIS)
    assert (ok.name, ok.actual, ok.threshold, ok.passed) == ("BSM p99", 5.1, 100.0, True)
    assert ok.reason == "latency.BSM.p99_ms = 5.1 <= 100"
    assert not bad.passed
    assert bad.reason == "safety.collisions = 1, required == 0"


def test_nan_kpi_fails_with_reason() -> None:
    (v,) = check_criteria(parse_criteria(
        [{"kpi": "prr.RSI.within_300m", "op": ">=", "value": 0.9}]), KPIS)
    assert not v.passed
    assert math.isnan(v.actual)
    assert "no value" in v.reason and "NaN" in v.reason
    # even a criterion NaN would trivially satisfy (!=) fails
    assert _one("prr.RSI.within_300m", "!=", 0.0) is False


def test_inf_kpi_compares() -> None:
    assert _one("safety.min_ttc_s", ">", 1.5) is True
    assert _one("safety.min_ttc_s", "<", 1e9) is False


def test_unknown_kpi_names_criterion() -> None:
    crit = parse_criteria([{"kpi": "latency.BSM.p99", "op": "<", "value": 1, "name": "typo"}])
    with pytest.raises(CriteriaError, match=r"criterion #0 'typo': unknown KPI 'latency\.BSM\.p99'"
                       r".*did you mean latency\.BSM\.p99_ms"):
        check_criteria(crit, KPIS)


@pytest.mark.parametrize(("item", "message"), [
    ({"kpi": "safety.collisions", "op": "=<", "value": 0, "name": "bad op"},
     r"criterion #0 'bad op': unknown op '=<'"),
    ({"kpi": "safety.collisions", "op": "<", "value": "0", "name": "str value"},
     r"criterion #0 'str value': 'value' must be a number"),
    ({"kpi": "safety.collisions", "op": "<", "value": True, "name": "bool value"},
     r"'value' must be a number"),
    ({"op": "<", "value": 1, "name": "no kpi"}, r"criterion #0 'no kpi': 'kpi' must be"),
    ({"kpi": "safety.collisions", "op": "<", "value": 1, "name": 3}, r"'name' must be a string"),
    ("safety.collisions < 1", r"criterion #0: expected an object"),
])
def test_malformed_criteria(item: object, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        parse_criteria([item])


def test_criteria_not_a_list() -> None:
    with pytest.raises(CriteriaError, match="must be a list"):
        parse_criteria({"kpi": "x"})


def test_check_rejects_unknown_op_of_hand_built_criterion() -> None:
    with pytest.raises(CriteriaError, match=r"criterion #0 'x': unknown op '~'"):
        check_criteria([Criterion(kpi="safety.collisions", op="~", value=0, name="x")], KPIS)


def test_evaluate_verdicts(run_dir: Path) -> None:
    ev = evaluate(run_dir)
    # conftest: BSM p99 5.1 <= 100 passes; 1 collision == 0 fails
    assert [v.passed for v in ev.verdicts] == [True, False]
    assert ev.passed is False


def test_evaluate_passes_without_failures(make_run: Callable[..., Path]) -> None:
    d = make_run(run={"criteria": [
        {"kpi": "tx.BSM", "op": "==", "value": 12, "name": "12 BSM"},
        {"kpi": "safety.ttc_conflicts_serious", "op": "<=", "value": 1, "name": "serious"},
        {"kpi": "apps.FCW.false_warnings", "op": "<", "value": 2, "name": "false FCW"},
    ]})
    ev = evaluate(d)
    assert ev.passed is True
    assert len(ev.verdicts) == 3


def test_evaluate_unknown_kpi_raises(make_run: Callable[..., Path]) -> None:
    d = make_run(run={"criteria": [{"kpi": "tx.FOO", "op": "==", "value": 1, "name": "foo"}]})
    with pytest.raises(CriteriaError, match="'foo': unknown KPI 'tx.FOO'"):
        evaluate(d)
