"""The RSM message source: road users an RSU's own sensors perceive (roadside perception).

Model (per RSU, per RSM period, vectorized over the road users of the step):

1. candidates: the users whose true position lies within ``range_m`` of the RSU (an exact
   cut on the true distance), and with ``which="unequipped"`` only those without an OBU
   (non-equipped vehicles and pedestrians: what V2X does not hear otherwise);
2. detection: each candidate independently with ``detection_probability``;
3. position: the true x, y plus N(0, ``position_sigma_m``) noise per axis [m];
   speed, heading, acceleration and size are sent as they are.

The draws come from the RSU's own generator (seeded from the run's seed), so a run is
reproducible. Detected users are sent in ascending node order, at most 16 per RSM (more ->
several RSMs of the same step, each with the next msgCnt). No detected user: no RSM.

Participant fields (T/CSAE 53-2020 RSM, STANDARDS.md section 1): ``ptcType`` from the user;
``ptcId`` = 1 + node mod 65535 (INTEGER 0..65535 with 0 = the RSU itself; stable per user
for a run; nodes 65535 apart share an id); ``source`` ``"integrated"`` (fused sensors) by
default; ``secMark`` = the step's ms within the UTC minute; ``pos`` offset from the RSU;
``posConfidence`` = the finest PositionConfidence class whose bound is at least 2.45 sigma
(the radius holding 95 % of a circular Gaussian's errors; (to verify) against the standard's
meaning of the classes); ``accelSet`` (longitudinal acceleration; lateral and vertical
unavailable, yaw rate 0: YawRate has no "unavailable") when the acceleration is finite;
``vehicleClass`` when the classification is 0..255.

Period: 100 ms (T/CSAE 159-2020 as cited in STANDARDS.md section 2, (to verify)).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from roadside._sources import (
    MsgCount,
    RsuContext,
    check_payload,
    check_period,
    outgoing,
    register_source,
)
from v2x.errors import ConfigError
from v2x.messages._map import Position3D
from v2x.messages._rsm import Participant, ParticipantType, Rsm, SourceType
from v2x.messages._rsm_frame import MAX_PARTICIPANTS, RsmFrameEncoder, RsmParticipants
from v2x.sim import Outgoing, RoadUsers

__all__ = ["RsmConfig", "RsmSource", "perceive"]

#: PositionConfidence classes 1..15 (a500m .. a1cm): their bounds [m]
_POS_CONF_BOUNDS_M = np.array([500, 200, 100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02,
                               0.01])
_WHICH = ("unequipped", "all")
_SOURCES = {"unknown": SourceType.UNKNOWN, "selfinfo": SourceType.SELFINFO,
            "v2x": SourceType.V2X, "video": SourceType.VIDEO,
            "microwaveRadar": SourceType.MICROWAVE_RADAR, "loop": SourceType.LOOP,
            "lidar": SourceType.LIDAR, "integrated": SourceType.INTEGRATED}


@dataclass(frozen=True)
class RsmConfig:
    """Roadside perception and its RSM.

    Args:
        range_m: sensor range around the RSU [m] (default 150 m: an assumption for a camera
            / radar set at a junction, not a standard's value).
        detection_probability: chance that a user in range is detected in one period, 0..1
            (default 0.95, an assumption).
        position_sigma_m: standard deviation of the position error per axis [m] (default
            0.5 m, an assumption; lane-level accuracy is <= 1.5 m, STANDARDS.md section 7).
        which: ``"unequipped"`` (users without an OBU: non-equipped vehicles and
            pedestrians; default) or ``"all"``.
        period_ns: [ns] default 100 ms (T/CSAE 159, (to verify)).
        source: the SourceType name sent in every participant (default ``"integrated"``;
            ``"video"``, ``"microwaveRadar"``, ``"lidar"`` ...).
        at: names of the RSUs that have roadside sensors (not every RSU of a deployment
            has them); empty (default): every RSU.

    Raises ConfigError naming the key (``rsm.<field>``) and the bad value.
    """

    range_m: float = 150.0
    detection_probability: float = 0.95
    position_sigma_m: float = 0.5
    which: str = "unequipped"
    period_ns: int = 100_000_000
    source: str = "integrated"
    at: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (isinstance(self.range_m, numbers.Real) and math.isfinite(self.range_m)
                and self.range_m > 0):
            raise ConfigError("range_m must be > 0 [m]", key="rsm.range_m", value=self.range_m)
        if not (isinstance(self.detection_probability, numbers.Real)
                and 0.0 <= self.detection_probability <= 1.0):
            raise ConfigError("detection_probability must be in 0..1",
                              key="rsm.detection_probability", value=self.detection_probability)
        if not (isinstance(self.position_sigma_m, numbers.Real)
                and math.isfinite(self.position_sigma_m) and self.position_sigma_m >= 0):
            raise ConfigError("position_sigma_m must be >= 0 [m]", key="rsm.position_sigma_m",
                              value=self.position_sigma_m)
        if self.which not in _WHICH:
            raise ConfigError(f"which must be one of {list(_WHICH)}", key="rsm.which",
                              value=self.which)
        if self.source not in _SOURCES:
            raise ConfigError(f"source must be one of {list(_SOURCES)}", key="rsm.source",
                              value=self.source)
        check_period("rsm.period", self.period_ns)

    @property
    def pos_confidence(self) -> int:
        """The PositionConfidence class (0..15) sent for ``position_sigma_m``."""
        ok = np.flatnonzero(_POS_CONF_BOUNDS_M >= 2.45 * self.position_sigma_m)
        return int(ok[-1]) + 1 if ok.size else 0


@dataclass(frozen=True)
class Perceived:
    """What an RSU perceived in one period: (k,) rows, ascending node.

    Attributes: ``rows`` int64 row indices into the :class:`RoadUsers`; ``x``, ``y`` the
    perceived positions [m]."""

    rows: np.ndarray
    x: np.ndarray
    y: np.ndarray


def perceive(users: RoadUsers, x0: float, y0: float, cfg: RsmConfig,
             rng: np.random.Generator) -> Perceived:
    """Roadside perception of ``users`` by a sensor at ``x0``, ``y0`` [m] (see the module
    docstring): which users are detected and where they are seen. Draws ``k`` uniforms for
    the ``k`` candidates, then ``2 d`` normals for the ``d`` detected (x then y per user)."""
    (idx,) = candidates(users, np.array([x0], np.float64), np.array([y0], np.float64), cfg)
    return detect(users, idx, cfg, rng)


def candidates(users: RoadUsers, x0: np.ndarray, y0: np.ndarray,
               cfg: RsmConfig) -> list[np.ndarray]:
    """The candidates of sensors at ``x0``, ``y0`` (m,) [m]: for each, the row indices
    (ascending, int64) of the users whose true position lies within ``cfg.range_m`` (and,
    with ``which="unequipped"``, that have no OBU); all sensors in one pass."""
    dx = users.x - x0[:, None]
    dy = users.y - y0[:, None]
    cand = dx * dx + dy * dy <= cfg.range_m * cfg.range_m
    if cfg.which == "unequipped":
        cand &= ~users.equipped.astype(bool, copy=False)
    rows, cols = np.nonzero(cand)  # row-major: each sensor's users in ascending order
    return np.split(cols.astype(np.int64, copy=False),
                    np.searchsorted(rows, np.arange(1, len(x0))))


def detect(users: RoadUsers, idx: np.ndarray, cfg: RsmConfig,
           rng: np.random.Generator) -> Perceived:
    """Which of the candidates ``idx`` (:func:`candidates`) one sensor detects and where it
    sees them: ``k`` uniforms for the ``k`` candidates, then ``2 d`` normals for the ``d``
    detected (x then y per user); nothing drawn without a candidate."""
    if idx.size == 0:  # nothing to draw (a draw of 0 numbers leaves the generator as it is)
        return Perceived(idx, np.empty(0), np.empty(0))
    det = idx[rng.random(idx.size) < cfg.detection_probability]
    if det.size > 1:
        det = det[np.argsort(users.node[det], kind="stable")]
    noise = rng.normal(0.0, cfg.position_sigma_m, (det.size, 2)) if cfg.position_sigma_m \
        else np.zeros((det.size, 2))
    return Perceived(det, users.x[det] + noise[:, 0], users.y[det] + noise[:, 1])


class Sensors:
    """The roadside sensors of the RSUs built together that share one RSM configuration:
    the candidates of a step's road users for all of them in one pass (:func:`candidates`),
    kept while the same :class:`RoadUsers` value is asked about (every RSU perceives the
    same users at a step).

    Args:
        cfg: their RSM configuration (range, which users).
    """

    def __init__(self, cfg: RsmConfig) -> None:
        self._cfg = cfg
        self._x: list[float] = []
        self._y: list[float] = []
        self._users: RoadUsers | None = None  # the users the candidates are of
        self._cand: list[np.ndarray] = []

    def add(self, x0: float, y0: float) -> int:
        """A sensor at ``x0``, ``y0`` [m]; returns its index."""
        self._x.append(float(x0))
        self._y.append(float(y0))
        self._users = None
        return len(self._x) - 1

    def candidates(self, users: RoadUsers, sensor: int) -> np.ndarray:
        """Sensor ``sensor``'s candidates among ``users`` (row indices, ascending)."""
        if users is not self._users:
            self._cand = candidates(users, np.array(self._x), np.array(self._y), self._cfg)
            self._users = users
        return self._cand[sensor]


@dataclass(frozen=True)
class _Seen:
    """The users an RSU perceived in one period, with what every RSM field is made of.

    Attributes: ``rows`` (k,) int64 row indices into the :class:`RoadUsers`, ascending node;
    ``lat_deg``, ``lon_deg`` (k,) the perceived positions [deg]; ``sec_mark_s`` the
    period's time within the UTC minute [s]."""

    rows: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sec_mark_s: float


class _Queued(NamedTuple):
    """What an RSU saw at one step, kept until its frames are encoded: (k,) columns,
    ascending node; ``x``, ``y`` the perceived positions [m], the rest the users' columns of
    :class:`RoadUsers`."""

    x: np.ndarray
    y: np.ndarray
    node: np.ndarray
    ptc_type: np.ndarray
    speed: np.ndarray
    heading_deg: np.ndarray
    accel: np.ndarray
    width: np.ndarray
    length: np.ndarray
    classification: np.ndarray


class RsmSource:
    """The RSM of one RSU (see the module docstring).

    The UPER frames come from :class:`~v2x.messages.RsmFrameEncoder` (exactly
    :func:`~v2x.messages.encode_frame` of :meth:`messages`, tested); with ``payload="json"``
    the bus payload is the JSON form of those messages and the frame rides along.

    Args:
        cfg: the perception settings. ctx: the RSU (position, station id, geo, first msgCnt,
            payload form, its own generator).
    """

    msg_type = "RSM"

    def __init__(self, cfg: RsmConfig, ctx: RsuContext) -> None:
        self.cfg = cfg
        self.period_ns = cfg.period_ns
        self._json = check_payload(ctx.payload)
        self._id = ctx.station_id
        self._ref = ctx.ref_pos
        self._x, self._y = ctx.x, ctx.y
        self._geo = ctx.geo
        self._rng = ctx.rng
        self._cnt = MsgCount(ctx.msg_cnt)
        self._source = _SOURCES[cfg.source]
        self._conf = cfg.pos_confidence
        self._encoder = RsmFrameEncoder(self._id, self._ref)
        # the sensors of every RSU built with this configuration, candidates in one pass
        self._sensors: Sensors = ctx.shared.setdefault(("RSM sensors", cfg), Sensors(cfg))
        self._sensor = self._sensors.add(ctx.x, ctx.y)
        # queued steps (uper): what was seen, its time within the minute [s], the msgCnts
        self._queued: list[_Queued] = []
        self._secs: list[float] = []
        self._cnts: list[int] = []
        self._ready: list[Outgoing] = []  # queued steps (json): their messages

    def _perceive(self, utc_ns: int, users: RoadUsers) -> _Seen | None:
        """The users perceived in the period at UTC ``utc_ns`` [ns], or None for nobody;
        draws from the generator (:func:`perceive`)."""
        if users.n == 0:
            return None
        seen = perceive(users, self._x, self._y, self.cfg, self._rng)
        if seen.rows.size == 0:
            return None
        lat, lon = self._geo.to_latlon(seen.x, seen.y)
        return _Seen(seen.rows, np.atleast_1d(lat), np.atleast_1d(lon),
                     (utc_ns % 60_000_000_000) / 1e9)

    def _columns(self, seen: _Seen, users: RoadUsers) -> RsmParticipants:
        """The perceived users as RSM participant columns in standard units (the fields of
        the module docstring, converted as ``encode_frame`` converts a ``Participant``).

        Raises EncodeError for a value the standard cannot carry (a negative speed, an
        infinite heading, ...)."""
        k = seen.rows
        return RsmParticipants.from_si(
            ptc_type=users.ptc_type[k], ptc_id=1 + users.node[k] % 65535, source=self._source,
            sec_mark_s=seen.sec_mark_s, lat_deg=seen.lat_deg, lon_deg=seen.lon_deg,
            pos_confidence=self._conf, speed_mps=users.speed[k],
            heading_deg=users.heading_deg[k], accel_mps2=users.accel[k],
            width_m=users.width[k], length_m=users.length[k],
            classification=users.classification[k])

    def _values(self, seen: _Seen, users: RoadUsers) -> list[Rsm]:
        """The perceived users as RSM values (msgCnt 0), 16 participants each."""
        k = seen.rows
        ptc_id = (1 + users.node[k] % 65535).tolist()
        ptc_type = users.ptc_type[k].tolist()
        speed = users.speed[k].tolist()
        heading = users.heading_deg[k].tolist()
        accel = users.accel[k].tolist()
        width = users.width[k].tolist()
        length = users.length[k].tolist()
        cls = users.classification[k].tolist()
        parts = [Participant(
            ptc_type=ParticipantType(ptc_type[j]), ptc_id=ptc_id[j], source=self._source,
            sec_mark_s=seen.sec_mark_s, pos=Position3D(lat_deg=a, lon_deg=o),
            pos_confidence=self._conf, speed_mps=speed[j], heading_deg=heading[j],
            width_m=width[j], length_m=length[j],
            accel=(accel[j], math.nan, math.nan, 0.0) if math.isfinite(accel[j]) else None,
            classification=cls[j] if 0 <= cls[j] <= 255 else None)
            for j, (a, o) in enumerate(zip(seen.lat_deg.tolist(), seen.lon_deg.tolist(),
                                           strict=True))]
        return [Rsm(msg_cnt=0, id=self._id, ref_pos=self._ref,
                    participants=tuple(parts[i:i + MAX_PARTICIPANTS]))
                for i in range(0, len(parts), MAX_PARTICIPANTS)]

    def messages(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Rsm]:
        """The RSMs of a due step (``msg_cnt`` 0, not taken) as values; draws from the
        generator as :meth:`transmit` does (the same step gives the same participants)."""
        seen = self._perceive(utc_ns, users)
        return [] if seen is None else self._values(seen, users)

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """The RSM frames due at ``t_ns`` [ns]; ``size_bytes`` = the UPER frame's length.
        (:meth:`queue` and :meth:`drain` at once: the frames queued before come first.)

        Raises EncodeError for a user value the standard cannot carry (see ``_columns``)."""
        self.queue(t_ns, utc_ns, users)
        return self.drain()

    def queue(self, t_ns: int, utc_ns: int, users: RoadUsers) -> int:
        """Perceive ``users`` at ``t_ns`` [ns] when an RSM is due (the generator's draws
        happen now, in step order) and keep what is seen; :meth:`drain` encodes the frames of
        every queued step at once. Returns how many RSM frames this step adds (0: none due or
        nobody seen). ``users`` must stay unchanged until then."""
        if t_ns % self.period_ns:
            return 0
        if self._json:  # the JSON form goes through message values: no batching
            out = self._transmit_now(t_ns, utc_ns, users)
            self._ready.extend(out)
            return len(out)
        if users.n == 0:
            return 0
        seen = detect(users, self._sensors.candidates(users, self._sensor), self.cfg,
                      self._rng)
        k = seen.rows
        if k.size == 0:
            return 0
        n_frames = -(-k.size // MAX_PARTICIPANTS)
        self._cnts.extend(self._cnt.take() for _ in range(n_frames))
        self._secs.append((utc_ns % 60_000_000_000) / 1e9)
        self._queued.append(_Queued(
            seen.x, seen.y, users.node[k],
            users.ptc_type[k], users.speed[k], users.heading_deg[k], users.accel[k],
            users.width[k], users.length[k], users.classification[k]))
        return n_frames

    def drain(self) -> list[Outgoing]:
        """The RSM frames of the steps queued since the last drain, in step order; one
        lat/lon conversion and one column conversion for all of them.

        Raises EncodeError for a user value the standard cannot carry (see ``_columns``)."""
        if self._ready:
            out, self._ready = self._ready, []
            return out
        if not self._queued:
            return []
        q, self._queued = self._queued, []
        cnts, self._cnts = self._cnts, []
        secs, self._secs = self._secs, []
        col = _Queued(*map(np.concatenate, zip(*q, strict=True)))
        sizes = [x.node.size for x in q]
        lat, lon = self._geo.to_latlon(col.x, col.y)
        parts = RsmParticipants.from_si(
            ptc_type=col.ptc_type, ptc_id=1 + col.node % 65535, source=self._source,
            sec_mark_s=np.repeat(secs, sizes),
            lat_deg=np.atleast_1d(lat), lon_deg=np.atleast_1d(lon),
            pos_confidence=self._conf, speed_mps=col.speed, heading_deg=col.heading_deg,
            accel_mps2=col.accel, width_m=col.width, length_m=col.length,
            classification=col.classification)
        frames = self._encoder.frames(cnts, parts, sizes)
        return [Outgoing("RSM", cnt, frame, len(frame))
                for cnt, frame in zip(cnts, frames, strict=True)]

    def _transmit_now(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """The RSMs of a due step with JSON payloads, encoded now."""
        seen = self._perceive(utc_ns, users)
        if seen is None:
            return []
        n_frames = -(-seen.rows.size // MAX_PARTICIPANTS)
        cnts = [self._cnt.take() for _ in range(n_frames)]
        frames = self._encoder.frames(cnts, self._columns(seen, users))
        return [outgoing(dataclasses.replace(m, msg_cnt=cnt), frame, json=True)
                for m, cnt, frame in zip(self._values(seen, users), cnts, frames, strict=True)]


def _rsm_factory(ctx: RsuContext, cfg: RsmConfig | None) -> RsmSource | None:
    if cfg is None or (cfg.at and ctx.name not in cfg.at):
        return None
    return RsmSource(cfg, ctx)


register_source("RSM", _rsm_factory)
