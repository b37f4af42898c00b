"""SI values <-> the integer units of the T/CSAE 53 message set, vectorized.

Every ``encode_*`` function takes a scalar or an array of SI values (float64 after conversion)
and returns ``int64`` standard units of the same shape; every ``decode_*`` function takes
standard units and returns ``float64`` SI values. A scalar in gives a numpy scalar out, an
array in gives an array out (numpy's own convention).

Policy, the same for every element unless its docstring says otherwise:

- **Rounding** to the nearest unit, ties to even (``numpy.rint``). Absolute times
  (:func:`sec_mark`, :func:`minute_of_year`, :func:`time_mark`) are integer nanoseconds and are
  rounded to the nearest unit with ties up, *before* wrapping, so 59.9996 s gives secMark 0 of
  the next minute and the (MinuteOfTheYear, secMark) pair stays consistent.
- **NaN** (the library's "not known") encodes as the element's *unavailable* sentinel; elements
  without a sentinel (YawRate) raise :class:`~v2x.errors.EncodeError`.
- **Out of range** physical values either *saturate* at the largest/smallest valid value (the
  J2735 / CSAE rule for speed, acceleration, elevation, sizes: "values greater than 2000 are
  sent as 2000") or *raise* :class:`~v2x.errors.EncodeError` naming the field and the value
  (positions, time within the minute, negative magnitudes), as each docstring states.
- **Decoding** a sentinel gives NaN; a saturated value decodes to the boundary it stands for;
  a value outside the element's ASN.1 range raises :class:`~v2x.errors.DecodeError`.

Sources: T/CSAE 53-2020 data element definitions as quoted in public material (ranges, units,
CSAE "0 = invalid" for vehicle sizes, "60000 and above unknown or invalid" for DSecond,
"MinuteOfTheYear in UTC"), SAE J2735 semantics for the sentinels the CSAE text leaves implicit
(Heading 28800 unavailable, TimeMark 36000 "more than an hour"): marked "(to verify)" below
and in ``/work/shared/STANDARDS.md`` section 1.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import reprlib
from typing import Any

import numpy as np
import numpy.typing as npt

from v2x.errors import ConfigError, DecodeError, EncodeError
from v2x.units import G

__all__ = [
    "ACCELERATION_UNAVAILABLE",
    "DSECOND_UNAVAILABLE",
    "ELEVATION_UNAVAILABLE",
    "HEADING_UNAVAILABLE",
    "LATITUDE_UNAVAILABLE",
    "LONGITUDE_UNAVAILABLE",
    "MINUTE_OF_THE_YEAR_INVALID",
    "SPEED_UNAVAILABLE",
    "TIME_MARK_BEYOND_HOUR",
    "TIME_MARK_UNKNOWN",
    "VEHICLE_SIZE_UNAVAILABLE",
    "VERTICAL_ACCELERATION_UNAVAILABLE",
    "decode_acceleration",
    "decode_dsecond",
    "decode_elevation",
    "decode_heading",
    "decode_latitude",
    "decode_longitude",
    "decode_minute_of_year",
    "decode_speed",
    "decode_time_mark",
    "decode_vehicle_height",
    "decode_vehicle_length",
    "decode_vehicle_width",
    "decode_vertical_acceleration",
    "decode_yaw_rate",
    "encode_acceleration",
    "encode_dsecond",
    "encode_elevation",
    "encode_heading",
    "encode_latitude",
    "encode_longitude",
    "encode_speed",
    "encode_time_mark",
    "encode_vehicle_height",
    "encode_vehicle_length",
    "encode_vehicle_width",
    "encode_vertical_acceleration",
    "encode_yaw_rate",
    "minute_of_year",
    "sec_mark",
    "time_mark",
]

ArrayLike = npt.ArrayLike

#: Latitude ::= INTEGER (-900000000..900000001), 1e-7 degree; this value = unavailable
LATITUDE_UNAVAILABLE = 900_000_001
#: Longitude ::= INTEGER (-1799999999..1800000001), 1e-7 degree; this value = unavailable
LONGITUDE_UNAVAILABLE = 1_800_000_001
#: Elevation ::= INTEGER (-4096..61439), 0.1 m; this value = unknown
ELEVATION_UNAVAILABLE = -4096
#: Speed ::= INTEGER (0..8191), 0.02 m/s; this value = unavailable
SPEED_UNAVAILABLE = 8191
#: Heading ::= INTEGER (0..28800), 0.0125 degree; unavailable as in J2735 (to verify for CSAE)
HEADING_UNAVAILABLE = 28800
#: Acceleration ::= INTEGER (-2000..2001), 0.01 m/s²; this value = unavailable
ACCELERATION_UNAVAILABLE = 2001
#: VerticalAcceleration ::= INTEGER (-127..127), 0.02 g; J2735: -127 = unavailable
VERTICAL_ACCELERATION_UNAVAILABLE = -127
#: VehicleWidth / VehicleLength / VehicleHeight: 0 = invalid (CSAE "数值0表示无效数据")
VEHICLE_SIZE_UNAVAILABLE = 0
#: DSecond ::= INTEGER (0..65535), ms; CSAE: 60000 and above unknown/invalid; we send 65535
DSECOND_UNAVAILABLE = 65535
#: MinuteOfTheYear ::= INTEGER (0..527040); this value = invalid
MINUTE_OF_THE_YEAR_INVALID = 527040
#: TimeMark ::= INTEGER (0..36001), 0.1 s; J2735: 36000 = "more than 3600 s" (to verify for CSAE)
TIME_MARK_BEYOND_HOUR = 36000
#: TimeMark: this value = undefined or unknown
TIME_MARK_UNKNOWN = 36001

_NS_PER_MS = 1_000_000
_NS_PER_DS = 100_000_000  # one TimeMark unit, 0.1 s
_MS_PER_MINUTE = 60_000
_DS_PER_HOUR = 36_000
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


# --------------------------------------------------------------------------- helpers


def _floats(values: ArrayLike, field: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise EncodeError(f"{field}: cannot read {reprlib.repr(values)} as numbers") from exc


def _ints(values: ArrayLike, field: str) -> np.ndarray:
    """``values`` as int64; DecodeError naming the field for anything that is not integers
    within int64 (fractions, NaN, text, nested lists; shown shortened)."""
    try:
        arr = np.asarray(values)
        if arr.dtype.kind not in "iub":
            # accept integral floats (e.g. from JSON), refuse fractions and what int64 cannot
            # hold (the cast would wrap, with a RuntimeWarning)
            as_float = arr.astype(np.float64)
            if not np.all(np.isfinite(as_float)) or np.any(as_float != np.rint(as_float)) \
                    or np.any(np.abs(as_float) >= 2.0**63):
                raise DecodeError(f"{field}: expected integers, got {reprlib.repr(values)}")
        return arr.astype(np.int64)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise DecodeError(f"{field}: cannot read {reprlib.repr(values)} as integers") from exc


def _out(arr: np.ndarray) -> Any:
    """numpy scalar for 0-d, the array otherwise."""
    return arr[()]


def _first_bad(values: np.ndarray, bad: np.ndarray) -> str:
    n = int(np.count_nonzero(bad))
    first = values[bad].flat[0]
    more = f" (and {n - 1} more)" if n > 1 else ""
    return f"{first!r}{more}"


def _encode_linear(
    values: ArrayLike,
    *,
    field: str,
    lsb: float,
    lo: int,
    hi: int,
    unavailable: int | None,
    saturate: bool,
    negative_raises: bool = False,
) -> Any:
    """Shared encoder: round(values / lsb), NaN -> unavailable, range -> clamp or raise.

    Written for the per-step hot path (one call per BSM field per step): the common case
    (no NaN, in range) costs a handful of numpy passes; the checks that name a bad value run
    only when a cheap min/max test says there is one.
    """
    if isinstance(values, _SCALARS) and not isinstance(values, bool):
        return _encode_scalar(float(values), field=field, lsb=lsb, lo=lo, hi=hi,
                              unavailable=unavailable, saturate=saturate,
                              negative_raises=negative_raises)
    x = _floats(values, field)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.rint(x / lsb)
    if scaled.size == 0:
        return _out(scaled.astype(np.int64))
    lo_seen, hi_seen = np.min(scaled), np.max(scaled)  # NaN propagates into both
    nan = None
    if np.isnan(lo_seen):
        nan = np.isnan(x)
        if unavailable is None:
            raise EncodeError(
                f"{field}: NaN cannot be encoded, the element has no 'unavailable' value")
        finite = scaled[~nan]
        lo_seen = finite.min() if finite.size else 0.0
        hi_seen = finite.max() if finite.size else 0.0
    if negative_raises and lo_seen < 0:
        neg = (scaled < 0) if nan is None else (~nan & (scaled < 0))
        raise EncodeError(f"{field}: negative value {_first_bad(x, neg)} cannot be encoded")
    if not saturate and (lo_seen < lo or hi_seen > hi):
        bad = (scaled < lo) | (scaled > hi)
        raise EncodeError(
            f"{field}: value {_first_bad(x, bad)} is outside the encodable range "
            f"[{lo * lsb:g}, {hi * lsb:g}]"
        )
    if lo_seen < lo or hi_seen > hi:
        scaled = np.clip(scaled, lo, hi)
    if nan is None:
        return _out(scaled.astype(np.int64))
    out = np.where(nan, 0.0, scaled).astype(np.int64)
    assert unavailable is not None  # NaN without an 'unavailable' value was refused above
    out[nan] = unavailable
    return _out(out)


_SCALARS = (int, float, np.integer, np.floating)


def _encode_scalar(x: float, *, field: str, lsb: float, lo: int, hi: int,
                   unavailable: int | None, saturate: bool, negative_raises: bool) -> Any:
    """:func:`_encode_linear` of one value in plain Python (the per-message path); the same
    results as the array path (tested), including ties to even and the error texts."""
    if x != x:  # NaN
        if unavailable is None:
            raise EncodeError(
                f"{field}: NaN cannot be encoded, the element has no 'unavailable' value")
        return np.int64(unavailable)
    if math.isinf(x):
        scaled = float(hi + 1) if x > 0 else float(lo - 1)
        if negative_raises and x < 0:
            raise EncodeError(f"{field}: negative value {np.float64(x)!r} cannot be encoded")
    else:
        q = x / lsb
        scaled = float(round(q)) if math.isfinite(q) else (hi + 1.0 if q > 0 else lo - 1.0)
        if negative_raises and scaled < 0:
            raise EncodeError(f"{field}: negative value {np.float64(x)!r} cannot be encoded")
    if scaled < lo or scaled > hi:
        if not saturate:
            raise EncodeError(
                f"{field}: value {np.float64(x)!r} is outside the encodable range "
                f"[{lo * lsb:g}, {hi * lsb:g}]"
            )
        scaled = float(lo) if scaled < lo else float(hi)
    return np.int64(int(scaled))


def _decode_linear(
    values: ArrayLike,
    *,
    field: str,
    lsb: float,
    lo: int,
    hi: int,
    unavailable: int | None,
) -> Any:
    """Shared decoder: range check, sentinel -> NaN, value * lsb."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        iv = int(values)
        if iv < lo or iv > hi:
            raise DecodeError(f"{field}: value {iv} outside [{lo}, {hi}]")
        if unavailable is not None and iv == unavailable:
            return np.float64("nan")
        return np.float64(iv * lsb)
    v = _ints(values, field)
    bad = (v < lo) | (v > hi)
    if np.any(bad):
        raise DecodeError(f"{field}: value {_first_bad(v, bad)} outside [{lo}, {hi}]")
    out = v.astype(np.float64) * lsb
    if unavailable is not None:
        out = np.where(v == unavailable, np.nan, out)
    return _out(np.asarray(out, dtype=np.float64))


