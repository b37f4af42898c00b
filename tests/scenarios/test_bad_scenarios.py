"""The corpus of bad scenario files (``tests/scenarios/bad/``): each one is refused with the
message its header names -- the file, the dotted key and the bad value -- and never hangs,
exhausts memory or ends in a traceback (issue 12, item 3)."""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from scenarios import load_scenario
from v2x.errors import ConfigError

BAD = Path(__file__).resolve().parent / "bad"
FILES = sorted(BAD.glob("*.toml"))
_UNSET = object()


def _expected(file: Path) -> dict[str, Any]:
    """The ``# error-...`` header of a corpus file, read as TOML."""
    lines = [line[2:] for line in file.read_text(encoding="utf-8").splitlines()
             if line.startswith("# error-")]
    return tomllib.loads("\n".join(lines))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _check(err: ConfigError, file: Path, want: dict[str, Any]) -> None:
    assert err.file == str(file), f"names {err.file}, not the scenario file"
    assert err.key == want.get("error-key"), str(err)
    value = want.get("error-value", _UNSET)
    if value is not _UNSET:
        assert _same(err.value, value), f"value {err.value!r} != {value!r}: {err}"
    assert want.get("error-message", "") in str(err)
    text = str(err)
    assert str(file) in text and (err.key is None or f"'{err.key}'" in text)


def test_the_corpus_holds_every_case() -> None:
    assert len(FILES) >= 40
    for file in FILES:
        want = _expected(file)
        assert want.get("error-stage", "load") in ("load", "run"), file.name
        assert "error-message" in want or "error-key" in want, file.name
    issue = {f.stem for f in FILES if "issue 12, item 3" in f.read_text(encoding="utf-8")}
    assert issue >= {"demand-passenger-1e12", "rsu-antenna-1e300", "anchor-outside-crs",
                     "anchor-swapped", "criteria-same-name", "grid-junctions-400",
                     "net-truncated", "channel-bad-value"}


LOAD = [f for f in FILES if _expected(f).get("error-stage", "load") == "load"]
RUN = [f for f in FILES if _expected(f).get("error-stage") == "run"]


@pytest.mark.parametrize("file", LOAD, ids=[f.stem for f in LOAD])
def test_the_loader_names_file_key_and_value(file: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(file)
    _check(info.value, file, _expected(file))


@pytest.mark.sumo
@pytest.mark.parametrize("file", RUN, ids=[f.stem for f in RUN])
def test_the_run_names_file_key_and_value(file: Path, tmp_path: Path) -> None:
    from v2x.cli import run_scenario

    load_scenario(file)  # valid as a file: only the network shows what is wrong
    with pytest.raises(ConfigError) as info:
        run_scenario(file, out_dir=tmp_path / "run", duration_s=1.0, bus="memory")
    _check(info.value, file, _expected(file))
    assert not (tmp_path / "run" / "run.json").exists()  # refused before the run began


#: through the command line (each costs a process start and its traffic process, ~2 s of
#: CPU): the hang of item 3, a broken network, a channel parameter, one found when the run
#: starts and a file that is not TOML
CLI = ["demand-passenger-1e12", "net-truncated", "channel-bad-value",
       "rsu-at-unknown-junction", "not-toml"]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """``v2x run FILE --duration 1 --bus memory`` for every name of :data:`CLI`, each a
    process of its own as a user runs it, all at once (each spends its time importing);
    a hang fails at the timeout. Name -> (exit code, stdout + stderr, run folder)."""
    out = tmp_path_factory.mktemp("cli")
    procs = {}
    for name in CLI:
        cmd = [sys.executable, "-c", "from v2x.cli import main; main()", "run",
               str(BAD / f"{name}.toml"), "--duration", "1", "--bus", "memory",
               "--out", str(out / name)]
        procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
    results = {}
    try:
        for name, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=120)
            results[name] = (proc.returncode, stderr + "\n" + stdout, out / name)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


@pytest.mark.sumo
@pytest.mark.parametrize("name", CLI)
def test_v2x_run_exits_2_with_the_message_and_no_traceback(
        name: str, cli_runs: dict[str, tuple[int, str, Path]]) -> None:
    file = BAD / f"{name}.toml"
    want = _expected(file)
    code, output, run_dir = cli_runs[name]
    assert code == 2, output
    assert "Traceback" not in output
    first = output.splitlines()[0]
    assert first.startswith("v2x: error: ") and str(file) in first, output
    if want.get("error-key"):
        assert f"key '{want['error-key']}'" in first
    assert want.get("error-message", "") in output
    assert not (run_dir / "run.json").exists()
