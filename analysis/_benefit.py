"""The V2X benefit of a case: its safety KPIs with V2X and without, side by side.

A run made with ``[benefit] compare = true`` (:mod:`v2x.cli._benefit`) has a twin: the same
scenario and seed with every on-board application off, recorded in the folder that ``run.json``
names (``benefit.without``, ``without-v2x/`` inside the run directory). Its evaluation adds,
for each measure of :data:`MEASURES`, ``benefit.<measure>_with`` (this run's safety KPI) and
``benefit.<measure>_without`` (the twin's, scored with the same thresholds), plus
``benefit.collisions_avoided`` and ``benefit.ttc_conflicts_avoided`` (without - with), so a
criterion can ask for the benefit (``benefit.collisions_avoided >= 1``, i.e. fewer collisions
with V2X than without). A twin that is missing (not run yet, or the KPI-name check on an
empty recording) gives NaN, which fails any criterion on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["AVOIDED", "MEASURES", "benefit_kpis", "benefit_rows", "without_dir"]

#: (measure, the safety KPI it compares), in the order of the report's table
MEASURES: tuple[tuple[str, str], ...] = (
    ("collisions", "safety.collisions"),
    ("ttc_conflicts", "safety.ttc_conflicts"),
    ("ttc_conflicts_serious", "safety.ttc_conflicts_serious"),
    ("min_ttc_s", "safety.min_ttc_s"),
    ("hard_braking", "safety.hard_braking"),
)
#: measures whose difference (without - with) is a KPI of its own, ``benefit.<m>_avoided``
AVOIDED: tuple[str, ...] = ("collisions", "ttc_conflicts")


def without_dir(run_dir: Path, run: Mapping[str, Any]) -> Path | None:
    """The twin's recording folder named by ``run.json`` (``benefit.without``, relative to the
    run directory), or None when the run does not compare."""
    benefit = run.get("benefit")
    if not isinstance(benefit, Mapping) or not isinstance(benefit.get("without"), str):
        return None
    path = Path(run_dir) / benefit["without"]
    return None if path.resolve() == Path(run_dir).resolve() else path


def benefit_kpis(with_kpis: Mapping[str, float],
                 without_kpis: Mapping[str, float] | None) -> dict[str, float]:
    """The ``benefit.*`` KPIs from this run's KPIs and the twin's (None: not there, NaN)."""
    out: dict[str, float] = {}
    for m, kpi in MEASURES:
        out[f"benefit.{m}_with"] = float(with_kpis.get(kpi, math.nan))
        out[f"benefit.{m}_without"] = (math.nan if without_kpis is None
                                       else float(without_kpis.get(kpi, math.nan)))
    for m in AVOIDED:
        out[f"benefit.{m}_avoided"] = out[f"benefit.{m}_without"] - out[f"benefit.{m}_with"]
    return out


def benefit_rows(kpis: Mapping[str, float]) -> list[dict[str, Any]]:
    """The report's "V2X benefit" table: ``{"measure", "with", "without"}`` per measure, empty
    when the run has no ``benefit.*`` KPIs."""
    if f"benefit.{MEASURES[0][0]}_with" not in kpis:
        return []
    return [{"measure": m, "with": kpis[f"benefit.{m}_with"],
             "without": kpis[f"benefit.{m}_without"]} for m, _ in MEASURES]