# --------------------------------------------------------------------------- position


def encode_latitude(lat_deg: ArrayLike) -> Any:
    """Latitude [deg] -> Latitude [1e-7 deg], int64, same shape.

    Valid -90..90 deg -> -900000000..900000000. NaN -> 900000001 (unavailable).
    Raises EncodeError when a value is outside [-90, 90] deg after rounding (no saturation:
    a position outside the globe is a bug, not a measurement). T/CSAE 53-2020 Latitude.
    """
    return _encode_linear(
        lat_deg, field="Latitude", lsb=1e-7, lo=-900_000_000, hi=900_000_000,
        unavailable=LATITUDE_UNAVAILABLE, saturate=False,
    )


def decode_latitude(units: ArrayLike) -> Any:
    """Latitude [1e-7 deg] -> [deg] float64; 900000001 -> NaN.

    Raises DecodeError outside -900000000..900000001.
    """
    return _decode_linear(
        units, field="Latitude", lsb=1e-7, lo=-900_000_000, hi=LATITUDE_UNAVAILABLE,
        unavailable=LATITUDE_UNAVAILABLE,
    )


def encode_longitude(lon_deg: ArrayLike) -> Any:
    """Longitude [deg] -> Longitude [1e-7 deg], int64, same shape.

    Valid (-180, 180] deg -> -1799999999..1800000000; exactly -180 deg (the same meridian)
    is sent as 1800000000 because the type has no -1800000000. NaN -> 1800000001
    (unavailable). Raises EncodeError outside [-180, 180] deg after rounding (no wrapping,
    no saturation). T/CSAE 53-2020 Longitude.
    """
    if isinstance(lon_deg, _SCALARS) and not isinstance(lon_deg, bool):
        x: Any = float(lon_deg)
        if math.isfinite(x) and round(x / 1e-7) == -1_800_000_000:
            x = 180.0
    else:
        x = _floats(lon_deg, "Longitude")
        with np.errstate(invalid="ignore"):
            x = np.where(np.rint(x / 1e-7) == -1_800_000_000, 180.0, x)
    return _encode_linear(
        x, field="Longitude", lsb=1e-7, lo=-1_799_999_999, hi=1_800_000_000,
        unavailable=LONGITUDE_UNAVAILABLE, saturate=False,
    )


