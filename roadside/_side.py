"""The RSUs of a run, reading the live signal state of SUMO in this process or, through
:class:`SignalMirror`, of SUMO in the traffic process."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from roadside._map import junction_numbers
from roadside._rsi import RsiConfig
from roadside._rsm import RsmConfig
from roadside._rsu import RoadsideUnit, RsuSite, build_rsus
from roadside._sources import SpatSource
from v2x.errors import SumoError
from v2x.geo import GeoFrame
from v2x.traffic import PipelinedTraffic

__all__ = ["SignalMirror", "make_rsus", "read_signal_plans"]


class SignalMirror:
    """The traffic lights of a SUMO that runs in the traffic process, as
    :class:`~roadside.SpatBuilder` reads a SUMO connection: ``trafficlight.getPhase`` /
    ``getProgram`` / ``getNextSwitch`` / ``getAllProgramLogics`` and ``simulation.getTime``,
    answered from the signal state that arrived with the current step (before the first step:
    the state at start). ``traffic`` runs a :class:`v2x.traffic.SumoTrafficSide` over the
    same lights.

    Raises SumoError for a traffic light the traffic process does not report.
    """

    def __init__(self, traffic: PipelinedTraffic) -> None:
        self._traffic = traffic
        self.trafficlight = _Lights(self)
        self.simulation = _Clock(self)

    @functools.cached_property
    def _pos(self) -> dict[str, int]:
        # read when first asked (the traffic process may still be loading SUMO while the
        # RSUs are built): the position of each light in every step's signal states
        return {tls: i for i, tls in enumerate(self._traffic.info["logics"])}

    def _signal(self, tls: str) -> tuple[int, str, float]:
        i = self._pos.get(tls)
        if i is None:
            raise SumoError(f"traffic light {tls!r} is not reported by the traffic process")
        side = self._traffic.side
        return (self._traffic.info["signals"] if side is None else side["signals"])[i]

    def _time(self) -> float:
        side = self._traffic.side
        return 0.0 if side is None else float(side["t_s"])


class _Lights:
    def __init__(self, mirror: SignalMirror) -> None:
        self._m = mirror

    def getPhase(self, tls: str) -> int:  # noqa: N802 - the libsumo name
        return self._m._signal(tls)[0]

    def getProgram(self, tls: str) -> str:  # noqa: N802
        return self._m._signal(tls)[1]

    def getNextSwitch(self, tls: str) -> float:  # noqa: N802
        return self._m._signal(tls)[2]

    def signal(self, tls: str) -> tuple[int, str, float]:
        """(phase, program id, next switch [s]) at once: what the three calls above give."""
        return self._m._signal(tls)

    def getAllProgramLogics(self, tls: str) -> list[Any]:  # noqa: N802
        self._m._signal(tls)  # an unknown light is a SumoError here too
        return self._m._traffic.info["logics"][tls]  # type: ignore[no-any-return]


class _Clock:
    def __init__(self, mirror: SignalMirror) -> None:
        self._m = mirror

    def getTime(self) -> float:  # noqa: N802 - the libsumo name
        return self._m._time()


def make_rsus(conn: Any, net: Any, sites: Sequence[RsuSite | str], *, geo: GeoFrame,
              antenna_height_m: float, start: dt.datetime, spat_period_ns: int,
              map_period_ns: int, seed: int, payload: str = "uper",
              rsi: RsiConfig | None = None, rsm: RsmConfig | None = None,
              sources: Mapping[str, Any] | None = None) -> list[RoadsideUnit]:
    """The RSUs of a run: :func:`~roadside.build_rsus` at ``sites`` of ``net``.

    Args:
        conn: the libsumo / TraCI module of SUMO in this process, or a :class:`SignalMirror`
            of SUMO in the traffic process (the same messages).
        net: the ``sumolib.net.Net`` read with programs.
        sites: :class:`~roadside.RsuSite` values (``junction`` or ``x``, ``y``; optional
            ``name``), or junction / traffic-light ids.
        geo: the run's GeoFrame. antenna_height_m: [m]. start: scenario start instant.
        spat_period_ns, map_period_ns: SPAT / MAP periods [ns] (T/CSAE 159: <= 500 ms /
            <= 1 s, (to verify)).
        seed: the run's seed: msgCnt starts and perception draws come from its third child
            sequence (the one the RSUs always used).
        payload: ``"uper"`` (default) or ``"json"`` bus payloads.
        rsi: the RSI signs and events (``None`` or empty: no RSI).
        rsm: the roadside perception (``None``: no RSM).
        sources: configurations of further registered sources by name.

    Raises ConfigError / EncodeError as :func:`~roadside.build_rsus`.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    return build_rsus(conn, net, sites, geo=geo, intersection_ids=junction_numbers(net),
                      rng=rng, antenna_height_m=antenna_height_m, start=start,
                      spat_period_ns=spat_period_ns, map_period_ns=map_period_ns,
                      payload=payload, sources={"RSI": rsi, "RSM": rsm, **(sources or {})})


def read_signal_plans(rsus: Sequence[RoadsideUnit]) -> None:
    """Read the signal plan of every RSU's SPAT now, once SUMO runs (a :class:`SpatBuilder`
    reads it at first use, so that SUMO may still be loading while the RSUs are built): a
    light SUMO does not know, or a plan SPAT cannot carry (more than 16 signal groups), is an
    error before the run starts rather than at its first SPAT.

    Raises SumoError / ConfigError as :attr:`SpatBuilder.plan`.
    """
    for unit in rsus:
        spat = unit.source("SPAT")
        if isinstance(spat, SpatSource):
            _ = spat.spat.plan
