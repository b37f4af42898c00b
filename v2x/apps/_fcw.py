"""Forward collision warning (FCW), vectorized over the BSM receptions of one step.

The rule (T/CSAE 53-2020 Day-1 application FCW; the time-to-collision form of the on-board FCW
standard GB/T 33577 / ISO 15623). For every received BSM link (ego = receiver, remote = sender):

1. **Same direction**: the wrapped heading difference ``|h_remote - h_ego|`` is at most
   ``max_heading_diff_deg`` (default 30 deg).
2. **Ahead**: the remote's front bumper lies ahead of the ego's front bumper along the ego
   heading (longitudinal offset ``> 0``).
3. **Same lane**: its lateral offset from the ego's heading line is at most ``half_lane_m``
   (default 1.75 m, half a 3.5 m lane).
4. **Gap** = longitudinal offset - remote length (the remote's rear bumper, its length taken
   along the ego heading). **Closing speed** = ``v_ego - v_remote`` (speeds as scalars; with
   at most 30 deg between headings the cosine projection would change the remote's speed by
   at most 13 %, a refinement we leave out). **TTC** = gap / closing when the remote is ahead
   and closing, ``+inf`` otherwise (a negative TTC means the vehicles already overlap).
5. **Warn** when ahead, ``gap > 0`` and ``0 <= TTC < ttc_threshold_s`` (default 2.7 s,
   (to verify): a commonly quoted FCW threshold, not read from the standard's own text).

6. **Armed** (the re-warn rule, a speed hysteresis per host): FCW goes to standby when the
   host drives slower than ``min_speed_kmh`` (default 10 km/h) and re-arms only once it
   drives at least ``rearm_speed_kmh`` (default 20 km/h); a host first seen between the two
   is armed. A host in standby is assessed but never warned. So after a warned driver has
   braked to a stop behind the lead, creeping up to it at walking pace after the release is
   not warned again in the same encounter, while a host that drives off and reaches 20 km/h
   is protected again. ISO 15623:2013 / GB/T 33577-2017 (operating model, clause 5.3) have
   the same shape: the FVCWS is active only within its subject-vehicle speed range and in
   standby outside it; the two speeds are our choice (to verify against the standard's
   range). ``min_speed_kmh = 0`` turns the rule off.

Optional alternative (off by default): GB/T 33577 also states its alarm in terms of the
deceleration the ego needs to avoid the collision, ``closing² / (2 gap)``; the figure quoted is
0.68 g (to verify). Pass ``required_decel_mps2`` to *also* warn (logical OR) when that
deceleration reaches it.

Geometry: network x east, y north [m]; headings in degrees clockwise from north, as in SUMO and
the message set, so the unit vector of heading ``h`` is ``(sin h, cos h)`` and the unit vector to
its right is ``(cos h, -sin h)``. Positions are front-bumper centres (SUMO's convention).
Links with NaN in any input (an 'unavailable' decoded element) are never ahead and never warn.

Roadside perception (``use_rsm = true``, off by default): a vehicle without an OBU sends no
BSM, but an RSU that perceives it lists it in its RSM (T/CSAE 53-2020 RSM; FCW on roadside
perception (to verify) as a Day-1 use of the RSM). :class:`ForwardCollisionWarningRsm` (what
``[applications.fcw] use_rsm = true`` builds; still the application "FCW") then also assesses
every motor-vehicle participant (ptcType 1) of every RSM its host received as a remote: its
decoded position (the reported point taken as the vehicle's centre, as the testbed's roadside
reports it: the front bumper is half its length ahead along its heading), speed, heading and
length go through the same rule. Target = :data:`~v2x.apps.RSM_TARGET_BASE` + ptcId (a host
does not know which vehicle a ptcId is; the key never collides with a vehicle index, an RSU or
a person node). ``range_m`` applies to the host-participant distance. A participant reported
in several RSMs of one step (overlapping RSUs) is assessed once, its most critical report.
Non-motor participants and pedestrians are left to VRUCW.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._rsm_view import rsm_participants
from v2x.apps._targets import RSM_TARGET_BASE, one_per_target
from v2x.errors import ConfigError
from v2x.recorder import MSG_TYPES

__all__ = ["FcwConfig", "FcwResult", "ForwardCollisionWarning", "ForwardCollisionWarningRsm"]

_BSM = MSG_TYPES.index("BSM")
_RSM = MSG_TYPES.index("RSM")
_MOTOR = 1  # ParticipantType motor vehicle (T/CSAE 53-2020)


@dataclass(frozen=True, slots=True)
class FcwResult:
    """Per-link FCW evaluation; every field has shape ``(m,)`` (m received BSM links).

    Attributes:
        ahead: bool; the remote is ahead in the ego's lane and direction (rules 1-3).
        gap_m: float64 [m]; longitudinal offset - remote length, computed for every link
            (NaN when an input is NaN), meaningful where ``ahead``.
        closing_mps: float64 [m/s]; ``v_ego - v_remote`` (positive when closing).
        ttc_s: float64 [s]; gap / closing where ahead and closing, ``+inf`` otherwise.
        required_decel_mps2: float64 [m/s²]; ``closing² / (2 gap)`` where ahead, closing and
            gap > 0, 0 otherwise.
        warn: bool; the link raises a forward collision warning this step.
    """

    ahead: np.ndarray
    gap_m: np.ndarray
    closing_mps: np.ndarray
    ttc_s: np.ndarray
    required_decel_mps2: np.ndarray
    warn: np.ndarray


def _positive(value: float, key: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"expected a number, got {value!r}", key=key, value=value) from exc
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"must be a finite number {bound}, got {value!r}", key=key, value=value)
    return v


class FcwConfig(AppConfig):
    """``[applications.fcw]``: forward collision warning (T/CSAE 53-2020 Day-1 FCW)."""

    ttc_threshold_s: float = Field(2.7, gt=0, allow_inf_nan=False)
    """Warn below this TTC [s] (to verify: a commonly quoted FCW threshold)."""
    max_heading_diff_deg: float = Field(30.0, ge=0, le=180)
    """Largest heading difference for "same direction" [deg]."""
    half_lane_m: float = Field(1.75, gt=0, allow_inf_nan=False)
    """Largest |lateral offset| for "same lane" [m] (half a 3.5 m lane)."""
    required_decel_mps2: float | None = Field(None, gt=0, allow_inf_nan=False)
    """Also warn when the deceleration needed reaches this [m/s²] (GB/T 33577: 0.68 g =
    6.67 m/s², to verify); off by default."""
    range_m: float = Field(150.0, gt=0, allow_inf_nan=False)
    """BSMs from farther senders (RSM participants farther from the host) are not assessed
    [m]."""
    min_speed_kmh: float = Field(10.0, ge=0, allow_inf_nan=False)
    """Standby below this host speed [km/h] (rule 6; ISO 15623 operating model; value to
    verify); 0: the re-warn rule is off."""
    rearm_speed_kmh: float = Field(20.0, ge=0, allow_inf_nan=False)
    """After standby, armed again only from this host speed [km/h] (rule 6; our choice, to
    verify); at least ``min_speed_kmh``."""
    use_rsm: bool = False
    """Also assess the motor vehicles of received RSMs (roadside perception of vehicles
    without an OBU; see the module docstring); off by default (T/CSAE 53 FCW is V2V)."""


class ForwardCollisionWarning:
    """The FCW rule of this module, with its thresholds (an :class:`~v2x.apps.Application`).

    Args (keyword-only):
        ttc_threshold_s: warn below this TTC [s]; default 2.7 (to verify).
        max_heading_diff_deg: largest heading difference for "same direction" [deg], 0..180;
            default 30.
        half_lane_m: largest |lateral offset| for "same lane" [m]; default 1.75.
        required_decel_mps2: optional GB/T 33577-style criterion [m/s²]; when given, a link
            ahead also warns when ``closing² / (2 gap)`` reaches it. Default None (off);
            0.68 g = 6.67 m/s² is the figure quoted (to verify).
        hold_s: how long a threatening assessment of a remote stays valid without a newer BSM
            from that remote [s]; default 0.5 (5 BSM periods at 10 Hz: one lost BSM does not
            end a warning; our choice, see :class:`~v2x.apps.ThreatHold`).
        range_m: BSMs from farther senders are not assessed [m]; default 150 (a warning
            needs the remote within ``ttc_threshold_s`` x closing speed: 150 m covers 2.7 s
            at 200 km/h of closing speed).
        min_speed_kmh, rearm_speed_kmh: the re-warn rule (rule 6 of the module docstring):
            standby below ``min_speed_kmh`` (default 10), armed again from
            ``rearm_speed_kmh`` (default 20, at least ``min_speed_kmh``) [km/h]; 0 and 0: off.

    Raises ConfigError (naming the key) for a non-positive, non-finite or non-numeric value,
    or a heading difference above 180 deg.
    """

    def __init__(
        self,
        *,
        ttc_threshold_s: float = 2.7,
        max_heading_diff_deg: float = 30.0,
        half_lane_m: float = 1.75,
        required_decel_mps2: float | None = None,
        hold_s: float = 0.5,
        range_m: float = 150.0,
        min_speed_kmh: float = 10.0,
        rearm_speed_kmh: float = 20.0,
    ) -> None:
        self.ttc_threshold_s = _positive(ttc_threshold_s, "ttc_threshold_s")
        self.max_heading_diff_deg = _positive(
            max_heading_diff_deg, "max_heading_diff_deg", allow_zero=True
        )
        if self.max_heading_diff_deg > 180.0:
            raise ConfigError(
                f"must be at most 180 deg, got {max_heading_diff_deg!r}",
                key="max_heading_diff_deg", value=max_heading_diff_deg,
            )
        self.half_lane_m = _positive(half_lane_m, "half_lane_m")
        self.required_decel_mps2 = (
            None if required_decel_mps2 is None
            else _positive(required_decel_mps2, "required_decel_mps2")
        )
        self.hold_s = _positive(hold_s, "hold_s")
        self.hold_ns = round(self.hold_s * 1e9)
        self.range_m = _positive(range_m, "range_m")
        self.min_speed_kmh = _positive(min_speed_kmh, "min_speed_kmh", allow_zero=True)
        self.rearm_speed_kmh = _positive(rearm_speed_kmh, "rearm_speed_kmh", allow_zero=True)
        if self.rearm_speed_kmh < self.min_speed_kmh:
            raise ConfigError(f"must be at least min_speed_kmh ({self.min_speed_kmh:g}), got "
                              f"{rearm_speed_kmh!r}", key="rearm_speed_kmh",
                              value=rearm_speed_kmh)
        #: per vehicle index: armed (rule 6) after the last host row seen
        self._armed = np.ones(0, bool)

    def __repr__(self) -> str:
        return (
            f"ForwardCollisionWarning(ttc_threshold_s={self.ttc_threshold_s}, "
            f"max_heading_diff_deg={self.max_heading_diff_deg}, half_lane_m={self.half_lane_m}, "
            f"required_decel_mps2={self.required_decel_mps2}, hold_s={self.hold_s}, "
            f"range_m={self.range_m}, min_speed_kmh={self.min_speed_kmh}, "
            f"rearm_speed_kmh={self.rearm_speed_kmh})"
        )

    name: ClassVar[str] = "FCW"
    consumes: ClassVar[tuple[str, ...]] = ("BSM",)

    @classmethod
    def from_config(cls, cfg: FcwConfig) -> ForwardCollisionWarning:
        """Build from ``[applications.fcw]`` (a :class:`ForwardCollisionWarningRsm` with
        ``use_rsm``)."""
        if cfg.use_rsm and cls is ForwardCollisionWarning:
            cls = ForwardCollisionWarningRsm
        return cls(ttc_threshold_s=cfg.ttc_threshold_s,
                   max_heading_diff_deg=cfg.max_heading_diff_deg, half_lane_m=cfg.half_lane_m,
                   required_decel_mps2=cfg.required_decel_mps2, hold_s=cfg.hold_s,
                   range_m=cfg.range_m, min_speed_kmh=cfg.min_speed_kmh,
                   rearm_speed_kmh=cfg.rearm_speed_kmh)

    def assess(self, window: AppWindow) -> Assessments:
        """:meth:`assess_bsm` with the hosts armed by rule 6 (:meth:`armed`)."""
        st = window.hosts
        return self.assess_bsm(window, self.armed(st.index, window.host_step, st.speed))

    def assess_bsm(self, window: AppWindow, armed: np.ndarray | None = None) -> Assessments:
        """Every BSM a host received from within ``range_m`` is an assessment of its sender:
        a warning where the rule fires (target = the sender, criticality = TTC).

        Only links from a close enough, closing vehicle heading the same way can warn
        (:meth:`may_warn`, :meth:`same_direction`), so the full rule runs on them alone; the
        others are assessments without a warning (TTC inf)."""
        lk = window.links
        st, bsm = window.hosts, window.bsm
        cand = np.flatnonzero((lk.msg_type == _BSM) & (lk.distance_m <= self.range_m))
        b = lk.msg[cand]  # BSM rows
        ego = lk.host[cand]  # vehicle rows of the receivers
        near = np.flatnonzero(self.may_warn(bsm.x[b] - st.x[ego], bsm.y[b] - st.y[ego],
                                            st.speed[ego] - bsm.speed[b], bsm.length[b]))
        same = near[self.same_direction(st.heading_deg[ego[near]], bsm.heading_deg[b[near]])]
        e_s, b_s = ego[same], b[same]
        part = self.evaluate(ego_x=st.x[e_s], ego_y=st.y[e_s], ego_speed=st.speed[e_s],
                             ego_heading_deg=st.heading_deg[e_s], remote_x=bsm.x[b_s],
                             remote_y=bsm.y[b_s], remote_speed=bsm.speed[b_s],
                             remote_heading_deg=bsm.heading_deg[b_s],
                             remote_length=bsm.length[b_s])
        warn = np.zeros(cand.size, bool)
        warn[same] = part.warn
        if armed is not None:  # (n,) per host row: rule 6
            warn &= armed[ego]
        ttc = np.full(cand.size, np.inf)
        ttc[same] = part.ttc_s
        gap = np.full(cand.size, np.nan)
        gap[same] = part.gap_m
        return Assessments(link=cand, target=lk.sender[cand], warn=warn, criticality=ttc,
                           ttc_s=ttc, gap_m=gap)

    def armed(self, vehicle: np.ndarray, step: np.ndarray, speed_mps: np.ndarray) -> np.ndarray:
        """Rule 6 for the host rows of one window: ``(n,)`` bool, the host of each row is
        armed at that row's step. ``vehicle`` (n,) int vehicle index, ``step`` (n,) int step
        within the window, ``speed_mps`` (n,) float [m/s] (NaN keeps the state).

        A row below ``min_speed_kmh`` disarms its vehicle, a row at or above
        ``rearm_speed_kmh`` arms it, any other row keeps the state of the vehicle's previous
        row (of this window, or carried from the last one: call once per window, in order; a
        vehicle never seen is armed). Vectorized: one sort by (vehicle, step), a running
        maximum for "the last deciding row"."""
        veh = np.asarray(vehicle, np.int64)
        n = veh.size
        if n == 0:
            return np.zeros(0, bool)
        v = np.asarray(speed_mps, np.float64) * 3.6
        with np.errstate(invalid="ignore"):
            decides = (v < self.min_speed_kmh) | (v >= self.rearm_speed_kmh)
            arms = v >= self.rearm_speed_kmh
        order = np.lexsort((np.asarray(step, np.int64), veh))
        vs = veh[order]
        if vs[-1] >= self._armed.size:  # vehicles never seen: armed
            grown = np.ones(max(int(vs[-1]) + 1, 2 * self._armed.size), bool)
            grown[: self._armed.size] = self._armed
            self._armed = grown
        rows = np.arange(n)
        first = np.ones(n, bool)
        first[1:] = vs[1:] != vs[:-1]
        group_start = np.maximum.accumulate(np.where(first, rows, 0))
        last = np.maximum.accumulate(np.where(decides[order], rows, -1))
        state = np.where(last >= group_start, arms[order][np.maximum(last, 0)],
                         self._armed[vs])
        end = np.ones(n, bool)
        end[:-1] = first[1:]
        self._armed[vs[end]] = state[end]
        out = np.empty(n, bool)
        out[order] = state
        return out

    def may_warn(self, dx_m: np.ndarray, dy_m: np.ndarray, closing_mps: np.ndarray,
                 remote_length_m: np.ndarray) -> np.ndarray:
        """A necessary condition of a warning, without trigonometry: False where the rule
        cannot fire, whatever the headings (the simulation runs the full rule on the rest).

        Args: (m,) float each: the remote's front bumper minus the ego's, east ``dx_m`` and
        north ``dy_m`` [m]; ``closing_mps`` = ego speed - remote speed [m/s]; the remote's
        length [m]. NaN anywhere: False.

        A warning needs the remote ahead in the lane (|lateral| <= ``half_lane_m``), closing,
        and ``gap = longitudinal - length`` below ``ttc_threshold_s * closing`` (or, with
        ``required_decel_mps2`` X, at most ``closing² / (2 X)``); since ``dx² + dy² =
        longitudinal² + lateral²``, that needs ``dx² + dy² < (reach + length)² + half_lane²``
        with ``reach`` the larger bound (1 m² of margin against rounding).
        """
        c = np.asarray(closing_mps, dtype=np.float64)
        reach = self.ttc_threshold_s * c
        if self.required_decel_mps2 is not None:
            reach = np.maximum(reach, c * c / (2.0 * self.required_decel_mps2))
        reach += remote_length_m
        reach *= reach
        reach += self.half_lane_m**2 + 1.0
        d2 = np.square(dx_m)
        d2 += np.square(dy_m)
        with np.errstate(invalid="ignore"):
            return (c > 0.0) & (d2 < reach)  # type: ignore[no-any-return]

    def same_direction(self, ego_heading_deg: np.ndarray,
                       remote_heading_deg: np.ndarray) -> np.ndarray:
        """Rule 1 alone: headings (m,) float [deg] at most ``max_heading_diff_deg`` apart
        (NaN: False). No trigonometry: a cheap first filter, since only such links can warn
        (the simulation evaluates the full rule on them only)."""
        dheading = np.abs((np.asarray(remote_heading_deg, dtype=np.float64)
                           - ego_heading_deg + 180.0) % 360.0 - 180.0)
        with np.errstate(invalid="ignore"):
            return dheading <= self.max_heading_diff_deg  # type: ignore[no-any-return]

    def evaluate(
        self,
        *,
        ego_x: npt.ArrayLike,
        ego_y: npt.ArrayLike,
        ego_speed: npt.ArrayLike,
        ego_heading_deg: npt.ArrayLike,
        remote_x: npt.ArrayLike,
        remote_y: npt.ArrayLike,
        remote_speed: npt.ArrayLike,
        remote_heading_deg: npt.ArrayLike,
        remote_length: npt.ArrayLike,
    ) -> FcwResult:
        """Evaluate the rule for m links at once.

        Args (keyword-only, each ``(m,)`` float or a scalar broadcast to ``(m,)``):
            ego_x, ego_y: ego front-bumper centre from its own sensors [m, network].
            ego_speed: [m/s]. ego_heading_deg: [deg clockwise from north].
            remote_x, remote_y, remote_speed, remote_heading_deg: the remote's state as
                decoded from its BSM (same units; NaN where unavailable).
            remote_length: remote vehicle length from its BSM [m].

        The ego's own length is not needed: both positions are front bumpers, so the gap is
        the remote's rear bumper ahead of the ego's front bumper.

        Returns a :class:`FcwResult` of ``(m,)`` arrays. Raises ValueError when the inputs do
        not broadcast to one 1-d shape.
        """
        try:
            arrays = np.broadcast_arrays(
                *(
                    np.asarray(a, dtype=np.float64)
                    for a in (
                        ego_x, ego_y, ego_speed, ego_heading_deg,
                        remote_x, remote_y, remote_speed, remote_heading_deg, remote_length,
                    )
                )
            )
        except ValueError as exc:
            raise ValueError(f"FCW inputs do not share one shape (m,): {exc}") from exc
        if arrays[0].ndim > 1:
            raise ValueError(f"FCW inputs must be 1-d (m,), got shape {arrays[0].shape}")
        ex, ey, ev, eh, rx, ry, rv, rh, rlen = (np.atleast_1d(a) for a in arrays)

        h = np.radians(eh)
        sin_h, cos_h = np.sin(h), np.cos(h)
        dx, dy = rx - ex, ry - ey
        longitudinal = dx * sin_h + dy * cos_h  # along the ego heading
        lateral = dx * cos_h - dy * sin_h  # to the ego's right

        with np.errstate(invalid="ignore"):
            ahead = (
                self.same_direction(eh, rh)
                & (longitudinal > 0.0)
                & (np.abs(lateral) <= self.half_lane_m)
                & np.isfinite(ev)
                & np.isfinite(rv)
                & np.isfinite(rlen)
            )
        gap = longitudinal - rlen
        closing = ev - rv
        closing_ahead = ahead & (closing > 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ttc = np.where(closing_ahead, gap / np.where(closing_ahead, closing, 1.0), np.inf)
            positive_gap = closing_ahead & (gap > 0.0)
            decel = np.where(
                positive_gap,
                closing**2 / (2.0 * np.where(positive_gap, gap, 1.0)),
                0.0,
            )
        warn = positive_gap & (ttc >= 0.0) & (ttc < self.ttc_threshold_s)
        if self.required_decel_mps2 is not None:
            warn = warn | (positive_gap & (decel >= self.required_decel_mps2))
        return FcwResult(
            ahead=ahead,
            gap_m=gap,
            closing_mps=closing,
            ttc_s=ttc,
            required_decel_mps2=decel,
            warn=warn,
        )


class ForwardCollisionWarningRsm(ForwardCollisionWarning):
    """FCW on BSMs and on the motor vehicles of received RSMs (roadside perception; see the
    module docstring); ``[applications.fcw] use_rsm = true``. Same arguments and name."""

    consumes: ClassVar[tuple[str, ...]] = ("BSM", "RSM")

    def __repr__(self) -> str:
        return "ForwardCollisionWarningRsm" + super().__repr__().removeprefix(
            "ForwardCollisionWarning")

    def assess(self, window: AppWindow) -> Assessments:
        """The BSM assessments of :meth:`ForwardCollisionWarning.assess`, then one per
        (host, RSM motor-vehicle participant within ``range_m``, step): target
        ``RSM_TARGET_BASE + ptcId``, criticality = TTC. Each distinct RSM frame of the window
        is decoded and projected once."""
        st = window.hosts
        armed = self.armed(st.index, window.host_step, st.speed)  # once per window: rule 6
        by_bsm = self.assess_bsm(window, armed)
        by_rsm = self.assess_rsm(window, armed)
        if by_rsm.n == 0:
            return by_bsm
        return Assessments(*(np.concatenate([getattr(by_bsm, f), getattr(by_rsm, f)])
                             for f in ("link", "target", "warn", "criticality", "ttc_s",
                                       "gap_m")))

    def assess_rsm(self, window: AppWindow, armed: np.ndarray | None = None) -> Assessments:
        """The RSM part of :meth:`assess` alone (``armed``: rule 6 per host row, None: every
        host armed)."""
        lk, st = window.links, window.hosts
        rsm = np.flatnonzero(lk.msg_type == _RSM)
        if rsm.size == 0:
            return Assessments.empty()
        tx, inverse = np.unique(lk.tx[rsm], return_inverse=True)
        p = rsm_participants(window, tx)
        motor = np.flatnonzero(p.ptc_type == _MOTOR)  # ascending frame
        per_frame = np.bincount(p.frame[motor], minlength=tx.size)
        first = np.concatenate([[0], np.cumsum(per_frame)[:-1]])
        count = per_frame[inverse]  # motor participants of each link's frame
        pair_link = np.repeat(np.arange(rsm.size), count)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        part = motor[first[inverse][pair_link] + (np.arange(pair_link.size) - start[pair_link])]
        ego = lk.host[rsm][pair_link]
        # the reported centre -> the front bumper, half the length ahead along the heading
        h = np.radians(p.heading_deg[part])
        half = p.length[part] / 2.0
        fx = p.x[part] + half * np.sin(h)
        fy = p.y[part] + half * np.cos(h)
        with np.errstate(invalid="ignore"):
            near = np.flatnonzero(np.hypot(fx - st.x[ego], fy - st.y[ego]) <= self.range_m)
        ego, part, links = ego[near], part[near], rsm[pair_link[near]]
        r = self.evaluate(ego_x=st.x[ego], ego_y=st.y[ego], ego_speed=st.speed[ego],
                          ego_heading_deg=st.heading_deg[ego], remote_x=fx[near],
                          remote_y=fy[near], remote_speed=p.speed[part],
                          remote_heading_deg=p.heading_deg[part], remote_length=p.length[part])
        warn = r.warn if armed is None else r.warn & armed[ego]
        found = Assessments(link=links, target=RSM_TARGET_BASE + p.ptc_id[part], warn=warn,
                            criticality=r.ttc_s, ttc_s=r.ttc_s,
                            gap_m=np.where(r.ahead, r.gap_m, np.nan))
        return one_per_target(found, st.index[ego], lk.step[links])
