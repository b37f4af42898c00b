"""RSI from the downlink: what the cloud platform (or any external application) sends an RSU
to broadcast.

A message on the RSU's downlink topic (``v2x/{zone}/rsu/{id}/down/rsi``: one UPER RSI
MessageFrame; ``V2X/RSU/{esn}/RSI/DOWN``: the OpenV2X JSON) is handed to the RSU
(:meth:`roadside.RoadsideUnit.relay`); from the next step on, the RSU broadcasts it over
PC5 every ``period_ns`` (default 100 ms: dynamic information, T/CSAE 159-2020 as cited in
STANDARDS.md section 2, (to verify)) for ``hold_ns`` (default 5 s; a platform that keeps an
event up sends it again before then: the cloud application of :mod:`v2x.cloud` every 1 s).
A newer downlink RSI replaces the older one. The RSI is broadcast as received, with the RSU's
own msgCnt sequence for it (a random start per RSU from the run's generator, +1 per message,
127 -> 0, as every RSU source); its id, refPos, timestamp and items are the sender's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from roadside._sources import (
    MsgCount,
    RsuContext,
    check_payload,
    check_period,
    outgoing,
    register_source,
)
from v2x.errors import ConfigError
from v2x.messages._rsi import Rsi
from v2x.messages._uper import encode_frame
from v2x.sim import Outgoing, RoadUsers

__all__ = ["DOWNLINK_SOURCE", "DownlinkRsiConfig", "DownlinkRsiSource"]

#: the name the source is registered under (``make_rsus(sources={DOWNLINK_SOURCE: cfg})``)
DOWNLINK_SOURCE = "RSI_DOWNLINK"


@dataclass(frozen=True)
class DownlinkRsiConfig:
    """How RSUs broadcast downlink RSI: every ``period_ns`` [ns] for ``hold_ns`` [ns] after
    it arrived. Raises ConfigError for a period or hold that is not a positive integer."""

    period_ns: int = 100_000_000
    hold_ns: int = 5_000_000_000

    def __post_init__(self) -> None:
        check_period("downlink.period", self.period_ns)
        check_period("downlink.hold", self.hold_ns)


class DownlinkRsiSource:
    """The downlink RSI of one RSU (see the module docstring)."""

    msg_type = "RSI"

    def __init__(self, cfg: DownlinkRsiConfig, ctx: RsuContext) -> None:
        self._json = check_payload(ctx.payload)
        self._cnt = MsgCount(ctx.msg_cnt)
        self.period_ns = cfg.period_ns
        self._hold_ns = cfg.hold_ns
        self._rsi: Rsi | None = None
        self._from_ns = 0
        self._until_ns = 0

    def relay(self, msg: object, from_ns: int) -> bool:
        """Broadcast ``msg`` (an :class:`~v2x.messages.Rsi`) from step ``from_ns`` [ns] on, for
        the hold time; replaces the previous one. False (nothing changes) for another message
        type."""
        if not isinstance(msg, Rsi):
            return False
        self._rsi = msg
        self._from_ns = int(from_ns)
        self._until_ns = int(from_ns) + self._hold_ns
        return True

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """The downlink RSI when it is held at ``t_ns`` [ns] and ``t_ns`` is on its period
        (counted from its first broadcast); ``[]`` otherwise."""
        rsi = self._rsi
        if rsi is None or not self._from_ns <= t_ns < self._until_ns \
                or (t_ns - self._from_ns) % self.period_ns:
            return []
        msg = dataclasses.replace(rsi, msg_cnt=self._cnt.take())
        return [outgoing(msg, encode_frame(msg), json=self._json)]


def _factory(ctx: RsuContext, cfg: DownlinkRsiConfig | None) -> DownlinkRsiSource | None:
    if cfg is None:
        return None
    if not isinstance(cfg, DownlinkRsiConfig):
        raise ConfigError("the downlink source takes a DownlinkRsiConfig",
                          key="rsu.sources", value=type(cfg).__name__)
    return DownlinkRsiSource(cfg, ctx)


register_source(DOWNLINK_SOURCE, _factory)
