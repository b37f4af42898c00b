"""One Basic Safety Message as a value, in SI units (T/CSAE 53-2020 BasicSafetyMessage).

The simulation's per-step path uses the columnar :class:`~v2x.messages.BsmBatch` (standard
units); this class is the message-by-message form of the codec (:func:`encode_frame`,
:func:`decode_frame`) for tools, tests and platforms. NaN means "unavailable" and is sent as
the element's sentinel (see :mod:`v2x.messages._units`); ``None`` means the OPTIONAL element
is absent. Not modelled (always absent, dropped on decode): timeConfidence, posAccuracy,
posConfidence, angle, motionCfd, safetyExt.pathHistory and pathPrediction.
"""

from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass, field

from v2x.errors import EncodeError

__all__ = [
    "BrakeSystemStatus",
    "Bsm",
    "EmergencyExtensions",
    "TransmissionState",
    "VehicleEventFlags",
]


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not lo <= int(value) <= hi):
        raise EncodeError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


def _check_opt_int(name: str, value: object, lo: int, hi: int) -> None:
    if value is not None:
        _check_int(name, value, lo, hi)


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, bytes) or len(value) != 8:
        raise EncodeError(f"{name} must be 8 bytes, got {value!r}")


class TransmissionState(enum.IntEnum):
    """``TransmissionState`` ENUMERATED."""

    NEUTRAL = 0
    PARK = 1
    FORWARD_GEARS = 2
    REVERSE_GEARS = 3
    RESERVED1 = 4
    RESERVED2 = 5
    RESERVED3 = 6
    UNAVAILABLE = 7


class VehicleEventFlags(enum.IntFlag):
    """``VehicleEventFlags ::= BIT STRING (SIZE(13, ...))``: flag ``1 << k`` is bit k."""

    NONE = 0
    HAZARD_LIGHTS = 1 << 0
    STOP_LINE_VIOLATION = 1 << 1
    ABS_ACTIVATED = 1 << 2
    TRACTION_CONTROL_LOSS = 1 << 3
    STABILITY_CONTROL_ACTIVATED = 1 << 4
    HAZARDOUS_MATERIALS = 1 << 5
    RESERVED1 = 1 << 6
    HARD_BRAKING = 1 << 7
    LIGHTS_CHANGED = 1 << 8
    WIPERS_CHANGED = 1 << 9
    FLAT_TIRE = 1 << 10
    DISABLED_VEHICLE = 1 << 11
    AIR_BAG_DEPLOYMENT = 1 << 12


@dataclass(frozen=True)
class BrakeSystemStatus:
    """``BrakeSystemStatus``: every element OPTIONAL (``None`` = absent), standard values.

    ``brake_pedal`` / ``brake_boost`` 0 unavailable, 1 off, 2 on; ``traction``, ``abs``,
    ``scs`` 0 unavailable, 1 off, 2 on, 3 engaged; ``aux_brakes`` 0..3; ``wheel_brakes``
    BrakeAppliedStatus bits (flag ``1 << k`` = bit k: 0 unavailable, 1 leftFront, 2 leftRear,
    3 rightFront, 4 rightRear). Raises EncodeError when a value is out of range.
    """

    brake_pedal: int | None = None
    wheel_brakes: int | None = None
    traction: int | None = None
    abs: int | None = None
    scs: int | None = None
    brake_boost: int | None = None
    aux_brakes: int | None = None

    def __post_init__(self) -> None:
        _check_opt_int("BrakeSystemStatus.brake_pedal", self.brake_pedal, 0, 2)
        _check_opt_int("BrakeSystemStatus.wheel_brakes", self.wheel_brakes, 0, 31)
        _check_opt_int("BrakeSystemStatus.traction", self.traction, 0, 3)
        _check_opt_int("BrakeSystemStatus.abs", self.abs, 0, 3)
        _check_opt_int("BrakeSystemStatus.scs", self.scs, 0, 3)
        _check_opt_int("BrakeSystemStatus.brake_boost", self.brake_boost, 0, 2)
        _check_opt_int("BrakeSystemStatus.aux_brakes", self.aux_brakes, 0, 3)


