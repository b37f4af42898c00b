"""load_recording: the schema of docs/recording.md is checked file by file, column by column."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import Recording, load_recording
from analysis._recording import RUN_KEYS, TABLES
from v2x.errors import RecordingError


def test_loads_every_table_with_schema_columns(run_dir: Path) -> None:
    rec = load_recording(run_dir)
    assert isinstance(rec, Recording)
    assert rec.scenario_id == "unit-fixture-001"
    assert rec.step_ns == 100_000_000
    for name, cols in TABLES.items():
        df = getattr(rec, name.removesuffix(".parquet"))
        assert isinstance(df, pd.DataFrame)
        assert list(df.columns) == list(cols)
    # 3 vehicles x 6 steps; the dictionary-encoded lane comes back categorical
    assert len(rec.trajectories) == 18
    assert isinstance(rec.trajectories["lane"].dtype, pd.CategoricalDtype)
    assert rec.run["counts"]["equipped"] == 2


def test_tables_read_on_first_use_pickle_and_notice_a_changed_file(run_dir: Path) -> None:
    import os
    import pickle

    rec = load_recording(run_dir)
    back = pickle.loads(pickle.dumps(rec))  # nothing read yet: it carries paths
    assert len(back.trajectories) == 18 and back.scenario_id == "unit-fixture-001"
    # built from DataFrames, as before tables were read lazily
    frames = {n.removesuffix(".parquet"): getattr(rec, n.removesuffix(".parquet"))
              for n in TABLES}
    same = Recording(run_dir=run_dir, run=rec.run, **frames)
    assert same.transmissions.equals(rec.transmissions)
    with pytest.raises(TypeError, match="tables missing: events"):
        Recording(run_dir=run_dir, run=rec.run,
                  **{k: v for k, v in frames.items() if k != "events"})
    # a table replaced after loading is refused, not read silently
    later = load_recording(run_dir)
    path = run_dir / "receptions.parquet"
    pq.write_table(pa.Table.from_pandas(rec.receptions.iloc[:1], preserve_index=False), path)
    os.utime(path, ns=(1, 1))
    with pytest.raises(RecordingError, match="changed since the recording was loaded"):
        later.receptions


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="run directory missing"):
        load_recording(tmp_path / "nope")


@pytest.mark.parametrize("name", ["run.json", *TABLES])
def test_missing_file_is_named(run_dir: Path, name: str) -> None:
    (run_dir / name).unlink()
    with pytest.raises(RecordingError, match=f"{name}: file missing"):
        load_recording(run_dir)


def test_missing_column_is_named(make_run: Callable[..., Path]) -> None:
    ev = pd.DataFrame({"t_ns": pd.Series([], dtype="int64"), "kind": pd.Series([], dtype=str),
                       "vehicle": pd.Series([], dtype="int64"),
                       "value": pd.Series([], dtype="float64")})  # no 'other'
    d = make_run(events=ev)
    with pytest.raises(RecordingError, match=r"events\.parquet: column 'other' missing"):
        load_recording(d)


def test_wrong_column_type_is_named(run_dir: Path) -> None:
    path = run_dir / "latency_hist.parquet"
    t = pq.read_table(path)
    t = t.set_column(t.schema.get_field_index("count"), "count",
                     pa.array(["x"] * t.num_rows, pa.string()))
    pq.write_table(t, path)
    with pytest.raises(RecordingError, match=r"latency_hist\.parquet: column 'count' has type"):
        load_recording(run_dir)


def test_corrupt_parquet_is_named(run_dir: Path) -> None:
    (run_dir / "bus.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(RecordingError, match=r"bus\.parquet: not a readable Parquet file") as ei:
        load_recording(run_dir)
    assert ei.value.__cause__ is not None


def test_corrupt_run_json(run_dir: Path) -> None:
    (run_dir / "run.json").write_text("{ nope", encoding="utf-8")
    with pytest.raises(RecordingError, match=r"run\.json: cannot read JSON"):
        load_recording(run_dir)


@pytest.mark.parametrize(("status", "error"), [("failed", "SumoError: the traffic process died"),
                                               ("interrupted", "KeyboardInterrupt: "),
                                               ("running", None)])
def test_a_run_that_did_not_complete_says_so(run_dir: Path, status: str,
                                            error: str | None) -> None:
    info = {"scenario_id": "x", "seed": 1, "status": status}
    if error:
        info["error"] = error
    (run_dir / "run.json").write_text(json.dumps(info))
    with pytest.raises(RecordingError, match=rf"did not complete \(status '{status}'"):
        load_recording(run_dir)


@pytest.mark.parametrize("key", ["seed", "counts.rsus", "reception_sample.fraction"])
def test_missing_run_key_is_named(run_dir: Path, key: str) -> None:
    assert key in RUN_KEYS
    run = json.loads((run_dir / "run.json").read_text())
    node = run
    *parents, last = key.split(".")
    for p in parents:
        node = node[p]
    del node[last]
    (run_dir / "run.json").write_text(json.dumps(run))
    with pytest.raises(RecordingError, match=rf"run\.json: key '{key}' missing"):
        load_recording(run_dir)


def test_empty_object_columns_get_schema_types(make_run: Callable[..., Path]) -> None:
    # pandas writes an empty object column as Arrow null type; it must load as the schema type
    empty = pd.DataFrame({c: [] for c in TABLES["warnings.parquet"]})
    d = make_run(warnings=empty)
    rec = load_recording(d)
    assert len(rec.warnings) == 0
    assert rec.warnings["vehicle"].dtype == "int64"
    assert rec.warnings["ttc_s"].dtype == "float64"


def test_all_null_column_in_non_empty_table(make_run: Callable[..., Path]) -> None:
    t = pa.table({
        "t_ns": pa.array([0], pa.int64()), "kind": ["collision"],
        "vehicle": pa.array([0], pa.int64()), "other": pa.array([None], pa.null()),
        "value": [1.0],
    })
    d = make_run(events=t)
    with pytest.raises(RecordingError, match=r"events\.parquet: column 'other' holds only nulls"):
        load_recording(d)
