"""One criterion record for the scenario and the analysis (v2x.criteria), parsed by one parser:
what a scenario validates is what run.json carries and what the analysis reads back."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

import analysis
import scenarios
from scenarios import LIBRARY, validate_scenario
from v2x.criteria import OPS, Criterion, parse_criteria, parse_criterion
from v2x.errors import ConfigError, CriteriaError

BASE = tomllib.loads((LIBRARY / "xiqing-south-station" / "scenario.toml").read_text(
    encoding="utf-8"))


def test_scenario_and_analysis_share_the_one_record() -> None:
    assert scenarios.Criterion is Criterion and analysis.Criterion is Criterion
    assert analysis.parse_criteria is parse_criteria
    assert list(OPS) == ["<", "<=", ">", ">=", "==", "!="]


def test_scenario_criteria_round_trip_through_run_json_form() -> None:
    sc = validate_scenario(BASE, file="s.toml")
    assert sc.criteria and all(isinstance(c, Criterion) for c in sc.criteria)
    stored = [c.as_dict() for c in sc.criteria]  # what run.json carries
    assert parse_criteria(stored) == sc.criteria
    assert sc.to_toml_dict()["criteria"] == stored


def test_default_name_keeps_the_value_as_written() -> None:
    raw = {"kpi": "safety.collisions", "op": "==", "value": 0}
    assert parse_criterion(raw).name == "safety.collisions == 0"
    sc = validate_scenario({**BASE, "criteria": [raw]}, file="s.toml")
    assert sc.criteria == (parse_criterion(raw),)


@pytest.mark.parametrize(("item", "key", "text"), [
    ({"kpi": "vehicles", "op": "=>", "value": 1}, "op", "unknown op '=>'"),
    ({"kpi": "vehicles", "op": ">=", "value": "1"}, "value", "must be a number"),
    ({"kpi": "vehicles", "op": ">=", "value": True}, "value", "must be a number"),
    ({"kpi": "vehicles", "op": ">=", "value": float("inf")}, "value", "must be a number"),
    ({"kpi": "", "op": ">=", "value": 1}, "kpi", "must be a KPI name"),
    ({"kpi": "vehicles", "op": ">=", "value": 1, "name": 3}, "name", "must be a string"),
    ({"kpi": "vehicles", "op": ">=", "vaule": 1}, "vaule", "unknown key"),
])
def test_one_parser_refuses_the_same_items_in_both_places(item: dict[str, Any], key: str,
                                                          text: str) -> None:
    with pytest.raises(CriteriaError, match=text) as crit:
        parse_criteria([item])
    assert crit.value.key == f"[0].{key}"
    raw = copy.deepcopy(BASE)
    raw["criteria"] = [item]
    with pytest.raises(ConfigError, match=text) as conf:
        validate_scenario(raw, file="s.toml")
    assert conf.value.key == f"criteria[0].{key}"
