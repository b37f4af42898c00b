"""Basic Safety Messages of one step, as columns in T/CSAE 53 standard units.

A :class:`BsmBatch` holds the BSMs that the OBUs transmit in one step: one row per sender,
every field already in the message set's integer units (1e-7 degree, 0.02 m/s, 0.0125 degree,
0.01 m/s², cm, ms-of-minute), converted in one vectorized pass by :mod:`v2x.messages._units`.
What receivers use (FCW) is decoded back from these integers, so quantization is real.

Fields (T/CSAE 53-2020 BSM): msgCnt, id (8 octets; here the sender's node id), secMark,
pos {lat, long} (elevation unavailable), speed, heading, accelSet.long, size {width, length,
height}, vehicleClass.classification, brakes.brakePadel (on/off), safetyExt.events with the
hardBraking bit (bit 7, set when the deceleration exceeds 0.4 g, T/CSAE 53 VehicleEventFlags).

Wire form on the bus (until the UPER codec lands): :data:`BSM_RECORD`, a little-endian packed
record per BSM; :meth:`BsmBatch.to_bytes` / :func:`decode_bsm_batch`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np

from v2x.errors import DecodeError
from v2x.geo import GeoFrame
from v2x.messages import _units as u
from v2x.units import G

__all__ = ["BSM_NOMINAL_BYTES", "BSM_RECORD", "HARD_BRAKING_BIT", "BsmBatch",
           "decode_bsm_batch"]

#: VehicleEventFlags bit of hardBraking (T/CSAE 53 / J2735 bit 7)
HARD_BRAKING_BIT = 7
#: nominal on-air size [bytes] of a BSM with safetyExt.events and no path history: the minimal
#: UPER BSM frame is about 36 bytes (STANDARDS.md section 1); an estimate until the UPER codec
#: measures every frame.
BSM_NOMINAL_BYTES = 38
#: hard braking threshold [m/s²]: deceleration > 0.4 g
_HARD_BRAKING = 0.4 * G

#: little-endian record of one BSM on the bus (standard units)
BSM_RECORD = np.dtype([
    ("id", "<i8"), ("msgCnt", "<i2"), ("secMark", "<i4"), ("lat", "<i4"), ("long", "<i4"),
    ("speed", "<i2"), ("heading", "<i4"), ("accelLong", "<i2"), ("width", "<i2"),
    ("length", "<i2"), ("height", "<i2"), ("classification", "<i2"), ("brakePadel", "u1"),
    ("events", "<u2"),
])


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
    def encode(cls, *, sender: np.ndarray, msg_cnt: np.ndarray, start: dt.datetime, t_ns: int,
               lat_deg: np.ndarray, lon_deg: np.ndarray, speed: np.ndarray,
               heading_deg: np.ndarray, accel: np.ndarray, width: np.ndarray,
               length: np.ndarray, height: np.ndarray, classification: np.ndarray,
               brake: np.ndarray) -> BsmBatch:
        """Encode SI columns (n,) into standard units.

        ``lat_deg``/``lon_deg`` [deg], ``speed`` [m/s], ``heading_deg`` [deg cw from north],
        ``accel`` [m/s²] longitudinal, sizes [m]. Raises EncodeError for a position outside
        the valid range (see :mod:`v2x.messages._units`).
        """
        n = sender.shape[0]
        events = np.where(accel < -_HARD_BRAKING, 1 << HARD_BRAKING_BIT, 0).astype(np.int64)
        return cls(
            sender=sender.astype(np.int64), msg_cnt=msg_cnt.astype(np.int64),
            sec_mark=np.full(n, u.sec_mark(start, t_ns), np.int64),
            lat=np.asarray(u.encode_latitude(lat_deg)), lon=np.asarray(u.encode_longitude(lon_deg)),
            speed=np.asarray(u.encode_speed(np.maximum(speed, 0.0))),
            heading=np.asarray(u.encode_heading(heading_deg)),
            accel_long=np.asarray(u.encode_acceleration(accel)),
            width=np.asarray(u.encode_vehicle_width(width)),
            length=np.asarray(u.encode_vehicle_length(length)),
            height=np.asarray(u.encode_vehicle_height(height)),
            classification=classification.astype(np.int64), brake=brake.astype(bool),
            events=events,
        )

    def take(self, rows: np.ndarray) -> BsmBatch:
        """A batch with the given rows (index or mask array)."""
        return BsmBatch(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    # -- what a receiver decodes ---------------------------------------------------------
    def position_xy(self, geo: GeoFrame) -> tuple[np.ndarray, np.ndarray]:
        """Decoded positions in network coordinates (n,) [m]."""
        return geo.to_xy(u.decode_latitude(self.lat), u.decode_longitude(self.lon))

    def speed_mps(self) -> np.ndarray:
        """Decoded speed (n,) [m/s] (NaN when unavailable)."""
        return np.asarray(u.decode_speed(self.speed))

    def heading_deg(self) -> np.ndarray:
        """Decoded heading (n,) [deg] (NaN when unavailable)."""
        return np.asarray(u.decode_heading(self.heading))

    def length_m(self) -> np.ndarray:
        """Decoded vehicle length (n,) [m]."""
        return np.asarray(u.decode_vehicle_length(self.length))

    # -- bus wire form -------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Pack into :data:`BSM_RECORD` records (``n * BSM_RECORD.itemsize`` bytes)."""
        return self.to_records().tobytes()

    def to_records(self) -> np.ndarray:
        """The batch as a (n,) :data:`BSM_RECORD` array; ``records[rows].tobytes()`` is the bus
        payload of a subset of rows."""
        rec = np.empty(self.n, BSM_RECORD)
        rec["id"] = self.sender
        rec["msgCnt"] = self.msg_cnt
        rec["secMark"] = self.sec_mark
        rec["lat"] = self.lat
        rec["long"] = self.lon
        rec["speed"] = self.speed
        rec["heading"] = self.heading
        rec["accelLong"] = self.accel_long
        rec["width"] = self.width
        rec["length"] = self.length
        rec["height"] = self.height
        rec["classification"] = self.classification
        rec["brakePadel"] = self.brake
        rec["events"] = self.events
        return rec


def decode_bsm_batch(payload: bytes) -> BsmBatch:
    """Unpack :meth:`BsmBatch.to_bytes` output.

    Raises:
        DecodeError: the payload length is not a whole number of records.
    """
    if len(payload) % BSM_RECORD.itemsize:
        raise DecodeError(f"BSM batch of {len(payload)} bytes is not a multiple of the "
                          f"{BSM_RECORD.itemsize}-byte record")
    rec = np.frombuffer(payload, BSM_RECORD)
    i8 = np.int64
    return BsmBatch(sender=rec["id"].astype(i8), msg_cnt=rec["msgCnt"].astype(i8),
                    sec_mark=rec["secMark"].astype(i8), lat=rec["lat"].astype(i8),
                    lon=rec["long"].astype(i8), speed=rec["speed"].astype(i8),
                    heading=rec["heading"].astype(i8), accel_long=rec["accelLong"].astype(i8),
                    width=rec["width"].astype(i8), length=rec["length"].astype(i8),
                    height=rec["height"].astype(i8),
                    classification=rec["classification"].astype(i8),
                    brake=rec["brakePadel"].astype(bool), events=rec["events"].astype(i8))
