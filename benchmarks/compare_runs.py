"""Compare the recordings of two runs table by table: every Parquet table must be identical.

``bus.wall_latency_ms`` and ``bus.wall_ns`` are wall-clock times and are left out. Exit 0
when all tables are equal, 1 otherwise (naming the first difference of each table). A table
of a run that was killed is a folder of part files (docs/recording.md, "Crash safety"); it
is read the same way.

Usage: ``python benchmarks/compare_runs.py RUN_A RUN_B`` or ``--run OUT`` to make a run first:
``python benchmarks/compare_runs.py REF --run NEW`` runs ``v2x run xiqing-south-station --bus
memory --out NEW`` and compares it with REF.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd
from pandas.testing import assert_frame_equal

IGNORED = {"bus": ["wall_latency_ms", "wall_ns"]}


def compare(a: Path, b: Path) -> list[str]:
    """Names and first differences of the tables that differ between runs ``a`` and ``b``."""
    names_a = sorted(p.stem for p in a.glob("*.parquet"))
    names_b = sorted(p.stem for p in b.glob("*.parquet"))
    problems = []
    if names_a != names_b:
        problems.append(f"tables differ: {names_a} vs {names_b}")
    for name in sorted(set(names_a) & set(names_b)):
        ta = pd.read_parquet(a / f"{name}.parquet")
        tb = pd.read_parquet(b / f"{name}.parquet")
        ign = IGNORED.get(name, [])  # a recording made before a column existed lacks it
        try:
            assert_frame_equal(ta.drop(columns=[c for c in ign if c in ta.columns]),
                               tb.drop(columns=[c for c in ign if c in tb.columns]),
                               check_exact=True)
        except AssertionError as exc:
            problems.append(f"{name}: {str(exc)[:400]}")
        else:
            print(f"  {name:16s} {len(ta):9d} rows equal")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--run", action="store_true", help="first run the scenario into B")
    ap.add_argument("--scenario", default="xiqing-south-station")
    args = ap.parse_args()
    if args.run:
        subprocess.run(["v2x", "run", args.scenario, "--bus", "memory", "--out", str(args.b)],
                       check=False, stdout=subprocess.DEVNULL)
    problems = compare(args.a, args.b)
    for p in problems:
        print("DIFFERENT", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
