"""Hand-made windows of received RSU links (RSI and BSM links; MAP and SPAT links) for the
roadside applications' tests: real frames (encoded and decoded through UPER), hosts given as
columns."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from v2x.apps import AppWindow, DecodedBsm, HeardMaps, ReceivedLinks
from v2x.geo import GeoFrame
from v2x.messages import Position3D, ReferencePath, Rsi, decode_frame, encode_frame
from v2x.msgset import MSG_TYPES

T0 = 1_780_279_200_000_000_000  # 2026-06-01 02:00:00 UTC [ns]: simulated time 0
RSU = 1_000_000  # node of RSU 0


def pos(geo: GeoFrame, x: float, y: float) -> Position3D:
    lat, lon = geo.to_latlon(x, y)
    return Position3D(float(lat), float(lon))


def path(geo: GeoFrame, xy: Sequence[tuple[float, float]], radius_m: float) -> ReferencePath:
    return ReferencePath(tuple(pos(geo, x, y) for x, y in xy), radius_m)


def rsi_frame(geo: GeoFrame, **items: Any) -> bytes:
    """The UPER frame of an RSI of RSU 0 at (0, 10) with ``signs`` / ``events``."""
    return encode_frame(Rsi(msg_cnt=1, id=RSU.to_bytes(8, "big"), ref_pos=pos(geo, 0.0, 10.0),
                            timestamp_ns=T0, **items))


def hosts(x: Sequence[float], y: Sequence[float], speed: Sequence[float],
          heading_deg: Sequence[float], index: Sequence[int] | None = None) -> Any:
    """Host rows (one step) with the columns the applications read."""
    n = len(x)
    return SimpleNamespace(
        x=np.asarray(x, np.float64), y=np.asarray(y, np.float64),
        speed=np.asarray(speed, np.float64), heading_deg=np.asarray(heading_deg, np.float64),
        index=np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64),
        n=n)


def empty_bsm() -> DecodedBsm:
    f, i = np.empty(0), np.empty(0, np.int64)
    return DecodedBsm(i, f, f, f, f, f, f, f, np.empty(0, bool), np.empty(0, bool), i, i)


def window(geo: GeoFrame, host_cols: Any, frames: Sequence[bytes],
           received: Sequence[tuple[int, int]], *, bsm: DecodedBsm | None = None,
           bsm_links: Sequence[tuple[int, int]] = ()) -> AppWindow:
    """One step: ``received`` (host row, frame index) RSI links from RSU 0, then
    ``bsm_links`` (host row, row of ``bsm``) BSM links."""
    code_rsi, code_bsm = MSG_TYPES.index("RSI"), MSG_TYPES.index("BSM")
    rows = [(h, f, f, code_rsi, RSU) for h, f in received]
    b = bsm if bsm is not None else empty_bsm()
    rows += [(h, len(frames) + r, r, code_bsm, int(b.sender[r])) for h, r in bsm_links]
    cols = np.array(rows, np.int64).reshape(-1, 5)
    m = cols.shape[0]
    links = ReceivedLinks(host=cols[:, 0], tx=cols[:, 1], msg=cols[:, 2],
                          msg_type=cols[:, 3].astype(np.int8), sender=cols[:, 4],
                          step=np.zeros(m, np.int64), distance_m=np.zeros(m),
                          latency_ns=np.full(m, 1_000_000, np.int64),
                          link=np.arange(m, dtype=np.int64))

    def decoded(kind: str, tx_rows: np.ndarray) -> list[Any]:
        assert kind == "RSI"
        return [decode_frame(frames[int(r)], now_ns=T0) for r in tx_rows]

    return AppWindow(t_ns=np.zeros(1, np.int64), hosts=host_cols,
                     host_step=np.zeros(host_cols.n, np.int64), links=links, bsm=b,
                     decoded=decoded, sec_mark=np.zeros(1, np.int64), start_utc_ns=T0, geo=geo)


def rsu_window(geo: GeoFrame, host_cols: Any, frames: Sequence[bytes | None],
               received: Sequence[tuple[int, int, str] | tuple[int, int, str, int]], *,
               maps: HeardMaps | None = None) -> AppWindow:
    """One step: ``received`` (host row, frame index, "MAP" | "SPAT"[, sender]) links from
    RSU node ``sender`` (default RSU 0); a frame ``None`` does not decode. ``maps``: the
    loop's :class:`~v2x.apps.HeardMaps` (``AppWindow.maps``)."""
    rows = [(h, f, MSG_TYPES.index(k), *(rest or (RSU,))) for h, f, k, *rest in received]
    cols = np.array(rows, np.int64).reshape(-1, 4)
    m = cols.shape[0]
    lk = ReceivedLinks(host=cols[:, 0], tx=cols[:, 1], msg=cols[:, 1],
                       msg_type=cols[:, 2].astype(np.int8), sender=cols[:, 3],
                       step=np.zeros(m, np.int64), distance_m=np.zeros(m),
                       latency_ns=np.zeros(m, np.int64), link=np.arange(m, dtype=np.int64))

    def decoded(kind: str, tx_rows: np.ndarray) -> list[Any]:
        return [None if frames[int(r)] is None else decode_frame(frames[int(r)], now_ns=T0)
                for r in tx_rows]

    return AppWindow(t_ns=np.zeros(1, np.int64), hosts=host_cols,
                     host_step=np.zeros(host_cols.n, np.int64), links=lk, bsm=empty_bsm(),
                     decoded=decoded, sec_mark=np.zeros(1, np.int64), start_utc_ns=T0, geo=geo,
                     maps=maps)
