"""The simulation loop: traffic -> BSM/SPAT/MAP -> PC5 channel -> applications -> bus -> recorder.

One step (default 100 ms of simulated time), everything vectorized over vehicles and links:

1. the traffic backend advances and hands over vehicle state columns; scripted events fire;
2. equipped OBUs whose BSM is due encode a :class:`~v2x.messages.BsmBatch`; every RSU hands
   over its due SPAT/MAP (:class:`Roadside` protocol);
3. candidate links within ``prr_max_m`` come from a k-d tree (:func:`~v2x.channel.find_pairs`);
   the channel model decides reception and latency per link;
4. online aggregates count every link (PRR bins, latency and inter-packet-gap histograms);
5. forward collision warning runs on the BSMs each OBU received (positions decoded from the
   quantized lat/lon, as a real OBU would);
6. RSUs forward what they heard and sent on the bus; the loop waits until the recording tap has
   received everything it published (a barrier), so results do not depend on machine speed;
7. the recorder appends the step's rows.

Receptions are processed in the step they were sent in: the channel latency (a few ms to tens
of ms) is recorded, and applications see a message within the same 100 ms step.
Randomness: one ``SeedSequence(seed)`` split into independent generators per component
(channel, equipage/msgCnt/sampling).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from v2x.apps import FcwState, ForwardCollisionWarning, most_critical
from v2x.bus import Bus, BusMessage, Tap, parse_topic, rsu_up
from v2x.channel import ChannelModel, LinkBatch, find_pairs
from v2x.geo import GeoFrame
from v2x.messages._bsm import BsmBatch, BsmFields
from v2x.messages._envelope import pack_frame_rows
from v2x.messages._json import to_json_bytes
from v2x.messages._units import decode_heading, decode_speed, decode_vehicle_length, sec_mark
from v2x.messages._uper import BSM_BATCH_FRAME_BYTES, decode_bsm_frames, encode_bsm_batch
from v2x.recorder import MSG_TYPES, Histogram, PairClock, PrrBins, Recorder, categorical
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
class Outgoing:
    """A message an RSU transmits this step: type, msgCnt, bus payload, on-air size [bytes]
    and its UPER frame (``None`` when the payload is the UPER frame)."""

    msg_type: str
    msg_cnt: int
    payload: bytes
    size_bytes: int
    frame: bytes | None = None


class Roadside(Protocol):
    """What the loop needs of a roadside unit (implemented in :mod:`roadside`)."""

    name: str
    x: float
    y: float
    antenna_height_m: float

    def transmit(self, t_ns: int) -> Sequence[Outgoing]:
        """Messages due at ``t_ns`` (SPAT, MAP, ... at their periods)."""
        ...


@dataclass(frozen=True)
class ScriptedStop:
    """At ``at_ns`` vehicle ``vehicle`` brakes to a stop at ``decel`` [m/s²], holds ``hold_ns``."""

    at_ns: int
    vehicle: str
    decel: float
    hold_ns: int


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
        fields_source: gives a step's :class:`~v2x.messages.BsmFields` when something else
            already computed them (the traffic process of
            :class:`~v2x.traffic.PipelinedTraffic`); by default the loop encodes them.
    """

    def __init__(self, *, traffic: TrafficBackend, roadside: Sequence[Roadside],
                 channel: ChannelModel, geo: GeoFrame, recorder: Recorder, config: SimConfig,
                 seed: int,
                 fields_source: Callable[[VehicleStates], BsmFields] | None = None) -> None:
        self.traffic = traffic
        self._fields_source = fields_source
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
        async with Tap(bus, f"v2x/{cfg.zone}/#") as tap:
            for _ in range(n_steps):
                states = self.traffic.step()
                pubs, n_tx = self._step(states)
                messages += n_tx
                if pubs:
                    await bus.publish_many(pubs)
                    published += len(pubs)
                    await tap.wait_for(published, timeout_s=30.0)
                    self._record_bus(states.t_ns, tap.drain())
                self.summary.steps += 1
                if progress is not None:
                    progress(StepProgress(states.t_ns, cfg.duration_ns, states.n, messages,
                                          time.perf_counter() - wall0))
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
    def _step(self, st: VehicleStates) -> tuple[list[tuple[str, bytes]], int]:
        cfg = self.cfg
        t = st.t_ns
        self._fire_stops(t)
        veh = self.veh
        if st.n:
            veh.ensure(st)
        idx = st.index
        self._ground_truth(st)

        # -- who transmits ----------------------------------------------------------------
        equipped = veh.u[idx, 0] < cfg.penetration
        due = equipped & ((t - veh.first_ns[idx]) % cfg.bsm_period_ns == 0)
        s = np.flatnonzero(due)
        sender = idx[s]
        msg_cnt = (np.floor(veh.u[sender, 1] * 128).astype(np.int64) + veh.sent[sender]) % 128
        veh.sent[sender] += 1
        fields = self._fields(st)  # every vehicle's BSM content, standard units
        lat_all, lon_all = fields.lat_deg, fields.lon_deg
        bsm = BsmBatch.assemble(fields, s, sender=sender, msg_cnt=msg_cnt,
                                sec_mark=int(sec_mark(cfg.start, t)))
        frames = encode_bsm_batch(bsm)  # real UPER MessageFrames, one per BSM
        heard = self._decode_bsm(t, bsm, frames)  # what every receiver reads (broadcast)
        rsu_out: list[tuple[int, Outgoing]] = [(r, o) for r, unit in enumerate(self.roadside)
                                               for o in unit.transmit(t)]
        n_b, n_r = bsm.n, len(rsu_out)
        n_tx = n_b + n_r
        # RSU messages as columns: (rsu index, type code, size, msgCnt)
        r_cols = np.array([(r, _CODE[o.msg_type], o.size_bytes, o.msg_cnt) for r, o in rsu_out],
                          np.int64).reshape(n_r, 4)
        r_of = r_cols[:, 0]
        tx_node = np.concatenate([sender, self.rsu_node[r_of]])
        tx_x = np.concatenate([st.x[s], self.rsu_xy[r_of, 0]])
        tx_y = np.concatenate([st.y[s], self.rsu_xy[r_of, 1]])
        tx_h = np.concatenate([np.full(n_b, cfg.obu_antenna_height_m), self.rsu_h[r_of]])
        tx_type = np.concatenate([np.full(n_b, _BSM, np.int8), r_cols[:, 1].astype(np.int8)])
        tx_size = np.concatenate([np.full(n_b, BSM_BATCH_FRAME_BYTES, np.int64), r_cols[:, 2]])
        tx_cnt = np.concatenate([msg_cnt, r_cols[:, 3]])
        tx_id = self.next_tx_id + np.arange(n_tx, dtype=np.int64)
        self.next_tx_id += n_tx
        self._tx_counts += np.bincount(tx_type, minlength=len(MSG_TYPES))

        # -- who listens -----------------------------------------------------------------
        e = np.flatnonzero(equipped)
        n_ve = e.size
        rx_node = np.concatenate([idx[e], self.rsu_node])
        rx_xy = np.concatenate([np.column_stack([st.x[e], st.y[e]]), self.rsu_xy])
        rx_h = np.concatenate([np.full(n_ve, cfg.obu_antenna_height_m), self.rsu_h])

        links = find_pairs(np.column_stack([tx_x, tx_y]), rx_xy, cfg.prr_max_m,
                           tx_node=tx_node, rx_node=rx_node)
        rx = self.channel.evaluate(links, tx_height_m=tx_h, rx_height_m=rx_h,
                                   size_bytes=tx_size, rng=self.rng_channel)
        ltype = tx_type[links.tx]
        got = rx.received

        # -- exact online KPIs ------------------------------------------------------------
        self.prr.add(ltype, links.distance_m, got)
        g = np.flatnonzero(got)
        self.latency.add(ltype[g], rx.latency_ns[g])
        slot = self.clock.slots(np.concatenate([idx, self.rsu_node]))
        # slot of each receiver / sender row: receivers are equipped vehicles then RSUs
        rx_slot = np.concatenate([slot[e], slot[st.n:]])
        tx_slot = np.concatenate([slot[s], slot[st.n:][r_of]])
        gtype, gap = self.clock.update(ltype[g], rx_slot[links.rx[g]], tx_slot[links.tx[g]],
                                       t + rx.latency_ns[g])
        self.ipg.add(gtype, gap)
        self.clock.release(np.concatenate([idx, self.rsu_node]))

        # -- applications -----------------------------------------------------------------
        used = np.zeros(links.tx.size, bool)
        if cfg.fcw is not None and n_b:
            self._fcw(cfg.fcw, st, e, heard, bsm, links, got, ltype, tx_id, used)

        # -- recording --------------------------------------------------------------------
        rec = self.rec
        if st.n:
            rec.append("trajectories", t_ns=np.full(st.n, t, np.int64), vehicle=idx,
                       x=st.x, y=st.y, lat=lat_all, lon=lon_all,
                       speed=st.speed, accel=st.accel, heading_deg=st.heading_deg,
                       lane=st.lane, lane_pos=st.lane_pos, length=st.length)
        if n_tx:
            rec.append("transmissions", tx_id=tx_id, t_ns=np.full(n_tx, t, np.int64),
                       sender=tx_node, msg_type=categorical(tx_type, MSG_TYPES),
                       msg_cnt=tx_cnt, size_bytes=tx_size, x=tx_x, y=tx_y,
                       frame=frames + [o.payload if o.frame is None else o.frame
                                       for _, o in rsu_out])
        sampled_rx = np.concatenate([veh.u[idx[e], 2] < cfg.reception_sample,
                                     self.rsu_sampled])
        keep = np.flatnonzero(sampled_rx[links.rx] | used)
        if keep.size:
            lt = links.tx[keep]
            rec.append("receptions", tx_id=tx_id[lt], t_ns=np.full(keep.size, t, np.int64),
                       receiver=rx_node[links.rx[keep]],
                       msg_type=categorical(ltype[keep], MSG_TYPES),
                       distance_m=links.distance_m[keep], received=got[keep],
                       latency_ns=rx.latency_ns[keep],
                       used_by=categorical(used[keep].astype(np.int32), _APP_NAMES))

        # -- bus: RSUs forward what they heard and what they sent ---------------------------
        pubs = self._forward(bsm, frames, links, got, ltype, n_ve, rsu_out) \
            if cfg.forward and self.roadside else []
        return pubs, n_tx

    def _forward(self, bsm: BsmBatch, frames: list[bytes], links: LinkBatch, got: np.ndarray,
                 ltype: np.ndarray, n_ve: int,
                 rsu_out: list[tuple[int, Outgoing]]) -> list[tuple[str, bytes]]:
        """The bus messages of the step's RSU uplinks: per RSU one message with every BSM it
        received (length-prefixed UPER frames, or JSON), then what each RSU sent."""
        pubs: list[tuple[str, bytes]] = []
        up = np.flatnonzero(got & (links.rx >= n_ve) & (ltype == _BSM))
        if up.size:
            rsu_of = links.rx[up] - n_ve  # receivers after the n_ve OBUs are the RSUs
            order = np.argsort(rsu_of, kind="stable")
            up, rsu_of = up[order], rsu_of[order]
            cuts = np.flatnonzero(np.diff(rsu_of)) + 1
            uper = self.cfg.payload == "uper"
            if uper:
                rows_u8 = np.frombuffer(b"".join(frames), np.uint8).reshape(bsm.n, -1)
            for chunk, rows in zip(np.split(rsu_of, cuts), np.split(up, cuts), strict=True):
                b = links.tx[rows]
                body = (pack_frame_rows(rows_u8[b]) if uper
                        else to_json_bytes({"bsm": bsm.take(b).to_json()}))
                pubs.append((self._uplink[int(chunk[0]), "BSM"], body))
        pubs.extend((self._uplink[r, o.msg_type], o.payload) for r, o in rsu_out)
        return pubs

    def _fcw(self, fcw: ForwardCollisionWarning, st: VehicleStates, e: np.ndarray,
             heard: dict[str, np.ndarray], bsm: BsmBatch, lk: LinkBatch, got: np.ndarray,
             ltype: np.ndarray, tx_id: np.ndarray, used: np.ndarray) -> None:
        """Forward collision warning on the received BSMs of equipped vehicles within
        ``fcw_range_m``; writes rising-edge warnings and marks the links it warned on."""
        n_ve = e.size
        cand = np.flatnonzero(got & (ltype == _BSM) & (lk.rx < n_ve)
                              & (lk.distance_m <= self.cfg.fcw_range_m))
        if cand.size == 0:
            self.fcw_state.update(np.empty(0, np.int64))
            return
        b = lk.tx[cand]      # BSM rows are the first rows of the step's transmissions
        ego = e[lk.rx[cand]]  # vehicle-state rows of the receivers
        res = fcw.evaluate(ego_x=st.x[ego], ego_y=st.y[ego], ego_speed=st.speed[ego],
                           ego_heading_deg=st.heading_deg[ego], remote_x=heard["x"][b],
                           remote_y=heard["y"][b], remote_speed=heard["speed"][b],
                           remote_heading_deg=heard["heading_deg"][b],
                           remote_length=heard["length"][b])
        used[cand[res.warn]] = True
        ego_node = st.index[ego]
        crit = most_critical(ego_node, res.ttc_s, res.warn)
        rising = self.fcw_state.update(crit.receiver)
        if np.any(rising):
            li = crit.link[rising]
            self.rec.append("warnings", t_ns=np.full(li.size, st.t_ns, np.int64),
                            app=np.full(li.size, "FCW", dtype=object), vehicle=ego_node[li],
                            remote=bsm.sender[b[li]], ttc_s=res.ttc_s[li], gap_m=res.gap_m[li],
                            tx_id=tx_id[b[li]])
            self.summary.warnings += int(li.size)

    # ------------------------------------------------------------------------------------
    def _decode_bsm(self, t_ns: int, bsm: BsmBatch, frames: list[bytes]) -> dict[str, np.ndarray]:
        """Decode the step's BSM frames once (PC5 is a broadcast: every receiver gets the same
        bytes) into what applications use: network x/y [m], speed [m/s], heading [deg],
        length [m], (n_bsm,) each, NaN for a frame that did not decode; such frames are
        counted and recorded as ``decode_error`` events (value = the transmission's row)."""
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
            self.rec.append("events", t_ns=np.full(k, t_ns, np.int64),
                            kind=np.full(k, "decode_error", dtype=object),
                            vehicle=bsm.sender[rows], other=np.full(k, -1, np.int64),
                            value=rows.astype(np.float64))
            self.summary.decode_errors += k
        return out

    def _fields(self, st: VehicleStates) -> BsmFields:
        if self._fields_source is not None:
            return self._fields_source(st)
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
            self.rec.append("events", t_ns=np.full(k, t, np.int64),
                            kind=np.full(k, "hard_braking", dtype=object),
                            vehicle=st.index[new], other=np.full(k, -1, np.int64),
                            value=-st.accel[new])
            self.summary.hard_braking += k
        cols = self.traffic.collisions()
        if cols:
            names = self.traffic.vehicle_names()
            pos = {n: i for i, n in enumerate(names)}
            self.rec.append("events", t_ns=np.full(len(cols), t, np.int64),
                            kind=np.full(len(cols), "collision", dtype=object),
                            vehicle=np.array([pos.get(c.collider, -1) for c in cols], np.int64),
                            other=np.array([pos.get(c.victim, -1) for c in cols], np.int64),
                            value=np.array([c.speed for c in cols], np.float64))
            self.summary.collisions += len(cols)

    def _record_bus(self, t_ns: int, msgs: Sequence[BusMessage]) -> None:
        if not msgs:
            return
        topics, types, dirs, sizes, lat = [], [], [], [], []
        for m in msgs:
            info = self._topic_info.get(m.topic)
            if info is None:
                parsed = parse_topic(m.topic)
                info = (parsed.msg_type, parsed.direction) if parsed else ("", "")
                self._topic_info[m.topic] = info
            topics.append(m.topic)
            types.append(info[0])
            dirs.append(info[1])
            sizes.append(len(m.payload))
            w = m.wall_latency_ns
            lat.append(np.nan if w is None else w / 1e6)
        n = len(topics)
        self.rec.append("bus", t_ns=np.full(n, t_ns, np.int64), topic=topics, msg_type=types,
                        direction=dirs, size_bytes=np.array(sizes, np.int64),
                        wall_latency_ms=np.array(lat, np.float64))

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
