"""The cloud congestion application on the bus: RSU uplinks in, traffic-jam RSI down.

It is a client of the broker like any external application (its own bus object, its own
task), never a part of the simulation loop: it subscribes to every RSU's BSM uplink of a zone
(``v2x/{zone}/rsu/+/up/bsm``: length-prefixed UPER BSM frames, :mod:`v2x.messages._envelope`),
feeds a :class:`~v2x.cloud.CongestionDetector` with them at the wall time they arrive
(a real-time run's simulated time advances as the wall clock), and publishes each jam's RSI
(one UPER RSI MessageFrame) on the downlink ``v2x/{zone}/rsu/{id}/down/rsi`` of every RSU
before it, again every ``resend_s`` while the jam lasts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from v2x.bus import Bus, RunTopics
from v2x.errors import DecodeError
from v2x.messages import decode_bsm_frames, encode_frame, unpack_frames

from ._congestion import CongestionDetector

__all__ = ["CloudCongestionApp", "Downlinked"]


@dataclass(frozen=True)
class Downlinked:
    """One RSI the application sent down: wall time [s, its clock], RSU, link, frame."""

    t_s: float
    rsu: str
    link: str
    frame: bytes


class CloudCongestionApp:
    """Runs a congestion detector on a zone's RSU uplinks (see the module docstring).

    Args:
        detector: the detector (links, RSU positions, thresholds).
        zone: the zone level of the topics.
        clock: the application's clock [s] (monotonic wall time).

    Counters: ``bsms`` (BSMs read), ``decode_errors`` (uplink payloads that did not decode:
    skipped), ``sent`` (every :class:`Downlinked`).

    ::

        app = CloudCongestionApp(detector, zone="xiqing")
        async with open_bus("mqtt://127.0.0.1:1883") as bus:
            await app.run(bus)           # until cancelled
    """

    def __init__(self, detector: CongestionDetector, *, zone: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.detector = detector
        self.topics = RunTopics("v2x", zone=zone)
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}  # (link, rsu) -> last sent [s]
        self.bsms = 0
        self.decode_errors = 0
        self.sent: list[Downlinked] = []

    async def run(self, bus: Bus, *, ready: asyncio.Event | None = None) -> None:
        """Read uplinks and send jams down until cancelled; ``ready`` is set once the
        subscription is confirmed. Raises BusError when the bus fails for good."""
        async with bus.subscribe(self.topics.rsu_up_filter("BSM"), max_queued=None) as sub:
            if ready is not None:
                ready.set()
            async for msg in sub:
                now = self._clock()
                for m in [msg, *sub.take_ready()]:
                    self._observe(now, m.payload)
                await self._send_jams(bus, now)

    def _observe(self, now: float, payload: bytes) -> None:
        try:
            frames = unpack_frames(payload)
        except DecodeError:
            self.decode_errors += 1
            return
        bsm, _, errors = decode_bsm_frames(frames)
        self.decode_errors += len(errors)
        self.bsms += bsm.n
        self.detector.observe(now, bsm)

    async def _send_jams(self, bus: Bus, now: float) -> None:
        resend = self.detector.cfg.resend_s
        for jam in self.detector.jams(now):
            for rsu in jam.rsus:
                key = (jam.link, rsu)
                if now - self._last.get(key, -float("inf")) < resend:
                    continue
                self._last[key] = now
                frame = encode_frame(self.detector.rsi(jam, self.detector.rsu_xy(rsu)))
                await bus.publish(self.topics.rsu_down_rsi(rsu), frame)
                self.sent.append(Downlinked(now, rsu, jam.link, frame))
