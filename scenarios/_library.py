"""The scenario library: standard test cases and Xiqing zone scenarios shipped as data."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scenarios._model import Scenario, load_scenario
from v2x.errors import ConfigError

__all__ = ["LIBRARY", "library_scenarios", "resolve_scenario"]

#: folder of the scenarios shipped with the package
LIBRARY = Path(__file__).resolve().parent / "library"


def library_scenarios() -> list[Scenario]:
    """Every scenario of the library, sorted by id."""
    return sorted((load_scenario(p) for p in LIBRARY.glob("*/scenario.toml")),
                  key=lambda s: s.id)


def resolve_scenario(name: str | Path, *, overrides: Iterable[str] = ()) -> Scenario:
    """Load a scenario by library id, folder or ``scenario.toml`` path.

    Args:
        name: a library id, a folder or a ``scenario.toml``.
        overrides: ``"KEY=VALUE"`` items (``v2x run --set``), see
            :func:`scenarios.apply_overrides`.

    Raises:
        ConfigError: nothing of that name exists (the message lists the library ids), or the
            scenario (with its overrides) is invalid.
    """
    path = Path(name)
    if path.exists():
        return load_scenario(path, overrides=overrides)
    candidate = LIBRARY / str(name)
    if (candidate / "scenario.toml").is_file():
        return load_scenario(candidate, overrides=overrides)
    known = ", ".join(sorted(p.parent.name for p in LIBRARY.glob("*/scenario.toml")))
    raise ConfigError(f"no scenario named {str(name)!r} (library: {known})", value=str(name))
