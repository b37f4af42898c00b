"""Benchmark: the Mode 4 channel stage replayed from recorded inputs, with an output digest.

``bench_mode4.py`` times the stage inside whole runs (about 30 s a layout, and on this shared
2-core machine one run differs from the next by 10-20 %). This script records the inputs the
stage saw in one such run once -- every link search of the loop (``NeighbourList.find``,
``find_pairs`` in older trees; replayed in one fresh list, or ``find_pairs``) and every
``Mode4Channel.evaluate_scheduled`` call with its channel generator's state -- and replays
them in a fresh model as often as wanted: CPU per simulated second of the link search and
of the model apart (``time.thread_time``), and a SHA-256 digest of every output (links and
distances; receptions, latencies, SINRs, CBR and CR samples). The same digest before and
after a change is a bit-identity check of the stage in seconds (then confirm with
``compare_runs.py`` on whole runs); alternate two code trees with ``--tree``.

Usage::

    python benchmarks/replay_mode4.py record highway /tmp/hw.pkl [--duration 5]
    python benchmarks/replay_mode4.py replay /tmp/hw.pkl [--repeat 3] [--what pairs|model]
        [--tree /path/to/other/worktree]

A recording of the 3GPP highway (``bench_mode4.py``'s layout, 1,000 vehicles, 5 s) is about
150 MB; of the urban grid at 2 s about 330 MB.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def record(layout: str, path: str, duration_s: float) -> None:
    """Run ``bench_mode4``'s layout with ``mode4`` and pickle the channel stage's inputs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_mode4

    import scenarios
    import v2x.sim._loop as loop
    from v2x.channel import Mode4Channel
    from v2x.cli import run_scenario

    rec: dict[str, Any] = {"pairs": [], "eval": [], "params": None}
    evaluate = Mode4Channel.evaluate_scheduled
    # the loop's link search: a NeighbourList's find (find_pairs in trees before it)
    owner: Any = getattr(loop, "NeighbourList", loop)
    name = "find" if owner is not loop else "find_pairs"
    search = getattr(owner, name)

    def pairs(*args: Any, **kwargs: Any) -> Any:
        rec["pairs"].append((args[1:] if owner is not loop else args, kwargs))
        return search(*args, **kwargs)

    def model(self: Mode4Channel, links: Any, **kwargs: Any) -> Any:
        rec["params"] = rec["params"] or dict(self.params)
        inputs = {k: v for k, v in kwargs.items() if k != "rng"}
        rec["eval"].append((links, inputs, copy.deepcopy(kwargs["rng"].bit_generator.state)))
        return evaluate(self, links, **kwargs)

    setattr(owner, name, pairs)
    Mode4Channel.evaluate_scheduled = model  # type: ignore[method-assign]
    sc = bench_mode4.layout_scenario(layout, 1000, duration_s, "mode4")
    scenarios.build(sc)
    with tempfile.TemporaryDirectory(prefix="v2x-replay-") as out:
        run_scenario(sc, out_dir=out, bus="memory", pipeline=True)
    with open(path, "wb") as fh:
        pickle.dump(rec, fh, protocol=5)
    print(f"{len(rec['pairs'])} windows recorded to {path}")


def replay(path: str, repeat: int, what: str) -> None:
    """Time the recorded calls in this process; print CPU per simulated second and digests."""
    import numpy as np

    import v2x.channel
    from v2x.channel import Mode4Channel, find_pairs

    with open(path, "rb") as fh:
        rec = pickle.load(fh)
    steps = sum(len(np.unique(kw["tx_t_ns"])) for _, kw, _ in rec["eval"])

    def digest(h: Any, *arrays: np.ndarray) -> None:
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())

    for _ in range(repeat):
        line = []
        if what in ("both", "pairs"):
            h, cpu = hashlib.sha256(), 0.0
            if hasattr(v2x.channel, "NeighbourList"):  # as the loop searches: one list a run
                search = v2x.channel.NeighbourList().find
            else:
                search = find_pairs
            for args, kwargs in rec["pairs"]:
                t0 = time.thread_time()
                lb = search(*args, **kwargs)
                cpu += time.thread_time() - t0
                digest(h, lb.tx, lb.rx, lb.distance_m)
            line.append(f"link search {cpu / steps * 1e4:6.1f} ms per simulated s "
                        f"{h.hexdigest()[:16]}")
        if what in ("both", "model"):
            ch, h, cpu = Mode4Channel(**rec["params"]), hashlib.sha256(), 0.0
            for links, kwargs, state in rec["eval"]:
                rng = np.random.default_rng()
                rng.bit_generator.state = state
                t0 = time.thread_time()
                r = ch.evaluate_scheduled(links, rng=rng, **kwargs)
                load = ch.take_load()
                cpu += time.thread_time() - t0
                digest(h, r.received, r.latency_ns, r.snr_db, load.cbr, load.cbr_node,
                       load.cr, load.dropped)
            line.append(f"model {cpu / steps * 1e4:6.1f} ms per simulated s "
                        f"{h.hexdigest()[:16]}")
        print(" | ".join(line), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("layout", choices=["highway", "urban"])
    r.add_argument("path")
    r.add_argument("--duration", type=float, default=5.0, help="simulated seconds")
    p = sub.add_parser("replay")
    p.add_argument("path")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--what", choices=["both", "pairs", "model"], default="both")
    p.add_argument("--tree", help="import v2x from this worktree instead (A/B)")
    args = ap.parse_args()
    if args.cmd == "record":
        record(args.layout, args.path, args.duration)
        return
    if args.tree:
        sys.path.insert(0, args.tree)  # ahead of the editable install's finder
    replay(args.path, args.repeat, args.what)


if __name__ == "__main__":
    main()
