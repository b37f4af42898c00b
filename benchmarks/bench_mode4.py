"""Benchmark: the Mode 4 channel stage at about 1,000 vehicles, against the abstract model.

Issue 10 asks for the channel stage of a ``mode4`` run at 1,000 vehicles to be at least 10x
faster than real time on this machine kind. For each layout, in a process of its own, the
full run (``v2x run`` on the memory bus, SUMO in its child process) with the loop's stage
methods wrapped in CPU timers (``bench_scale._timed_stages``: on a shared 2-core machine the
loop thread's CPU time is the steady measure) and the channel model's own method as well:

* ``highway``: the 3GPP highway (``3gpp-highway``: 3 lanes of 4 m each way, 61.7 vehicles
  per km, 140 km/h, 10 MHz, 23 dBm) lengthened to hold about ``--vehicles`` cars (16.2 km for
  1,000: about 123 neighbours within the 1000 m link range each);
* ``urban``: the 3GPP urban grid grown to about ``--vehicles`` cars on the road
  (``bench_scale.scale_scenario``: about 720 neighbours each, and RSUs at the junctions).

Each layout runs twice in the same script run: with ``[channel] type = "mode4"`` (defaults
of :class:`v2x.channel.Mode4Channel` and the layout's carrier, power and bandwidth) and with
the layout's own abstract model (``tr37885-highway`` / ``tr37885-urban``), the baseline.

Printed per run: vehicles on the road, links per step, the channel stage's CPU per simulated
second split into the model (``evaluate_scheduled`` / ``evaluate``) and the rest (the link
search, ``find_pairs``), its real-time factor (simulated seconds per CPU second of the stage;
target >= 10 for mode4), and the mode4 / abstract ratio of the stage.

Usage: ``python benchmarks/bench_mode4.py [--layouts highway urban] [--vehicles 1000]
[--duration 5] [--set KEY=VALUE ...]`` (about 2 min per layout).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import scenarios

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import _timed_stages, measure_run, scale_scenario  # noqa: E402

#: the 3GPP highway density [vehicles per km of road] (its scenario's demand.density_per_km)
HIGHWAY_DENSITY = 61.7
ABSTRACT = {"highway": "tr37885-highway", "urban": "tr37885-urban"}


def layout_scenario(layout: str, n_vehicles: int, duration_s: float, channel: str,
                    overrides: tuple[str, ...] = ()) -> scenarios.Scenario:
    """The layout holding about ``n_vehicles`` cars, ``duration_s`` long, with ``channel``."""
    if layout == "urban":
        return scale_scenario(n_vehicles, duration_s,
                              (f"channel.type='{channel}'", *overrides))
    length_m = round(n_vehicles / HIGHWAY_DENSITY * 1000.0)
    sample = min(1.0, 10.0 / n_vehicles)
    return scenarios.resolve_scenario("3gpp-highway").with_set(
        f"network.length_m={length_m}", f"duration='{duration_s:g} s'",
        f"demand.end='{duration_s:g} s'", f"recording.reception_sample={sample!r}",
        f"channel.type='{channel}'", *overrides)


def _timed_model(spent: dict[str, float]) -> None:
    """Wrap the channel models' evaluation methods with the loop thread's CPU timer."""
    from v2x.channel import Mode4Channel, Tr37885Channel

    for cls, name in ((Mode4Channel, "evaluate_scheduled"), (Tr37885Channel, "evaluate")):
        inner = getattr(cls, name)

        def timed(self: Any, *args: Any, _inner: Any = inner, **kwargs: Any) -> Any:
            t0 = time.thread_time()
            out = _inner(self, *args, **kwargs)
            spent["model"] += time.thread_time() - t0
            return out

        setattr(cls, name, timed)


def one(layout: str, channel: str, n: int, duration_s: float,
        overrides: tuple[str, ...]) -> dict:
    """One measured run in this process."""
    sc = layout_scenario(layout, n, duration_s, channel, overrides)
    scenarios.build(sc)  # generated (or from the cache) before timing anything
    spent, links = _timed_stages()
    _timed_model(spent)
    return measure_run(sc, spent, links)


def _child(layout: str, channel: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--one", layout, channel, "--vehicles",
           str(args.vehicles), "--duration", str(args.duration)]
    for item in args.set:
        cmd += ["--set", item]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{layout} {channel} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report(channel: str, run: dict) -> float:
    """Print one run's line; return the channel stage's CPU per simulated second."""
    sim_s = run["steps"] * 0.1
    stage = run["stages"].get("channel", 0.0) / sim_s
    model = run["stages"].get("model", 0.0) / sim_s
    print(f"  {channel:16s} {run['on_road']:6.0f} on the road, "
          f"{run['links_per_step'] / 1e3:6.0f} k links a step; channel stage "
          f"{stage * 1e3:7.1f} ms CPU per simulated s (model {model * 1e3:7.1f}, link search "
          f"and the rest {(stage - model) * 1e3:6.1f}): real-time factor "
          f"{1 / stage if stage else float('inf'):5.2f} (model alone "
          f"{1 / model if model else float('inf'):5.2f}); whole run {run['wall_s']:.1f} s wall")
    return stage


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layouts", nargs="+", default=["highway", "urban"],
                    choices=["highway", "urban"])
    ap.add_argument("--vehicles", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=5.0, help="simulated seconds")
    ap.add_argument("--set", action="append", default=[], help="scenario override KEY=VALUE")
    ap.add_argument("--one", nargs=2, metavar=("LAYOUT", "CHANNEL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.vehicles, args.duration,
                             tuple(args.set))))
        return
    with open("/proc/loadavg") as fh:
        print(f"load average at start: {' '.join(fh.read().split()[:3])}; about "
              f"{args.vehicles} vehicles, {args.duration:g} s simulated per run; overrides: "
              f"{args.set or 'none'}")
    for layout in args.layouts:
        print(f"\n{layout}:")
        m4 = _report("mode4", _child(layout, "mode4", args))
        base = _report(ABSTRACT[layout], _child(layout, ABSTRACT[layout], args))
        print(f"  mode4 / {ABSTRACT[layout]} channel stage CPU: {m4 / base:.2f} "
              f"(target: mode4 real-time factor >= 10)")
    with open("/proc/loadavg") as fh:
        print(f"\nload average at end: {' '.join(fh.read().split()[:3])}")


if __name__ == "__main__":
    main()
