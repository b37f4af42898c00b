"""UPER and JSON codecs of the T/CSAE 53-2020 Day-1 MessageFrame (BSM, MAP, SPAT, RSI, RSM).

The ASN.1 modules are the project's own (``v2x/messages/asn1/*.asn``), compiled once with
asn1tools for UPER (ITU-T X.691, unaligned) and cached. Value classes are in SI units; every
conversion to the standard's integers goes through :mod:`v2x.messages._units` (sentinels,
saturation, wraps) or, for SPAT/MAP times and widths, the helpers of
:mod:`v2x.messages._json`, so UPER and JSON carry the same integers.

API::

    encode_frame(msg) -> bytes                  # Bsm | MapData | Spat | Rsi | Rsm | FrameExt
    decode_frame(data, *, now_ns=None) -> msg
    frame_to_json(msg) -> dict                  # {"spatFrame": {...ASN.1 field names...}}
    frame_from_json(obj, *, now_ns=None) -> msg
    encode_bsm_batch(batch) -> list[bytes]      # vectorized, one UPER frame per row
    decode_bsm_frames(frames) -> (BsmBatch, ok, errors)
    SpatFrameTemplate(...).encode(msg_cnt, timestamp_ns, remaining_ns) -> bytes  # ~10 us
    MapFrameTemplate(nodes).encode(msg_cnt, timestamp_ns) -> bytes               # ~2 us

Errors: a value that cannot be encoded raises :class:`~v2x.errors.EncodeError` naming the field
and the value; bytes (or JSON) that cannot be decoded raise :class:`~v2x.errors.DecodeError`;
asn1tools errors are mapped here, with the cause chained.

JSON form: the ASN.1 value with its field names, CHOICEs as ``{"alternative": value}``,
ENUMERATEDs as their identifiers, BIT STRINGs as integers (bit k = ``1 << k``), OCTET STRINGs
as hex text; MAP points in the shortest ``OffsetLL`` form, as the UPER encoder picks. This is
the project's one JSON writer: ``spat_to_json`` / ``map_to_json`` and the JSON templates of
:mod:`v2x.messages._json` are its ``spatFrame`` / ``mapFrame`` (same bytes, tested).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import functools
import hashlib
import math
import operator
import os
import pathlib
import pickle
import re
import reprlib
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asn1tools
import numpy as np
from asn1tools.codecs import ErrorWithLocation as _ErrorWithLocation
from asn1tools.codecs import uper as _uper_codec

from v2x._cache import cache_dir
from v2x.errors import DecodeError, EncodeError
from v2x.messages import _units as u
from v2x.messages._bsm import BsmBatch
from v2x.messages._bsm_msg import (
    BrakeSystemStatus,
    Bsm,
    EmergencyExtensions,
    TransmissionState,
    VehicleEventFlags,
)
from v2x.messages._json import (
    _TM_CAP_NS,
    LIGHT_STATE_NAMES,
    _moy_sec,
    _tm,
    spat_template_inputs,
)
from v2x.messages._map import (
    AllowedManeuvers,
    ConnectingLane,
    Connection,
    MapData,
    MapLane,
    MapLink,
    MapNode,
    Movement,
    NodeReferenceId,
    Position3D,
    SpeedLimit,
    SpeedLimitType,
)
from v2x.messages._rsi import (
    EventSource,
    ReferenceLink,
    ReferencePath,
    RoadTrafficEvent,
    RoadTrafficSign,
    Rsi,
)
from v2x.messages._rsm import Participant, ParticipantType, Rsm, SourceType
from v2x.messages._spat import (
    NO_TIME,
    IntersectionState,
    IntersectionStatus,
    LightState,
    Phase,
    PhaseState,
    Spat,
    SpatPhaseStates,
    TimeCountingDown,
)
from v2x.msgset import PROFILES, Profile, resolve_profile

__all__ = [
    "ASN1_DIR",
    "BSM_BATCH_FRAME_BYTES",
    "FrameExt",
    "FrameReader",
    "MAX_FRAME_BYTES",
    "MapFrameTemplate",
    "RsiFrameTemplate",
    "Message",
    "SpatFrameTemplate",
    "bsm_frame_lengths",
    "compiled_spec",
    "decode_bsm_frames",
    "decode_frame",
    "encode_bsm_batch",
    "encode_frame",
    "frame_from_json",
    "frame_to_json",
]

#: directory of the project's ASN.1 modules
ASN1_DIR = pathlib.Path(__file__).with_name("asn1")


@dataclass(frozen=True)
class FrameExt:
    """A Day-2 ``msgFrameExt`` (T/CSAE 157-2020): ``message_id`` 0..32767 (RSC 11, SSM 12,
    VIR 13, PAM 14, PSM 15) and ``value``, the inner message's own UPER bytes."""

    message_id: int
    value: bytes

    def __post_init__(self) -> None:
        if not (isinstance(self.message_id, int) and 0 <= self.message_id <= 32767):
            raise EncodeError(f"FrameExt.message_id must be 0..32767, got {self.message_id!r}")
        if not isinstance(self.value, bytes):
            raise EncodeError(f"FrameExt.value must be bytes, got {self.value!r}")


Message = Bsm | MapData | Spat | Rsi | Rsm | FrameExt


def compiled_spec(profile: str | None = None) -> Any:
    """The compiled asn1tools UPER specification of ``asn1/*.asn`` for a conformance profile
    (:data:`~v2x.msgset.PROFILES`; ``None``: :data:`~v2x.msgset.DEFAULT_PROFILE`), once per
    process and profile.

    A profile's modules are ours with its bounds written in (``ConnectsToList`` 1..8 or
    1..16). Compiling parses the modules with pyparsing (~0.4-0.9 s); the result is also
    pickled to ``cache_dir()/asn1/uper-<profile>-<digest>.pickle``, the digest covering the
    module texts and the asn1tools and Python versions, and loaded from there (~30 ms) when it
    matches. A cache that cannot be read or written is ignored (compiled instead).

    Raises:
        ConfigError: an unknown profile name (names the known ones).
    """
    spec = _SPECS.get(profile) if profile is None or isinstance(profile, str) else None
    if spec is None:
        name = resolve_profile(profile).name
        spec = _SPECS.get(name)
        if spec is None:
            spec = _compile_spec(PROFILES[name])
        _SPECS[name] = _SPECS[profile] = spec
    return spec


#: compiled specifications by profile name (and None, the default)
_SPECS: dict[str | None, Any] = {}

_CONNECTS_TO = re.compile(r"(ConnectsToList ::= SEQUENCE \(SIZE \(1\.\.)(\d+)(\)\) OF Connection)")


def _module_texts(profile: Profile) -> list[tuple[str, str]]:
    """(file name, text) of our ASN.1 modules with the bounds of ``profile`` written in."""
    out = []
    for f in sorted(ASN1_DIR.glob("*.asn")):
        text = f.read_text(encoding="utf-8")
        if f.name == "V2X-MAP.asn":
            text, n = _CONNECTS_TO.subn(rf"\g<1>{profile.connects_to_max}\g<3>", text)
            if n != 1:  # the module changed under the profile: a programming error, say so
                raise EncodeError(f"profile {profile.name!r}: {f} has {n} ConnectsToList "
                                  f"definitions, expected 1")
        out.append((f.name, text))
    return out


def _compile_spec(profile: Profile) -> Any:
    texts = _module_texts(profile)
    h = hashlib.sha256(f"{asn1tools.version.__version__} {sys.version}".encode())
    for name, text in texts:
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    cached = cache_dir() / "asn1" / f"uper-{profile.name}-{h.hexdigest()[:24]}.pickle"
    try:
        return pickle.loads(cached.read_bytes())
    except Exception:  # noqa: BLE001 - absent, truncated or foreign: compile instead
        pass
    try:
        spec = asn1tools.compile_string("\n".join(text for _, text in texts) + "\n",
                                        codec="uper")
    except asn1tools.Error as exc:  # a broken module is a programming error, but say so
        raise EncodeError(f"cannot compile the ASN.1 modules in {ASN1_DIR} (profile "
                          f"{profile.name!r}): {exc}") from exc
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(pickle.dumps(spec))
        os.replace(tmp, cached)  # atomic: a concurrent run reads the old or the new file
    except OSError:
        pass
    return spec


# =========================================================================== value forms
# The builders below are written once and produce either asn1tools values (UPER) or JSON
# values, depending on the form: BIT STRING, CHOICE and OCTET STRING are the only differences.


def _flags_to_wire(value: int, n: int) -> int:
    """Flag ``1 << k`` -> ASN.1 bit k, which is the k-th bit on the wire (MSB first)."""
    w = 0
    for k in range(n):
        if value >> k & 1:
            w |= 1 << (n - 1 - k)
    return w


class _AsnForm:
    json = False

    @staticmethod
    def bits(value: int, n: int) -> tuple[bytes, int]:
        nbytes = (n + 7) // 8
        return ((_flags_to_wire(int(value), n) << (8 * nbytes - n)).to_bytes(nbytes, "big"), n)

    @staticmethod
    def unbits(x: tuple[bytes, int]) -> int:
        data, n = x
        w = int.from_bytes(data, "big") >> (8 * len(data) - n)
        return _flags_to_wire(w, n)  # the bit reversal is its own inverse

    @staticmethod
    def choice(name: str, value: Any) -> Any:
        return (name, value)

    @staticmethod
    def unchoice(x: Any) -> tuple[str, Any]:
        name, value = x
        return name, value

    @staticmethod
    def octets(b: bytes) -> Any:
        return b

    @staticmethod
    def unoctets(x: Any) -> bytes:
        return bytes(x)


class _JsonForm(_AsnForm):
    json = True

    @staticmethod
    def bits(value: int, n: int) -> Any:
        return int(value)

    @staticmethod
    def unbits(x: Any) -> int:
        if isinstance(x, bool) or not isinstance(x, int) or x < 0:
            raise DecodeError(f"a bit string must be an integer >= 0, got {reprlib.repr(x)}")
        return x

    @staticmethod
    def choice(name: str, value: Any) -> Any:
        return {name: value}

    @staticmethod
    def unchoice(x: Any) -> tuple[str, Any]:
        if not isinstance(x, dict) or len(x) != 1:
            raise DecodeError(f"a CHOICE must be an object with one member, got "
                              f"{reprlib.repr(x)}")
        ((name, value),) = x.items()
        return name, value

    @staticmethod
    def octets(b: bytes) -> Any:
        return b.hex()

    @staticmethod
    def unoctets(x: Any) -> bytes:
        return bytes.fromhex(x)


_ASN = _AsnForm()
_JSON = _JsonForm()
_Form = _AsnForm


# =========================================================================== small helpers

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_NS_PER_MS = 1_000_000
_NS_PER_MIN = 60_000_000_000
_NS_PER_DS = 100_000_000


def _i(x: Any) -> int:
    return int(x)


def _f(x: Any) -> float:
    return float(x)


def _opt_float(x: float | None) -> float | None:
    return None if x is None else float(x)


