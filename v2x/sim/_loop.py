"""The simulation loop: traffic -> BSM/SPAT/MAP -> PC5 channel -> applications -> bus -> recorder.

Every step (default 100 ms of simulated time) the traffic backend advances and, between two
SUMO steps, the loop does what must see the live simulation: scripted events fire, new
vehicles are registered, ground truth (hard braking, collisions) is taken, the OBUs whose BSM
is due are chosen (with their msgCnt), and every RSU hands over its due SPAT/MAP
(:class:`Roadside` protocol; SPAT reads the live signal state).

The rest is done for a *window* of ``SimConfig.window_steps`` steps at once (default 20, i.e.
2 s), vectorized over every vehicle row, transmission and link of the window, so the Python
overhead is paid once per window instead of once per step (20 steps: ~10 % less CPU than 10,
with glibc keeping the window's temporaries for reuse, see :mod:`v2x._malloc`):

1. BSM content of every vehicle row, encoded into real UPER frames and decoded once;
2. candidate links within ``prr_max_m`` of the same step, from one k-d tree search
   (:func:`~v2x.channel.find_pairs` with the step as group); the channel model decides
   reception and latency per link;
3. online aggregates count every link (PRR bins, latency and inter-packet-gap histograms);
4. forward collision warning runs on the BSMs each OBU received (positions decoded from the
   quantized lat/lon, as a real OBU would), with rising edges per step;
5. the recorder appends the window's rows; every row carries its own step time;
6. RSUs forward what they heard and sent, one uplink per RSU and step, published in step order
   at the end of the window; the loop waits until the recording tap has received everything
   it published (a barrier), so results do not depend on machine speed.

Results do not depend on the window size except through the order of the channel's random
draws (one draw per link of the window instead of per step) and a vehicle that leaves and
re-enters within a window keeping its inter-packet-gap clocks: with the ideal channel, windows
of 1 and 10 steps give the same recording (tested). Nothing here acts back on SUMO from what
was received; an application that did would need ``window_steps = 1``. Bus messages of a
window reach subscribers together, at the end of the window.

Receptions are processed in the step they were sent in: the channel latency (a few ms to tens
of ms) is recorded, and applications see a message within the same 100 ms step.
Randomness: one ``SeedSequence(seed)`` split into independent generators per component
(channel, equipage/msgCnt/sampling).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from v2x.apps import FcwState, ForwardCollisionWarning, most_critical
from v2x.bus import Bus, BusMessage, Tap, parse_topic, rsu_up
from v2x.channel import ChannelModel, LinkBatch, find_pairs
from v2x.geo import GeoFrame
from v2x.messages._bsm import BsmBatch, BsmFields
from v2x.messages._envelope import pack_frame_groups
from v2x.messages._json import to_json_bytes
from v2x.messages._units import decode_heading, decode_speed, decode_vehicle_length, sec_mark
from v2x.messages._uper import BSM_BATCH_FRAME_BYTES, decode_bsm_frames, encode_bsm_rows
from v2x.recorder import (
    MSG_TYPES,
    Binary,
    Histogram,
    PairClock,
    PrrBins,
    Recorder,
    binary,
    categorical,
)
from v2x.sim._types import Outgoing, Roadside, RoadUsers, ScriptedStop
from v2x.traffic import TrafficBackend, VehicleStates
from v2x.units import G

__all__ = ["RSU_NODE_BASE", "Outgoing", "Roadside", "RunSummary", "ScriptedStop", "SimConfig",
           "Simulation", "StepProgress"]

#: node ids of RSUs start here; vehicles are numbered 0, 1, ... by first appearance
RSU_NODE_BASE = 1_000_000
_BSM, _MAP, _SPAT = MSG_TYPES.index("BSM"), MSG_TYPES.index("MAP"), MSG_TYPES.index("SPAT")
_CODE = {name: i for i, name in enumerate(MSG_TYPES)}
_HARD_BRAKING = 0.4 * G  # [m/s²] deceleration that starts a hard-braking event
_HARD_BRAKING_END = 0.3 * G  # [m/s²] below this the event ends (hysteresis, our choice: a dip
#                              to 0.38 g inside one braking manoeuvre must not count it twice)
_APP_NAMES = ("", "FCW")


@dataclass(frozen=True)
class SimConfig:
    """Settings of one run (all from the scenario)."""

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
    fcw: ForwardCollisionWarning | None = None
    fcw_range_m: float = 150.0
    forward: bool = True
    payload: str = "uper"  # BSM uplink payloads: "uper" (length-prefixed frames) or "json"
    stops: tuple[ScriptedStop, ...] = ()
    window_steps: int = 20  # steps processed together (see the module docstring)

    def __post_init__(self) -> None:
        w = self.window_steps
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"window_steps must be an integer >= 1, got {w!r}")


@dataclass(frozen=True)
class StepProgress:
    """Progress of a run, handed to the progress callback."""

    t_ns: int
    duration_ns: int
    vehicles: int
    messages: int
    wall_s: float


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
    collisions: int = 0
    hard_braking: int = 0
    stops_skipped: list[str] = field(default_factory=list)
    decode_errors: int = 0
    wall_s: float = 0.0


class _Grow:
    """Per-vehicle-index state arrays, grown as vehicles appear."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.n = 0
        self.u = np.empty((0, 3))          # uniform draws: equipage, msgCnt start, sampling
        self.first_ns = np.empty(0, np.int64)
        self.sent = np.empty(0, np.int64)  # BSMs sent so far
        self.braking = np.empty(0, bool)   # hard-braking state (for rising edges)
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
        self.braking = np.concatenate([self.braking, np.zeros(k, bool)])
        static = np.full((k, 3), np.nan)
        names = [""] * k
        new = np.flatnonzero(st.index >= self.n)  # vehicles appear in the step they depart
        rel = st.index[new] - self.n
        static[rel] = np.column_stack([st.length[new], st.width[new], st.classification[new]])
        for r, i in zip(rel.tolist(), new.tolist(), strict=True):
            names[r] = str(st.names[i])
        self.static = np.vstack([self.static, static])
        self.names.extend(names)
        self.n = n


