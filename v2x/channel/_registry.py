"""Channel models by name, as a scenario's ``[channel] type = "..."`` picks them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from v2x.errors import ConfigError

from ._base import ChannelModel
from ._ideal import IdealChannel
from ._mode4 import Mode4Channel
from ._tr37885 import Tr37885Channel

__all__ = ["available_channels", "make_channel"]


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., ChannelModel]
    fixed: dict[str, object] = field(default_factory=dict)

    @property
    def parameters(self) -> frozenset[str]:
        sig = inspect.signature(self.factory)
        return frozenset(
            name
            for name, p in sig.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in self.fixed
        )


_REGISTRY: dict[str, _Entry] = {
    "ideal": _Entry(IdealChannel),
    "tr37885-urban": _Entry(Tr37885Channel, {"scenario": "urban"}),
    "tr37885-highway": _Entry(Tr37885Channel, {"scenario": "highway"}),
    "mode4": _Entry(Mode4Channel),
}


def available_channels() -> list[str]:
    """Names accepted by :func:`make_channel`, sorted."""
    return sorted(_REGISTRY)


def make_channel(type: str, **params: object) -> ChannelModel:  # noqa: A002 - the TOML key
    """Build the channel model a scenario's ``[channel]`` table describes.

    Args:
        type: registered model name (see :func:`available_channels`), e.g. ``"tr37885-urban"``.
        **params: the table's other keys: numbers as numbers, durations as strings
            (``latency_base = "2 ms"``); see :class:`IdealChannel` and :class:`Tr37885Channel`.

    Raises:
        ConfigError: unknown ``type`` (key ``channel.type``, listing the available ones);
            unknown parameter for that model or bad value (key ``channel.<param>``).
    """
    entry = _REGISTRY.get(type) if isinstance(type, str) else None
    if entry is None:
        raise ConfigError(
            f"unknown channel model {type!r}; available: {', '.join(available_channels())}",
            key="channel.type",
            value=type,
        )
    allowed = entry.parameters
    for name in sorted(params):
        if name not in allowed:
            raise ConfigError(
                f"unknown parameter {name!r} = {params[name]!r} for channel model {type!r}; "
                f"known: {', '.join(sorted(allowed))}",
                key=f"channel.{name}",
                value=params[name],
            )
    return entry.factory(**entry.fixed, **params)
