"""Reading one run directory (the recording) into pandas tables.

The schema is ``docs/recording.md``; :data:`TABLES` and :data:`RUN_KEYS` below are its
machine-readable copy. Only the columns the schema names are loaded (extra columns are ignored);
a missing file, key or column, an unreadable file or a column of the wrong kind raises
:class:`~v2x.errors.RecordingError` naming the file and the column.

A run that did not complete (``run.json`` ``status`` ``running``, ``failed`` or
``interrupted``; ``running`` with no live writer is a run killed outright) is read as far as it
goes, and says so: :attr:`Recording.partial` (:class:`Partial`). Its tables may be directories
of part files (``docs/recording.md``, "Crash safety"); the rows read are those before its last
checkpoint (``run.json`` ``recorded_ns``), so every table covers the same simulated time; a
table it never wrote is empty; ``counts`` come from its ``nodes`` table and ``recorded_ns``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from v2x.errors import RecordingError
from v2x.recorder._layout import table_files, table_path, writer_alive
from v2x.recorder._schema import SCHEMAS

__all__ = ["PARTIAL_RUN_KEYS", "RUN_KEYS", "TABLES", "Partial", "Recording", "load_recording"]

# column kinds: "int" integer, "float" floating (integers accepted), "str" string or dictionary of
# strings, "bool" boolean
_ARROW_TYPE = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}

def _kind_of(typ: pa.DataType) -> str:
    """The kind of an arrow column type ("" for binary: not read here)."""
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_floating(typ):
        return "float"
    if pa.types.is_string(typ):
        return "str"
    if pa.types.is_boolean(typ):
        return "bool"
    return ""


#: columns the analysis does not read and a recording made before them lacks (the bus's wall
#: clock at delivery, written since real-time runs): not required
_NOT_READ = {("bus", "wall_ns")}

#: file name -> {column: kind}, from the writer's schemas (binary columns, the frames, are
#: read where they are needed: ``v2x check``)
TABLES: dict[str, dict[str, str]] = {
    f"{name}.parquet": {f.name: _kind_of(f.type) for f in schema
                        if _kind_of(f.type) and (name, f.name) not in _NOT_READ}
    for name, schema in SCHEMAS.items()
}

#: keys ``run.json`` must have; dotted names are nested keys
RUN_KEYS: tuple[str, ...] = (
    "scenario_id", "title", "seed", "start", "step_ns", "duration_ns", "sumo_version", "bus",
    "channel", "counts", "counts.vehicles", "counts.equipped", "counts.rsus", "counts.steps",
    "tx_counts", "criteria", "reception_sample", "reception_sample.fraction",
    "reception_sample.receivers", "prr_bin_m", "prr_max_m", "latency_bin_ns", "wall_s",
)

#: keys the ``run.json`` of a partial run must have (it was written before the run's counts
#: and wall times were known)
PARTIAL_RUN_KEYS: tuple[str, ...] = tuple(
    k for k in RUN_KEYS if k.split(".")[0] not in ("counts", "tx_counts", "wall_s"))

#: ``run.json`` statuses of runs that did not complete
_PARTIAL_STATUSES = ("running", "failed", "interrupted")
#: what a partial run's status means, for people
_WHAT = {"running": "the run stopped without finishing (killed, crashed or lost power)",
         "failed": "the run failed", "interrupted": "the run was interrupted"}


@dataclass(frozen=True)
class Partial:
    """What the recording of a run that did not complete holds (:attr:`Recording.partial`).

    Attributes:
        status: ``run.json`` ``status``: ``"running"`` (still being written, or killed
            outright: see ``writer_alive``), ``"failed"`` or ``"interrupted"``.
        recorded_ns: every table holds every row with ``t_ns`` below it [ns] (the run's last
            checkpoint, ``run.json`` ``recorded_ns``; 0 before the first). The analysis reads
            only those rows; the files may hold a few seconds more.
        duration_ns: the planned length of the run [ns], or None if ``run.json`` lacks it.
        writer_alive: a live process still writes the run (status ``"running"`` only).
        error: ``run.json`` ``error`` (``"SumoError: ..."``), or ``""``.
    """

    status: str
    recorded_ns: int
    duration_ns: int | None
    writer_alive: bool = False
    error: str = ""

    @property
    def reason(self) -> str:
        """One line for people: what happened and how far the recording goes."""
        what = ("the run is still being written" if self.writer_alive
                else _WHAT.get(self.status, f"the run did not complete ({self.status})"))
        if self.error:
            what += f" ({self.error})"
        span = f"{self.recorded_ns / 1e9:g} s"
        if self.duration_ns:
            span += f" of {self.duration_ns / 1e9:g} s"
        return f"partial recording: {what}; recorded up to {span} of simulated time"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, and ``reason``."""
        return {"status": self.status, "recorded_ns": self.recorded_ns,
                "duration_ns": self.duration_ns, "writer_alive": self.writer_alive,
                "error": self.error, "reason": self.reason}


