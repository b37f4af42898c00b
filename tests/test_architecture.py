"""The public surface and the dependency direction the design card fixes."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["v2x", "v2x.apps", "v2x.bus", "v2x.channel", "v2x.cloud", "v2x.messages",
            "v2x.recorder", "v2x.sim", "v2x.traffic", "roadside", "scenarios", "analysis"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_once(name: str) -> None:
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def _imported_after(modules: list[str]) -> set[str]:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(' '.join(sorted({k.split('.')[0] for k in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


def test_core_imports_neither_roadside_nor_scenarios_nor_analysis() -> None:
    core = ["v2x.apps", "v2x.bus", "v2x.channel", "v2x.cloud", "v2x.geo", "v2x.messages",
            "v2x.recorder", "v2x.sim", "v2x.traffic", "v2x.units", "v2x.errors"]
    assert not _imported_after(core) & {"roadside", "scenarios", "analysis"}


def test_analysis_imports_no_simulation_code() -> None:
    roots = _imported_after(["analysis"])
    assert not roots & {"roadside", "scenarios", "libsumo", "traci", "sumolib"}
    out = subprocess.run([sys.executable, "-c",
                          "import sys, analysis; print(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in out if m.startswith(("v2x.sim", "v2x.channel", "v2x.bus",
                                                "v2x.traffic"))]


def test_the_command_line_starts_without_the_heavy_parts() -> None:
    # `v2x --help`, `v2x list`: no SUMO, analysis or matplotlib until a command needs them
    roots = _imported_after(["v2x.cli"])
    assert not roots & {"analysis", "libsumo", "matplotlib", "pandas", "roadside"}
    # ... while the run API is still there for scripts
    from v2x.cli import MAX_SEED, run_scenario

    assert MAX_SEED == 2**31 - 1 and callable(run_scenario)
