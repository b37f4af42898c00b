"""The roadside end of near-field payment (VNFP): an RSU that announces a payment zone and
answers the OBUs it hears inside it.

Day-1 application VNFP (T/CSAE 53-2020; test method DB50/T 1572-2024, scored on completion
and latency; STANDARDS.md sections 4 and 7). A real exchange carries account data in messages
of its own; the Day-1 message set the testbed speaks (BSM, MAP, SPAT, RSI, RSM) has none, so
the smallest honest exchange over the same PC5 channel is (our simplification, to verify
against DB50/T 1572-2024):

1. **Announcement** (RSU -> OBU): the payment zone is a road sign of the RSU's RSI whose
   signType is :data:`v2x.apps.PAYMENT_ZONE_SIGN_TYPE` (to verify), placed on a lane
   or a path: its reference path and pathRadius are the zone (a sign placed by position only
   has no zone and is not served).
2. **Request** (OBU -> RSU): the host's BSMs while its reported position is inside the zone
   stand in for its payment request (they carry its id, position and secMark); the RSU must
   decode one over the channel.
3. **Answer** (RSU -> OBU): at its next 100 ms transmit after decoding such a BSM, the RSU
   sends an RSI of answer events (eventType :data:`v2x.apps.PAYMENT_ANSWER_EVENT_TYPE`),
   one per vehicle heard in the zone, each naming the vehicle's id and echoing the secMark of
   the newest request it answers in its description (:func:`v2x.apps.payment_answer_text`),
   up to 8 per RSI (more: several RSIs of the step). It answers every request it decodes (no
   acknowledgement exists in the set), so a lost answer is repaired by the next request.

The OBU side is :mod:`v2x.apps._vnfp`: the payment completes when the host, having heard the
zone, decodes an answer naming it; latency = the answer's reception minus the answered
request's sending (:mod:`analysis` KPI ``apps.VNFP.latency_ms``).

An RSU with a payment zone *listens*: the loop hands it the BSMs it decoded
(:meth:`PaymentRsiSource.heard`) and runs one step per window, so an answer goes out at the
step after the request, whatever the window size of other runs (results equal a run processed
step by step).
"""

from __future__ import annotations

import numpy as np

from roadside._rsi import MAX_EVENTS, RsiConfig, RsiSource, _resolve, _within
from roadside._sources import RsuContext, outgoing, register_source
from v2x.apps._vnfp import (
    PAYMENT_ANSWER_EVENT_TYPE,
    PAYMENT_ZONE_SIGN_TYPE,
    payment_answer_text,
)
from v2x.messages._rsi import EventSource, RoadTrafficEvent, Rsi
from v2x.messages._uper import encode_frame
from v2x.sim import Outgoing, RoadUsers

__all__ = ["PaymentRsiSource"]

#: answers are looked for every 100 ms (T/CSAE 159 dynamic RSI period, to verify)
ANSWER_PERIOD_NS = 100_000_000


