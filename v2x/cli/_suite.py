"""``v2x suite``: run a selection of library cases in parallel and score them together.

A campaign takes any :class:`concurrent.futures.Executor`: a process pool on this machine by
default, or Dask distributed for a cluster (``dask://HOST:PORT``: a ``distributed.Client``'s
:meth:`~distributed.Client.get_executor`), the way users outgrow one machine. Each case runs
:func:`~v2x.cli.run_scenario` in a worker (SUMO in the worker's own process: the workers are
the parallelism), on the in-memory bus, into ``OUT/<case>/``, and gives back a small
:class:`~analysis.CaseResult`; a case that cannot run is a result with its error, never a lost
case. Results come back in the order of the selection, whatever order the workers finish in.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import scenarios
from analysis import CaseResult
from v2x.errors import ConfigError, V2XError

__all__ = ["default_jobs", "executor_for", "run_case", "run_suite", "select_cases"]

#: held while a case runs (see :func:`run_case`)
_ONE_SUMO_PER_PROCESS = threading.Lock()


def select_cases(tags: Sequence[str] = (), ids: Sequence[str] = ()) -> list[scenarios.Scenario]:
    """Library scenarios carrying every tag of ``tags`` (all of them when none), plus the
    scenarios named in ``ids`` (library ids, folders or ``scenario.toml`` files); sorted by id,
    each once.

    Raises:
        ConfigError: a name in ``ids`` is not a scenario, or nothing is selected (the message
            lists the library's tags).
    """
    picked = {sc.id: sc for sc in scenarios.library_scenarios()
              if all(t in sc.tags for t in tags)} if tags or not ids else {}
    for name in ids:
        sc = scenarios.resolve_scenario(name)
        picked[sc.id] = sc
    if not picked:
        known = sorted({t for sc in scenarios.library_scenarios() for t in sc.tags})
        raise ConfigError(f"no library scenario has every tag of {list(tags)}; tags: "
                          f"{', '.join(known)}", key="--tag", value=",".join(tags))
    return [picked[k] for k in sorted(picked)]


def run_case(scenario: scenarios.Scenario, out_dir: str) -> CaseResult:
    """Run one case into ``out_dir`` and sum it up (the worker's function: picklable, never
    raises for a problem of the case itself)."""
    from v2x.cli._run import run_scenario  # in the worker

    def result(**kw: Any) -> CaseResult:
        return CaseResult(case_id=scenario.id, title=scenario.title, tags=tuple(scenario.tags),
                          out_dir=str(out_dir), wall_s=time.perf_counter() - t0, **kw)

    # libsumo is one simulation per process: a Dask worker with several threads takes turns
    with _ONE_SUMO_PER_PROCESS:
        t0 = time.perf_counter()
        try:
            run = run_scenario(scenario, out_dir=out_dir, bus="memory", pipeline=False)
        except ConfigError as exc:
            return result(passed=False, error=str(exc), error_kind="config")
        except V2XError as exc:
            return result(passed=False, error=f"{type(exc).__name__}: {exc}", error_kind="run")
    ev = run.evaluation
    return result(passed=bool(ev.passed), verdicts=tuple(ev.verdicts),
                  kpis={k: float(v) for k, v in ev.kpis.items()})


def executor_for(spec: str, jobs: int) -> AbstractContextManager[Executor]:
    """The executor of ``--executor``: ``"local"`` a process pool of ``jobs`` workers (fresh
    interpreters, ``spawn``), ``"dask://HOST:PORT"`` the executor of a Dask distributed client
    connected to that scheduler (closed with the context).

    Raises:
        ConfigError: an unknown form, ``jobs`` < 1, Dask not installed (``pip install
            'v2x-testbed[cluster]'``) or the scheduler not reachable.
    """
    if jobs < 1:
        raise ConfigError("must be at least 1", key="--jobs", value=jobs)
    if spec == "local":
        import multiprocessing as mp

        return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"))
    if spec.startswith("dask://"):
        return _dask_executor("tcp://" + spec.removeprefix("dask://"))
    raise ConfigError("use local or dask://HOST:PORT", key="--executor", value=spec)


def _dask_executor(address: str) -> AbstractContextManager[Executor]:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError("Dask distributed is not installed: pip install "
                          "'v2x-testbed[cluster]'", key="--executor", value=address) from exc
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler: {exc}", key="--executor",
                          value=address) from exc

    class _Closing(AbstractContextManager[Executor]):
        def __enter__(self) -> Executor:
            return client.get_executor()

        def __exit__(self, *exc: object) -> None:
            client.close()

    return _Closing()


def run_suite(cases: Sequence[scenarios.Scenario], *, out_dir: str | Path,
              executor: Executor | None = None,
              progress: Callable[[int, int, CaseResult], None] | None = None) -> list[CaseResult]:
    """Run ``cases`` on ``executor`` (in this process, one after the other, when None), each
    into ``out_dir/<case id>/``; ``progress(done, total, result)`` after each. Returns the
    results in the order of ``cases``."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    folders = [str((root / sc.id).resolve()) for sc in cases]
    results: list[CaseResult | None] = [None] * len(cases)
    if executor is None:
        done: Iterable[tuple[int, CaseResult]] = (
            (i, run_case(sc, folders[i])) for i, sc in enumerate(cases))
    else:
        futures = {executor.submit(run_case, sc, folders[i]): i for i, sc in enumerate(cases)}
        done = ((futures[f], _result(f, cases[futures[f]], folders[futures[f]]))
                for f in as_completed(futures))
    for n, (i, r) in enumerate(done, start=1):
        results[i] = r
        if progress is not None:
            progress(n, len(cases), r)
    return [r for r in results if r is not None]


def _result(future: Any, sc: scenarios.Scenario, folder: str) -> CaseResult:
    """A worker's result, or the worker's failure as a case error (a crashed worker process,
    a lost Dask worker): the case is reported, not lost."""
    try:
        return future.result()  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001 - any failure of the worker belongs to this case
        return CaseResult(case_id=sc.id, title=sc.title, tags=tuple(sc.tags), out_dir=folder,
                          passed=False, error=f"the worker failed: {type(exc).__name__}: {exc}",
                          error_kind="run")


def default_jobs() -> int:
    """Workers by default: the machine's cores."""
    return os.cpu_count() or 1
