"""SUMO and the RSUs that read its live signal state, as one traffic side.

Runs in-process or as the child side of :class:`~v2x.traffic.PipelinedTraffic`, where the loop
sees each RSU through a :class:`RsuProxy` whose messages arrive with the step's vehicle states.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import sumolib

from roadside._map import junction_numbers
from roadside._rsu import build_rsus
from v2x.errors import SumoError
from v2x.sim import ScriptedStop
from v2x.traffic import PipelinedTraffic, SideStep, SumoTraffic

__all__ = ["RsuProxy", "SumoSide"]


class SumoSide:
    """SUMO plus the RSUs that read its live signals: built in-process (:meth:`open`), or in
    the child process of :class:`~v2x.traffic.PipelinedTraffic` (picklable until opened; the
    child imports only this module's dependencies, not the command line or the analysis).

    Args:
        cmd: the SUMO command line (:func:`v2x.traffic.sumo_command`).
        classification: vehicle type id -> T/CSAE 53 vehicle classification.
        use_traci: TraCI instead of libsumo (``--gui``).
        net_file: the ``.net.xml`` the RSUs read their junction geometry from.
        tls_ids: signalized junctions that get an RSU.
        geo: the scenario's :class:`~v2x.geo.GeoFrame`.
        antenna_height_m: RSU antenna height [m].
        start: the scenario's start instant (timezone-aware).
        spat_period_ns, map_period_ns: SPAT / MAP periods [ns].
        seed: the run's seed (the RSUs' msgCnt starts come from its third child sequence).
        stops: scripted stops, applied between SUMO steps.
        payload: ``"uper"`` or ``"json"`` bus payloads of the RSUs.
    """

    def __init__(self, *, cmd: list[str], classification: dict[str, int], use_traci: bool,
                 net_file: str, tls_ids: list[str], geo: Any, antenna_height_m: float,
                 start: dt.datetime, spat_period_ns: int, map_period_ns: int, seed: int,
                 stops: tuple[ScriptedStop, ...], payload: str = "uper") -> None:
        self.cmd, self.classification, self.use_traci = cmd, classification, use_traci
        self.net_file, self.tls_ids, self.geo = net_file, tls_ids, geo
        self.antenna_height_m, self.start, self.payload = antenna_height_m, start, payload
        self.spat_period_ns, self.map_period_ns = spat_period_ns, map_period_ns
        self.seed = seed
        self.stops = sorted(stops, key=lambda s: s.at_ns)
        self.skipped: list[str] = []
        self.traffic: SumoTraffic | None = None
        self.rsus: list[Any] = []

    def open(self) -> SumoTraffic:
        """Start SUMO and build the RSUs (in this process); returns the traffic backend."""
        self.traffic = SumoTraffic(self.cmd, classification=self.classification,
                                   use_traci=self.use_traci)
        net = sumolib.net.readNet(self.net_file, withPrograms=True)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(3)[2])
        self.rsus = build_rsus(self.traffic.conn, net, self.tls_ids, geo=self.geo,
                               intersection_ids=junction_numbers(net), rng=rng,
                               antenna_height_m=self.antenna_height_m, start=self.start,
                               spat_period_ns=self.spat_period_ns,
                               map_period_ns=self.map_period_ns, payload=self.payload)
        self._known = 0
        return self.traffic

    # -- TrafficSide (child process) ---------------------------------------------------------
    def __call__(self) -> SumoSide:
        self.open()
        return self

    def info(self) -> list[tuple[str, float, float, float]]:
        return [(r.name, r.x, r.y, r.antenna_height_m) for r in self.rsus]

    def step(self) -> SideStep:
        traffic = self.traffic
        if traffic is None:
            raise SumoError("the traffic side was not opened")
        st = traffic.step()
        while self.stops and self.stops[0].at_ns <= st.t_ns:  # as Simulation._fire_stops
            stop = self.stops.pop(0)
            if not traffic.brake_to_stop(stop.vehicle, stop.decel, stop.hold_ns / 1e9):
                self.skipped.append(stop.vehicle)
        out = [unit.transmit(st.t_ns) for unit in self.rsus]  # per RSU, in RSU order
        names = traffic.vehicle_names()
        new = tuple(names[self._known:])
        self._known = len(names)
        return SideStep(states=st, collisions=tuple(traffic.collisions()), new_names=new,
                        side={"rsu": out, "skipped": tuple(self.skipped)})

    def close(self) -> None:
        if self.traffic is not None:
            self.traffic.close()


class RsuProxy:
    """An RSU seen from the loop when the real one lives in the traffic process: its
    messages of a step arrive with that step's vehicle states."""

    def __init__(self, traffic: PipelinedTraffic, r: int, name: str, x: float, y: float,
                 antenna_height_m: float) -> None:
        self._traffic, self._r = traffic, r
        self.name, self.x, self.y, self.antenna_height_m = name, x, y, antenna_height_m

    @classmethod
    def all(cls, traffic: PipelinedTraffic) -> list[RsuProxy]:
        return [cls(traffic, r, *row) for r, row in enumerate(traffic.info)]

    def transmit(self, t_ns: int) -> list[Any]:
        return self._traffic.side["rsu"][self._r]  # type: ignore[no-any-return]
