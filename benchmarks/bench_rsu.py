"""Micro-benchmark: the RSUs' ``transmit`` (SPAT every step, MAP every second) against SUMO.

Runs the library scenario's SUMO with libsumo and its RSUs (one per signalized junction, wired
as ``v2x.cli`` wires them) for ``--steps`` steps. Each step times ``libsumo.simulationStep()``
and then ``transmit(t_ns)`` of every RSU separately (``time.perf_counter_ns``), so both costs
are measured in the same process on the same, interleaved, workload. Target (issue 2 budget):
all RSUs together <= 0.25 ms per step.

Usage: ``python benchmarks/bench_rsu.py [SCENARIO] [--steps N]``
"""

from __future__ import annotations

import argparse
import gc
import time

import libsumo
import numpy as np
import sumolib

import scenarios
from roadside import build_rsus, junction_numbers
from v2x.sim import RoadUsers
from v2x.traffic import sumo_command
from v2x.units import s_to_ns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="xiqing-south-station")
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    sc = scenarios.resolve_scenario(args.scenario)
    built = scenarios.build(sc)
    net = sumolib.net.readNet(str(built.net_file), withPrograms=True)
    tls = sorted(t.getID() for t in net.getTrafficLights())
    tls_ids = tls if sc.rsu.at == "signalized" else list(sc.rsu.at)
    libsumo.start(sumo_command(built.net_file, built.route_files, built.additional_files,
                               step_ns=sc.step_ns, seed=sc.seed))
    try:
        rsus = build_rsus(libsumo, net, tls_ids, geo=built.geo,
                          intersection_ids=junction_numbers(net),
                          antenna_height_m=sc.rsu.antenna_height_m, start=sc.start,
                          spat_period_ns=sc.rsu.spat_period_ns,
                          map_period_ns=sc.rsu.map_period_ns, rng=np.random.default_rng(0))
        sumo_ns = rsu_ns = 0
        n_spat = n_map = 0
        per_step = np.empty(args.steps, np.int64)
        has_map = np.zeros(args.steps, bool)
        gc.collect()
        for i in range(args.steps):
            t0 = time.perf_counter_ns()
            libsumo.simulationStep()
            t1 = time.perf_counter_ns()
            t_ns = s_to_ns(libsumo.simulation.getTime())
            t2 = time.perf_counter_ns()
            for r in rsus:
                for o in r.transmit(t_ns, RoadUsers.empty()):
                    if o.msg_type == "SPAT":
                        n_spat += 1
                    else:
                        n_map += 1
                        has_map[i] = True
            t3 = time.perf_counter_ns()
            sumo_ns += t1 - t0
            rsu_ns += t3 - t2
            per_step[i] = t3 - t2
    finally:
        libsumo.close()
    n_calls = args.steps * len(rsus)
    print(f"scenario             {sc.id}: {len(rsus)} RSUs, {args.steps} steps "
          f"({n_spat} SPAT, {n_map} MAP)")
    print(f"bare simulationStep  {sumo_ns / 1e9:8.3f} s   "
          f"{sumo_ns / args.steps / 1e3:8.1f} us/step")
    print(f"RSU transmit (all)   {rsu_ns / 1e9:8.3f} s   {rsu_ns / args.steps / 1e3:8.1f} us/step"
          f"   (median {np.median(per_step) / 1e3:.1f}, budget 250)")
    map_steps = has_map[:args.steps]
    if map_steps.any() and not map_steps.all():
        print(f"  steps with MAP     {per_step[map_steps].mean() / 1e3:8.1f} us/step, without "
              f"{per_step[~map_steps].mean() / 1e3:.1f} us/step")
    print(f"per transmit call    {rsu_ns / n_calls / 1e3:8.2f} us")
    print(f"RSU / SUMO           {rsu_ns / sumo_ns:8.3f}")


if __name__ == "__main__":
    main()
