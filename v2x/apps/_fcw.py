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

Optional alternative (off by default): GB/T 33577 also states its alarm in terms of the
deceleration the ego needs to avoid the collision, ``closing² / (2 gap)``; the figure quoted is
0.68 g (to verify). Pass ``required_decel_mps2`` to *also* warn (logical OR) when that
deceleration reaches it.

Geometry: network x east, y north [m]; headings in degrees clockwise from north, as in SUMO and
the message set, so the unit vector of heading ``h`` is ``(sin h, cos h)`` and the unit vector to
its right is ``(cos h, -sin h)``. Positions are front-bumper centres (SUMO's convention).
Links with NaN in any input (an 'unavailable' decoded element) are never ahead and never warn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from v2x.errors import ConfigError

__all__ = [
    "CriticalLinks",
    "FcwResult",
    "FcwState",
    "ForwardCollisionWarning",
    "most_critical",
]


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


@dataclass(frozen=True, slots=True)
class CriticalLinks:
    """The most critical warning link per receiver; fields of shape ``(k,)``.

    Attributes:
        receiver: int64, the receivers with at least one warning link, ascending.
        link: int64, index into the ``(m,)`` link arrays of the link with the smallest TTC
            (ties: the lowest link index).
        ttc_s: float64 [s], that link's TTC.
    """

    receiver: np.ndarray
    link: np.ndarray
    ttc_s: np.ndarray


def _positive(value: float, key: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"expected a number, got {value!r}", key=key, value=value) from exc
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"must be a finite number {bound}, got {value!r}", key=key, value=value)
    return v


