"""Warnings from assessments: when a (host, target) threat starts, holds and ends, and the
most critical assessment of a host at a step. The same for every application
(:mod:`v2x.apps._base`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["CriticalLinks", "ThreatHold", "most_critical"]


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


class ThreatHold:
    """Turns assessments into warning starts per host vehicle (rising edges).

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
    def holding(self) -> bool:
        """A pair threatens or a warning is active: while not, :meth:`update_pairs` with no
        warning assessment starts nothing and leaves the state as it is."""
        return bool(self._pair_key.size or self._active.any())

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
            hold_ns: validity of a warning assessment [ns] (the application's ``hold_ns``).

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
        at = np.searchsorted(pairs, key)  # pairs is sorted: membership by binary search
        sel = pairs[np.minimum(at, pairs.size - 1)] == key
        pi, ks = at[sel], k[sel]
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
