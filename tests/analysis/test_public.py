"""The public surface of `analysis` and its one-way dependency on `v2x`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import analysis
from analysis import _kpi, evaluate


def test_all_is_sorted_and_exported() -> None:
    assert analysis.__all__ == sorted(analysis.__all__)
    for name in analysis.__all__:
        assert getattr(analysis, name) is not None
    public = {n for n in dir(analysis) if not n.startswith("_")}
    # nothing public beyond __all__ (submodules are private, _name)
    assert public - set(analysis.__all__) == set()


def test_imports_no_simulation_code() -> None:
    # every public name loaded (the package imports its modules on first use)
    code = ("import sys, analysis; [getattr(analysis, n) for n in analysis.__all__]; "
            "print(' '.join(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('v2x', 'roadside', 'scenarios'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    # the recording's schema and file layout, the message-type names, the event definitions
    # the node numbering and the criterion record are the format's own definitions
    allowed = {"v2x", "v2x.errors", "v2x.units", "v2x.msgset", "v2x.criteria", "v2x.events",
               "v2x.nodes",
               "v2x.recorder", "v2x.recorder._schema", "v2x.recorder._aggregates",
               "v2x.recorder._writer", "v2x.recorder._layout"}
    assert set(out) <= allowed


def _documented_patterns() -> list[re.Pattern[str]]:
    """Regexes from the KPI table of analysis._kpi's docstring."""
    pats = []
    for line in (_kpi.__doc__ or "").splitlines():
        if not line.startswith("| `"):
            continue
        names = re.findall(r"`([^`]+)`", line.split("|")[1])
        full = [names[0]] + [names[0].rsplit(".", 1)[0] + n for n in names[1:]]
        for name in full:
            rx = re.escape(name)
            rx = rx.replace(re.escape("<T>"), "[A-Za-z0-9]+").replace(re.escape("<A>"),
                                                                        "[A-Za-z0-9]+")
            rx = rx.replace(re.escape("<lo>"), "[0-9p]+").replace(re.escape("<hi>"), "[0-9p]+")
            pats.append(re.compile(rx + r"\Z"))
    return pats


def test_every_kpi_is_documented(run_dir: Path) -> None:
    pats = _documented_patterns()
    assert len(pats) >= 25
    undocumented = [k for k in evaluate(run_dir).kpis if not any(p.match(k) for p in pats)]
    assert undocumented == []


def test_check_starts_without_pandas_and_matplotlib() -> None:
    code = ("import sys; from analysis import main_check; "
            "print(' '.join(m for m in ('pandas', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == []
