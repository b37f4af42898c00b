"""The simulation loop, as its list of stages.

Every step (default 100 ms of simulated time) the traffic backend advances and, between two
SUMO steps, the loop does what must see the live simulation: scripted events fire, new
vehicles are registered, ground truth (hard braking, collisions, teleports:
:mod:`v2x.sim._truth`) is taken, the OBUs whose BSM is due are chosen (with their msgCnt),
and every RSU decides its due messages (SPAT reads the live signal state, the RSM perceives
the road users; messages that can wait, the RSM frames, are encoded once at the window's end:
:meth:`roadside.RoadsideUnit.queue`). The rest runs
for a *window* of ``SimConfig.window_steps`` steps at once (default 20, i.e. 2 s; fewer at city
scale, where the window's senders x receivers reach ``max_window_pairs``), vectorized
over every vehicle row, transmission and link of the window, so Python's overhead is paid
once per window. One window is these stages
(:meth:`Simulation.run`; their inputs and outputs are in :mod:`v2x.sim._stages`):

1. **traffic**: step SUMO (:class:`TrafficWindow`);
2. **transmit**: OBU BSMs encoded into real UPER frames, and the RSUs' SPAT, MAP, RSI, RSM
   (:class:`Transmissions`);
3. **receivers**: a step's equipped vehicles, then every RSU (:class:`Receivers`);
4. **channel**: candidate links within the channel model's own range
   (:attr:`~v2x.channel.ChannelModel.max_range_m`) from one search (dense blocks or a grid
   of cells), then the model decides reception and latency per link (:class:`Links`);
5. **receive**: what every OBU decoded: BSMs decoded once from their frames (PC5 is a
   broadcast), other messages decoded on demand (:class:`~v2x.apps.DecodedBsm`); an RSU
   that answers what it hears (a payment zone, :mod:`roadside._vnfp`) gets the BSMs it
   decoded, and then windows are one step long;
6. **applications**: every configured on-board application assesses what its hosts received
   (:class:`~v2x.apps.AppWindow`); warnings start and hold per (host, target)
   (:class:`~v2x.apps.ThreatHold`);
7. **act**: a warned driver brakes after the reaction time (closed loop,
   :class:`~v2x.apps.DriverReaction`): actions go back to the traffic backend;
8. **KPIs**: exact online aggregates (PRR bins, latency and inter-packet-gap histograms);
9. **record**: the window's rows of every table;
10. **bus**: RSUs forward what they heard and sent, one uplink per RSU and step, published
    step by step (:class:`~v2x.bus.StepPublisher`): a step's messages leave, at most 50 in
    flight, and the loop waits until the recording tap has received them (a barrier) before
    the next step's leave, so results do not depend on machine speed and a broker never
    queues a window's burst. Stages 1-9 (and checkpoints) run on one worker thread, so the
    event loop keeps serving the bus (keep-alives, reconnections) while a window computes;
    through a broker (not the memory bus, not in real time) the worker computes the next
    window while this one's messages leave, in the same order of work (same recording).
11. **checkpoint**: every 30 s of simulated time (the recorder's ``checkpoint_ns``), the
    aggregates and nodes as they stand and every buffered row go to disk, and ``run.json``
    says how far (``recorded_ns``): a run killed outright keeps all of it.

Open loop, results do not depend on the window size except through the order of the
channel's random draws (one draw per link of the window) and a vehicle that leaves and
re-enters within a window keeping its inter-packet-gap clocks: with the ideal channel,
windows of 1 and 10 steps give the same recording (tested). A closed loop (a driver model)
draws the channel per step from a generator keyed by the step (``step_exact_channel``) and
keeps windows no longer than the reaction time, so its recording equals the run processed
one step at a time (tested). Receptions are processed in the step they were sent in: the
channel latency (a few ms to tens of ms) is recorded, and applications see a message within
the same 100 ms step. Randomness: one ``SeedSequence(seed)`` split into independent
generators per component (channel, equipage/msgCnt/sampling, RSU sampling).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar, cast

import numpy as np

from v2x.apps import (
    Application,
    AppWindow,
    Assessments,
    DecodedBsm,
    DriverReaction,
    HeardMaps,
    ReceivedLinks,
    ThreatHold,
    most_critical,
)
from v2x.bus import (
    Bus,
    BusMessage,
    RunTopics,
    StepPublisher,
    Tap,
    Telemetry,
    UuUplink,
    openv2x_payload,
    parse_topic,
    payload_error,
    rsi_from_openv2x,
)
from v2x.channel import (
    ChannelLoadStats,
    ChannelModel,
    LinkBatch,
    NeighbourList,
    Reception,
    ScheduledChannel,
)
from v2x.errors import DecodeError
from v2x.geo import GeoFrame
from v2x.messages import decode_frame
from v2x.messages._bsm import HARD_BRAKING_BIT, BsmBatch, BsmFields
from v2x.messages._envelope import pack_frame_groups
from v2x.messages._json import to_json_bytes
from v2x.messages._spat import SpatPhaseStates
from v2x.messages._units import (
    decode_acceleration,
    decode_heading,
    decode_speed,
    decode_vehicle_length,
    decode_vehicle_width,
    sec_mark,
)
from v2x.messages._uper import (
    FrameReader,
    bsm_frame_lengths,
    decode_bsm_frames,
    encode_bsm_rows,
)
from v2x.msgset import MSG_TYPES
from v2x.recorder import Binary, Histogram, PairClock, PrrBins, Recorder, binary, categorical
from v2x.sim._realtime import RealTimeClock
from v2x.sim._stages import Links, Receivers, TrafficWindow, Transmissions
from v2x.sim._truth import GroundTruth
from v2x.sim._types import (
    PERSON_NODE_BASE,
    Outgoing,
    Roadside,
    RoadUsers,
    ScriptedStop,
    queuing,
)
from v2x.traffic import Action, PersonStates, TrafficBackend, VehicleStates

__all__ = ["RSU_NODE_BASE", "Outgoing", "Roadside", "RunSummary", "ScriptedStop", "SimConfig",
           "Simulation", "StepProgress"]

#: node ids of RSUs start here; vehicles are numbered 0, 1, ... by first appearance
RSU_NODE_BASE = 1_000_000
_BSM = MSG_TYPES.index("BSM")
_MAP = MSG_TYPES.index("MAP")
_CODE = {name: i for i, name in enumerate(MSG_TYPES)}
_PEDESTRIAN_CLASS = 82
_T = TypeVar("_T")  # J2735 / T/CSAE 53 BasicVehicleClass of a pedestrian


@dataclass(frozen=True)
class SimConfig:
    """Settings of one run (all from the scenario).

    ``apps`` are the on-board applications every OBU runs (:class:`~v2x.apps.Application`);
    ``driver`` makes a warned driver brake (closed loop; ``None``: open loop). With a driver,
    the window must not be longer than the reaction time plus one step, and the channel draws
    per step (``step_exact_channel``), so the run equals one processed step by step.
    """

    start: dt.datetime
    duration_ns: int
    step_ns: int = 100_000_000
    zone: str = "xiqing"
    bsm_period_ns: int = 100_000_000
    obu_antenna_height_m: float = 1.5
    penetration: float = 1.0
    prr_bin_m: float = 20.0
    prr_max_m: float = 500.0
    latency_bin_ns: int = 100_000
    reception_sample: float = 0.05
    #: share of the equipped vehicles (and of the RSUs) whose links the delivery KPIs count, a
    #: seeded draw per vehicle (the reception sample's draw: one sample holds the other). Below
    #: 1, with no application and a channel deciding each link on its own, vehicles outside
    #: both samples are not receivers at all: nothing would read their receptions (city scale)
    kpi_sample: float = 1.0
    apps: tuple[Application, ...] = ()
    driver: DriverReaction | None = None
    forward: bool = True
    payload: str = "uper"  # BSM uplink payloads: "uper" (length-prefixed frames) or "json"
    topics: str = "v2x"  # bus topic profile (v2x.bus.PROFILES): "v2x" or "openv2x"
    telemetry: bool = True  # v2x profile: publish v2x/{zone}/sim/{clock,warnings,events}
    v2n: UuUplink | None = None  # OBUs also send BSMs over cellular Uu (obu/{id}/up/bsm)
    stops: tuple[ScriptedStop, ...] = ()
    event_names: tuple[str, ...] = ()  # the scenario's triggered events, in file order
    equipped: Mapping[str, bool] = field(default_factory=dict)  # fixed OBU equipage by name
    window_steps: int = 20  # steps processed together (see the module docstring)
    max_window_pairs: int = 2_000_000  # a window ends once its steps' senders x receivers
    # reach this (city scale: memory bounded by one step's links; see _traffic); a window of
    # xiqing-south-station has at most 0.69 M, so there it never binds
    step_exact_channel: bool = False  # channel draws per step (window-independent results)
    #: pace the loop to the wall clock, one step at a time (:mod:`v2x.sim._realtime`), and
    #: hand RSI from the RSUs' downlink topics to the RSUs (``roadside.DownlinkRsiSource``)
    realtime: bool = False

    def __post_init__(self) -> None:
        w = self.window_steps
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"window_steps must be an integer >= 1, got {w!r}")
        names = [a.name for a in self.apps]
        if len(set(names)) != len(names):
            raise ValueError(f"an application is configured twice: {names}")
        if self.driver is not None and w > self.driver.lookahead_steps + 1:
            raise ValueError(f"window_steps {w} is longer than the driver's reaction time "
                             f"({self.driver.lookahead_steps} steps) + 1: a warned driver's "
                             "braking would come after SUMO had moved on")


@dataclass(frozen=True)
class StepProgress:
    """Progress of a run, handed to the progress callback."""

    t_ns: int
    duration_ns: int
    vehicles: int
    messages: int
    wall_s: float
    lag_ms: float | None = None  # real time: how late this step's messages left [ms]


@dataclass
class RunSummary:
    """Counts of a finished run (written into ``run.json``)."""

    steps: int = 0
    vehicles: int = 0
    equipped: int = 0
    rsus: int = 0
    tx_counts: dict[str, int] = field(default_factory=dict)
    bus_messages: int = 0
    warnings: int = 0
    warnings_by_app: dict[str, int] = field(default_factory=dict)
    reactions: int = 0
    collisions: int = 0
    hard_braking: int = 0
    teleports: int = 0
    stops_skipped: list[str] = field(default_factory=list)
    decode_errors: int = 0
    bus_foreign: int = 0        # messages on the run's topics it did not publish, decodable
    bus_decode_errors: int = 0  # of those, payloads that do not decode (bus_decode_error)
    bus_faults: dict[str, Any] = field(default_factory=dict)  # Bus.stats(): reconnects, ...
    v2n_lost: int = 0  # BSMs the cellular Uu uplink lost (SimConfig.v2n)
    v2n_latency_ms: dict[str, float] = field(default_factory=dict)  # simulated Uu: n, mean, p50..
    wall_s: float = 0.0
    #: a scheduled channel's load (``mode4``): cbr_mean, cbr_p95, cr_mean, dropped, ...
    channel_load: dict[str, float] = field(default_factory=dict)
    #: a real-time run's pacing (:meth:`v2x.sim.RealTimeClock.summary`): rtf, lag_mean_ms,
    #: lag_p95_ms, lag_max_ms, steps, wall_s; empty as fast as possible
    realtime: dict[str, float] = field(default_factory=dict)
    downlink: int = 0  # downlink messages (RSI) handed to an RSU to broadcast
    #: the ``[cloud]`` application's counters: bsms (read from the uplinks), decode_errors,
    #: downlinked (RSI it sent down); empty without one
    cloud: dict[str, int] = field(default_factory=dict)


class _Grow:
    """Per-vehicle-index state arrays, grown as vehicles appear."""

    def __init__(self, rng: np.random.Generator,
                 equipped: Mapping[str, bool] | None = None) -> None:
        self.rng = rng
        self.equipped = dict(equipped or {})  # names whose equipage the scenario fixes
        self.n = 0
        self.u = np.empty((0, 3))          # uniform draws: equipage, msgCnt start, sampling
        self.first_ns = np.empty(0, np.int64)
        self.sent = np.empty(0, np.int64)  # BSMs sent so far
        self.index_of: dict[str, int] = {}  # name -> index
        self.names: list[str] = []          # static attributes, for nodes.parquet
        self.static = np.empty((0, 3))      # length, width [m], classification

    def ensure(self, st: VehicleStates) -> None:
        """Grow the arrays to cover every vehicle index present in ``st``."""
        n = int(st.index.max()) + 1
        if n <= self.n:
            return
        k = n - self.n
        self.u = np.vstack([self.u, self.rng.random((k, 3))])
        self.first_ns = np.concatenate([self.first_ns, np.full(k, st.t_ns, np.int64)])
        self.sent = np.concatenate([self.sent, np.zeros(k, np.int64)])
        static = np.full((k, 3), np.nan)
        names = [""] * k
        new = np.flatnonzero(st.index >= self.n)  # vehicles appear in the step they depart
        rel = st.index[new] - self.n
        static[rel] = np.column_stack([st.length[new], st.width[new], st.classification[new]])
        for r, i in zip(rel.tolist(), new.tolist(), strict=True):
            names[r] = str(st.names[i])
            self.index_of[names[r]] = self.n + r
            fixed = self.equipped.get(names[r])
            if fixed is not None:  # the draw stays drawn (same stream), its outcome is fixed
                self.u[self.n + r, 0] = -1.0 if fixed else 2.0
        self.static = np.vstack([self.static, static])
        self.names.extend(names)
        self.n = n



#: channel models whose links are decided each on its own (no interference between a step's
#: transmissions), so a step's links may be evaluated in chunks of senders; a model says so
#: itself with a true ``links_independent`` attribute. A model with interference (Mode 4)
#: must see every transmission of a step in one call, and does.
_PER_LINK_MODELS = ("ideal", "tr37885-urban", "tr37885-highway")


def _links_independent(channel: ChannelModel) -> bool:
    return bool(getattr(channel, "links_independent", channel.name in _PER_LINK_MODELS))


_READ_CACHE_MAX = 100_000  # distinct frames kept per cache of _read_once


def _read_once(cache: dict[bytes, Any], read: Callable[..., Any], frame: bytes,
               now_ns: int) -> Any:
    """``read(frame, now_ns=now_ns)`` of a non-BSM frame, each distinct frame read once
    (``cache``, emptied when it holds more than ``_READ_CACHE_MAX``); None where the frame does
    not decode."""
    if frame not in cache:
        if len(cache) > _READ_CACHE_MAX:
            cache.clear()
        try:
            cache[frame] = read(frame, now_ns=now_ns)
        except DecodeError:
            cache[frame] = None
    return cache[frame]


class _Worker:
    """One worker thread for the loop's CPU work and disk writes, in order:
    ``await work(fn, *args)`` runs ``fn(*args)`` there. On exit (also on cancellation) it
    waits for the call under way, so nothing touches the recorder after the run returns."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    async def __aenter__(self) -> Self:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="v2x-sim")
        return self

    async def __aexit__(self, *exc: object) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    async def __call__(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await self.start(fn, *args)

    def start(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        """Queue ``fn(*args)`` now (after the calls queued before it) without waiting."""
        assert self._pool is not None
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)


class Simulation:
    """One run of a scenario: wires traffic, RSUs, channel, applications, bus and recorder.

    Args:
        traffic: the traffic backend (SUMO or scripted).
        roadside: the RSUs; RSU ``r`` is node ``RSU_NODE_BASE + r``.
        channel: the PC5 channel model; links are searched within its ``max_range_m``.
        geo: network x/y <-> lat/lon.
        recorder: where the run is written.
        config: run settings.
        seed: the run's seed; one ``SeedSequence`` split per component.
    """

    def __init__(self, *, traffic: TrafficBackend, roadside: Sequence[Roadside],
                 channel: ChannelModel, geo: GeoFrame, recorder: Recorder, config: SimConfig,
                 seed: int) -> None:
        self.traffic = traffic
        self.roadside = list(roadside)
        self.channel = channel
        self.geo = geo
        self.rec = recorder
        self.cfg = config
        ss = np.random.SeedSequence(seed)
        ch_seq, veh_seq = ss.spawn(2)
        self._channel_seq = ch_seq
        self.rng_channel = np.random.default_rng(ch_seq)
        self.veh = _Grow(np.random.default_rng(veh_seq), config.equipped)
        self.prr = PrrBins(config.prr_bin_m, config.prr_max_m)
        self.latency = Histogram(config.latency_bin_ns, 1_000_000_000)
        self.ipg = Histogram(config.latency_bin_ns * 10, 10_000_000_000)
        self.load = ChannelLoadStats()  # CBR / CR of a scheduled channel (mode4)
        self.pairs = NeighbourList()  # the link search, kept across windows
        self.clock = PairClock()
        self.truth = GroundTruth(config.step_ns, lane_limits=traffic.lane_speed_limits())
        self.summary = RunSummary(rsus=len(self.roadside))
        self.next_tx_id = 0
        self.steps_done = 0
        n_r = len(self.roadside)
        self.rsu_node = RSU_NODE_BASE + np.arange(n_r, dtype=np.int64)
        self.rsu_xy = np.array([[r.x, r.y] for r in self.roadside], np.float64).reshape(-1, 2)
        self.rsu_h = np.array([r.antenna_height_m for r in self.roadside], np.float64)
        # reception rows are kept for a seeded sample of receivers: OBUs by a per-vehicle
        # draw, RSUs by this per-RSU draw (the same fraction)
        rsu_seq = ss.spawn(1)[0]
        self._uu_rng = np.random.default_rng(ss.spawn(1)[0])  # the V2N (Uu) uplink's draws
        self._v2n_lat: list[np.ndarray] = []  # simulated Uu latency of delivered BSMs [ms]
        rsu_u = np.random.default_rng(rsu_seq).random(n_r)
        self.rsu_sampled = rsu_u < config.reception_sample
        self.rsu_counted = rsu_u < config.kpi_sample
        # vehicles whose receptions nobody reads are not simulated as receivers: only with
        # a channel that decides each link on its own (their links change no other's)
        self._receiving_share = (
            max(config.kpi_sample, config.reception_sample)
            if config.kpi_sample < 1.0 and not config.apps and _links_independent(channel)
            else 1.0)
        self._pending_stops = sorted(config.stops, key=lambda s: s.at_ns)
        self._event_number = {n: i for i, n in enumerate(config.event_names)}
        self._topic_info: dict[str, tuple[str, str]] = {}
        self._events: list[dict[str, np.ndarray]] = []  # the window's events, in step order
        self._computed_ns = 0  # the last step of the latest window computed [ns]
        self._persons: list[PersonStates] = []  # the window's persons, per step
        # uplink topic of every RSU and message type, built (and validated) once
        self._topics = RunTopics(config.topics, zone=config.zone)
        self._uplink = {(r, m): self._topics.rsu_up(unit.name, m)
                        for r, unit in enumerate(self.roadside) for m in MSG_TYPES}
        self._rsu_index = {unit.name: r for r, unit in enumerate(self.roadside)}
        self._tx_counts = np.zeros(len(MSG_TYPES), np.int64)
        # road users are gathered per step only when an RSU perceives them (sends RSM); an
        # RSU that does not say which messages it sends is assumed to
        self._perceiving = any("RSM" in getattr(r, "msg_types", ("RSM",))
                               for r in self.roadside)
        self._no_users = RoadUsers.empty()
        # the RSUs' messages of a window are decided per step and encoded at its end
        self._rsu_queues = [queuing(unit) for unit in self.roadside]
        # RSUs that answer what they hear (a payment zone, roadside VNFP) get the BSMs they
        # decoded after each window; with one, windows are one step long, so an answer goes
        # out at the step after its request, as in a run processed step by step
        self._listening = [r for r, unit in enumerate(self.roadside)
                           if getattr(unit, "listens", False)]
        # applications: their threat state, the message codes they read, "used_by" names
        self._holds = [ThreatHold() for _ in config.apps]
        self._app_reads = [tuple(_CODE[m] for m in a.consumes) for a in config.apps]
        self._used_by_names = ("",) + tuple(a.name for a in config.apps)
        self._warn_counts = np.zeros(len(config.apps), np.int64)
        # what the hosts learned from the MAPs they received: one for every application,
        # learned once per window before the first application that reads MAP assesses it
        self._maps = HeardMaps() if any(_MAP in r for r in self._app_reads) else None
        self._decoded: dict[bytes, Any] = {}  # decoded non-BSM frames, by their bytes
        self._spat_states: dict[bytes, SpatPhaseStates | None] = {}  # SPAT frames as columns
        self._reader = FrameReader()  # decode_frame, with a fast path for SPAT frames
        self._start_utc_ns = round((config.start - dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
                                   .total_seconds() * 1e6) * 1000
        # telemetry on the bus: it passes every recorder call on and keeps warnings and events
        self._telemetry: Telemetry | None = None
        if config.telemetry and config.topics == "v2x":
            self._telemetry = Telemetry(recorder, zone=config.zone,
                                        start_utc_ns=self._start_utc_ns)
            self.rec = cast(Recorder, self._telemetry)

    # ------------------------------------------------------------------------------------
    async def run(self, bus: Bus, *,
                  progress: Callable[[StepProgress], None] | None = None) -> RunSummary:
        """Run every step of the scenario, a window of steps at a time, as the list of
        stages of the module docstring; returns the counts. The caller closes the recorder.

        Raises:
            SumoError, BusError, RecordingError: from the components, with causes chained.
        """
        cfg = self.cfg
        n_steps = cfg.duration_ns // cfg.step_ns
        wall0 = time.perf_counter()
        messages = 0
        rt = RealTimeClock() if cfg.realtime else None
        one_step = cfg.realtime or bool(self._listening)
        def window_size() -> int:
            return min(1 if one_step else cfg.window_steps, n_steps - self.steps_done)

        async with Tap(bus, self._topics.run_filter) as tap, _Worker() as work:
            pacer = StepPublisher(bus, tap)
            if rt is not None:
                rt.start()  # simulated time 0 is now
            # as fast as possible through a broker, the next window computes while this one's
            # messages leave: publishing mostly waits on the broker's round trips (the
            # README's main job on the embedded broker: 31.3 -> 29.0 s). On the memory bus
            # publishing is Python work of this process, and overlapping it slowed the loop
            # (the two threads hand the GIL to and fro): there it stays in turn
            overlap = rt is None and bus.url != "memory"
            following: asyncio.Future[Any] | None = None
            try:
                while self.steps_done < n_steps:
                    down: list[tuple[BusMessage, int]] = []
                    lag_ms = None
                    if rt is not None:  # wait for the step's wall instant, read the downlink
                        t_next = (self.steps_done + 1) * cfg.step_ns
                        await rt.until(t_next)
                        down = await work(self._downlink, tap.drain_foreign(), t_next)
                    # stages 1-9 and the window's bus messages are CPU work and disk writes:
                    # they run on a worker thread, so the event loop serves the bus meanwhile
                    this = following if following is not None else work.start(
                        self._window, window_size())
                    following = None
                    win, n_tx, pubs, pub_t = await this
                    messages += n_tx
                    self.steps_done += win.n_steps
                    self.summary.steps += win.n_steps
                    if overlap and self.steps_done < n_steps:
                        following = work.start(self._window, window_size())
                    if rt is not None:
                        lag_ms = rt.leaving(int(win.t_ns[0]))
                        await work(self._record_downlink, down, time.time_ns())
                    sent: tuple[list[BusMessage], np.ndarray] | None = None
                    if pubs:  # step by step, each step delivered before the next leaves
                        delivered, at = await pacer.publish_steps(pubs, pub_t)
                        sent = delivered, np.asarray(pub_t, np.int64)[at]
                    await work(self._after_bus, sent,
                               # in real time, foreign messages are read before each step
                               tap.drain_foreign() if rt is None else None,
                               # at the end, closing the recorder does it
                               int(win.t_ns[-1]) + cfg.step_ns if self.steps_done < n_steps
                               else None)
                    if progress is not None:
                        progress(StepProgress(int(win.t_ns[-1]), cfg.duration_ns, win.n_last,
                                              messages, time.perf_counter() - wall0, lag_ms))
            finally:
                if following is not None:  # an error left it computing: the worker waits
                    following.cancel()     # for it on exit; its result is not wanted
            if rt is not None:
                self.summary.realtime = rt.summary(n_steps * cfg.step_ns)
                await work(self._foreign_bus, tap.drain_foreign(),
                           n_steps * cfg.step_ns)  # what came after the last step
            self.summary.bus_faults = bus.stats()
        self._finish(pacer.published, wall0)
        return self.summary

    def _after_bus(self, sent: tuple[list[BusMessage], np.ndarray] | None,
                   foreign: Sequence[BusMessage] | None, checkpoint_ns: int | None) -> None:
        """Once a window's messages have left, in one call on the worker (each call is a
        hand-over between threads): the bus rows of ``sent`` (the delivered own messages and
        their step times), the ``foreign`` messages read meanwhile, and the checkpoint at
        ``checkpoint_ns`` [ns]; None: nothing of that kind."""
        if sent is not None:
            self._record_bus(*sent)
        if foreign is not None:
            self._foreign_bus(foreign)
        if checkpoint_ns is not None:
            self._checkpoint(checkpoint_ns)

    def _window(self, n_steps: int) -> tuple[TrafficWindow, int, list[tuple[str, bytes]],
                                              list[int]]:
        """Stages 1-9 of one window of ``n_steps`` steps, and its bus messages (stage 10's
        input): the window, its transmission count, the messages and their step times."""
        win = self._traffic(n_steps)
        self._computed_ns = int(win.t_ns[-1])
        tx = self._transmit(win)
        rx = self._receivers(win)
        links = self._channel(tx, rx)
        bsm = self._receive(win, tx)
        self._rsus_hear(tx, rx, links, bsm)
        used_by, starts = self._applications(win, tx, rx, links, bsm)
        self._act(win, starts)
        self._kpis(win, tx, rx, links)
        self._record(win, tx, rx, links, used_by)
        pubs, pub_t = self._bus_messages(win, tx, rx, links)
        if self.cfg.v2n is not None:
            pubs, pub_t = self._v2n_messages(win, tx, pubs, pub_t)
        if self._telemetry is not None:
            pubs, pub_t, _ = self._telemetry.merge(pubs, pub_t, win.t_ns)
        return win, tx.n, pubs, pub_t

    def _v2n_messages(self, w: TrafficWindow, tx: Transmissions,
                      pubs: list[tuple[str, bytes]], pub_t: list[int]
                      ) -> tuple[list[tuple[str, bytes]], list[int]]:
        """The window's RSU uplinks ``pubs`` with the OBUs' BSMs over cellular Uu merged in,
        each after its step's uplinks: every BSM whose step time is a multiple of the V2N
        period, through the Uu model (lost ones counted in ``summary.v2n_lost``), one
        message per BSM (its UPER frame, or JSON). Returns messages and step times; the
        simulated Uu latencies go to ``summary.v2n_latency_ms`` (run.json)."""
        uu = self.cfg.v2n
        assert uu is not None
        t = w.t_ns[w.step[w.bsm_rows]]
        pick = np.flatnonzero(t % uu.period_ns == 0)
        ok, lat = uu.transfer(pick.size, self._uu_rng)
        self.summary.v2n_lost += int(pick.size - np.count_nonzero(ok))
        rows, lat = pick[ok], lat[ok]
        self._v2n_lat.append(lat)
        senders = tx.bsm.sender[rows].tolist()
        if self.cfg.payload == "uper":
            bodies = [f.tobytes() for f in tx.bsm_frames[rows]]
        else:
            bodies = [to_json_bytes(j) for j in tx.bsm.take(rows).to_json()]
        keyed = sorted([(tt, 0, i) for i, tt in enumerate(pub_t)]
                       + [(int(t[r]), 1, i) for i, r in enumerate(rows.tolist())])
        out = [pubs[i] if kind == 0 else (self._topics.obu_up_bsm(senders[i]), bodies[i])
               for _, kind, i in keyed]
        return out, [tt for tt, _, _ in keyed]

    def _finish(self, published: int, wall0: float) -> None:
        cfg = self.cfg
        self._events.extend(self.truth.finish())
        self._write_events()  # collisions still open end with the run
        self.summary.bus_messages = published
        self.summary.tx_counts = {m: int(c) for m, c in zip(MSG_TYPES, self._tx_counts,
                                                           strict=True) if c}
        self.summary.warnings_by_app = {a.name: int(c) for a, c in zip(
            cfg.apps, self._warn_counts, strict=True)}
        self.summary.vehicles = self.veh.n
        self.summary.equipped = int(np.count_nonzero(self.veh.u[:, 0] < cfg.penetration))
        self.summary.wall_s = time.perf_counter() - wall0
        if isinstance(self.channel, ScheduledChannel):
            self.summary.channel_load = self.load.summary()
        if self._v2n_lat:
            lat = np.concatenate(self._v2n_lat)
            self.summary.v2n_latency_ms = {"n": int(lat.size), **(
                {"mean": float(lat.mean()), "p50": float(np.percentile(lat, 50)),
                 "p99": float(np.percentile(lat, 99)), "max": float(lat.max())}
                if lat.size else {})}
        self._write_aggregates()
        self._write_nodes()

    # -- 1. traffic ----------------------------------------------------------------------
    def _traffic(self, n_steps: int) -> TrafficWindow:
        """Step the traffic ``n_steps`` times, or fewer: the window ends after the step where
        the senders x receivers of its steps (the candidate links) reach ``max_window_pairs``,
        so memory stays bounded by one step's links whatever the vehicles, and the window's
        link arrays small enough to be reused (above 32 MB every temporary is fresh pages,
        :mod:`v2x._malloc`: a 1,000-vehicle window of 20 steps had 13.6 M links, 1.8 GB).
        Everything that must happen between two SUMO steps happens here, per step: scripted
        stops, new vehicles, ground truth, which OBUs send a BSM (and its msgCnt), and the
        RSUs' messages (they read the live signals; encoded at the window's end)."""
        cfg, veh = self.cfg, self.veh
        states: list[VehicleStates] = []
        sends: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        t = np.empty(n_steps, np.int64)
        sec = np.empty(n_steps, np.int64)
        base = 0
        pairs = 0  # senders x receivers of the window's steps
        n_rsu = len(self.roadside)
        for k in range(n_steps):
            if pairs >= cfg.max_window_pairs:
                t, sec = t[:k], sec[:k]
                break
            st = self.traffic.step()
            t[k] = st.t_ns
            sec[k] = sec_mark(cfg.start, st.t_ns)
            self._fire_stops(st.t_ns)
            self._scripted_events(st.t_ns)
            if st.n:
                veh.ensure(st)
            self._ground_truth(st)
            idx = st.index
            due = ((veh.u[idx, 0] < cfg.penetration)
                   & ((st.t_ns - veh.first_ns[idx]) % cfg.bsm_period_ns == 0))
            s = np.flatnonzero(due)
            sender = idx[s]
            counts.append((np.floor(veh.u[sender, 1] * 128).astype(np.int64)
                           + veh.sent[sender]) % 128)
            veh.sent[sender] += 1
            sends.append(s + base)
            base += st.n
            states.append(st)
            self._persons.append(self.traffic.persons())  # recorded with the trajectories
            n_rsu_msgs = 0
            if self.roadside:
                users = (self._road_users(st, self.traffic.persons()) if self._perceiving
                         else self._no_users)
                n_rsu_msgs = sum(unit.queue(st.t_ns, users) for unit in self._rsu_queues)
            receivers = int(np.count_nonzero(self._receiving(idx))) + n_rsu
            pairs += (s.size + n_rsu_msgs) * receivers
        return TrafficWindow.of(states, None, t, sec, np.concatenate(sends),
                                np.concatenate(counts), self._rsu_messages())

    def _receiving(self, idx: np.ndarray) -> np.ndarray:
        """(n,) bool: which of the vehicles ``idx`` (n,) int64 are PC5 receivers: the equipped
        ones, or only those of them in the KPI or reception sample (``_receiving_share``)."""
        u = self.veh.u[idx]
        on = u[:, 0] < self.cfg.penetration
        if self._receiving_share < 1.0:
            on &= u[:, 2] < self._receiving_share
        return on

    def _rsu_messages(self) -> list[tuple[int, int, Outgoing]]:
        """The RSU messages of the window's steps as (step, RSU index, message), in step
        order, then RSU order: what every RSU queued, encoded now (RSM frames of a window
        at once)."""
        sent = [unit.drain() for unit in self._rsu_queues]
        n_steps = max((len(d) for d in sent), default=0)
        return [(k, r, o) for k in range(n_steps) for r, d in enumerate(sent) for o in d[k]]

    def _road_users(self, st: VehicleStates, persons: PersonStates) -> RoadUsers:
        """What roadside sensors can see at this step: every vehicle (its centre: the front
        bumper minus half its length along its heading; ``equipped`` from the run's equipage
        draw) and every pedestrian (node ``PERSON_NODE_BASE + index``, never equipped)."""
        h = np.radians(st.heading_deg)
        half = st.length / 2.0
        n_p = persons.n
        if n_p == 0:  # vehicles alone: their own columns (no copies)
            return RoadUsers(
                node=st.index, ptc_type=np.ones(st.n, np.int8), x=st.x - half * np.sin(h),
                y=st.y - half * np.cos(h), speed=st.speed, heading_deg=st.heading_deg,
                accel=st.accel, length=st.length, width=st.width,
                classification=st.classification.astype(np.int16),
                equipped=self.veh.u[st.index, 0] < self.cfg.penetration)
        return RoadUsers(
            node=np.concatenate([st.index, PERSON_NODE_BASE + persons.index]),
            ptc_type=np.concatenate([np.ones(st.n, np.int8), np.full(n_p, 3, np.int8)]),
            x=np.concatenate([st.x - half * np.sin(h), persons.x]),
            y=np.concatenate([st.y - half * np.cos(h), persons.y]),
            speed=np.concatenate([st.speed, persons.speed]),
            heading_deg=np.concatenate([st.heading_deg, persons.heading_deg]),
            accel=np.concatenate([st.accel, np.full(n_p, np.nan)]),
            length=np.concatenate([st.length, persons.length]),
            width=np.concatenate([st.width, persons.width]),
            classification=np.concatenate([st.classification.astype(np.int16),
                                           np.full(n_p, _PEDESTRIAN_CLASS, np.int16)]),
            equipped=np.concatenate([self.veh.u[st.index, 0] < self.cfg.penetration,
                                     np.zeros(n_p, bool)]))

    def _scripted_events(self, t_ns: int) -> None:
        """Events the traffic side fired at this step (recorded as ``event_fired``, value =
        their position in the scenario's list) and their RSI actions, handed to every RSU
        (each raises or clears the event if it is within its reach)."""
        fired = self.traffic.fired()
        if fired:
            k = len(fired)
            self._events.append({"t_ns": np.array([t for t, _ in fired], np.int64),
                                 "kind": np.full(k, "event_fired", dtype=object),
                                 "vehicle": np.full(k, -1, np.int64),
                                 "other": np.full(k, -1, np.int64),
                                 "value": np.array([self._event_number.get(n, -1)
                                                    for _, n in fired], np.float64)})
        for action in self.traffic.fired_actions():
            for unit in self.roadside:
                setter = getattr(unit, "raise_event" if action.kind == "rsi_raise"
                                 else "clear_event", None)
                if setter is not None:
                    setter(action.target)

    # -- 2. transmit ---------------------------------------------------------------------
    def _transmit(self, w: TrafficWindow) -> Transmissions:
        """The window's PC5 transmissions: every due BSM as a real UPER frame, then the RSU
        messages, in step order."""
        cfg, st = self.cfg, w.states
        s = w.bsm_rows
        sender = st.index[s]
        vf = self._fields(st)  # every vehicle row's BSM content, standard units
        bsm = BsmBatch.assemble(vf, s, sender=sender, msg_cnt=w.bsm_msg_cnt,
                                sec_mark=w.sec_mark[w.step[s]])
        frames = encode_bsm_rows(bsm)  # real UPER MessageFrames, one per BSM (row)
        n_b, n_r = bsm.n, len(w.rsu_out)
        # RSU messages as columns: (step, rsu index, type code, size, msgCnt)
        r_cols = np.array([(k, r, _CODE[o.msg_type], o.size_bytes, o.msg_cnt)
                           for k, r, o in w.rsu_out], np.int64).reshape(n_r, 5)
        r_of = r_cols[:, 1]
        # all BSMs, then all RSU messages; `o` puts them in step order
        step = np.concatenate([w.step[s], r_cols[:, 0]])
        o = np.argsort(step, kind="stable")
        step = step[o]
        tx_id = self.next_tx_id + np.arange(n_b + n_r, dtype=np.int64)
        self.next_tx_id += n_b + n_r
        tx_type = np.concatenate([np.full(n_b, _BSM, np.int8), r_cols[:, 2].astype(np.int8)])[o]
        self._tx_counts += np.bincount(tx_type, minlength=len(MSG_TYPES))
        row = np.arange(n_b + n_r, dtype=np.int64)[o]
        return Transmissions(
            tx_id=tx_id, step=step, t_ns=w.t_ns[step],
            sender=np.concatenate([sender, self.rsu_node[r_of]])[o],
            msg_type=tx_type,
            msg_cnt=np.concatenate([bsm.msg_cnt, r_cols[:, 4]])[o],
            size_bytes=np.concatenate([bsm_frame_lengths(bsm), r_cols[:, 3]])[o],
            x=np.concatenate([st.x[s], self.rsu_xy[r_of, 0]])[o],
            y=np.concatenate([st.y[s], self.rsu_xy[r_of, 1]])[o],
            height_m=np.concatenate([np.full(n_b, cfg.obu_antenna_height_m),
                                     self.rsu_h[r_of]])[o],
            bsm_row=np.where(row < n_b, row, -1), rsu_msg=np.where(row >= n_b, row - n_b, -1),
            frames=self._frames_column(w, w.step[s], frames, bsm_frame_lengths(bsm),
                                       r_cols[:, 0], o),
            bsm=bsm, bsm_frames=frames, vehicle_fields=vf)

    # -- 3. receivers ----------------------------------------------------------------------
    def _receivers(self, w: TrafficWindow) -> Receivers:
        """Per step its receiving vehicles (:meth:`_receiving`), then every RSU."""
        cfg, veh, st = self.cfg, self.veh, w.states
        idx, n_steps = st.index, w.n_steps
        e = np.flatnonzero(self._receiving(idx))
        n_rsu = len(self.roadside)
        step = np.concatenate([w.step[e], np.repeat(np.arange(n_steps), n_rsu)])
        p = np.argsort(step, kind="stable")
        vehicle_row = np.concatenate([e, np.full(n_steps * n_rsu, -1)])[p]
        rsu = np.concatenate([np.full(e.size, -1), np.tile(np.arange(n_rsu), n_steps)])[p]
        is_veh = vehicle_row >= 0
        sampled = np.empty(vehicle_row.size, bool)
        u_sample = veh.u[idx[vehicle_row[is_veh]], 2]
        sampled[is_veh] = u_sample < cfg.reception_sample
        sampled[~is_veh] = self.rsu_sampled[rsu[~is_veh]]
        counted = np.empty(vehicle_row.size, bool)
        counted[is_veh] = u_sample < cfg.kpi_sample
        counted[~is_veh] = self.rsu_counted[rsu[~is_veh]]
        return Receivers(
            step=step[p],
            node=np.concatenate([idx[e], np.tile(self.rsu_node, n_steps)])[p],
            vehicle_row=vehicle_row, rsu=rsu,
            xy=np.concatenate([np.column_stack([st.x[e], st.y[e]]),
                               np.tile(self.rsu_xy, (n_steps, 1))])[p],
            height_m=np.concatenate([np.full(e.size, cfg.obu_antenna_height_m),
                                     np.tile(self.rsu_h, n_steps)])[p],
            sampled=sampled, counted=counted)

    # -- 4. channel ------------------------------------------------------------------------
    def _channel(self, tx: Transmissions, rx: Receivers) -> Links:
        """Candidate links of the same step within the channel model's own range, and the
        model's decision on each. A model with scheduling state (:class:`ScheduledChannel`,
        ``mode4``) is told who sends when (it maps each step's transmissions to 1 ms
        subframes after the step time itself) and hands back its channel load."""
        lb = self.pairs.find(np.column_stack([tx.x, tx.y]), rx.xy, self.channel.max_range_m,
                             tx_node=tx.sender, rx_node=rx.node, tx_group=tx.step,
                             rx_group=rx.step)
        if self.cfg.step_exact_channel:
            received, latency = self._evaluate_per_step(lb, tx, rx)
        elif len(lb) > self.cfg.max_window_pairs and _links_independent(self.channel):
            received, latency = self._evaluate_in_chunks(lb, tx, rx)
        else:
            r = self._evaluate(lb, tx, rx, 0, tx.n, 0, rx.step.size, self.rng_channel)
            received, latency = r.received, r.latency_ns
        if isinstance(self.channel, ScheduledChannel):
            self.load.add(self.channel.take_load())
        return Links(tx=lb.tx, rx=lb.rx, distance_m=lb.distance_m,
                     msg_type=np.take(tx.msg_type, lb.tx), received=received,
                     latency_ns=latency)

    def _evaluate(self, part: LinkBatch, tx: Transmissions, rx: Receivers, t0: int, t1: int,
                  r0: int, r1: int, rng: np.random.Generator) -> Reception:
        """The channel's decision on ``part`` (indices relative to tx rows t0:t1 and rx rows
        r0:r1)."""
        if isinstance(self.channel, ScheduledChannel):
            return self.channel.evaluate_scheduled(
                part, tx_t_ns=tx.t_ns[t0:t1], tx_node=tx.sender[t0:t1],
                tx_msg_type=tx.msg_type[t0:t1], rx_node=rx.node[r0:r1],
                tx_height_m=tx.height_m[t0:t1], rx_height_m=rx.height_m[r0:r1],
                size_bytes=tx.size_bytes[t0:t1], rng=rng)
        return self.channel.evaluate(part, tx_height_m=tx.height_m[t0:t1],
                                     rx_height_m=rx.height_m[r0:r1],
                                     size_bytes=tx.size_bytes[t0:t1], rng=rng)

    def _evaluate_in_chunks(self, lb: LinkBatch, tx: Transmissions,
                            rx: Receivers) -> tuple[np.ndarray, np.ndarray]:
        """The channel evaluated over runs of senders of at most ``max_window_pairs`` links
        each (one sender's links never split), in order, with the run's channel generator: a
        step of 12 M links (10,000 vehicles) in one call was 303 ns a link, in chunks of about
        2 M 88 ns (its temporaries are reused instead of fresh pages). Only for models that
        decide each link on its own (:func:`_links_independent`); the draws then come in
        another order than one call's, so a run is deterministic but not equal to the one
        without chunks (runs with fewer links per window never chunk)."""
        received = np.zeros(len(lb), bool)
        latency = np.zeros(len(lb), np.int64)
        ends = np.searchsorted(lb.tx, np.arange(1, tx.n + 1))  # links of senders < k + 1
        budget = self.cfg.max_window_pairs
        t0 = a = 0
        while t0 < tx.n:
            t1 = max(int(np.searchsorted(ends, a + budget, side="right")), t0 + 1)
            b = int(ends[t1 - 1])
            part = LinkBatch(lb.tx[a:b] - t0, lb.rx[a:b], lb.distance_m[a:b])
            r = self._evaluate(part, tx, rx, t0, t1, 0, rx.step.size, self.rng_channel)
            received[a:b], latency[a:b] = r.received, r.latency_ns
            t0, a = t1, b
        return received, latency

    def _evaluate_per_step(self, lb: LinkBatch, tx: Transmissions,
                           rx: Receivers) -> tuple[np.ndarray, np.ndarray]:
        """The channel evaluated step by step, each step with its own generator keyed by the
        run's step number: the outcome does not depend on how steps form windows."""
        received = np.zeros(len(lb), bool)
        latency = np.zeros(len(lb), np.int64)
        n_steps = int(tx.step[-1]) + 1 if tx.n else 0
        tb = np.searchsorted(tx.step, np.arange(n_steps + 1))
        rb = np.searchsorted(rx.step, np.arange(n_steps + 1))
        lbnd = np.searchsorted(lb.tx, tb)  # links are sorted by tx, tx by step
        seq = self._channel_seq
        for k in range(n_steps):
            a, b = int(lbnd[k]), int(lbnd[k + 1])
            t0, t1, r0, r1 = int(tb[k]), int(tb[k + 1]), int(rb[k]), int(rb[k + 1])
            rng = np.random.default_rng(np.random.SeedSequence(
                seq.entropy, spawn_key=(*seq.spawn_key, self.steps_done + k)))
            part = LinkBatch(lb.tx[a:b] - t0, lb.rx[a:b] - r0, lb.distance_m[a:b])
            r = self._evaluate(part, tx, rx, t0, t1, r0, r1, rng)
            received[a:b], latency[a:b] = r.received, r.latency_ns
        return received, latency

    # -- 5. receive ------------------------------------------------------------------------
    def _receive(self, w: TrafficWindow, tx: Transmissions) -> DecodedBsm:
        """What every OBU reads from the BSMs: each frame decoded once (a broadcast: every
        receiver gets the same bytes); frames that do not decode are counted and recorded
        as ``decode_error`` events. Other messages are decoded when an application asks."""
        bsm = self._decode_bsm(w.t_ns, w.step[w.bsm_rows], tx.bsm, tx.bsm_frames)
        self._write_events()
        return bsm

    def _decode_rsu_frames(self, w: TrafficWindow, tx: Transmissions) -> tuple[
            Callable[[str, np.ndarray], list[Any]],
            Callable[[np.ndarray], list[SpatPhaseStates | None]]]:
        """``decoded(msg_type, tx_rows)``: the decoded messages of these transmissions, and
        ``spat_states(tx_rows)``: the phase states of these SPAT transmissions read from the
        frames' bits (each distinct frame read once per run in either form; None where it
        does not decode)."""
        def frames_and_times(rows: np.ndarray) -> list[tuple[bytes, int]]:
            rows = np.asarray(rows, np.int64)
            out = []
            for r, t_ns in zip(tx.rsu_msg[rows].tolist(), tx.t_ns[rows].tolist(), strict=True):
                m = w.rsu_out[r][2]
                out.append((m.payload if m.frame is None else m.frame, self._start_utc_ns + t_ns))
            return out

        def decoded(msg_type: str, rows: np.ndarray) -> list[Any]:
            return [_read_once(self._decoded, self._reader.decode, frame, now_ns)
                    for frame, now_ns in frames_and_times(rows)]

        def spat_states(rows: np.ndarray) -> list[SpatPhaseStates | None]:
            return [_read_once(self._spat_states, self._reader.spat_states, frame, now_ns)
                    for frame, now_ns in frames_and_times(rows)]
        return decoded, spat_states

    # -- 5b. RSUs that answer hear their BSMs --------------------------------------------
    def _rsus_hear(self, tx: Transmissions, rx: Receivers, links: Links,
                   bsm: DecodedBsm) -> None:
        """Hand every listening RSU the BSMs it decoded in the window (sender, reported
        position, secMark, reception time: ``RoadsideUnit.heard``)."""
        if not self._listening:
            return
        rsu = rx.rsu[links.rx]
        got = np.flatnonzero(links.received & (links.msg_type == _BSM) & (rsu >= 0))
        rows = tx.bsm_row[links.tx[got]]
        for r in self._listening:
            mine = rsu[got] == r
            b, lk = rows[mine], got[mine]
            unit: Any = self.roadside[r]  # a listening RSU has heard() (roadside)
            unit.heard(sender=bsm.sender[b], x=bsm.x[b], y=bsm.y[b], sec_mark=bsm.sec_mark[b],
                       received_ns=tx.t_ns[links.tx[lk]] + links.latency_ns[lk])

    # -- 6. applications -------------------------------------------------------------------
    def _applications(self, w: TrafficWindow, tx: Transmissions, rx: Receivers, links: Links,
                      bsm: DecodedBsm) -> tuple[np.ndarray, list[np.ndarray]]:
        """Every application assesses what its hosts received; warnings start where a host's
        threat starts (written to ``warnings``). Returns the ``used_by`` code of every link
        (0: no warning came of it, i: the i-th application's) and the vehicle rows of the
        warning starts of each application."""
        used_by = np.zeros(links.n, np.int32)
        starts: list[np.ndarray] = []
        if not self.cfg.apps:
            return used_by, starts
        obu = np.flatnonzero(links.received)  # received, then by vehicles: fewer gathers
        obu = obu[rx.vehicle_row[links.rx[obu]] >= 0]
        obu_type = links.msg_type[obu]
        decoded, spat_states = self._decode_rsu_frames(w, tx)
        by_types: dict[tuple[int, ...], ReceivedLinks] = {}  # apps reading the same types
        maps_learned = False
        for i, app in enumerate(self.cfg.apps):
            reads = self._app_reads[i]
            received = by_types.get(reads)
            if received is None:
                wanted = np.zeros(len(MSG_TYPES), bool)
                wanted[list(reads)] = True
                received = by_types[reads] = self._received_links(obu[wanted[obu_type]], tx,
                                                                  rx, links)
            window = AppWindow(t_ns=w.t_ns, hosts=w.states, host_step=w.step, links=received,
                               bsm=bsm, decoded=decoded, sec_mark=w.sec_mark,
                               start_utc_ns=self._start_utc_ns, geo=self.geo,
                               spat_states=spat_states, maps=self._maps)
            if self._maps is not None and not maps_learned and _MAP in reads:
                self._maps.learn(window)  # the MAP links of every app's window are the same
                maps_learned = True
            found = app.assess(window)
            warned = received.link[found.link[found.warn]]
            used_by[warned[used_by[warned] == 0]] = i + 1
            starts.append(self._warnings(i, app, window, found, tx))
        return used_by, starts

    @staticmethod
    def _received_links(sel: np.ndarray, tx: Transmissions, rx: Receivers,
                        links: Links) -> ReceivedLinks:
        """The links ``sel`` (m,) of ``links`` as an application reads them (read-only
        columns: applications that read the same message types share them)."""
        t_row = links.tx[sel]
        msg_of_tx = np.where(tx.bsm_row >= 0, tx.bsm_row, np.arange(tx.n))
        received = ReceivedLinks(
            host=rx.vehicle_row[links.rx[sel]], tx=t_row, msg=msg_of_tx[t_row],
            msg_type=links.msg_type[sel],
            sender=tx.sender[t_row], step=tx.step[t_row], distance_m=links.distance_m[sel],
            latency_ns=links.latency_ns[sel], link=sel)
        for column in (getattr(received, f) for f in received.__dataclass_fields__):
            column.flags.writeable = False
        return received

    def _warnings(self, i: int, app: Application, win: AppWindow, a: Assessments,
                  tx: Transmissions) -> np.ndarray:
        """Warning starts of application ``i`` from its assessments (:class:`ThreatHold`),
        each written with the most critical warning assessment of its host and step; returns
        their vehicle rows."""
        if not (self._holds[i].holding or a.warn.any()):
            return np.empty(0, np.int64)  # nothing threatens: nothing starts or ends
        lk = win.links
        host_row = lk.host[a.link]
        host, step = win.hosts.index[host_row], lk.step[a.link]
        start_k, start_host = self._holds[i].update_pairs(host, a.target, step, a.warn,
                                                          win.t_ns, app.hold_ns)
        if start_k.size == 0:
            return np.empty(0, np.int64)
        width = max(self.veh.n, 1)
        crit = most_critical(step * width + host, a.criticality, a.warn)
        want = start_k * width + start_host
        at = np.minimum(np.searchsorted(crit.receiver, want), crit.receiver.size - 1)
        if not np.array_equal(crit.receiver[at], want):  # cannot happen: say so if it does
            raise RuntimeError(f"{app.name}: a warning started without a warning "
                               "assessment in its step")
        j = crit.link[at]  # rows of the assessments
        li = a.link[j]  # rows of the received links
        self.rec.append("warnings", t_ns=win.t_ns[step[j]],
                        app=np.full(j.size, app.name, dtype=object), vehicle=host[j],
                        remote=a.target[j], ttc_s=a.ttc_s[j], gap_m=a.gap_m[j],
                        tx_id=tx.tx_id[lk.tx[li]],
                        info_age_ms=(win.t_ns[step[j]] - tx.t_ns[lk.tx[li]]
                                     + lk.latency_ns[li]) / 1e6)
        self.summary.warnings += int(j.size)
        self._warn_counts[i] += int(j.size)
        return host_row[j]

    # -- 7. act (closed loop) --------------------------------------------------------------
    def _act(self, w: TrafficWindow, starts: list[np.ndarray]) -> None:
        """A warned driver brakes after the reaction time: the traffic backend gets the
        braking and the release as actions (never sooner than the reaction delay, so the
        traffic side has not passed them), and ``driver_brake`` events are recorded."""
        driver = self.cfg.driver
        if driver is None or not starts:
            return
        rows = np.unique(np.concatenate(starts))
        if rows.size == 0:
            return
        st = w.states
        r = driver.react(st.index[rows], w.t_ns[w.step[rows]], st.speed[rows])
        names = self.veh.names
        actions = []
        for v, at, decel, release in zip(r.vehicle.tolist(), r.brake_at_ns.tolist(),
                                         r.decel_mps2.tolist(), r.release_at_ns.tolist(),
                                         strict=True):
            actions.append(Action(at, names[v], "brake", speed=0.0, decel=decel))
            actions.append(Action(release, names[v], "release"))
        self.traffic.apply(actions)
        self._events.append(dict(t_ns=r.brake_at_ns,
                                 kind=np.full(r.n, "driver_brake", dtype=object),
                                 vehicle=r.vehicle, other=np.full(r.n, -1, np.int64),
                                 value=r.decel_mps2))
        self.summary.reactions += r.n

    # -- 8. KPIs ---------------------------------------------------------------------------
    def _kpis(self, w: TrafficWindow, tx: Transmissions, rx: Receivers, links: Links) -> None:
        """Exact online aggregates over every link of the counted receivers (every receiver
        unless ``kpi_sample`` < 1): PRR per distance bin, latency and inter-packet-gap
        histograms per message type."""
        if self.cfg.kpi_sample < 1.0:
            links = links.take(np.flatnonzero(rx.counted[links.rx]))
        got = links.received
        self.prr.add(links.msg_type, links.distance_m, got)
        g = np.flatnonzero(got)
        g_type = links.msg_type[g]
        self.latency.add(g_type, links.latency_ns[g])
        gl = links.tx[g]
        gtype, gap = self.clock.update(g_type, rx.node[links.rx[g]], tx.sender[gl],
                                       tx.t_ns[gl] + links.latency_ns[g], step=tx.step[gl])
        self.ipg.add(gtype, gap)
        self.clock.release(np.concatenate([w.last_vehicles, self.rsu_node]),
                           seen=w.states.index)

    # -- 9. record -------------------------------------------------------------------------
    def _record(self, w: TrafficWindow, tx: Transmissions, rx: Receivers, links: Links,
                used_by: np.ndarray) -> None:
        """The window's trajectories, transmissions and the sampled (or app-used)
        receptions."""
        rec, st = self.rec, w.states
        if st.n:
            bf = tx.vehicle_fields
            rec.append("trajectories", t_ns=w.t_ns[w.step], vehicle=st.index,
                       x=st.x, y=st.y, lat=bf.lat_deg, lon=bf.lon_deg,
                       speed=st.speed, accel=st.accel, heading_deg=st.heading_deg,
                       lane=st.lane, lane_pos=st.lane_pos, length=st.length)
        # pedestrians (ground truth for vehicle-pedestrian PET): node PERSON_NODE_BASE +
        # person index, ``lane`` their SUMO edge, no lane position or acceleration
        people = [p for p in self._persons if p.n]
        self._persons = []
        if people:
            px, py = (np.concatenate([getattr(p, c) for p in people]) for c in ("x", "y"))
            lat, lon = self.geo.to_latlon(px, py)
            nan = np.full(px.size, np.nan)
            rec.append("trajectories", t_ns=np.concatenate([np.full(p.n, p.t_ns, np.int64)
                                                            for p in people]),
                       vehicle=PERSON_NODE_BASE + np.concatenate([p.index for p in people]),
                       x=px, y=py, lat=lat, lon=lon,
                       speed=np.concatenate([p.speed for p in people]), accel=nan,
                       heading_deg=np.concatenate([p.heading_deg for p in people]),
                       lane=np.concatenate([p.edge for p in people]), lane_pos=nan,
                       length=np.concatenate([p.length for p in people]))
        if tx.n:
            rec.append("transmissions", tx_id=tx.tx_id, t_ns=tx.t_ns, sender=tx.sender,
                       msg_type=categorical(tx.msg_type, MSG_TYPES), msg_cnt=tx.msg_cnt,
                       size_bytes=tx.size_bytes, x=tx.x, y=tx.y, frame=tx.frames)
        keep = np.flatnonzero(rx.sampled[links.rx] | (used_by > 0))
        if keep.size:
            lt = links.tx[keep]
            rec.append("receptions", tx_id=tx.tx_id[lt], t_ns=tx.t_ns[lt],
                       receiver=rx.node[links.rx[keep]],
                       msg_type=categorical(links.msg_type[keep], MSG_TYPES),
                       distance_m=links.distance_m[keep], received=links.received[keep],
                       latency_ns=links.latency_ns[keep],
                       used_by=categorical(used_by[keep], self._used_by_names))

    # -- 10. bus ---------------------------------------------------------------------------
    def _bus_messages(self, w: TrafficWindow, tx: Transmissions, rx: Receivers,
                      links: Links) -> tuple[list[tuple[str, bytes]], list[int]]:
        """RSU uplinks of the window: what each RSU heard and sent, per step."""
        if not (self.cfg.forward and self.roadside):
            return [], []
        up = np.flatnonzero(links.received & (rx.rsu[links.rx] >= 0) & (links.msg_type == _BSM))
        n_rsu = len(self.roadside)
        return self._forward(w, tx.bsm, tx.bsm_frames, tx.bsm_row[links.tx[up]],
                             rx.step[links.rx[up]] * n_rsu + rx.rsu[links.rx[up]])

    @staticmethod
    def _frames_column(w: TrafficWindow, bsm_k: np.ndarray, frames: np.ndarray,
                       bsm_len: np.ndarray, rsu_k: np.ndarray, o: np.ndarray) -> Binary:
        """Every frame of the window in step order (a step's BSMs, then its RSU messages) as
        one buffer: the BSM rows of a step are one slice of ``frames`` (row i's frame its
        first ``bsm_len[i]`` bytes)."""
        n_steps = w.n_steps
        bb = np.searchsorted(bsm_k, np.arange(n_steps + 1)).tolist()
        rb = np.searchsorted(rsu_k, np.arange(n_steps + 1)).tolist()
        rsu = [m.payload if m.frame is None else m.frame for _, _, m in w.rsu_out]
        width = frames.shape[1]
        if bool(np.any(bsm_len != width)):  # emergency vehicles' longer frames: cut the rows
            flat = frames[np.arange(width) < bsm_len[:, None]].tobytes()
            ends = np.concatenate([[0], np.cumsum(bsm_len)]).tolist()
        else:
            flat = frames.tobytes()
            ends = (np.arange(frames.shape[0] + 1) * width).tolist()
        pieces: list[bytes] = []
        for k in range(n_steps):
            pieces.append(flat[ends[bb[k]]:ends[bb[k + 1]]])
            pieces.extend(rsu[rb[k]:rb[k + 1]])
        lengths = np.concatenate([bsm_len.astype(np.int64),
                                  np.array([len(f) for f in rsu], np.int64)])[o]
        return binary(b"".join(pieces), lengths)

    def _forward(self, w: TrafficWindow, bsm: BsmBatch, frames: np.ndarray, bsm_row: np.ndarray,
                 slot: np.ndarray) -> tuple[list[tuple[str, bytes]], list[int]]:
        """The bus messages of the window's RSU uplinks, step by step: per RSU one message
        with every BSM it received in the step (length-prefixed UPER frames, or JSON), then
        what each RSU sent in the step. ``bsm_row`` (u,) are the received BSMs (rows of
        ``bsm``), ``slot`` (u,) step * n_rsu + RSU index of their receiver. Returns the
        messages and the step time of each."""
        n_rsu = len(self.roadside)
        per_step: list[list[tuple[str, bytes]]] = [[] for _ in range(w.n_steps)]
        if bsm_row.size:
            order = np.argsort(slot, kind="stable")
            bsm_row, slot = bsm_row[order], slot[order]
            bounds = np.concatenate([[0], np.flatnonzero(np.diff(slot)) + 1, [slot.size]])
            if self.cfg.payload == "uper":
                bodies = pack_frame_groups(frames[bsm_row], bounds,
                                           bsm_frame_lengths(bsm)[bsm_row])
            else:
                bodies = [to_json_bytes({"bsm": bsm.take(bsm_row[a:b]).to_json()})
                          for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(),
                                          strict=True)]
            for sl, body in zip(slot[bounds[:-1]].tolist(), bodies, strict=True):
                k, r = divmod(sl, n_rsu)
                per_step[k].append((self._uplink[r, "BSM"], body))
        for k, r, m in w.rsu_out:
            per_step[k].append((self._uplink[r, m.msg_type], m.payload))
        pubs: list[tuple[str, bytes]] = []
        pub_t: list[int] = []
        for k, msgs in enumerate(per_step):
            pubs.extend(msgs)
            pub_t.extend([int(w.t_ns[k])] * len(msgs))
        if self._topics.payload == "openv2x":  # that platform's JSON (v2x.bus._openv2x)
            pubs = [(topic, openv2x_payload(
                        info.msg_type, body, rsu=str(info.node_id), payload_format=self.cfg.payload,
                        t_utc_ns=self._start_utc_ns + t))
                    for (topic, body), t in zip(pubs, pub_t, strict=True)
                    for info in (parse_topic(topic),) if info is not None]
        return pubs, pub_t

    # ------------------------------------------------------------------------------------
    def _decode_bsm(self, t_ns: np.ndarray, bsm_step: np.ndarray, bsm: BsmBatch,
                    frames: np.ndarray) -> DecodedBsm:
        """Decode the BSM frames once into what applications read (:class:`DecodedBsm`, NaN
        for a frame that did not decode); such frames are counted and recorded as
        ``decode_error`` events at their step (``t_ns`` (n_steps,) [ns] step times,
        ``bsm_step`` (n_bsm,) step of each BSM, non-decreasing), ``value`` = the BSM's row
        within its step."""
        dec, ok, errors = decode_bsm_frames(frames, bsm_frame_lengths(bsm))
        n = len(frames)
        col = {k: np.full(n, np.nan) for k in ("x", "y", "speed", "heading_deg", "accel",
                                                "length", "width")}
        hard = np.zeros(n, bool)
        brake = np.zeros(n, bool)
        sec = np.full(n, -1, np.int64)
        ints = {k: np.full(n, -1, np.int64) for k in ("events", "classification", "lights",
                                                      "siren_use", "lightbar_use")}
        if dec.n:
            col["x"][ok], col["y"][ok] = self.geo.to_xy(dec.lat * 1e-7, dec.lon * 1e-7)
            col["speed"][ok] = decode_speed(dec.speed)
            col["heading_deg"][ok] = decode_heading(dec.heading)
            col["accel"][ok] = decode_acceleration(dec.accel_long)
            col["length"][ok] = decode_vehicle_length(dec.length)
            col["width"][ok] = decode_vehicle_width(dec.width)
            hard[ok] = (dec.events >> HARD_BRAKING_BIT) & 1 == 1
            brake[ok] = dec.brake
            sec[ok] = dec.sec_mark
            for name, column in ints.items():
                column[ok] = getattr(dec, name)
        if errors:
            k = len(errors)
            rows = np.array([i for i, _ in errors], np.int64)
            in_step = rows - np.searchsorted(bsm_step, bsm_step[rows])  # row within its step
            self._events.append(dict(t_ns=t_ns[bsm_step[rows]],
                                     kind=np.full(k, "decode_error", dtype=object),
                                     vehicle=bsm.sender[rows], other=np.full(k, -1, np.int64),
                                     value=in_step.astype(np.float64)))
            self.summary.decode_errors += k
        return DecodedBsm(sender=bsm.sender, hard_braking=hard, brake=brake, sec_mark=sec,
                          t_ns=t_ns[bsm_step], **col, **ints)

    def _write_events(self) -> None:
        """The window's events in step order (within a step: hard braking and collisions as
        they were taken, then decode errors), as one step at a time would write them."""
        if not self._events:
            return
        cols = {k: np.concatenate([e[k] for e in self._events]) for k in self._events[0]}
        self._events = []
        o = np.argsort(cols["t_ns"], kind="stable")
        self.rec.append("events", **{k: v[o] for k, v in cols.items()})

    def _fields(self, st: VehicleStates) -> BsmFields:
        return BsmFields.encode(x=st.x, y=st.y, geo=self.geo, speed=st.speed,
                                heading_deg=st.heading_deg, accel=st.accel, width=st.width,
                                length=st.length, height=st.height,
                                classification=st.classification, brake=st.brake,
                                signals=st.signals, vehicle_events=st.vehicle_events)

    def _fire_stops(self, t: int) -> None:
        while self._pending_stops and self._pending_stops[0].at_ns <= t:
            stop = self._pending_stops.pop(0)
            ok = self.traffic.brake_to_stop(stop.vehicle, stop.decel, stop.hold_ns / 1e9)
            if not ok:
                self.summary.stops_skipped.append(stop.vehicle)

    def _ground_truth(self, st: VehicleStates) -> None:
        """The step's ground-truth events (:mod:`v2x.sim._truth`): hard braking, collisions,
        teleports."""
        truth = self.truth
        rows = truth.observe(st, self.traffic.collisions(), self.traffic.teleports(),
                             self.veh.index_of, self.traffic.signal_crossings())
        if rows:
            self._events.extend(rows)
            self.summary.hard_braking = truth.counts["hard_braking"]
            self.summary.collisions = truth.counts["collision"]
            self.summary.teleports = truth.counts["teleport"]

    def _record_bus(self, msgs: Sequence[BusMessage], t_ns: np.ndarray) -> None:
        """Bus rows of the window's delivered own messages, each at the step it was published
        in (``t_ns`` (n,) [ns]). Rows are in step order, delivery order within."""
        if not msgs:
            return
        topics = [m.topic for m in msgs]
        info = self._topic_info
        for topic in set(topics) - info.keys():
            parsed = parse_topic(topic)
            info[topic] = (parsed.msg_type, parsed.direction) if parsed else ("", "")
        kinds = [info[topic] for topic in topics]
        lat = np.array([np.nan if (w := m.wall_latency_ns) is None else w / 1e6 for m in msgs],
                       np.float64)
        sizes = np.array([len(m.payload) for m in msgs], np.int64)
        o = np.argsort(t_ns, kind="stable")
        ol = o.tolist()
        wall = np.fromiter((m.delivered_wall_ns for m in msgs), np.int64, len(msgs))
        self.rec.append("bus", t_ns=t_ns[o], topic=[topics[i] for i in ol],
                        msg_type=[kinds[i][0] for i in ol],
                        direction=[kinds[i][1] for i in ol],
                        size_bytes=sizes[o], wall_latency_ms=lat[o], wall_ns=wall[o])

    def _downlink(self, msgs: Sequence[BusMessage],
                  t_ns: int) -> list[tuple[BusMessage, int]]:
        """Foreign messages read before step ``t_ns`` [ns] of a real-time run: each RSI on an
        RSU's downlink topic is handed to that RSU (:meth:`roadside.RoadsideUnit.relay`),
        which broadcasts it from this step on; one that does not decode as an RSI
        (:meth:`_downlink_rsi`) is a ``bus_decode_error`` (as :meth:`_foreign_bus`); the rest
        (other topics, an RSU the run does not have) go to :meth:`_foreign_bus`. Returns the
        relayed messages with their step, for :meth:`_record_downlink`."""
        relayed: list[tuple[BusMessage, int]] = []
        rest: list[BusMessage] = []
        for m in msgs:
            info = parse_topic(m.topic)
            r = self._rsu_index.get(info.node_id or "") if info and info.direction == "down" \
                else None
            if r is None:
                rest.append(m)
                continue
            rsi = self._downlink_rsi(m.payload, t_ns)
            if rsi is None:
                self._bus_decode_errors([len(m.payload)], t_ns)
            elif getattr(self.roadside[r], "relay", lambda *a: False)(rsi, t_ns):
                relayed.append((m, t_ns))
                self.summary.downlink += 1
            else:
                rest.append(m)
        self._foreign_bus(rest, t_ns)
        return relayed

    def _downlink_rsi(self, payload: bytes, t_ns: int) -> Any:
        """The RSI value of a downlink payload (v2x profile: one UPER RSI MessageFrame;
        openv2x: that platform's RSI JSON, :func:`v2x.bus.rsi_from_openv2x`), or None when it
        is not one."""
        now = self._start_utc_ns + t_ns
        try:
            if self._topics.payload == "openv2x":
                return rsi_from_openv2x(payload, now_ns=now)
            value = decode_frame(payload, now_ns=now)
        except DecodeError:
            return None
        return value if type(value).__name__ == "Rsi" else None

    def _record_downlink(self, relayed: Sequence[tuple[BusMessage, int]], wall_ns: int) -> None:
        """Bus rows (direction ``down``) of the downlink messages relayed at a step whose
        messages leave at ``wall_ns`` [ns, Unix epoch]: ``t_ns`` the step the RSU broadcasts
        it from, ``wall_ns`` when it reached the run, ``wall_latency_ms`` from then to the
        step's leaving (the publisher's instant is unknown: MQTT 3.1.1 does not carry it)."""
        if not relayed:
            return
        self.rec.append("bus", t_ns=np.array([t for _, t in relayed], np.int64),
                        topic=[m.topic for m, _ in relayed],
                        msg_type=["RSI"] * len(relayed), direction=["down"] * len(relayed),
                        size_bytes=np.array([len(m.payload) for m, _ in relayed], np.int64),
                        wall_latency_ms=np.array([(wall_ns - m.delivered_wall_ns) / 1e6
                                                  for m, _ in relayed]),
                        wall_ns=np.array([m.delivered_wall_ns for m, _ in relayed], np.int64))

    def _foreign_bus(self, msgs: Sequence[BusMessage], t_end: int | None = None) -> None:
        """Messages on the run's topics it did not publish (another client or run): counted,
        kept out of the ``bus`` table and the KPIs; a payload that does not decode as its
        topic's message is a ``bus_decode_error`` event at step ``t_end`` (``value`` = its
        size [bytes]); None: the last step of the latest window computed (they arrived while
        it was: the window after the one whose messages were leaving)."""
        if not msgs:
            return
        if t_end is None:
            t_end = self._computed_ns
        fmt = self.cfg.payload
        bad = [len(m.payload) for m in msgs
               if payload_error(m.topic, m.payload, payload_format=fmt) is not None]
        self.summary.bus_foreign += len(msgs) - len(bad)
        self._bus_decode_errors(bad, t_end)

    def _bus_decode_errors(self, sizes: Sequence[int], t_ns: int) -> None:
        """Payloads on the run's topics that do not decode (``sizes`` [bytes]): counted, and
        ``bus_decode_error`` events at step ``t_ns`` (``value`` = the size)."""
        if not sizes:
            return
        k = len(sizes)
        self.summary.bus_decode_errors += k
        self._events.append(dict(t_ns=np.full(k, t_ns, np.int64),
                                 kind=np.full(k, "bus_decode_error", dtype=object),
                                 vehicle=np.full(k, -1, np.int64),
                                 other=np.full(k, -1, np.int64),
                                 value=np.array(sizes, np.float64)))

    def _write_nodes(self) -> None:
        veh = self.veh
        kind = np.where(veh.u[:, 0] < self.cfg.penetration, "obu", "none").astype(object)
        n_r = len(self.roadside)
        self.rec.replace(
            "nodes",
            node=np.concatenate([np.arange(veh.n, dtype=np.int64), self.rsu_node]),
            name=veh.names + [r.name for r in self.roadside],
            kind=np.concatenate([kind, np.full(n_r, "rsu", dtype=object)]),
            vclass=np.concatenate([np.nan_to_num(veh.static[:, 2]).astype(np.int16),
                                   np.zeros(n_r, np.int16)]),
            length_m=np.concatenate([veh.static[:, 0], np.zeros(n_r)]).astype(np.float32),
            width_m=np.concatenate([veh.static[:, 1], np.zeros(n_r)]).astype(np.float32))

    def _write_aggregates(self) -> None:
        self.rec.replace("prr_bins", **self.prr.table())
        self.rec.replace("latency_hist", **self.latency.table())
        self.rec.replace("ipg_hist", **self.ipg.table())

    def _checkpoint(self, recorded_ns: int) -> None:
        """At the recorder's checkpoints (every 30 s of simulated time by default), once every
        row of the steps before ``recorded_ns`` [ns] is appended: the aggregates and the nodes
        as they stand, then everything to disk (a run killed later keeps all of it)."""
        if self.rec.checkpoint_due(recorded_ns):
            self._write_aggregates()
            self._write_nodes()
            self.rec.checkpoint(recorded_ns)
