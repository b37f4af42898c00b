"""Calibrate the ``mode4`` channel against the analytical model of Gonzalez-Martin et al. 2019.

For each published configuration (density 0.1 / 0.2 / 0.3 veh/m; 10 Hz at 20 and 23 dBm,
20 Hz at 20 dBm; 4 sub-channels of 10 MHz; 190 B) it simulates :class:`v2x.channel.Mode4Channel`
on the layout the analytical model assumes and prints, per 20 m bin to 500 m, the simulated
PRR, the reference PRR (:mod:`mode4_reference`, a numpy port of the authors' MATLAB code) and
the largest absolute difference; then whether PRR falls with density in both. It also
compares, at 25..500 m, with the authors' own published simulation of each configuration
(:data:`mode4_reference.PUBLISHED_SIMULATION`), and that simulation with the analytical model.

Layout and parameters (every choice, and why):

- vehicles evenly spaced ``1 / beta`` on a ring of 2000 m (the reference counts interferers up
  to ``round(1000 beta) / beta`` = 1000 m each side; on the ring every vehicle has exactly
  those), static (the model has no mobility), every vehicle sending every period, all
  generated at the period start (the loop's step time); distances are ring distances;
- channel: ``path_loss = "winner-b1"``, ``h_env_m = 0`` and 5.91 GHz (get_PL_SH.m),
  ``antenna_gain_dbi = 0`` (the reference has no antenna gain), 10 MHz with 12-RB
  sub-channels (4 sub-channels; 190 B = 10 data RBs + 2 SCI RBs = one sub-channel),
  ``security_overhead_bytes = 0`` (the 190 B are the whole packet), shadowing 3 dB, noise
  figure 9 dB (-95 dBm over 10 MHz), sensitivity and RSRP threshold -90.5 dBm,
  ``rssi_floor_dbm = -90.5``: the S-RSSI ranking of step 3 counts only transmissions received
  above the sensing power threshold, as the analytical model assumes a vehicle senses nothing
  below it (with every transmission counted, the 3GPP measurement and the channel's default,
  vehicles avoid hidden transmitters better than the reference predicts: max |difference|
  0.09 instead of 0.01 at 0.1 veh/m, 10 Hz, 20 dBm, the PRR higher at 300-500 m);
  ``keep_probability = 0``, RRI = 1 / rate (T2 = RRI), no congestion control (the reference
  has none);
- 20 warm-up periods, then ``--periods`` measured periods (default 60); seed 1.

The reference is evaluated at the distances the ring has in each bin (multiples of
``1 / beta``) and averaged per bin, as the simulated PRR is.

Result (seed 1, 60 periods, this commit's code): 8 of the 9 configurations within 0.05 of the
analytical model (max 0.008 .. 0.041); 0.3 veh/m at 20 Hz is 0.157 off (200-220 m), where the
authors' own simulation is itself 0.120 from their analytical model (CBR 0.86: the model's
step-2-only branch, alpha = 1); against that simulation every configuration is within 0.048.
Why (not changed here): that branch computes collisions with the -90.5 dBm threshold only
(``collision(ne2, n_res - ne2, PSEN_DBM)`` in :mod:`mode4_reference`; the raised threshold
of eq. 32 enters only for alpha < 1), whereas at 0.3 veh/m and 20 Hz every vehicle senses
about 290 others above -90.5 dBm (median power up to 470 m at 20 dBm) on 200 resources, so
every candidate is excluded and the standard's procedure (ours, and presumably the authors'
simulation) raises the threshold and reuses resources of vehicles sensed a few dB above it:
nearer interferers than the model assumes, so the model is optimistic there. Following it
would mean leaving TS 36.213; the gap is the reference's, and this configuration is better
judged against the published simulation (0.048).
PRR falls with density in both. The CBR columns differ by definition: ours is the share of
sub-channels with S-RSSI above -94 dBm, the reference's the share of excluded resources.
Exit status 0 only when every configuration is within 0.05 and PRR falls with density.

Usage: ``python benchmarks/calibrate_mode4.py [--periods N] [--seed S]`` (2026-12-03, load
average 5-7 on 2 cores: 55 s wall, 22 s CPU; 2 min 52 s, 37 s CPU before the Mode 4 period
was vectorized further -- the same output)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode4_reference import PUBLISHED_SIMULATION, reference_pdr  # noqa: E402

from v2x.channel import LinkBatch, Mode4Channel  # noqa: E402

RING_M = 2000.0
BIN_M = 20.0
MAX_M = 500.0
CONFIGS = [(beta, lam, pt) for lam, pt in ((10, 20.0), (10, 23.0), (20, 20.0))
           for beta in (0.1, 0.2, 0.3)]


def ring_links(beta: float) -> tuple[LinkBatch, int]:
    """Every ordered pair of the ring's vehicles with their ring distance."""
    n = int(round(beta * RING_M))
    x = np.arange(n) / beta
    dx = np.abs(x[:, None] - x[None, :])
    d = np.minimum(dx, RING_M - dx)
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    return LinkBatch(i.astype(np.int64), j.astype(np.int64), np.round(d[i, j], 6)), n


