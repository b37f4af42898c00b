"""The roadside unit: broadcasts SPAT (from the live SUMO signal) and MAP (from the junction
geometry) at the T/CSAE 159 periods, and is a PC5 receiver whose uplink the loop forwards.

Periods (T/CSAE 159-2020 as cited in STANDARDS.md section 2, (to verify)): MAP <= 1 s,
SPAT <= 500 ms, multiples of 100 ms; the scenario's ``[rsu]`` table sets them. msgCnt starts at
a random value per RSU and message type (from the run's generator) and wraps 127 -> 0.
Bus payloads are the messages' UPER MessageFrames (default, ``payload="uper"``: exactly
:func:`v2x.messages.encode_frame` of the SPAT / MAP, from per-phase / static frame templates)
or their JSON form of :mod:`v2x.messages._json` (``payload="json"``); ``size_bytes`` (what the
channel model sees) is always the size of the UPER frame.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from roadside._map import build_map_node
from roadside._spat import SpatBuilder
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages._json import StaticMapJson
from v2x.messages._uper import MapFrameTemplate
from v2x.sim import Outgoing

#: the bus payload forms an RSU can send
PAYLOADS = ("uper", "json")

__all__ = ["RoadsideUnit", "build_rsus"]


class RoadsideUnit:
    """An RSU at a signalized junction.

    Args:
        name: SUMO junction / traffic-light id (also the RSU id in bus topics).
        x, y: antenna position [m, network coordinates] (the junction centre).
        antenna_height_m: [m].
        spat: the SPAT builder of the junction's traffic light.
        map_data_node: the junction's MAP node (built once; geometry is static).
        start: scenario start instant (for SPAT/MAP timestamps).
        spat_period_ns, map_period_ns: broadcast periods [ns].
        rng: generator for the initial msgCnt values.
        payload: ``"uper"`` (the UPER MessageFrame, default) or ``"json"`` (the JSON form)
            as the bus payload of :meth:`transmit`.

    Raises:
        ConfigError: ``payload`` is neither.
        EncodeError: the MAP node cannot be encoded.
    """

    def __init__(self, *, name: str, x: float, y: float, antenna_height_m: float,
                 spat: SpatBuilder, map_node: Any, start: dt.datetime, spat_period_ns: int,
                 map_period_ns: int, rng: np.random.Generator, payload: str = "uper") -> None:
        if payload not in PAYLOADS:
            raise ConfigError(f"RSU payload must be one of {PAYLOADS}, got {payload!r}",
                              key="rsu.payload", value=payload)
        self.name = name
        self.x = float(x)
        self.y = float(y)
        self.antenna_height_m = float(antenna_height_m)
        self._spat = spat
        self._map_node = map_node
        self._json = payload == "json"
        self._map_json = StaticMapJson((map_node,)) if self._json else None
        # geometry is static: the UPER frame is encoded once, only msgCnt / timeStamp change;
        # every MAP of this RSU (always stamped) has the same on-air size
        self._map_frame = MapFrameTemplate((map_node,))
        self._map_size = self._map_frame.size(stamped=True)
        self._start_ns = self._start_ns_of(start)
        self._spat_period = spat_period_ns
        self._map_period = map_period_ns
        start_cnt = rng.integers(0, 128, size=2)
        self._spat_cnt = int(start_cnt[0])
        self._map_cnt = int(start_cnt[1])

    @staticmethod
    def _start_ns_of(start: dt.datetime) -> int:
        return int((start - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()
                   * 1_000_000) * 1000

    def transmit(self, t_ns: int) -> list[Outgoing]:
        """SPAT and/or MAP due at simulated time ``t_ns`` [ns].

        ``t_ns`` must be SUMO's current simulation time (as the loop passes it): the SPAT's
        counting-down times are SUMO's next switch minus ``t_ns``. Each ``Outgoing`` carries
        the UPER frame (or the JSON form, see ``payload``) and the UPER frame's length.
        """
        out: list[Outgoing] = []
        utc_ns = self._start_ns + t_ns
        if t_ns % self._spat_period == 0:
            cnt = self._spat_cnt
            self._spat_cnt = (cnt + 1) % 128
            frame = self._spat.spat_frame(cnt, utc_ns, now_ns=t_ns)
            if self._json:  # JSON on the bus; the frame on the air (and in the recording)
                payload = self._spat.spat_json(cnt, utc_ns, now_ns=t_ns)
                out.append(Outgoing("SPAT", cnt, payload, len(frame), frame))
            else:
                out.append(Outgoing("SPAT", cnt, frame, len(frame)))
        if t_ns % self._map_period == 0:
            cnt = self._map_cnt
            self._map_cnt = (cnt + 1) % 128
            frame = self._map_frame.encode(cnt, utc_ns)
            if self._map_json is not None:
                out.append(Outgoing("MAP", cnt, self._map_json.encode(cnt, utc_ns),
                                    len(frame), frame))
            else:
                out.append(Outgoing("MAP", cnt, frame, len(frame)))
        return out


def build_rsus(conn: Any, net: Any, tls_ids: list[str], *, geo: GeoFrame,
               intersection_ids: Mapping[str, int], antenna_height_m: float,
               start: dt.datetime, spat_period_ns: int, map_period_ns: int,
               rng: np.random.Generator, payload: str = "uper") -> list[RoadsideUnit]:
    """One RSU per traffic light in ``tls_ids`` (sorted order), at its junction centre.

    ``conn`` is the running SUMO connection (libsumo module or TraCI), ``net`` the
    ``sumolib.net.Net`` read with programs; ``payload`` is the bus payload form of every RSU
    (see :class:`RoadsideUnit`).
    """
    rsus = []
    for tls in sorted(tls_ids):
        node = net.getNode(tls)
        x, y = node.getCoord()[:2]
        rsus.append(RoadsideUnit(
            name=tls, x=x, y=y, antenna_height_m=antenna_height_m,
            spat=SpatBuilder(conn, tls, intersection_ids[tls]),
            map_node=build_map_node(net, tls, intersection_ids=intersection_ids, geo=geo),
            start=start, spat_period_ns=spat_period_ns, map_period_ns=map_period_ns, rng=rng,
            payload=payload))
    return rsus
