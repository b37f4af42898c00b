"""Basic Safety Messages of one step, as columns in T/CSAE 53 standard units.

A :class:`BsmBatch` holds the BSMs that the OBUs transmit in one step: one row per sender,
every field already in the message set's integer units (1e-7 degree, 0.02 m/s, 0.0125 degree,
0.01 m/s², cm, ms-of-minute), converted in one vectorized pass by :mod:`v2x.messages._units`.
Every row becomes a real UPER frame (:func:`v2x.messages.encode_bsm_batch`); what receivers
use (FCW) is decoded back from those bytes, so quantization is real.

Fields (T/CSAE 53-2020 BSM): msgCnt, id (8 octets; here the sender's node id), secMark,
pos {lat, long} (elevation unavailable), speed, heading, accelSet.long, size {width, length,
height}, vehicleClass.classification, brakes.brakePadel (on/off), safetyExt.events
(VehicleEventFlags, T/CSAE 53 / J2735 bits): hardBraking (bit 7) set when the deceleration
exceeds 0.4 g, hazardLights (bit 0) while the vehicle's hazard warning lights blink (SUMO signal
bit 2), and the bits a script sets on the vehicle (ABSactivated 2, tractionControlLoss 3,
stabilityControlActivated 4, disabledVehicle 11, ...: :func:`v2x.traffic.Action` kind
``vehicle_event``).

Emergency vehicles (classification 60..69, J2735 BasicVehicleClass "emergency") also send
safetyExt.lights (ExteriorLights from their signals: turn signals, hazard, low beam, fog, high
beam) and emergencyExt {sirenUse, lightsUse}: inUse while the blue light is on (SUMO signal
bit 11, ``device.bluelight`` or a scripted ``signal`` action), notInUse otherwise (our mapping:
SUMO has one blue-light bit, so siren and light bar go together). Their frames have a layout of
their own (:func:`v2x.messages.encode_bsm_rows`); the other vehicles keep the fixed 39-byte
layout, without lights (no Day-1 application of this testbed reads a remote's turn signals).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from v2x.geo import GeoFrame
from v2x.messages import _units as u
from v2x.units import G

__all__ = ["EMERGENCY_CLASSES", "HARD_BRAKING_BIT", "HAZARD_LIGHTS_BIT", "BsmBatch",
           "BsmFields", "SumoSignal", "exterior_lights", "is_emergency"]

#: VehicleEventFlags bit of hardBraking (T/CSAE 53 / J2735 bit 7)
HARD_BRAKING_BIT = 7
#: VehicleEventFlags bit of hazardLights (T/CSAE 53 / J2735 bit 0)
HAZARD_LIGHTS_BIT = 0
#: hard braking threshold [m/s²]: deceleration > 0.4 g
_HARD_BRAKING = 0.4 * G
#: BasicVehicleClass values of emergency vehicles (J2735: 60 emergency-TypeUnknown ..
#: 69 emergency-Other-Ambulance; STANDARDS.md section 1)
EMERGENCY_CLASSES = range(60, 70)
_SIREN_NOT_IN_USE, _SIREN_IN_USE = 1, 2  # SirenInUse
_LIGHTBAR_NOT_IN_USE, _LIGHTBAR_IN_USE = 1, 2  # LightbarInUse


class SumoSignal:
    """Bits of SUMO's vehicle signals (``vehicle.getSignals()``, SUMO "TraCI/Vehicle
    Signalling")."""

    BLINKER_RIGHT = 1 << 0
    BLINKER_LEFT = 1 << 1
    BLINKER_EMERGENCY = 1 << 2  # hazard warning lights
    BRAKELIGHT = 1 << 3
    FRONTLIGHT = 1 << 4
    FOGLIGHT = 1 << 5
    HIGHBEAM = 1 << 6
    BACKDRIVE = 1 << 7
    WIPER = 1 << 8
    DOOR_OPEN_LEFT = 1 << 9
    DOOR_OPEN_RIGHT = 1 << 10
    EMERGENCY_BLUE = 1 << 11
    EMERGENCY_RED = 1 << 12
    EMERGENCY_YELLOW = 1 << 13


