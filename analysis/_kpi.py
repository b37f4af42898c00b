"""Network KPIs from a recording, and the flat KPI dictionary that criteria refer to.

Every KPI has a dotted name; criteria in ``run.json`` name them (``{"kpi": "latency.BSM.p99_ms",
"op": "<=", "value": 100}``). ``<T>`` is a message type: the five standard ones (``BSM``, ``MAP``,
``SPAT``, ``RSI``, ``RSM``) always exist, others when they appear in the recording. A KPI with no
data is NaN (a criterion on it fails, saying so); counts are ``int``.

| KPI                                        | unit | meaning (source)                            |
|--------------------------------------------|------|---------------------------------------------|
| `vehicles`                                 | 1    | vehicles seen (run.json counts)             |
| `equipped`                                 | 1    | vehicles with an OBU (run.json counts)      |
| `rsus`                                     | 1    | roadside units (run.json counts)            |
| `steps`                                    | 1    | simulation steps (run.json counts)          |
| `tx.<T>`                                   | 1    | transmissions of type T (transmissions)     |
| `latency.<T>.n`                            | 1    | receptions in the latency histogram         |
| `latency.<T>.p50_ms`, `.p95_ms`, `.p99_ms` | ms   | latency percentiles (latency_hist; below)   |
| `latency.<T>.max_ms`                       | ms   | upper edge of the last non-empty bin        |
| `prr.<T>.within_300m`                      | 1    | sum received / sum pairs, bins hi <= 300 m  |
| `prr.<T>.bin_<lo>_<hi>`                    | 1    | PRR of bin [lo, hi) m, e.g. `bin_0_20`      |
| `ipg.<T>.p50_ms`, `.p99_ms`                | ms   | inter-packet gap percentiles (ipg_hist)     |
| `channel.cbr_mean`, `.cbr_p95`             | 1    | CBR per node and 100 ms (mode4; NaN other)  |
| `channel.cr_mean`                          | 1    | channel occupancy ratio per transmission    |
| `channel.dropped`                          | 1    | packets dropped by congestion control       |
| `bus.messages`                             | 1    | bus messages delivered to the recorder      |
| `bus.<T>.messages`                         | 1    | of them, of message type T                  |
| `bus.wall_latency_p50_ms`                  | ms   | publish -> delivery, wall clock (NaN: none) |
| `bus.wall_latency_p99_ms`                  | ms   | the same, 99th percentile                   |
| `bus.downlink.messages`                    | 1    | downlink RSI an RSU took to broadcast       |
| `realtime.rtf`                             | 1    | real time: simulated / wall time (NaN: off) |
| `realtime.lag_p95_ms`, `.lag_max_ms`       | ms   | how late steps' messages left (NaN: off)    |
| `safety.collisions`                        | 1    | collisions (`collision` events: one each)   |
| `safety.teleports`                         | 1    | SUMO teleports (`teleport` events)          |
| `safety.hard_braking`                      | 1    | `hard_braking` events, decel > 0.4 g        |
| `safety.ttc_conflicts`                     | 1    | TTC conflict episodes (TTC < 3 s default)   |
| `safety.ttc_conflicts_serious`             | 1    | of them min TTC <= 1.5 s (to verify)        |
| `safety.min_ttc_s`                         | s    | min TTC of all same-lane pairs (inf: none)  |
| `safety.max_drac_mps2`                     | m/s² | max DRAC of conflict episodes (0: none)     |
| `safety.offset_ttc_conflicts`             | 1    | TTC conflicts across lanes, paths overlap   |
| `safety.min_offset_ttc_s`                  | s    | min TTC of those pairs (inf: none)          |
| `safety.pet_conflicts`                     | 1    | PET conflicts, PET < 2 s (all kinds)        |
| `safety.pet_conflicts_serious`             | 1    | of them PET <= 1 s (to verify)              |
| `safety.pet_conflicts_crossing`            | 1    | of them vehicle-vehicle crossings           |
| `safety.pet_conflicts_merging`             | 1    | of them merges (on-ramps, junction exits)   |
| `safety.pet_conflicts_lane_change`         | 1    | of them lane changes (merges from beside)   |
| `safety.pet_conflicts_pedestrian`          | 1    | of them vehicle-pedestrian                  |
| `safety.min_pet_s`                         | s    | min PET of all encounters (inf: none)       |
| `safety.red_light_violations`              | 1    | stop lines crossed on red (events)          |
| `safety.speeding`                          | 1    | speeding episodes over the lane limit       |
| `safety.speeding_max_excess_mps`           | m/s  | largest excess over a limit (0: none)       |
| `apps.FCW.warnings`                        | 1    | FCW warnings (warnings)                     |
| `apps.FCW.true_warnings`, `.false_warnings`| 1    | = FCW's true / false positives              |
| `apps.<A>.warnings`                        | 1    | warnings of any other app A                 |
| `apps.<A>.first_warning_s`                 | s    | time of A's first warning (NaN: none)       |
| `apps.<A>.hosts_warned`                    | 1    | distinct host vehicles A warned             |
| `benefit.<m>_with`, `benefit.<m>_without`  |      | `[benefit] compare`: safety KPI m with V2X  |
|                                            |      | and without (apps off); m = `collisions`,   |
|                                            |      | `ttc_conflicts`, `ttc_conflicts_serious`,   |
|                                            |      | `min_ttc_s`, `hard_braking` (_benefit.py)   |
| `benefit.collisions_avoided`               | 1    | collisions without - with (also             |
|                                            |      | `benefit.ttc_conflicts_avoided`)            |
| `apps.VNFP.completed`                      | 1    | hosts whose payment completed (VNFP)        |
| `apps.VNFP.latency_ms`                     | ms   | largest round trip of those (analysis._vnfp)|
| `apps.<A>.true_positives`                  | 1    | warnings its truth rule confirms (below)    |
| `apps.<A>.false_positives`                 | 1    | warnings it does not                        |
| `apps.<A>.misses`                          | 1    | conflicts of equipped hosts never warned of |
| `apps.<A>.lead_time_min_s`, `.lead_time_p50_s` | s | warning to conflict instant (NaN: none)  |
| `apps.<A>.info_age_p50_ms`                 | ms   | age of the triggering message (NaN: none)   |

A row ``a.b.c``, ``.d`` lists ``a.b.c`` and ``a.b.d``.

Ground-truth measures (TTC, DRAC, offset pairs, red light, speeding) are defined in
:mod:`analysis._safety`, PET in :mod:`analysis._pet`; the truth rule of each application
(``true_positives`` ... ``info_age_p50_ms``) in :mod:`analysis._scoring` (an application that
is not scored has ``info_age_p50_ms`` only).

Bin keys: an integral edge is written as an integer (``bin_0_20``); a fractional one with ``p``
for the point (``bin_12p5_25``). Bins come from ``run.json`` (``prr_bin_m`` up to ``prr_max_m``)
and from ``prr_bins``; a bin without pairs is NaN.

Histogram percentiles (latency, inter-packet gap) use the nearest-rank definition: the p-th
percentile of n samples is the k-th smallest, k = ceil(p/100 * n). From a histogram we report the
upper edge of the bin holding the k-th sample, so the value is never below the true percentile and
at most one bin width above it (``latency_bin_ns``, 0.1 ms by default). Bus wall latencies are raw
samples: nearest-rank percentiles, exact.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from analysis._recording import Recording
from v2x.msgset import MSG_TYPES

__all__ = [
    "MSG_TYPES",
    "PRR_WITHIN_M",
    "bin_key",
    "histogram_percentile",
    "kpi_order",
    "latency_cdf",
    "network_kpis",
    "prr_table",
    "sample_percentile",
]

#: range of the cumulative PRR KPI ``prr.<T>.within_300m`` [m]
PRR_WITHIN_M = 300.0


def kpi_order(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a KPI name that orders its numbers as numbers: ``prr.BSM.bin_20_40`` before
    ``prr.BSM.bin_100_120`` (text order puts "100" before "20"); a fractional edge's ``p``
    (``bin_12p5_25``) splits its integer part from its fraction."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", name) if part)

_NS_PER_MS = 1e6


def _rank(q: float, n: int) -> int:
    """Nearest rank k = ceil(q/100 * n), 1..n (rounded first so 0.95*20 is 19, not 19.000...04)."""
    return min(n, max(1, math.ceil(round(q / 100.0 * n, 9))))


def histogram_percentile(
    bin_hi: np.ndarray, count: np.ndarray, q: float
) -> float:
    """Nearest-rank ``q``-th percentile (0 < q <= 100) of a histogram, as a bin upper edge.

    ``bin_hi`` (n,) upper bin edges and ``count`` (n,) counts, in any order; empty bins are
    ignored. Returns the upper edge of the bin holding the k-th smallest sample,
    k = ceil(q/100 * N): never below the true percentile, at most one bin width above it.
    NaN when the histogram is empty.
    """
    hi = np.asarray(bin_hi, dtype=np.float64)
    cnt = np.asarray(count, dtype=np.int64)
    keep = cnt > 0
    hi, cnt = hi[keep], cnt[keep]
    n = int(cnt.sum())
    if n == 0:
        return math.nan
    order = np.argsort(hi, kind="stable")
    hi, cum = hi[order], np.cumsum(cnt[order])
    idx = int(np.searchsorted(cum, _rank(q, n), side="left"))
    return float(hi[idx])


def sample_percentile(values: np.ndarray, q: float) -> float:
    """Nearest-rank ``q``-th percentile of raw samples (NaN ignored; NaN when none)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan
    return float(v[_rank(q, v.size) - 1])


