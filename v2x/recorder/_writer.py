"""Parquet tables written incrementally, with a journal of closed part files that survives a
kill.

The schema of every table is in ``docs/recording.md``; :data:`SCHEMAS` is its source of truth
in code. Columns are appended as numpy arrays per step; a table's buffered rows go to its final
Parquet file (written beside, in the recorder's I/O thread) every ``flush_rows`` rows, so memory
stays bounded on long runs. At every checkpoint (every ``checkpoint_ns`` of simulated time,
:meth:`Recorder.checkpoint`) the rows flushed since the last one become one closed part file
of the table's directory (the journal), so a run killed outright (SIGKILL, a power loss) keeps
every row before its last checkpoint, readable with ``pandas.read_parquet`` (the layout:
:mod:`v2x.recorder._layout`). At :meth:`Recorder.close` the final file takes the directory's
place: a complete run is one Parquet file per table, as before.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from v2x.errors import RecordingError
from v2x.recorder._layout import (
    LOCK_NAME,
    part_name,
    parts_aside,
    table_path,
)
from v2x.recorder._schema import SCHEMAS
from v2x.units import NS_PER_S

__all__ = ["RUN_FILES", "SCHEMAS", "Binary", "Categorical", "Recorder", "binary", "categorical"]

#: files of a run directory besides the tables (run.json, and the reports the analysis writes)
RUN_FILES = ("run.json", "report.json", "junit.xml", "report.html")

@dataclass(frozen=True)
class Categorical:
    """A string column given as integer codes (n,) into fixed ``categories``: the recorder
    writes it as a Parquet dictionary column without building a string per row."""

    codes: np.ndarray
    categories: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.codes.shape[0])


def categorical(codes: np.ndarray, categories: tuple[str, ...]) -> Categorical:
    """Wrap integer ``codes`` (n,) into ``categories`` as a :class:`Categorical` column."""
    return Categorical(np.asarray(codes), tuple(categories))


@dataclass(frozen=True)
class Binary:
    """A binary column given as one buffer and the length of each value (n,): the recorder
    writes it without a Python ``bytes`` object per row."""

    data: bytes
    lengths: np.ndarray

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def to_arrow(self) -> pa.Array:
        offsets = np.zeros(len(self) + 1, np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        if offsets[-1] != len(self.data) or len(self.data) >= 2**31:
            raise RecordingError(f"binary column: lengths sum to {int(offsets[-1])}, the "
                                 f"buffer has {len(self.data)} bytes (at most 2**31 - 1)")
        return pa.Array.from_buffers(pa.binary(), len(self), [
            None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(self.data)])


def binary(data: bytes, lengths: np.ndarray) -> Binary:
    """Values ``data[o_i : o_i + lengths[i]]`` (consecutive) as a :class:`Binary` column."""
    return Binary(bytes(data), np.asarray(lengths, np.int64))


def _objects(values: Any) -> np.ndarray:
    """Python values (n,) as a 1-D object array: pyarrow converts one ~100x faster than a
    list when given a type (measured with pyarrow 23: 342 names, 2.1 ms as a list, 0.02 ms
    as an object array; the same values)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _fsync(path: Path) -> None:
    """Force ``path`` (a file, or a directory for the names in it) to disk. Directories are
    skipped where they cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):  # pragma: no cover - a directory on Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _parquet_options(schema: pa.Schema, compression: str) -> dict[str, Any]:
    # dictionary pages only for the string columns: on floats and ids they never pay off, and
    # trying costs a third of the writer's time (and 25 % more bytes)
    strings = [f.name for f in schema
               if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    level = {"compression_level": 1} if compression == "zstd" else {}
    return {"compression": compression, "use_dictionary": strings, **level}


class _Table:
    """One table: rows buffered as the caller's columns; each flush goes to the table's
    final file, and the flushes since the last checkpoint to one closed Parquet part file of
    the table's directory (the journal a killed run leaves); :meth:`finish` completes the final
    file and puts it in the directory's place.

    Both are written by the recorder's single I/O thread (pyarrow releases the GIL while it
    encodes and writes), in submission order, so the simulation keeps stepping meanwhile. The
    final file is encoded once, as it always was (zstd); the journal with cheap snappy, since
    it is deleted when the run completes. A table is filled either by :meth:`append` (rows add
    up) or by :meth:`replace` (each call is the whole table so far: the aggregates, the nodes).
    """

    def __init__(self, run_dir: Path, name: str, schema: pa.Schema, flush_rows: int,
                 durable: bool) -> None:
        self.run_dir = run_dir
        self.name = name
        self.path = table_path(run_dir, name)
        self.tmp = run_dir / f".{name}.parquet.tmp"  # the final file while it is written
        self.schema = schema
        self.flush_rows = flush_rows
        self.durable = durable
        self.chunks: list[dict[str, Any]] = []
        self.buffered = 0
        self.rows = 0
        self.mode: str | None = None  # "append" or "replace", fixed by the first call
        self.parts: list[Path] = []  # submitted part files, in order
        self.content: pa.Table | None = None  # a replaced table: its last flushed content
        # flushed rows not in a part file yet (they wait for the next checkpoint), and
        # whether a replaced table's content is newer than its part
        self.unjournaled: list[pa.Table] = []
        self.unjournaled_rows = 0
        self.dirty = False
        # I/O thread: the final file's writer and the rows of its next row group
        self.writer: pq.ParquetWriter | None = None
        self.group: list[pa.Table] = []
        self.group_rows = 0

    def _set_mode(self, mode: str) -> None:
        if self.mode is None:
            self.mode = mode
        elif self.mode != mode:
            raise RecordingError(f"{self.path.name}: a table is either appended to or "
                                 f"replaced, not both (it was {self.mode}ed)")

    def append(self, cols: Mapping[str, Any]) -> bool:
        """Buffer rows; True when ``flush_rows`` are buffered (the caller flushes)."""
        self._set_mode("append")
        n = len(next(iter(cols.values())))
        if n == 0:
            return False
        self.chunks.append(dict(cols))
        self.buffered += n
        return self.buffered >= self.flush_rows

    def replace(self, cols: Mapping[str, Any]) -> None:
        """Make ``cols`` the whole table (written at the next flush)."""
        self._set_mode("replace")
        self.chunks = [dict(cols)]
        self.buffered = len(next(iter(cols.values())))

    def take(self) -> pa.Table | None:
        """The buffered rows as one arrow table (None if nothing is buffered); the buffer is
        emptied. A replaced table with nothing new gives None."""
        if not self.chunks:
            return None
        arrays = []
        for f in self.schema:
            parts = [c[f.name] if isinstance(c[f.name], (list, Categorical, Binary)) else
                     np.asarray(c[f.name]) for c in self.chunks]
            if any(isinstance(p, Binary) for p in parts):
                arrays.append(pa.concat_arrays([
                    p.to_arrow() if isinstance(p, Binary)
                    else pa.array(_objects(p), type=pa.binary()) for p in parts]).cast(f.type))
                continue
            cat_parts = [p for p in parts if isinstance(p, Categorical)]
            if len(cat_parts) == len(parts):
                cats = cat_parts[0].categories
                if any(p.categories != cats for p in cat_parts):
                    raise RecordingError(f"{self.path.name}: column {f.name} changed categories")
                codes = np.concatenate([p.codes for p in cat_parts]).astype(np.int32)
                arrays.append(pa.DictionaryArray.from_arrays(
                    pa.array(codes), pa.array(cats, type=pa.string())).cast(f.type))
                continue
            values: Any = (np.concatenate(parts) if all(isinstance(p, np.ndarray) for p in parts)
                           else _objects([v for p in parts for v in p]))
            if pa.types.is_dictionary(f.type):
                arr = pa.array(values, type=pa.string()).dictionary_encode()
                arr = arr.cast(f.type)
            else:
                arr = pa.array(values, type=f.type)
            arrays.append(arr)
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self.chunks = []
        self.buffered = 0
        if self.mode == "replace":
            self.rows = table.num_rows
            self.content = table
            self.dirty = True
        else:
            self.rows += table.num_rows
            self.unjournaled.append(table)
            self.unjournaled_rows += table.num_rows
        return table

    def take_journal(self) -> pa.Table | None:
        """The flushed rows that are in no part file yet (a replaced table: its content, if
        newer than its part), as one table; None if there are none."""
        if self.mode == "replace":
            if not self.dirty:
                return None
            self.dirty = False
            return self.content
        if not self.unjournaled:
            return None
        table = pa.concat_tables(self.unjournaled)
        self.unjournaled, self.unjournaled_rows = [], 0
        return table

    def next_part(self) -> Path:
        """The path of the next part: a new one when appending, the one part when replacing."""
        path = self.path / part_name(0 if self.mode == "replace" else len(self.parts))
        if not self.parts or self.mode != "replace":
            self.parts.append(path)
        return path

    def write_part(self, table: pa.Table, path: Path) -> None:
        """(I/O thread) Write ``table`` as the closed part file ``path``: under a hidden name,
        synced, then renamed, so the table's directory only ever holds complete files."""
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(exist_ok=True)
            # no statistics: a part is read whole, only after a kill (a fifth less CPU)
            pq.write_table(table, str(tmp), write_statistics=False,
                           **_parquet_options(self.schema, "snappy"))
            if self.durable:
                _fsync(tmp)
            os.replace(tmp, path)
        except (OSError, pa.ArrowException) as exc:
            raise RecordingError(f"cannot write {path}: {exc}") from exc

    def to_final(self, table: pa.Table) -> None:
        """(I/O thread) Rows for the final file: consecutive small flushes (checkpoints of a
        table with few rows) make one row group of up to ``flush_rows`` rows."""
        try:
            self._to_final(table)
        except (OSError, pa.ArrowException) as exc:
            raise RecordingError(f"cannot write {self.tmp}: {exc}") from exc

    def _to_final(self, table: pa.Table) -> None:
        if self.group and self.group_rows + table.num_rows > self.flush_rows:
            self._write_group()
        self.group.append(table)
        self.group_rows += table.num_rows

    def _write_group(self) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.tmp), self.schema,
                                           **_parquet_options(self.schema, "zstd"))
        # a table with no rows: one empty row group, as it always had
        self.writer.write_table(pa.concat_tables(self.group) if self.group
                                else self.schema.empty_table())
        self.group, self.group_rows = [], 0

    def finish(self, last: pa.Table | None) -> None:
        """(Once every part is written) Complete the final file with ``last`` (the rows not
        flushed yet), sync it and put it in the place of the table's directory of parts."""
        aside = parts_aside(self.run_dir, self.name)
        try:
            if self.mode == "replace":
                self.group = [self.content] if self.content is not None else []
                self.tmp.unlink(missing_ok=True)
            elif last is not None:
                self._to_final(last)
            if self.group or self.writer is None:
                self._write_group()
            if self.writer is not None:
                self.writer.close()
            if self.durable:
                _fsync(self.tmp)
            if self.path.is_dir():  # set aside, so the path is never missing longer than this
                os.replace(self.path, aside)
            os.replace(self.tmp, self.path)
            if aside.exists():
                shutil.rmtree(aside)
        except (OSError, pa.ArrowException) as exc:
            raise RecordingError(f"cannot finish {self.path}: {exc}") from exc


