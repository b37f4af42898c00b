"""Benchmark: what ICW, LTA and VRUCW cost in a busy run, against FCW in the same run.

Runs a scenario (default ``xiqing-south-station``: 3000 passenger cars an hour on a 4 x 4
grid of signalized junctions, every RSU sending MAP/SPAT, here with roadside perception on so
that VRUCW has RSMs to read) in this process with ICW, LTA and VRUCW enabled beside its own
applications, and times every call of each application's ``assess`` (the applications
stage: vectorized over every host and received link of a window). FCW, the application the
loop was tuned with, is the baseline of the same run: the printed ratios are each
application's total assess time over FCW's.

Usage: ``python benchmarks/bench_crossing_apps.py [SCENARIO] [--duration S]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from typing import Any

from v2x.apps import (
    ForwardCollisionWarning,
    IntersectionCollisionWarning,
    LeftTurnAssist,
    VulnerableRoadUserWarning,
)
from v2x.cli import run_scenario

TIMED = (ForwardCollisionWarning, IntersectionCollisionWarning, LeftTurnAssist,
         VulnerableRoadUserWarning)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="xiqing-south-station")
    ap.add_argument("--duration", type=float, default=60.0, help="simulated seconds [s]")
    args = ap.parse_args()
    spent: dict[str, float] = defaultdict(float)
    links: dict[str, int] = defaultdict(int)

    def timed(cls: type) -> None:
        inner = cls.assess

        def assess(self: Any, window: Any) -> Any:
            t0 = time.perf_counter()
            out = inner(self, window)
            spent[cls.name] += time.perf_counter() - t0
            links[cls.name] += out.n
            return out
        cls.assess = assess  # type: ignore[method-assign]

    for cls in TIMED:
        timed(cls)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = run_scenario(args.scenario, out_dir=out, bus="memory", duration_s=args.duration,
                           overrides=["applications.icw.enabled=true",
                                      "applications.lta.enabled=true",
                                      "applications.vrucw.enabled=true", "rsm.enabled=true"])
        wall = time.perf_counter() - t0
    print(f"{args.scenario}, {args.duration:g} s simulated: run {wall:.1f} s wall, "
          f"vehicles {res.summary.vehicles}, warnings {res.summary.warnings_by_app}")
    base = spent["FCW"]
    for name in ("FCW", "ICW", "LTA", "VRUCW"):
        print(f"  {name:6s} assess {spent[name]:7.3f} s  assessments {links[name]:>10d}  "
              f"ratio to FCW {spent[name] / base:5.2f}")


if __name__ == "__main__":
    main()