@dataclass(frozen=True)
class _Window:
    """Consecutive steps, their vehicle rows concatenated (step-major).

    ``states`` holds every step's vehicle rows in one :class:`VehicleStates` (its ``t_ns`` is
    the first step's); ``k`` (n,) int64 is the step of each row within the window, ``t`` and
    ``sec`` (n_steps,) int64 the step times [ns] and secMarks [ms of minute]; ``bsm_rows`` (b,)
    the rows whose OBU sends a BSM, ``bsm_cnt`` (b,) their msgCnt; ``rsu_out`` the RSU
    messages as (step, RSU index, message); ``last_nodes`` the vehicles of the last step.
    """

    states: VehicleStates
    k: np.ndarray
    t: np.ndarray
    sec: np.ndarray
    bsm_rows: np.ndarray
    bsm_cnt: np.ndarray
    rsu_out: list[tuple[int, int, Outgoing]]
    last_nodes: np.ndarray

    @property
    def n_steps(self) -> int:
        return int(self.t.shape[0])

    @property
    def n_last(self) -> int:
        """Vehicles present in the last step."""
        return int(self.last_nodes.shape[0])

    @classmethod
    def of(cls, states: list[VehicleStates], t: np.ndarray, sec: np.ndarray,
           bsm_rows: np.ndarray, bsm_cnt: np.ndarray,
           rsu_out: list[tuple[int, int, Outgoing]]) -> _Window:
        one = states[0] if len(states) == 1 else VehicleStates(
            t_ns=states[0].t_ns,
            **{f: np.concatenate([getattr(s, f) for s in states]) for f in _STATE_COLUMNS})
        k = np.repeat(np.arange(len(states), dtype=np.int64), [s.n for s in states])
        return cls(one, k, t, sec, bsm_rows, bsm_cnt, rsu_out, states[-1].index)


_STATE_COLUMNS = tuple(f.name for f in fields(VehicleStates) if f.name != "t_ns")