def partial_of(run_dir: Path, run: Mapping[str, Any]) -> Partial | None:
    """The :class:`Partial` of a run directory whose ``run.json`` is ``run``; None when the
    run completed (or predates the ``status`` key).

    Raises:
        RecordingError: ``status`` is not a known one, or ``recorded_ns`` is not an integer.
    """
    status = run.get("status", "complete")  # recordings before the status key are complete
    if status == "complete":
        return None
    path = run_dir / "run.json"
    if status not in _PARTIAL_STATUSES:
        raise RecordingError(f"{path}: unknown status {status!r} (known: complete, "
                             f"{', '.join(_PARTIAL_STATUSES)})")
    recorded = run.get("recorded_ns", 0)
    if isinstance(recorded, bool) or not isinstance(recorded, int) or recorded < 0:
        raise RecordingError(f"{path}: key 'recorded_ns' must be an integer >= 0 [ns], got "
                             f"{recorded!r}")
    duration = run.get("duration_ns")
    return Partial(status=str(status), recorded_ns=recorded,
                   duration_ns=duration if isinstance(duration, int) and duration > 0 else None,
                   writer_alive=status == "running" and writer_alive(run_dir),
                   error=str(run.get("error") or ""))


class Recording:
    """One run directory, loaded. Tables hold exactly the schema's columns.

    ``run`` is ``run.json`` as a dict; each table is a :class:`pandas.DataFrame` with the columns
    of ``docs/recording.md`` (``lane`` comes back categorical, as it is dictionary-encoded).
    :func:`load_recording` checks every file and column at once; a table's rows are read on
    first use of its attribute (an evaluation that needs no receptions does not read them).
    A Recording pickles (tables not read yet are read where they are first used) and can be
    built from DataFrames: ``Recording(run_dir=..., run=..., nodes=df, ...)``. ``partial`` is
    None for a complete run, else what the partial recording holds (:class:`Partial`).

    Raises (on first use of a table): RecordingError when its file has become unreadable or
    has changed since it was checked.
    """

    nodes: pd.DataFrame
    trajectories: pd.DataFrame
    transmissions: pd.DataFrame
    receptions: pd.DataFrame
    prr_bins: pd.DataFrame
    latency_hist: pd.DataFrame
    ipg_hist: pd.DataFrame
    bus: pd.DataFrame
    warnings: pd.DataFrame
    events: pd.DataFrame

    def __init__(self, run_dir: Path, run: dict[str, Any],
                 tables: Mapping[str, _TableReader | pd.DataFrame] | None = None,
                 partial: Partial | None = None, **frames: pd.DataFrame) -> None:
        self.run_dir = Path(run_dir)
        self.run = run
        self.partial = partial
        self._tables: dict[str, _TableReader | pd.DataFrame] = {**(tables or {}), **frames}
        missing = [n.removesuffix(".parquet") for n in TABLES
                   if n.removesuffix(".parquet") not in self._tables]
        if missing:
            raise TypeError(f"Recording: tables missing: {', '.join(missing)}")

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("_tables", {})
        if name not in tables:
            raise AttributeError(f"'Recording' object has no attribute {name!r}")
        got = tables[name]
        if isinstance(got, _TableReader):
            got = tables[name] = got.read()
        return got

    def column(self, table: str, name: str) -> pd.Series:
        """One column of a table: from the table when it has been read, else read alone from
        its file (the table is not kept): counting the ``transmissions`` by ``msg_type`` reads
        one of its 14 columns.

        Raises:
            AttributeError: no such table; KeyError: no such column of it;
            RecordingError: as reading the table.
        """
        tables = self.__dict__.get("_tables", {})
        if table not in tables:
            raise AttributeError(f"'Recording' object has no attribute {table!r}")
        got = tables[table]
        if isinstance(got, _TableReader):
            if name not in got.columns:
                raise KeyError(name)
            return got.read(columns=[name])[name]
        return got[name]

    @property
    def scenario_id(self) -> str:
        """``run.json`` ``scenario_id``."""
        return str(self.run["scenario_id"])

    @property
    def step_ns(self) -> int:
        """Simulation step [ns]."""
        return int(self.run["step_ns"])


def _kind_ok(kind: str, typ: pa.DataType) -> bool:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    t = pa.types
    if kind == "int":
        return bool(t.is_integer(typ))
    if kind == "float":
        return bool(t.is_floating(typ) or t.is_integer(typ))
    if kind == "str":
        return bool(t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ))
    return bool(t.is_boolean(typ))


def _read_run_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RecordingError(f"{path}: file missing")
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read JSON: {exc}") from exc
    if not isinstance(run, dict):
        raise RecordingError(f"{path}: expected a JSON object, got {type(run).__name__}")
    complete = run.get("status", "complete") == "complete"
    for key in RUN_KEYS if complete else PARTIAL_RUN_KEYS:
        node: Any = run
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                why = "" if complete else (f" (the run did not complete: status "
                                           f"{run.get('status')!r})")
                raise RecordingError(f"{path}: key '{key}' missing{why}")
            node = node[part]
    if not isinstance(run["criteria"], list):
        raise RecordingError(f"{path}: key 'criteria' must be a list")
    return run