class ForwardCollisionWarning:
    """The FCW rule of this module, with its thresholds.

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
            end a warning; our choice, see :meth:`FcwState.update_pairs`).

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

    def __repr__(self) -> str:
        return (
            f"ForwardCollisionWarning(ttc_threshold_s={self.ttc_threshold_s}, "
            f"max_heading_diff_deg={self.max_heading_diff_deg}, half_lane_m={self.half_lane_m}, "
            f"required_decel_mps2={self.required_decel_mps2}, hold_s={self.hold_s})"
        )

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


def most_critical(
    receiver: npt.ArrayLike, ttc_s: npt.ArrayLike, warn: npt.ArrayLike
) -> CriticalLinks:
    """Per receiver, the warning link with the smallest TTC (one sort, no per-link loop).

    Args:
        receiver: ``(m,)`` int, receiving vehicle (ego) index of each link.
        ttc_s: ``(m,)`` float [s], e.g. ``FcwResult.ttc_s``.
        warn: ``(m,)`` bool, e.g. ``FcwResult.warn``.

    Returns :class:`CriticalLinks` over the ``k`` receivers with at least one warning link,
    ascending receiver index; ties on TTC go to the lowest link index. Raises ValueError when
    the shapes differ.
    """
    rec = np.asarray(receiver, dtype=np.int64)
    ttc = np.asarray(ttc_s, dtype=np.float64)
    w = np.asarray(warn, dtype=bool)
    if not (rec.shape == ttc.shape == w.shape) or rec.ndim != 1:
        raise ValueError(
            f"receiver, ttc_s and warn must share one (m,) shape, got "
            f"{rec.shape}, {ttc.shape}, {w.shape}"
        )
    idx = np.flatnonzero(w)
    # lexsort sorts by the last key first: receiver, then TTC, then link index
    order = idx[np.lexsort((idx, ttc[idx], rec[idx]))]
    r = rec[order]
    first = np.ones(r.shape, dtype=bool)
    first[1:] = r[1:] != r[:-1]
    links = order[first]
    return CriticalLinks(receiver=rec[links], link=links, ttc_s=ttc[links])


class FcwState:
    """Turns FCW outcomes into rising edges per ego vehicle.

    Holds one bool per vehicle index (``0..capacity-1``, grown automatically, doubling, when a
    larger index appears) and the (ego, remote) pairs that threaten. Two ways to feed it:
    :meth:`update_pairs` (what the simulation uses) from every assessment of a received BSM,
    holding a threat until the remote's next BSM or ``hold_ns``; :meth:`update` from a plain
    per-step set of active egos, where a warning is *new* when the vehicle is active now and
    was not active at the previous call. Use one or the other on one state.

    Args:
        capacity: initial number of vehicle indices (>= 0).
    """

    def __init__(self, capacity: int = 0) -> None:
        if int(capacity) < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity!r}")
        self._active = np.zeros(int(capacity), dtype=bool)
        # pairs (ego << 32 | remote) whose latest assessment warned, and its time [ns]
        self._pair_key = np.empty(0, np.int64)
        self._pair_t = np.empty(0, np.int64)

    @property
    def capacity(self) -> int:
        """Number of vehicle indices currently held."""
        return int(self._active.size)

    @property
    def active(self) -> np.ndarray:
        """Indices of the vehicles whose warning was active at the last update, ``(j,)`` int64."""
        return np.flatnonzero(self._active).astype(np.int64)

    def _ensure(self, largest: int) -> None:
        if largest >= self._active.size:
            size = max(largest + 1, 2 * self._active.size)
            grown = np.zeros(size, dtype=bool)
            grown[: self._active.size] = self._active
            self._active = grown

    def update(self, active_receivers: npt.ArrayLike) -> np.ndarray:
        """Record this step's active set; return which of them are new warnings.

        Args:
            active_receivers: ``(k,)`` int vehicle indices with an active warning this step
                (e.g. ``most_critical(...).receiver``); duplicates allowed.

        Returns ``(k,)`` bool aligned with ``active_receivers``: True where the vehicle was not
        active at the previous update (for duplicates, only the first occurrence). Vehicles
        absent from ``active_receivers`` become inactive. Raises ValueError for negative or
        non-integer indices.
        """
        arr = np.asarray(active_receivers)
        if arr.size == 0:
            self._active[:] = False
            return np.zeros(arr.shape, dtype=bool)
        if arr.dtype.kind not in "iu" or arr.ndim != 1:
            raise ValueError(f"active_receivers must be (k,) integers, got {arr.dtype} {arr.shape}")
        idx = arr.astype(np.int64)
        if np.any(idx < 0):
            raise ValueError(f"vehicle indices must be >= 0, got {int(idx.min())}")
        self._ensure(int(idx.max()))
        new = ~self._active[idx]
        _, first = np.unique(idx, return_index=True)
        is_first = np.zeros(idx.shape, dtype=bool)
        is_first[first] = True
        self._active[:] = False
        self._active[idx] = True
        return new & is_first

    def update_pairs(self, ego: npt.ArrayLike, remote: npt.ArrayLike, step: npt.ArrayLike,
                     warn: npt.ArrayLike, step_t_ns: npt.ArrayLike,
                     hold_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Warning state of every ego from its assessments of remotes, over a window of steps.

        An ego assesses a remote each time it receives a BSM from it (``warn``: the rule
        fired on that BSM). The pair (ego, remote) threatens from a warning assessment until
        the next assessment of that remote, or ``hold_ns`` [ns] after it, whichever comes
        first: an OBU keeps a neighbour's last known state for a while, so a BSM lost on the
        channel, a step without that remote's BSM (e.g. a 200 ms BSM period) or a BSM from a
        third vehicle changes nothing. An ego's warning is active while one of its pairs
        threatens; a warning starts where it becomes active.

        Args:
            ego, remote: ``(m,)`` int vehicle indices (>= 0, < 2**31) of each assessment.
            step: ``(m,)`` int step within the window, ``0..n_steps-1``; one assessment per
                (ego, remote, step).
            warn: ``(m,)`` bool outcome of each assessment.
            step_t_ns: ``(n_steps,)`` int64 time of each step [ns], increasing.
            hold_ns: validity of a warning assessment [ns] (``ForwardCollisionWarning.hold_s``).

        Returns ``(step, ego)`` (k,) int64 each: where warnings start, ordered by step then
        ego. State carries over to the next call, so the result does not depend on how steps
        are grouped into windows (tested). Raises ValueError for mis-shaped input, indices out
        of range or steps outside the window.
        """
        e = np.asarray(ego, dtype=np.int64)
        r = np.asarray(remote, dtype=np.int64)
        k = np.asarray(step, dtype=np.int64)
        w = np.asarray(warn, dtype=bool)
        t = np.asarray(step_t_ns, dtype=np.int64)
        n_steps = t.shape[0]
        if not (e.shape == r.shape == k.shape == w.shape) or e.ndim != 1 or t.ndim != 1:
            raise ValueError(f"ego, remote, step and warn must share one (m,) shape, got "
                             f"{e.shape}, {r.shape}, {k.shape}, {w.shape}")
        if n_steps < 1:
            raise ValueError("step_t_ns must hold at least one step")
        if e.size and (min(e.min(), r.min(), k.min()) < 0 or max(e.max(), r.max()) >= 2**31
                       or k.max() >= n_steps):
            raise ValueError("vehicle indices must be in 0..2**31-1 and steps in "
                             "0..n_steps-1")
        key = (e << 32) | r
        pairs = np.union1d(key[w], self._pair_key)  # pairs that may threaten in this window
        empty = np.empty(0, np.int64)
        if pairs.size == 0:
            self._active[:] = False
            return empty, empty
        sel = np.isin(key, pairs)
        pi, ks = np.searchsorted(pairs, key[sel]), k[sel]
        n_p = pairs.size
        last = np.full((n_p, n_steps), -1, np.int64)
        last[pi, ks] = ks
        warned = np.zeros((n_p, n_steps), bool)
        warned[pi, ks] = w[sel]
        last = np.maximum.accumulate(last, axis=1)  # step of each pair's latest assessment
        seen = last >= 0
        at = np.maximum(last, 0)
        # before any assessment in the window: the carried warning assessment, if any
        carried_t = np.zeros(n_p, np.int64)
        carried = np.zeros(n_p, bool)
        ci = np.searchsorted(pairs, self._pair_key)
        carried_t[ci], carried[ci] = self._pair_t, True
        t_last = np.where(seen, t[at], carried_t[:, None])
        threat = np.where(seen, np.take_along_axis(warned, at, axis=1), carried[:, None])
        threat &= (t[None, :] - t_last) <= hold_ns
        # per ego: active while any of its pairs threatens
        egos, inv = np.unique(pairs >> 32, return_inverse=True)
        active = np.zeros((egos.size, n_steps), np.int64)
        np.add.at(active, inv, threat.astype(np.int64))
        on = active > 0
        self._ensure(int(egos.max()))
        before = np.column_stack([self._active[egos], on[:, :-1]])
        start_k, start_e = np.nonzero((on & ~before).T)  # by step, then ego
        # the state after the window's last step
        self._active[:] = False
        self._active[egos[on[:, -1]]] = True
        keep = threat[:, -1]
        self._pair_key, self._pair_t = pairs[keep], t_last[keep, -1]
        return start_k.astype(np.int64), egos[start_e]

    def clear(self, vehicles: npt.ArrayLike) -> None:
        """Forget the state of these vehicle indices (e.g. vehicles that left the simulation)."""
        idx = np.asarray(vehicles, dtype=np.int64)
        idx = idx[(idx >= 0) & (idx < self._active.size)]
        self._active[idx] = False
