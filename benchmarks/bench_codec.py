"""BSM encode+decode throughput of our UPER codec against asn1tools called directly.

Both sides encode and decode the same BSM frames with the same compiled specification:

* ours: ``encode_bsm_batch`` (a BsmBatch in standard units -> frames, vectorized) and
  ``decode_bsm_frames`` (frames -> BsmBatch), i.e. the simulation's per-step path;
* asn1tools: ``spec.encode("MessageFrame", value)`` / ``spec.decode(...)`` per message with the
  value dicts prepared beforehand (no unit conversion counted).

Also printed: the message-by-message value-class path (``encode_frame`` / ``decode_frame``
of a :class:`Bsm` in SI units), and the sizes of a typical BSM, SPAT (4 phases) and MAP (one
4-arm node, 2 lanes per arm with points). Issue 3 target: ratio >= 0.7.

Then the per-step SPAT / MAP paths: :class:`SpatFrameTemplate` (4 and 16 phases) and
:class:`MapFrameTemplate` against ``encode_frame`` of the same message (byte-identical, checked
here too), and the cost of one step of 16 RSUs' SPATs (budget 0.25 ms).

Run: ``python benchmarks/bench_codec.py [n_messages]``
"""

from __future__ import annotations

import sys
import time

import numpy as np

from v2x.messages import (
    AllowedManeuvers,
    Connection,
    IntersectionState,
    IntersectionStatus,
    LightState,
    MapData,
    MapLane,
    MapLink,
    MapNode,
    NodeReferenceId,
    Phase,
    PhaseState,
    Position3D,
    Spat,
    SpeedLimit,
    SpeedLimitType,
    TimeCountingDown,
)
from v2x.messages._bsm import BsmBatch
from v2x.messages._bsm_msg import BrakeSystemStatus, Bsm
from v2x.messages._uper import (
    MapFrameTemplate,
    SpatFrameTemplate,
    compiled_spec,
    decode_bsm_frames,
    decode_frame,
    encode_bsm_batch,
    encode_frame,
)

S = 1_000_000_000


def _batch(rng: np.random.Generator, n: int) -> BsmBatch:
    return BsmBatch(
        sender=rng.integers(1, 10_000, n), msg_cnt=rng.integers(0, 128, n),
        sec_mark=np.full(n, 12_300), lat=390_558_300 + rng.integers(-20_000, 20_000, n),
        lon=1_170_550_000 + rng.integers(-20_000, 20_000, n), speed=rng.integers(0, 800, n),
        heading=rng.integers(0, 28800, n), accel_long=rng.integers(-300, 300, n),
        width=np.full(n, 180), length=np.full(n, 460), height=np.full(n, 30),
        classification=np.full(n, 10), brake=rng.random(n) < 0.2, events=np.zeros(n, np.int64))


