"""Basic Safety Messages of one step, as columns in T/CSAE 53 standard units.

A :class:`BsmBatch` holds the BSMs that the OBUs transmit in one step: one row per sender,
every field already in the message set's integer units (1e-7 degree, 0.02 m/s, 0.0125 degree,
0.01 m/s², cm, ms-of-minute), converted in one vectorized pass by :mod:`v2x.messages._units`.
Every row becomes a real UPER frame (:func:`v2x.messages.encode_bsm_batch`); what receivers
use (FCW) is decoded back from those bytes, so quantization is real.

Fields (T/CSAE 53-2020 BSM): msgCnt, id (8 octets; here the sender's node id), secMark,
pos {lat, long} (elevation unavailable), speed, heading, accelSet.long, size {width, length,
height}, vehicleClass.classification, brakes.brakePadel (on/off), safetyExt.events with the
hardBraking bit (bit 7, set when the deceleration exceeds 0.4 g, T/CSAE 53 VehicleEventFlags).

"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from v2x.geo import GeoFrame
from v2x.messages import _units as u
from v2x.units import G

__all__ = ["HARD_BRAKING_BIT", "BsmBatch", "BsmFields"]

#: VehicleEventFlags bit of hardBraking (T/CSAE 53 / J2735 bit 7)
HARD_BRAKING_BIT = 7
#: hard braking threshold [m/s²]: deceleration > 0.4 g
_HARD_BRAKING = 0.4 * G



@dataclass(frozen=True)
class BsmFields:
    """Every vehicle's BSM content of one step, in standard units, rows aligned with the
    step's :class:`~v2x.traffic.VehicleStates`.

    Computed once per step for all vehicles (it can run next to the traffic, in the traffic
    process); the step's :class:`BsmBatch` then takes the rows of the vehicles that transmit.

    Attributes (all ``(n,)``): ``lat_deg``, ``lon_deg`` float64 exact position [deg];
    ``lat``, ``lon`` int64 [1e-7 deg]; ``speed`` [0.02 m/s]; ``heading`` [0.0125 deg];
    ``accel_long`` [0.01 m/s²]; ``width``, ``length`` [cm]; ``height`` [5 cm];
    ``classification``; ``brake`` bool; ``events`` VehicleEventFlags bits.
    """

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    speed: np.ndarray
    heading: np.ndarray
    accel_long: np.ndarray
    width: np.ndarray
    length: np.ndarray
    height: np.ndarray
    classification: np.ndarray
    brake: np.ndarray
    events: np.ndarray

    @classmethod
    def encode(cls, *, x: np.ndarray, y: np.ndarray, geo: GeoFrame, speed: np.ndarray,
               heading_deg: np.ndarray, accel: np.ndarray, width: np.ndarray,
               length: np.ndarray, height: np.ndarray, classification: np.ndarray,
               brake: np.ndarray) -> BsmFields:
        """Encode SI columns (n,): positions as network ``x``/``y`` [m] (converted with
        ``geo``), ``speed`` [m/s], ``heading_deg``, ``accel`` [m/s²], sizes [m].

        Raises EncodeError for a position outside the valid latitude/longitude range.
        """
        lat_deg, lon_deg = geo.to_latlon(x, y)
        return cls(
            lat_deg=lat_deg, lon_deg=lon_deg, lat=np.asarray(u.encode_latitude(lat_deg)),
            lon=np.asarray(u.encode_longitude(lon_deg)),
            speed=np.asarray(u.encode_speed(np.maximum(speed, 0.0))),
            heading=np.asarray(u.encode_heading(heading_deg)),
            accel_long=np.asarray(u.encode_acceleration(accel)),
            width=np.asarray(u.encode_vehicle_width(width)),
            length=np.asarray(u.encode_vehicle_length(length)),
            height=np.asarray(u.encode_vehicle_height(height)),
            classification=classification.astype(np.int64), brake=brake.astype(bool),
            events=np.where(accel < -_HARD_BRAKING, 1 << HARD_BRAKING_BIT, 0).astype(np.int64),
        )


@dataclass(frozen=True)
class BsmBatch:
    """BSMs of one step, one row per sender, in standard units.

    Attributes (all ``(n,)``): ``sender`` int64 node id; ``msg_cnt`` int64 0..127;
    ``sec_mark`` int64 [ms of minute]; ``lat``, ``lon`` int64 [1e-7 deg]; ``speed`` int64
    [0.02 m/s]; ``heading`` int64 [0.0125 deg]; ``accel_long`` int64 [0.01 m/s²]; ``width``,
    ``length`` int64 [cm]; ``height`` int64 [5 cm]; ``classification`` int64; ``brake`` bool;
    ``events`` int64 VehicleEventFlags bits.
    """

    sender: np.ndarray
    msg_cnt: np.ndarray
    sec_mark: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    speed: np.ndarray
    heading: np.ndarray
    accel_long: np.ndarray
    width: np.ndarray
    length: np.ndarray
    height: np.ndarray
    classification: np.ndarray
    brake: np.ndarray
    events: np.ndarray

    @property
    def n(self) -> int:
        """Number of BSMs."""
        return int(self.sender.shape[0])

    @classmethod
    def assemble(cls, fields: BsmFields, rows: np.ndarray, *, sender: np.ndarray,
                 msg_cnt: np.ndarray, sec_mark: int | np.ndarray) -> BsmBatch:
        """The BSMs of the vehicles in ``rows`` (indices into ``fields``), with their node ids
        ``sender`` (k,), ``msg_cnt`` (k,) and secMark [ms of minute]: one int for a step, or
        (k,) int64 per row for a window of steps."""
        sec = np.broadcast_to(np.asarray(sec_mark, np.int64), rows.shape).copy()
        return cls(sender=sender.astype(np.int64), msg_cnt=msg_cnt.astype(np.int64),
                   sec_mark=sec, lat=fields.lat[rows],
                   lon=fields.lon[rows], speed=fields.speed[rows],
                   heading=fields.heading[rows], accel_long=fields.accel_long[rows],
                   width=fields.width[rows], length=fields.length[rows],
                   height=fields.height[rows], classification=fields.classification[rows],
                   brake=fields.brake[rows], events=fields.events[rows])

    def take(self, rows: np.ndarray) -> BsmBatch:
        """A batch with the given rows (index or mask array)."""
        return BsmBatch(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def to_json(self) -> list[dict[str, Any]]:
        """The JSON form of every row: ``{"bsmFrame": {...}}`` with the ASN.1 field names,
        exactly what :func:`v2x.messages.frame_to_json` gives for the frame
        :func:`v2x.messages.encode_bsm_batch` makes of that row (tested); built column-wise."""
        cols = [c.tolist() for c in (self.msg_cnt, self.sender, self.sec_mark, self.lat,
                                     self.lon, self.speed, self.heading, self.accel_long,
                                     self.brake, self.width, self.length, self.height,
                                     self.classification, self.events)]
        return [{"bsmFrame": {
            "msgCnt": cnt, "id": f"{sid:016x}", "secMark": sec,
            "pos": {"lat": lat, "long": lon}, "transmission": "unavailable", "speed": spd,
            "heading": hdg, "accelSet": {"long": acc, "lat": 2001, "vert": -127, "yaw": 0},
            "brakes": {"brakePadel": "on" if brk else "off"},
            "size": {"width": w, "length": ln, "height": h},
            "vehicleClass": {"classification": cls}, "safetyExt": {"events": ev}}}
            for cnt, sid, sec, lat, lon, spd, hdg, acc, brk, w, ln, h, cls, ev in zip(*cols,
                                                                                     strict=True)]
