"""The composition root: wires a scenario, its RSUs, the simulation and the analysis.

This is the one module of ``v2x`` that imports :mod:`scenarios`, :mod:`roadside` and
:mod:`analysis` (with its helper :mod:`v2x.cli._kpi_names`); the core packages import none of
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import difflib
import math
import numbers
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sumolib

import analysis
import scenarios
from roadside import (
    DOWNLINK_SOURCE,
    DownlinkRsiConfig,
    SignalMirror,
    make_rsus,
    read_signal_plans,
    rsu_signal_ids,
)
from v2x._gc import fewer_collections
from v2x._malloc import keep_freed_memory
from v2x.bus import PROFILES, UuUplink, open_bus, redact_bus_spec, topic_qos
from v2x.channel import make_channel
from v2x.cli import _wiring as wiring
from v2x.cli._benefit import WITHOUT_V2X_DIR, benefit_run_json, without_v2x
from v2x.cli._kpi_names import kpi_names
from v2x.cloud import CloudCongestionApp
from v2x.errors import ConfigError
from v2x.recorder import Recorder
from v2x.sim import RunSummary, SimConfig, Simulation, StepProgress
from v2x.traffic import (
    PipelinedTraffic,
    SumoTraffic,
    SumoTrafficSide,
    drop_prestarted,
    prestart,
    sumo_command,
)

__all__ = ["MAX_SEED", "RUN_STATUSES", "RunResult", "check_criteria", "run_json", "run_scenario"]


@dataclass(frozen=True)
class RunResult:
    """A finished run: where it is, its counts, its evaluation and the report files."""

    out_dir: Path
    summary: RunSummary
    evaluation: Any  # analysis.Evaluation
    reports: dict[str, Path]

    @property
    def passed(self) -> bool:
        """True when every criterion of the scenario passed."""
        return bool(self.evaluation.passed)


def run_scenario(scenario: scenarios.Scenario | str | Path, *, out_dir: str | Path,
                 seed: int | None = None, bus: str = "memory", gui: bool = False,
                 duration_s: float | None = None, lang: str = "en", pipeline: bool = False,
                 payload: str = "uper", overrides: Sequence[str] = (),
                 window_steps: int | None = None, topics: str = "v2x",
                 v2n_period_s: float | None = None, realtime: bool = False,
                 progress: Callable[[StepProgress], None] | None = None) -> RunResult:
    """Run a scenario end to end: build SUMO inputs, simulate, record, evaluate, report.

    Args:
        scenario: a :class:`scenarios.Scenario`, a library id or a scenario folder/file.
        out_dir: the run directory (recording + ``report.json``, ``junit.xml``,
            ``report.html``).
        seed: overrides the scenario's seed (after ``overrides``).
        overrides: ``"KEY=VALUE"`` items overriding scenario keys, applied before everything
            else and validated like the file (``v2x run --set``; :func:`scenarios.apply_overrides`).
        bus: ``"memory"``, ``"embedded"`` (amqtt broker in-process),
            ``"mqtt://[user:password@]host:port"`` or ``"mqtts://...[?ca=PATH]"`` (TLS;
            :func:`v2x.bus.open_bus`); ``run.json`` records it without the password.
        gui: run ``sumo-gui`` over TraCI instead of libsumo.
        duration_s: run only the first ``duration_s`` seconds [s] (a multiple of the step).
        lang: report language, ``"en"`` or ``"zh"``.
        payload: bus payloads, ``"uper"`` (MessageFrames; BSM uplinks length-prefixed) or
            ``"json"`` (the JSON form with the ASN.1 field names).
        pipeline: run SUMO in a child process up to two windows of steps ahead of the loop
            (:class:`~v2x.traffic.PipelinedTraffic` with a
            :class:`~v2x.traffic.SumoTrafficSide`; the RSUs stay here and read its signal
            states; same results, faster on two or more cores; ``v2x run`` turns it on). On
            POSIX the child is a fresh interpreter (``python -m v2x.traffic._child``);
            elsewhere ``multiprocessing``'s spawn, where a script that calls this must guard
            its entry point with ``if __name__ == "__main__":``. Always off with ``gui``.
        window_steps: steps processed together (default: 20 open loop; closed loop, as many as
            the driver's reaction time allows); 1 processes the run one step at a time (the
            reference a closed-loop run equals). Larger than the closed loop allows: a
            ConfigError.
        topics: the bus topic profile (:data:`v2x.bus.PROFILES`): ``"v2x"``
            (``v2x/{zone}/rsu/{id}/up/{type}``, payloads as ``payload`` says) or
            ``"openv2x"`` (``V2X/RSU/{esn}/{MSG}/UP``, the OpenV2X platform's JSON).
        v2n_period_s: every OBU also sends its BSM over the cellular Uu link to the cloud
            every ``v2n_period_s`` [s] (``v2x/{zone}/obu/{id}/up/bsm``, through
            :class:`v2x.bus.UuUplink`'s loss and latency model); None: off.
        realtime: pace the run to the wall clock, one step at a time (:mod:`v2x.sim._realtime`:
            lag and real-time factor in ``run.json`` ``summary.realtime`` and the
            ``realtime.*`` KPIs), and let every RSU broadcast the RSI published on its
            downlink topic (``v2x/{zone}/rsu/{id}/down/rsi``: a UPER RSI frame;
            ``V2X/RSU/{esn}/RSI/DOWN``: the OpenV2X JSON) from the next step on
            (:class:`roadside.DownlinkRsiSource`). Not with ``[benefit] compare``.
        progress: called after every window of steps (2 s of simulated time; in real time
            every step).

    Side effect: on Linux with glibc, this process keeps freed heap memory for reuse (up to
    256 MB; :mod:`v2x._malloc`), which makes the loop's numpy temporaries cheaper; during the
    run and its evaluation, Python's garbage collector leaves the start-up objects alone and
    collects less often (:mod:`v2x._gc`).

    Raises:
        ConfigError, SumoError, BusError, RecordingError: with the cause chained.
    """
    keep_freed_memory()  # numpy temporaries of a window reuse freed heap (v2x._malloc)
    if isinstance(scenario, scenarios.Scenario):
        sc = scenarios.apply_overrides(scenario, overrides) if overrides else scenario
    else:
        sc = scenarios.resolve_scenario(scenario, overrides=overrides)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ConfigError("seed must be an integer", key="seed", value=seed)
        if not 0 <= int(seed) <= MAX_SEED:
            raise ConfigError(f"seed must be an integer in 0..{MAX_SEED} (SUMO's range)",
                              key="seed", value=seed)
        sc = sc.with_overrides(seed=int(seed))
    if duration_s is not None:
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise ConfigError("duration must be a positive number of seconds",
                              key="duration", value=duration_s)
        ns = int(round(duration_s * 1e9))
        if ns % sc.step_ns:
            raise ConfigError(f"duration must be a multiple of the step ({sc.step_ns / 1e9} s)",
                              key="duration", value=duration_s)
        if ns > sc.duration_ns:
            raise ConfigError(f"duration is longer than the scenario "
                              f"({sc.duration_ns / 1e9:g} s); it runs the first part of it",
                              key="duration", value=duration_s)
        sc = sc.with_overrides(duration_ns=ns)
    if payload not in ("uper", "json"):
        raise ConfigError("payload must be 'uper' or 'json'", key="payload", value=payload)
    bus_recorded = redact_bus_spec(bus)  # a bad broker URL is an error before anything runs
    if topics not in PROFILES:
        raise ConfigError(f"topics must be one of {sorted(PROFILES)}", key="topics",
                          value=topics)
    v2n = None
    if v2n_period_s is not None:
        if topics != "v2x" or not (math.isfinite(v2n_period_s) and v2n_period_s > 0):
            raise ConfigError("v2n needs the v2x topic profile and a period > 0 s",
                              key="v2n", value=v2n_period_s)
        v2n = UuUplink(period_ns=int(round(v2n_period_s * 1e9)))
    if sc.cloud.congestion:  # a cloud application: on a broker, in real time
        if bus == "memory":
            raise ConfigError("[cloud] congestion runs on a broker, as an external "
                              "application: use --bus embedded or mqtt://...",
                              key="cloud.congestion", value=True)
        if topics != "v2x" or payload != "uper":
            raise ConfigError("[cloud] congestion reads the v2x topics' UPER uplinks "
                              "(--topics v2x --payload uper)", key="cloud.congestion", value=True)
        realtime = True
    if realtime and sc.benefit.compare:
        raise ConfigError("a real-time run cannot also run its comparison without V2X",
                          key="benefit.compare", value=True)
    if sc.benefit.compare:  # first the same run with every application off (v2x.cli._benefit)
        check_criteria(sc)
        # on the memory bus: the counterfactual is for the safety KPIs, and a second run's
        # messages must not reach the platform a run on an external broker talks to
        run_scenario(without_v2x(sc), out_dir=Path(out_dir) / WITHOUT_V2X_DIR, bus="memory",
                     gui=gui, lang=lang, pipeline=pipeline, payload=payload,
                     window_steps=window_steps, topics=topics, progress=progress)
    if pipeline and not gui:
        prestart()  # the traffic process loads while the checks run and the run is prepared
    traffic: Any = None
    try:
        check_criteria(sc)
        wall0 = time.perf_counter()
        # the builders and the channel registry know keys, not the file they came from
        with _naming_the_file(sc):
            built = scenarios.build(sc)
        classification = {k: int(v["classification"]) for k, v in scenarios.VEHICLE_CLASSES.items()}
        cmd = sumo_command(built.net_file, built.route_files, built.additional_files,
                           step_ns=sc.step_ns, seed=sc.seed, gui=gui)
        net = _read_net(sc, built.net_file)
        sites = wiring.rsu_sites(sc, net)
        with _naming_the_file(sc):
            channel = make_channel(sc.channel.type, **dict(sc.channel.params))
        events = wiring.traffic_events(sc)
        piped = pipeline and not gui
        reaction = wiring.driver(sc)
        window, ahead = wiring.windows(reaction, pipelined=piped,
                                       window_steps=1 if realtime else window_steps)
        # open loop, the child keeps two windows of steps ahead, so SUMO steps while the loop
        # processes one; closed loop, no further than the driver's reaction allows. It loads
        # SUMO while the rest of the run is prepared here (the first use of its signals or
        # states waits for it)
        traffic = (
            PipelinedTraffic(SumoTrafficSide(cmd=cmd, classification=classification,
                                             tls_ids=rsu_signal_ids(net, sites),
                                             events=events),
                             ahead=ahead, batch=window, steps=sc.duration_ns // sc.step_ns)
            if piped else SumoTraffic(cmd, classification=classification, use_traci=gui,
                                      events=events))
        cfg = SimConfig(
            start=sc.start, duration_ns=sc.duration_ns, step_ns=sc.step_ns, zone=sc.zone,
            bsm_period_ns=sc.obu.bsm_period_ns, obu_antenna_height_m=sc.obu.antenna_height_m,
            penetration=sc.demand.penetration, prr_bin_m=sc.recording.prr_bin_m,
            prr_max_m=sc.recording.prr_max_m, latency_bin_ns=sc.recording.latency_bin_ns,
            reception_sample=sc.recording.reception_sample,
            kpi_sample=sc.recording.kpi_sample, apps=wiring.applications(sc),
            driver=reaction, step_exact_channel=reaction is not None, window_steps=window,
            forward=sc.rsu.forward, payload=payload, topics=topics, v2n=v2n, realtime=realtime,
            event_names=tuple(e.name for e in events),
            equipped=wiring.equipped_participants(sc))
        out = Path(out_dir)
    except BaseException:
        drop_prestarted()  # no run follows: do not leave it waiting in a library process
        if traffic is not None:
            traffic.close()
        raise
    rec: Recorder | None = None
    try:
        # the RSUs run here; with the traffic process they read its signal states
        rsus: list[Any] = make_rsus(
            SignalMirror(traffic) if piped else traffic.conn, net, sites, geo=built.geo,
            antenna_height_m=sc.rsu.antenna_height_m, start=sc.start,
            spat_period_ns=sc.rsu.spat_period_ns, map_period_ns=sc.rsu.map_period_ns,
            seed=sc.seed, payload=payload, rsi=wiring.rsi(sc), rsm=wiring.rsm(sc, sites),
            sources={DOWNLINK_SOURCE: DownlinkRsiConfig()} if realtime else None)
        # SUMO has loaded while the RSUs were built: a SUMO that cannot start, or a signal
        # plan SPAT cannot carry, fails here, before the recorder clears the run folder
        if piped:
            traffic.ready()
        read_signal_plans(rsus)
        broker: dict[str, str] = {}  # what carries the messages, once the bus is open
        info: dict[str, Any] = dict(sumo_version=built.sumo_version, bus=bus_recorded,
                                    broker=broker, channel=channel,
                                    rsu_names=[r.name for r in rsus], pipeline=piped,
                                    payload=payload, topics=topics, realtime=realtime)
        rec = Recorder(out, checkpoint_ns=sc.recording.checkpoint_ns)
        # until it ends, the folder says a run is under way, and from its checkpoints on how
        # far it is recorded (recorded_ns): a run killed outright leaves this
        rec.write_json("run.json", run_json(sc, "running", **info))
        with rec:
            sim = Simulation(traffic=traffic, roadside=rsus, channel=channel, geo=built.geo,
                             recorder=rec, config=cfg, seed=sc.seed)
            if sys.platform == "win32":  # the MQTT client needs add_reader (v2x.bus)
                asyncio.set_event_loop_policy(
                    asyncio.WindowsSelectorEventLoopPolicy())  # type: ignore[attr-defined]
            cloud = (CloudCongestionApp(wiring.congestion_detector(
                sc, net, built.geo, {r.name: (r.x, r.y) for r in rsus}), zone=sc.zone)
                if sc.cloud.congestion else None)
            with fewer_collections():  # the start-up graph is not traversed again (v2x._gc)
                summary = asyncio.run(_run(sim, bus, progress, broker, cloud))
            summary.stops_skipped = list(traffic.skipped())
        # "complete" only once every table is closed, each in its one file
        rec.write_json("run.json", run_json(
            sc, "complete", summary=summary, wall_total_s=time.perf_counter() - wall0,
            **info))
    except BaseException as exc:
        if rec is not None:  # say what happened next to the partial recording, lose nothing
            stopped = isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))
            rec.write_json("run.json", run_json(sc, "interrupted" if stopped else "failed",
                                                error=exc, recorded_ns=rec.recorded_ns,
                                                **info))
        traffic.close()  # stop and reap SUMO (and its process) before the error goes up
        raise
    finally:
        if piped:  # the traffic process winds down while the report is written
            traffic.close(wait=False)
        else:
            traffic.close()
    try:
        with fewer_collections():
            evaluation = analysis.evaluate(out)
            reports = analysis.write_reports(evaluation, out, lang=lang)
    finally:
        traffic.close()  # idempotent; reaps the traffic process
    return RunResult(out_dir=out, summary=summary, evaluation=evaluation, reports=reports)


#: largest seed SUMO accepts (``--seed`` is a C int)
MAX_SEED = 2**31 - 1


@contextlib.contextmanager
def _naming_the_file(sc: scenarios.Scenario) -> Iterator[None]:
    """A ConfigError raised inside names the scenario file (when it does not name one)."""
    try:
        yield
    except ConfigError as exc:
        if exc.file is not None or sc.file is None:
            raise
        raise exc.in_file(sc.file) from exc


def _read_net(sc: scenarios.Scenario, net_file: Path) -> Any:
    """The network as sumolib reads it (RSU sites, MAP geometry). The loader has checked a
    ``path`` network's XML; what sumolib still refuses is an error of the scenario's network
    (ConfigError naming the file and ``network.path``), never a traceback of sumolib's."""
    try:
        return sumolib.net.readNet(str(net_file), withPrograms=True)
    except Exception as exc:  # noqa: BLE001 - a foreign reader: any failure is the file's
        key = "network.path" if getattr(sc.network, "kind", "") == "path" else "network"
        try:  # the path as the scenario writes it, relative to its folder
            value = net_file.relative_to(sc.folder.resolve()).as_posix()
        except ValueError:
            value = str(net_file)
        raise ConfigError(f"sumolib cannot read the network {net_file}: "
                          f"{type(exc).__name__}: {exc}", file=sc.file, key=key,
                          value=value) from exc


def check_criteria(sc: scenarios.Scenario) -> None:
    """Check, before running, that every criterion names a KPI the analysis will produce.

    The KPI names come from the analysis itself, evaluated on an empty recording with the
    scenario's settings (PRR bins and all), cached (:func:`~v2x.cli._kpi_names.kpi_names`).
    Raises ConfigError naming the scenario file, the key ``criteria[i].kpi``, the value and the
    closest names.
    """
    if not sc.criteria:
        return
    known = kpi_names(run_json(sc, "complete"))
    for i, c in enumerate(sc.criteria):
        if c.kpi not in known:
            close = difflib.get_close_matches(c.kpi, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            if c.kpi.startswith("benefit.") and not sc.benefit.compare:
                hint = "; benefit.* KPIs need [benefit] compare = true"
            raise ConfigError(f"unknown KPI {c.kpi!r}{hint}",
                              file=sc.file or sc.folder / "scenario.toml",
                              key=f"criteria[{i}].kpi", value=c.kpi)


async def _run(sim: Simulation, bus_spec: str,
               progress: Callable[[StepProgress], None] | None,
               broker: dict[str, str], cloud: CloudCongestionApp | None = None) -> RunSummary:
    async with open_bus(bus_spec, qos_of=topic_qos) as bus:
        broker.update(bus.broker)  # run.json names it, also when the run then fails
        if cloud is None:
            return await sim.run(bus, progress=progress)
        # the cloud application is a client of the same broker, as an external one would be
        async with _beside(cloud, bus.url if bus_spec == "embedded" else bus_spec):
            summary = await sim.run(bus, progress=progress)
        summary.cloud = {"bsms": cloud.bsms, "decode_errors": cloud.decode_errors,
                         "downlinked": len(cloud.sent)}
        return summary


@contextlib.asynccontextmanager
async def _beside(app: CloudCongestionApp, bus_spec: str) -> AsyncIterator[None]:
    """``app`` runs on its own connection to ``bus_spec`` (subscribed when this enters)
    until the block ends; a failure of the application is raised at the end."""
    async with open_bus(bus_spec, qos_of=topic_qos) as bus:
        ready = asyncio.Event()
        task = asyncio.get_running_loop().create_task(app.run(bus, ready=ready),
                                                      name="v2x-cloud-congestion")
        try:
            waiter = asyncio.get_running_loop().create_task(ready.wait())
            await asyncio.wait({task, waiter}, timeout=10.0,
                               return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                task.result()  # it failed before subscribing: raise it
            yield
        finally:
            task.cancel()
            results = await asyncio.gather(task, return_exceptions=True)
        if isinstance(results[0], Exception):
            raise results[0]


#: what ``run.json`` ``status`` says (docs/recording.md): under way (or killed outright),
#: complete, failed with an ``error``, stopped with Ctrl-C
RUN_STATUSES = ("running", "complete", "failed", "interrupted")


def run_json(sc: scenarios.Scenario, status: str, *, error: BaseException | None = None,
             sumo_version: str = "", bus: str = "memory", channel: Any = None,
             rsu_names: Sequence[str] = (), summary: RunSummary | None = None,
             wall_total_s: float = 0.0, pipeline: bool = False,
             payload: str = "uper", recorded_ns: int | None = None,
             topics: str = "v2x", broker: dict[str, str] | None = None,
             realtime: bool = False) -> dict[str, Any]:
    """The content of ``run.json`` (the one place it is built; keys in docs/recording.md).

    Every status carries what is known before the run starts: what identifies the run and
    times its rows (``scenario_id``, ``seed``, ``start``, ``step_ns``; ``v2x check`` reads the
    frames of a partial recording against its start), its settings and criteria (so a partial
    recording can be evaluated as far as it goes) and ``status``. ``complete`` adds the counts
    and wall times of the run (everything ``analysis._recording.RUN_KEYS`` lists), from
    ``summary`` and ``wall_total_s``; left at their defaults they describe a run with no rows
    (the channel by the scenario's ``channel.type``). ``failed`` and ``interrupted`` add
    ``error`` and ``recorded_ns`` [ns], the simulated time up to which every table was on disk
    (the recorder's last checkpoint; the recorder adds it to a ``running`` one itself).
    ``broker`` ({"name", "version"} of what carried the messages, :attr:`v2x.bus.Bus.broker`)
    is ``{}`` until the bus is open.
    """
    if status not in RUN_STATUSES:
        raise ValueError(f"status must be one of {RUN_STATUSES}, got {status!r}")
    known = {
        "scenario_id": sc.id, "seed": sc.seed, "start": sc.start.isoformat(),
        "step_ns": sc.step_ns, "title": sc.title, "title_zh": sc.title_zh,
        "duration_ns": sc.duration_ns, "sumo_version": sumo_version, "bus": bus,
        "broker": dict(broker or {}),
        "channel": sc.channel.type if channel is None else channel.name,
        "channel_params": getattr(channel, "params", {}),
        "rsu_names": list(rsu_names),
        "applications": [app.name for app in wiring.applications(sc)],
        "criteria": [c.as_dict() for c in sc.criteria],
        "reception_sample": {"fraction": sc.recording.reception_sample,
                             "receivers": "seeded sample of OBUs and RSUs + app-used receptions"},
        "kpi_sample": {"fraction": sc.recording.kpi_sample,
                       "receivers": "every OBU and RSU" if sc.recording.kpi_sample >= 1.0
                       else "seeded sample of OBUs and RSUs (the reception sample's draw)"},
        "prr_bin_m": sc.recording.prr_bin_m, "prr_max_m": sc.recording.prr_max_m,
        "latency_bin_ns": sc.recording.latency_bin_ns,
        "pipeline": pipeline, "payload": payload, "topics": topics, "realtime": realtime,
        **benefit_run_json(sc),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if status != "complete":
        return {**known, "status": status,
                **({"error": f"{type(error).__name__}: {error}"} if error is not None else {}),
                **({"recorded_ns": int(recorded_ns)} if recorded_ns is not None else {})}
    s = summary if summary is not None else RunSummary()
    return {
        **known,
        "counts": {"vehicles": s.vehicles, "equipped": s.equipped, "rsus": len(rsu_names),
                   "steps": s.steps},
        "tx_counts": s.tx_counts, "bus_messages": s.bus_messages,
        "stops_skipped": s.stops_skipped,
        "wall_s": s.wall_s,            # the simulation loop
        "wall_total_s": wall_total_s,  # build + RSU set-up + loop + recording
        "summary": {k: v for k, v in asdict(s).items() if k not in ("tx_counts",)},
        "status": status,
    }