def decode_longitude(units: ArrayLike) -> Any:
    """Longitude [1e-7 deg] -> [deg] float64; 1800000001 -> NaN.

    Raises DecodeError outside -1799999999..1800000001.
    """
    return _decode_linear(
        units, field="Longitude", lsb=1e-7, lo=-1_799_999_999, hi=LONGITUDE_UNAVAILABLE,
        unavailable=LONGITUDE_UNAVAILABLE,
    )


def encode_elevation(elevation_m: ArrayLike) -> Any:
    """Elevation [m] -> Elevation [0.1 m], int64.

    Valid -409.5..6143.9 m -> -4095..61439. Saturates: below -409.5 m -> -4095, above
    6143.9 m -> 61439 (J2735 rule). NaN -> -4096 (unknown). T/CSAE 53-2020 Elevation.
    """
    return _encode_linear(
        elevation_m, field="Elevation", lsb=0.1, lo=-4095, hi=61439,
        unavailable=ELEVATION_UNAVAILABLE, saturate=True,
    )


def decode_elevation(units: ArrayLike) -> Any:
    """Elevation [0.1 m] -> [m] float64; -4096 -> NaN. Raises DecodeError outside -4096..61439."""
    return _decode_linear(
        units, field="Elevation", lsb=0.1, lo=-4096, hi=61439, unavailable=ELEVATION_UNAVAILABLE,
    )


