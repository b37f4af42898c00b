"""Fuzz the decoders with a million mutated frames: nothing but DecodeError may come out.

The corpus is :func:`v2x.messages._fuzz.sample_messages` (valid BSM, MAP, SPAT, RSI, RSM and
Day-2 extension frames) plus BSMs in the batch layout and SPAT template frames (the fast paths
of ``decode_bsm_frames`` and ``FrameReader``); each input is one of
:data:`v2x.messages._fuzz.MUTATIONS` of a corpus frame (bit flips, truncation, extension,
insertion, deletion, 0xFF runs, splices, random bytes). Every input goes through
``decode_frame``; the BSM-derived ones also through ``decode_bsm_frames`` (in batches of 1000)
and the SPAT-derived ones through a ``FrameReader`` that knows the corpus' SPAT layouts.

Prints the count per outcome (decoded, DecodeError, other) per entry point and per mutation,
and the time; exit status 1 when any other exception occurred (the first few are printed with
their traceback).

Run: ``python benchmarks/fuzz_codec.py [--inputs 1000000] [--seed 1] [--workers 1]``
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import random
import sys
import time
import traceback
from typing import Any

import numpy as np

from v2x.errors import DecodeError
from v2x.messages import BsmBatch, LightState, NodeReferenceId
from v2x.messages._fuzz import mutate, sample_messages
from v2x.messages._uper import (
    FrameReader,
    SpatFrameTemplate,
    decode_bsm_frames,
    decode_frame,
    encode_bsm_batch,
    encode_frame,
)

NOW_NS = 1_717_243_200 * 1_000_000_000
BATCH = 1000


def corpus(seed: int) -> dict[str, list[bytes]]:
    """Valid frames by message type."""
    out: dict[str, list[bytes]] = collections.defaultdict(list)
    for m in sample_messages(random.Random(seed), 60):
        out[type(m).__name__].append(encode_frame(m))
    rng = np.random.default_rng(seed)
    n = 60
    out["Bsm"] += encode_bsm_batch(BsmBatch(
        sender=rng.integers(1, 2**40, n), msg_cnt=rng.integers(0, 128, n),
        sec_mark=rng.integers(0, 60000, n), lat=rng.integers(-900_000_000, 900_000_001, n),
        lon=rng.integers(-1_799_999_999, 1_800_000_001, n), speed=rng.integers(0, 8192, n),
        heading=rng.integers(0, 28801, n), accel_long=rng.integers(-2000, 2002, n),
        width=rng.integers(0, 1024, n), length=rng.integers(0, 4096, n),
        height=rng.integers(0, 128, n), classification=rng.integers(0, 256, n),
        brake=rng.random(n) < 0.5, events=rng.integers(0, 8192, n)))
    tpl = SpatFrameTemplate(intersection_id=NodeReferenceId(7, 1), status=0,
                            lights=[LightState.RED, LightState.PROTECTED_GREEN, LightState.RED,
                                    LightState.YELLOW],
                            likely_end_after_ns=[0, 30 * 10**9, -1, 3 * 10**9],
                            next_start_after_ns=[40 * 10**9, -1, 5 * 10**9, -1],
                            next_duration_ns=[20 * 10**9, -1, -1, -1], fixed_time=True)
    out["Spat"] += [tpl.encode(k % 128, NOW_NS + k * 10**8, k * 10**8) for k in range(60)]
    return dict(out)


def _try(counts: collections.Counter[tuple[str, str]], failures: list[str], where: str,
         fn: Any, data: Any) -> str:
    try:
        fn(data)
    except DecodeError:
        counts[(where, "DecodeError")] += 1
        return "DecodeError"
    except Exception:  # noqa: BLE001 - what this script looks for
        counts[(where, "other")] += 1
        if len(failures) < 5:
            failures.append(f"{where} on {bytes(data).hex()}:\n{traceback.format_exc()}")
        return "other"
    counts[(where, "decoded")] += 1
    return "decoded"


def run(n_inputs: int, seed: int) -> tuple[collections.Counter[tuple[str, str]], list[str]]:
    """Fuzz ``n_inputs`` inputs; (counts by (entry point or mutation, outcome), failures)."""
    frames = corpus(seed)
    kinds = sorted(frames)
    every = [f for k in kinds for f in frames[k]]
    rng = random.Random(seed)
    reader = FrameReader()
    for f in frames["Spat"]:
        reader.decode(f, now_ns=NOW_NS)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    failures: list[str] = []
    bsm_batch: list[bytes] = []

    def flush() -> None:
        try:
            _, ok, errors = decode_bsm_frames(bsm_batch)
            counts[("decode_bsm_frames", "decoded")] += int(ok.sum())
            counts[("decode_bsm_frames", "DecodeError")] += len(errors)
        except Exception:  # noqa: BLE001
            counts[("decode_bsm_frames", "other")] += len(bsm_batch)
            failures.append(f"decode_bsm_frames:\n{traceback.format_exc()}")
        bsm_batch.clear()

    for i in range(n_inputs):
        kind = kinds[i % len(kinds)]
        how, data = mutate(rng.choice(frames[kind]), rng, every)
        res = _try(counts, failures, "decode_frame",
                   lambda d: decode_frame(d, now_ns=NOW_NS), data)
        counts[(f"{kind}/{how}", res)] += 1
        if kind == "Spat":
            _try(counts, failures, "FrameReader.decode",
                 lambda d: reader.decode(d, now_ns=NOW_NS), data)
        elif kind == "Bsm":
            bsm_batch.append(data)
            if len(bsm_batch) == BATCH:
                flush()
    if bsm_batch:
        flush()
    counts[("FrameReader fast path", "decoded")] = reader.fast_decodes
    return counts, failures


def _worker(args: tuple[int, int]) -> tuple[collections.Counter[tuple[str, str]], list[str]]:
    return run(*args)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    if args.workers > 1:
        share = [args.inputs // args.workers + (w < args.inputs % args.workers)
                 for w in range(args.workers)]
        with multiprocessing.Pool(args.workers) as pool:
            parts = pool.map(_worker, [(n, args.seed * 1000 + w) for w, n in enumerate(share)])
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        failures: list[str] = []
        for c, f in parts:
            counts.update(c)
            failures += f
    else:
        counts, failures = run(args.inputs, args.seed)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    outcomes = ("decoded", "DecodeError", "other")
    print(f"{args.inputs:,} inputs (seed {args.seed}, {args.workers} worker(s)) in {wall:.1f} s "
          f"wall ({args.inputs / wall:,.0f} inputs/s; this process' CPU {cpu:.1f} s)")
    print(f"{'':34s} " + " ".join(f"{o:>12s}" for o in outcomes))
    rows = sorted({w for w, _ in counts})
    entry = [w for w in rows if "/" not in w]
    for w in entry + [w for w in rows if "/" in w]:
        print(f"{w:34s} " + " ".join(f"{counts[(w, o)]:12,d}" for o in outcomes))
    other = sum(c for (w, o), c in counts.items() if o == "other")
    print(f"other exceptions: {other}")
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if other else 0


if __name__ == "__main__":
    sys.exit(main())