#: (SUMO signal bit, ExteriorLights bit): lowBeamHeadlightsOn 0, highBeamHeadlightsOn 1,
#: leftTurnSignalOn 2, rightTurnSignalOn 3, hazardSignalOn 4, fogLightOn 7 (T/CSAE 53 / J2735
#: ExteriorLights)
_LIGHTS = ((SumoSignal.FRONTLIGHT, 0), (SumoSignal.HIGHBEAM, 1), (SumoSignal.BLINKER_LEFT, 2),
           (SumoSignal.BLINKER_RIGHT, 3), (SumoSignal.BLINKER_EMERGENCY, 4),
           (SumoSignal.FOGLIGHT, 7))


def exterior_lights(signals: np.ndarray) -> np.ndarray:
    """ExteriorLights bits (flag ``1 << k`` = bit k) of SUMO signal bits ``signals`` (n,)
    int -> (n,) int64."""
    s = np.asarray(signals, np.int64)
    out = np.zeros(s.shape, np.int64)
    for sumo_bit, bit in _LIGHTS:
        out |= np.where(s & sumo_bit, 1 << bit, 0)
    return out


def is_emergency(classification: np.ndarray) -> np.ndarray:
    """(n,) bool: the BasicVehicleClass values are emergency vehicles (60..69)."""
    c = np.asarray(classification)
    return (c >= EMERGENCY_CLASSES.start) & (c < EMERGENCY_CLASSES.stop)


def _absent() -> np.ndarray:
    return np.empty(0, np.int64)


def _fill_absent(obj: object, names: tuple[str, ...], n: int) -> None:
    """Columns left at their default (empty) become (n,) -1 ("element absent")."""
    for name in names:
        if getattr(obj, name).size == 0 and n:
            object.__setattr__(obj, name, np.full(n, -1, np.int64))