# --------------------------------------------------------------------------- motion


def encode_speed(speed_mps: ArrayLike) -> Any:
    """Speed [m/s] -> Speed [0.02 m/s], int64.

    Valid 0..163.8 m/s -> 0..8190. Saturates above 163.8 m/s (and +inf) at 8190. NaN -> 8191
    (unavailable). A speed is a magnitude: raises EncodeError when a value rounds below 0
    (-0.01 m/s still rounds to 0). T/CSAE 53-2020 Speed.
    """
    return _encode_linear(
        speed_mps, field="Speed", lsb=0.02, lo=0, hi=8190,
        unavailable=SPEED_UNAVAILABLE, saturate=True, negative_raises=True,
    )


def decode_speed(units: ArrayLike) -> Any:
    """Speed [0.02 m/s] -> [m/s] float64; 8191 -> NaN. Raises DecodeError outside 0..8191."""
    return _decode_linear(
        units, field="Speed", lsb=0.02, lo=0, hi=8191, unavailable=SPEED_UNAVAILABLE,
    )


def encode_heading(heading_deg: ArrayLike) -> Any:
    """Heading [deg clockwise from north] -> Heading [0.0125 deg], int64 in 0..28799.

    Any finite angle wraps modulo 360 deg *after* rounding, so 360.0 -> 0, -0.0125 -> 28799 and
    359.99999 -> 0. NaN -> 28800 (unavailable as in J2735; the CSAE text gives the range
    0..359.9875 deg without naming a sentinel, (to verify)). Raises EncodeError for +-inf.
    T/CSAE 53-2020 Heading.
    """
    if isinstance(heading_deg, _SCALARS) and not isinstance(heading_deg, bool):
        h = float(heading_deg)
        if math.isinf(h):
            raise EncodeError(f"Heading: value {np.float64(h)!r} cannot be encoded")
        if h != h:
            return np.int64(HEADING_UNAVAILABLE)
        return np.int64(int(round(h / 0.0125)) % 28800)
    x = _floats(heading_deg, "Heading")
    if np.any(np.isinf(x)):
        raise EncodeError(f"Heading: value {_first_bad(x, np.isinf(x))} cannot be encoded")
    nan = np.isnan(x)
    with np.errstate(invalid="ignore"):
        scaled = np.rint(np.where(nan, 0.0, x) / 0.0125)
    wrapped = np.mod(scaled, 28800).astype(np.int64)
    return _out(np.where(nan, np.int64(HEADING_UNAVAILABLE), wrapped))