def _best(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _typical_spat() -> Spat:
    phases = tuple(Phase(i + 1, (PhaseState(light, TimeCountingDown(
        0, (12 + 7 * i) * S, min_end_time_ns=(12 + 7 * i) * S, max_end_time_ns=(12 + 7 * i) * S,
        next_start_time_ns=(40 + i) * S, next_duration_ns=30 * S)),))
        for i, light in enumerate((LightState.PROTECTED_GREEN, LightState.RED, LightState.RED,
                                   LightState.RED)))
    return Spat(12, (IntersectionState(NodeReferenceId(101, 1), IntersectionStatus(
        IntersectionStatus.FIXED_TIME_OPERATION), phases, timestamp_ns=1_780_000_000 * S),),
        timestamp_ns=1_780_000_000 * S)


def _typical_map() -> MapData:
    lat0, lon0 = 390_558_300, 1_170_550_000
    ref = Position3D(lat0 * 1e-7, lon0 * 1e-7, 3.0)
    links = []
    # 4 arms (N, E, S, W), incoming links 150 m long, 2 lanes each, 3 points per lane
    for arm, (dy, dx) in enumerate(((1, 0), (0, 1), (-1, 0), (0, -1))):
        lanes = []
        for k in range(2):
            side = (k + 0.5) * 3.5  # [m] right of the centre line
            pts = []
            for dist in (150.0, 75.0, 12.0):
                north = dy * dist - dx * side  # offset of the lane centre [m]
                east = dx * dist + dy * side
                pts.append(Position3D((lat0 + round(north / 0.0111)) * 1e-7,
                                      (lon0 + round(east / 0.00863)) * 1e-7))
            lanes.append(MapLane(k + 1, 3.5, AllowedManeuvers.STRAIGHT | (
                AllowedManeuvers.LEFT if k == 0 else AllowedManeuvers.RIGHT),
                (Connection(NodeReferenceId(200 + (arm + 1 + k) % 4), None, 1 + arm),),
                tuple(pts)))
        links.append(MapLink(NodeReferenceId(200 + arm), tuple(lanes),
                             (SpeedLimit(SpeedLimitType.VEHICLE_MAX_SPEED, 50 / 3.6),), 7.0))
    return MapData(3, (MapNode(NodeReferenceId(101, 1), ref, tuple(links)),),
                   timestamp_ns=1_780_000_000 * S)


def main(n: int = 2000) -> None:
    spec = compiled_spec()
    rng = np.random.default_rng(0)
    batch = _batch(rng, n)
    frames = encode_bsm_batch(batch)
    values = [spec.decode("MessageFrame", f) for f in frames]  # prepared beforehand

    def ours() -> None:
        decode_bsm_frames(encode_bsm_batch(batch))

    def direct() -> None:
        for v in values:
            spec.decode("MessageFrame", spec.encode("MessageFrame", v))

    t_ours, t_direct = _best(ours), _best(direct, 3)
    r_ours, r_direct = n / t_ours, n / t_direct
    print(f"BSM frames: {len(frames[0])} bytes each, n = {n}")
    print(f"ours (encode_bsm_batch + decode_bsm_frames): {r_ours:12,.0f} msg/s "
          f"({1e6 / r_ours:7.2f} us/msg)")
    print(f"asn1tools direct (encode + decode):          {r_direct:12,.0f} msg/s "
          f"({1e6 / r_direct:7.2f} us/msg)")
    print(f"ratio ours / asn1tools: {r_ours / r_direct:.2f} (target >= 0.7)")

    # the message-by-message value-class path, SI units in and out
    msgs = [Bsm(msg_cnt=int(batch.msg_cnt[i]), id=int(batch.sender[i]).to_bytes(8, "big"),
                sec_mark_s=12.3, lat_deg=float(batch.lat[i]) * 1e-7,
                lon_deg=float(batch.lon[i]) * 1e-7, speed_mps=float(batch.speed[i]) * 0.02,
                heading_deg=float(batch.heading[i]) * 0.0125, width_m=1.8, length_m=4.6,
                height_m=1.5, accel_long_mps2=float(batch.accel_long[i]) * 0.01,
                brakes=BrakeSystemStatus(brake_pedal=2 if batch.brake[i] else 1))
            for i in range(min(n, 500))]
    t_enc = _best(lambda: [encode_frame(m) for m in msgs], 3) / len(msgs)
    enc = [encode_frame(m) for m in msgs]
    t_dec = _best(lambda: [decode_frame(f, now_ns=0) for f in enc], 3) / len(msgs)
    t_a_enc = _best(lambda: [spec.encode("MessageFrame", v) for v in values[:len(msgs)]], 3) \
        / len(msgs)
    t_a_dec = _best(lambda: [spec.decode("MessageFrame", f) for f in frames[:len(msgs)]], 3) \
        / len(msgs)
    print(f"value-class path: encode_frame {t_enc * 1e6:.1f} us, decode_frame "
          f"{t_dec * 1e6:.1f} us per BSM ({len(enc[0])} bytes; asn1tools alone: encode "
          f"{t_a_enc * 1e6:.1f} us, decode {t_a_dec * 1e6:.1f} us); ratio "
          f"{(t_a_enc + t_a_dec) / (t_enc + t_dec):.2f}")

    spat, mapd = _typical_spat(), _typical_map()
    for name, msg in (("SPAT (1 intersection, 4 phases, full timing)", spat),
                      ("MAP (one 4-arm node, 2 lanes per arm, 3 points per lane)", mapd)):
        f = encode_frame(msg)
        t_e = _best(lambda m=msg: encode_frame(m), 5)
        t_d = _best(lambda f=f: decode_frame(f, now_ns=1_780_000_000 * S), 5)
        print(f"{name}: {len(f)} bytes; encode {t_e * 1e6:.0f} us, decode {t_d * 1e6:.0f} us")

    _templates(mapd)


def _per_call(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    """Best-of-5 time [s] of one call of ``fn(i)``, over ``n`` calls."""
    def run() -> None:
        for i in range(n):
            fn(i)
    return _best(run, 5) / n


def _templates(mapd: MapData) -> None:
    ts = 1_780_000_000 * S
    for k in (4, 16):
        # a fixed-time intersection: group g ends 7 g s after the running phase, starts again
        # 40 + g s after it for 30 s; the last group never changes (unknown end)
        t0 = time.perf_counter()
        tpl = SpatFrameTemplate(
            intersection_id=NodeReferenceId(101, 1),
            status=IntersectionStatus.FIXED_TIME_OPERATION, lights=[6] + [3] * (k - 1),
            likely_end_after_ns=[7 * g * S for g in range(k - 1)] + [-1],
            next_start_after_ns=[(40 + g) * S for g in range(k - 1)] + [-1],
            next_duration_ns=[30 * S] * (k - 1) + [-1], fixed_time=True)
        frame = tpl.encode(0, ts, 12 * S)
        t_build = time.perf_counter() - t0
        spats = [Spat(i % 128, (tpl.state(12 * S + i * 100_000_000, ts + i * 100_000_000),),
                      ts + i * 100_000_000) for i in range(200)]
        if any(tpl.encode(i % 128, ts + i * 100_000_000, 12 * S + i * 100_000_000)
               != encode_frame(m) for i, m in enumerate(spats)):
            raise SystemExit("SpatFrameTemplate differs from encode_frame")
        t_tpl = _per_call(lambda i, tpl=tpl: tpl.encode(i % 128, ts + i * 100_000_000,
                                                        12 * S + i * 100_000_000), 2000)
        t_ref = _per_call(lambda i, spats=spats: encode_frame(spats[i]), len(spats))
        print(f"SPAT {k:2d} phases ({len(frame)} bytes): template {t_tpl * 1e6:6.2f} us, "
              f"encode_frame {t_ref * 1e6:7.1f} us ({t_ref / t_tpl:5.0f}x); template built "
              f"in {t_build * 1e3:.1f} ms")
        if k == 4:
            t_step = t_tpl * 16  # 16 RSUs
    mt = MapFrameTemplate(mapd.nodes)
    if mt.encode(5, ts) != encode_frame(MapData(5, mapd.nodes, ts)):
        raise SystemExit("MapFrameTemplate differs from encode_frame")
    t_tpl = _per_call(lambda i: mt.encode(i % 128, ts + i * 60 * S), 2000)
    t_ref = _per_call(lambda i: encode_frame(MapData(i % 128, mapd.nodes, ts + i * 60 * S)), 50)
    print(f"MAP ({mt.size()} bytes): template {t_tpl * 1e6:6.2f} us, encode_frame "
          f"{t_ref * 1e6:7.1f} us ({t_ref / t_tpl:5.0f}x)")
    print(f"one step of 16 RSUs (4-phase SPAT templates): {t_step * 1e3:.3f} ms "
          f"(budget 0.25 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
