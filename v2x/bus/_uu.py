"""The cellular Uu uplink of OBUs to the cloud (V2N): ``v2x/{zone}/obu/{vehicle_id}/up/bsm``.

An OBU with a cellular modem also sends BSMs to the cloud platform over the operator's
network, not over PC5. :class:`UuUplink` is that link's own model, kept apart from the PC5
channel: each message is lost with probability ``loss`` and otherwise arrives after
``base_ms`` plus an exponential delay of mean ``jitter_ms`` (the queueing and scheduling part
of an LTE/5G uplink). Defaults: 1 % loss, 20 ms + Exp(15 ms), a mean of 35 ms (order of the
one-way LTE user-plane latencies reported in 3GPP TR 36.881 and field measurements; to
verify against the deployment's own measurements).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2x.errors import ConfigError

__all__ = ["UuUplink"]


@dataclass(frozen=True)
class UuUplink:
    """Loss and latency of the cellular uplink, per message.

    Attributes:
        period_ns: how often an OBU sends its BSM over Uu [ns] (a multiple of the BSM
            period; every BSM whose step time is a multiple of it).
        loss: probability a message is lost, 0 <= loss < 1.
        base_ms: fixed part of the latency [ms] (>= 0).
        jitter_ms: mean of the exponential part [ms] (>= 0).
    """

    period_ns: int = 1_000_000_000
    loss: float = 0.01
    base_ms: float = 20.0
    jitter_ms: float = 15.0

    def __post_init__(self) -> None:
        if not (isinstance(self.period_ns, int) and self.period_ns > 0):
            raise ConfigError("period must be a positive number of ns", key="v2n.period_ns",
                              value=self.period_ns)
        if not 0.0 <= self.loss < 1.0:
            raise ConfigError("loss must be in [0, 1)", key="v2n.loss", value=self.loss)
        for key in ("base_ms", "jitter_ms"):
            if not getattr(self, key) >= 0.0:
                raise ConfigError(f"{key} must be >= 0", key=f"v2n.{key}",
                                  value=getattr(self, key))

    def transfer(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(delivered, latency_ms)``: (n,) bool and (n,) float64 [ms] (NaN where lost).

        Two uniform draws per message, in message order (loss, then the delay by inverse
        CDF), so the draws do not depend on how messages are batched."""
        u = rng.random((n, 2))
        delivered = u[:, 0] >= self.loss
        delay = self.base_ms - self.jitter_ms * np.log1p(-u[:, 1])  # Exp(jitter_ms)
        return delivered, np.where(delivered, delay, np.nan)
