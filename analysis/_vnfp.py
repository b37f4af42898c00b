"""Near-field payment KPIs from a recording: how many hosts' payments completed, and how long
the exchange took (the exchange: :mod:`roadside._vnfp`, the OBU's rule: :mod:`v2x.apps._vnfp`).

| KPI                      | unit | meaning                                                     |
|--------------------------|------|-------------------------------------------------------------|
| `apps.VNFP.completed`    | 1    | distinct hosts whose payment completed (a VNFP warning)     |
| `apps.VNFP.latency_ms`   | ms   | largest over those hosts of the round trip of the exchange  |
|                          |      | that completed it (NaN: none completed)                     |

Round trip of a host's completion (its first VNFP warning row): the RSU's answer names the
request it answers by that BSM's secMark (``"VNFP <id> <secMark>"``), so the request was sent
``delta = (secMark(answer sent) - secMark(request)) mod 60000`` ms before the answer, and
the answer was received ``L`` ms after it was sent (the warning's ``info_age_ms`` minus the
time from the answer's sending to the warning's step, 0 in the loop); latency = ``delta +
L``. The answer frame is read back from ``transmissions.frame``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

__all__ = ["vnfp_kpis"]

_APP = "VNFP"
_MINUTE_MS = 60_000


def vnfp_kpis(rec: Any) -> dict[str, float]:
    """``apps.VNFP.completed`` and ``apps.VNFP.latency_ms`` of a recording (a
    :class:`analysis.Recording`); empty when the run did not run VNFP and has no VNFP
    warning (the transmissions table is read only when a payment completed)."""
    warnings: pd.DataFrame = rec.warnings
    rows = warnings[warnings["app"].astype(str) == _APP]
    if _APP not in [str(a) for a in rec.run.get("applications", [])] and rows.empty:
        return {}
    if rows.empty:
        return {f"apps.{_APP}.completed": 0, f"apps.{_APP}.latency_ms": math.nan}
    first = rows.sort_values("t_ns", kind="stable").drop_duplicates("vehicle")
    tx = _answers(rec.run_dir, first["tx_id"].tolist())
    start = dt.datetime.fromisoformat(str(rec.run["start"]))
    latencies = [_round_trip_ms(r, tx, start) for r in first.itertuples(index=False)]
    return {f"apps.{_APP}.completed": len(first),
            f"apps.{_APP}.latency_ms": max(latencies)}


def _answers(run_dir: Any, tx_ids: list[int]) -> pd.DataFrame:
    """``t_ns`` and ``frame`` of the transmissions ``tx_ids``, by tx_id (frames are binary
    columns the recording reader leaves out: read here, only these rows)."""
    import pyarrow.parquet as pq

    from v2x.recorder._layout import table_files

    files = table_files(run_dir, "transmissions") or []
    parts = [pq.read_table(f, columns=["tx_id", "t_ns", "frame"],
                           filters=[("tx_id", "in", tx_ids)]).to_pandas() for f in files]
    found = pd.concat(parts) if parts else pd.DataFrame(columns=["tx_id", "t_ns", "frame"])
    return found.set_index("tx_id")


def _round_trip_ms(row: Any, tx: pd.DataFrame, start: dt.datetime) -> float:
    """The round trip [ms] of the exchange that completed the warning ``row`` (NaN when its
    answer cannot be read back)."""
    from v2x.apps._vnfp import read_payment_answer
    from v2x.errors import DecodeError
    from v2x.messages import decode_frame, sec_mark

    if row.tx_id not in tx.index:
        return math.nan
    sent_ns = int(tx.at[row.tx_id, "t_ns"])
    frame = tx.at[row.tx_id, "frame"]
    utc_ns = int(start.timestamp() * 1e9) + sent_ns
    try:
        msg = decode_frame(bytes(frame), now_ns=utc_ns)
    except DecodeError:
        return math.nan
    requests = [a[1] for e in getattr(msg, "events", ())
                if (a := read_payment_answer(e.description)) is not None
                and a[0] == int(row.vehicle)]
    if not requests:
        return math.nan
    delta_ms = (int(sec_mark(start, sent_ns)) - requests[0]) % _MINUTE_MS
    air_ms = float(row.info_age_ms) - (int(row.t_ns) - sent_ns) / 1e6
    return delta_ms + air_ms
