"""RSM UPER frames from columns: the roadside perception hot path without asn1tools.

An RSU sends the road users its sensors perceive as RSMs (T/CSAE 53-2020
RoadsideSafetyMessage, STANDARDS.md section 1), up to 16 participants per message, every
100 ms. :func:`v2x.messages.encode_frame` of an :class:`~v2x.messages.Rsm` builds one
``Participant`` object per user and encodes through asn1tools (~0.3 ms per frame); here the
participants arrive as :class:`RsmParticipants` columns in standard units and
:class:`RsmFrameEncoder` writes the same UPER bits directly (X.691 unaligned; every field is a
constrained INTEGER or ENUMERATED of fixed width, so a frame is the concatenation below).
Tested byte for byte against ``encode_frame`` of the equivalent ``Rsm``.

Frame layout (bits, MSB first; the ``...`` markers of the modules give the extension bits)::

    MessageFrame: ext 0 (1) + alternative 2 = rsmFrame of 0..4 (3)                     4
    RoadsideSafetyMessage: ext 0 (1) | msgCnt (7) | id, 8 octets (64)                   72
    refPos: elevation present (1) | lat + 900000000 (31) | long + 1799999999 (32)
            | elevation + 4096 (16, when present)                                   64 / 80
    participants: count - 1 (4), then per participant (ParticipantData):
      ext 0 (1) | presence of id, transmission, angle, motionCfd (4, always 0),
              accelSet (1), vehicleClass (1)                                           7
      ptcType: ext 0 (1) + 0..4 (3) | ptcId (16) | source: ext 0 (1) + 0..7 (3)       24
      secMark (16)                                                                     16
      pos (PositionOffsetLLV): offsetV absent (1) + offsetLL alternative 0..6 (3),
          then lon, lat: position-LL1..LL6 as offsets from refPos of 12, 14, 16, 18,
          22, 24 bits each (value - lower bound), the shortest that holds both; or
          position-LatLon: long + 1799999999 (32), lat + 900000000 (31)     4 + 24..48 / 63
      posConfidence: elevation absent (1) + pos (4) | speed (13) | heading (15)       33
      accelSet (when present): long + 2000 (12) | lat + 2000 (12) | vert + 127 (8)
          | yaw + 32767 (16)                                                       0 / 48
      size: height absent (1) | width (10) | length (12)                               23
      vehicleClass (when present): ext 0 (1) + fuelType absent (1)
          | classification (8)                                                     0 / 10
    zero bits to a whole octet (X.691 11.1)

Participants carry no ``id``, ``transmission``, ``angle``, ``motionCfd``, ``height`` nor
elevation offset (what roadside perception reports); a message with those goes through
``encode_frame``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from v2x.errors import EncodeError
from v2x.messages import _units as u
from v2x.messages._map import Position3D

__all__ = ["MAX_PARTICIPANTS", "RsmFrameEncoder", "RsmParticipants"]

#: ParticipantList ::= SEQUENCE (SIZE (1..16)) OF ParticipantData
MAX_PARTICIPANTS = 16

#: bits per coordinate of position-LL1 .. position-LL6 (OffsetLL-B12 .. OffsetLL-B24)
_LL_BITS = (12, 14, 16, 18, 22, 24)
#: the largest magnitude each of them holds (two's complement: -2^(b-1) .. 2^(b-1) - 1)
_LL_HI = tuple((1 << (b - 1)) - 1 for b in _LL_BITS)
_LL_BITS_ARR = np.array(_LL_BITS, np.int64)
_LL_HI_ARR = np.array(_LL_HI, np.int64)
#: PositionOffsetLL alternative index of position-LatLon (absolute, Position-LLmD-64b)
_LATLON = 6

#: lower bounds of the elements sent as (value - lower bound)
_LAT_LO, _LON_LO, _ELEV_LO = -900_000_000, -1_799_999_999, -4096
_ACCEL_LO, _VERT_LO, _YAW_LO = -2000, -127, -32767

#: (column, ASN.1 field, lower bound, upper bound) of every integer column
_RANGES = (
    ("ptc_type", "ptcType", 0, 4), ("ptc_id", "ptcId", 0, 65535), ("source", "source", 0, 7),
    ("sec_mark", "secMark", 0, 65535),
    ("lat", "pos.lat", _LAT_LO, u.LATITUDE_UNAVAILABLE),
    ("lon", "pos.long", _LON_LO, u.LONGITUDE_UNAVAILABLE),
    ("pos_confidence", "posConfidence.pos", 0, 15), ("speed", "speed", 0, 8191),
    ("heading", "heading", 0, 28800), ("width", "size.width", 0, 1023),
    ("length", "size.length", 0, 4095),
)
#: the columns of optional fields, checked where the field is present
_ACCEL_RANGES = (("accel_long", "accelSet.long", _ACCEL_LO, u.ACCELERATION_UNAVAILABLE),
                 ("accel_lat", "accelSet.lat", _ACCEL_LO, u.ACCELERATION_UNAVAILABLE),
                 ("accel_vert", "accelSet.vert", _VERT_LO, 127),
                 ("yaw_rate", "accelSet.yaw", _YAW_LO, 32767))
_CLASS_RANGE = ("classification", "vehicleClass.classification", 0, 255)
#: the columns of a participant's row, as :func:`_raise_first_out_of_range` reads them
_ROW = (*(name for name, _, _, _ in _RANGES), "accel_set",
        *(name for name, _, _, _ in _ACCEL_RANGES), "vehicle_class", "classification")

#: the linear elements :meth:`RsmParticipants.from_si` converts: (column, its
#: :mod:`v2x.messages._units` encoder, LSB [SI unit], lowest and highest integer of the valid
#: range: a finite SI value that rounds into it encodes to ``rint(value / LSB)`` itself, with
#: no sentinel, saturation or wrap)
_LINEAR = (
    ("lat", u.encode_latitude, 1e-7, -900_000_000, 900_000_000),
    ("lon", u.encode_longitude, 1e-7, -1_799_999_999, 1_800_000_000),
    ("speed", u.encode_speed, 0.02, 0, 8190),
    ("heading", u.encode_heading, 0.0125, 0, 28799),
    ("accel_long", u.encode_acceleration, 0.01, -2000, 2000),
    ("width", u.encode_vehicle_width, 0.01, 1, 1023),
    ("length", u.encode_vehicle_length, 0.01, 1, 4095),
)
_LINEAR_LSB = np.array([[lsb] for _, _, lsb, _, _ in _LINEAR])
_LINEAR_LO = np.array([[lo] for _, _, _, lo, _ in _LINEAR], np.float64)
_LINEAR_HI = np.array([[hi] for _, _, _, _, hi in _LINEAR], np.float64)


@dataclass(frozen=True)
class RsmParticipants:
    """RSM participants (T/CSAE 53-2020 ParticipantData) as ``(k,)`` integer columns in the
    standard's units, in the order they are sent.

    Attributes:
        ptc_type: ParticipantType 0..4 (0 unknown, 1 motor, 2 non-motor, 3 pedestrian,
            4 rsu).
        ptc_id: 0..65535 (0 = the RSU itself).
        source: SourceType 0..7 (0 unknown .. 7 integrated).
        sec_mark: DSecond [ms within the UTC minute] 0..65535 (>= 60000 unavailable).
        lat, lon: absolute Latitude / Longitude [1e-7 deg] (900000001 / 1800000001
            unavailable); sent as an offset from the RSM's refPos.
        pos_confidence: PositionConfidence 0..15 (0 unavailable, 1 a500m .. 15 a1cm).
        speed: Speed [0.02 m/s] 0..8191. heading: Heading [0.0125 deg] 0..28800.
        accel_set: bool, accelSet present; then ``accel_long``, ``accel_lat`` Acceleration
            [0.01 m/s²] -2000..2001, ``accel_vert`` VerticalAcceleration [0.02 g] -127..127,
            ``yaw_rate`` YawRate [0.01 deg/s] -32767..32767 (not read where absent).
        width, length: VehicleWidth / VehicleLength [cm] 0..1023 / 0..4095.
        vehicle_class: bool, vehicleClass present; then ``classification``
            BasicVehicleClass 0..255 (not read where absent).

    Ranges are checked when a frame is encoded (:class:`RsmFrameEncoder`). Raises
    EncodeError naming the column when the columns differ in length or one is not of
    integers (booleans for the two presence columns).
    """

    ptc_type: np.ndarray
    ptc_id: np.ndarray
    source: np.ndarray
    sec_mark: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    pos_confidence: np.ndarray
    speed: np.ndarray
    heading: np.ndarray
    accel_set: np.ndarray
    accel_long: np.ndarray
    accel_lat: np.ndarray
    accel_vert: np.ndarray
    yaw_rate: np.ndarray
    width: np.ndarray
    length: np.ndarray
    vehicle_class: np.ndarray
    classification: np.ndarray

    def __post_init__(self) -> None:
        k = len(self.ptc_type)
        for name, kinds in _COLUMN_KINDS:
            col = getattr(self, name)
            if not isinstance(col, np.ndarray) or col.shape != (k,) \
                    or col.dtype.kind not in kinds:
                raise EncodeError(f"RsmParticipants.{name}: expected a ({k},) array of "
                                  f"{'booleans' if kinds == 'b' else 'integers'}, got {col!r}")

    @property
    def n(self) -> int:
        """Number of participants."""
        return len(self.ptc_type)

    @classmethod
    def from_si(cls, *, ptc_type: np.ndarray, ptc_id: np.ndarray, source: int,
                sec_mark_s: float | np.ndarray, lat_deg: np.ndarray, lon_deg: np.ndarray,
                pos_confidence: int, speed_mps: np.ndarray, heading_deg: np.ndarray,
                accel_mps2: np.ndarray, width_m: np.ndarray, length_m: np.ndarray,
                classification: np.ndarray) -> RsmParticipants:
        """Participants of roadside perception from ``(k,)`` SI columns, converted exactly as
        :func:`~v2x.messages.encode_frame` converts the equivalent ``Participant`` (the
        :mod:`v2x.messages._units` rules: rounding, sentinels, saturation, errors).

        Args:
            ptc_type: (k,) ParticipantType. ptc_id: (k,) 0..65535.
            source: the SourceType of every participant. sec_mark_s: their time within the
                UTC minute [s] (DSecond), one for all or (k,). pos_confidence: their
                PositionConfidence 0..15.
            lat_deg, lon_deg: (k,) absolute positions [deg].
            speed_mps: (k,) [m/s]. heading_deg: (k,) [deg] clockwise from north.
            accel_mps2: (k,) longitudinal acceleration [m/s²]: accelSet is sent where it is
                finite, with lateral and vertical acceleration unavailable and yaw rate 0
                (YawRate has no "unavailable" value); absent elsewhere.
            width_m, length_m: (k,) [m].
            classification: (k,) BasicVehicleClass: vehicleClass is sent where it is
                0..255, absent elsewhere (e.g. -1 = unknown).

        Raises EncodeError naming the element and the value for a value the standard cannot
        carry (a position off the globe, a negative speed, an infinite heading ...).
        """
        k = len(ptc_type)
        accel_set = np.isfinite(accel_mps2)
        classes = np.asarray(classification, np.int64)
        vehicle_class = (classes >= 0) & (classes <= 255)
        units = _linear_units(np.array([lat_deg, lon_deg, speed_mps, heading_deg,
                                        np.where(accel_set, accel_mps2, 0.0), width_m,
                                        length_m], np.float64))
        lat, lon, speed, heading, accel_long, width, length = units
        return cls(
            ptc_type=np.asarray(ptc_type), ptc_id=np.asarray(ptc_id),
            source=np.full(k, int(source)), sec_mark=np.full(k, u.encode_dsecond(sec_mark_s)),
            lat=lat, lon=lon, pos_confidence=np.full(k, int(pos_confidence)), speed=speed,
            heading=heading, accel_set=accel_set, accel_long=accel_long,
            accel_lat=np.full(k, u.ACCELERATION_UNAVAILABLE),
            accel_vert=np.full(k, u.VERTICAL_ACCELERATION_UNAVAILABLE),
            yaw_rate=np.zeros(k, np.int64), width=width, length=length,
            vehicle_class=vehicle_class, classification=np.where(vehicle_class, classes, 0))


#: (column, the kinds of numpy dtype it may have) of RsmParticipants, in field order
_COLUMN_KINDS = tuple((f.name, "b" if f.name in ("accel_set", "vehicle_class") else "iu")
                      for f in fields(RsmParticipants))


def _linear_units(si: np.ndarray) -> np.ndarray:
    """The standard units (7, k) int64 of SI rows (7, k) in :data:`_LINEAR` order, exactly
    what each row's :mod:`v2x.messages._units` encoder gives.

    A finite SI value whose ``rint(value / LSB)`` lies in the element's valid range encodes to
    just that (round half to even, as ``_units`` rounds); when every value is such (the
    usual case) the rows are converted in one numpy pass. Otherwise every row goes through its
    encoder (NaN sentinels, saturation, the heading wrap, EncodeError naming the element and
    the value), so the rules live in ``_units`` alone.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf / NaN: the encoders decide
        scaled = np.rint(si / _LINEAR_LSB)
    if ((scaled >= _LINEAR_LO) & (scaled <= _LINEAR_HI)).all():
        return scaled.astype(np.int64)
    return np.array([encode(row) for (_, encode, _, _, _), row in zip(_LINEAR, si, strict=True)],
                    np.int64).reshape(si.shape)