class _TableReader:
    """A checked table whose rows are read on first use (picklable: paths and columns).

    ``files`` are the table's Parquet files (one, or the part files of a partial run);
    ``before_ns`` keeps only the rows with ``t_ns`` below it (partial runs).
    """

    def __init__(self, path: Path, files: list[Path], columns: dict[str, str],
                 before_ns: int | None = None) -> None:
        self.path, self.files, self.columns = path, files, columns
        self.before_ns = before_ns if "t_ns" in columns else None
        stamp = []
        rows = 0
        for f in files:
            try:
                meta = pq.read_metadata(f)
                schema = meta.schema.to_arrow_schema()
                st = f.stat()
            except (OSError, pa.ArrowException) as exc:
                raise RecordingError(f"{f}: not a readable Parquet file: {exc}") from exc
            empty = meta.num_rows == 0
            for col, kind in columns.items():
                if col not in schema.names:
                    raise RecordingError(f"{f}: column '{col}' missing")
                typ = schema.field(col).type
                if pa.types.is_null(typ) and not empty:
                    raise RecordingError(f"{f}: column '{col}' holds only nulls")
                # an empty table may carry any type (pandas writes empty columns as object/float)
                if not (empty or _kind_ok(kind, typ)):
                    raise RecordingError(f"{f}: column '{col}' has type {typ}, expected {kind}")
            rows += meta.num_rows
            # what was checked: the rows read later must be these files'
            stamp.append((st.st_size, st.st_mtime_ns, meta.num_rows))
        self.empty = rows == 0
        self.stamp = stamp

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The table's rows, all its schema columns or only ``columns``."""
        path = self.path
        wanted = {c: self.columns[c] for c in (self.columns if columns is None else columns)}
        # a partial run's rows are cut by t_ns: read it too (and leave it out after)
        read = list(wanted) + (["t_ns"] if self.before_ns is not None and "t_ns" not in wanted
                               else [])
        if self.empty:
            table = pa.table({c: pa.array([], type=_ARROW_TYPE[k]) for c, k in wanted.items()})
        else:
            try:
                stamp = [(st.st_size, st.st_mtime_ns) for st in (f.stat() for f in self.files)]
                source: Any = (str(self.files[0]) if len(self.files) == 1
                               else [str(f) for f in self.files])
                table = pq.read_table(
                    source, columns=read,
                    filters=None if self.before_ns is None else [("t_ns", "<", self.before_ns)])
                table = table.select(list(wanted))
            except (OSError, pa.ArrowException) as exc:
                raise RecordingError(f"{path}: cannot read: {exc}") from exc
            unchanged = stamp == [s[:2] for s in self.stamp] and (
                self.before_ns is not None or table.num_rows == sum(s[2] for s in self.stamp))
            if not unchanged:
                raise RecordingError(f"{path}: changed since the recording was loaded; load it "
                                     "again")
        try:
            return table.to_pandas()
        except (pa.ArrowException, ValueError) as exc:
            raise RecordingError(f"{path}: cannot convert to pandas: {exc}") from exc


def _partial_counts(nodes: pd.DataFrame, vehicles: pd.Series, partial: Partial,
                    step_ns: int) -> dict[str, int]:
    """``run.json`` ``counts`` of a partial run up to ``partial.recorded_ns``: the vehicles are
    those with a trajectory row before it (``vehicles``: the trajectories' ``vehicle`` column as
    read), whatever the ``nodes`` table (rewritten at each checkpoint) already lists."""
    kind = nodes["kind"].astype(str)
    seen = nodes["node"].isin(pd.unique(vehicles)) & (kind != "rsu")
    return {"vehicles": int(seen.sum()), "equipped": int((seen & (kind == "obu")).sum()),
            "rsus": int((kind == "rsu").sum()), "steps": partial.recorded_ns // max(step_ns, 1)}


def load_recording(run_dir: str | Path) -> Recording:
    """Load and check one run directory (``docs/recording.md``), complete or partial.

    A partial recording (a run that did not complete) loads as far as it goes, with
    :attr:`Recording.partial` saying why and how far (see the module docstring).

    Raises:
        RecordingError: the directory, a file, a ``run.json`` key or a column is missing; a file
            is unreadable; or a column has the wrong kind (message names file and column).
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise RecordingError(f"{root}: run directory missing")
    run = _read_run_json(root / "run.json")
    partial = partial_of(root, run)
    before = None if partial is None else partial.recorded_ns
    readers = {}
    for name, cols in TABLES.items():
        table = name.removesuffix(".parquet")
        files = table_files(root, table)
        if files is None and partial is None:
            raise RecordingError(f"{table_path(root, table)}: file missing")
        readers[table] = _TableReader(table_path(root, table), files or [], cols, before)
    tables: dict[str, _TableReader | pd.DataFrame] = dict(readers)
    if partial is not None:
        tables["nodes"] = nodes = readers["nodes"].read()
        tables["trajectories"] = traj = readers["trajectories"].read()
        run = {**run, "counts": _partial_counts(nodes, traj["vehicle"], partial,
                                                int(run["step_ns"]))}
    return Recording(root, run, tables, partial=partial)
