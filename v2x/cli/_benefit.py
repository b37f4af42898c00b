"""The closed-loop benefit of V2X (``[benefit] compare = true``): the same scenario and seed run
a second time with every on-board application off, so the report can show conflicts and
collisions with V2X and without it (issue 9 item 6).

The run without V2X goes first, into ``OUT/without-v2x/`` (:data:`WITHOUT_V2X_DIR`): a complete
run with its own recording and reports; ``run.json`` of the run with V2X names that folder
(``benefit.without``) and the analysis reads both (:mod:`analysis._benefit`). Nothing else
changes between the two: the same SUMO inputs, seed, events and ``[driver]`` (a driver who is
never warned never reacts), so any difference in their safety KPIs is the applications' doing.
"""

from __future__ import annotations

from typing import Any

import scenarios

__all__ = ["WITHOUT_V2X_DIR", "benefit_run_json", "without_v2x"]

#: the folder, inside the run directory, of the run with every application off
WITHOUT_V2X_DIR = "without-v2x"


def without_v2x(sc: scenarios.Scenario) -> scenarios.Scenario:
    """``sc`` with every application off (``enabled = false`` for each), no benefit comparison
    and no criteria of its own (it is the reference, not judged; a criterion may name a
    ``benefit.*`` KPI that only the run with V2X has), titled "(without V2X)". Nothing is
    validated again: switching things off cannot make a valid scenario invalid, and a
    scenario shortened by ``v2x run --duration`` (events after its end never fire) stays
    as the user gave it (re-validating it named these changes as the user's ``--set``)."""
    apps = {name: cfg.model_copy(update={"enabled": False}) if cfg.enabled else cfg
            for name, cfg in sc.applications.items()}
    return sc.with_overrides(applications=apps,
                             benefit=sc.benefit.model_copy(update={"compare": False}),
                             criteria=(), title=f"{sc.title} (without V2X)",
                             title_zh=f"{sc.title_zh}（无 V2X）" if sc.title_zh else "")


def benefit_run_json(sc: scenarios.Scenario) -> dict[str, Any]:
    """The ``run.json`` key of a run that compares (``{"benefit": {"without": DIR}}``), or
    nothing."""
    return {"benefit": {"without": WITHOUT_V2X_DIR}} if sc.benefit.compare else {}