class RsmFrameEncoder:
    """UPER MessageFrame bytes of the RSMs of one RSU: its id and reference position are
    fixed, msgCnt and the participants change per message.

    :meth:`encode` gives exactly ``encode_frame(Rsm(msg_cnt, station_id, ref_pos,
    participants))`` for the equivalent ``Participant`` values (tested), in Python integer
    arithmetic on the layout of the module docstring (~5 us per frame of a few participants
    instead of ~0.3 ms).

    Args:
        station_id: the RSU id (the RSM's ``id``), 8 octets.
        ref_pos: the reference position (refPos); participants are sent as offsets from it.

    Raises:
        EncodeError: ``station_id`` not 8 bytes, or ``ref_pos`` outside the Latitude /
            Longitude ranges (:mod:`v2x.messages._units`).
    """

    __slots__ = ("_ref_bits", "_ref_lat", "_ref_lon", "_ref_width")

    def __init__(self, station_id: bytes, ref_pos: Position3D) -> None:
        if not isinstance(station_id, bytes) or len(station_id) != 8:
            raise EncodeError(f"Rsm.id must be 8 bytes, got {station_id!r}")
        lat = int(u.encode_latitude(ref_pos.lat_deg))
        lon = int(u.encode_longitude(ref_pos.lon_deg))
        # id | refPos (X.691: a SEQUENCE's optional elevation has a presence bit first)
        bits = int.from_bytes(station_id, "big") << 1
        if ref_pos.elevation_m is not None:
            bits |= 1
        bits = (bits << 31 | lat - _LAT_LO) << 32 | lon - _LON_LO
        width = 64 + 1 + 31 + 32
        if ref_pos.elevation_m is not None:
            bits = bits << 16 | int(u.encode_elevation(ref_pos.elevation_m)) - _ELEV_LO
            width += 16
        self._ref_bits, self._ref_width = bits, width
        self._ref_lat, self._ref_lon = lat, lon

    def encode(self, msg_cnt: int, participants: RsmParticipants) -> bytes:
        """The UPER MessageFrame of one RSM.

        Args:
            msg_cnt: MsgCount 0..127.
            participants: 1..16 participants (:data:`MAX_PARTICIPANTS`).

        Raises EncodeError naming the field and the value when ``msg_cnt`` or a column is out
        of its element's range, or for a participant count outside 1..16.
        """
        if not 1 <= participants.n <= MAX_PARTICIPANTS:
            raise EncodeError(f"RSM participants: {participants.n} participants; an RSM holds "
                              f"1..{MAX_PARTICIPANTS}")
        return self.frames([msg_cnt], participants)[0]

    def frames(self, msg_cnts: Sequence[int], participants: RsmParticipants,
               groups: Sequence[int] | None = None) -> list[bytes]:
        """The UPER MessageFrames carrying ``participants`` in order, 16 per RSM (the last
        one of a group fewer): frame ``i`` has msgCnt ``msg_cnts[i]``.

        Args:
            msg_cnts: the msgCnt (0..127) of every frame, in order.
            participants: the participants of every frame, in order.
            groups: how many participants each run of frames carries (e.g. the RSMs of one
                step; a run never shares a frame with the next), in order, each >= 1;
                ``None``: one run of all of them.

        Raises EncodeError naming the field and the value when a msgCnt or a column is out of
        its element's range, or when ``len(msg_cnts)`` is not the number of frames,
        ceil(k / 16) per group (at least 1: an RSM has at least one participant), or the
        groups do not add up to the participants.
        """
        k = participants.n
        sizes = [k] if groups is None else [int(g) for g in groups]
        if k == 0 or min(sizes, default=0) < 1:
            raise EncodeError(f"RSM participants: none; an RSM holds 1..{MAX_PARTICIPANTS}")
        if sum(sizes) != k:
            raise EncodeError(f"RSM: groups of {sum(sizes)} participants, got {k}")
        n_frames = sum(-(-g // MAX_PARTICIPANTS) for g in sizes)
        if len(msg_cnts) != n_frames:
            raise EncodeError(f"RSM: {k} participants make {n_frames} frames, got "
                              f"{len(msg_cnts)} msgCnt values")
        for cnt in msg_cnts:
            if not 0 <= cnt <= 127:
                raise EncodeError(f"RSM msgCnt: value {cnt!r} is outside 0..127")
        bodies = self._participant_bits(participants)
        out = []
        cnts = iter(msg_cnts)
        start = 0
        for g in sizes:
            for i in range(start, start + g, MAX_PARTICIPANTS):
                out.append(self._frame(next(cnts), bodies[i:min(i + MAX_PARTICIPANTS,
                                                                start + g)]))
            start += g
        return out

    def _frame(self, msg_cnt: int, bodies: Sequence[tuple[int, int]]) -> bytes:
        """One frame: the head, the participants' (bits, width) in order, the padding."""
        # MessageFrame: ext 0 + alternative 2 (0b0010); RSM: ext 0 | msgCnt | id | refPos
        x = ((0b0010 << 1 | 0) << 7 | msg_cnt) << self._ref_width | self._ref_bits
        x = x << 4 | len(bodies) - 1
        nbits = 5 + 7 + self._ref_width + 4
        for bits, width in bodies:
            x = x << width | bits
            nbits += width
        pad = -nbits % 8
        return (x << pad).to_bytes((nbits + pad) // 8, "big")

    def _participant_bits(self, p: RsmParticipants) -> list[tuple[int, int]]:
        """Every participant's ParticipantData as (bits as an int, width [bits]), in order, in
        the layout of the module docstring: the fixed-width runs of fields are assembled in
        numpy (each fits an int64), then joined per participant.

        Raises EncodeError for a value out of its element's range (the first one in
        participant order, then field order)."""
        if not _in_ranges(p):
            _raise_first_out_of_range(p)
        c = {name: getattr(p, name).astype(np.int64, copy=False)  # shifts in int64
             for name in _ROW}
        acc, vc = c["accel_set"], c["vehicle_class"]
        # ext 0, id / transmission / angle / motionCfd absent, accelSet?, vehicleClass? (7);
        # ptcType, ptcId, source (24: enums are ext 0 + index); secMark (16); pos: offsetV
        # absent + the offsetLL alternative (4)
        form, ll, ll_width = self._offset_ll(c["lat"], c["lon"])
        head = ((((acc << 1 | vc) << 4 | c["ptc_type"]) << 16 | c["ptc_id"]) << 4
                | c["source"]) << 16 | c["sec_mark"]
        head = head << 4 | form
        # posConfidence: elevation absent + pos (5) | speed (13) | heading (15)
        motion = (c["pos_confidence"] << 13 | c["speed"]) << 15 | c["heading"]
        accel = (((c["accel_long"] - _ACCEL_LO) << 12 | c["accel_lat"] - _ACCEL_LO) << 8
                 | c["accel_vert"] - _VERT_LO) << 16 | c["yaw_rate"] - _YAW_LO
        # size: height absent (1) | width (10) | length (12); vehicleClass: ext 0 +
        # fuelType absent (2) | classification (8)
        size = c["width"] << 12 | c["length"]
        size = np.where(vc == 1, size << 10 | c["classification"], size)
        size_width = 23 + 10 * vc
        width = 51 + ll_width + 33 + 48 * acc + size_width
        out = []
        for h, o, w, m, a, has_a, z, zw, n in zip(
                head.tolist(), ll.tolist(), ll_width.tolist(), motion.tolist(), accel.tolist(),
                acc.tolist(), size.tolist(), size_width.tolist(), width.tolist(), strict=True):
            x = (h << w | o) << 33 | m
            if has_a:
                x = x << 48 | a
            out.append((x << zw | z, n))
        return out

    def _offset_ll(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
        """PositionOffsetLL of absolute positions [1e-7 deg] (k,): (alternative index, its lon
        and lat fields as one int, their width [bits]), each (k,) int64. The shortest offset
        form that holds both deltas from refPos, position-LatLon when none does or a
        coordinate is unavailable (as :func:`v2x.messages.encode_frame` picks)."""
        dlat, dlon = lat - self._ref_lat, lon - self._ref_lon
        magnitude = np.maximum(np.maximum(dlat, dlon), np.maximum(-dlat - 1, -dlon - 1))
        form = np.searchsorted(_LL_HI_ARR, magnitude, side="left")  # = bisect_left
        form[(lat == u.LATITUDE_UNAVAILABLE) | (lon == u.LONGITUDE_UNAVAILABLE)] = _LATLON
        b = _LL_BITS_ARR[np.minimum(form, _LATLON - 1)]
        half = np.int64(1) << (b - 1)  # offset - lower bound = offset + 2^(b-1)
        offset = form < _LATLON
        ll = np.where(offset, (dlon + half) << b | dlat + half,
                      (lon - _LON_LO) << 31 | lat - _LAT_LO)
        return form.astype(np.int64), ll, np.where(offset, 2 * b, 63)


def _raise_first_out_of_range(p: RsmParticipants) -> None:
    """EncodeError for the first value of ``p`` out of its element's range, participant by
    participant (optional fields where present)."""
    rows = zip(*(getattr(p, name).tolist() for name in _ROW), strict=True)
    for row in rows:
        (accel_set, accel_long, accel_lat, accel_vert, yaw_rate, vehicle_class,
         classification) = row[len(_RANGES):]
        _check(_RANGES, row[:len(_RANGES)])
        if accel_set:
            _check(_ACCEL_RANGES, (accel_long, accel_lat, accel_vert, yaw_rate))
        if vehicle_class:
            _check((_CLASS_RANGE,), (classification,))


def _in_ranges(p: RsmParticipants) -> bool:
    """Every value of ``p`` lies in its element's range (optional fields where present):
    the per-participant checks of :func:`_check` in one numpy pass per column."""
    ok = all(bool(((col >= lo) & (col <= hi)).all())
             for col, lo, hi in ((getattr(p, name), lo, hi) for name, _, lo, hi in _RANGES))
    for name, _, lo, hi in _ACCEL_RANGES:
        col = getattr(p, name)
        ok = ok and bool(((col >= lo) & (col <= hi) | ~p.accel_set).all())
    name, _, lo, hi = _CLASS_RANGE
    col = getattr(p, name)
    return ok and bool(((col >= lo) & (col <= hi) | ~p.vehicle_class).all())


def _check(ranges: Sequence[tuple[str, str, int, int]], values: Sequence[int]) -> None:
    """EncodeError naming the RSM field and the value of the first of ``values`` outside its
    range (``ranges``: (column, ASN.1 field, lower bound, upper bound) per value)."""
    for (_, field, lo, hi), v in zip(ranges, values, strict=True):
        if not lo <= v <= hi:
            raise EncodeError(f"RSM participants.{field}: value {v!r} is outside {lo}..{hi}")
