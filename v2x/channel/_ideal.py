"""The ideal channel: every link within range is received after a constant latency."""

from __future__ import annotations

import math

import numpy as np

from ._base import LOST, Reception, check_duration, check_number
from ._pairs import LinkBatch

__all__ = ["IdealChannel"]


class IdealChannel:
    """Every link with 2-D distance <= ``range_m`` is received after ``latency``; the rest lost.

    A fake for tests and a baseline for scenarios (no fading, no interference, no randomness:
    the rng is accepted and never drawn from). ``snr_db`` is NaN.

    Args:
        latency: constant delivery latency, a duration string (default ``"1 ms"``).
        range_m: 2-D range [m] beyond which links are lost (default ``inf``).

    Raises ConfigError naming ``channel.latency`` / ``channel.range_m`` and the value when a
    parameter is malformed or out of range.
    """

    name = "ideal"

    def __init__(self, *, latency: str = "1 ms", range_m: float = math.inf) -> None:
        self.latency_ns = check_duration("latency", latency)
        self.max_range_m = check_number("range_m", range_m, nonnegative=True, allow_inf=True)
        self.params: dict[str, object] = {"latency": latency, "range_m": self.max_range_m}

    def __repr__(self) -> str:
        return f"IdealChannel(latency_ns={self.latency_ns}, range_m={self.max_range_m})"

    def evaluate(
        self,
        links: LinkBatch,
        *,
        tx_height_m: np.ndarray,
        rx_height_m: np.ndarray,
        size_bytes: np.ndarray,
        rng: np.random.Generator,
    ) -> Reception:
        """Receive every link within range; see :class:`v2x.channel.ChannelModel`."""
        received = links.distance_m <= self.max_range_m
        latency = np.where(received, np.int64(self.latency_ns), np.int64(LOST))
        return Reception(
            received=received,
            latency_ns=latency.astype(np.int64, copy=False),
            snr_db=np.full(len(links), np.nan),
        )
