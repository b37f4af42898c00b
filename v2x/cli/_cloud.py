"""``v2x cloud``: the cloud congestion application on its own, on a broker a run (or a field
deployment) publishes to. It reads the scenario only for the road network (its links), the
RSU positions and the ``[cloud]`` thresholds; everything else comes through the broker."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import scenarios
from roadside import rsu_positions
from v2x.bus import open_bus, topic_qos
from v2x.cli import _wiring as wiring
from v2x.cli._run import _naming_the_file, _read_net
from v2x.cloud import CloudCongestionApp
from v2x.errors import ConfigError

__all__ = ["check_cloud_bus", "cloud_app", "run_cloud"]


def check_cloud_bus(bus: str) -> None:
    """Raise ConfigError (key ``bus``) for ``"memory"`` and ``"embedded"``: a bus of the
    cloud process alone, which no run can publish to."""
    if bus in ("memory", "embedded"):
        raise ConfigError(f"the cloud application needs a broker the runs share, not --bus "
                          f"{bus}: --bus mqtt://host:port", key="bus", value=bus)


def cloud_app(scenario: str, *, overrides: Sequence[str] = ()) -> CloudCongestionApp:
    """The congestion application for ``scenario`` (a library id or a folder): its
    network's edges as links, its RSUs' positions, its ``[cloud]`` thresholds.

    Raises ConfigError (scenario, network) as ``v2x run`` does."""
    sc = scenarios.resolve_scenario(scenario, overrides=overrides)
    with _naming_the_file(sc):
        built = scenarios.build(sc)
    net = _read_net(sc, built.net_file)
    rsus = rsu_positions(net, wiring.rsu_sites(sc, net))
    return CloudCongestionApp(wiring.congestion_detector(sc, net, built.geo, rsus),
                              zone=sc.zone)


def run_cloud(app: CloudCongestionApp, *, bus: str, duration_s: float | None = None) -> None:
    """Run ``app`` on the broker ``bus`` (``mqtt://`` / ``mqtts://``) for ``duration_s`` [s]
    of wall time, or until interrupted (None). Raises ConfigError for ``bus="memory"`` or
    ``"embedded"`` (a bus of this process alone: no run can publish there) or a bad
    duration; BusError when the broker fails."""
    check_cloud_bus(bus)
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
        raise ConfigError("duration must be a positive number of seconds", key="duration",
                          value=duration_s)

    async def serve() -> None:
        async with open_bus(bus, qos_of=topic_qos) as b:
            try:
                async with asyncio.timeout(duration_s):
                    await app.run(b)
            except TimeoutError:
                pass

    asyncio.run(serve())
