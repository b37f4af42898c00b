"""v2x-testbed core: time & units, geo, messages, channel, bus, simulation loop, on-board
applications, recorder, CLI and errors."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """``__version__`` from the installed distribution, read on first use (importlib.metadata
    costs ~20 ms at every start of the CLI and of the traffic process)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("v2x-testbed")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    raise AttributeError(f"module 'v2x' has no attribute {name!r}")
