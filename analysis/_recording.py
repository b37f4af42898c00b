"""Reading one run directory (the recording) into pandas tables.

The schema is ``docs/recording.md``; :data:`TABLES` and :data:`RUN_KEYS` below are its
machine-readable copy. Only the columns the schema names are loaded (extra columns are ignored);
a missing file, key or column, an unreadable file or a column of the wrong kind raises
:class:`~v2x.errors.RecordingError` naming the file and the column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from v2x.errors import RecordingError
from v2x.recorder._schema import SCHEMAS

__all__ = ["RUN_KEYS", "TABLES", "Recording", "load_recording"]

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


#: file name -> {column: kind}, from the writer's schemas (binary columns, the frames, are
#: read where they are needed: ``v2x check``)
TABLES: dict[str, dict[str, str]] = {
    f"{name}.parquet": {f.name: _kind_of(f.type) for f in schema if _kind_of(f.type)}
    for name, schema in SCHEMAS.items()
}

#: keys ``run.json`` must have; dotted names are nested keys
RUN_KEYS: tuple[str, ...] = (
    "scenario_id", "title", "seed", "start", "step_ns", "duration_ns", "sumo_version", "bus",
    "channel", "counts", "counts.vehicles", "counts.equipped", "counts.rsus", "counts.steps",
    "tx_counts", "criteria", "reception_sample", "reception_sample.fraction",
    "reception_sample.receivers", "prr_bin_m", "prr_max_m", "latency_bin_ns", "wall_s",
)


class Recording:
    """One run directory, loaded. Tables hold exactly the schema's columns.

    ``run`` is ``run.json`` as a dict; each table is a :class:`pandas.DataFrame` with the columns
    of ``docs/recording.md`` (``lane`` comes back categorical, as it is dictionary-encoded).
    :func:`load_recording` checks every file and column at once; a table's rows are read on
    first use of its attribute (an evaluation that needs no receptions does not read them).
    A Recording pickles (tables not read yet are read where they are first used) and can be
    built from DataFrames: ``Recording(run_dir=..., run=..., nodes=df, ...)``.

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
                 **frames: pd.DataFrame) -> None:
        self.run_dir = Path(run_dir)
        self.run = run
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
    status = run.get("status", "complete")  # recordings before the status key are complete
    if status != "complete":
        why = f": {run['error']}" if run.get("error") else ""
        raise RecordingError(f"{path}: the run did not complete (status {status!r}{why}); "
                             "there is nothing to evaluate")
    for key in RUN_KEYS:
        node: Any = run
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise RecordingError(f"{path}: key '{key}' missing")
            node = node[part]
    if not isinstance(run["criteria"], list):
        raise RecordingError(f"{path}: key 'criteria' must be a list")
    return run


class _TableReader:
    """A checked table whose rows are read on first use (picklable: a path and columns)."""

    def __init__(self, path: Path, columns: dict[str, str]) -> None:
        self.path, self.columns = path, columns
        if not path.is_file():
            raise RecordingError(f"{path}: file missing")
        try:
            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
            st = path.stat()
        except (OSError, pa.ArrowException) as exc:
            raise RecordingError(f"{path}: not a readable Parquet file: {exc}") from exc
        self.empty = meta.num_rows == 0
        # what was checked: the rows read later must be this file's
        self.stamp = (st.st_size, st.st_mtime_ns, meta.num_rows)
        names = set(schema.names)
        for col, kind in columns.items():
            if col not in names:
                raise RecordingError(f"{path}: column '{col}' missing")
            typ = schema.field(col).type
            if pa.types.is_null(typ) and not self.empty:
                raise RecordingError(f"{path}: column '{col}' holds only nulls")
            # an empty table may carry any type (pandas writes empty columns as object/float)
            if not (self.empty or _kind_ok(kind, typ)):
                raise RecordingError(f"{path}: column '{col}' has type {typ}, expected {kind}")

    def read(self) -> pd.DataFrame:
        path, columns = self.path, self.columns
        try:
            st = path.stat()
            table = pq.read_table(path, columns=list(columns))
        except (OSError, pa.ArrowException) as exc:
            raise RecordingError(f"{path}: cannot read: {exc}") from exc
        if (st.st_size, st.st_mtime_ns, table.num_rows) != self.stamp:
            raise RecordingError(f"{path}: changed since the recording was loaded; load it "
                                 "again")
        if self.empty:
            table = pa.table({c: pa.array([], type=_ARROW_TYPE[k]) for c, k in columns.items()})
        try:
            return table.to_pandas()
        except (pa.ArrowException, ValueError) as exc:
            raise RecordingError(f"{path}: cannot convert to pandas: {exc}") from exc


def load_recording(run_dir: str | Path) -> Recording:
    """Load and check one run directory (``docs/recording.md``).

    Raises:
        RecordingError: the directory, a file, a ``run.json`` key or a column is missing; a file
            is unreadable; or a column has the wrong kind (message names file and column).
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise RecordingError(f"{root}: run directory missing")
    run = _read_run_json(root / "run.json")
    tables: dict[str, _TableReader | pd.DataFrame] = {
        name.removesuffix(".parquet"): _TableReader(root / name, cols)
        for name, cols in TABLES.items()
    }
    return Recording(root, run, tables)