@dataclass(frozen=True)
class BsmFields:
    """Every vehicle's BSM content of one step, in standard units, rows aligned with the
    step's :class:`~v2x.traffic.VehicleStates`.

    Computed once per step for all vehicles (it can run next to the traffic, in the traffic
    process); the step's :class:`BsmBatch` then takes the rows of the vehicles that transmit.

    Attributes (all ``(n,)``): ``lat_deg``, ``lon_deg`` float64 exact position [deg];
    ``lat``, ``lon`` int64 [1e-7 deg]; ``speed`` [0.02 m/s]; ``heading`` [0.0125 deg];
    ``accel_long`` [0.01 m/s²]; ``width``, ``length`` [cm]; ``height`` [5 cm];
    ``classification``; ``brake`` bool; ``events`` VehicleEventFlags bits; ``lights``
    ExteriorLights bits, ``siren_use`` SirenInUse, ``lightbar_use`` LightbarInUse (each -1
    where the element is absent: every vehicle but the emergency ones).
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
    lights: np.ndarray = field(default_factory=_absent)
    siren_use: np.ndarray = field(default_factory=_absent)
    lightbar_use: np.ndarray = field(default_factory=_absent)

    def __post_init__(self) -> None:
        _fill_absent(self, _EMERGENCY_COLUMNS, int(self.lat.shape[0]))

    @classmethod
    def encode(cls, *, x: np.ndarray, y: np.ndarray, geo: GeoFrame, speed: np.ndarray,
               heading_deg: np.ndarray, accel: np.ndarray, width: np.ndarray,
               length: np.ndarray, height: np.ndarray, classification: np.ndarray,
               brake: np.ndarray, signals: np.ndarray | None = None,
               vehicle_events: np.ndarray | None = None) -> BsmFields:
        """Encode SI columns (n,): positions as network ``x``/``y`` [m] (converted with
        ``geo``), ``speed`` [m/s], ``heading_deg``, ``accel`` [m/s²], sizes [m]; ``signals``
        SUMO signal bits (:class:`SumoSignal`; None: all off) and ``vehicle_events``
        VehicleEventFlags bits set on the vehicles by a script (None: none).

        Raises EncodeError for a position outside the valid latitude/longitude range.
        """
        lat_deg, lon_deg = geo.to_latlon(x, y)
        sig = np.zeros(x.shape, np.int64) if signals is None else signals.astype(np.int64)
        scripted = (np.zeros(x.shape, np.int64) if vehicle_events is None
                    else vehicle_events.astype(np.int64))
        events = (np.where(accel < -_HARD_BRAKING, 1 << HARD_BRAKING_BIT, 0)
                  | np.where(sig & SumoSignal.BLINKER_EMERGENCY, 1 << HAZARD_LIGHTS_BIT, 0)
                  | (scripted & 0x1FFF)).astype(np.int64)
        emergency = is_emergency(classification)
        blue = (sig & SumoSignal.EMERGENCY_BLUE) != 0
        lights = np.full(x.shape, -1, np.int64)  # sent by emergency vehicles only
        if emergency.any():
            lights[emergency] = exterior_lights(sig[emergency])
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
            events=events,
            lights=lights,
            siren_use=np.where(emergency, np.where(blue, _SIREN_IN_USE, _SIREN_NOT_IN_USE), -1),
            lightbar_use=np.where(emergency, np.where(blue, _LIGHTBAR_IN_USE,
                                                      _LIGHTBAR_NOT_IN_USE), -1),
        )


#: the BSM columns only emergency vehicles fill (-1: absent)
_EMERGENCY_COLUMNS = ("lights", "siren_use", "lightbar_use")


@dataclass(frozen=True)
class BsmBatch:
    """BSMs of one step, one row per sender, in standard units.

    Attributes (all ``(n,)``): ``sender`` int64 node id; ``msg_cnt`` int64 0..127;
    ``sec_mark`` int64 [ms of minute]; ``lat``, ``lon`` int64 [1e-7 deg]; ``speed`` int64
    [0.02 m/s]; ``heading`` int64 [0.0125 deg]; ``accel_long`` int64 [0.01 m/s²]; ``width``,
    ``length`` int64 [cm]; ``height`` int64 [5 cm]; ``classification`` int64; ``brake`` bool;
    ``events`` int64 VehicleEventFlags bits; ``lights`` int64 safetyExt.lights
    (ExteriorLights bits), ``siren_use`` / ``lightbar_use`` int64 emergencyExt.sirenUse /
    lightsUse: -1 where the element is absent (the default when not given; emergencyExt is
    sent where ``siren_use >= 0``).
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
    lights: np.ndarray = field(default_factory=_absent)
    siren_use: np.ndarray = field(default_factory=_absent)
    lightbar_use: np.ndarray = field(default_factory=_absent)

    def __post_init__(self) -> None:
        _fill_absent(self, _EMERGENCY_COLUMNS, int(self.sender.shape[0]))

    @property
    def extended(self) -> np.ndarray:
        """(n,) bool: the rows that carry safetyExt.lights or emergencyExt (not the fixed
        39-byte layout)."""
        return (self.lights >= 0) | (self.siren_use >= 0) | (self.lightbar_use >= 0)

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
                   brake=fields.brake[rows], events=fields.events[rows],
                   lights=fields.lights[rows], siren_use=fields.siren_use[rows],
                   lightbar_use=fields.lightbar_use[rows])

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
        out = [{"bsmFrame": {
            "msgCnt": cnt, "id": f"{sid:016x}", "secMark": sec,
            "pos": {"lat": lat, "long": lon}, "transmission": "unavailable", "speed": spd,
            "heading": hdg, "accelSet": {"long": acc, "lat": 2001, "vert": -127, "yaw": 0},
            "brakes": {"brakePadel": "on" if brk else "off"},
            "size": {"width": w, "length": ln, "height": h},
            "vehicleClass": {"classification": cls}, "safetyExt": {"events": ev}}}
            for cnt, sid, sec, lat, lon, spd, hdg, acc, brk, w, ln, h, cls, ev in zip(*cols,
                                                                                     strict=True)]
        for i in np.flatnonzero(self.extended).tolist():
            frame = out[i]["bsmFrame"]
            if self.lights[i] >= 0:
                frame["safetyExt"]["lights"] = int(self.lights[i])
            if self.siren_use[i] >= 0 or self.lightbar_use[i] >= 0:
                emg = frame["emergencyExt"] = {}
                if self.siren_use[i] >= 0:
                    emg["sirenUse"] = _SIREN_NAMES[self.siren_use[i]]
                if self.lightbar_use[i] >= 0:
                    emg["lightsUse"] = _LIGHTBAR_NAMES[self.lightbar_use[i]]
        return out


#: SirenInUse and LightbarInUse names (T/CSAE 53 / J2735), by value
_SIREN_NAMES = ("unavailable", "notInUse", "inUse", "reserved")
_LIGHTBAR_NAMES = ("unavailable", "notInUse", "inUse", "yellowCautionLights", "schooldBusLights",
                   "arrowSignsActive", "slowMovingVehicle", "freqStops")
