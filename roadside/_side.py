"""The RSUs of a run, reading the live signal state of SUMO in this process or, through
:class:`SignalMirror`, of SUMO in the traffic process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from roadside._map import junction_numbers
from roadside._rsu import RoadsideUnit, build_rsus
from v2x.errors import SumoError
from v2x.geo import GeoFrame
from v2x.traffic import PipelinedTraffic

__all__ = ["SignalMirror", "make_rsus"]


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
        info = traffic.info
        self._traffic = traffic
        self._logics: dict[str, list[Any]] = info["logics"]
        self._start: tuple[tuple[int, str, float], ...] = info["signals"]
        self._pos = {tls: i for i, tls in enumerate(self._logics)}
        self.trafficlight = _Lights(self)
        self.simulation = _Clock(self)

    def _signal(self, tls: str) -> tuple[int, str, float]:
        i = self._pos.get(tls)
        if i is None:
            raise SumoError(f"traffic light {tls!r} is not reported by the traffic process")
        side = self._traffic.side
        return (self._start if side is None else side["signals"])[i]

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
        return self._m._logics[tls]


class _Clock:
    def __init__(self, mirror: SignalMirror) -> None:
        self._m = mirror

    def getTime(self) -> float:  # noqa: N802 - the libsumo name
        return self._m._time()


def make_rsus(conn: Any, net: Any, tls_ids: list[str], *, geo: GeoFrame,
              antenna_height_m: float, start: dt.datetime, spat_period_ns: int,
              map_period_ns: int, seed: int, payload: str = "uper") -> list[RoadsideUnit]:
    """The RSUs of a run: :func:`~roadside.build_rsus` at the junctions ``tls_ids`` of ``net``
    (a ``sumolib.net.Net`` read with programs), their msgCnt starts drawn from the third child
    sequence of the run's ``seed``. ``conn`` is the libsumo / TraCI module of SUMO in this
    process, or a :class:`SignalMirror` of SUMO in the traffic process (the same messages)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    return build_rsus(conn, net, tls_ids, geo=geo, intersection_ids=junction_numbers(net),
                      rng=rng, antenna_height_m=antenna_height_m, start=start,
                      spat_period_ns=spat_period_ns, map_period_ns=map_period_ns,
                      payload=payload)