def _holds_a_run(folder: Path) -> bool:
    """Whether ``folder`` holds a run written by this recorder (its ``run.json``)."""
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(run, dict) and "scenario_id" in run


def _lock(folder: Path) -> int | None:
    """Take the writer's lock of ``folder`` (:func:`~v2x.recorder._layout.writer_alive`);
    returns its file descriptor (None where ``fcntl`` does not exist).

    Raises:
        RecordingError: another live process writes a run into ``folder``.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise RecordingError(f"{folder}: another process is writing a run into this folder; "
                             "wait for it or choose another one") from exc
    return fd


class Recorder:
    """Writes a run directory (see ``docs/recording.md``), so that a kill loses little.

    A table's buffered rows go to its final file every ``flush_rows`` rows; at every
    :meth:`checkpoint` the rows flushed since the one before become one closed Parquet part
    file of the table's directory (also whenever ``4 * flush_rows`` flushed rows wait for
    one, so memory stays bounded); :meth:`close` puts each table's final file in the place of
    its parts. Until then ``<table>.parquet`` is a directory of parts, which
    ``pandas.read_parquet`` reads as one table, so a run killed outright (SIGKILL, a power
    loss) keeps every row before its last checkpoint: it loses at most ``checkpoint_ns`` of
    simulated time. The recorder holds a lock on the folder while it writes
    (``.v2x-writer.lock``), which tells a live run from a dead one.

    Args:
        out_dir: the run directory; created if missing. When it holds an earlier run (a
            ``run.json`` with a ``scenario_id``), that run's outputs (:data:`RUN_FILES` and the
            tables) are removed first, so a folder never mixes two runs; other files, and
            folders that hold no run, are left alone (a table file of ours is replaced).
        flush_rows: rows buffered per table before they go to its final file (a row group
            of it).
        checkpoint_ns: simulated time between checkpoints [ns]
            (:meth:`checkpoint_due`; default 30 s).
        durable: sync part files, final files, their folders and ``run.json`` to disk
            (``fsync``) before they count, so a power loss keeps them too; off for scratch
            recordings.

    Raises:
        RecordingError: the directory cannot be created or written, or another live process
            writes a run into it.
    """

    def __init__(self, out_dir: str | Path, *, flush_rows: int = 50_000,
                 checkpoint_ns: int = 30 * NS_PER_S, durable: bool = True) -> None:
        if checkpoint_ns <= 0:
            raise ValueError(f"checkpoint_ns must be > 0, got {checkpoint_ns}")
        self.out_dir = Path(out_dir)
        self.checkpoint_ns = int(checkpoint_ns)
        self.durable = durable
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _lock(self.out_dir)
        except OSError as exc:
            raise RecordingError(f"cannot create run directory {self.out_dir}: {exc}") from exc
        try:
            self._clear_earlier_run()
        except BaseException:
            self._unlock()
            raise
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="v2x-recorder")
        self._pending: list[Future[None]] = []
        self._tables = {name: _Table(self.out_dir, name, schema, flush_rows, durable)
                        for name, schema in SCHEMAS.items()}
        self._run: dict[str, Any] | None = None  # run.json as last written
        self._next_checkpoint_ns = self.checkpoint_ns
        #: simulated time up to which every table is on disk (last :meth:`checkpoint`) [ns]
        self.recorded_ns = 0
        self._closed = False

    def _clear_earlier_run(self) -> None:
        out = self.out_dir
        ours = _holds_a_run(out)
        try:
            if ours:
                for name in RUN_FILES:
                    (out / name).unlink(missing_ok=True)
            for t in SCHEMAS:
                path = table_path(out, t)
                if path.is_dir():
                    if not ours:
                        raise RecordingError(f"{path}: a folder that is not part of a run of "
                                             "this recorder; choose another run directory")
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
                aside = parts_aside(out, t)
                if aside.is_dir():
                    shutil.rmtree(aside)
                (out / f".{t}.parquet.tmp").unlink(missing_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot clear the earlier run in {out}: {exc}") from exc

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            (self.out_dir / LOCK_NAME).unlink(missing_ok=True)
            os.close(fd)  # drops the lock

    def _submit(self, fn: Any, *args: Any) -> None:
        """Queue I/O work; re-raise the first error of the work done so far."""
        done = [f for f in self._pending if f.done()]
        self._pending = [f for f in self._pending if not f.done()]
        for f in done:
            f.result()
        self._pending.append(self._io.submit(fn, *args))

    def _flush(self, t: _Table) -> None:
        """The buffered rows to the final file (a replaced table's wait for the end)."""
        table = t.take()
        if table is not None and t.mode == "append":
            self._submit(t.to_final, table)
            if t.unjournaled_rows >= 4 * t.flush_rows:  # memory stays bounded
                self._journal(t)

    def _journal(self, t: _Table) -> None:
        """The flushed rows that are in no part file yet, as one more part file."""
        table = t.take_journal()
        if table is not None:
            self._submit(t.write_part, table, t.next_part())

    def _table(self, table: str, cols: Mapping[str, Any]) -> _Table:
        if self._closed:
            raise RecordingError(f"{self.out_dir}: the recording is closed")
        t = self._tables.get(table)
        if t is None:
            raise RecordingError(f"unknown table {table!r}; the tables are {sorted(SCHEMAS)}")
        if len(cols) != len(t.schema.names) or not all(k in cols for k in t.schema.names):
            raise RecordingError(f"{table}: expected columns {t.schema.names}, "
                                 f"got {sorted(cols)}")
        return t

    def append(self, table: str, **cols: Any) -> None:
        """Append columns (equal-length arrays or lists) to a table.

        Raises:
            RecordingError: a column is missing or extra, the table was :meth:`replace`-d,
                or the file cannot be written.
        """
        t = self._table(table, cols)
        try:
            if t.append(cols):
                self._flush(t)
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"cannot write {t.path}: {exc}") from exc

    def replace(self, table: str, **cols: Any) -> None:
        """Make ``cols`` the whole table so far (for tables that are recomputed rather than
        grown: the online aggregates, the nodes). Written at the next :meth:`checkpoint`, and
        at :meth:`close`.

        Raises:
            RecordingError: a column is missing or extra, or the table was appended to.
        """
        self._table(table, cols).replace(cols)

    def rows(self, table: str) -> int:
        """Rows written or buffered so far in a table."""
        t = self._tables[table]
        if t.mode == "replace":  # the content to be written, else the content written
            return t.buffered if t.chunks else t.rows
        return t.rows + t.buffered

    def checkpoint_due(self, t_ns: int) -> bool:
        """Whether simulated time ``t_ns`` [ns] has reached the next checkpoint (one every
        ``checkpoint_ns``)."""
        return not self._closed and t_ns >= self._next_checkpoint_ns

    def checkpoint(self, t_ns: int) -> None:
        """Put every row on disk, and say so in ``run.json``: call it when every row with
        ``t_ns`` below ``t_ns`` [ns] has been appended (and the replaced tables are up to
        date). Every table's rows since the last checkpoint become one part file (a replaced
        table's content its one part); then (in order, on the I/O thread) the folders are
        synced and ``run.json``, as last written with :meth:`write_json`, is written again
        with ``recorded_ns = t_ns``.

        Raises:
            RecordingError: a file cannot be written (this one or an earlier one).
        """
        if self._closed:
            raise RecordingError(f"{self.out_dir}: the recording is closed")
        try:
            for t in self._tables.values():
                self._flush(t)
                self._journal(t)
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"cannot write the recording in {self.out_dir}: {exc}") \
                from exc
        run = None if self._run is None else {**self._run, "recorded_ns": int(t_ns)}
        folders = [t.path for t in self._tables.values() if t.parts]
        self._submit(self._commit, folders, run)
        self.recorded_ns = int(t_ns)
        self._next_checkpoint_ns = (int(t_ns) // self.checkpoint_ns + 1) * self.checkpoint_ns

    def _commit(self, folders: list[Path], run: dict[str, Any] | None) -> None:
        """(I/O thread) Sync the table folders, then write ``run.json``."""
        try:
            if self.durable:
                for folder in folders:
                    _fsync(folder)
        except OSError as exc:
            raise RecordingError(f"cannot write the recording in {self.out_dir}: {exc}") \
                from exc
        if run is not None:
            self._write_json_now("run.json", run)

    def write_json(self, name: str, data: Mapping[str, Any]) -> Path:
        """Write ``name`` (e.g. ``run.json``) into the run directory, atomically (a reader
        sees the old or the new content, never a part). While the recording is open this
        happens on the I/O thread, after the part files submitted before it.

        Raises:
            RecordingError: it cannot be written.
        """
        data = dict(data)
        if name == "run.json":
            self._run = data
        if self._closed:
            return self._write_json_now(name, data)
        self._submit(self._write_json_now, name, data)
        self._pending[-1].result()
        return self.out_dir / name

    def _write_json_now(self, name: str, data: Mapping[str, Any]) -> Path:
        path = self.out_dir / name
        tmp = path.with_name(f".{name}.tmp")
        try:
            text = json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable)
            tmp.write_text(text, encoding="utf-8")
            if self.durable:
                _fsync(tmp)
            os.replace(tmp, path)
            if self.durable:
                _fsync(self.out_dir)
        except OSError as exc:
            raise RecordingError(f"cannot write {path}: {exc}") from exc
        return path

    def close(self) -> None:
        """Flush every table and complete its one file, which replaces its directory of parts
        (tables with no rows are written empty); release the folder. The tables are completed
        on a few threads at once.

        Raises:
            RecordingError: a table cannot be written; the message names it.
        """
        if self._closed:
            return
        self._closed = True
        try:
            try:
                last = {name: t.take() for name, t in self._tables.items()}
            except (pa.ArrowException, OSError) as exc:
                raise RecordingError(f"cannot finish the recording in {self.out_dir}: "
                                     f"{exc}") from exc
            pending, self._pending = self._pending, []
            for f in pending:
                f.result()  # re-raises a write error of the I/O thread
            self._io.shutdown(wait=True)
            workers = max(1, min(4, os.cpu_count() or 1))
            with ThreadPoolExecutor(max_workers=workers,
                                    thread_name_prefix="v2x-recorder-finish") as pool:
                done = [pool.submit(t.finish, last[name]) for name, t in self._tables.items()]
                for f in done:
                    f.result()
            if self.durable:
                _fsync(self.out_dir)
        except OSError as exc:
            raise RecordingError(f"cannot finish the recording in {self.out_dir}: {exc}") \
                from exc
        finally:
            self._io.shutdown(wait=True)
            self._unlock()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