def decode_heading(units: ArrayLike) -> Any:
    """Heading [0.0125 deg] -> [deg] float64 in [0, 360); 28800 -> NaN.

    Raises DecodeError outside 0..28800.
    """
    return _decode_linear(
        units, field="Heading", lsb=0.0125, lo=0, hi=28800, unavailable=HEADING_UNAVAILABLE,
    )


def encode_acceleration(accel_mps2: ArrayLike) -> Any:
    """Longitudinal / lateral acceleration [m/s²] -> Acceleration [0.01 m/s²], int64.

    Valid -20..20 m/s² -> -2000..2000. Saturates beyond +-20 m/s² at +-2000 (CSAE: "values
    above 2000 are set to 2000"). NaN -> 2001 (unavailable). T/CSAE 53-2020 Acceleration.
    """
    return _encode_linear(
        accel_mps2, field="Acceleration", lsb=0.01, lo=-2000, hi=2000,
        unavailable=ACCELERATION_UNAVAILABLE, saturate=True,
    )


def decode_acceleration(units: ArrayLike) -> Any:
    """Acceleration [0.01 m/s²] -> [m/s²] float64; 2001 -> NaN.

    Raises DecodeError outside -2000..2001.
    """
    return _decode_linear(
        units, field="Acceleration", lsb=0.01, lo=-2000, hi=2001,
        unavailable=ACCELERATION_UNAVAILABLE,
    )


_VERT_LSB = 0.02 * G  # [m/s²] per unit


def encode_vertical_acceleration(accel_mps2: ArrayLike) -> Any:
    """Vertical acceleration [m/s²] -> VerticalAcceleration [0.02 g], int64.

    SI in: 1 unit = 0.02 x 9.80665 m/s². Valid -2.52..2.54 g -> -126..127; saturates at -126
    and 127 (J2735: "-126 for <= -2.52 g, +127 for >= 2.54 g"). NaN -> -127 (unavailable,
    J2735; the bottom of the range, unlike the other sentinels). T/CSAE 53-2020
    VerticalAcceleration.
    """
    return _encode_linear(
        accel_mps2, field="VerticalAcceleration", lsb=_VERT_LSB, lo=-126, hi=127,
        unavailable=VERTICAL_ACCELERATION_UNAVAILABLE, saturate=True,
    )


def decode_vertical_acceleration(units: ArrayLike) -> Any:
    """VerticalAcceleration [0.02 g] -> [m/s²] float64; -127 -> NaN.

    Raises DecodeError outside -127..127.
    """
    return _decode_linear(
        units, field="VerticalAcceleration", lsb=_VERT_LSB, lo=-127, hi=127,
        unavailable=VERTICAL_ACCELERATION_UNAVAILABLE,
    )


def encode_yaw_rate(yaw_rate_deg_s: ArrayLike) -> Any:
    """Yaw rate [deg/s, positive clockwise seen from above] -> YawRate [0.01 deg/s], int64.

    Valid -327.67..327.67 deg/s -> -32767..32767; saturates beyond. The element has no
    'unavailable' value, so NaN raises EncodeError rather than being sent as a silent 0.
    T/CSAE 53-2020 YawRate.
    """
    return _encode_linear(
        yaw_rate_deg_s, field="YawRate", lsb=0.01, lo=-32767, hi=32767,
        unavailable=None, saturate=True,
    )


def decode_yaw_rate(units: ArrayLike) -> Any:
    """YawRate [0.01 deg/s] -> [deg/s] float64. Raises DecodeError outside -32767..32767."""
    return _decode_linear(units, field="YawRate", lsb=0.01, lo=-32767, hi=32767, unavailable=None)


