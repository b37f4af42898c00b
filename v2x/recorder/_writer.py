"""Parquet tables written incrementally, one row group per flush.

The schema of every table is in ``docs/recording.md``; :data:`SCHEMAS` is its source of truth
in code. Columns are appended as numpy arrays per step and flushed when a table has buffered
``flush_rows`` rows, so memory stays bounded on long runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from v2x.errors import RecordingError
from v2x.recorder._schema import SCHEMAS

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


class _Table:
    """One Parquet file. Row groups are encoded and written by the recorder's single I/O
    thread (pyarrow releases the GIL while it compresses and writes), in submission order, so
    the simulation keeps stepping meanwhile."""

    def __init__(self, path: Path, schema: pa.Schema, flush_rows: int,
                 io: ThreadPoolExecutor) -> None:
        self.path = path
        self.schema = schema
        self.flush_rows = flush_rows
        self.chunks: list[dict[str, Any]] = []
        self.buffered = 0
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.io = io
        self.pending: list[Future[None]] = []
        self.flushed_once = False

    def append(self, cols: Mapping[str, Any]) -> None:
        n = len(next(iter(cols.values())))
        if n == 0:
            return
        self.chunks.append(dict(cols))
        self.buffered += n
        if self.buffered >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self.chunks and self.flushed_once:
            return
        self.flushed_once = True
        arrays = []
        for f in self.schema:
            parts = [c[f.name] if isinstance(c[f.name], (list, Categorical, Binary)) else
                     np.asarray(c[f.name]) for c in self.chunks]
            if parts and any(isinstance(p, Binary) for p in parts):
                arrays.append(pa.concat_arrays([
                    p.to_arrow() if isinstance(p, Binary)
                    else pa.array(list(p), type=pa.binary()) for p in parts]).cast(f.type))
                continue
            cat_parts = [p for p in parts if isinstance(p, Categorical)]
            if parts and len(cat_parts) == len(parts):
                cats = cat_parts[0].categories
                if any(p.categories != cats for p in cat_parts):
                    raise RecordingError(f"{self.path.name}: column {f.name} changed categories")
                codes = np.concatenate([p.codes for p in cat_parts]).astype(np.int32)
                arrays.append(pa.DictionaryArray.from_arrays(
                    pa.array(codes), pa.array(cats, type=pa.string())).cast(f.type))
                continue
            if parts:
                values: Any = (np.concatenate(parts) if all(isinstance(p, np.ndarray)
                                                            for p in parts)
                               else [v for p in parts for v in list(p)])
            else:
                values = []
            if pa.types.is_dictionary(f.type):
                arr = pa.array(values, type=pa.string()).dictionary_encode()
                arr = arr.cast(f.type)
            else:
                arr = pa.array(values, type=f.type)
            arrays.append(arr)
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self.pending = [f for f in self.pending if not f.done() or f.result() is not None]
        self.pending.append(self.io.submit(self._write, table))
        self.rows += table.num_rows
        self.chunks = []
        self.buffered = 0

    def _write(self, table: pa.Table) -> None:
        if self.writer is None:
            # dictionary pages only for the string columns: on floats and ids they never pay
            # off, and trying costs a third of the writer's time (and 25 % more bytes)
            strings = [f.name for f in self.schema
                       if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd",
                                           compression_level=1, use_dictionary=strings)
        self.writer.write_table(table)

    def close(self) -> None:
        self.flush()
        for f in self.pending:
            f.result()  # re-raises a write error of the I/O thread
        if self.writer is not None:
            self.writer.close()


def _holds_a_run(folder: Path) -> bool:
    """Whether ``folder`` holds a run written by this recorder (its ``run.json``)."""
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(run, dict) and "scenario_id" in run


class Recorder:
    """Writes a run directory (see ``docs/recording.md``).

    Args:
        out_dir: the run directory; created if missing. When it holds an earlier run (a
            ``run.json`` with a ``scenario_id``), that run's outputs (:data:`RUN_FILES` and the
            tables) are removed first, so a folder never mixes two runs; other files, and
            folders that hold no run, are left alone.
        flush_rows: rows buffered per table before a row group is written.

    Raises:
        RecordingError: the directory cannot be created or written.
    """

    def __init__(self, out_dir: str | Path, *, flush_rows: int = 50_000) -> None:
        self.out_dir = Path(out_dir)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if _holds_a_run(self.out_dir):
                for name in (*RUN_FILES, *(f"{t}.parquet" for t in SCHEMAS)):
                    (self.out_dir / name).unlink(missing_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create run directory {self.out_dir}: {exc}") from exc
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="v2x-recorder")
        self._tables = {name: _Table(self.out_dir / f"{name}.parquet", schema, flush_rows,
                                     self._io)
                        for name, schema in SCHEMAS.items()}
        self._closed = False

    def append(self, table: str, **cols: Any) -> None:
        """Append columns (equal-length arrays or lists) to a table.

        Raises:
            RecordingError: a column is missing or extra, or the file cannot be written.
        """
        t = self._tables[table]
        if len(cols) != len(t.schema.names) or not all(k in cols for k in t.schema.names):
            raise RecordingError(f"{table}: expected columns {t.schema.names}, "
                                 f"got {sorted(cols)}")
        try:
            t.append(cols)
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"cannot write {t.path}: {exc}") from exc

    def rows(self, table: str) -> int:
        """Rows written or buffered so far in a table."""
        t = self._tables[table]
        return t.rows + t.buffered

    def write_json(self, name: str, data: Mapping[str, Any]) -> Path:
        """Write ``name`` (e.g. ``run.json``) into the run directory."""
        path = self.out_dir / name
        try:
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable),
                            encoding="utf-8")
        except OSError as exc:
            raise RecordingError(f"cannot write {path}: {exc}") from exc
        return path

    def close(self) -> None:
        """Flush and close every table; tables with no rows are written empty."""
        if self._closed:
            return
        self._closed = True
        try:
            for t in self._tables.values():
                t.close()
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"cannot finish the recording in {self.out_dir}: {exc}") from exc
        finally:
            self._io.shutdown(wait=True)

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
