"""The KPI names the analysis gives a run, learnt once per settings and analysis code.

:func:`v2x.cli.check_criteria` needs them before a run starts. They come from the analysis
itself (one definition of every KPI), evaluated on an empty recording with the run's
``run.json`` settings; that costs ~0.2-0.3 s of pandas work, so the names are kept in the
user cache folder (:func:`v2x._cache.cache_dir` ``/kpi-names``), one file per
(``run.json`` settings, analysis and recorder code) and in memory for the process.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import analysis
import v2x
from v2x._cache import cache_dir
from v2x.recorder import Recorder

__all__ = ["kpi_names"]

#: ``run.json`` keys that do not change the KPI names (the wall-clock time it was written)
_VOLATILE_KEYS = ("created",)

_memo: dict[str, frozenset[str]] = {}


def kpi_names(record: Mapping[str, Any]) -> frozenset[str]:
    """Every KPI name :func:`analysis.evaluate` gives a complete run whose ``run.json`` is
    ``record`` (its ``criteria`` are ignored). Cached (module docstring); a cache folder that
    cannot be read or written only costs the evaluation."""
    settings = {k: v for k, v in record.items() if k not in _VOLATILE_KEYS}
    settings["criteria"] = []
    key = _key(settings)
    names = _memo.get(key)
    if names is None:
        file = cache_dir() / "kpi-names" / f"{key}.json"
        names = _read(file)
        if names is None:
            names = _evaluate_empty(settings)
            _write(file, names)
        _memo[key] = names
    return names


def _evaluate_empty(settings: Mapping[str, Any]) -> frozenset[str]:
    """The KPI names of the recording of a complete run with ``settings`` and no rows."""
    with tempfile.TemporaryDirectory(prefix="v2x-kpis-") as tmp:
        with Recorder(tmp, durable=False) as rec:
            rec.write_json("run.json", dict(settings))
        return frozenset(analysis.evaluate(tmp).kpis)


def _key(settings: Mapping[str, Any]) -> str:
    """sha256 of the settings and of the code that decides the names (v2x's version and the
    size and modification time of every source file of :mod:`analysis` and :mod:`v2x`)."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(str(v2x.__version__).encode())
    for root in (Path(analysis.__file__).parent, Path(v2x.__file__).parent):
        for path in sorted(root.rglob("*.py")):
            st = path.stat()
            h.update(f"{path.relative_to(root.parent)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _read(file: Path) -> frozenset[str] | None:
    try:
        names = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return frozenset(names)


def _write(file: Path, names: frozenset[str]) -> None:
    """Write atomically (a concurrent reader sees the old file or the whole new one)."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(sorted(names), f)
        os.replace(tmp, file)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
