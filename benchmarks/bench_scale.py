"""Benchmark: the cost of city scale, about 1,000, 3,000 and 10,000 vehicles on the road.

For each size, the 3GPP urban grid (``scenarios/library/3gpp-urban-grid``: 433 x 250 m blocks,
2 lanes of 3.5 m each way, an RSU at every junction) is grown to the smallest square grid of
junctions whose roads hold the size at the 3GPP density (96 vehicles per km of road: 2.5 s x
60 km/h in each of 4 lanes), and its ``demand.density_per_km`` is set so that about that many
vehicles fill it at t = 0 (:func:`scenarios.write_density`, kept by inflow at the fringe). Then,
each in a process of its own (so that its peak memory is its own):

* the bare loop: SUMO alone over the same network and routes with the same subscriptions
  (``bench_run.bare_libsumo``, the baseline of ``bench_run.py``);
* the full run: ``v2x run`` on the memory bus (SUMO in its child process ahead of the loop,
  the channel, recording, analysis and reports), with per-stage CPU times of the loop (each
  stage method of :class:`v2x.sim.Simulation` wrapped with ``time.thread_time``: on a shared
  machine wall time per stage says more about the neighbours than about the stage) and the
  links the channel evaluated.

Printed per size: vehicles on the road (mean over the steps), links per step (sender ->
receiver pairs within the channel model's range), wall times and their ratio (target issue 10:
<= 2.0 at 10,000 with the abstract model), the real-time factor (simulated / loop wall time),
the loop's cost per link, CPU times (this machine is shared: CPU time is the steadier
measure; the SUMO process's is counted in the run's), peak resident memory of the loop
process and of the SUMO process (``getrusage`` maxrss; target < 8 GB) and where the loop's
time went.

Each size's full run is made once per ``--kpi-sample`` value (default 1.0 and 0.05):
``recording.kpi_sample`` 1.0 counts every receiver's links in the delivery KPIs (exact; every
equipped vehicle receives), below 1 a seeded sample of receivers, and then only the sampled
vehicles are receivers at all (the urban grid runs no application; docs/recording.md).

Usage: ``python benchmarks/bench_scale.py [--sizes 1000 3000 10000] [--duration 10]
[--kpi-sample 1.0 0.05] [--set KEY=VALUE ...]`` (``--set`` as ``v2x run``'s, e.g.
``channel.range_m=300``).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import scenarios

#: the 3GPP urban density [vehicles per km of road]: 2.5 s x 60 km/h apart in each of 4 lanes
DENSITY_3GPP = 4 * 1000.0 / (2.5 * 60 / 3.6)
_STAGES = ("_traffic", "_transmit", "_receivers", "_channel", "_receive", "_applications",
           "_act", "_kpis", "_record", "_bus_messages", "_record_bus", "_checkpoint")


def _road_km(sc: scenarios.Scenario) -> float:
    """km of road of the scenario's network: a grid's edges come in pairs (both directions)."""
    import sumolib

    net = sumolib.net.readNet(str(scenarios.build_network(sc.network, None, sc.geo)))
    return sum(e.getLength() for e in net.getEdges(withInternal=False)) / 2000.0


def scale_scenario(n_vehicles: int, duration_s: float,
                   overrides: tuple[str, ...] = ()) -> scenarios.Scenario:
    """The 3GPP urban grid holding about ``n_vehicles`` at t = 0 (see the module docstring).
    Receptions are sampled for about 10 receivers (``recording.reception_sample``)."""
    base = scenarios.resolve_scenario("3gpp-urban-grid")
    for n in range(2, scenarios.MAX_GRID_JUNCTIONS + 1):
        sc = base.with_set(f"network.junctions_x={n}", f"network.junctions_y={n}")
        km = _road_km(sc)
        if km * DENSITY_3GPP >= n_vehicles or n == scenarios.MAX_GRID_JUNCTIONS:
            break
    sample = min(1.0, 10.0 / n_vehicles)
    return sc.with_set(f"demand.density_per_km={n_vehicles / km!r}",
                        f"duration='{duration_s:g} s'", f"demand.end='{duration_s:g} s'",
                        f"recording.reception_sample={sample!r}", *overrides)


def _peak_mb() -> tuple[float, float]:
    """Peak resident memory [MB] of this process and of its largest reaped child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return own, child


