"""Runs a library case of the V2V applications (BSW, LCW, DNPW, CLW, AVW, EVW) through the
whole testbed (scenario -> SUMO -> BSM UPER frames -> channel -> decode -> application ->
warnings.parquet) for the application tests: its verdicts and who warned whom."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from v2x.cli import run_scenario


@dataclass(frozen=True)
class CaseRun:
    """A finished case: all its criteria passed, its warnings (rows of warnings.parquet,
    ``vehicle`` and ``remote`` as SUMO ids) and the first warning time [s] per app."""

    passed: bool
    warnings: pd.DataFrame


def run_case(case: str, out: Path) -> CaseRun:
    """Run library case ``case`` into ``out`` (memory bus)."""
    result = run_scenario(case, out_dir=out, bus="memory")
    nodes = pd.read_parquet(out / "nodes.parquet").set_index("node")["name"]
    w = pd.read_parquet(out / "warnings.parquet")
    w = w.assign(vehicle=w["vehicle"].map(nodes), remote=w["remote"].map(nodes),
                 t_s=w["t_ns"] / 1e9)
    return CaseRun(passed=result.passed, warnings=w)
