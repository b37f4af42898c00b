"""A Python builder of scenarios: the same keys as ``scenario.toml``, the same validation.

::

    from scenarios import ScenarioBuilder

    sc = (ScenarioBuilder("lead-brakes", start="2026-06-01T08:00:00+08:00", duration="30 s")
          .geo(anchor_lat=39.05583, anchor_lon=117.055)
          .network("road", ...)
          .participant("host", lane="E0_0", pos_m=10, speed_kmh=50)
          .participant("lead", lane="E0_0", pos_m=55, speed_kmh=50)
          .event("lead brakes", trigger={"kind": "gap", "a": "host", "b": "lead", "op": "<=",
                                          "value": 30},
                 actions=[{"kind": "brake", "target": "lead", "decel": 6.0}])
          .application("fcw", enabled=True)
          .build())

Each method sets keys of one section (calling it again adds or replaces keys); the builder
keeps a TOML document (:meth:`ScenarioBuilder.to_toml_dict`) and :meth:`~ScenarioBuilder.build`
validates it exactly as a file is validated, so a built scenario equals the loaded file with
the same keys. Keys are the file's (``duration="300 s"`` or a ``timedelta``, ``speed_kmh``,
``class`` as ``vehicle_class=``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Self

from scenarios._model import Scenario, apply_overrides, validate_scenario

__all__ = ["ScenarioBuilder"]


class ScenarioBuilder:
    """Builds a :class:`~scenarios.Scenario` section by section (fluent: every method but
    :meth:`build` and :meth:`to_toml_dict` returns the builder).

    Args:
        id: the scenario id (``[a-z0-9-]+``).
        start: ISO 8601 instant with offset (string or aware datetime).
        duration: a duration (``"300 s"`` or a ``timedelta``).
        folder: where relative paths (route files, a network file) are resolved, and the
            folder the scenario reports; default the working directory.
        **top: other top-level keys (``step``, ``seed``, ``title``, ``title_zh``, ``tags``).
    """

    def __init__(self, id: str, *, start: str | dt.datetime, duration: str | dt.timedelta,
                 folder: str | Path | None = None, **top: Any) -> None:
        self._doc: dict[str, Any] = {"id": id, "start": start, "duration": duration, **top}
        self._folder = Path(folder) if folder is not None else Path.cwd()
        self._sets: list[str] = []

    def _table(self, name: str, keys: dict[str, Any]) -> Self:
        self._doc.setdefault(name, {}).update(keys)
        return self

    def _item(self, name: str, keys: dict[str, Any]) -> Self:
        self._doc.setdefault(name, []).append(keys)
        return self

    def top(self, **keys: Any) -> Self:
        """Top-level keys: ``title``, ``title_zh``, ``tags``, ``step``, ``seed``, ..."""
        self._doc.update(keys)
        return self

    def geo(self, **keys: Any) -> Self:
        """``[geo]``: ``anchor_lat``, ``anchor_lon`` [deg], ``crs``."""
        return self._table("geo", keys)

    def network(self, kind: str = "grid", **keys: Any) -> Self:
        """``[network]``: ``kind`` and that kind's keys (replaces an earlier network)."""
        self._doc["network"] = {"kind": kind, **keys}
        return self

    def demand(self, **keys: Any) -> Self:
        """``[demand]``: ``begin``, ``end``, ``penetration``, ``vehicles_per_hour`` (dict),
        ``route_files``, ``pedestrians_per_hour``."""
        return self._table("demand", keys)

    def participant(self, id: str, *, vehicle_class: str | None = None, **keys: Any) -> Self:
        """A ``[[participants]]`` item: ``vehicle_class`` is the file's ``class``."""
        item = {"id": id, **({"class": vehicle_class} if vehicle_class is not None else {}),
                **keys}
        return self._item("participants", item)

    def rsu(self, **keys: Any) -> Self:
        """``[rsu]``: ``at``, ``antenna_height_m``, ``spat_period``, ``map_period``,
        ``forward``."""
        return self._table("rsu", keys)

    def rsu_site(self, **keys: Any) -> Self:
        """A ``[[rsus]]`` item: ``junction`` or ``x``, ``y``; ``name``, ``antenna_height_m``."""
        return self._item("rsus", keys)

    def obu(self, **keys: Any) -> Self:
        """``[obu]``: ``bsm_period``, ``antenna_height_m``."""
        return self._table("obu", keys)

    def rsi(self, **keys: Any) -> Self:
        """``[rsi]`` keys (``sign_period``)."""
        return self._table("rsi", keys)

    def rsi_sign(self, **keys: Any) -> Self:
        """A ``[[rsi.signs]]`` item."""
        self._doc.setdefault("rsi", {}).setdefault("signs", []).append(keys)
        return self

    def rsi_event(self, id: str, **keys: Any) -> Self:
        """A ``[[rsi.events]]`` item."""
        self._doc.setdefault("rsi", {}).setdefault("events", []).append({"id": id, **keys})
        return self

    def rsm(self, **keys: Any) -> Self:
        """``[rsm]``: ``enabled``, ``range_m``, ``detection_probability``, ..."""
        return self._table("rsm", keys)

    def channel(self, type: str, **params: Any) -> Self:
        """``[channel]``: a registered model and its parameters (replaces an earlier one)."""
        self._doc["channel"] = {"type": type, **params}
        return self

    def application(self, name: str, **keys: Any) -> Self:
        """``[applications.NAME]``: ``enabled`` and the application's keys."""
        self._doc.setdefault("applications", {}).setdefault(name, {}).update(keys)
        return self

    def driver(self, **keys: Any) -> Self:
        """``[driver]``: ``enabled``, ``reaction_time``, ``decel_mps2``."""
        return self._table("driver", keys)

    def benefit(self, **keys: Any) -> Self:
        """``[benefit]``: ``compare`` (the run a second time with every application off)."""
        return self._table("benefit", keys)

    def recording(self, **keys: Any) -> Self:
        """``[recording]`` keys."""
        return self._table("recording", keys)

    def event(self, name: str, *, trigger: dict[str, Any], actions: list[dict[str, Any]],
              **keys: Any) -> Self:
        """An ``[[events]]`` item: ``trigger`` and ``actions`` as in the file (dicts)."""
        return self._item("events", {"name": name, "trigger": trigger, "actions": actions,
                                     **keys})

    def criterion(self, kpi: str, op: str, value: float, name: str | None = None) -> Self:
        """A ``[[criteria]]`` item."""
        item = {"kpi": kpi, "op": op, "value": value}
        return self._item("criteria", item if name is None else {"name": name, **item})

    def set(self, *items: str) -> Self:
        """``KEY=VALUE`` overrides applied at :meth:`build` (as ``v2x run --set``)."""
        self._sets.extend(items)
        return self

    def to_toml_dict(self) -> dict[str, Any]:
        """The TOML document built so far (without the :meth:`set` overrides)."""
        import copy

        return copy.deepcopy(self._doc)

    def build(self) -> Scenario:
        """Validate and return the scenario.

        Raises:
            ConfigError: as for a file; ``file`` is ``"ScenarioBuilder(<id>)"``.
        """
        where = f"ScenarioBuilder({self._doc.get('id')!s})"
        if self._sets:
            return apply_overrides(self._doc, self._sets, file=where, folder=self._folder)
        return validate_scenario(self._doc, file=where, folder=self._folder)
