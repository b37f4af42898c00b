"""The V2X benefit KPIs from two runs' safety KPIs (analysis._benefit), by hand."""

from __future__ import annotations

import math
from pathlib import Path

from analysis._benefit import MEASURES, benefit_kpis, benefit_rows, without_dir


def test_benefit_kpis_put_both_sides_and_the_difference() -> None:
    with_v2x = {"safety.collisions": 0, "safety.ttc_conflicts": 2,
                "safety.ttc_conflicts_serious": 0, "safety.min_ttc_s": 1.55,
                "safety.hard_braking": 3}
    without = {"safety.collisions": 1, "safety.ttc_conflicts": 2,
               "safety.ttc_conflicts_serious": 2, "safety.min_ttc_s": 0.0,
               "safety.hard_braking": 1}
    k = benefit_kpis(with_v2x, without)
    assert (k["benefit.collisions_with"], k["benefit.collisions_without"]) == (0, 1)
    # avoided = without - with: 1 - 0 collisions, 2 - 2 conflicts
    assert k["benefit.collisions_avoided"] == 1 and k["benefit.ttc_conflicts_avoided"] == 0
    assert k["benefit.min_ttc_s_with"] == 1.55 and k["benefit.hard_braking_without"] == 1
    assert len(k) == 2 * len(MEASURES) + 2
    rows = benefit_rows(k)
    assert rows[0] == {"measure": "collisions", "with": 0.0, "without": 1.0}
    assert [r["measure"] for r in rows] == [m for m, _ in MEASURES]
    assert benefit_rows({"safety.collisions": 0}) == []


def test_a_missing_run_without_v2x_gives_nan_and_a_run_without_the_key_none() -> None:
    k = benefit_kpis({"safety.collisions": 0}, None)
    assert k["benefit.collisions_with"] == 0
    assert math.isnan(k["benefit.collisions_without"])
    assert math.isnan(k["benefit.collisions_avoided"])  # a criterion on it fails (no data)
    run = Path("/runs/a")
    assert without_dir(run, {}) is None
    assert without_dir(run, {"benefit": {"without": "without-v2x"}}) == run / "without-v2x"
    assert without_dir(run, {"benefit": {"without": "."}}) is None  # never itself
