"""The ``v2x`` command line, thin over the library.

Exit codes: 0 all criteria passed, 1 a criterion failed (``v2x report``: or the recording is
partial), 2 usage, configuration or run error (the message names the file, key and value; no
traceback), 130 interrupted (Ctrl-C; the partial recording says so in its ``run.json``).
``v2x check`` adds 3 (some input lines unreadable, the rest checked) and 70 (an internal error):
see its ``--help``.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from v2x import __version__
from v2x.errors import V2XError
from v2x.msgset import DEFAULT_PROFILE, PROFILES

if TYPE_CHECKING:
    from v2x.cli._run import RunResult
    from v2x.cloud import CloudCongestionApp

__all__ = ["MAX_SEED", "RunResult", "check_criteria", "main", "run_scenario"]

_LAZY = ("MAX_SEED", "RunResult", "check_criteria", "run_scenario")


def __getattr__(name: str) -> Any:
    """The run API (``run_scenario`` ...) is imported on first use: it pulls in SUMO, the
    analysis and matplotlib (~1.5 s), which ``v2x --help`` or ``v2x list`` do not need."""
    if name in _LAZY:
        from v2x.cli import _run

        return getattr(_run, name)
    raise AttributeError(f"module 'v2x.cli' has no attribute {name!r}")

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Group(click.Group):
    """Maps our errors to exit code 2 with a one-line message, Ctrl-C to 130."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, click.Abort):
            click.echo("v2x: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except V2XError as exc:
            click.echo(f"v2x: error: {exc}", err=True)
            cause = exc.__cause__
            if cause is not None:
                click.echo(f"v2x: caused by {type(cause).__name__}: {cause}", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="v2x")
def main() -> None:
    """C-V2X testbed: scripted, repeatable, scored V2X tests on SUMO scenarios of the
    Tianjin Xiqing pilot zone."""


@main.command("list")
@click.option("--tag", default=None, help="Only scenarios with this tag.")
def list_cmd(tag: str | None) -> None:
    """List the scenarios of the library, with their tags."""
    import scenarios

    shown = [sc for sc in scenarios.library_scenarios() if not tag or tag in sc.tags]
    tags = [f"[{', '.join(sc.tags)}]" for sc in shown]
    w_id = max((len(sc.id) for sc in shown), default=0)
    w_tags = max((len(t) for t in tags), default=0)
    for sc, t in zip(shown, tags, strict=True):
        click.echo(f"{sc.id:{w_id}s}  {sc.duration_ns / 1e9:6.0f} s  {t:{w_tags}s}  {sc.title}")
    if not shown:
        click.echo(f"v2x: no scenario in the library has the tag {tag!r}", err=True)


def _bus_spec(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value in ("memory", "embedded") or value.startswith(("mqtt://", "mqtts://")):
        return value
    raise click.BadParameter("use memory, embedded, mqtt://host:port (mqtt://user:password@"
                             "host:port with credentials) or mqtts://user:password@host:port"
                             "[?ca=CA_FILE] (TLS)", ctx, param)


def _out_dir(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value is None:
        return None
    if not value.strip():  # Path("") would be this folder: a run written all over it
        raise click.BadParameter("an empty path; give a folder (. for this one)", ctx, param)
    return Path(value)


def _duration_s(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    from v2x.errors import ConfigError
    from v2x.units import parse_duration

    try:
        return parse_duration(value.strip()) / 1e9
    except ConfigError as exc:
        raise click.BadParameter(f"{value!r}: seconds (30) or a duration with a unit "
                                 f"(30s, '500 ms', '2 min')", ctx, param) from exc


def _set_items(ctx: click.Context, param: click.Parameter,
               value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        key, sep, _ = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: use KEY=VALUE, e.g. demand.penetration=0.5",
                                     ctx, param)
    return value


@main.command("run", short_help="Run a scenario: recording, KPIs and reports.")
@click.argument("scenario")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option("--bus", default="embedded", show_default=True, callback=_bus_spec,
              help="memory | embedded (amqtt broker started by the run) | "
                   "mqtt://[user:password@]host:port | mqtts://[user:password@]host:port"
                   "[?ca=CA_FILE] (TLS; a user without a password: $V2X_BUS_PASSWORD)")
@click.option("--ca-file", type=click.Path(dir_okay=False), default=None,
              help="With --bus mqtts://...: check the broker's certificate against this CA "
                   "file (PEM) instead of the system's CAs (the same as ?ca=CA_FILE).")
@click.option("--gui", is_flag=True, help="Run sumo-gui over TraCI instead of libsumo.")
@click.option("--out", "out_dir", default=None, callback=_out_dir,
              help="Run directory [default: runs/<scenario>-<seed>].")
@click.option("--duration", "duration_s", default=None, callback=_duration_s,
              help="Run only the first part of the scenario: seconds (30) or a duration "
                   "with a unit (30s, '2 min').")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Report language.")
@click.option("--payload", type=click.Choice(["uper", "json"]), default="uper",
              show_default=True, help="Bus payloads: UPER MessageFrames or their JSON form.")
@click.option("--topics", type=click.Choice(["v2x", "openv2x"]), default="v2x",
              show_default=True,
              help="Bus topic profile: v2x/{zone}/rsu/{id}/up/{type}, or the OpenV2X "
                   "platform's V2X/RSU/{esn}/{MSG}/UP with its JSON.")
@click.option("--v2n", "v2n_period_s", type=float, default=None, metavar="SECONDS",
              help="OBUs also send a BSM every SECONDS over cellular Uu to the cloud "
                   "(v2x/{zone}/obu/{id}/up/bsm, with its own loss and latency model).")
@click.option("--realtime", is_flag=True,
              help="Pace the run to the wall clock, step by step (lag and real-time factor "
                   "recorded); RSUs broadcast the RSI external applications publish on "
                   "their downlink topics.")
@click.option("--pipeline/--no-pipeline", default=True, show_default=True,
              help="Run SUMO in a child process, ahead of the loop (same results).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", callback=_set_items,
              help="Override a scenario key, e.g. applications.fcw.enabled=false or "
                   "demand.penetration=0.5 (a TOML value, else text; repeatable).")
@click.option("--quiet", "-q", is_flag=True,
              help="No progress (neither the bar nor, off a terminal, the progress lines).")
def run_cmd(scenario: str, seed: int | None, bus: str, ca_file: str | None, gui: bool,
            out_dir: Path | None,
            duration_s: float | None, lang: str, payload: str, topics: str,
            v2n_period_s: float | None, realtime: bool, pipeline: bool,
            sets: tuple[str, ...], quiet: bool) -> None:
    """Run SCENARIO (a library id or a scenario folder): recording + report.

    Exit 0 when every criterion passes, 1 when one fails, 2 on a usage or configuration
    error.
    """
    if ca_file is not None:
        from v2x.bus import with_ca_file
        from v2x.errors import ConfigError

        try:
            bus = with_ca_file(bus, ca_file)
        except ConfigError as exc:
            raise click.BadParameter(exc.message, param_hint="--ca-file") from None
    if pipeline and not gui:  # the traffic process loads while the run machinery imports
        from v2x.traffic import prestart

        prestart()

    import scenarios

    # SIGTERM (a CI job cancelled, `timeout`) stops the run as Ctrl-C does: run.json says
    # "interrupted", the tables are closed, the traffic process is stopped. It is turned into
    # a SIGINT, so that inside the event loop asyncio cancels the run cleanly (raising
    # KeyboardInterrupt at any point, e.g. inside the MQTT client, could hang its clean-up)
    signal.signal(signal.SIGTERM, _on_sigterm)

    sc = scenarios.resolve_scenario(scenario, overrides=sets)
    if out_dir is None:
        out_dir = Path("runs") / f"{sc.id}-{seed if seed is not None else sc.seed}"
    if quiet or not sys.stderr.isatty():
        result = _run_scenario()(scenario, out_dir=out_dir, seed=seed, bus=bus, gui=gui,
                                 duration_s=duration_s, lang=lang, pipeline=pipeline,
                                 payload=payload, topics=topics, v2n_period_s=v2n_period_s,
                                 realtime=realtime, overrides=list(sets),
                                 progress=None if quiet else _LineProgress(
                                     every_ns=1_000_000_000 if realtime else 30_000_000_000))
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn("[bold]{task.description}"), BarColumn(),
                   TextColumn("{task.fields[sim]}"), TimeRemainingColumn())
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task(sc.id, total=1.0, sim="")

            def progress(p: object) -> None:
                t, d = p.t_ns, p.duration_ns  # type: ignore[attr-defined]
                if (t // 100_000_000) % 10 == 0 or t >= d:
                    rtf = t / 1e9 / max(p.wall_s, 1e-9)  # type: ignore[attr-defined]
                    msgs = p.messages / max(t / 1e9, 1e-9)  # type: ignore[attr-defined]
                    lag = getattr(p, "lag_ms", None)
                    bar.update(task, completed=t / d, sim=(
                        f"{t / 1e9:6.1f}/{d / 1e9:.0f} s  x{rtf:5.2f} real time  "
                        + (f"lag {lag:5.1f} ms  " if lag is not None else "")
                        + f"{p.vehicles:4d} veh  {msgs:8.0f} tx/s"))  # type: ignore[attr-defined]

            result = _run_scenario()(scenario, out_dir=out_dir, seed=seed, bus=bus, gui=gui,
                                     duration_s=duration_s, lang=lang, pipeline=pipeline,
                                     payload=payload, topics=topics, v2n_period_s=v2n_period_s,
                                     realtime=realtime, overrides=list(sets),
                                     progress=progress)
    _print_result(result)
    sys.exit(EXIT_PASS if result.passed else EXIT_FAIL)


@main.command("suite", short_help="Run library cases in parallel; JUnit, summary, baseline.")
@click.argument("cases", nargs=-1)
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only library cases with this tag (repeatable: cases with every tag).")
@click.option("--jobs", "-j", type=int, default=None,
              help="Cases run at once [default: the machine's cores].")
@click.option("--executor", default="local", show_default=True,
              help="local (a process pool here) or dask://HOST:PORT (a Dask scheduler).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Compare every KPI with this baseline file (per-KPI tolerances).")
@click.option("--update-baseline", is_flag=True,
              help="Write this run's KPIs into --baseline (keeping its tolerances).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write JUnit XML: one test case per criterion [default: OUT/junit.xml].")
@click.option("--out", "out_dir", default="runs/suite", show_default=True, callback=_out_dir,
              help="Folder of the case runs (OUT/<case>/) and of the summary page.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", callback=_set_items,
              help="Override a key of every selected case, as v2x run --set (a missing table "
                   "is created: applications.fcw.ttc_threshold_s=1.0 also adds FCW to a case "
                   "without it; repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def suite_cmd(cases: tuple[str, ...], tags: tuple[str, ...], jobs: int | None, executor: str,
              baseline: Path | None, update_baseline: bool, junit: Path | None,
              out_dir: Path, sets: tuple[str, ...], quiet: bool) -> None:
    """Run the library cases with every --tag (and the CASES named: ids or folders) in
    parallel, then write OUT/junit.xml (or --junit), OUT/suite.html and each case's reports.

    Exit 0 when every case passes (and stays within the baseline), 1 when a criterion fails,
    a KPI drifts past its tolerance or a case cannot run, 2 on a usage or configuration error.
    """
    import analysis
    from v2x.cli import _suite

    if update_baseline and baseline is None:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    selected = [sc.with_set(*sets) if sets else sc for sc in _suite.select_cases(tags, cases)]
    base = (analysis.load_baseline(baseline)
            if baseline is not None and (baseline.exists() or not update_baseline) else None)
    n_jobs = jobs if jobs is not None else _suite.default_jobs()
    if not quiet:
        click.echo(f"v2x suite: {len(selected)} case(s), {n_jobs} at once on {executor}",
                   err=True)

    drifts: dict[str, list[analysis.Drift]] | None = {} if base is not None else None

    def progress(done: int, total: int, r: analysis.CaseResult) -> None:
        if drifts is not None and base is not None:  # each case compared once, as it ends
            drifts.update(analysis.compare_baseline([r], base))
        if not quiet:
            drifted = bool((drifts or {}).get(r.case_id))
            state = "ERROR" if r.error else ("PASS" if r.passed and not drifted else "FAIL")
            click.echo(f"[{done}/{total}] {state:5s} {r.case_id} ({r.wall_s:.1f} s)"
                       + (f": {r.error}" if r.error else ""), err=True)

    with _suite.executor_for(executor, n_jobs) as ex:
        results = _suite.run_suite(selected, out_dir=out_dir, executor=ex, progress=progress)
    junit_path = analysis.write_suite_junit(results, junit or out_dir / "junit.xml", drifts)
    page = analysis.write_suite_html(results, out_dir / "suite.html", drifts)
    if update_baseline and baseline is not None:
        doc = analysis.baseline_document(results, (base or {}).get("tolerances"))
        baseline.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        click.echo(f"baseline: {baseline} ({len(doc['cases'])} case(s))")
    failed = [r for r in results if not r.passed or (drifts or {}).get(r.case_id)]
    for r in failed:
        why = r.error or "; ".join(
            [f"{v.name}: {v.reason}" for v in r.verdicts if not v.passed]
            + [f"baseline {d.message}" for d in (drifts or {}).get(r.case_id, ())])
        click.echo(f"  [FAIL] {r.case_id}: {why}")
    click.echo(f"{len(results) - len(failed)}/{len(results)} case(s) passed; junit: "
               f"{junit_path}; summary: {page}")
    if any(r.error_kind == "config" for r in results):
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FAIL if failed else EXIT_PASS)


@main.command("report", short_help="Re-score a recording and write its reports again.")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "formats", default="json,junit,html", show_default=True,
              help="Comma-separated: json, junit, html.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where to write the reports [default: RUN_DIR].")
def report_cmd(run_dir: Path, formats: str, lang: str, out_dir: Path | None) -> None:
    """Re-score a recording and write its reports again (no simulation is run).

    A run that did not complete (killed, failed, interrupted, still running) is scored as far
    as its recording goes and reported as partial. Exit 0 when every criterion passes, 1 when
    one fails or the recording is partial, 2 for an unreadable recording.
    """
    import analysis

    ev = analysis.evaluate(run_dir)
    written = analysis.write_reports(ev, out_dir or run_dir,
                                     formats=[f.strip() for f in formats.split(",") if f.strip()],
                                     lang=lang)
    if ev.partial is not None:
        click.echo(f"  [PARTIAL] {ev.partial.reason}")
    for v in ev.verdicts:
        click.echo(f"  [{'PASS' if v.passed else 'FAIL'}] {v.name}: {v.reason}")
    for kind, path in sorted(written.items()):
        click.echo(f"{kind}: {path}")
    sys.exit(EXIT_PASS if ev.passed else EXIT_FAIL)


@main.command("compare")
@click.argument("run_a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="Also list KPIs that are equal.")
def compare_cmd(run_a: Path, run_b: Path, show_all: bool) -> None:
    """KPI differences between two recordings (B - A), one KPI a line."""
    import math

    import analysis

    ea, eb = analysis.evaluate(run_a), analysis.evaluate(run_b)
    ka, kb = ea.kpis, eb.kpis
    fa, fb = (float((e.run.get("kpi_sample") or {}).get("fraction", 1.0)) for e in (ea, eb))
    if fa != fb:  # counts of a sample are not scaled up (docs/recording.md)
        click.echo(f"note: the delivery KPIs of A count {fa:g} of the receivers, of B {fb:g} "
                   "(recording.kpi_sample): compare their ratios and percentiles, not their "
                   "counts")
    click.echo(f"{'kpi':40s} {'A':>14s} {'B':>14s} {'B - A':>14s}")
    shown = 0
    for name in sorted(set(ka) | set(kb), key=analysis.kpi_order):
        a, b = float(ka.get(name, math.nan)), float(kb.get(name, math.nan))
        same = a == b or (math.isnan(a) and math.isnan(b))
        if same and not show_all:
            continue
        shown += 1
        diff = b - a  # inf where one side is infinite, NaN where undefined
        click.echo(f"{name:40s} {a:14.6g} {b:14.6g} {diff:14.6g}")
    if not shown:
        click.echo("no KPI differs")


@main.command("cloud", short_help="Run the cloud congestion application on a broker.")
@click.argument("scenario")
@click.option("--bus", required=True, callback=_bus_spec,
              help="The broker the runs publish to: mqtt://host:port or mqtts://...")
@click.option("--duration", "duration_s", default=None, callback=_duration_s,
              help="Stop after this wall time (30, '2 min') [default: until Ctrl-C].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", callback=_set_items,
              help="Override a scenario key, e.g. cloud.jam_speed_kmh=15 (repeatable).")
def cloud_cmd(scenario: str, bus: str, duration_s: float | None, sets: tuple[str, ...]) -> None:
    """Run the cloud congestion application (v2x.cloud) for SCENARIO's road network and RSUs
    on a broker: it reads the RSUs' BSM uplinks and sends traffic-jam RSI down to the RSUs
    before each jam, as an external platform. A real-time run on the same broker
    (v2x run SCENARIO --realtime --bus URL) has its RSUs broadcast them."""
    from v2x.cli._cloud import check_cloud_bus, cloud_app, run_cloud

    check_cloud_bus(bus)
    app = cloud_app(scenario, overrides=sets)
    click.echo(f"v2x cloud: congestion application on {len(app.detector.links)} links, "
               f"zone {app.topics.zone}", err=True)
    try:
        run_cloud(app, bus=bus, duration_s=duration_s)
    except KeyboardInterrupt:  # stopped by the user: what it did is still worth saying
        _cloud_summary(app)
        raise
    _cloud_summary(app)  # not after an error: the error is all there is to say


def _cloud_summary(app: CloudCongestionApp) -> None:
    click.echo(f"v2x cloud: {app.bsms} BSMs read, {len(app.sent)} RSI sent down, "
               f"{app.decode_errors} payloads not decoded", err=True)


@main.command("broker", short_help="Run the embedded MQTT broker (amqtt) on its own.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=1883, show_default=True,
              help="TCP port; 0 picks a free one.")
def broker_cmd(host: str, port: int) -> None:
    """Run the embedded MQTT broker (amqtt) on its own until interrupted (Ctrl-C)."""
    import asyncio

    from v2x.bus import EmbeddedBroker

    async def serve() -> None:
        async with EmbeddedBroker(host=host, port=port) as broker:
            click.echo(f"v2x broker listening on {broker.url}", err=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        click.echo("v2x broker stopped", err=True)


@main.command("check", short_help="Check a recording or a capture for conformance.")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "json_output", is_flag=True, help="Print the report as JSON.")
@click.option("--rate-tolerance", type=float, default=0.10, show_default=True,
              help="Allowed excess of the median interval over the required period.")
@click.option("--sec-mark-tolerance", default="100 ms", show_default=True,
              help="Allowed |secMark - capture time| within the minute.")
@click.option("--profile", type=click.Choice(list(PROFILES)), default=DEFAULT_PROFILE,
              show_default=True,
              help="Conformance profile of the frames: MAP lane connectsTo SIZE (1..8) "
                   "(connects-8) or (1..16) (connects-16), as the sender's ASN.1 modules say.")
def check_cmd(path: Path, json_output: bool, rate_tolerance: float,
              sec_mark_tolerance: str, profile: str) -> None:
    """Check PATH (a run directory or a JSON-lines capture of hex frames) for conformance:
    decode failures, sentinel fields, message rates (T/CSAE 159), msgCnt continuity (missing
    messages counted with time), secMark against capture time, MAP phaseIds present in SPAT.
    A line that cannot be read is reported with its line number and value, and left out. A run
    that did not complete is checked on the frames it recorded, and the report says partial.

    \b
    Exit codes:
      0   conformant: every line read, no violation (warnings allowed)
      1   violations found (every line read)
      2   input unreadable, nothing checked (no such file, not a recording,
          no readable frame), or a usage error
      3   some lines unreadable (listed); the rest was checked
      70  internal error of the checker (a bug; one line on stderr)
    """
    import analysis

    sys.exit(analysis.main_check(path, json_output=json_output, rate_tolerance=rate_tolerance,
                                 sec_mark_tolerance=sec_mark_tolerance, profile=profile))


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: a SIGINT, which asyncio turns into a clean cancel of the run; where
    SIGINT is ignored (a background job of a shell), KeyboardInterrupt right here."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


class _LineProgress:
    """Progress as a line every ``every_ns`` of simulated time (30 s; for logs and CI); a
    real-time run's line adds the step's lag and the real-time factor so far."""

    def __init__(self, every_ns: int = 30_000_000_000) -> None:
        self._every = every_ns
        self._shown = 0  # marks passed so far

    def __call__(self, p: object) -> None:
        t = p.t_ns  # type: ignore[attr-defined]
        if t // self._every > self._shown:  # a window may end past the mark
            self._shown = t // self._every
            lag = getattr(p, "lag_ms", None)
            rt = (f"  lag={lag:.1f} ms  rtf={t / 1e9 / max(p.wall_s, 1e-9):.3f}"  # type: ignore[attr-defined]
                  if lag is not None else "")
            click.echo(f"  t={t / 1e9:5.0f} s  vehicles={p.vehicles}  "  # type: ignore[attr-defined]
                       f"transmissions={p.messages}  wall={p.wall_s:.1f} s{rt}",  # type: ignore[attr-defined]
                       err=True)


def _run_scenario() -> Any:
    from v2x.cli._run import run_scenario

    return run_scenario


def _print_result(result: RunResult) -> None:
    s = result.summary
    click.echo(f"run directory: {result.out_dir}")
    click.echo(f"vehicles {s.vehicles} (equipped {s.equipped}), RSUs {s.rsus}, "
               f"steps {s.steps}, simulation loop {s.wall_s:.1f} s wall")
    click.echo("transmissions: " + ", ".join(f"{k} {v}" for k, v in s.tx_counts.items()))
    by_app = ", ".join(f"{k} {v}" for k, v in s.warnings_by_app.items()) or "no applications"
    click.echo(f"bus messages {s.bus_messages}, warnings: {by_app}; "
               f"hard braking {s.hard_braking}, collisions {s.collisions}")
    f = s.bus_faults
    if f.get("reconnects") or f.get("dropped") or s.bus_foreign or s.bus_decode_errors:
        lost = sum(f.get("lost_qos0", {}).values())
        click.echo(f"bus faults: {f.get('reconnects', 0)} reconnects, {f.get('resent', 0)} QoS 1 "
                   f"messages sent again, {lost} QoS 0 lost (per topic in run.json), "
                   f"{f.get('dropped', 0)} dropped by slow readers; foreign messages "
                   f"{s.bus_foreign}, undecodable {s.bus_decode_errors}")
    if s.stops_skipped:  # a scripted event that did not happen must not pass unnoticed
        click.echo(f"warning: scripted stops skipped (vehicle not in the simulation at their "
                   f"time): {', '.join(s.stops_skipped)}", err=True)
    k = result.evaluation.kpis
    if "benefit.collisions_with" in k:  # [benefit] compare: the run without V2X beside it
        click.echo(f"V2X benefit: collisions {k['benefit.collisions_with']:g} with, "
                   f"{k['benefit.collisions_without']:g} without; serious TTC conflicts "
                   f"{k['benefit.ttc_conflicts_serious_with']:g} with, "
                   f"{k['benefit.ttc_conflicts_serious_without']:g} without")
    for v in result.evaluation.verdicts:
        mark = "PASS" if v.passed else "FAIL"
        click.echo(f"  [{mark}] {v.name}: {v.reason}")
    for kind, path in sorted(result.reports.items()):
        click.echo(f"{kind}: {path}")
    click.echo("PASSED" if result.passed else "FAILED")


if __name__ == "__main__":  # pragma: no cover
    main()