def simulate(beta: float, lam: int, pt: float, periods: int, seed: int,
             warmup: int = 20, **extra: object) -> tuple[np.ndarray, np.ndarray, float,
                                                          np.ndarray, np.ndarray]:
    """Simulated PRR per bin, the link distances measured (for the reference), mean CBR,
    and the distinct distances <= 500 m with the PRR at each."""
    links, n = ring_links(beta)
    rri_ms = 1000 // lam
    ch = Mode4Channel(path_loss="winner-b1", carrier_ghz=5.91, h_env_m=0.0, tx_power_dbm=pt,
                      antenna_gain_dbi=0.0, bandwidth_mhz=10, noise_figure_db=9.0,
                      subchannel_rb=12, security_overhead_bytes=0, shadowing_db=3.0,
                      sensitivity_dbm=-90.5, rsrp_threshold_dbm=-90.5, rssi_floor_dbm=-90.5,
                      keep_probability=0.0,
                      rri=f"{rri_ms} ms", congestion=False, range_m=RING_M / 2,
                      **extra)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    nodes = np.arange(n, dtype=np.int64)
    n_bins = int(MAX_M / BIN_M)
    b = (links.distance_m / BIN_M).astype(np.int64)
    keep = b < n_bins
    tot = np.zeros(n_bins)
    got = np.zeros(n_bins)
    dist, d_idx = np.unique(links.distance_m[keep], return_inverse=True)
    d_tot = np.zeros(dist.size)
    d_got = np.zeros(dist.size)
    h = np.full(n, 1.5)
    for k in range(warmup + periods):
        r = ch.evaluate_scheduled(links, tx_t_ns=np.full(n, k * rri_ms * 1_000_000),
                                  tx_node=nodes, tx_msg_type=np.zeros(n, np.int64),
                                  rx_node=nodes, tx_height_m=h, rx_height_m=h,
                                  size_bytes=np.full(n, 190), rng=rng)
        if k == warmup:
            ch.take_load()
        if k >= warmup:
            tot += np.bincount(b[keep], minlength=n_bins)
            got += np.bincount(b[keep], weights=r.received[keep], minlength=n_bins)
            d_tot += np.bincount(d_idx, minlength=dist.size)
            d_got += np.bincount(d_idx, weights=r.received[keep], minlength=dist.size)
    cbr = float(ch.take_load().cbr.mean())
    return got / tot, links.distance_m[keep], cbr, dist, d_got / d_tot


def reference_bins(beta: float, lam: int, pt: float, distances: np.ndarray) -> tuple[
        np.ndarray, float]:
    """Reference PRR per bin, averaged over the distinct ring distances in each bin."""
    d = np.unique(distances)
    ref = reference_pdr(beta, lam, pt, 4, d)
    b = (d / BIN_M).astype(np.int64)
    n_bins = int(MAX_M / BIN_M)
    return (np.bincount(b, weights=ref.pdr, minlength=n_bins)
            / np.bincount(b, minlength=n_bins)), ref.cbr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--periods", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    worst = 0.0
    mean_prr: dict[tuple[int, float], list[tuple[float, float, float]]] = {}
    for beta, lam, pt in CONFIGS:
        t0 = time.perf_counter()
        sim, dist, cbr_sim, d_sim, prr_d = simulate(beta, lam, pt, args.periods, args.seed)
        ref, cbr_ref = reference_bins(beta, lam, pt, dist)
        diff = np.abs(sim - ref)
        worst = max(worst, float(diff.max()))
        # the authors' simulation at 25..500 m against ours (interpolated between the ring's
        # distances) and against the analytical model
        d25 = np.arange(25.0, 501.0, 25.0)
        pub = np.array(PUBLISHED_SIMULATION[(beta, lam, pt)][1:])
        ours = np.interp(d25, d_sim, prr_d)
        ana = reference_pdr(beta, lam, pt, 4, d25).pdr
        print(f"\n== beta {beta} veh/m, {lam} Hz, {pt:g} dBm, 4 sub-channels, 190 B: "
              f"max |PRR sim - ref| = {diff.max():.3f} (bin {int(diff.argmax()) * 20}-"
              f"{int(diff.argmax()) * 20 + 20} m); CBR sim {cbr_sim:.3f} (-94 dBm S-RSSI) "
              f"ref {cbr_ref:.3f} (eq. 34); {time.perf_counter() - t0:.1f} s")
        print("bin_m  " + " ".join(f"{int(i * BIN_M):>5d}" for i in range(sim.size)))
        print("sim    " + " ".join(f"{v:5.3f}" for v in sim))
        print("ref    " + " ".join(f"{v:5.3f}" for v in ref))
        print(f"   authors' simulation (25..500 m): max |ours - theirs| "
              f"{np.abs(ours - pub).max():.3f}, max |theirs - analytical| "
              f"{np.abs(pub - ana).max():.3f}")
        mean_prr.setdefault((lam, pt), []).append((beta, float(sim.mean()), float(ref.mean())))
    print(f"\nworst max |difference| over all configurations: {worst:.3f} (target <= 0.05)")
    falling = True
    for (lam, pt), rows in mean_prr.items():
        sims = [r[1] for r in rows]
        refs = [r[2] for r in rows]
        ok = all(a > b for a, b in zip(sims, sims[1:], strict=False)) and all(
            a > b for a, b in zip(refs, refs[1:], strict=False))
        falling &= ok
        print(f"{lam} Hz {pt:g} dBm mean PRR 0-500 m by density 0.1/0.2/0.3: sim "
              + " / ".join(f"{v:.3f}" for v in sims) + "; ref "
              + " / ".join(f"{v:.3f}" for v in refs) + (" falling" if ok else " NOT falling"))
    return 0 if worst <= 0.05 and falling else 1


if __name__ == "__main__":
    raise SystemExit(main())
