"""RSM (roadside safety message) value classes, T/CSAE 53-2020, in SI units.

Structure (STANDARDS.md section 1)::

    Rsm {msgCnt, id (RSU, 8 octets), refPos, participants (1..16)}
      Participant {ptcType, ptcId, source, id?, secMark, pos (offset from refPos),
                   posConfidence, speed, heading, accelSet?, size, vehicleClass?}

``pos`` is absolute here; the codec sends it as an offset from ``ref_pos``. NaN means
"unavailable" and is sent as the element's sentinel (:mod:`v2x.messages._units`).
"""

from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass

from v2x.errors import EncodeError
from v2x.messages._map import Position3D

__all__ = ["Participant", "ParticipantType", "Rsm", "SourceType"]


def _check_int(name: str, value: object, lo: int, hi: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not lo <= int(value) <= hi):
        raise EncodeError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


class ParticipantType(enum.IntEnum):
    """``ParticipantType`` ENUMERATED."""

    UNKNOWN = 0
    MOTOR = 1
    NON_MOTOR = 2
    PEDESTRIAN = 3
    RSU = 4


class SourceType(enum.IntEnum):
    """``SourceType`` ENUMERATED: how the RSU knows of the participant."""

    UNKNOWN = 0
    SELFINFO = 1
    V2X = 2
    VIDEO = 3
    MICROWAVE_RADAR = 4
    LOOP = 5
    LIDAR = 6
    INTEGRATED = 7


@dataclass(frozen=True, kw_only=True)
class Participant:
    """``ParticipantData``: one traffic participant the RSU detected.

    Args:
        ptc_type, ptc_id (0..65535), source.
        sec_mark_s: [s] within the UTC minute; NaN = unavailable.
        pos: absolute position (sent as an offset from the RSM's ``ref_pos``).
        pos_confidence: PositionConfidence 0..15 (0 unavailable).
        speed_mps [m/s], heading_deg [deg]: NaN = unavailable.
        width_m, length_m [m]: NaN = invalid; height_m [m] or ``None``.
        accel: (long, lat, vert [m/s²], yaw [deg/s]) or ``None`` (absent).
        classification: BasicVehicleClass 0..255 or ``None`` (absent).
        id: 8 bytes or ``None``.
    """

    ptc_type: ParticipantType
    ptc_id: int
    source: SourceType
    sec_mark_s: float
    pos: Position3D
    speed_mps: float
    heading_deg: float
    width_m: float
    length_m: float
    height_m: float | None = None
    pos_confidence: int = 0
    accel: tuple[float, float, float, float] | None = None
    classification: int | None = None
    id: bytes | None = None

    def __post_init__(self) -> None:
        _check_int("Participant.ptc_id", self.ptc_id, 0, 65535)
        _check_int("Participant.pos_confidence", self.pos_confidence, 0, 15)
        _check_int("Participant.classification", self.classification, 0, 255, optional=True)
        if self.id is not None and (not isinstance(self.id, bytes) or len(self.id) != 8):
            raise EncodeError(f"Participant.id must be 8 bytes, got {self.id!r}")
        if self.accel is not None and (len(self.accel) != 4
                                       or not math.isfinite(self.accel[3])):
            raise EncodeError(f"Participant.accel must be (long, lat, vert, finite yaw), "
                              f"got {self.accel!r}")
        try:
            object.__setattr__(self, "ptc_type", ParticipantType(self.ptc_type))
            object.__setattr__(self, "source", SourceType(self.source))
        except ValueError as exc:
            raise EncodeError(f"Participant: bad ptc_type/source "
                              f"{self.ptc_type!r}/{self.source!r}") from exc


@dataclass(frozen=True)
class Rsm:
    """The RSM: ``msg_cnt`` 0..127, RSU ``id`` (8 bytes), ``ref_pos``, 1..16 participants."""

    msg_cnt: int
    id: bytes
    ref_pos: Position3D
    participants: tuple[Participant, ...]

    def __post_init__(self) -> None:
        _check_int("Rsm.msg_cnt", self.msg_cnt, 0, 127)
        if not isinstance(self.id, bytes) or len(self.id) != 8:
            raise EncodeError(f"Rsm.id must be 8 bytes, got {self.id!r}")
        if not isinstance(self.participants, tuple) or not 1 <= len(self.participants) <= 16:
            raise EncodeError("Rsm.participants must be a tuple of 1..16 Participant")
