"""v2x-testbed core: time & units, geo, messages, channel, bus, simulation loop, on-board
applications, recorder, CLI and errors."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("v2x-testbed")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
