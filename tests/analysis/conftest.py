"""A small, hand-computable recording (docs/recording.md) for the analysis tests.

``make_run(tmp_path, **changes)`` writes a run directory and returns its path; keyword arguments
replace a whole table (``trajectories=DataFrame``) or ``run.json`` keys (``run={...}``).

What the default recording holds (the tests compute their expectations from this):

* step 100 ms, 6 steps; vehicles 0 (follower) and 1 (leader, 5 m long) in lane ``E0_0``,
  vehicle 2 alone in lane ``E1_0`` (unequipped), RSU 1_000_000.
* follower 15 m/s, leader 10 m/s (closing 5 m/s); gaps per step 30, 14, 12, 10, 20, 7.5 m,
  so TTC 6.0, 2.8, 2.4, 2.0, 4.0, 1.5 s. Vehicle 2 drives 30 m/s next to them (other lane).
* transmissions: BSM from 0 and 1 every step (12), SPAT x2 and MAP x1 from the RSU.
* prr_bins BSM: 20 m bins to 500 m, 0-20: 10/10, 20-40: 9/10, 280-300: 2/4, 300-320: 1/5,
  all others 0 pairs; SPAT 0-20: 2/2.
* latency_hist BSM (0.1 ms bins): [1.0,1.1) ms x10, [1.1,1.2) x6, [2.0,2.1) x3, [5.0,5.1) x1.
* ipg_hist BSM (1 ms bins): [100,101) ms x8, [200,201) x2.
* bus: BSM up x3 (1, 2, 3 ms wall latency), SPAT down x1 (10 ms).
* warnings: FCW at 0 s ego 0 remote 1; FCW at 0.3 s ego 2 remote 1.
* events: 1 collision; hard braking 5.0 m/s² and 3.0 m/s² (below 0.4 g).
* criteria: BSM latency p99 <= 100 ms (passes), collisions == 0 (fails).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

STEP_NS = 100_000_000
RSU = 1_000_000
GAPS_M = [30.0, 14.0, 12.0, 10.0, 20.0, 7.5]

RUN: dict[str, Any] = {
    "scenario_id": "unit-fixture-001",
    "title": "Analysis unit fixture",
    "seed": 7,
    "start": "2024-05-01T08:00:00+08:00",
    "step_ns": STEP_NS,
    "duration_ns": 6 * STEP_NS,
    "sumo_version": "1.28.0",
    "bus": "memory",
    "channel": "ideal",
    "counts": {"vehicles": 3, "equipped": 2, "rsus": 1, "steps": 6},
    "tx_counts": {"BSM": 12, "SPAT": 2, "MAP": 1},
    "criteria": [
        {"kpi": "latency.BSM.p99_ms", "op": "<=", "value": 100, "name": "BSM latency p99"},
        {"kpi": "safety.collisions", "op": "==", "value": 0, "name": "no collisions"},
    ],
    "reception_sample": {"fraction": 0.05, "receivers": [0, RSU]},
    "prr_bin_m": 20.0,
    "prr_max_m": 500.0,
    "latency_bin_ns": 100_000,
    "wall_s": 1.25,
}


def _nodes() -> pa.Table:
    return pa.table({
        "node": pa.array([0, 1, 2, RSU], pa.int64()),
        "name": ["veh0", "veh1", "veh2", "J1"],
        "kind": ["obu", "obu", "none", "rsu"],
        "vclass": pa.array([10, 10, 10, 0], pa.int16()),
        "length_m": pa.array([5.0, 5.0, 5.0, 0.0], pa.float32()),
        "width_m": pa.array([1.8, 1.8, 1.8, 0.0], pa.float32()),
    })


def _trajectories() -> pd.DataFrame:
    rows = []
    for k, gap in enumerate(GAPS_M):
        t = k * STEP_NS
        lead_pos = 100.0 + k
        rows.append((t, 1, "E0_0", lead_pos, 5.0, 10.0))
        rows.append((t, 0, "E0_0", lead_pos - 5.0 - gap, 5.0, 15.0))
        rows.append((t, 2, "E1_0", lead_pos - 10.0, 5.0, 30.0))
    df = pd.DataFrame(rows, columns=["t_ns", "vehicle", "lane", "lane_pos", "length", "speed"])
    df["x"] = df["lane_pos"]
    df["y"] = np.where(df["lane"] == "E1_0", 3.5, 0.0)  # E1_0 the lane beside E0_0
    df["lat"] = 39.05583
    df["lon"] = 117.055
    df["accel"] = 0.0
    df["heading_deg"] = 90.0
    return df[["t_ns", "vehicle", "x", "y", "lat", "lon", "speed", "accel", "heading_deg",
               "lane", "lane_pos", "length"]].astype({"t_ns": np.int64, "vehicle": np.int64})


def _transmissions() -> pd.DataFrame:
    rows = []
    for k in range(6):
        rows.append((k * STEP_NS, 0, "BSM"))
        rows.append((k * STEP_NS, 1, "BSM"))
    rows += [(0, RSU, "SPAT"), (0, RSU, "MAP"), (5 * STEP_NS, RSU, "SPAT")]
    df = pd.DataFrame(rows, columns=["t_ns", "sender", "msg_type"]).sort_values(
        "t_ns", kind="stable").reset_index(drop=True)
    df.insert(0, "tx_id", np.arange(len(df), dtype=np.int64))
    df["msg_cnt"] = np.arange(len(df), dtype=np.int16) % 128
    df["size_bytes"] = np.int32(40)
    df["x"] = 0.0
    df["y"] = 0.0
    return df


def _receptions() -> pd.DataFrame:
    return pd.DataFrame({
        "tx_id": np.array([0, 1], np.int64),
        "t_ns": np.array([0, 0], np.int64),
        "receiver": np.array([RSU, RSU], np.int64),
        "msg_type": ["BSM", "BSM"],
        "distance_m": np.array([12.0, 30.0], np.float32),
        "received": [True, False],
        "latency_ns": np.array([1_050_000, -1], np.int64),
        "used_by": ["", ""],
    })


def _prr_bins() -> pd.DataFrame:
    lo = np.arange(0.0, 500.0, 20.0)
    pairs = np.zeros(lo.size, np.int64)
    rec = np.zeros(lo.size, np.int64)
    for b, (p, r) in {0: (10, 10), 1: (10, 9), 14: (4, 2), 15: (5, 1)}.items():
        pairs[b], rec[b] = p, r
    bsm = pd.DataFrame({"msg_type": "BSM", "bin_lo_m": lo, "bin_hi_m": lo + 20.0,
                        "n_pairs": pairs, "n_received": rec})
    spat = pd.DataFrame({"msg_type": ["SPAT"], "bin_lo_m": [0.0], "bin_hi_m": [20.0],
                         "n_pairs": np.array([2], np.int64), "n_received": np.array([2], np.int64)})
    return pd.concat([bsm, spat], ignore_index=True)


def _hist(rows: list[tuple[str, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["msg_type", "bin_lo_ns", "bin_hi_ns", "count"]).astype(
        {"bin_lo_ns": np.int64, "bin_hi_ns": np.int64, "count": np.int64})


def _latency_hist() -> pd.DataFrame:
    return _hist([
        ("BSM", 1_000_000, 1_100_000, 10),
        ("BSM", 1_100_000, 1_200_000, 6),
        ("BSM", 2_000_000, 2_100_000, 3),
        ("BSM", 5_000_000, 5_100_000, 1),
        ("SPAT", 3_000_000, 3_100_000, 2),
    ])


def _ipg_hist() -> pd.DataFrame:
    return _hist([
        ("BSM", 100_000_000, 101_000_000, 8),
        ("BSM", 200_000_000, 201_000_000, 2),
    ])


def _bus() -> pd.DataFrame:
    return pd.DataFrame({
        "t_ns": np.array([0, 0, STEP_NS, 0], np.int64),
        "topic": ["v2x/obu/0/bsm", "v2x/obu/1/bsm", "v2x/obu/0/bsm", "v2x/rsu/J1/spat"],
        "msg_type": ["BSM", "BSM", "BSM", "SPAT"],
        "direction": ["up", "up", "up", "down"],
        "size_bytes": np.array([40, 40, 40, 60], np.int32),
        "wall_latency_ms": [3.0, 1.0, 2.0, 10.0],
    })


def _warnings() -> pd.DataFrame:
    return pd.DataFrame({
        "t_ns": np.array([0, 3 * STEP_NS], np.int64),
        "app": ["FCW", "FCW"],
        "vehicle": np.array([0, 2], np.int64),
        "remote": np.array([1, 1], np.int64),
        "ttc_s": [2.9, 2.5],
        "gap_m": [14.5, 12.0],
        "tx_id": np.array([1, 7], np.int64),
        "info_age_ms": [2.0, 3.5],
    })


def _events() -> pd.DataFrame:
    return pd.DataFrame({
        "t_ns": np.array([2 * STEP_NS, 3 * STEP_NS, 5 * STEP_NS], np.int64),
        "kind": ["hard_braking", "hard_braking", "collision"],
        "vehicle": np.array([1, 1, 0], np.int64),
        "other": np.array([-1, -1, 1], np.int64),
        "value": [5.0, 3.0, 4.5],
    })


def default_tables() -> dict[str, pd.DataFrame | pa.Table]:
    """The default tables, by file stem."""
    return {
        "nodes": _nodes(), "trajectories": _trajectories(), "transmissions": _transmissions(),
        "receptions": _receptions(), "prr_bins": _prr_bins(), "latency_hist": _latency_hist(),
        "ipg_hist": _ipg_hist(), "bus": _bus(), "warnings": _warnings(), "events": _events(),
    }


def write_run(run_dir: Path, *, run: dict[str, Any] | None = None,
              **tables: pd.DataFrame | pa.Table) -> Path:
    """Write a run directory: default tables with ``tables`` replacing some, run.json with
    ``run`` keys replacing the default ones."""
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = copy.deepcopy(RUN)
    meta.update(run or {})
    (run_dir / "run.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    all_tables = default_tables()
    unknown = set(tables) - set(all_tables)
    if unknown:
        raise KeyError(f"unknown tables {sorted(unknown)}")
    all_tables.update(tables)
    for stem, table in all_tables.items():
        if isinstance(table, pd.DataFrame):
            if stem == "trajectories":
                table = table.astype({"lane": "category"})
            table = pa.Table.from_pandas(table, preserve_index=False)
        pq.write_table(table, run_dir / f"{stem}.parquet")
    return run_dir


def as_killed(run_dir: Path, recorded_ns: int, *, drop: tuple[str, ...] = ()) -> Path:
    """The fixture recording as a run killed outright leaves it: every table a folder of part
    files (the rows before and after 0.25 s in two parts), ``drop`` never written, run.json
    "running" with the keys written before the run and its last checkpoint."""
    for name in (f"{t}.parquet" for t in default_tables()):
        path = run_dir / name
        table = pq.read_table(path)
        path.unlink()
        if name.removesuffix(".parquet") in drop:
            continue
        path.mkdir()
        if "t_ns" in table.column_names:
            early = pc.less(table["t_ns"], 250_000_000)
            pq.write_table(table.filter(early), path / "part-00000.parquet")
            pq.write_table(table.filter(pc.invert(early)), path / "part-00001.parquet")
        else:
            pq.write_table(table, path / "part-00000.parquet")
    run = json.loads((run_dir / "run.json").read_text())
    for key in ("counts", "tx_counts", "wall_s"):
        del run[key]
    run.update(status="running", recorded_ns=recorded_ns)
    (run_dir / "run.json").write_text(json.dumps(run))
    return run_dir


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., Path]:
    """``make_run(name="run", run={...}, trajectories=df, ...)`` -> a fresh run directory."""
    def make(name: str = "run", **changes: Any) -> Path:
        return write_run(tmp_path / name, **changes)
    return make


@pytest.fixture
def run_dir(make_run: Callable[..., Path]) -> Path:
    """The default fixture recording."""
    return make_run()