def _edge(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x)).replace(".", "p")


def bin_key(lo: float, hi: float) -> str:
    """KPI key part of a distance bin: ``bin_0_20``, ``bin_12p5_25``."""
    return f"bin_{_edge(lo)}_{_edge(hi)}"


def _counts(col: pd.Series) -> dict[str, int]:
    """Rows per value (as str) of a string or categorical column; a categorical one is counted
    on its codes (no string per row)."""
    return {str(k): int(v) for k, v in col.value_counts(sort=False).items()}


def _types(*columns: pd.Series) -> list[str]:
    extra: set[str] = set()
    for col in columns:
        extra.update(str(t) for t in pd.unique(col.dropna()))
    return list(MSG_TYPES) + sorted(extra - set(MSG_TYPES))


def prr_table(rec: Recording) -> pd.DataFrame:
    """PRR per message type and distance bin (``prr_bins``, exact over all pairs).

    Columns ``msg_type``, ``bin_lo_m``, ``bin_hi_m``, ``n_pairs``, ``n_received``, ``prr``
    (NaN where ``n_pairs`` is 0), sorted by type and distance; duplicate rows are summed.
    3GPP TR 37.885 PRR: decoded receivers within the bin / receivers within the bin.
    """
    df = rec.prr_bins
    out = (
        df.assign(msg_type=df["msg_type"].astype(str))
        .groupby(["msg_type", "bin_lo_m", "bin_hi_m"], as_index=False, sort=True)[
            ["n_pairs", "n_received"]
        ]
        .sum()
    )
    out["n_pairs"] = out["n_pairs"].astype(np.int64)
    out["n_received"] = out["n_received"].astype(np.int64)
    pairs = out["n_pairs"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["prr"] = np.where(pairs > 0, out["n_received"].to_numpy() / pairs, np.nan)
    return out.reset_index(drop=True)


def latency_cdf(rec: Recording) -> pd.DataFrame:
    """Empirical latency CDF per message type from ``latency_hist``.

    Columns ``msg_type``, ``latency_ms`` (bin upper edge [ms]), ``cdf`` (share of receptions with
    latency below that edge, 0..1]; one row per non-empty bin, sorted.
    """
    df = rec.latency_hist
    df = df[df["count"] > 0]
    df = (
        df.assign(msg_type=df["msg_type"].astype(str))
        .groupby(["msg_type", "bin_hi_ns"], as_index=False, sort=True)["count"]
        .sum()
    )
    cum = df.groupby("msg_type", sort=False)["count"].cumsum()
    total = df.groupby("msg_type", sort=False)["count"].transform("sum")
    return pd.DataFrame({
        "msg_type": df["msg_type"].to_numpy(),
        "latency_ms": df["bin_hi_ns"].to_numpy(dtype=np.float64) / _NS_PER_MS,
        "cdf": (cum / total).to_numpy(dtype=np.float64),
    })


def _prr_bins_nominal(rec: Recording) -> list[tuple[float, float]]:
    try:
        width = float(rec.run["prr_bin_m"])
        top = float(rec.run["prr_max_m"])
    except (TypeError, ValueError):
        return []
    if not (width > 0 and math.isfinite(width) and math.isfinite(top)):
        return []
    n = int(math.floor(top / width + 1e-9))
    return [(i * width, (i + 1) * width) for i in range(n)]


def network_kpis(rec: Recording, prr: pd.DataFrame | None = None) -> dict[str, float]:
    """Counts, latency, PRR, inter-packet gap and bus KPIs (see the module table).

    ``prr`` is :func:`prr_table` of ``rec`` if already computed.
    """
    kpis: dict[str, float] = {}
    counts = rec.run["counts"]
    for key in ("vehicles", "equipped", "rsus", "steps"):
        kpis[key] = int(counts[key])

    load = rec.run.get("summary", {}).get("channel_load", {}) or {}
    for key in ("cbr_mean", "cbr_p95", "cr_mean"):
        kpis[f"channel.{key}"] = float(load.get(key, math.nan))
    kpis["channel.dropped"] = int(load.get("dropped", 0))

    tx_types = rec.column("transmissions", "msg_type")  # not the other 13 columns
    tx = _counts(tx_types)
    for t in _types(tx_types):
        kpis[f"tx.{t}"] = int(tx.get(t, 0))

    for prefix, hist, qs in (
        ("latency", rec.latency_hist, (50, 95, 99)),
        ("ipg", rec.ipg_hist, (50, 99)),
    ):
        mt = hist["msg_type"].astype(str)
        for t in _types(hist["msg_type"]):
            h = hist[mt == t]
            hi = h["bin_hi_ns"].to_numpy(dtype=np.float64) / _NS_PER_MS
            cnt = h["count"].to_numpy(dtype=np.int64)
            if prefix == "latency":
                kpis[f"latency.{t}.n"] = int(cnt[cnt > 0].sum())
            for q in qs:
                kpis[f"{prefix}.{t}.p{q}_ms"] = histogram_percentile(hi, cnt, q)
            if prefix == "latency":
                kpis[f"latency.{t}.max_ms"] = histogram_percentile(hi, cnt, 100)

    if prr is None:
        prr = prr_table(rec)
    bins = _prr_bins_nominal(rec)
    seen = set(bins)
    for lo, hi in zip(prr["bin_lo_m"], prr["bin_hi_m"], strict=True):
        if (float(lo), float(hi)) not in seen:
            seen.add((float(lo), float(hi)))
            bins.append((float(lo), float(hi)))
    bins.sort()
    for t in _types(prr["msg_type"]):
        p = prr[prr["msg_type"] == t]
        near = p[p["bin_hi_m"] <= PRR_WITHIN_M]
        pairs, received = int(near["n_pairs"].sum()), int(near["n_received"].sum())
        kpis[f"prr.{t}.within_300m"] = received / pairs if pairs else math.nan
        by_bin = {
            (float(lo), float(hi)): v
            for lo, hi, v in zip(p["bin_lo_m"], p["bin_hi_m"], p["prr"], strict=True)
        }
        for lo, hi in bins:
            kpis[f"prr.{t}.{bin_key(lo, hi)}"] = float(by_bin.get((lo, hi), math.nan))

    bus = rec.bus
    kpis["bus.messages"] = len(bus)
    bt = _counts(bus["msg_type"])
    for t in _types(bus["msg_type"]):
        kpis[f"bus.{t}.messages"] = int(bt.get(t, 0))
    wall = bus["wall_latency_ms"].to_numpy(dtype=np.float64)
    kpis["bus.wall_latency_p50_ms"] = sample_percentile(wall, 50)
    kpis["bus.wall_latency_p99_ms"] = sample_percentile(wall, 99)
    kpis["bus.downlink.messages"] = int(_counts(bus["direction"]).get("down", 0))
    realtime = rec.run.get("summary", {}).get("realtime", {}) or {}
    for key in ("rtf", "lag_p95_ms", "lag_max_ms"):
        kpis[f"realtime.{key}"] = float(realtime.get(key, math.nan))
    return kpis
