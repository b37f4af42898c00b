"""Where a table of a run directory lives while the run is written, and after it
(``docs/recording.md``, "Crash safety").

Every table has one path, ``<run_dir>/<table>.parquet``, and ``pandas.read_parquet`` reads it
whatever state the run is in:

* while the run is written (and after a kill or a power loss) it is a **directory of closed
  Parquet part files**, ``part-00000.parquet``, ``part-00001.parquet`` ... in the order they
  were written. A part is written under a hidden name (``.part-00003.parquet.tmp``), synced to
  disk and then renamed, so the directory only ever holds complete files (pyarrow's datasets,
  which ``pandas.read_parquet`` uses for a directory, skip names that start with ``.``);
* when the recorder closes it is **one Parquet file** with the same rows, in order (written
  beside the parts as ``.<table>.parquet.tmp`` all along; a killed run leaves that one
  without its footer: ignore it).

Between the two, a table is briefly ``.<table>.parquet.parts`` (the directory, renamed aside
while the final file takes its name): :func:`table_files` reads that too.

Whether a process still writes a run: the recorder holds an exclusive ``flock`` on
``.v2x-writer.lock`` from start to close; the operating system drops it when the process dies,
however it dies (:func:`writer_alive`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LOCK_NAME", "PART_GLOB", "part_name", "parts_aside", "table_files", "table_path",
           "writer_alive"]

#: the lock file a recorder holds while it writes a run directory
LOCK_NAME = ".v2x-writer.lock"
#: the closed part files of a table directory
PART_GLOB = "part-*.parquet"


def table_path(run_dir: Path, table: str) -> Path:
    """``<run_dir>/<table>.parquet``: the one path of a table (a file or a directory)."""
    return run_dir / f"{table}.parquet"


def parts_aside(run_dir: Path, table: str) -> Path:
    """Where a table's directory of parts goes while its final file takes its name."""
    return run_dir / f".{table}.parquet.parts"


def part_name(index: int) -> str:
    """The file name of a table's ``index``-th part (sorted by name = written order)."""
    return f"part-{index:05d}.parquet"


def table_files(run_dir: Path, table: str) -> list[Path] | None:
    """The Parquet files that hold ``table`` of ``run_dir``, in row order.

    Returns ``[<table>.parquet]`` for a finished table, its closed parts (possibly none) for a
    table still (or, after a kill, forever) being written, and ``None`` when the run never
    wrote the table.
    """
    path = table_path(run_dir, table)
    if path.is_file():
        return [path]
    for folder in (path, parts_aside(run_dir, table)):
        if folder.is_dir():
            return sorted(folder.glob(PART_GLOB))
    return None


def writer_alive(run_dir: Path) -> bool:
    """Whether a live process holds the writer's lock of ``run_dir`` (a run being written).

    False when there is no lock file, when the lock is free (the writer finished or died:
    SIGKILL, a crash, a power loss), and where ``fcntl`` does not exist (Windows).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(run_dir / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock we may have taken
    return False
