"""A recording survives a kill: closed part files while the run is written, one file per table
when it completes, run.json says how far it got, and a live writer is told from a dead one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from v2x.errors import RecordingError
from v2x.recorder import MSG_TYPES, Recorder, categorical
from v2x.recorder._layout import LOCK_NAME, table_files, writer_alive

S = 1_000_000_000


def _events(t_s: list[float], value: float = 1.0) -> dict[str, object]:
    n = len(t_s)
    return dict(t_ns=(np.array(t_s) * S).astype(np.int64), kind=["hard_braking"] * n,
                vehicle=np.arange(n, dtype=np.int64), other=np.full(n, -1, np.int64),
                value=np.full(n, value))


def _tx(t_s: float, n: int, first_id: int) -> dict[str, object]:
    return dict(tx_id=np.arange(first_id, first_id + n, dtype=np.int64),
                t_ns=np.full(n, int(t_s * S), np.int64), sender=np.arange(n, dtype=np.int64),
                msg_type=categorical(np.zeros(n, np.int8), MSG_TYPES),
                msg_cnt=np.arange(n, dtype=np.int16), size_bytes=np.full(n, 39, np.int32),
                x=np.zeros(n), y=np.zeros(n), frame=[bytes([i % 256]) * 3 for i in range(n)])


def _hist(count: int) -> dict[str, object]:
    return dict(msg_type=["BSM"], bin_lo_ns=np.array([0], np.int64),
                bin_hi_ns=np.array([100_000], np.int64), count=np.array([count], np.int64))


def _parts(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_rows_are_closed_part_files_from_a_checkpoint_on_and_one_file_at_close(
        tmp_path: Path) -> None:
    folder = tmp_path / "transmissions.parquet"
    with Recorder(tmp_path, flush_rows=4, durable=False) as rec:
        rec.append("transmissions", **_tx(0.0, 3, 0))  # buffered
        rec.append("transmissions", **_tx(0.1, 3, 3))  # 6 rows >= 4: to the final file
        rec._pending[-1].result()
        assert not folder.exists()  # in no part yet: a kill now would lose them
        rec.checkpoint(S)  # the rows flushed so far: one part
        rec.append("transmissions", **_tx(1.1, 5, 6))  # flushed, waits for a checkpoint...
        rec.append("transmissions", **_tx(1.2, 12, 11))  # ... until 4 x 4 rows wait: a part
        rec.append("transmissions", **_tx(1.3, 1, 23))  # buffered
        rec._pending[-1].result()  # the I/O thread has written the parts
        # only complete files (hidden temporaries would be skipped by readers anyway)
        assert _parts(folder) == ["part-00000.parquet", "part-00001.parquet"]
        assert pq.read_metadata(folder / "part-00000.parquet").num_rows == 6
        live = pd.read_parquet(folder)  # the documented way reads a table being written
        assert live["tx_id"].tolist() == list(range(23))
        assert live["msg_type"].astype(str).unique().tolist() == ["BSM"]
        assert writer_alive(tmp_path)
    # closed: one Parquet file per table, with every row, and no leftovers
    assert folder.is_file()
    done = pd.read_parquet(folder)
    assert done["tx_id"].tolist() == list(range(24))
    assert done.drop(columns="msg_type").equals(
        pd.concat([live, done.tail(1)], ignore_index=True).drop(columns="msg_type"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{t}.parquet" for t in ("nodes", "trajectories", "transmissions", "receptions",
                                 "prr_bins", "latency_hist", "ipg_hist", "bus", "warnings",
                                 "events"))
    assert not writer_alive(tmp_path)


def test_small_flushes_become_one_row_group(tmp_path: Path) -> None:
    # a table with few rows gets a part at every checkpoint; its file has one row group
    with Recorder(tmp_path, checkpoint_ns=10 * S, durable=False) as rec:
        for k in range(6):
            rec.append("events", **_events([10.0 * k + 1]))
            rec.checkpoint(10 * S * (k + 1))
        rec._pending[-1].result()
        assert len(_parts(tmp_path / "events.parquet")) == 6
    meta = pq.read_metadata(tmp_path / "events.parquet")
    assert (meta.num_rows, meta.num_row_groups) == (6, 1)


def test_a_checkpoint_puts_everything_on_disk_and_says_how_far(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, checkpoint_ns=30 * S)
    try:
        rec.write_json("run.json", {"scenario_id": "x", "status": "running"})
        assert not rec.checkpoint_due(29 * S) and rec.checkpoint_due(30 * S)
        rec.append("events", **_events([1.0, 29.9]))
        rec.replace("latency_hist", **_hist(5))
        rec.replace("latency_hist", **_hist(7))  # the whole table so far: the last one counts
        rec.checkpoint(30 * S)
        assert rec.recorded_ns == 30 * S
        assert not rec.checkpoint_due(59 * S) and rec.checkpoint_due(60 * S)
        rec.append("events", **_events([31.0]))  # after the checkpoint: buffered only
        rec._pending[-1].result()
        run = json.loads((tmp_path / "run.json").read_text())
        assert run == {"scenario_id": "x", "status": "running", "recorded_ns": 30 * S}
        assert pd.read_parquet(tmp_path / "events.parquet")["t_ns"].tolist() == [S, 29_900_000_000]
        assert pd.read_parquet(tmp_path / "latency_hist.parquet")["count"].tolist() == [7]
        assert table_files(tmp_path, "warnings") is None  # nothing to write: no folder
        assert rec.rows("latency_hist") == 1 and rec.rows("events") == 3
    finally:
        rec.close()
    assert pd.read_parquet(tmp_path / "events.parquet")["t_ns"].tolist() == [
        S, 29_900_000_000, 31 * S]
    assert pd.read_parquet(tmp_path / "latency_hist.parquet")["count"].tolist() == [7]


def test_a_table_is_appended_to_or_replaced_not_both(tmp_path: Path) -> None:
    with Recorder(tmp_path, durable=False) as rec:
        rec.replace("latency_hist", **_hist(1))
        with pytest.raises(RecordingError, match="either appended to or replaced"):
            rec.append("latency_hist", **_hist(2))
        with pytest.raises(RecordingError, match="unknown table 'nope'"):
            rec.append("nope", a=[1])
    with pytest.raises(RecordingError, match="closed"):
        rec.append("events", **_events([1.0]))


def test_one_run_at_a_time_writes_a_folder(tmp_path: Path) -> None:
    with Recorder(tmp_path, durable=False):
        assert (tmp_path / LOCK_NAME).is_file() and writer_alive(tmp_path)
        with pytest.raises(RecordingError, match="another process is writing a run"):
            Recorder(tmp_path)
    assert not (tmp_path / LOCK_NAME).exists() and not writer_alive(tmp_path)


_KILLED = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from v2x.recorder import Recorder
    S = 1_000_000_000
    rec = Recorder(sys.argv[1], flush_rows=1000, checkpoint_ns=10 * S)
    rec.write_json("run.json", {"scenario_id": "x", "status": "running"})
    for k in range(25):  # 25 s of 1 s steps, a checkpoint every 10 s
        t = (k + 1) * S
        rec.append("events", t_ns=np.array([k * S]), kind=["hard_braking"],
                   vehicle=np.array([k]), other=np.array([-1]), value=np.array([1.0]))
        if rec.checkpoint_due(t):
            rec.replace("latency_hist", msg_type=["BSM"], bin_lo_ns=np.array([0]),
                        bin_hi_ns=np.array([1]), count=np.array([k + 1]))
            rec.checkpoint(t)
    rec._pending[-1].result()
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_what_was_flushed_before_a_sigkill_stays_readable(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", _KILLED, str(out)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not writer_alive(out)  # the lock died with the process
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "running" and run["recorded_ns"] == 20 * S
    events = pd.read_parquet(out / "events.parquet")
    assert events["t_ns"].tolist() == [k * S for k in range(20)]  # the last 5 s were buffered
    assert pd.read_parquet(out / "latency_hist.parquet")["count"].tolist() == [20]
    # the next run into the folder starts clean
    with Recorder(out, durable=False):
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]


def test_a_folder_of_someone_elses_named_like_a_table_is_refused(tmp_path: Path) -> None:
    (tmp_path / "events.parquet").mkdir()
    with pytest.raises(RecordingError, match=r"events\.parquet: a folder that is not part"):
        Recorder(tmp_path)
    assert not (tmp_path / LOCK_NAME).exists()  # released
    os.rmdir(tmp_path / "events.parquet")



def test_table_files_in_every_state_of_a_table(tmp_path: Path) -> None:
    assert table_files(tmp_path, "bus") is None  # never written
    folder = tmp_path / "bus.parquet"
    folder.mkdir()
    for name in ("part-00001.parquet", "part-00000.parquet", ".part-00002.parquet.tmp"):
        (folder / name).write_bytes(b"")
    parts = [folder / "part-00000.parquet", folder / "part-00001.parquet"]
    assert table_files(tmp_path, "bus") == parts  # written order; no incomplete part
    aside = tmp_path / ".bus.parquet.parts"
    folder.rename(aside)  # the instant the final file takes the folder's place
    assert table_files(tmp_path, "bus") == [aside / p.name for p in parts]
    (tmp_path / "bus.parquet").write_bytes(b"")
    assert table_files(tmp_path, "bus") == [tmp_path / "bus.parquet"]

@pytest.mark.sumo
@pytest.mark.slow
def test_a_run_killed_mid_way_keeps_its_tables_and_is_reported_partial(tmp_path: Path) -> None:
    import time

    from click.testing import CliRunner

    from v2x.cli import main
    from v2x.recorder import SCHEMAS

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", "from v2x.cli import main; main()", "run",
                             "xiqing-south-station", "--bus", "memory", "-q", "--duration",
                             "120", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:  # written atomically: the old or the new content, never a part
                recorded = json.loads((out / "run.json").read_text()).get("recorded_ns", 0)
            except (OSError, ValueError):
                recorded = 0
            if recorded >= 60 * S:  # two checkpoints, half of the run
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL and "Traceback" not in err

    # run.json still says running; nobody holds the writer's lock: killed
    run = json.loads((out / "run.json").read_text())
    cut = run["recorded_ns"]
    assert run["status"] == "running" and cut >= 60 * S and cut % run["step_ns"] == 0
    assert not writer_alive(out)

    # every table flushed before the kill reads with pandas, with its schema's columns
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in SCHEMAS
              if (out / f"{name}.parquet").exists()}
    assert {"nodes", "trajectories", "transmissions", "receptions", "prr_bins",
            "latency_hist", "ipg_hist", "bus"} <= set(tables)
    for name, df in tables.items():
        assert list(df.columns) == SCHEMAS[name].names, name
    traj, tx = tables["trajectories"], tables["transmissions"]
    step = run["step_ns"]
    for df in (traj, tx, tables["receptions"], tables["bus"]):
        t = df["t_ns"]
        assert t.is_monotonic_increasing and t.min() >= 0 and t.max() < 120 * S
        assert (t >= cut - step).any()  # nothing lost before the last checkpoint
    # steps in order, none missing up to the checkpoint; transmissions numbered without a gap
    steps = np.unique(traj["t_ns"].to_numpy())
    assert np.all(np.diff(steps) == step) and steps[-1] >= cut - step
    assert (tx["tx_id"].to_numpy() == np.arange(len(tx))).all()
    assert set(tx["msg_type"].astype(str)) >= {"BSM", "SPAT", "MAP"}
    assert set(traj.loc[traj["t_ns"] < cut, "vehicle"]) <= set(tables["nodes"]["node"])
    assert tables["prr_bins"]["n_pairs"].sum() > 0

    # v2x report scores it as far as it goes and says partial; no traceback
    res = CliRunner().invoke(main, ["report", str(out), "--format", "json,html"])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "[PARTIAL] partial recording: the run stopped without finishing" in res.output
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["passed"] is False
    assert (doc["partial"]["status"], doc["partial"]["recorded_ns"]) == ("running", cut)
    assert doc["kpis"]["steps"] == cut // step
    # the vehicles on the road before the checkpoint, whatever the tables hold beyond it
    assert doc["kpis"]["vehicles"] == traj.loc[traj["t_ns"] < cut, "vehicle"].nunique()
    assert "Partial recording" in (out / "report.html").read_text(encoding="utf-8")

    # v2x check reads every frame flushed (the exit code of its findings: 0 or 1, not 2)
    res = CliRunner().invoke(main, ["check", str(out), "--json"])
    assert res.exit_code in (0, 1), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)  # no traceback
    rep = json.loads(res.output)
    assert rep["input_kind"] == "recording" and rep["frames"] == len(tx)
    assert rep["partial"].startswith("partial recording: the run stopped without finishing")
    assert rep["input_problems"] == []


def test_the_checkpoint_interval_comes_from_the_scenario(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scenarios
    from v2x.cli import _run
    from v2x.errors import ConfigError

    sc = scenarios.resolve_scenario("xiqing-fcw-lead-brakes",
                                    overrides=["recording.checkpoint='5 s'"])
    assert sc.recording.checkpoint_ns == 5 * S
    assert scenarios.resolve_scenario("xiqing-fcw-lead-brakes").recording.checkpoint_ns == 30 * S
    with pytest.raises(ConfigError, match="recording.checkpoint"):
        scenarios.resolve_scenario("xiqing-fcw-lead-brakes",
                                   overrides=["recording.checkpoint='100 ms'"])
    seen: list[int] = []

    class Spy(_run.Recorder):
        def checkpoint(self, recorded_ns: int) -> None:
            seen.append(recorded_ns)
            super().checkpoint(recorded_ns)

    monkeypatch.setattr(_run, "Recorder", Spy)
    _run.run_scenario(sc, out_dir=tmp_path / "run", bus="memory")
    # 15 s of simulated time, windows of 5 steps (closed loop): a checkpoint at each window
    # that reaches the next 5 s
    assert [t // S for t in seen][:2] == [5, 10]
