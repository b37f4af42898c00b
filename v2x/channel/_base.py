"""What a channel model returns, the protocol every model follows, and parameter checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from v2x.errors import ConfigError
from v2x.units import parse_duration

from ._pairs import LinkBatch

__all__ = ["ChannelModel", "Reception"]

#: latency of a lost link in :attr:`Reception.latency_ns`
LOST = -1


@dataclass(frozen=True)
class Reception:
    """Outcome of every link of a :class:`LinkBatch`, in the batch's order.

    Attributes:
        received: (m,) bool, True where the receiver decoded the message.
        latency_ns: (m,) int64 generation -> reception delay [ns]; -1 where lost.
        snr_db: (m,) float64 signal-to-noise ratio over the channel bandwidth [dB]; NaN for
            models without a link budget (``ideal``).

    Raises ValueError when the arrays are not 1-D of one length.
    """

    received: np.ndarray
    latency_ns: np.ndarray
    snr_db: np.ndarray

    def __post_init__(self) -> None:
        m = self.received.shape
        if len(m) != 1 or self.latency_ns.shape != m or self.snr_db.shape != m:
            raise ValueError(
                "Reception fields received, latency_ns, snr_db must be 1-D of one length, got "
                f"shapes {self.received.shape}, {self.latency_ns.shape}, {self.snr_db.shape}"
            )

    def __len__(self) -> int:
        return int(self.received.shape[0])


@runtime_checkable
class ChannelModel(Protocol):
    """A radio channel: decides, per candidate link, whether and when a message arrives.

    Attributes:
        name: the registry name (``"ideal"``, ``"tr37885-urban"``, ...), recorded in run.json.
        max_range_m: 2-D distance beyond which the model never delivers [m] (``inf`` if none);
            the simulation loop passes it to :func:`find_pairs` as the candidate range.
    """

    name: str
    max_range_m: float

    def evaluate(
        self,
        links: LinkBatch,
        *,
        tx_height_m: np.ndarray,
        rx_height_m: np.ndarray,
        size_bytes: np.ndarray,
        rng: np.random.Generator,
    ) -> Reception:
        """Evaluate every link of one step.

        Args:
            links: candidate links; ``links.tx`` indexes the sender arrays, ``links.rx`` the
                receiver arrays.
            tx_height_m: (n_tx,) float64 sender antenna heights [m] (vehicles 1.5, RSUs 5..6).
            rx_height_m: (n_rx,) float64 receiver antenna heights [m].
            size_bytes: (n_tx,) int message size of each sender's transmission [bytes].
            rng: the only source of randomness; the same state gives the same result.
        """
        ...


# --- parameter checks shared by the models (keys are reported as ``channel.<name>``) ---------


def _key(name: str) -> str:
    return f"channel.{name}"


def check_number(
    name: str,
    value: object,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real number (int or float, not bool) from a config value.

    Raises ConfigError naming ``channel.<name>`` and the value when it is not a number, is NaN,
    is infinite (unless ``allow_inf``) or breaks the sign constraint.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(
            f"expected a number, got {value!r}", key=_key(name), value=value
        )
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise ConfigError(f"expected a finite number, got {value!r}", key=_key(name), value=value)
    if positive and not x > 0.0:
        raise ConfigError(f"must be > 0, got {value!r}", key=_key(name), value=value)
    if nonnegative and not x >= 0.0:
        raise ConfigError(f"must be >= 0, got {value!r}", key=_key(name), value=value)
    return x


def check_duration(name: str, value: object) -> int:
    """A duration string (``"2 ms"``) as integer nanoseconds; ConfigError names the key."""
    return parse_duration(value, key=_key(name))


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """One of ``choices``; ConfigError naming ``channel.<name>`` and the value otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(
            f"expected one of {', '.join(repr(c) for c in choices)}, got {value!r}",
            key=_key(name),
            value=value,
        )
    return value