class PaymentRsiSource(RsiSource):
    """The RSI of an RSU with at least one payment zone: its signs and events as
    :class:`~roadside.RsiSource` sends them, plus the payment answers (one msgCnt sequence
    for all its RSIs).

    Args:
        cfg: the run's RSI configuration; ctx: the RSU. zones: the (path (k, 2) [m],
            pathRadius [m]) of its payment signs.
    """

    listens = True

    def __init__(self, cfg: RsiConfig, ctx: RsuContext,
                 zones: list[tuple[np.ndarray, float]]) -> None:
        super().__init__(cfg, ctx)
        seg_a = [p[:-1] for p, _ in zones]
        seg_b = [p[1:] for p, _ in zones]
        self._a = np.concatenate(seg_a)  # (s, 2) segment starts [m]
        self._b = np.concatenate(seg_b)  # (s, 2) segment ends [m]
        self._r = np.concatenate([np.full(len(p) - 1, r) for p, r in zones])  # (s,)
        self._pending: dict[int, tuple[int, int]] = {}  # vehicle -> (received_ns, secMark)
        self.answered = 0  # answer events sent (for tests)

    def in_zone(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: the points ``x``, ``y`` [m] lie within the pathRadius of a segment
        of a payment zone (vectorized over points x segments)."""
        p = np.column_stack([np.asarray(x, np.float64), np.asarray(y, np.float64)])
        u = self._b - self._a  # (s, 2)
        v = p[:, None, :] - self._a[None, :, :]  # (n, s, 2)
        length2 = (u * u).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(np.where(length2 > 0, (v * u).sum(axis=2) / length2, 0.0), 0.0, 1.0)
        d = np.hypot(v[..., 0] - t * u[:, 0], v[..., 1] - t * u[:, 1])
        return (d <= self._r).any(axis=1)  # type: ignore[no-any-return]

    def heard(self, *, sender: np.ndarray, x: np.ndarray, y: np.ndarray,
              sec_mark: np.ndarray, received_ns: np.ndarray) -> None:
        """The BSMs this RSU decoded (``(k,)`` each: sender node id, reported position [m],
        secMark [ms], simulated reception time [ns]); those sent inside a payment zone are
        requests, answered at the next transmit (the newest per vehicle)."""
        inside = np.flatnonzero(self.in_zone(x, y))
        for i in inside[np.argsort(received_ns[inside], kind="stable")].tolist():
            self._pending[int(sender[i])] = (int(received_ns[i]), int(sec_mark[i]))

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """The RSI frames of :class:`~roadside.RsiSource` due at ``t_ns`` [ns], then the
        answers to the requests received before ``t_ns`` (every 100 ms)."""
        out = super().transmit(t_ns, utc_ns, users)
        if t_ns % ANSWER_PERIOD_NS or not self._pending:
            return out
        due = sorted(v for v, (rx_ns, _) in self._pending.items() if rx_ns <= t_ns)
        events = [RoadTrafficEvent(rte_id=k % 256, event_type=PAYMENT_ANSWER_EVENT_TYPE,
                                   source=EventSource.DETECTION,
                                   description=payment_answer_text(v, self._pending[v][1]))
                  for k, v in enumerate(due)]
        for v in due:
            del self._pending[v]
        for k in range(0, len(events), MAX_EVENTS):
            cnt = self._cnt.take()
            msg = Rsi(msg_cnt=cnt, id=self._id, ref_pos=self._ref,
                      events=tuple(events[k:k + MAX_EVENTS]), timestamp_ns=utc_ns)
            out.append(outgoing(msg, encode_frame(msg), json=self._json))
        self.answered += len(events)
        return out


def _payment_zones(cfg: RsiConfig, ctx: RsuContext) -> list[tuple[np.ndarray, float]]:
    """The zones of the payment signs of ``cfg`` this RSU carries (with a reference path)."""
    zones = []
    for i, s in enumerate(cfg.signs):
        if s.sign_type != PAYMENT_ZONE_SIGN_TYPE:
            continue
        where = _resolve(f"rsi.signs[{i}]", s, ctx.net)
        if len(where.path) >= 2 and _within(where, ctx.x, ctx.y, cfg.range_m):
            zones.append((np.asarray(where.path, np.float64), float(where.path_radius_m or 0.0)))
    return zones


def _rsi_factory(ctx: RsuContext, cfg: RsiConfig | None) -> RsiSource | None:
    """The RSI source of an RSU: with payment zones in its reach, a
    :class:`PaymentRsiSource`; else a plain :class:`~roadside.RsiSource` (or none)."""
    if cfg is None or not (cfg.signs or cfg.events):
        return None
    zones = _payment_zones(cfg, ctx)
    return PaymentRsiSource(cfg, ctx, zones) if zones else RsiSource(cfg, ctx)


register_source("RSI", _rsi_factory, replace=True)  # in place: RSI keeps its position
