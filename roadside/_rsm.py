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

import math
import numbers
from dataclasses import dataclass

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
from v2x.messages._uper import encode_frame
from v2x.sim import Outgoing, RoadUsers

__all__ = ["RsmConfig", "RsmSource", "perceive"]

#: ParticipantList SIZE(1..16) of one RSM
MAX_PARTICIPANTS = 16
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
    dx = users.x - x0
    dy = users.y - y0
    cand = dx * dx + dy * dy <= cfg.range_m * cfg.range_m
    if cfg.which == "unequipped":
        cand &= ~users.equipped.astype(bool)
    idx = np.flatnonzero(cand)
    det = idx[rng.random(idx.size) < cfg.detection_probability]
    det = det[np.argsort(users.node[det], kind="stable")]
    noise = rng.normal(0.0, cfg.position_sigma_m, (det.size, 2)) if cfg.position_sigma_m \
        else np.zeros((det.size, 2))
    return Perceived(det, users.x[det] + noise[:, 0], users.y[det] + noise[:, 1])


class RsmSource:
    """The RSM of one RSU (see the module docstring).

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

    def messages(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Rsm]:
        """The RSMs of a due step (``msg_cnt`` 0, not taken); draws from the generator."""
        if users.n == 0:
            return []
        seen = perceive(users, self._x, self._y, self.cfg, self._rng)
        k = seen.rows
        if k.size == 0:
            return []
        lat, lon = self._geo.to_latlon(seen.x, seen.y)
        sec_mark_s = (utc_ns % 60_000_000_000) / 1e9
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
            sec_mark_s=sec_mark_s, pos=Position3D(lat_deg=a, lon_deg=o),
            pos_confidence=self._conf, speed_mps=speed[j], heading_deg=heading[j],
            width_m=width[j], length_m=length[j],
            accel=(accel[j], math.nan, math.nan, 0.0) if math.isfinite(accel[j]) else None,
            classification=cls[j] if 0 <= cls[j] <= 255 else None)
            for j, (a, o) in enumerate(zip(np.atleast_1d(lat).tolist(),
                                           np.atleast_1d(lon).tolist(), strict=True))]
        return [Rsm(msg_cnt=0, id=self._id, ref_pos=self._ref,
                    participants=tuple(parts[i:i + MAX_PARTICIPANTS]))
                for i in range(0, len(parts), MAX_PARTICIPANTS)]

    def transmit(self, t_ns: int, utc_ns: int, users: RoadUsers) -> list[Outgoing]:
        """The RSM frames due at ``t_ns`` [ns]; ``size_bytes`` = the UPER frame's length."""
        if t_ns % self.period_ns:
            return []
        out = []
        for m in self.messages(t_ns, utc_ns, users):
            cnt = self._cnt.take()
            m = Rsm(msg_cnt=cnt, id=m.id, ref_pos=m.ref_pos, participants=m.participants)
            out.append(outgoing(m, encode_frame(m), json=self._json))
        return out


def _rsm_factory(ctx: RsuContext, cfg: RsmConfig | None) -> RsmSource | None:
    if cfg is None or (cfg.at and ctx.name not in cfg.at):
        return None
    return RsmSource(cfg, ctx)


register_source("RSM", _rsm_factory)