# --------------------------------------------------------------------------- vehicle size


def _encode_size(values: ArrayLike, *, field: str, lsb: float, hi: int) -> Any:
    # 0 means "invalid" in CSAE, so a positive size that rounds to 0 is sent as 1 (clamp to
    # the smallest valid value); a negative size is a bug and raises.
    if isinstance(values, _SCALARS) and not isinstance(values, bool):
        if float(values) < 0:
            raise EncodeError(f"{field}: negative size {np.float64(values)!r} m cannot be "
                              "encoded")
        return _encode_linear(float(values), field=field, lsb=lsb, lo=1, hi=hi,
                              unavailable=VEHICLE_SIZE_UNAVAILABLE, saturate=True)
    x = _floats(values, field)
    neg = x < 0
    if np.any(neg):
        raise EncodeError(f"{field}: negative size {_first_bad(x, neg)} m cannot be encoded")
    return _encode_linear(
        x, field=field, lsb=lsb, lo=1, hi=hi, unavailable=VEHICLE_SIZE_UNAVAILABLE, saturate=True,
    )


def encode_vehicle_width(width_m: ArrayLike) -> Any:
    """Vehicle width [m] -> VehicleWidth [1 cm], int64.

    Valid 0.01..10.23 m -> 1..1023; saturates above 10.23 m at 1023 and below 0.01 m (including
    0.0) at 1, because 0 means invalid. NaN -> 0 (invalid). Raises EncodeError for negative
    sizes. T/CSAE 53-2020 VehicleWidth.
    """
    return _encode_size(width_m, field="VehicleWidth", lsb=0.01, hi=1023)


def encode_vehicle_length(length_m: ArrayLike) -> Any:
    """Vehicle length [m] -> VehicleLength [1 cm], int64.

    Valid 0.01..40.95 m -> 1..4095; saturates at 1 and 4095 as for the width. NaN -> 0
    (invalid). Raises EncodeError for negative sizes. T/CSAE 53-2020 VehicleLength.
    """
    return _encode_size(length_m, field="VehicleLength", lsb=0.01, hi=4095)


def encode_vehicle_height(height_m: ArrayLike) -> Any:
    """Vehicle height [m] -> VehicleHeight [5 cm], int64.

    Valid 0.05..6.35 m -> 1..127; saturates at 1 and 127 as for the width. NaN -> 0 (invalid).
    Raises EncodeError for negative sizes. T/CSAE 53-2020 VehicleHeight.
    """
    return _encode_size(height_m, field="VehicleHeight", lsb=0.05, hi=127)


def decode_vehicle_width(units: ArrayLike) -> Any:
    """VehicleWidth [cm] -> [m] float64; 0 -> NaN. Raises DecodeError outside 0..1023."""
    return _decode_linear(
        units, field="VehicleWidth", lsb=0.01, lo=0, hi=1023, unavailable=VEHICLE_SIZE_UNAVAILABLE,
    )


def decode_vehicle_length(units: ArrayLike) -> Any:
    """VehicleLength [cm] -> [m] float64; 0 -> NaN. Raises DecodeError outside 0..4095."""
    return _decode_linear(
        units, field="VehicleLength", lsb=0.01, lo=0, hi=4095,
        unavailable=VEHICLE_SIZE_UNAVAILABLE,
    )


def decode_vehicle_height(units: ArrayLike) -> Any:
    """VehicleHeight [5 cm] -> [m] float64; 0 -> NaN. Raises DecodeError outside 0..127."""
    return _decode_linear(
        units, field="VehicleHeight", lsb=0.05, lo=0, hi=127, unavailable=VEHICLE_SIZE_UNAVAILABLE,
    )


# --------------------------------------------------------------------------- relative time