def _short(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters for an error message (a foreign message may quote a
    whole input)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _check_range(field: str, value: int, lo: int, hi: int) -> int:
    if not lo <= value <= hi:
        raise EncodeError(f"{field}: value {value!r} is outside {lo}..{hi}")
    return value


def _cm(field: str, width_m: float) -> int:
    """A width [m] as LaneWidth [cm] 0..32767 (round half to even, as _units does).

    Raises EncodeError outside 0..327.67 m. (LaneWidth has no element in _units yet.)
    """
    if not math.isfinite(width_m):
        raise EncodeError(f"{field}: value {width_m!r} cannot be encoded")
    return _check_range(field, int(np.rint(width_m * 100.0)), 0, 32767)


@functools.lru_cache(maxsize=64)  # a run meets one or two years; decoding asks per frame
def _year_start_ns(year: int) -> int:
    return (_dt.datetime(year, 1, 1, tzinfo=_dt.UTC) - _EPOCH) // _dt.timedelta(microseconds=1) \
        * 1000


def _now_ns(now_ns: int | None) -> int:
    if now_ns is not None:
        return int(now_ns)
    import time  # the wall clock only picks the year / minute when the caller gives none

    return time.time_ns()


@functools.lru_cache(maxsize=1024)  # the frames of one step share their times and receiver clock
def _resolve_moy(moy: int, ms: int, ref_ns: int) -> int | None:
    """UTC [ns] of (MinuteOfTheYear, ms within the minute) nearest to ``ref_ns``; None when
    moy is the invalid value."""
    if moy >= u.MINUTE_OF_THE_YEAR_INVALID:
        return None
    year = (_EPOCH + _dt.timedelta(microseconds=ref_ns // 1000)).year
    best: int | None = None
    for y in (year - 1, year, year + 1):
        start = _year_start_ns(y)
        if moy * _NS_PER_MIN >= _year_start_ns(y + 1) - start:
            continue  # minute 525600.. exists in leap years only
        cand = start + moy * _NS_PER_MIN + ms * _NS_PER_MS
        if best is None or abs(cand - ref_ns) < abs(best - ref_ns):
            best = cand
    return best


@functools.lru_cache(maxsize=1024)  # as _resolve_moy
def _resolve_dsecond(ms: int, ref_ns: int) -> int:
    """UTC [ns] of a DSecond (ms within the minute) nearest to ``ref_ns``."""
    minute = ref_ns // _NS_PER_MIN
    cands = [(minute + d) * _NS_PER_MIN + ms * _NS_PER_MS for d in (-1, 0, 1)]
    return min(cands, key=lambda c: abs(c - ref_ns))


# =========================================================================== positions

_LL_FORMS = (("position-LL1", 2047), ("position-LL2", 8191), ("position-LL3", 32767),
             ("position-LL4", 131071), ("position-LL5", 2097151), ("position-LL6", 8388607))
_LL_HI = dict(_LL_FORMS)
_V_FORMS = (("offset1", 63), ("offset2", 127), ("offset3", 255), ("offset4", 511),
            ("offset5", 1023), ("offset6", 2047))
_V_HI = dict(_V_FORMS)


@dataclass(frozen=True)
class _Ref:
    """A reference position in standard units (elev None = absent or unknown)."""

    lat: int
    lon: int
    elev: int | None


def _pos3d(field: str, p: Position3D) -> dict[str, int]:
    out = {"lat": _i(u.encode_latitude(p.lat_deg)), "long": _i(u.encode_longitude(p.lon_deg))}
    if p.elevation_m is not None:
        out["elevation"] = _i(u.encode_elevation(p.elevation_m))
    return out


def _ref(d: dict[str, int]) -> _Ref:
    e = d.get("elevation")
    return _Ref(d["lat"], d["long"], None if e in (None, u.ELEVATION_UNAVAILABLE) else e)


def _unpos3d(d: dict[str, Any]) -> Position3D:
    e = d.get("elevation")
    elev = None if e is None or e == u.ELEVATION_UNAVAILABLE else _f(u.decode_elevation(e))
    return Position3D(_f(u.decode_latitude(d["lat"])), _f(u.decode_longitude(d["long"])), elev)


def _offset_llv(form: _Form, ref: _Ref, p: Position3D) -> dict[str, Any]:
    """PositionOffsetLLV of ``p`` from ``ref``: the shortest OffsetLL / VerticalOffset that
    holds both deltas, ``position-LatLon`` (absolute) when none does."""
    lat = _i(u.encode_latitude(p.lat_deg))
    lon = _i(u.encode_longitude(p.lon_deg))
    dlat, dlon = lat - ref.lat, lon - ref.lon
    m = max(dlat, dlon, -dlat - 1, -dlon - 1)  # the larger magnitude in two's complement
    ll = form.choice("position-LatLon", {"lon": lon, "lat": lat})
    if lat != u.LATITUDE_UNAVAILABLE and lon != u.LONGITUDE_UNAVAILABLE:
        for name, hi in _LL_FORMS:
            if m <= hi:
                ll = form.choice(name, {"lon": dlon, "lat": dlat})
                break
    out: dict[str, Any] = {"offsetLL": ll}
    if p.elevation_m is not None:
        e = _i(u.encode_elevation(p.elevation_m))
        v = form.choice("elevation", e)
        if ref.elev is not None and e != u.ELEVATION_UNAVAILABLE:
            d = e - ref.elev
            for name, hi in _V_FORMS:
                if -hi - 1 <= d <= hi:
                    v = form.choice(name, d)
                    break
        out["offsetV"] = v
    return out


def _unoffset_llv(form: _Form, ref: _Ref, d: dict[str, Any]) -> Position3D:
    name, ll = form.unchoice(d["offsetLL"])
    if name == "position-LatLon":
        lat, lon = ll["lat"], ll["lon"]
    elif name in _LL_HI:
        lat, lon = ref.lat + ll["lat"], ref.lon + ll["lon"]
    else:
        raise DecodeError(f"offsetLL: unknown alternative {name!r}")
    elev = None
    if "offsetV" in d:
        vname, v = form.unchoice(d["offsetV"])
        if vname == "elevation":
            e = v
        elif vname in _V_HI:
            if ref.elev is None:
                raise DecodeError("offsetV: a relative elevation needs a reference elevation")
            e = ref.elev + v
        else:
            raise DecodeError(f"offsetV: unknown alternative {vname!r}")
        elev = None if e == u.ELEVATION_UNAVAILABLE else _f(u.decode_elevation(e))
    return Position3D(_f(u.decode_latitude(lat)), _f(u.decode_longitude(lon)), elev)


# =========================================================================== BSM


_TRANSMISSION = ("neutral", "park", "forwardGears", "reverseGears", "reserved1", "reserved2",
                 "reserved3", "unavailable")
_PEDAL = ("unavailable", "off", "on")
_TRI = ("unavailable", "off", "on", "engaged")
_AUX = ("unavailable", "off", "on", "reserved")
_RESPONSE = ("notInUseOrNotEquipped", "emergency", "nonEmergency", "pursuit", "stationary",
             "slowMoving", "stopAndGoMovement")
_SIREN = ("unavailable", "notInUse", "inUse", "reserved")
_LIGHTBAR = ("unavailable", "notInUse", "inUse", "yellowCautionLights", "schooldBusLights",
             "arrowSignsActive", "slowMovingVehicle", "freqStops")
_BRAKE_FIELDS = (("brake_pedal", "brakePadel", _PEDAL), ("traction", "traction", _TRI),
                 ("abs", "abs", _TRI), ("scs", "scs", _TRI),
                 ("brake_boost", "brakeBoost", _PEDAL), ("aux_brakes", "auxBrakes", _AUX))


def _enum_index(field: str, names: Sequence[str], name: str) -> int:
    try:
        return names.index(name)
    except ValueError:
        raise DecodeError(f"{field}: unknown value {name!r}") from None


def _accel_set(long: float, lat: float, vert: float, yaw: float) -> dict[str, int]:
    return {"long": _i(u.encode_acceleration(long)), "lat": _i(u.encode_acceleration(lat)),
            "vert": _i(u.encode_vertical_acceleration(vert)), "yaw": _i(u.encode_yaw_rate(yaw))}


def _unaccel_set(d: dict[str, int]) -> tuple[float, float, float, float]:
    return (_f(u.decode_acceleration(d["long"])), _f(u.decode_acceleration(d["lat"])),
            _f(u.decode_vertical_acceleration(d["vert"])), _f(u.decode_yaw_rate(d["yaw"])))


def _size(width: float, length: float, height: float | None) -> dict[str, int]:
    out = {"width": _i(u.encode_vehicle_width(width)),
           "length": _i(u.encode_vehicle_length(length))}
    if height is not None:
        out["height"] = _i(u.encode_vehicle_height(height))
    return out


def _unsize(d: dict[str, int]) -> tuple[float, float, float | None]:
    h = d.get("height")
    return (_f(u.decode_vehicle_width(d["width"])), _f(u.decode_vehicle_length(d["length"])),
            None if h is None else _f(u.decode_vehicle_height(h)))


def _bsm(form: _Form, m: Bsm) -> dict[str, Any]:
    pos = {"lat": _i(u.encode_latitude(m.lat_deg)), "long": _i(u.encode_longitude(m.lon_deg))}
    if m.elevation_m is not None:
        pos["elevation"] = _i(u.encode_elevation(m.elevation_m))
    brakes: dict[str, Any] = {}
    b = m.brakes
    for attr, key, names in _BRAKE_FIELDS:
        v = getattr(b, attr)
        if v is not None:
            brakes[key] = names[v]
    if b.wheel_brakes is not None:
        brakes["wheelBrakes"] = form.bits(b.wheel_brakes, 5)
    vclass: dict[str, Any] = {"classification": m.classification}
    if m.fuel_type is not None:
        vclass["fuelType"] = m.fuel_type
    out: dict[str, Any] = {
        "msgCnt": m.msg_cnt, "id": form.octets(m.id), "secMark": _i(u.encode_dsecond(m.sec_mark_s)),
        "pos": pos, "transmission": _TRANSMISSION[m.transmission],
        "speed": _i(u.encode_speed(m.speed_mps)), "heading": _i(u.encode_heading(m.heading_deg)),
        "accelSet": _accel_set(m.accel_long_mps2, m.accel_lat_mps2, m.accel_vert_mps2,
                               m.yaw_rate_dps),
        "brakes": brakes, "size": _size(m.width_m, m.length_m, m.height_m),
        "vehicleClass": vclass,
    }
    if m.events is not None or m.lights is not None:
        ext: dict[str, Any] = {}
        if m.events is not None:
            ext["events"] = form.bits(int(m.events), 13)
        if m.lights is not None:
            ext["lights"] = form.bits(m.lights, 9)
        out["safetyExt"] = ext
    if m.emergency is not None:
        e = m.emergency
        emg: dict[str, Any] = {}
        if e.response_type is not None:
            emg["responseType"] = _RESPONSE[e.response_type]
        if e.siren_use is not None:
            emg["sirenUse"] = _SIREN[e.siren_use]
        if e.lights_use is not None:
            emg["lightsUse"] = _LIGHTBAR[e.lights_use]
        out["emergencyExt"] = emg
    return out


def _unbsm(form: _Form, d: dict[str, Any], now_ns: int | None) -> Bsm:
    pos = d["pos"]
    e = pos.get("elevation")
    acc = _unaccel_set(d["accelSet"])
    w, length, h = _unsize(d["size"])
    br = d["brakes"]
    brakes = BrakeSystemStatus(
        wheel_brakes=form.unbits(br["wheelBrakes"]) if "wheelBrakes" in br else None,
        **{attr: _enum_index(f"brakes.{key}", names, br[key])
           for attr, key, names in _BRAKE_FIELDS if key in br})
    ext = d.get("safetyExt", {})
    emg = d.get("emergencyExt")
    emergency = None
    if emg is not None:
        rt = emg.get("responseType")
        emergency = EmergencyExtensions(
            response_type=None if rt is None else (_RESPONSE.index(rt) if rt in _RESPONSE
                                                   else 0),
            siren_use=_enum_index("sirenUse", _SIREN, emg["sirenUse"]) if "sirenUse" in emg
            else None,
            lights_use=_enum_index("lightsUse", _LIGHTBAR, emg["lightsUse"])
            if "lightsUse" in emg else None)
    vclass = d["vehicleClass"]
    events = ext.get("events")
    return Bsm(
        msg_cnt=d["msgCnt"], id=form.unoctets(d["id"]),
        sec_mark_s=_f(u.decode_dsecond(d["secMark"])),
        lat_deg=_f(u.decode_latitude(pos["lat"])), lon_deg=_f(u.decode_longitude(pos["long"])),
        elevation_m=None if e is None else _f(u.decode_elevation(e)),
        transmission=TransmissionState(_enum_index("transmission", _TRANSMISSION,
                                                   d["transmission"])),
        speed_mps=_f(u.decode_speed(d["speed"])), heading_deg=_f(u.decode_heading(d["heading"])),
        accel_long_mps2=acc[0], accel_lat_mps2=acc[1], accel_vert_mps2=acc[2],
        yaw_rate_dps=acc[3], width_m=w, length_m=length, height_m=h, brakes=brakes,
        classification=vclass["classification"], fuel_type=vclass.get("fuelType"),
        # an extended VehicleEventFlags (more than 13 bits) keeps its root bits only
        events=None if events is None else VehicleEventFlags(form.unbits(events) & 0x1FFF),
        lights=None if "lights" not in ext else form.unbits(ext["lights"]) & 0x1FF,
        emergency=emergency,
    )


# =========================================================================== MAP

_SPEED_LIMIT_NAMES = (
    "unknown", "maxSpeedInSchoolZone", "maxSpeedInSchoolZoneWhenChildrenArePresent",
    "maxSpeedInConstructionZone", "vehicleMinSpeed", "vehicleMaxSpeed", "vehicleNightMaxSpeed",
    "truckMinSpeed", "truckMaxSpeed", "truckNightMaxSpeed", "vehiclesWithTrailersMinSpeed",
    "vehiclesWithTrailersMaxSpeed", "vehiclesWithTrailersNightMaxSpeed")


def _node_id(n: NodeReferenceId) -> dict[str, int]:
    out = {"id": n.id}
    if n.region is not None:
        out["region"] = n.region
    return out


def _unnode_id(d: dict[str, int]) -> NodeReferenceId:
    return NodeReferenceId(d["id"], d.get("region"))


def _points(form: _Form, ref: _Ref, points: tuple[Position3D, ...]) -> list[dict[str, Any]]:
    return [{"posOffset": _offset_llv(form, ref, p)} for p in points]


def _unpoints(form: _Form, ref: _Ref, pts: list[dict[str, Any]]) -> tuple[Position3D, ...]:
    return tuple(_unoffset_llv(form, ref, p["posOffset"]) for p in pts)


def _speed_limits(limits: tuple[SpeedLimit, ...]) -> list[dict[str, Any]]:
    return [{"type": _SPEED_LIMIT_NAMES[s.type], "speed": _i(u.encode_speed(s.speed_mps))}
            for s in limits]


def _unspeed_limits(lst: list[dict[str, Any]]) -> tuple[SpeedLimit, ...]:
    return tuple(SpeedLimit(SpeedLimitType(_enum_index("speedLimits.type", _SPEED_LIMIT_NAMES,
                                                       s["type"])),
                            _f(u.decode_speed(s["speed"]))) for s in lst)


def _lane(form: _Form, ref: _Ref, lane: MapLane) -> dict[str, Any]:
    d: dict[str, Any] = {"laneID": lane.lane_id}
    if lane.lane_width_m is not None:
        d["laneWidth"] = _cm("Lane.laneWidth", lane.lane_width_m)
    if lane.maneuvers is not None:
        d["maneuvers"] = form.bits(int(lane.maneuvers), 12)
    if lane.connects_to:
        conns = []
        for c in lane.connects_to:
            cd: dict[str, Any] = {"remoteIntersection": _node_id(c.remote_intersection)}
            if c.connecting_lane is not None:
                cl: dict[str, Any] = {"lane": c.connecting_lane.lane}
                if c.connecting_lane.maneuver is not None:
                    cl["maneuver"] = form.bits(int(c.connecting_lane.maneuver), 12)
                cd["connectingLane"] = cl
            if c.phase_id is not None:
                cd["phaseId"] = c.phase_id
            conns.append(cd)
        d["connectsTo"] = conns
    if lane.points:
        d["points"] = _points(form, ref, lane.points)
    return d


def _unlane(form: _Form, ref: _Ref, d: dict[str, Any]) -> MapLane:
    conns = []
    for cd in d.get("connectsTo", ()):
        cl = cd.get("connectingLane")
        conns.append(Connection(
            _unnode_id(cd["remoteIntersection"]),
            None if cl is None else ConnectingLane(
                cl["lane"], None if "maneuver" not in cl
                else AllowedManeuvers(form.unbits(cl["maneuver"]))),
            cd.get("phaseId")))
    w = d.get("laneWidth")
    return MapLane(
        lane_id=d["laneID"], lane_width_m=None if w is None else w / 100.0,
        maneuvers=None if "maneuvers" not in d else AllowedManeuvers(form.unbits(d["maneuvers"])),
        connects_to=tuple(conns), points=_unpoints(form, ref, d.get("points", ())))


def _link(form: _Form, ref: _Ref, link: MapLink) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if link.name is not None:
        d["name"] = link.name
    d["upstreamNodeId"] = _node_id(link.upstream_node_id)
    if link.speed_limits:
        d["speedLimits"] = _speed_limits(link.speed_limits)
    if link.link_width_m is not None:
        d["linkWidth"] = _cm("Link.linkWidth", link.link_width_m)
    if link.points:
        d["points"] = _points(form, ref, link.points)
    if link.movements:
        d["movements"] = [{"remoteIntersection": _node_id(m.remote_intersection),
                           **({"phaseId": m.phase_id} if m.phase_id is not None else {})}
                          for m in link.movements]
    d["lanes"] = [_lane(form, ref, lane) for lane in link.lanes]
    return d


def _unlink(form: _Form, ref: _Ref, d: dict[str, Any]) -> MapLink:
    w = d.get("linkWidth")
    return MapLink(
        upstream_node_id=_unnode_id(d["upstreamNodeId"]),
        lanes=tuple(_unlane(form, ref, ld) for ld in d["lanes"]),
        speed_limits=_unspeed_limits(d.get("speedLimits", [])),
        link_width_m=None if w is None else w / 100.0,
        points=_unpoints(form, ref, d.get("points", ())),
        movements=tuple(Movement(_unnode_id(m["remoteIntersection"]), m.get("phaseId"))
                        for m in d.get("movements", ())),
        name=d.get("name"))


def _map(form: _Form, m: MapData) -> dict[str, Any]:
    out: dict[str, Any] = {"msgCnt": m.msg_cnt}
    if m.timestamp_ns is not None:
        out["timeStamp"] = _moy_sec(int(m.timestamp_ns))[0]
    nodes = []
    for n in m.nodes:
        nd: dict[str, Any] = {}
        if n.name is not None:
            nd["name"] = n.name
        nd["id"] = _node_id(n.id)
        nd["refPos"] = _pos3d("Node.refPos", n.ref_pos)
        if n.in_links:
            ref = _ref(nd["refPos"])
            nd["inLinks"] = [_link(form, ref, link) for link in n.in_links]
        nodes.append(nd)
    out["nodes"] = nodes
    return out


def _unmap(form: _Form, d: dict[str, Any], now_ns: int | None) -> MapData:
    nodes = []
    for nd in d["nodes"]:
        ref = _ref(nd["refPos"])
        nodes.append(MapNode(
            id=_unnode_id(nd["id"]), ref_pos=_unpos3d(nd["refPos"]),
            in_links=tuple(_unlink(form, ref, ld) for ld in nd.get("inLinks", ())),
            name=nd.get("name")))
    ts = None
    if "timeStamp" in d:
        ts = _resolve_moy(d["timeStamp"], 0, _now_ns(now_ns))
    return MapData(msg_cnt=d["msgCnt"], nodes=tuple(nodes), timestamp_ns=ts)


# =========================================================================== SPAT

_LIGHT_NAMES = tuple(LIGHT_STATE_NAMES[LightState(k)] for k in range(9))


def _timing(t: TimeCountingDown) -> dict[str, Any]:
    out: dict[str, Any] = {"startTime": _tm(t.start_time_ns),
                           "likelyEndTime": _tm(t.likely_end_time_ns)}
    for attr, key in (("min_end_time_ns", "minEndTime"), ("max_end_time_ns", "maxEndTime")):
        if getattr(t, attr) is not None:
            out[key] = _tm(getattr(t, attr))
    if t.time_confidence is not None:
        out["timeConfidence"] = t.time_confidence
    for attr, key in (("next_start_time_ns", "nextStartTime"),
                      ("next_duration_ns", "nextDuration")):
        if getattr(t, attr) is not None:
            out[key] = _tm(getattr(t, attr))
    return out


def _untm(v: int | None) -> int | None:
    """TimeMark (0.1 s from now) -> [ns]; 36001 (unknown) and absent -> None; 36000 ("an hour
    or more") -> 3600 s, which encodes to 36000 again."""
    if v is None or v == u.TIME_MARK_UNKNOWN:
        return None
    if not isinstance(v, int):  # JSON text or a list here would be repeated, not scaled
        raise DecodeError(f"TimeMark: expected an integer, got {reprlib.repr(v)}")
    return v * _NS_PER_DS


def _untiming(form: _Form, x: Any) -> TimeCountingDown:
    name, t = form.unchoice(x)
    if name != "counting":
        raise DecodeError(f"PhaseState.timing: only the counting mode is supported, got {name!r}")
    start = _untm(t["startTime"])
    return TimeCountingDown(
        start_time_ns=0 if start is None else start,
        likely_end_time_ns=_untm(t["likelyEndTime"]),
        min_end_time_ns=_untm(t.get("minEndTime")), max_end_time_ns=_untm(t.get("maxEndTime")),
        next_start_time_ns=_untm(t.get("nextStartTime")),
        next_duration_ns=_untm(t.get("nextDuration")),
        time_confidence=t.get("timeConfidence"))


def _spat(form: _Form, s: Spat) -> dict[str, Any]:
    out: dict[str, Any] = {"msgCnt": s.msg_cnt}
    if s.timestamp_ns is not None:
        out["moy"], out["timeStamp"] = _moy_sec(int(s.timestamp_ns))
    if s.name is not None:
        out["name"] = s.name
    inters = []
    for it in s.intersections:
        d: dict[str, Any] = {"intersectionId": _node_id(it.intersection_id),
                             "status": form.bits(int(it.status), 16)}
        if it.timestamp_ns is not None:
            d["timeStamp"] = _moy_sec(int(it.timestamp_ns))[1]
        d["phases"] = [{"id": p.id, "phaseStates": [
            {"light": _LIGHT_NAMES[st.light],
             **({"timing": form.choice("counting", _timing(st.timing))}
                if st.timing is not None else {})}
            for st in p.states]} for p in it.phases]
        inters.append(d)
    out["intersections"] = inters
    return out


def _parse_phase(form: _Form, p: dict[str, Any]) -> Phase:
    return Phase(p["id"], tuple(
        PhaseState(LightState(_enum_index("light", _LIGHT_NAMES, st["light"])),
                   _untiming(form, st["timing"]) if "timing" in st else None)
        for st in p["phaseStates"]))


#: parsed phases by (form, their decoded value as a tuple): the phases of a SPAT repeat
#: across the RSUs of one signal program and across steps (Phase values are immutable)
_PHASES: dict[tuple[Any, ...], Phase] = {}
_PHASES_MAX = 100_000


def _phase_key(form: _Form, p: dict[str, Any]) -> tuple[Any, ...] | None:
    """A hashable image of a decoded Phase value (equal keys: equal values), or None for a
    value of another form than asn1tools' counting timings."""
    key: list[Any] = [form, p.get("id")]
    if len(p) != 2:
        return None
    for st in p["phaseStates"]:
        if not isinstance(st, dict):
            return None
        timing = st.get("timing")
        if timing is None:
            if len(st) != 1:
                return None
            key.append(st.get("light"))
        elif isinstance(timing, tuple) and len(st) == 2 and isinstance(timing[1], dict):
            key += (st.get("light"), timing[0], *timing[1].items(), None)
        else:
            return None
    return tuple(key)


def _unphase(form: _Form, p: dict[str, Any]) -> Phase:
    """``Phase`` of a decoded value (:func:`_parse_phase`), memoized in :data:`_PHASES`."""
    key = _phase_key(form, p)
    if key is None:
        return _parse_phase(form, p)
    got = _PHASES.get(key)
    if got is None:
        got = _parse_phase(form, p)  # raises for a bad value: nothing memoized
        if len(_PHASES) >= _PHASES_MAX:
            _PHASES.clear()
        _PHASES[key] = got
    return got


def _spat_times(moy: int | None, ms: int | None, intersection_ms: Sequence[int | None],
                now_ns: int | None) -> tuple[int | None, list[int | None]]:
    """UTC [ns] of a SPAT's timestamp and of each intersection's, from the message's
    MinuteOfTheYear and DSecond and each intersection's DSecond (``None``: absent), placed
    nearest to the receiver's time ``now_ns`` (the wall clock when ``None``); an intersection's
    DSecond is placed nearest to the message's timestamp when there is one. A DSecond >=
    60000 is unknown; ``None`` where a time is absent or unknown."""
    ref = _now_ns(now_ns) if now_ns is not None or moy is not None or ms is not None else 0
    ts: int | None = None
    if ms is not None and ms >= 60_000:
        ms = None  # unknown
    if moy is not None:
        ts = _resolve_moy(moy, 0 if ms is None else ms, ref)
    elif ms is not None:
        ts = _resolve_dsecond(ms, ref)
    inter_ts: list[int | None] = []
    for its in intersection_ms:
        if its is not None and its < 60_000:
            inter_ts.append(_resolve_dsecond(its, ts if ts is not None else _now_ns(now_ns)))
        else:
            inter_ts.append(None)
    return ts, inter_ts


def _unspat(form: _Form, d: dict[str, Any], now_ns: int | None) -> Spat:
    stamps = [d.get("moy", 0), d.get("timeStamp", 0),
              *(it.get("timeStamp", 0) for it in d["intersections"])]
    if None in stamps:  # a JSON null is not an absent member
        raise DecodeError("SPAT: moy and timeStamp must be integers when present")
    ts, inter_ts = _spat_times(d.get("moy"), d.get("timeStamp"),
                               [it.get("timeStamp") for it in d["intersections"]], now_ns)
    inters = []
    for it, its in zip(d["intersections"], inter_ts, strict=True):
        phases = tuple(_unphase(form, p) for p in it["phases"])
        inters.append(IntersectionState(
            intersection_id=_unnode_id(it["intersectionId"]),
            status=IntersectionStatus(form.unbits(it["status"]) & 0x3FFF), phases=phases,
            timestamp_ns=its))
    return Spat(msg_cnt=d["msgCnt"], intersections=tuple(inters), timestamp_ns=ts,
                name=d.get("name"))


# =========================================================================== RSI

_EVENT_SOURCES = ("unknown", "police", "government", "meteorological", "internet", "detection")


def _description(form: _Form, text: str) -> Any:
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        try:
            raw = text.encode("gb2312")
        except UnicodeEncodeError as exc:
            raise EncodeError(f"description: {text!r} is neither ASCII nor GB2312") from exc
        if not 2 <= len(raw) <= 512:
            raise EncodeError(f"description: {len(raw)} GB2312 bytes, not 2..512") from None
        return form.choice("textGB2312", form.octets(raw))
    return form.choice("textString", text)


def _undescription(form: _Form, x: Any) -> str:
    name, v = form.unchoice(x)
    if name == "textString":
        return str(v)
    if name == "textGB2312":
        try:
            return form.unoctets(v).decode("gb2312")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"description: bad GB2312 text {v!r}") from exc
    raise DecodeError(f"description: unknown alternative {name!r}")


def _moy(ts_ns: int) -> int:
    return _moy_sec(int(ts_ns))[0]


def _rsi_item(form: _Form, ref: _Ref, it: RoadTrafficEvent | RoadTrafficSign) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if it.description is not None:
        d["description"] = _description(form, it.description)
    if it.start_ns is not None or it.end_ns is not None:
        td: dict[str, int] = {}
        if it.start_ns is not None:
            td["startTime"] = _moy(it.start_ns)
        if it.end_ns is not None:
            td["endTime"] = _moy(it.end_ns)
        d["timeDetails"] = td
    if it.priority is not None:
        d["priority"] = form.octets(bytes([it.priority << 5]))
    if it.reference_paths:
        d["referencePaths"] = [
            {"activePath": [_offset_llv(form, ref, p) for p in rp.points],
             "pathRadius": _check_range("ReferencePath.pathRadius",
                                        int(np.rint(rp.radius_m * 10.0)), 0, 65535)}
            for rp in it.reference_paths]
    if it.reference_links:
        d["referenceLinks"] = [
            {"upstreamNodeId": _node_id(rl.upstream_node_id),
             "downstreamNodeId": _node_id(rl.downstream_node_id),
             **({"referenceLanes": form.bits(rl.lanes, 16)} if rl.lanes is not None else {})}
            for rl in it.reference_links]
    return d


def _unrsi_item(form: _Form, ref: _Ref, d: dict[str, Any], now: int) -> dict[str, Any]:
    td = d.get("timeDetails", {})
    return {
        "description": _undescription(form, d["description"]) if "description" in d else None,
        "start_ns": _resolve_moy(td["startTime"], 0, now) if "startTime" in td else None,
        "end_ns": _resolve_moy(td["endTime"], 0, now) if "endTime" in td else None,
        "priority": form.unoctets(d["priority"])[0] >> 5 if "priority" in d else None,
        "reference_paths": tuple(
            ReferencePath(tuple(_unoffset_llv(form, ref, p) for p in rp["activePath"]),
                          rp["pathRadius"] / 10.0) for rp in d.get("referencePaths", ())),
        "reference_links": tuple(
            ReferenceLink(_unnode_id(rl["upstreamNodeId"]), _unnode_id(rl["downstreamNodeId"]),
                          form.unbits(rl["referenceLanes"]) if "referenceLanes" in rl
                          else None) for rl in d.get("referenceLinks", ())),
    }


def _rsi(form: _Form, m: Rsi) -> dict[str, Any]:
    out: dict[str, Any] = {"msgCnt": m.msg_cnt}
    if m.timestamp_ns is not None:
        out["moy"] = _moy(m.timestamp_ns)
    out["id"] = form.octets(m.id)
    out["refPos"] = _pos3d("Rsi.refPos", m.ref_pos)
    ref = _ref(out["refPos"])
    if m.events:
        rtes = []
        for e in m.events:
            d: dict[str, Any] = {"rteId": e.rte_id, "eventType": e.event_type,
                                 "eventSource": _EVENT_SOURCES[e.source]}
            if e.pos is not None:
                d["eventPos"] = _offset_llv(form, ref, e.pos)
            if e.radius_m is not None:
                d["eventRadius"] = _check_range("RTEData.eventRadius",
                                                int(np.rint(e.radius_m * 10.0)), 0, 65535)
            d.update(_rsi_item(form, ref, e))
            if e.confidence is not None:
                d["eventConfidence"] = e.confidence
            rtes.append(d)
        out["rtes"] = rtes
    if m.signs:
        rtss = []
        for s in m.signs:
            d = {"rtsId": s.rts_id, "signType": s.sign_type}
            if s.pos is not None:
                d["signPos"] = _offset_llv(form, ref, s.pos)
            d.update(_rsi_item(form, ref, s))
            rtss.append(d)
        out["rtss"] = rtss
    return out


def _unrsi(form: _Form, d: dict[str, Any], now_ns: int | None) -> Rsi:
    ref = _ref(d["refPos"])
    need_now = "moy" in d or any("timeDetails" in x
                                 for x in [*d.get("rtes", ()), *d.get("rtss", ())])
    now = _now_ns(now_ns) if need_now else 0
    events = tuple(RoadTrafficEvent(
        rte_id=e["rteId"], event_type=e["eventType"],
        source=EventSource(_enum_index("eventSource", _EVENT_SOURCES, e["eventSource"])),
        pos=_unoffset_llv(form, ref, e["eventPos"]) if "eventPos" in e else None,
        radius_m=e["eventRadius"] / 10.0 if "eventRadius" in e else None,
        confidence=e.get("eventConfidence"), **_unrsi_item(form, ref, e, now))
        for e in d.get("rtes", ()))
    signs = tuple(RoadTrafficSign(
        rts_id=s["rtsId"], sign_type=s["signType"],
        pos=_unoffset_llv(form, ref, s["signPos"]) if "signPos" in s else None,
        **_unrsi_item(form, ref, s, now)) for s in d.get("rtss", ()))
    return Rsi(msg_cnt=d["msgCnt"], id=form.unoctets(d["id"]), ref_pos=_unpos3d(d["refPos"]),
               events=events, signs=signs,
               timestamp_ns=_resolve_moy(d["moy"], 0, now) if "moy" in d else None)


# =========================================================================== RSM

_PTC_TYPES = ("unknown", "motor", "non-motor", "pedestrian", "rsu")
_SOURCES = ("unknown", "selfinfo", "v2x", "video", "microwaveRadar", "loop", "lidar",
            "integrated")
_POS_CONFIDENCE = ("unavailable", "a500m", "a200m", "a100m", "a50m", "a20m", "a10m", "a5m",
                   "a2m", "a1m", "a50cm", "a20cm", "a10cm", "a5cm", "a2cm", "a1cm")


def _rsm(form: _Form, m: Rsm) -> dict[str, Any]:
    refpos = _pos3d("Rsm.refPos", m.ref_pos)
    ref = _ref(refpos)
    parts = []
    for p in m.participants:
        d: dict[str, Any] = {"ptcType": _PTC_TYPES[p.ptc_type], "ptcId": p.ptc_id,
                             "source": _SOURCES[p.source]}
        if p.id is not None:
            d["id"] = form.octets(p.id)
        d["secMark"] = _i(u.encode_dsecond(p.sec_mark_s))
        d["pos"] = _offset_llv(form, ref, p.pos)
        d["posConfidence"] = {"pos": _POS_CONFIDENCE[p.pos_confidence]}
        d["speed"] = _i(u.encode_speed(p.speed_mps))
        d["heading"] = _i(u.encode_heading(p.heading_deg))
        if p.accel is not None:
            d["accelSet"] = _accel_set(*p.accel)
        d["size"] = _size(p.width_m, p.length_m, p.height_m)
        if p.classification is not None:
            d["vehicleClass"] = {"classification": p.classification}
        parts.append(d)
    return {"msgCnt": m.msg_cnt, "id": form.octets(m.id), "refPos": refpos,
            "participants": parts}


def _unrsm(form: _Form, d: dict[str, Any], now_ns: int | None) -> Rsm:
    ref = _ref(d["refPos"])
    parts = []
    for p in d["participants"]:
        w, length, h = _unsize(p["size"])
        parts.append(Participant(
            ptc_type=ParticipantType(_enum_index("ptcType", _PTC_TYPES, p["ptcType"])),
            ptc_id=p["ptcId"], source=SourceType(_enum_index("source", _SOURCES, p["source"])),
            id=form.unoctets(p["id"]) if "id" in p else None,
            sec_mark_s=_f(u.decode_dsecond(p["secMark"])),
            pos=_unoffset_llv(form, ref, p["pos"]),
            pos_confidence=_enum_index("posConfidence", _POS_CONFIDENCE,
                                       p["posConfidence"]["pos"]),
            speed_mps=_f(u.decode_speed(p["speed"])),
            heading_deg=_f(u.decode_heading(p["heading"])),
            accel=_unaccel_set(p["accelSet"]) if "accelSet" in p else None,
            width_m=w, length_m=length, height_m=h,
            classification=p["vehicleClass"]["classification"] if "vehicleClass" in p else None))
    return Rsm(msg_cnt=d["msgCnt"], id=form.unoctets(d["id"]), ref_pos=_unpos3d(d["refPos"]),
               participants=tuple(parts))


# =========================================================================== frames

_BUILDERS: dict[type, tuple[str, Callable[[_Form, Any], dict[str, Any]]]] = {
    Bsm: ("bsmFrame", _bsm), MapData: ("mapFrame", _map), Spat: ("spatFrame", _spat),
    Rsi: ("rsiFrame", _rsi), Rsm: ("rsmFrame", _rsm),
}
_PARSERS: dict[str, Callable[[_Form, dict[str, Any], int | None], Any]] = {
    "bsmFrame": _unbsm, "mapFrame": _unmap, "spatFrame": _unspat, "rsiFrame": _unrsi,
    "rsmFrame": _unrsm,
}


def _frame_value(form: _Form, msg: Message) -> Any:
    if isinstance(msg, FrameExt):
        return form.choice("msgFrameExt", {"messageId": msg.message_id,
                                           "value": form.octets(msg.value)})
    try:
        name, build = _BUILDERS[type(msg)]
    except KeyError:
        raise EncodeError(f"cannot encode a {type(msg).__name__}: not a Day-1 message") from None
    try:
        return form.choice(name, build(form, msg))
    except (IndexError, ValueError, TypeError, OverflowError) as exc:
        raise EncodeError(f"{name}: {exc}") from exc


def _parse_frame(form: _Form, value: Any, now_ns: int | None) -> Message:
    name, d = form.unchoice(value)
    try:
        if name == "msgFrameExt":
            return FrameExt(d["messageId"], form.unoctets(d["value"]))
        try:
            parse = _PARSERS[name]
        except KeyError:
            if name is None:  # asn1tools' value of an extension alternative it does not know
                raise DecodeError("MessageFrame: an extension alternative after msgFrameExt, "
                                  "unknown to this codec") from None
            raise DecodeError(f"MessageFrame: unknown alternative {name!r}") from None
        return parse(form, d, now_ns)
    except DecodeError:
        raise
    except (EncodeError, KeyError, IndexError, ValueError, TypeError, AttributeError,
            OverflowError) as exc:
        # a value class refusing a decoded value, a missing member, a bad enum ...
        raise DecodeError(f"{name}: {type(exc).__name__}: {_short(str(exc))}") from exc


def encode_frame(msg: Message, *, profile: str | None = None) -> bytes:
    """The UPER bytes of a MessageFrame carrying ``msg``.

    Args:
        msg: a :class:`Bsm`, :class:`MapData`, :class:`Spat`, :class:`Rsi`, :class:`Rsm` (SI
            units) or a Day-2 :class:`FrameExt`.
        profile: the conformance profile (:data:`~v2x.msgset.PROFILES`), ``None`` for
            :data:`~v2x.msgset.DEFAULT_PROFILE`; only MAP frames differ between profiles.

    Raises EncodeError naming the field and value when a value cannot be encoded (out of the
    element's range after the sentinel / saturation rules of :mod:`v2x.messages._units`, a
    list too long, a text too long, more lane connections than the profile allows ...) or
    the frame would be longer than :data:`MAX_FRAME_BYTES`; ConfigError for an unknown
    profile.
    """
    spec = compiled_spec(profile)
    value = _frame_value(_ASN, msg)
    try:
        data = spec.encode("MessageFrame", value, check_constraints=True)
    except asn1tools.Error as exc:
        note = _profile_note(profile, str(exc)) if isinstance(msg, MapData) else ""
        raise EncodeError(f"{exc}{note}") from exc
    if len(data) > MAX_FRAME_BYTES:
        raise EncodeError(f"MessageFrame: {len(data)} bytes, more than a frame can hold "
                          f"({MAX_FRAME_BYTES})")
    return data


def _profile_note(profile: str | None, message: str) -> str:
    """What an encode or decode error of a MAP adds: the profile and its lane connectsTo
    bound, and for an error at connectsTo the profiles with a larger one."""
    p = resolve_profile(profile)
    note = f" (profile {p.name!r}: lane connectsTo SIZE (1..{p.connects_to_max}))"
    if "connectsTo" in message:
        note += "".join(f"; profile {q.name!r} allows 1..{q.connects_to_max}"
                        for q in PROFILES.values() if q.connects_to_max > p.connects_to_max)
    return note


def decode_frame(data: bytes, *, now_ns: int | None = None,
                 profile: str | None = None) -> Message:
    """Decode the UPER bytes of one MessageFrame into a value (SI units).

    Args:
        data: exactly one frame: its bits end in the last byte, followed by the 0..7 zero
            padding bits of X.691 (11.1, the complete encoding); at most
            :data:`MAX_FRAME_BYTES`.
        now_ns: the receiver's UTC time [ns since the Unix epoch], used to place
            MinuteOfTheYear in a year and DSecond in a minute (the nearest candidate wins);
            the wall clock when ``None`` (pass the simulated time for deterministic results).
        profile: the conformance profile the sender encodes with (:data:`~v2x.msgset.PROFILES`),
            ``None`` for :data:`~v2x.msgset.DEFAULT_PROFILE`; only MAP frames differ. A MAP
            that fails under it names the profile, and the profile it decodes under if any.

    Raises DecodeError, naming what failed, for any input that is not exactly one valid frame
    (not bytes, too long, truncated, bytes after the frame, non-zero padding, a value out of
    range, an unknown alternative, a construct asn1tools does not decode) or that holds a
    value the value classes refuse (e.g. an unavailable reference latitude); never another
    exception; ConfigError for an unknown profile.
    """
    return _parse_frame(_ASN, _decode_value(data, profile), now_ns)


#: largest MessageFrame [bytes] the codec decodes (and encodes): what the 2-byte length of the
#: project's frame envelope (:mod:`v2x.messages._envelope`) can carry; a longer input is
#: refused before any decoding (a Day-1 frame on PC5 is a few hundred bytes)
MAX_FRAME_BYTES = 0xFFFF


def _decode_value(data: bytes, profile: str | None = None) -> Any:
    """The asn1tools value of exactly one MessageFrame (DecodeError as :func:`decode_frame`)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"MessageFrame: a frame must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise DecodeError("MessageFrame: no bytes (an empty frame)")
    if len(data) > MAX_FRAME_BYTES:
        raise DecodeError(f"MessageFrame: {len(data)} bytes, more than a frame can hold "
                          f"({MAX_FRAME_BYTES})")
    spec = compiled_spec(profile)
    try:
        return _decode_exact(spec, data)
    except DecodeError as exc:
        if data[0] >> 4 != _MAP_HEAD:
            raise
        raise DecodeError(f"{exc}{_profile_note(profile, str(exc))}"
                          f"{_other_profiles(data, profile)}") from exc.__cause__


#: the first 4 bits of a MAP frame: MessageFrame's extension bit 0, root alternative 1 of 0..4
_MAP_HEAD = 1


def _other_profiles(data: bytes, profile: str | None) -> str:
    """For a MAP that failed under ``profile``: the other profiles it decodes under, as the
    end of the error message ("" when none)."""
    name = resolve_profile(profile).name
    fits = []
    for other in PROFILES.values():
        if other.name == name:
            continue
        try:
            _decode_exact(compiled_spec(other.name), data)
        except DecodeError:
            continue
        fits.append(f"{other.name!r} (lane connectsTo SIZE (1..{other.connects_to_max}), "
                    f"{other.summary.split(', ', 1)[-1]})")
    if not fits:
        return ""
    return (f"; it decodes under profile {' and '.join(fits)}: the sender encodes with that "
            f"profile")


def _decode_exact(spec: Any, data: bytes) -> Any:
    """Decode ``data`` as one MessageFrame with the compiled ``spec``, constraints checked, and
    check that the frame spans the whole input: asn1tools stops where the value ends and
    ignores what follows, so its decoder's bit count says where the frame ended; the rest of
    the last byte is the X.691 padding (11.1, "production of the complete encoding"; 10.1.3
    in the 2002 edition: the UNALIGNED fields are followed by zero to seven zero bits up to an
    octet boundary), and no byte may follow. X.691 tells encoders to write zeros there and
    says nothing of decoders; we refuse other bits, as the sign of a frame whose length is not
    what its sender meant (a conformance test should see that, not decode past it).

    Raises DecodeError naming the failing field (asn1tools' location) or the trailing data;
    every exception of asn1tools is mapped (it raises NotImplementedError, IndexError, ...
    for some corrupt inputs), with the cause chained.
    """
    compiled = spec._types["MessageFrame"]  # asn1tools internals: its decode() hides the
    decoder = _uper_codec.Decoder(bytearray(data))  # decoder, and with it the bit count
    try:
        try:
            value = compiled._type.decode(decoder)
        except _ErrorWithLocation as exc:
            exc.add_location(compiled._type)  # as CompiledType.decode does
            raise
        compiled.check_constraints(value)
    except asn1tools.Error as exc:
        raise DecodeError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - any failure of the foreign decoder is bad bytes
        raise DecodeError(f"MessageFrame: at bit {decoder.number_of_read_bits()}: "
                          f"{type(exc).__name__}: {_short(str(exc))}") from exc
    bits = decoder.number_of_read_bits()
    nbytes = (bits + 7) // 8
    if len(data) > nbytes:
        extra = len(data) - nbytes
        raise DecodeError(f"MessageFrame: {extra} byte{'s' if extra > 1 else ''} after the end "
                          f"of the frame ({bits} bits in {nbytes} bytes, {len(data)} given)")
    pad = 8 * nbytes - bits
    if data[-1] & ((1 << pad) - 1):
        raise DecodeError(f"MessageFrame: the {pad} padding bits after the frame's {bits} bits "
                          f"are not zero (X.691 11.1: zero bits up to the octet boundary)")
    return value


def frame_to_json(msg: Message, *, profile: str | None = None) -> dict[str, Any]:
    """The JSON form of the MessageFrame carrying ``msg``: ``{"bsmFrame": {...}}`` with the
    ASN.1 field names and the standard's units (see the module docstring); raises
    EncodeError as :func:`encode_frame` (the value is checked against the ASN.1 constraints of
    ``profile`` by encoding it once; the JSON form is the same in every profile)."""
    encode_frame(msg, profile=profile)  # one place checks every constraint
    value: dict[str, Any] = _frame_value(_JSON, msg)
    return value


def frame_from_json(obj: Any, *, now_ns: int | None = None,
                    profile: str | None = None) -> Message:
    """The message of a :func:`frame_to_json` object (parsed JSON: dicts, lists, str, int;
    integral floats are read as integers), checked against the ASN.1 constraints of
    ``profile`` (``None``: the default).

    Raises DecodeError, naming what failed, for any object that is not such a frame: another
    type (``None``, ``bool``, a fraction), nesting deeper than a frame has, a missing or
    unknown member, a value out of its ASN.1 range; never another exception.
    """
    msg = _parse_frame(_JSON, _clean_json(obj, 0, "$"), now_ns)
    try:
        encode_frame(msg, profile=profile)
    except EncodeError as exc:
        raise DecodeError(f"JSON frame holds a value outside its ASN.1 range: {exc}") from exc
    return msg


#: nesting limit of a JSON frame: the deepest member of the JSON form (a MAP lane point's
#: offset, ``$.mapFrame.nodes[i].inLinks[j].lanes[k].points[m].posOffset.offsetLL.<form>.lat``)
#: is 13 levels down; deeper input is refused before it is walked
_JSON_MAX_DEPTH = 24


def _clean_json(x: Any, depth: int, where: str) -> Any:
    """``x`` with the types of the JSON form checked (dict with str keys, list, str, int) and
    integral floats made ints; DecodeError naming the member (``where``, a JSON path) for
    anything else and for nesting deeper than :data:`_JSON_MAX_DEPTH`."""
    if isinstance(x, bool) or x is None:
        raise DecodeError(f"JSON frame: {where}: {x!r} is not a value of the JSON form "
                          f"(integers, text, objects, lists)")
    if isinstance(x, int | str):
        return x
    if isinstance(x, float):
        if x.is_integer():
            return int(x)
        raise DecodeError(f"JSON frame: {where}: {x!r} is not an integer")
    if depth >= _JSON_MAX_DEPTH:
        raise DecodeError(f"JSON frame: {where}: nested deeper than a frame ({_JSON_MAX_DEPTH} "
                          f"levels)")
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str):
                raise DecodeError(f"JSON frame: {where}: member name {reprlib.repr(k)} is not "
                                  f"text")
            out[k] = _clean_json(v, depth + 1, f"{where}.{k}")
        return out
    if isinstance(x, list | tuple):
        return [_clean_json(v, depth + 1, f"{where}[{i}]") for i, v in enumerate(x)]
    raise DecodeError(f"JSON frame: {where}: a {type(x).__name__} is not a JSON value")


# =========================================================================== BSM batches
# A BsmBatch row always has the same UPER layout, so a whole batch is packed into bits with
# numpy in one pass (no per-message Python). Layout of one frame (X.691 unaligned, bits):
#
#   MessageFrame: ext 0 (1) + alternative 0 of 0..4 (3)                          =   4
#   BSM: ext 0 (1) + 7 presence bits 0000010 (only safetyExt)                    =   8
#   msgCnt 7 | id 64 (8 octets, the sender id big-endian) | secMark 16           =  87
#   pos: elevation absent (1) + lat-(-900000000) 31 + long-(-1799999999) 32      =  64
#   transmission 3 (7 unavailable) | speed 13 | heading 15                       =  31
#   accelSet: long+2000 12 | lat 12 (2001 unavailable) | vert+127 8 (-127 unavailable)
#             | yaw+32767 16 (0: YawRate has no "unavailable" value)              =  48
#   brakes: 7 presence 1000000 + brakePadel 2 (1 off, 2 on)                      =   9
#   size: height present (1) + width 10 + length 12 + height 7                   =  30
#   vehicleClass: ext 0 (1) + fuelType absent (1) + classification 8             =  10
#   safetyExt: ext 0 (1) + presence 1000 (4) + events: ext 0 (1) + 13 bits       =  19
#                                                                          total 310 bits
# padded with 2 zero bits to 39 octets. Tested bit for bit against asn1tools.

_BSM_FIELDS: tuple[tuple[str, int], ...] = (
    ("c:0", 4), ("c:2", 8), ("msg_cnt", 7), ("id_hi", 32), ("id_lo", 32), ("sec_mark", 16),
    ("c:0", 1), ("lat", 31), ("lon", 32), ("c:7", 3), ("speed", 13), ("heading", 15),
    ("accel_long", 12), ("c:4001", 12), ("c:0", 8), ("c:32767", 16), ("c:64", 7),
    ("brake", 2), ("c:1", 1), ("width", 10), ("length", 12), ("height", 7), ("c:0", 2),
    ("classification", 8), ("c:8", 5), ("c:0", 1), ("events", 13),
)
_BSM_BITS = sum(w for _, w in _BSM_FIELDS)
#: size [bytes] of every frame :func:`encode_bsm_batch` produces
BSM_BATCH_FRAME_BYTES = (_BSM_BITS + 7) // 8

#: (field, lower bound, upper bound) checked before packing, in standard units
_BSM_RANGES = (("msg_cnt", "msgCnt", 0, 127), ("sender", "id", 0, 2**63 - 1),
               ("sec_mark", "secMark", 0, 65535),
               ("lat", "pos.lat", -900_000_000, 900_000_001),
               ("lon", "pos.long", -1_799_999_999, 1_800_000_001),
               ("speed", "speed", 0, 8191), ("heading", "heading", 0, 28800),
               ("accel_long", "accelSet.long", -2000, 2001),
               ("width", "size.width", 0, 1023), ("length", "size.length", 0, 4095),
               ("height", "size.height", 0, 127),
               ("classification", "vehicleClass.classification", 0, 255),
               ("events", "safetyExt.events", 0, 2**13 - 1),
               ("lights", "safetyExt.lights", -1, 2**9 - 1),
               ("siren_use", "emergencyExt.sirenUse", -1, 3),
               ("lightbar_use", "emergencyExt.lightsUse", -1, 7))


def _bsm_layout() -> tuple[list[tuple[str, int, int]], np.ndarray]:
    """[(field, bit offset, width)] of the variable fields and the constant bit row."""
    const = np.zeros(BSM_BATCH_FRAME_BYTES * 8, np.uint8)
    var = []
    pos = 0
    for name, w in _BSM_FIELDS:
        if name.startswith("c:"):
            v = int(name[2:])
            const[pos:pos + w] = [(v >> (w - 1 - k)) & 1 for k in range(w)]
        else:
            var.append((name, pos, w))
        pos += w
    return var, const


_BSM_VAR, _BSM_CONST = _bsm_layout()
_BSM_CONST_MASK = np.zeros(BSM_BATCH_FRAME_BYTES * 8, bool)
_pos = 0
for _name, _w in _BSM_FIELDS:
    _BSM_CONST_MASK[_pos:_pos + _w] = _name.startswith("c:")
    _pos += _w
# the constant fields that are values, not layout: transmission, accelSet.lat/vert/yaw may
# carry any valid value on decode
for _off, _w in ((4 + 8 + 7 + 64 + 16 + 1 + 31 + 32, 3), (4 + 8 + 7 + 64 + 16 + 64 + 3 + 13
                                                          + 15 + 12, 36)):
    _BSM_CONST_MASK[_off:_off + _w] = False
# the 2 padding bits must be zero (X.691 11.1), as decode_frame requires
_BSM_CONST_MASK[_BSM_BITS:] = True
# the frame as 64-bit big-endian words: every field is put in / taken out with shifts on
# (n,) uint64 columns (a field crosses at most one word boundary), ~10x faster than a row of
# bits per frame
_BSM_WORDS = (BSM_BATCH_FRAME_BYTES + 7) // 8


def _as_words(bits: np.ndarray) -> np.ndarray:
    padded = np.zeros(_BSM_WORDS * 64, np.uint8)
    padded[:bits.size] = bits
    return np.frombuffer(np.packbits(padded).tobytes(), ">u8").astype(np.uint64)


_VAR_MASK = np.zeros(BSM_BATCH_FRAME_BYTES * 8, np.uint8)
for _name, _pos, _w in _BSM_VAR:
    _VAR_MASK[_pos:_pos + _w] = 1
_CONST_WORDS = _as_words(_BSM_CONST * (1 - _VAR_MASK))
_CHECK_MASK_WORDS = _as_words(_BSM_CONST_MASK.astype(np.uint8))
_CHECK_WORDS = _CONST_WORDS & _CHECK_MASK_WORDS


def _put(words: np.ndarray, value: np.ndarray, pos: int, w: int) -> None:
    """OR the w-bit ``value`` (n,) uint64 into bits pos..pos+w-1 of ``words`` (n, W)."""
    q, q2 = pos // 64, (pos + w - 1) // 64
    if q == q2:
        words[:, q] |= value << np.uint64(64 * (q + 1) - pos - w)
    else:
        low = pos + w - 64 * q2  # bits of the field in word q2 (1..63)
        words[:, q] |= value >> np.uint64(low)
        words[:, q2] |= value << np.uint64(64 - low)


def _get(words: np.ndarray, pos: int, w: int) -> np.ndarray:
    """Bits pos..pos+w-1 of ``words`` (n, W) as (n,) uint64."""
    q, q2 = pos // 64, (pos + w - 1) // 64
    mask = np.uint64((1 << w) - 1)
    if q == q2:
        return (words[:, q] >> np.uint64(64 * (q + 1) - pos - w)) & mask
    low = pos + w - 64 * q2
    return ((words[:, q] << np.uint64(low)) | (words[:, q2] >> np.uint64(64 - low))) & mask


def _bsm_columns(batch: BsmBatch) -> dict[str, np.ndarray]:
    """The batch's columns as offsets from each element's lower bound, uint64."""
    for attr, field, lo, hi in _BSM_RANGES:
        col = getattr(batch, attr)
        if col.size and (col.min() < lo or col.max() > hi):
            bad = col[(col < lo) | (col > hi)][0]
            raise EncodeError(f"BSM {field}: value {int(bad)} is outside {lo}..{hi}")
    sender = batch.sender.astype(np.uint64)
    return {
        "msg_cnt": batch.msg_cnt.astype(np.uint64),
        "id_hi": sender >> np.uint64(32), "id_lo": sender & np.uint64(0xFFFFFFFF),
        "sec_mark": batch.sec_mark.astype(np.uint64),
        "lat": (batch.lat + 900_000_000).astype(np.uint64),
        "lon": (batch.lon + 1_799_999_999).astype(np.uint64),
        "speed": batch.speed.astype(np.uint64), "heading": batch.heading.astype(np.uint64),
        "accel_long": (batch.accel_long + 2000).astype(np.uint64),
        "brake": np.where(batch.brake, 2, 1).astype(np.uint64),
        "width": batch.width.astype(np.uint64), "length": batch.length.astype(np.uint64),
        "height": batch.height.astype(np.uint64),
        "classification": batch.classification.astype(np.uint64),
        # flag 1 << k is ASN.1 bit k, the k-th bit on the wire: reverse the 13 bits
        "events": _reverse13(batch.events.astype(np.uint64)),
    }


def _reverse13_table() -> np.ndarray:
    v = np.arange(2**13, dtype=np.uint64)
    out = np.zeros_like(v)
    for k in range(13):
        out |= ((v >> np.uint64(k)) & np.uint64(1)) << np.uint64(12 - k)
    return out


_REVERSE13 = _reverse13_table()


def _reverse13(v: np.ndarray) -> np.ndarray:
    """The 13-bit values ``v`` (n,) uint64 with their bit order reversed (a table look-up)."""
    return _REVERSE13[v]


def encode_bsm_batch(batch: BsmBatch) -> list[bytes]:
    """One UPER MessageFrame per row of ``batch`` (standard units), vectorized.

    Every frame has the layout documented above (:data:`BSM_BATCH_FRAME_BYTES` = 39 bytes):
    the sender id as the 8-octet ``id`` (big-endian), ``transmission`` unavailable, lateral
    and vertical acceleration unavailable, ``yaw`` 0 (YawRate has no "unavailable"),
    ``brakes.brakePadel`` on/off, ``size`` with height, ``vehicleClass.classification`` and
    ``safetyExt.events`` always present. Bit-identical to :func:`encode_frame` of the same BSM.
    A row that also carries ``safetyExt.lights`` or ``emergencyExt`` (``batch.extended``: the
    emergency vehicles) is longer (:func:`bsm_frame_lengths`) and encoded with asn1tools.

    Raises EncodeError naming the field and the first bad value when a column is out of its
    element's range.
    """
    rows = encode_bsm_rows(batch)
    k = rows.shape[1]
    if k == BSM_BATCH_FRAME_BYTES:  # every row in the fixed layout: slices of one buffer
        buf = rows.tobytes()
        return [buf[i * k:(i + 1) * k] for i in range(batch.n)]
    return [r[:n].tobytes() for r, n in zip(rows, bsm_frame_lengths(batch).tolist(),
                                            strict=True)]


def bsm_frame_lengths(batch: BsmBatch) -> np.ndarray:
    """(n,) int64 [bytes] the length of each row's frame (:func:`encode_bsm_rows`):
    :data:`BSM_BATCH_FRAME_BYTES` (39) for the fixed layout; a row with safetyExt.lights adds
    10 bits (extension bit + 9 bits of ExteriorLights), one with emergencyExt 4 bits
    (extension bit + 3 presence bits) + 2 (sirenUse) + 3 (lightsUse) as present."""
    emg = (batch.siren_use >= 0) | (batch.lightbar_use >= 0)
    bits = (_BSM_BITS + np.where(batch.lights >= 0, 10, 0) + np.where(emg, 4, 0)
            + np.where(batch.siren_use >= 0, 2, 0) + np.where(batch.lightbar_use >= 0, 3, 0))
    return ((bits + 7) // 8).astype(np.int64)


def encode_bsm_rows(batch: BsmBatch) -> np.ndarray:
    """:func:`encode_bsm_batch` as one ``(n, L)`` uint8 array, row i the bytes of frame i
    (what the simulation keeps: no Python object per frame); L =
    :data:`BSM_BATCH_FRAME_BYTES` unless a row is extended (then L is the longest frame, a
    shorter frame is followed by zero bytes that are not part of it: its length is
    :func:`bsm_frame_lengths`).

    Raises EncodeError as :func:`encode_bsm_batch`.
    """
    n = batch.n
    cols = _bsm_columns(batch)
    words = np.tile(_CONST_WORDS, (n, 1))
    for name, pos, w in _BSM_VAR:
        _put(words, cols[name], pos, w)
    rows = np.ascontiguousarray(
        words.astype(">u8").view(np.uint8).reshape(n, _BSM_WORDS * 8)[:, :BSM_BATCH_FRAME_BYTES])
    if n == 0 or max(int(batch.lights.max()), int(batch.siren_use.max()),
                     int(batch.lightbar_use.max())) < 0:
        return rows  # no row carries lights or emergencyExt (the usual case): one pass each
    ext = np.flatnonzero(batch.extended)
    lengths = bsm_frame_lengths(batch)
    out = np.zeros((n, int(lengths.max())), np.uint8)
    out[:, :BSM_BATCH_FRAME_BYTES] = rows
    spec = compiled_spec()
    for i in ext.tolist():
        data = spec.encode("MessageFrame", ("bsmFrame", _extended_bsm_value(batch, i)),
                           check_constraints=True)
        if len(data) != lengths[i]:  # pragma: no cover - bsm_frame_lengths is tested
            raise EncodeError(f"BSM row {i}: {len(data)} bytes, expected {lengths[i]}")
        out[i, :] = 0
        out[i, :len(data)] = np.frombuffer(data, np.uint8)
    return out


def _extended_bsm_value(b: BsmBatch, i: int) -> dict[str, Any]:
    """The asn1tools value of row ``i`` of ``b`` (standard units), the fixed layout's elements
    plus safetyExt.lights and emergencyExt as present."""
    ext: dict[str, Any] = {"events": _ASN.bits(int(b.events[i]), 13)}
    if b.lights[i] >= 0:
        ext["lights"] = _ASN.bits(int(b.lights[i]), 9)
    out: dict[str, Any] = {
        "msgCnt": int(b.msg_cnt[i]), "id": int(b.sender[i]).to_bytes(8, "big"),
        "secMark": int(b.sec_mark[i]), "pos": {"lat": int(b.lat[i]), "long": int(b.lon[i])},
        "transmission": "unavailable", "speed": int(b.speed[i]), "heading": int(b.heading[i]),
        "accelSet": {"long": int(b.accel_long[i]), "lat": 2001, "vert": -127, "yaw": 0},
        "brakes": {"brakePadel": "on" if b.brake[i] else "off"},
        "size": {"width": int(b.width[i]), "length": int(b.length[i]),
                 "height": int(b.height[i])},
        "vehicleClass": {"classification": int(b.classification[i])}, "safetyExt": ext}
    if b.siren_use[i] >= 0 or b.lightbar_use[i] >= 0:
        emg = out["emergencyExt"] = {}
        if b.siren_use[i] >= 0:
            emg["sirenUse"] = _SIREN[int(b.siren_use[i])]
        if b.lightbar_use[i] >= 0:
            emg["lightsUse"] = _LIGHTBAR[int(b.lightbar_use[i])]
    return out


def decode_bsm_frames(frames: Sequence[bytes] | np.ndarray,
                      lengths: np.ndarray | None = None) -> tuple[
        BsmBatch, np.ndarray, list[tuple[int, DecodeError]]]:
    """Decode BSM frames into a :class:`BsmBatch` (standard units), one row per good frame.

    ``frames``: a sequence of frames, or an ``(n, L)`` uint8 array of frames, one per row (as
    :func:`encode_bsm_rows` gives): all L bytes long, or each ``lengths[i]`` (n,) int bytes
    long (:func:`bsm_frame_lengths`; the rest of the row is not part of it). Frames in the
    :func:`encode_bsm_batch` layout are unpacked with numpy in one pass; any other frame goes
    through asn1tools. A frame that is not a valid BSM frame does not stop
    the batch: it is left out and reported.

    Returns ``(batch, ok, errors)``: ``ok`` (n_frames,) bool, True where the frame gave a row
    (rows are in frame order); ``errors`` [(frame index, DecodeError)] for the others, for the
    caller to count and record. Fields a BsmBatch does not hold (transmission, lateral and
    vertical acceleration, yaw, ...) are dropped; ``brake`` is True when brakePadel is on;
    an absent height or events decodes as 0, an absent safetyExt.lights, emergencyExt.sirenUse
    or lightsUse as -1.

    Any element, whatever its bytes (or type), ends up in ``ok`` or ``errors``, each error
    naming what failed (as :func:`decode_frame`: trailing bytes and non-zero padding bits are
    errors too). Raises DecodeError only when ``frames`` itself is neither a sequence nor an
    (n, L) uint8 array.
    """
    k = BSM_BATCH_FRAME_BYTES
    if isinstance(frames, np.ndarray):
        if frames.dtype != np.uint8 or frames.ndim != 2:
            raise DecodeError(f"BSM frames as an array must be (n, L) uint8, got "
                              f"{frames.dtype} {frames.shape}")
        n = len(frames)
        if lengths is None:
            lengths = np.full(n, frames.shape[1], np.int64)
        lengths = np.asarray(lengths, np.int64)
        if lengths.shape != (n,) or (n and (lengths.min() < 0
                                             or lengths.max() > frames.shape[1])):
            raise DecodeError(f"BSM frame lengths must be (n,) within 0..{frames.shape[1]}, "
                              f"got {lengths.shape}")
        fast = lengths == k
        frames_k = (frames if frames.shape[1] == k and bool(fast.all())
                    else np.ascontiguousarray(frames[fast, :k]))  # the fast rows, in order
    else:
        try:
            n = len(frames)
        except TypeError:
            raise DecodeError(f"BSM frames must be a sequence of bytes or an (n, L) uint8 "
                              f"array, got {type(frames).__name__}") from None
        fast, arr = _batch_layout_rows(frames, k)
    ok = np.zeros(n, bool)
    idx = np.flatnonzero(fast)
    vals: dict[str, np.ndarray] = {}
    if idx.size:
        if isinstance(frames, np.ndarray):
            arr = frames_k
        padded = np.zeros((arr.shape[0], _BSM_WORDS * 8), np.uint8)
        padded[:, :k] = arr
        words = padded.view(">u8").astype(np.uint64)
        good = np.all((words & _CHECK_MASK_WORDS) == _CHECK_WORDS, axis=1)
        for name, pos, w in _BSM_VAR:
            vals[name] = _get(words, pos, w).astype(np.int64)
        tail = 4 + 8 + 7 + 64 + 16 + 64 + 3 + 13 + 15 + 12  # accelSet.lat, .vert, .yaw
        acc_lat, vert, yaw = _get(words, tail, 12), _get(words, tail + 12, 8), \
            _get(words, tail + 20, 16)
        good &= ((vals["lat"] <= 1_800_000_001) & (vals["lon"] <= 3_600_000_000)
                 & (vals["heading"] <= 28800) & (vals["accel_long"] <= 4001)
                 & (vals["brake"] >= 1) & (vals["brake"] <= 2) & (acc_lat <= 4001)
                 & (vert <= 254) & (yaw <= 65534) & (vals["id_hi"] < 2**31))
        for name in vals:
            vals[name] = vals[name][good]
        idx_good = idx[good]
        ok[idx_good] = True
        fast[:] = False
        fast[idx_good] = True
    rows: list[dict[str, int] | None] = [None] * n
    errors: list[tuple[int, DecodeError]] = []
    slow = np.flatnonzero(~fast).tolist()
    for i in slow:
        try:
            rows[i] = _bsm_row(frames[i, :lengths[i]].tobytes()
                               if isinstance(frames, np.ndarray) and lengths is not None
                               else frames[i])
            ok[i] = True
        except DecodeError as exc:
            errors.append((int(i), exc))
    # assemble in frame order
    cols = {name: np.zeros(n, np.int64) for name in
            ("sender", "msg_cnt", "sec_mark", "lat", "lon", "speed", "heading", "accel_long",
             "width", "length", "height", "classification", "events")}
    for name in ("lights", "siren_use", "lightbar_use"):
        cols[name] = np.full(n, -1, np.int64)
    brake = np.zeros(n, bool)
    if vals:
        f = np.flatnonzero(fast)
        cols["sender"][f] = (vals["id_hi"] << 32) | vals["id_lo"]
        cols["msg_cnt"][f] = vals["msg_cnt"]
        cols["sec_mark"][f] = vals["sec_mark"]
        cols["lat"][f] = vals["lat"] - 900_000_000
        cols["lon"][f] = vals["lon"] - 1_799_999_999
        cols["speed"][f] = vals["speed"]
        cols["heading"][f] = vals["heading"]
        cols["accel_long"][f] = vals["accel_long"] - 2000
        for name in ("width", "length", "height", "classification"):
            cols[name][f] = vals[name]
        cols["events"][f] = _reverse13(vals["events"].astype(np.uint64)).astype(np.int64)
        brake[f] = vals["brake"] == 2
    for i in slow:
        row = rows[i]
        if row is not None:
            for name, v in row.items():
                if name == "brake":
                    brake[i] = bool(v)
                else:
                    cols[name][i] = v
    return (BsmBatch(brake=brake[ok], **{name: c[ok] for name, c in cols.items()}), ok, errors)


def _batch_layout_rows(frames: Sequence[bytes], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(fast, rows): ``fast`` (n,) bool marks the frames of ``k`` bytes, ``rows`` (n_fast, k)
    uint8 holds them. An element that is not bytes (or bytearray) of ``k`` bytes is not
    marked: the slow path reports it."""
    n = len(frames)
    try:  # the usual case: every element is bytes
        fast = np.fromiter((len(f) == k for f in frames), bool, n)
        return fast, np.frombuffer(b"".join(frames[i] for i in np.flatnonzero(fast).tolist()),
                                   np.uint8).reshape(-1, k)
    except (TypeError, ValueError):
        fast = np.fromiter((isinstance(f, bytes | bytearray) and len(f) == k for f in frames),
                           bool, n)
        return fast, np.frombuffer(b"".join(frames[i] for i in np.flatnonzero(fast).tolist()),
                                   np.uint8).reshape(-1, k)


def _bsm_row(frame: bytes) -> dict[str, int]:
    """A BsmBatch row (standard units) of any valid BSM frame, through asn1tools (DecodeError
    as :func:`decode_frame`)."""
    name, d = _decode_value(frame)
    if name != "bsmFrame":
        raise DecodeError(f"expected a bsmFrame, got {name}")
    ev = d.get("safetyExt", {}).get("events")
    lights = d.get("safetyExt", {}).get("lights")
    emg = d.get("emergencyExt", {})
    ident = int.from_bytes(d["id"], "big")
    if ident >= 2**63:
        raise DecodeError(f"BSM id {d['id'].hex()} does not fit the int64 sender column")
    return {"sender": ident, "msg_cnt": d["msgCnt"], "sec_mark": d["secMark"],
            "lat": d["pos"]["lat"], "lon": d["pos"]["long"], "speed": d["speed"],
            "heading": d["heading"], "accel_long": d["accelSet"]["long"],
            "width": d["size"]["width"], "length": d["size"]["length"],
            "height": d["size"].get("height", 0),
            "classification": d["vehicleClass"]["classification"],
            "events": 0 if ev is None else _ASN.unbits(ev) & 0x1FFF,
            "lights": -1 if lights is None else _ASN.unbits(lights) & 0x1FF,
            "siren_use": (_enum_index("sirenUse", _SIREN, emg["sirenUse"]) if "sirenUse" in emg
                          else -1),
            "lightbar_use": (_enum_index("lightsUse", _LIGHTBAR, emg["lightsUse"])
                             if "lightsUse" in emg else -1),
            "brake": d["brakes"].get("brakePadel") == "on"}


# =========================================================================== frame templates
# In UPER every SPAT field the simulation fills is a constrained INTEGER or ENUMERATED of fixed
# width, so once the present optional fields and the list lengths are fixed (one intersection in
# one program phase), the frame has a fixed bit layout: only msgCnt, moy, timeStamp and the
# TimeMarks move. A template encodes the frame once with asn1tools and finds where each changing
# field lies *from asn1tools itself* (no hand-written offsets): it encodes the value with every
# changing field 0, then ceil(log2(n + 1)) more times with field i set to its top bit 2^(w-1)
# exactly when bit j of i + 1 is set; each flipped bit position's pattern over the encodes names
# its field (group testing). Two more encodes check the layout: every field = 1 must flip
# exactly bit (top bit + width - 1) of each field, its last bit, which fixes the field's shift;
# and pseudo-random in-range values must give asn1tools' bytes exactly (a width too large makes
# the probe out of range and fails; one too small would only move the probe bit). Per message
# the template then adds ``value * (sum of 2^shift over the field's copies)`` to the base
# integer: no carries, since the fields hold zeros in the base and never overlap.

_W_MSG_CNT, _W_MOY, _W_DSECOND, _W_TIME_MARK = 7, 20, 16, 16  # bits: ceil(log2(hi - lo + 1))
_HI_MSG_CNT, _HI_MOY, _HI_DSECOND, _HI_TIME_MARK = 127, 527040, 65535, 36001

_FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class _Layout:
    """A frame with fixed bit layout: ``base`` (the frame as a big-endian int, every changing
    field 0), its length [bytes] and each changing field's shift (bit 0 = the last bit of the
    frame)."""

    base: int
    nbytes: int
    shifts: tuple[int, ...]


def _set_path(value: Any, path: _FieldPath, v: int) -> None:
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = v


#: (field paths and widths, frame length) -> the fields' shifts, as last located
_LAYOUT_SHIFTS: dict[tuple[Any, int], tuple[int, ...]] = {}
#: field paths and widths -> each field's lowest bit counted from the frame's first bit, as
#: last located: fields ahead of a variable part (a MAP's msgCnt and timeStamp, ahead of its
#: nodes) keep these in frames of any length
_LAYOUT_FROM_MSB: dict[Any, tuple[int, ...]] = {}


def _locate_fields(frame_value: Any, fields: Sequence[tuple[_FieldPath, int, int]]) -> _Layout:
    """Bit positions of the integer ``fields`` ((path, width [bits], upper bound); lower bound 0)
    in the UPER MessageFrame of ``frame_value`` (an asn1tools value, copied), found and checked
    by encoding variants with asn1tools (see the section comment).

    Raises EncodeError when ``frame_value`` cannot be encoded, and (a programming error: a wrong
    path or width) when the fields do not behave as fixed-width fields.
    """
    value = copy.deepcopy(frame_value)
    spec = compiled_spec()
    n = len(fields)

    def enc(vals: Sequence[int]) -> tuple[int, int]:
        for (path, _, _), v in zip(fields, vals, strict=True):
            _set_path(value[1], path, v)
        try:
            data = spec.encode("MessageFrame", value, check_constraints=True)
        except asn1tools.Error as exc:
            raise EncodeError(str(exc)) from exc
        return int.from_bytes(data, "big"), len(data)

    base, nbytes = enc([0] * n)
    check = [(i * 2654435761 + 12345) % (hi + 1) for i, (_, _, hi) in enumerate(fields)]
    # frames of one shape (e.g. every RSU's SPAT with the same phases present) share their
    # layout: a layout found before is taken when the frame length matches and it reproduces
    # asn1tools' frames of the pseudo-random values below and of their complements (3
    # encodes instead of ~8)
    shape = tuple((path, w) for path, w, _ in fields)
    key = (shape, nbytes)
    nbits = 8 * nbytes
    known = [_LAYOUT_SHIFTS.get(key)]
    if shape in _LAYOUT_FROM_MSB:
        known.append(tuple(nbits - 1 - p for p in _LAYOUT_FROM_MSB[shape]))
    for shifts in dict.fromkeys(s for s in known if s is not None and min(s) >= 0):
        if all(enc(vals) == (base + sum(v << s for v, s in zip(vals, shifts, strict=True)),
                             nbytes)
               for vals in (check, [hi - v for v, (_, _, hi) in zip(check, fields,
                                                                    strict=True)])):
            _remember_layout(key, nbits, shifts)
            return _Layout(base, nbytes, shifts)

    def flipped(vals: Sequence[int]) -> list[int]:
        x, nb = enc(vals)
        if nb != nbytes:
            raise EncodeError(f"frame template: the frame length changes with the values "
                              f"({nbytes} -> {nb} bytes); a field is not fixed-width")
        d = x ^ base
        return [nbits - 1 - k for k in range(nbits) if d >> k & 1]  # bit index from the MSB

    code: dict[int, int] = {}
    for j in range(n.bit_length()):
        for p in flipped([1 << (w - 1) if (i + 1) >> j & 1 else 0
                          for i, (_, w, _) in enumerate(fields)]):
            code[p] = code.get(p, 0) | 1 << j
    where = {c: p for p, c in code.items()}
    if len(where) != len(code) or sorted(where) != list(range(1, n + 1)):
        raise EncodeError(f"frame template: cannot locate the {n} fields "
                          f"(codes {sorted(code.values())})")
    first = [where[i + 1] for i in range(n)]  # MSB position of each field
    if sorted(flipped([1] * n)) != sorted(p + w - 1 for p, (_, w, _) in zip(first, fields,
                                                                             strict=True)):
        raise EncodeError("frame template: a field's width is not the one assumed")
    shifts = tuple(nbits - p - w for p, (_, w, _) in zip(first, fields, strict=True))
    want = base + sum(v << s for v, s in zip(check, shifts, strict=True))
    if enc(check) != (want, nbytes):
        raise EncodeError("frame template: the located fields do not reproduce asn1tools' frame")
    _remember_layout(key, nbits, shifts)
    return _Layout(base, nbytes, shifts)


def _remember_layout(key: tuple[Any, int], nbits: int, shifts: tuple[int, ...]) -> None:
    """Keep a located layout for frames of the same shape (:data:`_LAYOUT_SHIFTS`,
    :data:`_LAYOUT_FROM_MSB`)."""
    _LAYOUT_SHIFTS[key] = shifts
    _LAYOUT_FROM_MSB[key[0]] = tuple(nbits - 1 - s for s in shifts)


class SpatFrameTemplate:
    """UPER MessageFrame bytes of a one-intersection SPAT in one signal state, the bit layout
    found once: only msgCnt, moy, timeStamp and the TimeMarks are written per message (~10 us
    instead of ~100 us for :func:`encode_frame`).

    Same arguments and semantics as :class:`v2x.messages.SpatJsonTemplate` (so an RSU builds
    both from one table): :meth:`encode` gives exactly ``encode_frame(Spat(msg_cnt, (state,),
    timestamp_ns))`` (tested) for the ``IntersectionState`` ``state`` with

    * ``intersection_id``, ``status``, ``timestamp_ns`` (its DSecond only, as the codec writes);
    * phase ``g + 1`` for group ``g``, with one ``PhaseState``: light ``lights[g]``, counting
      timing with ``start_time_ns = 0``, ``likely_end_time_ns = likely_end_after_ns[g] +
      remaining_ns`` (``None`` -> TimeMark 36001 when -1), ``min_end_time_ns =
      max_end_time_ns`` = likely when ``fixed_time`` (else absent), ``next_start_time_ns =
      next_start_after_ns[g] + remaining_ns`` and ``next_duration_ns = next_duration_ns[g]``
      (absent when -1); times round to the nearest 0.1 s (ties up) and cap at TimeMark 36000.

    Args:
        intersection_id: the intersection's node reference id.
        status: IntersectionStatusObject bits (0..65535).
        lights: (k,) LightState values, 1 <= k <= 16.
        likely_end_after_ns, next_start_after_ns: (k,) int [ns] from the end of the running
            phase until the light changes / starts again; -1 = unknown.
        next_duration_ns: (k,) int [ns] length of the light's next run; -1 = unknown.
        fixed_time: min/max end equal the likely end.

    The layouts with and without a timestamp are found on first use (~10 asn1tools encodes,
    ~1 ms each layout).

    Raises:
        EncodeError: arrays of different lengths, an unknown light, a group count outside
            1..16, or a value the codec refuses.
    """

    __slots__ = ("_args", "_layouts", "_max_offset", "_offsets")

    def __init__(self, *, intersection_id: NodeReferenceId, status: int,
                 lights: Sequence[int], likely_end_after_ns: Sequence[int],
                 next_start_after_ns: Sequence[int], next_duration_ns: Sequence[int],
                 fixed_time: bool) -> None:
        lights, likely, nxt, dur = spat_template_inputs(
            lights, likely_end_after_ns, next_start_after_ns, next_duration_ns)
        if not 1 <= len(lights) <= 16:
            raise EncodeError(f"SPAT template: {len(lights)} signal groups; SPAT allows 1..16")
        self._args = (intersection_id, int(status), lights, likely, nxt, dur, bool(fixed_time))
        # the changing TimeMarks, in encoding order: (phase, ASN.1 field, offset [ns])
        offsets = []
        for g in range(len(lights)):
            if likely[g] >= 0:
                offsets += [likely[g]] * (3 if fixed_time else 1)
            if nxt[g] >= 0:
                offsets.append(nxt[g])
        self._offsets = offsets
        self._max_offset = max(offsets, default=0)
        # stamped (bool) -> (layout, head multipliers, [(offset, multiplier)], (constant,
        # multiplier sum) when every offset is whole DSeconds, else None)
        self._layouts: dict[bool, tuple[_Layout, tuple[int, ...], tuple[tuple[int, int], ...],
                                        tuple[int, int] | None]] = {}

    def state(self, remaining_ns: int, timestamp_ns: int | None = None) -> IntersectionState:
        """The ``IntersectionState`` this template encodes (see the class docstring)."""
        node, status, lights, likely, nxt, dur, fixed = self._args
        rem = max(0, remaining_ns)
        phases = []
        for g, light in enumerate(lights):
            le = likely[g] + rem if likely[g] >= 0 else None
            phases.append(Phase(id=g + 1, states=(PhaseState(LightState(light), TimeCountingDown(
                start_time_ns=0, likely_end_time_ns=le, min_end_time_ns=le if fixed else None,
                max_end_time_ns=le if fixed else None,
                next_start_time_ns=nxt[g] + rem if nxt[g] >= 0 else None,
                next_duration_ns=dur[g] if dur[g] >= 0 else None)),)))
        return IntersectionState(intersection_id=node, status=IntersectionStatus(status),
                                 phases=tuple(phases), timestamp_ns=timestamp_ns)

    def _layout(self, stamped: bool) -> tuple[_Layout, tuple[int, ...],
                                              tuple[tuple[int, int], ...],
                                              tuple[int, int] | None]:
        got = self._layouts.get(stamped)
        if got is not None:
            return got
        ts = 0 if stamped else None  # any instant: its moy/DSecond are overwritten
        value = _frame_value(_ASN, Spat(msg_cnt=0, intersections=(self.state(0, ts),),
                                        timestamp_ns=ts))
        _, _, lights, likely, nxt, _, fixed = self._args
        fields: list[tuple[_FieldPath, int, int]] = [(("msgCnt",), _W_MSG_CNT, _HI_MSG_CNT)]
        if stamped:
            fields += [(("moy",), _W_MOY, _HI_MOY), (("timeStamp",), _W_DSECOND, _HI_DSECOND),
                       (("intersections", 0, "timeStamp"), _W_DSECOND, _HI_DSECOND)]
        head = len(fields)
        for g in range(len(lights)):
            path: _FieldPath = ("intersections", 0, "phases", g, "phaseStates", 0, "timing", 1)
            keys = []
            if likely[g] >= 0:
                keys += ["likelyEndTime", "minEndTime", "maxEndTime"] if fixed \
                    else ["likelyEndTime"]
            if nxt[g] >= 0:
                keys.append("nextStartTime")
            fields += [((*path, k), _W_TIME_MARK, _HI_TIME_MARK) for k in keys]
        layout = _locate_fields(value, fields)
        sh = layout.shifts
        # msgCnt; moy; the two DSeconds share one value
        mults = (1 << sh[0],) if not stamped else (1 << sh[0], 1 << sh[1],
                                                    (1 << sh[2]) | (1 << sh[3]))
        by_offset: dict[int, int] = {}
        for o, s in zip(self._offsets, sh[head:], strict=True):
            by_offset[o] = by_offset.get(o, 0) | 1 << s
        times = tuple(by_offset.items())
        # offsets in whole DSeconds (SUMO phase durations usually are): every TimeMark is
        # o / DS + r // DS, so the sum over them is one constant plus one product
        lin = (sum(o // _NS_PER_DS * m for o, m in times), sum(m for _, m in times)) \
            if all(o % _NS_PER_DS == 0 for o, _ in times) else None
        got = (layout, mults, times, lin)
        self._layouts[stamped] = got
        return got

    def size(self, stamped: bool = True) -> int:
        """Length [bytes] of every frame of this template, with / without a timestamp."""
        return self._layout(stamped)[0].nbytes

    def encode(self, msg_cnt: int, timestamp_ns: int | None, remaining_ns: int) -> bytes:
        """The SPAT's UPER MessageFrame bytes.

        Args:
            msg_cnt: 0..127.
            timestamp_ns: UTC [ns since the Unix epoch] of the message and intersection
                state, or ``None``.
            remaining_ns: [ns] until the running phase ends; a negative value counts as 0.

        Raises EncodeError when ``msg_cnt`` is outside 0..127 or ``timestamp_ns`` is before
        the epoch.
        """
        if not 0 <= msg_cnt <= 127:
            raise EncodeError(f"msgCnt: value {msg_cnt!r} is outside 0..127")
        r = max(0, remaining_ns) + _NS_PER_DS // 2
        if timestamp_ns is None:
            layout, mults, times, lin = self._layouts.get(False) or self._layout(False)
            acc = layout.base + msg_cnt * mults[0]
        else:
            layout, mults, times, lin = self._layouts.get(True) or self._layout(True)
            moy, sec = _moy_sec(timestamp_ns)
            acc = layout.base + msg_cnt * mults[0] + moy * mults[1] + sec * mults[2]
        if self._max_offset + r < _TM_CAP_NS:  # no time reaches an hour (the usual case)
            if lin is not None:
                acc += lin[0] + r // _NS_PER_DS * lin[1]
            else:
                for o, m in times:
                    acc += (o + r) // _NS_PER_DS * m
        else:
            for o, m in times:
                acc += min((o + r) // _NS_PER_DS, u.TIME_MARK_BEYOND_HOUR) * m
        return acc.to_bytes(layout.nbytes, "big")


class _CountMoyTemplate:
    """UPER MessageFrame bytes of a message whose only changing fields are msgCnt and a
    MinuteOfTheYear timestamp, both in the frame's first octets (MAP, RSI): those octets are
    rebuilt per message, the rest is one pre-encoded ``bytes``. ``_message(msg_cnt,
    timestamp_ns)`` is the message a frame encodes; the layouts with and without a timestamp
    are found on first use (~5 asn1tools encodes each)."""

    __slots__ = ("_layouts",)
    #: the ASN.1 field of the timestamp's MinuteOfTheYear
    _moy_field = "timeStamp"

    def __init__(self) -> None:
        # stamped -> (prefix base int, prefix length [bytes], msgCnt mult, moy mult, tail)
        self._layouts: dict[bool, tuple[int, int, int, int, bytes]] = {}
        self._layout(True)  # fails here, not in the hot path, for a bad message

    def _message(self, msg_cnt: int, timestamp_ns: int | None) -> Message:
        raise NotImplementedError

    def _layout(self, stamped: bool) -> tuple[int, int, int, int, bytes]:
        got = self._layouts.get(stamped)
        if got is not None:
            return got
        value = _frame_value(_ASN, self._message(0, 0 if stamped else None))
        fields: list[tuple[_FieldPath, int, int]] = [(("msgCnt",), _W_MSG_CNT, _HI_MSG_CNT)]
        if stamped:
            fields.append(((self._moy_field,), _W_MOY, _HI_MOY))
        layout = _locate_fields(value, fields)
        nbits = 8 * layout.nbytes
        lowest = min(layout.shifts)
        k = (nbits - lowest + 7) // 8  # octets holding the fields
        drop = 8 * (layout.nbytes - k)
        frame = layout.base.to_bytes(layout.nbytes, "big")
        sh = [s - drop for s in layout.shifts]
        got = (int.from_bytes(frame[:k], "big"), k, 1 << sh[0], 1 << sh[1] if stamped else 0,
               frame[k:])
        self._layouts[stamped] = got
        return got

    def size(self, stamped: bool = True) -> int:
        """Length [bytes] of every frame of this template, with / without a timestamp."""
        _, k, _, _, tail = self._layout(stamped)
        return k + len(tail)

    def encode(self, msg_cnt: int, timestamp_ns: int | None) -> bytes:
        """The message's UPER MessageFrame bytes with this msgCnt (0..127) and timestamp (UTC
        [ns since the Unix epoch] or ``None``).

        Raises EncodeError when ``msg_cnt`` is outside 0..127 or ``timestamp_ns`` is before
        the epoch.
        """
        if not 0 <= msg_cnt <= 127:
            raise EncodeError(f"msgCnt: value {msg_cnt!r} is outside 0..127")
        if timestamp_ns is None:
            base, k, m_cnt, _, tail = self._layouts.get(False) or self._layout(False)
            return (base + msg_cnt * m_cnt).to_bytes(k, "big") + tail
        base, k, m_cnt, m_moy, tail = self._layouts.get(True) or self._layout(True)
        return (base + msg_cnt * m_cnt + _moy_sec(timestamp_ns)[0] * m_moy).to_bytes(k, "big") \
            + tail


class MapFrameTemplate(_CountMoyTemplate):
    """UPER MessageFrame bytes of a MAP with static geometry: only msgCnt and timeStamp
    (MinuteOfTheYear) are written per message (~2 us instead of ~1 ms for
    :func:`encode_frame`).

    :meth:`encode` gives exactly ``encode_frame(MapData(msg_cnt, nodes, timestamp_ns))``
    (tested). Both fields lie in the frame's first octets, so only those are rebuilt; the rest
    is one pre-encoded ``bytes``. The layouts with and without a timestamp are found on first
    use (~5 asn1tools encodes each).

    Args:
        nodes: 1..63 :class:`MapNode`.

    Raises:
        EncodeError: the nodes cannot be encoded (checked at construction).
    """

    __slots__ = ("_nodes",)

    def __init__(self, nodes: Sequence[MapNode]) -> None:
        self._nodes = tuple(nodes)
        super().__init__()

    def _message(self, msg_cnt: int, timestamp_ns: int | None) -> MapData:
        return MapData(msg_cnt=msg_cnt, nodes=self._nodes, timestamp_ns=timestamp_ns)


class RsiFrameTemplate(_CountMoyTemplate):
    """UPER MessageFrame bytes of one RSI content (RSU id, reference position, events and
    signs): only msgCnt and moy (MinuteOfTheYear) are written per message (~2 us instead of
    ~0.4 ms for :func:`encode_frame`): an RSU's signs and events rarely change, so it keeps
    one template per set of due items.

    :meth:`encode` gives exactly ``encode_frame(dataclasses.replace(rsi, msg_cnt=msg_cnt,
    timestamp_ns=timestamp_ns))`` (tested). The layouts with and without a timestamp are found
    on first use (~5 asn1tools encodes each).

    Args:
        rsi: the content (its ``msg_cnt`` and ``timestamp_ns`` are ignored).

    Raises:
        EncodeError: the RSI cannot be encoded (checked at construction).
    """

    __slots__ = ("_rsi",)
    _moy_field = "moy"

    def __init__(self, rsi: Rsi) -> None:
        self._rsi = rsi
        super().__init__()

    def _message(self, msg_cnt: int, timestamp_ns: int | None) -> Rsi:
        return dataclasses.replace(self._rsi, msg_cnt=msg_cnt, timestamp_ns=timestamp_ns)


_TIMING_KEYS = ("startTime", "minEndTime", "maxEndTime", "likelyEndTime", "nextStartTime",
                "nextDuration")


def _spat_fields(value: Any) -> list[tuple[_FieldPath, int, int]] | None:
    """The changing integer fields of a decoded SPAT frame value (path, width [bits], upper
    bound): msgCnt, moy, the timestamps and every TimeMark of counting timings; None for
    another frame or a SPAT with another timing mode."""
    name, d = value
    if name != "spatFrame":
        return None
    fields: list[tuple[_FieldPath, int, int]] = [(("msgCnt",), _W_MSG_CNT, _HI_MSG_CNT)]
    if "moy" in d:
        fields.append((("moy",), _W_MOY, _HI_MOY))
    if "timeStamp" in d:
        fields.append((("timeStamp",), _W_DSECOND, _HI_DSECOND))
    for i, it in enumerate(d["intersections"]):
        if "timeStamp" in it:
            fields.append((("intersections", i, "timeStamp"), _W_DSECOND, _HI_DSECOND))
        for j, ph in enumerate(it["phases"]):
            for k, ps in enumerate(ph["phaseStates"]):
                if "timing" not in ps:
                    continue
                mode, timing = ps["timing"]
                if mode != "counting":
                    return None
                path = ("intersections", i, "phases", j, "phaseStates", k, "timing", 1)
                fields += [((*path, key), _W_TIME_MARK, _HI_TIME_MARK)
                           for key in _TIMING_KEYS if key in timing]
    return fields


class _SpatPlan:
    """How to read the :class:`SpatPhaseStates` of the SPAT frames of one layout from the
    values of their changing fields, without building value objects: the columns that the
    layout fixes (node, phase, state, light, timed), and where the others come from.

    Args:
        value: the asn1tools value of a frame of the layout (only its fixed parts are read).
        paths: the paths of its changing fields, in field-value order.
    """

    __slots__ = ("_fixed", "_intersection_stamp_fields", "_likely_field_of_row", "_moy_field",
                 "_msg_stamp_field", "_row_intersection", "_start_field_of_row")

    def __init__(self, value: Any, paths: Sequence[_FieldPath]) -> None:
        field = {path: i for i, path in enumerate(paths)}  # index among the field values
        _, d = value
        self._moy_field = field.get(("moy",), -1)  # -1: the frame has no such field
        self._msg_stamp_field = field.get(("timeStamp",), -1)
        self._intersection_stamp_fields = tuple(
            field.get(("intersections", i, "timeStamp"), -1)
            for i in range(len(d["intersections"])))
        rows: list[tuple[int, ...]] = []
        for i, it in enumerate(d["intersections"]):
            node = it["intersectionId"]
            for j, ph in enumerate(it["phases"]):
                for k, ps in enumerate(ph["phaseStates"]):
                    timing = ("intersections", i, "phases", j, "phaseStates", k, "timing", 1)
                    has_timing = "timing" in ps
                    rows.append((i, node.get("region", -1), node["id"], ph["id"], k,
                                 _enum_index("light", _LIGHT_NAMES, ps["light"]), has_timing,
                                 field[(*timing, "startTime")] if has_timing else -1,
                                 field[(*timing, "likelyEndTime")] if has_timing else -1))
        intersection, region, node_id, phase_id, state, light, timed, start, likely = zip(
            *rows, strict=True)
        self._row_intersection = intersection
        self._start_field_of_row = start
        self._likely_field_of_row = likely
        self._fixed = {name: _read_only(np.array(col, dtype)) for name, col, dtype in (
            ("msg", [0] * len(rows), np.int64), ("region", region, np.int64),
            ("node_id", node_id, np.int64), ("phase_id", phase_id, np.int64),
            ("state", state, np.int64), ("light", light, np.int8), ("timed", timed, np.bool_))}

    def read(self, vals: Sequence[int], now_ns: int | None) -> SpatPhaseStates:
        """The columns of the frame whose changing fields hold ``vals``, its times placed as
        :func:`decode_frame` places them (:func:`_spat_times`)."""
        def at(i: int) -> int | None:
            return None if i < 0 else vals[i]

        ts, inter_ts = _spat_times(at(self._moy_field), at(self._msg_stamp_field),
                                   [at(i) for i in self._intersection_stamp_fields], now_ns)
        ref = [its if its is not None else ts if ts is not None else NO_TIME
               for its in inter_ts]
        # TimeMarks as _untiming reads them (None: unknown, 36001); an unknown start is on now
        start = [None if f < 0 else _untm(vals[f]) for f in self._start_field_of_row]
        likely = [None if f < 0 else _untm(vals[f]) for f in self._likely_field_of_row]
        return SpatPhaseStates(
            **self._fixed, start_ns=np.array([0 if t is None else t for t in start], np.int64),
            likely_end_ns=np.array([NO_TIME if t is None else t for t in likely], np.int64),
            ref_ns=np.array([ref[i] for i in self._row_intersection], np.int64))


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass
class _Proto:
    """A layout's decoded value (its changing fields overwritten by each fast decode), the
    paths of those fields, and its :class:`_SpatPlan` once one was needed."""

    value: Any
    paths: tuple[_FieldPath, ...]
    spat_plan: _SpatPlan | None = None


@dataclass
class _ReadGroup:
    """Frames of one length whose changing fields sit at the same bits: ``mask`` covers every
    other bit; ``shifts``/``ones``/``his`` per field (``ones``: ``2**width - 1``); ``protos``
    maps the fixed bits (the frame with every field 0) to the layout's :class:`_Proto`."""

    mask: int
    shifts: tuple[int, ...]
    ones: tuple[int, ...]
    his: tuple[int, ...]
    protos: dict[int, _Proto]


class FrameReader:
    """:func:`decode_frame` with a fast path for the SPAT frames of a run: the same message,
    or the same DecodeError, for every input (tested against ``decode_frame`` on random SPATs
    and on roadside frames); :meth:`spat_states` gives a SPAT's phase states as columns.

    A SPAT frame is decoded once by asn1tools; its changing fields (msgCnt, moy, the
    timestamps, every TimeMark: fixed-width constrained integers) are located as the SPAT
    templates locate them (:func:`_locate_fields`, a few asn1tools encodes, shared by frames
    of one shape), which gives its *layout*: the frame's other bits. A later frame of the same
    length whose other bits equal a known layout's is that layout's value with its own field
    values (UPER writes such integers at fixed bits, and nothing else in the frame depends on
    them), so only those integers are read from the frame and the value is parsed as
    ``decode_frame`` parses asn1tools' value (~25 us instead of ~0.4 ms). A field beyond its
    upper bound (an invalid frame) and any other frame go to ``decode_frame``. A frame on the
    fast path always decodes: its layout's value parsed, and no check of the value classes
    depends on the changing fields beyond their bounds.

    Args:
        max_layouts: stop learning layouts beyond this many (memory bound).
        profile: the conformance profile of the frames (``decode_frame``'s ``profile``).
    """

    def __init__(self, *, max_layouts: int = 20_000, profile: str | None = None) -> None:
        self._profile = resolve_profile(profile).name
        self._groups: dict[int, list[_ReadGroup]] = {}
        self.fast_decodes = 0  # frames read on the fast path (for tests and profiles)
        self._n_layouts = 0
        self._max_layouts = max_layouts

    def decode(self, data: bytes, *, now_ns: int | None = None) -> Message:
        """``decode_frame(data, now_ns=now_ns, profile=...)`` (see the class docstring)."""
        known = self._known_layout(data)
        if known is not None:
            proto, vals = known
            for path, v in zip(proto.paths, vals, strict=True):
                _set_path(proto.value[1], path, v)
            self.fast_decodes += 1
            return _parse_frame(_ASN, proto.value, now_ns)
        value = _decode_value(data, self._profile)
        msg = _parse_frame(_ASN, value, now_ns)
        if self._n_layouts < self._max_layouts:
            self._learn(bytes(data), value)
        return msg

    def spat_states(self, data: bytes, *, now_ns: int | None = None) -> SpatPhaseStates:
        """The phase states of a SPAT frame as columns: ``SpatPhaseStates.of([decode(data,
        now_ns=now_ns)])`` (tested), read on the fast path from the frame's changing fields
        alone (a few us: no value objects are built).

        Raises DecodeError as :meth:`decode`, and for a frame that holds another message.
        """
        known = self._known_layout(data)
        if known is not None:
            proto, vals = known
            if proto.spat_plan is None:
                proto.spat_plan = _SpatPlan(proto.value, proto.paths)
            self.fast_decodes += 1
            return proto.spat_plan.read(vals, now_ns)
        msg = self.decode(data, now_ns=now_ns)
        if not isinstance(msg, Spat):
            raise DecodeError(f"MessageFrame: a SPAT was expected, got a {type(msg).__name__}")
        return SpatPhaseStates.of([msg])

    def _known_layout(self, data: bytes) -> tuple[_Proto, list[int]] | None:
        """The learnt layout of ``data`` and the values of its changing fields; None when no
        layout matches or a field is beyond its upper bound (then asn1tools refuses it, with
        its own message)."""
        groups = self._groups.get(len(data)) if isinstance(data, bytes) else None
        if not groups:
            return None
        x = int.from_bytes(data, "big")
        for g in groups:
            proto = g.protos.get(x & g.mask)
            if proto is None:
                continue
            vals = [(x >> s) & ones for s, ones in zip(g.shifts, g.ones, strict=True)]
            if not all(map(operator.le, vals, g.his)):
                return None
            return proto, vals
        return None

    def _learn(self, data: bytes, value: Any) -> None:
        """Remember the layout of a decoded SPAT frame (nothing for other frames)."""
        fields = _spat_fields(value)
        if fields is None:
            return
        try:
            layout = _locate_fields(value, fields)
        except EncodeError:
            return  # a frame this scheme does not cover keeps the slow path
        if layout.nbytes != len(data):
            return
        x = int.from_bytes(data, "big")
        widths = tuple(w for _, w, _ in fields)
        field_bits = sum(((1 << w) - 1) << s for w, s in zip(widths, layout.shifts,
                                                             strict=True))
        mask = ((1 << 8 * layout.nbytes) - 1) ^ field_bits
        if x & mask != layout.base:  # the frame is not asn1tools' own encoding: keep away
            return
        his = tuple(hi for _, _, hi in fields)
        groups = self._groups.setdefault(layout.nbytes, [])
        group = next((g for g in groups if (g.mask, g.shifts, g.his) == (
            mask, layout.shifts, his)), None)
        if group is None:
            group = _ReadGroup(mask, layout.shifts, tuple((1 << w) - 1 for w in widths), his,
                               {})
            groups.append(group)
        group.protos[layout.base] = _Proto(value, tuple(p for p, _, _ in fields))
        self._n_layouts += 1