class Simulation:
    """One run of a scenario: wires traffic, RSUs, channel, applications, bus and recorder.

    Args:
        traffic: the traffic backend (SUMO or scripted).
        roadside: the RSUs; RSU ``r`` is node ``RSU_NODE_BASE + r``.
        channel: the PC5 channel model.
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
        self.rng_channel = np.random.default_rng(ch_seq)
        self.veh = _Grow(np.random.default_rng(veh_seq))
        self.prr = PrrBins(config.prr_bin_m, config.prr_max_m)
        self.latency = Histogram(config.latency_bin_ns, 1_000_000_000)
        self.ipg = Histogram(config.latency_bin_ns * 10, 10_000_000_000)
        self.clock = PairClock()
        self.fcw_state = FcwState()
        self.summary = RunSummary(rsus=len(self.roadside))
        self.next_tx_id = 0
        n_r = len(self.roadside)
        self.rsu_node = RSU_NODE_BASE + np.arange(n_r, dtype=np.int64)
        self.rsu_xy = np.array([[r.x, r.y] for r in self.roadside], np.float64).reshape(-1, 2)
        self.rsu_h = np.array([r.antenna_height_m for r in self.roadside], np.float64)
        # reception rows are kept for a seeded sample of receivers: OBUs by a per-vehicle
        # draw, RSUs by this per-RSU draw (the same fraction)
        rsu_seq = ss.spawn(1)[0]
        self.rsu_sampled = (np.random.default_rng(rsu_seq).random(n_r)
                            < config.reception_sample)
        self._pending_stops = sorted(config.stops, key=lambda s: s.at_ns)
        self._topic_info: dict[str, tuple[str, str]] = {}
        self._events: list[dict[str, np.ndarray]] = []  # the window's events, in step order
        # uplink topic of every RSU and message type, built (and validated) once
        self._uplink = {(r, m): rsu_up(config.zone, unit.name, m.lower())
                        for r, unit in enumerate(self.roadside) for m in MSG_TYPES}
        self._tx_counts = np.zeros(len(MSG_TYPES), np.int64)

    # ------------------------------------------------------------------------------------
    async def run(self, bus: Bus, *,
                  progress: Callable[[StepProgress], None] | None = None) -> RunSummary:
        """Run every step of the scenario; returns the counts. The caller closes the recorder.

        Raises:
            SumoError, BusError, RecordingError: from the components, with causes chained.
        """
        cfg = self.cfg
        n_steps = cfg.duration_ns // cfg.step_ns
        wall0 = time.perf_counter()
        published = 0
        messages = 0
        done = 0
        async with Tap(bus, f"v2x/{cfg.zone}/#") as tap:
            while done < n_steps:
                win = self._advance(min(cfg.window_steps, n_steps - done))
                pubs, pub_t, n_tx = self._process(win)
                messages += n_tx
                if pubs:
                    await bus.publish_many(pubs)
                    published += len(pubs)
                    await tap.wait_for(published, timeout_s=30.0)
                    self._record_bus(pubs, pub_t, int(win.t[-1]), tap.drain())
                done += win.n_steps
                self.summary.steps += win.n_steps
                if progress is not None:
                    progress(StepProgress(int(win.t[-1]), cfg.duration_ns, win.n_last,
                                          messages, time.perf_counter() - wall0))
        self.summary.bus_messages = published
        self.summary.tx_counts = {m: int(c) for m, c in zip(MSG_TYPES, self._tx_counts,
                                                           strict=True) if c}
        self.summary.vehicles = self.veh.n
        self.summary.equipped = int(np.count_nonzero(self.veh.u[:, 0] < cfg.penetration))
        self.summary.wall_s = time.perf_counter() - wall0
        self._write_aggregates()
        self._write_nodes()
        return self.summary

    # ------------------------------------------------------------------------------------
    def _advance(self, n_steps: int) -> _Window:
        """Step the traffic ``n_steps`` times. Everything that must happen between two SUMO
        steps happens here, per step: scripted stops, new vehicles, ground truth, which OBUs
        send a BSM (and its msgCnt), and the RSUs' messages (they read the live signals)."""
        cfg, veh = self.cfg, self.veh
        states: list[VehicleStates] = []
        sends: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        rsu_out: list[tuple[int, int, Outgoing]] = []
        t = np.empty(n_steps, np.int64)
        sec = np.empty(n_steps, np.int64)
        base = 0
        no_users = RoadUsers.empty()  # the lead wires the road users of each step
        for k in range(n_steps):
            st = self.traffic.step()
            t[k] = st.t_ns
            sec[k] = sec_mark(cfg.start, st.t_ns)
            self._fire_stops(st.t_ns)
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
            rsu_out.extend((k, r, o) for r, unit in enumerate(self.roadside)
                           for o in unit.transmit(st.t_ns, no_users))
        return _Window.of(states, t, sec, np.concatenate(sends), np.concatenate(counts),
                          rsu_out)

    def _process(self, w: _Window) -> tuple[list[tuple[str, bytes]], list[int], int]:
        """Messages, channel, KPIs, applications and recording of a window of steps, each
        vectorized over every vehicle, transmission and link of the window at once. Returns the
        bus messages (in step order), the step time of each, and the transmission count.

        Transmissions are in step order (a step's BSMs, then its RSU messages), receivers too
        (a step's equipped vehicles, then every RSU), so links come out of the search in step
        order and a window of one step is laid out exactly as a single step."""
        cfg, veh = self.cfg, self.veh
        st = w.states
        idx, vk = st.index, w.k
        n_steps = w.n_steps

        # -- transmissions ----------------------------------------------------------------
        bf = self._fields(st)  # every vehicle row's BSM content, standard units
        s = w.bsm_rows
        sender = idx[s]
        bsm = BsmBatch.assemble(bf, s, sender=sender, msg_cnt=w.bsm_cnt,
                                sec_mark=w.sec[vk[s]])
        frames = encode_bsm_rows(bsm)  # real UPER MessageFrames, one per BSM (row)
        heard = self._decode_bsm(w.t, vk[s], bsm, frames)  # what every receiver reads
        self._write_events()
        n_b, n_r = bsm.n, len(w.rsu_out)
        n_tx = n_b + n_r
        # RSU messages as columns: (step, rsu index, type code, size, msgCnt)
        r_cols = np.array([(k, r, _CODE[o.msg_type], o.size_bytes, o.msg_cnt)
                           for k, r, o in w.rsu_out], np.int64).reshape(n_r, 5)
        r_of = r_cols[:, 1]
        # all BSMs, then all RSU messages; `o` puts them in step order, and o[i] < n_b is the
        # BSM row of transmission i
        tx_k = np.concatenate([vk[s], r_cols[:, 0]])
        o = np.argsort(tx_k, kind="stable")
        tx_k = tx_k[o]
        tx_t = w.t[tx_k]
        tx_node = np.concatenate([sender, self.rsu_node[r_of]])[o]
        tx_x = np.concatenate([st.x[s], self.rsu_xy[r_of, 0]])[o]
        tx_y = np.concatenate([st.y[s], self.rsu_xy[r_of, 1]])[o]
        tx_h = np.concatenate([np.full(n_b, cfg.obu_antenna_height_m), self.rsu_h[r_of]])[o]
        tx_type = np.concatenate([np.full(n_b, _BSM, np.int8),
                                  r_cols[:, 2].astype(np.int8)])[o]
        tx_size = np.concatenate([np.full(n_b, BSM_BATCH_FRAME_BYTES, np.int64),
                                  r_cols[:, 3]])[o]
        tx_id = self.next_tx_id + np.arange(n_tx, dtype=np.int64)
        self.next_tx_id += n_tx
        self._tx_counts += np.bincount(tx_type, minlength=len(MSG_TYPES))

        # -- receivers: per step its equipped vehicles, then every RSU ------------------
        e = np.flatnonzero(veh.u[idx, 0] < cfg.penetration)
        n_ve = e.size
        n_rsu = len(self.roadside)
        rx_k = np.concatenate([vk[e], np.repeat(np.arange(n_steps), n_rsu)])
        p = np.argsort(rx_k, kind="stable")
        rx_k = rx_k[p]
        rsus = np.arange(n_rsu)
        rx_row = np.concatenate([e, np.full(n_steps * n_rsu, -1)])[p]  # vehicle row or -1
        rx_rsu = np.concatenate([np.full(n_ve, -1), np.tile(rsus, n_steps)])[p]  # RSU or -1
        rx_node = np.concatenate([idx[e], np.tile(self.rsu_node, n_steps)])[p]
        rx_xy = np.concatenate([np.column_stack([st.x[e], st.y[e]]),
                                np.tile(self.rsu_xy, (n_steps, 1))])[p]
        rx_h = np.concatenate([np.full(n_ve, cfg.obu_antenna_height_m),
                               np.tile(self.rsu_h, n_steps)])[p]

        links = find_pairs(np.column_stack([tx_x, tx_y]), rx_xy, cfg.prr_max_m,
                           tx_node=tx_node, rx_node=rx_node, tx_group=tx_k, rx_group=rx_k)
        rx = self.channel.evaluate(links, tx_height_m=tx_h, rx_height_m=rx_h,
                                   size_bytes=tx_size, rng=self.rng_channel)
        ltype = tx_type[links.tx]
        got = rx.received

        # -- exact online KPIs ------------------------------------------------------------
        self.prr.add(ltype, links.distance_m, got)
        g = np.flatnonzero(got)
        self.latency.add(ltype[g], rx.latency_ns[g])
        nodes = np.unique(idx)
        slot_of = self.clock.slots(np.concatenate([nodes, self.rsu_node]))
        is_veh, is_bsm = rx_row >= 0, o < n_b
        rx_slot = np.empty(rx_row.size, np.int64)
        rx_slot[is_veh] = slot_of[np.searchsorted(nodes, idx[rx_row[is_veh]])]
        rx_slot[~is_veh] = slot_of[nodes.size + rx_rsu[~is_veh]]
        tx_slot = np.empty(n_tx, np.int64)
        tx_slot[is_bsm] = slot_of[np.searchsorted(nodes, tx_node[is_bsm])]
        tx_slot[~is_bsm] = slot_of[nodes.size + tx_node[~is_bsm] - RSU_NODE_BASE]
        gl = links.tx[g]
        gtype, gap = self.clock.update(ltype[g], rx_slot[links.rx[g]], tx_slot[gl],
                                       tx_t[gl] + rx.latency_ns[g], step=tx_k[gl])
        self.ipg.add(gtype, gap)
        self.clock.release(np.concatenate([w.last_nodes, self.rsu_node]))

        # -- applications -----------------------------------------------------------------
        used = np.zeros(links.tx.size, bool)
        if cfg.fcw is not None:
            self._fcw(cfg.fcw, w, o, rx_row, heard, bsm, links, got, ltype, tx_id, used)

        # -- recording --------------------------------------------------------------------
        rec = self.rec
        if st.n:
            rec.append("trajectories", t_ns=w.t[vk], vehicle=idx,
                       x=st.x, y=st.y, lat=bf.lat_deg, lon=bf.lon_deg,
                       speed=st.speed, accel=st.accel, heading_deg=st.heading_deg,
                       lane=st.lane, lane_pos=st.lane_pos, length=st.length)
        if n_tx:
            rec.append("transmissions", tx_id=tx_id, t_ns=tx_t, sender=tx_node,
                       msg_type=categorical(tx_type, MSG_TYPES),
                       msg_cnt=np.concatenate([bsm.msg_cnt, r_cols[:, 4]])[o],
                       size_bytes=tx_size, x=tx_x, y=tx_y,
                       frame=self._frames_column(w, vk[s], frames, r_cols[:, 0], o))
        sampled_rx = np.empty(rx_row.size, bool)
        sampled_rx[is_veh] = veh.u[idx[rx_row[is_veh]], 2] < cfg.reception_sample
        sampled_rx[~is_veh] = self.rsu_sampled[rx_rsu[~is_veh]]
        keep = np.flatnonzero(sampled_rx[links.rx] | used)
        if keep.size:
            lt = links.tx[keep]
            rec.append("receptions", tx_id=tx_id[lt], t_ns=tx_t[lt],
                       receiver=rx_node[links.rx[keep]],
                       msg_type=categorical(ltype[keep], MSG_TYPES),
                       distance_m=links.distance_m[keep], received=got[keep],
                       latency_ns=rx.latency_ns[keep],
                       used_by=categorical(used[keep].astype(np.int32), _APP_NAMES))

        # -- bus: RSUs forward what they heard and what they sent ---------------------------
        pubs: list[tuple[str, bytes]] = []
        pub_t: list[int] = []
        if cfg.forward and self.roadside:
            up = np.flatnonzero(got & (rx_rsu[links.rx] >= 0) & (ltype == _BSM))
            pubs, pub_t = self._forward(w, bsm, frames, o[links.tx[up]],
                                        rx_k[links.rx[up]] * n_rsu + rx_rsu[links.rx[up]])
        return pubs, pub_t, n_tx

    @staticmethod
    def _frames_column(w: _Window, bsm_k: np.ndarray, frames: np.ndarray, rsu_k: np.ndarray,
                       o: np.ndarray) -> Binary:
        """Every frame of the window in step order (a step's BSMs, then its RSU messages) as
        one buffer: the BSM rows of a step are one slice of ``frames``."""
        n_steps = w.n_steps
        bb = np.searchsorted(bsm_k, np.arange(n_steps + 1)).tolist()
        rb = np.searchsorted(rsu_k, np.arange(n_steps + 1)).tolist()
        rsu = [m.payload if m.frame is None else m.frame for _, _, m in w.rsu_out]
        flat, width = frames.tobytes(), frames.shape[1]
        pieces: list[bytes] = []
        for k in range(n_steps):
            pieces.append(flat[bb[k] * width:bb[k + 1] * width])
            pieces.extend(rsu[rb[k]:rb[k + 1]])
        lengths = np.concatenate([np.full(frames.shape[0], width, np.int64),
                                  np.array([len(f) for f in rsu], np.int64)])[o]
        return binary(b"".join(pieces), lengths)

    def _forward(self, w: _Window, bsm: BsmBatch, frames: np.ndarray, bsm_row: np.ndarray,
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
                bodies = pack_frame_groups(frames[bsm_row], bounds)
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
            pub_t.extend([int(w.t[k])] * len(msgs))
        return pubs, pub_t

    def _fcw(self, fcw: ForwardCollisionWarning, w: _Window, bsm_of: np.ndarray,
             rx_row: np.ndarray, heard: dict[str, np.ndarray], bsm: BsmBatch, lk: LinkBatch,
             got: np.ndarray, ltype: np.ndarray, tx_id: np.ndarray, used: np.ndarray) -> None:
        """Forward collision warning on the received BSMs of equipped vehicles within
        ``fcw_range_m``: every received BSM is an assessment of its sender by the receiver
        (:meth:`~v2x.apps.FcwState.update_pairs` holds a threat until the sender's next BSM
        or ``fcw.hold_s``); writes the warnings where they start, with the most critical link
        of that step, and marks the links that warned. ``bsm_of`` (n_tx,) is the BSM row of
        each transmission, ``rx_row`` (n_rx,) the vehicle row of each receiver (-1 for RSUs)."""
        st = w.states
        cand = np.flatnonzero(got & (ltype == _BSM) & (rx_row[lk.rx] >= 0)
                              & (lk.distance_m <= self.cfg.fcw_range_m))
        b = bsm_of[lk.tx[cand]]  # BSM rows
        ego = rx_row[lk.rx[cand]]  # vehicle rows of the receivers
        # every received BSM is an assessment; only those from a close enough, closing vehicle
        # heading the same way can warn, so the full rule runs on them alone (the others: no
        # warning, TTC inf)
        near = np.flatnonzero(fcw.may_warn(heard["x"][b] - st.x[ego], heard["y"][b] - st.y[ego],
                                           st.speed[ego] - heard["speed"][b],
                                           heard["length"][b]))
        same = near[fcw.same_direction(st.heading_deg[ego[near]], heard["heading_deg"][b[near]])]
        e_s, b_s = ego[same], b[same]
        part = fcw.evaluate(ego_x=st.x[e_s], ego_y=st.y[e_s], ego_speed=st.speed[e_s],
                            ego_heading_deg=st.heading_deg[e_s], remote_x=heard["x"][b_s],
                            remote_y=heard["y"][b_s], remote_speed=heard["speed"][b_s],
                            remote_heading_deg=heard["heading_deg"][b_s],
                            remote_length=heard["length"][b_s])
        warn = np.zeros(cand.size, bool)
        warn[same] = part.warn
        ttc = np.full(cand.size, np.inf)
        ttc[same] = part.ttc_s
        gap = np.full(cand.size, np.nan)
        gap[same] = part.gap_m
        used[cand[warn]] = True
        ego_node, ego_k = st.index[ego], w.k[ego]
        start_k, start_ego = self.fcw_state.update_pairs(
            ego_node, bsm.sender[b], ego_k, warn, w.t, round(fcw.hold_s * 1e9))
        if start_k.size == 0:
            return
        # a warning starts only with a warning assessment in its step: its most critical link
        width = max(self.veh.n, 1)
        crit = most_critical(ego_k * width + ego_node, ttc, warn)
        want = start_k * width + start_ego
        at = np.minimum(np.searchsorted(crit.receiver, want), crit.receiver.size - 1)
        if not np.array_equal(crit.receiver[at], want):  # cannot happen: say so if it does
            raise RuntimeError("FCW: a warning started without a warning link in its step")
        li = crit.link[at]
        self.rec.append("warnings", t_ns=w.t[ego_k[li]],
                        app=np.full(li.size, "FCW", dtype=object), vehicle=ego_node[li],
                        remote=bsm.sender[b[li]], ttc_s=ttc[li], gap_m=gap[li],
                        tx_id=tx_id[lk.tx[cand[li]]])
        self.summary.warnings += int(li.size)

    # ------------------------------------------------------------------------------------
    def _decode_bsm(self, t_ns: np.ndarray, bsm_k: np.ndarray, bsm: BsmBatch,
                    frames: np.ndarray) -> dict[str, np.ndarray]:
        """Decode the BSM frames once (PC5 is a broadcast: every receiver gets the same
        bytes) into what applications use: network x/y [m], speed [m/s], heading [deg],
        length [m], (n_bsm,) each, NaN for a frame that did not decode; such frames are
        counted and recorded as ``decode_error`` events at their step (``t_ns`` (n_steps,)
        [ns] step times, ``bsm_k`` (n_bsm,) step of each BSM, non-decreasing), ``value`` = the
        BSM's row within its step."""
        dec, ok, errors = decode_bsm_frames(frames)
        n = len(frames)
        out = {k: np.full(n, np.nan) for k in ("x", "y", "speed", "heading_deg", "length")}
        if dec.n:
            out["x"][ok], out["y"][ok] = self.geo.to_xy(dec.lat * 1e-7, dec.lon * 1e-7)
            out["speed"][ok] = decode_speed(dec.speed)
            out["heading_deg"][ok] = decode_heading(dec.heading)
            out["length"][ok] = decode_vehicle_length(dec.length)
        if errors:
            k = len(errors)
            rows = np.array([i for i, _ in errors], np.int64)
            in_step = rows - np.searchsorted(bsm_k, bsm_k[rows])  # row within its step
            self._events.append(dict(t_ns=t_ns[bsm_k[rows]],
                                     kind=np.full(k, "decode_error", dtype=object),
                                     vehicle=bsm.sender[rows], other=np.full(k, -1, np.int64),
                                     value=in_step.astype(np.float64)))
            self.summary.decode_errors += k
        return out

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
                                classification=st.classification, brake=st.brake)

    def _fire_stops(self, t: int) -> None:
        while self._pending_stops and self._pending_stops[0].at_ns <= t:
            stop = self._pending_stops.pop(0)
            ok = self.traffic.brake_to_stop(stop.vehicle, stop.decel, stop.hold_ns / 1e9)
            if not ok:
                self.summary.stops_skipped.append(stop.vehicle)

    def _ground_truth(self, st: VehicleStates) -> None:
        veh = self.veh
        t = st.t_ns
        was = veh.braking[st.index]
        hard = st.accel < -_HARD_BRAKING
        new = hard & ~was
        veh.braking[st.index] = hard | (was & (st.accel < -_HARD_BRAKING_END))
        if np.any(new):
            k = int(np.count_nonzero(new))
            self._events.append(dict(t_ns=np.full(k, t, np.int64),
                                     kind=np.full(k, "hard_braking", dtype=object),
                                     vehicle=st.index[new], other=np.full(k, -1, np.int64),
                                     value=-st.accel[new]))
            self.summary.hard_braking += k
        cols = self.traffic.collisions()
        if cols:
            names = self.traffic.vehicle_names()
            pos = {n: i for i, n in enumerate(names)}
            self._events.append(dict(
                t_ns=np.full(len(cols), t, np.int64),
                kind=np.full(len(cols), "collision", dtype=object),
                vehicle=np.array([pos.get(c.collider, -1) for c in cols], np.int64),
                other=np.array([pos.get(c.victim, -1) for c in cols], np.int64),
                value=np.array([c.speed for c in cols], np.float64)))
            self.summary.collisions += len(cols)

    def _record_bus(self, pubs: Sequence[tuple[str, bytes]], pub_t: Sequence[int],
                    t_end: int, msgs: Sequence[BusMessage]) -> None:
        """Bus rows of the window's delivered messages, each at the step it was published in:
        MQTT keeps the order of one publisher's messages on one topic, so the n-th delivery on
        a topic is our n-th publish on it; a message we did not publish (an external client)
        gets the window's last step ``t_end``. Rows are in step order, delivery order within."""
        if not msgs:
            return
        topics = [m.topic for m in msgs]
        if topics == [topic for topic, _ in pubs]:  # delivered as published (memory bus)
            t_ns = np.array(pub_t, np.int64)
        else:
            sent: dict[str, deque[int]] = {}
            for (topic, _), t in zip(pubs, pub_t, strict=True):
                sent.setdefault(topic, deque()).append(t)
            times = []
            for topic in topics:
                q = sent.get(topic)
                times.append(q.popleft() if q else t_end)
            t_ns = np.array(times, np.int64)
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
        self.rec.append("bus", t_ns=t_ns[o], topic=[topics[i] for i in ol],
                        msg_type=[kinds[i][0] for i in ol],
                        direction=[kinds[i][1] for i in ol],
                        size_bytes=sizes[o], wall_latency_ms=lat[o])

    def _write_nodes(self) -> None:
        veh = self.veh
        kind = np.where(veh.u[:, 0] < self.cfg.penetration, "obu", "none").astype(object)
        n_r = len(self.roadside)
        self.rec.append(
            "nodes",
            node=np.concatenate([np.arange(veh.n, dtype=np.int64), self.rsu_node]),
            name=veh.names + [r.name for r in self.roadside],
            kind=np.concatenate([kind, np.full(n_r, "rsu", dtype=object)]),
            vclass=np.concatenate([np.nan_to_num(veh.static[:, 2]).astype(np.int16),
                                   np.zeros(n_r, np.int16)]),
            length_m=np.concatenate([veh.static[:, 0], np.zeros(n_r)]).astype(np.float32),
            width_m=np.concatenate([veh.static[:, 1], np.zeros(n_r)]).astype(np.float32))

    def _write_aggregates(self) -> None:
        self.rec.append("prr_bins", **self.prr.table())
        self.rec.append("latency_hist", **self.latency.table())
        self.rec.append("ipg_hist", **self.ipg.table())