def encode_dsecond(seconds: ArrayLike) -> Any:
    """Seconds within the minute [s] -> DSecond [ms], int64 in 0..59999.

    For a time already reduced to the minute (e.g. an RSM participant's secMark); absolute
    simulation times go through :func:`sec_mark`. Values that round to 60000 ms (from about
    59.9995 s up to 60.0 s) wrap to 0 as the next minute begins. NaN -> 65535 (unavailable; CSAE:
    "60000 and above unknown or invalid"). Raises EncodeError for negative values and for
    values of 60.0005 s and more (no leap seconds are produced). T/CSAE 53-2020 DSecond.
    """
    if isinstance(seconds, _SCALARS) and not isinstance(seconds, bool):
        sec = float(seconds)
        if sec != sec:
            return np.int64(DSECOND_UNAVAILABLE)
        ms_s = round(sec * 1000.0) if math.isfinite(sec) else (-1 if sec < 0 else 10**9)
        if ms_s < 0 or ms_s > _MS_PER_MINUTE:
            raise EncodeError(f"DSecond: value {np.float64(sec)!r} s is outside [0, 60) s")
        return np.int64(ms_s % _MS_PER_MINUTE)
    x = _floats(seconds, "DSecond")
    nan = np.isnan(x)
    with np.errstate(invalid="ignore", over="ignore"):
        ms = np.rint(x * 1000.0)
    bad = ~nan & ((ms < 0) | (ms > _MS_PER_MINUTE))
    if np.any(bad):
        raise EncodeError(f"DSecond: value {_first_bad(x, bad)} s is outside [0, 60) s")
    wrapped = np.mod(np.where(nan, 0.0, ms), _MS_PER_MINUTE).astype(np.int64)
    return _out(np.where(nan, np.int64(DSECOND_UNAVAILABLE), wrapped))


def decode_dsecond(units: ArrayLike) -> Any:
    """DSecond [ms] -> seconds within the minute [s] float64; 60000..65535 -> NaN.

    CSAE reads every value of 60000 and above as unknown or invalid (J2735 would read
    60000..60999 as a leap second; we do not). Raises DecodeError outside 0..65535.
    """
    if isinstance(units, (int, np.integer)) and not isinstance(units, bool):
        iv = int(units)
        if iv < 0 or iv > 65535:
            raise DecodeError(f"DSecond: value {iv} outside [0, 65535]")
        return np.float64("nan") if iv >= _MS_PER_MINUTE else np.float64(iv / 1000.0)
    v = _ints(units, "DSecond")
    bad = (v < 0) | (v > 65535)
    if np.any(bad):
        raise DecodeError(f"DSecond: value {_first_bad(v, bad)} outside [0, 65535]")
    return _out(np.where(v >= _MS_PER_MINUTE, np.nan, v.astype(np.float64) / 1000.0))


def encode_time_mark(seconds: ArrayLike) -> Any:
    """A duration or an offset within the hour [s] -> TimeMark [0.1 s], int64.

    For SPAT timing (T/CSAE 53-2020 counts down in TimeMark units) and any time already reduced
    to the hour; absolute simulation times go through :func:`time_mark`. 0..3599.9 s ->
    0..35999; 3600 s and more (and +inf) saturate at 36000, which J2735 defines as "more than
    3600 s" (to verify for CSAE). NaN -> 36001 (unknown). Raises EncodeError for values that
    round below 0.
    """
    return _encode_linear(
        seconds, field="TimeMark", lsb=0.1, lo=0, hi=TIME_MARK_BEYOND_HOUR,
        unavailable=TIME_MARK_UNKNOWN, saturate=True, negative_raises=True,
    )


def decode_time_mark(units: ArrayLike) -> Any:
    """TimeMark [0.1 s] -> [s] float64; 36000 -> +inf ("more than an hour"), 36001 -> NaN.

    Raises DecodeError outside 0..36001.
    """
    out = _decode_linear(
        units, field="TimeMark", lsb=0.1, lo=0, hi=TIME_MARK_UNKNOWN,
        unavailable=TIME_MARK_UNKNOWN,
    )
    v = _ints(units, "TimeMark")
    return _out(np.where(v == TIME_MARK_BEYOND_HOUR, np.inf, np.asarray(out)))


def decode_minute_of_year(units: ArrayLike) -> Any:
    """MinuteOfTheYear [min] -> float64 minutes; 527040 -> NaN.

    Raises DecodeError outside 0..527040.
    """
    return _decode_linear(
        units, field="MinuteOfTheYear", lsb=1.0, lo=0, hi=MINUTE_OF_THE_YEAR_INVALID,
        unavailable=MINUTE_OF_THE_YEAR_INVALID,
    )


# --------------------------------------------------------------------------- absolute time