def _cpu_s() -> float:
    """CPU time [s] (user + system) of this process and of its reaped children."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_run import cpu_s

    return cpu_s(resource.RUSAGE_SELF) + cpu_s(resource.RUSAGE_CHILDREN)


def _timed_stages() -> tuple[dict[str, float], list[int]]:
    """Wrap the loop's stage methods with CPU timers (the loop's thread); count the links per
    window."""
    from v2x.sim import Simulation

    spent: dict[str, float] = defaultdict(float)
    links: list[int] = []

    def wrap(name: str) -> None:
        inner = getattr(Simulation, name)

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = time.thread_time()  # CPU of the loop's thread: steadier than wall time here
            out = inner(self, *args, **kwargs)
            spent[name.lstrip("_")] += time.thread_time() - t0
            if name == "_channel":
                links.append(out.n)
            return out

        setattr(Simulation, name, timed)

    for name in _STAGES:
        wrap(name)
    return spent, links


def one(what: str, n_vehicles: int, duration_s: float, overrides: tuple[str, ...]) -> dict:
    """One measurement in this process: ``bare`` (SUMO alone) or ``run`` (the full run)."""
    sc = scale_scenario(n_vehicles, duration_s, overrides)
    scenarios.build(sc)  # generated (or from the cache) before timing anything
    if what == "bare":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_run import bare_libsumo

        cpu0 = _cpu_s()
        wall = bare_libsumo(sc)
        own, child = _peak_mb()
        return {"wall_s": wall, "cpu_s": _cpu_s() - cpu0, "peak_mb": own}
    out = measure_run(sc)
    out.update(grid=sc.network.junctions_x,  # type: ignore[union-attr]
               density_per_km=sc.demand.density_per_km)
    return out


def measure_run(sc: scenarios.Scenario, spent: dict[str, float] | None = None,
                links: list[int] | None = None) -> dict:
    """The full run of ``sc`` on the memory bus in this process, with the loop's stage CPU
    times (:func:`_timed_stages`, or the given ones if already wrapped)."""
    import pandas as pd

    from v2x.cli import run_scenario

    if spent is None or links is None:
        spent, links = _timed_stages()
    with tempfile.TemporaryDirectory(prefix="v2x-scale-") as out:
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        result = run_scenario(sc, out_dir=out, bus="memory", pipeline=True)
        wall = time.perf_counter() - t0
        cpu = _cpu_s() - cpu0
        steps = result.summary.steps
        rows = pd.read_parquet(Path(out) / "trajectories.parquet", columns=["t_ns"])
        on_road = len(rows) / max(steps, 1)
        rec_mb = sum(f.stat().st_size for f in Path(out).rglob("*.parquet")) / 1e6
    own, child = _peak_mb()
    return {"wall_s": wall, "cpu_s": cpu, "loop_s": result.summary.wall_s, "steps": steps,
            "vehicles": result.summary.vehicles, "on_road": on_road,
            "links_per_step": sum(links) / max(steps, 1), "stages": dict(spent),
            "peak_mb": own, "sumo_peak_mb": child, "recording_mb": rec_mb}


def _child(what: str, n: int, args: argparse.Namespace, *extra: str) -> dict:
    cmd = [sys.executable, __file__, "--one", what, str(n), "--duration", str(args.duration)]
    for item in (*args.set, *extra):
        cmd += ["--set", item]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{what} {n} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    ap.add_argument("--duration", type=float, default=10.0, help="simulated seconds")
    ap.add_argument("--set", action="append", default=[], help="scenario override KEY=VALUE")
    ap.add_argument("--kpi-sample", type=float, nargs="+", default=[1.0, 0.05],
                    help="one full run per value of recording.kpi_sample (1: the KPIs over "
                         "every receiver; below 1 over a seeded sample, and only the sampled "
                         "vehicles receive)")
    ap.add_argument("--one", nargs=2, metavar=("WHAT", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.duration, tuple(args.set))))
        return
    with open("/proc/loadavg") as fh:
        print(f"load average at start: {' '.join(fh.read().split()[:3])}; "
              f"{args.duration:g} s simulated per size; overrides: {args.set or 'none'}")
    for n in args.sizes:
        bare = _child("bare", n, args)
        for f in args.kpi_sample:
            run = _child("run", n, args, f"recording.kpi_sample={f!r}")
            _print_run(n, f, bare, run)


def _print_run(n: int, kpi_sample: float, bare: dict, run: dict) -> None:
    """The lines of one full run of size ``n`` against its bare loop."""
    sim_s = run["steps"] * 0.1
    ratio = run["wall_s"] / bare["wall_s"]
    lps = run["links_per_step"]
    sample = ("KPIs over every receiver" if kpi_sample >= 1.0 else
              f"KPIs over a {kpi_sample:g} sample of receivers, only those vehicles receive")
    print(f"\n~{n} vehicles ({sample}): grid {run['grid']}x{run['grid']}, density "
          f"{run['density_per_km']:.1f}/km, {run['on_road']:.0f} on the road (mean), "
          f"{run['vehicles']} in all, {lps / 1e6:.2f} M links per step "
          f"({lps / max(run['on_road'], 1):.0f} per vehicle)")
    print(f"  bare libsumo loop {bare['wall_s']:8.2f} s wall, {bare['cpu_s']:8.2f} s CPU; "
          f"peak {bare['peak_mb']:.0f} MB")
    print(f"  full run          {run['wall_s']:8.2f} s wall, {run['cpu_s']:8.2f} s CPU "
          f"(SUMO's process included); ratio {ratio:.2f} wall, "
          f"{run['cpu_s'] / bare['cpu_s']:.2f} CPU (target <= 2.0 at 10,000)")
    print(f"  real-time factor  {sim_s / run['loop_s']:.2f} (loop, "
          f"{run['loop_s']:.2f} s wall), "
          f"{sim_s / run['wall_s']:.2f} (whole run)")
    print(f"  peak memory       loop process {run['peak_mb']:7.0f} MB, SUMO process "
          f"{run['sumo_peak_mb']:7.0f} MB (target < 8 GB); recording "
          f"{run['recording_mb']:.0f} MB")
    total_links = lps * run["steps"]
    per_link = {k: v / total_links * 1e9 for k, v in run["stages"].items()} \
        if total_links else {}
    print("  loop stages CPU [s] " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(run["stages"].items(), key=lambda kv: -kv[1])
        if v >= 0.01))
    print(f"  per link CPU [ns] all stages {sum(per_link.values()):.0f} (channel "
          f"{per_link.get('channel', math.nan):.0f}, "
          f"kpis {per_link.get('kpis', math.nan):.0f})")

if __name__ == "__main__":
    main()
