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
from tests.analysis.conftest import as_killed
from v2x.errors import RecordingError
from v2x.recorder._layout import LOCK_NAME


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


def test_a_column_is_read_alone_or_taken_from_its_table(run_dir: Path) -> None:
    rec = load_recording(run_dir)
    whole = pd.read_parquet(run_dir / "transmissions.parquet")
    got = rec.column("transmissions", "msg_type")
    assert got.astype(str).tolist() == whole["msg_type"].astype(str).tolist()
    assert not isinstance(rec._tables["transmissions"], pd.DataFrame)  # the table not read
    assert len(rec.transmissions) == len(whole)  # read now: the column comes from it
    assert rec.column("transmissions", "msg_type").equals(rec.transmissions["msg_type"])
    with pytest.raises(KeyError):
        load_recording(run_dir).column("transmissions", "nonsense")
    with pytest.raises(AttributeError):
        rec.column("nonsense", "t_ns")
    # a partial run: the column up to the last checkpoint (steps 0..3 of 0..5)
    part = load_recording(as_killed(run_dir, 400_000_000, drop=("events",)))
    assert len(part.column("transmissions", "msg_type")) == len(part.transmissions) < len(whole)


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


def test_a_killed_run_loads_up_to_its_last_checkpoint(run_dir: Path) -> None:
    root = as_killed(run_dir, 400_000_000, drop=("events",))
    # the documented way reads what was flushed, part files and all
    assert len(pd.read_parquet(root / "trajectories.parquet")) == 18
    rec = load_recording(root)
    p = rec.partial
    assert p is not None and (p.status, p.recorded_ns, p.writer_alive) == (
        "running", 400_000_000, False)
    assert p.duration_ns == 600_000_000
    assert p.reason == ("partial recording: the run stopped without finishing (killed, crashed "
                        "or lost power); recorded up to 0.4 s of 0.6 s of simulated time")
    # every table read to the same simulated time: steps 0..3
    assert rec.trajectories["t_ns"].max() == 300_000_000 and len(rec.trajectories) == 12
    assert isinstance(rec.trajectories["lane"].dtype, pd.CategoricalDtype)
    assert rec.transmissions["t_ns"].max() == 300_000_000
    assert rec.warnings["t_ns"].tolist() == [0, 300_000_000]
    assert rec.events.empty and list(rec.events.columns) == list(TABLES["events.parquet"])
    assert len(rec.prr_bins) == 26  # the aggregates as of the checkpoint: all of them
    # the counts a killed run could not write: from its nodes and its last checkpoint
    assert rec.run["counts"] == {"vehicles": 3, "equipped": 2, "rsus": 1, "steps": 4}


@pytest.mark.parametrize(("status", "error", "what"), [
    ("failed", "SumoError: the traffic process died", "the run failed"),
    ("interrupted", "KeyboardInterrupt: ", "the run was interrupted")])
def test_a_failed_or_interrupted_run_is_partial_with_its_error(
        run_dir: Path, status: str, error: str, what: str) -> None:
    run = json.loads((run_dir / "run.json").read_text())
    run.update(status=status, error=error, recorded_ns=200_000_000)
    (run_dir / "run.json").write_text(json.dumps(run))
    rec = load_recording(run_dir)  # finished files: the recorder closed them
    assert rec.partial is not None and rec.partial.error == error
    assert rec.partial.reason.startswith(f"partial recording: {what} ({error})")
    assert rec.trajectories["t_ns"].max() == 100_000_000


def test_a_run_still_being_written_says_so(run_dir: Path) -> None:
    import fcntl

    root = as_killed(run_dir, 200_000_000)
    with open(root / LOCK_NAME, "w") as lock:  # what a live recorder holds
        fcntl.flock(lock, fcntl.LOCK_EX)
        rec = load_recording(root)
    assert rec.partial is not None and rec.partial.writer_alive
    assert "the run is still being written" in rec.partial.reason
    assert load_recording(root).partial.writer_alive is False  # type: ignore[union-attr]


def test_a_partial_run_json_still_needs_what_is_known_at_the_start(run_dir: Path) -> None:
    root = as_killed(run_dir, 200_000_000)
    run = json.loads((root / "run.json").read_text())
    del run["criteria"]
    (root / "run.json").write_text(json.dumps(run))
    with pytest.raises(RecordingError, match=r"run\.json: key 'criteria' missing \(the run "
                                             r"did not complete: status 'running'\)"):
        load_recording(root)


@pytest.mark.parametrize(("change", "message"), [
    ({"status": "done"}, "unknown status 'done'"),
    ({"status": "running", "recorded_ns": -1}, "'recorded_ns' must be an integer >= 0"),
])
def test_bad_status_or_checkpoint_is_named(run_dir: Path, change: dict, message: str) -> None:
    run = json.loads((run_dir / "run.json").read_text())
    run.update(change)
    (run_dir / "run.json").write_text(json.dumps(run))
    with pytest.raises(RecordingError, match=message):
        load_recording(run_dir)


def test_a_broken_part_file_is_named(run_dir: Path) -> None:
    root = as_killed(run_dir, 200_000_000)
    (root / "bus.parquet" / "part-00001.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(RecordingError, match=r"bus\.parquet/part-00001\.parquet: not a "
                                             "readable Parquet file"):
        load_recording(root)


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