def _abs_ns(start: _dt.datetime, t_ns: ArrayLike) -> np.ndarray:
    """UTC nanoseconds since 1970 of the simulation instants, int64."""
    if type(t_ns) is int and t_ns >= 0:  # the per-step scalar: exact Python-int arithmetic
        return np.asarray(_start_ns(start) + t_ns, dtype=np.int64)
    if not isinstance(start, _dt.datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise ConfigError(
            f"the scenario start must be a timezone-aware datetime (Beijing time), got {start!r}",
            key="start", value=start,
        )
    delta = start - _EPOCH
    start_ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    t = np.asarray(t_ns)
    if t.dtype.kind not in "iu":
        raise TypeError(f"t_ns must be integer nanoseconds, got dtype {t.dtype}")
    t = t.astype(np.int64)
    if np.any(t < 0):
        raise ValueError("t_ns must be >= 0 (simulated time since the scenario start)")
    return np.int64(start_ns) + t


@functools.lru_cache(maxsize=16)
def _start_ns(start: _dt.datetime) -> int:
    if not isinstance(start, _dt.datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise ConfigError(
            f"the scenario start must be a timezone-aware datetime (Beijing time), got {start!r}",
            key="start", value=start,
        )
    delta = start - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _round_div(ns: np.ndarray, unit_ns: int) -> np.ndarray:
    """Nearest multiple of unit_ns, ties up (integer arithmetic, exact)."""
    return (ns + unit_ns // 2) // unit_ns


def sec_mark(start: _dt.datetime, t_ns: ArrayLike) -> Any:
    """secMark (DSecond) of simulation instants: ms within the current UTC minute, 0..59999.

    Args:
        start: scenario start instant, timezone-aware (Beijing time in scenario files).
        t_ns: simulated time since ``start`` [ns], int or int64 array, >= 0.

    Returns int64 of the shape of ``t_ns``. The absolute instant is rounded to the nearest ms
    (ties up) and then wrapped at the minute, so 59.9994 s -> 59999 and 59.9995 s -> 0. Leap
    seconds are not modelled (POSIX time), so 60000..60999 never occur. Minutes are the same in
    UTC and Beijing time (whole-hour offset). Raises ConfigError (key ``start``) for a naive
    datetime, ValueError for negative ``t_ns``, TypeError for non-integer ``t_ns``.
    """
    ms = _round_div(_abs_ns(start, t_ns), _NS_PER_MS)
    return _out(np.mod(ms, _MS_PER_MINUTE).astype(np.int64))


def minute_of_year(start: _dt.datetime, t_ns: ArrayLike) -> Any:
    """MinuteOfTheYear of simulation instants: minutes since Jan 1 00:00 **UTC** of the year.

    UTC, not Beijing time: the CSAE definition (as quoted in public material) reads "elapsed
    minutes of the current year (UTC time)", as J2735 does. So 2024-01-01 07:59 Beijing time is
    2023-12-31 23:59 UTC -> 525599. Range 0..525599 in a common year, 0..527039 in a leap year;
    527040 (invalid) is never produced. The instant is rounded to the nearest ms first, exactly
    as in :func:`sec_mark`, so the pair (minute_of_year, sec_mark) names one instant.

    Args and errors as :func:`sec_mark`. Returns int64 of the shape of ``t_ns``.
    """
    ms = _round_div(_abs_ns(start, t_ns), _NS_PER_MS)
    minutes = ms // _MS_PER_MINUTE
    as_minutes = minutes.astype("datetime64[m]")
    year_start = as_minutes.astype("datetime64[Y]").astype("datetime64[m]")
    return _out((as_minutes - year_start).astype(np.int64))


def time_mark(start: _dt.datetime, t_ns: ArrayLike) -> Any:
    """TimeMark of simulation instants: tenths of a second within the current UTC hour.

    Range 0..35999: the instant is rounded to the nearest 0.1 s (ties up), then wrapped at the
    hour, so 3599.9 s past the hour -> 35999 and 3600 s -> 0. The hour is the same in UTC and
    Beijing time (whole-hour offset). 36000 ("more than an hour", for durations) and 36001
    (unknown) are never produced here; see :func:`encode_time_mark` for durations.

    Args and errors as :func:`sec_mark`. Returns int64 of the shape of ``t_ns``.
    """
    ds = _round_div(_abs_ns(start, t_ns), _NS_PER_DS)
    return _out(np.mod(ds, _DS_PER_HOUR).astype(np.int64))