@dataclass(frozen=True)
class EmergencyExtensions:
    """``VehicleEmergencyExtensions``: ``response_type`` 0..6, ``siren_use`` 0..3,
    ``lights_use`` 0..7 (standard values), each ``None`` when absent."""

    response_type: int | None = None
    siren_use: int | None = None
    lights_use: int | None = None

    def __post_init__(self) -> None:
        _check_opt_int("EmergencyExtensions.response_type", self.response_type, 0, 6)
        _check_opt_int("EmergencyExtensions.siren_use", self.siren_use, 0, 3)
        _check_opt_int("EmergencyExtensions.lights_use", self.lights_use, 0, 7)


@dataclass(frozen=True)
class Bsm:
    """A BasicSafetyMessage in SI units.

    Args:
        msg_cnt: MsgCount 0..127.
        id: temporary vehicle id, 8 bytes.
        sec_mark_s: time within the UTC minute [s], 0 <= t < 60; NaN = unavailable.
        lat_deg, lon_deg: WGS84 [deg]; NaN = unavailable.
        speed_mps: [m/s] >= 0; NaN = unavailable.
        heading_deg: [deg] clockwise from north (wraps mod 360); NaN = unavailable.
        accel_long_mps2, accel_lat_mps2: [m/s²]; NaN = unavailable.
        accel_vert_mps2: [m/s²]; NaN = unavailable.
        yaw_rate_dps: [deg/s], finite (the element has no "unavailable").
        width_m, length_m: [m]; NaN = invalid (sent as 0).
        height_m: [m], NaN = invalid, ``None`` = absent.
        classification: BasicVehicleClass 0..255 (10 passenger car).
        elevation_m: [m], NaN = unknown, ``None`` = absent.
        transmission: TransmissionState.
        brakes: BrakeSystemStatus.
        fuel_type: FuelType 0..15 or ``None``.
        events: safetyExt.events or ``None``; lights: safetyExt.lights (ExteriorLights bits,
            flag ``1 << k`` = bit k, 9 bits) or ``None``. safetyExt is sent when either is set.
        emergency: emergencyExt or ``None``.

    Raises EncodeError for a bad integer or id here, and from the codec for a physical value
    that cannot be encoded (naming the field and the value).
    """

    msg_cnt: int
    id: bytes
    sec_mark_s: float
    lat_deg: float
    lon_deg: float
    speed_mps: float
    heading_deg: float
    width_m: float
    length_m: float
    accel_long_mps2: float = math.nan
    accel_lat_mps2: float = math.nan
    accel_vert_mps2: float = math.nan
    yaw_rate_dps: float = 0.0
    height_m: float | None = None
    classification: int = 10
    elevation_m: float | None = None
    transmission: TransmissionState = TransmissionState.UNAVAILABLE
    brakes: BrakeSystemStatus = field(default_factory=BrakeSystemStatus)
    fuel_type: int | None = None
    events: VehicleEventFlags | None = None
    lights: int | None = None
    emergency: EmergencyExtensions | None = None

    def __post_init__(self) -> None:
        _check_int("Bsm.msg_cnt", self.msg_cnt, 0, 127)
        _check_id("Bsm.id", self.id)
        _check_int("Bsm.classification", self.classification, 0, 255)
        _check_opt_int("Bsm.fuel_type", self.fuel_type, 0, 15)
        _check_opt_int("Bsm.events", None if self.events is None else int(self.events),
                       0, (1 << 13) - 1)
        _check_opt_int("Bsm.lights", self.lights, 0, (1 << 9) - 1)
        if not isinstance(self.transmission, TransmissionState):
            try:
                object.__setattr__(self, "transmission", TransmissionState(self.transmission))
            except ValueError as exc:
                raise EncodeError(f"Bsm.transmission must be 0..7, "
                                  f"got {self.transmission!r}") from exc
        if self.events is not None and not isinstance(self.events, VehicleEventFlags):
            object.__setattr__(self, "events", VehicleEventFlags(self.events))
