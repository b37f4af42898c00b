"""One call from a run directory to KPIs and verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis._benefit import benefit_kpis, without_dir
from analysis._criteria import Verdict, check_criteria, parse_criteria
from analysis._kpi import latency_cdf, network_kpis, prr_table
from analysis._recording import Partial, load_recording
from analysis._safety import (
    SERIOUS_TTC_S,
    TTC_THRESHOLD_S,
    WARNING_WINDOW_NS,
    safety_evaluation,
)
from analysis._scoring import TwinRun
from analysis._vnfp import vnfp_kpis
from v2x.errors import ConfigError
from v2x.units import NS_PER_S

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """KPIs and verdicts of one run.

    ``run`` is ``run.json``; ``kpis`` the flat KPI dict (names in :mod:`analysis._kpi`);
    ``prr`` the :func:`~analysis._kpi.prr_table`; ``latency_cdf`` the
    :func:`~analysis._kpi.latency_cdf`; ``conflicts`` the rear-end TTC conflict episodes
    (:func:`~analysis.ttc_conflicts`, column ``kind``: ``same_lane`` or ``offset``);
    ``warnings`` the recorded warnings with ``true_warning`` and ``lead_time_s``; ``pet`` the
    PET encounters (:func:`analysis._pet.pet_encounters`); ``red_light`` and ``speeding`` the
    red-light violations and speeding episodes; ``scoring`` one row per application
    (:func:`analysis._scoring.score_warnings`: its truth rule, true and false positives,
    misses, lead times, information age); ``truth`` the ground truth the warnings were scored
    against (:func:`analysis._scoring.truth_table`; with a twin run, ``counterfactual`` rows:
    :func:`analysis._scoring.counterfactual_truth`); ``nodes`` the ``nodes`` table;
    ``verdicts`` one per criterion; ``partial`` None for a complete run, else what its partial
    recording holds (:class:`~analysis.Partial`: the KPIs cover only the simulated time before
    ``partial.recorded_ns``); ``passed`` when the run completed and every verdict passed (True
    with none): a partial run never passes.
    """

    run_dir: Path
    run: dict[str, Any]
    kpis: dict[str, float]
    prr: pd.DataFrame
    latency_cdf: pd.DataFrame
    conflicts: pd.DataFrame
    warnings: pd.DataFrame
    verdicts: tuple[Verdict, ...]
    passed: bool
    ttc_threshold_s: float
    serious_ttc_s: float
    warning_window_s: float
    partial: Partial | None = None
    pet: pd.DataFrame | None = None
    red_light: pd.DataFrame | None = None
    speeding: pd.DataFrame | None = None
    scoring: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
    nodes: pd.DataFrame | None = None

    @property
    def scenario_id(self) -> str:
        """``run.json`` ``scenario_id``."""
        return str(self.run["scenario_id"])


def _positive(name: str, x: float) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not (
        math.isfinite(x) and x > 0
    ):
        raise ConfigError(f"must be a positive number of seconds, got {x!r}", key=name, value=x)
    return float(x)


def evaluate(
    run_dir: str | Path,
    *,
    ttc_threshold_s: float = TTC_THRESHOLD_S,
    serious_ttc_s: float = SERIOUS_TTC_S,
    warning_window_s: float = WARNING_WINDOW_NS / NS_PER_S,
) -> Evaluation:
    """Load the recording in ``run_dir``, compute every KPI and check its criteria.

    A partial recording (a run that did not complete, or is still running) is evaluated as far
    as it goes, and the :class:`Evaluation` says so (``partial``; ``passed`` False).

    ``ttc_threshold_s`` [s]: TTC below it is a conflict (3.0, SUMO SSM default);
    ``serious_ttc_s`` [s]: a conflict with min TTC at or below it is serious (1.5, to verify);
    ``warning_window_s`` [s]: a warning is true if a conflict follows within it (5.0).

    Raises:
        RecordingError: the recording is missing or unreadable.
        CriteriaError: a criterion is malformed or names an unknown KPI.
        ConfigError: a threshold is not a positive number.
    """
    ttc_threshold_s = _positive("ttc_threshold_s", ttc_threshold_s)
    serious_ttc_s = _positive("serious_ttc_s", serious_ttc_s)
    warning_window_s = _positive("warning_window_s", warning_window_s)
    rec = load_recording(run_dir)
    criteria = parse_criteria(rec.run["criteria"])
    prr = prr_table(rec)
    kpis = network_kpis(rec, prr)
    twin_dir = without_dir(rec.run_dir, rec.run)  # [benefit] compare: the run without V2X
    twin, twin_run = None, None
    if twin_dir is not None and (twin_dir / "run.json").is_file():
        twin = evaluate(twin_dir, ttc_threshold_s=ttc_threshold_s, serious_ttc_s=serious_ttc_s,
                        warning_window_s=warning_window_s)
        if twin.truth is not None and twin.nodes is not None:
            twin_run = TwinRun(twin.truth, twin.nodes, load_recording(twin_dir).events)
    safety = safety_evaluation(
        rec.trajectories, rec.events, rec.warnings, nodes=rec.nodes,
        step_ns=rec.step_ns, threshold_s=ttc_threshold_s, serious_s=serious_ttc_s,
        window_ns=round(warning_window_s * NS_PER_S),
        applications=[str(a) for a in rec.run.get("applications", [])],
        twin=twin_run,
    )
    kpis.update(safety.kpis)
    if twin_dir is not None:
        kpis.update(benefit_kpis(kpis, None if twin is None else twin.kpis))
    kpis.update(vnfp_kpis(rec))  # near-field payment: completion and round trip
    verdicts = check_criteria(criteria, kpis)
    return Evaluation(
        run_dir=rec.run_dir, run=rec.run, kpis=kpis, prr=prr, latency_cdf=latency_cdf(rec),
        conflicts=safety.conflicts, warnings=safety.warnings, verdicts=verdicts,
        passed=rec.partial is None and all(v.passed for v in verdicts),
        ttc_threshold_s=ttc_threshold_s, serious_ttc_s=serious_ttc_s,
        warning_window_s=warning_window_s, partial=rec.partial, pet=safety.pet,
        red_light=safety.red_light, speeding=safety.speeding, scoring=safety.scoring,
        truth=safety.truth, nodes=rec.nodes,
    )
